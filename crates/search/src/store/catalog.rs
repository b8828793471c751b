//! Writing the seeded catalog's airports, carriers and hotels in one transaction, and
//! reading them back for the index.

use chrono::{NaiveDate, Utc};
use ota_platform::db::Db;
use ota_platform::{StoreError, on_pool};

use super::{
    AirportRecord, CatalogMeta, HotelRecord, RatePlanRecord, RoomNightRecord, RoomTypeRecord,
    SearchStore,
};
use crate::seed::Blueprint;

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
            "room_ranges",
            "restriction_ranges",
            "rate_ranges",
            "room_types",
            "rate_plans",
            "hotels",
            "seat_inventory",
            "leg_cabins",
            "flight_legs",
            "fares",
            "catalog_imports",
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

    /// Writes a blueprint's airports and carriers in one transaction (its flights arrive
    /// as a schedule import and its hotels as a hotel file and ARI messages, see
    /// `crate::seed_blueprint`), reporting rows written to
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
                    .push(" ON CONFLICT (iata) DO NOTHING")
                    .build().execute(&mut *tx).await?;
            }
            sqlx::QueryBuilder::new("INSERT INTO carriers (code, name) ")
                .push_values(&bp.carriers, |mut b, (code, name)| {
                    b.push_bind(code.clone()).push_bind(name.clone());
                })
                .push(" ON CONFLICT (code) DO NOTHING")
                .build().execute(&mut *tx).await?;
            progress(bp.airports.len() as u64, "airports");
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Marks a seeded catalog ready to serve (after its flights are imported).
    pub async fn mark_ready(&self) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query("UPDATE catalog_meta SET state = 'ready', seeded_at = $1 WHERE id = 1")
                .bind(Utc::now())
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(StoreError::from)
        })
    }

    pub async fn airports(&self) -> Result<Vec<AirportRecord>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, AirportRecord>("SELECT iata, name, city, country, latitude, longitude, time_zone, metro, rank FROM airports ORDER BY rank, iata")
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
    pub(super) async fn bulk_read<T>(
        &self,
        sql: impl Into<String>,
        from: NaiveDate,
    ) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        let sql: String = sql.into();
        match &self.db {
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET LOCAL statement_timeout = '10min'")
                    .execute(&mut *tx)
                    .await?;
                let rows = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql))
                    .bind(from)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }
            Db::Sqlite(pool) => Ok(sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql))
                .bind(from)
                .fetch_all(pool)
                .await?),
        }
    }

    /// Hotels, their room types and their rate plans.
    pub async fn hotels(
        &self,
    ) -> Result<(Vec<HotelRecord>, Vec<RoomTypeRecord>, Vec<RatePlanRecord>), StoreError> {
        on_pool!(&self.db, pool => {
            let hotels = sqlx::query_as::<_, HotelRecord>("SELECT id, code, name, city, country, stars, time_zone, address, postal_code, check_in_time, check_out_time FROM hotels ORDER BY id")
                .fetch_all(pool).await?;
            let rooms = sqlx::query_as::<_, RoomTypeRecord>("SELECT id, code, hotel_id, name, max_guests FROM room_types ORDER BY id")
                .fetch_all(pool).await?;
            let plans = sqlx::query_as::<_, RatePlanRecord>("SELECT id, hotel_id, code, name, board, refundable, free_cancellation_days FROM rate_plans ORDER BY hotel_id, id")
                .fetch_all(pool).await?;
            Ok((hotels, rooms, plans))
        })
    }

    /// The nights where something was sold, held or changed (sparse), from `from` on.
    pub async fn room_nights(&self, from: NaiveDate) -> Result<Vec<RoomNightRecord>, StoreError> {
        self.bulk_read(
            "SELECT room_type_id, night, capacity, sold, held, stop_sell FROM room_nights WHERE night >= $1",
            from,
        )
        .await
    }
}
