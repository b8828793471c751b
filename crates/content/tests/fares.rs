//! Fare files: the seven columns, the optional ones with their defaults, and what is refused.

use chrono::NaiveDate;
use ota_content::CabinClass;
use ota_content::fares::{Fare, read, write};

const SAMPLE: &str = "\
carrier,origin,destination,cabin,fare,currency,refundable
OT,LHR,JFK,economy,45000,GBP,false
OT,LHR,JFK,business,250000,GBP,true
OT,JFK,LHR,economy,52000,USD,true
VY,BCN,LIS,economy,4999,EUR,false
";

const FULL: &str = "\
carrier,origin,destination,cabin,fare,currency,refundable,valid_from,valid_to,child_fare,infant_fare,change_fee,refund_deadline_hours,advance_purchase_days
OT,LHR,JFK,economy,45000,GBP,true,2026-10-01,2026-10-31,30000,0,5000,48,14
OT,LHR,JFK,economy,39000,GBP,true,2026-11-01,,,,,,
";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

#[test]
fn the_seven_columns_read_with_the_documented_defaults() {
    let fares = read(SAMPLE).expect("reads");
    assert_eq!(fares.len(), 4);
    let f = &fares[0];
    assert_eq!(f.line, 2);
    assert_eq!(
        (
            f.carrier.as_str(),
            f.origin.as_str(),
            f.destination.as_str()
        ),
        ("OT", "LHR", "JFK")
    );
    assert_eq!(f.cabin, CabinClass::Economy);
    assert_eq!((f.adult, f.child, f.infant), (45000, 33750, 4500));
    assert_eq!(f.currency, "GBP");
    assert!(!f.refundable);
    assert_eq!(f.refund_deadline_hours, 24);
    assert_eq!((f.change_fee, f.advance_purchase_days), (None, 0));
    assert!(f.applies_on(day(2030, 1, 1)));
    // 75 % and 10 % of 4999, rounded half up.
    assert_eq!((fares[3].child, fares[3].infant), (3749, 500));
    assert_eq!(fares[1].cabin, CabinClass::Business);
}

#[test]
fn optional_columns_in_any_order_and_fares_by_date() {
    let fares = read(FULL).expect("reads");
    let (oct, nov) = (&fares[0], &fares[1]);
    assert_eq!((oct.child, oct.infant), (30000, 0));
    assert_eq!(oct.change_fee, Some(5000));
    assert_eq!(
        (oct.refund_deadline_hours, oct.advance_purchase_days),
        (48, 14)
    );
    assert!(oct.applies_on(day(2026, 10, 31)) && !oct.applies_on(day(2026, 11, 1)));
    assert!(nov.applies_on(day(2026, 11, 1)) && !nov.applies_on(day(2026, 10, 31)));
    assert_eq!(nov.child, 29250);
}

#[test]
fn each_bad_value_is_refused_naming_its_line_and_column() {
    let header = "carrier,origin,destination,cabin,fare,currency,refundable,valid_from,valid_to";
    let cases = [
        ("O,LHR,JFK,economy,100,GBP,true,,", "carrier"),
        ("OT,LH,JFK,economy,100,GBP,true,,", "origin"),
        ("OT,LHR,LHR,economy,100,GBP,true,,", "destination"),
        ("OT,LHR,JFK,coach,100,GBP,true,,", "cabin"),
        ("OT,LHR,JFK,economy,12.50,GBP,true,,", "fare"),
        ("OT,LHR,JFK,economy,-5,GBP,true,,", "fare"),
        ("OT,LHR,JFK,economy,0,GBP,true,,", "fare"),
        ("OT,LHR,JFK,economy,100,gbp,true,,", "currency"),
        ("OT,LHR,JFK,economy,100,GBP,yes,,", "refundable"),
        ("OT,LHR,JFK,economy,100,GBP,true,2026-13-01,", "valid_from"),
        (
            "OT,LHR,JFK,economy,100,GBP,true,2026-12-01,2026-11-01",
            "valid_to",
        ),
    ];
    for (row, column) in cases {
        let text = format!("{header}\nVY,BCN,LIS,economy,4999,EUR,false,,\n{row}\n");
        let errors = read(&text).expect_err(row);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 3, "{row}");
        assert_eq!(
            errors[0].column.as_deref(),
            Some(column),
            "{row}: {}",
            errors[0]
        );
        assert!(
            errors[0].to_string().starts_with("line 3, column "),
            "{}",
            errors[0]
        );
    }
}

#[test]
fn headers_and_overlaps_are_refused() {
    let err =
        read("carrier,origin,cabin,destination,fare,currency,refundable\n").expect_err("order");
    assert_eq!(err[0].line, 1);
    let err = read(&format!(
        "{}\n",
        SAMPLE
            .lines()
            .next()
            .unwrap_or_default()
            .replace("refundable", "refundable,childfare")
    ))
    .expect_err("unknown column");
    assert_eq!(err[0].column.as_deref(), Some("childfare"));
    // The November row starting inside October's range.
    let overlapping = FULL.replace("2026-11-01,,", "2026-10-31,,");
    let err = read(&overlapping).expect_err("overlap");
    assert_eq!(err[0].line, 3);
    assert!(
        err[0].to_string().contains("line 2 already prices"),
        "{}",
        err[0]
    );
    // Every bad row is reported, not only the first.
    let many = format!("{SAMPLE}OT,XXXX,JFK,economy,1,GBP,true\nOT,LHR,JFK,economy,x,GBP,true\n");
    let err = read(&many).expect_err("two bad rows");
    assert_eq!(err.iter().map(|e| e.line).collect::<Vec<_>>(), vec![6, 7]);
}

#[test]
fn what_is_written_reads_back() {
    let fares: Vec<Fare> = read(FULL).expect("reads");
    let mut out = Vec::new();
    write(&fares, &mut out).expect("writes");
    let again = read(std::str::from_utf8(&out).expect("utf-8")).expect("reads back");
    assert_eq!(again, fares);
}
