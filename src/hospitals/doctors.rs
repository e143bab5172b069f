//! `/api/hospitals/doctors/...` and `/api/hospitals/{id}/doctors/`: a hospital creates doctor
//! accounts (generated username and password, shown once) and manages its own doctors.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};

use super::{
    model::{Doctor, PublicDoctor, doctor_username_base, parse_timings, policy},
    repo::{self, DoctorFields, DoctorFilter},
    routes::visible_hospital,
};
use crate::{
    accounts::{
        dto::{bounded, required},
        model::{PhoneNumber, Principal, UserId, UserType, generate_password, validate_email},
        repo as accounts_repo,
    },
    audit::{self, AuditEvent, RequestMeta},
    errors::{Conflict, Duplicate, Violation, violation},
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
        resource,
    },
    state::AppState,
};

/// Attempts at a free username before giving up (each attempt takes the next free suffix).
const USERNAME_ATTEMPTS: usize = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/hospitals/doctors/create/").post(create))
        .service(resource("/api/hospitals/doctors/").get(list))
        .service(resource("/api/hospitals/doctors/{id}/").get(detail).put(replace).patch(patch))
        .service(resource("/api/hospitals/doctors/{id}/reset-password/").post(reset_password))
        .service(resource("/api/hospitals/{id}/doctors/").get(of_hospital));
}

fn owner(caller: &Principal) -> Result<i64, ApiError> {
    policy::own_hospital(caller).ok_or(ApiError::Forbidden("Only a hospital account can manage its doctors."))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DoctorRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub cnic: Option<String>,
    pub address: Option<String>,
    pub license_number: Option<String>,
    pub specialization: Option<String>,
    /// A department of the same hospital, or null.
    pub department: Option<Value>,
    /// Weekday → list of `HH:MM-HH:MM` ranges.
    #[schema(value_type = Option<Object>)]
    pub available_timings: Option<Value>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// The reference's `CreateDoctorResponse`, with the pair also at the top level (the existing
/// frontend reads it there). The password is shown this once; only its hash is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreateDoctorResponse {
    pub message: String,
    pub username: String,
    pub password: String,
    pub doctor: Doctor,
    pub credentials: Credentials,
}

/// Checks the profile fields into `errors`; `current` fills what a partial update leaves out.
async fn profile_fields(
    state: &AppState,
    conn: &mut PgConnection,
    errors: &mut FieldErrors,
    hospital_id: i64,
    body: &DoctorRequest,
    current: Option<&Doctor>,
) -> Result<DoctorFields, ApiError> {
    let region = &state.settings.accounts.default_phone_region;
    let keep = |value: &Option<String>, old: Option<&String>| value.clone().or_else(|| old.cloned());
    let license_number = match keep(&body.license_number, current.map(|c| &c.license_number)) {
        Some(v) if !v.trim().is_empty() => bounded(errors, "license_number", Some(v), 100).unwrap_or_default(),
        other => required(errors, "license_number", other),
    };
    let specialization = match keep(&body.specialization, current.map(|c| &c.specialization)) {
        Some(v) if !v.trim().is_empty() => bounded(errors, "specialization", Some(v), 255).unwrap_or_default(),
        other => required(errors, "specialization", other),
    };
    let phone_number = match keep(&body.phone_number, current.map(|c| &c.phone_number)) {
        Some(raw) if !raw.trim().is_empty() => PhoneNumber::parse(&raw, region)
            .map(PhoneNumber::into_inner)
            .map_err(|m| errors.add("phone_number", m))
            .unwrap_or_default(),
        other => required(errors, "phone_number", other),
    };
    let cnic = bounded(errors, "cnic", keep(&body.cnic, current.map(|c| &c.cnic)), 20).unwrap_or_default();
    let address =
        bounded(errors, "address", keep(&body.address, current.map(|c| &c.address)), 2000).unwrap_or_default();
    let available_timings = match &body.available_timings {
        None => current.map_or_else(|| json!({}), |c| c.available_timings.clone()),
        Some(Value::Null) => json!({}),
        Some(raw) => parse_timings(raw).map_err(|m| errors.add("available_timings", m)).unwrap_or_default(),
    };
    let department_id = match &body.department {
        None => current.and_then(|c| c.department),
        Some(Value::Null) => None,
        Some(raw) => match raw.as_i64() {
            // Another hospital's department does not exist, as far as this hospital can tell.
            Some(id) if repo::get_department(&mut *conn, hospital_id, id).await?.is_some() => Some(id),
            _ => {
                errors.add("department", "No such department in this hospital.");
                None
            }
        },
    };
    let is_active = body.is_active.or(current.map(|c| c.is_active)).unwrap_or(true);
    Ok(DoctorFields {
        department_id,
        cnic,
        address,
        license_number,
        specialization,
        phone_number,
        available_timings,
        is_active,
    })
}

/// The lowest free username on `base` (`base`, `base1`, `base2`, …) among `taken`.
fn next_free(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    let used: std::collections::HashSet<u64> =
        taken.iter().filter_map(|t| t.strip_prefix(base)).filter_map(|rest| rest.parse().ok()).collect();
    let n = (1..).find(|n| !used.contains(n)).unwrap_or(1);
    format!("{base}{n}")
}

