//! Builders shared by the tests.

use diesel::sql_types::{BigInt, Bytea, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use std::sync::Arc;

use hub_kernel::{DomainEvent, EventCatalog, EventEnvelope, EventMetadata, SystemClock};
use hub_platform_outbound::{FixtureResolver, OutboundClient, OutboundConfig};
use hub_platform_postgres::Database;
use hub_platform_test_db::TestDatabase;
use hub_webhooks_application::{SecretVault, WebhookPorts};
use hub_webhooks_domain::{
    EndpointUrl, EventPatterns, NewWebhook, PlainSecret, RetrySchedule, Webhook, WebhookChanges,
};
use hub_webhooks_infrastructure::{
    AeadSecretVault, DeliveryWaker, DieselDeliveryRepository, DieselScopeReadModel,
    DieselWebhookRepository, OutboundDestinations, SecretKey, StaticEventCatalog,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// The webhooks ports over `db`: its repositories and read model, the
/// tests' vault, the app's catalog of this context, an SSRF-checked client
/// that reaches nothing, the system clock, the default retry schedule.
/// Tests replace the ports they exercise.
pub fn ports(db: &Database) -> WebhookPorts {
    let client =
        OutboundClient::new(OutboundConfig::default(), Arc::new(FixtureResolver::new())).unwrap();
    WebhookPorts {
        webhooks: Arc::new(DieselWebhookRepository::new(db.clone())),
        deliveries: Arc::new(DieselDeliveryRepository::new(
            db.clone(),
            DeliveryWaker::new(),
        )),
        catalog: Arc::new(StaticEventCatalog::from(
            &EventCatalog::new([hub_webhooks_domain::event_catalog()]).unwrap(),
        )),
        destinations: Arc::new(OutboundDestinations::new(client)),
        vault: Arc::new(vault()),
        clock: Arc::new(SystemClock),
        scope: Arc::new(DieselScopeReadModel::new(db.clone())),
        schedule: RetrySchedule::default(),
    }
}

pub fn now() -> OffsetDateTime {
    hub_kernel::to_storage_precision(OffsetDateTime::now_utc())
}

pub fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes([byte; 32])
}

pub fn vault() -> AeadSecretVault {
    AeadSecretVault::new(&key(1), &[])
}

pub fn wrap<E: DomainEvent>(event: &E) -> EventEnvelope {
    EventEnvelope::wrap(event, &EventMetadata::default(), now()).unwrap()
}

/// A new webhook of `owner` on `patterns`, its creation event and its secret.
pub fn new_webhook(
    vault: &AeadSecretVault,
    owner: Uuid,
    patterns: &[&str],
) -> (Webhook, EventEnvelope, PlainSecret) {
    let id = Uuid::now_v7();
    let secret = vault.generate().unwrap();
    let sealed = vault.seal(id, &secret).unwrap();
    let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
    let (webhook, created) = Webhook::create(
        NewWebhook {
            id,
            owner_id: owner,
            url: EndpointUrl::from_checked("https://erp.example.com/hooks?token=abc".into())
                .unwrap(),
            events: EventPatterns::restore(&patterns).unwrap(),
            description: None,
            legacy_signature: false,
            options: hub_webhooks_domain::DeliveryOptions::default(),
        },
        sealed,
        now(),
    );
    (webhook, wrap(&created), secret)
}

/// Deactivates `webhook` (in memory) and returns its `webhook.updated` event.
pub fn deactivate(webhook: &mut Webhook) -> EventEnvelope {
    let updated = webhook
        .update(
            WebhookChanges {
                is_active: Some(false),
                ..WebhookChanges::default()
            },
            now(),
        )
        .unwrap();
    wrap(&updated)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

pub async fn count(test_db: &TestDatabase, sql: &str) -> i64 {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .count
}

/// A stored webhook's secret bytes, and its whole row as JSON text.
#[derive(QueryableByName)]
pub struct RawRow {
    #[diesel(sql_type = Bytea)]
    pub secret_ciphertext: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub whole_row: String,
}

pub async fn raw_row(test_db: &TestDatabase, id: Uuid) -> RawRow {
    let mut conn = test_db.database().connection().await.unwrap();
    sql_query(
        "SELECT secret_ciphertext, row_to_json(w)::text AS whole_row FROM webhooks w WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .get_result(&mut conn)
    .await
    .unwrap()
}
