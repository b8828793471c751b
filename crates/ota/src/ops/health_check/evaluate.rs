//! Judging what one URL answered against the runbook's thresholds: health components,
//! request rate, error rate, p99 latency, database pool use, CPU and memory.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::collect::{Failure, Scrape};
use super::report::{Check, Rates, Status, Target};
use crate::ops::prometheus::{self, Histogram, Quantile, Sample};

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

const REQUESTS: &str = "http_server_requests_seconds_count";
const LATENCY_BUCKETS: &str = "http_server_requests_seconds_bucket";
const POOL_CONNECTIONS: &str = "db_pool_connections";
const POOL_MAX: &str = "db_pool_max_connections";
const CPU_SECONDS: &str = "process_cpu_seconds_total";
const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
pub(super) const START_TIME: &str = "process_start_time_seconds";

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
pub(super) fn evaluate(
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

pub(super) fn component_check(service: Option<&str>, check: &str, component: &Value) -> Check {
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

pub(super) fn format_seconds(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 0.001 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{:.0} µs", seconds * 1e6)
    }
}
