//! CORS for the frontends: the allow-list from configuration, the headers our clients send and
//! read. Used by `startup` only (it names headers of `accounts`, so it sits above the contexts).

use actix_cors::Cors;
use actix_web::http::{Method, header};

use crate::accounts::password_change;

/// CORS from the configured allow-list; every preflight is answered.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static(crate::accounts::device::HEADER),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            password_change::PASSWORD_CHANGE_REQUIRED,
        ])
        // The device cookie of a login (see `accounts::device`) travels only with credentials.
        .supports_credentials()
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
