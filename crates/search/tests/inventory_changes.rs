//! Capacity, price and stop-sell changes on SQLite and (with OTA_TEST_DATABASE_URL)
//! PostgreSQL: each bumps the catalog generation, the index refresh reads it back, and
//! a stop-sold row takes no holds. Also the index's metropolitan codes.

use std::collections::HashMap;

use chrono::{Duration, NaiveTime, Utc};
use ota_contract::AirportCode;
use ota_search::airports::{self, Suggestion};
use ota_search::catalog::Cabin;
use ota_search::flights;
use ota_search::index::Index;
use ota_search::seed::{Blueprint, Route, Size};
use ota_search::store::{
    ChangeError, HoldError, Inventory, InventoryChange, InventoryItem, SearchStore,
};
use ota_testkit as testkit;
use uuid::Uuid;

/// The small catalog on every engine, with extra shipped airports and routes between
/// them (`(origin, destination)`, daily at 10:00, seven hours).
async fn stores(
    extra_airports: &[&str],
    extra_routes: &[(&str, &str)],
) -> Vec<(&'static str, SearchStore)> {
    let mut out = Vec::new();
    for db in testkit::databases(ota_search::SERVICE, &ota_search::MIGRATIONS).await {
        let store = SearchStore::new(db.clone());
        let mut bp = Blueprint::new(Size::Small, Utc::now().date_naive());
        bp.airports.extend(
            ota_search::catalog::airports()
                .into_iter()
                .filter(|a| extra_airports.contains(&a.iata.as_str())),
        );
        let at = |code: &str| {
            bp.airports
                .iter()
                .position(|a| a.iata == code)
                .expect("an airport of the catalog")
        };
        let routes: Vec<Route> = extra_routes
            .iter()
            .enumerate()
            .map(|(i, (o, d))| Route {
                origin: at(o),
                destination: at(d),
                carrier: "OT".to_owned(),
                flight_number: 9_000 + i as i32,
                departure: NaiveTime::from_hms_opt(10, 0, 0).expect("time"),
                block_minutes: 7 * 60,
                weekdays: 0b0111_1111,
                cabins: vec![(Cabin::Economy, 100, 30_000)],
                km: 5_500.0,
            })
            .collect();
        bp.routes.extend(routes);
        assert!(
            ota_search::seed_blueprint(&store, &bp)
                .await
                .expect("seeded")
        );
        out.push((db.engine(), store));
    }
    out
}

async fn index(store: &SearchStore) -> Index {
    let meta = store.meta().await.expect("meta").expect("catalog");
    Index::load(store, meta.first_day, i64::from(meta.days))
        .await
        .expect("index")
}

#[tokio::test]
async fn price_capacity_and_stop_sell_changes_reach_the_index_with_a_new_generation() {
    for (engine, store) in stores(&[], &[]).await {
        let index = index(&store).await;
        let day = Utc::now().date_naive() + Duration::days(5);
        let flight = store.flights(day).await.expect(engine)[0].id;
        let seats = Inventory::Seats {
            flight_id: flight,
            cabin: Cabin::Economy,
        };
        let night = Inventory::Rooms {
            room_type_id: 1,
            night: day,
        };
        let before = store.generation().await.expect(engine);
        let since = Utc::now().timestamp_millis();

        store
            .change_inventory(seats, InventoryChange::Price(12_345))
            .await
            .expect(engine);
        store
            .change_inventory(seats, InventoryChange::Capacity(40))
            .await
            .expect(engine);
        // Rooms are priced per rate plan, by rate ranges: a night's price is not a thing.
        assert!(
            matches!(
                store
                    .change_inventory(night, InventoryChange::Price(23_456))
                    .await,
                Err(ChangeError::Invalid(_))
            ),
            "{engine}"
        );
        store
            .change_inventory(night, InventoryChange::StopSell(true))
            .await
            .expect(engine);
        let changes = store.changed_since(since).await.expect(engine);
        assert_eq!(changes.generation, before + 3, "{engine}");

        let dated = index.flight(flight).expect("the flight");
        let cabin = || {
            index
                .cabin_offer(&dated, Cabin::Economy, Utc::now())
                .expect("cabin")
        };
        let room = || index.night(1, day).expect("night");
        assert_ne!(cabin().fare, 12_345, "{engine}: not applied yet");
        assert!(room().remaining() > 0, "{engine}");
        index.apply(&changes);
        assert_eq!(cabin().fare, 12_345, "{engine}");
        assert_eq!(cabin().remaining, 40, "{engine}");
        assert_eq!(room().remaining(), 0, "{engine}: stop-sold");
        assert_eq!(index.generation(), before + 3, "{engine}");
    }
}

