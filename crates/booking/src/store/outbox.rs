//! The outbox's storage: due deliveries taken by any number of dispatchers without two
//! taking the same one (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional update on
//! SQLite), each attempt recorded, and the counts the metrics report.

use chrono::{DateTime, Utc};
use ota_platform::db::Db;
use ota_platform::{StoreError, on_pool};
use uuid::Uuid;

use super::SqlBookingStore;
use crate::outbox::EventKind;

/// A delivery a dispatcher took: the event, its channel and this attempt's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub event_id: Uuid,
    pub channel: String,
    /// 1 for the first attempt.
    pub attempt: i32,
    /// When the delivery was written (ms since the Unix epoch, UTC).
    pub created_ms: i64,
    /// How often it was asked for again (an e-mail's "resend confirmation").
    pub resends: i32,
    pub event: StoredEvent,
}

/// An event as written with the state change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: Uuid,
    pub kind: EventKind,
    pub booking_id: Uuid,
    pub user_id: Uuid,
    /// The booking's status, payment status, failure reason and refund (minor units)
    /// when the event was written.
    pub status: String,
    pub payment_status: Option<String>,
    pub failure_reason: Option<String>,
    pub refund_amount: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// What changed, for a schedule change (JSON of `ScheduleChangeView`).
    pub detail: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Failed; the next attempt may start at `due_ms`.
    Retry {
        due_ms: i64,
        error: String,
    },
    /// Not attempted (a rate limit): due again at `due_ms`; the attempt is given back.
    Deferred {
        due_ms: i64,
    },
    /// Failed for the last time: the event is dead on this channel.
    Dead {
        error: String,
    },
}

/// Deliveries by state, for the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// (channel, kind, count) of pending deliveries.
    pub pending: Vec<(String, String, i64)>,
    /// (channel, kind, count) of dead deliveries.
    pub dead: Vec<(String, String, i64)>,
    /// When the oldest pending delivery was written (ms since the Unix epoch), by
    /// channel label (`email`, `webhook`), if any.
    pub oldest_pending_ms: Vec<(&'static str, i64)>,
}

/// One attempt of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub event_id: Uuid,
    pub kind: String,
    pub channel: String,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub detail: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    event_id: Uuid,
    channel: String,
    attempts: i32,
    created_ms: i64,
    resends: i32,
    kind: String,
    booking_id: Uuid,
    user_id: Uuid,
    status: String,
    payment_status: Option<String>,
    failure_reason: Option<String>,
    refund_amount: Option<i64>,
    created_at: DateTime<Utc>,
    detail: Option<String>,
}

impl TryFrom<DueRow> for Due {
    type Error = StoreError;
    fn try_from(r: DueRow) -> Result<Self, StoreError> {
        let kind = EventKind::parse(&r.kind)
            .ok_or_else(|| StoreError::Other(format!("outbox event kind {:?}", r.kind).into()))?;
        Ok(Due {
            event_id: r.event_id,
            channel: r.channel,
            attempt: r.attempts,
            created_ms: r.created_ms,
            resends: r.resends,
            event: StoredEvent {
                id: r.event_id,
                kind,
                booking_id: r.booking_id,
                user_id: r.user_id,
                status: r.status,
                payment_status: r.payment_status,
                failure_reason: r.failure_reason,
                refund_amount: r.refund_amount,
                created_at: r.created_at,
                detail: r.detail,
            },
        })
    }
}

const DUE_COLUMNS: &str = "d.event_id, d.channel, d.attempts, d.created_ms, d.resends, e.kind, e.booking_id, e.user_id, e.status, e.payment_status, e.failure_reason, e.refund_amount, e.created_at, e.detail";

/// A delivery of event `$1` on channel `$2`, due now (`$3`, ms since the epoch).
pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO outbox_deliveries (event_id, channel, state, due_ms, created_ms) VALUES ($1, $2, 'pending', $3, $3)";

/// A delivery of event `$1` to every live webhook endpoint of its booking's owner (`$2`)
/// that receives its type (`$4`, the pattern of [`subscribed`]), due now (`$3`).
pub(crate) const INSERT_WEBHOOK_DELIVERIES: &str =
    "INSERT INTO outbox_deliveries (event_id, channel, state, due_ms, created_ms)
     SELECT $1, channel, 'pending', $3, $3 FROM webhook_endpoints
     WHERE user_id = $2 AND deleted_at IS NULL AND (events = ',*,' OR events LIKE $4 ESCAPE '!')";

