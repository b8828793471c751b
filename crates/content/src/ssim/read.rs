//! Reading a file: records in the order chapter 7 sets (1, then per carrier 2, 3 with their
//! 4s, 5), zero-filled padding skipped, every field checked for its form.

use super::fields::{RECORD_LEN, Record};
use super::{
    Carrier, CarrierSchedule, DaysOfOperation, Error, Flight, Leg, Schedule, SegmentData, Station,
    TimeMode, cabins,
};

/// Reads a whole SSIM file. Lines end in LF or CRLF; a record shorter than 200 bytes is
/// read as if padded with spaces (some tools trim them); blank lines and zero-filled
/// padding records are skipped. `progress` is called now and then with the bytes read so
/// far and the total.
pub fn read(text: &str, progress: &mut dyn FnMut(usize, usize)) -> Result<Schedule, Error> {
    let mut reader = Reader::default();
    let mut done = 0usize;
    let mut padded = String::with_capacity(RECORD_LEN);
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        done += raw.len() + 1;
        if line % 50_000 == 0 {
            progress(done.min(text.len()), text.len());
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() || raw.bytes().all(|b| b == b'0') {
            continue;
        }
        if !raw.is_ascii() {
            return Err(Error::record(line, "holds characters other than ASCII"));
        }
        if raw.len() > RECORD_LEN {
            return Err(Error::record(
                line,
                format!("is {} bytes long; SSIM records are {RECORD_LEN}", raw.len()),
            ));
        }
        let text = if raw.len() < RECORD_LEN {
            padded.clear();
            padded.push_str(raw);
            padded.extend(std::iter::repeat_n(' ', RECORD_LEN - raw.len()));
            padded.as_str()
        } else {
            raw
        };
        reader.record(&Record { line, text })?;
    }
    progress(text.len(), text.len());
    reader.finish()
}

#[derive(Default)]
struct Reader {
    header: bool,
    last_line: usize,
    open: Option<CarrierSchedule>,
    schedule: Schedule,
}

impl Reader {
    fn record(&mut self, r: &Record<'_>) -> Result<(), Error> {
        self.last_line = r.line;
        match r.char(1) {
            '1' if self.header => Err(Error::record(r.line, "a second header record (type 1)")),
            '1' => {
                self.header = true;
                Ok(())
            }
            _ if !self.header => Err(Error::record(
                r.line,
                "the file must start with a header record (type 1)",
            )),
            '2' => self.carrier(r),
            '3' => self.leg(r),
            '4' => self.segment(r),
            '5' => self.trailer(r),
            c => Err(r.error(
                1,
                1,
                "record type",
                format!("{c:?} is not a record type (1-5)"),
            )),
        }
    }

    fn carrier(&mut self, r: &Record<'_>) -> Result<(), Error> {
        if let Some(open) = &self.open {
            return Err(Error::record(
                r.line,
                format!(
                    "carrier record before the trailer (type 5) of carrier {} (line {})",
                    open.carrier.designator, open.carrier.line
                ),
            ));
        }
        let time_mode = match r.char(2) {
            'L' => TimeMode::Local,
            'U' => TimeMode::Utc,
            c => return Err(r.error(2, 2, "time mode", format!("{c:?} is neither L nor U"))),
        };
        let carrier = Carrier {
            line: r.line,
            designator: designator(r, 3, 5)?,
            time_mode,
            season: r.text(11, 13).to_owned(),
            valid_from: r.date(15, "period of schedule validity from")?,
            valid_to: r.open_date(22, "period of schedule validity to")?,
            creation_date: r.date(29, "creation date")?,
            title: r.text(36, 64).to_owned(),
            general_information: r.text(109, 168).to_owned(),
        };
        if carrier.valid_to.is_some_and(|to| to < carrier.valid_from) {
            return Err(r.error(
                15,
                28,
                "period of schedule validity",
                "ends before it starts".into(),
            ));
        }
        self.open = Some(CarrierSchedule {
            carrier,
            legs: Vec::new(),
        });
        Ok(())
    }

