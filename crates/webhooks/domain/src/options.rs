//! What a webhook receives beyond its event patterns, and in which order:
//! the chantiers it is limited to ([`ChantierIds`]), equality conditions on
//! the events' `data` ([`DataFilters`], checked against the catalog's JSON
//! Schemas) and per-aggregate ordering ([`DeliveryOrdering`]).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The chantiers a webhook is limited to: only events whose
/// `data.chantier_id` is listed reach it. 1 to [`ChantierIds::MAX`]
/// distinct ids (a repeated id is kept once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChantierIds(Vec<Uuid>);

/// Why a list of chantiers was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChantierIdsError {
    /// An empty list would select nothing: `null` means every chantier.
    #[error("must list at least one chantier (null: every chantier)")]
    Empty,
    #[error("must list at most {0} chantiers")]
    TooMany(usize),
}

impl ChantierIdsError {
    /// Stable machine-readable code, for field errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooMany(_) => "too_many",
        }
    }
}

impl ChantierIds {
    pub const MAX: usize = 100;

    pub fn parse(ids: &[Uuid]) -> Result<Self, ChantierIdsError> {
        let mut unique: Vec<Uuid> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        match unique.len() {
            0 => Err(ChantierIdsError::Empty),
            n if n > Self::MAX => Err(ChantierIdsError::TooMany(Self::MAX)),
            _ => Ok(Self(unique)),
        }
    }

    pub fn ids(&self) -> &[Uuid] {
        &self.0
    }
}

/// Why one condition of [`DataFilters`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("is not a `data` field of {0} (GET /api/v1/event-types lists each type's fields)")]
    UnknownField(String),
    #[error("must be a string, a number, a boolean or null")]
    NotScalar,
    #[error("has the wrong JSON type for {0}")]
    WrongType(String),
    #[error("is not a value {0} can have")]
    NotAllowed(String),
}

impl FilterError {
    /// Stable machine-readable code, for field errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownField(_) => "unknown_field",
            Self::NotScalar => "not_scalar",
            Self::WrongType(_) => "wrong_type",
            Self::NotAllowed(_) => "not_allowed",
        }
    }
}

/// Everything wrong with submitted filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataFiltersError {
    TooMany(usize),
    /// `(field, what is wrong with its condition)`, in field order.
    Conditions(Vec<(String, FilterError)>),
}

/// Equality conditions on top-level `data` fields, all of which an event
/// must meet to be delivered: `{"statut": "valide"}` selects events whose
/// `data.statut` is `"valide"`. Values are strings, numbers, booleans or
/// null (a field that is `null`); empty means no condition. Checked against
/// the JSON Schema of every event type the webhook's patterns select: each
/// field must be one of each type's `data` fields, each value of a type
/// (and among the values) the field may have. Applied as JSON containment
/// (`data @> filters`) when events are fanned out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataFilters(Map<String, Value>);

impl DataFilters {
    pub const MAX: usize = 20;

    /// Checks `raw` against `schemas`: `(event type, its data schema)` for
    /// every type the patterns select.
    pub fn parse(
        raw: &Map<String, Value>,
        schemas: &[(&str, &Value)],
    ) -> Result<Self, DataFiltersError> {
        if raw.len() > Self::MAX {
            return Err(DataFiltersError::TooMany(Self::MAX));
        }
        let mut errors = Vec::new();
        for (field, value) in raw {
            if value.is_object() || value.is_array() {
                errors.push((field.clone(), FilterError::NotScalar));
                continue;
            }
            for (event_type, schema) in schemas {
                let Some(property) = schema.get("properties").and_then(|p| p.get(field)) else {
                    errors.push((
                        field.clone(),
                        FilterError::UnknownField((*event_type).to_owned()),
                    ));
                    break;
                };
                if !accepts(property, value) {
                    let error = if kinds(property).iter().any(|k| kind_matches(k, value)) {
                        FilterError::NotAllowed((*event_type).to_owned())
                    } else {
                        FilterError::WrongType((*event_type).to_owned())
                    };
                    errors.push((field.clone(), error));
                    break;
                }
            }
        }
        if errors.is_empty() {
            Ok(Self(raw.clone()))
        } else {
            Err(DataFiltersError::Conditions(errors))
        }
    }

