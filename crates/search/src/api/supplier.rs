//! The supplier API channel managers push to: OpenTravel ARI messages
//! (`POST /supplier/v1/ota/HotelAvailNotif`, `POST /supplier/v1/ota/HotelRateAmountNotif`),
//! XML in and `OTA_*RS` out, authenticated by HTTP Basic with the supplier's
//! NAME:SECRET and limited to its hotels. A message is applied whole or not at all.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;

use super::SearchState;
use crate::ari::{self, AriError, AriKind, Refusal};

/// NAME and SECRET of an `Authorization: Basic` header.
fn basic_credential(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(B64.decode(encoded.trim()).ok()?).ok()?;
    let (name, secret) = decoded.split_once(':')?;
    Some((name.to_owned(), secret.to_owned()))
}

/// An XML answer: the `OTA_*RS` document, with a Basic challenge on 401.
fn xml(status: StatusCode, document: String) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        document,
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED
        && let Ok(v) = header::HeaderValue::from_str(r#"Basic realm="supplier", charset="UTF-8""#)
    {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// The supplier the request's credential belongs to, or the `name` answer refusing it
/// (401 without a valid one, 503 when it cannot be checked).
async fn supplier_of(
    state: &SearchState,
    headers: &HeaderMap,
    name: &str,
) -> Result<i64, Response> {
    let now = Utc::now();
    let found = match basic_credential(headers) {
        None => None,
        Some((user, secret)) => match state.store.supplier_by_credential(&user, &secret).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "supplier credential check failed");
                return Err(xml(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ari::response(name, None, &[unavailable()], now),
                ));
            }
        },
    };
    found.ok_or_else(|| {
        let refused = AriError::new(
            4,
            "",
            "HTTP Basic credentials of a supplier (NAME:SECRET) are required",
        );
        xml(
            StatusCode::UNAUTHORIZED,
            ari::response(name, None, &[refused], now),
        )
    })
}

/// The supplier and its message read by `parse`, or the `name` answer refusing them.
async fn accepted<T>(
    state: &SearchState,
    headers: &HeaderMap,
    body: Body,
    name: &str,
    parse: fn(&str) -> Result<T, Vec<AriError>>,
) -> Result<(i64, T), Response> {
    let supplier = supplier_of(state, headers, name).await?;
    let body = read_body(body, name).await?;
    let text = text(&body, name)?;
    match parse(text) {
        Ok(message) => Ok((supplier, message)),
        Err(errors) => Err(xml(
            StatusCode::BAD_REQUEST,
            ari::response(name, ari::echo_token(text).as_deref(), &errors, Utc::now()),
        )),
    }
}

/// The whole body, or the `name` answer refusing it: 413 over the supplier body limit
/// (`OTA_MAX_SUPPLIER_BODY_BYTES`, enforced as it streams in), 400 when it broke off.
async fn read_body(body: Body, name: &str) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, usize::MAX).await.map_err(|e| {
        let too_large = std::iter::successors(
            Some(&e as &(dyn std::error::Error + 'static)),
            |e| e.source(),
        )
        .any(|e| e.is::<http_body_util::LengthLimitError>());
        let (status, message) = if too_large {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the message is larger than this endpoint takes (OTA_MAX_SUPPLIER_BODY_BYTES); split it",
            )
        } else {
            (StatusCode::BAD_REQUEST, "the message could not be read whole")
        };
        xml(status, ari::response(name, None, &[AriError::new(7, "", message)], Utc::now()))
    })
}

/// The body as text, or the `name` answer refusing it.
fn text<'a>(body: &'a Bytes, name: &str) -> Result<&'a str, Response> {
    std::str::from_utf8(body).map_err(|_| {
        let refused = AriError::new(7, "", "the message is not UTF-8");
        xml(
            StatusCode::BAD_REQUEST,
            ari::response(name, None, &[refused], Utc::now()),
        )
    })
}

