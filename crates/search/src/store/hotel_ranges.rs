//! Hotel availability, restrictions and rates as date ranges on days of the week
//! ([`crate::ranges`]): reading them for the index, and applying what channel managers
//! send (OpenTravel ARI, see `crate::ari`) in one transaction per message.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use ota_platform::{StoreError, in_write_tx, on_pool};

use super::{SearchStore, now_ms};
use crate::ranges::{Ranged, Span, patch};

/// Rooms of a room type for sale on a night nothing was sold or held on yet (the
/// supplier's allotment), and its stop-sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Allotment {
    pub capacity: i32,
    pub stop_sell: bool,
}

/// What limits selling a rate plan on a night. Lengths of stay are in nights: `min_los`
/// and `max_los` are judged on the arrival night, `min_stay` and `max_stay` on every
/// night of the stay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Restrictions {
    pub stop_sell: bool,
    pub closed_to_arrival: bool,
    pub closed_to_departure: bool,
    pub min_los: Option<u16>,
    pub max_los: Option<u16>,
    pub min_stay: Option<u16>,
    pub max_stay: Option<u16>,
}

/// The ranges of one room type: allotment, and per rate plan its restrictions and its
/// nightly prices (minor units, per room, by guests in the room; 0 = any number).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomTypeRanges {
    pub room_type_id: i64,
    pub allotment: Vec<Ranged<Allotment>>,
    pub restrictions: BTreeMap<i64, Vec<Ranged<Restrictions>>>,
    pub rates: BTreeMap<(i64, i16), Vec<Ranged<i64>>>,
}

/// What one ARI instruction sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AriSet {
    /// Rooms still for sale (`BookingLimit`): a night's capacity becomes what is sold
    /// and held plus this.
    BookingLimit(i32),
    /// Stop-sell of the room type (no rate plan named) or of the rate plan.
    StopSell(bool),
    ClosedToArrival(bool),
    ClosedToDeparture(bool),
    /// Nights; `None` lifts the restriction.
    MinLos(Option<u16>),
    MaxLos(Option<u16>),
    ForwardMinStay(Option<u16>),
    ForwardMaxStay(Option<u16>),
    /// Nightly price of a room for `guests` guests (0: any), minor units.
    Rate {
        guests: i16,
        amount: i64,
        currency: String,
    },
}

