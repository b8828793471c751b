//! Suppliers (channel managers, hotels) and the hotels each may change, and the codes
//! their messages use.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::NaiveDate;
use ota_platform::{StoreError, in_write_tx, on_pool};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{SearchStore, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum SupplierError {
    #[error("a supplier named {0} exists already")]
    Exists(String),
    #[error("no hotel has the code {0}")]
    UnknownHotel(String),
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SupplierError {
    fn from(e: sqlx::Error) -> Self {
        SupplierError::Store(e.into())
    }
}

/// A hotel's room types and rate plans by their codes.
#[derive(Debug, Clone, Default)]
pub struct HotelCodes {
    pub hotel_id: i64,
    pub room_types: Vec<(String, i64)>,
    pub rate_plans: Vec<(String, i64)>,
}

impl HotelCodes {
    pub fn room_type(&self, code: &str) -> Option<i64> {
        self.room_types.iter().find(|(c, _)| c == code).map(|r| r.1)
    }

    pub fn rate_plan(&self, code: &str) -> Option<i64> {
        self.rate_plans.iter().find(|(c, _)| c == code).map(|r| r.1)
    }
}

fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl SearchStore {
    /// Creates a supplier for these hotels (by code) and answers its secret, which is
    /// stored only as a SHA-256 digest (shown now, never again), and the hotel codes it
    /// was created for, once each.
    pub async fn create_supplier(
        &self,
        name: &str,
        hotel_codes: &[String],
    ) -> Result<(String, Vec<String>), SupplierError> {
        let name = name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(SupplierError::Invalid(
                "a supplier name is 1 to 64 letters, digits, '-', '_' or '.' (it is the user name of HTTP Basic)",
            ));
        }
        let mut hotel_codes: Vec<&str> = hotel_codes
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect();
        hotel_codes.sort_unstable();
        hotel_codes.dedup();
        if hotel_codes.is_empty() {
            return Err(SupplierError::Invalid("name at least one hotel code"));
        }
        let secret = B64.encode(rand::random::<[u8; 32]>());
        let hash = digest(&secret);
        let result: Result<(), SupplierError> = in_write_tx!(&self.db, tx => {
            let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM suppliers WHERE name = $1")
                .bind(name).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(SupplierError::Exists(name.to_owned()));
            }
            let (id,): (i64,) = sqlx::query_as("INSERT INTO suppliers (name, secret_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(name).bind(&hash).bind(now_ms())
                .fetch_one(&mut *tx).await?;
            for code in &hotel_codes {
                let hotel: Option<(i64,)> = sqlx::query_as("SELECT id FROM hotels WHERE code = $1")
                    .bind(*code).fetch_optional(&mut *tx).await?;
                let Some((hotel_id,)) = hotel else {
                    return Err(SupplierError::UnknownHotel((*code).to_owned()));
                };
                sqlx::query("INSERT INTO supplier_hotels (supplier_id, hotel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id).bind(hotel_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        });
        result.map(|()| (secret, hotel_codes.into_iter().map(str::to_owned).collect()))
    }

    /// The supplier a NAME:SECRET credential belongs to (the digest compared in
    /// constant time).
    pub async fn supplier_by_credential(
        &self,
        name: &str,
        secret: &str,
    ) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64, String)> = on_pool!(&self.db, pool => {
            sqlx::query_as("SELECT id, secret_hash FROM suppliers WHERE name = $1")
                .bind(name).fetch_optional(pool).await.map_err(StoreError::from)
        })?;
        let given = digest(secret);
        Ok(row.and_then(|(id, stored)| {
            bool::from(stored.as_bytes().ct_eq(given.as_bytes())).then_some(id)
        }))
    }

    /// The room types and rate plans of a hotel, by code, if the supplier may change it
    /// (any hotel for an operator: `None`).
    pub async fn supplier_hotel(
        &self,
        supplier_id: Option<i64>,
        hotel_code: &str,
    ) -> Result<Option<HotelCodes>, StoreError> {
        on_pool!(&self.db, pool => {
            let hotel: Option<(i64,)> = match supplier_id {
                Some(supplier_id) => sqlx::query_as(
                    "SELECT h.id FROM hotels h JOIN supplier_hotels s ON s.hotel_id = h.id WHERE s.supplier_id = $1 AND h.code = $2",
                )
                .bind(supplier_id).bind(hotel_code)
                .fetch_optional(pool).await?,
                None => sqlx::query_as("SELECT id FROM hotels WHERE code = $1")
                    .bind(hotel_code)
                    .fetch_optional(pool).await?,
            };
            let Some((hotel_id,)) = hotel else {
                return Ok(None);
            };
            let room_types: Vec<(String, i64)> = sqlx::query_as("SELECT code, id FROM room_types WHERE hotel_id = $1")
                .bind(hotel_id).fetch_all(pool).await?;
            let rate_plans: Vec<(String, i64)> = sqlx::query_as("SELECT code, id FROM rate_plans WHERE hotel_id = $1")
                .bind(hotel_id).fetch_all(pool).await?;
            Ok(Some(HotelCodes { hotel_id, room_types, rate_plans }))
        })
    }

    /// Every hotel's room types and rate plans by code, by hotel code.
    pub async fn all_hotel_codes(
        &self,
    ) -> Result<std::collections::HashMap<String, HotelCodes>, StoreError> {
        on_pool!(&self.db, pool => {
            let hotels: Vec<(i64, String)> = sqlx::query_as("SELECT id, code FROM hotels").fetch_all(pool).await?;
            let rooms: Vec<(i64, String, i64)> = sqlx::query_as("SELECT hotel_id, code, id FROM room_types").fetch_all(pool).await?;
            let plans: Vec<(i64, String, i64)> = sqlx::query_as("SELECT hotel_id, code, id FROM rate_plans").fetch_all(pool).await?;
            let mut by_id: std::collections::HashMap<i64, HotelCodes> = hotels
                .iter()
                .map(|(id, _)| (*id, HotelCodes { hotel_id: *id, ..HotelCodes::default() }))
                .collect();
            for (hotel, code, id) in rooms {
                if let Some(h) = by_id.get_mut(&hotel) {
                    h.room_types.push((code, id));
                }
            }
            for (hotel, code, id) in plans {
                if let Some(h) = by_id.get_mut(&hotel) {
                    h.rate_plans.push((code, id));
                }
            }
            Ok(hotels.into_iter().filter_map(|(id, code)| Some((code, by_id.remove(&id)?))).collect())
        })
    }

    /// Confirmed and cancelled stays at the supplier's hotels (or one of them) that it
    /// has not acknowledged in their present state, oldest change first.
    pub async fn unsent_reservations(
        &self,
        supplier_id: i64,
        hotel_code: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SupplierReservation>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, SupplierReservation>(
                "SELECT r.reference, h.code AS hotel_code, t.code AS room_type_code, r.rate_plan_code, r.check_in, r.nights,
                        r.rooms, r.guests, r.total_amount, r.currency, r.status, r.created_at, r.changed_at
                   FROM hotel_reservations r
                   JOIN supplier_hotels s ON s.hotel_id = r.hotel_id AND s.supplier_id = $1
                   JOIN hotels h ON h.id = r.hotel_id
                   JOIN room_types t ON t.id = r.room_type_id
                  WHERE r.version > r.acked_version AND r.status IN ('confirmed', 'cancelled')
                    AND ($2 = '' OR h.code = $2)
                  ORDER BY r.changed_at, r.reference LIMIT $3",
            )
            .bind(supplier_id).bind(hotel_code.unwrap_or_default()).bind(limit)
            .fetch_all(pool).await.map_err(StoreError::from)
        })
    }

    /// Marks reservations as received by the supplier in the state it names
    /// (`confirmed` or `cancelled`), so a pull sends them again only when they change.
    /// Answers how many it marked; a reference of another supplier's hotel, or in
    /// another state, is left as it is.
    pub async fn acknowledge_reservations(
        &self,
        supplier_id: i64,
        received: &[(String, String)],
    ) -> Result<u64, StoreError> {
        let result: Result<u64, StoreError> = in_write_tx!(&self.db, tx => {
            let mut marked = 0;
            for (reference, status) in received {
                marked += sqlx::query(
                    "UPDATE hotel_reservations SET acked_version = version
                      WHERE reference = $1 AND status = $2
                        AND hotel_id IN (SELECT hotel_id FROM supplier_hotels WHERE supplier_id = $3)",
                )
                .bind(reference).bind(status).bind(supplier_id)
                .execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(marked)
        });
        result
    }
}

/// A stay as a supplier receives it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SupplierReservation {
    /// Our booking reference (`REF-2` for a booking's second stay).
    pub reference: String,
    pub hotel_code: String,
    pub room_type_code: String,
    pub rate_plan_code: String,
    /// Hotel-local date of arrival.
    pub check_in: NaiveDate,
    pub nights: i32,
    pub rooms: i32,
    pub guests: i32,
    /// Every room, every night, minor units.
    pub total_amount: i64,
    pub currency: String,
    /// `confirmed` or `cancelled`.
    pub status: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub changed_at: i64,
}
