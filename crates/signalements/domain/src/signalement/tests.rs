use super::*;
use crate::{Contenu, Reponse, ReponseUpdate};
use proptest::prelude::*;
use serde_json::json;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);
const CHANTIER: Uuid = Uuid::from_u128(1);
const LUCAS: Uuid = Uuid::from_u128(2);
const KARIM: Uuid = Uuid::from_u128(3);

fn nouveau(priorite: Priorite) -> NouveauSignalement {
    NouveauSignalement {
        chantier_id: CHANTIER,
        titre: Titre::parse("Garde-corps manquant").unwrap(),
        description: Description::parse("Au R+3, côté rue").unwrap(),
        priorite,
        assigne_a: None,
        date_resolution_souhaitee: None,
        photo_url: None,
        photo_document_id: None,
        localisation: None,
    }
}

fn signalement(priorite: Priorite) -> Signalement {
    Signalement::create(nouveau(priorite), LUCAS, NOW)
        .unwrap()
        .0
}

fn commentaire() -> Commentaire {
    Commentaire::parse("Posé").unwrap()
}

/// A signalement brought to `statut` by the public methods.
fn at(statut: Statut) -> Signalement {
    let mut s = signalement(Priorite::Haute);
    match statut {
        Statut::Ouvert => {}
        Statut::EnCours => {
            s.assigner(KARIM, NOW).unwrap();
        }
        Statut::Traite => {
            s.traiter(commentaire(), NOW).unwrap();
        }
        Statut::Cloture => {
            s.traiter(commentaire(), NOW).unwrap();
            s.cloturer(KARIM, NOW).unwrap();
        }
    }
    assert_eq!(s.statut(), statut);
    s
}

#[test]
fn creation_is_open_with_the_priority_deadline_and_its_event() {
    let (s, event) = Signalement::create(nouveau(Priorite::Critique), LUCAS, NOW).unwrap();
    assert_eq!(s.statut(), Statut::Ouvert);
    assert_eq!(s.date_limite(), datetime!(2026-12-02 12:00 UTC));
    assert_eq!(s.version(), 1);
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({
            "signalement_id": s.id(), "chantier_id": CHANTIER, "titre": "Garde-corps manquant",
            "priorite": "critique", "statut": "ouvert", "created_by": LUCAS,
            "assigne_a": null, "photo_document_id": null, "date_limite": "2026-12-02T12:00:00Z"
        })
    );
}

#[test]
fn creation_with_an_assignee_is_en_cours_and_a_past_desired_date_is_refused() {
    let mut input = nouveau(Priorite::Basse);
    input.assigne_a = Some(KARIM);
    input.date_resolution_souhaitee = Some(datetime!(2026-12-02 10:00 UTC));
    let (s, _) = Signalement::create(input.clone(), LUCAS, NOW).unwrap();
    assert_eq!(s.statut(), Statut::EnCours);
    assert_eq!(s.date_limite(), datetime!(2026-12-02 10:00 UTC));
    input.date_resolution_souhaitee = Some(datetime!(2026-12-01 10:00 UTC));
    assert_eq!(
        Signalement::create(input, LUCAS, NOW).unwrap_err(),
        SignalementError::DateSouhaiteePassee
    );
}

