//! Operations: liveness, readiness (Postgres and Redis), Prometheus metrics, the job queues.

pub mod metrics;
pub mod repo;
pub mod routes;
