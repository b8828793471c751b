//! The demo catalog: a deterministic network of real airports, fictional carriers and
//! hotels, relative to a first day (today), DST-correct in every airport's zone.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

use crate::catalog::{self, Airport, CARRIERS, Cabin, Region};

/// How much catalog to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// Fourteen big airports for 30 days, hotels in seven of their cities: seeds in
    /// well under a second (tests).
    Small,
    /// The ~160 busiest airports for 180 days, 20 hotels in each of the 60 busiest
    /// cities and 6 in every other city of its airports.
    Demo,
    /// The busiest airports and every capital's (292) for 365 days (benchmarks); hotels in
    /// every city of its airports.
    Large,
    /// Every shipped airport (over 7,000) for 365 days: about 200,000 flight legs a day,
    /// flown by the global and regional carriers and one carrier per country (with sister
    /// designators where a carrier runs out of flight numbers); over 50,000 hotels, in
    /// every city of its airports, priced per quarter.
    World,
}

impl Size {
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Demo => "demo",
            Size::Large => "large",
            Size::World => "world",
        }
    }

    fn plan(self) -> Plan {
        match self {
            Size::Small => Plan {
                airports: 0,
                only: &[
                    "JFK", "LAX", "ORD", "ATL", "SFO", "LHR", "CDG", "FRA", "AMS", "DXB", "SIN",
                    "HND", "SYD", "MAD",
                ],
                hubs: 8,
                days: 30,
                hotel_cities: 7,
                hotels_per_city: 6,
                hotels_elsewhere: 0,
                rate_months: 1,
                nearest_hubs: 2,
                nearest_bigger: 2,
                spokes_per_day: 1,
                country_carriers: false,
            },
            Size::Demo => Plan {
                airports: 161,
                only: &[],
                hubs: 20,
                days: 180,
                hotel_cities: 60,
                hotels_per_city: 20,
                hotels_elsewhere: 6,
                rate_months: 1,
                nearest_hubs: 2,
                nearest_bigger: 2,
                spokes_per_day: 1,
                country_carriers: false,
            },
            Size::Large => Plan {
                // The busiest airports and every capital's (rank under OTHER_RANK).
                airports: 292,
                only: &[],
                hubs: 30,
                days: 365,
                hotel_cities: 150,
                hotels_per_city: 32,
                hotels_elsewhere: 6,
                rate_months: 1,
                nearest_hubs: 3,
                nearest_bigger: 2,
                spokes_per_day: 1,
                country_carriers: false,
            },
            Size::World => Plan {
                airports: usize::MAX,
                only: &[],
                hubs: 150,
                days: 365,
                // Over 50,000 hotels: 40 in each of the 400 busiest cities, 6 in every
                // other city of the 7,068 airports.
                hotel_cities: 400,
                hotels_per_city: 40,
                hotels_elsewhere: 6,
                rate_months: 3,
                nearest_hubs: 3,
                nearest_bigger: 3,
                spokes_per_day: 2,
                country_carriers: true,
            },
        }
    }
}

struct Plan {
    airports: usize,
    only: &'static [&'static str],
    hubs: usize,
    days: u32,
    /// The busiest cities get `hotels_per_city` hotels, every other city of the
    /// catalog's airports `hotels_elsewhere`.
    hotel_cities: usize,
    hotels_per_city: usize,
    hotels_elsewhere: usize,
    /// Calendar months one rate range spans (1: a price per month).
    rate_months: u32,
    nearest_hubs: usize,
    nearest_bigger: usize,
    /// Flights a day each way between a smaller airport and its hubs and neighbours.
    spokes_per_day: u8,
    /// Routes touching a smaller airport are flown by a carrier of its country.
    country_carriers: bool,
}

/// SplitMix64: tiny, fast, and the same sequence on every platform and version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// One scheduled route: the same flight at the same local time on its operating days.
#[derive(Debug, Clone)]
pub struct Route {
    pub origin: usize,
    pub destination: usize,
    pub carrier: String,
    pub flight_number: i32,
    pub departure: NaiveTime,
    pub block_minutes: i64,
    pub weekdays: u8,
    pub cabins: Vec<(Cabin, i32, i64)>,
    pub km: f64,
}

