use super::*;
use crate::input::ItemInput;
use crate::ports::{ChantierInfo, MockAffectationRepository, MockDirectory, Noms, UserInfo};
use hub_kernel::{FixedClock, Role};
use hub_planning_domain::{Modele, Plage, TypeAffectation};
use serde_json::json;
use std::sync::Mutex;
use time::macros::{date, datetime};

const NOW: time::OffsetDateTime = datetime!(2026-12-02 07:00 UTC);
const CONDUCTEUR: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
const AUTRE_CONDUCTEUR: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002);
const COMPAGNON: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0003);
const CHEF: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0004);
const CHANTIER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0010);
const FERME: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0011);
const AUTRE_CHANTIER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0012);
const INACTIF: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0005);

fn context_of(user_id: Uuid, role: Role) -> CommandContext {
    CommandContext::user(Actor { user_id, role }, Some("req-1".to_owned()))
}

fn conducteur() -> CommandContext {
    context_of(CONDUCTEUR, Role::Conducteur)
}

/// CHANTIER (run by CONDUCTEUR) and AUTRE_CHANTIER (run by AUTRE_CONDUCTEUR)
/// are open; FERME is closed; COMPAGNON and CHEF are active, INACTIF is
/// not; CHEF runs CHANTIER.
fn directory() -> MockDirectory {
    let mut directory = MockDirectory::new();
    directory.expect_user().returning(|id| {
        Ok([COMPAGNON, CHEF, INACTIF]
            .contains(&id)
            .then_some(UserInfo {
                user_id: id,
                is_active: id != INACTIF,
            }))
    });
    directory.expect_chantier().returning(|id| {
        Ok(match id {
            CHANTIER => Some(ChantierInfo {
                chantier_id: id,
                plannable: true,
                conducteur_ids: vec![CONDUCTEUR],
            }),
            AUTRE_CHANTIER => Some(ChantierInfo {
                chantier_id: id,
                plannable: true,
                conducteur_ids: vec![AUTRE_CONDUCTEUR],
            }),
            FERME => Some(ChantierInfo {
                chantier_id: id,
                plannable: false,
                conducteur_ids: vec![CONDUCTEUR],
            }),
            _ => None,
        })
    });
    directory
        .expect_chantiers_run_by()
        .returning(|user| Ok(if user == CHEF { vec![CHANTIER] } else { vec![] }));
    directory
        .expect_active_users()
        .returning(|| Ok(vec![COMPAGNON, CHEF]));
    directory
}

type Written = Arc<Mutex<Vec<EventEnvelope>>>;

