//! `/api/accounts/users/` and `/api/accounts/dashboard-stats/`: the admin's views of accounts.

use actix_web::web;

use super::super::{
    model::{DashboardStats, Principal, User, UserListQuery},
    service::profile,
};
use crate::{
    audit::RequestMeta,
    http::{
        error::{ApiError, ErrorBody},
        pagination::{Page, PageParams, PageRequest},
    },
    state::AppState,
};

/// Users: an admin sees every user (optionally of one `user_type`); anyone else gets a list
/// holding only themselves.
#[utoipa::path(get, path = "/api/accounts/users/", tag = "accounts", security(("jwtAuth" = [])),
    params(PageParams, UserListQuery),
    responses((status = 200, body = Page<User>), (status = 400), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "Invalid page")))]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    page: PageRequest,
    query: web::Query<UserListQuery>,
) -> Result<web::Json<Page<User>>, ApiError> {
    profile::list_users(&state, &caller, &meta, &page, query.user_type.as_deref()).await.map(web::Json)
}

/// Counts for the admin dashboard.
#[utoipa::path(get, path = "/api/accounts/dashboard-stats/", tag = "accounts", security(("jwtAuth" = [])),
    responses((status = 200, body = DashboardStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn dashboard_stats(
    state: web::Data<AppState>,
    caller: Principal,
) -> Result<web::Json<DashboardStats>, ApiError> {
    profile::dashboard_stats(&state, &caller).await.map(web::Json)
}
