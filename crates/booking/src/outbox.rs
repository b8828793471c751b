//! Notifications through a transactional outbox.
//!
//! A booking's state change and the events it causes are written in one transaction
//! ([`crate::store::SqlBookingStore`]'s `advance`); the dispatcher here takes due
//! deliveries (any number of replicas, none taking the same one), delivers them and
//! records each attempt. A failed attempt is retried on the retry schedule with jitter
//! until the give-up window (72 h by default) has passed, then the delivery is dead (the
//! back office's "needs attention" queue and the `OutboxEventsDead` alert). A process
//! that dies between the commit and the delivery loses nothing: the row is still due,
//! or due again once the attempt's lease runs out. Delivery is at least once; an
//! e-mail's `Message-ID` comes from the event id so receivers can drop a duplicate.
//! See docs/notifications.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use chrono::{DateTime, SecondsFormat, Utc};
use lettre::message::{Attachment, Mailbox, MultiPart, header};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use ota_contract::booking::{EVENTS_API_VERSION, EventDocument, ItemView};
use ota_platform::StoreError;
use rand::Rng as _;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::domain::Status;
use crate::store::outbox::{Due, Outcome, StoredEvent};
use crate::store::{Booking, BookingStore, SqlBookingStore, now_ms};

/// What happened to a booking, as its event's `type` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Confirmed,
    Failed,
    Cancelled,
    RefundSucceeded,
    ScheduleChanged,
    Reminder,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        Self::Confirmed,
        Self::Failed,
        Self::Cancelled,
        Self::RefundSucceeded,
        Self::ScheduleChanged,
        Self::Reminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "booking.confirmed",
            Self::Failed => "booking.failed",
            Self::Cancelled => "booking.cancelled",
            Self::RefundSucceeded => "refund.succeeded",
            Self::ScheduleChanged => "booking.schedule_changed",
            Self::Reminder => "booking.reminder",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The events a transition from `before` to `after` causes: a booking confirmed,
    /// failed or cancelled, and a cancellation that refunded money.
    pub fn of_transition(before: &Booking, after: &Booking) -> Vec<EventKind> {
        if before.status == after.status {
            return Vec::new();
        }
        match after.status {
            Status::Confirmed => vec![Self::Confirmed],
            Status::Failed => vec![Self::Failed],
            Status::Cancelled if after.refund_amount.unwrap_or(0) > 0 => {
                vec![Self::Cancelled, Self::RefundSucceeded]
            }
            Status::Cancelled => vec![Self::Cancelled],
            _ => Vec::new(),
        }
    }

    /// The channels every event of this kind goes to when it is written: the traveller
    /// hears by e-mail of a confirmation, a failure, a cancellation (with its refund) and
    /// a reminder; a refund on its own is in the cancellation's e-mail.
    pub fn channels(self) -> &'static [&'static str] {
        match self {
            Self::RefundSucceeded => &[],
            _ => &[EMAIL],
        }
    }
}

/// The e-mail channel of a delivery.
pub const EMAIL: &str = "email";

/// The event's public id: `evt_` and its 32 hex digits.
pub fn public_id(id: Uuid) -> String {
    format!("evt_{}", id.simple())
}

/// Reads a public event id back.
pub fn parse_public_id(s: &str) -> Option<Uuid> {
    let hex = s.strip_prefix("evt_")?;
    (hex.len() == 32).then(|| Uuid::try_parse(hex).ok())?
}

/// The notification document of an event: the booking as it stood after the change (its
/// status, payment, failure and refund from the event; its items and travellers, which
/// never change after checkout, from the booking). The same bytes on every attempt.
pub async fn document(
    store: &SqlBookingStore,
    event: &StoredEvent,
) -> Result<Option<EventDocument>, StoreError> {
    let Some(mut b) = store.booking(event.booking_id).await? else {
        return Ok(None);
    };
    b.status = Status::parse(&event.status)
        .ok_or_else(|| StoreError::Other(format!("event status {:?}", event.status).into()))?;
    b.payment_status = event
        .payment_status
        .as_deref()
        .and_then(ota_contract::payment::PaymentStatus::parse);
    b.failure_reason = event
        .failure_reason
        .as_deref()
        .and_then(ota_contract::booking::FailureReason::parse);
    b.refund_amount = event.refund_amount;
    b.updated_at = event.created_at;
    let items = store.items(b.id).await?;
    let travellers = store.travellers(b.id).await?;
    Ok(Some(EventDocument {
        id: public_id(event.id),
        kind: event.kind.as_str().to_owned(),
        api_version: EVENTS_API_VERSION.to_owned(),
        timestamp: event.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        data: crate::api::view_of(b, items, travellers),
        schedule_change: event
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok()),
    }))
}

// ---------------------------------------------------------------------------------------
// Settings

