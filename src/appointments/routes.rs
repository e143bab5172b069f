//! `/api/appointments/...`: mounting and this context's OpenAPI paths. The handlers live beside
//! it, one file per resource: booking, the parties' lists and one appointment, and the changes
//! (sent to the hospital's desk).

use actix_web::web;

use crate::http::routing::resource;

mod booking;
mod changes;
mod lists;

use self::{
    booking::book,
    changes::{assign_doctor, cancel, set_status},
    lists::{detail, doctor_appointments, hospital_appointments, my_appointments},
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/appointments/").post(book))
        .service(resource("/api/appointments/my-appointments/").get(my_appointments))
        .service(resource("/api/appointments/hospital-appointments/").get(hospital_appointments))
        .service(resource("/api/appointments/doctor-appointments/").get(doctor_appointments))
        .service(resource("/api/appointments/{id}/").get(detail))
        .service(resource("/api/appointments/{id}/assign-doctor/").post(assign_doctor))
        .service(resource("/api/appointments/{id}/status/").patch(set_status))
        .service(resource("/api/appointments/{id}/cancel/").post(cancel));
}

/// This context's part of the OpenAPI document (merged with the others in `http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    booking::book,
    lists::my_appointments,
    lists::hospital_appointments,
    lists::doctor_appointments,
    lists::detail,
    changes::assign_doctor,
    changes::set_status,
    changes::cancel,
))]
pub struct Api;