/// A repository holding `stored` that records every event it is given.
fn repository(stored: Vec<Affectation>) -> (MockAffectationRepository, Written) {
    let written: Written = Arc::default();
    let mut repo = MockAffectationRepository::new();
    let all = stored.clone();
    repo.expect_find()
        .returning(move |id| Ok(all.iter().find(|a| a.id() == id).cloned()));
    let all = stored.clone();
    repo.expect_find_many().returning(move |ids| {
        Ok(all
            .iter()
            .filter(|a| ids.contains(&a.id()))
            .cloned()
            .collect())
    });
    let all = stored;
    repo.expect_list().returning(move |filter, _| {
        let found: Vec<Affectation> = all
            .iter()
            .filter(|a| {
                filter.utilisateur_ids.is_empty()
                    || filter.utilisateur_ids.contains(&a.utilisateur_id())
            })
            .filter(|a| filter.date_debut.is_none_or(|d| a.date() >= d))
            .filter(|a| filter.date_fin.is_none_or(|d| a.date() <= d))
            .cloned()
            .collect();
        let total = found.len() as u64;
        Ok((found, total))
    });
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
    let sink = written.clone();
    repo.expect_delete().returning(move |_, events| {
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    (repo, written)
}

/// A repository holding `stored` that must not be written to.
fn untouched(stored: Vec<Affectation>) -> MockAffectationRepository {
    let mut repo = MockAffectationRepository::new();
    repo.expect_find()
        .returning(move |id| Ok(stored.iter().find(|a| a.id() == id).cloned()));
    repo.expect_list().returning(|_, _| Ok((vec![], 0)));
    repo.expect_insert().never();
    repo.expect_update().never();
    repo.expect_delete().never();
    repo
}

fn ports(repo: MockAffectationRepository) -> PlanningPorts {
    PlanningPorts {
        affectations: Arc::new(repo),
        directory: Arc::new(directory()),
        clock: Arc::new(FixedClock(NOW)),
    }
}

fn input() -> CreateInput {
    CreateInput {
        utilisateur_id: COMPAGNON,
        chantier_id: CHANTIER,
        date: date!(2026 - 12 - 07),
        date_fin: None,
        heure_debut: Some("7:30".into()),
        heure_fin: Some("16:30".into()),
        note: Some("banches".into()),
        type_affectation: None,
        jours_recurrence: None,
        date_fin_recurrence: None,
    }
}

fn existing(user: Uuid, chantier: Uuid, day: Date) -> Affectation {
    let modele = Modele {
        utilisateur_id: user,
        chantier_id: chantier,
        plage: Plage::default(),
        note: None,
        type_affectation: TypeAffectation::Unique,
        jours_recurrence: None,
    };
    Affectation::plan(&modele, day, Some(CONDUCTEUR), NOW)
}

#[tokio::test]
async fn one_day_is_stored_with_exactly_its_created_event() {
    let (repo, written) = repository(vec![]);
    let created = CreateAffectations::new(ports(repo))
        .execute(&conducteur(), input())
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type.as_str(), "affectation.created");
    assert_eq!(event.aggregate_type, "affectation");
    assert_eq!(event.aggregate_id, created[0].id().to_string());
    assert_eq!(event.actor_id, Some(CONDUCTEUR));
    assert_eq!(event.correlation_id.as_deref(), Some("req-1"));
    assert_eq!(event.occurred_at, NOW);
    assert_eq!(
        event.data,
        json!({
            "affectation_id": created[0].id(), "utilisateur_id": COMPAGNON,
            "chantier_id": CHANTIER, "date": "2026-12-07", "heure_debut": "07:30",
            "heure_fin": "16:30", "note": "banches", "type_affectation": "unique"
        })
    );
    assert_eq!(created[0].created_by(), Some(CONDUCTEUR));
}

#[tokio::test]
async fn a_recurrence_publishes_one_bulk_event_with_every_affectation() {
    let (repo, written) = repository(vec![]);
    let recurrence = CreateInput {
        type_affectation: Some("recurrente".into()),
        jours_recurrence: Some(vec![0, 2, 4]),
        date_fin_recurrence: Some(date!(2026 - 12 - 20)),
        ..input()
    };
    let created = CreateAffectations::new(ports(repo))
        .execute(&conducteur(), recurrence)
        .await
        .unwrap();
    assert_eq!(created.len(), 6);
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let data = &events[0].data;
    assert_eq!(events[0].event_type.as_str(), "affectation.bulk_created");
    assert_eq!(data["source"], "recurrence");
    assert_eq!(data["count"], 6);
    assert_eq!(data["chantier_id"], json!(CHANTIER));
    assert_eq!(data["utilisateur_id"], json!(COMPAGNON));
    assert_eq!(data["affectations"][1]["date"], "2026-12-09");
    assert_eq!(data["affectations"][1]["heure_fin"], "16:30");
    assert_eq!(
        data["affectation_ids"],
        json!(created.iter().map(Affectation::id).collect::<Vec<_>>())
    );
}

#[tokio::test]
async fn unknown_users_closed_chantiers_and_foreign_conducteurs_write_nothing() {
    let create = CreateAffectations::new(ports(untouched(vec![])));
    let unknown = Uuid::now_v7();
    let cases = [
        (
            conducteur(),
            CreateInput {
                utilisateur_id: unknown,
                ..input()
            },
        ),
        (
            conducteur(),
            CreateInput {
                chantier_id: FERME,
                ..input()
            },
        ),
        (
            conducteur(),
            CreateInput {
                chantier_id: Uuid::now_v7(),
                ..input()
            },
        ),
        (context_of(AUTRE_CONDUCTEUR, Role::Conducteur), input()),
        (context_of(CHEF, Role::ChefChantier), input()),
    ];
    let results: Vec<_> = futures_join(cases.into_iter().map(|(c, i)| {
        let create = &create;
        async move { create.execute(&c, i).await }
    }))
    .await;
    assert!(matches!(results[0], Err(PlanningError::UnknownUser(id)) if id == unknown));
    assert!(matches!(results[1], Err(PlanningError::ChantierNotPlannable(id)) if id == FERME));
    assert!(matches!(
        results[2],
        Err(PlanningError::ChantierNotPlannable(_))
    ));
    assert!(matches!(results[3], Err(PlanningError::Forbidden)));
    assert!(matches!(results[4], Err(PlanningError::Forbidden)));
}

/// Runs the futures one after the other (no executor dependency needed).
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    for future in futures {
        out.push(future.await);
    }
    out
}

