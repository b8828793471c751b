//! Typed calls to another OTA service: service token, W3C trace propagation, a timeout
//! on every call, bounded retries with backoff for idempotent calls only, and an
//! `Idempotency-Key` header for calls that take one.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::telemetry::TraceContext;
use crate::tokens::KeyRing;

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The peer could not be reached, timed out, or said it is unavailable.
    #[error("{peer} is unavailable: {reason}")]
    Unavailable { peer: String, reason: String },
    /// The peer answered with an error; `body` is its problem+json when it sent one.
    #[error("{peer} answered {status}")]
    Status {
        peer: String,
        status: u16,
        body: serde_json::Value,
    },
    #[error("{peer} answered something we could not read: {reason}")]
    Decode { peer: String, reason: String },
}

/// A client for one peer service.
#[derive(Clone)]
pub struct PeerClient {
    peer: &'static str,
    caller: &'static str,
    base_url: String,
    keys: Arc<KeyRing>,
    http: reqwest::Client,
    timeout: Duration,
    retries: u32,
}

impl PeerClient {
    pub fn new(
        peer: &'static str,
        caller: &'static str,
        base_url: &str,
        keys: Arc<KeyRing>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            peer,
            caller,
            base_url: base_url.trim_end_matches('/').to_owned(),
            keys,
            http,
            timeout: Duration::from_secs(5),
            retries: 2,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Sends a request. `idempotent` calls are retried on transport errors and 502/503/504;
    /// others are sent once.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        bearer: Option<&str>,
        idempotent: bool,
    ) -> Result<T, PeerError> {
        let bytes = self
            .call_raw(method, path, body, bearer, idempotent)
            .await?;
        self.decode(&bytes)
    }

