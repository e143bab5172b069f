//! The HTTP layer: every context's routes mounted in one app, the middleware stack, the JSON
//! error mapping, extractors and the OpenAPI document. This file only mounts: the contexts
//! import what they build routes with from `routing`, `error`, `extract` and `pagination`, and
//! none of those import a context's routes, so dependencies point one way (mod → contexts →
//! routing).

pub mod cors;
pub mod drain;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod nul;
pub mod openapi;
pub mod pagination;
pub mod routing;

use actix_web::web;
use utoipa_swagger_ui::SwaggerUi;

/// Mounts every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::ops::routes::configure(cfg);
    crate::accounts::routes::configure(cfg);
    crate::access::routes::configure(cfg);
    crate::audit::routes::configure(cfg);
    crate::medicines::routes::configure(cfg);
    crate::hospitals::routes::configure(cfg);
    crate::appointments::routes::configure(cfg);
    crate::records::routes::configure(cfg);
    crate::console::routes::configure(cfg);
    cfg.service(SwaggerUi::new("/api/docs/{_:.*}").external_url_unchecked("/api/schema/", openapi::document().clone()));
}
