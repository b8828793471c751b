//! search-service as booking-service sees it: offer revalidation (with the refund terms
//! a booking keeps) and the inventory holds of the saga.

use async_trait::async_trait;
use axum::http::Method;
use chrono::{DateTime, Duration, Utc};
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::ItemKind;

/// What booking-service keeps of a revalidated offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferTerms {
    pub kind: ItemKind,
    pub total: Money,
    pub refundable: bool,
    /// Until when cancelling refunds it: departure minus 24 h for a refundable fare, the
    /// free-cancellation deadline for a flexible hotel rate.
    pub refund_until: Option<DateTime<Utc>>,
    /// First departure, or the check-in date.
    pub starts_at: Option<DateTime<Utc>>,
    /// Travellers a flight offer needs; none for hotels.
    pub passengers: Option<i32>,
    pub summary: String,
}

/// Flights refund only when departure is more than this far away.
pub const FLIGHT_REFUND_CUTOFF_HOURS: i64 = 24;

#[async_trait]
pub trait Inventory: Send + Sync + 'static {
    /// The offer revalidated: 409 sold out, 410 expired, 422 invalid as `PeerError::Status`.
    async fn offer(&self, offer_id: &str) -> Result<OfferTerms, PeerError>;
    /// Holds every offer's inventory for the booking (idempotent by booking id).
    async fn hold(
        &self,
        booking_id: Uuid,
        offer_ids: &[String],
        ttl_seconds: i64,
    ) -> Result<(), PeerError>;
    /// Held → sold; 409 when the hold expired or was released, 404 when there is none.
    async fn commit(&self, booking_id: Uuid) -> Result<(), PeerError>;
    /// Gives held or sold inventory back; 404 when there is no hold.
    async fn release(&self, booking_id: Uuid) -> Result<(), PeerError>;
}

pub struct SearchClient {
    client: PeerClient,
}

impl SearchClient {
    pub fn new(client: PeerClient) -> Self {
        Self { client }
    }
}

#[derive(Serialize)]
struct HoldRequest<'a> {
    booking_id: Uuid,
    offer_ids: &'a [String],
    ttl_seconds: i64,
}

fn decode(reason: &str) -> PeerError {
    PeerError::Decode {
        peer: "search-service".to_owned(),
        reason: reason.to_owned(),
    }
}

