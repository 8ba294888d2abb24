use diesel_async::pooled_connection::deadpool::PoolError;

/// A database failure as seen by the platform's callers.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[from] PoolError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database pool could not be built: {0}")]
    Build(String),
    #[error("database migrations failed: {0}")]
    Migration(String),
    #[error("invalid database URL: {0}")]
    Url(String),
}

impl DbError {
    /// Whether the failure is a unique-constraint violation (e.g. a duplicate code).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}
