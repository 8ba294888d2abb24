//! The delivery workers of one process: claim due jobs, send each signed
//! request with no transaction open, record the outcomes in batches.
//!
//! One loop owns the concurrency accounting (no lock): it claims as many
//! jobs as there are free slots — at most `max_in_flight` requests in the
//! process and `max_in_flight_per_endpoint` per webhook — and spawns one task
//! per job. Each task sends, decides what comes next ([`NextStep`]) and
//! hands its outcome to one recorder task, which writes every outcome
//! available at that moment in one statement, then does the webhooks'
//! bookkeeping (failure counter, deactivation). The loop wakes when the
//! fan-out commits new jobs ([`DeliveryWaker`]), when slots free up while a
//! backlog remains, when a retry scheduled here falls due, and at each poll.

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hub_kernel::{Clock, CommandContext};
use hub_platform_outbound::{Bytes, OutboundClient, OutboundError, OutboundResponse};
use hub_platform_postgres::Database;
use hub_webhook_signature::WebhookSecret;
use hub_webhooks_application::{
    DisableWebhook, RecordDelivery, SecretVault, VaultError, WebhookRepository,
};
use hub_webhooks_domain::{
    AttemptResult, DeliveryStatus, FailureKind, NextStep, RetrySchedule, SealedSecret,
    TEST_EVENT_TYPE, parse_retry_after, response_excerpt,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::fanout::DeliveryWaker;
use super::queue::{self, AttemptLog, Claim, ClaimedJob, JobUpdate};
use super::request::delivery_headers;

/// How the workers of this process behave.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Requests in flight at once in this process (`WEBHOOKS_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// …and per webhook (`WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT`), so that one
    /// slow receiver cannot take every slot.
    pub max_in_flight_per_endpoint: usize,
    /// Fallback polling period: jobs due for retry, jobs fanned out by other
    /// processes, leases of dead workers.
    pub poll_interval: Duration,
    /// How long a claimed job stays leased; must outlast a request (timeout
    /// included). A worker that dies leaves its jobs to others after it.
    pub lease: Duration,
    /// Delays between attempts.
    pub schedule: RetrySchedule,
    /// On shutdown, how long in-flight requests may finish before they are
    /// abandoned (their jobs are released, not lost).
    pub shutdown_grace: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 50,
            max_in_flight_per_endpoint: 10,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            schedule: RetrySchedule::default(),
            shutdown_grace: Duration::from_secs(25),
        }
    }
}

/// Why a deactivated webhook stopped: the receiver said it is gone.
const GONE_REASON: &str = "the receiver answered 410 Gone";

/// Outcomes written per statement, at most.
const RECORD_BATCH: usize = 256;

/// The delivery workers of one process. Several processes may run them on
/// the same database: claims never overlap, and a dead process's leases
/// expire.
pub struct DeliveryEngine {
    db: Database,
    client: OutboundClient,
    vault: Arc<dyn SecretVault>,
    webhooks: Arc<dyn WebhookRepository>,
    clock: Arc<dyn Clock>,
    waker: DeliveryWaker,
    config: DeliveryConfig,
    worker_id: Uuid,
}

