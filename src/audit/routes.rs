//! `GET /api/audit-logs/`: the trail, read by admins (every row) and hospitals (their own rows:
//! what their accounts and doctors did), newest first, filtered by actor, action and time.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::{
    accounts::model::{Principal, UserType},
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/audit-logs/").get(list));
}

/// One audit row as operators read it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditLogEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    /// The acting user's id (null: nobody signed in, e.g. a failed login).
    pub actor: Option<i64>,
    pub actor_username: Option<String>,
    pub actor_type: Option<String>,
    pub hospital: Option<i64>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
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
        UserType::Hospital => Some(
            caller
                .hospital_id
                .map(crate::ids::HospitalId::get)
                .ok_or(ApiError::Forbidden("This account has no hospital."))?,
        ),
        _ => return Err(ApiError::Forbidden("Only admins and hospitals read the audit log.")),
    };
    let action = query.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if action.is_some_and(|a| a.chars().count() > 100) {
        return Err(FieldErrors::single("action", "Ensure this field has no more than 100 characters.").into());
    }
    let filter =
        super::repo::LogFilter { hospital, actor: query.actor, action, since: query.since, until: query.until };
    let mut conn = state.db.acquire().await?;
    let (count, rows) = super::repo::list(&mut conn, &filter, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list,))]
pub struct Api;
