//! How values read on the page: prices, local times, durations.

use chrono::{DateTime, FixedOffset, NaiveDate};
use ota_contract::Currency;
use ota_platform::money::Money;

/// Digits after the decimal point of a currency's minor unit (two for a code not in
/// circulation).
fn minor_digits(currency: &str) -> u32 {
    Currency::parse(currency).map_or(2, |c| u32::from(c.minor_units()))
}

fn group(mut n: u64) -> String {
    let mut parts = Vec::new();
    loop {
        if n < 1000 {
            parts.push(n.to_string());
            break;
        }
        parts.push(format!("{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join(",")
}

/// "$1,234.50", "€89.00", "1,200 JPY".
pub fn money(m: &Money) -> String {
    let digits = minor_digits(&m.currency);
    let scale = 10u64.pow(digits);
    let sign = if m.amount < 0 { "−" } else { "" };
    let abs = m.amount.unsigned_abs();
    let number = if digits == 0 {
        group(abs)
    } else {
        format!(
            "{}.{:0width$}",
            group(abs / scale),
            abs % scale,
            width = digits as usize
        )
    };
    match m.currency.as_str() {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        other => format!("{sign}{number} {other}"),
    }
}

/// Whole currency units typed in a form ("450" or "450.50") as minor units.
pub fn parse_major(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches(['$', '€', '£']);
    let digits = minor_digits(currency);
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 9 {
        return None;
    }
    if frac.len() > digits as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = digits as usize)
            .parse()
            .ok()?
    };
    Some(whole * 10i64.pow(digits) + frac_value)
}

pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// "08:05" in the airport's own time.
pub fn clock(s: &str) -> String {
    parse_time(s).map_or_else(|| s.to_owned(), |t| t.format("%H:%M").to_string())
}

/// "Tue 1 Dec".
pub fn day(s: &str) -> String {
    parse_time(s).map_or_else(String::new, |t| t.format("%a %-d %b").to_string())
}

/// "Tue 1 Dec 2026" from a date.
pub fn date(d: &str) -> String {
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map_or_else(|_| d.to_owned(), |d| d.format("%a %-d %b %Y").to_string())
}

/// "+1" when a flight lands on a later local day than it left.
pub fn day_offset(departure: &str, arrival: &str) -> String {
    match (parse_time(departure), parse_time(arrival)) {
        (Some(d), Some(a)) => {
            let days = (a.date_naive() - d.date_naive()).num_days();
            if days > 0 {
                format!("+{days}")
            } else {
                String::new()
            }
        }
        _ => String::new(),
    }
}

/// "5h 20m".
pub fn duration(minutes: i64) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}

/// "1 night", "3 nights".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "Nonstop", "1 stop", "2 stops".
pub fn stops(n: usize) -> String {
    match n {
        0 => "Nonstop".to_owned(),
        1 => "1 stop".to_owned(),
        n => format!("{n} stops"),
    }
}

/// When an offer's price guarantee ends, as "until 14:32 UTC".
pub fn until(s: &str) -> String {
    parse_time(s).map_or_else(String::new, |t| {
        t.with_timezone(&chrono::Utc)
            .format("%H:%M UTC")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_as_people_write_them() {
        assert_eq!(money(&Money::new(123_450, "USD")), "$1,234.50");
        assert_eq!(money(&Money::new(8_900, "EUR")), "€89.00");
        assert_eq!(money(&Money::new(5, "GBP")), "£0.05");
        assert_eq!(money(&Money::new(120_000, "JPY")), "120,000 JPY");
        assert_eq!(money(&Money::new(100_000_000, "CHF")), "1,000,000.00 CHF");
        assert_eq!(money(&Money::new(1_234, "KWD")), "1.234 KWD");
        assert_eq!(money(&Money::new(1_234, "UGX")), "1,234 UGX");
    }

    #[test]
    fn typed_prices_become_minor_units() {
        assert_eq!(parse_major("450", "USD"), Some(45_000));
        assert_eq!(parse_major("450.5", "USD"), Some(45_050));
        assert_eq!(parse_major("$12.34", "USD"), Some(1_234));
        assert_eq!(parse_major("12.345", "USD"), None);
        assert_eq!(parse_major("-3", "USD"), None);
        assert_eq!(parse_major("", "USD"), None);
    }

    #[test]
    fn times_stay_in_the_airports_zone() {
        let dep = "2026-12-01T22:05:00-05:00";
        let arr = "2026-12-02T01:10:00-08:00";
        assert_eq!(clock(dep), "22:05");
        assert_eq!(day(dep), "Tue 1 Dec");
        assert_eq!(day_offset(dep, arr), "+1");
        assert_eq!(day_offset(dep, dep), "");
        assert_eq!(duration(320), "5h 20m");
        assert_eq!(duration(45), "45m");
        assert_eq!(duration(120), "2h");
        assert_eq!(stops(0), "Nonstop");
        assert_eq!(plural(3, "night", "nights"), "3 nights");
    }
}
