//! Notifications end to end: a booking made over HTTP produces its e-mails at a real
//! SMTP server (aiosmtpd), once each, with a Message-ID from the event id and no card
//! number; an SMTP server that is down gets the message once it is back; a process
//! SIGKILLed after the commit and before the delivery loses nothing; without SMTP_URL
//! the messages are `.eml` files in the data directory. On SQLite and PostgreSQL.

use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders as _};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{
    add_to_cart, amount, cancel, card, checkout, checkout_body, flight, get, id, serve_args,
    traveller,
};
use crate::common::{Backend, OtaProcess, SmtpServer, TestApp, backends, free_port, header};
use ota_testkit::{self as testkit, eventually};

const CARD: &str = "4242424242424242";

/// The text and HTML parts of a raw message, decoded.
fn bodies(raw: &str) -> (String, String) {
    let m = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parseable message");
    (
        m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        m.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
    )
}

/// Books a flight for Ada and Charles; answers the booking.
async fn book(app: &TestApp) -> (crate::booking::Traveller, Value) {
    let ada = traveller(app).await;
    let booking = book_as(app, &ada).await;
    (ada, booking)
}

/// Books a flight for Ada and Charles on `ada`'s account; answers the booking.
async fn book_as(app: &TestApp, ada: &crate::booking::Traveller) -> Value {
    let offer = flight(app, ("JFK", "LAX"), 15, 2).await;
    add_to_cart(app, ada, &id(&offer)).await;
    let visa = card(app, ada, CARD).await;
    let (status, booking) = checkout(app, ada, "mail-1", &checkout_body(2, &visa)).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {booking}", app.label);
    assert_eq!(booking["status"], "CONFIRMED");
    booking
}

async fn messages_eventually(smtp: &SmtpServer, n: usize, what: &str) -> Vec<String> {
    eventually(what, Duration::from_secs(30), || async {
        smtp.messages().len() >= n
    })
    .await;
    // Nothing more arrives after a few dispatcher rounds: once each.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = smtp.messages();
    assert_eq!(all.len(), n, "{what}: exactly {n} message(s)");
    all
}

fn fast(args: &mut ota::ServeArgs, smtp_url: String) {
    args.booking.notify.smtp_url = Some(smtp_url.into());
    args.booking.notify.poll = Duration::from_millis(200);
    args.booking.notify.retry_schedule =
        ota_booking::outbox::RetrySchedule(vec![Duration::from_millis(500)]);
}

/// A real SMTP server and the system sending to it, on a data directory of its own.
async fn mailing(backend: &Backend) -> (SmtpServer, std::path::PathBuf, TestApp) {
    let smtp = SmtpServer::start().await;
    let dir = testkit::temp_dir();
    let mut args = serve_args(backend, &dir);
    fast(&mut args, smtp.url());
    let app = TestApp::spawn_with(backend.label, args).await;
    (smtp, dir, app)
}

