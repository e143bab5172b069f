//! Every path of the console, under `/console/`. Not part of the API: these routes are not in
//! the OpenAPI document, answer HTML, and carry the console's own security headers (set by the
//! app's `security_headers` middleware for paths under `/console/`).

use actix_web::{Handler, HttpResponse, http::header, web};
use futures::future::LocalBoxFuture;

use super::{assets, login, mfa, pages};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/console",
        web::get()
            .to(|| async { HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/console/")).finish() }),
    )
    .service(
        web::scope("/console")
            .route("/", web::get().to(Boxed(pages::overview::page)))
            .route("/assets/{name}", web::get().to(Boxed(assets::asset)))
            .service(
                web::resource("/login/")
                    .route(web::get().to(Boxed(login::page)))
                    .route(web::post().to(Boxed(login::submit))),
            )
            .service(
                web::resource("/mfa/").route(web::get().to(Boxed(mfa::page))).route(web::post().to(Boxed(mfa::submit))),
            )
            .route("/logout/", web::post().to(Boxed(login::logout)))
            .route("/users/", web::get().to(Boxed(pages::users::list)))
            .route("/users/{id}/", web::get().to(Boxed(pages::users::user)))
            .route("/users/{id}/active/", web::post().to(Boxed(pages::users::set_active)))
            .route("/queues/", web::get().to(Boxed(pages::queues::list)))
            .route("/queues/{queue}/", web::get().to(Boxed(pages::queues::queue)))
            .route("/queues/{queue}/retry-dead/", web::post().to(Boxed(pages::queues::retry_all)))
            .route("/queues/{queue}/jobs/{job_id}/{action}/", web::post().to(Boxed(pages::queues::job_action)))
            .route("/audit/", web::get().to(Boxed(pages::audit::page)))
            .route("/audit/verify/", web::post().to(Boxed(pages::audit::verification::verify)))
            .route("/audit/{id}/", web::get().to(Boxed(pages::audit::row::page)))
            .route("/recommendations/", web::get().to(Boxed(pages::recommendations::page)))
            .route("/recommendations/cache/clear/", web::post().to(Boxed(pages::recommendations::clear_cache)))
            .route("/hospitals/", web::get().to(Boxed(pages::hospitals::list)))
            .route("/hospitals/{id}/", web::get().to(Boxed(pages::hospitals::detail::page)))
            .route("/hospitals/{id}/approval/", web::post().to(Boxed(pages::hospitals::approval::submit)))
            .route("/sms/", web::get().to(Boxed(pages::sms::list)))
            .default_service(web::to(|| async { Err::<HttpResponse, _>(super::error::ConsoleError::NotFound) })),
    );
}

/// A handler whose future is boxed. Each console handler's state machine is then compiled once,
/// not again into every one of actix-web's wrappers around it: the console is light traffic, and
/// this keeps its share of the binary small.
#[derive(Clone)]
struct Boxed<F>(F);

impl<F, Args> Handler<Args> for Boxed<F>
where
    F: Handler<Args>,
    F::Future: 'static,
{
    type Output = F::Output;
    type Future = LocalBoxFuture<'static, F::Output>;

    fn call(&self, args: Args) -> Self::Future {
        Box::pin(self.0.call(args))
    }
}
