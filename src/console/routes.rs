//! Every path of the console, under `/console/`. Not part of the API: these routes are not in
//! the OpenAPI document, answer HTML, and carry the console's own security headers (set by the
//! app's `security_headers` middleware for paths under `/console/`).

use actix_web::{HttpResponse, http::header, web};

use super::{assets, login, mfa, pages};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/console",
        web::get()
            .to(|| async { HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/console/")).finish() }),
    )
    .service(
        web::scope("/console")
            .route("/", web::get().to(pages::overview::page))
            .route("/assets/{name}", web::get().to(assets::asset))
            .service(web::resource("/login/").route(web::get().to(login::page)).route(web::post().to(login::submit)))
            .service(web::resource("/mfa/").route(web::get().to(mfa::page)).route(web::post().to(mfa::submit)))
            .route("/logout/", web::post().to(login::logout))
            .route("/users/", web::get().to(pages::users::list))
            .route("/users/{id}/", web::get().to(pages::users::user))
            .route("/users/{id}/active/", web::post().to(pages::users::set_active))
            .route("/queues/", web::get().to(pages::queues::list))
            .route("/queues/{queue}/", web::get().to(pages::queues::queue))
            .route("/queues/{queue}/retry-dead/", web::post().to(pages::queues::retry_all))
            .route("/queues/{queue}/jobs/{job_id}/{action}/", web::post().to(pages::queues::job_action))
            .route("/audit/", web::get().to(pages::audit::page))
            .route("/audit/verify/", web::post().to(pages::audit::verification::verify))
            .route("/audit/{id}/", web::get().to(pages::audit::row::page))
            .route("/recommendations/", web::get().to(pages::recommendations::page))
            .route("/recommendations/cache/clear/", web::post().to(pages::recommendations::clear_cache))
            .route("/hospitals/", web::get().to(pages::hospitals::list))
            .route("/hospitals/{id}/", web::get().to(pages::hospitals::detail::page))
            .route("/hospitals/{id}/approval/", web::post().to(pages::hospitals::approval::submit))
            .route("/sms/", web::get().to(pages::sms::list))
            .default_service(web::to(|| async { Err::<HttpResponse, _>(super::error::ConsoleError::NotFound) })),
    );
}
