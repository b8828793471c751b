//! The public payment API of API.md (payment methods, a traveller's payments) and the
//! internal API booking-service drives (authorise, capture, void, refund), as
//! docs/checkout.md fixes them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use ota_platform::http::Json;
use ota_platform::money::Money;
use ota_platform::problem::PROBLEM_JSON;
use ota_platform::tokens::{AuthUser, ServiceCaller};
use ota_platform::{FieldError, Problem, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Brand, Card, CardInput, DeclineCode, Expiry, PaymentStatus, positive_amount};
use crate::provider::{Authorisation, PaymentProvider, ProviderError};
use crate::store::{
    Claim, NewPayment, NewRefund, Payment, PaymentMethod, PaymentStore, RefundOutcome,
    RefundStatus, Transition,
};

/// How long a running request holds its idempotency key before a retry may take it
/// over (a request is abandoned after OTA_REQUEST_TIMEOUT, 15 s by default).
pub const KEY_LEASE_SECS: i64 = 30;
/// Cards one traveller may keep: enough for anyone, and it bounds the list.
pub const MAX_METHODS_PER_USER: usize = 20;
pub const MAX_KEY_CHARS: usize = 200;
pub const MAX_REFERENCE_CHARS: usize = 64;
/// Polls (100 ms apart) for a running request with the same key to finish.
const IN_PROGRESS_POLLS: usize = 30;

#[derive(Clone)]
pub struct PaymentState {
    pub store: Arc<dyn PaymentStore>,
    pub provider: Arc<dyn PaymentProvider>,
}

pub fn router(state: PaymentState) -> Router {
    Router::new()
        .route(
            "/api/v1/payment-methods",
            post(create_method).get(list_methods),
        )
        .route("/api/v1/payments/{id}", get(read_own_payment))
        .route("/internal/v1/payments/authorize", post(authorize))
        .route("/internal/v1/payments/abandon", post(abandon))
        .route("/internal/v1/payments", get(payments_for_booking))
        .route("/internal/v1/payments/{id}", get(read_payment))
        .route("/internal/v1/payments/{id}/capture", post(capture))
        .route("/internal/v1/payments/{id}/void", post(void))
        .route("/internal/v1/payments/{id}/refund", post(refund))
        .route("/internal/v1/ledger/balances", get(ledger_balances))
        .with_state(state)
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create_method, list_methods, read_own_payment, authorize, abandon, capture, void, refund, read_payment, payments_for_booking, ledger_balances),
    components(schemas(CreateMethodRequest, CardInput, Brand, PaymentMethodView, PaymentMethodsAnswer, OwnPaymentView,
        PaymentView, PaymentsAnswer, PaymentStatus, DeclineCode, AuthorizeRequest, KeyRequest, RefundRequest, LedgerBalances, AccountBalanceView, Money, Problem, FieldError)),
    tags((name = "payment", description = "Payment methods and payments"),
        (name = "internal", description = "Authorise, capture, void and refund (service tokens only)"))
)]
pub struct ApiDoc;

// ---------------------------------------------------------------------------------------
// Shapes

