//! The signalements repository and escalation job against a real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use diesel::sql_types::{BigInt, Jsonb};
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_kernel::{
    DomainEvent, EventEnvelope, EventMetadata, Page, StorageError, to_storage_precision,
};
use hub_platform_postgres::jobs::{ScheduledJob, run_exclusively};
use hub_platform_test_db::TestDatabase;
use hub_signalements_application::{
    Ordre, RepositoryError, SignalementFilter, SignalementRepository,
};
use hub_signalements_domain::{
    Commentaire, Contenu, Description, Motif, NouveauSignalement, Priorite, Reponse, Signalement,
    Statut, Titre,
};
use hub_signalements_infrastructure::{DieselSignalementRepository, EscaladeJob};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn now() -> OffsetDateTime {
    to_storage_precision(OffsetDateTime::now_utc())
}

fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
    EventEnvelope::wrap(event, &EventMetadata::default(), now()).unwrap()
}

fn nouveau(chantier_id: Uuid, titre: &str, priorite: Priorite) -> NouveauSignalement {
    NouveauSignalement {
        chantier_id,
        titre: Titre::parse(titre).unwrap(),
        description: Description::parse("Constaté ce matin").unwrap(),
        priorite,
        assigne_a: None,
        date_resolution_souhaitee: None,
        photo_url: None,
        photo_document_id: None,
        localisation: None,
    }
}

