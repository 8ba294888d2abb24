//! The outbox relay: publishes committed events on the bus, at least once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use hub_kernel::{BusError, EventBus, EventEnvelope, TopicPattern};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::DbError;
use crate::outbox::StoredEvent;
use crate::projection::{Projection, Projections};
use crate::statement::statement;

/// A failure of a durable subscriber; the event stays undispatched and is retried.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DurableError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DurableError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, said to come from `who` (one read model of
    /// several run together), its cause kept.
    pub fn within(self, who: &str) -> Self {
        Self {
            message: format!("{who}: {}", self.message),
            source: self.source,
        }
    }
}

impl From<diesel::result::Error> for DurableError {
    fn from(error: diesel::result::Error) -> Self {
        Self {
            message: format!("database error: {error}"),
            source: Some(Box::new(error)),
        }
    }
}

/// An event as the relay hands it to durable subscribers: the envelope and
/// its position in the log (`seq`), which orders the events of one
/// aggregate (and any two events written by one transaction after another).
#[derive(Debug, Clone)]
pub struct RelayedEvent {
    pub seq: i64,
    pub envelope: Arc<EventEnvelope>,
}

impl std::ops::Deref for RelayedEvent {
    type Target = EventEnvelope;

    fn deref(&self) -> &EventEnvelope {
        &self.envelope
    }
}

/// A subscriber whose effect is database work (e.g. webhook fan-out). The
/// relay calls it inside the transaction that marks the event dispatched, so
/// its writes commit exactly when the event is marked handled: a crash can
/// neither lose them nor apply them twice.
#[async_trait]
pub trait DurableSubscriber: Send + Sync {
    /// Stable name for logs.
    fn name(&self) -> &str;
    /// Events this subscriber wants.
    fn pattern(&self) -> &TopicPattern;
    /// Whether it wants events of `event_type`: its pattern's say, unless
    /// it gathers several subscribers with patterns of their own.
    fn wants(&self, event_type: &str) -> bool {
        self.pattern().matches(event_type)
    }
    /// Does the subscriber's work on `conn`, inside the relay's transaction.
    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError>;

    /// Whether [`DurableSubscriber::handle_batch`] may do `events` at once
    /// after the other subscribers have done the whole batch: `false` when
    /// an event's work depends on state that a later event of the batch
    /// changes (through another subscriber). The relay then goes event by
    /// event, every subscriber in turn.
    fn batchable(&self, _events: &[RelayedEvent]) -> bool {
        true
    }

    /// Does the work of several events at once, in log order (the relay's
    /// fast path: a batch in one savepoint). The default handles them one
    /// by one; a subscriber that can write a batch in fewer statements
    /// overrides it. On error the relay undoes the batch and retries its
    /// events one by one with [`DurableSubscriber::handle`].
    async fn handle_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        for event in events {
            self.handle(conn, event).await?;
        }
        Ok(())
    }

    /// Called once after a relay transaction in which this subscriber handled
    /// at least one event has committed: its writes are now visible (e.g. to
    /// wake the workers that process what it wrote).
    fn after_commit(&self) {}

    /// Called when the writes of this subscriber's latest `handle` or
    /// `handle_batch` call were undone (the savepoint it ran in was rolled
    /// back, whether it or a later subscriber failed), so that whatever it
    /// prepared for after the commit goes with them.
    fn undone(&self) {}

    /// Called when the relay's transaction was rolled back: nothing this
    /// subscriber wrote since the last commit will ever be visible.
    fn abandoned(&self) {}
}

/// How the relay claims and retries.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows claimed per transaction.
    pub batch_size: u32,
    /// Fallback polling period, for events committed by other instances or
    /// left behind by a crash.
    pub poll_interval: Duration,
    /// First delay before an event whose durable subscriber failed is retried;
    /// doubles with each attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 100,
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// Why one relay cycle failed (the loop logs it and backs off).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("outbox query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// The bus refused or did not acknowledge a publish (a broker down):
    /// the cycle's transaction is rolled back, so nothing of the batch is
    /// marked dispatched nor held back, and the next cycle tries it again.
    #[error("event bus unavailable, batch left undispatched: {0}")]
    Bus(#[from] BusError),
    /// A durable subscriber failed where its event could not be held back
    /// alone: the cycle's transaction is rolled back.
    #[error("{0}")]
    Subscriber(String),
}

