//! The hand-written sample (tests/data/hand.ssim, placed column by column from the manual's
//! table): what it reads as, what a check says, and what each kind of damage is refused with.

use chrono::{NaiveDate, NaiveDateTime, Weekday};
use chrono_tz::Tz;
use ota_content::ssim::{Error, Schedule, TimeMode, Writer, check, read};

const HAND: &str = include_str!("data/hand.ssim");

fn zone(code: &str) -> Option<Tz> {
    Some(match code {
        "LHR" => chrono_tz::Europe::London,
        "JFK" => chrono_tz::America::New_York,
        "DXB" => chrono_tz::Asia::Dubai,
        "SIN" => chrono_tz::Asia::Singapore,
        "BCN" => chrono_tz::Europe::Madrid,
        "LIS" => chrono_tz::Europe::Lisbon,
        _ => return None,
    })
}

fn parse(text: &str) -> Result<Schedule, Error> {
    read(text, &mut |_, _| {})
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    day(y, m, d).and_hms_opt(h, min, 0).expect("time")
}

/// The sample with one field of record `line` (1-based) replaced from column `col`.
fn damaged(line: usize, col: usize, text: &str) -> String {
    let mut lines: Vec<String> = HAND.lines().map(str::to_owned).collect();
    let l = &mut lines[line - 1];
    l.replace_range(col - 1..col - 1 + text.len(), text);
    lines.join("\n")
}

/// The 1-based line of the n-th (0-based) record of a type.
fn line_of(kind: char, n: usize) -> usize {
    HAND.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(kind) && !l.starts_with("000"))
        .nth(n)
        .map(|(i, _)| i + 1)
        .expect("record")
}

#[test]
fn the_sample_reads_with_its_carriers_legs_times_and_segment_data() {
    let schedule = parse(HAND).expect("reads");
    assert_eq!(schedule.carriers.len(), 2);
    let ot = &schedule.carriers[0];
    assert_eq!(ot.carrier.designator, "OT");
    assert_eq!(ot.carrier.time_mode, TimeMode::Local);
    assert_eq!(ot.carrier.valid_to, Some(day(2026, 11, 30)));
    assert_eq!(ot.legs.len(), 8);

    // Split at the change of summer time: same flight, three periods.
    let ot101: Vec<_> = ot.legs.iter().filter(|l| l.flight.number == 101).collect();
    assert_eq!(ot101.len(), 3);
    assert_eq!(ot101[0].departure.utc_offset, 60);
    assert_eq!(ot101[1].departure.utc_offset, 0);
    assert_eq!(ot101[2].arrival.utc_offset, -300);
    assert_eq!(ot101[0].cabins.iter().map(|c| c.seats).sum::<u16>(), 290);
    assert_eq!(
        ot101[0].departure_utc(day(2026, 10, 1), TimeMode::Local),
        at(2026, 10, 1, 8, 0)
    );

    // Overnight: the flight of 24 October arrives on the 25th, after London's change.
    let overnight = ot
        .legs
        .iter()
        .find(|l| l.flight.number == 102)
        .expect("OT102");
    assert_eq!((overnight.departure_day, overnight.arrival_day), (0, 1));
    assert_eq!(
        overnight.arrival_utc(day(2026, 10, 1), TimeMode::Local),
        at(2026, 10, 2, 9, 0)
    );

    // Two legs; the second departs the day after the flight's date; DEI 50 on the first.
    let ot200: Vec<_> = ot.legs.iter().filter(|l| l.flight.number == 200).collect();
    assert_eq!(ot200.len(), 2);
    assert_eq!(ot200[0].segments.len(), 1);
    assert_eq!(ot200[0].segments[0].element, 50);
    assert_eq!(ot200[0].segments[0].data, "OT");
    assert_eq!(
        (ot200[1].leg_sequence, ot200[1].departure.code.as_str()),
        (2, "DXB")
    );
    assert_eq!(
        ot200[1].departure_utc(day(2026, 11, 1), TimeMode::Local),
        at(2026, 11, 2, 5, 30)
    );

    // UTC times; Monday, Wednesday and Friday only; open-ended carrier validity.
    let vy = &schedule.carriers[1];
    assert_eq!(vy.carrier.time_mode, TimeMode::Utc);
    assert_eq!(vy.carrier.valid_to, None);
    let leg = &vy.legs[0];
    assert_eq!(
        leg.days.weekdays().collect::<Vec<_>>(),
        vec![Weekday::Mon, Weekday::Wed, Weekday::Fri]
    );
    let dates: Vec<_> = leg.dates(day(2027, 12, 31)).collect();
    assert_eq!(dates.len(), 12);
    assert_eq!(dates[0], day(2026, 11, 2));
    assert_eq!(dates[11], day(2026, 11, 27));
    assert_eq!(
        leg.departure_utc(dates[0], TimeMode::Utc),
        at(2026, 11, 2, 7, 0)
    );
}

