//! The cart: its rows (the checkout lists them too) and the search that replaces an
//! expired item.

use askama::Template;

use ota_contract::cart::{CartItemView, OfferKind};

use super::{Layout, passengers_text};
use crate::format;

pub struct CartRow {
    pub item_id: String,
    pub kind: String,
    pub summary: String,
    /// "Travellers: 2 adults, 1 infant" for a flight; "" for a hotel.
    pub passengers: String,
    pub price: String,
    pub expired: bool,
    pub search_again: String,
}

impl CartRow {
    pub fn of(i: &CartItemView) -> Self {
        Self {
            item_id: i.item_id.to_string(),
            kind: match i.kind {
                OfferKind::Hotel => "Hotel",
                OfferKind::Flight => "Flight",
            }
            .to_owned(),
            summary: i.summary.clone(),
            // Unless the item's summary already says who travels.
            passengers: match (&i.passengers, i.kind) {
                (Some(p), OfferKind::Flight) if !i.summary.contains(&passengers_text(p)) => {
                    format!("Travellers: {}", passengers_text(p))
                }
                _ => String::new(),
            },
            price: format::money(&i.total),
            expired: i.expired,
            search_again: search_again(i),
        }
    }
}

/// A fresh search for an expired cart item, from its summary ("JFK → LAX, 2026-12-09,
/// 1 stop, 2 adults"; a round trip lists both slices). Home when it cannot be read.
pub fn search_again(i: &CartItemView) -> String {
    if i.kind != OfferKind::Flight {
        return "/".to_owned();
    }
    let legs: Vec<(&str, &str, &str)> = i
        .summary
        .split(';')
        .filter_map(|leg| {
            let mut parts = leg.split(',').map(str::trim);
            let (from, to) = parts.next()?.split_once('→')?;
            let date = parts.next()?;
            Some((from.trim(), to.trim(), date))
        })
        .collect();
    let Some((from, to, date)) = legs.first() else {
        return "/".to_owned();
    };
    let ok = |code: &str| code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase());
    if !ok(from) || !ok(to) || chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return "/".to_owned();
    }
    let mut url = format!("/flights?origin={from}&destination={to}&departure_date={date}");
    if let Some((_, _, back)) = legs.get(1)
        && chrono::NaiveDate::parse_from_str(back, "%Y-%m-%d").is_ok()
    {
        url.push_str(&format!("&return_date={back}"));
    }
    if let Some(p) = i.passengers {
        url.push_str(&format!("&adults={}", p.adults));
        if p.children > 0 {
            url.push_str(&format!("&children={}", p.children));
        }
        if p.infants > 0 {
            url.push_str(&format!("&infants={}", p.infants));
        }
    }
    url
}

#[derive(Template)]
#[template(path = "cart.html")]
pub struct CartPage {
    pub layout: Layout,
    pub notes: Vec<String>,
    pub items: Vec<CartRow>,
    pub total: String,
    pub any_expired: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::Passengers;
    use ota_platform::money::Money;

    fn item(kind: OfferKind, summary: &str, passengers: Option<u8>) -> CartItemView {
        let passengers = passengers.map(Passengers::adults);
        CartItemView {
            item_id: uuid::Uuid::nil(),
            offer_id: "k.p.m".into(),
            kind,
            total: Money::new(100, "USD"),
            expires_at: String::new(),
            expired: true,
            summary: summary.into(),
            passengers,
        }
    }

    #[test]
    fn an_expired_flight_is_one_click_from_a_fresh_search() {
        let one_way = item(
            OfferKind::Flight,
            "JFK → LAX, 2026-12-09, 1 stop, 2 adults",
            Some(2),
        );
        assert_eq!(
            search_again(&one_way),
            "/flights?origin=JFK&destination=LAX&departure_date=2026-12-09&adults=2"
        );
        let round = item(
            OfferKind::Flight,
            "JFK → LHR, 2026-12-09, nonstop; LHR → JFK, 2026-12-16, 2 stops, 1 adult",
            Some(1),
        );
        assert_eq!(
            search_again(&round),
            "/flights?origin=JFK&destination=LHR&departure_date=2026-12-09&return_date=2026-12-16&adults=1"
        );
        assert_eq!(search_again(&item(OfferKind::Flight, "garbage", None)), "/");
        assert_eq!(
            search_again(&item(OfferKind::Hotel, "Inn, Twin, 1 night", None)),
            "/"
        );
        let mut family = item(OfferKind::Flight, "JFK → LAX, 2026-12-09, 1 stop", None);
        family.passengers = Some(Passengers {
            adults: 2,
            children: 1,
            infants: 1,
        });
        assert_eq!(
            search_again(&family),
            "/flights?origin=JFK&destination=LAX&departure_date=2026-12-09&adults=2&children=1&infants=1"
        );
        assert_eq!(
            CartRow::of(&family).passengers,
            "Travellers: 2 adults, 1 child, 1 infant"
        );
    }
}
