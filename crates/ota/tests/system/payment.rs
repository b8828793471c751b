//! payment-service over HTTP: cards in (validated, tokenised, never echoed or stored),
//! the internal authorise/capture/void/refund API with its idempotency keys, the sandbox
//! declines, and travellers seeing only their own payments and cards.

use chrono::Datelike;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{SECRET, TestApp, backends, fields, serve_args};
use ota_platform::tokens::KeyRing;
use ota_testkit as testkit;

const VISA: &str = "4242424242424242";
const MASTERCARD: &str = "5555555555554444";
const AMEX: &str = "378282246310005";
const DECLINED: &str = "4000000000000002";
const INSUFFICIENT: &str = "4000000000009995";
const EXPIRED: &str = "4000000000000069";
const WRONG_CVC: &str = "4000000000000127";
const PROCESSING_ERROR: &str = "4000000000000119";
/// The CVC every test card is given: no stored value may ever equal it.
const CVC: &str = "739";

fn card(number: &str, cvc: &str) -> Value {
    json!({"card": {
        "number": number,
        "exp_month": 12,
        "exp_year": chrono::Utc::now().year() + 3,
        "cvc": cvc,
        "holder_name": "Ada Lovelace",
    }})
}

async fn add_card(app: &TestApp, token: &str, number: &str, cvc: &str) -> (StatusCode, Value) {
    let (status, _, body) = app
        .call(
            Method::POST,
            "/api/v1/payment-methods",
            Some(card(number, cvc)),
            Some(token),
        )
        .await;
    (status, body)
}

/// A call to the internal API as booking-service makes it.
async fn internal(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let token = KeyRing::parse(SECRET)
        .expect("ring")
        .service_token("booking-service");
    let (status, _, body) = app.call(method, path, body, Some(&token)).await;
    (status, body)
}

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    internal(app, Method::POST, path, Some(body)).await
}

fn authorisation(key: &str, user: &str, method: &str, amount: i64, reference: &str) -> Value {
    json!({
        "idempotency_key": key,
        "user_id": user,
        "payment_method_id": method,
        "amount": {"amount": amount, "currency": "USD"},
        "booking_reference": reference,
    })
}

fn key() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[tokio::test]
async fn cards_are_validated_naming_the_field_and_never_echoed() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let token = &app.signed_in().await;

        let (status, _, _) = app
            .call(
                Method::POST,
                "/api/v1/payment-methods",
                Some(card(VISA, CVC)),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");

        // A number failing Luhn, and an accepted number with a bad CVC: neither the
        // numbers nor the CVC come back in the problem.
        let rejected = "4242424242424241";
        let (status, problem) = add_card(&app, token, rejected, CVC).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(fields(&problem), ["card.number"], "{l}");
        let (status, problem2) = add_card(&app, token, VISA, "73").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem2}");
        assert_eq!(fields(&problem2), ["card.cvc"], "{l}");
        let (status, problem3) = add_card(&app, token, AMEX, CVC).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert_eq!(fields(&problem3), ["card.cvc"], "{l}: amex takes 4 digits");
        // A number sent as a JSON number: serde would quote it; we do not.
        let (status, _, problem4) = app
            .call(
                Method::POST,
                "/api/v1/payment-methods",
                Some(json!({"card": {"number": 4242424242424242u64, "exp_month": 1, "exp_year": 2040, "cvc": CVC, "holder_name": "A"}})),
                Some(token),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem4}");
        assert_eq!(fields(&problem4), ["card.number"], "{l}");
        for p in [&problem, &problem2, &problem3, &problem4] {
            let shown = p.to_string();
            for secret in [rejected, VISA, AMEX, "4242424242424242", "739"] {
                assert!(!shown.contains(secret), "{l}: {shown}");
            }
        }

        // Every field at fault at once.
        let (status, _, problem) = app
            .call(
                Method::POST,
                "/api/v1/payment-methods",
                Some(json!({"card": {"number": "1234", "exp_month": 13, "exp_year": 2001, "cvc": "x", "holder_name": " "}})),
                Some(token),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert_eq!(
            fields(&problem),
            [
                "card.number",
                "card.exp_month",
                "card.exp_year",
                "card.cvc",
                "card.holder_name"
            ],
            "{l}: {problem}"
        );
        let (status, _, problem) = app
            .call(
                Method::POST,
                "/api/v1/payment-methods",
                Some(json!({"card": {"number": VISA, "exp_month": 12, "cvc": CVC, "holder_name": "A"}})),
                Some(token),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert_eq!(fields(&problem), ["card.exp_year"], "{l}");
        assert!(!problem.to_string().contains(VISA), "{l}");

        // Spaces and dashes are fine; brand, last 4 and expiry come back, nothing else.
        let (status, method) = add_card(&app, token, "3782-822463-10005", "7390").await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {method}");
        assert_eq!(method["brand"], "amex", "{l}");
        assert_eq!(method["last4"], "0005", "{l}");
        assert_eq!(method["exp_month"], 12, "{l}");
        assert!(method["id"].is_string(), "{l}");
        assert!(method.get("number").is_none() && method.get("cvc").is_none());
        app.stop().await;
    }
}

