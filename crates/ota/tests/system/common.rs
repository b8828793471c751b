//! Starts the real `ota` application on free ports and talks HTTP to it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use ota::{Cli, Command, ServeArgs};
use ota_testkit as testkit;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

pub const SECRET: &str = "integration-test-secret-integration-test-secret";

/// A database engine and cache engine to run the application on.
#[derive(Clone, Debug)]
pub struct Backend {
    pub label: &'static str,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
}

/// SQLite with the in-process cache always; PostgreSQL with Redis when the test
/// servers are configured (a fresh database each time).
pub async fn backends() -> Vec<Backend> {
    let mut all = vec![Backend {
        label: "sqlite+memory",
        database_url: None,
        redis_url: None,
    }];
    if let Some(server) = testkit::postgres_url() {
        all.push(Backend {
            label: "postgres+redis",
            database_url: Some(testkit::fresh_postgres_database(&server).await),
            redis_url: testkit::redis_url(),
        });
    }
    if testkit::postgres_url().is_none() && testkit::redis_url().is_some() {
        all.push(Backend {
            label: "sqlite+redis",
            database_url: None,
            redis_url: testkit::redis_url(),
        });
    }
    all
}

pub struct TestApp {
    pub label: &'static str,
    pub api: String,
    pub management: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

pub fn serve_args(backend: &Backend, data_dir: &std::path::Path) -> ServeArgs {
    let cli = Cli::try_parse_from([
        "ota",
        "serve",
        "--port",
        "0",
        "--management-port",
        "0",
        "--bind",
        "127.0.0.1",
        "--data-dir",
        data_dir.to_str().unwrap_or("."),
    ])
    .expect("valid command line");
    let Command::Serve(mut args) = cli.command else {
        unreachable!("parsed a serve command")
    };
    args.settings.db = testkit::db_settings(backend.database_url.clone());
    args.settings.cache.redis_url = backend.redis_url.clone().map(Into::into);
    args.settings.cache.cache_prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    args.settings.jwt.jwt_secret = Some(SECRET.to_owned().into());
    args.settings.jwt.jwt_secret_file = None;
    args.settings.http.drain_timeout = Duration::from_secs(5);
    // The small catalog seeds in well under a second.
    args.search.auto_seed = ota_search::AutoSeed::Small;
    args.search.index_refresh = Duration::from_millis(200);
    args
}

impl TestApp {
    pub async fn spawn(backend: &Backend) -> TestApp {
        let dir = testkit::temp_dir();
        let args = serve_args(backend, &dir);
        Self::spawn_with(backend.label, args).await
    }

    pub async fn spawn_with(label: &'static str, args: ServeArgs) -> TestApp {
        ota_platform::telemetry::prometheus();
        let app = ota::Application::build(args)
            .await
            .unwrap_or_else(|e| panic!("{label}: the application did not start: {e:#}"));
        let api = format!("http://{}", app.api_addr());
        let management = format!("http://{}", app.management_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            label,
            api,
            management,
            http: http_builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Sends SIGTERM's equivalent and waits for a clean stop.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(15), t)
                .await
                .expect("stopped in time")
                .expect("task");
            result.expect("clean stop");
        }
    }

