//! booking-service: checkout of the caller's cart as a crash-safe saga over
//! search-service (inventory holds), payment-service (authorise, capture, refund) and
//! cart-service; the caller's bookings and their cancellation. See docs/checkout.md.

pub mod api;
pub mod calendar;
pub mod cart;
pub mod domain;
pub mod outbox;
pub mod payment;
pub mod recovery;
pub mod saga;
pub mod search;
pub mod store;
pub mod webhooks;

use std::sync::Arc;

use anyhow::Context as _;
use ota_platform::client::PeerClient;
use ota_platform::db::Migrations;
use ota_platform::idempotency::IdempotencyStore;
use ota_platform::server::{Context, Served};

use crate::recovery::RecoveryTiming;
use crate::saga::Saga;

pub const SERVICE: &str = "booking-service";

pub static MIGRATIONS: Migrations = ota_platform::service_migrations!();

/// booking-service settings.
#[derive(clap::Args, Clone, Debug)]
pub struct BookingSettings {
    #[command(flatten)]
    pub recovery: RecoveryTiming,
    #[command(flatten)]
    pub notify: outbox::NotifySettings,
}

/// Opens the store, builds the saga over typed peer clients, starts the recovery
/// worker and answers the routes.
pub async fn build(ctx: &Context, settings: &BookingSettings) -> anyhow::Result<Served> {
    let timing = settings.recovery;
    let db = ctx.database(SERVICE, &MIGRATIONS).await?;
    let peers = &ctx.settings.peers;
    let peer =
        |name: &'static str, url: &Option<String>, flag: &str| -> anyhow::Result<PeerClient> {
            let url = url
                .as_deref()
                .with_context(|| format!("booking-service needs {name}: set {flag}"))?;
            Ok(PeerClient::new(
                name,
                SERVICE,
                url,
                ctx.keys.clone(),
                ctx.http.clone(),
            ))
        };
    let sql_store = Arc::new(store::SqlBookingStore::new(db.clone()));
    let search_client = Arc::new(search::SearchClient::new(peer(
        "search-service",
        &peers.search,
        "OTA_SEARCH_URL",
    )?));
    let saga = Saga {
        store: sql_store.clone(),
        inventory: search_client.clone(),
        // Authorisations go to a card network behind payment-service: 4 s per attempt
        // is plenty, and leaves a checkout time to answer honestly when it is slow.
        payments: Arc::new(payment::PaymentClient::new(
            peer("payment-service", &peers.payment, "OTA_PAYMENT_URL")?
                .with_timeout(std::time::Duration::from_secs(4)),
        )),
        carts: Arc::new(cart::CartClient::new(peer(
            "cart-service",
            &peers.cart,
            "OTA_CART_URL",
        )?)),
    };
    tracing::info!(
        service = SERVICE,
        recovery_period_ms = timing.period.as_millis() as u64,
        stuck_after_ms = timing.stuck_after.as_millis() as u64,
        "booking recovery worker starting"
    );
    let closed = db.clone();
    tokio::spawn(recovery::run(saga.clone(), timing, move || {
        closed.is_closed()
    }));
    let mailer = outbox::Mailer::new(&settings.notify, &ctx.settings.data_dir)?;
    match &mailer {
        outbox::Mailer::Smtp(_) => {
            tracing::info!(
                service = SERVICE,
                "e-mails go through the SMTP server of SMTP_URL"
            )
        }
        outbox::Mailer::Files(_, dir) => tracing::info!(
            service = SERVICE,
            dir = %dir.display(),
            "SMTP_URL is not set: e-mails are written as .eml files"
        ),
    }
    let dispatcher = Arc::new(
        outbox::Dispatcher::new(sql_store.clone(), mailer, settings.notify.clone())?
            .with_schedule_changes(search_client),
    );
    tracing::info!(
        service = SERVICE,
        poll_ms = settings.notify.poll.as_millis() as u64,
        "outbox dispatcher starting"
    );
    let closed = db.clone();
    let uid_domain = dispatcher.from.email.domain().to_owned();
    tokio::spawn(dispatcher.run(move || closed.is_closed()));
    let state = api::BookingState {
        saga,
        timing,
        keys: IdempotencyStore::new(db.clone(), &ctx.settings.idempotency),
        sql: sql_store,
        allow: Arc::new(settings.notify.webhook_allow_hosts.clone()),
        uid_domain,
    };
    let (router, openapi) = api::routes(state);
    Ok(Served {
        name: SERVICE,
        router,
        db: Some(db),
        openapi,
    })
}
