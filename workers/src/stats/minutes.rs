//! Jobs done and failed per queue and UTC minute, for the operations console's charts: one hash a
//! queue and minute, `{q}:minutes:{epoch minute}` with the fields `done` and `failed`, expiring
//! [`RETENTION_SECS`] after its last write. A minute's counts are written with two `HINCRBY`s and
//! an `EXPIRE` in one pipeline (by the [`recorder`](super::recorder), off the jobs' path); the
//! keys expire by themselves, so nothing prunes; a series of `n` minutes is read with `n` `HMGET`s
//! in one pipeline, one round trip. The keys carry the queue's hash tag (one cluster slot).
//!
//! Counted per attempt: an attempt that fails is counted failed whether it will be retried or its
//! job is dead, so a job retried twice and then done counts two failed and one done.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use redis::aio::ConnectionLike;
use serde::Serialize;

use crate::jobs::Queue;

/// How long a minute's counts are kept, in seconds (two hours).
pub const RETENTION_SECS: i64 = 2 * 60 * 60;
/// The longest series [`minute_series`] returns (a day); a longer request gets this many.
pub const MAX_SERIES_MINUTES: u32 = 24 * 60;

/// The jobs of one queue that finished in one minute.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct MinuteCount {
    /// The minute's first second (UTC).
    pub minute_start: DateTime<Utc>,
    /// Attempts that succeeded.
    pub done: u64,
    /// Attempts that failed (to be retried, or dead).
    pub failed: u64,
}

/// The epoch minute of `at`.
pub(crate) fn epoch_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

fn key(namespace: &str, queue: Queue, minute: i64) -> String {
    format!("{}:minutes:{minute}", queue.key(namespace))
}

/// The counts of `queue` in each of the last `minutes` minutes (at most [`MAX_SERIES_MINUTES`]),
/// the current one included: exactly that many entries, oldest first, zeros where nothing ran.
/// Minutes older than [`RETENTION_SECS`] are zeros (their counts have expired).
pub async fn minute_series<C: ConnectionLike + Send>(
    conn: &mut C,
    namespace: &str,
    queue: Queue,
    minutes: u32,
) -> redis::RedisResult<Vec<MinuteCount>> {
    let now = epoch_minute(Utc::now());
    let first = now - i64::from(minutes.min(MAX_SERIES_MINUTES)) + 1;
    let mut pipe = redis::pipe();
    for minute in first..=now {
        pipe.cmd("HMGET").arg(key(namespace, queue, minute)).arg("done").arg("failed");
    }
    let counts: Vec<(Option<u64>, Option<u64>)> = if first > now { Vec::new() } else { pipe.query_async(conn).await? };
    Ok((first..=now)
        .zip(counts)
        .map(|(minute, (done, failed))| MinuteCount {
            minute_start: DateTime::from_timestamp(minute * 60, 0).unwrap_or_default(),
            done: done.unwrap_or(0),
            failed: failed.unwrap_or(0),
        })
        .collect())
}

/// Counts to add, by queue and epoch minute: (done, failed).
pub(crate) type Counts = BTreeMap<(Queue, i64), (u64, u64)>;

/// Adds `counts` to the minutes' hashes and renews their expiry, in one pipeline.
pub(crate) async fn add<C: ConnectionLike + Send>(
    conn: &mut C,
    namespace: &str,
    counts: &Counts,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for (&(queue, minute), &(done, failed)) in counts {
        let key = key(namespace, queue, minute);
        for (field, n) in [("done", done), ("failed", failed)] {
            if n > 0 {
                pipe.hincr(&key, field, n).ignore();
            }
        }
        pipe.expire(&key, RETENTION_SECS).ignore();
    }
    pipe.query_async(conn).await
}
