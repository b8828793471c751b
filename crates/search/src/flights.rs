//! Flight search over the index: direct flights and connections (up to two stops) that
//! respect minimum connection times, one-way or round trip.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use ota_platform::money::Money;
use serde::Serialize;

use crate::catalog::Cabin;
use crate::index::{Flight, Index};
use crate::offers::{OFFER_TTL_SECS, OfferClaims};

/// Minimum connection time within one country, and across borders.
pub const MCT_DOMESTIC_MIN: i64 = 60;
pub const MCT_INTERNATIONAL_MIN: i64 = 90;
/// Longest layover offered.
pub const MAX_LAYOVER_MIN: i64 = 8 * 60;
/// Itineraries considered per direction: bounds time and memory whatever the query.
const MAX_CANDIDATES: usize = 3_000;
/// Round trips pair the best this-many outbound with the best this-many return options.
pub const ROUND_TRIP_PAIRING: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Price,
    Duration,
    Departure,
}

#[derive(Debug, Clone)]
pub struct FlightQuery {
    pub origin: u16,
    pub destination: u16,
    pub departure_date: NaiveDate,
    pub return_date: Option<NaiveDate>,
    pub adults: u8,
    pub cabin: Cabin,
    pub max_stops: u8,
    pub sort: Sort,
    pub carriers: Vec<String>,
    pub departure_after: Option<NaiveTime>,
    pub departure_before: Option<NaiveTime>,
    pub max_price: Option<i64>,
}

/// One direction: flights in order.
#[derive(Debug, Clone)]
pub struct Journey {
    pub legs: Vec<u32>,
    /// Per passenger.
    pub fare: i64,
    pub seats: i32,
    pub departure: DateTime<Utc>,
    pub arrival: DateTime<Utc>,
}

impl Journey {
    fn minutes(&self) -> i64 {
        (self.arrival - self.departure).num_minutes()
    }
}

/// A priced answer: one journey one-way, two for a round trip.
#[derive(Debug, Clone)]
pub struct Itinerary {
    pub journeys: Vec<Journey>,
    pub total: i64,
    pub seats: i32,
}

impl Itinerary {
    fn minutes(&self) -> i64 {
        self.journeys.iter().map(Journey::minutes).sum()
    }
}

fn compare(sort: Sort, a: &Itinerary, b: &Itinerary) -> Ordering {
    let by_price = a.total.cmp(&b.total);
    let by_duration = a.minutes().cmp(&b.minutes());
    let by_departure = a.journeys[0].departure.cmp(&b.journeys[0].departure);
    match sort {
        Sort::Price => by_price.then(by_duration).then(by_departure),
        Sort::Duration => by_duration.then(by_price).then(by_departure),
        Sort::Departure => by_departure.then(by_price).then(by_duration),
    }
}

fn mct(index: &Index, at: u16, arriving: &Flight, leaving: &Flight) -> i64 {
    let here = &index.airports[at as usize].country;
    let from = &index.airports[arriving.origin as usize].country;
    let to = &index.airports[leaving.destination as usize].country;
    if from == here && to == here {
        MCT_DOMESTIC_MIN
    } else {
        MCT_INTERNATIONAL_MIN
    }
}

fn connects(index: &Index, arriving: &Flight, leaving: &Flight) -> bool {
    let gap = (leaving.departure - arriving.arrival).num_minutes();
    gap >= mct(index, arriving.destination, arriving, leaving) && gap <= MAX_LAYOVER_MIN
}

