//! The public payment API of API.md (payment methods, a traveller's payments) and the
//! internal API booking-service drives (authorise, capture, void, refund), as
//! docs/checkout.md fixes them. One file per resource; the request and response types
//! are `ota_contract::payment`'s, and one route list gives both the router and the
//! OpenAPI document.

mod authorizations;
mod balances;
mod keys;
mod methods;
mod payments;
mod transitions;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ota_contract::money::Money;
use ota_contract::payment::{
    AccountBalanceView, AuthorizeRequest, Brand, CardInput, CreateMethodRequest, DeclineCode,
    KeyRequest, LedgerBalances, OwnPaymentView, PaymentMethodView, PaymentMethodsAnswer,
    PaymentStatus, PaymentView, PaymentsAnswer, RefundRequest,
};
use ota_platform::idempotency::IdempotencyStore;
use ota_platform::problem::PROBLEM_JSON;
use ota_platform::{FieldError, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::provider::{PaymentProvider, ProviderError};
use crate::store::{Payment, PaymentMethod, PaymentStore};

/// Cards one traveller may keep: enough for anyone, and it bounds the list.
pub const MAX_METHODS_PER_USER: usize = 20;
pub const MAX_REFERENCE_CHARS: usize = 64;

#[derive(Clone)]
pub struct PaymentState {
    pub store: Arc<dyn PaymentStore>,
    pub provider: Arc<dyn PaymentProvider>,
    /// The internal API's idempotency keys (service-wide scope).
    pub keys: IdempotencyStore,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(CreateMethodRequest, CardInput, Brand, PaymentMethodView, PaymentMethodsAnswer, OwnPaymentView,
        PaymentView, PaymentsAnswer, PaymentStatus, DeclineCode, AuthorizeRequest, KeyRequest, RefundRequest, LedgerBalances,
        AccountBalanceView, Money, Problem, FieldError)),
    tags((name = "payment", description = "Payment methods and payments"),
        (name = "internal", description = "Authorise, capture, void and refund (service tokens only)"))
)]
struct ApiDoc;

/// Every route of payment-service, and the OpenAPI document of exactly those routes.
pub fn routes(state: PaymentState) -> (Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(methods::create_method, methods::list_methods))
        .routes(routes!(payments::read_own_payment))
        .routes(routes!(authorizations::authorize))
        .routes(routes!(authorizations::abandon))
        .routes(routes!(payments::payments_for_booking))
        .routes(routes!(payments::read_payment))
        .routes(routes!(transitions::capture))
        .routes(routes!(transitions::void))
        .routes(routes!(transitions::refund))
        .routes(routes!(balances::ledger_balances))
        .with_state(state)
        .split_for_parts()
}

// ---------------------------------------------------------------------------------------
// Shared by the resources

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn method_view(m: PaymentMethod) -> PaymentMethodView {
    PaymentMethodView {
        id: m.id,
        brand: m.brand,
        last4: m.last4,
        exp_month: m.exp_month,
        exp_year: m.exp_year,
    }
}

fn own_payment_view(p: Payment) -> OwnPaymentView {
    OwnPaymentView {
        id: p.id,
        status: p.status,
        amount: Money::new(p.amount, &p.currency),
        captured: Money::new(p.captured, &p.currency),
        refunded: Money::new(p.refunded, &p.currency),
        booking_reference: p.booking_reference,
        decline_code: p.decline_code,
        created_at: rfc3339(p.created_at),
    }
}

fn payment_view(p: Payment) -> PaymentView {
    PaymentView {
        id: p.id,
        status: p.status,
        amount: Money::new(p.amount, &p.currency),
        captured: Money::new(p.captured, &p.currency),
        refunded: Money::new(p.refunded, &p.currency),
        booking_reference: p.booking_reference,
        user_id: p.user_id,
        payment_method_id: p.payment_method_id,
        decline_code: p.decline_code,
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
        card: None,
    }
}

fn payment_json(p: Payment) -> serde_json::Value {
    serde_json::to_value(payment_view(p)).unwrap_or_default()
}

/// [`payment_json`] with the card that paid.
fn payment_json_with_card(
    p: Payment,
    card: Option<ota_contract::payment::CardSummary>,
) -> serde_json::Value {
    let mut view = payment_view(p);
    view.card = card;
    serde_json::to_value(view).unwrap_or_default()
}

/// Counts one outcome of `payments_total`.
fn count(outcome: &'static str) {
    metrics::counter!("payments_total", "outcome" => outcome).increment(1);
}

fn payment_not_found() -> Problem {
    Problem::not_found("No such payment.")
}

/// Path ids that are not UUIDs name nothing we have: 404 rather than a parse error.
fn payment_id(raw: &str) -> Result<Uuid, Problem> {
    raw.parse().map_err(|_| payment_not_found())
}

fn provider_problem(e: ProviderError, during: &str) -> Problem {
    match e {
        ProviderError::Processing => {
            count("failed");
            tracing::warn!(during, "the payment provider could not process a request");
            Problem::unavailable(
                "The payment provider could not process the request; retry shortly.",
            )
            .with("decline_code", "processing_error")
        }
        ProviderError::UnknownToken => {
            tracing::error!(during, "the payment provider does not know a stored token");
            Problem::internal()
        }
        ProviderError::Store(e) => e.into(),
    }
}

/// The provider's authorisation of a payment that was approved: every such payment has
/// one, so its absence is a fault of ours.
fn provider_reference(p: &Payment) -> Result<&str, Problem> {
    p.provider_reference.as_deref().ok_or_else(|| {
        tracing::error!(payment_id = %p.id, "an approved payment has no provider reference");
        Problem::internal()
    })
}

/// The JSON answer as a response; errors as problem+json.
fn answer(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    if status.is_client_error() || status.is_server_error() {
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    }
    res
}
