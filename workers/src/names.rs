//! Worker names: unique to a process start (apalis-redis refuses a reused name for five minutes
//! after its previous holder's last heartbeat), and taken out of the queue's workers set when a
//! run ends.

use apalis_redis::ConnectionManager;

use crate::jobs::Queue;

/// This host's name, for worker names (Heroku's `DYNO`, else `HOSTNAME`).
fn host() -> String {
    std::env::var("DYNO")
        .or_else(|_| std::env::var("HOSTNAME"))
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
        .unwrap_or_else(|_| "host".into())
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect()
}

/// A worker name unique to this process start (a reused name is refused by apalis-redis for
/// five minutes after the previous holder's last heartbeat).
pub fn worker_name(queue: Queue) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}-{}", queue.name(), host(), &suffix[..8])
}

/// Takes a run's ended workers out of the queue's workers set, so the queue statistics and
/// `/readyz` stop listing them at once. apalis-redis 1.0.0 means to do this when a worker closes,
/// but removes the name of the worker's in-flight set instead of the worker's own name, which left
/// a stopped worker listed until it went stale (5 minutes). Best effort: with Redis gone, the
/// stale window still applies.
pub(crate) async fn deregister(
    redis: &mut ConnectionManager,
    workers_set: &str,
    names: &std::sync::Mutex<Vec<String>>,
) {
    let ended = names.lock().map(|mut names| std::mem::take(&mut *names)).unwrap_or_default();
    if ended.is_empty() {
        return;
    }
    let removed: redis::RedisResult<u64> = redis::cmd("ZREM").arg(workers_set).arg(&ended).query_async(redis).await;
    if let Err(err) = removed {
        tracing::warn!(workers_set, error = %err, "could not deregister ended workers; they go stale in 5 minutes");
    }
}
