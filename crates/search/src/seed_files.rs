//! The seed catalog's flights as an airline sends them: a schedule in IATA SSIM chapter 7
//! (one flight-leg record per route and period, the period split wherever either
//! station's UTC variation changes, as real files are) and a fare file in CSV (one row per
//! carrier, route and cabin). What these files describe is, date for date, the flights the
//! blueprint generates.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Offset, Weekday};
use ota_content::CabinClass;
use ota_content::fares::{self, Fare};
use ota_content::ssim::{
    self, Carrier, CarrierSchedule, DaysOfOperation, Flight, Leg, Schedule, Station, TimeMode,
};

use crate::catalog::{Airport, Cabin};
use crate::seed::{Blueprint, CURRENCY, Route, local_instant};

/// A route's times on one date, as a flight-leg record writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timing {
    departure: NaiveTime,
    departure_day: i8,
    departure_offset: i32,
    arrival: NaiveTime,
    arrival_day: i8,
    arrival_offset: i32,
}

fn timing(origin: &Airport, destination: &Airport, route: &Route, date: NaiveDate) -> Timing {
    let departs = local_instant(origin, date, route.departure);
    let arrives = departs + Duration::minutes(route.block_minutes);
    let (dep, arr) = (
        departs.with_timezone(&origin.tz),
        arrives.with_timezone(&destination.tz),
    );
    Timing {
        departure: dep.time(),
        departure_day: (dep.date_naive() - date).num_days() as i8,
        departure_offset: dep.offset().fix().local_minus_utc() / 60,
        arrival: arr.time(),
        arrival_day: (arr.date_naive() - date).num_days() as i8,
        arrival_offset: arr.offset().fix().local_minus_utc() / 60,
    }
}

/// The SSIM class letter of a cabin.
pub fn class_letter(cabin: Cabin) -> char {
    match cabin {
        Cabin::First => 'F',
        Cabin::Business => 'J',
        Cabin::PremiumEconomy => 'W',
        Cabin::Economy => 'Y',
    }
}

fn cabin_class(cabin: Cabin) -> CabinClass {
    match cabin {
        Cabin::First => CabinClass::First,
        Cabin::Business => CabinClass::Business,
        Cabin::PremiumEconomy => CabinClass::PremiumEconomy,
        Cabin::Economy => CabinClass::Economy,
    }
}

fn station(airport: &Airport, time: NaiveTime, offset: i32) -> Station {
    Station {
        code: airport.iata.clone(),
        passenger_time: time,
        aircraft_time: time,
        utc_offset: offset,
        terminal: String::new(),
    }
}

impl Blueprint {
    /// The last date of the catalog's window.
    pub fn last_day(&self) -> NaiveDate {
        self.first_day + Duration::days(i64::from(self.days) - 1)
    }

    /// Every zone's UTC offset (minutes) at 00:00 and 12:00 UTC of each day from the day
    /// before the window to three days after it: where a route's zones keep one offset
    /// around a date, its times follow by arithmetic, without a zone lookup.
    fn offsets(&self) -> HashMap<chrono_tz::Tz, Vec<i32>> {
        let start = (self.first_day - Duration::days(1))
            .and_time(NaiveTime::MIN)
            .and_utc();
        let samples = (self.days as usize + 4) * 2;
        let mut out = HashMap::new();
        for a in &self.airports {
            out.entry(a.tz).or_insert_with(|| {
                (0..samples)
                    .map(|i| {
                        let at = start + Duration::hours(12 * i as i64);
                        at.with_timezone(&a.tz).offset().fix().local_minus_utc() / 60
                    })
                    .collect()
            });
        }
        out
    }

