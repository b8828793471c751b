//! Flight search over the index: direct flights and connections (up to two stops) that
//! respect minimum connection times, one-way or round trip.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use ota_contract::CarrierCode;
use ota_contract::search::{Fare, FareRules, FlightOffer, OfferKind, Segment, Slice};
use ota_platform::money::Money;
use ota_platform::passengers::{PassengerType, Passengers};
use rustc_hash::FxHashMap;

use crate::catalog::Cabin;
use crate::index::{Flight, Index, RouteLeg};
use crate::offers::{OFFER_TTL_SECS, OfferClaims};

/// Minimum connection time within one country, and across borders.
pub const MCT_DOMESTIC_MIN: i64 = 60;
pub const MCT_INTERNATIONAL_MIN: i64 = 90;
/// Longest layover offered.
pub const MAX_LAYOVER_MIN: i64 = 8 * 60;
/// Itineraries considered per direction: bounds time and memory whatever the query.
const MAX_CANDIDATES: usize = 3_000;
/// Circuity bound on connections: an itinerary's legs may add up to at most this many
/// times the great-circle distance between its ends, plus [`CIRCUITY_ALLOWANCE_KM`] (so
/// short trips may still connect at a nearby hub). JFK-LAX (3,974 km) may fly up to
/// 5,864 km: through Chicago (3,990), Atlanta (4,348), Dallas (4,218), Miami (5,519) or
/// Seattle (5,424), not through Anchorage (9,205) or Tokyo (19,584).
pub const CIRCUITY_FACTOR: f64 = 1.4;
/// See [`CIRCUITY_FACTOR`].
pub const CIRCUITY_ALLOWANCE_KM: f64 = 300.0;
/// Round trips pair the best this-many outbound with the best this-many return options.
pub const ROUND_TRIP_PAIRING: usize = 40;
/// The default fare rule for passenger types: a child (2–11) pays this share of the
/// adult fare and an infant on a lap (under 2) this one, rounded to whole minor units.
pub const CHILD_FARE_PERCENT: i64 = 75;
pub const INFANT_FARE_PERCENT: i64 = 10;
/// Refundable fares refund until this long before the first departure.
pub const REFUND_NOTICE_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Price,
    Duration,
    Departure,
}

#[derive(Debug, Clone)]
pub struct FlightQuery {
    /// Airports the trip may start from (several for a metropolitan code).
    pub origins: Vec<u16>,
    pub destinations: Vec<u16>,
    pub departure_date: NaiveDate,
    pub return_date: Option<NaiveDate>,
    pub passengers: Passengers,
    pub cabin: Cabin,
    pub max_stops: u8,
    pub sort: Sort,
    pub carriers: Vec<CarrierCode>,
    pub departure_after: Option<NaiveTime>,
    pub departure_before: Option<NaiveTime>,
    pub max_price: Option<i64>,
}

/// What one passenger of each type pays, minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeFares {
    pub adult: i64,
    pub child: i64,
    pub infant: i64,
}

impl std::ops::Add for TypeFares {
    type Output = TypeFares;
    fn add(self, o: TypeFares) -> TypeFares {
        TypeFares {
            adult: self.adult + o.adult,
            child: self.child + o.child,
            infant: self.infant + o.infant,
        }
    }
}

impl std::iter::Sum for TypeFares {
    fn sum<I: Iterator<Item = TypeFares>>(iter: I) -> TypeFares {
        iter.fold(TypeFares::default(), |a, b| a + b)
    }
}

impl TypeFares {
    /// Children and infants at the default shares of an adult fare.
    pub fn by_default(adult: i64) -> Self {
        TypeFares {
            adult,
            child: fare_for(adult, PassengerType::Child),
            infant: fare_for(adult, PassengerType::Infant),
        }
    }

