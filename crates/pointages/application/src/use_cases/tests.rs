use super::*;
use crate::ports::{ChantierInfo, MockDirectory, MockPointageRepository, UserInfo};
use hub_kernel::{EventEnvelope, FixedClock, Role};
use hub_pointages_domain::Statut;
use std::sync::Mutex;
use time::macros::{date, datetime};

const NOW: time::OffsetDateTime = datetime!(2026-12-07 18:00 UTC);
const ADMIN: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
const CONDUCTEUR: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002);
const CHEF: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0003);
const KARIM: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0004);
const LEA: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0005);
const CHANTIER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0010);
const FERME: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0011);
const AUTRE: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0012);

fn as_(user_id: Uuid, role: Role) -> CommandContext {
    CommandContext::user(Actor { user_id, role }, Some("req-1".to_owned()))
}
fn admin() -> CommandContext {
    as_(ADMIN, Role::Admin)
}
fn chef() -> CommandContext {
    as_(CHEF, Role::ChefChantier)
}
fn karim() -> CommandContext {
    as_(KARIM, Role::Compagnon)
}
fn lea() -> CommandContext {
    as_(LEA, Role::Compagnon)
}

/// CHANTIER is run by CONDUCTEUR and CHEF; AUTRE by nobody we know; FERME
/// is closed. KARIM, LEA and CHEF are active users.
fn directory() -> MockDirectory {
    let mut directory = MockDirectory::new();
    directory.expect_user().returning(|id| {
        Ok([KARIM, LEA, CHEF].contains(&id).then_some(UserInfo {
            user_id: id,
            is_active: true,
        }))
    });
    directory.expect_chantier().returning(|id| {
        let responsables = Responsables {
            conducteur_ids: vec![CONDUCTEUR],
            chef_chantier_ids: vec![CHEF],
        };
        Ok(match id {
            CHANTIER => Some(ChantierInfo {
                chantier_id: id,
                open: true,
                responsables,
            }),
            FERME => Some(ChantierInfo {
                chantier_id: id,
                open: false,
                responsables,
            }),
            AUTRE => Some(ChantierInfo {
                chantier_id: id,
                open: true,
                responsables: Responsables::default(),
            }),
            _ => None,
        })
    });
    directory.expect_chantiers_run_by().returning(|user| {
        Ok(if user == CHEF || user == CONDUCTEUR {
            vec![CHANTIER]
        } else {
            vec![]
        })
    });
    directory
}

type Store = Arc<Mutex<Vec<Pointage>>>;
type Written = Arc<Mutex<Vec<EventEnvelope>>>;

/// An in-memory repository over `store` that records every event it is
/// given and enforces the unique triple and the version check.
fn repository(store: Store) -> (MockPointageRepository, Written) {
    let written: Written = Arc::default();
    let mut repo = MockPointageRepository::new();
    let (s, w) = (store.clone(), written.clone());
    repo.expect_insert().returning(move |pointage, events| {
        let mut rows = s.lock().unwrap();
        if rows.iter().any(|p| {
            (p.utilisateur_id(), p.chantier_id(), p.date())
                == (
                    pointage.utilisateur_id(),
                    pointage.chantier_id(),
                    pointage.date(),
                )
        }) {
            return Err(RepositoryError::Conflict {
                utilisateur_id: pointage.utilisateur_id(),
                chantier_id: pointage.chantier_id(),
                date: pointage.date(),
            });
        }
        rows.push(pointage.clone());
        w.lock().unwrap().extend(events.iter().cloned());
        Ok(())
    });
    let (s, w) = (store.clone(), written.clone());
    repo.expect_update().returning(move |pointage, events| {
        let mut rows = s.lock().unwrap();
        let row = rows
            .iter_mut()
            .find(|p| p.id() == pointage.id())
            .ok_or(RepositoryError::NotFound)?;
        if row.version() != pointage.version() - 1 {
            return Err(RepositoryError::Changed);
        }
        *row = pointage.clone();
        w.lock().unwrap().extend(events.iter().cloned());
        Ok(())
    });
    let (s, w) = (store.clone(), written.clone());
    repo.expect_delete().returning(move |pointage, events| {
        s.lock().unwrap().retain(|p| p.id() != pointage.id());
        w.lock().unwrap().extend(events.iter().cloned());
        Ok(())
    });
    let (s, w) = (store.clone(), written.clone());
    repo.expect_insert_variable()
        .returning(move |variable, events| {
            // As the database: only on a pointage still editable.
            let rows = s.lock().unwrap();
            let pointage = rows
                .iter()
                .find(|p| p.id() == variable.pointage_id)
                .ok_or(RepositoryError::NotFound)?;
            if !pointage.is_editable() {
                return Err(RepositoryError::Changed);
            }
            w.lock().unwrap().extend(events.iter().cloned());
            Ok(())
        });
    let s = store.clone();
    repo.expect_find()
        .returning(move |id| Ok(s.lock().unwrap().iter().find(|p| p.id() == id).cloned()));
    let s = store;
    repo.expect_list().returning(move |filter, _| {
        let rows: Vec<Pointage> = s
            .lock()
            .unwrap()
            .iter()
            .filter(|p| {
                filter.visible_user.is_none()
                    || filter.visible_user == Some(p.utilisateur_id())
                    || filter.visible_chantiers.contains(&p.chantier_id())
            })
            .filter(|p| filter.statut.is_none_or(|s| s == p.statut()))
            .cloned()
            .collect();
        let total = rows.len() as u64;
        Ok((rows, total))
    });
    (repo, written)
}

