//! Schedule imports on SQLite and (with OTA_TEST_DATABASE_URL) PostgreSQL: a hand-written
//! SSIM file (three carriers, periods split where the clocks change on either side of the
//! Atlantic, an overnight flight, a two-leg flight, a UTC-mode carrier flying Monday,
//! Wednesday and Friday only, a carrier the catalog did not know) is imported whole and
//! searched with the local times it gives; a damaged file changes nothing; a re-import
//! that cancels or retimes a flight with sold seats reports the bookings on it.

use chrono::{Duration, NaiveDate, Utc};
use ota_search::catalog::Cabin;
use ota_search::import::{self, Files, ImportError};
use ota_search::index::Index;
use ota_search::schedule::DatedLeg;
use ota_search::seed::{Blueprint, Size};
use ota_search::store::{InventoryItem, LegChange, SearchStore};
use ota_testkit as testkit;
use uuid::Uuid;

const W30: &str = include_str!("data/w30.ssim");
const W30_FARES: &str = include_str!("data/w30-fares.csv");

async fn stores() -> Vec<(&'static str, SearchStore)> {
    let mut out = Vec::new();
    for db in testkit::databases(ota_search::SERVICE, &ota_search::MIGRATIONS).await {
        let store = SearchStore::new(db.clone());
        let bp = Blueprint::new(Size::Small, Utc::now().date_naive());
        assert!(
            ota_search::seed_blueprint(&store, &bp)
                .await
                .expect("seeded")
        );
        out.push((db.engine(), store));
    }
    out
}

fn files(ssim: &str, fares: Option<&str>) -> Files {
    Files {
        source: "test".to_owned(),
        ssim: Some(ssim.to_owned()),
        fares: fares.map(str::to_owned),
        merge: false,
    }
}

