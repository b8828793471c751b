//! The web site in a real browser: headless Chromium, driven through chromedriver by
//! fantoccini, against the whole application on a free port. A person's journeys at a
//! desktop and a phone width (search, offer, cart, account, checkout, confirmation, my
//! bookings, cancellation; a declined card), with screenshots of every main page in
//! `target/screenshots/`. Plus what a browser cannot see: headers, CSRF, error pages.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestApp, backends, resigned, serve_args};
use ota_testkit::{self as testkit, day};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// No page may weigh more than this (HTML, before images).
const PAGE_BUDGET: usize = 100 * 1024;
const JOURNEY_TIMEOUT: Duration = Duration::from_secs(240);

#[derive(Clone, Copy, Debug)]
enum Width {
    Desktop,
    Phone,
}

impl Width {
    fn name(self) -> &'static str {
        match self {
            Width::Desktop => "desktop",
            Width::Phone => "phone",
        }
    }
}

fn screenshots_dir(width: Width) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/screenshots")
        .join(width.name())
}

/// A chromedriver we started, and the browser session it drives.
struct Browser {
    client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Only the chromedriver this test started, by its own handle.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    async fn start(width: Width) -> Browser {
        for (path, what) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's chromium and chromium-driver \
                 (`apt-get install -y chromium chromium-driver`; .ci/run installs them). \
                 Missing package: {what}"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        let profile = testkit::temp_dir();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-quic".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut options = json!({ "binary": CHROMIUM });
        match width {
            Width::Desktop => args.push("--window-size=1280,800".to_owned()),
            Width::Phone => {
                options["mobileEmulation"] =
                    json!({"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 1.0}});
            }
        }
        options["args"] = json!(args);
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".to_owned(), json!("chrome"));
        caps.insert("goog:chromeOptions".to_owned(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut last = String::new();
        for _ in 0..50 {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return Browser { client, driver },
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("chromedriver on port {port} did not start a Chromium session: {last}");
    }

    async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// What a journey step needs: the browser, the site, where screenshots go.
struct Visit {
    c: Client,
    site: String,
    width: Width,
}

impl Visit {
    async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.site))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
        self.page_checks().await;
    }

    async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .c
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let url = self.url().await;
                let text = self.c.find(Locator::Css("main")).await.ok();
                let text = match text {
                    Some(m) => m.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                panic!("{}: no {css} on {url}: {e}\n{text}", self.width.name())
            }
        }
    }

    async fn url(&self) -> String {
        self.c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.wait(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    /// Date inputs are typed differently per locale; set their value as a form would.
    async fn set(&self, css: &str, value: &str) {
        self.wait(css).await;
        self.c
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![json!(css), json!(value)],
            )
            .await
            .expect("set a value");
    }

    /// Clicks a link or submit button and waits until the next page has loaded: the
    /// old page is marked first, so its content is never mistaken for the new one's.
    async fn click(&self, css: &str) {
        let target = self.wait(css).await;
        self.c
            .execute("document.documentElement.dataset.stale = '1';", vec![])
            .await
            .expect("mark the page");
        target.click().await.expect("click");
        let loaded =
            "return document.readyState === 'complete' && !document.documentElement.dataset.stale;";
        for _ in 0..150 {
            if let Ok(v) = self.c.execute(loaded, vec![]).await
                && v.as_bool() == Some(true)
            {
                self.page_checks().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{}: clicking {css} on {} loaded no page",
            self.width.name(),
            self.url().await
        );
    }

    async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.expect("text")
    }

    async fn main_text(&self) -> String {
        self.text("main").await
    }

    /// Every page: small, with its landmarks, and never a stack trace.
    async fn page_checks(&self) {
        let html = self.c.source().await.expect("page source");
        let url = self.url().await;
        assert!(
            html.len() < PAGE_BUDGET,
            "{url} is {} bytes, over the page budget",
            html.len()
        );
        for landmark in ["<header", "<nav", "<main", "<footer"] {
            assert!(html.contains(landmark), "{url}: no {landmark} landmark");
        }
        for leak in ["panicked at", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!html.contains(leak), "{url} shows internals");
        }
    }

    /// A screenshot of the whole page (desktop) or the phone's screen.
    async fn shot(&self, name: &str) {
        let dir = screenshots_dir(self.width);
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        if let Width::Desktop = self.width {
            // The window's height is the page's plus the browser's own frame.
            let height = self
                .c
                .execute(
                    "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_u64())
                .unwrap_or(800)
                .clamp(800, 2000) as u32;
            let _ = self.c.set_window_size(1280, height).await;
        }
        let png = self.c.screenshot().await.expect("screenshot");
        if let Width::Desktop = self.width {
            let _ = self.c.set_window_size(1280, 800).await;
        }
        std::fs::write(dir.join(format!("{name}.png")), png).expect("writing a screenshot");
    }
}

/// Runs a journey in its own task so the browser is closed even when it fails.
async fn in_browser<F, Fut>(width: Width, journey: F)
where
    F: FnOnce(Visit) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let backend = backends().await.remove(0);
    let app = TestApp::spawn(&backend).await;
    // localhost, not 127.0.0.1: browsers keep Secure cookies on http://localhost only.
    let site = app.api.replace("127.0.0.1", "localhost");
    let browser = Browser::start(width).await;
    let visit = Visit {
        c: browser.client.clone(),
        site,
        width,
    };
    let outcome = tokio::spawn(tokio::time::timeout(JOURNEY_TIMEOUT, journey(visit))).await;
    browser.close().await;
    app.stop().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!(
            "{}: the journey took over {JOURNEY_TIMEOUT:?}",
            width.name()
        ),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Home → flight results → an offer → add to cart (asks to sign in).
async fn search_and_choose(v: &Visit, shots: bool) {
    v.goto("/").await;
    assert!(v.main_text().await.contains("Where to next?"));
    if shots {
        v.shot("home").await;
    }
    v.fill("#origin", "JFK").await;
    v.fill("#destination", "Los Angeles").await;
    // app.js (allowed by the CSP) suggests airports as the traveller types.
    v.wait("#destination-list option[value='LAX']").await;
    v.click("form[action='/flights'] button[type=submit]").await;
    v.wait(".offer").await;
    let heading = v.text("h1").await;
    assert!(heading.contains("JFK → LAX"), "{heading}");
    // "Los Angeles" was looked up as LAX, and the page says so.
    assert!(v.main_text().await.contains("(LAX)"));
    if shots {
        v.shot("flight-results").await;
    }
    // Sort by duration: the filter form round-trips.
    v.set("#sort", "duration").await;
    v.click(".filters button[type=submit]").await;
    v.wait(".offer").await;
    assert!(v.url().await.contains("sort=duration"));
    v.click(".offer a.button").await;
    v.wait("form[action='/cart/items']").await;
    assert!(v.main_text().await.contains("guaranteed"));
    if shots {
        v.shot("offer").await;
    }
    v.click("form[action='/cart/items'] button[type=submit]")
        .await;
}

/// Cart → checkout with a card; answers the page text after paying.
async fn pay(v: &Visit, card: &str, shots: bool) -> String {
    pay_for(v, "JFK → LAX", card, shots).await
}

/// [`pay`] for a cart that shows `item`.
async fn pay_for(v: &Visit, item: &str, card: &str, shots: bool) -> String {
    v.wait("a[href='/checkout']").await;
    let cart = v.main_text().await;
    assert!(cart.contains(item), "{cart}");
    if shots {
        v.shot("cart").await;
    }
    v.click("a[href='/checkout']").await;
    v.fill("#first_name_0", "Ada").await;
    v.fill("#last_name_0", "Lovelace").await;
    v.set("#date_of_birth_0", "1985-12-10").await;
    v.fill("#card_number", card).await;
    v.fill("#card_expiry", "12/34").await;
    v.fill("#card_cvc", "123").await;
    if shots {
        v.shot("checkout").await;
    }
    v.click("form.checkout button[type=submit]").await;
    v.wait("main h1").await;
    v.main_text().await
}

async fn journey(v: Visit) {
    // Anonymous: adding to the cart asks to sign in; registering keeps the offer.
    search_and_choose(&v, true).await;
    v.wait("form[action='/login']").await;
    assert!(v.main_text().await.contains("add this to your cart"));
    v.click("main a[href^='/register']").await;
    let email = format!("web-{}@example.com", uuid::Uuid::new_v4().simple());
    v.fill("#name", "Ada Lovelace").await;
    v.fill("#email", &email).await;
    v.fill("#password", "violet-tulip-harbour").await;
    v.click("main form button[type=submit]").await;
    // Signed in, the offer went into the cart.
    assert!(v.url().await.contains("/cart"), "{}", v.url().await);
    assert!(v.text("header").await.contains("Ada Lovelace"));

    let page = pay(&v, "4242 4242 4242 4242", true).await;
    assert!(page.contains("Booking confirmed"), "{page}");
    let reference = v.text(".alert .reference").await;
    assert_eq!(reference.len(), 6, "{reference}");
    v.shot("confirmation").await;
    // The booking page tells the booking's own state, whatever its address says.
    v.goto(&format!(
        "/bookings/{reference}?cancelled=1&refund=9999999&currency=USD"
    ))
    .await;
    let page = v.main_text().await;
    assert!(!page.contains("cancelled"), "{page}");
    assert!(!page.contains("99,999.99"), "{page}");

    v.click("main a[href='/bookings']").await;
    let list = v.main_text().await;
    assert!(list.contains(&reference), "{list}");
    assert!(list.contains("Confirmed"), "{list}");
    v.shot("my-bookings").await;

    // Cancel: the quote first, then the confirmation.
    v.click(&format!("main a[href='/bookings/{reference}']"))
        .await;
    v.click(&format!("a[href='/bookings/{reference}/cancel']"))
        .await;
    let quote = v.main_text().await;
    assert!(quote.contains("refunded"), "{quote}");
    v.shot("cancel-quote").await;
    v.click("main form button.danger").await;
    let cancelled = v.main_text().await;
    assert!(
        cancelled.contains("Your booking is cancelled"),
        "{cancelled}"
    );
    assert!(cancelled.contains("Cancelled"), "{cancelled}");
    assert!(cancelled.contains("Refund"), "{cancelled}");
    assert!(
        !v.url().await.contains("refund="),
        "the refund comes from the booking, not the address"
    );
    v.shot("cancelled").await;

    // A declined card says so, and the cart is still there to try again.
    search_and_choose(&v, false).await;
    let page = pay(&v, "4000000000000002", false).await;
    assert!(page.contains("Payment declined"), "{page}");
    assert!(page.contains("Nothing was charged"), "{page}");
    v.wait("form.checkout").await;
    v.shot("declined").await;

    // Log out and back in; the cart survives.
    v.click("header form[action='/logout'] button").await;
    assert!(v.text("header").await.contains("Log in"));
    v.goto("/login").await;
    v.fill("#email", &email).await;
    v.fill("#password", "violet-tulip-harbour").await;
    v.click("main form button[type=submit]").await;
    v.goto("/cart").await;
    assert!(v.main_text().await.contains("JFK → LAX"));

    // Hotels.
    let (check_in, check_out) = (day(20), day(23));
    v.goto(&format!(
        "/hotels?city=Paris&check_in={check_in}&check_out={check_out}&guests=2&rooms=1"
    ))
    .await;
    v.wait(".offer").await;
    assert!(v.text("h1").await.contains("Hotels in Paris"));
    v.shot("hotel-results").await;
    v.set("#sort", "stars").await;
    v.click(".filters button[type=submit]").await;
    v.wait(".offer").await;
    assert!(v.main_text().await.contains("★★★★"));

    // An unknown page is a styled 404.
    v.goto("/no-such-page").await;
    assert!(v.text("h1").await.contains("Page not found"));
    v.shot("not-found").await;
}

#[tokio::test]
async fn a_traveller_books_and_cancels_at_desktop_width() {
    in_browser(Width::Desktop, journey).await;
}

#[tokio::test]
async fn a_traveller_books_and_cancels_at_phone_width() {
    in_browser(Width::Phone, |v| async move {
        // Nothing may be wider than the phone.
        v.goto("/").await;
        let overflow =
            v.c.execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await
            .expect("width");
        assert!(
            overflow.as_i64().unwrap_or(0) <= 0,
            "home scrolls sideways by {overflow}"
        );
        journey(v).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Without a browser

async fn page(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = app.http.get(format!("{}{path}", app.api));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.expect("answer");
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("body"))
}

#[tokio::test]
async fn pages_are_strict_about_headers_forms_and_errors() {
    let app = TestApp::spawn(&backends().await.remove(0)).await;

    // Every page: our CSP without inline script, HSTS, nosniff, no caching; a CSRF cookie.
    let (status, h, html) = page(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        h["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/html"))
    );
    assert_eq!(
        h["content-security-policy"],
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert!(h.contains_key("strict-transport-security"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.contains_key("referrer-policy"));
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        !html.contains("<script>") && !html.contains("style=\""),
        "inline script or style"
    );
    assert!(html.len() < PAGE_BUDGET);
    let csrf_cookie = h
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-ota_csrf="))
        .expect("a CSRF cookie")
        .to_owned();
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(csrf_cookie.contains(attribute), "{csrf_cookie}");
    }
    // Every input has a label.
    for id in [
        "origin",
        "destination",
        "departure_date",
        "city",
        "check_in",
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\"")),
            "no label for {id}"
        );
    }