#[derive(Debug, Clone)]
pub struct FlightRow {
    pub id: i64,
    pub carrier: String,
    pub flight_number: i32,
    pub origin: String,
    pub destination: String,
    pub departure_date: NaiveDate,
    pub departure_at: chrono::DateTime<Utc>,
    pub arrival_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct CabinRow {
    pub flight_id: i64,
    pub cabin: Cabin,
    pub capacity: i32,
    pub fare_amount: i64,
    pub refundable: bool,
}

#[derive(Debug, Clone)]
pub struct HotelRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub airport: String,
    pub stars: i16,
    pub time_zone: String,
}

#[derive(Debug, Clone)]
pub struct RoomTypeRow {
    pub id: i64,
    pub hotel_id: i64,
    pub code: &'static str,
    pub name: &'static str,
    pub max_guests: i32,
    pub capacity: i32,
    pub base_price: f64,
    pub southern: bool,
}

/// The static part of a catalog; dated rows are generated day by day from it.
pub struct Blueprint {
    pub size: Size,
    pub first_day: NaiveDate,
    pub days: u32,
    /// Calendar months one seeded rate range spans.
    pub rate_months: u32,
    pub airports: Vec<Airport>,
    /// Every carrier the routes name: (designator, name).
    pub carriers: Vec<(String, String)>,
    pub routes: Vec<Route>,
    pub hotels: Vec<HotelRow>,
    pub room_types: Vec<RoomTypeRow>,
}

pub const CURRENCY: &str = "USD";

impl Blueprint {
    pub fn new(size: Size, first_day: NaiveDate) -> Self {
        let plan = size.plan();
        let mut airports: Vec<Airport> = catalog::airports();
        if plan.only.is_empty() {
            airports.truncate(plan.airports);
        } else {
            airports.retain(|a| plan.only.contains(&a.iata.as_str()));
        }
        let mut rng = Rng::new(0x07A7_2026);
        let (routes, carriers) = routes(&airports, &plan, &mut rng);
        let (hotels, room_types) = hotels(&airports, &plan, &mut rng);
        Self {
            size,
            first_day,
            days: plan.days,
            rate_months: plan.rate_months,
            airports,
            carriers,
            routes,
            hotels,
            room_types,
        }
    }

    /// The dated flights and their cabins of one day of the window.
    pub fn flights_on(&self, day: u32, next_id: &mut i64) -> (Vec<FlightRow>, Vec<CabinRow>) {
        let date = self.first_day + Duration::days(i64::from(day));
        let weekday_bit = 1u8 << date.weekday().num_days_from_monday();
        let mut rng = Rng::new(0xF1A5 ^ (u64::from(day) << 20));
        let mut flights = Vec::new();
        let mut cabins = Vec::new();
        for r in &self.routes {
            if r.weekdays & weekday_bit == 0 {
                continue;
            }
            let o = &self.airports[r.origin];
            let d = &self.airports[r.destination];
            let departure_at = local_instant(o, date, r.departure);
            let arrival_at = departure_at + Duration::minutes(r.block_minutes);
            let id = *next_id;
            *next_id += 1;
            flights.push(FlightRow {
                id,
                carrier: r.carrier.clone(),
                flight_number: r.flight_number,
                origin: o.iata.clone(),
                destination: d.iata.clone(),
                departure_date: date,
                departure_at,
                arrival_at,
            });
            // Fares rise as departure nears and on the busiest weekdays.
            let ahead = f64::from(day);
            let demand = 1.0 + 0.6 * (-ahead / 14.0).exp();
            let weekday = match date.weekday() {
                Weekday::Fri | Weekday::Sun => 1.15,
                Weekday::Tue | Weekday::Wed => 0.92,
                _ => 1.0,
            };
            let noise = rng.range(0.85, 1.2);
            for &(cabin, capacity, base) in &r.cabins {
                let fare = (base as f64 * demand * weekday * noise / 100.0).round() as i64 * 100;
                cabins.push(CabinRow {
                    flight_id: id,
                    cabin,
                    capacity,
                    fare_amount: fare.max(100),
                    refundable: cabin != Cabin::Economy,
                });
            }
        }
        (flights, cabins)
    }

