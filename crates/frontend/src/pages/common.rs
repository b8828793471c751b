//! What the pages share: rendering and redirecting with the session's cookies, reading
//! a peer's problem answer, checking what the browser sent, and query strings.

use askama::Template;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use ota_platform::client::PeerError;
use ota_platform::problem::ProblemType;
use serde::Deserialize;
use serde_json::Value;

use crate::clients::encode;
use crate::session::Session;
use crate::views::{Action, FieldError, Layout, MessagePage};

pub(super) fn layout(session: &Session, title: &str, section: &'static str) -> Layout {
    Layout {
        title: title.to_owned(),
        user: session.user.as_ref().map(|u| {
            if u.name.is_empty() {
                u.email.clone()
            } else {
                u.name.clone()
            }
        }),
        csrf: session.csrf.clone(),
        section,
    }
}

fn with_cookies(session: &Session, mut res: Response) -> Response {
    for c in &session.set_cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

pub(super) fn render<T: Template>(session: &Session, status: StatusCode, page: &T) -> Response {
    let res = match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!doctype html><title>Error · OTA Travel</title><h1>Something went wrong</h1><p><a href=\"/\">Start again</a></p>",
            )
                .into_response()
        }
    };
    with_cookies(session, res)
}

/// 303: after a POST the browser GETs the next page, so a reload never posts twice.
pub(super) fn redirect(session: &Session, to: &str) -> Response {
    let res = match HeaderValue::from_str(to) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static("/"))],
        )
            .into_response(),
    };
    with_cookies(session, res)
}

pub(super) fn message(
    session: &Session,
    status: StatusCode,
    heading: &str,
    text: &str,
    actions: Vec<Action>,
) -> Response {
    let tone = if status.is_success() { "info" } else { "error" };
    render(
        session,
        status,
        &MessagePage {
            layout: layout(session, heading, ""),
            tone,
            heading: heading.to_owned(),
            message: text.to_owned(),
            actions,
        },
    )
}

/// The body of a peer's problem answer, when it refused with one.
pub(super) fn refusal(e: &PeerError) -> Option<(u16, &Value)> {
    match e {
        PeerError::Status { status, body, .. } if *status != 401 && *status != 503 => {
            Some((*status, body))
        }
        _ => None,
    }
}

/// The kind of a peer's problem answer, as the contract lists them; `None` when the
/// answer names no kind we know.
pub(super) fn problem_type(body: &Value) -> Option<ProblemType> {
    body.get("type")
        .and_then(Value::as_str)
        .and_then(ProblemType::from_uri)
}

pub(super) fn detail(body: &Value) -> String {
    body.get("detail")
        .and_then(Value::as_str)
        .unwrap_or("The request was refused.")
        .to_owned()
}

/// A problem's field errors as sentences, each field named as the form names it.
pub(super) fn field_errors(body: &Value, label: impl Fn(&str) -> &'static str) -> Vec<String> {
    let listed: Vec<String> = body
        .get("errors")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|e| {
                    let field = e.get("field")?.as_str()?;
                    let text = e.get("message")?.as_str()?;
                    let name = label(field);
                    Some(if name.is_empty() {
                        capitalise(text)
                    } else {
                        format!("{name} {text}.")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if listed.is_empty() {
        vec![detail(body)]
    } else {
        listed
    }
}

/// A problem's field errors placed at the form's inputs: `input` names the input an API
/// field is shown at (None: in the summary only). Sentences as `field_errors` makes them.
pub(super) fn field_errors_at(
    body: &Value,
    label: impl Fn(&str) -> &'static str,
    input: impl Fn(&str) -> Option<String>,
) -> Vec<FieldError> {
    body.get("errors")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|e| {
                    let field = e.get("field")?.as_str()?;
                    let text = e.get("message")?.as_str()?;
                    let at = input(field)?;
                    let name = label(field);
                    Some(FieldError::new(
                        &at,
                        &if name.is_empty() {
                            capitalise(text)
                        } else {
                            format!("{name} {text}.")
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Where to send the browser back to: a path on this site, never another site.
pub(super) fn local_path(s: &str, fallback: &str) -> String {
    let ok = s.starts_with('/')
        && !s.starts_with("//")
        && !s.contains('\\')
        && s.len() <= 2000
        && s.bytes().all(|b| (0x21..0x7f).contains(&b));
    if ok {
        s.to_owned()
    } else {
        fallback.to_owned()
    }
}

/// Offer ids are `kid.payload.mac` in URL-safe base64; anything else is not an offer.
pub(super) fn well_formed_offer(id: &str) -> bool {
    id.len() <= 2048
        && id.split('.').count() == 3
        && id.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

pub(super) fn well_formed_reference(r: &str) -> bool {
    (4..=16).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The signed-in user's access token, or a redirect to log in and come back.
pub(super) fn signed_in(session: &Session, next: &str) -> Result<String, Response> {
    match &session.user {
        Some(u) => Ok(u.access_token.clone()),
        None => Err(redirect(session, &format!("/login?next={}", encode(next)))),
    }
}

pub(super) type Params = Query<Vec<(String, String)>>;

/// The last value of a parameter, trimmed.
pub(super) fn one(p: &[(String, String)], name: &str) -> String {
    p.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// Every non-empty value of a repeated parameter (checkboxes).
pub(super) fn all(p: &[(String, String)], name: &str) -> Vec<String> {
    p.iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

pub(super) fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(super) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub(super) fn search_back(back: &str) -> String {
    let b = local_path(back, "/");
    if b.starts_with("/flights?") || b.starts_with("/hotels?") {
        b
    } else {
        "/".to_owned()
    }
}

#[derive(Deserialize, Default)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/cart", "/"), "/cart");
        assert_eq!(local_path("//evil.example", "/"), "/");
        assert_eq!(local_path("https://evil.example", "/"), "/");
        assert_eq!(local_path("/\\evil", "/"), "/");
        assert_eq!(local_path("/a b", "/"), "/");
        assert_eq!(search_back("/flights?origin=JFK"), "/flights?origin=JFK");
        assert_eq!(search_back("/bookings"), "/");
    }

    #[test]
    fn offer_ids_and_references_are_checked_before_use() {
        assert!(well_formed_offer("k1.cGF5bG9hZA.bWFj"));
        assert!(!well_formed_offer("k1.cGF5/../x.bWFj"));
        assert!(!well_formed_offer("k1..m"));
        assert!(well_formed_reference("ABC234"));
        assert!(!well_formed_reference("AB/../x"));
    }
}
