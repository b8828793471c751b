//! The checkout saga against fake peers on a real store (both engines): every step,
//! every refusal, and recovery after a peer died mid-saga. The end-to-end version of
//! these runs in crates/ota/tests/system/booking.rs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ota_booking::cart::{Cart, Carts};
use ota_booking::domain::{ItemKind, Status};
use ota_booking::payment::Payments;
use ota_booking::saga::Saga;
use ota_booking::search::{Inventory, OfferTerms};
use ota_booking::store::{Booking, BookingStore, Created, SqlBookingStore, now_ms};
use ota_contract::booking::FailureReason;
use ota_contract::payment::{
    AuthorizeRequest as Authorization, DeclineCode, PaymentStatus, PaymentView as Payment,
};
use ota_platform::client::PeerError;
use ota_platform::money::Money;
use ota_testkit as testkit;
use serde_json::json;
use uuid::Uuid;

mod common;

fn refused(peer: &str, status: u16, body: serde_json::Value) -> PeerError {
    PeerError::Status {
        peer: peer.to_owned(),
        status,
        body,
    }
}

fn down(peer: &str) -> PeerError {
    PeerError::Unavailable {
        peer: peer.to_owned(),
        reason: "connection failed".to_owned(),
    }
}

#[derive(Default)]
struct Shelf {
    /// booking id → "held" | "committed" | "released"
    holds: HashMap<Uuid, &'static str>,
    sold_out: bool,
    down: bool,
    commit_down: bool,
    expire_holds: bool,
}

#[derive(Default)]
struct FakeInventory(Mutex<Shelf>);

impl FakeInventory {
    fn hold_of(&self, id: Uuid) -> Option<&'static str> {
        self.0.lock().expect("lock").holds.get(&id).copied()
    }
    fn set(&self, f: impl FnOnce(&mut Shelf)) {
        f(&mut self.0.lock().expect("lock"));
    }
}

#[async_trait]
impl Inventory for FakeInventory {
    async fn offer(&self, _: &str) -> Result<OfferTerms, PeerError> {
        Ok(OfferTerms {
            kind: ItemKind::Hotel,
            total: Money::new(100, "USD"),
            refundable: false,
            refund_until: None,
            starts_at: None,
            travel_date: None,
            passengers: None,
            rooms: Some(1),
            summary: String::new(),
            itinerary: None,
        })
    }
    async fn hold(&self, id: Uuid, _: &str, _: &[String], _: i64) -> Result<(), PeerError> {
        let mut s = self.0.lock().expect("lock");
        if s.down {
            return Err(down("search"));
        }
        if s.holds.contains_key(&id) {
            return Ok(());
        }
        if s.sold_out {
            return Err(refused("search", 409, json!({"offer_id": "offer-flight"})));
        }
        s.holds.insert(id, "held");
        Ok(())
    }
    async fn commit(&self, id: Uuid) -> Result<(), PeerError> {
        let mut s = self.0.lock().expect("lock");
        if s.down || s.commit_down {
            return Err(down("search"));
        }
        let expire = s.expire_holds;
        match s.holds.get_mut(&id) {
            None => Err(refused("search", 404, json!({}))),
            Some(h) if *h == "committed" => Ok(()),
            Some(h) if *h == "released" || expire => Err(refused("search", 409, json!({}))),
            Some(h) => {
                *h = "committed";
                Ok(())
            }
        }
    }
    async fn release(&self, id: Uuid) -> Result<(), PeerError> {
        let mut s = self.0.lock().expect("lock");
        if s.down {
            return Err(down("search"));
        }
        match s.holds.get_mut(&id) {
            None => Err(refused("search", 404, json!({}))),
            Some(h) => {
                *h = "released";
                Ok(())
            }
        }
    }
}

#[derive(Default)]
struct Till {
    payments: HashMap<String, Payment>,
    /// idempotency key → payment id, so a retried call answers the first result.
    keys: HashMap<String, String>,
    decline: Option<&'static str>,
    down: bool,
    /// Authorise, but lose the answer (a timeout after the provider said yes).
    lose_authorize_answer: bool,
    /// And go down right after (the lookup fails too).
    down_after_authorize: bool,
    /// The provider fails every authorisation (payment-service answers 503).
    authorize_down: bool,
    captures: usize,
    refunds: usize,
    abandoned: usize,
}

#[derive(Default)]
struct FakePayments(Mutex<Till>);

