//! HTTP hygiene every service shares: the JSON extractor whose rejections are our
//! problem+json, trace context, request logs and metrics, limits and security headers.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;

use crate::problem::{FieldError, PROBLEM_JSON, Problem};
use crate::telemetry::{CURRENT_TRACE, TraceContext};
use crate::tokens::Verifier;

/// A JSON request body. Wrong content type → 415, malformed JSON → 400, a field of the
/// wrong shape → 422 naming the field, too large → 413; all as problem+json.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json")
                    || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Send the body as application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(status, "too-large", "The request body is too large.")
            } else {
                Problem::new(status, "bad-body", rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Deserialises a body, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                format!("The body is not valid JSON: {inner}."),
            );
        }
        // serde names a missing field in its message, not in the path.
        let message = inner.to_string();
        let field = missing_field(&message)
            .map(|f| {
                if path == "." {
                    f.to_owned()
                } else {
                    format!("{path}.{f}")
                }
            })
            .unwrap_or_else(|| if path == "." { "body".to_owned() } else { path });
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned();
        Problem::invalid(vec![FieldError { field, message }])
    })
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

// ---------------------------------------------------------------------------------------
// Middleware

/// Which service answered: set by the per-service layer, read by the outer logging.
#[derive(Clone, Copy, Debug)]
struct AnsweredBy(&'static str);

/// Accepts or starts a W3C trace and runs the request inside it.
async fn trace_context(mut req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse);
    let trace = incoming.map_or_else(TraceContext::new_root, |t| t.child());
    req.extensions_mut().insert(trace.clone());
    let span = tracing::info_span!("request", trace_id = %trace.trace_id);
    CURRENT_TRACE
        .scope(trace, next.run(req).instrument(span))
        .await
}

/// Logs one line per request and records `http_server_requests_seconds`.
async fn observe(
    State(default_service): State<&'static str>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let res = next.run(req).await;
    let service = res
        .extensions()
        .get::<AnsweredBy>()
        .map_or(default_service, |a| a.0);
    let status = res.status().as_u16();
    let latency = start.elapsed();
    metrics::histogram!(
        "http_server_requests_seconds",
        "service" => service,
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.to_string(),
    )
    .record(latency.as_secs_f64());
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(
            service,
            method,
            route,
            status,
            latency_ms,
            request_id,
            "request failed"
        );
    } else {
        tracing::info!(
            service, method, route, status, latency_ms, request_id, "request"
        );
    }
    res
}

/// Marks responses with the service whose router produced them.
async fn answered_by(State(service): State<&'static str>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.extensions_mut().insert(AnsweredBy(service));
    res
}

/// Gives every error answer our problem+json shape, whoever produced it (axum's 405,
/// the body limit's 413, the timeout, a caught panic).
async fn problem_everywhere(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return res;
    }
    // The web site's error pages (its styled 404, 403, 402, 503) are HTML on purpose, and
    // the supplier API answers OpenTravel `Errors` in XML, as channel managers expect.
    let is_page = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"text/html") || v.as_bytes().starts_with(b"application/xml")
    });
    if is_page {
        return res;
    }
    let (parts, _) = res.into_parts();
    let (slug, detail) = match status {
        StatusCode::NOT_FOUND => ("not-found", "No such resource."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "That method is not allowed on this resource.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "The request body is too large."),
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => {
            ("timeout", "The request took too long; try again.")
        }
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "The service is unavailable; please retry shortly.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "Send the body as application/json.",
        ),
        s if s.is_server_error() => (
            "internal",
            "Something went wrong on our side; it has been logged.",
        ),
        _ => ("error", "The request could not be served."),
    };
    let mut fresh = Problem::new(status, slug, detail).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            fresh.headers_mut().insert(name, v.clone());
        }
    }
    *fresh.extensions_mut() = parts.extensions;
    fresh
}

// ---------------------------------------------------------------------------------------
// The request deadline

tokio::task_local! {
    static REQUEST_DEADLINE: tokio::time::Instant;
}

/// How long before the request's deadline [`before_deadline`] gives up, so that the
/// handler's own answer goes out before the generic timeout problem.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(500);

/// The work did not finish before the request's deadline (less [`ANSWER_MARGIN`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request's deadline came first")]
pub struct DeadlinePassed;

/// When the request being served must be answered by (`OTA_REQUEST_TIMEOUT` after it
/// arrived); `None` outside a request.
pub fn request_deadline() -> Option<tokio::time::Instant> {
    REQUEST_DEADLINE.try_with(|d| *d).ok()
}

/// Races `work` against the request's deadline less [`ANSWER_MARGIN`], so a handler can
/// answer with what it knows (say [`Problem::timeout`] with a booking `reference` and
/// `status`) instead of the generic timeout problem. When the deadline comes first,
/// `work` is dropped: spawn work that must go on and race its `JoinHandle`. Outside a
/// request this just awaits `work`.
pub async fn before_deadline<F: Future>(work: F) -> Result<F::Output, DeadlinePassed> {
    match request_deadline() {
        None => Ok(work.await),
        Some(deadline) => {
            let give_up = deadline
                .checked_sub(ANSWER_MARGIN)
                .unwrap_or(deadline)
                .max(tokio::time::Instant::now());
            tokio::time::timeout_at(give_up, work)
                .await
                .map_err(|_| DeadlinePassed)
        }
    }
}

