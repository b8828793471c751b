//! Typed clients of the public APIs the web site is built on (API.md, docs/checkout.md).
//! The web site is a client like any other: it calls the services over HTTP with the
//! traveller's access token and never touches a database.

use std::time::Duration;

use anyhow::Context as _;
use ota_contract::auth::{LoginRequest, RefreshRequest, RegisterRequest, Session};
use ota_contract::booking::{
    BookingList, BookingView, CancellationView, CheckoutRequest, QuoteView,
};
use ota_contract::cart::{AddItemRequest, CartItemView, CartView};
use ota_contract::payment::{CardInput, CreateMethodRequest, PaymentMethodView};
use ota_contract::search::{AirportsAnswer, AnyOffer, FlightsAnswer, HotelsAnswer};
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::server::Context;
use reqwest::Method;
use serde::de::DeserializeOwned;

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

    pub async fn register(&self, body: &RegisterRequest) -> Result<Session, PeerError> {
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

    pub async fn login(&self, body: &LoginRequest) -> Result<Session, PeerError> {
        self.auth
            .call(Method::POST, "/api/v1/auth/login", Some(body), None, false)
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, PeerError> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.auth
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                Some(&body),
                None,
                false,
            )
            .await
    }

    pub async fn logout(&self, refresh_token: &str) -> Result<(), PeerError> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.auth
            .call::<_, serde_json::Value>(
                Method::POST,
                "/api/v1/auth/logout",
                Some(&body),
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

    /// The offer revalidated: a flight or a hotel, as its `kind` says.
    pub async fn offer(&self, offer_id: &str) -> Result<AnyOffer, PeerError> {
        self.get(
            &self.search,
            &format!("/api/v1/offers/{}", encode(offer_id)),
            None,
        )
        .await
    }

    // -----------------------------------------------------------------------------------
    // cart

    pub async fn cart(&self, token: &str) -> Result<CartView, PeerError> {
        self.get(&self.cart, "/api/v1/cart", Some(token)).await
    }

    pub async fn add_to_cart(
        &self,
        token: &str,
        offer_id: &str,
    ) -> Result<CartItemView, PeerError> {
        let body = AddItemRequest {
            offer_id: offer_id.to_owned(),
        };
        self.cart
            .call(
                Method::POST,
                "/api/v1/cart/items",
                Some(&body),
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

    /// Asks for the confirmation e-mail again (202; a 409 or 429 says why not).
    pub async fn resend_confirmation(&self, token: &str, reference: &str) -> Result<(), PeerError> {
        self.booking
            .call::<(), ()>(
                Method::POST,
                &format!("/api/v1/bookings/{}/resend-confirmation", encode(reference)),
                None,
                Some(token),
                false,
            )
            .await
    }

    /// The booking's calendar file (RFC 5545).
    pub async fn calendar(&self, token: &str, reference: &str) -> Result<Vec<u8>, PeerError> {
        self.booking
            .call_raw::<()>(
                Method::GET,
                &format!("/api/v1/bookings/{}/calendar", encode(reference)),
                None,
                Some(token),
                true,
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

/// How many travellers of each type an offer or cart item is for.
pub use ota_platform::passengers::Passengers;

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
}
