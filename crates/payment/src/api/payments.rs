//! Reading payments: a traveller's own (`/api/v1/payments/{id}`), and any payment or a
//! booking's payments for booking-service (`/internal/v1/payments`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use ota_contract::payment::{OwnPaymentView, PaymentView, PaymentsAnswer};
use ota_platform::Problem;
use ota_platform::tokens::{AuthUser, ServiceCaller};

use super::{
    MAX_REFERENCE_CHARS, PaymentState, own_payment_view, payment_id, payment_not_found,
    payment_view,
};

/// One of the caller's payments; anyone else's is 404.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payment",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = OwnPaymentView, description = "The caller's payment: its status, and what was authorised, captured and refunded, in minor units"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = Problem, description = "The caller has no payment with this id; another traveller's answers the same (problem `not-found`)")),
    security(("bearer" = [])))]
pub(super) async fn read_own_payment(
    State(state): State<PaymentState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<OwnPaymentView>, Problem> {
    let id = payment_id(&id)?;
    match state.store.payment(id).await? {
        Some(p) if p.user_id == user.id => Ok(axum::Json(own_payment_view(p))),
        _ => Err(payment_not_found()),
    }
}

/// A payment, whoever's it is.
#[utoipa::path(get, path = "/internal/v1/payments/{id}", tag = "internal",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PaymentView, description = "The payment: its status, and what was authorised, captured and refunded, in minor units"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 404, body = Problem, description = "No payment with this id (problem `not-found`)")),
    security(("service_token" = [])))]
pub(super) async fn read_payment(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
    Path(id): Path<String>,
) -> Result<axum::Json<PaymentView>, Problem> {
    let id = payment_id(&id)?;
    let p = state
        .store
        .payment(id)
        .await?
        .ok_or_else(payment_not_found)?;
    Ok(axum::Json(payment_view(p)))
}

/// The payments of one booking, oldest first: recovery finds a payment it lost track of.
#[utoipa::path(get, path = "/internal/v1/payments", tag = "internal",
    params(("booking_reference" = String, Query)),
    responses(
        (status = 200, body = PaymentsAnswer, description = "The booking's payments, oldest first (possibly none); amounts in minor units"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 400, body = Problem, description = "`booking_reference` missing or longer than 64 characters (problem `bad-parameter`)")),
    security(("service_token" = [])))]
pub(super) async fn payments_for_booking(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<PaymentsAnswer>, Problem> {
    let reference = params
        .get("booking_reference")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && s.chars().count() <= MAX_REFERENCE_CHARS)
        .ok_or_else(|| Problem::bad_parameter("booking_reference", "is required"))?;
    let payments = state.store.payments_for_booking(reference).await?;
    Ok(axum::Json(PaymentsAnswer {
        payments: payments.into_iter().map(payment_view).collect(),
    }))
}
