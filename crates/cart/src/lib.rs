//! cart-service: one cart per traveller in the cache, with a sliding TTL; items are
//! offers validated with search-service. See docs/checkout.md.

pub mod api;
pub mod cart;
pub mod offers;
pub mod store;

use std::sync::Arc;

use anyhow::Context as _;
use ota_platform::server::{Context, Served};

pub const SERVICE: &str = "cart-service";

/// Builds the service's routes (no database: carts live in the cache).
pub async fn build(ctx: &Context) -> anyhow::Result<Served> {
    // Refusing to start beats answering every add with a 503 later.
    let search_url = ctx.settings.peers.search.as_deref().context(
        "cart-service validates offers with search-service: set OTA_SEARCH_URL (or --search-url)",
    )?;
    let state = api::CartState {
        store: store::CartStore::new(ctx.service_cache(SERVICE)),
        offers: Arc::new(offers::SearchOffers::new(ctx, SERVICE, search_url)),
    };
    let (router, openapi) = api::router(state).split_for_parts();
    Ok(Served {
        name: SERVICE,
        router,
        db: None,
        openapi,
    })
}
