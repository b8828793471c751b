//! The supplier API channel managers push to: OpenTravel ARI messages
//! (`POST /supplier/v1/ota/HotelAvailNotif`, `POST /supplier/v1/ota/HotelRateAmountNotif`),
//! XML in and `OTA_*RS` out, authenticated by HTTP Basic with the supplier's
//! NAME:SECRET and limited to its hotels. A message is applied whole or not at all.

use axum::body::Bytes;
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

async fn ari_message(
    state: SearchState,
    headers: HeaderMap,
    body: Bytes,
    kind: AriKind,
) -> Response {
    let now = Utc::now();
    let answer = |status: StatusCode, echo: Option<&str>, errors: &[AriError]| {
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            ari::response(kind.response_name(), echo, errors, now),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED
            && let Ok(v) =
                header::HeaderValue::from_str(r#"Basic realm="supplier", charset="UTF-8""#)
        {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    };
    let supplier = match basic_credential(&headers) {
        None => None,
        Some((name, secret)) => match state.store.supplier_by_credential(&name, &secret).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "supplier credential check failed");
                return answer(StatusCode::SERVICE_UNAVAILABLE, None, &[unavailable()]);
            }
        },
    };
    let Some(supplier) = supplier else {
        return answer(
            StatusCode::UNAUTHORIZED,
            None,
            &[AriError::new(
                4,
                "",
                "HTTP Basic credentials of a supplier (NAME:SECRET) are required",
            )],
        );
    };
    let Ok(xml) = std::str::from_utf8(&body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            None,
            &[AriError::new(7, "", "the message is not UTF-8")],
        );
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
            tracing::info!(supplier, hotel = %message.hotel_code, instructions = applied, message = kind.response_name(), "ARI message applied");
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
        (status = 413, description = "Larger than OTA_MAX_SUPPLIER_BODY_BYTES"),
        (status = 503, body = String, content_type = "application/xml", description = "Storage unavailable: nothing changed, send again (Errors Type 12)")),
    security(("supplier_basic" = [])))]
pub(super) async fn hotel_avail_notif(
    State(state): State<SearchState>,
    headers: HeaderMap,
    body: Bytes,
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
        (status = 413, description = "Larger than OTA_MAX_SUPPLIER_BODY_BYTES"),
        (status = 503, body = String, content_type = "application/xml", description = "Storage unavailable: nothing changed, send again (Errors Type 12)")),
    security(("supplier_basic" = [])))]
pub(super) async fn hotel_rate_amount_notif(
    State(state): State<SearchState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    ari_message(state, headers, body, AriKind::RateAmount).await
}
