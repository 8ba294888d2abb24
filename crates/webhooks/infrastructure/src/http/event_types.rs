//! The event catalog route (`/api/v1/event-types`, any signed-in user):
//! every event type a webhook can subscribe to, with the JSON Schema of its
//! `data`.

use actix_web::web;
use hub_kernel::EventTypeInfo;
use hub_platform_http::auth::Authenticated;
use serde::Serialize;
use utoipa::ToSchema;

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
}

impl From<EventTypeInfo> for EventTypeResponse {
    fn from(info: EventTypeInfo) -> Self {
        Self {
            event_type: info.event_type,
            aggregate_type: info.aggregate_type,
            description: info.description,
            schema_version: info.schema_version,
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
