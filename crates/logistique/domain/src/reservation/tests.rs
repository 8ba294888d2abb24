use hub_kernel::Role;
use proptest::prelude::*;
use time::macros::{date, datetime};

use super::*;
use crate::{
    CategorieRessource, CodeRessource, Heure, NomRessource, NouvelleRessource, RessourceUpdate,
};

const NOW: OffsetDateTime = datetime!(2026-12-02 09:00 UTC);
const TODAY: Date = date!(2026 - 12 - 02);

fn actor(role: Role) -> Actor {
    Actor {
        user_id: Uuid::now_v7(),
        role,
    }
}

fn ressource(validation_requise: bool) -> Ressource {
    let (r, _) = Ressource::create(
        NouvelleRessource {
            code: CodeRessource::parse("GRUE-01").unwrap(),
            nom: NomRessource::parse("Grue mobile 50 t").unwrap(),
            categorie: CategorieRessource::EnginLevage,
            photo_url: None,
            couleur: None,
            plage_defaut: None,
            validation_requise: Some(validation_requise),
            description: None,
        },
        Uuid::now_v7(),
        NOW,
    );
    r
}

struct Site {
    chantier: ChantierInfo,
    conducteur: Actor,
    chef: Actor,
}

fn site() -> Site {
    let (conducteur, chef) = (actor(Role::Conducteur), actor(Role::ChefChantier));
    Site {
        chantier: ChantierInfo {
            chantier_id: Uuid::now_v7(),
            ferme: false,
            conducteur_ids: vec![conducteur.user_id],
            chef_chantier_ids: vec![chef.user_id],
        },
        conducteur,
        chef,
    }
}

fn plage(debut: u8, fin: u8) -> PlageHoraire {
    PlageHoraire::new(
        Heure::from_hm(debut, 0).unwrap(),
        Heure::from_hm(fin, 0).unwrap(),
    )
    .unwrap()
}

fn nouvelle(r: &Ressource, s: &Site, date: Date, debut: u8, fin: u8) -> NouvelleReservation {
    NouvelleReservation {
        ressource_id: r.id(),
        chantier_id: s.chantier.chantier_id,
        creneau: Creneau {
            date,
            plage: plage(debut, fin),
        },
        commentaire: None,
    }
}

fn book(validation_requise: bool) -> (Reservation, Site, Actor) {
    let (r, s, demandeur) = (
        ressource(validation_requise),
        site(),
        actor(Role::Compagnon),
    );
    let (b, _) = Reservation::create(
        nouvelle(&r, &s, date!(2026 - 12 - 07), 8, 12),
        &r,
        &s.chantier,
        demandeur.user_id,
        TODAY,
        NOW,
    )
    .unwrap();
    (b, s, demandeur)
}

#[test]
fn a_booking_waits_for_validation_or_is_approved_at_once() {
    let (pending, _, demandeur) = book(true);
    assert_eq!(pending.statut(), StatutReservation::EnAttente);
    assert_eq!(pending.stored().validated_at, None);
    assert_eq!(pending.demandeur_id(), demandeur.user_id);

    let (r, s) = (ressource(false), site());
    let (auto, event) = Reservation::create(
        nouvelle(&r, &s, TODAY, 8, 12),
        &r,
        &s.chantier,
        demandeur.user_id,
        TODAY,
        NOW,
    )
    .unwrap();
    assert_eq!(auto.statut(), StatutReservation::Validee);
    assert_eq!(event.statut, StatutReservation::Validee);
    assert_eq!(auto.stored().validated_at, Some(NOW));
    assert_eq!(auto.stored().valideur_id, None);
    assert_eq!(event.chantier_id, s.chantier.chantier_id);
}

