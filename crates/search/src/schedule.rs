//! Flight schedules as search-service keeps them: one [`ScheduledLeg`] per flight-leg
//! record (local times with the UTC variation that holds over its whole period), the
//! [`PublishedFare`]s that price them, and the [`DatedLeg`] key that names one leg of one
//! flight on one date (the key sparse seat inventory, offers and holds carry).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use ota_content::ssim::{self, TimeMode};

use crate::catalog::Cabin;

/// One leg of one flight on one date: carrier, flight number, flight date (the date at
/// the flight's origin, as SSIM periods count) and the leg's board point.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatedLeg {
    pub carrier: String,
    pub flight_number: u16,
    pub flight_date: NaiveDate,
    pub origin: String,
}

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
/// Where a dated-leg id keeps its flight date (16 bits of days since 1970).
pub(crate) const DATE_SHIFT: u32 = 15;

fn carrier_digit(b: u8) -> Option<i64> {
    match b {
        b'0'..=b'9' => Some(i64::from(b - b'0') + 1),
        b'A'..=b'Z' => Some(i64::from(b - b'A') + 11),
        _ => None,
    }
}

fn carrier_char(d: i64) -> Option<char> {
    match d {
        1..=10 => Some(char::from(b'0' + (d - 1) as u8)),
        11..=36 => Some(char::from(b'A' + (d - 11) as u8)),
        _ => None,
    }
}

impl DatedLeg {
    /// The leg's id: the four parts packed in 61 bits (carrier 16, number 14, days since
    /// 1970 16, origin 15), so that every pod and every engine agree on it without a
    /// lookup. `None` for a part out of range (a carrier of 2–3 letters or digits, a
    /// number 1–9999, a date 1970–2149, an origin of three letters).
    pub fn id(&self) -> Option<i64> {
        let c = self.carrier.as_bytes();
        if !(2..=3).contains(&c.len()) {
            return None;
        }
        let mut carrier = 0i64;
        for i in 0..3 {
            carrier = carrier * 37 + c.get(i).map_or(Some(0), |b| carrier_digit(*b))?;
        }
        if !(1..=9999).contains(&self.flight_number) {
            return None;
        }
        let days = (self.flight_date - EPOCH).num_days();
        if !(0..1 << 16).contains(&days) {
            return None;
        }
        let o = self.origin.as_bytes();
        if o.len() != 3 || !o.iter().all(u8::is_ascii_uppercase) {
            return None;
        }
        let origin = o.iter().fold(0i64, |acc, b| acc * 26 + i64::from(b - b'A'));
        Some(carrier << 45 | i64::from(self.flight_number) << 31 | days << DATE_SHIFT | origin)
    }

    /// The id of the same leg (carrier, number, board point) on another flight date:
    /// ids differ only in their date bits.
    pub fn redate(id: i64, flight_date: NaiveDate) -> i64 {
        Self::undated(id) | (flight_date - EPOCH).num_days() << DATE_SHIFT
    }

    /// An id with its date bits cleared: the same for every date of a flight's leg.
    pub fn undated(id: i64) -> i64 {
        id & !(0xFFFF << DATE_SHIFT)
    }

    /// The flight date an id names.
    pub fn date_of(id: i64) -> NaiveDate {
        EPOCH + Duration::days((id >> DATE_SHIFT) & 0xFFFF)
    }

    /// Reads an id back; `None` when it is not one [`DatedLeg::id`] makes.
    pub fn from_id(id: i64) -> Option<Self> {
        if id < 0 {
            return None;
        }
        let mut origin = id & 0x7FFF;
        let days = (id >> DATE_SHIFT) & 0xFFFF;
        let number = (id >> 31) & 0x3FFF;
        let mut carrier = id >> 45;
        if origin >= 26 * 26 * 26 || !(1..=9999).contains(&number) || carrier >= 37 * 37 * 37 {
            return None;
        }
        let mut o = [0u8; 3];
        for slot in o.iter_mut().rev() {
            *slot = b'A' + (origin % 26) as u8;
            origin /= 26;
        }
        let mut c = Vec::with_capacity(3);
        for _ in 0..3 {
            c.push(carrier % 37);
            carrier /= 37;
        }
        c.reverse();
        let mut code = String::new();
        for (i, d) in c.iter().enumerate() {
            match (carrier_char(*d), i) {
                (Some(ch), _) => code.push(ch),
                (None, 2) if *d == 0 => {}
                _ => return None,
            }
        }
        let leg = DatedLeg {
            carrier: code,
            flight_number: number as u16,
            flight_date: EPOCH + Duration::days(days),
            origin: String::from_utf8(o.to_vec()).ok()?,
        };
        (leg.id() == Some(id)).then_some(leg)
    }
}

