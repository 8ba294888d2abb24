//! The recorder: the one task that writes the send tasks' outcomes, those
//! that arrive within a few milliseconds of each other in one statement (the jobs' new state,
//! the attempt log, the success bookkeeping of the webhooks), then applies
//! the failures to the webhooks in order (failure counter, deactivation
//! after a `410 Gone` or a run of failures).

use std::collections::HashSet;
use std::error::Error;
use std::fmt;
use std::time::Duration;

use hub_kernel::CommandContext;
use hub_platform_postgres::Database;
use hub_webhooks_application::{DisableWebhook, RecordDelivery};
use hub_webhooks_domain::{GONE_REASON, Verdict, WebhookEffect};
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use crate::delivery::queue::{self, AttemptLog, ClaimedJob, JobUpdate};
use crate::delivery::slots::SlotGuard;

/// Outcomes written per statement, at most.
const RECORD_BATCH: usize = 256;

/// How long the recorder waits for more outcomes before writing a batch
/// that is not full, so that the outcomes of concurrent sends share one
/// statement and one commit (group commit). Short: the delivery log shows
/// an attempt once it is written. Nothing waits on it but the process's
/// share of the slots (the receivers' share came back at the answer), and
/// an outcome that lets an ordered webhook's next event go is written at
/// once.
const LINGER: Duration = Duration::from_millis(10);

/// One job's outcome, for the recorder.
#[derive(Debug)]
pub(super) struct Outcome {
    pub(super) webhook_id: Uuid,
    pub(super) job: JobUpdate,
    pub(super) attempt: Option<AttemptLog>,
    pub(super) effect: WebhookEffect,
    /// The send's slot, freed when the outcome is written (or given up).
    pub(super) slot: Option<SlotGuard>,
}

impl Outcome {
    /// Whether writing it lets an ordered webhook's next event go.
    fn releases(&self) -> bool {
        self.slot.as_ref().is_some_and(SlotGuard::releases)
    }

    /// The policy's `verdict` on `job`, and the attempt to log if one was made.
    pub(super) fn new(job: &ClaimedJob, verdict: Verdict, attempt: Option<AttemptLog>) -> Self {
        Self {
            webhook_id: job.webhook_id,
            job: JobUpdate {
                id: job.id,
                lease_token: job.lease_token,
                status: verdict.status,
                attempt: i32::try_from(verdict.attempts).unwrap_or(i32::MAX),
                next_attempt_at: verdict.next_attempt_at,
                last_error: verdict.last_error,
            },
            attempt,
            effect: verdict.effect,
            slot: None,
        }
    }
}

/// An error and its causes, as one log line: the use cases' errors keep
/// their cause as a source, which `%error` alone would drop. A cause whose
/// text already ends its parent's message is not repeated.
struct WithCauses<'e>(&'e (dyn Error + 'static));

impl fmt::Display for WithCauses<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !line.ends_with(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            source = cause.source();
        }
        f.write_str(&line)
    }
}

/// Waits for a first item, then gathers more into `batch` until it holds
/// `max`, `linger` has passed since the first, an `urgent` one is in, or
/// every sender is gone. Returns how many it holds (0: nothing will come).
async fn gather<T>(
    received: &mut mpsc::Receiver<T>,
    batch: &mut Vec<T>,
    max: usize,
    linger: Duration,
    urgent: impl Fn(&T) -> bool,
) -> usize {
    if received.recv_many(batch, max).await == 0 {
        return 0;
    }
    let deadline = Instant::now() + linger;
    while batch.len() < max && !batch.iter().any(&urgent) {
        let room = max - batch.len();
        match tokio::time::timeout_at(deadline, received.recv_many(batch, room)).await {
            // More came: wait for the rest of the window.
            Ok(n) if n > 0 => {}
            // Time is up, or every sender is gone (shutdown).
            _ => break,
        }
    }
    batch.len()
}

/// Writes outcomes in batches, then does the webhooks' bookkeeping.
pub(super) struct Recorder {
    pub(super) db: Database,
    pub(super) record: RecordDelivery,
    pub(super) disable: DisableWebhook,
}

impl Recorder {
    pub(super) async fn run(self, mut received: mpsc::Receiver<Outcome>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while gather(
            &mut received,
            &mut batch,
            RECORD_BATCH,
            LINGER,
            Outcome::releases,
        )
        .await
            > 0
        {
            self.write(&batch).await;
            // Only now are the slots given back (dropping the guards).
            batch.clear();
        }
    }

