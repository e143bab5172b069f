//! Every SQL statement of the appointments context.

use carehub_workers::sms::{Purpose, queue_sms_ctes};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow as _, PgConnection, PgExecutor, Row as _};

mod reminders;

pub use self::reminders::{DueReminder, claim_reminder, due_reminders, set_reminder_message};
use super::model::{Appointment, Status, StatusText};
use crate::{
    accounts::model::Principal,
    audit::{self, RequestMeta},
};

/// One statement for every read: the names the reference shows come from joins, never from a
/// query per row. (A constant, so the `format!`ed statements carry no outside input.)
const SELECT: &str = "select a.id, a.patient_id as patient, trim(p.first_name || ' ' || p.last_name) as patient_name, \
     coalesce(p.phone_number, '') as patient_phone, p.email as patient_email, \
     a.hospital_id as hospital, h.name as hospital_name, a.department_id as department, d.name as department_name, \
     a.doctor_id as assigned_doctor, coalesce(trim(du.first_name || ' ' || du.last_name), '') as doctor_name, \
     a.requested_time, a.confirmed_time, a.duration_minutes, a.status, a.reason, a.notes, a.cancellation_reason, \
     a.assigned_by, coalesce(trim(ab.first_name || ' ' || ab.last_name), ab.username, '') as assigned_by_name, \
     a.assigned_at, a.created_at, a.updated_at, h.time_zone as hospital_time_zone, dp.user_id as doctor_user \
     from appointments a \
     join users p on p.id = a.patient_id \
     join hospitals h on h.id = a.hospital_id \
     join departments d on d.id = a.department_id \
     left join doctor_profiles dp on dp.id = a.doctor_id \
     left join users du on du.id = dp.user_id \
     left join users ab on ab.id = a.assigned_by";

/// A new booking.
#[derive(Debug)]
pub struct NewAppointment<'a> {
    pub patient_id: i64,
    pub hospital_id: i64,
    pub department_id: i64,
    pub requested_time: DateTime<Utc>,
    pub reason: &'a str,
    pub idempotency_key: Option<&'a str>,
}

/// What a booking statement did.
#[derive(Debug)]
pub enum Booked {
    /// The hospital is not an approved one.
    HospitalNotBookable,
    /// The department is not an active one of the hospital.
    DepartmentNotBookable,
    /// The new appointment (its `appointment_booked` audit row written in the same statement).
    Created(Box<Appointment>),
    /// The patient's idempotency key was used before: the earlier booking, nothing written.
    Repeated(Box<Appointment>),
}

/// Books in one statement, so one round trip and one implicit transaction: checks that the
/// hospital is approved and the department active, inserts the appointment and its audit row,
/// and returns the row with its names joined. With an idempotency key this patient used before,
/// inserts nothing and returns the earlier booking.
pub async fn book(conn: &mut PgConnection, new: &NewAppointment<'_>, meta: &RequestMeta) -> sqlx::Result<Booked> {
    let booked = from_source("inserted a");
    let row = sqlx::query(AssertSqlSafe(format!(
        "with place as (select {place}), \
         inserted as ( \
             insert into appointments (patient_id, hospital_id, department_id, requested_time, reason, idempotency_key) \
             select $1, $2, $3, $4, $5, $6 from place where approved and department_ok \
             on conflict (patient_id, idempotency_key) where idempotency_key is not null do nothing \
             returning *), \
         audited as ( \
             insert into audit_log ({columns}) \
             select now(), patient_id, 'PATIENT', hospital_id, 'appointment_booked', 'appointment', id::text, \
                    $7, $8, $9, '{{}}'::jsonb from inserted) \
         select place.approved, place.department_ok, booked.* from place left join ({booked}) booked on true",
        columns = audit::COLUMNS,
        place = place_sql("$2", "$3"),
    )))
    .bind(new.patient_id)
    .bind(new.hospital_id)
    .bind(new.department_id)
    .bind(new.requested_time)
    .bind(new.reason)
    .bind(new.idempotency_key)
    .bind(meta.ip.as_deref())
    .bind(meta.user_agent.as_deref())
    .bind(meta.request_id.as_deref())
    .fetch_one(&mut *conn)
    .await?;
    if !row.try_get::<bool, _>("approved")? {
        return Ok(Booked::HospitalNotBookable);
    }
    if !row.try_get::<bool, _>("department_ok")? {
        return Ok(Booked::DepartmentNotBookable);
    }
    if row.try_get::<Option<i64>, _>("id")?.is_some() {
        return Ok(Booked::Created(Box::new(Appointment::from_row(&row)?)));
    }
    let earlier = sqlx::query_as(AssertSqlSafe(format!("{SELECT} where a.patient_id = $1 and a.idempotency_key = $2")))
        .bind(new.patient_id)
        .bind(new.idempotency_key)
        .fetch_one(conn)
        .await?;
    Ok(Booked::Repeated(Box::new(earlier)))
}

/// [`SELECT`] over another relation than the `appointments` table (a CTE's rows), as `a`.
fn from_source(source: &str) -> String {
    SELECT.replacen("from appointments a", &format!("from {source}"), 1)
}

