//! Hotel content from a JSON file (`ota catalog import --hotels FILE`): hotels with
//! their address, position, stars, amenities, description, check-in and check-out
//! times, time zone, room types and rate plans, checked whole before anything is
//! stored; every problem names its JSON path (`hotels[2].room_types[0].max_guests`).
//! Availability, restrictions and rates come separately, as OpenTravel ARI messages
//! ([`crate::ari`]).

use std::collections::HashSet;

use chrono::NaiveTime;
use ota_contract::search::Board;
use serde::{Deserialize, Serialize};

/// The file: `{"hotels": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotelFile {
    pub hotels: Vec<HotelContent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotelContent {
    /// The supplier's `HotelCode`: 1 to 20 letters, digits, '-' or '_', unique.
    pub code: String,
    pub name: String,
    pub address: Address,
    pub coordinates: Coordinates,
    /// 1 to 5.
    pub stars: i16,
    #[serde(default)]
    pub amenities: Vec<String>,
    #[serde(default)]
    pub description: String,
    /// Hotel-local "HH:MM" (default 15:00 and 11:00).
    #[serde(default = "default_check_in")]
    pub check_in: String,
    #[serde(default = "default_check_out")]
    pub check_out: String,
    /// IANA zone, such as Europe/Paris.
    pub time_zone: String,
    /// The IATA code of the hotel's airport (default: the catalog's nearest).
    #[serde(default)]
    pub airport: Option<String>,
    pub room_types: Vec<RoomTypeContent>,
    pub rate_plans: Vec<RatePlanContent>,
}

fn default_check_in() -> String {
    "15:00".to_owned()
}