impl std::fmt::Debug for DeliveryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryEngine")
            .field("worker_id", &self.worker_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DeliveryEngine {
    /// `waker` is the one given to the fan-out (and to the repository that
    /// queues test events), so that new jobs wake these workers at once.
    pub fn new(
        db: Database,
        client: OutboundClient,
        vault: Arc<dyn SecretVault>,
        webhooks: Arc<dyn WebhookRepository>,
        clock: Arc<dyn Clock>,
        waker: DeliveryWaker,
        config: DeliveryConfig,
    ) -> Self {
        Self {
            db,
            client,
            vault,
            webhooks,
            clock,
            waker,
            config,
            worker_id: Uuid::now_v7(),
        }
    }

    /// The id written in `leased_by` by this process's workers.
    pub fn worker_id(&self) -> Uuid {
        self.worker_id
    }

    /// Delivers until `shutdown` is cancelled; then stops claiming, lets the
    /// requests in flight finish (at most `shutdown_grace`), records their
    /// outcomes and releases every lease still held.
    pub async fn run(self, shutdown: CancellationToken) {
        let (outcomes, received) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(
            Recorder {
                db: self.db.clone(),
                worker_id: self.worker_id,
                record: RecordDelivery::new(self.webhooks.clone(), self.clock.clone()),
                disable: DisableWebhook::new(self.webhooks.clone(), self.clock.clone()),
            }
            .run(received),
        );
        let sender = Arc::new(Sender {
            client: self.client.clone(),
            vault: self.vault.clone(),
            schedule: self.config.schedule.clone(),
            clock: self.clock.clone(),
            outcomes,
            poll_interval: self.config.poll_interval,
        });
        tracing::info!(
            worker_id = %self.worker_id,
            max_in_flight = self.config.max_in_flight,
            max_in_flight_per_endpoint = self.config.max_in_flight_per_endpoint,
            "webhook delivery workers started"
        );
        let mut sends = JoinSet::new();
        self.deliver(&shutdown, &sender, &mut sends).await;

        // Shutdown: nothing new is claimed; requests in flight may finish.
        let in_flight = sends.len();
        let finished = tokio::time::timeout(self.config.shutdown_grace, async {
            while sends.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                abandoned = sends.len(),
                "webhook deliveries still in flight at the end of the grace period; their jobs are released"
            );
            sends.abort_all();
            while sends.join_next().await.is_some() {}
        }
        // The recorder ends once every sender is gone and the last outcomes
        // are written.
        drop(sender);
        if let Err(error) = recorder.await {
            tracing::error!(%error, "webhook delivery recorder failed");
        }
        match self.release().await {
            Ok(released) => tracing::info!(
                in_flight_at_shutdown = in_flight,
                released,
                "webhook delivery workers stopped"
            ),
            Err(error) => tracing::error!(
                %error,
                "webhook delivery leases could not be released; they will expire"
            ),
        }
    }

    async fn release(&self) -> Result<usize, hub_platform_postgres::DbError> {
        let mut conn = self.db.connection().await?;
        Ok(queue::release(&mut conn, self.worker_id).await?)
    }

    /// The claim loop, until shutdown.
    async fn deliver(
        &self,
        shutdown: &CancellationToken,
        sender: &Arc<Sender>,
        sends: &mut JoinSet<()>,
    ) {
        let config = &self.config;
        let (freed_tx, mut freed) = mpsc::unbounded_channel::<Freed>();
        let mut slots = Slots::default();
        // Claims are batched: with a backlog, the loop waits for this many
        // freed slots (or for an idle moment) before claiming again.
        let batch_after = (config.max_in_flight_per_endpoint.min(config.max_in_flight) / 2).max(1);
        let mut work_hint = true;
        let mut backlog = false;
        let mut freed_since_claim = 0usize;
        let mut retries: BinaryHeap<Reverse<Instant>> = BinaryHeap::new();
        let mut next_poll = Instant::now() + config.poll_interval;
        let mut failures: u32 = 0;

        while !shutdown.is_cancelled() {
            while let Some(joined) = sends.try_join_next() {
                if let Err(error) = joined
                    && error.is_panic()
                {
                    tracing::error!(%error, "a webhook delivery task panicked");
                }
            }
            let free = config.max_in_flight.saturating_sub(slots.total);
            let wanted =
                work_hint || (backlog && (freed_since_claim >= batch_after || slots.total == 0));
            if free > 0 && wanted {
                work_hint = false;
                freed_since_claim = 0;
                let had_in_flight = slots.total > 0;
                match self.claim(free, &slots).await {
                    Ok(jobs) => {
                        failures = 0;
                        let claimed = jobs.len();
                        for job in jobs {
                            slots.take(job.webhook_id);
                            let guard = SlotGuard {
                                webhook_id: job.webhook_id,
                                freed: freed_tx.clone(),
                                retry_at: None,
                            };
                            sends.spawn(Arc::clone(sender).send(job, guard));
                        }
                        metrics::gauge!("hub_webhook_deliveries_in_flight").set(slots.total as f64);
                        // A full claim, or one the per-webhook caps may have
                        // cut short, leaves due jobs behind.
                        let capped = slots
                            .per_webhook
                            .values()
                            .any(|n| *n >= config.max_in_flight_per_endpoint);
                        backlog = claimed == free || capped || (had_in_flight && claimed > 0);
                        if claimed > 0 {
                            tracing::debug!(
                                claimed,
                                in_flight = slots.total,
                                "webhook deliveries claimed"
                            );
                        }
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        backlog = false;
                        tracing::warn!(%error, failures, "webhook delivery claim failed");
                    }
                }
                // A claim is as good as a poll; after failures, back off.
                next_poll =
                    Instant::now() + config.poll_interval.saturating_mul(failures.clamp(1, 20));
            }
            let mut deadline = next_poll;
            if let Some(Reverse(at)) = retries.peek() {
                deadline = deadline.min(*at);
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(done) = freed.recv() => {
                    let mut done = Some(done);
                    while let Some(Freed { webhook_id, retry_at }) = done {
                        slots.give_back(webhook_id);
                        freed_since_claim += 1;
                        if let Some(at) = retry_at {
                            retries.push(Reverse(at));
                        }
                        done = freed.try_recv().ok();
                    }
                    metrics::gauge!("hub_webhook_deliveries_in_flight").set(slots.total as f64);
                }
                () = self.waker.woken() => work_hint = true,
                () = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    if now >= next_poll {
                        work_hint = true;
                        next_poll = now + config.poll_interval;
                    }
                    while retries.peek().is_some_and(|Reverse(at)| *at <= now) {
                        retries.pop();
                        work_hint = true;
                    }
                }
            }
        }
    }

    async fn claim(
        &self,
        free: usize,
        slots: &Slots,
    ) -> Result<Vec<ClaimedJob>, hub_platform_postgres::DbError> {
        let cap = self.config.max_in_flight_per_endpoint;
        let (saturated, busy): (Vec<_>, Vec<_>) = slots
            .per_webhook
            .iter()
            .map(|(id, n)| (*id, *n))
            .partition(|(_, n)| *n >= cap);
        let claim = Claim {
            limit: free,
            saturated: saturated.into_iter().map(|(id, _)| id).collect(),
            busy,
            per_endpoint: cap,
            lease: self.config.lease,
            worker: self.worker_id,
        };
        let mut conn = self.db.connection().await?;
        Ok(queue::claim(&mut conn, &claim).await?)
    }
}

