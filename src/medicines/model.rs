//! Formulary entries, a patient's clinical facts as a recommendation request gives them, and the
//! server's own warnings: allergy class, contraindicated condition, age, pregnancy and
//! interactions, computed from the formulary alone, whatever a model says.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::errors::FieldErrors;

/// A formulary entry.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Medicine {
    pub id: i64,
    pub generic_name: String,
    pub brand_names: Vec<String>,
    /// Other generic names it is written as (matched like brands).
    #[serde(skip)]
    pub aliases: Vec<String>,
    pub atc_code: String,
    pub drug_class: String,
    pub forms: Vec<String>,
    #[serde(skip)]
    pub adult_dose: String,
    #[serde(skip)]
    pub allergy_class: String,
    #[serde(skip)]
    pub contraindicated_conditions: Vec<String>,
    #[serde(skip)]
    pub min_age_years: Option<i32>,
    #[serde(skip)]
    pub pregnancy: String,
}

/// An interaction of the requested medicine with one the patient takes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Interaction {
    /// The other medicine's generic name.
    pub other: String,
    pub severity: String,
    pub mechanism: String,
}

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

/// Lower case, single spaces.
pub fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
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

/// One of the server's warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Warning {
    /// `allergy`, `condition`, `interaction`, `age` or `pregnancy`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `high` or `moderate`.
    pub severity: String,
    pub message: String,
}

fn warning(kind: &str, severity: &str, message: String) -> Warning {
    Warning { kind: kind.to_owned(), severity: severity.to_owned(), message }
}

/// Common ways of naming a condition, to the formulary's vocabulary.
fn condition_term(condition: &str) -> &str {
    match condition {
        "kidney disease" | "chronic kidney disease" | "ckd" | "renal failure" | "renal disease" | "kidney failure" => {
            "renal impairment"
        }
        "liver disease" | "cirrhosis" | "hepatitis" | "liver failure" => "hepatic impairment",
        "stomach ulcer" | "gastric ulcer" | "duodenal ulcer" | "ulcer" | "peptic ulcer disease" => "peptic ulcer",
        "gi bleeding" | "gastrointestinal bleed" => "gastrointestinal bleeding",
        "chf" | "congestive heart failure" => "heart failure",
        "seizures" | "seizure disorder" => "epilepsy",
        "high blood pressure" => "hypertension",
        "diabetes mellitus" | "type 2 diabetes" | "type 1 diabetes" | "diabetic" => "diabetes",
        "copd" | "chronic obstructive pulmonary disease" => "copd",
        "bph" | "benign prostatic hyperplasia" | "enlarged prostate" => "prostatic hypertrophy",
        "hemophilia" | "haemophilia" | "bleeding tendency" => "bleeding disorder",
        "long qt" | "long qt syndrome" => "qt prolongation",
        other => other,
    }
}

fn singular(word: &str) -> &str {
    word.strip_suffix('s').unwrap_or(word)
}

/// Whether a patient's allergy (as written) is to `class`: the class itself in singular or
/// plural ("penicillin", "penicillins"), or the class of the medicine the allergy names
/// (`named_class`: "amoxicillin" → penicillins), or "sulfa" for sulfonamides.
fn allergy_matches(allergy: &str, named_class: Option<&str>, class: &str) -> bool {
    if class.is_empty() {
        return false;
    }
    let allergy = allergy.strip_suffix(" allergy").unwrap_or(allergy);
    singular(allergy) == singular(class)
        || named_class == Some(class)
        || (class == "sulfonamides" && ["sulfa", "sulpha", "sulfa drugs"].contains(&allergy))
        || (class == "nsaids" && ["nsaid", "aspirin"].contains(&allergy))
}

