//! The appointments context's jobs: the reminder sweep. The payload, the handler and the message
//! it sends live here, beside the data they need, which the handler reaches only through
//! [`repo`](super::repo); the job platform (`carehub-workers`) runs it once it is registered in
//! [`crate::jobs::registry`].

use carehub_workers::{
    Handler, JobContext, JobResult,
    jobs::{Job, Queue, Scheduled},
    sms::{Purpose, queue_sms},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::repo::{self, DueReminder};

/// Appointments one sweep reminds at most; the rest wait for the next tick.
const SWEEP_LIMIT: i64 = 500;

/// The reminder sweep of one clock tick.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReminderSweep {
    /// The tick, RFC 3339.
    pub tick: String,
}

impl Job for ReminderSweep {
    const QUEUE: Queue = Queue::new("carehub:reminder");
    const NAME: &'static str = "ReminderSweep";
}

impl Scheduled for ReminderSweep {
    fn at(tick: DateTime<Utc>) -> Self {
        Self { tick: tick.to_rfc3339() }
    }
}

/// The handler of [`ReminderSweep`], reminding `lead_minutes` ahead.
pub fn reminder_sweep(lead_minutes: i32) -> impl Handler<ReminderSweep> {
    move |job: ReminderSweep, ctx: JobContext| async move {
        sweep(&ctx.db, lead_minutes, &job).await?;
        JobResult::Ok(())
    }
}

/// The reminder sweep: every confirmed appointment starting within the lead time gets one
/// reminder SMS per slot (keyed by appointment and slot start, so a second sweep, a second
/// clock or a re-run job sends nothing more; a cancelled appointment is no longer confirmed and
/// gets none). Returns how many reminders it queued.
pub async fn sweep(db: &PgPool, lead_minutes: i32, job: &ReminderSweep) -> sqlx::Result<usize> {
    let mut sent = 0;
    for appointment in repo::due_reminders(db, lead_minutes, SWEEP_LIMIT).await? {
        let mut tx = db.begin().await?;
        // Still confirmed for this slot? (A cancellation may have committed since the select.)
        if !repo::claim_reminder(&mut tx, appointment.id, appointment.slot_start).await? {
            continue;
        }
        if let Some(phone) = appointment.phone.as_deref() {
            let message_id =
                queue_sms(&mut tx, phone, &reminder_text(&appointment), Purpose::AppointmentReminder).await?;
            repo::set_reminder_message(&mut tx, appointment.id, appointment.slot_start, message_id).await?;
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
    Ok(sent)
}

/// The reminder's text, with the slot in the hospital's time zone.
fn reminder_text(appointment: &DueReminder) -> String {
    let zone = appointment.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
    let local = appointment.slot_start.with_timezone(&zone).format("%a %d %b %Y, %H:%M %Z");
    format!(
        "CareHub reminder: your appointment at {} ({}) is on {local}.",
        appointment.hospital_name, appointment.department_name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(time_zone: &str) -> DueReminder {
        DueReminder {
            id: crate::ids::AppointmentId(1),
            slot_start: "2026-11-25T09:30:00Z".parse().expect("time"),
            phone: Some("+923001234567".into()),
            hospital_name: "Shifa".into(),
            department_name: "Cardiology".into(),
            time_zone: time_zone.into(),
        }
    }

    #[test]
    fn the_reminder_names_the_place_and_the_local_time() {
        assert_eq!(
            reminder_text(&due("Asia/Karachi")),
            "CareHub reminder: your appointment at Shifa (Cardiology) is on Wed 25 Nov 2026, 14:30 PKT."
        );
    }

    #[test]
    fn an_unknown_time_zone_reads_as_utc() {
        assert!(reminder_text(&due("Mars/Olympus")).ends_with("is on Wed 25 Nov 2026, 09:30 UTC."));
    }

    #[test]
    fn the_sweep_payload_is_its_tick_only() {
        let tick: DateTime<Utc> = "2026-11-25T00:00:00Z".parse().expect("time");
        let json = serde_json::to_string(&ReminderSweep::at(tick)).expect("json");
        assert_eq!(json, r#"{"tick":"2026-11-25T00:00:00+00:00"}"#);
    }
}
