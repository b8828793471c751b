//! The booking store contract, on SQLite and (with OTA_TEST_DATABASE_URL) PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ota_booking::domain::{BookingReference, Status};
use ota_booking::store::{BookingStore, Created, NewBooking, Patch, SqlBookingStore, now_ms};
use ota_platform::db::Db;
use ota_platform::idempotency::{
    Claim, IdempotencyKey, IdempotencySettings, IdempotencyStore, RequestHash,
};
use ota_testkit as testkit;
use serde_json::json;
use uuid::Uuid;

async fn databases() -> Vec<Db> {
    testkit::databases(ota_booking::SERVICE, &ota_booking::MIGRATIONS).await
}

async fn stores() -> Vec<(&'static str, SqlBookingStore)> {
    databases()
        .await
        .into_iter()
        .map(|db| (db.engine(), SqlBookingStore::new(db)))
        .collect()
}

mod common;
use common::new_booking;

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

async fn booked(store: &SqlBookingStore, new: &NewBooking) -> ota_booking::store::Booking {
    match store.create(new, 3).await.expect("create") {
        Created::Booked(b) => b,
        other => panic!("not booked: {other:?}"),
    }
}

#[tokio::test]
async fn a_booking_is_written_pending_with_its_items_travellers_and_history() {
    for (engine, store) in stores().await {
        let user = Uuid::now_v7();
        let new = new_booking(user);
        let b = booked(&store, &new).await;
        assert_eq!(b.status, Status::Pending, "{engine}");
        assert_eq!((b.total_amount, b.currency.as_str()), (42_000, "USD"));
        assert_eq!(b.version, 0);
        assert_eq!(
            store.items(b.id).await.expect(engine),
            new.items,
            "{engine}"
        );
        assert_eq!(
            store.travellers(b.id).await.expect(engine),
            new.travellers,
            "{engine}"
        );
        assert_eq!(
            store.by_reference(&b.reference).await.expect(engine),
            Some(b.clone()),
            "{engine}"
        );
        assert_eq!(store.booking(b.id).await.expect(engine), Some(b.clone()));
        assert_eq!(store.booking(Uuid::now_v7()).await.expect(engine), None);

        let held = store
            .advance(&b, Status::Held, &Patch::default(), None)
            .await
            .expect(engine)
            .expect("moved");
        let authorized = store
            .advance(
                &held,
                Status::Authorized,
                &Patch {
                    payment_id: Some("pay-1".into()),
                    payment_status: Some(ota_contract::payment::PaymentStatus::Authorized),
                    ..Patch::default()
                },
                Some("authorised"),
            )
            .await
            .expect(engine)
            .expect("moved");
        assert_eq!(authorized.payment_id.as_deref(), Some("pay-1"));
        assert_eq!(authorized.version, 2, "{engine}");
        let events: Vec<Status> = store
            .events(b.id)
            .await
            .expect(engine)
            .into_iter()
            .map(|e| e.status)
            .collect();
        assert_eq!(
            events,
            [Status::Pending, Status::Held, Status::Authorized],
            "{engine}"
        );
    }
}

#[tokio::test]
async fn references_are_unique_and_collisions_draw_again() {
    for db in databases().await {
        let engine = db.engine();
        // The first two draws collide with the first booking's reference.
        let draws = Arc::new(AtomicUsize::new(0));
        let counter = draws.clone();
        let store = SqlBookingStore::with_references(db, move || {
            match counter.fetch_add(1, Ordering::SeqCst) {
                0..=2 => BookingReference::parse("ABCDEF").expect("a reference"),
                _ => BookingReference::random(&mut rand::rng()),
            }
        });
        let first = booked(&store, &new_booking(Uuid::now_v7())).await;
        assert_eq!(first.reference.as_str(), "ABCDEF", "{engine}");
        let second = booked(&store, &new_booking(Uuid::now_v7())).await;
        assert_ne!(second.reference.as_str(), "ABCDEF", "{engine}");
        assert_eq!(
            draws.load(Ordering::SeqCst),
            4,
            "{engine}: two collisions, one fresh draw"
        );

        let plain = SqlBookingStore::new(store.db().clone());
        let mut seen = HashSet::new();
        for _ in 0..30 {
            let b = booked(&plain, &new_booking(Uuid::now_v7())).await;
            assert!(seen.insert(b.reference), "{engine}: duplicate reference");
        }
    }
}

#[tokio::test]
async fn only_one_of_two_racing_transitions_wins() {
    for (engine, store) in stores().await {
        let b = booked(&store, &new_booking(Uuid::now_v7())).await;
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (store, b) = (store.clone(), b.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .advance(&b, Status::Held, &Patch::default(), None)
                    .await
            }));
        }
        let mut won = 0;
        for t in tasks {
            if t.await.expect("task").expect(engine).is_some() {
                won += 1;
            }
        }
        assert_eq!(won, 1, "{engine}");
        // A stale copy (old status or old version) moves nothing.
        let stale = store
            .advance(&b, Status::Failed, &Patch::default(), None)
            .await
            .expect(engine);
        assert_eq!(stale, None, "{engine}");
        let now = store.booking(b.id).await.expect(engine).expect("there");
        assert_eq!((now.status, now.version), (Status::Held, 1), "{engine}");
    }
}

