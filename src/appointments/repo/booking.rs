//! The booking statement, and the check a refused booking still reports.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow as _, PgConnection, PgExecutor, Row as _};

use super::{SELECT, from_source};
use crate::{
    appointments::model::Appointment,
    audit::{self, RequestMeta},
    ids::{HospitalId, PatientId},
};

/// A new booking.
#[derive(Debug)]
pub struct NewAppointment<'a> {
    pub patient_id: PatientId,
    pub hospital_id: HospitalId,
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
    // Built at run time: composed from the shared SELECT, `audit::COLUMNS` and the booking check.
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
    let earlier =
        // Built at run time: the shared SELECT (names joined) with this lookup's condition.
        sqlx::query_as(AssertSqlSafe(format!("{SELECT} where a.patient_id = $1 and a.idempotency_key = $2")))
        .bind(new.patient_id)
        .bind(new.idempotency_key)
        .fetch_one(conn)
        .await?;
    Ok(Booked::Repeated(Box::new(earlier)))
}

/// Whether the department belongs to the hospital, is active, and the hospital is approved.
pub async fn bookable(
    db: impl PgExecutor<'_>,
    hospital_id: HospitalId,
    department_id: i64,
) -> sqlx::Result<(bool, bool)> {
    // The statement of `place_sql`, checked.
    let row = sqlx::query!(
        r#"select coalesce((select is_approved from hospitals where id = $1), false) as "approved!",
                  exists(select 1 from departments where id = $2 and hospital_id = $1 and is_active) as "department_ok!""#,
        hospital_id as HospitalId,
        department_id,
    )
    .fetch_one(db)
    .await?;
    Ok((row.approved, row.department_ok))
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
