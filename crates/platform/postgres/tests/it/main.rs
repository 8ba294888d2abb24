//! Outbox and relay against a real PostgreSQL (one private database per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aggregate_writes;
mod statement;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{
    BusError, DomainEvent, EventBus, EventEnvelope, EventHandler, EventMetadata, PublishReport,
    SubscriptionId, TopicPattern,
};
use hub_platform_postgres::{
    Database, DbError, DurableError, DurableSubscriber, OutboxRelay, Projection, Projector,
    RelayConfig, RelayedEvent, migrations, outbox,
};
use hub_platform_test_db::TestDatabase;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

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

fn event(nom: &str) -> EventEnvelope {
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

/// A bus that records what it is given; optionally never returns from
/// `publish`, like a process that dies right after handing the event over.
#[derive(Default)]
struct RecordingBus {
    published: parking_lot::Mutex<Vec<Arc<EventEnvelope>>>,
    changed: Notify,
    hang: bool,
    /// Refuses every publish, like a broker that is down.
    down: std::sync::atomic::AtomicBool,
}

impl RecordingBus {
    fn hanging() -> Self {
        Self {
            hang: true,
            ..Self::default()
        }
    }

    fn ids(&self) -> Vec<Uuid> {
        self.published.lock().iter().map(|e| e.event_id).collect()
    }

    async fn wait_for(&self, count: usize) {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let notified = self.changed.notified();
                if self.published.lock().len() >= count {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "expected {count} published events, got {}",
                self.published.lock().len()
            )
        });
    }
}

#[async_trait]
impl EventBus for RecordingBus {
    async fn publish(&self, event: Arc<EventEnvelope>) -> Result<PublishReport, BusError> {
        if std::sync::atomic::AtomicBool::load(&self.down, std::sync::atomic::Ordering::SeqCst) {
            return Err(BusError::Unavailable("broker down".into()));
        }
        self.published.lock().push(event);
        self.changed.notify_waiters();
        if self.hang {
            std::future::pending::<()>().await;
        }
        Ok(PublishReport {
            matched: 1,
            failed: 0,
        })
    }

