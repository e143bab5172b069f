//! `/api/records/.../reports/...`: upload (multipart, streamed to the store), the lists, one
//! report, its deletion by the patient, and the download of a clean file.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{
    model::{PatientReport, UploadPatientReportRequest, UploadedReport, check_fields},
    repo,
};
use crate::{
    accounts::model::{Principal, UserType},
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    records::{
        download::{self, Downloader, base_url},
        files,
        policy::{self, Reader},
        storage::{Folder, new_key},
        upload::{self, Received},
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/records/my-reports/").get(my_reports))
        .service(resource("/api/records/patients/{patient_id}/reports/").get(patient_reports))
        .service(resource("/api/records/patients/{patient_id}/reports/upload/").post(upload))
        .service(resource("/api/records/reports/{id}/").get(detail).delete(remove))
        .service(resource("/api/records/reports/{id}/download/").get(download));
}

const UPLOADERS_ONLY: &str = "Reports are uploaded by the patient or by a doctor holding the patient's access grant.";
const OWNER_DELETES: &str = "Only the patient deletes their reports.";
const NOT_YOUR_HOSPITAL: &str = "Name a hospital where the patient has an appointment.";
const PATIENTS_ONLY: &str = "Only patients have reports of their own.";

/// Upload a report for a patient (the patient, or a doctor holding a live grant). The file is
/// virus-scanned by a worker; it is served once the scan finds it clean.
#[utoipa::path(post, path = "/api/records/patients/{patient_id}/reports/upload/", tag = "records",
    security(("jwtAuth" = [])),
    params(("patient_id" = i64, Path, description = "The patient (user id)")),
    request_body(content = UploadPatientReportRequest, content_type = "multipart/form-data"),
    responses((status = 201, body = UploadedReport), (status = 400), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody)))]
pub async fn upload(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    req: HttpRequest,
    path: web::Path<i64>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let patient_id = path.into_inner();
    {
        let mut conn = state.db.acquire().await?;
        uploader(&mut conn, &caller, patient_id).await?;
    }
    let limit = state.settings.records.upload_limit_bytes;
    let received = upload::receive(req.headers(), payload, &state.storage, limit, |extension| {
        new_key(Folder::PatientReports, patient_id, extension)
    })
    .await?;
    let saved = save(&state, &caller, &meta, patient_id, &received).await;
    let (id, row) = match saved {
        Ok(saved) => saved,
        Err(err) => {
            if let Some(file) = &received.file {
                state.storage.delete_quietly(&file.key).await;
            }
            return Err(err);
        }
    };
    let report = row.into_report(&base_url(&req));
    Ok(HttpResponse::Created().json(UploadedReport { message: "Report uploaded successfully.", id, report }))
}

/// Who may upload a report for `patient_id`: the patient, or a doctor holding a live grant. Asked
/// before the body is read and again in the transaction that writes the rows (a grant revoked
/// or expired while the file streamed in refuses the upload).
async fn uploader(
    conn: &mut sqlx::PgConnection,
    caller: &Principal,
    patient_id: i64,
) -> Result<policy::Access, ApiError> {
    let access = policy::access(conn, caller, patient_id).await??;
    if !matches!(access.reader, Reader::Owner | Reader::Doctor { .. }) {
        return Err(ApiError::Forbidden(UPLOADERS_ONLY));
    }
    Ok(access)
}

