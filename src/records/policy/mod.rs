//! The one access rule of every records endpoint (prescriptions, reports, attachments, summary):
//! a patient reads their own records; a doctor reads a patient's records only while holding a
//! live access grant (from a verified one-time code) held by the login making the request; an
//! admin reads all; a hospital reads none. Who may *write* into a patient's record (a
//! prescription) is decided here too ([`may_prescribe`]).
//! Nothing the client sends (`?otp_verified=true`, a header) takes part. Every read of another
//! person's records is audited through [`Access::audit_read`], with the grant it relied on.

pub mod repo;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    accounts::model::{Principal, UserType},
    audit::{self, AuditEvent, RequestMeta},
    ids::{AppointmentId, DoctorId, HospitalId, PatientId},
};

/// Why a read or write of records was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 403: the caller's role may not, or a doctor holds no live grant for this patient.
    Forbidden(&'static str),
    /// 404: no such patient, or an object of another patient.
    NotFound,
}

/// Why the caller may read (or add to) one patient's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The patient themselves.
    Owner,
    /// A doctor holding grant `grant_id`.
    Doctor { grant_id: i64, doctor_id: DoctorId, hospital_id: HospitalId },
    /// A doctor reading what they wrote themselves (a prescription of theirs), without a grant.
    Author { doctor_id: DoctorId },
    /// An admin.
    Admin,
}

/// The caller's right to one patient's records, as decided by [`access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub patient_id: PatientId,
    pub reader: Reader,
}

pub const NO_GRANT: &str =
    "You need the patient's one-time code to read their records: ask for one at /api/accounts/otp/generate/.";
pub const HOSPITAL_READS_NONE: &str = "Hospitals do not read patients' medical records.";
pub const OTHER_PATIENT: &str = "You can only read your own medical records.";

/// The caller's doctor profile: `(doctor_profiles.id, hospital_id)`, when the caller is an
/// active doctor.
pub async fn doctor_of(conn: &mut PgConnection, caller: &Principal) -> sqlx::Result<Option<(DoctorId, HospitalId)>> {
    if caller.user_type != UserType::Doctor {
        return Ok(None);
    }
    repo::active_doctor(conn, caller.user_id.0).await
}

/// The live grant (`id`) that `doctor_id` holds for `patient_id` through the caller's login, if
/// any: not revoked, not expired, and redeemed by this very login (`caller.session_id`). The same
/// doctor logged in elsewhere, or anyone else who logs in with the doctor's password (a hospital
/// that reset it), holds nothing until a patient gives that login a code of its own.
pub async fn live_grant(
    conn: &mut PgConnection,
    caller: &Principal,
    doctor_id: DoctorId,
    patient_id: PatientId,
) -> sqlx::Result<Option<i64>> {
    crate::access::grants::live_grant(conn, caller, doctor_id, patient_id).await
}

/// The caller's right to read `patient_id`'s records (a route naming the patient:
/// `/api/records/patients/{patient_id}/...`). A patient asking for another patient's records is
/// refused (403) as a doctor without a grant is; an unknown patient is a 404 only to those who
/// could read any patient's records (an admin), so that a doctor cannot probe which ids exist.
pub async fn access(
    conn: &mut PgConnection,
    caller: &Principal,
    patient_id: PatientId,
) -> sqlx::Result<Result<Access, Refusal>> {
    let reader = match caller.user_type {
        UserType::Patient if caller.user_id.0 == patient_id.get() => Reader::Owner,
        UserType::Patient => return Ok(Err(Refusal::Forbidden(OTHER_PATIENT))),
        UserType::Hospital => return Ok(Err(Refusal::Forbidden(HOSPITAL_READS_NONE))),
        UserType::Admin => {
            if !repo::is_patient(conn, patient_id).await? {
                return Ok(Err(Refusal::NotFound));
            }
            Reader::Admin
        }
        UserType::Doctor => {
            let Some((doctor_id, hospital_id)) = doctor_of(conn, caller).await? else {
                return Ok(Err(Refusal::Forbidden(NO_GRANT)));
            };
            match live_grant(conn, caller, doctor_id, patient_id).await? {
                Some(grant_id) => Reader::Doctor { grant_id, doctor_id, hospital_id },
                None => return Ok(Err(Refusal::Forbidden(NO_GRANT))),
            }
        }
    };
    Ok(Ok(Access { patient_id, reader }))
}

