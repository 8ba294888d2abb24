use super::*;
use crate::ports::{DocumentInfo, MockDirectory, MockSignalementRepository};
use hub_kernel::{EventEnvelope, FixedClock};
use hub_signalements_domain::{
    Commentaire, Contenu, Description, NouveauSignalement, Priorite, Titre, UserInfo,
};
use serde_json::json;
use std::sync::Mutex;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);
const CHANTIER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
const CONDUCTEUR: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002);
const CHEF: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0003);
const COMPAGNON: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0004);
const STRANGER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0005);
/// An image uploaded on CHANTIER, a PDF on CHANTIER, an image elsewhere.
const PHOTO: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00f1);
const PLAN: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00f2);
const PHOTO_AILLEURS: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00f3);

fn context_of(user_id: Uuid, role: Role) -> CommandContext {
    CommandContext::user(Actor { user_id, role }, Some("req-7".to_owned()))
}

fn chantier(ferme: bool) -> ChantierInfo {
    ChantierInfo {
        chantier_id: CHANTIER,
        ferme,
        conducteur_ids: vec![CONDUCTEUR],
        chef_chantier_ids: vec![CHEF],
    }
}

/// A directory knowing the chantier, where COMPAGNON is assigned and every
/// user is active with the role their id says.
fn directory(ferme: bool) -> MockDirectory {
    let mut directory = MockDirectory::new();
    directory
        .expect_chantier()
        .returning(move |id| Ok((id == CHANTIER).then(|| chantier(ferme))));
    directory
        .expect_is_assigned()
        .returning(|user, _| Ok(user == COMPAGNON));
    directory.expect_user().returning(|id| {
        let role = match id {
            CONDUCTEUR => Role::Conducteur,
            CHEF => Role::ChefChantier,
            _ => Role::Compagnon,
        };
        Ok(Some(UserInfo {
            user_id: id,
            role: Some(role),
            is_active: true,
        }))
    });
    directory.expect_document().returning(|id| {
        Ok(match id {
            PHOTO => Some(DocumentInfo {
                chantier_id: CHANTIER,
                image: true,
            }),
            PLAN => Some(DocumentInfo {
                chantier_id: CHANTIER,
                image: false,
            }),
            PHOTO_AILLEURS => Some(DocumentInfo {
                chantier_id: STRANGER,
                image: true,
            }),
            _ => None,
        })
    });
    directory.expect_names().returning(|ids| {
        Ok(ids
            .iter()
            .map(|id| (*id, format!("User {}", id.as_u128() & 0xf)))
            .collect())
    });
    directory
}

fn existing(cree_par: Uuid) -> Signalement {
    Signalement::create(
        NouveauSignalement {
            chantier_id: CHANTIER,
            titre: Titre::parse("Fuite").unwrap(),
            description: Description::parse("Sous-sol").unwrap(),
            priorite: Priorite::Haute,
            assigne_a: None,
            date_resolution_souhaitee: None,
            photo_url: None,
            photo_document_id: None,
            localisation: None,
        },
        cree_par,
        NOW,
    )
    .unwrap()
    .0
}

fn treated() -> Signalement {
    let mut s = existing(COMPAGNON);
    s.traiter(Commentaire::parse("Réparé").unwrap(), NOW)
        .unwrap();
    s
}

type Written = Arc<Mutex<Vec<EventEnvelope>>>;

/// A repository holding `stored` that records the events it is given.
fn repository(stored: Option<Signalement>) -> (MockSignalementRepository, Written) {
    let written: Written = Arc::default();
    let mut repo = MockSignalementRepository::new();
    repo.expect_find().returning(move |_| Ok(stored.clone()));
    repo.expect_count_reponses()
        .returning(|_| Ok(HashMap::new()));
    macro_rules! record {
        ($($method:ident),*) => {$(
            let sink = written.clone();
            repo.$method().returning(move |_, events| {
                sink.lock().unwrap().extend_from_slice(events);
                Ok(())
            });
        )*};
    }
    record!(
        expect_insert,
        expect_update,
        expect_delete,
        expect_insert_reponse,
        expect_update_reponse,
        expect_delete_reponse
    );
    (repo, written)
}

