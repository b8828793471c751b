//! The public search API of API.md and the internal holds API booking-service uses.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use ota_contract::{AirportCode, CarrierCode};
use ota_platform::cache::ServiceCache;
use ota_platform::http::Json;
use ota_platform::passengers::Passengers;
use ota_platform::tokens::{KeyRing, ServiceCaller};
use ota_platform::{FieldError, Problem, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::airports;
use crate::catalog::Cabin;
use crate::flights::{self, FlightQuery, Offer, Sort};
use crate::hotels::{self, HotelOffer, HotelQuery, HotelSort};
use crate::index::Index;
use crate::offers::{OfferClaims, OfferError, RatePlan};
use crate::store::{HoldError, HoldStatus, InventoryItem, SearchStore};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 50;

#[derive(Clone)]
pub struct SearchState {
    pub index: Arc<Index>,
    pub store: SearchStore,
    pub cache: ServiceCache,
    pub keys: Arc<KeyRing>,
    /// Zero turns the answer cache off.
    pub answer_ttl: Duration,
}

pub fn router(state: SearchState) -> Router {
    Router::new()
        .route("/api/v1/airports", get(suggest_airports))
        .route("/api/v1/flights/search", get(search_flights))
        .route("/api/v1/hotels/search", get(search_hotels))
        .route("/api/v1/offers/{offer_id}", get(revalidate_offer))
        .route("/internal/v1/holds", post(create_hold))
        .route("/internal/v1/holds/{booking_id}", get(read_hold))
        .route("/internal/v1/holds/{booking_id}/commit", post(commit_hold))
        .route(
            "/internal/v1/holds/{booking_id}/release",
            post(release_hold),
        )
        .with_state(state)
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(suggest_airports, search_flights, search_hotels, revalidate_offer, create_hold, read_hold, commit_hold, release_hold),
    components(schemas(AirportView, AirportsAnswer, FlightsAnswer, HotelsAnswer, Offer, HotelOffer, HoldRequest, HoldView)),
    tags((name = "search", description = "Airports, flights, hotels and offers"), (name = "internal", description = "Inventory holds (service tokens only)"))
)]
pub struct ApiDoc;

type Params = Query<HashMap<String, String>>;

fn bad(field: &str, message: impl Into<String>) -> Problem {
    Problem::bad_parameter(field, message)
}

fn param<'a>(p: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    p.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn required<'a>(p: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Problem> {
    param(p, name).ok_or_else(|| bad(name, "is required"))
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    p: &HashMap<String, String>,
    name: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, Problem> {
    match param(p, name) {
        None => Ok(default),
        Some(s) => {
            let v: T = s
                .parse()
                .map_err(|_| bad(name, format!("must be a whole number from {min} to {max}")))?;
            if v < min || v > max {
                return Err(bad(name, format!("must be from {min} to {max}")));
            }
            Ok(v)
        }
    }
}

fn date(p: &HashMap<String, String>, name: &str) -> Result<Option<NaiveDate>, Problem> {
    param(p, name)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| bad(name, "must be a date as YYYY-MM-DD"))
        })
        .transpose()
}

fn time_of_day(p: &HashMap<String, String>, name: &str) -> Result<Option<NaiveTime>, Problem> {
    param(p, name)
        .map(|s| {
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| bad(name, "must be a time as HH:MM"))
        })
        .transpose()
}