/// Journeys from `origin` to `destination` leaving on `date` (local), cheapest fares
/// in `cabin`, with at least `adults` seats on every leg.
pub fn journeys(
    index: &Index,
    q: &FlightQuery,
    origin: u16,
    destination: u16,
    date: NaiveDate,
) -> Vec<Journey> {
    let usable = |f: &Flight| -> Option<(i64, i32)> {
        if !q.carriers.is_empty() && !q.carriers.contains(&f.carrier) {
            return None;
        }
        let cabin = f.cabin(q.cabin)?;
        let seats = cabin.remaining();
        (seats >= i32::from(q.adults)).then_some((cabin.fare, seats))
    };
    let first_leg_ok = |f: &Flight| -> bool {
        let local = f
            .departure
            .with_timezone(&index.airports[origin as usize].tz)
            .time();
        q.departure_after.is_none_or(|t| local >= t)
            && q.departure_before.is_none_or(|t| local <= t)
    };
    // Connections may leave on the next local day.
    let onward = |at: u16, to: u16, after: &Flight| -> Vec<u32> {
        let d = after
            .arrival
            .with_timezone(&index.airports[at as usize].tz)
            .date_naive();
        [d, d + Duration::days(1)]
            .iter()
            .filter_map(|day| index.direct.get(&(at, to, *day)))
            .flatten()
            .copied()
            .collect()
    };
    let leaving = |at: u16, after: &Flight| -> Vec<u32> {
        let d = after
            .arrival
            .with_timezone(&index.airports[at as usize].tz)
            .date_naive();
        [d, d + Duration::days(1)]
            .iter()
            .filter_map(|day| index.departures.get(&(at, *day)))
            .flatten()
            .copied()
            .collect()
    };
    let mut out: Vec<Journey> = Vec::new();
    let priced = |legs: Vec<u32>| -> Option<Journey> {
        let mut fare = 0;
        let mut seats = i32::MAX;
        for &l in &legs {
            let (f, s) = usable(&index.flights[l as usize])?;
            fare += f;
            seats = seats.min(s);
        }
        let first = &index.flights[*legs.first()? as usize];
        let last = &index.flights[*legs.last()? as usize];
        Some(Journey {
            departure: first.departure,
            arrival: last.arrival,
            legs,
            fare,
            seats,
        })
    };
    let Some(first_legs) = index.departures.get(&(origin, date)) else {
        return Vec::new();
    };
    for &a in first_legs {
        let fa = &index.flights[a as usize];
        if !first_leg_ok(fa) || usable(fa).is_none() {
            continue;
        }
        if fa.destination == destination {
            out.extend(priced(vec![a]));
            continue;
        }
        if q.max_stops == 0 || fa.destination == origin {
            continue;
        }
        let x = fa.destination;
        for b in onward(x, destination, fa) {
            if connects(index, fa, &index.flights[b as usize]) {
                out.extend(priced(vec![a, b]));
            }
        }
        if q.max_stops < 2 {
            continue;
        }
        for b in leaving(x, fa) {
            let fb = &index.flights[b as usize];
            let y = fb.destination;
            if y == origin
                || y == destination
                || y == x
                || !connects(index, fa, fb)
                || usable(fb).is_none()
            {
                continue;
            }
            for c in onward(y, destination, fb) {
                if connects(index, fb, &index.flights[c as usize]) {
                    out.extend(priced(vec![a, b, c]));
                }
            }
            if out.len() >= MAX_CANDIDATES {
                break;
            }
        }
        if out.len() >= MAX_CANDIDATES {
            break;
        }
    }
    // A sensible itinerary is not much longer than the best one found.
    if let Some(best) = out.iter().map(Journey::minutes).min() {
        out.retain(|j| j.minutes() <= best * 2 + 6 * 60);
    }
    out
}

/// Every priced itinerary for the query, sorted.
pub fn search(index: &Index, q: &FlightQuery) -> Vec<Itinerary> {
    let adults = i64::from(q.adults);
    let wrap = |j: Journey| Itinerary {
        total: j.fare * adults,
        seats: j.seats,
        journeys: vec![j],
    };
    let mut outbound: Vec<Itinerary> =
        journeys(index, q, q.origin, q.destination, q.departure_date)
            .into_iter()
            .map(wrap)
            .collect();
    outbound.sort_by(|a, b| compare(q.sort, a, b));
    let mut result = match q.return_date {
        None => outbound,
        Some(back) => {
            let mut inbound: Vec<Itinerary> = journeys(index, q, q.destination, q.origin, back)
                .into_iter()
                .map(wrap)
                .collect();
            inbound.sort_by(|a, b| compare(q.sort, a, b));
            let mut pairs = Vec::new();
            for o in outbound.iter().take(ROUND_TRIP_PAIRING) {
                for i in inbound.iter().take(ROUND_TRIP_PAIRING) {
                    // The return must leave after the outbound lands.
                    if i.journeys[0].departure <= o.journeys[0].arrival {
                        continue;
                    }
                    pairs.push(Itinerary {
                        journeys: vec![o.journeys[0].clone(), i.journeys[0].clone()],
                        total: o.total + i.total,
                        seats: o.seats.min(i.seats),
                    });
                }
            }
            pairs.sort_by(|a, b| compare(q.sort, a, b));
            pairs
        }
    };
    if let Some(max) = q.max_price {
        result.retain(|i| i.total <= max);
    }
    result
}

