//! Domain events and the uniform envelope they travel in.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::topic::{TopicError, validate_event_type};

/// A validated event type name such as `chantier.statut_changed`.
///
/// Built from a `&'static str` for the catalog's types (no allocation on the
/// publish path) or parsed from stored/received text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType(Cow<'static, str>);

impl EventType {
    /// Parses a type name coming from outside the program.
    pub fn parse(input: impl Into<String>) -> Result<Self, TopicError> {
        let input = input.into();
        validate_event_type(&input)?;
        Ok(Self(Cow::Owned(input)))
    }

    /// A type name known at compile time. Invalid names are refused like
    /// parsed ones, so a typo in a domain crate fails its first test.
    pub fn from_static(name: &'static str) -> Result<Self, TopicError> {
        validate_event_type(name)?;
        Ok(Self(Cow::Borrowed(name)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The aggregate part, `chantier` in `chantier.created`.
    pub fn aggregate(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EventType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(raw).map_err(serde::de::Error::custom)
    }
}

/// A typed event raised by a domain. Each context has its own event types and
/// implements this trait; the payload is the `Serialize` form of the value.
pub trait DomainEvent: Serialize {
    /// `<aggregate>.<action>`, from the catalog (`docs/EVENTS.md`).
    fn event_type(&self) -> &'static str;
    /// What the event is about, e.g. `chantier`.
    fn aggregate_type(&self) -> &'static str;
    /// Identifier of the aggregate instance.
    fn aggregate_id(&self) -> String;
    /// Version of the `data` shape; bumped when a field is renamed or removed.
    fn schema_version(&self) -> u32 {
        1
    }
}

/// Who and what caused an event: copied into its envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventMetadata {
    /// The user who caused it; `None` for the system itself.
    pub actor_id: Option<Uuid>,
    /// The request (or job) that caused it, for tracing across services.
    pub correlation_id: Option<String>,
    /// The event that triggered this one, if any.
    pub causation_id: Option<Uuid>,
}

/// Why a domain event could not be put in an envelope.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("event type `{name}` is invalid: {source}")]
    InvalidType {
        name: &'static str,
        #[source]
        source: TopicError,
    },
    #[error("payload of `{0}` could not be serialised: {1}")]
    Payload(&'static str, #[source] serde_json::Error),
    #[error("payload of `{0}` must serialise to a JSON object")]
    PayloadNotObject(&'static str),
}

/// The uniform envelope of every event (`docs/DESIGN.md` §2). Its JSON form is the
/// contract shared by the outbox, the bus adapters and the event history API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEnvelope {
    /// UUIDv7: unique, time-ordered; the dedup key everywhere (and `webhook-id`).
    pub event_id: Uuid,
    pub event_type: EventType,
    pub aggregate_type: String,
    pub aggregate_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor_id: Option<Uuid>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<Uuid>,
    pub schema_version: u32,
    /// Event-specific fields, always a JSON object.
    pub data: serde_json::Value,
}

impl EventEnvelope {
    /// Wraps a domain event, giving it a fresh UUIDv7 and the time it occurred
    /// (normalised to UTC and truncated to microseconds, the precision the
    /// database keeps, so a stored envelope reads back identical).
    pub fn wrap<E: DomainEvent>(
        event: &E,
        metadata: &EventMetadata,
        occurred_at: OffsetDateTime,
    ) -> Result<Self, EnvelopeError> {
        let name = event.event_type();
        let event_type = EventType::from_static(name)
            .map_err(|source| EnvelopeError::InvalidType { name, source })?;
        let data = serde_json::to_value(event).map_err(|e| EnvelopeError::Payload(name, e))?;
        if !data.is_object() {
            return Err(EnvelopeError::PayloadNotObject(name));
        }
        Ok(Self {
            event_id: Uuid::now_v7(),
            event_type,
            aggregate_type: event.aggregate_type().to_owned(),
            aggregate_id: event.aggregate_id(),
            occurred_at: to_storage_precision(occurred_at),
            actor_id: metadata.actor_id,
            correlation_id: metadata.correlation_id.clone(),
            causation_id: metadata.causation_id,
            schema_version: event.schema_version(),
            data,
        })
    }

    /// Reads a field of `data` as a string (e.g. `chantier_id` for scoping).
    pub fn data_str(&self, field: &str) -> Option<&str> {
        self.data.get(field).and_then(serde_json::Value::as_str)
    }
}

/// UTC with microsecond precision.
pub fn to_storage_precision(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    let micros = at.nanosecond() / 1_000 * 1_000;
    at.replace_nanosecond(micros).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[derive(Serialize)]
    struct ChantierCreated {
        chantier_id: Uuid,
        nom: String,
    }

    impl DomainEvent for ChantierCreated {
        fn event_type(&self) -> &'static str {
            "chantier.created"
        }
        fn aggregate_type(&self) -> &'static str {
            "chantier"
        }
        fn aggregate_id(&self) -> String {
            self.chantier_id.to_string()
        }
    }

