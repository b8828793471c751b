//! The caller's bookings: `GET /api/v1/bookings`, `GET /api/v1/bookings/{reference}`,
//! the cancellation quote and the cancellation.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ota_contract::booking::{BookingList, BookingView, CancellationView, QuoteView};
use ota_contract::money::Money;
use ota_platform::Problem;
use ota_platform::tokens::AuthUser;
use uuid::Uuid;

use super::{BookingState, DEFAULT_LIMIT, MAX_LIMIT, rfc3339, view};
use crate::domain::{self, BookingReference, Status};
use crate::store::Booking;
use crate::store::outbox::Resend;

// ---------------------------------------------------------------------------------------
// Reads

async fn own_booking(
    state: &BookingState,
    user: &AuthUser,
    reference: &str,
) -> Result<Booking, Problem> {
    let not_found = || Problem::not_found("You have no booking with this reference.");
    let Ok(reference) = BookingReference::parse(reference) else {
        return Err(not_found());
    };
    match state.store().by_reference(&reference).await? {
        // Someone else's booking answers exactly like a missing one.
        Some(b) if b.user_id == user.id => Ok(b),
        _ => Err(not_found()),
    }
}

/// The caller's bookings, newest first.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings",
    params(("limit" = Option<i64>, Query, description = "1 to 50, default 20"), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = BookingList, description = "One page of the caller's bookings, newest first, and the `next_cursor`; amounts in minor units"),
        (status = 400, body = Problem, description = "`limit` not 1 to 50, or `cursor` not one of this list (problem `bad-parameter`; `errors` names it)"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)")),
    security(("bearer" = [])))]
pub(super) async fn list_bookings(
    State(state): State<BookingState>,
    user: AuthUser,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<BookingList>, Problem> {
    let limit = match params.get("limit").map(|s| s.trim()) {
        None | Some("") => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                Problem::bad_parameter("limit", "must be a whole number from 1 to 50")
            })?,
    };
    let before = match params.get("cursor").map(|s| s.trim()) {
        None | Some("") => None,
        Some(c) => Some(
            Uuid::try_parse(c)
                .map_err(|_| Problem::bad_parameter("cursor", "is not a cursor of this list"))?,
        ),
    };
    let store = state.store();
    let mut page = store.list(user.id, before, limit + 1).await?;
    let more = page.len() as i64 > limit;
    page.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        page.last().map(|b| b.id.simple().to_string())
    } else {
        None
    };
    let mut bookings = Vec::with_capacity(page.len());
    for b in page {
        bookings.push(view(store.as_ref(), b).await?);
    }
    Ok(axum::Json(BookingList {
        bookings,
        next_cursor,
    }))
}

/// One of the caller's bookings.
#[utoipa::path(get, path = "/api/v1/bookings/{reference}", tag = "bookings",
    params(("reference" = String, Path)),
    responses(
        (status = 200, body = BookingView, description = "The booking in its current status, with its items, travellers and payment; amounts in minor units"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = Problem, description = "The caller has no booking with this reference; another traveller's answers the same (problem `not-found`)")),
    security(("bearer" = [])))]
pub(super) async fn read_booking(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> Result<axum::Json<BookingView>, Problem> {
    let b = own_booking(&state, &user, &reference).await?;
    Ok(axum::Json(view(state.store().as_ref(), b).await?))
}

fn not_cancellable(b: &Booking) -> Problem {
    Problem::conflict(format!(
        "Only confirmed bookings can be cancelled; this one is {}.",
        b.status
    ))
    .with("reference", &b.reference)
    .with("status", b.status)
}

async fn refund_now(
    state: &BookingState,
    b: &Booking,
) -> Result<(i64, Option<DateTime<Utc>>), Problem> {
    let items = state.store().items(b.id).await?;
    // One clock for the quote and the refund: the rules are judged at this instant.
    let now = Utc::now();
    if let Some(started) = items.iter().filter_map(|i| i.starts_at).min()
        && started <= now
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "too-late",
            "This booking can no longer be cancelled: its first flight has left or its hotel stay has begun. Nothing was changed.",
        )
        .with("reference", &b.reference)
        .with("status", b.status)
        .with("started_at", rfc3339(started)));
    }
    Ok(domain::quote(
        items
            .iter()
            .map(|i| (i.total_amount, i.refundable, i.refund_until)),
        now,
    ))
}

/// What cancelling now would refund, and until when that holds.
#[utoipa::path(get, path = "/api/v1/bookings/{reference}/cancellation-quote", tag = "bookings",
    params(("reference" = String, Path)),
    responses(
        (status = 200, body = QuoteView, description = "What cancelling now would refund, in minor units, and `expires_at`, until when that holds; for a booking already CANCELLING or CANCELLED, its refund"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = Problem, description = "The caller has no booking with this reference; another traveller's answers the same (problem `not-found`)"),
        (status = 409, body = Problem, description = "The booking is not CONFIRMED (problem `conflict`, with `reference` and `status`), or its first flight has left or its hotel stay has begun (problem `too-late`, with `started_at`)")),
    security(("bearer" = [])))]
