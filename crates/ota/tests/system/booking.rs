//! booking-service end to end over HTTP, with the real search, cart and payment
//! services: the whole journey, refusals, races for the last seats, idempotent retries,
//! a peer dying mid-saga and the process stopped mid-saga, on SQLite and PostgreSQL.
//! Invariants checked: sold never exceeds capacity, no money is kept for a booking that
//! is not CONFIRMED, one key makes one booking and one charge, the ledger balances, and
//! nobody sees another traveller's bookings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, SECRET, TestApp, backends};
use ota::ServeArgs;
use ota_booking::recovery::RecoveryTiming;
use ota_platform::db::Db;
use ota_platform::tokens::KeyRing;
use ota_search::offers::OfferClaims;
use ota_testkit::{self as testkit, day, eventually};

/// Recovery every second, a step stuck after 10 s: long enough that no live checkout
/// of these tests is taken over, short enough to watch recovery work.
const STUCK_AFTER: Duration = Duration::from_secs(10);

/// The system's settings for these tests, with fast recovery.
pub(crate) fn serve_args(backend: &Backend, dir: &std::path::Path) -> ServeArgs {
    let mut args = crate::common::serve_args(backend, dir);
    args.booking.recovery = RecoveryTiming {
        period: Duration::from_secs(1),
        stuck_after: STUCK_AFTER,
    };
    args
}

fn keys() -> KeyRing {
    KeyRing::parse(SECRET).expect("ring")
}

fn service_token() -> String {
    keys().service_token("booking-service")
}

pub(crate) fn travellers(n: usize) -> Value {
    let names = [
        ("Ada", "Lovelace"),
        ("Charles", "Babbage"),
        ("Grace", "Hopper"),
    ];
    Value::Array(
        (0..n)
            .map(|i| {
                let (first, last) = names[i % names.len()];
                json!({"first_name": first, "last_name": last, "date_of_birth": format!("19{}-0{}-1{}", 70 + i, 1 + i % 9, i % 10)})
            })
            .collect(),
    )
}

pub(crate) fn checkout_body(n: usize, payment_method_id: &str) -> Value {
    json!({"travellers": travellers(n), "contact": {"email": "ada@example.com"}, "payment_method_id": payment_method_id})
}

/// A signed-in traveller.
pub(crate) struct Traveller {
    pub(crate) token: String,
}

pub(crate) async fn traveller(app: &TestApp) -> Traveller {
    Traveller {
        token: app.signed_in().await,
    }
}

