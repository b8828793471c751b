//! cart-service as booking-service sees it: the cart a checkout takes, and clearing it.

use async_trait::async_trait;
use axum::http::Method;
use ota_contract::cart::CheckedOutRequest;
use ota_platform::client::{PeerClient, PeerError};
use serde_json::Value;
use uuid::Uuid;

/// The cart a checkout takes, as cart-service's internal API answers it: its `cart_id`
/// (a checkout claims it, so one cart makes one booking) and its items.
pub use ota_contract::cart::{CartItemView as CartItem, CartView as Cart};

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
                    Some(&CheckedOutRequest {
                        cart_id,
                        offer_ids: offer_ids.to_vec(),
                    }),
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
