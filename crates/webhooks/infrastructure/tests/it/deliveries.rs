//! The delivery queue on a real PostgreSQL: fan-out through the relay
//! (idempotent, scoped), claims by concurrent workers, lease expiry, batch
//! outcome recording, release, the owner's repository and retention.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{Integer, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_kernel::{EventEnvelope, EventType, Page, Role, TopicPattern};
use hub_platform_event_bus::{InProcessBusConfig, InProcessEventBus};
use hub_platform_postgres::retention::RetentionTarget;
use hub_platform_postgres::{Database, DbError, OutboxRelay, RelayConfig, outbox};
use hub_platform_test_db::TestDatabase;
use hub_webhooks_application::{
    AttemptFilter, DeliveryRepository, Recovered, Redelivery, WebhookRepository,
};
use hub_webhooks_domain::{
    DeliveryStatus, RetrySchedule, Webhook, WebhookChanges, delivery_payload,
};
use hub_webhooks_infrastructure::delivery::queue::{
    self, AttemptLog, Claim, ClaimedJob, JobUpdate,
};
use hub_webhooks_infrastructure::{
    DeliveryAttemptsRetention, DeliveryFanOut, DeliveryWaker, DieselDeliveryRepository,
    DieselWebhookRepository, FinishedDeliveriesRetention, OwnerProjector, chantier_scope,
};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::{count, new_webhook, now, vault};

pub(crate) fn envelope(event_type: &'static str, data: serde_json::Value) -> EventEnvelope {
    EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: EventType::from_static(event_type).unwrap(),
        aggregate_type: event_type.split('.').next().unwrap().to_owned(),
        aggregate_id: Uuid::now_v7().to_string(),
        occurred_at: now(),
        actor_id: None,
        correlation_id: None,
        causation_id: None,
        schema_version: 1,
        data,
    }
}

pub(crate) fn chantier_created(site: Uuid, conducteurs: &[Uuid]) -> EventEnvelope {
    envelope(
        "chantier.created",
        json!({"chantier_id": site, "code": "A", "nom": "A", "adresse": "1", "statut": "ouvert",
               "conducteur_ids": conducteurs, "chef_chantier_ids": []}),
    )
}

/// A relay with the scoping projectors and the fan-out, as the app wires it.
pub(crate) fn relay(db: &Database) -> OutboxRelay {
    let bus = Arc::new(InProcessEventBus::new(InProcessBusConfig {
        handler_timeout: Duration::from_secs(5),
        history_capacity: 0,
    }));
    OutboxRelay::new(db.clone(), bus, RelayConfig::default())
        .with_projection(chantier_scope())
        .with_projection(OwnerProjector::new())
        .with_durable_subscriber(Arc::new(DeliveryFanOut::new(
            RetrySchedule::default(),
            DeliveryWaker::new(),
        )))
}

pub(crate) async fn publish(db: &Database, relay: &OutboxRelay, events: Vec<EventEnvelope>) {
    append(db, events).await;
    dispatch_all(db, relay).await;
}