/// A repository that must not be written to.
fn untouched(stored: Option<Signalement>) -> MockSignalementRepository {
    let mut repo = MockSignalementRepository::new();
    repo.expect_find().returning(move |_| Ok(stored.clone()));
    repo.expect_count_reponses()
        .returning(|_| Ok(HashMap::new()));
    repo.expect_insert().never();
    repo.expect_update().never();
    repo.expect_delete().never();
    repo.expect_insert_reponse().never();
    repo.expect_update_reponse().never();
    repo.expect_delete_reponse().never();
    repo
}

fn ports(repo: MockSignalementRepository, directory: MockDirectory) -> SignalementPorts {
    SignalementPorts {
        signalements: Arc::new(repo),
        directory: Arc::new(directory),
        clock: Arc::new(FixedClock(NOW)),
    }
}

fn input() -> SignalementInput {
    SignalementInput {
        chantier_id: CHANTIER,
        titre: "Garde-corps manquant".into(),
        description: "R+3".into(),
        priorite: Some("critique".into()),
        ..SignalementInput::default()
    }
}

fn code(error: &SignalementCommandError) -> &'static str {
    match error {
        SignalementCommandError::Invalid(errors) => errors.errors()[0].code,
        SignalementCommandError::NotFound => "not_found",
        SignalementCommandError::ChantierNotFound => "chantier_not_found",
        SignalementCommandError::Forbidden(_) => "forbidden",
        SignalementCommandError::Rule(SignalementError::InvalidTransition(_)) => {
            "invalid_transition"
        }
        SignalementCommandError::Rule(SignalementError::Cloture) => "closed",
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_compagnon_on_the_chantier_reports_with_exactly_the_created_event() {
    let (repo, written) = repository(None);
    let create = CreateSignalement::new(ports(repo, directory(false)));
    let context = context_of(COMPAGNON, Role::Compagnon);
    let s = create.execute(&context, input()).await.unwrap();
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type.as_str(), "signalement.created");
    assert_eq!(event.aggregate_type, "signalement");
    assert_eq!(event.aggregate_id, s.id().to_string());
    assert_eq!(event.actor_id, Some(COMPAGNON));
    assert_eq!(event.correlation_id.as_deref(), Some("req-7"));
    assert_eq!(
        event.data,
        json!({
            "signalement_id": s.id(), "chantier_id": CHANTIER, "titre": "Garde-corps manquant",
            "priorite": "critique", "statut": "ouvert", "created_by": COMPAGNON,
            "assigne_a": null, "photo_document_id": null, "date_limite": "2026-12-02T12:00:00Z"
        })
    );
}

