//! Unit tests of the identity use cases, sign-in and user administration,
//! against mocks of the ports.

use std::sync::{Arc, Mutex};

use hub_identity_domain::{Email, PasswordHash, PersonName, TypeUtilisateur, User, UserError};
use hub_kernel::{Actor, Clock, CommandContext, EventEnvelope, FixedClock, Role, StorageError};
use time::macros::datetime;
use uuid::Uuid;

use crate::input::{CreateUserInput, UpdateUserInput};
use crate::ports::{
    AttemptOutcome, HashError, IdentityPorts, IssuedToken, MockPasswordHasher, MockSignInThrottle,
    MockTokenService, MockUserRepository, RepositoryError, SignInLocked, TokenClaims, TokenError,
    Tokens,
};
use crate::sign_in::{Authenticate, AuthenticateError, Login, LoginError, Logout};
use crate::users::{
    CreateAdmin, CreateAdminOutcome, CreateUser, CreateUserError, DeactivateUser, GetUser,
    UpdateUser, UserCommandError,
};

const NOW: time::OffsetDateTime = datetime!(2026-11-26 10:00 UTC);

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(NOW))
}

/// The ports of a use case under test, for the fields a test does not
/// set: mocks that expect no call, and the fixed clock.
fn ports() -> IdentityPorts {
    IdentityPorts {
        users: Arc::new(MockUserRepository::new()),
        hasher: Arc::new(MockPasswordHasher::new()),
        tokens: Arc::new(MockTokenService::new()),
        throttle: Arc::new(MockSignInThrottle::new()),
        clock: clock(),
    }
}

fn stored_user(role: Role, active: bool) -> User {
    stored_user_at_version(role, active, 0)
}

fn stored_user_at_version(role: Role, active: bool, token_version: i32) -> User {
    User::restore(
        Uuid::now_v7(),
        Email::parse("chef@example.fr").unwrap(),
        PasswordHash::from_phc("$argon2id$stored".into()),
        PersonName::parse("Martin").unwrap(),
        PersonName::parse("Paul").unwrap(),
        role,
        TypeUtilisateur::Employe,
        None,
        active,
        1,
        token_version,
        NOW,
        NOW,
    )
}

fn admin_context() -> CommandContext {
    CommandContext::user(
        Actor {
            user_id: Uuid::now_v7(),
            role: Role::Admin,
        },
        Some("req-1".to_owned()),
    )
}

/// A repository mock that records what it is asked to write.
fn recording_repository(
    existing: Option<User>,
) -> (MockUserRepository, Arc<Mutex<Vec<EventEnvelope>>>) {
    let written = Arc::new(Mutex::new(Vec::new()));
    let mut users = MockUserRepository::new();
    let found = existing.clone();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(found.clone()));
    let found = existing.clone();
    users
        .expect_find_for_authentication()
        .returning(move |_| Ok(found.clone()));
    let by_email = existing;
    users
        .expect_find_by_email()
        .returning(move |_| Ok(by_email.clone()));
    let sink = written.clone();
    users.expect_insert().returning(move |_, events| {
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    let sink = written.clone();
    users.expect_update().returning(move |_, _, events| {
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    (users, written)
}

/// The types of the events a recording repository was given, in order.
fn event_types(written: &Mutex<Vec<EventEnvelope>>) -> Vec<String> {
    written
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.event_type.to_string())
        .collect()
}

fn hasher(matches: bool) -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::from_phc("$argon2id$new".into())));
    hasher
        .expect_verify()
        .times(1)
        .returning(move |_, _| Ok(matches));
    hasher
}

/// A hasher for creation paths: hashes, never verifies.
fn creating_hasher() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::from_phc("$argon2id$new".into())));
    hasher.expect_verify().never();
    hasher
}

fn tokens() -> MockTokenService {
    let mut tokens = MockTokenService::new();
    tokens.expect_issue().returning(|_, _, _, _| {
        Ok(IssuedToken {
            token: "jwt".into(),
            expires_in: time::Duration::minutes(60),
        })
    });
    tokens
}

