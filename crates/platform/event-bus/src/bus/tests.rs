use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hub_kernel::{
    EventBus, EventEnvelope, EventHandler, EventType, HandlerError, PublishReport, SubscriptionId,
    TopicPattern,
};
use parking_lot::Mutex;
use time::OffsetDateTime;
use tokio::sync::Barrier;
use uuid::Uuid;

use super::{InProcessBusConfig, InProcessEventBus};
use crate::HandlerStats;

fn event(event_type: &str) -> Arc<EventEnvelope> {
    let event_type = EventType::parse(event_type).unwrap();
    Arc::new(EventEnvelope {
        event_id: Uuid::now_v7(),
        aggregate_type: event_type.aggregate().to_owned(),
        event_type,
        aggregate_id: "42".into(),
        occurred_at: OffsetDateTime::now_utc(),
        actor_id: None,
        correlation_id: None,
        causation_id: None,
        schema_version: 1,
        data: serde_json::json!({}),
    })
}

fn pattern(p: &str) -> TopicPattern {
    TopicPattern::parse(p).unwrap()
}

async fn subscribe(
    bus: &InProcessEventBus,
    p: &str,
    handler: Arc<dyn EventHandler>,
) -> SubscriptionId {
    bus.subscribe(pattern(p), handler).await.unwrap()
}

async fn publish(bus: &InProcessEventBus, event_type: &str) -> PublishReport {
    bus.publish(event(event_type)).await.unwrap()
}

fn report(matched: usize, failed: usize) -> PublishReport {
    PublishReport { matched, failed }
}

fn stats_of(bus: &InProcessEventBus, handler: &str) -> HandlerStats {
    let mut found = bus
        .handler_stats()
        .into_iter()
        .filter(|s| s.handler == handler);
    let stats = found.next().unwrap();
    assert!(
        found.next().is_none(),
        "{handler} has several subscriptions"
    );
    stats
}

/// (handled, failed, panicked, timed_out)
fn counts(stats: &HandlerStats) -> (u64, u64, u64, u64) {
    (stats.handled, stats.failed, stats.panicked, stats.timed_out)
}

/// Remembers the type of every event it receives.
struct Recorder {
    name: &'static str,
    seen: Mutex<Vec<String>>,
}

impl Recorder {
    fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            name,
            seen: Mutex::new(Vec::new()),
        })
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().clone()
    }
}

#[async_trait]
impl EventHandler for Recorder {
    fn name(&self) -> &str {
        self.name
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), HandlerError> {
        self.seen.lock().push(event.event_type.to_string());
        Ok(())
    }
}

struct Failing;

#[async_trait]
impl EventHandler for Failing {
    fn name(&self) -> &str {
        "failing"
    }

    async fn handle(&self, _: &EventEnvelope) -> Result<(), HandlerError> {
        Err(HandlerError::new("refused"))
    }
}

struct Panicking;

#[async_trait]
impl EventHandler for Panicking {
    fn name(&self) -> &str {
        "panicking"
    }

    async fn handle(&self, _: &EventEnvelope) -> Result<(), HandlerError> {
        panic!("handler bug");
    }
}

/// Panics while building its future rather than while it runs, as only a
/// hand-written (non-`async fn`) handler can.
struct PanicsBeforeItsFuture;

impl EventHandler for PanicsBeforeItsFuture {
    fn name(&self) -> &str {
        "panics_early"
    }

    fn handle<'life0, 'life1, 'async_trait>(
        &'life0 self,
        _: &'life1 EventEnvelope,
    ) -> Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        panic!("no future for you");
    }
}

/// Takes `delay` (tokio time) before succeeding.
struct Sleeper {
    name: &'static str,
    delay: Duration,
}

#[async_trait]
impl EventHandler for Sleeper {
    fn name(&self) -> &str {
        self.name
    }

    async fn handle(&self, _: &EventEnvelope) -> Result<(), HandlerError> {
        tokio::time::sleep(self.delay).await;
        Ok(())
    }
}

/// Finishes only once every other handler sharing its barrier has started.
struct Rendezvous {
    name: &'static str,
    barrier: Arc<Barrier>,
}

