//! `GET /api/ops/queues/` and `POST /api/ops/queues/{queue}/jobs/{job_id}/retry/` (admin):
//! queue depths read from Redis, the outbox backlog from Postgres, and re-queueing of dead jobs.
//! The queues are the job registry's ([`crate::jobs::registry`]): one per job kind, read from
//! [`AppState::job_kinds`].

use std::time::Duration;

use actix_web::web;
use carehub_workers::{
    outbox,
    stats::{self, QueueStats},
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::{
    accounts::model::{Principal, policy},
    audit::RequestMeta,
    http::{
        error::{ApiError, ErrorBody},
        routing::resource,
    },
    ops::dead_jobs,
    state::AppState,
};

const REDIS_TIMEOUT: Duration = Duration::from_secs(3);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/ops/queues/").get(queues))
        .service(resource("/api/ops/queues/{queue}/jobs/{job_id}/retry/").post(retry));
}

/// The outbox rows not yet pushed to Redis.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxBacklog {
    pub pending: i64,
    pub oldest_age_seconds: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuesOverview {
    #[schema(value_type = Vec<Object>)]
    pub queues: Vec<QueueStats>,
    pub outbox: OutboxBacklog,
}

/// Statistics of every queue, read from Redis; `None` when Redis does not answer.
pub async fn all_queue_stats(state: &AppState) -> Option<Vec<QueueStats>> {
    let mut conn = dead_jobs::redis(state).await.ok()?;
    let namespace = &state.settings.jobs.namespace;
    let queues = state.job_kinds.queues();
    let read = async {
        let mut all = Vec::with_capacity(queues.len());
        for queue in queues {
            all.push(stats::queue_stats(&mut conn, namespace, queue).await?);
        }
        Ok::<_, redis::RedisError>(all)
    };
    match tokio::time::timeout(REDIS_TIMEOUT, read).await {
        Ok(Ok(all)) => Some(all),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "reading queue statistics failed");
            None
        }
        Err(_) => None,
    }
}

/// Every queue: pending, scheduled, active, done and dead jobs, live workers, the age of the
/// oldest pending job; and the outbox rows not yet pushed.
#[utoipa::path(get, path = "/api/ops/queues/", tag = "ops", security(("jwtAuth" = [])),
    responses((status = 200, body = QueuesOverview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 503, body = ErrorBody, description = "Redis is unavailable")))]
pub async fn queues(state: web::Data<AppState>, caller: Principal) -> Result<web::Json<QueuesOverview>, ApiError> {
    policy::require(policy::may_operate(&caller), "Only administrators can see the job queues.")?;
    let queues = all_queue_stats(&state).await.ok_or(ApiError::Unavailable("Redis is unavailable."))?;
    let (pending, oldest_age_seconds) = outbox::backlog(&state.db).await?;
    Ok(web::Json(QueuesOverview { queues, outbox: OutboxBacklog { pending, oldest_age_seconds } }))
}

/// Re-queue a dead job (its attempts start again).
#[utoipa::path(post, path = "/api/ops/queues/{queue}/jobs/{job_id}/retry/", tag = "ops", security(("jwtAuth" = [])),
    params(("queue" = String, Path, description = "e.g. carehub:sms"), ("job_id" = String, Path)),
    responses((status = 200, description = "Re-queued"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "No such queue, or no such dead job")))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
) -> Result<web::Json<serde_json::Value>, ApiError> {
    policy::require(policy::may_operate(&caller), "Only administrators can retry jobs.")?;
    let (queue_name, job_id) = path.into_inner();
    let queue = dead_jobs::queue(&state, &queue_name)?;
    dead_jobs::act(&state, &caller, &meta, queue, &job_id, dead_jobs::JobAction::Retry).await?;
    Ok(web::Json(json!({ "message": "Job re-queued.", "queue": queue.name(), "job_id": job_id })))
}
