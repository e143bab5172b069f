//! The admin statistics of recommendations, and their shape.

use serde_json::Value;
use sqlx::PgConnection;

/// Admin statistics.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub total_recommendations: i64,
    pub unique_medicines: i64,
    pub unique_users: i64,
    pub avg_response_time_ms: f64,
    pub p95_response_time_ms: f64,
    /// Share of requests answered from the cache (0 to 1).
    pub cache_hit_rate: f64,
    pub failures: i64,
    pub pending: i64,
    #[schema(value_type = Vec<Object>)]
    pub top_medicines: Vec<Value>,
}

pub async fn stats(conn: &mut PgConnection) -> sqlx::Result<Stats> {
    let row = sqlx::query!(
        r#"select count(*) as "total_recommendations!", count(distinct medicine_id) as "unique_medicines!",
                count(distinct requested_by) as "unique_users!",
                coalesce(avg(response_time_ms) filter (where status = 'DONE' and not cached), 0)::float8 as "avg_response_time_ms!",
                coalesce(percentile_cont(0.95) within group (order by response_time_ms)
                         filter (where status = 'DONE' and not cached), 0)::float8 as "p95_response_time_ms!",
                coalesce(avg(cached::int), 0)::float8 as "cache_hit_rate!",
                count(*) filter (where status = 'FAILED') as "failures!",
                count(*) filter (where status = 'PENDING') as "pending!"
         from recommendations"#,
    )
    .fetch_one(&mut *conn)
    .await?;
    let top = sqlx::query!(
        r#"select m.generic_name, count(*) as "count!" from recommendations r join medicines m on m.id = r.medicine_id
           group by m.generic_name order by count(*) desc, m.generic_name limit 10"#,
    )
    .fetch_all(conn)
    .await?;
    Ok(Stats {
        total_recommendations: row.total_recommendations,
        unique_medicines: row.unique_medicines,
        unique_users: row.unique_users,
        avg_response_time_ms: row.avg_response_time_ms,
        p95_response_time_ms: row.p95_response_time_ms,
        cache_hit_rate: row.cache_hit_rate,
        failures: row.failures,
        pending: row.pending,
        top_medicines: top
            .into_iter()
            .map(|top| serde_json::json!({ "medicine": top.generic_name, "count": top.count }))
            .collect(),
    })
}