/// A throttle that lets one attempt on `account` through and expects
/// it to end with `outcome`.
fn throttle_expecting(account: &'static str, outcome: AttemptOutcome) -> Arc<MockSignInThrottle> {
    let mut throttle = MockSignInThrottle::new();
    throttle
        .expect_begin()
        .withf(move |a| a == account)
        .times(1)
        .returning(|_| Ok(()));
    throttle
        .expect_finish()
        .withf(move |a, o| a == account && *o == outcome)
        .times(1)
        .return_const(());
    Arc::new(throttle)
}

#[tokio::test]
async fn login_issues_a_token_for_the_right_password() {
    let user = stored_user(Role::Conducteur, true);
    let (users, _) = recording_repository(Some(user.clone()));
    let login = Login::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(hasher(true)),
        tokens: Arc::new(tokens()),
        // The success clears the account's failures, under its stored spelling.
        throttle: throttle_expecting("chef@example.fr", AttemptOutcome::Succeeded),
        clock: clock(),
    });
    let (token, signed_in) = login
        .execute("Chef@Example.fr", "correct horse")
        .await
        .unwrap();
    assert_eq!(token.token, "jwt");
    assert_eq!(signed_in.id(), user.id());
}

#[tokio::test]
async fn login_gives_one_answer_for_wrong_password_unknown_email_and_inactive_account() {
    // Each case still runs exactly one hash check (times(1) in `hasher`).
    let cases = [
        (Some(stored_user(Role::Admin, true)), false),
        (None, true),
        (Some(stored_user(Role::Admin, false)), true),
    ];
    for (existing, password_matches) in cases {
        let (users, _) = recording_repository(existing);
        let mut tokens = MockTokenService::new();
        tokens.expect_issue().never();
        let login = Login::new(IdentityPorts {
            users: Arc::new(users),
            hasher: Arc::new(hasher(password_matches)),
            tokens: Arc::new(tokens),
            // An inactive account's right password is a failure too.
            throttle: throttle_expecting("chef@example.fr", AttemptOutcome::Failed),
            clock: clock(),
        });
        let error = login
            .execute("chef@example.fr", "whatever-password")
            .await
            .unwrap_err();
        assert!(matches!(error, LoginError::InvalidCredentials));
    }
    // A malformed email is answered the same way, after a dummy check.
    let (users, _) = recording_repository(None);
    let login = Login::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(hasher(false)),
        tokens: Arc::new(tokens()),
        throttle: throttle_expecting("not an email", AttemptOutcome::Failed),
        clock: clock(),
    });
    assert!(matches!(
        login.execute(" Not An Email", "x").await,
        Err(LoginError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn busy_hashing_is_reported_as_busy_and_nothing_is_issued_or_written() {
    let (users, written) = recording_repository(Some(stored_user(Role::Admin, true)));
    let users = Arc::new(users);
    let mut busy = MockPasswordHasher::new();
    busy.expect_verify().returning(|_, _| Err(HashError::Busy));
    busy.expect_hash().returning(|_| Err(HashError::Busy));
    let busy = Arc::new(busy);
    let mut tokens = MockTokenService::new();
    tokens.expect_issue().never();
    let login = Login::new(IdentityPorts {
        users: users.clone(),
        hasher: busy.clone(),
        tokens: Arc::new(tokens),
        // Nothing was checked: the attempt does not count.
        throttle: throttle_expecting("chef@example.fr", AttemptOutcome::NotChecked),
        clock: clock(),
    });
    assert!(matches!(
        login.execute("chef@example.fr", "correct horse").await,
        Err(LoginError::Busy)
    ));

    let (users, written_by_create) = recording_repository(None);
    let create = CreateUser::new(IdentityPorts {
        users: Arc::new(users),
        hasher: busy,
        ..ports()
    });
    assert!(matches!(
        create.execute(&admin_context(), create_input()).await,
        Err(CreateUserError::Busy)
    ));
    assert!(written.lock().unwrap().is_empty());
    assert!(written_by_create.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_locked_account_is_refused_before_any_lookup_or_hash_whether_it_exists_or_not() {
    for email in ["Chef@Example.fr", "inconnu@example.fr"] {
        let mut users = MockUserRepository::new();
        users.expect_find_by_email().never();
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().never();
        let mut tokens = MockTokenService::new();
        tokens.expect_issue().never();
        let mut throttle = MockSignInThrottle::new();
        throttle.expect_begin().times(1).returning(|_| {
            Err(SignInLocked {
                retry_after: std::time::Duration::from_secs(600),
            })
        });
        throttle.expect_finish().never();
        let login = Login::new(IdentityPorts {
            users: Arc::new(users),
            hasher: Arc::new(hasher),
            tokens: Arc::new(tokens),
            throttle: Arc::new(throttle),
            clock: clock(),
        });
        let Err(LoginError::Throttled { retry_after }) =
            login.execute(email, "correct horse").await
        else {
            panic!("{email}: expected the lock");
        };
        assert_eq!(retry_after, std::time::Duration::from_secs(600));
    }
}

fn verifying_tokens(result: Result<Uuid, TokenError>) -> MockTokenService {
    verifying_tokens_at_version(result, 0)
}

fn verifying_tokens_at_version(
    result: Result<Uuid, TokenError>,
    token_version: i32,
) -> MockTokenService {
    let mut tokens = MockTokenService::new();
    tokens.expect_verify().returning(move |_, _| {
        result.clone().map(|user_id| TokenClaims {
            user_id,
            role: Role::Admin,
            token_version,
            issued_at: NOW,
            expires_at: NOW,
        })
    });
    tokens
}

#[tokio::test]
async fn tokens_of_another_version_than_the_users_are_revoked() {
    let user = stored_user_at_version(Role::Conducteur, true, 3);
    for (version, accepted) in [(3, true), (2, false), (0, false), (4, false)] {
        let (users, _) = recording_repository(Some(user.clone()));
        let auth = Authenticate::new(IdentityPorts {
            users: Arc::new(users),
            tokens: Arc::new(verifying_tokens_at_version(Ok(user.id()), version)),
            ..ports()
        });
        let outcome = auth.execute("t").await;
        if accepted {
            assert_eq!(outcome.unwrap().user_id, user.id());
        } else {
            assert!(
                matches!(outcome, Err(AuthenticateError::Revoked)),
                "version {version}"
            );
        }
    }
}

#[tokio::test]
async fn login_issues_the_token_at_the_users_current_version() {
    let user = stored_user_at_version(Role::Conducteur, true, 7);
    let (users, _) = recording_repository(Some(user.clone()));
    let mut tokens = MockTokenService::new();
    let id = user.id();
    tokens
        .expect_issue()
        .withf(move |user_id, _, version, _| *user_id == id && *version == 7)
        .times(1)
        .returning(|_, _, _, _| {
            Ok(IssuedToken {
                token: "jwt".into(),
                expires_in: time::Duration::minutes(60),
            })
        });
    let login = Login::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(hasher(true)),
        tokens: Arc::new(tokens),
        throttle: throttle_expecting("chef@example.fr", AttemptOutcome::Succeeded),
        clock: clock(),
    });
    login
        .execute("chef@example.fr", "correct horse")
        .await
        .unwrap();
}

/// A repository holding `user` that expects one update with `tokens`.
fn repository_expecting(user: &User, tokens: Tokens) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    let found = user.clone();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(found.clone())));
    users
        .expect_update()
        .withf(move |_, written, _| *written == tokens)
        .times(1)
        .returning(|_, _, _| Ok(()));
    users.expect_revoke_tokens().never();
    users
}

