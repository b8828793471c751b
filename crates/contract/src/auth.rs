//! auth-service's API (`/api/v1/auth/...`): accounts, sign-in and the token pair.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /api/v1/auth/register`: a new account.
// Not `Debug`: it carries a password.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada Lovelace"}))]
pub struct RegisterRequest {
    /// The sign-in address; compared without regard to case or surrounding spaces.
    pub email: String,
    /// 12 to 128 characters; common passwords are refused.
    pub password: String,
    /// How the traveller is addressed, 1 to 100 characters.
    pub name: String,
}

/// `POST /api/v1/auth/login`.
// Not `Debug`: it carries a password.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`: a refresh token (at most
/// 256 characters).
// Not `Debug`: the token signs a traveller in.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"refresh_token": "q3Jx0lq8m3YV2Qy0u5mQ5Jb7r8n0w2d4Zp6s9t1v3x5"}))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A traveller's account as the API shows it (`GET /api/v1/auth/me`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a5c4-7f7e-7b6a-9d41-2f1c5e8a9b10", "email": "ada@example.com", "name": "Ada Lovelace"}))]
pub struct UserView {
    pub id: Uuid,
    /// As registered (its case kept).
    pub email: String,
    pub name: String,
}

/// A signed-in session: the user and a fresh token pair (register, login, refresh).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "user": {"id": "0193a5c4-7f7e-7b6a-9d41-2f1c5e8a9b10", "email": "ada@example.com", "name": "Ada Lovelace"},
    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiIuLi4ifQ.c2ln",
    "refresh_token": "q3Jx0lq8m3YV2Qy0u5mQ5Jb7r8n0w2d4Zp6s9t1v3x5",
    "token_type": "Bearer",
    "expires_in": 900
}))]
pub struct Session {
    pub user: UserView,
    /// A JWT for `Authorization: Bearer`, valid `expires_in` seconds.
    pub access_token: String,
    /// Opaque; spent by its first use at `/api/v1/auth/refresh`; valid 30 days.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token is valid from now (900).
    pub expires_in: i64,
}

/// Tokens stay out of logs: only the user shows.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}
