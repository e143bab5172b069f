//! `/api/records/prescriptions/...` and a patient's prescriptions: write (a doctor treating the
//! patient: `records::policy::may_prescribe`), each party's list of latest versions, one version
//! with its chain's attachments, an edit (a new version), and a chain's history. Who reads is
//! decided by `records::policy` alone; every read of another person's records is audited.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{
    model::{
        CreatePrescriptionRequest, Prescription, PrescriptionCreated, PrescriptionUpdateRequest,
        PrescriptionWithAttachments,
    },
    repo::{self, Scope},
    service,
};
use crate::{
    accounts::model::{Principal, UserType},
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    ids::PatientId,
    records::{attachments::service as attachments, files::download::base_url, policy},
    state::AppState,
};

/// The most versions `versions/` answers: a chain is edited by hand, a few times at most.
pub const VERSIONS_CAP: i64 = 500;

const ONLY_DOCTORS_WRITE: &str = "Only doctors write prescriptions.";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/records/prescriptions/").get(list))
        .service(resource("/api/records/prescriptions/create/").post(create))
        .service(resource("/api/records/prescriptions/{id}/").get(detail).patch(update))
        .service(resource("/api/records/prescriptions/{id}/versions/").get(versions))
        .service(resource("/api/records/patients/{patient_id}/prescriptions/").get(of_patient));
}

/// Write a prescription (doctor). The doctor needs a live access grant of their login for the
/// patient, or `appointment`: a CONFIRMED or COMPLETED appointment of the patient assigned to
/// this doctor, within `records.prescribe_days_after_appointment` days of its time. Otherwise
/// (an unknown patient too) 403, and nothing is written.
#[utoipa::path(post, path = "/api/records/prescriptions/create/", tag = "records", security(("jwtAuth" = [])),
    request_body = CreatePrescriptionRequest,
    responses((status = 201, body = PrescriptionCreated), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    Body(body): Body<CreatePrescriptionRequest>,
) -> Result<HttpResponse, ApiError> {
    if caller.user_type != UserType::Doctor {
        return Err(ApiError::Forbidden(ONLY_DOCTORS_WRITE));
    }
    let (id, prescription) = service::create(&state, &caller, &meta, body).await?;
    let body = PrescriptionCreated { message: "Prescription created successfully.".into(), id, prescription };
    Ok(HttpResponse::Created().json(body))
}

/// The latest version of each prescription the caller may list, newest first: a patient their
/// own, a doctor those they wrote (audited), an admin everyone's (audited). Hospitals read none.
#[utoipa::path(get, path = "/api/records/prescriptions/", tag = "records", security(("jwtAuth" = [])),
    params(PageParams),
    responses((status = 200, body = Page<Prescription>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    page: PageRequest,
) -> Result<web::Json<Page<Prescription>>, ApiError> {
    let mut tx = state.db.begin().await?;
    let scope = match caller.user_type {
        UserType::Patient => Scope::Patient(PatientId(caller.user_id.0)),
        UserType::Doctor => match policy::doctor_of(&mut tx, &caller).await? {
            Some((doctor_id, _)) => Scope::Doctor(doctor_id),
            None => return Err(ApiError::Forbidden(service::INACTIVE_DOCTOR)),
        },
        UserType::Admin => Scope::All,
        UserType::Hospital => return Err(ApiError::Forbidden(policy::HOSPITAL_READS_NONE)),
    };
    let (rows, count) = repo::list_latest(&mut tx, scope, page.limit(), page.offset()).await?;
    let patients: std::collections::BTreeSet<PatientId> = rows.iter().map(|p| p.patient).collect();
    let page = page.respond(count, rows)?;
    // Anyone but the patient reads other people's records here: one row per request, naming
    // whose records the page showed (ids only), as every other records read is audited.
    let scope_name = match scope {
        Scope::All => Some("all"),
        Scope::Doctor(_) => Some("own_prescriptions"),
        Scope::Patient(_) => None,
    };
    if let Some(scope_name) = scope_name {
        let details =
            json!({ "read": "prescriptions", "scope": scope_name, "patient_ids": patients, "grant_id": null });
        audit::record(&mut tx, &meta, AuditEvent::new("records_read").by(&caller).details(details)).await?;
    }
    tx.commit().await?;
    Ok(web::Json(page))
}

/// A patient's prescriptions (latest versions, newest first): the patient, a doctor with a live
/// grant, an admin. `?otp_verified=` and the like are ignored: only a grant counts.
#[utoipa::path(get, path = "/api/records/patients/{patient_id}/prescriptions/", tag = "records",
    security(("jwtAuth" = [])), params(("patient_id" = i64, Path), PageParams),
    responses((status = 200, body = Page<Prescription>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn of_patient(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    patient_id: web::Path<i64>,
    page: PageRequest,
) -> Result<web::Json<Page<Prescription>>, ApiError> {
    let patient_id = PatientId(patient_id.into_inner());
    let scope = Scope::Patient(patient_id);
    let read = async |conn: &mut sqlx::PgConnection| {
        let (rows, count) = repo::list_latest(conn, scope, page.limit(), page.offset()).await?;
        page.respond(count, rows)
    };
    let page =
        policy::read_patient::<_, ApiError>(&state.db, &caller, &meta, patient_id, "prescriptions", read).await?;
    Ok(web::Json(page))
}

/// One version (any version's id), with the files attached to its chain.
#[utoipa::path(get, path = "/api/records/prescriptions/{id}/", tag = "records", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = PrescriptionWithAttachments), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<web::Json<PrescriptionWithAttachments>, ApiError> {
    let mut tx = state.db.begin().await?;
    let (prescription, access) = service::readable(&mut tx, &caller, id.into_inner()).await?;
    access.audit_read(&mut tx, &caller, &meta, "prescription", Some(("prescription", prescription.id))).await?;
    let attachments = attachments::for_chain(&mut tx, prescription.chain_id, &base_url(&req)).await?;
    tx.commit().await?;
    Ok(web::Json(PrescriptionWithAttachments { prescription, attachments }))
}

/// Edit (the prescribing doctor): the fields given replace the latest version's in a new
/// version (`version` + 1, `previous_version` = `id`); earlier versions never change. `id` must
/// be its chain's latest version (409 `prescription_superseded` otherwise, also for the loser of
/// two racing edits). An edit that changes nothing writes nothing and answers the version as is.
#[utoipa::path(patch, path = "/api/records/prescriptions/{id}/", tag = "records", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = PrescriptionUpdateRequest,
    responses((status = 200, body = Prescription), (status = 400), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`code`: `prescription_superseded`")))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<PrescriptionUpdateRequest>,
) -> Result<web::Json<Prescription>, ApiError> {
    Ok(web::Json(service::update(&state, &caller, &meta, id.into_inner(), body).await?))
}

/// Every version of the prescription's chain, oldest first (any version's id; at most 500), for
/// its parties: the patient, its doctor, a doctor with a live grant, an admin.
#[utoipa::path(get, path = "/api/records/prescriptions/{id}/versions/", tag = "records", security(("jwtAuth" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Prescription>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn versions(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<Prescription>>, ApiError> {
    let mut tx = state.db.begin().await?;
    let (prescription, access) = service::readable(&mut tx, &caller, id.into_inner()).await?;
    let chain = repo::versions(&mut tx, prescription.chain_id, VERSIONS_CAP).await?;
    access
        .audit_read(&mut tx, &caller, &meta, "prescription_versions", Some(("prescription", prescription.id)))
        .await?;
    tx.commit().await?;
    Ok(web::Json(chain))
}
