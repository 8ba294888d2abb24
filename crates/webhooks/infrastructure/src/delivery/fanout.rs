//! The fan-out: one delivery job per recipient of each event, written in
//! the relay's transaction.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::sql_types::{Array, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{EventEnvelope, TopicPattern};
use hub_platform_postgres::{DurableError, DurableSubscriber, RelayedEvent, statement::statement};
use hub_webhooks_domain::{RetrySchedule, delivery_payload};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::recipients_on;

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
/// recipient ([`recipients_on`]: active, matching, allowed to see it),
/// holding the exact body every attempt will sign and send. It runs in the
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
        let event: &EventEnvelope = event;
        let recipients = recipients_on(conn, event)
            .await
            .map_err(|e| DurableError::new(format!("recipients: {e}")))?;
        if recipients.is_empty() {
            return Ok(());
        }
        let payload = delivery_payload(event).map_err(|e| DurableError::new(e.to_string()))?;
        let mut ids = Vec::with_capacity(recipients.len());
        let mut webhook_ids = Vec::with_capacity(recipients.len());
        let mut max_attempts = Vec::with_capacity(recipients.len());
        for webhook in &recipients {
            ids.push(Uuid::now_v7());
            webhook_ids.push(webhook.id());
            let attempts = self
                .schedule
                .attempts_for(webhook.retry_enabled(), webhook.max_retries());
            max_attempts.push(i32::try_from(attempts).unwrap_or(1));
        }
        // One statement for every recipient; the payload is bound once.
        statement(
            "INSERT INTO webhook_deliveries \
             (id, webhook_id, event_id, event_type, payload, max_attempts, next_attempt_at) \
             SELECT r.id, r.webhook_id, $1, $2, $3, r.max_attempts, now() \
             FROM unnest($4::uuid[], $5::uuid[], $6::int4[]) AS r (id, webhook_id, max_attempts) \
             ON CONFLICT (webhook_id, event_id) DO NOTHING",
        )
        .bind::<SqlUuid, _>(event.event_id)
        .bind::<Text, _>(event.event_type.as_str())
        .bind::<Text, _>(payload)
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<SqlUuid>, _>(webhook_ids)
        .bind::<Array<Integer>, _>(max_attempts)
        .execute(conn)
        .await?;
        Ok(())
    }

    fn after_commit(&self) {
        self.waker.wake();
    }
}
