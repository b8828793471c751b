//! The web site's routes: one handler per page, each calling the public APIs and
//! rendering a template. Every POST carries the session's CSRF token; every refusal of
//! a peer becomes a page that says what happened and what to do next.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use chrono::{Datelike, NaiveDate, Utc};
use ota_platform::Problem;
use ota_platform::client::PeerError;
use serde::Deserialize;
use serde_json::Value;

use crate::Web;
use crate::clients::{
    CheckoutRequest, Contact, LoginRequest, NewCard, RegisterRequest, Traveller, encode,
};
use crate::format;
use crate::session::Session;
use crate::views::*;

/// Our pages load only our own stylesheet, script and icon, and post only to us.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/flights", get(flights))
        .route("/hotels", get(hotels))
        .route("/offers/{offer_id}", get(offer))
        .route("/cart", get(cart))
        // A form's address opened as a page (a bookmark, a reload) leads somewhere useful.
        .route("/cart/items", get(to_cart).post(add_to_cart))
        .route(
            "/cart/items/{item_id}/remove",
            get(to_cart).post(remove_from_cart),
        )
        .route("/checkout", get(checkout_form).post(checkout))
        .route("/bookings", get(bookings))
        .route("/bookings/{reference}", get(booking))
        .route(
            "/bookings/{reference}/cancel",
            get(cancel_quote).post(cancel),
        )
        .route("/register", get(register_form).post(register))
        .route("/login", get(login_form).post(login))
        .route("/logout", get(to_home).post(logout))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/static/icon.svg", get(icon))
        // Unknown pages get the styled 404; in all-in-one mode this also sees unknown
        // API paths, which keep their problem+json answer.
        .route("/{*path}", any(not_found))
        .layer(middleware::map_response(security_headers))
        .with_state(web)
}

/// The web site's own headers. The platform's defaults (a `default-src 'none'` CSP,
/// `no-referrer`) are only set where a response has none, so these win.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        // Pages show personal data (names, bookings, the cart): never cached.
        ("cache-control", "no-store"),
    ] {
        let name = HeaderName::from_static(name);
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    res
}

// ---------------------------------------------------------------------------------------
// Static assets, built into the binary.

const APP_CSS: &str = include_str!("../static/app.css");
const APP_JS: &str = include_str!("../static/app.js");
const ICON_SVG: &str = include_str!("../static/icon.svg");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Public, identical for everyone; an hour keeps a deploy's change visible soon.
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn icon() -> Response {
    asset("image/svg+xml", ICON_SVG)
}

// ---------------------------------------------------------------------------------------
// Answers

fn layout(session: &Session, title: &str, section: &'static str) -> Layout {
    Layout {
        title: title.to_owned(),
        user: session.user.as_ref().map(|u| {
            if u.name.is_empty() {
                u.email.clone()
            } else {
                u.name.clone()
            }
        }),
        csrf: session.csrf.clone(),
        section,
    }
}

fn with_cookies(session: &Session, mut res: Response) -> Response {
    for c in &session.set_cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

fn render<T: Template>(session: &Session, status: StatusCode, page: &T) -> Response {
    let res = match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!doctype html><title>Error · OTA Travel</title><h1>Something went wrong</h1><p><a href=\"/\">Start again</a></p>",
            )
                .into_response()
        }
    };
    with_cookies(session, res)
}

/// 303: after a POST the browser GETs the next page, so a reload never posts twice.
fn redirect(session: &Session, to: &str) -> Response {
    let res = match HeaderValue::from_str(to) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static("/"))],
        )
            .into_response(),
    };
    with_cookies(session, res)
}

fn message(
    session: &Session,
    status: StatusCode,
    heading: &str,
    text: &str,
    actions: Vec<Action>,
) -> Response {
    let tone = if status.is_success() { "info" } else { "error" };
    render(
        session,
        status,
        &MessagePage {
            layout: layout(session, heading, ""),
            tone,
            heading: heading.to_owned(),
            message: text.to_owned(),
            actions,
        },
    )
}

fn forbidden(session: &Session) -> Response {
    message(
        session,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "For your security we could not accept this form: it was opened in another session or has expired. Go back, reload the page and try again.",
        vec![Action::new("Back to the home page", "/")],
    )
}

fn page_not_found(session: &Session) -> Response {
    message(
        session,
        StatusCode::NOT_FOUND,
        "Page not found",
        "We could not find that page. It may have moved, or the link may be mistyped.",
        vec![
            Action::new("Search flights and hotels", "/"),
            Action::new("My bookings", "/bookings"),
        ],
    )
}

async fn to_cart(session: Session) -> Response {
    redirect(&session, "/cart")
}

async fn to_home(session: Session) -> Response {
    redirect(&session, "/")
}

async fn not_found(session: Session, uri: Uri) -> Response {
    let path = uri.path();
    if ["/api/", "/internal/", "/actuator"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        return Problem::not_found("No such resource.").into_response();
    }
    page_not_found(&session)
}