    /// A room type's nightly prices (flexible rate, minor units) over the blueprint's
    /// days, as a channel manager would send them: per calendar month (per quarter for
    /// `world`, whose 50,000 hotels would otherwise be millions of ranges), one range for
    /// Sunday–Thursday nights and one for Friday and Saturday nights (12 % dearer); a
    /// season factor by month (hemisphere-aware) and a little noise per month.
    pub fn rate_ranges(&self, rt: &RoomTypeRow, rng: &mut Rng) -> Vec<RateRange> {
        let last = self.first_day + chrono::Duration::days(i64::from(self.days) - 1);
        let mut out = Vec::new();
        let mut start = self.first_day;
        while start <= last {
            let next_month = NaiveDate::from_ymd_opt(start.year(), start.month(), 1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(self.rate_months.max(1))))
                .unwrap_or(last + chrono::Duration::days(1));
            let end = (next_month - chrono::Duration::days(1)).min(last);
            let month = if rt.southern {
                (start.month() + 5) % 12 + 1
            } else {
                start.month()
            };
            let season = match month {
                12 => 1.25,
                7 | 8 => 1.2,
                6 | 9 => 1.08,
                1 | 2 => 0.9,
                _ => 1.0,
            };
            let noise = rng.range(0.96, 1.04);
            for (weekdays, factor) in [(WEEKNIGHTS, 1.0), (WEEKEND_NIGHTS, 1.12)] {
                let price = rt.base_price * factor * season * noise;
                out.push(RateRange {
                    first_night: start,
                    last_night: end,
                    weekdays,
                    price_amount: (price.round() as i64).max(20) * 100,
                });
            }
            start = end + chrono::Duration::days(1);
        }
        out
    }
}

/// Sunday to Thursday nights (bit 0 Monday … bit 6 Sunday).
pub const WEEKNIGHTS: u8 = 0b100_1111;
/// Friday and Saturday nights.
pub const WEEKEND_NIGHTS: u8 = 0b011_0000;

/// Nightly price of a run of nights on some weekdays (bit 0 Monday … bit 6 Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRange {
    pub first_night: NaiveDate,
    pub last_night: NaiveDate,
    pub weekdays: u8,
    pub price_amount: i64,
}

/// The instant a local wall-clock time happens at an airport (DST-correct). A time that
/// does not exist (the spring-forward gap) moves to the first instant after the gap.
pub fn local_instant(airport: &Airport, date: NaiveDate, time: NaiveTime) -> chrono::DateTime<Utc> {
    instant_in(airport.tz, date, time)
}

/// The instant a local wall-clock time happens in a zone (as [`local_instant`]).
pub fn instant_in(tz: chrono_tz::Tz, date: NaiveDate, time: NaiveTime) -> chrono::DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(local + Duration::hours(1)))
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc)),
    }
}

fn nearest(
    airports: &[Airport],
    from: usize,
    candidates: impl Iterator<Item = usize>,
    n: usize,
    max_km: f64,
) -> Vec<usize> {
    let mut c: Vec<(f64, usize)> = candidates
        .filter(|&i| i != from)
        .map(|i| (catalog::distance_km(&airports[from], &airports[i]), i))
        .filter(|(d, _)| *d >= 150.0 && *d <= max_km)
        .collect();
    c.sort_by(|a, b| a.0.total_cmp(&b.0));
    c.into_iter().take(n).map(|(_, i)| i).collect()
}

/// Flight numbers by carrier: a carrier that runs out (9999) hands on to a sister
/// designator of the same name.
struct Numbers {
    next: std::collections::HashMap<String, i32>,
    sisters: std::collections::HashMap<String, String>,
    names: Vec<(String, String)>,
    free: std::vec::IntoIter<String>,
}

