//! Dead jobs (failed for good: a permanent failure, attempts spent, a panic) and what operators
//! do with them: list them, retry one, retry all of a queue, discard one. Read from and written to
//! apalis-redis 1.0's keys: the `{q}:dead` set of ids, each job's `{q}:meta:{id}` hash (written by
//! its `handle_results.lua`: `attempts`, `status`, `done_at` in epoch seconds, and `result`, the
//! JSON of the attempt's `Result<_, String>`, `{"Err": "..."}` for a failure) and its payload in
//! the `{q}:data` hash. Payloads are never read here: a dead job is shown by its id, its attempts
//! and its last error.
//!
//! Every operation is one Lua script, so a worker never sees a half-moved job. The scripts name
//! each job's meta key from its prefix, as apalis-redis's own do; all keys share the queue's hash
//! tag, so they run on a Redis Cluster too.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use redis::{Script, aio::ConnectionLike};
use serde::Serialize;

use crate::jobs::Queue;

/// The longest last error shown, in characters.
pub const MAX_ERROR_CHARS: usize = 500;
/// The most dead jobs one [`dead_jobs`] call returns.
pub const MAX_PAGE: u64 = 1000;
/// The most dead jobs one [`retry_all_dead`] call moves (call again for more).
pub const MAX_RETRY_ALL: u64 = 10_000;

/// One dead job as operators see it: never its payload.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeadJob {
    pub id: String,
    /// Attempts made, the last included.
    pub attempts: u32,
    /// The last attempt's error, at most [`MAX_ERROR_CHARS`] characters.
    pub last_error: Option<String>,
    /// When the last attempt ended.
    pub failed_at: Option<DateTime<Utc>>,
}

/// A Lua function moving dead job `id` back to the scheduled set, due `now`, its attempts reset;
/// 0 when it is not dead or its payload or meta is gone. Shared by the retry scripts.
macro_rules! requeue_lua {
    () => {
        r"
        local function requeue(dead, meta, scheduled, data, id, now)
            if redis.call('HEXISTS', data, id) == 0 then return 0 end
            if redis.call('EXISTS', meta) == 0 then return 0 end
            if redis.call('SREM', dead, id) == 0 then return 0 end
            redis.call('HSET', meta, 'status', 'Pending', 'attempts', 0)
            redis.call('HDEL', meta, 'result', 'done_at', 'locked_at', 'locked_by')
            redis.call('ZADD', scheduled, now, id)
            return 1
        end
        "
    };
}

/// KEYS: dead, meta of the job, scheduled, data. ARGV: id, now.
static RETRY_ONE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(requeue_lua!(), "return requeue(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2])"))
});

/// KEYS: dead, meta prefix, scheduled, data. ARGV: now, most to move.
static RETRY_ALL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        requeue_lua!(),
        r"
        local moved = 0
        for _, id in ipairs(redis.call('SRANDMEMBER', KEYS[1], tonumber(ARGV[2]))) do
            moved = moved + requeue(KEYS[1], KEYS[2] .. ':' .. id, KEYS[3], KEYS[4], id, ARGV[1])
        end
        return moved
        "
    ))
});

/// KEYS: dead, meta of the job, data. ARGV: id.
static DISCARD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('DEL', KEYS[2])
        redis.call('HDEL', KEYS[3], ARGV[1])
        return 1
        ",
    )
});

/// KEYS: dead, meta prefix. ARGV: offset, limit, most bytes of an error. Returns the dead set's
/// size and the page, newest failure first (ties: the newer id, a ULID, first): per job its id,
/// attempts, `done_at` and the error of its result (nil when none).
static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local ids = redis.call('SMEMBERS', KEYS[1])
        local rows = {}
        for i, id in ipairs(ids) do
            rows[i] = {id, tonumber(redis.call('HGET', KEYS[2] .. ':' .. id, 'done_at')) or 0}
        end
        table.sort(rows, function(a, b)
            if a[2] ~= b[2] then return a[2] > b[2] end
            return a[1] > b[1]
        end)
        local page = {}
        local offset = tonumber(ARGV[1])
        for i = offset + 1, math.min(#rows, offset + tonumber(ARGV[2])) do
            local id = rows[i][1]
            local meta = redis.call('HMGET', KEYS[2] .. ':' .. id, 'attempts', 'done_at', 'result')
            local err = false
            if meta[3] then
                local ok, decoded = pcall(cjson.decode, meta[3])
                if ok and type(decoded) == 'table' and type(decoded['Err']) == 'string' then
                    err = string.sub(decoded['Err'], 1, tonumber(ARGV[3]))
                end
            end
            table.insert(page, {id, meta[1] or false, meta[2] or false, err})
        end
        return {#rows, page}
        ",
    )
});

