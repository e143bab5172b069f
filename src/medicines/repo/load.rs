//! The statements of the formulary load (`formulary::load`): an entry or an interaction
//! inserted or brought up to date.

use sqlx::PgConnection;

use crate::medicines::model::formulary::Entry;

/// Inserts the entry or brings it up to date, by its generic name (`name`, trimmed and lower
/// case), with its search text.
pub async fn upsert_medicine(conn: &mut PgConnection, name: &str, entry: &Entry, search: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into medicines (generic_name, brand_names, aliases, atc_code, drug_class, forms, adult_dose, allergy_class, \
                                contraindicated_conditions, min_age_years, pregnancy, source, search_text) \
         values ($1, $2, $13, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         on conflict (generic_name) do update set brand_names = excluded.brand_names, aliases = excluded.aliases, atc_code = excluded.atc_code, \
             drug_class = excluded.drug_class, forms = excluded.forms, adult_dose = excluded.adult_dose, \
             allergy_class = excluded.allergy_class, contraindicated_conditions = excluded.contraindicated_conditions, \
             min_age_years = excluded.min_age_years, pregnancy = excluded.pregnancy, source = excluded.source, \
             search_text = excluded.search_text",
        name,
        &entry.brand_names,
        entry.atc_code,
        entry.drug_class.to_lowercase(),
        &entry.forms,
        entry.adult_dose,
        entry.allergy_class.to_lowercase(),
        &entry.contraindicated_conditions,
        entry.min_age_years,
        entry.pregnancy,
        entry.source,
        search,
        &entry.aliases.iter().map(|a| a.to_lowercase()).collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts the interaction of two entries (by generic name, trimmed and lower case) or brings it
/// up to date; how many rows it wrote (0: a name is unknown).
pub async fn upsert_interaction(
    conn: &mut PgConnection,
    a: &str,
    b: &str,
    severity: &str,
    mechanism: &str,
    source: &str,
) -> sqlx::Result<u64> {
    Ok(sqlx::query!(
        "insert into medicine_interactions (medicine_a, medicine_b, severity, mechanism, source) \
         select least(a.id, b.id), greatest(a.id, b.id), $3, $4, $5 \
         from medicines a, medicines b where a.generic_name = $1 and b.generic_name = $2 and a.id <> b.id \
         on conflict (medicine_a, medicine_b) do update set severity = excluded.severity, \
             mechanism = excluded.mechanism, source = excluded.source",
        a,
        b,
        severity,
        mechanism,
        source,
    )
    .execute(conn)
    .await?
    .rows_affected())
}
