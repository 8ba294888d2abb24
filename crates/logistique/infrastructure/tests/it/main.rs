//! The logistique repositories against a real PostgreSQL: rows and events
//! in one transaction, the code unique among non-deleted ressources, the
//! overlap rule held by the exclusion constraint (raced by concurrent
//! bookings), lost updates, lists, the read models, the day-before reminder
//! and the cancellation of a closed chantier's bookings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_kernel::{
    Actor, DomainEvent, EventEnvelope, EventMetadata, EventType, FixedClock, Page, Role,
    to_storage_precision,
};
use hub_logistique_application::{
    Directory, LogistiquePorts, RepositoryError, ReservationFilter, ReservationInput,
    ReservationOrder, ReservationRepository, RessourceFilter, RessourceInput, RessourceRepository,
};
use hub_logistique_domain::{
    CategorieRessource, ChantierInfo, MotifRefus, Reservation, ReservationUpdate, Ressource,
    RessourceUpdate, StatutReservation,
};
use hub_logistique_infrastructure::{
    ChantierFermeSubscriber, DieselDirectory, DieselReservationRepository,
    DieselRessourceRepository, MOTIF_FERME, RappelJob, chantiers, users,
};
use hub_platform_postgres::jobs::ScheduledJob;
use hub_platform_postgres::{DurableSubscriber, PoolSettings, Projector, RelayedEvent};
use hub_platform_test_db::TestDatabase;
use serde_json::{Value, json};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

const TODAY: Date = date!(2026 - 12 - 02);
const DAY: Date = date!(2026 - 12 - 10);

fn now() -> OffsetDateTime {
    to_storage_precision(OffsetDateTime::now_utc())
}

fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
    EventEnvelope::wrap(event, &EventMetadata::default(), now()).unwrap()
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

