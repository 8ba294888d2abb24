//! Read models a context keeps from another context's events (users,
//! chantiers, affectations…): the pattern every context uses once, here.
//!
//! A [`Projection`] says which events it wants and how one changes its
//! tables. Registered with the relay (which runs every read model together
//! as [`Projections`]; [`Projector`] wraps one alone), it is applied in the
//! transaction that marks the event dispatched (so it misses none), and
//! never to an event at or before the last one it applied for the same
//! aggregate: a replayed or duplicated event changes nothing, and
//! per-aggregate order holds even when events are seen again. Positions are
//! log positions (`seq`), not ids or clocks: two instances' clocks cannot
//! reorder them. The platform keeps them in `projection_positions`, except
//! for a read model that keeps them in its own rows
//! ([`Projection::positioned_in_rows`]).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use diesel::sql_types::{Array, BigInt, Integer, Text};
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

    /// Whether the read model keeps, in each of its rows, the log position
    /// (`seq`) of the last event applied to it, and skips an event at or
    /// before it (a guarded upsert). The platform then keeps no position
    /// for it: it is given every event it wants, events it has applied
    /// before included (a replay), and must skip those itself. When every
    /// read model wanting an event says so, the event costs no position
    /// statement at all.
    fn positioned_in_rows(&self) -> bool {
        false
    }

    /// The same read model kept by several contexts, each in a table of
    /// its own with the same shape (the directories), is written by one
    /// statement for all: `Some((kind, table))` says which kind of read
    /// model this is and its table. [`Projections`] applies the read models
    /// of one kind that are due the same events with one
    /// [`Projection::apply_jointly`] call on the first of them.
    fn joint(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// Applies `events` (in log order, none seen before) to `tables`, the
    /// tables of read models of this one's [`Projection::joint`] kind (its
    /// own among them), in as few statements as it can. Called only when
    /// `joint` returns `Some`.
    async fn apply_jointly(
        &self,
        _conn: &mut AsyncPgConnection,
        _tables: &[&'static str],
        _events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        Err(DurableError::new(format!(
            "{} cannot be written jointly with other read models",
            self.name()
        )))
    }
}

/// A [`Projection`] alone as a durable subscriber of the relay (tests, and
/// relays with one read model). [`Projections`] is the same for several.
#[derive(Debug)]
pub struct Projector<P> {
    projection: P,
}

impl<P: Projection> Projector<P> {
    pub fn new(projection: P) -> Self {
        Self { projection }
    }
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
        apply_unseen(conn, &[&self.projection], std::slice::from_ref(event)).await
    }

    async fn handle_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        apply_unseen(conn, &[&self.projection], events).await
    }
}

/// Every read model of the process as one durable subscriber: an event (or
/// a batch) moves the positions of all the read models that want it in one
/// statement, then each applies what it had not seen. Seven contexts keep a
/// copy of the chantiers: one statement per batch instead of seven.
///
/// The relay runs it before its other durable subscribers, so a context's
/// subscriber still sees its context's read models up to date (contexts
/// read no other context's tables).
#[derive(Clone, Default)]
pub struct Projections {
    projections: Vec<Arc<dyn Projection>>,
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.projections.iter().map(|p| p.name()))
            .finish()
    }
}

impl Projections {
    /// Adds a read model; applied after those added before it, except
    /// that read models written jointly ([`Projection::joint`]) are all
    /// written where the first of them comes (read models never read one
    /// another's tables).
    pub fn push(&mut self, projection: Arc<dyn Projection>) {
        self.projections.push(projection);
    }

    pub fn is_empty(&self) -> bool {
        self.projections.is_empty()
    }

    fn each(&self) -> Vec<&dyn Projection> {
        self.projections.iter().map(|p| p.as_ref()).collect()
    }
}

#[async_trait]
impl DurableSubscriber for Projections {
    fn name(&self) -> &str {
        "projections"
    }

    /// Every event; [`DurableSubscriber::wants`] says which concern one.
    fn pattern(&self) -> &TopicPattern {
        static ALL: std::sync::OnceLock<TopicPattern> = std::sync::OnceLock::new();
        ALL.get_or_init(TopicPattern::all)
    }

    fn wants(&self, event_type: &str) -> bool {
        self.projections
            .iter()
            .any(|p| p.pattern().matches(event_type))
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        apply_unseen(conn, &self.each(), std::slice::from_ref(event)).await
    }

    async fn handle_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        apply_unseen(conn, &self.each(), events).await
    }
}

