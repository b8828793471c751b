//! search-service as booking-service sees it: offer revalidation (with the refund terms
//! a booking keeps) and the inventory holds of the saga.

use async_trait::async_trait;
use axum::http::Method;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};
use ota_contract::booking::ItemItinerary;
use ota_contract::search::{AnyOffer, FlightOffer, HoldRequest, HoldView, HotelOffer};
use ota_platform::client::{PeerClient, PeerError};
use ota_platform::money::Money;
use ota_platform::passengers::Passengers;
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
    /// What the offer describes, kept with the booking.
    pub itinerary: Option<ItemItinerary>,
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
    /// Holds every offer's inventory for the booking (idempotent by booking id); the
    /// reference is what hotels' suppliers receive the booking as.
    async fn hold(
        &self,
        booking_id: Uuid,
        reference: &str,
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

fn decode(reason: &str) -> PeerError {
    PeerError::Decode {
        peer: "search-service".to_owned(),
        reason: reason.to_owned(),
    }
}

fn instant(at: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(at).ok()
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
pub fn terms(offer: &AnyOffer, now: DateTime<Utc>) -> Result<OfferTerms, PeerError> {
    match offer {
        AnyOffer::Flight(o) => flight_terms(o, now),
        AnyOffer::Hotel(o) => Ok(hotel_terms(o, now)),
    }
}

fn flight_terms(offer: &FlightOffer, now: DateTime<Utc>) -> Result<OfferTerms, PeerError> {
    let first = offer
        .slices
        .first()
        .ok_or_else(|| decode("the flight offer has no slices"))?;
    let departs =
        instant(&first.departure_at).ok_or_else(|| decode("the flight offer has no departure"))?;
    let rules = &offer.fare_rules;
    let until = rules
        .refund_until
        .as_deref()
        .and_then(instant)
        .map(|u| u.with_timezone(&Utc))
        .unwrap_or(departs.with_timezone(&Utc) - Duration::hours(FLIGHT_REFUND_CUTOFF_HOURS));
    let refund_until = open_window(rules.refundable, Some(until), now);
    let route: Vec<String> = offer
        .slices
        .iter()
        .map(|s| format!("{} → {}", s.origin, s.destination))
        .collect();
    let passengers = offer.passengers;
    Ok(OfferTerms {
        kind: ItemKind::Flight,
        total: offer.total.clone(),
        refundable: refund_until.is_some(),
        refund_until,
        starts_at: Some(departs.with_timezone(&Utc)),
        travel_date: Some(departs.date_naive()),
        passengers: Some(passengers),
        rooms: None,
        itinerary: Some(ItemItinerary::Flight {
            slices: offer.slices.clone(),
            cabin: offer.cabin,
        }),
        summary: format!(
            "Flight {}, departing {}, {passengers}",
            route.join(", "),
            first.departure_at,
        ),
    })
}

fn hotel_terms(offer: &HotelOffer, now: DateTime<Utc>) -> OfferTerms {
    let policy = &offer.cancellation_policy;
    let until = policy
        .free_cancellation_until
        .as_deref()
        .and_then(instant)
        .map(|u| u.with_timezone(&Utc));
    let refund_until = open_window(policy.refundable, until, now);
    let check_in_at = instant(&offer.check_in_at)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            let (h, m) = DEFAULT_CHECK_IN;
            NaiveTime::from_hms_opt(h, m, 0).map(|t| offer.check_in.and_time(t).and_utc())
        });
    OfferTerms {
        kind: ItemKind::Hotel,
        total: offer.total.clone(),
        refundable: refund_until.is_some(),
        refund_until,
        starts_at: check_in_at,
        travel_date: Some(offer.check_in),
        passengers: None,
        rooms: Some(offer.rooms),
        itinerary: Some(ItemItinerary::Hotel {
            hotel: offer.hotel.clone(),
            room_type: offer.room_type.clone(),
            board: offer.board,
            rooms: offer.rooms,
            guests: offer.guests,
            nights: offer.nights,
            check_in_at: offer.check_in_at.clone(),
            check_out_at: offer.check_out_at.clone(),
            cancellation_policy: offer.cancellation_policy.clone(),
        }),
        summary: format!(
            "{}, {}: {}, {} night{} from {}",
            offer.hotel.name,
            offer.hotel.city,
            offer.room_type,
            offer.nights,
            if offer.nights == 1 { "" } else { "s" },
            offer.check_in,
        ),
    }
}

impl SearchClient {
    /// The bookings schedule imports changed a flight of, after change `after`.
    pub async fn schedule_changes(
        &self,
        after: i64,
    ) -> Result<Vec<ota_contract::search::ScheduleChange>, PeerError> {
        let answer: ota_contract::search::ScheduleChanges = self
            .client
            .call::<(), _>(
                Method::GET,
                &format!("/internal/v1/schedule-changes?after={after}&limit=500"),
                None,
                None,
                true,
            )
            .await?;
        Ok(answer.changes)
    }
}

