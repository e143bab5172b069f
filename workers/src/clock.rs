//! The clock (`carehub clock`): the cron schedules. Each tick writes its job to the outbox keyed
//! by schedule and tick time, so a restarted clock, or a second one by mistake, never runs a
//! tick's work twice: the second insert of a key is ignored.

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

use crate::{
    jobs::{Job, PurgeExpiredSessions, ReminderSweep},
    outbox,
};

/// The schedules (cron expressions with seconds: `sec min hour day month weekday`).
#[derive(Debug, Clone)]
pub struct ClockSettings {
    pub purge_sessions: String,
    pub reminder_sweep: String,
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

#[derive(Clone)]
struct ClockContext {
    db: PgPool,
    ticks: Arc<AtomicU64>,
    enqueued: Arc<AtomicU64>,
}

/// The dedupe key of a schedule's tick.
pub fn tick_key(schedule: &str, tick: DateTime<Utc>) -> String {
    format!("clock:{schedule}:{}", tick.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Writes the tick's job unless some clock already has; `true` when this call wrote it.
pub async fn enqueue_tick<J: Job>(db: &PgPool, schedule: &str, tick: DateTime<Utc>, job: &J) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let written = outbox::enqueue(&mut tx, job, Some(&tick_key(schedule, tick))).await?;
    tx.commit().await?;
    Ok(written)
}

fn tick_time(tick: &Tick) -> DateTime<Utc> {
    let seconds = i64::try_from(tick.get_timestamp()).unwrap_or_default();
    DateTime::from_timestamp(seconds, 0).unwrap_or_else(Utc::now)
}

async fn record(ctx: &ClockContext, schedule: &str, written: bool) {
    ctx.ticks.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("clock_ticks_total", "schedule" => schedule.to_owned()).increment(1);
    if written {
        ctx.enqueued.fetch_add(1, Ordering::Relaxed);
    }
}

async fn purge_sessions_tick(tick: Tick, ctx: Data<ClockContext>) -> Result<(), BoxDynError> {
    let at = tick_time(&tick);
    let job = PurgeExpiredSessions { tick: at.to_rfc3339() };
    let written = enqueue_tick(&ctx.db, "purge-expired-sessions", at, &job).await?;
    record(&ctx, "purge-expired-sessions", written).await;
    Ok(())
}

async fn reminder_sweep_tick(tick: Tick, ctx: Data<ClockContext>) -> Result<(), BoxDynError> {
    let at = tick_time(&tick);
    let job = ReminderSweep { tick: at.to_rfc3339() };
    let written = enqueue_tick(&ctx.db, "reminder-sweep", at, &job).await?;
    record(&ctx, "reminder-sweep", written).await;
    Ok(())
}

fn schedule(expr: &str, name: &str) -> anyhow::Result<cron::Schedule> {
    cron::Schedule::from_str(expr).map_err(|e| anyhow::anyhow!("schedule {name} ({expr}): {e}"))
}

fn clock_name(schedule: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("clock-{schedule}-{}", &suffix[..8])
}

/// Runs the schedules until `shutdown`.
pub async fn run_clock(
    db: PgPool,
    settings: ClockSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<ClockReport> {
    let purge = schedule(&settings.purge_sessions, "purge_sessions")?;
    let sweep = schedule(&settings.reminder_sweep, "reminder_sweep")?;
    let ctx = ClockContext { db, ticks: Arc::default(), enqueued: Arc::default() };
    let (purge_ctx, sweep_ctx) = (ctx.clone(), ctx.clone());
    tracing::info!(purge_sessions = %settings.purge_sessions, reminder_sweep = %settings.reminder_sweep, "clock started");
    let signal = shutdown.clone();
    // A tick missed while the process was busy stops a cron worker; it is restarted at once
    // with a fresh schedule (the missed tick's job is simply written by the next one).
    Monitor::new()
        .register(move |_| {
            WorkerBuilder::new(clock_name("purge-expired-sessions"))
                .backend(CronScheduler::new(purge.clone()))
                .data(purge_ctx.clone())
                .build(purge_sessions_tick)
        })
        .register(move |_| {
            WorkerBuilder::new(clock_name("reminder-sweep"))
                .backend(CronScheduler::new(sweep.clone()))
                .data(sweep_ctx.clone())
                .build(reminder_sweep_tick)
        })
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
    let report =
        ClockReport { ticks: ctx.ticks.load(Ordering::Relaxed), enqueued: ctx.enqueued.load(Ordering::Relaxed) };
    tracing::info!(ticks = report.ticks, enqueued = report.enqueued, "clock stopped");
    Ok(report)
}
