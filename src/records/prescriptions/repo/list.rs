//! A page of the latest versions of prescriptions in a scope (a patient's, a doctor's,
//! everyone's), with how many there are in all: one statement, the count riding on each row.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, types::Json};

use super::select_prescriptions;
use crate::{
    ids::{AppointmentId, DoctorId, HospitalId, PatientId},
    records::prescriptions::model::{Medicine, Prescription},
};

/// Whose prescriptions a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// A patient's.
    Patient(PatientId),
    /// Those a doctor wrote (by doctor profile id).
    Doctor(DoctorId),
    /// Everyone's (an admin).
    All,
}

/// A listed row: a prescription's columns and the count of all rows in scope.
struct Counted {
    id: i64,
    chain_id: i64,
    patient: PatientId,
    patient_name: String,
    doctor: DoctorId,
    doctor_name: String,
    doctor_specialization: String,
    hospital: HospitalId,
    hospital_name: String,
    appointment: Option<AppointmentId>,
    appointment_id: Option<AppointmentId>,
    diagnosis: String,
    investigations: String,
    treatment_plan: String,
    medicines: Json<Vec<Medicine>>,
    follow_up_date: Option<NaiveDate>,
    referral_notes: String,
    doctor_notes: String,
    version: i32,
    previous_version: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    total: i64,
}

impl Counted {
    fn into_prescription(self) -> Prescription {
        Prescription {
            id: self.id,
            patient: self.patient,
            patient_name: self.patient_name,
            doctor: self.doctor,
            doctor_name: self.doctor_name,
            doctor_specialization: self.doctor_specialization,
            hospital: self.hospital,
            hospital_name: self.hospital_name,
            appointment: self.appointment,
            appointment_id: self.appointment_id,
            diagnosis: self.diagnosis,
            investigations: self.investigations,
            treatment_plan: self.treatment_plan,
            medicines: self.medicines,
            follow_up_date: self.follow_up_date,
            referral_notes: self.referral_notes,
            doctor_notes: self.doctor_notes,
            version: self.version,
            previous_version: self.previous_version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            chain_id: self.chain_id,
        }
    }
}

/// A page of the latest versions in scope (a chain's latest: the row no other row points back
/// to), newest first, and how many there are in all.
pub async fn list_latest(
    conn: &mut PgConnection,
    scope: Scope,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Prescription>, i64)> {
    let (patient, doctor) = match scope {
        Scope::Patient(id) => (Some(id), None),
        Scope::Doctor(id) => (None, Some(id)),
        Scope::All => (None, None),
    };
    let rows = select_prescriptions!(
        Counted,
        r#", count(*) over () as "total!""#,
        "where not exists (select 1 from prescriptions n where n.previous_version = p.id) \
         and ($1::bigint is null or p.patient_id = $1) and ($2::bigint is null or p.doctor_id = $2) \
         order by p.id desc limit $3 offset $4",
        patient as Option<PatientId>,
        doctor as Option<DoctorId>,
        limit,
        offset,
    )
    .fetch_all(conn)
    .await?;
    let total = rows.first().map_or(0, |row| row.total);
    Ok((rows.into_iter().map(Counted::into_prescription).collect(), total))
}