    fn open_carrier(&mut self, r: &Record<'_>, what: &str) -> Result<&mut CarrierSchedule, Error> {
        let open = self.open.as_mut().ok_or_else(|| {
            Error::record(
                r.line,
                format!("{what} outside a carrier block (no type 2 before it)"),
            )
        })?;
        let airline = r.text(3, 5);
        if airline != open.carrier.designator {
            return Err(r.error(
                3,
                5,
                "airline designator",
                format!(
                    "{airline:?} in the block of carrier {} (line {})",
                    open.carrier.designator, open.carrier.line
                ),
            ));
        }
        Ok(open)
    }

    fn leg(&mut self, r: &Record<'_>) -> Result<(), Error> {
        let leg = leg(r)?;
        self.open_carrier(r, "flight leg record")?.legs.push(leg);
        Ok(())
    }

    fn segment(&mut self, r: &Record<'_>) -> Result<(), Error> {
        let data = SegmentData {
            line: r.line,
            board_indicator: r.char(29),
            off_indicator: r.char(30),
            board_point: station_code(r, 34, "board point")?,
            off_point: station_code(r, 37, "off point")?,
            element: r.number(31, 33, "data element identifier")?,
            data: r.text(40, 194).to_owned(),
        };
        let open = self.open_carrier(r, "segment data record")?;
        let leg = open
            .legs
            .last_mut()
            .ok_or_else(|| Error::record(r.line, "segment data record before any flight leg"))?;
        let flight = flight(r)?;
        let variation = itinerary_variation(r, 28)?;
        let sequence: u8 = r.number(12, 13, "leg sequence number")?;
        if flight != leg.flight
            || variation != leg.itinerary_variation
            || sequence != leg.leg_sequence
        {
            return Err(Error::record(
                r.line,
                format!(
                    "segment data for {flight} variation {variation} leg {sequence} follows {} variation {} leg {} (line {})",
                    leg.flight, leg.itinerary_variation, leg.leg_sequence, leg.line
                ),
            ));
        }
        leg.segments.push(data);
        Ok(())
    }

    fn trailer(&mut self, r: &Record<'_>) -> Result<(), Error> {
        self.open_carrier(r, "trailer record")?;
        let end = r.char(194);
        if !matches!(end, 'C' | 'E') {
            return Err(r.error(
                194,
                194,
                "continuation/end code",
                format!("{end:?} is neither C (another carrier follows) nor E (end)"),
            ));
        }
        let done = self.open.take();
        self.schedule.carriers.extend(done);
        Ok(())
    }

    fn finish(self) -> Result<Schedule, Error> {
        if !self.header {
            return Err(Error::record(
                1,
                "no header record (type 1): not an SSIM file",
            ));
        }
        if let Some(open) = self.open {
            return Err(Error::record(
                self.last_line,
                format!(
                    "the file ends before the trailer (type 5) of carrier {} (line {})",
                    open.carrier.designator, open.carrier.line
                ),
            ));
        }
        Ok(self.schedule)
    }
}

fn designator(r: &Record<'_>, from: usize, to: usize) -> Result<String, Error> {
    let code = r.required(from, to, "airline designator")?;
    let ok = (2..=3).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && code.bytes().any(|b| b.is_ascii_uppercase());
    if !ok {
        return Err(r.error(
            from,
            to,
            "airline designator",
            format!("{code:?} is not a designator"),
        ));
    }
    Ok(code.to_owned())
}

fn station_code(r: &Record<'_>, from: usize, field: &'static str) -> Result<String, Error> {
    let code = r.raw(from, from + 2);
    if !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(r.error(
            from,
            from + 2,
            field,
            format!("{code:?} is not an airport code"),
        ));
    }
    Ok(code.to_owned())
}

fn flight(r: &Record<'_>) -> Result<Flight, Error> {
    let number: u16 = r.number(6, 9, "flight number")?;
    if number == 0 {
        return Err(r.error(6, 9, "flight number", "is 0".into()));
    }
    let suffix = match r.char(2) {
        ' ' => None,
        c if c.is_ascii_uppercase() => Some(c),
        c => return Err(r.error(2, 2, "operational suffix", format!("{c:?} is not a letter"))),
    };
    Ok(Flight {
        carrier: designator(r, 3, 5)?,
        number,
        suffix,
    })
}

