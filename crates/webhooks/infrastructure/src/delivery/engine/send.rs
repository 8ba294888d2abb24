//! The send tasks: one per claimed job. Each signs the job's body with the
//! secrets that sign now, sends it with no transaction open, classifies
//! what came back, asks the domain's outcome policy ([`JobFacts`]) what
//! becomes of the job and of the webhook, and hands the outcome to the
//! recorder.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hub_kernel::Clock;
use hub_platform_outbound::{Bytes, OutboundClient, OutboundError, OutboundResponse};
use hub_webhook_signature::{SecretError, WebhookSecret};
use hub_webhooks_application::{SecretVault, VaultError};
use hub_webhooks_domain::{
    AttemptResult, DeliveryStatus, FailureKind, JobFacts, RetrySchedule, SealedSecret,
    TEST_EVENT_TYPE, Verdict, WebhookEffect, parse_retry_after, response_excerpt,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use super::record::Outcome;
use crate::delivery::queue::{AttemptLog, ClaimedJob};
use crate::delivery::request::delivery_headers;
use crate::delivery::slots::SlotGuard;

/// Why a queued delivery was cancelled at send by the access check.
pub const ACCESS_REVOKED: &str = "the owner may no longer receive this event";

/// What every send task shares.
pub(super) struct Sender {
    pub(super) client: OutboundClient,
    pub(super) vault: Arc<dyn SecretVault>,
    pub(super) schedule: RetrySchedule,
    pub(super) clock: Arc<dyn Clock>,
    /// Bounded: when the recorder falls behind, sends wait to hand over
    /// their outcome (their slots stay taken, so the claim stops too).
    pub(super) outcomes: mpsc::Sender<Outcome>,
    pub(super) poll_interval: Duration,
}

/// Why a job's secrets cannot sign it (a configuration error, e.g. a key
/// missing from `WEBHOOK_SECRETS_OLD_KEYS`; never carries secret material).
#[derive(Debug, thiserror::Error)]
enum SigningError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// What one request got.
struct Exchange {
    result: AttemptResult,
    status_code: Option<u16>,
    response_body: Option<String>,
    message: Option<String>,
}

impl Sender {
    /// The slot (`guard`) travels with the outcome: the request's share
    /// (per webhook, owner, host) comes back once the exchange is over, the
    /// process's share once the recorder has written the outcome, so pending
    /// outcomes never outnumber `max_in_flight`.
    pub(super) async fn send(self: Arc<Self>, job: ClaimedJob, mut guard: SlotGuard) {
        let mut outcome = self.attempt(&job).await;
        if let (DeliveryStatus::Pending, Some(at)) =
            (outcome.job.status, outcome.job.next_attempt_at)
        {
            let wait = Duration::try_from(at - self.clock.now()).unwrap_or(Duration::ZERO);
            guard.retry_at = Some(Instant::now() + wait);
        }
        if let Some(log) = &outcome.attempt {
            guard.took = Some(Duration::from_millis(
                u64::try_from(log.duration_ms).unwrap_or_default(),
            ));
        }
        // The receiver is done with this request: its webhook, owner and
        // host may get the next one while the outcome waits for the recorder.
        guard.answered();
        outcome.slot = Some(guard);
        // The recorder outlives every sender: a failed send means shutdown
        // already dropped it, and the lease is released instead.
        let _ = self.outcomes.send(outcome).await;
    }

    async fn attempt(&self, job: &ClaimedJob) -> Outcome {
        let facts = JobFacts {
            // The table's CHECKs keep both in range; out of range would mean
            // nothing is left to try.
            // The claim counted this attempt already.
            attempts_made: u32::try_from(job.attempt.saturating_sub(1)).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(job.max_attempts).unwrap_or(1),
            is_test: job.event_type == TEST_EVENT_TYPE,
            webhook_active: job.is_active,
        };
        if let Some(cancelled) = facts.before_sending() {
            return Outcome::new(job, cancelled, None);
        }
        if !job.allowed {
            // Access is judged again now: an owner deactivated, or no
            // longer entitled to this event, receives nothing more, queued
            // retries included. Not the receiver's fault: no attempt, no
            // failure counted.
            let refused = Verdict {
                status: DeliveryStatus::Cancelled,
                attempts: facts.attempts_made,
                next_attempt_at: None,
                last_error: Some(ACCESS_REVOKED.to_owned()),
                effect: WebhookEffect::None,
            };
            return Outcome::new(job, refused, None);
        }
        let secrets = match self.secrets(job) {
            Ok(secrets) => secrets,
            Err(error) => {
                tracing::error!(delivery_id = %job.id, webhook_id = %job.webhook_id, %error, "cannot sign a webhook delivery; postponed");
                // Long enough not to spin on a configuration error, short
                // enough to pick up its fix soon.
                let wait = self.poll_interval.saturating_mul(120);
                let postponed = facts.postponed(&error.to_string(), self.clock.now(), wait);
                return Outcome::new(job, postponed, None);
            }
        };

        let attempted_at = self.clock.now();
        let started = Instant::now();
        let exchange = self.exchange(job, &secrets, attempted_at).await;
        let elapsed = started.elapsed();

        let result_label = match exchange.result {
            AttemptResult::Delivered => "success",
            AttemptResult::Failed { kind, .. } => kind.as_str(),
        };
        metrics::counter!("hub_webhook_delivery_attempts_total", "result" => result_label)
            .increment(1);
        metrics::histogram!("hub_webhook_delivery_duration_seconds").record(elapsed.as_secs_f64());

        // The wait before a retry counts from the end of this attempt.
        let verdict = facts.after_attempt(
            &exchange.result,
            exchange.message.clone(),
            attempted_at + elapsed,
            &self.schedule,
            random_unit(),
        );
        tracing::debug!(delivery_id = %job.id, webhook_id = %job.webhook_id, attempt = verdict.attempts, result = result_label, status = %verdict.status, next_attempt_at = ?verdict.next_attempt_at, "webhook delivery attempt");
        let (success, error_kind) = match exchange.result {
            AttemptResult::Delivered => (true, None),
            AttemptResult::Failed { kind, .. } => (false, Some(kind.as_str())),
        };
        let log = AttemptLog {
            id: Uuid::now_v7(),
            delivery_id: job.id,
            webhook_id: job.webhook_id,
            event_id: job.event_id,
            event_type: job.event_type.clone(),
            attempt: i32::try_from(verdict.attempts).unwrap_or(i32::MAX),
            success,
            status_code: exchange.status_code.and_then(|c| i16::try_from(c).ok()),
            response_body: exchange.response_body,
            error_kind,
            error_message: if success { None } else { exchange.message },
            duration_ms: i32::try_from(elapsed.as_millis()).unwrap_or(i32::MAX),
            attempted_at,
        };
        Outcome::new(job, verdict, Some(log))
    }

    /// Signs and sends the job's body; classifies what came back.
    async fn exchange(
        &self,
        job: &ClaimedJob,
        secrets: &[WebhookSecret],
        attempted_at: OffsetDateTime,
    ) -> Exchange {
        let failed = |kind: FailureKind, message: String| Exchange {
            result: AttemptResult::Failed {
                kind,
                status: None,
                retry_after: None,
            },
            status_code: None,
            response_body: None,
            message: Some(message),
        };
        let url = match self.client.parse_url(&job.url) {
            Ok(url) => url,
            // The URL was accepted once; rules may have changed since.
            Err(error) => return failed(FailureKind::SsrfRefused, format!("url {error}")),
        };
        let body = Bytes::from(job.payload.clone());
        let headers = match delivery_headers(
            job.event_id,
            &job.event_type,
            attempted_at.unix_timestamp(),
            &body,
            secrets,
            job.legacy_signature,
        ) {
            Ok(headers) => headers,
            Err(error) => return failed(FailureKind::Connect, error.to_string()),
        };
        match self.client.post(&url, headers, body).await {
            Ok(response) => self.answered(&response),
            Err(error) => failed(kind_of(&error), error.message()),
        }
    }

    fn answered(&self, response: &OutboundResponse) -> Exchange {
        let retry_after = response
            .retry_after
            .as_deref()
            .and_then(|value| parse_retry_after(value, self.clock.now()));
        let result = AttemptResult::from_status(response.status, retry_after);
        Exchange {
            message: match result {
                AttemptResult::Delivered => None,
                AttemptResult::Failed { .. } => {
                    Some(format!("the receiver answered HTTP {}", response.status))
                }
            },
            result,
            status_code: Some(response.status),
            response_body: Some(response_excerpt(&response.body_prefix)),
        }
    }

    /// The secrets that sign now: the current one, then the previous one
    /// during its grace period.
    fn secrets(&self, job: &ClaimedJob) -> Result<Vec<WebhookSecret>, SigningError> {
        let open = |sealed: SealedSecret| -> Result<WebhookSecret, SigningError> {
            let plain = self.vault.open(job.webhook_id, &sealed)?;
            Ok(WebhookSecret::parse(plain.expose())?)
        };
        let mut secrets = vec![open(SealedSecret {
            ciphertext: job.secret_ciphertext.clone(),
            nonce: job.secret_nonce.clone(),
            key_id: job.secret_key_id.clone(),
        })?];
        if let (Some(ciphertext), Some(nonce), Some(key_id), Some(expires_at)) = (
            &job.previous_secret_ciphertext,
            &job.previous_secret_nonce,
            &job.previous_secret_key_id,
            job.previous_secret_expires_at,
        ) && expires_at > self.clock.now()
        {
            secrets.push(open(SealedSecret {
                ciphertext: ciphertext.clone(),
                nonce: nonce.clone(),
                key_id: key_id.clone(),
            })?);
        }
        Ok(secrets)
    }
}

fn kind_of(error: &OutboundError) -> FailureKind {
    use hub_platform_outbound::ErrorKind;
    match error.kind() {
        ErrorKind::Timeout => FailureKind::Timeout,
        ErrorKind::Connect => FailureKind::Connect,
        ErrorKind::Dns => FailureKind::Dns,
        ErrorKind::SsrfRefused => FailureKind::SsrfRefused,
        ErrorKind::Tls => FailureKind::Tls,
        ErrorKind::HttpStatus => FailureKind::HttpStatus,
        ErrorKind::Redirect => FailureKind::Redirect,
    }
}

/// Uniform in `[0, 1)`, for the jitter (not for anything secret).
fn random_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let bits = RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
    (bits >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_units_are_in_range_and_vary() {
        let draws: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|r| (0.0..1.0).contains(r)));
        let low = draws.iter().filter(|r| **r < 0.5).count();
        assert!((300..700).contains(&low), "{low}");
    }
}
