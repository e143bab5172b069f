//! Changes to an existing appointment (assign, status, cancel): the status machine and the
//! parties' rights checked on the appointment as read, then one statement (its own transaction)
//! that applies the change only to that version of the row, lets the database refuse overlaps,
//! audits the change and queues the patient's SMS. Refusals are an `AppointmentError`, which knows
//! nothing of HTTP (`http::error` gives each its status and code).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::{
    model::{Appointment, Status, StatusText},
    policy,
    repo::{self, ChangeAudit, Current},
};
use crate::{
    accounts::model::{Principal, UserType},
    audit::RequestMeta,
    errors::{Conflict, FieldErrors},
    ids::{AppointmentId, DoctorId},
};

mod error;
mod sms;

pub use self::error::AppointmentError;
use self::sms::text;

/// What to do to an appointment.
#[derive(Debug, Clone)]
pub enum Command {
    Assign {
        doctor_id: DoctorId,
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

/// How many times a change is decided again when the appointment changed between the read and
/// the write (another web process's change, or the doctor deactivated meanwhile).
const ATTEMPTS: usize = 5;

/// Applies `command` to appointment `id` for `caller`, in two round trips and no explicit
/// transaction: the appointment is read (with its version), the change decided on it, then one
/// statement changes it if it is still that version, audits it and queues the patient's SMS. If
/// it changed meanwhile, the change is decided again on what it became.
pub async fn apply(
    db: &PgPool,
    caller: &Principal,
    meta: &RequestMeta,
    id: AppointmentId,
    command: Command,
) -> Result<Appointment, AppointmentError> {
    let doctor = match &command {
        Command::Assign { doctor_id, .. } => Some(*doctor_id),
        Command::SetStatus { .. } => None,
    };
    // One connection for the read and the write: a second acquisition would queue twice for the
    // pool when it is busy.
    let mut conn = db.acquire().await?;
    for _ in 0..ATTEMPTS {
        let current = repo::current(&mut *conn, id, doctor).await?.ok_or(AppointmentError::NotFound)?;
        if let Some(after) = decide_and_apply(&mut conn, caller, meta, &current, &command).await? {
            return Ok(after);
        }
    }
    Err(AppointmentError::Internal(anyhow::anyhow!("appointment {id} kept changing during {ATTEMPTS} attempts")))
}

/// One attempt of [`apply`]: `None` when the appointment (or its doctor) changed since `current`
/// was read.
async fn decide_and_apply(
    conn: &mut PgConnection,
    caller: &Principal,
    meta: &RequestMeta,
    current: &Current,
    command: &Command,
) -> Result<Option<Appointment>, AppointmentError> {
    let before = &current.appointment;
    if !policy::may_see(caller, before) {
        return Err(AppointmentError::NotFound);
    }
    let to = match command {
        Command::Assign { confirmed_time: Some(_), .. } => Status::Confirmed,
        Command::Assign { .. } => before.status,
        Command::SetStatus { status, .. } => *status,
    };
    let audit = ChangeAudit {
        action: match command {
            Command::Assign { .. } => "appointment_assigned",
            Command::SetStatus { .. } => "appointment_status_changed",
        },
        actor: caller,
        meta,
        from: before.status,
        to,
    };
    Ok(match command {
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
            let Some(doctor_name) = &current.doctor_name else {
                errors.add("doctor_id", NO_DOCTOR);
                return Err(errors.into());
            };
            errors.into_result()?;
            let sms = confirmed_time.and_then(|at| text(before, to, doctor_name, at));
            let confirmed = confirmed_time.map(|at| (at, minutes));
            repo::assign(
                conn,
                before.id,
                &current.version,
                *doctor_id,
                confirmed,
                notes.as_deref(),
                &audit,
                sms.as_ref(),
            )
            .await?
        }
        Command::SetStatus { status, notes, cancellation_reason } => {
            if !policy::may_set(caller, before, *status) {
                return Err(AppointmentError::Forbidden("You may not make this change to the appointment."));
            }
            if before.status == *status {
                // Asking for the status it already has (the frontend confirms after every
                // assignment) changes nothing: no write, no SMS, no audit row.
                return Ok(Some(before.clone()));
            }
            if !before.status.may_become(*status) {
                return Err(AppointmentError::Conflict(Conflict::InvalidTransition));
            }
            let at = before.confirmed_time.unwrap_or(before.requested_time);
            let mut doctor_name = "";
            if *status == Status::Confirmed {
                if before.assigned_doctor.is_none() {
                    return Err(AppointmentError::Conflict(Conflict::DoctorNotAssigned));
                }
                // As at assignment, an inactive doctor is named first.
                let Some(name) = &current.doctor_name else {
                    return Err(AppointmentError::Conflict(Conflict::DoctorInactive));
                };
                if at <= Utc::now() {
                    return Err(AppointmentError::Conflict(Conflict::RequestedTimePassed));
                }
                doctor_name = name;
            }
            let sms = text(before, *status, doctor_name, at);
            let text = StatusText::sort(caller.user_type, *status, notes.clone(), cancellation_reason.clone());
            repo::set_status(conn, before.id, &current.version, *status, &text, DEFAULT_MINUTES, &audit, sms.as_ref())
                .await?
        }
    })
}

const NO_DOCTOR: &str = "No active doctor with this id at this hospital.";
