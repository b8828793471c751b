//! Holds: every item of a booking held or none, committed into sold inventory or
//! released, and the sweep of expired ones.

use chrono::{DateTime, NaiveDate, Utc};
use ota_platform::db::Db;
use ota_platform::{StoreError, in_write_tx, on_pool};
use uuid::Uuid;

use super::{Hold, HoldError, HoldStatus, HotelStay, InventoryItem, SearchStore, now_ms};
use crate::catalog::Cabin;

/// A hold's status as the `holds` table spells it.
fn hold_status(s: &str) -> HoldStatus {
    match s {
        "committed" => HoldStatus::Committed,
        "released" => HoldStatus::Released,
        _ => HoldStatus::Held,
    }
}

#[derive(sqlx::FromRow)]
struct HoldRow {
    booking_id: Uuid,
    status: String,
    expires_at: DateTime<Utc>,
}

impl From<HoldRow> for Hold {
    fn from(r: HoldRow) -> Self {
        Hold {
            booking_id: r.booking_id,
            status: hold_status(&r.status),
            expires_at: r.expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    flight_id: Option<i64>,
    cabin: Option<String>,
    room_type_id: Option<i64>,
    night: Option<NaiveDate>,
    quantity: i32,
}

impl ItemRow {
    fn item(self) -> Option<InventoryItem> {
        match (self.flight_id, self.cabin, self.room_type_id, self.night) {
            (Some(flight_id), Some(cabin), _, _) => Some(InventoryItem::Seats {
                flight_id,
                cabin: Cabin::parse(&cabin)?,
                quantity: self.quantity,
            }),
            (_, _, Some(room_type_id), Some(night)) => Some(InventoryItem::Rooms {
                room_type_id,
                night,
                quantity: self.quantity,
            }),
            _ => None,
        }
    }
}

impl SearchStore {
    pub async fn hold(&self, booking_id: Uuid) -> Result<Option<Hold>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, HoldRow>("SELECT booking_id, status, expires_at FROM holds WHERE booking_id = $1")
                .bind(booking_id)
                .fetch_optional(pool).await
                .map(|r| r.map(Hold::from))
                .map_err(StoreError::from)
        })
    }

    /// Holds every item for a booking, or none of them. Idempotent by booking id: a
    /// second call answers the first hold, whatever its items.
    pub async fn create_hold(
        &self,
        booking_id: Uuid,
        items: &[InventoryItem],
        expires_at: DateTime<Utc>,
    ) -> Result<Hold, HoldError> {
        self.create_hold_for(booking_id, items, expires_at, &[])
            .await
    }

    /// [`SearchStore::create_hold`], keeping the hotel stays it holds for their
    /// suppliers in the same transaction (sent to them once the hold is committed).
    pub async fn create_hold_for(
        &self,
        booking_id: Uuid,
        items: &[InventoryItem],
        expires_at: DateTime<Utc>,
        stays: &[HotelStay],
    ) -> Result<Hold, HoldError> {
        // One order for every transaction, so two holds never wait on each other's rows.
        let mut items = items.to_vec();
        items.sort();
        // An async block, so `?` and `return` inside end the attempt, not the function.
        let attempt = async {
            in_write_tx!(&self.db, tx => {
                let existing = sqlx::query_as::<_, HoldRow>("SELECT booking_id, status, expires_at FROM holds WHERE booking_id = $1")
                    .bind(booking_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(h) = existing {
                    return Ok(h.into());
                }
                let now = Utc::now();
                let stamp = now_ms();
                for item in &items {
                    let known = match item {
                        InventoryItem::Seats { flight_id, cabin, .. } => super::ensure_seat_row!(tx, *flight_id, *cabin, stamp)?,
                        InventoryItem::Rooms { room_type_id, night, .. } => super::ensure_room_row!(tx, *room_type_id, *night, stamp)?,
                    };
                    if !known {
                        return Err(HoldError::Unknown(item.clone()));
                    }
                    let updated = match item {
                        InventoryItem::Seats { flight_id, cabin, quantity } => sqlx::query(
                            "UPDATE seat_inventory SET held = held + $3, changed_at = $4
                             WHERE flight_id = $1 AND cabin = $2 AND sold + held + $3 <= capacity AND NOT stop_sell",
                        )
                        .bind(*flight_id).bind(cabin.as_str()).bind(*quantity).bind(stamp)
                        .execute(&mut *tx).await?.rows_affected(),
                        InventoryItem::Rooms { room_type_id, night, quantity } => sqlx::query(
                            "UPDATE room_nights SET held = held + $3, changed_at = $4
                             WHERE room_type_id = $1 AND night = $2 AND sold + held + $3 <= capacity AND NOT stop_sell",
                        )
                        .bind(*room_type_id).bind(*night).bind(*quantity).bind(stamp)
                        .execute(&mut *tx).await?.rows_affected(),
                    };
                    if updated == 0 {
                        // Dropping the transaction rolls back what was already held.
                        let exists: Option<(i32,)> = match item {
                            InventoryItem::Seats { flight_id, cabin, .. } => sqlx::query_as("SELECT capacity FROM seat_inventory WHERE flight_id = $1 AND cabin = $2")
                                .bind(*flight_id).bind(cabin.as_str()).fetch_optional(&mut *tx).await?,
                            InventoryItem::Rooms { room_type_id, night, .. } => sqlx::query_as("SELECT capacity FROM room_nights WHERE room_type_id = $1 AND night = $2")
                                .bind(*room_type_id).bind(*night).fetch_optional(&mut *tx).await?,
                        };
                        return Err(if exists.is_some() { HoldError::SoldOut(item.clone()) } else { HoldError::Unknown(item.clone()) });
                    }
                }
                sqlx::query("INSERT INTO holds (booking_id, status, expires_at, created_at, updated_at) VALUES ($1, 'held', $2, $3, $3)")
                    .bind(booking_id).bind(expires_at).bind(now)
                    .execute(&mut *tx).await?;
                for (position, item) in items.iter().enumerate() {
                    let q = sqlx::query(
                        "INSERT INTO hold_items (booking_id, position, flight_id, cabin, room_type_id, night, quantity)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(booking_id)
                    .bind(position as i32);
                    let q = match item {
                        InventoryItem::Seats { flight_id, cabin, quantity } => q
                            .bind(Some(*flight_id)).bind(Some(cabin.as_str())).bind(None::<i64>).bind(None::<NaiveDate>).bind(*quantity),
                        InventoryItem::Rooms { room_type_id, night, quantity } => q
                            .bind(None::<i64>).bind(None::<&str>).bind(Some(*room_type_id)).bind(Some(*night)).bind(*quantity),
                    };
                    q.execute(&mut *tx).await?;
                }
                for (position, s) in stays.iter().enumerate() {
                    // One reservation per stay: the booking's second stay is REF-2.
                    let reference = match position {
                        0 => s.reference.clone(),
                        n => format!("{}-{}", s.reference, n + 1),
                    };
                    sqlx::query(
                        "INSERT INTO hotel_reservations (booking_id, position, reference, hotel_id, room_type_id, rate_plan_code, check_in,
                            nights, rooms, guests, total_amount, currency, status, created_at, changed_at)
                         SELECT $1, $2, $3, hotel_id, id, $5, $6, $7, $8, $9, $10, $11, 'held', $12, $12 FROM room_types WHERE id = $4",
                    )
                    .bind(booking_id).bind(position as i32).bind(reference).bind(s.room_type_id).bind(&s.rate_plan_code)
                    .bind(s.check_in).bind(s.nights).bind(s.rooms).bind(s.guests).bind(s.total_amount).bind(&s.currency).bind(stamp)
                    .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(Hold { booking_id, status: HoldStatus::Held, expires_at })
            })
        };
        let result: Result<Hold, HoldError> = attempt.await;
        match result {
            // Two first calls raced and the other one inserted the hold: answer it.
            Err(HoldError::Store(StoreError::Conflict(_))) => self
                .hold(booking_id)
                .await?
                .ok_or(HoldError::Store(StoreError::NotFound)),
            other => other,
        }
    }

    pub async fn hold_items(&self, booking_id: Uuid) -> Result<Vec<InventoryItem>, StoreError> {
        on_pool!(&self.db, pool => {
            let rows = sqlx::query_as::<_, ItemRow>(
                "SELECT flight_id, cabin, room_type_id, night, quantity FROM hold_items WHERE booking_id = $1 ORDER BY position",
            )
            .bind(booking_id)
            .fetch_all(pool).await?;
            Ok(rows.into_iter().filter_map(ItemRow::item).collect())
        })
    }

    /// Turns a live hold into sold inventory. Committing twice is a no-op; an expired or
    /// released hold cannot be committed.
    pub async fn commit_hold(&self, booking_id: Uuid) -> Result<Hold, HoldError> {
        self.transition(booking_id, Transition::Commit).await
    }

    /// Gives a hold's inventory back, whether held or already sold (a cancellation).
    /// Releasing twice is a no-op.
    pub async fn release_hold(&self, booking_id: Uuid) -> Result<Hold, HoldError> {
        self.transition(booking_id, Transition::Release).await
    }

    async fn transition(&self, booking_id: Uuid, to: Transition) -> Result<Hold, HoldError> {
        let lock = match self.db {
            Db::Postgres(_) => " FOR UPDATE",
            Db::Sqlite(_) => "",
        };
        let select =
            format!("SELECT booking_id, status, expires_at FROM holds WHERE booking_id = $1{lock}");
        in_write_tx!(&self.db, tx => {
            let row = sqlx::query_as::<_, HoldRow>(sqlx::AssertSqlSafe(select.clone()))
                .bind(booking_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(HoldError::Store(StoreError::NotFound))?;
            let hold: Hold = row.into();
            let now = Utc::now();
            let (next, held_delta, sold_delta) = match (to, hold.status) {
                (Transition::Commit, HoldStatus::Committed) | (Transition::Release, HoldStatus::Released) => return Ok(hold),
                (Transition::Commit, HoldStatus::Released) => return Err(HoldError::NotActive(HoldStatus::Released)),
                (Transition::Commit, HoldStatus::Held) if hold.expires_at <= now => {
                    return Err(HoldError::NotActive(HoldStatus::Held));
                }
                (Transition::Commit, HoldStatus::Held) => (HoldStatus::Committed, -1, 1),
                (Transition::Release, HoldStatus::Held) => (HoldStatus::Released, -1, 0),
                (Transition::Release, HoldStatus::Committed) => (HoldStatus::Released, 0, -1),
            };
            let items = sqlx::query_as::<_, ItemRow>(
                "SELECT flight_id, cabin, room_type_id, night, quantity FROM hold_items WHERE booking_id = $1 ORDER BY position",
            )
            .bind(booking_id)
            .fetch_all(&mut *tx)
            .await?;
            let stamp = now_ms();
            for item in items.into_iter().filter_map(ItemRow::item) {
                match item {
                    InventoryItem::Seats { flight_id, cabin, quantity } => {
                        sqlx::query("UPDATE seat_inventory SET held = held + $3, sold = sold + $4, changed_at = $5 WHERE flight_id = $1 AND cabin = $2")
                            .bind(flight_id).bind(cabin.as_str()).bind(held_delta * quantity).bind(sold_delta * quantity).bind(stamp)
                            .execute(&mut *tx).await?;
                    }
                    InventoryItem::Rooms { room_type_id, night, quantity } => {
                        sqlx::query("UPDATE room_nights SET held = held + $3, sold = sold + $4, changed_at = $5 WHERE room_type_id = $1 AND night = $2")
                            .bind(room_type_id).bind(night).bind(held_delta * quantity).bind(sold_delta * quantity).bind(stamp)
                            .execute(&mut *tx).await?;
                    }
                }
            }
            let status = match next {
                HoldStatus::Committed => "committed",
                HoldStatus::Released => "released",
                HoldStatus::Held => "held",
            };
            sqlx::query("UPDATE holds SET status = $2, updated_at = $3 WHERE booking_id = $1")
                .bind(booking_id).bind(status).bind(now)
                .execute(&mut *tx).await?;
            // What the hotels' suppliers learn: a confirmation, a cancellation (a new
            // version to send), or a hold that ended unsold (nothing to send).
            let (from, to, bump) = match (hold.status, next) {
                (HoldStatus::Held, HoldStatus::Committed) => ("held", "confirmed", 1),
                (HoldStatus::Committed, HoldStatus::Released) => ("confirmed", "cancelled", 1),
                _ => ("held", "released", 0),
            };
            sqlx::query("UPDATE hotel_reservations SET status = $3, version = version + $4, changed_at = $5 WHERE booking_id = $1 AND status = $2")
                .bind(booking_id).bind(from).bind(to).bind(bump).bind(stamp)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Hold { status: next, ..hold })
        })
    }

    /// Live holds past their expiry, oldest first (the sweeper releases them).
    pub async fn expired_holds(&self, limit: i64) -> Result<Vec<Uuid>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, (Uuid,)>(
                "SELECT booking_id FROM holds WHERE status = 'held' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
            )
            .bind(Utc::now())
            .bind(limit)
            .fetch_all(pool).await
            .map(|rows| rows.into_iter().map(|r| r.0).collect())
            .map_err(StoreError::from)
        })
    }

    /// Releases expired holds; returns how many. Safe with any number of sweepers: each
    /// release re-checks the hold's status under its row lock.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        let mut released = 0;
        for booking_id in self.expired_holds(100).await? {
            match self.expire(booking_id).await {
                Ok(true) => released += 1,
                Ok(false) => {}
                Err(HoldError::Store(e)) => return Err(e),
                Err(_) => {}
            }
        }
        Ok(released)
    }

    /// Releases one hold if it is still live and past its expiry.
    async fn expire(&self, booking_id: Uuid) -> Result<bool, HoldError> {
        match self.hold(booking_id).await? {
            Some(h) if h.status == HoldStatus::Held && h.expires_at <= Utc::now() => {
                let after = self.transition(booking_id, Transition::Release).await?;
                Ok(after.status == HoldStatus::Released)
            }
            _ => Ok(false),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Transition {
    Commit,
    Release,
}