#[test]
fn each_action_accepts_exactly_the_statuts_of_the_machine() {
    // (action, statuts it is accepted from)
    type Action = fn(&mut Signalement) -> Result<(), SignalementError>;
    let actions: [(&str, Action, &[Statut]); 4] = [
        (
            "assigner",
            |s| s.assigner(Uuid::from_u128(9), NOW).map(|_| ()),
            &[Statut::Ouvert, Statut::EnCours, Statut::Traite],
        ),
        (
            "traiter",
            |s| s.traiter(commentaire(), NOW).map(|_| ()),
            &[Statut::Ouvert, Statut::EnCours],
        ),
        (
            "cloturer",
            |s| s.cloturer(KARIM, NOW).map(|_| ()),
            &[Statut::Traite],
        ),
        (
            "reouvrir",
            |s| {
                s.reouvrir(KARIM, Motif::parse("Revu").unwrap(), NOW)
                    .map(|_| ())
            },
            &[Statut::EnCours, Statut::Traite, Statut::Cloture],
        ),
    ];
    for (name, action, allowed) in actions {
        for statut in Statut::ALL {
            let mut s = at(statut);
            let before = s.clone();
            let outcome = action(&mut s);
            assert_eq!(
                outcome.is_ok(),
                allowed.contains(&statut),
                "{name} from {statut}"
            );
            if outcome.is_err() {
                assert_eq!(s, before, "a refused {name} leaves it untouched");
            }
        }
    }
}

#[test]
fn assigning_an_open_one_takes_it_on_and_says_so() {
    let mut s = at(Statut::Ouvert);
    let event = s.assigner(KARIM, NOW).unwrap().unwrap();
    assert_eq!(s.statut(), Statut::EnCours);
    assert_eq!(
        serde_json::to_value(&event.changes).unwrap(),
        json!({"assigne_a": {"old": null, "new": KARIM}, "statut": {"old": "ouvert", "new": "en_cours"}})
    );
    assert_eq!(s.assigner(KARIM, NOW).unwrap(), None, "already theirs");
    let mut treated = at(Statut::Traite);
    treated.assigner(LUCAS, NOW).unwrap().unwrap();
    assert_eq!(treated.statut(), Statut::Traite, "only ouvert moves");
    assert_eq!(
        at(Statut::Cloture).assigner(LUCAS, NOW).unwrap_err(),
        SignalementError::Cloture
    );
}

#[test]
fn treating_records_the_comment_and_closing_gives_it_as_resolution() {
    let mut s = at(Statut::EnCours);
    let later = NOW + Duration::hours(1);
    let event = s.traiter(commentaire(), later).unwrap();
    assert_eq!(s.date_traitement(), Some(later));
    assert!(event.changes.contains("commentaire_traitement"));
    assert_eq!(event.changes.get("statut").unwrap().new, json!("traite"));
    let closed = s.cloturer(KARIM, later).unwrap();
    assert_eq!(closed.resolution.as_deref(), Some("Posé"));
    assert_eq!(s.date_cloture(), Some(later));
    assert_eq!(
        at(Statut::Ouvert).cloturer(KARIM, NOW).unwrap_err(),
        SignalementError::InvalidTransition(InvalidTransition {
            from: Statut::Ouvert,
            to: Statut::Cloture
        })
    );
}

#[test]
fn reopening_clears_the_treatment_and_restarts_the_clock() {
    let mut s = at(Statut::Cloture);
    let later = NOW + Duration::hours(30);
    s.niveau_escalade = Some(NiveauEscalade::Conducteur);
    let event = s
        .reouvrir(KARIM, Motif::parse("Mal fixé").unwrap(), later)
        .unwrap();
    assert_eq!(s.statut(), Statut::Ouvert);
    assert_eq!(
        (
            s.date_traitement(),
            s.date_cloture(),
            s.commentaire_traitement()
        ),
        (None, None, None)
    );
    assert_eq!(s.date_limite(), later + Duration::hours(24));
    assert_eq!(event.date_limite, later + Duration::hours(24));
    assert_eq!(event.motif, "Mal fixé");
    assert_eq!(s.niveau_escalade(), None);
    assert_eq!(s.nb_escalades(), 0);
}

