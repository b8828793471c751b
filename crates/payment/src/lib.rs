//! payment-service: cards tokenised on entry by a provider behind a trait (the sandbox
//! provider here), payments authorised, captured, voided and refunded through an
//! idempotent internal API, and a double-entry ledger. See docs/checkout.md.

pub mod api;
pub mod domain;
pub mod provider;
pub mod store;

use std::sync::Arc;

use ota_platform::db::Migrations;
use ota_platform::idempotency::IdempotencyStore;
use ota_platform::server::{Context, Served};

pub const SERVICE: &str = "payment-service";

pub static MIGRATIONS: Migrations = ota_platform::service_migrations!();

/// Opens the store and builds the service's routes.
pub async fn build(ctx: &Context) -> anyhow::Result<Served> {
    let db = ctx.database(SERVICE, &MIGRATIONS).await?;
    metrics::describe_counter!(
        "payments_total",
        "Payment operations by outcome (authorized, declined, captured, voided, refunded, failed)"
    );
    let state = api::PaymentState {
        store: Arc::new(store::SqlPaymentStore::new(db.clone())),
        provider: Arc::new(provider::SandboxProvider::new(db.clone())),
        keys: IdempotencyStore::new(db.clone(), &ctx.settings.idempotency),
    };
    tracing::info!(
        service = SERVICE,
        provider = "sandbox",
        "payment provider ready"
    );
    let (router, openapi) = api::routes(state);
    Ok(Served {
        name: SERVICE,
        router,
        db: Some(db),
        openapi,
    })
}
