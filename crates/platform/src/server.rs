//! The lifecycle every service shares: shared context, serving the API and management
//! ports, and the graceful shutdown (readiness DOWN, drain, close pools, exit).

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::cache::{self, CacheBackend, ServiceCache};
use crate::config::{CacheSettings, DbSettings, JwtSettings};
use crate::db::{Db, Migrations};
use crate::http::{HttpSettings, api_stack, service_router, with_statement_bound};
use crate::management::{self, BuildInfo, Management};
use crate::tokens::{KeyRing, Verifier};

/// Base URLs of the peer services (single-service mode); all-in-one mode points them
/// at its own port.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PeerSettings {
    /// auth-service base URL.
    #[arg(long = "auth-url", env = "OTA_AUTH_URL")]
    pub auth: Option<String>,
    /// search-service base URL.
    #[arg(long = "search-url", env = "OTA_SEARCH_URL")]
    pub search: Option<String>,
    /// cart-service base URL.
    #[arg(long = "cart-url", env = "OTA_CART_URL")]
    pub cart: Option<String>,
    /// booking-service base URL.
    #[arg(long = "booking-url", env = "OTA_BOOKING_URL")]
    pub booking: Option<String>,
    /// payment-service base URL.
    #[arg(long = "payment-url", env = "OTA_PAYMENT_URL")]
    pub payment: Option<String>,
}

/// Every setting a service may need, from flags or the environment.
#[derive(clap::Args, Clone, Debug)]
pub struct Settings {
    /// Where the embedded default keeps its SQLite files and generated JWT secret.
    #[arg(long = "data-dir", env = "OTA_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub db: DbSettings,
    #[command(flatten)]
    pub cache: CacheSettings,
    #[command(flatten)]
    pub jwt: JwtSettings,
    #[command(flatten)]
    pub http: HttpSettings,
    #[command(flatten)]
    pub peers: PeerSettings,
    #[command(flatten)]
    pub idempotency: crate::idempotency::IdempotencySettings,
}

/// What services are built from: settings and the connections they share.
#[derive(Clone)]
pub struct Context {
    pub settings: Arc<Settings>,
    pub cache: Arc<dyn CacheBackend>,
    pub keys: Arc<KeyRing>,
    pub http: reqwest::Client,
}

impl Context {
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let keys = Arc::new(KeyRing::load(&settings.jwt, &settings.data_dir)?);
        let cache = connect_cache(&settings.cache).await?;
        Ok(Self {
            settings: Arc::new(settings),
            cache,
            keys,
            http: crate::client::http_client(),
        })
    }

    /// Opens (and migrates) the database of one service.
    pub async fn database(&self, service: &str, migrations: &Migrations) -> anyhow::Result<Db> {
        Db::open(
            &self.settings.db,
            &self.settings.data_dir,
            service,
            migrations,
        )
        .await
    }

    pub fn service_cache(&self, service: &'static str) -> ServiceCache {
        ServiceCache::new(
            &self.settings.cache.cache_prefix,
            service,
            self.cache.clone(),
        )
    }
}