fn instant(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Reads the refund terms out of a flight or hotel offer.
pub fn terms(offer: &Value) -> Result<OfferTerms, PeerError> {
    let total: Money = serde_json::from_value(offer["total"].clone())
        .map_err(|_| decode("the offer has no total"))?;
    match offer["kind"].as_str() {
        Some("flight") => {
            let refundable = offer["fare_rules"]["refundable"].as_bool().unwrap_or(false);
            let departs = instant(&offer["slices"][0]["departure_at"])
                .ok_or_else(|| decode("the flight offer has no departure"))?;
            let slices = offer["slices"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let route: Vec<String> = slices
                .iter()
                .map(|s| {
                    format!(
                        "{} → {}",
                        s["origin"].as_str().unwrap_or("?"),
                        s["destination"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            let adults = offer["adults"]
                .as_i64()
                .and_then(|a| i32::try_from(a).ok())
                .ok_or_else(|| decode("the flight offer has no adults"))?;
            Ok(OfferTerms {
                kind: ItemKind::Flight,
                total,
                refundable,
                refund_until: refundable
                    .then(|| departs - Duration::hours(FLIGHT_REFUND_CUTOFF_HOURS)),
                starts_at: Some(departs),
                passengers: Some(adults),
                summary: format!(
                    "Flight {}, departing {}, {adults} adult{}",
                    route.join(", "),
                    offer["slices"][0]["departure_at"].as_str().unwrap_or("?"),
                    if adults == 1 { "" } else { "s" }
                ),
            })
        }
        Some("hotel") => {
            let policy = &offer["cancellation_policy"];
            let until = instant(&policy["free_cancellation_until"]);
            let refundable = policy["refundable"].as_bool().unwrap_or(false) && until.is_some();
            let check_in = offer["check_in"].as_str().unwrap_or("?");
            Ok(OfferTerms {
                kind: ItemKind::Hotel,
                total,
                refundable,
                refund_until: if refundable { until } else { None },
                starts_at: chrono::NaiveDate::parse_from_str(check_in, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc()),
                passengers: None,
                summary: format!(
                    "{}, {}: {}, {} night{} from {check_in}",
                    offer["hotel"]["name"].as_str().unwrap_or("Hotel"),
                    offer["hotel"]["city"].as_str().unwrap_or("?"),
                    offer["room_type"].as_str().unwrap_or("room"),
                    offer["nights"].as_i64().unwrap_or(0),
                    if offer["nights"].as_i64() == Some(1) {
                        ""
                    } else {
                        "s"
                    }
                ),
            })
        }
        _ => Err(decode("the offer is neither a flight nor a hotel")),
    }
}

#[async_trait]
impl Inventory for SearchClient {
    async fn offer(&self, offer_id: &str) -> Result<OfferTerms, PeerError> {
        // Offer ids are URL-safe base64 with a dot: safe in a path segment as they are.
        let offer: Value = self
            .client
            .call::<(), _>(
                Method::GET,
                &format!("/api/v1/offers/{offer_id}"),
                None,
                None,
                true,
            )
            .await?;
        terms(&offer)
    }

    async fn hold(
        &self,
        booking_id: Uuid,
        offer_ids: &[String],
        ttl_seconds: i64,
    ) -> Result<(), PeerError> {
        let body = HoldRequest {
            booking_id,
            offer_ids,
            ttl_seconds,
        };
        self.client
            .call::<_, Value>(Method::POST, "/internal/v1/holds", Some(&body), None, true)
            .await
            .map(|_| ())
    }

    async fn commit(&self, booking_id: Uuid) -> Result<(), PeerError> {
        self.client
            .call::<(), Value>(
                Method::POST,
                &format!("/internal/v1/holds/{booking_id}/commit"),
                None,
                None,
                true,
            )
            .await
            .map(|_| ())
    }

    async fn release(&self, booking_id: Uuid) -> Result<(), PeerError> {
        self.client
            .call::<(), Value>(
                Method::POST,
                &format!("/internal/v1/holds/{booking_id}/release"),
                None,
                None,
                true,
            )
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flight_terms_refund_until_a_day_before_departure() {
        let offer = json!({"kind": "flight", "total": {"amount": 30000, "currency": "USD"}, "adults": 2,
            "fare_rules": {"refundable": true},
            "slices": [{"origin": "JFK", "destination": "LAX", "departure_at": "2026-12-01T08:05:00-05:00"}]});
        let t = terms(&offer).expect("terms");
        assert_eq!(t.kind, ItemKind::Flight);
        assert_eq!(t.passengers, Some(2));
        assert_eq!(
            t.refund_until.map(|u| u.to_rfc3339()),
            Some("2026-11-30T13:05:00+00:00".to_owned())
        );
        let mut basic = offer.clone();
        basic["fare_rules"]["refundable"] = json!(false);
        assert_eq!(terms(&basic).expect("terms").refund_until, None);
    }

    #[test]
    fn hotel_terms_refund_until_the_free_cancellation_deadline() {
        let offer = json!({"kind": "hotel", "total": {"amount": 45000, "currency": "EUR"}, "nights": 3,
            "check_in": "2026-12-10", "room_type": "Double", "hotel": {"name": "Le Petit", "city": "Paris"},
            "cancellation_policy": {"refundable": true, "free_cancellation_until": "2026-12-08T18:00:00+01:00"}});
        let t = terms(&offer).expect("terms");
        assert!(t.refundable);
        assert_eq!(t.passengers, None);
        assert_eq!(
            t.refund_until.map(|u| u.to_rfc3339()),
            Some("2026-12-08T17:00:00+00:00".to_owned())
        );
        assert!(terms(&json!({"kind": "car"})).is_err());
    }
}
