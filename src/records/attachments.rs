//! Prescription attachments: a file the prescribing doctor adds to one version of a
//! prescription, shown with every version of its chain ([`for_chain`], which the prescription
//! detail calls), uploaded and scanned as reports are, served once clean to the parties of the
//! prescription (its patient, its doctor, a doctor holding a grant, an admin).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;

use super::{
    download::{self, Downloader, base_url},
    files,
    links::FileLinks,
    policy::{self, Reader},
    reports::model::ScanStatus,
    scan,
    storage::{Folder, new_key},
    upload::{self, Received},
};
use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors},
        routing::resource,
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/records/prescriptions/{prescription_id}/attachments/").post(add))
        .service(resource("/api/records/attachments/{id}/download/").get(download));
}

const AUTHOR_ONLY: &str = "Only the prescribing doctor adds attachments to a prescription.";

/// An attachment (the reference's `PrescriptionAttachment`, with `scan_status`). `file` is the
/// absolute URL of its download route, `file_url` the same URL signed for the user who asked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    /// The prescription version it was added to.
    pub prescription: i64,
    #[schema(format = "uri")]
    pub file: String,
    /// `file`, signed for the caller: `?expires=…&user=…&login=…&sig=…`.
    #[schema(format = "uri")]
    pub file_url: String,
    /// The client's file name, cleaned.
    pub file_name: String,
    /// Size in bytes.
    pub file_size: i64,
    pub description: String,
    pub uploaded_at: DateTime<Utc>,
    pub scan_status: ScanStatus,
}

/// The multipart body of an attachment (for the OpenAPI document).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PrescriptionAttachmentRequest {
    /// pdf, jpg, jpeg, png, doc or docx, at most 10 MiB; its bytes must be of its extension's type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The prescription (the one in the path; optional here).
    pub prescription: Option<i64>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct AttachmentRow {
    id: i64,
    prescription_id: i64,
    file_id: i64,
    original_name: String,
    size_bytes: i64,
    description: String,
    uploaded_at: DateTime<Utc>,
    scan_status: String,
}

impl AttachmentRow {
    fn into_view(self, links: &FileLinks) -> AttachmentView {
        let path = download_path(self.id);
        AttachmentView {
            id: self.id,
            prescription: self.prescription_id,
            file: links.url(&path),
            file_url: links.signed_url(&path, self.file_id),
            file_name: self.original_name,
            file_size: self.size_bytes,
            description: self.description,
            uploaded_at: self.uploaded_at,
            scan_status: ScanStatus::parse(&self.scan_status),
        }
    }
}

/// The path of attachment `id`'s download.
fn download_path(id: i64) -> String {
    format!("/api/records/attachments/{id}/download/")
}

const SELECT: &str = "select a.id, a.prescription_id, a.file_id, f.original_name, f.size_bytes, a.description, a.uploaded_at, \
     f.scan_status from prescription_attachments a join stored_files f on f.id = a.file_id";

/// The attachments of every version of prescription chain `chain_id`, oldest first, their
/// files' URLs made by `links` (`download::base_url(&req)`). The caller has checked the
/// reader's access.
pub async fn for_chain(conn: &mut PgConnection, chain_id: i64, links: &FileLinks) -> sqlx::Result<Vec<AttachmentView>> {
    let rows: Vec<AttachmentRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where a.chain_id = $1 order by a.id")))
            .bind(chain_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|row| row.into_view(links)).collect())
}

