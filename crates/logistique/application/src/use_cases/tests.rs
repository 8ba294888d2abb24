use std::sync::Arc;

use hub_kernel::{FixedClock, Role};
use hub_logistique_domain::StatutReservation;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::*;
use crate::ports::{MockDirectory, MockReservationRepository, MockRessourceRepository};

const NOW: OffsetDateTime = datetime!(2026-12-02 09:00 UTC);

fn actor(role: Role) -> Actor {
    Actor {
        user_id: Uuid::now_v7(),
        role,
    }
}

fn context(actor: Actor) -> CommandContext {
    CommandContext::user(actor, None)
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

fn ressource_input() -> RessourceInput {
    RessourceInput {
        code: "grue-01".into(),
        nom: "Grue mobile 50 t".into(),
        categorie: "engin_levage".into(),
        ..Default::default()
    }
}

fn ressource(validation_requise: bool) -> Ressource {
    let mut nouvelle = ressource_input().validate().unwrap();
    nouvelle.validation_requise = Some(validation_requise);
    Ressource::create(nouvelle, Uuid::now_v7(), NOW).0
}

fn chantier(conducteur: &Actor) -> ChantierInfo {
    ChantierInfo {
        chantier_id: Uuid::now_v7(),
        ferme: false,
        conducteur_ids: vec![conducteur.user_id],
        chef_chantier_ids: vec![],
    }
}

fn booking_input(r: &Ressource, c: &ChantierInfo) -> ReservationInput {
    ReservationInput {
        ressource_id: r.id(),
        chantier_id: c.chantier_id,
        date_reservation: date!(2026 - 12 - 07),
        heure_debut: "08:00".into(),
        heure_fin: "12:00".into(),
        commentaire: None,
    }
}

fn pending(r: &Ressource, c: &ChantierInfo, demandeur: &Actor) -> Reservation {
    let nouvelle = booking_input(r, c).validate().unwrap();
    Reservation::create(
        nouvelle,
        r,
        c,
        demandeur.user_id,
        date!(2026 - 12 - 02),
        NOW,
    )
    .unwrap()
    .0
}

#[tokio::test]
async fn an_admin_adds_a_ressource_with_its_event_and_others_are_refused() {
    let mut ressources = MockRessourceRepository::new();
    ressources
        .expect_insert()
        .withf(|r, events| {
            r.code().as_str() == "GRUE-01"
                && events.len() == 1
                && events[0].event_type.as_str() == "ressource.created"
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let ports = ports(
        ressources,
        MockReservationRepository::new(),
        MockDirectory::new(),
    );
    let created = CreateRessource::new(ports.clone())
        .execute(&context(actor(Role::Admin)), ressource_input())
        .await
        .unwrap();
    assert!(created.validation_requise());
    let refused = CreateRessource::new(ports)
        .execute(&context(actor(Role::Conducteur)), ressource_input())
        .await;
    assert!(matches!(refused, Err(LogistiqueError::Forbidden(_))));
}

#[tokio::test]
async fn a_taken_code_is_named_and_bad_fields_are_all_reported() {
    let mut ressources = MockRessourceRepository::new();
    ressources
        .expect_insert()
        .returning(|_, _| Err(RepositoryError::CodeTaken));
    let ports = ports(
        ressources,
        MockReservationRepository::new(),
        MockDirectory::new(),
    );
    let admin = context(actor(Role::Admin));
    let taken = CreateRessource::new(ports.clone())
        .execute(&admin, ressource_input())
        .await;
    assert!(matches!(taken, Err(LogistiqueError::CodeTaken(code)) if code == "GRUE-01"));
    let bad = RessourceInput {
        code: "grue 01".into(),
        categorie: "grue".into(),
        heure_debut_defaut: Some("18:00".into()),
        heure_fin_defaut: Some("08:00".into()),
        ..ressource_input()
    };
    let Err(LogistiqueError::Invalid(errors)) =
        CreateRessource::new(ports).execute(&admin, bad).await
    else {
        panic!("expected a validation error");
    };
    let fields: Vec<_> = errors.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["code", "categorie", "heure_fin_defaut"]);
}

#[tokio::test]
async fn deleting_an_unknown_ressource_is_not_found() {
    let mut ressources = MockRessourceRepository::new();
    ressources.expect_find().returning(|_| Ok(None));
    let ports = ports(
        ressources,
        MockReservationRepository::new(),
        MockDirectory::new(),
    );
    let result = DeleteRessource::new(ports)
        .execute(&context(actor(Role::Admin)), Uuid::now_v7())
        .await;
    assert!(matches!(result, Err(LogistiqueError::RessourceNotFound)));
}

#[tokio::test]
async fn a_booking_is_stored_with_its_event_and_an_overlap_names_the_other() {
    let (conducteur, compagnon) = (actor(Role::Conducteur), actor(Role::Compagnon));
    let (r, c) = (ressource(true), chantier(&conducteur));
    let other = Uuid::now_v7();
    let mut ressources = MockRessourceRepository::new();
    let found = r.clone();
    ressources
        .expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    let mut directory = MockDirectory::new();
    let known = c.clone();
    directory
        .expect_chantier()
        .returning(move |_| Ok(Some(known.clone())));
    let mut reservations = MockReservationRepository::new();
    let mut calls = 0;
    reservations
        .expect_insert()
        .withf(|b, events| {
            b.statut() == StatutReservation::EnAttente
                && events[0].event_type.as_str() == "reservation.created"
                && events[0].data_str("chantier_id") == Some(&*b.chantier_id().to_string())
        })
        .times(2)
        .returning(move |_, _| {
            calls += 1;
            if calls == 1 {
                Ok(())
            } else {
                Err(RepositoryError::Overlap { other })
            }
        });
    let use_case = CreateReservation::new(ports(ressources, reservations, directory));
    let booked = use_case
        .execute(&context(compagnon), booking_input(&r, &c))
        .await
        .unwrap();
    assert_eq!(booked.demandeur_id(), compagnon.user_id);
    let conflict = use_case
        .execute(&context(compagnon), booking_input(&r, &c))
        .await;
    assert!(
        matches!(conflict, Err(LogistiqueError::ReservationConflict { other: o }) if o == other)
    );
}

#[tokio::test]
async fn unknown_or_closed_chantiers_and_bad_slots_are_refused_before_any_write() {
    let conducteur = actor(Role::Conducteur);
    let (r, c) = (ressource(false), chantier(&conducteur));
    let mut ressources = MockRessourceRepository::new();
    let found = r.clone();
    ressources
        .expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    let mut directory = MockDirectory::new();
    let (open_id, ferme) = (
        c.chantier_id,
        ChantierInfo {
            ferme: true,
            ..c.clone()
        },
    );
    let mut seen = 0;
    directory.expect_chantier().returning(move |_| {
        seen += 1;
        Ok((seen == 2).then(|| ferme.clone()))
    });
    // No insert is expected: the mock fails the test on any write.
    let use_case = CreateReservation::new(ports(
        ressources,
        MockReservationRepository::new(),
        directory,
    ));
    let who = context(actor(Role::Compagnon));
    let unknown = use_case.execute(&who, booking_input(&r, &c)).await;
    assert!(
        matches!(unknown, Err(LogistiqueError::Invalid(e)) if e.errors()[0].code == "unknown_chantier")
    );
    let closed = use_case.execute(&who, booking_input(&r, &c)).await;
    assert!(matches!(
        closed,
        Err(LogistiqueError::Reservation(
            ReservationError::ChantierFerme
        ))
    ));
    let backwards = ReservationInput {
        heure_debut: "12:00".into(),
        heure_fin: "08:00".into(),
        chantier_id: open_id,
        ..booking_input(&r, &c)
    };
    assert!(matches!(
        use_case.execute(&who, backwards).await,
        Err(LogistiqueError::Invalid(_))
    ));
}

fn decision_ports(
    b: &Reservation,
    c: &ChantierInfo,
    expect_write: Option<&'static str>,
) -> LogistiquePorts {
    let mut reservations = MockReservationRepository::new();
    let found = b.clone();
    reservations
        .expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    if let Some(event_type) = expect_write {
        reservations
            .expect_update()
            .withf(move |_, events| {
                events.len() == 1 && events[0].event_type.as_str() == event_type
            })
            .times(1)
            .returning(|_, _| Ok(()));
    }
    let mut directory = MockDirectory::new();
    let known = c.clone();
    directory
        .expect_chantier()
        .returning(move |_| Ok(Some(known.clone())));
    ports(MockRessourceRepository::new(), reservations, directory)
}

#[tokio::test]
async fn the_conducteur_of_the_chantier_validates_an_outsider_does_not_see_it() {
    let (conducteur, compagnon) = (actor(Role::Conducteur), actor(Role::Compagnon));
    let (r, c) = (ressource(true), chantier(&conducteur));
    let b = pending(&r, &c, &compagnon);
    let validated = ValiderReservation::new(decision_ports(&b, &c, Some("reservation.validated")))
        .execute(&context(conducteur), b.id())
        .await
        .unwrap();
    assert_eq!(validated.statut(), StatutReservation::Validee);
    let outsider = ValiderReservation::new(decision_ports(&b, &c, None))
        .execute(&context(actor(Role::Conducteur)), b.id())
        .await;
    assert!(matches!(
        outsider,
        Err(LogistiqueError::ReservationNotFound)
    ));
    // The demandeur sees it but may not decide on it.
    let own = ValiderReservation::new(decision_ports(&b, &c, None))
        .execute(&context(compagnon), b.id())
        .await;
    assert!(matches!(
        own,
        Err(LogistiqueError::Reservation(ReservationError::PasValideur))
    ));
}

#[tokio::test]
async fn a_refusal_needs_a_motif() {
    let (conducteur, compagnon) = (actor(Role::Conducteur), actor(Role::Compagnon));
    let (r, c) = (ressource(true), chantier(&conducteur));
    let b = pending(&r, &c, &compagnon);
    let blank = RefuserReservation::new(decision_ports(&b, &c, None))
        .execute(&context(conducteur), b.id(), "  ")
        .await;
    assert!(matches!(blank, Err(LogistiqueError::Invalid(_))));
    let refused = RefuserReservation::new(decision_ports(&b, &c, Some("reservation.refused")))
        .execute(&context(conducteur), b.id(), "Grue en révision")
        .await
        .unwrap();
    assert_eq!(refused.statut(), StatutReservation::Refusee);
}

#[tokio::test]
async fn the_demandeur_cancels_a_settled_booking_cannot_be_cancelled_twice() {
    let (conducteur, compagnon) = (actor(Role::Conducteur), actor(Role::Compagnon));
    let (r, c) = (ressource(true), chantier(&conducteur));
    let b = pending(&r, &c, &compagnon);
    let cancelled = AnnulerReservation::new(decision_ports(&b, &c, Some("reservation.cancelled")))
        .execute(&context(compagnon), b.id())
        .await
        .unwrap();
    assert_eq!(cancelled.statut(), StatutReservation::Annulee);
    let again = AnnulerReservation::new(decision_ports(&cancelled, &c, None))
        .execute(&context(compagnon), b.id())
        .await;
    assert!(matches!(
        again,
        Err(LogistiqueError::Reservation(
            ReservationError::InvalidTransition(_)
        ))
    ));
}

#[tokio::test]
async fn closing_a_chantier_cancels_its_future_bookings_skipping_changed_ones() {
    let (conducteur, compagnon) = (actor(Role::Conducteur), actor(Role::Compagnon));
    let (r, c) = (ressource(true), chantier(&conducteur));
    let (a, b) = (pending(&r, &c, &compagnon), pending(&r, &c, &compagnon));
    let mut reservations = MockReservationRepository::new();
    let chantier_id = c.chantier_id;
    reservations
        .expect_active_from()
        .withf(move |id, from| *id == chantier_id && *from == date!(2026 - 12 - 02))
        .returning(move |_, _| Ok(vec![a.clone(), b.clone()]));
    let mut calls = 0;
    reservations
        .expect_update()
        .withf(|b, events| {
            b.statut() == StatutReservation::Annulee
                && events[0].event_type.as_str() == "reservation.cancelled"
        })
        .times(2)
        .returning(move |_, _| {
            calls += 1;
            if calls == 1 {
                Ok(())
            } else {
                Err(RepositoryError::Conflict)
            }
        });
    let use_case = CancelChantierReservations::new(ports(
        MockRessourceRepository::new(),
        reservations,
        MockDirectory::new(),
    ));
    let count = use_case
        .execute(&CommandContext::system(None), chantier_id, "Chantier fermé")
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_demandeur_moves_a_pending_booking_and_an_overlap_is_a_conflict() {
    let (conducteur, compagnon) = (actor(Role::Conducteur), actor(Role::Compagnon));
    let (r, c) = (ressource(true), chantier(&conducteur));
    let b = pending(&r, &c, &compagnon);
    let later = || ReservationUpdateInput {
        heure_fin: Some("14:00".into()),
        ..Default::default()
    };
    let moved = UpdateReservation::new(decision_ports(&b, &c, Some("reservation.updated")))
        .execute(&context(compagnon), b.id(), later())
        .await
        .unwrap();
    assert_eq!(moved.creneau().plage.fin().to_string(), "14:00");
    assert_eq!(moved.creneau().plage.debut().to_string(), "08:00");

    let other = Uuid::now_v7();
    let mut reservations = MockReservationRepository::new();
    let found = b.clone();
    reservations
        .expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    reservations
        .expect_update()
        .returning(move |_, _| Err(RepositoryError::Overlap { other }));
    let mut directory = MockDirectory::new();
    let known = c.clone();
    directory
        .expect_chantier()
        .returning(move |_| Ok(Some(known.clone())));
    let conflict = UpdateReservation::new(ports(
        MockRessourceRepository::new(),
        reservations,
        directory,
    ))
    .execute(&context(compagnon), b.id(), later())
    .await;
    assert!(
        matches!(conflict, Err(LogistiqueError::ReservationConflict { other: o }) if o == other)
    );

    // A valideur sees it but only its demandeur edits it; a start after the
    // kept end is refused before any write.
    let by_conducteur = UpdateReservation::new(decision_ports(&b, &c, None))
        .execute(&context(conducteur), b.id(), later())
        .await;
    assert!(matches!(
        by_conducteur,
        Err(LogistiqueError::Reservation(
            ReservationError::PasLeDemandeur
        ))
    ));
    let inverted = UpdateReservation::new(decision_ports(&b, &c, None))
        .execute(
            &context(compagnon),
            b.id(),
            ReservationUpdateInput {
                heure_debut: Some("13:00".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(inverted, Err(LogistiqueError::Invalid(_))));
}

#[tokio::test]
async fn a_booking_is_read_by_its_demandeur_and_valideurs_only() {
    let (conducteur, compagnon) = (actor(Role::Conducteur), actor(Role::Compagnon));
    let (r, c) = (ressource(true), chantier(&conducteur));
    let b = pending(&r, &c, &compagnon);
    for who in [compagnon, conducteur, actor(Role::Admin)] {
        let seen = GetReservation::new(decision_ports(&b, &c, None))
            .execute(&context(who), b.id())
            .await
            .unwrap();
        assert_eq!(seen.id(), b.id());
    }
    let hidden = GetReservation::new(decision_ports(&b, &c, None))
        .execute(&context(actor(Role::ChefChantier)), b.id())
        .await;
    assert!(matches!(hidden, Err(LogistiqueError::ReservationNotFound)));
}

#[tokio::test]
async fn an_admin_updates_a_ressource_and_a_taken_code_is_named() {
    let r = ressource(true);
    let mut ressources = MockRessourceRepository::new();
    let found = r.clone();
    ressources
        .expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    let mut calls = 0;
    ressources
        .expect_update()
        .withf(|_, events| events[0].event_type.as_str() == "ressource.updated")
        .times(2)
        .returning(move |_, _| {
            calls += 1;
            if calls == 1 {
                Ok(())
            } else {
                Err(RepositoryError::CodeTaken)
            }
        });
    let use_case = UpdateRessource::new(ports(
        ressources,
        MockReservationRepository::new(),
        MockDirectory::new(),
    ));
    let admin = context(actor(Role::Admin));
    let input = || RessourceUpdateInput {
        code: Some("grue-02".into()),
        actif: Some(false),
        ..Default::default()
    };
    let updated = use_case.execute(&admin, r.id(), input()).await.unwrap();
    assert_eq!(updated.code().as_str(), "GRUE-02");
    assert!(!updated.est_reservable());
    let taken = use_case.execute(&admin, r.id(), input()).await;
    assert!(matches!(taken, Err(LogistiqueError::CodeTaken(code)) if code == "GRUE-02"));
    let unchanged = use_case
        .execute(&admin, r.id(), RessourceUpdateInput::default())
        .await
        .unwrap();
    assert_eq!(unchanged, r);
    let refused = use_case
        .execute(&context(actor(Role::ChefChantier)), r.id(), input())
        .await;
    assert!(matches!(refused, Err(LogistiqueError::Forbidden(_))));
}
