//! Formulary entries and their interactions. Beside them: the formulary file's shapes
//! (`formulary`), a patient's clinical facts as a recommendation request gives them (`facts`),
//! and the server's own warnings (`warnings`).

use serde::Serialize;
use utoipa::ToSchema;

mod facts;
pub mod formulary;
mod warnings;

pub use self::{
    facts::PatientFacts,
    warnings::{Warning, warnings},
};

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

/// Lower case, single spaces.
pub fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}