/// Publishes committed outbox rows on the [`EventBus`] and marks them
/// dispatched. Rows are claimed with `FOR UPDATE SKIP LOCKED` and stay locked
/// until the claiming transaction commits, so several relays (in one or many
/// processes) never dispatch the same row twice; a relay that dies before
/// committing leaves its rows to be published again (at least once, same
/// `event_id`).
#[derive(Clone)]
pub struct OutboxRelay {
    db: crate::Database,
    bus: Arc<dyn EventBus>,
    /// The read models, run together before the other durable subscribers.
    projections: Projections,
    /// The other durable subscribers, in the order they were added.
    subscribers: Vec<Arc<dyn DurableSubscriber>>,
    /// What the relay runs: the read models as one subscriber, then the others.
    durable: Vec<Arc<dyn DurableSubscriber>>,
    config: RelayConfig,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field(
                "durable",
                &self.durable.iter().map(|d| d.name()).collect::<Vec<_>>(),
            )
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OutboxRelay {
    pub fn new(db: crate::Database, bus: Arc<dyn EventBus>, config: RelayConfig) -> Self {
        Self {
            db,
            bus,
            projections: Projections::default(),
            subscribers: Vec::new(),
            durable: Vec::new(),
            config,
        }
    }

    /// Adds a durable subscriber; it sees every matching event before the
    /// bus does, after the read models and the subscribers added before it.
    pub fn with_durable_subscriber(mut self, subscriber: Arc<dyn DurableSubscriber>) -> Self {
        self.subscribers.push(subscriber);
        self.arrange()
    }

    /// Adds a read model fed by events (applied once, in order per
    /// aggregate). Every read model runs before the other durable
    /// subscribers, whenever it was added: their positions move in one
    /// statement per batch ([`Projections`]).
    pub fn with_projection(self, projection: impl Projection + 'static) -> Self {
        self.with_shared_projection(Arc::new(projection))
    }

    /// [`OutboxRelay::with_projection`] for a read model already shared.
    pub fn with_shared_projection(mut self, projection: Arc<dyn Projection>) -> Self {
        self.projections.push(projection);
        self.arrange()
    }

    fn arrange(mut self) -> Self {
        let projections = (!self.projections.is_empty())
            .then(|| Arc::new(self.projections.clone()) as Arc<dyn DurableSubscriber>);
        self.durable = projections
            .into_iter()
            .chain(self.subscribers.iter().cloned())
            .collect();
        self
    }

    /// Claims one batch, publishes it and marks it dispatched, in one
    /// transaction. Returns how many events it handled (dispatched or held
    /// back); events waiting for an earlier event of their aggregate are
    /// not counted.
    ///
    /// A cycle first runs every durable subscriber on the whole batch with
    /// no savepoint (the usual case: nothing fails, and a savepoint would
    /// cost two round trips per cycle). When one fails, that transaction is
    /// rolled back and the cycle goes again event by event, each event in a
    /// savepoint of its own, so that only the failing event (and its
    /// aggregate's later events) is held back.
    pub async fn dispatch_once(&self) -> Result<usize, RelayError> {
        match self.cycle(Pace::Batch).await {
            Ok(handled) => Ok(handled),
            Err(CycleError::Relay(error)) => Err(error),
            Err(CycleError::EventByEvent(error)) => {
                tracing::debug!(%error, "batch not dispatched at once; event by event");
                self.cycle(Pace::EventByEvent)
                    .await
                    .map_err(RelayError::from)
            }
        }
    }

    /// One claim and what follows it, in one transaction.
    async fn cycle(&self, pace: Pace) -> Result<usize, CycleError> {
        let mut conn = self.db.connection().await.map_err(RelayError::from)?;
        let touched = std::sync::Mutex::new(vec![false; self.durable.len()]);
        let claimed = match conn
            .transaction(async |conn| self.dispatch_claimed(conn, &touched, pace).await)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                for subscriber in &self.durable {
                    subscriber.abandoned();
                }
                return Err(error);
            }
        };
        let touched = touched
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (subscriber, touched) in self.durable.iter().zip(touched) {
            if touched {
                subscriber.after_commit();
            }
        }
        Ok(claimed)
    }

    async fn dispatch_claimed(
        &self,
        conn: &mut AsyncPgConnection,
        touched: &std::sync::Mutex<Vec<bool>>,
        pace: Pace,
    ) -> Result<usize, CycleError> {
        let rows: Vec<ClaimedRow> = statement(CLAIM)
            .bind::<BigInt, _>(i64::from(self.config.batch_size))
            .load(conn)
            .await?;
        let mut handled = 0;
        // Marked dispatched by the claim: every claimed row not blocked.
        let mut marked: Vec<Uuid> = Vec::with_capacity(rows.len());
        // Aggregates whose earlier event is held back: their later events
        // wait for it (per-aggregate order).
        let mut stalled: HashSet<(String, String)> = HashSet::new();
        let mut events: Vec<RelayedEvent> = Vec::with_capacity(rows.len());
        for ClaimedRow {
            event: row,
            blocked,
        } in rows
        {
            if blocked {
                // Left undispatched, untouched: it goes once its predecessor has.
                continue;
            }
            marked.push(row.event_id);
            let aggregate = (row.aggregate_type.clone(), row.aggregate_id.clone());
            if stalled.contains(&aggregate) {
                continue;
            }
            let (event_id, seq) = (row.event_id, row.seq);
            match row.into_envelope() {
                Ok(envelope) => events.push(RelayedEvent {
                    seq,
                    envelope: Arc::new(envelope),
                }),
                Err(corrupt) => {
                    handled += 1;
                    tracing::error!(%event_id, error = %corrupt, "outbox row cannot be read; holding it back");
                    self.hold_back(conn, event_id, &corrupt.to_string()).await?;
                    stalled.insert(aggregate);
                }
            }
        }
        let mut delivered: HashSet<Uuid> = HashSet::with_capacity(events.len());
        match pace {
            Pace::Batch => {
                if !events.is_empty() {
                    self.deliver_batch(conn, &events, touched).await.map_err(
                        |error| match error {
                            // Not the events' fault: going one by one would
                            // only wait for the broker once per event.
                            DeliverError::Bus(error) => CycleError::Relay(RelayError::Bus(error)),
                            other => CycleError::EventByEvent(other),
                        },
                    )?;
                }
                handled += events.len();
                delivered.extend(events.iter().map(|event| event.event_id));
            }
            Pace::EventByEvent => {
                for event in &events {
                    let aggregate = (event.aggregate_type.clone(), event.aggregate_id.clone());
                    if stalled.contains(&aggregate) {
                        continue;
                    }
                    handled += 1;
                    match self.deliver(conn, event, touched).await {
                        Ok(()) => {
                            delivered.insert(event.event_id);
                        }
                        Err(DeliverError::Bus(error)) => {
                            return Err(CycleError::Relay(RelayError::Bus(error)));
                        }
                        Err(reason) => {
                            tracing::warn!(event_id = %event.event_id, event_type = %event.event_type, error = %reason, "event not dispatched; will retry");
                            self.hold_back(conn, event.event_id, &reason.to_string())
                                .await?;
                            stalled.insert(aggregate);
                        }
                    }
                }
            }
        }
        let undelivered: Vec<Uuid> = marked
            .into_iter()
            .filter(|event_id| !delivered.contains(event_id))
            .collect();
        if !undelivered.is_empty() {
            // Held back, or waiting behind an event that was: the claim's
            // mark is taken back. The ids come through a sub-select, which
            // hides their number from the planner, so that it keeps one
            // plan for any number (docs/decisions/generic-plans.md).
            statement(
                "UPDATE event_logs SET dispatched_at = NULL \
                 WHERE event_id = ANY((SELECT $1::uuid[])::uuid[])",
            )
            .bind::<Array<diesel::sql_types::Uuid>, _>(undelivered)
            .execute(conn)
            .await?;
        }
        Ok(handled)
    }

    /// Runs every durable subscriber on the events it wants (the whole
    /// batch at once where each subscriber can take it, event by event
    /// otherwise), then publishes each event on the bus. No savepoint: on
    /// failure the caller rolls the whole cycle back.
    async fn deliver_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
        touched: &std::sync::Mutex<Vec<bool>>,
    ) -> Result<(), DeliverError> {
        let mut handled_by = vec![false; self.durable.len()];
        if self.durable.iter().all(|s| s.batchable(events)) {
            for (index, subscriber) in self.durable.iter().enumerate() {
                let wanted: Vec<RelayedEvent> = events
                    .iter()
                    .filter(|event| subscriber.wants(event.event_type.as_str()))
                    .cloned()
                    .collect();
                if wanted.is_empty() {
                    continue;
                }
                subscriber
                    .handle_batch(conn, &wanted)
                    .await
                    .map_err(|source| DeliverError::Subscriber {
                        name: subscriber.name().to_owned(),
                        source,
                    })?;
                handled_by[index] = true;
            }
        } else {
            for event in events {
                for (index, subscriber) in self.durable.iter().enumerate() {
                    if !subscriber.wants(event.event_type.as_str()) {
                        continue;
                    }
                    subscriber.handle(conn, event).await.map_err(|source| {
                        DeliverError::Subscriber {
                            name: subscriber.name().to_owned(),
                            source,
                        }
                    })?;
                    handled_by[index] = true;
                }
            }
        }
        // Published once every subscriber is done: a failure above rolls
        // the cycle back before any event of it reached the bus.
        for event in events {
            self.publish(&event.envelope).await?;
        }
        let mut touched = touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (flag, handled) in touched.iter_mut().zip(handled_by) {
            *flag |= handled;
        }
        Ok(())
    }

    /// Runs the durable subscribers (in a savepoint, so a failure undoes only
    /// this event's writes) and then publishes on the bus.
    async fn deliver(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
        touched: &std::sync::Mutex<Vec<bool>>,
    ) -> Result<(), DeliverError> {
        let event_type = event.event_type.as_str();
        let durable: Vec<(usize, &Arc<dyn DurableSubscriber>)> = self
            .durable
            .iter()
            .enumerate()
            .filter(|(_, d)| d.wants(event_type))
            .collect();
        if durable.is_empty() {
            return self.publish(&event.envelope).await;
        }
        let mut called = 0;
        let saved = conn
            .transaction(async |conn| {
                for (_, subscriber) in &durable {
                    called += 1;
                    subscriber.handle(conn, event).await.map_err(|source| {
                        DeliverError::Subscriber {
                            name: subscriber.name().to_owned(),
                            source,
                        }
                    })?;
                }
                self.publish(&event.envelope).await
            })
            .await;
        if let Err(error) = saved {
            for (_, subscriber) in &durable[..called] {
                subscriber.undone();
            }
            return Err(error);
        }
        let mut touched = touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (index, _) in &durable {
            touched[*index] = true;
        }
        Ok(())
    }

    async fn publish(&self, event: &Arc<EventEnvelope>) -> Result<(), DeliverError> {
        self.bus.publish(Arc::clone(event)).await?;
        metrics::counter!("hub_events_published_total", "event_type" => event.event_type.to_string())
            .increment(1);
        Ok(())
    }

    /// Records a failed attempt and delays the next one exponentially.
    async fn hold_back(
        &self,
        conn: &mut AsyncPgConnection,
        event_id: Uuid,
        reason: &str,
    ) -> Result<(), RelayError> {
        let base_ms = i64::try_from(self.config.retry_base.as_millis()).unwrap_or(i64::MAX);
        let max_ms = i64::try_from(self.config.retry_max.as_millis()).unwrap_or(i64::MAX);
        diesel::sql_query(
            "UPDATE event_logs SET dispatch_attempts = dispatch_attempts + 1, last_error = $2, \
             retry_after = now() + LEAST($3::float8 * power(2, LEAST(dispatch_attempts, 30)), $4::float8) \
             * interval '1 millisecond' WHERE event_id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(event_id)
        .bind::<Text, _>(truncate(reason, 2000))
        .bind::<BigInt, _>(base_ms)
        .bind::<BigInt, _>(max_ms)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Dispatches until `shutdown` is cancelled: right after each commit
    /// signalled by [`crate::Database::write`], at once again while batches
    /// come back full, and every `poll_interval` otherwise. A batch in
    /// progress is finished before stopping.
    pub async fn run(self, shutdown: CancellationToken) {
        let signal = self.db.outbox_signal();
        let mut consecutive_errors: u32 = 0;
        tracing::info!(batch_size = self.config.batch_size, "outbox relay started");
        while !shutdown.is_cancelled() {
            let mut wait = self.config.poll_interval;
            match self.dispatch_once().await {
                Ok(claimed) if claimed >= self.config.batch_size as usize => {
                    consecutive_errors = 0;
                    continue;
                }
                Ok(_) => consecutive_errors = 0,
                Err(error) => {
                    consecutive_errors = consecutive_errors.saturating_add(1);
                    wait = self
                        .config
                        .poll_interval
                        .saturating_mul(consecutive_errors.min(30))
                        .min(Duration::from_secs(30));
                    tracing::warn!(%error, consecutive_errors, "outbox relay cycle failed");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = signal.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("outbox relay stopped");
    }
}

/// How a cycle runs the durable subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// The whole batch at once, no savepoint.
    Batch,
    /// Each event in a savepoint, a failing one held back.
    EventByEvent,
}

/// Why a cycle's transaction was rolled back.
#[derive(Debug)]
enum CycleError {
    Relay(RelayError),
    /// A subscriber failed in a [`Pace::Batch`] cycle: go event by event.
    EventByEvent(DeliverError),
}

impl From<RelayError> for CycleError {
    fn from(error: RelayError) -> Self {
        CycleError::Relay(error)
    }
}

impl From<diesel::result::Error> for CycleError {
    fn from(error: diesel::result::Error) -> Self {
        CycleError::Relay(error.into())
    }
}

impl From<CycleError> for RelayError {
    fn from(error: CycleError) -> Self {
        match error {
            CycleError::Relay(error) => error,
            CycleError::EventByEvent(DeliverError::Db(error)) => RelayError::Query(error),
            CycleError::EventByEvent(DeliverError::Bus(error)) => RelayError::Bus(error),
            CycleError::EventByEvent(error) => RelayError::Subscriber(error.to_string()),
        }
    }
}

/// Why one event could not be dispatched (recorded in `last_error`).
#[derive(Debug, thiserror::Error)]
enum DeliverError {
    #[error("durable subscriber `{name}`: {source}")]
    Subscriber {
        name: String,
        #[source]
        source: DurableError,
    },
    #[error("event bus: {0}")]
    Bus(#[from] BusError),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// The claim: a batch of due, undispatched events in log order, locked
/// until the transaction ends (`SKIP LOCKED`: other relays take the rest),
/// and marked dispatched by the same statement (a round trip less per
/// cycle than a mark after the work; the cycle takes the mark back from
/// the events it does not dispatch, and a rollback takes it back from all).
///
/// Per-aggregate order: an event is not claimed while an earlier event of
/// its aggregate is held back after a failure (so a poison event blocks its
/// own aggregate, never the log), and a claimed event is flagged `blocked`
/// (and left unmarked) while an earlier event of its aggregate is
/// undispatched outside this batch (another relay holds it): it is left for
/// a later cycle. The statement sees the log as it was before its own mark.
const CLAIM: &str = "\
WITH claimed AS MATERIALIZED ( \
    SELECT e.seq FROM event_logs e \
    WHERE e.dispatched_at IS NULL AND (e.retry_after IS NULL OR e.retry_after <= now()) \
    AND NOT EXISTS (SELECT 1 FROM event_logs p WHERE p.dispatched_at IS NULL \
        AND p.aggregate_type = e.aggregate_type AND p.aggregate_id = e.aggregate_id \
        AND p.seq < e.seq AND p.retry_after > now()) \
    ORDER BY e.seq LIMIT $1 FOR UPDATE SKIP LOCKED), \
batch AS MATERIALIZED ( \
    SELECT e.seq, e.event_id, e.event_type, e.aggregate_type, e.aggregate_id, e.occurred_at, \
        e.actor_id, e.correlation_id, e.causation_id, e.schema_version, e.data, e.dispatched_at, \
        EXISTS (SELECT 1 FROM event_logs p WHERE p.dispatched_at IS NULL \
            AND p.aggregate_type = e.aggregate_type AND p.aggregate_id = e.aggregate_id \
            AND p.seq < e.seq AND p.seq NOT IN (SELECT seq FROM claimed)) AS blocked \
    FROM event_logs e JOIN claimed USING (seq)), \
marked AS ( \
    UPDATE event_logs e SET dispatched_at = now() FROM batch b \
    WHERE e.seq = b.seq AND NOT b.blocked) \
SELECT * FROM batch ORDER BY seq";

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(embed)]
    event: StoredEvent,
    #[diesel(sql_type = Bool)]
    blocked: bool,
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}
