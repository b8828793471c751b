//! Flight schedules and fares: importing them (replacing a carrier's schedule for a
//! period, in one transaction, re-checking the dates already sold), and reading them
//! back for the index together with the sparse seat inventory.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use ota_platform::StoreError;
use ota_platform::db::Db;
use uuid::Uuid;

use super::{SearchStore, SeatRecord, now_ms};
use crate::catalog::{Airport, Cabin};
use crate::schedule::{DatedLeg, PublishedFare, ScheduledLeg};

/// Flight-leg rows per INSERT statement (23 columns: inside both engines' limits).
const LEG_CHUNK: usize = 1_000;
const CHUNK: usize = 2_000;

/// Which part of a carrier's schedule an import replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub carrier: String,
    /// Flight dates, both inclusive.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `None` replaces every flight of the carrier in the period (the file is the whole
    /// schedule); `Some` only these flight numbers (a merge).
    pub flights: Option<HashSet<u16>>,
}

impl Window {
    fn covers(&self, leg: &ScheduledLeg) -> bool {
        leg.carrier == self.carrier
            && leg.period_to >= self.from
            && leg.period_from <= self.to
            && self
                .flights
                .as_ref()
                .is_none_or(|f| f.contains(&leg.flight_number))
    }
}

/// What an import writes.
#[derive(Debug, Clone, Default)]
pub struct ScheduleImport {
    /// Where it came from (file names, or `seed`), for the import log.
    pub source: String,
    pub windows: Vec<Window>,
    pub legs: Vec<ScheduledLeg>,
    /// Replaces every fare of the carriers it names, when given.
    pub fares: Option<Vec<PublishedFare>>,
    /// Carriers to create where unknown: (designator, name).
    pub carriers: Vec<(String, String)>,
    /// The airports the schedule and fares use, created where unknown.
    pub airports: Vec<Airport>,
}

pub use ota_contract::search::{AffectedLeg, ImportReport, LegChange};

#[derive(sqlx::FromRow)]
struct LegRow {
    id: i64,
    carrier: String,
    flight_number: i32,
    suffix: String,
    itinerary_variation: i32,
    leg_sequence: i32,
    service_type: String,
    origin: String,
    destination: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    days: i32,
    frequency_rate: i32,
    departure_minute: i32,
    departure_day: i32,
    departure_utc_offset: i32,
    arrival_minute: i32,
    arrival_day: i32,
    arrival_utc_offset: i32,
    aircraft_type: String,
    configuration: String,
    source_line: i32,
}

impl LegRow {
    fn leg(self) -> (i64, ScheduledLeg) {
        (
            self.id,
            ScheduledLeg {
                carrier: self.carrier,
                flight_number: self.flight_number as u16,
                suffix: self.suffix,
                itinerary_variation: self.itinerary_variation as u16,
                leg_sequence: self.leg_sequence as u8,
                service_type: self.service_type.chars().next().unwrap_or('J'),
                origin: self.origin,
                destination: self.destination,
                period_from: self.period_from,
                period_to: self.period_to,
                days: self.days as u8,
                frequency_rate: self.frequency_rate as u8,
                departure_minute: self.departure_minute as u16,
                departure_day: self.departure_day as i8,
                departure_utc_offset: self.departure_utc_offset as i16,
                arrival_minute: self.arrival_minute as u16,
                arrival_day: self.arrival_day as i8,
                arrival_utc_offset: self.arrival_utc_offset as i16,
                aircraft_type: self.aircraft_type,
                configuration: self.configuration,
                cabins: Vec::new(),
                source_line: self.source_line as u32,
            },
        )
    }
}

const LEG_COLUMNS: &str = "id, carrier, flight_number, suffix, itinerary_variation, leg_sequence, service_type, origin, destination, period_from, period_to, days, frequency_rate, departure_minute, departure_day, departure_utc_offset, arrival_minute, arrival_day, arrival_utc_offset, aircraft_type, configuration, source_line";

#[derive(sqlx::FromRow)]
struct FareRow {
    carrier: String,
    origin: String,
    destination: String,
    cabin: String,
    adult: i64,
    child: i64,
    infant: i64,
    currency: String,
    refundable: bool,
    refund_deadline_hours: i32,
    change_fee: Option<i64>,
    advance_purchase_days: i32,
    valid_from: Option<NaiveDate>,
    valid_to: Option<NaiveDate>,
}

