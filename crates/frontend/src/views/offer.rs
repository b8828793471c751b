//! One offer's page.

use askama::Template;

use super::{FlightCard, HotelCard, Layout};

#[derive(Template)]
#[template(path = "offer.html")]
pub struct OfferPage {
    pub layout: Layout,
    pub heading: String,
    pub offer_id: String,
    pub flight: Option<FlightCard>,
    pub hotel: Option<HotelCard>,
    pub valid_until: String,
    pub rules: String,
    pub back: String,
}