#[tokio::test]
async fn stuck_bookings_are_claimed_by_exactly_one_worker() {
    for (engine, store) in stores().await {
        let mut ids = HashSet::new();
        for _ in 0..3 {
            ids.insert(booked(&store, &new_booking(Uuid::now_v7())).await.id);
        }
        let settled = booked(&store, &new_booking(Uuid::now_v7())).await;
        let failed = store
            .advance(&settled, Status::Failed, &Patch::default(), None)
            .await
            .expect(engine)
            .expect("moved");
        assert_eq!(failed.status, Status::Failed);

        // Nothing is stuck yet by a threshold in the past.
        assert_eq!(store.count_stuck(now_ms() - 60_000).await.expect(engine), 0);
        assert!(
            store
                .claim_stuck(now_ms() - 60_000, 10)
                .await
                .expect(engine)
                .is_empty()
        );

        // Stuck: their step started before the threshold; a claim restarts the step
        // clock past it, so nobody claims them again.
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let stale_before = now_ms() - 10;
        assert_eq!(
            store.count_stuck(stale_before).await.expect(engine),
            3,
            "{engine}"
        );
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.claim_stuck(stale_before, 10).await
            }));
        }
        let mut claimed = Vec::new();
        for t in tasks {
            claimed.extend(t.await.expect("task").expect(engine));
        }
        let claimed_ids: HashSet<Uuid> = claimed.iter().map(|b| b.id).collect();
        assert_eq!(claimed.len(), 3, "{engine}: each booking claimed once");
        assert_eq!(claimed_ids, ids, "{engine}");
        assert!(claimed.iter().all(|b| b.attempts == 1 && b.version == 1));
        // Claimed, but not settled: still counted as stuck (the gauge must not blink
        // to zero while recovery keeps retrying a booking a dead peer blocks).
        assert_eq!(
            store.count_stuck(stale_before).await.expect(engine),
            3,
            "{engine}"
        );
        assert_eq!(store.count_stuck(now_ms() - 60_000).await.expect(engine), 0);
    }
}

#[tokio::test]
async fn at_most_the_limit_of_bookings_check_out_at_once_per_user() {
    for (engine, store) in stores().await {
        let user = Uuid::now_v7();
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.create(&new_booking(user), 3).await
            }));
        }
        let mut booked_ids = Vec::new();
        let mut refused = 0;
        for t in tasks {
            match t.await.expect("task").expect(engine) {
                Created::Booked(b) => booked_ids.push(b),
                Created::TooManyInFlight => refused += 1,
                other => panic!("{engine}: {other:?}"),
            }
        }
        assert_eq!((booked_ids.len(), refused), (3, 3), "{engine}");
        // Another user is not affected; a settled booking frees a place.
        assert!(matches!(
            store
                .create(&new_booking(Uuid::now_v7()), 3)
                .await
                .expect(engine),
            Created::Booked(_)
        ));
        store
            .advance(&booked_ids[0], Status::Failed, &Patch::default(), None)
            .await
            .expect(engine)
            .expect("moved");
        assert!(matches!(
            store.create(&new_booking(user), 3).await.expect(engine),
            Created::Booked(_)
        ));
    }
}

#[tokio::test]
async fn a_cart_is_claimed_by_one_booking_until_it_fails() {
    for (engine, store) in stores().await {
        let user = Uuid::now_v7();
        let cart = Uuid::now_v7();
        let store = Arc::new(store);
        // Twenty checkouts of one cart at once: exactly one booking, the rest see it.
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut new = new_booking(user);
                new.cart_id = Some(cart);
                store.create(&new, 30).await
            }));
        }
        let mut winners = Vec::new();
        let mut holders = HashSet::new();
        for t in tasks {
            match t.await.expect("task").expect(engine) {
                Created::Booked(b) => winners.push(b),
                Created::CartTaken(h) => {
                    holders.insert(h.id);
                }
                Created::TooManyInFlight => panic!("{engine}: limit"),
            }
        }
        assert_eq!(winners.len(), 1, "{engine}: one cart, one booking");
        assert_eq!(
            holders.into_iter().collect::<Vec<_>>(),
            vec![winners[0].id],
            "{engine}: every refusal names the booking that holds the cart"
        );
        assert_eq!(winners[0].cart_id, Some(cart), "{engine}");
        // A failed booking gives the cart back; the next one takes it.
        store
            .advance(&winners[0], Status::Failed, &Patch::default(), None)
            .await
            .expect(engine)
            .expect("moved");
        let mut retry = new_booking(user);
        retry.cart_id = Some(cart);
        let second = booked(&store, &retry).await;
        // Confirmed uses the cart up: a third checkout of it is refused.
        let held = store
            .advance(&second, Status::Confirmed, &Patch::default(), None)
            .await
            .expect(engine)
            .expect("moved");
        let mut third = new_booking(user);
        third.cart_id = Some(cart);
        match store.create(&third, 30).await.expect(engine) {
            Created::CartTaken(h) => assert_eq!(h.id, held.id, "{engine}"),
            other => panic!("{engine}: {other:?}"),
        }
        // Another cart of the same traveller is free.
        let mut other = new_booking(user);
        other.cart_id = Some(Uuid::now_v7());
        booked(&store, &other).await;
    }
}

