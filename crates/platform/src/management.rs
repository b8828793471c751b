//! The management server (port 8081), Spring-actuator compatible because the runbook
//! curls it: health with components, liveness, readiness, Prometheus metrics, info.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::cache::CacheBackend;
use crate::db::Db;
use crate::http::json_response;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Build facts shown at `/actuator/info`.
#[derive(Clone, Debug)]
pub struct BuildInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub git_sha: &'static str,
    pub build_time: &'static str,
}

/// What the management server reports on.
pub struct Management {
    pub process: &'static str,
    pub dbs: Vec<(&'static str, Db)>,
    pub cache: Arc<dyn CacheBackend>,
    pub build: BuildInfo,
    /// Set once every service is built and the API serves: readiness can go UP.
    pub started: AtomicBool,
    /// Set on SIGTERM: readiness goes DOWN so no new traffic arrives while we drain.
    pub draining: AtomicBool,
}

impl Management {
    pub fn mark_started(&self) {
        self.started.store(true, Ordering::SeqCst);
    }

    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// The composite health document and whether it is UP.
    pub async fn health(&self) -> (bool, Value) {
        let db_checks =
            futures::future::join_all(self.dbs.iter().map(|(service, db)| async move {
                let result = db.ping(CHECK_TIMEOUT).await;
                (*service, db.engine(), result)
            }))
            .await;
        let mut db_components = Map::new();
        let mut db_up = true;
        for (service, engine, result) in db_checks {
            let mut c = json!({"status": "UP", "details": {"database": engine}});
            if let Err(e) = result {
                db_up = false;
                c = json!({"status": "DOWN", "details": {"database": engine, "error": e}});
            }
            db_components.insert(service.to_owned(), c);
        }
        let cache = tokio::time::timeout(CHECK_TIMEOUT, self.cache.ping()).await;
        let (cache_up, cache_error) = match cache {
            Ok(Ok(())) => (true, None),
            Ok(Err(e)) => (false, Some(e.to_string())),
            Err(_) => (false, Some("no answer in time".to_owned())),
        };
        let status = |up: bool| if up { "UP" } else { "DOWN" };
        let mut cache_doc =
            json!({"status": status(cache_up), "details": {"engine": self.cache.engine()}});
        if let (Some(e), Some(details)) = (cache_error, cache_doc.get_mut("details")) {
            details["error"] = Value::String(e);
        }
        let mut components = Map::new();
        if !self.dbs.is_empty() {
            components.insert(
                "db".to_owned(),
                json!({"status": status(db_up), "components": db_components}),
            );
        }
        components.insert("cache".to_owned(), cache_doc);
        components.insert("ping".to_owned(), json!({"status": "UP"}));
        let up = db_up && cache_up;
        (up, json!({"status": status(up), "components": components}))
    }

    fn record_pool_metrics(&self) {
        for (service, db) in &self.dbs {
            let (size, idle, max) = db.pool_stats();
            metrics::gauge!("db_pool_connections", "service" => *service, "state" => "in_use")
                .set(f64::from(size.saturating_sub(idle)));
            metrics::gauge!("db_pool_connections", "service" => *service, "state" => "idle")
                .set(f64::from(idle));
            metrics::gauge!("db_pool_max_connections", "service" => *service).set(f64::from(max));
        }
    }
}

pub fn router(management: Arc<Management>) -> Router {
    Router::new()
        .route("/actuator", get(index))
        .route("/actuator/health", get(health))
        .route("/actuator/health/liveness", get(liveness))
        .route("/actuator/health/readiness", get(readiness))
        .route("/actuator/prometheus", get(prometheus))
        .route("/actuator/info", get(info))
        .with_state(management)
}

async fn index() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"_links": {
            "health": {"href": "/actuator/health"},
            "liveness": {"href": "/actuator/health/liveness"},
            "readiness": {"href": "/actuator/health/readiness"},
            "prometheus": {"href": "/actuator/prometheus"},
            "info": {"href": "/actuator/info"}
        }}),
    )
}

fn health_answer(up: bool, doc: &Value) -> Response {
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, doc)
}

async fn health(State(m): State<Arc<Management>>) -> Response {
    let (up, doc) = m.health().await;
    health_answer(up, &doc)
}

/// The process is alive and serving: never depends on the database, so a database
/// outage does not get every pod restarted.
async fn liveness() -> Response {
    health_answer(true, &json!({"status": "UP"}))
}

/// Can this pod take traffic: started (databases reached and migrated, index loaded at
/// start-up) and not draining. Never follows a dependency every pod shares (database,
/// cache, peers): when one is down every pod is equally unable, and taking them all out
/// of the load balancer would turn a degraded service into a full outage. Those show in
/// `/actuator/health`, and requests that need them answer a fast 503.
async fn readiness(State(m): State<Arc<Management>>) -> Response {
    let reason = if m.is_draining() {
        Some("shutting down")
    } else if !m.is_started() {
        Some("starting")
    } else {
        None
    };
    match reason {
        Some(reason) => health_answer(
            false,
            &json!({"status": "DOWN", "details": {"reason": reason}}),
        ),
        None => health_answer(true, &json!({"status": "UP"})),
    }
}

/// What the management port answers while the services start (connecting, migrating,
/// seeding a first catalog, loading the index: seconds to a minute): alive, not ready,
/// and a health document that says so, rather than a connection that hangs until then.
pub fn starting_router(process: &'static str) -> Router {
    let starting = move || async move {
        health_answer(
            false,
            &json!({"status": "DOWN", "components": {"startup": {"status": "DOWN", "details": {"reason": "starting", "service": process}}}}),
        )
    };
    let not_ready = || async {
        health_answer(
            false,
            &json!({"status": "DOWN", "details": {"reason": "starting"}}),
        )
    };
    Router::new()
        .route("/actuator/health", get(starting))
        .route("/actuator/health/liveness", get(liveness))
        .route("/actuator/health/readiness", get(not_ready))
        .fallback(not_ready)
}

async fn prometheus(State(m): State<Arc<Management>>) -> Response {
    m.record_pool_metrics();
    metrics_process::Collector::default().collect();
    let handle = crate::telemetry::prometheus();
    handle.run_upkeep();
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response()
}

async fn info(State(m): State<Arc<Management>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "app": {"name": m.build.name, "service": m.process, "version": m.build.version},
            "build": {"name": m.build.name, "version": m.build.version, "time": m.build.build_time},
            "git": {"commit": {"id": m.build.git_sha}}
        }),
    )
}
