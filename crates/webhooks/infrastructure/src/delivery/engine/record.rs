//! The recorder: the one task that writes the send tasks' outcomes, every
//! outcome available at that moment in one statement (the jobs' new state,
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
use uuid::Uuid;

use crate::delivery::queue::{self, AttemptLog, ClaimedJob, JobUpdate};
use crate::delivery::slots::SlotGuard;

/// Outcomes written per statement, at most.
const RECORD_BATCH: usize = 256;

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

/// Writes outcomes in batches, then does the webhooks' bookkeeping.
pub(super) struct Recorder {
    pub(super) db: Database,
    pub(super) record: RecordDelivery,
    pub(super) disable: DisableWebhook,
}

impl Recorder {
    pub(super) async fn run(self, mut received: mpsc::Receiver<Outcome>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        // Whatever is ready is written together: one statement per batch
        // under load, no waiting when idle.
        while received.recv_many(&mut batch, RECORD_BATCH).await > 0 {
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
