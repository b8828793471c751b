//! Hotel search over the index: hotels of a city with rooms free every night of the
//! stay, priced per rate plan.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use ota_contract::search::{CancellationPolicy, HotelOffer, HotelSummary, OfferKind, RatePlan};
use ota_platform::money::Money;
use ota_platform::tokens::KeyRing;

use rustc_hash::FxHashMap;

use crate::index::{Hotel, Index, NightState, PlanRanges, RatePlanInfo, RoomRanges, RoomType};
use crate::offers::{OFFER_TTL_SECS, OfferClaims};
use crate::seed::CURRENCY;

/// A refundable rate plan without its own deadline cancels free until check-in; with
/// one, until that many days before check-in at this hotel time.
const FREE_CANCELLATION_TIME: (u32, u32) = (14, 0);
/// Check-in and check-out times, hotel local time.
pub const CHECK_IN_TIME: (u32, u32) = (15, 0);
pub const CHECK_OUT_TIME: (u32, u32) = (11, 0);

/// The instant a hotel's local wall-clock time happens on `day`.
fn hotel_time(tz: chrono_tz::Tz, day: NaiveDate, (h, m): (u32, u32)) -> DateTime<chrono_tz::Tz> {
    let time = NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    crate::seed::instant_in(tz, day, time).with_timezone(&tz)
}

/// When a stay starting on `check_in` begins in a zone at the usual check-in time
/// (15:00): for a city, before its hotel is known.
pub fn check_in_at(tz: chrono_tz::Tz, check_in: NaiveDate) -> DateTime<chrono_tz::Tz> {
    hotel_time(tz, check_in, CHECK_IN_TIME)
}

impl Hotel {
    /// When a stay starting on `day` begins: this hotel's check-in time.
    pub fn check_in_at(&self, day: NaiveDate) -> DateTime<chrono_tz::Tz> {
        hotel_time(self.tz, day, self.check_in)
    }

