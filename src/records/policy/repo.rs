//! Every SQL statement the records policy asks: a caller's doctor profile, whether an id is a patient's (and their name), and whether an appointment makes a doctor the
//! patient's treating doctor.

use sqlx::PgConnection;

use crate::ids::{AppointmentId, DoctorId, HospitalId, PatientId};

/// The active doctor profile of user `user_id`: `(doctor_profiles.id, hospital_id)`.
pub async fn active_doctor(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<(DoctorId, HospitalId)>> {
    let row = sqlx::query!(
        r#"select id as "id: DoctorId", hospital_id as "hospital_id: HospitalId" from doctor_profiles
           where user_id = $1 and is_active"#,
        user_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.id, row.hospital_id)))
}

pub async fn is_patient(conn: &mut PgConnection, patient_id: PatientId) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from users where id = $1 and user_type = 'PATIENT') as "exists!""#,
        patient_id as PatientId,
    )
    .fetch_one(conn)
    .await
}

/// The patient's name as records show it (their username when they gave none).
pub async fn patient_name(conn: &mut PgConnection, patient_id: PatientId) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        r#"select coalesce(nullif(trim(first_name || ' ' || last_name), ''), username) as "name!" from users
           where id = $1 and user_type = 'PATIENT'"#,
        patient_id as PatientId,
    )
    .fetch_optional(conn)
    .await
}

/// Whether `appointment_id` is a CONFIRMED or COMPLETED appointment of `patient_id` assigned to
/// `doctor_id` whose time is within `days` of now.
pub async fn treating_appointment(
    conn: &mut PgConnection,
    appointment_id: AppointmentId,
    patient_id: PatientId,
    doctor_id: DoctorId,
    days: i32,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from appointments
           where id = $1 and patient_id = $2 and doctor_id = $3 and status in ('CONFIRMED', 'COMPLETED')
                 and confirmed_time between now() - make_interval(days => $4::int)
                                        and now() + make_interval(days => $4::int)) as "exists!""#,
        appointment_id as AppointmentId,
        patient_id as PatientId,
        doctor_id as DoctorId,
        days,
    )
    .fetch_one(conn)
    .await
}