    fn legs(&self, route: &Route, offsets: &HashMap<chrono_tz::Tz, Vec<i32>>) -> Vec<Leg> {
        let origin = &self.airports[route.origin];
        let destination = &self.airports[route.destination];
        let (from_zone, to_zone) = (&offsets[&origin.tz], &offsets[&destination.tz]);
        // One offset for a zone over samples [from, to] (indices from the day before
        // the window), or none.
        let steady = |zone: &[i32], from: usize, to: usize| -> Option<i32> {
            let first = *zone.get(from)?;
            zone.get(from..=to)?
                .iter()
                .all(|o| *o == first)
                .then_some(first)
        };
        let quick = |date: NaiveDate| -> Option<Timing> {
            // Day d of the window is sample 2(d + 1); its flight departs within a day of
            // it and lands within two.
            let day = (date - self.first_day).num_days() as usize;
            let o = steady(from_zone, 2 * day, 2 * day + 4)?;
            let d = steady(to_zone, 2 * day, 2 * day + 6)?;
            let departs = date.and_time(route.departure) - Duration::minutes(i64::from(o));
            let arrives = departs + Duration::minutes(route.block_minutes + i64::from(d));
            Some(Timing {
                departure: route.departure,
                departure_day: 0,
                departure_offset: o,
                arrival: arrives.time(),
                arrival_day: (arrives.date() - date).num_days() as i8,
                arrival_offset: d,
            })
        };
        let operates =
            |d: &NaiveDate| route.weekdays & (1 << d.weekday().num_days_from_monday()) != 0;
        // Runs of operating dates with the same times: one record each.
        let mut runs: Vec<(NaiveDate, NaiveDate, Timing)> = Vec::new();
        for date in self
            .first_day
            .iter_days()
            .take(self.days as usize)
            .filter(operates)
        {
            let t = quick(date).unwrap_or_else(|| timing(origin, destination, route, date));
            match runs.last_mut() {
                Some((_, last, same)) if *same == t => *last = date,
                _ => runs.push((date, date, t)),
            }
        }
        let mut seats: Vec<_> = route.cabins.iter().collect();
        seats.sort_by_key(|(cabin, _, _)| std::cmp::Reverse(*cabin as u8));
        let configuration: String = seats
            .iter()
            .map(|(cabin, capacity, _)| format!("{}{capacity}", class_letter(*cabin)))
            .collect();
        runs.into_iter()
            .map(|(from, to, t)| {
                // A period shorter than a week names only the weekdays it contains.
                let present: HashSet<Weekday> = from
                    .iter_days()
                    .take_while(|d| *d <= to)
                    .filter(operates)
                    .map(|d| d.weekday())
                    .collect();
                Leg {
                    line: 0,
                    flight: Flight {
                        carrier: route.carrier.clone(),
                        number: route.flight_number as u16,
                        suffix: None,
                    },
                    itinerary_variation: 1,
                    leg_sequence: 1,
                    service_type: 'J',
                    period_from: from,
                    period_to: Some(to),
                    days: DaysOfOperation::of(present),
                    frequency_rate: None,
                    departure: station(origin, t.departure, t.departure_offset),
                    arrival: station(destination, t.arrival, t.arrival_offset),
                    aircraft_type: if route.km > 4_000.0 { "359" } else { "320" }.to_owned(),
                    booking_designators: seats.iter().map(|(c, _, _)| class_letter(*c)).collect(),
                    cabins: ssim::cabins(&configuration),
                    configuration: configuration.clone(),
                    departure_day: t.departure_day,
                    arrival_day: t.arrival_day,
                    segments: Vec::new(),
                }
            })
            .collect()
    }

    /// The catalog's flights as an SSIM schedule: one carrier block per carrier, times
    /// local, valid over the catalog's window.
    pub fn schedule(&self, created: NaiveDate) -> Schedule {
        let offsets = self.offsets();
        let mut by_carrier: BTreeMap<&str, Vec<Leg>> = BTreeMap::new();
        for route in &self.routes {
            by_carrier
                .entry(route.carrier.as_str())
                .or_default()
                .extend(self.legs(route, &offsets));
        }
        Schedule {
            carriers: by_carrier
                .into_iter()
                .map(|(code, legs)| CarrierSchedule {
                    carrier: Carrier {
                        line: 0,
                        designator: code.to_owned(),
                        time_mode: TimeMode::Local,
                        season: String::new(),
                        valid_from: self.first_day,
                        valid_to: Some(self.last_day()),
                        creation_date: created,
                        title: format!("OTA TRAVEL SEED {}", self.size.as_str().to_uppercase()),
                        general_information: String::new(),
                    },
                    legs,
                })
                .collect(),
        }
    }

