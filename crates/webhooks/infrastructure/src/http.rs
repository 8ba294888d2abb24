//! HTTP routes of the webhooks context: `/api/v1/webhooks*` (admins and
//! conducteurs, each managing their own webhooks and reading their delivery
//! log) and `/api/v1/event-types` (any signed-in user).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use hub_kernel::EventType;
use hub_kernel::{Clock, EventTypeInfo};
use hub_platform_http::auth::{AdminOrConducteur, Authenticated, Authorized};
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::rate_limit::{
    Limit, RateLimit, RateLimitConfigError, RateLimitRule, RateLimits, Scope,
};
use hub_platform_http::{Problem, RequestId, extractors};
use hub_webhooks_application::{
    AttemptFilter, CreateWebhook, CreateWebhookInput, DeleteWebhook, DeliveryRepository,
    DestinationPolicy, EventCatalog, GetWebhook, ListDeliveries, ListEventTypes, ListWebhooks,
    RecoverDeliveries, RetryDelivery, RotateSecret, SecretVault, SendTestEvent, UpdateWebhook,
    UpdateWebhookInput, WebhookError, WebhookRepository,
};
use hub_webhooks_domain::{DeliveryAttempt, RetrySchedule, Webhook};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

/// Limits of this context (per user), overridable with `RATE_LIMITS`.
pub const RATE_LIMIT_RULES: &[RateLimitRule] = &[
    RateLimitRule {
        key: "webhooks.create",
        default: Limit::per_minute(10),
        scope: Scope::PerUser,
    },
    RateLimitRule {
        key: "webhooks.read",
        default: Limit::per_minute(30),
        scope: Scope::PerUser,
    },
    RateLimitRule {
        key: "webhooks.write",
        default: Limit::per_minute(20),
        scope: Scope::PerUser,
    },
    RateLimitRule {
        key: "webhooks.test",
        default: Limit::per_minute(5),
        scope: Scope::PerUser,
    },
    RateLimitRule {
        key: "webhooks.rotate",
        default: Limit::per_minute(5),
        scope: Scope::PerUser,
    },
];

/// The rate-limit middlewares of the routes, one per route family.
#[derive(Debug, Clone)]
pub struct WebhookRateLimits {
    /// `POST /webhooks`.
    pub create: RateLimit,
    /// `GET /webhooks`, `GET /webhooks/{id}`, `GET /webhooks/{id}/deliveries`.
    pub read: RateLimit,
    /// `PATCH` and `DELETE /webhooks/{id}`, redeliveries (`…/retry`, `…/recover`).
    pub write: RateLimit,
    /// `POST /webhooks/{id}/test`.
    pub test: RateLimit,
    /// `POST /webhooks/{id}/rotate-secret`.
    pub rotate: RateLimit,
}

impl WebhookRateLimits {
    pub fn from_limits(limits: &RateLimits) -> Result<Self, RateLimitConfigError> {
        Ok(Self {
            create: limits.layer("webhooks.create")?,
            read: limits.layer("webhooks.read")?,
            write: limits.layer("webhooks.write")?,
            test: limits.layer("webhooks.test")?,
            rotate: limits.layer("webhooks.rotate")?,
        })
    }
}

/// The use cases behind the routes.
pub struct WebhooksHttp {
    create: CreateWebhook,
    list: ListWebhooks,
    get: GetWebhook,
    update: UpdateWebhook,
    delete: DeleteWebhook,
    rotate: RotateSecret,
    event_types: ListEventTypes,
    deliveries: ListDeliveries,
    test: SendTestEvent,
    retry: RetryDelivery,
    recover: RecoverDeliveries,
    /// Largest body read by the routes that read it themselves
    /// (`rotate-secret`); the JSON extractor has its own, the same.
    body_limit: usize,
}

impl std::fmt::Debug for WebhooksHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhooksHttp")
    }
}

/// The ports behind the routes.
pub struct WebhooksPorts {
    pub webhooks: Arc<dyn WebhookRepository>,
    pub deliveries: Arc<dyn DeliveryRepository>,
    pub catalog: Arc<dyn EventCatalog>,
    pub destinations: Arc<dyn DestinationPolicy>,
    pub vault: Arc<dyn SecretVault>,
    pub clock: Arc<dyn Clock>,
    /// The deployment's retry schedule (attempts of test and redeliveries).
    pub schedule: RetrySchedule,
}

