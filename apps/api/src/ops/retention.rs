//! The daily retention job (GDPR art. 5(1)(e)): at `RETENTION_CRON_TIME` in
//! `RETENTION_TZ_OFFSET`, each retention target deletes its rows older than
//! its period, in batches, once per day across the cluster (the day's run
//! is claimed in `scheduled_runs`) and on one instance at a time (advisory
//! lock).

use std::time::Duration;

use hub_platform_postgres::retention::{self, RetentionTarget};
use hub_platform_postgres::{Database, DbError};
use serde::Serialize;
use time::{OffsetDateTime, Time, UtcOffset};
use tokio_util::sync::CancellationToken;

/// When the job runs: every day at `at`, local to `offset`.
///
/// A fixed daily time is all the product needs, so this computes the next
/// run directly rather than interpreting cron expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyAt {
    pub at: Time,
    pub offset: UtcOffset,
}

impl DailyAt {
    /// The first run strictly after `now`.
    pub fn next_after(&self, now: OffsetDateTime) -> OffsetDateTime {
        let local = now.to_offset(self.offset);
        let today = local.replace_time(self.at);
        if today > local {
            today
        } else {
            today + time::Duration::days(1)
        }
    }

    /// Parses `HH:MM` and an offset such as `+02:00`, `-05:00` or `Z`.
    pub fn parse(at: &str, offset: &str) -> Result<Self, String> {
        let at = Time::parse(
            at.trim(),
            time::macros::format_description!("[hour]:[minute]"),
        )
        .map_err(|_| format!("`{at}` is not a time of day HH:MM"))?;
        let offset = match offset.trim() {
            "Z" | "z" | "" => UtcOffset::UTC,
            other => UtcOffset::parse(
                other,
                time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
            )
            .map_err(|_| format!("`{other}` is not a UTC offset such as +01:00"))?,
        };
        Ok(Self { at, offset })
    }
}

pub use hub_platform_postgres::retention::Retained;

/// What one run deleted, per target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub target: &'static str,
    pub deleted: usize,
    #[serde(with = "time::serde::rfc3339")]
    pub cutoff: OffsetDateTime,
}

/// Rows deleted per statement: small enough that a run never blocks writers.
pub const BATCH: i64 = 1000;

/// Runs every target once, unless another instance holds the lock (`None`).
pub async fn run_once(
    db: &Database,
    targets: &[Retained],
    now: OffsetDateTime,
) -> Result<Option<Vec<Purged>>, DbError> {
    let mut conn = db.connection().await?;
    if !retention::try_lock(&mut conn).await? {
        tracing::info!("retention already running on another instance; skipped");
        return Ok(None);
    }
    let mut report = Vec::with_capacity(targets.len());
    let mut outcome = Ok(());
    for retained in targets {
        let cutoff = now - time::Duration::days(i64::from(retained.days));
        let name = retained.target.name();
        let result = retention::purge(
            &mut conn,
            retained.target.as_ref(),
            cutoff,
            BATCH,
            |so_far| {
                tracing::debug!(target_table = name, deleted = so_far, "retention progress");
            },
        )
        .await;
        match result {
            Ok(deleted) => {
                tracing::info!(target_table = name, deleted, %cutoff, "retention done");
                report.push(Purged {
                    target: name,
                    deleted,
                    cutoff,
                });
            }
            Err(error) => {
                outcome = Err(DbError::from(error));
                break;
            }
        }
    }
    // Released even after a failure, so that the next run is not blocked.
    let unlocked = retention::unlock(&mut conn).await;
    outcome?;
    unlocked?;
    Ok(Some(report))
}

