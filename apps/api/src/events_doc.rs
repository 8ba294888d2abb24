//! `docs/EVENTS.md`, generated from the event catalog (`hub-chantier
//! events-doc`, `make events-doc`): every event type, the fields of its
//! `data` with their JSON types and descriptions, and one example as a
//! webhook receives it.
//!
//! Everything comes from the code: the types and descriptions from each
//! context's `event_catalog()`, the fields from the JSON Schema schemars
//! derives from the event structs (field descriptions are their doc
//! comments), the example from the struct's schemars `example`. The
//! example's body is built by the delivery engine's own
//! [`delivery_payload`], so the page shows the bytes a receiver gets.

use std::fmt::Write as _;

use hub_kernel::DuplicateEventType;
use hub_kernel::{EventEnvelope, EventType, EventTypeInfo, TopicError};
use hub_webhooks_domain::{PayloadError, delivery_payload};
use serde_json::Value;
use time::macros::datetime;
use uuid::Uuid;

/// Why the catalog page could not be generated. Each names the event type
/// to fix, so that `events-doc` (and the test that runs it) says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EventsDocError {
    #[error(transparent)]
    Catalog(#[from] DuplicateEventType),
    #[error("event type `{0}` has no example: give its event struct a `#[schemars(example = …)]`")]
    MissingExample(&'static str),
    #[error("the example of `{event_type}` is not a JSON object with the aggregate id `{field}`")]
    MissingAggregateId {
        event_type: &'static str,
        field: String,
    },
    #[error("event type `{0}` is not a valid event type: {1}")]
    InvalidType(&'static str, #[source] TopicError),
    #[error("the example body of `{0}` cannot be built: {1}")]
    Payload(&'static str, #[source] PayloadError),
}

/// The user who causes every example event: an administrator. Examples in
/// the event structs use the same id where they name the actor (the
/// deactivating admin, a webhook's owner).
pub const EXAMPLE_ACTOR_ID: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7a10_8b2d_4e6f_8a9b_0c1d);

/// `docs/EVENTS.md` for the catalog the server serves.
pub fn document() -> Result<String, EventsDocError> {
    render(crate::event_catalog()?.types())
}

/// The data example of a type: the first `examples` entry of its schema.
pub fn example_data(info: &EventTypeInfo) -> Result<&Value, EventsDocError> {
    info.example_data()
        .ok_or(EventsDocError::MissingExample(info.event_type))
}

/// The webhook request body of the example of `info`, exactly as
/// [`delivery_payload`] builds it (field order included), indented.
/// `position` (the type's rank in the catalog) varies the event id.
pub fn example_body(info: &EventTypeInfo, position: usize) -> Result<String, EventsDocError> {
    let data = example_data(info)?.clone();
    // Every aggregate's id is the `<aggregate>_id` field of its events.
    let id_field = format!("{}_id", info.aggregate_type);
    let aggregate_id = data
        .get(&id_field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| EventsDocError::MissingAggregateId {
            event_type: info.event_type,
            field: id_field.clone(),
        })?;
    let event_type = EventType::from_static(info.event_type)
        .map_err(|e| EventsDocError::InvalidType(info.event_type, e))?;
    let envelope = EventEnvelope {
        // UUIDv7-shaped, fixed so that the page is reproducible.
        event_id: Uuid::from_u128(0x0193_a5e2_7c40_7d31_9a4b_2f6e_8c0d_1e00 + position as u128),
        event_type,
        aggregate_type: info.aggregate_type.to_owned(),
        aggregate_id,
        occurred_at: datetime!(2026-11-26 10:00:00.123456 UTC),
        actor_id: Some(EXAMPLE_ACTOR_ID),
        correlation_id: None,
        causation_id: None,
        schema_version: info.schema_version,
        data,
    };
    let body =
        delivery_payload(&envelope).map_err(|e| EventsDocError::Payload(info.event_type, e))?;
    Ok(indent_json(&body))
}

/// One row of a type's field table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRow {
    /// `name`, or `parent.name` for the fields of a nested object.
    pub name: String,
    /// JSON type, with format, allowed values and nullability.
    pub kind: String,
    pub required: bool,
    pub description: String,
}

/// The fields of a `data` schema, in the schema's (alphabetical) order, the
/// fields of nested objects right after their parent.
pub fn field_rows(schema: &Value) -> Vec<FieldRow> {
    let mut rows = Vec::new();
    collect_rows(schema, "", &mut rows);
    rows
}

fn collect_rows(schema: &Value, prefix: &str, rows: &mut Vec<FieldRow>) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, property) in properties {
        let name = format!("{prefix}{name}");
        rows.push(FieldRow {
            kind: describe_type(property),
            required: required.contains(&&name[prefix.len()..]),
            description: one_line(
                property
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            name: name.clone(),
        });
        collect_rows(property, &format!("{name}."), rows);
    }
}

