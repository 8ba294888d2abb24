//! What a webhook receives beyond its patterns and in which order, on a
//! real PostgreSQL: the fan-out's filters (`chantier_ids`, `filters`: a
//! filtered-out event writes no row), the claim's per-aggregate order, and
//! redelivery refused or skipped for events the owner may no longer see.

use diesel::sql_query;
use diesel_async::RunQueryDsl;
use hub_kernel::{EventType, Role};
use hub_platform_postgres::Database;
use hub_platform_test_db::TestDatabase;
use hub_webhooks_application::{DeliveryRepository, Recovered, Redelivery, WebhookRepository};
use hub_webhooks_domain::{
    ChantierIds, DataFilters, DeliveryOrdering, DeliveryStatus, Webhook, WebhookChanges,
};
use hub_webhooks_infrastructure::delivery::queue::{self, JobUpdate};
use hub_webhooks_infrastructure::{
    DeliveryWaker, DieselDeliveryRepository, DieselWebhookRepository,
};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::deliveries::{
    chantier_created, claim, claim_of, done, envelope, insert_webhook, jobs, publish, relay,
};
use crate::support::{count, now};

/// Applies `changes` to the stored `webhook`.
async fn change(db: &Database, webhook: &Webhook, changes: WebhookChanges) -> Webhook {
    let repository = DieselWebhookRepository::new(db.clone());
    let mut stored = repository.find(webhook.id()).await.unwrap().unwrap();
    stored.update(changes, now()).unwrap();
    repository.update(&stored, &[]).await.unwrap();
    repository.find(webhook.id()).await.unwrap().unwrap()
}

fn statut_filter(statut: &str) -> DataFilters {
    let schema = json!({"properties": {"statut": {"type": "string"}}});
    let raw = json!({ "statut": statut });
    DataFilters::parse(raw.as_object().unwrap(), &[("chantier.created", &schema)]).unwrap()
}

/// Clears the deliveries of the webhooks' own creation events.
async fn settle(db: &Database, relay: &hub_platform_postgres::OutboxRelay) {
    publish(db, relay, Vec::new()).await;
    sql_query("DELETE FROM webhook_deliveries")
        .execute(&mut db.connection().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_out_event_writes_no_delivery_row() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = relay(db);
    let admin = Uuid::now_v7();
    let (mine, other) = (Uuid::now_v7(), Uuid::now_v7());
    let site = insert_webhook(db, admin, Role::Admin, &["*"]).await;
    let site = change(
        db,
        &site,
        WebhookChanges {
            chantier_ids: Some(Some(ChantierIds::parse(&[mine]).unwrap())),
            ..WebhookChanges::default()
        },
    )
    .await;
    let started = insert_webhook(db, admin, Role::Admin, &["chantier.*"]).await;
    let started = change(
        db,
        &started,
        WebhookChanges {
            filters: Some(statut_filter("en_cours")),
            ..WebhookChanges::default()
        },
    )
    .await;
    let everything = insert_webhook(db, admin, Role::Admin, &["*"]).await;
    assert_eq!(site.chantier_ids().unwrap().ids(), [mine], "stored");
    assert_eq!(started.filters(), &statut_filter("en_cours"), "stored");
    settle(db, &relay).await;

    let opened_mine = chantier_created(mine, &[]);
    let opened_other = chantier_created(other, &[]);
    let mut started_other = chantier_created(other, &[]);
    started_other.data["statut"] = json!("en_cours");
    // No chantier at all: not for a webhook limited to some chantiers.
    let user = envelope("user.created", json!({"user_id": admin, "role": "admin"}));
    publish(
        db,
        &relay,
        vec![
            opened_mine.clone(),
            opened_other.clone(),
            started_other.clone(),
            user.clone(),
        ],
    )
    .await;
    let of = |hook: Uuid, rows: &[crate::deliveries::JobRow]| -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = rows
            .iter()
            .filter(|j| j.webhook_id == hook)
            .map(|j| j.event_id)
            .collect();
        ids.sort();
        ids
    };
    let rows = jobs(db).await;
    assert_eq!(of(site.id(), &rows), [opened_mine.event_id]);
    assert_eq!(of(started.id(), &rows), [started_other.event_id]);
    let mut all = vec![
        opened_mine.event_id,
        opened_other.event_id,
        started_other.event_id,
        user.event_id,
    ];
    all.sort();
    assert_eq!(
        of(everything.id(), &rows),
        all,
        "an unfiltered webhook gets all"
    );
    assert_eq!(rows.len(), 6, "no row for a filtered-out event");

    // Lifting the limits lets the next events through.
    change(
        db,
        &site,
        WebhookChanges {
            chantier_ids: Some(None),
            ..WebhookChanges::default()
        },
    )
    .await;
    let again = chantier_created(other, &[]);
    publish(db, &relay, vec![again.clone()]).await;
    assert!(of(site.id(), &jobs(db).await).contains(&again.event_id));
}

