//! Composition root of Hub Chantier: reads the configuration, wires the
//! adapters of every context to the platform (PostgreSQL, event bus, HTTP),
//! runs the server and its background workers, and offers the CLI. The only
//! crate that depends on everything.

pub mod cli;
pub mod config;
pub mod events_doc;
pub mod first_run;
mod health;
pub mod listen;
pub mod openapi;
pub mod ops;
pub mod server;
pub mod telemetry;

use hub_kernel::{DuplicateEventType, EventCatalog};
use hub_platform_context::Context;
use hub_platform_http::rate_limit::RateLimitRule;

/// Every bounded context, once. Adding a context is adding its line here
/// (and its infrastructure crate to `Cargo.toml`): its routes, OpenAPI,
/// events, rate limits, read models, workers and configuration follow.
pub const CONTEXTS: &[Context] = &[
    hub_identity_infrastructure::CONTEXT,
    hub_chantiers_infrastructure::CONTEXT,
    hub_webhooks_infrastructure::CONTEXT,
    hub_planning_infrastructure::CONTEXT,
    hub_signalements_infrastructure::CONTEXT,
    hub_logistique_infrastructure::CONTEXT,
    hub_planning_charge_infrastructure::CONTEXT,
    hub_pointages_infrastructure::CONTEXT,
    hub_documents_infrastructure::CONTEXT,
];

/// Every rate limit the contexts declare: the keys `RATE_LIMITS` accepts.
pub fn rate_limit_rules() -> Vec<RateLimitRule> {
    CONTEXTS
        .iter()
        .flat_map(|context| context.rate_limits.iter().cloned())
        .collect()
}

/// The event catalog (`GET /api/v1/event-types`, and what webhook patterns
/// must match): each context's own list, in the order of [`CONTEXTS`].
pub fn event_catalog() -> Result<EventCatalog, DuplicateEventType> {
    EventCatalog::new(CONTEXTS.iter().map(|context| (context.event_catalog)()))
}