impl WebhooksHttp {
    pub fn new(ports: WebhooksPorts) -> Self {
        let WebhooksPorts {
            webhooks,
            deliveries,
            catalog,
            destinations,
            vault,
            clock,
            schedule,
        } = ports;
        Self {
            deliveries: ListDeliveries::new(webhooks.clone(), deliveries.clone()),
            test: SendTestEvent::new(
                webhooks.clone(),
                deliveries.clone(),
                schedule.clone(),
                clock.clone(),
            ),
            retry: RetryDelivery::new(webhooks.clone(), deliveries.clone(), schedule.clone()),
            recover: RecoverDeliveries::new(webhooks.clone(), deliveries, schedule),
            create: CreateWebhook::new(
                webhooks.clone(),
                catalog.clone(),
                destinations.clone(),
                vault.clone(),
                clock.clone(),
            ),
            list: ListWebhooks::new(webhooks.clone()),
            get: GetWebhook::new(webhooks.clone()),
            update: UpdateWebhook::new(
                webhooks.clone(),
                catalog.clone(),
                destinations,
                clock.clone(),
            ),
            delete: DeleteWebhook::new(webhooks.clone(), clock.clone()),
            rotate: RotateSecret::new(webhooks, vault, clock),
            event_types: ListEventTypes::new(catalog),
            body_limit: extractors::DEFAULT_JSON_LIMIT,
        }
    }

    /// The deployment's body limit (`HTTP_BODY_LIMIT`, the one given to
    /// `extractors::json_config`), for the routes that read their body as
    /// bytes: an optional body cannot go through the JSON extractor.
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }
}

/// Registers the routes.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    state: web::Data<WebhooksHttp>,
    limits: WebhookRateLimits,
) {
    cfg.app_data(state)
        .service(
            web::resource("/api/v1/webhooks")
                .route(web::post().to(create_webhook).wrap(limits.create))
                .route(web::get().to(list_webhooks).wrap(limits.read.clone())),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}")
                .route(web::get().to(get_webhook).wrap(limits.read.clone()))
                .route(web::patch().to(update_webhook).wrap(limits.write.clone()))
                .route(web::delete().to(delete_webhook).wrap(limits.write.clone())),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/deliveries")
                .route(web::get().to(list_deliveries).wrap(limits.read)),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/test")
                .route(web::post().to(send_test).wrap(limits.test)),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry")
                .route(web::post().to(retry_delivery).wrap(limits.write.clone())),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/recover")
                .route(web::post().to(recover_deliveries).wrap(limits.write)),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/rotate-secret")
                .route(web::post().to(rotate_secret).wrap(limits.rotate)),
        )
        .route("/api/v1/event-types", web::get().to(list_event_types));
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_webhook, list_webhooks, get_webhook, update_webhook, delete_webhook, rotate_secret,
        list_deliveries, send_test, retry_delivery, recover_deliveries, list_event_types
    ),
    components(schemas(
        CreateWebhookRequest, UpdateWebhookRequest, RotateSecretRequest, WebhookResponse,
        WebhookWithSecretResponse, WebhookListResponse, EventTypeResponse, EventTypesResponse,
        DeliveryAttemptResponse, DeliveryListResponse, TestEventResponse, RetryResponse,
        RecoverRequest, RecoverResponse, ProblemSchema
    )),
    tags(
        (name = "webhooks", description = "Your webhook subscriptions (admin, conducteur): signed HTTP notifications of events"),
        (name = "events", description = "The event catalog")
    )
)]
pub struct WebhooksApi;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// The receiver: `https` only, no credentials, at most 2048 characters,
    /// resolving only to public addresses.
    #[schema(
        example = "https://erp.example.com/hooks/hub-chantier",
        max_length = 2048
    )]
    url: String,
    /// 1 to 50 topic patterns (`*` matches one segment, or every remaining
    /// segment in last position), each selecting at least one event type of
    /// `GET /api/v1/event-types` (`webhook.test` excluded).
    #[schema(example = json!(["chantier.*", "*.created"]))]
    events: Vec<String>,
    #[schema(example = "Synchronisation ERP", max_length = 500)]
    description: Option<String>,
    /// Also sign with the legacy `X-Hub-Chantier-Signature` header (an HMAC
    /// of the body alone, replayable: only for receivers that cannot check
    /// the Standard Webhooks headers). `false` by default.
    #[serde(default)]
    legacy_signature: bool,
}