/// Commits `events` to the outbox, as a use case would.
pub(crate) async fn append(db: &Database, events: Vec<EventEnvelope>) {
    db.write(|conn| {
        Box::pin(async move {
            outbox::append(conn, &events).await?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .unwrap();
}

/// Runs the relay until it has nothing left, then checks that every event
/// went out. `dispatch_once` also counts the events it holds back (a durable
/// subscriber failed: the fan-out's insert, say), and a held-back event is
/// not claimed again before its back-off ends, so an empty cycle alone
/// proves nothing: the outbox itself must be drained.
pub(crate) async fn dispatch_all(db: &Database, relay: &OutboxRelay) {
    while relay.dispatch_once().await.unwrap() > 0 {}
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        undispatched: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        last_error: Option<String>,
    }
    let held: Held = sql_query(
        "SELECT count(*) AS undispatched, max(last_error) AS last_error \
         FROM event_logs WHERE dispatched_at IS NULL",
    )
    .get_result(&mut db.connection().await.unwrap())
    .await
    .unwrap();
    assert_eq!(
        held.undispatched, 0,
        "events held back by the relay: {:?}",
        held.last_error
    );
}

pub(crate) async fn insert_webhook(
    db: &Database,
    owner: Uuid,
    role: Role,
    patterns: &[&str],
) -> Webhook {
    let (webhook, event, _) = new_webhook(&vault(), owner, patterns);
    DieselWebhookRepository::new(db.clone())
        .insert(&webhook, role, &[event], 20)
        .await
        .unwrap();
    webhook
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct JobRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub webhook_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
}

/// Which webhook got a job for which event.
async fn fanned(db: &Database) -> BTreeSet<(Uuid, Uuid)> {
    jobs(db)
        .await
        .into_iter()
        .map(|job| (job.webhook_id, job.event_id))
        .collect()
}

pub(crate) async fn jobs(db: &Database) -> Vec<JobRow> {
    let mut conn = db.connection().await.unwrap();
    let mut rows: Vec<JobRow> = sql_query(
        "SELECT webhook_id, event_id, payload, status, max_attempts FROM webhook_deliveries",
    )
    .load(&mut conn)
    .await
    .unwrap();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_fans_out_once_per_recipient_with_its_exact_body() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = relay(db);
    let admin = Uuid::now_v7();
    let all = insert_webhook(db, admin, Role::Admin, &["*"]).await;
    let sites = insert_webhook(db, admin, Role::Admin, &["chantier.*"]).await;
    let users = insert_webhook(db, admin, Role::Admin, &["user.*"]).await;
    // A webhook without retries gets one attempt.
    let repository = DieselWebhookRepository::new(db.clone());
    let mut no_retry = repository.find(sites.id()).await.unwrap().unwrap();
    no_retry.update(
        WebhookChanges {
            retry_enabled: Some(false),
            ..WebhookChanges::default()
        },
        now(),
    );
    repository.update(&no_retry, &[]).await.unwrap();
    // Deliveries of the webhooks' own creation events are not the subject.
    publish(db, &relay, Vec::new()).await;
    sql_query("DELETE FROM webhook_deliveries")
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap();

    let event = chantier_created(Uuid::now_v7(), &[]);
    publish(db, &relay, vec![event.clone()]).await;
    let body = delivery_payload(&event).unwrap();
    let fanned = jobs(db).await;
    let mut expected = vec![(all.id(), 4), (sites.id(), 1)];
    expected.sort();
    assert_eq!(
        fanned
            .iter()
            .map(|j| (j.webhook_id, j.max_attempts))
            .collect::<Vec<_>>(),
        expected
    );
    assert!(!fanned.iter().any(|j| j.webhook_id == users.id()));
    for job in &fanned {
        assert_eq!(job.event_id, event.event_id);
        assert_eq!(job.payload, body, "the exact bytes, computed once");
        assert_eq!(job.status, "pending");
    }

    // Published again (a replay, or a relay that died before its commit):
    // no second job.
    let mut conn = db.connection().await.unwrap();
    let chantiers = TopicPattern::parse("chantier.*").unwrap();
    let marked = outbox::mark_for_replay(&mut conn, OffsetDateTime::UNIX_EPOCH, Some(&chantiers))
        .await
        .unwrap();
    assert_eq!(marked, 1);
    drop(conn);
    // Dispatched again, not held back on the unique (webhook_id, event_id)…
    dispatch_all(db, &relay).await;
    // …and without a second job.
    assert_eq!(jobs(db).await, fanned);

    // webhook.test is never fanned out, even to `*`.
    let test = envelope(
        "webhook.test",
        json!({"webhook_id": all.id(), "message": "hi"}),
    );
    publish(db, &relay, vec![test]).await;
    assert_eq!(jobs(db).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fan_out_follows_access_scoping() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = relay(db);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let a_hook = insert_webhook(db, a, Role::Conducteur, &["chantier.*"]).await;
    let b_hook = insert_webhook(db, b, Role::Conducteur, &["chantier.*"]).await;
    publish(db, &relay, Vec::new()).await;
    sql_query("DELETE FROM webhook_deliveries")
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap();
    // The chantier names `a`: the projector runs before the fan-out, so the
    // creation itself already reaches a's webhook, never b's.
    publish(db, &relay, vec![chantier_created(Uuid::now_v7(), &[a])]).await;
    let fanned = jobs(db).await;
    assert_eq!(fanned.len(), 1);
    assert_eq!(fanned[0].webhook_id, a_hook.id());
    assert_ne!(fanned[0].webhook_id, b_hook.id());
}

/// Each event of one relay batch goes to the recipients of its own moment,
/// even when a later event of the batch changes them (the batched fan-out
/// must not judge an early event by the batch's final read models).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_of_a_batch_goes_to_the_recipients_of_its_moment() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = relay(db);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let a_hook = insert_webhook(db, a, Role::Conducteur, &["*"]).await;
    let b_hook = insert_webhook(db, b, Role::Conducteur, &["*"]).await;
    publish(db, &relay, Vec::new()).await;
    let (site, other) = (Uuid::now_v7(), Uuid::now_v7());
    let about = |chantier: Uuid| envelope("affectation.created", json!({"chantier_id": chantier}));
    let mut handed_over = chantier_created(site, &[b]);
    handed_over.event_type = EventType::from_static("chantier.responsable_assigned").unwrap();
    let batch = vec![
        chantier_created(site, &[a]),
        about(site),
        chantier_created(other, &[b]),
        handed_over,
        about(site),
        about(other),
    ];
    let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
    publish(db, &relay, batch).await;
    let fanned = jobs(db).await;
    let of = |hook: &Webhook| -> BTreeSet<Uuid> {
        fanned
            .iter()
            .filter(|job| job.webhook_id == hook.id())
            .map(|job| job.event_id)
            .collect()
    };
    assert_eq!(of(&a_hook), BTreeSet::from([ids[0], ids[1]]));
    assert_eq!(
        of(&b_hook),
        BTreeSet::from([ids[2], ids[3], ids[4], ids[5]])
    );
}

/// `n` due jobs per webhook, inserted directly.
async fn queue_jobs(db: &Database, webhooks: &[Uuid], n: usize) {
    let mut conn = db.connection().await.unwrap();
    for webhook in webhooks {
        for _ in 0..n {
            sql_query(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, \
                 max_attempts, next_attempt_at) VALUES ($1, $2, $3, 'chantier.created', '{}', 4, \
                 now() - interval '1 second')",
            )
            .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
            .bind::<diesel::sql_types::Uuid, _>(*webhook)
            .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

pub(crate) fn claim_of(worker: Uuid, limit: usize) -> Claim {
    Claim {
        limit,
        saturated: Vec::new(),
        busy: Vec::new(),
        per_endpoint: 1000,
        saturated_owners: Vec::new(),
        busy_owners: Vec::new(),
        per_owner: 1000,
        saturated_hosts: Vec::new(),
        busy_hosts: Vec::new(),
        per_host: 1000,
        lease: Duration::from_secs(60),
        worker,
    }
}

pub(crate) async fn claim(db: &Database, claim: &Claim) -> Vec<ClaimedJob> {
    let mut conn = db.connection().await.unwrap();
    queue::claim(&mut conn, claim).await.unwrap()
}

async fn three_webhooks(db: &Database) -> Vec<Uuid> {
    let admin = Uuid::now_v7();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            insert_webhook(db, admin, Role::Admin, &["chantier.*"])
                .await
                .id(),
        );
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_never_claim_the_same_job() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks, 100).await;

    let worker = |db: Database| async move {
        let me = Uuid::now_v7();
        let mut mine = Vec::new();
        loop {
            let got = claim(&db, &claim_of(me, 7)).await;
            if got.is_empty() {
                return mine;
            }
            assert!(got.len() <= 7);
            mine.extend(got.into_iter().map(|j| j.id));
        }
    };
    let (a, b, c) = tokio::join!(
        tokio::spawn(worker(db.clone())),
        tokio::spawn(worker(db.clone())),
        tokio::spawn(worker(db.clone()))
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let total = a.len() + b.len() + c.len();
    let distinct: BTreeSet<Uuid> = a.iter().chain(&b).chain(&c).copied().collect();
    assert_eq!(total, 300, "every job claimed");
    assert_eq!(distinct.len(), 300, "none twice");
    assert!(
        [a.len(), b.len(), c.len()]
            .iter()
            .filter(|n| **n > 0)
            .count()
            >= 2,
        "the workers shared the work: {} / {} / {}",
        a.len(),
        b.len(),
        c.len()
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'in_flight' \
             AND lease_until > now() AND leased_by IS NOT NULL"
        )
        .await,
        300
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_respect_the_per_webhook_cap_and_skip_saturated_webhooks() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    let (w1, w2, w3) = (webhooks[0], webhooks[1], webhooks[2]);
    queue_jobs(db, &[w1], 20).await;
    queue_jobs(db, &[w2, w3], 5).await;
    let worker = Uuid::now_v7();

    let per_webhook =
        |jobs: &[ClaimedJob], id: Uuid| jobs.iter().filter(|j| j.webhook_id == id).count();
    let first = claim(
        db,
        &Claim {
            per_endpoint: 3,
            ..claim_of(worker, 50)
        },
    )
    .await;
    assert_eq!(
        (
            per_webhook(&first, w1),
            per_webhook(&first, w2),
            per_webhook(&first, w3)
        ),
        (3, 3, 3),
        "w1's backlog hides nobody"
    );
    // w1 at its cap, w2 with 2 of 3 in flight: only 1 more for w2, w3 free.
    let second = claim(
        db,
        &Claim {
            per_endpoint: 3,
            saturated: vec![w1],
            busy: vec![(w2, 2)],
            ..claim_of(worker, 50)
        },
    )
    .await;
    assert_eq!(
        (
            per_webhook(&second, w1),
            per_webhook(&second, w2),
            per_webhook(&second, w3)
        ),
        (0, 1, 2)
    );
    // The claimed job carries what sending it needs.
    let job = &first[0];
    assert!(job.url.starts_with("https://"));
    assert!(job.is_active);
    assert_eq!(job.secret_nonce.len(), 12);
    assert_eq!(job.attempt, 1, "the attempt is counted when claimed");
    assert_eq!(job.max_attempts, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_reclaimed_and_the_old_worker_can_no_longer_record() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks[..1], 1).await;
    let (dead, alive) = (Uuid::now_v7(), Uuid::now_v7());
    let taken = claim(db, &claim_of(dead, 10)).await;
    assert_eq!(taken.len(), 1);
    assert!(claim(db, &claim_of(alive, 10)).await.is_empty(), "leased");
    // The worker dies and its lease runs out: moved into the past here
    // rather than waited for, so that a slow machine cannot decide.
    let expired = sql_query(
        "UPDATE webhook_deliveries SET lease_until = now() - interval '1 second' \
         WHERE id = $1 AND leased_by = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(taken[0].id)
    .bind::<diesel::sql_types::Uuid, _>(dead)
    .execute(&mut db.connection().await.unwrap())
    .await
    .unwrap();
    assert_eq!(expired, 1);
    let reclaimed = claim(db, &claim_of(alive, 10)).await;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].id, taken[0].id);
    assert_eq!(
        reclaimed[0].attempt, 2,
        "the lost attempt counts: a job that kills its worker cannot be retried forever"
    );
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) AS count FROM webhook_deliveries WHERE id = '{}' \
                 AND leased_by = '{alive}' AND lease_until > now()",
                taken[0].id
            )
        )
        .await,
        1,
        "a fresh lease, to the live worker"
    );

    let mut conn = db.connection().await.unwrap();
    let late = queue::record(&mut conn, &[done(&taken[0])], &[], &[])
        .await
        .unwrap();
    assert!(late.is_empty(), "the dead worker's outcome is ignored");
    let applied = queue::record(&mut conn, &[done(&reclaimed[0])], &[], &[])
        .await
        .unwrap();
    assert_eq!(applied, [taken[0].id]);
}

