//! Webhook endpoints (`/api/v1/webhooks`, booking-service): an account's URLs that
//! receive the notification events ([`crate::booking::EventDocument`]) about its own
//! bookings, signed by the Standard Webhooks scheme (docs/notifications.md).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/webhooks`: a new endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://partner.example.com/ota/events",
    "enabled_events": ["booking.confirmed", "booking.cancelled", "refund.succeeded"], "description": "Back office sync"}))]
pub struct WebhookEndpointInput {
    /// Where events are POSTed: `https://` (plain `http://` only for hosts that
    /// `OTA_WEBHOOK_ALLOW_HOSTS` lists), at most 2048 characters, resolving to public
    /// addresses only.
    pub url: String,
    /// Event types to receive (`booking.confirmed`, `booking.failed`,
    /// `booking.cancelled`, `refund.succeeded`, `booking.schedule_changed`,
    /// `booking.reminder`), or `["*"]` for all of them.
    pub enabled_events: Vec<String>,
    /// For people, at most 200 characters.
    #[serde(default)]
    pub description: String,
}

/// A webhook endpoint as its owner sees it (never its secret, which is shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "ep_0193a0b27c4e7d219a552f8e4b1c6d71", "url": "https://partner.example.com/ota/events",
    "enabled_events": ["booking.confirmed", "booking.cancelled"], "description": "Back office sync",
    "created_at": "2026-11-25T10:00:00Z", "previous_secret_expires_at": null}))]
pub struct WebhookEndpointView {
    /// `ep_` and 32 hex digits.
    #[schema(example = "ep_0193a0b27c4e7d219a552f8e4b1c6d71")]
    pub id: String,
    pub url: String,
    pub enabled_events: Vec<String>,
    pub description: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Until when the secret replaced by the last rotation also signs (RFC 3339, UTC);
    /// null when no rotation is under way.
    pub previous_secret_expires_at: Option<String>,
}

/// `POST /api/v1/webhooks` and `POST /api/v1/webhooks/{id}/rotate-secret`: the endpoint
/// and its signing secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "ep_0193a0b27c4e7d219a552f8e4b1c6d71", "url": "https://partner.example.com/ota/events",
    "enabled_events": ["booking.confirmed", "booking.cancelled"], "description": "Back office sync",
    "created_at": "2026-11-25T10:00:00Z", "previous_secret_expires_at": null, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))]
pub struct WebhookEndpointCreated {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointView,
    /// `whsec_` and the base64 of 32 random bytes: the HMAC-SHA256 key is the decoded
    /// bytes. Keep it: it is never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// `GET /api/v1/webhooks`: the caller's endpoints, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"endpoints": [{"id": "ep_0193a0b27c4e7d219a552f8e4b1c6d71", "url": "https://partner.example.com/ota/events",
    "enabled_events": ["booking.confirmed", "booking.cancelled"], "description": "Back office sync",
    "created_at": "2026-11-25T10:00:00Z", "previous_secret_expires_at": null}]}))]
pub struct WebhookEndpointList {
    pub endpoints: Vec<WebhookEndpointView>,
}

/// One attempt at delivering an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAttemptView {
    /// 1 for the first.
    pub attempt: i32,
    /// When it ended (RFC 3339, UTC).
    pub at: String,
    /// Whether the endpoint answered 2xx.
    pub ok: bool,
    /// The answer's status (`HTTP 204`) or why there was none (a time-out, a refused
    /// address).
    pub detail: Option<String>,
}

/// An event's delivery to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookDeliveryView {
    /// The event id: the `webhook-id` header of every attempt.
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The booking it is about.
    pub reference: String,
    /// `pending` (a next attempt is due), `delivered` or `dead` (retries exhausted or
    /// refused for good; `POST …/redeliver` tries again).
    pub state: String,
    /// When the next attempt may start (RFC 3339, UTC), while pending.
    pub next_attempt_at: Option<String>,
    pub attempts: Vec<WebhookAttemptView>,
}

/// `GET /api/v1/webhooks/{id}/deliveries`: the endpoint's deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"deliveries": [{"event_id": "evt_0193a0b27c4e7d219a552f8e4b1c6d72", "type": "booking.confirmed",
    "reference": "K7M2QX", "state": "delivered", "next_attempt_at": null, "attempts": [
        {"attempt": 1, "at": "2026-11-25T10:00:03Z", "ok": false, "detail": "HTTP 503"},
        {"attempt": 2, "at": "2026-11-25T10:00:09Z", "ok": true, "detail": "HTTP 204"}]}]}))]
pub struct WebhookDeliveryList {
    pub deliveries: Vec<WebhookDeliveryView>,
}