pub(super) async fn cancellation_quote(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> Result<axum::Json<QuoteView>, Problem> {
    let b = own_booking(&state, &user, &reference).await?;
    let (refund, expires_at) = match b.status {
        Status::Confirmed => refund_now(&state, &b).await?,
        Status::Cancelling | Status::Cancelled => (b.refund_amount.unwrap_or(0), None),
        _ => return Err(not_cancellable(&b)),
    };
    Ok(axum::Json(QuoteView {
        refund: Money::of(refund, b.currency),
        expires_at: expires_at.map(rfc3339),
    }))
}

/// Cancel a confirmed booking: refund by its rates' rules, give the inventory back.
/// Cancelling again answers the same and changes nothing.
#[utoipa::path(post, path = "/api/v1/bookings/{reference}/cancel", tag = "bookings",
    params(("reference" = String, Path)),
    responses(
        (status = 200, body = CancellationView, description = "The booking, CANCELLED: inventory given back and `refund` (minor units) paid; also the answer to a repeated cancel"),
        (status = 202, body = CancellationView, description = "The booking, CANCELLING: the refund (minor units) is under way; cancel again to see it finish"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = Problem, description = "The caller has no booking with this reference; another traveller's answers the same (problem `not-found`)"),
        (status = 409, body = Problem, description = "The booking is not CONFIRMED (problem `conflict`, with `reference` and `status`), or its first flight has left or its hotel stay has begun (problem `too-late`, with `started_at`); nothing refunded or released")),
    security(("bearer" = [])))]
pub(super) async fn cancel_booking(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> Result<Response, Problem> {
    let b = own_booking(&state, &user, &reference).await?;
    let after = match b.status {
        Status::Confirmed => {
            let (refund, _) = refund_now(&state, &b).await?;
            let saga = state.saga.clone();
            // On its own task, like checkout: a hang-up does not stop a refund half-way.
            tokio::spawn(async move { saga.cancel(&b, refund).await })
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "the cancellation task failed");
                    Problem::internal()
                })??
        }
        Status::Cancelling => state.saga.checkout(b).await?,
        Status::Cancelled => b,
        _ => return Err(not_cancellable(&b)),
    };
    let status = if after.status == Status::Cancelled {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let answer = CancellationView {
        refund: Money::of(after.refund_amount.unwrap_or(0), after.currency),
        reference: after.reference.to_string(),
        status: after.status,
    };
    Ok((status, axum::Json(answer)).into_response())
}

/// How often one booking's confirmation may be sent again.
const MAX_RESENDS: i32 = 5;

/// Send the confirmation e-mail again, to the booking's contact address (a new message
/// with the same itinerary and calendar file).
#[utoipa::path(post, path = "/api/v1/bookings/{reference}/resend-confirmation", tag = "bookings",
    params(("reference" = String, Path)),
    responses(
        (status = 202, description = "The e-mail is on its way (or was already)"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = Problem, description = "The caller has no booking with this reference (problem `not-found`)"),
        (status = 409, body = Problem, description = "The booking is not CONFIRMED (problem `conflict`, with `reference` and `status`)"),
        (status = 429, body = Problem, description = "The confirmation was sent again 5 times already (problem `rate-limited`, no `Retry-After`: the limit does not reset)")),
    security(("bearer" = [])))]
pub(super) async fn resend_confirmation(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> Result<StatusCode, Problem> {
    let b = own_booking(&state, &user, &reference).await?;
    if b.status != Status::Confirmed {
        return Err(Problem::conflict(format!(
            "Only a confirmed booking has a confirmation to send; this one is {}.",
            b.status
        ))
        .with("reference", &b.reference)
        .with("status", b.status));
    }
    let events = state.sql.booking_events_out(b.id).await?;
    let Some(confirmed) = events
        .iter()
        .rev()
        .find(|e| e.kind == crate::outbox::EventKind::Confirmed)
    else {
        // Confirmed before notifications were kept: nothing to send again.
        return Err(Problem::conflict(
            "This booking was confirmed before confirmations were e-mailed; there is none to send again.",
        ));
    };
    match state
        .sql
        .resend(
            confirmed.id,
            crate::outbox::EMAIL,
            crate::store::now_ms(),
            MAX_RESENDS,
        )
        .await?
    {
        Resend::Queued | Resend::Pending => Ok(StatusCode::ACCEPTED),
        Resend::TooMany => Err(Problem::limit_reached(format!(
            "This confirmation was sent again {MAX_RESENDS} times already; it is not sent again."
        ))),
        Resend::Missing => Err(Problem::conflict(
            "This booking's confirmation was never e-mailed; there is none to send again.",
        )),
    }
}

/// The booking as a calendar file (RFC 5545): every flight segment and hotel stay in
/// its place's time zone; the same UIDs on every download, so importing it again
/// updates the entries.
#[utoipa::path(get, path = "/api/v1/bookings/{reference}/calendar", tag = "bookings",
    params(("reference" = String, Path)),
    responses(
        (status = 200, content_type = "text/calendar", body = String, description = "`booking-<reference>.ics`: one VEVENT per segment and per stay, with VTIMEZONEs; a cancelled booking's entries are marked CANCELLED"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = Problem, description = "The caller has no booking with this reference (problem `not-found`)")),
    security(("bearer" = [])))]
pub(super) async fn calendar(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> Result<Response, Problem> {
    let b = own_booking(&state, &user, &reference).await?;
    let view = view(state.store().as_ref(), b).await?;
    let ics = crate::calendar::ics(&view, &state.uid_domain);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                crate::calendar::CONTENT_TYPE.to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"booking-{}.ics\"", view.reference),
            ),
        ],
        ics,
    )
        .into_response())
}
