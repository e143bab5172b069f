//! What an operator does with dead jobs, for the API (`/api/ops/queues/…/retry/`) and the
//! console alike: retry one, retry every dead job of a queue, discard one. Each is audited with
//! the operator as actor; the queues are the job registry's ([`AppState::job_kinds`]).

use std::time::Duration;

use carehub_workers::{jobs::Queue, stats};
use serde_json::json;

use crate::{
    accounts::model::{Principal, policy},
    audit::{self, AuditEvent, RequestMeta},
    http::error::ApiError,
    state::AppState,
};

const REDIS_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection to the queues' Redis, or 503 within 3 seconds.
pub async fn redis(state: &AppState) -> Result<redis::aio::MultiplexedConnection, ApiError> {
    tokio::time::timeout(REDIS_TIMEOUT, state.redis.get_multiplexed_async_connection())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or(ApiError::Unavailable("Redis is unavailable."))
}

/// The registry's queue of that name (404 for any other).
pub fn queue(state: &AppState, name: &str) -> Result<Queue, ApiError> {
    state.job_kinds.queue(name).ok_or(ApiError::NotFound)
}

fn job_id(job_id: &str) -> Result<&str, ApiError> {
    if job_id.is_empty() || job_id.len() > 64 { Err(ApiError::NotFound) } else { Ok(job_id) }
}

fn redis_failed(err: redis::RedisError) -> ApiError {
    ApiError::Internal(err.into())
}

/// What an operator does with one dead job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    /// Back to the queue, its attempts starting again.
    Retry,
    /// Removed for good, its payload too.
    Discard,
}

impl JobAction {
    /// The action a path segment names (`retry`, `discard`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "retry" => Some(Self::Retry),
            "discard" => Some(Self::Discard),
            _ => None,
        }
    }
}

/// Retries or discards dead job `job_id` of `queue`, audited (`job_retried`, `job_discarded`);
/// 404 when it is not a dead job of that queue.
pub async fn act(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    queue: Queue,
    job_id: &str,
    action: JobAction,
) -> Result<(), ApiError> {
    policy::require(policy::may_operate(caller), "Only administrators can retry or discard jobs.")?;
    let id = self::job_id(job_id)?;
    let mut conn = redis(state).await?;
    let namespace = &state.settings.jobs.namespace;
    let (done, audited) = match action {
        JobAction::Retry => (stats::retry_dead(&mut conn, namespace, queue, id).await, "job_retried"),
        JobAction::Discard => (stats::discard_dead(&mut conn, namespace, queue, id).await, "job_discarded"),
    };
    if !done.map_err(redis_failed)? {
        return Err(ApiError::NotFound);
    }
    let event = AuditEvent::new(audited).by(caller).target("job", id).details(json!({ "queue": queue.name() }));
    audit::record_alone(&state.db, meta, event).await?;
    Ok(())
}

/// Re-queues every dead job of `queue` (up to `stats::MAX_RETRY_ALL` a call); how many moved.
pub async fn retry_all(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    queue: Queue,
) -> Result<u64, ApiError> {
    policy::require(policy::may_operate(caller), "Only administrators can retry jobs.")?;
    let mut conn = redis(state).await?;
    let moved = stats::retry_all_dead(&mut conn, &state.settings.jobs.namespace, queue).await.map_err(redis_failed)?;
    let event = AuditEvent::new("dead_jobs_retried")
        .by(caller)
        .target("queue", queue.name())
        .details(json!({ "queue": queue.name(), "jobs": moved }));
    audit::record_alone(&state.db, meta, event).await?;
    Ok(moved)
}
