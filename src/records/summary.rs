//! `GET /api/records/patients/{patient_id}/summary/`: a patient's records at a glance (counts,
//! the five latest prescriptions and reports), under the one records rule and audited like any
//! other read of another person's records.

use actix_web::{HttpRequest, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    files::download::base_url,
    policy,
    prescriptions::{
        model::Prescription,
        repo::{self as prescriptions, Scope},
    },
    reports::{model::PatientReport, repo as reports},
};
use crate::{
    accounts::model::Principal,
    audit::RequestMeta,
    http::{
        error::{ApiError, ErrorBody},
        routing::resource,
    },
    ids::PatientId,
    state::AppState,
};

/// How many of each the summary shows.
const RECENT: i64 = 5;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/records/patients/{patient_id}/summary/").get(summary));
}

/// The reference's `PatientMedicalSummary`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientMedicalSummary {
    #[schema(value_type = i64)]
    pub patient_id: PatientId,
    pub patient_name: String,
    /// Prescriptions (chains: each counted once, at its latest version).
    pub total_prescriptions: i64,
    pub total_reports: i64,
    pub recent_prescriptions: Vec<Prescription>,
    pub recent_reports: Vec<PatientReport>,
}

/// A patient's medical summary (the patient, a doctor with a live grant, an admin).
#[utoipa::path(get, path = "/api/records/patients/{patient_id}/summary/", tag = "records", security(("jwtAuth" = [])),
    params(("patient_id" = i64, Path, description = "The patient (user id)")),
    responses((status = 200, body = PatientMedicalSummary), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn summary(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<web::Json<PatientMedicalSummary>, ApiError> {
    let patient_id = PatientId(path.into_inner());
    let read = async |conn: &mut sqlx::PgConnection| {
        let scope = Scope::Patient(patient_id);
        let (recent_prescriptions, total_prescriptions) = prescriptions::list_latest(conn, scope, RECENT, 0).await?;
        let (total_reports, report_rows) = reports::list(conn, patient_id, RECENT, 0).await?;
        let patient_name = policy::repo::patient_name(conn, patient_id).await?.ok_or(ApiError::NotFound)?;
        Ok::<_, ApiError>((recent_prescriptions, total_prescriptions, total_reports, report_rows, patient_name))
    };
    let (recent_prescriptions, total_prescriptions, total_reports, report_rows, patient_name) =
        policy::read_patient(&state.db, &caller, &meta, patient_id, "summary", read).await?;
    let base = base_url(&req);
    Ok(web::Json(PatientMedicalSummary {
        patient_id,
        patient_name,
        total_prescriptions,
        total_reports,
        recent_prescriptions,
        recent_reports: report_rows.into_iter().map(|r| r.into_report(&base)).collect(),
    }))
}
