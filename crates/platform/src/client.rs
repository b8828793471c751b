//! Typed calls to another OTA service: service token, W3C trace propagation, a timeout
//! on every call, and bounded retries with backoff for idempotent calls only.

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
        let attempts = if idempotent { self.retries + 1 } else { 1 };
        let mut delay = Duration::from_millis(100);
        let mut last = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            match self.send_once(method.clone(), path, body, bearer).await {
                Err(e @ PeerError::Unavailable { .. }) => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| PeerError::Unavailable {
            peer: self.peer.to_owned(),
            reason: "no attempt made".to_owned(),
        }))
    }

    async fn send_once<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        bearer: Option<&str>,
    ) -> Result<T, PeerError> {
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
        if matches!(status, 502..=504) {
            return Err(unavailable(format!("answered {status}")));
        }
        if status >= 400 {
            return Err(PeerError::Status {
                peer: self.peer.to_owned(),
                status,
                body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
            });
        }
        let bytes = if bytes.is_empty() {
            &b"null"[..]
        } else {
            &bytes[..]
        };
        serde_json::from_slice(bytes).map_err(|e| PeerError::Decode {
            peer: self.peer.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// The shared connection pool for peer calls.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("ota/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}
