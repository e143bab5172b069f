//! The declaration of one job kind: [`JobKind`] names the payload type (whose
//! [`Job`] impl gives its queue and stable name), its handler, its concurrency and, for a kind the
//! clock makes, its [`Schedule`]. [`KindInfo`] is what the registry's readers see of it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::{
    context::Handler,
    jobs::{Job, Queue, Scheduled},
};

/// A cron schedule of the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Stable name: metrics label and the dedupe key of each tick (`clock:<name>:<time>`).
    pub name: &'static str,
    /// Cron expression with seconds (`sec min hour day month weekday`).
    pub cron: String,
}

/// A kind as the registry's readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindInfo {
    /// The payload type's stable name ([`Job::NAME`]).
    pub name: &'static str,
    pub queue: Queue,
    /// Jobs of this kind one worker process runs at a time.
    pub concurrency: usize,
    /// Set for a kind the clock makes.
    pub schedule: Option<Schedule>,
}

/// The declaration of one job kind, `J`, with its handler.
pub struct JobKind<J> {
    pub(crate) info: KindInfo,
    pub(crate) handler: Arc<dyn Handler<J>>,
    /// The job of a tick, for a kind the clock makes.
    pub(crate) at: Option<fn(DateTime<Utc>) -> J>,
}

impl<J: Job> JobKind<J> {
    /// Kind `J`, run by `handler`, one job at a time.
    pub fn new(handler: impl Handler<J>) -> Self {
        Self {
            info: KindInfo { name: J::NAME, queue: J::QUEUE, concurrency: 1, schedule: None },
            handler: Arc::new(handler),
            at: None,
        }
    }

    /// Up to `n` jobs at a time per worker process.
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.info.concurrency = n.max(1);
        self
    }
}

impl<J: Scheduled> JobKind<J> {
    /// Made by the clock on every tick of `cron`, the schedule being called `name`.
    #[must_use]
    pub fn every(mut self, name: &'static str, cron: impl Into<String>) -> Self {
        self.info.schedule = Some(Schedule { name, cron: cron.into() });
        self.at = Some(J::at);
        self
    }
}