/// Requests in flight in this process, in all and per webhook.
#[derive(Debug, Default)]
struct Slots {
    total: usize,
    per_webhook: HashMap<Uuid, usize>,
}

impl Slots {
    fn take(&mut self, webhook_id: Uuid) {
        self.total += 1;
        *self.per_webhook.entry(webhook_id).or_default() += 1;
    }

    fn give_back(&mut self, webhook_id: Uuid) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.per_webhook.get_mut(&webhook_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_webhook.remove(&webhook_id);
            }
        }
    }
}

/// A slot given back by a finished send, with the time of the retry it
/// scheduled, if any.
struct Freed {
    webhook_id: Uuid,
    retry_at: Option<Instant>,
}

/// Gives the slot back when the send ends, however it ends (even a panic).
struct SlotGuard {
    webhook_id: Uuid,
    freed: mpsc::UnboundedSender<Freed>,
    retry_at: Option<Instant>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        // The loop may be gone (shutdown): nothing to give back to.
        let _ = self.freed.send(Freed {
            webhook_id: self.webhook_id,
            retry_at: self.retry_at,
        });
    }
}

/// The webhook bookkeeping an outcome calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bookkeeping {
    None,
    Succeeded,
    Failed { reason: String },
    Gone { reason: String },
}

/// One job's outcome, for the recorder.
#[derive(Debug)]
struct Outcome {
    webhook_id: Uuid,
    job: JobUpdate,
    attempt: Option<AttemptLog>,
    bookkeeping: Bookkeeping,
}

/// What every send task shares.
struct Sender {
    client: OutboundClient,
    vault: Arc<dyn SecretVault>,
    schedule: RetrySchedule,
    clock: Arc<dyn Clock>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    poll_interval: Duration,
}

