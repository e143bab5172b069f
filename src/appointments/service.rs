//! Changes to an existing appointment (assign, status, cancel): one transaction each, the row
//! locked, the status machine and the parties' rights checked, overlaps refused by the database,
//! the patient's SMS queued and the change audited in the same transaction. Refusals are an
//! `AppointmentError`, which knows nothing of HTTP (`http::error` gives each its status and code).

use carehub_workers::{
    redact::Redacted,
    sms::{Purpose, queue_sms},
};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{
    model::{Appointment, Status, StatusText, policy},
    repo::{self, ChangeAudit},
};
use crate::{
    accounts::model::{Principal, UserType},
    audit::RequestMeta,
    errors::{Conflict, FieldErrors, Violation, violation},
};

/// What to do to an appointment.
#[derive(Debug, Clone)]
pub enum Command {
    Assign {
        doctor_id: i64,
        confirmed_time: Option<DateTime<Utc>>,
        duration_minutes: Option<i32>,
        notes: Option<String>,
    },
    SetStatus {
        status: Status,
        notes: Option<String>,
        cancellation_reason: Option<String>,
    },
}

/// Slot length when none is given.
pub const DEFAULT_MINUTES: i32 = 30;

/// Why a change to an appointment was refused.
///
/// Its `Debug` and `Display` never show a database error's message (it can quote the row).
#[derive(thiserror::Error)]
pub enum AppointmentError {
    /// Absent, or not the caller's to see.
    #[error("appointment not found")]
    NotFound,
    /// The caller's role may not make this change.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The command's fields broke the rules.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The appointment's state (or another appointment's) forbids the change.
    #[error("conflict: {}", .0.code())]
    Conflict(Conflict),
    /// Anything else: the database, the desk.
    #[error("{}", Redacted(.0))]
    Internal(anyhow::Error),
}

impl std::fmt::Debug for AppointmentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppointmentError({self})")
    }
}

