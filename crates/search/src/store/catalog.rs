//! Writing the seeded catalog in one transaction, and reading it back for the index.

use chrono::{NaiveDate, Utc};
use ota_platform::db::Db;
use ota_platform::{StoreError, on_pool};

use super::{
    AirportRecord, CabinRecord, CatalogMeta, FlightRecord, HotelRecord, RoomNightRecord,
    RoomTypeRecord, SearchStore,
};
use crate::seed::{Blueprint, CURRENCY, Rng};

/// Rows per INSERT statement: well inside both engines' bind-parameter limits.
const CHUNK: usize = 2_000;

impl SearchStore {
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
}
