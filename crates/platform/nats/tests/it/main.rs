//! The JetStream bus against a real NATS server: the machine's (127.0.0.1:4222,
//! `NATS_URL` to change it; `make test` starts one) with a stream of its own
//! per test, or a `nats-server` child process the test kills and restarts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bus;
mod restart;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_trait::async_trait;
use futures::StreamExt;
use hub_kernel::{DomainEvent, EventEnvelope, EventHandler, EventMetadata, HandlerError};
use hub_platform_nats::NatsConfig;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The shared server of the test run.
pub fn server_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A configuration whose stream, subjects and consumer no other test uses.
pub fn unique_config(url: &str) -> NatsConfig {
    let id = Uuid::now_v7().simple().to_string();
    let mut config = NatsConfig::new(url);
    config.stream = format!("TEST_{id}");
    config.subject_prefix = format!("t{id}.events");
    config.consumer = "group-a".to_owned();
    // What a failed test leaves on the shared server goes away by itself.
    config.max_age = Duration::from_secs(3600);
    config.request_timeout = Duration::from_secs(2);
    config
}

/// Deletes the test's stream (and its consumers).
pub async fn delete_stream(config: &NatsConfig) {
    let client = async_nats::connect(config.url.as_str()).await.unwrap();
    jetstream::new(client)
        .delete_stream(&config.stream)
        .await
        .unwrap();
}

#[derive(Serialize)]
struct ChantierCreated {
    chantier_id: Uuid,
    nom: String,
}

impl DomainEvent for ChantierCreated {
    fn event_type(&self) -> &'static str {
        "chantier.created"
    }
    fn aggregate_type(&self) -> &'static str {
        "chantier"
    }
    fn aggregate_id(&self) -> String {
        self.chantier_id.to_string()
    }
}

pub fn event(nom: &str) -> EventEnvelope {
    EventEnvelope::wrap(
        &ChantierCreated {
            chantier_id: Uuid::now_v7(),
            nom: nom.into(),
        },
        &EventMetadata {
            actor_id: Some(Uuid::now_v7()),
            correlation_id: Some("req-1".into()),
            causation_id: None,
        },
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

/// A handler that records the events it is given.
#[derive(Default)]
pub struct Recorder {
    pub seen: parking_lot::Mutex<Vec<EventEnvelope>>,
}

impl Recorder {
    pub fn ids(&self) -> Vec<Uuid> {
        self.seen.lock().iter().map(|e| e.event_id).collect()
    }
}

#[async_trait]
impl EventHandler for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), HandlerError> {
        self.seen.lock().push(event.clone());
        Ok(())
    }
}

/// Polls `check` until it holds, failing after `within`.
pub async fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads the whole stream as any NATS client would (an ordered consumer
/// from the first message), returning the envelopes in stream order.
pub async fn read_stream(config: &NatsConfig) -> Vec<EventEnvelope> {
    let client = async_nats::connect(config.url.as_str()).await.unwrap();
    let jetstream = jetstream::new(client);
    let mut stream = jetstream.get_stream(&config.stream).await.unwrap();
    let count = stream.info().await.unwrap().state.messages;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: format!("{}.>", config.subject_prefix),
            deliver_policy: DeliverPolicy::All,
            ..OrderedConfig::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut envelopes = Vec::new();
    while (envelopes.len() as u64) < count {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("the stream's messages arrive")
            .expect("the stream goes on")
            .unwrap();
        let expected_subject = config.subject("chantier.created");
        assert_eq!(message.subject.as_str(), expected_subject);
        let envelope: EventEnvelope = serde_json::from_slice(&message.payload).unwrap();
        let msg_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned());
        assert_eq!(msg_id, Some(envelope.event_id.to_string()));
        envelopes.push(envelope);
    }
    envelopes
}

/// Asserts `ids` holds each of `expected` exactly once.
pub fn assert_once_each(ids: &[Uuid], expected: &[Uuid], who: &str) {
    let distinct: HashSet<&Uuid> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{who}: an event came twice");
    assert_eq!(
        distinct,
        expected.iter().collect::<HashSet<_>>(),
        "{who}: not every event"
    );
}

/// The in-process bus the NATS bus hands events to.
pub fn local_bus() -> Arc<hub_platform_event_bus::InProcessEventBus> {
    Arc::new(hub_platform_event_bus::InProcessEventBus::default())
}
