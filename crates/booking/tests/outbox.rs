//! The transactional outbox, on SQLite and (with OTA_TEST_DATABASE_URL) PostgreSQL:
//! events written with the state change they report and only then, deliveries taken by
//! one dispatcher at a time, retried, given up, and never lost to a dispatcher that
//! dies mid-attempt.

use std::collections::HashSet;
use std::sync::Arc;

use ota_booking::domain::Status;
use ota_booking::outbox::{EMAIL, EventKind};
use ota_booking::store::outbox::Outcome;
use ota_booking::store::{Booking, BookingStore, Created, Patch, SqlBookingStore, now_ms};
use ota_testkit as testkit;
use uuid::Uuid;

mod common;
use common::new_booking;

async fn stores() -> Vec<(&'static str, Arc<SqlBookingStore>)> {
    testkit::databases(ota_booking::SERVICE, &ota_booking::MIGRATIONS)
        .await
        .into_iter()
        .map(|db| (db.engine(), Arc::new(SqlBookingStore::new(db))))
        .collect()
}

async fn booked(store: &SqlBookingStore) -> Booking {
    match store
        .create(&new_booking(Uuid::now_v7()), 3)
        .await
        .expect("create")
    {
        Created::Booked(b) => b,
        other => panic!("not booked: {other:?}"),
    }
}

async fn to(store: &SqlBookingStore, b: &Booking, status: Status, patch: Patch) -> Booking {
    store
        .advance(b, status, &patch, None)
        .await
        .expect("advance")
        .expect("moved")
}

async fn confirmed(store: &SqlBookingStore) -> Booking {
    let b = booked(store).await;
    let held = to(store, &b, Status::Held, Patch::default()).await;
    let authorized = to(
        store,
        &held,
        Status::Authorized,
        Patch {
            payment_id: Some("pay-1".into()),
            payment_status: Some(ota_contract::payment::PaymentStatus::Authorized),
            ..Patch::default()
        },
    )
    .await;
    to(
        store,
        &authorized,
        Status::Confirmed,
        Patch {
            payment_status: Some(ota_contract::payment::PaymentStatus::Captured),
            ..Patch::default()
        },
    )
    .await
}

