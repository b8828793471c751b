//! cart-service as booking-service sees it: the cart a checkout takes, and clearing it.

use async_trait::async_trait;
use axum::http::Method;
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CartItem {
    pub offer_id: String,
    pub kind: String,
    pub total: Money,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub expired: bool,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub passengers: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Cart {
    #[serde(default)]
    pub items: Vec<CartItem>,
}

#[async_trait]
pub trait Carts: Send + Sync + 'static {
    async fn cart(&self, user_id: Uuid) -> Result<Cart, PeerError>;
    async fn clear(&self, user_id: Uuid) -> Result<(), PeerError>;
}

pub struct CartClient {
    client: PeerClient,
}

impl CartClient {
    pub fn new(client: PeerClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Carts for CartClient {
    async fn cart(&self, user_id: Uuid) -> Result<Cart, PeerError> {
        self.client
            .call::<(), _>(
                Method::GET,
                &format!("/internal/v1/carts/{user_id}"),
                None,
                None,
                true,
            )
            .await
    }

    async fn clear(&self, user_id: Uuid) -> Result<(), PeerError> {
        self.client
            .call::<(), Value>(
                Method::DELETE,
                &format!("/internal/v1/carts/{user_id}"),
                None,
                None,
                true,
            )
            .await
            .map(|_| ())
    }
}
