//! The outbox: a job is written to Postgres in the transaction of the change that causes it,
//! and the relay moves committed rows to their Redis queue. A Redis outage delays jobs and loses
//! none; a crash between commit and push loses none; a row pushed twice (crash after the push,
//! before the mark) is harmless because every handler is idempotent.

use sqlx::PgConnection;

use crate::jobs::Job;

/// Writes `job` to the outbox inside the caller's transaction. With a `dedupe_key`, a second
/// enqueue of the same key is ignored (returns `false`): a clock tick, a reminder for one slot.
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J, dedupe_key: Option<&str>) -> sqlx::Result<bool> {
    let payload = serde_json::to_value(job).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let inserted = sqlx::query(
        "insert into outbox (queue, job_type, payload, dedupe_key) values ($1, $2, $3, $4) \
         on conflict (dedupe_key) where dedupe_key is not null do nothing",
    )
    .bind(J::QUEUE.name())
    .bind(J::NAME)
    .bind(payload)
    .bind(dedupe_key)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Outbox rows not yet pushed, and the age of the oldest, in seconds.
pub async fn backlog(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<(i64, f64)> {
    sqlx::query_as(
        "select count(*), coalesce(extract(epoch from now() - min(created_at))::float8, 0) \
         from outbox where sent_at is null",
    )
    .fetch_one(db)
    .await
}