#[test]
fn unbookable_ressources_closed_chantiers_and_past_dates_are_refused() {
    let (s, demandeur) = (site(), Uuid::now_v7());
    let mut inactive = ressource(true);
    inactive
        .update(
            RessourceUpdate {
                actif: Some(false),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    let create = |r: &Ressource, chantier: &ChantierInfo, date: Date| {
        Reservation::create(
            nouvelle(r, &s, date, 8, 9),
            r,
            chantier,
            demandeur,
            TODAY,
            NOW,
        )
        .map(|_| ())
    };
    let day = date!(2026 - 12 - 07);
    assert_eq!(
        create(&inactive, &s.chantier, day),
        Err(ReservationError::RessourceIndisponible)
    );
    let mut deleted = ressource(true);
    deleted.supprimer(Uuid::now_v7(), NOW).unwrap();
    assert_eq!(
        create(&deleted, &s.chantier, day),
        Err(ReservationError::RessourceIndisponible)
    );
    let ferme = ChantierInfo {
        ferme: true,
        ..s.chantier.clone()
    };
    let r = ressource(true);
    assert_eq!(
        create(&r, &ferme, day),
        Err(ReservationError::ChantierFerme)
    );
    assert_eq!(
        create(&r, &s.chantier, date!(2026 - 12 - 01)),
        Err(ReservationError::DatePassee)
    );
    assert!(create(&r, &s.chantier, TODAY).is_ok());
}

#[test]
fn the_responsables_of_the_chantier_validate_never_their_own_request() {
    let (b, s, _) = book(true);
    for valideur in [actor(Role::Admin), s.conducteur, s.chef] {
        let mut b = b.clone();
        let event = b.valider(&valideur, &s.chantier, NOW).unwrap();
        assert_eq!(b.statut(), StatutReservation::Validee);
        assert_eq!(b.stored().valideur_id, Some(valideur.user_id));
        assert_eq!(event.valideur_id, valideur.user_id);
        assert_eq!(event.chantier_id, s.chantier.chantier_id);
        assert_eq!(b.version(), 2);
    }
    for outsider in [
        actor(Role::Conducteur),
        actor(Role::ChefChantier),
        actor(Role::Compagnon),
    ] {
        let mut b = b.clone();
        assert_eq!(
            b.valider(&outsider, &s.chantier, NOW),
            Err(ReservationError::PasValideur)
        );
        assert_eq!(b.statut(), StatutReservation::EnAttente);
    }
    // A conducteur of the chantier booking for himself cannot approve it.
    let (r, demandeur) = (ressource(true), s.conducteur);
    let (mut own, _) = Reservation::create(
        nouvelle(&r, &s, TODAY, 8, 9),
        &r,
        &s.chantier,
        demandeur.user_id,
        TODAY,
        NOW,
    )
    .unwrap();
    let motif = MotifRefus::parse("non").unwrap();
    assert_eq!(
        own.valider(&demandeur, &s.chantier, NOW),
        Err(ReservationError::PropreDemande)
    );
    assert_eq!(
        own.refuser(&demandeur, &s.chantier, motif, NOW),
        Err(ReservationError::PropreDemande)
    );
}

#[test]
fn a_refusal_keeps_its_motif_and_frees_the_slot() {
    let (mut b, s, _) = book(true);
    let other = b.clone();
    let motif = MotifRefus::parse("Grue en révision").unwrap();
    let event = b
        .refuser(&s.conducteur, &s.chantier, motif.clone(), NOW)
        .unwrap();
    assert_eq!(event.motif, "Grue en révision");
    assert_eq!(b.stored().motif_refus, Some(motif));
    assert_eq!(b.statut(), StatutReservation::Refusee);
    let fresh = Reservation::restore(StoredReservation {
        id: Uuid::now_v7(),
        ..other.stored().clone()
    });
    assert!(fresh.chevauche(&other));
    assert!(!fresh.chevauche(&b));
}

#[test]
fn every_decision_follows_the_statut_machine() {
    let (base, s, demandeur) = (book(true).0, site(), actor(Role::Compagnon));
    let admin = actor(Role::Admin);
    for from in StatutReservation::ALL {
        let start = Reservation::restore(StoredReservation {
            statut: from,
            chantier_id: s.chantier.chantier_id,
            demandeur_id: demandeur.user_id,
            ..base.stored().clone()
        });
        let motif = || MotifRefus::parse("non").unwrap();
        let valider = start.clone().valider(&admin, &s.chantier, NOW).map(|_| ());
        let refuser = start
            .clone()
            .refuser(&admin, &s.chantier, motif(), NOW)
            .map(|_| ());
        let annuler = start
            .clone()
            .annuler(&demandeur, &s.chantier, NOW)
            .map(|_| ());
        let systeme = start.clone().annuler_par_systeme("fermé", NOW).map(|_| ());
        for (to, result) in [
            (StatutReservation::Validee, valider),
            (StatutReservation::Refusee, refuser),
            (StatutReservation::Annulee, annuler),
            (StatutReservation::Annulee, systeme),
        ] {
            let expected = from
                .transition_to(to)
                .map(|_| ())
                .map_err(ReservationError::from);
            assert_eq!(result, expected, "{from} → {to}");
        }
    }
}

#[test]
fn the_demandeur_or_a_valideur_cancels() {
    let (b, s, demandeur) = (book(true).0, site(), actor(Role::Compagnon));
    let b = Reservation::restore(StoredReservation {
        chantier_id: s.chantier.chantier_id,
        demandeur_id: demandeur.user_id,
        ..b.stored().clone()
    });
    for who in [demandeur, s.chef, actor(Role::Admin)] {
        let mut b = b.clone();
        let event = b.annuler(&who, &s.chantier, NOW).unwrap();
        assert_eq!(event.cancelled_by, Some(who.user_id));
        assert_eq!(event.demandeur_id, demandeur.user_id);
        assert_eq!(b.stored().cancelled_by, Some(who.user_id));
    }
    let mut b2 = b.clone();
    assert_eq!(
        b2.annuler(&actor(Role::Conducteur), &s.chantier, NOW),
        Err(ReservationError::AnnulationInterdite)
    );
    let event = b2.annuler_par_systeme("Chantier fermé", NOW).unwrap();
    assert_eq!(event.cancelled_by, None);
    assert_eq!(event.motif.as_deref(), Some("Chantier fermé"));
}

#[test]
fn only_the_demandeur_edits_and_only_while_pending() {
    let (mut b, s, demandeur) = book(true);
    let move_to = |h: u8| ReservationUpdate {
        plage: Some(plage(h, h + 2)),
        ..Default::default()
    };
    assert_eq!(
        b.clone().update(move_to(9), s.chef.user_id, TODAY, NOW),
        Err(ReservationError::PasLeDemandeur)
    );
    assert_eq!(
        b.update(ReservationUpdate::default(), demandeur.user_id, TODAY, NOW),
        Ok(None)
    );
    let event = b
        .update(move_to(9), demandeur.user_id, TODAY, NOW)
        .unwrap()
        .unwrap();
    let fields: Vec<_> = event.changes.fields().collect();
    assert_eq!(fields, ["heure_debut", "heure_fin"]);
    assert_eq!(event.heure_debut.to_string(), "09:00");
    assert_eq!(b.creneau().plage, plage(9, 11));
    assert_eq!(
        b.clone().update(
            ReservationUpdate {
                date: Some(date!(2026 - 11 - 30)),
                ..Default::default()
            },
            demandeur.user_id,
            TODAY,
            NOW
        ),
        Err(ReservationError::DatePassee)
    );
    b.valider(&s.conducteur, &s.chantier, NOW).unwrap();
    assert_eq!(
        b.update(move_to(10), demandeur.user_id, TODAY, NOW),
        Err(ReservationError::PasEnAttente)
    );
}

#[test]
fn visibility_is_the_demandeur_and_the_valideurs() {
    let (b, s, demandeur) = book(true);
    assert!(b.visible_par(&demandeur, &s.chantier));
    assert!(b.visible_par(&s.chef, &s.chantier));
    assert!(!b.visible_par(&actor(Role::Conducteur), &s.chantier));
    assert!(!b.visible_par(&actor(Role::Compagnon), &s.chantier));
}

#[test]
fn only_validated_bookings_are_reminded() {
    let (mut b, s, _) = book(true);
    let r = ressource(true);
    assert_eq!(b.rappel(&r), None);
    b.valider(&s.chef, &s.chantier, NOW).unwrap();
    let rappel = b.rappel(&r).unwrap();
    assert_eq!(rappel.ressource_code, "GRUE-01");
    assert_eq!(rappel.chantier_id, s.chantier.chantier_id);
}

proptest! {
    /// Two bookings conflict exactly when they are of the same ressource,
    /// both active, on the same date, and their slots share a minute.
    #[test]
    fn conflicts_follow_the_overlap_rule(
        d1 in 0u8..23, l1 in 1u8..6, d2 in 0u8..23, l2 in 1u8..6,
        same_day: bool, s1 in 0usize..4, s2 in 0usize..4,
    ) {
        let (base, _, _) = book(true);
        let make = |debut: u8, len: u8, date: Date, statut: StatutReservation| {
            Reservation::restore(StoredReservation {
                id: Uuid::now_v7(),
                creneau: Creneau { date, plage: plage(debut, (debut + len).min(23)) },
                statut,
                ..base.stored().clone()
            })
        };
        let (st1, st2) = (StatutReservation::ALL[s1], StatutReservation::ALL[s2]);
        let day2 = if same_day { date!(2026 - 12 - 07) } else { date!(2026 - 12 - 08) };
        let a = make(d1, l1, date!(2026 - 12 - 07), st1);
        let b = make(d2, l2, day2, st2);
        let (pa, pb) = (a.creneau().plage, b.creneau().plage);
        let minute_shared = (0u16..1440).any(|m| {
            let inside = |p: PlageHoraire| p.debut().minutes() <= m && m < p.fin().minutes();
            inside(pa) && inside(pb)
        });
        let expected = same_day && minute_shared && st1.est_active() && st2.est_active();
        prop_assert_eq!(a.chevauche(&b), expected);
        prop_assert_eq!(b.chevauche(&a), expected);
        prop_assert!(!a.chevauche(&a));
    }
}
