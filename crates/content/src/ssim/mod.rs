//! Airline schedules in IATA SSIM (Standard Schedules Information Manual) chapter 7: the
//! fixed-width, 200-byte records airlines publish their schedules in.
//!
//! - [`read`] turns a file into a [`Schedule`]: record type 1 (header), per carrier a type 2
//!   (carrier: time mode, period of schedule validity), its type 3 flight legs (period and
//!   days of operation, stations with local times and UTC variations, aircraft and seat
//!   configuration, date variations) each with its type 4 segment data, and a type 5
//!   trailer. Zero-filled records that pad blocks are skipped. A malformed record is an
//!   [`Error`] naming its line and columns.
//! - [`check`] judges a schedule against the world: every station known, every period
//!   possible, every day of operation inside its period, arrival after departure in UTC,
//!   every UTC variation the one the station's IANA zone has on that date (so a period
//!   crossing a daylight-saving change must be split, as real files do).
//! - [`Writer`] writes records back; what it writes, [`read`] reads.
//!
//! Times on a leg are as the file gives them: local when the carrier's time mode is
//! [`TimeMode::Local`], UTC when [`TimeMode::Utc`]; [`Leg::departure_utc`] and
//! [`Leg::arrival_utc`] give the instants either way.

mod check;
mod days;
mod fields;
mod read;
mod write;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

pub use check::{Stations, check};
pub use days::DaysOfOperation;
pub use fields::RECORD_LEN;
pub use read::read;
pub use write::Writer;

/// What is wrong with a file, naming where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field that cannot be read.
    #[error(
        "line {line}, {} ({field}): {problem}",
        if from == to { format!("column {from}") } else { format!("columns {from}-{to}") }
    )]
    Field {
        line: usize,
        from: usize,
        to: usize,
        field: &'static str,
        problem: String,
    },
    /// A record that is well formed but wrong where it stands, or wrong in its meaning.
    #[error("line {line}: {problem}")]
    Record { line: usize, problem: String },
}

impl Error {
    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            Error::Field { line, .. } | Error::Record { line, .. } => *line,
        }
    }

    pub(crate) fn record(line: usize, problem: impl Into<String>) -> Self {
        Error::Record {
            line,
            problem: problem.into(),
        }
    }
}

/// Whether a carrier's times are local (`L`) or UTC (`U`) (record type 2, column 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    Local,
    Utc,
}

/// A whole file: the carriers in the order they appear, each with its legs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule {
    pub carriers: Vec<CarrierSchedule>,
}

impl Schedule {
    /// Every flight leg of every carrier.
    pub fn legs(&self) -> impl Iterator<Item = &Leg> {
        self.carriers.iter().flat_map(|c| c.legs.iter())
    }
}

/// One carrier's block: its record type 2 and the legs that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierSchedule {
    pub carrier: Carrier,
    pub legs: Vec<Leg>,
}

/// Record type 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    /// Line of the record in the file (1-based).
    pub line: usize,
    /// Airline designator (2 or 3 characters, such as `BA` or `U2`).
    pub designator: String,
    pub time_mode: TimeMode,
    /// IATA season, such as `W26` (may be blank).
    pub season: String,
    /// Period of schedule validity, both days included.
    pub valid_from: NaiveDate,
    /// `None`: until further notice.
    pub valid_to: Option<NaiveDate>,
    pub creation_date: NaiveDate,
    /// Title of data (free text, columns 36-64).
    pub title: String,
    /// General information (free text, columns 109-168).
    pub general_information: String,
}

/// A flight designator: carrier, number and operational suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flight {
    pub carrier: String,
    /// 1 to 9999.
    pub number: u16,
    /// Operational suffix (column 2), if any.
    pub suffix: Option<char>,
}

impl std::fmt::Display for Flight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.carrier, self.number)?;
        if let Some(s) = self.suffix {
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

/// One end of a leg: the station and its times as the file gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    /// IATA airport code.
    pub code: String,
    /// Passenger departure or arrival time (local or UTC by the carrier's time mode).
    pub passenger_time: NaiveTime,
    /// Aircraft departure or arrival time (off-blocks / on-blocks).
    pub aircraft_time: NaiveTime,
    /// UTC/local time variation at the station, minutes east of UTC.
    pub utc_offset: i32,
    /// Passenger terminal, if given.
    pub terminal: String,
}

/// One cabin of the aircraft configuration (columns 173-192, such as `J12Y150`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cabin {
    /// The class letter (`F`, `J`/`C`, `W`, `Y`...).
    pub class: char,
    /// Seats sold in it.
    pub seats: u16,
}

