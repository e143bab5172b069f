//! Every SQL statement on recommendations and their cache.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use super::model::{Answer, Stored};
use crate::locks::{self, Key, LockSpace};

const COLUMNS: &str = "r.id, r.requested_by, u.username as requested_by_username, r.medicine_id, r.medicine_name, \
     r.patient_info, r.status, r.source, r.cached, r.alternatives, r.warnings, r.suggestion, r.notes, r.error, \
     r.response_time_ms, r.created_at from recommendations r join users u on u.id = r.requested_by";

pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Stored>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {COLUMNS} where r.id = $1"))).bind(id).fetch_optional(conn).await
}

/// A doctor's requests (or everyone's: `None`), newest first, and their count.
pub async fn history(
    conn: &mut PgConnection,
    user: Option<i64>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<Stored>)> {
    let count =
        sqlx::query_scalar("select count(*) from recommendations where ($1::bigint is null or requested_by = $1)")
            .bind(user)
            .fetch_one(&mut *conn)
            .await?;
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} where ($1::bigint is null or r.requested_by = $1) order by r.id desc limit $2 offset $3"
    )))
    .bind(user)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}

/// Serializes one doctor's requests across processes until the transaction ends
/// ([`LockSpace::RecommendationsDoctor`]).
pub async fn lock_doctor(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::RecommendationsDoctor, Key::Id(user_id)).await
}

/// A doctor's uncached requests in the last hour, and when the oldest leaves the hour.
pub async fn recent(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    sqlx::query_as(
        "select count(*), min(created_at) + interval '1 hour' from recommendations \
         where requested_by = $1 and not cached and created_at > now() - interval '1 hour'",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// What a new row records.
pub struct NewRecommendation<'a> {
    pub user_id: i64,
    pub medicine_id: i64,
    pub medicine_name: &'a str,
    pub patient_info: &'a Value,
    pub cache_key: &'a [u8],
    pub warnings: &'a Value,
    pub notes: &'a str,
}

/// A PENDING row for the model to answer.
pub async fn insert_pending(conn: &mut PgConnection, new: &NewRecommendation<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into recommendations (requested_by, medicine_id, medicine_name, patient_info, cache_key, warnings, notes) \
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(new.user_id)
    .bind(new.medicine_id)
    .bind(new.medicine_name)
    .bind(new.patient_info)
    .bind(new.cache_key)
    .bind(new.warnings)
    .bind(new.notes)
    .fetch_one(conn)
    .await
}

/// A row answered from the cache, DONE at once.
pub async fn insert_cached(
    conn: &mut PgConnection,
    new: &NewRecommendation<'_>,
    answer: &Answer,
    elapsed_ms: i32,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into recommendations (requested_by, medicine_id, medicine_name, patient_info, cache_key, warnings, \
                                      status, source, cached, alternatives, suggestion, notes, dropped_alternatives, \
                                      response_time_ms, completed_at) \
         values ($1, $2, $3, $4, $5, $6, 'DONE', $7, true, $8, $9, $10, $11, $12, now()) returning id",
    )
    .bind(new.user_id)
    .bind(new.medicine_id)
    .bind(new.medicine_name)
    .bind(new.patient_info)
    .bind(new.cache_key)
    .bind(new.warnings)
    .bind(&answer.source)
    .bind(serde_json::to_value(&answer.alternatives).unwrap_or_default())
    .bind(&answer.suggestion)
    .bind(join_notes(new.notes, &answer.notes))
    .bind(answer.dropped)
    .bind(elapsed_ms)
    .fetch_one(conn)
    .await
}

