//! `/api/hospitals/`, `/api/hospitals/{id}/` and `/api/hospitals/nearby/`: the directory (list,
//! detail, nearby search) and the owner's (or an admin's) changes to a hospital's record.

use actix_web::{http::Method, web};

use crate::{
    accounts::model::{MaybePrincipal, Principal},
    audit::RequestMeta,
    hospitals::{
        model::{
            Hospital, HospitalListQuery, HospitalRequest, NEARBY_LIMIT, NearbyQuery, NearbyResponse, hide_account,
        },
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

/// The hospital directory, newest first: approved hospitals for everyone; admins see all and
/// may filter by `is_approved`.
#[utoipa::path(get, path = "/api/hospitals/", tag = "hospitals", params(PageParams, HospitalListQuery),
    responses((status = 200, body = Page<Hospital>), (status = 400), (status = 404, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    MaybePrincipal(caller): MaybePrincipal,
    page: PageRequest,
    query: web::Query<HospitalListQuery>,
) -> Result<web::Json<Page<Hospital>>, ApiError> {
    let approved = query.approved()?;
    let window = (page.limit(), page.offset());
    let (rows, count) = service::hospitals::list(&state, caller.as_ref(), approved, query.search(), window).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// One hospital.
#[utoipa::path(get, path = "/api/hospitals/{id}/", tag = "hospitals", params(("id" = i64, Path)),
    responses((status = 200, body = Hospital), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    MaybePrincipal(caller): MaybePrincipal,
    id: web::Path<HospitalId>,
) -> Result<web::Json<Hospital>, ApiError> {
    let hospital =
        service::visible_hospital(&state.db, caller.as_ref(), id.into_inner()).await?.ok_or(ApiError::NotFound)?;
    Ok(web::Json(hide_account(caller.as_ref(), hospital)))
}

/// Replace the hospital's record (PUT), or change some of its fields (PATCH); owner or admin.
#[utoipa::path(method(put, patch), path = "/api/hospitals/{id}/", tag = "hospitals", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = HospitalRequest,
    responses((status = 200, body = Hospital), (status = 400), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    method: Method,
    id: web::Path<HospitalId>,
    Body(body): Body<HospitalRequest>,
) -> Result<web::Json<Hospital>, ApiError> {
    let partial = method == Method::PATCH;
    service::hospitals::update(&state, &caller, &meta, id.into_inner(), body, partial).await.map(web::Json)
}

/// Approved hospitals within `radius_km` of a point, nearest first (at most 200). Distances are
/// great-circle on a sphere: within a few hundred metres of the WGS-84 geodesic at the edge.
#[utoipa::path(get, path = "/api/hospitals/nearby/", tag = "hospitals", params(NearbyQuery),
    responses((status = 200, body = NearbyResponse), (status = 400, description = "Missing or out-of-range coordinates")))]
pub async fn nearby(
    state: web::Data<AppState>,
    query: web::Query<NearbyQuery>,
) -> Result<web::Json<NearbyResponse>, ApiError> {
    let (lat, lng, radius_km) = query.parse()?;
    let hospitals = repo::nearby(&state.db, lat, lng, radius_km, NEARBY_LIMIT).await?;
    Ok(web::Json(NearbyResponse { count: hospitals.len(), radius_km, hospitals }))
}
