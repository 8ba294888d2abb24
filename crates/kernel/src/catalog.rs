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
}
