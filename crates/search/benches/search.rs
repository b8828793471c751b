//! The search core on the demo catalog: one-stop flight search, round trips and hotel
//! search answered from the in-memory index (no HTTP, no cache).
//!
//! cargo bench -p ota-search --bench search
//!
//! With `OTA_BENCH_DATABASE_URL` (a PostgreSQL URL) it runs on that database's catalog as
//! it is instead (for example the `world` size: `ota seed --size world --export DIR`,
//! then `ota catalog import`), and prints how many itineraries each route prices.

use std::collections::HashMap;
use std::hint::black_box;

use chrono::{Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ota_search::api::{flight_query, hotel_query};
use ota_search::index::Index;
use ota_search::seed::Size;
use ota_search::store::SearchStore;
use ota_search::{flights, hotels};
use ota_testkit as testkit;

const ROUTES: &[(&str, &str)] = &[
    ("JFK", "LAX"),
    ("LHR", "SYD"),
    ("CDG", "SIN"),
    ("ORD", "FRA"),
    ("ATL", "DXB"),
    ("SFO", "HND"),
    ("AMS", "BKK"),
    ("MAD", "GRU"),
    ("DEN", "LHR"),
    ("BOS", "MIA"),
    ("LAX", "JFK"),
    ("DXB", "LHR"),
    ("SIN", "SYD"),
    ("HND", "SFO"),
    ("FRA", "ORD"),
    ("IST", "JFK"),
    ("DEL", "LHR"),
    ("ICN", "LAX"),
];
const CITIES: &[&str] = &["Paris", "London", "New York", "Tokyo", "Dubai", "Singapore"];

fn params(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let index = rt.block_on(async {
        let store = match std::env::var("OTA_BENCH_DATABASE_URL") {
            Ok(url) => {
                let mut settings = testkit::db_settings(Some(url));
                settings.statement_timeout = std::time::Duration::from_secs(600);
                let db = ota_platform::db::Db::open(
                    &settings,
                    &testkit::temp_dir(),
                    ota_search::SERVICE,
                    &ota_search::MIGRATIONS,
                )
                .await
                .expect("the bench database");
                SearchStore::new(db)
            }
            Err(_) => {
                let db = testkit::databases(ota_search::SERVICE, &ota_search::MIGRATIONS)
                    .await
                    .remove(0);
                let store = SearchStore::new(db);
                ota_search::seed(&store, Size::Demo).await.expect("seeded");
                store
            }
        };
        let meta = store.meta().await.expect("meta").expect("catalog");
        Index::load(&store, meta.first_day, i64::from(meta.days))
            .await
            .expect("index")
    });
    let day = |d: i64| (Utc::now().date_naive() + Duration::days(d)).to_string();
    let now = Utc::now();
    let one_stop: Vec<_> = (0..40)
        .map(|i| {
            let (o, d) = ROUTES[i % ROUTES.len()];
            flight_query(
                &index,
                &params(&[
                    ("origin", o.into()),
                    ("destination", d.into()),
                    ("departure_date", day(7 + i as i64)),
                ]),
            )
            .expect("valid")
            .0
        })
        .collect();
    for q in one_stop.iter().take(ROUTES.len()) {
        let started = std::time::Instant::now();
        let found = flights::search(&index, q, now).len();
        let took = started.elapsed();
        let code = |i: &[u16]| index.airports[i[0] as usize].iata.clone();
        eprintln!(
            "{}-{}: {found} itineraries in {took:?}",
            code(&q.origins),
            code(&q.destinations)
        );
    }
    let mut i = 0;
    c.bench_function("flights: one-stop search (varied routes and dates)", |b| {
        b.iter(|| {
            i = (i + 1) % one_stop.len();
            black_box(flights::search(&index, &one_stop[i], now).len())
        })
    });
    let round: Vec<_> = (0..20)
        .map(|i| {
            let (o, d) = ROUTES[i % ROUTES.len()];
            flight_query(
                &index,
                &params(&[
                    ("origin", o.into()),
                    ("destination", d.into()),
                    ("departure_date", day(10 + i as i64)),
                    ("return_date", day(17 + i as i64)),
                ]),
            )
            .expect("valid")
            .0
        })
        .collect();
    c.bench_function("flights: round trip", |b| {
        b.iter(|| {
            i = (i + 1) % round.len();
            black_box(flights::search(&index, &round[i], now).len())
        })
    });
    let two_stops = flight_query(
        &index,
        &params(&[
            ("origin", "LHR".into()),
            ("destination", "SYD".into()),
            ("departure_date", day(12)),
            ("max_stops", "2".into()),
        ]),
    )
    .expect("valid")
    .0;
    c.bench_function("flights: two-stop LHR-SYD", |b| {
        b.iter(|| black_box(flights::search(&index, &two_stops, now).len()))
    });
    if index.hotels.is_empty() {
        return;
    }
    let stays: Vec<_> = (0..30)
        .map(|i| {
            hotel_query(
                &index,
                &params(&[
                    ("city", CITIES[i % CITIES.len()].into()),
                    ("check_in", day(5 + i as i64)),
                    ("check_out", day(8 + i as i64)),
                ]),
            )
            .expect("valid")
            .0
        })
        .collect();
    c.bench_function("hotels: 3-night city search", |b| {
        b.iter(|| {
            i = (i + 1) % stays.len();
            black_box(hotels::search(&index, &stays[i], now).len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
