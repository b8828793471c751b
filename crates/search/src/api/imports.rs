//! Schedule and fare imports as jobs (`/internal/v1/catalog/imports...`, service tokens
//! only): what `ota catalog import` does with files, for tools that post them. A large
//! schedule takes a while, so the answer is `202` with where to follow it.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ota_contract::search::{CatalogImportRequest, CatalogImportView, ImportReport, ImportStatus};
use ota_platform::Problem;
use ota_platform::http::Json;
use ota_platform::tokens::ServiceCaller;

use super::SearchState;
use crate::import::{self, Files};
use crate::store::ImportLog;

fn status_url(id: i64) -> String {
    format!("/internal/v1/catalog/imports/{id}")
}

fn view(log: ImportLog) -> CatalogImportView {
    let status = match log.status.as_str() {
        "done" => ImportStatus::Done,
        "failed" => ImportStatus::Failed,
        _ => ImportStatus::Running,
    };
    let report: Option<ImportReport> = (status == ImportStatus::Done)
        .then(|| serde_json::from_str(&log.report).ok())
        .flatten();
    let errors = (status == ImportStatus::Failed)
        .then(|| {
            serde_json::from_str::<serde_json::Value>(&log.report)
                .ok()
                .and_then(|v| serde_json::from_value::<Vec<String>>(v["errors"].clone()).ok())
        })
        .flatten()
        .unwrap_or_default();
    CatalogImportView {
        import_id: log.id,
        status,
        status_url: status_url(log.id),
        source: log.source,
        created_at: log.created_at.to_rfc3339(),
        finished_at: log.finished_at.map(|t| t.to_rfc3339()),
        report,
        errors,
    }
}

/// Starts importing an airline schedule (SSIM) and/or fares (CSV) as a job: all or
/// nothing, in one transaction, as `ota catalog import` does.
#[utoipa::path(post, path = "/internal/v1/catalog/imports", tag = "internal", request_body = CatalogImportRequest,
    responses(
        (status = 202, body = CatalogImportView, description = "The import runs (`running`); follow `status_url` (also in `Location`). Search pods serve it within OTA_INDEX_REFRESH of `done`"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 413, body = Problem, description = "Larger than the import body limit, OTA_MAX_IMPORT_BODY_BYTES (problem `too-large`)"),
        (status = 422, body = Problem, description = "Neither `ssim` nor `fares` given (problem `validation`, naming `ssim`)")),
    security(("service_token" = [])))]
pub(super) async fn start_import(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    Json(body): Json<CatalogImportRequest>,
) -> Result<Response, Problem> {
    if body.ssim.is_none() && body.fares.is_none() {
        return Err(Problem::field(
            "ssim",
            "give a schedule (`ssim`), fares (`fares`) or both",
        ));
    }
    let files = Files {
        source: body.source.unwrap_or_else(|| "internal API".to_owned()),
        ssim: body.ssim,
        fares: body.fares,
        merge: body.merge,
    };
    let store = state.store.clone();
    let import_id = store.begin_import(&files.source).await?;
    tokio::spawn(async move {
        // Outlives the request: the statement bound of requests does not apply.
        let mut on_read = |_, _| {};
        let work = import::import_logged(&store, import_id, &files, &mut on_read, &|_| {});
        let _ = ota_platform::db::unbounded(work).await;
    });
    let log = state
        .store
        .import_log(import_id)
        .await?
        .ok_or_else(|| Problem::not_found("The import vanished."))?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, status_url(import_id))],
        axum::Json(view(log)),
    )
        .into_response())
}

/// How an import job went: `running`, `done` with its report, or `failed` with every
/// error (nothing imported).
#[utoipa::path(get, path = "/internal/v1/catalog/imports/{import_id}", tag = "internal",
    params(("import_id" = i64, Path, description = "The import's id")),
    responses(
        (status = 200, body = CatalogImportView, description = "The import as it stands"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token (problem `forbidden`)"),
        (status = 404, body = Problem, description = "No such import (problem `not-found`)")),
    security(("service_token" = [])))]
pub(super) async fn read_import(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    Path(import_id): Path<i64>,
) -> Result<Response, Problem> {
    let log = state
        .store
        .import_log(import_id)
        .await?
        .ok_or_else(|| Problem::not_found("No such import."))?;
    Ok(axum::Json(view(log)).into_response())
}

/// `?after=&limit=` of [`schedule_changes`].
#[derive(serde::Deserialize)]
pub(super) struct ChangesQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

/// The bookings schedule imports changed a flight of (cancelled, retimed, oversold),
/// oldest first: booking-service reads them to tell the travellers.
#[utoipa::path(get, path = "/internal/v1/schedule-changes", tag = "internal",
    params(("after" = Option<i64>, Query, description = "Only changes with a greater `seq` (default 0)"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 500")),
    responses(
        (status = 200, body = ota_contract::search::ScheduleChanges, description = "Changes after `after`, by ascending `seq`"),
        (status = 400, body = Problem, description = "`after` or `limit` not a whole number in range (problem `bad-parameter`)"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)")),
    security(("service_token" = [])))]
pub(super) async fn schedule_changes(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    axum::extract::Query(q): axum::extract::Query<ChangesQuery>,
) -> Result<axum::Json<ota_contract::search::ScheduleChanges>, Problem> {
    let number =
        |field: &str, v: Option<&str>, default: i64, range: std::ops::RangeInclusive<i64>| match v
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(default),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    Problem::bad_parameter(
                        field,
                        format!(
                            "must be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    )
                }),
        };
    let after = number("after", q.after.as_deref(), 0, 0..=i64::MAX)?;
    let limit = number("limit", q.limit.as_deref(), 500, 1..=1000)?;
    let changes = state.store.schedule_changes(after, limit).await?;
    Ok(axum::Json(ota_contract::search::ScheduleChanges {
        changes,
    }))
}