impl Numbers {
    fn new() -> Self {
        let taken: std::collections::HashSet<&str> = CARRIERS.iter().map(|c| c.code).collect();
        // Digit-letter designators: unlike two letters they never read as a country.
        let free: Vec<String> = (b'2'..=b'9')
            .flat_map(|d| (b'A'..=b'Z').map(move |l| format!("{}{}", char::from(d), char::from(l))))
            .chain((b'A'..=b'Z').flat_map(|l| {
                (b'2'..=b'9').map(move |d| format!("{}{}", char::from(l), char::from(d)))
            }))
            .filter(|c| !taken.contains(c.as_str()))
            .collect();
        Numbers {
            next: std::collections::HashMap::new(),
            sisters: std::collections::HashMap::new(),
            names: CARRIERS
                .iter()
                .map(|c| (c.code.to_owned(), c.name.to_owned()))
                .collect(),
            free: free.into_iter(),
        }
    }

    /// A new carrier of this name.
    fn carrier(&mut self, name: String) -> String {
        let code = self.free.next().unwrap_or_else(|| "9Z".to_owned());
        self.names.push((code.clone(), name));
        code
    }

    /// The next flight number of a carrier (or of its sister, once it has run out).
    fn take(&mut self, carrier: &str) -> (String, i32) {
        let mut code = carrier.to_owned();
        while let Some(s) = self.sisters.get(&code) {
            code = s.clone();
        }
        let n = self.next.entry(code.clone()).or_insert(100);
        if *n < 9_999 {
            *n += 1;
            return (code, *n);
        }
        let name = self
            .names
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let sister = self.carrier(name);
        self.sisters.insert(code, sister.clone());
        self.take(&sister)
    }
}

fn routes(airports: &[Airport], plan: &Plan, rng: &mut Rng) -> (Vec<Route>, Vec<(String, String)>) {
    let hubs = plan.hubs.min(airports.len());
    let mut pairs = std::collections::BTreeMap::<(usize, usize), u8>::new();
    let mut add = |a: usize, b: usize, per_day: u8| {
        let key = (a.min(b), a.max(b));
        let e = pairs.entry(key).or_insert(0);
        *e = (*e).max(per_day);
    };
    for a in 0..hubs {
        for b in a + 1..hubs {
            let km = catalog::distance_km(&airports[a], &airports[b]);
            if (150.0..=15_500.0).contains(&km) {
                let same =
                    catalog::region(&airports[a].country) == catalog::region(&airports[b].country);
                add(
                    a,
                    b,
                    if same && km < 4_500.0 {
                        3
                    } else if km < 7_000.0 {
                        2
                    } else {
                        1
                    },
                );
            }
        }
    }
    for i in hubs..airports.len() {
        for h in nearest(airports, i, 0..hubs, plan.nearest_hubs, 15_500.0) {
            add(i, h, plan.spokes_per_day);
        }
        for b in nearest(airports, i, 0..i, plan.nearest_bigger, 3_500.0) {
            add(i, b, plan.spokes_per_day);
        }
    }
    let mut numbers = Numbers::new();
    // Each country's carrier is named after its busiest airport's city.
    let mut national: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for ((a, b), per_day) in pairs {
        let km = catalog::distance_km(&airports[a], &airports[b]);
        let block = catalog::block_minutes(km);
        let (ra, rb) = (
            catalog::region(&airports[a].country),
            catalog::region(&airports[b].country),
        );
        for k in 0..per_day {
            let carrier = if plan.country_carriers && b >= hubs {
                let country = airports[b].country.as_str();
                match national.get(country) {
                    Some(c) => c.clone(),
                    None => {
                        let c = numbers.carrier(format!("{} Air", airports[b].city));
                        national.insert(country, c.clone());
                        c
                    }
                }
            } else {
                pick_carrier(ra, rb, km, k, rng).to_owned()
            };
            for (o, d) in [(a, b), (b, a)] {
                let (carrier, n) = numbers.take(&carrier);
                // Short hops run all day; long hauls leave in the evening so they land
                // in the morning.
                let departure = if km > 6_000.0 {
                    NaiveTime::from_hms_opt(17 + rng.below(6) as u32, (rng.below(12) * 5) as u32, 0)
                } else {
                    let slot = 6 + (u64::from(k) * 15 / u64::from(per_day)) + rng.below(3);
                    NaiveTime::from_hms_opt(slot.min(22) as u32, (rng.below(12) * 5) as u32, 0)
                }
                .unwrap_or_default();
                // Small routes do not fly every day.
                let weekdays =
                    if airports[o].rank > 120 && airports[d].rank > 20 && rng.unit() < 0.4 {
                        0b0101_0101
                    } else {
                        0b0111_1111
                    };
                out.push(Route {
                    origin: o,
                    destination: d,
                    carrier,
                    flight_number: n,
                    departure,
                    block_minutes: block,
                    weekdays,
                    cabins: cabins_for(km, a < 12 && b < 12),
                    km,
                });
            }
        }
    }
    (out, numbers.names)
}

