//! Writing hotel content from a hotel file: hotels, room types and rate plans by their
//! codes, created or updated in one transaction.

use ota_platform::{StoreError, in_write_tx};

use super::SearchStore;
use crate::hotel_content::HotelContent;

/// What an import of a hotel file changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HotelImportReport {
    pub hotels_created: usize,
    pub hotels_updated: usize,
    pub room_types_created: usize,
    pub rate_plans_created: usize,
}

/// The catalog airport nearest to a point (great circle).
fn nearest(airports: &[(String, f64, f64)], lat: f64, lon: f64) -> Option<String> {
    airports
        .iter()
        .min_by(|a, b| {
            let d =
                |x: &(String, f64, f64)| crate::catalog::great_circle_km((lat, lon), (x.1, x.2));
            d(a).total_cmp(&d(b))
        })
        .map(|a| a.0.clone())
}

impl SearchStore {
    /// Creates or updates each hotel of a checked hotel file by its code, with its room
    /// types and rate plans by theirs (none is removed: bookings may name them), in one
    /// transaction that also moves the schedule version, so search pods load the
    /// catalog again within OTA_INDEX_REFRESH. New room types have no allotment until
    /// their supplier sends one. Fails with `NotFound` when no catalog is there yet.
    pub async fn import_hotels(
        &self,
        hotels: &[HotelContent],
    ) -> Result<HotelImportReport, StoreError> {
        let mut report = HotelImportReport::default();
        let result: Result<(), StoreError> = in_write_tx!(&self.db, tx => {
            let locked = sqlx::query("UPDATE catalog_meta SET schedule_version = schedule_version + 1, generation = generation + 1 WHERE id = 1")
                .execute(&mut *tx).await?.rows_affected();
            if locked == 0 {
                return Err(StoreError::NotFound);
            }
            let airports: Vec<(String, f64, f64)> = if hotels.iter().any(|h| h.airport.is_none()) {
                sqlx::query_as("SELECT iata, latitude, longitude FROM airports").fetch_all(&mut *tx).await?
            } else {
                Vec::new()
            };
            for h in hotels {
                let airport = match &h.airport {
                    Some(a) => a.clone(),
                    None => nearest(&airports, h.coordinates.latitude, h.coordinates.longitude).ok_or(StoreError::NotFound)?,
                };
                let amenities = serde_json::to_string(&h.amenities).unwrap_or_else(|_| "[]".to_owned());
                let existing: Option<(i64,)> = sqlx::query_as("SELECT id FROM hotels WHERE code = $1")
                    .bind(&h.code).fetch_optional(&mut *tx).await?;
                let hotel_id = match existing {
                    Some((id,)) => {
                        report.hotels_updated += 1;
                        id
                    }
                    None => {
                        report.hotels_created += 1;
                        let (id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) + 1 FROM hotels").fetch_one(&mut *tx).await?;
                        sqlx::query("INSERT INTO hotels (id, code, name, city, country, airport, stars, time_zone) VALUES ($1, $2, '', '', 'XX', $3, 1, 'UTC')")
                            .bind(id).bind(&h.code).bind(&airport).execute(&mut *tx).await?;
                        id
                    }
                };
                sqlx::query(
                    "UPDATE hotels SET name = $2, city = $3, country = $4, airport = $5, stars = $6, time_zone = $7, address = $8,
                        postal_code = $9, latitude = $10, longitude = $11, amenities = $12, description = $13,
                        check_in_time = $14, check_out_time = $15 WHERE id = $1",
                )
                .bind(hotel_id).bind(&h.name).bind(&h.address.city).bind(&h.address.country).bind(&airport).bind(h.stars)
                .bind(&h.time_zone).bind(&h.address.line).bind(&h.address.postal_code).bind(h.coordinates.latitude)
                .bind(h.coordinates.longitude).bind(&amenities).bind(&h.description).bind(&h.check_in).bind(&h.check_out)
                .execute(&mut *tx).await?;
                for r in &h.room_types {
                    let beds = serde_json::to_string(&r.beds).unwrap_or_else(|_| "[]".to_owned());
                    let updated = sqlx::query("UPDATE room_types SET name = $3, max_guests = $4, beds = $5 WHERE hotel_id = $1 AND code = $2")
                        .bind(hotel_id).bind(&r.code).bind(&r.name).bind(r.max_guests).bind(&beds)
                        .execute(&mut *tx).await?.rows_affected();
                    if updated == 0 {
                        report.room_types_created += 1;
                        sqlx::query("INSERT INTO room_types (id, hotel_id, code, name, max_guests, beds) SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5 FROM room_types")
                            .bind(hotel_id).bind(&r.code).bind(&r.name).bind(r.max_guests).bind(&beds)
                            .execute(&mut *tx).await?;
                    }
                }
                for p in &h.rate_plans {
                    let updated = sqlx::query("UPDATE rate_plans SET name = $3, board = $4, refundable = $5, free_cancellation_days = $6 WHERE hotel_id = $1 AND code = $2")
                        .bind(hotel_id).bind(&p.code).bind(&p.name).bind(p.board.as_str()).bind(p.refundable).bind(p.free_cancellation_days)
                        .execute(&mut *tx).await?.rows_affected();
                    if updated == 0 {
                        report.rate_plans_created += 1;
                        sqlx::query("INSERT INTO rate_plans (id, hotel_id, code, name, board, refundable, free_cancellation_days) SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5, $6 FROM rate_plans")
                            .bind(hotel_id).bind(&p.code).bind(&p.name).bind(p.board.as_str()).bind(p.refundable).bind(p.free_cancellation_days)
                            .execute(&mut *tx).await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        });
        result.map(|()| report)
    }
}
