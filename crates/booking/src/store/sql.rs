//! The booking store on either engine: the SQL is standard enough to be written once.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use ota_contract::booking::FailureReason;
use ota_contract::payment::PaymentStatus;
use ota_platform::db::Db;
use ota_platform::idempotency::ATTACH_RESOURCE;
use ota_platform::passengers::{PassengerType, Passengers};
use ota_platform::{StoreError, on_pool};
use uuid::Uuid;

use super::{Booking, BookingStore, Created, Event, Item, NewBooking, Patch, now_ms};
use crate::domain::{BookingReference, Currency, Email, ItemKind, Status, Traveller};

/// How many times a new booking draws another reference after a collision.
const REFERENCE_ATTEMPTS: usize = 8;

/// The store on either engine.
#[derive(Clone)]
pub struct SqlBookingStore {
    db: Db,
    references: Arc<dyn Fn() -> BookingReference + Send + Sync>,
}

impl SqlBookingStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            references: Arc::new(|| BookingReference::random(&mut rand::rng())),
        }
    }

    /// For tests: draws references from `next` (to force collisions).
    pub fn with_references(
        db: Db,
        next: impl Fn() -> BookingReference + Send + Sync + 'static,
    ) -> Self {
        Self {
            db,
            references: Arc::new(next),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

const BOOKING_COLUMNS: &str = "id, reference, user_id, status, total_amount, currency, payment_method_id, payment_id, payment_status, failure_reason, refund_amount, contact_email, created_at, updated_at, version, step_started_ms, attempts, cart_id, card_brand, card_last4";
const IN_FLIGHT: &str = "('PENDING', 'HELD', 'AUTHORIZED', 'CANCELLING')";
const CHECKING_OUT: &str = "('PENDING', 'HELD', 'AUTHORIZED')";

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: Uuid,
    reference: String,
    user_id: Uuid,
    status: String,
    total_amount: i64,
    currency: String,
    payment_method_id: String,
    payment_id: Option<String>,
    payment_status: Option<String>,
    failure_reason: Option<String>,
    refund_amount: Option<i64>,
    contact_email: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    step_started_ms: i64,
    attempts: i32,
    cart_id: Option<Uuid>,
    card_brand: Option<String>,
    card_last4: Option<String>,
}

fn corrupt(what: String) -> StoreError {
    StoreError::Other(what.into())
}

impl TryFrom<BookingRow> for Booking {
    type Error = StoreError;

    fn try_from(r: BookingRow) -> Result<Self, StoreError> {
        let status = Status::parse(&r.status)
            .ok_or_else(|| corrupt(format!("booking {} has status {:?}", r.id, r.status)))?;
        let bad =
            |what: &str, value: &str| corrupt(format!("booking {} has {what} {value:?}", r.id));
        let reference =
            BookingReference::parse(&r.reference).map_err(|_| bad("reference", &r.reference))?;
        let currency = Currency::parse(&r.currency).map_err(|_| bad("currency", &r.currency))?;
        let contact_email =
            Email::parse(&r.contact_email).map_err(|_| bad("contact e-mail", &r.contact_email))?;
        Ok(Booking {
            id: r.id,
            reference,
            user_id: r.user_id,
            status,
            total_amount: r.total_amount,
            currency,
            payment_method_id: r.payment_method_id,
            payment_id: r.payment_id,
            payment_status: match r.payment_status {
                Some(s) => Some(PaymentStatus::parse(&s).ok_or_else(|| {
                    corrupt(format!("booking {} has payment status {s:?}", r.id))
                })?),
                None => None,
            },
            failure_reason: r.failure_reason.as_deref().map(|s| failure_reason(r.id, s)),
            refund_amount: r.refund_amount,
            contact_email,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
            step_started_ms: r.step_started_ms,
            attempts: r.attempts,
            cart_id: r.cart_id,
            card: r
                .card_brand
                .as_deref()
                .and_then(ota_contract::payment::Brand::parse)
                .zip(r.card_last4)
                .map(|(brand, last4)| ota_contract::payment::CardSummary { brand, last4 }),
        })
    }
}

/// A stored failure reason. One this version does not know (written by a newer version,
/// or by hand) reads as [`FailureReason::Unknown`] rather than failing the read: the
/// booking is FAILED either way, and the column keeps its text (a later transition only
/// writes the reason it sets).
fn failure_reason(id: Uuid, stored: &str) -> FailureReason {
    FailureReason::parse(stored).unwrap_or_else(|| {
        tracing::warn!(booking_id = %id, failure_reason = stored, "unknown stored failure reason; read as unknown");
        FailureReason::Unknown
    })
}

fn bookings(rows: Vec<BookingRow>) -> Result<Vec<Booking>, StoreError> {
    rows.into_iter().map(Booking::try_from).collect()
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    offer_id: String,
    kind: String,
    total_amount: i64,
    currency: String,
    refundable: bool,
    refund_until: Option<DateTime<Utc>>,
    starts_at: Option<DateTime<Utc>>,
    passengers: Option<i32>,
    children: Option<i32>,
    infants: Option<i32>,
    rooms: Option<i32>,
    summary: String,
    itinerary: Option<String>,
}

fn small(n: Option<i32>) -> u8 {
    n.and_then(|n| u8::try_from(n).ok()).unwrap_or(0)
}

impl TryFrom<ItemRow> for Item {
    type Error = StoreError;

    fn try_from(r: ItemRow) -> Result<Self, StoreError> {
        Ok(Item {
            kind: ItemKind::parse(&r.kind)
                .ok_or_else(|| corrupt(format!("booking item of kind {:?}", r.kind)))?,
            currency: Currency::parse(&r.currency)
                .map_err(|_| corrupt(format!("booking item in currency {:?}", r.currency)))?,
            offer_id: r.offer_id,
            total_amount: r.total_amount,
            refundable: r.refundable,
            refund_until: r.refund_until,
            starts_at: r.starts_at,
            passengers: r.passengers.map(|adults| Passengers {
                adults: small(Some(adults)),
                children: small(r.children),
                infants: small(r.infants),
            }),
            rooms: r.rooms.map(|n| small(Some(n))),
            summary: r.summary,
            itinerary: r
                .itinerary
                .map(|json| {
                    serde_json::from_str(&json)
                        .map_err(|e| corrupt(format!("a booking item's itinerary: {e}")))
                })
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TravellerRow {
    first_name: String,
    last_name: String,
    date_of_birth: NaiveDate,
    passenger_type: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    status: String,
    note: Option<String>,
    at: DateTime<Utc>,
}

/// A per-user lock key for PostgreSQL's advisory locks.
fn user_lock(user_id: Uuid) -> i64 {
    let b = user_id.as_bytes();
    i64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]])
}

#[allow(clippy::large_enum_variant)]
enum Attempt {
    Done(Created),
    Collision,
}

impl SqlBookingStore {
    async fn try_create(
        &self,
        new: &NewBooking,
        reference: &BookingReference,
        max_in_flight: i64,
    ) -> Result<Attempt, StoreError> {
        let is_postgres = matches!(self.db, Db::Postgres(_));
        let now = Utc::now();
        let select = format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1");
        let count = format!(
            "SELECT COUNT(*) FROM bookings WHERE user_id = $1 AND status IN {CHECKING_OUT}"
        );
        let holder = format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE cart_id = $1 AND status <> 'FAILED'"
        );
        let result: Result<Attempt, StoreError> = async {
            ota_platform::in_write_tx!(&self.db, tx => {
                if is_postgres {
                    // Serialises one user's checkouts so the in-flight count is exact
                    // (SQLite's BEGIN IMMEDIATE already does).
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(user_lock(new.user_id))
                        .execute(&mut *tx).await?;
                }
                if let Some(cart_id) = new.cart_id {
                    // The cart claim: the user's lock (or BEGIN IMMEDIATE) makes this
                    // check-then-insert atomic; the partial unique index backs it.
                    let holder = sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(holder.clone()))
                        .bind(cart_id)
                        .fetch_optional(&mut *tx).await?;
                    if let Some(h) = holder {
                        return Ok(Attempt::Done(Created::CartTaken(h.try_into()?)));
                    }
                }
                let (in_flight,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count.clone()))
                    .bind(new.user_id)
                    .fetch_one(&mut *tx).await?;
                if in_flight >= max_in_flight {
                    return Ok(Attempt::Done(Created::TooManyInFlight));
                }
                sqlx::query(
                    "INSERT INTO bookings (id, reference, user_id, status, total_amount, currency, payment_method_id, contact_email, created_at, updated_at, version, step_started_ms, attempts, cart_id)
                     VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8, $8, 0, $9, 0, $10)",
                )
                .bind(new.id).bind(reference.as_str()).bind(new.user_id).bind(new.total_amount)
                .bind(new.currency.as_str()).bind(&new.payment_method_id).bind(new.contact_email.as_str())
                .bind(now).bind(now.timestamp_millis()).bind(new.cart_id)
                .execute(&mut *tx).await?;
                for (position, i) in new.items.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO booking_items (booking_id, position, offer_id, kind, total_amount, currency, refundable, refund_until, starts_at, passengers, children, infants, rooms, summary, itinerary)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    )
                    .bind(new.id).bind(position as i32).bind(&i.offer_id).bind(i.kind.as_str())
                    .bind(i.total_amount).bind(i.currency.as_str()).bind(i.refundable).bind(i.refund_until)
                    .bind(i.starts_at)
                    .bind(i.passengers.map(|p| i32::from(p.adults)))
                    .bind(i.passengers.map(|p| i32::from(p.children)))
                    .bind(i.passengers.map(|p| i32::from(p.infants)))
                    .bind(i.rooms.map(i32::from))
                    .bind(&i.summary)
                    .bind(i.itinerary.as_ref().map(serde_json::to_string).transpose().map_err(|e| StoreError::Other(e.into()))?)
                    .execute(&mut *tx).await?;
                }
                for (position, t) in new.travellers.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO travellers (booking_id, position, first_name, last_name, date_of_birth, passenger_type) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(new.id).bind(position as i32).bind(&t.first_name).bind(&t.last_name).bind(t.date_of_birth)
                    .bind(t.passenger_type.map(PassengerType::as_str))
                    .execute(&mut *tx).await?;
                }
                sqlx::query("INSERT INTO booking_events (booking_id, status, note, at) VALUES ($1, 'PENDING', NULL, $2)")
                    .bind(new.id).bind(now)
                    .execute(&mut *tx).await?;
                if let Some(key) = &new.idempotency_key {
                    sqlx::query(ATTACH_RESOURCE)
                        .bind(new.user_id.to_string()).bind(key).bind(new.id).bind(now)
                        .execute(&mut *tx).await?;
                }
                let row = sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(select.clone()))
                    .bind(new.id)
                    .fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(Attempt::Done(Created::Booked(row.try_into()?)))
            })
        }
        .await;
        match result {
            Err(StoreError::Conflict(what)) if what.contains("reference") => Ok(Attempt::Collision),
            // Only reachable if the claim check above were bypassed: the index stands.
            Err(StoreError::Conflict(what)) if what.contains("cart") => {
                Err(StoreError::Conflict("cart claim".to_owned()))
            }
            other => other,
        }
    }
}

