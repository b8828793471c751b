//! PostgreSQL or Redis going away or freezing under a running server: requests fail fast
//! with 503 problem+json, health says DOWN while readiness stays UP (every pod shares the
//! dependency), and the server recovers by itself.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, FaultyLink, TestApp, serve_args};
use ota_testkit::{self as testkit, eventually};

fn host_port(url: &str) -> SocketAddr {
    let after_scheme = url.split("://").nth(1).expect("url");
    let authority = after_scheme.split(['/', '?']).next().expect("authority");
    let host_port = authority.rsplit('@').next().expect("host");
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    host_port
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("host:port")
}

fn through(url: &str, link: &FaultyLink) -> String {
    let target = host_port(url);
    url.replacen(&target.to_string(), &link.addr.to_string(), 1)
        .replacen(
            &format!("localhost:{}", target.port()),
            &link.addr.to_string(),
            1,
        )
}

async fn health(app: &TestApp) -> (StatusCode, Value) {
    let (status, body) = app.management("/actuator/health").await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Readiness follows this pod alone: a dependency every pod shares being down must not
/// take every pod out of the load balancer at once.
async fn assert_ready(app: &TestApp) {
    let (status, body) = app.management("/actuator/health/readiness").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "readiness must ignore shared dependencies: {body}"
    );
    let doc: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    assert_eq!(doc["status"], "UP", "{body}");
}

#[tokio::test]
async fn postgres_going_away_gives_fast_503s_and_recovery() {
    let Some(server) = testkit::postgres_url() else {
        // Covered on PostgreSQL whenever OTA_TEST_DATABASE_URL is set (always in CI).
        return;
    };
    let url = testkit::fresh_postgres_database(&server).await;
    let link = FaultyLink::to(host_port(&url)).await;
    let backend = Backend {
        label: "postgres",
        database_url: Some(through(&url, &link)),
        redis_url: None,
    };
    let app = TestApp::spawn_with("postgres", serve_args(&backend, &testkit::temp_dir())).await;
    let token = app.signed_in().await;

    link.cut().await;
    let started = Instant::now();
    let (status, headers, problem) = app
        .call(reqwest::Method::GET, "/api/v1/auth/me", None, Some(&token))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed slowly: {:?}",
        started.elapsed()
    );
    let (status, doc) = health(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(doc["status"], "DOWN");
    assert_eq!(doc["components"]["db"]["status"], "DOWN");
    let (status, _) = app.management("/actuator/health/liveness").await;
    assert_eq!(status, StatusCode::OK, "liveness follows the process only");
    assert_ready(&app).await;

    link.restore();
    eventually(
        "recovery after PostgreSQL returns",
        Duration::from_secs(20),
        || async { app.get("/api/v1/auth/me", Some(&token)).await.0 == StatusCode::OK },
    )
    .await;
    let (status, doc) = health(&app).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    app.stop().await;
}

