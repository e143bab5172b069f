//! The job registry: where a job kind is declared, once. A [`JobKind`] names the payload type
//! (whose [`Job`] impl gives its queue and stable name), its handler, its concurrency and, for a
//! kind the clock makes, its schedule. Everything that needs to know the kinds reads them from
//! the [`Registry`]: the relay (which queue an outbox row goes to), the worker runtime (one
//! supervised worker per kind), the clock (one cron schedule per scheduled kind) and the queue
//! statistics of the operations API. Adding a job kind is its payload type, its handler, and one
//! `.register(...)` in the application's registry (`carehub::jobs::registry`).
//!
//! Handlers live with the data they need: a kind of the platform (sending an SMS) here, a kind of
//! a domain context in that context (the reminder sweep in `carehub::appointments::jobs`), which
//! reaches its data through its own repository. This crate cannot name those handlers (it is a
//! dependency of `carehub`, not the reverse), so the `carehub` package builds the registry and
//! hands it to [`run_workers`](crate::run_workers) and [`run_clock`](crate::run_clock).
//!
//! Every kind runs on the same stack (concurrency limit, retries with backoff, panics caught,
//! metrics, and the dead set after `max_attempts`): see [`runtime`](crate::runtime).

use std::{collections::BTreeSet, fmt, future::Future, sync::Arc};

use apalis::prelude::{Attempt, BoxDynError};
use apalis_redis::ConnectionManager;
use chrono::{DateTime, Utc};
use futures::{FutureExt as _, future::BoxFuture};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    jobs::{Job, Queue, Scheduled},
    relay::Push,
    runtime::{self, WorkerSettings},
    sms::SmsProvider,
};

/// What a handler's run gets from the platform: the database pool (for the owning context's
/// repository functions, and the platform's own tables), the outbound clients, and the attempt.
#[derive(Clone)]
pub struct JobContext {
    pub db: PgPool,
    pub sms: SmsProvider,
    attempt: Attempt,
    max_attempts: usize,
}

impl JobContext {
    /// A context outside the worker runtime (tools, tests): the first of `max_attempts` attempts.
    pub fn new(db: PgPool, sms: SmsProvider, max_attempts: usize) -> Self {
        Self { db, sms, attempt: Attempt::new_with_value(1), max_attempts: max_attempts.max(1) }
    }

    pub(crate) fn of_run(db: PgPool, sms: SmsProvider, attempt: Attempt, max_attempts: usize) -> Self {
        Self { db, sms, attempt, max_attempts }
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
    info: KindInfo,
    handler: Arc<dyn Handler<J>>,
    at: Option<fn(DateTime<Utc>) -> J>,
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

/// A registered kind, its payload type erased, with what each reader does with it.
pub(crate) trait Kind: Send + Sync {
    fn info(&self) -> &KindInfo;
    /// The producer the relay pushes this kind's outbox rows with.
    fn pusher(&self, conn: ConnectionManager, namespace: &str) -> Arc<dyn Push>;
    /// This kind's worker, supervised until `shutdown`.
    fn worker(
        &self,
        conn: &ConnectionManager,
        settings: &WorkerSettings,
        shutdown: &CancellationToken,
        db: &PgPool,
    ) -> anyhow::Result<BoxFuture<'static, ()>>;
    /// Writes the job of the tick at `tick` to the outbox unless some clock has; `true` when this
    /// call wrote it. `false` for a kind without a schedule.
    fn enqueue_tick(&self, db: PgPool, tick: DateTime<Utc>) -> BoxFuture<'static, sqlx::Result<bool>>;
}

impl<J: Job> Kind for JobKind<J> {
    fn info(&self) -> &KindInfo {
        &self.info
    }

    fn pusher(&self, conn: ConnectionManager, namespace: &str) -> Arc<dyn Push> {
        Arc::new(crate::relay::storage::<J>(conn, namespace))
    }

    fn worker(
        &self,
        conn: &ConnectionManager,
        settings: &WorkerSettings,
        shutdown: &CancellationToken,
        db: &PgPool,
    ) -> anyhow::Result<BoxFuture<'static, ()>> {
        runtime::supervised_worker::<J>(&self.info, self.handler.clone(), conn, settings, shutdown, db)
    }

    fn enqueue_tick(&self, db: PgPool, tick: DateTime<Utc>) -> BoxFuture<'static, sqlx::Result<bool>> {
        let (Some(at), Some(schedule)) = (self.at, self.info.schedule.as_ref()) else {
            return async { Ok(false) }.boxed();
        };
        let name = schedule.name;
        async move { crate::clock::enqueue_tick(&db, name, tick, &at(tick)).await }.boxed()
    }
}

