//! What a recommendation checks a patient's facts against: allergy classes, interactions, and
//! the names the formulary does not know.

use sqlx::PgConnection;

use crate::medicines::model::Interaction;

/// The allergy class of the medicine each name stands for (exact generic or brand names only).
pub async fn allergy_classes(conn: &mut PgConnection, names: &[String]) -> sqlx::Result<Vec<(String, Option<String>)>> {
    let rows = sqlx::query!(
        r#"select n as "n!", (select nullif(m.allergy_class, '') from medicines m
                    where m.generic_name = n or n = any(m.aliases)
                       or n = any(select lower(b) from unnest(m.brand_names) b) limit 1) as allergy_class
           from unnest($1::text[]) n"#,
        names,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.n, row.allergy_class)).collect())
}

/// Interactions of `medicine_id` with the medicines the names stand for (generic or brand, exact).
pub async fn interactions(
    conn: &mut PgConnection,
    medicine_id: i64,
    names: &[String],
) -> sqlx::Result<Vec<Interaction>> {
    sqlx::query_as!(
        Interaction,
        "with taken as (select m.id, m.generic_name from medicines m \
                        where m.generic_name = any($2) or m.aliases && $2 \
                           or exists (select 1 from unnest(m.brand_names) b where lower(b) = any($2))) \
         select t.generic_name as \"other!\", i.severity, i.mechanism from taken t \
         join medicine_interactions i on (i.medicine_a = least($1, t.id) and i.medicine_b = greatest($1, t.id)) \
         order by i.severity, t.generic_name",
        medicine_id,
        names,
    )
    .fetch_all(conn)
    .await
}

/// The names among `names` the formulary does not know (for the answer's note).
pub async fn unknown_names(conn: &mut PgConnection, names: &[String]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select n as "n!" from unnest($1::text[]) n where not exists (select 1 from medicines m
             where m.generic_name = n or n = any(m.aliases) or exists (select 1 from unnest(m.brand_names) b where lower(b) = n))"#,
        names,
    )
    .fetch_all(conn)
    .await
}
