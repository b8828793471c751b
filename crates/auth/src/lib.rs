//! auth-service: registration, login with throttling, access tokens, refresh-token
//! rotation with reuse detection, logout and the signed-in user.

pub mod api;
pub mod domain;
pub mod passwords;
pub mod store;

use std::sync::Arc;

use ota_platform::db::Migrations;
use ota_platform::server::{Context, Served};

pub const SERVICE: &str = "auth-service";

pub static MIGRATIONS: Migrations = ota_platform::service_migrations!();

/// Opens the store and builds the service's routes.
pub async fn build(ctx: &Context) -> anyhow::Result<Served> {
    let db = ctx.database(SERVICE, &MIGRATIONS).await?;
    let ids = ctx.keys.key_ids();
    tracing::info!(
        service = SERVICE,
        signing_key_id = %ids[0],
        verifying_key_ids = %ids.join(","),
        "jwt key ring loaded: access tokens signed with key {} and accepted from keys {}",
        ids[0],
        ids.join(", ")
    );
    let state = api::AuthState {
        store: Arc::new(store::SqlAuthStore::new(db.clone())),
        cache: ctx.service_cache(SERVICE),
        keys: ctx.keys.clone(),
    };
    let (router, openapi) = api::router(state).split_for_parts();
    Ok(Served {
        name: SERVICE,
        router,
        db: Some(db),
        openapi,
    })
}