/// A payment as payment-service answers it, nothing captured or refunded yet.
fn payment(a: &Authorization, status: PaymentStatus, decline_code: Option<DeclineCode>) -> Payment {
    let zero = Money::new(0, &a.amount.currency);
    Payment {
        id: Uuid::now_v7(),
        status,
        amount: a.amount.clone(),
        captured: zero.clone(),
        refunded: zero,
        booking_reference: a.booking_reference.clone(),
        user_id: a.user_id,
        payment_method_id: Uuid::nil(),
        decline_code,
        created_at: String::new(),
        updated_at: String::new(),
        card: None,
    }
}

impl FakePayments {
    fn set(&self, f: impl FnOnce(&mut Till)) {
        f(&mut self.0.lock().expect("lock"));
    }
    fn get<T>(&self, f: impl FnOnce(&Till) -> T) -> T {
        f(&self.0.lock().expect("lock"))
    }
}

#[async_trait]
impl Payments for FakePayments {
    async fn authorize(&self, a: &Authorization) -> Result<Payment, PeerError> {
        let mut t = self.0.lock().expect("lock");
        if t.down {
            return Err(down("payment"));
        }
        if t.authorize_down && !t.keys.contains_key(&a.idempotency_key) {
            return Err(down("payment"));
        }
        if let Some(id) = t.keys.get(&a.idempotency_key) {
            return Ok(t.payments[id].clone());
        }
        let status = if t.decline.is_some() {
            PaymentStatus::Declined
        } else {
            PaymentStatus::Authorized
        };
        let p = payment(a, status, t.decline.and_then(DeclineCode::parse));
        let id = p.id.to_string();
        t.payments.insert(id.clone(), p.clone());
        t.keys.insert(a.idempotency_key.clone(), id);
        if let Some(code) = t.decline {
            return Err(refused("payment", 402, json!({"decline_code": code})));
        }
        if t.lose_authorize_answer {
            t.lose_authorize_answer = false;
            t.down = t.down_after_authorize;
            return Err(down("payment"));
        }
        Ok(p)
    }
    async fn capture(&self, id: &str, _: &str) -> Result<Payment, PeerError> {
        let mut t = self.0.lock().expect("lock");
        if t.down {
            return Err(down("payment"));
        }
        let p = t
            .payments
            .get_mut(id)
            .ok_or_else(|| refused("payment", 404, json!({})))?;
        match p.status {
            PaymentStatus::Authorized => {
                p.status = PaymentStatus::Captured;
                p.captured = p.amount.clone();
            }
            PaymentStatus::Captured => return Ok(p.clone()),
            _ => return Err(refused("payment", 409, json!({}))),
        }
        let p = p.clone();
        t.captures += 1;
        Ok(p)
    }
    async fn void(&self, id: &str, _: &str) -> Result<Payment, PeerError> {
        let mut t = self.0.lock().expect("lock");
        if t.down {
            return Err(down("payment"));
        }
        let p = t
            .payments
            .get_mut(id)
            .ok_or_else(|| refused("payment", 404, json!({})))?;
        match p.status {
            PaymentStatus::Authorized | PaymentStatus::Voided => p.status = PaymentStatus::Voided,
            _ => return Err(refused("payment", 409, json!({}))),
        }
        Ok(p.clone())
    }
    async fn refund(&self, id: &str, key: &str, amount: &Money) -> Result<Payment, PeerError> {
        let mut t = self.0.lock().expect("lock");
        if t.down {
            return Err(down("payment"));
        }
        if t.keys.contains_key(key) {
            return Ok(t.payments[id].clone());
        }
        let p = t
            .payments
            .get_mut(id)
            .ok_or_else(|| refused("payment", 404, json!({})))?;
        let refunded = p.refunded.amount + amount.amount;
        if p.status != PaymentStatus::Captured || refunded > p.amount.amount {
            return Err(refused("payment", 409, json!({})));
        }
        p.refunded = Money::new(refunded, &amount.currency);
        p.status = if refunded == p.amount.amount {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        };
        let p = p.clone();
        t.keys.insert(key.to_owned(), id.to_owned());
        t.refunds += 1;
        Ok(p)
    }
    async fn payment(&self, id: &str) -> Result<Payment, PeerError> {
        let t = self.0.lock().expect("lock");
        if t.down {
            return Err(down("payment"));
        }
        t.payments
            .get(id)
            .cloned()
            .ok_or_else(|| refused("payment", 404, json!({})))
    }
    async fn abandon(&self, a: &Authorization) -> Result<Payment, PeerError> {
        let mut t = self.0.lock().expect("lock");
        if t.down {
            return Err(down("payment"));
        }
        if let Some(id) = t.keys.get(&a.idempotency_key) {
            return Ok(t.payments[id].clone());
        }
        let p = payment(a, PaymentStatus::Voided, None);
        let id = p.id.to_string();
        t.payments.insert(id.clone(), p.clone());
        t.keys.insert(a.idempotency_key.clone(), id);
        t.abandoned += 1;
        Ok(p)
    }
    async fn for_booking(&self, reference: &str) -> Result<Vec<Payment>, PeerError> {
        let t = self.0.lock().expect("lock");
        if t.down {
            return Err(down("payment"));
        }
        Ok(t.payments
            .values()
            .filter(|p| p.booking_reference == reference)
            .cloned()
            .collect())
    }
}

