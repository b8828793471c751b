//! The public booking API of API.md and docs/checkout.md: checkout, the caller's
//! bookings, cancellation quotes and cancellation.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use ota_platform::client::PeerError;
use ota_platform::http::Json;
use ota_platform::money::{Money, MoneyError};
use ota_platform::passengers::Passengers;
use ota_platform::problem::{PROBLEM_JSON, ProblemType};
use ota_platform::tokens::AuthUser;
use ota_platform::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{self, BookingReference, Email, ItemKind, Status, Traveller};
use crate::recovery::RecoveryTiming;
use crate::saga::{Saga, reason};
use crate::store::{Booking, BookingStore, Created, Item, KeyClaim, NewBooking};

/// Bookings one user may have checking out at once (PENDING, HELD, AUTHORIZED).
pub const MAX_IN_FLIGHT: i64 = 3;
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 50;
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
const MAX_KEY_LEN: usize = 255;

#[derive(Clone)]
pub struct BookingState {
    pub saga: Saga,
    pub timing: RecoveryTiming,
}

impl BookingState {
    fn store(&self) -> &Arc<dyn BookingStore> {
        &self.saga.store
    }
}

pub fn router(state: BookingState) -> Router {
    Router::new()
        .route("/api/v1/bookings", post(checkout).get(list_bookings))
        .route("/api/v1/bookings/{reference}", get(read_booking))
        .route(
            "/api/v1/bookings/{reference}/cancellation-quote",
            get(cancellation_quote),
        )
        .route("/api/v1/bookings/{reference}/cancel", post(cancel_booking))
        .with_state(state)
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(checkout, list_bookings, read_booking, cancellation_quote, cancel_booking),
    components(schemas(CheckoutRequest, TravellerInput, ContactInput, BookingView, ItemView, PaymentView,
        ContactView, BookingList, QuoteView, CancellationView, Traveller, Status, ItemKind, Money, Passengers,
        ota_platform::passengers::PassengerType, Problem, FieldError)),
    tags((name = "bookings", description = "Checkout, bookings and cancellations"))
)]
pub struct ApiDoc;

// ---------------------------------------------------------------------------------------
// Shapes