    /// When a stay ending on `day` ends: this hotel's check-out time.
    pub fn check_out_at(&self, day: NaiveDate) -> DateTime<chrono_tz::Tz> {
        hotel_time(self.tz, day, self.check_out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HotelSort {
    Price,
    Stars,
}

#[derive(Debug, Clone)]
pub struct HotelQuery {
    pub hotels: Vec<u32>,
    pub check_in: NaiveDate,
    pub nights: u16,
    pub guests: u8,
    pub rooms: u8,
    pub sort: HotelSort,
    pub stars: Vec<i16>,
    pub max_price: Option<i64>,
}

/// A room type on one rate plan, priced for the stay.
#[derive(Debug, Clone)]
pub struct Stay {
    pub room_type: u32,
    /// Position of the rate plan in its hotel's [`crate::index::Hotel::rate_plans`].
    pub plan: u32,
    pub total: i64,
    pub rooms_remaining: i32,
}

/// Guests in each room when `guests` share `rooms` (the fullest room).
pub fn guests_per_room(guests: u8, rooms: u8) -> i16 {
    u16::from(guests).div_ceil(u16::from(rooms.max(1))) as i16
}

/// Rooms left on the tightest night, if `rooms` are for sale every night of the stay.
pub fn rooms_for_stay(
    rooms_map: &FxHashMap<(i64, NaiveDate), NightState>,
    rt: &RoomType,
    ranges: &RoomRanges,
    check_in: NaiveDate,
    nights: u16,
    rooms: u8,
) -> Option<i32> {
    let mut remaining = i32::MAX;
    for d in 0..nights {
        let night = check_in + Duration::days(i64::from(d));
        let left = Index::night_in(rooms_map, rt.id, ranges, night)?.remaining();
        if left < i32::from(rooms) {
            return None;
        }
        remaining = remaining.min(left);
    }
    Some(remaining)
}

/// The total of a stay on one rate plan (every room, every night, minor units), if the
/// plan sells it: a price every night, no night stop-sold, arrival not closed and within
/// the arrival night's minimum and maximum length of stay, every night's forward
/// minimum and maximum stay met, departure not closed.
pub fn price_on_plan(
    plan: &PlanRanges,
    check_in: NaiveDate,
    nights: u16,
    guests: i16,
    rooms: u8,
) -> Option<i64> {
    let arrival = plan.restrictions(check_in);
    if arrival.closed_to_arrival
        || arrival.min_los.is_some_and(|n| nights < n)
        || arrival.max_los.is_some_and(|n| nights > n)
    {
        return None;
    }
    let mut total = 0;
    for d in 0..nights {
        let night = check_in + Duration::days(i64::from(d));
        let r = if d == 0 {
            arrival
        } else {
            plan.restrictions(night)
        };
        if r.stop_sell
            || r.min_stay.is_some_and(|n| nights < n)
            || r.max_stay.is_some_and(|n| nights > n)
        {
            return None;
        }
        total = plan.price(guests, night)?.checked_add(total)?;
    }
    let departure = check_in + Duration::days(i64::from(nights));
    if plan.restrictions(departure).closed_to_departure {
        return None;
    }
    total.checked_mul(i64::from(rooms))
}

/// Stays on sale at `now`, one per room type and rate plan that sells it: a refundable
/// plan only while its free cancellation is still ahead.
pub fn search(index: &Index, q: &HotelQuery, now: DateTime<Utc>) -> Vec<Stay> {
    let rooms_map = index.rooms.read().unwrap_or_else(|e| e.into_inner());
    let ranges = index.ranges.read().unwrap_or_else(|e| e.into_inner());
    let per_room = guests_per_room(q.guests, q.rooms);
    let mut out = Vec::new();
    for &h in &q.hotels {
        let hotel = &index.hotels[h as usize];
        if (!q.stars.is_empty() && !q.stars.contains(&hotel.stars))
            || hotel.check_in_at(q.check_in) <= now
        {
            continue;
        }
        for &r in &hotel.room_types {
            let rt = &index.room_types[r as usize];
            if rt.max_guests < i32::from(per_room) {
                continue;
            }
            let rr = &ranges[r as usize];
            let Some(remaining) = rooms_for_stay(&rooms_map, rt, rr, q.check_in, q.nights, q.rooms)
            else {
                continue;
            };
            for (k, plan) in hotel.rate_plans.iter().enumerate() {
                if plan.refundable
                    && free_cancellation_until(hotel, plan, q.check_in).is_none_or(|t| t <= now)
                {
                    continue;
                }
                let Some(total) = rr
                    .plans
                    .get(k)
                    .and_then(|p| price_on_plan(p, q.check_in, q.nights, per_room, q.rooms))
                else {
                    continue;
                };
                if q.max_price.is_some_and(|m| total > m) {
                    continue;
                }
                out.push(Stay {
                    room_type: r,
                    plan: k as u32,
                    total,
                    rooms_remaining: remaining,
                });
            }
        }
    }
    let stars =
        |s: &Stay| index.hotels[index.room_types[s.room_type as usize].hotel as usize].stars;
    match q.sort {
        HotelSort::Price => out.sort_by(|a, b| a.total.cmp(&b.total).then(stars(b).cmp(&stars(a)))),
        HotelSort::Stars => out.sort_by(|a, b| stars(b).cmp(&stars(a)).then(a.total.cmp(&b.total))),
    }
    out
}

/// The moment free cancellation of a stay on a rate plan ends: `None` for a
/// non-refundable plan; check-in for a refundable plan without a deadline; else 14:00
/// hotel time that many days before check-in.
pub fn free_cancellation_until(
    hotel: &Hotel,
    plan: &RatePlanInfo,
    check_in: NaiveDate,
) -> Option<DateTime<chrono_tz::Tz>> {
    if !plan.refundable {
        return None;
    }
    Some(match plan.free_cancellation_days {
        None => hotel.check_in_at(check_in),
        Some(days) => hotel_time(
            hotel.tz,
            check_in - Duration::days(i64::from(days)),
            FREE_CANCELLATION_TIME,
        ),
    })
}

/// Whether a rate plan still sells a stay (its restrictions and prices as the index has
/// them now; rooms are checked against the database).
pub fn plan_sells(
    index: &Index,
    room_type_id: i64,
    plan_code: &str,
    check_in: NaiveDate,
    nights: u16,
    guests: u8,
    rooms: u8,
) -> bool {
    let Some(&pos) = index.room_type_by_id.get(&room_type_id) else {
        return false;
    };
    let hotel = &index.hotels[index.room_types[pos as usize].hotel as usize];
    let Some(k) = hotel.rate_plans.iter().position(|p| p.code == plan_code) else {
        return false;
    };
    let ranges = index.ranges.read().unwrap_or_else(|e| e.into_inner());
    ranges[pos as usize]
        .plans
        .get(k)
        .and_then(|p| price_on_plan(p, check_in, nights, guests_per_room(guests, rooms), rooms))
        .is_some()
}

/// The hotel, room type and rate plan an offer names.
pub fn offer_parts<'a>(
    index: &'a Index,
    room_type_id: i64,
    plan_code: &str,
) -> Option<(&'a Hotel, &'a RoomType, &'a RatePlanInfo)> {
    let room = &index.room_types[*index.room_type_by_id.get(&room_type_id)? as usize];
    let hotel = &index.hotels[room.hotel as usize];
    let plan = hotel.rate_plans.iter().find(|p| p.code == plan_code)?;
    Some((hotel, room, plan))
}

pub fn render(
    index: &Index,
    claims: &OfferClaims,
    offer_id: String,
    rooms_remaining: i32,
) -> Option<HotelOffer> {
    let OfferClaims::Hotel {
        rt,
        rp,
        ci,
        n,
        r,
        g,
        t,
        cur,
        ..
    } = claims
    else {
        return None;
    };
    let (hotel, room, plan) = offer_parts(index, *rt, rp)?;
    let policy = match free_cancellation_until(hotel, plan, *ci) {
        Some(until) => CancellationPolicy {
            refundable: true,
            free_cancellation_until: Some(until.to_rfc3339()),
            description: format!(
                "Free cancellation until {} (hotel time); no refund after.",
                until.format("%Y-%m-%d %H:%M")
            ),
        },
        None => CancellationPolicy {
            refundable: false,
            free_cancellation_until: None,
            description: "Non-refundable: cancelling refunds nothing.".to_owned(),
        },
    };
    let check_out = *ci + Duration::days(i64::from(*n));
    Some(HotelOffer {
        offer_id,
        kind: OfferKind::Hotel,
        expires_at: claims.expires_at().to_rfc3339(),
        total: Money::new(*t, cur),
        nights: *n,
        check_in: *ci,
        check_out,
        check_in_at: hotel.check_in_at(*ci).to_rfc3339(),
        check_out_at: hotel.check_out_at(check_out).to_rfc3339(),
        rooms: *r,
        guests: *g,
        rooms_remaining,
        room_type: room.name.clone(),
        room_type_id: room.id,
        room_type_code: room.code.clone(),
        max_guests_per_room: room.max_guests,
        rate: if plan.refundable {
            RatePlan::Flexible
        } else {
            RatePlan::NonRefundable
        },
        rate_plan_code: plan.code.clone(),
        rate_plan_name: plan.name.clone(),
        board: plan.board,
        hotel: HotelSummary {
            id: hotel.id,
            code: hotel.code.clone(),
            name: hotel.name.clone(),
            stars: hotel.stars,
            city: hotel.city.clone(),
            country: hotel.country.clone(),
            address: hotel.address.clone(),
            time_zone: hotel.tz.name().to_owned(),
        },
        cancellation_policy: policy,
    })
}

pub fn offer(
    index: &Index,
    keys: &KeyRing,
    q: &HotelQuery,
    stay: &Stay,
    now: DateTime<Utc>,
) -> Option<HotelOffer> {
    let rt = &index.room_types[stay.room_type as usize];
    let plan = index.hotels[rt.hotel as usize]
        .rate_plans
        .get(stay.plan as usize)?;
    let claims = OfferClaims::Hotel {
        rt: rt.id,
        rp: plan.code.clone(),
        ci: q.check_in,
        n: q.nights,
        r: q.rooms,
        g: q.guests,
        t: stay.total,
        cur: CURRENCY.to_owned(),
        x: (now + Duration::seconds(OFFER_TTL_SECS)).timestamp(),
    };
    let id = claims.sign(keys);
    render(index, &claims, id, stay.rooms_remaining)
}

/// When an answer listing these stays stops being true by the clock alone: check-in, or
/// the end of a free cancellation it offers.
pub fn answer_changes_at(index: &Index, q: &HotelQuery, stays: &[&Stay]) -> Option<DateTime<Utc>> {
    stays
        .iter()
        .filter_map(|s| {
            let rt = &index.room_types[s.room_type as usize];
            let hotel = &index.hotels[rt.hotel as usize];
            let deadline = hotel
                .rate_plans
                .get(s.plan as usize)
                .and_then(|plan| free_cancellation_until(hotel, plan, q.check_in));
            [Some(hotel.check_in_at(q.check_in)), deadline]
                .into_iter()
                .flatten()
                .map(|t| t.with_timezone(&Utc))
                .min()
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranges::{ALL_WEEKDAYS, RangeList, Ranged, Span};
    use crate::store::Restrictions;

    #[test]
    fn the_seeded_non_refundable_rate_is_fifteen_percent_cheaper_in_whole_units() {
        use crate::seed::non_refundable;
        assert_eq!(non_refundable(100_000), 85_000);
        assert_eq!(non_refundable(33_300), 28_300);
    }

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, d).expect("date")
    }

    /// A plan priced 100.00 a night (any guests), 80.00 for one guest, all March.
    fn march_plan(restrictions: Vec<(Span, Restrictions)>) -> PlanRanges {
        let march = Span::new(day(3, 1), day(3, 31), ALL_WEEKDAYS);
        PlanRanges {
            restrictions: RangeList::new(
                restrictions
                    .into_iter()
                    .map(|(span, value)| Ranged { span, value })
                    .collect(),
            ),
            rates: vec![
                (
                    0,
                    RangeList::new(vec![Ranged {
                        span: march,
                        value: 10_000,
                    }]),
                ),
                (
                    1,
                    RangeList::new(vec![Ranged {
                        span: march,
                        value: 8_000,
                    }]),
                ),
            ],
        }
    }

    #[test]
    fn a_total_that_would_overflow_is_not_offered() {
        let month = Span::new(day(3, 1), day(3, 31), ALL_WEEKDAYS);
        let plan = PlanRanges {
            restrictions: RangeList::default(),
            rates: vec![(
                0,
                RangeList::new(vec![Ranged {
                    span: month,
                    value: i64::MAX / 2,
                }]),
            )],
        };
        assert_eq!(price_on_plan(&plan, day(3, 10), 3, 2, 1), None);
        assert_eq!(price_on_plan(&plan, day(3, 10), 1, 2, 3), None);
    }

    #[test]
    fn a_plan_prices_every_night_by_guests_and_honours_each_restriction() {
        let open = march_plan(Vec::new());
        assert_eq!(price_on_plan(&open, day(3, 10), 3, 2, 1), Some(30_000));
        assert_eq!(price_on_plan(&open, day(3, 10), 3, 1, 2), Some(48_000));
        // A night without a price is not sold.
        assert_eq!(price_on_plan(&open, day(3, 30), 3, 2, 1), None);

        let one = |r: Restrictions| {
            march_plan(vec![(Span::new(day(3, 10), day(3, 12), ALL_WEEKDAYS), r)])
        };
        let min_los = one(Restrictions {
            min_los: Some(3),
            ..Restrictions::default()
        });
        assert_eq!(price_on_plan(&min_los, day(3, 10), 2, 2, 1), None);
        assert_eq!(price_on_plan(&min_los, day(3, 10), 3, 2, 1), Some(30_000));
        // Judged on arrival only: arriving the day before the range is fine.
        assert!(price_on_plan(&min_los, day(3, 9), 2, 2, 1).is_some());
        let min_stay = one(Restrictions {
            min_stay: Some(3),
            ..Restrictions::default()
        });
        // Judged on every night: a 2-night stay through the range is refused.
        assert_eq!(price_on_plan(&min_stay, day(3, 9), 2, 2, 1), None);
        let max_los = one(Restrictions {
            max_los: Some(2),
            ..Restrictions::default()
        });
        assert_eq!(price_on_plan(&max_los, day(3, 10), 3, 2, 1), None);
        let cta = one(Restrictions {
            closed_to_arrival: true,
            ..Restrictions::default()
        });
        assert_eq!(price_on_plan(&cta, day(3, 11), 2, 2, 1), None);
        assert!(price_on_plan(&cta, day(3, 9), 4, 2, 1).is_some());
        let ctd = one(Restrictions {
            closed_to_departure: true,
            ..Restrictions::default()
        });
        assert_eq!(price_on_plan(&ctd, day(3, 8), 3, 2, 1), None);
        assert!(price_on_plan(&ctd, day(3, 8), 5, 2, 1).is_some());
        let stop = one(Restrictions {
            stop_sell: true,
            ..Restrictions::default()
        });
        assert_eq!(price_on_plan(&stop, day(3, 12), 1, 2, 1), None);
        assert!(price_on_plan(&stop, day(3, 13), 5, 2, 1).is_some());
    }

    #[test]
    fn check_in_is_three_in_the_afternoon_hotel_time_across_dst() {
        let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("zone");
        let day = |m, d| NaiveDate::from_ymd_opt(2027, m, d).expect("date");
        assert_eq!(
            check_in_at(paris, day(1, 10)).to_rfc3339(),
            "2027-01-10T15:00:00+01:00"
        );
        assert_eq!(
            check_in_at(paris, day(7, 10)).to_rfc3339(),
            "2027-07-10T15:00:00+02:00"
        );
    }
}
