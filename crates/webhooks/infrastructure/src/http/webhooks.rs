//! The subscription routes: create, list, read, change and delete your
//! webhooks, and rotate their signing secret (`/api/v1/webhooks`,
//! `/api/v1/webhooks/{id}`, `/api/v1/webhooks/{id}/rotate-secret`).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use hub_platform_http::auth::{AdminOrConducteur, Authorized};
use hub_platform_http::openapi::{ProblemSchema, TopicPatternText};
use hub_platform_http::{Problem, RequestId, extractors, present};
use hub_webhooks_application::{CreateWebhookInput, UpdateWebhookInput};
use hub_webhooks_domain::{DeliveryOrdering, Webhook};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{WebhookPath, WebhooksHttp, problem};

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
    #[schema(
        value_type = Vec<TopicPatternText>,
        min_items = 1,
        max_items = 50,
        example = json!(["chantier.*", "*.created"])
    )]
    events: Vec<String>,
    #[schema(example = "Synchronisation ERP", max_length = 500)]
    description: Option<String>,
    /// Also sign with the legacy `X-Hub-Chantier-Signature` header (an HMAC
    /// of the body alone, replayable: only for receivers that cannot check
    /// the Standard Webhooks headers). `false` by default.
    #[serde(default)]
    legacy_signature: bool,
    /// Only events whose `data.chantier_id` is one of these (1 to 100 ids);
    /// absent or `null`: every chantier (and events without one).
    #[schema(example = json!(["0193a0c2-5d1e-7f00-8a1b-2c3d4e5f6a7b"]))]
    chantier_ids: Option<Vec<Uuid>>,
    /// Equality conditions on top-level `data` fields, all met by every
    /// event delivered (at most 20; values: string, number, boolean or
    /// null). Each field must be a `data` field, and each value of its type,
    /// in every event type the patterns select (`GET /api/v1/event-types`).
    #[schema(value_type = Option<Object>, example = json!({"statut": "en_cours"}))]
    filters: Option<Map<String, Value>>,
    /// `aggregate`: one event of an aggregate at a time, in the order they
    /// occurred; `none` (default): as soon as each is due.
    #[serde(default)]
    ordering: WebhookOrdering,
}

/// In which order a webhook's deliveries go out.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookOrdering {
    /// As soon as each is due, concurrently.
    #[default]
    None,
    /// An event is not sent while an earlier one of the same aggregate to
    /// the same webhook is pending or being retried.
    Aggregate,
}

impl From<WebhookOrdering> for DeliveryOrdering {
    fn from(ordering: WebhookOrdering) -> Self {
        match ordering {
            WebhookOrdering::None => Self::Unordered,
            WebhookOrdering::Aggregate => Self::Aggregate,
        }
    }
}

impl From<DeliveryOrdering> for WebhookOrdering {
    fn from(ordering: DeliveryOrdering) -> Self {
        match ordering {
            DeliveryOrdering::Unordered => Self::None,
            DeliveryOrdering::Aggregate => Self::Aggregate,
        }
    }
}

/// Absent fields are left unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    #[schema(max_length = 2048)]
    url: Option<String>,
    /// 1 to 50 topic patterns, as on creation.
    #[schema(value_type = Option<Vec<TopicPatternText>>, min_items = 1, max_items = 50)]
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
    /// The chantiers to limit to (1 to 100 ids); `null`: every chantier.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<Uuid>>)]
    chantier_ids: Option<Option<Vec<Uuid>>>,
    /// Replaces every condition on `data` (`{}`: none); checked against the
    /// patterns the webhook will have.
    #[schema(value_type = Option<Object>)]
    filters: Option<Map<String, Value>>,
    ordering: Option<WebhookOrdering>,
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
    /// What the last delivery that failed for good met (no URL, no
    /// secret), e.g. "the receiver answered HTTP 503"; kept after later
    /// successes, with its time.
    last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_error_at: Option<OffsetDateTime>,
    /// Deliveries also carry the legacy `X-Hub-Chantier-Signature` header.
    legacy_signature: bool,
    /// Only events of these chantiers; `null`: every chantier.
    chantier_ids: Option<Vec<Uuid>>,
    /// Conditions on `data` fields every delivered event meets (`{}`: none).
    #[schema(value_type = Object)]
    filters: Map<String, Value>,
    ordering: WebhookOrdering,
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
            last_error: webhook.last_error().map(str::to_owned),
            last_error_at: webhook.last_error_at(),
            legacy_signature: webhook.legacy_signature(),
            chantier_ids: webhook.chantier_ids().map(|ids| ids.ids().to_vec()),
            filters: webhook.filters().conditions().clone(),
            ordering: webhook.ordering().into(),
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WebhookListQuery {
    /// Webhooks to skip (default 0).
    skip: Option<u64>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<u64>,
}