/// A checkout: every field is checked here, so each can be named when it is wrong.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    #[serde(default)]
    pub travellers: Option<Vec<TravellerInput>>,
    #[serde(default)]
    pub contact: Option<ContactInput>,
    #[serde(default)]
    pub payment_method_id: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct TravellerInput {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// YYYY-MM-DD, in the past.
    #[serde(default)]
    pub date_of_birth: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ContactInput {
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemView {
    pub offer_id: String,
    pub kind: ItemKind,
    pub total: Money,
    pub summary: String,
    /// A flight's travellers by type; null for hotels.
    pub passengers: Option<Passengers>,
    /// A hotel's rooms; null for flights.
    #[serde(default)]
    pub rooms: Option<u8>,
    /// Whether cancelling refunds this item, as judged when it was sold.
    pub refundable: bool,
    /// Until when cancelling refunds this item (RFC 3339, UTC), if ever.
    pub refund_until: Option<String>,
    /// First departure or hotel check-in (RFC 3339, UTC): no cancellation after it.
    pub starts_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub id: String,
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    pub email: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BookingView {
    pub reference: String,
    pub status: Status,
    pub total: Money,
    pub items: Vec<ItemView>,
    pub payment: Option<PaymentView>,
    pub travellers: Vec<Traveller>,
    pub contact: ContactView,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// What the cancellation refunded (or is refunding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Money>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BookingList {
    pub bookings: Vec<BookingView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuoteView {
    pub refund: Money,
    /// Until when this quote holds (the next refund deadline), if it ever changes.
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CancellationView {
    pub reference: String,
    pub status: Status,
    pub refund: Money,
}

/// An answer as status and JSON, so a replay answers byte for byte what was stored.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    fn problem(p: &Problem) -> Answer {
        Answer {
            status: p.status_code(),
            body: serde_json::to_value(p).unwrap_or(Value::Null),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let settled_failure = self.body["status"] == "FAILED";
        let mut res = (self.status, axum::Json(self.body)).into_response();
        if self.status.is_client_error() || self.status.is_server_error() {
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        }
        // A booking still settling is worth asking about again; a settled failure
        // (payment-unavailable) answers the same for ever under its key, so no
        // invitation to repeat it: a new checkout is what can succeed.
        if self.status == StatusCode::SERVICE_UNAVAILABLE && !settled_failure {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
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
    }
}

async fn view(store: &dyn BookingStore, b: Booking) -> Result<BookingView, Problem> {
    let items = store.items(b.id).await?;
    let travellers = store.travellers(b.id).await?;
    let refund = match b.status {
        Status::Cancelling | Status::Cancelled => {
            Some(Money::of(b.refund_amount.unwrap_or(0), b.currency))
        }
        _ => None,
    };
    Ok(BookingView {
        total: Money::of(b.total_amount, b.currency),
        items: items.into_iter().map(item_view).collect(),
        payment: b.payment_id.map(|id| PaymentView {
            id,
            status: b.payment_status.unwrap_or_default(),
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
    })
}

/// The checkout's answer for a booking as it is now: 201 once confirmed, the refusal
/// once failed, 503 while a peer keeps it mid-saga (recovery will settle it).
async fn checkout_answer(store: &dyn BookingStore, b: Booking) -> Result<Answer, Problem> {
    let reference = b.reference.clone();
    let failed = |status: StatusCode, slug: &str, detail: &str| {
        Problem::new(status, slug, detail)
            .with("reference", &reference)
            .with("status", Status::Failed)
    };
    let problem = match b.status {
        Status::Confirmed | Status::Cancelling | Status::Cancelled => {
            let v = view(store, b).await?;
            return Ok(Answer {
                status: StatusCode::CREATED,
                body: serde_json::to_value(v).unwrap_or(Value::Null),
            });
        }
        Status::Failed => match b.failure_reason.as_deref().unwrap_or_default() {
            reason::PAYMENT_UNAVAILABLE | reason::PROCESSING_ERROR => {
                failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "payment-unavailable",
                    "The payment could not be processed because of a fault on our side or our payment provider's; your card was not refused. Nothing was charged and this booking failed: check out again (with a new Idempotency-Key) in a moment.",
                )
            }
            r if reason::DECLINES.contains(&r) => failed(
                StatusCode::PAYMENT_REQUIRED,
                "payment-declined",
                "The payment was refused; nothing was charged and the booking failed.",
            )
            .with("decline_code", r),
            reason::PAYMENT_METHOD => failed(
                StatusCode::PAYMENT_REQUIRED,
                "payment-declined",
                "The payment method is unknown; nothing was charged and the booking failed.",
            )
            .with("decline_code", "unknown_payment_method"),
            reason::SOLD_OUT => failed(
                StatusCode::CONFLICT,
                "sold-out",
                "Not enough seats or rooms are left for this booking; nothing was charged.",
            ),
            reason::OFFER_EXPIRED | reason::HOLD_EXPIRED => failed(
                StatusCode::GONE,
                "offer-expired",
                "An offer expired before the booking completed; nothing was charged.",
            ),
            _ => failed(
                StatusCode::CONFLICT,
                "checkout-failed",
                "The booking could not be completed; nothing was charged.",
            ),
        },
        status => Problem::unavailable(
            "The booking is not finished yet: a service it needs did not answer. It will be completed or undone shortly; retry with the same Idempotency-Key to see the outcome.",
        )
        .with("reference", &reference)
        .with("status", status),
    };
    Ok(Answer::problem(&problem))
}

// ---------------------------------------------------------------------------------------
// Checkout

struct Valid {
    travellers: Vec<Traveller>,
    email: Email,
    payment_method_id: String,
}

fn validate(body: &CheckoutRequest) -> Result<Valid, Problem> {
    let mut errors = Vec::new();
    let today = Utc::now().date_naive();
    let mut travellers = Vec::new();
    match body.travellers.as_deref() {
        None | Some([]) => errors.push(FieldError {
            field: "travellers".to_owned(),
            message: "must name at least one traveller".to_owned(),
        }),
        Some(list) if list.len() > domain::MAX_TRAVELLERS => errors.push(FieldError {
            field: "travellers".to_owned(),
            message: format!("at most {} travellers", domain::MAX_TRAVELLERS),
        }),
        Some(list) => {
            for (i, t) in list.iter().enumerate() {
                let first = domain::check_name(
                    format!("travellers[{i}].first_name"),
                    t.first_name.as_deref(),
                    &mut errors,
                );
                let last = domain::check_name(
                    format!("travellers[{i}].last_name"),
                    t.last_name.as_deref(),
                    &mut errors,
                );
                let dob = domain::check_date_of_birth(
                    format!("travellers[{i}].date_of_birth"),
                    t.date_of_birth.as_deref(),
                    today,
                    &mut errors,
                );
                if let Some(date_of_birth) = dob {
                    travellers.push(Traveller {
                        first_name: first,
                        last_name: last,
                        date_of_birth,
                        passenger_type: None,
                    });
                }
            }
        }
    }
    let email = domain::check_email(
        "contact.email",
        body.contact.as_ref().and_then(|c| c.email.as_deref()),
        &mut errors,
    );
    let payment_method_id = body
        .payment_method_id
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if payment_method_id.is_empty() || payment_method_id.len() > 100 {
        errors.push(FieldError {
            field: "payment_method_id".to_owned(),
            message: if payment_method_id.is_empty() {
                "is required".to_owned()
            } else {
                "is not a payment method id".to_owned()
            },
        });
    }
    match email {
        Some(email) if errors.is_empty() => Ok(Valid {
            travellers,
            email,
            payment_method_id,
        }),
        _ => Err(Problem::invalid(errors)),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, Problem> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .map(|v| v.to_str().map(str::trim))
        .transpose()
        .map_err(|_| Problem::bad_parameter(IDEMPOTENCY_KEY, "must be printable ASCII"))?
        .unwrap_or_default();
    if key.is_empty() {
        return Err(Problem::bad_parameter(
            IDEMPOTENCY_KEY,
            "is required: send a unique key per checkout (a UUID), and the same key when retrying it",
        ));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(Problem::bad_parameter(
            IDEMPOTENCY_KEY,
            "must be at most 255 characters",
        ));
    }
    Ok(key.to_owned())
}

fn request_hash(user_id: Uuid, body: &CheckoutRequest) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(user_id.as_bytes());
    h.update(serde_json::to_vec(body).unwrap_or_default());
    h.finalize().to_vec()
}

fn peer_unavailable(what: &str, e: &PeerError) -> Problem {
    tracing::warn!(error = %e, "{what} failed");
    Problem::unavailable(format!(
        "{what} is unavailable; nothing was booked or charged. Please retry shortly."
    ))
}

/// Reads the caller's cart and revalidates every offer: the booking to write.
async fn prepare(state: &BookingState, user: &AuthUser, v: &Valid) -> Result<NewBooking, Problem> {
    let cart = state
        .saga
        .carts
        .cart(user.id)
        .await
        .map_err(|e| peer_unavailable("Reading your cart", &e))?;
    if cart.items.is_empty() {
        return Err(Problem::field(
            "cart",
            "is empty: add a flight or hotel offer first",
        ));
    }
    if let Some(expired) = cart.items.iter().find(|i| i.expired) {
        return Err(offer_expired(&expired.offer_id));
    }
    let mut items = Vec::new();
    let mut party = domain::Party::default();
    let (mut flight_dates, mut check_in_dates) = (Vec::new(), Vec::new());
    for ci in &cart.items {
        let terms = match state.saga.inventory.offer(&ci.offer_id).await {
            Ok(t) => t,
            Err(PeerError::Status { status: 410, .. }) => return Err(offer_expired(&ci.offer_id)),
            Err(PeerError::Status { status: 409, .. }) => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "sold-out",
                    "An offer in your cart is no longer available; nothing was booked or charged.",
                )
                .with("offer_id", &ci.offer_id));
            }
            Err(PeerError::Status { status: 422, .. }) => {
                return Err(Problem::field(
                    "cart",
                    format!("holds an invalid offer ({})", ci.offer_id),
                ));
            }
            Err(e) => return Err(peer_unavailable("Checking the offers", &e)),
        };
        let Ok(currency) = terms.total.currency_code() else {
            return Err(Problem::field(
                "cart",
                format!("holds an offer in an unknown currency ({})", ci.offer_id),
            ));
        };
        match terms.kind {
            ItemKind::Flight => flight_dates.extend(terms.travel_date),
            ItemKind::Hotel => check_in_dates.extend(terms.travel_date),
        }
        match terms.kind {
            ItemKind::Flight => party
                .flights
                .push(terms.passengers.unwrap_or(Passengers::adults(1))),
            ItemKind::Hotel => party.hotel_rooms.push(terms.rooms.unwrap_or(1)),
        }
        items.push(Item {
            offer_id: ci.offer_id.clone(),
            kind: terms.kind,
            total_amount: terms.total.amount,
            currency,
            refundable: terms.refundable,
            refund_until: terms.refund_until,
            starts_at: terms.starts_at,
            passengers: terms.passengers,
            rooms: terms.rooms,
            summary: if ci.summary.is_empty() {
                terms.summary
            } else {
                ci.summary.clone()
            },
        });
    }
    // Ages are taken on the first departure's date; a hotel-only booking's on the first
    // check-in date.
    party.travel_date = flight_dates
        .into_iter()
        .min()
        .or_else(|| check_in_dates.into_iter().min());
    let mut travellers = v.travellers.clone();
    domain::match_travellers(&mut travellers, &party).map_err(|e| Problem::invalid(vec![e]))?;
    let currency = items[0].currency;
    let totals: Vec<Money> = items
        .iter()
        .map(|i| Money::of(i.total_amount, i.currency))
        .collect();
    let total = Money::checked_sum(currency.as_str(), &totals).map_err(|e| match e {
        MoneyError::MixedCurrencies(..) => {
            Problem::field("cart", "mixes currencies: check out one currency at a time")
        }
        MoneyError::Overflow => Problem::field("cart", "adds up to more than we can charge"),
    })?;
    Ok(NewBooking {
        id: Uuid::now_v7(),
        user_id: user.id,
        total_amount: total.amount,
        currency,
        payment_method_id: v.payment_method_id.clone(),
        contact_email: v.email.clone(),
        items,
        travellers,
        idempotency_key: None,
        cart_id: cart.cart_id,
    })
}

fn offer_expired(offer_id: &str) -> Problem {
    Problem::new(
        StatusCode::GONE,
        "offer-expired",
        "An offer in your cart has expired; search again for current prices. Nothing was booked or charged.",
    )
    .with("offer_id", offer_id)
}

/// Check out the caller's whole cart: one booking, one charge.
///
/// The checkout claims the cart: while a booking of it is under way or confirmed, another
/// checkout of the same cart (another tab, another key) answers 409 `cart-taken` naming
/// that booking; a FAILED booking gives the cart back. Travellers must match the flight
/// offers' passengers by type, ages taken on the local date of the first departure (the
/// first check-in date for hotel-only bookings): `adult` 12+, `child` 2–11, `infant`
/// under 2 on a lap; at least one traveller 18+, one 18+ per infant and per hotel room.
/// Amounts are minor units of the cart's currency.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings", request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "unique per checkout; resend it when retrying")),
    responses((status = 201, body = BookingView, description = "CONFIRMED: inventory sold and payment captured"),
        (status = 400, body = Problem, description = "`bad-parameter`: no Idempotency-Key"),
        (status = 402, body = Problem, description = "`payment-declined`: the card issuer refused (`decline_code`); `reference`, `status: FAILED`; nothing charged"),
        (status = 409, body = Problem, description = "`sold-out`; `cart-taken` (`reference`, `status` of the booking holding the cart); `conflict`: the same key still running"),
        (status = 410, body = Problem, description = "`offer-expired`"),
        (status = 422, body = Problem, description = "`validation` naming the field (`travellers`, `travellers[i].date_of_birth`, `cart`, …)"),
        (status = 429, body = Problem, description = "three checkouts already under way"),
        (status = 503, body = Problem, description = "a peer failed or was slow: `unavailable` or `timeout` with the booking's `reference` and current `status` (it settles shortly: retry with the same key), or `payment-unavailable` with `status: FAILED` (payment-service never authorised; nothing charged, check out again). Never a decline. `Retry-After` in seconds")),
    security(("bearer" = [])))]
async fn checkout(
    State(state): State<BookingState>,
    user: AuthUser,
    headers: HeaderMap,
    Json(body): Json<CheckoutRequest>,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    let valid = validate(&body)?;
    let hash = request_hash(user.id, &body);
    let store = state.store().clone();
    match store
        .claim_key(user.id, &key, &hash, state.timing.stale_before_ms())
        .await?
    {
        KeyClaim::Claimed => {}
        KeyClaim::Done { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(Answer { status, body }.into_response());
        }
        KeyClaim::Mismatch => {
            return Err(Problem::idempotency_mismatch(IDEMPOTENCY_KEY));
        }
        KeyClaim::Running { booking_id } => {
            // Settled by recovery since: record and answer its outcome.
            if let Some(id) = booking_id
                && let Some(b) = store.booking(id).await?
                && b.status.is_settled()
            {
                let answer = checkout_answer(store.as_ref(), b).await?;
                store
                    .finish_key(user.id, &key, answer.status.as_u16(), &answer.body)
                    .await?;
                return Ok(answer.into_response());
            }
            let mut p = Problem::of(
                ProblemType::InProgress,
                "A checkout with this Idempotency-Key is still running; retry shortly to see its outcome.",
            );
            p.retry_after = Some(1);
            return Err(p);
        }
    }
    // The key is ours. Refusals before a booking exists free it for a corrected retry.
    let mut new = match prepare(&state, &user, &valid).await {
        Ok(n) => n,
        Err(p) => {
            store.release_key(user.id, &key).await?;
            return Err(p);
        }
    };
    new.idempotency_key = Some(key.clone());
    let booking = match store.create(&new, MAX_IN_FLIGHT).await {
        Ok(Created::Booked(b)) => b,
        Ok(Created::CartTaken(holder)) => {
            store.release_key(user.id, &key).await?;
            if matches!(
                holder.status,
                Status::Confirmed | Status::Cancelling | Status::Cancelled
            ) {
                // Its cart should have been checked out already: try again.
                state.saga.check_out_cart(&holder).await;
            }
            return Err(cart_taken(&holder));
        }
        Ok(Created::TooManyInFlight) => {
            store.release_key(user.id, &key).await?;
            let mut p = Problem::too_many_requests(5);
            p.detail = format!(
                "You already have {MAX_IN_FLIGHT} bookings being checked out; wait for them to finish."
            );
            return Err(p);
        }
        Err(e) => {
            store.release_key(user.id, &key).await?;
            return Err(e.into());
        }
    };
    tracing::info!(booking_id = %booking.id, reference = %booking.reference, total = booking.total_amount, "checkout started");
    // The saga runs on its own task: a client hanging up or the request deadline does
    // not stop it half-way.
    let saga = state.saga.clone();
    let user_id = user.id;
    let (booking_id, reference) = (booking.id, booking.reference.clone());
    // The request's statement bound goes with it: a frozen database fails the saga's
    // step (recovery resumes it) instead of holding a connection for ever.
    let bound = ota_platform::db::statement_bound();
    let task = tokio::spawn(async move {
        let run = saga.checkout(booking);
        let b = match bound {
            Some(d) => ota_platform::db::bounded(d, run).await,
            None => run.await,
        }?;
        let settled = b.status.is_settled();
        let answer = checkout_answer(saga.store.as_ref(), b).await?;
        if settled {
            saga.store
                .finish_key(user_id, &key, answer.status.as_u16(), &answer.body)
                .await?;
        }
        Ok::<Answer, Problem>(answer)
    });
    match ota_platform::http::before_deadline(task).await {
        Ok(Ok(answer)) => Ok(answer?.into_response()),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the checkout task failed");
            Err(Problem::internal())
        }
        Err(_) => {
            // Still running: say which booking and where it is; the same key answers
            // its outcome once it settles.
            let status = store
                .booking(booking_id)
                .await
                .ok()
                .flatten()
                .map_or(Status::Pending, |b| b.status);
            tracing::warn!(%booking_id, %reference, %status, "checkout answered before its saga finished");
            let mut p = Problem::timeout()
                .with("reference", &reference)
                .with("status", status);
            p.detail = "The booking is taking longer than usual; it will be completed or undone shortly and never charged twice. Try again with the same Idempotency-Key to see the outcome.".to_owned();
            Err(p)
        }
    }
}

