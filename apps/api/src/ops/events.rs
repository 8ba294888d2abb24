//! The event history, for administrators: persisted events from the outbox
//! (`GET /api/v1/events`, `GET /api/v1/events/{event_id}`) and the
//! in-memory history of this process's bus (`GET /api/v1/events/recent`).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web;
use hub_kernel::{EventEnvelope, TopicPattern};
use hub_platform_event_bus::InProcessEventBus;
use hub_platform_http::Problem;
use hub_platform_http::auth::{AdminOnly, Authorized};
use hub_platform_http::openapi::{ProblemSchema, TopicPatternText};
use hub_platform_postgres::outbox::{self, HistoryFilter, StoredEvent};
use hub_platform_postgres::{Database, DbError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    paths(list_events, get_event, recent_events),
    components(schemas(EventResponse, EventPage, RecentEvents, TopicPatternText)),
    tags((name = "events", description = "Event history (admin)"))
)]
pub struct EventsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // `recent` before `{event_id}`, which would otherwise claim it.
    cfg.route("/api/v1/events/recent", web::get().to(recent_events))
        .route("/api/v1/events", web::get().to(list_events))
        .route("/api/v1/events/{event_id}", web::get().to(get_event));
}

/// An event as stored: its envelope, its position and its dispatch state.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    event_id: Uuid,
    #[schema(example = "chantier.created")]
    event_type: String,
    aggregate_type: String,
    aggregate_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    occurred_at: OffsetDateTime,
    actor_id: Option<Uuid>,
    correlation_id: Option<String>,
    causation_id: Option<Uuid>,
    schema_version: u32,
    #[schema(value_type = Object)]
    data: serde_json::Value,
    /// Position in the log (absent for in-memory events).
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<i64>,
    /// When the relay published it; `null` while pending (absent in memory).
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    dispatched_at: Option<OffsetDateTime>,
}

impl EventResponse {
    fn from_envelope(envelope: &EventEnvelope) -> Self {
        Self {
            event_id: envelope.event_id,
            event_type: envelope.event_type.to_string(),
            aggregate_type: envelope.aggregate_type.clone(),
            aggregate_id: envelope.aggregate_id.clone(),
            occurred_at: envelope.occurred_at,
            actor_id: envelope.actor_id,
            correlation_id: envelope.correlation_id.clone(),
            causation_id: envelope.causation_id,
            schema_version: envelope.schema_version,
            data: envelope.data.clone(),
            seq: None,
            dispatched_at: None,
        }
    }

    fn from_stored(stored: StoredEvent) -> Self {
        Self {
            event_id: stored.event_id,
            event_type: stored.event_type,
            aggregate_type: stored.aggregate_type,
            aggregate_id: stored.aggregate_id,
            occurred_at: stored.occurred_at,
            actor_id: stored.actor_id,
            correlation_id: stored.correlation_id,
            causation_id: stored.causation_id,
            schema_version: u32::try_from(stored.schema_version).unwrap_or_default(),
            data: stored.data,
            seq: Some(stored.seq),
            dispatched_at: stored.dispatched_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    events: Vec<EventResponse>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecentEvents {
    events: Vec<EventResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Topic pattern, e.g. `chantier.*` or `*.created`.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<TopicPatternText>)]
    event_type: Option<String>,
    aggregate_id: Option<String>,
    /// RFC 3339; events that occurred at or after it.
    since: Option<String>,
    /// RFC 3339; events that occurred before it.
    until: Option<String>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
    /// 1 to 100 (default 50).
    limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecentQuery {
    /// Topic pattern.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<TopicPatternText>)]
    event_type: Option<String>,
    /// 1 to 1000 (default 100).
    limit: Option<usize>,
}

fn parse_pattern(raw: Option<&str>) -> Result<Option<TopicPattern>, Problem> {
    raw.map(|raw| {
        TopicPattern::parse(raw)
            .map_err(|e| Problem::bad_request("invalid_query", format!("type `{raw}` {e}")))
    })
    .transpose()
}

fn parse_instant(name: &str, raw: Option<&str>) -> Result<Option<OffsetDateTime>, Problem> {
    raw.map(|raw| {
        OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).map_err(|_| {
            Problem::bad_request(
                "invalid_query",
                format!("{name} must be an RFC 3339 instant such as 2026-11-26T08:00:00Z"),
            )
        })
    })
    .transpose()
}

fn database_problem(error: impl Into<DbError>) -> Problem {
    Problem::internal(&error.into())
}

/// Persisted events, newest first, with cursor pagination (admin).
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events", params(EventQuery),
    responses(
        (status = 200, body = EventPage),
    )
)]
async fn list_events(
    _admin: Authorized<AdminOnly>,
    db: web::Data<Database>,
    query: web::Query<EventQuery>,
) -> Result<web::Json<EventPage>, Problem> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Problem::bad_request(
            "invalid_query",
            "limit must be between 1 and 100",
        ));
    }
    let before_seq = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                Problem::bad_request("invalid_query", "cursor is not one this API returned")
            })
        })
        .transpose()?;
    let filter = HistoryFilter {
        pattern: parse_pattern(query.event_type.as_deref())?,
        aggregate_id: query.aggregate_id,
        since: parse_instant("since", query.since.as_deref())?,
        until: parse_instant("until", query.until.as_deref())?,
        before_seq,
    };
    let mut conn = db.connection().await.map_err(database_problem)?;
    let events = outbox::history(&mut conn, &filter, i64::from(limit))
        .await
        .map_err(database_problem)?;
    let next_cursor = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(web::Json(EventPage {
        events: events.into_iter().map(EventResponse::from_stored).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EventPath {
    event_id: Uuid,
}

/// One persisted event (admin).
#[utoipa::path(
    get, path = "/api/v1/events/{event_id}", tag = "events", params(EventPath),
    responses(
        (status = 200, body = EventResponse),
        (status = 404, description = "`event_not_found`", body = ProblemSchema),
    )
)]
async fn get_event(
    _admin: Authorized<AdminOnly>,
    db: web::Data<Database>,
    path: web::Path<EventPath>,
) -> Result<web::Json<EventResponse>, Problem> {
    let mut conn = db.connection().await.map_err(database_problem)?;
    let stored = outbox::find(&mut conn, path.event_id)
        .await
        .map_err(database_problem)?
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "event_not_found",
                "no event with this id",
            )
        })?;
    Ok(web::Json(EventResponse::from_stored(stored)))
}

/// The last events published on this process's in-memory bus (admin).
#[utoipa::path(
    get, path = "/api/v1/events/recent", tag = "events", params(RecentQuery),
    responses(
        (status = 200, body = RecentEvents),
    )
)]
async fn recent_events(
    _admin: Authorized<AdminOnly>,
    bus: web::Data<Arc<InProcessEventBus>>,
    query: web::Query<RecentQuery>,
) -> Result<web::Json<RecentEvents>, Problem> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request(
            "invalid_query",
            "limit must be between 1 and 1000",
        ));
    }
    let pattern = parse_pattern(query.event_type.as_deref())?;
    let events = bus.recent(pattern.as_ref(), limit);
    Ok(web::Json(RecentEvents {
        events: events
            .iter()
            .map(|e| EventResponse::from_envelope(e))
            .collect(),
    }))
}
