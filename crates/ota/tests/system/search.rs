//! search-service over HTTP on the small catalog: airports, flights, hotels, offers,
//! holds and every refusal of bad input.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{SECRET, TestApp, backends, resigned};
use ota_platform::tokens::KeyRing;
use ota_search::catalog::Cabin;
use ota_search::offers::OfferClaims;
use ota_search::ranges::{ALL_WEEKDAYS, Span};
use ota_search::store::{AriChange, AriSet, Inventory, InventoryChange, SearchStore};
use ota_testkit::day;

fn at(s: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s.as_str().expect("time")).expect("RFC 3339 with offset")
}

async fn flights(app: &TestApp, query: &str) -> Value {
    let (status, body) = app
        .get(&format!("/api/v1/flights/search?{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn offers(body: &Value) -> &Vec<Value> {
    body["offers"].as_array().expect("offers")
}

#[tokio::test]
async fn airports_autocomplete_by_code_city_and_name() {
    let app = TestApp::spawn(&backends().await.remove(0)).await;
    let (status, body) = app.get("/api/v1/airports?q=lon", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["airports"][0]["iata"], "LHR", "{body}");
    assert_eq!(body["airports"][0]["time_zone"], "Europe/London");
    for (q, first) in [
        ("JFK", "JFK"),
        ("sfo", "SFO"),
        ("TŌKYŌ", "HND"),
        ("charles", "CDG"),
        ("sydney", "SYD"),
    ] {
        let (_, body) = app.get(&format!("/api/v1/airports?q={q}"), None).await;
        assert_eq!(body["airports"][0]["iata"], first, "{q}: {body}");
    }
    let (status, problem) = app.get("/api/v1/airports", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["field"], "q");
    app.stop().await;
}

#[tokio::test]
async fn one_way_flights_sort_filter_and_page() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let base = format!("origin=JFK&destination=LAX&departure_date={}", day(14));
        let by_price = flights(&app, &base).await;
        let totals: Vec<i64> = offers(&by_price)
            .iter()
            .map(|o| o["total"]["amount"].as_i64().expect("amount"))
            .collect();
        assert!(!totals.is_empty(), "{l}");
        assert!(
            totals.windows(2).all(|w| w[0] <= w[1]),
            "{l}: not sorted by price: {totals:?}"
        );
        let first = &offers(&by_price)[0];
        assert_eq!(first["slices"].as_array().map(Vec::len), Some(1), "{l}");
        assert_eq!(first["slices"][0]["origin"], "JFK");
        assert_eq!(first["slices"][0]["destination"], "LAX");
        assert!(first["seats_remaining"].as_i64().is_some_and(|s| s > 0));
        // JFK shows New York's offset, LAX Los Angeles'.
        let dep = at(&first["slices"][0]["departure_at"]);
        let arr = at(&first["slices"][0]["arrival_at"]);
        assert!(
            matches!(dep.offset().local_minus_utc(), -18_000 | -14_400),
            "{dep}"
        );
        assert!(
            matches!(arr.offset().local_minus_utc(), -28_800 | -25_200),
            "{arr}"
        );
        assert_eq!(
            (arr - dep).num_minutes(),
            first["slices"][0]["duration_minutes"]
                .as_i64()
                .expect("minutes")
        );

        let by_duration = flights(&app, &format!("{base}&sort=duration")).await;
        let minutes: Vec<i64> = offers(&by_duration)
            .iter()
            .map(|o| o["slices"][0]["duration_minutes"].as_i64().expect("m"))
            .collect();
        assert!(minutes.windows(2).all(|w| w[0] <= w[1]), "{l}: {minutes:?}");
        let by_departure = flights(&app, &format!("{base}&sort=departure&max_stops=0")).await;
        let leaving: Vec<DateTime<FixedOffset>> = offers(&by_departure)
            .iter()
            .map(|o| at(&o["slices"][0]["departure_at"]))
            .collect();
        assert!(leaving.windows(2).all(|w| w[0] <= w[1]), "{l}");
        assert!(
            offers(&by_departure)
                .iter()
                .all(|o| o["slices"][0]["stops"] == 0),
            "{l}"
        );

        // Three adults pay three fares.
        let three = flights(&app, &format!("{base}&adults=3&max_stops=0")).await;
        let o = &offers(&three)[0];
        assert_eq!(
            o["total"]["amount"].as_i64(),
            o["price_per_adult"]["amount"].as_i64().map(|p| p * 3),
            "{l}"
        );

        // Filters.
        let cheap = totals[0];
        let capped = flights(&app, &format!("{base}&max_price={cheap}")).await;
        assert!(
            offers(&capped)
                .iter()
                .all(|o| o["total"]["amount"].as_i64().is_some_and(|t| t <= cheap)),
            "{l}"
        );
        let carrier = first["slices"][0]["segments"][0]["carrier"]
            .as_str()
            .expect("carrier")
            .to_owned();
        let one_carrier = flights(&app, &format!("{base}&carriers={carrier}")).await;
        assert!(
            offers(&one_carrier)
                .iter()
                .all(|o| o["slices"][0]["segments"]
                    .as_array()
                    .expect("segments")
                    .iter()
                    .all(|s| s["carrier"] == carrier.as_str())),
            "{l}"
        );
        let afternoon = flights(&app, &format!("{base}&departure_after=12:00")).await;
        assert!(
            offers(&afternoon)
                .iter()
                .all(|o| at(&o["slices"][0]["departure_at"]).time()
                    >= chrono::NaiveTime::from_hms_opt(12, 0, 0).expect("noon")),
            "{l}"
        );

        // Pages follow on without repeating.
        let page1 = flights(&app, &format!("{base}&limit=2")).await;
        let cursor = page1["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let page2 = flights(&app, &format!("{base}&limit=2&cursor={cursor}")).await;
        let ids = |p: &Value| -> Vec<String> {
            offers(p).iter().map(|o| o["slices"].to_string()).collect()
        };
        assert!(ids(&page2).iter().all(|x| !ids(&page1).contains(x)), "{l}");
        let (status, problem) = app.get(&format!("/api/v1/flights/search?origin=LAX&destination=JFK&departure_date={}&cursor={cursor}", day(14)), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{l}");
        assert_eq!(problem["errors"][0]["field"], "cursor");
        app.stop().await;
    }
}

#[tokio::test]
async fn connections_respect_minimum_connection_times_in_local_time() {
    let app = TestApp::spawn(&backends().await.remove(0)).await;
    let body = flights(
        &app,
        &format!(
            "origin=LHR&destination=SYD&departure_date={}&max_stops=2&limit=50",
            day(10)
        ),
    )
    .await;
    assert!(
        !offers(&body).is_empty(),
        "LHR-SYD needs connections: {body}"
    );
    for o in offers(&body) {
        let segments = o["slices"][0]["segments"].as_array().expect("segments");
        assert!(segments.len() >= 2, "LHR-SYD is too far to fly direct");
        assert_eq!(segments[0]["origin"], "LHR");
        assert_eq!(segments[segments.len() - 1]["destination"], "SYD");
        for pair in segments.windows(2) {
            assert_eq!(
                pair[0]["destination"], pair[1]["origin"],
                "connection at one airport"
            );
            let landed = at(&pair[0]["arrival_at"]);
            let leaves = at(&pair[1]["departure_at"]);
            assert_eq!(
                landed.offset(),
                leaves.offset(),
                "both times in the connecting airport's zone"
            );
            let gap = (leaves - landed).num_minutes();
            assert!(
                (ota_search::flights::MCT_DOMESTIC_MIN..=ota_search::flights::MAX_LAYOVER_MIN)
                    .contains(&gap),
                "{gap} min at {}",
                pair[0]["destination"]
            );
            // Every connection here crosses a border.
            assert!(
                gap >= ota_search::flights::MCT_INTERNATIONAL_MIN,
                "{gap} min at {}",
                pair[0]["destination"]
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn round_trips_pair_an_outbound_with_a_later_return() {
    let app = TestApp::spawn(&backends().await.remove(0)).await;
    let body = flights(
        &app,
        &format!(
            "origin=JFK&destination=LHR&departure_date={}&return_date={}&limit=10",
            day(8),
            day(15)
        ),
    )
    .await;
    assert!(!offers(&body).is_empty());
    for o in offers(&body) {
        let slices = o["slices"].as_array().expect("slices");
        assert_eq!(slices.len(), 2);
        assert_eq!(slices[0]["origin"], "JFK");
        assert_eq!(slices[1]["origin"], "LHR");
        assert_eq!(slices[1]["destination"], "JFK");
        assert!(at(&slices[1]["departure_at"]) > at(&slices[0]["arrival_at"]));
    }
    app.stop().await;
}

#[tokio::test]
async fn paris_hotels_for_three_nights_are_priced_with_their_policies() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let (status, body) = app
            .get(
                &format!(
                    "/api/v1/hotels/search?city=Paris&check_in={}&check_out={}",
                    day(20),
                    day(23)
                ),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{l}: {body}");
        let list = offers(&body);
        assert!(!list.is_empty(), "{l}");
        let totals: Vec<i64> = list
            .iter()
            .map(|o| o["total"]["amount"].as_i64().expect("amount"))
            .collect();
        assert!(totals.windows(2).all(|w| w[0] <= w[1]), "{l}");
        for o in list {
            assert_eq!(o["nights"], 3);
            assert_eq!(o["hotel"]["city"], "Paris");
            assert!(o["rooms_remaining"].as_i64().is_some_and(|r| r >= 1));
            let refundable = o["cancellation_policy"]["refundable"]
                .as_bool()
                .expect("policy");
            assert_eq!(refundable, o["rate"] == "flexible");
            assert_eq!(
                o["cancellation_policy"]["free_cancellation_until"].is_string(),
                refundable
            );
        }
        for alias in ["paris", "PAR", "CDG"] {
            let (status, same) = app
                .get(
                    &format!(
                        "/api/v1/hotels/search?city={alias}&check_in={}&check_out={}",
                        day(20),
                        day(23)
                    ),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{l}: {alias}");
            assert_eq!(offers(&same)[0]["hotel"]["city"], "Paris", "{l}: {alias}");
        }
        let (_, by_stars) = app.get(&format!("/api/v1/hotels/search?city=paris&check_in={}&check_out={}&sort=stars&stars=4,5", day(20), day(23)), None).await;
        let stars: Vec<i64> = offers(&by_stars)
            .iter()
            .map(|o| o["hotel"]["stars"].as_i64().expect("stars"))
            .collect();
        assert!(
            !stars.is_empty() && stars.iter().all(|s| *s >= 4),
            "{l}: {stars:?}"
        );
        assert!(stars.windows(2).all(|w| w[0] >= w[1]), "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_searches_are_refused_naming_the_parameter() {
    let app = TestApp::spawn(&backends().await.remove(0)).await;
    let d = day(14);
    let flights_cases = [
        (format!("destination=LAX&departure_date={d}"), "origin"),
        (
            format!("origin=XXX&destination=LAX&departure_date={d}"),
            "origin",
        ),
        (
            format!("origin=JFK&destination=ZZZ&departure_date={d}"),
            "destination",
        ),
        (
            format!("origin=JFK&destination=JFK&departure_date={d}"),
            "destination",
        ),
        (
            "origin=JFK&destination=LAX&departure_date=2020-01-01".to_owned(),
            "departure_date",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={}", day(400)),
            "departure_date",
        ),
        (
            "origin=JFK&destination=LAX&departure_date=01/12/2026".to_owned(),
            "departure_date",
        ),
        ("origin=JFK&destination=LAX".to_owned(), "departure_date"),
        (
            format!(
                "origin=JFK&destination=LAX&departure_date={d}&return_date={}",
                day(10)
            ),
            "return_date",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&adults=0"),
            "adults",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&adults=10"),
            "adults",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&cabin=cargo"),
            "cabin",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&max_stops=3"),
            "max_stops",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&sort=cheapest"),
            "sort",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&limit=0"),
            "limit",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&limit=51"),
            "limit",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&carriers=ZZ"),
            "carriers",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&departure_after=25:00"),
            "departure_after",
        ),
        (
            format!("origin=JFK&destination=LAX&departure_date={d}&max_price=-5"),
            "max_price",
        ),
    ];
    for (q, field) in flights_cases {
        let (status, headers, problem) = app
            .call(
                Method::GET,
                &format!("/api/v1/flights/search?{q}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {problem}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(problem["errors"][0]["field"], field, "{q}: {problem}");
    }
    let hotel_cases = [
        (format!("check_in={}&check_out={}", day(5), day(8)), "city"),
        (
            format!("city=Atlantis&check_in={}&check_out={}", day(5), day(8)),
            "city",
        ),
        (
            format!("city=Paris&check_in=2020-01-01&check_out={}", day(8)),
            "check_in",
        ),
        (
            format!("city=Paris&check_in={}&check_out={}", day(8), day(5)),
            "check_out",
        ),
        (
            format!("city=Paris&check_in={}&check_out={}", day(1), day(33)),
            "check_out",
        ),
        (
            format!(
                "city=Paris&check_in={}&check_out={}&guests=0",
                day(5),
                day(8)
            ),
            "guests",
        ),
        (
            format!(
                "city=Paris&check_in={}&check_out={}&rooms=9",
                day(5),
                day(8)
            ),
            "rooms",
        ),
        (
            format!(
                "city=Paris&check_in={}&check_out={}&rooms=3&guests=2",
                day(5),
                day(8)
            ),
            "guests",
        ),
        (
            format!(
                "city=Paris&check_in={}&check_out={}&stars=6",
                day(5),
                day(8)
            ),
            "stars",
        ),
    ];
    for (q, field) in hotel_cases {
        let (status, problem) = app.get(&format!("/api/v1/hotels/search?{q}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{q}: {problem}");
    }
    app.stop().await;
}

#[tokio::test]
async fn offers_revalidate_and_holds_guard_the_last_seats() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let body = flights(
            &app,
            &format!(
                "origin=JFK&destination=LAX&departure_date={}&max_stops=0&adults=2",
                day(6)
            ),
        )
        .await;
        let offer = offers(&body)[0].clone();
        let id = offer["offer_id"].as_str().expect("id").to_owned();
        let (status, again) = app.get(&format!("/api/v1/offers/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{l}: {again}");
        assert_eq!(
            again["total"], offer["total"],
            "{l}: the signed price holds"
        );

        // Tampered and expired offers.
        let mut forged = id.clone();
        forged.insert(20, 'x');
        let (status, problem) = app.get(&format!("/api/v1/offers/{forged}"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert_eq!(problem["errors"][0]["field"], "offer_id");
        let keys = KeyRing::parse(SECRET).expect("ring");
        let OfferClaims::Flight { s, .. } = OfferClaims::verify(&id, &keys).expect("valid") else {
            panic!("flight offer")
        };
        let expired = resigned(&id, |c| c["x"] = json!(Utc::now().timestamp() - 5));
        let (status, _) = app.get(&format!("/api/v1/offers/{expired}"), None).await;
        assert_eq!(status, StatusCode::GONE, "{l}");

        // Holds need a service token.
        let booking = uuid::Uuid::now_v7();
        let request = json!({"booking_id": booking, "offer_ids": [id]});
        let (status, _, _) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(request.clone()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        let (_, _, session) = app.register().await;
        let (status, _, _) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(request.clone()),
                session["access_token"].as_str(),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{l}: a traveller's token is not a service token"
        );
        let service = keys.service_token("booking-service");
        let (status, _, hold) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(request.clone()),
                Some(&service),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {hold}");
        assert_eq!(hold["status"], "held");
        let (status, _, again) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(request.clone()),
                Some(&service),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{l}: the same booking gets its hold back"
        );
        assert_eq!(again["expires_at"], hold["expires_at"]);

        // Take every remaining seat: the offer is then sold out.
        let remaining = offer["seats_remaining"].as_i64().expect("seats") - 2;
        let all_seats = OfferClaims::Flight {
            s,
            c: Cabin::Economy,
            a: remaining as u8,
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
        let big = uuid::Uuid::now_v7();
        let (status, _, _) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(json!({"booking_id": big, "offer_ids": [all_seats]})),
                Some(&service),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{l}");
        let (status, problem) = app.get(&format!("/api/v1/offers/{id}"), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {problem}");
        let (status, _, problem) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(json!({"booking_id": uuid::Uuid::now_v7(), "offer_ids": [id]})),
                Some(&service),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {problem}");
        assert_eq!(problem["offer_id"], id.as_str());

        // Releasing gives the seats back; commit and release are idempotent.
        let (status, _, released) = app
            .call(
                Method::POST,
                &format!("/internal/v1/holds/{big}/release"),
                None,
                Some(&service),
            )
            .await;
        assert_eq!(
            (status, released["status"].as_str()),
            (StatusCode::OK, Some("released")),
            "{l}"
        );
        let (status, _) = app.get(&format!("/api/v1/offers/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{l}");
        for _ in 0..2 {
            let (status, _, committed) = app
                .call(
                    Method::POST,
                    &format!("/internal/v1/holds/{booking}/commit"),
                    None,
                    Some(&service),
                )
                .await;
            assert_eq!(
                (status, committed["status"].as_str()),
                (StatusCode::OK, Some("committed")),
                "{l}"
            );
        }
        let (status, _, _) = app
            .call(
                Method::POST,
                &format!("/internal/v1/holds/{}/commit", uuid::Uuid::now_v7()),
                None,
                Some(&service),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn repeated_searches_are_answered_from_the_cache() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let q = format!("origin=ORD&destination=ATL&departure_date={}", day(9));
        let first = flights(&app, &q).await;
        let second = flights(&app, &q).await;
        assert_eq!(
            first, second,
            "{}: the cached answer is the same answer",
            app.label
        );
        let (_, metrics) = app.management("/actuator/prometheus").await;
        assert!(
            metrics.contains("cache_requests_total{service=\"search-service\",result=\"hit\"}"),
            "{}",
            app.label
        );
        app.stop().await;
    }
}

/// The small catalog's airports.
const SMALL: [&str; 14] = [
    "JFK", "LAX", "ORD", "ATL", "SFO", "LHR", "CDG", "FRA", "AMS", "DXB", "SIN", "HND", "SYD",
    "MAD",
];

fn airport(code: &str) -> ota_search::catalog::Airport {
    ota_search::catalog::airports()
        .into_iter()
        .find(|a| a.iata == code)
        .expect("a shipped airport")
}

/// A nonstop of the small catalog (as the application seeds it, from today's UTC date)
/// that leaves later today in its origin's time, from an airport where an earlier flight
/// of the same local day has already left: `(origin, destination, origin's today)`.
fn leaving_later_today(
    now: DateTime<Utc>,
) -> (ota_search::catalog::Airport, String, chrono::NaiveDate) {
    use ota_search::seed::{Blueprint, Size};
    let blueprint = Blueprint::new(Size::Small, now.date_naive());
    let mut id = 1;
    let flights: Vec<_> = (0..2)
        .flat_map(|d| blueprint.flights_on(d, &mut id).0)
        .collect();
    for a in SMALL.iter().map(|c| airport(c)) {
        let today = now.with_timezone(&a.tz).date_naive();
        let from_here =
            |f: &&ota_search::seed::FlightRow| f.origin == a.iata && f.departure_date == today;
        let left = flights
            .iter()
            .filter(from_here)
            .any(|f| f.departure_at < now - Duration::minutes(5));
        let later = flights
            .iter()
            .filter(from_here)
            .find(|f| f.departure_at > now + Duration::minutes(30));
        if let (true, Some(f)) = (left, later) {
            return (a, f.destination.clone(), today);
        }
    }
    panic!("no airport of the small catalog with flights both left and to leave today at {now}")
}

#[test]
fn at_every_hour_some_airport_has_flights_left_and_to_leave_today() {
    let midnight = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    for minutes in (0..24 * 60).step_by(15) {
        leaving_later_today(midnight + Duration::minutes(minutes));
    }
}

#[tokio::test]
async fn a_same_day_search_lists_only_flights_that_have_not_left() {
    // An airport where some of today's flights have left and some are still to leave.
    let now = Utc::now();
    let (hub, _, today) = leaving_later_today(now);
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        let mut listed = 0;
        for to in SMALL.iter().filter(|c| **c != hub.iata) {
            let body = flights(
                &app,
                &format!(
                    "origin={}&destination={to}&departure_date={today}&max_stops=1&limit=50",
                    hub.iata
                ),
            )
            .await;
            for o in offers(&body) {
                let leaves = at(&o["slices"][0]["departure_at"]);
                assert!(leaves > now, "{l}: {} to {to} left at {leaves}", hub.iata);
                listed += 1;
            }
        }
        assert!(listed > 0, "{l}: the evening's flights are still sold");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_round_trip_turns_around_no_faster_than_a_connection() {
    let country = |code: &Value| airport(code.as_str().expect("code")).country;
    let app = TestApp::spawn(&backends().await.remove(0)).await;
    let mut pairs = 0;
    for (from, to) in [
        ("JFK", "ORD"),
        ("ORD", "ATL"),
        ("LAX", "SFO"),
        ("JFK", "ATL"),
        ("LHR", "CDG"),
        ("FRA", "AMS"),
        ("CDG", "MAD"),
    ] {
        let body = flights(
            &app,
            &format!(
                "origin={from}&destination={to}&departure_date={}&return_date={}&max_stops=0&limit=50",
                day(5),
                day(5)
            ),
        )
        .await;
        for o in offers(&body) {
            let out = &o["slices"][0]["segments"];
            let back = &o["slices"][1]["segments"];
            let last = &out[out.as_array().expect("segments").len() - 1];
            let here = country(&last["destination"]);
            let domestic =
                country(&last["origin"]) == here && country(&back[0]["destination"]) == here;
            let minimum = if domestic {
                ota_search::flights::MCT_DOMESTIC_MIN
            } else {
                ota_search::flights::MCT_INTERNATIONAL_MIN
            };
            let gap = (at(&back[0]["departure_at"]) - at(&last["arrival_at"])).num_minutes();
            assert!(
                gap >= minimum,
                "{from}-{to}: {gap} min to turn around at {} (at least {minimum})",
                last["destination"]
            );
            pairs += 1;
        }
    }
    assert!(pairs > 0, "same-day round trips are sold");
    app.stop().await;
}

#[tokio::test]
async fn cities_without_hotels_and_metro_codes_are_valid_questions() {
    for backend in backends().await {
        let app = TestApp::spawn(&backend).await;
        let l = app.label;
        // Sydney is a real city (one of our airports) where the small catalog has no hotels.
        let (status, body) = app
            .get(
                &format!(
                    "/api/v1/hotels/search?city=Sydney&check_in={}&check_out={}",
                    day(5),
                    day(8)
                ),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{l}: {body}");
        assert_eq!(body, json!({"offers": [], "next_cursor": null}), "{l}");
        // Metro codes work for flights as for hotels: NYC is JFK here, LON is LHR.
        let by_metro = flights(
            &app,
            &format!(
                "origin=NYC&destination=LON&departure_date={}&max_stops=0",
                day(7)
            ),
        )
        .await;
        let by_airport = flights(
            &app,
            &format!(
                "origin=JFK&destination=LHR&departure_date={}&max_stops=0",
                day(7)
            ),
        )
        .await;
        assert!(!offers(&by_metro).is_empty(), "{l}");
        let slices =
            |b: &Value| -> Vec<Value> { offers(b).iter().map(|o| o["slices"].clone()).collect() };
        assert_eq!(slices(&by_metro), slices(&by_airport), "{l}");
        let (_, found) = app.get("/api/v1/airports?q=NYC", None).await;
        assert!(
            found["airports"]
                .as_array()
                .expect("airports")
                .iter()
                .any(|a| a["iata"] == "JFK"),
            "{l}: {found}"
        );
        app.stop().await;
    }
}

/// The app and its search store, to see and make inventory changes as the back office
/// would.
pub(crate) async fn spawn_with_store(backend: &crate::common::Backend) -> (TestApp, SearchStore) {
    let dir = ota_testkit::temp_dir();
    let args = crate::common::serve_args(backend, &dir);
    let app = TestApp::spawn_with(backend.label, args).await;
    let db = ota_platform::db::Db::open(
        &ota_testkit::db_settings(backend.database_url.clone()),
        &dir,
        ota_search::SERVICE,
        &ota_search::MIGRATIONS,
    )
    .await
    .expect("the search database");
    (app, SearchStore::new(db))
}

fn amount(v: &Value) -> i64 {
    v["amount"].as_i64().expect("amount")
}

/// The flight ids an offer is for, per slice.
fn flight_ids(offer: &Value) -> Vec<Vec<i64>> {
    let keys = KeyRing::parse(SECRET).expect("ring");
    let id = offer["offer_id"].as_str().expect("offer id");
    match OfferClaims::verify(id, &keys).expect("valid") {
        OfferClaims::Flight { s, .. } => s,
        OfferClaims::Hotel { .. } => panic!("a flight offer"),
    }
}

#[tokio::test]
async fn children_and_infants_are_priced_by_type_and_take_seats_as_they_sit() {
    for backend in backends().await {
        let (app, store) = spawn_with_store(&backend).await;
        let l = app.label;
        let body = flights(
            &app,
            &format!(
                "origin=JFK&destination=LAX&departure_date={}&max_stops=0&adults=2&children=1&infants=1",
                day(6)
            ),
        )
        .await;
        let offer = offers(&body)[0].clone();
        assert_eq!(
            offer["passengers"],
            json!({"adults": 2, "children": 1, "infants": 1}),
            "{l}"
        );
        assert_eq!(offer["adults"], 2, "{l}");
        let adult = amount(&offer["price_per_adult"]);
        let fares = offer["fares"].as_array().expect("fares");
        let line = |kind: &str| {
            fares
                .iter()
                .find(|f| f["type"] == kind)
                .unwrap_or_else(|| panic!("{l}: no {kind} fare: {offer}"))
        };
        let child = (adult * 75 + 50) / 100;
        let infant = (adult * 10 + 50) / 100;
        for (kind, count, each) in [
            ("adult", 2, adult),
            ("child", 1, child),
            ("infant", 1, infant),
        ] {
            assert_eq!(line(kind)["count"], count, "{l}: {kind}");
            assert_eq!(amount(&line(kind)["per_passenger"]), each, "{l}: {kind}");
            assert_eq!(amount(&line(kind)["total"]), each * count, "{l}: {kind}");
        }
        assert_eq!(amount(&offer["total"]), 2 * adult + child + infant, "{l}");
        // Revalidation reads the same passengers and prices from the signed offer.
        let id = offer["offer_id"].as_str().expect("id");
        let (status, again) = app.get(&format!("/api/v1/offers/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{l}: {again}");
        for field in ["passengers", "fares", "total"] {
            assert_eq!(again[field], offer[field], "{l}: {field}");
        }
        // The hold takes a seat for each adult and child; the infant sits on a lap.
        let flight = flight_ids(&offer)[0][0];
        let (_, _, held_before) = store.seat_counts(flight, Cabin::Economy).await.expect(l);
        let service = KeyRing::parse(SECRET)
            .expect("ring")
            .service_token("booking-service");
        let (status, _, hold) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(json!({"booking_id": uuid::Uuid::now_v7(), "offer_ids": [id]})),
                Some(&service),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {hold}");
        let (_, _, held) = store.seat_counts(flight, Cabin::Economy).await.expect(l);
        assert_eq!(held - held_before, 3, "{l}");

        let d = day(14);
        for (extra, field) in [
            ("children=9", "children"),
            ("adults=5&children=5", "children"),
            ("children=two", "children"),
            ("adults=2&infants=3", "infants"),
            ("infants=-1", "infants"),
        ] {
            let (status, problem) = app
                .get(
                    &format!("/api/v1/flights/search?origin=JFK&destination=LAX&departure_date={d}&{extra}"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{l}: {extra}: {problem}");
            assert_eq!(
                problem["errors"][0]["field"], field,
                "{l}: {extra}: {problem}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn refund_and_free_cancellation_windows_are_judged_at_the_answer() {
    let now = Utc::now();
    let (hub, to, today) = leaving_later_today(now);
    let paris = airport("CDG").tz;
    let paris_today = now.with_timezone(&paris).date_naive();
    let (app, store) = spawn_with_store(&backends().await.remove(0)).await;

    // A refundable fare leaving within a day refunds nothing any more.
    let body = flights(
        &app,
        &format!(
            "origin={}&destination={to}&departure_date={today}&cabin=business&max_stops=0",
            hub.iata,
        ),
    )
    .await;
    assert!(
        !offers(&body).is_empty(),
        "business seats leave later today: {body}"
    );
    for o in offers(&body) {
        assert_eq!(o["fare_rules"]["refundable"], false, "{o}");
        assert_eq!(o["fare_rules"]["refund_until"], Value::Null, "{o}");
    }
    // Further out, the window closes a day before departure, in the origin's time.
    let later = flights(
        &app,
        &format!(
            "origin=JFK&destination=LAX&departure_date={}&cabin=business",
            day(14)
        ),
    )
    .await;
    for o in offers(&later) {
        let leaves = at(&o["slices"][0]["departure_at"]);
        let until = at(&o["fare_rules"]["refund_until"]);
        assert_eq!(o["fare_rules"]["refundable"], true, "{o}");
        assert_eq!(until, leaves - Duration::hours(24), "{o}");
        assert_eq!(until.offset(), leaves.offset(), "{o}");
    }
    let economy = flights(
        &app,
        &format!("origin=JFK&destination=LAX&departure_date={}", day(14)),
    )
    .await;
    assert!(offers(&economy).iter().all(
        |o| o["fare_rules"]["refundable"] == false && o["fare_rules"]["refund_until"].is_null()
    ));

    // A stay tomorrow: free cancellation (two days ahead) has ended, so no flexible rate.
    let hotels = |check_in: chrono::NaiveDate, nights: i64| {
        format!(
            "/api/v1/hotels/search?city=Paris&check_in={check_in}&check_out={}&limit=50",
            check_in + Duration::days(nights)
        )
    };
    let tomorrow = paris_today + Duration::days(1);
    let (status, body) = app.get(&hotels(tomorrow, 2), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!offers(&body).is_empty());
    for o in offers(&body) {
        assert_eq!(o["rate"], "non_refundable", "{o}");
        assert_eq!(o["cancellation_policy"]["refundable"], false);
    }
    // Further out, flexible rates with their deadline, check-in and check-out instants.
    let (_, body) = app
        .get(&hotels(paris_today + Duration::days(20), 3), None)
        .await;
    let flexible = offers(&body)
        .iter()
        .find(|o| o["rate"] == "flexible")
        .expect("a flexible rate")
        .clone();
    let until = at(&flexible["cancellation_policy"]["free_cancellation_until"]);
    assert!(until > now);
    let check_in_at = at(&flexible["check_in_at"]);
    assert_eq!(check_in_at.date_naive(), paris_today + Duration::days(20));
    assert_eq!(
        check_in_at.time(),
        chrono::NaiveTime::from_hms_opt(15, 0, 0).expect("15:00")
    );
    assert_eq!(
        check_in_at.offset().local_minus_utc(),
        3600,
        "Paris in winter"
    );
    let check_out_at = at(&flexible["check_out_at"]);
    assert_eq!(check_out_at.date_naive(), paris_today + Duration::days(23));
    assert_eq!(
        check_out_at.time(),
        chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("11:00")
    );

    // Today's check-in time (15:00) has passed in one of the hotel cities, always: a
    // stay starting there today can no longer be sold.
    let evening = ["ATL", "DXB", "LHR", "HND", "LAX", "ORD", "CDG"]
        .iter()
        .map(|c| airport(c))
        .find(|a| {
            now.with_timezone(&a.tz).time()
                >= chrono::NaiveTime::from_hms_opt(15, 0, 0).expect("15:00")
        })
        .expect("a hotel city past 15:00");
    let today_there = now.with_timezone(&evening.tz).date_naive();
    let (status, problem) = app
        .get(
            &format!(
                "/api/v1/hotels/search?city={}&check_in={today_there}&check_out={}",
                evening.iata,
                today_there + Duration::days(1)
            ),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}: {problem}",
        evening.city
    );
    assert_eq!(problem["errors"][0]["field"], "check_in");

    // Revalidation judges the same rules now: a flexible stay tomorrow, or one whose
    // check-in has passed, is gone.
    let keys = KeyRing::parse(SECRET).expect("ring");
    let room = flexible["room_type_id"].as_i64().expect("room type");
    let stay = |ci: chrono::NaiveDate, plan: &str| {
        OfferClaims::Hotel {
            rt: room,
            rp: plan.to_owned(),
            ci,
            n: 1,
            r: 1,
            g: 1,
            t: 10_000,
            cur: "USD".into(),
            x: Utc::now().timestamp() + 600,
        }
        .sign(&keys)
    };
    for (ci, plan) in [(tomorrow, "FLEX"), (paris_today - Duration::days(1), "NRF")] {
        let (status, problem) = app
            .get(&format!("/api/v1/offers/{}", stay(ci, plan)), None)
            .await;
        assert_eq!(status, StatusCode::GONE, "{ci} {plan}: {problem}");
        assert_eq!(
            problem["type"],
            "https://ota-travel.example.com/problems/offer-expired"
        );
    }
    let (status, fine) = app
        .get(&format!("/api/v1/offers/{}", stay(tomorrow, "NRF")), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{fine}");
    assert!(fine["check_in_at"].is_string());

    // A hold is the moment of sale: the same rules refuse it, and a flight that has left.
    let left = store
        .flights(now.date_naive())
        .await
        .expect("flights")
        .into_iter()
        .find(|f| f.departure_at <= now)
        .expect("a flight that has left");
    let departed = OfferClaims::Flight {
        s: vec![vec![left.id]],
        c: Cabin::Economy,
        a: 1,
        ch: 0,
        inf: 0,
        f: 10_000,
        fc: 0,
        fi: 0,
        t: 10_000,
        cur: "USD".into(),
        x: Utc::now().timestamp() + 600,
    }
    .sign(&keys);
    let service = keys.service_token("booking-service");
    for (what, offer) in [
        (
            "a flexible rate past free cancellation",
            stay(tomorrow, "FLEX"),
        ),
        (
            "a stay past check-in",
            stay(paris_today - Duration::days(1), "NRF"),
        ),
        ("a flight that has left", departed),
    ] {
        let (status, _, problem) = app
            .call(
                Method::POST,
                "/internal/v1/holds",
                Some(json!({"booking_id": uuid::Uuid::now_v7(), "offer_ids": [offer]})),
                Some(&service),
            )
            .await;
        assert_eq!(status, StatusCode::GONE, "{what}: {problem}");
    }
    app.stop().await;
}

#[tokio::test]
async fn price_capacity_and_stop_sell_changes_reach_cached_answers() {
    let wait_for = |what: &'static str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        move || {
            assert!(
                std::time::Instant::now() < deadline,
                "{what} did not reach search within 15 s (the answer cache keeps answers 30 s)"
            );
        }
    };
    for backend in backends().await {
        let (app, store) = spawn_with_store(&backend).await;
        let l = app.label;
        let stay = format!(
            "/api/v1/hotels/search?city=Paris&check_in={}&check_out={}&limit=50",
            day(20),
            day(23)
        );
        let (_, before) = app.get(&stay, None).await;
        let room = offers(&before)[0]["room_type_id"]
            .as_i64()
            .expect("room type");
        // A channel manager's new rate for the three nights, on every rate plan.
        let first = Utc::now().date_naive() + Duration::days(20);
        store
            .apply_ari(&[AriChange {
                room_type_id: room,
                rate_plan_id: None,
                span: Span::new(first, first + Duration::days(2), ALL_WEEKDAYS),
                set: AriSet::Rate {
                    guests: 0,
                    amount: 77_700,
                    currency: "USD".into(),
                },
            }])
            .await
            .expect(l);
        let check = wait_for("a price change");
        loop {
            let (_, now) = app.get(&stay, None).await;
            let repriced = offers(&now).iter().any(|o| {
                o["room_type_id"] == room
                    && o["rate"] == "flexible"
                    && amount(&o["total"]) == 233_100
            });
            if repriced {
                break;
            }
            check();
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }

        let route = format!(
            "/api/v1/flights/search?origin=JFK&destination=LAX&departure_date={}&max_stops=0",
            day(9)
        );
        let (_, listed) = app.get(&route, None).await;
        let stopped = offers(&listed)[0].clone();
        let stopped_flight = flight_ids(&stopped)[0][0];
        let narrowed = flight_ids(&offers(&listed)[1])[0][0];
        store
            .change_inventory(
                Inventory::Seats {
                    flight_id: stopped_flight,
                    cabin: Cabin::Economy,
                },
                InventoryChange::StopSell(true),
            )
            .await
            .expect(l);
        let (_, sold, held) = store.seat_counts(narrowed, Cabin::Economy).await.expect(l);
        store
            .set_seat_capacity(narrowed, Cabin::Economy, sold + held + 1)
            .await
            .expect(l);
        let check = wait_for("a stop-sell and a capacity change");
        loop {
            let (_, now) = app.get(&route, None).await;
            let gone = offers(&now)
                .iter()
                .all(|o| flight_ids(o)[0][0] != stopped_flight);
            let one_left = offers(&now)
                .iter()
                .any(|o| flight_ids(o)[0][0] == narrowed && o["seats_remaining"] == 1);
            if gone && one_left {
                break;
            }
            check();
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // An offer made before the stop-sell is no longer available.
        let id = stopped["offer_id"].as_str().expect("id");
        let (status, problem) = app.get(&format!("/api/v1/offers/{id}"), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {problem}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_openapi_document_describes_passenger_types_and_instants() {
    let app = TestApp::spawn(&backends().await.remove(0)).await;
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let params = doc["paths"]["/api/v1/flights/search"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let described = |name: &str| -> String {
        params
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["description"].as_str())
            .unwrap_or_else(|| panic!("{name} is not described"))
            .to_owned()
    };
    assert!(described("children").contains("75 %"));
    assert!(described("infants").contains("10 %"));
    assert!(described("origin").contains("NYC"));
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("Offer", "passengers"),
        ("Offer", "fares"),
        ("FareRules", "refund_until"),
        ("HotelOffer", "check_in_at"),
        ("HotelOffer", "check_out_at"),
    ] {
        assert!(
            schemas[schema]["properties"][field].is_object(),
            "{schema}.{field} is not in the document"
        );
    }
    let until = schemas["FareRules"]["properties"]["refund_until"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        until.contains("RFC 3339") && until.contains("offset"),
        "{until}"
    );
    app.stop().await;
}
