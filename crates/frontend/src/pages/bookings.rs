//! The booking pages: the list, one booking, and its cancellation.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ota_platform::client::PeerError;
use serde::Deserialize;

use super::common::{
    CsrfForm, detail, layout, message, redirect, refusal, render, signed_in, well_formed_reference,
};
use super::errors::{forbidden, page_not_found, peer_failure};
use crate::Web;
use crate::clients::encode;
use crate::format;
use crate::session::Session;
use crate::views::{Action, BookingBanner, BookingPage, BookingView, BookingsPage, CancelPage};

/// The booking page's only parameter: the traveller arrives from the checkout form.
/// What the page says about the booking (confirmed, cancelled, refunded) comes from the
/// booking itself.
#[derive(Deserialize, Default)]
pub(super) struct BookingQuery {
    #[serde(default)]
    confirmed: Option<String>,
}

pub(super) async fn booking(
    State(web): State<Web>,
    mut session: Session,
    Path(reference): Path<String>,
    Query(q): Query<BookingQuery>,
) -> Response {
    if !well_formed_reference(&reference) {
        return page_not_found(&session);
    }
    let here = format!("/bookings/{reference}");
    let token = match signed_in(&session, &here) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let b = match web.api.booking(&token, &reference).await {
        Ok(b) => b,
        Err(PeerError::Status { status: 404, .. }) => return page_not_found(&session),
        Err(e) => return peer_failure(&mut session, &e, &here),
    };
    render_booking(&session, &b, q.confirmed.is_some(), false)
}

/// The booking page: everything it says comes from the booking as booking-service
/// answers it.
fn render_booking(
    session: &Session,
    b: &ota_contract::booking::BookingView,
    just_booked: bool,
    resent: bool,
) -> Response {
    let view = BookingView::of(b);
    let title = format!("Booking {}", view.reference);
    let banner = BookingBanner::of(&view, b.status, just_booked);
    render(
        session,
        StatusCode::OK,
        &BookingPage {
            layout: layout(session, &title, "bookings"),
            resent: resent && b.status == ota_contract::booking::BookingStatus::Confirmed,
            b: view,
            banner,
        },
    )
}

/// A form posted about one booking: its CSRF token, a well-formed reference and a
/// signed-in traveller; answers the booking page's path and the traveller's token, or
/// the page that refuses it.
fn booking_form(
    session: &Session,
    reference: &str,
    f: &CsrfForm,
) -> Result<(String, String), Response> {
    if !session.csrf_ok(&f.csrf) {
        return Err(forbidden(session));
    }
    if !well_formed_reference(reference) {
        return Err(page_not_found(session));
    }
    let here = format!("/bookings/{reference}");
    let token = signed_in(session, &here)?;
    Ok((here, token))
}

/// "Resend confirmation": booking-service sends the confirmation e-mail again.
pub(super) async fn resend_confirmation(
    State(web): State<Web>,
    mut session: Session,
    Path(reference): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let (here, token) = match booking_form(&session, &reference, &f) {
        Ok(checked) => checked,
        Err(r) => return r,
    };
    match web.api.resend_confirmation(&token, &reference).await {
        // The page answers the form itself: a notice in the address could be forged.
        Ok(()) => match web.api.booking(&token, &reference).await {
            Ok(b) => render_booking(&session, &b, false, true),
            Err(_) => redirect(&session, &here),
        },
        Err(e) => match refusal(&e) {
            Some((404, _)) => page_not_found(&session),
            Some((429, _)) => message(
                &session,
                StatusCode::TOO_MANY_REQUESTS,
                "The confirmation was sent several times already",
                "We have sent this confirmation again several times. Check your spam folder, or contact us.",
                vec![Action::new("Back to the booking", &here)],
            ),
            Some((_, body)) => message(
                &session,
                StatusCode::CONFLICT,
                "There is no confirmation to send",
                &detail(body),
                vec![Action::new("Back to the booking", &here)],
            ),
            None => peer_failure(&mut session, &e, &here),
        },
    }
}

/// The booking's calendar file, to download.
pub(super) async fn calendar(
    State(web): State<Web>,
    mut session: Session,
    Path(reference): Path<String>,
) -> Response {
    if !well_formed_reference(&reference) {
        return page_not_found(&session);
    }
    let here = format!("/bookings/{reference}");
    let token = match signed_in(&session, &here) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match web.api.calendar(&token, &reference).await {
        Ok(ics) => axum::response::IntoResponse::into_response((
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/calendar; charset=utf-8".to_owned(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"booking-{reference}.ics\""),
                ),
            ],
            ics,
        )),
        Err(PeerError::Status { status: 404, .. }) => page_not_found(&session),
        Err(e) => peer_failure(&mut session, &e, &here),
    }
}