/// A short human reading of a property's schema: `string (uuid)`,
/// `array of string (uuid)`, `string: one of "a", "b"`, `… or null`.
fn describe_type(schema: &Value) -> String {
    if let Some(value) = schema.get("const") {
        return format!("`{value}`");
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return one_of(values.iter());
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema.get(combinator).and_then(Value::as_array) {
            return describe_alternatives(alternatives);
        }
    }
    let (types, nullable) = match schema.get("type") {
        Some(Value::String(name)) => (vec![name.as_str()], false),
        Some(Value::Array(names)) => {
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            let nullable = names.contains(&"null");
            (
                names.into_iter().filter(|n| *n != "null").collect(),
                nullable,
            )
        }
        _ => (Vec::new(), false),
    };
    let mut kind = match types.as_slice() {
        [] => "any JSON value".to_owned(),
        ["array"] => match schema.get("items") {
            Some(items) => format!("array of {}", describe_type(items)),
            None => "array".to_owned(),
        },
        [single] => match schema.get("format").and_then(Value::as_str) {
            Some(format) => format!("{single} ({format})"),
            None => (*single).to_owned(),
        },
        several => several.join(" or "),
    };
    if nullable {
        kind.push_str(" or null");
    }
    kind
}

fn describe_alternatives(alternatives: &[Value]) -> String {
    let is_null = |s: &Value| s.get("type").and_then(Value::as_str) == Some("null");
    let nullable = alternatives.iter().any(is_null);
    let others: Vec<&Value> = alternatives.iter().filter(|s| !is_null(s)).collect();
    // An enum whose variants carry doc comments: one `const` per variant.
    let mut constants = Vec::new();
    let all_constant = others.iter().all(|s| {
        if let Some(value) = s.get("const") {
            constants.push(value);
            true
        } else if let Some(values) = s.get("enum").and_then(Value::as_array) {
            constants.extend(values);
            true
        } else {
            false
        }
    });
    let mut kind = if all_constant && !constants.is_empty() {
        one_of(constants.into_iter())
    } else {
        others
            .iter()
            .map(|s| describe_type(s))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    if nullable {
        kind.push_str(" or null");
    }
    kind
}

fn one_of<'a>(values: impl Iterator<Item = &'a Value>) -> String {
    let values: Vec<String> = values.map(|v| format!("`{v}`")).collect();
    format!("string: one of {}", values.join(", "))
}

