//! cart-service's API: the traveller's cart (`/api/v1/cart...`) and the carts
//! booking-service checks out (`/internal/v1/carts/...`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::Money;
use crate::passengers::{Passengers, typed_or_adults};
pub use crate::search::OfferKind;

/// `POST /api/v1/cart/items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"offer_id": "k1.eyJrIjoiZiJ9.c2lnbmF0dXJl"}))]
pub struct AddItemRequest {
    /// An `offer_id` from a flight or hotel search.
    #[schema(example = "k1.eyJrIjoiZiJ9.c2lnbmF0dXJl")]
    pub offer_id: String,
}

/// `POST /internal/v1/carts/{user_id}/checked-out`: what a confirmed booking bought
/// from a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckedOutRequest {
    /// The `cart_id` the booking claimed.
    pub cart_id: Uuid,
    /// The offers it bought: they leave the cart.
    pub offer_ids: Vec<String>,
}

/// One item as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({
    "item_id": "0193a5c4-7f7e-7b6a-9d41-2f1c5e8a9b10", "offer_id": "k1.eyJrIjoiZiJ9.c2lnbmF0dXJl",
    "kind": "flight", "total": {"amount": 60000, "currency": "USD"},
    "expires_at": "2026-12-01T10:20:00+00:00", "expired": false,
    "summary": "JFK → LAX, 2026-12-14, nonstop, 2 adults",
    "passengers": {"adults": 2, "children": 0, "infants": 0}
}))]
pub struct CartItemView {
    pub item_id: Uuid,
    pub offer_id: String,
    pub kind: OfferKind,
    /// The offer's price as search-service vouched for it, minor units.
    pub total: Money,
    /// Until when the offer's price is guaranteed (RFC 3339, UTC).
    pub expires_at: String,
    /// Whether `expires_at` has passed, computed when the cart is read.
    pub expired: bool,
    /// One line for people, such as "JFK → LAX, 2026-12-09, 1 stop, 2 adults".
    pub summary: String,
    /// A flight's travellers by type (checkout names one traveller per passenger, of
    /// that type on the day of the first departure); null for hotels. Read from a bare
    /// count of adults too, as carts written before passenger types had it.
    #[serde(default, deserialize_with = "typed_or_adults")]
    pub passengers: Option<Passengers>,
}

/// The cart as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({
    "cart_id": "0193a5c4-8a10-7c3e-b2d4-5e6f7a8b9c0d",
    "items": [{
        "item_id": "0193a5c4-7f7e-7b6a-9d41-2f1c5e8a9b10", "offer_id": "k1.eyJrIjoiZiJ9.c2lnbmF0dXJl",
        "kind": "flight", "total": {"amount": 60000, "currency": "USD"},
        "expires_at": "2026-12-01T10:20:00+00:00", "expired": false,
        "summary": "JFK → LAX, 2026-12-14, nonstop, 2 adults",
        "passengers": {"adults": 2, "children": 0, "infants": 0}
    }],
    "total": {"amount": 60000, "currency": "USD"},
    "expires_at": "2026-12-01T10:30:00+00:00",
    "currency": "USD"
}))]
pub struct CartView {
    /// The cart's identity (null while nothing was ever added); a checkout claims it.
    pub cart_id: Option<Uuid>,
    pub items: Vec<CartItemView>,
    /// Every item's total, minor units; 0 USD when the cart is empty.
    pub total: Money,
    /// When the cart is dropped unless it is read or changed before (sliding TTL):
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// The cart's currency, ISO 4217 (USD while it is empty).
    pub currency: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(passengers: serde_json::Value) -> CartItemView {
        serde_json::from_value(serde_json::json!({
            "item_id": Uuid::nil(), "offer_id": "k.p.m", "kind": "flight",
            "total": {"amount": 100, "currency": "USD"}, "expires_at": "2026-12-01T10:20:00+00:00",
            "expired": false, "summary": "JFK → LAX", "passengers": passengers
        }))
        .expect("a cart item")
    }

    #[test]
    fn cart_items_say_their_passengers_by_type() {
        assert_eq!(
            item(serde_json::json!({"adults": 2, "children": 1, "infants": 1})).passengers,
            Some(Passengers {
                adults: 2,
                children: 1,
                infants: 1
            })
        );
        assert_eq!(
            item(serde_json::json!(3)).passengers,
            Some(Passengers::adults(3))
        );
        assert_eq!(item(serde_json::Value::Null).passengers, None);
    }
}
