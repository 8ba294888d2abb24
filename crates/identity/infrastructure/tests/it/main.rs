//! The user repository against a real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use hub_identity_application::{RepositoryError, Tokens, UserFilter, UserRepository};
use hub_identity_domain::{
    Email, Metier, NewUser, PasswordHash, PersonName, TypeUtilisateur, User, UserChanges,
};
use std::sync::Arc;

use hub_identity_infrastructure::{DieselUserRepository, UserCache, user_cache};
use hub_kernel::{DomainEvent, EventEnvelope, EventMetadata, Page, Role};
use hub_platform_test_db::TestDatabase;
use time::OffsetDateTime;
use uuid::Uuid;

fn new_user(email: &str, role: Role) -> (User, EventEnvelope) {
    let now = hub_kernel::to_storage_precision(OffsetDateTime::now_utc());
    let (user, created) = User::register(
        NewUser {
            email: Email::parse(email).unwrap(),
            nom: PersonName::parse("Durand").unwrap(),
            prenom: PersonName::parse("Léa").unwrap(),
            role,
            type_utilisateur: TypeUtilisateur::Employe,
            metier: Some(Metier::parse("Maçon").unwrap()),
        },
        PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        now,
    );
    (user, envelope(&created, now))
}

fn envelope(event: &impl DomainEvent, at: OffsetDateTime) -> EventEnvelope {
    EventEnvelope::wrap(event, &EventMetadata::default(), at).unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn count(test_db: &TestDatabase, table: &str) -> i64 {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query(format!("SELECT count(*) AS count FROM {table}"))
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_user_reads_back_equal_with_its_event() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let (user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();

    assert_eq!(
        repository.find_by_id(user.id()).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        repository
            .find_by_email(&Email::parse("LEA@example.fr").unwrap())
            .await
            .unwrap(),
        Some(user)
    );
    assert_eq!(count(&test_db, "event_logs").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_email_is_refused_and_its_event_rolled_back() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let (first, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&first, &[event]).await.unwrap();
    let (second, event) = new_user("lea@example.fr", Role::Compagnon);
    assert!(matches!(
        repository.insert(&second, &[event]).await,
        Err(RepositoryError::DuplicateEmail)
    ));
    assert_eq!(count(&test_db, "users").await, 1);
    assert_eq!(
        count(&test_db, "event_logs").await,
        1,
        "the second event never committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_event_append_rolls_back_the_user_too() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let (first, event) = new_user("a@example.fr", Role::Compagnon);
    repository
        .insert(&first, std::slice::from_ref(&event))
        .await
        .unwrap();
    // Re-using an event id violates the outbox's primary key after the user row was written.
    let (second, _) = new_user("b@example.fr", Role::Compagnon);
    assert!(repository.insert(&second, &[event]).await.is_err());
    assert_eq!(repository.find_by_id(second.id()).await.unwrap(), None);
    assert_eq!(count(&test_db, "users").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_writes_changes_and_reports_a_missing_user() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let (mut user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();

    let now = hub_kernel::to_storage_precision(OffsetDateTime::now_utc());
    let deactivated = user.deactivate(uuid::Uuid::now_v7(), now).unwrap().unwrap();
    repository
        .update(&user, Tokens::Keep, &[envelope(&deactivated, now)])
        .await
        .unwrap();
    let stored = repository.find_by_id(user.id()).await.unwrap().unwrap();
    assert!(!stored.is_active());
    assert_eq!(stored, user);
    assert_eq!(count(&test_db, "event_logs").await, 2);

    let (ghost, event) = new_user("ghost@example.fr", Role::Compagnon);
    assert!(matches!(
        repository.update(&ghost, Tokens::Keep, &[event]).await,
        Err(RepositoryError::NotFound)
    ));
    assert_eq!(
        count(&test_db, "event_logs").await,
        2,
        "no event for a missing user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_metier_is_stored_as_null_not_skipped() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let (mut user, event) = new_user("lea@example.fr", Role::Compagnon);
    repository.insert(&user, &[event]).await.unwrap();
    let now = hub_kernel::to_storage_precision(OffsetDateTime::now_utc());
    let cleared = user
        .update(
            UserChanges {
                metier: Some(None),
                ..UserChanges::default()
            },
            uuid::Uuid::now_v7(),
            now,
        )
        .unwrap()
        .updated
        .unwrap();
    repository
        .update(&user, Tokens::Keep, &[envelope(&cleared, now)])
        .await
        .unwrap();
    let stored = repository.find_by_id(user.id()).await.unwrap().unwrap();
    assert_eq!(stored.metier(), None);
    assert_eq!(stored, user);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_pages_in_creation_order() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let mut ids = Vec::new();
    for (index, role) in [
        Role::Admin,
        Role::Conducteur,
        Role::Conducteur,
        Role::Compagnon,
        Role::Conducteur,
    ]
    .into_iter()
    .enumerate()
    {
        let (user, event) = new_user(&format!("u{index}@example.fr"), role);
        repository.insert(&user, &[event]).await.unwrap();
        ids.push(user.id());
    }
    let conducteurs = UserFilter {
        role: Some(Role::Conducteur),
        is_active: None,
    };
    let (page, total) = repository
        .list(&conducteurs, Page::new(Some(1), Some(1)))
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(page.iter().map(User::id).collect::<Vec<_>>(), [ids[2]]);
    let (all, total) = repository
        .list(&UserFilter::default(), Page::new(None, None))
        .await
        .unwrap();
    assert_eq!(total, 5);
    assert_eq!(all.iter().map(User::id).collect::<Vec<_>>(), ids);
    let inactive = UserFilter {
        role: None,
        is_active: Some(false),
    };
    assert_eq!(
        repository
            .list(&inactive, Page::new(None, None))
            .await
            .unwrap()
            .1,
        0
    );
}

async fn token_version(repository: &DieselUserRepository, user: &User) -> i32 {
    repository
        .find_by_id(user.id())
        .await
        .unwrap()
        .unwrap()
        .token_version()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_revocations_each_raise_the_token_version() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let (user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();
    assert_eq!(token_version(&repository, &user).await, 0);

    // Two pools, as two instances would: none of the 20 increments is lost.
    let other = DieselUserRepository::new(test_db.second_pool());
    let revocations: Vec<_> = (0..20)
        .map(|i| {
            let repository = if i % 2 == 0 {
                repository.clone()
            } else {
                other.clone()
            };
            let id = user.id();
            tokio::spawn(async move { repository.revoke_tokens(id).await })
        })
        .collect();
    for revocation in revocations {
        revocation.await.unwrap().unwrap();
    }
    assert_eq!(token_version(&repository, &user).await, 20);
    assert!(matches!(
        repository.revoke_tokens(uuid::Uuid::now_v7()).await,
        Err(RepositoryError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_from_a_stale_copy_never_lowers_the_token_version() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let (user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();
    let mut stale = repository.find_by_id(user.id()).await.unwrap().unwrap();
    // Signed out meanwhile: that is no edit of the user, so the copy read
    // before it is still current and its write no conflict.
    repository.revoke_tokens(user.id()).await.unwrap();

    let now = hub_kernel::to_storage_precision(OffsetDateTime::now_utc());
    let admin = uuid::Uuid::now_v7();
    let deactivated = stale.deactivate(admin, now).unwrap().unwrap();
    repository
        .update(&stale, Tokens::Keep, &[envelope(&deactivated, now)])
        .await
        .unwrap();
    assert_eq!(
        token_version(&repository, &user).await,
        1,
        "the stale copy's 0 was not written back"
    );
    let mut stored = repository.find_by_id(user.id()).await.unwrap().unwrap();
    assert!(!stored.is_active());
    assert_eq!(stored.version(), 2);

    // A write that revokes raises the version the database holds.
    let reactivate = UserChanges {
        is_active: Some(true),
        ..UserChanges::default()
    };
    let reactivated = stored.update(reactivate, admin, now).unwrap().updated;
    repository
        .update(
            &stored,
            Tokens::Revoke,
            &[envelope(&reactivated.unwrap(), now)],
        )
        .await
        .unwrap();
    assert_eq!(token_version(&repository, &user).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_updates_from_the_same_loaded_version_the_second_is_a_conflict() {
    let test_db = TestDatabase::new().await;
    let repository = DieselUserRepository::new(test_db.database().clone());
    let (user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();

    // Two requests load the same version…
    let mut first = repository.find_by_id(user.id()).await.unwrap().unwrap();
    let mut second = repository.find_by_id(user.id()).await.unwrap().unwrap();
    let now = hub_kernel::to_storage_precision(OffsetDateTime::now_utc());
    let admin = uuid::Uuid::now_v7();
    let rename = UserChanges {
        nom: Some(PersonName::parse("Martin").unwrap()),
        ..UserChanges::default()
    };
    let renamed = first.update(rename, admin, now).unwrap().updated.unwrap();
    let deactivated = second.deactivate(admin, now).unwrap().unwrap();

    // …the first to write wins; the second, a deactivation, is refused
    // whole: no row change, no token revoked, no event.
    repository
        .update(&first, Tokens::Keep, &[envelope(&renamed, now)])
        .await
        .unwrap();
    let late = repository
        .update(&second, Tokens::Revoke, &[envelope(&deactivated, now)])
        .await;
    assert!(matches!(late, Err(RepositoryError::Conflict)), "{late:?}");

    let stored = repository.find_by_id(user.id()).await.unwrap().unwrap();
    assert_eq!(stored, first);
    assert_eq!(stored.version(), 2);
    assert!(stored.is_active());
    assert_eq!(stored.token_version(), 0);
    assert_eq!(count(&test_db, "event_logs").await, 2);
}

/// A cache with its listener running until the returned token is cancelled;
/// returns once the listener hears changes.
async fn listening_cache(
    test_db: &TestDatabase,
    ttl: std::time::Duration,
) -> (Arc<UserCache>, tokio_util::sync::CancellationToken) {
    let cache = Arc::new(UserCache::new(ttl, 100));
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(user_cache::listen(
        cache.clone(),
        test_db.database().clone(),
        shutdown.clone(),
    ));
    until("the listener listens", || {
        let cache = cache.clone();
        async move { cache.is_live() }
    })
    .await;
    (cache, shutdown)
}

/// Waits (up to ten seconds) until `condition` holds.
async fn until<F, Fut>(what: &str, condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if condition().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn sql(test_db: &TestDatabase, statement: &str) {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query(statement).execute(&mut conn).await.unwrap();
}

/// `user` as the repository gives it to authentication.
async fn authenticated(repository: &DieselUserRepository, user: &User) -> User {
    repository
        .find_for_authentication(user.id())
        .await
        .unwrap()
        .unwrap()
}

async fn role_for_authentication(repository: &DieselUserRepository, user: &User) -> Role {
    authenticated(repository, user).await.role()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_user_is_cached_until_a_change_of_them_commits_anywhere() {
    let test_db = TestDatabase::new().await;
    let (cache, shutdown) = listening_cache(&test_db, std::time::Duration::from_secs(60)).await;
    let repository = DieselUserRepository::with_cache(test_db.database().clone(), cache.clone());
    let (user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();
    assert_eq!(
        role_for_authentication(&repository, &user).await,
        Role::Conducteur
    );

    // Unheard (the trigger off), a change is not seen: the answer is the
    // cached copy, no read of the database.
    sql(&test_db, "ALTER TABLE users DISABLE TRIGGER users_changed").await;
    sql(&test_db, "UPDATE users SET role = 'chef_chantier'").await;
    assert_eq!(
        role_for_authentication(&repository, &user).await,
        Role::Conducteur
    );
    // Commands read the database.
    assert_eq!(
        repository
            .find_by_id(user.id())
            .await
            .unwrap()
            .unwrap()
            .role(),
        Role::ChefChantier
    );
    sql(&test_db, "ALTER TABLE users ENABLE TRIGGER users_changed").await;

    // A change by anyone else — another instance, psql — is heard at its
    // commit, and the user is read again.
    sql(&test_db, "UPDATE users SET role = 'admin'").await;
    until("the change by hand is heard", || async {
        role_for_authentication(&repository, &user).await == Role::Admin
    })
    .await;

    // A deactivation by another instance (a repository of its own, no
    // shared memory): heard too.
    let elsewhere = DieselUserRepository::new(test_db.database().clone());
    let mut stored = elsewhere.find_by_id(user.id()).await.unwrap().unwrap();
    let now = hub_kernel::to_storage_precision(OffsetDateTime::now_utc());
    let deactivated = stored.deactivate(Uuid::now_v7(), now).unwrap().unwrap();
    elsewhere
        .update(&stored, Tokens::Revoke, &[envelope(&deactivated, now)])
        .await
        .unwrap();
    until("the deactivation elsewhere is heard", || async {
        !authenticated(&repository, &user).await.is_active()
    })
    .await;
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_instances_own_writes_are_seen_at_once_even_unheard() {
    let test_db = TestDatabase::new().await;
    let (cache, shutdown) = listening_cache(&test_db, std::time::Duration::from_secs(60)).await;
    let repository = DieselUserRepository::with_cache(test_db.database().clone(), cache);
    let (mut user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();
    let cached = authenticated(&repository, &user).await;
    // No notification to rely on: the repository forgets what it wrote.
    sql(&test_db, "ALTER TABLE users DISABLE TRIGGER users_changed").await;

    repository.revoke_tokens(user.id()).await.unwrap();
    let signed_out = authenticated(&repository, &user).await;
    assert_eq!(signed_out.token_version(), cached.token_version() + 1);

    let now = hub_kernel::to_storage_precision(OffsetDateTime::now_utc());
    let deactivated = user.deactivate(Uuid::now_v7(), now).unwrap().unwrap();
    repository
        .update(&user, Tokens::Revoke, &[envelope(&deactivated, now)])
        .await
        .unwrap();
    let after = authenticated(&repository, &user).await;
    assert!(!after.is_active(), "refused at once after a deactivation");
    assert_eq!(after.token_version(), cached.token_version() + 2);
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_cached_while_nobody_listens_nor_kept_beyond_its_ttl() {
    let test_db = TestDatabase::new().await;
    let (user, event) = new_user("lea@example.fr", Role::Conducteur);
    DieselUserRepository::new(test_db.database().clone())
        .insert(&user, &[event])
        .await
        .unwrap();
    sql(&test_db, "ALTER TABLE users DISABLE TRIGGER users_changed").await;

    // No listener: every lookup reads the database.
    let deaf = DieselUserRepository::with_cache(
        test_db.database().clone(),
        Arc::new(UserCache::new(std::time::Duration::from_secs(60), 100)),
    );
    assert_eq!(
        role_for_authentication(&deaf, &user).await,
        Role::Conducteur
    );
    sql(&test_db, "UPDATE users SET role = 'admin'").await;
    assert_eq!(role_for_authentication(&deaf, &user).await, Role::Admin);

    // Listening, with a short life: an unheard change shows once it ends.
    let (cache, shutdown) = listening_cache(&test_db, std::time::Duration::from_millis(300)).await;
    let repository = DieselUserRepository::with_cache(test_db.database().clone(), cache);
    assert_eq!(
        role_for_authentication(&repository, &user).await,
        Role::Admin
    );
    sql(&test_db, "UPDATE users SET role = 'compagnon'").await;
    assert_eq!(
        role_for_authentication(&repository, &user).await,
        Role::Admin
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        role_for_authentication(&repository, &user).await,
        Role::Compagnon
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_cut_off_stops_caching_and_listens_again() {
    let test_db = TestDatabase::new().await;
    let (cache, shutdown) = listening_cache(&test_db, std::time::Duration::from_secs(60)).await;
    let repository = DieselUserRepository::with_cache(test_db.database().clone(), cache.clone());
    let (user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();
    assert_eq!(
        role_for_authentication(&repository, &user).await,
        Role::Conducteur
    );

    // The server ends the listening session (a restart, a failover):
    // whatever happens until it listens again is unheard, so nothing
    // cached before may be trusted after.
    sql(
        &test_db,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = '{}'",
            user_cache::LISTENER_NAME
        ),
    )
    .await;
    until("the listener notices", || {
        let cache = cache.clone();
        async move { !cache.is_live() }
    })
    .await;
    sql(&test_db, "ALTER TABLE users DISABLE TRIGGER users_changed").await;
    sql(&test_db, "UPDATE users SET role = 'admin'").await;
    assert_eq!(
        role_for_authentication(&repository, &user).await,
        Role::Admin
    );
    sql(&test_db, "ALTER TABLE users ENABLE TRIGGER users_changed").await;

    until("the listener listens again", || {
        let cache = cache.clone();
        async move { cache.is_live() }
    })
    .await;
    assert_eq!(
        role_for_authentication(&repository, &user).await,
        Role::Admin
    );
    sql(&test_db, "UPDATE users SET role = 'compagnon'").await;
    until("a change after the reconnection is heard", || async {
        role_for_authentication(&repository, &user).await == Role::Compagnon
    })
    .await;
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_printed_for_a_log_shows_no_cached_user() {
    let test_db = TestDatabase::new().await;
    let (cache, shutdown) = listening_cache(&test_db, std::time::Duration::from_secs(60)).await;
    let repository = DieselUserRepository::with_cache(test_db.database().clone(), cache);
    let (user, event) = new_user("lea@example.fr", Role::Conducteur);
    repository.insert(&user, &[event]).await.unwrap();
    authenticated(&repository, &user).await;
    let printed = format!("{repository:?}");
    assert!(printed.contains("cached: 1"), "{printed}");
    assert!(!printed.contains("lea@example.fr"), "{printed}");
    assert!(!printed.contains("argon2"), "{printed}");
    shutdown.cancel();
}
