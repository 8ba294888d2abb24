//! The affectation repository against a real PostgreSQL: rows and events
//! in one transaction, the one-per-day rule under concurrency, the
//! database's own checks, lost updates, filters and paging.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_kernel::EventType;
use hub_kernel::{DomainEvent, EventEnvelope, EventMetadata, Page, to_storage_precision};
use hub_planning_application::Directory;
use hub_planning_application::{AffectationRepository, PlanningFilter, RepositoryError};
use hub_planning_domain::{
    Affectation, AffectationBulkCreated, AffectationUpdate, Heure, JoursRecurrence, Modele, Note,
    Plage, Raison, SourceLot, TypeAffectation,
};
use hub_planning_infrastructure::{DieselAffectationRepository, DieselDirectory, chantiers, users};
use hub_platform_postgres::{DurableSubscriber, Projector, RelayedEvent};
use hub_platform_test_db::TestDatabase;
use serde_json::{Value, json};
use time::macros::date;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

fn now() -> OffsetDateTime {
    to_storage_precision(OffsetDateTime::now_utc())
}

fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
    EventEnvelope::wrap(event, &EventMetadata::default(), now()).unwrap()
}

fn modele(user: Uuid, chantier: Uuid) -> Modele {
    Modele {
        utilisateur_id: user,
        chantier_id: chantier,
        plage: Plage::new(Heure::parse("7:30").ok(), Heure::parse("16:00").ok()).unwrap(),
        note: Note::parse(Some("Banches")).unwrap(),
        type_affectation: TypeAffectation::Unique,
        jours_recurrence: None,
    }
}

