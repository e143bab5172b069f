//! `/api/accounts/access-grants/...`: a patient lists who can read their records, and revokes.

use actix_web::{HttpResponse, web};

use crate::{
    access::{desk::Command, grants as rules, model::Grant},
    accounts::model::{Principal, UserType},
    audit::RequestMeta,
    http::{
        error::{ApiError, ErrorBody},
        pagination::{Page, PageParams, PageRequest},
    },
    ids::PatientId,
    state::AppState,
};

/// Who can read my records, until when (patient): live grants and those that ended in the last
/// 30 days, newest first.
#[utoipa::path(get, path = "/api/accounts/access-grants/", tag = "access", security(("jwtAuth" = [])),
    params(PageParams),
    responses((status = 200, body = Page<Grant>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn grants(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
) -> Result<web::Json<Page<Grant>>, ApiError> {
    if caller.user_type != UserType::Patient {
        return Err(ApiError::Forbidden("Only patients list the grants to their records."));
    }
    let patient_id = PatientId(caller.user_id.0);
    let (count, rows) = rules::of_patient(&state.db, patient_id, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// Revoke a grant (patient): the doctor loses access on their next request. A grant that already
/// ended is 204 as well.
#[utoipa::path(delete, path = "/api/accounts/access-grants/{id}/", tag = "access", security(("jwtAuth" = [])),
    params(("id" = i64, Path, description = "The grant's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    if caller.user_type != UserType::Patient {
        return Err(ApiError::Forbidden("Only patients revoke the grants to their records."));
    }
    let grant_id = id.into_inner();
    let patient_id = PatientId(caller.user_id.0);
    state.patient_desks.apply(&caller, &meta, patient_id, Command::Revoke { grant_id }).await?;
    Ok(HttpResponse::NoContent().finish())
}
