//! Bounded in-memory history of published events.

use std::collections::VecDeque;
use std::sync::Arc;

use hub_kernel::{EventEnvelope, TopicPattern};
use parking_lot::Mutex;

/// The last `capacity` published events, oldest at the front.
///
/// A plain mutex is enough: the critical section is one push (and one pop
/// once full) of an `Arc`, far shorter than any contention it could cause.
#[derive(Debug)]
pub(crate) struct History {
    capacity: usize,
    events: Mutex<VecDeque<Arc<EventEnvelope>>>,
}

impl History {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            // Grown on demand past this, so a huge configured capacity costs
            // memory only once it is actually filled.
            events: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
        }
    }

    pub(crate) fn push(&self, event: &Arc<EventEnvelope>) {
        if self.capacity == 0 {
            return;
        }
        // The evicted event is dropped after the lock is released: it may be
        // the last reference, and freeing an envelope is not free.
        let evicted = {
            let mut events = self.events.lock();
            let evicted = if events.len() == self.capacity {
                events.pop_front()
            } else {
                None
            };
            events.push_back(Arc::clone(event));
            evicted
        };
        drop(evicted);
    }

    /// Up to `limit` events selected by `pattern` (all when `None`), newest first.
    pub(crate) fn recent(
        &self,
        pattern: Option<&TopicPattern>,
        limit: usize,
    ) -> Vec<Arc<EventEnvelope>> {
        let events = self.events.lock();
        events
            .iter()
            .rev()
            .filter(|event| pattern.is_none_or(|p| p.matches(event.event_type.as_str())))
            .take(limit)
            .cloned()
            .collect()
    }
}
