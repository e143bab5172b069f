//! Operations: liveness, readiness (Postgres and Redis), Prometheus metrics, the job queues.

pub mod dead_jobs;
pub mod metrics;
pub mod repo;
pub mod routes;
