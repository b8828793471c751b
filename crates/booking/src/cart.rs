//! cart-service as booking-service sees it: the cart a checkout takes, and clearing it.

use async_trait::async_trait;
use axum::http::Method;
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use ota_platform::passengers::Passengers;
use serde::Deserialize;
use serde_json::{Value, json};
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
    pub passengers: Option<Passengers>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Cart {
    /// The cart's identity: a checkout claims it, so one cart makes one booking.
    #[serde(default)]
    pub cart_id: Option<Uuid>,
    #[serde(default)]
    pub items: Vec<CartItem>,
}

#[async_trait]
pub trait Carts: Send + Sync + 'static {
    async fn cart(&self, user_id: Uuid) -> Result<Cart, PeerError>;
    /// A booking of cart `cart_id` was confirmed: the bought offers leave the cart, which
    /// gets a new id (without an id, the whole cart is emptied).
    async fn checked_out(
        &self,
        user_id: Uuid,
        cart_id: Option<Uuid>,
        offer_ids: &[String],
    ) -> Result<(), PeerError>;
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

    async fn checked_out(
        &self,
        user_id: Uuid,
        cart_id: Option<Uuid>,
        offer_ids: &[String],
    ) -> Result<(), PeerError> {
        match cart_id {
            Some(cart_id) => self
                .client
                .call::<_, Value>(
                    Method::POST,
                    &format!("/internal/v1/carts/{user_id}/checked-out"),
                    Some(&json!({"cart_id": cart_id, "offer_ids": offer_ids})),
                    None,
                    true,
                )
                .await
                .map(|_| ()),
            None => self
                .client
                .call::<(), Value>(
                    Method::DELETE,
                    &format!("/internal/v1/carts/{user_id}"),
                    None,
                    None,
                    true,
                )
                .await
                .map(|_| ()),
        }
    }
}
