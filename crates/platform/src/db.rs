//! Database pools for both engines: PostgreSQL (one schema per service in one database)
//! in production, an SQLite file per service under the data directory by default.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::ConnectOptions;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::DbSettings;

/// Statements slower than this are logged as warnings. Requests are bounded by the
/// statement timeout well below it; only bulk work (seeding, loading the search index)
/// comes near it.
const SLOW_STATEMENT: Duration = Duration::from_secs(10);

/// The migrations of one service, one folder per engine with matching version names.
pub struct Migrations {
    pub postgres: &'static Migrator,
    pub sqlite: &'static Migrator,
}

/// An open pool on one of the two engines. Stores match on it once, at construction.
#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Db {
    /// Opens the service's pool and applies its migrations, retrying an unreachable
    /// database until `startup_timeout`.
    pub async fn open(
        settings: &DbSettings,
        data_dir: &Path,
        service: &str,
        migrations: &Migrations,
    ) -> anyhow::Result<Db> {
        let schema = schema_name(service);
        let deadline = Instant::now() + settings.startup_timeout;
        let mut delay = Duration::from_millis(200);
        loop {
            match Self::try_open(settings, data_dir, &schema, migrations).await {
                Ok(db) => return Ok(db),
                Err(e) if Instant::now() + delay < deadline && is_unreachable(&e) => {
                    tracing::warn!(service, error = %format!("{e:#}"), retry_in_ms = delay.as_millis() as u64, "database not reachable yet");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(3));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_open(
        settings: &DbSettings,
        data_dir: &Path,
        schema: &str,
        migrations: &Migrations,
    ) -> anyhow::Result<Db> {
        match settings.postgres_url() {
            Some(url) => {
                let statement_ms = settings.statement_timeout.as_millis().to_string();
                let options = PgConnectOptions::from_str(url.expose_secret())
                    .context("DATABASE_URL / DB_* settings do not form a valid PostgreSQL URL")?
                    .application_name(&format!("ota-{schema}"))
                    .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT)
                    .options([
                        ("search_path", schema),
                        ("statement_timeout", statement_ms.as_str()),
                        ("lock_timeout", statement_ms.as_str()),
                    ]);
                // The schema must exist before a connection whose search_path names it
                // can hold the migration table.
                let bootstrap = PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options.clone())
                    .await
                    .context("connecting to PostgreSQL")?;
                let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
                sqlx::query(sqlx::AssertSqlSafe(create))
                    .execute(&bootstrap)
                    .await
                    .context("creating the service schema")?;
                bootstrap.close().await;
                let pool = PgPoolOptions::new()
                    .max_connections(settings.pool_max)
                    .min_connections(0)
                    .acquire_timeout(settings.acquire_timeout)
                    .idle_timeout(Duration::from_secs(300))
                    .connect_with(options)
                    .await
                    .context("connecting to PostgreSQL")?;
                migrations
                    .postgres
                    .run(&pool)
                    .await
                    .context("applying PostgreSQL migrations")?;
                Ok(Db::Postgres(pool))
            }
            None => {
                std::fs::create_dir_all(data_dir).with_context(|| {
                    format!("creating the data directory {}", data_dir.display())
                })?;
                let file = data_dir.join(format!("{schema}.db"));
                let options = SqliteConnectOptions::new()
                    .filename(&file)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(settings.statement_timeout)
                    .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(settings.pool_max.clamp(1, 16))
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options)
                    .await
                    .with_context(|| format!("opening {}", file.display()))?;
                migrations
                    .sqlite
                    .run(&pool)
                    .await
                    .context("applying SQLite migrations")?;
                Ok(Db::Sqlite(pool))
            }
        }
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Db::Postgres(_) => "postgres",
            Db::Sqlite(_) => "sqlite",
        }
    }

    /// A cheap round trip, bounded in time, for health checks.
    pub async fn ping(&self, timeout: Duration) -> Result<(), String> {
        let check = async {
            match self {
                Db::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ()),
                Db::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ()),
            }
        };
        match tokio::time::timeout(timeout, check).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        }
    }

    /// (open connections, idle connections, maximum).
    pub fn pool_stats(&self) -> (u32, u32, u32) {
        match self {
            Db::Postgres(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
            Db::Sqlite(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
        }
    }

    /// True once the server has closed the pool on shutdown: background work stops.
    pub fn is_closed(&self) -> bool {
        match self {
            Db::Postgres(p) => p.is_closed(),
            Db::Sqlite(p) => p.is_closed(),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Postgres(p) => p.close().await,
            Db::Sqlite(p) => p.close().await,
        }
    }
}

/// `auth-service` → `auth`: the PostgreSQL schema and SQLite file of a service.
pub fn schema_name(service: &str) -> String {
    service
        .trim_end_matches("-service")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn is_unreachable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<sqlx::Error>().is_some_and(|e| {
            matches!(
                e,
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)
            ) || matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("57P03"))
        })
    })
}

/// A service's migrations: `migrations/postgres` and `migrations/sqlite` beside its
/// Cargo.toml, embedded at compile time.
#[macro_export]
macro_rules! service_migrations {
    () => {{
        static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
        static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
        $crate::db::Migrations {
            postgres: &POSTGRES,
            sqlite: &SQLITE,
        }
    }};
}

/// Runs the same body against whichever engine `db` is, so a store whose SQL is the
/// same on both engines is written once while each engine keeps its native types.
/// Where the engines differ, match on [`Db`] directly instead.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres($pool) => $body,
            $crate::db::Db::Sqlite($pool) => $body,
        }
    };
}

/// Runs the body inside a write transaction `$tx`: a plain transaction on PostgreSQL
/// (row locks decide), `BEGIN IMMEDIATE` on SQLite (the write lock is taken up front, so
/// two writers never both read and then collide). The body commits; dropping rolls back.
#[macro_export]
macro_rules! in_write_tx {
    ($db:expr, $tx:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                $body
            }
            $crate::db::Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                $body
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::schema_name;

    #[test]
    fn schema_names_follow_the_service() {
        assert_eq!(schema_name("auth-service"), "auth");
        assert_eq!(schema_name("search-service"), "search");
        assert_eq!(schema_name("frontend"), "frontend");
    }
}
