//! The fan-out: one delivery job per recipient of each event, written in
//! the relay's transaction.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{EventEnvelope, TopicPattern};
use hub_platform_postgres::{DurableError, DurableSubscriber, RelayedEvent, statement::statement};
use hub_webhooks_application::chantier_of;
use hub_webhooks_domain::{RetrySchedule, delivery_payload};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::repository::Recipients;

/// The delivery jobs of a batch, column by column (bound as arrays).
#[derive(Default)]
struct Jobs {
    ids: Vec<Uuid>,
    webhook_ids: Vec<Uuid>,
    event_ids: Vec<Uuid>,
    event_types: Vec<String>,
    payloads: Vec<String>,
    max_attempts: Vec<i32>,
    /// The event's aggregate and outbox position (per-aggregate ordering).
    aggregate_types: Vec<String>,
    aggregate_ids: Vec<String>,
    seqs: Vec<i64>,
    /// What the webhook's filters are tested on: `data`, and its chantier.
    data: Vec<serde_json::Value>,
    chantier_ids: Vec<Option<Uuid>>,
}

type SqlUuid = diesel::sql_types::Uuid;

/// Wakes the delivery workers of this process when new jobs are committed
/// (cheap to clone; all clones share one signal).
#[derive(Debug, Clone, Default)]
pub struct DeliveryWaker(Arc<Notify>);

impl DeliveryWaker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes the workers now, or at their next wait if they are busy.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.0.notified().await;
    }
}

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
#[derive(Debug)]
pub struct DeliveryFanOut {
    pattern: TopicPattern,
    schedule: RetrySchedule,
    waker: DeliveryWaker,
}

impl DeliveryFanOut {
    pub fn new(schedule: RetrySchedule, waker: DeliveryWaker) -> Self {
        Self {
            pattern: TopicPattern::all(),
            schedule,
            waker,
        }
    }
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

    /// One read of the recipients and one insert of every job, whatever
    /// the number of events.
    async fn handle_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        let envelopes: Vec<&EventEnvelope> = events.iter().map(|event| &**event).collect();
        let recipients = Recipients::load(conn, &envelopes)
            .await
            .map_err(|e| DurableError::new(format!("recipients: {e}")))?;
        let mut jobs = Jobs::default();
        for relayed in events {
            let event: &EventEnvelope = relayed;
            let webhooks = recipients.of(event);
            if webhooks.is_empty() {
                continue;
            }
            let payload = delivery_payload(event).map_err(|e| DurableError::new(e.to_string()))?;
            for webhook in webhooks {
                let attempts = self
                    .schedule
                    .attempts_for(webhook.retry_enabled(), webhook.max_retries());
                jobs.ids.push(Uuid::now_v7());
                jobs.webhook_ids.push(webhook.id());
                jobs.event_ids.push(event.event_id);
                jobs.event_types.push(event.event_type.as_str().to_owned());
                jobs.payloads.push(payload.clone());
                jobs.max_attempts.push(i32::try_from(attempts).unwrap_or(1));
                jobs.aggregate_types.push(event.aggregate_type.clone());
                jobs.aggregate_ids.push(event.aggregate_id.clone());
                jobs.seqs.push(relayed.seq);
                jobs.data.push(event.data.clone());
                jobs.chantier_ids.push(chantier_of(event));
            }
        }
        if jobs.ids.is_empty() {
            return Ok(());
        }
        // The webhook's filters are applied here: limited to some chantiers,
        // the event must name one of them (an event without a chantier
        // never passes such a limit); its data must contain every condition
        // (`@>`: each field present with an equal value). The ordering key
        // is stored for ordered webhooks only: the partial index that the
        // claim's ordering check reads then holds their deliveries alone,
        // and the others' status changes do not maintain it.
        statement(
            "INSERT INTO webhook_deliveries \
             (id, webhook_id, event_id, event_type, payload, max_attempts, next_attempt_at, \
              aggregate_type, aggregate_id, event_seq) \
             SELECT j.id, j.webhook_id, j.event_id, j.event_type, j.payload, j.max_attempts, now(), \
                    CASE WHEN w.ordering = 'aggregate' THEN j.aggregate_type END, \
                    CASE WHEN w.ordering = 'aggregate' THEN j.aggregate_id END, \
                    CASE WHEN w.ordering = 'aggregate' THEN j.event_seq END \
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int4[], \
                         $7::text[], $8::text[], $9::int8[], $10::jsonb[], $11::uuid[]) \
               AS j (id, webhook_id, event_id, event_type, payload, max_attempts, \
                     aggregate_type, aggregate_id, event_seq, data, chantier_id) \
             JOIN webhooks w ON w.id = j.webhook_id \
             WHERE (w.chantier_ids IS NULL OR j.chantier_id = ANY(w.chantier_ids)) \
               AND j.data @> w.filters \
             ON CONFLICT (webhook_id, event_id) DO NOTHING",
        )
        .bind::<Array<SqlUuid>, _>(jobs.ids)
        .bind::<Array<SqlUuid>, _>(jobs.webhook_ids)
        .bind::<Array<SqlUuid>, _>(jobs.event_ids)
        .bind::<Array<Text>, _>(jobs.event_types)
        .bind::<Array<Text>, _>(jobs.payloads)
        .bind::<Array<Integer>, _>(jobs.max_attempts)
        .bind::<Array<Text>, _>(jobs.aggregate_types)
        .bind::<Array<Text>, _>(jobs.aggregate_ids)
        .bind::<Array<BigInt>, _>(jobs.seqs)
        .bind::<Array<Jsonb>, _>(jobs.data)
        .bind::<Array<Nullable<SqlUuid>>, _>(jobs.chantier_ids)
        .execute(conn)
        .await?;
        Ok(())
    }

    fn after_commit(&self) {
        self.waker.wake();
    }
}
