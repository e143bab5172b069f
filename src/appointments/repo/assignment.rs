//! Changes to an appointment: the assign and status statements, each applied only to the row as
//! read (see `lists::current`), audited, with the patient's SMS queued.

use carehub_workers::sms::{Purpose, queue_sms_ctes};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgExecutor, Postgres, postgres::PgArguments, query::QueryAs};

use super::from_source;
use crate::{
    accounts::model::Principal,
    appointments::model::{Appointment, Status, StatusText},
    audit::{self, RequestMeta},
    ids::{AppointmentId, DoctorId},
};

/// The audit row a change writes in its own statement: the action, who, from where, and the
/// status it moved from and to (the row's doctor is added from the changed row).
#[derive(Debug)]
pub struct ChangeAudit<'a> {
    pub action: &'static str,
    pub actor: &'a Principal,
    pub meta: &'a RequestMeta,
    pub from: Status,
    pub to: Status,
}

/// The patient's SMS a change queues with it.
#[derive(Debug)]
pub struct Text {
    pub to: String,
    pub body: String,
    pub purpose: Purpose,
}

/// The tail of a change statement: `changed` (a CTE of the updated rows) audited, the SMS (if
/// any) stored and its job written to the outbox, and the changed row returned with its names
/// joined. Parameters `$first` onwards are [`bind_tail`]'s.
fn change_tail(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "audited as ( \
             insert into audit_log ({columns}) \
             select now(), {actor_id}, {actor_type}, hospital_id, {action}, 'appointment', id::text, {ip}, {ua}, {rid}, \
                    jsonb_build_object('from', {from}::text, 'to', {to}::text, 'doctor_id', doctor_id) from changed), \
         {sms} \
         {returned}",
        columns = audit::COLUMNS,
        actor_id = p(0),
        actor_type = p(1),
        action = p(2),
        ip = p(3),
        ua = p(4),
        rid = p(5),
        from = p(6),
        to = p(7),
        sms = queue_sms_ctes(&format!("changed where {}::text is not null", p(9)), &p(8), &p(9), &p(10)),
        returned = from_source("changed a"),
    )
}

/// A change statement built at run time, as `assign` and `set_status` make it.
type ChangeQuery<'q> = QueryAs<'q, Postgres, Appointment, PgArguments>;

/// Binds [`change_tail`]'s parameters.
fn bind_tail<'q>(query: ChangeQuery<'q>, audit: &'q ChangeAudit<'q>, text: Option<&'q Text>) -> ChangeQuery<'q> {
    query
        .bind(audit.actor.user_id.0)
        .bind(audit.actor.user_type.as_str())
        .bind(audit.action)
        .bind(audit.meta.ip.as_deref())
        .bind(audit.meta.user_agent.as_deref())
        .bind(audit.meta.request_id.as_deref())
        .bind(audit.from.as_str())
        .bind(audit.to.as_str())
        .bind(text.map(|t| t.to.as_str()))
        .bind(text.map(|t| t.body.as_str()))
        .bind(text.map(|t| t.purpose.as_str()))
}

/// Assigns a doctor; with a time, confirms the `[start, start + duration)` slot. One statement,
/// so one round trip and its own transaction: applied only to the row as read (`version`) and
/// only if the doctor is an active doctor of the appointment's hospital (the profile is locked
/// `FOR SHARE` until the commit, so a deactivation in flight either finishes first and is seen
/// here, or waits until this change has committed); audited, the SMS queued, and the changed row
/// returned. `None` when either condition failed: read again and decide again.
#[allow(clippy::too_many_arguments)] // one statement's parameters
pub async fn assign(
    db: impl PgExecutor<'_>,
    id: AppointmentId,
    version: &str,
    doctor_id: DoctorId,
    confirmed: Option<(DateTime<Utc>, i32)>,
    notes: Option<&str>,
    audit: &ChangeAudit<'_>,
    text: Option<&Text>,
) -> sqlx::Result<Option<Appointment>> {
    // Built at run time: composed with `change_tail` (audit::COLUMNS, the SMS outbox CTEs, the shared SELECT).
    let query = sqlx::query_as(AssertSqlSafe(format!(
        "with changed as ( \
             update appointments a set doctor_id = $3, assigned_by = $4, assigned_at = now(), \
                    confirmed_time = $5, duration_minutes = $6, \
                    slot = case when $5::timestamptz is null then null \
                                else tstzrange($5, $5 + make_interval(mins => $6), '[)') end, \
                    status = case when $5::timestamptz is null then status else 'CONFIRMED' end, \
                    notes = coalesce($7, notes), updated_at = now() \
             where a.id = $1 and a.xmin::text = $2 \
               and exists (select 1 from doctor_profiles p \
                           where p.id = $3 and p.hospital_id = a.hospital_id and p.is_active for share) \
             returning a.*), \
         {}",
        change_tail(8)
    )))
    .bind(id)
    .bind(version)
    .bind(doctor_id)
    .bind(audit.actor.user_id.0)
    .bind(confirmed.map(|(at, _)| at))
    .bind(confirmed.map(|(_, minutes)| minutes))
    .bind(notes);
    bind_tail(query, audit, text).fetch_optional(db).await
}

/// Moves the appointment to `status`; confirming an assigned appointment without a time takes
/// its requested time and a default-length slot. `notes` (clinical) and `cancellation_reason`
/// replace the stored ones only when given. One statement as [`assign`]: applied only to the row
/// as read (`version`) and, when confirming, only if the assigned doctor is still an active
/// doctor of the hospital (locked `FOR SHARE`); audited, the SMS queued, the changed row
/// returned. `None` when either condition failed.
#[allow(clippy::too_many_arguments)] // one statement's parameters
pub async fn set_status(
    db: impl PgExecutor<'_>,
    id: AppointmentId,
    version: &str,
    status: Status,
    text: &StatusText,
    default_minutes: i32,
    audit: &ChangeAudit<'_>,
    sms: Option<&Text>,
) -> sqlx::Result<Option<Appointment>> {
    // Built at run time: composed with `change_tail` (audit::COLUMNS, the SMS outbox CTEs, the shared SELECT).
    let query = sqlx::query_as(AssertSqlSafe(format!(
        "with changed as ( \
             update appointments a set status = $3, notes = coalesce($4, notes), \
                    cancellation_reason = coalesce($6, cancellation_reason), updated_at = now(), \
                    confirmed_time = case when $3 = 'CONFIRMED' then coalesce(confirmed_time, requested_time) else confirmed_time end, \
                    duration_minutes = case when $3 = 'CONFIRMED' then coalesce(duration_minutes, $5) else duration_minutes end, \
                    slot = case when $3 = 'CONFIRMED' and slot is null \
                                then tstzrange(coalesce(confirmed_time, requested_time), \
                                               coalesce(confirmed_time, requested_time) + make_interval(mins => coalesce(duration_minutes, $5)), '[)') \
                                else slot end \
             where a.id = $1 and a.xmin::text = $2 and ($3 <> 'CONFIRMED' or exists ( \
                 select 1 from doctor_profiles p \
                 where p.id = a.doctor_id and p.hospital_id = a.hospital_id and p.is_active for share)) \
             returning a.*), \
         {}",
        change_tail(7)
    )))
    .bind(id)
    .bind(version)
    .bind(status.as_str())
    .bind(text.notes.as_deref())
    .bind(default_minutes)
    .bind(text.cancellation_reason.as_deref());
    bind_tail(query, audit, sms).fetch_optional(db).await
}