/// What one request got.
struct Exchange {
    result: AttemptResult,
    status_code: Option<u16>,
    response_body: Option<String>,
    message: Option<String>,
}

impl Sender {
    async fn send(self: Arc<Self>, job: ClaimedJob, mut guard: SlotGuard) {
        let outcome = self.attempt(&job).await;
        if let (DeliveryStatus::Pending, Some(at)) =
            (outcome.job.status, outcome.job.next_attempt_at)
        {
            let wait = Duration::try_from(at - self.clock.now()).unwrap_or(Duration::ZERO);
            guard.retry_at = Some(Instant::now() + wait);
        }
        // The recorder outlives every sender: a failed send means shutdown
        // already dropped it, and the lease is released instead.
        let _ = self.outcomes.send(outcome);
    }

    async fn attempt(&self, job: &ClaimedJob) -> Outcome {
        let is_test = job.event_type == TEST_EVENT_TYPE;
        // A webhook deactivated since the fan-out gets nothing more, except
        // the test events its owner asks for.
        if !job.is_active && !is_test {
            return Outcome {
                webhook_id: job.webhook_id,
                job: JobUpdate {
                    id: job.id,
                    status: DeliveryStatus::Cancelled,
                    attempt: job.attempt,
                    next_attempt_at: None,
                    last_error: Some("the webhook was deactivated".to_owned()),
                },
                attempt: None,
                bookkeeping: Bookkeeping::None,
            };
        }
        let secrets = match self.secrets(job) {
            Ok(secrets) => secrets,
            Err(reason) => {
                // Not the receiver's fault: the attempt is not counted and
                // the job waits for the configuration to be fixed.
                tracing::error!(delivery_id = %job.id, webhook_id = %job.webhook_id, %reason, "cannot sign a webhook delivery; postponed");
                return Outcome {
                    webhook_id: job.webhook_id,
                    job: JobUpdate {
                        id: job.id,
                        status: DeliveryStatus::Pending,
                        attempt: job.attempt,
                        next_attempt_at: Some(
                            self.clock.now() + self.poll_interval.saturating_mul(120),
                        ),
                        last_error: Some(format!("cannot sign: {reason}")),
                    },
                    attempt: None,
                    bookkeeping: Bookkeeping::None,
                };
            }
        };

        let number = job.attempt.saturating_add(1);
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

        let next = NextStep::after(
            &exchange.result,
            u32::try_from(number).unwrap_or(u32::MAX),
            u32::try_from(job.max_attempts).unwrap_or(1),
            &self.schedule,
            random_unit(),
        );
        tracing::debug!(delivery_id = %job.id, webhook_id = %job.webhook_id, attempt = number, result = result_label, ?next, "webhook delivery attempt");
        let (status, next_attempt_at) = match next {
            NextStep::Succeeded => (DeliveryStatus::Succeeded, None),
            NextStep::RetryIn(wait) => {
                (DeliveryStatus::Pending, Some(attempted_at + wait + elapsed))
            }
            NextStep::Failed { .. } => (DeliveryStatus::Failed, None),
        };
        let failure = exchange.message.clone();
        // Test deliveries are diagnostics: they never move the failure
        // counter nor deactivate the webhook.
        let bookkeeping = match (is_test, next) {
            (true, _) | (false, NextStep::RetryIn(_)) => Bookkeeping::None,
            (false, NextStep::Succeeded) => Bookkeeping::Succeeded,
            (false, NextStep::Failed { gone: true }) => Bookkeeping::Gone {
                reason: failure.clone().unwrap_or_default(),
            },
            (false, NextStep::Failed { gone: false }) => Bookkeeping::Failed {
                reason: failure.clone().unwrap_or_default(),
            },
        };
        let (success, error_kind) = match exchange.result {
            AttemptResult::Delivered => (true, None),
            AttemptResult::Failed { kind, .. } => (false, Some(kind.as_str())),
        };
        Outcome {
            webhook_id: job.webhook_id,
            job: JobUpdate {
                id: job.id,
                status,
                attempt: number,
                next_attempt_at,
                last_error: failure.clone(),
            },
            attempt: Some(AttemptLog {
                id: Uuid::now_v7(),
                delivery_id: job.id,
                webhook_id: job.webhook_id,
                event_id: job.event_id,
                event_type: job.event_type.clone(),
                attempt: number,
                success,
                status_code: exchange.status_code.and_then(|c| i16::try_from(c).ok()),
                response_body: exchange.response_body,
                error_kind,
                error_message: if success { None } else { failure },
                duration_ms: i32::try_from(elapsed.as_millis()).unwrap_or(i32::MAX),
                attempted_at,
            }),
            bookkeeping,
        }
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
    fn secrets(&self, job: &ClaimedJob) -> Result<Vec<WebhookSecret>, String> {
        let open = |sealed: SealedSecret| -> Result<WebhookSecret, String> {
            let plain = self
                .vault
                .open(job.webhook_id, &sealed)
                .map_err(|e: VaultError| e.to_string())?;
            WebhookSecret::parse(plain.expose()).map_err(|e| e.to_string())
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

/// Writes outcomes in batches, then does the webhooks' bookkeeping.
struct Recorder {
    db: Database,
    worker_id: Uuid,
    record: RecordDelivery,
    disable: DisableWebhook,
}

impl Recorder {
    async fn run(self, mut received: mpsc::UnboundedReceiver<Outcome>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        // Whatever is ready is written together: one statement per batch
        // under load, no waiting when idle.
        while received.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            self.write(&batch).await;
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
            .filter(|o| {
                matches!(
                    o.bookkeeping,
                    Bookkeeping::Failed { .. } | Bookkeeping::Gone { .. }
                )
            })
            .map(|o| o.webhook_id)
            .collect();
        let mut delivered: Vec<Uuid> = batch
            .iter()
            .filter(|o| o.bookkeeping == Bookkeeping::Succeeded && !failing.contains(&o.webhook_id))
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
        Ok(queue::record(&mut conn, self.worker_id, jobs, attempts, delivered).await?)
    }

    /// For webhooks with failures in the batch, in order: consecutive
    /// successes collapse into one reset; each failed delivery counts.
    async fn bookkeeping(&self, outcomes: impl Iterator<Item = &Outcome>) {
        let mut succeeded: Vec<Uuid> = Vec::new();
        for outcome in outcomes {
            let webhook_id = outcome.webhook_id;
            match &outcome.bookkeeping {
                Bookkeeping::None => {}
                Bookkeeping::Succeeded => {
                    if !succeeded.contains(&webhook_id) {
                        succeeded.push(webhook_id);
                    }
                }
                Bookkeeping::Failed { reason } | Bookkeeping::Gone { reason } => {
                    if let Some(at) = succeeded.iter().position(|id| *id == webhook_id) {
                        succeeded.remove(at);
                        self.succeeded(webhook_id).await;
                    }
                    if matches!(outcome.bookkeeping, Bookkeeping::Gone { .. }) {
                        self.gone(webhook_id).await;
                    }
                    self.failed(webhook_id, reason).await;
                }
            }
        }
        for webhook_id in succeeded {
            self.succeeded(webhook_id).await;
        }
    }

    async fn succeeded(&self, webhook_id: Uuid) {
        if let Err(error) = self.record.succeeded(webhook_id).await {
            tracing::debug!(%webhook_id, %error, "delivery success not recorded on the webhook");
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
                tracing::debug!(%webhook_id, %error, "delivery failure not recorded on the webhook");
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
                tracing::warn!(%webhook_id, %error, "webhook answered 410 Gone but could not be deactivated");
            }
        }
    }
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

    #[test]
    fn slots_count_per_webhook_and_forget_idle_ones() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut slots = Slots::default();
        slots.take(a);
        slots.take(a);
        slots.take(b);
        assert_eq!(slots.total, 3);
        assert_eq!(slots.per_webhook[&a], 2);
        slots.give_back(b);
        assert!(!slots.per_webhook.contains_key(&b));
        slots.give_back(a);
        slots.give_back(a);
        slots.give_back(a);
        assert_eq!(slots.total, 0);
        assert!(slots.per_webhook.is_empty());
    }
}
