//! The public auth API of API.md.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::Utc;
use ota_contract::auth::{LoginRequest, RefreshRequest, RegisterRequest, Session, UserView};
use ota_platform::cache::ServiceCache;
use ota_platform::http::{ClientAddress, Json};
use ota_platform::problem::format_chain;
use ota_platform::tokens::{AUDIENCE_PUBLIC, AuthUser, Claims, ISSUER, KeyRing};
use ota_platform::{FieldError, Problem, StoreError};
use sha2::{Digest, Sha256};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{self, Email, Name, Password};
use crate::passwords;
use crate::store::{AuthStore, NewUser, RefreshRecord, Rotation, User};

/// Access tokens live 15 minutes.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// Refresh tokens live 30 days, each use replacing it with a new one.
pub const REFRESH_TTL_DAYS: i64 = 30;
/// Failed logins allowed per account, and per client address, in one window.
pub const ACCOUNT_FAILURES: u64 = 5;
pub const ADDRESS_FAILURES: u64 = 30;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct AuthState {
    pub store: Arc<dyn AuthStore>,
    pub cache: ServiceCache,
    pub keys: Arc<KeyRing>,
}

/// Every route of auth-service with its OpenAPI operation: one list for both.
pub fn router(state: AuthState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .with_state(state)
}

/// What the route list does not say: the tag and the types named in the document.
#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(RegisterRequest, LoginRequest, RefreshRequest, Session, UserView, Problem, FieldError)),
    tags((name = "auth", description = "Accounts and tokens"))
)]
pub struct ApiDoc;

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email.to_string(),
            name: u.name,
        }
    }
}

fn internal(context: &str, e: &anyhow::Error) -> Problem {
    tracing::error!(error = %format!("{e:#}"), "{context}");
    Problem::internal()
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_refresh(user_id: Uuid, family_id: Uuid) -> (String, RefreshRecord) {
    let token = B64.encode(rand::random::<[u8; 32]>());
    let now = Utc::now();
    let record = RefreshRecord {
        token_hash: token_hash(&token),
        family_id,
        user_id,
        issued_at: now,
        expires_at: now + chrono::Duration::days(REFRESH_TTL_DAYS),
    };
    (token, record)
}

fn access_token(keys: &KeyRing, user: &UserView) -> String {
    let now = Utc::now().timestamp();
    keys.sign(&Claims {
        sub: user.id.to_string(),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE_PUBLIC.to_owned(),
        exp: now + ACCESS_TTL_SECS,
        nbf: now,
        iat: now,
        jti: Uuid::now_v7().to_string(),
        email: Some(user.email.clone()),
        name: Some(user.name.clone()),
    })
}

fn session(keys: &KeyRing, user: UserView, refresh_token: String) -> Session {
    Session {
        access_token: access_token(keys, &user),
        user,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_TTL_SECS,
    }
}

/// Starts a new refresh-token family for a user and answers the session.
async fn open_session(state: &AuthState, user: UserView) -> Result<Session, Problem> {
    let (token, record) = new_refresh(user.id, Uuid::now_v7());
    state.store.insert_refresh(&record).await?;
    Ok(session(&state.keys, user, token))
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, body = Session, description = "Account created and signed in: the user, an access token valid `expires_in` seconds (900) and a refresh token valid 30 days"),
        (status = 409, body = Problem, description = "An account with this e-mail address exists already (problem `conflict`; `errors` names `email`)"),
        (status = 422, body = Problem, description = "An invalid e-mail address, name or password (problem `validation`; `errors` names each field)")))]
async fn register(
    State(state): State<AuthState>,
    Json(body): Json<RegisterRequest>,
) -> Result<impl IntoResponse, Problem> {
    let email = domain::email(&body.email);
    let name = Name::parse(&body.name);
    let password = Password::parse_new(&body.password, email.as_ref().ok());
    let (email, name, password) = match (email, name, password) {
        (Ok(e), Ok(n), Ok(p)) => (e, n, p),
        (e, n, p) => {
            let errors = [e.err(), p.err(), n.err()].into_iter().flatten().collect();
            return Err(Problem::invalid(errors));
        }
    };
    if state.store.credentials(&email).await?.is_some() {
        return Err(taken());
    }
    let password_hash = passwords::hash(password)
        .await
        .map_err(|e| internal("hashing a password failed", &e))?;
    let created = state
        .store
        .create_user(&NewUser {
            id: Uuid::now_v7(),
            email,
            name: name.0,
            password_hash,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => taken(),
            other => other.into(),
        })?;
    tracing::info!(user_id = %created.id, "account created");
    let session = open_session(&state, created.into()).await?;
    Ok((StatusCode::CREATED, axum::Json(session)))
}

fn taken() -> Problem {
    Problem::conflict("An account with this e-mail address already exists.").with(
        "errors",
        [FieldError {
            field: "email".to_owned(),
            message: "is already registered".to_owned(),
        }],
    )
}

fn account_key(email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let short: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("login-failures:account:{short}")
}

