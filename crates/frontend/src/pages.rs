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
        "adults" => "The number of travellers",
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

/// An airport as typed: a three-letter code as it is, or a city or name looked up.
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
    let found = web.api.airports(typed).await?;
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
        cabin: one(&p, "cabin"),
        today: today().to_string(),
    };
    if form.origin.is_empty() && form.destination.is_empty() && form.departure_date.is_empty() {
        return redirect(&session, "/");
    }
    if form.adults.is_empty() {
        form.adults = "1".to_owned();
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
    let origin = origin.unwrap_or_else(|m| {
        errors.push(format!("From {m}."));
        String::new()
    });
    let destination = destination.unwrap_or_else(|m| {
        errors.push(format!("To {m}."));
        String::new()
    });
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

/// The checkout page for the current cart, or the cart page when it cannot be checked
/// out. A fresh idempotency key per render: a resubmission of this form is the same
/// booking, a new attempt after a refusal is a new one.
async fn checkout_page(
    web: &Web,
    session: &mut Session,
    token: &str,
    status: StatusCode,
    fields: Option<CheckoutFields>,
    errors: Vec<String>,
    declined: Option<String>,
) -> Response {
    let cart = match web.api.cart(token).await {
        Ok(c) => c,
        Err(e) => return peer_failure(session, &e, "/checkout"),
    };
    if cart.items.is_empty() || cart.items.iter().any(|i| i.expired) {
        return redirect(session, "/cart");
    }
    let needed = usize::from(
        cart.items
            .iter()
            .filter(|i| i.kind == "flight")
            .filter_map(|i| i.passengers)
            .max()
            .unwrap_or(1)
            .clamp(1, 9),
    );
    let user = session.user.clone();
    let mut fields = fields.unwrap_or_else(|| CheckoutFields {
        travellers: Vec::new(),
        email: user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        holder: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
    });
    fields.travellers.truncate(needed);
    while fields.travellers.len() < needed {
        let i = fields.travellers.len();
        fields.travellers.push(TravellerFields {
            i,
            n: i + 1,
            first: String::new(),
            last: String::new(),
            dob: String::new(),
        });
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
            errors,
            declined,
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
        Vec::new(),
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
        .clamp(1, 9);
    let mut errors = Vec::new();
    let travellers: Vec<TravellerFields> = (0..count)
        .map(|i| TravellerFields {
            i,
            n: i + 1,
            first: one(&p, &format!("first_name_{i}")),
            last: one(&p, &format!("last_name_{i}")),
            dob: one(&p, &format!("date_of_birth_{i}")),
        })
        .collect();
    for t in &travellers {
        if t.first.is_empty() || t.last.is_empty() {
            errors.push(format!(
                "Traveller {}: first and last name are required.",
                t.n
            ));
        }
        match NaiveDate::parse_from_str(&t.dob, "%Y-%m-%d") {
            Ok(d) if d < today() && d.year() > 1900 => {}
            _ => errors.push(format!(
                "Traveller {}: enter a date of birth in the past.",
                t.n
            )),
        }
    }
    let email = one(&p, "email");
    if !email.contains('@') || email.len() > 254 {
        errors.push("Enter the e-mail address for the confirmation.".to_owned());
    }
    let number: String = one(&p, "card_number")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        errors.push("The card number must be 12 to 19 digits.".to_owned());
    }
    let exp = expiry(&one(&p, "card_expiry"));
    if exp.is_none() {
        errors.push("Enter the card's expiry date as MM/YY.".to_owned());
    }
    let cvc = one(&p, "card_cvc");
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        errors.push("The security code is the 3 or 4 digits on the card.".to_owned());
    }
    let holder = one(&p, "card_holder");
    if holder.is_empty() {
        errors.push("Enter the name on the card.".to_owned());
    }
    let fields = CheckoutFields {
        travellers,
        email: email.clone(),
        holder: holder.clone(),
    };
    if !key_ok {
        // Not a form we rendered; a new render gives it a key.
        errors.push("Please submit the checkout form again.".to_owned());
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
    let method = match web.api.add_card(&token, &card).await {
        Ok(m) => m,
        Err(e) => {
            return match refusal(&e) {
                Some((400 | 422, body)) => {
                    checkout_page(
                        &web,
                        &mut session,
                        &token,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(fields),
                        field_errors(body, card_field),
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
        payment_method_id: method.id,
    };
    match web.api.checkout(&token, &key, &body).await {
        Ok(b) => redirect(
            &session,
            &format!("/bookings/{}?confirmed=1", encode(&b.reference)),
        ),
        Err(e) => match refusal(&e) {
            Some((402, body)) => {
                let code = body
                    .get("decline_code")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let reference = body
                    .get("reference")
                    .and_then(Value::as_str)
                    .map(|r| format!(" (attempt {r})"))
                    .unwrap_or_default();
                let text = format!(
                    "{} Nothing was charged{reference}. Check the details or use another card.",
                    decline_text(code)
                );
                checkout_page(
                    &web,
                    &mut session,
                    &token,
                    StatusCode::PAYMENT_REQUIRED,
                    Some(fields),
                    Vec::new(),
                    Some(text),
                )
                .await
            }
            Some((409, body)) if body.get("reference").is_some() => message(
                &session,
                StatusCode::CONFLICT,
                "Sold out",
                "Sorry, one of the items in your cart sold out while you were booking. Nothing was charged. Remove it and search again.",
                vec![Action::new("Back to your cart", "/cart")],
            ),
            Some((409, _)) => message(
                &session,
                StatusCode::CONFLICT,
                "Your booking is being processed",
                "This checkout was already submitted and is still being processed. Check My bookings in a moment.",
                vec![Action::new("My bookings", "/bookings")],
            ),
            Some((410, _)) => message(
                &session,
                StatusCode::GONE,
                "An offer in your cart has expired",
                "Prices are guaranteed for 20 minutes. Nothing was charged. Remove the expired item and search again.",
                vec![Action::new("Back to your cart", "/cart")],
            ),
            Some((429, _)) => message(
                &session,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many bookings in progress",
                "You have several bookings being processed. Wait a moment, then check My bookings.",
                vec![Action::new("My bookings", "/bookings")],
            ),
            Some((422, body))
                if field_errors(body, |_| "")
                    .iter()
                    .any(|m| m.to_lowercase().contains("idempotency")) =>
            {
                message(
                    &session,
                    StatusCode::CONFLICT,
                    "This checkout was already submitted",
                    "We received this form before. Check My bookings to see whether your booking went through.",
                    vec![Action::new("My bookings", "/bookings")],
                )
            }
            Some((400 | 422, body)) => {
                checkout_page(
                    &web,
                    &mut session,
                    &token,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(fields),
                    field_errors(body, card_field),
                    None,
                )
                .await
            }
            _ => peer_failure(&mut session, &e, "/checkout"),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Bookings

#[derive(Deserialize, Default)]
struct BookingQuery {
    #[serde(default)]
    confirmed: Option<String>,
    #[serde(default)]
    cancelled: Option<String>,
    #[serde(default)]
    refund: Option<String>,
    #[serde(default)]
    currency: Option<String>,
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
    let view = BookingView::of(&b);
    let cancelled_refund = q.cancelled.as_ref().map(|_| {
        match (
            q.refund.as_deref().and_then(|r| r.parse::<i64>().ok()),
            q.currency.as_deref(),
        ) {
            (Some(amount), Some(c))
                if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                format::money(&ota_platform::money::Money::new(amount, c))
            }
            _ => "as quoted".to_owned(),
        }
    });
    let title = format!("Booking {}", view.reference);
    render(
        &session,
        StatusCode::OK,
        &BookingPage {
            layout: layout(&session, &title, "bookings"),
            confirmed_now: q.confirmed.is_some() && view.status_class == "ok",
            b: view,
            cancelled_refund,
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
        Ok(c) => redirect(
            &session,
            &format!(
                "/bookings/{}?cancelled=1&refund={}&currency={}",
                encode(&c.reference),
                c.refund.amount,
                encode(&c.refund.currency)
            ),
        ),
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
