//! search-service as booking-service sees it: offer revalidation (with the refund terms
//! a booking keeps) and the inventory holds of the saga.

use async_trait::async_trait;
use axum::http::Method;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use ota_platform::passengers::Passengers;
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
    /// First departure, or the check-in time: after it, no cancellation.
    pub starts_at: Option<DateTime<Utc>>,
    /// The local date of the first departure or of check-in: ages are taken on it.
    pub travel_date: Option<NaiveDate>,
    /// Travellers a flight offer is priced for, by type; none for hotels.
    pub passengers: Option<Passengers>,
    /// Rooms of a hotel offer; none for flights.
    pub rooms: Option<u8>,
    pub summary: String,
}

/// Flights refund only when departure is more than this far away (when the offer does
/// not say its own deadline).
pub const FLIGHT_REFUND_CUTOFF_HOURS: i64 = 24;
/// The check-in time assumed when a hotel offer does not say its own.
pub const DEFAULT_CHECK_IN: (u32, u32) = (15, 0);

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

fn instant(v: &Value) -> Option<DateTime<FixedOffset>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
}

/// A refund deadline as sold at `now`: one already past sells as no refund at all.
fn open_window(
    refundable: bool,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    until.filter(|u| refundable && *u > now)
}

/// Reads the terms a booking keeps out of a revalidated flight or hotel offer, with its
/// refund rules judged at `now` (the moment of sale).
pub fn terms(offer: &Value, now: DateTime<Utc>) -> Result<OfferTerms, PeerError> {
    let total: Money = serde_json::from_value(offer["total"].clone())
        .map_err(|_| decode("the offer has no total"))?;
    match offer["kind"].as_str() {
        Some("flight") => {
            let departs = instant(&offer["slices"][0]["departure_at"])
                .ok_or_else(|| decode("the flight offer has no departure"))?;
            let rules = &offer["fare_rules"];
            let until = instant(&rules["refund_until"])
                .map(|u| u.with_timezone(&Utc))
                .unwrap_or(
                    departs.with_timezone(&Utc) - Duration::hours(FLIGHT_REFUND_CUTOFF_HOURS),
                );
            let refund_until = open_window(
                rules["refundable"].as_bool().unwrap_or(false),
                Some(until),
                now,
            );
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
            let passengers = match serde_json::from_value::<Passengers>(offer["passengers"].clone())
            {
                Ok(p) => p,
                Err(_) => Passengers::adults(
                    offer["adults"]
                        .as_u64()
                        .and_then(|a| u8::try_from(a).ok())
                        .ok_or_else(|| decode("the flight offer has no passengers"))?,
                ),
            };
            Ok(OfferTerms {
                kind: ItemKind::Flight,
                total,
                refundable: refund_until.is_some(),
                refund_until,
                starts_at: Some(departs.with_timezone(&Utc)),
                travel_date: Some(departs.date_naive()),
                passengers: Some(passengers),
                rooms: None,
                summary: format!(
                    "Flight {}, departing {}, {passengers}",
                    route.join(", "),
                    offer["slices"][0]["departure_at"].as_str().unwrap_or("?"),
                ),
            })
        }
        Some("hotel") => {
            let policy = &offer["cancellation_policy"];
            let until = instant(&policy["free_cancellation_until"]).map(|u| u.with_timezone(&Utc));
            let refund_until =
                open_window(policy["refundable"].as_bool().unwrap_or(false), until, now);
            let check_in = offer["check_in"].as_str().unwrap_or("?");
            let check_in_date = NaiveDate::parse_from_str(check_in, "%Y-%m-%d").ok();
            let check_in_at = instant(&offer["check_in_at"])
                .map(|t| t.with_timezone(&Utc))
                .or_else(|| {
                    let (h, m) = DEFAULT_CHECK_IN;
                    check_in_date.and_then(|d| {
                        NaiveTime::from_hms_opt(h, m, 0).map(|t| d.and_time(t).and_utc())
                    })
                });
            let rooms = offer["rooms"]
                .as_u64()
                .and_then(|r| u8::try_from(r).ok())
                .unwrap_or(1);
            Ok(OfferTerms {
                kind: ItemKind::Hotel,
                total,
                refundable: refund_until.is_some(),
                refund_until,
                starts_at: check_in_at,
                travel_date: check_in_date,
                passengers: None,
                rooms: Some(rooms),
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
        terms(&offer, Utc::now())
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

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_deadline_already_past_at_the_sale_sells_no_refund() {
        // Sold at 17:30 UTC on the 8th, half an hour after free cancellation ended.
        let hotel = json!({"kind": "hotel", "total": {"amount": 45000, "currency": "EUR"}, "nights": 1,
            "check_in": "2026-12-10", "rooms": 2, "check_in_at": "2026-12-10T15:00:00+01:00",
            "cancellation_policy": {"refundable": true, "free_cancellation_until": "2026-12-08T18:00:00+01:00"}});
        let t = terms(&hotel, at("2026-12-08T17:30:00Z")).expect("terms");
        assert!(!t.refundable);
        assert_eq!(t.refund_until, None);
        assert_eq!(t.rooms, Some(2));
        assert_eq!(t.starts_at, Some(at("2026-12-10T14:00:00Z")));
        // A refundable fare sold within 24 h of departure refunds nothing either.
        let flight = json!({"kind": "flight", "total": {"amount": 30000, "currency": "USD"}, "adults": 1,
            "passengers": {"adults": 1, "children": 1, "infants": 0},
            "fare_rules": {"refundable": true, "refund_until": "2026-11-30T08:05:00-05:00"},
            "slices": [{"origin": "JFK", "destination": "LAX", "departure_at": "2026-12-01T08:05:00-05:00"}]});
        let t = terms(&flight, at("2026-11-30T14:00:00Z")).expect("terms");
        assert!(!t.refundable);
        assert_eq!(t.refund_until, None);
        assert_eq!(t.passengers.map(|p| p.children), Some(1));
        let early = terms(&flight, at("2026-11-30T12:00:00Z")).expect("terms");
        assert_eq!(early.refund_until, Some(at("2026-11-30T13:05:00Z")));
    }

    #[test]
    fn flight_terms_refund_until_a_day_before_departure() {
        let offer = json!({"kind": "flight", "total": {"amount": 30000, "currency": "USD"}, "adults": 2,
            "fare_rules": {"refundable": true},
            "slices": [{"origin": "JFK", "destination": "LAX", "departure_at": "2026-12-01T08:05:00-05:00"}]});
        let t = terms(&offer, at("2026-11-20T00:00:00Z")).expect("terms");
        assert_eq!(t.kind, ItemKind::Flight);
        assert_eq!(t.passengers, Some(Passengers::adults(2)));
        assert_eq!(t.travel_date, NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(
            t.refund_until.map(|u| u.to_rfc3339()),
            Some("2026-11-30T13:05:00+00:00".to_owned())
        );
        let mut basic = offer.clone();
        basic["fare_rules"]["refundable"] = json!(false);
        assert_eq!(
            terms(&basic, at("2026-11-20T00:00:00Z"))
                .expect("terms")
                .refund_until,
            None
        );
    }

    #[test]
    fn hotel_terms_refund_until_the_free_cancellation_deadline() {
        let offer = json!({"kind": "hotel", "total": {"amount": 45000, "currency": "EUR"}, "nights": 3,
            "check_in": "2026-12-10", "room_type": "Double", "hotel": {"name": "Le Petit", "city": "Paris"},
            "cancellation_policy": {"refundable": true, "free_cancellation_until": "2026-12-08T18:00:00+01:00"}});
        let t = terms(&offer, at("2026-12-01T00:00:00Z")).expect("terms");
        assert!(t.refundable);
        assert_eq!(t.passengers, None);
        assert_eq!(t.rooms, Some(1));
        assert_eq!(
            t.refund_until.map(|u| u.to_rfc3339()),
            Some("2026-12-08T17:00:00+00:00".to_owned())
        );
        assert!(terms(&json!({"kind": "car"}), at("2026-12-01T00:00:00Z")).is_err());
    }
}