fn address_key(address: &str) -> String {
    format!("login-failures:address:{address}")
}

/// Sign in with e-mail and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = Session, description = "Signed in: the user, an access token valid `expires_in` seconds (900) and a refresh token valid 30 days"),
        (status = 401, body = Problem, description = "Wrong e-mail address or password; neither says which (problem `unauthorized`)"),
        (status = 429, body = Problem, description = "Too many failed logins for this account (5) or from this address (30) within 15 minutes (problem `rate-limited`; `Retry-After` in seconds)")))]
async fn login(
    State(state): State<AuthState>,
    ClientAddress(address): ClientAddress,
    Json(body): Json<LoginRequest>,
) -> Result<axum::Json<Session>, Problem> {
    let bad_credentials = || Problem::unauthorized("Invalid e-mail or password.");
    let email = body.email.trim().to_lowercase();
    let account = account_key(&email);
    let client = address_key(&address);
    // Throttling fails closed: without the cache we cannot count failures, so we refuse
    // logins (503) rather than let guessing run unbounded.
    for (key, limit) in [(&account, ACCOUNT_FAILURES), (&client, ADDRESS_FAILURES)] {
        if let Some(c) = state.cache.counter(key).await?
            && c.value >= limit
        {
            tracing::warn!(
                throttled = key.split(':').nth(1).unwrap_or_default(),
                "login throttled"
            );
            return Err(Problem::too_many_requests(c.resets_in.as_secs() + 1));
        }
    }
    let Some(password) = Password::parse_presented(&body.password) else {
        return Err(bad_credentials());
    };
    let found = match Email::parse(&email) {
        Ok(e) => state.store.credentials(&e).await?,
        Err(_) => None,
    };
    let stored = found.as_ref().map(|c| c.password_hash.clone());
    let ok = passwords::verify(password, stored)
        .await
        .map_err(|e| internal("verifying a password failed", &e))?;
    match (ok, found) {
        (true, Some(c)) => {
            state.cache.delete(&account).await?;
            let user = UserView {
                id: c.id,
                email: c.email.to_string(),
                name: c.name,
            };
            tracing::info!(user_id = %user.id, "signed in");
            Ok(axum::Json(open_session(&state, user).await?))
        }
        _ => {
            state.cache.incr(&account, THROTTLE_WINDOW).await?;
            state.cache.incr(&client, THROTTLE_WINDOW).await?;
            Err(bad_credentials())
        }
    }
}

/// Exchange a refresh token for a new pair. The old token is spent; presenting a spent
/// token again revokes its whole family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = Session, description = "A new session: a new access token and a new refresh token; the one presented is spent"),
        (status = 401, body = Problem, description = "The refresh token is unknown, expired or revoked, or was spent already, which signs out every session it started (problem `unauthorized`)")))]
async fn refresh(
    State(state): State<AuthState>,
    Json(body): Json<RefreshRequest>,
) -> Result<axum::Json<Session>, Problem> {
    if body.refresh_token.is_empty() || body.refresh_token.len() > 256 {
        return Err(Problem::unauthorized("Invalid refresh token."));
    }
    let presented = token_hash(&body.refresh_token);
    // The family and user of the successor come from the spent token inside the store.
    let (token, next) = new_refresh(Uuid::nil(), Uuid::nil());
    match state.store.rotate_refresh(&presented, &next).await? {
        Rotation::Rotated { user_id } => {
            let user = state
                .store
                .user(user_id)
                .await?
                .ok_or_else(|| Problem::unauthorized("Invalid refresh token."))?;
            Ok(axum::Json(session(&state.keys, user.into(), token)))
        }
        Rotation::Reused { family_id } => {
            tracing::warn!(%family_id, "a spent refresh token was presented again: its family is revoked");
            Err(Problem::unauthorized(
                "This refresh token was already used; every session it started has been signed out.",
            ))
        }
        Rotation::Invalid => Err(Problem::unauthorized("Invalid or expired refresh token.")),
    }
}

/// Sign out: revokes the refresh token's family. Always 204.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out: the refresh token's family is revoked; also answered for an unknown or empty token")))]
async fn logout(
    State(state): State<AuthState>,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, Problem> {
    if !body.refresh_token.is_empty() && body.refresh_token.len() <= 256 {
        let hash = token_hash(&body.refresh_token);
        if let Err(e) = state.store.revoke_family_of(&hash, Utc::now()).await {
            tracing::error!(error = %format_chain(&e), "logout could not revoke a refresh token");
            return Err(e.into());
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses(
        (status = 200, body = UserView, description = "The signed-in user: id, e-mail address and name"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one, or the account no longer exists (problem `unauthorized`)")),
    security(("bearer" = [])))]
async fn me(
    State(state): State<AuthState>,
    user: AuthUser,
) -> Result<axum::Json<UserView>, Problem> {
    let found = state
        .store
        .user(user.id)
        .await?
        .ok_or_else(|| Problem::unauthorized("This account no longer exists."))?;
    Ok(axum::Json(found.into()))
}
