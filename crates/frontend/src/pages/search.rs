//! The search pages: the home page's forms and the flight and hotel results.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ota_contract::ProblemType;
use ota_platform::client::PeerError;

use super::common::{
    Params, all, field_errors, field_errors_at, layout, one, problem_type, query_string, redirect,
    refusal, render, today,
};
use super::errors::peer_failure;
use crate::Web;
use crate::clients::encode;
use crate::format;
use crate::session::Session;
use crate::views::{
    Choice, FieldError, FlightCard, FlightForm, FlightsPage, HomePage, HotelCard, HotelForm,
    HotelsPage, cabins,
};

/// Whether a search refused what the form sent (a parameter or a field it names), rather
/// than failing: the form is shown again with the errors at its fields.
fn refused_input(body: &serde_json::Value) -> bool {
    matches!(
        problem_type(body),
        Some(ProblemType::BadParameter | ProblemType::Validation)
    )
}

// ---------------------------------------------------------------------------------------
// Home

fn default_flight_form() -> FlightForm {
    let t = today();
    FlightForm {
        departure_date: (t + chrono::Duration::days(14)).to_string(),
        adults: "1".to_owned(),
        children: "0".to_owned(),
        infants: "0".to_owned(),
        cabin: "economy".to_owned(),
        today: t.to_string(),
        ..FlightForm::default()
    }
}

fn default_hotel_form() -> HotelForm {
    let t = today();
    HotelForm {
        check_in: (t + chrono::Duration::days(14)).to_string(),
        check_out: (t + chrono::Duration::days(17)).to_string(),
        guests: "2".to_owned(),
        rooms: "1".to_owned(),
        today: t.to_string(),
        ..HotelForm::default()
    }
}

pub(super) async fn home(session: Session) -> Response {
    render(
        &session,
        StatusCode::OK,
        &HomePage {
            layout: layout(&session, "Flights and hotels", "search"),
            flight: default_flight_form(),
            hotel: default_hotel_form(),
            cabins: cabins(),
            errors: Vec::new(),
        },
    )
}

// ---------------------------------------------------------------------------------------
// Flights

fn flight_field(field: &str) -> &'static str {
    match field {
        "origin" => "From",
        "destination" => "To",
        "departure_date" => "The departure date",
        "return_date" => "The return date",
        "adults" => "The number of adults",
        "children" => "The number of children",
        "infants" => "The number of infants",
        "cabin" => "The cabin",
        "max_stops" => "Stops",
        "sort" => "Sort",
        "carriers" => "Airlines",
        "departure_after" | "departure_before" => "The departure time",
        "max_price" => "The maximum price",
        "cursor" => "This results page",
        "city" => "The city",
        "check_in" => "Check-in",
        "check_out" => "Check-out",
        "guests" => "Guests",
        "rooms" => "Rooms",
        "stars" => "Stars",
        _ => "",
    }
}

/// The longest airport search search-service answers (`q`, in characters).
const AIRPORT_QUERY_MAX: usize = 60;

/// An airport as typed: a three-letter code as it is, or a city or name looked up.
/// Input the lookup refuses is the traveller's to correct, at the field.
async fn airport(
    web: &Web,
    typed: &str,
    notes: &mut Vec<String>,
) -> Result<Result<String, String>, PeerError> {
    if typed.len() == 3 && typed.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(Ok(typed.to_uppercase()));
    }
    if typed.is_empty() {
        return Ok(Err("is required".to_owned()));
    }
    if typed.chars().count() > AIRPORT_QUERY_MAX {
        return Ok(Err(format!(
            "must be at most {AIRPORT_QUERY_MAX} characters: type a city or an airport code"
        )));
    }
    let found = match web.api.airports(typed).await {
        Ok(found) => found,
        Err(e) => {
            return match refusal(&e) {
                Some((_, body)) if refused_input(body) => Ok(Err(field_errors(body, |_| "")
                    .first()
                    .map(|m| m.trim_end_matches('.').to_lowercase())
                    .unwrap_or_else(|| "is not a place we can search".to_owned()))),
                _ => Err(e),
            };
        }
    };
    Ok(match found.airports.first() {
        Some(a) => {
            notes.push(format!(
                "“{typed}”: showing {} ({}), {}.",
                a.name, a.iata, a.city
            ));
            Ok(a.iata.clone())
        }
        None => Err(format!("found no airport matching “{typed}”")),
    })
}