/// A listed job as the script returns it: id, attempts, `done_at`, error.
type ListedJob = (String, Option<String>, Option<String>, Option<Vec<u8>>);

/// The dead jobs of `queue`, newest failure first: how many there are, and those from `offset`,
/// at most `limit` (capped at [`MAX_PAGE`]). The whole set is sorted in Redis, so a call costs a
/// hash read per dead job (a few milliseconds for ten thousand).
pub async fn dead_jobs<C: ConnectionLike + Send>(
    conn: &mut C,
    namespace: &str,
    queue: Queue,
    offset: u64,
    limit: u64,
) -> redis::RedisResult<(u64, Vec<DeadJob>)> {
    let q = queue.key(namespace);
    // Four bytes a character at most: the cut leaves MAX_ERROR_CHARS whole characters.
    let max_bytes = MAX_ERROR_CHARS * 4;
    let (total, page): (u64, Vec<ListedJob>) = LIST
        .key(format!("{q}:dead"))
        .key(format!("{q}:meta"))
        .arg(offset)
        .arg(limit.min(MAX_PAGE))
        .arg(max_bytes)
        .invoke_async(conn)
        .await?;
    let jobs = page
        .into_iter()
        .map(|(id, attempts, done_at, error)| DeadJob {
            id,
            attempts: attempts.and_then(|a| a.parse().ok()).unwrap_or(0),
            last_error: error.map(|bytes| shown_error(&String::from_utf8_lossy(&bytes))),
            failed_at: done_at.and_then(|at| at.parse().ok()).and_then(|secs| DateTime::from_timestamp(secs, 0)),
        })
        .collect();
    Ok((total, jobs))
}

/// An error as operators see it: without the `AbortError: ` the platform wraps a last attempt's
/// error in, cut to [`MAX_ERROR_CHARS`] characters.
fn shown_error(error: &str) -> String {
    let error = error.strip_prefix("AbortError: ").unwrap_or(error);
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// Moves a dead job back to the queue with its attempts reset; `false` when `job_id` is not a
/// dead job of the queue (or its payload is gone).
pub async fn retry_dead<C: ConnectionLike + Send>(
    conn: &mut C,
    namespace: &str,
    queue: Queue,
    job_id: &str,
) -> redis::RedisResult<bool> {
    let q = queue.key(namespace);
    let moved: i64 = RETRY_ONE
        .key(format!("{q}:dead"))
        .key(format!("{q}:meta:{job_id}"))
        .key(format!("{q}:scheduled"))
        .key(format!("{q}:data"))
        .arg(job_id)
        .arg(Utc::now().timestamp())
        .invoke_async(conn)
        .await?;
    Ok(moved == 1)
}

/// Moves up to [`MAX_RETRY_ALL`] dead jobs of `queue` back to it, as [`retry_dead`] does each;
/// how many moved. A dead job whose payload is gone stays dead.
pub async fn retry_all_dead<C: ConnectionLike + Send>(
    conn: &mut C,
    namespace: &str,
    queue: Queue,
) -> redis::RedisResult<u64> {
    let q = queue.key(namespace);
    RETRY_ALL
        .key(format!("{q}:dead"))
        .key(format!("{q}:meta"))
        .key(format!("{q}:scheduled"))
        .key(format!("{q}:data"))
        .arg(Utc::now().timestamp())
        .arg(MAX_RETRY_ALL)
        .invoke_async(conn)
        .await
}

/// Removes a dead job for good: its id from the dead set, its meta and its payload; `false` when
/// `job_id` is not a dead job of the queue (nothing is removed then).
pub async fn discard_dead<C: ConnectionLike + Send>(
    conn: &mut C,
    namespace: &str,
    queue: Queue,
    job_id: &str,
) -> redis::RedisResult<bool> {
    let q = queue.key(namespace);
    let removed: i64 = DISCARD
        .key(format!("{q}:dead"))
        .key(format!("{q}:meta:{job_id}"))
        .key(format!("{q}:data"))
        .arg(job_id)
        .invoke_async(conn)
        .await?;
    Ok(removed == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_shown_without_the_abort_wrapper_and_cut_to_500_characters() {
        assert_eq!(shown_error("AbortError: twilio 400 (21211)"), "twilio 400 (21211)");
        assert_eq!(shown_error("transient"), "transient");
        let long = "é".repeat(MAX_ERROR_CHARS + 20);
        assert_eq!(shown_error(&long).chars().count(), MAX_ERROR_CHARS);
    }
}
