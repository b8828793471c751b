//! payment-service storage on either engine: payment methods (tokens only), payments and
//! their state transitions, refunds and the double-entry ledger (the internal API's
//! idempotency keys are `ota_platform::idempotency`'s, in this service's database).
//!
//! Every transition is a conditional update inside a write transaction, so the database
//! decides races: of two concurrent captures one moves the money and the other sees it
//! moved; refunds can never sum past what was captured.

mod sql;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ota_platform::StoreError;
use uuid::Uuid;

pub use sql::SqlPaymentStore;

use crate::domain::{Brand, DeclineCode, PaymentStatus};

/// Ledger accounts. Capture moves money from the customer's card to our revenue.
pub const CUSTOMER_CARD: &str = "customer_card";
pub const MERCHANT_REVENUE: &str = "merchant_revenue";

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("unexpected {what} in the payment database").into())
}

// ---------------------------------------------------------------------------------------
// Payment methods

/// A stored card: the provider's token and what may be shown, never the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider_token: String,
    pub brand: Brand,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    pub holder_name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MethodRow {
    id: Uuid,
    user_id: Uuid,
    provider_token: String,
    brand: String,
    last4: String,
    exp_month: i32,
    exp_year: i32,
    holder_name: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<MethodRow> for PaymentMethod {
    type Error = StoreError;

    fn try_from(r: MethodRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            user_id: r.user_id,
            provider_token: r.provider_token,
            brand: Brand::parse(&r.brand).ok_or_else(|| corrupt("card brand"))?,
            last4: r.last4,
            exp_month: r.exp_month,
            exp_year: r.exp_year,
            holder_name: r.holder_name,
            created_at: r.created_at,
        })
    }
}

const METHOD_COLUMNS: &str =
    "id, user_id, provider_token, brand, last4, exp_month, exp_year, holder_name, created_at";

// ---------------------------------------------------------------------------------------
// Payments

/// A payment: amounts in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: Uuid,
    /// The idempotency key of the authorisation that created it.
    pub idempotency_key: String,
    pub user_id: Uuid,
    pub payment_method_id: Uuid,
    pub booking_reference: String,
    pub status: PaymentStatus,
    pub currency: String,
    pub amount: i64,
    pub captured: i64,
    pub refunded: i64,
    pub decline_code: Option<DeclineCode>,
    /// The provider's authorisation; None for a declined payment.
    pub provider_reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: Uuid,
    idempotency_key: String,
    user_id: Uuid,
    payment_method_id: Uuid,
    booking_reference: String,
    status: String,
    currency: String,
    amount: i64,
    captured: i64,
    refunded: i64,
    decline_code: Option<String>,
    provider_reference: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;

    fn try_from(r: PaymentRow) -> Result<Self, StoreError> {
        let decline_code = match r.decline_code {
            Some(c) => Some(DeclineCode::parse(&c).ok_or_else(|| corrupt("decline code"))?),
            None => None,
        };
        Ok(Self {
            id: r.id,
            idempotency_key: r.idempotency_key,
            user_id: r.user_id,
            payment_method_id: r.payment_method_id,
            booking_reference: r.booking_reference,
            status: PaymentStatus::parse(&r.status).ok_or_else(|| corrupt("payment status"))?,
            currency: r.currency,
            amount: r.amount,
            captured: r.captured,
            refunded: r.refunded,
            decline_code,
            provider_reference: r.provider_reference,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const PAYMENT_COLUMNS: &str = "id, idempotency_key, user_id, payment_method_id, booking_reference, status, currency, amount, captured, refunded, decline_code, provider_reference, created_at, updated_at";

/// A payment as the provider's answer to its authorisation leaves it.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: Uuid,
    pub idempotency_key: String,
    pub user_id: Uuid,
    pub payment_method_id: Uuid,
    pub booking_reference: String,
    pub currency: String,
    pub amount: i64,
    /// `Authorized` with a provider reference, or `Declined` with a decline code.
    pub status: PaymentStatus,
    pub decline_code: Option<DeclineCode>,
    pub provider_reference: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a capture or void did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// This call moved the payment to the new state.
    Changed(Payment),
    /// The payment was not in the state the transition starts from: here it is as it is.
    Unchanged(Payment),
}

// ---------------------------------------------------------------------------------------
// Refunds

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// Recorded (and counted in the payment's `refunded`) but not yet confirmed by the
    /// provider.
    Pending,
    Succeeded,
    Failed,
}

impl RefundStatus {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(RefundStatus::Pending),
            "succeeded" => Some(RefundStatus::Succeeded),
            "failed" => Some(RefundStatus::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub idempotency_key: String,
    pub amount: i64,
    pub currency: String,
    pub status: RefundStatus,
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    id: Uuid,
    payment_id: Uuid,
    idempotency_key: String,
    amount: i64,
    currency: String,
    status: String,
}

impl TryFrom<RefundRow> for Refund {
    type Error = StoreError;

    fn try_from(r: RefundRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            payment_id: r.payment_id,
            idempotency_key: r.idempotency_key,
            amount: r.amount,
            currency: r.currency,
            status: RefundStatus::parse(&r.status).ok_or_else(|| corrupt("refund status"))?,
        })
    }
}

