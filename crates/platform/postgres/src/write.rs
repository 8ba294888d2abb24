//! What every repository's write transaction needs: one error type that
//! tells a stale optimistic write and a duplicate key from a real failure,
//! the check after a version-guarded statement, and the conversion of a
//! failure into the kernel's [`StorageError`] (cause kept, for the logs).

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::StorageError;
use uuid::Uuid;

use crate::DbError;

/// Why a repository's write transaction was rolled back.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The row the write was guarded on does not exist (any more).
    #[error("the row does not exist")]
    Missing,
    /// The row exists at another version: someone else changed it since it
    /// was read (optimistic locking).
    #[error("the row was changed by another writer")]
    Changed,
    /// A unique constraint refused the write; its name tells which business
    /// key clashed (e.g. `chantiers_code_key`).
    #[error("unique constraint `{constraint}` violated")]
    Duplicate {
        constraint: String,
        #[source]
        source: DbError,
    },
    #[error(transparent)]
    Db(DbError),
}

impl WriteError {
    /// The unique constraint a [`WriteError::Duplicate`] names.
    pub fn duplicate_of(&self) -> Option<&str> {
        match self {
            WriteError::Duplicate { constraint, .. } => Some(constraint),
            _ => None,
        }
    }
}

impl From<DbError> for WriteError {
    fn from(error: DbError) -> Self {
        match error.violated_unique_constraint().map(str::to_owned) {
            Some(constraint) => WriteError::Duplicate {
                constraint,
                source: error,
            },
            None => WriteError::Db(error),
        }
    }
}

impl From<diesel::result::Error> for WriteError {
    fn from(error: diesel::result::Error) -> Self {
        DbError::from(error).into()
    }
}

impl From<WriteError> for StorageError {
    fn from(error: WriteError) -> Self {
        StorageError::new(error)
    }
}

impl From<DbError> for StorageError {
    fn from(error: DbError) -> Self {
        StorageError::new(error)
    }
}

/// A storage failure from any database error (`map_err(storage)`).
pub fn storage(error: impl Into<DbError>) -> StorageError {
    StorageError::new(error.into())
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

/// Call after `UPDATE`/`DELETE … WHERE id = $1 AND version = $2` on the row
/// `id` of `table` (whose key column is `id`), with the number of rows it
/// `affected`: `Ok` when it hit the row; otherwise [`WriteError::Missing`] or
/// [`WriteError::Changed`], which rolls the transaction back.
pub async fn guarded(
    conn: &mut AsyncPgConnection,
    table: &'static str,
    id: Uuid,
    affected: usize,
) -> Result<(), WriteError> {
    if affected > 0 {
        return Ok(());
    }
    // `table` is a compile-time constant of the calling repository, never input.
    let found: Exists = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1) AS exists"
    ))
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    Err(if found.exists {
        WriteError::Changed
    } else {
        WriteError::Missing
    })
}
