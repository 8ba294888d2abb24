//! What a use case knows about the request that runs it.

use crate::{Actor, Clock, DomainEvent, EnvelopeError, EventEnvelope, EventMetadata};

/// The acting user and the request's correlation id, passed to every
/// command so the events it raises say who and which request caused them;
/// and the version of the aggregate the caller last saw, when he made his
/// change conditional on it (HTTP `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    /// `None` for the system itself (CLI bootstrap, scheduled jobs).
    pub actor: Option<Actor>,
    pub correlation_id: Option<String>,
    /// The versions the change may apply to; `None`: any.
    pub expected_versions: Option<Vec<i64>>,
}

/// A conditional change met another version of its aggregate than the
/// caller expected: someone changed it since he read it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the resource is at version {current}, not at the one the request expects")]
pub struct VersionMismatch {
    pub current: i64,
}

impl CommandContext {
    pub fn user(actor: Actor, correlation_id: impl Into<Option<String>>) -> Self {
        Self {
            actor: Some(actor),
            correlation_id: correlation_id.into(),
            expected_versions: None,
        }
    }

    pub fn system(correlation_id: impl Into<Option<String>>) -> Self {
        Self {
            actor: None,
            correlation_id: correlation_id.into(),
            expected_versions: None,
        }
    }

    /// The same command, applying only to an aggregate at one of `versions`
    /// (an empty list matches none).
    pub fn expecting(mut self, versions: Option<Vec<i64>>) -> Self {
        self.expected_versions = versions;
        self
    }

    /// Call once the aggregate is loaded, before changing it: refuses when
    /// the caller expected another version than `current`. The repository's
    /// version guard then makes sure nobody changes it in between.
    pub fn check_version(&self, current: i64) -> Result<(), VersionMismatch> {
        match &self.expected_versions {
            Some(versions) if !versions.contains(&current) => Err(VersionMismatch { current }),
            _ => Ok(()),
        }
    }

    /// Metadata for the events of a command (no causing event).
    pub fn metadata(&self) -> EventMetadata {
        EventMetadata {
            actor_id: self.actor.map(|a| a.user_id),
            correlation_id: self.correlation_id.clone(),
            causation_id: None,
        }
    }

    /// Puts an event this command raised in its envelope: the command's
    /// actor and correlation id, occurring now by `clock`.
    pub fn wrap<E: DomainEvent>(
        &self,
        event: &E,
        clock: &dyn Clock,
    ) -> Result<EventEnvelope, EnvelopeError> {
        EventEnvelope::wrap(event, &self.metadata(), clock.now())
    }
}

/// Offset pagination as the API exposes it (`skip`, `limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: u64,
    pub limit: u64,
}

impl Page {
    pub const DEFAULT_LIMIT: u64 = 50;
    pub const MAX_LIMIT: u64 = 100;

    /// A page within bounds: `limit` is clamped to 1..=[`Page::MAX_LIMIT`].
    pub fn new(skip: Option<u64>, limit: Option<u64>) -> Self {
        Self {
            skip: skip.unwrap_or(0),
            limit: limit
                .unwrap_or(Self::DEFAULT_LIMIT)
                .clamp(1, Self::MAX_LIMIT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;
    use uuid::Uuid;

    #[test]
    fn metadata_carries_actor_and_correlation() {
        let actor = Actor {
            user_id: Uuid::now_v7(),
            role: Role::Admin,
        };
        let meta = CommandContext::user(actor, Some("req-9".to_string())).metadata();
        assert_eq!(meta.actor_id, Some(actor.user_id));
        assert_eq!(meta.correlation_id.as_deref(), Some("req-9"));
        assert_eq!(CommandContext::system(None).metadata().actor_id, None);
    }

    #[test]
    fn wrap_gives_the_event_the_commands_actor_correlation_and_time() {
        #[derive(serde::Serialize)]
        struct Opened {
            chantier_id: Uuid,
        }
        impl DomainEvent for Opened {
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
        let actor = Actor {
            user_id: Uuid::now_v7(),
            role: Role::Conducteur,
        };
        let at = time::macros::datetime!(2026-12-02 10:00 UTC);
        let envelope = CommandContext::user(actor, Some("req-3".to_owned()))
            .wrap(
                &Opened {
                    chantier_id: Uuid::nil(),
                },
                &crate::FixedClock(at),
            )
            .unwrap();
        assert_eq!(envelope.actor_id, Some(actor.user_id));
        assert_eq!(envelope.correlation_id.as_deref(), Some("req-3"));
        assert_eq!(envelope.occurred_at, at);
        assert_eq!(envelope.event_type.as_str(), "chantier.created");
    }

    #[test]
    fn a_conditional_command_applies_only_to_an_expected_version() {
        let context = CommandContext::system(None);
        assert_eq!(context.check_version(7), Ok(()));
        let context = context.expecting(Some(vec![3, 4]));
        assert_eq!(context.check_version(4), Ok(()));
        assert_eq!(
            context.check_version(5),
            Err(VersionMismatch { current: 5 })
        );
        let none = CommandContext::system(None).expecting(Some(Vec::new()));
        assert_eq!(none.check_version(1), Err(VersionMismatch { current: 1 }));
    }

    #[test]
    fn page_limits_are_clamped() {
        assert_eq!(Page::new(None, None), Page { skip: 0, limit: 50 });
        assert_eq!(Page::new(Some(5), Some(1000)).limit, 100);
        assert_eq!(Page::new(None, Some(0)).limit, 1);
    }
}
