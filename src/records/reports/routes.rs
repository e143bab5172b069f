//! `/api/records/.../reports/...`: upload (multipart, streamed to the store), the lists, one
//! report, its deletion by the patient, and the download of a clean file.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{
    model::{PatientReport, UploadPatientReportRequest, UploadedReport},
    repo, service,
};
use crate::{
    accounts::model::{Principal, UserType},
    audit::RequestMeta,
    http::{
        error::{ApiError, ErrorBody},
        pagination::{Page, PageParams, PageRequest},
        routing::resource,
    },
    ids::PatientId,
    records::{
        files::{
            download::{self, Downloader, Found, base_url},
            storage::{Folder, new_key},
            upload,
        },
        policy,
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
    let patient_id = PatientId(path.into_inner());
    service::uploader(&mut *state.db.acquire().await?, &caller, patient_id).await?;
    let limit = state.settings.records.upload_limit_bytes;
    let key_for = |extension: &str| new_key(Folder::PatientReports, patient_id, extension);
    let save = async |received: &upload::Received| service::save(&state, &caller, &meta, patient_id, received).await;
    let (id, row) = upload::receive_and_save(req.headers(), payload, &state.storage, limit, key_for, save).await?;
    let report = row.into_report(&base_url(&req));
    Ok(HttpResponse::Created().json(UploadedReport { message: "Report uploaded successfully.", id, report }))
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
    let (count, rows) = repo::list(&mut conn, PatientId(caller.user_id.0), page.limit(), page.offset()).await?;
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
    let patient_id = PatientId(path.into_inner());
    let (limit, offset) = (page.limit(), page.offset());
    let read =
        async |conn: &mut sqlx::PgConnection| Ok::<_, ApiError>(repo::list(conn, patient_id, limit, offset).await?);
    let (count, rows) = policy::read_patient(&state.db, &caller, &meta, patient_id, "reports", read).await?;
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
    if let Some(key) = service::remove(&state, &caller, &meta, path.into_inner()).await? {
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
    let found = repo::owner_and_file(&mut *state.db.acquire().await?, id).await?;
    let found = found.map(|(patient_id, file_id)| Found { patient_id, author: None, file_id });
    download::serve(&state, &meta, &downloader, &repo::download_path(id), found, "report_file", ("report", id)).await
}
