//! Shared by the test suites of every crate (a dev-dependency only, never in the `ota`
//! binary): the engines a contract test runs on, and waiting for what happens later.
//!
//! SQLite and the in-process cache always; PostgreSQL when `OTA_TEST_DATABASE_URL` is
//! set and Redis when `OTA_TEST_REDIS_URL` is set. Set but unreachable is a failure,
//! never a silent skip.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

use ota_platform::cache::{CacheBackend, MemoryCache, RedisCache};
use ota_platform::config::DbSettings;
use ota_platform::db::{Db, Migrations};

pub const DATABASE_ENV: &str = "OTA_TEST_DATABASE_URL";
pub const REDIS_ENV: &str = "OTA_TEST_REDIS_URL";

/// A fresh, empty directory for one test.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ota-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// The PostgreSQL test server, if one is configured.
pub fn postgres_url() -> Option<String> {
    std::env::var(DATABASE_ENV).ok().filter(|s| !s.is_empty())
}

/// The Redis test server, if one is configured.
pub fn redis_url() -> Option<String> {
    std::env::var(REDIS_ENV).ok().filter(|s| !s.is_empty())
}

/// Creates an empty database on the test server and returns its URL, so each test
/// runs alone. Panics when the server is configured but unreachable.
pub async fn fresh_postgres_database(server_url: &str) -> String {
    let options = PgConnectOptions::from_str(server_url)
        .unwrap_or_else(|e| panic!("{DATABASE_ENV} is not a PostgreSQL URL: {e}"));
    let mut conn = tokio::time::timeout(Duration::from_secs(10), options.connect())
        .await
        .unwrap_or_else(|_| panic!("{DATABASE_ENV} is set but PostgreSQL did not answer"))
        .unwrap_or_else(|e| panic!("{DATABASE_ENV} is set but PostgreSQL is unreachable: {e}"));
    let name = format!("ota_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server_url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{root}/{name}{query}")
}

/// Database settings for tests: short timeouts so faults show quickly.
pub fn db_settings(url: Option<String>) -> DbSettings {
    DbSettings {
        database_url: url.map(Into::into),
        db_host: None,
        db_port: 5432,
        db_name: "otatravel".into(),
        db_user: "ota".into(),
        db_password: None,
        db_sslmode: "disable".into(),
        pool_max: 10,
        acquire_timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(5),
        startup_timeout: Duration::from_secs(5),
    }
}

/// One open database per engine under test, each fresh and migrated.
pub async fn databases(service: &str, migrations: &Migrations) -> Vec<Db> {
    let mut dbs = Vec::new();
    let dir = temp_dir();
    dbs.push(
        Db::open(&db_settings(None), &dir, service, migrations)
            .await
            .unwrap_or_else(|e| panic!("opening SQLite for {service}: {e:#}")),
    );
    if let Some(server) = postgres_url() {
        let url = fresh_postgres_database(&server).await;
        dbs.push(
            Db::open(&db_settings(Some(url)), &dir, service, migrations)
                .await
                .unwrap_or_else(|e| panic!("opening PostgreSQL for {service}: {e:#}")),
        );
    }
    dbs
}

/// One cache per engine under test.
pub async fn caches() -> Vec<Arc<dyn CacheBackend>> {
    let mut caches: Vec<Arc<dyn CacheBackend>> = vec![Arc::new(MemoryCache::new(10_000))];
    if let Some(url) = redis_url() {
        let redis = RedisCache::connect(&url, Duration::from_secs(2))
            .await
            .unwrap_or_else(|e| panic!("{REDIS_ENV} is set but Redis is unreachable: {e:#}"));
        caches.push(Arc::new(redis));
    }
    caches
}

/// The date `offset` days from today (UTC), as `YYYY-MM-DD`.
pub fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

/// Polls `check` every 200 ms until it answers true; panics naming `what` when it has
/// not within `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} did not happen within {within:?}");
}