#[derive(Default)]
struct FakeCarts(Mutex<Vec<Uuid>>);

#[async_trait]
impl Carts for FakeCarts {
    async fn cart(&self, _: Uuid) -> Result<Cart, PeerError> {
        Ok(Cart {
            cart_id: None,
            items: Vec::new(),
            total: Money::new(0, "USD"),
            expires_at: "2026-12-01T10:20:00+00:00".to_owned(),
            currency: "USD".to_owned(),
        })
    }
    async fn checked_out(
        &self,
        user: Uuid,
        _: Option<Uuid>,
        _: &[String],
    ) -> Result<(), PeerError> {
        self.0.lock().expect("lock").push(user);
        Ok(())
    }
}

struct World {
    engine: &'static str,
    saga: Saga,
    store: Arc<SqlBookingStore>,
    inventory: Arc<FakeInventory>,
    payments: Arc<FakePayments>,
    carts: Arc<FakeCarts>,
}

async fn worlds() -> Vec<World> {
    testkit::databases(ota_booking::SERVICE, &ota_booking::MIGRATIONS)
        .await
        .into_iter()
        .map(|db| {
            let engine = db.engine();
            let store = Arc::new(SqlBookingStore::new(db));
            let inventory = Arc::new(FakeInventory::default());
            let payments = Arc::new(FakePayments::default());
            let carts = Arc::new(FakeCarts::default());
            World {
                engine,
                saga: Saga {
                    store: store.clone(),
                    inventory: inventory.clone(),
                    payments: payments.clone(),
                    carts: carts.clone(),
                },
                store,
                inventory,
                payments,
                carts,
            }
        })
        .collect()
}

impl World {
    async fn pending(&self) -> Booking {
        match self
            .store
            .create(&common::new_booking(Uuid::now_v7()), 3)
            .await
            .expect(self.engine)
        {
            Created::Booked(b) => b,
            other => panic!("not booked: {other:?}"),
        }
    }

    async fn history(&self, b: &Booking) -> Vec<Status> {
        self.store
            .events(b.id)
            .await
            .expect(self.engine)
            .into_iter()
            .map(|e| e.status)
            .collect()
    }

    /// Recovers everything stuck right now (the threshold in the future).
    async fn recover_all(&self) -> usize {
        let timing = ota_booking::recovery::RecoveryTiming {
            period: std::time::Duration::from_secs(1),
            stuck_after: std::time::Duration::from_millis(0),
        };
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        ota_booking::recovery::sweep(&self.saga, timing).await
    }
}

#[tokio::test]
async fn a_checkout_holds_authorises_commits_captures_and_clears_the_cart() {
    for w in worlds().await {
        let l = w.engine;
        let b = w.pending().await;
        let done = w.saga.checkout(b.clone()).await.expect(l);
        assert_eq!(done.status, Status::Confirmed, "{l}");
        assert_eq!(done.payment_status, Some(PaymentStatus::Captured), "{l}");
        assert_eq!(w.inventory.hold_of(b.id), Some("committed"), "{l}");
        assert_eq!(w.payments.get(|t| t.captures), 1, "{l}");
        assert_eq!(*w.carts.0.lock().expect("lock"), vec![b.user_id], "{l}");
        assert_eq!(
            w.history(&b).await,
            [
                Status::Pending,
                Status::Held,
                Status::Authorized,
                Status::Confirmed
            ],
            "{l}"
        );
        // Running it again changes nothing.
        let again = w.saga.checkout(done.clone()).await.expect(l);
        assert_eq!(again, done, "{l}");
        assert_eq!(w.payments.get(|t| t.captures), 1, "{l}");

        // Cancel: refund then release; twice changes nothing.
        let cancelled = w.saga.cancel(&done, 30_000).await.expect(l);
        assert_eq!(cancelled.status, Status::Cancelled, "{l}");
        assert_eq!(cancelled.refund_amount, Some(30_000));
        assert_eq!(
            cancelled.payment_status,
            Some(PaymentStatus::PartiallyRefunded)
        );
        assert_eq!(w.inventory.hold_of(b.id), Some("released"), "{l}");
        let twice = w.saga.cancel(&done, 30_000).await.expect(l);
        assert_eq!(twice.status, Status::Cancelled, "{l}");
        assert_eq!(w.payments.get(|t| t.refunds), 1, "{l}");
    }
}

