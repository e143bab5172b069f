//! The recommendations page's own reads: the formulary's size and the requests per hour (the
//! statistics themselves are the recommendations context's `repo::stats`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// How big the formulary and the answer cache are.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub medicines: i64,
    pub interactions: i64,
    pub cached_answers: i64,
}

pub async fn sizes(db: impl PgExecutor<'_>) -> sqlx::Result<Sizes> {
    sqlx::query_as!(
        Sizes,
        r#"select (select count(*) from medicines) as "medicines!",
                  (select count(*) from medicine_interactions) as "interactions!",
                  (select count(*) from recommendation_cache) as "cached_answers!""#
    )
    .fetch_one(db)
    .await
}

/// Requests in each of the last `hours` hours (the current one last), empty hours included;
/// read through the index on `created_at`.
pub async fn per_hour(db: impl PgExecutor<'_>, hours: i32) -> sqlx::Result<Vec<(DateTime<Utc>, i64)>> {
    let rows = sqlx::query!(
        r#"select h.hour as "hour!", count(r.id) as "requests!"
           from generate_series(date_trunc('hour', now(), 'UTC') - make_interval(hours => $1 - 1), date_trunc('hour', now(), 'UTC'),
                                interval '1 hour') as h(hour)
           left join recommendations r on r.created_at >= h.hour and r.created_at < h.hour + interval '1 hour'
           group by h.hour order by h.hour"#,
        hours,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| (row.hour, row.requests)).collect())
}
