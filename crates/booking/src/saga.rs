//! The checkout saga and its compensations, orchestrated here and persisted before
//! every step so a crash anywhere is finished or undone by the recovery worker.
//!
//! PENDING --hold--> HELD --authorize--> AUTHORIZED --commit+capture--> CONFIRMED;
//! a refusal undoes what was done (void, release) and ends FAILED. Cancellation:
//! CONFIRMED → CANCELLING (refund amount persisted) --refund+release--> CANCELLED.
//!
//! Every peer call is idempotent by booking id, so running a step twice (a retry, a
//! second worker, a restart) never holds, charges or refunds twice. Money invariant:
//! capture only follows a successful commit, and a booking never ends FAILED while
//! its payment is captured (it is refunded) or authorised (it is voided).

use std::sync::Arc;
use std::time::Instant;

use ota_contract::booking::FailureReason;
use ota_contract::money::Money;
use ota_contract::payment::{AuthorizeRequest, DeclineCode, PaymentStatus, PaymentView};
use ota_platform::StoreError;
use ota_platform::client::PeerError;
use serde_json::Value;

use crate::cart::Carts;
use crate::domain::Status;
use crate::payment::Payments;
use crate::search::Inventory;
use crate::store::{Booking, BookingStore, Patch};

/// How long a hold lasts: long enough for a stuck saga to be recovered and committed.
pub const HOLD_TTL_SECONDS: i64 = 900;

#[derive(Clone)]
pub struct Saga {
    pub store: Arc<dyn BookingStore>,
    pub inventory: Arc<dyn Inventory>,
    pub payments: Arc<dyn Payments>,
    pub carts: Arc<dyn Carts>,
}

/// What a step did.
enum Next {
    /// Moved on: run the next step.
    Go(Booking),
    /// Stopped: settled, blocked on a peer (recovery will retry), or taken over.
    Stop(Booking),
}

fn status_of(e: &PeerError) -> Option<u16> {
    match e {
        PeerError::Status { status, .. } => Some(*status),
        _ => None,
    }
}

fn body_of(e: &PeerError) -> &Value {
    match e {
        PeerError::Status { body, .. } => body,
        _ => &Value::Null,
    }
}

fn key(b: &Booking, step: &str) -> String {
    format!("{}:{step}", b.id)
}

fn timed(step: &'static str, started: Instant) {
    metrics::histogram!("saga_step_seconds", "step" => step)
        .record(started.elapsed().as_secs_f64());
}

impl Saga {
    /// Runs a checkout forward from wherever it is until it settles or a peer blocks it.
    pub async fn checkout(&self, b: Booking) -> Result<Booking, StoreError> {
        let mut b = b;
        loop {
            let next = match b.status {
                Status::Pending => self.hold(&b).await?,
                Status::Held => self.authorize(&b).await?,
                Status::Authorized => self.confirm(&b).await?,
                Status::Cancelling => self.finish_cancel(&b).await?,
                Status::Confirmed | Status::Failed | Status::Cancelled => return Ok(b),
            };
            match next {
                Next::Go(n) => b = n,
                Next::Stop(n) => return Ok(n),
            }
        }
    }

    /// Finishes or undoes a booking the recovery worker claimed: before authorisation
    /// it is undone; authorised it is confirmed (or undone if the hold is gone); a
    /// cancellation is finished.
    pub async fn recover(&self, b: Booking) -> Result<Booking, StoreError> {
        let next = match b.status {
            Status::Pending => self.undo(&b, FailureReason::Abandoned).await?,
            // Authorisation may have been asked for: settle what payment-service did.
            Status::Held => self.settle_authorization(&b).await?,
            Status::Authorized => self.confirm(&b).await?,
            Status::Cancelling => self.finish_cancel(&b).await?,
            Status::Confirmed | Status::Failed | Status::Cancelled => return Ok(b),
        };
        Ok(match next {
            Next::Go(n) | Next::Stop(n) => n,
        })
    }

