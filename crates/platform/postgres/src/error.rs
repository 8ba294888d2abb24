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
    /// The unique constraint this failure violated, e.g. `chantiers_code_key`
    /// (lets a repository tell a duplicate business key from any other clash).
    pub fn violated_unique_constraint(&self) -> Option<&str> {
        match self {
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                info,
            )) => info.constraint_name(),
            _ => None,
        }
    }
}
