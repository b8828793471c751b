//! The small error vocabulary every store speaks, whatever the engine.

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; names what already exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is overloaded: worth a retry later.
    #[error("database unavailable")]
    Unavailable(#[source] Source),
    #[error("database error")]
    Other(#[source] Source),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
            sqlx::Error::Database(db) => {
                if db.is_unique_violation() {
                    // PostgreSQL names the constraint; SQLite only says
                    // "UNIQUE constraint failed: table.column".
                    let what = db
                        .constraint()
                        .map(str::to_owned)
                        .or_else(|| db.message().split("failed: ").nth(1).map(str::to_owned))
                        .unwrap_or_else(|| "record".to_owned());
                    return StoreError::Conflict(what);
                }
                // PostgreSQL: serialization failure, deadlock, statement timeout,
                // shutting down, too many connections. SQLite: busy / locked.
                let transient = matches!(
                    db.code().as_deref(),
                    Some(
                        "40001"
                            | "40P01"
                            | "57014"
                            | "57P01"
                            | "57P02"
                            | "57P03"
                            | "53300"
                            | "5"
                            | "6"
                            | "517"
                            | "261"
                    )
                );
                if transient {
                    StoreError::Unavailable(Box::new(sqlx::Error::Database(db)))
                } else {
                    StoreError::Other(Box::new(sqlx::Error::Database(db)))
                }
            }
            other => StoreError::Other(Box::new(other)),
        }
    }
}
