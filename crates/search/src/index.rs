//! The in-memory index searches are answered from: built from the database at start-up
//! and kept fresh by polling changed inventory rows (availability may trail holds by a
//! few seconds; holds, in the database, are the truth), and rebuilt when a schedule
//! import moves the schedule version.
//!
//! Flights are kept as schedules (one [`Leg`] per flight-leg record) and expanded into
//! dated [`Flight`]s only for the dates a search asks about; seats are a sparse map of
//! the dated legs where anything was sold, held or changed. Memory and start-up time
//! follow the number of schedule records, not records × days.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use ota_contract::AirportCode;
use ota_contract::search::Board;

use crate::catalog::{Cabin, fold};
use crate::ranges::RangeList;
use crate::schedule::{DatedLeg, ScheduledLeg};
use crate::store::{
    Allotment, Changes, Restrictions, RoomNightRecord, RoomTypeRanges, SearchStore, SeatRecord,
};

pub struct AirportInfo {
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    /// Degrees, WGS 84.
    pub latitude: f64,
    pub longitude: f64,
    pub time_zone: String,
    pub tz: Tz,
    pub metro: Option<String>,
    pub rank: i32,
    pub folded_name: String,
    pub folded_city: String,
}

impl AirportInfo {
    /// The airport's position as a unit vector from the Earth's centre.
    fn point(&self) -> [f64; 3] {
        let (la, lo) = (self.latitude.to_radians(), self.longitude.to_radians());
        [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
    }
}

/// Seats of one cabin of one dated leg where anything happened to them, as last seen:
/// `taken` is sold + held. Every other dated leg has its scheduled capacity, nothing taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatState {
    pub capacity: i32,
    pub taken: i32,
    pub stop_sell: bool,
    /// The adult fare staff set for this dated leg (minor units), over the published one.
    pub fare: Option<i64>,
}

impl SeatState {
    fn of(r: &SeatRecord) -> Self {
        SeatState {
            capacity: r.capacity,
            taken: r.sold + r.held,
            stop_sell: r.stop_sell,
            fare: r.fare_amount,
        }
    }

    /// Seats still for sale (none while stop-sold).
    pub fn remaining(&self) -> i32 {
        if self.stop_sell {
            return 0;
        }
        (self.capacity - self.taken).max(0)
    }
}

/// A published fare as the index prices with it.
#[derive(Debug, Clone, Copy)]
pub struct FareEntry {
    /// Minor units per adult, child (2-11) and infant (under 2, on a lap).
    pub adult: i64,
    pub child: i64,
    pub infant: i64,
    /// Sold only this many days or more before departure.
    pub advance_purchase_days: u32,
    pub refundable: bool,
    pub refund_deadline_hours: u32,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

impl FareEntry {
    fn applies_on(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|f| date >= f) && self.valid_to.is_none_or(|t| date <= t)
    }
}

/// One cabin of a flight-leg record: its seats and where its fares are.
#[derive(Debug, Clone, Copy)]
pub struct LegCabin {
    pub cabin: Cabin,
    pub capacity: i32,
    /// Index into [`Index::fares`], if the route and cabin has any.
    pub fares: Option<u32>,
}

/// A flight-leg record: what a flight does on every date of its period.
pub struct Leg {
    pub carrier: String,
    pub flight_number: u16,
    pub origin: u16,
    pub destination: u16,
    pub schedule: ScheduledLeg,
    /// The dated-leg id of this leg with flight date 1970-01-01 (add the day count).
    key_base: i64,
    /// By [`Cabin`] (economy first), kept inline: every search reads them.
    pub cabins: [Option<LegCabin>; 4],
}

impl Leg {
    /// The flight date whose departure is on this local date at the origin.
    pub fn flight_date_leaving_on(&self, local: NaiveDate) -> NaiveDate {
        local - chrono::Duration::days(i64::from(self.schedule.departure_day))
    }

    pub fn cabin(&self, cabin: Cabin) -> Option<&LegCabin> {
        self.cabins[cabin as usize].as_ref()
    }

    /// The dated-leg id of a flight date.
    pub fn flight_id(&self, flight_date: NaiveDate) -> i64 {
        DatedLeg::redate(self.key_base, flight_date)
    }
}

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");

/// Days since 1970-01-01.
fn day_number(date: NaiveDate) -> i32 {
    (date - EPOCH).num_days() as i32
}

/// A leg of a route as a search scans it: its period and days of operation and its
/// local times with their UTC offsets, in 40 bytes (a leg record is several hundred).
#[derive(Debug, Clone, Copy)]
pub struct RouteLeg {
    pub leg: u32,
    key_base: i64,
    /// The period of operation, in days since 1970-01-01 (flight dates).
    period_from: i32,
    period_to: i32,
    /// Bit 0 Monday … bit 6 Sunday (flight dates).
    days: u8,
    frequency_rate: u8,
    departure_day: i8,
    arrival_day: i8,
    departure_minute: u16,
    arrival_minute: u16,
    departure_utc_offset: i16,
    arrival_utc_offset: i16,
    origin: u16,
    destination: u16,
    /// The leg's cabins, by [`Cabin`] (economy first), copied here so pricing a leg
    /// found on a route reads nothing else of the leg.
    cabins: [Option<LegCabin>; 4],
}