#[tokio::test]
async fn a_day_already_taken_is_a_conflict() {
    let mut repo = MockAffectationRepository::new();
    repo.expect_insert().returning(|_, _| {
        Err(RepositoryError::Conflict {
            utilisateur_id: COMPAGNON,
            date: date!(2026 - 12 - 07),
        })
    });
    let result = CreateAffectations::new(ports(repo))
        .execute(&conducteur(), input())
        .await;
    assert!(matches!(
        result,
        Err(PlanningError::Conflict { utilisateur_id, date }) if utilisateur_id == COMPAGNON && date == date!(2026 - 12 - 07)
    ));
}

#[tokio::test]
async fn a_move_publishes_the_changes_and_a_no_op_nothing() {
    let stored = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 07));
    let id = stored.id();
    let (repo, written) = repository(vec![stored]);
    let update = UpdateAffectation::new(ports(repo));
    let moved = update
        .execute(
            &conducteur(),
            id,
            UpdateInput {
                date: Some(date!(2026 - 12 - 08)),
                heure_debut: Some("8:00".into()),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.date(), date!(2026 - 12 - 08));
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type.as_str(), "affectation.updated");
    assert_eq!(
        events[0].data["changes"],
        json!({"date": {"old": "2026-12-07", "new": "2026-12-08"}, "heure_debut": {"old": null, "new": "08:00"}})
    );
    update
        .execute(&conducteur(), id, UpdateInput::default())
        .await
        .unwrap();
    assert_eq!(
        written.lock().unwrap().len(),
        1,
        "a no-op publishes nothing"
    );
}

#[tokio::test]
async fn a_move_to_a_chantier_the_conducteur_does_not_run_is_refused() {
    let stored = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 07));
    let id = stored.id();
    let update = UpdateAffectation::new(ports(untouched(vec![stored])));
    let to = |chantier| UpdateInput {
        chantier_id: Some(chantier),
        ..UpdateInput::default()
    };
    assert!(matches!(
        update.execute(&conducteur(), id, to(AUTRE_CHANTIER)).await,
        Err(PlanningError::Forbidden)
    ));
    assert!(matches!(
        update.execute(&conducteur(), id, to(FERME)).await,
        Err(PlanningError::ChantierNotPlannable(_))
    ));
    assert!(matches!(
        update
            .execute(
                &context_of(AUTRE_CONDUCTEUR, Role::Conducteur),
                id,
                UpdateInput::default()
            )
            .await,
        Err(PlanningError::Forbidden)
    ));
    assert!(matches!(
        update
            .execute(&conducteur(), Uuid::now_v7(), UpdateInput::default())
            .await,
        Err(PlanningError::NotFound)
    ));
}

#[tokio::test]
async fn a_move_to_another_user_publishes_it_and_an_inactive_or_unknown_one_is_refused() {
    let stored = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 07));
    let id = stored.id();
    let (repo, written) = repository(vec![stored.clone()]);
    let to = |user| UpdateInput {
        utilisateur_id: Some(user),
        ..UpdateInput::default()
    };
    let moved = UpdateAffectation::new(ports(repo))
        .execute(&conducteur(), id, to(CHEF))
        .await
        .unwrap();
    assert_eq!(moved.utilisateur_id(), CHEF);
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type.as_str(), "affectation.updated");
    assert_eq!(events[0].data["utilisateur_id"], json!(CHEF));
    assert_eq!(
        events[0].data["changes"],
        json!({"utilisateur_id": {"old": COMPAGNON, "new": CHEF}})
    );

    let update = UpdateAffectation::new(ports(untouched(vec![stored])));
    for user in [INACTIF, Uuid::now_v7()] {
        assert!(matches!(
            update.execute(&conducteur(), id, to(user)).await,
            Err(PlanningError::UnknownUser(refused)) if refused == user
        ));
    }
}

