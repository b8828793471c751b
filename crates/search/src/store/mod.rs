//! search-service storage: writing the catalog, reading it into the index, and the
//! inventory holds whose invariant is sold + held ≤ capacity on both engines.
//!
//! This module holds the store's types and errors; the store's methods are split by
//! concern: [`catalog`] (writing the seeded catalog and reading it back for the index),
//! [`inventory`] (what is for sale and its changes), [`holds`] (holding, committing and
//! releasing inventory for a booking).

use chrono::{DateTime, NaiveDate, Utc};
use ota_platform::StoreError;
use ota_platform::db::Db;
use uuid::Uuid;

use crate::catalog::Cabin;

mod catalog;
mod holds;
mod inventory;

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
}
