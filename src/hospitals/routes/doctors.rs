//! `/api/hospitals/doctors/...` and `/api/hospitals/{id}/doctors/`: a hospital's doctors, listed,
//! read and changed by the hospital (accounts are made in `doctor_accounts`).

use actix_web::{HttpResponse, http::Method, web};

use crate::{
    accounts::model::Principal,
    audit::RequestMeta,
    hospitals::{
        model::{Doctor, DoctorListQuery, DoctorRequest, PublicDoctor, policy},
        repo,
        service::{self, doctors::owner},
    },
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
    },
    ids::{DoctorId, HospitalId},
    state::AppState,
};

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
    let mut conn = state.db.acquire().await?;
    let filter = query.filter(false);
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
    id: web::Path<HospitalId>,
    query: web::Query<DoctorListQuery>,
) -> Result<HttpResponse, ApiError> {
    let hospital =
        service::visible_hospital(&state.db, Some(&caller), id.into_inner()).await?.ok_or(ApiError::NotFound)?;
    let owner = policy::own_hospital(&caller) == Some(hospital.id);
    let filter = query.filter(!owner);
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
    id: web::Path<DoctorId>,
) -> Result<web::Json<Doctor>, ApiError> {
    let hospital_id = owner(&caller)?;
    repo::get_doctor(&state.db, hospital_id, id.into_inner()).await?.map(web::Json).ok_or(ApiError::NotFound)
}

/// Replace a doctor's profile (PUT), or change some fields (PATCH): `is_active`, timings, ….
#[utoipa::path(method(put, patch), path = "/api/hospitals/doctors/{id}/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = DoctorRequest,
    responses((status = 200, body = Doctor), (status = 400), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    method: Method,
    id: web::Path<DoctorId>,
    Body(body): Body<DoctorRequest>,
) -> Result<web::Json<Doctor>, ApiError> {
    let partial = method == Method::PATCH;
    service::doctors::update(&state, &caller, &meta, id.into_inner(), body, partial).await.map(web::Json)
}
