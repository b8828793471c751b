//! Idempotency keys, one implementation for every service that takes them (checkout at
//! booking-service, the internal payment API): a request is claimed under its key with
//! a hash of what it asks; the same request again replays the stored answer, another
//! request under the same key is a mismatch, and the same request while the first still
//! runs is in progress. Each API decides how it answers each outcome.
//!
//! Keys live in the service's own `idempotency_keys` table (its schema on PostgreSQL,
//! its file on SQLite), scoped by who owns them (a user for checkouts, the whole service
//! for internal calls). A key is forgotten once it is older than
//! `OTA_IDEMPOTENCY_KEY_TTL` (24 h by default): it may then start a new request, and
//! expired keys are purged. 5xx answers are never stored for replay.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::positive_duration;
use crate::db::Db;
use crate::{StoreError, in_write_tx, on_pool};

/// Longest key accepted, in characters (a UUID is 36).
pub const MAX_KEY_CHARS: usize = 255;
/// How often, at most, a claim also deletes the expired keys.
const PURGE_EVERY: chrono::Duration = chrono::Duration::minutes(10);

/// `ota serve --idempotency-key-ttl`.
#[derive(clap::Args, Clone, Debug)]
pub struct IdempotencySettings {
    /// How long an idempotency key answers for its first request (the same request
    /// replays its answer, another is refused); after that the key is forgotten.
    #[arg(
        long = "idempotency-key-ttl",
        env = "OTA_IDEMPOTENCY_KEY_TTL",
        default_value = "24h",
        value_parser = positive_duration
    )]
    pub key_ttl: Duration,
}