#[tokio::test]
async fn redis_going_away_gives_fast_503s_and_recovery() {
    let Some(redis) = testkit::redis_url() else {
        // Covered on Redis whenever OTA_TEST_REDIS_URL is set (always in CI).
        return;
    };
    let target: SocketAddr = {
        let authority = redis
            .split("://")
            .nth(1)
            .expect("url")
            .split('/')
            .next()
            .expect("host");
        authority
            .replace("localhost", "127.0.0.1")
            .parse()
            .expect("host:port")
    };
    let link = FaultyLink::to(target).await;
    let via = redis.replacen(&target.to_string(), &link.addr.to_string(), 1);
    let backend = Backend {
        label: "redis",
        database_url: None,
        redis_url: Some(via),
    };
    let app = TestApp::spawn_with("redis", serve_args(&backend, &testkit::temp_dir())).await;
    let (email, password, _) = app.register().await;
    let login = json!({"email": email, "password": password});

    link.cut().await;
    let started = Instant::now();
    let (status, _, problem) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            Some(login.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed slowly: {:?}",
        started.elapsed()
    );
    let (status, doc) = health(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(doc["components"]["cache"]["status"], "DOWN");
    assert_ready(&app).await;

    link.restore();
    eventually(
        "recovery after Redis returns",
        Duration::from_secs(20),
        || async { app.post("/api/v1/auth/login", login.clone()).await.0 == StatusCode::OK },
    )
    .await;
    assert_eq!(health(&app).await.0, StatusCode::OK);
    app.stop().await;
}

/// A PostgreSQL connection that stalls (no RST, no answer) fails the request as 503
/// `unavailable` within DB_STATEMENT_TIMEOUT + 1 s instead of holding it until the
/// request deadline; so do requests that arrive during the freeze. Readiness stays UP.
#[tokio::test]
async fn a_frozen_postgres_connection_fails_requests_within_the_statement_timeout() {
    use sqlx::Connection;
    let Some(server) = testkit::postgres_url() else {
        // Covered on PostgreSQL whenever OTA_TEST_DATABASE_URL is set (always in CI).
        return;
    };
    let url = testkit::fresh_postgres_database(&server).await;
    let link = FaultyLink::to(host_port(&url)).await;
    let backend = Backend {
        label: "postgres frozen",
        database_url: Some(through(&url, &link)),
        redis_url: None,
    };
    let statement_timeout = Duration::from_secs(2);
    let mut args = serve_args(&backend, &testkit::temp_dir());
    args.settings.db.statement_timeout = statement_timeout;
    args.settings.http.request_timeout = Duration::from_secs(15);
    let app = TestApp::spawn_with(backend.label, args).await;
    let token = app.signed_in().await;
    let bound = statement_timeout + Duration::from_secs(1);

    // The link freezes while a statement is inside PostgreSQL for certain: it waits on a
    // lock this test holds (over a connection of its own, not through the link).
    let mut blocker = sqlx::PgConnection::connect(&url).await.expect("postgres");
    for sql in ["BEGIN", "LOCK TABLE auth.users IN ACCESS EXCLUSIVE MODE"] {
        sqlx::query(sql).execute(&mut blocker).await.expect(sql);
    }
    let started = Instant::now();
    let in_flight = {
        let http = app.http.clone();
        let url = format!("{}/api/v1/auth/me", app.api);
        let token = token.clone();
        tokio::spawn(async move { http.get(url).bearer_auth(token).send().await })
    };
    let waiting_since = Instant::now();
    loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'auth.users'::regclass",
        )
        .fetch_one(&mut blocker)
        .await
        .expect("pg_locks");
        if waiting > 0 {
            break;
        }
        assert!(
            waiting_since.elapsed() < Duration::from_secs(10),
            "the request never reached PostgreSQL"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    link.freeze();

    let res = in_flight.await.expect("task").expect("an answer");
    let elapsed = started.elapsed();
    let status = res.status();
    let retry_after = res.headers().contains_key("retry-after");
    let problem: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(
        problem["type"], "https://ota-travel.example.com/problems/unavailable",
        "{problem}"
    );
    assert!(retry_after, "{problem}");
    assert!(
        elapsed < bound,
        "answered after {elapsed:?}, not within {bound:?}"
    );

    // A request arriving during the freeze fails as fast: its connection never answers.
    let started = Instant::now();
    let (status, headers, problem) = app
        .call(reqwest::Method::GET, "/api/v1/auth/me", None, Some(&token))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(
        problem["type"], "https://ota-travel.example.com/problems/unavailable",
        "{problem}"
    );
    assert!(headers.contains_key("retry-after"));
    assert!(
        elapsed < bound,
        "answered after {elapsed:?}, not within {bound:?}"
    );

    let (status, doc) = health(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{doc}");
    assert_eq!(doc["components"]["db"]["status"], "DOWN", "{doc}");
    assert_ready(&app).await;

    sqlx::query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .expect("rollback");
    link.restore();
    eventually(
        "recovery after the link thaws",
        Duration::from_secs(20),
        || async { app.get("/api/v1/auth/me", Some(&token)).await.0 == StatusCode::OK },
    )
    .await;
    assert_eq!(health(&app).await.0, StatusCode::OK);
    app.stop().await;
}
