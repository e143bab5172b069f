//! The worker process: one apalis worker per registered job kind (see [`worker`](crate::worker):
//! explicit queue names, unique worker names, concurrency, exponential-backoff retries bounded in
//! attempts, panics caught), the outbox relay beside them, and a drain on shutdown (in-flight jobs
//! finish, then the process exits), and the writer of the per-minute job counts
//! ([`stats::recorder`](crate::stats::recorder)), finished after the workers so their last
//! outcomes are written. Which kinds run, and with which handler, is the [`Registry`]'s to say.

use std::time::Duration;

use apalis_redis::ConnectionManager;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    registry::Registry,
    relay::{self, Pushers},
    stats::recorder::OutcomeRecorder,
    worker::WorkerSettings,
};

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
    let (outcomes, recorder) = OutcomeRecorder::spawn(conn.clone(), settings.namespace.clone());
    let workers = registry
        .entries()
        .iter()
        .map(|kind| kind.worker(&conn, &settings, &shutdown, &db, &outcomes))
        .collect::<anyhow::Result<Vec<_>>>();
    drop(outcomes);
    let workers = match workers {
        Ok(workers) => workers,
        Err(err) => {
            recorder.finish().await;
            return Err(err);
        }
    };
    let relay = tokio::spawn(relay::run(
        db.clone(),
        Pushers::new(&registry, &conn, &settings.namespace),
        settings.relay_batch,
        settings.relay_idle,
        shutdown.clone(),
    ));
    let kinds: Vec<&str> = registry.kinds().map(|kind| kind.name).collect();
    tracing::info!(namespace = %settings.namespace, ?kinds, "workers starting");
    futures::future::join_all(workers).await;
    shutdown.cancel();
    recorder.finish().await;
    relay.await?;
    tracing::info!("workers stopped");
    Ok(())
}