/// Inserts one due job of `webhook` for the event at outbox position `seq`
/// of aggregate `aggregate`; its id.
async fn queue_of(db: &Database, webhook: Uuid, aggregate: &str, seq: i64) -> Uuid {
    let id = Uuid::now_v7();
    sql_query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, \
         max_attempts, next_attempt_at, aggregate_type, aggregate_id, event_seq) \
         VALUES ($1, $2, $3, 'chantier.updated', '{}', 4, now() - interval '1 second', \
         'chantier', $4, $5)",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Uuid, _>(webhook)
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .bind::<diesel::sql_types::Text, _>(aggregate)
    .bind::<diesel::sql_types::BigInt, _>(seq)
    .execute(&mut db.connection().await.unwrap())
    .await
    .unwrap();
    id
}

fn ids(jobs: &[queue::ClaimedJob]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_webhook_gets_one_event_of_an_aggregate_at_a_time_in_outbox_order() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let admin = Uuid::now_v7();
    let ordered = insert_webhook(db, admin, Role::Admin, &["chantier.*"]).await;
    change(
        db,
        &ordered,
        WebhookChanges {
            ordering: Some(DeliveryOrdering::Aggregate),
            ..WebhookChanges::default()
        },
    )
    .await;
    let free = insert_webhook(db, admin, Role::Admin, &["chantier.*"]).await;
    // Inserted out of order: the outbox position decides, not the row.
    let a2 = queue_of(db, ordered.id(), "a", 20).await;
    let a1 = queue_of(db, ordered.id(), "a", 10).await;
    let a3 = queue_of(db, ordered.id(), "a", 30).await;
    let b1 = queue_of(db, ordered.id(), "b", 15).await;
    let f1 = queue_of(db, free.id(), "a", 10).await;
    let f2 = queue_of(db, free.id(), "a", 20).await;
    let worker = Uuid::now_v7();

    // The first of each aggregate; the unordered webhook gets everything.
    let first = claim(db, &claim_of(worker, 10)).await;
    let mut expected = vec![a1, b1, f1, f2];
    expected.sort();
    assert_eq!(ids(&first), expected);
    for job in &first {
        assert_eq!(
            job.ordered,
            job.webhook_id == ordered.id(),
            "its end releases the next"
        );
    }
    assert!(
        claim(db, &claim_of(worker, 10)).await.is_empty(),
        "a1 in flight holds a2"
    );

    // a1 fails and waits for its retry: still queued, still holding a2.
    let taken_a1 = first.iter().find(|j| j.id == a1).unwrap();
    let mut conn = db.connection().await.unwrap();
    let retry = JobUpdate {
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
        last_error: Some("the receiver answered HTTP 503".into()),
        ..done(taken_a1)
    };
    queue::record(&mut conn, &[retry], &[], &[]).await.unwrap();
    assert!(
        claim(db, &claim_of(worker, 10)).await.is_empty(),
        "a pending a1 holds a2"
    );

    // Retry due: a1 again, a2 still not.
    sql_query("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(a1)
        .execute(&mut conn)
        .await
        .unwrap();
    let again = claim(db, &claim_of(worker, 10)).await;
    assert_eq!(ids(&again), [a1]);

    // a1 fails for good: final, the order is released — a2, then a3.
    let failed = JobUpdate {
        status: DeliveryStatus::Failed,
        attempt: 2,
        last_error: Some("the receiver answered HTTP 503".into()),
        ..done(&again[0])
    };
    queue::record(&mut conn, &[failed], &[], &[]).await.unwrap();
    let next = claim(db, &claim_of(worker, 10)).await;
    assert_eq!(ids(&next), [a2]);
    queue::record(&mut conn, &[done(&next[0])], &[], &[])
        .await
        .unwrap();
    assert_eq!(ids(&claim(db, &claim_of(worker, 10)).await), [a3]);
}

/// Marks every delivery failed, for good.
async fn fail_all(db: &Database) {
    sql_query(
        "UPDATE webhook_deliveries SET status = 'failed', finished_at = now(), attempt = 4, \
         lease_until = NULL, leased_by = NULL, lease_token = NULL",
    )
    .execute(&mut db.connection().await.unwrap())
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_is_refused_or_skipped_for_events_the_owner_may_no_longer_see() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = relay(db);
    let conducteur = Uuid::now_v7();
    let hook = insert_webhook(db, conducteur, Role::Conducteur, &["chantier.*"]).await;
    settle(db, &relay).await;
    let (kept, lost) = (Uuid::now_v7(), Uuid::now_v7());
    publish(
        db,
        &relay,
        vec![
            chantier_created(kept, &[conducteur]),
            chantier_created(lost, &[conducteur]),
        ],
    )
    .await;
    assert_eq!(jobs(db).await.len(), 2);
    fail_all(db).await;
    // The conducteur is taken off one chantier.
    let mut handed_over = chantier_created(lost, &[]);
    handed_over.event_type = EventType::from_static("chantier.responsable_assigned").unwrap();
    publish(db, &relay, vec![handed_over]).await;

    let delivery_of = |site: Uuid| {
        format!(
            "SELECT id::text AS text FROM webhook_deliveries \
             WHERE payload::jsonb #>> '{{data,chantier_id}}' = '{site}'"
        )
    };
    let id_of = |sql: String| async move {
        #[derive(diesel::QueryableByName)]
        struct Text {
            #[diesel(sql_type = diesel::sql_types::Text)]
            text: String,
        }
        let row: Text = sql_query(sql)
            .get_result(&mut db.connection().await.unwrap())
            .await
            .unwrap();
        Uuid::parse_str(&row.text).unwrap()
    };
    let lost_delivery = id_of(delivery_of(lost)).await;
    let kept_delivery = id_of(delivery_of(kept)).await;
    let repository = DieselDeliveryRepository::new(db.clone(), DeliveryWaker::new());
    assert_eq!(
        repository
            .redeliver(hook.id(), lost_delivery, 3)
            .await
            .unwrap(),
        Redelivery::NotAllowed
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) AS count FROM webhook_deliveries WHERE status = 'failed'"
        )
        .await,
        2,
        "nothing queued"
    );

    // Recover: the chantier still theirs is queued, the other skipped.
    assert_eq!(
        repository
            .redeliver_unsent(hook.id(), OffsetDateTime::UNIX_EPOCH, None, 3)
            .await
            .unwrap(),
        Recovered {
            requeued: 1,
            skipped: 1
        }
    );
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) AS count FROM webhook_deliveries \
                 WHERE id = '{kept_delivery}' AND status = 'pending'"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) AS count FROM webhook_deliveries \
                 WHERE id = '{lost_delivery}' AND status = 'failed'"
            )
        )
        .await,
        1
    );

    // Given the chantier back, they may have it again.
    publish(db, &relay, vec![chantier_created(lost, &[conducteur])]).await;
    assert_eq!(
        repository
            .redeliver(hook.id(), lost_delivery, 3)
            .await
            .unwrap(),
        Redelivery::Queued {
            delivery_id: lost_delivery
        }
    );
}
