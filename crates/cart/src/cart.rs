//! The cart: what a traveller collected before checkout, and the rules an addition must
//! pass. Pure data and rules; where it is kept is `store.rs`.

use chrono::{DateTime, Utc};
use ota_contract::cart::{CartItemView, CartView};
use ota_platform::money::Money;
use ota_platform::passengers::Passengers;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// At most this many items: a checkout holds inventory for every one of them, and
/// search-service holds at most ten offers per booking.
pub const MAX_ITEMS: usize = 10;
/// The currency an empty cart reports (it constrains nothing).
pub const DEFAULT_CURRENCY: &str = "USD";

pub use ota_contract::cart::OfferKind;

/// An offer search-service has just confirmed: what the cart keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidOffer {
    pub offer_id: String,
    pub kind: OfferKind,
    pub total: Money,
    pub expires_at: DateTime<Utc>,
    pub summary: String,
    /// Travellers by type on a flight; `None` for hotels.
    pub passengers: Option<Passengers>,
}

/// One item as stored in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub item_id: Uuid,
    pub offer_id: String,
    pub kind: OfferKind,
    pub total: Money,
    pub expires_at: DateTime<Utc>,
    pub summary: String,
    #[serde(
        default,
        deserialize_with = "ota_platform::passengers::typed_or_adults"
    )]
    pub passengers: Option<Passengers>,
}

impl CartItem {
    pub fn new(offer: ValidOffer) -> Self {
        Self {
            item_id: Uuid::now_v7(),
            offer_id: offer.offer_id,
            kind: offer.kind,
            total: offer.total,
            expires_at: offer.expires_at,
            summary: offer.summary,
            passengers: offer.passengers,
        }
    }

    /// An offer's price is guaranteed until `expires_at` and not a moment longer, the
    /// same boundary search-service applies when it revalidates.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// Why a change to the cart was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("the cart already holds {MAX_ITEMS} items")]
    Full,
    #[error("the offer is priced in {offer} but the cart is in {cart}")]
    CurrencyDiffers { cart: String, offer: String },
    #[error("the offer is already in the cart")]
    AlreadyInCart { item_id: Uuid },
    #[error("no such item in the cart")]
    NotInCart,
}

/// A traveller's cart: items in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// This cart's identity: given when it is first written, new after a checkout or
    /// a clear. A checkout claims the cart by this id, so one cart becomes at most one
    /// booking (booking-service keeps the claim).
    #[serde(default)]
    pub cart_id: Option<Uuid>,
    pub items: Vec<CartItem>,
}

impl Cart {
    /// The cart's currency: its items', or `None` while it is empty.
    pub fn currency(&self) -> Option<&str> {
        self.items.first().map(|i| i.total.currency.as_str())
    }

    /// Checks an addition without making it, so a full cart or a duplicate is refused
    /// before search-service is asked about the offer.
    pub fn check_addition(&self, offer_id: &str, currency: Option<&str>) -> Result<(), CartError> {
        if let Some(existing) = self.items.iter().find(|i| i.offer_id == offer_id) {
            return Err(CartError::AlreadyInCart {
                item_id: existing.item_id,
            });
        }
        if self.items.len() >= MAX_ITEMS {
            return Err(CartError::Full);
        }
        if let (Some(cart), Some(offer)) = (self.currency(), currency)
            && cart != offer
        {
            return Err(CartError::CurrencyDiffers {
                cart: cart.to_owned(),
                offer: offer.to_owned(),
            });
        }
        Ok(())
    }

    pub fn add(&mut self, item: CartItem) -> Result<&CartItem, CartError> {
        self.check_addition(&item.offer_id, Some(&item.total.currency))?;
        self.items.push(item);
        Ok(&self.items[self.items.len() - 1])
    }

