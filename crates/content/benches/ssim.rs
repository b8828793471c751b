//! Reading and checking a schedule file the size of a large airline's season: how long a
//! world-sized import spends in the SSIM reader and the checker.
//!
//! `cargo bench -p ota-content --bench ssim`

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ota_content::ssim::{
    Cabin, Carrier, CarrierSchedule, DaysOfOperation, Flight, Leg, Schedule, Station, TimeMode,
    Writer, check, read,
};

/// Airports in zones without daylight saving, so every leg keeps one UTC variation all year.
const AIRPORTS: [(&str, Tz, i32); 12] = [
    ("SIN", chrono_tz::Asia::Singapore, 480),
    ("HKG", chrono_tz::Asia::Hong_Kong, 480),
    ("NRT", chrono_tz::Asia::Tokyo, 540),
    ("DXB", chrono_tz::Asia::Dubai, 240),
    ("DEL", chrono_tz::Asia::Kolkata, 330),
    ("BKK", chrono_tz::Asia::Bangkok, 420),
    ("ICN", chrono_tz::Asia::Seoul, 540),
    ("DOH", chrono_tz::Asia::Qatar, 180),
    ("NBO", chrono_tz::Africa::Nairobi, 180),
    ("JNB", chrono_tz::Africa::Johannesburg, 120),
    ("LOS", chrono_tz::Africa::Lagos, 60),
    ("BOG", chrono_tz::America::Bogota, -300),
];

const LEGS: usize = 10_000;

fn schedule() -> Schedule {
    let from = NaiveDate::from_ymd_opt(2027, 1, 1).expect("date");
    let to = from + Duration::days(364);
    let station = |i: usize, minutes: u32| {
        let (code, _, offset) = AIRPORTS[i % AIRPORTS.len()];
        Station {
            code: code.to_owned(),
            passenger_time: NaiveTime::from_hms_opt(minutes / 60 % 24, minutes % 60, 0)
                .expect("time"),
            aircraft_time: NaiveTime::from_hms_opt(minutes / 60 % 24, minutes % 60, 0)
                .expect("time"),
            utc_offset: offset,
            terminal: String::new(),
        }
    };
    let legs = (0..LEGS)
        .map(|n| {
            let (a, b) = (
                n % AIRPORTS.len(),
                (n / AIRPORTS.len() + n + 1) % AIRPORTS.len(),
            );
            let b = if a == b { (b + 1) % AIRPORTS.len() } else { b };
            // Departure between 06:00 and 21:59 local, 1-9 h in the air; the arrival's
            // local time and day follow from the two stations' UTC variations.
            let dep_local = 360 + (n as i32 * 37) % 960;
            let block = 60 + (n as i32 * 53) % 480;
            let arr_local = dep_local - AIRPORTS[a].2 + block + AIRPORTS[b].2;
            Leg {
                line: 0,
                flight: Flight {
                    carrier: "OT".into(),
                    number: (n % 9999 + 1) as u16,
                    suffix: None,
                },
                itinerary_variation: (n / 9999 + 1) as u16,
                leg_sequence: 1,
                service_type: 'J',
                period_from: from,
                period_to: Some(to),
                days: DaysOfOperation::DAILY,
                frequency_rate: None,
                departure: station(a, dep_local as u32),
                arrival: station(b, arr_local.rem_euclid(1440) as u32),
                aircraft_type: "320".into(),
                booking_designators: "JY".into(),
                configuration: "J12Y150".into(),
                cabins: vec![
                    Cabin {
                        class: 'J',
                        seats: 12,
                    },
                    Cabin {
                        class: 'Y',
                        seats: 150,
                    },
                ],
                departure_day: 0,
                arrival_day: arr_local.div_euclid(1440) as i8,
                segments: Vec::new(),
            }
        })
        .collect();
    Schedule {
        carriers: vec![CarrierSchedule {
            carrier: Carrier {
                line: 0,
                designator: "OT".into(),
                time_mode: TimeMode::Local,
                season: String::new(),
                valid_from: from,
                valid_to: Some(to),
                creation_date: from,
                title: String::new(),
                general_information: String::new(),
            },
            legs,
        }],
    }
}

fn bench(c: &mut Criterion) {
    let mut writer = Writer::new(Vec::new());
    writer.schedule(&schedule()).expect("writes");
    let text = String::from_utf8(writer.finish().expect("flush")).expect("ascii");
    let parsed = read(&text, &mut |_, _| {}).expect("reads");
    let zone = |code: &str| AIRPORTS.iter().find(|a| a.0 == code).map(|a| a.1);
    check(&parsed, &zone).expect("the generated schedule is consistent");

    let mut group = c.benchmark_group("ssim");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LEGS as u64));
    group.bench_function("read 10,000 flight legs", |b| {
        b.iter(|| read(&text, &mut |_, _| {}).expect("reads"))
    });
    group.bench_function("check 10,000 daily legs over 365 days", |b| {
        b.iter(|| check(&parsed, &zone).expect("checks"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
