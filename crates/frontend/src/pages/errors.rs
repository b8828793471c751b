//! The pages for what went wrong: unknown pages, expired forms and offers, sold-out
//! items, refusals and failures of peers, and form addresses opened as pages.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ota_platform::Problem;
use ota_platform::client::PeerError;

use super::common::{message, redirect};
use crate::clients::encode;
use crate::session::Session;
use crate::views::Action;

pub(super) fn forbidden(session: &Session) -> Response {
    message(
        session,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "For your security we could not accept this form: it was opened in another session or has expired. Go back, reload the page and try again.",
        vec![Action::new("Back to the home page", "/")],
    )
}

pub(super) fn page_not_found(session: &Session) -> Response {
    message(
        session,
        StatusCode::NOT_FOUND,
        "Page not found",
        "We could not find that page. It may have moved, or the link may be mistyped.",
        vec![
            Action::new("Search flights and hotels", "/"),
            Action::new("My bookings", "/bookings"),
        ],
    )
}

pub(super) async fn to_cart(session: Session) -> Response {
    redirect(&session, "/cart")
}

pub(super) async fn to_home(session: Session) -> Response {
    redirect(&session, "/")
}

pub(super) async fn not_found(session: Session, uri: Uri) -> Response {
    let path = uri.path();
    if ["/api/", "/internal/", "/actuator"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        return Problem::not_found("No such resource.").into_response();
    }
    page_not_found(&session)
}

/// A refusal or failure of a peer, as a page. 401 means the session is no longer valid:
/// the browser is signed out and sent to log in again.
pub(super) fn peer_failure(session: &mut Session, e: &PeerError, next: &str) -> Response {
    match e {
        PeerError::Status { status: 401, .. } => {
            session.sign_out();
            redirect(
                session,
                &format!("/login?next={}&reason=expired", encode(next)),
            )
        }
        PeerError::Unavailable { .. } | PeerError::Status { status: 503, .. } => {
            tracing::warn!(error = %e, "a peer service is unavailable");
            let mut res = message(
                session,
                StatusCode::SERVICE_UNAVAILABLE,
                "We are having a short break",
                "Part of OTA Travel is not answering right now. Nothing has been charged. Please try again in a minute.",
                vec![Action::new("Try again", next), Action::new("Home", "/")],
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            res
        }
        PeerError::Status { status: 429, .. } => message(
            session,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Please wait a few minutes before trying again.",
            vec![Action::new("Home", "/")],
        ),
        other => {
            tracing::error!(error = %other, "a peer service answered unexpectedly");
            message(
                session,
                StatusCode::BAD_GATEWAY,
                "Something went wrong",
                "We could not complete that just now. It has been logged; please try again.",
                vec![Action::new("Try again", next), Action::new("Home", "/")],
            )
        }
    }
}

pub(super) fn expired_offer(session: &Session, back: &str) -> Response {
    message(
        session,
        StatusCode::GONE,
        "This offer has expired",
        "Prices are guaranteed for 20 minutes. Search again to see current prices and availability.",
        vec![
            Action::new("Search again", back),
            Action::new("New search", "/"),
        ],
    )
}

pub(super) fn sold_out(session: &Session, back: &str) -> Response {
    message(
        session,
        StatusCode::CONFLICT,
        "Sold out",
        "Sorry, there are no longer enough seats or rooms at this price. Search again for other options.",
        vec![
            Action::new("Search again", back),
            Action::new("New search", "/"),
        ],
    )
}
