//! The hand-written schedule against fare files: every cabin of every flight needs a fare
//! on every date it operates.

use chrono::NaiveDate;
use ota_content::{fares, pricing, ssim};

const HAND: &str = include_str!("data/hand.ssim");

fn schedule() -> ssim::Schedule {
    ssim::read(HAND, &mut |_, _| {}).expect("reads")
}

/// A fare for every cabin of every leg in the sample (OT has J and Y cabins; the two-leg
/// flight has F, J and Y; VY only Y).
const ALL: &str = "\
carrier,origin,destination,cabin,fare,currency,refundable
OT,LHR,JFK,economy,45000,GBP,false
OT,LHR,JFK,business,250000,GBP,true
OT,JFK,LHR,economy,52000,USD,false
OT,JFK,LHR,business,260000,USD,true
OT,LHR,DXB,first,500000,GBP,true
OT,LHR,DXB,business,300000,GBP,true
OT,LHR,DXB,economy,60000,GBP,false
OT,DXB,SIN,first,400000,AED,true
OT,DXB,SIN,business,250000,AED,true
OT,DXB,SIN,economy,50000,AED,false
VY,BCN,LIS,economy,4999,EUR,false
";

fn until() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 31).expect("date")
}

#[test]
fn a_fare_for_every_cabin_prices_the_whole_schedule() {
    let fares = fares::read(ALL).expect("fares");
    assert_eq!(pricing::unpriced(&schedule(), &fares, until()), vec![]);
    let table = pricing::FareTable::new(&fares);
    let date = NaiveDate::from_ymd_opt(2026, 11, 2).expect("date");
    let fare = table
        .fare("OT", "LHR", "JFK", ota_content::CabinClass::Business, date)
        .expect("fare");
    assert_eq!(fare.adult, 250000);
}

#[test]
fn a_missing_cabin_or_dates_outside_every_fare_are_named() {
    // No business fare from JFK: the three OT102 records each lack it.
    let without = ALL.replace("OT,JFK,LHR,business,260000,USD,true\n", "");
    let fares = fares::read(&without).expect("fares");
    let gaps = pricing::unpriced(&schedule(), &fares, until());
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    assert!(
        gaps.iter()
            .all(|g| g.flight == "OT102" && g.cabin == "business")
    );
    assert!(
        gaps[0]
            .to_string()
            .contains("has no fare for departures on 2026-10-01 to 2026-10-23"),
        "{}",
        gaps[0]
    );

    // LHR-JFK economy priced only from 10 October: the first record's first nine days lack it.
    let dated = format!(
        "{},valid_from,valid_to\n{}",
        ALL.lines().next().unwrap_or_default(),
        ALL.lines()
            .skip(1)
            .map(|l| if l.starts_with("OT,LHR,JFK,economy") {
                format!("{l},2026-10-10,\n")
            } else {
                format!("{l},,\n")
            })
            .collect::<String>()
    );
    let fares = fares::read(&dated).expect("fares");
    let gaps = pricing::unpriced(&schedule(), &fares, until());
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0].first, gaps[0].last),
        (
            NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
            NaiveDate::from_ymd_opt(2026, 10, 9).expect("date")
        )
    );
}
