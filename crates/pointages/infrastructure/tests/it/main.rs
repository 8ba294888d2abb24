//! The pointage repository against a real PostgreSQL: row and events in one
//! transaction, one pointage per user, chantier and day under concurrency,
//! lost updates, the workflow read back, filters and scoping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_kernel::{DomainEvent, EventEnvelope, EventMetadata, Page, to_storage_precision};
use hub_platform_test_db::TestDatabase;
use hub_pointages_application::{PointageFilter, PointageRepository, RepositoryError};
use hub_pointages_domain::{
    Commentaire, HeuresMinutes, Motif, NouveauPointage, Pointage, SignatureTexte, Statut,
};
use hub_pointages_infrastructure::DieselPointageRepository;
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
}
