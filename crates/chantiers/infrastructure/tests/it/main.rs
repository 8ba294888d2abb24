//! The chantier repository against a real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_chantiers_application::{ChantierFilter, ChantierRepository, RepositoryError};
use hub_chantiers_domain::{
    Adresse, Chantier, ChantierCode, ChantierDetails, ChantierUpdate, Contact, CoordonneesGps,
    Couleur, HeuresEstimees, NomChantier, Responsables, Statut,
};
use hub_chantiers_infrastructure::{DieselChantierRepository, affectations};
use hub_kernel::{
    DomainEvent, EventEnvelope, EventMetadata, EventType, Page, to_storage_precision,
};
use hub_platform_postgres::{DurableSubscriber, Projector, RelayedEvent};
use hub_platform_test_db::TestDatabase;
use serde_json::{Value, json};
use std::sync::Arc;
use time::OffsetDateTime;
use time::macros::date;
use uuid::Uuid;

fn now() -> OffsetDateTime {
    to_storage_precision(OffsetDateTime::now_utc())
}

fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
    EventEnvelope::wrap(event, &EventMetadata::default(), now()).unwrap()
}

fn details(code: &str, nom: &str) -> ChantierDetails {
    ChantierDetails {
        code: ChantierCode::parse(code).unwrap(),
        nom: NomChantier::parse(nom).unwrap(),
        adresse: Adresse::parse("1 quai de Seine, Paris").unwrap(),
        couleur: Couleur::parse("#FF8800").unwrap(),
        coordonnees_gps: Some(CoordonneesGps::new(48.8566, 2.3522).unwrap()),
        contact: Some(Contact::new(Some("M. Leroy"), None, Some("leroy@client.fr")).unwrap()),
        heures_estimees: Some(HeuresEstimees::new(1250.5).unwrap()),
        date_debut: Some(date!(2026 - 12 - 01)),
        date_fin: None,
    }
}

