//! A prescription's `medicines`: a list of at most 50 `{name, dosage, frequency, duration,
//! instructions}`. Read from the raw JSON so that every problem is reported on the `medicines`
//! field, item by item ("Item 2: name is required."), as a client shows DRF's field lists.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::errors::FieldErrors;

pub const MEDICINES_MAX: usize = 50;
pub const NAME_MAX: usize = 200;
pub const MEDICINE_TEXT_MAX: usize = 500;

const FIELD: &str = "medicines";

/// One medicine of a prescription. Fields other than these five are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PrescribedMedicine)]
pub struct Medicine {
    #[schema(max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub dosage: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub frequency: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub duration: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub instructions: String,
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// One text of item `n` (1-based), trimmed; `None` (and a message) when it is not acceptable.
fn item_text(errors: &mut FieldErrors, n: usize, key: &str, value: Option<&Value>, max: usize) -> Option<String> {
    let text = match value {
        None | Some(Value::Null) if key == "name" => {
            errors.add(FIELD, format!("Item {n}: name is required."));
            return None;
        }
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(_) => {
            errors.add(FIELD, format!("Item {n}: {key} must be a string."));
            return None;
        }
    };
    if key == "name" && text.is_empty() {
        errors.add(FIELD, format!("Item {n}: name may not be blank."));
        return None;
    }
    if text.chars().count() > max {
        errors.add(FIELD, format!("Item {n}: {key} may not be longer than {max} characters."));
        return None;
    }
    Some(text)
}

fn item(errors: &mut FieldErrors, n: usize, value: &Value) -> Option<Medicine> {
    let Value::Object(fields) = value else {
        errors.add(FIELD, format!("Item {n}: expected an object of name, dosage, frequency, duration, instructions."));
        return None;
    };
    let before = errors.fields().get(FIELD).map_or(0, Vec::len);
    for key in fields.keys() {
        if !["name", "dosage", "frequency", "duration", "instructions"].contains(&key.as_str()) {
            let shown: String = key.chars().take(50).collect();
            errors.add(FIELD, format!("Item {n}: unknown field \"{shown}\"."));
        }
    }
    let mut get = |key: &str, max| item_text(errors, n, key, fields.get(key), max);
    let medicine = Medicine {
        name: get("name", NAME_MAX).unwrap_or_default(),
        dosage: get("dosage", MEDICINE_TEXT_MAX).unwrap_or_default(),
        frequency: get("frequency", MEDICINE_TEXT_MAX).unwrap_or_default(),
        duration: get("duration", MEDICINE_TEXT_MAX).unwrap_or_default(),
        instructions: get("instructions", MEDICINE_TEXT_MAX).unwrap_or_default(),
    };
    let after = errors.fields().get(FIELD).map_or(0, Vec::len);
    (after == before).then_some(medicine)
}

/// The list, when given (`null` is an empty list); `None` when absent or refused (the messages
/// are in `errors`).
pub(super) fn parse(errors: &mut FieldErrors, raw: Option<Value>) -> Option<Vec<Medicine>> {
    let items = match raw? {
        Value::Null => return Some(Vec::new()),
        Value::Array(items) => items,
        other => {
            errors.add(FIELD, format!("Expected a list of items but got type \"{}\".", kind(&other)));
            return None;
        }
    };
    if items.len() > MEDICINES_MAX {
        errors.add(FIELD, format!("Ensure this field has no more than {MEDICINES_MAX} elements."));
        return None;
    }
    let parsed: Vec<Option<Medicine>> = items.iter().enumerate().map(|(i, v)| item(errors, i + 1, v)).collect();
    parsed.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(raw: Value) -> Vec<String> {
        let mut errors = FieldErrors::new();
        assert!(parse(&mut errors, Some(raw)).is_none());
        errors.fields()[FIELD].clone()
    }

    #[test]
    fn a_list_of_known_fields_is_read_trimmed_with_defaults() {
        let mut errors = FieldErrors::new();
        let list = parse(&mut errors, Some(json!([{ "name": " Amoxicillin ", "dosage": "250mg", "duration": null }])));
        assert!(errors.is_empty());
        let expected = Medicine { name: "Amoxicillin".into(), dosage: "250mg".into(), ..Medicine::default() };
        assert_eq!(list, Some(vec![expected]));
        assert_eq!(parse(&mut errors, Some(Value::Null)), Some(vec![]));
        assert_eq!(parse(&mut errors, None), None);
    }

    #[test]
    fn every_problem_is_named_by_its_item() {
        let got =
            messages(json!([{ "name": "A" }, { "dosage": "1" }, { "name": "B", "colour": "red", "duration": 5 }, 3]));
        assert_eq!(
            got,
            [
                "Item 2: name is required.",
                "Item 3: unknown field \"colour\".",
                "Item 3: duration must be a string.",
                "Item 4: expected an object of name, dosage, frequency, duration, instructions.",
            ]
        );
    }

    #[test]
    fn lists_and_texts_are_bounded() {
        assert_eq!(messages(json!("Paracetamol")), ["Expected a list of items but got type \"str\"."]);
        let many: Vec<Value> = (0..=MEDICINES_MAX).map(|i| json!({ "name": format!("m{i}") })).collect();
        assert_eq!(messages(Value::Array(many)), ["Ensure this field has no more than 50 elements."]);
        let long = json!([{ "name": "x".repeat(NAME_MAX + 1) }, { "name": " " }]);
        assert_eq!(
            messages(long),
            ["Item 1: name may not be longer than 200 characters.", "Item 2: name may not be blank."]
        );
    }
}
