//! Typed clients of the public APIs the web site is built on (API.md, docs/checkout.md).
//! The web site is a client like any other: it calls the services over HTTP with the
//! traveller's access token and never touches a database.

use std::time::Duration;

use anyhow::Context as _;
use ota_contract::auth::{LoginRequest, RefreshRequest, RegisterRequest, Session};
use ota_contract::cart::{AddItemRequest, CartItemView, CartView};
use ota_contract::search::{AirportsAnswer, AnyOffer, FlightsAnswer, HotelsAnswer};
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use ota_platform::server::Context;
use ota_platform::telemetry::TraceContext;
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
    /// Checkout needs an `Idempotency-Key` header, which `PeerClient` does not send.
    booking_raw: RawClient,
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
        let booking_url = peer_url(&peers.booking, "booking-service", "OTA_BOOKING_URL")?;
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
            booking: client("booking-service", booking_url).with_timeout(Duration::from_secs(12)),
            booking_raw: RawClient {
                peer: "booking-service",
                base_url: booking_url.trim_end_matches('/').to_owned(),
                http: ctx.http.clone(),
                timeout: Duration::from_secs(12),
            },
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

    pub async fn add_card(&self, token: &str, card: &NewCard) -> Result<PaymentMethod, PeerError> {
        #[derive(Serialize)]
        struct Body<'a> {
            card: &'a NewCard,
        }
        self.payment
            .call(
                Method::POST,
                "/api/v1/payment-methods",
                Some(&Body { card }),
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
    ) -> Result<Booking, PeerError> {
        self.booking_raw
            .post("/api/v1/bookings", token, idempotency_key, body)
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

    pub async fn booking(&self, token: &str, reference: &str) -> Result<Booking, PeerError> {
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
    ) -> Result<CancellationQuote, PeerError> {
        self.get(
            &self.booking,
            &format!("/api/v1/bookings/{}/cancellation-quote", encode(reference)),
            Some(token),
        )
        .await
    }

    pub async fn cancel(&self, token: &str, reference: &str) -> Result<Cancelled, PeerError> {
        // Cancelling twice answers the same and changes nothing, so a retry is safe.
        self.booking
            .call::<(), Cancelled>(
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

/// A POST with an `Idempotency-Key`, answering like `PeerClient` does (same errors, same
/// trace propagation), sent once: the key makes a resubmission safe, not a blind retry.
#[derive(Clone)]
struct RawClient {
    peer: &'static str,
    base_url: String,
    http: reqwest::Client,
    timeout: Duration,
}

impl RawClient {
    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        idempotency_key: &str,
        body: &B,
    ) -> Result<T, PeerError> {
        let trace = TraceContext::current()
            .map(|t| t.child())
            .unwrap_or_else(TraceContext::new_root);
        let unavailable = |reason: String| PeerError::Unavailable {
            peer: self.peer.to_owned(),
            reason,
        };
        let res = self
            .http
            .post(format!("{}{path}", self.base_url))
            .timeout(self.timeout)
            .bearer_auth(token)
            .header("traceparent", trace.header())
            .header("idempotency-key", idempotency_key)
            .json(body)
            .send()
            .await
            .map_err(|e| {
                unavailable(if e.is_timeout() {
                    format!("no answer within {} ms", self.timeout.as_millis())
                } else {
                    "connection failed".to_owned()
                })
            })?;
        let status = res.status().as_u16();
        let bytes = res
            .bytes()
            .await
            .map_err(|_| unavailable("the answer was cut short".to_owned()))?;
        if status >= 400 {
            let body: serde_json::Value =
                serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
            // A checkout's 503 problem names the booking it started (and its status): the
            // page must say so. A gateway's bare 502-504 says nothing about the booking.
            if matches!(status, 502..=504) && body.get("type").is_none() {
                return Err(unavailable(format!("answered {status}")));
            }
            return Err(PeerError::Status {
                peer: self.peer.to_owned(),
                status,
                body,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| PeerError::Decode {
            peer: self.peer.to_owned(),
            reason: e.to_string(),
        })
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

#[derive(Serialize, Debug)]
pub struct NewCard {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvc: String,
    pub holder_name: String,
}

#[derive(Deserialize, Debug, Clone)]
pub struct PaymentMethod {
    pub id: String,
}

#[derive(Serialize, Debug)]
pub struct Traveller {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: String,
}

#[derive(Serialize, Debug)]
pub struct Contact {
    pub email: String,
}

#[derive(Serialize, Debug)]
pub struct CheckoutRequest {
    pub travellers: Vec<Traveller>,
    pub contact: Contact,
    pub payment_method_id: String,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct BookingItem {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub total: Option<Money>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct BookedTraveller {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Booking {
    pub reference: String,
    pub status: String,
    #[serde(default)]
    pub total: Option<Money>,
    #[serde(default)]
    pub items: Vec<BookingItem>,
    #[serde(default)]
    pub travellers: Vec<BookedTraveller>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// What a cancellation refunded (or is refunding).
    #[serde(default)]
    pub refund: Option<Money>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct BookingList {
    pub bookings: Vec<Booking>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct CancellationQuote {
    pub refund: Money,
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Cancelled {
    pub reference: String,
    pub status: String,
    pub refund: Money,
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

    /// A one-route server answering every POST with `status` and `body`.
    async fn answering(status: u16, content_type: &'static str, body: &'static str) -> String {
        let app = axum::Router::new().fallback(move || async move {
            (
                axum::http::StatusCode::from_u16(status)
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                [(axum::http::header::CONTENT_TYPE, content_type)],
                body,
            )
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn raw(base_url: String) -> RawClient {
        RawClient {
            peer: "booking-service",
            base_url,
            http: reqwest::Client::new(),
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn a_checkouts_503_keeps_the_booking_it_names() {
        let url = answering(
            503,
            "application/problem+json",
            r#"{"type":"https://ota-travel.example.com/problems/unavailable","status":503,"reference":"ABC234"}"#,
        )
        .await;
        let answer: Result<serde_json::Value, PeerError> = raw(url)
            .post("/api/v1/bookings", "t", "k", &serde_json::json!({}))
            .await;
        match answer {
            Err(PeerError::Status { status, body, .. }) => {
                assert_eq!(status, 503);
                assert_eq!(body["reference"], "ABC234");
            }
            other => panic!("the problem was lost: {other:?}"),
        }
        // A gateway's bare 502 says nothing about a booking.
        let url = answering(502, "text/html", "<h1>Bad gateway</h1>").await;
        let answer: Result<serde_json::Value, PeerError> = raw(url)
            .post("/api/v1/bookings", "t", "k", &serde_json::json!({}))
            .await;
        assert!(
            matches!(answer, Err(PeerError::Unavailable { .. })),
            "{answer:?}"
        );
    }
}
