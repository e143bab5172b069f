//! `/api/hospitals/departments/...` and `/api/hospitals/{id}/departments/`. A hospital account
//! works on its own departments only (another hospital's answers 404); everyone else reads the
//! active departments of approved hospitals.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::{
    model::{Department, policy},
    repo, service,
};
use crate::{
    accounts::model::{Principal, required},
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors, from_database},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
    },
    state::AppState,
};

/// The hospital a caller changes departments of: its own; any other role is refused.
fn owner(caller: &Principal) -> Result<i64, ApiError> {
    policy::own_hospital(caller).ok_or(ApiError::Forbidden("Only a hospital account can manage its departments."))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DepartmentRequest {
    /// Ignored: a department always belongs to the caller's hospital.
    pub hospital: Option<i64>,
    #[schema(required = true, value_type = String)]
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DepartmentListQuery {
    /// Departments of this hospital only (callers other than hospitals).
    pub hospital_id: Option<i64>,
}

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
    id: web::Path<i64>,
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
    let hospital_id = owner(&caller)?;
    let (name, description, _) = fields(body, None)?;
    let mut tx = state.db.begin().await?;
    let id = repo::insert_department(&mut *tx, hospital_id, &name, &description).await.map_err(from_database)?;
    let event =
        AuditEvent::new("department_created").by(&caller).target("department", id).details(json!({ "name": name }));
    audit::record(&mut tx, &meta, event).await?;
    let department = repo::get_department(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(department))
}

/// Checks a department body; `current` fills what a partial update leaves out.
fn fields(body: DepartmentRequest, current: Option<&Department>) -> Result<(String, String, bool), ApiError> {
    let mut errors = FieldErrors::new();
    let name = match (body.name, current) {
        (None, Some(current)) => current.name.clone(),
        (name, _) => required(&mut errors, "name", name).trim().to_owned(),
    };
    if name.chars().count() > 255 {
        errors.add("name", "Ensure this field has no more than 255 characters.");
    }
    let description = body.description.map(|d| d.trim().to_owned()).or_else(|| current.map(|c| c.description.clone()));
    if description.as_ref().is_some_and(|d| d.chars().count() > 5000) {
        errors.add("description", "Ensure this field has no more than 5000 characters.");
    }
    let is_active = body.is_active.or(current.map(|c| c.is_active)).unwrap_or(true);
    errors.into_result()?;
    Ok((name, description.unwrap_or_default(), is_active))
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

/// Replace a department of the caller's hospital.
#[utoipa::path(put, path = "/api/hospitals/departments/{id}/", tag = "departments", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = DepartmentRequest,
    responses((status = 200, body = Department), (status = 400), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<DepartmentRequest>,
) -> Result<web::Json<Department>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, true).await.map(web::Json)
}

/// Change some fields of a department of the caller's hospital.
#[utoipa::path(patch, path = "/api/hospitals/departments/{id}/", tag = "departments", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = DepartmentRequest,
    responses((status = 200, body = Department), (status = 400), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<DepartmentRequest>,
) -> Result<web::Json<Department>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, false).await.map(web::Json)
}

async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
    body: DepartmentRequest,
    replace: bool,
) -> Result<Department, ApiError> {
    let hospital_id = owner(caller)?;
    let mut tx = state.db.begin().await?;
    let current = repo::lock_department(&mut tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    let (name, description, is_active) = fields(body, (!replace).then_some(&current))?;
    repo::update_department(&mut *tx, hospital_id, id, &name, &description, is_active).await.map_err(from_database)?;
    audit::record(&mut tx, meta, AuditEvent::new("department_updated").by(caller).target("department", id)).await?;
    let department = repo::get_department(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(department)
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
    let hospital_id = owner(&caller)?;
    let id = id.into_inner();
    let mut tx = state.db.begin().await?;
    // Appointments referring to it make this a 409 `department_in_use`.
    let deleted = repo::delete_department(&mut *tx, hospital_id, id).await.map_err(from_database)?;
    if !deleted {
        return Err(ApiError::NotFound);
    }
    audit::record(&mut tx, &meta, AuditEvent::new("department_deleted").by(&caller).target("department", id)).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
