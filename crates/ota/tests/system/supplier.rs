//! Channel managers push OpenTravel ARI messages over real HTTP, on both engines: a
//! minimum length of stay, a stop-sell and a rate change reach hotel search within
//! OTA_INDEX_REFRESH; a message with one bad range changes nothing and names it; another
//! supplier's credential, a wrong secret and an entity-expansion payload are refused.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{TestApp, backends, serve_args};
use crate::content::ota;
use ota_testkit::{day, eventually};

/// `ota ops supplier create`: the credential is the one line on stdout.
pub(crate) fn create_supplier(
    backend: &crate::common::Backend,
    dir: &std::path::Path,
    name: &str,
    hotel: &str,
) -> String {
    let out = ota(
        backend,
        dir,
        &[
            "ops", "supplier", "create", "--name", name, "--hotels", hotel,
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 1, "{said}");
    assert!(lines[0].starts_with(&format!("{name}:")), "{said}");
    lines[0].to_owned()
}

/// Posts a message with a supplier's credential: status and the XML answer.
pub(crate) async fn push(
    app: &crate::common::TestApp,
    message: &str,
    credential: &str,
    xml: String,
) -> (StatusCode, String) {
    let (user, secret) = credential.split_once(':').expect("NAME:SECRET");
    let res = app
        .http
        .post(format!("{}/supplier/v1/ota/{message}", app.api))
        .basic_auth(user, Some(secret))
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .expect("sent");
    (res.status(), res.text().await.expect("answer"))
}

fn avail(hotel: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelAvailNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="cm-42" Version="1.0">
  <AvailStatusMessages HotelCode="{hotel}">{body}</AvailStatusMessages>
</OTA_HotelAvailNotifRQ>"#
    )
}

