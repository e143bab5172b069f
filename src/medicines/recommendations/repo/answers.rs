//! The worker's side of a recommendation: the PENDING row it answers, the answer or the failure
//! written once, and the shared answer cache.

use serde_json::Value;
use sqlx::PgConnection;

use super::join_notes;
use crate::medicines::recommendations::model::Answer;

pub async fn cached_answer(conn: &mut PgConnection, key: &[u8]) -> sqlx::Result<Option<Answer>> {
    let answer: Option<Value> =
        sqlx::query_scalar!("select answer from recommendation_cache where cache_key = $1", key)
            .fetch_optional(conn)
            .await?;
    Ok(answer.and_then(|a| serde_json::from_value(a).ok()))
}

/// The PENDING row a job answers: (medicine id, patient facts, cache key, server notes).
pub async fn pending(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(i64, Value, Vec<u8>, String)>> {
    let row = sqlx::query!(
        "select medicine_id, patient_info, cache_key, notes from recommendations where id = $1 and status = 'PENDING'",
        id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.medicine_id, row.patient_info, row.cache_key, row.notes)))
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
    let done = sqlx::query!(
        "update recommendations set status = 'DONE', source = $2, alternatives = $3, suggestion = $4, notes = $5, \
                dropped_alternatives = $6, response_time_ms = $7, completed_at = now() \
         where id = $1 and status = 'PENDING'",
        id,
        answer.source,
        serde_json::to_value(&answer.alternatives).unwrap_or_default(),
        answer.suggestion,
        join_notes(server_notes, &answer.notes),
        answer.dropped,
        elapsed_ms,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if done {
        sqlx::query!(
            "insert into recommendation_cache (cache_key, medicine_id, answer) values ($1, $2, $3) \
             on conflict (cache_key) do update set answer = excluded.answer, created_at = now()",
            key,
            medicine_id,
            serde_json::to_value(answer).unwrap_or_default(),
        )
        .execute(conn)
        .await?;
    }
    Ok(done)
}

pub async fn fail(conn: &mut PgConnection, id: i64, reason: &str, elapsed_ms: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "update recommendations set status = 'FAILED', error = $2, response_time_ms = $3, completed_at = now() \
         where id = $1 and status = 'PENDING'",
        id,
        reason,
        elapsed_ms,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Empties the cache table (recommendation entries only: it holds nothing else); how many went.
pub async fn clear_cache(conn: &mut PgConnection) -> sqlx::Result<u64> {
    let removed = sqlx::query!("delete from recommendation_cache").execute(&mut *conn).await?.rows_affected();
    sqlx::query!("select pg_notify('carehub_recommendations', 'clear-cache')").execute(conn).await?;
    Ok(removed)
}
