//! `/internal/v1/payments/{id}/capture`, `/void` and `/refund`: each carries out what
//! `domain::lifecycle` decides for the payment's state, once per idempotency key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ota_contract::money::Money;
use ota_contract::payment::{KeyRequest, PaymentView, RefundRequest};
use ota_platform::http::Json;
use ota_platform::tokens::ServiceCaller;
use ota_platform::{Problem, StoreError};
use uuid::Uuid;

use super::keys::{idempotent, key_and_amount, parse_key};
use super::{
    PaymentState, count, payment_id, payment_json, payment_not_found, provider_problem,
    provider_reference,
};
use crate::domain::lifecycle::{Refusal, Step, Transition, refund_refusal};
use crate::store::{self, NewRefund, Payment, RefundOutcome, RefundStatus};

/// Capture the whole authorised amount. Capturing twice is a no-op; a voided or declined
/// payment cannot be captured (409).
#[utoipa::path(post, path = "/internal/v1/payments/{id}/capture", tag = "internal", request_body = KeyRequest,
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PaymentView, description = "The payment, `captured`: the whole authorised amount taken (minor units); also the answer when it was captured already"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 404, body = Problem, description = "No payment with this id (problem `not-found`)"),
        (status = 409, body = Problem, description = "The payment was voided or declined; nothing can be captured (problem `conflict`, with the payment's `status`)"),
        (status = 422, body = Problem, description = "An invalid `idempotency_key` (problem `validation`), or the key was used before with a different request (problem `idempotency-mismatch`)"),
        (status = 503, body = Problem, description = "The payment provider failed (problem `unavailable`, `decline_code: processing_error`), or a request with the same key is still running (problem `in-progress`); `Retry-After`: retry with the same key")),
    security(("service_token" = [])))]
pub(super) async fn capture(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
    Path(id): Path<String>,
    Json(body): Json<KeyRequest>,
) -> Result<Response, Problem> {
    transition(&state, &id, &body, Transition::Capture).await
}

/// Release an authorisation that will not be captured. Voiding twice is a no-op; a
/// captured payment cannot be voided (409: refund it instead).
#[utoipa::path(post, path = "/internal/v1/payments/{id}/void", tag = "internal", request_body = KeyRequest,
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PaymentView, description = "The payment, `voided`: the authorisation released, nothing taken; also the answer when it was voided already"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 404, body = Problem, description = "No payment with this id (problem `not-found`)"),
        (status = 409, body = Problem, description = "The payment was captured (refund it instead) or declined (problem `conflict`, with the payment's `status`)"),
        (status = 422, body = Problem, description = "An invalid `idempotency_key` (problem `validation`), or the key was used before with a different request (problem `idempotency-mismatch`)"),
        (status = 503, body = Problem, description = "The payment provider failed (problem `unavailable`, `decline_code: processing_error`), or a request with the same key is still running (problem `in-progress`); `Retry-After`: retry with the same key")),
    security(("service_token" = [])))]
pub(super) async fn void(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
    Path(id): Path<String>,
    Json(body): Json<KeyRequest>,
) -> Result<Response, Problem> {
    transition(&state, &id, &body, Transition::Void).await
}

/// 409 with the payment's status: the lifecycle refused the change.
fn refused(p: &Payment, refusal: &Refusal, verb: &str) -> Problem {
    let problem = Problem::conflict(refusal.detail(verb)).with("status", p.status);
    match refusal {
        Refusal::ExceedsRefundable { refundable } => problem.with("refundable", refundable),
        _ => problem,
    }
}

