//! Hotel allotment, restrictions and rates stored as date ranges, on SQLite and (with
//! OTA_TEST_DATABASE_URL) PostgreSQL: the seed writes compact ranges, a room night gets a
//! row only when something happens to it (made from its allotment), holds on such
//! nights keep every guarantee (never oversold, stop-sell honoured, unknown nights
//! refused), and ARI changes rewrite ranges and sold nights in one transaction.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use ota_search::index::Index;
use ota_search::ranges::{ALL_WEEKDAYS, Span};
use ota_search::seed::{Blueprint, Size, WEEKEND_NIGHTS, WEEKNIGHTS, non_refundable};
use ota_search::store::{
    AriChange, AriSet, HoldError, Inventory, InventoryChange, InventoryItem, SearchStore,
};
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
async fn the_seed_writes_compact_ranges_and_no_night_rows() {
    for (engine, store, bp) in stores().await {
        let today = Utc::now().date_naive();
        let ranges = store.hotel_ranges(today).await.expect(engine);
        let (hotels, room_types, plans) = store.hotels().await.expect(engine);
        assert!(!room_types.is_empty(), "{engine}");
        assert_eq!(plans.len(), hotels.len() * 2, "{engine}: FLEX and NRF each");
        assert!(
            store.room_nights(today).await.expect(engine).is_empty(),
            "{engine}: nothing happened to any night yet"
        );
        // Two rate ranges (weeknights, weekend) per calendar month per plan, one
        // allotment range, no restrictions.
        let months = bp.days / 28 + 2;
        for rt in &room_types {
            let r = &ranges[&rt.id];
            assert_eq!(r.allotment.len(), 1, "{engine}");
            assert!(r.restrictions.is_empty(), "{engine}");
            assert_eq!(r.rates.len(), 2, "{engine}: two plans, any guests");
            for list in r.rates.values() {
                assert!(list.len() <= 2 * months as usize, "{engine}");
                assert!(
                    list.iter()
                        .all(|r| [WEEKNIGHTS, WEEKEND_NIGHTS].contains(&r.span.weekdays)),
                    "{engine}"
                );
            }
        }
        // Every night of the catalog has exactly one price per plan.
        let r = &ranges[&room_types[0].id];
        for list in r.rates.values() {
            for d in 0..i64::from(bp.days) {
                let night = bp.first_day + Duration::days(d);
                let covering = list.iter().filter(|r| r.span.covers(night)).count();
                assert_eq!(covering, 1, "{engine}: {night}");
            }
        }
    }
}

#[tokio::test]
async fn search_prices_nights_from_their_rate_plan_and_sees_holds_after_a_refresh() {
    for (engine, store, _) in stores().await {
        let index = index(&store).await;
        let (friday, thursday) = (next(Weekday::Fri), next(Weekday::Thu));
        let stored = store.hotel_ranges(thursday).await.expect(engine);
        let price_of = |night: NaiveDate, plan: i64| {
            stored[&1].rates[&(plan, 0)]
                .iter()
                .find(|r| r.span.covers(night))
                .expect("a rate")
                .value
        };
        let hotel = &index.hotels[index.room_types[0].hotel as usize];
        let (flex, nrf) = (hotel.rate_plans[0].id, hotel.rate_plans[1].id);
        {
            let ranges = index.ranges.read().expect("ranges");
            for night in [friday, thursday] {
                assert_eq!(
                    ranges[0].plans[0].price(2, night),
                    Some(price_of(night, flex))
                );
                assert_eq!(
                    ranges[0].plans[1].price(2, night),
                    Some(price_of(night, nrf))
                );
                assert_eq!(price_of(night, nrf), non_refundable(price_of(night, flex)));
            }
            assert!(
                price_of(friday, flex) > price_of(thursday, flex),
                "{engine}: weekend dearer"
            );
        }
        let capacity = index.night(1, friday).expect("friday").remaining();
        let weeknight = index.night(1, thursday).expect("thursday");

        let since = Utc::now().timestamp_millis();
        store
            .create_hold(
                Uuid::now_v7(),
                &[rooms(1, friday, 2)],
                Utc::now() + Duration::minutes(10),
            )
            .await
            .expect(engine);
        let (capacity_now, sold, held) = store.room_counts(1, friday).await.expect(engine);
        assert_eq!((capacity_now, sold, held), (capacity, 0, 2), "{engine}");
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
            "{engine}: the other nights keep their allotment"
        );
    }
}

