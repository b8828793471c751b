//! The recovery worker: finishes or undoes every booking left mid-saga for longer than
//! the stuck threshold (a crash, a timeout, a dead peer), so each one ends CONFIRMED,
//! FAILED or CANCELLED. Any number of replicas may run it: claims are row locks with
//! SKIP LOCKED on PostgreSQL and conditional updates on SQLite.

use std::time::Duration;

use ota_platform::config::positive_duration;

use crate::saga::Saga;
use crate::store::now_ms;

/// Bookings taken per sweep.
const BATCH: i64 = 20;

/// How often the worker looks, and how old a saga step must be to count as stuck
/// (booking-service settings: `ota serve --help`).
#[derive(clap::Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryTiming {
    /// How often booking-service's recovery worker looks for bookings left mid-saga
    /// (500ms, 5s, 2m).
    #[arg(long = "booking-recovery", env = "OTA_BOOKING_RECOVERY", default_value = "5s", value_parser = positive_duration)]
    pub period: Duration,
    /// How long a saga step may run before recovery takes the booking over. It must
    /// outlast one step (a peer call with its retries, about 16 s), or a live checkout
    /// would be taken over.
    #[arg(long = "booking-stuck-after", env = "OTA_BOOKING_STUCK_AFTER", default_value = "30s", value_parser = positive_duration)]
    pub stuck_after: Duration,
}

impl RecoveryTiming {
    /// Bookings whose step started before this instant (milliseconds since the Unix
    /// epoch, UTC) count as stuck.
    pub fn stale_before_ms(&self) -> i64 {
        now_ms() - i64::try_from(self.stuck_after.as_millis()).unwrap_or(i64::MAX)
    }
}

/// One sweep: reports the stuck count, then claims and settles a batch. Answers how
/// many bookings it worked on.
pub async fn sweep(saga: &Saga, timing: RecoveryTiming) -> usize {
    let stale_before = timing.stale_before_ms();
    match saga.store.count_stuck(stale_before).await {
        Ok(n) => metrics::gauge!("bookings_stuck").set(n as f64),
        Err(e) => {
            tracing::warn!(error = %e, "counting stuck bookings failed; will retry");
            return 0;
        }
    }
    let claimed = match saga.store.claim_stuck(stale_before, BATCH).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "claiming stuck bookings failed; will retry");
            return 0;
        }
    };
    let n = claimed.len();
    for b in claimed {
        let (id, reference, from, attempts) = (b.id, b.reference.clone(), b.status, b.attempts);
        match saga.recover(b).await {
            Ok(after) if after.status == from => {
                tracing::warn!(booking_id = %id, %reference, status = %from, attempts, "stuck booking still blocked on a peer; will retry")
            }
            Ok(after) => {
                tracing::info!(booking_id = %id, %reference, %from, to = %after.status, attempts, "stuck booking recovered")
            }
            Err(e) => {
                tracing::warn!(booking_id = %id, %reference, error = %e, "recovering a stuck booking failed; will retry")
            }
        }
    }
    n
}

/// Runs sweeps until the service's pool closes (shutdown).
pub async fn run(saga: Saga, timing: RecoveryTiming, is_closed: impl Fn() -> bool) {
    loop {
        tokio::time::sleep(timing.period).await;
        if is_closed() {
            return;
        }
        sweep(&saga, timing).await;
    }
}
