//! Webhooks adapters: the PostgreSQL [`DieselWebhookRepository`] (webhooks
//! and their events in one transaction, the quota under a per-owner lock),
//! the access-scoping read models and the durable subscribers that build
//! them ([`chantier_scope`], [`OwnerProjector`],
//! [`DieselScopeReadModel`]), the AES-256-GCM [`AeadSecretVault`], the
//! SSRF-checked [`OutboundDestinations`], the [`StaticEventCatalog`] the app
//! assembles, the delivery engine (fan-out, queue, workers, delivery log:
//! [`delivery`]), the retention of expired previous secrets
//! ([`ExpiredPreviousSecrets`]), and the HTTP routes of `/api/v1/webhooks` and
//! `/api/v1/event-types`; [`CONTEXT`] is how the app lists it.

mod catalog;
mod context;
pub mod delivery;
mod destinations;
pub mod http;
mod previous_secrets;
mod repository;
mod schema;
mod scope;
mod vault;

pub use catalog::StaticEventCatalog;
pub use context::{CONTEXT, WebhooksSettings, parse_retry_schedule};
pub use delivery::{
    DeliveryAttemptsRetention, DeliveryConfig, DeliveryEngine, DeliveryFanOut, DeliveryWaker,
    DieselDeliveryRepository, FinishedDeliveriesRetention,
};
pub use destinations::OutboundDestinations;
pub use http::{RATE_LIMIT_RULES, WebhookRateLimits, WebhooksApi, WebhooksHttp};
pub use previous_secrets::ExpiredPreviousSecrets;
pub use repository::{DieselWebhookRepository, recipients_on};
pub use scope::{DieselScopeReadModel, OwnerProjector, chantier_scope};
pub use vault::{AeadSecretVault, KEY_LEN, SecretKey, SecretKeyError};