#[async_trait]
impl Inventory for SearchClient {
    async fn offer(&self, offer_id: &str) -> Result<OfferTerms, PeerError> {
        // Offer ids are URL-safe base64 with a dot: safe in a path segment as they are.
        let offer: AnyOffer = self
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
        reference: &str,
        offer_ids: &[String],
        ttl_seconds: i64,
    ) -> Result<(), PeerError> {
        let body = HoldRequest {
            booking_id,
            offer_ids: offer_ids.to_vec(),
            ttl_seconds: Some(ttl_seconds),
            reference: Some(reference.to_owned()),
        };
        self.client
            .call::<_, HoldView>(Method::POST, "/internal/v1/holds", Some(&body), None, true)
            .await
            .map(|_| ())
    }

    async fn commit(&self, booking_id: Uuid) -> Result<(), PeerError> {
        self.client
            .call::<(), HoldView>(
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
            .call::<(), HoldView>(
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

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    fn hotel(refundable: bool, until: Option<&str>) -> HotelOffer {
        let mut h = HotelOffer::example();
        h.total = Money::new(45_000, "EUR");
        h.check_in = NaiveDate::from_ymd_opt(2026, 12, 10).expect("date");
        h.check_in_at = "2026-12-10T15:00:00+01:00".to_owned();
        h.cancellation_policy.refundable = refundable;
        h.cancellation_policy.free_cancellation_until = until.map(str::to_owned);
        h
    }

    fn flight(refundable: bool, until: Option<&str>, passengers: Passengers) -> AnyOffer {
        let mut f = FlightOffer::example();
        f.total = Money::new(30_000, "USD");
        f.passengers = passengers;
        f.adults = passengers.adults;
        f.slices[0].departure_at = "2026-12-01T08:05:00-05:00".to_owned();
        f.fare_rules.refundable = refundable;
        f.fare_rules.refund_until = until.map(str::to_owned);
        AnyOffer::Flight(f)
    }

    #[test]
    fn a_deadline_already_past_at_the_sale_sells_no_refund() {
        // Sold at 17:30 UTC on the 8th, half an hour after free cancellation ended.
        let mut rooms = hotel(true, Some("2026-12-08T18:00:00+01:00"));
        rooms.nights = 1;
        rooms.rooms = 2;
        let t = terms(&AnyOffer::Hotel(rooms), at("2026-12-08T17:30:00Z")).expect("terms");
        assert!(!t.refundable);
        assert_eq!(t.refund_until, None);
        assert_eq!(t.rooms, Some(2));
        assert_eq!(t.starts_at, Some(at("2026-12-10T14:00:00Z")));
        // A refundable fare sold within 24 h of departure refunds nothing either.
        let family = Passengers {
            adults: 1,
            children: 1,
            infants: 0,
        };
        let offer = flight(true, Some("2026-11-30T08:05:00-05:00"), family);
        let t = terms(&offer, at("2026-11-30T14:00:00Z")).expect("terms");
        assert!(!t.refundable);
        assert_eq!(t.refund_until, None);
        assert_eq!(t.passengers.map(|p| p.children), Some(1));
        let early = terms(&offer, at("2026-11-30T12:00:00Z")).expect("terms");
        assert_eq!(early.refund_until, Some(at("2026-11-30T13:05:00Z")));
    }

    #[test]
    fn flight_terms_refund_until_a_day_before_departure() {
        let offer = flight(true, None, Passengers::adults(2));
        let t = terms(&offer, at("2026-11-20T00:00:00Z")).expect("terms");
        assert_eq!(t.kind, ItemKind::Flight);
        assert_eq!(t.passengers, Some(Passengers::adults(2)));
        assert_eq!(t.travel_date, NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(
            t.refund_until.map(|u| u.to_rfc3339()),
            Some("2026-11-30T13:05:00+00:00".to_owned())
        );
        let basic = flight(false, None, Passengers::adults(2));
        assert_eq!(
            terms(&basic, at("2026-11-20T00:00:00Z"))
                .expect("terms")
                .refund_until,
            None
        );
        let mut nowhere = FlightOffer::example();
        nowhere.slices.clear();
        assert!(terms(&AnyOffer::Flight(nowhere), at("2026-11-20T00:00:00Z")).is_err());
    }

    #[test]
    fn hotel_terms_refund_until_the_free_cancellation_deadline() {
        let mut stay = hotel(true, Some("2026-12-08T18:00:00+01:00"));
        (stay.room_type, stay.hotel.name, stay.hotel.city) =
            ("Double".into(), "Le Petit".into(), "Paris".into());
        let t = terms(&AnyOffer::Hotel(stay), at("2026-12-01T00:00:00Z")).expect("terms");
        assert!(t.refundable);
        assert_eq!(t.passengers, None);
        assert_eq!(t.rooms, Some(1));
        assert_eq!(
            t.summary,
            "Le Petit, Paris: Double, 3 nights from 2026-12-10"
        );
        assert_eq!(
            t.refund_until.map(|u| u.to_rfc3339()),
            Some("2026-12-08T17:00:00+00:00".to_owned())
        );
    }
}
