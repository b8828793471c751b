//! Client-side bounds on the statements of `on_pool!` and `in_write_tx!`: a statement
//! with no answer in time fails as `Unavailable` well before the server's own timeout,
//! the pool keeps working afterwards, and bulk work can opt out.

use std::str::FromStr;
use std::time::{Duration, Instant};

use ota_platform::db::{self, Db};
use ota_platform::{StoreError, in_write_tx, on_pool};
use ota_testkit as testkit;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

/// The server's own bound (PostgreSQL statement and lock timeouts, SQLite busy timeout).
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);
const BOUND: Duration = Duration::from_millis(300);

enum Blocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Blocker {
    async fn release(self) {
        match self {
            Blocker::Sqlite(mut c) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut c)
                    .await
                    .expect("rollback");
            }
            Blocker::Postgres(mut c) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut c)
                    .await
                    .expect("rollback");
            }
        }
    }
}

/// Each engine with a table `t`, and a way to hold its write lock from outside.
struct Engine {
    db: Db,
    sqlite_file: Option<std::path::PathBuf>,
    postgres_url: Option<String>,
}

impl Engine {
    async fn all() -> Vec<Engine> {
        let file = testkit::temp_dir().join("bounds.db");
        let options = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(SERVER_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .expect("sqlite");
        let mut all = vec![Engine {
            db: Db::Sqlite(pool),
            sqlite_file: Some(file),
            postgres_url: None,
        }];
        if let Some(server) = testkit::postgres_url() {
            let url = testkit::fresh_postgres_database(&server).await;
            let ms = SERVER_TIMEOUT.as_millis().to_string();
            let options = PgConnectOptions::from_str(&url).expect("url").options([
                ("statement_timeout", ms.as_str()),
                ("lock_timeout", ms.as_str()),
            ]);
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .expect("postgres");
            all.push(Engine {
                db: Db::Postgres(pool),
                sqlite_file: None,
                postgres_url: Some(url),
            });
        }
        for e in &all {
            on_pool!(&e.db, pool => {
                sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)").execute(pool).await.map(|_| ())
            })
            .expect("table");
        }
        all
    }

    async fn block_writes(&self) -> Blocker {
        if let Some(url) = &self.postgres_url {
            let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
            for sql in ["BEGIN", "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"] {
                sqlx::query(sql).execute(&mut c).await.expect(sql);
            }
            return Blocker::Postgres(c);
        }
        let file = self.sqlite_file.as_ref().expect("sqlite file");
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
            .await
            .expect("sqlite");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut c)
            .await
            .expect("write lock");
        Blocker::Sqlite(c)
    }
}

async fn insert(db: &Db, id: i64) -> Result<(), StoreError> {
    on_pool!(db, pool => {
        sqlx::query("INSERT INTO t (id) VALUES ($1)").bind(id).execute(pool).await.map(|_| ()).map_err(StoreError::from)
    })
}

async fn insert_in_tx(db: &Db, id: i64) -> Result<(), StoreError> {
    in_write_tx!(db, tx => {
        sqlx::query("INSERT INTO t (id) VALUES ($1)").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

#[tokio::test]
async fn a_statement_without_an_answer_in_time_is_unavailable_and_the_pool_recovers() {
    for engine in Engine::all().await {
        let label = engine.db.engine();
        let blocker = engine.block_writes().await;
        for in_tx in [false, true] {
            let started = Instant::now();
            let result = db::bounded(BOUND, async {
                if in_tx {
                    insert_in_tx(&engine.db, 1).await
                } else {
                    insert(&engine.db, 1).await
                }
            })
            .await;
            assert!(
                matches!(result, Err(StoreError::Unavailable(_))),
                "{label} (transaction: {in_tx}): {result:?}"
            );
            assert!(
                started.elapsed() < SERVER_TIMEOUT / 2,
                "{label}: the client-side bound did not apply: {:?}",
                started.elapsed()
            );
        }
        blocker.release().await;
        // Connections that missed the bound are replaced; the pool serves on.
        db::bounded(BOUND * 10, insert(&engine.db, 2))
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        db::bounded(BOUND * 10, insert_in_tx(&engine.db, 3))
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}

#[tokio::test]
async fn bulk_work_opts_out_of_the_bound() {
    assert_eq!(db::statement_bound(), None, "no bound outside a request");
    db::bounded(BOUND, async {
        assert_eq!(db::statement_bound(), Some(BOUND));
        db::unbounded(async {
            assert_eq!(db::statement_bound(), None);
        })
        .await;
        assert_eq!(db::statement_bound(), Some(BOUND));
    })
    .await;
    for engine in Engine::all().await {
        let label = engine.db.engine();
        let blocker = engine.block_writes().await;
        // Under the request bound this insert would fail at BOUND; opted out, it waits for
        // the lock, which goes a little later.
        let waiting = db::bounded(
            BOUND,
            db::unbounded(async {
                let started = Instant::now();
                insert_in_tx(&engine.db, 10)
                    .await
                    .map(|()| started.elapsed())
            }),
        );
        let release = async {
            tokio::time::sleep(BOUND * 3).await;
            blocker.release().await;
        };
        let (waited, ()) = tokio::join!(waiting, release);
        let waited = waited.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(waited >= BOUND * 3, "{label}: did not wait: {waited:?}");
    }
}