#[tokio::test]
async fn authorise_capture_refund_void_and_declines_over_the_internal_api() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = TestApp::spawn_with(backend.label, serve_args(&backend, &dir)).await;
        let l = app.label;
        let (_, _, ada) = app.register().await;
        let ada_token = ada["access_token"].as_str().expect("token").to_owned();
        let ada_id = ada["user"]["id"].as_str().expect("id").to_owned();

        // One card per sandbox number.
        let mut methods = std::collections::HashMap::new();
        for (number, brand) in [
            (VISA, "visa"),
            (MASTERCARD, "mastercard"),
            (DECLINED, "visa"),
            (INSUFFICIENT, "visa"),
            (EXPIRED, "visa"),
            (WRONG_CVC, "visa"),
            (PROCESSING_ERROR, "visa"),
        ] {
            let (status, m) = add_card(&app, &ada_token, number, CVC).await;
            assert_eq!(status, StatusCode::CREATED, "{l}: {m}");
            assert_eq!(m["brand"], brand, "{l}");
            assert_eq!(m["last4"], &number[12..], "{l}");
            methods.insert(number, m["id"].as_str().expect("id").to_owned());
        }
        let (status, listed) = app.get("/api/v1/payment-methods", Some(&ada_token)).await;
        assert_eq!(status, StatusCode::OK, "{l}");
        let listed = listed["payment_methods"].as_array().expect("list").clone();
        assert_eq!(listed.len(), 7, "{l}");
        assert_eq!(
            listed[0]["id"].as_str(),
            Some(methods[PROCESSING_ERROR].as_str()),
            "{l}: newest first"
        );

        // The internal API takes service tokens only.
        let auth_key = key();
        let request = authorisation(&auth_key, &ada_id, &methods[VISA], 12_345, "PAY234");
        let (status, _, _) = app
            .call(
                Method::POST,
                "/internal/v1/payments/authorize",
                Some(request.clone()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        let (status, _, _) = app
            .call(
                Method::POST,
                "/internal/v1/payments/authorize",
                Some(request.clone()),
                Some(&ada_token),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}: a traveller token");

        // Authorise; the same key and body answer the same payment; another body 422.
        let (status, payment) =
            post(&app, "/internal/v1/payments/authorize", request.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {payment}");
        assert_eq!(payment["status"], "authorized", "{l}");
        assert_eq!(
            payment["amount"],
            json!({"amount": 12_345, "currency": "USD"})
        );
        assert_eq!(payment["captured"]["amount"], 0, "{l}");
        assert_eq!(payment["booking_reference"], "PAY234", "{l}");
        assert_eq!(payment["user_id"], ada_id.as_str(), "{l}");
        let id = payment["id"].as_str().expect("id").to_owned();
        let (status, again) = post(&app, "/internal/v1/payments/authorize", request.clone()).await;
        assert_eq!((status, &again), (StatusCode::CREATED, &payment), "{l}");
        let different = authorisation(&auth_key, &ada_id, &methods[VISA], 99, "PAY234");
        let (status, problem) = post(&app, "/internal/v1/payments/authorize", different).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(fields(&problem), ["idempotency_key"], "{l}");
        let (status, problem) = post(
            &app,
            "/internal/v1/payments/authorize",
            authorisation(&key(), &ada_id, &methods[VISA], 0, " "),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert_eq!(
            fields(&problem),
            ["amount.amount", "booking_reference"],
            "{l}"
        );

        // Ada reads it; capture, twice; then void is refused.
        let (status, own) = app
            .get(&format!("/api/v1/payments/{id}"), Some(&ada_token))
            .await;
        assert_eq!(status, StatusCode::OK, "{l}: {own}");
        assert_eq!(own["status"], "authorized", "{l}");
        assert_eq!(own["refunded"]["amount"], 0, "{l}");
        let capture_key = key();
        let capture_path = format!("/internal/v1/payments/{id}/capture");
        let (status, captured) =
            post(&app, &capture_path, json!({"idempotency_key": capture_key})).await;
        assert_eq!(status, StatusCode::OK, "{l}: {captured}");
        assert_eq!(captured["status"], "captured", "{l}");
        assert_eq!(captured["captured"]["amount"], 12_345, "{l}");
        let (status, replay) =
            post(&app, &capture_path, json!({"idempotency_key": capture_key})).await;
        assert_eq!((status, &replay), (StatusCode::OK, &captured), "{l}");
        let (status, twice) = post(&app, &capture_path, json!({"idempotency_key": key()})).await;
        assert_eq!(status, StatusCode::OK, "{l}: capturing twice is a no-op");
        assert_eq!(twice["captured"]["amount"], 12_345, "{l}");
        let (status, problem) = post(
            &app,
            &format!("/internal/v1/payments/{id}/void"),
            json!({"idempotency_key": key()}),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {problem}");
        // The capture key belongs to this capture: used on another call, 422.
        let (status, _) = post(
            &app,
            &format!("/internal/v1/payments/{id}/void"),
            json!({"idempotency_key": capture_key}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");

        // Refunds: partial, too much, the rest; a replay answers the first answer.
        let refund_path = format!("/internal/v1/payments/{id}/refund");
        let first_refund =
            json!({"idempotency_key": key(), "amount": {"amount": 5_000, "currency": "USD"}});
        let (status, partial) = post(&app, &refund_path, first_refund.clone()).await;
        assert_eq!(status, StatusCode::OK, "{l}: {partial}");
        assert_eq!(partial["status"], "partially_refunded", "{l}");
        assert_eq!(partial["refunded"]["amount"], 5_000, "{l}");
        let (status, problem) = post(
            &app,
            &refund_path,
            json!({"idempotency_key": key(), "amount": {"amount": 7_346, "currency": "USD"}}),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {problem}");
        assert_eq!(problem["refundable"]["amount"], 7_345, "{l}");
        let (status, problem) = post(
            &app,
            &refund_path,
            json!({"idempotency_key": key(), "amount": {"amount": 10, "currency": "EUR"}}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert_eq!(fields(&problem), ["amount.currency"], "{l}");
        let (status, full) = post(
            &app,
            &refund_path,
            json!({"idempotency_key": key(), "amount": {"amount": 7_345, "currency": "USD"}}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}: {full}");
        assert_eq!(full["status"], "refunded", "{l}");
        assert_eq!(full["refunded"]["amount"], 12_345, "{l}");
        let (status, replay) = post(&app, &refund_path, first_refund).await;
        assert_eq!((status, &replay), (StatusCode::OK, &partial), "{l}");
        let (status, now) = internal(
            &app,
            Method::GET,
            &format!("/internal/v1/payments/{id}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}");
        assert_eq!(
            now["refunded"]["amount"], 12_345,
            "{l}: the replay refunded nothing"
        );

        // Void an authorisation (twice); it can then be neither captured nor refunded.
        let (status, second) = post(
            &app,
            "/internal/v1/payments/authorize",
            authorisation(&key(), &ada_id, &methods[MASTERCARD], 800, "PAY234"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {second}");
        let second_id = second["id"].as_str().expect("id");
        for _ in 0..2 {
            let (status, voided) = post(
                &app,
                &format!("/internal/v1/payments/{second_id}/void"),
                json!({"idempotency_key": key()}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{l}: {voided}");
            assert_eq!(voided["status"], "voided", "{l}");
        }
        let (status, _) = post(
            &app,
            &format!("/internal/v1/payments/{second_id}/capture"),
            json!({"idempotency_key": key()}),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}");
        let (status, _) = post(
            &app,
            &format!("/internal/v1/payments/{second_id}/refund"),
            json!({"idempotency_key": key(), "amount": {"amount": 1, "currency": "USD"}}),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}");

        // Declines: 402 problem+json with the decline code, recorded as declined.
        for (number, code) in [
            (DECLINED, "card_declined"),
            (INSUFFICIENT, "insufficient_funds"),
            (EXPIRED, "expired_card"),
            (WRONG_CVC, "incorrect_cvc"),
        ] {
            let reference = format!("DEC{}", &number[13..]);
            let request = authorisation(&key(), &ada_id, &methods[number], 2_000, &reference);
            let token = KeyRing::parse(SECRET)
                .expect("ring")
                .service_token("booking-service");
            let (status, headers, problem) = app
                .call(
                    Method::POST,
                    "/internal/v1/payments/authorize",
                    Some(request.clone()),
                    Some(&token),
                )
                .await;
            assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{l}: {problem}");
            assert_eq!(headers["content-type"], "application/problem+json", "{l}");
            assert_eq!(problem["decline_code"], code, "{l}");
            let (status, replay) = post(&app, "/internal/v1/payments/authorize", request).await;
            assert_eq!(
                (status, &replay),
                (StatusCode::PAYMENT_REQUIRED, &problem),
                "{l}"
            );
            let (status, found) = internal(
                &app,
                Method::GET,
                &format!("/internal/v1/payments?booking_reference={reference}"),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{l}");
            let payments = found["payments"].as_array().expect("payments");
            assert_eq!(payments.len(), 1, "{l}: {found}");
            assert_eq!(payments[0]["status"], "declined", "{l}");
            assert_eq!(payments[0]["decline_code"], code, "{l}");
            assert_eq!(payments[0]["id"], problem["payment_id"], "{l}");
            let (status, _) = post(
                &app,
                &format!(
                    "/internal/v1/payments/{}/capture",
                    problem["payment_id"].as_str().expect("id")
                ),
                json!({"idempotency_key": key()}),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::CONFLICT,
                "{l}: no money for a declined payment"
            );
        }

        // A provider failure: 503, retryable with the same key, nothing recorded.
        let failing = authorisation(&key(), &ada_id, &methods[PROCESSING_ERROR], 2_000, "ERR234");
        for _ in 0..2 {
            let (status, problem) =
                post(&app, "/internal/v1/payments/authorize", failing.clone()).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{l}: {problem}");
            assert_eq!(problem["decline_code"], "processing_error", "{l}");
        }
        let (_, found) = internal(
            &app,
            Method::GET,
            "/internal/v1/payments?booking_reference=ERR234",
            None,
        )
        .await;
        assert_eq!(found["payments"], json!([]), "{l}");
        let (status, _) = internal(&app, Method::GET, "/internal/v1/payments", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{l}");

        // Another traveller sees none of Ada's payments and cannot use her cards.
        let (_, _, bob) = app.register().await;
        let bob_token = bob["access_token"].as_str().expect("token");
        let bob_id = bob["user"]["id"].as_str().expect("id");
        let (status, _) = app
            .get(&format!("/api/v1/payments/{id}"), Some(bob_token))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}");
        let (status, _) = app
            .get("/api/v1/payments/not-a-uuid", Some(bob_token))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}");
        let (status, problem) = post(
            &app,
            "/internal/v1/payments/authorize",
            authorisation(&key(), bob_id, &methods[VISA], 100, "BOB234"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}: {problem}");
        let (status, problem) = post(
            &app,
            "/internal/v1/payments/authorize",
            authorisation(&key(), bob_id, "not-a-method", 100, "BOB234"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}: {problem}");
        let (_, bobs) = app.get("/api/v1/payment-methods", Some(bob_token)).await;
        assert_eq!(bobs["payment_methods"], json!([]), "{l}");
        let (status, _) = post(
            &app,
            &format!("/internal/v1/payments/{}/capture", uuid::Uuid::now_v7()),
            json!({"idempotency_key": key()}),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}");

        let (_, metrics) = app.management("/actuator/prometheus").await;
        for outcome in [
            "authorized",
            "declined",
            "captured",
            "voided",
            "refunded",
            "failed",
        ] {
            assert!(
                metrics.contains(&format!("payments_total{{outcome=\"{outcome}\"}}")),
                "{l}: payments_total for {outcome}"
            );
        }

        // After all that, no stored value holds a card number or the CVC.
        let numbers = [
            VISA,
            MASTERCARD,
            DECLINED,
            INSUFFICIENT,
            EXPIRED,
            WRONG_CVC,
            PROCESSING_ERROR,
        ];
        let values = stored_values(&backend.database_url, &dir).await;
        assert!(values.len() > 50, "{l}: {} values read", values.len());
        for v in &values {
            assert!(
                !numbers.iter().any(|n| v.contains(n)) && v != CVC,
                "{l}: a card number or CVC is stored: {v}"
            );
        }
        app.stop().await;
        // The raw database files too (SQLite: main file and write-ahead log).
        let files = std::fs::read_dir(&dir).expect("data dir").flatten();
        for entry in files.filter(|e| e.file_name().to_string_lossy().starts_with("payment")) {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            for n in numbers {
                assert!(
                    !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                    "{l}: {n} found in {}",
                    entry.path().display()
                );
            }
        }
    }
}

/// Every value of every column of payment-service's tables, as text.
async fn stored_values(database_url: &Option<String>, dir: &std::path::Path) -> Vec<String> {
    let mut values = Vec::new();
    match database_url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            let columns: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = 'payment' AND table_name <> '_sqlx_migrations'",
            )
            .fetch_all(&pool)
            .await
            .expect("columns");
            for (table, column) in columns {
                let sql = format!("SELECT CAST(\"{column}\" AS text) FROM payment.\"{table}\"");
                let rows: Vec<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&pool)
                    .await
                    .expect("values");
                values.extend(rows.into_iter().filter_map(|r| r.0));
            }
            pool.close().await;
        }
        None => {
            let file = dir.join("payment.db");
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", file.display()))
                .await
                .expect("sqlite");
            let columns: Vec<(String, String)> = sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE '_sqlx%'",
            )
            .fetch_all(&pool)
            .await
            .expect("columns");
            for (table, column) in columns {
                // UUIDs are blobs: compared as hex, the rest as text.
                let sql = format!(
                    "SELECT CASE WHEN typeof(\"{column}\") = 'blob' THEN hex(\"{column}\") ELSE CAST(\"{column}\" AS TEXT) END FROM \"{table}\""
                );
                let rows: Vec<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&pool)
                    .await
                    .expect("values");
                values.extend(rows.into_iter().filter_map(|r| r.0));
            }
            pool.close().await;
        }
    }
    values
}

#[tokio::test]
async fn concurrent_calls_charge_once_and_the_ledger_balances() {
    for backend in backends().await {
        let app = std::sync::Arc::new(TestApp::spawn(&backend).await);
        let l = app.label;
        let (_, _, ada) = app.register().await;
        let token = ada["access_token"].as_str().expect("token");
        let ada_id = ada["user"]["id"].as_str().expect("id").to_owned();
        let (_, method) = add_card(&app, token, VISA, CVC).await;
        let method = method["id"].as_str().expect("id").to_owned();

        // The same authorisation six times at once: one payment.
        let request = authorisation(&key(), &ada_id, &method, 10_000, "CON234");
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let (app, request) = (app.clone(), request.clone());
                tokio::spawn(
                    async move { post(&app, "/internal/v1/payments/authorize", request).await },
                )
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        for c in calls {
            let (status, body) = c.await.expect("task");
            match status {
                StatusCode::CREATED => {
                    ids.insert(body["id"].as_str().expect("id").to_owned());
                }
                // Busy (SQLite under contention) or still running: a retry is safe.
                StatusCode::SERVICE_UNAVAILABLE => {}
                other => panic!("{l}: {other} {body}"),
            }
        }
        assert_eq!(ids.len(), 1, "{l}: {ids:?}");
        let (_, found) = internal(
            &app,
            Method::GET,
            "/internal/v1/payments?booking_reference=CON234",
            None,
        )
        .await;
        assert_eq!(found["payments"].as_array().map(Vec::len), Some(1), "{l}");
        let id = ids.into_iter().next().expect("id");

        // Captures with different keys at once: captured once.
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let (app, path) = (app.clone(), format!("/internal/v1/payments/{id}/capture"));
                tokio::spawn(
                    async move { post(&app, &path, json!({"idempotency_key": key()})).await },
                )
            })
            .collect();
        for c in calls {
            let (status, body) = c.await.expect("task");
            assert!(
                status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
                "{l}: {status} {body}"
            );
        }
        // Refunds of 3000 of 10000 at once: at most three succeed.
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let (app, path) = (app.clone(), format!("/internal/v1/payments/{id}/refund"));
                tokio::spawn(async move {
                    post(
                        &app,
                        &path,
                        json!({"idempotency_key": key(), "amount": {"amount": 3_000, "currency": "USD"}}),
                    )
                    .await
                })
            })
            .collect();
        let mut refunded = 0;
        for c in calls {
            let (status, body) = c.await.expect("task");
            match status {
                StatusCode::OK => refunded += 3_000,
                StatusCode::CONFLICT | StatusCode::SERVICE_UNAVAILABLE => {}
                other => panic!("{l}: {other} {body}"),
            }
        }
        assert!(refunded <= 9_000, "{l}: {refunded}");
        let (_, payment) = internal(
            &app,
            Method::GET,
            &format!("/internal/v1/payments/{id}"),
            None,
        )
        .await;
        assert_eq!(payment["captured"]["amount"], 10_000, "{l}: {payment}");
        assert_eq!(payment["refunded"]["amount"], refunded, "{l}: {payment}");

        let (status, ledger) =
            internal(&app, Method::GET, "/internal/v1/ledger/balances", None).await;
        assert_eq!(status, StatusCode::OK, "{l}");
        assert_eq!(
            ledger["totals"],
            json!([{"amount": 0, "currency": "USD"}]),
            "{l}: {ledger}"
        );
        let card = ledger["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .find(|a| a["account"] == "customer_card")
            .expect("customer_card")
            .clone();
        assert_eq!(
            card["balance"]["amount"],
            10_000 - refunded,
            "{l}: {ledger}"
        );

        let (_, doc) = app.get("/api/v1/openapi.json", None).await;
        for path in [
            "/api/v1/payment-methods",
            "/api/v1/payments/{id}",
            "/internal/v1/payments/authorize",
            "/internal/v1/payments/{id}/refund",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{l}: {path} documented");
        }
        match std::sync::Arc::try_unwrap(app) {
            Ok(app) => app.stop().await,
            Err(_) => panic!("{l}: the app is still shared"),
        }
    }
}
