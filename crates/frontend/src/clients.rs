//! Typed clients of the public APIs the web site is built on (API.md, docs/checkout.md).
//! The web site is a client like any other: it calls the services over HTTP with the
//! traveller's access token and never touches a database.

use std::time::Duration;

use anyhow::Context as _;
use ota_contract::booking::{
    BookingList, BookingView, CancellationView, CheckoutRequest, QuoteView,
};
use ota_contract::payment::{CardInput, CreateMethodRequest, PaymentMethodView};
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use ota_platform::server::Context;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::SERVICE;

/// One client per peer service.
#[derive(Clone)]
pub struct Api {
    auth: PeerClient,
    search: PeerClient,
    cart: PeerClient,
    payment: PeerClient,
    booking: PeerClient,
}

fn peer_url<'a>(url: &'a Option<String>, what: &str, env: &str) -> anyhow::Result<&'a str> {
    url.as_deref()
        .with_context(|| format!("the web site calls {what}: set {env} (or the matching --flag)"))
}

impl Api {
    pub fn new(ctx: &Context) -> anyhow::Result<Self> {
        let peers = &ctx.settings.peers;
        let client = |peer: &'static str, url: &str| {
            PeerClient::new(peer, SERVICE, url, ctx.keys.clone(), ctx.http.clone())
        };
        Ok(Self {
            auth: client(
                "auth-service",
                peer_url(&peers.auth, "auth-service", "OTA_AUTH_URL")?,
            ),
            search: client(
                "search-service",
                peer_url(&peers.search, "search-service", "OTA_SEARCH_URL")?,
            ),
            cart: client(
                "cart-service",
                peer_url(&peers.cart, "cart-service", "OTA_CART_URL")?,
            ),
            payment: client(
                "payment-service",
                peer_url(&peers.payment, "payment-service", "OTA_PAYMENT_URL")?,
            ),
            // The saga holds inventory, authorises and captures: give it longer than a read.
            booking: client(
                "booking-service",
                peer_url(&peers.booking, "booking-service", "OTA_BOOKING_URL")?,
            )
            .with_timeout(Duration::from_secs(12)),
        })
    }

    // -----------------------------------------------------------------------------------
    // auth

    pub async fn register(&self, body: &RegisterRequest<'_>) -> Result<AuthSession, PeerError> {
        self.auth
            .call(
                Method::POST,
                "/api/v1/auth/register",
                Some(body),
                None,
                false,
            )
            .await
    }

    pub async fn login(&self, body: &LoginRequest<'_>) -> Result<AuthSession, PeerError> {
        self.auth
            .call(Method::POST, "/api/v1/auth/login", Some(body), None, false)
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<AuthSession, PeerError> {
        self.auth
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                Some(&RefreshRequest { refresh_token }),
                None,
                false,
            )
            .await
    }

    pub async fn logout(&self, refresh_token: &str) -> Result<(), PeerError> {
        self.auth
            .call::<_, serde_json::Value>(
                Method::POST,
                "/api/v1/auth/logout",
                Some(&RefreshRequest { refresh_token }),
                None,
                true,
            )
            .await
            .map(|_| ())
    }

    // -----------------------------------------------------------------------------------
    // search (public: no user token needed)

    pub async fn airports(&self, q: &str) -> Result<AirportsAnswer, PeerError> {
        let path = format!("/api/v1/airports?q={}&limit=8", encode(q));
        self.get(&self.search, &path, None).await
    }

    /// `query` is an encoded query string built by the web site from checked input.
    pub async fn flights(&self, query: &str) -> Result<FlightsAnswer, PeerError> {
        self.get(
            &self.search,
            &format!("/api/v1/flights/search?{query}"),
            None,
        )
        .await
    }

    pub async fn hotels(&self, query: &str) -> Result<HotelsAnswer, PeerError> {
        self.get(
            &self.search,
            &format!("/api/v1/hotels/search?{query}"),
            None,
        )
        .await
    }

    /// The offer revalidated: flight or hotel.
    pub async fn offer(&self, offer_id: &str) -> Result<AnyOffer, PeerError> {
        let value: serde_json::Value = self
            .get(
                &self.search,
                &format!("/api/v1/offers/{}", encode(offer_id)),
                None,
            )
            .await?;
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_owned();
        let decode = |e: serde_json::Error| PeerError::Decode {
            peer: "search-service".to_owned(),
            reason: e.to_string(),
        };
        if kind == "hotel" || value.get("hotel").is_some() {
            Ok(AnyOffer::Hotel(
                serde_json::from_value(value).map_err(decode)?,
            ))
        } else {
            Ok(AnyOffer::Flight(
                serde_json::from_value(value).map_err(decode)?,
            ))
        }
    }

    // -----------------------------------------------------------------------------------
    // cart

    pub async fn cart(&self, token: &str) -> Result<Cart, PeerError> {
        self.get(&self.cart, "/api/v1/cart", Some(token)).await
    }

    pub async fn add_to_cart(&self, token: &str, offer_id: &str) -> Result<CartItem, PeerError> {
        #[derive(Serialize)]
        struct Add<'a> {
            offer_id: &'a str,
        }
        self.cart
            .call(
                Method::POST,
                "/api/v1/cart/items",
                Some(&Add { offer_id }),
                Some(token),
                false,
            )
            .await
    }

    pub async fn remove_from_cart(
        &self,
        token: &str,
        item_id: uuid::Uuid,
    ) -> Result<(), PeerError> {
        self.cart
            .call::<(), serde_json::Value>(
                Method::DELETE,
                &format!("/api/v1/cart/items/{item_id}"),
                None,
                Some(token),
                true,
            )
            .await
            .map(|_| ())
    }

    // -----------------------------------------------------------------------------------
    // payment

    pub async fn add_card(
        &self,
        token: &str,
        card: &CardInput,
    ) -> Result<PaymentMethodView, PeerError> {
        let body = CreateMethodRequest { card: card.clone() };
        self.payment
            .call(
                Method::POST,
                "/api/v1/payment-methods",
                Some(&body),
                Some(token),
                false,
            )
            .await
    }

    // -----------------------------------------------------------------------------------
    // bookings

    pub async fn checkout(
        &self,
        token: &str,
        idempotency_key: &str,
        body: &CheckoutRequest,
    ) -> Result<BookingView, PeerError> {
        // Sent once: the key makes a resubmission safe, not a blind retry.
        self.booking
            .call_with_key(
                Method::POST,
                "/api/v1/bookings",
                Some(body),
                Some(token),
                idempotency_key,
            )
            .await
    }

    pub async fn bookings(
        &self,
        token: &str,
        cursor: Option<&str>,
    ) -> Result<BookingList, PeerError> {
        let path = match cursor {
            Some(c) => format!("/api/v1/bookings?limit=20&cursor={}", encode(c)),
            None => "/api/v1/bookings?limit=20".to_owned(),
        };
        self.get(&self.booking, &path, Some(token)).await
    }

    pub async fn booking(&self, token: &str, reference: &str) -> Result<BookingView, PeerError> {
        self.get(
            &self.booking,
            &format!("/api/v1/bookings/{}", encode(reference)),
            Some(token),
        )
        .await
    }

    pub async fn cancellation_quote(
        &self,
        token: &str,
        reference: &str,
    ) -> Result<QuoteView, PeerError> {
        self.get(
            &self.booking,
            &format!("/api/v1/bookings/{}/cancellation-quote", encode(reference)),
            Some(token),
        )
        .await
    }

    pub async fn cancel(
        &self,
        token: &str,
        reference: &str,
    ) -> Result<CancellationView, PeerError> {
        // Cancelling twice answers the same and changes nothing, so a retry is safe.
        self.booking
            .call::<(), CancellationView>(
                Method::POST,
                &format!("/api/v1/bookings/{}/cancel", encode(reference)),
                None,
                Some(token),
                true,
            )
            .await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        client: &PeerClient,
        path: &str,
        token: Option<&str>,
    ) -> Result<T, PeerError> {
        client
            .call::<(), T>(Method::GET, path, None, token, true)
            .await
    }
}

