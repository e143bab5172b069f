//! `/api/hospitals/doctors/...` and `/api/hospitals/{id}/doctors/`: a hospital's doctors, listed,
//! read and changed by the hospital (accounts are made in `doctor_accounts`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};

use super::{
    model::{Doctor, PublicDoctor, parse_timings, policy},
    repo::{self, DoctorFields, DoctorFilter},
    service,
};
use crate::{
    accounts::model::{PhoneNumber, Principal, bounded, required},
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
    },
    state::AppState,
};

pub(super) fn owner(caller: &Principal) -> Result<i64, ApiError> {
    policy::own_hospital(caller).ok_or(ApiError::Forbidden("Only a hospital account can manage its doctors."))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DoctorRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub cnic: Option<String>,
    pub address: Option<String>,
    pub license_number: Option<String>,
    pub specialization: Option<String>,
    /// A department of the same hospital, or null.
    pub department: Option<Value>,
    /// Weekday → list of `HH:MM-HH:MM` ranges.
    #[schema(value_type = Option<Object>)]
    pub available_timings: Option<Value>,
    pub is_active: Option<bool>,
}

/// Checks the profile fields into `errors`; `current` fills what a partial update leaves out.
pub(super) async fn profile_fields(
    state: &AppState,
    conn: &mut PgConnection,
    errors: &mut FieldErrors,
    hospital_id: i64,
    body: &DoctorRequest,
    current: Option<&Doctor>,
) -> Result<DoctorFields, ApiError> {
    let region = &state.settings.accounts.default_phone_region;
    let keep = |value: &Option<String>, old: Option<&String>| value.clone().or_else(|| old.cloned());
    let license_number = match keep(&body.license_number, current.map(|c| &c.license_number)) {
        Some(v) if !v.trim().is_empty() => bounded(errors, "license_number", Some(v), 100).unwrap_or_default(),
        other => required(errors, "license_number", other),
    };
    let specialization = match keep(&body.specialization, current.map(|c| &c.specialization)) {
        Some(v) if !v.trim().is_empty() => bounded(errors, "specialization", Some(v), 255).unwrap_or_default(),
        other => required(errors, "specialization", other),
    };
    let phone_number = match keep(&body.phone_number, current.map(|c| &c.phone_number)) {
        Some(raw) if !raw.trim().is_empty() => PhoneNumber::parse(&raw, region)
            .map(PhoneNumber::into_inner)
            .map_err(|m| errors.add("phone_number", m))
            .unwrap_or_default(),
        other => required(errors, "phone_number", other),
    };
    let cnic = bounded(errors, "cnic", keep(&body.cnic, current.map(|c| &c.cnic)), 20).unwrap_or_default();
    let address =
        bounded(errors, "address", keep(&body.address, current.map(|c| &c.address)), 2000).unwrap_or_default();
    let available_timings = match &body.available_timings {
        None => current.map_or_else(|| json!({}), |c| c.available_timings.clone()),
        Some(Value::Null) => json!({}),
        Some(raw) => parse_timings(raw).map_err(|m| errors.add("available_timings", m)).unwrap_or_default(),
    };
    let department_id = match &body.department {
        None => current.and_then(|c| c.department),
        Some(Value::Null) => None,
        Some(raw) => match raw.as_i64() {
            // Another hospital's department does not exist, as far as this hospital can tell.
            Some(id) if repo::get_department(&mut *conn, hospital_id, id).await?.is_some() => Some(id),
            _ => {
                errors.add("department", "No such department in this hospital.");
                None
            }
        },
    };
    let is_active = body.is_active.or(current.map(|c| c.is_active)).unwrap_or(true);
    Ok(DoctorFields {
        department_id,
        cnic,
        address,
        license_number,
        specialization,
        phone_number,
        available_timings,
        is_active,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoctorListQuery {
    /// A department id.
    pub department: Option<i64>,
    /// Exact specialization, ignoring case.
    pub specialization: Option<String>,
}

/// The caller's hospital's doctors.
#[utoipa::path(get, path = "/api/hospitals/doctors/", tag = "doctors", security(("jwtAuth" = [])),
    params(PageParams, DoctorListQuery),
    responses((status = 200, body = Page<Doctor>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    query: web::Query<DoctorListQuery>,
) -> Result<web::Json<Page<Doctor>>, ApiError> {
    let hospital_id = owner(&caller)?;
    let filter = DoctorFilter {
        active_only: false,
        department: query.department,
        specialization: query.specialization.as_deref().filter(|s| !s.is_empty()),
    };
    let mut conn = state.db.acquire().await?;
    let (rows, count) = repo::list_doctors(&mut conn, hospital_id, &filter, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// A hospital's doctors for anyone signed in: active ones in their public shape; for the owner,
/// all of them in full.
#[utoipa::path(get, path = "/api/hospitals/{id}/doctors/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path), PageParams, DoctorListQuery),
    responses((status = 200, body = Page<PublicDoctor>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn of_hospital(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    id: web::Path<i64>,
    query: web::Query<DoctorListQuery>,
) -> Result<HttpResponse, ApiError> {
    let hospital =
        service::visible_hospital(&state.db, Some(&caller), id.into_inner()).await?.ok_or(ApiError::NotFound)?;
    let owner = policy::own_hospital(&caller) == Some(hospital.id);
    let filter = DoctorFilter {
        active_only: !owner,
        department: query.department,
        specialization: query.specialization.as_deref().filter(|s| !s.is_empty()),
    };
    let mut conn = state.db.acquire().await?;
    let (rows, count) = repo::list_doctors(&mut conn, hospital.id, &filter, page.limit(), page.offset()).await?;
    if owner {
        return Ok(HttpResponse::Ok().json(page.respond(count, rows)?));
    }
    let public: Vec<PublicDoctor> = rows.into_iter().map(PublicDoctor::from).collect();
    Ok(HttpResponse::Ok().json(page.respond(count, public)?))
}

/// One doctor of the caller's hospital.
#[utoipa::path(get, path = "/api/hospitals/doctors/{id}/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Doctor), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    caller: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<Doctor>, ApiError> {
    let hospital_id = owner(&caller)?;
    repo::get_doctor(&state.db, hospital_id, id.into_inner()).await?.map(web::Json).ok_or(ApiError::NotFound)
}

/// Replace a doctor's profile (the caller's hospital's doctor).
#[utoipa::path(put, path = "/api/hospitals/doctors/{id}/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = DoctorRequest,
    responses((status = 200, body = Doctor), (status = 400), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<DoctorRequest>,
) -> Result<web::Json<Doctor>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, true).await.map(web::Json)
}

/// Change some of a doctor's fields: `is_active`, timings, department, specialization, ….
#[utoipa::path(patch, path = "/api/hospitals/doctors/{id}/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = DoctorRequest,
    responses((status = 200, body = Doctor), (status = 400), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<DoctorRequest>,
) -> Result<web::Json<Doctor>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, false).await.map(web::Json)
}

async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
    body: DoctorRequest,
    replace: bool,
) -> Result<Doctor, ApiError> {
    let hospital_id = owner(caller)?;
    let mut tx = state.db.begin().await?;
    let current = repo::lock_doctor(&mut tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let fields =
        profile_fields(state, &mut tx, &mut errors, hospital_id, &body, (!replace).then_some(&current)).await?;
    errors.into_result()?;
    repo::update_doctor_profile(&mut *tx, hospital_id, id, &fields).await?;
    if fields.is_active != current.is_active {
        // A deactivated doctor is signed out and cannot sign in; reactivation lets them back.
        repo::set_doctor_login(&mut tx, current.user, fields.is_active).await?;
    }
    let event = AuditEvent::new("doctor_updated")
        .by(caller)
        .target("doctor", id)
        .details(json!({ "is_active": fields.is_active }));
    audit::record(&mut tx, meta, event).await?;
    let doctor = repo::get_doctor(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    // Logins were revoked or an account changed: this process forgets what it cached now.
    state.sessions.changed();
    Ok(doctor)
}
