//! Hotel availability and rates stored as date ranges, on SQLite and (with
//! OTA_TEST_DATABASE_URL) PostgreSQL: the seed writes ranges, a room night gets a row
//! only when something happens to it (made from its range), and holds on such nights
//! keep every guarantee: never oversold, stop-sell honoured, unknown nights refused.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use ota_search::index::Index;
use ota_search::seed::{Blueprint, Size, WEEKEND_NIGHTS, WEEKNIGHTS};
use ota_search::store::{HoldError, Inventory, InventoryChange, InventoryItem, SearchStore};
use ota_testkit as testkit;
use uuid::Uuid;

async fn stores() -> Vec<(&'static str, Arc<SearchStore>, Blueprint)> {
    let mut out = Vec::new();
    for db in testkit::databases(ota_search::SERVICE, &ota_search::MIGRATIONS).await {
        let store = SearchStore::new(db.clone());
        let bp = Blueprint::new(Size::Small, Utc::now().date_naive());
        assert!(
            ota_search::seed_blueprint(&store, &bp)
                .await
                .expect("seeded")
        );
        out.push((db.engine(), Arc::new(store), bp));
    }
    out
}

async fn index(store: &SearchStore) -> Index {
    let meta = store.meta().await.expect("meta").expect("catalog");
    Index::load(store, meta.first_day, i64::from(meta.days))
        .await
        .expect("index")
}

/// The next night on a weekday, at least a week ahead.
fn next(weekday: Weekday) -> NaiveDate {
    let mut day = Utc::now().date_naive() + Duration::days(7);
    while day.weekday() != weekday {
        day += Duration::days(1);
    }
    day
}

fn rooms(room_type_id: i64, night: NaiveDate, quantity: i32) -> InventoryItem {
    InventoryItem::Rooms {
        room_type_id,
        night,
        quantity,
    }
}

#[tokio::test]
async fn the_seed_writes_ranges_and_no_night_rows() {
    for (engine, store, bp) in stores().await {
        let today = Utc::now().date_naive();
        let ranges = store.room_ranges(today).await.expect(engine);
        let (_, room_types) = store.hotels().await.expect(engine);
        assert!(!room_types.is_empty(), "{engine}");
        // Two ranges (weeknights, weekend) per calendar month the catalog reaches.
        let months = bp.days / 28 + 2;
        assert!(
            ranges.len() <= room_types.len() * 2 * months as usize,
            "{engine}: {} ranges for {} room types",
            ranges.len(),
            room_types.len()
        );
        assert!(
            store.room_nights(today).await.expect(engine).is_empty(),
            "{engine}: nothing happened to any night yet"
        );
        // Every night of the catalog is covered exactly once per room type.
        let rt = room_types[0].id;
        let mine: Vec<_> = ranges.iter().filter(|r| r.room_type_id == rt).collect();
        for d in 0..i64::from(bp.days) {
            let night = bp.first_day + Duration::days(d);
            let covering = mine.iter().filter(|r| r.covers(night)).count();
            assert_eq!(covering, 1, "{engine}: {night}");
        }
        assert!(
            mine.iter()
                .all(|r| [WEEKNIGHTS, WEEKEND_NIGHTS].contains(&(r.weekdays as u8))),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn search_prices_nights_from_their_range_and_sees_holds_after_a_refresh() {
    for (engine, store, _) in stores().await {
        let index = index(&store).await;
        let (friday, thursday) = (next(Weekday::Fri), next(Weekday::Thu));
        let ranges = store.room_ranges(thursday).await.expect(engine);
        let range_of = |night: NaiveDate| {
            ranges
                .iter()
                .find(|r| r.room_type_id == 1 && r.covers(night))
                .expect("a range")
        };
        let weekend = index.night(1, friday).expect("friday");
        let weeknight = index.night(1, thursday).expect("thursday");
        assert_eq!(weekend.price, range_of(friday).price_amount, "{engine}");
        assert_eq!(weeknight.price, range_of(thursday).price_amount, "{engine}");
        assert_eq!(weekend.remaining(), range_of(friday).capacity, "{engine}");

        let since = Utc::now().timestamp_millis();
        store
            .create_hold(
                Uuid::now_v7(),
                &[rooms(1, friday, 2)],
                Utc::now() + Duration::minutes(10),
            )
            .await
            .expect(engine);
        let (capacity, sold, held) = store.room_counts(1, friday).await.expect(engine);
        assert_eq!(
            (capacity, sold, held),
            (range_of(friday).capacity, 0, 2),
            "{engine}"
        );
        assert_eq!(
            store.room_nights(friday).await.expect(engine).len(),
            1,
            "{engine}: one row, for the night held"
        );
        index.apply(&store.changed_since(since).await.expect(engine));
        assert_eq!(
            index.night(1, friday).expect("friday").remaining(),
            capacity - 2,
            "{engine}"
        );
        assert_eq!(
            index.night(1, thursday),
            Some(weeknight),
            "{engine}: the other nights keep their range"
        );
    }
}

#[tokio::test]
async fn racing_holds_on_a_night_without_a_row_never_oversell() {
    for (engine, store, _) in stores().await {
        let night = next(Weekday::Sat);
        let capacity = store.room_counts(2, night).await.expect(engine).0;
        let expires = Utc::now() + Duration::minutes(10);
        let tasks: Vec<_> = (0..capacity + 12)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .create_hold(Uuid::now_v7(), &[rooms(2, night, 1)], expires)
                        .await
                })
            })
            .collect();
        let mut granted = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(_) => granted += 1,
                Err(HoldError::SoldOut(_)) => {}
                Err(HoldError::Store(e)) if e.is_retryable() => {}
                Err(e) => panic!("{engine}: unexpected {e:?}"),
            }
        }
        let (capacity_after, sold, held) = store.room_counts(2, night).await.expect(engine);
        assert_eq!(capacity_after, capacity, "{engine}");
        assert_eq!(sold, 0, "{engine}");
        assert_eq!(held, granted, "{engine}: held = holds granted");
        assert!(held <= capacity, "{engine}: {held} held of {capacity}");
    }
}

#[tokio::test]
async fn stop_sold_and_uncovered_nights_take_no_holds() {
    for (engine, store, bp) in stores().await {
        let night = next(Weekday::Tue);
        let expires = Utc::now() + Duration::minutes(10);
        store
            .change_inventory(
                Inventory::Rooms {
                    room_type_id: 3,
                    night,
                },
                InventoryChange::StopSell(true),
            )
            .await
            .expect(engine);
        assert!(
            matches!(
                store
                    .create_hold(Uuid::now_v7(), &[rooms(3, night, 1)], expires)
                    .await,
                Err(HoldError::SoldOut(_))
            ),
            "{engine}: stop-sold"
        );
        assert_eq!(
            store.available(&rooms(3, night, 1)).await.expect(engine),
            Some(0),
            "{engine}"
        );
        let beyond = bp.first_day + Duration::days(i64::from(bp.days) + 3);
        assert!(
            matches!(
                store
                    .create_hold(Uuid::now_v7(), &[rooms(3, beyond, 1)], expires)
                    .await,
                Err(HoldError::Unknown(_))
            ),
            "{engine}: no range covers the night"
        );
        assert_eq!(
            store.available(&rooms(3, beyond, 1)).await.expect(engine),
            None,
            "{engine}"
        );
    }
}