#[test]
fn the_sample_is_consistent_with_the_time_zones() {
    let schedule = parse(HAND).expect("reads");
    assert_eq!(check(&schedule, &zone), Ok(()));
}

#[test]
fn malformed_records_are_refused_with_their_line_and_columns() {
    let leg = line_of('3', 0);
    let cases = [
        (
            damaged(leg, 22, "31FEB27"),
            "columns 22-28 (period of operation to)",
        ),
        (
            damaged(leg, 29, "7123456"),
            "columns 29-35 (days of operation)",
        ),
        (damaged(leg, 40, "2561"), "columns 40-43 (passenger STD)"),
        (
            damaged(leg, 48, "0100 "),
            "columns 48-52 (departure UTC variation)",
        ),
        (damaged(leg, 6, " 0 0"), "columns 6-9 (flight number)"),
        (
            damaged(leg, 15, "01DEC26"),
            "columns 15-28 (period of operation): ends before",
        ),
        (
            damaged(leg, 193, "X"),
            "column 193 (departure date variation)",
        ),
        (
            damaged(leg, 10, "00"),
            "columns 10-11 (itinerary variation identifier): is 0",
        ),
        (damaged(leg, 1, "7"), "is not a record type"),
        (damaged(leg, 3, "XX"), "in the block of carrier OT"),
    ];
    for (text, expected) in cases {
        let err = parse(&text).expect_err(expected);
        assert_eq!(err.line(), leg, "{err}");
        assert!(
            err.to_string().contains(expected),
            "{err} lacks {expected:?}"
        );
        assert!(err.to_string().starts_with(&format!("line {leg}")), "{err}");
    }
}

#[test]
fn records_out_of_place_are_refused() {
    let leg = line_of('3', 0);
    let no_header = HAND.replacen('1', "2", 1);
    assert!(parse(&no_header).is_err());
    let lines: Vec<&str> = HAND.lines().collect();
    // The last trailer removed: the file ends inside a carrier block.
    let trailer = line_of('5', 1);
    let cut: Vec<&str> = lines[..trailer - 1].to_vec();
    let err = parse(&cut.join("\n")).expect_err("no trailer");
    assert!(err.to_string().contains("before the trailer"), "{err}");
    // A too-long record, a non-ASCII one.
    let long = damaged(leg, 1, "3") + &" ".repeat(0);
    let mut too_long: Vec<String> = long.lines().map(str::to_owned).collect();
    too_long[leg - 1].push('X');
    let err = parse(&too_long.join("\n")).expect_err("201 bytes");
    assert_eq!(err.line(), leg);
    let err = parse(&damaged(leg, 101, "é")).expect_err("non-ASCII");
    assert_eq!(err.line(), leg);
    // A trailer whose last column is neither C nor E.
    let trailer = line_of('5', 0);
    let err = parse(&damaged(trailer, 194, "Z")).expect_err("end code");
    assert!(
        err.to_string()
            .contains("column 194 (continuation/end code)"),
        "{err}"
    );
    // Segment data that does not follow its leg.
    let segment = line_of('4', 0);
    let err = parse(&damaged(segment, 6, " 201")).expect_err("segment of another flight");
    assert_eq!(err.line(), segment);
    // CRLF line ends and trimmed trailing spaces read the same.
    let crlf = HAND.replace('\n', "\r\n");
    assert_eq!(parse(&crlf).expect("crlf"), parse(HAND).expect("lf"));
}

