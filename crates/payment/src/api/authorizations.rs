//! `/internal/v1/payments/authorize` and `/abandon`: a payment is made under
//! booking-service's idempotency key, at most once, or abandoned so it never is.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ota_contract::money::Money;
use ota_contract::payment::{
    AuthorizeRequest, CardSummary, DeclineCode, PaymentStatus, PaymentView,
};
use ota_platform::http::Json;
use ota_platform::idempotency::IdempotencyKey;
use ota_platform::tokens::ServiceCaller;
use ota_platform::{FieldError, Problem, StoreError};
use uuid::Uuid;

use super::keys::{idempotent, key_and_amount};
use super::{
    MAX_REFERENCE_CHARS, PaymentState, answer, count, payment_json, payment_json_with_card,
    payment_not_found, provider_problem,
};
use crate::domain::Expiry;
use crate::provider::Authorisation;
use crate::store::{NewPayment, Payment, PaymentMethod};

/// Authorise an amount (minor units) on a user's payment method. A refusal by the card
/// issuer is recorded as a `declined` payment and answered 402 with its `decline_code`.
#[utoipa::path(post, path = "/internal/v1/payments/authorize", tag = "internal", request_body = AuthorizeRequest,
    responses(
        (status = 201, body = PaymentView, description = "The payment, `authorized` for the whole amount (minor units); a repeat with the same key answers the same payment"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 402, body = Problem, description = "The card issuer refused, or the stored card has expired; recorded as a `declined` payment, nothing taken (problem `payment-declined`, with `decline_code`, `payment_id` and `status`)"),
        (status = 404, body = Problem, description = "The payment method is unknown or not this user's (problem `not-found`; `errors` names `payment_method_id`)"),
        (status = 422, body = Problem, description = "An invalid `idempotency_key`, `amount` or `booking_reference` (problem `validation`; `errors` names each), or the key was used before with a different request (problem `idempotency-mismatch`)"),
        (status = 503, body = Problem, description = "The payment provider failed (problem `unavailable`, `decline_code: processing_error`), or a request with the same key is still running (problem `in-progress`); `Retry-After`: retry with the same key")),
    security(("service_token" = [])))]
pub(super) async fn authorize(
    State(state): State<PaymentState>,
    caller: ServiceCaller,
    Json(body): Json<AuthorizeRequest>,
) -> Result<Response, Problem> {
    let key = check_authorization(&body)?;
    let work = async {
        // A payment already made under this key (a call that crashed after recording
        // it, or an authorisation abandoned by booking-service): answer it rather than
        // charge again.
        if let Some(p) = state.store.payment_by_key(key.as_str()).await? {
            let card = state
                .store
                .method(p.payment_method_id)
                .await?
                .map(|m| card_of(&m));
            return authorisation_answer(p, card);
        }
        let method = method_of(&state, &body).await?;
        let expiry = Expiry {
            month: u32::try_from(method.exp_month).unwrap_or(1),
            year: method.exp_year,
        };
        // A card stored before it ran out: the issuer would refuse it, so do we.
        let outcome = if expiry.has_passed(Utc::now().date_naive()) {
            Authorisation::Declined(DeclineCode::ExpiredCard)
        } else {
            state
                .provider
                .authorise(&method.provider_token, &body.amount, key.as_str())
                .await
                .map_err(|e| provider_problem(e, "authorise"))?
        };
        let (status, decline_code, provider_reference) = match outcome {
            Authorisation::Approved { reference } => {
                (PaymentStatus::Authorized, None, Some(reference))
            }
            Authorisation::Declined(code) => (PaymentStatus::Declined, Some(code), None),
        };
        let new = new_payment(
            &body,
            &key,
            &method,
            status,
            decline_code,
            provider_reference,
        );
        let payment = record(&state, &new).await?;
        if payment.id == new.id {
            count(payment.status.as_str());
            tracing::info!(payment_id = %payment.id, booking_reference = %payment.booking_reference,
                caller = %caller.service, status = payment.status.as_str(),
                decline_code = payment.decline_code.map(DeclineCode::as_str), amount = %Money::new(payment.amount, &payment.currency),
                "payment authorisation answered");
        } else if let Some(orphan) = &new.provider_reference {
            // Abandoned while the provider was answering: its approval must not stay open.
            if let Err(e) = state.provider.void(orphan).await {
                tracing::error!(booking_reference = %new.booking_reference, error = %e,
                    "an approval made after its authorisation was abandoned could not be voided at the provider");
            }
        }
        authorisation_answer(payment, Some(card_of(&method)))
    };
    idempotent(&state, &key, "authorize", None, &body, work).await
}

