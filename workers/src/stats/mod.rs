//! Queue statistics for operators, read from Redis directly: each queue's counts from
//! apalis-redis's own keys (its stats API is broken in 1.0.0: STACK.md trap 7) here, the dead
//! jobs and what operators do with them (retry one, retry all, discard one) in [`dead`], and the
//! jobs done and failed per minute, which the worker keeps, in [`minutes`] (written through
//! [`recorder`], off the jobs' path). The key layout is apalis-redis 1.0's; tests pin it, so an
//! upgrade that changes it fails loudly.

pub mod dead;
pub mod minutes;
pub mod recorder;
#[cfg(test)]
mod tests;

pub use dead::{DeadJob, dead_jobs, discard_dead, retry_all_dead, retry_dead};
pub use minutes::{MinuteCount, minute_series};
pub use recorder::{Outcome, OutcomeRecorder};

use chrono::Utc;
use redis::aio::ConnectionLike;
use serde::Serialize;

use crate::jobs::Queue;

/// A worker that has not sent a heartbeat for this long is gone (apalis-redis's orphan
/// threshold with its defaults: 10 missed 30 s heartbeats).
const WORKER_STALE_SECS: i64 = 300;

/// The answers of the statistics pipeline: active length, due, later, done, dead, the head of
/// the active list, the oldest due scheduled entry.
type PipelineCounts = (u64, u64, u64, u64, u64, Vec<String>, Vec<(String, f64)>);

/// One queue as operators see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueStats {
    pub queue: String,
    /// Due and waiting for a worker.
    pub pending: u64,
    /// Waiting for a later time (delayed jobs and retries).
    pub scheduled: u64,
    /// Being run by a worker now.
    pub active: u64,
    pub done: u64,
    /// Failed for good (permanent failure, attempts spent, panic); retry them by id.
    pub dead: u64,
    /// Workers with a recent heartbeat.
    pub workers: Vec<String>,
    /// Age of the oldest pending job, in seconds (0 when none).
    pub oldest_pending_age_seconds: f64,
}

/// Reads one queue's statistics.
pub async fn queue_stats<C: ConnectionLike + Send>(
    conn: &mut C,
    namespace: &str,
    queue: Queue,
) -> redis::RedisResult<QueueStats> {
    let q = queue.key(namespace);
    let now = Utc::now().timestamp();
    let (active_len, due, later, done, dead, heads, oldest_due): PipelineCounts = redis::pipe()
        .llen(format!("{q}:active"))
        .zcount(format!("{q}:scheduled"), "-inf", now)
        .zcount(format!("{q}:scheduled"), format!("({now}"), "+inf")
        .scard(format!("{q}:done"))
        .scard(format!("{q}:dead"))
        .lrange(format!("{q}:active"), 0, 0)
        .zrangebyscore_limit_withscores(format!("{q}:scheduled"), "-inf", now, 0, 1)
        .query_async(conn)
        .await?;
    let workers: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg(format!("{q}:workers"))
        .arg(now - WORKER_STALE_SECS)
        .arg("+inf")
        .query_async(conn)
        .await?;
    let mut running = 0u64;
    for worker in &workers {
        let held: u64 = redis::cmd("SCARD").arg(format!("{q}:inflight:{worker}")).query_async(conn).await?;
        running += held;
    }
    let now_ms = Utc::now().timestamp_millis() as f64;
    // Task ids are ULIDs, whose first 48 bits are the creation time in milliseconds.
    let head_age = heads
        .first()
        .and_then(|id| ulid::Ulid::from_string(id).ok())
        .map(|id| (now_ms - id.timestamp_ms() as f64) / 1000.0);
    let due_age = oldest_due.first().map(|(_, run_at)| now as f64 - run_at);
    let oldest = [head_age, due_age].into_iter().flatten().fold(0.0_f64, f64::max);
    Ok(QueueStats {
        queue: queue.name().to_owned(),
        pending: active_len + due,
        scheduled: later,
        active: running,
        done,
        dead,
        workers,
        oldest_pending_age_seconds: (oldest * 1000.0).round() / 1000.0,
    })
}
