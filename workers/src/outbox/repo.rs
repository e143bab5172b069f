//! All SQL of the `outbox` table: rows written with the change that causes them, read and marked
//! by the relay, counted for readiness and metrics.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Inserts a job row; `false` when a row of the same `dedupe_key` exists (nothing written).
pub(crate) async fn insert(
    conn: &mut PgConnection,
    queue: &str,
    job_type: &str,
    payload: serde_json::Value,
    dedupe_key: Option<&str>,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "insert into outbox (queue, job_type, payload, dedupe_key) values ($1, $2, $3, $4) \
         on conflict (dedupe_key) where dedupe_key is not null do nothing",
        queue,
        job_type,
        payload,
        dedupe_key,
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Outbox rows not yet pushed, and the age of the oldest, in seconds.
pub(crate) async fn backlog(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<(i64, f64)> {
    let row = sqlx::query!(
        r#"select count(*) as "pending!", coalesce(extract(epoch from now() - min(created_at))::float8, 0) as "age!"
           from outbox where sent_at is null"#
    )
    .fetch_one(db)
    .await?;
    Ok((row.pending, row.age))
}

/// A committed row the relay pushes.
pub(crate) struct Pending {
    pub id: i64,
    pub job_type: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Up to `batch` due rows, oldest first, locked for this transaction (rows another relay holds
/// are skipped).
pub(crate) async fn lock_due(conn: &mut PgConnection, batch: i64) -> sqlx::Result<Vec<Pending>> {
    sqlx::query_as!(
        Pending,
        "select id, job_type, payload, created_at from outbox \
         where sent_at is null and available_at <= now() order by id limit $1 for update skip locked",
        batch,
    )
    .fetch_all(conn)
    .await
}

/// Parks a row of a job type this build does not know for an hour.
pub(crate) async fn park_unknown(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "update outbox set attempts = attempts + 1, last_error = 'unknown job type', \
         available_at = now() + interval '1 hour' where id = $1",
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the rows `ids` sent.
pub(crate) async fn mark_sent(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query!("update outbox set sent_at = now(), attempts = attempts + 1 where id = any($1)", ids)
        .execute(conn)
        .await?;
    Ok(())
}
