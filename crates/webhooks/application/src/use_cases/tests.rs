use super::*;
use crate::ports::{
    MockDeliveryRepository, MockDestinationPolicy, MockEventCatalog, MockScopeReadModel,
    MockSecretVault, MockWebhookRepository, OwnerStatus,
};
use hub_kernel::{EventType, FixedClock, Role};
use hub_webhooks_domain::{SealedSecret, StoredWebhook};
use serde_json::json;
use std::sync::Mutex;
use time::OffsetDateTime;
use time::macros::datetime;

pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-26 10:00 UTC);

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(NOW))
}

/// The ports of a use case under test, for the fields a test does not
/// set: mocks that expect no call, the fixed clock, the default schedule.
/// (The delivery use cases' tests use it too.)
pub(crate) fn ports() -> WebhookPorts {
    WebhookPorts {
        webhooks: Arc::new(MockWebhookRepository::new()),
        deliveries: Arc::new(MockDeliveryRepository::new()),
        catalog: Arc::new(MockEventCatalog::new()),
        destinations: Arc::new(MockDestinationPolicy::new()),
        vault: Arc::new(MockSecretVault::new()),
        clock: clock(),
        scope: Arc::new(MockScopeReadModel::new()),
        schedule: RetrySchedule::default(),
    }
}

fn context(role: Role) -> CommandContext {
    CommandContext::user(
        Actor {
            user_id: Uuid::now_v7(),
            role,
        },
        Some("req-1".to_owned()),
    )
}

fn user_id(context: &CommandContext) -> Uuid {
    context.actor.unwrap().user_id
}

fn catalog() -> Arc<dyn EventCatalog> {
    let mut catalog = MockEventCatalog::new();
    catalog.expect_event_types().returning(|| {
        let mut types = hub_webhooks_domain::event_catalog();
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Data {
            chantier_id: Uuid,
        }
        types.push(EventTypeInfo::of::<Data>(
            "chantier.created",
            "chantier",
            "created",
        ));
        types.push(EventTypeInfo::of::<Data>(
            "chantier.updated",
            "chantier",
            "updated",
        ));
        types
    });
    Arc::new(catalog)
}

/// Accepts every URL, normalised to lower case; checks are counted.
fn accepting_destinations(times: usize) -> MockDestinationPolicy {
    let mut destinations = MockDestinationPolicy::new();
    destinations
        .expect_check()
        .times(times)
        .returning(|url| Ok(url.to_lowercase()));
    destinations
}

fn no_destination_check() -> MockDestinationPolicy {
    let mut destinations = MockDestinationPolicy::new();
    destinations.expect_check().never();
    destinations
}

/// A vault whose "encryption" is readable, so tests can see what was sealed
/// with which webhook id; `generate` yields `whsec_1`, `whsec_2`, …
fn vault() -> MockSecretVault {
    let mut vault = MockSecretVault::new();
    let counter = Arc::new(Mutex::new(0));
    vault.expect_generate().returning(move || {
        let mut n = counter.lock().unwrap();
        *n += 1;
        Ok(PlainSecret::new(format!("whsec_{n}")))
    });
    vault.expect_seal().returning(|id, secret| {
        Ok(SealedSecret {
            ciphertext: secret.expose().as_bytes().to_vec(),
            nonce: id.as_bytes().to_vec(),
            key_id: "test-key".into(),
        })
    });
    vault.expect_open().returning(|id, sealed| {
        assert_eq!(
            sealed.nonce,
            id.as_bytes().to_vec(),
            "opened as another webhook"
        );
        Ok(PlainSecret::new(
            String::from_utf8(sealed.ciphertext.clone()).unwrap(),
        ))
    });
    vault
}

fn unused_vault() -> MockSecretVault {
    let mut vault = MockSecretVault::new();
    vault.expect_generate().never();
    vault.expect_seal().never();
    vault
}

fn sealed(secret: &str, id: Uuid) -> SealedSecret {
    SealedSecret {
        ciphertext: secret.as_bytes().to_vec(),
        nonce: id.as_bytes().to_vec(),
        key_id: "test-key".into(),
    }
}