/// Pagination: a cursor is the next offset bound to the query it came from.
fn fingerprint(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn cursor_for(key: &str, offset: usize) -> String {
    B64.encode(format!("{offset}:{:x}", fingerprint(key)))
}

fn offset_from(p: &HashMap<String, String>, key: &str) -> Result<usize, Problem> {
    let Some(c) = param(p, "cursor") else {
        return Ok(0);
    };
    let invalid = || bad("cursor", "is not a cursor of this search");
    let text = B64
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let (offset, fp) = text.split_once(':').ok_or_else(invalid)?;
    if fp != format!("{:x}", fingerprint(key)) {
        return Err(invalid());
    }
    offset
        .parse::<usize>()
        .ok()
        .filter(|o| *o <= 10_000)
        .ok_or_else(invalid)
}

/// One page of a search: where it starts, how long it is, and its cache key.
struct Page {
    key: String,
    offset: usize,
    limit: usize,
    cache_key: String,
}

impl Page {
    /// The cache key carries the catalog generation, so a capacity, price or stop-sell
    /// change retires every answer cached before it (cursors stay valid across it).
    fn parse(p: &HashMap<String, String>, key: &str, generation: i64) -> Result<Page, Problem> {
        let limit = number(p, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
        let offset = offset_from(p, key)?;
        Ok(Page {
            key: key.to_owned(),
            offset,
            limit,
            cache_key: format!("{key}:{offset}:{limit}:g{generation}"),
        })
    }

    /// This page of `all`.
    fn of<'a, R>(&self, all: &'a [R]) -> Vec<&'a R> {
        all.iter().skip(self.offset).take(self.limit).collect()
    }

    /// Renders this page of `all` and the cursor of the next one, if any.
    fn cut<R, T>(&self, all: &[R], render: impl Fn(&R) -> Option<T>) -> (Vec<T>, Option<String>) {
        let items = self.of(all).into_iter().filter_map(render).collect();
        let end = self.offset + self.limit;
        (items, (end < all.len()).then(|| cursor_for(&self.key, end)))
    }
}

fn json_bytes(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// An answer and the moment the clock alone makes it untrue (a flight leaves, a
/// refund window or free cancellation ends, check-in passes), if any.
type Computed = (Vec<u8>, Option<DateTime<Utc>>);

/// Serves a whole answer from the cache, or computes and caches it, never past the
/// moment it stops being true. A cache outage degrades to computing every answer,
/// never to an error.
async fn cached<F>(state: &SearchState, key: &str, compute: F) -> Result<Response, Problem>
where
    F: FnOnce() -> Result<Computed, Problem>,
{
    if state.answer_ttl.is_zero() {
        return Ok(json_bytes(compute()?.0));
    }
    match state.cache.get(key).await {
        Ok(Some(bytes)) => return Ok(json_bytes(bytes)),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "search cache unavailable; answering without it"),
    }
    let (bytes, changes_at) = compute()?;
    if let Some(ttl) = cache_ttl(state.answer_ttl, changes_at, Utc::now())
        && let Err(e) = state.cache.set(key, &bytes, ttl).await
    {
        tracing::warn!(error = %e, "search cache unavailable; answer not cached");
    }
    Ok(json_bytes(bytes))
}

/// How long an answer may stay cached: the answer TTL, cut short by the moment the
/// clock alone makes it untrue; not at all when that is less than a second away.
fn cache_ttl(
    max: Duration,
    changes_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    match changes_at {
        None => Some(max),
        Some(at) => (at - now)
            .to_std()
            .ok()
            .map(|left| left.min(max))
            .filter(|ttl| ttl.as_secs() >= 1),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Problem> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "serialising an answer failed");
        Problem::internal()
    })
}

// ---------------------------------------------------------------------------------------
// Airports

#[derive(Serialize, ToSchema)]
pub struct AirportView {
    /// The airport's code, or a city's metropolitan code (`NYC`) that flight and hotel
    /// searches take as well.
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    /// IANA zone name.
    pub time_zone: String,
    /// `airport`, or `city` for a metropolitan code standing for several airports.
    pub kind: &'static str,
    /// A city's airports, busiest first (empty for an airport).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub airports: Vec<String>,
}