#[tokio::test]
async fn ari_changes_rewrite_ranges_and_sold_nights_and_reach_the_index() {
    for (engine, store, _) in stores().await {
        let index = index(&store).await;
        let (friday, thursday) = (next(Weekday::Fri), next(Weekday::Thu));
        let week = Span::new(
            thursday.min(friday),
            thursday.max(friday) + Duration::days(6),
            ALL_WEEKDAYS,
        );
        let hotel = &index.hotels[index.room_types[0].hotel as usize];
        let (flex, nrf) = (hotel.rate_plans[0].id, hotel.rate_plans[1].id);
        store
            .create_hold(
                Uuid::now_v7(),
                &[rooms(1, friday, 3)],
                Utc::now() + Duration::minutes(10),
            )
            .await
            .expect(engine);
        let before = store.generation().await.expect(engine);
        let since = Utc::now().timestamp_millis();
        let change = |rate_plan_id: Option<i64>, set: AriSet| AriChange {
            room_type_id: 1,
            rate_plan_id,
            span: week,
            set,
        };
        store
            .apply_ari(&[
                change(None, AriSet::BookingLimit(4)),
                change(
                    Some(flex),
                    AriSet::Rate {
                        guests: 0,
                        amount: 12_300,
                        currency: "USD".into(),
                    },
                ),
                change(Some(nrf), AriSet::StopSell(true)),
                change(None, AriSet::MinLos(Some(3))),
            ])
            .await
            .expect(engine);
        assert_eq!(
            store.generation().await.expect(engine),
            before + 1,
            "{engine}"
        );
        // Sold and held nights keep their rooms: capacity = held + limit.
        assert_eq!(
            store.room_counts(1, friday).await.expect(engine),
            (7, 0, 3),
            "{engine}"
        );
        assert_eq!(
            store.room_counts(1, thursday).await.expect(engine),
            (4, 0, 0),
            "{engine}"
        );

        index.apply(&store.changed_since(since).await.expect(engine));
        assert_eq!(
            index.night(1, friday).expect("friday").remaining(),
            4,
            "{engine}"
        );
        assert_eq!(
            index.night(1, thursday).expect("thursday").remaining(),
            4,
            "{engine}"
        );
        {
            let ranges = index.ranges.read().expect("ranges");
            let (flex_r, nrf_r) = (&ranges[0].plans[0], &ranges[0].plans[1]);
            assert_eq!(flex_r.price(2, thursday), Some(12_300), "{engine}");
            assert!(nrf_r.restrictions(thursday).stop_sell, "{engine}");
            assert!(!flex_r.restrictions(thursday).stop_sell, "{engine}");
            assert_eq!(
                flex_r.restrictions(thursday).min_los,
                Some(3),
                "{engine}: every plan"
            );
            assert_eq!(nrf_r.restrictions(thursday).min_los, Some(3), "{engine}");
            let after = week.last + Duration::days(1);
            assert_eq!(
                flex_r.restrictions(after).min_los,
                None,
                "{engine}: only the range named"
            );
        }

        // An instruction for a room type we do not have changes nothing at all.
        let generation = store.generation().await.expect(engine);
        let bad = AriChange {
            room_type_id: 999_999,
            ..change(None, AriSet::BookingLimit(1))
        };
        assert!(
            store
                .apply_ari(&[change(None, AriSet::BookingLimit(9)), bad])
                .await
                .is_err(),
            "{engine}"
        );
        assert_eq!(
            store.generation().await.expect(engine),
            generation,
            "{engine}"
        );
        assert_eq!(
            store.room_counts(1, thursday).await.expect(engine),
            (4, 0, 0),
            "{engine}"
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
