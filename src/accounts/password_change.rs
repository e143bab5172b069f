//! `Password-Change-Required: true` on every answer to a request the server authenticated as a
//! user still holding a generated password (ASVS 2.3.1): such a password works with full access
//! for `auth.generated_password_hours`, and clients learn from any answer that it must be
//! changed, not only from `GET /api/accounts/me/`.

use actix_web::{
    Error, HttpMessage as _,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};

use crate::accounts::model::PendingPrincipal;

pub const PASSWORD_CHANGE_REQUIRED: HeaderName = HeaderName::from_static("password-change-required");

/// Adds the header when the request's authentication (cached by the extractors in the request's
/// extensions, also when the answer is an error) found a generated password.
pub async fn flag(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut res = next.call(req).await?;
    let pending = res.request().extensions().get::<PendingPrincipal>().is_some_and(|p| p.must_change_password);
    if pending {
        res.headers_mut().insert(PASSWORD_CHANGE_REQUIRED, HeaderValue::from_static("true"));
    }
    Ok(res)
}