impl std::fmt::Display for DatedLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{} {} from {}",
            self.carrier, self.flight_number, self.flight_date, self.origin
        )
    }
}

/// A flight-leg record as stored: times local at each station, with the UTC variation
/// that holds on every date of the period and the day offsets from the flight date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledLeg {
    pub carrier: String,
    pub flight_number: u16,
    pub suffix: String,
    pub itinerary_variation: u16,
    pub leg_sequence: u8,
    pub service_type: char,
    pub origin: String,
    pub destination: String,
    /// First and last flight date (the date at the flight's origin).
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    /// Bit 0 Monday … bit 6 Sunday.
    pub days: u8,
    /// 1 every week, 2 every other week counted from `period_from`.
    pub frequency_rate: u8,
    /// Local minutes after midnight.
    pub departure_minute: u16,
    /// Days from the flight date to the local departure date.
    pub departure_day: i8,
    /// Minutes east of UTC.
    pub departure_utc_offset: i16,
    pub arrival_minute: u16,
    pub arrival_day: i8,
    pub arrival_utc_offset: i16,
    pub aircraft_type: String,
    pub configuration: String,
    /// Seats per cabin we sell.
    pub cabins: Vec<(Cabin, i32)>,
    pub source_line: u32,
}

/// The cabin an SSIM class letter sells (`F` first, `C`/`J` business, `W` premium
/// economy, `Y` economy).
pub fn cabin_of_letter(letter: char) -> Option<Cabin> {
    match letter {
        'F' => Some(Cabin::First),
        'C' | 'J' => Some(Cabin::Business),
        'W' => Some(Cabin::PremiumEconomy),
        'Y' => Some(Cabin::Economy),
        _ => None,
    }
}

fn local(day: i8, time: NaiveTime, offset: i32, mode: TimeMode) -> (i8, u16) {
    let base = NaiveDate::from_ymd_opt(2000, 1, 3).expect("a date");
    let written = (base + Duration::days(i64::from(day))).and_time(time);
    let local = match mode {
        TimeMode::Local => written,
        TimeMode::Utc => written + Duration::minutes(i64::from(offset)),
    };
    (
        (local.date() - base).num_days() as i8,
        (local.time().num_seconds_from_midnight() / 60) as u16,
    )
}

impl ScheduledLeg {
    /// A checked SSIM leg of a carrier block, with its times made local and its open
    /// period closed at `until` (the carrier's validity end, or the caller's horizon).
    pub fn from_ssim(mode: TimeMode, leg: &ssim::Leg, until: NaiveDate) -> Self {
        let (departure_day, departure_minute) = local(
            leg.departure_day,
            leg.departure.passenger_time,
            leg.departure.utc_offset,
            mode,
        );
        let (arrival_day, arrival_minute) = local(
            leg.arrival_day,
            leg.arrival.passenger_time,
            leg.arrival.utc_offset,
            mode,
        );
        let mut cabins: Vec<(Cabin, i32)> = Vec::new();
        for c in &leg.cabins {
            if let Some(cabin) = cabin_of_letter(c.class) {
                match cabins.iter_mut().find(|(k, _)| *k == cabin) {
                    Some((_, seats)) => *seats += i32::from(c.seats),
                    None => cabins.push((cabin, i32::from(c.seats))),
                }
            }
        }
        cabins.sort_by_key(|(c, _)| *c);
        ScheduledLeg {
            carrier: leg.flight.carrier.clone(),
            flight_number: leg.flight.number,
            suffix: leg.flight.suffix.map(String::from).unwrap_or_default(),
            itinerary_variation: leg.itinerary_variation,
            leg_sequence: leg.leg_sequence,
            service_type: leg.service_type,
            origin: leg.departure.code.clone(),
            destination: leg.arrival.code.clone(),
            period_from: leg.period_from,
            period_to: leg.last_date(until),
            days: (0..7u8)
                .filter(|i| chrono::Weekday::try_from(*i).is_ok_and(|d| leg.days.contains(d)))
                .fold(0, |bits, i| bits | 1 << i),
            frequency_rate: leg.frequency_rate.unwrap_or(1).max(1),
            departure_minute,
            departure_day,
            departure_utc_offset: leg.departure.utc_offset as i16,
            arrival_minute,
            arrival_day,
            arrival_utc_offset: leg.arrival.utc_offset as i16,
            aircraft_type: leg.aircraft_type.clone(),
            configuration: leg.configuration.clone(),
            cabins,
            source_line: leg.line as u32,
        }
    }