#[tokio::test]
async fn on_a_closed_chantier_a_move_is_refused_and_a_note_may_still_change() {
    let stored = existing(COMPAGNON, FERME, date!(2026 - 12 - 07));
    let id = stored.id();
    let update = UpdateAffectation::new(ports(untouched(vec![stored.clone()])));
    let moves = [
        UpdateInput {
            date: Some(date!(2026 - 12 - 08)),
            ..UpdateInput::default()
        },
        UpdateInput {
            utilisateur_id: Some(CHEF),
            ..UpdateInput::default()
        },
        UpdateInput {
            heure_debut: Some("6:00".into()),
            ..UpdateInput::default()
        },
        UpdateInput {
            note: Some(Some("grue".into())),
            date: Some(date!(2026 - 12 - 08)),
            ..UpdateInput::default()
        },
    ];
    for input in moves {
        assert!(matches!(
            update.execute(&conducteur(), id, input).await,
            Err(PlanningError::ChantierNotPlannable(chantier)) if chantier == FERME
        ));
    }

    // The note alone, and a move off the closed chantier to an open one.
    let (repo, written) = repository(vec![stored]);
    let update = UpdateAffectation::new(ports(repo));
    let noted = update
        .execute(
            &conducteur(),
            id,
            UpdateInput {
                note: Some(Some("chantier fermé".into())),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(noted.note().unwrap().as_str(), "chantier fermé");
    let (repo, _) = repository(vec![noted]);
    let moved = UpdateAffectation::new(ports(repo))
        .execute(
            &conducteur(),
            id,
            UpdateInput {
                chantier_id: Some(CHANTIER),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.chantier_id(), CHANTIER);
    assert_eq!(written.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn cancelling_keeps_the_row_with_its_reason_and_publishes_cancelled() {
    let stored = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 07));
    let id = stored.id();
    let (repo, written) = repository(vec![stored]);
    let cancelled = CancelAffectation::new(ports(repo))
        .execute(&conducteur(), id, "  intempéries ")
        .await
        .unwrap();
    assert_eq!(
        cancelled.annulation().unwrap().raison.as_str(),
        "intempéries"
    );
    let events = written.lock().unwrap().clone();
    assert_eq!(events[0].event_type.as_str(), "affectation.cancelled");
    assert_eq!(
        events[0].data,
        json!({"affectation_id": id, "utilisateur_id": COMPAGNON, "chantier_id": CHANTIER,
               "date": "2026-12-07", "cancelled_by": CONDUCTEUR, "raison": "intempéries"})
    );

    let again = CancelAffectation::new(ports(untouched(vec![cancelled])));
    assert!(matches!(
        again.execute(&conducteur(), id, "encore").await,
        Err(PlanningError::Cancelled)
    ));
    assert!(matches!(
        again.execute(&conducteur(), id, " ").await,
        Err(PlanningError::Invalid(_))
    ));
}

#[tokio::test]
async fn deleting_publishes_deleted_and_bulk_deleting_one_event_per_chantier() {
    let a = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 07));
    let b = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 08));
    let c = existing(CHEF, AUTRE_CHANTIER, date!(2026 - 12 - 08));
    let (repo, written) = repository(vec![a.clone(), b.clone(), c.clone()]);
    let ports = ports(repo);
    DeleteAffectation::new(ports.clone())
        .execute(&conducteur(), a.id())
        .await
        .unwrap();
    let admin = context_of(Uuid::now_v7(), Role::Admin);
    DeleteAffectations::new(ports.clone())
        .execute(&admin, &[b.id(), c.id()])
        .await
        .unwrap();
    let events = written.lock().unwrap().clone();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "affectation.deleted",
            "affectation.bulk_deleted",
            "affectation.bulk_deleted"
        ]
    );
    assert_eq!(
        events[0].data,
        json!({"affectation_id": a.id(), "utilisateur_id": COMPAGNON, "chantier_id": CHANTIER, "date": "2026-12-07"})
    );
    let chantiers: Vec<&serde_json::Value> =
        events[1..].iter().map(|e| &e.data["chantier_id"]).collect();
    assert!(chantiers.contains(&&json!(CHANTIER)) && chantiers.contains(&&json!(AUTRE_CHANTIER)));
    let on_chantier = events[1..]
        .iter()
        .find(|e| e.data["chantier_id"] == json!(CHANTIER))
        .unwrap();
    assert_eq!(on_chantier.aggregate_id, b.id().to_string());
    assert_eq!(
        on_chantier.data,
        json!({"affectation_id": b.id(), "chantier_id": CHANTIER, "affectation_ids": [b.id()],
               "count": 1, "source": "bulk"})
    );

    // A conducteur may not delete what is on another conducteur's chantier.
    assert!(matches!(
        DeleteAffectations::new(ports.clone())
            .execute(&conducteur(), &[b.id(), c.id()])
            .await,
        Err(PlanningError::Forbidden)
    ));
    assert!(matches!(
        DeleteAffectations::new(ports)
            .execute(&admin, &[b.id(), Uuid::now_v7()])
            .await,
        Err(PlanningError::NotFound)
    ));
}