/// Card details in; only a provider token, the brand, last 4 and expiry are kept.
#[derive(Deserialize, Debug, ToSchema)]
pub struct CreateMethodRequest {
    pub card: CardInput,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodView {
    pub id: Uuid,
    pub brand: Brand,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
}

impl From<PaymentMethod> for PaymentMethodView {
    fn from(m: PaymentMethod) -> Self {
        Self {
            id: m.id,
            brand: m.brand,
            last4: m.last4,
            exp_month: m.exp_month,
            exp_year: m.exp_year,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PaymentMethodsAnswer {
    pub payment_methods: Vec<PaymentMethodView>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A payment as its traveller sees it.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct OwnPaymentView {
    pub id: Uuid,
    pub status: PaymentStatus,
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
    pub booking_reference: String,
    pub decline_code: Option<DeclineCode>,
    pub created_at: String,
}

impl From<Payment> for OwnPaymentView {
    fn from(p: Payment) -> Self {
        Self {
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
}

/// A payment as the internal API answers it (`Payment` of docs/checkout.md).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    pub id: Uuid,
    pub status: PaymentStatus,
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
    pub booking_reference: String,
    pub user_id: Uuid,
    pub payment_method_id: Uuid,
    pub decline_code: Option<DeclineCode>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        Self {
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
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PaymentsAnswer {
    pub payments: Vec<PaymentView>,
}

/// One ledger account's balance in one currency: debits minus credits.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct AccountBalanceView {
    pub account: String,
    pub balance: Money,
}

/// Every account's balance, and per currency the sum over all accounts: always zero
/// while the ledger is consistent.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct LedgerBalances {
    pub accounts: Vec<AccountBalanceView>,
    pub totals: Vec<Money>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct AuthorizeRequest {
    pub idempotency_key: String,
    pub user_id: Uuid,
    /// An id that is not a UUID names no method: 404 like any unknown one.
    pub payment_method_id: String,
    pub amount: Money,
    pub booking_reference: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct KeyRequest {
    pub idempotency_key: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct RefundRequest {
    pub idempotency_key: String,
    pub amount: Money,
}

// ---------------------------------------------------------------------------------------
// Helpers

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

fn validate_key(key: &str) -> Result<(), FieldError> {
    let n = key.chars().count();
    if n == 0 || n > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(FieldError {
            field: "idempotency_key".to_owned(),
            message: format!("must be 1 to {MAX_KEY_CHARS} printable characters"),
        });
    }
    Ok(())
}

/// The JSON answer the first call gave, as a response again.
fn answer(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    if status.is_client_error() || status.is_server_error() {
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    }
    res
}

/// Runs `work` once per idempotency key. The key is stored with the SHA-256 of the
/// canonical request (operation, payment and body as we parsed them, so neither field
/// order nor whitespace matters): the same request again answers the first answer with
/// its status code, a different request with the same key 422, and the same request
/// while the first still runs 503 (after a short wait). Transient failures (5xx) free the key so a retry runs
/// the request again; every state change is idempotent by itself as well, so even a
/// takeover after a crash cannot move money twice.
async fn idempotent<R, W>(
    state: &PaymentState,
    key: &str,
    operation: &str,
    payment: Option<Uuid>,
    request: &R,
    work: W,
) -> Result<Response, Problem>
where
    R: Serialize,
    W: Future<Output = Result<(StatusCode, serde_json::Value), Problem>>,
{
    let canonical = serde_json::to_vec(&(operation, payment, request)).map_err(|e| {
        tracing::error!(error = %e, "a request could not be serialised for hashing");
        Problem::internal()
    })?;
    let hash = Sha256::digest(&canonical).to_vec();
    let lease = chrono::Duration::seconds(KEY_LEASE_SECS);
    let mut claim = state.store.claim_key(key, &hash, Utc::now(), lease).await?;
    // A retry that overtook its own first attempt (a client timeout): wait a little for
    // the first to finish and answer its result, rather than refuse.
    for _ in 0..IN_PROGRESS_POLLS {
        if claim != Claim::InProgress {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        claim = state.store.claim_key(key, &hash, Utc::now(), lease).await?;
    }
    match claim {
        Claim::Replay { status, response } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(answer(status, &response))
        }
        Claim::Mismatch => Err(Problem::idempotency_mismatch("idempotency_key")),
        // 503 rather than 409: callers retry it as transient, and a 409 from capture,
        // void or refund already means the payment is in the wrong state.
        Claim::InProgress => {
            let mut p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "in-progress",
                "A request with this idempotency key is still running; retry shortly.",
            );
            p.retry_after = Some(1);
            Err(p)
        }
        Claim::Started => {
            let (status, body) = match work.await {
                Ok(done) => done,
                Err(p) if p.status >= 500 => {
                    if let Err(e) = state.store.release_key(key).await {
                        tracing::error!(error = %e, "an idempotency key could not be released");
                    }
                    return Err(p);
                }
                Err(p) => (
                    p.status_code(),
                    serde_json::to_value(&p).unwrap_or_default(),
                ),
            };
            // The work is done: if its answer cannot be recorded, still give it. A retry
            // within the lease sees 503; after it, the work runs again and finds its
            // effect already there.
            if let Err(e) = state.store.complete_key(key, status.as_u16(), &body).await {
                tracing::error!(error = %e, "the answer to an idempotent request could not be recorded");
            }
            Ok(answer(status, &body))
        }
    }
}

fn payment_json(p: Payment) -> serde_json::Value {
    serde_json::to_value(PaymentView::from(p)).unwrap_or_default()
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

/// The answer to an authorisation as recorded: 201 authorised, or 402 declined.
fn authorisation_answer(p: Payment) -> Result<(StatusCode, serde_json::Value), Problem> {
    match (p.status, p.decline_code) {
        (PaymentStatus::Declined, code) => {
            Err(declined(&p, code.unwrap_or(DeclineCode::CardDeclined)))
        }
        _ => Ok((StatusCode::CREATED, payment_json(p))),
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

fn state_conflict(p: &Payment, detail: &str) -> Problem {
    Problem::conflict(detail).with("status", p.status)
}

// ---------------------------------------------------------------------------------------
// Public API

/// Store a card: it is tokenised by the payment provider; only the brand, last 4 digits
/// and expiry are kept.
#[utoipa::path(post, path = "/api/v1/payment-methods", tag = "payment", request_body = CreateMethodRequest,
    responses((status = 201, body = PaymentMethodView), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_method(
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
    Ok((
        StatusCode::CREATED,
        axum::Json(PaymentMethodView::from(method)),
    ))
}

/// The caller's payment methods, newest first.
#[utoipa::path(get, path = "/api/v1/payment-methods", tag = "payment",
    responses((status = 200, body = PaymentMethodsAnswer), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn list_methods(
    State(state): State<PaymentState>,
    user: AuthUser,
) -> Result<axum::Json<PaymentMethodsAnswer>, Problem> {
    let methods = state.store.methods_of(user.id).await?;
    Ok(axum::Json(PaymentMethodsAnswer {
        payment_methods: methods.into_iter().map(Into::into).collect(),
    }))
}

/// One of the caller's payments; anyone else's is 404.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payment",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OwnPaymentView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn read_own_payment(
    State(state): State<PaymentState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<OwnPaymentView>, Problem> {
    let id = payment_id(&id)?;
    match state.store.payment(id).await? {
        Some(p) if p.user_id == user.id => Ok(axum::Json(p.into())),
        _ => Err(payment_not_found()),
    }
}

// ---------------------------------------------------------------------------------------
// Internal API

/// Authorise an amount on a user's payment method. A refusal by the card issuer is
/// recorded as a `declined` payment and answered 402 with its `decline_code`.
#[utoipa::path(post, path = "/internal/v1/payments/authorize", tag = "internal", request_body = AuthorizeRequest,
    responses((status = 201, body = PaymentView), (status = 402, body = Problem, description = "declined: `decline_code`, `payment_id`"),
        (status = 404, body = Problem, description = "unknown payment method, or another user's"),
        (status = 422, body = Problem, description = "invalid, or the idempotency key was used with another request"),
        (status = 503, body = Problem, description = "the provider failed (`processing_error`), or the same key is still running: retry")),
    security(("service_token" = [])))]
async fn authorize(
    State(state): State<PaymentState>,
    caller: ServiceCaller,
    Json(body): Json<AuthorizeRequest>,
) -> Result<Response, Problem> {
    check_authorization(&body)?;
    let key = body.idempotency_key.clone();
    let work = async {
        // A payment already made under this key (a call that crashed after recording
        // it, or an authorisation abandoned by booking-service): answer it rather than
        // charge again.
        if let Some(p) = state.store.payment_by_key(&key).await? {
            return authorisation_answer(p);
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
                .authorise(&method.provider_token, &body.amount, &key)
                .await
                .map_err(|e| provider_problem(e, "authorise"))?
        };
        let (status, decline_code, provider_reference) = match outcome {
            Authorisation::Approved { reference } => {
                (PaymentStatus::Authorized, None, Some(reference))
            }
            Authorisation::Declined(code) => (PaymentStatus::Declined, Some(code), None),
        };
        let new = new_payment(&body, &method, status, decline_code, provider_reference);
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
        authorisation_answer(payment)
    };
    idempotent(&state, &key, "authorize", None, &body, work).await
}

/// Settle an authorisation whose outcome booking-service does not know (this service
/// failed or did not answer in time): answers the payment made under the key if there is
/// one; otherwise records a `voided` payment under it, so a late or retried
/// authorisation with that key can never take money. Safe to repeat.
#[utoipa::path(post, path = "/internal/v1/payments/abandon", tag = "internal", request_body = AuthorizeRequest,
    responses((status = 200, body = PaymentView, description = "the payment under the key: `authorized`, `declined`, or `voided` (abandoned: no money taken)"),
        (status = 404, body = Problem, description = "unknown payment method, or another user's"),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("service_token" = [])))]
async fn abandon(
    State(state): State<PaymentState>,
    caller: ServiceCaller,
    Json(body): Json<AuthorizeRequest>,
) -> Result<Response, Problem> {
    check_authorization(&body)?;
    let payment = match state.store.payment_by_key(&body.idempotency_key).await? {
        Some(p) => p,
        None => {
            let method = method_of(&state, &body).await?;
            let new = new_payment(&body, &method, PaymentStatus::Voided, None, None);
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

/// The fields of an authorisation, each named when wrong.
fn check_authorization(body: &AuthorizeRequest) -> Result<(), Problem> {
    let mut errors = Vec::new();
    errors.extend(validate_key(&body.idempotency_key).err());
    errors.extend(
        positive_amount(&body.amount, "amount")
            .err()
            .unwrap_or_default(),
    );
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
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid(errors))
    }
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
    method: &PaymentMethod,
    status: PaymentStatus,
    decline_code: Option<DeclineCode>,
    provider_reference: Option<String>,
) -> NewPayment {
    NewPayment {
        id: Uuid::now_v7(),
        idempotency_key: body.idempotency_key.clone(),
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

/// Capture the whole authorised amount. Capturing twice is a no-op; a voided or declined
/// payment cannot be captured (409).
#[utoipa::path(post, path = "/internal/v1/payments/{id}/capture", tag = "internal", request_body = KeyRequest,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("service_token" = [])))]
async fn capture(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
    Path(id): Path<String>,
    Json(body): Json<KeyRequest>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    validate_key(&body.idempotency_key).map_err(|e| Problem::invalid(vec![e]))?;
    let work = async {
        let p = state
            .store
            .payment(id)
            .await?
            .ok_or_else(payment_not_found)?;
        let p = if p.status == PaymentStatus::Authorized {
            let reference = provider_reference(&p)?;
            state
                .provider
                .capture(reference, &Money::new(p.amount, &p.currency))
                .await
                .map_err(|e| provider_problem(e, "capture"))?;
            match state.store.capture(id, Utc::now()).await? {
                Transition::Changed(p) => {
                    count("captured");
                    tracing::info!(payment_id = %p.id, booking_reference = %p.booking_reference, amount = %Money::new(p.captured, &p.currency), "payment captured");
                    p
                }
                Transition::Unchanged(p) => p,
            }
        } else {
            p
        };
        match p.status {
            s if s.is_captured() => Ok((StatusCode::OK, payment_json(p))),
            PaymentStatus::Voided => Err(state_conflict(
                &p,
                "The payment was voided; it cannot be captured.",
            )),
            _ => Err(state_conflict(
                &p,
                "The payment was declined; there is nothing to capture.",
            )),
        }
    };
    idempotent(
        &state,
        &body.idempotency_key,
        "capture",
        Some(id),
        &body,
        work,
    )
    .await
}

/// Release an authorisation that will not be captured. Voiding twice is a no-op; a
/// captured payment cannot be voided (409: refund it instead).
#[utoipa::path(post, path = "/internal/v1/payments/{id}/void", tag = "internal", request_body = KeyRequest,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("service_token" = [])))]
async fn void(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
    Path(id): Path<String>,
    Json(body): Json<KeyRequest>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    validate_key(&body.idempotency_key).map_err(|e| Problem::invalid(vec![e]))?;
    let work = async {
        let p = state
            .store
            .payment(id)
            .await?
            .ok_or_else(payment_not_found)?;
        let p = if p.status == PaymentStatus::Authorized {
            let reference = provider_reference(&p)?;
            state
                .provider
                .void(reference)
                .await
                .map_err(|e| provider_problem(e, "void"))?;
            match state.store.void(id, Utc::now()).await? {
                Transition::Changed(p) => {
                    count("voided");
                    tracing::info!(payment_id = %p.id, booking_reference = %p.booking_reference, "payment voided");
                    p
                }
                Transition::Unchanged(p) => p,
            }
        } else {
            p
        };
        match p.status {
            PaymentStatus::Voided => Ok((StatusCode::OK, payment_json(p))),
            s if s.is_captured() => Err(state_conflict(
                &p,
                "The payment was captured; refund it instead of voiding it.",
            )),
            _ => Err(state_conflict(
                &p,
                "The payment was declined; there is nothing to void.",
            )),
        }
    };
    idempotent(&state, &body.idempotency_key, "void", Some(id), &body, work).await
}

/// Give captured money back, in part or whole. Refunds together never exceed what was
/// captured (409).
#[utoipa::path(post, path = "/internal/v1/payments/{id}/refund", tag = "internal", request_body = RefundRequest,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not captured, or more than captured minus refunded"),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("service_token" = [])))]
async fn refund(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
    Path(id): Path<String>,
    Json(body): Json<RefundRequest>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    let mut errors = Vec::new();
    errors.extend(validate_key(&body.idempotency_key).err());
    errors.extend(
        positive_amount(&body.amount, "amount")
            .err()
            .unwrap_or_default(),
    );
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
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
            idempotency_key: body.idempotency_key.clone(),
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
            RefundOutcome::Refused(p) if !p.status.is_captured() => {
                return Err(state_conflict(
                    &p,
                    "The payment has not been captured; there is nothing to refund.",
                ));
            }
            RefundOutcome::Refused(p) => {
                let left = Money::new(p.captured - p.refunded, &p.currency);
                return Err(state_conflict(
                    &p,
                    &format!("The refund exceeds what is left to refund ({left})."),
                )
                .with("refundable", left));
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
    idempotent(
        &state,
        &body.idempotency_key,
        "refund",
        Some(id),
        &body,
        work,
    )
    .await
}

/// A payment, whoever's it is.
#[utoipa::path(get, path = "/internal/v1/payments/{id}", tag = "internal",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentView), (status = 404, body = Problem)),
    security(("service_token" = [])))]
async fn read_payment(
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
    Ok(axum::Json(p.into()))
}

/// The payments of one booking, oldest first: recovery finds a payment it lost track of.
#[utoipa::path(get, path = "/internal/v1/payments", tag = "internal",
    params(("booking_reference" = String, Query)),
    responses((status = 200, body = PaymentsAnswer), (status = 400, body = Problem)),
    security(("service_token" = [])))]
async fn payments_for_booking(
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
        payments: payments.into_iter().map(Into::into).collect(),
    }))
}

/// The ledger's balances, per account and in total (operators and reconciliation).
#[utoipa::path(get, path = "/internal/v1/ledger/balances", tag = "internal",
    responses((status = 200, body = LedgerBalances)),
    security(("service_token" = [])))]
async fn ledger_balances(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
) -> Result<axum::Json<LedgerBalances>, Problem> {
    let balances = state.store.balances().await?;
    let mut totals: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for b in &balances {
        *totals.entry(b.currency.clone()).or_default() += b.balance;
    }
    if totals.values().any(|t| *t != 0) {
        tracing::error!(?totals, "the ledger does not balance");
    }
    Ok(axum::Json(LedgerBalances {
        accounts: balances
            .into_iter()
            .map(|b| AccountBalanceView {
                balance: Money::new(b.balance, &b.currency),
                account: b.account,
            })
            .collect(),
        totals: totals
            .into_iter()
            .map(|(currency, amount)| Money::new(amount, &currency))
            .collect(),
    }))
}