/// A success outcome of `job`'s claim.
pub(crate) fn done(job: &ClaimedJob) -> JobUpdate {
    JobUpdate {
        id: job.id,
        lease_token: job.lease_token,
        status: DeliveryStatus::Succeeded,
        attempt: 1,
        next_attempt_at: None,
        last_error: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_outcome_of_the_same_process_never_overwrites_a_newer_claim() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks[..1], 1).await;
    // One process: its first attempt outlives the lease (a very slow
    // receiver), and the same process claims the job again.
    let worker = Uuid::now_v7();
    let first = claim(db, &claim_of(worker, 10)).await;
    assert_eq!(first.len(), 1);
    sql_query("UPDATE webhook_deliveries SET lease_until = now() - interval '1 second'")
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap();
    let second = claim(db, &claim_of(worker, 10)).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, first[0].id);
    assert_ne!(
        second[0].lease_token, first[0].lease_token,
        "a token per claim"
    );

    // The first attempt's outcome (a failure, say) arrives late: refused,
    // although the process id is the same.
    let mut conn = db.connection().await.unwrap();
    let stale = JobUpdate {
        status: DeliveryStatus::Failed,
        last_error: Some("the receiver answered HTTP 500".into()),
        ..done(&first[0])
    };
    assert!(
        queue::record(&mut conn, &[stale], &[], &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'in_flight'"
        )
        .await,
        1,
        "the newer claim still holds the job"
    );
    // The newer claim's outcome is recorded, once.
    let applied = queue::record(&mut conn, &[done(&second[0])], &[], &[])
        .await
        .unwrap();
    assert_eq!(applied, [first[0].id]);
    assert!(
        queue::record(&mut conn, &[done(&second[0])], &[], &[])
            .await
            .unwrap()
            .is_empty(),
        "an outcome is recorded once"
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'succeeded' \
             AND lease_token IS NULL AND leased_by IS NULL"
        )
        .await,
        1
    );
}

