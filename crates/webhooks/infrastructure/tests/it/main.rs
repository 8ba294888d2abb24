//! Webhooks adapters against a real PostgreSQL (one private database per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deliveries;
mod engine;
mod handoff;
mod options;
mod receiver;
mod repository;
mod scoping;
mod support;
