//! Writing records: what [`super::read`] reads back, with record serial numbers.

use std::io::{self, Write};

use super::fields::{RECORD_LEN, format_date, format_offset, format_time};
use super::{Carrier, Leg, Schedule, Station, TimeMode};

/// Writes SSIM records, one per line, numbering them (columns 195-200).
pub struct Writer<W: Write> {
    out: W,
    serial: u32,
}

struct Line([u8; RECORD_LEN]);

impl Line {
    fn new(kind: u8) -> Self {
        let mut line = Line([b' '; RECORD_LEN]);
        line.0[0] = kind;
        line
    }

    /// Puts `text` from column `at` (1-based), cut to `width`.
    fn put(&mut self, at: usize, width: usize, text: &str) {
        for (i, b) in text.bytes().take(width).enumerate() {
            self.0[at - 1 + i] = if b.is_ascii() { b } else { b'?' };
        }
    }

    /// Puts a number right-aligned with leading zeros.
    fn number(&mut self, at: usize, width: usize, n: u32) {
        self.put(at, width, &format!("{n:0width$}"));
    }
}

fn variation(day: i8) -> String {
    match day {
        -1 => "A".into(),
        d => d.clamp(0, 9).to_string(),
    }
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Writer { out, serial: 0 }
    }

    fn emit(&mut self, mut line: Line) -> io::Result<()> {
        self.serial = (self.serial % 999_999) + 1;
        line.number(195, 6, self.serial);
        self.out.write_all(&line.0)?;
        self.out.write_all(b"\n")
    }

    /// Record type 1.
    pub fn header(&mut self) -> io::Result<()> {
        let mut line = Line::new(b'1');
        line.put(2, 34, "AIRLINE STANDARD SCHEDULE DATA SET");
        line.put(41, 1, "1");
        line.put(192, 3, "001");
        self.emit(line)
    }

    /// Record type 2.
    pub fn carrier(&mut self, c: &Carrier) -> io::Result<()> {
        let mut line = Line::new(b'2');
        line.put(
            2,
            1,
            match c.time_mode {
                TimeMode::Local => "L",
                TimeMode::Utc => "U",
            },
        );
        line.put(3, 3, &c.designator);
        line.put(11, 3, &c.season);
        line.put(15, 7, &format_date(c.valid_from));
        line.put(22, 7, &c.valid_to.map_or("00XXX00".into(), format_date));
        line.put(29, 7, &format_date(c.creation_date));
        line.put(36, 29, &c.title);
        line.put(72, 1, "P");
        line.put(109, 60, &c.general_information);
        self.emit(line)
    }

    fn station(line: &mut Line, at: usize, s: &Station, departure: bool) {
        let (passenger, aircraft) = if departure {
            (at + 3, at + 7)
        } else {
            (at + 7, at + 3)
        };
        line.put(at, 3, &s.code);
        line.put(passenger, 4, &format_time(s.passenger_time));
        line.put(aircraft, 4, &format_time(s.aircraft_time));
        line.put(at + 11, 5, &format_offset(s.utc_offset));
        line.put(at + 16, 2, &s.terminal);
    }

    /// Record type 3 and the leg's type 4 records.
    pub fn leg(&mut self, leg: &Leg) -> io::Result<()> {
        let mut line = Line::new(b'3');
        let flight_columns = |line: &mut Line, overflow_at: usize| {
            if let Some(s) = leg.flight.suffix {
                line.put(2, 1, &s.to_string());
            }
            line.put(3, 3, &leg.flight.carrier);
            line.number(6, 4, u32::from(leg.flight.number));
            line.number(10, 2, u32::from(leg.itinerary_variation % 100));
            if leg.itinerary_variation >= 100 {
                line.number(
                    overflow_at,
                    1,
                    u32::from(leg.itinerary_variation / 100 % 10),
                );
            }
            line.number(12, 2, u32::from(leg.leg_sequence));
            line.put(14, 1, &leg.service_type.to_string());
        };
        flight_columns(&mut line, 128);
        line.put(15, 7, &format_date(leg.period_from));
        line.put(22, 7, &leg.period_to.map_or("00XXX00".into(), format_date));
        line.put(29, 7, &leg.days.to_field());
        if let Some(rate) = leg.frequency_rate {
            line.number(36, 1, u32::from(rate));
        }
        Self::station(&mut line, 37, &leg.departure, true);
        Self::station(&mut line, 55, &leg.arrival, false);
        line.put(73, 3, &leg.aircraft_type);
        line.put(76, 20, &leg.booking_designators);
        line.put(173, 20, &leg.configuration);
        line.put(193, 1, &variation(leg.departure_day));
        line.put(194, 1, &variation(leg.arrival_day));
        self.emit(line)?;
        for data in &leg.segments {
            let mut line = Line::new(b'4');
            flight_columns(&mut line, 28);
            line.put(29, 1, &data.board_indicator.to_string());
            line.put(30, 1, &data.off_indicator.to_string());
            line.number(31, 3, u32::from(data.element));
            line.put(34, 3, &data.board_point);
            line.put(37, 3, &data.off_point);
            line.put(40, 155, &data.data);
            self.emit(line)?;
        }
        Ok(())
    }

    /// Record type 5 closing a carrier's block; `last` marks the end of the file (`E`)
    /// rather than another carrier to follow (`C`).
    pub fn trailer(&mut self, designator: &str, last: bool) -> io::Result<()> {
        let mut line = Line::new(b'5');
        line.put(3, 3, designator);
        line.number(188, 6, self.serial);
        line.put(194, 1, if last { "E" } else { "C" });
        self.emit(line)
    }

    /// A whole schedule: header, then each carrier with its legs and trailer.
    pub fn schedule(&mut self, schedule: &Schedule) -> io::Result<()> {
        self.header()?;
        let count = schedule.carriers.len();
        for (i, block) in schedule.carriers.iter().enumerate() {
            self.carrier(&block.carrier)?;
            for leg in &block.legs {
                self.leg(leg)?;
            }
            self.trailer(&block.carrier.designator, i + 1 == count)?;
        }
        Ok(())
    }

    /// The writer back, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