async fn ari_message(
    state: SearchState,
    headers: HeaderMap,
    body: Body,
    kind: AriKind,
) -> Response {
    let now = Utc::now();
    let answer = |status: StatusCode, echo: Option<&str>, errors: &[AriError]| {
        xml(
            status,
            ari::response(kind.response_name(), echo, errors, now),
        )
    };
    let supplier = match supplier_of(&state, &headers, kind.response_name()).await {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let body = match read_body(body, kind.response_name()).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let xml = match text(&body, kind.response_name()) {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    let outcome = ari::apply(&state.store, Some(supplier), xml, kind, now).await;
    let label = match &outcome {
        Ok(_) => "applied",
        Err((_, Refusal::Invalid(_))) => "invalid",
        Err((_, Refusal::NotYours(_))) => "forbidden",
        Err((_, Refusal::Unavailable(_))) => "unavailable",
    };
    metrics::counter!("supplier_ari_messages_total", "message" => kind.response_name(), "outcome" => label).increment(1);
    match outcome {
        Ok((message, applied)) => {
            tracing::info!(supplier, hotel = %message.hotel_code, instructions = applied, answer = kind.response_name(), "ARI message applied");
            answer(StatusCode::OK, message.echo_token.as_deref(), &[])
        }
        Err((echo, Refusal::Invalid(errors))) => {
            answer(StatusCode::BAD_REQUEST, echo.as_deref(), &errors)
        }
        Err((echo, Refusal::NotYours(error))) => {
            answer(StatusCode::FORBIDDEN, echo.as_deref(), &[error])
        }
        Err((echo, Refusal::Unavailable(e))) => {
            tracing::warn!(error = %e, "applying an ARI message failed; nothing changed");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                echo.as_deref(),
                &[unavailable()],
            )
        }
    }
}

fn unavailable() -> AriError {
    AriError::new(
        12,
        "",
        "the message could not be stored just now; nothing changed: send it again",
    )
}

/// Allotment, stop-sell, closed to arrival or departure and lengths of stay
/// (`OTA_HotelAvailNotifRQ`) for the supplier's hotel, by room type (`InvTypeCode`),
/// rate plan (`RatePlanCode`), date range (hotel-local, both ends inclusive) and days of
/// the week. Answers `OTA_HotelAvailNotifRS` with `Success`, or `Errors` naming each
/// problem (nothing changed). Search serves the change within OTA_INDEX_REFRESH.
#[utoipa::path(post, path = "/supplier/v1/ota/HotelAvailNotif", tag = "supplier",
    request_body(content = String, content_type = "application/xml", description = "OTA_HotelAvailNotifRQ (no DTD; at most OTA_MAX_SUPPLIER_BODY_BYTES)"),
    responses(
        (status = 200, body = String, content_type = "application/xml", description = "OTA_HotelAvailNotifRS with Success"),
        (status = 400, body = String, content_type = "application/xml", description = "OTA_HotelAvailNotifRS with Errors: malformed XML, a DTD, an invalid range, value or code (each named); nothing changed"),
        (status = 401, body = String, content_type = "application/xml", description = "No or wrong supplier credential (Errors Type 4)"),
        (status = 403, body = String, content_type = "application/xml", description = "HotelCode is not a hotel of this supplier (Errors Type 6)"),
        (status = 413, body = String, content_type = "application/xml", description = "Larger than OTA_MAX_SUPPLIER_BODY_BYTES (Errors Type 7)"),
        (status = 503, body = String, content_type = "application/xml", description = "Storage unavailable: nothing changed, send again (Errors Type 12)")),
    security(("supplier_basic" = [])))]
pub(super) async fn hotel_avail_notif(
    State(state): State<SearchState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ari_message(state, headers, body, AriKind::Avail).await
}

/// Nightly rates per room type and rate plan (`OTA_HotelRateAmountNotifRQ`):
/// `BaseByGuestAmt AmountAfterTax` in major units (or with `DecimalPlaces`), by
/// `NumberOfGuests` (absent: any number), in the catalog's currency, turned into minor
/// units exactly. Answers `OTA_HotelRateAmountNotifRS` as the availability message does.
#[utoipa::path(post, path = "/supplier/v1/ota/HotelRateAmountNotif", tag = "supplier",
    request_body(content = String, content_type = "application/xml", description = "OTA_HotelRateAmountNotifRQ (no DTD; at most OTA_MAX_SUPPLIER_BODY_BYTES)"),
    responses(
        (status = 200, body = String, content_type = "application/xml", description = "OTA_HotelRateAmountNotifRS with Success"),
        (status = 400, body = String, content_type = "application/xml", description = "OTA_HotelRateAmountNotifRS with Errors naming each problem; nothing changed"),
        (status = 401, body = String, content_type = "application/xml", description = "No or wrong supplier credential (Errors Type 4)"),
        (status = 403, body = String, content_type = "application/xml", description = "HotelCode is not a hotel of this supplier (Errors Type 6)"),
        (status = 413, body = String, content_type = "application/xml", description = "Larger than OTA_MAX_SUPPLIER_BODY_BYTES (Errors Type 7)"),
        (status = 503, body = String, content_type = "application/xml", description = "Storage unavailable: nothing changed, send again (Errors Type 12)")),
    security(("supplier_basic" = [])))]
