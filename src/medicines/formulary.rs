//! The formulary file (`data/formulary.toml`, reviewed like code and compiled into the binary)
//! and its idempotent load into Postgres (`carehub formulary load`; `migrate` and `dev` run it).

use figment::{
    Figment,
    providers::{Format as _, Toml},
};
use serde::Deserialize;
use sqlx::PgPool;

/// The file, as compiled in.
pub const DATA: &str = include_str!("../../data/formulary.toml");

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

/// Parses the compiled-in formulary.
pub fn parse() -> anyhow::Result<FormularyFile> {
    Ok(Figment::from(Toml::string(DATA)).extract()?)
}

/// What a load did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub medicines: usize,
    pub interactions: usize,
}

/// Loads the formulary: every entry inserted or brought up to date by its generic name, every
/// interaction likewise, in one transaction (running it twice changes nothing). Entries that
/// left the file stay (recommendations refer to them).
pub async fn load(db: &PgPool) -> anyhow::Result<Loaded> {
    let file = parse()?;
    let mut tx = db.begin().await?;
    for entry in &file.medicine {
        let name = entry.generic_name.trim().to_lowercase();
        let search = std::iter::once(name.clone())
            .chain(entry.brand_names.iter().map(|b| b.to_lowercase()))
            .chain(entry.aliases.iter().map(|a| a.to_lowercase()))
            .chain(std::iter::once(entry.drug_class.to_lowercase()))
            .collect::<Vec<_>>()
            .join(" ");
        sqlx::query(
            "insert into medicines (generic_name, brand_names, aliases, atc_code, drug_class, forms, adult_dose, allergy_class, \
                                    contraindicated_conditions, min_age_years, pregnancy, source, search_text) \
             values ($1, $2, $13, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             on conflict (generic_name) do update set brand_names = excluded.brand_names, aliases = excluded.aliases, atc_code = excluded.atc_code, \
                 drug_class = excluded.drug_class, forms = excluded.forms, adult_dose = excluded.adult_dose, \
                 allergy_class = excluded.allergy_class, contraindicated_conditions = excluded.contraindicated_conditions, \
                 min_age_years = excluded.min_age_years, pregnancy = excluded.pregnancy, source = excluded.source, \
                 search_text = excluded.search_text",
        )
        .bind(&name)
        .bind(&entry.brand_names)
        .bind(&entry.atc_code)
        .bind(entry.drug_class.to_lowercase())
        .bind(&entry.forms)
        .bind(&entry.adult_dose)
        .bind(entry.allergy_class.to_lowercase())
        .bind(&entry.contraindicated_conditions)
        .bind(entry.min_age_years)
        .bind(&entry.pregnancy)
        .bind(&entry.source)
        .bind(&search)
        .bind(entry.aliases.iter().map(|a| a.to_lowercase()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    for pair in &file.interaction {
        let inserted = sqlx::query(
            "insert into medicine_interactions (medicine_a, medicine_b, severity, mechanism, source) \
             select least(a.id, b.id), greatest(a.id, b.id), $3, $4, $5 \
             from medicines a, medicines b where a.generic_name = $1 and b.generic_name = $2 and a.id <> b.id \
             on conflict (medicine_a, medicine_b) do update set severity = excluded.severity, \
                 mechanism = excluded.mechanism, source = excluded.source",
        )
        .bind(pair.a.trim().to_lowercase())
        .bind(pair.b.trim().to_lowercase())
        .bind(&pair.severity)
        .bind(&pair.mechanism)
        .bind(&pair.source)
        .execute(&mut *tx)
        .await?;
        anyhow::ensure!(inserted.rows_affected() == 1, "interaction {} + {}: unknown medicine", pair.a, pair.b);
    }
    tx.commit().await?;
    Ok(Loaded { medicines: file.medicine.len(), interactions: file.interaction.len() })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_formulary_parses_with_at_least_150_unique_medicines_and_known_interaction_partners() {
        let file = parse().expect("formulary parses");
        assert!(file.medicine.len() >= 150, "{} medicines", file.medicine.len());
        let names: HashSet<&str> = file.medicine.iter().map(|m| m.generic_name.as_str()).collect();
        assert_eq!(names.len(), file.medicine.len(), "generic names are unique");
        for pair in &file.interaction {
            assert!(names.contains(pair.a.as_str()) && names.contains(pair.b.as_str()), "{} + {}", pair.a, pair.b);
        }
        assert!(file.medicine.iter().all(|m| !m.source.is_empty()), "every entry names its source");
    }
}