#[async_trait]
impl EventHandler for Rendezvous {
    fn name(&self) -> &str {
        self.name
    }

    async fn handle(&self, _: &EventEnvelope) -> Result<(), HandlerError> {
        self.barrier.wait().await;
        Ok(())
    }
}

#[tokio::test]
async fn each_pattern_receives_exactly_the_events_it_selects() {
    let bus = InProcessEventBus::default();
    let exact = Recorder::new("exact");
    let chantier = Recorder::new("chantier");
    let all = Recorder::new("all");
    let created = Recorder::new("created");
    subscribe(&bus, "chantier.created", exact.clone()).await;
    subscribe(&bus, "chantier.*", chantier.clone()).await;
    subscribe(&bus, "*", all.clone()).await;
    subscribe(&bus, "*.created", created.clone()).await;

    assert_eq!(publish(&bus, "chantier.created").await, report(4, 0));
    assert_eq!(publish(&bus, "chantier.statut_changed").await, report(2, 0));
    assert_eq!(publish(&bus, "affectation.created").await, report(2, 0));
    assert_eq!(publish(&bus, "user.deleted").await, report(1, 0));
    assert_eq!(publish(&bus, "chantier.statut.changed").await, report(2, 0));
    // Second time round the cached match lists must give the same answers.
    assert_eq!(publish(&bus, "chantier.created").await, report(4, 0));
    assert_eq!(publish(&bus, "user.deleted").await, report(1, 0));

    assert_eq!(exact.seen(), ["chantier.created", "chantier.created"]);
    assert_eq!(
        chantier.seen(),
        [
            "chantier.created",
            "chantier.statut_changed",
            "chantier.statut.changed",
            "chantier.created"
        ]
    );
    assert_eq!(
        all.seen(),
        [
            "chantier.created",
            "chantier.statut_changed",
            "affectation.created",
            "user.deleted",
            "chantier.statut.changed",
            "chantier.created",
            "user.deleted"
        ]
    );
    assert_eq!(
        created.seen(),
        [
            "chantier.created",
            "affectation.created",
            "chantier.created"
        ]
    );
    for stats in bus.handler_stats() {
        assert_eq!((stats.failed, stats.panicked, stats.timed_out), (0, 0, 0));
    }
    assert_eq!(stats_of(&bus, "all").handled, 7);
    assert_eq!(stats_of(&bus, "exact").handled, 2);
}

#[tokio::test]
async fn an_event_nobody_selects_is_matched_by_none() {
    let bus = InProcessEventBus::default();
    let exact = Recorder::new("exact");
    subscribe(&bus, "chantier.created", exact.clone()).await;
    assert_eq!(publish(&bus, "chantier.deleted").await, report(0, 0));
    assert!(exact.seen().is_empty());
}

#[tokio::test]
async fn unsubscribe_stops_delivery_and_refuses_unknown_ids() {
    let bus = InProcessEventBus::default();
    let kept = Recorder::new("kept");
    let removed = Recorder::new("removed");
    subscribe(&bus, "*", kept.clone()).await;
    let id = subscribe(&bus, "chantier.*", removed.clone()).await;
    assert_eq!(publish(&bus, "chantier.created").await, report(2, 0));

    assert!(bus.unsubscribe(id).await);
    assert_eq!(publish(&bus, "chantier.created").await, report(1, 0));
    assert_eq!(removed.seen(), ["chantier.created"]);
    assert_eq!(kept.seen().len(), 2);
    assert_eq!(bus.subscription_count(), 1);

    assert!(!bus.unsubscribe(id).await);
    assert!(!bus.unsubscribe(SubscriptionId(9_999)).await);
    assert_eq!(bus.subscription_count(), 1);
}

