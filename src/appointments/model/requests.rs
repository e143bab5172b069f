//! The bodies and query strings the appointment routes read, and the answer of a change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Appointment, Status};

#[derive(Debug, Deserialize, ToSchema)]
pub struct BookingRequest {
    #[schema(required = true, value_type = i64)]
    pub hospital: Option<i64>,
    #[schema(required = true, value_type = i64)]
    pub department: Option<i64>,
    #[schema(required = true, value_type = DateTime<Utc>)]
    pub requested_time: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `REQUESTED`, `CONFIRMED`, `COMPLETED` or `CANCELLED`.
    pub status: Option<String>,
    /// From this time (RFC 3339), on the confirmed time, else the requested one.
    pub date_from: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    pub date_to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentResponse {
    pub message: String,
    pub appointment: Appointment,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignDoctorRequest {
    #[schema(required = true, value_type = i64)]
    pub doctor_id: Option<i64>,
    /// With a (future) time the appointment becomes CONFIRMED for `[time, time + duration)`.
    pub confirmed_time: Option<DateTime<Utc>>,
    /// Slot length, 5 to 480 minutes (default 30).
    pub duration_minutes: Option<i32>,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusRequest {
    #[schema(required = true, value_type = Status)]
    pub status: Option<String>,
    /// Clinical notes (hospital or doctor). A patient's text here is taken as the cancellation
    /// reason and never replaces the notes.
    pub notes: Option<String>,
    /// Why the appointment is cancelled (with `CANCELLED` only).
    pub cancellation_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CancelRequest {
    /// Clinical notes (hospital). A patient's text here is taken as the cancellation reason and
    /// never replaces the notes.
    pub notes: Option<String>,
    /// Why the appointment is cancelled.
    pub cancellation_reason: Option<String>,
}

/// Free text of a request, trimmed and capped.
pub fn free_text(value: Option<String>) -> Option<String> {
    value.map(|n| n.trim().chars().take(2000).collect())
}