#[tokio::test]
async fn a_new_booking_holds_its_checkouts_idempotency_key() {
    // The key contract itself is ota_platform's suite; this checks booking's table and
    // that a booking is tied to the key that created it.
    for db in databases().await {
        let engine = db.engine();
        let store = SqlBookingStore::new(db.clone());
        let keys = IdempotencyStore::new(db, &IdempotencySettings::default());
        let user = Uuid::now_v7();
        let scope = user.to_string();
        let key = IdempotencyKey::parse("k1").expect("key");
        let hash = RequestHash::from_bytes(&[7; 32]);
        let lapsed = chrono::Duration::milliseconds(-1);
        assert_eq!(
            keys.claim_at(&scope, &key, &hash, chrono::Utc::now(), lapsed)
                .await
                .expect(engine),
            Claim::New
        );
        let mut new = new_booking(user);
        new.idempotency_key = Some("k1".to_owned());
        let b = booked(&store, &new).await;
        // However long the saga runs, the key is never taken over: it has a booking.
        assert_eq!(
            keys.claim(&scope, &key, &hash, LEASE).await.expect(engine),
            Claim::InProgress {
                resource: Some(b.id)
            },
            "{engine}"
        );
        let body = json!({"reference": b.reference, "status": "CONFIRMED", "total": {"amount": 42000, "currency": "USD"}});
        keys.complete(&scope, &key, 201, &body).await.expect(engine);
        assert_eq!(
            keys.claim(&scope, &key, &hash, LEASE).await.expect(engine),
            Claim::Replay { status: 201, body },
            "{engine}"
        );
        // Another user's same key is theirs.
        assert_eq!(
            keys.claim(&Uuid::now_v7().to_string(), &key, &hash, LEASE)
                .await
                .expect(engine),
            Claim::New
        );
    }
}

#[tokio::test]
async fn lists_are_newest_first_and_per_user() {
    for (engine, store) in stores().await {
        let user = Uuid::now_v7();
        let mut made = Vec::new();
        for _ in 0..5 {
            let b = booked(&store, &new_booking(user)).await;
            // Keep under the in-flight limit.
            let b = store
                .advance(&b, Status::Failed, &Patch::default(), None)
                .await
                .expect(engine)
                .expect("moved");
            made.push(b.id);
        }
        booked(&store, &new_booking(Uuid::now_v7())).await;
        made.reverse();
        let first = store.list(user, None, 3).await.expect(engine);
        let ids: Vec<Uuid> = first.iter().map(|b| b.id).collect();
        assert_eq!(ids, made[..3], "{engine}");
        let rest = store
            .list(user, first.last().map(|b| b.id), 3)
            .await
            .expect(engine);
        let ids: Vec<Uuid> = rest.iter().map(|b| b.id).collect();
        assert_eq!(ids, made[3..], "{engine}");
    }
}

#[tokio::test]
async fn a_failure_reason_is_stored_as_its_string_and_an_unknown_one_still_reads() {
    use ota_contract::booking::FailureReason;
    for (engine, store) in stores().await {
        let b = booked(&store, &new_booking(Uuid::now_v7())).await;
        let failed = store
            .advance(
                &b,
                Status::Failed,
                &Patch {
                    failure_reason: Some(FailureReason::InsufficientFunds),
                    ..Patch::default()
                },
                Some("insufficient_funds"),
            )
            .await
            .expect(engine)
            .expect("moved");
        assert_eq!(
            failed.failure_reason,
            Some(FailureReason::InsufficientFunds)
        );
        let update = "UPDATE bookings SET failure_reason = $2 WHERE id = $1";
        let stored: (Option<String>,) = ota_platform::on_pool!(store.db(), pool => {
            sqlx::query_as("SELECT failure_reason FROM bookings WHERE id = $1")
                .bind(b.id).fetch_one(pool).await.expect(engine)
        });
        assert_eq!(stored.0.as_deref(), Some("insufficient_funds"), "{engine}");
        // A reason this version does not know (a newer version's) reads as unknown.
        let updated = ota_platform::on_pool!(store.db(), pool => {
            sqlx::query(update).bind(b.id).bind("fraud_suspected").execute(pool).await.expect(engine).rows_affected()
        });
        assert_eq!(updated, 1, "{engine}");
        let read = store.booking(b.id).await.expect(engine).expect("there");
        assert_eq!(
            read.failure_reason,
            Some(FailureReason::Unknown),
            "{engine}"
        );
        assert_eq!(read.status, Status::Failed, "{engine}");
    }
}
