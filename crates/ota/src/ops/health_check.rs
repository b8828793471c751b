//! `ota ops health-check`: the application side of the runbook's morning health check
//! ("Key Metrics to Monitor").
//!
//! For every management URL it reads `/actuator/health` and scrapes
//! `/actuator/prometheus` twice, `--interval` apart, so that request rate, error rate
//! and p99 describe the last few seconds rather than the whole life of the process; then
//! it judges every service behind the URL against the runbook's thresholds. It needs no
//! Prometheus server: the morning check must work when monitoring is what is broken.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

use super::prometheus::{self, Histogram, Quantile, Sample};

// The runbook's thresholds ("Key Metrics to Monitor"); each is exceeded strictly.
const P99_WARNING_SECONDS: f64 = 1.0;
const P99_CRITICAL_SECONDS: f64 = 2.0;
const P99_THRESHOLD: &str = "warn > 1 s, crit > 2 s";
const ERROR_RATE_WARNING: f64 = 0.01;
const ERROR_RATE_CRITICAL: f64 = 0.05;
const ERROR_RATE_THRESHOLD: &str = "warn > 1 %, crit > 5 %";
const POOL_WARNING: f64 = 0.75;
const POOL_CRITICAL: f64 = 0.90;
const POOL_THRESHOLD: &str = "warn > 75 %, crit > 90 %";
const HEALTH_THRESHOLD: &str = "UP";
const NO_THRESHOLD: &str = "-";

/// The longest one answer from a management server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

const REQUESTS: &str = "http_server_requests_seconds_count";
const LATENCY_BUCKETS: &str = "http_server_requests_seconds_bucket";
const POOL_CONNECTIONS: &str = "db_pool_connections";
const POOL_MAX: &str = "db_pool_max_connections";
const CPU_SECONDS: &str = "process_cpu_seconds_total";
const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
const START_TIME: &str = "process_start_time_seconds";

/// Rows about the process behind a URL rather than one of its services.
const PROCESS: &str = "(process)";

#[derive(Args, Debug, Clone)]
pub struct HealthCheckArgs {
    /// Management base URL to check: the all-in-one server's, or one per service
    /// (repeat the flag, or separate URLs with commas).
    #[arg(
        long = "url",
        value_name = "URL",
        env = "OTA_HEALTH_CHECK_URLS",
        value_delimiter = ',',
        default_value = "http://localhost:8081"
    )]
    pub urls: Vec<String>,
    /// Time between the two metrics scrapes: rates and p99 describe this window.
    #[arg(long, default_value = "5s", value_parser = ota_platform::config::parse_duration)]
    pub interval: Duration,
    /// `table` for people, `json` for scripts; both carry the same checks.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
}

/// Prints the report and answers the exit code.
pub async fn run(args: HealthCheckArgs) -> i32 {
    let report = health_check(&args.urls, args.interval).await;
    match args.format {
        OutputFormat::Table => print!("{}", report.table()),
        OutputFormat::Json => println!("{:#}", report.json()),
    }
    report.exit_code()
}

/// How a check came out. Ordered from best to worst; `Info` rows carry no threshold and
/// never change the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// A figure shown for context (request rate, CPU, memory).
    Info,
    Ok,
    Warning,
    Critical,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Info => "INFO",
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
        }
    }

    /// Judges a figure against a warning and a critical threshold, both exceeded
    /// strictly. A figure that is not a number cannot be called fine.
    fn judge(value: f64, warning: f64, critical: f64) -> Status {
        if value.is_nan() {
            Status::Warning
        } else if value > critical {
            Status::Critical
        } else if value > warning {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// The service the row is about; `None` for the process behind the URL as a whole.
    pub service: Option<String>,
    /// What is checked: `health db`, `error rate`, `p99 latency`, …
    pub check: String,
    /// The figure in `unit`, for scripts; `None` for states such as UP/DOWN.
    pub value: Option<f64>,
    pub unit: Option<&'static str>,
    /// The figure as a person reads it.
    pub shown: String,
    pub threshold: &'static str,
    pub status: Status,
    /// Why the figure is what it is, when that is not obvious (an error, a fallback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Check {
    fn new(
        service: Option<&str>,
        check: impl Into<String>,
        status: Status,
        shown: impl Into<String>,
        threshold: &'static str,
    ) -> Check {
        Check {
            service: service.map(str::to_owned),
            check: check.into(),
            value: None,
            unit: None,
            shown: shown.into(),
            threshold,
            status,
            note: None,
        }
    }

    fn value(mut self, value: f64, unit: &'static str) -> Check {
        self.value = Some(value);
        self.unit = Some(unit);
        self
    }

    fn note(mut self, note: impl Into<String>) -> Check {
        self.note = Some(note.into());
        self
    }

    fn note_if(self, note: Option<&str>) -> Check {
        match note {
            Some(n) => self.note(n),
            None => self,
        }
    }
}

/// What the rates and the p99 of a target describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rates {
    /// The window between the two scrapes.
    Window,
    /// The process's whole life: a scrape failed or the two reached different processes.
    SinceStart,
    /// No scrape succeeded.
    Unknown,
}

