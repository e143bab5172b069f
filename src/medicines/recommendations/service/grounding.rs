//! A request grounded in the formulary: the name and the patient's facts read, the medicine
//! resolved (a near miss is a 400 with suggestions), and the server's own warnings computed.

use sqlx::PgPool;

use super::outcome::RecommendError;
use crate::{
    errors::FieldErrors,
    medicines::{
        model::{self, Medicine, PatientFacts, Warning},
        repo as formulary,
    },
};

/// What a request is about, checked against the formulary.
pub struct Grounded {
    /// The name as typed, normalized.
    pub typed: String,
    pub facts: PatientFacts,
    pub medicine: Medicine,
    pub warnings: Vec<Warning>,
    /// The server's note (medications it could not check).
    pub notes: String,
}

/// Reads the request and grounds it in the formulary.
pub async fn ground(
    db: &PgPool,
    medicine_name: &str,
    patient_info: Option<&serde_json::Value>,
) -> Result<Grounded, RecommendError> {
    let typed = model::normalize(medicine_name);
    let mut errors = FieldErrors::new();
    if typed.is_empty() {
        errors.add("medicine_name", "This field may not be blank.");
    } else if typed.chars().count() > 255 {
        errors.add("medicine_name", "Ensure this field has no more than 255 characters.");
    }
    let facts = match PatientFacts::parse(patient_info) {
        Ok(facts) => facts,
        Err(more) => {
            for (field, messages) in more.fields() {
                for message in messages {
                    errors.add(field, message.clone());
                }
            }
            PatientFacts::default()
        }
    };
    errors.into_result()?;
    let mut conn = db.acquire().await?;
    // "Amoxicillin 500 mg": the strength is not part of the name.
    let name: String =
        typed.split(' ').take_while(|w| !w.starts_with(|c: char| c.is_ascii_digit())).collect::<Vec<_>>().join(" ");
    let Some(medicine) = formulary::resolve(&mut conn, if name.is_empty() { &typed } else { &name }).await? else {
        let suggestions = formulary::suggestions(&mut conn, &typed).await?;
        let message = if suggestions.is_empty() {
            format!("\"{typed}\" is not in the formulary.")
        } else {
            format!("\"{typed}\" is not in the formulary. Did you mean: {}?", suggestions.join(", "))
        };
        return Err(FieldErrors::single("medicine_name", message).into());
    };
    let allergy_classes = formulary::allergy_classes(&mut conn, &facts.allergies).await?;
    let interactions = formulary::interactions(&mut conn, medicine.id, &facts.current_medications).await?;
    let unknown = formulary::unknown_names(&mut conn, &facts.current_medications).await?;
    drop(conn);
    let warnings = model::warnings(&medicine, &facts, &allergy_classes, &interactions);
    let notes = if unknown.is_empty() {
        String::new()
    } else {
        format!("Not checked for interactions (not in the formulary): {}.", unknown.join(", "))
    };
    Ok(Grounded { typed, facts, medicine, warnings, notes })
}
