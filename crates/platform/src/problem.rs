//! RFC 9457 problem details: the one error shape every service answers with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every problem type this API answers: slug (after
/// `https://ota-travel.example.com/problems/`), HTTP status, meaning. Clients branch on
/// the slug, never on the message.
pub const PROBLEM_TYPES: &[(&str, u16, &str)] = &[
    (
        "bad-parameter",
        400,
        "a query or path parameter or header is invalid; `errors` names it",
    ),
    ("malformed-json", 400, "the body is not JSON"),
    ("bad-body", 400, "the body could not be read"),
    ("unauthorized", 401, "no, a bad or an expired token"),
    (
        "payment-declined",
        402,
        "the card issuer refused (`decline_code`); a checkout's `reference` and `status: FAILED`",
    ),
    ("forbidden", 403, "authenticated, not allowed"),
    (
        "not-found",
        404,
        "nothing of the caller's by that id or reference",
    ),
    (
        "conflict",
        409,
        "the resource is in another state (a booking not CONFIRMED; the same Idempotency-Key still running)",
    ),
    ("sold-out", 409, "not enough seats or rooms are left"),
    (
        "cart-taken",
        409,
        "another checkout holds this cart: `reference` and `status` of its booking",
    ),
    (
        "already-in-cart",
        409,
        "the offer is in the cart already (`item_id`)",
    ),
    (
        "too-late",
        409,
        "after the first departure or hotel check-in: nothing cancelled or refunded",
    ),
    (
        "checkout-failed",
        409,
        "the booking failed for another reason; nothing charged",
    ),
    (
        "offer-expired",
        410,
        "the offer's price guarantee ended, its flight left or its check-in passed",
    ),
    ("too-large", 413, "the body is larger than allowed"),
    (
        "unsupported-media-type",
        415,
        "the body is not application/json",
    ),
    ("validation", 422, "fields are invalid; `errors` names each"),
    (
        "throttled",
        429,
        "too many attempts or checkouts under way; `Retry-After`",
    ),
    (
        "internal",
        500,
        "a fault of ours, logged; never for bad input",
    ),
    (
        "unavailable",
        503,
        "a dependency (database, cache, a peer) failed; `Retry-After`; a checkout's `reference` and `status`",
    ),
    (
        "in-progress",
        503,
        "payment-service: the same idempotency key is still running; `Retry-After`",
    ),
    (
        "payment-unavailable",
        503,
        "payment-service failed and nothing was authorised: the booking (`reference`) is FAILED, nothing charged; check out again",
    ),
    (
        "timeout",
        503,
        "the request ran past OTA_REQUEST_TIMEOUT; `Retry-After`; a checkout's `reference` and `status`",
    ),
];

/// The problem types as a Markdown table, for the OpenAPI document's description.
pub fn problem_types_markdown() -> String {
    let mut out = String::from(
        "Errors are RFC 9457 `application/problem+json`; `type` is `https://ota-travel.example.com/problems/<slug>`.\n\n| slug | status | meaning |\n|---|---|---|\n",
    );
    for (slug, status, meaning) in PROBLEM_TYPES {
        out.push_str(&format!("| `{slug}` | {status} | {meaning} |\n"));
    }
    out
}

/// One invalid input: which field and what is wrong with it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An error answer. Handlers return `Result<_, Problem>`; the detail is written for the
/// client and never carries internals (those go to the log where the problem is made).
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    /// The HTTP status code. Problems about a booking (API.md) carry the booking's status
    /// (`"FAILED"`, `"HELD"`, …) in this member instead; the HTTP code is the response's.
    #[schema(value_type = Object)]
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extra members, such as a booking `reference`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
    #[serde(skip)]
    pub www_authenticate: Option<&'static str>,
}

/// Written by hand so each member appears once: an extension named like a standard
/// member (a booking's `status`) takes its place rather than repeating the key.
impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        let standard: [(&str, serde_json::Value); 4] = [
            ("type", self.type_uri.clone().into()),
            ("title", self.title.clone().into()),
            ("status", self.status.into()),
            ("detail", self.detail.clone().into()),
        ];
        for (key, value) in &standard {
            if !self.extensions.contains_key(*key) {
                m.serialize_entry(key, value)?;
            }
        }
        if !self.errors.is_empty() && !self.extensions.contains_key("errors") {
            m.serialize_entry("errors", &self.errors)?;
        }
        for (key, value) in &self.extensions {
            m.serialize_entry(key, value)?;
        }
        m.end()
    }
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("https://ota-travel.example.com/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// 422 naming the fields at fault.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => "The request has invalid fields.".to_owned(),
        };
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail);
        p.errors = errors;
        p
    }

    /// 422 for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// 400 for one query or path parameter.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        let mut p = Self::field(field, message);
        p.status = 400;
        p.title = "Bad Request".to_owned();
        p.type_uri = "https://ota-travel.example.com/problems/bad-parameter".to_owned();
        p
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
        p.www_authenticate = Some("Bearer error=\"invalid_token\"");
        p
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "Too many attempts; try again later.",
        );
        p.retry_after = Some(retry_after_secs.max(1));
        p
    }

    /// 503: a dependency is down. Clients may retry after a short while.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
        p.retry_after = Some(2);
        p
    }

    /// 503: the request ran past `OTA_REQUEST_TIMEOUT` and was abandoned. Not a fault
    /// of the request: the same request may well succeed when tried again.
    pub fn timeout() -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "The request took too long; try again.",
        );
        p.retry_after = Some(2);
        p
    }

    /// 500 without any internal detail; log the cause where this is made.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side; it has been logged.",
        )
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        if let Ok(v) = serde_json::to_value(value) {
            self.extensions.insert(key.to_owned(), v);
        }
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        res
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Problem::not_found("No such resource."),
            StoreError::Conflict(what) => {
                Problem::conflict(format!("That conflicts with an existing {what}."))
            }
            StoreError::Unavailable(source) => {
                tracing::error!(error = %format_chain(&*source), "database unavailable");
                Problem::unavailable("The database is unavailable; please retry shortly.")
            }
            StoreError::Other(source) => {
                tracing::error!(error = %format_chain(&*source), "database error");
                Problem::internal()
            }
        }
    }
}

impl From<crate::cache::CacheError> for Problem {
    fn from(e: crate::cache::CacheError) -> Self {
        tracing::error!(error = %e, "cache unavailable");
        Problem::unavailable("The cache is unavailable; please retry shortly.")
    }
}

/// `error: cause: cause` for logs.
pub fn format_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_appears_once_even_when_an_extension_shares_its_name() {
        let p = Problem::new(StatusCode::CONFLICT, "cart-taken", "Taken.")
            .with("reference", "ABC234")
            .with("status", "HELD");
        let text = serde_json::to_string(&p).expect("json");
        assert_eq!(text.matches("\"status\"").count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["status"], "HELD");
        assert_eq!(
            v["type"],
            "https://ota-travel.example.com/problems/cart-taken"
        );
        let plain = serde_json::to_value(Problem::not_found("No.")).expect("json");
        assert_eq!(plain["status"], 404);
        assert!(plain.get("errors").is_none());
        let invalid = serde_json::to_value(Problem::field("x", "bad")).expect("json");
        assert_eq!(invalid["errors"][0]["field"], "x");
    }
}
