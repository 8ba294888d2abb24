//! The event catalog routes (`/api/v1/event-types[/{event_type}]`, any
//! signed-in user): every event type a webhook can subscribe to, with the
//! JSON Schema of its `data` and an example of it.

use actix_web::http::StatusCode;
use actix_web::web;
use hub_kernel::EventTypeInfo;
use hub_platform_http::Problem;
use hub_platform_http::auth::Authenticated;
use hub_platform_http::openapi::ProblemSchema;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::WebhooksHttp;

/// One event type of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeResponse {
    #[schema(example = "chantier.statut_changed")]
    event_type: &'static str,
    #[schema(example = "chantier")]
    aggregate_type: &'static str,
    description: &'static str,
    #[schema(example = 1)]
    schema_version: u32,
    /// JSON Schema (draft 2020-12) of the event's `data`.
    #[schema(value_type = Object)]
    data_schema: serde_json::Value,
    /// The `data` of an example event of this type (valid against `data_schema`).
    #[schema(value_type = Option<Object>)]
    example_data: Option<serde_json::Value>,
}

impl From<EventTypeInfo> for EventTypeResponse {
    fn from(info: EventTypeInfo) -> Self {
        Self {
            event_type: info.event_type,
            aggregate_type: info.aggregate_type,
            description: info.description,
            schema_version: info.schema_version,
            example_data: info.example_data().cloned(),
            data_schema: info.data_schema,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypesResponse {
    event_types: Vec<EventTypeResponse>,
}

/// The event catalog: every event type, with the JSON Schema of its `data`.
#[utoipa::path(
    get, path = "/api/v1/event-types", tag = "events",
    responses(
        (status = 200, body = EventTypesResponse),
    )
)]
pub(super) async fn list_event_types(
    state: web::Data<WebhooksHttp>,
    _user: Authenticated,
) -> web::Json<EventTypesResponse> {
    web::Json(EventTypesResponse {
        event_types: state
            .event_types
            .execute()
            .into_iter()
            .map(EventTypeResponse::from)
            .collect(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct EventTypePath {
    /// A type of the catalog, e.g. `chantier.created`.
    event_type: String,
}

/// One event type of the catalog, with the JSON Schema of its `data` and an example.
#[utoipa::path(
    get, path = "/api/v1/event-types/{event_type}", tag = "events", params(EventTypePath),
    responses(
        (status = 200, body = EventTypeResponse),
        (status = 404, description = "`event_type_not_found`: not a type of the catalog (patterns such as `chantier.*` are not types)", body = ProblemSchema),
    )
)]
pub(super) async fn get_event_type(
    state: web::Data<WebhooksHttp>,
    _user: Authenticated,
    path: web::Path<EventTypePath>,
) -> Result<web::Json<EventTypeResponse>, Problem> {
    state
        .event_types
        .execute()
        .into_iter()
        .find(|info| info.event_type == path.event_type)
        .map(|info| web::Json(EventTypeResponse::from(info)))
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "event_type_not_found",
                format!("`{}` is not an event type of the catalog", path.event_type),
            )
        })
}
