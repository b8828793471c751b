//! payment-service as booking-service sees it: authorise, capture, void and refund, each
//! keyed by the booking so a retried step never moves money twice. The shapes are
//! payment-service's own (`ota_contract::payment`).

use async_trait::async_trait;
use axum::http::Method;
use ota_contract::money::Money;
use ota_contract::payment::{
    AuthorizeRequest, KeyRequest, PaymentView, PaymentsAnswer, RefundRequest,
};
use ota_platform::client::{PeerClient, PeerError};
use serde::Serialize;

#[async_trait]
pub trait Payments: Send + Sync + 'static {
    /// 402 (declined, `decline_code` in the body), 404 unknown method, 503 provider error.
    async fn authorize(&self, a: &AuthorizeRequest) -> Result<PaymentView, PeerError>;
    async fn capture(&self, payment_id: &str, key: &str) -> Result<PaymentView, PeerError>;
    async fn void(&self, payment_id: &str, key: &str) -> Result<PaymentView, PeerError>;
    /// `amount` in minor units of the payment's currency.
    async fn refund(
        &self,
        payment_id: &str,
        key: &str,
        amount: &Money,
    ) -> Result<PaymentView, PeerError>;
    async fn payment(&self, payment_id: &str) -> Result<PaymentView, PeerError>;
    /// Every payment made for a booking reference (recovery finds lost ones this way).
    async fn for_booking(&self, reference: &str) -> Result<Vec<PaymentView>, PeerError>;
    /// Settles an authorisation whose outcome is unknown (payment-service failed or did
    /// not answer): the payment made under its key if there is one, otherwise a `voided`
    /// record under that key, so the authorisation can never happen later.
    async fn abandon(&self, a: &AuthorizeRequest) -> Result<PaymentView, PeerError>;
}

pub struct PaymentClient {
    client: PeerClient,
}

impl PaymentClient {
    pub fn new(client: PeerClient) -> Self {
        Self { client }
    }

    async fn post<B: Serialize + Sync>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<PaymentView, PeerError> {
        // Every call carries an idempotency key, so retrying it is safe.
        self.client
            .call(Method::POST, path, Some(body), None, true)
            .await
    }
}

#[async_trait]
impl Payments for PaymentClient {
    async fn authorize(&self, a: &AuthorizeRequest) -> Result<PaymentView, PeerError> {
        self.post("/internal/v1/payments/authorize", a).await
    }

    async fn abandon(&self, a: &AuthorizeRequest) -> Result<PaymentView, PeerError> {
        self.post("/internal/v1/payments/abandon", a).await
    }

    async fn capture(&self, payment_id: &str, key: &str) -> Result<PaymentView, PeerError> {
        let body = KeyRequest {
            idempotency_key: key.to_owned(),
        };
        self.post(
            &format!("/internal/v1/payments/{payment_id}/capture"),
            &body,
        )
        .await
    }

    async fn void(&self, payment_id: &str, key: &str) -> Result<PaymentView, PeerError> {
        let body = KeyRequest {
            idempotency_key: key.to_owned(),
        };
        self.post(&format!("/internal/v1/payments/{payment_id}/void"), &body)
            .await
    }

    async fn refund(
        &self,
        payment_id: &str,
        key: &str,
        amount: &Money,
    ) -> Result<PaymentView, PeerError> {
        let body = RefundRequest {
            idempotency_key: key.to_owned(),
            amount: amount.clone(),
        };
        self.post(&format!("/internal/v1/payments/{payment_id}/refund"), &body)
            .await
    }

    async fn payment(&self, payment_id: &str) -> Result<PaymentView, PeerError> {
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

    async fn for_booking(&self, reference: &str) -> Result<Vec<PaymentView>, PeerError> {
        // References are six letters and digits: nothing to escape.
        self.client
            .call::<(), PaymentsAnswer>(
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
