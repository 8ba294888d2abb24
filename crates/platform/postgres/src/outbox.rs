//! Writing events to the outbox (`event_logs`) and reading them back.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{EventEnvelope, EventType};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::event_logs;

/// An `event_logs` row as written by [`append`]. Absent values are bound
/// as NULL rather than written as `DEFAULT` (the columns' default is NULL
/// anyway): the statement's text is then the same for every event, so
/// diesel keeps it prepared and PostgreSQL does not parse and plan it again
/// for each one.
#[derive(Debug, Insertable)]
#[diesel(table_name = event_logs)]
#[diesel(treat_none_as_default_value = false)]
struct NewEventLog<'a> {
    event_id: Uuid,
    event_type: &'a str,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    occurred_at: OffsetDateTime,
    actor_id: Option<Uuid>,
    correlation_id: Option<&'a str>,
    causation_id: Option<Uuid>,
    schema_version: i32,
    data: &'a serde_json::Value,
}

/// The envelope columns of a stored event, plus its position in the log.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = event_logs)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct StoredEvent {
    pub seq: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub occurred_at: OffsetDateTime,
    pub actor_id: Option<Uuid>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<Uuid>,
    pub schema_version: i32,
    pub data: serde_json::Value,
    pub dispatched_at: Option<OffsetDateTime>,
}

/// A stored row that no longer reads as a valid envelope (edited by hand).
#[derive(Debug, thiserror::Error)]
#[error("stored event {event_id} is invalid: {reason}")]
pub struct CorruptEvent {
    pub event_id: Uuid,
    pub reason: String,
}

impl StoredEvent {
    pub fn into_envelope(self) -> Result<EventEnvelope, CorruptEvent> {
        let corrupt = |reason: String| CorruptEvent {
            event_id: self.event_id,
            reason,
        };
        let event_type =
            EventType::parse(self.event_type.clone()).map_err(|e| corrupt(e.to_string()))?;
        let schema_version = u32::try_from(self.schema_version)
            .map_err(|_| corrupt(format!("schema_version {}", self.schema_version)))?;
        Ok(EventEnvelope {
            event_id: self.event_id,
            event_type,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            occurred_at: self.occurred_at,
            actor_id: self.actor_id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            schema_version,
            data: self.data,
        })
    }
}

/// Appends `events` to the outbox on `conn`. Call it inside the transaction
/// that changes the aggregate, so that both commit or roll back together.
///
/// It borrows the connection shared, so that it can be sent together with
/// the aggregate's own statement, both answers awaited at once (pipelined:
/// one round trip for the two, as the write macros do).
pub async fn append(
    conn: &AsyncPgConnection,
    events: &[EventEnvelope],
) -> Result<(), diesel::result::Error> {
    let mut conn = conn;
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<NewEventLog<'_>> = events
        .iter()
        .map(|event| NewEventLog {
            event_id: event.event_id,
            event_type: event.event_type.as_str(),
            aggregate_type: &event.aggregate_type,
            aggregate_id: &event.aggregate_id,
            occurred_at: event.occurred_at,
            actor_id: event.actor_id,
            correlation_id: event.correlation_id.as_deref(),
            causation_id: event.causation_id,
            // Versions are small integers; saturate rather than wrap if a
            // caller ever passes something absurd (the CHECK keeps it ≥ 1).
            schema_version: i32::try_from(event.schema_version).unwrap_or(i32::MAX),
            data: &event.data,
        })
        .collect();
    // One event, the usual case, as a single row: diesel caches the
    // prepared statement of a single-row insert, not of a multi-row one
    // (its text depends on the number of rows).
    let insert = diesel::insert_into(event_logs::table);
    match rows.as_slice() {
        [row] => insert.values(row).execute(&mut conn).await?,
        rows => insert.values(rows).execute(&mut conn).await?,
    };
    Ok(())
}

/// One stored event by id.
pub async fn find(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> Result<Option<StoredEvent>, diesel::result::Error> {
    event_logs::table
        .find(event_id)
        .select(StoredEvent::as_select())
        .first(conn)
        .await
        .optional()
}

/// How many events wait to be dispatched, and the age of the oldest.
pub async fn pending(
    conn: &mut AsyncPgConnection,
) -> Result<(i64, Option<OffsetDateTime>), diesel::result::Error> {
    event_logs::table
        .filter(event_logs::dispatched_at.is_null())
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(event_logs::recorded_at),
        ))
        .first(conn)
        .await
}

