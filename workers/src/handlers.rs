//! Handlers of the scheduled jobs.

use apalis::prelude::{Attempt, BoxDynError, Data};

use crate::{
    jobs::{PurgeExpiredSessions, Queue, ReminderSweep},
    runtime::Context,
};

/// Removes login families that expired more than a day ago (kept a day for forensics).
pub async fn purge_expired_sessions(
    job: PurgeExpiredSessions,
    ctx: Data<Context>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    crate::runtime::observe(Queue::Maintenance, attempt.current(), purge(job, &ctx)).await
}

async fn purge(job: PurgeExpiredSessions, ctx: &Context) -> Result<(), BoxDynError> {
    let removed = sqlx::query("delete from refresh_token_families where expires_at < now() - interval '1 day'")
        .execute(&ctx.db)
        .await?
        .rows_affected();
    tracing::info!(tick = %job.tick, removed, "expired logins purged");
    Ok(())
}

/// The reminder sweep: finds appointments due a reminder and queues their SMS. Appointments do
/// not exist yet; the appointments context fills this in.
pub async fn reminder_sweep(job: ReminderSweep, attempt: Attempt) -> Result<(), BoxDynError> {
    crate::runtime::observe(Queue::Reminder, attempt.current(), async move {
        tracing::debug!(tick = %job.tick, "reminder sweep (no appointments yet)");
        Ok(())
    })
    .await
}