#[tokio::test]
async fn duplicating_a_week_copies_each_day_and_refuses_a_taken_day() {
    let monday = existing(COMPAGNON, CHANTIER, date!(2026 - 11 - 30));
    let friday = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 04));
    let (repo, written) = repository(vec![monday.clone(), friday.clone()]);
    let copies = DuplicateAffectations::new(ports(repo))
        .execute(
            &conducteur(),
            COMPAGNON,
            (date!(2026 - 11 - 30), date!(2026 - 12 - 04)),
            date!(2026 - 12 - 07),
        )
        .await
        .unwrap();
    let days: Vec<Date> = copies.iter().map(Affectation::date).collect();
    assert_eq!(days, [date!(2026 - 12 - 07), date!(2026 - 12 - 11)]);
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["source"], "duplicate_week");

    let taken = existing(COMPAGNON, AUTRE_CHANTIER, date!(2026 - 12 - 11));
    let mut repo = MockAffectationRepository::new();
    let all = [monday, friday, taken];
    repo.expect_list().returning(move |filter, _| {
        let found: Vec<Affectation> = all
            .iter()
            .filter(|a| filter.date_debut.is_none_or(|d| a.date() >= d))
            .filter(|a| filter.date_fin.is_none_or(|d| a.date() <= d))
            .cloned()
            .collect();
        Ok((found, 0))
    });
    repo.expect_insert().never();
    let result = DuplicateAffectations::new(ports(repo))
        .execute(
            &conducteur(),
            COMPAGNON,
            (date!(2026 - 11 - 30), date!(2026 - 12 - 04)),
            date!(2026 - 12 - 07),
        )
        .await;
    assert!(
        matches!(result, Err(PlanningError::Conflict { date, .. }) if date == date!(2026 - 12 - 11))
    );

    let empty = DuplicateAffectations::new(ports(untouched(vec![])))
        .execute(
            &conducteur(),
            COMPAGNON,
            (date!(2026 - 11 - 30), date!(2026 - 12 - 04)),
            date!(2026 - 12 - 07),
        )
        .await;
    assert!(matches!(empty, Err(PlanningError::NothingToDuplicate)));
}

#[tokio::test]
async fn stretching_skips_days_on_the_same_chantier_and_refuses_another() {
    let reference = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 07));
    let same = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 09));
    let id = reference.id();
    let (repo, written) = repository(vec![reference.clone(), same.clone()]);
    let block = ResizeAffectation::new(ports(repo))
        .execute(
            &conducteur(),
            id,
            date!(2026 - 12 - 06),
            date!(2026 - 12 - 09),
        )
        .await
        .unwrap();
    let days: Vec<Date> = block.iter().map(Affectation::date).collect();
    assert_eq!(
        days,
        [
            date!(2026 - 12 - 06),
            date!(2026 - 12 - 07),
            date!(2026 - 12 - 08),
            date!(2026 - 12 - 09)
        ]
    );
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["count"], 2);
    assert_eq!(events[0].data["source"], "bulk");

    let other = existing(COMPAGNON, AUTRE_CHANTIER, date!(2026 - 12 - 08));
    let mut repo = MockAffectationRepository::new();
    let all = vec![reference.clone(), other];
    let find = reference.clone();
    repo.expect_find()
        .returning(move |_| Ok(Some(find.clone())));
    repo.expect_list()
        .returning(move |_, _| Ok((all.clone(), 2)));
    repo.expect_insert().never();
    let result = ResizeAffectation::new(ports(repo))
        .execute(
            &conducteur(),
            id,
            date!(2026 - 12 - 07),
            date!(2026 - 12 - 09),
        )
        .await;
    assert!(
        matches!(result, Err(PlanningError::Conflict { date, .. }) if date == date!(2026 - 12 - 08))
    );

    let outside = ResizeAffectation::new(ports(untouched(vec![reference])))
        .execute(
            &conducteur(),
            id,
            date!(2026 - 12 - 10),
            date!(2026 - 12 - 12),
        )
        .await;
    assert!(matches!(outside, Err(PlanningError::Invalid(_))));
}

