//! Content in, as operators and tools bring it: an airline's SSIM schedule and fare file
//! through the real `ota catalog import` command against a running system's database,
//! and through the internal import job; both reach search within the index refresh.

use std::process::{Command as Process, Output};
use std::time::Duration;

use ota_testkit as testkit;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, SECRET, TestApp, backends, serve_args};

const W30: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../search/tests/data/w30.ssim");
const W30_FARES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../search/tests/data/w30-fares.csv"
);

/// Runs the real `ota` binary on the system's database (the data directory's SQLite
/// files, or PostgreSQL).
pub(crate) fn ota(backend: &Backend, dir: &std::path::Path, args: &[&str]) -> Output {
    let mut command = Process::new(env!("CARGO_BIN_EXE_ota"));
    command
        .env_clear()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("DB_SSLMODE", "disable");
    if let Some(url) = &backend.database_url {
        command.env("DATABASE_URL", url);
    }
    command.output().expect("ota runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// (flight, local departure, local arrival) of each one-way nonstop offer.
async fn nonstops(app: &TestApp, from: &str, to: &str, on: &str) -> Vec<(String, String, String)> {
    let (status, body) = app
        .get(
            &format!("/api/v1/flights/search?origin={from}&destination={to}&departure_date={on}&max_stops=0"),
            None,
        )
        .await;
    if status != StatusCode::OK {
        return Vec::new();
    }
    let mut out: Vec<_> = body["offers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let s = &o["slices"][0]["segments"][0];
            (
                s["flight_number"].as_str().unwrap_or_default().to_owned(),
                s["departure_at"].as_str().unwrap_or_default().to_owned(),
                s["arrival_at"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn row(f: &str, dep: &str, arr: &str) -> (String, String, String) {
    (f.to_owned(), dep.to_owned(), arr.to_owned())
}

#[tokio::test]
async fn a_schedule_imported_from_the_command_line_is_searched_without_a_restart() {
    for backend in backends().await {
        let l = backend.label;
        let dir = testkit::temp_dir();
        let app = TestApp::spawn_with(l, serve_args(&backend, &dir)).await;
        assert_eq!(
            nonstops(&app, "LHR", "JFK", "2030-11-04").await,
            [],
            "{l}: nothing yet"
        );

        let out = ota(
            &backend,
            &dir,
            &["catalog", "import", "--ssim", W30, "--fares", W30_FARES],
        );
        assert!(out.status.success(), "{l}: {}", text(&out.stderr));
        let said = text(&out.stdout);
        assert!(
            said.contains("10 schedule records for OT, QZ, VY"),
            "{l}: {said}"
        );
        assert!(said.contains("13 fares"), "{l}: {said}");

        let expected = [row(
            "OT101",
            "2030-11-04T09:00:00+00:00",
            "2030-11-04T12:00:00-05:00",
        )];
        testkit::eventually(
            "the import is searchable",
            Duration::from_secs(10),
            || async { nonstops(&app, "LHR", "JFK", "2030-11-04").await == expected },
        )
        .await;
        assert_eq!(
            nonstops(&app, "LHR", "JFK", "2030-10-26").await,
            [row(
                "OT101",
                "2030-10-26T09:00:00+01:00",
                "2030-10-26T12:00:00-04:00"
            )],
            "{l}: before the clocks change"
        );
        assert_eq!(
            nonstops(&app, "BCN", "LIS", "2030-11-05").await,
            [],
            "{l}: VY8461 does not fly on Tuesdays"
        );

        // A damaged line: refused by line number, nothing changes.
        let damaged_path = dir.join("damaged.ssim");
        let damaged: String = std::fs::read_to_string(W30)
            .expect("sample")
            .lines()
            .enumerate()
            .map(|(i, line)| {
                if i == 11 {
                    line.replacen("JFK13001300", "JFK1300130X", 1)
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&damaged_path, damaged).expect("written");
        let out = ota(
            &backend,
            &dir,
            &[
                "catalog",
                "import",
                "--ssim",
                damaged_path.to_str().expect("path"),
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{l}");
        let why = text(&out.stderr);
        assert!(
            why.contains("nothing was imported") && why.contains("line 12"),
            "{l}: {why}"
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            nonstops(&app, "LHR", "JFK", "2030-11-04").await,
            expected,
            "{l}"
        );

        let out = ota(&backend, &dir, &["catalog", "imports"]);
        let log = text(&out.stdout);
        let statuses: Vec<&str> = log
            .lines()
            .filter_map(|line| line.split_whitespace().nth(2))
            .collect();
        assert_eq!(statuses, ["failed", "done", "done"], "{l}: {log}");
        app.stop().await;
    }
}

/// Polls an import job until it is no longer running.
async fn job_end(app: &TestApp, url: &str, token: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = app.get(url, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] != "running" || tokio::time::Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_internal_import_job_answers_at_once_and_reports_how_it_went() {
    let keys = ota_platform::tokens::KeyRing::parse(SECRET).expect("ring");
    let service = keys.service_token("booking-service");
    for backend in backends().await {
        let l = backend.label;
        let app = TestApp::spawn(&backend).await;
        let post = |body: Value, token: Option<String>| {
            let app = &app;
            async move {
                let (status, headers, body) = app
                    .call(
                        reqwest::Method::POST,
                        "/internal/v1/catalog/imports",
                        Some(body),
                        token.as_deref(),
                    )
                    .await;
                let location = headers
                    .get("location")
                    .map(|v| v.to_str().unwrap_or_default().to_owned());
                (status, location, body)
            }
        };
        let ssim = std::fs::read_to_string(W30).expect("sample");
        let fares = std::fs::read_to_string(W30_FARES).expect("fares");

        let (status, _, problem) = post(json!({ "ssim": ssim }), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}: {problem}");
        let (status, _, problem) = post(json!({ "merge": true }), Some(service.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "ssim", "{l}");

        // Real files are large: this one is padded past 3 MB with zero-filled records.
        let (header, rest) = ssim.split_once('\n').expect("a header");
        let padded = format!(
            "{header}\n{}{rest}",
            format!("{}\n", "0".repeat(200)).repeat(17_000)
        );
        assert!(padded.len() > 3 << 20);
        let (status, location, job) = post(
            json!({ "ssim": padded, "fares": fares, "source": "w30 by API" }),
            Some(service.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{l}: {job}");
        let url = job["status_url"].as_str().expect("status url").to_owned();
        assert_eq!(location.as_deref(), Some(url.as_str()), "{l}");
        let done = job_end(&app, &url, &service).await;
        assert_eq!(done["status"], "done", "{l}: {done}");
        assert_eq!(done["report"]["legs"], 10, "{l}: {done}");
        assert_eq!(done["report"]["carriers"], json!(["OT", "QZ", "VY"]), "{l}");
        testkit::eventually(
            "the job's import is searchable",
            Duration::from_secs(10),
            || async { !nonstops(&app, "DXB", "SIN", "2030-11-05").await.is_empty() },
        )
        .await;

        // A refused file is a failed job with every error; nothing was imported.
        let damaged = ssim.replacen("DXB10151015", "DXB1015101X", 1);
        let (status, _, job) = post(json!({ "ssim": damaged }), Some(service.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{l}");
        let url = job["status_url"].as_str().expect("status url").to_owned();
        let failed = job_end(&app, &url, &service).await;
        assert_eq!(failed["status"], "failed", "{l}: {failed}");
        assert!(
            failed["errors"][0]
                .as_str()
                .is_some_and(|e| e.starts_with("line 28, ")),
            "{l}: {failed}"
        );
        let (status, _) = app
            .get("/internal/v1/catalog/imports/999999", Some(&service))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{l}");
        app.stop().await;
    }
}