impl AirportView {
    fn of(s: airports::Suggestion<'_>) -> Option<AirportView> {
        let view = |a: &crate::index::AirportInfo| AirportView {
            iata: a.iata.clone(),
            name: a.name.clone(),
            city: a.city.clone(),
            country: a.country.clone(),
            time_zone: a.time_zone.clone(),
            kind: "airport",
            airports: Vec::new(),
        };
        Some(match s {
            airports::Suggestion::Airport(a) => view(a),
            airports::Suggestion::Metro { code, airports } => {
                let main = airports::main_airport(&airports)?;
                AirportView {
                    iata: code.to_owned(),
                    name: format!("{} (all airports)", main.city),
                    kind: "city",
                    airports: airports.iter().map(|a| a.iata.clone()).collect(),
                    ..view(main)
                }
            }
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct AirportsAnswer {
    pub airports: Vec<AirportView>,
}

/// Airport autocomplete by code, city or name; a city with several airports also comes
/// as one entry under its metropolitan code (`kind: "city"`).
#[utoipa::path(get, path = "/api/v1/airports", tag = "search",
    params(("q" = String, Query, description = "What the traveller typed"), ("limit" = Option<usize>, Query, description = "1 to 20 (default 8)")),
    responses((status = 200, body = AirportsAnswer), (status = 400, body = Problem)))]
async fn suggest_airports(
    State(state): State<SearchState>,
    Query(p): Params,
) -> Result<Response, Problem> {
    let q = required(&p, "q")?;
    if q.chars().count() > 60 {
        return Err(bad("q", "must be at most 60 characters"));
    }
    let limit = number(&p, "limit", 8usize, 1, 20)?;
    let answer = AirportsAnswer {
        airports: airports::suggest(&state.index, q, limit)
            .into_iter()
            .filter_map(AirportView::of)
            .collect(),
    };
    Ok(json_bytes(to_json(&answer)?))
}

// ---------------------------------------------------------------------------------------
// Flights

#[derive(Serialize, ToSchema)]
pub struct FlightsAnswer {
    pub offers: Vec<Offer>,
    pub next_cursor: Option<String>,
}

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
    let last = index.last_day();
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
    responses((status = 200, body = FlightsAnswer), (status = 400, body = Problem, description = "a bad parameter, named in `errors[].field`")))]