#[tokio::test]
async fn deactivation_revokes_the_users_tokens_other_updates_keep_them() {
    let user = stored_user(Role::Conducteur, true);
    let deactivate = DeactivateUser::new(IdentityPorts {
        users: Arc::new(repository_expecting(&user, Tokens::Revoke)),
        ..ports()
    });
    deactivate
        .execute(&admin_context(), user.id())
        .await
        .unwrap();

    let update = UpdateUser::new(IdentityPorts {
        users: Arc::new(repository_expecting(&user, Tokens::Revoke)),
        ..ports()
    });
    let off = UpdateUserInput {
        is_active: Some(false),
        ..UpdateUserInput::default()
    };
    update
        .execute(&admin_context(), user.id(), off)
        .await
        .unwrap();

    let update = UpdateUser::new(IdentityPorts {
        users: Arc::new(repository_expecting(&user, Tokens::Keep)),
        ..ports()
    });
    let promote = UpdateUserInput {
        role: Some(Role::Admin),
        ..UpdateUserInput::default()
    };
    update
        .execute(&admin_context(), user.id(), promote)
        .await
        .unwrap();
}

#[tokio::test]
async fn logout_revokes_the_users_tokens_and_reports_a_missing_user() {
    let id = Uuid::now_v7();
    let mut users = MockUserRepository::new();
    users
        .expect_revoke_tokens()
        .withf(move |user| *user == id)
        .times(1)
        .returning(|_| Ok(()));
    users.expect_update().never();
    Logout::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    })
    .execute(id)
    .await
    .unwrap();

    let mut users = MockUserRepository::new();
    users
        .expect_revoke_tokens()
        .returning(|_| Err(RepositoryError::NotFound));
    assert!(matches!(
        Logout::new(IdentityPorts {
            users: Arc::new(users),
            ..ports()
        })
        .execute(id)
        .await,
        Err(UserCommandError::NotFound)
    ));
}

