//! The outbox: a job is written to Postgres in the transaction of the change that causes it,
//! and the relay moves committed rows to their Redis queue. A Redis outage delays jobs and loses
//! none; a crash between commit and push loses none; a row pushed twice (crash after the push,
//! before the mark) is harmless because every handler is idempotent.
//!
//! A clock tick's job is written here too, keyed by schedule and tick time, so a restarted clock,
//! or a second one by mistake, never runs a tick's work twice.

pub mod repo;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::jobs::Job;

/// Writes `job` to the outbox inside the caller's transaction. With a `dedupe_key`, a second
/// enqueue of the same key is ignored (returns `false`): a clock tick, a reminder for one slot.
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J, dedupe_key: Option<&str>) -> sqlx::Result<bool> {
    let payload = serde_json::to_value(job).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    repo::insert(conn, J::QUEUE.name(), J::NAME, payload, dedupe_key).await
}

/// The dedupe key of a schedule's tick.
pub fn tick_key(schedule: &str, tick: DateTime<Utc>) -> String {
    format!("clock:{schedule}:{}", tick.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Writes the tick's job unless some clock already has; `true` when this call wrote it.
pub async fn enqueue_tick<J: Job>(db: &PgPool, schedule: &str, tick: DateTime<Utc>, job: &J) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let written = enqueue(&mut tx, job, Some(&tick_key(schedule, tick))).await?;
    tx.commit().await?;
    Ok(written)
}

/// Outbox rows not yet pushed, and the age of the oldest, in seconds.
pub async fn backlog(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<(i64, f64)> {
    repo::backlog(db).await
}
