//! The ops context's routes: the probes (`/healthz`, `/readyz`), `/metrics`, and the job queues
//! of the operations API (`/api/ops/queues/`).

mod metrics;
mod probes;
mod queues;

use actix_web::web;

pub use probes::WorkerChecks;

/// Every route of the ops context: probes, metrics and the queues.
pub fn configure(cfg: &mut web::ServiceConfig) {
    probes::configure(cfg);
    metrics::configure(cfg);
    queues::configure(cfg);
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(probes::healthz, probes::readyz, metrics::metrics, queues::queues, queues::retry))]
pub struct Api;
