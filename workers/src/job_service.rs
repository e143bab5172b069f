//! The service every job handler runs in (the standard worker stack wraps each handler in it, so
//! a new job kind gets it by being registered): it counts and times each attempt by queue (the
//! process's Prometheus counters, and the per-minute done and failed counts in Redis that the
//! console charts, handed to an [`OutcomeRecorder`] without waiting: see
//! [`stats::recorder`](crate::stats::recorder)), and ends a job that fails on its last attempt in
//! the dead set.
//!
//! The attempt budget is needed because retries are two-layered (STACK.md trap 8): the in-process
//! retry policy stops after `max_attempts`, but apalis-redis then re-queues the failed job, up to
//! 25 attempts whatever the policy says. A failure at attempt `max_attempts` is therefore turned
//! into an `AbortError` here, below apalis's task lifecycle, which records it as killed and moves
//! the job to `{queue}:dead`, where operators see it and can retry it.

use std::{
    panic::AssertUnwindSafe,
    task::{Context, Poll},
    time::Instant,
};

use apalis::prelude::{AbortError, BoxDynError, Service, Task};
use futures::{FutureExt as _, future::BoxFuture};

use crate::{
    jobs::Queue,
    stats::recorder::{Outcome, OutcomeRecorder},
};

/// A job handler (any apalis task service) with metrics and an attempt budget.
#[derive(Debug, Clone)]
pub struct JobService<S> {
    inner: S,
    queue: Queue,
    max_attempts: usize,
    outcomes: OutcomeRecorder,
}

impl<S> JobService<S> {
    /// `inner` on `queue`, dead after `max_attempts` attempts, each attempt's outcome reported
    /// to `outcomes`.
    pub fn new(inner: S, queue: Queue, max_attempts: usize, outcomes: OutcomeRecorder) -> Self {
        Self { inner, queue, max_attempts: max_attempts.max(1), outcomes }
    }
}

fn is_abort(err: &BoxDynError) -> bool {
    err.downcast_ref::<AbortError>().is_some()
}

impl<S, Args> Service<Task<Args>> for JobService<S>
where
    S: Service<Task<Args>, Error = BoxDynError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<S::Response, BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, task: Task<Args>) -> Self::Future {
        // apalis counts the attempt when the job starts running, after this call: read it after.
        let attempt = task.raw_attempt().clone();
        let task_id = task.task_id().map(ToString::to_string).unwrap_or_default();
        let (queue, max_attempts, outcomes) = (self.queue, self.max_attempts, self.outcomes.clone());
        let job = self.inner.call(task);
        async move {
            let labels = [("queue", queue.name())];
            metrics::counter!("jobs_started_total", &labels).increment(1);
            let started = Instant::now();
            let result = match AssertUnwindSafe(job).catch_unwind().await {
                Ok(result) => result,
                Err(panic) => {
                    // Counted here, then left to the stack's panic catcher (which kills the job).
                    metrics::counter!("jobs_dead_total", &labels).increment(1);
                    outcomes.record(queue, Outcome::Failed);
                    std::panic::resume_unwind(panic);
                }
            };
            metrics::histogram!("job_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
            let attempt = attempt.current();
            let result = match result {
                Err(err) if !is_abort(&err) && attempt >= max_attempts => {
                    // The error itself is kept with the dead job; it is not logged (it may
                    // carry data from the database).
                    tracing::warn!(queue = queue.name(), job.id = %task_id, attempt, "job failed on its last attempt; dead");
                    Err(AbortError::new(err).into())
                }
                other => other,
            };
            let outcome = match &result {
                Ok(_) => "jobs_succeeded_total",
                Err(err) if is_abort(err) => "jobs_dead_total",
                Err(_) => "jobs_retried_total",
            };
            metrics::counter!(outcome, &labels).increment(1);
            outcomes.record(queue, if result.is_ok() { Outcome::Done } else { Outcome::Failed });
            if attempt > 1 {
                tracing::debug!(queue = queue.name(), job.id = %task_id, attempt, "job retry finished");
            }
            result
        }
        .boxed()
    }
}