/// An `OTA_HotelRateAmountNotifRQ`: a nightly rate (major units) for a room type, on one
/// rate plan or (`None`) every plan, from day `from` to day `to`.
fn rate_message(
    hotel: &str,
    room: &str,
    plan: Option<&str>,
    from: i64,
    to: i64,
    amount: &str,
) -> String {
    let plan = plan
        .map(|p| format!(r#" RatePlanCode="{p}""#))
        .unwrap_or_default();
    format!(
        r#"<OTA_HotelRateAmountNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="r-1">
  <RateAmountMessages HotelCode="{hotel}"><RateAmountMessage>
    <StatusApplicationControl Start="{}" End="{}" InvTypeCode="{room}"{plan}/>
    <Rates><Rate CurrencyCode="USD"><BaseByGuestAmts><BaseByGuestAmt AmountAfterTax="{amount}"/></BaseByGuestAmts></Rate></Rates>
  </RateAmountMessage></RateAmountMessages>
</OTA_HotelRateAmountNotifRQ>"#,
        day(from),
        day(to)
    )
}

/// One `AvailStatusMessage` for a room type from day `from` to day `to` (both nights
/// included), with its attributes and content.
fn status_message(attributes: &str, from: i64, to: i64, room: &str, content: &str) -> String {
    format!(
        r#"<AvailStatusMessage{attributes}><StatusApplicationControl Start="{}" End="{}" InvTypeCode="{room}"/>{content}</AvailStatusMessage>"#,
        day(from),
        day(to)
    )
}

/// Offers of one room type of one hotel for a stay, as (rate plan code, total).
async fn stays(
    app: &crate::common::TestApp,
    hotel: &str,
    room_type: &str,
    from: i64,
    nights: i64,
) -> Vec<(String, i64)> {
    let (status, body) = app
        .get(
            &format!(
                "/api/v1/hotels/search?city=Paris&check_in={}&check_out={}&limit=50",
                day(from),
                day(from + nights)
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut out = Vec::new();
    let mut body = body;
    loop {
        for o in body["offers"].as_array().expect("offers") {
            if o["hotel"]["code"] == hotel && o["room_type_code"] == room_type {
                out.push((
                    o["rate_plan_code"].as_str().expect("plan").to_owned(),
                    o["total"]["amount"].as_i64().expect("amount"),
                ));
            }
        }
        let Some(cursor) = body["next_cursor"].as_str().map(str::to_owned) else {
            break;
        };
        body = app
            .get(
                &format!(
                    "/api/v1/hotels/search?city=Paris&check_in={}&check_out={}&limit=50&cursor={cursor}",
                    day(from),
                    day(from + nights)
                ),
                None,
            )
            .await
            .1;
    }
    out.sort();
    out
}

#[tokio::test]
async fn ari_messages_change_what_hotel_search_answers() {
    for backend in backends().await {
        let l = backend.label;
        let dir = ota_testkit::temp_dir();
        let app = TestApp::spawn_with(l, serve_args(&backend, &dir)).await;
        let (_, body) = app
            .get(
                &format!(
                    "/api/v1/hotels/search?city=Paris&check_in={}&check_out={}&limit=50",
                    day(10),
                    day(12)
                ),
                None,
            )
            .await;
        let offers: &Vec<Value> = body["offers"].as_array().expect("offers");
        let hotel = offers[0]["hotel"]["code"]
            .as_str()
            .expect("code")
            .to_owned();
        let room = offers[0]["room_type_code"]
            .as_str()
            .expect("room")
            .to_owned();
        let other = offers
            .iter()
            .map(|o| o["hotel"]["code"].as_str().expect("code"))
            .find(|c| *c != hotel)
            .expect("another Paris hotel")
            .to_owned();
        let mine = create_supplier(&backend, &dir, "paris-cm", &hotel);
        let theirs = create_supplier(&backend, &dir, "other-cm", &other);

        // A minimum stay of 3 nights arriving from day 10 to 12, on every rate plan.
        let (status, answer) = push(
            &app,
            "HotelAvailNotif",
            &mine,
            avail(
                &hotel,
                &status_message(r#""#, 10, 12, &room, r#"<LengthsOfStay><LengthOfStay Time="3" TimeUnit="Day" MinMaxMessageType="SetMinLOS"/></LengthsOfStay>"#),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}: {answer}");
        assert!(
            answer.contains("<Success/>") && answer.contains(r#"EchoToken="cm-42""#),
            "{l}: {answer}"
        );
        assert!(
            !stays(&app, &hotel, &room, 10, 3).await.is_empty(),
            "{l}: 3 nights still sold"
        );
        eventually("the minimum stay", Duration::from_secs(15), || async {
            stays(&app, &hotel, &room, 10, 2).await.is_empty()
        })
        .await;
        assert!(
            !stays(&app, &hotel, &room, 10, 3).await.is_empty(),
            "{l}: 3 nights still sold"
        );

        // A stop-sell closes the dates.
        let (status, answer) = push(
            &app,
            "HotelAvailNotif",
            &mine,
            avail(
                &hotel,
                &status_message(
                    r#""#,
                    15,
                    16,
                    &room,
                    r#"<RestrictionStatus Status="Close" Restriction="Master"/>"#,
                ),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}: {answer}");
        eventually("the stop-sell", Duration::from_secs(15), || async {
            stays(&app, &hotel, &room, 15, 1).await.is_empty()
        })
        .await;
        assert!(
            !stays(&app, &hotel, &room, 17, 1).await.is_empty(),
            "{l}: the next night is open"
        );

        // A rate change moves the price of that plan only.
        let before = stays(&app, &hotel, &room, 18, 2).await;
        let (status, answer) = push(
            &app,
            "HotelRateAmountNotif",
            &mine,
            rate_message(&hotel, &room, Some("FLEX"), 18, 19, "123.45"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}: {answer}");
        eventually("the rate change", Duration::from_secs(15), || async {
            stays(&app, &hotel, &room, 18, 2)
                .await
                .contains(&("FLEX".to_owned(), 24_690))
        })
        .await;
        let nrf = |s: &Vec<(String, i64)>| s.iter().find(|(p, _)| p == "NRF").cloned();
        assert_eq!(
            nrf(&stays(&app, &hotel, &room, 18, 2).await),
            nrf(&before),
            "{l}"
        );

        // The same message as a file, by an operator: `ota catalog import --ari`.
        let file = dir.join("rates.xml");
        std::fs::write(
            &file,
            rate_message(&hotel, &room, Some("NRF"), 18, 19, "99"),
        )
        .expect("written");
        let out = ota(
            &backend,
            &dir,
            &["catalog", "import", "--ari", file.to_str().expect("path")],
        );
        assert!(
            out.status.success(),
            "{l}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eventually("the imported rate", Duration::from_secs(15), || async {
            stays(&app, &hotel, &room, 18, 2)
                .await
                .contains(&("NRF".to_owned(), 19_800))
        })
        .await;

        // One bad range: the whole message changes nothing and the range is named.
        let (status, answer) = push(
            &app,
            "HotelAvailNotif",
            &mine,
            avail(
                &hotel,
                &[
                    status_message(r#" BookingLimit="0""#, 22, 23, &room, ""),
                    status_message(r#" BookingLimit="0""#, 25, 24, &room, ""),
                ]
                .concat(),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{l}: {answer}");
        assert!(
            answer.contains("AvailStatusMessage[2]/StatusApplicationControl@End"),
            "{l}: {answer}"
        );
        assert!(
            answer.contains(r#"EchoToken="cm-42""#),
            "{l}: a refusal echoes the token: {answer}"
        );
        assert!(!answer.contains("<Success/>"), "{l}");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(
            !stays(&app, &hotel, &room, 22, 1).await.is_empty(),
            "{l}: nothing changed"
        );

        // Another supplier's credential cannot touch the hotel; a wrong secret is refused.
        let stop = avail(
            &hotel,
            &status_message(r#" BookingLimit="0""#, 22, 23, &room, ""),
        );
        let (status, answer) = push(&app, "HotelAvailNotif", &theirs, stop.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{l}: {answer}");
        assert!(answer.contains(r#"Type="6""#), "{l}: {answer}");
        let (status, _) = push(&app, "HotelAvailNotif", "paris-cm:not-the-secret", stop).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}");

        // Over the supplier body limit (8 MiB): refused as an OpenTravel answer too.
        let padding = " ".repeat(8 * 1024 * 1024);
        let (status, answer) = push(&app, "HotelAvailNotif", &mine, avail(&hotel, &padding)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{l}");
        assert!(
            answer.contains("<OTA_HotelAvailNotifRS") && answer.contains(r#"Type="7""#),
            "{l}: {answer}"
        );

        // An entity-expansion payload is refused at once.
        let bomb = format!(
            r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<OTA_HotelAvailNotifRQ><AvailStatusMessages HotelCode="{hotel}">&lol2;</AvailStatusMessages></OTA_HotelAvailNotifRQ>"#
        );
        let (status, answer) = push(&app, "HotelAvailNotif", &mine, bomb).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{l}: {answer}");
        assert!(answer.contains("DTD"), "{l}: {answer}");
        assert!(
            !stays(&app, &hotel, &room, 22, 1).await.is_empty(),
            "{l}: nothing changed"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_hotel_file_and_its_messages_put_a_new_hotel_on_sale() {
    for backend in backends().await {
        let l = backend.label;
        let dir = ota_testkit::temp_dir();
        let app = TestApp::spawn_with(l, serve_args(&backend, &dir)).await;
        let content = dir.join("hotels.json");
        let hotel = |stars: i16| {
            format!(
                r#"{{"hotels": [{{"code": "PARLUM", "name": "Hôtel Lumière",
                "address": {{"line": "12 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"}},
                "coordinates": {{"latitude": 48.8606, "longitude": 2.3376}}, "stars": {stars},
                "amenities": ["wifi"], "check_in": "14:00", "check_out": "12:00", "time_zone": "Europe/Paris",
                "room_types": [{{"code": "DBL", "name": "Double Room", "max_guests": 2, "beds": ["double"]}}],
                "rate_plans": [{{"code": "BB", "name": "Bed and breakfast", "board": "breakfast", "refundable": true, "free_cancellation_days": 1}}]}}]}}"#
            )
        };
        // A bad file is refused whole, naming the path.
        std::fs::write(&content, hotel(7)).expect("written");
        let out = ota(
            &backend,
            &dir,
            &[
                "catalog",
                "import",
                "--hotels",
                content.to_str().expect("path"),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{l}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("hotels[0].stars"),
            "{l}: {out:?}"
        );

        // Not UTF-8: refused the same way; --json says so on stdout.
        std::fs::write(&content, b"{\"hotels\": [{\"name\": \"H\xf4tel\"}]}").expect("written");
        let out = ota(
            &backend,
            &dir,
            &[
                "catalog",
                "import",
                "--json",
                "--hotels",
                content.to_str().expect("path"),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{l}");
        let said: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(said["imported"], false, "{l}: {said}");

        std::fs::write(&content, hotel(4)).expect("written");
        let ari = dir.join("allotment.xml");
        std::fs::write(
            &ari,
            avail(
                "PARLUM",
                &status_message(r#" BookingLimit="3""#, 5, 20, "DBL", ""),
            ),
        )
        .expect("written");
        let rates = dir.join("rates.xml");
        std::fs::write(&rates, rate_message("PARLUM", "DBL", None, 5, 20, "210")).expect("written");
        let path = |p: &std::path::Path| p.to_str().expect("path").to_owned();
        let out = ota(
            &backend,
            &dir,
            &[
                "catalog",
                "import",
                "--hotels",
                &path(&content),
                "--ari",
                &path(&ari),
                "--ari",
                &path(&rates),
            ],
        );
        assert!(
            out.status.success(),
            "{l}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 hotels created"),
            "{l}: {out:?}"
        );

        eventually("the new hotel on sale", Duration::from_secs(20), || async {
            stays(&app, "PARLUM", "DBL", 10, 2).await == vec![("BB".to_owned(), 42_000)]
        })
        .await;
        let (_, body) = app
            .get(
                &format!(
                    "/api/v1/hotels/search?city=Paris&check_in={}&check_out={}&limit=50&stars=4",
                    day(10),
                    day(12)
                ),
                None,
            )
            .await;
        let offer = body["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .find(|o| o["hotel"]["code"] == "PARLUM")
            .expect("the new hotel")
            .clone();
        assert_eq!(offer["board"], "breakfast", "{l}");
        assert_eq!(offer["rate_plan_name"], "Bed and breakfast", "{l}");
        assert!(
            offer["check_in_at"]
                .as_str()
                .expect("at")
                .contains("T14:00:00"),
            "{l}: {offer}"
        );
        assert!(
            offer["check_out_at"]
                .as_str()
                .expect("at")
                .contains("T12:00:00"),
            "{l}: {offer}"
        );
        let deadline = offer["cancellation_policy"]["free_cancellation_until"]
            .as_str()
            .expect("until");
        assert!(
            deadline.starts_with(&day(9)),
            "{l}: a day before check-in: {deadline}"
        );
        // Nights without allotment are not sold.
        assert!(stays(&app, "PARLUM", "DBL", 20, 2).await.is_empty(), "{l}");
        app.stop().await;
    }
}