async fn index(store: &SearchStore) -> Index {
    let meta = store.meta().await.expect("meta").expect("catalog");
    Index::load(store, meta.first_day, i64::from(meta.days))
        .await
        .expect("index")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// The flights an airport's departures board shows on a local date: (flight, local
/// departure, local arrival), as RFC 3339 with each airport's offset.
fn board(index: &Index, from: &str, on: &str) -> Vec<(String, String, String)> {
    let (i, _) = index.airport(from).expect("airport");
    let mut out: Vec<_> = index
        .leaving(i, date(on))
        .map(|f| {
            let leg = &index.legs[f.leg as usize];
            (
                format!("{}{}", leg.carrier, leg.flight_number),
                ota_search::flights::local(index, f.origin, f.departure),
                ota_search::flights::local(index, f.destination, f.arrival),
            )
        })
        .collect();
    out.sort();
    out
}

fn row(flight: &str, dep: &str, arr: &str) -> (String, String, String) {
    (flight.to_owned(), dep.to_owned(), arr.to_owned())
}

#[tokio::test]
async fn a_hand_written_schedule_is_searched_with_its_local_times() {
    for (engine, store) in stores().await {
        let version = store.schedule_version().await.expect(engine);
        let report = import::import(
            &store,
            &files(W30, Some(W30_FARES)),
            &mut |_, _| {},
            &|_| {},
        )
        .await
        .unwrap_or_else(|e| panic!("{engine}: {}", e.lines().join("\n")));
        assert_eq!(report.carriers, ["OT", "QZ", "VY"], "{engine}");
        assert_eq!(report.legs, 10, "{engine}");
        assert_eq!(report.fares, Some(13), "{engine}");
        assert!(report.affected.is_empty(), "{engine}");
        assert_eq!(store.schedule_version().await.expect(engine), version + 1);
        let index = index(&store).await;

        // London to New York: summer time on both sides, then London's clocks go back
        // (27 October), then New York's (3 November); the local times stay 09:00 out.
        assert_eq!(
            board(&index, "LHR", "2030-10-26"),
            [row(
                "OT101",
                "2030-10-26T09:00:00+01:00",
                "2030-10-26T12:00:00-04:00"
            )]
        );
        assert_eq!(
            board(&index, "LHR", "2030-10-28"),
            [row(
                "OT101",
                "2030-10-28T09:00:00+00:00",
                "2030-10-28T13:00:00-04:00"
            )]
        );
        // OT200's first leg leaves London too from November.
        assert_eq!(
            board(&index, "LHR", "2030-11-04"),
            [
                row(
                    "OT101",
                    "2030-11-04T09:00:00+00:00",
                    "2030-11-04T12:00:00-05:00"
                ),
                row(
                    "OT200",
                    "2030-11-04T21:00:00+00:00",
                    "2030-11-05T07:30:00+04:00"
                ),
            ]
        );
        // Overnight: the flight of 26 October lands after London's clocks went back.
        assert_eq!(
            board(&index, "JFK", "2030-10-25"),
            [row(
                "OT102",
                "2030-10-25T22:00:00-04:00",
                "2030-10-26T10:00:00+01:00"
            )]
        );
        assert_eq!(
            board(&index, "JFK", "2030-10-26"),
            [row(
                "OT102",
                "2030-10-26T22:00:00-04:00",
                "2030-10-27T09:00:00+00:00"
            )]
        );
        // The second leg of OT200 leaves Dubai the day after the flight's date; QZ55 is
        // a carrier the catalog did not have.
        assert_eq!(
            board(&index, "DXB", "2030-11-05"),
            [
                row(
                    "OT200",
                    "2030-11-05T09:30:00+04:00",
                    "2030-11-05T21:00:00+08:00"
                ),
                row(
                    "QZ55",
                    "2030-11-05T10:15:00+04:00",
                    "2030-11-05T21:45:00+08:00"
                ),
            ]
        );
        assert_eq!(index.carriers.get("QZ").map(String::as_str), Some("QZ"));
        // UTC times in the file, local times in the answer; Monday, Wednesday, Friday.
        for (day, flies) in [
            ("2030-11-04", true),
            ("2030-11-05", false),
            ("2030-11-06", true),
            ("2030-11-07", false),
            ("2030-11-08", true),
            ("2030-11-09", false),
            ("2030-11-10", false),
        ] {
            let expected = if flies {
                vec![row(
                    "VY8461",
                    &format!("{day}T08:00:00+01:00"),
                    &format!("{day}T09:00:00+00:00"),
                )]
            } else {
                vec![]
            };
            assert_eq!(board(&index, "BCN", day), expected, "{engine} {day}");
        }
        // Priced from the fare file, seats from the aircraft configuration.
        let f = index
            .leaving(index.airport("LHR").expect("LHR").0, date("2030-11-04"))
            .next()
            .expect("OT101");
        let economy = index
            .cabin_offer(&f, Cabin::Economy, Utc::now())
            .expect("economy");
        assert_eq!(
            (economy.fare, economy.remaining, economy.refundable),
            (48_900, 250, false)
        );
        let business = index
            .cabin_offer(&f, Cabin::Business, Utc::now())
            .expect("business");
        assert_eq!(
            (business.fare, business.refund_deadline_hours),
            (289_900, 48)
        );
        assert_eq!(
            index.flights_last_day(),
            Some(date("2030-12-01")),
            "{engine}: OT200's last leg"
        );
        // The fare file's child fare; the default share for infants.
        let bcn = index.airport("BCN").expect("BCN").0;
        let vy = index
            .leaving(bcn, date("2030-11-04"))
            .next()
            .expect("VY8461");
        let economy = index
            .cabin_offer(&vy, Cabin::Economy, Utc::now())
            .expect("economy");
        assert_eq!(
            (economy.fare, economy.child, economy.infant),
            (7_900, 5_900, 790)
        );

        // A fare sold only far enough ahead is not offered sooner.
        let ahead: String = W30_FARES
            .lines()
            .enumerate()
            .map(|(i, line)| match i {
                0 => format!("{line},advance_purchase_days\n"),
                _ if line.starts_with("QZ,DXB,SIN,economy") => format!("{line},5000\n"),
                _ => format!("{line},\n"),
            })
            .collect();
        let stored = store.fares().await.expect(engine).len();
        let fares_only = Files {
            fares: Some(ahead),
            ssim: None,
            ..files(W30, None)
        };
        let report = import::import(&store, &fares_only, &mut |_, _| {}, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{engine}: {}", e.lines().join("\n")));
        assert_eq!(report.fares, Some(13));
        // The file's 13 markets replaced; the seed's OT markets kept theirs.
        assert_eq!(store.fares().await.expect(engine).len(), stored, "{engine}");
        assert!(
            store
                .fares()
                .await
                .expect(engine)
                .iter()
                .any(|f| f.carrier == "OT" && f.origin == "JFK" && f.destination == "LAX"),
            "{engine}"
        );
        let index = self::index(&store).await;
        let dxb = index.airport("DXB").expect("DXB").0;
        let qz = index
            .leaving(dxb, date("2030-11-05"))
            .find(|f| index.legs[f.leg as usize].carrier == "QZ")
            .expect("QZ55");
        assert_eq!(
            index.cabin_offer(&qz, Cabin::Economy, Utc::now()),
            None,
            "{engine}: sold 5000 days ahead only"
        );
        assert!(
            index
                .cabin_offer(&qz, Cabin::Business, Utc::now())
                .is_some(),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_damaged_file_is_refused_by_line_and_changes_nothing() {
    for (engine, store) in stores().await {
        let good = import::import(
            &store,
            &files(W30, Some(W30_FARES)),
            &mut |_, _| {},
            &|_| {},
        )
        .await
        .expect(engine);
        let version = store.schedule_version().await.expect(engine);
        let before = store.legs(date("2030-01-01")).await.expect(engine);
        // Line 12 (OT101's second record): a departure time of 25:00.
        let damaged: String = W30
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 11 {
                    l.replacen("LHR09000900", "LHR25000900", 1)
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let refused = import::import(
            &store,
            &files(&damaged, Some(W30_FARES)),
            &mut |_, _| {},
            &|_| {},
        )
        .await;
        let Err(ImportError::Schedule(errors)) = refused else {
            panic!("{engine}: refused, not {refused:?}");
        };
        assert!(errors[0].starts_with("line 12, "), "{engine}: {errors:?}");
        // A station the world does not have, and a fare for it.
        let unknown = W30.replacen("BCN07000700", "XQZ07000700", 1);
        let Err(ImportError::Schedule(errors)) =
            import::import(&store, &files(&unknown, None), &mut |_, _| {}, &|_| {}).await
        else {
            panic!("{engine}: an unknown station is refused");
        };
        assert!(
            errors
                .iter()
                .any(|e| e.contains("line 25") && e.contains("XQZ")),
            "{errors:?}"
        );
        let bad_fares = W30_FARES.replacen("OT,LHR,JFK,economy,48900", "OT,LHR,JFK,economy,-1", 1);
        let Err(ImportError::Fares(errors)) = import::import(
            &store,
            &files(W30, Some(&bad_fares)),
            &mut |_, _| {},
            &|_| {},
        )
        .await
        else {
            panic!("{engine}: a negative fare is refused");
        };
        assert!(errors[0].starts_with("line 2"), "{errors:?}");
        // A schedule with its fares must price every cabin it sells.
        let gap = W30_FARES.replacen("QZ,DXB,SIN,business,129900,USD,true,,\n", "", 1);
        assert_ne!(gap, W30_FARES);
        let Err(ImportError::Schedule(errors)) =
            import::import(&store, &files(W30, Some(&gap)), &mut |_, _| {}, &|_| {}).await
        else {
            panic!("{engine}: an unpriced cabin is refused");
        };
        assert_eq!(
            errors,
            [
                "line 28: QZ55 DXB-SIN business has no fare for departures on 2030-11-01 to 2030-11-30"
            ],
            "{engine}"
        );

        assert_eq!(
            store.schedule_version().await.expect(engine),
            version,
            "{engine}"
        );
        assert_eq!(
            store.legs(date("2030-01-01")).await.expect(engine),
            before,
            "{engine}"
        );
        let log = store.imports(10).await.expect(engine);
        assert_eq!(
            log.iter().map(|l| l.status.as_str()).collect::<Vec<_>>(),
            ["failed", "failed", "failed", "failed", "done", "done"],
            "{engine}: the log keeps the refusals (newest first), after the seed and the good import"
        );
        assert_eq!(log[4].id, good.import_id);
    }
}

#[tokio::test]
async fn a_schedule_change_under_sold_seats_reports_the_bookings_on_them() {
    for (engine, store) in stores().await {
        import::import(
            &store,
            &files(W30, Some(W30_FARES)),
            &mut |_, _| {},
            &|_| {},
        )
        .await
        .expect(engine);
        let leg = |number: u16, day: &str, origin: &str| DatedLeg {
            carrier: "OT".to_owned(),
            flight_number: number,
            flight_date: date(day),
            origin: origin.to_owned(),
        };
        let sold = Uuid::new_v4();
        let held = Uuid::new_v4();
        let untouched = Uuid::new_v4();
        let seats = |at: DatedLeg, quantity| InventoryItem::Seats {
            flight_id: at.id().expect("id"),
            cabin: Cabin::Economy,
            quantity,
        };
        let until = Utc::now() + Duration::minutes(10);
        store
            .create_hold(sold, &[seats(leg(101, "2030-11-04", "LHR"), 2)], until)
            .await
            .expect(engine);
        store.commit_hold(sold).await.expect(engine);
        store
            .create_hold(held, &[seats(leg(102, "2030-11-06", "JFK"), 1)], until)
            .await
            .expect(engine);
        store
            .create_hold(untouched, &[seats(leg(200, "2030-11-04", "LHR"), 1)], until)
            .await
            .expect(engine);

        let fares_before = store.fares().await.expect(engine);
        // OT's November: OT101 no longer flies on Mondays, OT102 leaves an hour later,
        // OT200 flies on with a smaller aircraft (fewer seats, but more than are taken).
        let change = W30
            .lines()
            .map(|l| {
                if l.starts_with("3 OT  1010101J03NOV30") {
                    l.replacen("1234567", " 234567", 1)
                } else if l.starts_with("3 OT  1020101J03NOV30") {
                    l.replacen("JFK22002200", "JFK23002300", 1).replacen(
                        "LHR10001000",
                        "LHR11001100",
                        1,
                    )
                } else if l.starts_with("3 OT  200") {
                    l.replacen("F14J76Y400", "J30Y200   ", 1)
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let report = import::import(&store, &files(&change, None), &mut |_, _| {}, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{engine}: {}", e.lines().join("\n")));
        let found: Vec<_> = report
            .affected
            .iter()
            .map(|a| {
                (
                    a.flight.as_str(),
                    a.flight_date.to_string(),
                    a.change,
                    a.sold,
                    a.held,
                    a.bookings.clone(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "OT101",
                    "2030-11-04".to_owned(),
                    LegChange::Cancelled,
                    2,
                    0,
                    vec![sold]
                ),
                (
                    "OT102",
                    "2030-11-06".to_owned(),
                    LegChange::Retimed,
                    0,
                    1,
                    vec![held]
                ),
            ],
            "{engine}"
        );
        // The seats of the downsized flight follow the new aircraft.
        let (capacity, _, held_seats) = store
            .seat_counts(
                leg(200, "2030-11-04", "LHR").id().expect("id"),
                Cabin::Economy,
            )
            .await
            .expect(engine);
        assert_eq!((capacity, held_seats), (200, 1), "{engine}");
        // The fares were left as they were.
        assert_eq!(report.fares, None);
        assert_eq!(store.fares().await.expect(engine), fares_before, "{engine}");
    }
}

/// A flight-leg record of carrier QC every day from 4 November 2030 (North American
/// winter time) to the end of the month, from the same columns as the sample file's
/// QZ55 (local times, no date variation).
fn qc_leg(
    number: u16,
    from: &str,
    dep: &str,
    dep_utc: &str,
    to: &str,
    arr: &str,
    arr_utc: &str,
) -> String {
    let template = W30.lines().find(|l| l.starts_with("3 QZ")).expect("QZ55");
    let mut line = template.to_owned();
    line.replace_range(2..5, "QC ");
    line.replace_range(5..9, &format!("{number:>4}"));
    line.replace_range(14..28, "04NOV3030NOV30");
    line.replace_range(36..52, &format!("{from}{dep}{dep}{dep_utc}"));
    line.replace_range(54..70, &format!("{to}{arr}{arr}{arr_utc}"));
    line
}

#[tokio::test]
async fn connections_stay_within_the_circuity_bound_and_every_leg_is_priced() {
    // New York to Los Angeles either through Chicago (3,990 km flown for 3,974 direct)
    // or through Anchorage (9,205 km): both connect in time, only Chicago is offered
    // (though Anchorage is cheaper).
    let ssim = [
        "1AIRLINE STANDARD SCHEDULE DATA SET     1".to_owned(),
        "2LQC      W30 01NOV3030NOV3001SEP30CIRCUITY SAMPLE                     P".to_owned(),
        qc_leg(1, "JFK", "0800", "-0500", "ORD", "0930", "-0600"),
        qc_leg(2, "ORD", "1130", "-0600", "LAX", "1400", "-0800"),
        qc_leg(3, "JFK", "0800", "-0500", "ANC", "1200", "-0900"),
        qc_leg(4, "ANC", "1400", "-0900", "LAX", "1930", "-0800"),
        W30.lines()
            .find(|l| l.starts_with("5 QZ"))
            .expect("QZ trailer")
            .replacen("QZ", "QC", 1),
    ]
    .join("\n");
    let fares = "carrier,origin,destination,cabin,fare,currency,refundable\n\
                 QC,JFK,ORD,economy,10000,USD,false\n\
                 QC,ORD,LAX,economy,10000,USD,false\n\
                 QC,JFK,ANC,economy,5000,USD,false\n\
                 QC,ANC,LAX,economy,5000,USD,false\n\
                 QC,JFK,ORD,business,40000,USD,true\n\
                 QC,ORD,LAX,business,40000,USD,true\n\
                 QC,JFK,ANC,business,20000,USD,true\n\
                 QC,ANC,LAX,business,20000,USD,true\n";
    for (engine, store) in stores().await {
        // Alone, the schedule of a carrier without fares would never sell: refused.
        let Err(ImportError::Schedule(errors)) =
            import::import(&store, &files(&ssim, None), &mut |_, _| {}, &|_| {}).await
        else {
            panic!("{engine}: a schedule nothing prices is refused");
        };
        assert!(
            errors[0].starts_with("line 3: QC1 JFK-ORD ")
                && errors.last().is_some_and(|e| e.contains("--fares")),
            "{engine}: {errors:?}"
        );
        let qc1 = DatedLeg {
            carrier: "QC".to_owned(),
            flight_number: 1,
            flight_date: date("2030-11-05"),
            origin: "JFK".to_owned(),
        };
        assert!(
            store.scheduled_leg(&qc1).await.expect(engine).is_none(),
            "{engine}"
        );
        import::import(&store, &files(&ssim, Some(fares)), &mut |_, _| {}, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{engine}: {}", e.lines().join("\n")));
        let index = index(&store).await;
        let code = |c: &str| index.airport(c).expect(c).0;
        let via = |max_stops: u8| -> Vec<String> {
            let q = ota_search::flights::FlightQuery {
                origins: vec![code("JFK")],
                destinations: vec![code("LAX")],
                departure_date: date("2030-11-05"),
                return_date: None,
                passengers: ota_contract::passengers::Passengers {
                    adults: 1,
                    children: 0,
                    infants: 0,
                },
                cabin: Cabin::Economy,
                max_stops,
                sort: ota_search::flights::Sort::Price,
                carriers: vec!["QC".parse().expect("designator")],
                departure_after: None,
                departure_before: None,
                max_price: None,
            };
            ota_search::flights::search(&index, &q, Utc::now())
                .iter()
                .map(|i| {
                    let legs = &i.journeys[0].legs;
                    legs[..legs.len() - 1]
                        .iter()
                        .map(|f| index.airports[f.destination as usize].iata.clone())
                        .collect::<Vec<_>>()
                        .join("-")
                })
                .collect()
        };
        assert_eq!(
            via(1),
            ["ORD"],
            "{engine}: the cheaper detour is not offered"
        );
        assert_eq!(via(2), ["ORD"], "{engine}");
        // Once priced, the schedule alone may come again.
        import::import(&store, &files(&ssim, None), &mut |_, _| {}, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{engine}: {}", e.lines().join("\n")));
    }
}