async fn search_flights(
    State(state): State<SearchState>,
    Query(p): Params,
) -> Result<Response, Problem> {
    let (q, key) = flight_query(&state.index, &p)?;
    let page = Page::parse(&p, &key, state.index.generation())?;
    cached(&state, &page.cache_key, || {
        let now = Utc::now();
        let all = flights::search(&state.index, &q, now);
        let (offers, next_cursor) = page.cut(&all, |it| {
            flights::offer(&state.index, &state.keys, &q, it, now)
        });
        let changes_at = flights::answer_changes_at(&page.of(&all), now);
        let bytes = to_json(&FlightsAnswer {
            offers,
            next_cursor,
        })?;
        Ok((bytes, changes_at))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Hotels

#[derive(Serialize, ToSchema)]
pub struct HotelsAnswer {
    pub offers: Vec<HotelOffer>,
    pub next_cursor: Option<String>,
}

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
    responses((status = 200, body = HotelsAnswer), (status = 400, body = Problem, description = "a bad parameter, named in `errors[].field`")))]
async fn search_hotels(
    State(state): State<SearchState>,
    Query(p): Params,
) -> Result<Response, Problem> {
    let (q, key) = hotel_query(&state.index, &p)?;
    let page = Page::parse(&p, &key, state.index.generation())?;
    cached(&state, &page.cache_key, || {
        let now = Utc::now();
        let all = hotels::search(&state.index, &q, now);
        let (offers, next_cursor) = page.cut(&all, |s| {
            hotels::offer(&state.index, &state.keys, &q, s, now)
        });
        let changes_at = hotels::answer_changes_at(&state.index, &q, &page.of(&all));
        let bytes = to_json(&HotelsAnswer {
            offers,
            next_cursor,
        })?;
        Ok((bytes, changes_at))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Offers

/// Why an offer can no longer be sold at `now` (410), judged the same way when it is
/// revalidated and when it is held: its price guarantee expired, a flight has left,
/// check-in has passed, or a flexible rate's free cancellation has ended.
fn no_longer_for_sale(
    index: &Index,
    claims: &OfferClaims,
    offer_id: &str,
    now: DateTime<Utc>,
) -> Option<Problem> {
    let why = if claims.expires_at() <= now {
        "This offer has expired; search again for current prices."
    } else {
        match claims {
            OfferClaims::Flight { s, .. } => s
                .iter()
                .flatten()
                .any(|id| index.flight(*id).is_none_or(|f| f.departure <= now))
                .then_some("This flight has already left.")?,
            OfferClaims::Hotel { rt, p, ci, .. } => match index.hotel_of(*rt) {
                None => "This hotel is no longer sold.",
                Some(h) if hotels::check_in_at(h.tz, *ci) <= now => {
                    "Check-in time for this stay has passed."
                }
                Some(_)
                    if *p == RatePlan::Flexible
                        && hotels::free_cancellation_until(index, *rt, *ci)
                            .is_none_or(|until| until <= now) =>
                {
                    "Free cancellation for this rate has ended; search again for the rates on sale now."
                }
                Some(_) => return None,
            },
        }
    };
    Some(Problem::new(StatusCode::GONE, "offer-expired", why).with("offer_id", offer_id))
}

/// Checks a signed offer against the live inventory.
pub async fn check_offer(
    state: &SearchState,
    offer_id: &str,
    field: &str,
) -> Result<OfferClaims, Problem> {
    let claims = OfferClaims::verify(offer_id, &state.keys).map_err(|OfferError::Invalid| {
        Problem::field(
            field,
            "is not a valid offer id (malformed or tampered with)",
        )
    })?;
    if let Some(gone) = no_longer_for_sale(&state.index, &claims, offer_id, Utc::now()) {
        return Err(gone);
    }
    for item in claims.items() {
        let needed = match &item {
            InventoryItem::Seats { quantity, .. } | InventoryItem::Rooms { quantity, .. } => {
                *quantity
            }
        };
        let left = state.store.available(&item).await?.unwrap_or(0);
        if left < needed {
            return Err(sold_out(offer_id));
        }
    }
    Ok(claims)
}

fn sold_out(offer_id: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "sold-out",
        "This offer is no longer available: not enough seats or rooms are left.",
    )
    .with("offer_id", offer_id)
}

#[derive(Serialize)]
#[serde(untagged)]
enum AnyOffer {
    Flight(Offer),
    Hotel(HotelOffer),
}

/// The offer, revalidated at the moment of asking: 200 available (fare rules as they
/// stand now), 410 expired, departed, past check-in or past a flexible rate's free
/// cancellation, 409 no longer available.
#[utoipa::path(get, path = "/api/v1/offers/{offer_id}", tag = "search",
    params(("offer_id" = String, Path)),
    responses((status = 200, description = "a flight Offer or a HotelOffer"), (status = 409, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem)))]
async fn revalidate_offer(
    State(state): State<SearchState>,
    Path(offer_id): Path<String>,
) -> Result<Response, Problem> {
    let claims = check_offer(&state, &offer_id, "offer_id").await?;
    let rendered = match &claims {
        OfferClaims::Flight { .. } => {
            flights::render(&state.index, &claims, offer_id.clone(), Utc::now())
                .map(AnyOffer::Flight)
        }
        OfferClaims::Hotel { rt, ci, n, .. } => {
            let left = hotels_left(&state, *rt, *ci, *n).await?;
            hotels::render(&state.index, &claims, offer_id.clone(), left).map(AnyOffer::Hotel)
        }
    };
    let offer = rendered.ok_or_else(|| sold_out(&offer_id))?;
    Ok(json_bytes(to_json(&offer)?))
}

async fn hotels_left(state: &SearchState, rt: i64, ci: NaiveDate, n: u16) -> Result<i32, Problem> {
    let mut left = i32::MAX;
    for d in 0..n {
        let item = InventoryItem::Rooms {
            room_type_id: rt,
            night: ci + chrono::Duration::days(i64::from(d)),
            quantity: 1,
        };
        left = left.min(state.store.available(&item).await?.unwrap_or(0));
    }
    Ok(left)
}

// ---------------------------------------------------------------------------------------
// Holds (internal)

#[derive(Deserialize, ToSchema)]
pub struct HoldRequest {
    pub booking_id: Uuid,
    pub offer_ids: Vec<String>,
    /// How long the inventory stays held (60–1800 s, default 900).
    pub ttl_seconds: Option<i64>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct HoldView {
    pub booking_id: Uuid,
    pub status: HoldStatus,
    pub expires_at: String,
}

fn hold_view(h: crate::store::Hold) -> HoldView {
    HoldView {
        booking_id: h.booking_id,
        status: h.status,
        expires_at: h.expires_at.to_rfc3339(),
    }
}

fn hold_problem(e: HoldError, offers: &[(String, Vec<InventoryItem>)]) -> Problem {
    match e {
        HoldError::SoldOut(item) | HoldError::Unknown(item) => {
            let offer = offers
                .iter()
                .find(|(_, items)| items.iter().any(|i| same_inventory(i, &item)));
            sold_out(offer.map_or("", |(id, _)| id.as_str()))
        }
        HoldError::NotActive(status) => {
            Problem::conflict("The hold is no longer active (expired or released).")
                .with("status", status)
        }
        HoldError::Store(StoreError::NotFound) => Problem::not_found("No hold for this booking."),
        HoldError::Store(e) => e.into(),
    }
}

fn same_inventory(a: &InventoryItem, b: &InventoryItem) -> bool {
    match (a, b) {
        (
            InventoryItem::Seats {
                flight_id: f1,
                cabin: c1,
                ..
            },
            InventoryItem::Seats {
                flight_id: f2,
                cabin: c2,
                ..
            },
        ) => f1 == f2 && c1 == c2,
        (
            InventoryItem::Rooms {
                room_type_id: r1,
                night: n1,
                ..
            },
            InventoryItem::Rooms {
                room_type_id: r2,
                night: n2,
                ..
            },
        ) => r1 == r2 && n1 == n2,
        _ => false,
    }
}

/// Sums quantities of the same inventory across offers.
fn merge(items: impl IntoIterator<Item = InventoryItem>) -> Vec<InventoryItem> {
    let mut seats: BTreeMap<(i64, Cabin), i32> = BTreeMap::new();
    let mut rooms: BTreeMap<(i64, NaiveDate), i32> = BTreeMap::new();
    for i in items {
        match i {
            InventoryItem::Seats {
                flight_id,
                cabin,
                quantity,
            } => *seats.entry((flight_id, cabin)).or_default() += quantity,
            InventoryItem::Rooms {
                room_type_id,
                night,
                quantity,
            } => *rooms.entry((room_type_id, night)).or_default() += quantity,
        }
    }
    seats
        .into_iter()
        .map(|((flight_id, cabin), quantity)| InventoryItem::Seats {
            flight_id,
            cabin,
            quantity,
        })
        .chain(
            rooms
                .into_iter()
                .map(|((room_type_id, night), quantity)| InventoryItem::Rooms {
                    room_type_id,
                    night,
                    quantity,
                }),
        )
        .collect()
}

/// Holds the inventory of a booking's offers, all or nothing; idempotent by booking id.
#[utoipa::path(post, path = "/internal/v1/holds", tag = "internal", request_body = HoldRequest,
    responses((status = 201, body = HoldView), (status = 200, body = HoldView, description = "the existing hold of this booking"),
        (status = 409, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem)),
    security(("service_token" = [])))]