/// `job`'s first attempt, succeeded.
fn succeeded(job: &ClaimedJob) -> JobUpdate {
    JobUpdate {
        id: job.id,
        lease_token: job.lease_token,
        status: DeliveryStatus::Succeeded,
        attempt: 1,
        next_attempt_at: None,
        last_error: None,
    }
}

fn attempt_log(job: &ClaimedJob, success: bool, status: i16) -> AttemptLog {
    AttemptLog {
        id: Uuid::now_v7(),
        delivery_id: job.id,
        webhook_id: job.webhook_id,
        event_id: job.event_id,
        event_type: job.event_type.clone(),
        attempt: 1,
        success,
        status_code: Some(status),
        response_body: Some("réponse".into()),
        error_kind: (!success).then_some("http_status"),
        error_message: (!success).then(|| format!("the receiver answered HTTP {status}")),
        duration_ms: 12,
        attempted_at: now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_outcomes_are_recorded_in_one_statement() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks, 1).await;
    let worker = Uuid::now_v7();
    let claimed = claim(db, &claim_of(worker, 10)).await;
    assert_eq!(claimed.len(), 3);
    let retry_at = now() + time::Duration::minutes(5);
    let updates = vec![
        JobUpdate {
            id: claimed[0].id,
            lease_token: claimed[0].lease_token,
            status: DeliveryStatus::Succeeded,
            attempt: 1,
            next_attempt_at: None,
            last_error: None,
        },
        JobUpdate {
            id: claimed[1].id,
            lease_token: claimed[1].lease_token,
            status: DeliveryStatus::Pending,
            attempt: 1,
            next_attempt_at: Some(retry_at),
            last_error: Some("the receiver answered HTTP 500".into()),
        },
        JobUpdate {
            id: claimed[2].id,
            lease_token: claimed[2].lease_token,
            status: DeliveryStatus::Failed,
            attempt: 1,
            next_attempt_at: None,
            last_error: Some("the receiver answered HTTP 503".into()),
        },
    ];
    let attempts = vec![
        attempt_log(&claimed[0], true, 200),
        attempt_log(&claimed[1], false, 500),
        attempt_log(&claimed[2], false, 503),
    ];
    let mut conn = db.connection().await.unwrap();
    let applied = queue::record(&mut conn, &updates, &attempts, &[claimed[0].webhook_id])
        .await
        .unwrap();
    assert_eq!(applied.len(), 3);
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) AS count FROM webhooks WHERE id = '{}' \
                 AND last_triggered_at IS NOT NULL AND consecutive_failures = 0",
                claimed[0].webhook_id
            )
        )
        .await,
        1,
        "the success bookkeeping rode along"
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_delivery_attempts"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE lease_until IS NULL \
             AND leased_by IS NULL AND attempt = 1"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE finished_at IS NOT NULL \
             AND status IN ('succeeded', 'failed')"
        )
        .await,
        2
    );
    // The retry is not due before its time.
    assert!(claim(db, &claim_of(worker, 10)).await.is_empty());

    // The owner's view of it.
    let repository = DieselDeliveryRepository::new(db.clone(), DeliveryWaker::new());
    let (log, total) = repository
        .list_attempts(
            claimed[1].webhook_id,
            &AttemptFilter::default(),
            Page::new(None, None),
        )
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(log[0].delivery_status, DeliveryStatus::Pending);
    assert_eq!(log[0].status_code, Some(500));
    assert_eq!(log[0].response_body.as_deref(), Some("réponse"));
    assert_eq!(log[0].error_kind.map(|k| k.as_str()), Some("http_status"));

    // An attempt of a job deleted meanwhile (its webhook was) is dropped,
    // without failing the others.
    queue_jobs(db, &webhooks[..2], 1).await;
    let more = claim(db, &claim_of(worker, 10)).await;
    assert_eq!(more.len(), 2);
    DieselWebhookRepository::new(db.clone())
        .delete(
            &DieselWebhookRepository::new(db.clone())
                .find(more[0].webhook_id)
                .await
                .unwrap()
                .unwrap(),
            &[],
        )
        .await
        .unwrap();
    let updates: Vec<JobUpdate> = more.iter().map(succeeded).collect();
    let attempts: Vec<AttemptLog> = more.iter().map(|j| attempt_log(j, true, 204)).collect();
    let applied = queue::record(&mut conn, &updates, &attempts, &[])
        .await
        .unwrap();
    assert_eq!(applied, [more[1].id]);
}

