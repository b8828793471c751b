//! `/api/v1/payment-methods`: a traveller's cards, tokenised on entry.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use ota_contract::payment::{CreateMethodRequest, PaymentMethodView, PaymentMethodsAnswer};
use ota_platform::Problem;
use ota_platform::http::Json;
use ota_platform::tokens::AuthUser;
use uuid::Uuid;

use super::{MAX_METHODS_PER_USER, PaymentState, method_view, provider_problem};
use crate::domain::Card;
use crate::store::PaymentMethod;

/// Store a card: it is tokenised by the payment provider; only the brand, last 4 digits
/// and expiry are kept.
#[utoipa::path(post, path = "/api/v1/payment-methods", tag = "payment", request_body = CreateMethodRequest,
    responses(
        (status = 201, body = PaymentMethodView, description = "The stored card: brand, last 4 digits and expiry; its `id` is the `payment_method_id` a checkout names"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 409, body = Problem, description = "The caller keeps 20 cards already (problem `conflict`)"),
        (status = 422, body = Problem, description = "Invalid card details: number, expiry (past), CVC or holder name (problem `validation`; `errors` names each field)")),
    security(("bearer" = [])))]
pub(super) async fn create_method(
    State(state): State<PaymentState>,
    user: AuthUser,
    Json(body): Json<CreateMethodRequest>,
) -> Result<impl IntoResponse, Problem> {
    let card = Card::parse(&body.card, Utc::now().date_naive()).map_err(Problem::invalid)?;
    // A soft bound (two concurrent adds may pass it together): it only keeps the list
    // short, no invariant rests on it.
    if state.store.methods_of(user.id).await?.len() >= MAX_METHODS_PER_USER {
        return Err(Problem::conflict(format!(
            "You can keep at most {MAX_METHODS_PER_USER} cards."
        )));
    }
    let token = state
        .provider
        .tokenise(&card)
        .await
        .map_err(|e| provider_problem(e, "tokenise"))?;
    let method = state
        .store
        .create_method(&PaymentMethod {
            id: Uuid::now_v7(),
            user_id: user.id,
            provider_token: token,
            brand: card.brand,
            last4: card.number.last4().to_owned(),
            exp_month: card.expiry.month as i32,
            exp_year: card.expiry.year,
            holder_name: card.holder_name.0.clone(),
            created_at: Utc::now(),
        })
        .await?;
    tracing::info!(user_id = %user.id, payment_method_id = %method.id, brand = method.brand.as_str(), last4 = %method.last4, "payment method stored");
    Ok((StatusCode::CREATED, axum::Json(method_view(method))))
}

/// The caller's payment methods, newest first.
#[utoipa::path(get, path = "/api/v1/payment-methods", tag = "payment",
    responses(
        (status = 200, body = PaymentMethodsAnswer, description = "The caller's cards, newest first (brand, last 4 digits, expiry; never the number); possibly none"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)")),
    security(("bearer" = [])))]
pub(super) async fn list_methods(
    State(state): State<PaymentState>,
    user: AuthUser,
) -> Result<axum::Json<PaymentMethodsAnswer>, Problem> {
    let methods = state.store.methods_of(user.id).await?;
    Ok(axum::Json(PaymentMethodsAnswer {
        payment_methods: methods.into_iter().map(method_view).collect(),
    }))
}
