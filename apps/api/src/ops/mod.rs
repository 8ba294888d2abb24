//! Operations: metrics, the event history API, data retention.

pub mod events;
pub mod metrics;
pub mod retention;
