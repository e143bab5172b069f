//! The accounts context's HTTP handlers, one file per resource: login and tokens (`tokens`), the
//! caller's own account and password (`me`), patient registration (`registration`), the admin's
//! views (`users`). Mounted by [`configure`]; [`Api`] is this context's part of the OpenAPI
//! document.

use actix_web::web;

use crate::http::routing::resource;

pub mod me;
pub mod registration;
pub mod tokens;
pub mod users;

/// Every route of the accounts context: login and tokens, the caller's account, registration.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/token/").post(tokens::obtain_pair))
        .service(resource("/api/token/refresh/").post(tokens::refresh))
        .service(resource("/api/token/blacklist/").post(tokens::blacklist))
        .service(resource("/api/accounts/me/").get(me::me).put(me::replace_me).patch(me::patch_me))
        .service(resource("/api/accounts/change-password/").post(me::change_password))
        .service(resource("/api/accounts/users/").get(users::list_users))
        .service(resource("/api/accounts/dashboard-stats/").get(users::dashboard_stats))
        .service(resource("/api/accounts/patients/register/").post(registration::register_patient));
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    tokens::obtain_pair,
    tokens::refresh,
    tokens::blacklist,
    me::me,
    me::replace_me,
    me::patch_me,
    me::change_password,
    registration::register_patient,
    users::list_users,
    users::dashboard_stats,
))]
pub struct Api;
