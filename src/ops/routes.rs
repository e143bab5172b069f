//! `GET /healthz` (alive), `GET /readyz` (Postgres and Redis answer; in the worker process,
//! clamd too), `GET /metrics`.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    http::{error::ApiError, routing::resource},
    state::AppState,
};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

fn configure_probes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(healthz))
        .service(resource("/readyz").get(readyz))
        .service(resource("/metrics").get(metrics));
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
    let probe = super::repo::ping(&state.db);
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

/// Prometheus text exposition. With `http.metrics_token` set, it requires that bearer token.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 401, description = "Token required")))]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let required = state.settings.http.metrics_token.expose_secret();
    if !required.is_empty() {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let matches = presented.is_some_and(|token| {
            use sha2::{Digest, Sha256};
            // Compare digests, so the comparison's time says nothing about the token.
            Sha256::digest(token.as_bytes()) == Sha256::digest(required.as_bytes())
        });
        if !matches {
            return Err(ApiError::NotAuthenticated);
        }
    }
    record_queue_gauges(&state).await;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render()))
}

/// Queue depths, the outbox backlog and the audit rows awaiting the sealer, read at scrape time.
async fn record_queue_gauges(state: &AppState) {
    if let Some(queues) = crate::ops::queues::all_queue_stats(state).await {
        for stats in queues {
            for (state_name, value) in [
                ("pending", stats.pending),
                ("scheduled", stats.scheduled),
                ("active", stats.active),
                ("dead", stats.dead),
            ] {
                metrics::gauge!("job_queue_depth", "queue" => stats.queue.clone(), "state" => state_name)
                    .set(value as f64);
            }
            metrics::gauge!("job_queue_oldest_pending_age_seconds", "queue" => stats.queue.clone())
                .set(stats.oldest_pending_age_seconds);
        }
    }
    if let Ok((pending, age)) = carehub_workers::outbox::backlog(&state.db).await {
        metrics::gauge!("outbox_pending").set(pending as f64);
        metrics::gauge!("outbox_oldest_age_seconds").set(age);
    }
    if let Ok((unsealed, age)) = crate::audit::verify::unsealed_backlog(&state.db).await {
        metrics::gauge!("audit_unsealed_rows").set(unsealed as f64);
        metrics::gauge!("audit_unsealed_oldest_age_seconds").set(age.max(0.0));
    }
}

/// Every route of the ops context: probes, metrics and the queues.
pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_probes(cfg);
    super::queues::configure(cfg);
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz, metrics, super::queues::queues, super::queues::retry,))]
pub struct Api;
