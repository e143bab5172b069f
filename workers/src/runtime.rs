//! The worker process: one apalis worker per registered job kind (explicit queue names, unique
//! worker names, concurrency, exponential-backoff retries bounded in attempts, panics caught),
//! the outbox relay beside them, and a drain on shutdown (in-flight jobs finish, then the
//! process exits). Which kinds run, and with which handler, is the [`Registry`]'s to say.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis::prelude::{BoxDynError, Monitor, PollSnapshot, PollStrategy, Service, Task};
use apalis_redis::ConnectionManager;
use futures::{FutureExt as _, future::BoxFuture};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    job_service::JobService,
    jobs::{Job, Queue},
    registry::{Handler, JobContext, KindInfo, Registry},
    relay::{self, Pushers},
    sms::SmsProvider,
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
    pub relay_batch: i64,
    pub relay_idle: Duration,
    /// The SMS provider handlers send through.
    pub sms: SmsProvider,
}

/// This host's name, for worker names (Heroku's `DYNO`, else `HOSTNAME`).
fn host() -> String {
    std::env::var("DYNO")
        .or_else(|_| std::env::var("HOSTNAME"))
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
        .unwrap_or_else(|_| "host".into())
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect()
}

/// A worker name unique to this process start (a reused name is refused by apalis-redis for
/// five minutes after the previous holder's last heartbeat).
pub fn worker_name(queue: Queue) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}-{}", queue.name(), host(), &suffix[..8])
}

/// Connects to Redis, retrying until it answers or `shutdown` fires.
pub async fn connect_redis(url: &str, shutdown: &CancellationToken) -> anyhow::Result<Option<ConnectionManager>> {
    let client = redis::Client::open(url)?;
    let mut delay = Duration::from_millis(250);
    loop {
        match client.get_connection_manager().await {
            Ok(conn) => return Ok(Some(conn)),
            Err(err) => tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "Redis unavailable"),
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => return Ok(None),
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// A registered handler as an apalis task service: each run gets a [`JobContext`].
struct HandlerService<J> {
    handler: Arc<dyn Handler<J>>,
    db: PgPool,
    sms: SmsProvider,
    max_attempts: usize,
}

impl<J> Clone for HandlerService<J> {
    fn clone(&self) -> Self {
        Self {
            handler: self.handler.clone(),
            db: self.db.clone(),
            sms: self.sms.clone(),
            max_attempts: self.max_attempts,
        }
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
        let ctx = JobContext::of_run(self.db.clone(), self.sms.clone(), task.raw_attempt().clone(), self.max_attempts);
        self.handler.call(task.args, ctx)
    }
}

/// Wakes an idle worker every `period`, so it fetches again. apalis-core 1.0.0's
/// `IntervalStrategy` (`poll_with_interval`) re-arms its timer without polling it: when a fetch
/// takes longer than the interval, the new timer has already expired unseen when it is next
/// looked at, it is replaced by another unpolled one, and the worker, its fetch empty, sleeps with
/// nothing to wake it until its 30 s heartbeat (jobs pushed in the first half minute after a
/// start, on a busy machine, waited about 30 s). This one polls the re-armed timer, so a wake-up
/// is always registered.
#[derive(Debug)]
struct Tick {
    period: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Tick {
    fn new(period: Duration) -> Self {
        Self { period: period.max(Duration::from_millis(1)), sleep: None }
    }
}

impl Clone for Tick {
    fn clone(&self) -> Self {
        Self::new(self.period)
    }
}

impl PollStrategy for Tick {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let period = self.period;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(period)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        sleep.as_mut().reset(tokio::time::Instant::now() + period);
        // Registers this task's waker with the next tick (a `Sleep` only wakes whoever polled it).
        let _next = sleep.as_mut().poll(cx);
        Poll::Ready(Some(()))
    }
}

/// The worker of kind `J` with the standard stack, outermost first: the concurrency limit,
/// retries with exponential backoff (not for aborted jobs), a tracing span per attempt, panic
/// catching (a panicking job is aborted to the dead set; the worker lives on), and around the
/// handler the [`JobService`]: metrics, and the dead set after `max_attempts` attempts, for
/// every kind alike. The backend is polled every `poll_interval` ([`Tick`]), so a job starts well
/// under a second after it is pushed (apalis-redis otherwise promotes new jobs only on its 30 s
/// heartbeat).
///
/// The worker is supervised until `shutdown`: restarted after a failure (Redis gone, a payload
/// that no longer decodes) with a growing pause, so an outage is waited out instead of spun on.
/// Each run is a monitor of its own: a failed worker ends its run, and on shutdown the in-flight
/// jobs finish (up to `shutdown_timeout`).
pub(crate) fn supervised_worker<J: Job>(
    kind: &KindInfo,
    handler: Arc<dyn Handler<J>>,
    conn: &ConnectionManager,
    settings: &WorkerSettings,
    shutdown: &CancellationToken,
    db: &PgPool,
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
    let backend =
        relay::storage::<J>(conn.clone(), &settings.namespace).poll_with_strategy(Tick::new(settings.poll_interval));
    let queue = kind.queue;
    let concurrency = kind.concurrency;
    let service = JobService::new(
        HandlerService { handler, db: db.clone(), sms: settings.sms.clone(), max_attempts },
        queue,
        max_attempts,
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
    let workers_set = format!("{}:workers", queue.key(&settings.namespace));
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
            deregister(&mut redis, &workers_set, &names).await;
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
            pause = (pause * 2).min(Duration::from_secs(30));
        }
    }
    .boxed())
}

/// Takes a run's ended workers out of the queue's workers set, so the queue statistics and
/// `/readyz` stop listing them at once. apalis-redis 1.0.0 means to do this when a worker closes,
/// but removes the name of the worker's in-flight set instead of the worker's own name, which left
/// a stopped worker listed until it went stale (5 minutes). Best effort: with Redis gone, the
/// stale window still applies.
async fn deregister(redis: &mut ConnectionManager, workers_set: &str, names: &std::sync::Mutex<Vec<String>>) {
    let ended = names.lock().map(|mut names| std::mem::take(&mut *names)).unwrap_or_default();
    if ended.is_empty() {
        return;
    }
    let removed: redis::RedisResult<u64> = redis::cmd("ZREM").arg(workers_set).arg(&ended).query_async(redis).await;
    if let Err(err) = removed {
        tracing::warn!(workers_set, error = %err, "could not deregister ended workers; they go stale in 5 minutes");
    }
}

/// Runs a worker for every kind of `registry` and the outbox relay until `shutdown`, then drains:
/// in-flight jobs finish (up to `shutdown_timeout`) and the function returns.
pub async fn run(
    db: PgPool,
    settings: WorkerSettings,
    registry: Registry,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(conn) = connect_redis(&settings.redis_url, &shutdown).await? else {
        return Ok(());
    };
    let workers = registry
        .entries()
        .iter()
        .map(|kind| kind.worker(&conn, &settings, &shutdown, &db))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let relay = tokio::spawn(relay::run(
        db.clone(),
        Pushers::new(&registry, &conn, &settings.namespace),
        settings.relay_batch,
        settings.relay_idle,
        shutdown.clone(),
    ));
    let kinds: Vec<&str> = registry.kinds().map(|kind| kind.name).collect();
    tracing::info!(namespace = %settings.namespace, sms_provider = settings.sms.name(), ?kinds, "workers starting");
    futures::future::join_all(workers).await;
    shutdown.cancel();
    relay.await?;
    tracing::info!("workers stopped");
    Ok(())
}
