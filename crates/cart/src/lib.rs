//! cart-service: one cart per traveller in the cache, with a sliding TTL; items are
//! offers validated with search-service. See docs/checkout.md.

use ota_platform::server::{Context, Served};

pub const SERVICE: &str = "cart-service";

/// Builds the service's routes (no database: carts live in the cache).
pub async fn build(_ctx: &Context) -> anyhow::Result<Served> {
    Ok(Served {
        name: SERVICE,
        router: axum::Router::new(),
        db: None,
        openapi: utoipa::openapi::OpenApi::default(),
    })
}