pub(super) async fn flights(
    State(web): State<Web>,
    mut session: Session,
    Query(p): Params,
) -> Response {
    let mut form = FlightForm {
        origin: one(&p, "origin"),
        destination: one(&p, "destination"),
        departure_date: one(&p, "departure_date"),
        return_date: one(&p, "return_date"),
        adults: one(&p, "adults"),
        children: one(&p, "children"),
        infants: one(&p, "infants"),
        cabin: one(&p, "cabin"),
        today: today().to_string(),
        errors: Vec::new(),
    };
    if form.origin.is_empty() && form.destination.is_empty() && form.departure_date.is_empty() {
        return redirect(&session, "/");
    }
    if form.adults.is_empty() {
        form.adults = "1".to_owned();
    }
    if form.children.is_empty() {
        form.children = "0".to_owned();
    }
    if form.infants.is_empty() {
        form.infants = "0".to_owned();
    }
    if form.cabin.is_empty() {
        form.cabin = "economy".to_owned();
    }
    let sort = match one(&p, "sort").as_str() {
        s @ ("duration" | "departure") => s.to_owned(),
        _ => "price".to_owned(),
    };
    let max_stops = match one(&p, "max_stops").as_str() {
        s @ ("0" | "2") => s.to_owned(),
        _ => "1".to_owned(),
    };
    let selected_carriers: Vec<String> = all(&p, "carriers")
        .into_iter()
        .flat_map(|c| {
            c.split(',')
                .map(|x| x.trim().to_uppercase())
                .collect::<Vec<_>>()
        })
        .filter(|c| (2..=3).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .take(20)
        .collect();
    let departure_after = one(&p, "departure_after");
    let departure_before = one(&p, "departure_before");
    let max_price = one(&p, "max_price");
    let cursor = one(&p, "cursor");

    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let here = format!("/flights?{}", uri_query(&p));
    let origin = match airport(&web, &form.origin, &mut notes).await {
        Ok(r) => r,
        Err(e) => return peer_failure(&mut session, &e, &here),
    };
    let destination = match airport(&web, &form.destination, &mut notes).await {
        Ok(r) => r,
        Err(e) => return peer_failure(&mut session, &e, &here),
    };
    let mut invalid: Vec<FieldError> = Vec::new();
    let origin = origin.unwrap_or_else(|m| {
        invalid.push(FieldError::new("origin", &format!("From {m}.")));
        String::new()
    });
    let destination = destination.unwrap_or_else(|m| {
        invalid.push(FieldError::new("destination", &format!("To {m}.")));
        String::new()
    });
    invalid.extend(passenger_errors(&form));
    errors.extend(invalid.iter().map(|e| e.message.clone()));
    form.errors = invalid;
    let max_price_minor = if max_price.is_empty() {
        String::new()
    } else {
        match format::parse_major(&max_price, "USD") {
            Some(v) if v > 0 => v.to_string(),
            _ => {
                errors.push("The maximum price must be a positive amount, such as 450.".to_owned());
                String::new()
            }
        }
    };
    if !origin.is_empty() {
        form.origin = origin.clone();
    }
    if !destination.is_empty() {
        form.destination = destination.clone();
    }
    let base: Vec<(&str, String)> = vec![
        ("origin", form.origin.clone()),
        ("destination", form.destination.clone()),
        ("departure_date", form.departure_date.clone()),
        ("return_date", form.return_date.clone()),
        ("adults", form.adults.clone()),
        ("children", form.children.clone()),
        ("infants", form.infants.clone()),
        ("cabin", form.cabin.clone()),
    ];
    let mut own: Vec<(&str, String)> = base.clone();
    own.push(("max_stops", max_stops.clone()));
    own.push(("sort", sort.clone()));
    for c in &selected_carriers {
        own.push(("carriers", c.clone()));
    }
    own.push(("departure_after", departure_after.clone()));
    own.push(("departure_before", departure_before.clone()));
    own.push(("max_price", max_price.clone()));
    let self_url = format!("/flights?{}", query_string(&own));
    let reset_url = format!("/flights?{}", query_string(&base));
    let back = if cursor.is_empty() {
        self_url.clone()
    } else {
        format!("{self_url}&cursor={}", encode(&cursor))
    };

    let mut offers = Vec::new();
    let mut next_url = None;
    let mut currency = "USD".to_owned();
    let mut carriers: Vec<Choice> = Vec::new();
    let mut status = StatusCode::OK;
    if errors.is_empty() {
        let api_query = query_string(&[
            ("origin", origin.clone()),
            ("destination", destination.clone()),
            ("departure_date", form.departure_date.clone()),
            ("return_date", form.return_date.clone()),
            ("adults", form.adults.clone()),
            ("children", form.children.clone()),
            ("infants", form.infants.clone()),
            ("cabin", form.cabin.clone()),
            ("max_stops", max_stops.clone()),
            ("sort", sort.clone()),
            ("carriers", selected_carriers.join(",")),
            ("departure_after", departure_after.clone()),
            ("departure_before", departure_before.clone()),
            ("max_price", max_price_minor),
            ("cursor", cursor.clone()),
            ("limit", "20".to_owned()),
        ]);
        match web.api.flights(&api_query).await {
            Ok(answer) => {
                if let Some(first) = answer.offers.first() {
                    currency = first.total.currency.clone();
                }
                for o in &answer.offers {
                    for s in &o.slices {
                        for seg in &s.segments {
                            if !carriers.iter().any(|c| c.value == seg.carrier) {
                                let name = if seg.carrier_name.is_empty() {
                                    seg.carrier.clone()
                                } else {
                                    format!("{} ({})", seg.carrier_name, seg.carrier)
                                };
                                carriers.push(Choice::new(&seg.carrier, &name, false));
                            }
                        }
                    }
                }
                offers = answer
                    .offers
                    .iter()
                    .map(|o| FlightCard::of(o, Some(&back)))
                    .collect();
                next_url = answer
                    .next_cursor
                    .map(|c| format!("{self_url}&cursor={}", encode(&c)));
            }
            Err(e) => match refusal(&e) {
                Some((_, body)) if refused_input(body) => {
                    errors = field_errors(body, flight_field);
                    form.errors = field_errors_at(body, flight_field, |f| {
                        FLIGHT_INPUTS.contains(&f).then(|| f.to_owned())
                    });
                    status = StatusCode::BAD_REQUEST;
                }
                _ => return peer_failure(&mut session, &e, &here),
            },
        }
    } else {
        status = StatusCode::BAD_REQUEST;
    }
    for c in &selected_carriers {
        if !carriers.iter().any(|x| &x.value == c) {
            carriers.push(Choice::new(c, c, true));
        }
    }
    for c in &mut carriers {
        c.checked = selected_carriers.contains(&c.value);
    }
    carriers.sort_by(|a, b| a.label.cmp(&b.label));
    let mut heading = format!(
        "{} → {}, {}",
        form.origin,
        form.destination,
        format::date(&form.departure_date)
    );
    if !form.return_date.is_empty() {
        heading.push_str(&format!(" – {}", format::date(&form.return_date)));
    }
    let sorts = [
        ("price", "Cheapest first"),
        ("duration", "Shortest first"),
        ("departure", "Earliest departure"),
    ]
    .into_iter()
    .map(|(v, l)| Choice::new(v, l, v == sort))
    .collect();
    let stop_choices = [
        ("0", "Nonstop only"),
        ("1", "Up to 1 stop"),
        ("2", "Up to 2 stops"),
    ]
    .into_iter()
    .map(|(v, l)| Choice::new(v, l, v == max_stops))
    .collect();
    render(
        &session,
        status,
        &FlightsPage {
            layout: layout(&session, &heading, "search"),
            heading,
            notes,
            errors,
            flight: form,
            cabins: cabins(),
            sorts,
            stop_choices,
            carriers,
            departure_after,
            departure_before,
            max_price,
            currency,
            reset_url,
            offers,
            first_url: (!cursor.is_empty()).then_some(self_url),
            next_url,
        },
    )
}

/// The flight form's inputs that an API error can be shown at.
const FLIGHT_INPUTS: [&str; 8] = [
    "origin",
    "destination",
    "departure_date",
    "return_date",
    "adults",
    "children",
    "infants",
    "cabin",
];

/// The passenger counts the form allows: 1 to 9 adults, adults and children together at
/// most 9, at most one infant (on a lap) per adult.
fn passenger_errors(form: &FlightForm) -> Vec<FieldError> {
    let count = |s: &str| s.parse::<u8>().ok();
    let mut out = Vec::new();
    let adults = count(&form.adults).filter(|n| (1..=9).contains(n));
    if adults.is_none() {
        out.push(FieldError::new(
            "adults",
            "The number of adults must be 1 to 9.",
        ));
    }
    let children = count(&form.children).filter(|n| *n <= 8);
    if children.is_none() {
        out.push(FieldError::new(
            "children",
            "The number of children must be 0 to 8.",
        ));
    }
    let infants = count(&form.infants).filter(|n| *n <= 9);
    if infants.is_none() {
        out.push(FieldError::new(
            "infants",
            "The number of infants must be 0 to 9.",
        ));
    }
    if let (Some(a), Some(c)) = (adults, children)
        && a + c > 9
    {
        out.push(FieldError::new(
            "children",
            "Adults and children together can be at most 9 (infants sit on a lap).",
        ));
    }
    if let (Some(a), Some(i)) = (adults, infants)
        && i > a
    {
        out.push(FieldError::new(
            "infants",
            "Each infant travels on an adult's lap: at most one infant per adult.",
        ));
    }
    out
}

fn uri_query(p: &[(String, String)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------------------
// Hotels

pub(super) async fn hotels(
    State(web): State<Web>,
    mut session: Session,
    Query(p): Params,
) -> Response {
    let mut form = HotelForm {
        city: one(&p, "city"),
        check_in: one(&p, "check_in"),
        check_out: one(&p, "check_out"),
        guests: one(&p, "guests"),
        rooms: one(&p, "rooms"),
        today: today().to_string(),
    };
    if form.city.is_empty() && form.check_in.is_empty() {
        return redirect(&session, "/");
    }
    if form.guests.is_empty() {
        form.guests = "2".to_owned();
    }
    if form.rooms.is_empty() {
        form.rooms = "1".to_owned();
    }
    let sort = if one(&p, "sort") == "stars" {
        "stars".to_owned()
    } else {
        "price".to_owned()
    };
    let selected_stars: Vec<String> = all(&p, "stars")
        .into_iter()
        .filter(|s| matches!(s.as_str(), "1" | "2" | "3" | "4" | "5"))
        .collect();
    let cursor = one(&p, "cursor");
    let base: Vec<(&str, String)> = vec![
        ("city", form.city.clone()),
        ("check_in", form.check_in.clone()),
        ("check_out", form.check_out.clone()),
        ("guests", form.guests.clone()),
        ("rooms", form.rooms.clone()),
    ];
    let mut own = base.clone();
    own.push(("sort", sort.clone()));
    for s in &selected_stars {
        own.push(("stars", s.clone()));
    }
    let self_url = format!("/hotels?{}", query_string(&own));
    let back = if cursor.is_empty() {
        self_url.clone()
    } else {
        format!("{self_url}&cursor={}", encode(&cursor))
    };
    let mut api = base.clone();
    api.push(("sort", sort.clone()));
    api.push(("stars", selected_stars.join(",")));
    api.push(("cursor", cursor.clone()));
    api.push(("limit", "20".to_owned()));
    let mut errors = Vec::new();
    let mut offers = Vec::new();
    let mut next_url = None;
    let mut status = StatusCode::OK;
    match web.api.hotels(&query_string(&api)).await {
        Ok(answer) => {
            offers = answer
                .offers
                .iter()
                .map(|h| HotelCard::of(h, Some(&back)))
                .collect();
            next_url = answer
                .next_cursor
                .map(|c| format!("{self_url}&cursor={}", encode(&c)));
        }
        Err(e) => match refusal(&e) {
            Some((_, body)) if refused_input(body) => {
                errors = field_errors(body, flight_field);
                status = StatusCode::BAD_REQUEST;
            }
            _ => return peer_failure(&mut session, &e, &back),
        },
    }
    let heading = format!(
        "Hotels in {}, {} – {}",
        form.city,
        format::date(&form.check_in),
        format::date(&form.check_out)
    );
    let sorts = [("price", "Cheapest first"), ("stars", "Most stars first")]
        .into_iter()
        .map(|(v, l)| Choice::new(v, l, v == sort))
        .collect();
    let stars = ["5", "4", "3", "2", "1"]
        .into_iter()
        .map(|v| {
            Choice::new(
                v,
                &format!("{v} star{}", if v == "1" { "" } else { "s" }),
                selected_stars.iter().any(|s| s == v),
            )
        })
        .collect();
    render(
        &session,
        status,
        &HotelsPage {
            layout: layout(&session, &heading, "search"),
            heading,
            errors,
            hotel: form,
            sorts,
            stars,
            offers,
            first_url: (!cursor.is_empty()).then_some(self_url),
            next_url,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::Layout;
    use askama::Template;

    #[test]
    fn problems_become_sentences_naming_the_form_field() {
        let body = serde_json::json!({"detail": "x", "errors": [
            {"field": "departure_date", "message": "is in the past"},
            {"field": "zzz", "message": "something odd"}
        ]});
        assert_eq!(
            field_errors(&body, flight_field),
            vec!["The departure date is in the past.", "Something odd."]
        );
        assert_eq!(
            field_errors(&serde_json::json!({"detail": "Nope."}), flight_field),
            vec!["Nope."]
        );
    }

    #[test]
    fn passenger_counts_are_checked_at_their_fields() {
        let form = |a: &str, c: &str, i: &str| FlightForm {
            adults: a.into(),
            children: c.into(),
            infants: i.into(),
            ..FlightForm::default()
        };
        assert!(passenger_errors(&form("2", "1", "2")).is_empty());
        let e = passenger_errors(&form("1", "0", "2"));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "infants");
        let e = passenger_errors(&form("5", "5", "0"));
        assert_eq!(e[0].field, "children");
        let e = passenger_errors(&form("0", "x", "0"));
        assert_eq!(
            e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            vec!["adults", "children"]
        );
        // Shown at the field, tied to it for screen readers.
        let mut f = form("1", "0", "2");
        f.errors = passenger_errors(&f);
        let html = HomePage {
            layout: Layout {
                title: "t".into(),
                user: None,
                csrf: "c".into(),
                section: "search",
            },
            flight: f,
            hotel: HotelForm::default(),
            cabins: cabins(),
            errors: Vec::new(),
        }
        .render()
        .expect("renders");
        assert!(
            html.contains(r#"aria-describedby="infants-hint infants-error" aria-invalid="true""#),
            "{html}"
        );
        assert!(html.contains(r#"id="infants-error">Each infant travels on an adult"#));
        assert!(html.contains(r#"<label for="children">"#));
    }
}
