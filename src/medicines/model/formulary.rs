//! The shapes of the formulary file (`data/formulary.toml`): its entries and interactions.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct FormularyFile {
    pub medicine: Vec<Entry>,
    #[serde(default)]
    pub interaction: Vec<InteractionEntry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    pub generic_name: String,
    #[serde(default)]
    pub brand_names: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub atc_code: String,
    pub drug_class: String,
    #[serde(default)]
    pub forms: Vec<String>,
    #[serde(default)]
    pub adult_dose: String,
    #[serde(default)]
    pub allergy_class: String,
    #[serde(default)]
    pub contraindicated_conditions: Vec<String>,
    pub min_age_years: Option<i32>,
    #[serde(default)]
    pub pregnancy: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
pub struct InteractionEntry {
    pub a: String,
    pub b: String,
    pub severity: String,
    pub mechanism: String,
    pub source: String,
}