/// Abandons a request at `OTA_REQUEST_TIMEOUT` with the timeout problem (503, "try
/// again", `Retry-After`), and lets handlers see the deadline ([`before_deadline`]).
async fn request_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let deadline = tokio::time::Instant::now() + limit;
    let work = REQUEST_DEADLINE.scope(deadline, next.run(req));
    match tokio::time::timeout_at(deadline, work).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(
                timeout_ms = limit.as_millis() as u64,
                "request abandoned at its deadline"
            );
            Problem::timeout().into_response()
        }
    }
}

/// Bounds every statement a request runs (`on_pool!`, `in_write_tx!`) client-side.
async fn bound_statements(State(bound): State<Duration>, req: Request, next: Next) -> Response {
    crate::db::bounded(bound, next.run(req)).await
}

/// Bounds, client-side, each database statement the requests of `router` run: a frozen
/// connection then fails the request with 503 `unavailable` at `bound` instead of
/// holding it until the request deadline.
pub fn with_statement_bound(router: Router, bound: Duration) -> Router {
    router.layer(middleware::from_fn_with_state(bound, bound_statements))
}

/// Tunables of the HTTP stack.
#[derive(clap::Args, Clone, Debug)]
pub struct HttpSettings {
    /// Longest a request may take before it is abandoned with 503 (problem type
    /// `timeout`, with Retry-After).
    #[arg(long = "request-timeout", env = "OTA_REQUEST_TIMEOUT", default_value = "15s", value_parser = crate::config::positive_duration)]
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes.
    #[arg(long = "max-body-bytes", env = "OTA_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Largest content import accepted (`/internal/v1/catalog/...`: a whole airline
    /// schedule), in bytes.
    #[arg(long = "max-import-body-bytes", env = "OTA_MAX_IMPORT_BODY_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub max_import_body_bytes: usize,
    /// Largest supplier message accepted (`/supplier/...`: OpenTravel ARI messages of a
    /// channel manager), in bytes.
    #[arg(long = "max-supplier-body-bytes", env = "OTA_MAX_SUPPLIER_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_supplier_body_bytes: usize,
    /// How long in-flight requests may drain after SIGTERM before the process exits.
    #[arg(long = "drain-timeout", env = "OTA_DRAIN_TIMEOUT", default_value = "20s", value_parser = crate::config::parse_duration)]
    pub drain_timeout: Duration,
    /// Proxies in front of us (the load balancer): 1 trusts the last X-Forwarded-For
    /// entry as the client address; 0 uses the TCP peer.
    #[arg(
        long = "trusted-proxies",
        env = "OTA_TRUSTED_PROXIES",
        default_value_t = 0
    )]
    pub trusted_proxies: usize,
}

/// Wraps one service's router so its answers are labelled with its name.
pub fn service_router(service: &'static str, router: Router) -> Router {
    router.layer(middleware::from_fn_with_state(service, answered_by))
}

/// The public (port 8080) stack around the merged routers of the services served.
pub fn api_stack(
    routes: Router,
    process_name: &'static str,
    settings: &HttpSettings,
    verifier: Verifier,
    trusted_proxies: usize,
) -> Router {
    let headers = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("cache-control", "no-store"),
    ];
    // The deadline sits inside `observe`, so an abandoned request is logged and counted
    // under its route like any other answer.
    let router = routes
        .fallback(|| async { Problem::not_found("No such resource.") })
        .layer(middleware::from_fn_with_state(
            settings.request_timeout,
            request_timeout,
        ))
        .layer(middleware::from_fn_with_state(process_name, observe));
    let x_request_id = HeaderName::from_static("x-request-id");
    let mut router = router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(
                x_request_id.clone(),
                MakeRequestUuid,
            ))
            .layer(PropagateRequestIdLayer::new(x_request_id))
            .layer(middleware::from_fn(problem_everywhere))
            .layer(CatchPanicLayer::new())
            .layer(middleware::from_fn(trace_context))
            .layer(axum::Extension(verifier))
            .layer(axum::Extension(ClientAddressPolicy(trusted_proxies)))
            // The limits below are the only ones: axum's own 2 MiB default would cap
            // content imports.
            .layer(axum::extract::DefaultBodyLimit::disable())
            .layer(middleware::from_fn_with_state(
                BodyLimits {
                    default: settings.max_body_bytes,
                    imports: settings.max_import_body_bytes,
                    supplier: settings.max_supplier_body_bytes,
                },
                limit_body,
            )),
    );
    // Outermost, so every answer carries them, errors included.
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router
}

