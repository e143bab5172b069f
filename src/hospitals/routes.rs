//! `/api/hospitals/`: registration, the directory (list, detail, nearby), the hospital's own
//! record, and the admin's approval.

use actix_web::{HttpResponse, web};
use carehub_workers::sms::{Purpose, queue_sms};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{
    model::{Hospital, NearbyHospital, parse_coordinate, policy},
    repo::{self, HospitalFields},
};
use crate::{
    accounts::{
        dto::required,
        model::{MaybePrincipal, PhoneNumber, Principal, UserType, validate_email},
        registration::{AccountFields, check_account},
        repo as accounts_repo,
    },
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors, from_database},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
        resource,
    },
    state::AppState,
};

/// Nearby answers at most this many hospitals, and radii above this are refused.
const NEARBY_LIMIT: i64 = 200;
const NEARBY_MAX_RADIUS_KM: f64 = 500.0;
/// Smaller radii (10 m) are refused: they find nothing, and a subnormal one underflows
/// Postgres' float arithmetic.
const NEARBY_MIN_RADIUS_KM: f64 = 0.01;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/hospitals/register/").post(register))
        .service(resource("/api/hospitals/nearby/").get(nearby))
        .service(resource("/api/hospitals/").get(list))
        .service(resource("/api/hospitals/{id}/").get(detail).put(replace).patch(patch))
        .service(resource("/api/hospitals/{id}/approve/").patch(approve));
}

/// The hospital fields of a request (registration names some of them differently).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct HospitalRequest {
    pub name: Option<String>,
    pub license_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub location: Option<String>,
    /// Decimal string (or number) between -90 and 90.
    #[schema(value_type = Option<String>)]
    pub latitude: Option<Value>,
    /// Decimal string (or number) between -180 and 180.
    #[schema(value_type = Option<String>)]
    pub longitude: Option<Value>,
    /// Not settable here (`PATCH /api/hospitals/{id}/approve/`): refused.
    pub is_approved: Option<bool>,
}

/// Checks hospital fields into `errors`; `current` fills what a partial update leaves out.
fn hospital_fields(
    errors: &mut FieldErrors,
    body: HospitalRequest,
    current: Option<&Hospital>,
    region: &str,
    default_zone: &str,
    names: [&str; 3],
) -> HospitalFields {
    let [name_field, email_field, phone_field] = names;
    let text = |errors: &mut FieldErrors, field: &str, value: Option<String>, old: Option<&String>, max: usize| match (
        value, old,
    ) {
        (None, Some(old)) => old.clone(),
        (value, _) => {
            let text = required(errors, field, value);
            if text.chars().count() > max {
                errors.add(field, format!("Ensure this field has no more than {max} characters."));
            }
            text.trim().to_owned()
        }
    };
    let name = text(errors, name_field, body.name, current.map(|h| &h.name), 255);
    let license_number = text(errors, "license_number", body.license_number, current.map(|h| &h.license_number), 100);
    let email = match (body.email, current) {
        (None, Some(h)) => h.email.clone(),
        (raw, _) => {
            let raw = required(errors, email_field, raw);
            if raw.is_empty() {
                raw
            } else {
                validate_email(&raw).map_err(|m| errors.add(email_field, m)).unwrap_or_default()
            }
        }
    };
    if email.len() > 254 {
        errors.add(email_field, "Ensure this field has no more than 254 characters.");
    }
    let phone = match (body.phone, current) {
        (None, Some(h)) => h.phone.clone(),
        (raw, _) => {
            let raw = required(errors, phone_field, raw);
            if raw.is_empty() {
                raw
            } else {
                PhoneNumber::parse(&raw, region)
                    .map(PhoneNumber::into_inner)
                    .map_err(|m| errors.add(phone_field, m))
                    .unwrap_or_default()
            }
        }
    };
    let address = text(errors, "address", body.address, current.map(|h| &h.address), 2000);
    let location = text(errors, "location", body.location, current.map(|h| &h.location), 2000);
    let coordinate = |errors: &mut FieldErrors, field: &str, raw: Option<Value>, old, limit| match raw {
        None => current.and(old),
        Some(raw) => parse_coordinate(&raw, limit).map_err(|m| errors.add(field, m)).ok().flatten(),
    };
    let latitude = coordinate(errors, "latitude", body.latitude, current.and_then(|h| h.latitude), 90);
    let longitude = coordinate(errors, "longitude", body.longitude, current.and_then(|h| h.longitude), 180);
    if latitude.is_some() != longitude.is_some() && !errors.contains("latitude") && !errors.contains("longitude") {
        errors.add("non_field_errors", "Give both latitude and longitude, or neither.");
    }
    if body.is_approved.is_some() {
        errors.add("is_approved", "Approval is changed through PATCH /api/hospitals/{id}/approve/.");
    }
    let time_zone = current.map_or_else(|| default_zone.to_owned(), |h| h.time_zone.clone());
    HospitalFields { name, license_number, email, phone, address, location, latitude, longitude, time_zone }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HospitalRegistrationRequest {
    #[schema(required = true, value_type = String)]
    pub username: Option<String>,
    #[schema(required = true, value_type = String)]
    pub email: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub password: Option<String>,
    #[schema(required = true, value_type = String, format = Password)]
    pub password_confirm: Option<String>,
    #[schema(required = true, value_type = String)]
    pub first_name: Option<String>,
    #[schema(required = true, value_type = String)]
    pub last_name: Option<String>,
    #[schema(required = true, value_type = String)]
    pub phone_number: Option<String>,
    #[schema(required = true, value_type = String)]
    pub hospital_name: Option<String>,
    #[schema(required = true, value_type = String)]
    pub license_number: Option<String>,
    #[schema(required = true, value_type = String)]
    pub hospital_email: Option<String>,
    #[schema(required = true, value_type = String)]
    pub hospital_phone: Option<String>,
    #[schema(required = true, value_type = String)]
    pub address: Option<String>,
    #[schema(required = true, value_type = String)]
    pub location: Option<String>,
    #[schema(value_type = Option<String>)]
    pub latitude: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub longitude: Option<Value>,
}

/// The reference's `HospitalRegistration`, plus the new hospital's id and state.
#[derive(Debug, Serialize, ToSchema)]
pub struct HospitalRegistration {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: String,
    pub hospital_name: String,
    pub license_number: String,
    pub hospital_email: String,
    pub hospital_phone: String,
    pub address: String,
    pub location: String,
    #[schema(value_type = Option<String>)]
    pub latitude: Option<rust_decimal::Decimal>,
    #[schema(value_type = Option<String>)]
    pub longitude: Option<rust_decimal::Decimal>,
    pub is_approved: bool,
}

/// Register a hospital: an inactive HOSPITAL account and its hospital, pending approval.
#[utoipa::path(post, path = "/api/hospitals/register/", tag = "hospitals",
    request_body = HospitalRegistrationRequest,
    responses((status = 201, body = HospitalRegistration), (status = 400, description = "Field errors")))]
