//! The delivery workers of one process: their configuration, their start
//! and their shutdown. Three actors do the work, one module each:
//!
//! - [`claim`]: one loop starts the sends. New jobs mostly come to it
//!   leased already: the fan-out leases each job it inserts to this process
//!   while a slot is free ([`crate::delivery::slots`]: at most
//!   `max_in_flight` requests in the process, `max_in_flight_per_endpoint`
//!   per webhook, and the per-owner and per-host caps), or while there is
//!   room to hold it until one frees (`max_held_bytes`, [`held`]), and
//!   hands it over after the commit ([`DeliveryWaker`]). The loop claims
//!   the rest — jobs queued when there was neither, retries, ordered
//!   webhooks' jobs, other processes' jobs, leases of dead workers, held
//!   jobs given back — as many as there are free slots. It claims when the
//!   fan-out commits jobs it could not lease, when slots free up while a
//!   backlog remains and no held job takes them, when a retry scheduled
//!   here falls due, and at each poll.
//! - [`send`]: each task signs and sends one request with no transaction
//!   open, and asks the domain's outcome policy
//!   ([`hub_webhooks_domain::JobFacts`]) what comes next.
//! - [`record`]: one task writes every outcome available at that moment in
//!   one statement, then does the webhooks' bookkeeping (failure counter,
//!   deactivation).

use std::sync::Arc;
use std::time::Duration;

use hub_platform_outbound::OutboundClient;
use hub_platform_postgres::Database;
use hub_webhooks_application::{DisableWebhook, RecordDelivery, WebhookPorts};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::fanout::DeliveryWaker;
use super::queue;
use super::slots::IN_HAND_PER_REQUEST;

mod claim;
mod held;
mod record;
mod send;

use record::Recorder;
use send::Sender;

/// How the workers of this process behave.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Requests in flight at once in this process (`WEBHOOKS_MAX_IN_FLIGHT`);
    /// with the outcomes not yet recorded, at most four times this many
    /// jobs in hand.
    pub max_in_flight: usize,
    /// Requests in flight per webhook (`WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT`),
    /// so that one slow receiver cannot take every slot.
    pub max_in_flight_per_endpoint: usize,
    /// …per owner, all their webhooks together
    /// (`WEBHOOKS_MAX_IN_FLIGHT_PER_OWNER`), so that one customer's slow
    /// endpoints cannot take every slot.
    pub max_in_flight_per_owner: usize,
    /// …per destination `host[:port]` (`WEBHOOKS_MAX_IN_FLIGHT_PER_HOST`),
    /// whoever the owners.
    pub max_in_flight_per_host: usize,
    /// A webhook whose recent attempts take longer than this on average is
    /// slow: it gets a fifth of `max_in_flight_per_endpoint` (at least 1).
    pub slow_after: Duration,
    /// Fallback polling period: jobs due for retry, jobs fanned out by other
    /// processes, leases of dead workers.
    pub poll_interval: Duration,
    /// How long a claimed job stays leased; must outlast a request (timeout
    /// included). A worker that dies leaves its jobs to others after it.
    pub lease: Duration,
    /// What the jobs leased at insert and held until a slot frees may
    /// weigh in all, payloads and bookkeeping (`WEBHOOKS_MAX_HELD_BYTES`);
    /// 0 holds none (they wait in the queue for a claim).
    pub max_held_bytes: usize,
    /// How long a job may be held before it goes back to the queue: what
    /// is left of its lease must still cover a request (the app sets
    /// `lease - WEBHOOKS_TIMEOUT - 1s`).
    pub hold_for: Duration,
    /// On shutdown, how long in-flight requests may finish before they are
    /// abandoned (their jobs are released, not lost).
    pub shutdown_grace: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 50,
            max_in_flight_per_endpoint: 10,
            max_in_flight_per_owner: 20,
            max_in_flight_per_host: 20,
            slow_after: Duration::from_secs(2),
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            max_held_bytes: 8 * 1024 * 1024,
            hold_for: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(25),
        }
    }
}

/// The delivery workers of one process. Several processes may run them on
/// the same database: claims never overlap, and a dead process's leases
/// expire.
pub struct DeliveryEngine {
    db: Database,
    client: OutboundClient,
    /// What the bookkeeping use cases are built from; the vault and the
    /// clock sign and time the sends.
    ports: WebhookPorts,
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
    /// queues test events): through it the fan-out leases new jobs to these
    /// workers and hands them over, and wakes them for the others.
    pub fn new(
        db: Database,
        client: OutboundClient,
        ports: WebhookPorts,
        waker: DeliveryWaker,
        config: DeliveryConfig,
    ) -> Self {
        Self {
            db,
            client,
            ports,
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
        // Each outcome holds its send's place in hand until written, so at
        // most `max_in_flight × IN_HAND_PER_REQUEST` outcomes can ever be
        // waiting: the bound is never reached in practice, and it is a
        // bound.
        let (outcomes, received) = mpsc::channel(
            self.config
                .max_in_flight
                .saturating_mul(IN_HAND_PER_REQUEST)
                .max(1),
        );
        let recorder = tokio::spawn(
            Recorder {
                db: self.db.clone(),
                record: RecordDelivery::new(self.ports.clone()),
                disable: DisableWebhook::new(self.ports.clone()),
            }
            .run(received),
        );
        let sender = Arc::new(Sender {
            client: self.client.clone(),
            vault: self.ports.vault.clone(),
            schedule: self.ports.schedule.clone(),
            clock: self.ports.clock.clone(),
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
}
