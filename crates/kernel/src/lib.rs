//! Shared kernel of Hub Chantier: what every bounded context agrees on.
//!
//! It owns the domain-event contract ([`DomainEvent`], [`EventEnvelope`]), the
//! event bus ports ([`EventBus`], [`EventHandler`]), topic patterns
//! ([`TopicPattern`]), the acting user ([`Actor`], [`Role`]), the [`Clock`]
//! port, the validation error shape and the one shape of a use case
//! ([`use_cases!`]). It does no I/O and depends on no
//! framework, so domain crates can use it freely.

mod actor;
mod bus;
mod catalog;
mod changes;
mod clock;
mod context;
mod envelope;
mod storage;
mod text;
mod topic;
mod use_case;
mod validation;

pub use actor::{Actor, Role, UnknownRole};
pub use bus::{BusError, EventBus, EventHandler, HandlerError, PublishReport, SubscriptionId};
pub use catalog::{DuplicateEventType, EventCatalog, EventTypeInfo};
pub use changes::{Change, Changes};
pub use clock::{Clock, FixedClock, SystemClock};
pub use context::{CommandContext, Page, VersionMismatch};
pub use envelope::{
    DomainEvent, EnvelopeError, EventEnvelope, EventMetadata, EventType, to_storage_precision,
};
pub use storage::StorageError;
pub use text::{Email, Lines, TextError, bounded_text, optional_text};
pub use topic::{EVENT_TYPE_PATTERN, MAX_TOPIC_LEN, TopicError, TopicPattern};
pub use validation::{FieldError, ValidationErrors};

#[cfg(any(test, feature = "mocks"))]
pub use bus::{MockEventBus, MockEventHandler};
#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
