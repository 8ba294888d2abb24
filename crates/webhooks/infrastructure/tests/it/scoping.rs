//! The access-scoping read models, fed with real envelopes through the
//! outbox relay's durable subscribers, and the recipients they allow.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use hub_kernel::{EventEnvelope, EventType, Role};
use hub_platform_event_bus::{InProcessBusConfig, InProcessEventBus};
use hub_platform_postgres::{
    Database, DbError, DurableSubscriber, OutboxRelay, Projector, RelayConfig, RelayedEvent, outbox,
};
use hub_platform_test_db::TestDatabase;
use hub_webhooks_application::{AccessScope, ListRecipients, WebhookRepository};
use hub_webhooks_domain::Webhook;
use hub_webhooks_infrastructure::{
    DieselScopeReadModel, DieselWebhookRepository, OwnerProjector, chantier_scope, recipients_on,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{count, new_webhook, now, ports, vault};

fn envelope(event_type: &'static str, aggregate_id: Uuid, data: Value) -> EventEnvelope {
    EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: EventType::from_static(event_type).unwrap(),
        aggregate_type: event_type.split('.').next().unwrap().to_owned(),
        aggregate_id: aggregate_id.to_string(),
        occurred_at: now(),
        actor_id: None,
        correlation_id: Some("test".into()),
        causation_id: None,
        schema_version: 1,
        data,
    }
}

/// A chantier event shaped as the catalog says (site snapshot flattened).
fn chantier(event_type: &'static str, site: Uuid, conducteurs: &[Uuid]) -> EventEnvelope {
    let mut data = json!({
        "chantier_id": site, "code": "TOUR-A", "nom": "Tour A", "adresse": "1 quai",
        "statut": "en_cours", "conducteur_ids": conducteurs, "chef_chantier_ids": []
    });
    match event_type {
        "chantier.statut_changed" => {
            data["ancien_statut"] = json!("ouvert");
            data["nouveau_statut"] = json!("en_cours");
        }
        "chantier.responsable_assigned" => {
            data["added"] = json!({"conducteur_ids": conducteurs, "chef_chantier_ids": []});
            data["removed"] = json!({"conducteur_ids": [], "chef_chantier_ids": []});
        }
        "chantier.updated" => data["changes"] = json!({"nom": {"old": "A", "new": "Tour A"}}),
        _ => {}
    }
    envelope(event_type, site, data)
}

fn user_created(user: Uuid, role: Role) -> EventEnvelope {
    envelope(
        "user.created",
        user,
        json!({
            "user_id": user, "email": format!("{user}@example.fr"), "nom": "Durand",
            "prenom": "Lea", "role": role.as_str(), "type_utilisateur": "employe"
        }),
    )
}

fn user_updated(user: Uuid, changes: Value) -> EventEnvelope {
    envelope(
        "user.updated",
        user,
        json!({"user_id": user, "changes": changes}),
    )
}

fn user_deactivated(user: Uuid) -> EventEnvelope {
    envelope(
        "user.deactivated",
        user,
        json!({"user_id": user, "deactivated_by": Uuid::now_v7()}),
    )
}

/// `envelope` as the relay hands it over, at log position `seq`.
fn at(seq: i64, envelope: &EventEnvelope) -> RelayedEvent {
    RelayedEvent {
        seq,
        envelope: Arc::new(envelope.clone()),
    }
}

/// An event about a site, from a context this one knows nothing of.
fn about(site: Uuid) -> EventEnvelope {
    envelope(
        "affectation.created",
        Uuid::now_v7(),
        json!({"affectation_id": Uuid::now_v7(), "chantier_id": site, "utilisateur_id": Uuid::now_v7()}),
    )
}

struct Relay {
    db: Database,
    relay: OutboxRelay,
}

impl Relay {
    fn new(db: &Database) -> Self {
        let bus = Arc::new(InProcessEventBus::new(InProcessBusConfig {
            handler_timeout: Duration::from_secs(5),
            history_capacity: 0,
        }));
        let relay = OutboxRelay::new(db.clone(), bus, RelayConfig::default())
            .with_projection(chantier_scope())
            .with_projection(OwnerProjector::new());
        Self {
            db: db.clone(),
            relay,
        }
    }

    /// Commits `events` to the outbox and lets the relay dispatch them all.
    async fn publish(&self, events: Vec<EventEnvelope>) {
        self.db
            .write(|conn| {
                Box::pin(async move {
                    outbox::append(conn, &events).await?;
                    Ok::<_, DbError>(())
                })
            })
            .await
            .unwrap();
        while self.relay.dispatch_once().await.unwrap() > 0 {}
        let mut conn = self.db.connection().await.unwrap();
        let (pending, _) = outbox::pending(&mut conn).await.unwrap();
        assert_eq!(pending, 0, "a durable subscriber refused an event");
    }
}

