//! The fan-out: one delivery job per recipient of each event, written in
//! the relay's transaction; the jobs this process's workers have room for
//! are leased to them at insert and handed over once committed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Jsonb, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{EventEnvelope, TopicPattern};
use hub_platform_postgres::{
    DurableError, DurableSubscriber, RelayedEvent, pipelined, statement::statement,
};
use hub_webhooks_application::chantier_of;
use hub_webhooks_domain::{DeliveryOrdering, RetrySchedule, delivery_payload};
use tokio::sync::Notify;
use uuid::Uuid;

use super::queue::ClaimedJob;
use super::slots::{Handed, Lease, LocalWorkers, SlotKey};
use crate::repository::{Candidates, Recipients, conducteurs_of, recipients_version};

/// The delivery jobs of a batch, column by column (bound as arrays). What
/// belongs to the event (its payload, its data, ...) is bound once per
/// event, in [`JobEvents`], not once per job: with four webhooks, a quarter
/// of the bytes to send, and of the JSON for PostgreSQL to parse.
#[derive(Default)]
struct Jobs {
    ids: Vec<Uuid>,
    webhook_ids: Vec<Uuid>,
    /// The job's event: its position (from 1) in `events`.
    event_positions: Vec<i32>,
    max_attempts: Vec<i32>,
    /// Leased at insert to this process's workers (a slot was free, or
    /// room to hold the job until one is).
    leased: Vec<bool>,
    events: JobEvents,
}

/// The events that have jobs in a batch, column by column.
#[derive(Default)]
struct JobEvents {
    ids: Vec<Uuid>,
    event_types: Vec<String>,
    payloads: Vec<String>,
    /// The event's aggregate and outbox position (per-aggregate ordering).
    aggregate_types: Vec<String>,
    aggregate_ids: Vec<String>,
    seqs: Vec<i64>,
    /// What the webhook's filters are tested on: `data`, and its chantier.
    data: Vec<serde_json::Value>,
    chantier_ids: Vec<Option<Uuid>>,
}

type SqlUuid = diesel::sql_types::Uuid;

/// The line from the fan-out (and the test route) to this process's
/// delivery workers (cheap to clone; all clones share it): it wakes them
/// when jobs they must claim are committed, and, while they run, lets the
/// fan-out lease new jobs to them at insert and hand them over after the
/// commit, with no claim in between.
#[derive(Debug, Clone, Default)]
pub struct DeliveryWaker(Arc<Line>);

#[derive(Debug, Default)]
struct Line {
    notify: Notify,
    workers: Mutex<Option<Arc<LocalWorkers>>>,
}

impl DeliveryWaker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes the workers now, or at their next wait if they are busy.
    pub fn wake(&self) {
        self.0.notify.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.0.notify.notified().await;
    }

    fn slot(&self) -> MutexGuard<'_, Option<Arc<LocalWorkers>>> {
        self.0
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The workers' claim loop has started: new jobs may be leased to it.
    pub(crate) fn attach(&self, workers: Arc<LocalWorkers>) {
        *self.slot() = Some(workers);
    }

    /// The claim loop has stopped: every new job waits in the queue.
    pub(crate) fn detach(&self) {
        *self.slot() = None;
    }

    fn workers(&self) -> Option<Arc<LocalWorkers>> {
        self.slot().clone()
    }
}

/// What one `handle_batch` call leased, to hand over after the commit (or
/// to drop with its slots if its writes are undone).
#[derive(Debug, Default)]
struct Staged {
    workers: Option<Arc<LocalWorkers>>,
    handed: Vec<Handed>,
    /// Jobs were queued without a lease: the workers must claim them.
    queued: bool,
}

