//! `POST /api/appointments/`: a patient books.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use crate::{
    accounts::model::Principal,
    appointments::{
        model::{Appointment, requests::BookingRequest},
        policy,
        repo::{self, Booked, NewAppointment},
    },
    audit::RequestMeta,
    errors::FieldErrors,
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
    },
    ids::{HospitalId, PatientId},
    state::AppState,
};

const NO_HOSPITAL: &str = "No approved hospital with this id.";
const NO_DEPARTMENT: &str = "No active department with this id at this hospital.";

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
    let hospital = body.hospital.map(HospitalId);
    let (department, requested_time) = (body.department, body.requested_time);
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
        patient_id: PatientId(caller.user_id.0),
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