struct Harness {
    ports: PointagesPorts,
    written: Written,
}

impl Harness {
    fn new() -> Self {
        let (repo, written) = repository(Arc::default());
        Self {
            ports: PointagesPorts {
                pointages: Arc::new(repo),
                directory: Arc::new(directory()),
                clock: Arc::new(FixedClock(NOW)),
            },
            written,
        }
    }

    fn types(&self) -> Vec<String> {
        self.written
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.event_type.as_str().to_owned())
            .collect()
    }

    fn last(&self) -> EventEnvelope {
        self.written.lock().unwrap().last().cloned().unwrap()
    }

    async fn create(
        &self,
        context: &CommandContext,
        user: Uuid,
        chantier: Uuid,
    ) -> Result<Pointage, PointagesError> {
        CreatePointage::new(self.ports.clone())
            .execute(
                context,
                CreateInput {
                    utilisateur_id: user,
                    chantier_id: chantier,
                    date_pointage: date!(2026 - 12 - 07),
                    heures_normales: "7:30".to_owned(),
                    heures_supplementaires: Some("1:00".to_owned()),
                    commentaire: None,
                    affectation_id: None,
                },
            )
            .await
    }

    async fn submitted(&self) -> Pointage {
        let p = self.create(&karim(), KARIM, CHANTIER).await.unwrap();
        SubmitPointage::new(self.ports.clone())
            .execute(&karim(), p.id())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_compagnon_enters_his_hours_once_per_chantier_and_day() {
    let h = Harness::new();
    let p = h.create(&karim(), KARIM, CHANTIER).await.unwrap();
    assert_eq!(p.statut(), Statut::Brouillon);
    assert_eq!(p.created_by(), Some(KARIM));
    let event = h.last();
    assert_eq!(event.event_type.as_str(), "heures.created");
    assert_eq!(event.data["heures_normales"], 450);
    assert_eq!(event.data["heures_supplementaires"], 60);
    assert_eq!(event.data["chantier_id"], CHANTIER.to_string());
    assert_eq!(event.actor_id, Some(KARIM));
    assert!(matches!(
        h.create(&karim(), KARIM, CHANTIER).await,
        Err(PointagesError::Conflict { .. })
    ));
    assert_eq!(h.types(), ["heures.created"]);
}

#[tokio::test]
async fn creation_checks_rights_user_and_chantier() {
    let h = Harness::new();
    assert!(matches!(
        h.create(&karim(), LEA, CHANTIER).await,
        Err(PointagesError::Forbidden(_))
    ));
    assert!(h.create(&chef(), LEA, CHANTIER).await.is_ok());
    assert!(matches!(
        h.create(&chef(), LEA, AUTRE).await,
        Err(PointagesError::Forbidden(_))
    ));
    assert!(h.create(&admin(), LEA, AUTRE).await.is_ok());
    assert!(matches!(
        h.create(&admin(), KARIM, FERME).await,
        Err(PointagesError::ChantierClosed(_))
    ));
    assert!(matches!(
        h.create(&admin(), ADMIN, CHANTIER).await,
        Err(PointagesError::UnknownUser(_))
    ));
    let bad = CreatePointage::new(h.ports.clone())
        .execute(
            &karim(),
            CreateInput {
                utilisateur_id: KARIM,
                chantier_id: CHANTIER,
                date_pointage: date!(2026 - 12 - 08),
                heures_normales: "7:75".to_owned(),
                heures_supplementaires: None,
                commentaire: None,
                affectation_id: None,
            },
        )
        .await;
    assert!(matches!(bad, Err(PointagesError::Invalid(_))));
}

#[tokio::test]
async fn submit_then_validate_publishes_the_hours_in_minutes() {
    let h = Harness::new();
    let p = h.submitted().await;
    assert_eq!(p.statut(), Statut::Soumis);
    let validated = ValidatePointage::new(h.ports.clone())
        .execute(&chef(), p.id())
        .await
        .unwrap();
    assert_eq!(validated.statut(), Statut::Valide);
    assert_eq!(validated.validation().unwrap().par, CHEF);
    let event = h.last();
    assert_eq!(event.event_type.as_str(), "heures.validated");
    assert_eq!(event.data["heures_normales"], 450);
    assert_eq!(event.data["validated_by"], CHEF.to_string());
    assert_eq!(
        h.types(),
        ["heures.created", "heures.submitted", "heures.validated"]
    );
    // Final: nothing more, not even an edit.
    assert!(matches!(
        UpdatePointage::new(h.ports.clone())
            .execute(&admin(), p.id(), UpdateInput::default())
            .await,
        Err(PointagesError::Statut(PointageError::NonModifiable(
            Statut::Valide
        )))
    ));
    assert!(matches!(
        DeletePointage::new(h.ports.clone())
            .execute(&admin(), p.id())
            .await,
        Err(PointagesError::Statut(_))
    ));
}

#[tokio::test]
async fn a_compagnon_cannot_validate_and_nobody_validates_his_own_hours() {
    let h = Harness::new();
    let p = h.submitted().await;
    // Karim sees his row but may not validate it.
    assert!(matches!(
        ValidatePointage::new(h.ports.clone())
            .execute(&karim(), p.id())
            .await,
        Err(PointagesError::Forbidden(_))
    ));
    // Léa does not even see it.
    assert!(matches!(
        ValidatePointage::new(h.ports.clone())
            .execute(&lea(), p.id())
            .await,
        Err(PointagesError::NotFound)
    ));
    // The chef's own hours on his chantier.
    let own = h.create(&chef(), CHEF, CHANTIER).await.unwrap();
    SubmitPointage::new(h.ports.clone())
        .execute(&chef(), own.id())
        .await
        .unwrap();
    assert!(matches!(
        ValidatePointage::new(h.ports.clone())
            .execute(&chef(), own.id())
            .await,
        Err(PointagesError::Forbidden(_))
    ));
    // The system never validates.
    assert!(matches!(
        ValidatePointage::new(h.ports.clone())
            .execute(&CommandContext::system(None), p.id())
            .await,
        Err(PointagesError::Forbidden(_))
    ));
    assert!(
        ValidatePointage::new(h.ports.clone())
            .execute(&as_(CONDUCTEUR, Role::Conducteur), p.id())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn reject_needs_a_motif_then_correct_and_resubmit() {
    let h = Harness::new();
    let p = h.submitted().await;
    assert!(matches!(
        RejectPointage::new(h.ports.clone())
            .execute(&chef(), p.id(), "  ")
            .await,
        Err(PointagesError::Invalid(_))
    ));
    let rejected = RejectPointage::new(h.ports.clone())
        .execute(&chef(), p.id(), "7 h seulement")
        .await
        .unwrap();
    assert_eq!(rejected.statut(), Statut::Rejete);
    assert_eq!(h.last().data["motif"], "7 h seulement");
    let edited = UpdatePointage::new(h.ports.clone())
        .execute(
            &karim(),
            p.id(),
            UpdateInput {
                heures_supplementaires: Some("0:00".to_owned()),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.statut(), Statut::Rejete);
    assert!(h.last().data["changes"]["heures_supplementaires"].is_object());
    CorrectPointage::new(h.ports.clone())
        .execute(&karim(), p.id())
        .await
        .unwrap();
    let resubmitted = SubmitPointage::new(h.ports.clone())
        .execute(&karim(), p.id())
        .await
        .unwrap();
    assert_eq!(resubmitted.statut(), Statut::Soumis);
    assert!(matches!(
        SubmitPointage::new(h.ports.clone())
            .execute(&karim(), p.id())
            .await,
        Err(PointagesError::Statut(PointageError::Transition { .. }))
    ));
}

#[tokio::test]
async fn only_the_owner_signs_and_a_no_op_edit_publishes_nothing() {
    let h = Harness::new();
    let p = h.create(&karim(), KARIM, CHANTIER).await.unwrap();
    assert!(matches!(
        SignPointage::new(h.ports.clone())
            .execute(&chef(), p.id(), "sig")
            .await,
        Err(PointagesError::Forbidden(_))
    ));
    SignPointage::new(h.ports.clone())
        .execute(&karim(), p.id(), "data:image/png;base64,AAAA")
        .await
        .unwrap();
    let signed = h.last();
    assert!(signed.data["changes"]["signature_date"].is_object());
    assert!(!signed.data.to_string().contains("base64"));
    let before = h.types().len();
    UpdatePointage::new(h.ports.clone())
        .execute(&karim(), p.id(), UpdateInput::default())
        .await
        .unwrap();
    assert_eq!(h.types().len(), before);
}

#[tokio::test]
async fn delete_is_for_writers_of_an_editable_row() {
    let h = Harness::new();
    let p = h.create(&karim(), KARIM, CHANTIER).await.unwrap();
    assert!(matches!(
        DeletePointage::new(h.ports.clone())
            .execute(&lea(), p.id())
            .await,
        Err(PointagesError::NotFound)
    ));
    DeletePointage::new(h.ports.clone())
        .execute(&karim(), p.id())
        .await
        .unwrap();
    assert_eq!(h.last().event_type.as_str(), "heures.deleted");
    assert!(matches!(
        GetPointage::new(h.ports.clone())
            .execute(&karim(), p.id())
            .await,
        Err(PointagesError::NotFound)
    ));
}

#[tokio::test]
async fn reads_are_scoped_by_role() {
    let h = Harness::new();
    h.create(&karim(), KARIM, CHANTIER).await.unwrap();
    h.create(&admin(), LEA, AUTRE).await.unwrap();
    let list = |actor: Actor| {
        let ports = h.ports.clone();
        async move {
            ListPointages::new(ports)
                .execute(&actor, PointageFilter::default(), Page::new(None, None))
                .await
                .unwrap()
                .1
        }
    };
    let actor = |user_id, role| Actor { user_id, role };
    assert_eq!(list(actor(ADMIN, Role::Admin)).await, 2);
    assert_eq!(list(actor(CHEF, Role::ChefChantier)).await, 1);
    assert_eq!(list(actor(LEA, Role::Compagnon)).await, 1);
    assert_eq!(list(actor(CONDUCTEUR, Role::Conducteur)).await, 1);
    let bad = ListPointages::new(h.ports.clone())
        .execute(
            &actor(ADMIN, Role::Admin),
            PointageFilter {
                date_debut: Some(date!(2026 - 12 - 08)),
                date_fin: Some(date!(2026 - 12 - 07)),
                ..PointageFilter::default()
            },
            Page::new(None, None),
        )
        .await;
    assert!(matches!(bad, Err(PointagesError::Invalid(_))));
}

#[tokio::test]
async fn a_concurrent_change_is_reported_not_overwritten() {
    let h = Harness::new();
    let p = h.create(&karim(), KARIM, CHANTIER).await.unwrap();
    let mut stale = p.clone();
    SubmitPointage::new(h.ports.clone())
        .execute(&karim(), p.id())
        .await
        .unwrap();
    let event = stale.submit(NOW).unwrap();
    assert!(matches!(
        h.ports.store(&karim(), &stale, &event).await,
        Err(PointagesError::Changed)
    ));
}

#[tokio::test]
async fn a_conditional_change_applies_only_to_the_version_it_names() {
    let h = Harness::new();
    let p = h.create(&karim(), KARIM, CHANTIER).await.unwrap();
    let before = h.types().len();
    // Stale: the caller last saw another version; nothing changes.
    let stale = karim().expecting(Some(vec![p.version() + 1]));
    for refused in [
        SubmitPointage::new(h.ports.clone())
            .execute(&stale, p.id())
            .await
            .map(|_| ()),
        SignPointage::new(h.ports.clone())
            .execute(&stale, p.id(), "Karim")
            .await
            .map(|_| ()),
        DeletePointage::new(h.ports.clone())
            .execute(&stale, p.id())
            .await,
    ] {
        assert!(matches!(
            refused,
            Err(PointagesError::Precondition(VersionMismatch { current: 1 }))
        ));
    }
    assert_eq!(h.types().len(), before);
    // A caller who may not see it learns nothing from a precondition.
    let hidden = lea().expecting(Some(vec![99]));
    assert!(matches!(
        SubmitPointage::new(h.ports.clone())
            .execute(&hidden, p.id())
            .await,
        Err(PointagesError::NotFound)
    ));
    // The right version goes through, and the validation checks its own.
    let fresh = karim().expecting(Some(vec![p.version()]));
    let submitted = SubmitPointage::new(h.ports.clone())
        .execute(&fresh, p.id())
        .await
        .unwrap();
    let stale_chef = chef().expecting(Some(vec![p.version()]));
    assert!(matches!(
        ValidatePointage::new(h.ports.clone())
            .execute(&stale_chef, p.id())
            .await,
        Err(PointagesError::Precondition(_))
    ));
    let validated = ValidatePointage::new(h.ports.clone())
        .execute(&chef().expecting(Some(vec![submitted.version()])), p.id())
        .await
        .unwrap();
    assert_eq!(validated.statut(), Statut::Valide);
}

#[tokio::test]
async fn variables_are_added_by_writers_while_the_pointage_is_editable() {
    use crate::input::VariableInput;
    use crate::variables::CreateVariablePaie;
    let h = Harness::new();
    let p = h.create(&karim(), KARIM, CHANTIER).await.unwrap();
    let input = |type_variable: &str, valeur: &str| VariableInput {
        pointage_id: p.id(),
        type_variable: type_variable.to_owned(),
        valeur: valeur.to_owned(),
        date_application: date!(2026 - 12 - 07),
        commentaire: Some("midi".to_owned()),
    };
    let add = CreateVariablePaie::new(h.ports.clone());
    let (variable, pointage) = add
        .execute(&karim(), input("PANIER_REPAS", "9.4"))
        .await
        .unwrap();
    assert_eq!(pointage.id(), p.id());
    assert_eq!(variable.valeur.to_string(), "9.40");
    assert_eq!(variable.created_by, Some(KARIM));
    let event = h.last();
    assert_eq!(event.event_type.as_str(), "variable_paie.created");
    assert_eq!(event.aggregate_id, p.id().to_string());
    assert_eq!(event.data["variable_id"], variable.id.to_string());
    assert_eq!(event.data["heures_id"], p.id().to_string());
    assert_eq!(event.data["utilisateur_id"], KARIM.to_string());
    assert_eq!(event.data["chantier_id"], CHANTIER.to_string());
    assert_eq!(event.data["type_variable"], "panier_repas");
    assert_eq!(event.data["valeur"], "9.40");
    assert_eq!(event.data["date_application"], "2026-12-07");
    assert_eq!(event.correlation_id.as_deref(), Some("req-1"));
    // A responsable of the chantier may too.
    assert!(add.execute(&chef(), input("rtt", "1")).await.is_ok());
    let before = h.types().len();

    // Léa does not see it; bad input is reported; nothing is written.
    assert!(matches!(
        add.execute(&lea(), input("rtt", "1")).await,
        Err(PointagesError::NotFound)
    ));
    assert!(matches!(
        add.execute(&karim(), input("prime", "-1")).await,
        Err(PointagesError::Invalid(_))
    ));
    // Submitted, then validated: no more variables.
    SubmitPointage::new(h.ports.clone())
        .execute(&karim(), p.id())
        .await
        .unwrap();
    assert!(matches!(
        add.execute(&karim(), input("rtt", "1")).await,
        Err(PointagesError::Statut(PointageError::NonModifiable(
            Statut::Soumis
        )))
    ));
    ValidatePointage::new(h.ports.clone())
        .execute(&chef(), p.id())
        .await
        .unwrap();
    assert!(matches!(
        add.execute(&admin(), input("rtt", "1")).await,
        Err(PointagesError::Statut(PointageError::NonModifiable(
            Statut::Valide
        )))
    ));
    assert_eq!(
        h.types()[before..],
        ["heures.submitted", "heures.validated"]
    );
}

#[tokio::test]
async fn a_variable_on_hours_outside_ones_view_is_not_found() {
    use crate::input::VariableInput;
    use crate::variables::CreateVariablePaie;
    let h = Harness::new();
    // Karim's hours on AUTRE: the conducteur of CHANTIER does not see them,
    // the chef of CHANTIER neither; Karim's own may.
    let p = h.create(&admin(), KARIM, AUTRE).await.unwrap();
    let input = VariableInput {
        pointage_id: p.id(),
        type_variable: "deplacement".to_owned(),
        valeur: "12".to_owned(),
        date_application: date!(2026 - 12 - 07),
        commentaire: None,
    };
    let add = CreateVariablePaie::new(h.ports.clone());
    assert!(matches!(
        add.execute(&chef(), input.clone()).await,
        Err(PointagesError::NotFound)
    ));
    assert!(add.execute(&karim(), input).await.is_ok());
}
