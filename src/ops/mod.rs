//! Operations: liveness, readiness (Postgres and Redis), Prometheus metrics.

pub mod metrics;
pub mod queues;
pub mod repo;
pub mod routes;