/// Notification settings (booking-service; `ota serve --help`).
#[derive(clap::Args, Debug, Clone)]
pub struct NotifySettings {
    /// How often the outbox dispatcher looks for due deliveries (250ms, 1s, 5s).
    #[arg(long = "outbox-poll", env = "OTA_OUTBOX_POLL", default_value = "1s", value_parser = ota_platform::config::positive_duration)]
    pub poll: Duration,
    /// The waits between a delivery's attempts, comma-separated; the last repeats
    /// (about 5 s, 30 s, 2 min, 10 min, 1 h, then hourly). Each wait gets up to 20 %
    /// random jitter so receivers that came back are not hit all at once.
    #[arg(long = "outbox-retry-schedule", env = "OTA_OUTBOX_RETRY_SCHEDULE", default_value = "5s,30s,2m,10m,1h", value_parser = retry_schedule)]
    pub retry_schedule: RetrySchedule,
    /// How long after an event its delivery is retried before it is marked dead.
    #[arg(long = "outbox-give-up-after", env = "OTA_OUTBOX_GIVE_UP_AFTER", default_value = "72h", value_parser = ota_platform::config::positive_duration)]
    pub give_up_after: Duration,
    /// How many e-mails, and how many webhook deliveries, run at once per
    /// booking-service process (one webhook endpoint at most 2 of them, one account's
    /// endpoints at most half).
    #[arg(long = "outbox-concurrency", env = "OTA_OUTBOX_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// The SMTP relay the e-mails go through: `smtps://user:password@host:465` (TLS),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS); a plain
    /// `smtp://host:port` is unencrypted, for a relay on the same host only. Unset: each
    /// message is written as an `.eml` file under `<data dir>/mail/`.
    #[arg(long = "smtp-url", env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<secrecy::SecretString>,
    /// The sender of the e-mails: `OTA Travel <bookings@example.com>`.
    #[arg(
        long = "mail-from",
        env = "MAIL_FROM",
        default_value = "OTA Travel <bookings@ota.invalid>"
    )]
    pub mail_from: String,
    /// At most this many e-mails to one recipient per hour; more wait for the next hour.
    #[arg(long = "mail-per-recipient-per-hour", env = "OTA_MAIL_PER_RECIPIENT_PER_HOUR", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub per_recipient_per_hour: u32,
    /// How long before the first departure or check-in the traveller gets a reminder
    /// (`booking.reminder`; only for bookings made at least this long before it).
    #[arg(long = "reminder-before", env = "OTA_REMINDER_BEFORE", default_value = "48h", value_parser = ota_platform::config::positive_duration)]
    pub reminder_before: Duration,
    /// Where the web site answers travellers (links in e-mails), e.g.
    /// `https://www.example.com`; unset, e-mails carry no links.
    #[arg(long = "public-url", env = "OTA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Webhook endpoints may only be public addresses, except the hosts, addresses and
    /// CIDRs listed here, comma-separated (`hooks.internal,10.20.0.0/16`); link-local
    /// addresses (cloud metadata) never.
    #[arg(long = "webhook-allow-hosts", env = "OTA_WEBHOOK_ALLOW_HOSTS", default_value = "", value_parser = allow_list)]
    pub webhook_allow_hosts: crate::webhooks::AllowList,
}

fn allow_list(s: &str) -> Result<crate::webhooks::AllowList, String> {
    s.parse()
}

/// Waits between attempts; the last repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl RetrySchedule {
    /// The wait after failed attempt `attempt` (1 for the first), before jitter.
    pub fn wait(&self, attempt: i32) -> Duration {
        let i = usize::try_from(attempt.max(1) - 1).unwrap_or(0);
        self.0
            .get(i)
            .or(self.0.last())
            .copied()
            .unwrap_or(Duration::from_secs(3600))
    }
}

