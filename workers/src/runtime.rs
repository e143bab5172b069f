//! The worker process: one apalis worker per queue (explicit queue names, unique worker names,
//! concurrency, exponential-backoff retries bounded in attempts, panics caught), the outbox relay
//! beside them, and a drain on shutdown (in-flight jobs finish, then the process exits).

use std::time::Duration;

use apalis::prelude::Monitor;
use apalis_redis::ConnectionManager;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    handlers,
    jobs::{PurgeExpiredSessions, Queue, ReminderSweep, SendSms},
    relay::{self, Pushers},
    sms::{self, SmsProvider},
};

/// How the workers run (built by the `carehub` binary from its configuration).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub redis_url: String,
    /// Prefix of every queue name (empty in production; one per test).
    pub namespace: String,
    /// How often an idle worker asks Redis for due jobs (enqueue -> start latency).
    pub poll_interval: Duration,
    pub sms_concurrency: usize,
    /// Attempts per job, the first included; then the job goes to the dead set.
    pub max_attempts: usize,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub shutdown_timeout: Duration,
    pub relay_batch: i64,
    pub relay_idle: Duration,
    pub sms: SmsProvider,
    /// How long before an appointment its reminder SMS goes out.
    pub reminder_lead_minutes: i32,
}

/// What handlers share.
#[derive(Clone)]
pub struct Context {
    pub db: PgPool,
    pub sms: SmsProvider,
    pub max_attempts: usize,
    pub reminder_lead_minutes: i32,
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

/// Builds the factory of one worker with the standard stack, outermost first: the concurrency
/// limit, retries with exponential backoff (not for aborted jobs), a tracing span per attempt,
/// panic catching (a panicking job is aborted to the dead set; the worker lives on), and around
/// the handler the [`JobService`](crate::job_service::JobService): metrics, and the dead set
/// after `max_attempts` attempts for every job kind. The backend is polled every
/// `poll_interval`, so a job starts well under a second after it is pushed (apalis-redis
/// otherwise promotes new jobs only on its 30 s heartbeat).
#[macro_export]
macro_rules! standard_worker {
    ($job:ty, $queue:expr, $conn:expr, $settings:expr, $ctx:expr, $concurrency:expr, $handler:expr) => {{
        use $crate::apalis::layers::retry::backoff::MakeBackoff as _;
        use $crate::apalis::prelude::{BackendExt as _, WorkerBuilderExt as _};
        let settings: &$crate::runtime::WorkerSettings = $settings;
        let backoff = $crate::apalis::layers::retry::backoff::ExponentialBackoffMaker::new(
            settings.backoff_initial,
            settings.backoff_max,
            0.5,
            $crate::apalis::layers::retry::HasherRng::default(),
        )
        .map_err(|e| anyhow::anyhow!("retry backoff: {e}"))?
        .make_backoff();
        let policy = $crate::apalis::layers::retry::RetryPolicy::retries(settings.max_attempts.saturating_sub(1))
            .with_backoff(backoff)
            .retry_if(|err: &$crate::apalis::prelude::BoxDynError| {
                err.downcast_ref::<$crate::apalis::prelude::AbortError>().is_none()
            });
        let backend = $crate::relay::storage::<$job>($conn.clone(), &settings.namespace)
            .poll_with_interval(settings.poll_interval);
        let ctx = $ctx.clone();
        let concurrency: usize = $concurrency;
        let max_attempts = settings.max_attempts;
        move |_restarts: usize| {
            $crate::apalis::prelude::WorkerBuilder::new($crate::runtime::worker_name($queue))
                .backend(backend.clone())
                .concurrency(concurrency)
                .retry(policy.clone())
                .enable_tracing()
                .catch_panic()
                .data(ctx.clone())
                .build($crate::job_service::JobService::new(
                    $crate::apalis::prelude::task_fn($handler),
                    $queue,
                    max_attempts,
                ))
        }
    }};
}

/// Runs one queue's worker until `shutdown`, restarting it after a failure (Redis gone, a
/// payload that no longer decodes) with a growing pause, so an outage is waited out instead of
/// spun on. Each run is a monitor of its own: a failed worker ends its run, and on shutdown the
/// in-flight jobs finish (up to `timeout`).
macro_rules! supervise {
    ($queue:expr, $factory:expr, $shutdown:expr, $timeout:expr) => {{
        let factory = $factory;
        let shutdown = $shutdown.clone();
        let timeout: Duration = $timeout;
        async move {
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
                if shutdown.is_cancelled() {
                    break;
                }
                if started.elapsed() > Duration::from_secs(60) {
                    pause = Duration::from_millis(500);
                }
                tracing::error!(queue = $queue.name(), result = ?ended.err(), pause_ms = pause.as_millis() as u64, "worker stopped; restarting");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = shutdown.cancelled() => break,
                }
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }};
}

/// Runs every queue's worker and the outbox relay until `shutdown`, then drains: in-flight jobs
/// finish (up to `shutdown_timeout`) and the function returns.
pub async fn run(db: PgPool, settings: WorkerSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let Some(conn) = connect_redis(&settings.redis_url, &shutdown).await? else {
        return Ok(());
    };
    let ctx = Context {
        db: db.clone(),
        sms: settings.sms.clone(),
        max_attempts: settings.max_attempts.max(1),
        reminder_lead_minutes: settings.reminder_lead_minutes,
    };
    let relay = tokio::spawn(relay::run(
        db.clone(),
        Pushers::new(&conn, &settings.namespace),
        settings.relay_batch,
        settings.relay_idle,
        shutdown.clone(),
    ));

    let sms_worker =
        crate::standard_worker!(SendSms, Queue::Sms, conn, &settings, ctx, settings.sms_concurrency, sms::send_sms);
    let reminder_worker =
        crate::standard_worker!(ReminderSweep, Queue::Reminder, conn, &settings, ctx, 1, handlers::reminder_sweep);
    let maintenance_worker = crate::standard_worker!(
        PurgeExpiredSessions,
        Queue::Maintenance,
        conn,
        &settings,
        ctx,
        1,
        handlers::purge_expired_sessions
    );
    tracing::info!(namespace = %settings.namespace, sms_provider = settings.sms.name(), "workers starting");
    let timeout = settings.shutdown_timeout;
    tokio::join!(
        supervise!(Queue::Sms, sms_worker, shutdown, timeout),
        supervise!(Queue::Reminder, reminder_worker, shutdown, timeout),
        supervise!(Queue::Maintenance, maintenance_worker, shutdown, timeout),
    );
    shutdown.cancel();
    relay.await?;
    tracing::info!("workers stopped");
    Ok(())
}
