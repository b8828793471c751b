//! The web site's pages, one module per resource, and the router, headers and static
//! assets they are served with: one handler per page, each calling the public APIs and
//! rendering a template. Every POST carries the session's CSRF token; every refusal of
//! a peer becomes a page that says what happened and what to do next.

mod account;
mod bookings;
mod cart;
mod checkout;
mod common;
mod errors;
mod offer;
mod search;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use crate::Web;

use account::{login, login_form, logout, register, register_form};
use bookings::{booking, bookings, calendar, cancel, cancel_quote, resend_confirmation};
use cart::{add_to_cart, cart, remove_from_cart};
use checkout::{checkout, checkout_form};
use errors::{not_found, to_cart, to_home};
use offer::offer;
use search::{flights, home, hotels};

pub use checkout::FormCards;

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
        .route(
            "/bookings/{reference}/resend-confirmation",
            post(resend_confirmation),
        )
        .route("/bookings/{reference}/calendar.ics", get(calendar))
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

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");
const ICON_SVG: &str = include_str!("../../static/icon.svg");

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
