//! `/api/v1/webhooks`: the caller's webhook endpoints, their delivery logs, redelivery
//! and secret rotation. An endpoint receives only events about its owner's bookings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ota_contract::webhooks::{
    WebhookAttemptView, WebhookDeliveryList, WebhookDeliveryView, WebhookEndpointCreated,
    WebhookEndpointInput, WebhookEndpointList, WebhookEndpointView,
};
use ota_platform::http::Json;
use ota_platform::tokens::AuthUser;
use ota_platform::{FieldError, Problem};
use uuid::Uuid;

use super::{BookingState, rfc3339};
use crate::outbox::{EventKind, parse_public_id, public_id};
use crate::store::now_ms;
use crate::store::outbox::Resend;
use crate::store::webhooks::{Delivery, Endpoint};

/// Live endpoints one account may have.
pub const MAX_ENDPOINTS: i64 = 10;
/// How long the secret a rotation replaces keeps signing.
const ROTATION_OVERLAP_MS: i64 = 24 * 3_600_000;
/// How often one delivery may be asked for again.
const MAX_REDELIVERIES: i32 = 20;

/// `ep_` and 32 hex digits.
fn endpoint_id(id: Uuid) -> String {
    format!("ep_{}", id.simple())
}

fn parse_endpoint_id(s: &str) -> Option<Uuid> {
    let hex = s.strip_prefix("ep_")?;
    (hex.len() == 32).then(|| Uuid::try_parse(hex).ok())?
}

fn endpoint_view(e: &Endpoint) -> WebhookEndpointView {
    WebhookEndpointView {
        id: endpoint_id(e.id),
        url: e.url.clone(),
        enabled_events: e.event_list(),
        description: e.description.clone(),
        created_at: rfc3339(e.created_at),
        previous_secret_expires_at: e
            .previous_secret_until_ms
            .filter(|t| *t > now_ms())
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .map(rfc3339),
    }
}

fn delivery_view(d: Delivery) -> WebhookDeliveryView {
    WebhookDeliveryView {
        event_id: public_id(d.event_id),
        kind: d.kind,
        reference: d.reference,
        next_attempt_at: (d.state == "pending")
            .then(|| DateTime::<Utc>::from_timestamp_millis(d.due_ms).map(rfc3339))
            .flatten(),
        state: d.state,
        attempts: d
            .attempts
            .into_iter()
            .map(|a| WebhookAttemptView {
                attempt: a.attempt,
                at: rfc3339(a.at),
                ok: a.ok,
                detail: a.detail,
            })
            .collect(),
    }
}

async fn own_endpoint(
    state: &BookingState,
    user: &AuthUser,
    id: &str,
) -> Result<Endpoint, Problem> {
    let missing = || Problem::not_found("You have no webhook endpoint with this id.");
    let id = parse_endpoint_id(id).ok_or_else(missing)?;
    state.sql.endpoint(user.id, id).await?.ok_or_else(missing)
}

/// The fields of a new endpoint, checked: its URL (resolved: public addresses only),
/// its event types (`*` alone for all) and its description.
async fn checked(
    state: &BookingState,
    input: &WebhookEndpointInput,
) -> Result<(String, String), Problem> {
    let mut errors = Vec::new();
    let mut field = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.to_owned(),
            message,
        })
    };
    let url = match state.allow.check_url(&input.url).await {
        Ok(url) => url.to_string(),
        Err(why) => {
            field("url", why);
            String::new()
        }
    };
    let mut events: Vec<&str> = Vec::new();
    if input.enabled_events.is_empty() {
        field(
            "enabled_events",
            "list at least one event type, or \"*\" for all".to_owned(),
        );
    }
    for (n, e) in input.enabled_events.iter().enumerate() {
        let e = e.trim();
        if e == "*" || EventKind::parse(e).is_some() {
            if !events.contains(&e) {
                events.push(e);
            }
        } else {
            field(
                &format!("enabled_events[{n}]"),
                format!(
                    "is not an event type: use one of {} or \"*\"",
                    EventKind::ALL.map(EventKind::as_str).join(", ")
                ),
            );
        }
    }
    if events.contains(&"*") && events.len() > 1 {
        field(
            "enabled_events",
            "\"*\" already means every event type: list it alone".to_owned(),
        );
    }
    if input.description.chars().count() > 200 {
        field("description", "must be at most 200 characters".to_owned());
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    Ok((url, format!(",{},", events.join(","))))
}

/// Register an endpoint; its signing secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = WebhookEndpointInput,
    responses(
        (status = 201, body = WebhookEndpointCreated, description = "The endpoint and its `secret` (`whsec_…`), shown this once; events about the caller's bookings from now on are delivered to it"),
        (status = 401, body = ota_platform::Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 409, body = ota_platform::Problem, description = "The caller has 10 endpoints already (problem `conflict`)"),
        (status = 422, body = ota_platform::Problem, description = "A field is wrong: a URL that is not https, does not resolve or resolves to a private, loopback or link-local address; an unknown event type (problem `validation`; `errors` names each field)")),
    security(("bearer" = [])))]
