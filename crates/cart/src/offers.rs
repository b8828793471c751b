//! Offers are checked with search-service (`GET /api/v1/offers/{offer_id}`) when they
//! enter the cart: the price a cart shows is one search-service vouched for.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::Method;
use chrono::{DateTime, Utc};
use ota_contract::search::{AnyOffer, Slice};
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::passengers::Passengers;
use ota_platform::server::Context;

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
            .call::<(), AnyOffer>(Method::GET, &path, None, None, true)
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

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "JFK → LAX, 2026-12-09, 1 stop, 2 adults, 1 infant"; a round trip lists both slices.
pub fn flight_summary(slices: &[Slice], passengers: Passengers) -> String {
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
                local_date(&s.departure_at).unwrap_or_default()
            )
        })
        .collect();
    format!("{}, {passengers}", legs.join("; "))
}

/// "Grand Paris Hotel, Standard Room, 3 nights".
pub fn hotel_summary(hotel: &str, room_type: &str, nights: u16) -> String {
    format!(
        "{hotel}, {room_type}, {}",
        plural(usize::from(nights), "night", "nights")
    )
}

/// The local date of an RFC 3339 instant: a flight's date is the one on the ticket.
fn local_date(at: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.date_naive().to_string())
}

/// Turns search-service's answer into what the cart keeps, refusing answers no real
/// offer has (so a bug upstream cannot put a negative price or an empty flight in a cart).
pub fn valid_offer(offer_id: &str, offer: AnyOffer) -> Result<ValidOffer, String> {
    let (kind, total, expires_at, summary, passengers) = match offer {
        AnyOffer::Flight(o) => {
            let passengers = o.passengers;
            if o.slices.is_empty() || passengers.check().is_err() {
                return Err("a flight offer without slices or with no adult".to_owned());
            }
            if o.slices
                .iter()
                .any(|s| local_date(&s.departure_at).is_none())
            {
                return Err("a flight offer without a departure time".to_owned());
            }
            let summary = flight_summary(&o.slices, passengers);
            (
                OfferKind::Flight,
                o.total,
                o.expires_at,
                summary,
                Some(passengers),
            )
        }
        AnyOffer::Hotel(h) => {
            if h.nights == 0 {
                return Err("a hotel offer of zero nights".to_owned());
            }
            let summary = hotel_summary(&h.hotel.name, &h.room_type, h.nights);
            (OfferKind::Hotel, h.total, h.expires_at, summary, None)
        }
    };
    if !(0..=MAX_AMOUNT).contains(&total.amount) || total.currency_code().is_err() {
        return Err(format!("an offer priced {total}"));
    }
    let expires_at = DateTime::parse_from_rfc3339(&expires_at)
        .map_err(|_| format!("an offer expiring at {expires_at:?}"))?;
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
    use ota_contract::search::{FlightOffer, HotelOffer};
    use ota_platform::money::Money;

    use super::*;

    /// An offer as the cart reads it off the wire.
    fn parse(offer: AnyOffer) -> AnyOffer {
        let json = serde_json::to_value(offer).expect("json");
        serde_json::from_value(json).expect("an offer")
    }

    fn flight(departure_at: &str, stops: usize, passengers: Passengers) -> FlightOffer {
        let mut o = FlightOffer::example();
        o.passengers = passengers;
        o.adults = passengers.adults;
        o.slices[0].departure_at = departure_at.to_owned();
        o.slices[0].stops = stops;
        o
    }

    #[test]
    fn a_flight_offer_becomes_an_item_with_its_adults() {
        let mut offer = flight("2026-12-09T21:30:00-05:00", 1, Passengers::adults(2));
        offer.total = Money::new(45_600, "USD");
        offer.expires_at = "2026-12-01T10:20:00+00:00".to_owned();
        let valid = valid_offer("k.p.m", parse(AnyOffer::Flight(offer))).expect("valid");
        assert_eq!(valid.kind, OfferKind::Flight);
        assert_eq!(valid.passengers, Some(Passengers::adults(2)));
        assert_eq!(valid.total, Money::new(45_600, "USD"));
        // The local departure date, not the UTC one (02:30 UTC on the 10th).
        assert_eq!(valid.summary, "JFK → LAX, 2026-12-09, 1 stop, 2 adults");
        assert_eq!(valid.expires_at.to_rfc3339(), "2026-12-01T10:20:00+00:00");
    }

    #[test]
    fn round_trips_and_nonstop_flights_read_naturally() {
        let mut round = flight("2026-12-09T18:00:00-05:00", 0, Passengers::adults(1));
        let mut back = round.slices[0].clone();
        (back.origin, back.destination) = ("LHR".to_owned(), "JFK".to_owned());
        back.departure_at = "2026-12-16T11:00:00+00:00".to_owned();
        back.stops = 2;
        round.slices[0].destination = "LHR".to_owned();
        round.slices.push(back);
        assert_eq!(
            flight_summary(&round.slices, Passengers::adults(1)),
            "JFK → LHR, 2026-12-09, nonstop; LHR → JFK, 2026-12-16, 2 stops, 1 adult"
        );
        let family = Passengers {
            adults: 2,
            children: 1,
            infants: 1,
        };
        let offer = flight("2026-12-09T21:30:00-05:00", 0, family);
        let valid = valid_offer("k.p.m", parse(AnyOffer::Flight(offer))).expect("valid");
        assert_eq!(
            valid.summary,
            "JFK → LAX, 2026-12-09, nonstop, 2 adults, 1 child, 1 infant"
        );
    }

    #[test]
    fn a_hotel_offer_has_no_passengers() {
        let mut offer = HotelOffer::example();
        offer.total = Money::new(90_000, "EUR");
        let valid = valid_offer("k.p.m", parse(AnyOffer::Hotel(offer))).expect("valid");
        assert_eq!(valid.kind, OfferKind::Hotel);
        assert_eq!(valid.passengers, None);
        assert_eq!(valid.summary, "Grand Paris Hotel, Standard Room, 3 nights");
        assert_eq!(hotel_summary("Inn", "Twin", 1), "Inn, Twin, 1 night");
    }

    #[test]
    fn implausible_answers_are_refused() {
        let hotel = |amount: i64, currency: &str| {
            let mut h = HotelOffer::example();
            h.total = Money::new(amount, currency);
            AnyOffer::Hotel(h)
        };
        assert!(valid_offer("a.b.c", hotel(-1, "USD")).is_err());
        assert!(valid_offer("a.b.c", hotel(MAX_AMOUNT + 1, "USD")).is_err());
        assert!(valid_offer("a.b.c", hotel(100, "usd")).is_err());
        assert!(valid_offer("a.b.c", hotel(100, "USD")).is_ok());
        let mut empty = FlightOffer::example();
        empty.slices.clear();
        assert!(valid_offer("a.b.c", AnyOffer::Flight(empty)).is_err());
        let mut undated = FlightOffer::example();
        undated.slices[0].departure_at = "tomorrow".to_owned();
        assert!(valid_offer("a.b.c", AnyOffer::Flight(undated)).is_err());
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
