//! Flight search: `GET /api/v1/flights/search`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use ota_contract::search::FlightsAnswer;
use ota_contract::{AirportCode, CarrierCode};
use ota_platform::Problem;
use ota_platform::passengers::Passengers;

use super::SearchState;
use super::answers::search_page;
use super::params::{Page, Params, bad, date, number, param, required, time_of_day};
use crate::catalog::Cabin;
use crate::flights::{self, FlightQuery, Sort};
use crate::index::Index;

/// An airport or metropolitan code (`JFK`, or `NYC` for JFK, LGA and EWR): the code as
/// normalised and the airports it stands for.
fn places_param(
    index: &Index,
    p: &HashMap<String, String>,
    name: &str,
) -> Result<(String, Vec<u16>), Problem> {
    let code = AirportCode::parse(&required(p, name)?.to_uppercase())
        .map_err(|e| bad(name, e.to_string()))?;
    let places = index.places(code);
    if places.is_empty() {
        return Err(bad(
            name,
            format!("{code} is not an airport or city we serve"),
        ));
    }
    Ok((code.to_string(), places))
}

/// Adults (12+), children (2–11) and infants (under 2, on a lap) as the query says them.
fn passengers_param(p: &HashMap<String, String>) -> Result<Passengers, Problem> {
    let party = Passengers {
        adults: number(p, "adults", 1u8, 1, 9)?,
        children: number(p, "children", 0u8, 0, 8)?,
        infants: number(p, "infants", 0u8, 0, 9)?,
    };
    party
        .check()
        .map_err(|(field, message)| bad(field, message))?;
    Ok(party)
}