/// One instruction of an ARI message, resolved to our ids. Without a rate plan, a
/// restriction or rate applies to every rate plan of the hotel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AriChange {
    pub room_type_id: i64,
    pub rate_plan_id: Option<i64>,
    pub span: Span,
    pub set: AriSet,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct AllotmentRow {
    room_type_id: i64,
    first_night: NaiveDate,
    last_night: NaiveDate,
    weekdays: i16,
    capacity: i32,
    stop_sell: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct RestrictionRow {
    room_type_id: i64,
    rate_plan_id: i64,
    first_night: NaiveDate,
    last_night: NaiveDate,
    weekdays: i16,
    stop_sell: bool,
    closed_to_arrival: bool,
    closed_to_departure: bool,
    min_los: Option<i32>,
    max_los: Option<i32>,
    min_stay: Option<i32>,
    max_stay: Option<i32>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct RateRow {
    room_type_id: i64,
    rate_plan_id: i64,
    guests: i16,
    first_night: NaiveDate,
    last_night: NaiveDate,
    weekdays: i16,
    price_amount: i64,
}

const ALLOTMENT_COLUMNS: &str =
    "room_type_id, first_night, last_night, weekdays, capacity, stop_sell";
const RESTRICTION_COLUMNS: &str = "room_type_id, rate_plan_id, first_night, last_night, weekdays, stop_sell, closed_to_arrival, closed_to_departure, min_los, max_los, min_stay, max_stay";
const RATE_COLUMNS: &str =
    "room_type_id, rate_plan_id, guests, first_night, last_night, weekdays, price_amount";

fn span(first: NaiveDate, last: NaiveDate, weekdays: i16) -> Span {
    Span::new(first, last, weekdays as u8)
}

fn nights(n: Option<i32>) -> Option<u16> {
    n.and_then(|n| u16::try_from(n).ok())
}

/// Groups rows read back into each room type's ranges.
fn group(
    allotment: Vec<AllotmentRow>,
    restrictions: Vec<RestrictionRow>,
    rates: Vec<RateRow>,
) -> BTreeMap<i64, RoomTypeRanges> {
    let mut out: BTreeMap<i64, RoomTypeRanges> = BTreeMap::new();
    fn of(out: &mut BTreeMap<i64, RoomTypeRanges>, id: i64) -> &mut RoomTypeRanges {
        out.entry(id).or_insert_with(|| RoomTypeRanges {
            room_type_id: id,
            ..RoomTypeRanges::default()
        })
    }
    for r in allotment {
        of(&mut out, r.room_type_id).allotment.push(Ranged {
            span: span(r.first_night, r.last_night, r.weekdays),
            value: Allotment {
                capacity: r.capacity,
                stop_sell: r.stop_sell,
            },
        });
    }
    for r in restrictions {
        of(&mut out, r.room_type_id)
            .restrictions
            .entry(r.rate_plan_id)
            .or_default()
            .push(Ranged {
                span: span(r.first_night, r.last_night, r.weekdays),
                value: Restrictions {
                    stop_sell: r.stop_sell,
                    closed_to_arrival: r.closed_to_arrival,
                    closed_to_departure: r.closed_to_departure,
                    min_los: nights(r.min_los),
                    max_los: nights(r.max_los),
                    min_stay: nights(r.min_stay),
                    max_stay: nights(r.max_stay),
                },
            });
    }
    for r in rates {
        of(&mut out, r.room_type_id)
            .rates
            .entry((r.rate_plan_id, r.guests))
            .or_default()
            .push(Ranged {
                span: span(r.first_night, r.last_night, r.weekdays),
                value: r.price_amount,
            });
    }
    out
}

/// A room type's ranges after the instructions of a message that name it, in order.
/// `plans` are the ids of the hotel's rate plans (an instruction naming none applies to
/// each).
pub fn apply_changes(
    mut ranges: RoomTypeRanges,
    plans: &[i64],
    changes: &[&AriChange],
) -> RoomTypeRanges {
    for c in changes {
        let each_plan: Vec<i64> = c.rate_plan_id.map_or_else(|| plans.to_vec(), |p| vec![p]);
        match &c.set {
            AriSet::BookingLimit(limit) => {
                ranges.allotment = patch(&ranges.allotment, c.span, |v| {
                    Some(Allotment {
                        capacity: *limit,
                        stop_sell: v.is_some_and(|a| a.stop_sell),
                    })
                });
            }
            AriSet::StopSell(stop) if c.rate_plan_id.is_none() => {
                ranges.allotment = patch(&ranges.allotment, c.span, |v| {
                    Some(Allotment {
                        capacity: v.map_or(0, |a| a.capacity),
                        stop_sell: *stop,
                    })
                });
            }
            AriSet::Rate { guests, amount, .. } => {
                for plan in each_plan {
                    let list = ranges.rates.entry((plan, *guests)).or_default();
                    *list = patch(list, c.span, |_| Some(*amount));
                }
            }
            set => {
                for plan in each_plan {
                    let list = ranges.restrictions.entry(plan).or_default();
                    *list = patch(list, c.span, |v| {
                        let mut r = v.copied().unwrap_or_default();
                        match set {
                            AriSet::StopSell(b) => r.stop_sell = *b,
                            AriSet::ClosedToArrival(b) => r.closed_to_arrival = *b,
                            AriSet::ClosedToDeparture(b) => r.closed_to_departure = *b,
                            AriSet::MinLos(n) => r.min_los = *n,
                            AriSet::MaxLos(n) => r.max_los = *n,
                            AriSet::ForwardMinStay(n) => r.min_stay = *n,
                            AriSet::ForwardMaxStay(n) => r.max_stay = *n,
                            AriSet::BookingLimit(_) | AriSet::Rate { .. } => {}
                        }
                        Some(r)
                    });
                }
            }
        }
    }
    ranges.restrictions.retain(|_, l| !l.is_empty());
    ranges.rates.retain(|_, l| !l.is_empty());
    ranges
}

/// Reads the ranges of room types (`$1`: from this night on) — all, or only those whose
/// ranges changed at or after `$2` ms.
macro_rules! read_ranges {
    ($ex:expr, $filter:expr, $from:expr, $since:expr) => {{
        let filter: &str = $filter;
        let allotment: Vec<AllotmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ALLOTMENT_COLUMNS} FROM room_ranges WHERE last_night >= $1 {filter}"
        )))
        .bind($from)
        .bind($since)
        .fetch_all($ex)
        .await?;
        let restrictions: Vec<RestrictionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RESTRICTION_COLUMNS} FROM restriction_ranges WHERE last_night >= $1 {filter}"
        )))
        .bind($from)
        .bind($since)
        .fetch_all($ex)
        .await?;
        let rates: Vec<RateRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RATE_COLUMNS} FROM rate_ranges WHERE last_night >= $1 {filter}"
        )))
        .bind($from)
        .bind($since)
        .fetch_all($ex)
        .await?;
        group(allotment, restrictions, rates)
    }};
}

