//! The OpenAPI 3 document, generated from the handlers' annotations and served at
//! `/api/schema/` (Swagger UI at `/api/docs/`).

use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};

use crate::{accounts, appointments, hospitals, ops};

#[derive(OpenApi)]
#[openapi(
    info(title = "CareHub API", version = "1.0.0", description = "Multi-tenant healthcare booking and records API"),
    paths(
        accounts::auth::obtain_pair,
        accounts::auth::refresh,
        accounts::auth::blacklist,
        accounts::routes::me,
        accounts::routes::replace_me,
        accounts::routes::patch_me,
        accounts::routes::change_password,
        accounts::registration::register_patient,
        accounts::routes::list_users,
        accounts::routes::dashboard_stats,
        hospitals::routes::register,
        hospitals::routes::list,
        hospitals::routes::detail,
        hospitals::routes::replace,
        hospitals::routes::patch,
        hospitals::routes::approve,
        hospitals::routes::nearby,
        hospitals::departments::list,
        hospitals::departments::create,
        hospitals::departments::detail,
        hospitals::departments::replace,
        hospitals::departments::patch,
        hospitals::departments::delete,
        hospitals::departments::of_hospital,
        hospitals::doctors::create,
        hospitals::doctors::list,
        hospitals::doctors::detail,
        hospitals::doctors::replace,
        hospitals::doctors::patch,
        hospitals::doctors::of_hospital,
        hospitals::doctors::reset_password,
        appointments::routes::book,
        appointments::routes::my_appointments,
        appointments::routes::hospital_appointments,
        appointments::routes::doctor_appointments,
        appointments::routes::detail,
        appointments::routes::assign_doctor,
        appointments::routes::set_status,
        appointments::routes::cancel,
        ops::routes::healthz,
        ops::routes::readyz,
        ops::routes::metrics,
        ops::queues::queues,
        ops::queues::retry,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Login, token rotation, logout"),
        (name = "accounts", description = "Users, registration, passwords"),
        (name = "hospitals", description = "Registration, approval, directory, nearby search"),
        (name = "departments", description = "A hospital's departments"),
        (name = "doctors", description = "A hospital's doctors"),
        (name = "appointments", description = "Booking, assignment, status"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// Declares the `jwtAuth` bearer scheme the operations refer to (the reference's name).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("jwtAuth", SecurityScheme::Http(scheme));
    }
}
