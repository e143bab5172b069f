//! `AppointmentError`: why a change to an appointment was refused. It knows nothing of HTTP
//! (`http::error` gives each its status and code).

use carehub_workers::redact::Redacted;

use crate::errors::{Conflict, FieldErrors, Violation, violation};

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
