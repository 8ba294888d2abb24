//! Publishing, deduplication, consumer groups, retention settings.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use hub_kernel::{EventBus, TopicPattern};
use hub_platform_nats::{NatsError, NatsEventBus};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    Recorder, assert_once_each, delete_stream, event, local_bus, read_stream, server_url,
    unique_config, wait_until,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_published_twice_is_stored_once_and_read_once_by_a_plain_client() {
    let config = unique_config(&server_url());
    let bus = NatsEventBus::connect(config.clone(), local_bus())
        .await
        .unwrap();
    let first = Arc::new(event("Tour A"));
    let second = Arc::new(event("Tour B"));

    bus.publish(first.clone()).await.unwrap();
    // A relay that died before marking it dispatched publishes it again.
    bus.publish(first.clone()).await.unwrap();
    bus.publish(second.clone()).await.unwrap();
    bus.publish(first.clone()).await.unwrap();

    let stored = read_stream(&config).await;
    assert_eq!(
        stored,
        vec![(*first).clone(), (*second).clone()],
        "each event once, in publish order, equal to what was published"
    );
    delete_stream(&config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_group_sees_every_event_and_within_a_group_one_instance_handles_each() {
    let config = unique_config(&server_url());
    let mut other_group = config.clone();
    other_group.consumer = "group-b".to_owned();

    // Two instances of group A, one of group B, each with its handler.
    let mut instances = Vec::new();
    for config in [config.clone(), config.clone(), other_group] {
        let local = local_bus();
        let bus = Arc::new(NatsEventBus::connect(config, local).await.unwrap());
        let recorder = Arc::new(Recorder::default());
        bus.subscribe(TopicPattern::parse("chantier.*").unwrap(), recorder.clone())
            .await
            .unwrap();
        instances.push((bus, recorder));
    }
    let shutdown = CancellationToken::new();
    let consumers: Vec<_> = instances
        .iter()
        .map(|(bus, _)| {
            let (bus, shutdown) = (bus.clone(), shutdown.clone());
            tokio::spawn(async move { bus.consume(shutdown).await })
        })
        .collect();

    // Published through all three instances, as three relays would.
    let events: Vec<_> = (0..150)
        .map(|i| Arc::new(event(&format!("c{i}"))))
        .collect();
    for (i, published) in events.iter().enumerate() {
        instances[i % 3].0.publish(published.clone()).await.unwrap();
    }
    let expected: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();

    let group_a = || {
        let mut ids = instances[0].1.ids();
        ids.extend(instances[1].1.ids());
        ids
    };
    wait_until(
        "group A handled every event",
        Duration::from_secs(30),
        || group_a().len() >= expected.len(),
    )
    .await;
    wait_until(
        "group B handled every event",
        Duration::from_secs(30),
        || instances[2].1.ids().len() >= expected.len(),
    )
    .await;
    // Time for a wrong second delivery to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_once_each(&group_a(), &expected, "group A");
    assert_once_each(&instances[2].1.ids(), &expected, "group B");
    // The handler gets the envelope as published.
    let seen = instances[2].1.seen.lock().clone();
    let first = seen.iter().find(|e| e.event_id == events[0].event_id);
    assert_eq!(first, Some(&*events[0]));

    shutdown.cancel();
    for consumer in consumers {
        tokio::time::timeout(Duration::from_secs(10), consumer)
            .await
            .expect("consumers stop on shutdown")
            .unwrap();
    }
    delete_stream(&config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_group_reads_the_events_published_before_it_existed() {
    let config = unique_config(&server_url());
    let publisher = NatsEventBus::connect(config.clone(), local_bus())
        .await
        .unwrap();
    let early = Arc::new(event("before"));
    publisher.publish(early.clone()).await.unwrap();

    let mut late_config = config.clone();
    late_config.consumer = "late-group".to_owned();
    let local = local_bus();
    let late = Arc::new(
        NatsEventBus::connect(late_config, local.clone())
            .await
            .unwrap(),
    );
    let recorder = Arc::new(Recorder::default());
    late.subscribe(TopicPattern::parse("*").unwrap(), recorder.clone())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let consuming = tokio::spawn({
        let (late, shutdown) = (late.clone(), shutdown.clone());
        async move { late.consume(shutdown).await }
    });
    wait_until(
        "the late group got the early event",
        Duration::from_secs(20),
        || !recorder.ids().is_empty(),
    )
    .await;
    assert_eq!(recorder.ids(), vec![early.event_id]);
    // The local bus keeps it in its history, as without NATS.
    assert_eq!(local.recent(None, 10).len(), 1);

    shutdown.cancel();
    consuming.await.unwrap();
    delete_stream(&config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_gets_the_configured_retention_and_a_change_applies_at_the_next_start() {
    let mut config = unique_config(&server_url());
    config.max_bytes = Some(10 * 1024 * 1024);
    NatsEventBus::connect(config.clone(), local_bus())
        .await
        .unwrap();

    let client = async_nats::connect(config.url.as_str()).await.unwrap();
    let jetstream = jetstream::new(client);
    let name = config.stream.clone();
    let stream_config = async || {
        let mut stream = jetstream.get_stream(&name).await.unwrap();
        stream.info().await.unwrap().config.clone()
    };
    let info = stream_config().await;
    assert_eq!(info.max_age, Duration::from_secs(3600));
    assert_eq!(info.max_bytes, 10 * 1024 * 1024);
    assert_eq!(info.duplicate_window, config.duplicate_window);
    assert_eq!(info.subjects, vec![config.wildcard()]);

    config.max_age = Duration::from_secs(1800);
    config.max_bytes = None;
    NatsEventBus::connect(config.clone(), local_bus())
        .await
        .unwrap();
    let info = stream_config().await;
    assert_eq!(info.max_age, Duration::from_secs(1800));
    assert_eq!(info.max_bytes, -1, "no limit");
    delete_stream(&config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_start_up_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = unique_config(&format!("nats://127.0.0.1:{port}"));
    let error = NatsEventBus::connect(config, local_bus())
        .await
        .unwrap_err();
    assert!(matches!(error, NatsError::Connect(_)), "{error}");
    let error = NatsEventBus::connect(unique_config("http://[::1"), local_bus())
        .await
        .unwrap_err();
    assert!(matches!(error, NatsError::Address(_)), "{error}");
}