/// The server's warnings for giving `medicine` to a patient with `facts`. `allergy_classes`
/// holds, for each of the patient's allergies, the allergy class of the formulary medicine it
/// names (if it names one); `interactions` the interactions with the patient's medications.
pub fn warnings(
    medicine: &Medicine,
    facts: &PatientFacts,
    allergy_classes: &[(String, Option<String>)],
    interactions: &[Interaction],
) -> Vec<Warning> {
    let mut out = Vec::new();
    let name = &medicine.generic_name;
    for (allergy, named_class) in allergy_classes {
        if allergy_matches(allergy, named_class.as_deref(), &medicine.allergy_class) || allergy == name {
            out.push(warning(
                "allergy",
                "high",
                format!(
                    "Patient is allergic to {allergy}: {name} belongs to the {} allergy class.",
                    medicine.allergy_class
                ),
            ));
        } else if medicine.allergy_class == "cephalosporins"
            && (allergy_matches(allergy, named_class.as_deref(), "penicillins"))
        {
            out.push(warning(
                "allergy",
                "moderate",
                format!(
                    "Patient is allergic to {allergy}: cross-reactivity with cephalosporins such as {name} is possible."
                ),
            ));
        }
    }
    for condition in &facts.conditions {
        let term = condition_term(condition);
        if medicine.contraindicated_conditions.iter().any(|c| c == term) {
            out.push(warning("condition", "high", format!("{name} is contraindicated or needs caution in {term}.")));
        }
    }
    if let (Some(age), Some(min)) = (facts.age, medicine.min_age_years)
        && i64::from(age) < i64::from(min)
    {
        out.push(warning("age", "high", format!("{name} is not recommended under {min} years (patient is {age}).")));
    }
    if facts.pregnant {
        match medicine.pregnancy.as_str() {
            "avoid" => out.push(warning("pregnancy", "high", format!("{name} should be avoided in pregnancy."))),
            "caution" => out.push(warning("pregnancy", "moderate", format!("{name} needs caution in pregnancy."))),
            _ => {}
        }
    }
    for interaction in interactions {
        let severity = if interaction.severity == "major" { "high" } else { "moderate" };
        out.push(warning(
            "interaction",
            severity,
            format!("{name} interacts with {}: {}", interaction.other, interaction.mechanism),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn amoxicillin() -> Medicine {
        Medicine {
            id: 1,
            generic_name: "amoxicillin".into(),
            brand_names: vec!["Amoxil".into()],
            aliases: vec![],
            atc_code: "J01CA04".into(),
            drug_class: "penicillins".into(),
            forms: vec![],
            adult_dose: String::new(),
            allergy_class: "penicillins".into(),
            contraindicated_conditions: vec!["renal impairment".into()],
            min_age_years: None,
            pregnancy: String::new(),
        }
    }

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

    #[test]
    fn allergy_condition_age_pregnancy_and_interaction_warnings() {
        let mut medicine = amoxicillin();
        medicine.min_age_years = Some(12);
        medicine.pregnancy = "avoid".into();
        let facts = PatientFacts {
            age: Some(8),
            conditions: vec!["kidney disease".into()],
            pregnant: true,
            ..PatientFacts::default()
        };
        let allergies = [("penicillin".to_owned(), None)];
        let interactions = [Interaction {
            other: "methotrexate".into(),
            severity: "major".into(),
            mechanism: "Less excreted.".into(),
        }];
        let kinds: Vec<String> =
            warnings(&medicine, &facts, &allergies, &interactions).into_iter().map(|w| w.kind).collect();
        assert_eq!(kinds, ["allergy", "condition", "age", "pregnancy", "interaction"]);
    }

    #[test]
    fn an_allergy_named_by_a_medicine_of_the_class_counts_and_others_do_not() {
        let medicine = amoxicillin();
        let facts = PatientFacts::default();
        let named = [("ampicillin".to_owned(), Some("penicillins".to_owned()))];
        assert_eq!(warnings(&medicine, &facts, &named, &[]).len(), 1);
        let unrelated = [("ibuprofen".to_owned(), Some("nsaids".to_owned()))];
        assert!(warnings(&medicine, &facts, &unrelated, &[]).is_empty());
        let mut cefalexin = amoxicillin();
        cefalexin.generic_name = "cefalexin".into();
        cefalexin.allergy_class = "cephalosporins".into();
        let penicillin = [("penicillin".to_owned(), None)];
        let found = warnings(&cefalexin, &facts, &penicillin, &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, "moderate");
    }
}