    /// Whether the flight operates on this flight date.
    pub fn operates(&self, flight_date: NaiveDate) -> bool {
        if flight_date < self.period_from || flight_date > self.period_to {
            return false;
        }
        let week = (flight_date - self.period_from).num_days() / 7;
        week % i64::from(self.frequency_rate.max(1)) == 0
            && self.days & (1 << flight_date.weekday().num_days_from_monday()) != 0
    }

    /// The dated leg of a flight date.
    pub fn dated(&self, flight_date: NaiveDate) -> DatedLeg {
        DatedLeg {
            carrier: self.carrier.clone(),
            flight_number: self.flight_number,
            flight_date,
            origin: self.origin.clone(),
        }
    }

    /// UTC departure of the flight of `flight_date`.
    pub fn departure(&self, flight_date: NaiveDate) -> chrono::DateTime<Utc> {
        instant(
            flight_date,
            self.departure_day,
            self.departure_minute,
            self.departure_utc_offset,
        )
    }

    /// UTC arrival of the flight of `flight_date`.
    pub fn arrival(&self, flight_date: NaiveDate) -> chrono::DateTime<Utc> {
        instant(
            flight_date,
            self.arrival_day,
            self.arrival_minute,
            self.arrival_utc_offset,
        )
    }

    /// Seats of a cabin.
    pub fn capacity(&self, cabin: Cabin) -> Option<i32> {
        self.cabins
            .iter()
            .find(|(c, _)| *c == cabin)
            .map(|(_, seats)| *seats)
    }

    /// Whether two records fly a date the same way (stations, times, seats).
    pub fn same_service(&self, other: &ScheduledLeg) -> bool {
        self.destination == other.destination
            && self.departure_minute == other.departure_minute
            && self.departure_day == other.departure_day
            && self.departure_utc_offset == other.departure_utc_offset
            && self.arrival_minute == other.arrival_minute
            && self.arrival_day == other.arrival_day
            && self.arrival_utc_offset == other.arrival_utc_offset
    }
}

/// Minutes east of UTC as an instant offset.
pub fn instant(date: NaiveDate, day: i8, minute: u16, offset: i16) -> chrono::DateTime<Utc> {
    let local: NaiveDateTime = (date + Duration::days(i64::from(day))).and_time(NaiveTime::MIN)
        + Duration::minutes(i64::from(minute));
    (local - Duration::minutes(i64::from(offset))).and_utc()
}

/// A published fare, as stored and as the index prices with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedFare {
    pub carrier: String,
    pub origin: String,
    pub destination: String,
    pub cabin: Cabin,
    /// Minor units per passenger.
    pub adult: i64,
    pub child: i64,
    pub infant: i64,
    pub currency: String,
    pub refundable: bool,
    pub refund_deadline_hours: u32,
    pub change_fee: Option<i64>,
    pub advance_purchase_days: u32,
    /// Departure dates (local at the origin) the fare applies to; open when `None`.
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

