//! `/api/appointments/...`: booking, each party's list, one appointment, and its changes (sent
//! to the hospital's desk).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    desk::Apply,
    model::{Appointment, Status, policy},
    repo::{self, Booked, ListFilter, NewAppointment, Owner},
    service::Command,
};
use crate::{
    accounts::model::{Principal, UserType},
    audit::RequestMeta,
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/appointments/").post(book))
        .service(resource("/api/appointments/my-appointments/").get(my_appointments))
        .service(resource("/api/appointments/hospital-appointments/").get(hospital_appointments))
        .service(resource("/api/appointments/doctor-appointments/").get(doctor_appointments))
        .service(resource("/api/appointments/{id}/").get(detail))
        .service(resource("/api/appointments/{id}/assign-doctor/").post(assign_doctor))
        .service(resource("/api/appointments/{id}/status/").patch(set_status))
        .service(resource("/api/appointments/{id}/cancel/").post(cancel));
}

const NO_HOSPITAL: &str = "No approved hospital with this id.";
const NO_DEPARTMENT: &str = "No active department with this id at this hospital.";

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

/// Book an appointment (patient). With an `Idempotency-Key` header, repeating the request
/// returns the first booking instead of making another.
#[utoipa::path(post, path = "/api/appointments/", tag = "appointments", security(("jwtAuth" = [])),
    request_body = BookingRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe booking")),
    responses((status = 201, body = Appointment), (status = 400), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn book(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    req: HttpRequest,
    Body(body): Body<BookingRequest>,
) -> Result<HttpResponse, ApiError> {
    if !policy::may_book(&caller) {
        return Err(ApiError::Forbidden("Only patients book appointments."));
    }
    let key = req.headers().get("idempotency-key").map(|v| v.to_str().unwrap_or_default().trim().to_owned());
    let mut errors = FieldErrors::new();
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 100) {
        errors.add("non_field_errors", "The Idempotency-Key header must be 1 to 100 characters.");
    }
    let mut missing = |field: &str| errors.add(field, "This field is required.");
    let (hospital, department, requested_time) = (body.hospital, body.department, body.requested_time);
    if hospital.is_none() {
        missing("hospital");
    }
    if department.is_none() {
        missing("department");
    }
    if requested_time.is_none() {
        missing("requested_time");
    }
    let reason = body.reason.unwrap_or_default().trim().to_owned();
    if reason.chars().count() > 2000 {
        errors.add("reason", "Ensure this field has no more than 2000 characters.");
    }
    if requested_time.is_some_and(|at| at <= Utc::now()) {
        errors.add("requested_time", "The requested time must be in the future.");
    }
    let complete = match (hospital, department, requested_time) {
        (Some(hospital), Some(department), Some(at)) if errors.is_empty() => Some((hospital, department, at)),
        _ => None,
    };
    let Some((hospital_id, department_id, requested_time)) = complete else {
        // Refused already; the hospital and department are still checked, to report every field.
        if let (Some(hospital), Some(department)) = (hospital, department) {
            let (approved, department_ok) = repo::bookable(&state.db, hospital, department).await?;
            if !approved {
                errors.add("hospital", NO_HOSPITAL);
            } else if !department_ok {
                errors.add("department", NO_DEPARTMENT);
            }
        }
        return Err(ApiError::Validation(errors));
    };
    let new = NewAppointment {
        patient_id: caller.user_id.0,
        hospital_id,
        department_id,
        requested_time,
        reason: &reason,
        idempotency_key: key.as_deref(),
    };
    let mut conn = state.db.acquire().await?;
    // One statement checks, books and audits (see `repo::book`).
    let appointment = match repo::book(&mut conn, &new, &meta).await? {
        Booked::HospitalNotBookable => return Err(ApiError::Validation(FieldErrors::single("hospital", NO_HOSPITAL))),
        Booked::DepartmentNotBookable => {
            return Err(ApiError::Validation(FieldErrors::single("department", NO_DEPARTMENT)));
        }
        Booked::Created(appointment) | Booked::Repeated(appointment) => appointment,
    };
    Ok(HttpResponse::Created().json(appointment))
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

async fn list_for(
    state: &AppState,
    owner: Owner,
    page: &PageRequest,
    query: &ListQuery,
) -> Result<web::Json<Page<Appointment>>, ApiError> {
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(Status::parse(raw).ok_or_else(|| {
            ApiError::Validation(FieldErrors::single(
                "status",
                "Select a valid choice: REQUESTED, CONFIRMED, COMPLETED or CANCELLED.",
            ))
        })?),
    };
    let filter = ListFilter { status, from: query.date_from, to: query.date_to };
    let mut conn = state.db.acquire().await?;
    let (rows, count) = repo::list(&mut conn, owner, &filter, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// The caller's appointments (patient), newest first.
#[utoipa::path(get, path = "/api/appointments/my-appointments/", tag = "appointments", security(("jwtAuth" = [])),
    params(PageParams, ListQuery),
    responses((status = 200, body = Page<Appointment>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn my_appointments(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Appointment>>, ApiError> {
    if caller.user_type != UserType::Patient {
        return Err(ApiError::Forbidden("Only patients have their own appointments."));
    }
    list_for(&state, Owner::Patient(caller.user_id.0), &page, &query).await
}

/// The caller's hospital's appointments, newest first.
#[utoipa::path(get, path = "/api/appointments/hospital-appointments/", tag = "appointments", security(("jwtAuth" = [])),
    params(PageParams, ListQuery),
    responses((status = 200, body = Page<Appointment>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn hospital_appointments(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Appointment>>, ApiError> {
    let Some(hospital_id) = crate::hospitals::model::policy::own_hospital(&caller) else {
        return Err(ApiError::Forbidden("Only a hospital account has hospital appointments."));
    };
    list_for(&state, Owner::Hospital(hospital_id), &page, &query).await
}

/// The appointments assigned to the calling doctor, newest first.
#[utoipa::path(get, path = "/api/appointments/doctor-appointments/", tag = "appointments", security(("jwtAuth" = [])),
    params(PageParams, ListQuery),
    responses((status = 200, body = Page<Appointment>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn doctor_appointments(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Appointment>>, ApiError> {
    if caller.user_type != UserType::Doctor {
        return Err(ApiError::Forbidden("Only doctors have assigned appointments."));
    }
    list_for(&state, Owner::Doctor(caller.user_id.0), &page, &query).await
}

/// One appointment, for its parties only (404 for anyone else).
#[utoipa::path(get, path = "/api/appointments/{id}/", tag = "appointments", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Appointment), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    caller: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<Appointment>, ApiError> {
    let appointment = repo::get(&state.db, id.into_inner()).await?.ok_or(ApiError::NotFound)?;
    if !policy::may_see(&caller, &appointment) {
        return Err(ApiError::NotFound);
    }
    Ok(web::Json(appointment))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentResponse {
    pub message: String,
    pub appointment: Appointment,
}

/// Sends a change to the appointment's hospital's desk.
async fn change(
    state: &AppState,
    caller: Principal,
    meta: RequestMeta,
    id: i64,
    command: Command,
    message: &str,
) -> Result<web::Json<AppointmentResponse>, ApiError> {
    // A hospital's changes go to its own desk, which finds no other hospital's appointment (the
    // desk reads it and checks the caller's right to it); anyone else's, to the desk of the
    // appointment's hospital.
    let hospital = match (caller.user_type, caller.hospital_id.map(crate::ids::HospitalId::get)) {
        (UserType::Hospital, Some(hospital)) => hospital,
        _ => repo::hospital_of(&state.db, id).await?.ok_or(ApiError::NotFound)?,
    };
    let apply = Apply { caller, meta, appointment_id: id, command };
    let appointment = state.desks.apply(hospital, apply).await?;
    Ok(web::Json(AppointmentResponse { message: message.into(), appointment }))
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
        doctor_id,
        confirmed_time: body.confirmed_time,
        duration_minutes: body.duration_minutes,
        notes: body.notes.map(|n| n.trim().chars().take(2000).collect()),
    };
    change(&state, caller, meta, id.into_inner(), command, "Doctor assigned.").await
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

/// Free text of a request, trimmed and capped.
fn text(value: Option<String>) -> Option<String> {
    value.map(|n| n.trim().chars().take(2000).collect())
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
    let command =
        Command::SetStatus { status, notes: text(body.notes), cancellation_reason: text(body.cancellation_reason) };
    change(&state, caller, meta, id.into_inner(), command, "Appointment status updated.").await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CancelRequest {
    /// Clinical notes (hospital). A patient's text here is taken as the cancellation reason and
    /// never replaces the notes.
    pub notes: Option<String>,
    /// Why the appointment is cancelled.
    pub cancellation_reason: Option<String>,
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
        notes: text(body.notes),
        cancellation_reason: text(body.cancellation_reason),
    };
    change(&state, caller, meta, id.into_inner(), command, "Appointment cancelled.").await
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    book,
    my_appointments,
    hospital_appointments,
    doctor_appointments,
    detail,
    assign_doctor,
    set_status,
    cancel,
))]
pub struct Api;
