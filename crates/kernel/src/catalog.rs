//! The event catalog: every event type a context publishes, with a JSON
//! Schema of its `data`. Each context's domain lists its own; the app merges
//! them and the webhooks context reads the result through a port.

use schemars::JsonSchema;
use serde::Serialize;

/// One event type of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventTypeInfo {
    pub event_type: &'static str,
    pub aggregate_type: &'static str,
    pub description: &'static str,
    pub schema_version: u32,
    /// JSON Schema (draft 2020-12) of the `data` object.
    pub data_schema: serde_json::Value,
}

impl EventTypeInfo {
    /// The `data` of an example event of this type: the first `examples`
    /// entry of its schema (`events-doc` refuses a type without one).
    pub fn example_data(&self) -> Option<&serde_json::Value> {
        self.data_schema
            .get("examples")
            .and_then(serde_json::Value::as_array)
            .and_then(|examples| examples.first())
    }

    /// Describes the event whose `data` is the serialised form of `E`.
    pub fn of<E: JsonSchema>(
        event_type: &'static str,
        aggregate_type: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            event_type,
            aggregate_type,
            description,
            schema_version: 1,
            // Inlined: consumers read one self-contained schema per type.
            data_schema: schemars::generate::SchemaSettings::draft2020_12()
                .with(|settings| settings.inline_subschemas = true)
                .into_generator()
                .into_root_schema_for::<E>()
                .to_value(),
        }
    }
}

/// Two contexts declared the same event type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event type `{0}` is declared twice in the catalog")]
pub struct DuplicateEventType(pub String);

/// Every event type the application can publish: the contexts' lists merged
/// in order, each type once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventCatalog {
    types: Vec<EventTypeInfo>,
}

impl EventCatalog {
    /// Merges the lists of each context (`hub_<context>_domain::event_catalog()`).
    pub fn new(
        sources: impl IntoIterator<Item = Vec<EventTypeInfo>>,
    ) -> Result<Self, DuplicateEventType> {
        let mut types: Vec<EventTypeInfo> = Vec::new();
        for info in sources.into_iter().flatten() {
            if types
                .iter()
                .any(|known| known.event_type == info.event_type)
            {
                return Err(DuplicateEventType(info.event_type.to_owned()));
            }
            types.push(info);
        }
        Ok(Self { types })
    }

    pub fn types(&self) -> &[EventTypeInfo] {
        &self.types
    }

    /// One type, by name.
    pub fn get(&self, event_type: &str) -> Option<&EventTypeInfo> {
        self.types.iter().find(|info| info.event_type == event_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Sample {
        chantier_id: uuid::Uuid,
        nom: String,
    }

    #[test]
    fn schema_describes_the_data_fields() {
        let info =
            EventTypeInfo::of::<Sample>("chantier.created", "chantier", "A site was created");
        let properties = &info.data_schema["properties"];
        assert_eq!(properties["chantier_id"]["format"], "uuid");
        assert_eq!(properties["nom"]["type"], "string");
        assert_eq!(
            info.data_schema["required"],
            serde_json::json!(["chantier_id", "nom"])
        );
    }

    #[test]
    fn the_catalog_merges_in_order_and_refuses_duplicates() {
        let one = || {
            vec![EventTypeInfo::of::<Sample>(
                "chantier.created",
                "chantier",
                "created",
            )]
        };
        let two = vec![EventTypeInfo::of::<Sample>(
            "chantier.deleted",
            "chantier",
            "deleted",
        )];
        let catalog = EventCatalog::new([one(), two]).unwrap();
        let names: Vec<&str> = catalog.types().iter().map(|t| t.event_type).collect();
        assert_eq!(names, ["chantier.created", "chantier.deleted"]);
        assert_eq!(
            catalog.get("chantier.deleted").unwrap().description,
            "deleted"
        );
        assert!(catalog.get("chantier.updated").is_none());
        assert_eq!(
            EventCatalog::new([one(), one()]).unwrap_err(),
            DuplicateEventType("chantier.created".into())
        );
    }
}