#[tokio::test]
async fn a_declined_card_releases_the_hold_and_fails_without_charge() {
    for w in worlds().await {
        let l = w.engine;
        w.payments.set(|t| t.decline = Some("insufficient_funds"));
        let b = w.pending().await;
        let done = w.saga.checkout(b.clone()).await.expect(l);
        assert_eq!(done.status, Status::Failed, "{l}");
        assert_eq!(
            done.failure_reason.map(FailureReason::as_str),
            Some("insufficient_funds")
        );
        assert_eq!(w.inventory.hold_of(b.id), Some("released"), "{l}");
        assert_eq!(w.payments.get(|t| t.captures), 0, "{l}");
        assert!(
            w.carts.0.lock().expect("lock").is_empty(),
            "{l}: the cart stays"
        );
    }
}

#[tokio::test]
async fn sold_out_fails_before_any_payment() {
    for w in worlds().await {
        let l = w.engine;
        w.inventory.set(|s| s.sold_out = true);
        let b = w.pending().await;
        let done = w.saga.checkout(b.clone()).await.expect(l);
        assert_eq!(done.status, Status::Failed, "{l}");
        assert_eq!(
            done.failure_reason.map(FailureReason::as_str),
            Some("sold_out")
        );
        assert!(w.payments.get(|t| t.payments.is_empty()), "{l}");
    }
}

#[tokio::test]
async fn a_lost_authorisation_is_found_by_reference() {
    for w in worlds().await {
        let l = w.engine;
        // The provider authorised but the answer never came back: the saga looks the
        // payment up by reference and carries on.
        w.payments.set(|t| t.lose_authorize_answer = true);
        let b = w.pending().await;
        let done = w.saga.checkout(b).await.expect(l);
        assert_eq!(done.status, Status::Confirmed, "{l}");
        assert_eq!(w.payments.get(|t| t.captures), 1, "{l}");
    }
}

#[tokio::test]
async fn a_payment_peer_dying_after_authorising_leaves_the_booking_to_recovery_which_confirms() {
    for w in worlds().await {
        let l = w.engine;
        // Authorised, answer lost, and payment-service down for the lookup too.
        w.payments.set(|t| {
            t.lose_authorize_answer = true;
            t.down_after_authorize = true;
        });
        let b = w.pending().await;
        let stuck = w.saga.checkout(b.clone()).await.expect(l);
        assert_eq!(stuck.status, Status::Held, "{l}: blocked, not failed");
        assert_eq!(w.inventory.hold_of(b.id), Some("held"));
        // Recovery while the peer is still down: still blocked, nothing lost.
        w.recover_all().await;
        let still = w.store.booking(b.id).await.expect(l).expect("there");
        assert_eq!((still.status, still.attempts), (Status::Held, 1), "{l}");
        // The peer returns: recovery finds the authorisation and, the hold being
        // still valid, captures and confirms.
        w.payments.set(|t| t.down = false);
        w.recover_all().await;
        let after = w.store.booking(b.id).await.expect(l).expect("there");
        assert_eq!(after.status, Status::Confirmed, "{l}");
        assert_eq!(after.payment_status, Some(PaymentStatus::Captured), "{l}");
        assert_eq!(w.inventory.hold_of(b.id), Some("committed"), "{l}");
        assert_eq!(w.payments.get(|t| (t.captures, t.abandoned)), (1, 0), "{l}");
    }
}

