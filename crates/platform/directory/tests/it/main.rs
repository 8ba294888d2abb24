//! The directory read models against a real PostgreSQL, fed with events
//! shaped as identity and chantiers publish them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use diesel::sql_query;
use diesel_async::RunQueryDsl;
use hub_kernel::{EventEnvelope, EventType, Role};
use hub_platform_directory::{
    AffectationsDirectory, ChantiersDirectory, DocumentView, DocumentsDirectory, UsersDirectory,
};
use hub_platform_postgres::{DurableSubscriber, Projection, Projections, Projector, RelayedEvent};
use hub_platform_test_db::TestDatabase;
use serde_json::{Value, json};
use uuid::Uuid;

/// The tables as a context's migration creates them (the crate's doc).
const DDL: &str = "
CREATE TABLE test_users (
    user_id UUID PRIMARY KEY, email TEXT, nom TEXT, prenom TEXT, role TEXT,
    type_utilisateur TEXT, metier TEXT, is_active BOOLEAN NOT NULL);
CREATE TABLE test_chantiers (
    chantier_id UUID PRIMARY KEY, code TEXT, nom TEXT, adresse TEXT, statut TEXT,
    conducteur_ids UUID[] NOT NULL DEFAULT '{}', chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    deleted BOOLEAN NOT NULL DEFAULT false, last_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE other_chantiers (
    chantier_id UUID PRIMARY KEY, code TEXT, nom TEXT, adresse TEXT, statut TEXT,
    conducteur_ids UUID[] NOT NULL DEFAULT '{}', chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
    deleted BOOLEAN NOT NULL DEFAULT false, last_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE test_affectations (
    affectation_id UUID PRIMARY KEY, chantier_id UUID NOT NULL, utilisateur_id UUID NOT NULL,
    active BOOLEAN NOT NULL, last_seq BIGINT NOT NULL);
CREATE TABLE test_documents (
    document_id UUID PRIMARY KEY, chantier_id UUID NOT NULL, type_document TEXT NOT NULL,
    active BOOLEAN NOT NULL, last_seq BIGINT NOT NULL);";

fn event(seq: i64, event_type: &'static str, aggregate: Uuid, data: Value) -> RelayedEvent {
    RelayedEvent {
        seq,
        envelope: Arc::new(EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: EventType::from_static(event_type).unwrap(),
            aggregate_type: event_type.split('.').next().unwrap().to_owned(),
            aggregate_id: aggregate.to_string(),
            occurred_at: hub_kernel::to_storage_precision(time::OffsetDateTime::now_utc()),
            actor_id: None,
            correlation_id: None,
            causation_id: None,
            schema_version: 1,
            data,
        }),
    }
}

async fn database() -> TestDatabase {
    let test_db = TestDatabase::new().await;
    let mut conn = test_db.database().connection().await.unwrap();
    for statement in DDL.split(';').filter(|s| !s.trim().is_empty()) {
        sql_query(statement).execute(&mut conn).await.unwrap();
    }
    test_db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_follow_creations_changes_and_deactivations_in_order() {
    let test_db = database().await;
    let directory = UsersDirectory::new("test.users", "test_users");
    let projector = Projector::new(directory.clone());
    let mut conn = test_db.database().connection().await.unwrap();
    let lea = Uuid::now_v7();
    let created = event(
        1,
        "user.created",
        lea,
        json!({
        "user_id": lea, "email": "lea@example.fr", "nom": "Durand", "prenom": "Léa",
        "role": "compagnon", "type_utilisateur": "employe", "metier": "Maçon"}),
    );
    let promoted = event(
        2,
        "user.updated",
        lea,
        json!({"user_id": lea, "changes": {
        "role": {"old": "compagnon", "new": "chef_chantier"}, "nom": {"old": "Durand", "new": "Martin"}}}),
    );
    let metier_cleared = event(
        4,
        "user.updated",
        lea,
        json!({"user_id": lea, "changes": {"metier": {"old": "Maçon", "new": null}}}),
    );
    let deactivated = event(
        3,
        "user.deactivated",
        lea,
        json!({"user_id": lea, "deactivated_by": null}),
    );
    for e in [&created, &promoted] {
        projector.handle(&mut conn, e).await.unwrap();
    }
    let view = directory.find(&mut conn, lea).await.unwrap().unwrap();
    assert_eq!(view.role(), Some(Role::ChefChantier));
    assert_eq!(view.display_name(), "Léa Martin");
    assert_eq!(
        view.email.as_deref(),
        Some("lea@example.fr"),
        "unchanged fields stay"
    );
    assert_eq!(
        view.metier.as_deref(),
        Some("Maçon"),
        "unchanged fields stay"
    );
    assert!(view.is_active);
    assert_eq!(directory.active(&mut conn).await.unwrap().len(), 1);

    projector.handle(&mut conn, &deactivated).await.unwrap();
    // A replay of the creation does not bring the user back.
    projector.handle(&mut conn, &created).await.unwrap();
    let view = directory.find(&mut conn, lea).await.unwrap().unwrap();
    assert!(!view.is_active);
    assert_eq!(view.role(), Some(Role::ChefChantier));
    assert!(directory.active(&mut conn).await.unwrap().is_empty());

    // A trade cleared is null, not "unchanged".
    projector.handle(&mut conn, &metier_cleared).await.unwrap();
    let view = directory.find(&mut conn, lea).await.unwrap().unwrap();
    assert_eq!(view.metier, None);
    assert_eq!(view.display_name(), "Léa Martin");
    assert!(
        directory
            .find(&mut conn, Uuid::now_v7())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chantiers_follow_their_snapshots_and_stay_deleted() {
    let test_db = database().await;
    let directory = ChantiersDirectory::new("test.chantiers", "test_chantiers");
    let projector = Projector::new(directory.clone());
    let mut conn = test_db.database().connection().await.unwrap();
    let (site, conducteur, chef) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let snapshot = |statut: &str, conducteurs: &[Uuid]| {
        json!({
        "chantier_id": site, "code": "CH-1", "nom": "Tour A", "adresse": "1 quai", "statut": statut,
        "conducteur_ids": conducteurs, "chef_chantier_ids": [chef]})
    };
    projector
        .handle(
            &mut conn,
            &event(
                1,
                "chantier.created",
                site,
                snapshot("ouvert", &[conducteur]),
            ),
        )
        .await
        .unwrap();
    let view = directory.find(&mut conn, site).await.unwrap().unwrap();
    assert!(view.is_active() && view.has_conducteur(conducteur) && view.has_responsable(chef));
    assert_eq!(view.adresse.as_deref(), Some("1 quai"));
    assert_eq!(directory.run_by(&mut conn, chef).await.unwrap(), [site]);

    // A new address replaces the old one; an event without one keeps it.
    let mut moved = snapshot("ouvert", &[conducteur]);
    moved["adresse"] = json!("2 rue Neuve, Lyon");
    projector
        .handle(&mut conn, &event(2, "chantier.updated", site, moved))
        .await
        .unwrap();
    let mut silent = snapshot("ouvert", &[conducteur]);
    silent.as_object_mut().unwrap().remove("adresse");
    projector
        .handle(
            &mut conn,
            &event(3, "chantier.responsable_assigned", site, silent),
        )
        .await
        .unwrap();
    let view = directory.find(&mut conn, site).await.unwrap().unwrap();
    assert_eq!(view.adresse.as_deref(), Some("2 rue Neuve, Lyon"));

    projector
        .handle(
            &mut conn,
            &event(
                4,
                "chantier.statut_changed",
                site,
                snapshot("ferme", &[conducteur]),
            ),
        )
        .await
        .unwrap();
    let view = directory.find(&mut conn, site).await.unwrap().unwrap();
    assert_eq!(view.statut.as_deref(), Some("ferme"));
    assert!(!view.is_active(), "a closed chantier takes no more work");

    // Malformed responsables grant nothing.
    let mut broken = snapshot("ferme", &[]);
    broken["conducteur_ids"] = json!(["not-an-id"]);
    projector
        .handle(&mut conn, &event(5, "chantier.updated", site, broken))
        .await
        .unwrap();
    assert!(
        !directory
            .find(&mut conn, site)
            .await
            .unwrap()
            .unwrap()
            .has_conducteur(conducteur)
    );

    projector
        .handle(
            &mut conn,
            &event(
                6,
                "chantier.deleted",
                site,
                snapshot("ferme", &[conducteur]),
            ),
        )
        .await
        .unwrap();
    projector
        .handle(
            &mut conn,
            &event(
                7,
                "chantier.updated",
                site,
                snapshot("ouvert", &[conducteur]),
            ),
        )
        .await
        .unwrap();
    let view = directory.find(&mut conn, site).await.unwrap().unwrap();
    assert!(view.deleted && !view.is_active() && !view.has_conducteur(conducteur));
    assert!(directory.run_by(&mut conn, chef).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chantier_event_at_or_before_the_last_one_applied_changes_nothing() {
    let test_db = database().await;
    let directory = ChantiersDirectory::new("test.chantiers", "test_chantiers");
    let projector = Projector::new(directory.clone());
    let mut conn = test_db.database().connection().await.unwrap();
    let site = Uuid::now_v7();
    let snapshot = |seq: i64, nom: &str, statut: &str| {
        event(
            seq,
            "chantier.updated",
            site,
            json!({"chantier_id": site, "code": "CH-1", "nom": nom, "statut": statut,
                   "conducteur_ids": [], "chef_chantier_ids": []}),
        )
    };
    let seen = async |conn: &mut diesel_async::AsyncPgConnection| {
        let view = directory.find(conn, site).await.unwrap().unwrap();
        (view.nom.unwrap(), view.statut.unwrap())
    };
    projector
        .handle(&mut conn, &snapshot(5, "Tour B", "en_cours"))
        .await
        .unwrap();
    // An older event, the same one again (a replay), and older ones in a
    // batch: the platform no longer filters them, the row's position does.
    projector
        .handle(&mut conn, &snapshot(3, "Tour A", "ferme"))
        .await
        .unwrap();
    projector
        .handle(&mut conn, &snapshot(5, "Tour A", "ferme"))
        .await
        .unwrap();
    projector
        .handle_batch(
            &mut conn,
            &[
                snapshot(2, "Tour 0", "ouvert"),
                snapshot(4, "Tour A", "ferme"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(seen(&mut conn).await, ("Tour B".into(), "en_cours".into()));
    projector
        .handle(&mut conn, &snapshot(6, "Tour C", "ferme"))
        .await
        .unwrap();
    assert_eq!(seen(&mut conn).await, ("Tour C".into(), "ferme".into()));

    // In one batch, a replay the row is past and a newer event that leaves
    // the address out: the address stays the row's, not the replay's.
    let addressed = |seq: i64, adresse: Option<&str>| {
        let mut data = json!({"chantier_id": site, "code": "CH-1", "nom": "Tour C",
                              "statut": "ferme", "conducteur_ids": [], "chef_chantier_ids": []});
        if let Some(adresse) = adresse {
            data["adresse"] = json!(adresse);
        }
        event(seq, "chantier.updated", site, data)
    };
    projector
        .handle(&mut conn, &addressed(8, Some("2 rue Neuve")))
        .await
        .unwrap();
    projector
        .handle_batch(
            &mut conn,
            &[addressed(7, Some("1 quai")), addressed(9, None)],
        )
        .await
        .unwrap();
    let view = directory.find(&mut conn, site).await.unwrap().unwrap();
    assert_eq!(view.adresse.as_deref(), Some("2 rue Neuve"));

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let positions: Count = sql_query(
        "SELECT count(*) AS n FROM projection_positions WHERE projection = 'test.chantiers'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(positions.n, 0, "the platform keeps no position for it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_affectations_of_several_users_are_recorded_per_user() {
    let test_db = database().await;
    let directory = AffectationsDirectory::new("test.affectations", "test_affectations");
    let projector = Projector::new(directory.clone());
    let mut conn = test_db.database().connection().await.unwrap();
    let (site, lea, karim) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let bulk = event(
        1,
        "affectation.bulk_created",
        site,
        json!({
        "chantier_id": site, "affectation_ids": [a, b], "count": 2, "source": "bulk",
        "affectations": [
            {"affectation_id": a, "utilisateur_id": lea, "date": "2026-12-07"},
            {"affectation_id": b, "utilisateur_id": karim, "date": "2026-12-07"}]}),
    );
    projector.handle(&mut conn, &bulk).await.unwrap();
    assert!(directory.is_assigned(&mut conn, lea, site).await.unwrap());
    assert!(directory.is_assigned(&mut conn, karim, site).await.unwrap());
    assert_eq!(
        directory.chantiers_of(&mut conn, lea).await.unwrap(),
        [site]
    );

    // Cancelling one ends it; an older event seen again does not revive it.
    let cancelled = event(
        2,
        "affectation.cancelled",
        a,
        json!({
        "affectation_id": a, "utilisateur_id": lea, "chantier_id": site, "date": "2026-12-07",
        "cancelled_by": null, "raison": "météo"}),
    );
    projector.handle(&mut conn, &cancelled).await.unwrap();
    projector.handle(&mut conn, &bulk).await.unwrap();
    assert!(!directory.is_assigned(&mut conn, lea, site).await.unwrap());
    assert!(directory.is_assigned(&mut conn, karim, site).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_chantier_events_leaves_each_chantier_as_its_last_event_says() {
    let test_db = database().await;
    let directory = ChantiersDirectory::new("test.chantiers", "test_chantiers");
    let projector = Projector::new(directory.clone());
    let mut conn = test_db.database().connection().await.unwrap();
    let (a, b, conducteur) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let snapshot = |site: Uuid, statut: &str| {
        json!({
        "chantier_id": site, "code": format!("CH-{}", &site.to_string()[..4]), "nom": "Tour",
        "adresse": "1 quai", "statut": statut, "conducteur_ids": [conducteur], "chef_chantier_ids": []})
    };
    let batch = [
        event(1, "chantier.created", a, snapshot(a, "ouvert")),
        event(2, "chantier.created", b, snapshot(b, "ouvert")),
        event(3, "chantier.statut_changed", a, snapshot(a, "en_cours")),
        event(4, "chantier.deleted", b, snapshot(b, "ouvert")),
        event(5, "chantier.updated", b, snapshot(b, "ouvert")),
    ];
    projector.handle_batch(&mut conn, &batch).await.unwrap();
    let a_view = directory.find(&mut conn, a).await.unwrap().unwrap();
    assert_eq!(a_view.statut.as_deref(), Some("en_cours"));
    assert!(a_view.is_active() && a_view.has_conducteur(conducteur));
    let b_view = directory.find(&mut conn, b).await.unwrap().unwrap();
    assert!(
        b_view.deleted && !b_view.has_conducteur(conducteur),
        "deleted stays deleted"
    );
    assert_eq!(directory.run_by(&mut conn, conducteur).await.unwrap(), [a]);
}

/// The chantiers kept by several contexts are written by one statement
/// when their read models are due the same events, and each on its own
/// when one of them is behind; either way every copy ends as its events say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chantier_directories_of_several_contexts_are_written_together() {
    let test_db = database().await;
    let ours = ChantiersDirectory::new("test.chantiers", "test_chantiers");
    let theirs = ChantiersDirectory::new("other.chantiers", "other_chantiers");
    let mut both = Projections::default();
    both.push(Arc::new(ours.clone()));
    both.push(Arc::new(theirs.clone()));
    let mut conn = test_db.database().connection().await.unwrap();
    let (a, b, conducteur) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let snapshot = |site: Uuid, statut: &str, adresse: Option<&str>| {
        let mut data = json!({
        "chantier_id": site, "code": "CH", "nom": "Tour", "statut": statut,
        "conducteur_ids": [conducteur], "chef_chantier_ids": []});
        if let Some(adresse) = adresse {
            data["adresse"] = json!(adresse);
        }
        data
    };

    // Due the same events: written together.
    both.handle_batch(
        &mut conn,
        &[
            event(
                1,
                "chantier.created",
                a,
                snapshot(a, "ouvert", Some("1 quai")),
            ),
            event(
                2,
                "chantier.created",
                b,
                snapshot(b, "ouvert", Some("2 rue")),
            ),
            event(3, "chantier.deleted", b, snapshot(b, "ouvert", None)),
        ],
    )
    .await
    .unwrap();
    for directory in [&ours, &theirs] {
        let a_view = directory.find(&mut conn, a).await.unwrap().unwrap();
        assert!(a_view.is_active() && a_view.has_conducteur(conducteur));
        assert_eq!(a_view.adresse.as_deref(), Some("1 quai"));
        assert!(directory.find(&mut conn, b).await.unwrap().unwrap().deleted);
    }

    // One copy has seen the next event already: each is written on its own,
    // the one behind catches up, neither applies an event twice.
    let moved = event(
        4,
        "chantier.updated",
        a,
        snapshot(a, "en_cours", Some("3 place")),
    );
    let silent = event(5, "chantier.updated", a, snapshot(a, "en_cours", None));
    Projector::new(theirs.clone())
        .handle(&mut conn, &moved)
        .await
        .unwrap();
    both.handle_batch(&mut conn, &[moved, silent])
        .await
        .unwrap();
    for directory in [&ours, &theirs] {
        let a_view = directory.find(&mut conn, a).await.unwrap().unwrap();
        assert_eq!(a_view.statut.as_deref(), Some("en_cours"));
        assert_eq!(a_view.adresse.as_deref(), Some("3 place"));
    }

    // A failure of the joint statement names every read model it wrote.
    sql_query("DROP TABLE other_chantiers")
        .execute(&mut conn)
        .await
        .unwrap();
    let error = both
        .handle(
            &mut conn,
            &event(6, "chantier.updated", a, snapshot(a, "ferme", None)),
        )
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("test.chantiers + other.chantiers: "),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_known_with_their_chantier_and_type_and_stay_deleted() {
    let test_db = database().await;
    let directory = DocumentsDirectory::new("test.documents", "test_documents");
    let projector = Projector::new(directory.clone());
    let mut conn = test_db.database().connection().await.unwrap();
    let (site, photo, plan) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let uploaded = |seq, id: Uuid, type_document: &str| {
        event(
            seq,
            "document.uploaded",
            id,
            json!({"document_id": id, "chantier_id": site, "dossier_id": Uuid::now_v7(),
                   "nom": "x", "type_document": type_document, "mime_type": "image/jpeg",
                   "taille_octets": 3, "sha256": "0".repeat(64), "uploaded_by": Uuid::now_v7()}),
        )
    };
    let photo_uploaded = uploaded(1, photo, "image");
    projector.handle(&mut conn, &photo_uploaded).await.unwrap();
    projector
        .handle(&mut conn, &uploaded(2, plan, "pdf"))
        .await
        .unwrap();
    assert_eq!(
        directory.find(&mut conn, photo).await.unwrap(),
        Some(DocumentView {
            document_id: photo,
            chantier_id: site,
            type_document: "image".into(),
            active: true,
        })
    );
    assert_eq!(
        directory
            .find(&mut conn, plan)
            .await
            .unwrap()
            .unwrap()
            .type_document,
        "pdf"
    );
    assert_eq!(
        directory.find(&mut conn, Uuid::now_v7()).await.unwrap(),
        None
    );

    // Deleted for good: the upload seen again does not bring it back. The
    // replays below go straight to the read model, under the projector's
    // per-aggregate guard, so that its own `last_seq` / `active` guard is
    // what holds.
    let deleted = event(
        3,
        "document.deleted",
        photo,
        json!({"document_id": photo, "chantier_id": site, "dossier_id": Uuid::now_v7(),
               "nom": "x", "taille_octets": 3, "sha256": "0".repeat(64), "deleted_by": Uuid::now_v7()}),
    );
    projector.handle(&mut conn, &deleted).await.unwrap();
    directory.apply(&mut conn, &photo_uploaded).await.unwrap();
    assert!(
        !directory
            .find(&mut conn, photo)
            .await
            .unwrap()
            .unwrap()
            .active
    );

    // A deletion seen before its upload (another relay's order) wins too.
    let late = Uuid::now_v7();
    let gone = event(
        5,
        "document.deleted",
        late,
        json!({"document_id": late, "chantier_id": site}),
    );
    directory.apply(&mut conn, &gone).await.unwrap();
    directory
        .apply(&mut conn, &uploaded(4, late, "image"))
        .await
        .unwrap();
    assert!(
        !directory
            .find(&mut conn, late)
            .await
            .unwrap()
            .unwrap()
            .active
    );
}
