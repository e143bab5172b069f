//! CareHub's background processes: the job workers (`carehub work`) and the clock that
//! enqueues scheduled work (`carehub clock`).
//!
//! This crate is a dependency of the `carehub` package (whose binary starts it), so it must not
//! depend on `carehub` itself: handlers reach the domain through the ports the web crate
//! implements and passes in. The queues (SMS, file scan, recommendation, reminder), their
//! handlers and the cron schedules arrive with the job platform; until then both processes start,
//! report, and stop cleanly on SIGTERM/SIGINT.

use tokio_util::sync::CancellationToken;

/// Runs the job workers until `shutdown` is cancelled, then lets in-flight jobs finish.
pub async fn run_workers(shutdown: CancellationToken) -> anyhow::Result<()> {
    tracing::info!(queues = 0, "worker started (no queues registered yet)");
    shutdown.cancelled().await;
    tracing::info!("worker stopped");
    Ok(())
}

/// Runs the clock (the cron schedules, one instance) until `shutdown` is cancelled.
pub async fn run_clock(shutdown: CancellationToken) -> anyhow::Result<()> {
    tracing::info!(schedules = 0, "clock started (no schedules registered yet)");
    shutdown.cancelled().await;
    tracing::info!("clock stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn workers_and_clock_stop_when_cancelled() {
        let token = CancellationToken::new();
        let workers = tokio::spawn(run_workers(token.clone()));
        let clock = tokio::spawn(run_clock(token.clone()));
        token.cancel();
        let deadline = std::time::Duration::from_secs(5);
        assert!(tokio::time::timeout(deadline, workers).await.expect("workers stop").expect("join").is_ok());
        assert!(tokio::time::timeout(deadline, clock).await.expect("clock stops").expect("join").is_ok());
    }
}
