//! Notifications end to end: a booking made over HTTP produces its e-mails at a real
//! SMTP server (aiosmtpd), once each, with a Message-ID from the event id and no card
//! number; an SMTP server that is down gets the message once it is back; a process
//! SIGKILLed after the commit and before the delivery loses nothing; without SMTP_URL
//! the messages are `.eml` files in the data directory. On SQLite and PostgreSQL.

use std::time::Duration;

use mail_parser::MessageParser;
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
    let offer = flight(app, ("JFK", "LAX"), 15, 2).await;
    add_to_cart(app, &ada, &id(&offer)).await;
    let visa = card(app, &ada, CARD).await;
    let (status, booking) = checkout(app, &ada, "mail-1", &checkout_body(2, &visa)).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {booking}", app.label);
    assert_eq!(booking["status"], "CONFIRMED");
    (ada, booking)
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
async fn a_process_killed_between_commit_and_delivery_loses_no_email() {
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
            ]
        };
        let start = |env: Vec<(&'static str, String)>| {
            let (backend, dir): (&Backend, _) = (&backend, &dir);
            async move {
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                OtaProcess::start_in(backend, dir, &env).await
            }
        };
        let first = start(env("1h")).await;
        let app = first.app(backend.label);
        let (ada, booking) = book(&app).await;
        let reference = booking["reference"].as_str().expect("reference").to_owned();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(smtp.messages().is_empty(), "not delivered before the kill");
        first.kill();

        let second = start(env("200ms")).await;
        let app = second.app(backend.label);
        let mail = messages_eventually(&smtp, 1, "the confirmation after the restart").await;
        assert!(header(&mail[0], "Subject").is_some_and(|s| s.contains(&reference)));
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