async fn insert(
    repo: &DieselSignalementRepository,
    chantier_id: Uuid,
    titre: &str,
    priorite: Priorite,
    at: OffsetDateTime,
) -> Signalement {
    let (s, created) =
        Signalement::create(nouveau(chantier_id, titre, priorite), Uuid::now_v7(), at).unwrap();
    repo.insert(&s, &[envelope(&created)]).await.unwrap();
    s
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

async fn run(test_db: &TestDatabase, sql: &str) {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query(sql).execute(&mut conn).await.unwrap();
}

#[derive(QueryableByName)]
struct Data {
    #[diesel(sql_type = Jsonb)]
    data: Value,
}

async fn escalations(test_db: &TestDatabase) -> Vec<Value> {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query("SELECT data FROM event_logs WHERE event_type = 'signalement.escalated' ORDER BY seq")
        .load::<Data>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.data)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signalement_and_its_replies_round_trip_with_their_events() {
    let test_db = TestDatabase::new().await;
    let repo = DieselSignalementRepository::new(test_db.database().clone());
    let mut s = insert(&repo, Uuid::now_v7(), "Fuite", Priorite::Haute, now()).await;
    assert_eq!(repo.find(s.id()).await.unwrap(), Some(s.clone()));

    let updated = s
        .traiter(Commentaire::parse("Vanne changée").unwrap(), now())
        .unwrap();
    repo.update(&s, &[envelope(&updated)]).await.unwrap();
    assert_eq!(
        repo.find(s.id()).await.unwrap().unwrap().statut(),
        Statut::Traite
    );

    let (reponse, created) = Reponse::create(
        &s,
        Contenu::parse("Vu").unwrap(),
        None,
        true,
        Uuid::now_v7(),
        now(),
    )
    .unwrap();
    repo.insert_reponse(&reponse, &[envelope(&created)])
        .await
        .unwrap();
    assert_eq!(
        repo.find_reponse(reponse.id()).await.unwrap(),
        Some(reponse.clone())
    );
    let (listed, total) = repo
        .list_reponses(s.id(), Page::new(None, None))
        .await
        .unwrap();
    assert_eq!((listed, total), (vec![reponse.clone()], 1));
    assert_eq!(repo.count_reponses(&[s.id()]).await.unwrap()[&s.id()], 1);

    // Deleting it takes its replies, with its event, in one transaction.
    repo.delete(&s, &[envelope(&s.delete(Uuid::now_v7()))])
        .await
        .unwrap();
    assert_eq!(repo.find_reponse(reponse.id()).await.unwrap(), None);
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) FROM event_logs WHERE event_type LIKE 'signalement%'"
        )
        .await,
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_event_append_rolls_back_the_row_and_a_lost_update_is_refused() {
    let test_db = TestDatabase::new().await;
    let repo = DieselSignalementRepository::new(test_db.database().clone());
    let s = insert(&repo, Uuid::now_v7(), "Fuite", Priorite::Haute, now()).await;
    // The same event again (same event_id): the outbox refuses it, so the
    // second signalement is not stored either.
    let (other, created) = Signalement::create(
        nouveau(Uuid::now_v7(), "Autre", Priorite::Basse),
        Uuid::now_v7(),
        now(),
    )
    .unwrap();
    let event = envelope(&created);
    repo.insert(&other, std::slice::from_ref(&event))
        .await
        .unwrap();
    let (third, _) = Signalement::create(
        nouveau(Uuid::now_v7(), "Troisième", Priorite::Basse),
        Uuid::now_v7(),
        now(),
    )
    .unwrap();
    assert!(matches!(
        repo.insert(&third, &[event]).await,
        Err(RepositoryError::Storage(StorageError { .. }))
    ));
    assert_eq!(repo.find(third.id()).await.unwrap(), None);

    // Two writers read version 1; the second write is refused.
    let mut first = s.clone();
    let mut second = s.clone();
    let a = first.assigner(Uuid::now_v7(), now()).unwrap().unwrap();
    let b = second.assigner(Uuid::now_v7(), now()).unwrap().unwrap();
    repo.update(&first, &[envelope(&a)]).await.unwrap();
    assert!(matches!(
        repo.update(&second, &[envelope(&b)]).await,
        Err(RepositoryError::Conflict)
    ));
    let mut gone = s.clone();
    run(
        &test_db,
        &format!("DELETE FROM signalements WHERE id = '{}'", s.id()),
    )
    .await;
    let c = gone.assigner(Uuid::now_v7(), now()).unwrap().unwrap();
    assert!(matches!(
        repo.update(&gone, &[envelope(&c)]).await,
        Err(RepositoryError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_combine_filters_scope_by_chantier_and_count_lateness_in_sql() {
    let test_db = TestDatabase::new().await;
    let repo = DieselSignalementRepository::new(test_db.database().clone());
    let (site, other_site) = (Uuid::now_v7(), Uuid::now_v7());
    let t0 = now() - Duration::hours(10);
    let late = insert(&repo, site, "Échafaudage instable", Priorite::Critique, t0).await;
    let basse = insert(
        &repo,
        site,
        "Benne pleine",
        Priorite::Basse,
        t0 + Duration::hours(1),
    )
    .await;
    let mut done = insert(&repo, other_site, "Fuite 50%", Priorite::Haute, t0).await;
    let treated = done
        .traiter(Commentaire::parse("OK").unwrap(), t0 + Duration::hours(2))
        .unwrap();
    repo.update(&done, &[envelope(&treated)]).await.unwrap();

    let page = Page::new(None, None);
    let list = |filter: SignalementFilter| {
        let repo = repo.clone();
        async move {
            let (items, total) = repo.list(&filter, page, now()).await.unwrap();
            (items.iter().map(Signalement::id).collect::<Vec<_>>(), total)
        }
    };
    let by_site = SignalementFilter {
        chantier_id: Some(site),
        ..SignalementFilter::default()
    };
    assert_eq!(
        list(by_site.clone()).await,
        (vec![late.id(), basse.id()], 2)
    );
    let late_only = SignalementFilter {
        en_retard_only: true,
        ordre: Ordre::Anciens,
        ..SignalementFilter::default()
    };
    assert_eq!(list(late_only).await, (vec![late.id()], 1));
    let search = SignalementFilter {
        query: Some("50%".into()),
        ordre: Ordre::Recents,
        ..SignalementFilter::default()
    };
    assert_eq!(list(search).await, (vec![done.id()], 1), "% is literal");

    // A chef sees only the chantiers he runs or is assigned to.
    let chef = Uuid::now_v7();
    let scoped = SignalementFilter {
        visible_to: Some(chef),
        ..SignalementFilter::default()
    };
    assert_eq!(list(scoped.clone()).await.1, 0);
    run(
        &test_db,
        &format!(
            "INSERT INTO signalement_chantiers (chantier_id, chef_chantier_ids) \
             VALUES ('{site}', ARRAY['{chef}']::uuid[])"
        ),
    )
    .await;
    assert_eq!(list(scoped.clone()).await.1, 2);
    run(
        &test_db,
        &format!(
            "INSERT INTO signalement_affectations VALUES ('{}', '{other_site}', '{chef}', true, 1)",
            Uuid::now_v7()
        ),
    )
    .await;
    assert_eq!(list(scoped).await.1, 3);

    let stats = repo
        .statistiques(&SignalementFilter::default(), now(), t0)
        .await
        .unwrap();
    assert_eq!(stats.total, 3);
    assert_eq!(stats.en_retard, 1);
    assert_eq!(stats.traites_cette_semaine, 1);
    assert_eq!(stats.par_statut.get(&Statut::Traite), Some(&1));
    assert_eq!(stats.par_statut.get(&Statut::Cloture), None);
    assert_eq!(stats.par_priorite.len(), 3);
    assert!((stats.temps_moyen_resolution.unwrap() - 2.0).abs() < 1e-6);
    assert_eq!(stats.temps_moyen_cloture, None, "none closed yet");
    assert!((stats.taux_resolution - 100.0 / 3.0).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_publishes_each_level_exactly_once_even_from_two_instances_at_once() {
    let test_db = TestDatabase::new().await;
    let (one, two) = (test_db.database().clone(), test_db.second_pool());
    let repo = DieselSignalementRepository::new(one.clone());
    let (site, chef, conducteur) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    run(
        &test_db,
        &format!(
            "INSERT INTO signalement_chantiers (chantier_id, conducteur_ids, chef_chantier_ids) \
             VALUES ('{site}', ARRAY['{conducteur}']::uuid[], ARRAY['{chef}']::uuid[])"
        ),
    )
    .await;
    let admin = Uuid::now_v7();
    run(
        &test_db,
        &format!(
            "INSERT INTO signalement_users (user_id, role, is_active) VALUES ('{admin}', 'admin', true)"
        ),
    )
    .await;
    let t0 = now();
    let s = insert(&repo, site, "Garde-corps manquant", Priorite::Critique, t0).await;
    let job: Arc<dyn ScheduledJob> = Arc::new(EscaladeJob::new());

    // Test clock: before 50 %, at 50 %, 100 % and 200 % of the 4 hours.
    for (hours, expected) in [(1, 0), (2, 1), (4, 2), (8, 3), (20, 3)] {
        let at = t0 + Duration::hours(hours);
        // Two instances at once, through the lock and around it: the rows
        // decide, so a level is never published twice.
        let (a, b, c, d) = tokio::join!(
            run_exclusively(&one, job.as_ref(), at),
            run_exclusively(&two, job.as_ref(), at),
            job.run(&one, at),
            job.run(&two, at),
        );
        for outcome in [a.map(|_| ()), b.map(|_| ()), c.map(|_| ()), d.map(|_| ())] {
            outcome.unwrap();
        }
        assert_eq!(escalations(&test_db).await.len(), expected, "at +{hours}h");
    }
    let events = escalations(&test_db).await;
    let niveaux: Vec<(u64, &str)> = events
        .iter()
        .map(|e| {
            (
                e["niveau"].as_u64().unwrap(),
                e["notified_role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        niveaux,
        [(1, "chef_chantier"), (2, "conducteur"), (3, "admin")]
    );
    let recipients = |i: usize| -> Vec<String> {
        events[i]["destinataire_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(recipients(0), [s.cree_par().to_string(), chef.to_string()]);
    assert_eq!(recipients(1).len(), 3);
    assert_eq!(recipients(2).last().unwrap(), &admin.to_string());
    assert_eq!(events[0]["chantier_id"], site.to_string());
    assert_eq!(events[0]["priorite"], "critique");
    let stored = repo.find(s.id()).await.unwrap().unwrap();
    assert_eq!(stored.nb_escalades(), 3);
    assert_eq!(stored.prochaine_escalade(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_treated_or_reopened_signalement_escalates_from_its_new_clock() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database().clone();
    let repo = DieselSignalementRepository::new(db.clone());
    let t0 = now();
    let mut s = insert(&repo, Uuid::now_v7(), "Fuite", Priorite::Critique, t0).await;
    let job = EscaladeJob::new();
    job.run(&db, t0 + Duration::hours(3)).await.unwrap();
    assert_eq!(escalations(&test_db).await.len(), 1);
    s = repo.find(s.id()).await.unwrap().unwrap();
    let treated = s
        .traiter(Commentaire::parse("OK").unwrap(), t0 + Duration::hours(3))
        .unwrap();
    repo.update(&s, &[envelope(&treated)]).await.unwrap();
    assert_eq!(job.run(&db, t0 + Duration::hours(30)).await.unwrap(), 0);
    let reopened_at = t0 + Duration::hours(31);
    let reopened = s
        .reouvrir(
            Uuid::now_v7(),
            Motif::parse("Fuite revenue").unwrap(),
            reopened_at,
        )
        .unwrap();
    repo.update(&s, &[envelope(&reopened)]).await.unwrap();
    assert_eq!(
        job.run(&db, reopened_at + Duration::minutes(90))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        job.run(&db, reopened_at + Duration::hours(2))
            .await
            .unwrap(),
        1
    );
    let events = escalations(&test_db).await;
    assert_eq!(events[1]["niveau"], 1, "the levels start over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signalement_first_seen_past_every_threshold_publishes_each_level_in_order() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database().clone();
    let repo = DieselSignalementRepository::new(db.clone());
    let t0 = now();
    let s = insert(&repo, Uuid::now_v7(), "Échafaudage", Priorite::Critique, t0).await;
    // The server was down from creation to 250 % of the 4 hours: one round
    // publishes the three levels, lowest first, each once.
    let job = EscaladeJob::new();
    assert_eq!(job.run(&db, t0 + Duration::hours(10)).await.unwrap(), 3);
    assert_eq!(job.run(&db, t0 + Duration::hours(11)).await.unwrap(), 0);
    let niveaux: Vec<Value> = escalations(&test_db)
        .await
        .iter()
        .map(|e| e["notified_role"].clone())
        .collect();
    assert_eq!(niveaux, ["chef_chantier", "conducteur", "admin"]);
    let stored = repo.find(s.id()).await.unwrap().unwrap();
    assert_eq!(stored.nb_escalades(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_give_the_mean_time_to_close_apart_from_the_time_to_treat() {
    let test_db = TestDatabase::new().await;
    let repo = DieselSignalementRepository::new(test_db.database().clone());
    let site = Uuid::now_v7();
    let t0 = now() - Duration::hours(10);
    let mut closed = insert(&repo, site, "Garde-corps", Priorite::Haute, t0).await;
    let treated = closed
        .traiter(Commentaire::parse("Posé").unwrap(), t0 + Duration::hours(2))
        .unwrap();
    repo.update(&closed, &[envelope(&treated)]).await.unwrap();
    let cloture = closed
        .cloturer(Uuid::now_v7(), t0 + Duration::hours(6))
        .unwrap();
    repo.update(&closed, &[envelope(&cloture)]).await.unwrap();
    let mut treated_only = insert(&repo, site, "Benne", Priorite::Basse, t0).await;
    let treated = treated_only
        .traiter(
            Commentaire::parse("Vidée").unwrap(),
            t0 + Duration::hours(4),
        )
        .unwrap();
    repo.update(&treated_only, &[envelope(&treated)])
        .await
        .unwrap();

    let stats = repo
        .statistiques(&SignalementFilter::default(), now(), t0)
        .await
        .unwrap();
    assert!((stats.temps_moyen_resolution.unwrap() - 3.0).abs() < 1e-6);
    assert!((stats.temps_moyen_cloture.unwrap() - 6.0).abs() < 1e-6);
}
