//! Judging a schedule that reads well against the world: stations, periods, days, times
//! and the UTC variations the stations' time zones really have.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, Offset, TimeZone, Weekday};
use chrono_tz::Tz;

use super::fields::{format_date, format_offset};
use super::{CarrierSchedule, Error, Flight, Leg, Schedule, TimeMode};

/// Where the airports are: the IANA time zone of an airport code, `None` when unknown.
pub trait Stations {
    fn zone(&self, code: &str) -> Option<Tz>;
}

impl<F: Fn(&str) -> Option<Tz>> Stations for F {
    fn zone(&self, code: &str) -> Option<Tz> {
        self(code)
    }
}

/// The most errors one check reports (the count of the rest is said).
pub const MAX_ERRORS: usize = 50;

/// The longest block time a leg may have; more is a date variation gone wrong.
pub const MAX_BLOCK_HOURS: i64 = 24;

/// Checks every leg; all errors found, in line order (at most [`MAX_ERRORS`], the last
/// saying how many more there were).
pub fn check(schedule: &Schedule, stations: &dyn Stations) -> Result<(), Vec<Error>> {
    let mut errors = Vec::new();
    let offsets = Offsets::for_schedule(schedule);
    for block in &schedule.carriers {
        for leg in &block.legs {
            if let Err(e) = check_leg(block, leg, stations, &offsets) {
                errors.push(e);
            }
        }
        overlaps(block, &mut errors);
    }
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by_key(Error::line);
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - MAX_ERRORS + 1;
        errors.truncate(MAX_ERRORS - 1);
        let line = errors.last().map_or(1, Error::line);
        errors.push(Error::record(line, format!("and {more} more errors")));
    }
    Err(errors)
}

/// Each zone's offset sampled every 12 hours over the schedule's dates: an instant
/// between two samples that agree with a record's variation needs no zone lookup (there
/// is no change of clocks within 12 hours of another); anything else is looked up.
struct Offsets {
    start: chrono::NaiveDateTime,
    samples: usize,
    zones: std::cell::RefCell<std::collections::HashMap<Tz, Vec<i32>>>,
}

impl Offsets {
    fn for_schedule(schedule: &Schedule) -> Self {
        let first = schedule
            .legs()
            .map(|l| l.period_from)
            .min()
            .unwrap_or_default();
        let last = schedule
            .legs()
            .map(|l| l.period_to.unwrap_or(l.period_from))
            .max()
            .unwrap_or_default()
            .max(
                schedule
                    .carriers
                    .iter()
                    .filter_map(|c| c.carrier.valid_to)
                    .max()
                    .unwrap_or_default(),
            );
        let start = (first - Duration::days(2)).and_time(chrono::NaiveTime::MIN);
        let days = (last - first).num_days().clamp(0, 3_660) as usize + 14;
        Offsets {
            start,
            samples: days * 2,
            zones: Default::default(),
        }
    }

    /// Whether `zone` has `offset` at `utc`, by the samples where they are conclusive.
    fn holds(&self, zone: Tz, utc: chrono::NaiveDateTime, offset: i32) -> Option<bool> {
        let half_days = (utc - self.start).num_hours().div_euclid(12);
        let i = usize::try_from(half_days)
            .ok()
            .filter(|i| i + 1 < self.samples)?;
        let mut zones = self.zones.borrow_mut();
        let samples = zones.entry(zone).or_insert_with(|| {
            (0..self.samples)
                .map(|k| {
                    let at = self.start + Duration::hours(12 * k as i64);
                    zone.offset_from_utc_datetime(&at).fix().local_minus_utc() / 60
                })
                .collect()
        });
        (samples[i] == samples[i + 1]).then_some(samples[i] == offset)
    }
}

fn check_leg(
    block: &CarrierSchedule,
    leg: &Leg,
    stations: &dyn Stations,
    offsets: &Offsets,
) -> Result<(), Error> {
    let carrier = &block.carrier;
    let line = leg.line;
    let zone = |code: &str, end: &str| {
        stations.zone(code).ok_or_else(|| {
            Error::record(line, format!("{end} station {code} is not a known airport"))
        })
    };
    let from_zone = zone(&leg.departure.code, "departure")?;
    let to_zone = zone(&leg.arrival.code, "arrival")?;
    if leg.departure.code == leg.arrival.code {
        return Err(Error::record(
            line,
            format!("departs from and arrives at {}", leg.departure.code),
        ));
    }
    let until = carrier
        .valid_to
        .unwrap_or(carrier.valid_from + Duration::days(366));
    let last = leg.last_date(until);
    let outside =
        leg.period_from < carrier.valid_from || carrier.valid_to.is_some_and(|to| last > to);
    if outside {
        return Err(Error::record(
            line,
            format!(
                "period of operation {}-{} lies outside the carrier's period of schedule validity {}-{}",
                format_date(leg.period_from),
                leg.period_to.map_or("00XXX00".into(), format_date),
                format_date(carrier.valid_from),
                carrier.valid_to.map_or("00XXX00".into(), format_date),
            ),
        ));
    }
    days_within_period(leg, last)?;
    seats(leg)?;
    let mode = carrier.time_mode;
    let first = leg
        .dates(until)
        .next()
        .ok_or_else(|| Error::record(line, "operates on no date of its period"))?;
    let (departs, arrives) = (leg.departure_utc(first, mode), leg.arrival_utc(first, mode));
    if arrives <= departs {
        return Err(Error::record(
            line,
            format!(
                "arrives at {arrives} UTC, not after it departs at {departs} UTC (on {})",
                format_date(first)
            ),
        ));
    }
    if arrives - departs > Duration::hours(MAX_BLOCK_HOURS) {
        return Err(Error::record(
            line,
            format!(
                "block time {} h from {departs} UTC to {arrives} UTC: more than {MAX_BLOCK_HOURS} h (date variation?)",
                (arrives - departs).num_hours()
            ),
        ));
    }
    for date in leg.dates(until) {
        variation_holds(leg, date, mode, true, from_zone, offsets)?;
        variation_holds(leg, date, mode, false, to_zone, offsets)?;
    }
    Ok(())
}

