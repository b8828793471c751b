//! Every auth call of API.md, and its refusals.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{SECRET, TestApp, backends, fields, serve_args};
use ota_platform::tokens::{AUDIENCE_PUBLIC, Claims, ISSUER, KeyRing};
use ota_testkit as testkit;

#[tokio::test]
async fn register_login_me_refresh_logout() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (email, password, session) = app.register().await;
        assert_eq!(session["token_type"], "Bearer", "{l}");
        assert_eq!(session["expires_in"], 900, "{l}");
        assert_eq!(session["user"]["email"], email.as_str(), "{l}");
        assert!(session["user"]["id"].is_string(), "{l}");

        let access = session["access_token"].as_str().expect("access token");
        let (status, me) = app.get("/api/v1/auth/me", Some(access)).await;
        assert_eq!(status, StatusCode::OK, "{l}: {me}");
        assert_eq!(me, session["user"], "{l}");

        // E-mail matching ignores case; the same session shape comes back.
        let (status, login) = app
            .post(
                "/api/v1/auth/login",
                json!({"email": email.to_uppercase(), "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{l}: {login}");
        assert_eq!(login["user"], session["user"], "{l}");

        // Refresh rotates: a new pair, and the old refresh token is spent.
        let first = login["refresh_token"].as_str().expect("refresh").to_owned();
        let (status, rotated) = app
            .post("/api/v1/auth/refresh", json!({"refresh_token": first}))
            .await;
        assert_eq!(status, StatusCode::OK, "{l}: {rotated}");
        let second = rotated["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        assert_ne!(first, second, "{l}");
        let (status, _) = app
            .get("/api/v1/auth/me", rotated["access_token"].as_str())
            .await;
        assert_eq!(status, StatusCode::OK, "{l}");

        // Logout revokes: the refresh token no longer works.
        let (status, _, _) = app
            .call(
                Method::POST,
                "/api/v1/auth/logout",
                Some(json!({"refresh_token": second})),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{l}");
        let (status, problem) = app
            .post("/api/v1/auth/refresh", json!({"refresh_token": second}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}: {problem}");
        app.stop().await;
    }
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_its_family() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (_, _, session) = app.register().await;
        let first = session["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        let (status, rotated) = app
            .post("/api/v1/auth/refresh", json!({"refresh_token": first}))
            .await;
        assert_eq!(status, StatusCode::OK, "{l}");
        let second = rotated["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();

        // A thief replays the spent token: refused, and the legitimate successor dies too.
        let (status, problem) = app
            .post("/api/v1/auth/refresh", json!({"refresh_token": first}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        assert_eq!(problem["status"], 401, "{l}");
        let (status, _) = app
            .post("/api/v1/auth/refresh", json!({"refresh_token": second}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");

        let (status, _) = app
            .post("/api/v1/auth/refresh", json!({"refresh_token": "made-up"}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn registration_refusals_name_the_field_and_change_nothing() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (email, _, _) = app.register().await;
        let cases = [
            (
                json!({"email": email.to_uppercase(), "password": "another-fine-password", "name": "B"}),
                StatusCode::CONFLICT,
                "email",
            ),
            (
                json!({"email": "not-an-email", "password": "violet-tulip-harbour", "name": "B"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "email",
            ),
            (
                json!({"email": "b@example.com", "password": "short-one", "name": "B"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "password",
            ),
            (
                json!({"email": "b@example.com", "password": "x".repeat(129), "name": "B"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "password",
            ),
            (
                json!({"email": "b@example.com", "password": "password1234", "name": "B"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "password",
            ),
            (
                json!({"email": "b@example.com", "password": "qwertyuiop123", "name": "B"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "password",
            ),
            (
                json!({"email": "b@example.com", "password": "violet-tulip-harbour", "name": "  "}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "name",
            ),
            (
                json!({"email": "b@example.com", "password": "violet-tulip-harbour"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "name",
            ),
            (
                json!({"email": 42, "password": "violet-tulip-harbour", "name": "B"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "email",
            ),
        ];
        for (body, expected, field) in cases {
            let (status, headers, problem) = app
                .call(
                    Method::POST,
                    "/api/v1/auth/register",
                    Some(body.clone()),
                    None,
                )
                .await;
            assert_eq!(status, expected, "{l}: {body} → {problem}");
            assert_eq!(headers["content-type"], "application/problem+json", "{l}");
            assert!(
                fields(&problem).contains(&field.to_owned()),
                "{l}: {body} → {problem}"
            );
            let text = problem.to_string();
            assert!(
                !text.contains("violet-tulip") && !text.contains("password1234"),
                "{l}: a password was echoed: {text}"
            );
        }
        // Nothing was created by the refusals: b@example.com is still free.
        let (status, _) = app
            .post(
                "/api/v1/auth/register",
                json!({"email": "b@example.com", "password": "violet-tulip-harbour", "name": "B"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_the_same() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (email, _, _) = app.register().await;
        let (s1, h1, wrong) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": email, "password": "not-the-password!"})),
                None,
            )
            .await;
        let (s2, h2, unknown) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": "nobody@example.com", "password": "not-the-password!"})),
                None,
            )
            .await;
        assert_eq!(s1, StatusCode::UNAUTHORIZED, "{l}");
        assert_eq!(s2, StatusCode::UNAUTHORIZED, "{l}");
        assert_eq!(wrong, unknown, "{l}");
        assert_eq!(
            h1.get("www-authenticate"),
            h2.get("www-authenticate"),
            "{l}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_with_retry_after() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (email, password, _) = app.register().await;
        for _ in 0..ota_auth::api::ACCOUNT_FAILURES {
            let (status, _) = app
                .post(
                    "/api/v1/auth/login",
                    json!({"email": email, "password": "not-the-password!"}),
                )
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        }
        // Now even the right password is refused until the window passes.
        let (status, headers, problem) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": email, "password": password})),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{l}: {problem}");
        let retry: u64 = headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=901).contains(&retry), "{l}: {retry}");
        assert_eq!(headers["content-type"], "application/problem+json", "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn repeated_failures_from_one_address_throttle_that_address() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        for i in 0..ota_auth::api::ADDRESS_FAILURES {
            let (status, _) = app
                .post("/api/v1/auth/login", json!({"email": format!("guess-{i}@example.com"), "password": "not-the-password!"}))
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        }
        let (email, password, _) = app.register().await;
        let (status, _) = app
            .post(
                "/api/v1/auth/login",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{l}");
        app.stop().await;
    }
}

fn forged(ring: &KeyRing, aud: &str, exp_in: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    ring.sign(&Claims {
        sub: uuid::Uuid::now_v7().to_string(),
        iss: ISSUER.into(),
        aud: aud.into(),
        exp: now + exp_in,
        nbf: now,
        iat: now,
        jti: "t".into(),
        email: None,
        name: None,
    })
}

#[tokio::test]
async fn me_refuses_missing_forged_expired_and_foreign_tokens() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (_, _, session) = app.register().await;
        let good = session["access_token"].as_str().expect("token").to_owned();
        let ring = KeyRing::parse(SECRET).expect("ring");
        let stranger = KeyRing::parse("a-different-secret-a-different-secret-xyz").expect("ring");
        let payload = good.split('.').nth(1).expect("payload");
        let none_alg = format!("{}.{payload}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#));
        let hs512 = format!(
            "{}.{payload}.{}",
            b64.encode(r#"{"alg":"HS512","typ":"JWT","kid":"x"}"#),
            good.split('.').nth(2).unwrap_or_default()
        );
        let bad = [
            ("garbage", "not.a.jwt".to_owned()),
            ("alg none", none_alg),
            ("other algorithm", hs512),
            ("expired", forged(&ring, AUDIENCE_PUBLIC, -3600)),
            ("service audience", ring.service_token("booking-service")),
            ("unknown key", forged(&stranger, AUDIENCE_PUBLIC, 600)),
        ];
        let (status, headers, _) = app.call(Method::GET, "/api/v1/auth/me", None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}: no token");
        assert!(headers.contains_key("www-authenticate"), "{l}");
        for (what, token) in bad {
            let (status, problem) = app.get("/api/v1/auth/me", Some(&token)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}: {what}: {problem}");
            assert_eq!(problem["status"], 401, "{l}: {what}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn rotating_the_jwt_secret_logs_nobody_out() {
    let backend = backends().await.remove(0);
    let dir = testkit::temp_dir();
    let app = TestApp::spawn_with(backend.label, serve_args(&backend, &dir)).await;
    let (_, _, session) = app.register().await;
    let old_token = session["access_token"].as_str().expect("token").to_owned();
    app.stop().await;

    let next = ota::ops::rotate(SECRET).expect("rotate");
    let mut args = serve_args(&backend, &dir);
    args.settings.jwt.jwt_secret = Some(next.clone().into());
    let app = TestApp::spawn_with(backend.label, args).await;
    let (status, me) = app.get("/api/v1/auth/me", Some(&old_token)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a token signed before rotation still works: {me}"
    );
    // New tokens are signed with the new key, which the old ring does not know.
    let (email, password) = (
        me["email"].as_str().expect("email").to_owned(),
        "violet-tulip-harbour",
    );
    let (status, login) = app
        .post(
            "/api/v1/auth/login",
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = login["access_token"].as_str().expect("token");
    let old_ring = KeyRing::parse(SECRET).expect("ring");
    assert!(old_ring.verify(fresh, AUDIENCE_PUBLIC).is_err());
    assert!(
        KeyRing::parse(&next)
            .expect("ring")
            .verify(fresh, AUDIENCE_PUBLIC)
            .is_ok()
    );
    app.stop().await;
}
