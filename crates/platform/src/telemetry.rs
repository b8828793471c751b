//! Logs (JSON lines on stdout), metrics (Prometheus) and W3C trace context.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global log subscriber: JSON unless `OTA_LOG_FORMAT=text`, filtered by
/// `RUST_LOG` (default `info`). Safe to call more than once.
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper=warn,tower_http=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(false)
                    .with_writer(std::io::stdout),
            )
            .try_init()
    } else {
        registry
            // Human-readable lines go to stderr (coloured on a terminal only), so that a
            // command's own output on stdout stays clean (`ota catalog import --json`).
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
    // A second init (tests start many apps in one process) keeps the first subscriber.
    drop(result);
}

/// Request latency buckets, in seconds: fine below 50 ms where our searches live, and up
/// to the runbook's 2 s critical threshold and beyond.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0,
];

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide metrics recorder (installed on first use).
pub fn prometheus() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_histogram!(
        "http_server_requests_seconds",
        metrics::Unit::Seconds,
        "HTTP requests served, by service, method, matched route and status"
    );
    metrics::describe_gauge!(
        "db_pool_connections",
        "Database connections open, by service and state (in_use, idle)"
    );
    metrics::describe_gauge!(
        "db_pool_max_connections",
        "Most database connections the service may open"
    );
    metrics::describe_counter!(
        "cache_requests_total",
        "Cache look-ups, by service and result (hit, miss)"
    );
    metrics::describe_gauge!(
        "outbox_pending",
        "Notification deliveries not yet made, by channel and event kind (database-wide)"
    );
    metrics::describe_gauge!(
        "outbox_dead",
        "Notification deliveries that gave up after their retry window, by channel and kind"
    );
    metrics::describe_gauge!(
        "outbox_oldest_pending_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest notification delivery not yet made, by channel (email, webhook)"
    );
    metrics::describe_counter!(
        "outbox_deliveries_total",
        "Notification delivery attempts, by channel, kind and outcome (delivered, retried, deferred, dead)"
    );
}

// ---------------------------------------------------------------------------------------
// W3C trace context

/// The trace this request belongs to (W3C `traceparent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
    pub sampled: bool,
}

tokio::task_local! {
    /// The trace of the request being served, read by the HTTP client to propagate it.
    pub static CURRENT_TRACE: TraceContext;
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl TraceContext {
    pub fn new_root() -> Self {
        Self {
            trace_id: random_hex(16),
            span_id: random_hex(8),
            sampled: true,
        }
    }

    /// Parses a `traceparent` header; `None` when it is not a valid version-00 value.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (Some(version), Some(trace), Some(parent), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let hex = |s: &str, n: usize| {
            s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if !hex(version, 2)
            || version == "ff"
            || !hex(trace, 32)
            || !hex(parent, 16)
            || !hex(flags, 2)
        {
            return None;
        }
        if trace.bytes().all(|b| b == b'0') || parent.bytes().all(|b| b == b'0') {
            return None;
        }
        if version == "00" && parts.next().is_some() {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Self {
            trace_id: trace.to_owned(),
            span_id: parent.to_owned(),
            sampled: flags & 1 == 1,
        })
    }

    /// This request's own span in the same trace.
    pub fn child(&self) -> Self {
        Self {
            trace_id: self.trace_id.clone(),
            span_id: random_hex(8),
            sampled: self.sampled,
        }
    }

    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{}",
            self.trace_id,
            self.span_id,
            if self.sampled { "01" } else { "00" }
        )
    }

    /// The trace of the current request, if any.
    pub fn current() -> Option<Self> {
        CURRENT_TRACE.try_with(Clone::clone).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::TraceContext;

    #[test]
    fn valid_traceparent_is_kept_and_invalid_ones_are_not() {
        let t = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("valid");
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(t.sampled);
        let child = t.child();
        assert_eq!(child.trace_id, t.trace_id);
        assert_ne!(child.span_id, t.span_id);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn new_roots_render_as_valid_headers() {
        let t = TraceContext::new_root();
        assert_eq!(TraceContext::parse(&t.header()), Some(t));
    }
}
