//! Hotel search over the index: hotels of a city with rooms free every night of the
//! stay, priced per rate plan.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use ota_contract::search::{CancellationPolicy, HotelOffer, HotelSummary, OfferKind};
use ota_platform::money::Money;
use ota_platform::tokens::KeyRing;

use crate::index::{Index, RoomType};
use crate::offers::{OFFER_TTL_SECS, OfferClaims, RatePlan};
use crate::seed::CURRENCY;

/// The non-refundable rate's discount on the flexible one, in percent.
pub const NON_REFUNDABLE_DISCOUNT: i64 = 15;
/// Flexible rates cancel free until this many days before check-in, at 14:00 local.
pub const FREE_CANCELLATION_DAYS: i64 = 2;
const FREE_CANCELLATION_TIME: (u32, u32) = (14, 0);
/// Check-in and check-out times, hotel local time.
pub const CHECK_IN_TIME: (u32, u32) = (15, 0);
pub const CHECK_OUT_TIME: (u32, u32) = (11, 0);

/// The instant a hotel's local wall-clock time happens on `day`.
fn hotel_time(tz: chrono_tz::Tz, day: NaiveDate, (h, m): (u32, u32)) -> DateTime<chrono_tz::Tz> {
    let time = NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    crate::seed::instant_in(tz, day, time).with_timezone(&tz)
}

/// When a stay starting on `check_in` begins in a zone: the hotel's check-in time.
pub fn check_in_at(tz: chrono_tz::Tz, check_in: NaiveDate) -> DateTime<chrono_tz::Tz> {
    hotel_time(tz, check_in, CHECK_IN_TIME)
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

/// A room type priced for the stay.
#[derive(Debug, Clone)]
pub struct Stay {
    pub room_type: u32,
    pub plan: RatePlan,
    pub total: i64,
    pub rooms_remaining: i32,
}

/// The price of one rate plan, from the flexible nightly total.
pub fn plan_price(flexible_total: i64, plan: RatePlan) -> i64 {
    match plan {
        RatePlan::Flexible => flexible_total,
        RatePlan::NonRefundable => {
            (flexible_total * (100 - NON_REFUNDABLE_DISCOUNT) / 100 / 100) * 100
        }
    }
}

/// Sum of nightly prices and rooms left on the tightest night, if bookable every night.
pub fn price_stay(
    index: &Index,
    rt: &RoomType,
    check_in: NaiveDate,
    nights: u16,
    rooms: u8,
) -> Option<(i64, i32)> {
    let touched = index.rooms.read().unwrap_or_else(|e| e.into_inner());
    let mut total = 0;
    let mut remaining = i32::MAX;
    for d in 0..nights {
        let night = index.night_in(&touched, rt, check_in + Duration::days(i64::from(d)))?;
        let left = night.remaining();
        if left < i32::from(rooms) {
            return None;
        }
        total += night.price();
        remaining = remaining.min(left);
    }
    Some((total * i64::from(rooms), remaining))
}

/// Stays on sale at `now`: a flexible rate only while its free cancellation is still
/// ahead (after that, only the non-refundable rate).
pub fn search(index: &Index, q: &HotelQuery, now: DateTime<Utc>) -> Vec<Stay> {
    let mut out = Vec::new();
    for &h in &q.hotels {
        let hotel = &index.hotels[h as usize];
        if !q.stars.is_empty() && !q.stars.contains(&hotel.stars) {
            continue;
        }
        for &r in &hotel.room_types {
            let rt = &index.room_types[r as usize];
            if rt.max_guests * i32::from(q.rooms) < i32::from(q.guests) {
                continue;
            }
            let Some((flexible, remaining)) = price_stay(index, rt, q.check_in, q.nights, q.rooms)
            else {
                continue;
            };
            let flexible_open =
                free_cancellation_until(index, rt.id, q.check_in).is_some_and(|until| until > now);
            for plan in [RatePlan::Flexible, RatePlan::NonRefundable] {
                if plan == RatePlan::Flexible && !flexible_open {
                    continue;
                }
                let total = plan_price(flexible, plan);
                if q.max_price.is_some_and(|m| total > m) {
                    continue;
                }
                out.push(Stay {
                    room_type: r,
                    plan,
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

/// The moment free cancellation ends for a stay at a hotel.
pub fn free_cancellation_until(
    index: &Index,
    room_type_id: i64,
    check_in: NaiveDate,
) -> Option<DateTime<chrono_tz::Tz>> {
    let tz = index.hotel_of(room_type_id)?.tz;
    let day = check_in - Duration::days(FREE_CANCELLATION_DAYS);
    Some(hotel_time(tz, day, FREE_CANCELLATION_TIME))
}

pub fn render(
    index: &Index,
    claims: &OfferClaims,
    offer_id: String,
    rooms_remaining: i32,
) -> Option<HotelOffer> {
    let OfferClaims::Hotel {
        rt,
        p,
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
    let room = &index.room_types[*index.room_type_by_id.get(rt)? as usize];
    let hotel = &index.hotels[room.hotel as usize];
    let policy = match p {
        RatePlan::Flexible => {
            let until = free_cancellation_until(index, *rt, *ci)?;
            CancellationPolicy {
                refundable: true,
                free_cancellation_until: Some(until.to_rfc3339()),
                description: format!(
                    "Free cancellation until {} (hotel time); no refund after.",
                    until.format("%Y-%m-%d %H:%M")
                ),
            }
        }
        RatePlan::NonRefundable => CancellationPolicy {
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
        check_in_at: check_in_at(hotel.tz, *ci).to_rfc3339(),
        check_out_at: hotel_time(hotel.tz, check_out, CHECK_OUT_TIME).to_rfc3339(),
        rooms: *r,
        guests: *g,
        rooms_remaining,
        room_type: room.name.clone(),
        room_type_id: room.id,
        max_guests_per_room: room.max_guests,
        rate: *p,
        hotel: HotelSummary {
            id: hotel.id,
            name: hotel.name.clone(),
            stars: hotel.stars,
            city: hotel.city.clone(),
            country: hotel.country.clone(),
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
    let claims = OfferClaims::Hotel {
        rt: rt.id,
        p: stay.plan,
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
            let tz = index.hotels[rt.hotel as usize].tz;
            let deadline = (s.plan == RatePlan::Flexible)
                .then(|| free_cancellation_until(index, rt.id, q.check_in))
                .flatten();
            [Some(check_in_at(tz, q.check_in)), deadline]
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

    #[test]
    fn the_non_refundable_rate_is_fifteen_percent_cheaper_in_whole_units() {
        assert_eq!(plan_price(100_000, RatePlan::Flexible), 100_000);
        assert_eq!(plan_price(100_000, RatePlan::NonRefundable), 85_000);
        assert_eq!(plan_price(33_300, RatePlan::NonRefundable), 28_300);
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