pub(crate) async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    idempotency_key: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, format!("{}{path}", app.api));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = idempotency_key {
        req = req.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: {path}: {e}", app.label));
    let status = res.status();
    let bytes = res.bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub(crate) async fn checkout(
    app: &TestApp,
    t: &Traveller,
    key: &str,
    body: &Value,
) -> (StatusCode, Value) {
    send(
        app,
        Method::POST,
        "/api/v1/bookings",
        Some(&t.token),
        Some(key),
        Some(body),
    )
    .await
}

pub(crate) async fn get(app: &TestApp, t: &Traveller, path: &str) -> (StatusCode, Value) {
    send(app, Method::GET, path, Some(&t.token), None, None).await
}

pub(crate) async fn post(
    app: &TestApp,
    t: &Traveller,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    send(app, Method::POST, path, Some(&t.token), None, Some(&body)).await
}

/// Cancels a booking as traveller `t`.
pub(crate) async fn cancel(app: &TestApp, t: &Traveller, reference: &str) -> (StatusCode, Value) {
    post(
        app,
        t,
        &format!("/api/v1/bookings/{reference}/cancel"),
        json!({}),
    )
    .await
}

pub(crate) async fn offers(app: &TestApp, path: &str) -> Vec<Value> {
    let (status, body) = app.get(path, None).await;
    assert_eq!(status, StatusCode::OK, "{}: {path}: {body}", app.label);
    body["offers"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn id(offer: &Value) -> String {
    offer["offer_id"].as_str().expect("offer id").to_owned()
}

/// A direct flight for `adults`, refundable if one is on sale.
pub(crate) async fn flight(
    app: &TestApp,
    route: (&str, &str),
    days_ahead: i64,
    adults: u8,
) -> Value {
    let list = offers(
        app,
        &format!(
            "/api/v1/flights/search?origin={}&destination={}&departure_date={}&adults={adults}&max_stops=0&limit=50",
            route.0,
            route.1,
            day(days_ahead)
        ),
    )
    .await;
    list.iter()
        .find(|o| o["fare_rules"]["refundable"] == true)
        .or(list.first())
        .cloned()
        .unwrap_or_else(|| panic!("{}: no flight {route:?}", app.label))
}

/// A hotel stay on the flexible (refundable) rate.
pub(crate) async fn flexible_hotel(app: &TestApp, city: &str, days_ahead: i64) -> Value {
    let list = offers(
        app,
        &format!(
            "/api/v1/hotels/search?city={city}&check_in={}&check_out={}",
            day(days_ahead),
            day(days_ahead + 2)
        ),
    )
    .await;
    list.iter()
        .find(|o| o["cancellation_policy"]["refundable"] == true)
        .cloned()
        .unwrap_or_else(|| panic!("{}: no flexible hotel in {city}", app.label))
}

pub(crate) async fn add_to_cart(app: &TestApp, t: &Traveller, offer_id: &str) {
    let (status, item) = post(app, t, "/api/v1/cart/items", json!({"offer_id": offer_id})).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {item}", app.label);
}

pub(crate) async fn card(app: &TestApp, t: &Traveller, number: &str) -> String {
    app.add_card(&t.token, number).await
}

/// What the offer has left, as search-service sees it now.
async fn remaining(app: &TestApp, offer_id: &str) -> Option<i64> {
    let (status, offer) = app.get(&format!("/api/v1/offers/{offer_id}"), None).await;
    match status {
        StatusCode::OK => offer["seats_remaining"]
            .as_i64()
            .or(offer["rooms_remaining"].as_i64()),
        StatusCode::CONFLICT => Some(0),
        _ => None,
    }
}

async fn payments_for(app: &TestApp, reference: &str) -> Vec<Value> {
    let (status, _, body) = app
        .call(
            Method::GET,
            &format!("/internal/v1/payments?booking_reference={reference}"),
            None,
            Some(&service_token()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{}: {body}", app.label);
    body["payments"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn amount(v: &Value) -> i64 {
    v["amount"].as_i64().unwrap_or(0)
}

/// No money kept for a booking that is not CONFIRMED; a CONFIRMED one kept exactly its
/// total (less what a cancellation refunded); one captured payment per booking at most.
async fn money_matches(app: &TestApp, booking: &Value) {
    let l = app.label;
    let reference = booking["reference"].as_str().expect("reference");
    let payments = payments_for(app, reference).await;
    let kept: i64 = payments
        .iter()
        .map(|p| amount(&p["captured"]) - amount(&p["refunded"]))
        .sum();
    let captured = payments
        .iter()
        .filter(|p| amount(&p["captured"]) > 0)
        .count();
    assert!(
        captured <= 1,
        "{l}: {reference} charged twice: {payments:?}"
    );
    match booking["status"].as_str() {
        Some("CONFIRMED") => assert_eq!(kept, amount(&booking["total"]), "{l}: {reference}"),
        Some("CANCELLED") => assert_eq!(
            kept,
            amount(&booking["total"]) - amount(&booking["refund"]),
            "{l}: {reference}"
        ),
        other => assert_eq!(kept, 0, "{l}: {reference} is {other:?} but money was kept"),
    }
}

/// The ledger of payment-service, read from its own database: the sum over all
/// accounts is zero, and merchant revenue is what confirmed bookings kept.
async fn ledger_balances(backend: &Backend, dir: &std::path::Path, expected_revenue: i64) {
    let db = Db::open(
        &testkit::db_settings(backend.database_url.clone()),
        dir,
        ota_payment::SERVICE,
        &ota_payment::MIGRATIONS,
    )
    .await
    .expect("payment database");
    let rows: Vec<(String, String, i64)> = ota_platform::on_pool!(&db, pool => {
        sqlx::query_as("SELECT account, direction, amount FROM ledger_entries")
            .fetch_all(pool).await.expect("ledger")
    });
    let mut balances: HashMap<String, i64> = HashMap::new();
    for (account, direction, amount) in rows {
        let signed = if direction == "debit" {
            amount
        } else {
            -amount
        };
        *balances.entry(account).or_default() += signed;
    }
    assert_eq!(
        balances.values().sum::<i64>(),
        0,
        "{}: the ledger does not balance: {balances:?}",
        backend.label
    );
    assert_eq!(
        -balances.get("merchant_revenue").copied().unwrap_or(0),
        expected_revenue,
        "{}: {balances:?}",
        backend.label
    );
    db.close().await;
}

async fn spawn(backend: &Backend, dir: &std::path::Path) -> TestApp {
    TestApp::spawn_with(backend.label, serve_args(backend, dir)).await
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_whole_journey_books_cancels_refunds_and_gives_inventory_back() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = spawn(&backend, &dir).await;
        let l = app.label;
        let ada = traveller(&app).await;
        let flight = flight(&app, ("JFK", "LAX"), 12, 2).await;
        let hotel = flexible_hotel(&app, "Paris", 20).await;
        let (flight_id, hotel_id) = (id(&flight), id(&hotel));
        let seats_before = remaining(&app, &flight_id).await.expect("seats");
        let rooms_before = remaining(&app, &hotel_id).await.expect("rooms");
        add_to_cart(&app, &ada, &flight_id).await;
        add_to_cart(&app, &ada, &hotel_id).await;
        let visa = card(&app, &ada, "4242424242424242").await;

        // Refusals first: no key, bad fields, the wrong number of travellers.
        let body = checkout_body(2, &visa);
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/bookings",
            Some(&ada.token),
            None,
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key", "{l}");
        let bad = json!({"travellers": [{"first_name": "", "last_name": "Lovelace", "date_of_birth": "2090-01-01"}],
            "contact": {"email": "nope"}});
        let (status, problem) = checkout(&app, &ada, "bad-fields", &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        for f in [
            "travellers[0].first_name",
            "travellers[0].date_of_birth",
            "contact.email",
            "payment_method_id",
        ] {
            assert!(fields.contains(&f), "{l}: {f} not named in {problem}");
        }
        let (status, problem) =
            checkout(&app, &ada, "one-traveller", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "travellers", "{l}");

        // The checkout.
        let (status, booking) = checkout(&app, &ada, "journey-1", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {booking}");
        assert_eq!(booking["status"], "CONFIRMED", "{l}");
        let reference = booking["reference"].as_str().expect("reference").to_owned();
        assert!(
            ota_booking::domain::BookingReference::parse(&reference)
                .is_ok_and(|r| r.as_str() == reference),
            "{l}: {reference}"
        );
        let total = amount(&flight["total"]) + amount(&hotel["total"]);
        assert_eq!(amount(&booking["total"]), total, "{l}");
        assert_eq!(booking["items"].as_array().map(Vec::len), Some(2), "{l}");
        assert_eq!(
            booking["travellers"].as_array().map(Vec::len),
            Some(2),
            "{l}"
        );
        assert_eq!(booking["travellers"][0]["first_name"], "Ada");
        assert_eq!(booking["contact"]["email"], "ada@example.com");
        assert_eq!(booking["payment"]["status"], "captured", "{l}");
        assert!(booking["created_at"].is_string());
        let payment_id = booking["payment"]["id"]
            .as_str()
            .expect("payment id")
            .to_owned();

        // Read back, listed, cart cleared, inventory sold.
        let (status, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(status, StatusCode::OK, "{l}: {read}");
        assert_eq!(read["status"], "CONFIRMED");
        let (_, list) = get(&app, &ada, "/api/v1/bookings").await;
        assert_eq!(
            list["bookings"][0]["reference"],
            reference.as_str(),
            "{l}: {list}"
        );
        let (_, cart) = get(&app, &ada, "/api/v1/cart").await;
        assert_eq!(
            cart["items"].as_array().map(Vec::len),
            Some(0),
            "{l}: {cart}"
        );
        eventually("seats sold", Duration::from_secs(10), || async {
            remaining(&app, &flight_id).await == Some(seats_before - 2)
        })
        .await;
        money_matches(&app, &read).await;

        // Quote, then cancel: everything here is refundable and far away.
        let refundable: i64 = [&flight, &hotel]
            .iter()
            .filter(|o| {
                o["fare_rules"]["refundable"] == true
                    || o["cancellation_policy"]["refundable"] == true
            })
            .map(|o| amount(&o["total"]))
            .sum();
        let (status, quote) = get(
            &app,
            &ada,
            &format!("/api/v1/bookings/{reference}/cancellation-quote"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}: {quote}");
        assert_eq!(amount(&quote["refund"]), refundable, "{l}: {quote}");
        let (status, cancelled) = cancel(&app, &ada, &reference).await;
        assert_eq!(status, StatusCode::OK, "{l}: {cancelled}");
        assert_eq!(cancelled["status"], "CANCELLED");
        assert_eq!(cancelled["reference"], reference.as_str());
        assert_eq!(amount(&cancelled["refund"]), refundable, "{l}");
        let (status, again) = cancel(&app, &ada, &reference).await;
        assert_eq!(
            (status, &again),
            (StatusCode::OK, &cancelled),
            "{l}: cancelling twice answers the same"
        );
        let (_, payment) = get(&app, &ada, &format!("/api/v1/payments/{payment_id}")).await;
        assert_eq!(amount(&payment["refunded"]), refundable, "{l}: {payment}");
        let (_, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(read["status"], "CANCELLED", "{l}");
        money_matches(&app, &read).await;
        eventually("seats back", Duration::from_secs(10), || async {
            remaining(&app, &flight_id).await == Some(seats_before)
                && remaining(&app, &hotel_id).await == Some(rooms_before)
        })
        .await;
        app.stop().await;
        ledger_balances(&backend, &dir, total - refundable).await;
    }
}

/// A supplier's pull of its unacknowledged reservations at a hotel (the XML answer).
async fn pull_reservations(app: &TestApp, credential: &str, hotel: &str) -> String {
    pull_reservations_of(app, credential, Some(hotel)).await
}

/// A supplier's pull of its unacknowledged reservations at one of its hotels or all.
pub(crate) async fn pull_reservations_of(
    app: &TestApp,
    credential: &str,
    hotel: Option<&str>,
) -> String {
    let request = match hotel {
        Some(code) => {
            format!(r#"<ReadRequests><HotelReadRequest HotelCode="{code}"/></ReadRequests>"#)
        }
        None => String::new(),
    };
    let (status, answer) = crate::supplier::push(
        app,
        "Read",
        credential,
        format!(r#"<OTA_ReadRQ EchoToken="pull">{request}</OTA_ReadRQ>"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}: {answer}", app.label);
    assert!(
        answer.contains("<Success/>") && answer.contains(r#"EchoToken="pull""#),
        "{answer}"
    );
    answer
}

/// A supplier acknowledging one reservation in a state (`Book`, `Cancel`).
async fn report_reservation(app: &TestApp, credential: &str, reference: String, status: &str) {
    let (code, answer) = crate::supplier::push(
        app,
        "NotifReport",
        credential,
        format!(
            r#"<OTA_NotifReportRQ><Success/><NotifDetails><HotelNotifReport><HotelReservations>
            <HotelReservation ResStatus="{status}"><UniqueID Type="14" ID="{reference}"/></HotelReservation>
            </HotelReservations></HotelNotifReport></NotifDetails></OTA_NotifReportRQ>"#
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{}: {answer}", app.label);
}

#[tokio::test]
async fn a_booked_hotel_reaches_its_supplier_once_and_its_cancellation_too() {
    use crate::supplier::{create_supplier, push};
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = spawn(&backend, &dir).await;
        let l = app.label;
        let hotel = flexible_hotel(&app, "Paris", 20).await;
        let code = hotel["hotel"]["code"].as_str().expect("code").to_owned();
        let cm = create_supplier(&backend, &dir, "paris-cm", &code);
        let pull = || pull_reservations(&app, &cm, &code);
        let report = |reference: String, status: &'static str| {
            report_reservation(&app, &cm, reference, status)
        };
        assert!(
            !pull().await.contains("<HotelReservation "),
            "{l}: nothing booked yet"
        );

        let ada = traveller(&app).await;
        add_to_cart(&app, &ada, &id(&hotel)).await;
        let visa = card(&app, &ada, "4242424242424242").await;
        let (status, booking) = checkout(&app, &ada, "supplier-1", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {booking}");
        let reference = booking["reference"].as_str().expect("reference").to_owned();

        // Sent on every pull until acknowledged, with what the hotel needs.
        for _ in 0..2 {
            let answer = pull().await;
            assert_eq!(
                answer.matches("<HotelReservation ").count(),
                1,
                "{l}: {answer}"
            );
            for part in [
                format!(r#"<UniqueID Type="14" ID="{reference}"/>"#),
                r#"ResStatus="Book""#.to_owned(),
                format!(
                    r#"RoomTypeCode="{}""#,
                    hotel["room_type_code"].as_str().expect("room")
                ),
                format!(
                    r#"RatePlanCode="{}""#,
                    hotel["rate_plan_code"].as_str().expect("plan")
                ),
                format!(
                    r#"<TimeSpan Start="{}" End="{}"/>"#,
                    hotel["check_in"].as_str().expect("in"),
                    hotel["check_out"].as_str().expect("out")
                ),
                format!(
                    r#"<Total AmountAfterTax="{}.{:02}""#,
                    amount(&hotel["total"]) / 100,
                    amount(&hotel["total"]) % 100
                ),
            ] {
                assert!(answer.contains(&part), "{l}: {part} not in {answer}");
            }
        }
        // Another supplier never sees it.
        let other = flexible_hotel(&app, "London", 20).await;
        let theirs = create_supplier(
            &backend,
            &dir,
            "london-cm",
            other["hotel"]["code"].as_str().expect("code"),
        );
        let (_, answer) = push(&app, "Read", &theirs, "<OTA_ReadRQ/>".to_owned()).await;
        assert!(!answer.contains(&reference), "{l}: {answer}");

        report(reference.clone(), "Book").await;
        assert!(
            !pull().await.contains("<HotelReservation "),
            "{l}: acknowledged, not sent again"
        );

        // Its cancellation comes as a cancellation, once acknowledged no more.
        let (status, cancelled) = cancel(&app, &ada, &reference).await;
        assert_eq!(status, StatusCode::OK, "{l}: {cancelled}");
        let answer = pull().await;
        assert!(
            answer.contains(r#"ResStatus="Cancel""#)
                && answer.contains(&format!(r#"ID="{reference}""#)),
            "{l}: {answer}"
        );
        // Acknowledging the booking again does not acknowledge its cancellation.
        report(reference.clone(), "Book").await;
        assert!(pull().await.contains(r#"ResStatus="Cancel""#), "{l}");
        report(reference.clone(), "Cancel").await;
        assert!(!pull().await.contains("<HotelReservation "), "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_declined_card_fails_the_booking_with_nothing_captured_and_inventory_back() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = spawn(&backend, &dir).await;
        let l = app.label;
        let ada = traveller(&app).await;
        let flight = flight(&app, ("ORD", "ATL"), 9, 1).await;
        let flight_id = id(&flight);
        let seats_before = remaining(&app, &flight_id).await.expect("seats");
        add_to_cart(&app, &ada, &flight_id).await;
        for (n, (number, code)) in [
            ("4000000000000002", "card_declined"),
            ("4000000000009995", "insufficient_funds"),
        ]
        .into_iter()
        .enumerate()
        {
            let declined = card(&app, &ada, number).await;
            let (status, problem) = checkout(
                &app,
                &ada,
                &format!("declined-{n}"),
                &checkout_body(1, &declined),
            )
            .await;
            assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{l}: {problem}");
            assert_eq!(problem["status"], "FAILED", "{l}: {problem}");
            assert_eq!(problem["decline_code"], code, "{l}: {problem}");
            let reference = problem["reference"].as_str().expect("reference").to_owned();
            let (status, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
            assert_eq!(status, StatusCode::OK, "{l}");
            assert_eq!(read["status"], "FAILED", "{l}: {read}");
            money_matches(&app, &read).await;
            // Replayed with the same key: the same refusal, not a second attempt.
            let (again_status, again) = checkout(
                &app,
                &ada,
                &format!("declined-{n}"),
                &checkout_body(1, &declined),
            )
            .await;
            assert_eq!((again_status, &again), (status_402(), &problem), "{l}");
        }
        let (_, cart) = get(&app, &ada, "/api/v1/cart").await;
        assert_eq!(
            cart["items"].as_array().map(Vec::len),
            Some(1),
            "{l}: the cart stays for another card"
        );
        eventually("seats back", Duration::from_secs(10), || async {
            remaining(&app, &flight_id).await == Some(seats_before)
        })
        .await;
        // A good card then books it.
        let visa = card(&app, &ada, "4242424242424242").await;
        let (status, booking) = checkout(&app, &ada, "good-card", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {booking}");
        app.stop().await;
        ledger_balances(&backend, &dir, amount(&flight["total"])).await;
    }
}

fn status_402() -> StatusCode {
    StatusCode::PAYMENT_REQUIRED
}

/// Holds all but `left` seats of the offer's flight under a booking nobody owns.
async fn shrink_to(app: &TestApp, offer: &Value, left: i64) {
    let keys = keys();
    let OfferClaims::Flight { s, c, .. } =
        OfferClaims::verify(&id(offer), &keys).expect("valid offer")
    else {
        panic!("a flight offer")
    };
    let seats = offer["seats_remaining"].as_i64().expect("seats");
    let take = u8::try_from(seats - left).expect("a small cabin");
    let claims = OfferClaims::Flight {
        s,
        c,
        a: take,
        ch: 0,
        inf: 0,
        f: 0,
        fc: 0,
        fi: 0,
        t: 1,
        cur: "USD".into(),
        x: Utc::now().timestamp() + 600,
    };
    let (status, _, hold) = app
        .call(
            Method::POST,
            "/internal/v1/holds",
            Some(json!({"booking_id": uuid::Uuid::now_v7(), "offer_ids": [claims.sign(&keys)], "ttl_seconds": 1800})),
            Some(&service_token()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}: {hold}", app.label);
}

#[tokio::test]
async fn concurrent_checkouts_for_the_last_seats_never_oversell() {
    const BUYERS: usize = 8;
    const LEFT: i64 = 3;
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = Arc::new(spawn(&backend, &dir).await);
        let l = app.label;
        let flight = flight(&app, ("JFK", "LAX"), 7, 1).await;
        let flight_id = id(&flight);
        let mut buyers = Vec::new();
        for _ in 0..BUYERS {
            let t = traveller(&app).await;
            add_to_cart(&app, &t, &flight_id).await;
            let visa = card(&app, &t, "4242424242424242").await;
            buyers.push((t, visa));
        }
        shrink_to(&app, &flight, LEFT).await;
        eventually("capacity shrunk", Duration::from_secs(10), || async {
            remaining(&app, &flight_id).await == Some(LEFT)
        })
        .await;

        let mut tasks = Vec::new();
        for (i, (t, visa)) in buyers.into_iter().enumerate() {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let answer =
                    checkout(&app, &t, &format!("race-{i}"), &checkout_body(1, &visa)).await;
                (t, answer)
            }));
        }
        let mut confirmed = Vec::new();
        let mut refused = 0;
        let mut everyone = Vec::new();
        for task in tasks {
            let (t, (status, body)) = task.await.expect("task");
            match status {
                StatusCode::CREATED => {
                    assert_eq!(body["status"], "CONFIRMED", "{l}");
                    confirmed.push(body);
                }
                StatusCode::CONFLICT => {
                    assert!(
                        body["type"]
                            .as_str()
                            .is_some_and(|t| t.ends_with("/sold-out")),
                        "{l}: refused cleanly: {body}"
                    );
                    refused += 1;
                }
                other => panic!("{l}: a loser must be refused cleanly, not {other}: {body}"),
            }
            everyone.push(t);
        }
        assert_eq!(
            confirmed.len() as i64,
            LEFT,
            "{l}: every seat left sold, no more"
        );
        assert_eq!(refused, BUYERS - LEFT as usize, "{l}");
        eventually("sold out", Duration::from_secs(10), || async {
            remaining(&app, &flight_id).await == Some(0)
        })
        .await;
        // Every booking anyone has is settled and paid for exactly when CONFIRMED.
        for t in &everyone {
            let (_, list) = get(&app, t, "/api/v1/bookings").await;
            for b in list["bookings"].as_array().expect("bookings") {
                assert!(
                    matches!(b["status"].as_str(), Some("CONFIRMED" | "FAILED")),
                    "{l}: {b}"
                );
                money_matches(&app, b).await;
            }
        }
        match Arc::try_unwrap(app) {
            Ok(app) => app.stop().await,
            Err(_) => panic!("the app is still shared"),
        }
        ledger_balances(&backend, &dir, amount(&flight["total"]) * LEFT).await;
    }
}

#[tokio::test]
async fn the_same_idempotency_key_makes_one_booking_and_one_charge() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = Arc::new(spawn(&backend, &dir).await);
        let l = app.label;
        let ada = Arc::new(traveller(&app).await);
        let flight = flight(&app, ("LAX", "JFK"), 11, 1).await;
        add_to_cart(&app, &ada, &id(&flight)).await;
        let visa = card(&app, &ada, "4242424242424242").await;
        let body = Arc::new(checkout_body(1, &visa));

        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (app, ada, body) = (app.clone(), ada.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                checkout(&app, &ada, "same-key", &body).await
            }));
        }
        let mut first = None;
        for task in tasks {
            let (status, answer) = task.await.expect("task");
            match status {
                StatusCode::CREATED => first = Some(answer),
                StatusCode::CONFLICT => assert!(
                    answer["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("still running")),
                    "{l}: {answer}"
                ),
                other => panic!("{l}: {other}: {answer}"),
            }
        }
        let first = first.unwrap_or(Value::Null);
        // Repeats after it finished answer exactly the first answer.
        eventually(
            "the first checkout finished",
            Duration::from_secs(20),
            || async { checkout(&app, &ada, "same-key", &body).await.0 == StatusCode::CREATED },
        )
        .await;
        for _ in 0..3 {
            let (status, again) = checkout(&app, &ada, "same-key", &body).await;
            assert_eq!(status, StatusCode::CREATED, "{l}");
            if !first.is_null() {
                assert_eq!(again, first, "{l}: the stored first answer");
            }
        }
        // The same key with another body is refused.
        let (status, problem) = checkout(&app, &ada, "same-key", &checkout_body(2, &visa)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key", "{l}");

        let (_, list) = get(&app, &ada, "/api/v1/bookings").await;
        let bookings = list["bookings"].as_array().expect("bookings");
        assert_eq!(bookings.len(), 1, "{l}: one booking: {list}");
        let payments =
            payments_for(&app, bookings[0]["reference"].as_str().expect("reference")).await;
        assert_eq!(payments.len(), 1, "{l}: one charge: {payments:?}");
        money_matches(&app, &bookings[0]).await;
        match Arc::try_unwrap(app) {
            Ok(app) => app.stop().await,
            Err(_) => panic!("the app is still shared"),
        }
        ledger_balances(&backend, &dir, amount(&flight["total"])).await;
    }
}

#[tokio::test]
async fn another_traveller_can_neither_read_nor_cancel_a_booking() {
    let backend = backends().await.remove(0);
    let app = spawn(&backend, &testkit::temp_dir()).await;
    let l = app.label;
    let ada = traveller(&app).await;
    let eve = traveller(&app).await;
    let flight = flight(&app, ("JFK", "LAX"), 15, 1).await;
    add_to_cart(&app, &ada, &id(&flight)).await;
    let visa = card(&app, &ada, "4242424242424242").await;
    let (status, booking) = checkout(&app, &ada, "mine", &checkout_body(1, &visa)).await;
    assert_eq!(status, StatusCode::CREATED, "{l}: {booking}");
    let reference = booking["reference"].as_str().expect("reference");
    let payment_id = booking["payment"]["id"].as_str().expect("payment");

    for path in [
        format!("/api/v1/bookings/{reference}"),
        format!("/api/v1/bookings/{reference}/cancellation-quote"),
        format!("/api/v1/payments/{payment_id}"),
    ] {
        let (status, problem) = get(&app, &eve, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}: {path}: {problem}");
    }
    let (status, _) = cancel(&app, &eve, reference).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{l}");
    let (_, list) = get(&app, &eve, "/api/v1/bookings").await;
    assert_eq!(
        list["bookings"].as_array().map(Vec::len),
        Some(0),
        "{l}: {list}"
    );
    // Eve's own checkout cannot reuse Ada's key to see Ada's answer.
    let (status, _) = checkout(&app, &eve, "mine", &checkout_body(1, &visa)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{l}: Eve's cart is empty"
    );
    let (status, _) = send(&app, Method::GET, "/api/v1/bookings", None, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
    let (_, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
    assert_eq!(read["status"], "CONFIRMED", "{l}: untouched");
    // Lists page with a cursor.
    let (status, page) = get(&app, &ada, "/api/v1/bookings?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["next_cursor"],
        Value::Null,
        "{l}: one booking, one page"
    );
    let (status, _) = get(&app, &ada, "/api/v1/bookings?limit=51").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{l}");
    let (_, doc) = app.get("/api/v1/openapi.json", None).await;
    for path in [
        "/api/v1/bookings",
        "/api/v1/bookings/{reference}",
        "/api/v1/bookings/{reference}/cancellation-quote",
        "/api/v1/bookings/{reference}/cancel",
    ] {
        assert!(doc["paths"][path].is_object(), "{l}: {path} not documented");
    }
    // The problem types clients branch on are listed, the checkout's among them.
    let described = doc["info"]["description"].as_str().unwrap_or_default();
    for slug in [
        "cart-taken",
        "payment-declined",
        "payment-unavailable",
        "too-late",
        "timeout",
        "sold-out",
    ] {
        assert!(
            described.contains(&format!("`{slug}`")),
            "{l}: {slug} not listed"
        );
    }
    let checkout = doc["paths"]["/api/v1/bookings"]["post"].to_string();
    for term in ["cart-taken", "infant", "payment-unavailable"] {
        assert!(
            checkout.contains(term),
            "{l}: checkout does not describe {term}"
        );
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Faults: a peer behind a proxy the test controls, per request path.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Answer 503 at once, as a dead or overloaded peer's load balancer does.
    Refuse,
    /// Never answer.
    Hang,
    /// Answer late.
    Delay(Duration),
}

#[derive(Default)]
struct ProxyState {
    target: Mutex<Option<String>>,
    faults: Mutex<Vec<(String, Fault)>>,
}

/// An HTTP proxy in front of a peer service: forwards everything, except paths
/// containing a faulty pattern.
struct Proxy {
    url: String,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(ProxyState::default());
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Proxy { url, state, task }
    }

    fn target(&self, app: &TestApp) {
        if let Ok(mut t) = self.state.target.lock() {
            *t = Some(app.api.clone());
        }
    }

    fn fault(&self, pattern: &str, fault: Option<Fault>) {
        if let Ok(mut f) = self.state.faults.lock() {
            f.retain(|(p, _)| p != pattern);
            if let Some(fault) = fault {
                f.push((pattern.to_owned(), fault));
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(state): State<Arc<ProxyState>>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let fault = state.faults.lock().ok().and_then(|f| {
        f.iter()
            .find(|(p, _)| path.contains(p.as_str()))
            .map(|(_, f)| *f)
    });
    match fault {
        Some(Fault::Refuse) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Some(Fault::Hang) => tokio::time::sleep(Duration::from_secs(120)).await,
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let Some(target) = state.target.lock().ok().and_then(|t| t.clone()) else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let mut out = crate::common::http()
        .request(method, format!("{target}{path}"))
        .body(body);
    for (name, value) in &headers {
        if name != reqwest::header::HOST && name != reqwest::header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    match out.send().await {
        Ok(res) => {
            let status = res.status();
            let content_type = res.headers().get(reqwest::header::CONTENT_TYPE).cloned();
            let bytes = res.bytes().await.unwrap_or_default();
            let mut answer = (status, bytes).into_response();
            if let Some(ct) = content_type {
                answer
                    .headers_mut()
                    .insert(reqwest::header::CONTENT_TYPE, ct);
            }
            answer
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

async fn bookings_of(app: &TestApp, t: &Traveller) -> Vec<Value> {
    let (_, list) = get(app, t, "/api/v1/bookings").await;
    list["bookings"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_dead_or_slow_payment_peer_mid_saga_leaves_no_money_on_an_unconfirmed_booking() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let proxy = Proxy::start().await;
        let mut args = serve_args(&backend, &dir);
        args.settings.peers.payment = Some(proxy.url.clone());
        let app = TestApp::spawn_with(backend.label, args).await;
        proxy.target(&app);
        let l = app.label;
        let ada = traveller(&app).await;
        let flight = flight(&app, ("JFK", "LAX"), 16, 1).await;
        let flight_id = id(&flight);
        let seats_before = remaining(&app, &flight_id).await.expect("seats");
        add_to_cart(&app, &ada, &flight_id).await;
        let visa = card(&app, &ada, "4242424242424242").await;

        // Slow but alive: the checkout waits and completes.
        proxy.fault("/capture", Some(Fault::Delay(Duration::from_millis(1500))));
        let (status, slow) = checkout(&app, &ada, "slow", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {slow}");
        money_matches(&app, &slow).await;
        proxy.fault("/capture", None);

        // Dead: every payment call fails. The booking cannot know whether it was
        // authorised, so it stays HELD for recovery, and the client hears 503 with the
        // booking's reference and status within two seconds: never a decline.
        add_to_cart(&app, &ada, &flight_id).await;
        proxy.fault("/internal/v1/payments", Some(Fault::Refuse));
        let started = Instant::now();
        let (status, problem) = checkout(&app, &ada, "dead", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{l}: {problem}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{l}: answered after {:?}",
            started.elapsed()
        );
        assert_eq!(problem["status"], "HELD", "{l}: {problem}");
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/unavailable")),
            "{l}: {problem}"
        );
        let reference = problem["reference"].as_str().expect("reference").to_owned();
        let (status, running) = checkout(&app, &ada, "dead", &checkout_body(1, &visa)).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "{l}: still running: {running}"
        );
        // Another tab with another key: the cart is taken by that booking.
        let (status, taken) = checkout(&app, &ada, "dead-tab", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {taken}");
        assert!(
            taken["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/cart-taken")),
            "{l}: {taken}"
        );
        assert_eq!(taken["reference"], reference.as_str(), "{l}: {taken}");

        // At most three checkouts per traveller in flight: each on a new cart, a fourth
        // is refused.
        for key in ["dead-2", "dead-3", "dead-4"] {
            let (status, _) = send(
                &app,
                Method::DELETE,
                "/api/v1/cart",
                Some(&ada.token),
                None,
                None,
            )
            .await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{l}");
            add_to_cart(&app, &ada, &flight_id).await;
            let (status, problem) = checkout(&app, &ada, key, &checkout_body(1, &visa)).await;
            let expected = if key == "dead-4" {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            assert_eq!(status, expected, "{l}: {key}: {problem}");
        }

        // The peer comes back; recovery asks it what happened: nothing was authorised,
        // so each booking fails as payment_unavailable (never a decline), the key
        // closed so no late authorisation can take money.
        proxy.fault("/internal/v1/payments", None);
        eventually("the stuck booking settled", STUCK_AFTER * 3, || async {
            bookings_of(&app, &ada)
                .await
                .iter()
                .all(|b| b["status"] != "HELD")
        })
        .await;
        let (_, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(read["status"], "FAILED", "{l}: {read}");
        assert_eq!(read["failure_reason"], "payment_unavailable", "{l}: {read}");
        money_matches(&app, &read).await;
        for p in payments_for(&app, &reference).await {
            assert_ne!(
                p["status"], "authorized",
                "{l}: an authorisation left open: {p}"
            );
        }
        // The key now answers the outcome: the payment service was unavailable.
        let (status, outcome) = checkout(&app, &ada, "dead", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{l}: {outcome}");
        assert!(
            outcome["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/payment-unavailable")),
            "{l}: {outcome}"
        );
        assert_eq!(
            (outcome["reference"].as_str(), outcome["status"].as_str()),
            (Some(reference.as_str()), Some("FAILED"))
        );
        // The failed booking gave its cart back: a new key books it.
        let (status, booked) = checkout(&app, &ada, "after-outage", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {booked}");
        eventually(
            "only the confirmed bookings' seats are sold",
            Duration::from_secs(10),
            || async { remaining(&app, &flight_id).await == Some(seats_before - 2) },
        )
        .await;
        for b in bookings_of(&app, &ada).await {
            money_matches(&app, &b).await;
        }
        let (_, metrics) = app.management("/actuator/prometheus").await;
        for name in ["bookings_total", "saga_step_seconds", "bookings_stuck"] {
            assert!(metrics.contains(name), "{l}: {name} missing");
        }
        app.stop().await;
        ledger_balances(&backend, &dir, 2 * amount(&flight["total"])).await;
    }
}

#[tokio::test]
async fn a_process_stopped_mid_saga_finishes_the_booking_after_restart() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let proxy = Proxy::start().await;
        let args = |backend: &Backend| {
            let mut a = serve_args(backend, &dir);
            a.settings.peers.search = Some(proxy.url.clone());
            a
        };
        let mut app = TestApp::spawn_with(backend.label, args(&backend)).await;
        proxy.target(&app);
        let l = app.label;
        let ada = traveller(&app).await;
        let flight = flight(&app, ("ORD", "ATL"), 13, 1).await;
        let flight_id = id(&flight);
        add_to_cart(&app, &ada, &flight_id).await;
        let visa = card(&app, &ada, "4242424242424242").await;

        // The commit never answers: the saga sits between authorisation and capture
        // when the process stops.
        proxy.fault("/commit", Some(Fault::Hang));
        let client = app.http.clone();
        let url = format!("{}/api/v1/bookings", app.api);
        let (token, body) = (ada.token.clone(), checkout_body(1, &visa));
        let in_flight = tokio::spawn(async move {
            let _ = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "crash")
                .json(&body)
                .send()
                .await;
        });
        eventually(
            "the booking is authorised",
            Duration::from_secs(20),
            || async {
                bookings_of(&app, &ada)
                    .await
                    .first()
                    .is_some_and(|b| b["status"] == "AUTHORIZED")
            },
        )
        .await;
        let reference = bookings_of(&app, &ada).await[0]["reference"]
            .as_str()
            .expect("reference")
            .to_owned();
        let stopping = app.begin_stop();
        let _ = tokio::time::timeout(Duration::from_secs(15), stopping).await;
        in_flight.abort();

        // A new process on the same storage; the peer answers again.
        proxy.fault("/commit", None);
        let app = TestApp::spawn_with(backend.label, args(&backend)).await;
        proxy.target(&app);
        eventually("the booking is recovered", STUCK_AFTER * 4, || async {
            get(&app, &ada, &format!("/api/v1/bookings/{reference}"))
                .await
                .1["status"]
                == "CONFIRMED"
        })
        .await;
        let (_, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(read["payment"]["status"], "captured", "{l}: {read}");
        money_matches(&app, &read).await;
        let (status, replay) = checkout(&app, &ada, "crash", &checkout_body(1, &visa)).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{l}: the key answers the outcome: {replay}"
        );
        assert_eq!(replay["reference"], reference.as_str());
        app.stop().await;
        ledger_balances(&backend, &dir, amount(&flight["total"])).await;
    }
}

// ---------------------------------------------------------------------------------------
// The edges of the money path: one cart is one booking, honest errors, rules at "now".

fn born(years_ago: i64, days: i64) -> String {
    (Utc::now().date_naive() - chrono::Duration::days(years_ago * 365 + years_ago / 4 + days))
        .to_string()
}

fn party_body(births: &[String], payment_method_id: &str) -> Value {
    let travellers: Vec<Value> = births
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"first_name": "Ada", "last_name": format!("Lovelace {}", ["A", "B", "C", "D"][i % 4]), "date_of_birth": b}))
        .collect();
    json!({"travellers": travellers, "contact": {"email": "ada@example.com"}, "payment_method_id": payment_method_id})
}

fn slug(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
}

#[tokio::test]
async fn one_cart_makes_one_booking_and_one_charge_whatever_the_keys() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = Arc::new(spawn(&backend, &dir).await);
        let l = app.label;
        let flight = flight(&app, ("JFK", "LAX"), 15, 1).await;
        let flight_id = id(&flight);
        let mut revenue = 0;
        for n in [2usize, 5, 20] {
            let ada = Arc::new(traveller(&app).await);
            add_to_cart(&app, &ada, &flight_id).await;
            let visa = card(&app, &ada, "4242424242424242").await;
            let body = Arc::new(checkout_body(1, &visa));
            let tasks: Vec<_> = (0..n)
                .map(|i| {
                    let (app, ada, body) = (app.clone(), ada.clone(), body.clone());
                    tokio::spawn(async move {
                        checkout(&app, &ada, &format!("tab-{n}-{i}"), &body).await
                    })
                })
                .collect();
            let mut answers = Vec::new();
            for t in tasks {
                answers.push(t.await.expect("task"));
            }
            let confirmed: Vec<&Value> = answers
                .iter()
                .filter(|(s, _)| *s == StatusCode::CREATED)
                .map(|(_, b)| b)
                .collect();
            assert_eq!(confirmed.len(), 1, "{l}: {n} tabs: {answers:?}");
            let reference = confirmed[0]["reference"].as_str().expect("reference");
            for (status, problem) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
                match *status {
                    // Refused while the first held the cart: it names that booking.
                    StatusCode::CONFLICT => {
                        assert_eq!(slug(problem), "cart-taken", "{l}: {problem}");
                        assert_eq!(problem["reference"], reference, "{l}: {problem}");
                    }
                    // Arrived after the first had already emptied the cart.
                    StatusCode::UNPROCESSABLE_ENTITY => {
                        assert_eq!(problem["errors"][0]["field"], "cart", "{l}: {problem}")
                    }
                    other => panic!("{l}: {n} tabs: {other}: {problem}"),
                }
            }
            let bookings = bookings_of(&app, &ada).await;
            assert_eq!(bookings.len(), 1, "{l}: {n} tabs: {bookings:?}");
            assert_eq!(payments_for(&app, reference).await.len(), 1, "{l}");
            money_matches(&app, &bookings[0]).await;
            revenue += amount(&flight["total"]);
        }

        // Declined, then another key and another card: the failed booking gave the
        // cart back.
        let bob = traveller(&app).await;
        add_to_cart(&app, &bob, &flight_id).await;
        let declined = card(&app, &bob, "4000000000000002").await;
        let (status, problem) =
            checkout(&app, &bob, "first-card", &checkout_body(1, &declined)).await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{l}: {problem}");
        let visa = card(&app, &bob, "4242424242424242").await;
        let (status, booking) = checkout(&app, &bob, "second-card", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {booking}");
        revenue += amount(&flight["total"]);
        // The cart is used up: its item left it.
        let (_, cart) = get(&app, &bob, "/api/v1/cart").await;
        assert_eq!(
            cart["items"].as_array().map(Vec::len),
            Some(0),
            "{l}: {cart}"
        );
        match Arc::try_unwrap(app) {
            Ok(app) => app.stop().await,
            Err(_) => panic!("the app is still shared"),
        }
        ledger_balances(&backend, &dir, revenue).await;
    }
}

#[tokio::test]
async fn a_hanging_payment_service_answers_503_with_the_booking_and_settles_it_later() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let proxy = Proxy::start().await;
        let mut args = serve_args(&backend, &dir);
        args.settings.peers.payment = Some(proxy.url.clone());
        args.settings.http.request_timeout = Duration::from_secs(4);
        let app = TestApp::spawn_with(backend.label, args).await;
        proxy.target(&app);
        let l = app.label;
        let ada = traveller(&app).await;
        let flight = flight(&app, ("ORD", "ATL"), 17, 1).await;
        let flight_id = id(&flight);
        let seats_before = remaining(&app, &flight_id).await.expect("seats");
        add_to_cart(&app, &ada, &flight_id).await;
        let visa = card(&app, &ada, "4242424242424242").await;

        proxy.fault("/internal/v1/payments/authorize", Some(Fault::Hang));
        let started = Instant::now();
        let (status, problem) = checkout(&app, &ada, "hang", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{l}: {problem}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{l}: {:?}",
            started.elapsed()
        );
        assert_eq!(slug(&problem), "timeout", "{l}: {problem}");
        assert_eq!(problem["status"], "HELD", "{l}: {problem}");
        let reference = problem["reference"].as_str().expect("reference").to_owned();

        // The saga goes on without the client: payment-service never answered the
        // authorisation, so it is abandoned and the booking fails as unavailable.
        eventually("the booking settled", STUCK_AFTER * 4, || async {
            get(&app, &ada, &format!("/api/v1/bookings/{reference}"))
                .await
                .1["status"]
                == "FAILED"
        })
        .await;
        proxy.fault("/internal/v1/payments/authorize", None);
        let (_, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(read["failure_reason"], "payment_unavailable", "{l}: {read}");
        money_matches(&app, &read).await;
        let payments = payments_for(&app, &reference).await;
        assert!(
            payments.iter().all(|p| p["status"] == "voided"),
            "{l}: {payments:?}"
        );
        let (status, outcome) = checkout(&app, &ada, "hang", &checkout_body(1, &visa)).await;
        assert_ne!(
            status,
            StatusCode::PAYMENT_REQUIRED,
            "{l}: never a decline: {outcome}"
        );
        assert_eq!(slug(&outcome), "payment-unavailable", "{l}: {outcome}");
        // Settled: nothing invites a repeat of this key (a new checkout can succeed).
        let replay = app
            .http
            .post(format!("{}/api/v1/bookings", app.api))
            .bearer_auth(&ada.token)
            .header("Idempotency-Key", "hang")
            .json(&checkout_body(1, &visa))
            .send()
            .await
            .expect("replay");
        assert_eq!(replay.status(), StatusCode::SERVICE_UNAVAILABLE, "{l}");
        assert!(
            replay.headers().get("retry-after").is_none(),
            "{l}: a settled failure has no Retry-After"
        );
        eventually("the seat is back", Duration::from_secs(10), || async {
            remaining(&app, &flight_id).await == Some(seats_before)
        })
        .await;
        app.stop().await;
        ledger_balances(&backend, &dir, 0).await;
    }
}

#[tokio::test]
async fn nothing_is_given_back_after_departure_and_travellers_match_their_fares() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = spawn(&backend, &dir).await;
        let l = app.label;
        let ada = traveller(&app).await;
        let flight = flight(&app, ("JFK", "LAX"), 10, 1).await;
        let flight_id = id(&flight);
        let seats_before = remaining(&app, &flight_id).await.expect("seats");
        add_to_cart(&app, &ada, &flight_id).await;
        let visa = card(&app, &ada, "4242424242424242").await;

        // A six-month-old alone on an adult fare is refused, naming the travellers.
        let (status, problem) =
            checkout(&app, &ada, "baby", &party_body(&[born(0, 180)], &visa)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(
            problem["errors"][0]["field"], "travellers",
            "{l}: {problem}"
        );
        // A 14-year-old pays the adult fare but does not travel alone.
        let (status, problem) =
            checkout(&app, &ada, "teen", &party_body(&[born(14, 30)], &visa)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");

        let (status, booking) =
            checkout(&app, &ada, "adult", &party_body(&[born(40, 0)], &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {booking}");
        assert_eq!(booking["travellers"][0]["type"], "adult", "{l}: {booking}");
        assert_eq!(
            booking["items"][0]["passengers"],
            json!({"adults": 1, "children": 0, "infants": 0}),
            "{l}: {booking}"
        );
        let reference = booking["reference"].as_str().expect("reference").to_owned();
        eventually("the seat is sold", Duration::from_secs(10), || async {
            remaining(&app, &flight_id).await == Some(seats_before - 1)
        })
        .await;

        // The flight leaves (its departure moved into the past, as time would).
        let db = Db::open(
            &testkit::db_settings(backend.database_url.clone()),
            &dir,
            ota_booking::SERVICE,
            &ota_booking::MIGRATIONS,
        )
        .await
        .expect("booking database");
        let departed = Utc::now() - chrono::Duration::minutes(5);
        ota_platform::on_pool!(&db, pool => {
            sqlx::query("UPDATE booking_items SET starts_at = $1")
                .bind(departed)
                .execute(pool).await.expect("departed");
        });
        db.close().await;
        for path in ["cancellation-quote", "cancel"] {
            let url = format!("/api/v1/bookings/{reference}/{path}");
            let (status, problem) = if path == "cancel" {
                post(&app, &ada, &url, json!({})).await
            } else {
                get(&app, &ada, &url).await
            };
            assert_eq!(status, StatusCode::CONFLICT, "{l}: {path}: {problem}");
            assert_eq!(slug(&problem), "too-late", "{l}: {problem}");
        }
        let (_, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(read["status"], "CONFIRMED", "{l}: nothing changed: {read}");
        // Longer than the index refresh: a release would show by now.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            remaining(&app, &flight_id).await,
            Some(seats_before - 1),
            "{l}: no seat given back"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_family_books_by_passenger_type_and_a_hotel_room_needs_an_adult() {
    for backend in backends().await {
        let dir = testkit::temp_dir();
        let app = spawn(&backend, &dir).await;
        let l = app.label;
        let ada = traveller(&app).await;
        let list = offers(
            &app,
            &format!(
                "/api/v1/flights/search?origin=LHR&destination=JFK&departure_date={}&adults=2&children=1&infants=1&max_stops=0",
                day(20)
            ),
        )
        .await;
        let family = list.first().cloned().expect("a family offer");
        assert_eq!(
            family["passengers"],
            json!({"adults": 2, "children": 1, "infants": 1}),
            "{l}: {family}"
        );
        add_to_cart(&app, &ada, &id(&family)).await;
        let visa = card(&app, &ada, "4242424242424242").await;
        let (parent, child, baby) = (born(38, 0), born(7, 0), born(0, 100));

        // Four travellers, but three adults and an infant: not the mix that was priced.
        let wrong = [parent.clone(), born(40, 0), born(20, 0), baby.clone()];
        let (status, problem) = checkout(&app, &ada, "wrong-mix", &party_body(&wrong, &visa)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "travellers", "{l}");

        let right = [parent, born(36, 0), child, baby];
        let (status, booking) = checkout(&app, &ada, "family", &party_body(&right, &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {booking}");
        let types: Vec<&str> = booking["travellers"]
            .as_array()
            .expect("travellers")
            .iter()
            .filter_map(|t| t["type"].as_str())
            .collect();
        assert_eq!(types, ["adult", "adult", "child", "infant"], "{l}");
        assert_eq!(amount(&booking["total"]), amount(&family["total"]), "{l}");

        // A hotel room whose only guest is a one-year-old is refused.
        let hotel = offers(
            &app,
            &format!(
                "/api/v1/hotels/search?city=Paris&check_in={}&check_out={}",
                day(24),
                day(26)
            ),
        )
        .await
        .first()
        .cloned()
        .expect("a hotel");
        add_to_cart(&app, &ada, &id(&hotel)).await;
        let (status, problem) =
            checkout(&app, &ada, "toddler", &party_body(&[born(1, 0)], &visa)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(
            problem["errors"][0]["field"], "travellers",
            "{l}: {problem}"
        );
        let (status, stay) =
            checkout(&app, &ada, "grown-up", &party_body(&[born(30, 0)], &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {stay}");
        assert_eq!(stay["travellers"][0]["type"], "adult", "{l}: {stay}");
        app.stop().await;
    }
}
