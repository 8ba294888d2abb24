//! The besoin repository and the read models against a real PostgreSQL:
//! rows and events in one transaction, one live besoin per cell under
//! concurrency, lost updates, ranges and sums; chantiers, workforce and
//! affectations (planned minutes) followed from their events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_kernel::{
    DomainEvent, EventEnvelope, EventMetadata, EventType, Page, to_storage_precision,
};
use hub_planning_charge_application::{
    Affectations, BesoinRepository, Chantiers, Effectif, Quantite, RepositoryError,
};
use hub_planning_charge_domain::{
    Besoin, BesoinUpdate, Heures, Note, NouveauBesoin, Semaine, TypeMetier,
};
use hub_planning_charge_infrastructure::{
    AffectationsProjection, DieselAffectations, DieselBesoinRepository, DieselDirectory, chantiers,
    users,
};
use hub_platform_postgres::{DurableSubscriber, Projector, RelayedEvent};
use hub_platform_test_db::TestDatabase;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

fn now() -> OffsetDateTime {
    to_storage_precision(OffsetDateTime::now_utc())
}

fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
    EventEnvelope::wrap(event, &EventMetadata::default(), now()).unwrap()
}

fn semaine(code: &str) -> Semaine {
    Semaine::parse(code).unwrap()
}

fn nouveau(chantier: Uuid, code: &str, metier: TypeMetier, heures: f64) -> NouveauBesoin {
    NouveauBesoin {
        chantier_id: chantier,
        semaine: semaine(code),
        type_metier: metier,
        heures: Heures::from_decimal(heures).unwrap(),
        note: Note::parse(Some("Voiles R+1")).unwrap(),
    }
}

