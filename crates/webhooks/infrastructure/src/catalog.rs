//! The event catalog the app assembles from every context's own list
//! (`hub_kernel::EventCatalog`), behind this context's port.

use hub_kernel::EventTypeInfo;
use hub_webhooks_application::EventCatalog;

/// [`EventCatalog`] over the app's merged catalog, in its order.
#[derive(Debug, Clone)]
pub struct StaticEventCatalog {
    types: Vec<EventTypeInfo>,
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
    fn serves_the_merged_catalog_in_order() {
        let merged = hub_kernel::EventCatalog::new([hub_webhooks_domain::event_catalog()]).unwrap();
        let catalog = StaticEventCatalog::from(&merged);
        assert_eq!(catalog.event_types(), merged.types());
        assert_eq!(catalog.event_types()[0].event_type, "webhook.test");
    }
}