/// `cleanup-deliveries`: deletes the delivery attempts older than `days`
/// (then the finished deliveries as old, which the attempt count leaves
/// out), or counts them with `dry_run`. The JSON report names the number of
/// attempts: they are the delivery log (`GET /webhooks/{id}/deliveries`).
pub async fn cleanup_deliveries(
    db: &Database,
    days: u32,
    now: OffsetDateTime,
    dry_run: bool,
) -> Result<serde_json::Value, DbError> {
    use hub_webhooks_infrastructure::{DeliveryAttemptsRetention, FinishedDeliveriesRetention};

    let cutoff = now - time::Duration::days(i64::from(days));
    let cutoff_text = cutoff
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut conn = db.connection().await?;
    if dry_run {
        let would_delete = DeliveryAttemptsRetention.count(&mut conn, cutoff).await?;
        return Ok(serde_json::json!({
            "would_delete": would_delete, "cutoff": cutoff_text, "dry_run": true
        }));
    }
    let deleted = retention::purge(
        &mut conn,
        &DeliveryAttemptsRetention,
        cutoff,
        BATCH,
        |so_far| {
            tracing::info!(deleted = so_far, "delivery attempts deleted so far");
        },
    )
    .await?;
    let jobs = retention::purge(
        &mut conn,
        &FinishedDeliveriesRetention,
        cutoff,
        BATCH,
        |_| {},
    )
    .await?;
    tracing::info!(attempts = deleted, deliveries = jobs, %cutoff, "delivery clean-up done");
    Ok(serde_json::json!({"deleted": deleted, "cutoff": cutoff_text, "dry_run": false}))
}

/// Runs the job every day at `schedule` until `shutdown`.
pub async fn scheduler(
    db: Database,
    schedule: DailyAt,
    targets: Vec<Retained>,
    shutdown: CancellationToken,
) {
    loop {
        let now = OffsetDateTime::now_utc();
        let next = schedule.next_after(now);
        let wait = Duration::try_from(next - now).unwrap_or(Duration::from_secs(60));
        tracing::info!(next_run = %next, "retention scheduled");
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
        // Every instance computes the same `next`: the first to claim it runs.
        match hub_platform_postgres::jobs::claim_period(&db, "retention", next).await {
            Ok(true) => {
                if let Err(error) = run_once(&db, &targets, OffsetDateTime::now_utc()).await {
                    tracing::error!(%error, "retention run failed; next attempt at the next scheduled time");
                }
            }
            Ok(false) => {
                tracing::info!(period = %next, "retention of this period already claimed by another instance; skipped");
            }
            Err(error) => {
                tracing::error!(%error, "retention run not claimed; next attempt at the next scheduled time");
            }
        }
    }
    tracing::info!("retention scheduler stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset, time};

    #[test]
    fn next_run_is_today_if_still_ahead_else_tomorrow() {
        let at_three = DailyAt {
            at: time!(03:00),
            offset: UtcOffset::UTC,
        };
        assert_eq!(
            at_three.next_after(datetime!(2026-11-26 02:59 UTC)),
            datetime!(2026-11-26 03:00 UTC)
        );
        assert_eq!(
            at_three.next_after(datetime!(2026-11-26 03:00 UTC)),
            datetime!(2026-11-27 03:00 UTC)
        );
        assert_eq!(
            at_three.next_after(datetime!(2026-11-26 23:00 UTC)),
            datetime!(2026-11-27 03:00 UTC)
        );
    }

    #[test]
    fn the_offset_shifts_the_local_time() {
        let paris = DailyAt::parse("03:00", "+01:00").unwrap();
        assert_eq!(paris.offset, offset!(+1));
        // 01:30 UTC is 02:30 in Paris: the run is at 02:00 UTC the same day.
        let next = paris.next_after(datetime!(2026-11-26 01:30 UTC));
        assert_eq!(next, datetime!(2026-11-26 02:00 UTC));
        // Late evening UTC is already the next day in Tokyo.
        let tokyo = DailyAt::parse("03:00", "+09:00").unwrap();
        assert_eq!(
            tokyo.next_after(datetime!(2026-11-26 20:00 UTC)),
            datetime!(2026-11-26 18:00 UTC) + time::Duration::days(1)
        );
    }

    #[test]
    fn bad_times_and_offsets_are_refused() {
        assert!(DailyAt::parse("3h", "Z").is_err());
        assert!(DailyAt::parse("25:00", "Z").is_err());
        assert!(DailyAt::parse("03:00", "Paris").is_err());
        assert_eq!(DailyAt::parse("03:00", "Z").unwrap().offset, UtcOffset::UTC);
        assert_eq!(
            DailyAt::parse("03:00", "-05:00").unwrap().offset,
            offset!(-5)
        );
    }
}