    pub fn begin_stop(&mut self) -> JoinHandle<anyhow::Result<()>> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.take().expect("running")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {path}: {e}", self.label));
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, headers, json)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::POST, path, Some(body), None).await;
        (s, v)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::GET, path, None, token).await;
        (s, v)
    }

    pub async fn management(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.management))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {path}: {e}", self.label));
        (res.status(), res.text().await.expect("body"))
    }

    /// Registers a fresh user; returns (email, password, session).
    pub async fn register(&self) -> (String, String, Value) {
        let email = format!("traveller-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "violet-tulip-harbour".to_owned();
        let (status, body) = self
            .post(
                "/api/v1/auth/register",
                serde_json::json!({"email": email, "password": password, "name": "Test Traveller"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{}: {body}", self.label);
        (email, password, body)
    }

    /// Registers a fresh user; answers its access token.
    pub async fn signed_in(&self) -> String {
        let (_, _, session) = self.register().await;
        session["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// Stores a sandbox card of `number` (expiring in December 2031) for the holder of
    /// `token`; answers the payment method's id.
    pub async fn add_card(&self, token: &str, number: &str) -> String {
        let (status, _, method) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/payment-methods",
                Some(serde_json::json!({"card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123", "holder_name": "Ada Lovelace"}})),
                Some(token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{}: {method}", self.label);
        method["id"]
            .as_str()
            .expect("a payment method id")
            .to_owned()
    }
}

/// The offer `id` (signed by search-service) with its claims changed by `change` (on
/// their JSON) and signed again: a valid offer of whatever a test needs.
pub fn resigned(id: &str, change: impl FnOnce(&mut Value)) -> String {
    let keys = ota_platform::tokens::KeyRing::parse(SECRET).expect("ring");
    let claims = ota_search::offers::OfferClaims::verify(id, &keys).expect("valid");
    let mut value = serde_json::to_value(&claims).expect("claims as JSON");
    change(&mut value);
    serde_json::from_value::<ota_search::offers::OfferClaims>(value)
        .expect("claims")
        .sign(&keys)
}

/// The fields a problem's `errors` name, in order.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A TCP link to a real server that a test can cut and restore, to see how the
/// application behaves when its database or Redis goes away and comes back. Cut: every
/// connection is dropped and new ones refused (the server is gone). Frozen: connections
/// stay open but nothing is forwarded either way and new ones get nowhere (a stalled
/// network path, no RST); restored, what was held flows on.
pub struct FaultyLink {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    frozen: tokio::sync::watch::Sender<bool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl FaultyLink {
    pub async fn to(target: SocketAddr) -> FaultyLink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let down = Arc::new(AtomicBool::new(false));
        let (frozen, _) = tokio::sync::watch::channel(false);
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let down = down.clone();
            let frozen = frozen.clone();
            let connections = connections.clone();
            tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    if down.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let mut thawed = frozen.subscribe();
                    let task = tokio::spawn(async move {
                        // A connection opened during a freeze reaches nothing until it thaws.
                        if thawed.wait_for(|f| !*f).await.is_err() {
                            return;
                        }
                        let Ok(outbound) = TcpStream::connect(target).await else {
                            return;
                        };
                        let (from_client, to_client) = inbound.into_split();
                        let (from_server, to_server) = outbound.into_split();
                        tokio::select! {
                            () = pump(from_client, to_server, thawed.clone()) => {}
                            () = pump(from_server, to_client, thawed) => {}
                        }
                    });
                    connections.lock().await.push(task);
                }
            })
        };
        FaultyLink {
            addr,
            down,
            frozen,
            connections,
            accept,
        }
    }

    /// Drops every open connection and refuses new ones.
    pub async fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for c in self.connections.lock().await.drain(..) {
            c.abort();
        }
    }

    /// Forwards nothing more, either way, on any connection, and connects nothing new;
    /// every connection stays open.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
        self.frozen.send_replace(false);
    }
}

/// Copies one direction of a link, holding each chunk while the link is frozen.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut thawed: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if thawed.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl Drop for FaultyLink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// The real `ota` binary serving everything, in a process of its own.
///
/// The metrics recorder is global to a process: an application started inside the test
/// process reports the requests of every other test as well (the fault tests' 503s and
/// slow answers among them), so "everything is OK" can only be asserted of a process
/// that serves this test alone.
pub struct OtaProcess {
    child: Child,
    pub api: String,
    pub management: String,
    pub log: PathBuf,
}

impl OtaProcess {
    pub async fn start(backend: &Backend) -> OtaProcess {
        Self::start_with(backend, &[]).await
    }

    /// Started with extra environment variables (such as `RUST_LOG`).
    pub async fn start_with(backend: &Backend, env: &[(&str, &str)]) -> OtaProcess {
        Self::start_in(backend, &testkit::temp_dir(), env).await
    }

