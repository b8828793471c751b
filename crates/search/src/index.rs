//! The in-memory index searches are answered from: built from the database at start-up
//! and kept fresh by polling changed inventory rows (availability may trail holds by a
//! few seconds; holds, in the database, are the truth).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use ota_contract::AirportCode;

use crate::catalog::{Cabin, fold};
use crate::store::{CabinRecord, Changes, RoomNightRecord, SearchStore};

pub struct AirportInfo {
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub time_zone: String,
    pub tz: Tz,
    pub metro: Option<String>,
    pub rank: i32,
    pub folded_name: String,
    pub folded_city: String,
}

/// Seats of one cabin as last seen: `taken` is sold + held; capacity, fare and
/// stop-sell follow the changes the refresh reads back.
pub struct CabinInventory {
    pub cabin: Cabin,
    pub capacity: AtomicI32,
    pub taken: AtomicI32,
    pub fare: AtomicI64,
    pub stop_sell: AtomicBool,
    pub refundable: bool,
}

impl CabinInventory {
    pub fn new(cabin: Cabin, r: &CabinRecord) -> Self {
        Self {
            cabin,
            capacity: AtomicI32::new(r.capacity),
            taken: AtomicI32::new(r.sold + r.held),
            fare: AtomicI64::new(r.fare_amount),
            stop_sell: AtomicBool::new(r.stop_sell),
            refundable: r.refundable,
        }
    }

    /// Seats still for sale (none while stop-sold).
    pub fn remaining(&self) -> i32 {
        if self.stop_sell.load(Ordering::Relaxed) {
            return 0;
        }
        (self.capacity.load(Ordering::Relaxed) - self.taken.load(Ordering::Relaxed)).max(0)
    }

    /// The adult fare, minor units.
    pub fn fare(&self) -> i64 {
        self.fare.load(Ordering::Relaxed)
    }

    fn update(&self, r: &CabinRecord) {
        self.capacity.store(r.capacity, Ordering::Relaxed);
        self.taken.store(r.sold + r.held, Ordering::Relaxed);
        self.fare.store(r.fare_amount, Ordering::Relaxed);
        self.stop_sell.store(r.stop_sell, Ordering::Relaxed);
    }
}

pub struct Flight {
    pub id: i64,
    pub carrier: String,
    pub flight_number: i32,
    pub origin: u16,
    pub destination: u16,
    pub departure_date: NaiveDate,
    pub departure: DateTime<Utc>,
    pub arrival: DateTime<Utc>,
    pub cabins: Vec<CabinInventory>,
}

impl Flight {
    pub fn cabin(&self, cabin: Cabin) -> Option<&CabinInventory> {
        self.cabins.iter().find(|c| c.cabin == cabin)
    }
}

/// Rooms of one room type on one night as last seen (the flexible rate's price).
pub struct NightInventory {
    pub capacity: AtomicI32,
    pub taken: AtomicI32,
    pub price: AtomicI64,
    pub stop_sell: AtomicBool,
}

impl NightInventory {
    pub fn new(r: &RoomNightRecord) -> Self {
        Self {
            capacity: AtomicI32::new(r.capacity),
            taken: AtomicI32::new(r.sold + r.held),
            price: AtomicI64::new(r.price_amount),
            stop_sell: AtomicBool::new(r.stop_sell),
        }
    }

    /// Rooms still for sale (none while stop-sold).
    pub fn remaining(&self) -> i32 {
        if self.stop_sell.load(Ordering::Relaxed) {
            return 0;
        }
        (self.capacity.load(Ordering::Relaxed) - self.taken.load(Ordering::Relaxed)).max(0)
    }

    pub fn price(&self) -> i64 {
        self.price.load(Ordering::Relaxed)
    }

    fn update(&self, r: &RoomNightRecord) {
        self.capacity.store(r.capacity, Ordering::Relaxed);
        self.taken.store(r.sold + r.held, Ordering::Relaxed);
        self.price.store(r.price_amount, Ordering::Relaxed);
        self.stop_sell.store(r.stop_sell, Ordering::Relaxed);
    }
}

pub struct RoomType {
    pub id: i64,
    pub hotel: u32,
    pub name: String,
    pub max_guests: i32,
    /// Indexed by days since the catalog's first day.
    pub nights: Vec<Option<NightInventory>>,
}

pub struct Hotel {
    pub id: i64,
    pub name: String,
    pub city: String,
    pub country: String,
    pub stars: i16,
    pub tz: Tz,
    pub room_types: Vec<u32>,
}

