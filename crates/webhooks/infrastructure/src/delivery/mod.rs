//! The delivery engine: the fan-out of events into delivery jobs
//! ([`DeliveryFanOut`]), the queue in PostgreSQL and the workers that claim,
//! sign, send and record ([`DeliveryEngine`]), the owner's view of it
//! ([`DieselDeliveryRepository`]), and the retention of its log.

mod engine;
mod fanout;
pub mod queue;
mod repository;
mod request;
mod retention;
mod slots;

pub use engine::{DeliveryConfig, DeliveryEngine};
pub use fanout::{DeliveryFanOut, DeliveryWaker};
pub use queue::{QueueDepth, queue_depth};
pub use repository::DieselDeliveryRepository;
pub use request::{EVENT_HEADER, LEGACY_HEADER, USER_AGENT, delivery_headers};
pub use retention::{DeliveryAttemptsRetention, FinishedDeliveriesRetention};