/// 409: another booking holds this cart (a second tab, a second key).
fn cart_taken(holder: &Booking) -> Problem {
    let detail = match holder.status {
        Status::Confirmed | Status::Cancelling | Status::Cancelled => format!(
            "This cart was already booked as {}; nothing more was charged.",
            holder.reference
        ),
        _ => format!(
            "This cart is being checked out as booking {}; see that booking for the outcome. Nothing more will be charged.",
            holder.reference
        ),
    };
    Problem::new(StatusCode::CONFLICT, "cart-taken", detail)
        .with("reference", &holder.reference)
        .with("status", holder.status)
}

// ---------------------------------------------------------------------------------------
// Reads

async fn own_booking(
    state: &BookingState,
    user: &AuthUser,
    reference: &str,
) -> Result<Booking, Problem> {
    let not_found = || Problem::not_found("You have no booking with this reference.");
    let Ok(reference) = BookingReference::parse(reference) else {
        return Err(not_found());
    };
    match state.store().by_reference(&reference).await? {
        // Someone else's booking answers exactly like a missing one.
        Some(b) if b.user_id == user.id => Ok(b),
        _ => Err(not_found()),
    }
}

/// The caller's bookings, newest first.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings",
    params(("limit" = Option<i64>, Query, description = "1 to 50, default 20"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = BookingList), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn list_bookings(
    State(state): State<BookingState>,
    user: AuthUser,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<BookingList>, Problem> {
    let limit = match params.get("limit").map(|s| s.trim()) {
        None | Some("") => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                Problem::bad_parameter("limit", "must be a whole number from 1 to 50")
            })?,
    };
    let before = match params.get("cursor").map(|s| s.trim()) {
        None | Some("") => None,
        Some(c) => Some(
            Uuid::try_parse(c)
                .map_err(|_| Problem::bad_parameter("cursor", "is not a cursor of this list"))?,
        ),
    };
    let store = state.store();
    let mut page = store.list(user.id, before, limit + 1).await?;
    let more = page.len() as i64 > limit;
    page.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        page.last().map(|b| b.id.simple().to_string())
    } else {
        None
    };
    let mut bookings = Vec::with_capacity(page.len());
    for b in page {
        bookings.push(view(store.as_ref(), b).await?);
    }
    Ok(axum::Json(BookingList {
        bookings,
        next_cursor,
    }))
}