async fn recipients(db: &Database, event: &EventEnvelope) -> BTreeSet<Uuid> {
    let mut conn = db.connection().await.unwrap();
    let in_transaction: BTreeSet<Uuid> = recipients_on(&mut conn, event)
        .await
        .unwrap()
        .iter()
        .map(Webhook::id)
        .collect();
    // The application's use case, on the pool, must agree.
    let use_case = ListRecipients::new(ports(db));
    let through_ports: BTreeSet<Uuid> = use_case
        .execute(event)
        .await
        .unwrap()
        .iter()
        .map(Webhook::id)
        .collect();
    assert_eq!(in_transaction, through_ports);
    in_transaction
}

fn set(ids: &[Uuid]) -> BTreeSet<Uuid> {
    ids.iter().copied().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conducteur_never_receives_another_sites_events() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = Relay::new(db);
    let (admin, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
    relay
        .publish(vec![
            user_created(admin, Role::Admin),
            user_created(a, Role::Conducteur),
            user_created(b, Role::Conducteur),
            chantier("chantier.created", x, &[a]),
            chantier("chantier.created", y, &[b]),
        ])
        .await;

    let repository = DieselWebhookRepository::new(db.clone());
    let vault = vault();
    let mut hooks = Vec::new();
    for (owner, role, patterns) in [
        (admin, Role::Admin, &["*"][..]),
        (a, Role::Conducteur, &["*"]),
        (b, Role::Conducteur, &["*"]),
        (a, Role::Conducteur, &["chantier.*"]),
    ] {
        let (webhook, event, _) = new_webhook(&vault, owner, patterns);
        repository
            .insert(&webhook, role, &[event], 20)
            .await
            .unwrap();
        hooks.push(webhook.id());
    }
    let [admin_hook, a_hook, b_hook, a_chantiers_hook] = hooks[..] else {
        unreachable!()
    };

    assert_eq!(recipients(db, &about(x)).await, set(&[admin_hook, a_hook]));
    assert_eq!(recipients(db, &about(y)).await, set(&[admin_hook, b_hook]));
    assert_eq!(
        recipients(db, &chantier("chantier.updated", x, &[a])).await,
        set(&[admin_hook, a_hook, a_chantiers_hook])
    );
    assert_eq!(
        recipients(db, &about(Uuid::now_v7())).await,
        set(&[admin_hook]),
        "a chantier nobody told us about"
    );
    assert_eq!(
        recipients(db, &user_created(Uuid::now_v7(), Role::Compagnon)).await,
        set(&[admin_hook]),
        "no chantier_id: admins only"
    );
    let scope = AccessScope::new(Arc::new(DieselScopeReadModel::new(db.clone())));
    assert!(scope.may_receive(a, &about(x)).await.unwrap());
    assert!(!scope.may_receive(a, &about(y)).await.unwrap());

    // X changes hands: A loses it, B gains it.
    relay
        .publish(vec![chantier("chantier.responsable_assigned", x, &[b])])
        .await;
    assert_eq!(recipients(db, &about(x)).await, set(&[admin_hook, b_hook]));
    // Y is deleted: only admins hear of it any more.
    relay
        .publish(vec![chantier("chantier.deleted", y, &[b])])
        .await;
    assert_eq!(recipients(db, &about(y)).await, set(&[admin_hook]));
    // B becomes chef de chantier: their webhooks receive nothing.
    relay
        .publish(vec![user_updated(
            b,
            json!({"role": {"old": "conducteur", "new": "chef_chantier"}}),
        )])
        .await;
    assert_eq!(recipients(db, &about(x)).await, set(&[admin_hook]));
    // A deactivated admin receives nothing; reactivated, everything again.
    relay.publish(vec![user_deactivated(admin)]).await;
    assert!(recipients(db, &about(x)).await.is_empty());
    relay
        .publish(vec![user_updated(
            admin,
            json!({"is_active": {"old": false, "new": true}}),
        )])
        .await;
    assert_eq!(recipients(db, &about(x)).await, set(&[admin_hook]));
    // A statut change carrying the set gives X back to A.
    relay
        .publish(vec![chantier("chantier.statut_changed", x, &[a])])
        .await;
    assert_eq!(recipients(db, &about(x)).await, set(&[admin_hook, a_hook]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_and_malformed_chantier_events_fail_closed() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let projector = Projector::new(chantier_scope());
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let site = Uuid::now_v7();
    let older = chantier("chantier.created", site, &[b]);
    let newer = chantier("chantier.updated", site, &[a]);
    let mut conn = db.connection().await.unwrap();
    projector.handle(&mut conn, &at(2, &newer)).await.unwrap();
    projector.handle(&mut conn, &at(1, &older)).await.unwrap();
    let scope = AccessScope::new(Arc::new(DieselScopeReadModel::new(db.clone())));
    let read_model = DieselScopeReadModel::new(db.clone());
    use hub_webhooks_application::ScopeReadModel;
    assert!(read_model.is_conducteur_of(a, site).await.unwrap());
    assert!(
        !read_model.is_conducteur_of(b, site).await.unwrap(),
        "an older event delivered late does not win"
    );

    // Deleted for good: no later event resurrects it.
    let deleted = chantier("chantier.deleted", site, &[a]);
    projector.handle(&mut conn, &at(3, &deleted)).await.unwrap();
    projector
        .handle(&mut conn, &at(4, &chantier("chantier.updated", site, &[a])))
        .await
        .unwrap();
    assert!(!read_model.is_conducteur_of(a, site).await.unwrap());

    // Malformed conducteur_ids clear the set instead of keeping a stale one.
    let other = Uuid::now_v7();
    projector
        .handle(
            &mut conn,
            &at(5, &chantier("chantier.created", other, &[a])),
        )
        .await
        .unwrap();
    let mut broken = chantier("chantier.updated", other, &[]);
    broken.data["conducteur_ids"] = json!(["not-a-uuid"]);
    projector.handle(&mut conn, &at(6, &broken)).await.unwrap();
    assert!(!read_model.is_conducteur_of(a, other).await.unwrap());

    // No chantier_id: nothing recorded, nothing fails.
    let mut anonymous = chantier("chantier.created", Uuid::now_v7(), &[a]);
    anonymous.data["chantier_id"] = Value::Null;
    projector
        .handle(&mut conn, &at(7, &anonymous))
        .await
        .unwrap();
    assert_eq!(
        count(&test_db, "SELECT count(*) FROM webhook_scope_chantiers").await,
        2
    );
    drop(conn);
    let _ = scope;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creators_unknown_to_the_read_model_are_seeded_without_overriding_events() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let relay = Relay::new(db);
    let repository = DieselWebhookRepository::new(db.clone());
    let vault = vault();
    let (unknown, demoted, deactivated) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    relay
        .publish(vec![
            user_updated(
                demoted,
                json!({"role": {"old": "conducteur", "new": "chef_chantier"}}),
            ),
            user_deactivated(deactivated),
        ])
        .await;
    let mut hooks = Vec::new();
    for (owner, role) in [
        (unknown, Role::Admin),
        // Authenticated just before the demotion was processed.
        (demoted, Role::Admin),
        (deactivated, Role::Admin),
    ] {
        let (webhook, event, _) = new_webhook(&vault, owner, &["*"]);
        repository
            .insert(&webhook, role, &[event], 20)
            .await
            .unwrap();
        hooks.push(webhook.id());
    }
    let read_model = DieselScopeReadModel::new(db.clone());
    use hub_webhooks_application::{OwnerStatus, ScopeReadModel};
    assert_eq!(
        read_model.owner(unknown).await.unwrap(),
        Some(OwnerStatus {
            role: Some(Role::Admin),
            is_active: true
        })
    );
    assert_eq!(
        read_model.owner(demoted).await.unwrap().unwrap().role,
        Some(Role::ChefChantier)
    );
    assert_eq!(
        read_model.owner(deactivated).await.unwrap(),
        Some(OwnerStatus {
            role: Some(Role::Admin),
            is_active: false
        })
    );
    assert_eq!(read_model.owner(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(
        recipients(db, &about(Uuid::now_v7())).await,
        set(&[hooks[0]])
    );
    // A role change after the creation applies too.
    relay
        .publish(vec![user_updated(
            unknown,
            json!({"role": {"old": "admin", "new": "compagnon"}, "nom": {"old": "A", "new": "B"}}),
        )])
        .await;
    assert!(recipients(db, &about(Uuid::now_v7())).await.is_empty());
    assert!(
        repository
            .find(hooks[0])
            .await
            .unwrap()
            .unwrap()
            .is_active(),
        "the webhook itself is untouched: it simply receives nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_user_event_seen_again_does_not_bring_back_an_old_role() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let projector = Projector::new(OwnerProjector::new());
    let user = Uuid::now_v7();
    let created = user_created(user, Role::Conducteur);
    let promoted = user_updated(user, json!({"role": {"old": "conducteur", "new": "admin"}}));
    let demoted = user_updated(user, json!({"role": {"old": "admin", "new": "compagnon"}}));
    let mut conn = db.connection().await.unwrap();
    for (seq, event) in [&created, &promoted, &demoted].into_iter().enumerate() {
        let seq = i64::try_from(seq).unwrap() + 1;
        projector.handle(&mut conn, &at(seq, event)).await.unwrap();
    }
    // A replay of the promotion, or of the creation, arrives late.
    projector
        .handle(&mut conn, &at(2, &promoted))
        .await
        .unwrap();
    projector.handle(&mut conn, &at(1, &created)).await.unwrap();
    drop(conn);
    use hub_webhooks_application::ScopeReadModel;
    let read_model = DieselScopeReadModel::new(db.clone());
    assert_eq!(
        read_model.owner(user).await.unwrap().unwrap().role,
        Some(Role::Compagnon)
    );
}