fn stored(owner_id: Uuid) -> StoredWebhook {
    let id = Uuid::now_v7();
    StoredWebhook {
        id,
        owner_id,
        url: hub_webhooks_domain::EndpointUrl::from_checked("https://erp.example.com/in".into())
            .unwrap(),
        events: EventPatterns::restore(&["chantier.*".to_owned()]).unwrap(),
        description: None,
        is_active: true,
        consecutive_failures: 0,
        last_triggered_at: None,
        retry_enabled: true,
        max_retries: MaxRetries::DEFAULT,
        disabled_reason: None,
        last_error: None,
        last_error_at: None,
        legacy_signature: false,
        options: DeliveryOptions::default(),
        secret: sealed("whsec_old", id),
        previous_secret: None,
        created_at: NOW,
        updated_at: NOW,
        version: 4,
    }
}

type Written = Arc<Mutex<Vec<EventEnvelope>>>;

/// A repository holding `existing`, recording the events it is asked to write.
fn recording_repository(existing: Option<Webhook>) -> (MockWebhookRepository, Written) {
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let mut webhooks = MockWebhookRepository::new();
    webhooks
        .expect_find()
        .returning(move |_| Ok(existing.clone()));
    let sink = written.clone();
    webhooks.expect_insert().returning(move |_, _, events, _| {
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    let sink = written.clone();
    webhooks.expect_update().returning(move |_, events| {
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    let sink = written.clone();
    webhooks.expect_delete().returning(move |_, events| {
        sink.lock().unwrap().extend_from_slice(events);
        Ok(())
    });
    (webhooks, written)
}

/// A repository that must not be written to.
fn read_only_repository(existing: Option<Webhook>) -> MockWebhookRepository {
    let mut webhooks = MockWebhookRepository::new();
    webhooks
        .expect_find()
        .returning(move |_| Ok(existing.clone()));
    webhooks.expect_insert().never();
    webhooks.expect_update().never();
    webhooks.expect_delete().never();
    webhooks
}

fn create_input() -> CreateWebhookInput {
    CreateWebhookInput {
        url: "https://ERP.example.com/hooks".into(),
        events: vec!["chantier.*".into(), "webhook.created".into()],
        description: Some("  Paie  ".into()),
        legacy_signature: false,
        ..CreateWebhookInput::default()
    }
}

fn create_use_case(
    webhooks: MockWebhookRepository,
    destinations: MockDestinationPolicy,
    vault: MockSecretVault,
) -> CreateWebhook {
    CreateWebhook::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        catalog: catalog(),
        destinations: Arc::new(destinations),
        vault: Arc::new(vault),
        ..ports()
    })
}

#[tokio::test]
async fn create_stores_the_webhook_with_exactly_one_created_event_and_shows_the_secret() {
    let mut webhooks = MockWebhookRepository::new();
    let written: Written = Arc::new(Mutex::new(Vec::new()));
    let sink = written.clone();
    webhooks
        .expect_insert()
        .times(1)
        .withf(|_, role, _, quota| *role == Role::Conducteur && *quota == 20)
        .returning(move |_, _, events, _| {
            sink.lock().unwrap().extend_from_slice(events);
            Ok(())
        });
    let create = create_use_case(webhooks, accepting_destinations(1), vault());
    let context = context(Role::Conducteur);
    let created = create.execute(&context, create_input()).await.unwrap();

    let webhook = &created.webhook;
    assert_eq!(created.secret.expose(), "whsec_1");
    assert_eq!(webhook.secret(), &sealed("whsec_1", webhook.id()));
    assert_eq!(webhook.owner_id(), user_id(&context));
    assert_eq!(webhook.url().as_str(), "https://erp.example.com/hooks");
    assert_eq!(webhook.description().unwrap().as_str(), "Paie");
    assert!(webhook.is_active());
    assert!(!webhook.legacy_signature(), "the legacy header is opt-in");

    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type.as_str(), "webhook.created");
    assert_eq!(event.aggregate_type, "webhook");
    assert_eq!(event.aggregate_id, webhook.id().to_string());
    assert_eq!(event.actor_id, Some(user_id(&context)));
    assert_eq!(event.correlation_id.as_deref(), Some("req-1"));
    assert_eq!(event.occurred_at, NOW);
    assert_eq!(
        event.data,
        json!({
            "webhook_id": webhook.id(), "owner_id": user_id(&context),
            "events": ["chantier.*", "webhook.created"], "is_active": true,
            "chantier_ids": null, "filters": {}, "ordering": "none"
        })
    );
    let text = event.data.to_string();
    assert!(
        !text.contains("whsec") && !text.contains("example.com"),
        "{text}"
    );
}

#[tokio::test]
async fn create_reports_every_invalid_field_and_checks_nothing_else() {
    let create = create_use_case(
        read_only_repository(None),
        no_destination_check(),
        unused_vault(),
    );
    let input = CreateWebhookInput {
        url: "https://erp.example.com/".into(),
        events: vec![
            "chantier.*".into(),
            "Chantier.*".into(),
            "devis.*".into(),
            "webhook.test".into(),
        ],
        description: Some("x".repeat(501)),
        legacy_signature: false,
        chantier_ids: Some(Vec::new()),
        ..CreateWebhookInput::default()
    };
    let Err(WebhookError::Invalid(errors)) = create.execute(&context(Role::Admin), input).await
    else {
        panic!("expected validation errors");
    };
    let fields: Vec<(&str, &str)> = errors
        .errors()
        .iter()
        .map(|e| (e.field.as_str(), e.code))
        .collect();
    assert_eq!(
        fields,
        [
            ("events[1]", "invalid_pattern"),
            ("events[2]", "unknown_event_type"),
            ("events[3]", "not_subscribable"),
            ("description", "invalid"),
            ("chantier_ids", "empty")
        ]
    );
    assert!(errors.errors()[1].message.contains("`devis.*`"));

    for (events, code) in [(vec![], "required"), (vec!["*".to_owned(); 51], "too_many")] {
        let create = create_use_case(
            read_only_repository(None),
            no_destination_check(),
            unused_vault(),
        );
        let input = CreateWebhookInput {
            events,
            ..create_input()
        };
        let Err(WebhookError::Invalid(errors)) = create.execute(&context(Role::Admin), input).await
        else {
            panic!("expected validation errors");
        };
        assert_eq!(errors.errors()[0].field, "events");
        assert_eq!(errors.errors()[0].code, code);
    }
}

#[tokio::test]
async fn create_refuses_a_url_the_policy_refuses_and_writes_nothing() {
    let mut destinations = MockDestinationPolicy::new();
    destinations.expect_check().times(1).returning(|_| {
        Err(UrlRefused(
            "resolves to a private address (10.0.0.5)".into(),
        ))
    });
    let create = create_use_case(read_only_repository(None), destinations, unused_vault());
    let error = create
        .execute(&context(Role::Admin), create_input())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "url resolves to a private address (10.0.0.5)"
    );
    assert!(matches!(error, WebhookError::InvalidUrl(_)));
}

