//! The `changes` object of `*.updated` events: `{field: {"old": …, "new": …}}`
//! holding only the fields that changed.

use std::collections::BTreeMap;

use serde::Serialize;

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

/// The fields an update changed, in a stable (alphabetical) order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Changes(BTreeMap<&'static str, Change>);

impl schemars::JsonSchema for Changes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Changes".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "Only the fields that changed: {field: {\"old\": …, \"new\": …}}",
            "additionalProperties": {
                "type": "object",
                "required": ["old", "new"],
                "properties": { "old": {}, "new": {} }
            }
        })
    }
}

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` when `old` and `new` differ; equal values are skipped.
    pub fn record<T: Serialize + PartialEq>(&mut self, field: &'static str, old: &T, new: &T) {
        if old == new {
            return;
        }
        // Plain domain values always serialise; a failure would be a bug in a
        // Serialize impl, and recording null keeps the event publishable.
        let to_json = |v: &T| serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
        self.0.insert(
            field,
            Change {
                old: to_json(old),
                new: to_json(new),
            },
        );
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn get(&self, field: &str) -> Option<&Change> {
        self.0.get(field)
    }

    pub fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_differing_fields_are_recorded_as_old_and_new() {
        let mut changes = Changes::new();
        changes.record("nom", &"Tour A", &"Tour B");
        changes.record("adresse", &"1 rue", &"1 rue");
        changes.record("heures", &Some(10), &None::<i32>);
        assert!(changes.contains("nom"));
        assert!(!changes.contains("adresse"));
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            serde_json::json!({
                "heures": {"old": 10, "new": null},
                "nom": {"old": "Tour A", "new": "Tour B"}
            })
        );
        assert!(Changes::new().is_empty());
    }
}