    /// Rebuilds stored filters (repositories only): the catalog is not
    /// consulted again; only their shape is checked.
    pub fn restore(stored: Value) -> Option<Self> {
        match stored {
            Value::Object(map) if map.values().all(|v| !v.is_object() && !v.is_array()) => {
                Some(Self(map))
            }
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn conditions(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The conditions as one JSON object.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

/// Whether `value` is one a property of schema `schema` may have (`const`,
/// `enum`, `oneOf`/`anyOf`, `type` as schemars writes them; a schema
/// saying nothing accepts anything).
fn accepts(schema: &Value, value: &Value) -> bool {
    if let Some(constant) = schema.get("const") {
        return same(constant, value);
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().any(|v| same(v, value));
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema.get(combinator).and_then(Value::as_array) {
            return alternatives.iter().any(|s| accepts(s, value));
        }
    }
    match schema.get("type") {
        Some(Value::String(kind)) => kind_matches(kind, value),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .any(|k| kind_matches(k, value)),
        _ => true,
    }
}

/// Equality as the containment test sees it (numbers by value).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The JSON types a property may have, however its schema says it.
fn kinds(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(constant) = schema.get("const") {
        out.push(kind_of(constant).to_owned());
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        out.extend(values.iter().map(|v| kind_of(v).to_owned()));
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema.get(combinator).and_then(Value::as_array) {
            out.extend(alternatives.iter().flat_map(kinds));
        }
    }
    match schema.get("type") {
        Some(Value::String(kind)) => out.push(kind.clone()),
        Some(Value::Array(list)) => {
            out.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        _ => {}
    }
    out
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn kind_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        "number" => value.is_number(),
        other => kind_of(value) == other,
    }
}

/// In which order a webhook's deliveries go out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeliveryOrdering {
    /// As soon as each is due, concurrently (the default).
    #[default]
    #[serde(rename = "none")]
    Unordered,
    /// One event of an aggregate at a time, in the order they occurred: an
    /// event is not sent while an earlier one of the same aggregate to the
    /// same webhook is pending or being retried.
    #[serde(rename = "aggregate")]
    Aggregate,
}

impl DeliveryOrdering {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unordered => "none",
            Self::Aggregate => "aggregate",
        }
    }
}

impl fmt::Display for DeliveryOrdering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DeliveryOrdering {
    type Err = UnknownOrdering;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::Unordered),
            "aggregate" => Ok(Self::Aggregate),
            _ => Err(UnknownOrdering),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown ordering (expected `none` or `aggregate`)")]
pub struct UnknownOrdering;

/// What a webhook receives beyond its patterns, and in which order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// `None`: every chantier (and events without one).
    pub chantier_ids: Option<ChantierIds>,
    pub filters: DataFilters,
    pub ordering: DeliveryOrdering,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "chantier_id": {"type": "string", "format": "uuid"},
            "statut": {"type": "string", "enum": ["brouillon", "valide"]},
            "minutes": {"type": "integer"},
            "signe": {"type": "boolean"},
            "motif": {"type": ["string", "null"]},
            "niveau": {"oneOf": [{"const": "a"}, {"const": "b"}]},
            "libre": {}
        }})
    }

    fn filters(raw: Value) -> Result<DataFilters, DataFiltersError> {
        let schema = schema();
        DataFilters::parse(raw.as_object().unwrap(), &[("heures.created", &schema)])
    }

    fn codes(raw: Value) -> Vec<(String, &'static str)> {
        match filters(raw) {
            Err(DataFiltersError::Conditions(list)) => {
                let mut codes: Vec<_> = list.into_iter().map(|(f, e)| (f, e.code())).collect();
                codes.sort();
                codes
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn conditions_of_the_right_type_and_values_are_accepted() {
        let ok = filters(json!({"statut": "valide", "minutes": 90, "signe": false,
                                "motif": null, "niveau": "b", "libre": 1.5}))
        .unwrap();
        assert_eq!(ok.conditions().len(), 6);
        assert!(filters(json!({})).unwrap().is_empty());
    }

    #[test]
    fn unknown_fields_wrong_types_values_and_shapes_are_refused_with_stable_codes() {
        assert_eq!(
            codes(
                json!({"statu": "valide", "minutes": "90", "statut": "perdu",
                         "signe": {"a": 1}, "niveau": "z", "motif": 3})
            ),
            [
                ("minutes".to_owned(), "wrong_type"),
                ("motif".to_owned(), "wrong_type"),
                ("niveau".to_owned(), "not_allowed"),
                ("signe".to_owned(), "not_scalar"),
                ("statu".to_owned(), "unknown_field"),
                ("statut".to_owned(), "not_allowed"),
            ]
        );
        assert_eq!(
            codes(json!({"minutes": 1.5})),
            [("minutes".to_owned(), "wrong_type")]
        );
    }

    #[test]
    fn a_field_must_exist_in_every_selected_type() {
        let with = schema();
        let without = json!({"type": "object", "properties": {"user_id": {"type": "string"}}});
        let raw = json!({"statut": "valide"});
        let error = DataFilters::parse(
            raw.as_object().unwrap(),
            &[("heures.created", &with), ("user.created", &without)],
        )
        .unwrap_err();
        assert_eq!(
            error,
            DataFiltersError::Conditions(vec![(
                "statut".into(),
                FilterError::UnknownField("user.created".into())
            )])
        );
    }

    #[test]
    fn at_most_twenty_conditions() {
        let many: Map<String, Value> = (0..21).map(|i| (format!("f{i}"), json!(1))).collect();
        assert_eq!(
            DataFilters::parse(&many, &[]),
            Err(DataFiltersError::TooMany(20))
        );
    }

    #[test]
    fn chantier_lists_are_deduplicated_and_bounded() {
        let a = Uuid::now_v7();
        assert_eq!(ChantierIds::parse(&[a, a]).unwrap().ids(), [a]);
        assert_eq!(ChantierIds::parse(&[]), Err(ChantierIdsError::Empty));
        let many: Vec<Uuid> = (0..101).map(|_| Uuid::now_v7()).collect();
        assert_eq!(
            ChantierIds::parse(&many),
            Err(ChantierIdsError::TooMany(100))
        );
    }

    #[test]
    fn ordering_reads_and_writes_its_two_names() {
        for ordering in [DeliveryOrdering::Unordered, DeliveryOrdering::Aggregate] {
            assert_eq!(ordering.as_str().parse::<DeliveryOrdering>(), Ok(ordering));
            assert_eq!(
                serde_json::to_value(ordering).unwrap(),
                json!(ordering.as_str())
            );
        }
        assert_eq!(DeliveryOrdering::default(), DeliveryOrdering::Unordered);
        assert!("fifo".parse::<DeliveryOrdering>().is_err());
    }
}