#[tokio::test]
async fn authenticate_uses_the_current_role_and_refuses_deactivated_users() {
    let user = stored_user(Role::Compagnon, true);
    let (users, _) = recording_repository(Some(user.clone()));
    let auth = Authenticate::new(IdentityPorts {
        users: Arc::new(users),
        tokens: Arc::new(verifying_tokens(Ok(user.id()))),
        ..ports()
    });
    // The token said admin; the user is a compagnon now.
    assert_eq!(
        auth.execute("t").await.unwrap(),
        Actor {
            user_id: user.id(),
            role: Role::Compagnon
        }
    );

    let inactive = stored_user(Role::Admin, false);
    let (users, _) = recording_repository(Some(inactive.clone()));
    let auth = Authenticate::new(IdentityPorts {
        users: Arc::new(users),
        tokens: Arc::new(verifying_tokens(Ok(inactive.id()))),
        ..ports()
    });
    assert!(matches!(
        auth.execute("t").await,
        Err(AuthenticateError::Revoked)
    ));

    let (users, _) = recording_repository(None);
    let auth = Authenticate::new(IdentityPorts {
        users: Arc::new(users),
        tokens: Arc::new(verifying_tokens(Ok(Uuid::now_v7()))),
        ..ports()
    });
    assert!(matches!(
        auth.execute("t").await,
        Err(AuthenticateError::Revoked)
    ));

    for (error, expected) in [
        (TokenError::Expired, AuthenticateError::Expired),
        (TokenError::Invalid, AuthenticateError::Invalid),
    ] {
        let (users, _) = recording_repository(None);
        let auth = Authenticate::new(IdentityPorts {
            users: Arc::new(users),
            tokens: Arc::new(verifying_tokens(Err(error))),
            ..ports()
        });
        let refused = auth.execute("t").await.unwrap_err();
        assert_eq!(refused.to_string(), expected.to_string());
    }
}

fn create_input() -> CreateUserInput {
    CreateUserInput {
        email: " Nouveau@Example.fr".into(),
        password: "un mot de passe long".into(),
        nom: "Durand".into(),
        prenom: "Lea".into(),
        role: Role::ChefChantier,
        type_utilisateur: TypeUtilisateur::SousTraitant,
        metier: Some("Coffreur".into()),
    }
}