/// A refusal or failure of a peer, as a page. 401 means the session is no longer valid:
/// the browser is signed out and sent to log in again.
fn peer_failure(session: &mut Session, e: &PeerError, next: &str) -> Response {
    match e {
        PeerError::Status { status: 401, .. } => {
            session.sign_out();
            redirect(
                session,
                &format!("/login?next={}&reason=expired", encode(next)),
            )
        }
        PeerError::Unavailable { .. } | PeerError::Status { status: 503, .. } => {
            tracing::warn!(error = %e, "a peer service is unavailable");
            let mut res = message(
                session,
                StatusCode::SERVICE_UNAVAILABLE,
                "We are having a short break",
                "Part of OTA Travel is not answering right now. Nothing has been charged. Please try again in a minute.",
                vec![Action::new("Try again", next), Action::new("Home", "/")],
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            res
        }
        PeerError::Status { status: 429, .. } => message(
            session,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Please wait a few minutes before trying again.",
            vec![Action::new("Home", "/")],
        ),
        other => {
            tracing::error!(error = %other, "a peer service answered unexpectedly");
            message(
                session,
                StatusCode::BAD_GATEWAY,
                "Something went wrong",
                "We could not complete that just now. It has been logged; please try again.",
                vec![Action::new("Try again", next), Action::new("Home", "/")],
            )
        }
    }
}

/// The body of a peer's problem answer, when it refused with one.
fn refusal(e: &PeerError) -> Option<(u16, &Value)> {
    match e {
        PeerError::Status { status, body, .. } if *status != 401 && *status != 503 => {
            Some((*status, body))
        }
        _ => None,
    }
}

fn problem_type(body: &Value) -> &str {
    body.get("type")
        .and_then(Value::as_str)
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
}

fn detail(body: &Value) -> String {
    body.get("detail")
        .and_then(Value::as_str)
        .unwrap_or("The request was refused.")
        .to_owned()
}

/// A problem's field errors as sentences, each field named as the form names it.
fn field_errors(body: &Value, label: impl Fn(&str) -> &'static str) -> Vec<String> {
    let listed: Vec<String> = body
        .get("errors")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|e| {
                    let field = e.get("field")?.as_str()?;
                    let text = e.get("message")?.as_str()?;
                    let name = label(field);
                    Some(if name.is_empty() {
                        capitalise(text)
                    } else {
                        format!("{name} {text}.")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if listed.is_empty() {
        vec![detail(body)]
    } else {
        listed
    }
}

/// A problem's field errors placed at the form's inputs: `input` names the input an API
/// field is shown at (None: in the summary only). Sentences as `field_errors` makes them.
fn field_errors_at(
    body: &Value,
    label: impl Fn(&str) -> &'static str,
    input: impl Fn(&str) -> Option<String>,
) -> Vec<FieldError> {
    body.get("errors")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|e| {
                    let field = e.get("field")?.as_str()?;
                    let text = e.get("message")?.as_str()?;
                    let at = input(field)?;
                    let name = label(field);
                    Some(FieldError::new(
                        &at,
                        &if name.is_empty() {
                            capitalise(text)
                        } else {
                            format!("{name} {text}.")
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Where to send the browser back to: a path on this site, never another site.
fn local_path(s: &str, fallback: &str) -> String {
    let ok = s.starts_with('/')
        && !s.starts_with("//")
        && !s.contains('\\')
        && s.len() <= 2000
        && s.bytes().all(|b| (0x21..0x7f).contains(&b));
    if ok {
        s.to_owned()
    } else {
        fallback.to_owned()
    }
}

/// Offer ids are `kid.payload.mac` in URL-safe base64; anything else is not an offer.
fn well_formed_offer(id: &str) -> bool {
    id.len() <= 2048
        && id.split('.').count() == 3
        && id.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn well_formed_reference(r: &str) -> bool {
    (4..=16).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The signed-in user's access token, or a redirect to log in and come back.
fn signed_in(session: &Session, next: &str) -> Result<String, Response> {
    match &session.user {
        Some(u) => Ok(u.access_token.clone()),
        None => Err(redirect(session, &format!("/login?next={}", encode(next)))),
    }
}

type Params = Query<Vec<(String, String)>>;

/// The last value of a parameter, trimmed.
fn one(p: &[(String, String)], name: &str) -> String {
    p.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// Every non-empty value of a repeated parameter (checkboxes).
fn all(p: &[(String, String)], name: &str) -> Vec<String> {
    p.iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
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

async fn home(session: Session) -> Response {
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
                Some((400 | 422, body)) => Ok(Err(field_errors(body, |_| "")
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

async fn flights(State(web): State<Web>, mut session: Session, Query(p): Params) -> Response {
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
                Some((400 | 422, body)) => {
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

async fn hotels(State(web): State<Web>, mut session: Session, Query(p): Params) -> Response {
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
            Some((400 | 422, body)) => {
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

// ---------------------------------------------------------------------------------------
// Offer

#[derive(Deserialize, Default)]
struct BackQuery {
    #[serde(default)]
    back: String,
}

fn search_back(back: &str) -> String {
    let b = local_path(back, "/");
    if b.starts_with("/flights?") || b.starts_with("/hotels?") {
        b
    } else {
        "/".to_owned()
    }
}

fn expired_offer(session: &Session, back: &str) -> Response {
    message(
        session,
        StatusCode::GONE,
        "This offer has expired",
        "Prices are guaranteed for 20 minutes. Search again to see current prices and availability.",
        vec![
            Action::new("Search again", back),
            Action::new("New search", "/"),
        ],
    )
}

fn sold_out(session: &Session, back: &str) -> Response {
    message(
        session,
        StatusCode::CONFLICT,
        "Sold out",
        "Sorry, there are no longer enough seats or rooms at this price. Search again for other options.",
        vec![
            Action::new("Search again", back),
            Action::new("New search", "/"),
        ],
    )
}

async fn offer(
    State(web): State<Web>,
    mut session: Session,
    Path(offer_id): Path<String>,
    Query(q): Query<BackQuery>,
) -> Response {
    if !well_formed_offer(&offer_id) {
        return page_not_found(&session);
    }
    let back = search_back(&q.back);
    let here = format!("/offers/{}?back={}", encode(&offer_id), encode(&back));
    let found = match web.api.offer(&offer_id).await {
        Ok(o) => o,
        Err(e) => {
            return match refusal(&e) {
                Some((410, _)) => expired_offer(&session, &back),
                Some((409, _)) => sold_out(&session, &back),
                Some((400 | 404 | 422, _)) => page_not_found(&session),
                _ => peer_failure(&mut session, &e, &here),
            };
        }
    };
    let (heading, flight, hotel, expires, rules) = match found {
        crate::clients::AnyOffer::Flight(o) => {
            let card = FlightCard::of(&o, None);
            let heading = o.slices.first().map_or_else(
                || "Your flight".to_owned(),
                |s| {
                    let last = o.slices.last().map_or(&s.destination, |l| &l.destination);
                    if o.slices.len() > 1 {
                        format!("{} ⇄ {}", s.origin, s.destination)
                    } else {
                        format!("{} → {}", s.origin, last)
                    }
                },
            );
            let rules = o
                .fare_rules
                .as_ref()
                .map(|r| r.description.clone())
                .unwrap_or_default();
            (heading, Some(card), None, o.expires_at.clone(), rules)
        }
        crate::clients::AnyOffer::Hotel(h) => {
            let card = HotelCard::of(&h, None);
            let rules = h
                .cancellation_policy
                .as_ref()
                .map(|p| p.description.clone())
                .unwrap_or_default();
            (
                h.hotel.name.clone(),
                None,
                Some(card),
                h.expires_at.clone(),
                rules,
            )
        }
    };
    let valid_until = format::until(&expires);
    render(
        &session,
        StatusCode::OK,
        &OfferPage {
            layout: layout(&session, &heading, "search"),
            heading,
            offer_id,
            flight,
            hotel,
            valid_until: if valid_until.is_empty() {
                "for a limited time".to_owned()
            } else {
                format!("until {valid_until}")
            },
            rules,
            back,
        },
    )
}

// ---------------------------------------------------------------------------------------
// Cart

#[derive(Deserialize, Default)]
struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    offer_id: String,
    #[serde(default)]
    back: String,
}

async fn add_to_cart(
    State(web): State<Web>,
    mut session: Session,
    Form(f): Form<AddForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    if !well_formed_offer(&f.offer_id) {
        return page_not_found(&session);
    }
    let back = search_back(&f.back);
    let Some(user) = session.user.clone() else {
        return redirect(
            &session,
            &format!(
                "/login?add={}&back={}&reason=cart",
                encode(&f.offer_id),
                encode(&back)
            ),
        );
    };
    add_offer(&web, &mut session, &user.access_token, &f.offer_id, &back).await
}

/// Adds an offer to the cart and shows the cart, or says why it could not be added.
async fn add_offer(
    web: &Web,
    session: &mut Session,
    token: &str,
    offer_id: &str,
    back: &str,
) -> Response {
    match web.api.add_to_cart(token, offer_id).await {
        Ok(_) => redirect(session, "/cart?added=1"),
        Err(e) => match refusal(&e) {
            Some((410, _)) => expired_offer(session, back),
            Some((409, body)) if problem_type(body) == "already-in-cart" => {
                redirect(session, "/cart")
            }
            Some((409, _)) => sold_out(session, back),
            Some((_, body)) => message(
                session,
                StatusCode::UNPROCESSABLE_ENTITY,
                "We could not add this to your cart",
                &field_errors(body, |_| "").join(" "),
                vec![
                    Action::new("See your cart", "/cart"),
                    Action::new("Back to results", back),
                ],
            ),
            None => peer_failure(session, &e, back),
        },
    }
}

#[derive(Deserialize, Default)]
struct CartQuery {
    #[serde(default)]
    added: Option<String>,
    #[serde(default)]
    removed: Option<String>,
}

async fn cart(
    State(web): State<Web>,
    mut session: Session,
    Query(q): Query<CartQuery>,
) -> Response {
    let token = match signed_in(&session, "/cart") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let cart = match web.api.cart(&token).await {
        Ok(c) => c,
        Err(e) => return peer_failure(&mut session, &e, "/cart"),
    };
    let mut notes = Vec::new();
    if q.added.is_some() {
        notes.push("Added to your cart.".to_owned());
    }
    if q.removed.is_some() {
        notes.push("Removed from your cart.".to_owned());
    }
    let items: Vec<CartRow> = cart.items.iter().map(CartRow::of).collect();
    render(
        &session,
        StatusCode::OK,
        &CartPage {
            layout: layout(&session, "Your cart", "cart"),
            notes,
            any_expired: items.iter().any(|i| i.expired),
            items,
            total: format::money(&cart.total),
        },
    )
}

#[derive(Deserialize, Default)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn remove_from_cart(
    State(web): State<Web>,
    mut session: Session,
    Path(item_id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    let token = match signed_in(&session, "/cart") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Ok(item_id) = item_id.parse::<uuid::Uuid>() else {
        return page_not_found(&session);
    };
    match web.api.remove_from_cart(&token, item_id).await {
        // Already gone is what the traveller wanted.
        Ok(()) | Err(PeerError::Status { status: 404, .. }) => {
            redirect(&session, "/cart?removed=1")
        }
        Err(e) => peer_failure(&mut session, &e, "/cart"),
    }
}

// ---------------------------------------------------------------------------------------
// Checkout

/// What the traveller typed into the checkout form (never the card: it is not shown
/// again, and never kept).
#[derive(Default)]
struct CheckoutFields {
    travellers: Vec<TravellerFields>,
    email: String,
    holder: String,
}

/// Who the cart's items need named at checkout: one traveller per passenger of its
/// flights (adults, then children, then infants), or the lead guest of a hotel stay.
fn traveller_kinds(items: &[crate::clients::CartItem]) -> Vec<TravellerKind> {
    let mut need = crate::clients::Passengers::default();
    let mut any_flight = false;
    for p in items.iter().filter(|i| i.kind == "flight").map(|i| {
        i.passengers
            .unwrap_or(crate::clients::Passengers::adults(1))
    }) {
        any_flight = true;
        need.adults = need.adults.max(p.adults);
        need.children = need.children.max(p.children);
        need.infants = need.infants.max(p.infants);
    }
    if !any_flight || need.total() == 0 {
        return vec![TravellerKind::Guest];
    }
    need.adults = need.adults.clamp(1, 9);
    need.children = need.children.min(8);
    need.infants = need.infants.min(9);
    TravellerKind::list(&need)
}

/// The most travellers a checkout form can name (9 seats and an infant per adult).
const MAX_TRAVELLERS: usize = 18;

/// An error at checkout, placed where the traveller sees it: the traveller fields, a
/// field of the form, and always the summary at the top.
#[derive(Default)]
struct CheckoutErrors {
    summary: Vec<String>,
    fields: Vec<FieldError>,
    /// (traveller index, `first_name` | `last_name` | `date_of_birth`, message).
    travellers: Vec<(usize, &'static str, String)>,
}

impl CheckoutErrors {
    fn is_empty(&self) -> bool {
        self.summary.is_empty()
    }

    fn field(&mut self, field: &str, message: &str) {
        self.summary.push(message.to_owned());
        self.fields.push(FieldError::new(field, message));
    }

    fn traveller(&mut self, t: &TravellerFields, part: &'static str, message: &str) {
        self.summary.push(format!("{}: {message}", t.name()));
        self.travellers
            .push((t.i, part, capitalise_sentence(message)));
    }
}

fn capitalise_sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `travellers[2].date_of_birth` as (2, "date_of_birth").
fn traveller_field(field: &str) -> Option<(usize, &'static str)> {
    let rest = field.strip_prefix("travellers[")?;
    let (index, part) = rest.split_once("].")?;
    let index: usize = index.parse().ok()?;
    let part = match part {
        "first_name" => "first_name",
        "last_name" => "last_name",
        "date_of_birth" => "date_of_birth",
        _ => return None,
    };
    Some((index, part))
}

/// A 422 from payment-service or booking-service, placed at the form's fields.
fn checkout_problem_errors(body: &Value, travellers: &[TravellerFields]) -> CheckoutErrors {
    let mut out = CheckoutErrors::default();
    let listed = body
        .get("errors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for e in &listed {
        let (Some(field), Some(text)) = (
            e.get("field").and_then(Value::as_str),
            e.get("message").and_then(Value::as_str),
        ) else {
            continue;
        };
        if let Some((i, part)) = traveller_field(field)
            && let Some(t) = travellers.get(i)
        {
            let what = match part {
                "first_name" => "first name",
                "last_name" => "last name",
                _ => "date of birth",
            };
            out.traveller(t, part, &format!("the {what} {text}."));
            continue;
        }
        let input = match field {
            "travellers" => Some("travellers"),
            "contact.email" => Some("email"),
            "card.number" => Some("card_number"),
            "card.exp_month" | "card.exp_year" => Some("card_expiry"),
            "card.cvc" => Some("card_cvc"),
            "card.holder_name" => Some("card_holder"),
            _ => None,
        };
        let name = card_field(field);
        // "Travellers must include…", but a message that is a sentence of its own
        // ("the flight in your cart is for…") reads as one.
        let own_sentence = field == "travellers"
            && !["must ", "need ", "needs ", "are ", "is "]
                .iter()
                .any(|verb| text.starts_with(verb));
        let sentence = if name.is_empty() || own_sentence {
            capitalise(text)
        } else {
            format!("{name} {text}.")
        };
        match input {
            Some(input) => out.field(input, &sentence),
            None => out.summary.push(sentence),
        }
    }
    if out.summary.is_empty() {
        out.summary.push(detail(body));
    }
    out
}

/// The checkout page for the current cart, or the cart page when it cannot be checked
/// out. A fresh idempotency key per render: every send of this form is the same
/// checkout, a new attempt after a refusal is a new one.
async fn checkout_page(
    web: &Web,
    session: &mut Session,
    token: &str,
    status: StatusCode,
    fields: Option<CheckoutFields>,
    errors: CheckoutErrors,
    alert: Option<CheckoutAlert>,
) -> Response {
    let cart = match web.api.cart(token).await {
        Ok(c) => c,
        Err(e) => return peer_failure(session, &e, "/checkout"),
    };
    if cart.items.is_empty() || cart.items.iter().any(|i| i.expired) {
        return redirect(session, "/cart");
    }
    let kinds = traveller_kinds(&cart.items);
    let user = session.user.clone();
    let mut fields = fields.unwrap_or_else(|| CheckoutFields {
        travellers: Vec::new(),
        email: user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        holder: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
    });
    fields.travellers.truncate(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        match fields.travellers.get_mut(i) {
            Some(t) => t.kind = *kind,
            None => fields.travellers.push(TravellerFields::new(i, *kind)),
        }
    }
    for (i, part, message) in errors.travellers {
        if let Some(t) = fields.travellers.get_mut(i) {
            match part {
                "first_name" => t.first_error = message,
                "last_name" => t.last_error = message,
                _ => t.dob_error = message,
            }
        }
    }
    render(
        session,
        status,
        &CheckoutPage {
            layout: layout(session, "Checkout", "cart"),
            items: cart.items.iter().map(CartRow::of).collect(),
            total: format::money(&cart.total),
            travellers: fields.travellers,
            email: fields.email,
            holder: fields.holder,
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            today: today().to_string(),
            errors: errors.summary,
            field_errors: errors.fields,
            alert,
        },
    )
}

async fn checkout_form(State(web): State<Web>, mut session: Session) -> Response {
    let token = match signed_in(&session, "/checkout") {
        Ok(t) => t,
        Err(r) => return r,
    };
    checkout_page(
        &web,
        &mut session,
        &token,
        StatusCode::OK,
        None,
        CheckoutErrors::default(),
        None,
    )
    .await
}

/// "MM/YY" or "MM/YYYY" as (month, four-digit year).
fn expiry(s: &str) -> Option<(u32, u32)> {
    let (m, y) = s.trim().split_once('/')?;
    let month: u32 = m.trim().parse().ok().filter(|m| (1..=12).contains(m))?;
    let y = y.trim();
    let year: u32 = match y.len() {
        2 => 2000 + y.parse::<u32>().ok()?,
        4 => y.parse().ok()?,
        _ => return None,
    };
    Some((month, year))
}

fn card_field(field: &str) -> &'static str {
    match field {
        "card.number" => "The card number",
        "card.exp_month" | "card.exp_year" => "The expiry date",
        "card.cvc" => "The security code",
        "card.holder_name" => "The name on the card",
        "travellers" => "Travellers",
        "contact.email" => "The e-mail address",
        f if f.contains("first_name") => "A traveller's first name",
        f if f.contains("last_name") => "A traveller's last name",
        f if f.contains("date_of_birth") => "A traveller's date of birth",
        _ => "",
    }
}

fn decline_text(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => "The card has insufficient funds.",
        "expired_card" => "The card has expired.",
        "incorrect_cvc" => "The security code (CVC) is incorrect.",
        _ => "Your bank declined the payment.",
    }
}

/// What a refused checkout means for the traveller, read from the problem's `type`
/// (never from its wording).
#[derive(Debug, PartialEq, Eq)]
enum CheckoutRefusal {
    /// 402 `payment-declined`: the card provider refused the card.
    Declined {
        decline_code: String,
    },
    /// 409 `cart-taken`: another send of this checkout (a second tab, a second click)
    /// booked the cart.
    CartTaken {
        reference: String,
    },
    /// 503 `unavailable` or `timeout` after the booking was started: it settles later.
    Settling {
        reference: String,
    },
    /// 503 `payment-unavailable`: the payment never went through; the booking failed.
    PaymentUnavailable,
    /// 409 `in-progress`: this very form's first send is still running.
    InProgress,
    /// 422 `idempotency-mismatch`: this form's key was used with another request.
    AlreadySent,
    SoldOut,
    OfferExpired,
    Throttled,
    /// 400/422 naming fields.
    Invalid,
    /// 409 `checkout-failed` and other settled failures: nothing was charged.
    Failed,
    /// A peer is down before any booking was made (no reference).
    Unavailable,
    /// The session ended.
    SignedOut,
    /// Anything else (an answer we could not read): the outcome is unknown.
    Unknown,
}

fn reference_in(body: &Value) -> Option<String> {
    body.get("reference")
        .and_then(Value::as_str)
        .filter(|r| well_formed_reference(r))
        .map(str::to_owned)
}

fn checkout_refusal(e: &PeerError) -> CheckoutRefusal {
    let PeerError::Status { status, body, .. } = e else {
        return match e {
            PeerError::Unavailable { .. } => CheckoutRefusal::Unknown,
            _ => CheckoutRefusal::Unknown,
        };
    };
    if *status == 401 {
        return CheckoutRefusal::SignedOut;
    }
    let idempotency_field = || {
        body.get("errors")
            .and_then(Value::as_array)
            .is_some_and(|all| {
                all.iter().any(|e| {
                    e.get("field")
                        .and_then(Value::as_str)
                        .is_some_and(|f| f.eq_ignore_ascii_case("idempotency-key"))
                })
            })
    };
    match problem_type(body) {
        "payment-declined" => CheckoutRefusal::Declined {
            decline_code: body
                .get("decline_code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        },
        "cart-taken" => match reference_in(body) {
            Some(reference) => CheckoutRefusal::CartTaken { reference },
            None => CheckoutRefusal::AlreadySent,
        },
        "unavailable" | "timeout" => match reference_in(body) {
            Some(reference) => CheckoutRefusal::Settling { reference },
            // Refused before a booking existed: nothing was booked or charged.
            None => CheckoutRefusal::Unavailable,
        },
        "payment-unavailable" => CheckoutRefusal::PaymentUnavailable,
        // `conflict` is what a still-running key answered before it had its own type.
        "in-progress" | "conflict" => CheckoutRefusal::InProgress,
        "idempotency-mismatch" => CheckoutRefusal::AlreadySent,
        "sold-out" => CheckoutRefusal::SoldOut,
        "offer-expired" => CheckoutRefusal::OfferExpired,
        "throttled" | "rate-limited" => CheckoutRefusal::Throttled,
        "validation" | "bad-parameter" if idempotency_field() => CheckoutRefusal::AlreadySent,
        "validation" | "bad-parameter" => CheckoutRefusal::Invalid,
        "checkout-failed" => CheckoutRefusal::Failed,
        _ => CheckoutRefusal::Unknown,
    }
}

/// Cards stored for a checkout form, by the form's idempotency key: every send of one
/// form pays with the same stored card, so its request is the same and booking-service
/// answers it as one checkout. Sends that arrive together wait for the first to store
/// the card. Kept for the life of a form (30 minutes), in this process.
#[derive(Default)]
pub struct FormCards {
    cards: tokio::sync::Mutex<std::collections::HashMap<String, FormCard>>,
}

struct FormCard {
    since: std::time::Instant,
    id: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

const FORM_CARD_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);
const FORM_CARDS_MAX: usize = 10_000;

impl FormCards {
    /// The card stored for this form, storing it with `store` on the form's first send.
    pub async fn card_for<F, Fut>(&self, form: &str, store: F) -> Result<String, PeerError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<String, PeerError>>,
    {
        let cell = {
            let mut cards = self.cards.lock().await;
            if cards.len() >= FORM_CARDS_MAX {
                cards.retain(|_, c| c.since.elapsed() < FORM_CARD_TTL);
                if cards.len() >= FORM_CARDS_MAX {
                    cards.clear();
                }
            }
            cards
                .entry(form.to_owned())
                .or_insert_with(|| FormCard {
                    since: std::time::Instant::now(),
                    id: std::sync::Arc::default(),
                })
                .id
                .clone()
        };
        cell.get_or_try_init(store).await.cloned()
    }
}

/// How long a send waits for the first send of the same form to finish.
const SAME_FORM_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

async fn checkout(
    State(web): State<Web>,
    mut session: Session,
    Form(p): Form<Vec<(String, String)>>,
) -> Response {
    if !session.csrf_ok(&one(&p, "csrf")) {
        return forbidden(&session);
    }
    let token = match signed_in(&session, "/checkout") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let key = one(&p, "idempotency_key");
    let key_ok = key.parse::<uuid::Uuid>().is_ok();
    let count = one(&p, "travellers")
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, MAX_TRAVELLERS);
    let mut errors = CheckoutErrors::default();
    let travellers: Vec<TravellerFields> = (0..count)
        .map(|i| {
            let kind = TravellerKind::from_code(&one(&p, &format!("kind_{i}")));
            let mut t = TravellerFields::new(i, kind);
            t.first = one(&p, &format!("first_name_{i}"));
            t.last = one(&p, &format!("last_name_{i}"));
            t.dob = one(&p, &format!("date_of_birth_{i}"));
            t
        })
        .collect();
    for t in &travellers {
        if t.first.is_empty() {
            errors.traveller(t, "first_name", "enter the first name.");
        }
        if t.last.is_empty() {
            errors.traveller(t, "last_name", "enter the last name.");
        }
        match NaiveDate::parse_from_str(&t.dob, "%Y-%m-%d") {
            Ok(d) if d < today() && d.year() > 1900 => {}
            _ => errors.traveller(t, "date_of_birth", "enter a date of birth in the past."),
        }
    }
    let email = one(&p, "email");
    if !email.contains('@') || email.len() > 254 {
        errors.field("email", "Enter a contact e-mail address.");
    }
    let number: String = one(&p, "card_number")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        errors.field("card_number", "The card number must be 12 to 19 digits.");
    }
    let exp = expiry(&one(&p, "card_expiry"));
    if exp.is_none() {
        errors.field("card_expiry", "Enter the card's expiry date as MM/YY.");
    }
    let cvc = one(&p, "card_cvc");
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        errors.field(
            "card_cvc",
            "The security code is the 3 or 4 digits on the card.",
        );
    }
    let holder = one(&p, "card_holder");
    if holder.is_empty() {
        errors.field("card_holder", "Enter the name on the card.");
    }
    // The kinds as the form was rendered; the page labels them from the cart again.
    let fields = CheckoutFields {
        travellers,
        email: email.clone(),
        holder: holder.clone(),
    };
    if !key_ok {
        // Not a form we rendered; a new render gives it a key.
        errors
            .summary
            .push("Please submit the checkout form again.".to_owned());
    }
    let (Some((exp_month, exp_year)), true) = (exp, errors.is_empty()) else {
        return checkout_page(
            &web,
            &mut session,
            &token,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(fields),
            errors,
            None,
        )
        .await;
    };
    let card = NewCard {
        number,
        exp_month,
        exp_year,
        cvc,
        holder_name: holder,
    };
    let method = web
        .form_cards
        .card_for(&format!("{}:{key}", email_of(&session)), || async {
            web.api.add_card(&token, &card).await.map(|m| m.id)
        })
        .await;
    let method = match method {
        Ok(m) => m,
        Err(e) => {
            return match refusal(&e) {
                Some((400 | 422, body)) => {
                    let errors = checkout_problem_errors(body, &fields.travellers);
                    checkout_page(
                        &web,
                        &mut session,
                        &token,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(fields),
                        errors,
                        None,
                    )
                    .await
                }
                _ => peer_failure(&mut session, &e, "/checkout"),
            };
        }
    };
    let body = CheckoutRequest {
        travellers: fields
            .travellers
            .iter()
            .map(|t| Traveller {
                first_name: t.first.clone(),
                last_name: t.last.clone(),
                date_of_birth: t.dob.clone(),
            })
            .collect(),
        contact: Contact { email },
        payment_method_id: method,
    };
    // A send of a form whose first send is still running waits for its outcome.
    let started = std::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(250);
    let answer = loop {
        let answer = web.api.checkout(&token, &key, &body).await;
        match &answer {
            Err(e)
                if checkout_refusal(e) == CheckoutRefusal::InProgress
                    && started.elapsed() + delay < SAME_FORM_WAIT =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
            _ => break answer,
        }
    };
    let e = match answer {
        Ok(b) => {
            return redirect(
                &session,
                &format!("/bookings/{}?confirmed=1", encode(&b.reference)),
            );
        }
        Err(e) => e,
    };
    let refusal = checkout_refusal(&e);
    match refusal {
        CheckoutRefusal::Declined { decline_code } => {
            let alert = CheckoutAlert {
                heading: "Payment declined".to_owned(),
                text: format!(
                    "{} Nothing was charged. Check the details or use another card.",
                    decline_text(&decline_code)
                ),
            };
            checkout_page(
                &web,
                &mut session,
                &token,
                StatusCode::PAYMENT_REQUIRED,
                Some(fields),
                CheckoutErrors::default(),
                Some(alert),
            )
            .await
        }
        CheckoutRefusal::PaymentUnavailable => {
            let alert = CheckoutAlert {
                heading: "The payment service was unavailable".to_owned(),
                text: "We could not reach the payment service, so this booking did not go through and nothing was charged. Please try again.".to_owned(),
            };
            checkout_page(
                &web,
                &mut session,
                &token,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(fields),
                CheckoutErrors::default(),
                Some(alert),
            )
            .await
        }
        CheckoutRefusal::Invalid => {
            let errors = match &e {
                PeerError::Status { body, .. } => checkout_problem_errors(body, &fields.travellers),
                _ => CheckoutErrors::default(),
            };
            checkout_page(
                &web,
                &mut session,
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(fields),
                errors,
                None,
            )
            .await
        }
        CheckoutRefusal::CartTaken { reference } => redirect(
            &session,
            &format!("/bookings/{}?confirmed=1", encode(&reference)),
        ),
        CheckoutRefusal::SignedOut => peer_failure(&mut session, &e, "/checkout"),
        other => {
            let (status, heading, text, actions) = refusal_message(&other);
            let mut res = message(&session, status, &heading, &text, actions);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            if other == CheckoutRefusal::Unknown {
                tracing::warn!(error = %e, "a checkout's outcome is unknown");
            }
            res
        }
    }
}

fn email_of(session: &Session) -> String {
    session
        .user
        .as_ref()
        .map(|u| u.email.clone())
        .unwrap_or_default()
}

/// The page for a refused checkout that is not shown on the form itself.
fn refusal_message(r: &CheckoutRefusal) -> (StatusCode, String, String, Vec<Action>) {
    let bookings = || Action::new("My bookings", "/bookings");
    let cart = || Action::new("Back to your cart", "/cart");
    match r {
        CheckoutRefusal::Settling { reference } => {
            let here = format!("/bookings/{reference}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not reach the payment service".to_owned(),
                format!(
                    "Your booking {reference} is being settled: it will be confirmed or undone shortly, and nothing is charged twice. Check its status in a moment."
                ),
                vec![Action::new(&format!("Check booking {reference}"), &here), bookings()],
            )
        }
        CheckoutRefusal::InProgress | CheckoutRefusal::AlreadySent => (
            StatusCode::CONFLICT,
            "Your booking is being processed".to_owned(),
            "This checkout was already sent and is still being completed; nothing is charged twice. Check My bookings in a moment.".to_owned(),
            vec![bookings()],
        ),
        CheckoutRefusal::SoldOut => (
            StatusCode::CONFLICT,
            "Sold out".to_owned(),
            "Sorry, one of the items in your cart sold out while you were booking. Nothing was charged. Remove it and search again.".to_owned(),
            vec![cart()],
        ),
        CheckoutRefusal::OfferExpired => (
            StatusCode::GONE,
            "An offer in your cart has expired".to_owned(),
            "Prices are guaranteed for 20 minutes. Nothing was charged. Remove the expired item and search again.".to_owned(),
            vec![cart()],
        ),
        CheckoutRefusal::Throttled => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many bookings in progress".to_owned(),
            "You have several bookings being processed. Wait a moment, then check My bookings.".to_owned(),
            vec![bookings()],
        ),
        CheckoutRefusal::Failed => (
            StatusCode::CONFLICT,
            "The booking could not be completed".to_owned(),
            "Nothing was charged. Check your cart and try again.".to_owned(),
            vec![cart()],
        ),
        CheckoutRefusal::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "We are having a short break".to_owned(),
            "Part of OTA Travel is not answering right now, so nothing was booked or charged. Please try again in a minute.".to_owned(),
            vec![Action::new("Try again", "/checkout"), cart()],
        ),
        // Sent, but no answer we could read: the booking may exist.
        _ => (
            StatusCode::BAD_GATEWAY,
            "We could not confirm your booking".to_owned(),
            "We did not get an answer about this booking. If it went through it is in My bookings; nothing is charged twice. Check there before trying again.".to_owned(),
            vec![bookings()],
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Bookings

/// The booking page's only parameter: the traveller arrives from the checkout form.
/// What the page says about the booking (confirmed, cancelled, refunded) comes from the
/// booking itself.
#[derive(Deserialize, Default)]
struct BookingQuery {
    #[serde(default)]
    confirmed: Option<String>,
}

async fn booking(
    State(web): State<Web>,
    mut session: Session,
    Path(reference): Path<String>,
    Query(q): Query<BookingQuery>,
) -> Response {
    if !well_formed_reference(&reference) {
        return page_not_found(&session);
    }
    let here = format!("/bookings/{reference}");
    let token = match signed_in(&session, &here) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let b = match web.api.booking(&token, &reference).await {
        Ok(b) => b,
        Err(PeerError::Status { status: 404, .. }) => return page_not_found(&session),
        Err(e) => return peer_failure(&mut session, &e, &here),
    };
    render_booking(&session, &b, q.confirmed.is_some())
}

/// The booking page: everything it says comes from the booking as booking-service
/// answers it.
fn render_booking(session: &Session, b: &crate::clients::Booking, just_booked: bool) -> Response {
    let view = BookingView::of(b);
    let title = format!("Booking {}", view.reference);
    let banner = BookingBanner::of(&view, &b.status, just_booked);
    render(
        session,
        StatusCode::OK,
        &BookingPage {
            layout: layout(session, &title, "bookings"),
            b: view,
            banner,
        },
    )
}

async fn cancel_quote(
    State(web): State<Web>,
    mut session: Session,
    Path(reference): Path<String>,
) -> Response {
    if !well_formed_reference(&reference) {
        return page_not_found(&session);
    }
    let here = format!("/bookings/{reference}/cancel");
    let token = match signed_in(&session, &here) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let b = match web.api.booking(&token, &reference).await {
        Ok(b) => b,
        Err(PeerError::Status { status: 404, .. }) => return page_not_found(&session),
        Err(e) => return peer_failure(&mut session, &e, &here),
    };
    let quote = match web.api.cancellation_quote(&token, &reference).await {
        Ok(q) => q,
        Err(e) => {
            return match refusal(&e) {
                Some((404, _)) => page_not_found(&session),
                Some((_, body)) => message(
                    &session,
                    StatusCode::CONFLICT,
                    "This booking cannot be cancelled",
                    &detail(body),
                    vec![Action::new(
                        "Back to the booking",
                        &format!("/bookings/{reference}"),
                    )],
                ),
                None => peer_failure(&mut session, &e, &here),
            };
        }
    };
    let view = BookingView::of(&b);
    let title = format!("Cancel booking {}", view.reference);
    render(
        &session,
        StatusCode::OK,
        &CancelPage {
            layout: layout(&session, &title, "bookings"),
            b: view,
            refund: format::money(&quote.refund),
            refund_nothing: quote.refund.amount == 0,
            quote_expires: quote
                .expires_at
                .as_deref()
                .map(format::until)
                .filter(|s| !s.is_empty())
                .map(|s| format!("until {s}"))
                .unwrap_or_default(),
        },
    )
}

async fn cancel(
    State(web): State<Web>,
    mut session: Session,
    Path(reference): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    if !well_formed_reference(&reference) {
        return page_not_found(&session);
    }
    let here = format!("/bookings/{reference}");
    let token = match signed_in(&session, &here) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match web.api.cancel(&token, &reference).await {
        // The booking page reads the cancellation and its refund from the booking.
        Ok(c) => redirect(&session, &format!("/bookings/{}", encode(&c.reference))),
        Err(e) => match refusal(&e) {
            Some((404, _)) => page_not_found(&session),
            Some((_, body)) => message(
                &session,
                StatusCode::CONFLICT,
                "This booking cannot be cancelled",
                &detail(body),
                vec![Action::new("Back to the booking", &here)],
            ),
            None => peer_failure(&mut session, &e, &here),
        },
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    cursor: Option<String>,
}

async fn bookings(
    State(web): State<Web>,
    mut session: Session,
    Query(q): Query<ListQuery>,
) -> Response {
    let token = match signed_in(&session, "/bookings") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let cursor = q.cursor.filter(|c| !c.is_empty() && c.len() <= 512);
    let list = match web.api.bookings(&token, cursor.as_deref()).await {
        Ok(l) => l,
        Err(e) => return peer_failure(&mut session, &e, "/bookings"),
    };
    render(
        &session,
        StatusCode::OK,
        &BookingsPage {
            layout: layout(&session, "My bookings", "bookings"),
            rows: list.bookings.iter().map(BookingView::of).collect(),
            next_url: list
                .next_cursor
                .map(|c| format!("/bookings?cursor={}", encode(&c))),
        },
    )
}

// ---------------------------------------------------------------------------------------
// Accounts

#[derive(Deserialize, Default)]
struct AuthQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    add: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, Default)]
struct AuthForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    add: String,
}

fn reason_text(reason: &str) -> &'static str {
    match reason {
        "cart" => "Log in or create an account to add this to your cart.",
        "expired" => "Your session has ended. Please log in again.",
        _ => "",
    }
}

/// Where to go after signing in; an offer waiting to be added carries its search back.
fn continuation(next: &str, add: &str, back: &str) -> (String, String) {
    let add = if well_formed_offer(add) {
        add.to_owned()
    } else {
        String::new()
    };
    let next = if add.is_empty() {
        local_path(next, "/")
    } else if back.is_empty() {
        // Between the login and register pages the search travels in `next`.
        search_back(next)
    } else {
        search_back(back)
    };
    (next, add)
}

fn auth_page(
    session: &Session,
    status: StatusCode,
    register: bool,
    errors: Vec<String>,
    f: &AuthForm,
    reason: &str,
) -> Response {
    let other = if register { "/login" } else { "/register" };
    let mut other_url = other.to_owned();
    let keep = query_string(&[("next", f.next.clone()), ("add", f.add.clone())]);
    if !keep.is_empty() {
        other_url = format!("{other}?{keep}&reason={reason}");
    }
    render(
        session,
        status,
        &AuthPage {
            layout: layout(
                session,
                if register { "Register" } else { "Log in" },
                if register { "register" } else { "login" },
            ),
            register,
            reason: reason_text(reason).to_owned(),
            errors,
            email: f.email.clone(),
            name: f.name.clone(),
            next: f.next.clone(),
            add: f.add.clone(),
            other_url,
        },
    )
}

async fn login_form(session: Session, Query(q): Query<AuthQuery>) -> Response {
    let (next, add) = continuation(&q.next, &q.add, &q.back);
    let f = AuthForm {
        next,
        add,
        ..AuthForm::default()
    };
    auth_page(&session, StatusCode::OK, false, Vec::new(), &f, &q.reason)
}

async fn register_form(session: Session, Query(q): Query<AuthQuery>) -> Response {
    let (next, add) = continuation(&q.next, &q.add, &q.back);
    let f = AuthForm {
        next,
        add,
        ..AuthForm::default()
    };
    auth_page(&session, StatusCode::OK, true, Vec::new(), &f, &q.reason)
}

/// After signing in: add the waiting offer (then the cart), or go where the traveller was.
async fn signed_in_continue(web: &Web, session: &mut Session, f: &AuthForm) -> Response {
    let next = local_path(&f.next, "/");
    let token = session.user.as_ref().map(|u| u.access_token.clone());
    match token {
        Some(token) if well_formed_offer(&f.add) => {
            add_offer(web, session, &token, &f.add, &search_back(&next)).await
        }
        _ => redirect(session, &next),
    }
}

async fn login(State(web): State<Web>, mut session: Session, Form(f): Form<AuthForm>) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    let body = LoginRequest {
        email: f.email.trim(),
        password: &f.password,
    };
    match web.api.login(&body).await {
        Ok(s) => {
            session.sign_in(s);
            signed_in_continue(&web, &mut session, &f).await
        }
        Err(e) => match &e {
            PeerError::Status {
                status: 401 | 422, ..
            } => auth_page(
                &session,
                StatusCode::UNAUTHORIZED,
                false,
                vec!["The e-mail address or password is not right.".to_owned()],
                &f,
                "",
            ),
            PeerError::Status { status: 429, .. } => auth_page(
                &session,
                StatusCode::TOO_MANY_REQUESTS,
                false,
                vec!["Too many attempts. Please wait a few minutes and try again.".to_owned()],
                &f,
                "",
            ),
            _ => peer_failure(&mut session, &e, "/login"),
        },
    }
}

fn account_field(field: &str) -> &'static str {
    match field {
        "email" => "The e-mail address",
        "password" => "The password",
        "name" => "Your name",
        _ => "",
    }
}

async fn register(
    State(web): State<Web>,
    mut session: Session,
    Form(f): Form<AuthForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    let body = RegisterRequest {
        email: f.email.trim(),
        password: &f.password,
        name: f.name.trim(),
    };
    match web.api.register(&body).await {
        Ok(s) => {
            session.sign_in(s);
            signed_in_continue(&web, &mut session, &f).await
        }
        Err(e) => match refusal(&e) {
            Some((409, _)) => auth_page(
                &session,
                StatusCode::CONFLICT,
                true,
                vec![
                    "An account with this e-mail address already exists. Log in instead."
                        .to_owned(),
                ],
                &f,
                "",
            ),
            Some((400 | 422, body)) => auth_page(
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                true,
                field_errors(body, account_field),
                &f,
                "",
            ),
            _ => peer_failure(&mut session, &e, "/register"),
        },
    }
}

async fn logout(State(web): State<Web>, mut session: Session, Form(f): Form<CsrfForm>) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    if let Some(refresh) = session.sign_out()
        && let Err(e) = web.api.logout(&refresh).await
    {
        // The cookies are gone either way; the token family expires on its own.
        tracing::warn!(error = %e, "could not revoke a refresh token at logout");
    }
    redirect(&session, "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/cart", "/"), "/cart");
        assert_eq!(local_path("//evil.example", "/"), "/");
        assert_eq!(local_path("https://evil.example", "/"), "/");
        assert_eq!(local_path("/\\evil", "/"), "/");
        assert_eq!(local_path("/a b", "/"), "/");
        assert_eq!(search_back("/flights?origin=JFK"), "/flights?origin=JFK");
        assert_eq!(search_back("/bookings"), "/");
    }

    #[test]
    fn offer_ids_and_references_are_checked_before_use() {
        assert!(well_formed_offer("k1.cGF5bG9hZA.bWFj"));
        assert!(!well_formed_offer("k1.cGF5/../x.bWFj"));
        assert!(!well_formed_offer("k1..m"));
        assert!(well_formed_reference("ABC234"));
        assert!(!well_formed_reference("AB/../x"));
    }

    #[test]
    fn card_expiry_reads_both_year_forms() {
        assert_eq!(expiry("12/30"), Some((12, 2030)));
        assert_eq!(expiry("01/2031"), Some((1, 2031)));
        assert_eq!(expiry("13/30"), None);
        assert_eq!(expiry("1230"), None);
    }

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
}

#[cfg(test)]
mod checkout_tests {
    use super::*;
    use crate::clients::{Booking, CartItem, Passengers};
    use ota_platform::money::Money;
    use serde_json::json;

    fn problem(status: u16, body: Value) -> PeerError {
        PeerError::Status {
            peer: "booking-service".to_owned(),
            status,
            body,
        }
    }

    fn slug(s: &str) -> String {
        format!("https://ota-travel.example.com/problems/{s}")
    }

    #[test]
    fn a_payment_service_fault_is_never_a_declined_card() {
        for kind in ["unavailable", "timeout"] {
            let e = problem(
                503,
                json!({"type": slug(kind), "detail": "x",
                       "reference": "ABC234", "status": "PAYMENT_PENDING"}),
            );
            let r = checkout_refusal(&e);
            assert_eq!(
                r,
                CheckoutRefusal::Settling {
                    reference: "ABC234".to_owned()
                }
            );
            let (status, heading, text, actions) = refusal_message(&r);
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(heading.contains("could not reach the payment service"));
            assert!(text.contains("ABC234") && text.contains("nothing is charged twice"));
            assert!(
                !format!("{heading} {text}")
                    .to_lowercase()
                    .contains("declin")
            );
            assert_eq!(actions[0].href, "/bookings/ABC234");
        }
        // Recovery found the payment never went through: a failed booking, try again.
        let e = problem(
            503,
            json!({"type": slug("payment-unavailable"), "reference": "ABC234", "status": "FAILED"}),
        );
        assert_eq!(checkout_refusal(&e), CheckoutRefusal::PaymentUnavailable);
        // Only a 402 payment-declined is a refused card.
        let e = problem(
            402,
            json!({"type": slug("payment-declined"), "reference": "ABC234", "status": "FAILED",
                   "decline_code": "insufficient_funds"}),
        );
        assert_eq!(
            checkout_refusal(&e),
            CheckoutRefusal::Declined {
                decline_code: "insufficient_funds".to_owned()
            }
        );
        let e = problem(402, json!({"type": slug("something-else")}));
        assert_eq!(checkout_refusal(&e), CheckoutRefusal::Unknown);
        // Our own request to booking-service failing says nothing about the booking.
        let e = PeerError::Unavailable {
            peer: "booking-service".to_owned(),
            reason: "no answer".to_owned(),
        };
        let (_, _, text, _) = refusal_message(&checkout_refusal(&e));
        assert!(!text.contains("Nothing has been charged"), "{text}");
        assert!(text.contains("My bookings"), "{text}");
    }

    #[test]
    fn refusals_are_told_apart_by_their_type_never_by_their_members_or_wording() {
        // A second checkout of a claimed cart names the booking that holds it.
        let e = problem(
            409,
            json!({"type": slug("cart-taken"), "reference": "XYZ789", "status": "CONFIRMED"}),
        );
        assert_eq!(
            checkout_refusal(&e),
            CheckoutRefusal::CartTaken {
                reference: "XYZ789".to_owned()
            }
        );
        // Sold out, whether or not it names a booking.
        for body in [
            json!({"type": slug("sold-out"), "reference": "XYZ789", "status": "FAILED"}),
            json!({"type": slug("sold-out"), "offer_id": "k.p.m"}),
        ] {
            assert_eq!(
                checkout_refusal(&problem(409, body)),
                CheckoutRefusal::SoldOut
            );
        }
        // The same form still running.
        assert_eq!(
            checkout_refusal(&problem(409, json!({"type": slug("in-progress")}))),
            CheckoutRefusal::InProgress
        );
        // A traveller's name that mentions idempotency is still a traveller error.
        let e = problem(
            422,
            json!({"type": slug("validation"), "errors": [
                {"field": "travellers[0].last_name", "message": "Idempotency is not a surname"}]}),
        );
        assert_eq!(checkout_refusal(&e), CheckoutRefusal::Invalid);
        // The key used with another request: the form was sent before.
        let e = problem(
            422,
            json!({"type": slug("validation"), "errors": [
                {"field": "Idempotency-Key", "message": "was already used"}]}),
        );
        assert_eq!(checkout_refusal(&e), CheckoutRefusal::AlreadySent);
        assert_eq!(
            checkout_refusal(&problem(422, json!({"type": slug("idempotency-mismatch")}))),
            CheckoutRefusal::AlreadySent
        );
        // A reference that is not one is not followed.
        let e = problem(
            409,
            json!({"type": slug("cart-taken"), "reference": "../../evil"}),
        );
        assert_eq!(checkout_refusal(&e), CheckoutRefusal::AlreadySent);
    }

    fn item(kind: &str, passengers: Option<Passengers>) -> CartItem {
        CartItem {
            item_id: uuid::Uuid::nil(),
            offer_id: "k.p.m".into(),
            kind: kind.into(),
            total: Money::new(100, "USD"),
            expires_at: String::new(),
            expired: false,
            summary: String::new(),
            passengers,
        }
    }

    #[test]
    fn the_form_asks_for_one_traveller_per_passenger_by_type() {
        let family = Passengers {
            adults: 2,
            children: 1,
            infants: 1,
        };
        assert_eq!(
            traveller_kinds(&[item("hotel", None), item("flight", Some(family))]),
            vec![
                TravellerKind::Adult,
                TravellerKind::Adult,
                TravellerKind::Child,
                TravellerKind::Infant
            ]
        );
        assert_eq!(
            traveller_kinds(&[item("hotel", None)]),
            vec![TravellerKind::Guest]
        );
        assert_eq!(
            traveller_kinds(&[item("flight", Some(Passengers::adults(3)))]).len(),
            3
        );
    }

    #[test]
    fn traveller_errors_are_shown_at_the_traveller() {
        let travellers: Vec<TravellerFields> = [
            TravellerKind::Adult,
            TravellerKind::Child,
            TravellerKind::Infant,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, k)| TravellerFields::new(i, k))
        .collect();
        let body = json!({"type": slug("validation"), "errors": [
            {"field": "travellers[2].date_of_birth", "message": "makes this traveller 3 years old on the day of the first departure, not an infant"},
            {"field": "travellers", "message": "must include an adult 18 or over"},
            {"field": "card.cvc", "message": "must be 3 or 4 digits"}
        ]});
        let e = checkout_problem_errors(&body, &travellers);
        assert_eq!(e.travellers.len(), 1);
        assert_eq!(e.travellers[0].0, 2);
        assert_eq!(e.travellers[0].1, "date_of_birth");
        assert!(e.travellers[0].2.starts_with("The date of birth makes"));
        assert_eq!(
            error_at(&e.fields, "travellers"),
            "Travellers must include an adult 18 or over."
        );
        let body = json!({"type": slug("validation"), "errors": [
            {"field": "travellers", "message": "the flight in your cart is for 2 adults"}]});
        assert_eq!(
            error_at(
                &checkout_problem_errors(&body, &travellers).fields,
                "travellers"
            ),
            "The flight in your cart is for 2 adults."
        );
        assert_eq!(
            error_at(&e.fields, "card_cvc"),
            "The security code must be 3 or 4 digits."
        );
        // Every error is in the summary too, naming the traveller by type.
        assert_eq!(e.summary.len(), 3);
        assert!(e.summary[0].starts_with("Traveller 3 (infant): the date of birth"));
        assert_eq!(
            traveller_field("travellers[12].first_name"),
            Some((12, "first_name"))
        );
        assert_eq!(traveller_field("travellers[x].first_name"), None);
        assert_eq!(traveller_field("travellers[1].passport"), None);
    }

    fn page_with(travellers: Vec<TravellerFields>, fields: Vec<FieldError>) -> CheckoutPage {
        CheckoutPage {
            layout: Layout {
                title: "Checkout".into(),
                user: Some("Ada".into()),
                csrf: "c".into(),
                section: "cart",
            },
            items: Vec::new(),
            total: "$1.00".into(),
            travellers,
            email: String::new(),
            holder: String::new(),
            idempotency_key: "k".into(),
            today: "2026-01-01".into(),
            errors: vec!["x".into()],
            field_errors: fields,
            alert: None,
        }
    }

    #[test]
    fn the_checkout_page_labels_travellers_and_ties_errors_to_their_fields() {
        let mut child = TravellerFields::new(1, TravellerKind::Child);
        child.dob_error = "The date of birth makes this traveller 12.".into();
        let html = page_with(
            vec![TravellerFields::new(0, TravellerKind::Adult), child],
            vec![FieldError::new(
                "travellers",
                "Travellers must include an adult.",
            )],
        )
        .render()
        .expect("renders");
        assert!(html.contains("Traveller 1: Adult"), "{html}");
        assert!(html.contains("Traveller 2: Child"), "{html}");
        assert!(html.contains("2 to 11 years"), "{html}");
        assert!(html.contains(
            r#"id="date_of_birth_1" name="date_of_birth_1" type="date" value="" required max="2026-01-01" aria-invalid="true" aria-describedby="date_of_birth_1-error""#
        ), "{html}");
        assert!(html.contains(r#"<span class="field-error" id="date_of_birth_1-error">"#));
        assert!(!html.contains(r#"aria-describedby="date_of_birth_0-error""#));
        assert!(html.contains(r#"id="travellers-error""#));
        assert!(html.contains(r#"aria-describedby="travellers-error""#));
        // No e-mail is sent: the page does not promise one, nor changes it cannot make.
        let lower = html.to_lowercase();
        for promise in [
            "confirmation",
            "we will e-mail",
            "we'll e-mail",
            "send you",
            "change",
        ] {
            assert!(
                !lower.contains(promise),
                "the checkout page promises {promise:?}"
            );
        }
    }

    fn booking(status: &str, refund: Option<Money>) -> Booking {
        Booking {
            reference: "ABC234".into(),
            status: status.into(),
            total: Some(Money::new(45_000, "USD")),
            items: Vec::new(),
            travellers: Vec::new(),
            created_at: None,
            refund,
        }
    }

    fn booking_html(b: &Booking, just_booked: bool) -> String {
        let view = BookingView::of(b);
        let banner = BookingBanner::of(&view, &b.status, just_booked);
        BookingPage {
            layout: Layout {
                title: "Booking".into(),
                user: Some("Ada".into()),
                csrf: "c".into(),
                section: "bookings",
            },
            b: view,
            banner,
        }
        .render()
        .expect("renders")
    }

    #[test]
    fn the_booking_page_tells_the_bookings_own_state() {
        let confirmed = booking_html(&booking("CONFIRMED", None), false);
        assert!(!confirmed.contains("cancelled"), "{confirmed}");
        assert!(!confirmed.contains("Refund"), "{confirmed}");
        let cancelled = booking_html(&booking("CANCELLED", Some(Money::new(1_234, "USD"))), false);
        assert!(cancelled.contains("Your booking is cancelled. Refund: <strong>$12.34</strong>"));
        // Cancelled without a refund stated: no amount is made up.
        let no_refund = booking_html(&booking("CANCELLED", None), false);
        assert!(no_refund.contains("Your booking is cancelled."));
        assert!(!no_refund.contains("Refund"));
        // "Confirmed" only when it is.
        let pending = booking_html(&booking("PAYMENT_PENDING", None), true);
        assert!(!pending.contains("Booking confirmed"));
        assert!(pending.contains("still completing this booking"));
        assert!(booking_html(&booking("CONFIRMED", None), true).contains("Booking confirmed"));
        assert!(booking_html(&booking("FAILED", None), true).contains("did not go through"));
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

    #[tokio::test]
    async fn every_send_of_one_form_pays_with_the_same_card() {
        let cards = std::sync::Arc::new(FormCards::default());
        let stored = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let send = |form: &'static str| {
            let cards = cards.clone();
            let stored = stored.clone();
            tokio::spawn(async move {
                cards
                    .card_for(form, || async move {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        let n = stored.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(format!("card-{n}"))
                    })
                    .await
            })
        };
        let (a, b) = (send("form-1"), send("form-1"));
        let (a, b) = (a.await.expect("task"), b.await.expect("task"));
        assert_eq!(a.ok(), b.ok());
        assert_eq!(stored.load(std::sync::atomic::Ordering::SeqCst), 1);
        let c = send("form-2").await.expect("task");
        assert_eq!(c.ok().as_deref(), Some("card-1"));
        // A refused card is not remembered: the corrected form stores the next one.
        let refused = cards
            .card_for("form-3", || async {
                Err(PeerError::Status {
                    peer: "payment-service".into(),
                    status: 422,
                    body: Value::Null,
                })
            })
            .await;
        assert!(refused.is_err());
        let again = cards
            .card_for("form-3", || async { Ok("card-ok".to_owned()) })
            .await;
        assert_eq!(again.ok().as_deref(), Some("card-ok"));
    }
}