const REFUND_COLUMNS: &str = "id, payment_id, idempotency_key, amount, currency, status";

#[derive(Debug, Clone)]
pub struct NewRefund {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub idempotency_key: String,
    pub amount: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

/// What asking for a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Recorded as pending, ledger written: confirm or fail it once the provider answered.
    Recorded { payment: Payment, refund: Refund },
    /// A refund with this idempotency key already exists (pending or succeeded).
    Existing { payment: Payment, refund: Refund },
    /// Not captured, another currency, or more than captured minus refunded: nothing
    /// changed. The payment as it is tells which.
    Refused(Payment),
}

// ---------------------------------------------------------------------------------------
// Ledger

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub account: String,
    /// `debit` or `credit`.
    pub direction: String,
    pub amount: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

impl LedgerEntry {
    /// Debits count positive, credits negative.
    pub fn signed(&self) -> i64 {
        if self.direction == "debit" {
            self.amount
        } else {
            -self.amount
        }
    }
}

/// One account's balance in one currency: debits minus credits.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountBalance {
    pub account: String,
    pub currency: String,
    pub balance: i64,
}

// ---------------------------------------------------------------------------------------

#[async_trait]
pub trait PaymentStore: Send + Sync + 'static {
    async fn create_method(&self, method: &PaymentMethod) -> Result<PaymentMethod, StoreError>;
    /// A user's methods, newest first.
    async fn methods_of(&self, user_id: Uuid) -> Result<Vec<PaymentMethod>, StoreError>;
    async fn method(&self, id: Uuid) -> Result<Option<PaymentMethod>, StoreError>;

    /// `Conflict` when a payment with this idempotency key exists.
    async fn insert_payment(&self, payment: &NewPayment) -> Result<Payment, StoreError>;
    async fn payment(&self, id: Uuid) -> Result<Option<Payment>, StoreError>;
    async fn payment_by_key(&self, key: &str) -> Result<Option<Payment>, StoreError>;
    /// Oldest first.
    async fn payments_for_booking(&self, reference: &str) -> Result<Vec<Payment>, StoreError>;

    /// authorized → captured (the whole amount), writing the ledger. `NotFound` when
    /// there is no such payment.
    async fn capture(&self, id: Uuid, now: DateTime<Utc>) -> Result<Transition, StoreError>;
    /// authorized → voided.
    async fn void(&self, id: Uuid, now: DateTime<Utc>) -> Result<Transition, StoreError>;
    /// Records a refund (pending) if it fits in captured minus refunded, writing the
    /// ledger. `NotFound` when there is no such payment.
    async fn refund(&self, refund: &NewRefund) -> Result<RefundOutcome, StoreError>;
    /// The provider confirmed a pending refund.
    async fn confirm_refund(&self, refund_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The provider refused a pending refund: its amount is given back to the payment and
    /// the ledger reversed; its idempotency key may be used again.
    async fn fail_refund(&self, refund_id: Uuid, now: DateTime<Utc>)
    -> Result<Payment, StoreError>;

    /// A payment's ledger entries, oldest first.
    async fn ledger(&self, payment_id: Uuid) -> Result<Vec<LedgerEntry>, StoreError>;
    /// Every account's balance per currency.
    async fn balances(&self) -> Result<Vec<AccountBalance>, StoreError>;
}