impl RouteLeg {
    fn of(i: u32, l: &Leg) -> Self {
        let s = &l.schedule;
        Self {
            leg: i,
            key_base: l.key_base,
            period_from: day_number(s.period_from),
            period_to: day_number(s.period_to),
            days: s.days,
            frequency_rate: s.frequency_rate.max(1),
            departure_day: s.departure_day,
            arrival_day: s.arrival_day,
            departure_minute: s.departure_minute,
            arrival_minute: s.arrival_minute,
            departure_utc_offset: s.departure_utc_offset,
            arrival_utc_offset: s.arrival_utc_offset,
            origin: l.origin,
            destination: l.destination,
            cabins: l.cabins,
        }
    }

    /// The dated leg leaving on a local date (days since 1970-01-01), if it operates
    /// then ([`crate::schedule::ScheduledLeg::operates`] in day numbers).
    fn leaving_on(&self, local: i32) -> Option<Flight> {
        let date = local - i32::from(self.departure_day);
        if date < self.period_from || date > self.period_to {
            return None;
        }
        // 1970-01-01 was a Thursday (weekday 3 from Monday).
        let weekday = (date + 3).rem_euclid(7);
        if self.days & (1 << weekday) == 0
            || ((date - self.period_from) / 7) % i32::from(self.frequency_rate) != 0
        {
            return None;
        }
        let instant = |day: i8, minute: u16, offset: i16| {
            let seconds = (i64::from(date) + i64::from(day)) * 86_400
                + (i64::from(minute) - i64::from(offset)) * 60;
            DateTime::from_timestamp(seconds, 0).unwrap_or_default()
        };
        Some(Flight {
            id: self.key_base | i64::from(date) << crate::schedule::DATE_SHIFT,
            leg: self.leg,
            flight_date: EPOCH + chrono::Duration::days(i64::from(date)),
            origin: self.origin,
            destination: self.destination,
            departure: instant(
                self.departure_day,
                self.departure_minute,
                self.departure_utc_offset,
            ),
            arrival: instant(
                self.arrival_day,
                self.arrival_minute,
                self.arrival_utc_offset,
            ),
        })
    }
}

/// One leg of one flight on one date, as a search finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flight {
    pub id: i64,
    pub leg: u32,
    pub flight_date: NaiveDate,
    pub origin: u16,
    pub destination: u16,
    pub departure: DateTime<Utc>,
    pub arrival: DateTime<Utc>,
}

/// Where a dated leg's cabin stands: seats for sale and the adult fare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CabinOffer {
    pub remaining: i32,
    /// Minor units per adult.
    pub fare: i64,
    /// Minor units per child and per infant.
    pub child: i64,
    pub infant: i64,
    pub refundable: bool,
    pub refund_deadline_hours: u32,
}

/// Rooms of one room type on one night as search sees them: its row where something
/// was sold, held or changed, else the allotment range that covers it (nothing taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightState {
    pub capacity: i32,
    /// Sold and held.
    pub taken: i32,
    pub stop_sell: bool,
}

impl NightState {
    pub fn of(r: &RoomNightRecord) -> Self {
        Self {
            capacity: r.capacity,
            taken: r.sold + r.held,
            stop_sell: r.stop_sell,
        }
    }

    fn untouched(a: &Allotment) -> Self {
        Self {
            capacity: a.capacity,
            taken: 0,
            stop_sell: a.stop_sell,
        }
    }

    /// Rooms still for sale (none while stop-sold).
    pub fn remaining(&self) -> i32 {
        if self.stop_sell {
            return 0;
        }
        (self.capacity - self.taken).max(0)
    }
}

/// A hotel's rate plan as search sells it.
#[derive(Debug, Clone)]
pub struct RatePlanInfo {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub board: Board,
    pub refundable: bool,
    /// Free cancellation until this many days before check-in, 14:00 hotel time (none:
    /// until check-in).
    pub free_cancellation_days: Option<i32>,
}

pub struct RoomType {
    pub id: i64,
    pub code: String,
    pub hotel: u32,
    pub name: String,
    pub max_guests: i32,
}

/// The ranges of one rate plan of a room type: restrictions, and nightly prices by
/// guests in the room (0: any number), minor units.
#[derive(Debug, Default)]
pub struct PlanRanges {
    pub restrictions: RangeList<Restrictions>,
    pub rates: Vec<(i16, RangeList<i64>)>,
}

impl PlanRanges {
    /// The nightly price of a room for `guests` guests: the price for exactly that many
    /// where one is set for the night, else the price for any number.
    pub fn price(&self, guests: i16, night: NaiveDate) -> Option<i64> {
        let of = |g: i16| {
            self.rates
                .iter()
                .find(|(n, _)| *n == g)
                .and_then(|(_, l)| l.at(night))
        };
        of(guests).or_else(|| of(0)).copied()
    }

