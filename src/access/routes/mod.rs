//! `/api/accounts/otp/...` (ask for and verify a one-time code: [`otp`]) and
//! `/api/accounts/access-grants/...` (a patient's view of who can read their records, and
//! revocation: [`grants`]). Changes go through the patient's desk. Here: mounting, the context's
//! OpenAPI paths, and how an [`AccessError`] answers.

mod grants;
mod named;
mod otp;

use actix_web::web;

use super::service::AccessError;
use crate::http::{error::ApiError, routing::resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/accounts/otp/generate/").post(otp::generate))
        .service(resource("/api/accounts/otp/verify/").post(otp::verify))
        .service(resource("/api/accounts/access-grants/").get(grants::grants))
        .service(resource("/api/accounts/access-grants/{id}/").delete(grants::revoke));
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::NotFound => Self::NotFound,
            AccessError::Throttled { retry_after_secs } => Self::Throttled { retry_after_secs },
            AccessError::Refused(refusal) => Self::Refused { code: refusal.code(), detail: refusal.detail() },
            AccessError::Internal(cause) => Self::Internal(cause),
        }
    }
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(otp::generate, otp::verify, grants::grants, grants::revoke,))]
pub struct Api;