pub(super) async fn cancel_quote(
    State(web): State<Web>,
    mut session: Session,
    Path(reference): Path<String>,
) -> Response {
    if !well_formed_reference(&reference) {
        return page_not_found(&session);
    }
    let here = format!("/bookings/{reference}/cancel");
    let token = match signed_in(&session, &here) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let b = match web.api.booking(&token, &reference).await {
        Ok(b) => b,
        Err(PeerError::Status { status: 404, .. }) => return page_not_found(&session),
        Err(e) => return peer_failure(&mut session, &e, &here),
    };
    let quote = match web.api.cancellation_quote(&token, &reference).await {
        Ok(q) => q,
        Err(e) => {
            return match refusal(&e) {
                Some((404, _)) => page_not_found(&session),
                Some((_, body)) => message(
                    &session,
                    StatusCode::CONFLICT,
                    "This booking cannot be cancelled",
                    &detail(body),
                    vec![Action::new(
                        "Back to the booking",
                        &format!("/bookings/{reference}"),
                    )],
                ),
                None => peer_failure(&mut session, &e, &here),
            };
        }
    };
    let view = BookingView::of(&b);
    let title = format!("Cancel booking {}", view.reference);
    render(
        &session,
        StatusCode::OK,
        &CancelPage {
            layout: layout(&session, &title, "bookings"),
            b: view,
            refund: format::money(&quote.refund),
            refund_nothing: quote.refund.amount == 0,
            quote_expires: quote
                .expires_at
                .as_deref()
                .map(format::until)
                .filter(|s| !s.is_empty())
                .map(|s| format!("until {s}"))
                .unwrap_or_default(),
        },
    )
}

pub(super) async fn cancel(
    State(web): State<Web>,
    mut session: Session,
    Path(reference): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let (here, token) = match booking_form(&session, &reference, &f) {
        Ok(checked) => checked,
        Err(r) => return r,
    };
    match web.api.cancel(&token, &reference).await {
        // The booking page reads the cancellation and its refund from the booking.
        Ok(c) => redirect(&session, &format!("/bookings/{}", encode(&c.reference))),
        Err(e) => match refusal(&e) {
            Some((404, _)) => page_not_found(&session),
            Some((_, body)) => message(
                &session,
                StatusCode::CONFLICT,
                "This booking cannot be cancelled",
                &detail(body),
                vec![Action::new("Back to the booking", &here)],
            ),
            None => peer_failure(&mut session, &e, &here),
        },
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    cursor: Option<String>,
}

pub(super) async fn bookings(
    State(web): State<Web>,
    mut session: Session,
    Query(q): Query<ListQuery>,
) -> Response {
    let token = match signed_in(&session, "/bookings") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let cursor = q.cursor.filter(|c| !c.is_empty() && c.len() <= 512);
    let list = match web.api.bookings(&token, cursor.as_deref()).await {
        Ok(l) => l,
        Err(e) => return peer_failure(&mut session, &e, "/bookings"),
    };
    render(
        &session,
        StatusCode::OK,
        &BookingsPage {
            layout: layout(&session, "My bookings", "bookings"),
            rows: list.bookings.iter().map(BookingView::of).collect(),
            next_url: list
                .next_cursor
                .map(|c| format!("/bookings?cursor={}", encode(&c))),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::Layout;
    use askama::Template;
    use ota_contract::booking::{BookingStatus, BookingView as Booking, ContactView};
    use ota_platform::money::Money;

    fn booking(status: BookingStatus, refund: Option<Money>) -> Booking {
        Booking {
            reference: "ABC234".into(),
            status,
            total: Money::new(45_000, "USD"),
            items: Vec::new(),
            payment: None,
            travellers: Vec::new(),
            contact: ContactView {
                email: "ada@example.com".into(),
            },
            created_at: String::new(),
            updated_at: String::new(),
            failure_reason: None,
            refund,
        }
    }

    fn booking_html(b: &Booking, just_booked: bool) -> String {
        let view = BookingView::of(b);
        let banner = BookingBanner::of(&view, b.status, just_booked);
        BookingPage {
            layout: Layout {
                title: "Booking".into(),
                user: Some("Ada".into()),
                csrf: "c".into(),
                section: "bookings",
            },
            b: view,
            banner,
            resent: false,
        }
        .render()
        .expect("renders")
    }

    #[test]
    fn the_booking_page_tells_the_bookings_own_state() {
        let confirmed = booking_html(&booking(BookingStatus::Confirmed, None), false);
        assert!(!confirmed.contains("cancelled"), "{confirmed}");
        assert!(!confirmed.contains("Refund"), "{confirmed}");
        let cancelled = booking_html(
            &booking(BookingStatus::Cancelled, Some(Money::new(1_234, "USD"))),
            false,
        );
        assert!(cancelled.contains("Your booking is cancelled. Refund: <strong>$12.34</strong>"));
        // Cancelled without a refund stated: no amount is made up.
        let no_refund = booking_html(&booking(BookingStatus::Cancelled, None), false);
        assert!(no_refund.contains("Your booking is cancelled."));
        assert!(!no_refund.contains("Refund"));
        // "Confirmed" only when it is.
        let pending = booking_html(&booking(BookingStatus::Held, None), true);
        assert!(!pending.contains("Booking confirmed"));
        assert!(pending.contains("still completing this booking"));
        assert!(
            booking_html(&booking(BookingStatus::Confirmed, None), true)
                .contains("Booking confirmed")
        );
        assert!(
            booking_html(&booking(BookingStatus::Failed, None), true)
                .contains("did not go through")
        );
    }
}
