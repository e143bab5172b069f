//! Every SQL statement of the access context, one file per aggregate: [`patients`] (whom a code
//! request names), [`requests`] (code requests: issuing, counting, comparing, wrong tries),
//! [`delivery`] (an SMS code's sending, and the sweep of old codes), [`unmatched`] (requests
//! that named nobody), [`failures`] (failed verifications, for their budgets) and [`grants`].
//! Here: the advisory locks the access rules take ([`crate::locks`]), always in this order
//! within one transaction: the patient's (or an unknown subject's), then the doctor's; for a
//! verification the patient's, then the hospital's, then the client address's.

pub mod delivery;
pub mod failures;
pub mod grants;
pub mod patients;
pub mod requests;
pub mod unmatched;

use sqlx::PgConnection;

use crate::{
    ids::{DoctorId, HospitalId, PatientId},
    locks::{self, Key, LockSpace},
};

/// Serializes the code and grant changes of one patient across processes, until the transaction
/// ends ([`LockSpace::AccessPatient`]).
pub async fn lock_patient(conn: &mut PgConnection, patient_id: PatientId) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessPatient, Key::Id(patient_id.get())).await
}

/// Serializes the code requests of one doctor (whatever patient they name) until the caller's
/// transaction ends, so that the doctor's budget holds under concurrency. Taken after the
/// patient's (or subject's) lock, never before: no two transactions wait on each other in a cycle.
pub async fn lock_doctor(conn: &mut PgConnection, doctor_id: DoctorId) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessDoctor, Key::Id(doctor_id.get())).await
}

/// Serializes the requests that name one unknown subject until the caller's transaction ends.
pub async fn lock_subject(conn: &mut PgConnection, subject: &[u8]) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessSubject, Key::Bytes(subject)).await
}

/// Serializes the failed-verification budgets of one hospital (and so of each of its doctors)
/// until the transaction ends. Taken after the patient's lock, never before.
pub async fn lock_verifying_hospital(conn: &mut PgConnection, hospital_id: HospitalId) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessVerifyHospital, Key::Id(hospital_id.get())).await
}

/// The same for one client address; taken after the hospital's lock, never before.
pub async fn lock_verifying_address(conn: &mut PgConnection, address: &str) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::AccessVerifyAddress, Key::Text(address)).await
}
