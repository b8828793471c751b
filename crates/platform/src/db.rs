//! Database pools for both engines: PostgreSQL (one schema per service in one database)
//! in production, an SQLite file per service under the data directory by default.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::Stream;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{
    ConnectOptions, Database, Describe, Either, Execute, Executor, Pool, SqlStr, Transaction,
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
///
/// `$pool` is a [`BoundedPool`]: each statement is bounded by the task's
/// [`statement_bound`] (every API request has one), and `$pool.begin()` gives a
/// [`BoundedTx`].
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres(pool) => {
                let $pool = &$crate::db::BoundedPool::new(pool);
                $body
            }
            $crate::db::Db::Sqlite(pool) => {
                let $pool = &$crate::db::BoundedPool::new(pool);
                $body
            }
        }
    };
}

/// Runs the body inside a write transaction `$tx`: a plain transaction on PostgreSQL
/// (row locks decide), `BEGIN IMMEDIATE` on SQLite (the write lock is taken up front, so
/// two writers never both read and then collide). The body commits; dropping rolls back.
/// `$tx` is a [`BoundedTx`]: `BEGIN`, each statement and the commit are bounded by the
/// task's [`statement_bound`].
#[macro_export]
macro_rules! in_write_tx {
    ($db:expr, $tx:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres(pool) => {
                let mut $tx = $crate::db::BoundedPool::new(pool).begin().await?;
                $body
            }
            $crate::db::Db::Sqlite(pool) => {
                let mut $tx = $crate::db::BoundedPool::new(pool)
                    .begin_with("BEGIN IMMEDIATE")
                    .await?;
                $body
            }
        }
    };
}

// ---------------------------------------------------------------------------------------
// Client-side bounds on statements
//
// PostgreSQL's statement_timeout only helps while the server can still answer: a frozen
// connection (a stalled TCP path, no RST) leaves a statement waiting forever. So every
// statement that `on_pool!` and `in_write_tx!` run is also bounded here, by the bound of
// the task it runs in: the API sets one per request (DB_STATEMENT_TIMEOUT plus
// [`STATEMENT_BOUND_MARGIN`]); bulk work opts out with [`unbounded`].

tokio::task_local! {
    static STATEMENT_BOUND: Option<Duration>;
}

/// Added to `DB_STATEMENT_TIMEOUT` for the client-side bound: the server cancels a slow
/// statement itself at the statement timeout and its error needs a moment to arrive, so
/// only an answer that never comes meets the client-side bound.
pub const STATEMENT_BOUND_MARGIN: Duration = Duration::from_millis(500);

/// The client-side bound on one statement in the current task, if any.
pub fn statement_bound() -> Option<Duration> {
    STATEMENT_BOUND.try_with(|b| *b).ok().flatten()
}

/// Runs `work` with every statement of `on_pool!` and `in_write_tx!` bounded to `bound`:
/// past it the statement fails as [`StoreError::Unavailable`](crate::StoreError) (an I/O
/// time-out) and its connection is dropped, not reused.
pub async fn bounded<F: Future>(bound: Duration, work: F) -> F::Output {
    STATEMENT_BOUND.scope(Some(bound), work).await
}

/// Runs `work` without the client-side bound: bulk loads, seeding, imports and
/// migrations, which keep their own longer bounds (on PostgreSQL a `SET LOCAL
/// statement_timeout` in their transaction).
pub async fn unbounded<F: Future>(work: F) -> F::Output {
    STATEMENT_BOUND.scope(None, work).await
}

fn no_answer(bound: Duration) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "no answer from the database within {} ms",
            bound.as_millis()
        ),
    ))
}

async fn within<T>(
    bound: Option<Duration>,
    work: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    match bound {
        None => work.await,
        Some(b) => tokio::time::timeout(b, work)
            .await
            .unwrap_or_else(|_| Err(no_answer(b))),
    }
}

/// A stream that fails once `bound` has passed since it was first polled.
struct Deadline<'e, T> {
    inner: BoxStream<'e, Result<T, sqlx::Error>>,
    bound: Option<Duration>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    expired: bool,
}

impl<T> Stream for Deadline<'_, T> {
    type Item = Result<T, sqlx::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = self.inner.as_mut().poll_next(cx) {
            return Poll::Ready(item);
        }
        let Some(bound) = self.bound else {
            return Poll::Pending;
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(bound)));
        if sleep.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(no_answer(bound))));
        }
        Poll::Pending
    }
}

fn deadline<'e, T: Send + 'e>(
    inner: BoxStream<'e, Result<T, sqlx::Error>>,
    bound: Option<Duration>,
) -> BoxStream<'e, Result<T, sqlx::Error>> {
    Box::pin(Deadline {
        inner,
        bound,
        sleep: None,
        expired: false,
    })
}

/// What `on_pool!` hands its body: the service's pool, whose statements are bounded by
/// the task's [`statement_bound`]. It dereferences to the pool for anything else, and its
/// `begin` gives a [`BoundedTx`].
#[derive(Clone)]
pub struct BoundedPool<DB: Database> {
    pool: Pool<DB>,
    bound: Option<Duration>,
}