// ---------------------------------------------------------------------------------------
// Answers

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Segment {
    pub carrier: String,
    pub carrier_name: String,
    pub flight_number: String,
    pub origin: String,
    pub destination: String,
    pub departure_at: String,
    pub arrival_at: String,
    pub duration_minutes: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Slice {
    pub origin: String,
    pub destination: String,
    pub departure_at: String,
    pub arrival_at: String,
    pub duration_minutes: i64,
    pub stops: usize,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FareRules {
    pub refundable: bool,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Offer {
    pub offer_id: String,
    pub kind: &'static str,
    pub expires_at: String,
    pub total: Money,
    pub price_per_adult: Money,
    pub adults: u8,
    pub cabin: Cabin,
    pub seats_remaining: i32,
    pub fare_rules: FareRules,
    pub slices: Vec<Slice>,
}

/// Local time at an airport, RFC 3339 with its offset.
pub fn local(index: &Index, airport: u16, at: DateTime<Utc>) -> String {
    at.with_timezone(&index.airports[airport as usize].tz)
        .to_rfc3339()
}

fn slice(index: &Index, legs: &[i64]) -> Option<Slice> {
    let flights: Vec<&Flight> = legs
        .iter()
        .map(|id| index.flight(*id))
        .collect::<Option<_>>()?;
    let (first, last) = (flights.first()?, flights.last()?);
    let code = |a: u16| index.airports[a as usize].iata.clone();
    Some(Slice {
        origin: code(first.origin),
        destination: code(last.destination),
        departure_at: local(index, first.origin, first.departure),
        arrival_at: local(index, last.destination, last.arrival),
        duration_minutes: (last.arrival - first.departure).num_minutes(),
        stops: flights.len() - 1,
        segments: flights
            .iter()
            .map(|f| Segment {
                carrier: f.carrier.clone(),
                carrier_name: index.carriers.get(&f.carrier).cloned().unwrap_or_default(),
                flight_number: format!("{}{}", f.carrier, f.flight_number),
                origin: code(f.origin),
                destination: code(f.destination),
                departure_at: local(index, f.origin, f.departure),
                arrival_at: local(index, f.destination, f.arrival),
                duration_minutes: (f.arrival - f.departure).num_minutes(),
            })
            .collect(),
    })
}

/// Renders signed claims as an offer, with seats as the index sees them now.
pub fn render(index: &Index, claims: &OfferClaims, offer_id: String) -> Option<Offer> {
    let OfferClaims::Flight {
        s, c, a, t, cur, ..
    } = claims
    else {
        return None;
    };
    let slices: Vec<Slice> = s
        .iter()
        .map(|legs| slice(index, legs))
        .collect::<Option<_>>()?;
    let seats = s
        .iter()
        .flatten()
        .filter_map(|id| index.flight(*id)?.cabin(*c).map(|x| x.remaining()))
        .min()
        .unwrap_or(0);
    let refundable = s.iter().flatten().all(|id| {
        index
            .flight(*id)
            .and_then(|f| f.cabin(*c))
            .is_some_and(|x| x.refundable)
    });
    Some(Offer {
        offer_id,
        kind: "flight",
        expires_at: claims.expires_at().to_rfc3339(),
        total: Money::new(*t, cur),
        price_per_adult: Money::new(*t / i64::from((*a).max(1)), cur),
        adults: *a,
        cabin: *c,
        seats_remaining: seats,
        fare_rules: FareRules {
            refundable,
            description: if refundable {
                "Refundable until 24 hours before departure.".to_owned()
            } else {
                "Non-refundable.".to_owned()
            },
        },
        slices,
    })
}

/// Signs and renders one itinerary.
pub fn offer(
    index: &Index,
    keys: &ota_platform::tokens::KeyRing,
    q: &FlightQuery,
    it: &Itinerary,
    now: DateTime<Utc>,
) -> Option<Offer> {
    let claims = OfferClaims::Flight {
        s: it
            .journeys
            .iter()
            .map(|j| {
                j.legs
                    .iter()
                    .map(|&l| index.flights[l as usize].id)
                    .collect()
            })
            .collect(),
        c: q.cabin,
        a: q.adults,
        t: it.total,
        cur: crate::seed::CURRENCY.to_owned(),
        x: (now + Duration::seconds(OFFER_TTL_SECS)).timestamp(),
    };
    let id = claims.sign(keys);
    let mut o = render(index, &claims, id)?;
    o.seats_remaining = it.seats;
    Some(o)
}
