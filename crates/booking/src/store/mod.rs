//! booking-service storage on either engine: bookings, their items, travellers and
//! status history (checkout idempotency keys are `ota_platform::idempotency`'s, in this
//! service's database; a new booking is tied to its key here).
//!
//! Every status change is a conditional update on (status, version), so of two workers
//! racing on one booking exactly one moves it; the loser sees `None` and re-reads.

pub mod outbox;
mod sql;
pub mod webhooks;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ota_contract::booking::FailureReason;
use ota_contract::payment::PaymentStatus;
use ota_platform::StoreError;
use ota_platform::passengers::Passengers;
use uuid::Uuid;

pub use sql::SqlBookingStore;

use crate::domain::{BookingReference, Currency, Email, ItemKind, Status, Traveller};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: Uuid,
    pub reference: BookingReference,
    pub user_id: Uuid,
    pub status: Status,
    /// Minor units of `currency`.
    pub total_amount: i64,
    pub currency: Currency,
    pub payment_method_id: String,
    pub payment_id: Option<String>,
    pub payment_status: Option<PaymentStatus>,
    pub failure_reason: Option<FailureReason>,
    pub refund_amount: Option<i64>,
    pub contact_email: Email,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub step_started_ms: i64,
    pub attempts: i32,
    /// The cart this booking claimed (cart-service's `cart_id`).
    pub cart_id: Option<Uuid>,
    /// The card that paid (brand, last four digits), once authorised.
    pub card: Option<ota_contract::payment::CardSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub offer_id: String,
    pub kind: ItemKind,
    /// Minor units of `currency`.
    pub total_amount: i64,
    pub currency: Currency,
    pub refundable: bool,
    pub refund_until: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    /// A flight's travellers by type; `None` for hotels.
    pub passengers: Option<Passengers>,
    /// A hotel's rooms; `None` for flights.
    pub rooms: Option<u8>,
    pub summary: String,
    /// What the offer described at checkout; `None` for older bookings.
    pub itinerary: Option<ota_contract::booking::ItemItinerary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub status: Status,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// A booking about to be written `PENDING`.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Minor units of `currency`.
    pub total_amount: i64,
    pub currency: Currency,
    pub payment_method_id: String,
    pub contact_email: Email,
    pub items: Vec<Item>,
    pub travellers: Vec<Traveller>,
    /// The idempotency key (of this user, the key's scope) the booking answers.
    pub idempotency_key: Option<String>,
    /// The cart it claims: refused while another booking of it has not failed.
    pub cart_id: Option<Uuid>,
}

// Made once per checkout and consumed at once: boxing the booking buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Booked(Booking),
    /// The user already has this many bookings checking out.
    TooManyInFlight,
    /// Another booking that has not failed holds the cart.
    CartTaken(Booking),
}

/// Fields a transition may set; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub payment_id: Option<String>,
    pub payment_status: Option<PaymentStatus>,
    pub failure_reason: Option<FailureReason>,
    pub refund_amount: Option<i64>,
    pub card: Option<ota_contract::payment::CardSummary>,
}

#[async_trait]
pub trait BookingStore: Send + Sync + 'static {
    /// Writes the booking `PENDING` with its items, travellers and first event, and ties
    /// it to its idempotency key, unless the user already has `max_in_flight` bookings
    /// checking out. Draws a fresh reference on a collision.
    async fn create(&self, new: &NewBooking, max_in_flight: i64) -> Result<Created, StoreError>;
    async fn booking(&self, id: Uuid) -> Result<Option<Booking>, StoreError>;
    async fn by_reference(
        &self,
        reference: &BookingReference,
    ) -> Result<Option<Booking>, StoreError>;
    async fn items(&self, id: Uuid) -> Result<Vec<Item>, StoreError>;
    async fn travellers(&self, id: Uuid) -> Result<Vec<Traveller>, StoreError>;
    async fn events(&self, id: Uuid) -> Result<Vec<Event>, StoreError>;
    /// A user's bookings, newest first, strictly older than `before`.
    async fn list(
        &self,
        user_id: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Booking>, StoreError>;
    /// Moves `b` to `to` if nobody moved it since `b` was read; records the event.
    /// `None` when another worker got there first.
    async fn advance(
        &self,
        b: &Booking,
        to: Status,
        patch: &Patch,
        note: Option<&str>,
    ) -> Result<Option<Booking>, StoreError>;
    /// Takes over up to `limit` bookings mid-saga whose step started before
    /// `stale_before_ms`; each comes back with a new version and a fresh step clock.
    async fn claim_stuck(
        &self,
        stale_before_ms: i64,
        limit: i64,
    ) -> Result<Vec<Booking>, StoreError>;
    /// Bookings mid-saga whose status last changed before `stale_before_ms`, however
    /// often recovery has tried them since.
    async fn count_stuck(&self, stale_before_ms: i64) -> Result<i64, StoreError>;
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}