#[tokio::test]
async fn one_handler_with_several_patterns_is_one_subscription_per_pattern() {
    let bus = InProcessEventBus::default();
    let handler = Recorder::new("twice");
    let chantier = subscribe(&bus, "chantier.*", handler.clone()).await;
    let created = subscribe(&bus, "*.created", handler.clone()).await;
    assert_ne!(chantier, created);

    assert_eq!(publish(&bus, "chantier.created").await, report(2, 0));
    assert_eq!(publish(&bus, "chantier.deleted").await, report(1, 0));
    assert_eq!(publish(&bus, "user.created").await, report(1, 0));
    assert_eq!(
        handler.seen(),
        [
            "chantier.created",
            "chantier.created",
            "chantier.deleted",
            "user.created"
        ]
    );

    let stats = bus.handler_stats();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].subscription_id, chantier.0);
    assert_eq!(
        (stats[0].pattern.as_str(), stats[0].handled),
        ("chantier.*", 2)
    );
    assert_eq!(stats[1].subscription_id, created.0);
    assert_eq!(
        (stats[1].pattern.as_str(), stats[1].handled),
        ("*.created", 2)
    );
}

#[tokio::test]
async fn handlers_of_one_event_run_concurrently() {
    let bus = InProcessEventBus::default();
    // Each handler waits for the other: run one after the other, they never finish.
    let barrier = Arc::new(Barrier::new(2));
    for name in ["left", "right"] {
        let handler = Arc::new(Rendezvous {
            name,
            barrier: barrier.clone(),
        });
        subscribe(&bus, "chantier.*", handler).await;
    }
    let published = tokio::time::timeout(
        Duration::from_secs(2),
        bus.publish(event("chantier.created")),
    )
    .await;
    assert_eq!(
        published.expect("handlers ran sequentially").unwrap(),
        report(2, 0)
    );
    assert_eq!(stats_of(&bus, "left").handled, 1);
    assert_eq!(stats_of(&bus, "right").handled, 1);
}