#[derive(QueryableByName)]
struct Plans {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    prepared: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    generic: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_are_recorded_with_one_plan_whatever_the_batch_size() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks, 6).await;
    let claimed = claim(db, &claim_of(Uuid::now_v7(), 18)).await;
    assert_eq!(claimed.len(), 18);
    let mut conn = db.connection().await.unwrap();
    // A history of some size, as in production: on a few rows, a plan for
    // a hundred outcomes (what PostgreSQL assumes of arrays it cannot see)
    // costs no more than one for a few, and any spelling would keep one plan.
    sql_query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, status, \
         attempt, max_attempts, next_attempt_at, finished_at) \
         SELECT gen_random_uuid(), $1, gen_random_uuid(), 'chantier.created', '{}', 'succeeded', \
         1, 4, now(), now() FROM generate_series(1, 5000)",
    )
    .bind::<diesel::sql_types::Uuid, _>(webhooks[0])
    .execute(&mut conn)
    .await
    .unwrap();
    sql_query("ANALYZE webhook_deliveries")
        .execute(&mut conn)
        .await
        .unwrap();
    // Batches of 1, 2, 3, 1, 2, 3, … as the recorder gathers them.
    let mut recorded = 0;
    for batch in [1, 2, 3, 1, 2, 3, 1, 2, 3].iter().scan(0, |start, size| {
        let batch = &claimed[*start..*start + size];
        *start += size;
        Some(batch)
    }) {
        let updates: Vec<JobUpdate> = batch.iter().map(succeeded).collect();
        let attempts: Vec<AttemptLog> = batch.iter().map(|j| attempt_log(j, true, 200)).collect();
        let applied = queue::record(&mut conn, &updates, &attempts, &[])
            .await
            .unwrap();
        assert_eq!(applied.len(), batch.len());
        recorded += applied.len();
    }
    assert_eq!(recorded, 18);
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'in_flight'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_delivery_attempts"
        )
        .await,
        18
    );
    // PostgreSQL planned the first calls for their parameters, then kept
    // one plan for any batch instead of planning each call again.
    let plans: Plans = sql_query(
        "SELECT count(*) AS prepared, coalesce(sum(generic_plans), 0)::int8 AS generic \
         FROM pg_prepared_statements WHERE starts_with(statement, 'WITH outcome AS')",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(plans.prepared, 1);
    assert!(plans.generic >= 1, "planned anew at every call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_gives_back_only_this_workers_leases() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks, 2).await;
    let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
    assert_eq!(claim(db, &claim_of(me, 4)).await.len(), 4);
    assert_eq!(claim(db, &claim_of(other, 4)).await.len(), 2);
    let mut conn = db.connection().await.unwrap();
    assert_eq!(queue::release(&mut conn, me).await.unwrap(), 4);
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'in_flight'"
        )
        .await,
        2
    );
    // Released jobs are due at once, for anyone.
    assert_eq!(claim(db, &claim_of(other, 10)).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_brings_a_delivery_forward_or_starts_it_again() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks[..1], 3).await;
    let worker = Uuid::now_v7();
    let claimed = claim(db, &claim_of(worker, 2)).await;
    let failed = &claimed[0];
    let in_flight = &claimed[1];
    let mut conn = db.connection().await.unwrap();
    queue::record(
        &mut conn,
        &[JobUpdate {
            id: failed.id,
            lease_token: failed.lease_token,
            status: DeliveryStatus::Failed,
            attempt: 4,
            next_attempt_at: None,
            last_error: Some("HTTP 500".into()),
        }],
        &[attempt_log(failed, false, 500)],
        &[],
    )
    .await
    .unwrap();
    let attempt_id: Uuid = {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
        }
        sql_query("SELECT id FROM webhook_delivery_attempts")
            .get_result::<Id>(&mut conn)
            .await
            .unwrap()
            .id
    };
    let webhook = webhooks[0];
    let repository = DieselDeliveryRepository::new(db.clone(), DeliveryWaker::new());
    // By the id of one of its attempts: 4 + 2 more attempts.
    assert_eq!(
        repository.redeliver(webhook, attempt_id, 2).await.unwrap(),
        Redelivery::Queued {
            delivery_id: failed.id
        }
    );
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) AS count FROM webhook_deliveries WHERE id = '{}' \
                 AND status = 'pending' AND max_attempts = 6 AND finished_at IS NULL \
                 AND next_attempt_at <= now()",
                failed.id
            )
        )
        .await,
        1
    );
    assert_eq!(
        repository
            .redeliver(webhook, in_flight.id, 2)
            .await
            .unwrap(),
        Redelivery::InFlight
    );
    assert_eq!(
        repository
            .redeliver(webhooks[1], failed.id, 2)
            .await
            .unwrap(),
        Redelivery::NotFound,
        "another webhook's delivery"
    );
    assert_eq!(
        repository
            .redeliver(webhook, Uuid::now_v7(), 2)
            .await
            .unwrap(),
        Redelivery::NotFound
    );
    // Recover takes failed and cancelled deliveries of the window only.
    sql_query(
        "UPDATE webhook_deliveries SET status = 'cancelled', finished_at = now(), \
         lease_until = NULL, leased_by = NULL, lease_token = NULL WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(in_flight.id)
    .execute(&mut conn)
    .await
    .unwrap();
    let later = now() + time::Duration::hours(1);
    assert_eq!(
        repository
            .redeliver_unsent(webhook, later, None, 4)
            .await
            .unwrap(),
        Recovered::default()
    );
    assert_eq!(
        repository
            .redeliver_unsent(webhook, OffsetDateTime::UNIX_EPOCH, Some(later), 4)
            .await
            .unwrap(),
        Recovered {
            requeued: 1,
            skipped: 0
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_attempts_and_finished_deliveries_only() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks, 1).await;
    let worker = Uuid::now_v7();
    let claimed = claim(db, &claim_of(worker, 3)).await;
    let mut conn = db.connection().await.unwrap();
    let finish = |job: &ClaimedJob| JobUpdate {
        id: job.id,
        lease_token: job.lease_token,
        status: DeliveryStatus::Succeeded,
        attempt: 1,
        next_attempt_at: None,
        last_error: None,
    };
    queue::record(
        &mut conn,
        &[finish(&claimed[0]), finish(&claimed[1])],
        &[
            attempt_log(&claimed[0], true, 200),
            attempt_log(&claimed[1], true, 200),
        ],
        &[],
    )
    .await
    .unwrap();
    // The first delivery is 100 days old; the third is still in flight.
    sql_query(
        "UPDATE webhook_deliveries SET finished_at = now() - interval '100 days', \
         created_at = now() - interval '100 days' WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(claimed[0].id)
    .execute(&mut conn)
    .await
    .unwrap();
    sql_query(
        "UPDATE webhook_delivery_attempts SET attempted_at = now() - interval '100 days' \
         WHERE delivery_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(claimed[0].id)
    .execute(&mut conn)
    .await
    .unwrap();
    // Unfinished deliveries as old: the third, still in flight, and one
    // that never got its first attempt. Still queued, they stay whatever
    // their age.
    queue_jobs(db, &webhooks[..1], 1).await;
    let aged = sql_query(
        "UPDATE webhook_deliveries SET created_at = now() - interval '100 days', \
         updated_at = now() - interval '100 days', \
         next_attempt_at = now() - interval '100 days' WHERE finished_at IS NULL",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(aged, 2);
    let cutoff = now() - time::Duration::days(90);
    assert_eq!(
        DeliveryAttemptsRetention
            .count(&mut conn, cutoff)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        FinishedDeliveriesRetention
            .count(&mut conn, cutoff)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        DeliveryAttemptsRetention
            .purge_batch(&mut conn, cutoff, 1000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        FinishedDeliveriesRetention
            .purge_batch(&mut conn, cutoff, 1000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        count(&test_db, "SELECT count(*) AS count FROM webhook_deliveries").await,
        3,
        "the recent and the queued deliveries stay"
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE finished_at IS NULL \
             AND created_at < now() - interval '90 days'"
        )
        .await,
        2,
        "the old unfinished deliveries stay"
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_delivery_attempts"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_dies_at_every_attempt_ends_failed_after_its_max_attempts() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks[..1], 1).await;
    sql_query("UPDATE webhook_deliveries SET max_attempts = 2")
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap();
    let expire = || async {
        sql_query(
            "UPDATE webhook_deliveries SET lease_until = now() - interval '1 second' \
             WHERE status = 'in_flight'",
        )
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap()
    };
    // Two workers take it in turn, and each dies sending it (the job
    // crashes them): no outcome is ever recorded.
    for attempt in 1..=2 {
        let taken = claim(db, &claim_of(Uuid::now_v7(), 10)).await;
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].attempt, attempt);
        assert_eq!(expire().await, 1);
    }
    // Its last allowed attempt was made: the next claim ends it instead of
    // sending it a third time.
    assert!(claim(db, &claim_of(Uuid::now_v7(), 10)).await.is_empty());
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'failed' \
             AND attempt = 2 AND finished_at IS NOT NULL AND lease_token IS NULL \
             AND last_error LIKE 'no outcome was recorded for its last attempt%'"
        )
        .await,
        1
    );
    assert!(
        claim(db, &claim_of(Uuid::now_v7(), 10)).await.is_empty(),
        "finished for good"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_attempt_is_not_counted() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks[..1], 1).await;
    let worker = Uuid::now_v7();
    assert_eq!(claim(db, &claim_of(worker, 10)).await[0].attempt, 1);
    let mut conn = db.connection().await.unwrap();
    assert_eq!(queue::release(&mut conn, worker).await.unwrap(), 1);
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'pending' AND attempt = 0"
        )
        .await,
        1,
        "a clean shutdown is not the job's fault"
    );
    assert_eq!(claim(db, &claim_of(worker, 10)).await[0].attempt, 1);
}