#[tokio::test]
async fn payment_service_down_is_never_a_decline_and_recovery_fails_it_as_unavailable() {
    for w in worlds().await {
        let l = w.engine;
        // Down from the start: nothing was ever authorised.
        w.payments.set(|t| t.down = true);
        let b = w.pending().await;
        let stuck = w.saga.checkout(b.clone()).await.expect(l);
        assert_eq!(stuck.status, Status::Held, "{l}: blocked, not declined");
        assert_eq!(stuck.failure_reason, None, "{l}");
        w.payments.set(|t| t.down = false);
        w.recover_all().await;
        let after = w.store.booking(b.id).await.expect(l).expect("there");
        assert_eq!(after.status, Status::Failed, "{l}");
        assert_eq!(
            after.failure_reason.map(FailureReason::as_str),
            Some("payment_unavailable"),
            "{l}"
        );
        assert_eq!(w.inventory.hold_of(b.id), Some("released"), "{l}");
        // The abandoned key is closed: a late authorisation under it takes nothing.
        let late = w
            .payments
            .authorize(&Authorization {
                idempotency_key: format!("{}:authorize", b.id),
                user_id: b.user_id,
                payment_method_id: b.payment_method_id.clone(),
                amount: Money::of(b.total_amount, b.currency),
                booking_reference: b.reference.to_string(),
            })
            .await
            .expect(l);
        assert_eq!(late.status, PaymentStatus::Voided, "{l}");
        assert_eq!(w.payments.get(|t| t.captures), 0, "{l}");
    }
}

#[tokio::test]
async fn a_provider_failure_settles_at_once_as_payment_unavailable_not_declined() {
    for w in worlds().await {
        let l = w.engine;
        // payment-service answers, but its provider fails every authorisation.
        w.payments.set(|t| t.authorize_down = true);
        let b = w.pending().await;
        let done = w.saga.checkout(b.clone()).await.expect(l);
        assert_eq!(done.status, Status::Failed, "{l}");
        assert_eq!(
            done.failure_reason.map(FailureReason::as_str),
            Some("payment_unavailable"),
            "{l}"
        );
        assert!(
            done.failure_reason
                .and_then(FailureReason::decline)
                .is_none(),
            "{l}"
        );
        assert_eq!(w.payments.get(|t| (t.captures, t.abandoned)), (0, 1), "{l}");
        assert_eq!(w.inventory.hold_of(b.id), Some("released"), "{l}");
    }
}

#[tokio::test]
async fn an_authorised_booking_left_by_a_crash_is_confirmed_once_by_recovery() {
    for w in worlds().await {
        let l = w.engine;
        let b = w.pending().await;
        // search-service stops answering commits after the authorisation.
        w.inventory.set(|s| s.commit_down = true);
        let stuck = w.saga.checkout(b.clone()).await.expect(l);
        assert_eq!(stuck.status, Status::Authorized, "{l}");
        assert_eq!(w.payments.get(|t| t.captures), 0, "{l}");
        // Two workers recover at once: one claims, one capture, CONFIRMED. A claim is
        // fresh for `stuck_after` (in production 30 s, far longer than a step), so the
        // booking must be older than that and the first worker's claim younger.
        w.inventory.set(|s| s.commit_down = false);
        let timing = ota_booking::recovery::RecoveryTiming {
            period: std::time::Duration::from_secs(1),
            stuck_after: std::time::Duration::from_millis(500),
        };
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let (a, c) = tokio::join!(
            ota_booking::recovery::sweep(&w.saga, timing),
            ota_booking::recovery::sweep(&w.saga, timing)
        );
        assert_eq!(a + c, 1, "{l}: claimed once");
        let after = w.store.booking(b.id).await.expect(l).expect("there");
        assert_eq!(after.status, Status::Confirmed, "{l}");
        assert_eq!(w.inventory.hold_of(b.id), Some("committed"));
        assert_eq!(w.payments.get(|t| t.captures), 1, "{l}");
    }
}

#[tokio::test]
async fn an_authorised_booking_whose_hold_expired_is_voided_and_failed() {
    for w in worlds().await {
        let l = w.engine;
        let b = w.pending().await;
        w.inventory.set(|s| s.expire_holds = true);
        let done = w.saga.checkout(b.clone()).await.expect(l);
        assert_eq!(done.status, Status::Failed, "{l}");
        assert_eq!(
            done.failure_reason.map(FailureReason::as_str),
            Some("hold_expired")
        );
        assert_eq!(done.payment_status, Some(PaymentStatus::Voided), "{l}");
        assert_eq!(w.payments.get(|t| t.captures), 0, "{l}");
        assert_eq!(w.inventory.hold_of(b.id), Some("released"), "{l}");
        assert_eq!(w.store.count_stuck(now_ms() + 1).await.expect(l), 0, "{l}");
    }
}