/// Doc comments span lines; a table cell is one line, and `|` would end it.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The page. Types are grouped by aggregate, in the catalog's order.
pub fn render(types: &[EventTypeInfo]) -> Result<String, EventsDocError> {
    let mut aggregates: Vec<(&str, Vec<(usize, &EventTypeInfo)>)> = Vec::new();
    for (position, info) in types.iter().enumerate() {
        match aggregates
            .iter_mut()
            .find(|(aggregate, _)| *aggregate == info.aggregate_type)
        {
            Some((_, list)) => list.push((position, info)),
            None => aggregates.push((info.aggregate_type, vec![(position, info)])),
        }
    }

    let mut page = String::from(INTRO);
    page.push_str("\n## Contents\n\n");
    for (aggregate, list) in &aggregates {
        let links: Vec<String> = list
            .iter()
            .map(|(_, info)| format!("[`{0}`](#{1})", info.event_type, anchor(info.event_type)))
            .collect();
        let _ = writeln!(page, "- `{aggregate}`: {}", links.join(", "));
    }
    for (aggregate, list) in &aggregates {
        let _ = write!(page, "\n## `{aggregate}` events\n");
        for (position, info) in list {
            render_type(&mut page, info, *position)?;
        }
    }
    Ok(page)
}

fn render_type(
    page: &mut String,
    info: &EventTypeInfo,
    position: usize,
) -> Result<(), EventsDocError> {
    let _ = write!(
        page,
        "\n### {}\n\n{}\n\n`schema_version`: {}. `aggregate_id`: `data.{}_id`.\n\n",
        info.event_type, info.description, info.schema_version, info.aggregate_type
    );
    page.push_str("| field | type | required | description |\n|---|---|---|---|\n");
    for row in field_rows(&info.data_schema) {
        let _ = writeln!(
            page,
            "| `{}` | {} | {} | {} |",
            row.name,
            row.kind,
            if row.required { "yes" } else { "no" },
            row.description
        );
    }
    let _ = write!(
        page,
        "\nExample (the whole webhook body):\n\n```json\n{}\n```\n",
        example_body(info, position)?
    );
    Ok(())
}

/// GitHub's heading anchor of a bare event type: dots dropped.
fn anchor(event_type: &str) -> String {
    event_type.replace('.', "")
}