/// Absent fields are left unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    #[schema(max_length = 2048)]
    url: Option<String>,
    events: Option<Vec<String>>,
    /// An empty string clears the description.
    #[schema(max_length = 500)]
    description: Option<String>,
    /// `false` deactivates; `true` re-enables, which resets
    /// `consecutive_failures` and clears `disabled_reason`.
    is_active: Option<bool>,
    retry_enabled: Option<bool>,
    /// 0 to 10.
    #[schema(minimum = 0, maximum = 10)]
    max_retries: Option<u64>,
    /// Send (`true`) or stop sending (`false`) the legacy
    /// `X-Hub-Chantier-Signature` header.
    legacy_signature: Option<bool>,
}

/// The body is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the previous secret keeps signing: 0 to 604800 s (7 days),
    /// 86400 (24 h) by default.
    #[schema(minimum = 0, maximum = 604800, example = 86400)]
    grace_period_seconds: Option<u64>,
}

/// A webhook as the API shows it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    id: Uuid,
    owner_id: Uuid,
    url: String,
    events: Vec<String>,
    description: Option<String>,
    is_active: bool,
    /// Failed deliveries in a row; 10 deactivate the webhook.
    consecutive_failures: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_triggered_at: Option<OffsetDateTime>,
    retry_enabled: bool,
    max_retries: u8,
    /// Why the webhook was deactivated automatically, if it was.
    disabled_reason: Option<String>,
    /// Deliveries also carry the legacy `X-Hub-Chantier-Signature` header.
    legacy_signature: bool,
    /// Until when the secret replaced by the last rotation still signs.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    previous_secret_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

impl From<&Webhook> for WebhookResponse {
    fn from(webhook: &Webhook) -> Self {
        Self {
            id: webhook.id(),
            owner_id: webhook.owner_id(),
            url: webhook.url().as_str().to_owned(),
            events: webhook.events().to_strings(),
            description: webhook.description().map(|d| d.as_str().to_owned()),
            is_active: webhook.is_active(),
            consecutive_failures: webhook.consecutive_failures(),
            last_triggered_at: webhook.last_triggered_at(),
            retry_enabled: webhook.retry_enabled(),
            max_retries: webhook.max_retries().get(),
            disabled_reason: webhook.disabled_reason().map(str::to_owned),
            legacy_signature: webhook.legacy_signature(),
            previous_secret_expires_at: webhook.previous_secret().map(|p| p.expires_at),
            created_at: webhook.created_at(),
            updated_at: webhook.updated_at(),
        }
    }
}

/// A webhook and its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecretResponse<'a> {
    #[serde(flatten)]
    webhook: WebhookResponse,
    // Borrowed from the use case's PlainSecret (wiped on drop): no other
    // copy is made before serialisation.
    /// `whsec_` + base64 of 32 random bytes. Store it now: it is never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookListResponse {
    total: u64,
    webhooks: Vec<WebhookResponse>,
}

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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WebhookListQuery {
    /// Webhooks to skip (default 0).
    skip: Option<u64>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The webhook's id.
    id: Uuid,
}

fn webhook_error(error: WebhookError) -> Problem {
    match error {
        WebhookError::NotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "webhook_not_found",
            "no webhook with this id",
        ),
        WebhookError::Invalid(errors) => Problem::validation(errors),
        WebhookError::InvalidUrl(refused) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_url",
            refused.to_string(),
        ),
        WebhookError::QuotaExceeded { limit } => Problem::conflict(
            "quota_exceeded",
            format!(
                "you already have the maximum of {limit} webhooks (active or not); delete one to create another"
            ),
        ),
        WebhookError::Conflict => Problem::conflict(
            "concurrent_update",
            "the webhook was changed by someone else meanwhile; try again",
        ),
        WebhookError::DeliveryNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "delivery_not_found",
            "this webhook has no delivery with this id",
        ),
        WebhookError::Inactive => Problem::conflict(
            "webhook_inactive",
            "the webhook is inactive: re-enable it (PATCH is_active=true) before redelivering; POST /test works on inactive webhooks",
        ),
        WebhookError::DeliveryInProgress => Problem::conflict(
            "delivery_in_progress",
            "this delivery is being sent right now; try again in a moment",
        ),
        WebhookError::Unavailable(reason) => Problem::internal_message(reason),
    }
}

