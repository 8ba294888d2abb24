//! The bus: publishing to the stream, and the consumer loop feeding the
//! local handlers.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{
    Config as StreamConfig, DiscardPolicy, RetentionPolicy, StorageType,
};
use async_nats::{ServerAddr, jetstream};
use async_trait::async_trait;
use futures::StreamExt;
use hub_kernel::{
    BusError, EventBus, EventEnvelope, EventHandler, PublishReport, SubscriptionId, TopicPattern,
};
use tokio_util::sync::CancellationToken;

use crate::config::NatsConfig;

/// Events fetched per pull request. Each waits in the client until the
/// previous ones are handled, and its `ack_wait` runs meanwhile: a small
/// batch keeps that wait short even with slow handlers.
const PULL_BATCH: usize = 64;
/// The server sends a heartbeat this often while a pull request is idle, so
/// that a lost connection is noticed and the pull re-issued.
const PULL_HEARTBEAT: Duration = Duration::from_secs(5);
const PULL_EXPIRES: Duration = Duration::from_secs(30);
/// Longest pause between two attempts to resume consuming after a failure.
const MAX_RESUME_DELAY: Duration = Duration::from_secs(10);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failure to reach NATS or to set the stream or consumer up.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The message names no address: the URL may carry credentials.
    #[error("not a NATS server address: {0}")]
    Address(#[source] BoxError),
    #[error("cannot connect to the NATS server: {0}")]
    Connect(#[source] async_nats::ConnectError),
    #[error("JetStream stream `{stream}` cannot be set up: {source}")]
    Stream {
        stream: String,
        #[source]
        source: BoxError,
    },
    #[error("JetStream consumer `{consumer}` cannot be set up: {source}")]
    Consumer {
        consumer: String,
        #[source]
        source: BoxError,
    },
    #[error("consuming from JetStream failed: {0}")]
    Consume(#[source] BoxError),
}

/// The [`EventBus`] of a cluster: `publish` stores the event in the
/// JetStream stream (subject `<prefix>.<event_type>`, `Nats-Msg-Id` =
/// `event_id`, so a re-published event is dropped as a duplicate) and
/// returns once the server has acknowledged it; handlers subscribe on the
/// local bus, which [`NatsEventBus::consume`] feeds from the group's durable
/// consumer. Every instance of a group shares that consumer, so each event
/// reaches the handlers of one instance per group, at least once.
///
/// The [`PublishReport`] of `publish` is empty: no handler runs then.
pub struct NatsEventBus {
    config: NatsConfig,
    jetstream: jetstream::Context,
    local: Arc<dyn EventBus>,
}

impl std::fmt::Debug for NatsEventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsEventBus")
            .field("stream", &self.config.stream)
            .field("consumer", &self.config.consumer)
            .finish_non_exhaustive()
    }
}

impl NatsEventBus {
    /// Connects, then creates the stream and the consumer if missing (and
    /// brings the stream's retention to `config`'s). Handlers subscribed to
    /// this bus run on `local`.
    pub async fn connect(config: NatsConfig, local: Arc<dyn EventBus>) -> Result<Self, NatsError> {
        let addresses = config
            .url
            .split(',')
            .map(|url| url.trim().parse::<ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| NatsError::Address(Box::new(source)))?;
        let client = async_nats::ConnectOptions::new()
            .name("hub-chantier")
            .connection_timeout(config.request_timeout)
            // Reconnects forever (the client's default) and buffers what is
            // published meanwhile; unacknowledged publishes fail after
            // `request_timeout`, and the relay retries them.
            .connect(addresses)
            .await
            .map_err(NatsError::Connect)?;
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(config.request_timeout)
            .build(client);
        let bus = Self {
            config,
            jetstream,
            local,
        };
        bus.ensure_stream().await?;
        bus.ensure_consumer().await?;
        tracing::info!(
            stream = %bus.config.stream,
            subjects = %bus.config.wildcard(),
            consumer = %bus.config.consumer,
            "event bus: NATS JetStream"
        );
        Ok(bus)
    }

    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    fn stream_error(&self, source: impl Into<BoxError>) -> NatsError {
        NatsError::Stream {
            stream: self.config.stream.clone(),
            source: source.into(),
        }
    }

    /// Creates the stream, or updates its limits when they differ from the
    /// configuration (so that changing the retention takes effect at the
    /// next start).
    async fn ensure_stream(&self) -> Result<(), NatsError> {
        let max_bytes = match self.config.max_bytes {
            Some(bytes) => i64::try_from(bytes).unwrap_or(i64::MAX),
            // JetStream's "no limit".
            None => -1,
        };
        let wanted = StreamConfig {
            name: self.config.stream.clone(),
            description: Some("Hub Chantier domain events (envelope JSON)".to_owned()),
            subjects: vec![self.config.wildcard()],
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            max_age: self.config.max_age,
            max_bytes,
            max_messages: -1,
            max_messages_per_subject: -1,
            num_replicas: self.config.replicas,
            duplicate_window: self.config.duplicate_window,
            ..StreamConfig::default()
        };
        let stream = self
            .jetstream
            .get_or_create_stream(wanted.clone())
            .await
            .map_err(|e| self.stream_error(e))?;
        let current = &stream.cached_info().config;
        if current.max_age != wanted.max_age
            || current.max_bytes != wanted.max_bytes
            || current.duplicate_window != wanted.duplicate_window
            || current.subjects != wanted.subjects
        {
            let mut updated = current.clone();
            updated.max_age = wanted.max_age;
            updated.max_bytes = wanted.max_bytes;
            updated.duplicate_window = wanted.duplicate_window;
            updated.subjects = wanted.subjects;
            self.jetstream
                .update_stream(updated)
                .await
                .map_err(|e| self.stream_error(e))?;
            tracing::info!(stream = %self.config.stream, max_age = ?self.config.max_age,
                max_bytes = ?self.config.max_bytes, "event stream limits updated");
        }
        Ok(())
    }