fn pick_carrier(a: Region, b: Region, km: f64, k: u8, rng: &mut Rng) -> &'static str {
    let regional: Vec<&'static str> = CARRIERS
        .iter()
        .filter(|c| c.region == Some(a) || (c.region == Some(b) && km < 6_000.0))
        .map(|c| c.code)
        .collect();
    let global = ["OT", "MG"];
    if a == b && !regional.is_empty() && (k.is_multiple_of(2) || km < 2_500.0) {
        regional[(rng.below(regional.len() as u64)) as usize]
    } else {
        global[((u64::from(k) + rng.below(2)) % 2) as usize]
    }
}

/// Cabins with capacity and base fare (USD cents) by distance.
fn cabins_for(km: f64, flagship: bool) -> Vec<(Cabin, i32, i64)> {
    let economy = 4_900 + (km * 7.0) as i64;
    let mut c = Vec::new();
    if km < 1_500.0 {
        c.push((Cabin::Economy, 150, economy));
        c.push((Cabin::Business, 12, economy * 2));
    } else if km < 5_000.0 {
        c.push((Cabin::Economy, 180, economy));
        c.push((Cabin::Business, 20, economy * 3));
    } else {
        c.push((Cabin::Economy, 250, economy));
        c.push((Cabin::PremiumEconomy, 28, economy * 17 / 10));
        c.push((Cabin::Business, 40, economy * 32 / 10));
        if km > 9_000.0 && flagship {
            c.push((Cabin::First, 8, economy * 55 / 10));
        }
    }
    c
}

const HOTEL_PREFIXES: &[&str] = &[
    "Grand",
    "Royal",
    "Park",
    "Harbour",
    "Central",
    "Garden",
    "Riverside",
    "Skyline",
    "Old Town",
    "Station",
    "Boulevard",
    "Palace",
    "Lighthouse",
    "Meridian",
    "Orchid",
    "Cedar",
    "Beacon",
    "Crown",
    "Atlas",
    "Horizon",
    "Lantern",
    "Willow",
    "Summit",
    "Embassy",
    "Marina",
    "Heritage",
    "Aurora",
    "Compass",
    "Mosaic",
    "Terrace",
    "Gallery",
    "Citadel",
];
const HOTEL_SUFFIXES: &[&str] = &["Hotel", "Suites", "Inn", "Residence", "Plaza", "Lodge"];
/// Room types of every seeded hotel: code, name, guests, price factor.
const ROOM_TYPES: &[(&str, &str, i32, f64)] = &[
    ("STD", "Standard Room", 2, 1.0),
    ("DLX", "Deluxe Room", 3, 1.35),
    ("FAM", "Family Suite", 4, 1.9),
];

/// The rate plans of every seeded hotel (ids `hotel id × 2` and `× 2 + 1`): code, name,
/// refundable, free-cancellation days before check-in.
pub const RATE_PLANS: [(&str, &str, bool, Option<i32>); 2] = [
    ("FLEX", "Flexible", true, Some(2)),
    ("NRF", "Non-refundable", false, None),
];

