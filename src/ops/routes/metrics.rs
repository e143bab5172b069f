//! `GET /metrics`: Prometheus text exposition, with the queue depths, the outbox backlog and the
//! audit rows awaiting the sealer read at scrape time.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use secrecy::ExposeSecret as _;

use crate::{
    http::{error::ApiError, routing::resource},
    state::AppState,
};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics").get(metrics));
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
    if let Some(queues) = super::queues::all_queue_stats(state).await {
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