    /// The catalog's fares: one row per carrier, route and cabin, at the cabin's base fare
    /// (child and infant fares by the file format's defaults).
    pub fn fares(&self) -> Vec<Fare> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for route in &self.routes {
            for &(cabin, _, base) in &route.cabins {
                let key = (
                    route.carrier.as_str(),
                    route.origin,
                    route.destination,
                    cabin as u8,
                );
                if !seen.insert(key) {
                    continue;
                }
                let adult = (base / 100).max(1) * 100;
                out.push(Fare {
                    line: out.len() + 2,
                    carrier: route.carrier.clone(),
                    origin: self.airports[route.origin].iata.clone(),
                    destination: self.airports[route.destination].iata.clone(),
                    cabin: cabin_class(cabin),
                    adult,
                    child: (adult * fares::CHILD_PERCENT + 50) / 100,
                    infant: (adult * fares::INFANT_PERCENT + 50) / 100,
                    currency: CURRENCY.to_owned(),
                    refundable: cabin != Cabin::Economy,
                    refund_deadline_hours: fares::REFUND_DEADLINE_HOURS,
                    change_fee: None,
                    advance_purchase_days: 0,
                    valid_from: None,
                    valid_to: None,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Size;

    fn zones(blueprint: &Blueprint) -> impl Fn(&str) -> Option<chrono_tz::Tz> + '_ {
        |code| {
            blueprint
                .airports
                .iter()
                .find(|a| a.iata == code)
                .map(|a| a.tz)
        }
    }

    /// Every dated flight the blueprint generates is one date of one schedule record,
    /// with the same instants, and the schedule has nothing more.
    fn same_flights(size: Size) {
        // A window across both the European and the North American change of clocks.
        let first = NaiveDate::from_ymd_opt(2027, 3, 1).expect("date");
        let blueprint = Blueprint::new(size, first);
        let schedule = blueprint.schedule(first);
        assert_eq!(ssim::check(&schedule, &zones(&blueprint)), Ok(()));

        let mut from_schedule = Vec::new();
        for block in &schedule.carriers {
            for leg in &block.legs {
                for date in leg.dates(blueprint.last_day()) {
                    from_schedule.push((
                        leg.flight.to_string(),
                        date,
                        leg.departure_utc(date, TimeMode::Local),
                        leg.arrival_utc(date, TimeMode::Local),
                    ));
                }
            }
        }
        let mut generated = Vec::new();
        let mut id = 1;
        for day in 0..blueprint.days {
            let (flights, _) = blueprint.flights_on(day, &mut id);
            generated.extend(flights.into_iter().map(|f| {
                (
                    format!("{}{}", f.carrier, f.flight_number),
                    f.departure_date,
                    f.departure_at.naive_utc(),
                    f.arrival_at.naive_utc(),
                )
            }));
        }
        from_schedule.sort();
        generated.sort();
        assert_eq!(from_schedule.len(), generated.len());
        assert!(
            from_schedule == generated,
            "the schedule and the generated flights differ"
        );
        // Periods are split at changes of clocks: more records than routes.
        let records: usize = schedule.carriers.iter().map(|c| c.legs.len()).sum();
        assert!(
            records > blueprint.routes.len(),
            "{records} records for {} routes",
            blueprint.routes.len()
        );
    }

    #[test]
    fn the_small_schedule_describes_exactly_the_generated_flights() {
        same_flights(Size::Small);
    }

    #[test]
    fn the_demo_schedule_describes_exactly_the_generated_flights() {
        same_flights(Size::Demo);
    }

    #[test]
    fn the_files_read_back_and_pass_their_checks() {
        let first = NaiveDate::from_ymd_opt(2026, 10, 20).expect("date");
        let blueprint = Blueprint::new(Size::Small, first);
        let schedule = blueprint.schedule(first);
        let mut writer = ssim::Writer::new(Vec::new());
        writer.schedule(&schedule).expect("writes");
        let text = String::from_utf8(writer.finish().expect("flush")).expect("ascii");
        let read = ssim::read(&text, &mut |_, _| {}).expect("reads");
        assert_eq!(ssim::check(&read, &zones(&blueprint)), Ok(()));
        assert_eq!(read.legs().count(), schedule.legs().count());

        let fares = blueprint.fares();
        let mut csv = Vec::new();
        fares::write(&fares, &mut csv).expect("writes");
        let again = fares::read(std::str::from_utf8(&csv).expect("utf-8")).expect("reads");
        assert_eq!(again, fares);
        assert!(fares.iter().all(|f| f.adult > 0 && f.currency == CURRENCY));
        assert_eq!(
            ota_content::pricing::unpriced(&read, &again, blueprint.last_day()),
            vec![]
        );
    }
}