#[tokio::test]
async fn a_booking_and_its_cancellation_each_send_one_email_with_the_itinerary() {
    for backend in backends().await {
        let (smtp, _dir, app) = mailing(&backend).await;
        let l = app.label;
        let (ada, booking) = book(&app).await;
        let reference = booking["reference"].as_str().expect("reference").to_owned();

        let mail = messages_eventually(&smtp, 1, "the confirmation").await;
        let raw = &mail[0];
        assert!(
            header(raw, "Subject").is_some_and(|s| s.contains(&reference)),
            "{l}: {raw}"
        );
        assert_eq!(header(raw, "To").as_deref(), Some("ada@example.com"), "{l}");
        let message_id = header(raw, "Message-ID").expect("a Message-ID");
        assert!(
            message_id.starts_with("<evt_") && message_id.ends_with("@ota.invalid>"),
            "{l}: {message_id}"
        );
        let (text, html) = bodies(raw);
        let summary = booking["items"][0]["summary"].as_str().expect("summary");
        for part in [&text, &html] {
            assert!(part.contains(&reference), "{l}: {part}");
            assert!(part.contains(summary), "{l}: {summary} in {part}");
            assert!(part.contains("Ada Lovelace") && part.contains("Charles Babbage"));
        }
        // Every segment: flight number, carrier, airports and local times with dates.
        let segment = &booking["items"][0]["itinerary"]["slices"][0]["segments"][0];
        let departs = chrono::DateTime::parse_from_rfc3339(
            segment["departure_at"].as_str().expect("a departure"),
        )
        .expect("RFC 3339");
        let line = format!(
            "{} {} (economy): {} {} → {}",
            segment["flight_number"].as_str().expect("number"),
            segment["carrier_name"].as_str().expect("carrier"),
            segment["origin"].as_str().expect("origin"),
            departs.format("%a %-d %b %Y %H:%M"),
            segment["destination"].as_str().expect("destination"),
        );
        assert!(text.contains(&line), "{l}: {line} in {text}");
        let total = booking["total"]["amount"].as_i64().expect("total");
        assert!(
            text.contains(&format!("{}.{:02} USD", total / 100, total % 100)),
            "{l}: the total in {text}"
        );
        assert!(
            !raw.contains(CARD) && !raw.contains("424242"),
            "{l}: no card number"
        );
        assert!(
            text.contains("Paid with: Visa ending in 4242"),
            "{l}: {text}"
        );
        assert!(
            html.contains("Paid with Visa ending in 4242."),
            "{l}: {html}"
        );
        assert_eq!(
            booking["payment"]["card"],
            json!({"brand": "visa", "last4": "4242"})
        );
        if let Some(until) = booking["items"][0]["refund_until"].as_str() {
            // The refund deadline in the departure airport's time, said so.
            let local = chrono::DateTime::parse_from_rfc3339(until)
                .expect("RFC 3339")
                .with_timezone(departs.offset());
            let line = format!(
                "refundable until {} (JFK time)",
                local.format("%a %-d %b %Y %H:%M")
            );
            assert!(text.contains(&line), "{l}: {line} in {text}");
        }

        // The cancellation: its own e-mail, with the refund; the confirmation is not sent
        // again.
        let (status, cancelled) = cancel(&app, &ada, &reference).await;
        assert_eq!(status, StatusCode::OK, "{l}: {cancelled}");
        let mail = messages_eventually(&smtp, 2, "the cancellation").await;
        let raw = &mail[1];
        assert!(header(raw, "Subject").is_some_and(|s| s.contains("cancelled")));
        assert_ne!(
            header(raw, "Message-ID").as_deref(),
            Some(message_id.as_str())
        );
        let (text, _) = bodies(raw);
        let refund = amount(&cancelled["refund"]);
        if refund > 0 {
            assert!(
                text.contains(&format!(
                    "{}.{:02} USD is refunded",
                    refund / 100,
                    refund % 100
                )),
                "{l}: {text}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn an_email_whose_server_is_down_arrives_once_it_is_back() {
    for backend in backends().await {
        let port = free_port().await;
        let dir = testkit::temp_dir();
        let mut args = serve_args(&backend, &dir);
        fast(&mut args, format!("smtp://127.0.0.1:{port}"));
        // Attempts the relay never took do not count towards the recipient's limit.
        args.booking.notify.per_recipient_per_hour = 1;
        let app = TestApp::spawn_with(backend.label, args).await;
        let (ada, booking) = book(&app).await;
        let reference = booking["reference"].as_str().expect("reference");
        // Several attempts fail (nothing listens) and the booking is untouched by them.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (status, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(
            (status, &read["status"]),
            (StatusCode::OK, &json!("CONFIRMED"))
        );
        let smtp = SmtpServer::start_on(port).await;
        let mail = messages_eventually(&smtp, 1, "the confirmation after the outage").await;
        assert!(header(&mail[0], "Subject").is_some_and(|s| s.contains(reference)));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_process_killed_between_commit_and_delivery_loses_no_email_and_no_webhook() {
    for backend in backends().await {
        let smtp = SmtpServer::start().await;
        let dir = testkit::temp_dir();
        let url = smtp.url();
        // The first process looks at the outbox only when it starts: the confirmation is
        // committed and never delivered by it.
        let env = |poll: &'static str| {
            vec![
                ("SMTP_URL", url.clone()),
                ("OTA_OUTBOX_POLL", poll.to_owned()),
                ("OTA_WEBHOOK_ALLOW_HOSTS", "127.0.0.1".to_owned()),
            ]
        };
        let receiver = crate::common::WebhookReceiver::start(0).await;
        let start = |env: Vec<(&'static str, String)>| {
            let (backend, dir): (&Backend, _) = (&backend, &dir);
            async move {
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                OtaProcess::start_in(backend, dir, &env).await
            }
        };
        let first = start(env("1h")).await;
        let app = first.app(backend.label);
        let ada = traveller(&app).await;
        let (status, endpoint) =
            register_endpoint(&app, &ada, &receiver.url, json!(["booking.confirmed"])).await;
        assert_eq!(status, StatusCode::CREATED, "{endpoint}");
        let booking = book_as(&app, &ada).await;
        let reference = booking["reference"].as_str().expect("reference").to_owned();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(smtp.messages().is_empty(), "not delivered before the kill");
        assert!(
            receiver.received().is_empty(),
            "not delivered before the kill"
        );
        first.kill();

        let second = start(env("200ms")).await;
        let app = second.app(backend.label);
        let mail = messages_eventually(&smtp, 1, "the confirmation after the restart").await;
        assert!(header(&mail[0], "Subject").is_some_and(|s| s.contains(&reference)));
        // The webhook too, once, under the id the e-mail's Message-ID carries.
        let got = received_eventually(&receiver, 1, "the webhook after the restart").await;
        let id = &got[0].headers["webhook-id"];
        assert!(
            header(&mail[0], "Message-ID").is_some_and(|m| m.starts_with(&format!("<{id}@"))),
            "{id}"
        );
        let secret = endpoint["secret"].as_str().expect("secret");
        assert_eq!(verify(secret, &got), vec![id.clone()]);
        let (status, read) = get(&app, &ada, &format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(
            (status, &read["status"]),
            (StatusCode::OK, &json!("CONFIRMED"))
        );
    }
}

#[tokio::test]
async fn without_an_smtp_server_the_embedded_default_writes_eml_files() {
    let backend = &backends().await[0];
    let dir = testkit::temp_dir();
    let mut args = serve_args(backend, &dir);
    args.booking.notify.poll = Duration::from_millis(200);
    assert!(args.booking.notify.smtp_url.is_none());
    let app = TestApp::spawn_with(backend.label, args).await;
    let (_, booking) = book(&app).await;
    let reference = booking["reference"].as_str().expect("reference").to_owned();
    let mail = dir.join("mail");
    let files = || -> Vec<String> {
        std::fs::read_dir(&mail)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    eventually("an .eml file", Duration::from_secs(20), || async {
        !files().is_empty()
    })
    .await;
    let all = files();
    assert_eq!(all.len(), 1);
    assert!(header(&all[0], "Subject").is_some_and(|s| s.contains(&reference)));
    app.stop().await;
}

#[tokio::test]
async fn a_message_that_can_never_be_sent_is_dead_at_once_not_retried_for_days() {
    for backend in backends().await {
        let (smtp, dir, app) = mailing(&backend).await;
        let l = app.label;
        let ada = traveller(&app).await;
        let offer = flight(&app, ("JFK", "LAX"), 16, 1).await;
        add_to_cart(&app, &ada, &id(&offer)).await;
        let visa = card(&app, &ada, CARD).await;
        // An address the checkout accepts and no mailer can write.
        let mut body = checkout_body(1, &visa);
        body["contact"]["email"] = json!("ada@[127.0.0.1]");
        let (status, booking) = checkout(&app, &ada, "mail-dead", &body).await;
        if status != StatusCode::CREATED {
            // Refused at the door is as good: nothing to deliver.
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {booking}");
            app.stop().await;
            continue;
        }
        let db = ota_platform::db::Db::open(
            &testkit::db_settings(backend.database_url.clone()),
            &dir,
            ota_booking::SERVICE,
            &ota_booking::MIGRATIONS,
        )
        .await
        .expect("the booking database");
        let store = ota_booking::store::SqlBookingStore::new(db);
        eventually("the delivery is dead", Duration::from_secs(15), || async {
            !store.dead_deliveries(10).await.expect("dead").is_empty()
        })
        .await;
        let dead = store.dead_deliveries(10).await.expect("dead");
        assert_eq!(
            dead[0].attempts, 1,
            "{l}: given up at the first attempt: {dead:?}"
        );
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("contact address")),
            "{l}: {dead:?}"
        );
        assert!(smtp.messages().is_empty());
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------
// Calendar files and webhooks

/// The calendar file attached to a raw message, if any.
pub(crate) fn calendar_attachment(raw: &str) -> Option<String> {
    let m = MessageParser::default().parse(raw.as_bytes())?;
    m.attachments()
        .find(|a| a.attachment_name().is_some_and(|n| n.ends_with(".ics")))
        .map(|a| String::from_utf8_lossy(a.contents()).into_owned())
}

/// Checks a calendar file against the booking: one event per segment, at its local
/// times, in its airports' zones, each zone defined; answers the parsed events.
pub(crate) fn check_calendar(ics: &str, booking: &Value, what: &str) -> Vec<Value> {
    let parsed = crate::common::python("verify_calendar.py", ics);
    let events = parsed["events"].as_array().expect("events").clone();
    let segments: Vec<&Value> = booking["items"]
        .as_array()
        .expect("items")
        .iter()
        .flat_map(|i| i["itinerary"]["slices"].as_array().into_iter().flatten())
        .flat_map(|s| s["segments"].as_array().expect("segments"))
        .collect();
    assert!(!segments.is_empty(), "{what}: a flight booking");
    assert_eq!(events.len(), segments.len(), "{what}: {ics}");
    for (e, s) in events.iter().zip(&segments) {
        let departs = chrono::DateTime::parse_from_rfc3339(s["departure_at"].as_str().expect("at"))
            .expect("RFC 3339");
        assert_eq!(e["start_tzid"], s["origin_time_zone"], "{what}: {ics}");
        assert_eq!(e["end_tzid"], s["destination_time_zone"], "{what}: {ics}");
        assert_eq!(
            e["start"],
            json!(
                departs
                    .naive_local()
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string()
            ),
            "{what}: the local departure"
        );
        assert_eq!(
            e["utc_start"],
            json!(
                departs
                    .with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%S+00:00")
                    .to_string()
            ),
            "{what}: the zone puts it at the departure's instant"
        );
        assert!(
            e["summary"]
                .as_str()
                .is_some_and(|t| t.contains(s["flight_number"].as_str().expect("number"))),
            "{what}: {e}"
        );
    }
    events
}

fn allowing_loopback(args: &mut ota::ServeArgs) {
    args.booking.notify.webhook_allow_hosts = "127.0.0.1".parse().expect("an allow list");
}

/// [`mailing`], with webhook endpoints on 127.0.0.1 allowed (the tests' receivers).
async fn mailing_and_calling_loopback(
    backend: &Backend,
) -> (SmtpServer, std::path::PathBuf, TestApp) {
    let smtp = SmtpServer::start().await;
    let dir = testkit::temp_dir();
    let mut args = serve_args(backend, &dir);
    fast(&mut args, smtp.url());
    allowing_loopback(&mut args);
    let app = TestApp::spawn_with(backend.label, args).await;
    (smtp, dir, app)
}

/// Registers a webhook endpoint on `t`'s account.
pub(crate) async fn register_endpoint(
    app: &TestApp,
    t: &crate::booking::Traveller,
    url: &str,
    events: Value,
) -> (StatusCode, Value) {
    crate::booking::send(
        app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        Some(&t.token),
        None,
        Some(&json!({"url": url, "enabled_events": events, "description": "test receiver"})),
    )
    .await
}

/// Verifies every request with the Standard Webhooks reference library and `secret`;
/// answers the verified ids.
fn verify(secret: &str, requests: &[crate::common::Received]) -> Vec<String> {
    let input = json!({
        "secret": secret,
        "requests": requests.iter().map(|r| json!({"headers": r.headers, "body": r.body})).collect::<Vec<_>>(),
    });
    let out = crate::common::python("verify_webhooks.py", &input.to_string());
    serde_json::from_value(out["verified"].clone()).expect("ids")
}

async fn received_eventually(
    receiver: &crate::common::WebhookReceiver,
    n: usize,
    what: &str,
) -> Vec<crate::common::Received> {
    eventually(what, Duration::from_secs(30), || async {
        receiver.received().len() >= n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = receiver.received();
    assert_eq!(all.len(), n, "{what}: exactly {n} request(s)");
    all
}

#[tokio::test]
async fn a_booking_sends_a_calendar_and_a_signed_webhook_retried_until_the_receiver_takes_it() {
    for backend in backends().await {
        let (smtp, _dir, app) = mailing_and_calling_loopback(&backend).await;
        let l = app.label;
        let receiver = crate::common::WebhookReceiver::start(3).await;
        let bystander = crate::common::WebhookReceiver::start(0).await;
        let ada = traveller(&app).await;
        let bob = traveller(&app).await;
        let (status, endpoint) = register_endpoint(
            &app,
            &ada,
            &receiver.url,
            json!(["booking.confirmed", "booking.cancelled"]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {endpoint}");
        let secret = endpoint["secret"].as_str().expect("a secret").to_owned();
        assert!(secret.starts_with("whsec_"), "{l}: {secret}");
        let ep = endpoint["id"].as_str().expect("an id").to_owned();
        // Bob's endpoint hears nothing of Ada's bookings, and Ada's is not Bob's to read.
        let (status, _) = register_endpoint(&app, &bob, &bystander.url, json!(["*"])).await;
        assert_eq!(status, StatusCode::CREATED, "{l}");
        let (status, _) = get(&app, &bob, &format!("/api/v1/webhooks/{ep}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}");
        let (status, list) = get(&app, &ada, "/api/v1/webhooks").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            list["endpoints"].as_array().map(Vec::len),
            Some(1),
            "{l}: {list}"
        );
        assert!(
            list["endpoints"][0].get("secret").is_none(),
            "{l}: shown once"
        );

        let booking = book_as(&app, &ada).await;
        let reference = booking["reference"].as_str().expect("reference").to_owned();

        // The e-mail carries the itinerary as a calendar file that parses back.
        let mail = messages_eventually(&smtp, 1, "the confirmation").await;
        let ics = calendar_attachment(&mail[0]).expect("a calendar attachment");
        let events = check_calendar(&ics, &booking, l);
        assert!(
            events
                .iter()
                .all(|e| e["uid"].as_str().is_some_and(|u| u.starts_with(&reference))),
            "{l}: {events:?}"
        );
        // The same file from the API, with the same UIDs.
        let res = app
            .http
            .get(format!("{}/api/v1/bookings/{reference}/calendar", app.api))
            .bearer_auth(&ada.token)
            .send()
            .await
            .expect("the calendar");
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/calendar"))
        );
        let downloaded = check_calendar(&res.text().await.expect("ics"), &booking, l);
        assert_eq!(
            downloaded.iter().map(|e| &e["uid"]).collect::<Vec<_>>(),
            events.iter().map(|e| &e["uid"]).collect::<Vec<_>>(),
            "{l}: stable UIDs"
        );

        // The webhook: three refusals, then taken on the fourth attempt, same id each time.
        let got = received_eventually(&receiver, 4, "the confirmation's four attempts").await;
        let ids: Vec<&String> = got.iter().map(|r| &r.headers["webhook-id"]).collect();
        assert!(ids.iter().all(|i| *i == ids[0]), "{l}: {ids:?}");
        let doc: Value = serde_json::from_str(&got[3].body).expect("a JSON document");
        assert_eq!(doc["type"], "booking.confirmed", "{l}");
        assert_eq!(&doc["id"], &json!(ids[0]), "{l}");
        assert_eq!(doc["data"]["reference"], json!(reference));
        assert_eq!(doc["api_version"], "2026-12-01");
        assert_eq!(
            verify(&secret, &got).len(),
            4,
            "{l}: every attempt verifies"
        );
        assert!(!got[3].body.contains(CARD), "{l}: no card number");
        // Forged: the same delivery under another secret fails verification.
        let forged = std::panic::catch_unwind(|| {
            verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &got[3..])
        });
        assert!(forged.is_err(), "{l}: another secret must not verify");
        assert!(
            bystander.received().is_empty(),
            "{l}: only the owner's events"
        );

        // The delivery log tells each attempt.
        let (status, log) = get(&app, &ada, &format!("/api/v1/webhooks/{ep}/deliveries")).await;
        assert_eq!(status, StatusCode::OK, "{l}: {log}");
        let d = &log["deliveries"][0];
        assert_eq!(d["event_id"], json!(ids[0]), "{l}: {log}");
        assert_eq!(d["state"], "delivered", "{l}: {log}");
        let attempts = d["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 4, "{l}: {log}");
        assert_eq!(attempts[0]["detail"], "HTTP 500", "{l}: {log}");
        assert_eq!(attempts[3]["ok"], true, "{l}: {log}");
        assert_eq!(attempts[3]["detail"], "HTTP 204", "{l}: {log}");

        // Redelivered on request, with the same id.
        let (status, _) = crate::booking::send(
            &app,
            reqwest::Method::POST,
            &format!("/api/v1/webhooks/{ep}/deliveries/{}/redeliver", ids[0]),
            Some(&ada.token),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{l}");
        let got = received_eventually(&receiver, 5, "the redelivery").await;
        assert_eq!(&got[4].headers["webhook-id"], ids[0], "{l}");

        // A rotation: for a day every delivery is signed by both secrets.
        let (status, rotated) = crate::booking::send(
            &app,
            reqwest::Method::POST,
            &format!("/api/v1/webhooks/{ep}/rotate-secret"),
            Some(&ada.token),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}: {rotated}");
        let new_secret = rotated["secret"].as_str().expect("a new secret").to_owned();
        assert_ne!(new_secret, secret);
        assert!(
            rotated["previous_secret_expires_at"].is_string(),
            "{l}: {rotated}"
        );
        let (status, _) = cancel(&app, &ada, &reference).await;
        assert_eq!(status, StatusCode::OK, "{l}");
        let got = received_eventually(&receiver, 6, "the cancellation").await;
        let last = &got[5];
        assert_eq!(
            serde_json::from_str::<Value>(&last.body).expect("JSON")["type"],
            "booking.cancelled"
        );
        assert_eq!(
            last.headers["webhook-signature"].split(' ').count(),
            2,
            "{l}: {:?}",
            last.headers
        );
        assert_eq!(verify(&new_secret, &got[5..]).len(), 1, "{l}");
        assert_eq!(verify(&secret, &got[5..]).len(), 1, "{l}");
        // The cancellation's e-mail marks the calendar entries cancelled.
        let mail = messages_eventually(&smtp, 2, "the cancellation e-mail").await;
        let cancelled = check_calendar(
            &calendar_attachment(&mail[1]).expect("a calendar"),
            &booking,
            l,
        );
        assert!(
            cancelled
                .iter()
                .all(|e| e["status"] == "CANCELLED" && e["sequence"] == 1),
            "{l}: {cancelled:?}"
        );

        // Deleted: nothing more arrives.
        let (status, _) = crate::booking::send(
            &app,
            reqwest::Method::DELETE,
            &format!("/api/v1/webhooks/{ep}"),
            Some(&ada.token),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{l}");
        let (status, _) = get(&app, &ada, &format!("/api/v1/webhooks/{ep}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn webhook_endpoints_must_be_public_unless_allowed_and_never_link_local() {
    for backend in backends().await {
        let receiver = crate::common::WebhookReceiver::start(0).await;
        let dir = testkit::temp_dir();
        let app = TestApp::spawn_with(backend.label, serve_args(&backend, &dir)).await;
        let l = app.label;
        let ada = traveller(&app).await;
        let https_local = receiver.url.replace("http://", "https://");
        for (url, why) in [
            (receiver.url.as_str(), "https"),
            (https_local.as_str(), "loopback"),
            ("https://localhost/hooks", "loopback"),
            ("https://10.1.2.3/hooks", "private"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://[::1]/hooks", "loopback"),
            ("ftp://example.com/hooks", "https"),
            ("not a url", "URL"),
        ] {
            let (status, problem) = register_endpoint(&app, &ada, url, json!(["*"])).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{l}: {url}: {problem}"
            );
            assert_eq!(
                problem["errors"][0]["field"], "url",
                "{l}: {url}: {problem}"
            );
            assert!(
                problem["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(why)),
                "{l}: {url}: {problem}"
            );
        }
        let (status, problem) =
            register_endpoint(&app, &ada, "https://10.1.2.3/x", json!(["booking.shipped"])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        let fields: Vec<&Value> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| &e["field"])
            .collect();
        assert!(
            fields.contains(&&json!("enabled_events[0]")),
            "{l}: {problem}"
        );
        let (status, _) = crate::booking::send(
            &app,
            reqwest::Method::POST,
            "/api/v1/webhooks",
            None,
            None,
            Some(&json!({"url": receiver.url, "enabled_events": ["*"]})),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");
        let (_, list) = get(&app, &ada, "/api/v1/webhooks").await;
        assert_eq!(list["endpoints"], json!([]), "{l}: nothing registered");
        app.stop().await;

        // Allowed: loopback and a CIDR, never link-local. An endpoint registered while
        // allowed is refused at delivery once it no longer is: checked every time.
        let mut args = serve_args(&backend, &dir);
        args.booking.notify.webhook_allow_hosts = "127.0.0.1, 169.254.0.0/16, 10.0.0.0/8"
            .parse()
            .expect("an allow list");
        let app = TestApp::spawn_with(backend.label, args).await;
        let ada = traveller(&app).await;
        let (status, created) = register_endpoint(&app, &ada, &receiver.url, json!(["*"])).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {created}");
        let (status, _) =
            register_endpoint(&app, &ada, "http://169.254.169.254/latest", json!(["*"])).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{l}: link-local never"
        );
        app.stop().await;

        let mut args = serve_args(&backend, &dir);
        args.booking.notify.poll = Duration::from_millis(200);
        let app = TestApp::spawn_with(backend.label, args).await;
        let booking = book_as(&app, &ada).await;
        let ep = created["id"].as_str().expect("id");
        let log = eventually_log(&app, &ada, ep, "dead").await;
        let d = &log["deliveries"][0];
        assert_eq!(
            d["attempts"].as_array().map(Vec::len),
            Some(1),
            "{l}: {log}"
        );
        assert!(
            d["attempts"][0]["detail"]
                .as_str()
                .is_some_and(|e| e.contains("refused") && e.contains("loopback")),
            "{l}: {log}"
        );
        assert_eq!(d["reference"], booking["reference"]);
        assert!(receiver.received().is_empty(), "{l}: never called");
        app.stop().await;
    }
}

/// The endpoint's delivery log once its newest delivery is in `state`.
async fn eventually_log(
    app: &TestApp,
    t: &crate::booking::Traveller,
    ep: &str,
    state: &str,
) -> Value {
    let path = format!("/api/v1/webhooks/{ep}/deliveries");
    eventually(state, Duration::from_secs(20), || async {
        get(app, t, &path).await.1["deliveries"][0]["state"] == state
    })
    .await;
    get(app, t, &path).await.1
}

#[tokio::test]
async fn a_schedule_import_that_cancels_a_booked_flight_tells_its_traveller_once() {
    for backend in backends().await {
        let receiver = crate::common::WebhookReceiver::start(0).await;
        let (smtp, dir, app) = mailing_and_calling_loopback(&backend).await;
        let l = app.label;
        let ada = traveller(&app).await;
        let (status, endpoint) = register_endpoint(
            &app,
            &ada,
            &receiver.url,
            json!(["booking.schedule_changed"]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {endpoint}");
        let booking = book_as(&app, &ada).await;
        let reference = booking["reference"].as_str().expect("reference").to_owned();
        messages_eventually(&smtp, 1, "the confirmation").await;
        let segment = &booking["items"][0]["itinerary"]["slices"][0]["segments"][0];
        let flight = segment["flight_number"]
            .as_str()
            .expect("a flight")
            .to_owned();
        let date = segment["departure_at"].as_str().expect("a departure")[..10].to_owned();

        // The airline's schedule again, without the booked flight, imported as an
        // operator would.
        let (ssim, _) =
            ota_search::seed_files(ota_search::seed::Size::Small).expect("the seeded schedule");
        let mut schedule = ota_content::ssim::read(&ssim, &mut |_, _| {}).expect("SSIM");
        for c in &mut schedule.carriers {
            c.legs.retain(|leg| leg.flight.to_string() != flight);
        }
        let mut writer = ota_content::ssim::Writer::new(Vec::new());
        writer.schedule(&schedule).expect("written");
        let path = dir.join("change.ssim");
        std::fs::write(&path, writer.finish().expect("written")).expect("a file");
        let out = crate::content::ota(
            &backend,
            &dir,
            &[
                "catalog",
                "import",
                "--ssim",
                path.to_str().expect("a path"),
            ],
        );
        assert!(
            out.status.success(),
            "{l}: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        // The traveller hears of it once, by e-mail and by webhook.
        let mail = messages_eventually(&smtp, 2, "the schedule change").await;
        let raw = &mail[1];
        assert!(
            header(raw, "Subject")
                .is_some_and(|s| s.contains("schedule change") && s.contains(&reference)),
            "{l}: {raw}"
        );
        let (text, _) = bodies(raw);
        assert!(
            text.contains(&format!("Flight {flight} on")) && text.contains("no longer operates"),
            "{l}: {text}"
        );
        let got = received_eventually(&receiver, 1, "the schedule change's webhook").await;
        let doc: Value = serde_json::from_str(&got[0].body).expect("JSON");
        assert_eq!(doc["type"], "booking.schedule_changed", "{l}");
        assert_eq!(
            doc["schedule_change"],
            json!({"flight": flight, "flight_date": date, "origin": segment["origin"], "change": "cancelled"}),
            "{l}"
        );
        assert_eq!(doc["data"]["reference"], json!(reference));
        let secret = endpoint["secret"].as_str().expect("secret");
        assert_eq!(verify(secret, &got).len(), 1, "{l}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_hotel_confirmation_gives_the_address_and_a_stay_in_the_hotels_time_zone() {
    for backend in backends().await {
        let (smtp, _dir, app) = mailing(&backend).await;
        let l = app.label;
        let ada = traveller(&app).await;
        let offer = crate::booking::flexible_hotel(&app, "Paris", 25).await;
        assert!(
            offer["hotel"]["address"]
                .as_str()
                .is_some_and(|a| !a.is_empty()),
            "{l}: {offer}"
        );
        assert_eq!(offer["hotel"]["time_zone"], "Europe/Paris", "{l}");
        add_to_cart(&app, &ada, &id(&offer)).await;
        let visa = card(&app, &ada, CARD).await;
        let (status, booking) = checkout(&app, &ada, "hotel-mail", &checkout_body(1, &visa)).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {booking}");
        let mail = messages_eventually(&smtp, 1, "the hotel's confirmation").await;
        let (text, _) = bodies(&mail[0]);
        let address = offer["hotel"]["address"].as_str().expect("an address");
        assert!(text.contains(address), "{l}: {address} in {text}");
        let parsed = crate::common::python(
            "verify_calendar.py",
            &calendar_attachment(&mail[0]).expect("a calendar"),
        );
        let stay = &parsed["events"][0];
        assert_eq!(
            parsed["events"].as_array().map(Vec::len),
            Some(1),
            "{l}: {parsed}"
        );
        assert_eq!(stay["start_tzid"], "Europe/Paris", "{l}: {parsed}");
        assert_eq!(parsed["timezones"], json!(["Europe/Paris"]), "{l}");
        let check_in =
            chrono::DateTime::parse_from_rfc3339(offer["check_in_at"].as_str().expect("check-in"))
                .expect("RFC 3339");
        assert_eq!(
            stay["start"],
            json!(
                check_in
                    .naive_local()
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string()
            ),
            "{l}: check-in at the hotel's local time"
        );
        assert!(
            stay["summary"]
                .as_str()
                .is_some_and(|s| s.contains(offer["hotel"]["name"].as_str().expect("name"))),
            "{l}: {stay}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn one_accounts_slow_receivers_hold_up_nobody_elses_emails_or_webhooks() {
    for backend in backends().await {
        let (smtp, _dir, app) = mailing_and_calling_loopback(&backend).await;
        let l = app.label;
        // Mallory's five endpoints answer after 30 s: every attempt runs into the
        // 10-second time-out.
        let hanging = crate::common::WebhookReceiver::start_with(0, Duration::from_secs(30)).await;
        let mallory = traveller(&app).await;
        for _ in 0..5 {
            let (status, _) = register_endpoint(&app, &mallory, &hanging.url, json!(["*"])).await;
            assert_eq!(status, StatusCode::CREATED, "{l}");
        }
        book_as(&app, &mallory).await;
        // Mallory's deliveries are under way.
        eventually("the hanging attempts", Duration::from_secs(10), || async {
            !hanging.received().is_empty()
        })
        .await;

        let quick = crate::common::WebhookReceiver::start(0).await;
        let carol = traveller(&app).await;
        let (status, _) = register_endpoint(&app, &carol, &quick.url, json!(["*"])).await;
        assert_eq!(status, StatusCode::CREATED, "{l}");
        let started = std::time::Instant::now();
        let booking = book_as(&app, &carol).await;
        let reference = booking["reference"].as_str().expect("reference").to_owned();
        eventually(
            "Carol's e-mail and webhook",
            Duration::from_secs(30),
            || async {
                !quick.received().is_empty()
                    && smtp
                        .messages()
                        .iter()
                        .any(|m| header(m, "Subject").is_some_and(|s| s.contains(&reference)))
            },
        )
        .await;
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(6),
            "{l}: Carol waited {waited:?} behind Mallory's receivers"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn failed_checkouts_cannot_fill_someone_elses_inbox() {
    for backend in backends().await {
        let (smtp, _dir, app) = mailing(&backend).await;
        let l = app.label;
        let mallory = traveller(&app).await;
        let offer = flight(&app, ("JFK", "LAX"), 17, 1).await;
        add_to_cart(&app, &mallory, &id(&offer)).await;
        let declined = card(&app, &mallory, "4000000000000002").await;
        let mut body = checkout_body(1, &declined);
        body["contact"]["email"] = json!("victim@example.org");
        // Declined checkouts are free: six in a row, each naming the victim.
        for n in 0..6 {
            let (status, problem) = checkout(&app, &mallory, &format!("spam-{n}"), &body).await;
            assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{l}: {problem}");
        }
        let mail = messages_eventually(&smtp, 3, "three failure e-mails, no more").await;
        assert!(
            mail.iter()
                .all(|m| header(m, "To").as_deref() == Some("victim@example.org")),
            "{l}"
        );
        app.stop().await;
    }
}
