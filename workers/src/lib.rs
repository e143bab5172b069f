//! The job platform and CareHub's background processes: the job registry (every job kind
//! declared once), the Postgres outbox and its relay to Redis, the workers (`carehub work`) with
//! the platform's own handlers and outbound clients (SMS), the clock (`carehub clock`) and queue
//! statistics for operators.
//!
//! This crate is a dependency of the `carehub` package (whose binary starts it), so it does not
//! depend on `carehub`: the web side enqueues through [`outbox::enqueue`] and
//! [`sms::queue_sms`] inside its own transactions, and the domain contexts' job handlers, which
//! reach their data through their own repositories, are registered by `carehub` in a
//! [`Registry`] it hands to [`run_workers`] and [`run_clock`]. No SQL here touches a domain
//! context's tables; this crate's own are `outbox` and `sms_messages`.

pub use apalis;

pub mod clock;
pub mod job_service;
pub mod jobs;
pub mod llm;
pub mod outbox;
pub mod redact;
pub mod registry;
pub mod relay;
pub mod runtime;
pub mod scan;
pub mod sms;
pub mod stats;

pub use clock::{ClockReport, ClockSettings, run_clock};
pub use registry::{Handler, JobContext, JobKind, JobResult, Registry};
pub use runtime::{WorkerSettings, run as run_workers};