#[test]
fn checks_name_the_line_of_what_contradicts_the_world() {
    let check_text = |text: &str| -> Vec<Error> {
        let schedule = parse(text).expect("reads");
        check(&schedule, &zone).expect_err("refused")
    };
    let first = line_of('3', 0);
    let vy = line_of('3', 8);
    let cases = [
        // London is +0100 until 25 October, not +0000.
        (
            damaged(first, 48, "+0000"),
            first,
            "contradicts Europe/London",
        ),
        // Summer time runs a day too long: the 25th is given twice and at a wrong variation.
        (
            damaged(first, 22, "25OCT26"),
            first + 1,
            "already given at line",
        ),
        (
            damaged(first, 37, "XXX"),
            first,
            "XXX is not a known airport",
        ),
        (
            damaged(first, 55, "LHR"),
            first,
            "departs from and arrives at LHR",
        ),
        (damaged(first, 62, "0300"), first, "not after it departs"),
        (damaged(first, 194, "3"), first, "more than 24 h"),
        // 2-4 November (Monday to Wednesday) on Mondays, Wednesdays and Fridays.
        (damaged(vy, 22, "04NOV26"), vy, "operates on Fri"),
        (
            damaged(first, 15, "01SEP26"),
            first,
            "outside the carrier's period",
        ),
        (
            damaged(first, 173, "GARBAGE!"),
            first,
            "columns 173-192 (aircraft configuration)",
        ),
        (damaged(first, 173, "       "), first, "gives no seats"),
        (
            damaged(first, 173, "X40Q250"),
            first,
            "X is not a cabin we sell",
        ),
    ];
    for (text, line, expected) in cases {
        let errors = check_text(&text);
        assert!(
            errors
                .iter()
                .any(|e| e.line() == line && e.to_string().contains(expected)),
            "{expected:?} at line {line} not in {errors:?}"
        );
    }
}

fn without_lines(mut s: Schedule) -> Schedule {
    for block in &mut s.carriers {
        block.carrier.line = 0;
        for leg in &mut block.legs {
            leg.line = 0;
            for seg in &mut leg.segments {
                seg.line = 0;
            }
        }
    }
    s
}

#[test]
fn what_is_written_reads_back_the_same() {
    let schedule = parse(HAND).expect("reads");
    let mut writer = Writer::new(Vec::new());
    writer.schedule(&schedule).expect("writes");
    let text = String::from_utf8(writer.finish().expect("flush")).expect("ascii");
    assert!(text.lines().all(|l| l.len() == 200));
    let again = parse(&text).expect("reads back");
    assert_eq!(without_lines(again), without_lines(schedule));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_damage_to_a_record_is_an_error_or_a_reading_never_a_panic(
            line in 1usize..=31, col in 1usize..=200, byte in 32u8..127,
        ) {
            let text = damaged(line, col, &char::from(byte).to_string());
            if let Err(e) = parse(&text) {
                prop_assert!(e.line() >= 1 && e.line() <= 31);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn written_legs_read_back(
            number in 1u16..=9999, variation in 1u16..=999, minutes in 0u32..1440,
            block in 30u32..1200, days in 1u8..128, dep_off in -720i32..=840,
        ) {
            let mut schedule = parse(HAND).expect("reads");
            let leg = &mut schedule.carriers[1].legs[0];
            leg.flight.number = number;
            leg.itinerary_variation = variation;
            leg.departure.passenger_time =
                chrono::NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).expect("time");
            let arrive = (minutes + block) % 1440;
            leg.arrival.passenger_time =
                chrono::NaiveTime::from_hms_opt(arrive / 60, arrive % 60, 0).expect("time");
            leg.arrival_day = i8::from(minutes + block >= 1440);
            leg.departure.utc_offset = dep_off;
            leg.days = ota_content::ssim::DaysOfOperation::of(
                (0..7u8).filter(|i| days & (1 << i) != 0).filter_map(|i| Weekday::try_from(i).ok()),
            );
            let mut writer = Writer::new(Vec::new());
            writer.schedule(&schedule).expect("writes");
            let text = String::from_utf8(writer.finish().expect("flush")).expect("ascii");
            let again = parse(&text).expect("reads back");
            prop_assert_eq!(without_lines(again), without_lines(schedule));
        }
    }
}
