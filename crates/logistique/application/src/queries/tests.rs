use std::sync::Arc;

use hub_kernel::{FixedClock, Role};
use hub_logistique_domain::ChantierInfo;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::*;
use crate::ports::{MockDirectory, MockReservationRepository, MockRessourceRepository};
use crate::{ReservationInput, RessourceInput};

const NOW: OffsetDateTime = datetime!(2026-12-02 09:00 UTC);

fn actor(role: Role) -> Actor {
    Actor {
        user_id: Uuid::now_v7(),
        role,
    }
}

fn ports(
    ressources: MockRessourceRepository,
    reservations: MockReservationRepository,
    directory: MockDirectory,
) -> LogistiquePorts {
    LogistiquePorts {
        ressources: Arc::new(ressources),
        reservations: Arc::new(reservations),
        directory: Arc::new(directory),
        clock: Arc::new(FixedClock(NOW)),
    }
}

fn ressource() -> Ressource {
    let nouvelle = RessourceInput {
        code: "GRUE-01".into(),
        nom: "Grue".into(),
        categorie: "engin_levage".into(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    Ressource::create(nouvelle, Uuid::now_v7(), NOW).0
}

fn site(conducteur: Uuid, chef: Uuid) -> ChantierInfo {
    ChantierInfo {
        chantier_id: Uuid::now_v7(),
        ferme: false,
        conducteur_ids: vec![conducteur],
        chef_chantier_ids: vec![chef],
    }
}

fn booking(r: &Ressource, c: &ChantierInfo, demandeur: Uuid) -> Reservation {
    let nouvelle = ReservationInput {
        ressource_id: r.id(),
        chantier_id: c.chantier_id,
        date_reservation: date!(2026 - 12 - 07),
        heure_debut: "08:00".into(),
        heure_fin: "10:00".into(),
        commentaire: None,
    }
    .validate()
    .unwrap();
    Reservation::create(nouvelle, r, c, demandeur, date!(2026 - 12 - 02), NOW)
        .unwrap()
        .0
}

#[tokio::test]
async fn a_planning_is_a_week_by_default_of_active_bookings_and_bounded() {
    let grue = ressource();
    let id = grue.id();
    let mut ressources = MockRessourceRepository::new();
    ressources
        .expect_find()
        .times(1)
        .returning(move |_| Ok(Some(grue.clone())));
    let mut reservations = MockReservationRepository::new();
    reservations
        .expect_list()
        .withf(move |filter, _| {
            filter.ressource_id == Some(id)
                && filter.date_debut == Some(date!(2026 - 12 - 07))
                && filter.date_fin == Some(date!(2026 - 12 - 13))
                && filter.statuts == [StatutReservation::EnAttente, StatutReservation::Validee]
                && filter.order == ReservationOrder::Chronologique
        })
        .times(1)
        .returning(|_, _| Ok((vec![], 0)));
    let query = PlanningRessource::new(ports(ressources, reservations, MockDirectory::new()));
    let planning = query
        .execute(id, date!(2026 - 12 - 07), None)
        .await
        .unwrap();
    assert_eq!(planning.date_fin, date!(2026 - 12 - 13));
    // Backwards or longer than a month: refused before any read.
    for fin in [date!(2026 - 12 - 06), date!(2027 - 01 - 07)] {
        let refused = query.execute(id, date!(2026 - 12 - 07), Some(fin)).await;
        assert!(matches!(refused, Err(LogistiqueError::Invalid(_))), "{fin}");
    }
}

#[tokio::test]
async fn an_unknown_ressource_has_no_planning_nor_historique() {
    let mut ressources = MockRessourceRepository::new();
    ressources.expect_find().returning(|_| Ok(None));
    let mut reservations = MockReservationRepository::new();
    reservations.expect_list().never();
    let ports = ports(ressources, reservations, MockDirectory::new());
    let planning = PlanningRessource::new(ports.clone())
        .execute(Uuid::now_v7(), date!(2026 - 12 - 07), None)
        .await;
    assert!(matches!(planning, Err(LogistiqueError::RessourceNotFound)));
    let historique = HistoriqueRessource::new(ports.clone())
        .execute(Uuid::now_v7(), Page::new(None, None))
        .await;
    assert!(matches!(
        historique,
        Err(LogistiqueError::RessourceNotFound)
    ));
    let get = GetRessource::new(ports).execute(Uuid::now_v7()).await;
    assert!(matches!(get, Err(LogistiqueError::RessourceNotFound)));
}

#[tokio::test]
async fn pending_bookings_are_scoped_to_the_chantiers_the_caller_validates() {
    let chef = actor(Role::ChefChantier);
    let conducteur_elsewhere = Uuid::now_v7();
    // Listed as chef on one, as conducteur (the wrong role) on the other.
    let validated = site(conducteur_elsewhere, chef.user_id);
    let mislisted = site(chef.user_id, Uuid::now_v7());
    let expected = validated.chantier_id;
    let mut directory = MockDirectory::new();
    directory
        .expect_chantiers_run_by()
        .returning(move |_| Ok(vec![validated.clone(), mislisted.clone()]));
    let mut reservations = MockReservationRepository::new();
    reservations
        .expect_list()
        .withf(move |filter, _| {
            filter.chantier_ids.as_deref() == Some(&[expected][..])
                && filter.statuts == [StatutReservation::EnAttente]
        })
        .times(1)
        .returning(|_, _| Ok((vec![], 0)));
    reservations
        .expect_list()
        .withf(|filter, _| filter.chantier_ids.is_none())
        .times(1)
        .returning(|_, _| Ok((vec![], 0)));
    let query = ReservationsEnAttente::new(ports(
        MockRessourceRepository::new(),
        reservations,
        directory,
    ));
    let page = Page::new(None, None);
    query.execute(&chef, page).await.unwrap();
    query.execute(&actor(Role::Admin), page).await.unwrap();
    let refused = query.execute(&actor(Role::Compagnon), page).await;
    assert!(matches!(refused, Err(LogistiqueError::Forbidden(_))));
}

#[tokio::test]
async fn a_chantiers_bookings_are_all_for_its_valideurs_and_ones_own_for_others() {
    let conducteur = actor(Role::Conducteur);
    let compagnon = actor(Role::Compagnon);
    let chantier = site(conducteur.user_id, Uuid::now_v7());
    let id = chantier.chantier_id;
    let mut directory = MockDirectory::new();
    directory
        .expect_chantier()
        .returning(move |_| Ok(Some(chantier.clone())));
    let mut reservations = MockReservationRepository::new();
    reservations
        .expect_list()
        .withf(move |f, _| f.chantier_ids.as_deref() == Some(&[id][..]) && f.demandeur_id.is_none())
        .times(1)
        .returning(|_, _| Ok((vec![], 0)));
    let own = compagnon.user_id;
    reservations
        .expect_list()
        .withf(move |f, _| f.demandeur_id == Some(own))
        .times(1)
        .returning(|_, _| Ok((vec![], 0)));
    let query = ReservationsChantier::new(ports(
        MockRessourceRepository::new(),
        reservations,
        directory,
    ));
    let page = Page::new(None, None);
    query
        .execute(&conducteur, id, (None, None), page)
        .await
        .unwrap();
    query
        .execute(&compagnon, id, (None, None), page)
        .await
        .unwrap();
}

#[tokio::test]
async fn names_are_looked_up_once_per_id() {
    let grue = ressource();
    let chantier = site(Uuid::now_v7(), Uuid::now_v7());
    let demandeur = Uuid::now_v7();
    let bookings = vec![
        booking(&grue, &chantier, demandeur),
        booking(&grue, &chantier, demandeur),
    ];
    let (chantier_id, ressource_id) = (chantier.chantier_id, grue.id());
    let mut directory = MockDirectory::new();
    directory
        .expect_noms()
        .withf(move |users, chantiers| users == [demandeur] && chantiers == [chantier_id])
        .times(1)
        .returning(|_, _| Ok(Noms::default()));
    let mut ressources = MockRessourceRepository::new();
    ressources
        .expect_find_many()
        .withf(move |ids| ids == [ressource_id])
        .times(1)
        .returning(move |_| Ok(vec![grue.clone()]));
    let libelles = DisplayNames::new(ports(
        ressources,
        MockReservationRepository::new(),
        directory,
    ))
    .execute(&bookings)
    .await
    .unwrap();
    assert!(libelles.ressources.contains_key(&ressource_id));
}

#[tokio::test]
async fn an_unknown_categorie_is_refused() {
    let mut ressources = MockRessourceRepository::new();
    ressources.expect_list().never();
    let query = ListRessources::new(ports(
        ressources,
        MockReservationRepository::new(),
        MockDirectory::new(),
    ));
    let refused = query
        .execute(Some("grue"), true, Page::new(None, None))
        .await;
    assert!(matches!(refused, Err(LogistiqueError::Invalid(_))));
}

#[test]
fn an_iso_week_is_its_monday_to_sunday() {
    assert_eq!(
        semaine("2026-W50"),
        Ok((date!(2026 - 12 - 07), date!(2026 - 12 - 13)))
    );
    // Week 1 of 2027 starts in 2027 (4 January), week 53 of 2026 exists.
    assert_eq!(
        semaine("2027-W01"),
        Ok((date!(2027 - 01 - 04), date!(2027 - 01 - 10)))
    );
    assert_eq!(
        semaine("2026-W53"),
        Ok((date!(2026 - 12 - 28), date!(2027 - 01 - 03)))
    );
    for bad in ["2026-W54", "2026-W00", "2026W50", "2026-12-07", "", "x-W1"] {
        assert!(semaine(bad).is_err(), "{bad}");
    }
}