/// The insert of a batch's jobs (see [`DeliveryFanOut::handle_batch`]),
/// returning those leased at insert as the workers send them.
const INSERT_SQL: &str = "WITH inserted AS ( \
         INSERT INTO webhook_deliveries \
         (id, webhook_id, event_id, event_type, payload, max_attempts, next_attempt_at, \
          aggregate_type, aggregate_id, event_seq, \
          status, attempt, lease_until, leased_by, lease_token) \
         SELECT j.id, j.webhook_id, e.event_id, e.event_type, e.payload, j.max_attempts, now(), \
                CASE WHEN w.ordering = 'aggregate' THEN e.aggregate_type END, \
                CASE WHEN w.ordering = 'aggregate' THEN e.aggregate_id END, \
                CASE WHEN w.ordering = 'aggregate' THEN e.event_seq END, \
                CASE WHEN l.leased THEN 'in_flight' ELSE 'pending' END, \
                CASE WHEN l.leased THEN 1 ELSE 0 END, \
                CASE WHEN l.leased THEN now() + $1 * interval '1 millisecond' END, \
                CASE WHEN l.leased THEN $2::uuid END, \
                CASE WHEN l.leased THEN gen_random_uuid() END \
         FROM unnest($3::uuid[], $4::uuid[], $5::int4[], $6::int4[], $7::bool[]) \
           AS j (id, webhook_id, event_position, max_attempts, leased) \
         JOIN unnest($8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[], \
                     $13::int8[], $14::jsonb[], $15::uuid[]) WITH ORDINALITY \
           AS e (event_id, event_type, payload, aggregate_type, aggregate_id, event_seq, data, \
                 chantier_id, position) \
           ON e.position = j.event_position \
         JOIN webhooks w ON w.id = j.webhook_id \
         CROSS JOIN LATERAL (SELECT j.leased AND w.ordering <> 'aggregate' AS leased) l \
         WHERE (w.chantier_ids IS NULL OR e.chantier_id = ANY(w.chantier_ids)) \
           AND e.data @> w.filters \
         ON CONFLICT (webhook_id, event_id) DO NOTHING \
         RETURNING id, lease_token, webhook_id, event_id, event_type, payload, attempt, \
                   max_attempts \
     ) \
     SELECT i.id, i.lease_token, i.webhook_id, w.owner_id, w.host, i.event_id, \
            i.event_type, i.payload, i.attempt, i.max_attempts, w.url, w.is_active, \
            TRUE AS allowed, w.legacy_signature, FALSE AS ordered, \
            w.secret_ciphertext, w.secret_nonce, w.secret_key_id, \
            w.previous_secret_ciphertext, w.previous_secret_nonce, \
            w.previous_secret_key_id, w.previous_secret_expires_at \
     FROM inserted i JOIN webhooks w ON w.id = i.webhook_id \
     WHERE i.lease_token IS NOT NULL";

/// A [`DurableSubscriber`] of every event: for each, one delivery job per
/// recipient ([`recipients_on`]: active, matching, allowed to see it) whose
/// own filters the event passes (`chantier_ids`, `filters`: tested by the
/// insert itself, so a filtered-out event writes no row), holding the exact
/// body every attempt will sign and send, and the event's aggregate and
/// outbox position (what ordered webhooks are ordered by). It runs in the
/// relay's transaction, so a job exists exactly when its event is marked
/// dispatched; `(webhook_id, event_id)` is unique, so an event published
/// again (replay, a relay that died before committing) never fans out
/// twice. Register it after the scoping projectors, so that the read models
/// already reflect the event being fanned out.
///
/// The recipients (active webhooks, their owners' role and status) are
/// kept from one batch to the next with the version they were read at
/// (`webhook_recipients_version`, replaced by every change of them); a
/// batch trusts them when the version read with its insert is still that
/// one, and is otherwise taken back and fanned out again from a fresh read
/// (docs/decisions/webhook-recipients-memory.md).
///
/// While this process's delivery workers run, each new job they have a
/// free slot for (under every cap), or room to hold until a slot frees
/// (bounded in bytes), is inserted leased to them, its first attempt
/// counted, and handed to them in memory once the relay commits: no claim
/// statement, no wake-up delay. The others wait as `pending` for a claim,
/// and so do the jobs of ordered webhooks (their turn is the claim's to
/// judge). A job handed over is exactly one whose insert committed: the
/// relay tells the fan-out when a savepoint or its transaction is undone
/// ([`DurableSubscriber::undone`], [`DurableSubscriber::abandoned`]), and
/// what that call leased is dropped, slots and room given back. One relay
/// drives a fan-out (calls never overlap).
#[derive(Debug)]
pub struct DeliveryFanOut {
    pattern: TopicPattern,
    schedule: RetrySchedule,
    waker: DeliveryWaker,
    /// One entry per `handle_batch` call since the last commit, in order.
    staged: Mutex<Vec<Staged>>,
    /// The recipients as last read, kept for the next batches while their
    /// version holds.
    candidates: Mutex<Option<Arc<Candidates>>>,
}