    /// Per-type lines (count, fare per passenger) for the types travelling.
    pub fn lines(self, p: Passengers) -> Vec<(PassengerType, u8, i64)> {
        [
            (PassengerType::Adult, p.adults, self.adult),
            (PassengerType::Child, p.children, self.child),
            (PassengerType::Infant, p.infants, self.infant),
        ]
        .into_iter()
        .filter(|(_, n, _)| *n > 0)
        .collect()
    }

    /// What every passenger pays together.
    pub fn total(self, p: Passengers) -> i64 {
        self.lines(p)
            .iter()
            .map(|(_, n, each)| i64::from(*n) * each)
            .sum()
    }
}

/// One direction: dated legs in order.
#[derive(Debug, Clone)]
pub struct Journey {
    pub legs: Vec<Flight>,
    /// Per passenger of each type.
    pub fares: TypeFares,
    /// Per adult.
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
    /// The adult fare of the whole itinerary, per passenger.
    pub fare: i64,
    /// Per passenger of each type.
    pub fares: TypeFares,
    /// For every passenger.
    pub total: i64,
    pub seats: i32,
}

/// The fare of one passenger type under the default rule.
pub fn fare_for(adult_fare: i64, kind: PassengerType) -> i64 {
    match kind {
        PassengerType::Adult => adult_fare,
        PassengerType::Child => (adult_fare * CHILD_FARE_PERCENT + 50) / 100,
        PassengerType::Infant => (adult_fare * INFANT_FARE_PERCENT + 50) / 100,
    }
}

/// Per-type lines (count, fare per passenger) under the default rule.
pub fn fare_lines(adult_fare: i64, p: Passengers) -> Vec<(PassengerType, u8, i64)> {
    TypeFares::by_default(adult_fare).lines(p)
}

/// What every passenger pays together under the default rule.
pub fn party_total(adult_fare: i64, p: Passengers) -> i64 {
    TypeFares::by_default(adult_fare).total(p)
}

impl Itinerary {
    fn minutes(&self) -> i64 {
        self.journeys.iter().map(Journey::minutes).sum()
    }
}

