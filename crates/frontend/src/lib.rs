//! frontend: the traveller's web site. Server-rendered HTML (askama templates) over the
//! public APIs of the other services, a session in `__Host-` cookies with CSRF
//! protection, and no JavaScript needed for any step.

pub mod clients;
pub mod format;
pub mod pages;
pub mod session;
pub mod views;

use std::sync::Arc;

use ota_platform::server::{Context, Served};

pub const SERVICE: &str = "frontend";

/// What every page handler shares.
#[derive(Clone)]
pub struct Web {
    pub api: Arc<clients::Api>,
    /// The card each checkout form pays with, so a form sent twice is one checkout.
    pub form_cards: Arc<pages::FormCards>,
}

/// Builds the web site's routes. It owns no database: everything comes from the APIs.
pub async fn build(ctx: &Context) -> anyhow::Result<Served> {
    let web = Web {
        api: Arc::new(clients::Api::new(ctx)?),
        form_cards: Arc::new(pages::FormCards::default()),
    };
    Ok(Served {
        name: SERVICE,
        router: pages::router(web),
        db: None,
        // The web site is HTML, not part of the API document.
        openapi: utoipa::openapi::OpenApi::new(
            utoipa::openapi::Info::new("OTA Travel web site", env!("CARGO_PKG_VERSION")),
            utoipa::openapi::Paths::new(),
        ),
    })
}