/// A taken seat row an import re-checks.
#[derive(sqlx::FromRow)]
struct TakenRow {
    flight_id: i64,
    sold: i32,
    held: i32,
}

/// The record of `legs` (a flight's records at one board point) operating on a date.
fn operating<'a>(
    legs: impl IntoIterator<Item = &'a ScheduledLeg>,
    at: &DatedLeg,
) -> Option<&'a ScheduledLeg> {
    legs.into_iter().find(|l| {
        l.carrier == at.carrier
            && l.flight_number == at.flight_number
            && l.origin == at.origin
            && l.operates(at.flight_date)
    })
}

/// A text-format COPY field: backslash, tab and line ends escaped.
fn copy_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// A nullable COPY field.
fn copy_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "\\N".to_owned(), |v| v.to_string())
}

/// Inserts legs (with their cabins) under consecutive ids from `next_id`: COPY on
/// PostgreSQL (a world schedule is hundreds of thousands of records), multi-row INSERTs
/// on SQLite.
macro_rules! insert_legs {
    (postgres, $tx:expr, $legs:expr, $next_id:expr, $import_id:expr, $progress:expr) => {{
        use std::fmt::Write as _;
        let legs: &[ScheduledLeg] = $legs;
        for chunk in legs.chunks(20_000) {
            let first = *$next_id;
            let mut rows = String::with_capacity(chunk.len() * 160);
            let mut cabins = String::with_capacity(chunk.len() * 40);
            for (i, l) in chunk.iter().enumerate() {
                let id = first + i as i64;
                let _ = writeln!(
                    rows,
                    "{id}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    copy_text(&l.carrier),
                    l.flight_number,
                    copy_text(&l.suffix),
                    l.itinerary_variation,
                    l.leg_sequence,
                    copy_text(&l.service_type.to_string()),
                    copy_text(&l.origin),
                    copy_text(&l.destination),
                    l.period_from,
                    l.period_to,
                    l.days,
                    l.frequency_rate,
                    l.departure_minute,
                    l.departure_day,
                    l.departure_utc_offset,
                    l.arrival_minute,
                    l.arrival_day,
                    l.arrival_utc_offset,
                    copy_text(&l.aircraft_type),
                    copy_text(&l.configuration),
                    l.source_line,
                    $import_id
                );
                for (c, n) in &l.cabins {
                    let _ = writeln!(cabins, "{id}\t{}\t{n}", c.as_str());
                }
            }
            let conn: &mut sqlx::PgConnection = $tx.connection();
            let mut copy = conn
                .copy_in_raw(&format!("COPY flight_legs ({LEG_COLUMNS}, import_id) FROM STDIN"))
                .await?;
            copy.send(rows.into_bytes()).await?;
            copy.finish().await?;
            let mut copy = conn.copy_in_raw("COPY leg_cabins (leg_id, cabin, capacity) FROM STDIN").await?;
            copy.send(cabins.into_bytes()).await?;
            copy.finish().await?;
            *$next_id += chunk.len() as i64;
            $progress(chunk.len() as u64);
        }
    }};
    (sqlite, $tx:expr, $legs:expr, $next_id:expr, $import_id:expr, $progress:expr) => {{
        let legs: &[ScheduledLeg] = $legs;
        for chunk in legs.chunks(LEG_CHUNK) {
            let first = *$next_id;
            sqlx::QueryBuilder::new(format!(
                "INSERT INTO flight_legs ({LEG_COLUMNS}, import_id) "
            ))
            .push_values(chunk.iter().enumerate(), |mut b, (i, l)| {
                b.push_bind(first + i as i64)
                    .push_bind(l.carrier.clone())
                    .push_bind(i32::from(l.flight_number))
                    .push_bind(l.suffix.clone())
                    .push_bind(i32::from(l.itinerary_variation))
                    .push_bind(i32::from(l.leg_sequence))
                    .push_bind(l.service_type.to_string())
                    .push_bind(l.origin.clone())
                    .push_bind(l.destination.clone())
                    .push_bind(l.period_from)
                    .push_bind(l.period_to)
                    .push_bind(i32::from(l.days))
                    .push_bind(i32::from(l.frequency_rate))
                    .push_bind(i32::from(l.departure_minute))
                    .push_bind(i32::from(l.departure_day))
                    .push_bind(i32::from(l.departure_utc_offset))
                    .push_bind(i32::from(l.arrival_minute))
                    .push_bind(i32::from(l.arrival_day))
                    .push_bind(i32::from(l.arrival_utc_offset))
                    .push_bind(l.aircraft_type.clone())
                    .push_bind(l.configuration.clone())
                    .push_bind(l.source_line as i32)
                    .push_bind($import_id);
            })
            .build()
            .execute(&mut *$tx)
            .await?;
            let cabins: Vec<(i64, Cabin, i32)> = chunk
                .iter()
                .enumerate()
                .flat_map(|(i, l)| {
                    l.cabins
                        .iter()
                        .map(move |(c, n)| (first + i as i64, *c, *n))
                })
                .collect();
            for part in cabins.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO leg_cabins (leg_id, cabin, capacity) ")
                    .push_values(part, |mut b, (id, c, n)| {
                        b.push_bind(*id).push_bind(c.as_str()).push_bind(*n);
                    })
                    .build()
                    .execute(&mut *$tx)
                    .await?;
            }
            *$next_id += chunk.len() as i64;
            $progress(chunk.len() as u64);
        }
    }};
}