#[tokio::test]
async fn a_photo_is_an_image_uploaded_on_the_same_chantier() {
    let (repo, written) = repository(None);
    let create = CreateSignalement::new(ports(repo, directory(false)));
    let context = context_of(COMPAGNON, Role::Compagnon);
    let with = |document| SignalementInput {
        photo_document_id: Some(document),
        ..input()
    };
    let s = create.execute(&context, with(PHOTO)).await.unwrap();
    assert_eq!(s.photo_document_id(), Some(PHOTO));
    assert_eq!(
        written.lock().unwrap()[0].data["photo_document_id"],
        json!(PHOTO)
    );
    let refuse = CreateSignalement::new(ports(untouched(None), directory(false)));
    for (document, expected) in [
        (PLAN, "not_a_photo"),
        (PHOTO_AILLEURS, "unknown_document"),
        (Uuid::nil(), "unknown_document"),
    ] {
        let error = refuse.execute(&context, with(document)).await.unwrap_err();
        assert_eq!(code(&error), expected, "{document}");
    }

    // The same check when it is attached later.
    let update = UpdateSignalement::new(ports(
        untouched(Some(existing(COMPAGNON))),
        directory(false),
    ));
    let error = update
        .execute(
            &context,
            Uuid::nil(),
            UpdateInput {
                photo_document_id: Some(Some(PHOTO_AILLEURS)),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unknown_document");
}

#[tokio::test]
async fn reporting_is_refused_off_the_chantier_on_a_closed_one_or_to_a_bad_assignee() {
    let create = |ferme| CreateSignalement::new(ports(untouched(None), directory(ferme)));
    let error = create(false)
        .execute(&context_of(STRANGER, Role::Compagnon), input())
        .await
        .unwrap_err();
    assert_eq!(
        code(&error),
        "unknown_chantier",
        "not revealed to an outsider"
    );
    let error = create(false)
        .execute(
            &context_of(CONDUCTEUR, Role::Conducteur),
            SignalementInput {
                chantier_id: Uuid::nil(),
                ..input()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unknown_chantier");
    let error = create(true)
        .execute(&context_of(CONDUCTEUR, Role::Conducteur), input())
        .await
        .unwrap_err();
    assert_eq!(code(&error), "chantier_closed");
    let error = create(false)
        .execute(
            &context_of(CHEF, Role::ChefChantier),
            SignalementInput {
                assigne_a: Some(STRANGER),
                ..input()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_assignee");
    let error = create(false)
        .execute(
            &context_of(COMPAGNON, Role::Compagnon),
            SignalementInput {
                assigne_a: Some(CHEF),
                ..input()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "forbidden", "compagnons do not assign");
    let error = create(false)
        .execute(
            &context_of(CONDUCTEUR, Role::Conducteur),
            SignalementInput {
                titre: " ".into(),
                ..input()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid");
}

#[tokio::test]
async fn closing_an_open_one_is_an_invalid_transition_and_writes_nothing() {
    let close = CloturerSignalement::new(ports(
        untouched(Some(existing(COMPAGNON))),
        directory(false),
    ));
    let error = close
        .execute(&context_of(CHEF, Role::ChefChantier), Uuid::nil())
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_transition");
}

#[tokio::test]
async fn closing_takes_a_manager_of_the_chantier() {
    for (user, role, expected) in [
        (COMPAGNON, Role::Compagnon, "forbidden"),
        (STRANGER, Role::Conducteur, "forbidden"),
        (STRANGER, Role::ChefChantier, "not_found"),
    ] {
        let close = CloturerSignalement::new(ports(untouched(Some(treated())), directory(false)));
        let error = close
            .execute(&context_of(user, role), Uuid::nil())
            .await
            .unwrap_err();
        assert_eq!(code(&error), expected, "{role}");
    }
    let (repo, written) = repository(Some(treated()));
    let close = CloturerSignalement::new(ports(repo, directory(false)));
    let s = close
        .execute(&context_of(CHEF, Role::ChefChantier), Uuid::nil())
        .await
        .unwrap();
    assert_eq!(s.statut(), Statut::Cloture);
    let events = written.lock().unwrap().clone();
    assert_eq!(events[0].event_type.as_str(), "signalement.closed");
    assert_eq!(events[0].data["resolution"], "Réparé");
    assert_eq!(events[0].data["closed_by"], json!(CHEF));
}

#[tokio::test]
async fn assigning_moves_to_en_cours_and_checks_the_assignee() {
    let (repo, written) = repository(Some(existing(COMPAGNON)));
    let assign = AssignerSignalement::new(ports(repo, directory(false)));
    let s = assign
        .execute(
            &context_of(CONDUCTEUR, Role::Conducteur),
            Uuid::nil(),
            COMPAGNON,
        )
        .await
        .unwrap();
    assert_eq!(
        (s.statut(), s.assigne_a()),
        (Statut::EnCours, Some(COMPAGNON))
    );
    let events = written.lock().unwrap().clone();
    assert_eq!(events[0].event_type.as_str(), "signalement.updated");
    assert_eq!(
        events[0].data["changes"]["statut"],
        json!({"old": "ouvert", "new": "en_cours"})
    );
    let assign = AssignerSignalement::new(ports(untouched(Some(existing(CHEF))), directory(false)));
    let error = assign
        .execute(
            &context_of(COMPAGNON, Role::Compagnon),
            Uuid::nil(),
            COMPAGNON,
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "forbidden");
    let error = assign
        .execute(&context_of(CHEF, Role::ChefChantier), Uuid::nil(), STRANGER)
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_assignee");
}

#[tokio::test]
async fn the_assignee_or_a_manager_treats_it_with_a_comment() {
    let mut mine = existing(CHEF);
    mine.assigner(COMPAGNON, NOW).unwrap();
    let (repo, written) = repository(Some(mine.clone()));
    let treat = TraiterSignalement::new(ports(repo, directory(false)));
    let s = treat
        .execute(
            &context_of(COMPAGNON, Role::Compagnon),
            Uuid::nil(),
            "Réparé",
        )
        .await
        .unwrap();
    assert_eq!(s.statut(), Statut::Traite);
    assert_eq!(written.lock().unwrap().len(), 1);
    let treat = TraiterSignalement::new(ports(untouched(Some(existing(CHEF))), directory(false)));
    let error = treat
        .execute(
            &context_of(COMPAGNON, Role::Compagnon),
            Uuid::nil(),
            "Réparé",
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "forbidden");
    let error = treat
        .execute(&context_of(CHEF, Role::ChefChantier), Uuid::nil(), "  ")
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid");
}

#[tokio::test]
async fn only_admins_and_conducteurs_of_the_chantier_reopen_and_delete() {
    let reopen = ReouvrirSignalement::new(ports(untouched(Some(treated())), directory(false)));
    let error = reopen
        .execute(&context_of(CHEF, Role::ChefChantier), Uuid::nil(), None)
        .await
        .unwrap_err();
    assert_eq!(code(&error), "forbidden");
    let (repo, written) = repository(Some(treated()));
    let reopen = ReouvrirSignalement::new(ports(repo, directory(false)));
    reopen
        .execute(
            &context_of(CONDUCTEUR, Role::Conducteur),
            Uuid::nil(),
            Some("Fuite revenue"),
        )
        .await
        .unwrap();
    let events = written.lock().unwrap().clone();
    assert_eq!(events[0].event_type.as_str(), "signalement.reopened");
    assert_eq!(events[0].data["motif"], "Fuite revenue");
    assert_eq!(events[0].data["date_limite"], "2026-12-03T08:00:00Z");

    let delete = DeleteSignalement::new(ports(untouched(Some(treated())), directory(false)));
    for (user, role) in [(STRANGER, Role::Conducteur), (CHEF, Role::ChefChantier)] {
        let error = delete
            .execute(&context_of(user, role), Uuid::nil())
            .await
            .unwrap_err();
        assert_eq!(code(&error), "forbidden", "{role}");
    }
    let (repo, written) = repository(Some(treated()));
    DeleteSignalement::new(ports(repo, directory(false)))
        .execute(&context_of(STRANGER, Role::Admin), Uuid::nil())
        .await
        .unwrap();
    assert_eq!(
        written.lock().unwrap()[0].event_type.as_str(),
        "signalement.deleted"
    );
}

#[tokio::test]
async fn reporters_edit_their_own_but_do_not_assign() {
    let update = |stored| UpdateSignalement::new(ports(untouched(Some(stored)), directory(false)));
    let error = update(existing(CHEF))
        .execute(
            &context_of(COMPAGNON, Role::Compagnon),
            Uuid::nil(),
            UpdateInput {
                titre: Some("Autre".into()),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "forbidden");
    let error = update(existing(COMPAGNON))
        .execute(
            &context_of(COMPAGNON, Role::Compagnon),
            Uuid::nil(),
            UpdateInput {
                assigne_a: Some(COMPAGNON),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "forbidden");
    let (repo, written) = repository(Some(existing(COMPAGNON)));
    let s = UpdateSignalement::new(ports(repo, directory(false)))
        .execute(
            &context_of(COMPAGNON, Role::Compagnon),
            Uuid::nil(),
            UpdateInput {
                priorite: Some("critique".into()),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(s.priorite(), Priorite::Critique);
    let events = written.lock().unwrap().clone();
    assert_eq!(
        events[0].data["changes"]["priorite"],
        json!({"old": "haute", "new": "critique"})
    );
    // Nothing changed: nothing published.
    let (repo, written) = repository(Some(existing(COMPAGNON)));
    UpdateSignalement::new(ports(repo, directory(false)))
        .execute(
            &context_of(CONDUCTEUR, Role::Conducteur),
            Uuid::nil(),
            UpdateInput {
                titre: Some("Fuite".into()),
                ..UpdateInput::default()
            },
        )
        .await
        .unwrap();
    assert!(written.lock().unwrap().is_empty());
}

#[tokio::test]
async fn out_of_sight_signalements_are_not_found_and_lists_are_scoped() {
    let get = GetSignalement::new(ports(untouched(Some(existing(CHEF))), directory(false)));
    let stranger = Actor {
        user_id: STRANGER,
        role: Role::Compagnon,
    };
    assert_eq!(
        code(&get.execute(&stranger, Uuid::nil()).await.unwrap_err()),
        "not_found"
    );
    let view = get
        .execute(
            &Actor {
                user_id: COMPAGNON,
                role: Role::Compagnon,
            },
            Uuid::nil(),
        )
        .await
        .unwrap();
    assert_eq!(view.cree_par_nom.as_deref(), Some("User 3"));

    let seen: Arc<Mutex<Vec<SignalementFilter>>> = Arc::default();
    let mut repo = MockSignalementRepository::new();
    let sink = seen.clone();
    repo.expect_list().returning(move |filter, _, _| {
        sink.lock().unwrap().push(filter.clone());
        Ok((Vec::new(), 0))
    });
    repo.expect_count_reponses()
        .returning(|_| Ok(HashMap::new()));
    let list = ListSignalements::new(ports(repo, directory(false)));
    let page = Page::new(None, None);
    for (user, role) in [(CHEF, Role::ChefChantier), (CONDUCTEUR, Role::Conducteur)] {
        list.execute(
            &Actor {
                user_id: user,
                role,
            },
            &SignalementFilter::default(),
            page,
        )
        .await
        .unwrap();
    }
    let error = list
        .execute(
            &stranger,
            &SignalementFilter {
                chantier_id: Some(CHANTIER),
                ..SignalementFilter::default()
            },
            page,
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "chantier_not_found");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].visible_to, Some(CHEF));
    assert_eq!(seen[1].visible_to, None);
}

#[tokio::test]
async fn replies_follow_their_author_and_role_rules() {
    let s = existing(COMPAGNON);
    let (reponse, _) = Reponse::create(
        &s,
        Contenu::parse("Vu").unwrap(),
        None,
        false,
        COMPAGNON,
        NOW,
    )
    .unwrap();
    let with_reponse = |mut repo: MockSignalementRepository| {
        let stored = reponse.clone();
        repo.expect_find_reponse()
            .returning(move |_| Ok(Some(stored.clone())));
        repo
    };
    let update = UpdateReponse::new(ports(
        with_reponse(untouched(Some(s.clone()))),
        directory(false),
    ));
    let error = update
        .execute(
            &context_of(CHEF, Role::ChefChantier),
            Uuid::nil(),
            ReponseUpdateInput {
                contenu: Some("Autre".into()),
                photo_url: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        code(&error),
        "forbidden",
        "a chef edits only their own replies"
    );
    let (repo, written) = repository(Some(s.clone()));
    DeleteReponse::new(ports(with_reponse(repo), directory(false)))
        .execute(&context_of(CHEF, Role::ChefChantier), Uuid::nil())
        .await
        .unwrap();
    let events = written.lock().unwrap().clone();
    assert_eq!(events[0].event_type.as_str(), "signalement_reponse.deleted");
    assert_eq!(events[0].aggregate_type, "reponse");
    assert_eq!(events[0].data["chantier_id"], json!(CHANTIER));

    let (repo, written) = repository(Some(s.clone()));
    let created = CreateReponse::new(ports(repo, directory(false)))
        .execute(
            &context_of(CHEF, Role::ChefChantier),
            Uuid::nil(),
            ReponseInput {
                contenu: "Je passe à 14h".into(),
                photo_url: None,
                est_resolution: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(created.reponse.auteur_id(), CHEF);
    assert_eq!(created.auteur_nom.as_deref(), Some("User 3"));
    assert_eq!(written.lock().unwrap()[0].data["priorite"], json!("haute"));
    let error = CreateReponse::new(ports(untouched(Some(s)), directory(false)))
        .execute(
            &context_of(STRANGER, Role::Compagnon),
            Uuid::nil(),
            ReponseInput::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
}

#[test]
fn the_week_starts_on_monday_at_midnight_utc() {
    // 2026-12-02 is a Wednesday.
    assert_eq!(
        semaine_debut(datetime!(2026-12-02 15:42 UTC)),
        datetime!(2026-11-30 00:00 UTC)
    );
    assert_eq!(
        semaine_debut(datetime!(2026-11-30 00:00 UTC)),
        datetime!(2026-11-30 00:00 UTC)
    );
}
