//! Every SQL statement of prescription attachments.

use sqlx::PgConnection;

use super::model::AttachmentRow;
use crate::{
    ids::{AppointmentId, DoctorId, PatientId},
    records::files::model::ScanStatus,
};

/// An attachment's row by the one joined statement every read uses, ending in `$tail` (a string
/// literal: the statement stays checked at compile time).
macro_rules! select_attachments {
    ($tail:tt, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            AttachmentRow,
            r#"select a.id, a.prescription_id, a.file_id, f.original_name, f.size_bytes, a.description, a.uploaded_at,
                 f.scan_status as "scan_status: ScanStatus"
               from prescription_attachments a join stored_files f on f.id = a.file_id "# + $tail,
            $($arg),+
        )
    };
}

/// The attachments of every version of prescription chain `chain_id`, oldest first.
pub async fn for_chain(conn: &mut PgConnection, chain_id: i64) -> sqlx::Result<Vec<AttachmentRow>> {
    select_attachments!("where a.chain_id = $1 order by a.id", chain_id).fetch_all(conn).await
}

pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<AttachmentRow> {
    select_attachments!("where a.id = $1", id).fetch_one(conn).await
}

/// A prescription version's parties.
pub struct Prescribed {
    pub chain_id: i64,
    pub patient_id: PatientId,
    pub doctor_id: DoctorId,
    pub appointment_id: Option<AppointmentId>,
}

pub async fn prescription(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Prescribed>> {
    sqlx::query_as!(
        Prescribed,
        r#"select chain_id, patient_id as "patient_id: PatientId", doctor_id as "doctor_id: DoctorId",
             appointment_id as "appointment_id: AppointmentId"
           from prescriptions where id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// What a new attachment's row holds.
pub struct NewAttachment<'a> {
    pub prescription_id: i64,
    pub chain_id: i64,
    pub file_id: i64,
    pub description: &'a str,
    pub uploaded_by: i64,
}

/// Inserts an attachment's row; its id.
pub async fn insert(conn: &mut PgConnection, new: &NewAttachment<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into prescription_attachments (prescription_id, chain_id, file_id, description, uploaded_by) \
         values ($1, $2, $3, $4, $5) returning id",
        new.prescription_id,
        new.chain_id,
        new.file_id,
        new.description,
        new.uploaded_by,
    )
    .fetch_one(conn)
    .await
}

/// The patient, prescribing doctor and stored file of attachment `id`.
pub async fn owner_and_file(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(PatientId, DoctorId, i64)>> {
    let row = sqlx::query!(
        r#"select p.patient_id as "patient_id: PatientId", p.doctor_id as "doctor_id: DoctorId", a.file_id
           from prescription_attachments a join prescriptions p on p.id = a.prescription_id where a.id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.patient_id, row.doctor_id, row.file_id)))
}
