//! `ota ops health-check` against real servers: a running all-in-one server is reported
//! OK (exit 0); PostgreSQL cut under it, or a URL nobody answers, is critical (exit 2).

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ota::ops::{Check, Rates, Report, Status, Target, health_check};
use ota_testkit as testkit;
use serde_json::{Value, json};

use crate::common::{Backend, FaultyLink, OtaProcess, TestApp, backends, serve_args};

/// Short so the tests stay quick, long enough for requests to land between the scrapes.
const INTERVAL: Duration = Duration::from_millis(300);

/// `ota …` on the command line.
async fn ota(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ota"))
            .args(args)
            .output()
            .expect("ota runs")
    })
    .await
    .expect("ota finished")
}

/// Runs `work` while requests keep arriving, so the window between the scrapes has some.
async fn with_traffic<T>(api: &str, work: impl Future<Output = T>) -> T {
    let sent = Arc::new(AtomicUsize::new(0));
    let traffic = tokio::spawn({
        let sent = sent.clone();
        let http = crate::common::http();
        let url = format!("{api}/api/v1/auth/me");
        async move {
            loop {
                let _ = http.get(&url).send().await;
                sent.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    while sent.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let outcome = work.await;
    traffic.abort();
    outcome
}

fn find<'a>(target: &'a Target, service: Option<&str>, check: &str) -> &'a Check {
    target
        .checks
        .iter()
        .find(|c| c.service.as_deref() == service && c.check == check)
        .unwrap_or_else(|| panic!("no {check} check for {service:?} at {}", target.url))
}

fn health_is_up(report: &Report) -> bool {
    report
        .checks()
        .filter(|c| c.check.starts_with("health"))
        .all(|c| c.status == Status::Ok)
}

#[tokio::test]
async fn a_running_all_in_one_server_is_reported_ok() {
    for backend in backends().await {
        let l = backend.label;
        let server = OtaProcess::start(&backend).await;
        // The morning after some traffic: an account, a signed-in call, a refused one.
        let http = crate::common::http();
        let session: Value = http
            .post(format!("{}/api/v1/auth/register", server.api))
            .json(&json!({
                "email": format!("early-{}@example.com", uuid::Uuid::new_v4().simple()),
                "password": "violet-tulip-harbour",
                "name": "Early Bird"
            }))
            .send()
            .await
            .expect("register")
            .json()
            .await
            .expect("session");
        let token = session["access_token"].as_str().expect("token");
        for bearer in [Some(token), None] {
            let mut me = http.get(format!("{}/api/v1/auth/me", server.api));
            if let Some(t) = bearer {
                me = me.bearer_auth(t);
            }
            me.send().await.expect("me");
        }

        let report = with_traffic(
            &server.api,
            health_check(std::slice::from_ref(&server.management), INTERVAL),
        )
        .await;
        let table = report.table();
        assert_eq!(report.exit_code(), 0, "{l}:\n{table}");
        assert_eq!(report.status(), Status::Ok, "{l}:\n{table}");
        let target = &report.targets[0];
        assert_eq!(target.rates, Rates::Window, "{l}:\n{table}");
        assert_eq!(find(target, None, "health").shown, "UP", "{l}");
        let engine = if backend.database_url.is_some() {
            "UP (postgres)"
        } else {
            "UP (sqlite)"
        };
        assert_eq!(
            find(target, Some("auth-service"), "health db").shown,
            engine,
            "{l}"
        );
        let requests = find(target, Some("auth-service"), "requests");
        assert!(
            requests.value.is_some_and(|rate| rate > 0.0),
            "{l}: requests in the window:\n{table}"
        );
        let p99 = find(target, Some("auth-service"), "p99 latency");
        assert_eq!(p99.note, None, "{l}: p99 of the window:\n{table}");
        assert_eq!(
            find(target, Some("auth-service"), "db connections").status,
            Status::Ok,
            "{l}"
        );
        assert!(
            table.contains("CHECK") && table.contains("THRESHOLD"),
            "{table}"
        );

        // The command prints the same verdict and exits with it.
        let output = ota([
            "ops",
            "health-check",
            "--url",
            &server.management,
            "--interval",
            "200ms",
            "--format",
            "json",
        ]
        .map(str::to_owned)
        .to_vec())
        .await;
        let doc: Value = serde_json::from_slice(&output.stdout).expect("json report");
        assert_eq!(output.status.code(), Some(0), "{l}: {doc:#}");
        assert_eq!(doc["status"], "OK", "{l}");
        assert_eq!(doc["targets"][0]["url"], server.management.as_str(), "{l}");
    }
}

/// A link to the PostgreSQL server of `url` that the test can cut, and `url` through it.
async fn linked(url: &str) -> (FaultyLink, String) {
    let mut through = reqwest::Url::parse(url).expect("PostgreSQL URL");
    let host = through
        .host_str()
        .expect("host")
        .replace("localhost", "127.0.0.1");
    let server: SocketAddr = format!("{host}:{}", through.port().unwrap_or(5432))
        .parse()
        .expect("ip:port");
    let link = FaultyLink::to(server).await;
    through.set_ip_host(link.addr.ip()).expect("host");
    through.set_port(Some(link.addr.port())).expect("port");
    (link, through.to_string())
}

#[tokio::test]
async fn postgres_cut_under_the_server_is_critical() {
    let Some(server) = testkit::postgres_url() else {
        // Covered on PostgreSQL whenever OTA_TEST_DATABASE_URL is set (always in CI).
        return;
    };
    let url = testkit::fresh_postgres_database(&server).await;
    let (link, through) = linked(&url).await;
    let backend = Backend {
        label: "postgres cut",
        database_url: Some(through),
        redis_url: None,
    };
    // A critical verdict stands whatever other tests add to the shared metrics, so this
    // one runs in the test process.
    let app = TestApp::spawn_with(backend.label, serve_args(&backend, &testkit::temp_dir())).await;
    app.register().await;

    link.cut().await;
    let report = health_check(std::slice::from_ref(&app.management), INTERVAL).await;
    let table = report.table();
    assert_eq!(report.exit_code(), 2, "{table}");
    let target = &report.targets[0];
    assert_eq!(
        find(target, None, "health").status,
        Status::Critical,
        "{table}"
    );
    let db = find(target, Some("auth-service"), "health db");
    assert_eq!(db.status, Status::Critical, "{table}");
    assert_eq!(db.shown, "DOWN (postgres)", "{table}");
    assert!(db.note.is_some(), "the error is shown: {table}");
    assert!(
        table
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("CRITICAL")),
        "{table}"
    );

    // Back to UP once PostgreSQL returns: the check follows the server's recovery.
    link.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = health_check(std::slice::from_ref(&app.management), INTERVAL).await;
        if health_is_up(&report) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "health not UP 20 s after PostgreSQL returned:\n{}",
            report.table()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_url_nobody_answers_is_critical() {
    let backend = backends().await.remove(0);
    let app = TestApp::spawn(&backend).await;
    let nobody = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };

    let report = health_check(&[app.management.clone(), nobody.clone()], INTERVAL).await;
    let table = report.table();
    assert_eq!(report.exit_code(), 2, "{table}");
    assert!(health_is_up(&Report {
        interval: INTERVAL,
        targets: vec![report.targets[0].clone()],
    }));
    let dead = &report.targets[1];
    assert_eq!(dead.url, nobody);
    assert_eq!(dead.rates, Rates::Unknown);
    let health = find(dead, None, "health");
    assert_eq!(
        (health.status, health.shown.as_str()),
        (Status::Critical, "unreachable"),
        "{table}"
    );
    assert_eq!(find(dead, None, "metrics").status, Status::Critical);

    // The API port given by mistake answers, but not as a management server.
    let report = health_check(std::slice::from_ref(&app.api), INTERVAL).await;
    let table = report.table();
    let health = find(&report.targets[0], None, "health");
    assert_eq!(
        (health.status, health.shown.as_str()),
        (Status::Critical, "bad answer"),
        "{table}"
    );
    assert!(
        health.note.as_deref().is_some_and(|n| n.contains("404")),
        "{table}"
    );

    // From the command line: exit status 2, and the table says which URL and why.
    let output = ota([
        "ops",
        "health-check",
        "--url",
        &nobody,
        "--interval",
        "200ms",
    ]
    .map(str::to_owned)
    .to_vec())
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains(&nobody), "{stdout}");
    assert!(stdout.contains("unreachable"), "{stdout}");
    assert!(stdout.contains("CRITICAL"), "{stdout}");
    app.stop().await;
}