    /// The group's durable pull consumer, created when missing. A new
    /// group starts at the oldest event the stream still holds.
    async fn ensure_consumer(&self) -> Result<PullConsumer, NatsError> {
        let consumer_error = |source: BoxError| NatsError::Consumer {
            consumer: self.config.consumer.clone(),
            source,
        };
        let stream = self
            .jetstream
            .get_stream(&self.config.stream)
            .await
            .map_err(|e| consumer_error(Box::new(e)))?;
        stream
            .get_or_create_consumer(
                &self.config.consumer,
                PullConfig {
                    durable_name: Some(self.config.consumer.clone()),
                    description: Some("Hub Chantier in-process handlers".to_owned()),
                    filter_subject: self.config.wildcard(),
                    deliver_policy: DeliverPolicy::All,
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.config.ack_wait,
                    num_replicas: self.config.replicas,
                    ..PullConfig::default()
                },
            )
            .await
            .map_err(|e| consumer_error(Box::new(e)))
    }

    /// Hands every event of the group's consumer to the local handlers
    /// until `shutdown`; an event being handled then is finished (and
    /// acknowledged) first. A lost connection or a deleted consumer is
    /// logged and consuming resumes (the consumer re-created if needed).
    pub async fn consume(&self, shutdown: CancellationToken) {
        let mut failures: u32 = 0;
        tracing::info!(consumer = %self.config.consumer, "event consumer started");
        while !shutdown.is_cancelled() {
            match self.consume_until_interrupted(&shutdown).await {
                Ok(()) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, failures, "event consumer interrupted; resuming");
                }
            }
            let delay = Duration::from_millis(100)
                .saturating_mul(1 << failures.min(7))
                .min(MAX_RESUME_DELAY);
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
        tracing::info!(consumer = %self.config.consumer, "event consumer stopped");
    }

    async fn consume_until_interrupted(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<(), NatsError> {
        let consumer = self.ensure_consumer().await?;
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(PULL_BATCH)
            .heartbeat(PULL_HEARTBEAT)
            .expires(PULL_EXPIRES)
            .messages()
            .await
            .map_err(|e| NatsError::Consume(Box::new(e)))?;
        loop {
            // Only the wait is cancelled by shutdown, never a delivery.
            let next = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(()),
                next = messages.next() => next,
            };
            match next {
                None => return Ok(()),
                Some(Err(error)) => return Err(NatsError::Consume(Box::new(error))),
                Some(Ok(message)) => self.deliver(message).await,
            }
        }
    }

    /// Runs the local handlers on one event, then acknowledges it. A
    /// handler's failure is the local bus's to log and count, as without
    /// NATS; only the bus itself failing leaves the event to be redelivered.
    async fn deliver(&self, message: jetstream::Message) {
        let envelope = match serde_json::from_slice::<EventEnvelope>(&message.payload) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::error!(subject = %message.subject, %error,
                    "message on the event stream is not an event envelope; dropped");
                metrics::counter!("hub_bus_nats_rejected_total").increment(1);
                if let Err(error) = message.ack_with(AckKind::Term).await {
                    tracing::warn!(%error, "could not terminate an unreadable message");
                }
                return;
            }
        };
        let event_id = envelope.event_id;
        match self.local.publish(Arc::new(envelope)).await {
            Ok(_) => {
                metrics::counter!("hub_bus_nats_consumed_total").increment(1);
                if let Err(error) = message.ack().await {
                    tracing::warn!(%event_id, %error, "ack failed; the event will be delivered again");
                }
            }
            Err(error) => {
                tracing::warn!(%event_id, %error, "local handlers unavailable; event left for redelivery");
                if let Err(error) = message.ack_with(AckKind::Nak(None)).await {
                    tracing::warn!(%event_id, %error, "nak failed; the event will be delivered again after ack_wait");
                }
            }
        }
    }
}

#[async_trait]
impl EventBus for NatsEventBus {
    async fn publish(&self, event: Arc<EventEnvelope>) -> Result<PublishReport, BusError> {
        let payload = serde_json::to_vec(&*event).map_err(|error| {
            BusError::Unavailable(format!(
                "event {} cannot be serialised: {error}",
                event.event_id
            ))
        })?;
        let subject = self.config.subject(event.event_type.as_str());
        let ack = self
            .jetstream
            .send_publish(
                subject,
                PublishMessage::build()
                    .payload(payload.into())
                    .message_id(event.event_id.to_string()),
            )
            .await
            .map_err(|error| BusError::Unavailable(format!("NATS publish: {error}")))?
            .await
            .map_err(|error| BusError::Unavailable(format!("NATS publish ack: {error}")))?;
        if ack.duplicate {
            // A relay that died after publishing left it undispatched; the
            // stream already has it.
            tracing::debug!(event_id = %event.event_id, sequence = ack.sequence,
                "event already in the stream; duplicate dropped by JetStream");
            metrics::counter!("hub_bus_nats_duplicates_total").increment(1);
        }
        Ok(PublishReport::default())
    }

    async fn subscribe(
        &self,
        pattern: TopicPattern,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError> {
        self.local.subscribe(pattern, handler).await
    }

    async fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.local.unsubscribe(id).await
    }
}