/// Columns 10-11 with the overflow digit (column 128 on a leg, 28 on segment data) in front.
fn itinerary_variation(r: &Record<'_>, overflow: usize) -> Result<u16, Error> {
    let low: u16 = r.number(10, 11, "itinerary variation identifier")?;
    let high = match r.char(overflow) {
        ' ' => 0,
        c @ '0'..='9' => u16::from(c as u8 - b'0'),
        c => {
            return Err(r.error(
                overflow,
                overflow,
                "itinerary variation identifier overflow",
                format!("{c:?} is not a digit"),
            ));
        }
    };
    let variation = high * 100 + low;
    if variation == 0 {
        return Err(r.error(
            10,
            11,
            "itinerary variation identifier",
            "is 0 (1-999)".into(),
        ));
    }
    Ok(variation)
}

fn station(r: &Record<'_>, at: usize, departure: bool) -> Result<Station, Error> {
    // Departure: station 37-39, passenger 40-43, aircraft 44-47, variation 48-52, terminal 53-54.
    // Arrival:   station 55-57, aircraft 58-61, passenger 62-65, variation 66-70, terminal 71-72.
    let (passenger, aircraft) = if departure {
        (at + 3, at + 7)
    } else {
        (at + 7, at + 3)
    };
    let (code, pax, ac, var) = if departure {
        (
            "departure station",
            "passenger STD",
            "aircraft STD",
            "departure UTC variation",
        )
    } else {
        (
            "arrival station",
            "passenger STA",
            "aircraft STA",
            "arrival UTC variation",
        )
    };
    Ok(Station {
        code: station_code(r, at, code)?,
        passenger_time: r.time(passenger, pax)?,
        aircraft_time: r.time(aircraft, ac)?,
        utc_offset: r.offset(at + 11, var)?,
        terminal: r.text(at + 16, at + 17).to_owned(),
    })
}

fn leg(r: &Record<'_>) -> Result<Leg, Error> {
    let flight = flight(r)?;
    let leg_sequence: u8 = r.number(12, 13, "leg sequence number")?;
    if leg_sequence == 0 {
        return Err(r.error(12, 13, "leg sequence number", "is 0".into()));
    }
    let service_type = r.char(14);
    if !service_type.is_ascii_uppercase() {
        return Err(r.error(
            14,
            14,
            "service type",
            format!("{service_type:?} is not a letter"),
        ));
    }
    let period_from = r.date(15, "period of operation from")?;
    let period_to = r.open_date(22, "period of operation to")?;
    if period_to.is_some_and(|to| to < period_from) {
        return Err(r.error(
            15,
            28,
            "period of operation",
            "ends before it starts".into(),
        ));
    }
    let days = DaysOfOperation::parse(r.raw(29, 35)).ok_or_else(|| {
        r.error(
            29,
            35,
            "days of operation",
            format!(
                "{:?}: each day 1-7 in its own column, at least one",
                r.raw(29, 35)
            ),
        )
    })?;
    let frequency_rate = match r.char(36) {
        ' ' => None,
        c @ ('1' | '2') => Some(c as u8 - b'0'),
        c => return Err(r.error(36, 36, "frequency rate", format!("{c:?} is not 1 or 2"))),
    };
    let configuration = r.text(173, 192).to_owned();
    Ok(Leg {
        line: r.line,
        itinerary_variation: itinerary_variation(r, 128)?,
        leg_sequence,
        service_type,
        period_from,
        period_to,
        days,
        frequency_rate,
        departure: station(r, 37, true)?,
        arrival: station(r, 55, false)?,
        aircraft_type: r.required(73, 75, "aircraft type")?.to_owned(),
        booking_designators: r.text(76, 95).to_owned(),
        cabins: cabins(&configuration),
        configuration,
        departure_day: r.day_variation(193, "departure date variation")?,
        arrival_day: r.day_variation(194, "arrival date variation")?,
        segments: Vec::new(),
        flight,
    })
}
