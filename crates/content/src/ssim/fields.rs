//! Fixed-width fields of a 200-byte SSIM record: columns are 1-based and inclusive, as the
//! manual numbers them, so `field(line, 15, 21)` is the period-of-operation start.

use chrono::{NaiveDate, NaiveTime};

use super::Error;

/// The length of every SSIM record.
pub const RECORD_LEN: usize = 200;

/// One record being read: its line number (1-based) and its 200 bytes.
pub(crate) struct Record<'a> {
    pub line: usize,
    pub text: &'a str,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

impl<'a> Record<'a> {
    /// Columns `from..=to` (1-based), as written.
    pub fn raw(&self, from: usize, to: usize) -> &'a str {
        &self.text[from - 1..to]
    }

    /// Columns `from..=to` without surrounding spaces.
    pub fn text(&self, from: usize, to: usize) -> &'a str {
        self.raw(from, to).trim()
    }

    /// One column as a character.
    pub fn char(&self, at: usize) -> char {
        char::from(self.text.as_bytes()[at - 1])
    }

    pub fn error(&self, from: usize, to: usize, field: &'static str, problem: String) -> Error {
        Error::Field {
            line: self.line,
            from,
            to,
            field,
            problem,
        }
    }

    /// A field that must not be blank.
    pub fn required(&self, from: usize, to: usize, field: &'static str) -> Result<&'a str, Error> {
        let value = self.text(from, to);
        if value.is_empty() {
            return Err(self.error(from, to, field, "is blank".into()));
        }
        Ok(value)
    }

    /// A date written `DDMMMYY` (`05DEC26`); years are 2000–2099.
    pub fn date(&self, from: usize, field: &'static str) -> Result<NaiveDate, Error> {
        let raw = self.raw(from, from + 6);
        parse_date(raw).ok_or_else(|| {
            self.error(
                from,
                from + 6,
                field,
                format!("{raw:?} is not a date (DDMMMYY)"),
            )
        })
    }

    /// A date that may be blank or `00XXX00` ("until further notice").
    pub fn open_date(&self, from: usize, field: &'static str) -> Result<Option<NaiveDate>, Error> {
        let raw = self.raw(from, from + 6);
        if raw.trim().is_empty() || raw == "00XXX00" {
            return Ok(None);
        }
        self.date(from, field).map(Some)
    }

    /// A time of day written `HHMM` (`2400` is the end of the day, read as 00:00 the next
    /// day by the caller's date variation; SSIM uses 0000 instead, so it is refused).
    pub fn time(&self, from: usize, field: &'static str) -> Result<NaiveTime, Error> {
        let raw = self.raw(from, from + 3);
        parse_time(raw).ok_or_else(|| {
            self.error(
                from,
                from + 3,
                field,
                format!("{raw:?} is not a time (HHMM)"),
            )
        })
    }

    /// A UTC/local time variation written `+HHMM` or `-HHMM`, in minutes east of UTC.
    pub fn offset(&self, from: usize, field: &'static str) -> Result<i32, Error> {
        let raw = self.raw(from, from + 4);
        parse_offset(raw).ok_or_else(|| {
            self.error(
                from,
                from + 4,
                field,
                format!("{raw:?} is not a UTC variation (+HHMM)"),
            )
        })
    }

    /// A number in a fixed-width field (spaces around it allowed).
    pub fn number<T: std::str::FromStr>(
        &self,
        from: usize,
        to: usize,
        field: &'static str,
    ) -> Result<T, Error> {
        let raw = self.text(from, to);
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(from, to, field, format!("{raw:?} is not a number")));
        }
        raw.parse()
            .map_err(|_| self.error(from, to, field, format!("{raw:?} is out of range")))
    }

    /// A date variation column: `0`–`9` days later, `A` the day before, blank 0.
    pub fn day_variation(&self, at: usize, field: &'static str) -> Result<i8, Error> {
        match self.char(at) {
            ' ' | '0' => Ok(0),
            'A' => Ok(-1),
            c @ '1'..='9' => Ok(c as i8 - b'0' as i8),
            c => Err(self.error(
                at,
                at,
                field,
                format!("{c:?} is not a date variation (0-9, A)"),
            )),
        }
    }
}

pub(crate) fn parse_date(raw: &str) -> Option<NaiveDate> {
    if raw.len() != 7 || !raw.is_ascii() {
        return None;
    }
    let day: u32 = digits(&raw[0..2])?;
    let month = MONTHS.iter().position(|m| *m == &raw[2..5])? as u32 + 1;
    let year: i32 = digits(&raw[5..7])?;
    NaiveDate::from_ymd_opt(2000 + year, month, day)
}

pub(crate) fn parse_time(raw: &str) -> Option<NaiveTime> {
    if raw.len() != 4 {
        return None;
    }
    let hours: u32 = digits(&raw[0..2])?;
    let minutes: u32 = digits(&raw[2..4])?;
    NaiveTime::from_hms_opt(hours, minutes, 0)
}

pub(crate) fn parse_offset(raw: &str) -> Option<i32> {
    if raw.len() != 5 {
        return None;
    }
    let sign = match &raw[0..1] {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let hours: i32 = digits(&raw[1..3])?;
    let minutes: i32 = digits(&raw[3..5])?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

fn digits<T: std::str::FromStr>(raw: &str) -> Option<T> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// `DDMMMYY` for a date (years 2000–2099).
pub(crate) fn format_date(date: NaiveDate) -> String {
    use chrono::Datelike;
    format!(
        "{:02}{}{:02}",
        date.day(),
        MONTHS[date.month0() as usize],
        date.year().rem_euclid(100)
    )
}

/// `HHMM` for a time of day.
pub(crate) fn format_time(time: NaiveTime) -> String {
    time.format("%H%M").to_string()
}

/// `+HHMM` / `-HHMM` for minutes east of UTC.
pub(crate) fn format_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("{sign}{:02}{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_offsets_read_as_the_manual_writes_them() {
        assert_eq!(parse_date("05DEC26"), NaiveDate::from_ymd_opt(2026, 12, 5));
        assert_eq!(parse_date("29FEB28"), NaiveDate::from_ymd_opt(2028, 2, 29));
        assert_eq!(parse_date("29FEB27"), None);
        assert_eq!(parse_date("05Dec26"), None);
        assert_eq!(parse_date("5DEC26 "), None);
        assert_eq!(parse_time("0930"), NaiveTime::from_hms_opt(9, 30, 0));
        assert_eq!(parse_time("2400"), None);
        assert_eq!(parse_time("0960"), None);
        assert_eq!(parse_offset("+0530"), Some(330));
        assert_eq!(parse_offset("-0330"), Some(-210));
        assert_eq!(parse_offset("0530 "), None);
        assert_eq!(parse_offset("+1500"), None);
    }

    #[test]
    fn formatting_reads_back() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 28).expect("date");
        assert_eq!(format_date(d), "28MAR27");
        assert_eq!(parse_date(&format_date(d)), Some(d));
        assert_eq!(format_offset(-210), "-0330");
        assert_eq!(format_offset(0), "+0000");
        assert_eq!(parse_offset(&format_offset(345)), Some(345));
    }
}
