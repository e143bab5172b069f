//! `/api/records/prescriptions/{id}/attachments/` (add a file, multipart, streamed to the store)
//! and `/api/records/attachments/{id}/download/` (the file, once clean).

use actix_web::{HttpRequest, HttpResponse, web};

use super::{
    model::{AttachmentView, PrescriptionAttachmentRequest},
    repo, service,
};
use crate::{
    accounts::model::Principal,
    audit::RequestMeta,
    http::{
        error::{ApiError, ErrorBody},
        routing::resource,
    },
    records::files::{
        download::{self, Downloader, Found, base_url},
        storage::{Folder, new_key},
        upload,
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/records/prescriptions/{prescription_id}/attachments/").post(add))
        .service(resource("/api/records/attachments/{id}/download/").get(download));
}

/// Add a file to a prescription (its prescribing doctor only). Virus-scanned by a worker;
/// served once clean.
#[utoipa::path(post, path = "/api/records/prescriptions/{prescription_id}/attachments/", tag = "records",
    security(("jwtAuth" = [])),
    params(("prescription_id" = i64, Path, description = "The prescription version")),
    request_body(content = PrescriptionAttachmentRequest, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentView), (status = 400), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody)))]
pub async fn add(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    req: HttpRequest,
    path: web::Path<i64>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let prescription_id = path.into_inner();
    let days = state.settings.records.prescribe_days_after_appointment;
    let parties = service::author(&mut *state.db.acquire().await?, &caller, prescription_id, days).await?;
    let limit = state.settings.records.upload_limit_bytes;
    let key_for = |extension: &str| new_key(Folder::PrescriptionAttachments, parties.patient_id, extension);
    let save = async |received: &upload::Received| service::save(&state, &caller, &meta, parties, received).await;
    let row = upload::receive_and_save(req.headers(), payload, &state.storage, limit, key_for, save).await?;
    Ok(HttpResponse::Created().json(row.into_view(&base_url(&req))))
}

/// An attachment's file, once clean (the parties of the prescription; audited).
#[utoipa::path(get, path = "/api/records/attachments/{id}/download/", tag = "records", security(("jwtAuth" = [])),
    params(("id" = i64, Path, description = "The attachment"),
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
    let found = found.map(|(patient_id, doctor_id, file_id)| Found { patient_id, author: Some(doctor_id), file_id });
    let (what, object) = ("prescription_attachment_file", ("prescription_attachment", id));
    download::serve(&state, &meta, &downloader, &super::model::download_path(id), found, what, object).await
}