pub(super) async fn hotel_rate_amount_notif(
    State(state): State<SearchState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ari_message(state, headers, body, AriKind::RateAmount).await
}

/// Confirmed and cancelled hotel bookings at the supplier's hotels not yet acknowledged
/// (`OTA_ReadRQ`, optionally naming `HotelReadRequest@HotelCode`s) as
/// `OTA_ResRetrieveRS` `HotelReservations`: our booking reference as `UniqueID`, room
/// type, rate plan, rooms, guests, dates (hotel-local) and total after tax. The same
/// reservations come again on every pull until `NotifReport` acknowledges them; a
/// cancellation comes again as `ResStatus="Cancel"`.
#[utoipa::path(post, path = "/supplier/v1/ota/Read", tag = "supplier",
    request_body(content = String, content_type = "application/xml", description = "OTA_ReadRQ"),
    responses(
        (status = 200, body = String, content_type = "application/xml", description = "OTA_ResRetrieveRS with Success and the ReservationsList (at most 500, oldest change first)"),
        (status = 400, body = String, content_type = "application/xml", description = "Not an OTA_ReadRQ (Errors)"),
        (status = 401, body = String, content_type = "application/xml", description = "No or wrong supplier credential (Errors Type 4)"),
        (status = 503, body = String, content_type = "application/xml", description = "Storage unavailable: pull again (Errors Type 12)")),
    security(("supplier_basic" = [])))]
pub(super) async fn read_reservations(
    State(state): State<SearchState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    const NAME: &str = "OTA_ResRetrieveRS";
    let now = Utc::now();
    let (supplier, request) = match accepted(&state, &headers, body, NAME, ari::parse_read).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let echo = request.echo_token.as_deref();
    let mut found = Vec::new();
    let hotels: Vec<Option<&str>> = if request.hotel_codes.is_empty() {
        vec![None]
    } else {
        request
            .hotel_codes
            .iter()
            .map(|c| Some(c.as_str()))
            .collect()
    };
    for hotel in hotels {
        match state.store.unsent_reservations(supplier, hotel, 500).await {
            Ok(list) => found.extend(list),
            Err(e) => {
                tracing::warn!(error = %e, "reading a supplier's reservations failed");
                return xml(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ari::response(NAME, echo, &[unavailable()], now),
                );
            }
        }
    }
    metrics::counter!("supplier_reservations_sent_total").increment(found.len() as u64);
    xml(
        StatusCode::OK,
        ari::reservations_response(echo, &found, now),
    )
}

/// Acknowledges reservations a supplier received (`OTA_NotifReportRQ` with `Success`
/// and each `HotelReservation` by `UniqueID` and `ResStatus`): they are not sent again
/// until they change. A report with `Errors` acknowledges nothing.
#[utoipa::path(post, path = "/supplier/v1/ota/NotifReport", tag = "supplier",
    request_body(content = String, content_type = "application/xml", description = "OTA_NotifReportRQ"),
    responses(
        (status = 200, body = String, content_type = "application/xml", description = "OTA_NotifReportRS with Success"),
        (status = 400, body = String, content_type = "application/xml", description = "Not a readable OTA_NotifReportRQ (Errors naming each problem; nothing acknowledged)"),
        (status = 401, body = String, content_type = "application/xml", description = "No or wrong supplier credential (Errors Type 4)"),
        (status = 503, body = String, content_type = "application/xml", description = "Storage unavailable: report again (Errors Type 12)")),
    security(("supplier_basic" = [])))]
pub(super) async fn notif_report(
    State(state): State<SearchState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    const NAME: &str = "OTA_NotifReportRS";
    let now = Utc::now();
    let (supplier, report) =
        match accepted(&state, &headers, body, NAME, ari::parse_notif_report).await {
            Ok(r) => r,
            Err(refused) => return refused,
        };
    let echo = report.echo_token.as_deref();
    match state
        .store
        .acknowledge_reservations(supplier, &report.received)
        .await
    {
        Ok(marked) => {
            tracing::info!(
                supplier,
                acknowledged = marked,
                reported = report.received.len(),
                "supplier acknowledged reservations"
            );
            xml(StatusCode::OK, ari::response(NAME, echo, &[], now))
        }
        Err(e) => {
            tracing::warn!(error = %e, "acknowledging reservations failed");
            xml(
                StatusCode::SERVICE_UNAVAILABLE,
                ari::response(NAME, echo, &[unavailable()], now),
            )
        }
    }
}
