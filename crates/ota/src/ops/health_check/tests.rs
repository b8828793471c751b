//! The health check's tests: every outcome judged from scrapes made up in the test, the
//! report's table and JSON, and URLs refused before any request.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::collect::{Failure, Scrape, failed};
use super::evaluate::{START_TIME, component_check, evaluate, format_seconds};
use super::*;
use crate::ops::prometheus;

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

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(format_seconds(2.5), "2.50 s");
    assert_eq!(format_seconds(0.0247), "24.7 ms");
    assert_eq!(format_seconds(0.000075), "75 µs");
}