/// Only the room types whose ranges changed at or after `$2`.
const CHANGED_SINCE: &str =
    "AND room_type_id IN (SELECT id FROM room_types WHERE ranges_changed_at >= $2)";
/// Every room type (with `$2` = 0: ids are positive).
const EVERY_ROOM_TYPE: &str = "AND room_type_id > $2";
/// Before any night a catalog holds (the lower bound for reading every range).
const LONG_AGO: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
/// One room type (`$2`), every night.
const ONE_ROOM_TYPE: &str = "AND room_type_id = $2";

impl SearchStore {
    /// Every room type's ranges reaching `from` or later (for the index).
    pub async fn hotel_ranges(
        &self,
        from: NaiveDate,
    ) -> Result<BTreeMap<i64, RoomTypeRanges>, StoreError> {
        on_pool!(&self.db, pool => {
            Ok(read_ranges!(pool, EVERY_ROOM_TYPE, from, 0_i64))
        })
    }

    /// The room types whose ranges changed at or after `since_ms`, each with its ranges
    /// reaching `from` or later (none when all were removed).
    pub async fn hotel_ranges_changed(
        &self,
        from: NaiveDate,
        since_ms: i64,
    ) -> Result<Vec<RoomTypeRanges>, StoreError> {
        on_pool!(&self.db, pool => {
            let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM room_types WHERE ranges_changed_at >= $1")
                .bind(since_ms).fetch_all(pool).await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut found = read_ranges!(pool, CHANGED_SINCE, from, since_ms);
            Ok(ids.into_iter().map(|(id,)| found.remove(&id).unwrap_or(RoomTypeRanges { room_type_id: id, ..RoomTypeRanges::default() })).collect())
        })
    }