/// A new besoin and the envelope of its creation.
fn create(chantier: Uuid, code: &str, metier: TypeMetier, heures: f64) -> (Besoin, EventEnvelope) {
    let (besoin, event) = Besoin::create(
        nouveau(chantier, code, metier, heures),
        Uuid::now_v7(),
        now(),
    );
    (besoin, envelope(&event))
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
        "SELECT count(*) FROM event_logs WHERE event_type LIKE 'besoin_charge.%'",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_besoin_reads_back_equal_with_its_event_in_the_outbox() {
    let test_db = TestDatabase::new().await;
    let repo = DieselBesoinRepository::new(test_db.database().clone());
    let (besoin, event) = create(Uuid::now_v7(), "2026-W53", TypeMetier::SousTraitant, 7.25);
    repo.insert(&besoin, &[event]).await.unwrap();
    assert_eq!(repo.find(besoin.id()).await.unwrap(), Some(besoin.clone()));
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) FROM event_logs WHERE event_type = 'besoin_charge.created' \
                 AND aggregate_id = '{}' AND data->>'semaine' = '2026-W53' \
                 AND (data->>'besoin_heures')::numeric = 7.25",
                besoin.id()
            )
        )
        .await,
        1
    );
    assert_eq!(repo.find(Uuid::now_v7()).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_cell_rolls_back_row_and_event_and_a_deleted_one_is_free() {
    let test_db = TestDatabase::new().await;
    let repo = DieselBesoinRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let (first, event) = create(chantier, "2026-W50", TypeMetier::Macon, 70.0);
    repo.insert(&first, &[event]).await.unwrap();

    let (second, event) = create(chantier, "2026-W50", TypeMetier::Macon, 14.0);
    assert!(matches!(
        repo.insert(&second, &[event]).await,
        Err(RepositoryError::Duplicate)
    ));
    assert_eq!(repo.find(second.id()).await.unwrap(), None);
    assert_eq!(events(&test_db).await, 1);

    // Another trade, another week or another chantier is another cell.
    for (chantier, code, metier) in [
        (chantier, "2026-W50", TypeMetier::Coffreur),
        (chantier, "2026-W51", TypeMetier::Macon),
        (Uuid::now_v7(), "2026-W50", TypeMetier::Macon),
    ] {
        let (other, event) = create(chantier, code, metier, 7.0);
        repo.insert(&other, &[event]).await.unwrap();
    }

    // Deleted, the cell is free again (the original failed with a 500).
    let mut deleted = first.clone();
    let event = deleted.delete(Uuid::now_v7(), now()).unwrap();
    repo.update(&deleted, &[envelope(&event)]).await.unwrap();
    assert_eq!(repo.find(first.id()).await.unwrap(), None);
    let (again, event) = create(chantier, "2026-W50", TypeMetier::Macon, 35.0);
    repo.insert(&again, &[event]).await.unwrap();
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) FROM besoins_charge WHERE chantier_id = '{chantier}' \
                 AND semaine = 202650 AND type_metier = 'macon'"
            )
        )
        .await,
        2,
        "the deleted row stays, for history"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_event_append_rolls_back_the_row() {
    let test_db = TestDatabase::new().await;
    let repo = DieselBesoinRepository::new(test_db.database().clone());
    let (besoin, event) = create(Uuid::now_v7(), "2026-W50", TypeMetier::Macon, 7.0);
    // The same event twice: the outbox refuses the second copy.
    let refused = repo.insert(&besoin, &[event.clone(), event]).await;
    assert!(
        matches!(refused, Err(RepositoryError::Storage(_))),
        "{refused:?}"
    );
    assert_eq!(repo.find(besoin.id()).await.unwrap(), None);
    assert_eq!(events(&test_db).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_trade_onto_a_taken_cell_is_a_duplicate_and_changes_nothing() {
    let test_db = TestDatabase::new().await;
    let repo = DieselBesoinRepository::new(test_db.database().clone());
    let chantier = Uuid::now_v7();
    let (macon, event) = create(chantier, "2026-W50", TypeMetier::Macon, 70.0);
    repo.insert(&macon, &[event]).await.unwrap();
    let (coffreur, event) = create(chantier, "2026-W50", TypeMetier::Coffreur, 14.0);
    repo.insert(&coffreur, &[event]).await.unwrap();

    let mut moved = coffreur.clone();
    let event = moved
        .update(
            BesoinUpdate {
                type_metier: Some(TypeMetier::Macon),
                ..BesoinUpdate::default()
            },
            now(),
        )
        .unwrap()
        .unwrap();
    assert!(matches!(
        repo.update(&moved, &[envelope(&event)]).await,
        Err(RepositoryError::Duplicate)
    ));
    assert_eq!(
        repo.find(coffreur.id()).await.unwrap(),
        Some(coffreur.clone())
    );
    assert_eq!(events(&test_db).await, 2);

    // Onto a free trade it is stored, with its event.
    let mut moved = coffreur.clone();
    let event = moved
        .update(
            BesoinUpdate {
                type_metier: Some(TypeMetier::Grutier),
                heures: Some(Heures::from_decimal(21.5).unwrap()),
                ..BesoinUpdate::default()
            },
            now(),
        )
        .unwrap()
        .unwrap();
    repo.update(&moved, &[envelope(&event)]).await.unwrap();
    assert_eq!(repo.find(coffreur.id()).await.unwrap(), Some(moved));
    assert_eq!(events(&test_db).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_update_is_refused() {
    let test_db = TestDatabase::new().await;
    let repo = DieselBesoinRepository::new(test_db.database().clone());
    let (besoin, event) = create(Uuid::now_v7(), "2026-W50", TypeMetier::Macon, 70.0);
    repo.insert(&besoin, &[event]).await.unwrap();
    let change = |heures: f64| {
        let mut copy = besoin.clone();
        let event = copy
            .update(
                BesoinUpdate {
                    heures: Some(Heures::from_decimal(heures).unwrap()),
                    ..BesoinUpdate::default()
                },
                now(),
            )
            .unwrap()
            .unwrap();
        (copy, envelope(&event))
    };
    let (first, event) = change(77.0);
    repo.update(&first, &[event]).await.unwrap();
    let (stale, event) = change(84.0);
    assert!(matches!(
        repo.update(&stale, &[event]).await,
        Err(RepositoryError::Conflict)
    ));
    assert_eq!(repo.find(besoin.id()).await.unwrap(), Some(first));
    let (missing, event) = create(Uuid::now_v7(), "2026-W50", TypeMetier::Macon, 1.0);
    let mut missing = missing;
    let deleted = missing.delete(Uuid::now_v7(), now()).unwrap();
    assert!(matches!(
        repo.update(&missing, &[event, envelope(&deleted)]).await,
        Err(RepositoryError::NotFound)
    ));
    assert_eq!(events(&test_db).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_creations_of_one_cell_leave_exactly_one() {
    let test_db = TestDatabase::new().await;
    let repo = Arc::new(DieselBesoinRepository::new(test_db.database().clone()));
    let chantier = Uuid::now_v7();
    let attempts = (0..1000).map(|i| {
        let repo = repo.clone();
        async move {
            let (besoin, event) = create(chantier, "2026-W50", TypeMetier::Macon, f64::from(i));
            repo.insert(&besoin, &[event]).await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let stored = results.iter().filter(|r| r.is_ok()).count();
    let duplicates = results
        .iter()
        .filter(|r| matches!(r, Err(RepositoryError::Duplicate)))
        .count();
    assert_eq!((stored, duplicates), (1, 999));
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM besoins_charge").await,
        1
    );
    assert_eq!(events(&test_db).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_a_range_and_sums_add_up_the_trades() {
    let test_db = TestDatabase::new().await;
    let repo = DieselBesoinRepository::new(test_db.database().clone());
    let (site, other) = (Uuid::now_v7(), Uuid::now_v7());
    let rows = [
        (site, "2026-W52", TypeMetier::Macon, 70.0),
        (site, "2026-W52", TypeMetier::Coffreur, 14.5),
        (site, "2026-W53", TypeMetier::Macon, 35.0),
        (site, "2027-W01", TypeMetier::Grutier, 7.0),
        (site, "2027-W02", TypeMetier::Macon, 1.0),
        (other, "2026-W53", TypeMetier::Macon, 21.0),
    ];
    let mut ids = Vec::new();
    for (chantier, code, metier, heures) in rows {
        let (besoin, event) = create(chantier, code, metier, heures);
        repo.insert(&besoin, &[event]).await.unwrap();
        ids.push(besoin);
    }
    let (debut, fin) = (semaine("2026-W52"), semaine("2027-W01"));
    let (page, total) = repo
        .list(site, debut, fin, Page::new(Some(1), Some(2)))
        .await
        .unwrap();
    assert_eq!(total, 4);
    // By week then trade: W52 coffreur, W52 macon, W53 macon, W01 grutier.
    assert_eq!(page, [ids[0].clone(), ids[2].clone()]);

    let mut totaux = repo.totaux(&[site, other], debut, fin).await.unwrap();
    totaux.sort_by_key(|q| (q.semaine, q.chantier_id == other));
    let q = |chantier, code: &str, heures: u64| Quantite {
        chantier_id: chantier,
        semaine: semaine(code),
        minutes: heures,
    };
    assert_eq!(
        totaux,
        [
            q(site, "2026-W52", 84 * 60 + 30),
            q(site, "2026-W53", 35 * 60),
            q(other, "2026-W53", 21 * 60),
            q(site, "2027-W01", 7 * 60),
        ]
    );
    assert!(repo.totaux(&[], debut, fin).await.unwrap().is_empty());
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
async fn chantiers_and_workforce_follow_their_events() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let directory = DieselDirectory::new(db.clone());
    let (julien, chef, karim, lea, admin) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let (tour, ecole, ferme) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let chantiers = Projector::new(chantiers());
    let users = Projector::new(users());
    let mut conn = db.connection().await.unwrap();
    let snapshot = |id: Uuid, code: &str, nom: &str, statut: &str| {
        json!({"chantier_id": id, "code": code, "nom": nom, "statut": statut,
               "conducteur_ids": [julien], "chef_chantier_ids": if id == tour { vec![chef] } else { vec![] }})
    };
    for (seq, id, code, nom, statut) in [
        (1, tour, "B-TOUR", "Tour Horizon", "en_cours"),
        (2, ecole, "A-ECOLE", "École Jaurès", "ouvert"),
        (3, ferme, "C-OLD", "Entrepôt", "ferme"),
    ] {
        chantiers
            .handle(
                &mut conn,
                &relayed(
                    seq,
                    "chantier.created",
                    ("chantier", id),
                    snapshot(id, code, nom, statut),
                ),
            )
            .await
            .unwrap();
    }
    let codes = |list: Vec<hub_planning_charge_application::ChantierInfo>| {
        list.into_iter()
            .map(|c| c.code.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        codes(directory.ouverts(None).await.unwrap()),
        ["A-ECOLE", "B-TOUR"]
    );
    assert_eq!(
        codes(directory.ouverts(Some("horiz".into())).await.unwrap()),
        ["B-TOUR"]
    );
    assert_eq!(
        codes(directory.ouverts(Some("JAUR".into())).await.unwrap()),
        ["A-ECOLE"]
    );
    assert_eq!(
        codes(directory.ouverts(Some("%".into())).await.unwrap()),
        Vec::<String>::new()
    );
    let found = directory.chantier(tour).await.unwrap().unwrap();
    assert!(found.ouvert);
    assert!(found.responsables.contains(&chef) && found.responsables.contains(&julien));
    assert!(!directory.chantier(ferme).await.unwrap().unwrap().ouvert);
    assert_eq!(directory.run_by(chef).await.unwrap(), [tour]);

    chantiers
        .handle(
            &mut conn,
            &relayed(
                4,
                "chantier.deleted",
                ("chantier", ecole),
                json!({"chantier_id": ecole}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(directory.chantier(ecole).await.unwrap(), None);
    assert_eq!(codes(directory.ouverts(None).await.unwrap()), ["B-TOUR"]);

    // Capacity: active compagnons and chefs de chantier only.
    for (seq, id, role) in [
        (5, karim, "compagnon"),
        (6, lea, "compagnon"),
        (7, chef, "chef_chantier"),
        (8, admin, "admin"),
        (9, julien, "conducteur"),
    ] {
        users
            .handle(
                &mut conn,
                &relayed(
                    seq,
                    "user.created",
                    ("user", id),
                    json!({"user_id": id, "role": role, "nom": "N", "prenom": "P"}),
                ),
            )
            .await
            .unwrap();
    }
    assert_eq!(directory.effectif().await.unwrap(), 3);
    users
        .handle(
            &mut conn,
            &relayed(
                10,
                "user.deactivated",
                ("user", lea),
                json!({"user_id": lea}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(directory.effectif().await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_minutes_follow_affectation_events() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let affectations = DieselAffectations::new(db.clone());
    let projector = Projector::new(AffectationsProjection::new());
    let users = Projector::new(users());
    let mut conn = db.connection().await.unwrap();
    let (tour, ecole) = (Uuid::now_v7(), Uuid::now_v7());
    let (karim, lea, admin) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    for (seq, id, role) in [
        (1, karim, "compagnon"),
        (2, lea, "compagnon"),
        (3, admin, "admin"),
    ] {
        users
            .handle(
                &mut conn,
                &relayed(
                    seq,
                    "user.created",
                    ("user", id),
                    json!({"user_id": id, "role": role}),
                ),
            )
            .await
            .unwrap();
    }
    let (a1, a2, a3, a4, a5) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let single = |id: Uuid, user: Uuid, chantier: Uuid, date: &str, debut: Value, fin: Value| {
        json!({"affectation_id": id, "utilisateur_id": user, "chantier_id": chantier,
               "date": date, "heure_debut": debut, "heure_fin": fin, "note": null,
               "type_affectation": "unique"})
    };
    let apply =
        async |conn: &mut _, event: RelayedEvent| projector.handle(conn, &event).await.unwrap();
    // Karim, Monday of 2026-W50, 7:30–16:30: 9 hours.
    apply(
        &mut conn,
        relayed(
            10,
            "affectation.created",
            ("affectation", a1),
            single(
                a1,
                karim,
                tour,
                "2026-12-07",
                json!("07:30"),
                json!("16:30"),
            ),
        ),
    )
    .await;
    // Léa, two days without times (7 h each) on the tour, one on the école in W51.
    apply(&mut conn, relayed(11, "affectation.bulk_created", ("affectation", a2), json!({
        "affectation_id": a2, "chantier_id": tour, "affectation_ids": [a2, a3], "count": 2,
        "source": "bulk", "utilisateur_id": lea,
        "affectations": [
            {"affectation_id": a2, "utilisateur_id": lea, "date": "2026-12-08", "heure_debut": null, "heure_fin": null},
            {"affectation_id": a3, "utilisateur_id": lea, "date": "2026-12-09", "heure_debut": null, "heure_fin": null},
        ]}))).await;
    apply(
        &mut conn,
        relayed(
            12,
            "affectation.created",
            ("affectation", a4),
            single(a4, lea, ecole, "2026-12-14", Value::Null, Value::Null),
        ),
    )
    .await;
    // The admin is planned too, but is no capacity: not among the people planned.
    apply(
        &mut conn,
        relayed(
            13,
            "affectation.created",
            ("affectation", a5),
            single(a5, admin, ecole, "2026-12-15", Value::Null, Value::Null),
        ),
    )
    .await;

    let (debut, fin) = (semaine("2026-W50"), semaine("2026-W51"));
    let mut planifie = affectations
        .planifie(&[tour, ecole], debut, fin)
        .await
        .unwrap();
    planifie.sort_by_key(|q| (q.semaine, q.chantier_id == ecole));
    let q = |chantier, code: &str, minutes: u64| Quantite {
        chantier_id: chantier,
        semaine: semaine(code),
        minutes,
    };
    assert_eq!(
        planifie,
        [
            q(tour, "2026-W50", (9 + 14) * 60),
            q(ecole, "2026-W51", 14 * 60)
        ]
    );
    let mut occupes = affectations.occupes(debut, fin).await.unwrap();
    occupes.sort();
    assert_eq!(occupes, [(debut, 2), (fin, 1)]);

    // Moved to W51 on the école; then a3 cancelled, a2 deleted in bulk.
    apply(
        &mut conn,
        relayed(14, "affectation.updated", ("affectation", a1), {
            let mut moved = single(
                a1,
                karim,
                ecole,
                "2026-12-16",
                json!("08:00"),
                json!("12:00"),
            );
            moved["changes"] = json!({"date": {"old": "2026-12-07", "new": "2026-12-16"}});
            moved
        }),
    )
    .await;
    apply(
        &mut conn,
        relayed(
            15,
            "affectation.cancelled",
            ("affectation", a3),
            json!({
        "affectation_id": a3, "utilisateur_id": lea, "chantier_id": tour, "date": "2026-12-09",
        "cancelled_by": admin, "raison": "Intempéries"}),
        ),
    )
    .await;
    apply(
        &mut conn,
        relayed(
            16,
            "affectation.bulk_deleted",
            ("affectation", a2),
            json!({
        "affectation_id": a2, "chantier_id": tour, "affectation_ids": [a2], "count": 1}),
        ),
    )
    .await;
    // An older event seen again changes nothing; an unreadable one is skipped.
    apply(
        &mut conn,
        relayed(
            11,
            "affectation.created",
            ("affectation", a3),
            single(a3, lea, tour, "2026-12-09", Value::Null, Value::Null),
        ),
    )
    .await;
    apply(
        &mut conn,
        relayed(
            17,
            "affectation.created",
            ("affectation", Uuid::now_v7()),
            json!({"affectation_id": "not-a-uuid", "date": "2026-12-09"}),
        ),
    )
    .await;

    let planifie = affectations
        .planifie(&[tour, ecole], debut, fin)
        .await
        .unwrap();
    assert_eq!(planifie, [q(ecole, "2026-W51", 14 * 60 + 4 * 60)]);
    let occupes = affectations.occupes(debut, fin).await.unwrap();
    assert_eq!(occupes, [(fin, 2)]);
    assert!(
        affectations
            .planifie(&[], debut, fin)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The figures of a week per métier, sorted for comparison.
fn sorted(
    mut figures: Vec<hub_planning_charge_application::ParMetier>,
) -> Vec<(Option<String>, u64)> {
    figures.sort_by(|a, b| a.metier.cmp(&b.metier));
    figures.into_iter().map(|f| (f.metier, f.valeur)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_trade_figures_follow_the_users_metier() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let repository = DieselBesoinRepository::new(db.clone());
    let directory = DieselDirectory::new(db.clone());
    let affectations = DieselAffectations::new(db.clone());
    let projector = Projector::new(AffectationsProjection::new());
    let users = Projector::new(users());
    let mut conn = db.connection().await.unwrap();
    let (tour, ecole) = (Uuid::now_v7(), Uuid::now_v7());
    let (karim, lea, paul, inconnu) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    for (seq, id, metier) in [
        (1, karim, json!("Maçon")),
        (2, lea, json!("Grutier")),
        (3, paul, Value::Null),
    ] {
        users
            .handle(
                &mut conn,
                &relayed(
                    seq,
                    "user.created",
                    ("user", id),
                    json!({"user_id": id, "role": "compagnon", "metier": metier}),
                ),
            )
            .await
            .unwrap();
    }
    // Léa retrains: the later event wins.
    users
        .handle(
            &mut conn,
            &relayed(
                4,
                "user.updated",
                ("user", lea),
                json!({"user_id": lea, "changes": {"metier": {"old": "Grutier", "new": "Maçon coffreur"}}}),
            ),
        )
        .await
        .unwrap();
    let mut effectif = sorted(directory.par_metier().await.unwrap());
    effectif.sort();
    assert_eq!(
        effectif,
        [
            (None, 1),
            (Some("Maçon".into()), 1),
            (Some("Maçon coffreur".into()), 1)
        ]
    );

    // W50: Karim 7 h on the tour, Léa 7 h on the école, someone the users
    // read model does not know 7 h on the tour; Paul is planned nowhere.
    for (seq, id, user, chantier) in [
        (10, Uuid::now_v7(), karim, tour),
        (11, Uuid::now_v7(), lea, ecole),
        (12, Uuid::now_v7(), inconnu, tour),
    ] {
        projector
            .handle(
                &mut conn,
                &relayed(
                    seq,
                    "affectation.created",
                    ("affectation", id),
                    json!({"affectation_id": id, "utilisateur_id": user, "chantier_id": chantier,
                           "date": "2026-12-08", "heure_debut": null, "heure_fin": null}),
                ),
            )
            .await
            .unwrap();
    }
    let w50 = semaine("2026-W50");
    assert_eq!(
        sorted(
            affectations
                .planifie_par_metier(&[tour], w50)
                .await
                .unwrap()
        ),
        [(None, 7 * 60), (Some("Maçon".into()), 7 * 60)],
        "only the chantiers asked for; an unknown person under no métier"
    );
    assert_eq!(
        sorted(affectations.occupes_par_metier(w50).await.unwrap()),
        [
            (Some("Maçon".into()), 1),
            (Some("Maçon coffreur".into()), 1)
        ],
        "people of the capacity planned anywhere"
    );
    assert!(
        affectations
            .occupes_par_metier(semaine("2026-W51"))
            .await
            .unwrap()
            .is_empty()
    );

    // Besoins per trade: live ones of the chantiers asked for, that week.
    for (chantier, code, metier, heures) in [
        (tour, "2026-W50", TypeMetier::Macon, 20.0),
        (ecole, "2026-W50", TypeMetier::Macon, 15.0),
        (tour, "2026-W50", TypeMetier::Grutier, 4.5),
        (tour, "2026-W51", TypeMetier::Macon, 99.0),
    ] {
        let (besoin, event) = create(chantier, code, metier, heures);
        repository.insert(&besoin, &[event]).await.unwrap();
    }
    let mut besoins = repository.par_metier(&[tour], w50).await.unwrap();
    besoins.sort();
    assert_eq!(
        besoins,
        [(TypeMetier::Macon, 20 * 60), (TypeMetier::Grutier, 270)]
    );
    let mut both = repository.par_metier(&[tour, ecole], w50).await.unwrap();
    both.sort();
    assert_eq!(both[0], (TypeMetier::Macon, 35 * 60));
}
