//! `GET /api/appointments/...`: each party's list, and one appointment.

use actix_web::web;

use crate::{
    accounts::model::{Principal, UserType},
    appointments::{
        model::{Appointment, Status, requests::ListQuery},
        policy,
        repo::{self, ListFilter, Owner},
    },
    errors::FieldErrors,
    http::{
        error::{ApiError, ErrorBody},
        pagination::{Page, PageParams, PageRequest},
    },
    ids::{AppointmentId, PatientId},
    state::AppState,
};

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
    list_for(&state, Owner::Patient(PatientId(caller.user_id.0)), &page, &query).await
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
    list_for(&state, Owner::Doctor(caller.user_id), &page, &query).await
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
    let appointment = repo::get(&state.db, AppointmentId(id.into_inner())).await?.ok_or(ApiError::NotFound)?;
    if !policy::may_see(&caller, &appointment) {
        return Err(ApiError::NotFound);
    }
    Ok(web::Json(appointment))
}
