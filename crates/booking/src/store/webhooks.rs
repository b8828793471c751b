//! Webhook endpoints and their delivery logs. An endpoint's deliveries are outbox rows on
//! its channel (`webhook:` and its id's hex digits), written with the events.

use chrono::{DateTime, Utc};
use ota_platform::{StoreError, on_pool};
use uuid::Uuid;

use super::SqlBookingStore;
use super::outbox::Attempt;

/// A stored endpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Endpoint {
    pub id: Uuid,
    pub user_id: Uuid,
    pub channel: String,
    pub url: String,
    pub description: String,
    /// Event types between commas (`,booking.confirmed,`), or `,*,`.
    pub events: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    /// Until when (ms since the epoch) the previous secret also signs.
    pub previous_secret_until_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Endpoint {
    /// The delivery channel of endpoint `id`.
    pub fn channel_of(id: Uuid) -> String {
        format!("webhook:{}", id.simple())
    }

    /// The event types, as listed at registration.
    pub fn event_list(&self) -> Vec<String> {
        self.events
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// An endpoint's delivery of one event, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: Uuid,
    pub kind: String,
    pub reference: String,
    pub state: String,
    pub due_ms: i64,
    pub attempts: Vec<Attempt>,
}

const COLUMNS: &str = "id, user_id, channel, url, description, events, secret, previous_secret, previous_secret_until_ms, created_at, deleted_at";

impl SqlBookingStore {
    /// Registers an endpoint, unless its owner has `max` live ones already: then false.
    pub async fn create_endpoint(&self, e: &Endpoint, max: i64) -> Result<bool, StoreError> {
        ota_platform::in_write_tx!(self.db(), tx => {
            let (live,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL")
                .bind(e.user_id).fetch_one(&mut *tx).await?;
            if live >= max {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, user_id, channel, url, description, events, secret, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.id).bind(e.user_id).bind(&e.channel).bind(&e.url).bind(&e.description)
            .bind(&e.events).bind(&e.secret).bind(e.created_at)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The live endpoints of `user`, oldest first.
    pub async fn endpoints(&self, user: Uuid) -> Result<Vec<Endpoint>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_endpoints WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(sql)).bind(user).fetch_all(pool).await?
        }))
    }

    /// Endpoint `id` of `user`, if it is live.
    pub async fn endpoint(&self, user: Uuid, id: Uuid) -> Result<Option<Endpoint>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL"
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(sql)).bind(id).bind(user).fetch_optional(pool).await?
        }))
    }

    /// The endpoint a delivery channel names, deleted or not.
    pub async fn endpoint_of_channel(&self, channel: &str) -> Result<Option<Endpoint>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE channel = $1");
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as::<_, Endpoint>(sqlx::AssertSqlSafe(sql)).bind(channel).fetch_optional(pool).await?
        }))
    }

    /// Deletes endpoint `id` of `user`: it receives nothing more and its pending
    /// deliveries are dropped; its delivery log stays. Answers whether it was live.
    pub async fn delete_endpoint(&self, user: Uuid, id: Uuid) -> Result<bool, StoreError> {
        ota_platform::in_write_tx!(self.db(), tx => {
            let gone = sqlx::query("UPDATE webhook_endpoints SET deleted_at = $3 WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL")
                .bind(id).bind(user).bind(Utc::now()).execute(&mut *tx).await?.rows_affected() == 1;
            if gone {
                sqlx::query("DELETE FROM outbox_deliveries WHERE channel = $1 AND state = 'pending'")
                    .bind(Endpoint::channel_of(id)).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(gone)
        })
    }

    /// Replaces the secret of endpoint `id` of `user`; the one it replaces also signs
    /// until `until_ms`. Answers whether the endpoint is live.
    pub async fn rotate_secret(
        &self,
        user: Uuid,
        id: Uuid,
        secret: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until_ms = $4, secret = $3
                 WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
            )
            .bind(id).bind(user).bind(secret).bind(until_ms)
            .execute(pool).await?.rows_affected() == 1
        }))
    }

    /// The deliveries on `channel`, newest first, at most `limit`, with their attempts.
    pub async fn deliveries(&self, channel: &str, limit: i64) -> Result<Vec<Delivery>, StoreError> {
        type Row = (Uuid, String, String, String, i64);
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT d.event_id, e.kind, b.reference, d.state, d.due_ms
                 FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id JOIN bookings b ON b.id = e.booking_id
                 WHERE d.channel = $1 ORDER BY e.created_at DESC, e.id DESC LIMIT $2",
            )
            .bind(channel).bind(limit).fetch_all(pool).await?
        });
        type AttemptRow = (Uuid, i32, DateTime<Utc>, bool, Option<String>);
        let attempts: Vec<AttemptRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT a.event_id, a.attempt, a.at, a.ok, a.detail FROM outbox_attempts a
                 WHERE a.channel = $1 AND a.event_id IN (
                     SELECT d.event_id FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
                     WHERE d.channel = $1 ORDER BY e.created_at DESC, e.id DESC LIMIT $2)
                 ORDER BY a.id",
            )
            .bind(channel).bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(event_id, kind, reference, state, due_ms)| Delivery {
                attempts: attempts
                    .iter()
                    .filter(|a| a.0 == event_id)
                    .map(|(_, attempt, at, ok, detail)| Attempt {
                        event_id,
                        kind: kind.clone(),
                        channel: channel.to_owned(),
                        attempt: *attempt,
                        at: *at,
                        ok: *ok,
                        detail: detail.clone(),
                    })
                    .collect(),
                event_id,
                kind,
                reference,
                state,
                due_ms,
            })
            .collect())
    }
}
