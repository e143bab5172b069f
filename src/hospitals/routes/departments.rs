//! `/api/hospitals/departments/...` and `/api/hospitals/{id}/departments/`. A hospital account
//! works on its own departments only (another hospital's answers 404); everyone else reads the
//! active departments of approved hospitals.

use actix_web::{HttpResponse, http::Method, web};

use crate::{
    accounts::model::Principal,
    audit::RequestMeta,
    hospitals::{
        model::{Department, DepartmentListQuery, DepartmentRequest, policy},
        repo, service,
    },
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
    },
    ids::HospitalId,
    state::AppState,
};

/// Departments: a hospital's own (all of them), or for anyone else the active departments of
/// approved hospitals, optionally of one `hospital_id`.
#[utoipa::path(get, path = "/api/hospitals/departments/", tag = "departments", security(("jwtAuth" = [])),
    params(PageParams, DepartmentListQuery),
    responses((status = 200, body = Page<Department>), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    query: web::Query<DepartmentListQuery>,
) -> Result<web::Json<Page<Department>>, ApiError> {
    let own = policy::own_hospital(&caller);
    let mut conn = state.db.acquire().await?;
    let (rows, count) = repo::list_departments(&mut conn, own, query.hospital_id, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// A hospital's departments, for anyone signed in (active ones; all of them for the owner).
#[utoipa::path(get, path = "/api/hospitals/{id}/departments/", tag = "departments", security(("jwtAuth" = [])),
    params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<Department>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn of_hospital(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    id: web::Path<HospitalId>,
) -> Result<web::Json<Page<Department>>, ApiError> {
    let hospital =
        service::visible_hospital(&state.db, Some(&caller), id.into_inner()).await?.ok_or(ApiError::NotFound)?;
    let own = policy::own_hospital(&caller).filter(|own| *own == hospital.id);
    let mut conn = state.db.acquire().await?;
    let (rows, count) = repo::list_departments(&mut conn, own, Some(hospital.id), page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// Create a department in the caller's hospital.
#[utoipa::path(post, path = "/api/hospitals/departments/", tag = "departments", security(("jwtAuth" = [])),
    request_body = DepartmentRequest,
    responses((status = 201, body = Department), (status = 400), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<DepartmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let department = service::departments::create(&state, &caller, &meta, body).await?;
    Ok(HttpResponse::Created().json(department))
}

/// One department: the owner's own, or an active department of an approved hospital.
#[utoipa::path(get, path = "/api/hospitals/departments/{id}/", tag = "departments", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Department), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    caller: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<Department>, ApiError> {
    let id = id.into_inner();
    let department = match policy::own_hospital(&caller) {
        Some(hospital_id) => repo::get_department(&state.db, hospital_id, id).await?,
        None => repo::get_public_department(&state.db, id).await?,
    };
    department.map(web::Json).ok_or(ApiError::NotFound)
}

/// Replace a department of the caller's hospital (PUT), or change some of its fields (PATCH).
#[utoipa::path(method(put, patch), path = "/api/hospitals/departments/{id}/", tag = "departments",
    security(("jwtAuth" = [])), params(("id" = i64, Path)), request_body = DepartmentRequest,
    responses((status = 200, body = Department), (status = 400), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    method: Method,
    id: web::Path<i64>,
    Body(body): Body<DepartmentRequest>,
) -> Result<web::Json<Department>, ApiError> {
    let partial = method == Method::PATCH;
    service::departments::update(&state, &caller, &meta, id.into_inner(), body, partial).await.map(web::Json)
}

/// Delete a department of the caller's hospital. One that appointments refer to cannot be
/// deleted (409): deactivate it instead.
#[utoipa::path(delete, path = "/api/hospitals/departments/{id}/", tag = "departments", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`code`: `department_in_use`")))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    service::departments::delete(&state, &caller, &meta, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
