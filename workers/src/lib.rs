//! The job platform and CareHub's background processes: job payloads and queues, the Postgres
//! outbox and its relay to Redis, the workers (`carehub work`) with their handlers and outbound
//! clients (SMS), the clock (`carehub clock`) and queue statistics for operators.
//!
//! This crate is a dependency of the `carehub` package (whose binary starts it), so it does not
//! depend on `carehub`: the web side enqueues through [`outbox::enqueue`] and
//! [`sms::queue_sms`] inside its own transactions.

pub use apalis;

pub mod clock;
pub mod handlers;
pub mod job_service;
pub mod jobs;
pub mod outbox;
pub mod redact;
pub mod relay;
pub mod runtime;
pub mod sms;
pub mod stats;

pub use clock::{ClockReport, ClockSettings, run_clock};
pub use runtime::{WorkerSettings, run as run_workers};
