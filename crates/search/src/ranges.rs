//! Values kept by date range and days of the week, the way channel managers send hotel
//! availability, restrictions and rates (`StatusApplicationControl Start`/`End`, both
//! inclusive, with `Mon`…`Sun`): a change rewrites the nights it names and the ranges are
//! split only where a change splits them.
//!
//! Nights are hotel-local calendar dates; a weekday mask has bit 0 for Monday … bit 6
//! for Sunday.

use std::collections::BTreeMap;

use chrono::{Datelike as _, Duration, NaiveDate};

/// Every day of the week.
pub const ALL_WEEKDAYS: u8 = 0x7f;

/// The mask bit of a night's weekday.
pub fn weekday_bit(night: NaiveDate) -> u8 {
    1 << night.weekday().num_days_from_monday()
}

/// Nights from `first` to `last` (both inclusive) on the weekdays of a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub weekdays: u8,
}

impl Span {
    pub fn new(first: NaiveDate, last: NaiveDate, weekdays: u8) -> Self {
        Self {
            first,
            last,
            weekdays,
        }
    }

    pub fn covers(&self, night: NaiveDate) -> bool {
        self.first <= night && night <= self.last && self.weekdays & weekday_bit(night) != 0
    }

    /// The nights of the span, in order.
    pub fn nights(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.first
            .iter_days()
            .take_while(move |d| *d <= self.last)
            .filter(move |d| self.weekdays & weekday_bit(*d) != 0)
    }
}

/// A value on the nights of a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranged<V> {
    pub span: Span,
    pub value: V,
}

/// Ranges that never cover a night twice, ordered by first night, with what each
/// prefix reaches, so the range of a night is found without walking them all.
#[derive(Debug, Clone)]
pub struct RangeList<V> {
    ranges: Vec<Ranged<V>>,
    /// The last night any of `ranges[..=i]` reaches.
    reach: Vec<NaiveDate>,
}

impl<V> Default for RangeList<V> {
    fn default() -> Self {
        Self {
            ranges: Vec::new(),
            reach: Vec::new(),
        }
    }
}

impl<V> RangeList<V> {
    pub fn new(mut ranges: Vec<Ranged<V>>) -> Self {
        ranges.sort_by_key(|r| (r.span.first, r.span.weekdays));
        let mut reach = Vec::with_capacity(ranges.len());
        let mut furthest = NaiveDate::MIN;
        for r in &ranges {
            furthest = furthest.max(r.span.last);
            reach.push(furthest);
        }
        Self { ranges, reach }
    }

    /// The value of a night, if a range covers it.
    pub fn at(&self, night: NaiveDate) -> Option<&V> {
        let started = self.ranges.partition_point(|r| r.span.first <= night);
        (0..started)
            .rev()
            .take_while(|&i| self.reach[i] >= night)
            .map(|i| &self.ranges[i])
            .find(|r| r.span.covers(night))
            .map(|r| &r.value)
    }

    pub fn ranges(&self) -> &[Ranged<V>] {
        &self.ranges
    }

    /// The last night any range reaches.
    pub fn last_night(&self) -> Option<NaiveDate> {
        self.reach.last().copied()
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// The ranges after a change: `change` gets each night of `span` with its value (or
/// `None` where no range covers it) and answers the night's new value (`None`: no longer
/// covered). Nights outside the span keep theirs; the answer is as few ranges as the
/// values allow, in the order of [`RangeList::new`].
pub fn patch<V: Clone + Ord>(
    ranges: &[Ranged<V>],
    span: Span,
    change: impl Fn(Option<&V>) -> Option<V>,
) -> Vec<Ranged<V>> {
    let mut nights: BTreeMap<NaiveDate, V> = BTreeMap::new();
    for r in ranges {
        for night in r.span.nights() {
            nights.insert(night, r.value.clone());
        }
    }
    for night in span.nights() {
        match change(nights.get(&night)) {
            Some(v) => nights.insert(night, v),
            None => nights.remove(&night),
        };
    }
    compress(&nights)
}

/// The fewest ranges (found greedily) holding exactly these nights' values.
///
/// Nights of one value and weekday one week apart form a run; runs of one value are
/// joined into one range with several weekdays when no weekday of the joined span falls
/// outside its run (so a month of weeknights and a month of weekend nights stay two
/// ranges, and a year of one price is one).
pub fn compress<V: Clone + Ord>(nights: &BTreeMap<NaiveDate, V>) -> Vec<Ranged<V>> {
    // (value, weekday) → its open run.
    let mut open: BTreeMap<(&V, u8), (NaiveDate, NaiveDate)> = BTreeMap::new();
    let mut runs: Vec<(&V, u8, NaiveDate, NaiveDate)> = Vec::new();
    for (night, value) in nights {
        let key = (value, weekday_bit(*night));
        match open.get_mut(&key) {
            Some(run) if run.1 + Duration::days(7) == *night => run.1 = *night,
            Some(run) => {
                runs.push((value, key.1, run.0, run.1));
                *run = (*night, *night);
            }
            None => {
                open.insert(key, (*night, *night));
            }
        }
    }
    runs.extend(open.into_iter().map(|((v, wd), (f, l))| (v, wd, f, l)));
    runs.sort_by(|a, b| (a.0, a.2, a.1).cmp(&(b.0, b.2, b.1)));

    let mut out: Vec<Ranged<V>> = Vec::new();
    // The group being built: value, span, and the latest first and earliest last night
    // of its runs.
    let mut group: Option<(&V, Span, NaiveDate, NaiveDate)> = None;
    for (value, wd, first, last) in runs {
        if let Some((gv, span, latest_first, earliest_last)) = group.as_mut() {
            let week = Duration::days(7);
            let (f, l) = (span.first.min(first), span.last.max(last));
            let (lf, el) = ((*latest_first).max(first), (*earliest_last).min(last));
            if *gv == value && span.weekdays & wd == 0 && lf - week < f && l < el + week {
                *span = Span::new(f, l, span.weekdays | wd);
                *latest_first = lf;
                *earliest_last = el;
                continue;
            }
            out.push(Ranged {
                span: *span,
                value: (*gv).clone(),
            });
        }
        group = Some((value, Span::new(first, last, wd), first, last));
    }
    if let Some((value, span, ..)) = group {
        out.push(Ranged {
            span,
            value: value.clone(),
        });
    }
    out.sort_by_key(|r| (r.span.first, r.span.weekdays));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, d).expect("date")
    }