    pub fn remove(&mut self, item_id: Uuid) -> Result<CartItem, CartError> {
        let at = self
            .items
            .iter()
            .position(|i| i.item_id == item_id)
            .ok_or(CartError::NotInCart)?;
        Ok(self.items.remove(at))
    }

    /// Takes out the items a confirmed booking bought and starts a new cart (a new id)
    /// with whatever else was added meanwhile.
    pub fn check_out(&mut self, offer_ids: &[String]) {
        self.items.retain(|i| !offer_ids.contains(&i.offer_id));
        self.cart_id = Some(Uuid::now_v7());
    }

    /// Every item's price, expired ones included: the traveller sees what the cart
    /// holds, and checkout refuses expired items on its own.
    pub fn total(&self) -> Money {
        let currency = self.currency().unwrap_or(DEFAULT_CURRENCY);
        // Additions bound each amount (see `MAX_AMOUNT`) and keep one currency, so ten
        // of them always add up.
        Money::checked_sum(currency, self.items.iter().map(|i| &i.total))
            .unwrap_or_else(|_| Money::new(0, currency))
    }
}

/// The largest price the cart accepts for one offer (10 billion in major units): far
/// beyond any trip, small enough that a full cart's total fits in an `i64`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

// ---------------------------------------------------------------------------------------
// Answers

/// One item as the API shows it at `now`.
pub fn item_view(item: &CartItem, now: DateTime<Utc>) -> CartItemView {
    CartItemView {
        item_id: item.item_id,
        offer_id: item.offer_id.clone(),
        kind: item.kind,
        total: item.total.clone(),
        expires_at: item.expires_at.to_rfc3339(),
        expired: item.is_expired(now),
        summary: item.summary.clone(),
        passengers: item.passengers,
    }
}

