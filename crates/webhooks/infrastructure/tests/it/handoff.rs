//! The hand-off: jobs the fan-out leases at insert to this process's
//! running workers and hands over after the commit, on a real PostgreSQL
//! with a real receiver. How each job was born is recorded by a trigger
//! (`births`), and every later lease by a claim (`claims`), so the tests
//! see which way each job went.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use diesel::QueryableByName;
use diesel::sql_query;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use hub_kernel::{
    BusError, EventBus, EventEnvelope, EventHandler, PublishReport, Role, SubscriptionId,
    TopicPattern,
};
use hub_platform_event_bus::{InProcessBusConfig, InProcessEventBus};
use hub_platform_postgres::{
    Database, DurableError, DurableSubscriber, OutboxRelay, RelayConfig, RelayedEvent,
};
use hub_platform_test_db::TestDatabase;
use hub_webhooks_domain::RetrySchedule;
use hub_webhooks_infrastructure::{
    DeliveryConfig, DeliveryFanOut, DeliveryWaker, OwnerProjector, chantier_scope,
};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::deliveries::{append, envelope, insert_webhook};
use crate::engine::{engine, eventually};
use crate::receiver::Receiver;
use crate::support::{count, vault};

/// Records the state each delivery job is inserted in, and each claim.
const WATCH: &str = "\
    CREATE TABLE births (event_id UUID NOT NULL, status TEXT NOT NULL, leased_by UUID, \
      attempt INT NOT NULL, leased_in_its_transaction BOOL); \
    CREATE TABLE claims (event_id UUID NOT NULL); \
    CREATE FUNCTION record_birth() RETURNS trigger LANGUAGE plpgsql AS $$ \
    BEGIN INSERT INTO births VALUES (NEW.event_id, NEW.status, NEW.leased_by, NEW.attempt, \
      NEW.lease_until - NEW.created_at = interval '60 seconds'); RETURN NEW; END $$; \
    CREATE FUNCTION record_claim() RETURNS trigger LANGUAGE plpgsql AS $$ \
    BEGIN INSERT INTO claims VALUES (NEW.event_id); RETURN NEW; END $$; \
    CREATE TRIGGER record_birth AFTER INSERT ON webhook_deliveries FOR EACH ROW \
      EXECUTE FUNCTION record_birth(); \
    CREATE TRIGGER record_claim AFTER UPDATE ON webhook_deliveries FOR EACH ROW \
      WHEN (NEW.status = 'in_flight' AND OLD.status <> 'in_flight') \
      EXECUTE FUNCTION record_claim();";

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Birth {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    event_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    leased_by: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempt: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    leased_in_its_transaction: Option<bool>,
}

async fn births(db: &Database) -> Vec<Birth> {
    let mut births: Vec<Birth> = sql_query("SELECT * FROM births")
        .load(&mut db.connection().await.unwrap())
        .await
        .unwrap();
    births.sort();
    births
}

/// Born leased to `worker`, first attempt counted, lease drawn in the
/// insert's own transaction.
fn leased_at_insert(event_id: Uuid, worker: Uuid) -> Birth {
    Birth {
        event_id,
        status: "in_flight".into(),
        leased_by: Some(worker),
        attempt: 1,
        leased_in_its_transaction: Some(true),
    }
}

fn queued(event_id: Uuid) -> Birth {
    Birth {
        event_id,
        status: "pending".into(),
        leased_by: None,
        attempt: 0,
        leased_in_its_transaction: None,
    }
}

/// The relay as the app wires it, the fan-out ringing `waker`, then
/// `after`.
fn relay(
    db: &Database,
    bus: Arc<dyn EventBus>,
    waker: &DeliveryWaker,
    after: Option<Arc<dyn DurableSubscriber>>,
) -> OutboxRelay {
    let relay = OutboxRelay::new(db.clone(), bus, RelayConfig::default())
        .with_projection(chantier_scope())
        .with_projection(OwnerProjector::new())
        .with_durable_subscriber(Arc::new(DeliveryFanOut::new(
            RetrySchedule::default(),
            waker.clone(),
        )));
    match after {
        Some(subscriber) => relay.with_durable_subscriber(subscriber),
        None => relay,
    }
}

