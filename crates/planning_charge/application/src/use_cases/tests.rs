use super::*;
use crate::occupation::ParMetier;
use crate::ports::{
    ChantierInfo, MockAffectations, MockBesoinRepository, MockChantiers, MockEffectif, Quantite,
};
use hub_kernel::{EventEnvelope, FixedClock, Role};
use hub_planning_charge_domain::{Heures, NouveauBesoin, Semaine, TypeMetier};
use serde_json::json;
use std::sync::Mutex;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);
const CHANTIER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
const FERME: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0009);
const AUTRE: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_000a);
const ADMIN: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002);
const CHEF: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0003);
const COMPAGNON: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0004);
const CONDUCTEUR: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0005);

fn actor(user_id: Uuid, role: Role) -> Actor {
    Actor { user_id, role }
}

fn context_of(user_id: Uuid, role: Role) -> CommandContext {
    CommandContext::user(actor(user_id, role), Some("req-7".to_owned()))
}

fn semaine(code: &str) -> Semaine {
    Semaine::parse(code).unwrap()
}

fn info(id: Uuid, code: &str, ouvert: bool) -> ChantierInfo {
    ChantierInfo {
        chantier_id: id,
        code: Some(code.to_owned()),
        nom: Some(format!("Chantier {code}")),
        ouvert,
        responsables: if id == CHANTIER { vec![CHEF] } else { vec![] },
    }
}

/// CHANTIER is open and run by CHEF; FERME is closed; AUTRE open, not his.
fn chantiers() -> MockChantiers {
    let mut chantiers = MockChantiers::new();
    chantiers.expect_chantier().returning(|id| {
        Ok(match id {
            CHANTIER => Some(info(CHANTIER, "A-01", true)),
            FERME => Some(info(FERME, "Z-09", false)),
            AUTRE => Some(info(AUTRE, "B-02", true)),
            _ => None,
        })
    });
    chantiers
        .expect_run_by()
        .returning(|user| Ok(if user == CHEF { vec![CHANTIER] } else { vec![] }));
    chantiers.expect_ouverts().returning(|_| {
        Ok(vec![
            info(CHANTIER, "A-01", true),
            info(AUTRE, "B-02", true),
        ])
    });
    chantiers
}

fn existing() -> Besoin {
    Besoin::create(
        NouveauBesoin {
            chantier_id: CHANTIER,
            semaine: semaine("2026-W50"),
            type_metier: TypeMetier::Macon,
            heures: Heures::from_decimal(70.0).unwrap(),
            note: None,
        },
        CONDUCTEUR,
        NOW,
    )
    .0
}

type Written = Arc<Mutex<Vec<EventEnvelope>>>;