#[tokio::test]
async fn create_over_quota_is_refused_with_the_limit() {
    let mut webhooks = MockWebhookRepository::new();
    webhooks
        .expect_insert()
        .times(1)
        .returning(|_, _, _, quota| Err(RepositoryError::QuotaExceeded { limit: quota }));
    let create = create_use_case(webhooks, accepting_destinations(1), vault());
    let error = create
        .execute(&context(Role::Admin), create_input())
        .await
        .unwrap_err();
    assert!(matches!(error, WebhookError::QuotaExceeded { limit: 20 }));
    assert!(error.to_string().contains("maximum of 20 webhooks"));
}

#[tokio::test]
async fn get_and_list_only_show_the_callers_webhooks() {
    let owner = Uuid::now_v7();
    let mine = Webhook::restore(stored(owner));
    let get = GetWebhook::new(WebhookPorts {
        webhooks: Arc::new(read_only_repository(Some(mine.clone()))),
        ..ports()
    });
    assert_eq!(get.execute(owner, mine.id()).await.unwrap(), mine);
    assert!(matches!(
        get.execute(Uuid::now_v7(), mine.id()).await,
        Err(WebhookError::NotFound)
    ));
    let get = GetWebhook::new(WebhookPorts {
        webhooks: Arc::new(read_only_repository(None)),
        ..ports()
    });
    assert!(matches!(
        get.execute(owner, Uuid::now_v7()).await,
        Err(WebhookError::NotFound)
    ));

    let mut webhooks = MockWebhookRepository::new();
    let listed = mine.clone();
    webhooks
        .expect_list_by_owner()
        .withf(move |o, page| *o == owner && *page == Page::new(Some(5), Some(10)))
        .returning(move |_, _| Ok((vec![listed.clone()], 6)));
    let list = ListWebhooks::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        ..ports()
    });
    let (page, total) = list
        .execute(owner, Page::new(Some(5), Some(10)))
        .await
        .unwrap();
    assert_eq!((page, total), (vec![mine], 6));
}