#[tokio::test]
async fn reads_are_scoped_to_the_role() {
    let on_his_site = existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 07));
    let elsewhere = existing(COMPAGNON, AUTRE_CHANTIER, date!(2026 - 12 - 08));
    let get = GetAffectation::new(ports(untouched(vec![
        on_his_site.clone(),
        elsewhere.clone(),
    ])));
    let chef = Actor {
        user_id: CHEF,
        role: Role::ChefChantier,
    };
    assert!(get.execute(&chef, on_his_site.id()).await.is_ok());
    assert!(matches!(
        get.execute(&chef, elsewhere.id()).await,
        Err(PlanningError::NotFound)
    ));
    let other_compagnon = Actor {
        user_id: Uuid::now_v7(),
        role: Role::Compagnon,
    };
    assert!(matches!(
        get.execute(&other_compagnon, elsewhere.id()).await,
        Err(PlanningError::NotFound)
    ));

    let seen: Arc<Mutex<Vec<PlanningFilter>>> = Arc::default();
    let mut repo = MockAffectationRepository::new();
    let sink = seen.clone();
    repo.expect_list().returning(move |filter, _| {
        sink.lock().unwrap().push(filter.clone());
        Ok((vec![], 0))
    });
    let list = ListAffectations::new(ports(repo));
    let filter = PlanningFilter {
        date_debut: Some(date!(2026 - 12 - 07)),
        date_fin: Some(date!(2026 - 12 - 13)),
        // A client cannot widen its own scope.
        visible_user: None,
        ..PlanningFilter::default()
    };
    let page = Page::new(None, None);
    list.execute(&chef, &filter, page).await.unwrap();
    list.execute(&other_compagnon, &filter, page).await.unwrap();
    let conducteur = Actor {
        user_id: CONDUCTEUR,
        role: Role::Conducteur,
    };
    list.execute(&conducteur, &filter, page).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        (seen[0].visible_user, seen[0].visible_chantiers.clone()),
        (Some(CHEF), vec![CHANTIER])
    );
    assert_eq!(
        (seen[1].visible_user, seen[1].visible_chantiers.clone()),
        (Some(other_compagnon.user_id), vec![])
    );
    assert_eq!(
        (seen[2].visible_user, seen[2].visible_chantiers.clone()),
        (None, vec![])
    );

    let inverted = PlanningFilter {
        date_debut: Some(date!(2026 - 12 - 13)),
        date_fin: Some(date!(2026 - 12 - 07)),
        ..PlanningFilter::default()
    };
    assert!(matches!(
        list.execute(&conducteur, &inverted, page).await,
        Err(PlanningError::Invalid(_))
    ));
    let too_long = PlanningFilter {
        date_debut: Some(date!(2026 - 01 - 01)),
        date_fin: Some(date!(2026 - 12 - 31)),
        ..PlanningFilter::default()
    };
    assert!(matches!(
        list.execute(&conducteur, &too_long, page).await,
        Err(PlanningError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_unplanned_are_the_active_users_with_nothing_planned() {
    let mut repo = MockAffectationRepository::new();
    repo.expect_planned_users()
        .returning(|_, _| Ok(vec![COMPAGNON]));
    let free = NonPlanifies::new(ports(repo))
        .execute(date!(2026 - 12 - 07), date!(2026 - 12 - 11))
        .await
        .unwrap();
    assert_eq!(free, [CHEF]);
}

fn item(user: Uuid, chantier: Uuid, day: Date) -> ItemInput {
    ItemInput {
        utilisateur_id: user,
        chantier_id: chantier,
        date: day,
        heure_debut: Some("8:00".into()),
        heure_fin: None,
        note: None,
    }
}

#[tokio::test]
async fn a_batch_publishes_one_bulk_event_per_chantier() {
    let (repo, written) = repository(vec![]);
    let admin = context_of(Uuid::now_v7(), Role::Admin);
    let created = CreateBatch::new(ports(repo))
        .execute(
            &admin,
            &[
                item(COMPAGNON, CHANTIER, date!(2026 - 12 - 07)),
                item(CHEF, AUTRE_CHANTIER, date!(2026 - 12 - 07)),
                item(CHEF, CHANTIER, date!(2026 - 12 - 08)),
            ],
        )
        .await
        .unwrap();
    assert_eq!(created.len(), 3);
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].data["chantier_id"], json!(CHANTIER));
    assert_eq!(events[0].data["count"], 2);
    assert_eq!(events[0].data["utilisateur_id"], serde_json::Value::Null);
    assert_eq!(events[0].data["source"], "bulk");
    assert_eq!(events[1].data["chantier_id"], json!(AUTRE_CHANTIER));
}

#[tokio::test]
async fn a_batch_with_one_bad_item_writes_nothing() {
    let batch = CreateBatch::new(ports(untouched(vec![])));
    let mut bad = item(COMPAGNON, CHANTIER, date!(2026 - 12 - 08));
    bad.heure_debut = Some("midi".into());
    let Err(PlanningError::Invalid(errors)) = batch
        .execute(
            &conducteur(),
            &[item(COMPAGNON, CHANTIER, date!(2026 - 12 - 07)), bad],
        )
        .await
    else {
        panic!("expected validation errors");
    };
    assert_eq!(errors.errors()[0].field, "affectations[1].heure_debut");
    assert!(matches!(
        batch
            .execute(
                &conducteur(),
                &[item(COMPAGNON, AUTRE_CHANTIER, date!(2026 - 12 - 07))]
            )
            .await,
        Err(PlanningError::Forbidden)
    ));
    let Err(PlanningError::Invalid(errors)) = batch.execute(&conducteur(), &[]).await else {
        panic!("an empty batch is invalid");
    };
    assert_eq!(errors.errors()[0].code, "invalid_count");
}

#[tokio::test]
async fn a_batch_beyond_the_cap_is_too_many_days_and_writes_nothing() {
    let batch = CreateBatch::new(ports(untouched(vec![])));
    let first = date!(2026 - 01 - 01);
    let items: Vec<ItemInput> = (0..=MAX_JOURS as i64)
        .map(|day| item(COMPAGNON, CHANTIER, first + Duration::days(day)))
        .collect();
    assert_eq!(items.len(), 367);
    let Err(PlanningError::Invalid(errors)) = batch.execute(&conducteur(), &items).await else {
        panic!("expected validation errors");
    };
    assert_eq!(errors.errors()[0].field, "affectations");
    assert_eq!(errors.errors()[0].code, "too_many_days");

    // The cap itself is allowed.
    let (repo, written) = repository(vec![]);
    let created = CreateBatch::new(ports(repo))
        .execute(&conducteur(), &items[..MAX_JOURS])
        .await
        .unwrap();
    assert_eq!(created.len(), MAX_JOURS);
    assert_eq!(written.lock().unwrap()[0].data["count"], MAX_JOURS);
}

#[tokio::test]
async fn display_names_ask_each_id_once() {
    let mut directory = MockDirectory::new();
    directory
        .expect_names()
        .withf(|users, chantiers| users == [COMPAGNON] && chantiers == [CHANTIER, AUTRE_CHANTIER])
        .times(1)
        .returning(|_, _| {
            let mut noms = Noms::default();
            noms.utilisateurs.insert(COMPAGNON, "Karim Benali".into());
            Ok(noms)
        });
    let ports = PlanningPorts {
        affectations: Arc::new(MockAffectationRepository::new()),
        directory: Arc::new(directory),
        clock: Arc::new(FixedClock(NOW)),
    };
    let noms = DisplayNames::new(ports)
        .execute(&[
            existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 07)),
            existing(COMPAGNON, AUTRE_CHANTIER, date!(2026 - 12 - 08)),
            existing(COMPAGNON, CHANTIER, date!(2026 - 12 - 09)),
        ])
        .await
        .unwrap();
    assert_eq!(noms.utilisateurs[&COMPAGNON], "Karim Benali");
}