    /// The restrictions of a night (none where no range says otherwise).
    pub fn restrictions(&self, night: NaiveDate) -> Restrictions {
        self.restrictions.at(night).copied().unwrap_or_default()
    }
}

/// The ranges of one room type as search reads them: allotment, and per rate plan of
/// its hotel (in the order of [`Hotel::rate_plans`]) restrictions and prices.
#[derive(Debug, Default)]
pub struct RoomRanges {
    pub allotment: RangeList<Allotment>,
    pub plans: Vec<PlanRanges>,
}

impl RoomRanges {
    fn of(r: RoomTypeRanges, plans: &[RatePlanInfo]) -> Self {
        let mut rates: HashMap<i64, Vec<(i16, RangeList<i64>)>> = HashMap::new();
        for ((plan, guests), list) in r.rates {
            rates
                .entry(plan)
                .or_default()
                .push((guests, RangeList::new(list)));
        }
        let mut restrictions = r.restrictions;
        Self {
            allotment: RangeList::new(r.allotment),
            plans: plans
                .iter()
                .map(|p| PlanRanges {
                    restrictions: RangeList::new(restrictions.remove(&p.id).unwrap_or_default()),
                    rates: rates.remove(&p.id).unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// The last night any allotment reaches.
    fn last_night(&self) -> Option<NaiveDate> {
        self.allotment.last_night()
    }
}

pub struct Hotel {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub stars: i16,
    /// Street and postal code on one line ("12 Rue de Rivoli, 75001"), or empty.
    pub address: String,
    pub tz: Tz,
    /// Check-in and check-out, hotel-local (hour, minute).
    pub check_in: (u32, u32),
    pub check_out: (u32, u32),
    pub room_types: Vec<u32>,
    pub rate_plans: Vec<RatePlanInfo>,
}

/// "HH:MM" as (hour, minute), or `default`.
fn clock(s: &str, default: (u32, u32)) -> (u32, u32) {
    use chrono::Timelike as _;
    chrono::NaiveTime::parse_from_str(s, "%H:%M").map_or(default, |t| (t.hour(), t.minute()))
}

pub struct Index {
    pub first_day: NaiveDate,
    pub days: i64,
    pub airports: Vec<AirportInfo>,
    pub airport_by_code: HashMap<String, u16>,
    pub carriers: HashMap<String, String>,
    /// Every flight-leg record still flying.
    pub legs: Vec<Leg>,
    /// Legs by airport and local weekday of departure (Monday 0), by local time.
    pub departures: Vec<[Vec<u32>; 7]>,
    /// Legs of a route, by local departure time, with what dating them needs kept
    /// inline (a search scans these without touching the leg records).
    pub direct: FxHashMap<(u16, u16), Vec<RouteLeg>>,
    /// The airports each airport has a leg to (any day), once each, ascending.
    pub destinations: Vec<Vec<u16>>,
    /// The airports with a leg to each airport (any day), once each, ascending.
    pub sources: Vec<Vec<u16>>,
    /// Each airport's position as a unit vector (for great-circle distances without
    /// trigonometry on every look).
    points: Vec<[f64; 3]>,
    /// Legs of a flight at a board point, by their dated-leg id without its date
    /// ([`DatedLeg::undated`]).
    pub leg_by_flight: FxHashMap<i64, Vec<u32>>,
    /// Published fares per carrier, route and cabin.
    pub fares: Vec<Vec<FareEntry>>,
    /// The last local date any leg departs on.
    pub flights_until: Option<NaiveDate>,
    /// Seats of dated legs where anything happened to them, by (dated-leg id, cabin).
    pub seats: RwLock<FxHashMap<(i64, Cabin), SeatState>>,
    /// Airports of each metropolitan code, where the catalog has any.
    pub metros: HashMap<String, Vec<u16>>,
    pub hotels: Vec<Hotel>,
    pub hotels_by_city: HashMap<String, Vec<u32>>,
    /// Every city travellers may name (folded), with its time zone: the catalog's and
    /// those of every shipped airport, with hotels or not.
    pub cities: HashMap<String, Tz>,
    pub room_types: Vec<RoomType>,
    pub room_type_by_id: HashMap<i64, u32>,
    /// Each room type's allotment, restriction and rate ranges, by its position in
    /// `room_types` (replaced per room type when its ranges change).
    pub ranges: RwLock<Vec<RoomRanges>>,
    /// Room nights where anything happened to them, by (room type id, night).
    pub rooms: RwLock<FxHashMap<(i64, NaiveDate), NightState>>,
    /// The last night any allotment reaches (days since the Common Era; 0: none).
    rooms_until: AtomicI32,
    /// The catalog generation last seen: bumped by every capacity, price or stop-sell
    /// change, and part of every answer-cache key, so such a change retires the answers
    /// cached before it.
    pub generation: AtomicI64,
}

impl Index {
    /// Loads everything from today on.
    pub async fn load(
        store: &SearchStore,
        first_day: NaiveDate,
        days: i64,
    ) -> anyhow::Result<Index> {
        let today = Utc::now().date_naive() - chrono::Duration::days(1);
        let from = today.max(first_day);
        // Hotels load on their own task, beside the flights (both are mostly reading and
        // decoding rows: two cores, two tasks).
        let hotel_part = tokio::spawn(HotelPart::load(store.clone(), from));
        // Read before the rows: a change committed in between is read again by the
        // first refresh, which then publishes its generation.
        let generation = store.generation().await?;
        let airports: Vec<AirportInfo> = store
            .airports()
            .await?
            .into_iter()
            .map(|a| AirportInfo {
                tz: a.time_zone.parse().unwrap_or(Tz::UTC),
                folded_name: fold(&a.name),
                folded_city: fold(&a.city),
                metro: crate::catalog::metro_of(&a.iata)
                    .map(str::to_owned)
                    .or(a.metro),
                iata: a.iata,
                name: a.name,
                city: a.city,
                country: a.country,
                latitude: a.latitude,
                longitude: a.longitude,
                time_zone: a.time_zone,
                rank: a.rank,
            })
            .collect();
        let airport_by_code: HashMap<String, u16> = airports
            .iter()
            .enumerate()
            .map(|(i, a)| (a.iata.clone(), i as u16))
            .collect();
        let carriers = store.carriers().await?.into_iter().collect();

        let mut fare_keys: HashMap<(String, u16, u16, Cabin), u32> = HashMap::new();
        let mut fares: Vec<Vec<FareEntry>> = Vec::new();
        for f in store.fares().await? {
            let (Some(&o), Some(&d)) = (
                airport_by_code.get(&f.origin),
                airport_by_code.get(&f.destination),
            ) else {
                continue;
            };
            let slot = *fare_keys
                .entry((f.carrier.clone(), o, d, f.cabin))
                .or_insert_with(|| {
                    fares.push(Vec::new());
                    (fares.len() - 1) as u32
                });
            fares[slot as usize].push(FareEntry {
                adult: f.adult,
                child: f.child,
                infant: f.infant,
                advance_purchase_days: f.advance_purchase_days,
                refundable: f.refundable,
                refund_deadline_hours: f.refund_deadline_hours,
                valid_from: f.valid_from,
                valid_to: f.valid_to,
            });
        }
        let mut legs: Vec<Leg> = Vec::new();
        for l in store.legs(today - chrono::Duration::days(1)).await? {
            let (Some(&origin), Some(&destination)) = (
                airport_by_code.get(&l.origin),
                airport_by_code.get(&l.destination),
            ) else {
                continue;
            };
            let Some(key_base) = l.dated(EPOCH).id() else {
                continue;
            };
            let mut cabins = [None; 4];
            for &(cabin, capacity) in &l.cabins {
                cabins[cabin as usize] = Some(LegCabin {
                    cabin,
                    capacity,
                    fares: fare_keys
                        .get(&(l.carrier.clone(), origin, destination, cabin))
                        .copied(),
                });
            }
            legs.push(Leg {
                carrier: l.carrier.clone(),
                flight_number: l.flight_number,
                origin,
                destination,
                key_base,
                cabins,
                schedule: l,
            });
        }
        let mut departures: Vec<[Vec<u32>; 7]> =
            (0..airports.len()).map(|_| Default::default()).collect();
        let mut direct: FxHashMap<(u16, u16), Vec<RouteLeg>> = FxHashMap::default();
        let mut leg_by_flight: FxHashMap<i64, Vec<u32>> = FxHashMap::default();
        let mut flights_until: Option<NaiveDate> = None;
        for (i, l) in legs.iter().enumerate() {
            let s = &l.schedule;
            // Flight-date weekdays moved to the weekdays of local departure.
            let shift = i64::from(s.departure_day).rem_euclid(7) as u32;
            for day in 0..7u32 {
                if s.days & (1 << day) != 0 {
                    departures[l.origin as usize][((day + shift) % 7) as usize].push(i as u32);
                }
            }
            direct
                .entry((l.origin, l.destination))
                .or_default()
                .push(RouteLeg::of(i as u32, l));
            leg_by_flight.entry(l.key_base).or_default().push(i as u32);
            let last = s.period_to + chrono::Duration::days(i64::from(s.departure_day));
            flights_until = Some(flights_until.map_or(last, |u| u.max(last)));
        }
        let by_time = |i: &u32| legs[*i as usize].schedule.departure_minute;
        for lists in &mut departures {
            for list in lists.iter_mut() {
                list.sort_by_key(by_time);
            }
        }
        let mut destinations: Vec<Vec<u16>> = vec![Vec::new(); airports.len()];
        let mut sources: Vec<Vec<u16>> = vec![Vec::new(); airports.len()];
        for (&(o, d), list) in direct.iter_mut() {
            list.sort_by_key(|r| r.departure_minute);
            destinations[o as usize].push(d);
            sources[d as usize].push(o);
        }
        for list in destinations.iter_mut().chain(sources.iter_mut()) {
            list.sort_unstable();
        }
        let seats: FxHashMap<(i64, Cabin), SeatState> = store
            .seats(today - chrono::Duration::days(1))
            .await?
            .iter()
            .filter_map(|r| Some(((r.flight_id, Cabin::parse(&r.cabin)?), SeatState::of(r))))
            .collect();

        let HotelPart {
            hotels,
            room_types,
            room_type_by_id,
            ranges,
            rooms_until,
            rooms,
        } = hotel_part.await??;
        let mut hotels_by_city: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, h) in hotels.iter().enumerate() {
            hotels_by_city
                .entry(fold(&h.city))
                .or_default()
                .push(i as u32);
        }
        let mut metros: HashMap<String, Vec<u16>> = HashMap::new();
        for (i, a) in airports.iter().enumerate() {
            if let Some(m) = &a.metro {
                metros.entry(m.clone()).or_default().push(i as u16);
            }
        }
        let points = airports.iter().map(AirportInfo::point).collect();
        // Shipped airports first, so the catalog's own zone wins for a city in both.
        let mut cities = shipped_cities();
        cities.extend(airports.iter().map(|a| (a.folded_city.clone(), a.tz)));
        cities.extend(hotels.iter().map(|h| (fold(&h.city), h.tz)));
        Ok(Index {
            first_day,
            days,
            airports,
            airport_by_code,
            carriers,
            legs,
            departures,
            direct,
            destinations,
            sources,
            points,
            leg_by_flight,
            fares,
            flights_until,
            seats: RwLock::new(seats),
            metros,
            hotels,
            hotels_by_city,
            cities,
            room_types,
            room_type_by_id,
            ranges: RwLock::new(ranges),
            rooms: RwLock::new(rooms),
            rooms_until,
            generation: AtomicI64::new(generation),
        })
    }

    /// An index of these airports only: no flights, hotels or seats (autocomplete).
    pub fn with_airports(airports: Vec<AirportInfo>) -> Index {
        let mut metros: HashMap<String, Vec<u16>> = HashMap::new();
        for (i, a) in airports.iter().enumerate() {
            if let Some(m) = &a.metro {
                metros.entry(m.clone()).or_default().push(i as u16);
            }
        }
        let points = airports.iter().map(AirportInfo::point).collect();
        Index {
            first_day: NaiveDate::MIN,
            days: 0,
            airport_by_code: airports
                .iter()
                .enumerate()
                .map(|(i, a)| (a.iata.clone(), i as u16))
                .collect(),
            departures: (0..airports.len()).map(|_| Default::default()).collect(),
            airports,
            carriers: HashMap::new(),
            legs: Vec::new(),
            direct: FxHashMap::default(),
            destinations: Vec::new(),
            sources: Vec::new(),
            points,
            leg_by_flight: FxHashMap::default(),
            fares: Vec::new(),
            flights_until: None,
            seats: RwLock::new(FxHashMap::default()),
            metros,
            hotels: Vec::new(),
            hotels_by_city: HashMap::new(),
            cities: HashMap::new(),
            room_types: Vec::new(),
            room_type_by_id: HashMap::new(),
            ranges: RwLock::default(),
            rooms: RwLock::default(),
            rooms_until: AtomicI32::new(0),
            generation: AtomicI64::new(0),
        }
    }

    /// Applies inventory rows read back from the database, then publishes their
    /// generation: an answer cached under the new generation is computed on the new rows.
    pub fn apply(&self, changes: &Changes) {
        if !changes.seats.is_empty() {
            let mut seats = self.seats.write().unwrap_or_else(|e| e.into_inner());
            for r in &changes.seats {
                if let Some(cabin) = Cabin::parse(&r.cabin) {
                    seats.insert((r.flight_id, cabin), SeatState::of(r));
                }
            }
        }
        if !changes.nights.is_empty() {
            let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
            for n in &changes.nights {
                rooms.insert((n.room_type_id, n.night), NightState::of(n));
            }
        }
        if !changes.ranges.is_empty() {
            let mut ranges = self.ranges.write().unwrap_or_else(|e| e.into_inner());
            for r in &changes.ranges {
                let Some(&pos) = self.room_type_by_id.get(&r.room_type_id) else {
                    continue;
                };
                let hotel = &self.hotels[self.room_types[pos as usize].hotel as usize];
                let fresh = RoomRanges::of(r.clone(), &hotel.rate_plans);
                reach(&self.rooms_until, fresh.last_night());
                ranges[pos as usize] = fresh;
            }
        }
        self.generation
            .fetch_max(changes.generation, Ordering::SeqCst);
    }

    pub fn generation(&self) -> i64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The airports a code stands for: an airport, a metropolitan area, or both (BKK is
    /// Suvarnabhumi and Bangkok's metro code).
    pub fn places(&self, code: AirportCode) -> Vec<u16> {
        let code = code.as_str();
        let mut out = self.metros.get(code).cloned().unwrap_or_default();
        if let Some(&i) = self.airport_by_code.get(code)
            && !out.contains(&i)
        {
            out.push(i);
        }
        out.sort_unstable();
        out
    }

    /// Rooms of a room type on a night: its row where anything happened to it, else its
    /// allotment; `None` where no allotment covers the night.
    pub fn night(&self, room_type_id: i64, night: NaiveDate) -> Option<NightState> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        let ranges = self.ranges.read().unwrap_or_else(|e| e.into_inner());
        let pos = *self.room_type_by_id.get(&room_type_id)?;
        Self::night_in(&rooms, room_type_id, &ranges[pos as usize], night)
    }

    /// [`Index::night`] under reads of the room-night map and the ranges already taken
    /// (a search takes them once).
    pub fn night_in(
        rooms: &FxHashMap<(i64, NaiveDate), NightState>,
        room_type_id: i64,
        ranges: &RoomRanges,
        night: NaiveDate,
    ) -> Option<NightState> {
        let allotment = ranges.allotment.at(night)?;
        Some(
            rooms
                .get(&(room_type_id, night))
                .copied()
                .unwrap_or_else(|| NightState::untouched(allotment)),
        )
    }

    /// The hotel a room type belongs to.
    pub fn hotel_of(&self, room_type_id: i64) -> Option<&Hotel> {
        let rt = &self.room_types[*self.room_type_by_id.get(&room_type_id)? as usize];
        self.hotels.get(rt.hotel as usize)
    }

    pub fn airport(&self, code: &str) -> Option<(u16, &AirportInfo)> {
        let i = *self.airport_by_code.get(code)?;
        Some((i, &self.airports[i as usize]))
    }

    /// Great-circle kilometres between two airports of the index (mean Earth radius
    /// 6,371 km, as [`crate::catalog::great_circle_km`]).
    pub fn km(&self, a: u16, b: u16) -> f64 {
        let (p, q) = (self.points[a as usize], self.points[b as usize]);
        let chord = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
        2.0 * 6371.0 * (chord / 2.0).min(1.0).asin()
    }

    /// The dated leg an id names, if its flight operates that day.
    pub fn flight(&self, id: i64) -> Option<Flight> {
        if id < 0 {
            return None;
        }
        let flight_date = DatedLeg::date_of(id);
        self.leg_by_flight
            .get(&DatedLeg::undated(id))?
            .iter()
            .find(|&&i| self.legs[i as usize].schedule.operates(flight_date))
            .map(|&i| self.dated(i, flight_date))
    }

    /// Leg `i` on a flight date.
    pub fn dated(&self, i: u32, flight_date: NaiveDate) -> Flight {
        let l = &self.legs[i as usize];
        Flight {
            id: l.flight_id(flight_date),
            leg: i,
            flight_date,
            origin: l.origin,
            destination: l.destination,
            departure: l.schedule.departure(flight_date),
            arrival: l.schedule.arrival(flight_date),
        }
    }

    /// The dated legs leaving an airport on a local date, by local departure time.
    pub fn leaving(&self, airport: u16, local: NaiveDate) -> impl Iterator<Item = Flight> + '_ {
        self.leaving_to(airport, local, |_| true)
    }

    /// [`Index::leaving`] for the legs whose destination `to` accepts (tested first, so
    /// a search skips the legs that lead nowhere it can use without dating them).
    pub fn leaving_to<'a>(
        &'a self,
        airport: u16,
        local: NaiveDate,
        to: impl Fn(u16) -> bool + 'a,
    ) -> impl Iterator<Item = Flight> + 'a {
        use chrono::Datelike as _;
        let weekday = local.weekday().num_days_from_monday() as usize;
        self.departures
            .get(airport as usize)
            .map(|d| d[weekday].as_slice())
            .unwrap_or_default()
            .iter()
            .filter(move |&&i| to(self.legs[i as usize].destination))
            .filter_map(move |&i| {
                let date = self.legs[i as usize].flight_date_leaving_on(local);
                self.legs[i as usize]
                    .schedule
                    .operates(date)
                    .then(|| self.dated(i, date))
            })
    }

