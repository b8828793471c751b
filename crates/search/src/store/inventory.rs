//! What is for sale: the catalog generation, inventory changed since a moment, the
//! back office's capacity, price and stop-sell changes, and free and taken counts.

use chrono::NaiveDate;
use ota_platform::{StoreError, in_write_tx, on_pool};

use super::{
    ChangeError, Changes, Inventory, InventoryChange, InventoryItem, RoomNightRecord,
    RoomRangeRecord, SearchStore, SeatRecord, now_ms,
};
use crate::catalog::Cabin;
use crate::schedule::DatedLeg;

impl SearchStore {
    /// The catalog generation: bumped by every capacity, price or stop-sell change.
    pub async fn generation(&self) -> Result<i64, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, (i64,)>("SELECT generation FROM catalog_meta WHERE id = 1")
                .fetch_optional(pool).await
                .map(|r| r.map_or(0, |r| r.0))
                .map_err(StoreError::from)
        })
    }

    /// Inventory rows changed at or after `since_ms`, to keep the index fresh. The
    /// generation is read first, so rows of a change it counts are always among them.
    pub async fn changed_since(&self, since_ms: i64) -> Result<Changes, StoreError> {
        let generation = self.generation().await?;
        let (seats, nights) = on_pool!(&self.db, pool => {
            let seats = sqlx::query_as::<_, SeatRecord>(
                "SELECT flight_id, cabin, capacity, sold, held, stop_sell, fare_amount FROM seat_inventory WHERE changed_at >= $1",
            )
            .bind(since_ms)
            .fetch_all(pool).await?;
            let nights = sqlx::query_as::<_, RoomNightRecord>(
                "SELECT room_type_id, night, capacity, sold, held, stop_sell FROM room_nights WHERE changed_at >= $1",
            )
            .bind(since_ms)
            .fetch_all(pool).await?;
            Ok::<_, StoreError>((seats, nights))
        })?;
        let from = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        let ranges = self.hotel_ranges_changed(from, since_ms).await?;
        Ok(Changes {
            generation,
            seats,
            nights,
            ranges,
        })
    }

    /// Changes what is for sale on one flight cabin or room night, and bumps the
    /// catalog generation in the same transaction, so every search pod's next refresh
    /// applies the change and stops serving answers cached before it.
    pub async fn change_inventory(
        &self,
        at: Inventory,
        change: InventoryChange,
    ) -> Result<(), ChangeError> {
        match change {
            InventoryChange::Capacity(c) if c < 0 => {
                return Err(ChangeError::Invalid("capacity must not be negative"));
            }
            InventoryChange::Price(p) if p <= 0 => {
                return Err(ChangeError::Invalid("price must be positive"));
            }
            InventoryChange::Price(_) if matches!(at, Inventory::Rooms { .. }) => {
                return Err(ChangeError::Invalid(
                    "rooms are priced per rate plan: change the rate plan's rates (OTA_HotelRateAmountNotifRQ)",
                ));
            }
            _ => {}
        }
        let (table, key) = match at {
            Inventory::Seats { .. } => ("seat_inventory", "flight_id = $1 AND cabin = $2"),
            Inventory::Rooms { .. } => ("room_nights", "room_type_id = $1 AND night = $2"),
        };
        let set = match (change, at) {
            (InventoryChange::Capacity(_), _) => "capacity = $3",
            (InventoryChange::Price(_), Inventory::Seats { .. }) => "fare_amount = $3",
            (InventoryChange::Price(_), Inventory::Rooms { .. }) => unreachable!("refused above"),
            (InventoryChange::StopSell(_), _) => "stop_sell = $3",
        };
        // Conditional, so capacity never drops below what is sold and held.
        let guard = match change {
            InventoryChange::Capacity(_) => " AND sold + held <= $3",
            _ => "",
        };
        let update = format!("UPDATE {table} SET {set}, changed_at = $4 WHERE {key}{guard}");
        let taken = format!("SELECT sold + held FROM {table} WHERE {key}");
        let result: Result<(), ChangeError> = in_write_tx!(&self.db, tx => {
            let known = match at {
                Inventory::Seats { flight_id, cabin } => super::ensure_seat_row!(tx, flight_id, cabin, now_ms())?,
                Inventory::Rooms { room_type_id, night } => super::ensure_room_row!(tx, room_type_id, night, now_ms())?,
            };
            if !known {
                return Err(ChangeError::NotFound);
            }
            let q = sqlx::query(sqlx::AssertSqlSafe(update.clone()));
            let q = match at {
                Inventory::Seats { flight_id, cabin } => q.bind(flight_id).bind(cabin.as_str()),
                Inventory::Rooms { room_type_id, night } => q.bind(room_type_id).bind(night),
            };
            let q = match change {
                InventoryChange::Capacity(c) => q.bind(c),
                InventoryChange::Price(p) => q.bind(p),
                InventoryChange::StopSell(b) => q.bind(b),
            };
            if q.bind(now_ms()).execute(&mut *tx).await?.rows_affected() == 0 {
                let q = sqlx::query_as::<_, (i32,)>(sqlx::AssertSqlSafe(taken.clone()));
                let q = match at {
                    Inventory::Seats { flight_id, cabin } => q.bind(flight_id).bind(cabin.as_str()),
                    Inventory::Rooms { room_type_id, night } => q.bind(room_type_id).bind(night),
                };
                return Err(match (q.fetch_optional(&mut *tx).await?, change) {
                    (Some((taken,)), InventoryChange::Capacity(capacity)) => ChangeError::BelowTaken { capacity, taken },
                    _ => ChangeError::NotFound,
                });
            }
            sqlx::query("UPDATE catalog_meta SET generation = generation + 1 WHERE id = 1")
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        });
        result
    }

    /// Seats or rooms still free for each item (the database is the truth): a dated leg
    /// or room night nothing happened to yet has its scheduled capacity or the rooms of
    /// its range.
    pub async fn available(&self, item: &InventoryItem) -> Result<Option<i32>, StoreError> {
        let state = match item {
            InventoryItem::Seats {
                flight_id, cabin, ..
            } => self.seat_state(*flight_id, *cabin).await?,
            InventoryItem::Rooms {
                room_type_id,
                night,
                ..
            } => self.room_state(*room_type_id, *night).await?,
        };
        Ok(state.map(
            |(capacity, sold, held, stop_sell)| {
                if stop_sell { 0 } else { capacity - sold - held }
            },
        ))
    }

    /// Capacity, sold and held seats of one dated leg's cabin (for tests and operators).
    pub async fn seat_counts(
        &self,
        flight_id: i64,
        cabin: Cabin,
    ) -> Result<(i32, i32, i32), StoreError> {
        self.seat_state(flight_id, cabin)
            .await?
            .map(|(capacity, sold, held, _)| (capacity, sold, held))
            .ok_or(StoreError::NotFound)
    }

    /// Capacity, sold, held and stop-sell of one dated leg's cabin; `None` when the leg
    /// does not operate or has no such cabin.
    async fn seat_state(
        &self,
        flight_id: i64,
        cabin: Cabin,
    ) -> Result<Option<(i32, i32, i32, bool)>, StoreError> {
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, (i32, i32, i32, bool)>("SELECT capacity, sold, held, stop_sell FROM seat_inventory WHERE flight_id = $1 AND cabin = $2")
                .bind(flight_id).bind(cabin.as_str())
                .fetch_optional(pool).await.map_err(StoreError::from)
        })?;
        if row.is_some() {
            return Ok(row);
        }
        let Some(at) = DatedLeg::from_id(flight_id) else {
            return Ok(None);
        };
        Ok(self
            .scheduled_leg(&at)
            .await?
            .and_then(|leg| leg.capacity(cabin))
            .map(|capacity| (capacity, 0, 0, false)))
    }

    /// Capacity, sold and held rooms of one room-type night.
    pub async fn room_counts(
        &self,
        room_type_id: i64,
        night: NaiveDate,
    ) -> Result<(i32, i32, i32), StoreError> {
        self.room_state(room_type_id, night)
            .await?
            .map(|(capacity, sold, held, _)| (capacity, sold, held))
            .ok_or(StoreError::NotFound)
    }

    /// Capacity, sold, held and stop-sell of one room-type night: its row where
    /// something happened to it, else its range; `None` when no range covers it.
    async fn room_state(
        &self,
        room_type_id: i64,
        night: NaiveDate,
    ) -> Result<Option<(i32, i32, i32, bool)>, StoreError> {
        on_pool!(&self.db, pool => {
            let row = sqlx::query_as::<_, (i32, i32, i32, bool)>("SELECT capacity, sold, held, stop_sell FROM room_nights WHERE room_type_id = $1 AND night = $2")
                .bind(room_type_id).bind(night)
                .fetch_optional(pool).await?;
            if row.is_some() {
                return Ok(row);
            }
            let ranges = sqlx::query_as::<_, RoomRangeRecord>(super::COVERING_RANGES)
            .bind(room_type_id).bind(night)
            .fetch_all(pool).await?;
            Ok(ranges.into_iter().find(|r| r.covers(night)).map(|r| (r.capacity, 0, 0, r.stop_sell)))
        })
    }

    /// Sets a flight cabin's seats (shrinking one makes contention easy to create).
    pub async fn set_seat_capacity(
        &self,
        flight_id: i64,
        cabin: Cabin,
        capacity: i32,
    ) -> Result<(), ChangeError> {
        self.change_inventory(
            Inventory::Seats { flight_id, cabin },
            InventoryChange::Capacity(capacity),
        )
        .await
    }
}