pub async fn register(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Body(body): Body<HospitalRegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let region = state.settings.accounts.default_phone_region.clone();
    let mut errors = FieldErrors::new();
    let account = check_account(
        &state,
        &mut errors,
        AccountFields {
            username: body.username,
            email: body.email,
            password: body.password,
            password_confirm: body.password_confirm,
            first_name: body.first_name,
            last_name: body.last_name,
            phone_number: body.phone_number,
        },
        true,
    )
    .await?;
    let fields = hospital_fields(
        &mut errors,
        HospitalRequest {
            name: body.hospital_name,
            license_number: body.license_number,
            email: body.hospital_email,
            phone: body.hospital_phone,
            address: body.address,
            location: body.location,
            latitude: body.latitude,
            longitude: body.longitude,
            is_approved: None,
        },
        None,
        &region,
        &state.settings.hospitals.default_time_zone,
        ["hospital_name", "hospital_email", "hospital_phone"],
    );
    errors.into_result()?;
    let (Some(username), Some(password)) = (account.username, account.password) else {
        return Err(ApiError::Internal(anyhow::anyhow!("registration passed validation incomplete")));
    };

    let hash = state.hasher.hash(&password).await?;
    let mut tx = state.db.begin().await?;
    let user = accounts_repo::insert_user(
        &mut *tx,
        &accounts_repo::NewUser {
            username: username.as_str(),
            email: &account.email,
            first_name: &account.first_name,
            last_name: &account.last_name,
            phone_number: account.phone.as_ref().map(PhoneNumber::as_str),
            user_type: UserType::Hospital,
            password_hash: &hash,
            is_active: false,
            must_change_password: false,
            is_demo: false,
        },
    )
    .await
    .map_err(from_database)?;
    let hospital_id = repo::insert_hospital(&mut *tx, user.id, &fields, false).await.map_err(from_database)?;
    let event = AuditEvent {
        actor_id: Some(user.id),
        actor_type: Some(UserType::Hospital.as_str()),
        hospital_id: Some(hospital_id),
        ..AuditEvent::new("hospital_registered").target("hospital", hospital_id)
    };
    audit::record(&mut tx, &meta, event).await?;
    tx.commit().await?;

    Ok(HttpResponse::Created().json(HospitalRegistration {
        id: hospital_id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        phone_number: user.phone_number.0,
        hospital_name: fields.name,
        license_number: fields.license_number,
        hospital_email: fields.email,
        hospital_phone: fields.phone,
        address: fields.address,
        location: fields.location,
        latitude: fields.latitude,
        longitude: fields.longitude,
        is_approved: false,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HospitalListQuery {
    /// Admins only: `true` or `false` (`1`/`0`, any case; empty: both).
    #[param(pattern = "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)?$")]
    pub is_approved: Option<String>,
    /// Part of the name, location or address.
    pub search: Option<String>,
}

/// The hospital directory, newest first: approved hospitals for everyone; admins see all and
/// may filter by `is_approved`.
#[utoipa::path(get, path = "/api/hospitals/", tag = "hospitals", params(PageParams, HospitalListQuery),
    responses((status = 200, body = Page<Hospital>), (status = 400), (status = 404, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    MaybePrincipal(caller): MaybePrincipal,
    page: PageRequest,
    query: web::Query<HospitalListQuery>,
) -> Result<web::Json<Page<Hospital>>, ApiError> {
    let all = policy::sees_all_hospitals(caller.as_ref());
    let approved = match query.is_approved.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(_) => return Err(ApiError::Validation(FieldErrors::single("is_approved", "Must be true or false."))),
    };
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(100).collect::<String>());
    let mut conn = state.db.acquire().await?;
    let (rows, count) =
        repo::list_hospitals(&mut conn, all, approved.filter(|_| all), search.as_deref(), page.limit(), page.offset())
            .await?;
    let rows = rows.into_iter().map(|h| hide_account(caller.as_ref(), h)).collect();
    Ok(web::Json(page.respond(count, rows)?))
}

/// The hospital's login name and e-mail are for its owner and admins only.
fn hide_account(caller: Option<&Principal>, mut hospital: Hospital) -> Hospital {
    if !caller.is_some_and(|p| policy::may_edit_hospital(p, hospital.id)) {
        hospital.user_username.clear();
        hospital.user_email.clear();
    }
    hospital
}

/// Loads a hospital the caller may see: approved ones for everyone, any for admins and its owner.
pub async fn visible_hospital(state: &AppState, caller: Option<&Principal>, id: i64) -> Result<Hospital, ApiError> {
    let hospital = repo::get_hospital(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    let privileged = caller.is_some_and(|p| policy::may_edit_hospital(p, hospital.id));
    if hospital.is_approved || privileged { Ok(hospital) } else { Err(ApiError::NotFound) }
}

/// One hospital.
#[utoipa::path(get, path = "/api/hospitals/{id}/", tag = "hospitals", params(("id" = i64, Path)),
    responses((status = 200, body = Hospital), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    MaybePrincipal(caller): MaybePrincipal,
    id: web::Path<i64>,
) -> Result<web::Json<Hospital>, ApiError> {
    let hospital = visible_hospital(&state, caller.as_ref(), id.into_inner()).await?;
    Ok(web::Json(hide_account(caller.as_ref(), hospital)))
}

/// Replace the hospital's record (owner or admin).
#[utoipa::path(put, path = "/api/hospitals/{id}/", tag = "hospitals", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = HospitalRequest,
    responses((status = 200, body = Hospital), (status = 400), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<HospitalRequest>,
) -> Result<web::Json<Hospital>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, true).await.map(web::Json)
}

/// Change some of the hospital's fields (owner or admin).
#[utoipa::path(patch, path = "/api/hospitals/{id}/", tag = "hospitals", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = HospitalRequest,
    responses((status = 200, body = Hospital), (status = 400), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<HospitalRequest>,
) -> Result<web::Json<Hospital>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, false).await.map(web::Json)
}