/// Record type 3: one leg of a flight, with the type 4 records that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    /// Line of the record in the file (1-based).
    pub line: usize,
    pub flight: Flight,
    /// Itinerary variation identifier (columns 10-11, with the overflow digit of column
    /// 128 in front): legs of one routing share it.
    pub itinerary_variation: u16,
    /// Leg sequence number within the itinerary variation (1 = first leg).
    pub leg_sequence: u8,
    /// Service type (`J` scheduled passenger, `C` charter...).
    pub service_type: char,
    /// First date of the period of operation (the flight's date at its origin).
    pub period_from: NaiveDate,
    /// Last date; `None` "until further notice" (the carrier's validity end applies).
    pub period_to: Option<NaiveDate>,
    pub days: DaysOfOperation,
    /// Every week (`None` or 1) or every other week (2), counted from `period_from`.
    pub frequency_rate: Option<u8>,
    pub departure: Station,
    pub arrival: Station,
    /// IATA aircraft type, such as `320`.
    pub aircraft_type: String,
    /// Passenger reservations booking designators (columns 76-95).
    pub booking_designators: String,
    /// Aircraft configuration as written (columns 173-192).
    pub configuration: String,
    /// Seats per cabin read from the configuration (empty where it gives no counts).
    pub cabins: Vec<Cabin>,
    /// Days between the flight's date and this leg's departure (usually 0; -1 to 9).
    pub departure_day: i8,
    /// Days between the flight's date and this leg's arrival.
    pub arrival_day: i8,
    /// Record type 4 segment data following the leg.
    pub segments: Vec<SegmentData>,
}

/// Record type 4: a data element (DEI) for a board point / off point of a flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentData {
    pub line: usize,
    /// Board point indicator (column 29): the leg, `A` first, whose board point is meant.
    pub board_indicator: char,
    /// Off point indicator (column 30).
    pub off_indicator: char,
    pub board_point: String,
    pub off_point: String,
    /// Data element identifier, such as 10 (code share) or 50 (operating airline).
    pub element: u16,
    pub data: String,
}

impl Leg {
    /// The last date of the period, with "until further notice" read as `until`.
    pub fn last_date(&self, until: NaiveDate) -> NaiveDate {
        self.period_to.unwrap_or(until)
    }

    /// The flight dates this leg operates on, in order, up to `until` when the period is
    /// open: every date of the period on a day of operation, every other week when the
    /// frequency rate is 2.
    pub fn dates(&self, until: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        let last = self.last_date(until);
        let step_weeks = i64::from(self.frequency_rate.unwrap_or(1).max(1));
        let from = self.period_from;
        from.iter_days()
            .take_while(move |d| *d <= last)
            .filter(move |d| {
                let week = (*d - from).num_days() / 7;
                week % step_weeks == 0 && self.days.operates(*d)
            })
    }

    /// The UTC instant of departure for the flight of `date`.
    pub fn departure_utc(&self, date: NaiveDate, mode: TimeMode) -> NaiveDateTime {
        instant(date, self.departure_day, &self.departure, mode)
    }

    /// The UTC instant of arrival for the flight of `date`.
    pub fn arrival_utc(&self, date: NaiveDate, mode: TimeMode) -> NaiveDateTime {
        instant(date, self.arrival_day, &self.arrival, mode)
    }

    /// Block time (arrival minus departure).
    pub fn duration(&self, mode: TimeMode) -> Duration {
        let d = self.period_from;
        self.arrival_utc(d, mode) - self.departure_utc(d, mode)
    }
}

fn instant(date: NaiveDate, day: i8, station: &Station, mode: TimeMode) -> NaiveDateTime {
    let written = (date + Duration::days(i64::from(day))).and_time(station.passenger_time);
    match mode {
        TimeMode::Utc => written,
        TimeMode::Local => written - Duration::minutes(i64::from(station.utc_offset)),
    }
}

/// Reads the cabins of an aircraft configuration such as `J12Y150` or `F8C42W24Y180`:
/// a class letter followed by its seat count, repeated. Anything else gives no cabins.
pub fn cabins(configuration: &str) -> Vec<Cabin> {
    let mut cabins = Vec::new();
    let bytes = configuration.trim().as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let class = bytes[i];
        if !class.is_ascii_uppercase() {
            return Vec::new();
        }
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        let Some(seats) = std::str::from_utf8(&bytes[start..end])
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
        else {
            return Vec::new();
        };
        cabins.push(Cabin {
            class: char::from(class),
            seats,
        });
        i = end;
    }
    cabins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_give_seats_per_cabin() {
        assert_eq!(
            cabins("J12Y150"),
            vec![
                Cabin {
                    class: 'J',
                    seats: 12
                },
                Cabin {
                    class: 'Y',
                    seats: 150
                }
            ]
        );
        assert_eq!(cabins("F8C42W24Y180").len(), 4);
        assert!(cabins("").is_empty());
        assert!(cabins("Y").is_empty());
        assert!(cabins("VVM").is_empty());
        assert!(cabins("Y99999").is_empty());
    }
}