fn join_notes(server: &str, model: &str) -> String {
    [model, server].iter().filter(|n| !n.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

pub async fn cached_answer(conn: &mut PgConnection, key: &[u8]) -> sqlx::Result<Option<Answer>> {
    let answer: Option<Value> = sqlx::query_scalar("select answer from recommendation_cache where cache_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?;
    Ok(answer.and_then(|a| serde_json::from_value(a).ok()))
}

/// The PENDING row a job answers: (medicine id, patient facts, cache key, server notes).
pub async fn pending(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(i64, Value, Vec<u8>, String)>> {
    sqlx::query_as(
        "select medicine_id, patient_info, cache_key, notes from recommendations where id = $1 and status = 'PENDING'",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Writes the answer (only onto a PENDING row: a job run twice answers once) and caches it.
pub async fn complete(
    conn: &mut PgConnection,
    id: i64,
    key: &[u8],
    medicine_id: i64,
    answer: &Answer,
    server_notes: &str,
    elapsed_ms: i32,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update recommendations set status = 'DONE', source = $2, alternatives = $3, suggestion = $4, notes = $5, \
                dropped_alternatives = $6, response_time_ms = $7, completed_at = now() \
         where id = $1 and status = 'PENDING'",
    )
    .bind(id)
    .bind(&answer.source)
    .bind(serde_json::to_value(&answer.alternatives).unwrap_or_default())
    .bind(&answer.suggestion)
    .bind(join_notes(server_notes, &answer.notes))
    .bind(answer.dropped)
    .bind(elapsed_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if done {
        sqlx::query(
            "insert into recommendation_cache (cache_key, medicine_id, answer) values ($1, $2, $3) \
             on conflict (cache_key) do update set answer = excluded.answer, created_at = now()",
        )
        .bind(key)
        .bind(medicine_id)
        .bind(serde_json::to_value(answer).unwrap_or_default())
        .execute(conn)
        .await?;
    }
    Ok(done)
}

pub async fn fail(conn: &mut PgConnection, id: i64, reason: &str, elapsed_ms: i32) -> sqlx::Result<()> {
    sqlx::query(
        "update recommendations set status = 'FAILED', error = $2, response_time_ms = $3, completed_at = now() \
         where id = $1 and status = 'PENDING'",
    )
    .bind(id)
    .bind(reason)
    .bind(elapsed_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Empties the cache table (recommendation entries only: it holds nothing else); how many went.
pub async fn clear_cache(conn: &mut PgConnection) -> sqlx::Result<u64> {
    let removed = sqlx::query("delete from recommendation_cache").execute(&mut *conn).await?.rows_affected();
    sqlx::query("select pg_notify('carehub_recommendations', 'clear-cache')").execute(conn).await?;
    Ok(removed)
}

/// Admin statistics.
#[derive(Debug, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
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
    #[sqlx(skip)]
    #[schema(value_type = Vec<Object>)]
    pub top_medicines: Vec<Value>,
}

pub async fn stats(conn: &mut PgConnection) -> sqlx::Result<Stats> {
    let mut stats: Stats = sqlx::query_as(
        "select count(*) as total_recommendations, count(distinct medicine_id) as unique_medicines, \
                count(distinct requested_by) as unique_users, \
                coalesce(avg(response_time_ms) filter (where status = 'DONE' and not cached), 0)::float8 as avg_response_time_ms, \
                coalesce(percentile_cont(0.95) within group (order by response_time_ms) \
                         filter (where status = 'DONE' and not cached), 0)::float8 as p95_response_time_ms, \
                coalesce(avg(cached::int), 0)::float8 as cache_hit_rate, \
                count(*) filter (where status = 'FAILED') as failures, \
                count(*) filter (where status = 'PENDING') as pending \
         from recommendations",
    )
    .fetch_one(&mut *conn)
    .await?;
    let top: Vec<(String, i64)> = sqlx::query_as(
        "select m.generic_name, count(*) from recommendations r join medicines m on m.id = r.medicine_id \
         group by m.generic_name order by count(*) desc, m.generic_name limit 10",
    )
    .fetch_all(conn)
    .await?;
    stats.top_medicines =
        top.into_iter().map(|(name, count)| serde_json::json!({ "medicine": name, "count": count })).collect();
    Ok(stats)
}