    /// The dated legs of a route leaving on a local date, by local departure time.
    pub fn route(
        &self,
        from: u16,
        to: u16,
        local: NaiveDate,
    ) -> impl Iterator<Item = (Flight, &RouteLeg)> + '_ {
        let local = day_number(local);
        self.direct
            .get(&(from, to))
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(move |r| Some((r.leaving_on(local)?, r)))
    }

    /// Seats for sale and the fares of a dated leg's cabin as they stand at `now`: the
    /// first published fare that applies on its departure date and whose advance
    /// purchase is met (a fare staff set for the dated leg wins, children and infants
    /// paying the default shares of it). `None` when the leg has no such cabin or no
    /// fare applies.
    pub fn cabin_offer(&self, f: &Flight, cabin: Cabin, now: DateTime<Utc>) -> Option<CabinOffer> {
        let seats = self.seats.read().unwrap_or_else(|e| e.into_inner());
        self.cabin_offer_in(&seats, f, cabin, now)
    }

    /// [`Index::cabin_offer`] under a read of the seat map already taken (searches take
    /// it once).
    pub fn cabin_offer_in(
        &self,
        seats: &FxHashMap<(i64, Cabin), SeatState>,
        f: &Flight,
        cabin: Cabin,
        now: DateTime<Utc>,
    ) -> Option<CabinOffer> {
        let leg = &self.legs[f.leg as usize];
        self.price(seats, f, leg.cabin(cabin)?, leg.schedule.departure_day, now)
    }

    /// [`Index::cabin_offer_in`] for a leg found on a route (its cabins are inline).
    pub fn route_offer_in(
        &self,
        seats: &FxHashMap<(i64, Cabin), SeatState>,
        f: &Flight,
        r: &RouteLeg,
        cabin: Cabin,
        now: DateTime<Utc>,
    ) -> Option<CabinOffer> {
        self.price(
            seats,
            f,
            r.cabins[cabin as usize].as_ref()?,
            r.departure_day,
            now,
        )
    }

    fn price(
        &self,
        seats: &FxHashMap<(i64, Cabin), SeatState>,
        f: &Flight,
        c: &LegCabin,
        departure_day: i8,
        now: DateTime<Utc>,
    ) -> Option<CabinOffer> {
        let cabin = c.cabin;
        use crate::flights::fare_for;
        use ota_platform::passengers::PassengerType;
        let state = seats.get(&(f.id, cabin));
        // The local departure date and today at the origin, worked out only for a fare
        // with validity dates or sold in advance (date arithmetic and a zone lookup per
        // leg would cost more than the rest of the search).
        let departs_on = || f.flight_date + chrono::Duration::days(i64::from(departure_day));
        let ahead = || {
            let today = now
                .with_timezone(&self.airports[f.origin as usize].tz)
                .date_naive();
            (departs_on() - today).num_days()
        };
        let published = c.fares.and_then(|i| {
            self.fares[i as usize].iter().find(|e| {
                ((e.valid_from.is_none() && e.valid_to.is_none()) || e.applies_on(departs_on()))
                    && (e.advance_purchase_days == 0
                        || ahead() >= i64::from(e.advance_purchase_days))
            })
        });
        let (fare, child, infant) = match (state.and_then(|s| s.fare), published) {
            (Some(staff), _) => (
                staff,
                fare_for(staff, PassengerType::Child),
                fare_for(staff, PassengerType::Infant),
            ),
            (None, Some(p)) => (p.adult, p.child, p.infant),
            (None, None) => return None,
        };
        Some(CabinOffer {
            remaining: state.map_or(c.capacity, SeatState::remaining),
            fare,
            child,
            infant,
            refundable: published.is_some_and(|p| p.refundable),
            refund_deadline_hours: published
                .map_or(crate::flights::REFUND_NOTICE_HOURS as u32, |p| {
                    p.refund_deadline_hours
                }),
        })
    }

    /// The last local date a flight leaves on (schedules reach as far as they reach).
    pub fn flights_last_day(&self) -> Option<NaiveDate> {
        self.flights_until
    }

    /// The last night rooms are on sale: the furthest any allotment reaches.
    pub fn last_day(&self) -> NaiveDate {
        match self.rooms_until.load(Ordering::Relaxed) {
            0 => self.first_day + chrono::Duration::days(self.days - 1),
            days => NaiveDate::from_num_days_from_ce_opt(days)
                .unwrap_or(self.first_day + chrono::Duration::days(self.days - 1)),
        }
    }
}

