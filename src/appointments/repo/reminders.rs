//! The statements of appointment reminders: which are due, and claiming one exactly once.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::ids::AppointmentId;

/// A confirmed appointment whose reminder is due, with what its SMS says.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub id: AppointmentId,
    pub slot_start: DateTime<Utc>,
    pub phone: Option<String>,
    pub hospital_name: String,
    pub department_name: String,
    pub time_zone: String,
}

/// Confirmed appointments starting within `lead_minutes` whose current slot has had no reminder,
/// soonest first, at most `limit` (across hospitals: the sweep is an operator-side job).
pub async fn due_reminders(db: impl PgExecutor<'_>, lead_minutes: i32, limit: i64) -> sqlx::Result<Vec<DueReminder>> {
    sqlx::query_as!(
        DueReminder,
        r#"select a.id as "id: AppointmentId", lower(a.slot) as "slot_start!", p.phone_number as phone,
                h.name as hospital_name, d.name as department_name, h.time_zone
         from appointments a join users p on p.id = a.patient_id join hospitals h on h.id = a.hospital_id
         join departments d on d.id = a.department_id
         where a.status = 'CONFIRMED' and a.confirmed_time > now()
           and a.confirmed_time <= now() + make_interval(mins => $1)
           and not exists (select 1 from appointment_reminders r
                           where r.appointment_id = a.id and r.slot_start = lower(a.slot))
         order by a.confirmed_time limit $2"#,
        lead_minutes,
        limit,
    )
    .fetch_all(db)
    .await
}

/// Claims the reminder of the appointment's slot starting at `slot_start`, in the caller's
/// transaction: `true` when the appointment is still confirmed for that slot (locked `FOR SHARE`
/// until the transaction ends, so a cancellation committing meanwhile waits) and no reminder of
/// the slot was claimed before. A second sweep, a second clock or a re-run job gets `false`.
pub async fn claim_reminder(
    conn: &mut PgConnection,
    appointment_id: AppointmentId,
    slot_start: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let still_due = sqlx::query_scalar!(
        "select id from appointments where id = $1 and status = 'CONFIRMED' and lower(slot) = $2 for share",
        appointment_id as AppointmentId,
        slot_start,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if still_due.is_none() {
        return Ok(false);
    }
    let claimed = sqlx::query!(
        "insert into appointment_reminders (appointment_id, slot_start) values ($1, $2) on conflict do nothing",
        appointment_id as AppointmentId,
        slot_start,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Records which SMS message carries the slot's reminder.
pub async fn set_reminder_message(
    conn: &mut PgConnection,
    appointment_id: AppointmentId,
    slot_start: DateTime<Utc>,
    message_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update appointment_reminders set sms_message_id = $3 where appointment_id = $1 and slot_start = $2",
        appointment_id as AppointmentId,
        slot_start,
        message_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}
