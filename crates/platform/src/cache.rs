//! The shared cache: Redis when `REDIS_URL` is set (reconnects by itself after Redis
//! restarts), otherwise an in-process cache with TTLs. One trait, two engines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::ExposeSecret;

use crate::config::CacheSettings;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache unavailable: {0}")]
    Unavailable(String),
}

/// A counter in a fixed window: its value and the time left before it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub value: u64,
    pub resets_in: Duration,
}

/// What both engines offer. Keys are plain strings; values are bytes.
#[async_trait]
pub trait CacheBackend: Send + Sync + 'static {
    fn engine(&self) -> &'static str;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    /// Adds one; the first increment starts a window of `window`.
    async fn incr(&self, key: &str, window: Duration) -> Result<Counter, CacheError>;
    /// The counter's current value, if its window is open.
    async fn counter(&self, key: &str) -> Result<Option<Counter>, CacheError>;
    async fn ping(&self) -> Result<(), CacheError>;
    /// Reads a value and renews its TTL (sliding expiry), in one step.
    async fn get_renewing(&self, key: &str, ttl: Duration) -> Result<Option<Vec<u8>>, CacheError>;
    /// Writes `value` only if the current value is `expected` (`None`: absent). Answers
    /// whether it wrote, so read-modify-write callers can retry instead of losing an
    /// update to a concurrent writer.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError>;
}

/// Connects the configured engine.
pub async fn connect(settings: &CacheSettings) -> anyhow::Result<Arc<dyn CacheBackend>> {
    match &settings.redis_url {
        Some(url) => Ok(Arc::new(
            RedisCache::connect(url.expose_secret(), settings.redis_timeout).await?,
        )),
        None => Ok(Arc::new(MemoryCache::new(100_000))),
    }
}

/// One service's view of the cache: its keys prefixed with the service name, hits and
/// misses counted in `cache_requests_total`.
#[derive(Clone)]
pub struct ServiceCache {
    prefix: String,
    service: &'static str,
    backend: Arc<dyn CacheBackend>,
}

impl ServiceCache {
    pub fn new(prefix: &str, service: &'static str, backend: Arc<dyn CacheBackend>) -> Self {
        Self {
            prefix: format!("{prefix}:{service}:"),
            service,
            backend,
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub fn backend(&self) -> &Arc<dyn CacheBackend> {
        &self.backend
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let found = self.backend.get(&self.key(key)).await?;
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("cache_requests_total", "service" => self.service, "result" => result)
            .increment(1);
        Ok(found)
    }

    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        self.backend.set(&self.key(key), value, ttl).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.backend.delete(&self.key(key)).await
    }

    pub async fn incr(&self, key: &str, window: Duration) -> Result<Counter, CacheError> {
        self.backend.incr(&self.key(key), window).await
    }

    pub async fn counter(&self, key: &str) -> Result<Option<Counter>, CacheError> {
        self.backend.counter(&self.key(key)).await
    }

    pub async fn get_renewing(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, CacheError> {
        let found = self.backend.get_renewing(&self.key(key), ttl).await?;
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("cache_requests_total", "service" => self.service, "result" => result)
            .increment(1);
        Ok(found)
    }

    pub async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        self.backend
            .compare_and_set(&self.key(key), expected, value, ttl)
            .await
    }
}

// ---------------------------------------------------------------------------------------
// In-process engine

#[derive(Clone)]
struct Entry {
    data: Arc<[u8]>,
    expires_at: Instant,
}

struct EntryExpiry;

impl moka::Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, v: &Entry, now: Instant) -> Option<Duration> {
        Some(v.expires_at.saturating_duration_since(now))
    }
    fn expire_after_update(
        &self,
        _: &String,
        v: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(v.expires_at.saturating_duration_since(now))
    }
}

/// Bounded in-process cache with per-entry TTLs (the embedded default).
pub struct MemoryCache {
    entries: moka::sync::Cache<String, Entry>,
}

impl MemoryCache {
    pub fn new(max_entries: u64) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(EntryExpiry)
                .build(),
        }
    }

    fn live(&self, key: &str) -> Option<Entry> {
        self.entries
            .get(key)
            .filter(|e| e.expires_at > Instant::now())
    }
}

fn decode_count(data: &[u8]) -> u64 {
    <[u8; 8]>::try_from(data).map_or(0, u64::from_le_bytes)
}

#[async_trait]
impl CacheBackend for MemoryCache {
    fn engine(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.live(key).map(|e| e.data.to_vec()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let entry = Entry {
            data: Arc::from(value),
            expires_at: Instant::now() + ttl,
        };
        self.entries.insert(key.to_owned(), entry);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.entries.invalidate(key);
        Ok(())
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<Counter, CacheError> {
        let now = Instant::now();
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let (count, expires_at) = match current.map(|e| e.into_value()) {
                    Some(e) if e.expires_at > now => (decode_count(&e.data) + 1, e.expires_at),
                    _ => (1, now + window),
                };
                moka::ops::compute::Op::Put(Entry {
                    data: Arc::from(count.to_le_bytes().as_slice()),
                    expires_at,
                })
            });
        let entry = match result {
            moka::ops::compute::CompResult::Inserted(e)
            | moka::ops::compute::CompResult::ReplacedWith(e) => e.into_value(),
            _ => return Err(CacheError::Unavailable("counter update lost".into())),
        };
        Ok(Counter {
            value: decode_count(&entry.data),
            resets_in: entry.expires_at.saturating_duration_since(now),
        })
    }