/// The aircraft configuration must give seats in cabins we sell (`J12Y150`).
fn seats(leg: &Leg) -> Result<(), Error> {
    let field = |problem: String| Error::Field {
        line: leg.line,
        from: 173,
        to: 192,
        field: "aircraft configuration",
        problem,
    };
    if leg.cabins.is_empty() || leg.cabins.iter().all(|c| c.seats == 0) {
        return Err(field(format!(
            "{:?} gives no seats: a class letter and its seat count, such as J12Y150",
            leg.configuration
        )));
    }
    match leg
        .cabins
        .iter()
        .find(|c| crate::CabinClass::of_letter(c.class).is_none())
    {
        Some(c) => Err(field(format!(
            "{:?}: {} is not a cabin we sell (F first, C or J business, W premium economy, Y economy)",
            leg.configuration, c.class
        ))),
        None => Ok(()),
    }
}

/// Every day of operation must fall in the period at least once (a 3-day period cannot
/// operate on a weekday it does not contain).
fn days_within_period(leg: &Leg, last: NaiveDate) -> Result<(), Error> {
    let span = (last - leg.period_from).num_days();
    if span >= 6 {
        return Ok(());
    }
    let present: Vec<Weekday> = leg
        .period_from
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| d.weekday())
        .collect();
    match leg.days.weekdays().find(|d| !present.contains(d)) {
        None => Ok(()),
        Some(day) => Err(Error::Field {
            line: leg.line,
            from: 29,
            to: 35,
            field: "days of operation",
            problem: format!(
                "{:?} operates on {day}, which is not in the period {}-{}",
                leg.days.to_field(),
                format_date(leg.period_from),
                format_date(last)
            ),
        }),
    }
}

/// The UTC variation the file gives at a station must be the zone's on that date.
fn variation_holds(
    leg: &Leg,
    date: NaiveDate,
    mode: TimeMode,
    departure: bool,
    zone: Tz,
    offsets: &Offsets,
) -> Result<(), Error> {
    let (station, utc, day, field, from) = if departure {
        (
            &leg.departure,
            leg.departure_utc(date, mode),
            leg.departure_day,
            "departure UTC variation",
            48,
        )
    } else {
        (
            &leg.arrival,
            leg.arrival_utc(date, mode),
            leg.arrival_day,
            "arrival UTC variation",
            66,
        )
    };
    if offsets.holds(zone, utc, station.utc_offset) == Some(true) {
        return Ok(());
    }
    let actual = zone.offset_from_utc_datetime(&utc).fix().local_minus_utc() / 60;
    if actual == station.utc_offset {
        return Ok(());
    }
    let local_date = date + Duration::days(i64::from(day));
    Err(Error::Field {
        line: leg.line,
        from,
        to: from + 4,
        field,
        problem: format!(
            "{} at {} on {} contradicts {} ({} then): split the period where the variation changes",
            format_offset(station.utc_offset),
            station.code,
            format_date(local_date),
            zone.name(),
            format_offset(actual),
        ),
    })
}

/// Two records of the same leg (flight, itinerary variation, leg sequence) must not
/// operate on the same date.
fn overlaps(block: &CarrierSchedule, errors: &mut Vec<Error>) {
    let carrier = &block.carrier;
    let until = carrier
        .valid_to
        .unwrap_or(carrier.valid_from + Duration::days(366));
    let mut by_leg: HashMap<(&Flight, u16, u8), Vec<&Leg>> = HashMap::new();
    for leg in &block.legs {
        by_leg
            .entry((&leg.flight, leg.itinerary_variation, leg.leg_sequence))
            .or_default()
            .push(leg);
    }
    for legs in by_leg.values_mut() {
        if legs.len() < 2 {
            continue;
        }
        legs.sort_by_key(|l| (l.period_from, l.line));
        for (i, a) in legs.iter().enumerate() {
            for b in &legs[i + 1..] {
                if b.period_from > a.last_date(until) {
                    break;
                }
                let both = b
                    .dates(until)
                    .take_while(|d| *d <= a.last_date(until))
                    .find(|d| a.dates(until).any(|x| x == *d));
                if let Some(date) = both {
                    let (first, second) = if a.line < b.line { (a, b) } else { (b, a) };
                    errors.push(Error::record(
                        second.line,
                        format!(
                            "{} variation {} leg {} on {} is already given at line {}",
                            second.flight,
                            second.itinerary_variation,
                            second.leg_sequence,
                            format_date(date),
                            first.line
                        ),
                    ));
                }
            }
        }
    }
}