/// The caller's right to read one object (a report, a prescription) of `patient_id`, found by
/// its own id. Another patient's object is a 404 (its existence is not the caller's to know); a
/// doctor without a grant gets the 403 that tells them to ask for a code, unless they wrote the
/// object (`author_doctor_id`: a prescription's doctor reads it without a grant).
pub async fn access_object(
    conn: &mut PgConnection,
    caller: &Principal,
    patient_id: PatientId,
    author_doctor_id: Option<DoctorId>,
) -> sqlx::Result<Result<Access, Refusal>> {
    if caller.user_type == UserType::Doctor
        && let Some(author) = author_doctor_id
        && let Some((doctor_id, hospital_id)) = doctor_of(conn, caller).await?
        && doctor_id == author
    {
        // A live grant is still named in the audit row when there is one.
        if let Some(grant_id) = live_grant(conn, caller, doctor_id, patient_id).await? {
            return Ok(Ok(Access { patient_id, reader: Reader::Doctor { grant_id, doctor_id, hospital_id } }));
        }
        return Ok(Ok(Access { patient_id, reader: Reader::Author { doctor_id } }));
    }
    Ok(match access(conn, caller, patient_id).await? {
        Err(Refusal::Forbidden(OTHER_PATIENT) | Refusal::Forbidden(HOSPITAL_READS_NONE)) => Err(Refusal::NotFound),
        other => other,
    })
}

/// Why a doctor may write into a patient's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treating {
    /// A live grant of the caller's login (`grant_id`).
    Grant(i64),
    /// The doctor is assigned to this appointment of the patient, within the window.
    Appointment(AppointmentId),
}

pub const NOT_TREATING: &str = "You can write into a patient's record only for an appointment assigned to you \
     (within records.prescribe_days_after_appointment days of its time) or with the patient's one-time code.";

/// Whether doctor `doctor_id` (the caller's active profile) may write into `patient_id`'s record
/// now: a live grant held by the caller's login, or `appointment_id` being a CONFIRMED or
/// COMPLETED appointment of that patient assigned to this doctor whose time is within
/// `days` of now. Nothing else (another doctor's appointment at the same hospital, an old one)
/// counts. The grant is preferred when there are both (it is named in the audit row).
pub async fn may_prescribe(
    conn: &mut PgConnection,
    caller: &Principal,
    doctor_id: DoctorId,
    patient_id: PatientId,
    appointment_id: Option<AppointmentId>,
    days: i64,
) -> sqlx::Result<Option<Treating>> {
    if let Some(grant_id) = live_grant(conn, caller, doctor_id, patient_id).await? {
        return Ok(Some(Treating::Grant(grant_id)));
    }
    let Some(appointment_id) = appointment_id else {
        return Ok(None);
    };
    let days = i32::try_from(days.clamp(0, 3650)).unwrap_or(30);
    let treating = repo::treating_appointment(conn, appointment_id, patient_id, doctor_id, days).await?;
    Ok(treating.then_some(Treating::Appointment(appointment_id)))
}

/// The one shape of a read of one patient's records by id: in one transaction, the caller's
/// right ([`access`]), the `read`, then its `records_read` audit row (`what`); a refusal or a
/// failed read writes nothing.
pub async fn read_patient<T, E>(
    db: &PgPool,
    caller: &Principal,
    meta: &RequestMeta,
    patient_id: PatientId,
    what: &'static str,
    read: impl AsyncFnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<sqlx::Error> + From<Refusal> + From<anyhow::Error>,
{
    let mut tx = db.begin().await?;
    let access = access(&mut tx, caller, patient_id).await??;
    let read = read(&mut tx).await?;
    access.audit_read(&mut tx, caller, meta, what, None).await?;
    tx.commit().await?;
    Ok(read)
}

impl Access {
    /// The grant this access relies on, if any.
    pub fn grant_id(&self) -> Option<i64> {
        match self.reader {
            Reader::Doctor { grant_id, .. } => Some(grant_id),
            _ => None,
        }
    }

    /// Writes the `records_read` audit row of a read of another person's records (nothing for
    /// the patient's own reads): actor, patient, what was read (`what`, e.g. `"prescriptions"`,
    /// `"report"`), the object when there is one, and the grant it relied on.
    pub async fn audit_read(
        &self,
        conn: &mut PgConnection,
        caller: &Principal,
        meta: &RequestMeta,
        what: &'static str,
        object: Option<(&'static str, i64)>,
    ) -> anyhow::Result<()> {
        if self.reader == Reader::Owner {
            return Ok(());
        }
        let mut details = json!({ "patient_id": self.patient_id, "read": what, "grant_id": self.grant_id() });
        if let Some((kind, id)) = object {
            details["object"] = json!({ "type": kind, "id": id });
        }
        let event =
            AuditEvent::new("records_read").by(caller).target("patient", self.patient_id.get()).details(details);
        audit::record(conn, meta, event).await
    }
}