fn ressource_with(code: &str, nom: &str, categorie: &str) -> (Ressource, EventEnvelope) {
    let nouvelle = RessourceInput {
        code: code.into(),
        nom: nom.into(),
        categorie: categorie.into(),
        description: Some("Permis CACES R483".into()),
        photo_url: Some("https://photos.example/grue.jpg".into()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let (ressource, event) = Ressource::create(nouvelle, Uuid::now_v7(), now());
    (ressource, envelope(&event))
}

async fn stored_ressource(repo: &DieselRessourceRepository) -> Ressource {
    let (ressource, event) = {
        let nouvelle = RessourceInput {
            code: format!("G-{}", &Uuid::now_v7().simple().to_string()[24..]),
            nom: "Grue mobile 50 t".into(),
            categorie: "engin_levage".into(),
            ..Default::default()
        }
        .validate()
        .unwrap();
        Ressource::create(nouvelle, Uuid::now_v7(), now())
    };
    repo.insert(&ressource, &[envelope(&event)]).await.unwrap();
    ressource
}

fn chantier() -> ChantierInfo {
    ChantierInfo {
        chantier_id: Uuid::now_v7(),
        ferme: false,
        conducteur_ids: vec![],
        chef_chantier_ids: vec![],
    }
}

fn booking(
    ressource: &Ressource,
    chantier: &ChantierInfo,
    day: Date,
    debut: &str,
    fin: &str,
) -> (Reservation, EventEnvelope) {
    let nouvelle = ReservationInput {
        ressource_id: ressource.id(),
        chantier_id: chantier.chantier_id,
        date_reservation: day,
        heure_debut: debut.into(),
        heure_fin: fin.into(),
        commentaire: Some("Levage des prédalles".into()),
    }
    .validate()
    .unwrap();
    let (reservation, event) =
        Reservation::create(nouvelle, ressource, chantier, Uuid::now_v7(), TODAY, now()).unwrap();
    (reservation, envelope(&event))
}

fn admin() -> Actor {
    Actor {
        user_id: Uuid::now_v7(),
        role: Role::Admin,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ressource_reads_back_equal_and_its_code_is_unique_among_non_deleted_ones() {
    let test_db = TestDatabase::new().await;
    let repo = DieselRessourceRepository::new(test_db.database().clone());
    let (grue, created) = ressource_with("grue-01", "Grue mobile 50 t", "engin_levage");
    repo.insert(&grue, &[created]).await.unwrap();
    assert_eq!(repo.find(grue.id()).await.unwrap().as_ref(), Some(&grue));
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM event_logs").await,
        1,
        "the row and its event are written together"
    );

    // Same code (any case): refused, and neither row nor event is written.
    let (twin, created) = ressource_with("GRUE-01", "Autre grue", "engin_levage");
    assert!(matches!(
        repo.insert(&twin, std::slice::from_ref(&created)).await,
        Err(RepositoryError::CodeTaken)
    ));
    assert_eq!(count(&test_db, "SELECT count(*) FROM ressources").await, 1);
    assert_eq!(count(&test_db, "SELECT count(*) FROM event_logs").await, 1);

    // Renaming another ressource to the taken code is refused too.
    let (mut nacelle, _) = ressource_with("NAC-01", "Nacelle", "engin_levage");
    repo.insert(&nacelle, &[]).await.unwrap();
    let event = nacelle
        .update(
            RessourceUpdate {
                code: Some(grue.code().clone()),
                ..Default::default()
            },
            now(),
        )
        .unwrap()
        .unwrap();
    assert!(matches!(
        repo.update(&nacelle, &[envelope(&event)]).await,
        Err(RepositoryError::CodeTaken)
    ));

    // Deleted: gone from reads, and its code is free again.
    let mut deleted = grue.clone();
    let event = deleted.supprimer(Uuid::now_v7(), now()).unwrap();
    repo.update(&deleted, &[envelope(&event)]).await.unwrap();
    assert_eq!(repo.find(grue.id()).await.unwrap(), None);
    // Its bookings still show its name.
    assert_eq!(repo.find_many(&[grue.id()]).await.unwrap(), [deleted]);
    repo.insert(&twin, &[created]).await.unwrap();
    // A second deletion (a stale copy) finds nothing to delete.
    let mut again = grue.clone();
    let event = again.supprimer(Uuid::now_v7(), now()).unwrap();
    assert!(matches!(
        repo.update(&again, &[envelope(&event)]).await,
        Err(RepositoryError::NotFound)
    ));
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) FROM event_logs WHERE event_type = 'ressource.deleted'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_lists_by_nom_with_its_filters_and_total() {
    let test_db = TestDatabase::new().await;
    let repo = DieselRessourceRepository::new(test_db.database().clone());
    let (mut camion, _) = ressource_with("CAM-01", "Camion benne", "vehicule");
    let (grue, _) = ressource_with("GRUE-01", "Grue", "engin_levage");
    let (banche, _) = ressource_with("BAN-01", "Banches", "gros_outillage");
    for r in [&camion, &grue, &banche] {
        repo.insert(r, &[]).await.unwrap();
    }
    camion
        .update(
            RessourceUpdate {
                actif: Some(false),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    repo.update(&camion, &[]).await.unwrap();

    let all = RessourceFilter::default();
    let (page, total) = repo.list(&all, Page::new(None, Some(2))).await.unwrap();
    assert_eq!(total, 3);
    let noms: Vec<_> = page.iter().map(|r| r.nom().to_string()).collect();
    assert_eq!(noms, ["Banches", "Camion benne"]);
    let actifs = RessourceFilter {
        actif_seulement: true,
        ..Default::default()
    };
    assert_eq!(
        repo.list(&actifs, Page::new(None, None)).await.unwrap().1,
        2
    );
    let levage = RessourceFilter {
        categorie: Some(CategorieRessource::EnginLevage),
        actif_seulement: true,
    };
    let (found, total) = repo.list(&levage, Page::new(None, None)).await.unwrap();
    assert_eq!((found, total), (vec![grue], 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlapping_booking_is_refused_naming_the_other_and_writes_nothing() {
    let test_db = TestDatabase::new().await;
    let ressources = DieselRessourceRepository::new(test_db.database().clone());
    let repo = DieselReservationRepository::new(test_db.database().clone());
    let grue = stored_ressource(&ressources).await;
    let site = chantier();
    let (first, event) = booking(&grue, &site, DAY, "08:00", "10:00");
    repo.insert(&first, &[event]).await.unwrap();
    assert_eq!(repo.find(first.id()).await.unwrap().as_ref(), Some(&first));
    let events = "SELECT count(*) FROM event_logs WHERE event_type LIKE 'reservation.%'";
    assert_eq!(count(&test_db, events).await, 1);

    let (overlapping, event) = booking(&grue, &site, DAY, "09:30", "11:00");
    match repo.insert(&overlapping, &[event]).await {
        Err(RepositoryError::Overlap { other }) => assert_eq!(other, first.id()),
        other => panic!("expected an overlap, got {other:?}"),
    }
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM reservations").await,
        1
    );
    assert_eq!(count(&test_db, events).await, 1);

    // Touching slots, another day, another ressource: all fine.
    let (touching, event) = booking(&grue, &site, DAY, "10:00", "12:00");
    repo.insert(&touching, &[event]).await.unwrap();
    let (next_day, event) = booking(&grue, &site, date!(2026 - 12 - 11), "09:00", "11:00");
    repo.insert(&next_day, &[event]).await.unwrap();
    let nacelle = stored_ressource(&ressources).await;
    let (elsewhere, event) = booking(&nacelle, &site, DAY, "09:00", "11:00");
    repo.insert(&elsewhere, &[event]).await.unwrap();

    // A cancelled or refused booking frees its slot.
    let mut cancelled = first.clone();
    let event = cancelled.annuler(&admin(), &site, now()).unwrap();
    repo.update(&cancelled, &[envelope(&event)]).await.unwrap();
    let (retry, event) = booking(&grue, &site, DAY, "09:00", "10:00");
    repo.insert(&retry, &[event]).await.unwrap();
    let mut refused = retry.clone();
    let event = refused
        .refuser(
            &admin(),
            &site,
            MotifRefus::parse("Grue en panne").unwrap(),
            now(),
        )
        .unwrap();
    repo.update(&refused, &[envelope(&event)]).await.unwrap();
    assert_eq!(repo.find(retry.id()).await.unwrap(), Some(refused));

    // Moving a pending booking onto another one is refused the same way,
    // and leaves it as it was.
    let mut moved = next_day.clone();
    let event = moved
        .update(
            ReservationUpdate {
                date: Some(DAY),
                ..Default::default()
            },
            next_day.demandeur_id(),
            TODAY,
            now(),
        )
        .unwrap()
        .unwrap();
    match repo.update(&moved, &[envelope(&event)]).await {
        Err(RepositoryError::Overlap { other }) => assert_eq!(other, touching.id()),
        other => panic!("expected an overlap, got {other:?}"),
    }
    assert_eq!(repo.find(next_day.id()).await.unwrap(), Some(next_day));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_overlapping_bookings_leave_exactly_one() {
    let test_db = TestDatabase::with_pool(PoolSettings {
        max_size: 24,
        ..PoolSettings::default()
    })
    .await;
    let ressources = DieselRessourceRepository::new(test_db.database().clone());
    let repo = Arc::new(DieselReservationRepository::new(test_db.database().clone()));
    let grue = stored_ressource(&ressources).await;
    let site = chantier();
    // Twenty different slots that all overlap 10:00-10:30.
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let debut = format!("{:02}:{:02}", 8 + i / 12, (i % 12) * 5);
            booking(&grue, &site, DAY, &debut, "10:30")
        })
        .collect();
    let results = futures::future::join_all(attempts.iter().map(|(reservation, event)| {
        let repo = Arc::clone(&repo);
        let (reservation, event) = (reservation.clone(), event.clone());
        tokio::spawn(async move { repo.insert(&reservation, &[event]).await })
    }))
    .await;
    let results: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    let winners: Vec<usize> = (0..20).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = attempts[winners[0]].0.id();
    for result in results.iter().filter(|r| r.is_err()) {
        match result {
            Err(RepositoryError::Overlap { other }) => assert_eq!(*other, winner),
            other => panic!("expected an overlap, got {other:?}"),
        }
    }
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM reservations").await,
        1
    );
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) FROM event_logs WHERE event_type = 'reservation.created'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_update_is_refused() {
    let test_db = TestDatabase::new().await;
    let ressources = DieselRessourceRepository::new(test_db.database().clone());
    let repo = DieselReservationRepository::new(test_db.database().clone());
    let grue = stored_ressource(&ressources).await;
    let site = chantier();
    let (pending, event) = booking(&grue, &site, DAY, "08:00", "10:00");
    repo.insert(&pending, &[event]).await.unwrap();
    let (mut a, mut b) = (pending.clone(), pending.clone());
    let event = a.valider(&admin(), &site, now()).unwrap();
    repo.update(&a, &[envelope(&event)]).await.unwrap();
    let event = b.annuler(&admin(), &site, now()).unwrap();
    assert!(matches!(
        repo.update(&b, &[envelope(&event)]).await,
        Err(RepositoryError::Conflict)
    ));
    assert_eq!(
        repo.find(pending.id()).await.unwrap().unwrap().statut(),
        StatutReservation::Validee
    );
    // Never stored: nothing to update.
    let (mut ghost, _) = booking(&grue, &site, DAY, "14:00", "15:00");
    let event = ghost.annuler(&admin(), &site, now()).unwrap();
    assert!(matches!(
        repo.update(&ghost, &[envelope(&event)]).await,
        Err(RepositoryError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_list_by_ressource_chantier_statut_and_dates_in_either_order() {
    let test_db = TestDatabase::new().await;
    let ressources = DieselRessourceRepository::new(test_db.database().clone());
    let repo = DieselReservationRepository::new(test_db.database().clone());
    let grue = stored_ressource(&ressources).await;
    let camion = stored_ressource(&ressources).await;
    let (site, other_site) = (chantier(), chantier());
    let (a, e) = booking(&grue, &site, date!(2026 - 12 - 07), "13:00", "15:00");
    repo.insert(&a, &[e]).await.unwrap();
    let (b, e) = booking(&grue, &site, date!(2026 - 12 - 07), "08:00", "10:00");
    repo.insert(&b, &[e]).await.unwrap();
    let (c, e) = booking(&grue, &other_site, date!(2026 - 12 - 15), "08:00", "10:00");
    repo.insert(&c, &[e]).await.unwrap();
    let (d, e) = booking(&camion, &site, date!(2026 - 12 - 08), "08:00", "10:00");
    repo.insert(&d, &[e]).await.unwrap();
    let mut cancelled = a.clone();
    let event = cancelled.annuler(&admin(), &site, now()).unwrap();
    repo.update(&cancelled, &[envelope(&event)]).await.unwrap();

    let ids = |found: &[Reservation]| found.iter().map(Reservation::id).collect::<Vec<_>>();
    let week = ReservationFilter {
        ressource_id: Some(grue.id()),
        statuts: vec![StatutReservation::EnAttente, StatutReservation::Validee],
        date_debut: Some(date!(2026 - 12 - 07)),
        date_fin: Some(date!(2026 - 12 - 13)),
        ..Default::default()
    };
    let (found, total) = repo.list(&week, Page::new(None, None)).await.unwrap();
    assert_eq!((ids(&found), total), (vec![b.id()], 1));

    let historique = ReservationFilter {
        ressource_id: Some(grue.id()),
        order: ReservationOrder::Recent,
        ..Default::default()
    };
    let (found, total) = repo.list(&historique, Page::new(None, None)).await.unwrap();
    assert_eq!((ids(&found), total), (vec![c.id(), a.id(), b.id()], 3));
    let (found, total) = repo
        .list(&historique, Page::new(Some(1), Some(1)))
        .await
        .unwrap();
    assert_eq!((ids(&found), total), (vec![a.id()], 3));

    let on_site = ReservationFilter {
        chantier_ids: Some(vec![site.chantier_id]),
        statuts: vec![StatutReservation::EnAttente],
        ..Default::default()
    };
    let (found, _) = repo.list(&on_site, Page::new(None, None)).await.unwrap();
    assert_eq!(ids(&found), [b.id(), d.id()]);
    let nowhere = ReservationFilter {
        chantier_ids: Some(vec![]),
        ..Default::default()
    };
    assert_eq!(
        repo.list(&nowhere, Page::new(None, None)).await.unwrap().1,
        0
    );

    let active = repo
        .active_from(site.chantier_id, date!(2026 - 12 - 08))
        .await
        .unwrap();
    assert_eq!(ids(&active), [d.id()]);
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
    users
        .handle(
            &mut conn,
            &relayed(
                1,
                "user.created",
                ("user", karim),
                json!({"user_id": karim,
                "email": "k@x.fr", "nom": "Benali", "prenom": "Karim", "role": "compagnon",
                "type_utilisateur": "employe"}),
            ),
        )
        .await
        .unwrap();
    let snapshot = |statut: &str| {
        json!({"chantier_id": site, "code": "CH-1", "nom": "Tour", "adresse": "1 quai",
        "statut": statut, "conducteur_ids": [julien], "chef_chantier_ids": [chef]})
    };
    chantiers
        .handle(
            &mut conn,
            &relayed(
                2,
                "chantier.created",
                ("chantier", site),
                snapshot("en_cours"),
            ),
        )
        .await
        .unwrap();
    let known = directory.chantier(site).await.unwrap().unwrap();
    assert!(!known.ferme);
    assert_eq!(known.conducteur_ids, [julien]);
    assert_eq!(known.chef_chantier_ids, [chef]);
    assert_eq!(directory.chantiers_run_by(chef).await.unwrap(), [known]);
    assert!(directory.chantiers_run_by(karim).await.unwrap().is_empty());
    let noms = directory.noms(&[karim, julien], &[site]).await.unwrap();
    assert_eq!(
        noms.utilisateurs.get(&karim).map(String::as_str),
        Some("Karim Benali")
    );
    assert_eq!(noms.utilisateurs.get(&julien), None);
    assert_eq!(noms.chantiers.get(&site).map(String::as_str), Some("Tour"));

    let mut closed = snapshot("ferme");
    closed["ancien_statut"] = json!("en_cours");
    closed["nouveau_statut"] = json!("ferme");
    chantiers
        .handle(
            &mut conn,
            &relayed(3, "chantier.statut_changed", ("chantier", site), closed),
        )
        .await
        .unwrap();
    assert!(directory.chantier(site).await.unwrap().unwrap().ferme);
    chantiers
        .handle(
            &mut conn,
            &relayed(4, "chantier.deleted", ("chantier", site), snapshot("ferme")),
        )
        .await
        .unwrap();
    assert_eq!(directory.chantier(site).await.unwrap(), None);
    assert!(directory.chantiers_run_by(chef).await.unwrap().is_empty());
    assert_eq!(directory.chantier(Uuid::now_v7()).await.unwrap(), None);
}

/// A vehicule: its bookings are validated at once.
async fn stored_vehicule(repo: &DieselRessourceRepository) -> Ressource {
    let (camion, created) = ressource_with(
        &format!("CAM-{}", &Uuid::now_v7().simple().to_string()[26..]),
        "Camion benne",
        "vehicule",
    );
    repo.insert(&camion, &[created]).await.unwrap();
    camion
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reminder_goes_out_once_per_validated_booking_of_tomorrow() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let ressources = DieselRessourceRepository::new(db.clone());
    let repo = DieselReservationRepository::new(db.clone());
    let camion = stored_vehicule(&ressources).await;
    let grue = stored_ressource(&ressources).await;
    let site = chantier();
    let (tomorrow, e) = booking(&camion, &site, DAY, "07:00", "09:00");
    assert_eq!(tomorrow.statut(), StatutReservation::Validee);
    repo.insert(&tomorrow, &[e]).await.unwrap();
    let (pending, e) = booking(&grue, &site, DAY, "07:00", "09:00");
    repo.insert(&pending, &[e]).await.unwrap();
    let (later, e) = booking(&camion, &site, date!(2026 - 12 - 12), "07:00", "09:00");
    repo.insert(&later, &[e]).await.unwrap();

    // The day before DAY; two rounds at once (two instances without the
    // platform's lock) still remind once.
    let at = datetime!(2026-12-09 18:00 UTC);
    let job = RappelJob::new();
    let (a, b) = tokio::join!(job.run(db, at), job.run(db, at));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(job.run(db, at).await.unwrap(), 0, "already reminded");
    let reminders = "SELECT count(*) FROM event_logs WHERE event_type = 'reservation.reminder_due'";
    assert_eq!(count(&test_db, reminders).await, 1);
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) FROM event_logs WHERE event_type = 'reservation.reminder_due' \
                 AND data->>'reservation_id' = '{}' AND data->>'ressource_code' = '{}'",
                tomorrow.id(),
                camion.code()
            )
        )
        .await,
        1
    );
    // The mark is not a change of the booking: it is still at its version.
    assert_eq!(repo.find(tomorrow.id()).await.unwrap(), Some(tomorrow));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_chantier_event_cancels_its_future_bookings_once() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let ressources = DieselRessourceRepository::new(db.clone());
    let repo = DieselReservationRepository::new(db.clone());
    let camion = stored_vehicule(&ressources).await;
    let site = chantier();
    let (past, e) = booking(&camion, &site, date!(2026 - 12 - 08), "07:00", "09:00");
    repo.insert(&past, &[e]).await.unwrap();
    let (future, e) = booking(&camion, &site, DAY, "07:00", "09:00");
    repo.insert(&future, &[e]).await.unwrap();
    let (elsewhere, e) = booking(&camion, &chantier(), DAY, "10:00", "11:00");
    repo.insert(&elsewhere, &[e]).await.unwrap();

    let subscriber = ChantierFermeSubscriber::new(LogistiquePorts {
        ressources: Arc::new(ressources.clone()),
        reservations: Arc::new(repo.clone()),
        directory: Arc::new(DieselDirectory::new(db.clone())),
        clock: Arc::new(FixedClock(datetime!(2026-12-09 10:00 UTC))),
    });
    let snapshot = |statut: &str| json!({"chantier_id": site.chantier_id, "statut": statut});
    let aggregate = ("chantier", site.chantier_id);
    let mut conn = db.connection().await.unwrap();
    subscriber
        .handle(
            &mut conn,
            &relayed(1, "chantier.updated", aggregate, snapshot("en_cours")),
        )
        .await
        .unwrap();
    let cancelled = "SELECT count(*) FROM event_logs WHERE event_type = 'reservation.cancelled'";
    assert_eq!(count(&test_db, cancelled).await, 0);
    let closed = relayed(2, "chantier.statut_changed", aggregate, snapshot("ferme"));
    subscriber.handle(&mut conn, &closed).await.unwrap();
    // Delivered again: nothing left to cancel.
    subscriber.handle(&mut conn, &closed).await.unwrap();
    assert_eq!(count(&test_db, cancelled).await, 1);
    let after = repo.find(future.id()).await.unwrap().unwrap();
    assert_eq!(after.statut(), StatutReservation::Annulee);
    assert_eq!(
        after.stored().motif_annulation.as_deref(),
        Some(MOTIF_FERME)
    );
    assert_eq!(after.stored().cancelled_by, None);
    assert_eq!(
        repo.find(past.id()).await.unwrap(),
        Some(past),
        "the past stays"
    );
    assert_eq!(repo.find(elsewhere.id()).await.unwrap(), Some(elsewhere));
}