/// What itineraries are ordered by: price, duration or departure first, the others
/// breaking ties.
fn sort_key(sort: Sort, it: &Itinerary) -> (i64, i64, i64) {
    let (price, minutes, departure) =
        (it.total, it.minutes(), it.journeys[0].departure.timestamp());
    match sort {
        Sort::Price => (price, minutes, departure),
        Sort::Duration => (minutes, price, departure),
        Sort::Departure => (departure, price, minutes),
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
    // The countries matter only between the two minimum connection times.
    (MCT_DOMESTIC_MIN..=MAX_LAYOVER_MIN).contains(&gap)
        && (gap >= MCT_INTERNATIONAL_MIN
            || gap >= mct(index, arriving.destination, arriving, leaving))
}

/// Journeys from any of `from` to any of `to` leaving on `date` (local) after `now`,
/// cheapest fares in `cabin`, with a seat for every adult and child on every leg.
pub fn journeys(
    index: &Index,
    q: &FlightQuery,
    from: &[u16],
    to: &[u16],
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<Journey> {
    let seated = i32::from(q.passengers.seated());
    let seat_map = index.seats.read().unwrap_or_else(|e| e.into_inner());
    let usable = |f: &Flight, r: &RouteLeg| -> Option<(TypeFares, i32)> {
        if !q.carriers.is_empty() {
            let carrier = &index.legs[f.leg as usize].carrier;
            if !q.carriers.iter().any(|c| c.as_str() == carrier) {
                return None;
            }
        }
        let offer = index.route_offer_in(&seat_map, f, r, q.cabin, now)?;
        let fares = TypeFares {
            adult: offer.fare,
            child: offer.child,
            infant: offer.infant,
        };
        (offer.remaining >= seated).then_some((fares, offer.remaining))
    };
    let first_leg_ok = |f: &Flight| -> bool {
        // A flight that has left is never sold.
        if f.departure <= now {
            return false;
        }
        if q.departure_after.is_none() && q.departure_before.is_none() {
            return true;
        }
        // The schedule's times are local already.
        let minute = u32::from(index.legs[f.leg as usize].schedule.departure_minute);
        let local =
            NaiveTime::from_num_seconds_from_midnight_opt(minute * 60, 0).unwrap_or_default();
        q.departure_after.is_none_or(|t| local >= t)
            && q.departure_before.is_none_or(|t| local <= t)
    };
    // Connections may leave on the next local day (the schedule gives the local date a
    // leg lands on).
    let arrival_day = |after: &Flight| {
        after.flight_date
            + Duration::days(i64::from(
                index.legs[after.leg as usize].schedule.arrival_day,
            ))
    };
    // The sellable legs from `at` to `d` leaving on a local day or the next, each priced
    // once per search however many legs arrive in time for it.
    let mut memo = Onward::default();
    let mut out: Vec<Journey> = Vec::new();
    // Connections never pass through either end's airports (no JFK-LGA-LHR for NYC).
    let end = |a: u16| from.contains(&a) || to.contains(&a);
    // The longest a route from `o` may fly to `d` (the circuity bound).
    let bound = |o: u16, d: u16| index.km(o, d) * CIRCUITY_FACTOR + CIRCUITY_ALLOWANCE_KM;
    // The destinations within the circuity bound from `o` having flown `flown` km to
    // `via` (bit k for to[k]).
    let reaching = |o: u16, flown: f64, via: u16| {
        to.iter().take(64).enumerate().fold(0u64, |bits, (k, &d)| {
            if flown + index.km(via, d) <= bound(o, d) {
                bits | 1 << k
            } else {
                bits
            }
        })
    };
    let mut candidates: Vec<u16> = Vec::new();
    let mut seconds: Vec<u16> = Vec::new();
    'first: for &o in from {
        // Each airport served from the origin once: the destination, or a connection
        // point within the circuity bound (up to one stop: one with a flight to the
        // destination).
        let served = index
            .destinations
            .get(o as usize)
            .map(Vec::as_slice)
            .unwrap_or_default();
        candidates.clear();
        if q.max_stops >= 2 {
            candidates.extend_from_slice(served);
        } else {
            for &d in to {
                if served.binary_search(&d).is_ok() {
                    candidates.push(d);
                }
                if q.max_stops == 1 {
                    let feeding = index
                        .sources
                        .get(d as usize)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    intersect(served, feeding, &mut candidates);
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
        }
        for &x in &candidates {
            let lands = to.contains(&x);
            let flown = index.km(o, x);
            // The destinations within the circuity bound through x (bit k for to[k]).
            let reach = reaching(o, flown, x);
            if !lands && (end(x) || reach == 0) {
                continue;
            }
            // Second connection points (two stops): airports served from x with a leg
            // to the destination.
            seconds.clear();
            if q.max_stops >= 2 && !lands {
                let onward = index
                    .destinations
                    .get(x as usize)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for &d in to {
                    let feeding = index
                        .sources
                        .get(d as usize)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    intersect(onward, feeding, &mut seconds);
                }
                seconds.sort_unstable();
                seconds.dedup();
                seconds.retain(|&y| y != x && !end(y));
            }
            for (fa, ra) in index.route(o, x, date) {
                if !first_leg_ok(&fa) {
                    continue;
                }
                let Some((fares, seats)) = usable(&fa, ra) else {
                    continue;
                };
                let a = Priced {
                    f: fa,
                    fares,
                    seats,
                };
                if lands {
                    out.push(journey(&[a]));
                    continue;
                }
                let day = arrival_day(&fa);
                for (k, &d) in to.iter().enumerate().take(64) {
                    if reach & 1 << k == 0 {
                        continue;
                    }
                    for &b in memo.legs(index, &usable, x, d, day) {
                        if connects(index, &fa, &b.f) {
                            out.push(journey(&[a, b]));
                        }
                    }
                }
                if q.max_stops < 2 {
                    continue;
                }
                for &y in &seconds {
                    let flown = flown + index.km(x, y);
                    let reach = reaching(o, flown, y);
                    if reach == 0 {
                        continue;
                    }
                    let second: Vec<Priced> = memo.legs(index, &usable, x, y, day).to_vec();
                    for b in second {
                        if !connects(index, &fa, &b.f) {
                            continue;
                        }
                        let day = arrival_day(&b.f);
                        for (k, &d) in to.iter().enumerate().take(64) {
                            if reach & 1 << k == 0 {
                                continue;
                            }
                            for &c in memo.legs(index, &usable, y, d, day) {
                                if connects(index, &b.f, &c.f) {
                                    out.push(journey(&[a, b, c]));
                                }
                            }
                        }
                    }
                    if out.len() >= MAX_CANDIDATES {
                        break 'first;
                    }
                }
            }
        }
    }
    // A sensible itinerary is not much longer than the best one found.
    if let Some(best) = out.iter().map(Journey::minutes).min() {
        out.retain(|j| j.minutes() <= best * 2 + 6 * 60);
    }
    out
}

/// Appends the airports in both ascending lists.
fn intersect(a: &[u16], b: &[u16], out: &mut Vec<u16>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
}

/// The sellable legs from an airport to a destination leaving on a local day or the
/// next, each priced once per search however many legs arrive in time for them.
#[derive(Default)]
struct Onward(FxHashMap<(u16, u16, NaiveDate), Vec<Priced>>);

impl Onward {
    fn legs(
        &mut self,
        index: &Index,
        usable: &impl Fn(&Flight, &RouteLeg) -> Option<(TypeFares, i32)>,
        at: u16,
        to: u16,
        day: NaiveDate,
    ) -> &[Priced] {
        self.0.entry((at, to, day)).or_insert_with(|| {
            [day, day + Duration::days(1)]
                .into_iter()
                .flat_map(|day| index.route(at, to, day))
                .filter_map(|(f, r)| usable(&f, r).map(|(fares, seats)| Priced { f, fares, seats }))
                .collect()
        })
    }
}

/// A sellable dated leg with what it costs each passenger type and its seats left.
#[derive(Clone, Copy)]
struct Priced {
    f: Flight,
    fares: TypeFares,
    seats: i32,
}

/// A journey over priced legs, in order.
fn journey(legs: &[Priced]) -> Journey {
    let fares: TypeFares = legs.iter().map(|l| l.fares).sum();
    Journey {
        departure: legs[0].f.departure,
        arrival: legs[legs.len() - 1].f.arrival,
        legs: legs.iter().map(|l| l.f).collect(),
        fare: fares.adult,
        fares,
        seats: legs.iter().map(|l| l.seats).min().unwrap_or(0),
    }
}

/// Whether a return journey may follow an outbound one: it leaves at least the
/// minimum connection time after the outbound lands, as a connection would.
fn turns_around(index: &Index, outbound: &Journey, back: &Journey) -> bool {
    let (Some(landing), Some(leaving)) = (outbound.legs.last(), back.legs.first()) else {
        return false;
    };
    let gap = (leaving.departure - landing.arrival).num_minutes();
    gap >= mct(index, landing.destination, landing, leaving)
}

/// Every priced itinerary for the query that has not left by `now`, sorted.
pub fn search(index: &Index, q: &FlightQuery, now: DateTime<Utc>) -> Vec<Itinerary> {
    let wrap = |journeys: Vec<Journey>| {
        let fares: TypeFares = journeys.iter().map(|j| j.fares).sum();
        Itinerary {
            fare: fares.adult,
            fares,
            total: fares.total(q.passengers),
            seats: journeys.iter().map(|j| j.seats).min().unwrap_or(0),
            journeys,
        }
    };
    let mut outbound: Vec<Itinerary> =
        journeys(index, q, &q.origins, &q.destinations, q.departure_date, now)
            .into_iter()
            .map(|j| wrap(vec![j]))
            .collect();
    outbound.sort_by_cached_key(|i| sort_key(q.sort, i));
    let mut result = match q.return_date {
        None => outbound,
        Some(back) => {
            let mut inbound: Vec<Itinerary> =
                journeys(index, q, &q.destinations, &q.origins, back, now)
                    .into_iter()
                    .map(|j| wrap(vec![j]))
                    .collect();
            inbound.sort_by_cached_key(|i| sort_key(q.sort, i));
            let mut pairs = Vec::new();
            for o in outbound.iter().take(ROUND_TRIP_PAIRING) {
                for i in inbound.iter().take(ROUND_TRIP_PAIRING) {
                    if turns_around(index, &o.journeys[0], &i.journeys[0]) {
                        pairs.push(wrap(vec![o.journeys[0].clone(), i.journeys[0].clone()]));
                    }
                }
            }
            pairs.sort_by_cached_key(|i| sort_key(q.sort, i));
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

/// Local time at an airport, RFC 3339 with its offset.
pub fn local(index: &Index, airport: u16, at: DateTime<Utc>) -> String {
    at.with_timezone(&index.airports[airport as usize].tz)
        .to_rfc3339()
}

fn slice(index: &Index, flights: &[Flight]) -> Option<Slice> {
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
            .map(|f| {
                let leg = &index.legs[f.leg as usize];
                Segment {
                    carrier: leg.carrier.clone(),
                    carrier_name: index
                        .carriers
                        .get(&leg.carrier)
                        .cloned()
                        .unwrap_or_default(),
                    flight_number: format!("{}{}", leg.carrier, leg.flight_number),
                    origin: code(f.origin),
                    destination: code(f.destination),
                    departure_at: local(index, f.origin, f.departure),
                    arrival_at: local(index, f.destination, f.arrival),
                    duration_minutes: (f.arrival - f.departure).num_minutes(),
                    origin_time_zone: index.airports[f.origin as usize].time_zone.clone(),
                    destination_time_zone: index.airports[f.destination as usize].time_zone.clone(),
                }
            })
            .collect(),
    })
}

/// The end of the refund window of an itinerary leaving at `first_departure`, if it is
/// still open at `now`.
pub fn refund_until(first_departure: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(first_departure - Duration::hours(REFUND_NOTICE_HOURS)).filter(|until| *until > now)
}

/// Renders signed claims as an offer, with seats as the index sees them and the fare
/// rules as they stand at `now`.
pub fn render(
    index: &Index,
    claims: &OfferClaims,
    offer_id: String,
    now: DateTime<Utc>,
) -> Option<FlightOffer> {
    let OfferClaims::Flight { s, .. } = claims else {
        return None;
    };
    let flights: Vec<Vec<Flight>> = s
        .iter()
        .map(|legs| legs.iter().map(|id| index.flight(*id)).collect())
        .collect::<Option<_>>()?;
    let slices: Vec<&[Flight]> = flights.iter().map(Vec::as_slice).collect();
    render_flights(index, claims, &slices, offer_id, now)
}

/// [`render`] with the claims' flights already dated, slice by slice.
fn render_flights(
    index: &Index,
    claims: &OfferClaims,
    flights: &[&[Flight]],
    offer_id: String,
    now: DateTime<Utc>,
) -> Option<FlightOffer> {
    let OfferClaims::Flight { c, t, cur, .. } = claims else {
        return None;
    };
    let passengers = claims.passengers()?;
    let adult_fare = claims.adult_fare()?;
    let type_fares = claims.type_fares()?;
    let slices: Vec<Slice> = flights
        .iter()
        .map(|legs| slice(index, legs))
        .collect::<Option<_>>()?;
    let cabins: Vec<Option<crate::index::CabinOffer>> = {
        let seats = index.seats.read().unwrap_or_else(|e| e.into_inner());
        flights
            .iter()
            .copied()
            .flatten()
            .map(|f| index.cabin_offer_in(&seats, f, *c, now))
            .collect()
    };
    let seats = cabins
        .iter()
        .map(|o| o.map_or(0, |o| o.remaining))
        .min()
        .unwrap_or(0);
    let refundable_fare = cabins.iter().all(|o| o.is_some_and(|o| o.refundable));
    let first = flights.first()?.first()?;
    let window = refund_until(first.departure, now).filter(|_| refundable_fare);
    let fare_rules = match window {
        Some(until) => FareRules {
            refundable: true,
            refund_until: Some(local(index, first.origin, until)),
            description: format!(
                "Refundable until {REFUND_NOTICE_HOURS} hours before departure ({}).",
                local(index, first.origin, until)
            ),
        },
        None if refundable_fare => FareRules {
            refundable: false,
            refund_until: None,
            description: format!(
                "Non-refundable now: refunds ended {REFUND_NOTICE_HOURS} hours before departure."
            ),
        },
        None => FareRules {
            refundable: false,
            refund_until: None,
            description: "Non-refundable.".to_owned(),
        },
    };
    Some(FlightOffer {
        offer_id,
        kind: OfferKind::Flight,
        expires_at: claims.expires_at().to_rfc3339(),
        total: Money::new(*t, cur),
        price_per_adult: Money::new(adult_fare, cur),
        adults: passengers.adults,
        passengers,
        fares: type_fares
            .lines(passengers)
            .into_iter()
            .map(|(kind, count, each)| {
                let per_passenger = Money::new(each, cur);
                Some(Fare {
                    kind,
                    count,
                    total: per_passenger.checked_mul(i64::from(count)).ok()?,
                    per_passenger,
                })
            })
            .collect::<Option<_>>()?,
        cabin: *c,
        seats_remaining: seats,
        fare_rules,
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
) -> Option<FlightOffer> {
    let p = q.passengers;
    let claims = OfferClaims::Flight {
        s: it
            .journeys
            .iter()
            .map(|j| j.legs.iter().map(|l| l.id).collect())
            .collect(),
        c: q.cabin,
        a: p.adults,
        ch: p.children,
        inf: p.infants,
        f: it.fare,
        fc: it.fares.child,
        fi: it.fares.infant,
        t: it.total,
        cur: crate::seed::CURRENCY.to_owned(),
        x: (now + Duration::seconds(OFFER_TTL_SECS)).timestamp(),
    };
    let id = claims.sign(keys);
    let slices: Vec<&[Flight]> = it.journeys.iter().map(|j| j.legs.as_slice()).collect();
    let mut o = render_flights(index, &claims, &slices, id, now)?;
    o.seats_remaining = it.seats;
    Some(o)
}

/// When an answer listing these itineraries stops being true by the clock alone: the
/// first departure, or the close of a refund window it shows open.
pub fn answer_changes_at(its: &[&Itinerary], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    its.iter()
        .filter_map(|it| it.journeys.first())
        .flat_map(|j| [Some(j.departure), refund_until(j.departure, now)])
        .flatten()
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_pay_three_quarters_and_infants_a_tenth_in_whole_minor_units() {
        let family = Passengers {
            adults: 2,
            children: 1,
            infants: 1,
        };
        assert_eq!(
            fare_lines(40_001, family),
            vec![
                (PassengerType::Adult, 2, 40_001),
                (PassengerType::Child, 1, 30_001),
                (PassengerType::Infant, 1, 4_000),
            ]
        );
        assert_eq!(party_total(40_001, family), 2 * 40_001 + 30_001 + 4_000);
        assert_eq!(party_total(12_300, Passengers::adults(3)), 36_900);
    }

    #[test]
    fn the_refund_window_closes_a_day_before_departure() {
        let departure = DateTime::parse_from_rfc3339("2026-12-14T13:05:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let day_before = departure - Duration::hours(24);
        assert_eq!(
            refund_until(departure, day_before - Duration::seconds(1)),
            Some(day_before)
        );
        assert_eq!(refund_until(departure, day_before), None);
        assert_eq!(refund_until(departure, departure), None);
    }
}