    async fn counter(&self, key: &str) -> Result<Option<Counter>, CacheError> {
        let now = Instant::now();
        Ok(self.live(key).map(|e| Counter {
            value: decode_count(&e.data),
            resets_in: e.expires_at.saturating_duration_since(now),
        }))
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    async fn get_renewing(&self, key: &str, ttl: Duration) -> Result<Option<Vec<u8>>, CacheError> {
        let now = Instant::now();
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| match current.map(|e| e.into_value()) {
                Some(e) if e.expires_at > now => moka::ops::compute::Op::Put(Entry {
                    data: e.data,
                    expires_at: now + ttl,
                }),
                _ => moka::ops::compute::Op::Nop,
            });
        Ok(match result {
            moka::ops::compute::CompResult::ReplacedWith(e) => Some(e.into_value().data.to_vec()),
            _ => None,
        })
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let now = Instant::now();
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let live = current
                    .map(|e| e.into_value())
                    .filter(|e| e.expires_at > now);
                if live.as_ref().map(|e| &e.data[..]) == expected {
                    moka::ops::compute::Op::Put(Entry {
                        data: Arc::from(value),
                        expires_at: now + ttl,
                    })
                } else {
                    moka::ops::compute::Op::Nop
                }
            });
        Ok(matches!(
            result,
            moka::ops::compute::CompResult::Inserted(_)
                | moka::ops::compute::CompResult::ReplacedWith(_)
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Redis engine

/// Redis through a connection manager that reconnects by itself; every call is bounded
/// by `timeout` so a dead Redis fails requests fast instead of hanging them.
pub struct RedisCache {
    conn: redis::aio::ConnectionManager,
    timeout: Duration,
}

const INCR_SCRIPT: &str = r"
local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {v, ttl}
";

const CAS_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
local matches
if ARGV[1] == '1' then matches = (current == false) else matches = (current == ARGV[2]) end
if matches then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  return 1
end
return 0
";

impl RedisCache {
    pub async fn connect(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let conn = tokio::time::timeout(
            timeout * 4,
            redis::aio::ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("Redis did not answer within {timeout:?}"))?
        .map_err(|e| anyhow::anyhow!("connecting to Redis: {e}"))?;
        Ok(Self { conn, timeout })
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, CacheError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(CacheError::Unavailable(e.to_string())),
            Err(_) => Err(CacheError::Unavailable(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().clamp(1, u64::MAX as u128) as u64
}

#[async_trait]
impl CacheBackend for RedisCache {
    fn engine(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.run(redis::cmd("GET").arg(key).to_owned()).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value).arg("PX").arg(millis(ttl));
        self.run::<()>(cmd).await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.run::<()>(redis::cmd("DEL").arg(key).to_owned()).await
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<Counter, CacheError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(INCR_SCRIPT).arg(1).arg(key).arg(millis(window));
        let (value, ttl_ms): (i64, i64) = self.run(cmd).await?;
        Ok(Counter {
            value: value.max(0) as u64,
            resets_in: Duration::from_millis(ttl_ms.max(0) as u64),
        })
    }

    async fn counter(&self, key: &str) -> Result<Option<Counter>, CacheError> {
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(key).cmd("PTTL").arg(key);
        let mut conn = self.conn.clone();
        let answer = tokio::time::timeout(
            self.timeout,
            pipe.query_async::<(Option<u64>, i64)>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok((Some(value), ttl))) if ttl > 0 => Ok(Some(Counter {
                value,
                resets_in: Duration::from_millis(ttl as u64),
            })),
            Ok(Ok(_)) => Ok(None),
            Ok(Err(e)) => Err(CacheError::Unavailable(e.to_string())),
            Err(_) => Err(CacheError::Unavailable("no answer in time".into())),
        }
    }

    async fn get_renewing(&self, key: &str, ttl: Duration) -> Result<Option<Vec<u8>>, CacheError> {
        self.run(
            redis::cmd("GETEX")
                .arg(key)
                .arg("PX")
                .arg(millis(ttl))
                .to_owned(),
        )
        .await
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(CAS_SCRIPT)
            .arg(1)
            .arg(key)
            .arg(if expected.is_none() { "1" } else { "0" })
            .arg(expected.unwrap_or_default())
            .arg(value)
            .arg(millis(ttl));
        let written: i64 = self.run(cmd).await?;
        Ok(written == 1)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let pong: String = self.run(redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(CacheError::Unavailable(format!("unexpected answer {pong}")))
        }
    }
}
