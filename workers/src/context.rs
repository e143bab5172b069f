//! What a job handler is to the platform: a function of its payload and a [`JobContext`] (the
//! database pool and the attempt), returning a [`JobResult`]. Outbound clients (the SMS provider,
//! clamd, the LLM client) are not in the context: each handler that needs one is handed it when
//! its kind is registered (`sms::send_sms(provider)`), so the platform knows none of them.

use std::future::Future;

use apalis::prelude::{Attempt, BoxDynError};
use futures::{FutureExt as _, future::BoxFuture};
use sqlx::PgPool;

/// What a handler's run gets from the platform: the database pool (for the owning context's
/// repository functions, and the platform's own tables) and the attempt.
#[derive(Clone)]
pub struct JobContext {
    pub db: PgPool,
    attempt: Attempt,
    max_attempts: usize,
}

impl JobContext {
    /// A context outside the worker runtime (tools, tests): the first of `max_attempts` attempts.
    pub fn new(db: PgPool, max_attempts: usize) -> Self {
        Self { db, attempt: Attempt::new_with_value(1), max_attempts: max_attempts.max(1) }
    }

    pub(crate) fn of_run(db: PgPool, attempt: Attempt, max_attempts: usize) -> Self {
        Self { db, attempt, max_attempts }
    }

    /// This run's attempt, the first being 1. (apalis counts it once the run has started, so it
    /// is read when asked, not when the context is made.)
    pub fn attempt(&self) -> usize {
        self.attempt.current()
    }

    /// Attempts a job gets before it is dead.
    pub fn max_attempts(&self) -> usize {
        self.max_attempts
    }

    /// No attempt follows this one if it fails.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt() >= self.max_attempts
    }
}

/// What a handler returns: `Err` is retried until the attempts are spent, an
/// [`AbortError`](apalis::prelude::AbortError) goes to the dead set at once.
pub type JobResult = Result<(), BoxDynError>;

/// A job handler: any `Fn(J, JobContext) -> impl Future<Output = JobResult>`.
pub trait Handler<J>: Send + Sync + 'static {
    fn call(&self, job: J, ctx: JobContext) -> BoxFuture<'static, JobResult>;
}

impl<J, F, Fut> Handler<J> for F
where
    F: Fn(J, JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = JobResult> + Send + 'static,
{
    fn call(&self, job: J, ctx: JobContext) -> BoxFuture<'static, JobResult> {
        self(job, ctx).boxed()
    }
}
