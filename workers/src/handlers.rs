//! Handlers of the scheduled jobs.

use apalis::prelude::{BoxDynError, Data};

use crate::{
    jobs::{PurgeExpiredSessions, ReminderSweep},
    runtime::Context,
};

/// Removes login families that expired more than a day ago (kept a day for forensics).
pub async fn purge_expired_sessions(job: PurgeExpiredSessions, ctx: Data<Context>) -> Result<(), BoxDynError> {
    let removed = sqlx::query("delete from refresh_token_families where expires_at < now() - interval '1 day'")
        .execute(&ctx.db)
        .await?
        .rows_affected();
    tracing::info!(tick = %job.tick, removed, "expired logins purged");
    Ok(())
}

/// A confirmed appointment whose reminder is due.
#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    slot_start: chrono::DateTime<chrono::Utc>,
    phone: Option<String>,
    hospital_name: String,
    department_name: String,
    time_zone: String,
}

/// The reminder sweep: every confirmed appointment starting within the lead time gets one
/// reminder SMS per slot (keyed by appointment and slot start, so a second sweep, a second
/// clock or a re-run job sends nothing more; a cancelled appointment is no longer confirmed and
/// gets none).
pub async fn reminder_sweep(job: ReminderSweep, ctx: Data<Context>) -> Result<(), BoxDynError> {
    let due: Vec<Due> = sqlx::query_as(
        "select a.id, lower(a.slot) as slot_start, p.phone_number as phone, h.name as hospital_name, \
                d.name as department_name, h.time_zone \
         from appointments a join users p on p.id = a.patient_id join hospitals h on h.id = a.hospital_id \
         join departments d on d.id = a.department_id \
         where a.status = 'CONFIRMED' and a.confirmed_time > now() \
           and a.confirmed_time <= now() + make_interval(mins => $1) \
           and not exists (select 1 from appointment_reminders r \
                           where r.appointment_id = a.id and r.slot_start = lower(a.slot)) \
         order by a.confirmed_time limit 500",
    )
    .bind(ctx.reminder_lead_minutes)
    .fetch_all(&ctx.db)
    .await?;
    let mut sent = 0;
    for appointment in due {
        let mut tx = ctx.db.begin().await?;
        // Still confirmed for this slot? (A cancellation may have committed since the select.)
        let still_due: Option<i64> = sqlx::query_scalar(
            "select id from appointments where id = $1 and status = 'CONFIRMED' and lower(slot) = $2 for share",
        )
        .bind(appointment.id)
        .bind(appointment.slot_start)
        .fetch_optional(&mut *tx)
        .await?;
        if still_due.is_none() {
            continue;
        }
        let claimed = sqlx::query(
            "insert into appointment_reminders (appointment_id, slot_start) values ($1, $2) on conflict do nothing",
        )
        .bind(appointment.id)
        .bind(appointment.slot_start)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if claimed && let Some(phone) = appointment.phone.as_deref() {
            let zone = appointment.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
            let local = appointment.slot_start.with_timezone(&zone).format("%a %d %b %Y, %H:%M %Z");
            let text = format!(
                "CareHub reminder: your appointment at {} ({}) is on {local}.",
                appointment.hospital_name, appointment.department_name
            );
            let message_id =
                crate::sms::queue_sms(&mut tx, phone, &text, crate::sms::Purpose::AppointmentReminder).await?;
            sqlx::query(
                "update appointment_reminders set sms_message_id = $3 where appointment_id = $1 and slot_start = $2",
            )
            .bind(appointment.id)
            .bind(appointment.slot_start)
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
            sent += 1;
        }
        tx.commit().await?;
    }
    // Every minute: a sweep that sends nothing is not news.
    if sent == 0 {
        tracing::debug!(tick = %job.tick, sent, "reminder sweep");
    } else {
        tracing::info!(tick = %job.tick, sent, "reminder sweep");
    }
    Ok(())
}
