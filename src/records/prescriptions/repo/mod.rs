//! Every SQL statement of prescriptions. Rows are only ever inserted: an edit is a new row that
//! points back at the one it replaces (the table's trigger refuses UPDATE and DELETE). Lists of
//! latest versions are in [`list`].

mod list;

use sqlx::{PgConnection, types::Json};

pub use self::list::{Scope, list_latest};
use super::model::{Content, Medicine, Prescription};
use crate::ids::{AppointmentId, DoctorId, HospitalId, PatientId};

/// A prescription by the one statement every read uses: the names come from joins, never from a
/// query per row. It ends in `$tail` (a string literal, so the statement stays checked at
/// compile time); `$extra` are more columns after the prescription's (`list` adds its count).
macro_rules! select_prescriptions {
    ($row:ident, $extra:tt, $tail:tt, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            $row,
            r#"select p.id, p.chain_id, p.patient_id as "patient: PatientId",
                 coalesce(nullif(trim(pu.first_name || ' ' || pu.last_name), ''), pu.username) as "patient_name!",
                 p.doctor_id as "doctor: DoctorId",
                 coalesce(nullif(trim(du.first_name || ' ' || du.last_name), ''), du.username) as "doctor_name!",
                 dp.specialization as doctor_specialization, p.hospital_id as "hospital: HospitalId",
                 h.name as hospital_name, p.appointment_id as "appointment: AppointmentId",
                 p.appointment_id as "appointment_id: AppointmentId", p.diagnosis, p.investigations, p.treatment_plan,
                 p.medicines as "medicines: Json<Vec<Medicine>>", p.follow_up_date, p.referral_notes, p.doctor_notes,
                 p.version, p.previous_version, p.created_at, p.updated_at"# + $extra + r#"
               from prescriptions p
               join users pu on pu.id = p.patient_id
               join doctor_profiles dp on dp.id = p.doctor_id
               join users du on du.id = dp.user_id
               join hospitals h on h.id = p.hospital_id "# + $tail,
            $($arg),+
        )
    };
}
pub(crate) use select_prescriptions;

/// Who wrote a new chain, for whom, where.
#[derive(Debug, Clone, Copy)]
pub struct Authorship {
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub hospital_id: HospitalId,
    pub appointment_id: Option<AppointmentId>,
}

/// Inserts version 1 of a new chain; its id (the chain's id too, set by the table's trigger).
pub async fn insert_first(conn: &mut PgConnection, who: Authorship, content: &Content) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into prescriptions (patient_id, doctor_id, hospital_id, appointment_id, diagnosis, investigations, \
         treatment_plan, medicines, follow_up_date, referral_notes, doctor_notes) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
        who.patient_id as PatientId,
        who.doctor_id as DoctorId,
        who.hospital_id as HospitalId,
        who.appointment_id as Option<AppointmentId>,
        content.diagnosis,
        content.investigations,
        content.treatment_plan,
        Json(&content.medicines) as _,
        content.follow_up_date,
        content.referral_notes,
        content.doctor_notes,
    )
    .fetch_one(conn)
    .await
}

/// Inserts the version after `previous` (the chain's latest, locked by the caller): the same
/// chain, patient, doctor, hospital and appointment, `version` + 1, and `created_at` kept from
/// the chain's start (`updated_at` says when this version was written). A racing edit that got
/// there first violates `prescriptions_one_successor_key` or `prescriptions_chain_version_key`.
pub async fn insert_next(conn: &mut PgConnection, previous: &Prescription, content: &Content) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into prescriptions (chain_id, version, previous_version, patient_id, doctor_id, hospital_id, \
         appointment_id, diagnosis, investigations, treatment_plan, medicines, follow_up_date, referral_notes, \
         doctor_notes, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) returning id",
        previous.chain_id,
        previous.version + 1,
        previous.id,
        previous.patient as PatientId,
        previous.doctor as DoctorId,
        previous.hospital as HospitalId,
        previous.appointment_id as Option<AppointmentId>,
        content.diagnosis,
        content.investigations,
        content.treatment_plan,
        Json(&content.medicines) as _,
        content.follow_up_date,
        content.referral_notes,
        content.doctor_notes,
        previous.created_at,
    )
    .fetch_one(conn)
    .await
}

/// Any version, by id.
pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Prescription>> {
    select_prescriptions!(Prescription, "", "where p.id = $1", id).fetch_optional(conn).await
}

/// Locks version `id` against a concurrent edit for the rest of the transaction (a row lock:
/// the immutability trigger fires on UPDATE, not on `for update`), and says whether it is still
/// its chain's latest version (the row no other row points back to), checked after the lock, so
/// a racing edit that committed first is seen.
pub async fn lock_latest(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<bool>> {
    let locked = sqlx::query_scalar!("select id from prescriptions where id = $1 for update", id)
        .fetch_optional(&mut *conn)
        .await?;
    if locked.is_none() {
        return Ok(None);
    }
    sqlx::query_scalar!(
        r#"select not exists (select 1 from prescriptions n where n.previous_version = p.id) as "latest!"
           from prescriptions p where p.id = $1"#,
        id,
    )
    .fetch_one(conn)
    .await
    .map(Some)
}

/// Every version of a chain, oldest first (at most `cap`).
pub async fn versions(conn: &mut PgConnection, chain_id: i64, cap: i64) -> sqlx::Result<Vec<Prescription>> {
    select_prescriptions!(Prescription, "", "where p.chain_id = $1 order by p.version limit $2", chain_id, cap)
        .fetch_all(conn)
        .await
}

/// Whether `appointment_id` is a CONFIRMED or COMPLETED appointment of `patient_id` at
/// `hospital_id`: what lets a doctor of that hospital write the patient a prescription.
pub async fn appointment_qualifies(
    conn: &mut PgConnection,
    appointment_id: AppointmentId,
    patient_id: PatientId,
    hospital_id: HospitalId,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from appointments where id = $1 and patient_id = $2 and hospital_id = $3
           and status in ('CONFIRMED', 'COMPLETED')) as "exists!""#,
        appointment_id as AppointmentId,
        patient_id as PatientId,
        hospital_id as HospitalId,
    )
    .fetch_one(conn)
    .await
}

/// Removes the prescriptions of demo patients (and the attachment rows pointing at them), for
/// `carehub demo-data`, which rebuilds them. The immutability trigger lets these DELETEs through
/// only for demo patients' rows and only in a transaction that declares it (see
/// `migrations/20261126000100_prescriptions_demo_clear.sql`); call it inside a transaction.
pub async fn delete_demo(conn: &mut PgConnection) -> sqlx::Result<u64> {
    sqlx::query_scalar!("select set_config('carehub.clearing_demo_data', 'on', true)").fetch_one(&mut *conn).await?;
    sqlx::query!(
        "delete from prescription_attachments where prescription_id in \
         (select p.id from prescriptions p join users u on u.id = p.patient_id where u.is_demo)"
    )
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query!(
        "delete from prescriptions where id in \
         (select p.id from prescriptions p join users u on u.id = p.patient_id where u.is_demo)"
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!("select set_config('carehub.clearing_demo_data', 'off', true)").fetch_one(conn).await?;
    Ok(done.rows_affected())
}
