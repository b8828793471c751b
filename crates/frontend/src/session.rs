//! The browser session: access and refresh tokens in `__Host-` cookies (HttpOnly, Secure,
//! SameSite=Lax, Path=/), refreshed on the server when the access token runs out, and a
//! per-session CSRF token that every form echoes.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::Utc;
use ota_contract::auth::Session as SignedIn;
use ota_platform::client::PeerError;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::Web;

pub const ACCESS_COOKIE: &str = "__Host-ota_access";
pub const REFRESH_COOKIE: &str = "__Host-ota_refresh";
pub const CSRF_COOKIE: &str = "__Host-ota_csrf";

/// Refresh tokens live 30 days at auth-service; the cookie no longer.
const REFRESH_MAX_AGE: i64 = 30 * 24 * 3600;
/// Refresh a little before the access token runs out, so a page's several API calls
/// never straddle its expiry.
const EXPIRY_MARGIN_SECS: i64 = 30;

/// Who is signed in, as far as the access token says.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub email: String,
    pub access_token: String,
}

/// The session of one request and the cookies its answer must set.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: Option<User>,
    pub csrf: String,
    refresh_token: Option<String>,
    pub set_cookies: Vec<String>,
}

fn cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax")
}

/// Cookie values we set are base64url or JWTs; anything else is not ours.
fn plausible(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 4096
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
}

fn cookies(parts: &Parts) -> Vec<(String, String)> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

fn find(all: &[(String, String)], name: &str) -> Option<String> {
    all.iter()
        .find(|(n, v)| n == name && plausible(v))
        .map(|(_, v)| v.clone())
}

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Reads (does not verify) an access token's claims. The services verify every token
/// they are handed; the web site only needs to know when to refresh and whom to greet,
/// and a forged cookie can only change what its own browser is shown.
fn claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    let bytes = B64.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn new_csrf() -> String {
    B64.encode(rand::random::<[u8; 32]>())
}

impl Session {
    /// Whether a submitted form carries this session's CSRF token (constant time).
    pub fn csrf_ok(&self, presented: &str) -> bool {
        !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes()))
    }

    /// Signs in: the new token pair goes into the cookies.
    pub fn sign_in(&mut self, s: SignedIn) {
        self.set_cookies.push(cookie(
            ACCESS_COOKIE,
            &s.access_token,
            s.expires_in.clamp(60, REFRESH_MAX_AGE),
        ));
        self.set_cookies
            .push(cookie(REFRESH_COOKIE, &s.refresh_token, REFRESH_MAX_AGE));
        self.refresh_token = Some(s.refresh_token);
        self.user = Some(User {
            name: s.user.name,
            email: s.user.email,
            access_token: s.access_token,
        });
    }

    /// Signs out: the token cookies are removed and the CSRF token renewed. Answers the
    /// refresh token to revoke.
    pub fn sign_out(&mut self) -> Option<String> {
        self.user = None;
        self.set_cookies.push(cookie(ACCESS_COOKIE, "", 0));
        self.set_cookies.push(cookie(REFRESH_COOKIE, "", 0));
        self.csrf = new_csrf();
        self.set_cookies
            .push(cookie(CSRF_COOKIE, &self.csrf, REFRESH_MAX_AGE));
        self.refresh_token.take()
    }
}

impl FromRequestParts<Web> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        let all = cookies(parts);
        let mut session = Session {
            user: None,
            csrf: String::new(),
            refresh_token: find(&all, REFRESH_COOKIE),
            set_cookies: Vec::new(),
        };
        match find(&all, CSRF_COOKIE).filter(|c| c.len() == 43) {
            Some(c) => session.csrf = c,
            None => {
                session.csrf = new_csrf();
                session
                    .set_cookies
                    .push(cookie(CSRF_COOKIE, &session.csrf, REFRESH_MAX_AGE));
            }
        }
        let now = Utc::now().timestamp();
        if let Some(token) = find(&all, ACCESS_COOKIE)
            && let Some(c) = claims(&token)
            && c.exp > now + EXPIRY_MARGIN_SECS
        {
            session.user = Some(User {
                name: c.name.unwrap_or_default(),
                email: c.email.unwrap_or_default(),
                access_token: token,
            });
            return Ok(session);
        }
        let Some(refresh) = session.refresh_token.clone() else {
            return Ok(session);
        };
        match web.api.refresh(&refresh).await {
            Ok(fresh) => session.sign_in(fresh),
            Err(PeerError::Status { status: 401, .. }) => {
                // Spent, revoked or expired: the browser is signed out for good.
                session.sign_out();
            }
            Err(e) => {
                // Keep the cookies: auth-service may be back on the next page.
                tracing::warn!(error = %e, "could not refresh a session");
            }
        }
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_host_only_secure_http_only_and_lax() {
        let c = cookie(ACCESS_COOKIE, "abc", 60);
        assert_eq!(
            c,
            "__Host-ota_access=abc; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn csrf_tokens_compare_exactly() {
        let s = Session {
            user: None,
            csrf: new_csrf(),
            refresh_token: None,
            set_cookies: Vec::new(),
        };
        assert_eq!(s.csrf.len(), 43);
        assert!(s.csrf_ok(&s.csrf.clone()));
        assert!(!s.csrf_ok(""));
        assert!(!s.csrf_ok(&s.csrf[..42]));
        assert!(!s.csrf_ok(&new_csrf()));
    }

    #[test]
    fn foreign_cookie_values_are_ignored() {
        let all = vec![
            (CSRF_COOKIE.to_owned(), "a b;c".to_owned()),
            (ACCESS_COOKIE.to_owned(), "x.y.z".to_owned()),
        ];
        assert_eq!(find(&all, CSRF_COOKIE), None);
        assert_eq!(find(&all, ACCESS_COOKIE).as_deref(), Some("x.y.z"));
    }

    #[test]
    fn token_claims_are_read_without_a_key() {
        let payload = B64.encode(br#"{"exp": 2000000000, "name": "Ada", "email": "a@b.c"}"#);
        let c = claims(&format!("h.{payload}.sig")).expect("claims");
        assert_eq!(c.exp, 2_000_000_000);
        assert_eq!(c.name.as_deref(), Some("Ada"));
        assert!(claims("nonsense").is_none());
    }
}
