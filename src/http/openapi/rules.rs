//! Passes over the generated document (as JSON: utoipa has no `propertyNames`) that state the
//! rules the shared layers enforce on every request: no NUL character in any string or field
//! name (`http::nul`), required text fields not blank, a 404 for a page past the end.

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// The regex (ECMA 262) of a string without a NUL character.
const NO_NUL: &str = "^[^\\u0000]*$";
/// A required text field: not blank (DRF's "This field may not be blank.") and without NUL.
const NOT_BLANK: &str = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$";
/// The component naming any JSON value without a NUL character in a string or a field name:
/// what an object accepts beside its documented fields (they are ignored, but a NUL in them is
/// refused like anywhere else).
const ANY_WITHOUT_NUL: &str = "JsonWithoutNul";

/// States the NUL rule on every request string (parameters and bodies, followed through `$ref`).
pub(super) fn without_nul(document: &mut Value) {
    let any = json!({ "anyOf": [
        { "type": "string", "pattern": NO_NUL },
        { "type": ["number", "boolean", "null"] },
        { "type": "array", "items": { "$ref": format!("#/components/schemas/{ANY_WITHOUT_NUL}") } },
        { "type": "object", "propertyNames": { "pattern": NO_NUL },
          "additionalProperties": { "$ref": format!("#/components/schemas/{ANY_WITHOUT_NUL}") } },
    ]});
    let with_required_fields: BTreeSet<String> = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, schema)| schema.get("required").and_then(Value::as_array).is_some_and(|r| !r.is_empty()))
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect();
    let mut referenced = BTreeSet::new();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                    if let Some(schema) = parameter.get_mut("schema") {
                        tighten(schema, &mut referenced);
                    }
                }
                if let Some(body) = operation.get_mut("requestBody").and_then(Value::as_object_mut) {
                    // An empty body is read as `{}`: only an operation with required fields
                    // refuses it.
                    let schema =
                        body.get("content").and_then(|c| c.get("application/json")).and_then(|m| m.get("schema"));
                    let needs_fields = schema.is_some_and(|schema| {
                        schema.get("$ref").and_then(Value::as_str).is_some_and(|r| with_required_fields.contains(r))
                            || schema.get("required").and_then(Value::as_array).is_some_and(|r| !r.is_empty())
                    });
                    body.insert("required".into(), json!(needs_fields));
                }
                let bodies =
                    operation.get_mut("requestBody").and_then(|b| b.get_mut("content")).and_then(Value::as_object_mut);
                for media in bodies.into_iter().flat_map(|c| c.values_mut()) {
                    if let Some(schema) = media.get_mut("schema") {
                        tighten(schema, &mut referenced);
                    }
                }
            }
        }
    }
    let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    let mut done = BTreeSet::new();
    while let Some(name) = referenced.iter().find(|n| !done.contains(*n)).cloned() {
        done.insert(name.clone());
        if let Some(schema) = schemas.get_mut(&name) {
            tighten(schema, &mut referenced);
        }
    }
    schemas.insert(ANY_WITHOUT_NUL.to_owned(), any);
}

/// One schema: strings get the pattern, objects the rule for their names and undocumented
/// fields, free-form values the NUL-free "anything"; `$ref`s are collected for the caller.
fn tighten(schema: &mut Value, referenced: &mut BTreeSet<String>) {
    let Some(object) = schema.as_object_mut() else { return };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        if let Some(name) = reference.strip_prefix("#/components/schemas/") {
            referenced.insert(name.to_owned());
        }
        return;
    }
    let types: Vec<String> = match object.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let composite = ["allOf", "anyOf", "oneOf"].iter().any(|k| object.contains_key(*k));
    if types.is_empty() && !composite && !object.contains_key("properties") && !object.contains_key("enum") {
        object.insert("$ref".into(), json!(format!("#/components/schemas/{ANY_WITHOUT_NUL}")));
        return;
    }
    if types.iter().any(|t| t == "string") && !object.contains_key("pattern") && !object.contains_key("enum") {
        object.insert("pattern".into(), json!(NO_NUL));
    }
    if types.iter().any(|t| t == "object") || object.contains_key("properties") {
        object.entry("propertyNames").or_insert_with(|| json!({ "pattern": NO_NUL }));
        object
            .entry("additionalProperties")
            .or_insert_with(|| json!({ "$ref": format!("#/components/schemas/{ANY_WITHOUT_NUL}") }));
    }
    let required: BTreeSet<String> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            let is_plain_string = property.get("type") == Some(&json!("string"))
                && property.get("pattern").is_none()
                && property.get("enum").is_none()
                && property.get("format").is_none_or(|f| f == "password");
            if required.contains(name) && is_plain_string {
                property["pattern"] = json!(NOT_BLANK);
            }
            tighten(property, referenced);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get_mut(key) {
            tighten(inner, referenced);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for part in object.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
            tighten(part, referenced);
        }
    }
}

/// A page past the end (or below 1) is DRF's 404 "Invalid page." on every paginated list.
pub(super) fn invalid_pages(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        let paginated = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "page" && p["in"] == "query"));
        if let (true, Some(responses)) = (paginated, operation.get_mut("responses").and_then(Value::as_object_mut)) {
            responses.entry("404").or_insert_with(|| {
                json!({ "description": "Invalid page (`not_found`)", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/ErrorBody" } } } })
            });
        }
    }
}