#[test]
fn updates_record_only_what_changed_and_refuse_a_closed_one() {
    let mut s = at(Statut::Ouvert);
    assert_eq!(s.update(SignalementUpdate::default(), NOW).unwrap(), None);
    let update = SignalementUpdate {
        titre: Some(Titre::parse("Garde-corps manquant").unwrap()),
        priorite: Some(Priorite::Critique),
        localisation: Some(Some(Localisation::parse("R+3").unwrap())),
        ..SignalementUpdate::default()
    };
    let event = s.update(update, NOW).unwrap().unwrap();
    let fields: Vec<&str> = event.changes.fields().collect();
    assert_eq!(fields, ["localisation", "priorite"]);
    assert_eq!(s.version(), 2);
    let photo = Uuid::from_u128(77);
    let attach = SignalementUpdate {
        photo_document_id: Some(Some(photo)),
        ..SignalementUpdate::default()
    };
    let event = s.update(attach.clone(), NOW).unwrap().unwrap();
    assert_eq!(
        event.changes.fields().collect::<Vec<_>>(),
        ["photo_document_id"]
    );
    assert_eq!(s.photo_document_id(), Some(photo));
    assert_eq!(s.update(attach, NOW).unwrap(), None, "the same photo again");
    let s_version = s.version();
    assert_eq!(s_version, 3);
    assert_eq!(s.date_limite(), NOW + Duration::hours(4));
    let update = SignalementUpdate {
        date_resolution_souhaitee: Some(Some(NOW - Duration::hours(1))),
        ..SignalementUpdate::default()
    };
    assert_eq!(
        s.update(update, NOW).unwrap_err(),
        SignalementError::DateSouhaiteePassee
    );
    assert_eq!(
        at(Statut::Cloture)
            .update(SignalementUpdate::default(), NOW)
            .unwrap_err(),
        SignalementError::Cloture
    );
}

#[test]
fn the_deadline_view_follows_the_spec() {
    let s = signalement(Priorite::Moyenne); // 48 h
    let e = s.echeance(NOW + Duration::hours(12));
    assert_eq!(e.pourcentage_temps, 25.0);
    assert!(!e.est_en_retard);
    assert_eq!(e.temps_restant.as_deref(), Some("1j 12h"));
    assert_eq!(e.niveau_requis, None);
    let e = s.echeance(NOW + Duration::minutes(47 * 60 + 10));
    assert_eq!(e.temps_restant.as_deref(), Some("0h 50min"));
    assert_eq!(e.niveau_requis, Some(NiveauEscalade::ChefChantier));
    let e = s.echeance(NOW + Duration::hours(53));
    assert!(e.est_en_retard);
    assert_eq!(e.temps_restant.as_deref(), Some("En retard de 5h"));
    assert_eq!(e.niveau_requis, Some(NiveauEscalade::Conducteur));
    let resolved = at(Statut::Traite).echeance(NOW + Duration::hours(500));
    assert_eq!(
        (
            resolved.est_en_retard,
            resolved.pourcentage_temps,
            resolved.temps_restant
        ),
        (false, 0.0, None)
    );
}

#[test]
fn escalation_publishes_each_level_once_and_never_a_lower_one() {
    let mut s = signalement(Priorite::Critique); // 4 h
    assert_eq!(s.prochaine_escalade(), Some(NOW + Duration::hours(2)));
    assert_eq!(s.escalade_due(NOW + Duration::minutes(119)), None);
    let t1 = NOW + Duration::hours(2);
    assert_eq!(s.escalade_due(t1), Some(NiveauEscalade::ChefChantier));
    let event = s
        .escalader(NiveauEscalade::ChefChantier, vec![LUCAS], t1)
        .unwrap();
    assert_eq!((event.niveau, event.pourcentage_temps), (1, 50.0));
    assert_eq!(s.escalade_due(t1), None, "published once");
    assert_eq!(s.escalader(NiveauEscalade::ChefChantier, vec![], t1), None);
    assert_eq!(s.prochaine_escalade(), Some(NOW + Duration::hours(4)));
    // Far past every threshold: the missing levels come one by one, in order.
    let t3 = NOW + Duration::hours(9);
    assert_eq!(s.escalade_due(t3), Some(NiveauEscalade::Conducteur));
    assert_eq!(
        s.escalader(NiveauEscalade::Admin, vec![], t3),
        None,
        "no skipping"
    );
    assert_eq!(
        s.escalader(NiveauEscalade::Conducteur, vec![], t3)
            .unwrap()
            .niveau,
        2
    );
    assert_eq!(s.escalade_due(t3), Some(NiveauEscalade::Admin));
    assert_eq!(
        s.escalader(NiveauEscalade::Admin, vec![], t3)
            .unwrap()
            .niveau,
        3
    );
    assert_eq!(s.escalade_due(t3), None);
    assert_eq!(s.prochaine_escalade(), None);
    assert_eq!(s.nb_escalades(), 3);
    // A level not yet due is refused.
    let mut fresh = signalement(Priorite::Basse);
    assert_eq!(fresh.escalader(NiveauEscalade::Admin, vec![], NOW), None);
    assert_eq!(at(Statut::Traite).prochaine_escalade(), None);
}