fn update_use_case(
    webhooks: MockWebhookRepository,
    destinations: MockDestinationPolicy,
) -> UpdateWebhook {
    UpdateWebhook::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        catalog: catalog(),
        destinations: Arc::new(destinations),
        ..ports()
    })
}

#[tokio::test]
async fn update_publishes_the_changes_without_the_url() {
    let context = context(Role::Conducteur);
    let existing = Webhook::restore(stored(user_id(&context)));
    let (webhooks, written) = recording_repository(Some(existing.clone()));
    let update = update_use_case(webhooks, accepting_destinations(1));
    let updated = update
        .execute(
            &context,
            existing.id(),
            UpdateWebhookInput {
                url: Some("https://erp.example.com/V2?token=abc".into()),
                events: Some(vec!["chantier.updated".into()]),
                description: Some("Paie".into()),
                max_retries: Some(10),
                retry_enabled: Some(false),
                is_active: None,
                legacy_signature: Some(true),
                ..UpdateWebhookInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.url().as_str(),
        "https://erp.example.com/v2?token=abc"
    );
    assert_eq!(updated.max_retries().get(), 10);
    assert!(updated.legacy_signature());

    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type.as_str(), "webhook.updated");
    assert_eq!(events[0].actor_id, Some(user_id(&context)));
    assert_eq!(
        events[0].data,
        json!({
            "webhook_id": existing.id(), "owner_id": user_id(&context),
            "events": ["chantier.updated"], "is_active": true, "url_changed": true,
            "chantier_ids": null, "filters": {}, "ordering": "none",
            "changes": {
                "description": {"old": null, "new": "Paie"},
                "events": {"old": ["chantier.*"], "new": ["chantier.updated"]},
                "legacy_signature": {"old": false, "new": true},
                "max_retries": {"old": 3, "new": 10},
                "retry_enabled": {"old": true, "new": false}
            }
        })
    );
    assert!(!events[0].data.to_string().contains("token"));
}

#[tokio::test]
async fn an_empty_or_unchanged_update_publishes_nothing() {
    let context = context(Role::Admin);
    let existing = Webhook::restore(stored(user_id(&context)));
    for input in [
        UpdateWebhookInput::default(),
        UpdateWebhookInput {
            events: Some(vec!["chantier.*".into()]),
            is_active: Some(true),
            max_retries: Some(3),
            ..UpdateWebhookInput::default()
        },
    ] {
        let update = update_use_case(
            read_only_repository(Some(existing.clone())),
            no_destination_check(),
        );
        let same = update
            .execute(&context, existing.id(), input)
            .await
            .unwrap();
        assert_eq!(same, existing);
    }
}

#[tokio::test]
async fn re_enabling_resets_the_failure_counter_in_the_event() {
    let context = context(Role::Admin);
    let mut state = stored(user_id(&context));
    state.is_active = false;
    state.consecutive_failures = 10;
    state.disabled_reason = Some("deactivated after 10 consecutive failed deliveries".into());
    let existing = Webhook::restore(state);
    let (webhooks, written) = recording_repository(Some(existing.clone()));
    let update = update_use_case(webhooks, no_destination_check());
    let enabled = update
        .execute(
            &context,
            existing.id(),
            UpdateWebhookInput {
                is_active: Some(true),
                ..UpdateWebhookInput::default()
            },
        )
        .await
        .unwrap();
    assert!(enabled.is_active());
    assert_eq!(enabled.consecutive_failures(), 0);
    assert_eq!(enabled.disabled_reason(), None);
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].data["changes"],
        json!({
            "consecutive_failures": {"old": 10, "new": 0},
            "disabled_reason": {"old": "deactivated after 10 consecutive failed deliveries", "new": null},
            "is_active": {"old": false, "new": true}
        })
    );
}

