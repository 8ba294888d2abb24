//! Work a context runs on a schedule inside the server (escalations,
//! reminders, sweeps), safe with several instances: a run takes an
//! advisory lock named after the job, so one instance at a time runs it;
//! the others skip that round. Jobs must still be idempotent (a crash can
//! cut a run short, and a later run repeats it): decide "already done" from
//! the database, in the transaction that does the work.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::sql_types::{Bool, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::Clock;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::{Database, DbError};

/// Why a run failed (logged; the next round tries again).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobError(#[source] Box<dyn std::error::Error + Send + Sync>);

impl JobError {
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

impl From<DbError> for JobError {
    fn from(error: DbError) -> Self {
        Self::new(error)
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(error: diesel::result::Error) -> Self {
        Self::new(error)
    }
}

/// A job run on a schedule.
#[async_trait]
pub trait ScheduledJob: Send + Sync {
    /// Stable name: logs, and the key of its lock.
    fn name(&self) -> &'static str;
    /// One round at `now`; returns how many items it handled.
    async fn run(&self, db: &Database, now: OffsetDateTime) -> Result<usize, JobError>;
}

/// First key of the jobs' advisory locks ("JOBS"); the second is a hash of the name.
const JOB_LOCK_CLASS: i32 = 0x4A4F_4253;

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

async fn try_lock(conn: &mut AsyncPgConnection, name: &str) -> Result<bool, diesel::result::Error> {
    let row: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked")
        .bind::<Integer, _>(JOB_LOCK_CLASS)
        .bind::<Text, _>(name)
        .get_result(conn)
        .await?;
    Ok(row.locked)
}

async fn unlock(conn: &mut AsyncPgConnection, name: &str) -> Result<(), diesel::result::Error> {
    diesel::sql_query("SELECT pg_advisory_unlock($1, hashtext($2))")
        .bind::<Integer, _>(JOB_LOCK_CLASS)
        .bind::<Text, _>(name)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Runs one round of `job` unless another instance is running it (`None`).
pub async fn run_exclusively(
    db: &Database,
    job: &dyn ScheduledJob,
    now: OffsetDateTime,
) -> Result<Option<usize>, JobError> {
    // The lock lives on this connection (a session lock) while the job
    // works on others of the pool.
    let mut lock = db.connection().await?;
    if !try_lock(&mut lock, job.name()).await? {
        tracing::debug!(job = job.name(), "running on another instance; skipped");
        return Ok(None);
    }
    let outcome = job.run(db, now).await;
    // Released even after a failure, so that the next round is not blocked.
    let unlocked = unlock(&mut lock, job.name()).await;
    let handled = outcome?;
    unlocked?;
    Ok(Some(handled))
}

/// Claims the run of `job` for the period that starts at `period` (a daily
/// job's scheduled time): `true` for exactly one caller across every
/// instance, `false` for the others, which skip it. Unlike the advisory lock
/// of [`run_exclusively`], which only keeps runs from overlapping, this
/// holds however far apart the instances wake up (the `scheduled_runs`
/// primary key decides).
pub async fn claim_period(
    db: &Database,
    job: &str,
    period: OffsetDateTime,
) -> Result<bool, DbError> {
    let mut conn = db.connection().await?;
    let inserted = diesel::sql_query(
        "INSERT INTO scheduled_runs (job, period) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(job)
    .bind::<diesel::sql_types::Timestamptz, _>(period)
    .execute(&mut conn)
    .await
    .map_err(DbError::from)?;
    Ok(inserted == 1)
}

/// Runs `job` every `every` (at once first) until `shutdown`, with the time
/// of `clock`; a failed round is logged and the next one tries again.
pub async fn run_every(
    db: Database,
    job: Arc<dyn ScheduledJob>,
    every: Duration,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    tracing::info!(job = job.name(), ?every, "scheduled job started");
    loop {
        match run_exclusively(&db, job.as_ref(), clock.now()).await {
            Ok(Some(handled)) if handled > 0 => {
                tracing::info!(job = job.name(), handled, "scheduled job round done");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(job = job.name(), %error, "scheduled job round failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    tracing::info!(job = job.name(), "scheduled job stopped");
}
