//! Every route of the records context, mounted in one place: prescriptions, reports, prescription
//! attachments and a patient's summary.

use actix_web::web;

use super::{attachments, prescriptions, reports, summary};

pub fn configure(cfg: &mut web::ServiceConfig) {
    prescriptions::routes::configure(cfg);
    reports::routes::configure(cfg);
    attachments::routes::configure(cfg);
    summary::configure(cfg);
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    prescriptions::routes::create,
    prescriptions::routes::list,
    prescriptions::routes::of_patient,
    prescriptions::routes::detail,
    prescriptions::routes::update,
    prescriptions::routes::versions,
    reports::routes::upload,
    reports::routes::my_reports,
    reports::routes::patient_reports,
    reports::routes::detail,
    reports::routes::remove,
    reports::routes::download,
    attachments::routes::add,
    attachments::routes::download,
    summary::summary,
))]
pub struct Api;
