//! `GET /api/audit-logs/`: the trail, read by admins (every row) and hospitals (their own rows:
//! what their accounts and doctors did), newest first, filtered by actor, action and time.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    model::{AuditLogEntry, LogFilter},
    repo,
};
use crate::{
    accounts::model::{Principal, UserType},
    errors::FieldErrors,
    http::{
        error::{ApiError, ErrorBody},
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    ids::UserId,
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/audit-logs/").get(list));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Rows by this user id.
    pub actor: Option<i64>,
    /// Rows with this action (`records_read`, `appointment_booked`, ...).
    #[param(max_length = 100)]
    pub action: Option<String>,
    /// Rows from this time on (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Rows before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// The audit trail (admin: every row; hospital: its own), newest first.
#[utoipa::path(get, path = "/api/audit-logs/", tag = "audit", security(("jwtAuth" = [])),
    params(PageParams, AuditQuery),
    responses((status = 200, body = Page<AuditLogEntry>), (status = 400), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<Page<AuditLogEntry>>, ApiError> {
    let hospital = match caller.user_type {
        UserType::Admin => None,
        UserType::Hospital => Some(caller.hospital_id.ok_or(ApiError::Forbidden("This account has no hospital."))?),
        _ => return Err(ApiError::Forbidden("Only admins and hospitals read the audit log.")),
    };
    let action = query.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if action.is_some_and(|a| a.chars().count() > 100) {
        return Err(FieldErrors::single("action", "Ensure this field has no more than 100 characters.").into());
    }
    let filter = LogFilter {
        hospital,
        actor: query.actor.map(UserId),
        action,
        since: query.since,
        until: query.until,
        target_type: None,
        target_id: None,
    };
    let mut conn = state.db.acquire().await?;
    let (count, rows) = repo::list(&mut conn, &filter, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list,))]
pub struct Api;
