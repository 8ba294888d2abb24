//! The webhook repository: rows, events and secrets.

use std::sync::Arc;

use hub_kernel::{Clock, FixedClock, Page, Role};
use hub_platform_test_db::TestDatabase;
use hub_webhooks_application::{
    AttemptFilter, DeliveryRepository, GetWebhook, RepositoryError, ScopeReadModel, SecretVault,
    SigningSecrets, VaultError, WebhookError, WebhookPorts, WebhookRepository,
};
use hub_webhooks_domain::{GracePeriod, MAX_WEBHOOKS_PER_OWNER, Webhook, WebhookChanges};
use hub_webhooks_infrastructure::{
    AeadSecretVault, DeliveryWaker, DieselDeliveryRepository, DieselScopeReadModel,
    DieselWebhookRepository,
};
use uuid::Uuid;

use crate::support::{count, deactivate, key, new_webhook, now, ports, raw_row, vault, wrap};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_webhook_reads_back_equal_with_its_event_and_an_encrypted_secret() {
    let test_db = TestDatabase::new().await;
    let repository = DieselWebhookRepository::new(test_db.database().clone());
    let vault = vault();
    let owner = Uuid::now_v7();
    let (webhook, event, secret) = new_webhook(&vault, owner, &["chantier.*", "*.created"]);
    repository
        .insert(&webhook, Role::Conducteur, std::slice::from_ref(&event), 20)
        .await
        .unwrap();

    assert_eq!(
        repository.find(webhook.id()).await.unwrap(),
        Some(webhook.clone())
    );
    assert_eq!(repository.find(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(count(&test_db, "SELECT count(*) FROM event_logs").await, 1);
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) FROM event_logs WHERE event_id = '{}' AND event_type = 'webhook.created'",
                event.event_id
            )
        )
        .await,
        1
    );

    // At rest: neither the secret nor its key bytes appear anywhere in the row.
    let raw = raw_row(&test_db, webhook.id()).await;
    let plain = secret.expose().as_bytes();
    let key_part = &plain["whsec_".len()..];
    assert!(!raw.secret_ciphertext.windows(6).any(|w| w == b"whsec_"));
    assert!(
        !raw.secret_ciphertext
            .windows(key_part.len())
            .any(|w| w == key_part)
    );
    assert!(
        !raw.whole_row.contains(secret.expose()),
        "{}",
        raw.whole_row
    );
    assert!(
        !raw.whole_row
            .contains(std::str::from_utf8(key_part).unwrap()),
        "{}",
        raw.whole_row
    );
    // …and the vault opens what was stored.
    let stored = repository.find(webhook.id()).await.unwrap().unwrap();
    assert_eq!(vault.open(stored.id(), stored.secret()).unwrap(), secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_sealed_under_an_old_key_open_when_it_is_listed_as_old() {
    let test_db = TestDatabase::new().await;
    let repository = Arc::new(DieselWebhookRepository::new(test_db.database().clone()));
    let old_vault = AeadSecretVault::new(&key(1), &[]);
    let (webhook, event, secret) = new_webhook(&old_vault, Uuid::now_v7(), &["*"]);
    repository
        .insert(&webhook, Role::Admin, &[event], 20)
        .await
        .unwrap();

    let clock: Arc<dyn Clock> = Arc::new(FixedClock(now()));
    let rotated_keys = SigningSecrets::new(WebhookPorts {
        webhooks: repository.clone(),
        vault: Arc::new(AeadSecretVault::new(&key(2), &[key(1)])),
        clock: clock.clone(),
        ..ports(test_db.database())
    });
    let secrets = rotated_keys.execute(webhook.id()).await.unwrap();
    assert_eq!(secrets, [secret]);

    let forgotten = SigningSecrets::new(WebhookPorts {
        webhooks: repository.clone(),
        vault: Arc::new(AeadSecretVault::new(&key(2), &[])),
        clock,
        ..ports(test_db.database())
    });
    let error = forgotten.execute(webhook.id()).await.unwrap_err();
    let expected = VaultError::UnknownKey(key(1).id().to_owned()).to_string();
    assert!(
        matches!(&error, WebhookError::Unavailable(source) if source.to_string() == expected),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_the_previous_secret_signing_until_it_expires() {
    let test_db = TestDatabase::new().await;
    let repository = Arc::new(DieselWebhookRepository::new(test_db.database().clone()));
    let vault = Arc::new(vault());
    let (mut webhook, event, old_secret) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
    repository
        .insert(&webhook, Role::Admin, &[event], 20)
        .await
        .unwrap();
    let new_secret = vault.generate().unwrap();
    let at = now();
    let rotated = webhook.rotate_secret(
        vault.seal(webhook.id(), &new_secret).unwrap(),
        GracePeriod::from_seconds(3600).unwrap(),
        at,
    );
    repository
        .update(&webhook, &[wrap(&rotated)])
        .await
        .unwrap();
    let stored = repository.find(webhook.id()).await.unwrap().unwrap();
    assert_eq!(stored.version(), 1);
    assert_eq!(
        stored.previous_secret().unwrap().expires_at,
        at + time::Duration::hours(1)
    );

    let during = SigningSecrets::new(WebhookPorts {
        webhooks: repository.clone(),
        vault: vault.clone(),
        clock: Arc::new(FixedClock(at)),
        ..ports(test_db.database())
    });
    assert_eq!(
        during.execute(webhook.id()).await.unwrap(),
        [new_secret.clone(), old_secret]
    );
    let after = SigningSecrets::new(WebhookPorts {
        webhooks: repository.clone(),
        vault: vault.clone(),
        clock: Arc::new(FixedClock(at + time::Duration::hours(1))),
        ..ports(test_db.database())
    });
    assert_eq!(after.execute(webhook.id()).await.unwrap(), [new_secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creations_never_exceed_the_quota() {
    let test_db = TestDatabase::new().await;
    let vault = Arc::new(vault());
    let owner = Uuid::now_v7();
    // Two pools: two "server instances" racing for the last slots.
    let pools = [test_db.database().clone(), test_db.second_pool()];
    let mut tasks = Vec::new();
    for attempt in 0..30 {
        let repository = DieselWebhookRepository::new(pools[attempt % 2].clone());
        let vault = vault.clone();
        tasks.push(tokio::spawn(async move {
            let (webhook, event, _) = new_webhook(&vault, owner, &["*"]);
            repository
                .insert(&webhook, Role::Conducteur, &[event], MAX_WEBHOOKS_PER_OWNER)
                .await
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(RepositoryError::QuotaExceeded { limit: 20 }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, refused), (20, 10));
    assert_eq!(count(&test_db, "SELECT count(*) FROM webhooks").await, 20);
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM event_logs").await,
        20,
        "refused creations publish nothing"
    );

    // Other owners are not affected.
    let repository = DieselWebhookRepository::new(test_db.database().clone());
    let (other, event, _) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
    repository
        .insert(&other, Role::Admin, &[event], MAX_WEBHOOKS_PER_OWNER)
        .await
        .unwrap();

    // Deactivating frees no slot; deleting does.
    let (mut page, _) = repository
        .list_by_owner(owner, Page::new(None, Some(2)))
        .await
        .unwrap();
    let mut first = page.remove(0);
    let off = deactivate(&mut first);
    repository.update(&first, &[off]).await.unwrap();
    let (extra, event, _) = new_webhook(&vault, owner, &["*"]);
    assert!(matches!(
        repository
            .insert(&extra, Role::Conducteur, std::slice::from_ref(&event), 20)
            .await,
        Err(RepositoryError::QuotaExceeded { limit: 20 })
    ));
    let second = page.remove(0);
    repository
        .delete(&second, &[wrap(&second.deleted())])
        .await
        .unwrap();
    repository
        .insert(&extra, Role::Conducteur, &[event], 20)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_event_append_rolls_back_the_webhook_write() {
    let test_db = TestDatabase::new().await;
    let repository = DieselWebhookRepository::new(test_db.database().clone());
    let vault = vault();
    let (mut first, event, _) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
    repository
        .insert(&first, Role::Admin, std::slice::from_ref(&event), 20)
        .await
        .unwrap();

    // Re-using an event id violates the outbox's primary key after the row was written.
    let (second, _, _) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
    assert!(
        repository
            .insert(&second, Role::Admin, std::slice::from_ref(&event), 20)
            .await
            .is_err()
    );
    assert_eq!(repository.find(second.id()).await.unwrap(), None);
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM webhook_owners").await,
        1,
        "the owner seeding rolled back too"
    );

    first
        .update(
            WebhookChanges {
                retry_enabled: Some(false),
                ..WebhookChanges::default()
            },
            now(),
        )
        .unwrap();
    assert!(
        repository
            .update(&first, std::slice::from_ref(&event))
            .await
            .is_err()
    );
    let stored = repository.find(first.id()).await.unwrap().unwrap();
    assert!(stored.retry_enabled(), "the update rolled back");
    assert_eq!(stored.version(), 0);

    assert!(repository.delete(&first, &[event]).await.is_err());
    assert!(repository.find(first.id()).await.unwrap().is_some());
    assert_eq!(count(&test_db, "SELECT count(*) FROM webhooks").await, 1);
    assert_eq!(count(&test_db, "SELECT count(*) FROM event_logs").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_write_is_a_conflict_and_a_missing_webhook_not_found() {
    let test_db = TestDatabase::new().await;
    let repository = DieselWebhookRepository::new(test_db.database().clone());
    let vault = vault();
    let (webhook, event, _) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
    repository
        .insert(&webhook, Role::Admin, &[event], 20)
        .await
        .unwrap();

    let mut a = repository.find(webhook.id()).await.unwrap().unwrap();
    let mut b = a.clone();
    let change = |w: &mut Webhook, max: u64| {
        w.update(
            WebhookChanges {
                max_retries: Some(hub_webhooks_domain::MaxRetries::new(max).unwrap()),
                ..WebhookChanges::default()
            },
            now(),
        )
        .unwrap()
    };
    let event_a = wrap(&change(&mut a, 5));
    repository.update(&a, &[event_a]).await.unwrap();
    let event_b = wrap(&change(&mut b, 7));
    assert!(matches!(
        repository.update(&b, std::slice::from_ref(&event_b)).await,
        Err(RepositoryError::Conflict)
    ));
    let stored = repository.find(webhook.id()).await.unwrap().unwrap();
    assert_eq!(stored.max_retries().get(), 5);
    assert_eq!(count(&test_db, "SELECT count(*) FROM event_logs").await, 2);

    repository
        .delete(&stored, &[wrap(&stored.deleted())])
        .await
        .unwrap();
    assert!(matches!(
        repository.update(&b, &[event_b]).await,
        Err(RepositoryError::NotFound)
    ));
    assert!(matches!(
        repository.delete(&stored, &[wrap(&stored.deleted())]).await,
        Err(RepositoryError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_per_owner_paged_in_creation_order_and_active_matching_filters() {
    let test_db = TestDatabase::new().await;
    let repository = DieselWebhookRepository::new(test_db.database().clone());
    let vault = vault();
    let owner = Uuid::now_v7();
    let mut ids = Vec::new();
    for patterns in [
        &["chantier.*"][..],
        &["user.created"],
        &["*.created"],
        &["chantier.deleted"],
    ] {
        let (webhook, event, _) = new_webhook(&vault, owner, patterns);
        repository
            .insert(&webhook, Role::Admin, &[event], 20)
            .await
            .unwrap();
        ids.push(webhook.id());
    }
    let (stranger, event, _) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
    repository
        .insert(&stranger, Role::Admin, &[event], 20)
        .await
        .unwrap();

    let (page, total) = repository
        .list_by_owner(owner, Page::new(Some(1), Some(2)))
        .await
        .unwrap();
    assert_eq!(total, 4);
    assert_eq!(
        page.iter().map(Webhook::id).collect::<Vec<_>>(),
        [ids[1], ids[2]]
    );

    // Deactivate the first one.
    let mut first = repository.find(ids[0]).await.unwrap().unwrap();
    let off = deactivate(&mut first);
    repository.update(&first, &[off]).await.unwrap();

    let matching = |event_type: &'static str| {
        let repository = repository.clone();
        async move {
            repository
                .list_active_matching(event_type)
                .await
                .unwrap()
                .iter()
                .map(Webhook::id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(matching("chantier.created").await, [ids[2], stranger.id()]);
    assert_eq!(matching("chantier.deleted").await, [ids[3], stranger.id()]);
    assert_eq!(
        matching("user.created").await,
        [ids[1], ids[2], stranger.id()]
    );
    assert!(matching("webhook.test").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_bookkeeping_counts_failures_atomically_and_resets_on_success() {
    let test_db = TestDatabase::new().await;
    let repository = DieselWebhookRepository::new(test_db.database().clone());
    let vault = vault();
    let (webhook, event, _) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
    repository
        .insert(&webhook, Role::Admin, &[event], 20)
        .await
        .unwrap();
    let at = now();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let repository = repository.clone();
        let id = webhook.id();
        tasks.push(tokio::spawn(async move {
            repository
                .record_delivery_failure(id, at, "the receiver answered HTTP 503")
                .await
                .unwrap()
        }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, [1, 2, 3, 4, 5, 6]);
    let stored = repository.find(webhook.id()).await.unwrap().unwrap();
    assert_eq!(stored.consecutive_failures(), 6);
    assert_eq!(stored.last_triggered_at(), Some(at));
    assert_eq!(stored.last_error(), Some("the receiver answered HTTP 503"));
    assert_eq!(stored.last_error_at(), Some(at));
    assert_eq!(
        stored.version(),
        webhook.version(),
        "delivery bookkeeping never bumps the version"
    );

    repository
        .record_delivery_success(webhook.id(), at)
        .await
        .unwrap();
    let stored = repository.find(webhook.id()).await.unwrap().unwrap();
    assert_eq!(stored.consecutive_failures(), 0);
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM event_logs").await,
        1,
        "bookkeeping publishes nothing"
    );
    assert!(matches!(
        repository
            .record_delivery_failure(Uuid::now_v7(), at, "timeout")
            .await,
        Err(RepositoryError::NotFound)
    ));
    assert!(matches!(
        repository.record_delivery_success(Uuid::now_v7(), at).await,
        Err(RepositoryError::NotFound)
    ));
}

/// The migration that made the legacy header opt-in, replayed on a webhook
/// stored before it: that webhook keeps the header (its receiver may check
/// it), while webhooks created afterwards default to the standard headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_signature_migration_keeps_existing_webhooks_on() {
    use diesel_async::RunQueryDsl as _;
    use diesel_async::{AsyncConnection as _, AsyncPgConnection};
    use hub_platform_postgres::migrations;

    const LEGACY_MIGRATION: &str = "20261202000002";
    let test_db = TestDatabase::new().await;
    test_db.revert_through(LEGACY_MIGRATION).await;

    // A webhook as the previous release stored it (no legacy_signature column).
    let existing = Uuid::now_v7();
    let mut conn = AsyncPgConnection::establish(test_db.url()).await.unwrap();
    diesel::sql_query(
        "INSERT INTO webhooks (id, owner_id, url, events, secret_ciphertext, secret_nonce, \
         secret_key_id, created_at, updated_at) VALUES ($1, $2, 'https://erp.example.com/', \
         ARRAY['*'], '\\x00', '\\x000000000000000000000000', 'k', now(), now())",
    )
    .bind::<diesel::sql_types::Uuid, _>(existing)
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);

    let applied = migrations::run_pending(test_db.url()).await.unwrap();
    assert!(applied.iter().any(|v| v == LEGACY_MIGRATION), "{applied:?}");
    let on =
        |id: Uuid| format!("SELECT count(*) FROM webhooks WHERE id = '{id}' AND legacy_signature");
    assert_eq!(count(&test_db, &on(existing)).await, 1, "kept on");

    // Rows written afterwards without the column take the new default…
    let mut conn = AsyncPgConnection::establish(test_db.url()).await.unwrap();
    let later = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO webhooks (id, owner_id, url, events, secret_ciphertext, secret_nonce, \
         secret_key_id, created_at, updated_at) VALUES ($1, $2, 'https://erp.example.com/', \
         ARRAY['*'], '\\x00', '\\x000000000000000000000000', 'k', now(), now())",
    )
    .bind::<diesel::sql_types::Uuid, _>(later)
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(count(&test_db, &on(later)).await, 0, "off by default");
    // …and the repository reads both flags back.
    let repository = DieselWebhookRepository::new(test_db.second_pool());
    let old = repository.find(existing).await.unwrap().unwrap();
    assert!(old.legacy_signature());
    let (created, event, _) = new_webhook(&vault(), Uuid::now_v7(), &["*"]);
    repository
        .insert(&created, Role::Admin, &[event], 20)
        .await
        .unwrap();
    assert!(
        !repository
            .find(created.id())
            .await
            .unwrap()
            .unwrap()
            .legacy_signature()
    );
}

/// The retention target clears expired previous secrets (all four columns,
/// as the check constraint requires), keeps those still in their grace
/// period, and makes a write prepared before the clear a conflict rather
/// than a way to bring the ciphertext back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_previous_secrets_are_cleared_and_a_stale_write_cannot_restore_them() {
    use hub_platform_postgres::retention::{RetentionTarget as _, purge};
    use hub_webhooks_infrastructure::ExpiredPreviousSecrets;

    let test_db = TestDatabase::new().await;
    let repository = DieselWebhookRepository::new(test_db.database().clone());
    let vault = vault();
    let rotated_at = |webhook: &mut Webhook, at| {
        let sealed = vault
            .seal(webhook.id(), &vault.generate().unwrap())
            .unwrap();
        wrap(&webhook.rotate_secret(sealed, GracePeriod::from_seconds(3600).unwrap(), at))
    };
    let now = now();
    let mut ids = Vec::new();
    // Rotated three hours ago (expired two hours ago), and just now.
    for at in [now - time::Duration::hours(3), now] {
        let (mut webhook, event, _) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
        repository
            .insert(&webhook, Role::Admin, &[event], 20)
            .await
            .unwrap();
        let rotated = rotated_at(&mut webhook, at);
        repository.update(&webhook, &[rotated]).await.unwrap();
        ids.push(webhook.id());
    }
    let (expired, current) = (ids[0], ids[1]);
    let stale = repository.find(expired).await.unwrap().unwrap();
    assert!(stale.previous_secret().is_some());

    let mut conn = test_db.database().connection().await.unwrap();
    assert_eq!(
        ExpiredPreviousSecrets.count(&mut conn, now).await.unwrap(),
        1
    );
    let cleared = purge(&mut conn, &ExpiredPreviousSecrets, now, 1000, |_| {})
        .await
        .unwrap();
    assert_eq!(cleared, 1);
    assert_eq!(
        count(
            &test_db,
            &format!(
                "SELECT count(*) FROM webhooks WHERE id = '{expired}' \
                 AND previous_secret_ciphertext IS NULL AND previous_secret_nonce IS NULL \
                 AND previous_secret_key_id IS NULL AND previous_secret_expires_at IS NULL"
            )
        )
        .await,
        1
    );
    let after = repository.find(expired).await.unwrap().unwrap();
    assert_eq!(after.previous_secret(), None);
    assert_eq!(
        after.updated_at(),
        stale.updated_at(),
        "not the owner's change"
    );
    assert!(
        repository
            .find(current)
            .await
            .unwrap()
            .unwrap()
            .previous_secret()
            .is_some(),
        "still in its grace period"
    );

    // A change prepared on the state read before the clear.
    let mut stale = stale;
    let updated = stale
        .update(
            WebhookChanges {
                max_retries: Some(hub_webhooks_domain::MaxRetries::new(5).unwrap()),
                ..WebhookChanges::default()
            },
            now,
        )
        .unwrap();
    assert!(matches!(
        repository.update(&stale, &[wrap(&updated)]).await,
        Err(RepositoryError::Conflict)
    ));
    assert_eq!(
        repository
            .find(expired)
            .await
            .unwrap()
            .unwrap()
            .previous_secret(),
        None
    );
}

/// Whether the database's own error is somewhere in `error`'s source chain.
fn caused_by_the_database(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut link = Some(error);
    while let Some(current) = link {
        if current.is::<diesel::result::Error>() {
            return true;
        }
        link = current.source();
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_failures_keep_the_database_error_as_their_cause() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database().clone();
    let repository = Arc::new(DieselWebhookRepository::new(db.clone()));
    let (mut webhook, event, _) = new_webhook(&vault(), Uuid::now_v7(), &["*"]);
    repository
        .insert(&webhook, Role::Admin, &[event], 20)
        .await
        .unwrap();
    // Every query of this context now fails in PostgreSQL itself.
    for table in ["webhooks", "webhook_owners", "webhook_delivery_attempts"] {
        let rename = diesel::sql_query(format!("ALTER TABLE {table} RENAME TO {table}_gone"));
        diesel_async::RunQueryDsl::execute(rename, &mut db.connection().await.unwrap())
            .await
            .unwrap();
    }

    let read = repository.find(webhook.id()).await.unwrap_err();
    assert!(matches!(read, RepositoryError::Storage(_)), "{read}");
    assert!(caused_by_the_database(&read), "{read:?}");

    let off = deactivate(&mut webhook);
    let write = repository.update(&webhook, &[off]).await.unwrap_err();
    assert!(matches!(write, RepositoryError::Storage(_)), "{write}");
    assert!(caused_by_the_database(&write), "{write:?}");

    let scope = DieselScopeReadModel::new(db.clone())
        .owner(webhook.owner_id())
        .await
        .unwrap_err();
    assert!(caused_by_the_database(&scope), "{scope:?}");

    let log = DieselDeliveryRepository::new(db.clone(), DeliveryWaker::new())
        .list_attempts(
            webhook.id(),
            &AttemptFilter::default(),
            Page::new(None, None),
        )
        .await
        .unwrap_err();
    assert!(caused_by_the_database(&log), "{log:?}");

    // The use case's 500 keeps it too, for the one place that logs it.
    let unavailable = GetWebhook::new(WebhookPorts {
        webhooks: repository,
        ..ports(&db)
    })
    .execute(webhook.owner_id(), webhook.id())
    .await
    .unwrap_err();
    assert!(
        matches!(unavailable, WebhookError::Unavailable(_)),
        "{unavailable}"
    );
    assert!(caused_by_the_database(&unavailable), "{unavailable:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_edits_never_conflict_with_delivery_bookkeeping_nor_undo_it() {
    let test_db = TestDatabase::new().await;
    let repository = DieselWebhookRepository::new(test_db.database().clone());
    let vault = vault();
    let (webhook, event, _) = new_webhook(&vault, Uuid::now_v7(), &["*"]);
    repository
        .insert(&webhook, Role::Admin, &[event], 20)
        .await
        .unwrap();
    // The owner reads the webhook; deliveries go on meanwhile.
    let mut read = repository.find(webhook.id()).await.unwrap().unwrap();
    let at = now();
    repository
        .record_delivery_success(webhook.id(), at)
        .await
        .unwrap();
    for _ in 0..3 {
        repository
            .record_delivery_failure(webhook.id(), at, "timeout")
            .await
            .unwrap();
    }
    // The owner's PATCH, based on what was read, is not a conflict…
    let patched = read
        .update(
            WebhookChanges {
                retry_enabled: Some(false),
                ..WebhookChanges::default()
            },
            now(),
        )
        .unwrap();
    repository.update(&read, &[wrap(&patched)]).await.unwrap();
    // …and does not write back the stale bookkeeping it read.
    let stored = repository.find(webhook.id()).await.unwrap().unwrap();
    assert!(!stored.retry_enabled());
    assert_eq!(stored.consecutive_failures(), 3, "no failure lost");
    assert_eq!(stored.last_triggered_at(), Some(at));

    // A deactivation then a re-enabling by the owner resets the counter,
    // even with failures recorded between the read and the write.
    let mut read = stored;
    let off = read
        .update(
            WebhookChanges {
                is_active: Some(false),
                ..WebhookChanges::default()
            },
            now(),
        )
        .unwrap();
    repository.update(&read, &[wrap(&off)]).await.unwrap();
    let mut read = repository.find(webhook.id()).await.unwrap().unwrap();
    repository
        .record_delivery_failure(webhook.id(), at, "timeout")
        .await
        .unwrap();
    let on = read
        .update(
            WebhookChanges {
                is_active: Some(true),
                ..WebhookChanges::default()
            },
            now(),
        )
        .unwrap();
    repository.update(&read, &[wrap(&on)]).await.unwrap();
    let stored = repository.find(webhook.id()).await.unwrap().unwrap();
    assert!(stored.is_active());
    assert_eq!(stored.consecutive_failures(), 0, "re-enabling resets it");
}