async fn connect_cache(settings: &CacheSettings) -> anyhow::Result<Arc<dyn CacheBackend>> {
    // Redis may start after us (a pod restart, a laptop): retry for a while.
    let mut delay = Duration::from_millis(200);
    for attempt in 0..8 {
        match cache::connect(settings).await {
            Ok(c) => return Ok(c),
            Err(e) if attempt < 7 => {
                tracing::warn!(error = %format!("{e:#}"), retry_in_ms = delay.as_millis() as u64, "cache not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(3));
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// One service, ready to be served alone or beside the others.
pub struct Served {
    pub name: &'static str,
    pub router: Router,
    pub db: Option<Db>,
    pub openapi: utoipa::openapi::OpenApi,
}

/// A running server's handles, for `ota` and for tests.
pub struct Server {
    pub api_addr: SocketAddr,
    pub management_addr: SocketAddr,
    api: TcpListener,
    management_listener: TcpListener,
    router: Router,
    management: Arc<Management>,
    drain_timeout: Duration,
}

impl Server {
    /// Binds nothing itself: listeners come bound (port 0 in tests) so callers know the
    /// addresses before serving.
    pub fn new(
        process: &'static str,
        services: Vec<Served>,
        ctx: &Context,
        api: TcpListener,
        management_listener: TcpListener,
        build: BuildInfo,
    ) -> anyhow::Result<Self> {
        let mut routes = Router::new();
        let mut openapi: Option<utoipa::openapi::OpenApi> = None;
        let mut dbs = Vec::new();
        for s in services {
            routes = routes.merge(service_router(s.name, s.router));
            openapi = Some(match openapi {
                None => s.openapi,
                Some(mut doc) => {
                    doc.merge(s.openapi);
                    doc
                }
            });
            if let Some(db) = s.db {
                dbs.push((s.name, db));
            }
        }
        let mut doc = openapi.unwrap_or_else(|| {
            utoipa::openapi::OpenApi::new(
                utoipa::openapi::Info::new("OTA Travel", build.version),
                utoipa::openapi::Paths::new(),
            )
        });
        doc.info = utoipa::openapi::Info::new("OTA Travel API", build.version);
        doc.info.description = Some(crate::problem::problem_types_markdown());
        let doc = Arc::new(published(&doc));
        routes = routes.route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        );
        // PostgreSQL cancels a statement at DB_STATEMENT_TIMEOUT; the client-side bound
        // just past it catches the answers that never come (a frozen connection).
        let routes = with_statement_bound(
            routes,
            ctx.settings.db.statement_timeout + crate::db::STATEMENT_BOUND_MARGIN,
        );
        let router = api_stack(
            routes,
            process,
            &ctx.settings.http,
            Verifier(ctx.keys.clone()),
            ctx.settings.http.trusted_proxies,
        );
        let management = Arc::new(Management {
            process,
            dbs,
            cache: ctx.cache.clone(),
            build,
            started: AtomicBool::new(false),
            draining: AtomicBool::new(false),
        });
        Ok(Self {
            api_addr: api.local_addr()?,
            management_addr: management_listener.local_addr()?,
            api,
            management_listener,
            router,
            management,
            drain_timeout: ctx.settings.http.drain_timeout,
        })
    }

    /// Serves until `shutdown` resolves, then drains: readiness DOWN, no new
    /// connections, in-flight requests finish (bounded), pools close.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mgmt_router = management::router(self.management.clone());
        let (stop_mgmt, mgmt_stopped) = tokio::sync::oneshot::channel::<()>();
        let mgmt = tokio::spawn(
            axum::serve(self.management_listener, mgmt_router)
                .with_graceful_shutdown(async move {
                    let _ = mgmt_stopped.await;
                })
                .into_future(),
        );
        let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
        let api = tokio::spawn(
            axum::serve(
                self.api,
                self.router
                    .into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = api_stopped.await;
            })
            .into_future(),
        );
        // Every service was built before we got here: databases reached and migrated,
        // the search index loaded. From now on readiness follows this pod alone.
        self.management.mark_started();
        tracing::info!(api = %self.api_addr, management = %self.management_addr, "serving");
        shutdown.await;
        self.management.start_draining();
        tracing::info!(
            drain_timeout_s = self.drain_timeout.as_secs(),
            "shutting down: readiness DOWN, draining in-flight requests"
        );
        let _ = stop_api.send(());
        match tokio::time::timeout(self.drain_timeout, api).await {
            Ok(_) => tracing::info!("all requests drained"),
            Err(_) => {
                tracing::warn!("drain timeout reached; exiting with requests still in flight")
            }
        }
        for (_, db) in &self.management.dbs {
            db.close().await;
        }
        let _ = stop_mgmt.send(());
        let _ = tokio::time::timeout(Duration::from_secs(2), mgmt).await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The merged OpenAPI document as served: one tag per name (the services' descriptions
/// joined), the security schemes the operations name (`bearer`: a traveller's access
/// token; `service_token`: a service token, audience `ota-internal`; `supplier_basic`: a
/// supplier's HTTP Basic credential), and problem answers
/// under `application/problem+json`, as the server sends them.
pub fn published(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    if let Some(tags) = v.get_mut("tags").and_then(Value::as_array_mut) {
        let mut merged: Vec<Value> = Vec::new();
        for tag in tags.drain(..) {
            match merged.iter_mut().find(|m| m["name"] == tag["name"]) {
                Some(m) => {
                    let joined = [&m["description"], &tag["description"]]
                        .iter()
                        .filter_map(|d| d.as_str())
                        .collect::<Vec<_>>()
                        .join("; ");
                    m["description"] = Value::String(joined);
                }
                None => merged.push(tag),
            }
        }
        *tags = merged;
    }
    v["components"]["securitySchemes"] = json!({
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A traveller's access token from /api/v1/auth/register, /login or /refresh (15 minutes)."},
        "service_token": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A service token (audience ota-internal) that the services mint for each other; internal APIs take nothing else."},
        "supplier_basic": {"type": "http", "scheme": "basic",
            "description": "A supplier's NAME:SECRET, as `ota ops supplier create` prints it; limited to that supplier's hotels."}
    });
    let problem = json!("#/components/schemas/Problem");
    for operations in v["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for op in operations
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            for response in op["responses"]
                .as_object_mut()
                .into_iter()
                .flat_map(|r| r.values_mut())
            {
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                else {
                    continue;
                };
                if content
                    .get("application/json")
                    .is_some_and(|c| c["schema"]["$ref"] == problem)
                    && let Some(body) = content.remove("application/json")
                {
                    content.insert("application/problem+json".to_owned(), body);
                }
            }
        }
    }
    v
}
