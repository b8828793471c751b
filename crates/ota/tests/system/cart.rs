//! cart-service over HTTP: offers revalidated with search-service on the small catalog,
//! one private cart per traveller, refusals, concurrency, and the internal API
//! booking-service uses.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, FaultyLink, SECRET, TestApp, backends, resigned, serve_args};
use ota_platform::tokens::KeyRing;
use ota_search::catalog::Cabin;
use ota_search::offers::OfferClaims;
use ota_testkit::{self as testkit, day};

fn keys() -> KeyRing {
    KeyRing::parse(SECRET).expect("ring")
}

async fn offers(app: &TestApp, path: &str) -> Vec<Value> {
    let (status, body) = app.get(path, None).await;
    assert_eq!(status, StatusCode::OK, "{}: {path}: {body}", app.label);
    let list = body["offers"].as_array().cloned().expect("offers");
    assert!(!list.is_empty(), "{}: no offers for {path}", app.label);
    list
}

/// JFK → LAX two weeks ahead, for two adults.
async fn flight_offers(app: &TestApp) -> Vec<Value> {
    offers(
        app,
        &format!(
            "/api/v1/flights/search?origin=JFK&destination=LAX&departure_date={}&adults=2&limit=20",
            day(14)
        ),
    )
    .await
}

/// Three nights in Paris.
async fn hotel_offers(app: &TestApp) -> Vec<Value> {
    offers(
        app,
        &format!(
            "/api/v1/hotels/search?city=Paris&check_in={}&check_out={}",
            day(20),
            day(23)
        ),
    )
    .await
}

fn id(offer: &Value) -> String {
    offer["offer_id"].as_str().expect("offer id").to_owned()
}

/// A real flight offer re-signed with another price, currency or party size: a valid
/// offer search-service vouches for, so tests can have as many distinct ones as they need.
fn variant(offer_id: &str, total: i64, currency: &str, adults: u8) -> String {
    let keys = keys();
    let OfferClaims::Flight { s, .. } = OfferClaims::verify(offer_id, &keys).expect("valid") else {
        panic!("a flight offer")
    };
    OfferClaims::Flight {
        s,
        c: Cabin::Economy,
        a: adults,
        ch: 0,
        inf: 0,
        f: 0,
        fc: 0,
        fi: 0,
        t: total,
        cur: currency.to_owned(),
        x: Utc::now().timestamp() + 600,
    }
    .sign(&keys)
}

async fn session(app: &TestApp) -> (String, String) {
    let (_, _, session) = app.register().await;
    (
        session["access_token"].as_str().expect("token").to_owned(),
        session["user"]["id"].as_str().expect("user id").to_owned(),
    )
}

async fn add(app: &TestApp, token: &str, offer_id: &str) -> (StatusCode, Value) {
    let (status, _, body) = app
        .call(
            Method::POST,
            "/api/v1/cart/items",
            Some(json!({ "offer_id": offer_id })),
            Some(token),
        )
        .await;
    (status, body)
}

