//! Appointment types, the status machine, and who may do what (the one place these rules live).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::model::{Principal, UserType};

/// `REQUESTED → CONFIRMED | CANCELLED`, `CONFIRMED → COMPLETED | CANCELLED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Requested,
    Confirmed,
    Completed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "REQUESTED",
            Self::Confirmed => "CONFIRMED",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_uppercase().as_str() {
            "REQUESTED" => Some(Self::Requested),
            "CONFIRMED" => Some(Self::Confirmed),
            "COMPLETED" => Some(Self::Completed),
            "CANCELLED" => Some(Self::Cancelled),
            _ => None,
        }
    }

    /// Whether the machine allows `self → to`.
    pub fn may_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Requested, Self::Confirmed | Self::Cancelled) | (Self::Confirmed, Self::Completed | Self::Cancelled)
        )
    }
}

impl TryFrom<String> for Status {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw).ok_or(raw)
    }
}

/// An appointment as the API shows it (the reference's `Appointment`, which the doctor's list's
/// `DoctorAppointment` is a subset of, plus `patient_email`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Appointment {
    pub id: i64,
    pub patient: i64,
    pub patient_name: String,
    pub patient_phone: String,
    pub patient_email: String,
    pub hospital: i64,
    pub hospital_name: String,
    pub department: i64,
    pub department_name: String,
    pub assigned_doctor: Option<i64>,
    pub doctor_name: String,
    pub requested_time: DateTime<Utc>,
    pub confirmed_time: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub reason: String,
    /// The hospital's and doctor's clinical notes (a patient never writes them).
    pub notes: String,
    /// Why the appointment was cancelled, as whoever cancelled it wrote it (empty otherwise).
    pub cancellation_reason: String,
    pub assigned_by: Option<i64>,
    pub assigned_by_name: String,
    pub assigned_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The hospital's IANA time zone (for times shown to the patient).
    #[serde(skip)]
    pub hospital_time_zone: String,
    #[serde(skip)]
    pub doctor_user: Option<i64>,
}

/// The free text of a status change, sorted to where it belongs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusText {
    /// Replaces the clinical notes when given.
    pub notes: Option<String>,
    /// Replaces the cancellation reason when given.
    pub cancellation_reason: Option<String>,
}

impl StatusText {
    /// Clinical notes are the hospital's and the doctor's: what a patient writes when cancelling
    /// (in `notes`, as clients send it, or in `cancellation_reason`) is their reason and never
    /// lands on the notes. A reason is kept only with a cancellation.
    pub fn sort(author: UserType, to: Status, notes: Option<String>, cancellation_reason: Option<String>) -> Self {
        let cancelling = to == Status::Cancelled;
        match author {
            UserType::Patient => {
                Self { notes: None, cancellation_reason: cancellation_reason.or(notes).filter(|_| cancelling) }
            }
            UserType::Hospital | UserType::Doctor | UserType::Admin => {
                Self { notes, cancellation_reason: cancellation_reason.filter(|_| cancelling) }
            }
        }
    }
}

/// Who may do what with appointments.
pub mod policy {
    use super::{Appointment, Principal, Status, UserType};

    /// Parties of an appointment see it; everyone else gets a 404.
    pub fn may_see(principal: &Principal, appointment: &Appointment) -> bool {
        match principal.user_type {
            UserType::Admin => true,
            UserType::Patient => appointment.patient == principal.user_id.0,
            UserType::Hospital => principal.hospital_id.map(crate::ids::HospitalId::get) == Some(appointment.hospital),
            UserType::Doctor => appointment.doctor_user == Some(principal.user_id.0),
        }
    }

    /// Who may move an appointment to `to` (beyond seeing it): the hospital any allowed move,
    /// the patient only cancel, the assigned doctor only complete.
    pub fn may_set(principal: &Principal, appointment: &Appointment, to: Status) -> bool {
        if !may_see(principal, appointment) {
            return false;
        }
        match principal.user_type {
            UserType::Hospital => true,
            UserType::Patient => to == Status::Cancelled,
            UserType::Doctor => to == Status::Completed,
            UserType::Admin => false,
        }
    }

    pub fn may_book(principal: &Principal) -> bool {
        principal.user_type == UserType::Patient
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Status::{self, *},
        StatusText, UserType,
    };

    #[test]
    fn a_patients_words_become_the_cancellation_reason_never_the_notes() {
        let text = |author, to, notes: Option<&str>, reason: Option<&str>| {
            StatusText::sort(author, to, notes.map(Into::into), reason.map(Into::into))
        };
        let patient = text(UserType::Patient, Cancelled, Some("travelling"), None);
        assert_eq!((patient.notes, patient.cancellation_reason.as_deref()), (None, Some("travelling")));
        let explicit = text(UserType::Patient, Cancelled, Some("x"), Some("ill"));
        assert_eq!(explicit.cancellation_reason.as_deref(), Some("ill"));
        let hospital = text(UserType::Hospital, Cancelled, Some("ECG done"), Some("doctor away"));
        assert_eq!(
            (hospital.notes.as_deref(), hospital.cancellation_reason.as_deref()),
            (Some("ECG done"), Some("doctor away"))
        );
        assert_eq!(text(UserType::Doctor, Completed, Some("n"), Some("r")).cancellation_reason, None);
    }

    #[test]
    fn only_the_documented_moves_are_allowed() {
        let all = [Requested, Confirmed, Completed, Cancelled];
        let allowed: Vec<(Status, Status)> =
            all.iter().flat_map(|a| all.iter().map(move |b| (*a, *b))).filter(|(a, b)| a.may_become(*b)).collect();
        assert_eq!(
            allowed,
            [(Requested, Confirmed), (Requested, Cancelled), (Confirmed, Completed), (Confirmed, Cancelled)]
        );
    }
}
