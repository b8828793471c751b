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
mod hotel_content;
mod hotel_ranges;
mod inventory;
mod schedules;
mod suppliers;

pub use hotel_content::HotelImportReport;
pub use hotel_ranges::{Allotment, AriChange, AriSet, Restrictions, RoomTypeRanges, apply_changes};
pub use schedules::{AffectedLeg, ImportLog, ImportReport, LegChange, ScheduleImport, Window};
pub use suppliers::{HotelCodes, SupplierError, SupplierReservation};

// ---------------------------------------------------------------------------------------
// Catalog rows as read back

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AirportRecord {
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    /// Degrees, WGS 84.
    pub latitude: f64,
    pub longitude: f64,
    pub time_zone: String,
    pub metro: Option<String>,
    pub rank: i32,
}

/// One leg of one flight on one date, as [`SearchStore::flights`] lists them.
#[derive(Debug, Clone)]
pub struct FlightRecord {
    /// The [`crate::schedule::DatedLeg`] id.
    pub id: i64,
    pub carrier: String,
    pub flight_number: i32,
    pub origin: String,
    pub destination: String,
    /// Local date at the origin.
    pub departure_date: NaiveDate,
    pub departure_at: DateTime<Utc>,
    pub arrival_at: DateTime<Utc>,
}

/// Seats of one cabin of one dated leg where anything happened to them (sold, held,
/// stop-sold or changed by staff); every other dated leg has its scheduled capacity.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SeatRecord {
    /// The [`crate::schedule::DatedLeg`] id.
    pub flight_id: i64,
    pub cabin: String,
    pub capacity: i32,
    pub sold: i32,
    pub held: i32,
    pub stop_sell: bool,
    /// The adult fare staff set for this dated leg, minor units (else the published fare).
    pub fare_amount: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HotelRecord {
    pub id: i64,
    /// The supplier's `HotelCode`.
    pub code: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub stars: i16,
    pub time_zone: String,
    /// Street, and postal code, as the hotel file gave them.
    pub address: String,
    pub postal_code: String,
    /// Hotel-local HH:MM.
    pub check_in_time: String,
    pub check_out_time: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomTypeRecord {
    pub id: i64,
    /// The supplier's `InvTypeCode`, unique within the hotel.
    pub code: String,
    pub hotel_id: i64,
    pub name: String,
    pub max_guests: i32,
}

/// A hotel's rate plan: what is included and how a stay on it cancels.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RatePlanRecord {
    pub id: i64,
    pub hotel_id: i64,
    /// The supplier's `RatePlanCode`, unique within the hotel.
    pub code: String,
    pub name: String,
    /// room_only, breakfast, half_board, full_board or all_inclusive.
    pub board: String,
    pub refundable: bool,
    /// A refundable plan cancels free until this many days before check-in, 14:00
    /// hotel time (none: until check-in).
    pub free_cancellation_days: Option<i32>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomNightRecord {
    pub room_type_id: i64,
    pub night: NaiveDate,
    pub capacity: i32,
    pub sold: i32,
    pub held: i32,
    pub stop_sell: bool,
}

/// A run of nights of one room type on some weekdays (bit 0 Monday … bit 6 Sunday) with
/// the same rooms for sale and stop-sell (its allotment).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomRangeRecord {
    pub room_type_id: i64,
    pub first_night: NaiveDate,
    pub last_night: NaiveDate,
    pub weekdays: i16,
    pub capacity: i32,
    pub stop_sell: bool,
}

impl RoomRangeRecord {
    /// Whether the range covers a night.
    pub fn covers(&self, night: NaiveDate) -> bool {
        use chrono::Datelike as _;
        self.first_night <= night
            && night <= self.last_night
            && self.weekdays & (1 << night.weekday().num_days_from_monday()) != 0
    }
}

/// Inventory rows changed since a moment, and the catalog generation read before them.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub generation: i64,
    pub seats: Vec<SeatRecord>,
    pub nights: Vec<RoomNightRecord>,
    /// Room types whose allotment, restriction or rate ranges changed, with their ranges.
    pub ranges: Vec<RoomTypeRanges>,
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
    /// The adult fare of a cabin, minor units (rooms are priced by rate plan, through
    /// rate ranges: [`SearchStore::apply_ari`]).
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

/// A hotel stay a hold is for, kept for the hotel's supplier (see
/// [`SearchStore::create_hold_for`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotelStay {
    /// Our booking reference (the booking id where none was given).
    pub reference: String,
    pub room_type_id: i64,
    pub rate_plan_code: String,
    /// Hotel-local date of arrival.
    pub check_in: NaiveDate,
    pub nights: i32,
    pub rooms: i32,
    pub guests: i32,
    /// Every room, every night, minor units.
    pub total_amount: i64,
    pub currency: String,
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

