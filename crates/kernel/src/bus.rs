//! Event bus ports: how events are published and who receives them.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::envelope::EventEnvelope;
use crate::topic::TopicPattern;

/// A failure reported by a handler. The bus logs and counts it; it never
/// reaches the publisher or the other handlers.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl HandlerError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Something that reacts to events.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Stable name used in logs and metrics.
    fn name(&self) -> &str;

    /// Reacts to one event. Handlers must be idempotent: delivery is at least once.
    async fn handle(&self, event: &EventEnvelope) -> Result<(), HandlerError>;
}

/// Identifies a subscription so that it can be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sub-{}", self.0)
    }
}

/// What happened to one published event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Handlers whose pattern matched.
    pub matched: usize,
    /// Handlers that returned an error, panicked or timed out.
    pub failed: usize,
}

/// A failure of the bus itself (a broker unreachable), never of a handler.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    #[error("subscription refused: {0}")]
    Subscription(String),
}

/// Publish/subscribe port. The in-process adapter runs handlers itself; a
/// broker adapter (NATS JetStream) forwards to other instances.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Hands `event` to every handler whose pattern matches it, concurrently,
    /// and returns when they have all finished or timed out.
    async fn publish(&self, event: Arc<EventEnvelope>) -> Result<PublishReport, BusError>;

    /// Registers `handler` for the events selected by `pattern`.
    async fn subscribe(
        &self,
        pattern: TopicPattern,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError>;

    /// Removes a subscription; `false` when it did not exist.
    async fn unsubscribe(&self, id: SubscriptionId) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventMetadata, EventType};
    use time::OffsetDateTime;
    use uuid::Uuid;

    fn envelope() -> EventEnvelope {
        EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: EventType::from_static("chantier.created").unwrap(),
            aggregate_type: "chantier".into(),
            aggregate_id: "1".into(),
            occurred_at: OffsetDateTime::now_utc(),
            actor_id: EventMetadata::default().actor_id,
            correlation_id: None,
            causation_id: None,
            schema_version: 1,
            data: serde_json::json!({}),
        }
    }

    // The ports are used as trait objects across crates; this fails to
    // compile if either stops being object safe, and shows the mocks work.
    #[tokio::test]
    async fn ports_are_object_safe_and_mockable() {
        let mut handler = MockEventHandler::new();
        handler.expect_name().return_const("audit".to_string());
        handler
            .expect_handle()
            .times(1)
            .returning(|_| Err(HandlerError::new("boom")));
        let handler: Arc<dyn EventHandler> = Arc::new(handler);

        let mut bus = MockEventBus::new();
        bus.expect_publish().times(1).returning(|_| {
            Ok(PublishReport {
                matched: 1,
                failed: 1,
            })
        });
        let bus: Box<dyn EventBus> = Box::new(bus);

        assert_eq!(handler.name(), "audit");
        let err = handler.handle(&envelope()).await.unwrap_err();
        assert_eq!(err.to_string(), "boom");
        let report = bus.publish(Arc::new(envelope())).await.unwrap();
        assert_eq!(report.failed, 1);
    }

    #[test]
    fn handler_error_keeps_its_source() {
        let io = std::io::Error::other("disk");
        let err = HandlerError::with_source("could not write", io);
        assert_eq!(err.to_string(), "could not write");
        assert_eq!(
            std::error::Error::source(&err).map(ToString::to_string),
            Some("disk".to_string())
        );
    }
}
