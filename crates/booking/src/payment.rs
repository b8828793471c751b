//! payment-service as booking-service sees it: authorise, capture, void and refund, each
//! keyed by the booking so a retried step never moves money twice.

use async_trait::async_trait;
use axum::http::Method;
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub status: String,
    pub amount: Money,
    #[serde(default)]
    pub captured: Option<Money>,
    #[serde(default)]
    pub refunded: Option<Money>,
    #[serde(default)]
    pub booking_reference: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Authorization {
    pub idempotency_key: String,
    pub user_id: Uuid,
    pub payment_method_id: String,
    pub amount: Money,
    pub booking_reference: String,
}

#[async_trait]
pub trait Payments: Send + Sync + 'static {
    /// 402 (declined, `decline_code` in the body), 404 unknown method, 503 provider error.
    async fn authorize(&self, a: &Authorization) -> Result<Payment, PeerError>;
    async fn capture(&self, payment_id: &str, key: &str) -> Result<Payment, PeerError>;
    async fn void(&self, payment_id: &str, key: &str) -> Result<Payment, PeerError>;
    async fn refund(
        &self,
        payment_id: &str,
        key: &str,
        amount: &Money,
    ) -> Result<Payment, PeerError>;
    async fn payment(&self, payment_id: &str) -> Result<Payment, PeerError>;
    /// Every payment made for a booking reference (recovery finds lost ones this way).
    async fn for_booking(&self, reference: &str) -> Result<Vec<Payment>, PeerError>;
    /// Settles an authorisation whose outcome is unknown (payment-service failed or did
    /// not answer): the payment made under its key if there is one, otherwise a `voided`
    /// record under that key, so the authorisation can never happen later.
    async fn abandon(&self, a: &Authorization) -> Result<Payment, PeerError>;
}

pub struct PaymentClient {
    client: PeerClient,
}

impl PaymentClient {
    pub fn new(client: PeerClient) -> Self {
        Self { client }
    }

    async fn post(&self, path: String, body: Value) -> Result<Payment, PeerError> {
        // Every call carries an idempotency key, so retrying it is safe.
        self.client
            .call(Method::POST, &path, Some(&body), None, true)
            .await
    }
}

#[derive(Deserialize)]
struct PaymentList {
    payments: Vec<Payment>,
}

#[async_trait]
impl Payments for PaymentClient {
    async fn authorize(&self, a: &Authorization) -> Result<Payment, PeerError> {
        self.client
            .call(
                Method::POST,
                "/internal/v1/payments/authorize",
                Some(a),
                None,
                true,
            )
            .await
    }

    async fn abandon(&self, a: &Authorization) -> Result<Payment, PeerError> {
        self.client
            .call(
                Method::POST,
                "/internal/v1/payments/abandon",
                Some(a),
                None,
                true,
            )
            .await
    }

    async fn capture(&self, payment_id: &str, key: &str) -> Result<Payment, PeerError> {
        self.post(
            format!("/internal/v1/payments/{payment_id}/capture"),
            serde_json::json!({"idempotency_key": key}),
        )
        .await
    }

    async fn void(&self, payment_id: &str, key: &str) -> Result<Payment, PeerError> {
        self.post(
            format!("/internal/v1/payments/{payment_id}/void"),
            serde_json::json!({"idempotency_key": key}),
        )
        .await
    }

    async fn refund(
        &self,
        payment_id: &str,
        key: &str,
        amount: &Money,
    ) -> Result<Payment, PeerError> {
        self.post(
            format!("/internal/v1/payments/{payment_id}/refund"),
            serde_json::json!({"idempotency_key": key, "amount": amount}),
        )
        .await
    }

    async fn payment(&self, payment_id: &str) -> Result<Payment, PeerError> {
        self.client
            .call::<(), _>(
                Method::GET,
                &format!("/internal/v1/payments/{payment_id}"),
                None,
                None,
                true,
            )
            .await
    }

    async fn for_booking(&self, reference: &str) -> Result<Vec<Payment>, PeerError> {
        // References are six letters and digits: nothing to escape.
        self.client
            .call::<(), PaymentList>(
                Method::GET,
                &format!("/internal/v1/payments?booking_reference={reference}"),
                None,
                None,
                true,
            )
            .await
            .map(|l| l.payments)
    }
}
