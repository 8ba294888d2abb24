//! The event catalog page: the committed `docs/EVENTS.md` is the one the
//! code generates, every type is documented field by field, and every
//! example is valid against its type's schema, so the page cannot drift
//! from what receivers get.

use std::path::PathBuf;
use std::process::Command;

use hub_chantier::events_doc::{self, example_body, example_data, field_rows};
use hub_kernel::EventTypeInfo;
use serde_json::Value;

fn catalog() -> Vec<EventTypeInfo> {
    hub_chantier::event_catalog().unwrap().types().to_vec()
}

fn committed_page() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/EVENTS.md");
    std::fs::read_to_string(path).ok()
}

/// `schema` made strict: no property beyond those it declares, at any
/// depth. Examples are checked against this, so an example cannot carry a
/// field the event does not have (the served schemas stay open, since
/// adding a field is a compatible change).
fn strict(schema: &Value) -> Value {
    let mut schema = schema.clone();
    close_objects(&mut schema);
    schema
}

fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (key, value) in map.iter_mut() {
                // `examples` are instances, not schemas.
                if key != "examples" {
                    close_objects(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// The errors of `instance` against the strict form of `schema`, formats
/// (uuid, date…) checked.
fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&strict(schema))
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|error| format!("{} at `{}`", error, error.instance_path()))
        .collect()
}

#[test]
fn the_committed_event_catalog_page_is_the_generated_one() {
    let generated = events_doc::document().unwrap();
    let committed = committed_page();
    assert!(
        committed.as_deref().map(str::trim_end) == Some(generated.trim_end()),
        "docs/EVENTS.md is {}: run `make events-doc` and commit the result",
        if committed.is_some() {
            "stale"
        } else {
            "missing"
        }
    );
}

#[test]
fn the_events_doc_command_prints_the_page() {
    let output = Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
        .arg("events-doc")
        // The page needs no configuration, no database.
        .env_clear()
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        events_doc::document().unwrap()
    );
}

#[test]
fn every_event_type_has_an_example_valid_against_its_schema() {
    let mut problems = Vec::new();
    for info in catalog() {
        if let Err(error) = jsonschema::meta::validate(&info.data_schema) {
            problems.push(format!(
                "{}: schema is not valid JSON Schema: {error}",
                info.event_type
            ));
        }
        match example_data(&info) {
            Err(error) => problems.push(error.to_string()),
            Ok(example) => {
                for violation in violations(&info.data_schema, example) {
                    problems.push(format!("{}: example {violation}", info.event_type));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_example_check_refuses_what_the_schema_does_not_allow() {
    let info = catalog()
        .into_iter()
        .find(|info| info.event_type == "chantier.statut_changed")
        .unwrap();
    let valid = serde_json::json!({
        "chantier_id": "0193a5e2-7c40-7d31-9a4b-2f6e8c0d1e99",
        "code": "CH-2026-014",
        "nom": "Résidence Les Tilleuls",
        "adresse": "12 rue des Tilleuls, 69003 Lyon",
        "statut": "en_cours",
        "conducteur_ids": ["0192f0a1-3c5e-7b21-9c3e-5f7a8b9c0d2e"],
        "chef_chantier_ids": [],
        "ancien_statut": "ouvert",
        "nouveau_statut": "en_cours"
    });
    assert_eq!(violations(&info.data_schema, &valid), Vec::<String>::new());

    let mut unknown_statut = valid.clone();
    unknown_statut["nouveau_statut"] = "demoli".into();
    let mut missing_field = valid.clone();
    missing_field.as_object_mut().unwrap().remove("nom");
    let mut extra_field = valid.clone();
    extra_field["surface_m2"] = 1200.into();
    let mut not_a_uuid = valid.clone();
    not_a_uuid["chantier_id"] = "42".into();
    let mut wrong_type = valid;
    wrong_type["conducteur_ids"] = "0192f0a1-3c5e-7b21-9c3e-5f7a8b9c0d2e".into();
    for (case, example) in [
        ("unknown statut", unknown_statut),
        ("missing field", missing_field),
        ("extra field", extra_field),
        ("id not a uuid", not_a_uuid),
        ("string for an array", wrong_type),
    ] {
        assert!(
            !violations(&info.data_schema, &example).is_empty(),
            "{case} passed the example check"
        );
    }
}

#[test]
fn every_data_field_has_a_description() {
    let mut undescribed = Vec::new();
    for info in catalog() {
        for row in field_rows(&info.data_schema) {
            if row.description.trim().is_empty() {
                undescribed.push(format!("{}: {}", info.event_type, row.name));
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "give these event struct fields a doc comment: {undescribed:#?}"
    );
}

#[test]
fn each_example_is_the_webhook_body_of_its_type() {
    let page = events_doc::document().unwrap();
    for (position, info) in catalog().iter().enumerate() {
        let body_text = example_body(info, position).unwrap();
        // Members in the order of the delivery body (`docs/WEBHOOKS.md`).
        let top_level: Vec<&str> = body_text
            .lines()
            .filter_map(|line| line.strip_prefix("  \""))
            .filter_map(|line| line.split('"').next())
            .collect();
        assert_eq!(
            top_level,
            [
                "event_id",
                "event_type",
                "timestamp",
                "aggregate_type",
                "aggregate_id",
                "actor_id",
                "data"
            ],
            "{}",
            info.event_type
        );
        let body: Value = serde_json::from_str(&body_text).unwrap();
        assert_eq!(body["event_type"], info.event_type);
        assert_eq!(body["aggregate_type"], info.aggregate_type);
        let id_field = format!("{}_id", info.aggregate_type);
        assert_eq!(
            body["aggregate_id"], body["data"][&id_field],
            "{}",
            info.event_type
        );
        assert_eq!(&body["data"], example_data(info).unwrap());
        assert!(
            page.contains(&format!("\n### {}\n", info.event_type)),
            "{} has no section",
            info.event_type
        );
        assert!(page.contains(&body_text), "{}", info.event_type);
    }
}

#[test]
fn examples_tell_one_consistent_story() {
    let actor = events_doc::EXAMPLE_ACTOR_ID.to_string();
    for info in catalog() {
        let data = example_data(&info).unwrap();
        // The page says the actor of every example is this administrator.
        for field in ["owner_id", "deactivated_by"] {
            if let Some(value) = data.get(field) {
                assert_eq!(value, &actor, "{}: {field}", info.event_type);
            }
        }
        if info.event_type == "webhook.test" {
            assert_eq!(data["message"], hub_webhooks_application::TEST_MESSAGE);
        }
    }
}
