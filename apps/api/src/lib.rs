//! Composition root of Hub Chantier: reads the configuration, wires the
//! adapters of every context to the platform (PostgreSQL, event bus, HTTP),
//! runs the server and its background workers, and offers the CLI. The only
//! crate that depends on everything.

pub mod cli;
pub mod config;
pub mod events_doc;
mod health;
pub mod openapi;
pub mod ops;
pub mod server;
pub mod telemetry;

use hub_platform_http::rate_limit::RateLimitRule;
use hub_webhooks_infrastructure::{DuplicateEventType, StaticEventCatalog};

/// Every rate limit the contexts declare: the keys `RATE_LIMITS` accepts.
pub fn rate_limit_rules() -> Vec<RateLimitRule> {
    [
        hub_identity_infrastructure::RATE_LIMIT_RULES,
        hub_webhooks_infrastructure::RATE_LIMIT_RULES,
    ]
    .concat()
}

/// The event catalog (`GET /api/v1/event-types`, and what webhook patterns
/// must match): each context's own list, one line per context.
pub fn event_catalog() -> Result<StaticEventCatalog, DuplicateEventType> {
    StaticEventCatalog::new([
        hub_identity_domain::event_catalog(),
        hub_chantiers_domain::event_catalog(),
        hub_webhooks_domain::event_catalog(),
    ])
}