/// Create a webhook; the answer holds its signing secret, shown this once.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Created; store `secret` now", body = WebhookWithSecretResponse),
        (status = 403, description = "Only admins and conducteurs have webhooks", body = ProblemSchema),
        (status = 409, description = "Already 20 webhooks (`quota_exceeded`)", body = ProblemSchema),
        (status = 422, description = "Invalid fields (`validation_failed`) or refused URL (`invalid_url`)", body = ProblemSchema),
        (status = 429, description = "`webhooks.create` limit (10/min)", body = ProblemSchema),
    )
)]
pub(super) async fn create_webhook(
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
        chantier_ids: body.chantier_ids,
        filters: body.filters,
        ordering: body.ordering.into(),
    };
    let created = state
        .create
        .execute(&request_id.command_context(user.actor), input)
        .await
        .map_err(problem)?;
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
    responses(
        (status = 200, body = WebhookListResponse),
        (status = 429, description = "`webhooks.read` limit (30/min)", body = ProblemSchema),
    )
)]
pub(super) async fn list_webhooks(
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
        .map_err(problem)?;
    Ok(web::Json(WebhookListResponse {
        total,
        webhooks: webhooks.iter().map(WebhookResponse::from).collect(),
    }))
}

/// One of your webhooks (404 for anyone else's).
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 200, body = WebhookResponse),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema),
        (status = 429, description = "Rate limited (`rate_limited`); see Retry-After", body = ProblemSchema),
    )
)]
pub(super) async fn get_webhook(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    path: web::Path<WebhookPath>,
) -> Result<web::Json<WebhookResponse>, Problem> {
    let webhook = state
        .get
        .execute(user.actor.user_id, path.id)
        .await
        .map_err(problem)?;
    Ok(web::Json(WebhookResponse::from(&webhook)))
}

/// Change URL, patterns, description, active flag, retries, legacy
/// signature, chantiers, filters or ordering.
#[utoipa::path(
    patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, body = WebhookResponse),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema),
        (status = 409, description = "Changed concurrently (`concurrent_update`)", body = ProblemSchema),
        (status = 422, description = "Invalid or unknown fields, refused URL", body = ProblemSchema),
        (status = 429, description = "`webhooks.write` limit (20/min)", body = ProblemSchema),
    )
)]
pub(super) async fn update_webhook(
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
        chantier_ids: body.chantier_ids,
        filters: body.filters,
        ordering: body.ordering.map(Into::into),
    };
    let webhook = state
        .update
        .execute(&request_id.command_context(user.actor), path.id, input)
        .await
        .map_err(problem)?;
    Ok(web::Json(WebhookResponse::from(&webhook)))
}

/// Delete one of your webhooks (frees a slot of the quota).
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema),
        (status = 429, description = "Rate limited (`rate_limited`); see Retry-After", body = ProblemSchema),
    )
)]
pub(super) async fn delete_webhook(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete
        .execute(&request_id.command_context(user.actor), path.id)
        .await
        .map_err(problem)?;
    tracing::info!(webhook_id = %path.id, "webhook deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret; the previous one keeps signing during the
/// grace period (deliveries carry both signatures). The body is optional.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(WebhookPath),
    request_body(content = Option<RotateSecretRequest>, description = "Optional"),
    responses(
        (status = 200, description = "Rotated; store `secret` now", body = WebhookWithSecretResponse),
        (status = 400, description = "Malformed JSON (`malformed_json`)", body = ProblemSchema),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema),
        (status = 413, description = "Body over `HTTP_BODY_LIMIT` (`payload_too_large`)", body = ProblemSchema),
        (status = 429, description = "`webhooks.rotate` limit (5/min)", body = ProblemSchema),
    )
)]
pub(super) async fn rotate_secret(
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
        .map_err(problem)?;
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
