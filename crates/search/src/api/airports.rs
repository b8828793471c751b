//! Airport autocomplete: `GET /api/v1/airports`.

use axum::extract::{Query, State};
use axum::response::Response;
use ota_contract::search::{AirportKind, AirportView, AirportsAnswer};
use ota_platform::Problem;

use super::SearchState;
use super::answers::{json_bytes, to_json};
use super::params::{Params, bad, number, required};
use crate::airports;
use crate::index::AirportInfo;

/// A suggestion as the API shows it; `None` for a metropolitan code without airports.
fn view(s: airports::Suggestion<'_>) -> Option<AirportView> {
    let view = |a: &AirportInfo| AirportView {
        iata: a.iata.clone(),
        name: a.name.clone(),
        city: a.city.clone(),
        country: a.country.clone(),
        time_zone: a.time_zone.clone(),
        kind: AirportKind::Airport,
        airports: Vec::new(),
    };
    Some(match s {
        airports::Suggestion::Airport(a) => view(a),
        airports::Suggestion::Metro { code, airports } => {
            let main = airports::main_airport(&airports)?;
            AirportView {
                iata: code.to_owned(),
                name: format!("{} (all airports)", main.city),
                kind: AirportKind::City,
                airports: airports.iter().map(|a| a.iata.clone()).collect(),
                ..view(main)
            }
        }
    })
}

/// Airport autocomplete by code, city or name; a city with several airports also comes
/// as one entry under its metropolitan code (`kind: "city"`).
#[utoipa::path(get, path = "/api/v1/airports", tag = "search",
    params(("q" = String, Query, description = "What the traveller typed"), ("limit" = Option<usize>, Query, description = "1 to 20 (default 8)")),
    responses(
        (status = 200, body = AirportsAnswer, description = "Up to `limit` airports and metropolitan codes, best match first; possibly none"),
        (status = 400, body = Problem, description = "`q` missing or longer than 60 characters, or `limit` not 1 to 20 (problem `bad-parameter`; `errors` names it)")))]
pub(super) async fn suggest_airports(
    State(state): State<SearchState>,
    Query(p): Params,
) -> Result<Response, Problem> {
    let q = required(&p, "q")?;
    if q.chars().count() > 60 {
        return Err(bad("q", "must be at most 60 characters"));
    }
    let limit = number(&p, "limit", 8usize, 1, 20)?;
    let answer = AirportsAnswer {
        airports: airports::suggest(&state.index.get(), q, limit)
            .into_iter()
            .filter_map(view)
            .collect(),
    };
    Ok(json_bytes(to_json(&answer)?))
}
