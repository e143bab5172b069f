//! Serving a stored file: only once its scan is CLEAN (409 `file_not_clean` otherwise, 403
//! through a signed link), streamed from the store, always as an attachment of its stored type,
//! never sniffed or rendered inline. A download is asked with a bearer token or through a signed
//! link ([`super::links`]); [`Downloader`] is who asks, either way.

use actix_web::{FromRequest as _, HttpRequest, HttpResponse, http::header};
use uuid::Uuid;

use super::{
    links::{FileLinks, LINK_REFUSED, LinkKey},
    model::{FileForDownload, ScanStatus},
    presented::{self, Presented},
    repo,
    storage::Storage,
};
use crate::{
    accounts::model::Principal,
    audit::RequestMeta,
    errors::Conflict,
    http::error::ApiError,
    ids::{DoctorId, PatientId, UserId},
    records::policy::{self, Refusal},
    state::AppState,
};

/// The links of the files a response to `req` shows (`scheme://host` and, for an authenticated
/// caller, the signer of their `file_url`s). Named for what it was before links were signed.
pub fn base_url(req: &HttpRequest) -> FileLinks {
    FileLinks::for_request(req)
}

/// Who asks for a download: a bearer of a token, or the holder of a signed link (the user and
/// login it was signed for, its signature not yet checked against the file).
pub enum Downloader {
    Bearer(Principal),
    Link(Presented),
}

impl Downloader {
    /// A signed link when the request has a `sig` and no `Authorization` header; otherwise the
    /// bearer (401 without a token, as any authenticated route).
    pub async fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        match Presented::of(req) {
            Some(link) if !link.plausible(chrono::Utc::now()) => Err(ApiError::Forbidden(LINK_REFUSED)),
            Some(link) => Ok(Self::Link(link)),
            None => Ok(Self::Bearer(Principal::extract(req).await?)),
        }
    }

    /// The principal the download is for: the bearer, or the holder of a link whose signature
    /// over `path` and stored file `file_id` is genuine, unexpired, and whose login is live.
    pub async fn principal(&self, state: &AppState, path: &str, file_id: i64) -> Result<Principal, ApiError> {
        match self {
            Self::Bearer(principal) => Ok(*principal),
            Self::Link(link) => {
                let key = LinkKey::new(&state.settings.jwt_secret);
                let (user, session): (UserId, Uuid) = link.check(&key, path, file_id, chrono::Utc::now())?;
                presented::holder(state, user, session).await
            }
        }
    }

    /// A refusal of the records policy: as for any read with a token; a link's is its 403.
    pub fn refused(&self, refusal: Refusal) -> ApiError {
        match self {
            Self::Bearer(_) => refusal.into(),
            Self::Link(_) => ApiError::Forbidden(LINK_REFUSED),
        }
    }

    /// A row that is not there: 404 with a token, the link's 403 otherwise (a forged link learns
    /// nothing about which ids exist).
    pub fn not_found(&self) -> ApiError {
        match self {
            Self::Bearer(_) => ApiError::NotFound,
            Self::Link(_) => ApiError::Forbidden(LINK_REFUSED),
        }
    }

    /// 409 (with a token) or 403 (through a link) unless the file's scan found it clean.
    pub fn ensure_clean(&self, file: &FileForDownload) -> Result<(), ApiError> {
        match self {
            Self::Bearer(_) => ensure_clean(file),
            Self::Link(_) if file.scan_status == ScanStatus::Clean => Ok(()),
            Self::Link(_) => Err(ApiError::Forbidden(LINK_REFUSED)),
        }
    }
}

/// 409 unless the file's scan found it clean.
pub fn ensure_clean(file: &FileForDownload) -> Result<(), ApiError> {
    if file.scan_status == ScanStatus::Clean { Ok(()) } else { Err(Conflict::FileNotClean.into()) }
}

/// Whose file a download route found: the record's patient, its author when a doctor may read
/// it without a grant (a prescription's), and the stored file.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub patient_id: PatientId,
    pub author: Option<DoctorId>,
    pub file_id: i64,
}

/// The one shape of every download route: the caller (bearer or signed link over `path`), the
/// records policy, a CLEAN file, the `records_read` audit row (`what`, `object`), then the bytes.
/// Who the caller is (for a link: its signature, its login's state) is settled before the
/// transaction, so no request holds one pool connection while it waits for another.
pub async fn serve(
    state: &AppState,
    meta: &RequestMeta,
    downloader: &Downloader,
    path: &str,
    found: Option<Found>,
    what: &'static str,
    object: (&'static str, i64),
) -> Result<HttpResponse, ApiError> {
    let found = found.ok_or_else(|| downloader.not_found())?;
    let caller = downloader.principal(state, path, found.file_id).await?;
    let mut tx = state.db.begin().await?;
    let access = policy::access_object(&mut tx, &caller, found.patient_id, found.author)
        .await?
        .map_err(|refusal| downloader.refused(refusal))?;
    let file = repo::for_download(&mut tx, found.file_id).await?.ok_or_else(|| downloader.not_found())?;
    downloader.ensure_clean(&file)?;
    access.audit_read(&mut tx, &caller, meta, what, Some(object)).await?;
    tx.commit().await?;
    stream(&state.storage, &file).await
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