async fn cart(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.get("/api/v1/cart", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{}: {body}", app.label);
    body
}

fn items(cart: &Value) -> &Vec<Value> {
    cart["items"].as_array().expect("items")
}

async fn delete(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let (status, _, body) = app.call(Method::DELETE, path, None, token).await;
    (status, body)
}

#[tokio::test]
async fn a_traveller_fills_reads_and_empties_a_cart() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (token, _) = session(&app).await;
        let flight = flight_offers(&app).await.remove(0);
        let hotel = hotel_offers(&app).await.remove(0);

        let (status, f) = add(&app, &token, &id(&flight)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {f}");
        assert_eq!(f["kind"], "flight");
        assert_eq!(f["offer_id"], flight["offer_id"]);
        assert_eq!(f["total"], flight["total"], "{l}: the signed price");
        assert_eq!(
            f["passengers"],
            json!({"adults": 2, "children": 0, "infants": 0}),
            "{l}: {f}"
        );
        assert_eq!(f["expired"], false);
        assert_eq!(f["expires_at"], flight["expires_at"]);
        let summary = f["summary"].as_str().expect("summary");
        assert!(
            summary.starts_with(&format!("JFK → LAX, {}, ", day(14)))
                && summary.ends_with(", 2 adults"),
            "{l}: {summary}"
        );
        assert!(uuid::Uuid::parse_str(f["item_id"].as_str().expect("item id")).is_ok());

        let (status, h) = add(&app, &token, &id(&hotel)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {h}");
        assert_eq!(h["kind"], "hotel");
        assert_eq!(h["passengers"], Value::Null);
        assert_eq!(
            h["summary"],
            format!(
                "{}, {}, 3 nights",
                hotel["hotel"]["name"].as_str().expect("name"),
                hotel["room_type"].as_str().expect("room type")
            )
        );

        let before = Utc::now();
        let c = cart(&app, &token).await;
        assert_eq!(items(&c).len(), 2, "{l}: {c}");
        assert_eq!(
            items(&c)[0]["item_id"],
            f["item_id"],
            "{l}: in the order added"
        );
        let sum = flight["total"]["amount"].as_i64().expect("amount")
            + hotel["total"]["amount"].as_i64().expect("amount");
        assert_eq!(c["total"], json!({"amount": sum, "currency": "USD"}), "{l}");
        assert_eq!(c["currency"], "USD");
        let expires_at = DateTime::parse_from_rfc3339(c["expires_at"].as_str().expect("expiry"))
            .expect("RFC 3339");
        let ttl = expires_at.with_timezone(&Utc) - before;
        assert!(
            (29 * 60..=31 * 60).contains(&ttl.num_seconds()),
            "{l}: a 30-minute sliding TTL, got {ttl}"
        );

        // The same offer twice is refused and changes nothing.
        let (status, problem) = add(&app, &token, &id(&flight)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {problem}");
        assert_eq!(problem["item_id"], f["item_id"]);
        assert_eq!(items(&cart(&app, &token).await).len(), 2);

        let hotel_item = format!("/api/v1/cart/items/{}", h["item_id"].as_str().expect("id"));
        assert_eq!(
            delete(&app, &hotel_item, Some(&token)).await.0,
            StatusCode::NO_CONTENT,
            "{l}"
        );
        let (status, problem) = delete(&app, &hotel_item, Some(&token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}: removed once");
        assert_eq!(problem["status"], 404);
        assert_eq!(
            delete(&app, "/api/v1/cart/items/not-a-uuid", Some(&token))
                .await
                .0,
            StatusCode::NOT_FOUND,
            "{l}"
        );
        let c = cart(&app, &token).await;
        assert_eq!(items(&c).len(), 1, "{l}");
        assert_eq!(c["total"], flight["total"], "{l}");

        assert_eq!(
            delete(&app, "/api/v1/cart", Some(&token)).await.0,
            StatusCode::NO_CONTENT
        );
        let c = cart(&app, &token).await;
        assert!(items(&c).is_empty(), "{l}: {c}");
        assert_eq!(c["total"], json!({"amount": 0, "currency": "USD"}));
        let (_, doc) = app.get("/api/v1/openapi.json", None).await;
        for path in [
            "/api/v1/cart",
            "/api/v1/cart/items",
            "/internal/v1/carts/{user_id}",
        ] {
            assert!(doc["paths"][path].is_object(), "{l}: {path} documented");
        }
        // Emptying an empty cart is fine too.
        assert_eq!(
            delete(&app, "/api/v1/cart", Some(&token)).await.0,
            StatusCode::NO_CONTENT
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn offers_that_cannot_be_sold_are_refused_and_nothing_is_added() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (token, _) = session(&app).await;
        let flights = flight_offers(&app).await;
        let real = id(&flights[0]);

        // An offer whose price guarantee has ended: search again.
        let keys = keys();
        let OfferClaims::Flight { s, .. } = OfferClaims::verify(&real, &keys).expect("valid")
        else {
            panic!("a flight offer")
        };
        let expired = resigned(&real, |c| c["x"] = json!(Utc::now().timestamp() - 5));
        let (status, headers, problem) = app
            .call(
                Method::POST,
                "/api/v1/cart/items",
                Some(json!({ "offer_id": expired })),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::GONE, "{l}: {problem}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("search again")
        );
        assert_eq!(problem["offer_id"], expired.as_str());

        // Tampered, malformed, missing: 422 naming offer_id.
        let mut tampered = real.clone();
        tampered.insert(20, 'x');
        for bad in [
            tampered.as_str(),
            "garbage",
            "../../internal/v1/holds.a.b",
            " ",
        ] {
            let (status, problem) = add(&app, &token, bad).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{l}: {bad}: {problem}"
            );
            assert_eq!(problem["errors"][0]["field"], "offer_id", "{l}: {bad}");
        }
        let (status, _, problem) = app
            .call(
                Method::POST,
                "/api/v1/cart/items",
                Some(json!({})),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert_eq!(problem["errors"][0]["field"], "offer_id");
        assert!(
            items(&cart(&app, &token).await).is_empty(),
            "{l}: nothing added"
        );

        // Ten items fill a cart; the eleventh is refused.
        for i in 0..10 {
            let (status, body) = add(&app, &token, &variant(&real, 10_000 + i, "USD", 1)).await;
            assert_eq!(status, StatusCode::CREATED, "{l}: item {i}: {body}");
        }
        let (status, problem) = add(&app, &token, &variant(&real, 99_999, "USD", 1)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "offer_id");
        let full = cart(&app, &token).await;
        assert_eq!(items(&full).len(), 10, "{l}");
        assert_eq!(
            full["total"]["amount"],
            (0..10).map(|i| 10_000 + i).sum::<i64>()
        );

        // One currency per cart.
        assert_eq!(
            delete(&app, "/api/v1/cart", Some(&token)).await.0,
            StatusCode::NO_CONTENT
        );
        let (status, _) = add(&app, &token, &real).await;
        assert_eq!(status, StatusCode::CREATED, "{l}");
        let (status, problem) = add(&app, &token, &variant(&real, 5_000, "EUR", 1)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "offer_id");
        assert!(
            problem["detail"].as_str().expect("detail").contains("EUR"),
            "{problem}"
        );
        assert_eq!(items(&cart(&app, &token).await).len(), 1, "{l}");

        // Sold out: another booking holds every remaining seat of the flights.
        let seats = flights[0]["seats_remaining"].as_i64().expect("seats");
        let everything = OfferClaims::Flight {
            s,
            c: Cabin::Economy,
            a: u8::try_from(seats).expect("a small plane"),
            ch: 0,
            inf: 0,
            f: 0,
            fc: 0,
            fi: 0,
            t: 1,
            cur: "USD".into(),
            x: Utc::now().timestamp() + 600,
        }
        .sign(&keys);
        let service = keys.service_token("booking-service");
        let (status, _, hold) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(json!({"booking_id": uuid::Uuid::now_v7(), "offer_ids": [everything]})),
                Some(&service),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {hold}");
        let (status, problem) = add(&app, &token, &variant(&real, 7_000, "USD", 2)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {problem}");
        assert_eq!(
            problem["type"],
            "https://ota-travel.example.com/problems/sold-out"
        );
        assert_eq!(items(&cart(&app, &token).await).len(), 1, "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_traveller_sees_and_changes_only_their_own_cart() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (alice, _) = session(&app).await;
        let (bob, _) = session(&app).await;
        let flight = id(&flight_offers(&app).await[0]);
        let (status, item) = add(&app, &alice, &flight).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {item}");
        let path = format!(
            "/api/v1/cart/items/{}",
            item["item_id"].as_str().expect("id")
        );

        assert!(
            items(&cart(&app, &bob).await).is_empty(),
            "{l}: Bob sees his own, empty cart"
        );
        assert_eq!(
            delete(&app, &path, Some(&bob)).await.0,
            StatusCode::NOT_FOUND,
            "{l}"
        );
        assert_eq!(
            delete(&app, "/api/v1/cart", Some(&bob)).await.0,
            StatusCode::NO_CONTENT
        );
        // Bob can put the same offer in his own cart: carts do not share items.
        assert_eq!(add(&app, &bob, &flight).await.0, StatusCode::CREATED, "{l}");
        let mine = cart(&app, &alice).await;
        assert_eq!(items(&mine).len(), 1, "{l}: Alice's cart is untouched");
        assert_eq!(items(&mine)[0]["item_id"], item["item_id"]);

        // Without a token, nothing.
        for (method, path) in [
            (Method::GET, "/api/v1/cart".to_owned()),
            (Method::DELETE, "/api/v1/cart".to_owned()),
            (Method::DELETE, path.clone()),
        ] {
            let (status, _, _) = app.call(method, &path, None, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}: {path}");
        }
        let (status, _, _) = app
            .call(
                Method::POST,
                "/api/v1/cart/items",
                Some(json!({"offer_id": flight})),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        // A service token is not a traveller's.
        let service = keys().service_token("booking-service");
        let (status, _) = app.get("/api/v1/cart", Some(&service)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        assert_eq!(items(&cart(&app, &alice).await).len(), 1, "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn concurrent_adds_of_different_offers_all_land() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (token, _) = session(&app).await;
        let real = id(&flight_offers(&app).await[0]);
        let requests: Vec<_> = (0..5)
            .map(|i| {
                let http = app.http.clone();
                let url = format!("{}/api/v1/cart/items", app.api);
                let token = token.clone();
                let offer_id = variant(&real, 20_000 + i, "USD", 1);
                tokio::spawn(async move {
                    http.post(url)
                        .bearer_auth(token)
                        .json(&json!({ "offer_id": offer_id }))
                        .send()
                        .await
                        .map(|r| r.status())
                })
            })
            .collect();
        for r in requests {
            let status = r.await.expect("task").expect("answer");
            assert_eq!(status, StatusCode::CREATED, "{l}");
        }
        let c = cart(&app, &token).await;
        assert_eq!(items(&c).len(), 5, "{l}: an add was lost: {c}");
        assert_eq!(
            c["total"]["amount"],
            (0..5).map(|i| 20_000 + i).sum::<i64>()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn checkout_reads_and_clears_carts_with_a_service_token_only() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (token, user_id) = session(&app).await;
        let flight = flight_offers(&app).await.remove(0);
        assert_eq!(
            add(&app, &token, &id(&flight)).await.0,
            StatusCode::CREATED,
            "{l}"
        );
        let path = format!("/internal/v1/carts/{user_id}");

        for method in [Method::GET, Method::DELETE] {
            for bearer in [None, Some(token.as_str())] {
                let (status, _, _) = app.call(method.clone(), &path, None, bearer).await;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{l}: {method} {path} with {bearer:?}"
                );
            }
        }
        let service = keys().service_token("booking-service");
        let (status, _, c) = app.call(Method::GET, &path, None, Some(&service)).await;
        assert_eq!(status, StatusCode::OK, "{l}: {c}");
        assert_eq!(items(&c).len(), 1);
        assert_eq!(
            items(&c)[0]["passengers"]["adults"],
            2,
            "{l}: checkout needs two travellers"
        );
        assert!(
            c["cart_id"].is_string(),
            "{l}: a cart with items has an id: {c}"
        );
        assert_eq!(c["total"], flight["total"]);
        let (status, _, problem) = app
            .call(
                Method::GET,
                "/internal/v1/carts/someone",
                None,
                Some(&service),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "user_id");

        let (status, _, _) = app.call(Method::DELETE, &path, None, Some(&service)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{l}");
        assert!(
            items(&cart(&app, &token).await).is_empty(),
            "{l}: cleared for checkout"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn an_unreachable_search_service_answers_503_quickly() {
    let backend = Backend {
        label: "search-down",
        database_url: None,
        redis_url: None,
    };
    let mut args = serve_args(&backend, &testkit::temp_dir());
    // Nothing listens there: every revalidation fails to connect.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    args.settings.peers.search = Some(dead_url);
    let app = TestApp::spawn_with("search-down", args).await;
    let (token, _) = session(&app).await;
    let offer = variant(&id(&flight_offers(&app).await[0]), 10_000, "USD", 1);
    let started = Instant::now();
    let (status, headers, problem) = app
        .call(
            Method::POST,
            "/api/v1/cart/items",
            Some(json!({ "offer_id": offer })),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "failed slowly: {:?}",
        started.elapsed()
    );
    assert!(items(&cart(&app, &token).await).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn carts_answer_503_while_redis_is_away_and_come_back_with_it() {
    let Some(redis) = testkit::redis_url() else {
        // Covered whenever OTA_TEST_REDIS_URL is set (always in CI).
        return;
    };
    let authority = redis
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("host:port");
    let target: std::net::SocketAddr = authority
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("host:port");
    let link = FaultyLink::to(target).await;
    let backend = Backend {
        label: "cart-redis",
        database_url: None,
        redis_url: Some(redis.replacen(authority, &link.addr.to_string(), 1)),
    };
    let app = TestApp::spawn_with("cart-redis", serve_args(&backend, &testkit::temp_dir())).await;
    let (token, _) = session(&app).await;
    let flight = id(&flight_offers(&app).await[0]);
    assert_eq!(add(&app, &token, &flight).await.0, StatusCode::CREATED);

    link.cut().await;
    let started = Instant::now();
    let (status, headers, problem) = app
        .call(Method::GET, "/api/v1/cart", None, Some(&token))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(headers["content-type"], "application/problem+json");
    let (status, _) = add(&app, &token, &variant(&flight, 1_000, "USD", 1)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed slowly: {:?}",
        started.elapsed()
    );

    link.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = app.get("/api/v1/cart", Some(&token)).await;
        if status == StatusCode::OK {
            assert_eq!(
                items(&body).len(),
                1,
                "the cart outlived the outage: {body}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery after Redis returned"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.stop().await;
}