#[tokio::test]
async fn update_errors_publish_nothing() {
    let context = context(Role::Conducteur);
    // Someone else's webhook: not found, and its URL is never checked.
    let theirs = Webhook::restore(stored(Uuid::now_v7()));
    let update = update_use_case(
        read_only_repository(Some(theirs.clone())),
        no_destination_check(),
    );
    assert!(matches!(
        update
            .execute(
                &context,
                theirs.id(),
                UpdateWebhookInput {
                    url: Some("https://elsewhere.example.com/".into()),
                    ..UpdateWebhookInput::default()
                }
            )
            .await,
        Err(WebhookError::NotFound)
    ));

    // Invalid fields: refused before anything is read.
    let mut webhooks = MockWebhookRepository::new();
    webhooks.expect_find().never();
    webhooks.expect_update().never();
    let update = update_use_case(webhooks, no_destination_check());
    let Err(WebhookError::Invalid(errors)) = update
        .execute(
            &context,
            Uuid::now_v7(),
            UpdateWebhookInput {
                events: Some(vec!["nope.*".into()]),
                description: Some("\u{1b}[31m".into()),
                max_retries: Some(11),
                ..UpdateWebhookInput::default()
            },
        )
        .await
    else {
        panic!("expected validation errors");
    };
    let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["events[0]", "description", "max_retries"]);
    assert_eq!(errors.errors()[2].message, "must be between 0 and 10");

    // A refused URL.
    let mine = Webhook::restore(stored(user_id(&context)));
    let mut destinations = MockDestinationPolicy::new();
    destinations
        .expect_check()
        .returning(|_| Err(UrlRefused("must use https (got \"http\")".into())));
    let update = update_use_case(read_only_repository(Some(mine.clone())), destinations);
    assert!(matches!(
        update
            .execute(
                &context,
                mine.id(),
                UpdateWebhookInput {
                    url: Some("http://erp.example.com/".into()),
                    ..UpdateWebhookInput::default()
                }
            )
            .await,
        Err(WebhookError::InvalidUrl(_))
    ));
}

#[tokio::test]
async fn a_concurrent_write_is_retried_on_fresh_state_then_reported() {
    let context = context(Role::Admin);
    let existing = Webhook::restore(stored(user_id(&context)));
    let mut webhooks = MockWebhookRepository::new();
    let found = existing.clone();
    webhooks
        .expect_find()
        .times(2)
        .returning(move |_| Ok(Some(found.clone())));
    let attempts = Arc::new(Mutex::new(0));
    let counter = attempts.clone();
    webhooks.expect_update().times(2).returning(move |_, _| {
        let mut n = counter.lock().unwrap();
        *n += 1;
        if *n == 1 {
            Err(RepositoryError::Conflict)
        } else {
            Ok(())
        }
    });
    let update = update_use_case(webhooks, accepting_destinations(1));
    let input = UpdateWebhookInput {
        url: Some("https://b.example.com/".into()),
        ..UpdateWebhookInput::default()
    };
    update
        .execute(&context, existing.id(), input.clone())
        .await
        .unwrap();

    let mut webhooks = MockWebhookRepository::new();
    let found = existing.clone();
    webhooks
        .expect_find()
        .returning(move |_| Ok(Some(found.clone())));
    webhooks
        .expect_update()
        .times(3)
        .returning(|_, _| Err(RepositoryError::Conflict));
    let update = update_use_case(webhooks, accepting_destinations(1));
    assert!(matches!(
        update.execute(&context, existing.id(), input).await,
        Err(WebhookError::Conflict)
    ));
}

#[tokio::test]
async fn delete_publishes_deleted_and_refuses_other_owners() {
    let context = context(Role::Conducteur);
    let mine = Webhook::restore(stored(user_id(&context)));
    let (webhooks, written) = recording_repository(Some(mine.clone()));
    DeleteWebhook::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        ..ports()
    })
    .execute(&context, mine.id())
    .await
    .unwrap();
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type.as_str(), "webhook.deleted");
    assert_eq!(
        events[0].data,
        json!({
            "webhook_id": mine.id(), "owner_id": user_id(&context),
            "events": ["chantier.*"], "is_active": true
        })
    );

    let theirs = Webhook::restore(stored(Uuid::now_v7()));
    let delete = DeleteWebhook::new(WebhookPorts {
        webhooks: Arc::new(read_only_repository(Some(theirs.clone()))),
        ..ports()
    });
    assert!(matches!(
        delete.execute(&context, theirs.id()).await,
        Err(WebhookError::NotFound)
    ));
}

