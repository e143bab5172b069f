//! The HTTP layer: every context's routes mounted in one app, the middleware stack, the JSON
//! error mapping, extractors and the OpenAPI document.

pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod password_change;

use actix_cors::Cors;
use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, header},
    web,
};
use utoipa::OpenApi as _;
use utoipa_swagger_ui::SwaggerUi;

use self::error::ApiError;

/// Mounts every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::ops::routes::configure(cfg);
    crate::ops::queues::configure(cfg);
    crate::accounts::auth::configure(cfg);
    crate::accounts::routes::configure(cfg);
    // Before `/api/hospitals/{id}/`, which would otherwise take `departments` for an id.
    crate::hospitals::departments::configure(cfg);
    crate::hospitals::doctors::configure(cfg);
    crate::hospitals::routes::configure(cfg);
    crate::appointments::routes::configure(cfg);
    cfg.service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/schema/", openapi::ApiDoc::openapi()));
}

/// DRF's 404 for any path nothing serves.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

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
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            password_change::PASSWORD_CHANGE_REQUIRED,
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// A resource whose unserved methods get DRF's JSON 405 (instead of falling through to 404).
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(req.method().to_string()))
}