impl<DB: Database> std::fmt::Debug for BoundedPool<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedPool")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl<DB: Database> BoundedPool<DB> {
    /// The pool under the current task's bound.
    pub fn new(pool: &Pool<DB>) -> Self {
        Self::with_bound(pool, statement_bound())
    }

    pub fn with_bound(pool: &Pool<DB>, bound: Option<Duration>) -> Self {
        Self {
            pool: pool.clone(),
            bound,
        }
    }

    pub fn bound(&self) -> Option<Duration> {
        self.bound
    }

    /// A transaction whose statements, commit and rollback share the pool's bound.
    pub async fn begin(&self) -> Result<BoundedTx<DB>, sqlx::Error> {
        let tx = within(self.bound, self.pool.begin()).await?;
        Ok(BoundedTx::new(tx, self.bound))
    }

    /// Like [`begin`](Self::begin), opened with `statement` (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin_with(
        &self,
        statement: impl sqlx::SqlSafeStr,
    ) -> Result<BoundedTx<DB>, sqlx::Error> {
        let tx = within(self.bound, self.pool.begin_with(statement)).await?;
        Ok(BoundedTx::new(tx, self.bound))
    }
}

impl<DB: Database> Deref for BoundedPool<DB> {
    type Target = Pool<DB>;

    fn deref(&self) -> &Pool<DB> {
        &self.pool
    }
}

/// Runs one statement on a connection of its own, so a connection that missed the bound
/// can be dropped instead of going back to the pool (where the pool's check of it would
/// wait on the frozen link in turn).
macro_rules! on_own_connection {
    ($pool:expr, $bound:expr, $conn:ident => $call:expr) => {{
        let pool = $pool;
        let bound = $bound;
        Box::pin(async move {
            let mut $conn = pool.acquire().await?;
            let Some(b) = bound else {
                return $call.await;
            };
            let outcome = tokio::time::timeout(b, $call).await;
            match outcome {
                Ok(result) => result,
                Err(_) => {
                    drop($conn.detach());
                    Err(no_answer(b))
                }
            }
        })
    }};
}

impl<'p, DB: Database> Executor<'p> for &'p BoundedPool<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn execute<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<<DB as Database>::QueryResult, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        on_own_connection!(self.pool.clone(), self.bound, conn => (&mut *conn).execute(query))
    }

    fn fetch_all<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Vec<<DB as Database>::Row>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        on_own_connection!(self.pool.clone(), self.bound, conn => (&mut *conn).fetch_all(query))
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<<DB as Database>::Row>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        on_own_connection!(self.pool.clone(), self.bound, conn => (&mut *conn).fetch_optional(query))
    }

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<
        'e,
        Result<Either<<DB as Database>::QueryResult, <DB as Database>::Row>, sqlx::Error>,
    >
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        deadline((&self.pool).fetch_many(query), self.bound)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [<DB as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<DB as Database>::Statement, sqlx::Error>>
    where
        'p: 'e,
    {
        Box::pin(within(
            self.bound,
            (&self.pool).prepare_with(sql, parameters),
        ))
    }

    // sqlx declares `describe` only with its `offline` feature, which the workspace's
    // `macros` feature turns on.
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, sqlx::Error>>
    where
        'p: 'e,
    {
        Box::pin(within(self.bound, (&self.pool).describe(sql)))
    }
}

/// A transaction whose every statement, commit and rollback is bounded like the pool it
/// came from. `&mut *tx` is the executor, as with sqlx's own transaction; dropped without
/// a commit, it rolls back.
pub struct BoundedTx<DB: Database> {
    conn: TxConnection<DB>,
}

/// The executor of a [`BoundedTx`] (`&mut *tx`).
pub struct TxConnection<DB: Database> {
    tx: Transaction<'static, DB>,
    bound: Option<Duration>,
}

impl<DB: Database> std::fmt::Debug for TxConnection<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxConnection")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl<DB: Database> std::fmt::Debug for BoundedTx<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.conn.fmt(f)
    }
}

impl<DB: Database> BoundedTx<DB> {
    pub fn new(tx: Transaction<'static, DB>, bound: Option<Duration>) -> Self {
        Self {
            conn: TxConnection { tx, bound },
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let bound = self.conn.bound;
        within(bound, self.conn.tx.commit()).await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        let bound = self.conn.bound;
        within(bound, self.conn.tx.rollback()).await
    }

    /// sqlx's own transaction, unbounded, for code that needs that type.
    pub fn into_inner(self) -> Transaction<'static, DB> {
        self.conn.tx
    }

    /// The driver's connection inside the transaction, unbounded, for driver-specific
    /// calls (PostgreSQL's COPY).
    pub fn connection(&mut self) -> &mut DB::Connection {
        &mut self.conn.tx
    }
}

impl<DB: Database> Deref for BoundedTx<DB> {
    type Target = TxConnection<DB>;

    fn deref(&self) -> &TxConnection<DB> {
        &self.conn
    }
}

impl<DB: Database> DerefMut for BoundedTx<DB> {
    fn deref_mut(&mut self) -> &mut TxConnection<DB> {
        &mut self.conn
    }
}

impl<'c, DB: Database> Executor<'c> for &'c mut TxConnection<DB>
where
    for<'x> &'x mut DB::Connection: Executor<'x, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<
        'e,
        Result<Either<<DB as Database>::QueryResult, <DB as Database>::Row>, sqlx::Error>,
    >
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        let bound = self.bound;
        let conn: &'c mut DB::Connection = &mut self.tx;
        deadline(conn.fetch_many(query), bound)
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<<DB as Database>::Row>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, DB>,
    {
        let bound = self.bound;
        let conn: &'c mut DB::Connection = &mut self.tx;
        Box::pin(within(bound, conn.fetch_optional(query)))
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [<DB as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<DB as Database>::Statement, sqlx::Error>>
    where
        'c: 'e,
    {
        let bound = self.bound;
        let conn: &'c mut DB::Connection = &mut self.tx;
        Box::pin(within(bound, conn.prepare_with(sql, parameters)))
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, sqlx::Error>>
    where
        'c: 'e,
    {
        let bound = self.bound;
        let conn: &'c mut DB::Connection = &mut self.tx;
        Box::pin(within(bound, conn.describe(sql)))
    }
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
