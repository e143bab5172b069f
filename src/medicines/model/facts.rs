//! A patient's clinical facts as a recommendation request gives them (`patient_info`), read
//! leniently and normalized so that the same facts make the same cache key.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::normalize;
use crate::errors::FieldErrors;

/// The patient's facts that matter for a recommendation, normalized (lower case, trimmed,
/// sorted, deduplicated) so that the same facts make the same cache key. No names, no ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientFacts {
    pub age: Option<u32>,
    pub gender: Option<String>,
    pub allergies: Vec<String>,
    pub conditions: Vec<String>,
    pub current_medications: Vec<String>,
    pub pregnant: bool,
}

const MAX_ITEMS: usize = 50;
const MAX_TEXT: usize = 100;

fn texts(value: Option<&Value>, field: &str, errors: &mut FieldErrors) -> Vec<String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        // "penicillin, sulfa" as one string, as a form would send it.
        Value::String(_) => vec![value],
        _ => {
            errors.add(&format!("patient_info.{field}"), "Expected a list of strings.");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for item in items {
        let Some(text) = item.as_str() else {
            errors.add(&format!("patient_info.{field}"), "Expected a list of strings.");
            return Vec::new();
        };
        for part in text.split([',', ';']) {
            let part = normalize(part);
            if part.chars().count() > MAX_TEXT {
                errors.add(&format!("patient_info.{field}"), format!("Each item has at most {MAX_TEXT} characters."));
                return Vec::new();
            }
            if !part.is_empty() && !["none", "nil", "no", "n/a", "nka", "nkda"].contains(&part.as_str()) {
                out.push(part);
            }
        }
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_ITEMS {
        errors.add(&format!("patient_info.{field}"), format!("At most {MAX_ITEMS} items."));
    }
    out
}

impl PatientFacts {
    /// Reads the request's `patient_info` object (absent or null: no facts). Conditions come as
    /// `chronic_conditions` or `conditions` (both are read).
    pub fn parse(value: Option<&Value>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(Self::default());
        };
        let Some(info) = value.as_object() else {
            return Err(FieldErrors::single("patient_info", "Expected an object."));
        };
        let age = match info.get("age").filter(|v| !v.is_null()) {
            None => None,
            Some(age) => match age.as_u64().or_else(|| age.as_str().and_then(|s| s.trim().parse().ok())) {
                Some(age) if age <= 130 => u32::try_from(age).ok(),
                _ => {
                    errors.add("patient_info.age", "Enter an age in years between 0 and 130.");
                    None
                }
            },
        };
        let gender = match info.get("gender").and_then(Value::as_str).map(normalize).filter(|g| !g.is_empty()) {
            None => None,
            Some(g) if ["male", "m"].contains(&g.as_str()) => Some("male".to_owned()),
            Some(g) if ["female", "f"].contains(&g.as_str()) => Some("female".to_owned()),
            Some(_) => Some("other".to_owned()),
        };
        let allergies = texts(info.get("allergies"), "allergies", &mut errors);
        let mut conditions = texts(info.get("chronic_conditions"), "chronic_conditions", &mut errors);
        conditions.extend(texts(info.get("conditions"), "conditions", &mut errors));
        conditions.sort();
        conditions.dedup();
        let current_medications = texts(info.get("current_medications"), "current_medications", &mut errors);
        let pregnant = match info.get("pregnant").filter(|v| !v.is_null()) {
            None => conditions.iter().any(|c| c == "pregnancy" || c == "pregnant"),
            Some(Value::Bool(pregnant)) => *pregnant,
            Some(_) => {
                errors.add("patient_info.pregnant", "Must be a valid boolean.");
                false
            }
        };
        errors.into_result()?;
        Ok(Self { age, gender, allergies, conditions, current_medications, pregnant })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn facts_are_normalized_so_the_same_patient_makes_the_same_key() {
        let a = PatientFacts::parse(Some(&json!({
            "age": 40, "allergies": ["Penicillin ", "sulfa"], "chronic_conditions": ["Asthma"],
            "current_medications": "Warfarin, aspirin"
        })))
        .expect("valid");
        let b = PatientFacts::parse(Some(&json!({
            "age": "40", "allergies": ["sulfa", "penicillin", "penicillin"], "conditions": ["asthma"],
            "current_medications": ["aspirin", "warfarin"]
        })))
        .expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.current_medications, ["aspirin", "warfarin"]);
    }

    #[test]
    fn bad_patient_info_names_its_field() {
        let err = PatientFacts::parse(Some(&json!({ "age": -3 }))).expect_err("bad age");
        assert!(err.contains("patient_info.age"));
        let err = PatientFacts::parse(Some(&json!({ "allergies": [1, 2] }))).expect_err("bad list");
        assert!(err.contains("patient_info.allergies"));
        assert!(PatientFacts::parse(Some(&json!("x"))).is_err());
        assert_eq!(PatientFacts::parse(None).expect("none"), PatientFacts::default());
    }
}
