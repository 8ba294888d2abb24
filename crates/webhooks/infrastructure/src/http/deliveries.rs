//! The delivery routes of one of your webhooks: its delivery log, a test
//! event, and sending deliveries again (`/api/v1/webhooks/{id}/deliveries`,
//! `…/test`, `…/deliveries/{delivery_id}/retry`, `…/recover`).

use actix_web::{HttpResponse, web};
use hub_kernel::EventType;
use hub_platform_http::auth::{AdminOnly, AdminOrConducteur, Authorized};
use hub_platform_http::openapi::{EventTypeText, ProblemSchema};
use hub_platform_http::{Instant, Problem, RequestId, extractors};
use hub_webhooks_application::{AttemptFilter, DeliveryDetail};
use hub_webhooks_domain::DeliveryAttempt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{WebhookPath, WebhooksHttp, problem};

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
    #[param(value_type = Option<EventTypeText>)]
    event_type: Option<String>,
    /// Only attempts made at or after this instant (RFC 3339).
    since: Option<Instant>,
    /// Only attempts made before this instant (RFC 3339).
    until: Option<Instant>,
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
    /// Deliveries of the window left as they were: you may no longer
    /// receive their event (no longer a conducteur of its chantier).
    skipped: u64,
}

/// A header every attempt of a delivery sends.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentHeader {
    #[schema(example = "webhook-id")]
    name: &'static str,
    /// The value; absent for the headers computed at each attempt
    /// (`webhook-timestamp`, `webhook-signature`, `x-hub-chantier-signature`),
    /// which are not kept.
    value: Option<String>,
    #[schema(example = "the event id: the same at every attempt")]
    description: &'static str,
}

/// One delivery: the exact body and the headers its attempts send.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    delivery_id: Uuid,
    event_id: Uuid,
    #[schema(example = "chantier.created")]
    event_type: String,
    /// The request body, byte for byte (a JSON text).
    payload: String,
    /// `pending`, `in_flight`, `succeeded`, `failed` or `cancelled`.
    status: &'static str,
    /// Attempts made so far.
    attempts: u32,
    max_attempts: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    finished_at: Option<OffsetDateTime>,
    /// The request's headers, in the order they are sent.
    headers: Vec<SentHeader>,
}

/// The headers of `detail`'s attempts: the fixed ones with their values.
fn sent_headers(detail: &DeliveryDetail, legacy: bool) -> Vec<SentHeader> {
    use crate::delivery::{EVENT_HEADER, LEGACY_HEADER, USER_AGENT};
    let mut headers = vec![
        SentHeader {
            name: "content-type",
            value: Some("application/json".to_owned()),
            description: "the body is JSON",
        },
        SentHeader {
            name: "user-agent",
            value: Some(USER_AGENT.to_owned()),
            description: "who sends",
        },
        SentHeader {
            name: hub_webhook_signature::HEADER_ID,
            value: Some(detail.event_id.to_string()),
            description: "the event id: the same at every attempt (deduplicate on it)",
        },
        SentHeader {
            name: hub_webhook_signature::HEADER_TIMESTAMP,
            value: None,
            description: "the attempt's time, in Unix seconds",
        },
        SentHeader {
            name: hub_webhook_signature::HEADER_SIGNATURE,
            value: None,
            description: "`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, per current (and previous) secret",
        },
        SentHeader {
            name: EVENT_HEADER,
            value: Some(detail.event_type.clone()),
            description: "the event type",
        },
    ];
    if legacy {
        headers.push(SentHeader {
            name: LEGACY_HEADER,
            value: None,
            description: "`sha256=` + hex HMAC-SHA256 of the body (legacy signature)",
        });
    }
    headers
}

