//! Inventory holds on SQLite and (with OTA_TEST_DATABASE_URL) PostgreSQL: all or
//! nothing, idempotent by booking, and never sold + held beyond capacity, however many
//! holds race for the last seats.

use std::sync::Arc;

use chrono::{Duration, Utc};
use ota_search::catalog::Cabin;
use ota_search::seed::{Blueprint, Size};
use ota_search::store::{HoldError, HoldStatus, InventoryItem, SearchStore};
use ota_testkit as testkit;
use uuid::Uuid;

async fn stores() -> Vec<(&'static str, Arc<SearchStore>)> {
    let mut out = Vec::new();
    for db in testkit::databases(ota_search::SERVICE, &ota_search::MIGRATIONS).await {
        let store = SearchStore::new(db.clone());
        let bp = Blueprint::new(Size::Small, Utc::now().date_naive());
        assert!(
            ota_search::seed_blueprint(&store, &bp)
                .await
                .expect("seeded")
        );
        out.push((db.engine(), Arc::new(store)));
    }
    out
}

/// A flight cabin of the seeded catalog, departing in a few days.
async fn some_flight(store: &SearchStore) -> i64 {
    let from = Utc::now().date_naive() + Duration::days(3);
    store.flights(from).await.expect("flights")[0].id
}

fn seats(flight_id: i64, quantity: i32) -> InventoryItem {
    InventoryItem::Seats {
        flight_id,
        cabin: Cabin::Economy,
        quantity,
    }
}

#[tokio::test]
async fn concurrent_holds_never_oversell_the_last_seats() {
    for (engine, store) in stores().await {
        let flight = some_flight(&store).await;
        store
            .set_seat_capacity(flight, Cabin::Economy, 5)
            .await
            .expect(engine);
        let expires = Utc::now() + Duration::minutes(10);
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let quantity = if i % 3 == 0 { 2 } else { 1 };
                    (
                        quantity,
                        store
                            .create_hold(Uuid::now_v7(), &[seats(flight, quantity)], expires)
                            .await,
                    )
                })
            })
            .collect();
        let mut held = 0;
        let mut refused = 0;
        for t in tasks {
            match t.await.expect("task") {
                (q, Ok(h)) => {
                    assert_eq!(h.status, HoldStatus::Held, "{engine}");
                    held += q;
                }
                (_, Err(HoldError::SoldOut(_))) => refused += 1,
                // Write contention may refuse a hold as unavailable: still not oversold.
                (_, Err(HoldError::Store(e))) if e.is_retryable() => refused += 1,
                (_, Err(e)) => panic!("{engine}: unexpected {e:?}"),
            }
        }
        let (capacity, sold, in_holds) = store
            .seat_counts(flight, Cabin::Economy)
            .await
            .expect(engine);
        assert_eq!(capacity, 5, "{engine}");
        assert_eq!(
            sold + in_holds,
            held,
            "{engine}: counters match the holds granted"
        );
        assert!(held <= 5, "{engine}: {held} seats held of 5");
        assert!(held >= 4, "{engine}: only {held} of 5 seats were held");
        assert!(refused > 0, "{engine}");
    }
}

#[tokio::test]
async fn a_hold_is_all_or_nothing() {
    for (engine, store) in stores().await {
        let flight = some_flight(&store).await;
        let other = store
            .flights(Utc::now().date_naive() + Duration::days(4))
            .await
            .expect(engine)[1]
            .id;
        store
            .set_seat_capacity(other, Cabin::Economy, 1)
            .await
            .expect(engine);
        let result = store
            .create_hold(
                Uuid::now_v7(),
                &[seats(flight, 1), seats(other, 2)],
                Utc::now() + Duration::minutes(5),
            )
            .await;
        assert!(
            matches!(result, Err(HoldError::SoldOut(InventoryItem::Seats { flight_id, .. })) if flight_id == other),
            "{engine}: {result:?}"
        );
        // The first item's seat was given back when the second failed.
        let (_, sold, held) = store
            .seat_counts(flight, Cabin::Economy)
            .await
            .expect(engine);
        assert_eq!((sold, held), (0, 0), "{engine}");
        let unknown = store
            .create_hold(
                Uuid::now_v7(),
                &[seats(-1, 1)],
                Utc::now() + Duration::minutes(5),
            )
            .await;
        assert!(matches!(unknown, Err(HoldError::Unknown(_))), "{engine}");
    }
}

