//! Collecting what every management URL answers: its health document and two metrics
//! scrapes, or why it gave nothing to judge.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::evaluate::evaluate;
use super::report::{Report, Target};
use crate::ops::prometheus::{self, Sample};

/// The longest one answer from a management server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks every URL at once and judges what it found.
pub async fn health_check(urls: &[String], interval: Duration) -> Report {
    let tasks: Vec<_> = urls
        .iter()
        .map(|url| tokio::spawn(check_target(url.clone(), interval)))
        .collect();
    let mut targets = Vec::with_capacity(tasks.len());
    for (url, task) in urls.iter().zip(tasks) {
        let target = match task.await {
            Ok(target) => target,
            Err(e) => failed(
                url,
                Failure::new("not checked", format!("the check failed: {e}")),
            ),
        };
        targets.push(target);
    }
    Report { interval, targets }
}

/// A target none of whose requests could be made.
pub(super) fn failed(url: &str, failure: Failure) -> Target {
    evaluate(
        url,
        Err(failure.clone()),
        Err(failure.clone()),
        Err(failure),
    )
}

async fn check_target(url: String, interval: Duration) -> Target {
    let base = url.trim().trim_end_matches('/');
    // Management ports serve plain HTTP (this build has no TLS client): anything else,
    // a forgotten scheme included, is a mistake on the command line.
    if !reqwest::Url::parse(base).is_ok_and(|u| u.scheme() == "http" && u.has_host()) {
        return failed(
            &url,
            Failure::new(
                "invalid URL",
                "a management URL looks like http://host:8081",
            ),
        );
    }
    // Two clients: the scrapes share one kept-alive connection, so behind a Kubernetes
    // Service both reach the same pod and their difference is that pod's window; the
    // health request, running in the meantime, must not take that connection.
    let (metrics, health) = match (client(), client()) {
        (Ok(metrics), Ok(health)) => (metrics, health),
        (Err(e), _) | (_, Err(e)) => return failed(&url, e),
    };
    let first = scrape(&metrics, base).await;
    let (health, second) = tokio::join!(fetch_health(&health, base), async {
        tokio::time::sleep(interval).await;
        scrape(&metrics, base).await
    });
    evaluate(&url, health, first, second)
}

fn client() -> Result<reqwest::Client, Failure> {
    ota_platform::client::install_tls_provider();
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        // Management ports are reached inside the cluster or through a port-forward,
        // never through the proxy a shell may have configured for the internet.
        .no_proxy()
        .user_agent(concat!("ota-health-check/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::new("not checked", describe(&e)))
}

/// Why a request to a management server gave nothing to judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Failure {
    /// For the VALUE column: `unreachable`, `no answer`, `bad answer`, `invalid URL`.
    pub(super) what: &'static str,
    /// For the NOTE column.
    pub(super) detail: String,
}

impl Failure {
    pub(super) fn new(what: &'static str, detail: impl Into<String>) -> Failure {
        Failure {
            what,
            detail: detail.into(),
        }
    }

    fn transport(error: &reqwest::Error) -> Failure {
        let what = if error.is_timeout() {
            "no answer"
        } else if error.is_builder() {
            "invalid URL"
        } else {
            "unreachable"
        };
        Failure::new(what, describe(error))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.detail)
    }
}

/// A transport error by its causes ("connection refused" is in the innermost one); the
/// top-level message only repeats the URL, which the report already shows.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", REQUEST_TIMEOUT.as_secs());
    }
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `/actuator/health`: the document is read whatever the HTTP status, since DOWN comes
/// as a 503 that says which component is down.
async fn fetch_health(client: &reqwest::Client, base: &str) -> Result<Value, Failure> {
    let response = client
        .get(format!("{base}/actuator/health"))
        .send()
        .await
        .map_err(|e| Failure::transport(&e))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| Failure::transport(&e))?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(doc) if doc.get("status").is_some_and(Value::is_string) => Ok(doc),
        _ => Err(Failure::new(
            "bad answer",
            format!("/actuator/health answered HTTP {status} without a health document"),
        )),
    }
}

/// One reading of `/actuator/prometheus`.
#[derive(Clone, Debug)]
pub(super) struct Scrape {
    pub(super) samples: Vec<Sample>,
    /// When the request left, to measure the window between two scrapes.
    pub(super) at: Instant,
    /// The same moment as Unix seconds, to compare with the process start time.
    pub(super) unix_seconds: f64,
}

impl Scrape {
    pub(super) fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// A process-wide figure (these have no labels).
    pub(super) fn process(&self, name: &str) -> Option<f64> {
        self.named(name).next().map(|s| s.value)
    }

    /// The sum of one service's series of a metric, `None` when it has none.
    pub(super) fn service_sum(
        &self,
        name: &str,
        service: &str,
        extra: Option<(&str, &str)>,
    ) -> Option<f64> {
        self.named(name)
            .filter(|s| s.label("service") == Some(service))
            .filter(|s| extra.is_none_or(|(label, value)| s.label(label) == Some(value)))
            .map(|s| s.value)
            .reduce(|a, b| a + b)
    }
}

async fn scrape(client: &reqwest::Client, base: &str) -> Result<Scrape, Failure> {
    let at = Instant::now();
    let unix_seconds = unix_now();
    let response = client
        .get(format!("{base}/actuator/prometheus"))
        .send()
        .await
        .map_err(|e| Failure::transport(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Failure::new(
            "bad answer",
            format!("/actuator/prometheus answered HTTP {status}"),
        ));
    }
    let text = response.text().await.map_err(|e| Failure::transport(&e))?;
    let samples = prometheus::parse(&text).map_err(|e| {
        Failure::new(
            "bad answer",
            format!("/actuator/prometheus is not Prometheus text: {e}"),
        )
    })?;
    Ok(Scrape {
        samples,
        at,
        unix_seconds,
    })
}