impl PublishedFare {
    pub fn from_file(f: &ota_content::fares::Fare) -> Option<Self> {
        Some(PublishedFare {
            carrier: f.carrier.clone(),
            origin: f.origin.clone(),
            destination: f.destination.clone(),
            cabin: Cabin::parse(f.cabin.as_str())?,
            adult: f.adult,
            child: f.child,
            infant: f.infant,
            currency: f.currency.clone(),
            refundable: f.refundable,
            refund_deadline_hours: f.refund_deadline_hours,
            change_fee: f.change_fee,
            advance_purchase_days: f.advance_purchase_days,
            valid_from: f.valid_from,
            valid_to: f.valid_to,
        })
    }

    /// The fare as a fare file's row would give it (line 0: it came from the database).
    pub fn to_file(&self) -> Option<ota_content::fares::Fare> {
        Some(ota_content::fares::Fare {
            line: 0,
            carrier: self.carrier.clone(),
            origin: self.origin.clone(),
            destination: self.destination.clone(),
            cabin: ota_content::CabinClass::parse(self.cabin.as_str())?,
            adult: self.adult,
            child: self.child,
            infant: self.infant,
            currency: self.currency.clone(),
            refundable: self.refundable,
            refund_deadline_hours: self.refund_deadline_hours,
            change_fee: self.change_fee,
            advance_purchase_days: self.advance_purchase_days,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
        })
    }

    /// Whether the fare applies to a departure on this local date.
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| date >= from) && self.valid_to.is_none_or(|to| date <= to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(carrier: &str, number: u16, date: &str, origin: &str) -> DatedLeg {
        DatedLeg {
            carrier: carrier.to_owned(),
            flight_number: number,
            flight_date: date.parse().expect("date"),
            origin: origin.to_owned(),
        }
    }

    #[test]
    fn dated_leg_ids_read_back_and_differ_by_every_part() {
        let cases = [
            leg("OT", 101, "2026-12-14", "LHR"),
            leg("OT", 101, "2026-12-15", "LHR"),
            leg("OT", 101, "2026-12-14", "JFK"),
            leg("OT", 102, "2026-12-14", "LHR"),
            leg("9W", 1, "1970-01-01", "AAA"),
            leg("U2A", 9999, "2149-06-05", "ZZZ"),
            leg("ZZZ", 9999, "2149-06-05", "ZZZ"),
        ];
        let mut ids = std::collections::HashSet::new();
        for l in &cases {
            let id = l.id().expect("an id");
            assert!(id > 0);
            assert_eq!(DatedLeg::from_id(id).as_ref(), Some(l), "{l}");
            assert!(ids.insert(id), "{l} has its own id");
        }
        for bad in [
            leg("O", 1, "2026-12-14", "LHR"),
            leg("OTXX", 1, "2026-12-14", "LHR"),
            leg("ot", 1, "2026-12-14", "LHR"),
            leg("OT", 0, "2026-12-14", "LHR"),
            leg("OT", 10_000, "2026-12-14", "LHR"),
            leg("OT", 1, "1969-12-31", "LHR"),
            leg("OT", 1, "2026-12-14", "LH1"),
        ] {
            assert_eq!(bad.id(), None, "{bad}");
        }
        assert_eq!(DatedLeg::from_id(-1), None);
        // A gap in the carrier's letters is not a carrier.
        assert_eq!(DatedLeg::from_id(1 << 45 | 1 << 31), None);
    }

    #[test]
    fn utc_mode_records_are_kept_in_local_time() {
        let text = include_str!("../../content/tests/data/hand.ssim");
        let schedule = ssim::read(text, &mut |_, _| {}).expect("reads");
        let vy = schedule
            .carriers
            .iter()
            .find(|c| c.carrier.designator == "VY")
            .expect("VY");
        let until = NaiveDate::from_ymd_opt(2027, 3, 27).expect("date");
        let l = ScheduledLeg::from_ssim(vy.carrier.time_mode, &vy.legs[0], until);
        let raw = &vy.legs[0];
        for date in raw.dates(until).take(40) {
            assert!(l.operates(date));
            assert_eq!(
                l.departure(date).naive_utc(),
                raw.departure_utc(date, vy.carrier.time_mode)
            );
            assert_eq!(
                l.arrival(date).naive_utc(),
                raw.arrival_utc(date, vy.carrier.time_mode)
            );
        }
    }
}