/// Capture or void: the provider first, then the store's conditional update, whose
/// answer (this call moved it, or someone had) settles the outcome.
async fn transition(
    state: &PaymentState,
    id: &str,
    body: &KeyRequest,
    t: Transition,
) -> Result<Response, Problem> {
    let id = payment_id(id)?;
    let key = parse_key(&body.idempotency_key).map_err(|e| Problem::invalid(vec![e]))?;
    let work = async {
        let p = state
            .store
            .payment(id)
            .await?
            .ok_or_else(payment_not_found)?;
        let p = match t.step(p.status) {
            Step::Move => {
                let reference = provider_reference(&p)?;
                let done = match t {
                    Transition::Capture => {
                        let amount = Money::new(p.amount, &p.currency);
                        state.provider.capture(reference, &amount).await
                    }
                    Transition::Void => state.provider.void(reference).await,
                };
                done.map_err(|e| provider_problem(e, t.as_str()))?;
                let recorded = match t {
                    Transition::Capture => state.store.capture(id, Utc::now()).await?,
                    Transition::Void => state.store.void(id, Utc::now()).await?,
                };
                match recorded {
                    store::Transition::Changed(p) => {
                        count(if t == Transition::Capture {
                            "captured"
                        } else {
                            "voided"
                        });
                        tracing::info!(payment_id = %p.id, booking_reference = %p.booking_reference,
                            status = p.status.as_str(), captured = %Money::new(p.captured, &p.currency), "payment {}", p.status);
                        p
                    }
                    store::Transition::Unchanged(p) => p,
                }
            }
            Step::Done | Step::Refused(_) => p,
        };
        match t.outcome(p.status) {
            Ok(()) => Ok((StatusCode::OK, payment_json(p))),
            Err(Some(refusal)) => Err(refused(&p, &refusal, t.as_str())),
            Err(None) => {
                tracing::error!(payment_id = %p.id, "a recorded transition left the payment authorised");
                Err(Problem::internal())
            }
        }
    };
    idempotent(state, &key, t.as_str(), Some(id), body, work).await
}

/// Give captured money back, in part or whole. Refunds together never exceed what was
/// captured (409). `amount` is in minor units of the payment's currency.
#[utoipa::path(post, path = "/internal/v1/payments/{id}/refund", tag = "internal", request_body = RefundRequest,
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PaymentView, description = "The payment with the refund counted in `refunded` (minor units): `partially_refunded` or `refunded`; a repeat with the same key answers the same"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 404, body = Problem, description = "No payment with this id (problem `not-found`)"),
        (status = 409, body = Problem, description = "The payment was never captured, or the amount exceeds what is left to refund (problem `conflict`, with the payment's `status` and `refundable`)"),
        (status = 422, body = Problem, description = "An invalid `idempotency_key` or `amount`, or `amount` not in the payment's currency (problem `validation`; `errors` names each), or the key was used before with a different request (problem `idempotency-mismatch`)"),
        (status = 503, body = Problem, description = "The payment provider failed (problem `unavailable`, `decline_code: processing_error`), or a request with the same key is still running (problem `in-progress`); `Retry-After`: retry with the same key")),
    security(("service_token" = [])))]
pub(super) async fn refund(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
    Path(id): Path<String>,
    Json(body): Json<RefundRequest>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    let key = key_and_amount(&body.idempotency_key, &body.amount, Vec::new())?;
    let work = async {
        let p = state
            .store
            .payment(id)
            .await?
            .ok_or_else(payment_not_found)?;
        if p.currency != body.amount.currency {
            return Err(Problem::field(
                "amount.currency",
                format!("must be the payment's currency, {}", p.currency),
            ));
        }
        let new = NewRefund {
            id: Uuid::now_v7(),
            payment_id: id,
            idempotency_key: key.as_str().to_owned(),
            amount: body.amount.amount,
            currency: body.amount.currency.clone(),
            created_at: Utc::now(),
        };
        let outcome = match state.store.refund(&new).await {
            // A concurrent call with the same key recorded its refund first.
            Err(StoreError::Conflict(_)) => state.store.refund(&new).await?,
            other => other?,
        };
        let (payment, refund) = match outcome {
            RefundOutcome::Recorded { payment, refund }
            | RefundOutcome::Existing { payment, refund } => (payment, refund),
            RefundOutcome::Refused(p) => {
                let refusal =
                    refund_refusal(p.status, p.captured, p.refunded, &p.currency, new.amount)
                        .unwrap_or(Refusal::ExceedsRefundable {
                            refundable: Money::new(p.captured - p.refunded, &p.currency),
                        });
                return Err(refused(&p, &refusal, "refund"));
            }
        };
        if refund.status == RefundStatus::Pending {
            let reference = provider_reference(&payment)?;
            let amount = Money::new(refund.amount, &refund.currency);
            if let Err(e) = state
                .provider
                .refund(reference, &amount, &refund.id.to_string())
                .await
            {
                let problem = provider_problem(e, "refund");
                state.store.fail_refund(refund.id, Utc::now()).await?;
                return Err(problem);
            }
            state.store.confirm_refund(refund.id, Utc::now()).await?;
            count("refunded");
            tracing::info!(payment_id = %payment.id, booking_reference = %payment.booking_reference, refund_id = %refund.id, amount = %amount, "payment refunded");
        }
        Ok((StatusCode::OK, payment_json(payment)))
    };
    idempotent(&state, &key, "refund", Some(id), &body, work).await
}
