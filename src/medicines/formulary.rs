//! The formulary file (`data/formulary.toml`, reviewed like code and compiled into the binary)
//! and its idempotent load into Postgres (`carehub formulary load`; `migrate` and `dev` run it;
//! the statements are in [`repo`]).

use figment::{
    Figment,
    providers::{Format as _, Toml},
};
use sqlx::PgPool;

use super::{model::formulary::FormularyFile, repo};

/// The file, as compiled in.
pub const DATA: &str = include_str!("../../data/formulary.toml");

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
        repo::upsert_medicine(&mut tx, &name, entry, &search).await?;
    }
    for pair in &file.interaction {
        let inserted = repo::upsert_interaction(
            &mut tx,
            &pair.a.trim().to_lowercase(),
            &pair.b.trim().to_lowercase(),
            &pair.severity,
            &pair.mechanism,
            &pair.source,
        )
        .await?;
        anyhow::ensure!(inserted == 1, "interaction {} + {}: unknown medicine", pair.a, pair.b);
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
