//! Writing hotel content from a hotel file: hotels, room types and rate plans by their
//! codes, created or updated in one transaction; and the ranges of a new catalog's
//! room types, written at once.

use std::collections::{BTreeMap, HashMap};

use ota_platform::{StoreError, in_write_tx};

use super::hotel_ranges::{AriChange, RoomTypeRanges, apply_changes};
use super::{SearchStore, now_ms};
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

/// Rows per multi-row INSERT: inside both engines' bind-parameter limits.
const CHUNK: usize = 1_000;

impl SearchStore {
    /// Creates or updates each hotel of a checked hotel file by its code, with its room
    /// types and rate plans by theirs (none is removed: bookings may name them), in one
    /// transaction that also moves the schedule version, so search pods load the
    /// catalog again within OTA_INDEX_REFRESH. New rows get the next ids in file order;
    /// new room types have no allotment until their supplier sends one. Fails with
    /// `NotFound` when no catalog is there yet.
    pub async fn import_hotels(
        &self,
        hotels: &[HotelContent],
        progress: &(dyn Fn(u64, &str) + Send + Sync),
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
            let mut hotel_ids: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>("SELECT code, id FROM hotels")
                .fetch_all(&mut *tx).await?.into_iter().collect();
            let room_ids: HashMap<(i64, String), i64> = sqlx::query_as::<_, (i64, String, i64)>("SELECT hotel_id, code, id FROM room_types")
                .fetch_all(&mut *tx).await?.into_iter().map(|(h, c, id)| ((h, c), id)).collect();
            let plan_ids: HashMap<(i64, String), i64> = sqlx::query_as::<_, (i64, String, i64)>("SELECT hotel_id, code, id FROM rate_plans")
                .fetch_all(&mut *tx).await?.into_iter().map(|(h, c, id)| ((h, c), id)).collect();
            let next = |table: &str| format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
            let (mut hotel_next,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(next("hotels"))).fetch_one(&mut *tx).await?;
            let (mut room_next,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(next("room_types"))).fetch_one(&mut *tx).await?;
            let (mut plan_next,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(next("rate_plans"))).fetch_one(&mut *tx).await?;

            // (id, is new, hotel) in file order.
            let mut rows = Vec::with_capacity(hotels.len());
            for h in hotels {
                let airport = match &h.airport {
                    Some(a) => a.clone(),
                    None => nearest(&airports, h.coordinates.latitude, h.coordinates.longitude).ok_or(StoreError::NotFound)?,
                };
                let (id, new) = match hotel_ids.get(&h.code) {
                    Some(&id) => (id, false),
                    None => {
                        hotel_next += 1;
                        hotel_ids.insert(h.code.clone(), hotel_next);
                        (hotel_next, true)
                    }
                };
                rows.push((id, new, airport, h));
            }
            let amenities = |h: &HotelContent| serde_json::to_string(&h.amenities).unwrap_or_else(|_| "[]".to_owned());
            let new_hotels: Vec<_> = rows.iter().filter(|r| r.1).collect();
            report.hotels_created = new_hotels.len();
            report.hotels_updated = rows.len() - new_hotels.len();
            for chunk in new_hotels.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO hotels (id, code, name, city, country, airport, stars, time_zone, address, postal_code, latitude, longitude, amenities, description, check_in_time, check_out_time) ")
                    .push_values(chunk, |mut b, (id, _, airport, h)| {
                        b.push_bind(*id).push_bind(h.code.clone()).push_bind(h.name.clone()).push_bind(h.address.city.clone())
                            .push_bind(h.address.country.clone()).push_bind(airport.clone()).push_bind(h.stars).push_bind(h.time_zone.clone())
                            .push_bind(h.address.line.clone()).push_bind(h.address.postal_code.clone()).push_bind(h.coordinates.latitude)
                            .push_bind(h.coordinates.longitude).push_bind(amenities(h)).push_bind(h.description.clone())
                            .push_bind(h.check_in.clone()).push_bind(h.check_out.clone());
                    })
                    .build().execute(&mut *tx).await?;
                progress(chunk.len() as u64, "hotels");
            }
            for (id, _, airport, h) in rows.iter().filter(|r| !r.1) {
                sqlx::query(
                    "UPDATE hotels SET name = $2, city = $3, country = $4, airport = $5, stars = $6, time_zone = $7, address = $8,
                        postal_code = $9, latitude = $10, longitude = $11, amenities = $12, description = $13,
                        check_in_time = $14, check_out_time = $15 WHERE id = $1",
                )
                .bind(*id).bind(&h.name).bind(&h.address.city).bind(&h.address.country).bind(airport).bind(h.stars)
                .bind(&h.time_zone).bind(&h.address.line).bind(&h.address.postal_code).bind(h.coordinates.latitude)
                .bind(h.coordinates.longitude).bind(amenities(h)).bind(&h.description).bind(&h.check_in).bind(&h.check_out)
                .execute(&mut *tx).await?;
            }