/// The cart as the API shows it at `now`, kept until `expires_at` unless touched.
pub fn cart_view(cart: &Cart, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> CartView {
    let total = cart.total();
    CartView {
        cart_id: cart.cart_id,
        items: cart.items.iter().map(|i| item_view(i, now)).collect(),
        currency: total.currency.clone(),
        total,
        expires_at: expires_at.to_rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, amount: i64, currency: &str) -> ValidOffer {
        ValidOffer {
            offer_id: id.to_owned(),
            kind: OfferKind::Hotel,
            total: Money::new(amount, currency),
            expires_at: Utc::now() + chrono::Duration::minutes(20),
            summary: "Grand Paris Hotel, Standard Room, 3 nights".to_owned(),
            passengers: None,
        }
    }

    #[test]
    fn an_empty_cart_totals_zero_dollars() {
        let cart = Cart::default();
        assert_eq!(cart.total(), Money::new(0, "USD"));
        assert_eq!(cart.currency(), None);
        let now = Utc::now();
        let view = cart_view(&cart, now, now);
        assert!(view.items.is_empty());
        assert_eq!(view.currency, "USD");
    }

    #[test]
    fn the_total_adds_every_item_in_the_cart_currency() {
        let mut cart = Cart::default();
        cart.add(CartItem::new(offer("a", 12_345, "EUR")))
            .expect("added");
        cart.add(CartItem::new(offer("b", 655, "EUR")))
            .expect("added");
        assert_eq!(cart.total(), Money::new(13_000, "EUR"));
        assert_eq!(cart.currency(), Some("EUR"));
    }

    #[test]
    fn a_cart_keeps_one_currency() {
        let mut cart = Cart::default();
        cart.add(CartItem::new(offer("a", 100, "USD")))
            .expect("added");
        assert_eq!(
            cart.add(CartItem::new(offer("b", 100, "EUR"))),
            Err(CartError::CurrencyDiffers {
                cart: "USD".into(),
                offer: "EUR".into()
            })
        );
        assert_eq!(cart.items.len(), 1);
        // Once emptied, the cart takes any currency again.
        let id = cart.items[0].item_id;
        cart.remove(id).expect("removed");
        cart.add(CartItem::new(offer("b", 100, "EUR")))
            .expect("added");
    }

    #[test]
    fn a_cart_holds_at_most_ten_items_and_each_offer_once() {
        let mut cart = Cart::default();
        for i in 0..MAX_ITEMS {
            cart.add(CartItem::new(offer(&format!("o{i}"), 1, "USD")))
                .expect("room left");
        }
        assert_eq!(
            cart.add(CartItem::new(offer("eleventh", 1, "USD"))),
            Err(CartError::Full)
        );
        let first = cart.items[0].item_id;
        assert_eq!(
            cart.check_addition("o0", Some("USD")),
            Err(CartError::AlreadyInCart { item_id: first })
        );
        // A duplicate is named as such even when the cart is also full.
        assert!(matches!(
            cart.add(CartItem::new(offer("o3", 1, "USD"))),
            Err(CartError::AlreadyInCart { .. })
        ));
    }

    #[test]
    fn removing_an_unknown_item_changes_nothing() {
        let mut cart = Cart::default();
        cart.add(CartItem::new(offer("a", 1, "USD")))
            .expect("added");
        assert_eq!(cart.remove(Uuid::now_v7()), Err(CartError::NotInCart));
        assert_eq!(cart.items.len(), 1);
    }

    #[test]
    fn items_expire_exactly_at_their_offer_expiry() {
        let mut item = CartItem::new(offer("a", 1, "USD"));
        let now = Utc::now();
        item.expires_at = now;
        assert!(item.is_expired(now));
        assert!(!item.is_expired(now - chrono::Duration::seconds(1)));
        let view = item_view(&item, now + chrono::Duration::seconds(1));
        assert!(view.expired);
        assert!(!item_view(&item, now - chrono::Duration::minutes(5)).expired);
    }

    #[test]
    fn a_cart_stored_with_a_bare_adult_count_still_reads() {
        let stored = serde_json::json!({"items": [{"item_id": Uuid::now_v7(), "offer_id": "f", "kind": "flight",
            "total": {"amount": 100, "currency": "USD"}, "expires_at": Utc::now(), "summary": "s", "passengers": 2}]});
        let cart: Cart = serde_json::from_value(stored).expect("read");
        assert_eq!(cart.items[0].passengers, Some(Passengers::adults(2)));
        assert_eq!(cart.cart_id, None);
    }

    #[test]
    fn checking_out_keeps_what_was_added_meanwhile_in_a_new_cart() {
        let mut cart = Cart {
            cart_id: Some(Uuid::now_v7()),
            ..Cart::default()
        };
        cart.add(CartItem::new(offer("booked", 1, "USD")))
            .expect("added");
        cart.add(CartItem::new(offer("later", 1, "USD")))
            .expect("added");
        let before = cart.cart_id;
        cart.check_out(&["booked".to_owned()]);
        assert_eq!(cart.items.len(), 1);
        assert_eq!(cart.items[0].offer_id, "later");
        assert_ne!(cart.cart_id, before);
    }

    #[test]
    fn a_stored_cart_round_trips_through_json() {
        let mut cart = Cart::default();
        let mut flight = offer("f", 45_600, "USD");
        flight.kind = OfferKind::Flight;
        flight.passengers = Some(Passengers {
            adults: 2,
            children: 1,
            infants: 0,
        });
        cart.add(CartItem::new(flight)).expect("added");
        let bytes = serde_json::to_vec(&cart).expect("json");
        let back: Cart = serde_json::from_slice(&bytes).expect("parsed");
        assert_eq!(back, cart);
        let view = serde_json::to_value(cart_view(&cart, Utc::now(), Utc::now())).expect("json");
        assert_eq!(view["items"][0]["kind"], "flight");
        assert_eq!(
            view["items"][0]["passengers"],
            serde_json::json!({"adults": 2, "children": 1, "infants": 0})
        );
        assert_eq!(view["total"]["amount"], 45_600);
    }
}