/// Settle an authorisation whose outcome booking-service does not know (this service
/// failed or did not answer in time): answers the payment made under the key if there is
/// one; otherwise records a `voided` payment under it, so a late or retried
/// authorisation with that key can never take money. Safe to repeat.
#[utoipa::path(post, path = "/internal/v1/payments/abandon", tag = "internal", request_body = AuthorizeRequest,
    responses(
        (status = 200, body = PaymentView, description = "The payment under the key: `authorized`, `declined`, or `voided` when none was made (abandoned: no money taken); amounts in minor units"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 404, body = Problem, description = "No payment under the key, and the payment method is unknown or not this user's (problem `not-found`; `errors` names `payment_method_id`)"),
        (status = 422, body = Problem, description = "An invalid `idempotency_key`, `amount` or `booking_reference` (problem `validation`; `errors` names each)"),
        (status = 503, body = Problem, description = "The payment store failed; nothing was recorded (problem `unavailable`; `Retry-After`): retry")),
    security(("service_token" = [])))]
pub(super) async fn abandon(
    State(state): State<PaymentState>,
    caller: ServiceCaller,
    Json(body): Json<AuthorizeRequest>,
) -> Result<Response, Problem> {
    let key = check_authorization(&body)?;
    let payment = match state.store.payment_by_key(key.as_str()).await? {
        Some(p) => p,
        None => {
            let method = method_of(&state, &body).await?;
            let new = new_payment(&body, &key, &method, PaymentStatus::Voided, None, None);
            let p = record(&state, &new).await?;
            if p.id == new.id {
                count("abandoned");
                tracing::warn!(payment_id = %p.id, booking_reference = %p.booking_reference, caller = %caller.service,
                    "authorisation abandoned before it was made: recorded as voided, nothing taken");
            }
            p
        }
    };
    Ok(answer(StatusCode::OK, &payment_json(payment)))
}

fn declined(p: &Payment, code: DeclineCode) -> Problem {
    Problem::new(
        StatusCode::PAYMENT_REQUIRED,
        "payment-declined",
        code.explain(),
    )
    .with("decline_code", code)
    .with("payment_id", p.id)
    .with("status", p.status)
}

/// The answer to an authorisation as recorded: 201 authorised (with the card that
/// paid), or 402 declined.
fn authorisation_answer(
    p: Payment,
    card: Option<CardSummary>,
) -> Result<(StatusCode, serde_json::Value), Problem> {
    match (p.status, p.decline_code) {
        (PaymentStatus::Declined, code) => {
            Err(declined(&p, code.unwrap_or(DeclineCode::CardDeclined)))
        }
        _ => Ok((StatusCode::CREATED, payment_json_with_card(p, card))),
    }
}

fn card_of(m: &PaymentMethod) -> CardSummary {
    CardSummary {
        brand: m.brand,
        last4: m.last4.clone(),
    }
}

/// The fields of an authorisation, each named when wrong; its key.
fn check_authorization(body: &AuthorizeRequest) -> Result<IdempotencyKey, Problem> {
    let mut errors = Vec::new();
    let reference = body.booking_reference.trim();
    if reference.is_empty()
        || reference.chars().count() > MAX_REFERENCE_CHARS
        || reference.chars().any(char::is_control)
    {
        errors.push(FieldError {
            field: "booking_reference".to_owned(),
            message: format!("must be 1 to {MAX_REFERENCE_CHARS} printable characters"),
        });
    }
    key_and_amount(&body.idempotency_key, &body.amount, errors)
}

/// The user's payment method the authorisation names: 404 for anyone else's.
async fn method_of(
    state: &PaymentState,
    body: &AuthorizeRequest,
) -> Result<PaymentMethod, Problem> {
    let found = match body.payment_method_id.trim().parse::<Uuid>() {
        Ok(id) => state.store.method(id).await?,
        Err(_) => None,
    };
    match found {
        Some(m) if m.user_id == body.user_id => Ok(m),
        _ => Err(
            Problem::not_found("No such payment method for this user.").with(
                "errors",
                [FieldError {
                    field: "payment_method_id".to_owned(),
                    message: "is not a payment method of this user".to_owned(),
                }],
            ),
        ),
    }
}

fn new_payment(
    body: &AuthorizeRequest,
    key: &IdempotencyKey,
    method: &PaymentMethod,
    status: PaymentStatus,
    decline_code: Option<DeclineCode>,
    provider_reference: Option<String>,
) -> NewPayment {
    NewPayment {
        id: Uuid::now_v7(),
        idempotency_key: key.as_str().to_owned(),
        user_id: body.user_id,
        payment_method_id: method.id,
        booking_reference: body.booking_reference.trim().to_owned(),
        currency: body.amount.currency.clone(),
        amount: body.amount.amount,
        status,
        decline_code,
        provider_reference,
        created_at: Utc::now(),
    }
}

/// Records a payment under its key; when another call recorded one under the same key
/// first, that one stands and is answered.
async fn record(state: &PaymentState, new: &NewPayment) -> Result<Payment, Problem> {
    match state.store.insert_payment(new).await {
        Ok(p) => Ok(p),
        Err(StoreError::Conflict(_)) => state
            .store
            .payment_by_key(&new.idempotency_key)
            .await?
            .ok_or_else(payment_not_found),
        Err(e) => Err(e.into()),
    }
}