            let mut new_rooms = Vec::new();
            let mut new_plans = Vec::new();
            for (hotel_id, _, _, h) in &rows {
                for r in &h.room_types {
                    let beds = serde_json::to_string(&r.beds).unwrap_or_else(|_| "[]".to_owned());
                    match room_ids.get(&(*hotel_id, r.code.clone())) {
                        Some(&id) => {
                            sqlx::query("UPDATE room_types SET name = $2, max_guests = $3, beds = $4 WHERE id = $1")
                                .bind(id).bind(&r.name).bind(r.max_guests).bind(&beds)
                                .execute(&mut *tx).await?;
                        }
                        None => {
                            room_next += 1;
                            new_rooms.push((room_next, *hotel_id, r, beds));
                        }
                    }
                }
                for p in &h.rate_plans {
                    match plan_ids.get(&(*hotel_id, p.code.clone())) {
                        Some(&id) => {
                            sqlx::query("UPDATE rate_plans SET name = $2, board = $3, refundable = $4, free_cancellation_days = $5 WHERE id = $1")
                                .bind(id).bind(&p.name).bind(p.board.as_str()).bind(p.refundable).bind(p.free_cancellation_days)
                                .execute(&mut *tx).await?;
                        }
                        None => {
                            plan_next += 1;
                            new_plans.push((plan_next, *hotel_id, p));
                        }
                    }
                }
            }
            report.room_types_created = new_rooms.len();
            report.rate_plans_created = new_plans.len();
            for chunk in new_rooms.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO room_types (id, hotel_id, code, name, max_guests, beds) ")
                    .push_values(chunk, |mut b, (id, hotel_id, r, beds)| {
                        b.push_bind(*id).push_bind(*hotel_id).push_bind(r.code.clone()).push_bind(r.name.clone())
                            .push_bind(r.max_guests).push_bind(beds.clone());
                    })
                    .build().execute(&mut *tx).await?;
            }
            for chunk in new_plans.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO rate_plans (id, hotel_id, code, name, board, refundable, free_cancellation_days) ")
                    .push_values(chunk, |mut b, (id, hotel_id, p)| {
                        b.push_bind(*id).push_bind(*hotel_id).push_bind(p.code.clone()).push_bind(p.name.clone())
                            .push_bind(p.board.as_str()).push_bind(p.refundable).push_bind(p.free_cancellation_days);
                    })
                    .build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        });
        result.map(|()| report)
    }

    /// Writes the ranges of room types that have none yet, from ARI instructions
    /// applied in order to nothing ([`apply_changes`], as [`SearchStore::apply_ari`]
    /// does one message at a time), in one transaction: how a new catalog's hotels get
    /// their allotment and rates without a transaction per message. Room types that
    /// already have ranges are refused (`Conflict`): send them messages instead.
    pub async fn write_new_ranges(
        &self,
        changes: &[AriChange],
        progress: &(dyn Fn(u64, &str) + Send + Sync),
    ) -> Result<(), StoreError> {
        let mut by_room: BTreeMap<i64, Vec<&AriChange>> = BTreeMap::new();
        for c in changes {
            by_room.entry(c.room_type_id).or_default().push(c);
        }
        let stamp = now_ms();
        in_write_tx!(&self.db, tx => {
            let (taken,): (i64,) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM room_ranges) + (SELECT COUNT(*) FROM restriction_ranges) + (SELECT COUNT(*) FROM rate_ranges)",
            )
            .fetch_one(&mut *tx).await?;
            if taken > 0 {
                return Err(StoreError::Conflict("room types have ranges already".into()));
            }
            let plans: Vec<(i64, i64)> = sqlx::query_as("SELECT t.id, p.id FROM room_types t JOIN rate_plans p ON p.hotel_id = t.hotel_id ORDER BY t.id, p.id")
                .fetch_all(&mut *tx).await?;
            let mut plans_of: HashMap<i64, Vec<i64>> = HashMap::new();
            for (rt, plan) in plans {
                plans_of.entry(rt).or_default().push(plan);
            }
            let mut allotment = Vec::new();
            let mut restrictions = Vec::new();
            let mut rates = Vec::new();
            for (rt, mine) in &by_room {
                let r = apply_changes(
                    RoomTypeRanges { room_type_id: *rt, ..RoomTypeRanges::default() },
                    plans_of.get(rt).map(Vec::as_slice).unwrap_or_default(),
                    mine,
                );
                allotment.extend(r.allotment.into_iter().map(|a| (*rt, a)));
                for (plan, list) in r.restrictions {
                    restrictions.extend(list.into_iter().map(|x| (*rt, plan, x)));
                }
                for ((plan, guests), list) in r.rates {
                    rates.extend(list.into_iter().map(|x| (*rt, plan, guests, x)));
                }
            }
            for chunk in allotment.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO room_ranges (room_type_id, first_night, last_night, weekdays, capacity, stop_sell) ")
                    .push_values(chunk, |mut b, (rt, r)| {
                        b.push_bind(*rt).push_bind(r.span.first).push_bind(r.span.last).push_bind(i16::from(r.span.weekdays))
                            .push_bind(r.value.capacity).push_bind(r.value.stop_sell);
                    })
                    .build().execute(&mut *tx).await?;
                progress(chunk.len() as u64, "room allotment");
            }
            for chunk in restrictions.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO restriction_ranges (room_type_id, rate_plan_id, first_night, last_night, weekdays, stop_sell, closed_to_arrival, closed_to_departure, min_los, max_los, min_stay, max_stay) ")
                    .push_values(chunk, |mut b, (rt, plan, r)| {
                        let v = r.value;
                        let n = |n: Option<u16>| n.map(i32::from);
                        b.push_bind(*rt).push_bind(*plan).push_bind(r.span.first).push_bind(r.span.last).push_bind(i16::from(r.span.weekdays))
                            .push_bind(v.stop_sell).push_bind(v.closed_to_arrival).push_bind(v.closed_to_departure)
                            .push_bind(n(v.min_los)).push_bind(n(v.max_los)).push_bind(n(v.min_stay)).push_bind(n(v.max_stay));
                    })
                    .build().execute(&mut *tx).await?;
                progress(chunk.len() as u64, "restrictions");
            }
            for chunk in rates.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO rate_ranges (room_type_id, rate_plan_id, guests, first_night, last_night, weekdays, price_amount, currency) ")
                    .push_values(chunk, |mut b, (rt, plan, guests, r)| {
                        b.push_bind(*rt).push_bind(*plan).push_bind(*guests).push_bind(r.span.first).push_bind(r.span.last)
                            .push_bind(i16::from(r.span.weekdays)).push_bind(r.value).push_bind(crate::seed::CURRENCY);
                    })
                    .build().execute(&mut *tx).await?;
                progress(chunk.len() as u64, "room rates");
            }
            sqlx::query("UPDATE room_types SET ranges_changed_at = $1").bind(stamp).execute(&mut *tx).await?;
            sqlx::query("UPDATE catalog_meta SET generation = generation + 1 WHERE id = 1").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