/// A first start seeds the demo catalog and loads the index: seconds to a minute. The
/// management port answers all the while (alive, not ready, health DOWN "starting")
/// instead of holding the connection until the services are up.
#[tokio::test]
async fn the_management_port_answers_while_the_services_start() {
    let dir = testkit::temp_dir();
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = free.local_addr().expect("addr").port();
    drop(free);
    struct Stopped(std::process::Child);
    impl Drop for Stopped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Stopped(
        Command::new(env!("CARGO_BIN_EXE_ota"))
            .env_clear()
            .args(["serve", "--port", "0", "--bind", "127.0.0.1"])
            .args(["--management-port", &port.to_string(), "--data-dir"])
            .arg(&dir)
            .env("JWT_SECRET", crate::common::SECRET)
            .env("OTA_AUTO_SEED", "demo")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("ota starts"),
    );
    let http = crate::common::http_builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let get = |path: &'static str| {
        let http = http.clone();
        async move {
            let res = http
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
                .ok()?;
            let status = res.status().as_u16();
            Some((status, res.json::<Value>().await.unwrap_or(Value::Null)))
        }
    };
    // Every probe answers within its 2 s timeout from the moment the port is bound.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen_starting = false;
    loop {
        assert!(Instant::now() < deadline, "never became ready");
        let Some((live, _)) = get("/actuator/health/liveness").await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        assert_eq!(live, 200, "alive from the start");
        let (ready, doc) = get("/actuator/health/readiness").await.expect("answered");
        if ready == 200 {
            break;
        }
        assert_eq!(ready, 503, "{doc}");
        let (health, doc) = get("/actuator/health").await.expect("answered");
        if health == 503 && doc["components"]["startup"]["status"] == "DOWN" {
            seen_starting = true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(seen_starting, "the start-up was never reported");
    let (health, doc) = get("/actuator/health").await.expect("answered");
    assert_eq!(health, 200, "{doc}");
    assert!(doc["components"]["db"].is_object(), "{doc}");
}