#[tokio::test]
async fn rotation_returns_a_new_secret_and_keeps_the_old_one_for_the_grace_period() {
    let stranger = context(Role::Admin);
    let context = context(Role::Admin);
    let existing = Webhook::restore(stored(user_id(&context)));
    let (webhooks, written) = recording_repository(Some(existing.clone()));
    let rotate = RotateSecret::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        vault: Arc::new(vault()),
        ..ports()
    });
    let rotated = rotate.execute(&context, existing.id(), None).await.unwrap();
    assert_eq!(rotated.secret.expose(), "whsec_1");
    let webhook = &rotated.webhook;
    assert_eq!(webhook.secret(), &sealed("whsec_1", existing.id()));
    let previous = webhook.previous_secret().unwrap();
    assert_eq!(previous.sealed, sealed("whsec_old", existing.id()));
    assert_eq!(previous.expires_at, NOW + time::Duration::days(1));
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type.as_str(), "webhook.secret_rotated");
    assert_eq!(
        events[0].data,
        json!({
            "webhook_id": existing.id(), "owner_id": user_id(&context),
            "events": ["chantier.*"], "is_active": true
        })
    );
    assert!(!events[0].data.to_string().contains("whsec"));

    // Explicit bounds of the grace period.
    let (webhooks, _) = recording_repository(Some(existing.clone()));
    let rotate = RotateSecret::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        vault: Arc::new(vault()),
        ..ports()
    });
    let at_once = rotate
        .execute(&context, existing.id(), Some(0))
        .await
        .unwrap();
    assert_eq!(at_once.webhook.previous_secret(), None);
    let week = rotate
        .execute(&context, existing.id(), Some(604_800))
        .await
        .unwrap();
    assert_eq!(
        week.webhook.previous_secret().unwrap().expires_at,
        NOW + time::Duration::days(7)
    );

    let rotate = RotateSecret::new(WebhookPorts {
        webhooks: Arc::new(read_only_repository(Some(existing.clone()))),
        vault: Arc::new(unused_vault()),
        ..ports()
    });
    let Err(WebhookError::Invalid(errors)) =
        rotate.execute(&context, existing.id(), Some(604_801)).await
    else {
        panic!("expected a validation error");
    };
    assert_eq!(errors.errors()[0].field, "grace_period_seconds");
    // Someone else's webhook.
    assert!(matches!(
        rotate.execute(&stranger, existing.id(), None).await,
        Err(WebhookError::NotFound)
    ));
}

#[tokio::test]
async fn signing_secrets_are_the_current_then_the_previous_until_it_expires() {
    let mut state = stored(Uuid::now_v7());
    state.secret = sealed("whsec_new", state.id);
    state.previous_secret = Some(hub_webhooks_domain::PreviousSecret {
        sealed: sealed("whsec_old", state.id),
        expires_at: NOW + time::Duration::seconds(1),
    });
    let webhook = Webhook::restore(state);
    let signing = SigningSecrets::new(WebhookPorts {
        webhooks: Arc::new(read_only_repository(Some(webhook.clone()))),
        vault: Arc::new(vault()),
        ..ports()
    });
    let secrets = signing.execute(webhook.id()).await.unwrap();
    let exposed: Vec<&str> = secrets.iter().map(PlainSecret::expose).collect();
    assert_eq!(exposed, ["whsec_new", "whsec_old"]);

    let later = SigningSecrets::new(WebhookPorts {
        webhooks: Arc::new(read_only_repository(Some(webhook.clone()))),
        vault: Arc::new(vault()),
        clock: Arc::new(FixedClock(NOW + time::Duration::seconds(1))),
        ..ports()
    });
    let secrets = later.execute(webhook.id()).await.unwrap();
    assert_eq!(secrets.len(), 1);

    let mut broken = MockSecretVault::new();
    broken
        .expect_open()
        .returning(|_, sealed| Err(VaultError::UnknownKey(sealed.key_id.clone())));
    let signing = SigningSecrets::new(WebhookPorts {
        webhooks: Arc::new(read_only_repository(Some(webhook.clone()))),
        vault: Arc::new(broken),
        ..ports()
    });
    assert!(matches!(
        signing.execute(webhook.id()).await,
        Err(WebhookError::Unavailable(source)) if source.to_string().contains("test-key")
    ));
}

fn envelope(event_type: &'static str, data: serde_json::Value) -> EventEnvelope {
    EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: EventType::from_static(event_type).unwrap(),
        aggregate_type: "chantier".into(),
        aggregate_id: "x".into(),
        occurred_at: NOW,
        actor_id: None,
        correlation_id: None,
        causation_id: None,
        schema_version: 1,
        data,
    }
}