/// The hotel half of an index, loaded on a task of its own.
struct HotelPart {
    hotels: Vec<Hotel>,
    room_types: Vec<RoomType>,
    room_type_by_id: HashMap<i64, u32>,
    ranges: Vec<RoomRanges>,
    rooms_until: AtomicI32,
    rooms: FxHashMap<(i64, NaiveDate), NightState>,
}

impl HotelPart {
    async fn load(store: SearchStore, from: NaiveDate) -> anyhow::Result<HotelPart> {
        let (hotel_rows, room_rows, plan_rows) = store.hotels().await?;
        let mut hotels: Vec<Hotel> = hotel_rows
            .into_iter()
            .map(|h| Hotel {
                id: h.id,
                code: h.code,
                tz: h.time_zone.parse().unwrap_or(Tz::UTC),
                address: [h.address.trim(), h.postal_code.trim()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", "),
                check_in: clock(&h.check_in_time, crate::hotels::CHECK_IN_TIME),
                check_out: clock(&h.check_out_time, crate::hotels::CHECK_OUT_TIME),
                name: h.name,
                city: h.city,
                country: h.country,
                stars: h.stars,
                room_types: Vec::new(),
                rate_plans: Vec::new(),
            })
            .collect();
        let hotel_pos: HashMap<i64, u32> = hotels
            .iter()
            .enumerate()
            .map(|(i, h)| (h.id, i as u32))
            .collect();
        for p in plan_rows {
            let Some(&h) = hotel_pos.get(&p.hotel_id) else {
                continue;
            };
            hotels[h as usize].rate_plans.push(RatePlanInfo {
                id: p.id,
                code: p.code,
                name: p.name,
                board: Board::parse(&p.board).unwrap_or(Board::RoomOnly),
                refundable: p.refundable,
                free_cancellation_days: p.free_cancellation_days,
            });
        }
        let mut room_types = Vec::new();
        let mut room_type_by_id = HashMap::new();
        for r in room_rows {
            let Some(&h) = hotel_pos.get(&r.hotel_id) else {
                continue;
            };
            room_type_by_id.insert(r.id, room_types.len() as u32);
            hotels[h as usize].room_types.push(room_types.len() as u32);
            room_types.push(RoomType {
                id: r.id,
                code: r.code,
                hotel: h,
                name: r.name,
                max_guests: r.max_guests,
            });
        }
        let mut stored = store.hotel_ranges(from).await?;
        let ranges: Vec<RoomRanges> = room_types
            .iter()
            .map(|rt| {
                let r = stored.remove(&rt.id).unwrap_or_default();
                RoomRanges::of(r, &hotels[rt.hotel as usize].rate_plans)
            })
            .collect();
        let rooms_until = AtomicI32::new(0);
        for r in &ranges {
            reach(&rooms_until, r.last_night());
        }
        let rooms: FxHashMap<(i64, NaiveDate), NightState> = store
            .room_nights(from)
            .await?
            .iter()
            .map(|n| ((n.room_type_id, n.night), NightState::of(n)))
            .collect();
        Ok(HotelPart {
            hotels,
            room_types,
            room_type_by_id,
            ranges,
            rooms_until,
            rooms,
        })
    }
}

