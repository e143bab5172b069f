//! The clock (`carehub clock`): the cron schedules of the registry's scheduled kinds (declared
//! with [`JobKind::every`](crate::kind::JobKind::every)). Each tick writes its job to the
//! outbox keyed by schedule and tick time ([`outbox::enqueue_tick`](crate::outbox::enqueue_tick)), so a restarted clock, or a second one by mistake,
//! never runs a tick's work twice: the second insert of a key is ignored.

use std::{
    str::FromStr as _,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use apalis::prelude::*;
use apalis_cron::{CronScheduler, Tick};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{registered::Kind, registry::Registry};

/// How the clock runs (the schedules themselves are the registry's).
#[derive(Debug, Clone)]
pub struct ClockSettings {
    pub shutdown_timeout: Duration,
}

/// What a clock did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockReport {
    /// Ticks this clock saw.
    pub ticks: u64,
    /// Ticks whose job this clock wrote (a tick another clock wrote first is not counted).
    pub enqueued: u64,
}

/// What one schedule's cron worker holds.
#[derive(Clone)]
struct ClockContext {
    db: PgPool,
    kind: Arc<dyn Kind>,
    schedule: &'static str,
    ticks: Arc<AtomicU64>,
    enqueued: Arc<AtomicU64>,
}

fn tick_time(tick: &Tick) -> DateTime<Utc> {
    let seconds = i64::try_from(tick.get_timestamp()).unwrap_or_default();
    DateTime::from_timestamp(seconds, 0).unwrap_or_else(Utc::now)
}

async fn on_tick(tick: Tick, ctx: Data<ClockContext>) -> Result<(), BoxDynError> {
    let at = tick_time(&tick);
    let written = ctx.kind.enqueue_tick(ctx.db.clone(), at).await?;
    ctx.ticks.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("clock_ticks_total", "schedule" => ctx.schedule).increment(1);
    if written {
        ctx.enqueued.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn schedule(expr: &str, name: &str) -> anyhow::Result<cron::Schedule> {
    cron::Schedule::from_str(expr).map_err(|e| anyhow::anyhow!("schedule {name} ({expr}): {e}"))
}

fn clock_name(schedule: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("clock-{schedule}-{}", &suffix[..8])
}

/// Runs the schedules of `registry` until `shutdown`.
pub async fn run_clock(
    db: PgPool,
    settings: ClockSettings,
    registry: Registry,
    shutdown: CancellationToken,
) -> anyhow::Result<ClockReport> {
    let (ticks, enqueued) = (Arc::<AtomicU64>::default(), Arc::<AtomicU64>::default());
    let mut monitor = Monitor::new();
    let mut names = Vec::new();
    for kind in registry.entries() {
        let Some(scheduled) = kind.info().schedule.as_ref() else { continue };
        let cron = schedule(&scheduled.cron, scheduled.name)?;
        let ctx = ClockContext {
            db: db.clone(),
            kind: kind.clone(),
            schedule: scheduled.name,
            ticks: ticks.clone(),
            enqueued: enqueued.clone(),
        };
        names.push(format!("{}={}", scheduled.name, scheduled.cron));
        // A tick missed while the process was busy stops a cron worker; it is restarted at once
        // with a fresh schedule (the missed tick's job is simply written by the next one).
        monitor = monitor.register(move |_| {
            WorkerBuilder::new(clock_name(ctx.schedule))
                .backend(CronScheduler::new(cron.clone()))
                .data(ctx.clone())
                .build(on_tick)
        });
    }
    tracing::info!(schedules = ?names, "clock started");
    if names.is_empty() {
        shutdown.cancelled().await;
    } else {
        let signal = shutdown.clone();
        monitor
            .should_restart(|worker, err| {
                tracing::warn!(worker = %worker.name(), error = %err, "clock schedule stopped; restarting");
                true
            })
            .shutdown_timeout(settings.shutdown_timeout)
            .run_with_signal(async move {
                signal.cancelled().await;
                Ok(())
            })
            .await
            .map_err(|e| anyhow::anyhow!("clock monitor: {e}"))?;
    }
    let report = ClockReport { ticks: ticks.load(Ordering::Relaxed), enqueued: enqueued.load(Ordering::Relaxed) };
    tracing::info!(ticks = report.ticks, enqueued = report.enqueued, "clock stopped");
    Ok(report)
}
