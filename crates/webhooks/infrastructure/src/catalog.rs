//! The event catalog the app assembles from every context's own list.

use std::collections::HashSet;

use hub_kernel::EventTypeInfo;
use hub_webhooks_application::EventCatalog;

/// Two contexts declared the same event type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event type `{0}` is declared twice in the catalog")]
pub struct DuplicateEventType(pub String);

/// [`EventCatalog`] over fixed lists, in the order given.
#[derive(Debug, Clone)]
pub struct StaticEventCatalog {
    types: Vec<EventTypeInfo>,
}

impl StaticEventCatalog {
    /// Merges the lists of each context (`hub_<context>_domain::event_catalog()`).
    pub fn new(
        sources: impl IntoIterator<Item = Vec<EventTypeInfo>>,
    ) -> Result<Self, DuplicateEventType> {
        let mut seen = HashSet::new();
        let mut types = Vec::new();
        for info in sources.into_iter().flatten() {
            if !seen.insert(info.event_type) {
                return Err(DuplicateEventType(info.event_type.to_owned()));
            }
            types.push(info);
        }
        Ok(Self { types })
    }
}

impl From<&hub_kernel::EventCatalog> for StaticEventCatalog {
    fn from(catalog: &hub_kernel::EventCatalog) -> Self {
        Self {
            types: catalog.types().to_vec(),
        }
    }
}

impl EventCatalog for StaticEventCatalog {
    fn event_types(&self) -> Vec<EventTypeInfo> {
        self.types.clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn merges_sources_in_order_and_refuses_duplicates() {
        let catalog =
            StaticEventCatalog::new([hub_webhooks_domain::event_catalog(), Vec::new()]).unwrap();
        assert_eq!(catalog.event_types().len(), 5);
        assert_eq!(catalog.event_types()[0].event_type, "webhook.test");
        let twice = StaticEventCatalog::new([
            hub_webhooks_domain::event_catalog(),
            hub_webhooks_domain::event_catalog(),
        ]);
        assert_eq!(
            twice.unwrap_err(),
            DuplicateEventType("webhook.test".into())
        );
    }
}