/// Checks the fields, then in one transaction: the uploader's access again, the file's row, the
/// report's, the audit row and the scan job.
async fn save(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    patient_id: i64,
    received: &Received,
) -> Result<(i64, repo::ReportRow), ApiError> {
    let mut errors = FieldErrors::new();
    let fields = check_fields(|name| received.fields.get(name).map(String::as_str), &mut errors);
    if received.file.is_none() {
        errors.add("file", "No file was submitted.");
    }
    let mut tx = state.db.begin().await?;
    let access = uploader(&mut tx, caller, patient_id).await?;
    let grant_id = access.grant_id();
    if let Some(hospital) = fields.as_ref().and_then(|f| f.hospital) {
        if !repo::hospital_exists(&mut tx, hospital).await? {
            errors.add("hospital", format!("Invalid pk \"{hospital}\" - object does not exist."));
        } else if !may_name_hospital(&mut tx, &access, hospital).await? {
            errors.add("hospital", NOT_YOUR_HOSPITAL);
        }
    }
    errors.into_result()?;
    let (Some(file), Some(fields)) = (&received.file, fields) else {
        return Err(ApiError::Internal(anyhow::anyhow!("upload passed validation incomplete")));
    };
    let (id, file_id) = super::create(&mut tx, patient_id, caller.user_id.0, file, &fields).await?;
    let event = AuditEvent::new("report_uploaded").by(caller).target("report", id).details(json!({
        "patient_id": patient_id,
        "file_id": file_id,
        "size": file.size,
        "file_type": fields.file_type.as_str(),
        "grant_id": grant_id,
    }));
    audit::record(&mut tx, meta, event).await?;
    let row = repo::get(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((id, row))
}

/// A report names as its `hospital` only a hospital the patient has an appointment at (any
/// status: a booking is the patient's own act), or the uploading doctor's own hospital; a
/// patient cannot attach a hospital's name to a document it never saw.
async fn may_name_hospital(
    conn: &mut sqlx::PgConnection,
    access: &policy::Access,
    hospital: i64,
) -> sqlx::Result<bool> {
    if let Reader::Doctor { hospital_id, .. } = access.reader
        && hospital_id == hospital
    {
        return Ok(true);
    }
    repo::has_appointment_at(conn, access.patient_id, hospital).await
}

/// The caller's own reports (patient), newest first.
#[utoipa::path(get, path = "/api/records/my-reports/", tag = "records", security(("jwtAuth" = [])),
    params(PageParams),
    responses((status = 200, body = Page<PatientReport>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn my_reports(
    state: web::Data<AppState>,
    caller: Principal,
    req: HttpRequest,
    page: PageRequest,
) -> Result<HttpResponse, ApiError> {
    if caller.user_type != UserType::Patient {
        return Err(ApiError::Forbidden(PATIENTS_ONLY));
    }
    let mut conn = state.db.acquire().await?;
    let (count, rows) = repo::list(&mut conn, caller.user_id.0, page.limit(), page.offset()).await?;
    let base = base_url(&req);
    Ok(HttpResponse::Ok().json(page.respond(count, rows.into_iter().map(|r| r.into_report(&base)).collect())?))
}

/// A patient's reports, newest first (the patient, a doctor with a grant, an admin; audited).
#[utoipa::path(get, path = "/api/records/patients/{patient_id}/reports/", tag = "records",
    security(("jwtAuth" = [])),
    params(("patient_id" = i64, Path, description = "The patient (user id)"), PageParams),
    responses((status = 200, body = Page<PatientReport>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patient_reports(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    req: HttpRequest,
    path: web::Path<i64>,
    page: PageRequest,
) -> Result<HttpResponse, ApiError> {
    let patient_id = path.into_inner();
    let mut tx = state.db.begin().await?;
    let access = policy::access(&mut tx, &caller, patient_id).await??;
    let (count, rows) = repo::list(&mut tx, patient_id, page.limit(), page.offset()).await?;
    access.audit_read(&mut tx, &caller, &meta, "reports", None).await?;
    tx.commit().await?;
    let base = base_url(&req);
    Ok(HttpResponse::Ok().json(page.respond(count, rows.into_iter().map(|r| r.into_report(&base)).collect())?))
}

/// One report (audited for anyone but the patient).
#[utoipa::path(get, path = "/api/records/reports/{id}/", tag = "records", security(("jwtAuth" = [])),
    params(("id" = i64, Path, description = "The report")),
    responses((status = 200, body = PatientReport), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut tx = state.db.begin().await?;
    let row = repo::get(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let access = policy::access_object(&mut tx, &caller, row.patient_id, None).await??;
    access.audit_read(&mut tx, &caller, &meta, "report", Some(("report", id))).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(row.into_report(&base_url(&req))))
}

/// Delete a report and its file (the patient only); its audit rows stay.
#[utoipa::path(delete, path = "/api/records/reports/{id}/", tag = "records", security(("jwtAuth" = [])),
    params(("id" = i64, Path, description = "The report")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let mut tx = state.db.begin().await?;
    let (patient_id, _) = repo::owner_and_file(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let access = policy::access_object(&mut tx, &caller, patient_id, None).await??;
    if access.reader != Reader::Owner {
        return Err(ApiError::Forbidden(OWNER_DELETES));
    }
    let file_id = repo::delete(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let key = files::delete(&mut tx, file_id).await?;
    let event = AuditEvent::new("report_deleted")
        .by(&caller)
        .target("report", id)
        .details(json!({ "patient_id": patient_id, "file_id": file_id }));
    audit::record(&mut tx, &meta, event).await?;
    tx.commit().await?;
    if let Some(key) = key {
        state.storage.delete_quietly(&key).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The report's file, once its virus scan found it clean (409 `file_not_clean` before, and
/// forever when infected); always an attachment.
#[utoipa::path(get, path = "/api/records/reports/{id}/download/", tag = "records", security(("jwtAuth" = [])),
    params(("id" = i64, Path, description = "The report"),
        ("expires" = Option<i64>, Query, description = "Signed link (`file_url`): its expiry, Unix seconds"),
        ("user" = Option<i64>, Query, description = "Signed link: the user it was made for"),
        ("login" = Option<String>, Query, description = "Signed link: the login it was made for"),
        ("sig" = Option<String>, Query, description = "Signed link: its signature; with all four link parameters and no `Authorization` header, a forged, altered or expired link, or a file no longer clean, is a 403 (a link with a part missing or unreadable is no link: 401)")),
    responses((status = 200, description = "The file's bytes, as an attachment of its stored type",
            content((String = "application/pdf"), (String = "image/jpeg"), (String = "image/png"),
                (String = "application/msword"),
                (String = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn download(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let downloader = Downloader::of(&req).await?;
    // Who the caller is (for a link: its signature, its login's state) is settled before the
    // transaction, so no request holds one pool connection while it waits for another.
    let found = repo::owner_and_file(&mut *state.db.acquire().await?, id).await?;
    let (patient_id, file_id) = found.ok_or_else(|| downloader.not_found())?;
    let caller = downloader.principal(&state, &repo::download_path(id), file_id).await?;
    let mut tx = state.db.begin().await?;
    let access = policy::access_object(&mut tx, &caller, patient_id, None)
        .await?
        .map_err(|refusal| downloader.refused(refusal))?;
    let file = files::for_download(&mut tx, file_id).await?.ok_or_else(|| downloader.not_found())?;
    downloader.ensure_clean(&file)?;
    access.audit_read(&mut tx, &caller, &meta, "report_file", Some(("report", id))).await?;
    tx.commit().await?;
    download::stream(&state.storage, &file).await
}