/// One of the caller's bookings.
#[utoipa::path(get, path = "/api/v1/bookings/{reference}", tag = "bookings",
    params(("reference" = String, Path)),
    responses((status = 200, body = BookingView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn read_booking(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> Result<axum::Json<BookingView>, Problem> {
    let b = own_booking(&state, &user, &reference).await?;
    Ok(axum::Json(view(state.store().as_ref(), b).await?))
}

fn not_cancellable(b: &Booking) -> Problem {
    Problem::conflict(format!(
        "Only confirmed bookings can be cancelled; this one is {}.",
        b.status
    ))
    .with("reference", &b.reference)
    .with("status", b.status)
}

async fn refund_now(
    state: &BookingState,
    b: &Booking,
) -> Result<(i64, Option<DateTime<Utc>>), Problem> {
    let items = state.store().items(b.id).await?;
    // One clock for the quote and the refund: the rules are judged at this instant.
    let now = Utc::now();
    if let Some(started) = items.iter().filter_map(|i| i.starts_at).min()
        && started <= now
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "too-late",
            "This booking can no longer be cancelled: its first flight has left or its hotel stay has begun. Nothing was changed.",
        )
        .with("reference", &b.reference)
        .with("status", b.status)
        .with("started_at", rfc3339(started)));
    }
    Ok(domain::quote(
        items
            .iter()
            .map(|i| (i.total_amount, i.refundable, i.refund_until)),
        now,
    ))
}