/// Everything found behind one management URL.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub url: String,
    pub rates: Rates,
    /// Seconds between the two scrapes the rates come from, for `Rates::Window`.
    pub window_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub checks: Vec<Check>,
}

impl Target {
    /// The worst status of its checks.
    pub fn status(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
    }
}

/// The outcome of a health check over every URL.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub interval: Duration,
    pub targets: Vec<Target>,
}

impl Report {
    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.targets.iter().flat_map(|t| t.checks.iter())
    }

    /// The worst status of all checks. Checking nothing is not a clean bill of health.
    pub fn status(&self) -> Status {
        if self.targets.is_empty() {
            return Status::Critical;
        }
        self.checks()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
            .max(Status::Ok)
    }

    /// 0 all OK, 1 the worst is a warning, 2 the worst is critical (the scale
    /// `ops/daily-health-check.sh` adds up).
    pub fn exit_code(&self) -> i32 {
        match self.status() {
            Status::Info | Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
        }
    }

    fn count(&self, status: Status) -> usize {
        self.checks().filter(|c| c.status == status).count()
    }

    /// One line: the outcome and how many checks came out how.
    pub fn summary(&self) -> String {
        if self.targets.is_empty() {
            return "CRITICAL: no URL to check (exit 2)".to_owned();
        }
        let urls = self.targets.len();
        format!(
            "{}: {} critical, {} warning, {} OK, {} informational across {urls} URL{} (exit {})",
            self.status(),
            self.count(Status::Critical),
            self.count(Status::Warning),
            self.count(Status::Ok),
            self.count(Status::Info),
            if urls == 1 { "" } else { "s" },
            self.exit_code()
        )
    }

    /// The aligned table: per URL a heading and one row per check, columns aligned
    /// across the whole report, then the summary line.
    pub fn table(&self) -> String {
        const HEADINGS: [&str; 6] = ["SERVICE", "CHECK", "VALUE", "THRESHOLD", "STATUS", "NOTE"];
        let rows: Vec<Vec<[String; 6]>> = self
            .targets
            .iter()
            .map(|t| {
                t.checks
                    .iter()
                    .map(|c| {
                        [
                            c.service.clone().unwrap_or_else(|| PROCESS.to_owned()),
                            c.check.clone(),
                            c.shown.clone(),
                            c.threshold.to_owned(),
                            c.status.to_string(),
                            c.note.clone().unwrap_or_default(),
                        ]
                    })
                    .collect()
            })
            .collect();
        let mut widths = HEADINGS.map(|h| h.chars().count());
        for row in rows.iter().flatten() {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 6]| {
            let mut line = String::from("  ");
            for (cell, width) in cells.iter().zip(widths) {
                line.push_str(&format!("{cell:<width$}  "));
            }
            format!("{}\n", line.trim_end())
        };
        let mut out = String::new();
        for (target, rows) in self.targets.iter().zip(&rows) {
            let basis = match (target.rates, target.window_seconds) {
                (Rates::Window, Some(s)) => format!("rates over the last {s:.2} s"),
                (Rates::Window | Rates::SinceStart, _) => {
                    "rates since the process started".to_owned()
                }
                (Rates::Unknown, _) => "no metrics".to_owned(),
            };
            out.push_str(&format!("{}  ({basis})\n", target.url));
            if let Some(note) = &target.note {
                out.push_str(&format!("  note: {note}\n"));
            }
            out.push_str(&line(&HEADINGS.map(str::to_owned)));
            for row in rows {
                out.push_str(&line(row));
            }
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The same report for scripts.
    pub fn json(&self) -> Value {
        json!({
            "status": self.status(),
            "exit_code": self.exit_code(),
            "summary": {
                "critical": self.count(Status::Critical),
                "warning": self.count(Status::Warning),
                "ok": self.count(Status::Ok),
                "info": self.count(Status::Info),
            },
            "interval_seconds": self.interval.as_secs_f64(),
            "targets": self.targets,
        })
    }
}

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
fn failed(url: &str, failure: Failure) -> Target {
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
struct Failure {
    /// For the VALUE column: `unreachable`, `no answer`, `bad answer`, `invalid URL`.
    what: &'static str,
    /// For the NOTE column.
    detail: String,
}

impl Failure {
    fn new(what: &'static str, detail: impl Into<String>) -> Failure {
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
struct Scrape {
    samples: Vec<Sample>,
    /// When the request left, to measure the window between two scrapes.
    at: Instant,
    /// The same moment as Unix seconds, to compare with the process start time.
    unix_seconds: f64,
}

impl Scrape {
    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// A process-wide figure (these have no labels).
    fn process(&self, name: &str) -> Option<f64> {
        self.named(name).next().map(|s| s.value)
    }

    /// The sum of one service's series of a metric, `None` when it has none.
    fn service_sum(&self, name: &str, service: &str, extra: Option<(&str, &str)>) -> Option<f64> {
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

/// What rates and the p99 are computed over.
enum Basis<'a> {
    /// The window between the two scrapes: the normal case.
    Window { earlier: &'a Scrape, seconds: f64 },
    /// Since the process started: all that is left when a scrape failed or the two
    /// reached different processes. `seconds` is the uptime, when known.
    SinceStart { seconds: Option<f64> },
}

impl Basis<'_> {
    fn seconds(&self) -> Option<f64> {
        match self {
            Basis::Window { seconds, .. } => Some(*seconds),
            Basis::SinceStart { seconds } => *seconds,
        }
    }

    /// The note every rate row carries when it is not a window.
    fn note(&self) -> Option<&'static str> {
        match self {
            Basis::Window { .. } => None,
            Basis::SinceStart { .. } => Some("since the process started"),
        }
    }
}

/// Judges what one URL answered. Pure, so every outcome can be tested without a server.
fn evaluate(
    url: &str,
    health: Result<Value, Failure>,
    first: Result<Scrape, Failure>,
    second: Result<Scrape, Failure>,
) -> Target {
    let mut process_checks = Vec::new();
    let mut service_checks: BTreeMap<String, Vec<Check>> = BTreeMap::new();
    match &health {
        Ok(doc) => {
            for check in health_checks(doc) {
                match check.service.clone() {
                    Some(service) => service_checks.entry(service).or_default().push(check),
                    None => process_checks.push(check),
                }
            }
        }
        Err(e) => process_checks.push(
            Check::new(None, "health", Status::Critical, e.what, HEALTH_THRESHOLD)
                .note(e.detail.as_str()),
        ),
    }

    let (later, earlier, scrape_error) = match (&first, &second) {
        (Ok(a), Ok(b)) => (Some(b), Some(a), None),
        (Ok(a), Err(e)) | (Err(e), Ok(a)) => (Some(a), None, Some(e)),
        (Err(e), Err(_)) => (None, None, Some(e)),
    };
    let mut target_note = None;
    if let Some(e) = scrape_error {
        let shown = if later.is_some() {
            "one of two scrapes failed"
        } else {
            e.what
        };
        process_checks.push(
            Check::new(None, "metrics", Status::Critical, shown, NO_THRESHOLD)
                .note(e.detail.as_str()),
        );
        if later.is_some() {
            target_note = Some(format!("one metrics scrape failed ({e})"));
        }
    }
    let Some(later) = later else {
        return Target {
            url: url.to_owned(),
            rates: Rates::Unknown,
            window_seconds: None,
            note: target_note,
            checks: process_checks
                .into_iter()
                .chain(service_checks.into_values().flatten())
                .collect(),
        };
    };

    let uptime = later
        .process(START_TIME)
        .map(|start| later.unix_seconds - start)
        .filter(|s| *s > 0.0);
    let basis = match earlier {
        Some(earlier) if same_process(earlier, later) => {
            let seconds = later.at.saturating_duration_since(earlier.at).as_secs_f64();
            if seconds > 0.0 {
                Basis::Window { earlier, seconds }
            } else {
                Basis::SinceStart { seconds: uptime }
            }
        }
        Some(_) => {
            target_note = Some(
                "the two scrapes reached different processes (a restart, or several \
                 replicas behind this URL): figures are the second process's since it started"
                    .to_owned(),
            );
            Basis::SinceStart { seconds: uptime }
        }
        None => Basis::SinceStart { seconds: uptime },
    };

    let http_series = |scrape: &Scrape| -> Vec<Sample> {
        scrape
            .samples
            .iter()
            .filter(|s| s.name == REQUESTS || s.name == LATENCY_BUCKETS)
            .cloned()
            .collect()
    };
    let cumulative = http_series(later);
    let in_basis = match &basis {
        Basis::Window { earlier, .. } => prometheus::increase(&cumulative, &http_series(earlier)),
        Basis::SinceStart { .. } => cumulative.clone(),
    };

    let mut services: BTreeSet<String> = service_checks.keys().cloned().collect();
    for sample in later
        .samples
        .iter()
        .filter(|s| s.name == REQUESTS || s.name == POOL_CONNECTIONS || s.name == POOL_MAX)
    {
        if let Some(service) = sample.label("service") {
            services.insert(service.to_owned());
        }
    }
    for service in &services {
        let checks = service_checks.entry(service.clone()).or_default();
        checks.extend(traffic_checks(service, &in_basis, &cumulative, &basis));
        checks.extend(pool_check(service, later));
    }

    let mut info = Vec::new();
    if let Some(cpu) = cpu_check(later, &basis) {
        info.push(cpu);
    }
    if let Some(bytes) = later.process(RESIDENT_MEMORY) {
        info.push(
            Check::new(
                None,
                "memory",
                Status::Info,
                format!("{:.1} MiB resident", bytes / (1024.0 * 1024.0)),
                NO_THRESHOLD,
            )
            .value(bytes, "bytes"),
        );
    }
    Target {
        url: url.to_owned(),
        rates: match basis {
            Basis::Window { .. } => Rates::Window,
            Basis::SinceStart { .. } => Rates::SinceStart,
        },
        window_seconds: match basis {
            Basis::Window { seconds, .. } => Some(seconds),
            Basis::SinceStart { .. } => None,
        },
        note: target_note,
        checks: process_checks
            .into_iter()
            .chain(service_checks.into_values().flatten())
            .chain(info)
            .collect(),
    }
}

/// Whether two scrapes came from one process: its start time is stable, and its counters
/// never go down.
fn same_process(earlier: &Scrape, later: &Scrape) -> bool {
    if let (Some(a), Some(b)) = (earlier.process(START_TIME), later.process(START_TIME))
        && a != b
    {
        return false;
    }
    let total = |s: &Scrape| s.named(REQUESTS).map(|s| s.value).sum::<f64>();
    let cpu = |s: &Scrape| s.process(CPU_SECONDS).unwrap_or(0.0);
    total(later) >= total(earlier) && cpu(later) >= cpu(earlier)
}

/// Every component of the health document: the overall status and cache rows belong to
/// the process; nested components (`db` → one per service) to their service.
fn health_checks(doc: &Value) -> Vec<Check> {
    let mut checks = vec![component_check(None, "health", doc)];
    let Some(components) = doc.get("components").and_then(Value::as_object) else {
        return checks;
    };
    for (name, component) in components {
        match component.get("components").and_then(Value::as_object) {
            Some(children) => {
                for (child, c) in children {
                    checks.push(component_check(Some(child), &format!("health {name}"), c));
                }
            }
            None => checks.push(component_check(None, &format!("health {name}"), component)),
        }
    }
    checks
}

fn component_check(service: Option<&str>, check: &str, component: &Value) -> Check {
    let state = component.get("status").and_then(Value::as_str);
    let status = match state {
        Some("UP") => Status::Ok,
        // Spring's other states: not serving, or not known to be serving.
        Some("DOWN" | "OUT_OF_SERVICE") | None => Status::Critical,
        Some(_) => Status::Warning,
    };
    let details = component.get("details");
    let detail = |key: &str| details.and_then(|d| d.get(key)).and_then(Value::as_str);
    let mut shown = state.unwrap_or("no status").to_owned();
    if let Some(engine) = detail("database").or_else(|| detail("engine")) {
        shown.push_str(&format!(" ({engine})"));
    }
    Check::new(service, check, status, shown, HEALTH_THRESHOLD).note_if(detail("error"))
}

/// Request rate, error rate and p99 latency of one service.
fn traffic_checks(
    service: &str,
    in_basis: &[Sample],
    cumulative: &[Sample],
    basis: &Basis<'_>,
) -> Vec<Check> {
    let of_service = |samples: &'_ [Sample], name: &'static str| -> Vec<Sample> {
        samples
            .iter()
            .filter(|s| s.name == name && s.label("service") == Some(service))
            .cloned()
            .collect()
    };
    let counts = of_service(in_basis, REQUESTS);
    let requests = total(counts.iter().map(|s| s.value));
    let errors = total(
        counts
            .iter()
            .filter(|s| s.label("status").is_some_and(|code| code.starts_with('5')))
            .map(|s| s.value),
    );
    let basis_note = basis.note();
    let mut checks = Vec::new();

    let rate = match basis.seconds() {
        Some(seconds) => {
            let rate = requests / seconds;
            Check::new(
                Some(service),
                "requests",
                Status::Info,
                format!("{rate:.2} req/s"),
                NO_THRESHOLD,
            )
            .value(rate, "requests/s")
        }
        None => Check::new(
            Some(service),
            "requests",
            Status::Info,
            format!("{requests:.0} requests"),
            NO_THRESHOLD,
        )
        .note("the process start time is unknown"),
    };
    checks.push(rate.note_if(basis_note));

    let none_note = match basis {
        Basis::Window { .. } => "no requests in the window",
        Basis::SinceStart { .. } => "no requests since the process started",
    };
    checks.push(if requests > 0.0 {
        let ratio = errors / requests;
        Check::new(
            Some(service),
            "error rate",
            Status::judge(ratio, ERROR_RATE_WARNING, ERROR_RATE_CRITICAL),
            format!("{:.2} % ({errors:.0} of {requests:.0})", ratio * 100.0),
            ERROR_RATE_THRESHOLD,
        )
        .value(ratio, "ratio")
        .note_if(basis_note)
    } else {
        Check::new(
            Some(service),
            "error rate",
            Status::Ok,
            "0.00 % (0 of 0)",
            ERROR_RATE_THRESHOLD,
        )
        .value(0.0, "ratio")
        .note(none_note)
    });

    let latency = Histogram::sum_by_le(&of_service(in_basis, LATENCY_BUCKETS));
    let (p99, p99_note) = match (latency.quantile(0.99), basis) {
        (Some(q), _) => (Some(q), basis_note),
        // A quiet window says nothing about latency; the process's whole history is the
        // best figure left, and the note says so.
        (None, Basis::Window { .. }) => (
            Histogram::sum_by_le(&of_service(cumulative, LATENCY_BUCKETS)).quantile(0.99),
            Some("no requests in the window: since the process started"),
        ),
        (None, Basis::SinceStart { .. }) => (None, basis_note),
    };
    checks.push(match p99 {
        Some(q) => {
            let seconds = q.seconds();
            let shown = match q {
                Quantile::Within(s) => format_seconds(s),
                Quantile::AboveHighestBucket(s) => format!("> {}", format_seconds(s)),
            };
            Check::new(
                Some(service),
                "p99 latency",
                Status::judge(seconds, P99_WARNING_SECONDS, P99_CRITICAL_SECONDS),
                shown,
                P99_THRESHOLD,
            )
            .value(seconds, "seconds")
            .note_if(p99_note)
        }
        None => Check::new(Some(service), "p99 latency", Status::Ok, "-", P99_THRESHOLD)
            .note("no requests yet"),
    });
    checks
}

/// Database connections in use against the pool's bound, now.
fn pool_check(service: &str, later: &Scrape) -> Option<Check> {
    let in_use = later.service_sum(POOL_CONNECTIONS, service, Some(("state", "in_use")));
    let max = later.service_sum(POOL_MAX, service, None);
    match (in_use, max) {
        (None, None) => None,
        (in_use, Some(max)) if max > 0.0 => {
            let in_use = in_use.unwrap_or(0.0);
            let ratio = in_use / max;
            Some(
                Check::new(
                    Some(service),
                    "db connections",
                    Status::judge(ratio, POOL_WARNING, POOL_CRITICAL),
                    format!("{in_use:.0}/{max:.0} in use ({:.0} %)", ratio * 100.0),
                    POOL_THRESHOLD,
                )
                .value(ratio, "ratio"),
            )
        }
        (in_use, _) => Some(
            Check::new(
                Some(service),
                "db connections",
                Status::Warning,
                format!("{:.0} in use", in_use.unwrap_or(0.0)),
                POOL_THRESHOLD,
            )
            .note("the pool's bound is not reported"),
        ),
    }
}

/// CPU cores the process used, on average over the basis.
fn cpu_check(later: &Scrape, basis: &Basis<'_>) -> Option<Check> {
    let now = later.process(CPU_SECONDS)?;
    let (used, seconds, note) = match basis {
        Basis::Window { earlier, seconds } => {
            let before = earlier.process(CPU_SECONDS)?;
            // The exporter counts whole CPU seconds, so over a short window the figure
            // moves in steps of 1/window cores: say how coarse it is.
            let note = (now.fract() == 0.0 && before.fract() == 0.0)
                .then(|| format!("whole CPU seconds: +/- {:.2} cores", 1.0 / seconds));
            (now - before, *seconds, note)
        }
        Basis::SinceStart { seconds } => (
            now,
            (*seconds)?,
            Some("since the process started".to_owned()),
        ),
    };
    let cores = used / seconds;
    let check = Check::new(
        None,
        "cpu",
        Status::Info,
        format!("{cores:.2} cores"),
        NO_THRESHOLD,
    )
    .value(cores, "cores");
    Some(match note {
        Some(n) => check.note(n),
        None => check,
    })
}

/// A sum that is +0 when empty: `Iterator::sum` of floats answers -0, shown as "-0.00 %".
fn total(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |sum, v| sum + v)
}

fn format_seconds(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 0.001 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{:.0} µs", seconds * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    const SERVICE: &str = "auth-service";

    /// A scrape of one process (started at Unix second 1000) taken `at_seconds` after
    /// `origin`, with `requests` (status, count, latency bucket upper bound) so far.
    fn scrape(
        origin: Instant,
        at_seconds: u64,
        requests: &[(&str, u64, &str)],
        pool: (u32, u32),
        cpu: f64,
    ) -> Scrape {
        let mut text = format!(
            "process_start_time_seconds 1000\n\
             process_cpu_seconds_total {cpu}\n\
             process_resident_memory_bytes 52428800\n\
             db_pool_connections{{service=\"{SERVICE}\",state=\"in_use\"}} {}\n\
             db_pool_connections{{service=\"{SERVICE}\",state=\"idle\"}} 1\n\
             db_pool_max_connections{{service=\"{SERVICE}\"}} {}\n",
            pool.0, pool.1
        );
        let bounds = ["0.1", "1", "2", "5", "+Inf"];
        for (status, count, slowest) in requests {
            let labels =
                format!("service=\"{SERVICE}\",method=\"GET\",route=\"/r\",status=\"{status}\"");
            let mut reached = false;
            for le in bounds {
                reached |= le == *slowest;
                let n = if reached { *count } else { 0 };
                text.push_str(&format!(
                    "http_server_requests_seconds_bucket{{{labels},le=\"{le}\"}} {n}\n"
                ));
            }
            text.push_str(&format!(
                "http_server_requests_seconds_count{{{labels}}} {count}\n"
            ));
        }
        Scrape {
            samples: prometheus::parse(&text).expect("valid scrape"),
            at: origin + Duration::from_secs(at_seconds),
            unix_seconds: 2000.0 + at_seconds as f64,
        }
    }

    fn healthy() -> Value {
        json!({"status": "UP", "components": {
            "db": {"status": "UP", "components": {
                SERVICE: {"status": "UP", "details": {"database": "postgres"}}}},
            "cache": {"status": "UP", "details": {"engine": "redis"}},
            "ping": {"status": "UP"}}})
    }

    fn check<'a>(target: &'a Target, service: Option<&str>, name: &str) -> &'a Check {
        target
            .checks
            .iter()
            .find(|c| c.service.as_deref() == service && c.check == name)
            .unwrap_or_else(|| panic!("no {name} check for {service:?} in {target:#?}"))
    }

    fn report(target: Target) -> Report {
        Report {
            interval: Duration::from_secs(5),
            targets: vec![target],
        }
    }

    #[test]
    fn a_quiet_healthy_service_is_ok_and_rates_cover_the_window() {
        let o = Instant::now();
        // 1000 requests before the window, 50 during its 5 s, none failing, all fast.
        let first = scrape(o, 0, &[("200", 1000, "0.1")], (1, 10), 40.0);
        let second = scrape(o, 5, &[("200", 1050, "0.1")], (2, 10), 41.0);
        let target = evaluate("http://x:8081", Ok(healthy()), Ok(first), Ok(second));
        assert_eq!(target.window_seconds, Some(5.0));
        let rate = check(&target, Some(SERVICE), "requests");
        assert_eq!(rate.value, Some(10.0));
        assert_eq!(rate.status, Status::Info);
        let errors = check(&target, Some(SERVICE), "error rate");
        assert_eq!(
            errors.shown, "0.00 % (0 of 50)",
            "no 5xx series at all is +0"
        );
        let p99 = check(&target, Some(SERVICE), "p99 latency");
        assert_eq!(p99.status, Status::Ok);
        assert!(p99.value.is_some_and(|s| s <= 0.1), "{p99:?}");
        assert_eq!(p99.note, None);
        let pool = check(&target, Some(SERVICE), "db connections");
        assert_eq!((pool.value, pool.status), (Some(0.2), Status::Ok));
        assert_eq!(pool.shown, "2/10 in use (20 %)");
        assert_eq!(
            check(&target, Some(SERVICE), "health db").shown,
            "UP (postgres)"
        );
        assert_eq!(check(&target, None, "health cache").shown, "UP (redis)");
        assert_eq!(check(&target, None, "cpu").value, Some(0.2));
        assert_eq!(check(&target, None, "memory").shown, "50.0 MiB resident");
        let report = report(target);
        assert_eq!((report.status(), report.exit_code()), (Status::Ok, 0));
    }

    #[test]
    fn error_rate_is_the_share_of_5xx_in_the_window() {
        let o = Instant::now();
        // Many old failures, then 100 requests in the window of which `failed` are 5xx;
        // 4xx answers are the client's mistake, not an error of ours.
        let judge = |failed: u64| {
            let first = scrape(
                o,
                0,
                &[
                    ("200", 1000, "0.1"),
                    ("404", 50, "0.1"),
                    ("503", 500, "0.1"),
                ],
                (1, 10),
                1.0,
            );
            let second = scrape(
                o,
                5,
                &[
                    ("200", 1000 + 90 - failed, "0.1"),
                    ("404", 60, "0.1"),
                    ("503", 500 + failed, "0.1"),
                ],
                (1, 10),
                1.0,
            );
            let target = evaluate("http://x", Ok(healthy()), Ok(first), Ok(second));
            let c = check(&target, Some(SERVICE), "error rate").clone();
            (c.status, c.shown, report(target).exit_code())
        };
        assert_eq!(judge(0), (Status::Ok, "0.00 % (0 of 100)".to_owned(), 0));
        assert_eq!(judge(1).0, Status::Ok, "exactly 1 % is not above 1 %");
        assert_eq!(
            judge(2),
            (Status::Warning, "2.00 % (2 of 100)".to_owned(), 1)
        );
        assert_eq!(judge(5).0, Status::Warning);
        assert_eq!(
            judge(6),
            (Status::Critical, "6.00 % (6 of 100)".to_owned(), 2)
        );
    }

    #[test]
    fn p99_comes_from_the_window_not_the_history() {
        let o = Instant::now();
        let first = scrape(o, 0, &[("200", 10_000, "0.1")], (1, 10), 1.0);
        // 100 requests in the window; `slow` of them took between 1 s and 2 s (or 2-5 s).
        let p99 = |slow: u64, bound: &str| {
            let second = scrape(
                o,
                5,
                &[("200", 10_000 + 100 - slow, "0.1"), ("201", slow, bound)],
                (1, 10),
                1.0,
            );
            let target = evaluate("http://x", Ok(healthy()), Ok(first.clone()), Ok(second));
            let c = check(&target, Some(SERVICE), "p99 latency").clone();
            (c.status, c.value.unwrap_or(f64::NAN))
        };
        assert_eq!(p99(0, "1").0, Status::Ok);
        // 2 slow of 100: rank 99 is halfway through the (1, 2] bucket.
        let (status, seconds) = p99(2, "2");
        assert_eq!(status, Status::Warning);
        assert!((seconds - 1.5).abs() < 1e-9, "{seconds}");
        assert_eq!(p99(2, "5").0, Status::Critical);
    }

    #[test]
    fn a_quiet_window_falls_back_to_the_history_and_says_so() {
        let o = Instant::now();
        let first = scrape(o, 0, &[("200", 100, "1"), ("500", 10, "0.1")], (0, 10), 1.0);
        let second = scrape(o, 5, &[("200", 100, "1"), ("500", 10, "0.1")], (0, 10), 1.0);
        let target = evaluate("http://x", Ok(healthy()), Ok(first), Ok(second));
        let errors = check(&target, Some(SERVICE), "error rate");
        assert_eq!(errors.status, Status::Ok, "old failures are not judged");
        assert_eq!(errors.note.as_deref(), Some("no requests in the window"));
        assert_eq!(errors.shown, "0.00 % (0 of 0)");
        let p99 = check(&target, Some(SERVICE), "p99 latency");
        assert!(p99.value.is_some_and(|s| s > 0.1 && s <= 1.0), "{p99:?}");
        assert_eq!(
            p99.note.as_deref(),
            Some("no requests in the window: since the process started")
        );
        assert_eq!(check(&target, Some(SERVICE), "requests").value, Some(0.0));
    }

    #[test]
    fn a_service_without_any_request_yet_is_ok_with_no_p99() {
        let o = Instant::now();
        let target = evaluate(
            "http://x",
            Ok(healthy()),
            Ok(scrape(o, 0, &[], (0, 10), 1.0)),
            Ok(scrape(o, 5, &[], (0, 10), 1.0)),
        );
        let p99 = check(&target, Some(SERVICE), "p99 latency");
        assert_eq!((p99.status, p99.shown.as_str()), (Status::Ok, "-"));
        assert_eq!(report(target).exit_code(), 0);
    }

    #[test]
    fn the_pool_is_judged_on_its_share_in_use() {
        let o = Instant::now();
        let judge = |in_use: u32| {
            let target = evaluate(
                "http://x",
                Ok(healthy()),
                Ok(scrape(o, 0, &[], (0, 20), 1.0)),
                Ok(scrape(o, 5, &[], (in_use, 20), 1.0)),
            );
            check(&target, Some(SERVICE), "db connections").status
        };
        assert_eq!(judge(15), Status::Ok, "75 % is not above 75 %");
        assert_eq!(judge(16), Status::Warning);
        assert_eq!(judge(18), Status::Warning, "90 % is not above 90 %");
        assert_eq!(judge(19), Status::Critical);
    }

    #[test]
    fn a_component_down_is_critical_on_its_service() {
        let o = Instant::now();
        let doc = json!({"status": "DOWN", "components": {
            "db": {"status": "DOWN", "components": {
                SERVICE: {"status": "DOWN", "details": {"database": "postgres", "error": "pool timed out"}}}},
            "cache": {"status": "UP", "details": {"engine": "memory"}}}});
        let target = evaluate(
            "http://x",
            Ok(doc),
            Ok(scrape(o, 0, &[], (0, 10), 1.0)),
            Ok(scrape(o, 5, &[], (0, 10), 1.0)),
        );
        let db = check(&target, Some(SERVICE), "health db");
        assert_eq!(db.status, Status::Critical);
        assert_eq!(db.shown, "DOWN (postgres)");
        assert_eq!(db.note.as_deref(), Some("pool timed out"));
        assert_eq!(check(&target, None, "health").status, Status::Critical);
        assert_eq!(check(&target, None, "health cache").status, Status::Ok);
        assert_eq!(report(target).exit_code(), 2);
    }

    #[test]
    fn unknown_states_warn_and_missing_ones_are_critical() {
        let warn = component_check(None, "health", &json!({"status": "UNKNOWN"}));
        assert_eq!(warn.status, Status::Warning);
        let out = component_check(None, "health", &json!({"status": "OUT_OF_SERVICE"}));
        assert_eq!(out.status, Status::Critical);
        let none = component_check(None, "health", &json!({}));
        assert_eq!(
            (none.status, none.shown.as_str()),
            (Status::Critical, "no status")
        );
    }

    #[test]
    fn an_unreachable_url_is_critical() {
        let target = failed(
            "http://x",
            Failure::new("unreachable", "connection refused"),
        );
        assert_eq!(check(&target, None, "health").shown, "unreachable");
        assert_eq!(check(&target, None, "metrics").status, Status::Critical);
        assert_eq!(
            (target.rates, target.window_seconds),
            (Rates::Unknown, None)
        );
        assert_eq!(report(target).exit_code(), 2);
    }

    #[test]
    fn scrapes_of_different_processes_are_not_subtracted() {
        let o = Instant::now();
        let first = scrape(o, 0, &[("200", 5000, "0.1")], (0, 10), 100.0);
        // A younger process (a restart, or the other replica) that has seen 100 requests
        // in its 50 s of life.
        let mut second = scrape(o, 5, &[("200", 100, "0.1")], (0, 10), 2.0);
        for s in &mut second.samples {
            if s.name == START_TIME {
                s.value = 2005.0 - 50.0;
            }
        }
        let target = evaluate("http://x", Ok(healthy()), Ok(first), Ok(second));
        assert_eq!(target.window_seconds, None);
        assert!(
            target
                .note
                .as_deref()
                .is_some_and(|n| n.contains("different processes"))
        );
        let rate = check(&target, Some(SERVICE), "requests");
        assert_eq!(rate.value, Some(2.0));
        assert_eq!(rate.note.as_deref(), Some("since the process started"));
        assert_eq!(check(&target, None, "cpu").value, Some(0.04));
    }

    #[test]
    fn one_failed_scrape_is_critical_and_the_other_still_informs() {
        let o = Instant::now();
        let target = evaluate(
            "http://x",
            Ok(healthy()),
            Ok(scrape(o, 0, &[("200", 10, "0.1")], (9, 10), 1.0)),
            Err(Failure::new("no answer", "no answer within 5 s")),
        );
        let metrics = check(&target, None, "metrics");
        assert_eq!(metrics.status, Status::Critical);
        assert_eq!(
            check(&target, Some(SERVICE), "db connections").status,
            Status::Warning
        );
        assert_eq!(
            check(&target, Some(SERVICE), "p99 latency").note.as_deref(),
            Some("since the process started")
        );
    }

    #[tokio::test]
    async fn urls_that_are_not_plain_http_are_refused_before_any_request() {
        let urls = ["localhost:8081", "https://auth-service:8081", "http://"].map(str::to_owned);
        let report = health_check(&urls, Duration::ZERO).await;
        for target in &report.targets {
            let health = check(target, None, "health");
            assert_eq!(health.shown, "invalid URL", "{}", target.url);
            assert_eq!(health.status, Status::Critical);
        }
        assert_eq!(report.exit_code(), 2);
    }

    #[test]
    fn nothing_to_check_is_not_ok() {
        let report = Report {
            interval: Duration::from_secs(5),
            targets: Vec::new(),
        };
        assert_eq!(report.exit_code(), 2);
    }

    #[test]
    fn the_table_is_aligned_and_the_json_says_the_same() {
        let o = Instant::now();
        let healthy_target = evaluate(
            "http://a:8081",
            Ok(healthy()),
            Ok(scrape(o, 0, &[("200", 10, "0.1")], (1, 10), 1.0)),
            Ok(scrape(
                o,
                5,
                &[("200", 20, "0.1"), ("500", 1, "2")],
                (1, 10),
                1.0,
            )),
        );
        let down = failed(
            "http://b:8081",
            Failure::new("unreachable", "connection refused"),
        );
        let report = Report {
            interval: Duration::from_secs(5),
            targets: vec![healthy_target, down],
        };
        let table = report.table();
        let header_lines: Vec<&str> = table.lines().filter(|l| l.contains("THRESHOLD")).collect();
        assert_eq!(header_lines.len(), 2, "{table}");
        let status_column = header_lines[0].find("STATUS").expect("STATUS heading");
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("  ") && !l.contains("THRESHOLD"))
            .collect();
        assert_eq!(rows.len(), report.checks().count(), "{table}");
        for row in &rows {
            let status = &row[status_column..];
            assert!(
                ["OK", "INFO", "WARNING", "CRITICAL"]
                    .iter()
                    .any(|s| status.starts_with(s)),
                "misaligned row: {row}\n{table}"
            );
        }
        let last = table.lines().last().unwrap_or_default();
        assert!(last.starts_with("CRITICAL: "), "{last}");
        assert!(last.ends_with("across 2 URLs (exit 2)"), "{last}");

        let json = report.json();
        assert_eq!(json["status"], "CRITICAL");
        assert_eq!(json["exit_code"], 2);
        assert_eq!(
            json["summary"]["critical"],
            report
                .checks()
                .filter(|c| c.status == Status::Critical)
                .count()
        );
        let first = &json["targets"][0];
        assert_eq!(first["url"], "http://a:8081");
        assert_eq!(first["window_seconds"], 5.0);
        assert_eq!(first["rates"], "window");
        assert_eq!(json["targets"][1]["rates"], "unknown");
        let error_rate = first["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|c| c["check"] == "error rate"))
            .expect("error rate in json");
        assert_eq!(error_rate["service"], SERVICE);
        assert_eq!(error_rate["status"], "CRITICAL");
        assert_eq!(error_rate["unit"], "ratio");
        assert!(json["targets"][1]["checks"][0]["service"].is_null());
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: HealthCheckArgs,
    }

    #[test]
    fn urls_repeat_or_come_comma_separated_and_the_interval_is_a_duration() {
        let cli = Cli::try_parse_from([
            "x",
            "--url",
            "http://auth-service:8081",
            "--url",
            "http://search-service:8081,http://cart-service:8081",
            "--interval",
            "200ms",
            "--format",
            "json",
        ])
        .expect("parses");
        assert_eq!(cli.args.urls.len(), 3);
        assert_eq!(cli.args.interval, Duration::from_millis(200));
        assert_eq!(cli.args.format, OutputFormat::Json);
        assert!(Cli::try_parse_from(["x", "--interval", "soon"]).is_err());
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(format_seconds(2.5), "2.50 s");
        assert_eq!(format_seconds(0.0247), "24.7 ms");
        assert_eq!(format_seconds(0.000075), "75 µs");
    }
}