/// A prescription version's parties: `(chain_id, patient_id, doctor_id)`.
async fn prescription(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(i64, i64, i64, Option<i64>)>> {
    sqlx::query_as("select chain_id, patient_id, doctor_id, appointment_id from prescriptions where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
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
    let parties = {
        let mut conn = state.db.acquire().await?;
        author(&mut conn, &caller, prescription_id, state.settings.records.prescribe_days_after_appointment).await?
    };
    let patient_id = parties.patient_id;
    let limit = state.settings.records.upload_limit_bytes;
    let received = upload::receive(req.headers(), payload, &state.storage, limit, |extension| {
        new_key(Folder::PrescriptionAttachments, patient_id, extension)
    })
    .await?;
    match save(&state, &caller, &meta, parties, &received).await {
        Ok(row) => Ok(HttpResponse::Created().json(row.into_view(&base_url(&req)))),
        Err(err) => {
            if let Some(file) = &received.file {
                state.storage.delete_quietly(&file.key).await;
            }
            Err(err)
        }
    }
}

/// The parties of prescription `prescription_id` when the caller is its prescribing doctor and
/// still treats the patient (`policy::may_prescribe`, as for an edit: adding a file is a write
/// into the record); 403 otherwise. Asked before the body is read and again in the transaction
/// that writes the row.
async fn author(
    conn: &mut PgConnection,
    caller: &Principal,
    prescription_id: i64,
    prescribe_days: i64,
) -> Result<Parties, ApiError> {
    let (chain_id, patient_id, doctor_id, appointment_id) =
        prescription(conn, prescription_id).await?.ok_or(ApiError::NotFound)?;
    let access = policy::access_object(conn, caller, patient_id, Some(doctor_id)).await??;
    match access.reader {
        Reader::Author { doctor_id: author } | Reader::Doctor { doctor_id: author, .. } if author == doctor_id => {}
        _ => return Err(ApiError::Forbidden(AUTHOR_ONLY)),
    }
    if policy::may_prescribe(conn, caller, doctor_id, patient_id, appointment_id, prescribe_days).await?.is_none() {
        return Err(ApiError::Forbidden(policy::NOT_TREATING));
    }
    Ok(Parties { prescription_id, chain_id, patient_id, doctor_id })
}

#[derive(Debug, Clone, Copy)]
struct Parties {
    prescription_id: i64,
    chain_id: i64,
    patient_id: i64,
    doctor_id: i64,
}

async fn save(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    parties: Parties,
    received: &Received,
) -> Result<AttachmentRow, ApiError> {
    let mut errors = FieldErrors::new();
    let description = received.fields.get("description").map(|d| d.trim()).unwrap_or_default();
    if description.chars().count() > 10_000 {
        errors.add("description", "Ensure this field has no more than 10000 characters.");
    }
    if let Some(named) = received.text("prescription")
        && named.parse::<i64>().ok() != Some(parties.prescription_id)
    {
        errors.add("prescription", "Must be the prescription of the path.");
    }
    let Some(file) = &received.file else {
        errors.add("file", "No file was submitted.");
        return Err(errors.into());
    };
    errors.into_result()?;
    let mut tx = state.db.begin().await?;
    let days = state.settings.records.prescribe_days_after_appointment;
    let parties = author(&mut tx, caller, parties.prescription_id, days).await?;
    let file_id = files::insert(&mut tx, parties.patient_id, file, Some(caller.user_id.0)).await?;
    let id: i64 = sqlx::query_scalar(
        "insert into prescription_attachments (prescription_id, chain_id, file_id, description, uploaded_by) \
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(parties.prescription_id)
    .bind(parties.chain_id)
    .bind(file_id)
    .bind(description)
    .bind(caller.user_id.0)
    .fetch_one(&mut *tx)
    .await?;
    scan::enqueue(&mut tx, file_id).await?;
    let event = AuditEvent::new("prescription_attachment_added")
        .by(caller)
        .target("prescription_attachment", id)
        .details(json!({
            "prescription_id": parties.prescription_id,
            "chain_id": parties.chain_id,
            "patient_id": parties.patient_id,
            "doctor_id": parties.doctor_id,
            "file_id": file_id,
            "size": file.size,
        }));
    audit::record(&mut tx, meta, event).await?;
    let row: AttachmentRow =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where a.id = $1"))).bind(id).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(row)
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
    // Who the caller is (for a link: its signature, its login's state) is settled before the
    // transaction, so no request holds one pool connection while it waits for another.
    let found: Option<(i64, i64, i64)> = sqlx::query_as(
        "select p.patient_id, p.doctor_id, a.file_id from prescription_attachments a \
         join prescriptions p on p.id = a.prescription_id where a.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    let (patient_id, doctor_id, file_id) = found.ok_or_else(|| downloader.not_found())?;
    let caller = downloader.principal(&state, &download_path(id), file_id).await?;
    let mut tx = state.db.begin().await?;
    let access = policy::access_object(&mut tx, &caller, patient_id, Some(doctor_id))
        .await?
        .map_err(|refusal| downloader.refused(refusal))?;
    let file = files::for_download(&mut tx, file_id).await?.ok_or_else(|| downloader.not_found())?;
    downloader.ensure_clean(&file)?;
    access
        .audit_read(&mut tx, &caller, &meta, "prescription_attachment_file", Some(("prescription_attachment", id)))
        .await?;
    tx.commit().await?;
    download::stream(&state.storage, &file).await
}
