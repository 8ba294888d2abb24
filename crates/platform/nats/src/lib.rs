//! The NATS JetStream adapter of the kernel's [`hub_kernel::EventBus`] port,
//! for several instances (`EVENT_BUS_URL=nats://…`). It owns the stream and
//! the durable consumer (created or updated at start-up), publishing with
//! deduplication (`Nats-Msg-Id` = `event_id`, the publish ack awaited), and
//! the consumer loop that hands each event to this instance's in-process
//! handlers. It does not run handlers itself: a local `EventBus` (the
//! in-process one) does, so handlers behave the same with or without NATS.

mod bus;
mod config;

pub use bus::{NatsError, NatsEventBus};
pub use config::NatsConfig;
