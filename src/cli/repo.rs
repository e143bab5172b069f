//! The SQL of the commands that write outside an API flow (`demo-data`): what the contexts'
//! repositories have no function for, because only demo data does it (an account's password
//! reset in place, a hospital approved by nobody, appointments written as they would stand).

use sqlx::PgConnection;

use crate::ids::{AppointmentId, DoctorId, HospitalId, PatientId, UserId};

/// The account named `username` (any case), and whether demo-data made it.
pub async fn account_named(conn: &mut PgConnection, username: &str) -> sqlx::Result<Option<(UserId, bool)>> {
    let row =
        sqlx::query!(r#"select id as "id: UserId", is_demo from users where lower(username) = lower($1)"#, username)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|row| (row.id, row.is_demo)))
}

/// A demo account's new password; active again, no change required.
pub async fn refresh_demo_account(conn: &mut PgConnection, id: UserId, password_hash: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set password_hash = $2, is_active = true, must_change_password = false where id = $1",
        id as UserId,
        password_hash,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Approves a demo hospital (by no administrator).
pub async fn approve_demo_hospital(conn: &mut PgConnection, id: HospitalId) -> sqlx::Result<()> {
    sqlx::query!("update hospitals set is_approved = true, approved_at = now() where id = $1", id as HospitalId)
        .execute(conn)
        .await?;
    Ok(())
}

/// The demo patient's appointments: one requested, one confirmed with `doctor`.
pub async fn insert_demo_appointments(
    conn: &mut PgConnection,
    hospital: HospitalId,
    department: i64,
    doctor: DoctorId,
) -> sqlx::Result<()> {
    // The casts type the parameters, which a union leaves unknown when the statement is described.
    sqlx::query!(
        "with patient as (select id from users where username = 'demo_patient') \
         insert into appointments (patient_id, hospital_id, department_id, doctor_id, requested_time, confirmed_time, \
                                   duration_minutes, slot, status, reason, assigned_at) \
         select patient.id, $1::bigint, $2::bigint, null, date_trunc('hour', now()) + interval '3 days', null, null, null, \
                'REQUESTED', 'Follow-up on blood pressure', null from patient \
         union all \
         select patient.id, $1::bigint, $2::bigint, $3::bigint, date_trunc('hour', now()) + interval '2 days', \
                date_trunc('hour', now()) + interval '2 days', 30, \
                tstzrange(date_trunc('hour', now()) + interval '2 days', date_trunc('hour', now()) + interval '2 days 30 minutes', '[)'), \
                'CONFIRMED', 'Chest pain when climbing stairs', now() from patient",
        hospital.get(),
        department,
        doctor.get(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The demo patient and their appointment confirmed with `doctor`.
pub async fn confirmed_demo_appointment(
    conn: &mut PgConnection,
    doctor: DoctorId,
) -> sqlx::Result<(PatientId, AppointmentId)> {
    let row = sqlx::query!(
        r#"select a.patient_id as "patient_id: PatientId", a.id as "id: AppointmentId"
           from appointments a join users u on u.id = a.patient_id
           where u.username = 'demo_patient' and a.doctor_id = $1 and a.status = 'CONFIRMED'"#,
        doctor as DoctorId,
    )
    .fetch_one(conn)
    .await?;
    Ok((row.patient_id, row.id))
}