#[tokio::test]
async fn create_user_stores_the_user_with_exactly_one_created_event() {
    let (users, written) = recording_repository(None);
    let create = CreateUser::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(creating_hasher()),
        ..ports()
    });
    let context = admin_context();
    let user = create.execute(&context, create_input()).await.unwrap();

    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type.as_str(), "user.created");
    assert_eq!(event.aggregate_id, user.id().to_string());
    assert_eq!(event.actor_id, context.actor.map(|a| a.user_id));
    assert_eq!(event.correlation_id.as_deref(), Some("req-1"));
    assert_eq!(
        event.data,
        serde_json::json!({
            "user_id": user.id(), "email": "nouveau@example.fr", "nom": "Durand",
            "prenom": "Lea", "role": "chef_chantier", "type_utilisateur": "sous_traitant",
            "metier": "Coffreur"
        })
    );
}

#[tokio::test]
async fn create_user_reports_every_invalid_field_and_writes_nothing() {
    let mut users = MockUserRepository::new();
    users.expect_insert().never();
    users.expect_find_by_email().never();
    let create = CreateUser::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(MockPasswordHasher::new()),
        ..ports()
    });
    let input = CreateUserInput {
        email: "nope".into(),
        password: "short".into(),
        nom: " ".into(),
        ..create_input()
    };
    let Err(CreateUserError::Invalid(errors)) = create.execute(&admin_context(), input).await
    else {
        panic!("expected validation errors");
    };
    let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["email", "password", "nom"]);
}

#[tokio::test]
async fn create_user_refuses_a_duplicate_email_including_a_concurrent_one() {
    let (users, written) = recording_repository(Some(stored_user(Role::Admin, true)));
    let create = CreateUser::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(MockPasswordHasher::new()),
        ..ports()
    });
    assert!(matches!(
        create.execute(&admin_context(), create_input()).await,
        Err(CreateUserError::DuplicateEmail(email)) if email == "nouveau@example.fr"
    ));
    assert!(written.lock().unwrap().is_empty());

    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    users
        .expect_insert()
        .returning(|_, _| Err(RepositoryError::DuplicateEmail));
    let create = CreateUser::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(creating_hasher()),
        ..ports()
    });
    assert!(matches!(
        create.execute(&admin_context(), create_input()).await,
        Err(CreateUserError::DuplicateEmail(_))
    ));
}

#[tokio::test]
async fn create_admin_is_idempotent_on_the_email() {
    let (users, written) = recording_repository(Some(stored_user(Role::Admin, true)));
    let bootstrap = CreateAdmin::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(MockPasswordHasher::new()),
        ..ports()
    });
    let outcome = bootstrap
        .execute(
            "chef@example.fr".into(),
            "un mot de passe long".into(),
            "Admin".into(),
            "Hub".into(),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, CreateAdminOutcome::AlreadyExists));
    assert!(written.lock().unwrap().is_empty());

    let (users, written) = recording_repository(None);
    let bootstrap = CreateAdmin::new(IdentityPorts {
        users: Arc::new(users),
        hasher: Arc::new(creating_hasher()),
        ..ports()
    });
    let CreateAdminOutcome::Created(admin) = bootstrap
        .execute(
            "root@example.fr".into(),
            "un mot de passe long".into(),
            "Admin".into(),
            "Hub".into(),
        )
        .await
        .unwrap()
    else {
        panic!("expected creation");
    };
    assert_eq!(admin.role(), Role::Admin);
    let events = written.lock().unwrap();
    assert_eq!(events[0].actor_id, None, "created by the system");
}

