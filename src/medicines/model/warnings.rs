//! The server's own warnings: allergy class, contraindicated condition, age, pregnancy and
//! interactions, computed from the formulary alone, whatever a model says.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Interaction, Medicine, PatientFacts};

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
