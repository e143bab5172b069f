//! Every SQL statement on the formulary.

use sqlx::PgConnection;

use super::model::{Interaction, Medicine};

const COLUMNS: &str = "m.id, m.generic_name, m.brand_names, m.aliases, m.atc_code, m.drug_class, m.forms, m.adult_dose, \
     m.allergy_class, m.contraindicated_conditions, m.min_age_years, m.pregnancy";

/// Search by name, brand or class, typo tolerant (trigram similarity), best match first; all
/// medicines by name without `q`. And the count.
pub async fn search(
    conn: &mut PgConnection,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<Medicine>)> {
    let Some(q) = q else {
        let count = sqlx::query_scalar("select count(*) from medicines").fetch_one(&mut *conn).await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from medicines m order by m.generic_name limit $1 offset $2"
        )))
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
        return Ok((count, rows));
    };
    // A substring, or a word of the text similar enough to the query (`amoxycilin`). 170-odd
    // rows: the similarity is computed on each; the trigram index serves a larger formulary.
    const MATCH: &str = "(strpos(m.search_text, $1) > 0 or word_similarity($1, m.search_text) >= 0.45)";
    let count = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from medicines m where {MATCH}")))
        .bind(q)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from medicines m where {MATCH} \
         order by (m.generic_name = $1 or $1 = any(select lower(b) from unnest(m.brand_names) b)) desc, \
                  word_similarity($1, m.search_text) desc, m.generic_name limit $2 offset $3"
    )))
    .bind(q)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}

/// The entry a typed name stands for: its generic name or one of its brands, exactly (the caller
/// lower-cases). No guessing: a near miss is the caller's 400 with suggestions, never a
/// silently different medicine.
pub async fn resolve(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<Medicine>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from medicines m \
         where m.generic_name = $1 or $1 = any(m.aliases) \
            or exists (select 1 from unnest(m.brand_names) b where lower(b) = $1) \
         order by (m.generic_name = $1) desc limit 1"
    )))
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// Names close to a typed one, for a 400's suggestions.
pub async fn suggestions(conn: &mut PgConnection, name: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select generic_name from medicines where word_similarity($1, search_text) >= 0.3 \
         order by word_similarity($1, search_text) desc, generic_name limit 5",
    )
    .bind(name)
    .fetch_all(conn)
    .await
}

/// The allergy class of the medicine each name stands for (exact generic or brand names only).
pub async fn allergy_classes(conn: &mut PgConnection, names: &[String]) -> sqlx::Result<Vec<(String, Option<String>)>> {
    sqlx::query_as(
        "select n, (select nullif(m.allergy_class, '') from medicines m \
                    where m.generic_name = n or n = any(m.aliases) \
                       or n = any(select lower(b) from unnest(m.brand_names) b) limit 1) \
         from unnest($1::text[]) n",
    )
    .bind(names)
    .fetch_all(conn)
    .await
}

/// Interactions of `medicine_id` with the medicines the names stand for (generic or brand, exact).
pub async fn interactions(
    conn: &mut PgConnection,
    medicine_id: i64,
    names: &[String],
) -> sqlx::Result<Vec<Interaction>> {
    sqlx::query_as(
        "with taken as (select m.id, m.generic_name from medicines m \
                        where m.generic_name = any($2) or m.aliases && $2 \
                           or exists (select 1 from unnest(m.brand_names) b where lower(b) = any($2))) \
         select t.generic_name as other, i.severity, i.mechanism from taken t \
         join medicine_interactions i on (i.medicine_a = least($1, t.id) and i.medicine_b = greatest($1, t.id)) \
         order by i.severity, t.generic_name",
    )
    .bind(medicine_id)
    .bind(names)
    .fetch_all(conn)
    .await
}

/// The names among `names` the formulary does not know (for the answer's note).
pub async fn unknown_names(conn: &mut PgConnection, names: &[String]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select n from unnest($1::text[]) n where not exists (select 1 from medicines m \
             where m.generic_name = n or n = any(m.aliases) or exists (select 1 from unnest(m.brand_names) b where lower(b) = n))",
    )
    .bind(names)
    .fetch_all(conn)
    .await
}

/// Other entries of a class, by name.
pub async fn same_class(conn: &mut PgConnection, medicine: &Medicine, limit: i64) -> sqlx::Result<Vec<Medicine>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from medicines m where m.drug_class = $1 and m.id <> $2 order by m.generic_name limit $3"
    )))
    .bind(&medicine.drug_class)
    .bind(medicine.id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Medicine>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {COLUMNS} from medicines m where m.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Entries whose generic name or a brand is exactly one of `names` (lower case): how an answer's
/// alternatives are checked against the formulary.
pub async fn by_names(conn: &mut PgConnection, names: &[String]) -> sqlx::Result<Vec<Medicine>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from medicines m where m.generic_name = any($1) or m.aliases && $1 \
            or exists (select 1 from unnest(m.brand_names) b where lower(b) = any($1))"
    )))
    .bind(names)
    .fetch_all(conn)
    .await
}