    async fn write(&self, batch: &[Outcome]) {
        let jobs: Vec<JobUpdate> = batch.iter().map(|o| o.job.clone()).collect();
        let attempts: Vec<AttemptLog> = batch.iter().filter_map(|o| o.attempt.clone()).collect();
        // Webhooks with successes and no failure in this batch: their reset
        // rides along with the outcomes. The others go through the use
        // cases, in order (a failure may deactivate).
        let failing: HashSet<Uuid> = batch
            .iter()
            .filter(|o| o.effect.is_failure())
            .map(|o| o.webhook_id)
            .collect();
        let mut delivered: Vec<Uuid> = batch
            .iter()
            .filter(|o| o.effect == WebhookEffect::Delivered && !failing.contains(&o.webhook_id))
            .map(|o| o.webhook_id)
            .collect();
        delivered.sort_unstable();
        delivered.dedup();
        let mut applied = None;
        for round in 1..=3_u32 {
            match self.statement(&jobs, &attempts, &delivered).await {
                Ok(ids) => {
                    applied = Some(ids);
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, round, outcomes = batch.len(), "webhook delivery outcomes not recorded; retrying");
                    tokio::time::sleep(Duration::from_millis(100) * round).await;
                }
            }
        }
        let Some(applied) = applied else {
            // The jobs stay leased; when the lease expires another attempt
            // is made (at least once, same webhook-id).
            tracing::error!(
                outcomes = batch.len(),
                "webhook delivery outcomes lost; the jobs will be retried when their lease expires"
            );
            return;
        };
        if applied.len() < jobs.len() {
            tracing::debug!(
                lost_leases = jobs.len() - applied.len(),
                "some outcomes were for jobs no longer leased here"
            );
        }
        if failing.is_empty() {
            return;
        }
        let applied: HashSet<Uuid> = applied.into_iter().collect();
        self.bookkeeping(
            batch
                .iter()
                .filter(|o| applied.contains(&o.job.id) && failing.contains(&o.webhook_id)),
        )
        .await;
    }

    async fn statement(
        &self,
        jobs: &[JobUpdate],
        attempts: &[AttemptLog],
        delivered: &[Uuid],
    ) -> Result<Vec<Uuid>, hub_platform_postgres::DbError> {
        let mut conn = self.db.connection().await?;
        Ok(queue::record(&mut conn, jobs, attempts, delivered).await?)
    }

    /// For webhooks with failures in the batch, in order: consecutive
    /// successes collapse into one reset; each failed delivery counts.
    async fn bookkeeping(&self, outcomes: impl Iterator<Item = &Outcome>) {
        let mut succeeded: Vec<Uuid> = Vec::new();
        for outcome in outcomes {
            let webhook_id = outcome.webhook_id;
            match &outcome.effect {
                WebhookEffect::None => {}
                WebhookEffect::Delivered => {
                    if !succeeded.contains(&webhook_id) {
                        succeeded.push(webhook_id);
                    }
                }
                WebhookEffect::Failed { reason } | WebhookEffect::Gone { reason } => {
                    if let Some(at) = succeeded.iter().position(|id| *id == webhook_id) {
                        succeeded.remove(at);
                        self.succeeded(webhook_id).await;
                    }
                    // Counted (and its error recorded) first, so that the
                    // `webhook.disabled` of a 410 tells the count with it.
                    self.failed(webhook_id, reason).await;
                    if matches!(outcome.effect, WebhookEffect::Gone { .. }) {
                        self.gone(webhook_id).await;
                    }
                }
            }
        }
        for webhook_id in succeeded {
            self.succeeded(webhook_id).await;
        }
    }

    async fn succeeded(&self, webhook_id: Uuid) {
        if let Err(error) = self.record.succeeded(webhook_id).await {
            tracing::debug!(%webhook_id, error = %WithCauses(&error), "delivery success not recorded on the webhook");
        }
    }

    async fn failed(&self, webhook_id: Uuid, reason: &str) {
        match self.record.failed(webhook_id, reason).await {
            Ok(outcome) if outcome.disabled => {
                metrics::counter!("hub_webhooks_disabled_total", "reason" => "failures")
                    .increment(1);
                tracing::info!(%webhook_id, consecutive_failures = outcome.consecutive_failures, "webhook deactivated after consecutive failed deliveries");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%webhook_id, error = %WithCauses(&error), "delivery failure not recorded on the webhook");
            }
        }
    }

    async fn gone(&self, webhook_id: Uuid) {
        match self
            .disable
            .execute(&CommandContext::system(None), webhook_id, GONE_REASON)
            .await
        {
            Ok(true) => {
                metrics::counter!("hub_webhooks_disabled_total", "reason" => "gone").increment(1);
                tracing::info!(%webhook_id, "webhook deactivated: the receiver answered 410 Gone");
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%webhook_id, error = %WithCauses(&error), "webhook answered 410 Gone but could not be deactivated");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use hub_platform_postgres::storage;
    use hub_webhooks_application::{RepositoryError, WebhookError};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn outcomes_arriving_within_the_linger_share_a_batch() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut batch = Vec::new();
        tx.send(1).await.unwrap();
        let later = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(4)).await;
            later.send(2).await.unwrap();
            tokio::time::sleep(Duration::from_millis(4)).await;
            later.send(3).await.unwrap();
            // Past the 10 ms window: the next batch's.
            tokio::time::sleep(Duration::from_millis(10)).await;
            later.send(4).await.unwrap();
        });
        let linger = Duration::from_millis(10);
        assert_eq!(gather(&mut rx, &mut batch, 8, linger, |_| false).await, 3);
        assert_eq!(batch, [1, 2, 3]);
        batch.clear();
        assert_eq!(gather(&mut rx, &mut batch, 8, linger, |_| false).await, 1);
        assert_eq!(batch, [4]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_urgent_outcome_a_full_batch_or_the_end_of_the_senders_stop_the_wait() {
        let linger = Duration::from_secs(3600);
        let (tx, mut rx) = mpsc::channel(16);
        let mut batch = Vec::new();
        tx.send(7).await.unwrap();
        assert_eq!(gather(&mut rx, &mut batch, 8, linger, |n| *n == 7).await, 1);
        batch.clear();
        for n in 0..3 {
            tx.send(n).await.unwrap();
        }
        assert_eq!(gather(&mut rx, &mut batch, 3, linger, |_| false).await, 3);
        batch.clear();
        tx.send(5).await.unwrap();
        drop(tx);
        assert_eq!(gather(&mut rx, &mut batch, 8, linger, |_| false).await, 1);
        batch.clear();
        assert_eq!(gather(&mut rx, &mut batch, 8, linger, |_| false).await, 0);
    }

    #[test]
    fn a_use_case_failure_is_logged_with_its_cause_once() {
        let error = WebhookError::from(RepositoryError::Storage(storage(
            diesel::result::Error::NotFound,
        )));
        assert_eq!(
            WithCauses(&error).to_string(),
            "webhooks are unavailable: storage failure: database query failed: Record not found"
        );
    }
}
