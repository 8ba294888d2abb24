//! Per-subscription outcome counters.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Outcome counters of one subscription. Each counter is independent and only
/// ever read for reporting, so relaxed ordering is enough.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    handled: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    timed_out: AtomicU64,
}

impl Counters {
    pub(crate) fn record_handled(&self) {
        self.handled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_panicked(&self) {
        self.panicked.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of one subscription's counters.
///
/// Every delivery ends in exactly one of the four outcomes, so their sum is the
/// number of events the subscription received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlerStats {
    /// The subscription these counters belong to.
    pub subscription_id: u64,
    /// [`hub_kernel::EventHandler::name`] of the subscribed handler.
    pub handler: String,
    /// The subscription's pattern, as written.
    pub pattern: String,
    /// Deliveries the handler completed with `Ok`.
    pub handled: u64,
    /// Deliveries the handler completed with `Err`.
    pub failed: u64,
    /// Deliveries during which the handler panicked.
    pub panicked: u64,
    /// Deliveries abandoned because the handler exceeded its timeout.
    pub timed_out: u64,
}

impl HandlerStats {
    pub(crate) fn new(subscription_id: u64, handler: &str, pattern: &str, c: &Counters) -> Self {
        Self {
            subscription_id,
            handler: handler.to_owned(),
            pattern: pattern.to_owned(),
            handled: c.handled.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            panicked: c.panicked.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
        }
    }
}