fn new_chantier(code: &str, nom: &str) -> (Chantier, EventEnvelope) {
    let responsables = Responsables::new(vec![Uuid::now_v7()], vec![Uuid::now_v7()]).unwrap();
    let (chantier, created) = Chantier::create(details(code, nom), responsables, now()).unwrap();
    let event = envelope(&created);
    (chantier, event)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chantier_reads_back_equal_and_its_event_is_in_the_outbox() {
    let test_db = TestDatabase::new().await;
    let repo = DieselChantierRepository::new(test_db.database().clone());
    let (chantier, event) = new_chantier("CH-1", "Tour Alpha");
    repo.insert(&chantier, std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(repo.find(chantier.id()).await.unwrap(), Some(chantier));
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) AS count FROM event_logs WHERE event_id = '{}'",
                event.event_id
            )
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chantiers_with_and_without_their_optional_details_share_one_prepared_insert() {
    let test_db = TestDatabase::new().await;
    let repo = DieselChantierRepository::new(test_db.database().clone());
    let (full, full_event) = new_chantier("CH-1", "Tour Alpha");
    let mut sparse_details = details("CH-2", "Tour Beta");
    sparse_details.coordonnees_gps = None;
    sparse_details.contact = None;
    sparse_details.heures_estimees = None;
    sparse_details.date_debut = None;
    let (sparse, created) = Chantier::create(
        sparse_details,
        Responsables::new(vec![], vec![]).unwrap(),
        now(),
    )
    .unwrap();
    for (chantier, event) in [(&full, full_event), (&sparse, envelope(&created))] {
        repo.insert(chantier, &[event]).await.unwrap();
        assert_eq!(
            repo.find(chantier.id()).await.unwrap().as_ref(),
            Some(chantier)
        );
    }
    // Nothing ran concurrently: one connection did both inserts. Absent
    // details are bound as NULL, so both rows had the same statement text,
    // prepared once instead of parsed and planned for each chantier.
    let mut conn = test_db.database().connection().await.unwrap();
    let prepared = sql_query(
        "SELECT count(*) AS count FROM pg_prepared_statements \
         WHERE starts_with(statement, 'INSERT INTO \"chantiers\"')",
    )
    .get_result::<Count>(&mut conn)
    .await
    .unwrap()
    .count;
    assert_eq!(prepared, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_code_rolls_back_the_row_and_its_event() {
    let test_db = TestDatabase::new().await;
    let repo = DieselChantierRepository::new(test_db.database().clone());
    let (first, event) = new_chantier("CH-1", "A");
    repo.insert(&first, &[event]).await.unwrap();
    let (second, event) = new_chantier("ch-1", "B");
    assert!(matches!(
        repo.insert(&second, &[event]).await,
        Err(RepositoryError::DuplicateCode(code)) if code == "CH-1"
    ));
    assert_eq!(
        count(&test_db, "SELECT count(*) AS count FROM chantiers").await,
        1
    );
    assert_eq!(
        count(&test_db, "SELECT count(*) AS count FROM event_logs").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_event_append_rolls_back_the_chantier() {
    let test_db = TestDatabase::new().await;
    let repo = DieselChantierRepository::new(test_db.database().clone());
    let (first, event) = new_chantier("CH-1", "A");
    repo.insert(&first, std::slice::from_ref(&event))
        .await
        .unwrap();
    // Same event id again: the outbox insert fails after the row was written.
    let (second, _) = new_chantier("CH-2", "B");
    assert!(matches!(
        repo.insert(&second, &[event]).await,
        Err(RepositoryError::Storage(_))
    ));
    assert_eq!(repo.find(second.id()).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_are_guarded_by_the_version() {
    let test_db = TestDatabase::new().await;
    let repo = DieselChantierRepository::new(test_db.database().clone());
    let (chantier, event) = new_chantier("CH-1", "A");
    repo.insert(&chantier, &[event]).await.unwrap();

    // Two requests read the same version…
    let mut first = repo.find(chantier.id()).await.unwrap().unwrap();
    let mut second = first.clone();
    let started = first.change_statut(Statut::EnCours, now()).unwrap();
    repo.update(&first, &[envelope(&started)]).await.unwrap();
    // …the second one would overwrite the first: refused, and its event dropped.
    let renamed = second
        .update(
            ChantierUpdate {
                nom: Some(NomChantier::parse("B").unwrap()),
                ..ChantierUpdate::default()
            },
            now(),
        )
        .unwrap()
        .unwrap();
    assert!(matches!(
        repo.update(&second, &[envelope(&renamed)]).await,
        Err(RepositoryError::Conflict)
    ));
    let stored = repo.find(chantier.id()).await.unwrap().unwrap();
    assert_eq!(stored, first);
    assert_eq!(
        count(&test_db, "SELECT count(*) AS count FROM event_logs").await,
        2
    );

    // Clearing optional fields is stored as NULL.
    let mut cleared = stored.clone();
    let event = cleared
        .update(
            ChantierUpdate {
                coordonnees_gps: Some(None),
                contact: Some(None),
                heures_estimees: Some(None),
                ..ChantierUpdate::default()
            },
            now(),
        )
        .unwrap()
        .unwrap();
    repo.update(&cleared, &[envelope(&event)]).await.unwrap();
    let stored = repo.find(chantier.id()).await.unwrap().unwrap();
    assert_eq!(stored.details().coordonnees_gps, None);
    assert_eq!(stored.details().contact, None);

    let (ghost, event) = new_chantier("CH-9", "Ghost");
    assert!(matches!(
        repo.update(&ghost, &[event]).await,
        Err(RepositoryError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_version_its_event_describes() {
    let test_db = TestDatabase::new().await;
    let repo = DieselChantierRepository::new(test_db.database().clone());
    let (chantier, event) = new_chantier("CH-1", "A");
    repo.insert(&chantier, &[event]).await.unwrap();
    let mut newer = chantier.clone();
    let started = newer.change_statut(Statut::EnCours, now()).unwrap();
    repo.update(&newer, &[envelope(&started)]).await.unwrap();

    assert!(matches!(
        repo.delete(&chantier, &[envelope(&chantier.delete())])
            .await,
        Err(RepositoryError::Conflict)
    ));
    repo.delete(&newer, &[envelope(&newer.delete())])
        .await
        .unwrap();
    assert_eq!(repo.find(chantier.id()).await.unwrap(), None);
    assert!(matches!(
        repo.delete(&newer, &[envelope(&newer.delete())]).await,
        Err(RepositoryError::NotFound)
    ));
    let types = count(
        &test_db,
        "SELECT count(*) AS count FROM event_logs WHERE event_type = 'chantier.deleted'",
    )
    .await;
    assert_eq!(types, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_by_statut_and_literal_search_ordered_by_code() {
    let test_db = TestDatabase::new().await;
    let repo = DieselChantierRepository::new(test_db.database().clone());
    for (code, nom) in [
        ("CH-3", "Tour Gamma"),
        ("CH-1", "Tour Alpha"),
        ("CH-2", "Pont 100%"),
        ("CH-4", "Gare_Nord"),
    ] {
        let (mut chantier, event) = new_chantier(code, nom);
        repo.insert(&chantier, &[event]).await.unwrap();
        if code == "CH-3" {
            let started = chantier.change_statut(Statut::EnCours, now()).unwrap();
            repo.update(&chantier, &[envelope(&started)]).await.unwrap();
        }
    }
    let codes = |list: Vec<Chantier>| {
        list.iter()
            .map(|c| c.details().code.to_string())
            .collect::<Vec<_>>()
    };
    let all = |q: Option<&str>, statut: Option<Statut>| ChantierFilter {
        statut,
        q: q.map(str::to_owned),
        visible_to: None,
    };

    let (page, total) = repo
        .list(&all(None, None), Page::new(Some(1), Some(2)))
        .await
        .unwrap();
    assert_eq!(
        (codes(page), total),
        (vec!["CH-2".to_owned(), "CH-3".to_owned()], 4)
    );
    let (tours, total) = repo
        .list(&all(Some("tour"), None), Page::new(None, None))
        .await
        .unwrap();
    assert_eq!(
        (codes(tours), total),
        (vec!["CH-1".to_owned(), "CH-3".to_owned()], 2)
    );
    let (en_cours, _) = repo
        .list(&all(None, Some(Statut::EnCours)), Page::new(None, None))
        .await
        .unwrap();
    assert_eq!(codes(en_cours), ["CH-3"]);
    // LIKE wildcards in the search are plain characters.
    assert_eq!(
        codes(
            repo.list(&all(Some("%"), None), Page::new(None, None))
                .await
                .unwrap()
                .0
        ),
        ["CH-2"]
    );
    assert_eq!(
        codes(
            repo.list(&all(Some("_"), None), Page::new(None, None))
                .await
                .unwrap()
                .0
        ),
        ["CH-4"]
    );
    assert_eq!(
        codes(
            repo.list(&all(Some("ch-1"), None), Page::new(None, None))
                .await
                .unwrap()
                .0
        ),
        ["CH-1"]
    );
}

/// An event of the planning context, as its JSON reaches this one, at log
/// position `seq`.
fn planning(seq: i64, event_type: &'static str, data: Value) -> RelayedEvent {
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: EventType::from_static(event_type).unwrap(),
        aggregate_type: "affectation".into(),
        aggregate_id: Uuid::now_v7().to_string(),
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
async fn chefs_and_compagnons_see_the_chantiers_they_run_or_are_assigned_to() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let repo = DieselChantierRepository::new(db.clone());
    let (chef, compagnon, interimaire) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut sites = Vec::new();
    for (code, chefs) in [("CH-A", vec![chef]), ("CH-B", vec![]), ("CH-C", vec![])] {
        let responsables = Responsables::new(vec![Uuid::now_v7()], chefs).unwrap();
        let (chantier, created) =
            Chantier::create(details(code, "Tour"), responsables, now()).unwrap();
        repo.insert(&chantier, &[envelope(&created)]).await.unwrap();
        sites.push(chantier.id());
    }
    let visible = async |user: Uuid| {
        let filter = ChantierFilter {
            visible_to: Some(user),
            ..ChantierFilter::default()
        };
        let (list, total) = repo.list(&filter, Page::new(None, None)).await.unwrap();
        assert_eq!(total, list.len() as u64);
        list.iter()
            .map(|c| c.details().code.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(visible(chef).await, ["CH-A"]);
    assert!(visible(compagnon).await.is_empty(), "no affectation yet");

    let projector = Projector::new(affectations());
    let mut conn = db.connection().await.unwrap();
    let affectation = Uuid::now_v7();
    let created = planning(
        1,
        "affectation.created",
        json!({"affectation_id": affectation, "utilisateur_id": compagnon, "chantier_id": sites[1],
               "date": "2026-12-07", "heure_debut": null, "heure_fin": null, "note": null,
               "type_affectation": "unique"}),
    );
    projector.handle(&mut conn, &created).await.unwrap();
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    let bulk = planning(
        2,
        "affectation.bulk_created",
        json!({"chantier_id": sites[2], "affectation_ids": [first, second], "count": 2,
               "source": "recurrence", "utilisateur_id": interimaire}),
    );
    projector.handle(&mut conn, &bulk).await.unwrap();
    assert_eq!(visible(compagnon).await, ["CH-B"]);
    assert_eq!(visible(interimaire).await, ["CH-C"]);
    assert!(repo.is_assigned(compagnon, sites[1]).await.unwrap());
    assert!(!repo.is_assigned(compagnon, sites[0]).await.unwrap());

    // Ended affectations grant nothing, even when an older event comes again.
    let deleted = planning(
        3,
        "affectation.deleted",
        json!({"affectation_id": affectation, "utilisateur_id": compagnon,
               "chantier_id": sites[1], "date": "2026-12-07"}),
    );
    projector.handle(&mut conn, &deleted).await.unwrap();
    projector.handle(&mut conn, &created).await.unwrap();
    assert!(!repo.is_assigned(compagnon, sites[1]).await.unwrap());
    let bulk_deleted = planning(
        4,
        "affectation.bulk_deleted",
        json!({"chantier_id": sites[2], "affectation_ids": [first, second], "count": 2}),
    );
    projector.handle(&mut conn, &bulk_deleted).await.unwrap();
    assert!(visible(interimaire).await.is_empty());

    // Unreadable payloads are ignored, not fatal to the relay.
    let broken = planning(5, "affectation.created", json!({"affectation_id": "x"}));
    projector.handle(&mut conn, &broken).await.unwrap();
}