    #[derive(Serialize)]
    struct NotAnObject(u32);

    impl DomainEvent for NotAnObject {
        fn event_type(&self) -> &'static str {
            "odd.event"
        }
        fn aggregate_type(&self) -> &'static str {
            "odd"
        }
        fn aggregate_id(&self) -> String {
            self.0.to_string()
        }
    }

    #[derive(Serialize)]
    struct BadName;

    impl DomainEvent for BadName {
        fn event_type(&self) -> &'static str {
            "Chantier.Created"
        }
        fn aggregate_type(&self) -> &'static str {
            "chantier"
        }
        fn aggregate_id(&self) -> String {
            String::new()
        }
    }

    fn metadata() -> EventMetadata {
        EventMetadata {
            actor_id: Some(Uuid::now_v7()),
            correlation_id: Some("req-42".into()),
            causation_id: None,
        }
    }

    #[test]
    fn wrap_fills_every_field_from_the_event_and_metadata() {
        let id = Uuid::now_v7();
        let event = ChantierCreated {
            chantier_id: id,
            nom: "Tour A".into(),
        };
        let meta = metadata();
        let at = datetime!(2026-11-26 10:00:00.123456789 +01:00);
        let envelope = EventEnvelope::wrap(&event, &meta, at).unwrap();

        assert_eq!(envelope.event_id.get_version_num(), 7);
        assert_eq!(envelope.event_type.as_str(), "chantier.created");
        assert_eq!(envelope.event_type.aggregate(), "chantier");
        assert_eq!(envelope.aggregate_type, "chantier");
        assert_eq!(envelope.aggregate_id, id.to_string());
        assert_eq!(
            envelope.occurred_at,
            datetime!(2026-11-26 09:00:00.123456 UTC)
        );
        assert_eq!(envelope.occurred_at.offset(), time::UtcOffset::UTC);
        assert_eq!(envelope.actor_id, meta.actor_id);
        assert_eq!(envelope.correlation_id.as_deref(), Some("req-42"));
        assert_eq!(envelope.schema_version, 1);
        assert_eq!(envelope.data_str("nom"), Some("Tour A"));
        assert_eq!(
            envelope.data_str("chantier_id"),
            Some(id.to_string().as_str())
        );
    }

    #[test]
    fn two_wraps_get_distinct_ordered_ids() {
        let event = ChantierCreated {
            chantier_id: Uuid::nil(),
            nom: String::new(),
        };
        let a = EventEnvelope::wrap(&event, &metadata(), OffsetDateTime::now_utc()).unwrap();
        let b = EventEnvelope::wrap(&event, &metadata(), OffsetDateTime::now_utc()).unwrap();
        assert_ne!(a.event_id, b.event_id);
        assert!(a.event_id < b.event_id);
    }

    #[test]
    fn json_round_trip_is_lossless() {
        let event = ChantierCreated {
            chantier_id: Uuid::now_v7(),
            nom: "Écluse Nord".into(),
        };
        let envelope = EventEnvelope::wrap(&event, &metadata(), OffsetDateTime::now_utc()).unwrap();
        let json = serde_json::to_string(&envelope).unwrap();
        let back: EventEnvelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back, envelope);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(value["occurred_at"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn envelope_json_refuses_bad_type_and_unknown_fields() {
        let good = serde_json::to_value(
            EventEnvelope::wrap(
                &ChantierCreated {
                    chantier_id: Uuid::nil(),
                    nom: String::new(),
                },
                &EventMetadata::default(),
                OffsetDateTime::now_utc(),
            )
            .unwrap(),
        )
        .unwrap();
        let mut bad_type = good.clone();
        bad_type["event_type"] = "NOPE".into();
        assert!(serde_json::from_value::<EventEnvelope>(bad_type).is_err());
        let mut extra = good;
        extra["surprise"] = 1.into();
        assert!(serde_json::from_value::<EventEnvelope>(extra).is_err());
    }

    #[test]
    fn payload_must_be_an_object_and_type_valid() {
        let at = OffsetDateTime::now_utc();
        assert!(matches!(
            EventEnvelope::wrap(&NotAnObject(3), &EventMetadata::default(), at),
            Err(EnvelopeError::PayloadNotObject("odd.event"))
        ));
        assert!(matches!(
            EventEnvelope::wrap(&BadName, &EventMetadata::default(), at),
            Err(EnvelopeError::InvalidType { .. })
        ));
    }
}