/// Percent-encodes a query or path component.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Shapes. Fields beyond API.md's are optional so an additive change upstream never
// breaks a page.

#[derive(Serialize)]
pub struct RegisterRequest<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: &'a str,
}

#[derive(Serialize)]
pub struct LoginRequest<'a> {
    pub email: &'a str,
    pub password: &'a str,
}

#[derive(Serialize)]
struct RefreshRequest<'a> {
    refresh_token: &'a str,
}

#[derive(Deserialize, Debug, Clone)]
pub struct AuthUserView {
    pub email: String,
    pub name: String,
}

#[derive(Deserialize, Debug, Clone)]
pub struct AuthSession {
    pub user: AuthUserView,
    pub access_token: String,
    pub refresh_token: String,
    #[serde(default = "default_expires_in")]
    pub expires_in: i64,
}

fn default_expires_in() -> i64 {
    15 * 60
}

#[derive(Deserialize, Debug, Clone)]
pub struct Airport {
    pub iata: String,
    pub name: String,
    pub city: String,
    #[serde(default)]
    pub country: String,
}

#[derive(Deserialize, Debug, Clone)]
pub struct AirportsAnswer {
    pub airports: Vec<Airport>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Segment {
    pub carrier: String,
    #[serde(default)]
    pub carrier_name: String,
    pub flight_number: String,
    pub origin: String,
    pub destination: String,
    pub departure_at: String,
    pub arrival_at: String,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Slice {
    pub origin: String,
    pub destination: String,
    pub departure_at: String,
    pub arrival_at: String,
    pub duration_minutes: i64,
    pub segments: Vec<Segment>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct FareRules {
    #[serde(default)]
    pub refundable: bool,
    #[serde(default)]
    pub description: String,
}

/// How many travellers of each type an offer or cart item is for.
pub use ota_platform::passengers::Passengers;
use ota_platform::passengers::typed_or_adults as passengers_of;

/// The price of one passenger type in an offer.
#[derive(Deserialize, Debug, Clone)]
pub struct Fare {
    /// `adult`, `child` or `infant`.
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u8,
    pub per_passenger: Money,
    #[serde(default)]
    pub total: Option<Money>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct FlightOffer {
    pub offer_id: String,
    pub expires_at: String,
    pub total: Money,
    #[serde(default)]
    pub adults: Option<u8>,
    #[serde(default)]
    pub passengers: Option<Passengers>,
    #[serde(default)]
    pub fares: Vec<Fare>,
    #[serde(default)]
    pub cabin: Option<String>,
    #[serde(default)]
    pub seats_remaining: Option<i64>,
    #[serde(default)]
    pub fare_rules: Option<FareRules>,
    pub slices: Vec<Slice>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct FlightsAnswer {
    pub offers: Vec<FlightOffer>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct HotelSummary {
    pub name: String,
    pub stars: i64,
    pub city: String,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct CancellationPolicy {
    #[serde(default)]
    pub refundable: bool,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize, Debug, Clone)]
pub struct HotelOffer {
    pub offer_id: String,
    pub expires_at: String,
    pub total: Money,
    pub nights: i64,
    #[serde(default)]
    pub check_in: Option<String>,
    #[serde(default)]
    pub check_out: Option<String>,
    #[serde(default)]
    pub guests: Option<i64>,
    #[serde(default)]
    pub rooms: Option<i64>,
    #[serde(default)]
    pub rooms_remaining: Option<i64>,
    pub room_type: String,
    pub hotel: HotelSummary,
    #[serde(default)]
    pub cancellation_policy: Option<CancellationPolicy>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct HotelsAnswer {
    pub offers: Vec<HotelOffer>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub enum AnyOffer {
    Flight(FlightOffer),
    Hotel(HotelOffer),
}

#[derive(Deserialize, Debug, Clone)]
pub struct CartItem {
    pub item_id: uuid::Uuid,
    pub offer_id: String,
    pub kind: String,
    pub total: Money,
    #[serde(default)]
    pub expires_at: String,
    #[serde(default)]
    pub expired: bool,
    #[serde(default)]
    pub summary: String,
    #[serde(default, deserialize_with = "passengers_of")]
    pub passengers: Option<Passengers>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Cart {
    pub items: Vec<CartItem>,
    pub total: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode("New York"), "New%20York");
        assert_eq!(encode("a/b?c=d&e"), "a%2Fb%3Fc%3Dd%26e");
        assert_eq!(encode("kid.pay-load_x~"), "kid.pay-load_x~");
        assert_eq!(encode("Zürich"), "Z%C3%BCrich");
    }

    #[test]
    fn cart_items_say_their_passengers_by_type() {
        let typed: CartItem = serde_json::from_value(serde_json::json!({
            "item_id": uuid::Uuid::nil(), "offer_id": "k.p.m", "kind": "flight",
            "total": {"amount": 100, "currency": "USD"},
            "passengers": {"adults": 2, "children": 1, "infants": 1}
        }))
        .expect("a typed cart item");
        assert_eq!(
            typed.passengers,
            Some(Passengers {
                adults: 2,
                children: 1,
                infants: 1
            })
        );
        let counted: CartItem = serde_json::from_value(serde_json::json!({
            "item_id": uuid::Uuid::nil(), "offer_id": "k.p.m", "kind": "flight",
            "total": {"amount": 100, "currency": "USD"}, "passengers": 3
        }))
        .expect("a counted cart item");
        assert_eq!(counted.passengers, Some(Passengers::adults(3)));
        let hotel: CartItem = serde_json::from_value(serde_json::json!({
            "item_id": uuid::Uuid::nil(), "offer_id": "k.p.m", "kind": "hotel",
            "total": {"amount": 100, "currency": "USD"}, "passengers": null
        }))
        .expect("a hotel cart item");
        assert_eq!(hotel.passengers, None);
    }
}