/// Create a webhook; the answer holds its signing secret, shown this once.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Created; store `secret` now", body = WebhookWithSecretResponse),
        (status = 401, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and conducteurs have webhooks", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 409, description = "Already 20 webhooks (`quota_exceeded`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`) or refused URL (`invalid_url`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "`webhooks.create` limit (10/min)", body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn create_webhook(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<CreateWebhookRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = CreateWebhookInput {
        url: body.url,
        events: body.events,
        description: body.description,
        legacy_signature: body.legacy_signature,
    };
    let created = state
        .create
        .execute(&request_id.command_context(user.actor), input)
        .await
        .map_err(webhook_error)?;
    let webhook = &created.webhook;
    tracing::info!(webhook_id = %webhook.id(), owner_id = %webhook.owner_id(), "webhook created");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/webhooks/{}", webhook.id()),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(WebhookWithSecretResponse {
            webhook: WebhookResponse::from(webhook),
            secret: created.secret.expose(),
        }))
}

/// Your webhooks, oldest first.
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks", params(WebhookListQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = WebhookListResponse),
        (status = 400, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 401, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 403, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "`webhooks.read` limit (30/min)", body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn list_webhooks(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    query: web::Query<WebhookListQuery>,
) -> Result<web::Json<WebhookListResponse>, Problem> {
    let query = query.into_inner();
    let page = extractors::page(query.skip, query.limit)?;
    let (webhooks, total) = state
        .list
        .execute(user.actor.user_id, page)
        .await
        .map_err(webhook_error)?;
    Ok(web::Json(WebhookListResponse {
        total,
        webhooks: webhooks.iter().map(WebhookResponse::from).collect(),
    }))
}

/// One of your webhooks (404 for anyone else's).
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = WebhookResponse),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn get_webhook(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    path: web::Path<WebhookPath>,
) -> Result<web::Json<WebhookResponse>, Problem> {
    let webhook = state
        .get
        .execute(user.actor.user_id, path.id)
        .await
        .map_err(webhook_error)?;
    Ok(web::Json(WebhookResponse::from(&webhook)))
}

/// Change URL, patterns, description, active flag, retries or legacy signature.
#[utoipa::path(
    patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    request_body = UpdateWebhookRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = WebhookResponse),
        (status = 404, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently (`concurrent_update`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown fields, refused URL", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "`webhooks.write` limit (20/min)", body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn update_webhook(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<WebhookPath>,
    body: web::Json<UpdateWebhookRequest>,
) -> Result<web::Json<WebhookResponse>, Problem> {
    let body = body.into_inner();
    let input = UpdateWebhookInput {
        url: body.url,
        events: body.events,
        description: body.description,
        is_active: body.is_active,
        retry_enabled: body.retry_enabled,
        max_retries: body.max_retries,
        legacy_signature: body.legacy_signature,
    };
    let webhook = state
        .update
        .execute(&request_id.command_context(user.actor), path.id, input)
        .await
        .map_err(webhook_error)?;
    Ok(web::Json(WebhookResponse::from(&webhook)))
}

/// Delete one of your webhooks (frees a slot of the quota).
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn delete_webhook(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete
        .execute(&request_id.command_context(user.actor), path.id)
        .await
        .map_err(webhook_error)?;
    tracing::info!(webhook_id = %path.id, "webhook deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret; the previous one keeps signing during the
/// grace period (deliveries carry both signatures). The body is optional.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(WebhookPath),
    request_body(content = Option<RotateSecretRequest>, description = "Optional"),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Rotated; store `secret` now", body = WebhookWithSecretResponse),
        (status = 400, description = "Malformed JSON (`malformed_json`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 404, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 413, description = "Body over `HTTP_BODY_LIMIT` (`payload_too_large`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 422, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "`webhooks.rotate` limit (5/min)", body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn rotate_secret(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<WebhookPath>,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let body = read_body(payload, state.body_limit).await?;
    let request: RotateSecretRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RotateSecretRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            if e.is_data() {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("the body does not have the expected shape: {e}"),
                )
            } else {
                Problem::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
            }
        })?
    };
    let rotated = state
        .rotate
        .execute(
            &request_id.command_context(user.actor),
            path.id,
            request.grace_period_seconds,
        )
        .await
        .map_err(webhook_error)?;
    tracing::info!(webhook_id = %path.id, "webhook secret rotated");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(WebhookWithSecretResponse {
            webhook: WebhookResponse::from(&rotated.webhook),
            secret: rotated.secret.expose(),
        }))
}

/// Reads a whole body of at most `limit` bytes. Stops reading as soon as
/// the limit is passed (a declared `Content-Length` or not), and answers
/// like the JSON extractor does: `413 payload_too_large`.
async fn read_body(payload: web::Payload, limit: usize) -> Result<web::Bytes, Problem> {
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(error)) => Err(Problem::bad_request(
            "invalid_body",
            format!("the body could not be read: {error}"),
        )),
        Err(_) => Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )),
    }
}

/// The event catalog: every event type, with the JSON Schema of its `data`.
#[utoipa::path(
    get, path = "/api/v1/event-types", tag = "events", security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = EventTypesResponse),
        (status = 401, body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn list_event_types(
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
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    /// Attempts to skip (default 0).
    skip: Option<u64>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<u64>,
    /// Only successful (`true`) or failed (`false`) attempts.
    success: Option<bool>,
    /// Only attempts of this event type, e.g. `chantier.created`.
    event_type: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    /// The webhook's id.
    id: Uuid,
    /// A delivery's id (`delivery_id` in the log), or the `id` of one of its attempts.
    delivery_id: Uuid,
}

/// One attempt of the delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttemptResponse {
    /// This attempt.
    id: Uuid,
    /// The delivery (one per webhook and event; its attempts share it).
    delivery_id: Uuid,
    /// The event, also sent as `webhook-id`.
    event_id: Uuid,
    #[schema(example = "chantier.created")]
    event_type: String,
    /// 1 for the first attempt of the delivery.
    #[schema(example = 1)]
    attempt: u32,
    /// A 2xx answer.
    success: bool,
    /// The receiver's HTTP status, when it answered.
    #[schema(example = 200)]
    status_code: Option<u16>,
    /// The first KiB of the answer's body (invalid UTF-8 replaced).
    response_body: Option<String>,
    /// Why the attempt failed: `timeout`, `connect`, `dns`, `ssrf_refused`,
    /// `tls`, `http_status` or `redirect`.
    #[schema(example = json!(null))]
    error_kind: Option<&'static str>,
    error_message: Option<String>,
    /// From the request's start to the end of the answer (or the failure).
    duration_ms: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    attempted_at: OffsetDateTime,
    /// Where the delivery stands now: `pending` (a retry is scheduled),
    /// `in_flight`, `succeeded`, `failed` (its last attempt failed) or
    /// `cancelled` (the webhook was deactivated before it was sent).
    #[schema(example = "succeeded")]
    delivery_status: &'static str,
}

impl From<DeliveryAttempt> for DeliveryAttemptResponse {
    fn from(attempt: DeliveryAttempt) -> Self {
        Self {
            id: attempt.id,
            delivery_id: attempt.delivery_id,
            event_id: attempt.event_id,
            event_type: attempt.event_type,
            attempt: attempt.attempt,
            success: attempt.success,
            status_code: attempt.status_code,
            response_body: attempt.response_body,
            error_kind: attempt.error_kind.map(|kind| kind.as_str()),
            error_message: attempt.error_message,
            duration_ms: attempt.duration_ms,
            attempted_at: attempt.attempted_at,
            delivery_status: attempt.delivery_status.as_str(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryListResponse {
    total: u64,
    deliveries: Vec<DeliveryAttemptResponse>,
}

/// A queued test event.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestEventResponse {
    /// The `webhook.test` event (the request's `webhook-id`).
    event_id: Uuid,
    /// Its delivery, to find its attempts in the log.
    delivery_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetryResponse {
    delivery_id: Uuid,
    /// Always `pending`: due now.
    #[schema(example = "pending")]
    status: &'static str,
}

/// The window of deliveries to send again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// Deliveries created at or after this instant (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-26T08:00:00Z")]
    since: OffsetDateTime,
    /// …and before this one, when given.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    until: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoverResponse {
    /// Deliveries queued again.
    requeued: u64,
}

/// The delivery log of one of your webhooks: every attempt, newest first.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(WebhookPath, DeliveryListQuery), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = DeliveryListResponse),
        (status = 400, description = "`limit` outside 1–100, a malformed `event_type` (`invalid_query`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "`webhooks.read` limit (30/min)", body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn list_deliveries(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    path: web::Path<WebhookPath>,
    query: web::Query<DeliveryListQuery>,
) -> Result<web::Json<DeliveryListResponse>, Problem> {
    let query = query.into_inner();
    let page = extractors::page(query.skip, query.limit)?;
    let event_type = query
        .event_type
        .map(|raw| {
            EventType::parse(raw.clone()).map_err(|e| {
                Problem::bad_request("invalid_query", format!("event_type `{raw}` {e}"))
            })
        })
        .transpose()?;
    let filter = AttemptFilter {
        success: query.success,
        event_type: event_type.map(|t| t.as_str().to_owned()),
    };
    let (attempts, total) = state
        .deliveries
        .execute(user.actor.user_id, path.id, &filter, page)
        .await
        .map_err(webhook_error)?;
    Ok(web::Json(DeliveryListResponse {
        total,
        deliveries: attempts
            .into_iter()
            .map(DeliveryAttemptResponse::from)
            .collect(),
    }))
}

/// Send a `webhook.test` event to this webhook only — even an inactive one —
/// through the normal delivery pipeline. Its attempts appear in the log.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(WebhookPath),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 202, description = "Queued", body = TestEventResponse),
        (status = 404, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "`webhooks.test` limit (5/min)", body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn send_test(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, Problem> {
    let queued = state
        .test
        .execute(&request_id.command_context(user.actor), path.id)
        .await
        .map_err(webhook_error)?;
    tracing::info!(webhook_id = %path.id, event_id = %queued.event_id, "webhook test event queued");
    Ok(HttpResponse::Accepted().json(TestEventResponse {
        event_id: queued.event_id,
        delivery_id: queued.delivery_id,
    }))
}

/// Send one delivery again, now. A finished delivery gets the webhook's
/// full number of attempts again; the request carries the same `webhook-id`.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(DeliveryPath), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 202, description = "Due now", body = RetryResponse),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`) or no such delivery of it (`delivery_not_found`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 409, description = "The webhook is inactive (`webhook_inactive`) or the delivery is being sent (`delivery_in_progress`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "`webhooks.write` limit (20/min)", body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn retry_delivery(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<DeliveryPath>,
) -> Result<HttpResponse, Problem> {
    let delivery_id = state
        .retry
        .execute(
            &request_id.command_context(user.actor),
            path.id,
            path.delivery_id,
        )
        .await
        .map_err(webhook_error)?;
    tracing::info!(webhook_id = %path.id, %delivery_id, "webhook delivery queued again");
    Ok(HttpResponse::Accepted().json(RetryResponse {
        delivery_id,
        status: "pending",
    }))
}

/// Send again every delivery of this webhook created in a window that did
/// not succeed (failed, or cancelled while the webhook was inactive) — after
/// an outage of the receiver.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/recover", tag = "webhooks", params(WebhookPath),
    request_body = RecoverRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 202, description = "Queued again", body = RecoverResponse),
        (status = 404, body = ProblemSchema, content_type = "application/problem+json"),
        (status = 409, description = "The webhook is inactive (`webhook_inactive`)", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 422, description = "`until` not after `since`, or a malformed body", body = ProblemSchema, content_type = "application/problem+json"),
        (status = 429, description = "`webhooks.write` limit (20/min)", body = ProblemSchema, content_type = "application/problem+json"),
    )
)]
async fn recover_deliveries(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<WebhookPath>,
    body: web::Json<RecoverRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let requeued = state
        .recover
        .execute(
            &request_id.command_context(user.actor),
            path.id,
            body.since,
            body.until,
        )
        .await
        .map_err(webhook_error)?;
    tracing::info!(webhook_id = %path.id, requeued, "webhook deliveries recovered");
    Ok(HttpResponse::Accepted().json(RecoverResponse { requeued }))
}