async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
    body: HospitalRequest,
    replace: bool,
) -> Result<Hospital, ApiError> {
    // Someone else's hospital is not found, whatever the caller's role.
    if !policy::may_edit_hospital(caller, id) {
        return Err(ApiError::NotFound);
    }
    let mut tx = state.db.begin().await?;
    let current = repo::lock_hospital(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let base = (!replace).then_some(&current);
    let fields = hospital_fields(
        &mut errors,
        body,
        base,
        &state.settings.accounts.default_phone_region,
        &state.settings.hospitals.default_time_zone,
        ["name", "email", "phone"],
    );
    errors.into_result()?;
    repo::update_hospital(&mut *tx, id, &fields).await.map_err(from_database)?;
    let event =
        AuditEvent { hospital_id: Some(id), ..AuditEvent::new("hospital_updated").by(caller).target("hospital", id) };
    audit::record(&mut tx, meta, event).await?;
    let hospital = repo::get_hospital(&mut *tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(hospital)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApprovalRequest {
    #[schema(required = true, value_type = bool)]
    pub is_approved: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalResponse {
    pub message: String,
    pub hospital: Hospital,
}

/// Approve or reject a hospital (admin). Approval activates its account, rejection
/// deactivates it and ends its logins; the hospital is told by SMS.
#[utoipa::path(patch, path = "/api/hospitals/{id}/approve/", tag = "hospitals", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = ApprovalRequest,
    responses((status = 200, body = ApprovalResponse), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn approve(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<ApprovalRequest>,
) -> Result<web::Json<ApprovalResponse>, ApiError> {
    if !policy::may_approve(&caller) {
        return Err(ApiError::Forbidden("Only administrators can approve hospitals."));
    }
    let Some(approved) = body.is_approved else {
        return Err(ApiError::Validation(FieldErrors::single("is_approved", "This field is required.")));
    };
    let id = id.into_inner();
    let mut tx = state.db.begin().await?;
    let user_id = repo::set_approval(&mut tx, id, approved, caller.user_id.0).await?.ok_or(ApiError::NotFound)?;
    if !approved {
        accounts_repo::revoke_other_families(
            &mut *tx,
            crate::accounts::model::UserId(user_id),
            None,
            "hospital_rejected",
        )
        .await?;
    }
    let hospital = repo::get_hospital(&mut *tx, id).await?.ok_or(ApiError::NotFound)?;
    if !hospital.phone.is_empty() {
        let text = if approved {
            format!("CareHub: {} has been approved. You can now sign in.", hospital.name)
        } else {
            format!("CareHub: the registration of {} was not approved. Contact support for details.", hospital.name)
        };
        queue_sms(&mut tx, &hospital.phone, &text, Purpose::HospitalApproval).await?;
    }
    let action = if approved { "hospital_approved" } else { "hospital_rejected" };
    let event = AuditEvent { hospital_id: Some(id), ..AuditEvent::new(action).by(&caller).target("hospital", id) };
    audit::record(&mut tx, &meta, event.details(json!({ "is_approved": approved }))).await?;
    tx.commit().await?;
    let message = if approved { "Hospital approved successfully." } else { "Hospital approval revoked." };
    Ok(web::Json(ApprovalResponse { message: message.into(), hospital }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearbyQuery {
    /// Latitude, -90 to 90.
    #[param(required = true, value_type = f64, minimum = -90, maximum = 90)]
    pub lat: Option<String>,
    /// Longitude, -180 to 180.
    #[param(required = true, value_type = f64, minimum = -180, maximum = 180)]
    pub lng: Option<String>,
    /// Radius in kilometres (default 10; 0.01 to 500).
    #[param(value_type = Option<f64>, minimum = 0.01, maximum = 500)]
    pub radius_km: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyResponse {
    pub count: usize,
    pub radius_km: f64,
    pub hospitals: Vec<NearbyHospital>,
}

/// Approved hospitals within `radius_km` of a point, nearest first (at most 200). Distances are
/// great-circle on a sphere: within a few hundred metres of the WGS-84 geodesic at the edge.
#[utoipa::path(get, path = "/api/hospitals/nearby/", tag = "hospitals", params(NearbyQuery),
    responses((status = 200, body = NearbyResponse), (status = 400, description = "Missing or out-of-range coordinates")))]
pub async fn nearby(
    state: web::Data<AppState>,
    query: web::Query<NearbyQuery>,
) -> Result<web::Json<NearbyResponse>, ApiError> {
    let mut errors = FieldErrors::new();
    let mut number = |field: &str, raw: Option<&str>, default: Option<f64>, min: f64, max: f64| -> f64 {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return default.unwrap_or_else(|| {
                errors.add(field, "This query parameter is required.");
                0.0
            });
        };
        match raw.parse::<f64>() {
            // To 1e-7 (about a centimetre of latitude): a subnormal value would underflow
            // Postgres' float arithmetic (a 500), and no finer precision means anything here.
            Ok(v) if v.is_finite() && (min..=max).contains(&v) => (v * 1e7).round() / 1e7,
            Ok(_) => {
                errors.add(field, format!("Must be between {min} and {max}."));
                0.0
            }
            Err(_) => {
                errors.add(field, "A valid number is required.");
                0.0
            }
        }
    };
    let lat = number("lat", query.lat.as_deref(), None, -90.0, 90.0);
    let lng = number("lng", query.lng.as_deref(), None, -180.0, 180.0);
    let radius_km =
        number("radius_km", query.radius_km.as_deref(), Some(10.0), NEARBY_MIN_RADIUS_KM, NEARBY_MAX_RADIUS_KM);
    errors.into_result()?;
    let hospitals = repo::nearby(&state.db, lat, lng, radius_km, NEARBY_LIMIT).await?;
    Ok(web::Json(NearbyResponse { count: hospitals.len(), radius_km, hospitals }))
}
