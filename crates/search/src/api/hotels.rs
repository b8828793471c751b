//! Hotel search: `GET /api/v1/hotels/search`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use ota_contract::AirportCode;
use ota_contract::search::HotelsAnswer;
use ota_platform::Problem;

use super::SearchState;
use super::answers::search_page;
use super::params::{Page, Params, bad, date, number, param, required};
use crate::airports;
use crate::hotels::{self, HotelQuery, HotelSort};
use crate::index::Index;

/// The entry of a city named as travellers name it, folded: exactly, or as the start
/// of a longer name ("frankfurt" for Frankfurt am Main).
fn named<'a, V>(cities: &'a HashMap<String, V>, folded: &str) -> Option<&'a String> {
    if let Some((name, _)) = cities.get_key_value(folded) {
        return Some(name);
    }
    let prefix = format!("{folded} ");
    cities.keys().filter(|k| k.starts_with(&prefix)).min()
}

/// A city named by name ("Paris", "frankfurt") or by an airport or metropolitan code
/// (CDG, LON): the city (folded), its hotels (none in a real city where we have no
/// hotels) and its time zone.
fn hotels_in(index: &Index, city: &str) -> Option<(String, Vec<u32>, chrono_tz::Tz)> {
    let folded = crate::catalog::fold(city);
    let code = city.trim().to_uppercase();
    let by_code = || {
        let places: Vec<&crate::index::AirportInfo> = AirportCode::parse(&code)
            .ok()
            .map(|code| index.places(code))?
            .into_iter()
            .map(|i| &index.airports[i as usize])
            .collect();
        airports::main_airport(&places).map(|a| a.folded_city.clone())
    };
    let name = named(&index.hotels_by_city, &folded)
        .cloned()
        .or_else(by_code)
        .or_else(|| named(&index.cities, &folded).cloned())?;
    let tz = *index.cities.get(&name)?;
    let hotels = index.hotels_by_city.get(&name).cloned().unwrap_or_default();
    Some((name, hotels, tz))
}

pub fn hotel_query(
    index: &Index,
    p: &HashMap<String, String>,
) -> Result<(HotelQuery, String), Problem> {
    let city = required(p, "city")?;
    if city.chars().count() > 100 {
        return Err(bad("city", "must be at most 100 characters"));
    }
    let (folded, hotels, tz) = hotels_in(index, city)
        .ok_or_else(|| bad("city", format!("{city} is not a city we know")))?;
    let check_in = date(p, "check_in")?.ok_or_else(|| bad("check_in", "is required"))?;
    let check_out = date(p, "check_out")?.ok_or_else(|| bad("check_out", "is required"))?;
    let now = Utc::now();
    if check_in < now.with_timezone(&tz).date_naive() {
        return Err(bad("check_in", "is in the past"));
    }
    if hotels::check_in_at(tz, check_in) <= now {
        return Err(bad(
            "check_in",
            "today's check-in time (15:00 hotel time) has passed; choose a later date",
        ));
    }
    if check_out <= check_in {
        return Err(bad("check_out", "must be after check_in"));
    }
    let nights = (check_out - check_in).num_days();
    if nights > 30 {
        return Err(bad("check_out", "stays are at most 30 nights"));
    }
    if check_out > index.last_day() + chrono::Duration::days(1) {
        return Err(bad(
            "check_out",
            format!("is beyond the dates we sell (until {})", index.last_day()),
        ));
    }
    let guests = number(p, "guests", 2u8, 1, 16)?;
    let rooms = number(p, "rooms", 1u8, 1, 8)?;
    if guests < rooms {
        return Err(bad("guests", "each room needs at least one guest"));
    }
    let sort = match param(p, "sort").unwrap_or("price") {
        "price" => HotelSort::Price,
        "stars" => HotelSort::Stars,
        _ => return Err(bad("sort", "must be price or stars")),
    };
    let mut stars: Vec<i16> = match param(p, "stars") {
        None => Vec::new(),
        Some(s) => s
            .split(',')
            .map(|x| x.trim().parse::<i16>().ok().filter(|v| (1..=5).contains(v)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("stars", "must list star ratings from 1 to 5, such as 4,5"))?,
    };
    stars.sort_unstable();
    stars.dedup();
    let max_price = param(p, "max_price")
        .map(|s| {
            s.parse::<i64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| bad("max_price", "must be a positive amount in minor units"))
        })
        .transpose()?;
    let key = format!(
        "hotels:{folded}:{check_in}:{nights}:{guests}:{rooms}:{sort:?}:{stars:?}:{}",
        max_price.unwrap_or(0)
    );
    Ok((
        HotelQuery {
            hotels,
            check_in,
            nights: nights as u16,
            guests,
            rooms,
            sort,
            stars,
            max_price,
        },
        key,
    ))
}

/// Hotel offers in a city for a stay. A real city where we have no hotels answers 200
/// with no offers. A flexible rate is offered only while its free cancellation is still
/// ahead; times are RFC 3339 instants with the hotel's offset, prices minor units.
#[utoipa::path(get, path = "/api/v1/hotels/search", tag = "search",
    params(("city" = String, Query, description = "city name (Paris), airport code (CDG) or metropolitan code (PAR)"),
        ("check_in" = String, Query, description = "YYYY-MM-DD; check-in is at 15:00 hotel time"),
        ("check_out" = String, Query, description = "YYYY-MM-DD, at most 30 nights later; check-out is at 11:00 hotel time"),
        ("guests" = Option<u8>, Query, description = "1 to 16 (default 2)"), ("rooms" = Option<u8>, Query, description = "1 to 8 (default 1), at most one per guest"),
        ("sort" = Option<String>, Query, description = "price | stars"),
        ("stars" = Option<String>, Query, description = "comma-separated star ratings"), ("max_price" = Option<i64>, Query, description = "highest total for the stay, minor units"),
        ("limit" = Option<usize>, Query, description = "1 to 50 (default 20)"), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = HotelsAnswer, description = "One page of hotel offers (none for a known city without our hotels) and the `next_cursor`; totals for the stay in minor units, times RFC 3339 with the hotel's offset"),
        (status = 400, body = Problem, description = "A missing or invalid parameter or cursor, or an unknown city (problem `bad-parameter`; `errors[].field` names it)")))]
pub(super) async fn search_hotels(
    State(state): State<SearchState>,
    Query(p): Params,
) -> Result<Response, Problem> {
    let live = state.index.get();
    let index: &crate::index::Index = &live;
    let (q, key) = hotel_query(index, &p)?;
    let page = Page::parse(&p, &key, index.generation())?;
    search_page(
        &state,
        &page,
        |now| hotels::search(index, &q, now),
        |stay, now| hotels::offer(index, &state.keys, &q, stay, now),
        |stays, _| hotels::answer_changes_at(index, &q, stays),
        |offers, next_cursor| HotelsAnswer {
            offers,
            next_cursor,
        },
    )
    .await
}