#[tokio::test(start_paused = true)]
async fn failing_panicking_and_slow_handlers_are_isolated_and_counted() {
    let bus = InProcessEventBus::new(InProcessBusConfig {
        handler_timeout: Duration::from_millis(50),
        ..InProcessBusConfig::default()
    });
    let before = Recorder::new("before");
    let after = Recorder::new("after");
    subscribe(&bus, "*", before.clone()).await;
    subscribe(&bus, "*", Arc::new(Failing)).await;
    subscribe(&bus, "*", Arc::new(Panicking)).await;
    subscribe(&bus, "*", Arc::new(PanicsBeforeItsFuture)).await;
    let slow = Sleeper {
        name: "slow",
        delay: Duration::from_secs(10),
    };
    subscribe(&bus, "*", Arc::new(slow)).await;
    let patient = Sleeper {
        name: "patient",
        delay: Duration::from_millis(20),
    };
    subscribe(&bus, "*", Arc::new(patient)).await;
    subscribe(&bus, "*", after.clone()).await;

    let started = tokio::time::Instant::now();
    assert_eq!(publish(&bus, "chantier.created").await, report(7, 4));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(50) && took < Duration::from_millis(100),
        "the publish waited {took:?}, not the 50 ms timeout"
    );
    assert_eq!(publish(&bus, "user.created").await, report(7, 4));

    assert_eq!(before.seen(), ["chantier.created", "user.created"]);
    assert_eq!(after.seen(), ["chantier.created", "user.created"]);
    assert_eq!(counts(&stats_of(&bus, "before")), (2, 0, 0, 0));
    assert_eq!(counts(&stats_of(&bus, "after")), (2, 0, 0, 0));
    assert_eq!(counts(&stats_of(&bus, "failing")), (0, 2, 0, 0));
    assert_eq!(counts(&stats_of(&bus, "panicking")), (0, 0, 2, 0));
    assert_eq!(counts(&stats_of(&bus, "panics_early")), (0, 0, 2, 0));
    assert_eq!(counts(&stats_of(&bus, "slow")), (0, 0, 0, 2));
    // Slower than a poll but within the timeout: a success, not a timeout.
    assert_eq!(counts(&stats_of(&bus, "patient")), (2, 0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_publish_whose_handlers_all_finish_early_does_not_wait_for_the_timeout() {
    let bus = InProcessEventBus::new(InProcessBusConfig {
        handler_timeout: Duration::from_secs(5),
        ..InProcessBusConfig::default()
    });
    let patient = Sleeper {
        name: "patient",
        delay: Duration::from_millis(20),
    };
    subscribe(&bus, "*", Arc::new(patient)).await;
    let started = tokio::time::Instant::now();
    assert_eq!(publish(&bus, "chantier.created").await, report(1, 0));
    assert_eq!(started.elapsed(), Duration::from_millis(20));
}

#[tokio::test]
async fn history_keeps_the_last_n_events_newest_first_and_filters_them() {
    let bus = InProcessEventBus::new(InProcessBusConfig {
        history_capacity: 3,
        ..InProcessBusConfig::default()
    });
    let events: Vec<_> = [
        "chantier.created",
        "user.created",
        "chantier.updated",
        "affectation.created",
        "chantier.deleted",
    ]
    .into_iter()
    .map(event)
    .collect();
    for e in &events {
        // History does not depend on anyone listening.
        assert_eq!(bus.publish(e.clone()).await.unwrap(), report(0, 0));
    }
    let ids = |list: Vec<Arc<EventEnvelope>>| list.iter().map(|e| e.event_id).collect::<Vec<_>>();

    assert_eq!(
        ids(bus.recent(None, 10)),
        [events[4].event_id, events[3].event_id, events[2].event_id]
    );
    assert_eq!(
        ids(bus.recent(None, 2)),
        [events[4].event_id, events[3].event_id]
    );
    assert_eq!(
        ids(bus.recent(Some(&pattern("chantier.*")), 10)),
        [events[4].event_id, events[2].event_id]
    );
    assert_eq!(
        ids(bus.recent(Some(&pattern("*.created")), 10)),
        [events[3].event_id]
    );
    assert!(bus.recent(Some(&pattern("user.*")), 10).is_empty());
    assert!(bus.recent(None, 0).is_empty());
    // The very same envelopes are kept, not copies.
    assert!(Arc::ptr_eq(&bus.recent(None, 1)[0], &events[4]));
}

#[tokio::test]
async fn history_can_be_turned_off() {
    let bus = InProcessEventBus::new(InProcessBusConfig {
        history_capacity: 0,
        ..InProcessBusConfig::default()
    });
    publish(&bus, "chantier.created").await;
    assert!(bus.recent(None, 10).is_empty());
}

#[tokio::test]
async fn subscribing_or_unsubscribing_after_a_type_was_seen_refreshes_its_match_list() {
    let bus = InProcessEventBus::default();
    let first = Recorder::new("first");
    let first_id = subscribe(&bus, "chantier.created", first.clone()).await;
    assert_eq!(publish(&bus, "chantier.created").await, report(1, 0));
    assert_eq!(publish(&bus, "user.created").await, report(0, 0));

    let late = Recorder::new("late");
    subscribe(&bus, "*", late.clone()).await;
    assert_eq!(publish(&bus, "chantier.created").await, report(2, 0));
    assert_eq!(publish(&bus, "user.created").await, report(1, 0));
    assert_eq!(late.seen(), ["chantier.created", "user.created"]);

    assert!(bus.unsubscribe(first_id).await);
    assert_eq!(publish(&bus, "chantier.created").await, report(1, 0));
    assert_eq!(first.seen(), ["chantier.created", "chantier.created"]);
    assert_eq!(late.seen().len(), 3);
}

#[tokio::test]
async fn handler_stats_serialise_with_their_names() {
    let bus = InProcessEventBus::default();
    let id = subscribe(&bus, "chantier.*", Arc::new(Failing)).await;
    publish(&bus, "chantier.created").await;
    let json = serde_json::to_value(bus.handler_stats()).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "subscription_id": id.0,
            "handler": "failing",
            "pattern": "chantier.*",
            "handled": 0,
            "failed": 1,
            "panicked": 0,
            "timed_out": 0,
        }])
    );
}

#[tokio::test]
async fn the_bus_is_usable_as_a_shared_trait_object() {
    let bus: Arc<dyn EventBus> = Arc::new(InProcessEventBus::default());
    let recorder = Recorder::new("recorder");
    bus.subscribe(pattern("*"), recorder.clone()).await.unwrap();
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move { bus.publish(event("chantier.created")).await.unwrap() })
    };
    assert_eq!(publisher.await.unwrap(), report(1, 0));
    assert_eq!(recorder.seen(), ["chantier.created"]);
}