/// A claim locks only what it takes, in the order it picks: a job another
/// transaction holds is passed over for the next due one, not lost from
/// the claim (locking after the cut would have left it empty-handed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_passes_over_a_job_another_transaction_holds() {
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhooks = three_webhooks(db).await;
    queue_jobs(db, &webhooks[..1], 3).await;
    let mut holder = db.connection().await.unwrap();
    sql_query("BEGIN").execute(&mut holder).await.unwrap();
    let held: Held = sql_query(
        "SELECT id FROM webhook_deliveries ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE",
    )
    .get_result(&mut holder)
    .await
    .unwrap();

    let worker = Uuid::now_v7();
    let taken = claim(db, &claim_of(worker, 1)).await;
    assert_eq!(taken.len(), 1, "the next due job instead");
    assert_ne!(taken[0].id, held.id);

    sql_query("ROLLBACK").execute(&mut holder).await.unwrap();
    let next = claim(db, &claim_of(worker, 1)).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].id, held.id, "released, it is the oldest due again");
}

/// What the per-host cap counts, as the database stores it: the same text
/// as the fan-out's `destination()` (its unit test takes the same URLs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_host_is_the_lower_case_authority_without_userinfo() {
    #[derive(QueryableByName)]
    struct Host {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        host: Option<String>,
    }
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let webhook = three_webhooks(db).await[0];
    let mut conn = db.connection().await.unwrap();
    for (url, expected) in [
        ("https://ERP.example.com/hooks?a=b", "erp.example.com"),
        (
            "http://user:pw@Erp.example.com:8443/x",
            "erp.example.com:8443",
        ),
        ("https://[::1]:9000#frag", "[::1]:9000"),
        ("http://127.0.0.1:18099", "127.0.0.1:18099"),
    ] {
        let stored: Host = sql_query("UPDATE webhooks SET url = $1 WHERE id = $2 RETURNING host")
            .bind::<Text, _>(url)
            .bind::<diesel::sql_types::Uuid, _>(webhook)
            .get_result(&mut conn)
            .await
            .unwrap();
        assert_eq!(stored.host.as_deref(), Some(expected), "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_share_slots_round_robin_and_respect_owner_and_host_caps() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    // Three webhooks, made one owner's, with a backlog each.
    let webhooks = three_webhooks(db).await;
    sql_query("UPDATE webhooks SET owner_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap();
    queue_jobs(db, &webhooks, 5).await;
    // Round-robin: each webhook's first job before anyone's second.
    let worker = Uuid::now_v7();
    let first = claim(db, &claim_of(worker, 3)).await;
    let mut ids: Vec<Uuid> = first.iter().map(|j| j.webhook_id).collect();
    ids.sort_unstable();
    let mut expected = webhooks.clone();
    expected.sort_unstable();
    assert_eq!(ids, expected, "one job of each webhook");
    assert_eq!(first[0].host, "erp.example.com");
    // The owner has 3 in flight; its cap is 4: one more, whatever is free.
    let owner = first[0].owner_id;
    let more = claim(
        db,
        &Claim {
            busy_owners: vec![(owner, 3)],
            per_owner: 4,
            ..claim_of(worker, 10)
        },
    )
    .await;
    assert_eq!(more.len(), 1);
    // At its cap, the owner is skipped entirely.
    assert!(
        claim(
            db,
            &Claim {
                saturated_owners: vec![owner],
                per_owner: 4,
                ..claim_of(worker, 10)
            },
        )
        .await
        .is_empty()
    );
    // The same for a destination host.
    let by_host = claim(
        db,
        &Claim {
            busy_hosts: vec![("erp.example.com".into(), 18)],
            per_host: 20,
            ..claim_of(worker, 10)
        },
    )
    .await;
    assert_eq!(by_host.len(), 2);
    assert!(
        claim(
            db,
            &Claim {
                saturated_hosts: vec!["erp.example.com".into()],
                ..claim_of(worker, 10)
            },
        )
        .await
        .is_empty()
    );
}

/// The recipients' version as `conn` sees it (inside its transaction, if
/// one is open).
async fn version_on(conn: &mut diesel_async::AsyncPgConnection) -> Uuid {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        version: Uuid,
    }
    let row: Version = sql_query("SELECT version FROM webhook_recipients_version")
        .get_result(conn)
        .await
        .unwrap();
    row.version
}

async fn recipients_version(db: &Database) -> Uuid {
    version_on(&mut db.connection().await.unwrap()).await
}

/// The fan-out remembers the recipients between batches: every change of
/// who receives what since its last batch must still reach the next one
/// (a new webhook, one deactivated, an owner deactivated), and the jobs it
/// inserted on the strength of its out-of-date memory must be gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fan_out_sees_every_change_of_recipients_since_its_last_batch() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = relay(db);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let repository = DieselWebhookRepository::new(db.clone());
    let a_hook = insert_webhook(db, a, Role::Admin, &["chantier.*"]).await;
    let first = chantier_created(Uuid::now_v7(), &[]);
    publish(db, &relay, vec![first.clone()]).await;

    let b_hook = insert_webhook(db, b, Role::Admin, &["chantier.*"]).await;
    let second = chantier_created(Uuid::now_v7(), &[]);
    publish(db, &relay, vec![second.clone()]).await;

    let mut a_stored = repository.find(a_hook.id()).await.unwrap().unwrap();
    let deactivated = crate::support::deactivate(&mut a_stored);
    repository.update(&a_stored, &[deactivated]).await.unwrap();
    let third = chantier_created(Uuid::now_v7(), &[]);
    publish(db, &relay, vec![third.clone()]).await;

    // b's owner is deactivated by an event of the batch before the
    // creation: judged in the same transaction, after the projector.
    let fourth = chantier_created(Uuid::now_v7(), &[]);
    publish(
        db,
        &relay,
        vec![
            envelope("user.deactivated", json!({"user_id": b})),
            fourth.clone(),
        ],
    )
    .await;

    let fanned = fanned(db).await;
    assert_eq!(
        fanned,
        BTreeSet::from([
            (a_hook.id(), first.event_id),
            (a_hook.id(), second.event_id),
            (b_hook.id(), second.event_id),
            (b_hook.id(), third.event_id),
        ])
    );
    assert!(!fanned.iter().any(|(_, event)| *event == fourth.event_id));
}

