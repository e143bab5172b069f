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

/// Hands back what a run's ended workers had fetched and not finished (pushed onto the queue
/// again, as apalis-redis does for a dead worker's) and takes them out of the queue's workers set,
/// so the queue statistics and `/readyz` stop listing them at once. apalis-redis 1.0.0 means to
/// deregister a worker when it closes, but removes the name of its in-flight set instead of its
/// own; and a worker taken out of the set with jobs still in flight would have them never run,
/// as only listed workers' jobs are ever recovered. Best effort: with Redis gone, the orphan
/// window recovers them instead.
const HAND_BACK: &str = r#"
local moved = 0
for i = 2, #ARGV do
    local inflight = ARGV[1] .. ":" .. ARGV[i]
    local jobs = redis.call("smembers", inflight)
    if #jobs > 0 then
        redis.call("rpush", KEYS[2], unpack(jobs))
        redis.call("del", inflight)
        moved = moved + #jobs
    end
    redis.call("zrem", KEYS[1], ARGV[i])
end
if moved > 0 then
    redis.call("del", KEYS[3])
    redis.call("lpush", KEYS[3], 1)
end
return moved
"#;

pub(crate) async fn deregister(redis: &mut ConnectionManager, queue_key: &str, names: &std::sync::Mutex<Vec<String>>) {
    let ended = names.lock().map(|mut names| std::mem::take(&mut *names)).unwrap_or_default();
    if ended.is_empty() {
        return;
    }
    let handed_back: redis::RedisResult<u64> = redis::Script::new(HAND_BACK)
        .key(format!("{queue_key}:workers"))
        .key(format!("{queue_key}:active"))
        .key(format!("{queue_key}:signal"))
        .arg(format!("{queue_key}:inflight"))
        .arg(&ended)
        .invoke_async(redis)
        .await;
    match handed_back {
        Ok(0) => {}
        Ok(jobs) => tracing::info!(queue = queue_key, jobs, "handed back jobs fetched and not finished"),
        Err(err) => {
            tracing::warn!(queue = queue_key, error = %err, "could not deregister ended workers; the orphan window recovers their jobs");
        }
    }
}