async fn create_hold(
    State(state): State<SearchState>,
    caller: ServiceCaller,
    Json(body): Json<HoldRequest>,
) -> Result<Response, Problem> {
    if let Some(existing) = state.store.hold(body.booking_id).await? {
        return Ok((StatusCode::OK, axum::Json(hold_view(existing))).into_response());
    }
    if body.offer_ids.is_empty() || body.offer_ids.len() > 10 {
        return Err(Problem::field("offer_ids", "must list 1 to 10 offers"));
    }
    let ttl = body.ttl_seconds.unwrap_or(900);
    if !(60..=1800).contains(&ttl) {
        return Err(Problem::field("ttl_seconds", "must be from 60 to 1800"));
    }
    let mut offers = Vec::new();
    let mut errors = Vec::new();
    for (i, id) in body.offer_ids.iter().enumerate() {
        match OfferClaims::verify(id, &state.keys) {
            Ok(c) => {
                if let Some(gone) = no_longer_for_sale(&state.index, &c, id, Utc::now()) {
                    return Err(gone);
                }
                offers.push((id.clone(), c.items()));
            }
            Err(_) => errors.push(FieldError {
                field: format!("offer_ids[{i}]"),
                message: "is not a valid offer id".to_owned(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let items = merge(offers.iter().flat_map(|(_, items)| items.clone()));
    // Whole seconds: both engines store them exactly, so every answer shows the same.
    let expires_at =
        chrono::SubsecRound::trunc_subsecs(Utc::now() + chrono::Duration::seconds(ttl), 0);
    let hold = state
        .store
        .create_hold(body.booking_id, &items, expires_at)
        .await
        .map_err(|e| hold_problem(e, &offers))?;
    tracing::info!(booking_id = %body.booking_id, caller = %caller.service, items = items.len(), "inventory held");
    Ok((StatusCode::CREATED, axum::Json(hold_view(hold))).into_response())
}

/// A booking's hold.
#[utoipa::path(get, path = "/internal/v1/holds/{booking_id}", tag = "internal",
    params(("booking_id" = Uuid, Path)), responses((status = 200, body = HoldView), (status = 404, body = Problem)),
    security(("service_token" = [])))]
async fn read_hold(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    Path(booking_id): Path<Uuid>,
) -> Result<axum::Json<HoldView>, Problem> {
    let hold = state
        .store
        .hold(booking_id)
        .await?
        .ok_or_else(|| Problem::not_found("No hold for this booking."))?;
    Ok(axum::Json(hold_view(hold)))
}

/// Turns the held inventory into sold inventory (idempotent).
#[utoipa::path(post, path = "/internal/v1/holds/{booking_id}/commit", tag = "internal",
    params(("booking_id" = Uuid, Path)), responses((status = 200, body = HoldView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("service_token" = [])))]
async fn commit_hold(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    Path(booking_id): Path<Uuid>,
) -> Result<axum::Json<HoldView>, Problem> {
    let hold = state
        .store
        .commit_hold(booking_id)
        .await
        .map_err(|e| hold_problem(e, &[]))?;
    tracing::info!(%booking_id, "inventory sold");
    Ok(axum::Json(hold_view(hold)))
}

/// Gives the inventory back, held or sold (idempotent).
#[utoipa::path(post, path = "/internal/v1/holds/{booking_id}/release", tag = "internal",
    params(("booking_id" = Uuid, Path)), responses((status = 200, body = HoldView), (status = 404, body = Problem)),
    security(("service_token" = [])))]
async fn release_hold(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    Path(booking_id): Path<Uuid>,
) -> Result<axum::Json<HoldView>, Problem> {
    let hold = state
        .store
        .release_hold(booking_id)
        .await
        .map_err(|e| hold_problem(e, &[]))?;
    tracing::info!(%booking_id, "inventory released");
    Ok(axum::Json(hold_view(hold)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_never_cached_past_the_moment_it_stops_being_true() {
        let now = Utc::now();
        let ttl = Duration::from_secs(30);
        assert_eq!(cache_ttl(ttl, None, now), Some(ttl));
        let leaves = now + chrono::Duration::seconds(10);
        assert_eq!(
            cache_ttl(ttl, Some(leaves), now),
            Some(Duration::from_secs(10))
        );
        let later = now + chrono::Duration::minutes(5);
        assert_eq!(cache_ttl(ttl, Some(later), now), Some(ttl));
        let imminent = now + chrono::Duration::milliseconds(500);
        assert_eq!(cache_ttl(ttl, Some(imminent), now), None);
        assert_eq!(
            cache_ttl(ttl, Some(now - chrono::Duration::seconds(1)), now),
            None
        );
    }
}