/// Moves the last night rooms are on sale to `night` if that is later.
fn reach(until: &AtomicI32, night: Option<NaiveDate>) {
    use chrono::Datelike as _;
    if let Some(night) = night {
        until.fetch_max(night.num_days_from_ce(), Ordering::Relaxed);
    }
}

/// The index a search pod answers from, replaced whole when schedules change.
pub struct LiveIndex(RwLock<std::sync::Arc<Index>>);

impl LiveIndex {
    pub fn new(index: Index) -> Self {
        LiveIndex(RwLock::new(std::sync::Arc::new(index)))
    }

    /// The index as it stands (a search keeps the one it started with).
    pub fn get(&self) -> std::sync::Arc<Index> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, index: Index) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(index);
    }
}

/// The city of every shipped airport (folded) with its time zone. Where several
/// airports share a city name, the best-ranked one's zone wins: Paris is in France,
/// though Paris, Texas, has an airport too.
fn shipped_cities() -> HashMap<String, Tz> {
    // Best rank last: a later entry replaces an earlier one.
    crate::catalog::airports()
        .into_iter()
        .rev()
        .map(|a| (fold(&a.city), a.tz))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_scan_dates_a_leg_exactly_as_its_schedule_does() {
        let from = NaiveDate::from_ymd_opt(2027, 3, 1).expect("a date");
        let mut checked = 0;
        for (departure_day, arrival_day) in [(0, 0), (0, 1), (1, 1), (-1, 0), (0, 2)] {
            for (days, frequency_rate) in [(0b111_1111, 1), (0b001_0101, 1), (0b100_0010, 2)] {
                let schedule = ScheduledLeg {
                    carrier: "ZZ".into(),
                    flight_number: 123,
                    suffix: String::new(),
                    itinerary_variation: 1,
                    leg_sequence: 1,
                    service_type: 'J',
                    origin: "AAA".into(),
                    destination: "BBB".into(),
                    period_from: from,
                    period_to: from + chrono::Duration::days(60),
                    days,
                    frequency_rate,
                    departure_minute: 23 * 60 + 50,
                    departure_day,
                    departure_utc_offset: -300,
                    arrival_minute: 35,
                    arrival_day,
                    arrival_utc_offset: 330,
                    aircraft_type: "320".into(),
                    configuration: String::new(),
                    cabins: vec![(Cabin::Economy, 150)],
                    source_line: 1,
                };
                let leg = Leg {
                    carrier: "ZZ".into(),
                    flight_number: 123,
                    origin: 4,
                    destination: 9,
                    key_base: schedule.dated(EPOCH).id().expect("an id"),
                    cabins: [None, None, None, None],
                    schedule,
                };
                let fast = RouteLeg::of(7, &leg);
                for offset in -10..80 {
                    let local = from + chrono::Duration::days(offset);
                    let date = leg.flight_date_leaving_on(local);
                    let slow = leg.schedule.operates(date).then(|| Flight {
                        id: leg.flight_id(date),
                        leg: 7,
                        flight_date: date,
                        origin: 4,
                        destination: 9,
                        departure: leg.schedule.departure(date),
                        arrival: leg.schedule.arrival(date),
                    });
                    assert_eq!(fast.leaving_on(day_number(local)), slow, "{local} {days:b}");
                    checked += usize::from(slow.is_some());
                }
            }
        }
        assert!(checked > 200, "{checked} operating dates");
    }

    #[test]
    fn a_city_name_several_airports_share_takes_the_busiest_ones_zone() {
        let cities = shipped_cities();
        assert!(cities.len() > 5_000, "{} cities", cities.len());
        for (city, tz) in [
            ("paris", Tz::Europe__Paris),
            ("london", Tz::Europe__London),
            ("sydney", Tz::Australia__Sydney),
            ("san jose", Tz::America__Costa_Rica),
            ("tok", Tz::America__Anchorage),
        ] {
            assert_eq!(cities.get(city), Some(&tz), "{city}");
        }
    }
}