pub struct Index {
    pub first_day: NaiveDate,
    pub days: i64,
    pub airports: Vec<AirportInfo>,
    pub airport_by_code: HashMap<String, u16>,
    pub carriers: HashMap<String, String>,
    pub flights: Vec<Flight>,
    pub flight_by_id: HashMap<i64, u32>,
    /// Departures of an airport on a local date, by departure time.
    pub departures: HashMap<(u16, NaiveDate), Vec<u32>>,
    /// Direct flights of a route on a local date, by departure time.
    pub direct: HashMap<(u16, u16, NaiveDate), Vec<u32>>,
    /// Airports of each metropolitan code, where the catalog has any.
    pub metros: HashMap<String, Vec<u16>>,
    pub hotels: Vec<Hotel>,
    pub hotels_by_city: HashMap<String, Vec<u32>>,
    /// Every city travellers may name (folded), with its time zone: the catalog's and
    /// those of every shipped airport, with hotels or not.
    pub cities: HashMap<String, Tz>,
    pub room_types: Vec<RoomType>,
    pub room_type_by_id: HashMap<i64, u32>,
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

        let mut flights = Vec::new();
        let mut flight_by_id = HashMap::new();
        for f in store.flights(from).await? {
            let (Some(&origin), Some(&destination)) = (
                airport_by_code.get(&f.origin),
                airport_by_code.get(&f.destination),
            ) else {
                continue;
            };
            flight_by_id.insert(f.id, flights.len() as u32);
            flights.push(Flight {
                id: f.id,
                carrier: f.carrier,
                flight_number: f.flight_number,
                origin,
                destination,
                departure_date: f.departure_date,
                departure: f.departure_at,
                arrival: f.arrival_at,
                cabins: Vec::new(),
            });
        }
        for c in store.cabins(from).await? {
            let (Some(&i), Some(cabin)) = (flight_by_id.get(&c.flight_id), Cabin::parse(&c.cabin))
            else {
                continue;
            };
            flights[i as usize]
                .cabins
                .push(CabinInventory::new(cabin, &c));
        }
        let mut departures: HashMap<(u16, NaiveDate), Vec<u32>> = HashMap::new();
        let mut direct: HashMap<(u16, u16, NaiveDate), Vec<u32>> = HashMap::new();
        for (i, f) in flights.iter_mut().enumerate() {
            f.cabins.sort_by_key(|c| c.cabin);
            departures
                .entry((f.origin, f.departure_date))
                .or_default()
                .push(i as u32);
            direct
                .entry((f.origin, f.destination, f.departure_date))
                .or_default()
                .push(i as u32);
        }
        for list in departures.values_mut().chain(direct.values_mut()) {
            list.sort_by_key(|&i| flights[i as usize].departure);
        }

        let (hotel_rows, room_rows) = store.hotels().await?;
        let mut hotels: Vec<Hotel> = hotel_rows
            .into_iter()
            .map(|h| Hotel {
                id: h.id,
                tz: h.time_zone.parse().unwrap_or(Tz::UTC),
                name: h.name,
                city: h.city,
                country: h.country,
                stars: h.stars,
                room_types: Vec::new(),
            })
            .collect();
        let hotel_pos: HashMap<i64, u32> = hotels
            .iter()
            .enumerate()
            .map(|(i, h)| (h.id, i as u32))
            .collect();
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
                hotel: h,
                name: r.name,
                max_guests: r.max_guests,
                nights: (0..days).map(|_| None).collect(),
            });
        }
        for n in store.room_nights(from).await? {
            let offset = (n.night - first_day).num_days();
            let Some(&rt) = room_type_by_id.get(&n.room_type_id) else {
                continue;
            };
            if let Some(slot) = usize::try_from(offset)
                .ok()
                .and_then(|o| room_types[rt as usize].nights.get_mut(o))
            {
                *slot = Some(NightInventory::new(&n));
            }
        }
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
            flights,
            flight_by_id,
            departures,
            direct,
            metros,
            hotels,
            hotels_by_city,
            cities,
            room_types,
            room_type_by_id,
            generation: AtomicI64::new(generation),
        })
    }

    /// Applies inventory rows read back from the database, then publishes their
    /// generation: an answer cached under the new generation is computed on the new rows.
    pub fn apply(&self, changes: &Changes) {
        for c in &changes.cabins {
            let Some(cabin) = Cabin::parse(&c.cabin) else {
                continue;
            };
            if let Some(inv) = self
                .flight_by_id
                .get(&c.flight_id)
                .and_then(|&i| self.flights[i as usize].cabin(cabin))
            {
                inv.update(c);
            }
        }
        for n in &changes.nights {
            if let Some(inv) = self.night(n.room_type_id, n.night) {
                inv.update(n);
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

    pub fn night(&self, room_type_id: i64, night: NaiveDate) -> Option<&NightInventory> {
        let rt = &self.room_types[*self.room_type_by_id.get(&room_type_id)? as usize];
        let offset = usize::try_from((night - self.first_day).num_days()).ok()?;
        rt.nights.get(offset)?.as_ref()
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

    pub fn flight(&self, id: i64) -> Option<&Flight> {
        self.flight_by_id
            .get(&id)
            .map(|&i| &self.flights[i as usize])
    }

    /// The last day flights and rooms are on sale.
    pub fn last_day(&self) -> NaiveDate {
        self.first_day + chrono::Duration::days(self.days - 1)
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