impl From<FieldErrors> for AppointmentError {
    fn from(errors: FieldErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<anyhow::Error> for AppointmentError {
    fn from(cause: anyhow::Error) -> Self {
        Self::Internal(cause)
    }
}

/// An overlap the exclusion constraints refused is a conflict; any other database error is not.
impl From<sqlx::Error> for AppointmentError {
    fn from(err: sqlx::Error) -> Self {
        match violation(&err) {
            Some(Violation::Conflict(kind)) => Self::Conflict(kind),
            _ => Self::Internal(err.into()),
        }
    }
}

/// The patient's local time of an appointment, in the hospital's zone.
fn local_time(appointment: &Appointment) -> String {
    let at = appointment.confirmed_time.unwrap_or(appointment.requested_time);
    match appointment.hospital_time_zone.parse::<chrono_tz::Tz>() {
        Ok(zone) => at.with_timezone(&zone).format("%a %d %b %Y, %H:%M %Z").to_string(),
        Err(_) => at.format("%a %d %b %Y, %H:%M UTC").to_string(),
    }
}

/// Applies `command` to appointment `id` for `caller`: one transaction of three round trips (lock
/// and read; change, audit and read back in one statement; commit), plus the SMS when the
/// patient is told.
pub async fn apply(
    db: &PgPool,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
    command: Command,
) -> Result<Appointment, AppointmentError> {
    let mut tx = db.begin().await?;
    let before = repo::lock_get(&mut tx, id).await?.ok_or(AppointmentError::NotFound)?;
    if !policy::may_see(caller, &before) {
        return Err(AppointmentError::NotFound);
    }
    let to = match &command {
        Command::Assign { confirmed_time: Some(_), .. } => Status::Confirmed,
        Command::Assign { .. } => before.status,
        Command::SetStatus { status, .. } => *status,
    };
    let audit = ChangeAudit {
        action: match &command {
            Command::Assign { .. } => "appointment_assigned",
            Command::SetStatus { .. } => "appointment_status_changed",
        },
        actor: caller,
        meta,
        from: before.status,
        to,
    };
    let after = match &command {
        Command::Assign { doctor_id, confirmed_time, duration_minutes, notes } => {
            if caller.user_type != UserType::Hospital {
                return Err(AppointmentError::Forbidden("Only the hospital assigns doctors."));
            }
            if before.status != Status::Requested {
                return Err(AppointmentError::Conflict(Conflict::AssignNotRequested));
            }
            let mut errors = FieldErrors::new();
            if confirmed_time.is_some_and(|at| at <= Utc::now()) {
                errors.add("confirmed_time", "The confirmed time must be in the future.");
            }
            let minutes = duration_minutes.unwrap_or(DEFAULT_MINUTES);
            if !(5..=480).contains(&minutes) {
                errors.add("duration_minutes", "Must be between 5 and 480 minutes.");
            }
            if !errors.is_empty() && !repo::active_doctor_of(&mut *tx, before.hospital, *doctor_id).await? {
                // Refused already: the doctor is checked too, to report every field.
                errors.add("doctor_id", NO_DOCTOR);
            }
            errors.into_result()?;
            let confirmed = confirmed_time.map(|at| (at, minutes));
            repo::assign(&mut tx, id, *doctor_id, confirmed, notes.as_deref(), caller.user_id.0, &audit)
                .await?
                .ok_or_else(|| FieldErrors::single("doctor_id", NO_DOCTOR))?
        }
        Command::SetStatus { status, notes, cancellation_reason } => {
            if !policy::may_set(caller, &before, *status) {
                return Err(AppointmentError::Forbidden("You may not make this change to the appointment."));
            }
            if before.status == *status {
                // Asking for the status it already has (the frontend confirms after every
                // assignment) changes nothing: no write, no SMS, no audit row.
                return Ok(before);
            }
            if !before.status.may_become(*status) {
                return Err(AppointmentError::Conflict(Conflict::InvalidTransition));
            }
            if *status == Status::Confirmed {
                let Some(doctor_id) = before.assigned_doctor else {
                    return Err(AppointmentError::Conflict(Conflict::DoctorNotAssigned));
                };
                if before.confirmed_time.unwrap_or(before.requested_time) <= Utc::now() {
                    // As at assignment, an inactive doctor is named first.
                    if !repo::active_doctor_of(&mut *tx, before.hospital, doctor_id).await? {
                        return Err(AppointmentError::Conflict(Conflict::DoctorInactive));
                    }
                    return Err(AppointmentError::Conflict(Conflict::RequestedTimePassed));
                }
            }
            let text = StatusText::sort(caller.user_type, *status, notes.clone(), cancellation_reason.clone());
            // `None`: confirming, and the doctor has been deactivated since the assignment.
            repo::set_status(&mut tx, id, *status, &text, DEFAULT_MINUTES, &audit)
                .await?
                .ok_or(AppointmentError::Conflict(Conflict::DoctorInactive))?
        }
    };
    if after.status != before.status && !after.patient_phone.is_empty() {
        let text = match after.status {
            Status::Confirmed => Some((
                format!(
                    "CareHub: your appointment at {} ({}) with Dr. {} is confirmed for {}.",
                    after.hospital_name,
                    after.department_name,
                    after.doctor_name,
                    local_time(&after)
                ),
                Purpose::AppointmentConfirmation,
            )),
            Status::Cancelled => Some((
                format!(
                    "CareHub: your appointment at {} on {} has been cancelled.",
                    after.hospital_name,
                    local_time(&after)
                ),
                Purpose::AppointmentCancellation,
            )),
            Status::Requested | Status::Completed => None,
        };
        if let Some((text, purpose)) = text {
            queue_sms(&mut tx, &after.patient_phone, &text, purpose).await?;
        }
    }
    tx.commit().await?;
    Ok(after)
}

const NO_DOCTOR: &str = "No active doctor with this id at this hospital.";