/// Parses and checks a flight search; answers the query and its cache key.
pub fn flight_query(
    index: &Index,
    p: &HashMap<String, String>,
) -> Result<(FlightQuery, String), Problem> {
    let (origin, origins) = places_param(index, p, "origin")?;
    let (destination, destinations) = places_param(index, p, "destination")?;
    if origins.iter().any(|o| destinations.contains(o)) {
        return Err(bad("destination", "must differ from origin"));
    }
    let departure_date =
        date(p, "departure_date")?.ok_or_else(|| bad("departure_date", "is required"))?;
    let today = Utc::now()
        .with_timezone(&index.airports[origins[0] as usize].tz)
        .date_naive();
    if departure_date < today {
        return Err(bad("departure_date", "is in the past"));
    }
    let Some(last) = index.flights_last_day() else {
        return Err(bad(
            "departure_date",
            "has no flights: no schedule is loaded",
        ));
    };
    if departure_date > last {
        return Err(bad(
            "departure_date",
            format!("is beyond the schedule we sell (until {last})"),
        ));
    }
    let return_date = date(p, "return_date")?;
    if let Some(r) = return_date {
        if r < departure_date {
            return Err(bad("return_date", "is before the departure date"));
        }
        if r > last {
            return Err(bad(
                "return_date",
                format!("is beyond the schedule we sell (until {last})"),
            ));
        }
    }
    let passengers = passengers_param(p)?;
    let cabin = match param(p, "cabin") {
        None => Cabin::Economy,
        Some(c) => Cabin::parse(c).ok_or_else(|| {
            bad(
                "cabin",
                "must be economy, premium_economy, business or first",
            )
        })?,
    };
    let max_stops = number(p, "max_stops", 1u8, 0, 2)?;
    let sort = match param(p, "sort").unwrap_or("price") {
        "price" => Sort::Price,
        "duration" => Sort::Duration,
        "departure" => Sort::Departure,
        _ => return Err(bad("sort", "must be price, duration or departure")),
    };
    let listed: Vec<String> = param(p, "carriers")
        .map(|s| {
            s.split(',')
                .map(|c| c.trim().to_uppercase())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if listed.len() > 20 {
        return Err(bad("carriers", "may list at most 20 carriers"));
    }
    let sold = |c: &String| {
        CarrierCode::parse(c)
            .ok()
            .filter(|code| index.carriers.contains_key(code.as_str()))
    };
    if let Some(unknown) = listed.iter().find(|c| sold(c).is_none()) {
        // Echo a code, never a page of whatever was sent.
        let shown: String = unknown.chars().take(8).collect();
        let more = if unknown.chars().count() > 8 {
            "…"
        } else {
            ""
        };
        return Err(bad(
            "carriers",
            format!("{shown}{more} is not a carrier we sell"),
        ));
    }
    let mut carriers: Vec<CarrierCode> = listed.iter().filter_map(sold).collect();
    carriers.sort();
    let departure_after = time_of_day(p, "departure_after")?;
    let departure_before = time_of_day(p, "departure_before")?;
    let max_price = param(p, "max_price")
        .map(|s| {
            s.parse::<i64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| bad("max_price", "must be a positive amount in minor units"))
        })
        .transpose()?;
    let q = FlightQuery {
        origins,
        destinations,
        departure_date,
        return_date,
        passengers,
        cabin,
        max_stops,
        sort,
        carriers,
        departure_after,
        departure_before,
        max_price,
    };
    let key = format!(
        "flights:{origin}:{destination}:{}:{}:{}-{}-{}:{}:{}:{:?}:{}:{}:{}:{}",
        departure_date,
        return_date.map(|d| d.to_string()).unwrap_or_default(),
        passengers.adults,
        passengers.children,
        passengers.infants,
        cabin.as_str(),
        max_stops,
        sort,
        q.carriers
            .iter()
            .map(CarrierCode::as_str)
            .collect::<Vec<_>>()
            .join(","),
        departure_after.map(|t| t.to_string()).unwrap_or_default(),
        departure_before.map(|t| t.to_string()).unwrap_or_default(),
        max_price.unwrap_or(0),
    );
    Ok((q, key))
}

/// Flight offers, one-way or round trip. Flights that have left are never offered; a
/// round trip's return leaves at least the minimum connection time (60 minutes within a
/// country, 90 across borders) after the outbound lands. Prices are in minor units; a
/// child pays 75 % and an infant on a lap 10 % of the adult fare, rounded to whole minor
/// units; times are RFC 3339 instants with each airport's offset.
#[utoipa::path(get, path = "/api/v1/flights/search", tag = "search",
    params(
        ("origin" = String, Query, description = "IATA airport code (JFK) or metropolitan code (NYC: JFK, LGA, EWR; LON; PAR; TYO; ...)"),
        ("destination" = String, Query, description = "IATA airport or metropolitan code"),
        ("departure_date" = String, Query, description = "YYYY-MM-DD, local date at the origin"),
        ("return_date" = Option<String>, Query, description = "YYYY-MM-DD, local date at the destination, for a round trip"),
        ("adults" = Option<u8>, Query, description = "travellers 12 and over: 1 to 9 (default 1)"),
        ("children" = Option<u8>, Query, description = "travellers 2 to 11 on the first departure date: 0 to 8 (default 0); adults + children at most 9; each takes a seat and pays 75 % of the adult fare"),
        ("infants" = Option<u8>, Query, description = "travellers under 2 on the first departure date, on an adult's lap: 0 to the number of adults (default 0); no seat, 10 % of the adult fare"),
        ("cabin" = Option<String>, Query, description = "economy | premium_economy | business | first"),
        ("max_stops" = Option<u8>, Query, description = "0 to 2 (default 1)"),
        ("sort" = Option<String>, Query, description = "price | duration | departure"),
        ("carriers" = Option<String>, Query, description = "comma-separated carrier codes"),
        ("departure_after" = Option<String>, Query, description = "HH:MM, local time at the origin"),
        ("departure_before" = Option<String>, Query, description = "HH:MM, local time at the origin"),
        ("max_price" = Option<i64>, Query, description = "highest total for all passengers, minor units"),
        ("limit" = Option<usize>, Query, description = "1 to 50 (default 20)"), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = FlightsAnswer, description = "One page of flight offers (possibly none) and the `next_cursor`; totals for all passengers in minor units, times RFC 3339 with each airport's offset"),
        (status = 400, body = Problem, description = "A missing or invalid parameter or cursor (problem `bad-parameter`; `errors[].field` names it)")))]
pub(super) async fn search_flights(
    State(state): State<SearchState>,
    Query(p): Params,
) -> Result<Response, Problem> {
    let live = state.index.get();
    let index: &crate::index::Index = &live;
    let (q, key) = flight_query(index, &p)?;
    let page = Page::parse(&p, &key, index.generation())?;
    search_page(
        &state,
        &page,
        |now| flights::search(index, &q, now),
        |it, now| flights::offer(index, &state.keys, &q, it, now),
        flights::answer_changes_at,
        |offers, next_cursor| FlightsAnswer {
            offers,
            next_cursor,
        },
    )
    .await
}