fn default_check_out() -> String {
    "11:00".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub line: String,
    #[serde(default)]
    pub postal_code: String,
    pub city: String,
    /// ISO 3166 alpha-2.
    pub country: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    /// Degrees, WGS 84.
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomTypeContent {
    /// The supplier's `InvTypeCode`, unique within the hotel.
    pub code: String,
    pub name: String,
    /// 1 to 16.
    pub max_guests: i32,
    /// Beds, such as ["double"] or ["single", "single"].
    #[serde(default)]
    pub beds: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePlanContent {
    /// The supplier's `RatePlanCode`, unique within the hotel.
    pub code: String,
    pub name: String,
    #[serde(default = "room_only")]
    pub board: Board,
    pub refundable: bool,
    /// A refundable plan cancels free until this many days before check-in, 14:00
    /// hotel time (absent: until check-in). Not for a non-refundable plan.
    #[serde(default)]
    pub free_cancellation_days: Option<i32>,
}

fn room_only() -> Board {
    Board::RoomOnly
}

/// One problem of a file: the JSON path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ContentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The countries of the shipped airports (ISO 3166 alpha-2).
static COUNTRIES: std::sync::LazyLock<HashSet<String>> = std::sync::LazyLock::new(|| {
    crate::catalog::airports()
        .into_iter()
        .map(|a| a.country)
        .collect()
});

fn code_ok(code: &str, max: usize) -> bool {
    !code.is_empty()
        && code.len() <= max
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads and checks a hotel file. `airport_known` says whether the catalog has an
/// airport code. Every problem is listed; any problem refuses the whole file.
pub fn parse(
    text: &str,
    airport_known: &dyn Fn(&str) -> bool,
) -> Result<Vec<HotelContent>, Vec<ContentError>> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let file: HotelFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        vec![ContentError {
            path: if path == "." { "$".to_owned() } else { path },
            message: e.into_inner().to_string(),
        }]
    })?;
    let mut errors = Vec::new();
    let mut err = |path: String, message: &str| {
        errors.push(ContentError {
            path,
            message: message.to_owned(),
        })
    };
    if file.hotels.is_empty() {
        err("hotels".into(), "lists no hotel");
    }
    let mut codes = HashSet::new();
    for (i, h) in file.hotels.iter().enumerate() {
        let at = |field: &str| format!("hotels[{i}].{field}");
        if !code_ok(&h.code, 20) {
            err(at("code"), "must be 1 to 20 letters, digits, '-' or '_'");
        } else if !codes.insert(h.code.as_str()) {
            err(at("code"), "is given to another hotel of the file");
        }
        if h.name.trim().is_empty() || h.name.chars().count() > 200 {
            err(at("name"), "must be 1 to 200 characters");
        }
        if h.address.city.trim().is_empty() || h.address.city.chars().count() > 100 {
            err(at("address.city"), "must be 1 to 100 characters");
        }
        if !COUNTRIES.contains(h.address.country.as_str()) {
            err(
                at("address.country"),
                "must be the ISO 3166 alpha-2 code of a country with an airport we know, such as FR",
            );
        }
        if h.address.line.chars().count() > 200 || h.address.postal_code.chars().count() > 20 {
            err(
                at("address"),
                "line is at most 200 characters, postal_code at most 20",
            );
        }
        if !(-90.0..=90.0).contains(&h.coordinates.latitude) {
            err(at("coordinates.latitude"), "must be from -90 to 90 degrees");
        }
        if !(-180.0..=180.0).contains(&h.coordinates.longitude) {
            err(
                at("coordinates.longitude"),
                "must be from -180 to 180 degrees",
            );
        }
        if !(1..=5).contains(&h.stars) {
            err(at("stars"), "must be from 1 to 5");
        }
        if h.amenities.len() > 50 {
            err(at("amenities"), "lists at most 50");
        }
        for (k, a) in h.amenities.iter().enumerate() {
            if a.trim().is_empty() || a.chars().count() > 50 {
                err(at(&format!("amenities[{k}]")), "must be 1 to 50 characters");
            }
        }
        if h.description.chars().count() > 5_000 {
            err(at("description"), "is at most 5,000 characters");
        }
        for (field, value) in [("check_in", &h.check_in), ("check_out", &h.check_out)] {
            if NaiveTime::parse_from_str(value, "%H:%M").is_err() {
                err(at(field), "must be a local time HH:MM, such as 15:00");
            }
        }
        if h.time_zone.parse::<chrono_tz::Tz>().is_err() {
            err(
                at("time_zone"),
                "must be an IANA time zone, such as Europe/Paris",
            );
        }
        if let Some(code) = &h.airport
            && !airport_known(code)
        {
            err(at("airport"), "is not an airport of the catalog");
        }
        if h.room_types.is_empty() || h.room_types.len() > 50 {
            err(at("room_types"), "must list 1 to 50 room types");
        }
        let mut room_codes = HashSet::new();
        for (k, r) in h.room_types.iter().enumerate() {
            let at = |field: &str| format!("hotels[{i}].room_types[{k}].{field}");
            if !code_ok(&r.code, 20) {
                err(at("code"), "must be 1 to 20 letters, digits, '-' or '_'");
            } else if !room_codes.insert(r.code.as_str()) {
                err(at("code"), "is given to another room type of the hotel");
            }
            if r.name.trim().is_empty() || r.name.chars().count() > 100 {
                err(at("name"), "must be 1 to 100 characters");
            }
            if !(1..=16).contains(&r.max_guests) {
                err(at("max_guests"), "must be from 1 to 16");
            }
            if r.beds.len() > 10 || r.beds.iter().any(|b| b.trim().is_empty() || b.len() > 30) {
                err(at("beds"), "lists at most 10 beds of 1 to 30 characters");
            }
        }
        if h.rate_plans.is_empty() || h.rate_plans.len() > 20 {
            err(at("rate_plans"), "must list 1 to 20 rate plans");
        }
        let mut plan_codes = HashSet::new();
        for (k, p) in h.rate_plans.iter().enumerate() {
            let at = |field: &str| format!("hotels[{i}].rate_plans[{k}].{field}");
            if !code_ok(&p.code, 20) {
                err(at("code"), "must be 1 to 20 letters, digits, '-' or '_'");
            } else if !plan_codes.insert(p.code.as_str()) {
                err(at("code"), "is given to another rate plan of the hotel");
            }
            if p.name.trim().is_empty() || p.name.chars().count() > 100 {
                err(at("name"), "must be 1 to 100 characters");
            }
            match (p.refundable, p.free_cancellation_days) {
                (false, Some(_)) => {
                    err(at("free_cancellation_days"), "is for refundable plans only")
                }
                (true, Some(d)) if !(0..=365).contains(&d) => {
                    err(at("free_cancellation_days"), "must be from 0 to 365")
                }
                _ => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(file.hotels)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARIS: &str = r#"{"hotels": [{
        "code": "PARLUM", "name": "Hôtel Lumière",
        "address": {"line": "12 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"},
        "coordinates": {"latitude": 48.8606, "longitude": 2.3376},
        "stars": 4, "amenities": ["wifi", "bar"], "description": "By the Louvre.",
        "check_in": "14:00", "check_out": "12:00", "time_zone": "Europe/Paris", "airport": "CDG",
        "room_types": [{"code": "DBL", "name": "Double Room", "max_guests": 2, "beds": ["double"]}],
        "rate_plans": [
            {"code": "BB", "name": "Bed and breakfast", "board": "breakfast", "refundable": true, "free_cancellation_days": 1},
            {"code": "NRF", "name": "Non-refundable", "refundable": false}
        ]
    }]}"#;

    fn known(code: &str) -> bool {
        code == "CDG"
    }

    #[test]
    fn a_hotel_file_reads_with_its_rooms_and_plans() {
        let hotels = parse(PARIS, &known).expect("valid");
        assert_eq!(hotels[0].code, "PARLUM");
        assert_eq!(hotels[0].rate_plans[0].board, Board::Breakfast);
        assert_eq!(hotels[0].rate_plans[1].board, Board::RoomOnly);
        assert_eq!(hotels[0].check_in, "14:00");
    }

    #[test]
    fn every_problem_is_named_by_its_json_path() {
        let bad = PARIS
            .replace(r#""stars": 4"#, r#""stars": 6"#)
            .replace(
                r#""time_zone": "Europe/Paris""#,
                r#""time_zone": "Europe/Pariss""#,
            )
            .replace(r#""max_guests": 2"#, r#""max_guests": 0"#)
            .replace(
                r#""refundable": false}"#,
                r#""refundable": false, "free_cancellation_days": 3}"#,
            )
            .replace(r#""airport": "CDG""#, r#""airport": "XXX""#);
        let errors = parse(&bad, &known).expect_err("invalid");
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "hotels[0].stars",
                "hotels[0].time_zone",
                "hotels[0].airport",
                "hotels[0].room_types[0].max_guests",
                "hotels[0].rate_plans[1].free_cancellation_days",
            ]
        );
        let typed = parse(
            &PARIS.replace(r#""stars": 4"#, r#""stars": "four""#),
            &known,
        )
        .expect_err("type");
        assert_eq!(typed[0].path, "hotels[0].stars", "{typed:?}");
        let nowhere = parse(
            &PARIS.replace(r#""country": "FR""#, r#""country": "ZZ""#),
            &known,
        )
        .expect_err("no such country");
        assert_eq!(nowhere[0].path, "hotels[0].address.country", "{nowhere:?}");
        let unknown = parse(
            &PARIS.replace(r#""stars": 4"#, r#""stars": 4, "pool": true"#),
            &known,
        )
        .expect_err("unknown field");
        assert!(unknown[0].message.contains("pool"), "{unknown:?}");
        let twice = parse(
            &format!(r#"{{"hotels": [{0}, {0}]}}"#, &PARIS[12..PARIS.len() - 2]),
            &known,
        )
        .expect_err("twice");
        assert_eq!(twice[0].path, "hotels[1].code", "{twice:?}");
    }
}