/// Inserts fares under consecutive ids from `next_fare`: COPY on PostgreSQL, multi-row
/// INSERTs on SQLite.
macro_rules! insert_fares {
    (postgres, $tx:expr, $fares:expr, $next_fare:expr, $import_id:expr) => {{
        use std::fmt::Write as _;
        let mut rows = String::with_capacity($fares.len() * 80);
        for (i, f) in $fares.iter().enumerate() {
            let _ = writeln!(
                rows,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                $next_fare + i as i64,
                copy_text(&f.carrier),
                copy_text(&f.origin),
                copy_text(&f.destination),
                f.cabin.as_str(),
                f.adult,
                f.child,
                f.infant,
                copy_text(&f.currency),
                if f.refundable { "t" } else { "f" },
                f.refund_deadline_hours,
                copy_opt(f.change_fee),
                f.advance_purchase_days,
                copy_opt(f.valid_from),
                copy_opt(f.valid_to),
                $import_id
            );
        }
        let conn: &mut sqlx::PgConnection = $tx.connection();
        let mut copy = conn
            .copy_in_raw(
                "COPY fares (id, carrier, origin, destination, cabin, adult, child, infant, currency, refundable, refund_deadline_hours, change_fee, advance_purchase_days, valid_from, valid_to, import_id) FROM STDIN",
            )
            .await?;
        copy.send(rows.into_bytes()).await?;
        copy.finish().await?;
    }};
    (sqlite, $tx:expr, $fares:expr, $next_fare:expr, $import_id:expr) => {{
        let mut next_fare: i64 = $next_fare;
                for chunk in $fares.chunks(CHUNK) {
                    let first = next_fare;
                    sqlx::QueryBuilder::new(
                        "INSERT INTO fares (id, carrier, origin, destination, cabin, adult, child, infant, currency, refundable, refund_deadline_hours, change_fee, advance_purchase_days, valid_from, valid_to, import_id) ",
                    )
                    .push_values(chunk.iter().enumerate(), |mut b, (i, f)| {
                        b.push_bind(first + i as i64).push_bind(f.carrier.clone()).push_bind(f.origin.clone())
                            .push_bind(f.destination.clone()).push_bind(f.cabin.as_str()).push_bind(f.adult)
                            .push_bind(f.child).push_bind(f.infant).push_bind(f.currency.clone()).push_bind(f.refundable)
                            .push_bind(f.refund_deadline_hours as i32).push_bind(f.change_fee)
                            .push_bind(f.advance_purchase_days as i32).push_bind(f.valid_from).push_bind(f.valid_to)
                            .push_bind($import_id);
                    })
                    .build().execute(&mut *$tx).await?;
                    next_fare += chunk.len() as i64;
                }
    }};
}

