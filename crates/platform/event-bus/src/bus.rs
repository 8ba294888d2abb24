//! The bus itself: subscriptions, the per-type cache of matching
//! subscriptions, and the `EventBus` implementation.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use hub_kernel::{
    BusError, EventBus, EventEnvelope, EventHandler, PublishReport, SubscriptionId, TopicPattern,
};
use parking_lot::RwLock;

use crate::dispatch::Dispatch;
use crate::history::History;
use crate::stats::{Counters, HandlerStats};

/// Beyond this many distinct event types the cache is emptied rather than
/// grown: the catalog has far fewer types, so only unexpected input (types
/// parsed from outside) can reach it, and it must not grow memory unbounded.
const MAX_CACHED_TYPES: usize = 1024;

/// Settings of [`InProcessEventBus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProcessBusConfig {
    /// How long one handler may take with one event before it is cancelled
    /// and counted as timed out.
    pub handler_timeout: Duration,
    /// How many of the most recent events [`InProcessEventBus::recent`] can
    /// return; `0` keeps none.
    pub history_capacity: usize,
}

impl Default for InProcessBusConfig {
    fn default() -> Self {
        Self {
            handler_timeout: Duration::from_secs(5),
            history_capacity: 1000,
        }
    }
}

pub(crate) struct Subscription {
    pub(crate) id: SubscriptionId,
    pub(crate) pattern: TopicPattern,
    pub(crate) handler: Arc<dyn EventHandler>,
    pub(crate) counters: Counters,
}

type Matching = Arc<[Arc<Subscription>]>;

#[derive(Default)]
struct Registry {
    /// In subscription order, which is also the order handlers are polled in.
    subscriptions: Vec<Arc<Subscription>>,
    /// The subscriptions matching each event type seen since the last change
    /// of `subscriptions`, so that publishing does no pattern matching.
    /// Emptied on every subscribe and unsubscribe.
    by_type: HashMap<Box<str>, Matching>,
}

impl Registry {
    fn invalidate(&mut self) {
        self.by_type.clear();
    }
}

/// The default [`EventBus`]: handlers run inside this process, on the
/// publisher's task.
///
/// `publish` drives every matching handler concurrently and returns when all
/// have finished or timed out. A handler's error, panic or timeout is logged
/// (`tracing`), counted in [`handler_stats`](Self::handler_stats) and in the
/// [`PublishReport`], and never reaches the publisher or the other handlers.
///
/// Each subscription receives the events its pattern selects, so a handler
/// subscribed with two patterns that both match an event gets it twice. A
/// publish already under way when a subscription is removed may still
/// deliver to it.
///
/// Timeouts use tokio's timer: publish from a tokio runtime with time enabled.
pub struct InProcessEventBus {
    config: InProcessBusConfig,
    registry: RwLock<Registry>,
    next_id: AtomicU64,
    history: History,
}

impl InProcessEventBus {
    pub fn new(config: InProcessBusConfig) -> Self {
        Self {
            history: History::new(config.history_capacity),
            config,
            registry: RwLock::new(Registry::default()),
            next_id: AtomicU64::new(1),
        }
    }

    pub fn config(&self) -> &InProcessBusConfig {
        &self.config
    }

    /// Number of live subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.registry.read().subscriptions.len()
    }

    /// Outcome counters of every live subscription, in subscription order.
    pub fn handler_stats(&self) -> Vec<HandlerStats> {
        self.registry
            .read()
            .subscriptions
            .iter()
            .map(|s| HandlerStats::new(s.id.0, s.handler.name(), s.pattern.as_str(), &s.counters))
            .collect()
    }

    /// Up to `limit` of the most recently published events selected by
    /// `pattern` (every event when `None`), newest first.
    pub fn recent(&self, pattern: Option<&TopicPattern>, limit: usize) -> Vec<Arc<EventEnvelope>> {
        self.history.recent(pattern, limit)
    }

    fn matching(&self, event_type: &str) -> Matching {
        if let Some(hit) = self.registry.read().by_type.get(event_type) {
            return Arc::clone(hit);
        }
        let mut registry = self.registry.write();
        // Another publisher may have filled the entry while we waited.
        if let Some(hit) = registry.by_type.get(event_type) {
            return Arc::clone(hit);
        }
        let matching: Matching = registry
            .subscriptions
            .iter()
            .filter(|s| s.pattern.matches(event_type))
            .cloned()
            .collect();
        if registry.by_type.len() >= MAX_CACHED_TYPES {
            registry.invalidate();
        }
        registry
            .by_type
            .insert(event_type.into(), Arc::clone(&matching));
        matching
    }
}

impl Default for InProcessEventBus {
    fn default() -> Self {
        Self::new(InProcessBusConfig::default())
    }
}

impl fmt::Debug for InProcessEventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessEventBus")
            .field("config", &self.config)
            .field("subscriptions", &self.subscription_count())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl EventBus for InProcessEventBus {
    async fn publish(&self, event: Arc<EventEnvelope>) -> Result<PublishReport, BusError> {
        self.history.push(&event);
        let matching = self.matching(event.event_type.as_str());
        if matching.is_empty() {
            return Ok(PublishReport::default());
        }
        let failed = Dispatch::new(&matching, &event, self.config.handler_timeout).await;
        Ok(PublishReport {
            matched: matching.len(),
            failed,
        })
    }

    async fn subscribe(
        &self,
        pattern: TopicPattern,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError> {
        let id = SubscriptionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let subscription = Arc::new(Subscription {
            id,
            pattern,
            handler,
            counters: Counters::default(),
        });
        let mut registry = self.registry.write();
        registry.subscriptions.push(subscription);
        registry.invalidate();
        Ok(id)
    }

    async fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut registry = self.registry.write();
        let Some(index) = registry.subscriptions.iter().position(|s| s.id == id) else {
            return false;
        };
        let removed = registry.subscriptions.remove(index);
        registry.invalidate();
        drop(registry);
        // The handler's own drop, if this was its last reference, runs unlocked.
        drop(removed);
        true
    }
}

#[cfg(test)]
mod tests;