fn plan(user: Uuid, chantier: Uuid, day: Date) -> Affectation {
    Affectation::plan(&modele(user, chantier), day, Some(Uuid::now_v7()), now())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn count(test_db: &TestDatabase, sql: &str) -> i64 {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .count
}

async fn events(test_db: &TestDatabase) -> i64 {
    count(
        test_db,
        "SELECT count(*) FROM event_logs WHERE event_type LIKE 'affectation.%'",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_reads_back_equal_with_its_event_in_the_outbox() {
    let test_db = TestDatabase::new().await;
    let repo = DieselAffectationRepository::new(test_db.database().clone());
    let (user, chantier) = (Uuid::now_v7(), Uuid::now_v7());
    let recurrent = Modele {
        type_affectation: TypeAffectation::Recurrente,
        jours_recurrence: JoursRecurrence::new(&[0, 2]).ok(),
        ..modele(user, chantier)
    };
    let series: Vec<Affectation> = [date!(2026 - 12 - 07), date!(2026 - 12 - 09)]
        .into_iter()
        .map(|day| Affectation::plan(&recurrent, day, None, now()))
        .collect();
    let events: Vec<EventEnvelope> = AffectationBulkCreated::lots(&series, SourceLot::Recurrence)
        .iter()
        .map(envelope)
        .collect();
    repo.insert(&series, &events).await.unwrap();
    for affectation in &series {
        assert_eq!(
            repo.find(affectation.id()).await.unwrap().as_ref(),
            Some(affectation)
        );
    }
    assert_eq!(
        repo.find_many(&[series[1].id()]).await.unwrap(),
        [series[1].clone()]
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) FROM event_logs WHERE event_type = 'affectation.bulk_created' \
             AND data->>'source' = 'recurrence' AND (data->>'count')::int = 2"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_day_rolls_back_the_whole_batch_and_its_events() {
    let test_db = TestDatabase::new().await;
    let repo = DieselAffectationRepository::new(test_db.database().clone());
    let user = Uuid::now_v7();
    let taken = plan(user, Uuid::now_v7(), date!(2026 - 12 - 08));
    repo.insert(std::slice::from_ref(&taken), &[envelope(&taken.created())])
        .await
        .unwrap();

    let batch: Vec<Affectation> = [
        date!(2026 - 12 - 07),
        date!(2026 - 12 - 08),
        date!(2026 - 12 - 09),
    ]
    .into_iter()
    .map(|day| plan(user, Uuid::now_v7(), day))
    .collect();
    let events: Vec<EventEnvelope> = AffectationBulkCreated::lots(&batch, SourceLot::Bulk)
        .iter()
        .map(envelope)
        .collect();
    let refused = repo.insert(&batch, &events).await;
    assert!(
        matches!(refused, Err(RepositoryError::Conflict { utilisateur_id, date }) if utilisateur_id == user && date == date!(2026 - 12 - 08)),
        "{refused:?}"
    );
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM affectations").await,
        1
    );
    assert_eq!(events_count(&test_db).await, 1);

    // Two rows of one batch on the same day are refused too.
    let twice = [
        plan(user, Uuid::now_v7(), date!(2026 - 12 - 10)),
        plan(user, Uuid::now_v7(), date!(2026 - 12 - 10)),
    ];
    assert!(matches!(
        repo.insert(&twice, &[]).await,
        Err(RepositoryError::Conflict { .. })
    ));
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM affectations").await,
        1
    );
}

async fn events_count(test_db: &TestDatabase) -> i64 {
    events(test_db).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_plans_of_one_user_and_day_leave_exactly_one() {
    let test_db = TestDatabase::new().await;
    let repo = Arc::new(DieselAffectationRepository::new(test_db.database().clone()));
    let user = Uuid::now_v7();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let repo = repo.clone();
        tasks.spawn(async move {
            let affectation = plan(user, Uuid::now_v7(), date!(2026 - 12 - 07));
            repo.insert(
                std::slice::from_ref(&affectation),
                &[envelope(&affectation.created())],
            )
            .await
        });
    }
    let (mut stored, mut conflicts) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(()) => stored += 1,
            Err(RepositoryError::Conflict { .. }) => conflicts += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!((stored, conflicts), (1, 19));
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM affectations").await,
        1
    );
    assert_eq!(events(&test_db).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_affectation_stays_and_frees_the_day() {
    let test_db = TestDatabase::new().await;
    let repo = DieselAffectationRepository::new(test_db.database().clone());
    let user = Uuid::now_v7();
    let mut first = plan(user, Uuid::now_v7(), date!(2026 - 12 - 07));
    repo.insert(std::slice::from_ref(&first), &[])
        .await
        .unwrap();
    let cancelled = first
        .cancel(Raison::parse("Intempéries").unwrap(), Some(user), now())
        .unwrap();
    repo.update(&first, &[envelope(&cancelled)]).await.unwrap();
    assert_eq!(repo.find(first.id()).await.unwrap().as_ref(), Some(&first));

    let again = plan(user, Uuid::now_v7(), date!(2026 - 12 - 07));
    repo.insert(std::slice::from_ref(&again), &[])
        .await
        .unwrap();
    let filter = PlanningFilter {
        utilisateur_ids: vec![user],
        ..PlanningFilter::default()
    };
    let (all, total) = repo.list(&filter, Page::new(None, None)).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(all.len(), 2);
    let planned = PlanningFilter {
        planned_only: true,
        ..filter
    };
    let (only, _) = repo.list(&planned, Page::new(None, None)).await.unwrap();
    assert_eq!(only, [again]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_onto_a_taken_day_and_a_lost_update_are_refused() {
    let test_db = TestDatabase::new().await;
    let repo = DieselAffectationRepository::new(test_db.database().clone());
    let user = Uuid::now_v7();
    let monday = plan(user, Uuid::now_v7(), date!(2026 - 12 - 07));
    let tuesday = plan(user, Uuid::now_v7(), date!(2026 - 12 - 08));
    repo.insert(&[monday.clone(), tuesday], &[]).await.unwrap();

    let mut moved = monday.clone();
    let updated = moved
        .update(
            AffectationUpdate {
                date: Some(date!(2026 - 12 - 08)),
                ..AffectationUpdate::default()
            },
            now(),
        )
        .unwrap()
        .unwrap();
    let refused = repo.update(&moved, &[envelope(&updated)]).await;
    assert!(matches!(
        refused,
        Err(RepositoryError::Conflict { date, .. }) if date == date!(2026 - 12 - 08)
    ));
    assert_eq!(events(&test_db).await, 0);

    // Two edits of the same version: the second is refused.
    let mut first = monday.clone();
    let mut second = monday.clone();
    let note = |text: &str| AffectationUpdate {
        note: Some(Note::parse(Some(text)).unwrap()),
        ..AffectationUpdate::default()
    };
    first.update(note("un"), now()).unwrap();
    second.update(note("deux"), now()).unwrap();
    repo.update(&first, &[]).await.unwrap();
    assert!(matches!(
        repo.update(&second, &[]).await,
        Err(RepositoryError::Changed)
    ));
    assert!(matches!(
        repo.delete(std::slice::from_ref(&monday), &[]).await,
        Err(RepositoryError::Changed)
    ));
    repo.delete(std::slice::from_ref(&first), &[envelope(&first.deleted())])
        .await
        .unwrap();
    assert!(matches!(
        repo.delete(std::slice::from_ref(&first), &[]).await,
        Err(RepositoryError::NotFound)
    ));
    assert_eq!(repo.find(first.id()).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_what_the_domain_refuses() {
    let test_db = TestDatabase::new().await;
    let mut conn = test_db.database().connection().await.unwrap();
    let insert = |fields: &str| {
        format!(
            "INSERT INTO affectations (id, utilisateur_id, chantier_id, date, heure_debut, heure_fin, \
             type_affectation, jours_recurrence, statut, annulation_raison, annulee_le, created_at, updated_at) \
             VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), '2026-12-07', {fields}, now(), now())"
        )
    };
    for bad in [
        "'10:00', '09:00', 'unique', NULL, 'planifiee', NULL, NULL",
        "'10:00', '10:00', 'unique', NULL, 'planifiee', NULL, NULL",
        "'10:00:30', NULL, 'unique', NULL, 'planifiee', NULL, NULL",
        "NULL, NULL, 'souvent', NULL, 'planifiee', NULL, NULL",
        "NULL, NULL, 'recurrente', '{7}', 'planifiee', NULL, NULL",
        "NULL, NULL, 'unique', '{1}', 'planifiee', NULL, NULL",
        "NULL, NULL, 'unique', NULL, 'annulee', NULL, now()",
        "NULL, NULL, 'unique', NULL, 'planifiee', 'pluie', NULL",
    ] {
        assert!(
            sql_query(insert(bad)).execute(&mut conn).await.is_err(),
            "accepted {bad}"
        );
    }
    sql_query(insert(
        "'08:00', NULL, 'recurrente', '{0,4}', 'annulee', 'pluie', now()",
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planning_filters_scopes_and_pages() {
    let test_db = TestDatabase::new().await;
    let repo = DieselAffectationRepository::new(test_db.database().clone());
    let (karim, lea, chef) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (site_a, site_b) = (Uuid::now_v7(), Uuid::now_v7());
    let rows = [
        plan(karim, site_a, date!(2026 - 12 - 07)),
        plan(karim, site_b, date!(2026 - 12 - 08)),
        plan(lea, site_b, date!(2026 - 12 - 07)),
        plan(chef, site_b, date!(2026 - 12 - 09)),
        plan(lea, site_a, date!(2026 - 12 - 20)),
    ];
    repo.insert(&rows, &[]).await.unwrap();
    let week = PlanningFilter {
        date_debut: Some(date!(2026 - 12 - 07)),
        date_fin: Some(date!(2026 - 12 - 13)),
        ..PlanningFilter::default()
    };
    let ids = |found: Vec<Affectation>| found.iter().map(Affectation::id).collect::<Vec<_>>();
    let (all, total) = repo.list(&week, Page::new(None, None)).await.unwrap();
    assert_eq!(total, 4);
    assert_eq!(all[0].date(), date!(2026 - 12 - 07));
    assert_eq!(all[3].id(), rows[3].id());

    let (page, total) = repo.list(&week, Page::new(Some(1), Some(2))).await.unwrap();
    assert_eq!((page.len(), total), (2, 4));

    let on_a = PlanningFilter {
        chantier_ids: vec![site_a],
        ..week.clone()
    };
    assert_eq!(
        ids(repo.list(&on_a, Page::new(None, None)).await.unwrap().0),
        [rows[0].id()]
    );

    // A chef de chantier of site A sees site A's rows and his own.
    let chef_scope = PlanningFilter {
        visible_user: Some(chef),
        visible_chantiers: vec![site_a],
        ..week.clone()
    };
    assert_eq!(
        ids(repo
            .list(&chef_scope, Page::new(None, None))
            .await
            .unwrap()
            .0),
        [rows[0].id(), rows[3].id()]
    );
    // A compagnon sees his own only, even when he asks for others.
    let compagnon = PlanningFilter {
        visible_user: Some(lea),
        utilisateur_ids: vec![karim],
        ..week.clone()
    };
    assert_eq!(
        repo.list(&compagnon, Page::new(None, None))
            .await
            .unwrap()
            .1,
        0
    );

    let mut planned = repo
        .planned_users(date!(2026 - 12 - 07), date!(2026 - 12 - 13))
        .await
        .unwrap();
    planned.sort_unstable();
    let mut expected = vec![karim, lea, chef];
    expected.sort_unstable();
    assert_eq!(planned, expected);
}

/// An event of another context, relayed at log position `seq`.
fn relayed(
    seq: i64,
    event_type: &'static str,
    aggregate: (&str, Uuid),
    data: Value,
) -> RelayedEvent {
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: EventType::from_static(event_type).unwrap(),
        aggregate_type: aggregate.0.into(),
        aggregate_id: aggregate.1.to_string(),
        occurred_at: now(),
        actor_id: None,
        correlation_id: None,
        causation_id: None,
        schema_version: 1,
        data,
    };
    RelayedEvent {
        seq,
        envelope: Arc::new(envelope),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_models_follow_users_and_chantiers_from_their_events() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let directory = DieselDirectory::new(db.clone());
    let (karim, julien, chef, site) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let users = Projector::new(users());
    let chantiers = Projector::new(chantiers());
    let mut conn = db.connection().await.unwrap();
    let user = |seq, event_type, data| relayed(seq, event_type, ("user", karim), data);
    users
        .handle(&mut conn, &user(1, "user.created", json!({"user_id": karim, "email": "k@x.fr",
            "nom": "Benali", "prenom": "Karim", "role": "compagnon", "type_utilisateur": "employe"})))
        .await
        .unwrap();
    assert!(directory.user(karim).await.unwrap().unwrap().is_active);
    assert_eq!(directory.active_users().await.unwrap(), [karim]);
    assert_eq!(directory.user(julien).await.unwrap(), None);

    let snapshot = |statut: &str| {
        json!({"chantier_id": site, "code": "CH-1", "nom": "Tour",
        "adresse": "1 quai", "statut": statut, "conducteur_ids": [julien], "chef_chantier_ids": [chef]})
    };
    chantiers
        .handle(
            &mut conn,
            &relayed(
                2,
                "chantier.created",
                ("chantier", site),
                snapshot("ouvert"),
            ),
        )
        .await
        .unwrap();
    let known = directory.chantier(site).await.unwrap().unwrap();
    assert!(known.plannable);
    assert_eq!(known.conducteur_ids, [julien]);
    assert_eq!(directory.chantiers_run_by(chef).await.unwrap(), [site]);
    assert!(directory.chantiers_run_by(karim).await.unwrap().is_empty());

    // Deactivated and closed: no longer plannable.
    users
        .handle(
            &mut conn,
            &user(
                3,
                "user.deactivated",
                json!({"user_id": karim, "deactivated_by": julien}),
            ),
        )
        .await
        .unwrap();
    assert!(!directory.user(karim).await.unwrap().unwrap().is_active);
    assert!(directory.active_users().await.unwrap().is_empty());
    let mut closed = snapshot("ferme");
    closed["ancien_statut"] = json!("ouvert");
    closed["nouveau_statut"] = json!("ferme");
    chantiers
        .handle(
            &mut conn,
            &relayed(4, "chantier.statut_changed", ("chantier", site), closed),
        )
        .await
        .unwrap();
    assert!(!directory.chantier(site).await.unwrap().unwrap().plannable);
    // An older event seen again changes nothing.
    chantiers
        .handle(
            &mut conn,
            &relayed(
                2,
                "chantier.created",
                ("chantier", site),
                snapshot("ouvert"),
            ),
        )
        .await
        .unwrap();
    assert!(!directory.chantier(site).await.unwrap().unwrap().plannable);
}