impl DeliveryFanOut {
    pub fn new(schedule: RetrySchedule, waker: DeliveryWaker) -> Self {
        Self {
            pattern: TopicPattern::all(),
            schedule,
            waker,
            staged: Mutex::new(Vec::new()),
            candidates: Mutex::new(None),
        }
    }

    fn staged(&self) -> MutexGuard<'_, Vec<Staged>> {
        self.staged.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A batch's jobs before their insert, with the leases taken for them.
struct Planned {
    jobs: Jobs,
    leases: Vec<(Uuid, Lease)>,
    /// Some job goes without a lease: the workers must claim it.
    queued: bool,
}

impl DeliveryFanOut {
    fn remembered(&self) -> Option<Arc<Candidates>> {
        self.candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn remember(&self, candidates: Arc<Candidates>) {
        *self
            .candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(candidates);
    }

    /// Fans `events` out to the remembered `candidates` if they are still
    /// current: `false` (and nothing written) when they are not. Without a
    /// chantier's responsables to read, the version is read with the insert
    /// itself, and the insert deleted when the version has moved on; with
    /// them, it is read with the responsables, before.
    async fn fan_out_remembered(
        &self,
        conn: &mut AsyncPgConnection,
        candidates: Arc<Candidates>,
        events: &[RelayedEvent],
        envelopes: &[&EventEnvelope],
        workers: Option<&Arc<LocalWorkers>>,
    ) -> Result<bool, DurableError> {
        let remembered = candidates.version();
        let chantiers = candidates.chantiers_to_scope(envelopes);
        if !chantiers.is_empty() {
            let shared: &AsyncPgConnection = conn;
            let (version, conducteurs) = pipelined(
                recipients_version(shared),
                conducteurs_of(shared, chantiers),
            )
            .await?;
            if version != remembered {
                return Ok(false);
            }
            let planned = self.plan(&Recipients::new(candidates, conducteurs), events, workers)?;
            if !planned.jobs.ids.is_empty() {
                let leased = insert_jobs(conn, planned.jobs, workers).await?;
                self.stage(workers.cloned(), leased, planned.leases, planned.queued);
            }
            return Ok(true);
        }
        let planned = self.plan(
            &Recipients::new(candidates, HashMap::new()),
            events,
            workers,
        )?;
        if planned.jobs.ids.is_empty() {
            return Ok(recipients_version(conn).await? == remembered);
        }
        let ids = planned.jobs.ids.clone();
        let shared: &AsyncPgConnection = conn;
        let (version, leased) = pipelined(
            recipients_version(shared),
            insert_jobs(shared, planned.jobs, workers),
        )
        .await?;
        if version == remembered {
            self.stage(workers.cloned(), leased, planned.leases, planned.queued);
            return Ok(true);
        }
        // Judged by out-of-date recipients: the rows go, uncommitted and
        // never handed over (their slots and room come back as the leases
        // drop).
        statement("DELETE FROM webhook_deliveries WHERE id = ANY((SELECT $1::uuid[])::uuid[])")
            .bind::<Array<SqlUuid>, _>(ids)
            .execute(conn)
            .await?;
        Ok(false)
    }

    /// One job per recipient of each event, leased to this process's
    /// workers where they have a free slot or room to hold it.
    fn plan(
        &self,
        recipients: &Recipients,
        events: &[RelayedEvent],
        workers: Option<&Arc<LocalWorkers>>,
    ) -> Result<Planned, DurableError> {
        let mut jobs = Jobs::default();
        let mut leases: Vec<(Uuid, Lease)> = Vec::new();
        for relayed in events {
            let event: &EventEnvelope = relayed;
            let webhooks = recipients.of(event);
            if webhooks.is_empty() {
                continue;
            }
            let payload = delivery_payload(event).map_err(|e| DurableError::new(e.to_string()))?;
            let payload_len = payload.len();
            let events = &mut jobs.events;
            events.ids.push(event.event_id);
            events
                .event_types
                .push(event.event_type.as_str().to_owned());
            events.payloads.push(payload);
            events.aggregate_types.push(event.aggregate_type.clone());
            events.aggregate_ids.push(event.aggregate_id.clone());
            events.seqs.push(relayed.seq);
            events.data.push(event.data.clone());
            events.chantier_ids.push(chantier_of(event));
            let position = i32::try_from(events.ids.len())
                .map_err(|_| DurableError::new("too many events in one batch"))?;
            for webhook in webhooks {
                let attempts = self
                    .schedule
                    .attempts_for(webhook.retry_enabled(), webhook.max_retries());
                let id = Uuid::now_v7();
                let lease = match (workers, webhook.ordering()) {
                    (Some(workers), DeliveryOrdering::Unordered) => workers.lease(
                        SlotKey::new(webhook.id(), webhook.owner_id(), webhook.url().as_str()),
                        payload_len,
                    ),
                    _ => None,
                };
                jobs.leased.push(lease.is_some());
                if let Some(lease) = lease {
                    leases.push((id, lease));
                }
                jobs.ids.push(id);
                jobs.webhook_ids.push(webhook.id());
                jobs.event_positions.push(position);
                jobs.max_attempts.push(i32::try_from(attempts).unwrap_or(1));
            }
        }
        let queued = jobs.leased.iter().any(|leased| !leased);
        Ok(Planned {
            jobs,
            leases,
            queued,
        })
    }

    /// Keeps what the insert leased for after the commit. A job leased but
    /// not inserted (filtered out, or already fanned out) gives its slot or
    /// its room back as its lease drops here; one inserted without its
    /// lease (its webhook became ordered meanwhile) waits for a claim.
    fn stage(
        &self,
        workers: Option<Arc<LocalWorkers>>,
        leased: Vec<ClaimedJob>,
        leases: Vec<(Uuid, Lease)>,
        queued: bool,
    ) {
        // By id: with held jobs a batch may have a lease for each of its
        // hundreds of jobs.
        let mut leases: HashMap<Uuid, Lease> = leases.into_iter().collect();
        let handed: Vec<Handed> = leased
            .into_iter()
            .filter_map(|job| {
                let lease = leases.remove(&job.id)?;
                Some(Handed { job, lease })
            })
            .collect();
        let queued = queued || !leases.is_empty();
        if let Some(staged) = self.staged().last_mut() {
            *staged = Staged {
                workers,
                handed,
                queued,
            };
        }
    }
}

/// Inserts a batch's jobs (one statement, on a shared borrow of `conn` so
/// that it can be sent with another), returning those leased at insert.
///
/// The webhook's filters are applied here: limited to some chantiers, the
/// event must name one of them (an event without a chantier never passes
/// such a limit); its data must contain every condition (`@>`: each field
/// present with an equal value). The ordering key is stored for ordered
/// webhooks only: the partial index that the claim's ordering check reads
/// then holds their deliveries alone, and the others' status changes do
/// not maintain it.
async fn insert_jobs(
    conn: &AsyncPgConnection,
    jobs: Jobs,
    workers: Option<&Arc<LocalWorkers>>,
) -> diesel::QueryResult<Vec<ClaimedJob>> {
    let mut conn = conn;
    statement(INSERT_SQL)
        .bind::<BigInt, _>(workers.map_or(0, |w| {
            i64::try_from(w.lease.as_millis()).unwrap_or(i64::MAX)
        }))
        .bind::<Nullable<SqlUuid>, _>(workers.map(|w| w.worker))
        .bind::<Array<SqlUuid>, _>(jobs.ids)
        .bind::<Array<SqlUuid>, _>(jobs.webhook_ids)
        .bind::<Array<Integer>, _>(jobs.event_positions)
        .bind::<Array<Integer>, _>(jobs.max_attempts)
        .bind::<Array<Bool>, _>(jobs.leased)
        .bind::<Array<SqlUuid>, _>(jobs.events.ids)
        .bind::<Array<Text>, _>(jobs.events.event_types)
        .bind::<Array<Text>, _>(jobs.events.payloads)
        .bind::<Array<Text>, _>(jobs.events.aggregate_types)
        .bind::<Array<Text>, _>(jobs.events.aggregate_ids)
        .bind::<Array<BigInt>, _>(jobs.events.seqs)
        .bind::<Array<Jsonb>, _>(jobs.events.data)
        .bind::<Array<Nullable<SqlUuid>>, _>(jobs.events.chantier_ids)
        .load(&mut conn)
        .await
}

#[async_trait]
impl DurableSubscriber for DeliveryFanOut {
    fn name(&self) -> &str {
        "webhooks.delivery-fan-out"
    }

