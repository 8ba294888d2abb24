//! Data retention (GDPR art. 5(1)(e)): tables whose old rows are deleted in
//! small batches, one instance at a time.

use async_trait::async_trait;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::outbox;

/// A target and how many days its rows are kept.
#[derive(Clone)]
pub struct Retained {
    pub target: std::sync::Arc<dyn RetentionTarget>,
    pub days: u32,
}

impl std::fmt::Debug for Retained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retained")
            .field("target", &self.target.name())
            .field("days", &self.days)
            .finish()
    }
}

/// A kind of rows with a retention period.
#[async_trait]
pub trait RetentionTarget: Send + Sync {
    /// For logs and reports, e.g. `event_logs`.
    fn name(&self) -> &'static str;
    /// Deletes at most `batch` rows older than `cutoff`; returns how many.
    async fn purge_batch(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
        batch: i64,
    ) -> Result<usize, diesel::result::Error>;
    /// How many rows a purge with `cutoff` would delete.
    async fn count(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
    ) -> Result<i64, diesel::result::Error>;
}

/// Dispatched outbox rows (undispatched ones are kept whatever their age:
/// they have not been delivered yet).
#[derive(Debug, Clone, Copy)]
pub struct DispatchedEventLogs;

#[async_trait]
impl RetentionTarget for DispatchedEventLogs {
    fn name(&self) -> &'static str {
        "event_logs"
    }

    async fn purge_batch(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
        batch: i64,
    ) -> Result<usize, diesel::result::Error> {
        outbox::delete_dispatched_before(conn, cutoff, batch).await
    }

    async fn count(
        &self,
        conn: &mut AsyncPgConnection,
        cutoff: OffsetDateTime,
    ) -> Result<i64, diesel::result::Error> {
        outbox::count_dispatched_before(conn, cutoff).await
    }
}

/// Deletes everything older than `cutoff` from `target`, batch after batch,
/// each batch its own statement so that no lock is held for long. Calls
/// `progress` with the running total after each batch.
pub async fn purge(
    conn: &mut AsyncPgConnection,
    target: &dyn RetentionTarget,
    cutoff: OffsetDateTime,
    batch: i64,
    mut progress: impl FnMut(usize),
) -> Result<usize, diesel::result::Error> {
    let mut total = 0;
    loop {
        let deleted = target.purge_batch(conn, cutoff, batch).await?;
        total += deleted;
        if deleted > 0 {
            progress(total);
        }
        if (deleted as i64) < batch {
            return Ok(total);
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Key of the advisory lock that keeps retention to one instance at a time.
pub const RETENTION_LOCK_KEY: i64 = 0x4855_425f_5245_5445; // "HUB_RETE"

/// Takes the retention lock on `conn` if no other session holds it.
pub async fn try_lock(conn: &mut AsyncPgConnection) -> Result<bool, diesel::result::Error> {
    let row: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(RETENTION_LOCK_KEY)
        .get_result(conn)
        .await?;
    Ok(row.locked)
}

/// Releases the lock taken by [`try_lock`] on the same connection.
pub async fn unlock(conn: &mut AsyncPgConnection) -> Result<(), diesel::result::Error> {
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(RETENTION_LOCK_KEY)
        .execute(conn)
        .await
        .map(|_| ())
}
