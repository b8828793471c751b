//! The idempotency-key contract, on SQLite and (with OTA_TEST_DATABASE_URL) PostgreSQL:
//! what claim, complete, release and expiry do, whichever service's table they run on.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ota_platform::db::{Db, Migrations};
use ota_platform::idempotency::{
    ATTACH_RESOURCE, Claim, IdempotencyKey, IdempotencySettings, IdempotencyStore, RequestHash,
};
use ota_platform::on_pool;
use ota_testkit as testkit;
use serde_json::json;
use uuid::Uuid;

static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("tests/idempotency/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("tests/idempotency/sqlite");
static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

const LEASE: Duration = Duration::from_secs(60);

async fn stores_with(ttl: Duration) -> Vec<(&'static str, Db, Arc<IdempotencyStore>)> {
    let settings = IdempotencySettings { key_ttl: ttl };
    testkit::databases("keys-service", &MIGRATIONS)
        .await
        .into_iter()
        .map(|db| {
            let store = Arc::new(IdempotencyStore::new(db.clone(), &settings));
            (db.engine(), db, store)
        })
        .collect()
}

async fn stores() -> Vec<(&'static str, Db, Arc<IdempotencyStore>)> {
    stores_with(IdempotencySettings::default().key_ttl).await
}

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::parse(s).expect("a key")
}

fn hash(n: u8) -> RequestHash {
    RequestHash::from_bytes(&[n; 32])
}

#[tokio::test]
async fn a_key_runs_once_then_replays_its_answer_and_refuses_other_requests() {
    for (engine, _, keys) in stores().await {
        let k1 = key("k1");
        assert_eq!(
            keys.claim("", &k1, &hash(1), LEASE).await.expect(engine),
            Claim::New
        );
        assert_eq!(
            keys.claim("", &k1, &hash(1), LEASE).await.expect(engine),
            Claim::InProgress { resource: None },
            "{engine}: the first request still runs"
        );
        assert_eq!(
            keys.claim("", &k1, &hash(2), LEASE).await.expect(engine),
            Claim::Mismatch
        );
        let body = json!({"id": "p1", "status": "authorized"});
        keys.complete("", &k1, 201, &body).await.expect(engine);
        assert_eq!(
            keys.claim("", &k1, &hash(1), LEASE).await.expect(engine),
            Claim::Replay {
                status: 201,
                body: body.clone()
            },
            "{engine}"
        );
        assert_eq!(
            keys.claim("", &k1, &hash(2), LEASE).await.expect(engine),
            Claim::Mismatch
        );
        // A finished key is never released.
        keys.release("", &k1).await.expect(engine);
        assert!(matches!(
            keys.claim("", &k1, &hash(1), LEASE).await.expect(engine),
            Claim::Replay { .. }
        ));
        // Another scope's same key is its own.
        assert_eq!(
            keys.claim("user-2", &k1, &hash(2), LEASE)
                .await
                .expect(engine),
            Claim::New,
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_released_key_runs_again_and_5xx_answers_are_never_replayed() {
    for (engine, _, keys) in stores().await {
        let k2 = key("k2");
        assert_eq!(
            keys.claim("", &k2, &hash(1), LEASE).await.expect(engine),
            Claim::New
        );
        keys.release("", &k2).await.expect(engine);
        assert_eq!(
            keys.claim("", &k2, &hash(2), LEASE).await.expect(engine),
            Claim::New,
            "{engine}: a refusal before anything changed frees the key"
        );
        // A 5xx answer is not stored: the key stays running, and is released or lapses.
        keys.complete("", &k2, 503, &json!({"status": 503}))
            .await
            .expect(engine);
        assert_eq!(
            keys.claim("", &k2, &hash(2), LEASE).await.expect(engine),
            Claim::InProgress { resource: None },
            "{engine}"
        );
        keys.release("", &k2).await.expect(engine);
        assert_eq!(
            keys.claim("", &k2, &hash(2), LEASE).await.expect(engine),
            Claim::New
        );
    }
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_over_unless_the_key_made_something() {
    for (engine, db, keys) in stores().await {
        let (k3, k4) = (key("k3"), key("k4"));
        let lapsed = chrono::Duration::milliseconds(-1);
        let now = Utc::now();
        assert_eq!(
            keys.claim_at("", &k3, &hash(1), now, lapsed)
                .await
                .expect(engine),
            Claim::New
        );
        assert_eq!(
            keys.claim("", &k3, &hash(1), LEASE).await.expect(engine),
            Claim::New,
            "{engine}: a crashed request's key is taken over"
        );
        assert_eq!(
            keys.claim("", &k3, &hash(1), LEASE).await.expect(engine),
            Claim::InProgress { resource: None }
        );
        // A request that created something holds its key however long it runs.
        assert_eq!(
            keys.claim_at("u", &k4, &hash(1), now, lapsed)
                .await
                .expect(engine),
            Claim::New
        );
        let made = Uuid::now_v7();
        on_pool!(&db, pool => {
            sqlx::query(ATTACH_RESOURCE)
                .bind("u")
                .bind(k4.as_str())
                .bind(made)
                .bind(Utc::now())
                .execute(pool)
                .await
                .expect(engine);
        });
        assert_eq!(
            keys.claim("u", &k4, &hash(1), LEASE).await.expect(engine),
            Claim::InProgress {
                resource: Some(made)
            },
            "{engine}"
        );
        keys.release("u", &k4).await.expect(engine);
    }
}

#[tokio::test]
async fn keys_expire_and_are_purged() {
    for (engine, _, keys) in stores_with(Duration::from_secs(3600)).await {
        let old = Utc::now() - chrono::Duration::hours(2);
        let k5 = key("k5");
        assert_eq!(
            keys.claim_at("", &k5, &hash(1), old, chrono::Duration::seconds(60))
                .await
                .expect(engine),
            Claim::New
        );
        keys.complete("", &k5, 201, &json!({"old": true}))
            .await
            .expect(engine);
        // Past its time the key starts afresh, whatever it asked before.
        assert_eq!(
            keys.claim("", &k5, &hash(2), LEASE).await.expect(engine),
            Claim::New,
            "{engine}: an expired key is forgotten"
        );
        let k6 = key("k6");
        assert_eq!(
            keys.claim_at("", &k6, &hash(1), old, chrono::Duration::seconds(60))
                .await
                .expect(engine),
            Claim::New
        );
        assert_eq!(
            keys.purge_expired(Utc::now()).await.expect(engine),
            1,
            "{engine}"
        );
        assert_eq!(keys.purge_expired(Utc::now()).await.expect(engine), 0);
        assert_eq!(
            keys.claim("", &k5, &hash(3), LEASE).await.expect(engine),
            Claim::Mismatch,
            "{engine}: a live key is kept"
        );
    }
}

#[tokio::test]
async fn concurrent_claims_of_one_key_start_it_once() {
    for (engine, _, keys) in stores().await {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let keys = keys.clone();
                tokio::spawn(async move { keys.claim("", &key("race"), &hash(7), LEASE).await })
            })
            .collect();
        let mut started = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(Claim::New) => started += 1,
                Ok(Claim::InProgress { .. }) => {}
                Ok(other) => panic!("{engine}: {other:?}"),
                Err(e) => assert!(e.is_retryable(), "{engine}: {e:?}"),
            }
        }
        assert_eq!(started, 1, "{engine}");
    }
}
