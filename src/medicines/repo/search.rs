//! The formulary's searches and look-ups of entries.

use sqlx::PgConnection;

use crate::medicines::model::Medicine;

/// Search by name, brand or class, typo tolerant (trigram similarity), best match first; all
/// medicines by name without `q`. And the count.
pub async fn search(
    conn: &mut PgConnection,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<Medicine>)> {
    let Some(q) = q else {
        let count = sqlx::query_scalar!(r#"select count(*) as "count!" from medicines"#).fetch_one(&mut *conn).await?;
        let rows =
            select_medicines!("order by m.generic_name limit $1 offset $2", limit, offset).fetch_all(conn).await?;
        return Ok((count, rows));
    };
    // A substring, or a word of the text similar enough to the query (`amoxycilin`). 170-odd
    // rows: the similarity is computed on each; the trigram index serves a larger formulary.
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from medicines m
           where (strpos(m.search_text, $1) > 0 or word_similarity($1, m.search_text) >= 0.45)"#,
        q,
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = select_medicines!(
        "where (strpos(m.search_text, $1) > 0 or word_similarity($1, m.search_text) >= 0.45) \
         order by (m.generic_name = $1 or $1 = any(select lower(b) from unnest(m.brand_names) b)) desc, \
                  word_similarity($1, m.search_text) desc, m.generic_name limit $2 offset $3",
        q,
        limit,
        offset,
    )
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}

/// The entry a typed name stands for: its generic name or one of its brands, exactly (the caller
/// lower-cases). No guessing: a near miss is the caller's 400 with suggestions, never a
/// silently different medicine.
pub async fn resolve(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<Medicine>> {
    select_medicines!(
        "where m.generic_name = $1 or $1 = any(m.aliases) \
            or exists (select 1 from unnest(m.brand_names) b where lower(b) = $1) \
         order by (m.generic_name = $1) desc limit 1",
        name,
    )
    .fetch_optional(conn)
    .await
}

/// Names close to a typed one, for a 400's suggestions.
pub async fn suggestions(conn: &mut PgConnection, name: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "select generic_name from medicines where word_similarity($1, search_text) >= 0.3 \
         order by word_similarity($1, search_text) desc, generic_name limit 5",
        name,
    )
    .fetch_all(conn)
    .await
}

/// Other entries of a class, by name.
pub async fn same_class(conn: &mut PgConnection, medicine: &Medicine, limit: i64) -> sqlx::Result<Vec<Medicine>> {
    select_medicines!(
        "where m.drug_class = $1 and m.id <> $2 order by m.generic_name limit $3",
        medicine.drug_class,
        medicine.id,
        limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Medicine>> {
    select_medicines!("where m.id = $1", id).fetch_optional(conn).await
}

/// Entries whose generic name or a brand is exactly one of `names` (lower case): how an answer's
/// alternatives are checked against the formulary.
pub async fn by_names(conn: &mut PgConnection, names: &[String]) -> sqlx::Result<Vec<Medicine>> {
    select_medicines!(
        "where m.generic_name = any($1) or m.aliases && $1 \
            or exists (select 1 from unnest(m.brand_names) b where lower(b) = any($1))",
        names,
    )
    .fetch_all(conn)
    .await
}