#[derive(diesel::QueryableByName)]
struct Fresh {
    #[diesel(sql_type = Integer)]
    projection: i32,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// Moves the positions of `projections` over the `events` each wants, in
/// one statement, then has each apply, in log order, the events it had
/// not applied yet (all of a new aggregate's, and those past the
/// aggregate's last position). A read model positioned in its rows gets
/// every event it wants and judges them itself.
async fn apply_unseen(
    conn: &mut AsyncPgConnection,
    projections: &[&dyn Projection],
    events: &[RelayedEvent],
) -> Result<(), DurableError> {
    let mut indexes: Vec<i32> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    let mut ids: Vec<&str> = Vec::new();
    let mut seqs: Vec<i64> = Vec::new();
    for (index, projection) in (0i32..).zip(projections) {
        if projection.positioned_in_rows() {
            continue;
        }
        for event in events {
            if projection.pattern().matches(event.event_type.as_str()) {
                indexes.push(index);
                names.push(projection.name());
                types.push(&event.aggregate_type);
                ids.push(&event.aggregate_id);
                seqs.push(event.seq);
            }
        }
    }
    let fresh = if indexes.is_empty() {
        HashSet::new()
    } else {
        positions(conn, &indexes, &names, &types, &ids, &seqs).await?
    };
    let unseen: Vec<Vec<RelayedEvent>> = (0i32..)
        .zip(projections)
        .map(|(index, projection)| {
            if projection.positioned_in_rows() {
                return events
                    .iter()
                    .filter(|event| projection.pattern().matches(event.event_type.as_str()))
                    .cloned()
                    .collect();
            }
            let wanted = indexes.iter().filter(|i| **i == index).count();
            let unseen: Vec<RelayedEvent> = events
                .iter()
                .filter(|event| fresh.contains(&(index, event.seq)))
                .cloned()
                .collect();
            if unseen.len() < wanted {
                tracing::debug!(
                    projection = projection.name(),
                    skipped = wanted - unseen.len(),
                    "events already applied or older than the read model; skipped"
                );
            }
            unseen
        })
        .collect();
    apply_each(conn, projections, &unseen).await
}

/// Moves the positions (`projection`, `aggregate_type`, `aggregate_id`,
/// `seq`, one entry per read model and event it wants; `indexes` number the
/// read models) and returns the entries that were past the position.
async fn positions(
    conn: &mut AsyncPgConnection,
    indexes: &[i32],
    names: &[&str],
    types: &[&str],
    ids: &[&str],
    seqs: &[i64],
) -> Result<HashSet<(i32, i64)>, DurableError> {
    // The statements of a WITH see one snapshot: `old` reads the positions
    // as they were before `moved` writes them.
    let fresh: Vec<Fresh> = statement(
        "WITH incoming AS ( \
            SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::bigint[]) \
              AS i (idx, projection, aggregate_type, aggregate_id, seq)), \
         old AS ( \
            SELECT p.projection, p.aggregate_type, p.aggregate_id, p.last_seq FROM projection_positions p \
            WHERE (p.projection, p.aggregate_type, p.aggregate_id) IN \
              (SELECT projection, aggregate_type, aggregate_id FROM incoming)), \
         moved AS ( \
            INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq) \
            SELECT projection, aggregate_type, aggregate_id, max(seq) FROM incoming \
            GROUP BY projection, aggregate_type, aggregate_id \
            ON CONFLICT (projection, aggregate_type, aggregate_id) \
            DO UPDATE SET last_seq = EXCLUDED.last_seq \
            WHERE projection_positions.last_seq < EXCLUDED.last_seq) \
         SELECT i.idx AS projection, i.seq FROM incoming i \
         LEFT JOIN old o USING (projection, aggregate_type, aggregate_id) \
         WHERE o.last_seq IS NULL OR i.seq > o.last_seq",
    )
    .bind::<Array<Integer>, _>(indexes)
    .bind::<Array<Text>, _>(names)
    .bind::<Array<Text>, _>(types)
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<BigInt>, _>(seqs)
    .load(conn)
    .await?;
    Ok(fresh.into_iter().map(|f| (f.projection, f.seq)).collect())
}

/// Has each read model apply its `unseen` events (in log order), those of
/// one joint kind due the same events in one write.
async fn apply_each(
    conn: &mut AsyncPgConnection,
    projections: &[&dyn Projection],
    unseen: &[Vec<RelayedEvent>],
) -> Result<(), DurableError> {
    let same_events = |a: &[RelayedEvent], b: &[RelayedEvent]| {
        a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.seq == b.seq)
    };
    let mut applied_jointly = vec![false; projections.len()];
    for (index, projection) in projections.iter().enumerate() {
        let due = unseen[index].as_slice();
        if due.is_empty() || applied_jointly[index] {
            continue;
        }
        // Read models of the same kind due the same events (the usual
        // case: a new read model catching up is the exception) are
        // written together: one statement instead of one per context.
        if let Some((kind, table)) = projection.joint() {
            let mut tables = vec![table];
            let mut names = vec![projection.name()];
            for (later, other) in projections.iter().enumerate().skip(index + 1) {
                if let Some((other_kind, other_table)) = other.joint()
                    && other_kind == kind
                    && !applied_jointly[later]
                    && same_events(due, &unseen[later])
                {
                    applied_jointly[later] = true;
                    tables.push(other_table);
                    names.push(other.name());
                }
            }
            if tables.len() > 1 {
                projection
                    .apply_jointly(conn, &tables, due)
                    .await
                    .map_err(|error| error.within(&names.join(" + ")))?;
                continue;
            }
        }
        let applied = match due {
            [event] => projection.apply(conn, event).await,
            many => projection.apply_batch(conn, many).await,
        };
        applied.map_err(|error| error.within(projection.name()))?;
    }
    Ok(())
}
