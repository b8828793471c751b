//! Offers are checked with search-service (`GET /api/v1/offers/{offer_id}`) when they
//! enter the cart: the price a cart shows is one search-service vouched for.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::Method;
use chrono::{DateTime, FixedOffset, Utc};
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use ota_platform::passengers::Passengers;
use ota_platform::server::Context;
use serde::Deserialize;

use crate::cart::{MAX_AMOUNT, OfferKind, ValidOffer};

/// Why an offer cannot go into a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The offer's price guarantee has ended (or the flight has left).
    Expired,
    /// Not enough seats or rooms are left.
    SoldOut,
    /// Not an offer id search-service issued.
    Invalid,
    /// search-service could not answer (down, slow, or answering nonsense).
    Unavailable,
}

/// Where offers are revalidated. A trait so the handlers know nothing of HTTP and a
/// test or another source of offers can stand in for search-service.
#[async_trait]
pub trait Offers: Send + Sync {
    async fn revalidate(&self, offer_id: &str) -> Result<ValidOffer, Refusal>;
}

/// Whether `offer_id` can be an offer id at all: `kid.payload.mac` in URL-safe
/// base64. Anything else is refused before it becomes part of a URL path, so an id can
/// never steer the call to another path of search-service.
pub fn well_formed(offer_id: &str) -> bool {
    offer_id.len() <= 2_048
        && offer_id.split('.').count() == 3
        && offer_id.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// search-service over HTTP, with a service token and short timeouts so an add never
/// hangs on a slow peer: two attempts of two seconds at most.
pub struct SearchOffers {
    client: PeerClient,
}

impl SearchOffers {
    /// A client of search-service at `base_url`, sharing the process's connection pool
    /// and key ring.
    pub fn new(ctx: &Context, caller: &'static str, base_url: &str) -> Self {
        Self {
            client: PeerClient::new(
                "search-service",
                caller,
                base_url,
                ctx.keys.clone(),
                ctx.http.clone(),
            )
            .with_timeout(Duration::from_secs(2))
            .with_retries(1),
        }
    }
}

#[async_trait]
impl Offers for SearchOffers {
    async fn revalidate(&self, offer_id: &str) -> Result<ValidOffer, Refusal> {
        if !well_formed(offer_id) {
            return Err(Refusal::Invalid);
        }
        let path = format!("/api/v1/offers/{offer_id}");
        // Revalidation reads and changes nothing: safe to retry.
        let answer = self
            .client
            .call::<(), SearchOffer>(Method::GET, &path, None, None, true)
            .await
            .map_err(refusal)?;
        valid_offer(offer_id, answer).map_err(|reason| {
            tracing::error!(%reason, "search-service answered an offer the cart cannot use");
            Refusal::Unavailable
        })
    }
}

/// What search-service's refusals mean for the cart.
fn refusal(e: PeerError) -> Refusal {
    match e {
        PeerError::Status { status: 410, .. } => Refusal::Expired,
        PeerError::Status { status: 409, .. } => Refusal::SoldOut,
        PeerError::Status {
            status: 400 | 404 | 422,
            ..
        } => Refusal::Invalid,
        other => {
            tracing::error!(error = %other, "search-service could not revalidate an offer");
            Refusal::Unavailable
        }
    }
}

// ---------------------------------------------------------------------------------------
// search-service's offers, as much of them as the cart needs

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SearchOffer {
    Flight {
        total: Money,
        expires_at: DateTime<FixedOffset>,
        adults: u8,
        /// Travellers by type; offers made before passenger types name adults only.
        #[serde(default)]
        passengers: Option<Passengers>,
        slices: Vec<SearchSlice>,
    },
    Hotel {
        total: Money,
        expires_at: DateTime<FixedOffset>,
        hotel: SearchHotel,
        room_type: String,
        nights: u16,
    },
}

#[derive(Debug, Deserialize)]
pub struct SearchSlice {
    pub origin: String,
    pub destination: String,
    /// Local time at the origin: its date is the one on the traveller's ticket.
    pub departure_at: DateTime<FixedOffset>,
    pub stops: u32,
}

#[derive(Debug, Deserialize)]
pub struct SearchHotel {
    pub name: String,
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "JFK → LAX, 2026-12-09, 1 stop, 2 adults, 1 infant"; a round trip lists both slices.
pub fn flight_summary(slices: &[SearchSlice], passengers: Passengers) -> String {
    let legs: Vec<String> = slices
        .iter()
        .map(|s| {
            let stops = if s.stops == 0 {
                "nonstop".to_owned()
            } else {
                plural(s.stops, "stop", "stops")
            };
            format!(
                "{} → {}, {}, {stops}",
                s.origin,
                s.destination,
                s.departure_at.date_naive()
            )
        })
        .collect();
    format!("{}, {passengers}", legs.join("; "))
}

/// "Grand Paris Hotel, Standard Room, 3 nights".
pub fn hotel_summary(hotel: &str, room_type: &str, nights: u16) -> String {
    format!(
        "{hotel}, {room_type}, {}",
        plural(u32::from(nights), "night", "nights")
    )
}

/// Turns search-service's answer into what the cart keeps, refusing answers no real
/// offer has (so a bug upstream cannot put a negative price or an empty flight in a cart).
pub fn valid_offer(offer_id: &str, offer: SearchOffer) -> Result<ValidOffer, String> {
    let (kind, total, expires_at, summary, passengers) = match offer {
        SearchOffer::Flight {
            total,
            expires_at,
            adults,
            passengers,
            slices,
        } => {
            let passengers = passengers.unwrap_or(Passengers::adults(adults));
            if slices.is_empty() || passengers.check().is_err() {
                return Err("a flight offer without slices or with no adult".to_owned());
            }
            let summary = flight_summary(&slices, passengers);
            (
                OfferKind::Flight,
                total,
                expires_at,
                summary,
                Some(passengers),
            )
        }
        SearchOffer::Hotel {
            total,
            expires_at,
            hotel,
            room_type,
            nights,
        } => {
            if nights == 0 {
                return Err("a hotel offer of zero nights".to_owned());
            }
            let summary = hotel_summary(&hotel.name, &room_type, nights);
            (OfferKind::Hotel, total, expires_at, summary, None)
        }
    };
    if !(0..=MAX_AMOUNT).contains(&total.amount) || total.currency_code().is_err() {
        return Err(format!("an offer priced {total}"));
    }
    Ok(ValidOffer {
        offer_id: offer_id.to_owned(),
        kind,
        total,
        expires_at: expires_at.with_timezone(&Utc),
        summary,
        passengers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> SearchOffer {
        serde_json::from_value(json).expect("an offer")
    }

    #[test]
    fn a_flight_offer_becomes_an_item_with_its_adults() {
        let offer = parse(serde_json::json!({
            "offer_id": "k.p.m", "kind": "flight", "expires_at": "2026-12-01T10:20:00+00:00",
            "total": {"amount": 45_600, "currency": "USD"}, "adults": 2, "cabin": "economy",
            "slices": [{"origin": "JFK", "destination": "LAX",
                "departure_at": "2026-12-09T21:30:00-05:00", "arrival_at": "2026-12-10T01:10:00-08:00",
                "duration_minutes": 400, "stops": 1, "segments": []}]
        }));
        let valid = valid_offer("k.p.m", offer).expect("valid");
        assert_eq!(valid.kind, OfferKind::Flight);
        assert_eq!(valid.passengers, Some(Passengers::adults(2)));
        assert_eq!(valid.total, Money::new(45_600, "USD"));
        // The local departure date, not the UTC one (02:30 UTC on the 10th).
        assert_eq!(valid.summary, "JFK → LAX, 2026-12-09, 1 stop, 2 adults");
        assert_eq!(valid.expires_at.to_rfc3339(), "2026-12-01T10:20:00+00:00");
    }

    #[test]
    fn round_trips_and_nonstop_flights_read_naturally() {
        let slice = |o: &str, d: &str, at: &str, stops| SearchSlice {
            origin: o.into(),
            destination: d.into(),
            departure_at: DateTime::parse_from_rfc3339(at).expect("time"),
            stops,
        };
        let summary = flight_summary(
            &[
                slice("JFK", "LHR", "2026-12-09T18:00:00-05:00", 0),
                slice("LHR", "JFK", "2026-12-16T11:00:00+00:00", 2),
            ],
            Passengers::adults(1),
        );
        assert_eq!(
            summary,
            "JFK → LHR, 2026-12-09, nonstop; LHR → JFK, 2026-12-16, 2 stops, 1 adult"
        );
        let family = parse(serde_json::json!({
            "offer_id": "k.p.m", "kind": "flight", "expires_at": "2026-12-01T10:20:00+00:00",
            "total": {"amount": 99_000, "currency": "USD"}, "adults": 2,
            "passengers": {"adults": 2, "children": 1, "infants": 1},
            "slices": [{"origin": "JFK", "destination": "LAX",
                "departure_at": "2026-12-09T21:30:00-05:00", "stops": 0}]
        }));
        let valid = valid_offer("k.p.m", family).expect("valid");
        assert_eq!(
            valid.summary,
            "JFK → LAX, 2026-12-09, nonstop, 2 adults, 1 child, 1 infant"
        );
    }

    #[test]
    fn a_hotel_offer_has_no_passengers() {
        let offer = parse(serde_json::json!({
            "offer_id": "k.p.m", "kind": "hotel", "expires_at": "2026-12-01T10:20:00+00:00",
            "total": {"amount": 90_000, "currency": "EUR"}, "nights": 3, "room_type": "Standard Room",
            "hotel": {"id": 1, "name": "Grand Paris Hotel", "stars": 4, "city": "Paris"}
        }));
        let valid = valid_offer("k.p.m", offer).expect("valid");
        assert_eq!(valid.kind, OfferKind::Hotel);
        assert_eq!(valid.passengers, None);
        assert_eq!(valid.summary, "Grand Paris Hotel, Standard Room, 3 nights");
        assert_eq!(hotel_summary("Inn", "Twin", 1), "Inn, Twin, 1 night");
    }

    #[test]
    fn implausible_answers_are_refused() {
        let hotel = |amount: i64, currency: &str| SearchOffer::Hotel {
            total: Money::new(amount, currency),
            expires_at: DateTime::parse_from_rfc3339("2026-12-01T10:20:00+00:00").expect("time"),
            hotel: SearchHotel { name: "Inn".into() },
            room_type: "Twin".into(),
            nights: 2,
        };
        assert!(valid_offer("a.b.c", hotel(-1, "USD")).is_err());
        assert!(valid_offer("a.b.c", hotel(MAX_AMOUNT + 1, "USD")).is_err());
        assert!(valid_offer("a.b.c", hotel(100, "usd")).is_err());
        assert!(valid_offer("a.b.c", hotel(100, "USD")).is_ok());
    }

    #[test]
    fn only_offer_shaped_ids_reach_a_url() {
        assert!(well_formed("3f2a1b.eyJrIjoiZiJ9.c2lnbmF0dXJl-_"));
        for bad in [
            "",
            "garbage",
            "..",
            "a..b",
            "a.b.c.d",
            "a/b.c.d",
            "../../internal/v1/holds.x.y",
            "a.b?x=1.c",
            "a.b#c.d",
            "a.b.c%2F",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
        assert!(!well_formed(&format!("a.{}.c", "x".repeat(2_048))));
    }
}