#[tokio::test]
async fn update_user_publishes_changes_then_nothing_when_unchanged() {
    let user = stored_user(Role::Compagnon, true);
    let (users, written) = recording_repository(Some(user.clone()));
    let update = UpdateUser::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    });
    let changed = update
        .execute(
            &admin_context(),
            user.id(),
            UpdateUserInput {
                role: Some(Role::ChefChantier),
                is_active: Some(false),
                ..UpdateUserInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.role(), Role::ChefChantier);
    let types = event_types(&written);
    assert_eq!(types, ["user.updated", "user.deactivated"]);
    assert_eq!(
        written.lock().unwrap()[0].data["changes"],
        serde_json::json!({"role": {"old": "compagnon", "new": "chef_chantier"}})
    );

    let mut users = MockUserRepository::new();
    let same = user.clone();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(same.clone())));
    users.expect_update().never();
    let update = UpdateUser::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    });
    update
        .execute(
            &admin_context(),
            user.id(),
            UpdateUserInput {
                nom: Some("Martin".into()),
                ..UpdateUserInput::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn update_user_errors_publish_nothing() {
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|_| Ok(None));
    users.expect_update().never();
    let update = UpdateUser::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    });
    assert!(matches!(
        update
            .execute(&admin_context(), Uuid::now_v7(), UpdateUserInput::default())
            .await,
        Err(UserCommandError::NotFound)
    ));

    let mut users = MockUserRepository::new();
    users.expect_find_by_id().never();
    users.expect_update().never();
    let update = UpdateUser::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    });
    assert!(matches!(
        update
            .execute(
                &admin_context(),
                Uuid::now_v7(),
                UpdateUserInput {
                    nom: Some(String::new()),
                    ..UpdateUserInput::default()
                }
            )
            .await,
        Err(UserCommandError::Invalid(_))
    ));

    // An admin demoting themselves.
    let admin = stored_user(Role::Admin, true);
    let (users, written) = recording_repository(Some(admin.clone()));
    let update = UpdateUser::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    });
    let own = CommandContext::user(
        Actor {
            user_id: admin.id(),
            role: Role::Admin,
        },
        None,
    );
    assert!(matches!(
        update
            .execute(
                &own,
                admin.id(),
                UpdateUserInput {
                    role: Some(Role::Compagnon),
                    ..UpdateUserInput::default()
                }
            )
            .await,
        Err(UserCommandError::Rule(UserError::SelfLockout))
    ));
    assert!(written.lock().unwrap().is_empty());
}

#[tokio::test]
async fn deactivate_publishes_once_with_the_acting_admin() {
    let user = stored_user(Role::Conducteur, true);
    let (users, written) = recording_repository(Some(user.clone()));
    let deactivate = DeactivateUser::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    });
    let context = admin_context();
    let done = deactivate.execute(&context, user.id()).await.unwrap();
    assert!(!done.is_active());
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type.as_str(), "user.deactivated");
    assert_eq!(
        events[0].data,
        serde_json::json!({"user_id": user.id(), "deactivated_by": context.actor.unwrap().user_id})
    );

    let (users, written) = recording_repository(Some(stored_user(Role::Conducteur, false)));
    let deactivate = DeactivateUser::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    });
    deactivate.execute(&context, user.id()).await.unwrap();
    assert!(
        written.lock().unwrap().is_empty(),
        "already inactive: no event"
    );
}

/// The innermost cause of `error`.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut error = error;
    while let Some(source) = error.source() {
        error = source;
    }
    error.to_string()
}

#[tokio::test]
async fn a_storage_failure_keeps_its_cause_through_every_use_case() {
    let down =
        || RepositoryError::Storage(StorageError::new(std::io::Error::other("connection reset")));
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(move |_| Err(down()));
    users.expect_find_by_id().returning(move |_| Err(down()));
    users
        .expect_find_for_authentication()
        .returning(move |_| Err(down()));
    users.expect_insert().never();
    users.expect_update().never();
    let users = Arc::new(users);
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().never();
    hasher.expect_hash().never();
    let hasher = Arc::new(hasher);

    let login = Login::new(IdentityPorts {
        users: users.clone(),
        hasher: hasher.clone(),
        tokens: Arc::new(tokens()),
        // Nothing was checked: the attempt does not count.
        throttle: throttle_expecting("chef@example.fr", AttemptOutcome::NotChecked),
        clock: clock(),
    });
    let error = login
        .execute("chef@example.fr", "correct horse")
        .await
        .unwrap_err();
    assert!(matches!(error, LoginError::Unavailable(_)), "{error:?}");
    assert_eq!(root_cause(&error), "connection reset");

    let auth = Authenticate::new(IdentityPorts {
        users: users.clone(),
        tokens: Arc::new(verifying_tokens(Ok(Uuid::now_v7()))),
        ..ports()
    });
    let error = auth.execute("t").await.unwrap_err();
    assert!(
        matches!(error, AuthenticateError::Unavailable(_)),
        "{error:?}"
    );
    assert_eq!(root_cause(&error), "connection reset");

    let create = CreateUser::new(IdentityPorts {
        users: users.clone(),
        hasher,
        ..ports()
    });
    let error = create
        .execute(&admin_context(), create_input())
        .await
        .unwrap_err();
    assert!(
        matches!(error, CreateUserError::Unavailable(_)),
        "{error:?}"
    );
    assert_eq!(root_cause(&error), "connection reset");

    let error = GetUser::new(IdentityPorts { users, ..ports() })
        .execute(Uuid::now_v7())
        .await
        .unwrap_err();
    assert!(
        matches!(error, UserCommandError::Unavailable(_)),
        "{error:?}"
    );
    assert_eq!(root_cause(&error), "connection reset");
}