/// The non-refundable rate's discount on the flexible one, in percent (nightly, whole
/// currency units).
pub const NON_REFUNDABLE_DISCOUNT: i64 = 15;

/// A non-refundable nightly price from the flexible one: 15 % less, whole units down.
pub fn non_refundable(flexible: i64) -> i64 {
    (flexible * (100 - NON_REFUNDABLE_DISCOUNT) / 100 / 100 * 100).max(100)
}

/// A seeded hotel's code, as its supplier would send it (`HotelCode`).
pub fn hotel_code(id: i64) -> String {
    format!("H{id:06}")
}

fn hotels(airports: &[Airport], plan: &Plan, rng: &mut Rng) -> (Vec<HotelRow>, Vec<RoomTypeRow>) {
    let mut cities: Vec<&Airport> = Vec::new();
    for a in airports {
        if !cities
            .iter()
            .any(|c| c.city == a.city && c.country == a.country)
        {
            cities.push(a);
        }
    }
    let mut hotels = Vec::new();
    let mut rooms = Vec::new();
    for (n, a) in cities.into_iter().enumerate() {
        let count = if n < plan.hotel_cities {
            plan.hotels_per_city
        } else {
            plan.hotels_elsewhere
        };
        let cost = match catalog::region(&a.country) {
            Region::NorthAmerica => 1.2,
            Region::Europe | Region::MiddleEast | Region::Oceania => 1.1,
            Region::Asia => 0.85,
            Region::SouthAmerica | Region::Africa => 0.7,
        };
        for i in 0..count {
            let id = hotels.len() as i64 + 1;
            let stars = [3, 4, 3, 5, 2, 4, 3, 4, 5, 3][i % 10] as i16;
            let prefix = HOTEL_PREFIXES[i % HOTEL_PREFIXES.len()];
            let suffix = HOTEL_SUFFIXES[(i + a.rank as usize) % HOTEL_SUFFIXES.len()];
            hotels.push(HotelRow {
                id,
                code: hotel_code(id),
                name: format!("{prefix} {} {suffix}", a.city),
                city: a.city.clone(),
                country: a.country.clone(),
                airport: a.iata.clone(),
                stars,
                time_zone: a.time_zone.clone(),
            });
            let base = match stars {
                2 => 70.0,
                3 => 110.0,
                4 => 180.0,
                _ => 320.0,
            } * cost
                * rng.range(0.8, 1.25);
            for (k, &(code, name, guests, factor)) in ROOM_TYPES.iter().enumerate() {
                let capacity = match k {
                    0 => 10 + rng.below(30) as i32,
                    1 => 5 + rng.below(15) as i32,
                    _ => 2 + rng.below(6) as i32,
                };
                rooms.push(RoomTypeRow {
                    id: rooms.len() as i64 + 1,
                    hotel_id: id,
                    code,
                    name,
                    max_guests: guests,
                    capacity,
                    base_price: base * factor,
                    southern: a.latitude < 0.0,
                });
            }
        }
    }
    (hotels, rooms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn airport(code: &str) -> Airport {
        catalog::airports()
            .into_iter()
            .find(|a| a.iata == code)
            .expect("airport")
    }

    #[test]
    fn the_same_local_departure_time_moves_in_utc_across_a_dst_change() {
        let jfk = airport("JFK");
        let eight = NaiveTime::from_hms_opt(8, 0, 0).expect("time");
        // US daylight saving time ended on 2026-11-01.
        let before = local_instant(
            &jfk,
            NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"),
            eight,
        );
        let after = local_instant(
            &jfk,
            NaiveDate::from_ymd_opt(2026, 11, 2).expect("date"),
            eight,
        );
        assert_eq!(before.to_rfc3339(), "2026-10-31T12:00:00+00:00");
        assert_eq!(after.to_rfc3339(), "2026-11-02T13:00:00+00:00");
        // In the spring-forward gap, 02:30 does not exist: the flight leaves at 03:30.
        let gap = local_instant(
            &jfk,
            NaiveDate::from_ymd_opt(2027, 3, 14).expect("date"),
            NaiveTime::from_hms_opt(2, 30, 0).expect("time"),
        );
        assert_eq!(
            gap.with_timezone(&jfk.tz).to_rfc3339(),
            "2027-03-14T03:30:00-04:00"
        );
    }

    #[test]
    fn seeding_is_deterministic() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        let a = Blueprint::new(Size::Small, day);
        let b = Blueprint::new(Size::Small, day);
        let (mut ia, mut ib) = (1, 1);
        let (fa, ca) = a.flights_on(3, &mut ia);
        let (fb, cb) = b.flights_on(3, &mut ib);
        assert_eq!(fa.len(), fb.len());
        assert!(
            fa.iter().zip(&fb).all(
                |(x, y)| x.departure_at == y.departure_at && x.flight_number == y.flight_number
            )
        );
        assert!(
            ca.iter()
                .zip(&cb)
                .all(|(x, y)| x.fare_amount == y.fare_amount)
        );
    }

    #[test]
    fn the_demo_network_covers_the_busiest_airports_and_stays_moderate() {
        let bp = Blueprint::new(
            Size::Demo,
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        );
        assert!(bp.airports.len() >= 100);
        let mut id = 1;
        let (flights, cabins) = bp.flights_on(0, &mut id);
        assert!(
            (800..4_000).contains(&flights.len()),
            "{} flights a day",
            flights.len()
        );
        assert!(cabins.len() > flights.len());
        for code in [
            "JFK", "LAX", "LHR", "CDG", "FRA", "AMS", "DXB", "SIN", "HND", "SYD", "ORD", "ATL",
            "SFO",
        ] {
            assert!(
                flights.iter().any(|f| f.origin == code),
                "{code} has no departures"
            );
        }
        assert!(
            flights
                .iter()
                .any(|f| f.origin == "JFK" && f.destination == "LAX")
        );
        let per_city = bp.hotels.iter().filter(|h| h.city == "Paris").count();
        assert!(per_city >= 20, "{per_city} hotels in Paris");
    }

    #[test]
    fn the_demo_catalog_has_hotels_in_every_city_of_its_airports() {
        let bp = Blueprint::new(
            Size::Demo,
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        );
        for a in &bp.airports {
            assert!(
                bp.hotels
                    .iter()
                    .any(|h| h.city == a.city && h.country == a.country),
                "no hotels in {} ({})",
                a.city,
                a.iata
            );
        }
    }

    #[test]
    fn the_world_has_over_fifty_thousand_hotels_in_the_cities_of_its_airports() {
        let airports = catalog::airports();
        let (hotels, rooms) = hotels(&airports, &Size::World.plan(), &mut Rng::new(1));
        assert!(hotels.len() >= 50_000, "{} hotels", hotels.len());
        assert_eq!(rooms.len(), hotels.len() * ROOM_TYPES.len());
        let cities: std::collections::HashSet<(&str, &str)> = airports
            .iter()
            .map(|a| (a.city.as_str(), a.country.as_str()))
            .collect();
        assert!(
            hotels
                .iter()
                .all(|h| cities.contains(&(h.city.as_str(), h.country.as_str())))
        );
    }

    #[test]
    fn arrival_local_times_follow_the_destination_zone() {
        let bp = Blueprint::new(
            Size::Small,
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        );
        let mut id = 1;
        let (flights, _) = bp.flights_on(0, &mut id);
        let f = flights
            .iter()
            .find(|f| f.origin == "JFK" && f.destination == "LHR")
            .expect("JFK-LHR");
        let lhr = airport("LHR");
        let minutes = (f.arrival_at - f.departure_at).num_minutes();
        assert!((380..=480).contains(&minutes), "{minutes}");
        let local = f.arrival_at.with_timezone(&lhr.tz);
        assert_eq!(local.offset().to_string(), "GMT");
    }
}
