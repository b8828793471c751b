//! PostgreSQL or Redis going away under a running server: requests fail fast with 503
//! problem+json, health says DOWN, and the server recovers by itself.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, FaultyLink, TestApp, serve_args};
use ota_platform::testkit;

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

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what} did not happen within 20 s");
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
    let (_, _, session) = app.register().await;
    let token = session["access_token"].as_str().expect("token").to_owned();

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
    let (status, _) = app.management("/actuator/health/readiness").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    link.restore();
    eventually("recovery after PostgreSQL returns", || async {
        app.get("/api/v1/auth/me", Some(&token)).await.0 == StatusCode::OK
    })
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

    link.restore();
    eventually("recovery after Redis returns", || async {
        app.post("/api/v1/auth/login", login.clone()).await.0 == StatusCode::OK
    })
    .await;
    assert_eq!(health(&app).await.0, StatusCode::OK);
    app.stop().await;
}
