//! search-service storage: writing the catalog, reading it into the index, and the
//! inventory holds whose invariant is sold + held ≤ capacity on both engines.

use chrono::{DateTime, NaiveDate, Utc};
use ota_platform::db::Db;
use ota_platform::{StoreError, in_write_tx, on_pool};
use uuid::Uuid;

use crate::catalog::Cabin;
use crate::seed::{Blueprint, CURRENCY, Rng};

/// Rows per INSERT statement: well inside both engines' bind-parameter limits.
const CHUNK: usize = 2_000;

// ---------------------------------------------------------------------------------------
// Catalog rows as read back

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AirportRecord {
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub time_zone: String,
    pub metro: Option<String>,
    pub rank: i32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlightRecord {
    pub id: i64,
    pub carrier: String,
    pub flight_number: i32,
    pub origin: String,
    pub destination: String,
    pub departure_date: NaiveDate,
    pub departure_at: DateTime<Utc>,
    pub arrival_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CabinRecord {
    pub flight_id: i64,
    pub cabin: String,
    pub capacity: i32,
    pub sold: i32,
    pub held: i32,
    pub fare_amount: i64,
    pub refundable: bool,
    pub stop_sell: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HotelRecord {
    pub id: i64,
    pub name: String,
    pub city: String,
    pub country: String,
    pub stars: i16,
    pub time_zone: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomTypeRecord {
    pub id: i64,
    pub hotel_id: i64,
    pub name: String,
    pub max_guests: i32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomNightRecord {
    pub room_type_id: i64,
    pub night: NaiveDate,
    pub capacity: i32,
    pub sold: i32,
    pub held: i32,
    pub price_amount: i64,
    pub stop_sell: bool,
}

/// Inventory rows changed since a moment, and the catalog generation read before them.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub generation: i64,
    pub cabins: Vec<CabinRecord>,
    pub nights: Vec<RoomNightRecord>,
}

/// Where a capacity, price or stop-sell change applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inventory {
    Seats { flight_id: i64, cabin: Cabin },
    Rooms { room_type_id: i64, night: NaiveDate },
}

/// A change of what is for sale, as the back office and content imports make them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryChange {
    /// Seats or rooms in total; never below what is already sold and held.
    Capacity(i32),
    /// The adult fare of a cabin or the flexible nightly price of a room, minor units.
    Price(i64),
    /// Stop selling (true) or sell again (false); sold and held inventory stays.
    StopSell(bool),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no such flight cabin or room night")]
    NotFound,
    #[error("{0}")]
    Invalid(&'static str),
    /// The new capacity is below the seats or rooms already sold and held.
    #[error("capacity {capacity} is below the {taken} already sold and held")]
    BelowTaken { capacity: i32, taken: i32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChangeError {
    fn from(e: sqlx::Error) -> Self {
        ChangeError::Store(e.into())
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CatalogMeta {
    pub state: String,
    pub size: String,
    pub first_day: NaiveDate,
    pub days: i32,
}

/// One line of inventory a hold reserves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum InventoryItem {
    Seats {
        flight_id: i64,
        cabin: Cabin,
        quantity: i32,
    },
    Rooms {
        room_type_id: i64,
        night: NaiveDate,
        quantity: i32,
    },
}

pub use ota_contract::search::HoldStatus;

/// A hold's status as the `holds` table spells it.
fn hold_status(s: &str) -> HoldStatus {
    match s {
        "committed" => HoldStatus::Committed,
        "released" => HoldStatus::Released,
        _ => HoldStatus::Held,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub booking_id: Uuid,
    pub status: HoldStatus,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// Not enough seats or rooms left for this item: nothing was held.
    #[error("sold out")]
    SoldOut(InventoryItem),
    /// No such flight cabin or room night.
    #[error("unknown inventory")]
    Unknown(InventoryItem),
    /// The hold expired or was released before it could be committed.
    #[error("the hold is no longer active")]
    NotActive(HoldStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for HoldError {
    fn from(e: sqlx::Error) -> Self {
        HoldError::Store(e.into())
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

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The search-service store over either engine.
#[derive(Clone)]
pub struct SearchStore {
    db: Db,
}

impl SearchStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn meta(&self) -> Result<Option<CatalogMeta>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, CatalogMeta>("SELECT state, size, first_day, days FROM catalog_meta WHERE id = 1")
                .fetch_optional(pool)
                .await
                .map_err(StoreError::from)
        })
    }

    /// Removes the whole catalog, inventory and holds (for `ota seed --force`).
    pub async fn clear(&self) -> Result<(), StoreError> {
        for table in [
            "hold_items",
            "holds",
            "room_nights",
            "room_types",
            "hotels",
            "flight_cabins",
            "flights",
            "carriers",
            "airports",
            "catalog_meta",
        ] {
            let sql = format!("DELETE FROM {table}");
            on_pool!(&self.db, pool => {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(pool).await.map(|_| ()).map_err(StoreError::from)
            })?;
        }
        Ok(())
    }

    /// Writes a blueprint's catalog in one transaction, reporting rows written to
    /// `progress`. Answers `false` without writing when a catalog exists already: of
    /// several replicas starting on an empty database, exactly one seeds (the others
    /// wait on the catalog row and then find it there).
    pub async fn write_catalog(
        &self,
        bp: &Blueprint,
        progress: &(dyn Fn(u64, &str) + Send + Sync),
    ) -> Result<bool, StoreError> {
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "INSERT INTO catalog_meta (id, state, size, first_day, days, seeded_at)
                 VALUES (1, 'seeding', $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(bp.size.as_str())
            .bind(bp.first_day)
            .bind(bp.days as i32)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                return Ok(false);
            }
            for chunk in bp.airports.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO airports (iata, name, city, country, latitude, longitude, time_zone, metro, rank) ")
                    .push_values(chunk, |mut b, a| {
                        b.push_bind(a.iata.clone()).push_bind(a.name.clone()).push_bind(a.city.clone())
                            .push_bind(a.country.clone()).push_bind(a.latitude).push_bind(a.longitude)
                            .push_bind(a.time_zone.clone()).push_bind(a.metro.clone()).push_bind(a.rank as i32);
                    })
                    .build().execute(&mut *tx).await?;
            }
            sqlx::QueryBuilder::new("INSERT INTO carriers (code, name) ")
                .push_values(crate::catalog::CARRIERS, |mut b, c| {
                    b.push_bind(c.code).push_bind(c.name);
                })
                .build().execute(&mut *tx).await?;
            progress(bp.airports.len() as u64, "airports");
            let mut next_id = 1;
            for day in 0..bp.days {
                let (flights, cabins) = bp.flights_on(day, &mut next_id);
                for chunk in flights.chunks(CHUNK) {
                    sqlx::QueryBuilder::new("INSERT INTO flights (id, carrier, flight_number, origin, destination, departure_date, departure_at, arrival_at) ")
                        .push_values(chunk, |mut b, f| {
                            b.push_bind(f.id).push_bind(f.carrier).push_bind(f.flight_number)
                                .push_bind(f.origin.clone()).push_bind(f.destination.clone())
                                .push_bind(f.departure_date).push_bind(f.departure_at).push_bind(f.arrival_at);
                        })
                        .build().execute(&mut *tx).await?;
                }
                for chunk in cabins.chunks(CHUNK) {
                    sqlx::QueryBuilder::new("INSERT INTO flight_cabins (flight_id, cabin, capacity, fare_amount, currency, refundable) ")
                        .push_values(chunk, |mut b, c| {
                            b.push_bind(c.flight_id).push_bind(c.cabin.as_str()).push_bind(c.capacity)
                                .push_bind(c.fare_amount).push_bind(CURRENCY).push_bind(c.refundable);
                        })
                        .build().execute(&mut *tx).await?;
                }
                progress((flights.len() + cabins.len()) as u64, "flights");
            }
            for chunk in bp.hotels.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO hotels (id, name, city, country, airport, stars, time_zone) ")
                    .push_values(chunk, |mut b, h| {
                        b.push_bind(h.id).push_bind(h.name.clone()).push_bind(h.city.clone()).push_bind(h.country.clone())
                            .push_bind(h.airport.clone()).push_bind(h.stars).push_bind(h.time_zone.clone());
                    })
                    .build().execute(&mut *tx).await?;
            }
            for chunk in bp.room_types.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO room_types (id, hotel_id, name, max_guests) ")
                    .push_values(chunk, |mut b, r| {
                        b.push_bind(r.id).push_bind(r.hotel_id).push_bind(r.name).push_bind(r.max_guests);
                    })
                    .build().execute(&mut *tx).await?;
            }
            let mut rng = Rng::new(0x0004_07E1);
            for rt in &bp.room_types {
                let nights: Vec<(NaiveDate, i64)> = (0..bp.days)
                    .map(|d| {
                        let night = bp.first_day + chrono::Duration::days(i64::from(d));
                        (night, bp.night_price(rt, night, &mut rng))
                    })
                    .collect();
                for chunk in nights.chunks(CHUNK) {
                    sqlx::QueryBuilder::new("INSERT INTO room_nights (room_type_id, night, capacity, price_amount, currency) ")
                        .push_values(chunk, |mut b, (night, price)| {
                            b.push_bind(rt.id).push_bind(*night).push_bind(rt.capacity).push_bind(*price).push_bind(CURRENCY);
                        })
                        .build().execute(&mut *tx).await?;
                }
                progress(nights.len() as u64, "room-nights");
            }
            sqlx::query("UPDATE catalog_meta SET state = 'ready', seeded_at = $1 WHERE id = 1")
                .bind(Utc::now())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn airports(&self) -> Result<Vec<AirportRecord>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, AirportRecord>("SELECT iata, name, city, country, time_zone, metro, rank FROM airports ORDER BY rank, iata")
                .fetch_all(pool).await.map_err(StoreError::from)
        })
    }

    pub async fn carriers(&self) -> Result<Vec<(String, String)>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, (String, String)>("SELECT code, name FROM carriers ORDER BY code")
                .fetch_all(pool).await.map_err(StoreError::from)
        })
    }

    /// Reads a whole table slice for the index. Loading a large catalog takes longer
    /// than the statement timeout that protects requests, so on PostgreSQL it runs in
    /// its own transaction with a generous one.
    async fn bulk_read<T>(&self, sql: &'static str, from: NaiveDate) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        match &self.db {
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET LOCAL statement_timeout = '10min'")
                    .execute(&mut *tx)
                    .await?;
                let rows = sqlx::query_as::<_, T>(sql)
                    .bind(from)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }
            Db::Sqlite(pool) => Ok(sqlx::query_as::<_, T>(sql)
                .bind(from)
                .fetch_all(pool)
                .await?),
        }
    }

    /// Flights departing on or after `from` (local date).
    pub async fn flights(&self, from: NaiveDate) -> Result<Vec<FlightRecord>, StoreError> {
        self.bulk_read(
            "SELECT id, carrier, flight_number, origin, destination, departure_date, departure_at, arrival_at
             FROM flights WHERE departure_date >= $1 ORDER BY id",
            from,
        )
        .await
    }

    pub async fn cabins(&self, from: NaiveDate) -> Result<Vec<CabinRecord>, StoreError> {
        self.bulk_read(
            "SELECT c.flight_id, c.cabin, c.capacity, c.sold, c.held, c.fare_amount, c.refundable, c.stop_sell
             FROM flight_cabins c JOIN flights f ON f.id = c.flight_id
             WHERE f.departure_date >= $1",
            from,
        )
        .await
    }

    pub async fn hotels(&self) -> Result<(Vec<HotelRecord>, Vec<RoomTypeRecord>), StoreError> {
        on_pool!(&self.db, pool => {
            let hotels = sqlx::query_as::<_, HotelRecord>("SELECT id, name, city, country, stars, time_zone FROM hotels ORDER BY id")
                .fetch_all(pool).await?;
            let rooms = sqlx::query_as::<_, RoomTypeRecord>("SELECT id, hotel_id, name, max_guests FROM room_types ORDER BY id")
                .fetch_all(pool).await?;
            Ok((hotels, rooms))
        })
    }

    pub async fn room_nights(&self, from: NaiveDate) -> Result<Vec<RoomNightRecord>, StoreError> {
        self.bulk_read(
            "SELECT room_type_id, night, capacity, sold, held, price_amount, stop_sell FROM room_nights WHERE night >= $1",
            from,
        )
        .await
    }

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
        on_pool!(&self.db, pool => {
            let cabins = sqlx::query_as::<_, CabinRecord>(
                "SELECT flight_id, cabin, capacity, sold, held, fare_amount, refundable, stop_sell FROM flight_cabins WHERE changed_at >= $1",
            )
            .bind(since_ms)
            .fetch_all(pool).await?;
            let nights = sqlx::query_as::<_, RoomNightRecord>(
                "SELECT room_type_id, night, capacity, sold, held, price_amount, stop_sell FROM room_nights WHERE changed_at >= $1",
            )
            .bind(since_ms)
            .fetch_all(pool).await?;
            Ok(Changes { generation, cabins, nights })
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
            _ => {}
        }
        let (table, key) = match at {
            Inventory::Seats { .. } => ("flight_cabins", "flight_id = $1 AND cabin = $2"),
            Inventory::Rooms { .. } => ("room_nights", "room_type_id = $1 AND night = $2"),
        };
        let set = match (change, at) {
            (InventoryChange::Capacity(_), _) => "capacity = $3",
            (InventoryChange::Price(_), Inventory::Seats { .. }) => "fare_amount = $3",
            (InventoryChange::Price(_), Inventory::Rooms { .. }) => "price_amount = $3",
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

    /// Seats or rooms still free for each item (the database is the truth).
    pub async fn available(&self, item: &InventoryItem) -> Result<Option<i32>, StoreError> {
        on_pool!(&self.db, pool => {
            let row: Option<(i32,)> = match item {
                InventoryItem::Seats { flight_id, cabin, .. } => sqlx::query_as(
                    "SELECT CASE WHEN stop_sell THEN 0 ELSE capacity - sold - held END FROM flight_cabins WHERE flight_id = $1 AND cabin = $2",
                )
                .bind(*flight_id).bind(cabin.as_str()).fetch_optional(pool).await?,
                InventoryItem::Rooms { room_type_id, night, .. } => sqlx::query_as(
                    "SELECT CASE WHEN stop_sell THEN 0 ELSE capacity - sold - held END FROM room_nights WHERE room_type_id = $1 AND night = $2",
                )
                .bind(*room_type_id).bind(*night).fetch_optional(pool).await?,
            };
            Ok(row.map(|r| r.0))
        })
    }

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
                    let updated = match item {
                        InventoryItem::Seats { flight_id, cabin, quantity } => sqlx::query(
                            "UPDATE flight_cabins SET held = held + $3, changed_at = $4
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
                            InventoryItem::Seats { flight_id, cabin, .. } => sqlx::query_as("SELECT capacity FROM flight_cabins WHERE flight_id = $1 AND cabin = $2")
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
                        sqlx::query("UPDATE flight_cabins SET held = held + $3, sold = sold + $4, changed_at = $5 WHERE flight_id = $1 AND cabin = $2")
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

    /// Sold and held totals of one flight cabin (for tests and operators).
    pub async fn seat_counts(
        &self,
        flight_id: i64,
        cabin: Cabin,
    ) -> Result<(i32, i32, i32), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, (i32, i32, i32)>("SELECT capacity, sold, held FROM flight_cabins WHERE flight_id = $1 AND cabin = $2")
                .bind(flight_id).bind(cabin.as_str())
                .fetch_one(pool).await.map_err(StoreError::from)
        })
    }

    /// Sold and held totals of one room-type night.
    pub async fn room_counts(
        &self,
        room_type_id: i64,
        night: NaiveDate,
    ) -> Result<(i32, i32, i32), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, (i32, i32, i32)>("SELECT capacity, sold, held FROM room_nights WHERE room_type_id = $1 AND night = $2")
                .bind(room_type_id).bind(night)
                .fetch_one(pool).await.map_err(StoreError::from)
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

#[derive(Clone, Copy, Debug)]
enum Transition {
    Commit,
    Release,
}
