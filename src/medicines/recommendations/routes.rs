//! `/api/recommendations/...`: ask (doctor), one answer, history, statistics and the cache.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{
    model::{ClearCacheResponse, PendingResponse, Recommendation, RecommendationRequest, RecommendationResponse},
    repo::{self, Stats},
    service::{Outcome, RecommendError, cache},
};
use crate::{
    accounts::model::{Principal, UserType},
    audit::RequestMeta,
    errors::FieldErrors,
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/recommendations/").post(recommend))
        .service(resource("/api/recommendations/history/").get(history))
        .service(resource("/api/recommendations/stats/").get(stats))
        .service(resource("/api/recommendations/clear-cache/").post(clear_cache))
        .service(resource("/api/recommendations/{id}/").get(detail));
}

impl From<RecommendError> for ApiError {
    fn from(err: RecommendError) -> Self {
        match err {
            RecommendError::Invalid(fields) => Self::Validation(fields),
            RecommendError::Throttled { retry_after_secs } => Self::Throttled { retry_after_secs },
            RecommendError::Internal(cause) => Self::Internal(cause),
            // Answered in the handler (502 with the id).
            RecommendError::Failed { .. } => Self::Internal(anyhow::anyhow!("unhandled model failure")),
        }
    }
}

/// Ask for a recommendation (doctor): 200 with the answer when it comes within
/// `recommendations.wait_seconds`, else 202 with the id to poll; 502 `llm_failed` when the model
/// failed. The server's own warnings are always in the answer. 10 uncached requests per hour.
#[utoipa::path(post, path = "/api/recommendations/", tag = "recommendations", security(("jwtAuth" = [])),
    request_body = RecommendationRequest,
    responses((status = 200, body = RecommendationResponse), (status = 202, body = PendingResponse), (status = 400),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 502, body = ErrorBody)))]
pub async fn recommend(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<RecommendationRequest>,
) -> Result<HttpResponse, ApiError> {
    if caller.user_type != UserType::Doctor {
        return Err(ApiError::Forbidden("Only doctors ask for medicine recommendations."));
    }
    let Some(name) = body.medicine_name.as_deref() else {
        return Err(FieldErrors::single("medicine_name", "This field is required.").into());
    };
    match state.recommender.recommend(&state.db, &caller, &meta, name, body.patient_info.as_ref()).await {
        Ok(Outcome::Done(row)) => Ok(HttpResponse::Ok().json(row.response())),
        Ok(Outcome::Pending(id)) => Ok(HttpResponse::Accepted().json(PendingResponse { id, status: "PENDING".into() })),
        Err(RecommendError::Failed { id, reason }) => Ok(HttpResponse::BadGateway().json(json!({
            "detail": format!("The language model gave no usable answer: {reason}"),
            "code": "llm_failed",
            "id": id,
        }))),
        Err(other) => Err(other.into()),
    }
}

/// One recommendation (its doctor, or an admin).
#[utoipa::path(get, path = "/api/recommendations/{id}/", tag = "recommendations", security(("jwtAuth" = [])),
    params(("id" = i64, Path, description = "The recommendation's id")),
    responses((status = 200, body = Recommendation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    caller: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<Recommendation>, ApiError> {
    if !matches!(caller.user_type, UserType::Doctor | UserType::Admin) {
        return Err(ApiError::Forbidden("Only doctors and admins read recommendations."));
    }
    let mut conn = state.db.acquire().await?;
    let row = repo::get(&mut conn, id.into_inner()).await?.ok_or(ApiError::NotFound)?;
    if !caller.is_admin() && row.requested_by != caller.user_id {
        return Err(ApiError::NotFound);
    }
    Ok(web::Json(row.into()))
}

/// The caller's recommendations (doctor), or everyone's (admin), newest first.
#[utoipa::path(get, path = "/api/recommendations/history/", tag = "recommendations", security(("jwtAuth" = [])),
    params(PageParams),
    responses((status = 200, body = Page<Recommendation>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn history(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
) -> Result<web::Json<Page<Recommendation>>, ApiError> {
    let user = match caller.user_type {
        UserType::Doctor => Some(caller.user_id),
        UserType::Admin => None,
        _ => return Err(ApiError::Forbidden("Only doctors and admins read recommendations.")),
    };
    let mut conn = state.db.acquire().await?;
    let (count, rows) = repo::history(&mut conn, user, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows.into_iter().map(Recommendation::from).collect())?))
}

/// Recommendation statistics (admin).
#[utoipa::path(get, path = "/api/recommendations/stats/", tag = "recommendations", security(("jwtAuth" = [])),
    responses((status = 200, body = Stats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn stats(state: web::Data<AppState>, caller: Principal) -> Result<web::Json<Stats>, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::Forbidden("Only admins read recommendation statistics."));
    }
    let mut conn = state.db.acquire().await?;
    Ok(web::Json(repo::stats(&mut conn).await?))
}

/// Clear the recommendation cache (admin): every process's copy, and nothing else.
#[utoipa::path(post, path = "/api/recommendations/clear-cache/", tag = "recommendations", security(("jwtAuth" = [])),
    responses((status = 200, body = ClearCacheResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn clear_cache(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
) -> Result<web::Json<ClearCacheResponse>, ApiError> {
    let removed = cache::clear_cache(&state, &caller, &meta).await?;
    Ok(web::Json(ClearCacheResponse { message: format!("Recommendation cache cleared ({removed} answers).") }))
}
