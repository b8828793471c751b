//! `POST /api/v1/bookings`: checkout of the caller's cart, once per `Idempotency-Key`
//! (`ota_platform::idempotency`, scoped by user): the same request replays its answer,
//! another request under the key is 422 `idempotency-mismatch`, and the same request
//! while the first still runs is 409 `in-progress`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ota_contract::ProblemType;
use ota_contract::booking::{BookingView, CheckoutRequest, FailureReason};
use ota_contract::passengers::Passengers;
use ota_platform::client::PeerError;
use ota_platform::http::Json;
use ota_platform::idempotency::{Claim, IdempotencyKey, KeyError, RequestHash};
use ota_platform::money::{Money, MoneyError};
use ota_platform::problem::PROBLEM_JSON;
use ota_platform::tokens::AuthUser;
use ota_platform::{FieldError, Problem};
use serde_json::Value;
use uuid::Uuid;

use super::{BookingState, MAX_IN_FLIGHT, view};
use crate::domain::{self, Email, ItemKind, Status, Traveller};
use crate::store::{Booking, BookingStore, Created, Item, NewBooking};

const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

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
        Status::Failed => match b.failure_reason {
            Some(FailureReason::PaymentUnavailable | FailureReason::ProcessingError) => {
                failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "payment-unavailable",
                    "The payment could not be processed because of a fault on our side or our payment provider's; your card was not refused. Nothing was charged and this booking failed: check out again (with a new Idempotency-Key) in a moment.",
                )
            }
            Some(r) if let Some(code) = r.decline() => failed(
                StatusCode::PAYMENT_REQUIRED,
                "payment-declined",
                "The payment was refused; nothing was charged and the booking failed.",
            )
            .with("decline_code", code.as_str()),
            Some(FailureReason::PaymentMethodNotFound) => failed(
                StatusCode::PAYMENT_REQUIRED,
                "payment-declined",
                "The payment method is unknown; nothing was charged and the booking failed.",
            )
            .with("decline_code", "unknown_payment_method"),
            Some(FailureReason::SoldOut) => failed(
                StatusCode::CONFLICT,
                "sold-out",
                "Not enough seats or rooms are left for this booking; nothing was charged.",
            ),
            Some(FailureReason::OfferExpired | FailureReason::HoldExpired) => failed(
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

fn idempotency_key(headers: &HeaderMap) -> Result<IdempotencyKey, Problem> {
    let raw = headers
        .get(IDEMPOTENCY_KEY)
        .map(|v| v.to_str())
        .transpose()
        .map_err(|_| Problem::bad_parameter(IDEMPOTENCY_KEY, "must be printable ASCII"))?
        .unwrap_or_default();
    IdempotencyKey::parse(raw).map_err(|e| match e {
        KeyError::Missing => Problem::bad_parameter(
            IDEMPOTENCY_KEY,
            "is required: send a unique key per checkout (a UUID), and the same key when retrying it",
        ),
        other => Problem::bad_parameter(IDEMPOTENCY_KEY, other.to_string()),
    })
}

/// What the key stands for: this user's checkout with this body.
fn request_hash(user_id: Uuid, body: &CheckoutRequest) -> Result<RequestHash, Problem> {
    RequestHash::of(user_id.as_bytes(), body).map_err(|e| {
        tracing::error!(error = %e, "a checkout could not be serialised for hashing");
        Problem::internal()
    })
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
            itinerary: terms.itinerary,
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
    responses(
        (status = 201, body = BookingView, description = "The booking, CONFIRMED: inventory sold and its payment captured; amounts in minor units. A retry with the same key answers the same"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 400, body = Problem, description = "No Idempotency-Key header, or an invalid one (problem `bad-parameter`)"),
        (status = 402, body = Problem, description = "The card issuer refused the payment, or the payment method is unknown (problem `payment-declined`, with `decline_code`, `reference` and `status: FAILED`); nothing charged"),
        (status = 409, body = Problem, description = "Not enough seats or rooms are left (problem `sold-out`); another checkout holds this cart (problem `cart-taken`, with `reference` and `status`); the booking failed for another reason (problem `checkout-failed`, `status: FAILED`); or a checkout with this key is still running (problem `in-progress`): retry shortly. Nothing charged"),
        (status = 410, body = Problem, description = "An offer in the cart expired, before or during the checkout (problem `offer-expired`, with `offer_id`, or `reference` and `status: FAILED`); nothing charged: search again"),
        (status = 422, body = Problem, description = "Invalid or mismatched fields: travellers, contact, payment method, an empty cart or one in several currencies (problem `validation`; `errors` names each, such as `travellers[0].date_of_birth` or `cart`), or the key was used before with a different request (problem `idempotency-mismatch`)"),
        (status = 429, body = Problem, description = "The caller has three checkouts under way already (problem `rate-limited`; `Retry-After`)"),
        (status = 503, body = Problem, description = "A peer failed or was slow: problem `unavailable` or `timeout` with the booking's `reference` and current `status` (it settles shortly: retry with the same key), or problem `payment-unavailable` with `status: FAILED` (nothing authorised or charged: check out again with a new key). Never a decline; `Retry-After` in seconds")),
    security(("bearer" = [])))]
pub(super) async fn checkout(
    State(state): State<BookingState>,
    user: AuthUser,
    headers: HeaderMap,
    Json(body): Json<CheckoutRequest>,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    let valid = validate(&body)?;
    let hash = request_hash(user.id, &body)?;
    let store = state.store().clone();
    let (keys, scope) = (state.keys.clone(), user.id.to_string());
    // A key left running without a booking (its request died) is taken over once a
    // booking would be recovered.
    match keys
        .claim(&scope, &key, &hash, state.timing.stuck_after)
        .await?
    {
        Claim::New => {}
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(Answer { status, body }.into_response());
        }
        Claim::Mismatch => {
            return Err(Problem::idempotency_mismatch(IDEMPOTENCY_KEY));
        }
        Claim::InProgress { resource } => {
            // Settled by recovery since: record and answer its outcome.
            if let Some(id) = resource
                && let Some(b) = store.booking(id).await?
                && b.status.is_settled()
            {
                let answer = checkout_answer(store.as_ref(), b).await?;
                keys.complete(&scope, &key, answer.status.as_u16(), &answer.body)
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
            keys.release(&scope, &key).await?;
            return Err(p);
        }
    };
    new.idempotency_key = Some(key.as_str().to_owned());
    let booking = match store.create(&new, MAX_IN_FLIGHT).await {
        Ok(Created::Booked(b)) => b,
        Ok(Created::CartTaken(holder)) => {
            keys.release(&scope, &key).await?;
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
            keys.release(&scope, &key).await?;
            let mut p = Problem::too_many_requests(5);
            p.detail = format!(
                "You already have {MAX_IN_FLIGHT} bookings being checked out; wait for them to finish."
            );
            return Err(p);
        }
        Err(e) => {
            keys.release(&scope, &key).await?;
            return Err(e.into());
        }
    };
    tracing::info!(booking_id = %booking.id, reference = %booking.reference, total = booking.total_amount, "checkout started");
    // The saga runs on its own task: a client hanging up or the request deadline does
    // not stop it half-way.
    let saga = state.saga.clone();
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
            keys.complete(&scope, &key, answer.status.as_u16(), &answer.body)
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