/// Makes sure the seat row of a dated leg's cabin exists inside a write transaction,
/// creating it from the schedule (its capacity, nothing sold) where the leg operates and
/// has that cabin. Evaluates to `Ok(true)` when the row is there.
macro_rules! ensure_seat_row {
    ($tx:expr, $flight_id:expr, $cabin:expr, $stamp:expr) => {{
        let flight_id: i64 = $flight_id;
        let cabin: $crate::catalog::Cabin = $cabin;
        let exists: Option<(i32,)> =
            sqlx::query_as("SELECT capacity FROM seat_inventory WHERE flight_id = $1 AND cabin = $2")
                .bind(flight_id)
                .bind(cabin.as_str())
                .fetch_optional(&mut *$tx)
                .await?;
        match (exists, $crate::schedule::DatedLeg::from_id(flight_id)) {
            (Some(_), _) => Ok::<bool, sqlx::Error>(true),
            (None, None) => Ok(false),
            (None, Some(at)) => {
                let candidates: Vec<(chrono::NaiveDate, i32, i32, i32)> = sqlx::query_as(
                    "SELECT l.period_from, l.days, l.frequency_rate, c.capacity
                     FROM flight_legs l JOIN leg_cabins c ON c.leg_id = l.id AND c.cabin = $5
                     WHERE l.carrier = $1 AND l.flight_number = $2 AND l.origin = $3
                       AND l.period_from <= $4 AND l.period_to >= $4",
                )
                .bind(&at.carrier)
                .bind(i32::from(at.flight_number))
                .bind(&at.origin)
                .bind(at.flight_date)
                .bind(cabin.as_str())
                .fetch_all(&mut *$tx)
                .await?;
                let capacity = candidates.into_iter().find_map(|(from, days, rate, capacity)| {
                    use chrono::Datelike as _;
                    let week = (at.flight_date - from).num_days() / 7;
                    let day = 1 << at.flight_date.weekday().num_days_from_monday();
                    (week % i64::from(rate.max(1)) == 0 && days & day != 0).then_some(capacity)
                });
                match capacity {
                    None => Ok(false),
                    Some(capacity) => {
                        sqlx::query(
                            "INSERT INTO seat_inventory (flight_id, cabin, carrier, flight_number, flight_date, origin, capacity, changed_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (flight_id, cabin) DO NOTHING",
                        )
                        .bind(flight_id)
                        .bind(cabin.as_str())
                        .bind(&at.carrier)
                        .bind(i32::from(at.flight_number))
                        .bind(at.flight_date)
                        .bind(&at.origin)
                        .bind(capacity)
                        .bind($stamp)
                        .execute(&mut *$tx)
                        .await?;
                        Ok(true)
                    }
                }
            }
        }
    }};
}
pub(crate) use ensure_seat_row;

/// The ranges of a room type (`$1`) that may cover a night (`$2`): the one whose weekdays
/// include the night's covers it ([`RoomRangeRecord::covers`]).
pub(crate) const COVERING_RANGES: &str =
    "SELECT room_type_id, first_night, last_night, weekdays, capacity, stop_sell
     FROM room_ranges WHERE room_type_id = $1 AND first_night <= $2 AND last_night >= $2";

/// Makes sure the row of a room type's night exists inside a write transaction, creating
/// it from the allotment range that covers the night (its rooms and stop-sell, nothing
/// sold). Evaluates to `Ok(true)` when the row is there.
macro_rules! ensure_room_row {
    ($tx:expr, $room_type_id:expr, $night:expr, $stamp:expr) => {{
        let room_type_id: i64 = $room_type_id;
        let night: chrono::NaiveDate = $night;
        let exists: Option<(i32,)> =
            sqlx::query_as("SELECT capacity FROM room_nights WHERE room_type_id = $1 AND night = $2")
                .bind(room_type_id)
                .bind(night)
                .fetch_optional(&mut *$tx)
                .await?;
        if exists.is_some() {
            Ok::<bool, sqlx::Error>(true)
        } else {
            let ranges: Vec<$crate::store::RoomRangeRecord> = sqlx::query_as(
                $crate::store::COVERING_RANGES,
            )
            .bind(room_type_id)
            .bind(night)
            .fetch_all(&mut *$tx)
            .await?;
            match ranges.into_iter().find(|r| r.covers(night)) {
                None => Ok(false),
                Some(r) => {
                    sqlx::query(
                        "INSERT INTO room_nights (room_type_id, night, capacity, stop_sell, changed_at)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room_type_id, night) DO NOTHING",
                    )
                    .bind(room_type_id)
                    .bind(night)
                    .bind(r.capacity)
                    .bind(r.stop_sell)
                    .bind($stamp)
                    .execute(&mut *$tx)
                    .await?;
                    Ok(true)
                }
            }
        }
    }};
}
pub(crate) use ensure_room_row;
