//! Composition root of Hub Chantier: reads the configuration, wires the
//! adapters of every context to the platform (PostgreSQL, event bus, HTTP),
//! runs the server and its background workers, and offers the CLI. The only
//! crate that depends on everything.

pub mod cli;
pub mod config;
mod health;
pub mod openapi;
pub mod server;
pub mod telemetry;

use hub_platform_http::rate_limit::RateLimitRule;

/// Every rate limit the contexts declare: the keys `RATE_LIMITS` accepts.
pub fn rate_limit_rules() -> Vec<RateLimitRule> {
    hub_identity_infrastructure::RATE_LIMIT_RULES.to_vec()
}
