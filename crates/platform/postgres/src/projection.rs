//! Read models a context keeps from another context's events (users,
//! chantiers, affectations…): the pattern every context uses once, here.
//!
//! A [`Projection`] says which events it wants and how one changes its
//! tables. Wrapped in a [`Projector`] and registered with the relay as a
//! durable subscriber, it is applied in the transaction that marks the
//! event dispatched (so it misses none), and never to an event at or before
//! the last one it applied for the same aggregate: a replayed or duplicated
//! event changes nothing, and per-aggregate order holds even when events
//! are seen again. Positions are log positions (`seq`), not ids or clocks:
//! two instances' clocks cannot reorder them.

use std::collections::HashSet;

use async_trait::async_trait;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::TopicPattern;

use crate::relay::{DurableError, DurableSubscriber, RelayedEvent};
use crate::statement::statement;

/// A read model fed by events. `apply` sees each event of an aggregate at
/// most once, in log order; it should fail closed on a payload it cannot
/// read (remove access, never keep it) and return an error only for a
/// failure worth retrying (the event is then held back, and with it the
/// aggregate's later events).
#[async_trait]
pub trait Projection: Send + Sync {
    /// Stable name, also the key of its positions (`<context>.<read model>`).
    fn name(&self) -> &'static str;
    /// The events it wants.
    fn pattern(&self) -> &TopicPattern;
    /// Applies one event to the read model, on the relay's connection.
    async fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError>;

    /// Applies several events, in log order (none seen before). The default
    /// applies them one by one; a projection that can write them in fewer
    /// statements overrides it.
    async fn apply_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        for event in events {
            self.apply(conn, event).await?;
        }
        Ok(())
    }
}

/// A [`Projection`] as a durable subscriber of the relay.
#[derive(Debug)]
pub struct Projector<P> {
    projection: P,
}

impl<P: Projection> Projector<P> {
    pub fn new(projection: P) -> Self {
        Self { projection }
    }
}

/// Moves the projection's position for the event's aggregate to the
/// event's `seq`; `false` when it is already there or beyond.
async fn advance(
    conn: &mut AsyncPgConnection,
    projection: &'static str,
    event: &RelayedEvent,
) -> Result<bool, diesel::result::Error> {
    // Zero rows affected: the conflict's WHERE refused the update.
    let affected = diesel::sql_query(
        "INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (projection, aggregate_type, aggregate_id) \
         DO UPDATE SET last_seq = EXCLUDED.last_seq \
         WHERE projection_positions.last_seq < EXCLUDED.last_seq",
    )
    .bind::<Text, _>(projection)
    .bind::<Text, _>(&event.aggregate_type)
    .bind::<Text, _>(&event.aggregate_id)
    .bind::<BigInt, _>(event.seq)
    .execute(conn)
    .await?;
    Ok(affected > 0)
}

#[derive(diesel::QueryableByName)]
struct Fresh {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// Moves the projection's positions over a batch at once and returns the
/// log positions of the events it had not applied yet (all of a new
/// aggregate's, and those past the aggregate's last position).
async fn advance_batch(
    conn: &mut AsyncPgConnection,
    projection: &'static str,
    events: &[RelayedEvent],
) -> Result<HashSet<i64>, diesel::result::Error> {
    let types: Vec<&str> = events.iter().map(|e| e.aggregate_type.as_str()).collect();
    let ids: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    // The statements of a WITH see one snapshot: `old` reads the positions
    // as they were before `moved` writes them.
    let fresh: Vec<Fresh> = statement(
        "WITH incoming AS ( \
            SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS i (aggregate_type, aggregate_id, seq)), \
         old AS ( \
            SELECT p.aggregate_type, p.aggregate_id, p.last_seq FROM projection_positions p \
            WHERE p.projection = $4 \
              AND (p.aggregate_type, p.aggregate_id) IN (SELECT aggregate_type, aggregate_id FROM incoming)), \
         moved AS ( \
            INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq) \
            SELECT $5, aggregate_type, aggregate_id, max(seq) FROM incoming \
            GROUP BY aggregate_type, aggregate_id \
            ON CONFLICT (projection, aggregate_type, aggregate_id) \
            DO UPDATE SET last_seq = EXCLUDED.last_seq \
            WHERE projection_positions.last_seq < EXCLUDED.last_seq) \
         SELECT i.seq FROM incoming i LEFT JOIN old o USING (aggregate_type, aggregate_id) \
         WHERE o.last_seq IS NULL OR i.seq > o.last_seq",
    )
    .bind::<Array<Text>, _>(types)
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<BigInt>, _>(seqs)
    .bind::<Text, _>(projection)
    .bind::<Text, _>(projection)
    .load(conn)
    .await?;
    Ok(fresh.into_iter().map(|row| row.seq).collect())
}

#[async_trait]
impl<P: Projection> DurableSubscriber for Projector<P> {
    fn name(&self) -> &str {
        self.projection.name()
    }

    fn pattern(&self) -> &TopicPattern {
        self.projection.pattern()
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        if !advance(conn, self.projection.name(), event).await? {
            tracing::debug!(projection = self.projection.name(), event_id = %event.event_id, seq = event.seq, "event already applied or older than the read model; skipped");
            return Ok(());
        }
        self.projection.apply(conn, event).await
    }

    async fn handle_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        let fresh = advance_batch(conn, self.projection.name(), events).await?;
        let unseen: Vec<RelayedEvent> = events
            .iter()
            .filter(|event| fresh.contains(&event.seq))
            .cloned()
            .collect();
        if unseen.len() < events.len() {
            tracing::debug!(
                projection = self.projection.name(),
                skipped = events.len() - unseen.len(),
                "events already applied or older than the read model; skipped"
            );
        }
        if unseen.is_empty() {
            return Ok(());
        }
        self.projection.apply_batch(conn, &unseen).await
    }
}
