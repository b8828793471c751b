//! Days of operation: SSIM columns 29-35, `1` Monday to `7` Sunday, each in its own column
//! or a space (`1 3 5  ` is Monday, Wednesday and Friday).

use chrono::{Datelike, NaiveDate, Weekday};

/// The weekdays a leg operates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DaysOfOperation(u8);

impl DaysOfOperation {
    /// Every day.
    pub const DAILY: DaysOfOperation = DaysOfOperation(0b111_1111);

    /// Reads the 7-column field; `None` when a column holds anything but its own digit or
    /// a space, or when no day is given.
    pub fn parse(field: &str) -> Option<Self> {
        if field.len() != 7 {
            return None;
        }
        let mut bits = 0u8;
        for (i, b) in field.bytes().enumerate() {
            match b {
                b' ' => {}
                _ if b == b'1' + i as u8 => bits |= 1 << i,
                _ => return None,
            }
        }
        (bits != 0).then_some(DaysOfOperation(bits))
    }

    /// The days from an iterator of weekdays.
    pub fn of(days: impl IntoIterator<Item = Weekday>) -> Self {
        DaysOfOperation(
            days.into_iter()
                .fold(0, |bits, d| bits | 1 << d.num_days_from_monday()),
        )
    }

    /// Whether the leg operates on this weekday.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// Whether the leg operates on the weekday of `date`.
    pub fn operates(self, date: NaiveDate) -> bool {
        self.contains(date.weekday())
    }

    /// The weekdays, Monday first.
    pub fn weekdays(self) -> impl Iterator<Item = Weekday> {
        (0..7u8)
            .filter(move |i| self.0 & (1 << i) != 0)
            .filter_map(|i| Weekday::try_from(i).ok())
    }

    /// As SSIM writes it.
    pub fn to_field(self) -> String {
        (0..7u8)
            .map(|i| {
                if self.0 & (1 << i) != 0 {
                    char::from(b'1' + i)
                } else {
                    ' '
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn days_read_in_their_own_columns() {
        let mwf = DaysOfOperation::parse("1 3 5  ").expect("days");
        assert_eq!(
            mwf.weekdays().collect::<Vec<_>>(),
            vec![Weekday::Mon, Weekday::Wed, Weekday::Fri]
        );
        assert_eq!(
            DaysOfOperation::parse("1234567"),
            Some(DaysOfOperation::DAILY)
        );
        assert_eq!(
            DaysOfOperation::parse("3      "),
            None,
            "3 in Monday's column"
        );
        assert_eq!(DaysOfOperation::parse("       "), None, "no day");
        assert_eq!(DaysOfOperation::parse("123456"), None);
        // 2026-12-02 is a Wednesday.
        let wed = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        assert!(mwf.operates(wed));
        assert!(!mwf.operates(wed.succ_opt().expect("date")));
    }

    proptest! {
        #[test]
        fn any_field_reads_back_as_written(bits in 1u8..128) {
            let days = DaysOfOperation(bits);
            prop_assert_eq!(DaysOfOperation::parse(&days.to_field()), Some(days));
            prop_assert_eq!(DaysOfOperation::of(days.weekdays()), days);
        }

        #[test]
        fn arbitrary_text_never_panics(field in "\\PC{0,9}") {
            let _ = DaysOfOperation::parse(&field);
        }
    }
}