pub async fn get(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Appointment>> {
    sqlx::query_as(AssertSqlSafe(format!("{SELECT} where a.id = $1"))).bind(id).fetch_optional(db).await
}

/// An appointment as read before a change is decided, outside any transaction.
#[derive(Debug)]
pub struct Current {
    pub appointment: Appointment,
    /// The row version's `xmin`: every committed change to the row makes a new one, so a change
    /// statement that requires it ([`assign`], [`set_status`]) applies only to the row as read.
    pub version: String,
    /// The name of the doctor the change names (else the assigned one), when that doctor is an
    /// active doctor of the appointment's hospital.
    pub doctor_name: Option<String>,
}

/// The appointment and its version, and the named doctor (else the assigned one) if active at
/// its hospital: one round trip, no lock. The change is decided on this and then applied by one
/// statement that requires the version, so nothing is locked across a round trip.
pub async fn current(db: impl PgExecutor<'_>, id: i64, doctor: Option<i64>) -> sqlx::Result<Option<Current>> {
    let columns = ", a.xmin::text as version, \
         (select coalesce(trim(u.first_name || ' ' || u.last_name), '') from doctor_profiles p \
          join users u on u.id = p.user_id \
          where p.id = coalesce($2, a.doctor_id) and p.hospital_id = a.hospital_id and p.is_active) as named_doctor \
         from appointments a";
    let row =
        sqlx::query(AssertSqlSafe(format!("{} where a.id = $1", SELECT.replacen(" from appointments a", columns, 1))))
            .bind(id)
            .bind(doctor)
            .fetch_optional(db)
            .await?;
    row.map(|row| {
        Ok(Current {
            appointment: Appointment::from_row(&row)?,
            version: row.try_get("version")?,
            doctor_name: row.try_get("named_doctor")?,
        })
    })
    .transpose()
}

/// The hospital an appointment belongs to (which desk orders its changes).
pub async fn hospital_of(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select hospital_id from appointments where id = $1").bind(id).fetch_optional(db).await
}

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

fn bind_tail<'q>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, Appointment, sqlx::postgres::PgArguments>,
    audit: &'q ChangeAudit<'q>,
    text: Option<&'q Text>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, Appointment, sqlx::postgres::PgArguments> {
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

/// Whose appointments a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Patient(i64),
    Hospital(i64),
    /// A doctor, by user id.
    Doctor(i64),
}

/// Filters of a list: status and a window on the appointment's time (confirmed, else requested).
#[derive(Debug, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of one party's appointments, newest first, and the total.
pub async fn list(
    conn: &mut PgConnection,
    owner: Owner,
    filter: &ListFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Appointment>, i64)> {
    let (column, id) = match owner {
        Owner::Patient(id) => ("a.patient_id", id),
        Owner::Hospital(id) => ("a.hospital_id", id),
        Owner::Doctor(user) => ("dp.user_id", user),
    };
    let condition = format!(
        "where {column} = $1 and ($2::text is null or a.status = $2) \
         and ($3::timestamptz is null or coalesce(a.confirmed_time, a.requested_time) >= $3) \
         and ($4::timestamptz is null or coalesce(a.confirmed_time, a.requested_time) < $4)"
    );
    let status = filter.status.map(Status::as_str);
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "select count(*) from appointments a left join doctor_profiles dp on dp.id = a.doctor_id {condition}"
    )))
    .bind(id)
    .bind(status)
    .bind(filter.from)
    .bind(filter.to)
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT} {condition} order by a.created_at desc, a.id desc limit $5 offset $6"
    )))
    .bind(id)
    .bind(status)
    .bind(filter.from)
    .bind(filter.to)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows, count))
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
    id: i64,
    version: &str,
    doctor_id: i64,
    confirmed: Option<(DateTime<Utc>, i32)>,
    notes: Option<&str>,
    audit: &ChangeAudit<'_>,
    text: Option<&Text>,
) -> sqlx::Result<Option<Appointment>> {
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
    id: i64,
    version: &str,
    status: Status,
    text: &StatusText,
    default_minutes: i32,
    audit: &ChangeAudit<'_>,
    sms: Option<&Text>,
) -> sqlx::Result<Option<Appointment>> {
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

/// Whether the department belongs to the hospital, is active, and the hospital is approved.
pub async fn bookable(db: impl PgExecutor<'_>, hospital_id: i64, department_id: i64) -> sqlx::Result<(bool, bool)> {
    sqlx::query_as(AssertSqlSafe(format!("select {}", place_sql("$1", "$2"))))
        .bind(hospital_id)
        .bind(department_id)
        .fetch_one(db)
        .await
}

/// `approved` (the hospital, a parameter, is an approved one) and `department_ok` (the
/// department, a parameter, is an active one of it): what a booking checks, in one place.
fn place_sql(hospital: &str, department: &str) -> String {
    format!(
        "coalesce((select is_approved from hospitals where id = {hospital}), false) as approved, \
         exists(select 1 from departments where id = {department} and hospital_id = {hospital} and is_active) \
         as department_ok"
    )
}
