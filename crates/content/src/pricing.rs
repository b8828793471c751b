//! A schedule and its fares together: every cabin of every flight leg must have a fare for
//! every date it operates, or the seats could not be sold.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};

use crate::CabinClass;
use crate::fares::Fare;
use crate::ssim::{Leg, Schedule};

/// A leg's cabin left without a fare on some of its dates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}: {flight} {origin}-{destination} {cabin} has no fare for departures on {first}{}",
    if last == first { String::new() } else { format!(" to {last}") }
)]
pub struct Unpriced {
    /// The flight-leg record's line in the schedule file.
    pub line: usize,
    pub flight: String,
    pub origin: String,
    pub destination: String,
    pub cabin: &'static str,
    /// First and last flight date (local, at the origin) without a fare.
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// Fares by carrier, route and cabin, in order of their first date.
pub struct FareTable<'a> {
    by_key: HashMap<(&'a str, &'a str, &'a str, CabinClass), Vec<&'a Fare>>,
}

impl<'a> FareTable<'a> {
    pub fn new(fares: &'a [Fare]) -> Self {
        let mut by_key: HashMap<_, Vec<&Fare>> = HashMap::new();
        for f in fares {
            by_key
                .entry((
                    f.carrier.as_str(),
                    f.origin.as_str(),
                    f.destination.as_str(),
                    f.cabin,
                ))
                .or_default()
                .push(f);
        }
        for list in by_key.values_mut() {
            list.sort_by_key(|f| f.valid_from);
        }
        FareTable { by_key }
    }

    /// The fare of a cabin on a route for a departure on `date` (local), if any.
    pub fn fare(
        &self,
        carrier: &str,
        origin: &str,
        destination: &str,
        cabin: CabinClass,
        date: NaiveDate,
    ) -> Option<&'a Fare> {
        self.by_key
            .get(&(carrier, origin, destination, cabin))?
            .iter()
            .copied()
            .find(|f| f.applies_on(date))
    }

    /// The first run of dates of `leg` (by departure date at its origin) on which one of
    /// its cabins has no fare.
    fn unpriced(&self, leg: &'a Leg, until: NaiveDate) -> Option<Unpriced> {
        for cabin in &leg.cabins {
            let Some(class) = CabinClass::of_letter(cabin.class) else {
                continue;
            };
            // A fare without validity dates prices every date at once.
            let open = self
                .by_key
                .get(&(
                    leg.flight.carrier.as_str(),
                    leg.departure.code.as_str(),
                    leg.arrival.code.as_str(),
                    class,
                ))
                .is_some_and(|fares| {
                    fares
                        .iter()
                        .any(|f| f.valid_from.is_none() && f.valid_to.is_none())
                });
            if open {
                continue;
            }
            let mut gap: Option<(NaiveDate, NaiveDate)> = None;
            for date in leg.dates(until) {
                let departs = date + Duration::days(i64::from(leg.departure_day));
                let priced = self
                    .fare(
                        &leg.flight.carrier,
                        &leg.departure.code,
                        &leg.arrival.code,
                        class,
                        departs,
                    )
                    .is_some();
                match (&mut gap, priced) {
                    (None, false) => gap = Some((departs, departs)),
                    (Some((_, last)), false) => *last = departs,
                    (Some(_), true) => break,
                    (None, true) => {}
                }
            }
            if let Some((first, last)) = gap {
                return Some(Unpriced {
                    line: leg.line,
                    flight: leg.flight.to_string(),
                    origin: leg.departure.code.clone(),
                    destination: leg.arrival.code.clone(),
                    cabin: class.as_str(),
                    first,
                    last,
                });
            }
        }
        None
    }
}

/// Every leg cabin (with a known class letter) that lacks a fare on some date, in line
/// order; open-ended periods are judged up to `until`.
pub fn unpriced(schedule: &Schedule, fares: &[Fare], until: NaiveDate) -> Vec<Unpriced> {
    let table = FareTable::new(fares);
    let mut out: Vec<Unpriced> = schedule
        .carriers
        .iter()
        .flat_map(|block| {
            let until = block.carrier.valid_to.unwrap_or(until);
            block
                .legs
                .iter()
                .filter_map(|leg| table.unpriced(leg, until))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by_key(|u| u.line);
    out
}