#[test]
fn replies_follow_the_signalement_and_a_closed_one_takes_none() {
    let s = at(Statut::EnCours);
    let (mut reponse, created) = Reponse::create(
        &s,
        Contenu::parse("Zone balisée").unwrap(),
        None,
        true,
        KARIM,
        NOW,
    )
    .unwrap();
    assert_eq!(
        (
            created.chantier_id,
            created.priorite,
            created.est_resolution
        ),
        (CHANTIER, Priorite::Haute, true)
    );
    let update = ReponseUpdate {
        contenu: Some(Contenu::parse("Zone balisée").unwrap()),
        photo_url: None,
    };
    assert_eq!(reponse.update(&s, update, NOW).unwrap(), None);
    let update = ReponseUpdate {
        contenu: Some(Contenu::parse("Pose demain").unwrap()),
        photo_url: Some(Some(PhotoUrl::parse("https://x.fr/1.jpg").unwrap())),
    };
    let updated = reponse.update(&s, update, NOW).unwrap().unwrap();
    assert_eq!(
        updated.changes.fields().collect::<Vec<_>>(),
        ["contenu", "photo_url"]
    );
    assert_eq!(reponse.delete(&s, LUCAS).deleted_by, LUCAS);
    let closed = at(Statut::Cloture);
    assert_eq!(
        Reponse::create(
            &closed,
            Contenu::parse("x").unwrap(),
            None,
            false,
            KARIM,
            NOW
        )
        .unwrap_err(),
        SignalementError::Cloture
    );
}

proptest! {
    #[test]
    fn lateness_and_percentage_agree_for_any_priority_and_time(
        p in 0usize..4, minutes in 0i64..20_000
    ) {
        let s = signalement(Priorite::ALL[p]);
        let now = NOW + Duration::minutes(minutes);
        let e = s.echeance(now);
        prop_assert_eq!(e.est_en_retard, e.pourcentage_temps > 100.0);
        prop_assert_eq!(e.niveau_requis, NiveauEscalade::atteint(e.pourcentage_temps));
        // The stored next escalation is exactly when the next level falls due.
        if let Some(next) = s.prochaine_escalade() {
            prop_assert_eq!(s.escalade_due(now).is_some(), now >= next);
        }
    }

    #[test]
    fn repeated_escalation_rounds_publish_at_most_three_events_in_rising_order(
        p in 0usize..4, steps in proptest::collection::vec(1i64..600, 1..40)
    ) {
        let mut s = signalement(Priorite::ALL[p]);
        let mut now = NOW;
        let mut published = Vec::new();
        for step in steps {
            now += Duration::minutes(step);
            while let Some(niveau) = s.escalade_due(now) {
                published.push(s.escalader(niveau, vec![], now).unwrap().niveau);
            }
        }
        // Every level reached is published, each once, lowest first.
        let reached = s.niveau_escalade().map_or(0, |n| n.rang());
        prop_assert_eq!(published, (1..=reached).collect::<Vec<_>>());
    }
}