    // Assets are served from the binary and may be cached.
    for (path, kind) in [
        ("/static/app.css", "text/css"),
        ("/static/app.js", "text/javascript"),
    ] {
        let (status, h, body) = page(&app, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            h["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with(kind))
        );
        assert!(
            h["cache-control"]
                .to_str()
                .is_ok_and(|c| c.contains("max-age"))
        );
        assert!(!body.is_empty());
    }

    // A form posted without the session's CSRF token is refused with a page, not acted on.
    let token = csrf_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("token");
    let cookie = format!("__Host-ota_csrf={token}");
    for (form, cookie) in [
        (
            vec![("csrf", "forged"), ("email", "a@b.c"), ("password", "x")],
            Some(cookie.as_str()),
        ),
        (
            vec![
                ("csrf", token.as_str()),
                ("email", "a@b.c"),
                ("password", "x"),
            ],
            None,
        ),
    ] {
        let mut req = app
            .http
            .post(format!("{}/login", app.api))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&form));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.expect("answer");
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(
            res.text()
                .await
                .expect("body")
                .contains("This form has expired")
        );
    }
    // With the token, a wrong password is a page that says so.
    let res = app
        .http
        .post(format!("{}/login", app.api))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("csrf", token.as_str()),
            ("email", "nobody@example.com"),
            ("password", "wrong-password-here"),
        ]))
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("password is not right")
    );

    // Signed-in pages send an anonymous visitor to log in, and back afterwards.
    let res = crate::common::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}/bookings", app.api))
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login?next=%2Fbookings");

    // A styled 404 for pages; API paths keep their problem+json.
    let (status, h, html) = page(&app, "/nowhere/at/all", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        h["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/html"))
    );
    assert!(html.contains("Page not found"));
    let (status, h, _) = page(&app, "/api/v1/nowhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(h["content-type"], "application/problem+json");

    // Bad search input is explained, not a 5xx.
    let (status, _, html) = page(
        &app,
        "/flights?origin=JFK&destination=LAX&departure_date=2020-01-01",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("The departure date is in the past."),
        "{html}"
    );
    let (status, _, html) = page(
        &app,
        &format!(
            "/flights?origin=Atlantis&destination=LAX&departure_date={}",
            day(5)
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("found no airport matching"), "{html}");

    // An expired offer: a clear message and a fresh search one click away.
    let (_, search) = app
        .get(
            &format!(
                "/api/v1/flights/search?origin=JFK&destination=LAX&departure_date={}",
                day(14)
            ),
            None,
        )
        .await;
    let id = search["offers"][0]["offer_id"]
        .as_str()
        .expect("an offer")
        .to_owned();
    let expired = resigned(&id, |c| c["x"] = json!(Utc::now().timestamp() - 5));
    // A sold-out offer: more seats than the flight has left.
    let remaining = search["offers"][0]["seats_remaining"]
        .as_i64()
        .expect("seats");
    let sold_out = resigned(&id, |c| {
        c["a"] = json!(remaining + 1);
        c["x"] = json!(Utc::now().timestamp() + 600);
    });
    let (status, _, html) = page(&app, &format!("/offers/{sold_out}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("Sold out"), "{html}");
    let back = format!(
        "/flights?origin=JFK&destination=LAX&departure_date={}",
        day(14)
    );
    let (status, _, html) = page(
        &app,
        &format!("/offers/{expired}?back={}", urlencode(&back)),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This offer has expired"));
    assert!(html.contains("Search again"), "{html}");
    assert!(html.contains("href=\"/flights?origin=JFK"), "{html}");
    app.stop().await;
}

/// An offer id with its signed claims changed, signed again with the test secret.
fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_peer_service_down_is_a_page_that_says_so() {
    // The web site alone, its peers on a port where nothing listens.
    let backend = backends().await.remove(0);
    let mut args = serve_args(&backend, &testkit::temp_dir());
    args.service = Some(ota::Service::Frontend);
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let peers = &mut args.settings.peers;
    for url in [
        &mut peers.auth,
        &mut peers.search,
        &mut peers.cart,
        &mut peers.booking,
        &mut peers.payment,
    ] {
        *url = Some(nobody.clone());
    }
    let app = TestApp::spawn_with(backend.label, args).await;
    let (status, _, html) = page(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK, "the home page needs no peer");
    assert!(html.contains("Where to next?"));
    let (status, h, html) = page(
        &app,
        &format!(
            "/flights?origin=JFK&destination=LAX&departure_date={}",
            day(14)
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(h.contains_key("retry-after"));
    assert!(html.contains("We are having a short break"), "{html}");
    assert!(html.contains("Nothing has been charged"));
    app.stop().await;
}

#[tokio::test]
async fn search_text_too_long_for_an_airport_is_a_form_error() {
    let app = TestApp::spawn(&backends().await.remove(0)).await;
    let long = "x".repeat(61);
    let (status, _, html) = page(
        &app,
        &format!(
            "/flights?origin={long}&destination=LAX&departure_date={}",
            day(14)
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains("at most 60 characters"), "{html}");
    // At the field, tied to it for screen readers, with the form open to correct it.
    assert!(
        html.contains(r#"aria-invalid="true" aria-describedby="origin-error""#),
        "{html}"
    );
    assert!(html.contains(r#"<span class="field-error" id="origin-error">"#));
    assert!(html.contains(r#"<details class="change" open>"#), "{html}");
    // Impossible passenger mixes are explained at their fields too.
    let (status, _, html) = page(
        &app,
        &format!(
            "/flights?origin=JFK&destination=LAX&departure_date={}&adults=1&infants=2",
            day(14)
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains(r#"id="infants-error""#), "{html}");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Checkout answers, with a stand-in booking-service that answers as told

/// A booking-service that answers checkouts from a script and records what it was sent.
#[derive(Clone, Default)]
struct StandIn {
    /// The next answers to `POST /api/v1/bookings`; 201 with `booking` when empty.
    script: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(u16, serde_json::Value)>>>,
    /// (Idempotency-Key, body) of every checkout received.
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
    /// What `GET /api/v1/bookings/{reference}` answers.
    booking: std::sync::Arc<std::sync::Mutex<serde_json::Value>>,
}

fn booking_json(reference: &str, status: &str, refund: Option<i64>) -> serde_json::Value {
    let mut b = json!({
        "reference": reference, "status": status,
        "total": {"amount": 45000, "currency": "USD"},
        "items": [{"offer_id": "k.p.m", "kind": "flight", "summary": "JFK → LAX",
                   "total": {"amount": 45000, "currency": "USD"},
                   "passengers": {"adults": 1, "children": 0, "infants": 0}, "rooms": null,
                   "refundable": false, "refund_until": null, "starts_at": null}],
        "payment": null,
        "travellers": [{"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10"}],
        "contact": {"email": "ada@example.com"},
        "created_at": "2026-01-01T10:00:00Z",
        "updated_at": "2026-01-01T10:00:00Z"
    });
    if let Some(r) = refund {
        b["refund"] = json!({"amount": r, "currency": "USD"});
    }
    b
}

fn problem(slug: &str, status: u16, extra: serde_json::Value) -> (u16, serde_json::Value) {
    let mut body = json!({
        "type": format!("https://ota-travel.example.com/problems/{slug}"),
        "title": "x", "detail": "A detail the web site does not show."
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    (status, body)
}

impl StandIn {
    async fn start(&self) -> String {
        use axum::extract::State;
        use axum::http::HeaderMap;
        use axum::routing::{get, post};
        async fn checkout(
            State(s): State<StandIn>,
            headers: HeaderMap,
            axum::Json(body): axum::Json<serde_json::Value>,
        ) -> axum::response::Response {
            use axum::response::IntoResponse;
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            s.seen.lock().expect("lock").push((key, body));
            let next = s.script.lock().expect("lock").pop_front();
            let (status, body) =
                next.unwrap_or_else(|| (201, s.booking.lock().expect("lock").clone()));
            (
                axum::http::StatusCode::from_u16(status).expect("a status"),
                [("content-type", "application/problem+json")],
                body.to_string(),
            )
                .into_response()
        }
        async fn read(State(s): State<StandIn>) -> axum::Json<serde_json::Value> {
            axum::Json(s.booking.lock().expect("lock").clone())
        }
        *self.booking.lock().expect("lock") = booking_json("WEB234", "CONFIRMED", None);
        let app = axum::Router::new()
            .route("/api/v1/bookings", post(checkout))
            .route("/api/v1/bookings/{reference}", get(read))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn then(&self, answer: (u16, serde_json::Value)) {
        self.script.lock().expect("lock").push_back(answer);
    }

    fn seen(&self) -> Vec<(String, serde_json::Value)> {
        self.seen.lock().expect("lock").clone()
    }
}

/// The web site alone, its booking-service the stand-in and every other peer the real
/// application; a signed-in traveller with a flight in the cart.
struct CheckoutRig {
    app: TestApp,
    web: TestApp,
    stand_in: StandIn,
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

impl CheckoutRig {
    async fn start() -> CheckoutRig {
        let backend = backends().await.remove(0);
        let app = TestApp::spawn(&backend).await;
        let stand_in = StandIn::default();
        let booking_url = stand_in.start().await;
        let mut args = serve_args(&backend, &testkit::temp_dir());
        args.service = Some(ota::Service::Frontend);
        let peers = &mut args.settings.peers;
        for url in [
            &mut peers.auth,
            &mut peers.search,
            &mut peers.cart,
            &mut peers.payment,
        ] {
            *url = Some(app.api.clone());
        }
        peers.booking = Some(booking_url);
        let web = TestApp::spawn_with(backend.label, args).await;
        let token = app.signed_in().await;
        let (_, search) = app
            .get(
                &format!(
                    "/api/v1/flights/search?origin=JFK&destination=LAX&departure_date={}",
                    day(14)
                ),
                None,
            )
            .await;
        let offer = search["offers"][0]["offer_id"]
            .as_str()
            .expect("an offer")
            .to_owned();
        let (status, _, item) = app
            .call(
                reqwest::Method::POST,
                "/api/v1/cart/items",
                Some(json!({"offer_id": offer})),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{item}");
        let csrf = "c".repeat(43);
        CheckoutRig {
            app,
            web,
            stand_in,
            cookie: format!("__Host-ota_access={token}; __Host-ota_csrf={csrf}"),
            csrf,
            http: crate::common::http_builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    /// The checkout form's idempotency key, as a fresh render carries it.
    async fn render(&self) -> String {
        let (status, _, html) = page(&self.web, "/checkout", Some(&self.cookie)).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let start = html
            .find(r#"name="idempotency_key" value=""#)
            .expect("an idempotency key")
            + r#"name="idempotency_key" value=""#.len();
        html[start..].split('"').next().expect("a key").to_owned()
    }

    async fn send(&self, key: &str) -> (StatusCode, String, String) {
        let res = self
            .http
            .post(format!("{}/checkout", self.web.api))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("csrf", &self.csrf),
                ("idempotency_key", key),
                ("travellers", "1"),
                ("first_name_0", "Ada"),
                ("last_name_0", "Lovelace"),
                ("date_of_birth_0", "1985-12-10"),
                ("email", "ada@example.com"),
                ("card_number", "4242 4242 4242 4242"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
                ("card_holder", "Ada Lovelace"),
            ]))
            .send()
            .await
            .expect("an answer");
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, location, res.text().await.expect("body"))
    }

    async fn stop(self) {
        self.web.stop().await;
        self.app.stop().await;
    }
}

#[tokio::test]
async fn a_payment_service_fault_at_checkout_is_never_a_declined_card() {
    let rig = CheckoutRig::start().await;
    // Unreachable payment-service mid-checkout: the booking settles later.
    for slug in ["unavailable", "timeout"] {
        rig.stand_in.then(problem(
            slug,
            503,
            json!({"reference": "WEB234", "status": "PAYMENT_PENDING"}),
        ));
        let key = rig.render().await;
        let (status, _, html) = rig.send(&key).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{slug}: {html}");
        assert!(
            html.contains("We could not reach the payment service"),
            "{html}"
        );
        assert!(
            html.contains("Your booking WEB234 is being settled"),
            "{html}"
        );
        assert!(html.contains("nothing is charged twice"), "{html}");
        assert!(html.contains(r#"href="/bookings/WEB234""#), "{html}");
        assert!(!html.to_lowercase().contains("declined"), "{html}");
    }
    // Recovery found the payment never went through: nothing charged, try again.
    rig.stand_in.then(problem(
        "payment-unavailable",
        503,
        json!({"reference": "WEB234", "status": "FAILED"}),
    ));
    let key = rig.render().await;
    let (status, _, html) = rig.send(&key).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{html}");
    assert!(
        html.contains("The payment service was unavailable"),
        "{html}"
    );
    assert!(html.contains("nothing was charged"), "{html}");
    assert!(html.contains(r#"<form method="post" action="/checkout""#));
    assert!(!html.to_lowercase().contains("declined"), "{html}");
    // Only a refusal by the card provider says the card was refused.
    rig.stand_in.then(problem(
        "payment-declined",
        402,
        json!({"reference": "WEB234", "status": "FAILED", "decline_code": "insufficient_funds"}),
    ));
    let key = rig.render().await;
    let (status, _, html) = rig.send(&key).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{html}");
    assert!(html.contains("Payment declined"), "{html}");
    assert!(html.contains("insufficient funds"), "{html}");
    rig.stop().await;
}

#[tokio::test]
async fn a_checkout_form_sent_twice_shows_the_booking_the_first_send_made() {
    let rig = CheckoutRig::start().await;
    // Two sends of one form at once (a double click, a reload while paying): one
    // checkout, the same key and the same request, so booking-service answers it once.
    let key = rig.render().await;
    let (a, b) = tokio::join!(rig.send(&key), rig.send(&key));
    for (status, location, html) in [&a, &b] {
        assert_eq!(*status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(location, "/bookings/WEB234?confirmed=1");
    }
    let seen = rig.stand_in.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, key);
    assert_eq!(seen[0], seen[1], "both sends must be the same checkout");
    // A new render is a new checkout.
    let other = rig.render().await;
    assert_ne!(other, key);

    // While the first send is still running, the second waits for its outcome.
    rig.stand_in.then(problem("in-progress", 409, json!({})));
    let (status, location, html) = rig.send(&key).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(location, "/bookings/WEB234?confirmed=1");

    // Another tab's checkout took the cart: its booking is shown, not an error.
    rig.stand_in.then(problem(
        "cart-taken",
        409,
        json!({"reference": "WEB789", "status": "PAYMENT_PENDING"}),
    ));
    let (status, location, html) = rig.send(&other).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(location, "/bookings/WEB789?confirmed=1");
    // ... and that booking's page says it is still being completed, not confirmed.
    *rig.stand_in.booking.lock().expect("lock") = booking_json("WEB789", "HELD", None);
    let (status, _, html) = page(&rig.web, &location, Some(&rig.cookie)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("Booking confirmed"), "{html}");
    assert!(html.contains("still completing this booking"), "{html}");

    // A sold-out answer naming a booking is still a sold-out answer.
    rig.stand_in.then(problem(
        "sold-out",
        409,
        json!({"reference": "WEB555", "status": "FAILED"}),
    ));
    let key = rig.render().await;
    let (status, _, html) = rig.send(&key).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("Sold out"), "{html}");
    rig.stop().await;
}

#[tokio::test]
async fn the_booking_page_tells_the_bookings_own_state_and_traveller_errors_sit_at_their_field() {
    let rig = CheckoutRig::start().await;
    // Nothing in the address makes a refund appear.
    let (status, _, html) = page(
        &rig.web,
        "/bookings/WEB234?cancelled=1&refund=9999999&currency=USD",
        Some(&rig.cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("cancelled"), "{html}");
    assert!(!html.contains("99,999.99"), "{html}");
    // A cancelled booking shows the refund it states.
    *rig.stand_in.booking.lock().expect("lock") = booking_json("WEB234", "CANCELLED", Some(1234));
    let (_, _, html) = page(&rig.web, "/bookings/WEB234", Some(&rig.cookie)).await;
    assert!(
        html.contains("Your booking is cancelled. Refund: <strong>$12.34</strong>"),
        "{html}"
    );

    // A traveller refused by booking-service is marked at the traveller's field.
    rig.stand_in.then(problem(
        "validation",
        422,
        json!({"errors": [{"field": "travellers[0].date_of_birth",
                           "message": "makes this traveller a child on the day of the first departure: the flight is for 1 adult"}]}),
    ));
    let key = rig.render().await;
    let (status, _, html) = rig.send(&key).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains(r#"aria-invalid="true" aria-describedby="date_of_birth_0-error""#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"id="date_of_birth_0-error">The date of birth makes this traveller a child"#
        ),
        "{html}"
    );
    assert!(
        html.contains("Traveller 1 (adult): the date of birth"),
        "{html}"
    );
    // No promise of an e-mail the product does not send.
    assert!(!html.to_lowercase().contains("confirmation"), "{html}");
    rig.stop().await;
}

fn years_ago(years: i32, days: i64) -> String {
    let today = Utc::now().date_naive();
    let date = chrono::NaiveDate::from_ymd_opt(
        chrono::Datelike::year(&today) - years,
        chrono::Datelike::month(&today),
        chrono::Datelike::day(&today).min(28),
    )
    .expect("a date");
    (date - chrono::Duration::days(days)).to_string()
}

/// A family of two adults, a child and an infant: search, cart and checkout say who
/// travels, and a traveller whose age does not fit is marked at the field.
async fn family_journey(v: Visit) {
    v.goto("/").await;
    v.fill("#origin", "JFK").await;
    v.fill("#destination", "LAX").await;
    v.set("#adults", "2").await;
    v.set("#children", "1").await;
    v.set("#infants", "1").await;
    v.shot("home-family").await;
    v.click("form[action='/flights'] button[type=submit]").await;
    v.wait(".offer").await;
    let results = v.main_text().await;
    assert!(results.contains("2 adults, 1 child, 1 infant"), "{results}");
    v.shot("flight-results-family").await;
    v.click(".offer a.button").await;
    v.click("form[action='/cart/items'] button[type=submit]")
        .await;
    v.click("main a[href^='/register']").await;
    let email = format!("family-{}@example.com", uuid::Uuid::new_v4().simple());
    v.fill("#name", "Grace Hopper").await;
    v.fill("#email", &email).await;
    v.fill("#password", "violet-tulip-harbour").await;
    v.click("main form button[type=submit]").await;
    let cart = v.main_text().await;
    assert!(cart.contains("2 adults, 1 child, 1 infant"), "{cart}");
    v.shot("cart-family").await;
    v.click("a[href='/checkout']").await;
    let form = v.main_text().await;
    for label in [
        "Traveller 1: Adult",
        "Traveller 2: Adult",
        "Traveller 3: Child",
        "Traveller 4: Infant",
    ] {
        assert!(form.contains(label), "{label}: {form}");
    }
    for (i, first, dob) in [
        (0, "Grace", "1980-03-04".to_owned()),
        (1, "Ada", "1982-05-06".to_owned()),
        // Too old for a child's fare.
        (2, "Kit", "1990-01-01".to_owned()),
        (3, "Bo", years_ago(1, 0)),
    ] {
        v.fill(&format!("#first_name_{i}"), first).await;
        v.fill(&format!("#last_name_{i}"), "Hopper").await;
        v.set(&format!("#date_of_birth_{i}"), &dob).await;
    }
    v.fill("#card_number", "4242 4242 4242 4242").await;
    v.fill("#card_expiry", "12/34").await;
    v.fill("#card_cvc", "123").await;
    v.shot("checkout-family").await;
    v.click("form.checkout button[type=submit]").await;
    // Refused at the field it concerns, and in the summary.
    v.wait(".field-error").await;
    let refused = v.main_text().await;
    assert!(refused.contains("Please check the following"), "{refused}");
    assert!(
        v.c.find(Locator::Css(
            "[aria-invalid='true'], fieldset[aria-describedby='travellers-error']"
        ))
        .await
        .is_ok(),
        "the error is tied to a field"
    );
    v.shot("checkout-family-refused").await;
    // Corrected: a five-year-old child.
    v.set("#date_of_birth_2", &years_ago(5, 0)).await;
    v.fill("#card_number", "4242 4242 4242 4242").await;
    v.fill("#card_expiry", "12/34").await;
    v.fill("#card_cvc", "123").await;
    v.click("form.checkout button[type=submit]").await;
    let page = v.main_text().await;
    assert!(page.contains("Booking confirmed"), "{page}");
}

#[tokio::test]
async fn a_family_books_with_passenger_types_at_desktop_width() {
    in_browser(Width::Desktop, family_journey).await;
}

#[tokio::test]
async fn a_family_books_with_passenger_types_at_phone_width() {
    in_browser(Width::Phone, family_journey).await;
}

#[tokio::test]
async fn a_hotel_booked_on_the_web_site_reaches_its_supplier() {
    let backend = backends().await.remove(0);
    let dir = testkit::temp_dir();
    let app = TestApp::spawn_with(backend.label, serve_args(&backend, &dir)).await;
    let (check_in, check_out) = (day(20), day(22));
    // The channel manager of every hotel in Paris.
    let (_, body) = app
        .get(
            &format!("/api/v1/hotels/search?city=Paris&check_in={check_in}&check_out={check_out}&limit=50"),
            None,
        )
        .await;
    let mut codes: Vec<String> = body["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| o["hotel"]["code"].as_str().expect("code").to_owned())
        .collect();
    codes.sort();
    codes.dedup();
    let cm = crate::supplier::create_supplier(&backend, &dir, "paris-cm", &codes.join(","));

    let site = app.api.replace("127.0.0.1", "localhost");
    let browser = Browser::start(Width::Desktop).await;
    let v = Visit {
        c: browser.client.clone(),
        site,
        width: Width::Desktop,
    };
    let booked = tokio::time::timeout(JOURNEY_TIMEOUT, async {
        v.goto("/register").await;
        v.fill("#name", "Grace Hopper").await;
        v.fill(
            "#email",
            &format!("grace-{}@example.com", uuid::Uuid::new_v4().simple()),
        )
        .await;
        v.fill("#password", "violet-tulip-harbour").await;
        v.click("main form button[type=submit]").await;
        v.goto(&format!(
            "/hotels?city=Paris&check_in={check_in}&check_out={check_out}&guests=2&rooms=1"
        ))
        .await;
        v.wait(".offer").await;
        v.click(".offer a.button").await;
        v.wait("form[action='/cart/items']").await;
        v.click("form[action='/cart/items'] button[type=submit]")
            .await;
        let page = pay_for(&v, "Paris", "4242 4242 4242 4242", false).await;
        assert!(page.contains("Booking confirmed"), "{page}");
        v.text(".alert .reference").await
    })
    .await;
    browser.close().await;
    let reference = booked.expect("the booking within the journey timeout");
    let answer = crate::booking::pull_reservations_of(&app, &cm, None).await;
    assert_eq!(answer.matches("<HotelReservation ").count(), 1, "{answer}");
    assert!(
        answer.contains(&format!(r#"<UniqueID Type="14" ID="{reference}"/>"#)),
        "{answer}"
    );
    assert!(answer.contains(r#"ResStatus="Book""#), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn a_web_booking_is_emailed_with_its_calendar_pushed_to_a_signed_webhook_and_resent_on_request()
 {
    let backend = backends().await.remove(0);
    let dir = testkit::temp_dir();
    let smtp = crate::common::SmtpServer::start().await;
    let receiver = crate::common::WebhookReceiver::start(0).await;
    let mut args = serve_args(&backend, &dir);
    args.booking.notify.smtp_url = Some(smtp.url().into());
    args.booking.notify.poll = Duration::from_millis(200);
    args.booking.notify.webhook_allow_hosts = "127.0.0.1".parse().expect("an allow list");
    let app = TestApp::spawn_with(backend.label, args).await;
    // The traveller's account, with a webhook endpoint of its own.
    let (email, password, session) = app.register().await;
    let traveller = crate::booking::Traveller {
        token: session["access_token"].as_str().expect("token").to_owned(),
    };
    let (status, endpoint) = crate::notifications::register_endpoint(
        &app,
        &traveller,
        &receiver.url,
        json!(["booking.confirmed"]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");

    let site = app.api.replace("127.0.0.1", "localhost");
    let browser = Browser::start(Width::Desktop).await;
    let v = Visit {
        c: browser.client.clone(),
        site: site.clone(),
        width: Width::Desktop,
    };
    let journey = tokio::time::timeout(JOURNEY_TIMEOUT, async {
        v.goto("/login").await;
        v.fill("#email", &email).await;
        v.fill("#password", &password).await;
        v.click("main form button[type=submit]").await;
        search_and_choose(&v, false).await;
        let page = pay(&v, "4242 4242 4242 4242", false).await;
        assert!(page.contains("Booking confirmed"), "{page}");
        assert!(page.contains(&format!("on its way to {email}")), "{page}");
        let reference = v.text(".alert .reference").await;
        let confirmation = page.clone();
        v.wait("a[href$='/calendar.ics']").await;
        // Once the confirmation has gone (a resend of one still on its way is that
        // same message), resend: a second message, and the page says where it went.
        testkit::eventually("the confirmation", Duration::from_secs(30), || async {
            !smtp.messages().is_empty()
        })
        .await;
        v.click("form[action$='/resend-confirmation'] button").await;
        let page = v.main_text().await;
        assert!(
            page.contains(&format!("We sent the confirmation again to {email}")),
            "{page}"
        );
        v.shot("booking-resent").await;
        let cookies =
            v.c.get_all_cookies()
                .await
                .expect("cookies")
                .iter()
                .map(|c| format!("{}={}", c.name(), c.value()))
                .collect::<Vec<_>>()
                .join("; ");
        (reference, cookies, confirmation)
    })
    .await;
    browser.close().await;
    let (reference, cookies, confirmation) = journey.expect("the journey within its timeout");

    let (_, booking) = app
        .get(
            &format!("/api/v1/bookings/{reference}"),
            Some(&traveller.token),
        )
        .await;
    // The confirmation page shows every segment: number, carrier, local times with dates.
    for slice in booking["items"][0]["itinerary"]["slices"]
        .as_array()
        .expect("slices")
    {
        for s in slice["segments"].as_array().expect("segments") {
            let departs = chrono::DateTime::parse_from_rfc3339(
                s["departure_at"].as_str().expect("a departure"),
            )
            .expect("RFC 3339");
            let line = format!(
                "{} {} (economy): {} {} →",
                s["flight_number"].as_str().expect("number"),
                s["carrier_name"].as_str().expect("carrier"),
                s["origin"].as_str().expect("origin"),
                departs.format("%a %-d %b %Y %H:%M"),
            );
            assert!(confirmation.contains(&line), "{line} in {confirmation}");
        }
    }
    // One confirmation, then its resend: two messages, two Message-IDs, one calendar.
    testkit::eventually("two messages", Duration::from_secs(30), || async {
        smtp.messages().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mail = smtp.messages();
    assert_eq!(mail.len(), 2, "the confirmation and its resend");
    let ids: Vec<String> = mail
        .iter()
        .map(|m| crate::common::header(m, "Message-ID").expect("a Message-ID"))
        .collect();
    assert_ne!(ids[0], ids[1], "a resend is a new message");
    let first = crate::notifications::check_calendar(
        &crate::notifications::calendar_attachment(&mail[0]).expect("a calendar"),
        &booking,
        "the confirmation",
    );
    let again = crate::notifications::check_calendar(
        &crate::notifications::calendar_attachment(&mail[1]).expect("a calendar"),
        &booking,
        "the resend",
    );
    assert_eq!(first, again, "the same calendar entries, UIDs included");

    // One signed booking.confirmed webhook, under the event id of the e-mail.
    let got = receiver.received();
    assert_eq!(got.len(), 1, "one webhook: {got:?}");
    assert!(ids[0].starts_with(&format!("<{}@", got[0].headers["webhook-id"])));
    let input = json!({
        "secret": endpoint["secret"],
        "requests": [{"headers": got[0].headers, "body": got[0].body}],
    });
    let verified = crate::common::python("verify_webhooks.py", &input.to_string());
    assert_eq!(verified["verified"].as_array().map(Vec::len), Some(1));

    // The web site's calendar download is the same file.
    let res = crate::common::http()
        .get(format!("{site}/bookings/{reference}/calendar.ics"))
        .header("cookie", cookies)
        .send()
        .await
        .expect("the download");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .is_ok_and(|d| d.contains(&format!("booking-{reference}.ics")))
    );
    let downloaded = crate::notifications::check_calendar(
        &res.text().await.expect("ics"),
        &booking,
        "the download",
    );
    assert_eq!(downloaded, first);
    app.stop().await;
}