#[tokio::test]
async fn recipients_are_matching_active_webhooks_whose_owner_may_see_the_event() {
    let admin = Uuid::now_v7();
    let conducteur_here = Uuid::now_v7();
    let conducteur_elsewhere = Uuid::now_v7();
    let site = Uuid::now_v7();
    let webhook_of = |owner: Uuid| Webhook::restore(stored(owner));
    let (a, b, c, d) = (
        webhook_of(admin),
        webhook_of(conducteur_here),
        webhook_of(conducteur_elsewhere),
        webhook_of(conducteur_here),
    );
    let mut webhooks = MockWebhookRepository::new();
    let all = vec![a.clone(), b.clone(), c.clone(), d.clone()];
    webhooks
        .expect_list_active_matching()
        .withf(|t| t == "chantier.updated")
        .times(1)
        .returning(move |_| Ok(all.clone()));
    let mut read_model = MockScopeReadModel::new();
    read_model.expect_owner().times(3).returning(move |id| {
        Ok(Some(OwnerStatus {
            role: Some(if id == admin {
                Role::Admin
            } else {
                Role::Conducteur
            }),
            is_active: true,
        }))
    });
    read_model
        .expect_is_conducteur_of()
        .times(2)
        .returning(move |user, chantier| Ok(user == conducteur_here && chantier == site));
    let recipients = ListRecipients::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        scope: Arc::new(read_model),
        ..ports()
    });
    let event = envelope("chantier.updated", json!({"chantier_id": site}));
    let ids: Vec<Uuid> = recipients
        .execute(&event)
        .await
        .unwrap()
        .iter()
        .map(Webhook::id)
        .collect();
    assert_eq!(ids, [a.id(), b.id(), d.id()]);

    // webhook.test is never fanned out.
    let mut webhooks = MockWebhookRepository::new();
    webhooks.expect_list_active_matching().never();
    let recipients = ListRecipients::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        scope: Arc::new(MockScopeReadModel::new()),
        ..ports()
    });
    assert!(
        recipients
            .execute(&envelope("webhook.test", json!({})))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_tenth_consecutive_failure_disables_the_webhook_once() {
    let existing = Webhook::restore(stored(Uuid::now_v7()));
    let (mut webhooks, written) = recording_repository(Some(existing.clone()));
    let counts = Arc::new(Mutex::new(8_u32));
    let counter = counts.clone();
    webhooks
        .expect_record_delivery_failure()
        .withf(|_, _, error| error == "timeout" || error == "HTTP 500")
        .times(2)
        .returning(move |_, _, _| {
            let mut n = counter.lock().unwrap();
            *n += 1;
            Ok(*n)
        });
    let record = RecordDelivery::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        ..ports()
    });
    assert_eq!(
        record.failed(existing.id(), "timeout").await.unwrap(),
        FailureOutcome {
            consecutive_failures: 9,
            disabled: false
        }
    );
    assert!(written.lock().unwrap().is_empty());
    assert_eq!(
        record.failed(existing.id(), "HTTP 500").await.unwrap(),
        FailureOutcome {
            consecutive_failures: 10,
            disabled: true
        }
    );
    let events = written.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event_type.as_str(), "webhook.updated");
    assert_eq!(events[0].actor_id, None, "the system did it");
    assert_eq!(events[1].event_type.as_str(), "webhook.disabled");
    assert_eq!(events[1].actor_id, None);
    assert_eq!(
        events[1].data,
        json!({
            "webhook_id": existing.id(),
            "owner_id": existing.owner_id(),
            "reason": "deactivated after 10 consecutive failed deliveries (last: HTTP 500)",
            "consecutive_failures": 0
        }),
        "the counter as read by the deactivation (this mock's stored webhook says 0)"
    );
    assert_eq!(
        events[0].data["changes"],
        json!({
            "disabled_reason": {"old": null, "new": "deactivated after 10 consecutive failed deliveries (last: HTTP 500)"},
            "is_active": {"old": true, "new": false}
        })
    );

    // Already inactive: nothing more to publish.
    let mut state = existing.state().clone();
    state.is_active = false;
    let disable = DisableWebhook::new(WebhookPorts {
        webhooks: Arc::new(read_only_repository(Some(Webhook::restore(state)))),
        ..ports()
    });
    assert!(
        !disable
            .execute(&CommandContext::system(None), existing.id(), "410 Gone")
            .await
            .unwrap()
    );

    let id = existing.id();
    let mut webhooks = MockWebhookRepository::new();
    webhooks
        .expect_record_delivery_success()
        .withf(move |webhook_id, at| *webhook_id == id && *at == NOW)
        .times(1)
        .returning(|_, _| Ok(()));
    RecordDelivery::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        ..ports()
    })
    .succeeded(existing.id())
    .await
    .unwrap();
}