    /// Started on the data directory `dir` (a restart on the same embedded storage).
    pub async fn start_in(
        backend: &Backend,
        dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> OtaProcess {
        let dir = dir.to_path_buf();
        let log = dir.join(format!("ota-{}.log", uuid::Uuid::new_v4().simple()));
        let stdout = std::fs::File::create(&log).expect("log file");
        let stderr = stdout.try_clone().expect("log file");
        let mut command = Process::new(env!("CARGO_BIN_EXE_ota"));
        // Only the settings given here, none from the environment the tests run in.
        command
            .env_clear()
            .args(["serve", "--port", "0", "--management-port", "0"])
            .args(["--bind", "127.0.0.1", "--log-format", "json", "--data-dir"])
            .arg(&dir)
            .env("JWT_SECRET", SECRET)
            .env(
                "OTA_CACHE_PREFIX",
                format!("test-{}", uuid::Uuid::new_v4().simple()),
            )
            // The small catalog seeds in well under a second.
            .env("OTA_AUTO_SEED", "small")
            .env("DB_SSLMODE", "disable")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (k, v) in env {
            command.env(k, v);
        }
        if let Some(url) = &backend.database_url {
            command.env("DATABASE_URL", url);
        }
        if let Some(url) = &backend.redis_url {
            command.env("REDIS_URL", url);
        }
        let child = command.spawn().expect("ota starts");
        let mut process = OtaProcess {
            child,
            api: String::new(),
            management: String::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some((api, management)) = process.serving() {
                process.api = api;
                process.management = management;
                return process;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!(
                    "{}: ota exited ({status}) before serving:\n{}",
                    backend.label,
                    std::fs::read_to_string(&process.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{}: ota did not serve within 60 s",
                backend.label
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The API and management addresses from the `serving` log line, once written.
    fn serving(&self) -> Option<(String, String)> {
        let log = std::fs::read_to_string(&self.log).ok()?;
        let line = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["message"] == "serving")?;
        Some((
            format!("http://{}", line["api"].as_str()?),
            format!("http://{}", line["management"].as_str()?),
        ))
    }
}

impl OtaProcess {
    /// A client of this process as of an application in the test process.
    pub fn app(&self, label: &'static str) -> TestApp {
        TestApp {
            label,
            api: self.api.clone(),
            management: self.management.clone(),
            http: http_builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            stop: None,
            task: None,
        }
    }

    /// SIGKILL: no shutdown, nothing flushed.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OtaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real SMTP server (aiosmtpd, PyPI) on a free port, keeping every message it accepts
/// in a Maildir.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let port = free_port().await;
        Self::start_on(port).await
    }

    /// On `port` (a server that comes back where one was missing).
    pub async fn start_on(port: u16) -> SmtpServer {
        let maildir = testkit::temp_dir().join("maildir");
        let child = Process::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs (the SMTP test server is aiosmtpd: .ci/run installs it)");
        let mut server = SmtpServer {
            child,
            port,
            maildir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = server.child.stderr.take() {
                    use std::io::Read as _;
                    let _ = e.read_to_string(&mut err);
                }
                panic!(
                    "the SMTP test server (aiosmtpd: `python3 -m pip install aiosmtpd`) exited ({status}): {err}"
                );
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP test server did not listen within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// `SMTP_URL` for this server (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut all: Vec<(std::time::SystemTime, String)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let modified = e.metadata().ok()?.modified().ok()?;
                Some((modified, std::fs::read_to_string(e.path()).ok()?))
            })
            .collect();
        all.sort();
        all.into_iter().map(|(_, m)| m).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// A header of a raw message (first occurrence, unfolded).
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next().unwrap_or(message);
    let head = head.split("\n\n").next().unwrap_or(head);
    let unfolded = head
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ")
        .replace("\n ", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    unfolded
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
}

/// One request a [`WebhookReceiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: String,
}

/// A real HTTP receiver of webhooks on 127.0.0.1: keeps every request, and answers 500
/// to the first `fail_first` of them (then 204).
pub struct WebhookReceiver {
    pub url: String,
    received: Arc<std::sync::Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start(fail_first: usize) -> WebhookReceiver {
        Self::start_with(fail_first, Duration::ZERO).await
    }

    /// A receiver that takes `delay` to answer each request.
    pub async fn start_with(fail_first: usize, delay: Duration) -> WebhookReceiver {
        let received: Arc<std::sync::Mutex<Vec<Received>>> = Arc::default();
        let seen = received.clone();
        let app =
            axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    let n = {
                        let mut all = seen.lock().expect("the receiver's log");
                        all.push(Received {
                            headers: headers
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                                })
                                .collect(),
                            body,
                        });
                        all.len()
                    };
                    tokio::time::sleep(delay).await;
                    if n <= fail_first {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::NO_CONTENT
                    }
                }
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!(
            "http://{}/hooks/ota",
            listener.local_addr().expect("an address")
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver {
            url,
            received,
            task,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("the receiver's log").clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs `script` (beside these tests) with `python3`, `input` on its stdin; answers its
/// stdout as JSON. The scripts use the reference libraries (`standardwebhooks`,
/// `icalendar`: .ci/run installs them).
pub fn python(script: &str, input: &str) -> Value {
    use std::io::Write as _;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/system")
        .join(script);
    let mut child = Process::new("python3")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writing to python3");
    let out = child.wait_with_output().expect("python3 ends");
    assert!(
        out.status.success(),
        "{script} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script answers JSON")
}

/// An HTTP client for the tests (the process's TLS provider installed first).
pub fn http() -> reqwest::Client {
    http_builder().build().expect("an HTTP client")
}

/// A builder of HTTP clients for the tests (the process's TLS provider installed first).
pub fn http_builder() -> reqwest::ClientBuilder {
    ota_platform::client::install_tls_provider();
    reqwest::Client::builder()
}