/// The `LIKE` pattern that finds `kind` in an endpoint's `events`.
pub(crate) fn subscribed(kind: EventKind) -> String {
    let escaped: String = kind
        .as_str()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '!' => vec!['!', c],
            c => vec![c],
        })
        .collect();
    format!("%,{escaped},%")
}

impl SqlBookingStore {
    /// Takes up to `limit` pending deliveries due by `now_ms`, oldest first: each comes
    /// back with its attempt counted and its due time moved to `now_ms + lease_ms`, so a
    /// dispatcher that dies mid-attempt leaves it to the next one after the lease.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Due>, StoreError> {
        self.claim_due_on(now_ms, lease_ms, limit, Channels::All)
            .await
    }

    /// [`Self::claim_due`] on some channels only.
    pub async fn claim_due_on(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        channels: Channels,
    ) -> Result<Vec<Due>, StoreError> {
        let only = channels.condition();
        let rows: Vec<DueRow> = match self.db() {
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let taken: Vec<(Uuid, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbox_deliveries SET attempts = attempts + 1, due_ms = $2
                     WHERE (event_id, channel) IN (
                         SELECT event_id, channel FROM outbox_deliveries
                         WHERE state = 'pending' AND due_ms <= $1 {only}
                         ORDER BY due_ms LIMIT $3 FOR UPDATE SKIP LOCKED)
                     RETURNING event_id, channel",
                )))
                .bind(now_ms)
                .bind(now_ms + lease_ms)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let mut rows = Vec::with_capacity(taken.len());
                for (event, channel) in taken {
                    rows.extend(self.due_row(event, &channel).await?);
                }
                rows
            }
            Db::Sqlite(pool) => {
                let candidates: Vec<(Uuid, String, i32)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT event_id, channel, attempts FROM outbox_deliveries
                     WHERE state = 'pending' AND due_ms <= $1 {only} ORDER BY due_ms LIMIT $2",
                    )))
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                let mut rows = Vec::with_capacity(candidates.len());
                for (event, channel, attempts) in candidates {
                    // The conditional update is the claim: another dispatcher that got
                    // here first has counted the attempt.
                    let claimed = sqlx::query(
                        "UPDATE outbox_deliveries SET attempts = attempts + 1, due_ms = $4
                         WHERE event_id = $1 AND channel = $2 AND attempts = $3 AND state = 'pending'",
                    )
                    .bind(event)
                    .bind(&channel)
                    .bind(attempts)
                    .bind(now_ms + lease_ms)
                    .execute(pool)
                    .await?
                    .rows_affected();
                    if claimed == 1 {
                        rows.extend(self.due_row(event, &channel).await?);
                    }
                }
                rows
            }
        };
        rows.into_iter().map(Due::try_from).collect()
    }

    async fn due_row(&self, event: Uuid, channel: &str) -> Result<Option<DueRow>, StoreError> {
        let sql = format!(
            "SELECT {DUE_COLUMNS} FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
             WHERE d.event_id = $1 AND d.channel = $2"
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, DueRow>(sqlx::AssertSqlSafe(sql))
                .bind(event).bind(channel).fetch_optional(pool).await?
        }))
    }

    /// Records how attempt `due.attempt` ended, unless another dispatcher has taken the
    /// delivery since (its lease ran out): then only the attempt is logged.
    pub async fn record(&self, due: &Due, outcome: &Outcome) -> Result<(), StoreError> {
        self.record_with(due, outcome, None).await
    }

    /// [`Self::record`], logging `detail` (the receiver's answer) for a delivered one.
    pub async fn record_with(
        &self,
        due: &Due,
        outcome: &Outcome,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let (state, due_ms, error) = match outcome {
            Outcome::Delivered => ("delivered", None, None),
            Outcome::Retry { due_ms, error } => ("pending", Some(*due_ms), Some(error.as_str())),
            Outcome::Deferred { due_ms } => {
                on_pool!(self.db(), pool => {
                    sqlx::query(
                        "UPDATE outbox_deliveries SET due_ms = $4, attempts = attempts - 1
                         WHERE event_id = $1 AND channel = $2 AND attempts = $3 AND state = 'pending'",
                    )
                    .bind(due.event_id).bind(&due.channel).bind(due.attempt).bind(*due_ms)
                    .execute(pool).await?.rows_affected()
                });
                return Ok(());
            }
            Outcome::Dead { error } => ("dead", None, Some(error.as_str())),
        };
        ota_platform::in_write_tx!(self.db(), tx => {
            sqlx::query(
                "UPDATE outbox_deliveries SET state = $4, due_ms = COALESCE($5, due_ms), last_error = $6,
                     delivered_at = CASE WHEN $4 = 'delivered' THEN $7 ELSE delivered_at END
                 WHERE event_id = $1 AND channel = $2 AND attempts = $3 AND state = 'pending'",
            )
            .bind(due.event_id).bind(&due.channel).bind(due.attempt).bind(state)
            .bind(due_ms).bind(error).bind(now)
            .execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO outbox_attempts (event_id, channel, attempt, at, ok, detail) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(due.event_id).bind(&due.channel).bind(due.attempt).bind(now)
            .bind(matches!(outcome, Outcome::Delivered)).bind(error.or(detail))
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Pending and dead deliveries by channel and kind, and the oldest pending one.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let sql = "SELECT d.channel, e.kind, d.state, COUNT(*), MIN(d.created_ms)
                   FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
                   WHERE d.state IN ('pending', 'dead') GROUP BY d.channel, e.kind, d.state";
        let rows: Vec<(String, String, String, i64, Option<i64>)> = on_pool!(self.db(), pool => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        let mut counts = OutboxCounts::default();
        for (channel, kind, state, n, oldest) in rows {
            if state == "pending" {
                let label = crate::outbox::channel_label(&channel);
                if let Some(oldest) = oldest {
                    match counts
                        .oldest_pending_ms
                        .iter_mut()
                        .find(|(l, _)| *l == label)
                    {
                        Some((_, t)) => *t = (*t).min(oldest),
                        None => counts.oldest_pending_ms.push((label, oldest)),
                    }
                }
                counts.pending.push((channel, kind, n));
            } else {
                counts.dead.push((channel, kind, n));
            }
        }
        Ok(counts)
    }

    /// A booking's events, oldest first.
    pub async fn booking_events_out(&self, booking: Uuid) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<DueRow> = on_pool!(self.db(), pool => {
            sqlx::query_as::<_, DueRow>(
                "SELECT e.id AS event_id, '' AS channel, CAST(0 AS integer) AS attempts, CAST(0 AS bigint) AS created_ms, CAST(0 AS integer) AS resends, e.kind, e.booking_id, e.user_id,
                        e.status, e.payment_status, e.failure_reason, e.refund_amount, e.created_at, e.detail
                 FROM outbox_events e WHERE e.booking_id = $1 ORDER BY e.created_at, e.id",
            )
            .bind(booking).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| Due::try_from(r).map(|d| d.event))
            .collect()
    }

    /// The delivery log of a booking's events, oldest first.
    pub async fn attempts(&self, booking: Uuid) -> Result<Vec<Attempt>, StoreError> {
        type Row = (
            Uuid,
            String,
            String,
            i32,
            DateTime<Utc>,
            bool,
            Option<String>,
        );
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT a.event_id, e.kind, a.channel, a.attempt, a.at, a.ok, a.detail
                 FROM outbox_attempts a JOIN outbox_events e ON e.id = a.event_id
                 WHERE e.booking_id = $1 ORDER BY a.id",
            )
            .bind(booking).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(event_id, kind, channel, attempt, at, ok, detail)| Attempt {
                    event_id,
                    kind,
                    channel,
                    attempt,
                    at,
                    ok,
                    detail,
                },
            )
            .collect())
    }

    /// Dead deliveries, newest first: (event id, kind, booking reference, channel,
    /// attempts, last error).
    pub async fn dead_deliveries(&self, limit: i64) -> Result<Vec<DeadDelivery>, StoreError> {
        type Row = (Uuid, String, String, String, i32, Option<String>);
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT d.event_id, e.kind, b.reference, d.channel, d.attempts, d.last_error
                 FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id JOIN bookings b ON b.id = e.booking_id
                 WHERE d.state = 'dead' ORDER BY d.created_ms DESC LIMIT $1",
            )
            .bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(event_id, kind, reference, channel, attempts, last_error)| DeadDelivery {
                    event_id,
                    kind,
                    reference,
                    channel,
                    attempts,
                    last_error,
                },
            )
            .collect())
    }

    /// Asks for a delivered or dead delivery again: due now, with a fresh retry window
    /// and one more resend. A pending one is already on its way.
    pub async fn resend(
        &self,
        event: Uuid,
        channel: &str,
        now_ms: i64,
        max_resends: i32,
    ) -> Result<Resend, StoreError> {
        let row: Option<(String, i32)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT state, resends FROM outbox_deliveries WHERE event_id = $1 AND channel = $2")
                .bind(event).bind(channel).fetch_optional(pool).await?
        });
        match row {
            None => return Ok(Resend::Missing),
            Some((state, _)) if state == "pending" => return Ok(Resend::Pending),
            Some((_, n)) if n >= max_resends => return Ok(Resend::TooMany),
            Some(_) => {}
        }
        let changed = on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE outbox_deliveries SET state = 'pending', due_ms = $3, created_ms = $3, resends = resends + 1, last_error = NULL
                 WHERE event_id = $1 AND channel = $2 AND state <> 'pending' AND resends < $4",
            )
            .bind(event).bind(channel).bind(now_ms).bind(max_resends)
            .execute(pool).await?.rows_affected()
        });
        // Another request got there first: it is on its way.
        Ok(if changed == 1 {
            Resend::Queued
        } else {
            Resend::Pending
        })
    }

    /// Makes dead deliveries (of one event, or all) due now with a fresh retry window;
    /// answers how many.
    pub async fn requeue_dead(&self, event: Option<Uuid>, now_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE outbox_deliveries SET state = 'pending', due_ms = $1, created_ms = $1
                 WHERE state = 'dead' AND ($2 IS NULL OR event_id = $2)",
            )
            .bind(now_ms).bind(event).execute(pool).await?.rows_affected()
        }))
    }

    /// Writes a `booking.reminder` event (and its e-mail) for every CONFIRMED booking
    /// whose first departure or check-in is within `before` of `now` and still ahead,
    /// booked at least `before` ahead of it (a booking made later has just had its
    /// confirmation), once per booking however many dispatchers look. Answers how many.
    pub async fn write_reminders(
        &self,
        now: DateTime<Utc>,
        before: chrono::Duration,
    ) -> Result<usize, StoreError> {
        type Row = (Uuid, Uuid, DateTime<Utc>, Option<DateTime<Utc>>);
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT b.id, b.user_id, b.created_at, (SELECT MIN(i.starts_at) FROM booking_items i WHERE i.booking_id = b.id)
                 FROM bookings b
                 WHERE b.status = 'CONFIRMED'
                   AND NOT EXISTS (SELECT 1 FROM outbox_events e WHERE e.booking_id = b.id AND e.kind = 'booking.reminder')
                   AND EXISTS (SELECT 1 FROM booking_items i WHERE i.booking_id = b.id AND i.starts_at > $1 AND i.starts_at <= $2)
                 LIMIT 500",
            )
            .bind(now).bind(now + before).fetch_all(pool).await?
        });
        let mut written = 0;
        for (booking, user, created_at, first) in rows {
            let Some(first) = first else { continue };
            if first <= now || first > now + before || created_at + before > first {
                continue;
            }
            let event = Uuid::now_v7();
            written += ota_platform::in_write_tx!(self.db(), tx => {
                let inserted = sqlx::query(
                    "INSERT INTO outbox_events (id, kind, booking_id, user_id, status, created_at)
                     SELECT $1, 'booking.reminder', $2, $3, 'CONFIRMED', $4
                     WHERE EXISTS (SELECT 1 FROM bookings WHERE id = $2 AND status = 'CONFIRMED')
                     ON CONFLICT DO NOTHING",
                )
                .bind(event).bind(booking).bind(user).bind(Utc::now())
                .execute(&mut *tx).await?.rows_affected();
                if inserted == 1 {
                    let now_ms = Utc::now().timestamp_millis();
                    for channel in EventKind::Reminder.channels() {
                        sqlx::query(INSERT_DELIVERY).bind(event).bind(channel).bind(now_ms)
                            .execute(&mut *tx).await?;
                    }
                    sqlx::query(INSERT_WEBHOOK_DELIVERIES).bind(event).bind(user).bind(now_ms)
                        .bind(subscribed(EventKind::Reminder)).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok::<usize, StoreError>(inserted as usize)
            })?;
        }
        Ok(written)
    }
}

