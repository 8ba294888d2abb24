//! HTTP routes of the webhooks context, one module per route family:
//! [`webhooks`] (`/api/v1/webhooks*`: admins and conducteurs, each managing
//! their own webhooks and secrets), [`deliveries`] (their delivery log,
//! test events and redelivery) and [`event_types`] (`/api/v1/event-types[/{type}]`,
//! any signed-in user). This module owns what they share: the rate limits,
//! the use cases behind the routes, the route table, the OpenAPI document,
//! the `{id}` path and the mapping of use-case errors to problems.

use actix_web::http::StatusCode;
use actix_web::web;
use hub_platform_http::openapi::{EventTypeText, ProblemSchema, TopicPatternText};
use hub_platform_http::rate_limit::{
    Limit, RateLimit, RateLimitConfigError, RateLimitRule, RateLimits, Scope,
};
use hub_platform_http::{Problem, extractors};
use hub_webhooks_application::{
    CreateWebhook, DeleteWebhook, EventDeliveries, GetDelivery, GetWebhook, ListDeliveries,
    ListEventTypes, ListWebhooks, RecoverDeliveries, RetryDelivery, RotateSecret, SendTestEvent,
    UpdateWebhook, WebhookError, WebhookPorts,
};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

mod deliveries;
mod event_types;
mod webhooks;

pub use deliveries::{
    DeliveryAttemptResponse, DeliveryListQuery, DeliveryListResponse, DeliveryPath,
    DeliveryResponse, EventDeliveriesResponse, EventDeliveryResponse, EventPath, RecoverRequest,
    RecoverResponse, RetryResponse, SentHeader, TestEventResponse,
};
pub use event_types::{EventTypeResponse, EventTypesResponse};
pub use webhooks::{
    CreateWebhookRequest, RotateSecretRequest, UpdateWebhookRequest, WebhookListQuery,
    WebhookListResponse, WebhookOrdering, WebhookResponse, WebhookWithSecretResponse,
};

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
    event_deliveries: EventDeliveries,
    delivery: GetDelivery,
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

impl WebhooksHttp {
    pub fn new(ports: WebhookPorts) -> Self {
        Self {
            deliveries: ListDeliveries::new(ports.clone()),
            event_deliveries: EventDeliveries::new(ports.clone()),
            delivery: GetDelivery::new(ports.clone()),
            test: SendTestEvent::new(ports.clone()),
            retry: RetryDelivery::new(ports.clone()),
            recover: RecoverDeliveries::new(ports.clone()),
            create: CreateWebhook::new(ports.clone()),
            list: ListWebhooks::new(ports.clone()),
            get: GetWebhook::new(ports.clone()),
            update: UpdateWebhook::new(ports.clone()),
            delete: DeleteWebhook::new(ports.clone()),
            rotate: RotateSecret::new(ports.clone()),
            event_types: ListEventTypes::new(ports),
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
                .route(web::post().to(webhooks::create_webhook).wrap(limits.create))
                .route(
                    web::get()
                        .to(webhooks::list_webhooks)
                        .wrap(limits.read.clone()),
                ),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}")
                .route(
                    web::get()
                        .to(webhooks::get_webhook)
                        .wrap(limits.read.clone()),
                )
                .route(
                    web::patch()
                        .to(webhooks::update_webhook)
                        .wrap(limits.write.clone()),
                )
                .route(
                    web::delete()
                        .to(webhooks::delete_webhook)
                        .wrap(limits.write.clone()),
                ),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/deliveries").route(
                web::get()
                    .to(deliveries::list_deliveries)
                    .wrap(limits.read.clone()),
            ),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/deliveries/{delivery_id}").route(
                web::get()
                    .to(deliveries::get_delivery)
                    .wrap(limits.read.clone()),
            ),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/test")
                .route(web::post().to(deliveries::send_test).wrap(limits.test)),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry").route(
                web::post()
                    .to(deliveries::retry_delivery)
                    .wrap(limits.write.clone()),
            ),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/recover").route(
                web::post()
                    .to(deliveries::recover_deliveries)
                    .wrap(limits.write),
            ),
        )
        .service(
            web::resource("/api/v1/webhooks/{id}/rotate-secret")
                .route(web::post().to(webhooks::rotate_secret).wrap(limits.rotate)),
        )
        .service(
            web::resource("/api/v1/events/{event_id}/deliveries").route(
                web::get()
                    .to(deliveries::event_deliveries)
                    .wrap(limits.read),
            ),
        )
        .route(
            "/api/v1/event-types",
            web::get().to(event_types::list_event_types),
        )
        .route(
            "/api/v1/event-types/{event_type}",
            web::get().to(event_types::get_event_type),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::get_webhook,
        webhooks::update_webhook, webhooks::delete_webhook, webhooks::rotate_secret,
        deliveries::list_deliveries, deliveries::send_test, deliveries::retry_delivery,
        deliveries::recover_deliveries, deliveries::event_deliveries, deliveries::get_delivery,
        event_types::list_event_types,
        event_types::get_event_type
    ),
    components(schemas(
        CreateWebhookRequest, UpdateWebhookRequest, RotateSecretRequest, WebhookOrdering,
        WebhookResponse,
        WebhookWithSecretResponse, WebhookListResponse, EventTypeResponse, EventTypesResponse,
        DeliveryAttemptResponse, DeliveryListResponse, TestEventResponse, RetryResponse,
        RecoverRequest, RecoverResponse, EventDeliveryResponse, EventDeliveriesResponse, DeliveryResponse, SentHeader,
        TopicPatternText, EventTypeText, ProblemSchema
    )),
    tags(
        (name = "webhooks", description = "Your webhook subscriptions (admin, conducteur): signed HTTP notifications of events"),
        (name = "events", description = "The event catalog")
    )
)]
pub struct WebhooksApi;

/// The `{id}` of every route about one webhook.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The webhook's id.
    id: Uuid,
}

/// The one mapping of the use cases' errors to problems, for every route family.
fn problem(error: WebhookError) -> Problem {
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
        // 403, not 409: nothing about the webhook or the delivery is in the
        // way; the caller lacks the right to receive the event (see
        // docs/decisions/webhook-redelivery-access.md).
        WebhookError::AccessRevoked(detail) => {
            Problem::new(StatusCode::FORBIDDEN, "access_revoked", detail)
        }
        WebhookError::Unavailable(_) => Problem::internal(&error),
    }
}
