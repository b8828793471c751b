//! booking-service. See docs/checkout.md.

use ota_platform::db::Migrations;
use ota_platform::server::{Context, Served};

pub const SERVICE: &str = "booking-service";

pub static MIGRATIONS: Migrations = ota_platform::service_migrations!();

/// Opens the store and builds the service's routes.
pub async fn build(ctx: &Context) -> anyhow::Result<Served> {
    let db = ctx.database(SERVICE, &MIGRATIONS).await?;
    Ok(Served {
        name: SERVICE,
        router: axum::Router::new(),
        db: Some(db),
        openapi: utoipa::openapi::OpenApi::default(),
    })
}