    /// Applies the instructions of one ARI message in one transaction: each room type
    /// named is locked (in id order), its ranges rewritten with the instructions in
    /// message order, the rooms of nights already sold or held on adjusted (a
    /// `BookingLimit` makes capacity sold + held + limit; a room stop-sell applies to
    /// them too), and the catalog generation bumped, so search pods reload the room
    /// types changed and retire answers cached before.
    pub async fn apply_ari(&self, changes: &[AriChange]) -> Result<(), StoreError> {
        let mut room_types: Vec<i64> = changes.iter().map(|c| c.room_type_id).collect();
        room_types.sort_unstable();
        room_types.dedup();
        let stamp = now_ms();
        in_write_tx!(&self.db, tx => {
            for &rt in &room_types {
                let locked = sqlx::query("UPDATE room_types SET ranges_changed_at = $2 WHERE id = $1")
                    .bind(rt).bind(stamp).execute(&mut *tx).await?.rows_affected();
                if locked == 0 {
                    return Err(StoreError::NotFound);
                }
                let plans: Vec<(i64,)> = sqlx::query_as(
                    "SELECT p.id FROM rate_plans p JOIN room_types t ON t.hotel_id = p.hotel_id WHERE t.id = $1 ORDER BY p.id",
                )
                .bind(rt).fetch_all(&mut *tx).await?;
                let plans: Vec<i64> = plans.into_iter().map(|p| p.0).collect();
                let mine: Vec<&AriChange> = changes.iter().filter(|c| c.room_type_id == rt).collect();
                let before = read_ranges!(&mut *tx, ONE_ROOM_TYPE, LONG_AGO, rt)
                    .remove(&rt)
                    .unwrap_or(RoomTypeRanges { room_type_id: rt, ..RoomTypeRanges::default() });
                let after = apply_changes(before, &plans, &mine);

                // Nights already sold or held on keep their row: their rooms follow.
                let rows: Vec<(NaiveDate, i32, i32)> = sqlx::query_as(
                    "SELECT night, sold, held FROM room_nights WHERE room_type_id = $1",
                )
                .bind(rt).fetch_all(&mut *tx).await?;
                for (night, sold, held) in rows {
                    for c in mine.iter().filter(|c| c.span.covers(night)) {
                        match c.set {
                            AriSet::BookingLimit(limit) => {
                                sqlx::query("UPDATE room_nights SET capacity = $3, changed_at = $4 WHERE room_type_id = $1 AND night = $2")
                                    .bind(rt).bind(night).bind(sold + held + limit).bind(stamp)
                                    .execute(&mut *tx).await?;
                            }
                            AriSet::StopSell(stop) if c.rate_plan_id.is_none() => {
                                sqlx::query("UPDATE room_nights SET stop_sell = $3, changed_at = $4 WHERE room_type_id = $1 AND night = $2")
                                    .bind(rt).bind(night).bind(stop).bind(stamp)
                                    .execute(&mut *tx).await?;
                            }
                            _ => {}
                        }
                    }
                }

                for table in ["room_ranges", "restriction_ranges", "rate_ranges"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE room_type_id = $1")))
                        .bind(rt).execute(&mut *tx).await?;
                }
                for chunk in after.allotment.chunks(500) {
                    sqlx::QueryBuilder::new("INSERT INTO room_ranges (room_type_id, first_night, last_night, weekdays, capacity, stop_sell) ")
                        .push_values(chunk, |mut b, r| {
                            b.push_bind(rt).push_bind(r.span.first).push_bind(r.span.last).push_bind(i16::from(r.span.weekdays))
                                .push_bind(r.value.capacity).push_bind(r.value.stop_sell);
                        })
                        .build().execute(&mut *tx).await?;
                }
                let restrictions: Vec<(i64, &Ranged<Restrictions>)> = after.restrictions.iter()
                    .flat_map(|(plan, l)| l.iter().map(move |r| (*plan, r))).collect();
                for chunk in restrictions.chunks(500) {
                    sqlx::QueryBuilder::new(format!("INSERT INTO restriction_ranges ({RESTRICTION_COLUMNS}) "))
                        .push_values(chunk, |mut b, (plan, r)| {
                            let v = r.value;
                            let n = |n: Option<u16>| n.map(i32::from);
                            b.push_bind(rt).push_bind(*plan).push_bind(r.span.first).push_bind(r.span.last).push_bind(i16::from(r.span.weekdays))
                                .push_bind(v.stop_sell).push_bind(v.closed_to_arrival).push_bind(v.closed_to_departure)
                                .push_bind(n(v.min_los)).push_bind(n(v.max_los)).push_bind(n(v.min_stay)).push_bind(n(v.max_stay));
                        })
                        .build().execute(&mut *tx).await?;
                }
                let currency = mine.iter().find_map(|c| match &c.set {
                    AriSet::Rate { currency, .. } => Some(currency.clone()),
                    _ => None,
                });
                let existing: Option<(String,)> = sqlx::query_as("SELECT currency FROM rate_ranges WHERE room_type_id = $1 LIMIT 1")
                    .bind(rt).fetch_optional(&mut *tx).await?;
                let currency = currency.or(existing.map(|c| c.0)).unwrap_or_else(|| crate::seed::CURRENCY.to_owned());
                let rates: Vec<((i64, i16), &Ranged<i64>)> = after.rates.iter()
                    .flat_map(|(key, l)| l.iter().map(move |r| (*key, r))).collect();
                for chunk in rates.chunks(500) {
                    sqlx::QueryBuilder::new("INSERT INTO rate_ranges (room_type_id, rate_plan_id, guests, first_night, last_night, weekdays, price_amount, currency) ")
                        .push_values(chunk, |mut b, ((plan, guests), r)| {
                            b.push_bind(rt).push_bind(*plan).push_bind(*guests).push_bind(r.span.first).push_bind(r.span.last)
                                .push_bind(i16::from(r.span.weekdays)).push_bind(r.value).push_bind(currency.clone());
                        })
                        .build().execute(&mut *tx).await?;
                }
            }
            sqlx::query("UPDATE catalog_meta SET generation = generation + 1 WHERE id = 1")
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