    /// Mon–Thu and Fri–Sun.
    const WEEKNIGHTS: u8 = 0b000_1111;
    const WEEKEND: u8 = 0b111_0000;

    fn nights_of<V: Clone>(ranges: &[Ranged<V>]) -> BTreeMap<NaiveDate, V> {
        let mut out = BTreeMap::new();
        for r in ranges {
            for n in r.span.nights() {
                assert!(
                    out.insert(n, r.value.clone()).is_none(),
                    "{n} covered twice"
                );
            }
        }
        out
    }

    #[test]
    fn a_month_of_weeknights_and_weekends_stays_two_ranges() {
        // March 2027 starts on a Monday, April on a Thursday.
        for (first, last) in [(day(3, 1), day(3, 31)), (day(4, 1), day(4, 30))] {
            let mut nights = BTreeMap::new();
            for n in Span::new(first, last, ALL_WEEKDAYS).nights() {
                nights.insert(
                    n,
                    if weekday_bit(n) & WEEKEND != 0 {
                        150
                    } else {
                        100
                    },
                );
            }
            let ranges = compress(&nights);
            assert_eq!(
                ranges.iter().map(|r| (r.span, r.value)).collect::<Vec<_>>(),
                vec![
                    (Span::new(first, last, WEEKNIGHTS), 100),
                    (Span::new(first, last, WEEKEND), 150)
                ]
                .into_iter()
                .map(|(s, v)| {
                    // The spans come back trimmed to the first and last night they hold.
                    let held: Vec<_> = s.nights().collect();
                    (
                        Span::new(held[0], *held.last().expect("night"), s.weekdays),
                        v,
                    )
                })
                .collect::<Vec<_>>()
            );
            assert_eq!(nights_of(&ranges), nights);
        }
    }

    #[test]
    fn a_change_splits_only_where_it_lands_and_keeps_every_other_night() {
        let year = vec![Ranged {
            span: Span::new(day(1, 1), day(12, 31), ALL_WEEKDAYS),
            value: 100,
        }];
        // Weekend nights of 10–20 June cost more.
        let patched = patch(&year, Span::new(day(6, 10), day(6, 20), WEEKEND), |_| {
            Some(180)
        });
        let nights = nights_of(&patched);
        assert_eq!(nights.len(), 365);
        for (n, v) in &nights {
            let changed = Span::new(day(6, 10), day(6, 20), WEEKEND).covers(*n);
            assert_eq!(*v, if changed { 180 } else { 100 }, "{n}");
        }
        assert!(patched.len() <= 6, "{patched:?}");
        // Setting it back joins the year again.
        let back = patch(
            &patched,
            Span::new(day(6, 1), day(6, 30), ALL_WEEKDAYS),
            |_| Some(100),
        );
        assert_eq!(back, year);
    }

    #[test]
    fn a_change_can_open_nights_nothing_covered_and_close_covered_ones() {
        let opened = patch(&[], Span::new(day(5, 1), day(5, 31), 0b001_0101), |v| {
            assert!(v.is_none());
            Some(7)
        });
        assert_eq!(
            opened,
            vec![Ranged {
                // Trimmed to the first and last night it holds (Monday 3, Monday 31).
                span: Span::new(day(5, 3), day(5, 31), 0b001_0101),
                value: 7
            }]
        );
        let closed = patch(
            &opened,
            Span::new(day(5, 1), day(5, 15), ALL_WEEKDAYS),
            |_| None,
        );
        assert!(closed.iter().all(|r| r.span.first > day(5, 15)));
        let gone = Span::new(day(5, 1), day(5, 15), 0b001_0101)
            .nights()
            .count();
        assert_eq!(nights_of(&closed).len(), nights_of(&opened).len() - gone);
    }

    #[test]
    fn lookups_find_the_range_of_a_night_among_interleaved_weekday_ranges() {
        let list = RangeList::new(vec![
            Ranged {
                span: Span::new(day(1, 1), day(12, 31), WEEKEND),
                value: 2,
            },
            Ranged {
                span: Span::new(day(1, 4), day(1, 28), WEEKNIGHTS),
                value: 1,
            },
            Ranged {
                span: Span::new(day(3, 1), day(3, 4), WEEKNIGHTS),
                value: 3,
            },
        ]);
        assert_eq!(list.at(day(1, 2)), Some(&2)); // a Saturday
        assert_eq!(list.at(day(1, 5)), Some(&1)); // a Tuesday
        assert_eq!(list.at(day(2, 2)), None); // a Tuesday nothing covers
        assert_eq!(list.at(day(3, 3)), Some(&3));
        assert_eq!(list.at(day(12, 31)), Some(&2)); // a Friday
        assert_eq!(list.at(day(12, 30)), None);
        assert_eq!(list.last_night(), Some(day(12, 31)));
    }
}