#[tokio::test]
async fn the_same_booking_holds_once_however_often_it_asks() {
    for (engine, store) in stores().await {
        let flight = some_flight(&store).await;
        let booking = Uuid::now_v7();
        let expires = Utc::now() + Duration::minutes(5);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .create_hold(booking, &[seats(flight, 2)], expires)
                        .await
                })
            })
            .collect();
        for t in tasks {
            match t.await.expect("task") {
                Ok(h) => assert_eq!(h.booking_id, booking, "{engine}"),
                Err(HoldError::Store(e)) if e.is_retryable() => {}
                Err(e) => panic!("{engine}: {e:?}"),
            }
        }
        let (_, sold, held) = store
            .seat_counts(flight, Cabin::Economy)
            .await
            .expect(engine);
        assert_eq!(
            (sold, held),
            (0, 2),
            "{engine}: held once, not once per call"
        );
        assert_eq!(
            store.hold_items(booking).await.expect(engine),
            vec![seats(flight, 2)],
            "{engine}"
        );
    }
}

#[tokio::test]
async fn commit_sells_release_gives_back_and_both_are_idempotent() {
    for (engine, store) in stores().await {
        let flight = some_flight(&store).await;
        let night = Utc::now().date_naive() + Duration::days(5);
        let rooms = InventoryItem::Rooms {
            room_type_id: 1,
            night,
            quantity: 1,
        };
        let booking = Uuid::now_v7();
        store
            .create_hold(
                booking,
                &[seats(flight, 2), rooms.clone()],
                Utc::now() + Duration::minutes(5),
            )
            .await
            .expect(engine);
        assert_eq!(
            store.commit_hold(booking).await.expect(engine).status,
            HoldStatus::Committed,
            "{engine}"
        );
        assert_eq!(
            store.commit_hold(booking).await.expect(engine).status,
            HoldStatus::Committed,
            "{engine}"
        );
        assert_eq!(
            store
                .seat_counts(flight, Cabin::Economy)
                .await
                .expect(engine)
                .1,
            2,
            "{engine}: sold"
        );
        assert_eq!(
            store.room_counts(1, night).await.expect(engine).1,
            1,
            "{engine}: room sold"
        );

        // A cancellation releases sold inventory; twice changes nothing.
        assert_eq!(
            store.release_hold(booking).await.expect(engine).status,
            HoldStatus::Released,
            "{engine}"
        );
        assert_eq!(
            store.release_hold(booking).await.expect(engine).status,
            HoldStatus::Released,
            "{engine}"
        );
        let (_, sold, held) = store
            .seat_counts(flight, Cabin::Economy)
            .await
            .expect(engine);
        assert_eq!((sold, held), (0, 0), "{engine}");
        let (_, sold, held) = store.room_counts(1, night).await.expect(engine);
        assert_eq!((sold, held), (0, 0), "{engine}");
        assert!(
            matches!(
                store.commit_hold(booking).await,
                Err(HoldError::NotActive(HoldStatus::Released))
            ),
            "{engine}"
        );
        assert!(
            matches!(
                store.commit_hold(Uuid::now_v7()).await,
                Err(HoldError::Store(ota_platform::StoreError::NotFound))
            ),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn expired_holds_cannot_be_committed_and_are_swept() {
    for (engine, store) in stores().await {
        let flight = some_flight(&store).await;
        let booking = Uuid::now_v7();
        store
            .create_hold(
                booking,
                &[seats(flight, 3)],
                Utc::now() - Duration::seconds(1),
            )
            .await
            .expect(engine);
        assert!(
            matches!(
                store.commit_hold(booking).await,
                Err(HoldError::NotActive(HoldStatus::Held))
            ),
            "{engine}"
        );
        assert_eq!(store.sweep_expired().await.expect(engine), 1, "{engine}");
        assert_eq!(store.sweep_expired().await.expect(engine), 0, "{engine}");
        assert_eq!(
            store.hold(booking).await.expect(engine).map(|h| h.status),
            Some(HoldStatus::Released),
            "{engine}"
        );
        let (_, sold, held) = store
            .seat_counts(flight, Cabin::Economy)
            .await
            .expect(engine);
        assert_eq!((sold, held), (0, 0), "{engine}");
    }
}