    fn pattern(&self) -> &TopicPattern {
        &self.pattern
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        self.handle_batch(conn, std::slice::from_ref(event)).await
    }

    /// A batch is fanned out at once only when no event in it changes what
    /// an earlier one's recipients depend on (a `user.*` event, or a
    /// `chantier.*` event about the chantier of an earlier event): the
    /// scoping read models are then, for each event, as they were when it
    /// came. Otherwise the relay goes event by event.
    fn batchable(&self, events: &[RelayedEvent]) -> bool {
        let mut owners_change_later = false;
        let mut chantiers_change_later: Vec<Uuid> = Vec::new();
        for event in events.iter().rev() {
            let event_type = event.event_type.as_str();
            let chantier = chantier_of(event);
            if owners_change_later
                || chantier.is_some_and(|id| chantiers_change_later.contains(&id))
            {
                return false;
            }
            if event_type.starts_with("user.") {
                owners_change_later = true;
            }
            if let (true, Some(id)) = (event_type.starts_with("chantier."), chantier) {
                chantiers_change_later.push(id);
            }
        }
        true
    }

    /// One insert of every job, whatever the number of events, sent with
    /// the read of the recipients' version when the recipients remembered
    /// from an earlier batch can be trusted to judge this one (they are
    /// checked by that read, and the insert taken back in the rare case
    /// they were out of date); otherwise the recipients are read first.
    async fn handle_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        // Pushed first, so that an `undone` after a failure here drops this
        // call's entry and no other.
        self.staged().push(Staged::default());
        let workers = self.waker.workers();
        let envelopes: Vec<&EventEnvelope> = events.iter().map(|event| &**event).collect();
        if let Some(candidates) = self.remembered()
            && self
                .fan_out_remembered(conn, candidates, events, &envelopes, workers.as_ref())
                .await?
        {
            return Ok(());
        }
        let candidates = Arc::new(
            Candidates::load(conn)
                .await
                .map_err(|e| DurableError::new(format!("recipients: {e}")))?,
        );
        self.remember(Arc::clone(&candidates));
        if let Some(workers) = &workers {
            workers.recipients_changed();
        }
        let chantiers = candidates.chantiers_to_scope(&envelopes);
        let conducteurs = conducteurs_of(conn, chantiers).await?;
        let recipients = Recipients::new(candidates, conducteurs);
        let planned = self.plan(&recipients, events, workers.as_ref())?;
        if planned.jobs.ids.is_empty() {
            return Ok(());
        }
        let leased = insert_jobs(conn, planned.jobs, workers.as_ref()).await?;
        self.stage(workers, leased, planned.leases, planned.queued);
        Ok(())
    }

    fn after_commit(&self) {
        let staged = std::mem::take(&mut *self.staged());
        let mut queued = false;
        for Staged {
            workers,
            handed,
            queued: left,
        } in staged
        {
            queued |= left;
            if let Some(workers) = workers {
                for job in handed {
                    workers.hand(job);
                }
            }
        }
        if queued {
            self.waker.wake();
        }
    }

    fn undone(&self) {
        // Its rows are gone: the leases with them, slots given back.
        self.staged().pop();
    }

    fn abandoned(&self) {
        self.staged().clear();
    }
}