/// The same when a conducteur owns a webhook, where the version is checked
/// with the read of the chantiers' responsables rather than with the
/// insert: a conducteur's webhook created since the last batch receives
/// the creation of a chantier naming him.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conducteurs_new_webhook_is_seen_by_the_next_batch() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = relay(db);
    let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
    let x_hook = insert_webhook(db, x, Role::Conducteur, &["chantier.*"]).await;
    let first = chantier_created(Uuid::now_v7(), &[x]);
    publish(db, &relay, vec![first.clone()]).await;

    let y_hook = insert_webhook(db, y, Role::Conducteur, &["chantier.*"]).await;
    let second = chantier_created(Uuid::now_v7(), &[y]);
    publish(db, &relay, vec![second.clone()]).await;

    let fanned = fanned(db).await;
    assert_eq!(
        fanned,
        BTreeSet::from([
            (x_hook.id(), first.event_id),
            (y_hook.id(), second.event_id),
        ])
    );
}

/// What the fan-out remembers is trusted while the version holds: a change
/// made behind the version's back (its trigger disabled) goes unseen,
/// which shows the fan-out does not read the webhooks at each batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fan_out_judges_by_its_memory_while_the_version_holds() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = relay(db);
    let hook = insert_webhook(db, Uuid::now_v7(), Role::Admin, &["chantier.*"]).await;
    publish(db, &relay, vec![chantier_created(Uuid::now_v7(), &[])]).await;
    let mut conn = db.connection().await.unwrap();
    sql_query("ALTER TABLE webhooks DISABLE TRIGGER webhooks_recipients_changed")
        .execute(&mut conn)
        .await
        .unwrap();
    sql_query("UPDATE webhooks SET events = ARRAY['user.*']")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let unseen = chantier_created(Uuid::now_v7(), &[]);
    publish(db, &relay, vec![unseen.clone()]).await;
    assert!(
        jobs(db)
            .await
            .iter()
            .any(|job| job.webhook_id == hook.id() && job.event_id == unseen.event_id)
    );
}

