//! The reads: one appointment, the read a change is decided on, and a page of one party's
//! appointments.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow as _, PgConnection, PgExecutor, Row as _};

use super::SELECT;
use crate::{
    appointments::model::{Appointment, Status},
    ids::{AppointmentId, DoctorId, HospitalId, PatientId, UserId},
};

pub async fn get(db: impl PgExecutor<'_>, id: AppointmentId) -> sqlx::Result<Option<Appointment>> {
    // Built at run time: the one SELECT of every read (names joined), shared with the change statements.
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
pub async fn current(
    db: impl PgExecutor<'_>,
    id: AppointmentId,
    doctor: Option<DoctorId>,
) -> sqlx::Result<Option<Current>> {
    let columns = ", a.xmin::text as version, \
         (select coalesce(trim(u.first_name || ' ' || u.last_name), '') from doctor_profiles p \
          join users u on u.id = p.user_id \
          where p.id = coalesce($2, a.doctor_id) and p.hospital_id = a.hospital_id and p.is_active) as named_doctor \
         from appointments a";
    let row =
        // Built at run time: the shared SELECT (names joined) with the version and the doctor's name.
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
pub async fn hospital_of(db: impl PgExecutor<'_>, id: AppointmentId) -> sqlx::Result<Option<HospitalId>> {
    sqlx::query_scalar!(
        r#"select hospital_id as "hospital_id: HospitalId" from appointments where id = $1"#,
        id as AppointmentId
    )
    .fetch_optional(db)
    .await
}

/// Whose appointments a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Patient(PatientId),
    Hospital(HospitalId),
    /// A doctor, by user id.
    Doctor(UserId),
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
        Owner::Patient(id) => ("a.patient_id", id.get()),
        Owner::Hospital(id) => ("a.hospital_id", id.get()),
        Owner::Doctor(user) => ("dp.user_id", user.get()),
    };
    let condition = format!(
        "where {column} = $1 and ($2::text is null or a.status = $2) \
         and ($3::timestamptz is null or coalesce(a.confirmed_time, a.requested_time) >= $3) \
         and ($4::timestamptz is null or coalesce(a.confirmed_time, a.requested_time) < $4)"
    );
    let status = filter.status.map(Status::as_str);
    // Built at run time: the owner's column is chosen per list; the optional filters are kept as
    // they are (`$2::text is null or …`) until their own rework.
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "select count(*) from appointments a left join doctor_profiles dp on dp.id = a.doctor_id {condition}"
    )))
    .bind(id)
    .bind(status)
    .bind(filter.from)
    .bind(filter.to)
    .fetch_one(&mut *conn)
    .await?;
    // Built at run time: as the count, over the shared SELECT (names joined).
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