#[tokio::test]
async fn a_stop_sold_row_takes_no_holds_until_it_sells_again() {
    for (engine, store) in stores(&[], &[]).await {
        let day = Utc::now().date_naive() + Duration::days(6);
        let flight = store.flights(day).await.expect(engine)[0].id;
        let seats = Inventory::Seats {
            flight_id: flight,
            cabin: Cabin::Economy,
        };
        let item = InventoryItem::Seats {
            flight_id: flight,
            cabin: Cabin::Economy,
            quantity: 1,
        };
        let expires = Utc::now() + Duration::minutes(5);
        store
            .change_inventory(seats, InventoryChange::StopSell(true))
            .await
            .expect(engine);
        assert_eq!(store.available(&item).await.expect(engine), Some(0));
        let refused = store
            .create_hold(Uuid::now_v7(), std::slice::from_ref(&item), expires)
            .await;
        assert!(
            matches!(refused, Err(HoldError::SoldOut(_))),
            "{engine}: {refused:?}"
        );
        store
            .change_inventory(seats, InventoryChange::StopSell(false))
            .await
            .expect(engine);
        store
            .create_hold(Uuid::now_v7(), &[item], expires)
            .await
            .expect(engine);
        let (_, _, held) = store
            .seat_counts(flight, Cabin::Economy)
            .await
            .expect(engine);
        assert_eq!(held, 1, "{engine}");
    }
}

#[tokio::test]
async fn impossible_changes_are_refused_and_change_nothing() {
    for (engine, store) in stores(&[], &[]).await {
        let day = Utc::now().date_naive() + Duration::days(7);
        let flight = store.flights(day).await.expect(engine)[0].id;
        let seats = Inventory::Seats {
            flight_id: flight,
            cabin: Cabin::Economy,
        };
        store
            .create_hold(
                Uuid::now_v7(),
                &[InventoryItem::Seats {
                    flight_id: flight,
                    cabin: Cabin::Economy,
                    quantity: 3,
                }],
                Utc::now() + Duration::minutes(5),
            )
            .await
            .expect(engine);
        let before = store.generation().await.expect(engine);
        let below = store
            .change_inventory(seats, InventoryChange::Capacity(2))
            .await;
        assert!(
            matches!(
                below,
                Err(ChangeError::BelowTaken {
                    capacity: 2,
                    taken: 3
                })
            ),
            "{engine}: {below:?}"
        );
        for (at, change) in [
            (seats, InventoryChange::Capacity(-1)),
            (seats, InventoryChange::Price(0)),
        ] {
            let refused = store.change_inventory(at, change).await;
            assert!(
                matches!(refused, Err(ChangeError::Invalid(_))),
                "{engine}: {refused:?}"
            );
        }
        let unknown = store
            .change_inventory(
                Inventory::Rooms {
                    room_type_id: 999_999,
                    night: day,
                },
                InventoryChange::StopSell(true),
            )
            .await;
        assert!(
            matches!(unknown, Err(ChangeError::NotFound)),
            "{engine}: {unknown:?}"
        );
        assert_eq!(store.generation().await.expect(engine), before, "{engine}");
        let (capacity, _, held) = store
            .seat_counts(flight, Cabin::Economy)
            .await
            .expect(engine);
        assert_eq!((capacity > 3, held), (true, 3), "{engine}");
    }
}

#[tokio::test]
async fn metropolitan_codes_stand_for_every_airport_of_their_city() {
    for (engine, store) in stores(&["EWR", "LGA"], &[("EWR", "LHR")]).await {
        let index = index(&store).await;
        let code = |i: u16| index.airports[i as usize].iata.clone();
        let mut nyc: Vec<String> = index.places(airport("NYC")).into_iter().map(code).collect();
        nyc.sort();
        assert_eq!(nyc, ["EWR", "JFK", "LGA"], "{engine}");
        assert_eq!(
            index
                .places(airport("JFK"))
                .into_iter()
                .map(code)
                .collect::<Vec<_>>(),
            ["JFK"]
        );
        assert!(index.places(airport("XXX")).is_empty());
        // Autocomplete offers the city under its code, just before its airports.
        let found = airports::suggest(&index, "NYC", 8);
        let Some(Suggestion::Metro {
            code: metro,
            airports,
        }) = found.first()
        else {
            panic!("{engine}: NYC first");
        };
        assert_eq!(*metro, "NYC");
        assert_eq!(airports.len(), 3, "{engine}");
        assert_eq!(airports[0].iata, "JFK", "{engine}: busiest first");
        let by_city = airports::suggest(&index, "new york", 8);
        assert!(
            matches!(by_city.first(), Some(Suggestion::Metro { code: "NYC", .. })),
            "{engine}"
        );
        // A city with one airport in the catalog stays a plain airport.
        let paris = airports::suggest(&index, "paris", 8);
        assert!(
            matches!(paris.first(), Some(Suggestion::Airport(a)) if a.iata == "CDG"),
            "{engine}"
        );
        // A flight search from NYC leaves from JFK and from Newark.
        let params: HashMap<String, String> = [
            ("origin", "nyc".to_owned()),
            ("destination", "LON".to_owned()),
            (
                "departure_date",
                (Utc::now().date_naive() + Duration::days(8)).to_string(),
            ),
            ("max_stops", "0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let (q, _) = ota_search::api::flight_query(&index, &params).expect("a valid search");
        let mut from: Vec<String> = flights::search(&index, &q, Utc::now())
            .iter()
            .map(|it| code(it.journeys[0].legs[0].origin))
            .collect();
        from.sort();
        from.dedup();
        assert_eq!(from, ["EWR", "JFK"], "{engine}");
    }
}

fn airport(code: &str) -> AirportCode {
    AirportCode::parse(code).expect("an airport code")
}
