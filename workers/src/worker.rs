//! One job kind's worker: its settings ([`WorkerSettings`]), the registered handler as an apalis
//! service (each run gets a [`JobContext`]), the standard stack every kind runs on, and the
//! supervision that restarts it after a failure and deregisters its ended names.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis::prelude::{BoxDynError, Monitor, Service, Task};
use apalis_redis::ConnectionManager;
use futures::{FutureExt as _, future::BoxFuture};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    context::{Handler, JobContext},
    job_service::JobService,
    jobs::Job,
    kind::KindInfo,
    names::{deregister, worker_name},
    poll::Tick,
    push,
    stats::recorder::OutcomeRecorder,
};

/// How the workers run (built by the `carehub` binary from its configuration).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub redis_url: String,
    /// Prefix of every queue name (empty in production; one per test).
    pub namespace: String,
    /// How often an idle worker asks Redis for due jobs (enqueue -> start latency).
    pub poll_interval: Duration,
    /// Attempts per job, the first included; then the job goes to the dead set.
    pub max_attempts: usize,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub shutdown_timeout: Duration,
    /// How long a worker may go without a heartbeat before the jobs it fetched are run by
    /// another (apalis-redis's orphan window; its own default is 5 minutes).
    pub orphan_after: Duration,
    pub relay_batch: i64,
    pub relay_idle: Duration,
}

/// A registered handler as an apalis task service: each run gets a [`JobContext`].
struct HandlerService<J> {
    handler: Arc<dyn Handler<J>>,
    db: PgPool,
    max_attempts: usize,
}

impl<J> Clone for HandlerService<J> {
    fn clone(&self) -> Self {
        Self { handler: self.handler.clone(), db: self.db.clone(), max_attempts: self.max_attempts }
    }
}

impl<J: Job> Service<Task<J>> for HandlerService<J> {
    type Response = ();
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<(), BoxDynError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, task: Task<J>) -> Self::Future {
        let ctx = JobContext::of_run(self.db.clone(), task.raw_attempt().clone(), self.max_attempts);
        self.handler.call(task.args, ctx)
    }
}

/// The worker of kind `J` with the standard stack, outermost first: the concurrency limit,
/// retries with exponential backoff (not for aborted jobs), a tracing span per attempt, panic
/// catching (a panicking job is aborted to the dead set; the worker lives on), and around the
/// handler the [`JobService`]: metrics, the per-minute counts (reported to `outcomes`), and the
/// dead set after `max_attempts` attempts, for every kind alike. The backend is polled every
/// `poll_interval` ([`Tick`]), so a job starts well under a second after it is pushed
/// (apalis-redis otherwise promotes new jobs only on its 30 s heartbeat).
///
/// The worker is supervised until `shutdown`: restarted after a failure (Redis gone, a payload
/// that no longer decodes) with a pause growing to 5 s, so an outage is waited out instead of spun
/// on, and the worker is back within 5 s of Redis.
/// Each run is a monitor of its own: a failed worker ends its run, and on shutdown the in-flight
/// jobs finish (up to `shutdown_timeout`).
pub(crate) fn supervised_worker<J: Job>(
    kind: &KindInfo,
    handler: Arc<dyn Handler<J>>,
    conn: &ConnectionManager,
    settings: &WorkerSettings,
    shutdown: &CancellationToken,
    db: &PgPool,
    outcomes: &OutcomeRecorder,
) -> anyhow::Result<BoxFuture<'static, ()>> {
    use apalis::{
        layers::retry::{HasherRng, RetryPolicy, backoff::ExponentialBackoffMaker, backoff::MakeBackoff as _},
        prelude::{AbortError, BackendExt as _, WorkerBuilder, WorkerBuilderExt as _},
    };
    let backoff =
        ExponentialBackoffMaker::new(settings.backoff_initial, settings.backoff_max, 0.5, HasherRng::default())
            .map_err(|e| anyhow::anyhow!("retry backoff: {e}"))?
            .make_backoff();
    let max_attempts = settings.max_attempts.max(1);
    let policy = RetryPolicy::retries(max_attempts - 1)
        .with_backoff(backoff)
        .retry_if(|err: &BoxDynError| err.downcast_ref::<AbortError>().is_none());
    let backend = push::worker_storage::<J>(conn.clone(), &settings.namespace, settings.orphan_after)
        .poll_with_strategy(Tick::new(settings.poll_interval));
    let queue = kind.queue;
    let concurrency = kind.concurrency;
    let service = JobService::new(
        HandlerService { handler, db: db.clone(), max_attempts },
        queue,
        max_attempts,
        outcomes.clone(),
    );
    // The names this worker has registered under, to deregister when a run ends.
    let names = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let registered = Arc::clone(&names);
    let factory = move |_restarts: usize| {
        let name = worker_name(queue);
        if let Ok(mut names) = registered.lock() {
            names.push(name.clone());
        }
        WorkerBuilder::new(name)
            .backend(backend.clone())
            .concurrency(concurrency)
            .retry(policy.clone())
            .enable_tracing()
            .catch_panic()
            .build(service.clone())
    };
    let shutdown = shutdown.clone();
    let timeout = settings.shutdown_timeout;
    let queue_key = queue.key(&settings.namespace);
    let mut redis = conn.clone();
    Ok(async move {
        let mut pause = Duration::from_millis(500);
        loop {
            let started = std::time::Instant::now();
            let signal = shutdown.clone();
            let ended = Monitor::new()
                .register(factory.clone())
                .shutdown_timeout(timeout)
                .run_with_signal(async move {
                    signal.cancelled().await;
                    Ok(())
                })
                .await;
            deregister(&mut redis, &queue_key, &names).await;
            if shutdown.is_cancelled() {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                pause = Duration::from_millis(500);
            }
            tracing::error!(queue = queue.name(), result = ?ended.err(), pause_ms = pause.as_millis() as u64, "worker stopped; restarting");
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = shutdown.cancelled() => break,
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
    .boxed())
}