#[test]
fn event_types_come_from_the_catalog_port() {
    let types = ListEventTypes::new(WebhookPorts {
        catalog: catalog(),
        ..ports()
    })
    .execute();
    assert!(types.iter().any(|t| t.event_type == "webhook.test"));
    assert!(types.iter().any(|t| t.event_type == "chantier.created"));
}

#[tokio::test]
async fn times_are_kept_at_the_precision_the_database_stores() {
    let precise = datetime!(2026-11-26 10:00:00.123456789 UTC);
    let mut webhooks = MockWebhookRepository::new();
    webhooks.expect_insert().returning(|_, _, _, _| Ok(()));
    let create = CreateWebhook::new(WebhookPorts {
        webhooks: Arc::new(webhooks),
        catalog: catalog(),
        destinations: Arc::new(accepting_destinations(1)),
        vault: Arc::new(vault()),
        clock: Arc::new(FixedClock(precise)),
        ..ports()
    });
    let created = create
        .execute(&context(Role::Admin), create_input())
        .await
        .unwrap();
    let expected = datetime!(2026-11-26 10:00:00.123456 UTC);
    assert_eq!(created.webhook.created_at(), expected);
    assert_eq!(created.webhook.updated_at(), expected);
}

#[tokio::test]
async fn filters_are_checked_against_every_type_the_patterns_select() {
    let mut webhooks = MockWebhookRepository::new();
    webhooks
        .expect_insert()
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let create = create_use_case(webhooks, accepting_destinations(1), vault());
    let site = Uuid::now_v7();
    let input = CreateWebhookInput {
        events: vec!["chantier.*".into()],
        chantier_ids: Some(vec![site, site]),
        filters: Some(json!({"chantier_id": site}).as_object().unwrap().clone()),
        ordering: DeliveryOrdering::Aggregate,
        ..create_input()
    };
    let created = create.execute(&context(Role::Admin), input).await.unwrap();
    let webhook = created.webhook;
    assert_eq!(webhook.chantier_ids().unwrap().ids(), [site]);
    assert_eq!(webhook.filters().to_value(), json!({"chantier_id": site}));
    assert_eq!(webhook.ordering(), DeliveryOrdering::Aggregate);

    // A number is not a uuid string; no `statut` in these types.
    let create = create_use_case(
        read_only_repository(None),
        no_destination_check(),
        unused_vault(),
    );
    let input = CreateWebhookInput {
        events: vec!["chantier.*".into()],
        filters: Some(
            json!({"chantier_id": 3, "statut": "x"})
                .as_object()
                .unwrap()
                .clone(),
        ),
        ..create_input()
    };
    let Err(WebhookError::Invalid(errors)) = create.execute(&context(Role::Admin), input).await
    else {
        panic!("expected validation errors");
    };
    let fields: Vec<(&str, &str)> = errors
        .errors()
        .iter()
        .map(|e| (e.field.as_str(), e.code))
        .collect();
    assert_eq!(
        fields,
        [
            ("filters.chantier_id", "wrong_type"),
            ("filters.statut", "unknown_field")
        ]
    );
}

#[tokio::test]
async fn new_patterns_must_suit_the_filters_kept() {
    let context = context(Role::Admin);
    let mut state = stored(user_id(&context));
    let schema = json!({"properties": {"chantier_id": {"type": "string"}}});
    let raw = json!({"chantier_id": Uuid::now_v7()});
    state.events = EventPatterns::restore(&["chantier.*".to_owned()]).unwrap();
    state.options.filters =
        DataFilters::parse(raw.as_object().unwrap(), &[("chantier.created", &schema)]).unwrap();
    let existing = Webhook::restore(state);
    let webhooks = read_only_repository(Some(existing.clone()));
    let update = update_use_case(webhooks, accepting_destinations(0));
    let input = UpdateWebhookInput {
        events: Some(vec!["chantier.*".into(), "webhook.created".into()]),
        ..UpdateWebhookInput::default()
    };
    let Err(WebhookError::Invalid(errors)) = update.execute(&context, existing.id(), input).await
    else {
        panic!("expected validation errors");
    };
    assert_eq!(errors.errors()[0].field, "filters.chantier_id");
    assert_eq!(errors.errors()[0].code, "unknown_field");
}