/// The version moves with every write that can change who receives what,
/// not with the delivery bookkeeping; a version written by a transaction
/// that is rolled back never becomes the version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recipients_version_moves_with_what_decides_recipients_only() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let hook = insert_webhook(db, Uuid::now_v7(), Role::Admin, &["chantier.*"]).await;
    let start = recipients_version(db).await;
    let mut conn = db.connection().await.unwrap();
    sql_query(
        "UPDATE webhooks SET consecutive_failures = 3, last_triggered_at = now(), \
         last_error = 'x', last_error_at = now()",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(recipients_version(db).await, start, "bookkeeping");

    sql_query("BEGIN").execute(&mut conn).await.unwrap();
    sql_query("UPDATE webhooks SET is_active = false")
        .execute(&mut conn)
        .await
        .unwrap();
    let uncommitted = version_on(&mut conn).await;
    sql_query("ROLLBACK").execute(&mut conn).await.unwrap();
    drop(conn);
    assert_ne!(uncommitted, start);
    assert_eq!(recipients_version(db).await, start, "rolled back");

    let repository = DieselWebhookRepository::new(db.clone());
    let mut stored = repository.find(hook.id()).await.unwrap().unwrap();
    let deactivated = crate::support::deactivate(&mut stored);
    repository.update(&stored, &[deactivated]).await.unwrap();
    let after_update = recipients_version(db).await;
    assert_ne!(after_update, start, "a user's change");
    assert_ne!(after_update, uncommitted);

    let relay = relay(db);
    let owner = Uuid::now_v7();
    publish(
        db,
        &relay,
        vec![envelope(
            "user.created",
            json!({"user_id": owner, "role": "admin"}),
        )],
    )
    .await;
    assert_ne!(
        recipients_version(db).await,
        after_update,
        "an owner's change"
    );
}