impl SearchStore {
    /// The schedule version: bumped by every import, so search pods reload schedules.
    pub async fn schedule_version(&self) -> Result<i64, StoreError> {
        ota_platform::on_pool!(&self.db, pool => {
            sqlx::query_as::<_, (i64,)>("SELECT schedule_version FROM catalog_meta WHERE id = 1")
                .fetch_optional(pool).await
                .map(|r| r.map_or(0, |r| r.0))
                .map_err(StoreError::from)
        })
    }

    /// Every flight-leg record still flying on or after `from` (flight dates), with its
    /// cabins.
    pub async fn legs(&self, from: NaiveDate) -> Result<Vec<ScheduledLeg>, StoreError> {
        let sql =
            format!("SELECT {LEG_COLUMNS} FROM flight_legs WHERE period_to >= $1 ORDER BY id");
        let rows: Vec<LegRow> = self.bulk_read(sql, from).await?;
        let cabins: Vec<(i64, String, i32)> = self
            .bulk_read(
                "SELECT c.leg_id, c.cabin, c.capacity FROM leg_cabins c
                 JOIN flight_legs l ON l.id = c.leg_id WHERE l.period_to >= $1",
                from,
            )
            .await?;
        let mut by_id: HashMap<i64, Vec<(Cabin, i32)>> = HashMap::new();
        for (id, cabin, seats) in cabins {
            if let Some(c) = Cabin::parse(&cabin) {
                by_id.entry(id).or_default().push((c, seats));
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let (id, mut leg) = r.leg();
                leg.cabins = by_id.remove(&id).unwrap_or_default();
                leg.cabins.sort_by_key(|(c, _)| *c);
                leg
            })
            .collect())
    }

    pub async fn fares(&self) -> Result<Vec<PublishedFare>, StoreError> {
        let rows: Vec<FareRow> = ota_platform::on_pool!(&self.db, pool => {
            sqlx::query_as::<_, FareRow>(
                "SELECT carrier, origin, destination, cabin, adult, child, infant, currency, refundable,
                        refund_deadline_hours, change_fee, advance_purchase_days, valid_from, valid_to
                 FROM fares ORDER BY id",
            )
            .fetch_all(pool).await.map_err(StoreError::from)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(PublishedFare {
                    cabin: Cabin::parse(&r.cabin)?,
                    carrier: r.carrier,
                    origin: r.origin,
                    destination: r.destination,
                    adult: r.adult,
                    child: r.child,
                    infant: r.infant,
                    currency: r.currency,
                    refundable: r.refundable,
                    refund_deadline_hours: r.refund_deadline_hours.max(0) as u32,
                    change_fee: r.change_fee,
                    advance_purchase_days: r.advance_purchase_days.max(0) as u32,
                    valid_from: r.valid_from,
                    valid_to: r.valid_to,
                })
            })
            .collect())
    }

    /// Seat rows of dated legs flying on or after `from` (flight dates).
    pub async fn seats(&self, from: NaiveDate) -> Result<Vec<SeatRecord>, StoreError> {
        self.bulk_read(
            "SELECT flight_id, cabin, capacity, sold, held, stop_sell, fare_amount
             FROM seat_inventory WHERE flight_date >= $1",
            from,
        )
        .await
    }

    /// Writes an import in one transaction: the legs of each window are replaced (records
    /// reaching outside a window keep their outside part), fares replaced per carrier,
    /// unknown carriers and airports created, and every dated leg with seats sold or
    /// held in a window re-checked against the new records (its capacity follows the new
    /// aircraft, never below what is taken). Reports what changed under sold seats.
    pub async fn import_schedule(
        &self,
        import: &ScheduleImport,
        import_id: i64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportReport, StoreError> {
        let today = Utc::now().date_naive() - chrono::Duration::days(1);
        let carriers: Vec<String> = import
            .windows
            .iter()
            .map(|w| w.carrier.clone())
            .chain(import.legs.iter().map(|l| l.carrier.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // SQLite: take the write lock at once, so a second import waits for the first
        // (busy timeout) rather than failing midway.
        let (begin, statement_timeout) = match &self.db {
            Db::Postgres(_) => ("BEGIN", Some("SET LOCAL statement_timeout = '30min'")),
            Db::Sqlite(_) => ("BEGIN IMMEDIATE", None),
        };
        macro_rules! import_on {
            ($engine:ident, $pool:expr) => {{
                let pool = $pool;
            let mut tx = pool.begin_with(begin).await?;
            if let Some(sql) = statement_timeout {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            // The catalog row serialises imports (its lock is held to the commit).
            let locked = sqlx::query("UPDATE catalog_meta SET schedule_version = schedule_version + 1, generation = generation + 1 WHERE id = 1")
                .execute(&mut *tx).await?.rows_affected();
            if locked == 0 {
                sqlx::query(
                    "INSERT INTO catalog_meta (id, state, size, first_day, days, seeded_at, schedule_version, generation)
                     VALUES (1, 'ready', 'imported', $1, 0, $2, 1, 1)",
                )
                .bind(Utc::now().date_naive())
                .bind(Utc::now())
                .execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE catalog_imports SET carriers = $2 WHERE id = $1")
                .bind(import_id).bind(carriers.join(" "))
                .execute(&mut *tx).await?;

            // Airports and carriers first: legs and fares name them.
            for chunk in import.airports.chunks(CHUNK) {
                sqlx::QueryBuilder::new("INSERT INTO airports (iata, name, city, country, latitude, longitude, time_zone, metro, rank) ")
                    .push_values(chunk, |mut b, a| {
                        b.push_bind(a.iata.clone()).push_bind(a.name.clone()).push_bind(a.city.clone())
                            .push_bind(a.country.clone()).push_bind(a.latitude).push_bind(a.longitude)
                            .push_bind(a.time_zone.clone()).push_bind(a.metro.clone()).push_bind(a.rank as i32);
                    })
                    .push(" ON CONFLICT (iata) DO NOTHING")
                    .build().execute(&mut *tx).await?;
            }
            for (code, name) in &import.carriers {
                sqlx::query("INSERT INTO carriers (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING")
                    .bind(code).bind(name).execute(&mut *tx).await?;
            }

            // The records the windows reach, as they were.
            let mut old: Vec<(i64, ScheduledLeg)> = Vec::new();
            for w in &import.windows {
                let rows = sqlx::query_as::<_, LegRow>(sqlx::AssertSqlSafe(format!(
                    "SELECT {LEG_COLUMNS} FROM flight_legs WHERE carrier = $1 AND period_to >= $2 AND period_from <= $3"
                )))
                .bind(&w.carrier).bind(w.from).bind(w.to)
                .fetch_all(&mut *tx).await?;
                for r in rows {
                    let (id, leg) = r.leg();
                    if w.covers(&leg) && !old.iter().any(|(i, _)| *i == id) {
                        old.push((id, leg));
                    }
                }
            }
            if !old.is_empty() {
                let ids: Vec<i64> = old.iter().map(|(id, _)| *id).collect();
                let cabins: Vec<(i64, String, i32)> = {
                    let mut out = Vec::new();
                    for part in ids.chunks(CHUNK) {
                        let mut q = sqlx::QueryBuilder::new("SELECT leg_id, cabin, capacity FROM leg_cabins WHERE leg_id IN (");
                        let mut sep = q.separated(", ");
                        for id in part {
                            sep.push_bind(*id);
                        }
                        q.push(")");
                        out.extend(q.build_query_as::<(i64, String, i32)>().fetch_all(&mut *tx).await?);
                    }
                    out
                };
                for (id, cabin, seats) in cabins {
                    if let (Some((_, leg)), Some(c)) = (old.iter_mut().find(|(i, _)| *i == id), Cabin::parse(&cabin)) {
                        leg.cabins.push((c, seats));
                    }
                }
            }
            let (mut next_id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) + 1 FROM flight_legs")
                .fetch_one(&mut *tx).await?;
            // What stays of the old records outside their window.
            let mut kept: Vec<ScheduledLeg> = Vec::new();
            for (_, leg) in &old {
                for w in import.windows.iter().filter(|w| w.covers(leg)) {
                    if leg.period_from < w.from {
                        kept.push(ScheduledLeg { period_to: w.from - chrono::Duration::days(1), ..leg.clone() });
                    }
                    if leg.period_to > w.to {
                        kept.push(ScheduledLeg { period_from: w.to + chrono::Duration::days(1), ..leg.clone() });
                    }
                }
            }
            for part in old.chunks(CHUNK) {
                for table in ["leg_cabins", "flight_legs"] {
                    let column = if table == "leg_cabins" { "leg_id" } else { "id" };
                    let mut q = sqlx::QueryBuilder::new(format!("DELETE FROM {table} WHERE {column} IN ("));
                    let mut sep = q.separated(", ");
                    for (id, _) in part {
                        sep.push_bind(*id);
                    }
                    q.push(")");
                    q.build().execute(&mut *tx).await?;
                }
            }
            let noop = |_: u64| {};
            insert_legs!($engine, tx, &kept, &mut next_id, import_id, noop);
            insert_legs!($engine, tx, &import.legs, &mut next_id, import_id, progress);

            let mut fares_written = None;
            if let Some(fares) = &import.fares {
                // A fare file replaces the fares of the markets it names (carrier, route
                // and cabin); a carrier's other markets keep theirs.
                let named: HashSet<(&str, &str, &str, &str)> = fares
                    .iter()
                    .map(|f| (f.carrier.as_str(), f.origin.as_str(), f.destination.as_str(), f.cabin.as_str()))
                    .collect();
                let fare_carriers: std::collections::BTreeSet<&str> = fares.iter().map(|f| f.carrier.as_str()).collect();
                for c in &fare_carriers {
                    let existing: Vec<(i64, String, String, String)> =
                        sqlx::query_as("SELECT id, origin, destination, cabin FROM fares WHERE carrier = $1")
                            .bind(*c).fetch_all(&mut *tx).await?;
                    let gone: Vec<i64> = existing
                        .iter()
                        .filter(|(_, o, d, k)| named.contains(&(*c, o.as_str(), d.as_str(), k.as_str())))
                        .map(|(id, ..)| *id)
                        .collect();
                    for part in gone.chunks(CHUNK) {
                        let mut q = sqlx::QueryBuilder::new("DELETE FROM fares WHERE id IN (");
                        let mut sep = q.separated(", ");
                        for id in part {
                            sep.push_bind(*id);
                        }
                        q.push(")");
                        q.build().execute(&mut *tx).await?;
                    }
                }
                let (next_fare,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) + 1 FROM fares")
                    .fetch_one(&mut *tx).await?;
                insert_fares!($engine, tx, fares, next_fare, import_id);
                fares_written = Some(fares.len());
            }

            // Dated legs with seats taken in a window, judged old against new.
            let mut affected = Vec::new();
            let stamp = now_ms();
            for w in &import.windows {
                let taken = sqlx::query_as::<_, TakenRow>(
                    "SELECT flight_id, CAST(SUM(sold) AS integer) AS sold, CAST(SUM(held) AS integer) AS held FROM seat_inventory
                     WHERE carrier = $1 AND flight_date >= $2 AND flight_date <= $3 AND flight_date >= $4
                     GROUP BY flight_id ORDER BY flight_id",
                )
                .bind(&w.carrier).bind(w.from).bind(w.to).bind(today)
                .fetch_all(&mut *tx).await?;
                for t in taken {
                    let Some(at) = DatedLeg::from_id(t.flight_id) else { continue };
                    if w.flights.as_ref().is_some_and(|f| !f.contains(&at.flight_number)) {
                        continue;
                    }
                    let before = operating(old.iter().map(|(_, l)| l), &at);
                    let after = operating(import.legs.iter().chain(kept.iter()), &at);
                    let cabins = sqlx::query_as::<_, (String, i32, i32)>(
                        "SELECT cabin, sold, held FROM seat_inventory WHERE flight_id = $1",
                    )
                    .bind(t.flight_id).fetch_all(&mut *tx).await?;
                    let mut oversold = false;
                    if let Some(new) = after {
                        for (cabin, sold, held) in &cabins {
                            let seats = Cabin::parse(cabin).and_then(|c| new.capacity(c)).unwrap_or(0);
                            oversold |= seats < sold + held;
                            sqlx::query("UPDATE seat_inventory SET capacity = $3, changed_at = $4 WHERE flight_id = $1 AND cabin = $2")
                                .bind(t.flight_id).bind(cabin).bind(seats.max(sold + held)).bind(stamp)
                                .execute(&mut *tx).await?;
                        }
                    }
                    let change = match (before, after) {
                        (_, None) => Some(LegChange::Cancelled),
                        (Some(b), Some(a)) if !b.same_service(a) => Some(LegChange::Retimed),
                        (None, Some(_)) => Some(LegChange::Retimed),
                        _ if oversold => Some(LegChange::Oversold),
                        _ => None,
                    };
                    let Some(change) = change else { continue };
                    if t.sold == 0 && t.held == 0 {
                        continue;
                    }
                    let bookings: Vec<(Uuid,)> = sqlx::query_as(
                        "SELECT DISTINCT i.booking_id FROM hold_items i JOIN holds h ON h.booking_id = i.booking_id
                         WHERE i.flight_id = $1 AND h.status IN ('held', 'committed') ORDER BY i.booking_id",
                    )
                    .bind(t.flight_id).fetch_all(&mut *tx).await?;
                    affected.push(AffectedLeg {
                        flight: format!("{}{}", at.carrier, at.flight_number),
                        flight_date: at.flight_date,
                        origin: at.origin,
                        change,
                        sold: t.sold,
                        held: t.held,
                        bookings: bookings.into_iter().map(|b| b.0).collect(),
                    });
                }
            }
            let report = ImportReport {
                import_id,
                carriers,
                legs: import.legs.len(),
                replaced_legs: old.len(),
                fares: fares_written,
                affected,
            };
            // booking-service tells each booking's traveller (`booking.schedule_changed`).
            let at = Utc::now();
            for a in &report.affected {
                for booking in &a.bookings {
                    sqlx::query(
                        "INSERT INTO schedule_changes (booking_id, flight, flight_date, origin, change, import_id, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(booking).bind(&a.flight).bind(a.flight_date).bind(&a.origin)
                    .bind(a.change.as_str()).bind(import_id).bind(at)
                    .execute(&mut *tx).await?;
                }
            }
            sqlx::query("UPDATE catalog_imports SET status = 'done', legs = $2, fares = $3, report = $4, finished_at = $5 WHERE id = $1")
                .bind(import_id).bind(report.legs as i32).bind(fares_written.unwrap_or(0) as i32)
                .bind(serde_json::to_string(&report).unwrap_or_default()).bind(Utc::now())
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(report)
            }};
        }
        match &self.db {
            Db::Postgres(p) => import_on!(postgres, &ota_platform::db::BoundedPool::new(p)),
            Db::Sqlite(p) => import_on!(sqlite, &ota_platform::db::BoundedPool::new(p)),
        }
    }

    /// The bookings schedule imports changed a flight of, after change `after`, oldest
    /// first, at most `limit`.
    pub async fn schedule_changes(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ota_contract::search::ScheduleChange>, StoreError> {
        type Row = (i64, Uuid, String, NaiveDate, String, String);
        let rows: Vec<Row> = ota_platform::on_pool!(&self.db, pool => {
            sqlx::query_as::<_, Row>(
                "SELECT seq, booking_id, flight, flight_date, origin, change FROM schedule_changes
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after).bind(limit).fetch_all(pool).await.map_err(StoreError::from)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(seq, booking_id, flight, flight_date, origin, change)| {
                Some(ota_contract::search::ScheduleChange {
                    seq,
                    booking_id,
                    flight,
                    flight_date,
                    origin,
                    change: ota_contract::search::LegChange::parse(&change)?,
                })
            })
            .collect())
    }

    /// The record of a dated leg as the database has it, for holds and inventory
    /// changes on seats no row exists for yet.
    pub async fn scheduled_leg(&self, at: &DatedLeg) -> Result<Option<ScheduledLeg>, StoreError> {
        let sql = format!(
            "SELECT {LEG_COLUMNS} FROM flight_legs
             WHERE carrier = $1 AND flight_number = $2 AND origin = $3 AND period_from <= $4 AND period_to >= $4"
        );
        let rows: Vec<LegRow> = ota_platform::on_pool!(&self.db, pool => {
            sqlx::query_as::<_, LegRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&at.carrier).bind(i32::from(at.flight_number)).bind(&at.origin).bind(at.flight_date)
                .fetch_all(pool).await.map_err(StoreError::from)
        })?;
        let Some((id, mut leg)) = rows
            .into_iter()
            .map(LegRow::leg)
            .find(|(_, l)| l.operates(at.flight_date))
        else {
            return Ok(None);
        };
        let cabins: Vec<(String, i32)> = ota_platform::on_pool!(&self.db, pool => {
            sqlx::query_as::<_, (String, i32)>("SELECT cabin, capacity FROM leg_cabins WHERE leg_id = $1")
                .bind(id).fetch_all(pool).await.map_err(StoreError::from)
        })?;
        leg.cabins = cabins
            .into_iter()
            .filter_map(|(c, n)| Some((Cabin::parse(&c)?, n)))
            .collect();
        Ok(Some(leg))
    }

    /// The dated legs leaving on a local date, by departure (for tests and operators;
    /// reads every schedule record).
    pub async fn flights(&self, date: NaiveDate) -> Result<Vec<super::FlightRecord>, StoreError> {
        let mut out: Vec<super::FlightRecord> = self
            .legs(date - chrono::Duration::days(10))
            .await?
            .iter()
            .filter_map(|l| {
                let flight_date = date - chrono::Duration::days(i64::from(l.departure_day));
                if !l.operates(flight_date) {
                    return None;
                }
                Some(super::FlightRecord {
                    id: l.dated(flight_date).id()?,
                    carrier: l.carrier.clone(),
                    flight_number: i32::from(l.flight_number),
                    origin: l.origin.clone(),
                    destination: l.destination.clone(),
                    departure_date: date,
                    departure_at: l.departure(flight_date),
                    arrival_at: l.arrival(flight_date),
                })
            })
            .collect();
        out.sort_by_key(|f| (f.departure_at, f.id));
        Ok(out)
    }

    /// Opens an entry in the import log (status `running`), committed at once so that
    /// the job can be followed while it runs.
    pub async fn begin_import(&self, source: &str) -> Result<i64, StoreError> {
        let mut last = None;
        for _ in 0..10 {
            let attempt: Result<i64, StoreError> = async {
                ota_platform::on_pool!(&self.db, pool => {
                    let (id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) + 1 FROM catalog_imports")
                        .fetch_one(pool).await?;
                    sqlx::query("INSERT INTO catalog_imports (id, status, source, created_at) VALUES ($1, 'running', $2, $3)")
                        .bind(id).bind(source).bind(Utc::now())
                        .execute(pool).await?;
                    Ok(id)
                })
            }
            .await;
            match attempt {
                // Two imports began at once and took the same number: take the next.
                Err(e @ StoreError::Conflict(_)) => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or(StoreError::NotFound))
    }

    /// Closes a log entry of an import that was refused or failed: nothing was imported.
    pub async fn fail_import(&self, import_id: i64, errors: &[String]) -> Result<(), StoreError> {
        let report = serde_json::json!({ "errors": errors }).to_string();
        ota_platform::on_pool!(&self.db, pool => {
            sqlx::query("UPDATE catalog_imports SET status = 'failed', report = $2, finished_at = $3 WHERE id = $1")
                .bind(import_id).bind(report).bind(Utc::now())
                .execute(pool).await.map(|_| ()).map_err(StoreError::from)
        })
    }

    /// One entry of the import log.
    pub async fn import_log(&self, import_id: i64) -> Result<Option<ImportLog>, StoreError> {
        ota_platform::on_pool!(&self.db, pool => {
            sqlx::query_as::<_, ImportLog>(
                "SELECT id, status, source, carriers, legs, fares, report, created_at, finished_at FROM catalog_imports WHERE id = $1",
            )
            .bind(import_id)
            .fetch_optional(pool).await.map_err(StoreError::from)
        })
    }

    /// The import log, newest first.
    pub async fn imports(&self, limit: i64) -> Result<Vec<ImportLog>, StoreError> {
        ota_platform::on_pool!(&self.db, pool => {
            sqlx::query_as::<_, ImportLog>(
                "SELECT id, status, source, carriers, legs, fares, report, created_at, finished_at FROM catalog_imports ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool).await.map_err(StoreError::from)
        })
    }
}

/// One line of the import log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportLog {
    pub id: i64,
    pub status: String,
    pub source: String,
    pub carriers: String,
    pub legs: i32,
    pub fares: i32,
    pub report: String,
    pub created_at: chrono::DateTime<Utc>,
    pub finished_at: Option<chrono::DateTime<Utc>>,
}
