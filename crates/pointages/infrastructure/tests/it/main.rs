//! The pointage repository against a real PostgreSQL: row and events in one
//! transaction, one pointage per user, chantier and day under concurrency,
//! lost updates, the workflow read back, filters and scoping; variables de
//! paie (exact values, only on an editable pointage, gone with it); the
//! planning reaction (drafts from affectation events, once, and taken back).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_kernel::{
    DomainEvent, EventEnvelope, EventMetadata, EventType, Page, SystemClock, to_storage_precision,
};
use hub_platform_postgres::{DurableSubscriber, RelayedEvent};
use hub_platform_test_db::TestDatabase;
use hub_pointages_application::{
    FeuilleFilter, PointageFilter, PointageRepository, RepositoryError,
};
use hub_pointages_domain::{
    Commentaire, HeuresMinutes, Motif, NouveauPointage, NouvelleVariable, Pointage, SignatureTexte,
    Statut, TypeVariable, Valeur, VariablePaie,
};
use hub_pointages_infrastructure::{AffectationsSubscriber, DieselPointageRepository};
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

fn nouveau(user: Uuid, chantier: Uuid, day: Date) -> (Pointage, EventEnvelope) {
    let (pointage, event) = Pointage::create(
        NouveauPointage {
            utilisateur_id: user,
            chantier_id: chantier,
            date: day,
            heures_normales: HeuresMinutes::parse("7:30").unwrap(),
            heures_supplementaires: HeuresMinutes::parse("1:15").unwrap(),
            commentaire: Commentaire::parse(Some("Coffrage")).unwrap(),
            affectation_id: Some(Uuid::now_v7()),
        },
        Some(user),
        now(),
    );
    let envelope = envelope(&event);
    (pointage, envelope)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn events(test_db: &TestDatabase) -> i64 {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query("SELECT count(*) FROM event_logs WHERE event_type LIKE 'heures.%'")
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workflow_reads_back_equal_with_each_event_in_the_outbox() {
    let test_db = TestDatabase::new().await;
    let repo = DieselPointageRepository::new(test_db.database().clone());
    let (mut p, created) = nouveau(Uuid::now_v7(), Uuid::now_v7(), date!(2026 - 12 - 07));
    repo.insert(&p, &[created]).await.unwrap();
    assert_eq!(repo.find(p.id()).await.unwrap().as_ref(), Some(&p));

    let signed = p
        .sign(
            SignatureTexte::parse("data:image/png;base64,AAAA").unwrap(),
            now(),
        )
        .unwrap();
    repo.update(&p, &[envelope(&signed)]).await.unwrap();
    let submitted = p.submit(now()).unwrap();
    repo.update(&p, &[envelope(&submitted)]).await.unwrap();
    let chef = Uuid::now_v7();
    let rejected = p
        .reject(chef, Motif::parse("7 h seulement").unwrap(), now())
        .unwrap();
    repo.update(&p, &[envelope(&rejected)]).await.unwrap();
    assert_eq!(repo.find(p.id()).await.unwrap().as_ref(), Some(&p));
    let corrected = p.correct(now()).unwrap();
    repo.update(&p, &[envelope(&corrected)]).await.unwrap();
    let resubmitted = p.submit(now()).unwrap();
    repo.update(&p, &[envelope(&resubmitted)]).await.unwrap();
    let validated = p.validate(chef, now()).unwrap();
    repo.update(&p, &[envelope(&validated)]).await.unwrap();
    let stored = repo.find(p.id()).await.unwrap().unwrap();
    assert_eq!(stored, p);
    assert_eq!(stored.statut(), Statut::Valide);
    assert_eq!(stored.motif_rejet(), None);
    assert_eq!(events(&test_db).await, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pointage_per_user_chantier_and_day_even_under_concurrency() {
    let test_db = TestDatabase::new().await;
    let repo = Arc::new(DieselPointageRepository::new(test_db.database().clone()));
    let (user, chantier, day) = (Uuid::now_v7(), Uuid::now_v7(), date!(2026 - 12 - 07));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let repo = repo.clone();
            tokio::spawn(async move {
                let (p, event) = nouveau(user, chantier, day);
                repo.insert(&p, &[event]).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(RepositoryError::Conflict {
                utilisateur_id,
                chantier_id,
                date,
            }) => assert_eq!((utilisateur_id, chantier_id, date), (user, chantier, day)),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    // A refused insert stores no event either.
    assert_eq!(events(&test_db).await, 1);
    // Another chantier the same day is fine.
    let (other, event) = nouveau(user, Uuid::now_v7(), day);
    repo.insert(&other, &[event]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_write_is_refused_and_delete_removes_the_row() {
    let test_db = TestDatabase::new().await;
    let repo = DieselPointageRepository::new(test_db.database().clone());
    let (mut p, created) = nouveau(Uuid::now_v7(), Uuid::now_v7(), date!(2026 - 12 - 08));
    repo.insert(&p, &[created]).await.unwrap();
    let mut stale = p.clone();
    let submitted = p.submit(now()).unwrap();
    repo.update(&p, &[envelope(&submitted)]).await.unwrap();
    let again = stale.submit(now()).unwrap();
    assert!(matches!(
        repo.update(&stale, &[envelope(&again)]).await,
        Err(RepositoryError::Changed)
    ));
    let fresh = nouveau(Uuid::now_v7(), Uuid::now_v7(), date!(2026 - 12 - 08));
    let deleted = fresh.0.delete().unwrap();
    repo.insert(&fresh.0, &[fresh.1]).await.unwrap();
    repo.delete(&fresh.0, &[envelope(&deleted)]).await.unwrap();
    assert_eq!(repo.find(fresh.0.id()).await.unwrap(), None);
    assert!(matches!(
        repo.delete(&fresh.0, &[envelope(&deleted)]).await,
        Err(RepositoryError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_scopes_and_orders_by_date_descending() {
    let test_db = TestDatabase::new().await;
    let repo = DieselPointageRepository::new(test_db.database().clone());
    let (karim, lea, site, other_site) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    for (user, chantier, day) in [
        (karim, site, date!(2026 - 12 - 07)),
        (karim, site, date!(2026 - 12 - 08)),
        (lea, other_site, date!(2026 - 12 - 07)),
        (lea, site, date!(2026 - 12 - 09)),
    ] {
        let (p, event) = nouveau(user, chantier, day);
        repo.insert(&p, &[event]).await.unwrap();
    }
    let page = Page::new(None, None);
    let (all, total) = repo.list(&PointageFilter::default(), page).await.unwrap();
    assert_eq!(total, 4);
    let dates: Vec<Date> = all.iter().map(Pointage::date).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    let week = PointageFilter {
        utilisateur_id: Some(karim),
        date_debut: Some(date!(2026 - 12 - 08)),
        date_fin: Some(date!(2026 - 12 - 13)),
        statut: Some(Statut::Brouillon),
        ..PointageFilter::default()
    };
    assert_eq!(repo.list(&week, page).await.unwrap().1, 1);
    // Léa as a compagnon sees her own two; a chef of `site` sees its three.
    let own = PointageFilter {
        visible_user: Some(lea),
        ..PointageFilter::default()
    };
    assert_eq!(repo.list(&own, page).await.unwrap().1, 2);
    let chef = PointageFilter {
        visible_user: Some(Uuid::now_v7()),
        visible_chantiers: vec![site],
        ..PointageFilter::default()
    };
    assert_eq!(repo.list(&chef, page).await.unwrap().1, 3);
    let submitted = PointageFilter {
        statut: Some(Statut::Soumis),
        ..PointageFilter::default()
    };
    assert_eq!(repo.list(&submitted, page).await.unwrap().1, 0);
    // Some users at once, and the distinct users a filter selects (what an
    // export walks through), scope included.
    let some = PointageFilter {
        utilisateur_ids: vec![lea, Uuid::now_v7()],
        ..PointageFilter::default()
    };
    assert_eq!(repo.list(&some, page).await.unwrap().1, 2);
    let mut both = vec![karim, lea];
    both.sort_unstable();
    assert_eq!(
        repo.utilisateurs(&PointageFilter::default()).await.unwrap(),
        both
    );
    let other = PointageFilter {
        visible_user: Some(Uuid::now_v7()),
        visible_chantiers: vec![other_site],
        ..PointageFilter::default()
    };
    assert_eq!(repo.utilisateurs(&other).await.unwrap(), [lea]);
    assert!(repo.utilisateurs(&submitted).await.unwrap().is_empty());
}

#[tokio::test]
async fn feuilles_are_users_weeks_with_their_global_statut_scoped_and_paged() {
    let test_db = TestDatabase::new().await;
    let repo = DieselPointageRepository::new(test_db.database().clone());
    let (karim, lea, site, other_site, chef) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    // Karim: week 50 of 2026 (one soumis, one brouillon → soumis) and
    // week 1 of 2027, which starts on Monday 2027-01-04 (all valide).
    // Léa: week 50 on the other site (brouillon), and the Sunday
    // 2027-01-03, which is still ISO week 53 of 2026.
    let mut stored = Vec::new();
    for (user, chantier, day) in [
        (karim, site, date!(2026 - 12 - 07)),
        (karim, site, date!(2026 - 12 - 13)),
        (karim, site, date!(2027 - 01 - 04)),
        (lea, other_site, date!(2026 - 12 - 08)),
        (lea, other_site, date!(2027 - 01 - 03)),
    ] {
        let (p, event) = nouveau(user, chantier, day);
        repo.insert(&p, &[event]).await.unwrap();
        stored.push(p);
    }
    let submit = |p: &mut Pointage| {
        let event = p.submit(now()).unwrap();
        envelope(&event)
    };
    let mut soumis = stored[0].clone();
    let event = submit(&mut soumis);
    repo.update(&soumis, &[event]).await.unwrap();
    let mut valide = stored[2].clone();
    let event = submit(&mut valide);
    repo.update(&valide, &[event]).await.unwrap();
    let event = valide.validate(chef, now()).unwrap();
    repo.update(&valide, &[envelope(&event)]).await.unwrap();

    let all = FeuilleFilter::default();
    let page = Page::new(None, None);
    let (keys, total) = repo.feuilles(&all, page).await.unwrap();
    assert_eq!(total, 4);
    let mut expected_week_50 = vec![(karim, date!(2026 - 12 - 07)), (lea, date!(2026 - 12 - 07))];
    expected_week_50.sort();
    let mut expected_week_53 = vec![(lea, date!(2026 - 12 - 28))];
    let mut expected = vec![(karim, date!(2027 - 01 - 04))];
    expected.append(&mut expected_week_53);
    expected.extend(expected_week_50);
    assert_eq!(keys, expected);
    // By global statut, ISO year and week, user; paged with the total kept.
    let by = |statut| FeuilleFilter {
        statut: Some(statut),
        ..FeuilleFilter::default()
    };
    assert_eq!(
        repo.feuilles(&by(Statut::Soumis), page).await.unwrap().0,
        [(karim, date!(2026 - 12 - 07))]
    );
    assert_eq!(
        repo.feuilles(&by(Statut::Valide), page).await.unwrap().0,
        [(karim, date!(2027 - 01 - 04))]
    );
    assert_eq!(
        repo.feuilles(&by(Statut::Brouillon), page).await.unwrap().1,
        2
    );
    assert_eq!(repo.feuilles(&by(Statut::Rejete), page).await.unwrap().1, 0);
    let week_53 = FeuilleFilter {
        annee: Some(2026),
        numero_semaine: Some(53),
        ..FeuilleFilter::default()
    };
    assert_eq!(
        repo.feuilles(&week_53, page).await.unwrap().0,
        [(lea, date!(2026 - 12 - 28))]
    );
    let of_2026 = FeuilleFilter {
        annee: Some(2026),
        utilisateur_id: Some(karim),
        ..FeuilleFilter::default()
    };
    assert_eq!(repo.feuilles(&of_2026, page).await.unwrap().1, 1);
    let second = Page { skip: 1, limit: 2 };
    let (keys, total) = repo.feuilles(&all, second).await.unwrap();
    assert_eq!((keys.len(), total), (2, 4));
    let past_the_end = Page { skip: 10, limit: 2 };
    assert_eq!(
        repo.feuilles(&all, past_the_end).await.unwrap(),
        (vec![], 4)
    );
    // Scope: a chef of `site` sees Karim's weeks (and his own, none).
    let chef_scope = FeuilleFilter {
        visible_user: Some(chef),
        visible_chantiers: vec![site],
        ..FeuilleFilter::default()
    };
    assert_eq!(repo.feuilles(&chef_scope, page).await.unwrap().1, 2);
    let lea_scope = FeuilleFilter {
        visible_user: Some(lea),
        ..FeuilleFilter::default()
    };
    assert_eq!(repo.feuilles(&lea_scope, page).await.unwrap().1, 2);
}

fn relayed(seq: i64, event_type: &'static str, aggregate_id: Uuid, data: Value) -> RelayedEvent {
    RelayedEvent {
        seq,
        envelope: Arc::new(EventEnvelope {
            event_id: Uuid::now_v7(),
            event_type: EventType::from_static(event_type).unwrap(),
            aggregate_type: "affectation".into(),
            aggregate_id: aggregate_id.to_string(),
            occurred_at: now(),
            actor_id: Some(Uuid::from_u128(42)),
            correlation_id: Some("req-planning".into()),
            causation_id: None,
            schema_version: 1,
            data,
        }),
    }
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
async fn affectation_events_make_drafts_once_and_take_back_unsigned_ones() {
    let test_db = TestDatabase::new().await;
    let repo = DieselPointageRepository::new(test_db.database().clone());
    let subscriber = AffectationsSubscriber::new(Arc::new(SystemClock)).unwrap();
    let (karim, site) = (Uuid::now_v7(), Uuid::now_v7());
    let (monday, tuesday, wednesday) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut conn = test_db.database().connection().await.unwrap();

    let created = relayed(
        1,
        "affectation.created",
        monday,
        json!({"affectation_id": monday, "utilisateur_id": karim, "chantier_id": site,
               "date": "2026-12-07", "heure_debut": "07:30", "heure_fin": "16:30",
               "note": null, "type_affectation": "unique"}),
    );
    subscriber.handle(&mut conn, &created).await.unwrap();
    // The same event again, and another affectation of the same day: nothing more.
    subscriber.handle(&mut conn, &created).await.unwrap();
    let same_day = relayed(
        2,
        "affectation.created",
        Uuid::now_v7(),
        json!({"affectation_id": Uuid::now_v7(), "utilisateur_id": karim, "chantier_id": site,
               "date": "2026-12-07", "type_affectation": "unique"}),
    );
    subscriber.handle(&mut conn, &same_day).await.unwrap();
    let bulk = relayed(
        3,
        "affectation.bulk_created",
        tuesday,
        json!({"affectation_id": tuesday, "affectation_ids": [tuesday, wednesday],
        "chantier_id": site, "count": 2, "source": "bulk", "utilisateur_id": karim,
        "affectations": [
            {"affectation_id": tuesday, "utilisateur_id": karim, "date": "2026-12-08",
             "heure_debut": null, "heure_fin": null},
            {"affectation_id": wednesday, "utilisateur_id": karim, "date": "2026-12-09"}
        ]}),
    );
    subscriber.handle(&mut conn, &bulk).await.unwrap();
    // Unreadable: nothing, and no error holding up the relay.
    let garbled = relayed(4, "affectation.created", Uuid::now_v7(), json!({"date": 7}));
    subscriber.handle(&mut conn, &garbled).await.unwrap();

    let (rows, _) = repo
        .list(
            &PointageFilter {
                utilisateur_id: Some(karim),
                ..PointageFilter::default()
            },
            Page::new(None, None),
        )
        .await
        .unwrap();
    let mut by_date: Vec<(Date, u32, Option<Uuid>)> = rows
        .iter()
        .map(|p| (p.date(), p.heures_normales().minutes(), p.affectation_id()))
        .collect();
    by_date.sort();
    assert_eq!(
        by_date,
        [
            (date!(2026 - 12 - 07), 540, Some(monday)),
            (date!(2026 - 12 - 08), 480, Some(tuesday)),
            (date!(2026 - 12 - 09), 480, Some(wednesday)),
        ]
    );
    assert!(rows.iter().all(|p| p.statut() == Statut::Brouillon));
    assert!(
        rows.iter()
            .all(|p| p.created_by() == Some(Uuid::from_u128(42)))
    );
    let caused = format!(
        "SELECT count(*) FROM event_logs WHERE event_type = 'heures.created' \
         AND causation_id = '{}' AND actor_id = '{}' AND correlation_id = 'req-planning'",
        created.event_id,
        Uuid::from_u128(42)
    );
    assert_eq!(count(&test_db, &caused).await, 1);
    assert_eq!(events(&test_db).await, 3);

    // Tuesday is signed; Monday, Tuesday and Wednesday are removed: the
    // unsigned drafts go, the signed one stays.
    let mut signed = rows
        .iter()
        .find(|p| p.affectation_id() == Some(tuesday))
        .unwrap()
        .clone();
    let event = signed
        .sign(SignatureTexte::parse("Karim").unwrap(), now())
        .unwrap();
    repo.update(&signed, &[envelope(&event)]).await.unwrap();
    let deleted = relayed(
        5,
        "affectation.deleted",
        monday,
        json!({"affectation_id": monday, "utilisateur_id": karim, "chantier_id": site,
               "date": "2026-12-07"}),
    );
    subscriber.handle(&mut conn, &deleted).await.unwrap();
    let cancelled = relayed(
        6,
        "affectation.cancelled",
        tuesday,
        json!({"affectation_id": tuesday, "utilisateur_id": karim, "chantier_id": site,
               "date": "2026-12-08", "raison": "Pluie", "cancelled_by": null}),
    );
    subscriber.handle(&mut conn, &cancelled).await.unwrap();
    let bulk_deleted = relayed(
        7,
        "affectation.bulk_deleted",
        wednesday,
        json!({"affectation_id": wednesday, "affectation_ids": [wednesday],
               "chantier_id": site, "count": 1}),
    );
    subscriber.handle(&mut conn, &bulk_deleted).await.unwrap();
    let remaining = count(
        &test_db,
        &format!("SELECT count(*) FROM pointages WHERE utilisateur_id = '{karim}'"),
    )
    .await;
    assert_eq!(remaining, 1);
    assert!(repo.find(signed.id()).await.unwrap().is_some());
    let removals = format!(
        "SELECT count(*) FROM event_logs WHERE event_type = 'heures.deleted' \
         AND causation_id IN ('{}', '{}')",
        deleted.event_id, bulk_deleted.event_id
    );
    assert_eq!(count(&test_db, &removals).await, 2);

    // Replaying the creation after its draft was removed makes nothing.
    subscriber.handle(&mut conn, &created).await.unwrap();
    assert_eq!(
        count(
            &test_db,
            &format!("SELECT count(*) FROM pointages WHERE utilisateur_id = '{karim}'"),
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_stores_events_that_change_no_pointage() {
    let test_db = TestDatabase::new().await;
    let repo = DieselPointageRepository::new(test_db.database().clone());
    let (_, created) = nouveau(Uuid::now_v7(), Uuid::now_v7(), date!(2026 - 12 - 07));
    repo.publish(&[created]).await.unwrap();
    assert_eq!(events(&test_db).await, 1);
    assert_eq!(count(&test_db, "SELECT count(*) FROM pointages").await, 0);
}

fn variable(
    p: &Pointage,
    type_variable: TypeVariable,
    valeur: &str,
) -> (VariablePaie, EventEnvelope) {
    let (variable, event) = VariablePaie::create(
        p,
        NouvelleVariable {
            type_variable,
            valeur: Valeur::parse(valeur).unwrap(),
            date_application: p.date(),
            commentaire: Commentaire::parse(Some("chantier de nuit")).unwrap(),
        },
        Some(p.utilisateur_id()),
        now(),
    )
    .unwrap();
    let envelope = envelope(&event);
    (variable, envelope)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_read_back_exact_only_on_editable_pointages_and_go_with_them() {
    let test_db = TestDatabase::new().await;
    let repo = DieselPointageRepository::new(test_db.database().clone());
    let (mut p, created) = nouveau(Uuid::now_v7(), Uuid::now_v7(), date!(2026 - 12 - 07));
    repo.insert(&p, &[created]).await.unwrap();
    let (nuit, event) = variable(&p, TypeVariable::HeuresNuit, "2.5");
    repo.insert_variable(&nuit, &[event]).await.unwrap();
    // The largest value the original's Numeric(10,2) holds, exactly.
    let (panier, event) = variable(&p, TypeVariable::PanierRepas, "99999999.99");
    repo.insert_variable(&panier, &[event]).await.unwrap();
    let read = repo.variables(&[p.id(), Uuid::now_v7()]).await.unwrap();
    assert_eq!(read, [nuit.clone(), panier.clone()]);
    assert_eq!(read[1].valeur.to_string(), "99999999.99");
    assert!(repo.variables(&[]).await.unwrap().is_empty());
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) FROM event_logs WHERE event_type = 'variable_paie.created'"
        )
        .await,
        2
    );

    // Submitted: refused, and neither the row nor its event is stored.
    let submitted = p.submit(now()).unwrap();
    repo.update(&p, &[envelope(&submitted)]).await.unwrap();
    // Built from the pointage as it was (still brouillon): the database
    // refuses it all the same.
    let (late, event) = variable(
        &Pointage::restore(hub_pointages_domain::Restored {
            statut: Statut::Brouillon,
            ..restored(&p)
        }),
        TypeVariable::Rtt,
        "1",
    );
    assert!(matches!(
        repo.insert_variable(&late, &[event]).await,
        Err(RepositoryError::Changed)
    ));
    assert_eq!(repo.variables(&[p.id()]).await.unwrap().len(), 2);
    assert_eq!(
        count(
            &test_db,
            "SELECT count(*) FROM event_logs WHERE event_type = 'variable_paie.created'"
        )
        .await,
        2
    );

    // A pointage that does not exist.
    let (ghost, _) = nouveau(Uuid::now_v7(), Uuid::now_v7(), date!(2026 - 12 - 07));
    let (orphan, event) = variable(&ghost, TypeVariable::Rtt, "1");
    assert!(matches!(
        repo.insert_variable(&orphan, &[event]).await,
        Err(RepositoryError::NotFound)
    ));

    // Deleting a pointage deletes its variables (ON DELETE CASCADE).
    let (draft, created) = nouveau(Uuid::now_v7(), Uuid::now_v7(), date!(2026 - 12 - 08));
    repo.insert(&draft, &[created]).await.unwrap();
    let (v, event) = variable(&draft, TypeVariable::Deplacement, "12.30");
    repo.insert_variable(&v, &[event]).await.unwrap();
    let deleted = draft.delete().unwrap();
    repo.delete(&draft, &[envelope(&deleted)]).await.unwrap();
    assert!(repo.variables(&[draft.id()]).await.unwrap().is_empty());
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) FROM variables_paie WHERE pointage_id = '{}'",
                draft.id()
            )
        )
        .await,
        0
    );
}

/// Every stored field of `p`, to rebuild it with some changed.
fn restored(p: &Pointage) -> hub_pointages_domain::Restored {
    hub_pointages_domain::Restored {
        id: p.id(),
        utilisateur_id: p.utilisateur_id(),
        chantier_id: p.chantier_id(),
        date: p.date(),
        heures_normales: p.heures_normales(),
        heures_supplementaires: p.heures_supplementaires(),
        statut: p.statut(),
        commentaire: p.commentaire().cloned(),
        signature: p.signature().cloned(),
        validation: p.validation(),
        motif_rejet: p.motif_rejet().cloned(),
        affectation_id: p.affectation_id(),
        created_by: p.created_by(),
        version: p.version(),
        created_at: p.created_at(),
        updated_at: p.updated_at(),
    }
}
