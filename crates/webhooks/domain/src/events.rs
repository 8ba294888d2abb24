//! Events of the webhooks context (catalog: `docs/EVENTS.md`, section webhooks).
//! They never carry the receiver's URL (it may hold a token) nor any secret.

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

/// `webhook.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WebhookCreated {
    pub webhook_id: Uuid,
    pub owner_id: Uuid,
    /// The topic patterns subscribed to.
    pub events: Vec<String>,
    pub is_active: bool,
}

/// `webhook.updated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WebhookUpdated {
    pub webhook_id: Uuid,
    pub owner_id: Uuid,
    pub events: Vec<String>,
    pub is_active: bool,
    /// Whether the receiver's URL changed (the URL itself is never in events).
    pub url_changed: bool,
    pub changes: Changes,
}

/// `webhook.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WebhookDeleted {
    pub webhook_id: Uuid,
    pub owner_id: Uuid,
    pub events: Vec<String>,
    pub is_active: bool,
}

/// `webhook.secret_rotated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WebhookSecretRotated {
    pub webhook_id: Uuid,
    pub owner_id: Uuid,
    pub events: Vec<String>,
    pub is_active: bool,
}

/// `webhook.test`: sent on demand to one endpoint, never fanned out.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WebhookTest {
    pub webhook_id: Uuid,
    pub message: String,
}

macro_rules! webhook_event {
    ($event:ty, $name:literal) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                "webhook"
            }
            fn aggregate_id(&self) -> String {
                self.webhook_id.to_string()
            }
        }
    };
}

webhook_event!(WebhookCreated, "webhook.created");
webhook_event!(WebhookUpdated, "webhook.updated");
webhook_event!(WebhookDeleted, "webhook.deleted");
webhook_event!(WebhookSecretRotated, "webhook.secret_rotated");
webhook_event!(WebhookTest, "webhook.test");

/// The webhooks events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<WebhookTest>(
            "webhook.test",
            "webhook",
            "A test event, sent on demand to one endpoint only; it cannot be subscribed to.",
        ),
        EventTypeInfo::of::<WebhookCreated>(
            "webhook.created",
            "webhook",
            "A webhook subscription was created.",
        ),
        EventTypeInfo::of::<WebhookUpdated>(
            "webhook.updated",
            "webhook",
            "A webhook's settings changed (URL, patterns, description, active flag, retries), by its owner or by an automatic deactivation.",
        ),
        EventTypeInfo::of::<WebhookDeleted>(
            "webhook.deleted",
            "webhook",
            "A webhook subscription was deleted.",
        ),
        EventTypeInfo::of::<WebhookSecretRotated>(
            "webhook.secret_rotated",
            "webhook",
            "A webhook's signing secret was replaced; the previous one signs too during a grace period.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_kernel::{EventEnvelope, EventMetadata};

    #[test]
    fn catalog_lists_each_event_once_with_a_schema() {
        let catalog = event_catalog();
        let types: Vec<&str> = catalog.iter().map(|e| e.event_type).collect();
        assert_eq!(
            types,
            [
                "webhook.test",
                "webhook.created",
                "webhook.updated",
                "webhook.deleted",
                "webhook.secret_rotated"
            ]
        );
        for info in &catalog {
            let properties = info.data_schema["properties"].as_object().unwrap();
            assert!(properties.contains_key("webhook_id"), "{}", info.event_type);
            assert!(!properties.contains_key("url"), "{}", info.event_type);
            assert!(!properties.contains_key("secret"), "{}", info.event_type);
        }
        assert!(catalog[2].data_schema["properties"]["changes"].is_object());
    }

    #[test]
    fn every_event_wraps_into_a_valid_envelope() {
        let id = Uuid::now_v7();
        let owner = Uuid::now_v7();
        let at = time::OffsetDateTime::now_utc();
        let meta = EventMetadata::default();
        let envelopes = [
            EventEnvelope::wrap(
                &WebhookCreated {
                    webhook_id: id,
                    owner_id: owner,
                    events: vec!["*".into()],
                    is_active: true,
                },
                &meta,
                at,
            ),
            EventEnvelope::wrap(
                &WebhookTest {
                    webhook_id: id,
                    message: "hello".into(),
                },
                &meta,
                at,
            ),
        ];
        for envelope in envelopes {
            let envelope = envelope.unwrap();
            assert_eq!(envelope.aggregate_type, "webhook");
            assert_eq!(envelope.aggregate_id, id.to_string());
        }
    }
}