impl Default for IdempotencySettings {
    fn default() -> Self {
        Self {
            key_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// A client's idempotency key: 1 to 255 printable characters, surrounding spaces removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a key was refused; each API names its own field (a header, a body member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("is required")]
    Missing,
    #[error("must be at most 255 characters")]
    TooLong,
    #[error("must be printable characters")]
    NotPrintable,
}

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, KeyError> {
        let key = raw.trim();
        if key.is_empty() {
            return Err(KeyError::Missing);
        }
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(KeyError::TooLong);
        }
        if key.chars().any(char::is_control) {
            return Err(KeyError::NotPrintable);
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// SHA-256 of what a request asks: `salt` (raw bytes, such as the caller's id) followed
/// by the request's canonical JSON (as parsed, so neither member order nor whitespace
/// matters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHash(Vec<u8>);

impl RequestHash {
    pub fn of<T: Serialize + ?Sized>(salt: &[u8], request: &T) -> Result<Self, serde_json::Error> {
        let mut h = Sha256::new();
        h.update(salt);
        h.update(serde_json::to_vec(request)?);
        Ok(Self(h.finalize().to_vec()))
    }

    /// A hash as stored (tests build their own).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is this request's: run it, then `complete` (or `release`) it.
    New,
    /// The same request finished: answer `status` and `body` again.
    Replay { status: u16, body: Value },
    /// The key was used with a different request.
    Mismatch,
    /// The same request is running now; `resource` is what it created so far (a
    /// booking), tied to the key with [`ATTACH_RESOURCE`].
    InProgress { resource: Option<Uuid> },
}

/// Ties a claimed key to what its request created, inside the transaction that creates
/// it, so a lapsed lease never lets a retry create it again. Binds: `$1` scope, `$2` key,
/// `$3` resource id, `$4` now.
pub const ATTACH_RESOURCE: &str =
    "UPDATE idempotency_keys SET resource_id = $3, updated_at = $4 WHERE scope = $1 AND key = $2";

#[derive(sqlx::FromRow)]
struct KeyRow {
    request_hash: Vec<u8>,
    status_code: Option<i32>,
    response: Option<sqlx::types::Json<Value>>,
    resource_id: Option<Uuid>,
    locked_until: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

/// The keys of one service, on its database.
#[derive(Clone)]
pub struct IdempotencyStore {
    db: Db,
    ttl: chrono::Duration,
    /// When this process last purged expired keys (milliseconds since the epoch).
    purged_ms: Arc<AtomicI64>,
}

impl IdempotencyStore {
    pub fn new(db: Db, settings: &IdempotencySettings) -> Self {
        Self {
            db,
            ttl: chrono::Duration::from_std(settings.key_ttl).unwrap_or(chrono::Duration::MAX),
            purged_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Claims `key` of `scope` for a request hashing to `hash`, leased for `lease`: a
    /// claim whose request stopped without an answer (a crash) is taken over once its
    /// lease lapsed, unless it is tied to a resource.
    pub async fn claim(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        hash: &RequestHash,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        self.claim_at(scope, key, hash, Utc::now(), lease).await
    }

    /// [`Self::claim`] at `now`, with a lease that may be negative (tests of lapsed
    /// leases).
    #[tracing::instrument(skip(self, hash))]
    pub async fn claim_at(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        hash: &RequestHash,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Claim, StoreError> {
        let lock = match self.db {
            Db::Postgres(_) => " FOR UPDATE",
            Db::Sqlite(_) => "",
        };
        let select = format!(
            "SELECT request_hash, status_code, response, resource_id, locked_until, created_at
             FROM idempotency_keys WHERE scope = $1 AND key = $2{lock}"
        );
        let locked_until = now.checked_add_signed(lease).unwrap_or(now);
        let (key, hash, ttl) = (key.as_str(), hash.as_bytes(), self.ttl);
        let attempt: Result<Claim, StoreError> = async {
            in_write_tx!(&self.db, tx => {
                let found = sqlx::query_as::<_, KeyRow>(sqlx::AssertSqlSafe(select.clone()))
                    .bind(scope)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
                let expired = |k: &KeyRow| k.created_at.checked_add_signed(ttl).is_some_and(|end| end <= now);
                let claim = match found {
                    None => {
                        sqlx::query(
                            "INSERT INTO idempotency_keys (scope, key, request_hash, locked_until, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $5)",
                        )
                        .bind(scope)
                        .bind(key)
                        .bind(hash)
                        .bind(locked_until)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        Claim::New
                    }
                    Some(k) if expired(&k) => {
                        // Past its time: the key starts afresh.
                        sqlx::query(
                            "UPDATE idempotency_keys SET request_hash = $3, status_code = NULL, response = NULL,
                                 resource_id = NULL, locked_until = $4, created_at = $5, updated_at = $5
                             WHERE scope = $1 AND key = $2",
                        )
                        .bind(scope)
                        .bind(key)
                        .bind(hash)
                        .bind(locked_until)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        Claim::New
                    }
                    Some(k) if k.request_hash != hash => Claim::Mismatch,
                    Some(KeyRow { status_code: Some(status), response: Some(body), .. }) => Claim::Replay {
                        status: u16::try_from(status)
                            .map_err(|_| StoreError::Other("a stored status code is out of range".into()))?,
                        body: body.0,
                    },
                    Some(k) if k.resource_id.is_some() || k.locked_until > now => {
                        Claim::InProgress { resource: k.resource_id }
                    }
                    Some(_) => {
                        // The request that held the key stopped without an answer: take it over.
                        sqlx::query("UPDATE idempotency_keys SET locked_until = $3, updated_at = $4 WHERE scope = $1 AND key = $2")
                            .bind(scope)
                            .bind(key)
                            .bind(locked_until)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        Claim::New
                    }
                };
                tx.commit().await?;
                Ok(claim)
            })
        }
        .await;
        self.purge_now_and_then(now).await;
        match attempt {
            // Two first requests raced and the other one inserted the key.
            Err(StoreError::Conflict(_)) => Ok(Claim::InProgress { resource: None }),
            other => other,
        }
    }

    /// Records the answer a claimed request gave, replayed from now on. A 5xx answer is
    /// not recorded: the key stays claimed (a retry after its lease runs the request
    /// again; one tied to a resource answers from the resource).
    #[tracing::instrument(skip(self, body))]
    pub async fn complete(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        status: u16,
        body: &Value,
    ) -> Result<(), StoreError> {
        if status >= 500 {
            return Ok(());
        }
        on_pool!(&self.db, pool => {
            sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4, updated_at = $5 WHERE scope = $1 AND key = $2")
                .bind(scope)
                .bind(key.as_str())
                .bind(i32::from(status))
                .bind(sqlx::types::Json(body))
                .bind(Utc::now())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Forgets a claimed key whose request was refused before it changed anything, or
    /// failed transiently, so a retry runs again. A finished key is never released.
    #[tracing::instrument(skip(self))]
    pub async fn release(&self, scope: &str, key: &IdempotencyKey) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status_code IS NULL")
                .bind(scope)
                .bind(key.as_str())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Deletes every key older than the time keys live; answers how many.
    #[tracing::instrument(skip(self))]
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let Some(before) = now.checked_sub_signed(self.ttl) else {
            return Ok(0);
        };
        let deleted = on_pool!(&self.db, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }

    /// Purges expired keys at most every ten minutes per process; a failure only costs
    /// the purge.
    async fn purge_now_and_then(&self, now: DateTime<Utc>) {
        let last = self.purged_ms.load(Ordering::Relaxed);
        let due = now.timestamp_millis() - last >= PURGE_EVERY.num_milliseconds();
        if due
            && self
                .purged_ms
                .compare_exchange(
                    last,
                    now.timestamp_millis(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
            && let Err(e) = self.purge_expired(now).await
        {
            tracing::warn!(error = %e, "expired idempotency keys could not be purged");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_characters() {
        assert_eq!(
            IdempotencyKey::parse("  k-1 ").map(|k| k.0),
            Ok("k-1".to_owned())
        );
        assert_eq!(IdempotencyKey::parse(" "), Err(KeyError::Missing));
        assert!(IdempotencyKey::parse(&"é".repeat(255)).is_ok());
        assert_eq!(
            IdempotencyKey::parse(&"k".repeat(256)),
            Err(KeyError::TooLong)
        );
        assert_eq!(
            IdempotencyKey::parse("a\u{7}b"),
            Err(KeyError::NotPrintable)
        );
    }

    #[test]
    fn hashes_follow_the_request_not_its_spelling() {
        #[derive(Serialize, serde::Deserialize)]
        struct Asked {
            a: i32,
            b: Vec<i32>,
        }
        let read = |s: &str| serde_json::from_str::<Asked>(s).expect("json");
        let hash = |salt: &[u8], r: &Asked| RequestHash::of(salt, r).expect("hash");
        let (a, b) = (read(r#"{"a": 1, "b": [2]}"#), read(r#"{ "b":[2],"a":1 }"#));
        assert_eq!(hash(b"u", &a), hash(b"u", &b));
        assert_ne!(hash(b"u", &a), hash(b"v", &a), "the salt counts");
        assert_ne!(hash(b"u", &a), hash(b"u", &read(r#"{"a": 2, "b": [2]}"#)));
        assert_eq!(hash(b"", &a).as_bytes().len(), 32);
    }
}
