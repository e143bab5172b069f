//! An attachment as the API shows it, the multipart body that adds one, and its row.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::records::files::{links::FileLinks, model::ScanStatus};

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

/// An attachment's row, with its file's name, size and scan.
#[derive(Debug)]
pub struct AttachmentRow {
    pub id: i64,
    pub prescription_id: i64,
    pub file_id: i64,
    pub original_name: String,
    pub size_bytes: i64,
    pub description: String,
    pub uploaded_at: DateTime<Utc>,
    pub scan_status: ScanStatus,
}

impl AttachmentRow {
    pub fn into_view(self, links: &FileLinks) -> AttachmentView {
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
            scan_status: self.scan_status,
        }
    }
}

/// The path of attachment `id`'s download.
pub fn download_path(id: i64) -> String {
    format!("/api/records/attachments/{id}/download/")
}
