//! auth-service storage: users and refresh-token families, on either engine.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ota_platform::StoreError;
use ota_platform::db::Db;
use ota_platform::on_pool;
use uuid::Uuid;

use crate::domain::Email;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub email: Email,
    pub name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub email: Email,
    pub name: String,
    pub password_hash: String,
}

pub struct NewUser {
    pub id: Uuid,
    pub email: Email,
    pub name: String,
    pub password_hash: String,
}

/// A refresh token as stored: its hash, never the token itself.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    pub token_hash: Vec<u8>,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now spent and its successor stored.
    Rotated { user_id: Uuid },
    /// The token had already been spent: its whole family is now revoked.
    Reused { family_id: Uuid },
    /// Unknown, expired or revoked.
    Invalid,
}

#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    /// `Conflict("users_email_key")` when the e-mail is taken.
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;
    async fn credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError>;
    async fn user(&self, id: Uuid) -> Result<Option<User>, StoreError>;
    async fn insert_refresh(&self, record: &RefreshRecord) -> Result<(), StoreError>;
    /// Spends `presented` and stores `next` in its family, atomically. `next.family_id`
    /// and `next.user_id` are taken from the spent token.
    async fn rotate_refresh(
        &self,
        presented: &[u8],
        next: &RefreshRecord,
    ) -> Result<Rotation, StoreError>;
    /// Revokes the family `token_hash` belongs to (logout). Unknown tokens are ignored.
    async fn revoke_family_of(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// The store on either engine: the SQL is standard enough to be written once.
pub struct SqlAuthStore {
    db: Db,
}

impl SqlAuthStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[derive(sqlx::FromRow)]
struct Spent {
    user_id: Uuid,
    family_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct TokenState {
    family_id: Uuid,
    spent_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl AuthStore for SqlAuthStore {
    #[tracing::instrument(skip_all)]
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, User>(
                "INSERT INTO users (id, email, email_normalized, name, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id, email, name",
            )
            .bind(user.id)
            .bind(user.email.as_str())
            .bind(user.email.normalized())
            .bind(&user.name)
            .bind(&user.password_hash)
            .bind(Utc::now())
            .fetch_one(pool)
            .await
            .map_err(StoreError::from)
        })
    }

    #[tracing::instrument(skip_all)]
    async fn credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, Credentials>(
                "SELECT id, email, name, password_hash FROM users WHERE email_normalized = $1",
            )
            .bind(email.normalized())
            .fetch_optional(pool)
            .await
            .map_err(StoreError::from)
        })
    }

    #[tracing::instrument(skip(self))]
    async fn user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, User>("SELECT id, email, name FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::from)
        })
    }

    #[tracing::instrument(skip_all)]
    async fn insert_refresh(&self, r: &RefreshRecord) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&r.token_hash)
            .bind(r.family_id)
            .bind(r.user_id)
            .bind(r.issued_at)
            .bind(r.expires_at)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(StoreError::from)
        })
    }

    #[tracing::instrument(skip_all)]
    async fn rotate_refresh(
        &self,
        presented: &[u8],
        next: &RefreshRecord,
    ) -> Result<Rotation, StoreError> {
        let now = next.issued_at;
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // The conditional update decides the race: of two concurrent refreshes with
            // one token, exactly one spends it; the other sees it spent.
            let spent = sqlx::query_as::<_, Spent>(
                "UPDATE refresh_tokens SET spent_at = $2
                 WHERE token_hash = $1 AND spent_at IS NULL AND revoked_at IS NULL AND expires_at > $2
                 RETURNING user_id, family_id",
            )
            .bind(presented)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(spent) = spent {
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&next.token_hash)
                .bind(spent.family_id)
                .bind(spent.user_id)
                .bind(next.issued_at)
                .bind(next.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(Rotation::Rotated { user_id: spent.user_id });
            }
            let state = sqlx::query_as::<_, TokenState>(
                "SELECT family_id, spent_at FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(presented)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match state {
                Some(TokenState { family_id, spent_at: Some(_) }) => {
                    sqlx::query(
                        "UPDATE refresh_tokens SET revoked_at = $2
                         WHERE family_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(family_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    Rotation::Reused { family_id }
                }
                _ => Rotation::Invalid,
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_family_of(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $2
                 WHERE revoked_at IS NULL
                   AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
            )
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(StoreError::from)
        })
    }
}