/// A repository holding `loaded` as two requests read it (every `find`
/// answers with that copy) and refusing, as PostgreSQL does, a write that
/// is not from the version stored now.
fn guarded_repository(loaded: User) -> (MockUserRepository, Arc<Mutex<Vec<EventEnvelope>>>) {
    let written = Arc::new(Mutex::new(Vec::new()));
    let stored_version = Mutex::new(loaded.version());
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(loaded.clone())));
    let sink = written.clone();
    users.expect_update().returning(move |user, _, events| {
        let mut stored = stored_version.lock().unwrap();
        if user.version() - 1 != *stored {
            return Err(RepositoryError::Conflict);
        }
        *stored = user.version();
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    (users, written)
}

#[tokio::test]
async fn of_two_changes_from_one_loaded_version_the_second_is_a_conflict_and_publishes_nothing() {
    let user = stored_user(Role::Compagnon, true);
    let (users, written) = guarded_repository(user.clone());
    let users = Arc::new(users);
    let update = UpdateUser::new(IdentityPorts {
        users: users.clone(),
        ..ports()
    });
    let promote = UpdateUserInput {
        role: Some(Role::ChefChantier),
        ..UpdateUserInput::default()
    };
    let promoted = update
        .execute(&admin_context(), user.id(), promote)
        .await
        .unwrap();
    assert_eq!(promoted.version(), user.version() + 1);

    // Both of these loaded the user before the promotion was written.
    let rename = UpdateUserInput {
        nom: Some("Autre".into()),
        ..UpdateUserInput::default()
    };
    let late = update.execute(&admin_context(), user.id(), rename).await;
    assert!(matches!(late, Err(UserCommandError::Conflict)), "{late:?}");
    let late = DeactivateUser::new(IdentityPorts { users, ..ports() })
        .execute(&admin_context(), user.id())
        .await;
    assert!(matches!(late, Err(UserCommandError::Conflict)), "{late:?}");

    let types = event_types(&written);
    assert_eq!(types, ["user.updated"], "only the first change published");
}

#[tokio::test]
async fn authentication_reads_the_user_through_its_own_lookup_and_commands_never_do() {
    let user = stored_user(Role::Conducteur, true);
    let mut users = MockUserRepository::new();
    let found = user.clone();
    users
        .expect_find_for_authentication()
        .times(1)
        .returning(move |_| Ok(Some(found.clone())));
    users.expect_find_by_id().never();
    let auth = Authenticate::new(IdentityPorts {
        users: Arc::new(users),
        tokens: Arc::new(verifying_tokens(Ok(user.id()))),
        ..ports()
    });
    assert_eq!(auth.execute("t").await.unwrap().user_id, user.id());

    // A command reads the user as stored, never through the cache.
    let mut users = MockUserRepository::new();
    let found = user.clone();
    users
        .expect_find_by_id()
        .times(1)
        .returning(move |_| Ok(Some(found.clone())));
    users.expect_find_for_authentication().never();
    let got = GetUser::new(IdentityPorts {
        users: Arc::new(users),
        ..ports()
    })
    .execute(user.id())
    .await
    .unwrap();
    assert_eq!(got.id(), user.id());
}