/// Indents compact JSON (as serde_json writes it) like
/// `serde_json::to_string_pretty`, keeping the members in their order —
/// re-parsing into a `Value` would sort them, and the order of a delivery
/// body is part of what the page shows.
fn indent_json(compact: &str) -> String {
    fn newline(out: &mut String, depth: usize) {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    }
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                match chars.peek() {
                    // Empty: `{}` / `[]` on one line, as serde_json does.
                    Some(&close @ ('}' | ']')) => {
                        out.push(close);
                        chars.next();
                    }
                    _ => {
                        depth += 1;
                        newline(&mut out, depth);
                    }
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

const INTRO: &str = r#"# Event catalog

<!-- Generated from the code by `hub-chantier events-doc` (`make events-doc`).
Do not edit: change the event structs (crates/*/domain/src/events.rs) and
regenerate; a test fails when this file is stale. -->

Every change of state in Hub Chantier is published as a domain event
(`docs/DESIGN.md` §2). This page lists every event type the server
publishes, the fields of its `data`, and one example as a webhook receives
it. The same catalog, with a JSON Schema (draft 2020-12) of `data` per type,
is served by `GET /api/v1/event-types`; webhooks choose types with topic
patterns (`docs/WEBHOOKS.md`). Types planned for the contexts not built yet
are listed in `docs/DESIGN.md` §2.

## The envelope

Each webhook request's body is one event, with these fields in this order
(`docs/WEBHOOKS.md`, "The request"):

| field | type | meaning |
|---|---|---|
| `event_id` | string (uuid) | UUIDv7, unique; also the `webhook-id` header, the same at every attempt: deduplicate on it |
| `event_type` | string | `<aggregate>.<action>`, one of the types below |
| `timestamp` | string (date-time) | when the event occurred: RFC 3339, UTC, microseconds |
| `aggregate_type` | string | what the event is about: the part of `event_type` before the dot |
| `aggregate_id` | string | which one: the `<aggregate_type>_id` field of `data` |
| `actor_id` | string (uuid) or null | the user who caused the event; `null` for the system |
| `data` | object | the event's fields, listed below for each type |

The event history (`GET /api/v1/events`, administrators) shows the stored
envelope: the same, with `occurred_at` for `timestamp`, plus
`correlation_id` (the id of the request that caused the event),
`causation_id` and `schema_version`.

## Conventions

- Ids are UUID strings. Dates are `YYYY-MM-DD`, times of day `HH:MM`,
  instants RFC 3339 in UTC.
- `changes` (on `*.updated` events) holds only the fields that changed, as
  `{"field": {"old": …, "new": …}}`, each value written as the event
  writes that field; the event's other fields give the state after the
  change.
- Every event about something that belongs to a site carries `chantier_id`:
  webhooks of conducteurs receive only the events of their chantiers, and
  events without `chantier_id` (`user.*`, `webhook.*`) reach
  administrators' webhooks only (`docs/WEBHOOKS.md`, "Access scoping").
- `schema_version` is per type. Adding a field is compatible and keeps the
  version: ignore fields you do not know. Renaming or removing a field, or
  changing its type or meaning, bumps the version.
- Events never carry secrets, password material nor a webhook's URL.
- In the tables, fields are in alphabetical order and the fields of a
  nested object follow it as `parent.field`. A required field is always
  present; a field that is not required may be absent or `null`.
- The examples are made up but valid: a test checks each against its
  type's schema. Their actor, `0192f0a1-3c5e-7a10-8b2d-4e6f8a9b0c1d`, is an
  administrator.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indenting_keeps_the_order_and_reads_like_serde_json() {
        let value = serde_json::json!({
            "a": "quote \" brace { colon : comma , bracket ]",
            "b": [],
            "c": {},
            "d": [1, {"e": null, "f": [true, "x\\"]}],
        });
        let compact = serde_json::to_string(&value).unwrap();
        assert_eq!(
            indent_json(&compact),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(
            indent_json(r#"{"z":1,"a":{"y":2,"b":3}}"#),
            "{\n  \"z\": 1,\n  \"a\": {\n    \"y\": 2,\n    \"b\": 3\n  }\n}"
        );
    }

    #[test]
    fn types_read_as_json_types_with_formats_values_and_null() {
        let schema = serde_json::json!({
            "type": "object",
            "required": ["id", "roles"],
            "properties": {
                "id": {"type": "string", "format": "uuid", "description": "The\n  id."},
                "roles": {"type": "array", "items": {"type": "string", "enum": ["admin", "compagnon"]}},
                "by": {"type": ["string", "null"], "format": "uuid"},
                "statut": {"oneOf": [
                    {"type": "string", "const": "ouvert", "description": "Created."},
                    {"type": "string", "enum": ["ferme"]}
                ]},
                "delta": {"type": "object", "required": ["ids"], "properties": {
                    "ids": {"type": "array", "items": {"type": "string", "format": "uuid"}}
                }},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "a | b"}
            }
        });
        let rows: Vec<(String, String, bool, String)> = field_rows(&schema)
            .into_iter()
            .map(|r| (r.name, r.kind, r.required, r.description))
            .collect();
        let row = |name: &str, kind: &str, required: bool, description: &str| {
            (
                name.to_owned(),
                kind.to_owned(),
                required,
                description.to_owned(),
            )
        };
        assert_eq!(
            rows,
            [
                row("by", "string (uuid) or null", false, ""),
                row("delta", "object", false, ""),
                row("delta.ids", "array of string (uuid)", true, ""),
                row("id", "string (uuid)", true, "The id."),
                row("note", "string or null", false, "a \\| b"),
                row(
                    "roles",
                    "array of string: one of `\"admin\"`, `\"compagnon\"`",
                    true,
                    ""
                ),
                row(
                    "statut",
                    "string: one of `\"ouvert\"`, `\"ferme\"`",
                    false,
                    ""
                ),
            ]
        );
    }
}
