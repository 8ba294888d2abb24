//! The SQL migrations of `migrations/`, embedded in the binary.

use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::DbError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../../migrations");

/// Changes whenever a file under `migrations/` changes (computed at build time).
pub const FINGERPRINT: &str = env!("HUB_MIGRATIONS_FINGERPRINT");

/// Applies pending migrations to the database at `url` and returns the
/// versions it applied. Runs on a blocking thread because Diesel's migration
/// harness is synchronous; works on any tokio runtime flavour.
pub async fn run_pending(url: &str) -> Result<Vec<String>, DbError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| DbError::Migration(format!("cannot connect: {e}")))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
    .map_err(|e| DbError::Migration(format!("migration task failed: {e}")))?
}
