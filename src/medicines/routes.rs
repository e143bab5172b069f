//! `GET /api/medicines/?q=`: the formulary, searched by name, brand or class, typo tolerant.

use actix_web::web;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{model::Medicine, repo};
use crate::{
    accounts::model::Principal,
    errors::FieldErrors,
    http::{
        error::{ApiError, ErrorBody},
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    state::AppState,
};

fn configure_formulary(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/medicines/").get(search));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A generic name, brand or class, typos allowed (`amoxycilin`).
    #[param(max_length = 100)]
    pub q: Option<String>,
}

/// Search the formulary (any signed-in user): best match first.
#[utoipa::path(get, path = "/api/medicines/", tag = "medicines", security(("jwtAuth" = [])),
    params(PageParams, SearchQuery),
    responses((status = 200, body = Page<Medicine>), (status = 400), (status = 401, body = ErrorBody)))]
pub async fn search(
    state: web::Data<AppState>,
    _caller: Principal,
    page: PageRequest,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<Page<Medicine>>, ApiError> {
    let q = query.q.as_deref().map(super::model::normalize).filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(FieldErrors::single("q", "Ensure this field has no more than 100 characters.").into());
    }
    let mut conn = state.db.acquire().await?;
    let (count, rows) = repo::search(&mut conn, q.as_deref(), page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// Every route of the medicines context: the formulary and recommendations.
pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_formulary(cfg);
    super::recommendations::routes::configure(cfg);
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    search,
    super::recommendations::routes::recommend,
    super::recommendations::routes::detail,
    super::recommendations::routes::history,
    super::recommendations::routes::stats,
    super::recommendations::routes::clear_cache,
))]
pub struct Api;