fn kinds(events: &[ota_booking::store::outbox::StoredEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn an_event_is_written_with_the_change_it_reports_and_only_by_the_worker_that_made_it() {
    for (engine, store) in stores().await {
        let b = confirmed(&store).await;
        let events = store.booking_events_out(b.id).await.expect(engine);
        assert_eq!(kinds(&events), ["booking.confirmed"], "{engine}");
        assert_eq!(events[0].status, "CONFIRMED");
        assert_eq!(events[0].payment_status.as_deref(), Some("captured"));
        assert_eq!(events[0].user_id, b.user_id);

        // A worker that read the booking before the change loses the race and writes
        // no second event.
        let stale = b.clone();
        let cancelling = to(
            &store,
            &b,
            Status::Cancelling,
            Patch {
                refund_amount: Some(12_000),
                ..Patch::default()
            },
        )
        .await;
        assert!(
            store
                .advance(&stale, Status::Cancelling, &Patch::default(), None)
                .await
                .expect(engine)
                .is_none()
        );
        to(&store, &cancelling, Status::Cancelled, Patch::default()).await;
        let events = store.booking_events_out(b.id).await.expect(engine);
        assert_eq!(
            kinds(&events),
            ["booking.confirmed", "booking.cancelled", "refund.succeeded"],
            "{engine}"
        );
        assert_eq!(events[2].refund_amount, Some(12_000));

        // A failure is an event; intermediate steps are not.
        let failed = booked(&store).await;
        let held = to(&store, &failed, Status::Held, Patch::default()).await;
        to(&store, &held, Status::Failed, Patch::default()).await;
        let events = store.booking_events_out(failed.id).await.expect(engine);
        assert_eq!(kinds(&events), ["booking.failed"], "{engine}");
    }
}

#[tokio::test]
async fn two_dispatchers_never_take_the_same_delivery_and_a_delivered_one_is_done() {
    for (engine, store) in stores().await {
        let mut ids = HashSet::new();
        for _ in 0..12 {
            ids.insert(confirmed(&store).await.id);
        }
        let now = now_ms();
        // Two dispatchers sweep at once until nothing is due.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        loop {
            let (x, y) = tokio::join!(
                store.claim_due(now, 60_000, 8),
                store.claim_due(now, 60_000, 8)
            );
            let (x, y) = (x.expect(engine), y.expect(engine));
            if x.is_empty() && y.is_empty() {
                break;
            }
            a.extend(x);
            b.extend(y);
        }
        assert_eq!(
            a.len() + b.len(),
            12,
            "{engine}: every due delivery taken once"
        );
        let taken: HashSet<Uuid> = a.iter().chain(&b).map(|d| d.event_id).collect();
        assert_eq!(taken.len(), 12, "{engine}: none taken twice");
        assert!(
            a.iter()
                .chain(&b)
                .all(|d| d.attempt == 1 && d.channel == EMAIL)
        );
        assert!(
            a.iter()
                .chain(&b)
                .all(|d| ids.contains(&d.event.booking_id))
        );
        // Taken and not yet recorded: nobody else takes them inside the lease.
        assert!(
            store
                .claim_due(now, 60_000, 50)
                .await
                .expect(engine)
                .is_empty()
        );
        for d in a.iter().chain(&b) {
            store.record(d, &Outcome::Delivered).await.expect(engine);
        }
        // Delivered: never again, even after the lease.
        assert!(
            store
                .claim_due(now + 3_600_000, 60_000, 50)
                .await
                .expect(engine)
                .is_empty(),
            "{engine}"
        );
        let counts = store.outbox_counts().await.expect(engine);
        assert!(
            counts.pending.is_empty() && counts.dead.is_empty(),
            "{engine}: {counts:?}"
        );
    }
}

#[tokio::test]
async fn a_failed_attempt_is_retried_when_due_and_a_crashed_one_after_its_lease() {
    for (engine, store) in stores().await {
        let b = confirmed(&store).await;
        let now = now_ms();
        let first = store.claim_due(now, 60_000, 10).await.expect(engine);
        assert_eq!(first.len(), 1, "{engine}");
        store
            .record(
                &first[0],
                &Outcome::Retry {
                    due_ms: now + 5_000,
                    error: "SMTP: connection refused".into(),
                },
            )
            .await
            .expect(engine);
        assert!(
            store
                .claim_due(now + 4_000, 60_000, 10)
                .await
                .expect(engine)
                .is_empty()
        );
        let counts = store.outbox_counts().await.expect(engine);
        assert_eq!(
            counts.pending,
            [(EMAIL.to_owned(), "booking.confirmed".to_owned(), 1)],
            "{engine}"
        );
        // A rate limit defers the attempt without spending it or logging a failure.
        let limited = store
            .claim_due(now + 5_000, 60_000, 10)
            .await
            .expect(engine);
        assert_eq!(limited[0].attempt, 2);
        store
            .record(
                &limited[0],
                &Outcome::Deferred {
                    due_ms: now + 5_000,
                },
            )
            .await
            .expect(engine);
        // Due again: the second attempt. Its dispatcher "dies" (never records).
        let second = store
            .claim_due(now + 5_000, 60_000, 10)
            .await
            .expect(engine);
        assert_eq!(second.len(), 1);
        assert_eq!(
            (second[0].event_id, second[0].attempt),
            (first[0].event_id, 2)
        );
        assert!(
            store
                .claim_due(now + 64_000, 60_000, 10)
                .await
                .expect(engine)
                .is_empty()
        );
        // After the lease another dispatcher takes it over: nothing is lost.
        let third = store
            .claim_due(now + 65_001, 60_000, 10)
            .await
            .expect(engine);
        assert_eq!(
            (third[0].event_id, third[0].attempt),
            (first[0].event_id, 3)
        );
        // The dead dispatcher's late report does not undo the newer attempt's claim.
        store
            .record(&second[0], &Outcome::Delivered)
            .await
            .expect(engine);
        store
            .record(
                &third[0],
                &Outcome::Dead {
                    error: "SMTP: mailbox unavailable".into(),
                },
            )
            .await
            .expect(engine);
        let counts = store.outbox_counts().await.expect(engine);
        assert_eq!(
            counts.dead,
            [(EMAIL.to_owned(), "booking.confirmed".to_owned(), 1)],
            "{engine}"
        );
        assert!(
            store
                .claim_due(now + 10_000_000, 60_000, 10)
                .await
                .expect(engine)
                .is_empty()
        );
        let log = store.attempts(b.id).await.expect(engine);
        let outcomes: Vec<(i32, bool)> = log.iter().map(|a| (a.attempt, a.ok)).collect();
        assert_eq!(outcomes, [(1, false), (2, true), (3, false)], "{engine}");
        assert_eq!(log[0].detail.as_deref(), Some("SMTP: connection refused"));
        assert_eq!(EventKind::parse(&log[0].kind), Some(EventKind::Confirmed));

        // An operator lists the dead delivery and, the cause fixed, makes it due again
        // with a fresh retry window.
        let dead = store.dead_deliveries(10).await.expect(engine);
        assert_eq!(dead.len(), 1, "{engine}");
        assert_eq!(
            (
                dead[0].event_id,
                dead[0].reference.as_str(),
                dead[0].attempts
            ),
            (first[0].event_id, b.reference.as_str(), 3)
        );
        assert_eq!(
            dead[0].last_error.as_deref(),
            Some("SMTP: mailbox unavailable")
        );
        assert_eq!(
            store
                .requeue_dead(Some(Uuid::now_v7()), now)
                .await
                .expect(engine),
            0
        );
        let later = now + 20_000_000;
        assert_eq!(
            store
                .requeue_dead(Some(first[0].event_id), later)
                .await
                .expect(engine),
            1
        );
        let again = store.claim_due(later, 60_000, 10).await.expect(engine);
        assert_eq!(
            (again[0].event_id, again[0].attempt, again[0].created_ms),
            (first[0].event_id, 4, later)
        );
        store
            .record(&again[0], &Outcome::Delivered)
            .await
            .expect(engine);
        assert!(store.dead_deliveries(10).await.expect(engine).is_empty());
    }
}

#[tokio::test]
async fn a_reminder_is_written_once_two_days_before_the_trip_and_only_for_a_live_booking() {
    for (engine, store) in stores().await {
        // The flight of `new_booking` leaves in four days; "now" is a day before it.
        let b = confirmed(&store).await;
        let cancelled_one = confirmed(&store).await;
        let c = to(&store, &cancelled_one, Status::Cancelling, Patch::default()).await;
        to(&store, &c, Status::Cancelled, Patch::default()).await;
        let two_days = chrono::Duration::hours(48);
        let too_early = chrono::Utc::now() + chrono::Duration::hours(12);
        assert_eq!(
            store
                .write_reminders(too_early, two_days)
                .await
                .expect(engine),
            0,
            "{engine}"
        );
        let now = chrono::Utc::now() + chrono::Duration::days(3);
        let (x, y) = tokio::join!(
            store.write_reminders(now, two_days),
            store.write_reminders(now, two_days)
        );
        assert_eq!(
            x.expect(engine) + y.expect(engine),
            1,
            "{engine}: one reminder, one booking"
        );
        assert_eq!(store.write_reminders(now, two_days).await.expect(engine), 0);
        let events = store.booking_events_out(b.id).await.expect(engine);
        assert_eq!(
            kinds(&events),
            ["booking.confirmed", "booking.reminder"],
            "{engine}"
        );
        let events = store
            .booking_events_out(cancelled_one.id)
            .await
            .expect(engine);
        assert!(!kinds(&events).contains(&"booking.reminder"), "{engine}");
        // Booked less than the reminder's lead before it starts: the confirmation was
        // enough.
        let fresh = confirmed(&store).await;
        let late = chrono::Utc::now() + chrono::Duration::days(3);
        assert_eq!(
            store
                .write_reminders(late, chrono::Duration::hours(100))
                .await
                .expect(engine),
            0,
            "{engine}"
        );
        let events = store.booking_events_out(fresh.id).await.expect(engine);
        assert_eq!(kinds(&events), ["booking.confirmed"], "{engine}");
        // Its e-mail is due like any other.
        let due = store.claim_due(now_ms(), 60_000, 50).await.expect(engine);
        assert!(
            due.iter()
                .any(|d| d.event.kind == EventKind::Reminder && d.event.booking_id == b.id),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_schedule_change_is_one_event_per_booking_and_change_and_only_for_a_confirmed_booking() {
    for (engine, store) in stores().await {
        let live = confirmed(&store).await;
        let pending = booked(&store).await;
        let change = |seq: i64, booking: Uuid| ota_contract::search::ScheduleChange {
            seq,
            booking_id: booking,
            flight: "OT101".into(),
            flight_date: chrono::NaiveDate::from_ymd_opt(2030, 11, 4).expect("a date"),
            origin: "LHR".into(),
            change: ota_contract::search::LegChange::Cancelled,
        };
        assert_eq!(store.schedule_changes_cursor().await.expect(engine), 0);
        let feed = [change(7, live.id), change(8, pending.id)];
        // Two dispatchers read the same changes at once: one event each, no more.
        let (a, b) = tokio::join!(
            store.write_schedule_changes(&feed),
            store.write_schedule_changes(&feed)
        );
        assert_eq!(a.expect(engine) + b.expect(engine), 1, "{engine}");
        assert_eq!(store.write_schedule_changes(&feed).await.expect(engine), 0);
        let events = store.booking_events_out(live.id).await.expect(engine);
        assert_eq!(
            kinds(&events),
            ["booking.confirmed", "booking.schedule_changed"],
            "{engine}"
        );
        let detail: serde_json::Value =
            serde_json::from_str(events[1].detail.as_deref().expect("a detail")).expect(engine);
        assert_eq!(detail["flight"], "OT101", "{engine}");
        assert_eq!(detail["change"], "cancelled", "{engine}");
        assert!(
            store
                .booking_events_out(pending.id)
                .await
                .expect(engine)
                .is_empty(),
            "{engine}: a booking not yet confirmed hears nothing"
        );
        // The feed's cursor moved past both; a later change of the same booking is news.
        assert_eq!(store.schedule_changes_cursor().await.expect(engine), 8);
        assert_eq!(
            store
                .write_schedule_changes(&[change(9, live.id)])
                .await
                .expect(engine),
            1
        );
        let due = store.claim_due(now_ms(), 60_000, 10).await.expect(engine);
        let changed: Vec<_> = due
            .iter()
            .filter(|d| d.event.kind == EventKind::ScheduleChanged)
            .map(|d| d.channel.as_str())
            .collect();
        assert_eq!(
            changed,
            [EMAIL, EMAIL],
            "{engine}: each event's e-mail is due"
        );
    }
}
