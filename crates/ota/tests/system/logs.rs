//! Card numbers, CVCs and passwords never reach a log: a real `ota` process at debug
//! level goes through registration, a failed login, card entry (valid, declined,
//! invalid) and checkouts, and its whole log is searched afterwards.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::common::{OtaProcess, backends};

const PASSWORD: &str = "lantern-quartz-meadow-17";
const CARDS: [&str; 3] = ["4242424242424242", "4000000000000002", "4242424242424241"];
const CVC: &str = "735";

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("answer");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn no_card_number_cvc_or_password_reaches_the_log() {
    for backend in backends().await {
        let l = backend.label;
        let ota = OtaProcess::start_with(&backend, &[("RUST_LOG", "debug")]).await;
        let http = crate::common::http();
        let api = |path: &str| format!("{}{path}", ota.api);
        use reqwest::Method;

        let email = format!("logs-{}@example.com", uuid::Uuid::new_v4().simple());
        let (status, session) = call(
            &http,
            Method::POST,
            api("/api/v1/auth/register"),
            None,
            Some(json!({"email": email, "password": PASSWORD, "name": "Log Check"})),
            None,
        )
        .await;
        assert_eq!(status, 201, "{l}: {session}");
        let token = session["access_token"].as_str().expect("token").to_owned();
        let (status, _) = call(
            &http,
            Method::POST,
            api("/api/v1/auth/login"),
            None,
            Some(json!({"email": email, "password": format!("{PASSWORD}x")})),
            None,
        )
        .await;
        assert_eq!(status, 401, "{l}");
        let (status, _) = call(
            &http,
            Method::POST,
            api("/api/v1/auth/register"),
            None,
            Some(json!({"email": "not-an-email", "password": PASSWORD, "name": "X"})),
            None,
        )
        .await;
        assert_eq!(status, 422, "{l}");

        let date = (Utc::now().date_naive() + Duration::days(12)).to_string();
        let (status, found) = call(&http, Method::GET, api(&format!("/api/v1/flights/search?origin=JFK&destination=LAX&departure_date={date}&max_stops=0")), None, None, None).await;
        assert_eq!(status, 200, "{l}: {found}");
        let offer = found["offers"][0]["offer_id"]
            .as_str()
            .expect("offer")
            .to_owned();
        let (status, item) = call(
            &http,
            Method::POST,
            api("/api/v1/cart/items"),
            Some(&token),
            Some(json!({"offer_id": offer})),
            None,
        )
        .await;
        assert_eq!(status, 201, "{l}: {item}");

        let mut methods = Vec::new();
        for number in CARDS {
            let card = json!({"card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": CVC, "holder_name": "Log Check"}});
            let (status, method) = call(
                &http,
                Method::POST,
                api("/api/v1/payment-methods"),
                Some(&token),
                Some(card),
                None,
            )
            .await;
            if number == CARDS[2] {
                assert_eq!(
                    status, 422,
                    "{l}: a number failing the Luhn check is refused"
                );
            } else {
                assert_eq!(status, 201, "{l}: {method}");
                methods.push(method["id"].as_str().expect("id").to_owned());
            }
        }
        let booking = |method: &str| {
            json!({
                "travellers": [{"first_name": "Log", "last_name": "Check", "date_of_birth": "1990-04-02"}],
                "contact": {"email": email},
                "payment_method_id": method,
            })
        };
        let (status, declined) = call(
            &http,
            Method::POST,
            api("/api/v1/bookings"),
            Some(&token),
            Some(booking(&methods[1])),
            Some("logs-declined"),
        )
        .await;
        assert_eq!(status, 402, "{l}: {declined}");
        let (status, confirmed) = call(
            &http,
            Method::POST,
            api("/api/v1/bookings"),
            Some(&token),
            Some(booking(&methods[0])),
            Some("logs-confirmed"),
        )
        .await;
        assert_eq!(status, 201, "{l}: {confirmed}");

        let log = std::fs::read_to_string(&ota.log).expect("log");
        drop(ota);
        assert!(log.lines().count() > 20, "{l}: the debug log was written");
        for secret in CARDS.iter().copied().chain([PASSWORD]) {
            assert!(!log.contains(secret), "{l}: {secret} reached the log");
        }
        assert!(
            !log.contains(&format!("\"cvc\":\"{CVC}\""))
                && !log.contains(&format!("cvc: \"{CVC}\"")),
            "{l}: the CVC reached the log"
        );
    }
}