/// Create a doctor account in the caller's hospital, with a generated username
/// (`doctorname_hospitalname`, then `1`, `2`, …) and a generated password that works for
/// `auth.generated_password_hours` and must then be changed.
#[utoipa::path(post, path = "/api/hospitals/doctors/create/", tag = "doctors", security(("jwtAuth" = [])),
    request_body = DoctorRequest,
    responses((status = 201, body = CreateDoctorResponse), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<DoctorRequest>,
) -> Result<HttpResponse, ApiError> {
    let hospital_id = owner(&caller)?;
    let hospital = repo::get_hospital(&state.db, hospital_id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let first_name = required(&mut errors, "first_name", body.first_name.clone()).trim().to_owned();
    let last_name = required(&mut errors, "last_name", body.last_name.clone()).trim().to_owned();
    for (field, value) in [("first_name", &first_name), ("last_name", &last_name)] {
        if value.chars().count() > 150 {
            errors.add(field, "Ensure this field has no more than 150 characters.");
        }
    }
    let email_text = required(&mut errors, "email", body.email.clone());
    let email = if email_text.is_empty() {
        email_text
    } else {
        validate_email(&email_text).map_err(|m| errors.add("email", m)).unwrap_or_default()
    };
    let mut conn = state.db.acquire().await?;
    let fields = profile_fields(&state, &mut conn, &mut errors, hospital_id, &body, None).await?;
    drop(conn);
    errors.into_result()?;

    let password = generate_password(16);
    let hash = state.hasher.hash(&password).await?;
    let base = doctor_username_base(&first_name, &last_name, &hospital.name);
    // The unique index decides: a concurrent creation that takes our candidate makes the insert
    // fail, and we try the next free suffix.
    for _ in 0..USERNAME_ATTEMPTS {
        let taken = repo::usernames_like(&state.db, &base).await?;
        let username = next_free(&base, &taken);
        let mut tx = state.db.begin().await?;
        let new_user = accounts_repo::NewUser {
            username: &username,
            email: &email,
            first_name: &first_name,
            last_name: &last_name,
            phone_number: Some(&fields.phone_number),
            user_type: UserType::Doctor,
            password_hash: &hash,
            is_active: fields.is_active,
            must_change_password: true,
            is_demo: false,
        };
        let user = match accounts_repo::insert_user(&mut *tx, &new_user).await {
            Ok(user) => user,
            Err(err) if violation(&err) == Some(Violation::Duplicate(Duplicate::Username)) => continue,
            Err(err) => return Err(err.into()),
        };
        let id = repo::insert_doctor_profile(&mut *tx, user.id, hospital_id, &fields).await?;
        let event =
            AuditEvent::new("doctor_created").by(&caller).target("doctor", id).details(json!({ "user_id": user.id }));
        audit::record(&mut tx, &meta, event).await?;
        let doctor = repo::get_doctor(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
        tx.commit().await?;
        let secret = password.expose().to_owned();
        return Ok(HttpResponse::Created().json(CreateDoctorResponse {
            message: format!(
                "Doctor account created. The password is shown only once and works for {} hours, then it must be \
                 changed.",
                state.settings.auth.generated_password_hours
            ),
            username: username.clone(),
            password: secret.clone(),
            doctor,
            credentials: Credentials { username, password: secret },
        }));
    }
    Err(Conflict::UsernameUnavailable.into())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoctorListQuery {
    /// A department id.
    pub department: Option<i64>,
    /// Exact specialization, ignoring case.
    pub specialization: Option<String>,
}

/// The caller's hospital's doctors.
#[utoipa::path(get, path = "/api/hospitals/doctors/", tag = "doctors", security(("jwtAuth" = [])),
    params(PageParams, DoctorListQuery),
    responses((status = 200, body = Page<Doctor>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    query: web::Query<DoctorListQuery>,
) -> Result<web::Json<Page<Doctor>>, ApiError> {
    let hospital_id = owner(&caller)?;
    let filter = DoctorFilter {
        active_only: false,
        department: query.department,
        specialization: query.specialization.as_deref().filter(|s| !s.is_empty()),
    };
    let mut conn = state.db.acquire().await?;
    let (rows, count) = repo::list_doctors(&mut conn, hospital_id, &filter, page.limit(), page.offset()).await?;
    Ok(web::Json(page.respond(count, rows)?))
}

/// A hospital's doctors for anyone signed in: active ones in their public shape; for the owner,
/// all of them in full.
#[utoipa::path(get, path = "/api/hospitals/{id}/doctors/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path), PageParams, DoctorListQuery),
    responses((status = 200, body = Page<PublicDoctor>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn of_hospital(
    state: web::Data<AppState>,
    caller: Principal,
    page: PageRequest,
    id: web::Path<i64>,
    query: web::Query<DoctorListQuery>,
) -> Result<HttpResponse, ApiError> {
    let hospital = visible_hospital(&state, Some(&caller), id.into_inner()).await?;
    let owner = policy::own_hospital(&caller) == Some(hospital.id);
    let filter = DoctorFilter {
        active_only: !owner,
        department: query.department,
        specialization: query.specialization.as_deref().filter(|s| !s.is_empty()),
    };
    let mut conn = state.db.acquire().await?;
    let (rows, count) = repo::list_doctors(&mut conn, hospital.id, &filter, page.limit(), page.offset()).await?;
    if owner {
        return Ok(HttpResponse::Ok().json(page.respond(count, rows)?));
    }
    let public: Vec<PublicDoctor> = rows.into_iter().map(PublicDoctor::from).collect();
    Ok(HttpResponse::Ok().json(page.respond(count, public)?))
}

/// One doctor of the caller's hospital.
#[utoipa::path(get, path = "/api/hospitals/doctors/{id}/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Doctor), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    caller: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<Doctor>, ApiError> {
    let hospital_id = owner(&caller)?;
    repo::get_doctor(&state.db, hospital_id, id.into_inner()).await?.map(web::Json).ok_or(ApiError::NotFound)
}

/// Replace a doctor's profile (the caller's hospital's doctor).
#[utoipa::path(put, path = "/api/hospitals/doctors/{id}/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = DoctorRequest,
    responses((status = 200, body = Doctor), (status = 400), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<DoctorRequest>,
) -> Result<web::Json<Doctor>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, true).await.map(web::Json)
}

/// Change some of a doctor's fields: `is_active`, timings, department, specialization, ….
#[utoipa::path(patch, path = "/api/hospitals/doctors/{id}/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = DoctorRequest,
    responses((status = 200, body = Doctor), (status = 400), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<DoctorRequest>,
) -> Result<web::Json<Doctor>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, false).await.map(web::Json)
}

/// Issue a fresh generated password for one of the caller's hospital's doctors (who forgot
/// theirs, or let a generated one expire). The answer has the shape of a doctor's creation; the
/// password is shown this once, works for `auth.generated_password_hours` and must then be
/// changed. Every login the doctor had is ended.
#[utoipa::path(post, path = "/api/hospitals/doctors/{id}/reset-password/", tag = "doctors", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = CreateDoctorResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn reset_password(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
) -> Result<web::Json<CreateDoctorResponse>, ApiError> {
    let hospital_id = owner(&caller)?;
    let id = id.into_inner();
    // Another hospital's doctor is a 404 before any hashing work.
    repo::get_doctor(&state.db, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    let password = generate_password(16);
    let hash = state.hasher.hash(&password).await?;
    let mut tx = state.db.begin().await?;
    let doctor = repo::lock_doctor(&mut tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    let user = UserId(doctor.user);
    accounts_repo::set_generated_password(&mut *tx, user, &hash).await?;
    let revoked = accounts_repo::revoke_other_families(&mut *tx, user, None, "password_reset").await?;
    let event = AuditEvent::new("doctor_password_reset")
        .by(&caller)
        .target("doctor", id)
        .details(json!({ "user_id": doctor.user, "logins_revoked": revoked }));
    audit::record(&mut tx, &meta, event).await?;
    tx.commit().await?;
    let secret = password.expose().to_owned();
    let username = doctor.doctor_username.clone();
    Ok(web::Json(CreateDoctorResponse {
        message: format!(
            "New password issued; the doctor's other logins are ended. It is shown only once and works for {} hours, \
             then it must be changed.",
            state.settings.auth.generated_password_hours
        ),
        username: username.clone(),
        password: secret.clone(),
        doctor,
        credentials: Credentials { username, password: secret },
    }))
}

async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
    body: DoctorRequest,
    replace: bool,
) -> Result<Doctor, ApiError> {
    let hospital_id = owner(caller)?;
    let mut tx = state.db.begin().await?;
    let current = repo::lock_doctor(&mut tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let fields =
        profile_fields(state, &mut tx, &mut errors, hospital_id, &body, (!replace).then_some(&current)).await?;
    errors.into_result()?;
    repo::update_doctor_profile(&mut *tx, hospital_id, id, &fields).await?;
    if fields.is_active != current.is_active {
        // A deactivated doctor is signed out and cannot sign in; reactivation lets them back.
        repo::set_doctor_login(&mut tx, current.user, fields.is_active).await?;
    }
    let event = AuditEvent::new("doctor_updated")
        .by(caller)
        .target("doctor", id)
        .details(json!({ "is_active": fields.is_active }));
    audit::record(&mut tx, meta, event).await?;
    let doctor = repo::get_doctor(&mut *tx, hospital_id, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(doctor)
}

#[cfg(test)]
mod tests {
    use super::next_free;

    #[test]
    fn the_next_free_username_fills_the_lowest_gap() {
        let base = "alimehmood_jinnahhospital";
        assert_eq!(next_free(base, &[]), base);
        assert_eq!(next_free(base, &[base.into()]), format!("{base}1"));
        assert_eq!(next_free(base, &[base.into(), format!("{base}1"), format!("{base}3")]), format!("{base}2"));
        assert_eq!(next_free(base, &[format!("{base}x")]), base);
    }
}
