//! Every route of the hospitals context, mounted in one place and in an order that matters: the
//! literal paths (`register`, `nearby`, `departments`, `doctors`) before `/api/hospitals/{id}/`,
//! which would otherwise take them for an id. One file per resource: `hospitals` (the directory:
//! list, detail, changes, nearby), `registration` (registration and approval), `departments`,
//! `doctors` and `doctor_accounts`; none of them imports this file. PUT and PATCH of a resource
//! are one handler (`update`), partial for PATCH.

use actix_web::web;

mod departments;
mod doctor_accounts;
mod doctors;
mod hospitals;
mod registration;

use crate::http::routing::resource;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/hospitals/departments/").get(departments::list).post(departments::create))
        .service(
            resource("/api/hospitals/departments/{id}/")
                .get(departments::detail)
                .put(departments::update)
                .patch(departments::update)
                .delete(departments::delete),
        )
        .service(resource("/api/hospitals/{id}/departments/").get(departments::of_hospital))
        .service(resource("/api/hospitals/doctors/create/").post(doctor_accounts::create))
        .service(resource("/api/hospitals/doctors/").get(doctors::list))
        .service(
            resource("/api/hospitals/doctors/{id}/").get(doctors::detail).put(doctors::update).patch(doctors::update),
        )
        .service(resource("/api/hospitals/doctors/{id}/reset-password/").post(doctor_accounts::reset_password))
        .service(resource("/api/hospitals/{id}/doctors/").get(doctors::of_hospital))
        .service(resource("/api/hospitals/register/").post(registration::register))
        .service(resource("/api/hospitals/nearby/").get(hospitals::nearby))
        .service(resource("/api/hospitals/").get(hospitals::list))
        .service(
            resource("/api/hospitals/{id}/").get(hospitals::detail).put(hospitals::update).patch(hospitals::update),
        )
        .service(resource("/api/hospitals/{id}/approve/").patch(registration::approve));
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    registration::register,
    hospitals::list,
    hospitals::detail,
    hospitals::update,
    registration::approve,
    hospitals::nearby,
    departments::list,
    departments::create,
    departments::detail,
    departments::update,
    departments::delete,
    departments::of_hospital,
    doctor_accounts::create,
    doctors::list,
    doctors::detail,
    doctors::update,
    doctors::of_hospital,
    doctor_accounts::reset_password,
))]
pub struct Api;