fn retry_schedule(s: &str) -> Result<RetrySchedule, String> {
    let waits = s
        .split(',')
        .map(|w| ota_platform::config::positive_duration(w.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    if waits.is_empty() {
        return Err("give at least one wait, e.g. 5s,30s,2m".into());
    }
    Ok(RetrySchedule(waits))
}

// ---------------------------------------------------------------------------------------
// E-mail

/// Where e-mails go: an SMTP server, or `.eml` files on the embedded default.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

impl Mailer {
    /// From `SMTP_URL`, or `.eml` files under `<data_dir>/mail`.
    pub fn new(settings: &NotifySettings, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret as _;
        let url = settings
            .smtp_url
            .as_ref()
            .map(|u| u.expose_secret().trim())
            .filter(|u| !u.is_empty());
        match url {
            Some(url) => {
                if url.starts_with("smtp://") && !url.contains("tls=required") {
                    tracing::warn!(
                        "SMTP_URL is plain smtp:// without tls=required: e-mails travel unencrypted to the relay"
                    );
                }
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("SMTP_URL is not a usable SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(10)))
                    .build();
                Ok(Self::Smtp(transport))
            }
            None => {
                let dir = data_dir.join("mail");
                std::fs::create_dir_all(&dir)?;
                Ok(Self::Files(AsyncFileTransport::new(&dir), dir))
            }
        }
    }

    /// Sends one message; answers where it went (the server's reply or the file), or
    /// why not and whether trying again could help (an SMTP 5xx answer cannot).
    async fn send(&self, message: Message) -> Result<String, Failure> {
        match self {
            Self::Smtp(t) => t
                .send(message)
                .await
                .map(|r| format!("accepted: {}", r.code()))
                .map_err(|e| Failure {
                    permanent: e.is_permanent(),
                    error: format!("SMTP: {e}"),
                }),
            Self::Files(t, dir) => t
                .send(message)
                .await
                .map(|id| format!("written to {}", dir.join(format!("{id}.eml")).display()))
                .map_err(|e| Failure::temporary(format!("writing the message: {e}"))),
        }
    }
}

struct ItemLine {
    kind: &'static str,
    summary: String,
    total: String,
    refund: String,
    /// The itinerary, a line each: every segment, or the stay.
    details: Vec<String>,
}

/// A local time as the place shows it: "Mon 1 Dec 2026 08:05".
#[derive(Template)]
#[template(path = "mail/booking.txt")]
struct MailText<'a> {
    m: &'a MailModel,
}

#[derive(Template)]
#[template(path = "mail/booking.html")]
struct MailHtml<'a> {
    m: &'a MailModel,
}

/// What every message shows, worked out once for its text and HTML parts.
struct MailModel {
    subject: String,
    headline: String,
    reference: String,
    items: Vec<ItemLine>,
    travellers: Vec<String>,
    total: String,
    /// "Visa ending in 4242", when the booking was paid.
    paid_with: Option<String>,
    refund: Option<String>,
    failure: Option<String>,
    /// What the airline changed, for a schedule change.
    change: Option<String>,
    link: Option<String>,
}

fn when(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&Utc)
                .format("%a %-d %b %Y %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// An instant in the place's local time (where the item starts: the first departure
/// airport, or the hotel), said so; in UTC when the itinerary does not say.
fn local_when(rfc3339: &str, i: &ItemView) -> String {
    use ota_contract::booking::ItemItinerary;
    let place = match &i.itinerary {
        Some(ItemItinerary::Flight { slices, .. }) => slices
            .first()
            .map(|s| (s.departure_at.as_str(), format!("{} time", s.origin))),
        Some(ItemItinerary::Hotel { check_in_at, .. }) => {
            Some((check_in_at.as_str(), "hotel time".to_owned()))
        }
        None => None,
    };
    let (Some((there, name)), Ok(at)) = (place, DateTime::parse_from_rfc3339(rfc3339)) else {
        return when(rfc3339);
    };
    match DateTime::parse_from_rfc3339(there) {
        Ok(t) => format!(
            "{} ({name})",
            at.with_timezone(t.offset()).format("%a %-d %b %Y %H:%M")
        ),
        Err(_) => when(rfc3339),
    }
}

fn item_line(i: &ItemView) -> ItemLine {
    let refund = match (&i.refund_until, i.refundable, &i.itinerary) {
        // A stay's cancellation policy is among its details already.
        (_, _, Some(ota_contract::booking::ItemItinerary::Hotel { .. })) => String::new(),
        (Some(until), true, _) => format!("refundable until {}", local_when(until, i)),
        _ => "non-refundable".to_owned(),
    };
    ItemLine {
        kind: match i.kind {
            ota_contract::booking::ItemKind::Flight => "Flight",
            ota_contract::booking::ItemKind::Hotel => "Hotel",
        },
        summary: i.summary.clone(),
        total: i.total.to_string(),
        refund,
        details: i
            .itinerary
            .as_ref()
            .map(ota_contract::booking::ItemItinerary::describe)
            .unwrap_or_default(),
    }
}

fn failure_text(reason: Option<ota_contract::booking::FailureReason>) -> String {
    use ota_contract::booking::FailureReason as R;
    match reason {
        Some(R::CardDeclined) => "your card was declined; nothing was charged".into(),
        Some(R::SoldOut) => {
            "what you chose sold out before it could be held; nothing was charged".into()
        }
        Some(r) => format!(
            "it could not be completed ({}); nothing was charged",
            r.as_str().replace('_', " ")
        ),
        None => "it could not be completed; nothing was charged".into(),
    }
}

impl MailModel {
    fn of(kind: EventKind, doc: &EventDocument, public_url: Option<&str>) -> Option<Self> {
        let b = &doc.data;
        let reference = b.reference.clone();
        let (subject, headline) = match kind {
            EventKind::Confirmed => (
                format!("Your booking {reference} is confirmed"),
                "Your booking is confirmed.".to_owned(),
            ),
            EventKind::Failed => (
                format!("Your booking {reference} did not go through"),
                "We could not complete your booking.".to_owned(),
            ),
            EventKind::Cancelled => (
                format!("Your booking {reference} is cancelled"),
                "Your booking is cancelled.".to_owned(),
            ),
            EventKind::Reminder => (
                format!("Your trip {reference} starts soon"),
                "Your trip starts in less than two days.".to_owned(),
            ),
            EventKind::ScheduleChanged => (
                format!("A schedule change affects your booking {reference}"),
                "The airline changed a flight of your booking.".to_owned(),
            ),
            EventKind::RefundSucceeded => return None,
        };
        Some(Self {
            subject,
            headline,
            reference: reference.clone(),
            items: b
                .items
                .iter()
                .map(item_line)
                .map(|mut line| {
                    // Refund terms matter while the booking stands.
                    if matches!(kind, EventKind::Cancelled | EventKind::Failed) {
                        line.refund.clear();
                    }
                    line
                })
                .collect(),
            travellers: b
                .travellers
                .iter()
                .map(|t| format!("{} {}", t.first_name, t.last_name))
                .collect(),
            total: b.total.to_string(),
            paid_with: b
                .payment
                .as_ref()
                .filter(|_| kind != EventKind::Failed)
                .and_then(|p| p.card.as_ref())
                .map(|c| format!("{} ending in {}", c.brand.display_name(), c.last4)),
            refund: (kind == EventKind::Cancelled).then(|| {
                b.refund
                    .as_ref()
                    .filter(|r| r.amount > 0)
                    .map_or("no refund is due under the fare rules".to_owned(), |r| {
                        format!("{r} is refunded to the card you paid with")
                    })
            }),
            failure: (kind == EventKind::Failed).then(|| failure_text(b.failure_reason)),
            change: doc.schedule_change.as_ref().map(|c| {
                let what = match c.change {
                    ota_contract::search::LegChange::Cancelled => {
                        "no longer operates that day: we will contact you to rebook or refund"
                    }
                    ota_contract::search::LegChange::Retimed => {
                        "now operates at other times: check the new times before you travel"
                    }
                    ota_contract::search::LegChange::Oversold => {
                        "now has fewer seats: the airline may move some travellers to another flight"
                    }
                };
                format!(
                    "Flight {} on {} from {} {what}",
                    c.flight,
                    c.flight_date.format("%a %-d %b %Y"),
                    c.origin
                )
            }),
            link: public_url.map(|u| format!("{}/bookings/{reference}", u.trim_end_matches('/'))),
        })
    }
}

/// `MAIL_FROM` read: a mailbox whose domain is ASCII (it ends every `Message-ID`, a
/// header that allows nothing else).
pub fn sender(mail_from: &str) -> anyhow::Result<Mailbox> {
    let from: Mailbox = mail_from
        .parse()
        .map_err(|e| anyhow::anyhow!("MAIL_FROM {mail_from:?}: {e}"))?;
    if !from.email.domain().is_ascii() {
        anyhow::bail!(
            "MAIL_FROM {mail_from:?}: write the domain in its ASCII (punycode) form, e.g. xn--exmple-cua.com: it ends every Message-ID"
        );
    }
    Ok(from)
}

/// The e-mail of an event: text and HTML parts, the calendar file, a `Message-ID` from
/// the event id (and the resend's number, for the `resend`th resend).
pub fn message(
    doc: &EventDocument,
    kind: EventKind,
    from: &Mailbox,
    public_url: Option<&str>,
    resend: i32,
) -> Result<Option<Message>, String> {
    // The Message-ID must be ASCII: MAIL_FROM's domain is checked at start-up.
    let Some(model) = MailModel::of(kind, doc, public_url) else {
        return Ok(None);
    };
    let to: Mailbox = doc
        .data
        .contact
        .email
        .parse()
        .map_err(|e| format!("the contact address: {e}"))?;
    let text = MailText { m: &model }
        .render()
        .map_err(|e| format!("rendering the text part: {e}"))?;
    let html = MailHtml { m: &model }
        .render()
        .map_err(|e| format!("rendering the HTML part: {e}"))?;
    let domain = from.email.domain().to_owned();
    let body = MultiPart::alternative_plain_html(text, html);
    // The itinerary for the calendar: with the confirmation, the reminder and a schedule
    // change; with the cancellation too, its entries marked cancelled.
    let body = match kind {
        EventKind::Confirmed
        | EventKind::Reminder
        | EventKind::ScheduleChanged
        | EventKind::Cancelled => {
            let content_type = header::ContentType::parse(crate::calendar::CONTENT_TYPE)
                .map_err(|e| format!("the calendar's media type: {e}"))?;
            MultiPart::mixed().multipart(body).singlepart(
                Attachment::new(format!("booking-{}.ics", doc.data.reference))
                    .body(crate::calendar::ics(&doc.data, &domain), content_type),
            )
        }
        EventKind::Failed | EventKind::RefundSucceeded => body,
    };
    // A resend is a new message: its own Message-ID.
    let message_id = match resend {
        0 => format!("<{}@{domain}>", doc.id),
        n => format!("<{}.resend{n}@{domain}>", doc.id),
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(model.subject.clone())
        .message_id(Some(message_id))
        .header(header::Date::new(std::time::SystemTime::now()))
        .multipart(body)
        .map(Some)
        .map_err(|e| format!("building the message: {e}"))
}

// ---------------------------------------------------------------------------------------
// The dispatcher

/// Delivers due outbox rows until the process stops.
pub struct Dispatcher {
    pub store: Arc<SqlBookingStore>,
    pub mailer: Mailer,
    pub settings: NotifySettings,
    pub from: Mailbox,
    allow: Arc<crate::webhooks::AllowList>,
    webhooks: reqwest::Client,
    /// Where schedule changes come from (search-service).
    schedule: Option<Arc<crate::search::SearchClient>>,
    /// Deliveries in flight, e-mails and webhooks apart.
    email_slots: Arc<Semaphore>,
    webhook_slots: Arc<Semaphore>,
    /// Webhook deliveries in flight per endpoint channel.
    in_flight: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    /// E-mails sent per recipient in the current hour.
    sent: moka::sync::Cache<String, Arc<std::sync::atomic::AtomicU32>>,
}

/// How long a taken delivery belongs to its dispatcher before another may retry it: an
/// attempt is bounded well inside it (SMTP 10 s per command).
const LEASE: Duration = Duration::from_secs(120);

/// `booking.failed` e-mails one account's checkouts may cause per hour (all processes).
pub const FAILURE_EMAILS_PER_HOUR: i64 = 3;

/// Webhook deliveries in flight to one endpoint at once, per process.
pub const PER_ENDPOINT: usize = 2;

/// The two pools of delivery slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pool {
    Email,
    Webhooks,
}

impl Pool {
    fn channels(self) -> crate::store::outbox::Channels {
        match self {
            Pool::Email => crate::store::outbox::Channels::Email,
            Pool::Webhooks => crate::store::outbox::Channels::Webhooks,
        }
    }
}

/// How often the dispatcher looks for bookings due a reminder.
const REMINDER_SCAN: Duration = Duration::from_secs(60);

impl Dispatcher {
    pub fn new(
        store: Arc<SqlBookingStore>,
        mailer: Mailer,
        settings: NotifySettings,
    ) -> anyhow::Result<Self> {
        let from = sender(&settings.mail_from)?;
        let allow = Arc::new(settings.webhook_allow_hosts.clone());
        Ok(Self {
            store,
            mailer,
            from,
            webhooks: crate::webhooks::client(allow.clone())?,
            allow,
            schedule: None,
            email_slots: Arc::new(Semaphore::new(usize::from(settings.concurrency))),
            webhook_slots: Arc::new(Semaphore::new(usize::from(settings.concurrency))),
            in_flight: Default::default(),
            sent: moka::sync::Cache::builder()
                .time_to_live(Duration::from_secs(3600))
                .max_capacity(100_000)
                .build(),
            settings,
        })
    }

    /// Reads schedule changes from search-service and tells the travellers.
    pub fn with_schedule_changes(mut self, source: Arc<crate::search::SearchClient>) -> Self {
        self.schedule = Some(source);
        self
    }

    /// Turns the schedule changes search-service has recorded since the last look into
    /// `booking.schedule_changed` events.
    pub async fn schedule_changes(&self) {
        let Some(source) = &self.schedule else { return };
        let after = match self.store.schedule_changes_cursor().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "the outbox dispatcher could not read the schedule-change cursor");
                return;
            }
        };
        match source.schedule_changes(after).await {
            Ok(changes) if changes.is_empty() => {}
            Ok(changes) => match self.store.write_schedule_changes(&changes).await {
                Ok(n) => tracing::info!(
                    changes = changes.len(),
                    events = n,
                    "schedule changes read: travellers of confirmed bookings will hear of them"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox dispatcher could not write schedule changes")
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "the outbox dispatcher could not read schedule changes from search-service")
            }
        }
    }

    /// Runs until `closed` answers true (the database closed at shutdown).
    pub async fn run(self: Arc<Self>, closed: impl Fn() -> bool + Send + 'static) {
        let mut tick = tokio::time::interval(self.settings.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reminders_looked: Option<tokio::time::Instant> = None;
        let mut changes_looked: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            if closed() {
                return;
            }
            // Reminders are written once a minute (or every poll, when that is longer).
            if reminders_looked.is_none_or(|t| t.elapsed() >= REMINDER_SCAN) {
                reminders_looked = Some(tokio::time::Instant::now());
                self.remind().await;
            }
            // Schedule changes every ten polls (10 s by default).
            if changes_looked.is_none_or(|t| t.elapsed() >= self.settings.poll * 10) {
                changes_looked = Some(tokio::time::Instant::now());
                self.schedule_changes().await;
            }
            // Keep taking while free slots find due deliveries.
            while self.clone().sweep().await > 0 {}
        }
    }

    /// Takes as many due deliveries as there are free slots, e-mails and webhooks
    /// apart (each `concurrency` at a time, so slow webhook receivers never hold up
    /// e-mails, and a webhook endpoint at most [`PER_ENDPOINT`] at a time, so one slow
    /// receiver never holds up the others), and starts them without waiting for them;
    /// reports the outbox gauges. Answers how many it started.
    pub async fn sweep(self: Arc<Self>) -> usize {
        self.report().await;
        let mut started = 0;
        for pool in [Pool::Email, Pool::Webhooks] {
            let slots = match pool {
                Pool::Email => self.email_slots.clone(),
                Pool::Webhooks => self.webhook_slots.clone(),
            };
            let free = slots.available_permits();
            if free == 0 {
                continue;
            }
            let due = match self
                .store
                .claim_due_on(
                    now_ms(),
                    LEASE.as_millis() as i64,
                    free as i64,
                    pool.channels(),
                )
                .await
            {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox dispatcher could not read due deliveries");
                    continue;
                }
            };
            for d in due {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    // Cannot happen (only this task takes permits); the lease brings it back.
                    break;
                };
                if pool == Pool::Webhooks && !self.enter(&d) {
                    // This endpoint has its share in flight: later, attempt given back.
                    let later = Outcome::Deferred {
                        due_ms: now_ms() + 1_000,
                    };
                    if let Err(e) = self.store.record(&d, &later).await {
                        tracing::warn!(error = %e, "deferring a delivery failed; its lease brings it back");
                    }
                    continue;
                }
                started += 1;
                let me = self.clone();
                tokio::spawn(async move {
                    let keys = Self::keys(&d);
                    me.attempt(d).await;
                    if pool == Pool::Webhooks {
                        me.leave(&keys);
                    }
                    drop(permit);
                });
            }
        }
        started
    }

    /// What a webhook delivery counts against: its endpoint and the endpoint's owner
    /// (the booking's: endpoints receive their owner's events only).
    fn keys(d: &Due) -> [String; 2] {
        [d.channel.clone(), format!("owner:{}", d.event.user_id)]
    }

    /// Counts a webhook delivery in flight, unless its endpoint has [`PER_ENDPOINT`] in
    /// flight already or its owner half the webhook slots: one account's slow
    /// receivers never hold up everyone's.
    fn enter(&self, d: &Due) -> bool {
        let [endpoint, owner] = Self::keys(d);
        let per_owner = (usize::from(self.settings.concurrency) / 2).max(1);
        let mut busy = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if busy.get(&endpoint).copied().unwrap_or(0) >= PER_ENDPOINT
            || busy.get(&owner).copied().unwrap_or(0) >= per_owner
        {
            return false;
        }
        *busy.entry(endpoint).or_default() += 1;
        *busy.entry(owner).or_default() += 1;
        true
    }

    fn leave(&self, keys: &[String; 2]) {
        let mut busy = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some(n) = busy.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    busy.remove(key);
                }
            }
        }
    }

    /// Writes the reminders now due.
    pub async fn remind(&self) {
        let before = chrono::Duration::from_std(self.settings.reminder_before)
            .unwrap_or(chrono::Duration::hours(48));
        match self.store.write_reminders(Utc::now(), before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reminders = n, "booking reminders written"),
            Err(e) => tracing::warn!(error = %e, "the outbox dispatcher could not write reminders"),
        }
    }

    async fn report(&self) {
        match self.store.outbox_counts().await {
            Ok(c) => {
                for kind in EventKind::ALL {
                    for channel in [EMAIL, "webhook"] {
                        let count = |rows: &[(String, String, i64)]| {
                            rows.iter()
                                .filter(|(ch, k, _)| {
                                    channel_label(ch) == channel && k == kind.as_str()
                                })
                                .map(|r| r.2)
                                .sum::<i64>() as f64
                        };
                        let labels = [("channel", channel), ("kind", kind.as_str())];
                        metrics::gauge!("outbox_pending", &labels).set(count(&c.pending));
                        metrics::gauge!("outbox_dead", &labels).set(count(&c.dead));
                    }
                }
                for channel in [EMAIL, "webhook"] {
                    let age = c
                        .oldest_pending_ms
                        .iter()
                        .find(|(l, _)| *l == channel)
                        .map_or(0.0, |(_, t)| ((now_ms() - t).max(0) as f64) / 1000.0);
                    metrics::gauge!("outbox_oldest_pending_seconds", "channel" => channel).set(age);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the outbox dispatcher could not count deliveries")
            }
        }
    }

    async fn attempt(&self, d: Due) {
        let kind = d.event.kind;
        let mut answer = None;
        let outcome = match self.deliver(&d).await {
            Ok(Deliver::Sent(detail)) => {
                tracing::info!(event_id = %public_id(d.event_id), kind = kind.as_str(), channel = %d.channel, attempt = d.attempt, %detail, "notification delivered");
                answer = Some(detail);
                Outcome::Delivered
            }
            Ok(Deliver::Later(due_ms)) => {
                tracing::info!(event_id = %public_id(d.event_id), kind = kind.as_str(), channel = %d.channel, "notification deferred: the recipient's hourly e-mail limit");
                Outcome::Deferred { due_ms }
            }
            Err(Failure {
                permanent: true,
                error,
            }) => {
                tracing::error!(event_id = %public_id(d.event_id), kind = kind.as_str(), channel = %d.channel, attempt = d.attempt, %error, "notification dead: refused for good");
                Outcome::Dead { error }
            }
            Err(Failure { error, .. }) => self.after_failure(&d, error),
        };
        let label = match &outcome {
            Outcome::Delivered => "delivered",
            Outcome::Retry { .. } => "retried",
            Outcome::Deferred { .. } => "deferred",
            Outcome::Dead { .. } => "dead",
        };
        metrics::counter!("outbox_deliveries_total", "channel" => channel_label(&d.channel), "kind" => kind.as_str(), "outcome" => label).increment(1);
        if let Err(e) = self
            .store
            .record_with(&d, &outcome, answer.as_deref())
            .await
        {
            // The lease runs out and the delivery is tried again: at least once.
            tracing::warn!(error = %e, event_id = %public_id(d.event_id), "recording a delivery failed; it will be retried");
        }
    }

    fn after_failure(&self, d: &Due, error: String) -> Outcome {
        let give_up_ms = d.created_ms + self.settings.give_up_after.as_millis() as i64;
        let wait = self.settings.retry_schedule.wait(d.attempt);
        let jitter = rand::rng().random_range(0.0..=0.2) * wait.as_secs_f64();
        let due_ms = now_ms() + ((wait.as_secs_f64() + jitter) * 1000.0) as i64;
        if due_ms > give_up_ms {
            tracing::error!(event_id = %public_id(d.event_id), kind = d.event.kind.as_str(), channel = %d.channel, attempt = d.attempt, %error, "notification dead: retries exhausted");
            Outcome::Dead { error }
        } else {
            tracing::warn!(event_id = %public_id(d.event_id), kind = d.event.kind.as_str(), channel = %d.channel, attempt = d.attempt, %error, retry_in_ms = due_ms - now_ms(), "notification failed; will retry");
            Outcome::Retry { due_ms, error }
        }
    }

    async fn deliver(&self, d: &Due) -> Result<Deliver, Failure> {
        let doc = document(&self.store, &d.event)
            .await
            .map_err(|e| Failure::temporary(format!("reading the booking: {e}")))?
            .ok_or_else(|| Failure::permanent("the booking is gone".to_owned()))?;
        match d.channel.as_str() {
            EMAIL => {
                // A failed checkout costs nothing, and its contact address is whatever
                // the form said: an account's failure e-mails are few, so nobody can
                // make us mail someone else's inbox full.
                if d.event.kind == EventKind::Failed && d.resends == 0 {
                    let before = self
                        .store
                        .failures_before(&d.event)
                        .await
                        .map_err(|e| Failure::temporary(format!("counting e-mails: {e}")))?;
                    if before >= FAILURE_EMAILS_PER_HOUR {
                        return Ok(Deliver::Sent(format!(
                            "not sent: this account's checkouts failed {FAILURE_EMAILS_PER_HOUR} times within the hour before"
                        )));
                    }
                }
                // A message that cannot be built (an address the mailer cannot write)
                // never can: no use retrying for 72 hours.
                let Some(message) = message(
                    &doc,
                    d.event.kind,
                    &self.from,
                    self.settings.public_url.as_deref(),
                    d.resends,
                )
                .map_err(Failure::permanent)?
                else {
                    return Ok(Deliver::Sent("no e-mail for this event".into()));
                };
                // Only messages the relay accepted count towards the hourly limit.
                let recipient = doc.data.contact.email.to_lowercase();
                let counter = self.sent.get_with(recipient, Default::default);
                if counter.load(std::sync::atomic::Ordering::SeqCst)
                    >= self.settings.per_recipient_per_hour
                {
                    return Ok(Deliver::Later(now_ms() + 3_600_000));
                }
                let sent = self.mailer.send(message).await?;
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(Deliver::Sent(sent))
            }
            channel if channel.starts_with(WEBHOOK) => self.post(d, &doc).await,
            other => Err(Failure::permanent(format!("no such channel {other:?}"))),
        }
    }

    /// One webhook attempt: the document, signed, to the endpoint.
    async fn post(&self, d: &Due, doc: &EventDocument) -> Result<Deliver, Failure> {
        let Some(endpoint) = self
            .store
            .endpoint_of_channel(&d.channel)
            .await
            .map_err(|e| Failure::temporary(format!("reading the endpoint: {e}")))?
            .filter(|e| e.deleted_at.is_none())
        else {
            return Ok(Deliver::Sent(
                "the endpoint was deleted: nothing sent".into(),
            ));
        };
        let url = url::Url::parse(&endpoint.url)
            .map_err(|e| Failure::permanent(format!("the endpoint's URL: {e}")))?;
        if let Some(why) = crate::webhooks::literal_refused(&self.allow, &url) {
            return Err(Failure::permanent(format!("refused: {why}")));
        }
        let body = serde_json::to_vec(doc).map_err(|e| Failure::permanent(e.to_string()))?;
        let timestamp = Utc::now().timestamp();
        let mut signatures = vec![
            crate::webhooks::sign(&endpoint.secret, &doc.id, timestamp, &body)
                .map_err(Failure::permanent)?,
        ];
        if let (Some(previous), Some(until)) =
            (&endpoint.previous_secret, endpoint.previous_secret_until_ms)
            && until > now_ms()
        {
            signatures.push(
                crate::webhooks::sign(previous, &doc.id, timestamp, &body)
                    .map_err(Failure::permanent)?,
            );
        }
        let answer = self
            .webhooks
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &doc.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => {
                Ok(Deliver::Sent(format!("HTTP {}", r.status().as_u16())))
            }
            Ok(r) if r.status().is_redirection() => Err(Failure::temporary(format!(
                "HTTP {} (redirects are not followed)",
                r.status().as_u16()
            ))),
            Ok(r) => Err(Failure::temporary(format!("HTTP {}", r.status().as_u16()))),
            Err(e) => {
                // The guard's refusal comes back as a connection error: name it.
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    why = s.to_string();
                    source = s.source();
                }
                if why.contains("only public addresses") || why.contains("never called") {
                    Err(Failure::permanent(format!("refused: {why}")))
                } else if e.is_timeout() {
                    Err(Failure::temporary(format!(
                        "no answer within {} s",
                        crate::webhooks::TIMEOUT.as_secs()
                    )))
                } else {
                    Err(Failure::temporary(format!(
                        "could not reach the endpoint: {why}"
                    )))
                }
            }
        }
    }
}