#[async_trait]
impl BookingStore for SqlBookingStore {
    #[tracing::instrument(skip_all, fields(booking_id = %new.id))]
    async fn create(&self, new: &NewBooking, max_in_flight: i64) -> Result<Created, StoreError> {
        for _ in 0..REFERENCE_ATTEMPTS {
            let reference = (self.references)();
            match self.try_create(new, &reference, max_in_flight).await? {
                Attempt::Done(created) => return Ok(created),
                Attempt::Collision => {
                    tracing::info!(%reference, "booking reference taken; drawing another");
                }
            }
        }
        Err(StoreError::Conflict("bookings_reference_key".to_owned()))
    }

    async fn booking(&self, id: Uuid) -> Result<Option<Booking>, StoreError> {
        let sql = format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1");
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        row.map(Booking::try_from).transpose()
    }

    async fn by_reference(
        &self,
        reference: &BookingReference,
    ) -> Result<Option<Booking>, StoreError> {
        let sql = format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE reference = $1");
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(sql)).bind(reference.as_str()).fetch_optional(pool).await?
        });
        row.map(Booking::try_from).transpose()
    }

    async fn items(&self, id: Uuid) -> Result<Vec<Item>, StoreError> {
        let rows = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, ItemRow>(
                "SELECT offer_id, kind, total_amount, currency, refundable, refund_until, starts_at, passengers, children, infants, rooms, summary, itinerary
                 FROM booking_items WHERE booking_id = $1 ORDER BY position",
            )
            .bind(id).fetch_all(pool).await?
        });
        rows.into_iter().map(Item::try_from).collect()
    }

    async fn travellers(&self, id: Uuid) -> Result<Vec<Traveller>, StoreError> {
        let rows = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, TravellerRow>(
                "SELECT first_name, last_name, date_of_birth, passenger_type FROM travellers WHERE booking_id = $1 ORDER BY position",
            )
            .bind(id).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| Traveller {
                first_name: r.first_name,
                last_name: r.last_name,
                date_of_birth: r.date_of_birth,
                passenger_type: match r.passenger_type.as_deref() {
                    Some("adult") => Some(PassengerType::Adult),
                    Some("child") => Some(PassengerType::Child),
                    Some("infant") => Some(PassengerType::Infant),
                    _ => None,
                },
            })
            .collect())
    }

    async fn events(&self, id: Uuid) -> Result<Vec<Event>, StoreError> {
        let rows = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, EventRow>(
                "SELECT status, note, at FROM booking_events WHERE booking_id = $1 ORDER BY id",
            )
            .bind(id).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(Event {
                    status: Status::parse(&r.status)
                        .ok_or_else(|| corrupt(format!("event status {:?}", r.status)))?,
                    note: r.note,
                    at: r.at,
                })
            })
            .collect()
    }

    async fn list(
        &self,
        user_id: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Booking>, StoreError> {
        // Ids are UUIDv7: their order is their creation order on both engines.
        let sql = format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE user_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(sql))
                .bind(user_id).bind(before).bind(limit)
                .fetch_all(pool).await?
        });
        bookings(rows)
    }

    #[tracing::instrument(skip_all, fields(booking_id = %b.id, from = %b.status, to = %to))]
    async fn advance(
        &self,
        b: &Booking,
        to: Status,
        patch: &Patch,
        note: Option<&str>,
    ) -> Result<Option<Booking>, StoreError> {
        let now = Utc::now();
        let sql = format!(
            "UPDATE bookings SET status = $4, version = version + 1, step_started_ms = $5, updated_at = $6,
                 payment_id = COALESCE($7, payment_id), payment_status = COALESCE($8, payment_status),
                 failure_reason = COALESCE($9, failure_reason), refund_amount = COALESCE($10, refund_amount),
                 card_brand = COALESCE($11, card_brand), card_last4 = COALESCE($12, card_last4)
             WHERE id = $1 AND status = $2 AND version = $3
             RETURNING {BOOKING_COLUMNS}"
        );
        ota_platform::in_write_tx!(&self.db, tx => {
            let row = sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(sql))
                .bind(b.id).bind(b.status.as_str()).bind(b.version).bind(to.as_str())
                .bind(now.timestamp_millis()).bind(now)
                .bind(&patch.payment_id).bind(patch.payment_status.map(PaymentStatus::as_str))
                .bind(patch.failure_reason.map(FailureReason::as_str)).bind(patch.refund_amount)
                .bind(patch.card.as_ref().map(|c| c.brand.as_str())).bind(patch.card.as_ref().map(|c| c.last4.as_str()))
                .fetch_optional(&mut *tx).await?;
            let Some(row) = row else {
                return Ok(None);
            };
            sqlx::query("INSERT INTO booking_events (booking_id, status, note, at) VALUES ($1, $2, $3, $4)")
                .bind(b.id).bind(to.as_str()).bind(note).bind(now)
                .execute(&mut *tx).await?;
            let after: Booking = row.try_into()?;
            // What outside parties must hear about goes out with the change or not at all.
            for kind in crate::outbox::EventKind::of_transition(b, &after) {
                let event = Uuid::now_v7();
                sqlx::query("INSERT INTO outbox_events (id, kind, booking_id, user_id, status, payment_status, failure_reason, refund_amount, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(event).bind(kind.as_str()).bind(after.id).bind(after.user_id).bind(after.status.as_str())
                    .bind(after.payment_status.map(PaymentStatus::as_str))
                    .bind(after.failure_reason.map(FailureReason::as_str)).bind(after.refund_amount).bind(now)
                    .execute(&mut *tx).await?;
                for channel in kind.channels() {
                    sqlx::query(super::outbox::INSERT_DELIVERY).bind(event).bind(channel).bind(now.timestamp_millis())
                        .execute(&mut *tx).await?;
                }
                sqlx::query(super::outbox::INSERT_WEBHOOK_DELIVERIES).bind(event).bind(after.user_id)
                    .bind(now.timestamp_millis()).bind(super::outbox::subscribed(kind))
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Some(after))
        })
    }

    #[tracing::instrument(skip(self))]
    async fn claim_stuck(
        &self,
        stale_before_ms: i64,
        limit: i64,
    ) -> Result<Vec<Booking>, StoreError> {
        let now = now_ms();
        match &self.db {
            Db::Postgres(pool) => {
                // SKIP LOCKED: replicas running the same sweep split the work between them.
                let mut tx = pool.begin().await?;
                let sql = format!(
                    "UPDATE bookings SET version = version + 1, step_started_ms = $2, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM bookings WHERE status IN {IN_FLIGHT} AND step_started_ms < $1
                                  ORDER BY step_started_ms LIMIT $3 FOR UPDATE SKIP LOCKED)
                     RETURNING {BOOKING_COLUMNS}"
                );
                let rows = sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(sql))
                    .bind(stale_before_ms)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                bookings(rows)
            }
            Db::Sqlite(pool) => {
                let candidates: Vec<(Uuid, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT id, version FROM bookings WHERE status IN {IN_FLIGHT} AND step_started_ms < $1 ORDER BY step_started_ms LIMIT $2"
                )))
                .bind(stale_before_ms)
                .bind(limit)
                .fetch_all(pool)
                .await?;
                let sql = format!(
                    "UPDATE bookings SET version = version + 1, step_started_ms = $3, attempts = attempts + 1
                     WHERE id = $1 AND version = $2 AND status IN {IN_FLIGHT} AND step_started_ms < $4
                     RETURNING {BOOKING_COLUMNS}"
                );
                let mut claimed = Vec::new();
                for (id, version) in candidates {
                    // The conditional update is the claim: another worker that got here
                    // first has bumped the version.
                    let row = sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(id)
                        .bind(version)
                        .bind(now)
                        .bind(stale_before_ms)
                        .fetch_optional(pool)
                        .await?;
                    if let Some(r) = row {
                        claimed.push(r.try_into()?);
                    }
                }
                Ok(claimed)
            }
        }
    }

    async fn count_stuck(&self, stale_before_ms: i64) -> Result<i64, StoreError> {
        // By the last status change, not the step clock: every recovery attempt restarts
        // the step clock, and a booking retried for an hour is still stuck.
        let since = DateTime::from_timestamp_millis(stale_before_ms).unwrap_or_default();
        let sql = format!(
            "SELECT COUNT(*) FROM bookings WHERE status IN {IN_FLIGHT} AND updated_at < $1"
        );
        let (n,): (i64,) = on_pool!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(since).fetch_one(pool).await?
        });
        Ok(n)
    }
}
