//! What every service shares: management endpoints, problem answers, headers, the
//! OpenAPI document, trace propagation and the graceful stop.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, backends};

#[tokio::test]
async fn management_reports_health_metrics_and_info() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (status, body) = app.management("/actuator/health").await;
        assert_eq!(status, StatusCode::OK, "{l}: {body}");
        let health: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(health["status"], "UP", "{l}");
        assert_eq!(health["components"]["db"]["status"], "UP", "{l}");
        assert_eq!(health["components"]["cache"]["status"], "UP", "{l}");
        let engine = if backend.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        };
        assert_eq!(
            health["components"]["db"]["components"]["auth-service"]["details"]["database"], engine,
            "{l}"
        );
        for probe in ["/actuator/health/liveness", "/actuator/health/readiness"] {
            let (status, body) = app.management(probe).await;
            assert_eq!(status, StatusCode::OK, "{l}: {probe}");
            assert!(body.contains("\"UP\""), "{l}: {probe}: {body}");
        }

        app.register().await;
        app.get("/api/v1/auth/me", None).await;
        let (status, metrics) = app.management("/actuator/prometheus").await;
        assert_eq!(status, StatusCode::OK, "{l}");
        for expected in [
            "http_server_requests_seconds_bucket{service=\"auth-service\",method=\"POST\",route=\"/api/v1/auth/register\",status=\"201\"",
            "http_server_requests_seconds_count{service=\"auth-service\",method=\"GET\",route=\"/api/v1/auth/me\",status=\"401\"}",
            "db_pool_connections{service=\"auth-service\",state=\"in_use\"}",
            "db_pool_max_connections{service=\"auth-service\"}",
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
        ] {
            assert!(metrics.contains(expected), "{l}: missing {expected}");
        }

        let (status, body) = app.management("/actuator/info").await;
        assert_eq!(status, StatusCode::OK, "{l}");
        let info: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(info["build"]["version"], env!("CARGO_PKG_VERSION"), "{l}");
        assert!(info["git"]["commit"]["id"].is_string(), "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn errors_are_problem_json_with_security_headers() {
    let backend = backends().await.remove(0);
    let app = TestApp::spawn(&backend).await;
    type Body = Option<(&'static str, Vec<u8>)>;
    let cases: Vec<(Method, &str, Body, StatusCode)> = vec![
        (Method::GET, "/api/v1/nowhere", None, StatusCode::NOT_FOUND),
        (
            Method::DELETE,
            "/api/v1/auth/login",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::POST,
            "/api/v1/auth/login",
            Some(("text/plain", b"hello".to_vec())),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Method::POST,
            "/api/v1/auth/login",
            Some(("application/json", b"{\"email\": ".to_vec())),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/auth/login",
            Some(("application/json", vec![b' '; 200 * 1024])),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (method, path, body, expected) in cases {
        let mut req = app
            .http
            .request(method.clone(), format!("{}{path}", app.api));
        if let Some((ct, bytes)) = body {
            req = req.header("content-type", ct).body(bytes);
        }
        let res = req.send().await.expect("answer");
        assert_eq!(res.status(), expected, "{method} {path}");
        let h = res.headers().clone();
        assert_eq!(
            h["content-type"], "application/problem+json",
            "{method} {path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(h.contains_key("strict-transport-security"));
        assert!(h.contains_key("content-security-policy"));
        assert!(h.contains_key("x-request-id"));
        let problem: Value = res.json().await.expect("problem json");
        assert_eq!(problem["status"], expected.as_u16(), "{method} {path}");
        assert!(
            problem["title"].is_string()
                && problem["type"].is_string()
                && problem["detail"].is_string()
        );
    }
    // A request id sent by the caller comes back.
    let res = app
        .http
        .get(format!("{}/api/v1/auth/me", app.api))
        .header("x-request-id", "req-12345")
        .send()
        .await
        .expect("answer");
    assert_eq!(res.headers()["x-request-id"], "req-12345");
    app.stop().await;
}

/// Every endpoint of the public contract (API.md), as its method and path.
const CONTRACT: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("get", "/api/v1/airports"),
    ("get", "/api/v1/flights/search"),
    ("get", "/api/v1/hotels/search"),
    ("get", "/api/v1/offers/{offer_id}"),
    ("get", "/api/v1/cart"),
    ("delete", "/api/v1/cart"),
    ("post", "/api/v1/cart/items"),
    ("delete", "/api/v1/cart/items/{item_id}"),
    ("post", "/api/v1/payment-methods"),
    ("get", "/api/v1/payments/{id}"),
    ("post", "/api/v1/bookings"),
    ("get", "/api/v1/bookings"),
    ("get", "/api/v1/bookings/{reference}"),
    ("get", "/api/v1/bookings/{reference}/cancellation-quote"),
    ("post", "/api/v1/bookings/{reference}/cancel"),
];

/// The component schemas a value refers to, followed through the components.
fn referenced(doc: &Value, from: &Value, seen: &mut std::collections::BTreeSet<String>) {
    match from {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                && seen.insert(name.to_owned())
            {
                referenced(doc, &doc["components"]["schemas"][name], seen);
            }
            for v in map.values() {
                referenced(doc, v, seen);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| referenced(doc, v, seen)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_the_route_list_with_descriptions_units_and_examples() {
    let backend = backends().await.remove(0);
    let app = TestApp::spawn(&backend).await;
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    let mut missing: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            missing.push(what);
        }
    };

    // Every endpoint of the contract is documented.
    for (method, path) in CONTRACT {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is not documented"
        );
    }

    let mut public = std::collections::BTreeSet::new();
    let mut bodies = Vec::new();
    for (path, operations) in paths {
        for (method, op) in operations.as_object().expect("operations") {
            let what = format!("{method} {path}");
            // Every documented operation is routed: its path and method reach a handler
            // (which may refuse the made-up parameters), never the router's 404 or a 405.
            let url = path
                .split('/')
                .map(|s| if s.starts_with('{') { "x0" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let res = app
                .http
                .request(method.clone(), format!("{}{url}", app.api))
                .json(&json!({}))
                .send()
                .await
                .expect("answer");
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}: {body}");
            assert!(
                !(status == StatusCode::NOT_FOUND && body["detail"] == "No such resource."),
                "{what} is documented but not routed"
            );
            // Every operation says what it does and what each answer means.
            check(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                format!("{what}: no summary"),
            );
            // An operation that takes a token says what happens without one.
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            check(
                !secured || op["responses"].get("401").is_some(),
                format!("{what}: takes a token but lists no 401"),
            );
            for (code, response) in op["responses"].as_object().expect("responses") {
                check(
                    response["description"]
                        .as_str()
                        .is_some_and(|s| !s.is_empty()),
                    format!("{what} {code}: no description"),
                );
            }
            if path.starts_with("/api/v1/") {
                referenced(&doc, op, &mut public);
                // The request and the success answer of a public operation show an example.
                for body in [
                    &op["requestBody"]["content"]["application/json"]["schema"],
                    &op["responses"]["200"]["content"]["application/json"]["schema"],
                    &op["responses"]["201"]["content"]["application/json"]["schema"],
                ] {
                    if let Some(name) = body["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        bodies.push((what.clone(), name.to_owned()));
                    }
                }
            }
        }
    }
    // A valid document: tag names once each, every security scheme it names declared,
    // problems under the media type the server sends.
    let tags: Vec<&Value> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| &t["name"])
        .collect();
    let unique: std::collections::BTreeSet<String> = tags.iter().map(|t| t.to_string()).collect();
    check(
        unique.len() == tags.len(),
        format!("tag names repeat: {tags:?}"),
    );
    for (path, operations) in paths {
        for (method, op) in operations.as_object().expect("operations") {
            for scheme in op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s.as_object())
                .flat_map(|s| s.keys())
            {
                check(
                    doc["components"]["securitySchemes"][scheme].is_object(),
                    format!("{method} {path}: security scheme {scheme} is not declared"),
                );
            }
            for (code, response) in op["responses"].as_object().expect("responses") {
                if code.starts_with('4') || code.starts_with('5') {
                    check(
                        response["content"].get("application/json").is_none(),
                        format!("{method} {path} {code}: a problem documented as application/json"),
                    );
                }
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    for (what, name) in bodies {
        let schema = &schemas[name.as_str()];
        check(
            schema.get("example").is_some() || schema.get("examples").is_some(),
            format!("{what}: {name} has no example"),
        );
    }
    // Every public type says what it is; amounts name their unit, instants their zone.
    for name in &public {
        let schema = &schemas[name.as_str()];
        check(
            schema["description"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            format!("{name} has no description"),
        );
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            let said = property["description"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase();
            if field.contains("amount") {
                check(
                    said.contains("minor unit"),
                    format!("{name}.{field}: amount without its unit"),
                );
            }
            if property["format"] == "date-time"
                || field.ends_with("_at")
                || field.ends_with("_until")
            {
                check(
                    ["utc", "local", "offset", "rfc 3339"]
                        .iter()
                        .any(|z| said.contains(z)),
                    format!("{name}.{field}: an instant without its zone: {said:?}"),
                );
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the document lacks:\n{}",
        missing.join("\n")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_peer_client_propagates_the_callers_trace() {
    use axum::routing::get;
    use ota_platform::client::PeerClient;
    use ota_platform::telemetry::{CURRENT_TRACE, TraceContext};
    use ota_platform::tokens::{AUDIENCE_INTERNAL, KeyRing};
    use std::sync::Arc;

    // A peer that echoes what it was sent.
    let router = axum::Router::new().route(
        "/echo",
        get(|headers: axum::http::HeaderMap| async move {
            axum::Json(json!({
                "traceparent": headers.get("traceparent").and_then(|v| v.to_str().ok()),
                "authorization": headers.get("authorization").and_then(|v| v.to_str().ok()),
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });

    let keys = Arc::new(KeyRing::parse(crate::common::SECRET).expect("ring"));
    let client = PeerClient::new(
        "echo",
        "booking-service",
        &format!("http://{addr}"),
        keys.clone(),
        crate::common::http(),
    );
    let caller = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .expect("valid");
    let seen: Value = CURRENT_TRACE
        .scope(
            caller.clone(),
            client.call::<(), Value>(Method::GET, "/echo", None, None, true),
        )
        .await
        .expect("answer");
    let sent = TraceContext::parse(seen["traceparent"].as_str().expect("traceparent sent"))
        .expect("valid");
    assert_eq!(sent.trace_id, caller.trace_id);
    assert_ne!(sent.span_id, caller.span_id);
    let token = seen["authorization"]
        .as_str()
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("bearer");
    let claims = keys
        .verify(token, AUDIENCE_INTERNAL)
        .expect("a valid service token");
    assert_eq!(claims.sub, "service:booking-service");

    // A dead peer fails fast with Unavailable after bounded retries.
    let dead = PeerClient::new(
        "dead",
        "booking-service",
        "http://127.0.0.1:9",
        keys,
        crate::common::http(),
    )
    .with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = dead
        .call::<(), Value>(Method::GET, "/x", None, None, true)
        .await
        .expect_err("dead");
    assert!(
        matches!(err, ota_platform::client::PeerError::Unavailable { .. }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn stopping_drains_in_flight_requests_then_exits_cleanly() {
    let backend = backends().await.remove(0);
    let mut app = TestApp::spawn(&backend).await;
    let (email, password, _) = app.register().await;
    // A login (an argon2 verification) is in flight when the stop arrives.
    let http = app.http.clone();
    let url = format!("{}/api/v1/auth/login", app.api);
    let in_flight = tokio::spawn(async move {
        http.post(url)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    let stopping = app.begin_stop();
    let res = in_flight
        .await
        .expect("task")
        .expect("the in-flight request was answered");
    assert_eq!(res.status(), StatusCode::OK);
    let result = tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("stopped in time");
    result.expect("task").expect("clean exit");
    // Nothing listens any more.
    assert!(
        app.http
            .get(format!("{}/api/v1/auth/me", app.api))
            .send()
            .await
            .is_err()
    );
}

/// Holds the write lock on auth-service's refresh tokens (SQLite: the whole file; on
/// PostgreSQL: the table) until dropped, so a logout waits on it as long as it lasts.
enum WriteBlocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteBlocker {
    async fn take(backend: &crate::common::Backend, data_dir: &std::path::Path) -> WriteBlocker {
        use sqlx::Connection;
        match &backend.database_url {
            Some(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
                for sql in [
                    "BEGIN",
                    "LOCK TABLE auth.refresh_tokens IN ACCESS EXCLUSIVE MODE",
                ] {
                    sqlx::query(sql).execute(&mut conn).await.expect(sql);
                }
                WriteBlocker::Postgres(conn)
            }
            None => {
                let file = data_dir.join("auth.db");
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                        .await
                        .expect("sqlite");
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .expect("write lock");
                WriteBlocker::Sqlite(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            WriteBlocker::Sqlite(mut c) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut c)
                    .await
                    .expect("rollback");
            }
            WriteBlocker::Postgres(mut c) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut c)
                    .await
                    .expect("rollback");
            }
        }
    }
}

/// A request still running at OTA_REQUEST_TIMEOUT answers 503 of type `timeout` ("try
/// again", Retry-After), never `internal`, on every route, whether one service or all of
/// them serve it, and is counted under its route.
#[tokio::test]
async fn a_request_past_its_deadline_answers_the_timeout_problem() {
    for backend in backends().await {
        for service in [None, Some(ota::Service::Auth)] {
            let dir = ota_testkit::temp_dir();
            let mut args = crate::common::serve_args(&backend, &dir);
            args.service = service;
            args.settings.http.request_timeout = Duration::from_secs(3);
            // Long enough that neither the database nor the statement bound gives up first.
            args.settings.db.statement_timeout = Duration::from_secs(30);
            let app = TestApp::spawn_with(backend.label, args).await;
            let l = format!(
                "{} {}",
                app.label,
                service.map_or("all-in-one", |s| s.name())
            );
            let (_, _, session) = app.register().await;
            let refresh = session["refresh_token"].as_str().expect("refresh token");

            let blocker = WriteBlocker::take(&backend, &dir).await;
            let (status, headers, problem) = app
                .call(
                    Method::POST,
                    "/api/v1/auth/logout",
                    Some(json!({"refresh_token": refresh})),
                    None,
                )
                .await;
            blocker.release().await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{l}: {problem}");
            assert_eq!(headers["content-type"], "application/problem+json", "{l}");
            assert_eq!(
                problem["type"], "https://ota-travel.example.com/problems/timeout",
                "{l}: {problem}"
            );
            assert_eq!(problem["status"], 503, "{l}");
            assert!(
                problem["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("try again")),
                "{l}: {problem}"
            );
            assert!(headers.contains_key("retry-after"), "{l}: {headers:?}");
            assert!(headers.contains_key("x-request-id"), "{l}");

            let (_, metrics) = app.management("/actuator/prometheus").await;
            assert!(
                metrics.contains("route=\"/api/v1/auth/logout\",status=\"503\""),
                "{l}: the abandoned request is not counted under its route"
            );
            // The lock gone, the same logout goes through.
            let (status, _, body) = app
                .call(
                    Method::POST,
                    "/api/v1/auth/logout",
                    Some(json!({"refresh_token": refresh})),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{l}: {body}");
            app.stop().await;
        }
    }
}
