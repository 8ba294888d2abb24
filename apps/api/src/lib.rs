//! Composition root of Hub Chantier: reads the configuration, wires the
//! adapters of every context to the platform (PostgreSQL, event bus, HTTP),
//! runs the server and its background workers, and offers the CLI. The only
//! crate that depends on everything.

pub mod cli;
pub mod config;
mod health;
pub mod server;
pub mod telemetry;