/// Which stored events a history query returns.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// Event types selected by this pattern.
    pub pattern: Option<hub_kernel::TopicPattern>,
    pub aggregate_id: Option<String>,
    /// `occurred_at >= since`.
    pub since: Option<OffsetDateTime>,
    /// `occurred_at < until`.
    pub until: Option<OffsetDateTime>,
    /// Only events older (lower `seq`) than this cursor: the `seq` of the
    /// last event of the previous page.
    pub before_seq: Option<i64>,
}

/// Stored events matching `filter`, newest first, at most `limit`.
pub async fn history(
    conn: &mut AsyncPgConnection,
    filter: &HistoryFilter,
    limit: i64,
) -> Result<Vec<StoredEvent>, diesel::result::Error> {
    let mut query = event_logs::table.into_boxed();
    if let Some(pattern) = &filter.pattern {
        query = query.filter(regex_match(event_logs::event_type, pattern.to_regex()));
    }
    if let Some(aggregate_id) = &filter.aggregate_id {
        query = query.filter(event_logs::aggregate_id.eq(aggregate_id.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(event_logs::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(event_logs::occurred_at.lt(until));
    }
    if let Some(before) = filter.before_seq {
        query = query.filter(event_logs::seq.lt(before));
    }
    query
        .order(event_logs::seq.desc())
        .limit(limit)
        .select(StoredEvent::as_select())
        .load(conn)
        .await
}

/// Marks the dispatched events of type `pattern` that occurred since
/// `since` as undispatched, so that the relays publish them again (same
/// `event_id`: subscribers deduplicate). Returns how many were marked.
pub async fn mark_for_replay(
    conn: &mut AsyncPgConnection,
    since: OffsetDateTime,
    pattern: Option<&hub_kernel::TopicPattern>,
) -> Result<usize, diesel::result::Error> {
    let regex = pattern.map_or_else(
        || hub_kernel::TopicPattern::all().to_regex(),
        |p| p.to_regex(),
    );
    diesel::update(
        event_logs::table
            .filter(event_logs::dispatched_at.is_not_null())
            .filter(event_logs::occurred_at.ge(since))
            .filter(regex_match(event_logs::event_type, regex)),
    )
    .set((
        event_logs::dispatched_at.eq(None::<OffsetDateTime>),
        event_logs::dispatch_attempts.eq(0),
        event_logs::last_error.eq(None::<String>),
        event_logs::retry_after.eq(None::<OffsetDateTime>),
    ))
    .execute(conn)
    .await
}

/// Deletes up to `batch` dispatched events that occurred before `cutoff`
/// (GDPR retention); call it until it returns less than `batch`, so that no
/// statement holds its locks for long.
pub async fn delete_dispatched_before(
    conn: &mut AsyncPgConnection,
    cutoff: OffsetDateTime,
    batch: i64,
) -> Result<usize, diesel::result::Error> {
    diesel::sql_query(
        "DELETE FROM event_logs WHERE event_id IN (SELECT event_id FROM event_logs \
         WHERE dispatched_at IS NOT NULL AND occurred_at < $1 ORDER BY occurred_at LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(cutoff)
    .bind::<diesel::sql_types::BigInt, _>(batch)
    .execute(conn)
    .await
}

/// How many dispatched events occurred before `cutoff` (dry runs).
pub async fn count_dispatched_before(
    conn: &mut AsyncPgConnection,
    cutoff: OffsetDateTime,
) -> Result<i64, diesel::result::Error> {
    event_logs::table
        .filter(event_logs::dispatched_at.is_not_null())
        .filter(event_logs::occurred_at.lt(cutoff))
        .count()
        .get_result(conn)
        .await
}

diesel::define_sql_function! {
    /// PostgreSQL's `regexp_like(text, pattern)`-style POSIX match (`~`).
    #[sql_name = "textregexeq"]
    fn regex_match(text: diesel::sql_types::Text, pattern: diesel::sql_types::Text) -> diesel::sql_types::Bool;
}