    async fn subscribe(
        &self,
        _pattern: TopicPattern,
        _handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError> {
        Err(BusError::Subscription("recording bus".into()))
    }

    async fn unsubscribe(&self, _id: SubscriptionId) -> bool {
        false
    }
}

fn fast_config() -> RelayConfig {
    RelayConfig {
        batch_size: 10,
        poll_interval: Duration::from_millis(50),
        retry_base: Duration::from_millis(10),
        retry_max: Duration::from_millis(20),
    }
}

/// Every event undispatched again, as a replay of the whole log.
async fn undispatch_all(db: &Database) {
    let mut conn = db.connection().await.unwrap();
    sql_query("UPDATE event_logs SET dispatched_at = NULL")
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn append_committed(db: &Database, events: Vec<EventEnvelope>) {
    db.write(|conn| {
        Box::pin(async move {
            outbox::append(conn, &events).await?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .unwrap();
}

#[derive(QueryableByName)]
struct DispatchState {
    #[diesel(sql_type = BigInt)]
    undispatched: i64,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
}

async fn dispatch_state(db: &Database) -> DispatchState {
    let mut conn = db.connection().await.unwrap();
    sql_query(
        "SELECT count(*) FILTER (WHERE dispatched_at IS NULL) AS undispatched, \
         coalesce(max(dispatch_attempts), 0) AS attempts, max(last_error) AS last_error \
         FROM event_logs",
    )
    .get_result(&mut conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent() {
    let test_db = TestDatabase::new().await;
    // The template was migrated already: nothing is pending.
    let applied = migrations::run_pending(test_db.url()).await.unwrap();
    assert!(applied.is_empty(), "unexpected migrations {applied:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_event_reads_back_identical() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let original = event("Tour A");
    append_committed(db, vec![original.clone()]).await;

    let mut conn = db.connection().await.unwrap();
    let stored = outbox::find(&mut conn, original.event_id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.dispatched_at.is_none());
    assert_eq!(stored.into_envelope().unwrap(), original);
    let (count, oldest) = outbox::pending(&mut conn).await.unwrap();
    assert_eq!(count, 1);
    assert!(oldest.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_appended_in_a_rolled_back_transaction_is_never_published() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let rolled_back = event("never");
    let result = db
        .write(|conn| {
            Box::pin(async move {
                outbox::append(conn, &[rolled_back]).await?;
                // The use case fails after appending: nothing may survive.
                Err::<(), DbError>(DbError::Build("use case failed".into()))
            })
        })
        .await;
    assert!(result.is_err());

    let bus = Arc::new(RecordingBus::default());
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config());
    assert_eq!(relay.dispatch_once().await.unwrap(), 0);
    assert!(bus.ids().is_empty());
    assert_eq!(dispatch_state(db).await.undispatched, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_event_reaches_the_bus_once_and_is_marked_dispatched() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let bus = Arc::new(RecordingBus::default());
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(relay.run(shutdown.clone()));

    let committed = event("Tour B");
    append_committed(db, vec![committed.clone()]).await;
    bus.wait_for(1).await;

    let published = bus.published.lock()[0].clone();
    assert_eq!(*published, committed);
    // Give the relay time to (wrongly) publish again before checking.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bus.ids(), vec![committed.event_id]);
    assert_eq!(dispatch_state(db).await.undispatched, 0);

    shutdown.cancel();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_wakes_the_relay_without_waiting_for_the_poll() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let bus = Arc::new(RecordingBus::default());
    let config = RelayConfig {
        // Far longer than the wait below: only the in-process signal can
        // explain a delivery.
        poll_interval: Duration::from_secs(3600),
        ..fast_config()
    };
    let shutdown = CancellationToken::new();
    let running =
        tokio::spawn(OutboxRelay::new(db.clone(), bus.clone(), config).run(shutdown.clone()));
    // Let the relay finish its first (empty) cycle and go to sleep.
    tokio::time::sleep(Duration::from_millis(200)).await;

    append_committed(db, vec![event("réveil")]).await;
    bus.wait_for(1).await;

    shutdown.cancel();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_at_once_never_dispatch_the_same_event_twice() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let events: Vec<EventEnvelope> = (0..300).map(|i| event(&format!("c{i}"))).collect();
    let expected: HashSet<Uuid> = events.iter().map(|e| e.event_id).collect();

    let bus = Arc::new(RecordingBus::default());
    let shutdown = CancellationToken::new();
    // Two pools on the same database: two processes as far as PostgreSQL knows.
    let first = tokio::spawn(
        OutboxRelay::new(test_db.second_pool(), bus.clone(), fast_config()).run(shutdown.clone()),
    );
    let second = tokio::spawn(
        OutboxRelay::new(test_db.second_pool(), bus.clone(), fast_config()).run(shutdown.clone()),
    );
    for chunk in events.chunks(20) {
        append_committed(db, chunk.to_vec()).await;
    }
    bus.wait_for(expected.len()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    shutdown.cancel();
    first.await.unwrap();
    second.await.unwrap();

    let ids = bus.ids();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "an event was dispatched twice");
    assert_eq!(unique, expected);
    assert_eq!(dispatch_state(db).await.undispatched, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_stopped_between_publish_and_mark_republishes_after_restart() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let original = event("crash");
    append_committed(db, vec![original.clone()]).await;

    // First "process": publishes, then dies before it can mark the row.
    let crashed_bus = Arc::new(RecordingBus::hanging());
    let crashed_pool = test_db.second_pool();
    let crashed = tokio::spawn(
        OutboxRelay::new(crashed_pool.clone(), crashed_bus.clone(), fast_config())
            .run(CancellationToken::new()),
    );
    crashed_bus.wait_for(1).await;
    crashed.abort();
    assert!(crashed.await.unwrap_err().is_cancelled());
    // The process is gone: its connections (and their open transaction) too.
    crashed_pool.close();
    drop(crashed_pool);
    assert_eq!(dispatch_state(db).await.undispatched, 1);

    // Restart.
    let bus = Arc::new(RecordingBus::default());
    let shutdown = CancellationToken::new();
    let restarted = tokio::spawn(
        OutboxRelay::new(db.clone(), bus.clone(), fast_config()).run(shutdown.clone()),
    );
    bus.wait_for(1).await;
    shutdown.cancel();
    restarted.await.unwrap();

    assert_eq!(crashed_bus.ids(), vec![original.event_id]);
    assert_eq!(
        bus.ids(),
        vec![original.event_id],
        "same event_id, published again"
    );
    assert_eq!(dispatch_state(db).await.undispatched, 0);
}

/// Records each event it sees in a table, in the relay's transaction; fails
/// on demand.
struct EffectRecorder {
    pattern: TopicPattern,
    fail: bool,
    commits: std::sync::atomic::AtomicUsize,
}

impl EffectRecorder {
    fn new(pattern: &str, fail: bool) -> Self {
        Self {
            pattern: TopicPattern::parse(pattern).unwrap(),
            fail,
            commits: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn commits(&self) -> usize {
        std::sync::atomic::AtomicUsize::load(&self.commits, std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl DurableSubscriber for EffectRecorder {
    fn name(&self) -> &str {
        "effect-recorder"
    }

    fn pattern(&self) -> &TopicPattern {
        &self.pattern
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        sql_query("INSERT INTO durable_effects (event_id) VALUES ($1)")
            .bind::<diesel::sql_types::Uuid, _>(event.event_id)
            .execute(conn)
            .await?;
        if self.fail {
            return Err(DurableError::new("receiver table full"));
        }
        Ok(())
    }

    fn after_commit(&self) {
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn effects(db: &Database) -> i64 {
    let mut conn = db.connection().await.unwrap();
    sql_query("SELECT count(*) AS count FROM durable_effects")
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .count
}

async fn durable_setup(test_db: &TestDatabase) {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query("CREATE TABLE durable_effects (event_id UUID PRIMARY KEY)")
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_subscriber_work_commits_with_the_dispatch_mark() {
    let test_db = TestDatabase::new().await;
    durable_setup(&test_db).await;
    let db = test_db.database();
    append_committed(db, vec![event("durable")]).await;

    let bus = Arc::new(RecordingBus::default());
    let recorder = Arc::new(EffectRecorder::new("chantier.*", false));
    let unconcerned = Arc::new(EffectRecorder::new("user.*", false));
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config())
        .with_durable_subscriber(recorder.clone())
        .with_durable_subscriber(unconcerned.clone());
    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    assert_eq!(effects(db).await, 1);
    assert_eq!(bus.ids().len(), 1);
    assert_eq!(dispatch_state(db).await.undispatched, 0);
    // Told once, after the commit; a subscriber that saw nothing is not told.
    assert_eq!((recorder.commits(), unconcerned.commits()), (1, 0));
    // Nothing left to do: a second cycle neither publishes nor writes again.
    assert_eq!(relay.dispatch_once().await.unwrap(), 0);
    assert_eq!(effects(db).await, 1);
    assert_eq!(recorder.commits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_durable_subscriber_rolls_back_its_work_and_holds_the_event() {
    let test_db = TestDatabase::new().await;
    durable_setup(&test_db).await;
    let db = test_db.database();
    let held = event("held");
    let other = event("other");
    append_committed(db, vec![held.clone()]).await;

    let bus = Arc::new(RecordingBus::default());
    let failing = Arc::new(EffectRecorder::new("chantier.created", true));
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config())
        .with_durable_subscriber(failing.clone());
    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    assert_eq!(failing.commits(), 0, "nothing of it committed");
    assert!(bus.ids().is_empty(), "a held event must not reach the bus");
    assert_eq!(
        effects(db).await,
        0,
        "the failed subscriber's insert was rolled back"
    );
    let state = dispatch_state(db).await;
    assert_eq!(state.undispatched, 1);
    assert_eq!(state.attempts, 1);
    assert!(
        state.last_error.unwrap().contains("receiver table full"),
        "the reason is recorded"
    );

    // Once the subscriber recovers, the event goes out.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let healed = OutboxRelay::new(db.clone(), bus.clone(), fast_config())
        .with_durable_subscriber(Arc::new(EffectRecorder::new("chantier.created", false)));
    append_committed(db, vec![other.clone()]).await;
    assert_eq!(healed.dispatch_once().await.unwrap(), 2);
    assert_eq!(bus.ids(), vec![held.event_id, other.event_id]);
    assert_eq!(effects(db).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_outage_leaves_the_whole_batch_undispatched_and_unpenalised() {
    let test_db = TestDatabase::new().await;
    durable_setup(&test_db).await;
    let db = test_db.database();
    let batch = vec![event("a"), event("b"), event("c")];
    append_committed(db, batch.clone()).await;

    let bus = Arc::new(RecordingBus::default());
    bus.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let recorder = Arc::new(EffectRecorder::new("chantier.created", false));
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config())
        .with_durable_subscriber(recorder.clone());
    let error = relay.dispatch_once().await.unwrap_err();
    assert!(
        matches!(error, hub_platform_postgres::RelayError::Bus(_)),
        "{error}"
    );
    let state = dispatch_state(db).await;
    assert_eq!(state.undispatched, 3, "nothing marked dispatched");
    assert_eq!(state.attempts, 0, "no event is blamed for the outage");
    assert_eq!(state.last_error, None);
    assert_eq!(
        effects(db).await,
        0,
        "durable work rolled back with the batch"
    );
    assert_eq!(recorder.commits(), 0);

    // The broker is back: the next cycle publishes the batch, in order.
    bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(relay.dispatch_once().await.unwrap(), 3);
    assert_eq!(
        bus.ids(),
        batch.iter().map(|e| e.event_id).collect::<Vec<_>>()
    );
    assert_eq!(dispatch_state(db).await.undispatched, 0);
    assert_eq!(effects(db).await, 3);
}

/// An envelope of any type, at a given time.
fn typed(
    event_type: &'static str,
    aggregate_id: &str,
    occurred_at: OffsetDateTime,
) -> EventEnvelope {
    let mut envelope = event("x");
    envelope.event_type = hub_kernel::EventType::from_static(event_type).unwrap();
    envelope.aggregate_id = aggregate_id.to_owned();
    envelope.occurred_at = hub_kernel::to_storage_precision(occurred_at);
    envelope
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_filters_with_the_topic_pattern_semantics_and_pages_newest_first() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let t0 = OffsetDateTime::now_utc() - time::Duration::hours(10);
    let types = [
        "chantier.created",
        "chantier.statut_changed",
        "user.created",
        "affectation.bulk_created",
        "webhook.test",
        "chantier.created",
    ];
    let events: Vec<EventEnvelope> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            typed(
                t,
                &format!("agg-{}", i % 2),
                t0 + time::Duration::hours(i as i64),
            )
        })
        .collect();
    append_committed(db, events.clone()).await;
    let mut conn = db.connection().await.unwrap();

    for pattern in [
        "*",
        "chantier.*",
        "*.created",
        "user.created",
        "webhook.*",
        "nothing.here",
    ] {
        let parsed = TopicPattern::parse(pattern).unwrap();
        let filter = outbox::HistoryFilter {
            pattern: Some(parsed.clone()),
            ..outbox::HistoryFilter::default()
        };
        let found: Vec<Uuid> = outbox::history(&mut conn, &filter, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        let expected: Vec<Uuid> = events
            .iter()
            .rev()
            .filter(|e| parsed.matches(e.event_type.as_str()))
            .map(|e| e.event_id)
            .collect();
        assert_eq!(found, expected, "pattern {pattern}");
    }

    // Cursor pages, newest first.
    let first = outbox::history(&mut conn, &outbox::HistoryFilter::default(), 4)
        .await
        .unwrap();
    let cursor = first.last().unwrap().seq;
    let rest = outbox::history(
        &mut conn,
        &outbox::HistoryFilter {
            before_seq: Some(cursor),
            ..outbox::HistoryFilter::default()
        },
        4,
    )
    .await
    .unwrap();
    let ids: Vec<Uuid> = first.iter().chain(&rest).map(|e| e.event_id).collect();
    assert_eq!(
        ids,
        events.iter().rev().map(|e| e.event_id).collect::<Vec<_>>()
    );

    // Time window and aggregate.
    let windowed = outbox::history(
        &mut conn,
        &outbox::HistoryFilter {
            since: Some(events[1].occurred_at),
            until: Some(events[3].occurred_at),
            aggregate_id: Some("agg-1".into()),
            ..outbox::HistoryFilter::default()
        },
        100,
    )
    .await
    .unwrap();
    assert_eq!(
        windowed.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [events[1].event_id]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_marks_matching_dispatched_events_for_the_relay_again() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let old = OffsetDateTime::now_utc() - time::Duration::days(3);
    let recent = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let events = vec![
        typed("chantier.created", "a", old),
        typed("chantier.created", "b", recent),
        typed("user.created", "c", recent),
    ];
    append_committed(db, events.clone()).await;
    let bus = Arc::new(RecordingBus::default());
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config());
    relay.dispatch_once().await.unwrap();
    assert_eq!(bus.ids().len(), 3);

    let mut conn = db.connection().await.unwrap();
    let marked = outbox::mark_for_replay(
        &mut conn,
        OffsetDateTime::now_utc() - time::Duration::days(1),
        Some(&TopicPattern::parse("chantier.*").unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(marked, 1);
    relay.dispatch_once().await.unwrap();
    assert_eq!(
        bus.ids()[3..],
        [events[1].event_id],
        "the same event id, published again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_only_dispatched_events_older_than_the_cutoff_in_batches() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let cutoff = OffsetDateTime::now_utc() - time::Duration::days(90);
    let old: Vec<EventEnvelope> = (0..5)
        .map(|i| {
            typed(
                "chantier.created",
                "old",
                cutoff - time::Duration::hours(i + 1),
            )
        })
        .collect();
    let young = typed(
        "chantier.created",
        "young",
        cutoff + time::Duration::hours(1),
    );
    append_committed(db, old.clone()).await;
    append_committed(db, vec![young.clone()]).await;
    OutboxRelay::new(db.clone(), Arc::new(RecordingBus::default()), fast_config())
        .dispatch_once()
        .await
        .unwrap();
    // An old event still waiting for dispatch is kept: it has not been delivered yet.
    let pending_old = typed(
        "chantier.created",
        "pending",
        cutoff - time::Duration::days(1),
    );
    append_committed(db, vec![pending_old.clone()]).await;

    let mut conn = db.connection().await.unwrap();
    assert_eq!(
        outbox::count_dispatched_before(&mut conn, cutoff)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        outbox::delete_dispatched_before(&mut conn, cutoff, 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        outbox::delete_dispatched_before(&mut conn, cutoff, 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        outbox::delete_dispatched_before(&mut conn, cutoff, 2)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        outbox::delete_dispatched_before(&mut conn, cutoff, 2)
            .await
            .unwrap(),
        0
    );
    assert!(
        outbox::find(&mut conn, young.event_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        outbox::find(&mut conn, pending_old.event_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        outbox::find(&mut conn, old[0].event_id)
            .await
            .unwrap()
            .is_none()
    );
}

/// Fails for the events listed in `failing`, until they are removed.
#[derive(Default)]
struct FailsFor {
    failing: parking_lot::Mutex<HashSet<Uuid>>,
}

#[async_trait]
impl DurableSubscriber for FailsFor {
    fn name(&self) -> &str {
        "fails-for"
    }

    fn pattern(&self) -> &TopicPattern {
        static ALL: std::sync::LazyLock<TopicPattern> = std::sync::LazyLock::new(TopicPattern::all);
        &ALL
    }

    async fn handle(
        &self,
        _conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        if self.failing.lock().contains(&event.event_id) {
            return Err(DurableError::new("read model unavailable"));
        }
        Ok(())
    }
}

async fn attempts_of(db: &Database, event_id: Uuid) -> i32 {
    #[derive(QueryableByName)]
    struct Attempts {
        #[diesel(sql_type = Integer)]
        dispatch_attempts: i32,
    }
    let mut conn = db.connection().await.unwrap();
    sql_query("SELECT dispatch_attempts FROM event_logs WHERE event_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(event_id)
        .get_result::<Attempts>(&mut conn)
        .await
        .unwrap()
        .dispatch_attempts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_waits_while_an_earlier_event_of_its_aggregate_is_held_back() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let now = OffsetDateTime::now_utc();
    // A promotion that fails, then a demotion of the same user: applying the
    // demotion first and the retried promotion last would leave the wrong role.
    let promotion = typed("user.updated", "user-1", now);
    let demotion = typed("user.updated", "user-1", now);
    let unrelated = typed("user.updated", "user-2", now);
    append_committed(
        db,
        vec![promotion.clone(), demotion.clone(), unrelated.clone()],
    )
    .await;

    let bus = Arc::new(RecordingBus::default());
    let subscriber = Arc::new(FailsFor::default());
    subscriber.failing.lock().insert(promotion.event_id);
    // A back-off long enough that the promotion is not retried by accident.
    let patient = RelayConfig {
        retry_base: Duration::from_secs(600),
        retry_max: Duration::from_secs(600),
        ..fast_config()
    };
    let relay = OutboxRelay::new(db.clone(), bus.clone(), patient)
        .with_durable_subscriber(subscriber.clone());
    assert_eq!(
        relay.dispatch_once().await.unwrap(),
        2,
        "promotion held, unrelated sent"
    );
    assert_eq!(bus.ids(), vec![unrelated.event_id], "the demotion waits");
    assert_eq!(attempts_of(db, promotion.event_id).await, 1);
    assert_eq!(
        attempts_of(db, demotion.event_id).await,
        0,
        "not a failure of its own"
    );
    // Still held back: nothing of user-1 may go, and the relay says it did nothing.
    assert_eq!(relay.dispatch_once().await.unwrap(), 0);
    assert_eq!(bus.ids(), vec![unrelated.event_id]);

    // The subscriber recovers and the back-off ends.
    subscriber.failing.lock().clear();
    {
        let mut conn = db.connection().await.unwrap();
        sql_query("UPDATE event_logs SET retry_after = now() WHERE retry_after IS NOT NULL")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(relay.dispatch_once().await.unwrap(), 2);
    assert_eq!(
        bus.ids(),
        vec![unrelated.event_id, promotion.event_id, demotion.event_id],
        "the aggregate's events go in the order they were written"
    );
    assert_eq!(dispatch_state(db).await.undispatched, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_waits_while_another_relay_holds_an_earlier_event_of_its_aggregate() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let now = OffsetDateTime::now_utc();
    let first = typed("chantier.created", "chantier-1", now);
    let second = typed("chantier.updated", "chantier-1", now);
    append_committed(db, vec![first.clone(), second.clone()]).await;

    // Another process claims the first event alone and is still publishing it.
    let busy_bus = Arc::new(RecordingBus::hanging());
    let busy_pool = test_db.second_pool();
    let busy = OutboxRelay::new(
        busy_pool.clone(),
        busy_bus.clone(),
        RelayConfig {
            batch_size: 1,
            ..fast_config()
        },
    );
    let busy = tokio::spawn(async move { busy.dispatch_once().await });
    busy_bus.wait_for(1).await;

    let bus = Arc::new(RecordingBus::default());
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config());
    assert_eq!(relay.dispatch_once().await.unwrap(), 0);
    assert!(
        bus.ids().is_empty(),
        "the second event must not overtake the first"
    );

    // That process dies: its claim is released, and both go, in order.
    busy.abort();
    assert!(busy.await.unwrap_err().is_cancelled());
    busy_pool.close();
    drop(busy_pool);
    // The server ends the dead connection's transaction within moments.
    let mut handled = 0;
    for _ in 0..200 {
        handled += relay.dispatch_once().await.unwrap();
        if handled == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(bus.ids(), vec![first.event_id, second.event_id]);
}

/// A read model of the last `nom` seen per chantier, and every application.
struct LastNom {
    name: &'static str,
    table: &'static str,
    pattern: TopicPattern,
}

impl LastNom {
    fn of(pattern: &str) -> Self {
        Self::named("test.last-nom", "last_nom", pattern)
    }

    fn named(name: &'static str, table: &'static str, pattern: &str) -> Self {
        Self {
            name,
            table,
            pattern: TopicPattern::parse(pattern).unwrap(),
        }
    }
}

#[async_trait]
impl Projection for LastNom {
    fn name(&self) -> &'static str {
        self.name
    }

    fn pattern(&self) -> &TopicPattern {
        &self.pattern
    }

    async fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        write_last_nom(conn, self.table, event).await
    }
}

/// `event`'s nom into `table`, counting the events applied: an event
/// applied twice shows.
async fn write_last_nom(
    conn: &mut AsyncPgConnection,
    table: &str,
    event: &RelayedEvent,
) -> Result<(), DurableError> {
    sql_query(format!(
        "INSERT INTO {0} (chantier, nom) VALUES ($1, $2) \
         ON CONFLICT (chantier) DO UPDATE SET nom = EXCLUDED.nom, applied = {0}.applied + 1",
        table
    ))
    .bind::<Text, _>(&event.aggregate_id)
    .bind::<Text, _>(event.data_str("nom").unwrap_or_default())
    .execute(conn)
    .await?;
    Ok(())
}

/// [`LastNom`] of a kind written jointly, counting its joint writes.
struct JointNom {
    inner: LastNom,
    joint_writes: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait]
impl Projection for JointNom {
    fn name(&self) -> &'static str {
        self.inner.name
    }

    fn pattern(&self) -> &TopicPattern {
        &self.inner.pattern
    }

    async fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        self.inner.apply(conn, event).await
    }

    fn joint(&self) -> Option<(&'static str, &'static str)> {
        Some(("test.last-nom", self.inner.table))
    }

    async fn apply_jointly(
        &self,
        conn: &mut AsyncPgConnection,
        tables: &[&'static str],
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        self.joint_writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        for table in tables {
            for event in events {
                write_last_nom(conn, table, event).await?;
            }
        }
        Ok(())
    }
}

#[derive(QueryableByName)]
struct NomRow {
    #[diesel(sql_type = Text)]
    nom: String,
    #[diesel(sql_type = Integer)]
    applied: i32,
}

async fn last_nom(db: &Database, chantier: &str) -> (String, i32) {
    last_nom_in(db, "last_nom", chantier).await
}

async fn last_nom_in(db: &Database, table: &str, chantier: &str) -> (String, i32) {
    let mut conn = db.connection().await.unwrap();
    let row: NomRow = sql_query(format!(
        "SELECT nom, applied FROM {table} WHERE chantier = $1"
    ))
    .bind::<Text, _>(chantier)
    .get_result(&mut conn)
    .await
    .unwrap();
    (row.nom, row.applied)
}

async fn create_last_nom_table(db: &Database, table: &str) {
    let mut conn = db.connection().await.unwrap();
    sql_query(format!("CREATE TABLE {table} (chantier TEXT PRIMARY KEY, nom TEXT NOT NULL, applied INTEGER NOT NULL DEFAULT 1)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// A durable subscriber that reads, for each event, what the `last_nom_a`
/// read model says of its chantier at that moment.
#[derive(Default)]
struct ReadsLastNom {
    seen: parking_lot::Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl DurableSubscriber for ReadsLastNom {
    fn name(&self) -> &str {
        "test.reads-last-nom"
    }

    fn pattern(&self) -> &TopicPattern {
        static ALL: std::sync::OnceLock<TopicPattern> = std::sync::OnceLock::new();
        ALL.get_or_init(TopicPattern::all)
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        let rows: Vec<NomRow> =
            sql_query("SELECT nom, applied FROM last_nom_a WHERE chantier = $1")
                .bind::<Text, _>(&event.aggregate_id)
                .load(conn)
                .await?;
        self.seen
            .lock()
            .push(rows.into_iter().next().map(|row| row.nom));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_run_together_each_from_its_own_position_before_other_subscribers() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    create_last_nom_table(db, "last_nom_a").await;
    create_last_nom_table(db, "last_nom_b").await;
    let now = OffsetDateTime::now_utc();
    let event = |event_type: &'static str, nom: &str, chantier: &str| {
        let mut event = typed(event_type, chantier, now);
        event.data = serde_json::json!({ "nom": nom });
        event
    };
    // Read model A alone sees the first event.
    append_committed(db, vec![event("chantier.updated", "Tour A", "c-1")]).await;
    let alone = OutboxRelay::new(db.clone(), Arc::new(RecordingBus::default()), fast_config())
        .with_projection(LastNom::named("test.a", "last_nom_a", "chantier.*"));
    assert_eq!(alone.dispatch_once().await.unwrap(), 1);
    assert_eq!(
        last_nom_in(db, "last_nom_a", "c-1").await,
        ("Tour A".into(), 1)
    );

    // Then the event is replayed to A and B run together, with new events:
    // A skips what it applied, B starts from nothing; B wants updates only.
    // The subscriber added before them still runs after them.
    undispatch_all(db).await;
    append_committed(
        db,
        vec![
            event("chantier.created", "Pont", "c-2"),
            event("chantier.updated", "Tour B", "c-1"),
        ],
    )
    .await;
    let reader = Arc::new(ReadsLastNom::default());
    let together = OutboxRelay::new(db.clone(), Arc::new(RecordingBus::default()), fast_config())
        .with_durable_subscriber(reader.clone())
        .with_projection(LastNom::named("test.a", "last_nom_a", "chantier.*"))
        .with_projection(LastNom::named("test.b", "last_nom_b", "chantier.updated"));
    assert_eq!(together.dispatch_once().await.unwrap(), 3);
    assert_eq!(
        last_nom_in(db, "last_nom_a", "c-1").await,
        ("Tour B".into(), 2)
    );
    assert_eq!(
        last_nom_in(db, "last_nom_a", "c-2").await,
        ("Pont".into(), 1)
    );
    assert_eq!(
        last_nom_in(db, "last_nom_b", "c-1").await,
        ("Tour B".into(), 2)
    );
    {
        let mut conn = db.connection().await.unwrap();
        let created_in_b: Vec<NomRow> =
            sql_query("SELECT nom, applied FROM last_nom_b WHERE chantier = 'c-2'")
                .load(&mut conn)
                .await
                .unwrap();
        assert!(created_in_b.is_empty(), "B does not want chantier.created");
    }
    assert_eq!(
        *reader.seen.lock(),
        [
            Some("Tour B".to_owned()),
            Some("Pont".to_owned()),
            Some("Tour B".to_owned())
        ],
        "the read models ran first, on the whole batch"
    );

    // One event at a time (the relay's per-event path) keeps the positions.
    append_committed(db, vec![event("chantier.updated", "Tour C", "c-1")]).await;
    assert_eq!(together.dispatch_once().await.unwrap(), 1);
    assert_eq!(
        last_nom_in(db, "last_nom_a", "c-1").await,
        ("Tour C".into(), 3)
    );
    assert_eq!(
        last_nom_in(db, "last_nom_b", "c-1").await,
        ("Tour C".into(), 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_applies_each_event_once_and_never_goes_back() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    {
        let mut conn = db.connection().await.unwrap();
        sql_query("CREATE TABLE last_nom (chantier TEXT PRIMARY KEY, nom TEXT NOT NULL, applied INTEGER NOT NULL DEFAULT 1)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let now = OffsetDateTime::now_utc();
    let named = |nom: &str, chantier: &str| {
        let mut event = typed("chantier.updated", chantier, now);
        event.data = serde_json::json!({ "nom": nom });
        event
    };
    let first = named("Tour A", "c-1");
    append_committed(
        db,
        vec![first, named("Tour B", "c-1"), named("Pont", "c-2")],
    )
    .await;
    let bus = Arc::new(RecordingBus::default());
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config())
        .with_durable_subscriber(Arc::new(Projector::new(LastNom::of("chantier.*"))));
    assert_eq!(relay.dispatch_once().await.unwrap(), 3);
    assert_eq!(last_nom(db, "c-1").await, ("Tour B".into(), 2));
    assert_eq!(last_nom(db, "c-2").await, ("Pont".into(), 1));

    // A replay of the first event alone (as `replay-events` with a type
    // filter could do) is dispatched again but changes nothing.
    {
        let mut conn = db.connection().await.unwrap();
        sql_query("UPDATE event_logs SET dispatched_at = NULL WHERE seq = (SELECT min(seq) FROM event_logs)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    assert_eq!(bus.ids().len(), 4, "the bus sees the replay");
    assert_eq!(last_nom(db, "c-1").await, ("Tour B".into(), 2));
    // A newer event goes through.
    append_committed(db, vec![named("Tour C", "c-1")]).await;
    relay.dispatch_once().await.unwrap();
    assert_eq!(last_nom(db, "c-1").await, ("Tour C".into(), 3));
}

/// A durable subscriber of every event that notes, for each event it sees,
/// the time of the relay's transaction — PostgreSQL's `now()`, which the
/// back-off is computed from — and fails when told to.
struct Noting {
    fail: bool,
    seen: parking_lot::Mutex<Vec<(Uuid, OffsetDateTime)>>,
}

impl Noting {
    fn new(fail: bool) -> Arc<Self> {
        Arc::new(Self {
            fail,
            seen: parking_lot::Mutex::new(Vec::new()),
        })
    }

    /// How many times it was handed an event.
    fn calls(&self) -> usize {
        self.seen.lock().len()
    }

    /// The time of the transaction in which it last saw an event.
    fn last_now(&self) -> OffsetDateTime {
        self.seen.lock().last().unwrap().1
    }
}

#[async_trait]
impl DurableSubscriber for Noting {
    fn name(&self) -> &str {
        "noting"
    }

    fn pattern(&self) -> &TopicPattern {
        static ALL: std::sync::LazyLock<TopicPattern> = std::sync::LazyLock::new(TopicPattern::all);
        &ALL
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        #[derive(QueryableByName)]
        struct Now {
            #[diesel(sql_type = diesel::sql_types::Timestamptz)]
            now: OffsetDateTime,
        }
        let now: Now = sql_query("SELECT now() AS now").get_result(conn).await?;
        self.seen.lock().push((event.event_id, now.now));
        if self.fail {
            return Err(DurableError::new("read model unavailable"));
        }
        Ok(())
    }
}

/// What the relay stored about an event it could not dispatch.
#[derive(QueryableByName, Debug)]
struct HeldBack {
    #[diesel(sql_type = Integer)]
    dispatch_attempts: i32,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    retry_after: Option<OffsetDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    dispatched: bool,
}

async fn held_back(db: &Database, event_id: Uuid) -> HeldBack {
    let mut conn = db.connection().await.unwrap();
    sql_query(
        "SELECT dispatch_attempts, retry_after, last_error, dispatched_at IS NOT NULL AS dispatched \
         FROM event_logs WHERE event_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(event_id)
    .get_result(&mut conn)
    .await
    .unwrap()
}

/// Ends the back-off of every held-back event now, as time passing would.
async fn end_back_off(db: &Database) {
    let mut conn = db.connection().await.unwrap();
    sql_query(
        "UPDATE event_logs SET retry_after = now() - interval '1 millisecond' \
         WHERE retry_after IS NOT NULL AND dispatched_at IS NULL",
    )
    .execute(&mut conn)
    .await
    .unwrap();
}

fn backing_off(base: Duration, max: Duration) -> RelayConfig {
    RelayConfig {
        retry_base: base,
        retry_max: max,
        ..fast_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_durable_subscriber_failed_is_not_claimed_again_before_retry_after() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let failed = event("refused");
    append_committed(db, vec![failed.clone()]).await;
    let bus = Arc::new(RecordingBus::default());
    let subscriber = Noting::new(true);
    let relay = OutboxRelay::new(
        db.clone(),
        bus.clone(),
        backing_off(Duration::from_secs(3600), Duration::from_secs(7200)),
    )
    .with_durable_subscriber(subscriber.clone());

    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    let first = held_back(db, failed.event_id).await;
    assert_eq!(first.dispatch_attempts, 1);
    assert_eq!(
        first.retry_after,
        Some(subscriber.last_now() + time::Duration::hours(1)),
        "held back for retry_base"
    );
    assert_eq!(
        first.last_error.as_deref(),
        Some("durable subscriber `noting`: read model unavailable")
    );

    // Before retry_after: not claimed, not handed to the subscriber, not
    // counted, and the stored back-off is left as it was.
    // Tried with its batch (no savepoint), then alone to be held back.
    assert_eq!(subscriber.calls(), 2);
    for _ in 0..3 {
        assert_eq!(relay.dispatch_once().await.unwrap(), 0);
    }
    assert_eq!(subscriber.calls(), 2);
    let still = held_back(db, failed.event_id).await;
    assert_eq!(still.dispatch_attempts, 1);
    assert_eq!(still.retry_after, first.retry_after);
    assert!(!still.dispatched);
    assert!(bus.ids().is_empty());

    // Once it is due, the relay tries again.
    end_back_off(db).await;
    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    assert_eq!(subscriber.calls(), 4);
    assert_eq!(held_back(db, failed.event_id).await.dispatch_attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_back_off_doubles_per_attempt_from_retry_base_and_is_capped_at_retry_max() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let failed = event("refused");
    append_committed(db, vec![failed.clone()]).await;
    let subscriber = Noting::new(true);
    let relay = OutboxRelay::new(
        db.clone(),
        Arc::new(RecordingBus::default()),
        backing_off(Duration::from_secs(1), Duration::from_secs(10)),
    )
    .with_durable_subscriber(subscriber.clone());

    // Attempt n waits retry_base × 2^(n-1), at most retry_max.
    for (attempt, seconds) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (6, 10)] {
        assert_eq!(relay.dispatch_once().await.unwrap(), 1);
        let state = held_back(db, failed.event_id).await;
        assert_eq!(state.dispatch_attempts, attempt);
        assert_eq!(
            state.retry_after.unwrap() - subscriber.last_now(),
            time::Duration::seconds(seconds),
            "wait after attempt {attempt}"
        );
        end_back_off(db).await;
    }

    // An event failing for a very long time still gets retry_max, not an
    // arithmetic overflow (2^5000 ms does not fit a float8).
    {
        let mut conn = db.connection().await.unwrap();
        sql_query("UPDATE event_logs SET dispatch_attempts = 5000 WHERE event_id = $1")
            .bind::<diesel::sql_types::Uuid, _>(failed.event_id)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    let state = held_back(db, failed.event_id).await;
    assert_eq!(state.dispatch_attempts, 5001);
    assert_eq!(
        state.retry_after.unwrap() - subscriber.last_now(),
        time::Duration::seconds(10)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_row_is_held_back_with_its_reason_and_blocks_only_its_own_aggregate() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let now = OffsetDateTime::now_utc();
    let broken = typed("chantier.updated", "chantier-1", now);
    let after_broken = typed("chantier.updated", "chantier-1", now);
    let elsewhere = typed("chantier.updated", "chantier-2", now);
    append_committed(
        db,
        vec![broken.clone(), after_broken.clone(), elsewhere.clone()],
    )
    .await;
    // Edited by hand into a type name the table's CHECK accepts (it has no
    // length limit) but no envelope can carry (255 characters at most).
    {
        let mut conn = db.connection().await.unwrap();
        let edited = sql_query(
            "UPDATE event_logs SET event_type = 'chantier.' || repeat('x', 300) \
             WHERE event_id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(broken.event_id)
        .execute(&mut conn)
        .await
        .unwrap();
        assert_eq!(edited, 1);
    }
    let bus = Arc::new(RecordingBus::default());
    let subscriber = Noting::new(false);
    let relay = OutboxRelay::new(
        db.clone(),
        bus.clone(),
        backing_off(Duration::from_secs(3600), Duration::from_secs(7200)),
    )
    .with_durable_subscriber(subscriber.clone());

    assert_eq!(
        relay.dispatch_once().await.unwrap(),
        2,
        "the unreadable row held back, the other aggregate's event sent"
    );
    assert_eq!(bus.ids(), vec![elsewhere.event_id]);
    let held = held_back(db, broken.event_id).await;
    assert!(!held.dispatched);
    assert_eq!(held.dispatch_attempts, 1);
    let reason = held.last_error.unwrap();
    assert!(
        reason.contains(&broken.event_id.to_string()) && reason.contains("longer than 255"),
        "{reason}"
    );
    // Same transaction as the event the subscriber saw: same now().
    assert_eq!(
        held.retry_after,
        Some(subscriber.last_now() + time::Duration::hours(1))
    );
    // Its own aggregate waits behind it, without a failure of its own.
    let waiting = held_back(db, after_broken.event_id).await;
    assert!(!waiting.dispatched);
    assert_eq!(waiting.dispatch_attempts, 0);

    // Other aggregates keep flowing while it is held back.
    let later = typed("user.created", "user-1", now);
    append_committed(db, vec![later.clone()]).await;
    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    assert_eq!(bus.ids(), vec![elsewhere.event_id, later.event_id]);
    assert!(!held_back(db, after_broken.event_id).await.dispatched);
}

/// A job that counts its rounds and, on demand, waits inside one.
#[derive(Default)]
struct CountingJob {
    rounds: std::sync::atomic::AtomicUsize,
    entered: Notify,
    release: Notify,
    wait_inside: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl hub_platform_postgres::jobs::ScheduledJob for CountingJob {
    fn name(&self) -> &'static str {
        "test.counting"
    }

    async fn run(
        &self,
        _db: &Database,
        _now: OffsetDateTime,
    ) -> Result<usize, hub_platform_postgres::jobs::JobError> {
        self.rounds
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if std::sync::atomic::AtomicBool::load(
            &self.wait_inside,
            std::sync::atomic::Ordering::SeqCst,
        ) {
            self.entered.notify_one();
            self.release.notified().await;
        }
        Ok(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_job_runs_on_one_instance_at_a_time() {
    use hub_platform_postgres::jobs::run_exclusively;
    let test_db = TestDatabase::new().await;
    let job = Arc::new(CountingJob::default());
    job.wait_inside
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // Two "instances": two pools on one database.
    let (first_pool, second_pool) = (test_db.second_pool(), test_db.second_pool());
    let running = {
        let job = job.clone();
        tokio::spawn(async move {
            run_exclusively(&first_pool, job.as_ref(), OffsetDateTime::now_utc()).await
        })
    };
    job.entered.notified().await;
    let skipped = run_exclusively(&second_pool, job.as_ref(), OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(skipped, None, "the other instance holds the job");
    job.release.notify_one();
    assert_eq!(running.await.unwrap().unwrap(), Some(1));

    // Released: the next round runs wherever it is started.
    job.wait_inside
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let next = run_exclusively(&second_pool, job.as_ref(), OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(next, Some(1));
    assert_eq!(
        std::sync::atomic::AtomicUsize::load(&job.rounds, std::sync::atomic::Ordering::SeqCst),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_is_claimed_by_exactly_one_instance_however_they_are_timed() {
    use hub_platform_postgres::jobs::claim_period;
    let test_db = TestDatabase::new().await;
    let period = time::macros::datetime!(2026-12-05 03:00 UTC);
    // Six "instances" waking up together.
    let claims: Vec<_> = (0..6)
        .map(|_| {
            let pool = test_db.second_pool();
            tokio::spawn(async move { claim_period(&pool, "retention", period).await })
        })
        .collect();
    let mut won = 0;
    for claim in claims {
        if claim.await.unwrap().unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1, "one instance runs the period");
    // One waking up much later does not run it again…
    assert!(
        !claim_period(test_db.database(), "retention", period)
            .await
            .unwrap()
    );
    // …but the next period, and another job's, are claimed anew.
    let tomorrow = period + time::Duration::days(1);
    assert!(
        claim_period(test_db.database(), "retention", tomorrow)
            .await
            .unwrap()
    );
    assert!(
        claim_period(test_db.database(), "escalade", period)
            .await
            .unwrap()
    );
}

/// Counts how it is called: batches, and events one by one.
#[derive(Default)]
struct BatchCounter {
    batches: parking_lot::Mutex<Vec<usize>>,
    singles: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl DurableSubscriber for BatchCounter {
    fn name(&self) -> &str {
        "batch-counter"
    }

    fn pattern(&self) -> &TopicPattern {
        static ALL: std::sync::LazyLock<TopicPattern> = std::sync::LazyLock::new(TopicPattern::all);
        &ALL
    }

    async fn handle(
        &self,
        _conn: &mut AsyncPgConnection,
        _event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        self.singles
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    async fn handle_batch(
        &self,
        _conn: &mut AsyncPgConnection,
        events: &[RelayedEvent],
    ) -> Result<(), DurableError> {
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in log order: {seqs:?}"
        );
        self.batches.lock().push(events.len());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reaches_a_durable_subscriber_at_once() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let events: Vec<EventEnvelope> = (0..5).map(|i| event(&format!("c{i}"))).collect();
    append_committed(db, events.clone()).await;
    let bus = Arc::new(RecordingBus::default());
    let counter = Arc::new(BatchCounter::default());
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config())
        .with_durable_subscriber(counter.clone());
    assert_eq!(relay.dispatch_once().await.unwrap(), 5);
    assert_eq!(*counter.batches.lock(), [5], "one call for the batch");
    assert_eq!(
        std::sync::atomic::AtomicUsize::load(&counter.singles, std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_eq!(
        bus.ids(),
        events.iter().map(|e| e.event_id).collect::<Vec<_>>()
    );
    assert_eq!(dispatch_state(db).await.undispatched, 0);
}

/// A TCP relay to the database server whose connections so far can be
/// frozen: bytes stop flowing both ways and nothing is closed (half-open
/// connections, as a failover or a network cut leaves them), while new
/// connections go through.
struct FreezingProxy {
    addr: std::net::SocketAddr,
    current: Arc<std::sync::Mutex<CancellationToken>>,
}

impl FreezingProxy {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let current = Arc::new(std::sync::Mutex::new(CancellationToken::new()));
        let generation = Arc::clone(&current);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let frozen = generation.lock().unwrap().clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let mut server = tokio::net::TcpStream::connect(target).await.unwrap();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        () = frozen.cancelled() => {
                            // Both sockets stay open, silent.
                            std::future::pending::<()>().await;
                        }
                    }
                });
            }
        });
        Self { addr, current }
    }

    fn freeze(&self) {
        let mut current = self.current.lock().unwrap();
        current.cancel();
        *current = CancellationToken::new();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_gone_silent_while_idle_is_replaced_before_it_is_handed_out() {
    let test_db = TestDatabase::new().await;
    // postgres://user@host:port/name: the proxy stands for host:port.
    let url = test_db.url();
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (server, path) = rest.split_once('/').unwrap();
    let proxy = FreezingProxy::start(server.to_owned()).await;
    let db = Database::connect(
        &format!("{scheme_user}@{}/{path}", proxy.addr),
        &hub_platform_postgres::PoolSettings {
            max_size: 1,
            verify_after_idle: Duration::from_millis(100),
            connect_timeout: Duration::from_millis(500),
            ..hub_platform_postgres::PoolSettings::default()
        },
    )
    .unwrap();
    let mut conn = db.connection().await.unwrap();
    sql_query("SELECT 1").execute(&mut conn).await.unwrap();
    drop(conn);
    proxy.freeze();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The pool's one connection is silent now: it must not be handed out.
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        let mut conn = db.connection().await?;
        sql_query("SELECT 1").execute(&mut conn).await?;
        Ok::<_, DbError>(())
    })
    .await;
    assert!(
        matches!(answered, Ok(Ok(()))),
        "a fresh connection answers: {answered:?}"
    );
}

/// A connection first asked for by a task of another runtime (an HTTP
/// worker's: one thread, which polls its tasks only while it runs its
/// loop) is driven on the runtime that built the pool: its round trips do
/// not wait for that other runtime. Here the other runtime is idle (not
/// polled, not dropped) while the pool's one connection is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_does_not_wait_for_the_runtime_that_asked_for_it() {
    let test_db = TestDatabase::new().await;
    let db = Database::connect(
        test_db.url(),
        &hub_platform_postgres::PoolSettings {
            max_size: 1,
            ..hub_platform_postgres::PoolSettings::default()
        },
    )
    .unwrap();
    let elsewhere = db.clone();
    let (opened, until) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut conn = elsewhere.connection().await.unwrap();
            sql_query("SELECT 1").execute(&mut conn).await.unwrap();
        });
        opened.0.send(()).unwrap();
        // Alive, but nothing polls its tasks until the test is done.
        until.1.recv().ok();
        drop(runtime);
    });
    opened.1.recv().unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        let mut conn = db.connection().await?;
        sql_query("SELECT 1").execute(&mut conn).await?;
        Ok::<_, DbError>(())
    })
    .await;
    until.0.send(()).unwrap();
    worker.join().unwrap();
    assert!(
        matches!(answered, Ok(Ok(()))),
        "the connection answers: {answered:?}"
    );
}

/// Events appended together are logged in the order given (their `seq`
/// orders an aggregate's events) and read back as they were written, the
/// optional fields present or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_events_keep_their_order_and_every_field() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let now = OffsetDateTime::now_utc();
    let events: Vec<EventEnvelope> = (0..40)
        .map(|n| {
            let mut event = typed("chantier.updated", &format!("c-{}", n % 3), now);
            if n % 2 == 0 {
                event.actor_id = None;
                event.correlation_id = None;
            } else {
                event.causation_id = Some(Uuid::now_v7());
            }
            event.schema_version = 1 + n % 2;
            event.data = serde_json::json!({ "n": n, "nom": format!("Tour {n}") });
            event
        })
        .collect();
    append_committed(db, events.clone()).await;

    #[derive(QueryableByName)]
    struct Logged {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        event_id: Uuid,
    }
    let mut conn = db.connection().await.unwrap();
    let logged: Vec<Logged> = sql_query("SELECT event_id FROM event_logs ORDER BY seq")
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        logged.iter().map(|l| l.event_id).collect::<Vec<_>>(),
        events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        "in the order given"
    );
    for event in &events {
        let stored = outbox::find(&mut conn, event.event_id)
            .await
            .unwrap()
            .unwrap()
            .into_envelope()
            .unwrap();
        assert_eq!(&stored, event);
    }
}

/// Read models of one kind are written jointly only when they are due the
/// same events: one that is behind gets its own events, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_are_written_jointly_only_when_due_the_same_events() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    create_last_nom_table(db, "last_nom_a").await;
    create_last_nom_table(db, "last_nom_b").await;
    let now = OffsetDateTime::now_utc();
    let named = |nom: &str| {
        let mut event = typed("chantier.updated", "c-1", now);
        event.data = serde_json::json!({ "nom": nom });
        event
    };
    let joint_writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let joint = |name, table| JointNom {
        inner: LastNom::named(name, table, "chantier.*"),
        joint_writes: joint_writes.clone(),
    };
    // A alone sees the first event.
    append_committed(db, vec![named("Tour A")]).await;
    let alone = OutboxRelay::new(db.clone(), Arc::new(RecordingBus::default()), fast_config())
        .with_projection(joint("test.a", "last_nom_a"));
    assert_eq!(alone.dispatch_once().await.unwrap(), 1);

    // Replayed with a second event to A and B: A is due the second only, B
    // both, so each is written on its own.
    undispatch_all(db).await;
    append_committed(db, vec![named("Tour B")]).await;
    let together = OutboxRelay::new(db.clone(), Arc::new(RecordingBus::default()), fast_config())
        .with_projection(joint("test.a", "last_nom_a"))
        .with_projection(joint("test.b", "last_nom_b"));
    assert_eq!(together.dispatch_once().await.unwrap(), 2);
    assert_eq!(
        std::sync::atomic::AtomicUsize::load(&joint_writes, std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_eq!(
        last_nom_in(db, "last_nom_a", "c-1").await,
        ("Tour B".into(), 2),
        "A applied the first event once"
    );
    assert_eq!(
        last_nom_in(db, "last_nom_b", "c-1").await,
        ("Tour B".into(), 2)
    );

    // Both due the next event: one joint write for the two.
    append_committed(db, vec![named("Tour C")]).await;
    assert_eq!(together.dispatch_once().await.unwrap(), 1);
    assert_eq!(
        std::sync::atomic::AtomicUsize::load(&joint_writes, std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(
        last_nom_in(db, "last_nom_a", "c-1").await,
        ("Tour C".into(), 3)
    );
    assert_eq!(
        last_nom_in(db, "last_nom_b", "c-1").await,
        ("Tour C".into(), 3)
    );
}

#[derive(QueryableByName)]
struct Plans {
    #[diesel(sql_type = BigInt)]
    prepared: i64,
    #[diesel(sql_type = BigInt)]
    generic: i64,
}

/// The statements beginning with `start` that this session keeps prepared,
/// and how many times they ran with their generic plan.
async fn plans(conn: &mut AsyncPgConnection, start: &str) -> Plans {
    sql_query(
        "SELECT count(*) AS prepared, coalesce(sum(generic_plans), 0)::int8 AS generic \
         FROM pg_prepared_statements WHERE starts_with(statement, $1)",
    )
    .bind::<Text, _>(start)
    .get_result(conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_is_appended_by_a_statement_prepared_once_per_connection() {
    let test_db = TestDatabase::new().await;
    let mut conn = test_db.database().connection().await.unwrap();
    let mut bare = event("Tour A");
    bare.actor_id = None;
    bare.correlation_id = None;
    let mut linked = event("Tour B");
    linked.causation_id = Some(Uuid::now_v7());
    for one in [&bare, &linked] {
        outbox::append(&conn, std::slice::from_ref(one))
            .await
            .unwrap();
    }
    // Set and absent optional values alike: one text, kept prepared.
    assert_eq!(
        plans(&mut conn, "INSERT INTO \"event_logs\"")
            .await
            .prepared,
        1
    );
    for original in [bare, linked] {
        let stored = outbox::find(&mut conn, original.event_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.into_envelope().unwrap(), original);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_marks_its_batch_and_keeps_one_plan_whatever_the_batch_size() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let bus = Arc::new(RecordingBus::default());
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config());
    // A log of some size, as in production: on a few rows, a plan for ten
    // ids (what PostgreSQL assumes of an array it cannot see) costs no more
    // than one for one id, and any spelling would keep a single plan.
    let mut conn = db.connection().await.unwrap();
    sql_query(
        "INSERT INTO event_logs (event_id, event_type, aggregate_type, aggregate_id, \
         occurred_at, schema_version, data, dispatched_at) \
         SELECT gen_random_uuid(), 'chantier.created', 'chantier', n::text, now(), 1, '{}', now() \
         FROM generate_series(1, 5000) AS n",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sql_query("ANALYZE event_logs")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let mut sent = 0;
    for cycle in 0..9 {
        let events: Vec<EventEnvelope> = (0..=cycle % 3)
            .map(|n| event(&format!("Tour {cycle}-{n}")))
            .collect();
        sent += events.len();
        append_committed(db, events).await;
        assert_eq!(relay.dispatch_once().await.unwrap(), cycle % 3 + 1);
    }
    assert_eq!(bus.ids().len(), sent);
    assert_eq!(dispatch_state(db).await.undispatched, 0);
    // One connection served the whole test (nothing ran concurrently): the
    // claim, which marks what it claims, is the only statement that wrote
    // the mark, and PostgreSQL kept one plan for it instead of planning
    // each cycle again.
    let mut conn = db.connection().await.unwrap();
    let claim = plans(&mut conn, "WITH claimed AS").await;
    assert_eq!(claim.prepared, 1);
    assert!(claim.generic >= 1, "planned anew at every cycle");
    assert_eq!(
        plans(&mut conn, "UPDATE event_logs SET dispatched_at")
            .await
            .prepared,
        0,
        "no mark after the work when every event went"
    );
}

/// [`LastNom`] that says it keeps its positions in its rows (it does not:
/// it counts every event it is given, which is what the test looks at).
struct RowPositioned(LastNom);

#[async_trait]
impl Projection for RowPositioned {
    fn name(&self) -> &'static str {
        self.0.name
    }

    fn pattern(&self) -> &TopicPattern {
        &self.0.pattern
    }

    async fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        self.0.apply(conn, event).await
    }

    fn positioned_in_rows(&self) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_model_positioned_in_its_rows_is_given_every_event_and_no_position() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    create_last_nom_table(db, "last_nom").await;
    create_last_nom_table(db, "row_nom").await;
    let now = OffsetDateTime::now_utc();
    let mut first = typed("chantier.updated", "c-1", now);
    first.data = serde_json::json!({ "nom": "Tour A" });
    append_committed(db, vec![first]).await;
    let bus = Arc::new(RecordingBus::default());
    let relay = OutboxRelay::new(db.clone(), bus.clone(), fast_config())
        .with_projection(LastNom::of("chantier.*"))
        .with_projection(RowPositioned(LastNom::named(
            "test.row-nom",
            "row_nom",
            "chantier.*",
        )));
    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    // The event again (a replay): the platform's position stops it for the
    // read model it keeps a position for, not for the other, which must
    // judge it by its rows.
    undispatch_all(db).await;
    assert_eq!(relay.dispatch_once().await.unwrap(), 1);
    assert_eq!(last_nom(db, "c-1").await, ("Tour A".into(), 1));
    assert_eq!(
        last_nom_in(db, "row_nom", "c-1").await,
        ("Tour A".into(), 2)
    );
    let mut conn = db.connection().await.unwrap();
    #[derive(QueryableByName)]
    struct Positions {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let positions: Positions = sql_query(
        "SELECT count(*) AS n FROM projection_positions WHERE projection = 'test.row-nom'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(positions.n, 0, "no position kept for it");
}

/// The migration that moved the chantier copies' positions into their
/// rows, replayed on a database of the release before it: each copy's
/// rows get the position the platform kept for them (0 where it kept
/// none), and only those positions leave `projection_positions`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chantier_copies_positions_move_into_their_rows() {
    use diesel_async::AsyncConnection as _;

    const MIGRATION: &str = "20261206000002";
    let test_db = TestDatabase::new().await;
    test_db.revert_through(MIGRATION).await;

    let (known, unknown) = (Uuid::now_v7(), Uuid::now_v7());
    let mut conn = AsyncPgConnection::establish(test_db.url()).await.unwrap();
    for table in ["planning_chantiers", "webhook_scope_chantiers"] {
        sql_query(format!(
            "INSERT INTO {table} (chantier_id, code) VALUES ($1, 'CH-1'), ($2, 'CH-2')"
        ))
        .bind::<diesel::sql_types::Uuid, _>(known)
        .bind::<diesel::sql_types::Uuid, _>(unknown)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sql_query(
        "INSERT INTO projection_positions (projection, aggregate_type, aggregate_id, last_seq) \
         VALUES ('planning.chantiers', 'chantier', $1, 41), \
                ('webhooks.chantier-scope', 'chantier', $1, 42), \
                ('planning.users', 'user', $1, 7)",
    )
    .bind::<Text, _>(known.to_string())
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);

    let applied = migrations::run_pending(test_db.url()).await.unwrap();
    assert!(applied.iter().any(|v| v == MIGRATION), "{applied:?}");
    #[derive(QueryableByName)]
    struct Position {
        #[diesel(sql_type = Text)]
        at: String,
    }
    let mut conn = test_db.database().connection().await.unwrap();
    let positions: Vec<Position> = sql_query(
        "SELECT format('planning %s %s', CASE WHEN p.chantier_id = $1 THEN 'known' ELSE 'unknown' END, \
         p.last_seq) AS at \
         FROM planning_chantiers p \
         UNION ALL SELECT format('scope %s %s', \
         CASE WHEN w.chantier_id = $1 THEN 'known' ELSE 'unknown' END, w.last_seq) \
         FROM webhook_scope_chantiers w \
         UNION ALL SELECT format('kept %s %s', projection, last_seq) FROM projection_positions \
         ORDER BY 1",
    )
    .bind::<diesel::sql_types::Uuid, _>(known)
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        positions.iter().map(|p| p.at.as_str()).collect::<Vec<_>>(),
        [
            "kept planning.users 7",
            "planning known 41",
            "planning unknown 0",
            "scope known 42",
            "scope unknown 0"
        ]
    );
}
