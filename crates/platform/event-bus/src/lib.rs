//! The default, in-process adapter of the kernel's [`hub_kernel::EventBus`] port:
//! it owns the subscriptions, runs matching handlers concurrently and in
//! isolation, counts their outcomes and keeps a bounded history of events.

mod bus;
mod dispatch;
mod history;
mod stats;

pub use bus::{InProcessBusConfig, InProcessEventBus};
pub use stats::HandlerStats;
