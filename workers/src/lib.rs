//! The job platform and CareHub's background processes: the job registry (every job kind
//! declared once), the Postgres outbox and its relay to Redis, the workers (`carehub work`) with
//! the platform's own handlers and outbound clients (SMS, clamd, the LLM API), the clock
//! (`carehub clock`) and queue statistics for operators.
//!
//! This crate is a dependency of the `carehub` package (whose binary starts it), so it does not
//! depend on `carehub`: the web side enqueues through [`outbox::enqueue`] and
//! [`sms::queue_sms`] inside its own transactions, and the domain contexts' job handlers, which
//! reach their data through their own repositories, are registered by `carehub` in a
//! [`Registry`] it hands to [`run_workers`] and [`run_clock`]. No SQL here touches a domain
//! context's tables; this crate's own are `outbox` and `sms_messages`.

pub use apalis;

pub mod clock;
pub mod context;
pub mod job_service;
pub mod jobs;
pub mod kind;
pub mod llm;
mod names;
pub mod outbox;
pub mod poll;
pub mod push;
pub mod redact;
mod registered;
pub mod registry;
pub mod relay;
pub mod runtime;
pub mod scan;
pub mod sms;
pub mod stats;
pub mod worker;

pub use clock::{ClockReport, ClockSettings, run_clock};
pub use context::{Handler, JobContext, JobResult};
pub use kind::JobKind;
pub use registry::Registry;
pub use runtime::run as run_workers;
pub use worker::WorkerSettings;