pub(super) async fn create_endpoint(
    State(state): State<BookingState>,
    user: AuthUser,
    Json(input): Json<WebhookEndpointInput>,
) -> Result<Response, Problem> {
    let (url, events) = checked(&state, &input).await?;
    let id = Uuid::now_v7();
    let endpoint = Endpoint {
        id,
        user_id: user.id,
        channel: Endpoint::channel_of(id),
        url,
        description: input.description.trim().to_owned(),
        events,
        secret: crate::webhooks::new_secret(),
        previous_secret: None,
        previous_secret_until_ms: None,
        created_at: Utc::now(),
        deleted_at: None,
    };
    if !state.sql.create_endpoint(&endpoint, MAX_ENDPOINTS).await? {
        return Err(Problem::conflict(format!(
            "You have {MAX_ENDPOINTS} webhook endpoints already; delete one first."
        )));
    }
    tracing::info!(endpoint = %endpoint_id(id), user = %user.id, "webhook endpoint registered");
    let created = WebhookEndpointCreated {
        endpoint: endpoint_view(&endpoint),
        secret: endpoint.secret,
    };
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// The caller's endpoints, oldest first (never their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses(
        (status = 200, body = WebhookEndpointList, description = "The caller's live endpoints, oldest first"),
        (status = 401, body = ota_platform::Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)")),
    security(("bearer" = [])))]
pub(super) async fn list_endpoints(
    State(state): State<BookingState>,
    user: AuthUser,
) -> Result<axum::Json<WebhookEndpointList>, Problem> {
    let endpoints = state.sql.endpoints(user.id).await?;
    Ok(axum::Json(WebhookEndpointList {
        endpoints: endpoints.iter().map(endpoint_view).collect(),
    }))
}

/// One of the caller's endpoints.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "`ep_…`")),
    responses(
        (status = 200, body = WebhookEndpointView, description = "The endpoint"),
        (status = 401, body = ota_platform::Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = ota_platform::Problem, description = "The caller has no live endpoint with this id; another account's answers the same (problem `not-found`)")),
    security(("bearer" = [])))]
pub(super) async fn read_endpoint(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookEndpointView>, Problem> {
    let e = own_endpoint(&state, &user, &id).await?;
    Ok(axum::Json(endpoint_view(&e)))
}

/// Delete an endpoint: nothing more is delivered to it, pending deliveries included.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "`ep_…`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ota_platform::Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = ota_platform::Problem, description = "The caller has no live endpoint with this id (problem `not-found`)")),
    security(("bearer" = [])))]
pub(super) async fn delete_endpoint(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let e = own_endpoint(&state, &user, &id).await?;
    if !state.sql.delete_endpoint(user.id, e.id).await? {
        return Err(Problem::not_found(
            "You have no webhook endpoint with this id.",
        ));
    }
    tracing::info!(endpoint = %endpoint_id(e.id), user = %user.id, "webhook endpoint deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the signing secret. For 24 hours every delivery carries two signatures, by
/// the new secret and by the one replaced, so receivers can switch without losing one.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "`ep_…`")),
    responses(
        (status = 200, body = WebhookEndpointCreated, description = "The endpoint and its new `secret`, shown this once; `previous_secret_expires_at` says until when the replaced one also signs"),
        (status = 401, body = ota_platform::Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = ota_platform::Problem, description = "The caller has no live endpoint with this id (problem `not-found`)")),
    security(("bearer" = [])))]
pub(super) async fn rotate_secret(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookEndpointCreated>, Problem> {
    let e = own_endpoint(&state, &user, &id).await?;
    let secret = crate::webhooks::new_secret();
    if !state
        .sql
        .rotate_secret(user.id, e.id, &secret, now_ms() + ROTATION_OVERLAP_MS)
        .await?
    {
        return Err(Problem::not_found(
            "You have no webhook endpoint with this id.",
        ));
    }
    let e = own_endpoint(&state, &user, &id).await?;
    tracing::info!(endpoint = %endpoint_id(e.id), user = %user.id, "webhook secret rotated");
    Ok(axum::Json(WebhookEndpointCreated {
        endpoint: endpoint_view(&e),
        secret,
    }))
}

/// The endpoint's delivery log: its latest 50 events, newest first, with every attempt.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "`ep_…`")),
    responses(
        (status = 200, body = WebhookDeliveryList, description = "The latest 50 deliveries, newest first, each with its state and attempts"),
        (status = 401, body = ota_platform::Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = ota_platform::Problem, description = "The caller has no live endpoint with this id (problem `not-found`)")),
    security(("bearer" = [])))]
pub(super) async fn list_deliveries(
    State(state): State<BookingState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookDeliveryList>, Problem> {
    let e = own_endpoint(&state, &user, &id).await?;
    let deliveries = state.sql.deliveries(&e.channel, 50).await?;
    Ok(axum::Json(WebhookDeliveryList {
        deliveries: deliveries.into_iter().map(delivery_view).collect(),
    }))
}

/// Deliver an event to the endpoint again (same `webhook-id`), now, with a fresh retry
/// window: after the receiver lost it, or after it went dead.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{event_id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "`ep_…`"), ("event_id" = String, Path, description = "`evt_…`")),
    responses(
        (status = 202, description = "Due now (or already on its way)"),
        (status = 401, body = ota_platform::Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = ota_platform::Problem, description = "No such endpoint of the caller's, or the event was never for it (problem `not-found`)"),
        (status = 429, body = ota_platform::Problem, description = "This delivery was asked for 20 times already (problem `rate-limited`, no `Retry-After`: the limit does not reset)")),
    security(("bearer" = [])))]
pub(super) async fn redeliver(
    State(state): State<BookingState>,
    user: AuthUser,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let e = own_endpoint(&state, &user, &id).await?;
    let missing = || Problem::not_found("This endpoint had no delivery of this event.");
    let event = parse_public_id(&event_id).ok_or_else(missing)?;
    match state
        .sql
        .resend(event, &e.channel, now_ms(), MAX_REDELIVERIES)
        .await?
    {
        Resend::Queued | Resend::Pending => Ok(StatusCode::ACCEPTED),
        Resend::TooMany => Err(Problem::limit_reached(format!(
            "This event was redelivered {MAX_REDELIVERIES} times already; it is not sent again."
        ))),
        Resend::Missing => Err(missing()),
    }
}