/// One delivery of one of your webhooks: the exact body its attempts send,
/// their headers, and where it stands.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks",
    params(DeliveryPath),
    responses(
        (status = 200, body = DeliveryResponse),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`) or no such delivery of it (`delivery_not_found`)", body = ProblemSchema),
        (status = 429, description = "`webhooks.read` limit (30/min)", body = ProblemSchema),
    )
)]
pub(super) async fn get_delivery(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    path: web::Path<DeliveryPath>,
) -> Result<web::Json<DeliveryResponse>, Problem> {
    let detail = state
        .delivery
        .execute(user.actor.user_id, path.id, path.delivery_id)
        .await
        .map_err(problem)?;
    let webhook = state
        .get
        .execute(user.actor.user_id, path.id)
        .await
        .map_err(problem)?;
    Ok(web::Json(DeliveryResponse {
        headers: sent_headers(&detail, webhook.legacy_signature()),
        delivery_id: detail.delivery_id,
        event_id: detail.event_id,
        event_type: detail.event_type,
        payload: detail.payload,
        status: detail.status.as_str(),
        attempts: detail.attempts,
        max_attempts: detail.max_attempts,
        next_attempt_at: detail.next_attempt_at,
        created_at: detail.created_at,
        finished_at: detail.finished_at,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EventPath {
    /// The event's id.
    event_id: Uuid,
}

/// One delivery of an event to a webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDeliveryResponse {
    delivery_id: Uuid,
    webhook_id: Uuid,
    webhook_url: String,
    /// Who owns the webhook.
    owner_id: Uuid,
    /// `pending`, `in_flight`, `succeeded`, `failed` or `cancelled`.
    #[schema(example = "succeeded")]
    status: &'static str,
    /// Attempts made so far.
    attempts: u32,
    /// What the last failed attempt met, if any.
    last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    finished_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventDeliveriesResponse {
    deliveries: Vec<EventDeliveryResponse>,
}

/// Where one event went: its deliveries to every webhook, oldest first
/// (admin). Deliveries are listed while their job is kept
/// (`WEBHOOK_DELIVERY_RETENTION_DAYS`); an event nobody subscribed to has none.
#[utoipa::path(
    get, path = "/api/v1/events/{event_id}/deliveries", tag = "events", params(EventPath),
    responses(
        (status = 200, body = EventDeliveriesResponse),
        (status = 429, description = "`webhooks.read` limit (30/min)", body = ProblemSchema),
    )
)]
pub(super) async fn event_deliveries(
    state: web::Data<WebhooksHttp>,
    _admin: Authorized<AdminOnly>,
    path: web::Path<EventPath>,
) -> Result<web::Json<EventDeliveriesResponse>, Problem> {
    let deliveries = state
        .event_deliveries
        .execute(path.event_id)
        .await
        .map_err(problem)?;
    Ok(web::Json(EventDeliveriesResponse {
        deliveries: deliveries
            .into_iter()
            .map(|delivery| EventDeliveryResponse {
                delivery_id: delivery.delivery_id,
                webhook_id: delivery.webhook_id,
                webhook_url: delivery.webhook_url,
                owner_id: delivery.owner_id,
                status: delivery.status.as_str(),
                attempts: delivery.attempts,
                last_error: delivery.last_error,
                created_at: delivery.created_at,
                finished_at: delivery.finished_at,
            })
            .collect(),
    }))
}

/// The delivery log of one of your webhooks: every attempt, newest first.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(WebhookPath, DeliveryListQuery),
    responses(
        (status = 200, body = DeliveryListResponse),
        (status = 400, description = "`limit` outside 1–100, a malformed `event_type`, `since` or `until`, or `since` not before `until` (`invalid_query`)", body = ProblemSchema),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema),
        (status = 429, description = "`webhooks.read` limit (30/min)", body = ProblemSchema),
    )
)]
pub(super) async fn list_deliveries(
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
    let since = query.since.map(|instant| instant.0);
    let until = query.until.map(|instant| instant.0);
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(Problem::bad_request(
            "invalid_query",
            "since must be before until",
        ));
    }
    let filter = AttemptFilter {
        success: query.success,
        event_type: event_type.map(|t| t.as_str().to_owned()),
        since,
        until,
    };
    let (attempts, total) = state
        .deliveries
        .execute(user.actor.user_id, path.id, &filter, page)
        .await
        .map_err(problem)?;
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
    responses(
        (status = 202, description = "Queued", body = TestEventResponse),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema),
        (status = 429, description = "`webhooks.test` limit (5/min)", body = ProblemSchema),
    )
)]
pub(super) async fn send_test(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, Problem> {
    let queued = state
        .test
        .execute(&request_id.command_context(user.actor), path.id)
        .await
        .map_err(problem)?;
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
    params(DeliveryPath),
    responses(
        (status = 202, description = "Due now", body = RetryResponse),
        (status = 403, description = "You may no longer receive this event: no longer a conducteur of its chantier, or your account may no longer receive webhook events (`access_revoked`); nothing is queued", body = ProblemSchema),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`) or no such delivery of it (`delivery_not_found`)", body = ProblemSchema),
        (status = 409, description = "The webhook is inactive (`webhook_inactive`) or the delivery is being sent (`delivery_in_progress`)", body = ProblemSchema),
        (status = 429, description = "`webhooks.write` limit (20/min)", body = ProblemSchema),
    )
)]
pub(super) async fn retry_delivery(
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
        .map_err(problem)?;
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
    request_body = RecoverRequest,
    responses(
        (status = 202, description = "Queued again, except the deliveries of events you may no longer receive (`skipped`)", body = RecoverResponse),
        (status = 403, description = "Your account may no longer receive webhook events (`access_revoked`); nothing is queued", body = ProblemSchema),
        (status = 404, description = "No such webhook of yours (`webhook_not_found`)", body = ProblemSchema),
        (status = 409, description = "The webhook is inactive (`webhook_inactive`)", body = ProblemSchema),
        (status = 422, description = "`until` not after `since`, or a malformed body", body = ProblemSchema),
        (status = 429, description = "`webhooks.write` limit (20/min)", body = ProblemSchema),
    )
)]
pub(super) async fn recover_deliveries(
    state: web::Data<WebhooksHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<WebhookPath>,
    body: web::Json<RecoverRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let recovered = state
        .recover
        .execute(
            &request_id.command_context(user.actor),
            path.id,
            body.since,
            body.until,
        )
        .await
        .map_err(problem)?;
    tracing::info!(webhook_id = %path.id, requeued = recovered.requeued, skipped = recovered.skipped, "webhook deliveries recovered");
    Ok(HttpResponse::Accepted().json(RecoverResponse {
        requeued: recovered.requeued,
        skipped: recovered.skipped,
    }))
}