    /// [`Self::call`] for an answer that is not JSON (a calendar file): its bytes.
    pub async fn call_raw<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        bearer: Option<&str>,
        idempotent: bool,
    ) -> Result<Vec<u8>, PeerError> {
        let attempts = if idempotent { self.retries + 1 } else { 1 };
        let mut delay = Duration::from_millis(100);
        let mut last = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            match self
                .send_once(method.clone(), path, body, bearer, None)
                .await
            {
                Err(e @ PeerError::Unavailable { .. }) => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| PeerError::Unavailable {
            peer: self.peer.to_owned(),
            reason: "no attempt made".to_owned(),
        }))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, PeerError> {
        let bytes = if bytes.is_empty() {
            &b"null"[..]
        } else {
            bytes
        };
        serde_json::from_slice(bytes).map_err(|e| PeerError::Decode {
            peer: self.peer.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Sends a request with an `Idempotency-Key` header, once: the key makes sending it
    /// again safe, and the caller decides when to. A 502-504 answer that carries a
    /// problem+json `type` is the peer's own account of what the key started (a
    /// checkout's 503 names its booking), so it stays a `Status` with its body; a bare
    /// one (a gateway's) is `Unavailable`.
    pub async fn call_with_key<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        bearer: Option<&str>,
        idempotency_key: &str,
    ) -> Result<T, PeerError> {
        let bytes = self
            .send_once(method, path, body, bearer, Some(idempotency_key))
            .await?;
        self.decode(&bytes)
    }

    async fn send_once<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        bearer: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<u8>, PeerError> {
        let url = format!("{}{}", self.base_url, path);
        let token = match bearer {
            Some(t) => t.to_owned(),
            None => self.keys.service_token(self.caller),
        };
        let trace = TraceContext::current()
            .map(|t| t.child())
            .unwrap_or_else(TraceContext::new_root);
        let mut req = self
            .http
            .request(method, &url)
            .timeout(self.timeout)
            .bearer_auth(token)
            .header("traceparent", trace.header());
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let unavailable = |reason: String| PeerError::Unavailable {
            peer: self.peer.to_owned(),
            reason,
        };
        let res = req.send().await.map_err(|e| {
            unavailable(if e.is_timeout() {
                format!("no answer within {} ms", self.timeout.as_millis())
            } else {
                "connection failed".to_owned()
            })
        })?;
        let status = res.status().as_u16();
        let bytes = res
            .bytes()
            .await
            .map_err(|_| unavailable("the answer was cut short".to_owned()))?;
        if status >= 400 {
            let body: serde_json::Value =
                serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
            let keyed_problem = idempotency_key.is_some() && body.get("type").is_some();
            if matches!(status, 502..=504) && !keyed_problem {
                return Err(unavailable(format!("answered {status}")));
            }
            return Err(PeerError::Status {
                peer: self.peer.to_owned(),
                status,
                body,
            });
        }
        Ok(bytes.to_vec())
    }
}

/// The shared connection pool for peer calls.
pub fn http_client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("ota/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Makes `ring` the process's TLS provider (once; later calls do nothing). Every HTTP
/// client is built after it: HTTPS (webhook deliveries) uses rustls with `ring`, the
/// provider the database and mail clients use too.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-route server answering every request with `status` and `body`.
    async fn answering(status: u16, content_type: &'static str, body: &'static str) -> String {
        let app = axum::Router::new().fallback(move || async move {
            (
                axum::http::StatusCode::from_u16(status)
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                [(axum::http::header::CONTENT_TYPE, content_type)],
                body,
            )
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn client(url: &str) -> PeerClient {
        let keys = KeyRing::parse("client-test-secret-client-test-secret-client").expect("ring");
        PeerClient::new(
            "booking-service",
            "frontend",
            url,
            Arc::new(keys),
            http_client(),
        )
    }

    #[tokio::test]
    async fn a_keyed_calls_503_problem_keeps_what_it_names_and_a_bare_gateway_error_does_not() {
        let url = answering(
            503,
            "application/problem+json",
            r#"{"type":"https://ota-travel.example.com/problems/unavailable","status":503,"reference":"ABC234"}"#,
        )
        .await;
        let keyed: Result<serde_json::Value, PeerError> = client(&url)
            .call_with_key(
                Method::POST,
                "/api/v1/bookings",
                Some(&serde_json::json!({})),
                Some("t"),
                "k",
            )
            .await;
        match keyed {
            Err(PeerError::Status { status, body, .. }) => {
                assert_eq!(status, 503);
                assert_eq!(body["reference"], "ABC234");
            }
            other => panic!("the problem was lost: {other:?}"),
        }
        // Without a key, a 503 is a peer to retry or give up on.
        let plain: Result<serde_json::Value, PeerError> = client(&url)
            .call(
                Method::POST,
                "/x",
                Some(&serde_json::json!({})),
                Some("t"),
                false,
            )
            .await;
        assert!(
            matches!(plain, Err(PeerError::Unavailable { .. })),
            "{plain:?}"
        );
        // A gateway's bare 502 says nothing about what the key started.
        let url = answering(502, "text/html", "<h1>Bad gateway</h1>").await;
        let bare: Result<serde_json::Value, PeerError> = client(&url)
            .call_with_key(
                Method::POST,
                "/api/v1/bookings",
                Some(&serde_json::json!({})),
                Some("t"),
                "k",
            )
            .await;
        assert!(
            matches!(bare, Err(PeerError::Unavailable { .. })),
            "{bare:?}"
        );
    }

    #[tokio::test]
    async fn the_key_travels_as_a_header() {
        let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            axum::Json(serde_json::json!({ "key": key }))
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let keyed: serde_json::Value = client(&url)
            .call_with_key(
                Method::POST,
                "/p",
                Some(&serde_json::json!({})),
                Some("t"),
                "k-42",
            )
            .await
            .expect("ok");
        assert_eq!(keyed["key"], "k-42");
        let plain: serde_json::Value = client(&url)
            .call(
                Method::POST,
                "/p",
                Some(&serde_json::json!({})),
                Some("t"),
                false,
            )
            .await
            .expect("ok");
        assert_eq!(plain["key"], serde_json::Value::Null, "no key unless given");
    }
}