/// The prefix of a webhook endpoint's delivery channel.
pub const WEBHOOK: &str = "webhook:";

/// The metric label of a delivery channel: `email` or `webhook`.
pub fn channel_label(channel: &str) -> &'static str {
    if channel.starts_with(WEBHOOK) {
        "webhook"
    } else {
        EMAIL
    }
}

/// Why an attempt failed, and whether another could succeed.
#[derive(Debug)]
struct Failure {
    permanent: bool,
    error: String,
}

impl Failure {
    fn temporary(error: String) -> Self {
        Self {
            permanent: false,
            error,
        }
    }

    fn permanent(error: String) -> Self {
        Self {
            permanent: true,
            error,
        }
    }
}

enum Deliver {
    Sent(String),
    /// Not now (a rate limit): try again at this instant, without counting a failure.
    Later(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_repeats_its_last_wait() {
        let s = retry_schedule("5s, 30s,2m").expect("valid");
        assert_eq!(s.wait(1), Duration::from_secs(5));
        assert_eq!(s.wait(2), Duration::from_secs(30));
        assert_eq!(s.wait(3), Duration::from_secs(120));
        assert_eq!(s.wait(9), Duration::from_secs(120));
        assert!(retry_schedule("5s,,2m").is_err());
        assert!(retry_schedule("0s").is_err());
    }

    #[test]
    fn the_sender_domain_must_be_ascii_for_the_message_id() {
        assert!(sender("OTA Travel <bookings@example.com>").is_ok());
        assert!(sender("Tråvel <bookings@xn--exmple-cua.com>").is_ok());
        let idn = sender("Tråvel <bookings@exämple.com>").expect_err("refused");
        assert!(idn.to_string().contains("punycode"), "{idn}");
        assert!(sender("a@b@c").is_err());
    }

    #[test]
    fn public_event_ids_read_back() {
        let id = Uuid::now_v7();
        assert_eq!(parse_public_id(&public_id(id)), Some(id));
        assert_eq!(parse_public_id(&id.to_string()), None);
        assert_eq!(parse_public_id(&format!("evt_{id}")), None);
        assert_eq!(parse_public_id("evt_xyz"), None);
    }

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("booking.deleted"), None);
    }
}