impl SqlBookingStore {
    /// Writes a `booking.schedule_changed` event (and its deliveries) for every change
    /// to a CONFIRMED booking, once per booking and change however many dispatchers
    /// read the feed, and moves the feed's cursor past them. Answers how many events.
    pub async fn write_schedule_changes(
        &self,
        changes: &[ota_contract::search::ScheduleChange],
    ) -> Result<usize, StoreError> {
        let mut written = 0;
        for c in changes {
            let detail = serde_json::to_string(&ota_contract::booking::ScheduleChangeView {
                flight: c.flight.clone(),
                flight_date: c.flight_date,
                origin: c.origin.clone(),
                change: c.change,
            })
            .map_err(|e| StoreError::Other(e.to_string().into()))?;
            let event = Uuid::now_v7();
            let now = Utc::now();
            written += ota_platform::in_write_tx!(self.db(), tx => {
                let inserted = sqlx::query(
                    "INSERT INTO outbox_events (id, kind, booking_id, user_id, status, payment_status, created_at, detail, source_seq)
                     SELECT $1, 'booking.schedule_changed', id, user_id, status, payment_status, $3, $4, $5
                     FROM bookings WHERE id = $2 AND status = 'CONFIRMED'
                     ON CONFLICT DO NOTHING",
                )
                .bind(event).bind(c.booking_id).bind(now).bind(&detail).bind(c.seq)
                .execute(&mut *tx).await?.rows_affected();
                if inserted == 1 {
                    let user: (Uuid,) = sqlx::query_as("SELECT user_id FROM bookings WHERE id = $1")
                        .bind(c.booking_id).fetch_one(&mut *tx).await?;
                    for channel in EventKind::ScheduleChanged.channels() {
                        sqlx::query(INSERT_DELIVERY).bind(event).bind(channel).bind(now.timestamp_millis())
                            .execute(&mut *tx).await?;
                    }
                    sqlx::query(INSERT_WEBHOOK_DELIVERIES).bind(event).bind(user.0).bind(now.timestamp_millis())
                        .bind(subscribed(EventKind::ScheduleChanged)).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO outbox_cursors (name, value) VALUES ('schedule_changes', $1)
                     ON CONFLICT (name) DO UPDATE SET value = CASE WHEN excluded.value > outbox_cursors.value THEN excluded.value ELSE outbox_cursors.value END",
                )
                .bind(c.seq).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok::<usize, StoreError>(inserted as usize)
            })?;
        }
        Ok(written)
    }

