//! Settings of the JetStream bus: where, which stream, which consumer group,
//! how long events are kept.

use std::time::Duration;

/// How [`crate::NatsEventBus`] connects and what it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// `nats://host:port` (credentials in the URL are honoured; `tls://`
    /// requires TLS), several separated by commas for a cluster.
    pub url: String,
    /// JetStream stream holding the events (`HUB_EVENTS`).
    pub stream: String,
    /// Subjects are `<prefix>.<event_type>` (`hub.events`): a NATS client
    /// subscribes to `hub.events.>` or `hub.events.chantier.*`.
    pub subject_prefix: String,
    /// Durable consumer shared by the instances of one group: each event is
    /// handed to the handlers of one instance of each group.
    pub consumer: String,
    /// Events older than this are dropped from the stream.
    pub max_age: Duration,
    /// Oldest events are dropped once the stream is this large; `None`: no limit.
    pub max_bytes: Option<u64>,
    /// Stream replicas (1 for a single server; 3 on a three-node cluster).
    pub replicas: usize,
    /// Window in which a re-published `event_id` is recognised and dropped.
    /// It must exceed the time a crashed relay's events take to be claimed
    /// again (`OUTBOX_POLL_INTERVAL`, seconds).
    pub duplicate_window: Duration,
    /// How long a delivered, unacknowledged event waits before it is
    /// delivered again (to any instance of the group).
    pub ack_wait: Duration,
    /// Bound on every JetStream request and publish ack.
    pub request_timeout: Duration,
}

impl NatsConfig {
    /// The defaults for a server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: "HUB_EVENTS".to_owned(),
            subject_prefix: "hub.events".to_owned(),
            consumer: "hub-chantier".to_owned(),
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_bytes: None,
            replicas: 1,
            duplicate_window: Duration::from_secs(10 * 60),
            ack_wait: Duration::from_secs(30),
            request_timeout: Duration::from_secs(5),
        }
    }

    /// The subject of events of type `event_type`.
    pub fn subject(&self, event_type: &str) -> String {
        format!("{}.{event_type}", self.subject_prefix)
    }

    /// The subjects of the stream (every event type).
    pub fn wildcard(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_the_prefix_and_the_event_type() {
        let config = NatsConfig::new("nats://127.0.0.1:4222");
        assert_eq!(
            config.subject("chantier.statut_changed"),
            "hub.events.chantier.statut_changed"
        );
        assert_eq!(config.wildcard(), "hub.events.>");
        assert_eq!(config.stream, "HUB_EVENTS");
    }
}