/// Every job kind of an application, each declared once.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: Vec<Arc<dyn Kind>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.kinds()).finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a kind.
    ///
    /// # Panics
    /// When its name, its queue or its schedule's name is already registered: two kinds on one
    /// queue would read each other's payloads, and the declaration is a programming error that
    /// the registry's test and every process start catch at once.
    #[must_use]
    pub fn register<J: Job>(mut self, kind: JobKind<J>) -> Self {
        let new = &kind.info;
        for old in self.kinds() {
            assert_ne!(old.name, new.name, "job kind {} registered twice", new.name);
            assert_ne!(old.queue, new.queue, "queue {} registered for {} and {}", new.queue.name(), old.name, new.name);
            if let (Some(a), Some(b)) = (&old.schedule, &new.schedule) {
                assert_ne!(a.name, b.name, "schedule {} registered for {} and {}", a.name, old.name, new.name);
            }
        }
        self.kinds.push(Arc::new(kind));
        self
    }

    /// The kinds, in registration order.
    pub fn kinds(&self) -> impl Iterator<Item = &KindInfo> {
        self.kinds.iter().map(|kind| kind.info())
    }

    /// The kinds' stable names.
    pub fn names(&self) -> BTreeSet<&'static str> {
        self.kinds().map(|kind| kind.name).collect()
    }

    /// The queues, one per kind, in registration order.
    pub fn queues(&self) -> Vec<Queue> {
        self.kinds().map(|kind| kind.queue).collect()
    }

    /// The registered queue called `name` (without namespace).
    pub fn queue(&self, name: &str) -> Option<Queue> {
        self.kinds().map(|kind| kind.queue).find(|queue| queue.name() == name)
    }

    /// The clock's schedules.
    pub fn schedules(&self) -> impl Iterator<Item = &Schedule> {
        self.kinds().filter_map(|kind| kind.schedule.as_ref())
    }

    pub(crate) fn entries(&self) -> &[Arc<dyn Kind>] {
        &self.kinds
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Ping;
    impl Job for Ping {
        const QUEUE: Queue = Queue::new("carehub:ping");
        const NAME: &'static str = "Ping";
    }
    impl Scheduled for Ping {
        fn at(_: DateTime<Utc>) -> Self {
            Self
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Pong;
    impl Job for Pong {
        const QUEUE: Queue = Queue::new("carehub:pong");
        const NAME: &'static str = "Pong";
    }

    /// Another kind that claims Ping's queue.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Squatter;
    impl Job for Squatter {
        const QUEUE: Queue = Queue::new("carehub:ping");
        const NAME: &'static str = "Squatter";
    }

    async fn nothing<J>(_: J, _: JobContext) -> JobResult {
        Ok(())
    }

    #[test]
    fn the_registry_lists_each_kind_with_its_queue_concurrency_and_schedule() {
        let registry = Registry::new()
            .register(JobKind::<Ping>::new(nothing::<Ping>).every("ping", "0 * * * * *"))
            .register(JobKind::<Pong>::new(nothing::<Pong>).concurrency(4));

        assert_eq!(registry.names(), BTreeSet::from(["Ping", "Pong"]));
        assert_eq!(registry.queues(), [Ping::QUEUE, Pong::QUEUE]);
        assert_eq!(registry.queue("carehub:pong"), Some(Pong::QUEUE));
        assert_eq!(registry.queue("carehub:nope"), None);
        let concurrency: Vec<usize> = registry.kinds().map(|k| k.concurrency).collect();
        assert_eq!(concurrency, [1, 4]);
        let schedules: Vec<&Schedule> = registry.schedules().collect();
        assert_eq!(schedules, [&Schedule { name: "ping", cron: "0 * * * * *".into() }]);
    }

    #[test]
    #[should_panic(expected = "queue carehub:ping registered for Ping and Squatter")]
    fn two_kinds_on_one_queue_are_refused() {
        let _ = Registry::new()
            .register(JobKind::<Ping>::new(nothing::<Ping>))
            .register(JobKind::<Squatter>::new(nothing::<Squatter>));
    }

    #[test]
    #[should_panic(expected = "job kind Pong registered twice")]
    fn a_kind_registered_twice_is_refused() {
        let _ = Registry::new()
            .register(JobKind::<Pong>::new(nothing::<Pong>))
            .register(JobKind::<Pong>::new(nothing::<Pong>));
    }
}
