//! Every route of the hospitals context, mounted in one place and in an order that matters: the
//! literal paths (`register`, `nearby`, `departments`, `doctors`) before `/api/hospitals/{id}/`,
//! which would otherwise take them for an id. The handlers live by what they do: `registration`
//! (registration and approval), `directory` (list, detail, changes, nearby), `departments`,
//! `doctors` and `doctor_accounts`; none of them imports this file.

use actix_web::web;

use super::{departments, directory, doctor_accounts, doctors, registration};
use crate::http::routing::resource;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/hospitals/departments/").get(departments::list).post(departments::create))
        .service(
            resource("/api/hospitals/departments/{id}/")
                .get(departments::detail)
                .put(departments::replace)
                .patch(departments::patch)
                .delete(departments::delete),
        )
        .service(resource("/api/hospitals/{id}/departments/").get(departments::of_hospital))
        .service(resource("/api/hospitals/doctors/create/").post(doctor_accounts::create))
        .service(resource("/api/hospitals/doctors/").get(doctors::list))
        .service(
            resource("/api/hospitals/doctors/{id}/").get(doctors::detail).put(doctors::replace).patch(doctors::patch),
        )
        .service(resource("/api/hospitals/doctors/{id}/reset-password/").post(doctor_accounts::reset_password))
        .service(resource("/api/hospitals/{id}/doctors/").get(doctors::of_hospital))
        .service(resource("/api/hospitals/register/").post(registration::register))
        .service(resource("/api/hospitals/nearby/").get(directory::nearby))
        .service(resource("/api/hospitals/").get(directory::list))
        .service(
            resource("/api/hospitals/{id}/").get(directory::detail).put(directory::replace).patch(directory::patch),
        )
        .service(resource("/api/hospitals/{id}/approve/").patch(registration::approve));
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    registration::register,
    directory::list,
    directory::detail,
    directory::replace,
    directory::patch,
    registration::approve,
    directory::nearby,
    departments::list,
    departments::create,
    departments::detail,
    departments::replace,
    departments::patch,
    departments::delete,
    departments::of_hospital,
    doctor_accounts::create,
    doctors::list,
    doctors::detail,
    doctors::replace,
    doctors::patch,
    doctors::of_hospital,
    doctor_accounts::reset_password,
))]
pub struct Api;