    /// How many `booking.failed` events of `user`'s came in the hour before `event`
    /// with an e-mail still to go or gone: the same answer whichever dispatcher asks, and
    /// whenever.
    pub async fn failures_before(&self, event: &StoredEvent) -> Result<i64, StoreError> {
        let since = event.created_at - chrono::Duration::hours(1);
        let (n,): (i64,) = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM outbox_events e JOIN outbox_deliveries d ON d.event_id = e.id
                 WHERE e.user_id = $1 AND e.kind = 'booking.failed' AND d.channel = 'email' AND d.state <> 'dead'
                   AND e.created_at >= $2 AND (e.created_at < $3 OR (e.created_at = $3 AND e.id < $4))",
            )
            .bind(event.user_id).bind(since).bind(event.created_at).bind(event.id)
            .fetch_one(pool).await?
        });
        Ok(n)
    }

    /// How far the schedule-change feed has been read (0: not at all).
    pub async fn schedule_changes_cursor(&self) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT value FROM outbox_cursors WHERE name = 'schedule_changes'")
                .fetch_optional(pool).await?
        });
        Ok(row.map_or(0, |r| r.0))
    }
}

/// Which deliveries a dispatcher takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    All,
    Email,
    Webhooks,
}

impl Channels {
    /// The SQL condition (constant text, no input).
    fn condition(self) -> &'static str {
        match self {
            Channels::All => "",
            Channels::Email => "AND channel = 'email'",
            Channels::Webhooks => "AND channel LIKE 'webhook:%'",
        }
    }
}

/// What asking for a delivery again did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Due now.
    Queued,
    /// Already on its way.
    Pending,
    /// Asked for too often.
    TooMany,
    /// No such delivery.
    Missing,
}

/// A delivery that gave up, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadDelivery {
    pub event_id: Uuid,
    pub kind: String,
    pub reference: String,
    pub channel: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}
