//! RFC 9457 problem details: the one error shape every service answers with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

pub use ota_contract::ProblemType;

/// The problem types as a Markdown table, for the OpenAPI document's description.
pub fn problem_types_markdown() -> String {
    format!(
        "Errors are RFC 9457 `application/problem+json`; `type` is `{}<slug>`; clients branch on the slug, never on the message.\n\n{}",
        ota_contract::problem::BASE,
        ProblemType::table()
    )
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
    /// A problem of a kind, with the kind's usual status.
    pub fn of(kind: ProblemType, detail: impl Into<String>) -> Self {
        let status =
            StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, kind.slug(), detail)
    }

    /// A problem of the kind `slug` answered with `status` (an API may answer a kind
    /// with its own status). The slug must be one of [`ProblemType`]'s: tests (debug
    /// builds) stop at one that is not, so the published table stays whole.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        let type_uri = format!("{}{slug}", ota_contract::problem::BASE);
        debug_assert!(
            ProblemType::from_uri(&type_uri).is_some(),
            "problem type {slug} is not in the contract's table"
        );
        Self {
            type_uri,
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// The kind this problem's `type` names.
    pub fn kind(&self) -> Option<ProblemType> {
        ProblemType::from_uri(&self.type_uri)
    }

    /// 422 `idempotency-mismatch`: `field` (the key's header or member) was used before
    /// with another request.
    pub fn idempotency_mismatch(field: &str) -> Self {
        let mut p = Self::of(
            ProblemType::IdempotencyMismatch,
            format!(
                "{field}: was already used for a different request; use a new key for a new request"
            ),
        );
        p.errors = vec![FieldError {
            field: field.to_owned(),
            message: "was already used for a different request: use a new key for a new request"
                .to_owned(),
        }];
        p
    }

    /// 422 naming the fields at fault.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => "The request has invalid fields.".to_owned(),
        };
        let mut p = Self::of(ProblemType::Validation, detail);
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
        p.type_uri = ProblemType::BadParameter.uri();
        p
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::of(ProblemType::NotFound, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::of(ProblemType::Conflict, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Self::of(ProblemType::Unauthorized, detail);
        p.www_authenticate = Some("Bearer error=\"invalid_token\"");
        p
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::of(ProblemType::Forbidden, detail)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut p = Self::of(
            ProblemType::RateLimited,
            "Too many attempts; try again later.",
        );
        p.retry_after = Some(retry_after_secs.max(1));
        p
    }

    /// 429 for a limit that does not reset with time (so no `Retry-After`): `detail`
    /// says what the limit is.
    pub fn limit_reached(detail: impl Into<String>) -> Self {
        let mut p = Self::of(ProblemType::RateLimited, detail);
        p.retry_after = None;
        p
    }

    /// 503: a dependency is down. Clients may retry after a short while.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::of(ProblemType::Unavailable, detail);
        p.retry_after = Some(2);
        p
    }

    /// 503: the request ran past `OTA_REQUEST_TIMEOUT` and was abandoned. Not a fault
    /// of the request: the same request may well succeed when tried again.
    pub fn timeout() -> Self {
        let mut p = Self::of(
            ProblemType::Timeout,
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
