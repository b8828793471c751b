//! The public booking API of API.md and docs/checkout.md: checkout (`checkout`), the
//! caller's bookings, cancellation quotes and cancellation (`bookings`). The request and
//! response types are `ota_contract::booking`'s, and one route list gives both the
//! router and the OpenAPI document.

mod bookings;
mod checkout;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, Utc};
use ota_contract::booking::{
    BookedTraveller, BookingList, BookingStatus, BookingView, CancellationView, CheckoutRequest,
    ContactInput, ContactView, FailureReason, ItemKind, ItemView, PaymentView, QuoteView,
    TravellerInput,
};
use ota_contract::money::Money;
use ota_contract::passengers::{PassengerType, Passengers};
use ota_contract::payment::PaymentStatus;
use ota_platform::idempotency::IdempotencyStore;
use ota_platform::{FieldError, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::Status;
use crate::domain::Traveller;
use crate::recovery::RecoveryTiming;
use crate::saga::Saga;
use crate::store::{Booking, BookingStore, Item};

/// Bookings one user may have checking out at once (PENDING, HELD, AUTHORIZED).
pub const MAX_IN_FLIGHT: i64 = 3;
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 50;

#[derive(Clone)]
pub struct BookingState {
    pub saga: Saga,
    pub timing: RecoveryTiming,
    /// Checkout idempotency keys, scoped by user.
    pub keys: IdempotencyStore,
    /// The store's outbox and webhook side.
    pub sql: Arc<crate::store::SqlBookingStore>,
    /// What webhook endpoints may be besides public addresses.
    pub allow: Arc<crate::webhooks::AllowList>,
    /// The domain that ends calendar UIDs (`MAIL_FROM`'s).
    pub uid_domain: String,
}

impl BookingState {
    fn store(&self) -> &Arc<dyn BookingStore> {
        &self.saga.store
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(CheckoutRequest, TravellerInput, ContactInput, BookingView, ItemView, PaymentView,
        ContactView, BookingList, QuoteView, CancellationView, BookedTraveller, BookingStatus, FailureReason, ItemKind, Money, Passengers,
        PassengerType, PaymentStatus, Problem, FieldError,
        ota_contract::webhooks::WebhookEndpointInput, ota_contract::webhooks::WebhookEndpointView,
        ota_contract::webhooks::WebhookEndpointCreated, ota_contract::webhooks::WebhookEndpointList,
        ota_contract::webhooks::WebhookDeliveryView, ota_contract::webhooks::WebhookAttemptView,
        ota_contract::webhooks::WebhookDeliveryList, ota_contract::booking::EventDocument)),
    tags((name = "bookings", description = "Checkout, bookings and cancellations"),
        (name = "webhooks", description = "Signed notification events about the caller's bookings, delivered at least once (docs/notifications.md)"))
)]
struct ApiDoc;

/// Every route of booking-service, and the OpenAPI document of exactly those routes.
pub fn routes(state: BookingState) -> (Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(checkout::checkout, bookings::list_bookings))
        .routes(routes!(bookings::read_booking))
        .routes(routes!(bookings::cancellation_quote))
        .routes(routes!(bookings::cancel_booking))
        .routes(routes!(bookings::resend_confirmation))
        .routes(routes!(bookings::calendar))
        .routes(routes!(webhooks::create_endpoint, webhooks::list_endpoints))
        .routes(routes!(webhooks::read_endpoint, webhooks::delete_endpoint))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::redeliver))
        .with_state(state)
        .split_for_parts()
}

// ---------------------------------------------------------------------------------------
// Views

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn item_view(i: Item) -> ItemView {
    ItemView {
        total: Money::of(i.total_amount, i.currency),
        offer_id: i.offer_id,
        kind: i.kind,
        summary: i.summary,
        passengers: i.passengers,
        rooms: i.rooms,
        refundable: i.refundable,
        refund_until: i.refund_until.map(rfc3339),
        starts_at: i.starts_at.map(rfc3339),
        itinerary: i.itinerary,
    }
}

async fn view(store: &dyn BookingStore, b: Booking) -> Result<BookingView, Problem> {
    let items = store.items(b.id).await?;
    let travellers = store.travellers(b.id).await?;
    Ok(view_of(b, items, travellers))
}

/// The booking as the API and the notification events show it.
pub(crate) fn view_of(b: Booking, items: Vec<Item>, travellers: Vec<Traveller>) -> BookingView {
    let refund = match b.status {
        Status::Cancelling | Status::Cancelled => {
            Some(Money::of(b.refund_amount.unwrap_or(0), b.currency))
        }
        _ => None,
    };
    BookingView {
        total: Money::of(b.total_amount, b.currency),
        items: items.into_iter().map(item_view).collect(),
        payment: b
            .payment_id
            .zip(b.payment_status)
            .map(|(id, status)| PaymentView {
                id,
                status,
                card: b.card.clone(),
            }),
        travellers,
        contact: ContactView {
            email: b.contact_email.to_string(),
        },
        created_at: rfc3339(b.created_at),
        updated_at: rfc3339(b.updated_at),
        failure_reason: b.failure_reason,
        refund,
        reference: b.reference.to_string(),
        status: b.status,
    }
}