fn bus() -> Arc<InProcessEventBus> {
    Arc::new(InProcessEventBus::new(InProcessBusConfig {
        handler_timeout: Duration::from_secs(5),
        history_capacity: 0,
    }))
}

fn site_created(code: &str) -> EventEnvelope {
    envelope(
        "chantier.created",
        json!({"chantier_id": Uuid::now_v7(), "code": code, "nom": "A", "adresse": "1",
               "statut": "ouvert", "conducteur_ids": [], "chef_chantier_ids": []}),
    )
}

/// A webhook of an admin on `chantier.created` to `receiver`, its own
/// creation event dispatched, and the watch triggers installed; then lets
/// the engine start and make its first (empty) claim.
async fn setup(test_db: &TestDatabase, relay: &OutboxRelay, receiver: &Receiver) {
    let db = test_db.database();
    let webhook = insert_webhook(db, Uuid::now_v7(), Role::Admin, &["chantier.created"]).await;
    sql_query("UPDATE webhooks SET url = $1 WHERE id = $2")
        .bind::<diesel::sql_types::Text, _>(receiver.url("/hooks"))
        .bind::<diesel::sql_types::Uuid, _>(webhook.id())
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap();
    while relay.dispatch_once().await.unwrap() > 0 {}
    db.connection()
        .await
        .unwrap()
        .batch_execute(WATCH)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// A database, a receiver with a webhook on it, the relay (with `after`
/// behind the fan-out) and the engine, sharing one waker. The engine
/// polls rarely, so that only the fan-out's hand-off or its wake-up can
/// start a send within a test.
struct Scene {
    test_db: TestDatabase,
    receiver: Receiver,
    relay: OutboxRelay,
    worker: Uuid,
    shutdown: CancellationToken,
    running: JoinHandle<()>,
}

impl Scene {
    async fn start(
        bus: Arc<dyn EventBus>,
        after: Option<Arc<dyn DurableSubscriber>>,
        config: DeliveryConfig,
    ) -> Self {
        Self::start_with(bus, after, config, Receiver::start(204).await).await
    }

    /// …with the webhook on `receiver`.
    async fn start_with(
        bus: Arc<dyn EventBus>,
        after: Option<Arc<dyn DurableSubscriber>>,
        config: DeliveryConfig,
        receiver: Receiver,
    ) -> Self {
        let test_db = TestDatabase::new().await;
        let db = test_db.database();
        let waker = DeliveryWaker::new();
        let relay = relay(db, bus, &waker, after);
        let engine = engine(
            db,
            Arc::new(vault()),
            waker,
            DeliveryConfig {
                poll_interval: Duration::from_secs(600),
                shutdown_grace: Duration::from_secs(5),
                ..config
            },
        );
        let worker = engine.worker_id();
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(engine.run(shutdown.clone()));
        setup(&test_db, &relay, &receiver).await;
        Self {
            test_db,
            receiver,
            relay,
            worker,
            shutdown,
            running,
        }
    }

    fn db(&self) -> &Database {
        self.test_db.database()
    }

    /// Commits `events` and runs the relay until it has nothing left.
    async fn publish(&self, events: &[EventEnvelope]) {
        append(self.db(), events.to_vec()).await;
        while self.relay.dispatch_once().await.unwrap() > 0 {}
    }

    /// Every event of `batch` was born leased at insert to the workers,
    /// `claims` of its jobs were claimed later, and each was sent once,
    /// with one attempt counted.
    async fn all_leased_at_insert_and_sent_once(&self, batch: &[EventEnvelope], claims: i64) {
        let mut expected: Vec<Birth> = batch
            .iter()
            .map(|event| leased_at_insert(event.event_id, self.worker))
            .collect();
        expected.sort();
        assert_eq!(births(self.db()).await, expected);
        assert_eq!(
            count(&self.test_db, "SELECT count(*) AS count FROM claims").await,
            claims
        );
        let mut sent: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
        sent.sort();
        assert_eq!(received(&self.receiver), sent, "each event once");
        assert_eq!(
            count(
                &self.test_db,
                "SELECT count(*) AS count FROM webhook_deliveries WHERE attempt = 1"
            )
            .await,
            i64::try_from(batch.len()).unwrap(),
            "one attempt each"
        );
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.running.await.unwrap();
    }
}

/// The event ids the receiver got, sorted.
fn received(receiver: &Receiver) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = receiver
        .requests()
        .iter()
        .map(|request| {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            body["event_id"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_the_workers_have_room_for_are_leased_at_insert_the_rest_wait_for_a_claim() {
    // No room to hold a job: what finds no free slot is queued.
    let scene = Scene::start(
        bus(),
        None,
        DeliveryConfig {
            max_in_flight_per_endpoint: 1,
            max_held_bytes: 0,
            ..DeliveryConfig::default()
        },
    )
    .await;
    let (db, worker) = (scene.db(), scene.worker);

    // One event alone: leased at insert, sent, never claimed.
    let first = site_created("A");
    scene.publish(std::slice::from_ref(&first)).await;
    scene.receiver.wait_for(1).await;
    eventually(
        "the first delivery to be recorded",
        &scene.test_db,
        "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'succeeded'",
        1,
    )
    .await;
    assert_eq!(
        births(db).await,
        vec![leased_at_insert(first.event_id, worker)]
    );
    assert_eq!(
        count(&scene.test_db, "SELECT count(*) AS count FROM claims").await,
        0
    );

    // Three in one batch with one slot per endpoint: the first is leased,
    // the two others queued, then claimed one at a time as the slot frees.
    let batch: Vec<EventEnvelope> = (0..3).map(|i| site_created(&format!("B{i}"))).collect();
    scene.publish(&batch).await;
    eventually(
        "every delivery to be recorded",
        &scene.test_db,
        "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'succeeded'",
        4,
    )
    .await;
    let mut expected = vec![
        leased_at_insert(first.event_id, worker),
        leased_at_insert(batch[0].event_id, worker),
        queued(batch[1].event_id),
        queued(batch[2].event_id),
    ];
    expected.sort();
    assert_eq!(births(db).await, expected);
    assert_eq!(
        count(&scene.test_db, "SELECT count(*) AS count FROM claims").await,
        2
    );
    let mut sent: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
    sent.push(first.event_id);
    sent.sort();
    assert_eq!(received(&scene.receiver), sent, "each event once");
    scene.stop().await;
}

/// Fails the relay's savepoint for events whose chantier code is `FAIL`.
struct FailOn;

#[async_trait]
impl DurableSubscriber for FailOn {
    fn name(&self) -> &str {
        "test.fail-on"
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
        if event.data["code"] == "FAIL" {
            return Err(DurableError::new("refused by the test"));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_leased_in_an_undone_savepoint_are_never_sent_and_give_their_slots_back() {
    // Three slots in all: a leak of the undone batch's would leave none.
    let scene = Scene::start(
        bus(),
        Some(Arc::new(FailOn)),
        DeliveryConfig {
            max_in_flight: 3,
            ..DeliveryConfig::default()
        },
    )
    .await;
    let (db, worker) = (scene.db(), scene.worker);

    // The batch's savepoint fails after the fan-out leased three jobs;
    // event by event, the fan-out leases again for the two that pass.
    let batch = [site_created("A"), site_created("FAIL"), site_created("C")];
    append(db, batch.to_vec()).await;
    scene.relay.dispatch_once().await.unwrap();
    scene.receiver.wait_for(2).await;
    eventually(
        "both deliveries to be recorded",
        &scene.test_db,
        "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'succeeded'",
        2,
    )
    .await;
    let mut passed = vec![batch[0].event_id, batch[2].event_id];
    passed.sort();
    let mut expected: Vec<Birth> = passed
        .iter()
        .map(|id| leased_at_insert(*id, worker))
        .collect();
    expected.sort();
    assert_eq!(
        births(db).await,
        expected,
        "the undone inserts left nothing"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        received(&scene.receiver),
        passed,
        "only what committed was sent"
    );

    // Every slot is free again: three more events are all leased at insert.
    let more = [site_created("D"), site_created("E"), site_created("F")];
    scene.publish(&more).await;
    scene.receiver.wait_for(5).await;
    let births = births(db).await;
    for event in &more {
        assert!(
            births.contains(&leased_at_insert(event.event_id, worker)),
            "{births:?}"
        );
    }
    assert_eq!(
        count(&scene.test_db, "SELECT count(*) AS count FROM claims").await,
        0
    );
    scene.stop().await;
}

/// A bus that refuses to publish `BOOM` events while `down` is set: the
/// relay's whole transaction is then rolled back.
struct FlakyBus {
    inner: Arc<InProcessEventBus>,
    down: AtomicBool,
}

#[async_trait]
impl EventBus for FlakyBus {
    async fn publish(&self, event: Arc<EventEnvelope>) -> Result<PublishReport, BusError> {
        if AtomicBool::load(&self.down, Ordering::SeqCst) && event.data["code"] == "BOOM" {
            return Err(BusError::Unavailable("down for the test".into()));
        }
        self.inner.publish(event).await
    }

    async fn subscribe(
        &self,
        pattern: TopicPattern,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError> {
        self.inner.subscribe(pattern, handler).await
    }

    async fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.unsubscribe(id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_leased_in_a_rolled_back_relay_transaction_are_never_sent() {
    let flaky = Arc::new(FlakyBus {
        inner: bus(),
        down: AtomicBool::new(false),
    });
    let scene = Scene::start(
        flaky.clone(),
        Some(Arc::new(FailOn)),
        DeliveryConfig {
            max_in_flight: 3,
            ..DeliveryConfig::default()
        },
    )
    .await;
    let (db, worker) = (scene.db(), scene.worker);

    // `FAIL` sends the relay event by event: `A`'s savepoint succeeds (its
    // job leased), then the bus fails on `BOOM` and the whole transaction
    // is rolled back, `A`'s job with it.
    let events = [
        site_created("A"),
        site_created("FAIL"),
        site_created("BOOM"),
    ];
    append(db, events.to_vec()).await;
    flaky.down.store(true, Ordering::SeqCst);
    assert!(scene.relay.dispatch_once().await.is_err());
    assert_eq!(
        count(&scene.test_db, "SELECT count(*) AS count FROM births").await,
        0
    );

    // Back up: `A` and `BOOM` go out once each, leased at insert (the
    // rolled-back cycle's slots came back); `FAIL` is held back.
    flaky.down.store(false, Ordering::SeqCst);
    while scene.relay.dispatch_once().await.unwrap() > 0 {}
    scene.receiver.wait_for(2).await;
    let passed = [&events[0], &events[2]];
    let mut expected: Vec<Birth> = passed
        .iter()
        .map(|event| leased_at_insert(event.event_id, worker))
        .collect();
    expected.sort();
    assert_eq!(births(db).await, expected);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut sent: Vec<Uuid> = passed.iter().map(|e| e.event_id).collect();
    sent.sort();
    assert_eq!(
        received(&scene.receiver),
        sent,
        "each committed job once, nothing else"
    );
    scene.stop().await;
}

const SUCCEEDED: &str =
    "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'succeeded'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_beyond_the_free_slots_are_held_and_sent_as_slots_free_without_a_claim() {
    let scene = Scene::start(
        bus(),
        None,
        DeliveryConfig {
            max_in_flight_per_endpoint: 1,
            ..DeliveryConfig::default()
        },
    )
    .await;

    // Three in one batch with one slot per endpoint: the first is leased
    // with its slot, the two others leased to be held; all three sent, one
    // at a time, and not one claim.
    let batch: Vec<EventEnvelope> = (0..3).map(|i| site_created(&format!("H{i}"))).collect();
    scene.publish(&batch).await;
    eventually(
        "every delivery to be recorded",
        &scene.test_db,
        SUCCEEDED,
        3,
    )
    .await;
    scene.all_leased_at_insert_and_sent_once(&batch, 0).await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_jobs_go_back_to_the_queue_while_their_lease_still_covers_a_request() {
    // One slot, a receiver that takes three seconds to answer, and 200 ms
    // of holding: the two jobs held behind the first cannot wait for it.
    let answer_after = Duration::from_secs(3);
    let scene = Scene::start_with(
        bus(),
        None,
        DeliveryConfig {
            max_in_flight_per_endpoint: 1,
            hold_for: Duration::from_millis(200),
            ..DeliveryConfig::default()
        },
        Receiver::start_delayed(204, answer_after).await,
    )
    .await;
    let batch: Vec<EventEnvelope> = (0..3).map(|i| site_created(&format!("G{i}"))).collect();
    let published = std::time::Instant::now();
    scene.publish(&batch).await;
    // Given back (pending, their attempt taken back) while the first
    // request still waits for its answer: the engine polls only every ten
    // minutes and no slot has freed, so nothing but the held jobs' own
    // deadline can have done it.
    eventually(
        "the held jobs to be given back",
        &scene.test_db,
        "SELECT count(*) AS count FROM webhook_deliveries \
         WHERE status = 'pending' AND leased_by IS NULL AND attempt = 0",
        2,
    )
    .await;
    assert!(
        published.elapsed() < answer_after,
        "given back only when the slot freed"
    );
    eventually(
        "every delivery to be recorded",
        &scene.test_db,
        SUCCEEDED,
        3,
    )
    .await;
    // The two given back were claimed; their attempt given back is not
    // counted.
    scene.all_leased_at_insert_and_sent_once(&batch, 2).await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_jobs_judged_by_recipients_that_changed_since_are_not_sent_as_they_were() {
    let scene = Scene::start_with(
        bus(),
        None,
        DeliveryConfig {
            max_in_flight_per_endpoint: 1,
            ..DeliveryConfig::default()
        },
        Receiver::start_delayed(204, Duration::from_secs(1)).await,
    )
    .await;
    let db = scene.db();
    let batch: Vec<EventEnvelope> = (0..3).map(|i| site_created(&format!("U{i}"))).collect();
    scene.publish(&batch).await;
    scene.receiver.wait_for(1).await;
    // While the first is at the old receiver and two are held for it, the
    // owner moves the webhook; the next event tells the fan-out.
    let moved_to = Receiver::start(204).await;
    sql_query("UPDATE webhooks SET url = $1")
        .bind::<diesel::sql_types::Text, _>(moved_to.url("/hooks"))
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap();
    let next = site_created("U3");
    scene.publish(std::slice::from_ref(&next)).await;
    eventually(
        "every delivery to be recorded",
        &scene.test_db,
        SUCCEEDED,
        4,
    )
    .await;
    assert_eq!(
        received(&scene.receiver),
        vec![batch[0].event_id],
        "only the request already in flight reached the old address"
    );
    let mut rest: Vec<Uuid> = batch[1..]
        .iter()
        .map(|e| e.event_id)
        .chain([next.event_id])
        .collect();
    rest.sort();
    assert_eq!(received(&moved_to), rest);
    scene.stop().await;
}