    /// Persists a transition; when another worker moved the booking first, stops with
    /// what it is now.
    async fn advance(
        &self,
        b: &Booking,
        to: Status,
        patch: Patch,
        note: Option<&str>,
    ) -> Result<Next, StoreError> {
        match self.store.advance(b, to, &patch, note).await? {
            Some(n) => {
                if n.status.is_settled() {
                    let outcome = match n.status {
                        Status::Confirmed => "confirmed",
                        Status::Failed => "failed",
                        _ => "cancelled",
                    };
                    metrics::counter!("bookings_total", "outcome" => outcome).increment(1);
                    tracing::info!(booking_id = %n.id, reference = %n.reference, status = %n.status, reason = ?n.failure_reason.map(FailureReason::as_str), "booking settled");
                }
                Ok(if n.status.is_settled() {
                    Next::Stop(n)
                } else {
                    Next::Go(n)
                })
            }
            None => {
                tracing::info!(booking_id = %b.id, "booking moved on by another worker");
                let now = self
                    .store
                    .booking(b.id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                Ok(Next::Stop(now))
            }
        }
    }

    fn blocked(b: &Booking, step: &str, e: &PeerError) -> Next {
        tracing::warn!(booking_id = %b.id, reference = %b.reference, status = %b.status, step, error = %e,
            "saga step blocked on a peer; the recovery worker will finish or undo it");
        Next::Stop(b.clone())
    }

    async fn hold(&self, b: &Booking) -> Result<Next, StoreError> {
        let offers: Vec<String> = self
            .store
            .items(b.id)
            .await?
            .into_iter()
            .map(|i| i.offer_id)
            .collect();
        let started = Instant::now();
        let held = self
            .inventory
            .hold(b.id, b.reference.as_str(), &offers, HOLD_TTL_SECONDS)
            .await;
        timed("hold", started);
        match held {
            Ok(()) => self.advance(b, Status::Held, Patch::default(), None).await,
            Err(e) => match status_of(&e) {
                Some(409) => self.undo(b, FailureReason::SoldOut).await,
                Some(410) => self.undo(b, FailureReason::OfferExpired).await,
                Some(400..=499) => {
                    tracing::error!(booking_id = %b.id, error = %e, body = %body_of(&e), "search-service refused a hold");
                    self.undo(b, FailureReason::HoldRefused).await
                }
                _ => Ok(Self::blocked(b, "hold", &e)),
            },
        }
    }

    fn authorization(b: &Booking) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key(b, "authorize"),
            user_id: b.user_id,
            payment_method_id: b.payment_method_id.clone(),
            amount: Money::of(b.total_amount, b.currency),
            booking_reference: b.reference.to_string(),
        }
    }

    async fn authorized(
        &self,
        b: &Booking,
        p: PaymentView,
        note: Option<&str>,
    ) -> Result<Next, StoreError> {
        let patch = Patch {
            payment_id: Some(p.id.to_string()),
            payment_status: Some(p.status),
            card: p.card,
            ..Patch::default()
        };
        self.advance(b, Status::Authorized, patch, note).await
    }

    async fn authorize(&self, b: &Booking) -> Result<Next, StoreError> {
        let request = Self::authorization(b);
        let started = Instant::now();
        let answer = self.payments.authorize(&request).await;
        timed("authorize", started);
        match answer {
            Ok(p)
                if matches!(
                    p.status,
                    PaymentStatus::Authorized | PaymentStatus::Captured
                ) =>
            {
                self.authorized(b, p, None).await
            }
            Ok(p) => self.not_authorized(b, p).await,
            Err(e) => match status_of(&e) {
                Some(402) => {
                    let code = body_of(&e)["decline_code"]
                        .as_str()
                        .and_then(DeclineCode::parse)
                        .unwrap_or(DeclineCode::CardDeclined);
                    self.undo(b, code.into()).await
                }
                Some(404) => self.undo(b, FailureReason::PaymentMethodNotFound).await,
                Some(400..=499) => {
                    tracing::error!(booking_id = %b.id, error = %e, body = %body_of(&e), "payment-service refused an authorisation");
                    self.undo(b, FailureReason::PaymentRefused).await
                }
                // A provider failure or no answer: whether it authorised is unknown.
                // Settle it now if payment-service answers; otherwise recovery will.
                _ => {
                    tracing::warn!(booking_id = %b.id, reference = %b.reference, error = %e,
                        "authorisation outcome unknown; settling it with payment-service");
                    self.settle_authorization(b).await
                }
            },
        }
    }

    /// Answered, but not an authorisation: a decline (the card's fault) or a payment
    /// abandoned because payment-service failed (never the card's fault).
    async fn not_authorized(&self, b: &Booking, p: PaymentView) -> Result<Next, StoreError> {
        let why = match p.status {
            PaymentStatus::Declined => p.decline_code.unwrap_or(DeclineCode::CardDeclined).into(),
            _ => FailureReason::PaymentUnavailable,
        };
        self.undo(b, why).await
    }

    /// Asks payment-service what became of this booking's authorisation, closing the
    /// door on a late one: authorised → confirm (void and fail as `payment_unavailable`
    /// if the hold is gone); declined → a real decline; nothing → abandoned, fail as
    /// `payment_unavailable`. Blocked (for recovery) while payment-service is away.
    async fn settle_authorization(&self, b: &Booking) -> Result<Next, StoreError> {
        let started = Instant::now();
        let settled = self.payments.abandon(&Self::authorization(b)).await;
        timed("settle_authorization", started);
        match settled {
            Ok(p)
                if matches!(
                    p.status,
                    PaymentStatus::Authorized | PaymentStatus::Captured
                ) =>
            {
                match self.authorized(b, p, Some("authorisation found")).await? {
                    Next::Go(n) => self.confirm_or(&n, FailureReason::PaymentUnavailable).await,
                    stop => Ok(stop),
                }
            }
            Ok(p) => self.not_authorized(b, p).await,
            Err(e) => match status_of(&e) {
                Some(404) => self.undo(b, FailureReason::PaymentMethodNotFound).await,
                _ => Ok(Self::blocked(b, "settle_authorization", &e)),
            },
        }
    }

    async fn confirm(&self, b: &Booking) -> Result<Next, StoreError> {
        self.confirm_or(b, FailureReason::HoldExpired).await
    }

    /// Commits the hold and captures; `hold_lost` is why the booking fails when the hold
    /// can no longer be committed (the payment is then voided).
    async fn confirm_or(&self, b: &Booking, hold_lost: FailureReason) -> Result<Next, StoreError> {
        let Some(payment_id) = b.payment_id.clone() else {
            tracing::error!(booking_id = %b.id, "an authorised booking without a payment id");
            return self.undo(b, FailureReason::PaymentRefused).await;
        };
        let started = Instant::now();
        let committed = self.inventory.commit(b.id).await;
        timed("commit", started);
        if let Err(e) = committed {
            return match status_of(&e) {
                // The hold expired or was released: the seats may be gone.
                Some(404 | 409 | 410) => self.undo(b, hold_lost).await,
                _ => Ok(Self::blocked(b, "commit", &e)),
            };
        }
        let started = Instant::now();
        let captured = self.payments.capture(&payment_id, &key(b, "capture")).await;
        timed("capture", started);
        match captured {
            Ok(p) => {
                self.check_out_cart(b).await;
                let patch = Patch {
                    payment_status: Some(p.status),
                    ..Patch::default()
                };
                self.advance(b, Status::Confirmed, patch, None).await
            }
            Err(e) => match status_of(&e) {
                Some(409) => self.undo(b, FailureReason::PaymentVoided).await,
                Some(400..=499) => {
                    tracing::error!(booking_id = %b.id, error = %e, body = %body_of(&e), "payment-service refused a capture");
                    self.undo(b, FailureReason::PaymentRefused).await
                }
                _ => Ok(Self::blocked(b, "capture", &e)),
            },
        }
    }

    /// Takes the bought items out of the cart. Best effort: the cart is ephemeral, and a
    /// stale one cannot be bought twice (its claim is used up by this booking).
    pub async fn check_out_cart(&self, b: &Booking) {
        let offers: Vec<String> = match self.store.items(b.id).await {
            Ok(items) => items.into_iter().map(|i| i.offer_id).collect(),
            Err(e) => {
                tracing::warn!(booking_id = %b.id, error = %e, "could not read the booking's items to check out the cart");
                return;
            }
        };
        if let Err(e) = self.carts.checked_out(b.user_id, b.cart_id, &offers).await {
            tracing::warn!(booking_id = %b.id, error = %e, "could not check out the cart");
        }
    }

    /// Gives back whatever the booking took (money first, then inventory) and ends it
    /// FAILED. Blocked when a peer cannot be reached: recovery comes back.
    async fn undo(&self, b: &Booking, why: FailureReason) -> Result<Next, StoreError> {
        // Which payments might exist: the one we know, or (if authorisation was ever
        // attempted and its answer lost) any made for the reference.
        let payments: Vec<PaymentView> = match (&b.payment_id, b.status) {
            (Some(id), _) => match self.payments.payment(id).await {
                Ok(p) => vec![p],
                Err(e) => return Ok(Self::blocked(b, "undo", &e)),
            },
            (None, Status::Held) => match self.payments.for_booking(b.reference.as_str()).await {
                Ok(found) => found,
                Err(e) => return Ok(Self::blocked(b, "undo", &e)),
            },
            (None, _) => Vec::new(),
        };
        let mut last: Option<PaymentView> = None;
        for p in payments {
            let started = Instant::now();
            let id = p.id.to_string();
            let settled = match p.status {
                PaymentStatus::Authorized => self.payments.void(&id, &key(b, "void")).await,
                PaymentStatus::Captured | PaymentStatus::PartiallyRefunded => {
                    let due = Money::new(p.captured.amount - p.refunded.amount, &p.amount.currency);
                    self.payments.refund(&id, &key(b, "refund"), &due).await
                }
                _ => Ok(p.clone()),
            };
            timed("compensate_payment", started);
            match settled {
                Ok(after) => last = Some(after),
                Err(e) => return Ok(Self::blocked(b, "undo", &e)),
            }
        }
        if let Err(e) = self.release(b).await {
            return Ok(Self::blocked(b, "release", &e));
        }
        self.fail_with_payment(b, last, why).await
    }

    async fn fail_with_payment(
        &self,
        b: &Booking,
        payment: Option<PaymentView>,
        why: FailureReason,
    ) -> Result<Next, StoreError> {
        let patch = Patch {
            payment_status: payment.as_ref().map(|p| p.status),
            payment_id: if b.payment_id.is_none() {
                payment.map(|p| p.id.to_string())
            } else {
                None
            },
            failure_reason: Some(why),
            ..Patch::default()
        };
        self.advance(b, Status::Failed, patch, Some(why.as_str()))
            .await
    }

    /// Releases the booking's inventory; no hold at all is fine.
    async fn release(&self, b: &Booking) -> Result<(), PeerError> {
        let started = Instant::now();
        let released = self.inventory.release(b.id).await;
        timed("release", started);
        match released {
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            other => other,
        }
    }

    /// Moves a CONFIRMED booking to CANCELLING with the refund it is owed, then
    /// finishes the cancellation.
    pub async fn cancel(&self, b: &Booking, refund: i64) -> Result<Booking, StoreError> {
        let patch = Patch {
            refund_amount: Some(refund),
            ..Patch::default()
        };
        match self.advance(b, Status::Cancelling, patch, None).await? {
            Next::Go(n) => self.checkout(n).await,
            Next::Stop(n) => Ok(n),
        }
    }

    async fn finish_cancel(&self, b: &Booking) -> Result<Next, StoreError> {
        let refund = b.refund_amount.unwrap_or(0);
        let mut payment_status = None;
        if refund > 0 {
            let Some(payment_id) = b.payment_id.clone() else {
                tracing::error!(booking_id = %b.id, "a cancelled booking without a payment id");
                return Ok(Next::Stop(b.clone()));
            };
            let started = Instant::now();
            let refunded = self
                .payments
                .refund(
                    &payment_id,
                    &key(b, "refund"),
                    &Money::of(refund, b.currency),
                )
                .await;
            timed("refund", started);
            match refunded {
                Ok(p) => payment_status = Some(p.status),
                Err(e) if status_of(&e) == Some(409) => {
                    // Refused as too much: fine if this refund already went through.
                    match self.payments.payment(&payment_id).await {
                        Ok(p) if p.refunded.amount >= refund => {
                            payment_status = Some(p.status);
                        }
                        Ok(p) => {
                            tracing::error!(booking_id = %b.id, payment = ?p, "payment-service refused the refund");
                            return Ok(Self::blocked(b, "refund", &e));
                        }
                        Err(e) => return Ok(Self::blocked(b, "refund", &e)),
                    }
                }
                Err(e) => return Ok(Self::blocked(b, "refund", &e)),
            }
        }
        if let Err(e) = self.release(b).await {
            return Ok(Self::blocked(b, "release", &e));
        }
        let patch = Patch {
            payment_status,
            ..Patch::default()
        };
        match self.advance(b, Status::Cancelled, patch, None).await? {
            Next::Go(n) | Next::Stop(n) => Ok(Next::Stop(n)),
        }
    }
}