/// What cancelling now would refund, and until when that holds.
#[utoipa::path(get, path = "/api/v1/bookings/{reference}/cancellation-quote", tag = "bookings",
    params(("reference" = String, Path)),
    responses((status = 200, body = QuoteView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not CONFIRMED; or `too-late`: the first flight has left or the hotel stay has begun")),
    security(("bearer" = [])))]
async fn cancellation_quote(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> Result<axum::Json<QuoteView>, Problem> {
    let b = own_booking(&state, &user, &reference).await?;
    let (refund, expires_at) = match b.status {
        Status::Confirmed => refund_now(&state, &b).await?,
        Status::Cancelling | Status::Cancelled => (b.refund_amount.unwrap_or(0), None),
        _ => return Err(not_cancellable(&b)),
    };
    Ok(axum::Json(QuoteView {
        refund: Money::of(refund, b.currency),
        expires_at: expires_at.map(rfc3339),
    }))
}

/// Cancel a confirmed booking: refund by its rates' rules, give the inventory back.
/// Cancelling again answers the same and changes nothing.
#[utoipa::path(post, path = "/api/v1/bookings/{reference}/cancel", tag = "bookings",
    params(("reference" = String, Path)),
    responses((status = 200, body = CancellationView), (status = 202, body = CancellationView, description = "refund under way"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not CONFIRMED; or `too-late`: the first flight has left or the hotel stay has begun (nothing refunded or released)")),
    security(("bearer" = [])))]
async fn cancel_booking(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> Result<Response, Problem> {
    let b = own_booking(&state, &user, &reference).await?;
    let after = match b.status {
        Status::Confirmed => {
            let (refund, _) = refund_now(&state, &b).await?;
            let saga = state.saga.clone();
            // On its own task, like checkout: a hang-up does not stop a refund half-way.
            tokio::spawn(async move { saga.cancel(&b, refund).await })
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "the cancellation task failed");
                    Problem::internal()
                })??
        }
        Status::Cancelling => state.saga.checkout(b).await?,
        Status::Cancelled => b,
        _ => return Err(not_cancellable(&b)),
    };
    let status = if after.status == Status::Cancelled {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let answer = CancellationView {
        refund: Money::of(after.refund_amount.unwrap_or(0), after.currency),
        reference: after.reference.to_string(),
        status: after.status,
    };
    Ok((status, axum::Json(answer)).into_response())
}