/// How many proxies' X-Forwarded-For entries to trust.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddressPolicy(pub usize);

/// The client's address, as far as we can trust it.
#[derive(Clone, Debug)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let trusted = parts
            .extensions
            .get::<ClientAddressPolicy>()
            .map_or(0, |p| p.0);
        if trusted > 0 {
            let forwarded: Vec<String> = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            // Each trusted proxy appended one entry: the one before them is the client.
            if forwarded.len() >= trusted {
                return Ok(ClientAddress(forwarded[forwarded.len() - trusted].clone()));
            }
        }
        Ok(ClientAddress(peer.unwrap_or_else(|| "unknown".to_owned())))
    }
}

/// Body for tests and health answers.
pub fn json_response<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Register {
        email: String,
        password: String,
        address: Address,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Address {
        city: String,
    }

    #[test]
    fn missing_fields_are_named() {
        let p = parse_json::<Register>(br#"{"email":"a@b.c"}"#).expect_err("invalid");
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "password");
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let p = parse_json::<Register>(br#"{"email":"a","password":"b","address":{"city":3}}"#)
            .expect_err("invalid");
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "address.city");
        let p = parse_json::<Register>(br#"{"email":"a","password":"b","address":{}}"#)
            .expect_err("invalid");
        assert_eq!(p.errors[0].field, "address.city");
    }

    fn settings(request_timeout: Duration) -> HttpSettings {
        HttpSettings {
            request_timeout,
            max_body_bytes: 1024,
            max_import_body_bytes: 4096,
            max_supplier_body_bytes: 4096,
            drain_timeout: Duration::from_secs(1),
            trusted_proxies: 0,
        }
    }

    async fn answer(router: Router, path: &str) -> (Response, serde_json::Value) {
        use tower::ServiceExt;
        let req = axum::http::Request::get(path)
            .body(Body::empty())
            .expect("request");
        let res = router.oneshot(req).await.expect("infallible");
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (Response::from_parts(parts, Body::empty()), json)
    }

    fn stack(routes: Router, request_timeout: Duration) -> Router {
        let keys = crate::tokens::KeyRing::parse("unit-test-secret-unit-test-secret-unit-test")
            .expect("key ring");
        api_stack(
            routes,
            "test",
            &settings(request_timeout),
            Verifier(std::sync::Arc::new(keys)),
            0,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_its_deadline_answers_the_timeout_problem() {
        let routes = Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        );
        let (res, problem) = answer(stack(routes, Duration::from_secs(5)), "/slow").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert!(res.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(
            problem["type"],
            "https://ota-travel.example.com/problems/timeout"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_racing_the_deadline_answers_with_what_it_knows_first() {
        let routes = Router::new().route(
            "/checkout",
            axum::routing::get(|| async {
                assert!(request_deadline().is_some());
                let slow = tokio::time::sleep(Duration::from_secs(60));
                match before_deadline(slow).await {
                    Ok(()) => Problem::internal(),
                    Err(DeadlinePassed) => Problem::timeout().with("reference", "OTA-1"),
                }
            }),
        );
        let started = tokio::time::Instant::now();
        let (res, problem) = answer(stack(routes, Duration::from_secs(5)), "/checkout").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(problem["reference"], "OTA-1", "{problem}");
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(5) - ANSWER_MARGIN,
            "gave up just before the request deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_finishes_in_time_is_returned_and_outside_a_request_nothing_is_raced() {
        let quick = async { 7 };
        assert_eq!(before_deadline(quick).await, Ok(7));
        assert!(request_deadline().is_none());
        let long = async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            8
        };
        assert_eq!(before_deadline(long).await, Ok(8));
    }

    #[test]
    fn malformed_json_is_a_400() {
        let p = parse_json::<Register>(br#"{"email": "#).expect_err("invalid");
        assert_eq!(p.status, 400);
    }
}

/// Request body limits: content imports take whole files, everything else is small.
#[derive(Clone, Copy, Debug)]
struct BodyLimits {
    default: usize,
    imports: usize,
    supplier: usize,
}

/// Paths that take content files, with their own body limit.
pub const IMPORT_PATH_PREFIX: &str = "/internal/v1/catalog/";
/// Paths that take suppliers' messages, with their own body limit.
pub const SUPPLIER_PATH_PREFIX: &str = "/supplier/";

/// Refuses a body over its path's limit with 413 (a declared length at once, a streamed
/// one when it passes the limit: the extractors answer `too-large`).
async fn limit_body(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    req: Request,
    next: middleware::Next,
) -> Response {
    let path = req.uri().path();
    // Suppliers' messages are refused by their own endpoints as OpenTravel `Errors` (the
    // limit still holds: the body below stops at it).
    let supplier = path.starts_with(SUPPLIER_PATH_PREFIX);
    let limit = if path.starts_with(IMPORT_PATH_PREFIX) {
        limits.imports
    } else if supplier {
        limits.supplier
    } else {
        limits.default
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) && !supplier {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "The request body is too large.",
        )
        .into_response();
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}
