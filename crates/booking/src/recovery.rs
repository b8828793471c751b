//! The recovery worker: finishes or undoes every booking left mid-saga for longer than
//! the stuck threshold (a crash, a timeout, a dead peer), so each one ends CONFIRMED,
//! FAILED or CANCELLED. Any number of replicas may run it: claims are row locks with
//! SKIP LOCKED on PostgreSQL and conditional updates on SQLite.

use std::sync::Mutex;
use std::time::Duration;

use crate::saga::Saga;
use crate::store::now_ms;

pub const RECOVERY_ENV: &str = "OTA_BOOKING_RECOVERY";
pub const STUCK_AFTER_ENV: &str = "OTA_BOOKING_STUCK_AFTER";
const DEFAULT_PERIOD: Duration = Duration::from_secs(5);
const DEFAULT_STUCK_AFTER: Duration = Duration::from_secs(30);
/// Bookings taken per sweep.
const BATCH: i64 = 20;

/// How often the worker looks, and how old a saga step must be to count as stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryTiming {
    pub period: Duration,
    pub stuck_after: Duration,
}

static DEFAULTS: Mutex<Option<RecoveryTiming>> = Mutex::new(None);

/// Replaces the built-in defaults (5 s, 30 s) for services built from now on in this
/// process; the environment still wins. For tests, which cannot wait half a minute.
pub fn set_default_timing(timing: RecoveryTiming) {
    if let Ok(mut d) = DEFAULTS.lock() {
        *d = Some(timing);
    }
}

impl RecoveryTiming {
    /// `OTA_BOOKING_RECOVERY` (default 5s) and `OTA_BOOKING_STUCK_AFTER` (default 30s),
    /// as `500ms`, `5s`, `2m`. The threshold must outlast one saga step (a peer call with
    /// its retries, about 16 s), or a live checkout would be taken over.
    pub fn from_env() -> anyhow::Result<Self> {
        let defaults = DEFAULTS
            .lock()
            .ok()
            .and_then(|d| *d)
            .unwrap_or(RecoveryTiming {
                period: DEFAULT_PERIOD,
                stuck_after: DEFAULT_STUCK_AFTER,
            });
        let read = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => ota_platform::config::parse_duration(&v)
                    .map_err(|e| anyhow::anyhow!("{name}: {e}")),
                _ => Ok(default),
            }
        };
        let timing = RecoveryTiming {
            period: read(RECOVERY_ENV, defaults.period)?,
            stuck_after: read(STUCK_AFTER_ENV, defaults.stuck_after)?,
        };
        anyhow::ensure!(
            !timing.period.is_zero() && !timing.stuck_after.is_zero(),
            "{RECOVERY_ENV} and {STUCK_AFTER_ENV} must be positive"
        );
        Ok(timing)
    }

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
