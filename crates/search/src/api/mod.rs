//! The public search API of API.md, the internal holds API booking-service uses and the
//! internal catalog import jobs, one
//! file per resource. The route list below is also the OpenAPI document's list of paths.

mod airports;
mod answers;
mod flights;
mod holds;
mod hotels;
mod imports;
mod offers;
mod params;
mod supplier;

use std::sync::Arc;
use std::time::Duration;

use ota_contract::search::{
    AirportView, AirportsAnswer, AnyOffer, CatalogImportRequest, CatalogImportView, FlightOffer,
    FlightsAnswer, HoldRequest, HoldView, HotelOffer, HotelsAnswer,
};
use ota_platform::cache::ServiceCache;
use ota_platform::tokens::KeyRing;
use ota_platform::{FieldError, Problem};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use flights::flight_query;
pub use hotels::hotel_query;
pub use offers::check_offer;

use crate::store::SearchStore;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 50;

#[derive(Clone)]
pub struct SearchState {
    pub index: Arc<crate::index::LiveIndex>,
    pub store: SearchStore,
    pub cache: ServiceCache,
    pub keys: Arc<KeyRing>,
    /// Zero turns the answer cache off.
    pub answer_ttl: Duration,
}

/// Every route of search-service with its OpenAPI operation: one list for both.
pub fn router(state: SearchState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(airports::suggest_airports))
        .routes(routes!(flights::search_flights))
        .routes(routes!(hotels::search_hotels))
        .routes(routes!(offers::revalidate_offer))
        .routes(routes!(holds::create_hold))
        .routes(routes!(holds::read_hold))
        .routes(routes!(holds::commit_hold))
        .routes(routes!(holds::release_hold))
        .routes(routes!(imports::start_import))
        .routes(routes!(imports::read_import))
        .routes(routes!(imports::schedule_changes))
        .routes(routes!(supplier::hotel_avail_notif))
        .routes(routes!(supplier::hotel_rate_amount_notif))
        .routes(routes!(supplier::read_reservations))
        .routes(routes!(supplier::notif_report))
        .with_state(state)
}

/// What the route list does not say: the tags and the answer types named in the document.
#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(AirportView, AirportsAnswer, FlightsAnswer, HotelsAnswer, FlightOffer, HotelOffer, AnyOffer, HoldRequest, HoldView, CatalogImportRequest, CatalogImportView, Problem, FieldError)),
    tags((name = "search", description = "Airports, flights, hotels and offers"), (name = "internal", description = "Inventory holds and catalog imports (service tokens only)"), (name = "supplier", description = "OpenTravel ARI messages from channel managers (HTTP Basic, per-supplier credential)"))
)]
pub struct ApiDoc;
