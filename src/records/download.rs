//! Serving a stored file: only once its scan is CLEAN (409 `file_not_clean` otherwise), streamed
//! from the store, always as an attachment of its stored type, never sniffed or rendered inline.

use actix_web::{HttpRequest, HttpResponse, http::header};

use super::{files::FileForDownload, storage::Storage};
use crate::{errors::Conflict, http::error::ApiError};

/// The absolute base (`scheme://host`) of the request, for the URLs of files.
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// 409 unless the file's scan found it clean.
pub fn ensure_clean(file: &FileForDownload) -> Result<(), ApiError> {
    if file.scan_status == "CLEAN" { Ok(()) } else { Err(Conflict::FileNotClean.into()) }
}

/// The file name of `Content-Disposition`: printable ASCII without quotes or backslashes (the
/// rest replaced by `_`), `file.<ext>` when nothing is left.
pub fn disposition_name(original_name: &str, extension: &str) -> String {
    let name: String = original_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let name = name.trim();
    if name.is_empty() || name.chars().all(|c| c == '_' || c == '.') {
        format!("file.{extension}")
    } else {
        name.to_owned()
    }
}

/// The file's bytes, streamed from the store (a clean file only: check [`ensure_clean`] first).
pub async fn stream(storage: &Storage, file: &FileForDownload) -> Result<HttpResponse, ApiError> {
    let Some((size, bytes)) = storage.read(&file.storage_key).await? else {
        tracing::error!(key = %file.storage_key, "a clean file's object is missing");
        return Err(ApiError::NotFound);
    };
    let disposition = format!("attachment; filename=\"{}\"", disposition_name(&file.original_name, &file.extension));
    Ok(HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .no_chunking(size)
        .streaming(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_name_is_safe_in_a_quoted_header() {
        assert_eq!(disposition_name("scan \"1\".pdf", "pdf"), "scan _1_.pdf");
        assert_eq!(disposition_name("résumé.pdf", "pdf"), "r_sum_.pdf");
        assert_eq!(disposition_name("", "png"), "file.png");
        assert_eq!(disposition_name("\u{7}", "png"), "file.png");
    }
}