/// A repository holding `stored` that records the events it is given.
fn repository(stored: Option<Besoin>) -> (MockBesoinRepository, Written) {
    let written: Written = Arc::default();
    let mut repo = MockBesoinRepository::new();
    repo.expect_find().returning(move |_| Ok(stored.clone()));
    let sink = written.clone();
    repo.expect_insert().returning(move |_, events| {
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    let sink = written.clone();
    repo.expect_update().returning(move |_, events| {
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    (repo, written)
}

/// A repository that must not be written to.
fn untouched(stored: Option<Besoin>) -> MockBesoinRepository {
    let mut repo = MockBesoinRepository::new();
    repo.expect_find().returning(move |_| Ok(stored.clone()));
    repo.expect_insert().never();
    repo.expect_update().never();
    repo
}

fn ports_with(besoins: MockBesoinRepository) -> PlanningChargePorts {
    PlanningChargePorts {
        besoins: Arc::new(besoins),
        chantiers: Arc::new(chantiers()),
        effectif: Arc::new(MockEffectif::new()),
        affectations: Arc::new(MockAffectations::new()),
        clock: Arc::new(FixedClock(NOW)),
    }
}

fn input(chantier_id: Uuid) -> BesoinInput {
    BesoinInput {
        chantier_id,
        semaine: "2026-W50".to_owned(),
        type_metier: "macon".to_owned(),
        besoin_heures: 70.0,
        note: Some("Voiles".to_owned()),
    }
}

fn only_event(written: &Written) -> EventEnvelope {
    let events = written.lock().unwrap();
    assert_eq!(events.len(), 1, "exactly one event");
    events[0].clone()
}

#[tokio::test]
async fn create_stores_the_besoin_with_its_event() {
    let (repo, written) = repository(None);
    let besoin = CreateBesoin::new(ports_with(repo))
        .execute(&context_of(CONDUCTEUR, Role::Conducteur), input(CHANTIER))
        .await
        .unwrap();
    let event = only_event(&written);
    assert_eq!(event.event_type.as_str(), "besoin_charge.created");
    assert_eq!(event.aggregate_type, "besoin");
    assert_eq!(event.aggregate_id, besoin.id().to_string());
    assert_eq!(event.actor_id, Some(CONDUCTEUR));
    assert_eq!(event.correlation_id.as_deref(), Some("req-7"));
    assert_eq!(event.occurred_at, NOW);
    assert_eq!(
        event.data,
        json!({
            "besoin_id": besoin.id(),
            "chantier_id": CHANTIER,
            "semaine": "2026-W50",
            "type_metier": "macon",
            "besoin_heures": 70.0,
            "note": "Voiles",
        })
    );
    assert_eq!(besoin.created_by(), Some(CONDUCTEUR));
}

#[tokio::test]
async fn only_admins_and_conducteurs_write() {
    for (user, role) in [(CHEF, Role::ChefChantier), (COMPAGNON, Role::Compagnon)] {
        let ports = ports_with(untouched(Some(existing())));
        let context = context_of(user, role);
        let forbidden = |r: Result<()>| {
            assert!(matches!(
                r,
                Err(PlanningChargeError::Forbidden(access::FORBIDDEN_WRITE))
            ))
        };
        forbidden(
            CreateBesoin::new(ports.clone())
                .execute(&context, input(CHANTIER))
                .await
                .map(|_| ()),
        );
        forbidden(
            UpdateBesoin::new(ports.clone())
                .execute(&context, existing().id(), UpdateInput::default())
                .await
                .map(|_| ()),
        );
        forbidden(
            DeleteBesoin::new(ports)
                .execute(&context, existing().id())
                .await,
        );
    }
    let ports = ports_with(untouched(None));
    let system = CommandContext::system(None);
    assert!(matches!(
        CreateBesoin::new(ports)
            .execute(&system, input(CHANTIER))
            .await,
        Err(PlanningChargeError::Forbidden(_))
    ));
}

#[tokio::test]
async fn create_refuses_unknown_or_closed_chantiers_and_bad_fields() {
    let admin = context_of(ADMIN, Role::Admin);
    let code = |r: Result<Besoin>| match r {
        Err(PlanningChargeError::Invalid(errors)) => errors.errors()[0].code,
        other => panic!("expected a validation error, got {other:?}"),
    };
    let create = CreateBesoin::new(ports_with(untouched(None)));
    assert_eq!(
        code(create.execute(&admin, input(Uuid::from_u128(42))).await),
        "unknown_chantier"
    );
    assert_eq!(
        code(create.execute(&admin, input(FERME)).await),
        "chantier_not_open"
    );
    let bad = BesoinInput {
        semaine: "2027-W53".to_owned(),
        ..input(CHANTIER)
    };
    assert_eq!(code(create.execute(&admin, bad).await), "invalid_semaine");
}

#[tokio::test]
async fn a_taken_cell_is_a_duplicate() {
    let mut repo = MockBesoinRepository::new();
    repo.expect_insert()
        .times(1)
        .returning(|_, _| Err(RepositoryError::Duplicate));
    let result = CreateBesoin::new(ports_with(repo))
        .execute(&context_of(ADMIN, Role::Admin), input(CHANTIER))
        .await;
    assert!(matches!(result, Err(PlanningChargeError::Duplicate)));
}

#[tokio::test]
async fn update_publishes_what_changed_including_the_trade() {
    let stored = existing();
    let (repo, written) = repository(Some(stored.clone()));
    let besoin = UpdateBesoin::new(ports_with(repo))
        .execute(
            &context_of(CONDUCTEUR, Role::Conducteur),
            stored.id(),
            UpdateInput {
                besoin_heures: Some(77.5),
                type_metier: Some("Coffreur".to_owned()),
                note: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(besoin.type_metier(), TypeMetier::Coffreur);
    assert_eq!(besoin.version(), 2);
    let event = only_event(&written);
    assert_eq!(event.event_type.as_str(), "besoin_charge.updated");
    assert_eq!(event.aggregate_id, stored.id().to_string());
    assert_eq!(
        event.data,
        json!({
            "besoin_id": stored.id(),
            "chantier_id": CHANTIER,
            "semaine": "2026-W50",
            "type_metier": "coffreur",
            "besoin_heures": 77.5,
            "note": null,
            "changes": {
                "besoin_heures": {"old": 70.0, "new": 77.5},
                "type_metier": {"old": "macon", "new": "coffreur"},
            },
        })
    );
}

#[tokio::test]
async fn an_update_onto_a_taken_cell_is_a_duplicate() {
    let mut repo = MockBesoinRepository::new();
    repo.expect_find().returning(|_| Ok(Some(existing())));
    repo.expect_update()
        .times(1)
        .returning(|_, _| Err(RepositoryError::Duplicate));
    let result = UpdateBesoin::new(ports_with(repo))
        .execute(
            &context_of(ADMIN, Role::Admin),
            existing().id(),
            UpdateInput {
                type_metier: Some("coffreur".to_owned()),
                ..UpdateInput::default()
            },
        )
        .await;
    assert!(matches!(result, Err(PlanningChargeError::Duplicate)));
}

#[tokio::test]
async fn an_update_changing_nothing_writes_nothing() {
    let stored = existing();
    let besoin = UpdateBesoin::new(ports_with(untouched(Some(stored.clone()))))
        .execute(
            &context_of(ADMIN, Role::Admin),
            stored.id(),
            UpdateInput {
                besoin_heures: Some(70.0),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(besoin, stored);
}

#[tokio::test]
async fn updates_refuse_bad_fields_and_missing_besoins() {
    let ports = ports_with(untouched(None));
    let admin = context_of(ADMIN, Role::Admin);
    let result = UpdateBesoin::new(ports.clone())
        .execute(
            &admin,
            Uuid::from_u128(5),
            UpdateInput {
                besoin_heures: Some(-1.0),
                ..UpdateInput::default()
            },
        )
        .await;
    assert!(matches!(result, Err(PlanningChargeError::Invalid(_))));
    let result = UpdateBesoin::new(ports.clone())
        .execute(&admin, Uuid::from_u128(5), UpdateInput::default())
        .await;
    assert!(matches!(result, Err(PlanningChargeError::NotFound)));
    let result = DeleteBesoin::new(ports)
        .execute(&admin, Uuid::from_u128(5))
        .await;
    assert!(matches!(result, Err(PlanningChargeError::NotFound)));
}

#[tokio::test]
async fn a_lost_update_is_a_conflict() {
    let mut repo = MockBesoinRepository::new();
    repo.expect_find().returning(|_| Ok(Some(existing())));
    repo.expect_update()
        .returning(|_, _| Err(RepositoryError::Conflict));
    let result = DeleteBesoin::new(ports_with(repo))
        .execute(&context_of(ADMIN, Role::Admin), existing().id())
        .await;
    assert!(matches!(result, Err(PlanningChargeError::Conflict)));
}

#[tokio::test]
async fn delete_soft_deletes_and_publishes() {
    let stored = existing();
    let stored_besoin = Arc::new(Mutex::new(None));
    let (mut repo, written) = (MockBesoinRepository::new(), Written::default());
    let found = stored.clone();
    repo.expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    let (sink, saved) = (written.clone(), stored_besoin.clone());
    repo.expect_update()
        .times(1)
        .returning(move |besoin, events| {
            sink.lock().unwrap().extend_from_slice(events);
            *saved.lock().unwrap() = Some(besoin.clone());
            Ok(())
        });
    DeleteBesoin::new(ports_with(repo))
        .execute(&context_of(ADMIN, Role::Admin), stored.id())
        .await
        .unwrap();
    let event = only_event(&written);
    assert_eq!(event.event_type.as_str(), "besoin_charge.deleted");
    assert_eq!(event.actor_id, Some(ADMIN));
    assert_eq!(
        event.data,
        json!({
            "besoin_id": stored.id(),
            "chantier_id": CHANTIER,
            "semaine": "2026-W50",
            "type_metier": "macon",
        })
    );
    let saved = stored_besoin.lock().unwrap().clone().unwrap();
    assert!(saved.is_deleted());
    assert_eq!(saved.deleted_by(), Some(ADMIN));
}

#[tokio::test]
async fn reads_are_scoped_by_role() {
    let stored = existing();
    let ports = ports_with(untouched(Some(stored.clone())));
    let get = GetBesoin::new(ports.clone());
    for who in [
        actor(ADMIN, Role::Admin),
        actor(CONDUCTEUR, Role::Conducteur),
        actor(CHEF, Role::ChefChantier),
    ] {
        assert_eq!(get.execute(&who, stored.id()).await.unwrap(), stored);
    }
    // A chef who does not run the chantier does not see it.
    let other_chef = actor(Uuid::from_u128(77), Role::ChefChantier);
    assert!(matches!(
        get.execute(&other_chef, stored.id()).await,
        Err(PlanningChargeError::NotFound)
    ));
    assert!(matches!(
        get.execute(&actor(COMPAGNON, Role::Compagnon), stored.id())
            .await,
        Err(PlanningChargeError::Forbidden(access::FORBIDDEN_READ))
    ));
}

fn range(debut: &str, fin: &str) -> GrilleInput {
    GrilleInput {
        semaine_debut: debut.to_owned(),
        semaine_fin: fin.to_owned(),
        recherche: None,
    }
}

#[tokio::test]
async fn list_is_scoped_and_checks_its_range() {
    let mut repo = untouched(None);
    repo.expect_list()
        .withf(|chantier, debut, fin, page| {
            *chantier == CHANTIER
                && debut.to_string() == "2026-W50"
                && fin.to_string() == "2027-W02"
                && page.limit == 10
        })
        .returning(|_, _, _, _| Ok((vec![existing()], 1)));
    let list = ListBesoins::new(ports_with(repo));
    let page = Page::new(None, Some(10));
    let (items, total) = list
        .execute(
            &actor(CHEF, Role::ChefChantier),
            CHANTIER,
            &range("2026-W50", "2027-W02"),
            page,
        )
        .await
        .unwrap();
    assert_eq!((items.len(), total), (1, 1));
    assert!(matches!(
        list.execute(
            &actor(CHEF, Role::ChefChantier),
            AUTRE,
            &range("2026-W50", "2027-W02"),
            page
        )
        .await,
        Err(PlanningChargeError::ChantierNotFound)
    ));
    assert!(matches!(
        list.execute(
            &actor(ADMIN, Role::Admin),
            CHANTIER,
            &range("2026-W50", "2026-W01"),
            page
        )
        .await,
        Err(PlanningChargeError::Invalid(_))
    ));
    assert!(matches!(
        list.execute(
            &actor(COMPAGNON, Role::Compagnon),
            CHANTIER,
            &range("2026-W50", "2026-W51"),
            page
        )
        .await,
        Err(PlanningChargeError::Forbidden(_))
    ));
}

/// Ports for the grid: 70 h needed and 35 h planned on CHANTIER in W50,
/// 14 h planned on AUTRE; 2 people, one of them planned in W50.
fn grid_ports() -> PlanningChargePorts {
    let mut besoins = untouched(None);
    besoins.expect_totaux().returning(|ids, _, _| {
        Ok(ids
            .iter()
            .filter(|id| **id == CHANTIER)
            .map(|id| Quantite {
                chantier_id: *id,
                semaine: semaine("2026-W50"),
                minutes: 70 * 60,
            })
            .collect())
    });
    let mut affectations = MockAffectations::new();
    affectations.expect_planifie().returning(|ids, _, _| {
        Ok(ids
            .iter()
            .map(|id| Quantite {
                chantier_id: *id,
                semaine: semaine("2026-W50"),
                minutes: if *id == CHANTIER { 35 * 60 } else { 14 * 60 },
            })
            .collect())
    });
    affectations
        .expect_occupes()
        .returning(|_, _| Ok(vec![(semaine("2026-W50"), 1)]));
    let mut effectif = MockEffectif::new();
    effectif.expect_effectif().returning(|| Ok(2));
    PlanningChargePorts {
        besoins: Arc::new(besoins),
        chantiers: Arc::new(chantiers()),
        effectif: Arc::new(effectif),
        affectations: Arc::new(affectations),
        clock: Arc::new(FixedClock(NOW)),
    }
}

#[tokio::test]
async fn the_grid_shows_needs_against_planned_hours() {
    let grille = GrilleQuery::new(grid_ports())
        .execute(
            &actor(CONDUCTEUR, Role::Conducteur),
            &range("2026-W50", "2026-W51"),
        )
        .await
        .unwrap();
    assert_eq!(grille.semaines.len(), 2);
    let codes: Vec<_> = grille
        .chantiers
        .iter()
        .map(|l| l.code.clone().unwrap())
        .collect();
    assert_eq!(codes, ["A-01", "B-02"]);
    let cellule = grille.chantiers[0].cellules[0];
    assert_eq!((cellule.besoin, cellule.planifie), (70 * 60, 35 * 60));
    let w50 = &grille.pied[0];
    // (35 + 14) / 70 = 70 %: normal.
    assert_eq!(w50.occupation.taux, 70.0);
    assert_eq!(w50.occupation.niveau.as_str(), "normal");
    assert_eq!((w50.a_recruter, w50.a_placer), (0, 1));
    assert_eq!(grille.pied[1].a_placer, 2);
}

#[tokio::test]
async fn a_chef_sees_only_his_chantiers_rows() {
    let grille = GrilleQuery::new(grid_ports())
        .execute(
            &actor(CHEF, Role::ChefChantier),
            &range("2026-W50", "2026-W50"),
        )
        .await
        .unwrap();
    assert_eq!(grille.chantiers.len(), 1);
    assert_eq!(grille.chantiers[0].chantier_id, CHANTIER);
    // His rows only: 35 h of 70 h.
    assert_eq!(grille.pied[0].occupation.taux, 50.0);
}

#[tokio::test]
async fn the_grid_is_forbidden_to_compagnons_and_capped() {
    let query = GrilleQuery::new(grid_ports());
    assert!(matches!(
        query
            .execute(
                &actor(COMPAGNON, Role::Compagnon),
                &range("2026-W50", "2026-W51")
            )
            .await,
        Err(PlanningChargeError::Forbidden(access::FORBIDDEN_READ))
    ));
    match query
        .execute(&actor(ADMIN, Role::Admin), &range("2026-W01", "2028-W01"))
        .await
    {
        Err(PlanningChargeError::Invalid(errors)) => {
            assert_eq!(errors.errors()[0].code, "too_many_weeks")
        }
        other => panic!("expected too_many_weeks, got {other:?}"),
    }
}

/// Ports for the occupation of W50: the besoins and planned minutes of the
/// chantiers asked for (70 h of maçon and 35 h planned for a maçon on
/// CHANTIER, 14 h of grutier on AUTRE), two maçons as capacity, one planned.
fn occupation_ports() -> PlanningChargePorts {
    let mut besoins = untouched(None);
    besoins.expect_par_metier().returning(|ids, semaine_| {
        assert_eq!(semaine_, semaine("2026-W50"));
        Ok(ids
            .iter()
            .map(|&id| {
                if id == CHANTIER {
                    (TypeMetier::Macon, 70 * 60)
                } else {
                    (TypeMetier::Grutier, 14 * 60)
                }
            })
            .collect())
    });
    let mut affectations = MockAffectations::new();
    affectations
        .expect_planifie_par_metier()
        .returning(|ids, _| {
            Ok(ids
                .iter()
                .filter(|&&id| id == CHANTIER)
                .map(|_| ParMetier {
                    metier: Some("Maçon".into()),
                    valeur: 35 * 60,
                })
                .collect())
        });
    affectations.expect_occupes_par_metier().returning(|_| {
        Ok(vec![ParMetier {
            metier: Some("Maçon".into()),
            valeur: 1,
        }])
    });
    let mut effectif = MockEffectif::new();
    effectif.expect_par_metier().returning(|| {
        Ok(vec![ParMetier {
            metier: Some("maçon".into()),
            valeur: 2,
        }])
    });
    PlanningChargePorts {
        besoins: Arc::new(besoins),
        chantiers: Arc::new(chantiers()),
        effectif: Arc::new(effectif),
        affectations: Arc::new(affectations),
        clock: Arc::new(FixedClock(NOW)),
    }
}

#[tokio::test]
async fn the_occupation_of_a_week_is_per_trade_over_the_chantiers_seen() {
    let query = OccupationQuery::new(occupation_ports());
    let all = query
        .execute(&actor(CONDUCTEUR, Role::Conducteur), "2026-W50")
        .await
        .unwrap();
    let types: Vec<_> = all
        .types
        .iter()
        .map(|l| {
            (
                l.type_metier,
                l.besoin / 60,
                l.planifie / 60,
                l.capacite / 60,
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            (TypeMetier::Macon, 70, 35, 70),
            (TypeMetier::Grutier, 14, 0, 0)
        ]
    );
    assert_eq!(all.occupation.taux, 50.0);
    assert_eq!((all.a_recruter, all.a_placer), (0, 1));

    // A chef de chantier: his chantier's besoins only; capacity stays the company's.
    let his = query
        .execute(&actor(CHEF, Role::ChefChantier), "2026-W50")
        .await
        .unwrap();
    assert_eq!(his.besoin, 70 * 60);
    assert_eq!(his.types.len(), 1);
}

#[tokio::test]
async fn the_occupation_is_forbidden_to_compagnons_and_checks_its_week() {
    let query = OccupationQuery::new(occupation_ports());
    assert!(matches!(
        query
            .execute(&actor(COMPAGNON, Role::Compagnon), "2026-W50")
            .await,
        Err(PlanningChargeError::Forbidden(access::FORBIDDEN_READ))
    ));
    for bad in ["2027-W53", "2026-50", ""] {
        match query.execute(&actor(ADMIN, Role::Admin), bad).await {
            Err(PlanningChargeError::Invalid(errors)) => {
                assert_eq!(errors.errors()[0].code, "invalid_semaine", "{bad}")
            }
            other => panic!("expected invalid_semaine for {bad:?}, got {other:?}"),
        }
    }
}
