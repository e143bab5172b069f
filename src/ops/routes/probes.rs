//! `GET /healthz` (alive) and `GET /readyz` (Postgres and Redis answer; in the worker process,
//! clamd too).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{http::routing::resource, ops::repo, state::AppState};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(healthz)).service(resource("/readyz").get(readyz));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub postgres: &'static str,
    pub redis: &'static str,
    /// The worker process only: clamd answers PING (uploads stay unscanned otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clamd: Option<&'static str>,
    /// Outbox rows committed but not yet pushed to Redis, and the oldest one's age: a growing
    /// age means jobs are waiting (Redis or the workers are down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbox_pending: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbox_oldest_age_seconds: Option<f64>,
    /// Names the failing dependencies when not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

async fn postgres_ok(state: &AppState) -> bool {
    let probe = repo::ping(&state.db);
    matches!(tokio::time::timeout(CHECK_TIMEOUT, probe).await, Ok(Ok(1)))
}

async fn redis_ok(state: &AppState) -> bool {
    let probe = async {
        let mut conn = state.redis.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    matches!(tokio::time::timeout(CHECK_TIMEOUT, probe).await, Ok(Ok(_)))
}

/// What the worker process's `/readyz` checks beside Postgres and Redis.
#[derive(Debug, Clone)]
pub struct WorkerChecks {
    pub clamd: carehub_workers::scan::Clamd,
}

/// Ready to serve: Postgres and Redis both answer (and clamd, in the worker process). 503 names
/// the failing one.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(state: web::Data<AppState>, worker: Option<web::Data<WorkerChecks>>) -> HttpResponse {
    let clamd_ok = async {
        match &worker {
            Some(checks) => Some(checks.clamd.ping().await),
            None => None,
        }
    };
    let (postgres, redis, clamd) = tokio::join!(postgres_ok(&state), redis_ok(&state), clamd_ok);
    let failing: Vec<&str> = [("postgres", postgres), ("redis", redis), ("clamd", clamd.unwrap_or(true))]
        .into_iter()
        .filter_map(|(name, ok)| (!ok).then_some(name))
        .collect();
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let backlog = if postgres { carehub_workers::outbox::backlog(&state.db).await.ok() } else { None };
    let body = Readiness {
        outbox_pending: backlog.map(|(pending, _)| pending),
        outbox_oldest_age_seconds: backlog.map(|(_, age)| age),
        status: if failing.is_empty() { "ok" } else { "unavailable" },
        postgres: word(postgres),
        redis: word(redis),
        clamd: clamd.map(word),
        detail: (!failing.is_empty()).then(|| format!("unavailable: {}", failing.join(", "))),
    };
    if failing.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        tracing::warn!(failing = ?failing, "not ready");
        HttpResponse::ServiceUnavailable().json(body)
    }
}
