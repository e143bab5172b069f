//! `/api/appointments/{id}/...`: assigning a doctor, changing the status and cancelling, each
//! sent to the desk of the appointment's hospital.

use actix_web::web;

use crate::{
    accounts::model::{Principal, UserType},
    appointments::{
        desk::Apply,
        model::{
            Status,
            requests::{AppointmentResponse, AssignDoctorRequest, CancelRequest, StatusRequest, free_text},
        },
        repo,
        service::Command,
    },
    audit::RequestMeta,
    errors::FieldErrors,
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
    },
    ids::{AppointmentId, DoctorId},
    state::AppState,
};

/// Sends a change to the appointment's hospital's desk.
async fn change(
    state: &AppState,
    caller: Principal,
    meta: RequestMeta,
    id: AppointmentId,
    command: Command,
    message: &str,
) -> Result<web::Json<AppointmentResponse>, ApiError> {
    // A hospital's changes go to its own desk, which finds no other hospital's appointment (the
    // desk reads it and checks the caller's right to it); anyone else's, to the desk of the
    // appointment's hospital.
    let hospital = match (caller.user_type, caller.hospital_id) {
        (UserType::Hospital, Some(hospital)) => hospital,
        _ => repo::hospital_of(&state.db, id).await?.ok_or(ApiError::NotFound)?,
    };
    let apply = Apply { caller, meta, appointment_id: id, command };
    let appointment = state.desks.apply(hospital, apply).await?;
    Ok(web::Json(AppointmentResponse { message: message.into(), appointment }))
}

/// Assign one of the hospital's active doctors; with `confirmed_time`, confirm the slot. A slot
/// overlapping another confirmed one of the doctor (or the patient) is a 409.
#[utoipa::path(post, path = "/api/appointments/{id}/assign-doctor/", tag = "appointments", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = AssignDoctorRequest,
    responses((status = 200, body = AppointmentResponse), (status = 400), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`code`: `doctor_slot_taken`, `patient_slot_taken`, `invalid_transition`")))]
pub async fn assign_doctor(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<AssignDoctorRequest>,
) -> Result<web::Json<AppointmentResponse>, ApiError> {
    let Some(doctor_id) = body.doctor_id else {
        return Err(ApiError::Validation(FieldErrors::single("doctor_id", "This field is required.")));
    };
    let command = Command::Assign {
        doctor_id: DoctorId(doctor_id),
        confirmed_time: body.confirmed_time,
        duration_minutes: body.duration_minutes,
        notes: free_text(body.notes),
    };
    change(&state, caller, meta, AppointmentId(id.into_inner()), command, "Doctor assigned.").await
}

/// Change the status: the hospital any allowed move, the assigned doctor COMPLETED, the patient
/// CANCELLED. Other moves are a 409. Asking for the status the appointment already has is a 200
/// that changes nothing. Confirming checks that the assigned doctor is still active (409).
#[utoipa::path(patch, path = "/api/appointments/{id}/status/", tag = "appointments", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = StatusRequest,
    responses((status = 200, body = AppointmentResponse), (status = 400), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`code`: `invalid_transition`, `doctor_not_assigned`, \
                `doctor_inactive`, `requested_time_passed`, `doctor_slot_taken`, `patient_slot_taken`")))]
pub async fn set_status(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<StatusRequest>,
) -> Result<web::Json<AppointmentResponse>, ApiError> {
    let status = match body.status.as_deref().map(Status::parse) {
        Some(Some(status)) => status,
        Some(None) => return Err(ApiError::Validation(FieldErrors::single("status", "Select a valid choice."))),
        None => return Err(ApiError::Validation(FieldErrors::single("status", "This field is required."))),
    };
    let command = Command::SetStatus {
        status,
        notes: free_text(body.notes),
        cancellation_reason: free_text(body.cancellation_reason),
    };
    change(&state, caller, meta, AppointmentId(id.into_inner()), command, "Appointment status updated.").await
}

/// Cancel: the patient their own, or the hospital.
#[utoipa::path(post, path = "/api/appointments/{id}/cancel/", tag = "appointments", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = CancelRequest,
    responses((status = 200, body = AppointmentResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`code`: `invalid_transition`")))]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<CancelRequest>,
) -> Result<web::Json<AppointmentResponse>, ApiError> {
    let command = Command::SetStatus {
        status: Status::Cancelled,
        notes: free_text(body.notes),
        cancellation_reason: free_text(body.cancellation_reason),
    };
    change(&state, caller, meta, AppointmentId(id.into_inner()), command, "Appointment cancelled.").await
}
