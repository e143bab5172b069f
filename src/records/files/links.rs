//! Signed download links, as object stores presign: a file's `file_url` carries
//! `?expires=…&user=…&login=…&sig=…`, so a browser tab that sends no `Authorization` header can
//! open it. The signature is HMAC-SHA-256, under a key derived from `JWT_SECRET` with its own
//! label (no new secret to configure), over the method, the download path, the stored file's
//! id, the user, the login (refresh-token family) that asked, and the expiry
//! (`records.download_link_seconds`). A link is therefore good for that one file, that user's
//! login, until then, and for nothing else; at download time the login must still be live and
//! the user's access is decided again by the records policy, as for a bearer download.
//!
//! A link that is forged, altered, expired, whose login ended, or whose file is no longer CLEAN
//! is refused with a 403. The query string never reaches a log: the request span and the access
//! log carry the path and the query's parameter names only (`http::middleware`). This file makes
//! links; [`super::presented`] checks one that comes back.

use actix_web::{HttpMessage as _, HttpRequest, web};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::Mac as _;
use secrecy::SecretString;
use uuid::Uuid;

use crate::{
    accounts::model::{PendingPrincipal, Principal},
    signing::{self, HmacSha256},
    state::AppState,
};

/// What a refused link is told, whatever the reason (forged, altered, expired, login ended, no
/// access, file not clean): the reason is not the holder's to learn.
pub const LINK_REFUSED: &str =
    "This download link is not valid (it may have expired): open the file again from the app.";

const KEY_LABEL: &[u8] = b"carehub download link key v1";
const VERSION: &str = "carehub-download-v1";

/// The key download links are signed with, derived from the server secret.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

impl LinkKey {
    /// `HMAC-SHA-256(secret, label)`: a key of its own, so a link's signature is never a valid
    /// signature of anything else made with the same secret (tokens, device cookies).
    pub fn new(server_secret: &SecretString) -> Self {
        Self(signing::derive_key(server_secret, KEY_LABEL))
    }

    fn mac(&self, link: &Link<'_>) -> HmacSha256 {
        let mut mac = signing::mac(&self.0);
        let message = format!(
            "{VERSION}\nGET\n{}\n{}\n{}\n{}\n{}",
            link.path,
            link.file_id,
            link.user_id,
            link.session_id.simple(),
            link.expires
        );
        mac.update(message.as_bytes());
        mac
    }

    fn sign(&self, link: &Link<'_>) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(link).finalize().into_bytes())
    }

    /// Whether `signature` is this key's over `link` (compared in constant time).
    pub(super) fn verify(&self, link: &Link<'_>, signature: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.mac(link).verify_slice(&bytes).is_ok()
    }
}

/// What a link's signature covers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link<'a> {
    pub path: &'a str,
    pub file_id: i64,
    pub user_id: i64,
    pub session_id: Uuid,
    pub expires: i64,
}

/// The signer of one response's file links: the request's base URL, and the caller's login when
/// the request was authenticated (no caller: plain links).
#[derive(Debug, Clone)]
pub struct FileLinks {
    base: String,
    signer: Option<Signer>,
}

#[derive(Debug, Clone)]
struct Signer {
    key: LinkKey,
    user_id: i64,
    session_id: Uuid,
    expires: i64,
}

impl FileLinks {
    /// Plain links under `base` (`scheme://host`), signed for nobody.
    pub fn plain(base: impl Into<String>) -> Self {
        Self { base: base.into(), signer: None }
    }

    /// Links under `base` signed for `caller`'s login, valid for `seconds` from `now`.
    pub fn signed(base: impl Into<String>, key: LinkKey, caller: &Principal, now: DateTime<Utc>, seconds: u64) -> Self {
        let expires = now.timestamp().saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX));
        let signer = Signer { key, user_id: caller.user_id.0, session_id: caller.session_id, expires };
        Self { base: base.into(), signer: Some(signer) }
    }

    /// The links of a response to `req`: signed for its authenticated caller.
    pub fn for_request(req: &HttpRequest) -> Self {
        let info = req.connection_info();
        let base = format!("{}://{}", info.scheme(), info.host());
        let caller = req.extensions().get::<PendingPrincipal>().map(|pending| pending.principal);
        match (req.app_data::<web::Data<AppState>>(), caller) {
            (Some(state), Some(caller)) => Self::signed(
                base,
                LinkKey::new(&state.settings.jwt_secret),
                &caller,
                Utc::now(),
                state.settings.records.download_link_seconds,
            ),
            _ => Self::plain(base),
        }
    }

    /// The absolute URL of `path` (the `file` field: the bearer download).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The absolute URL of `path` signed for stored file `file_id` (the `file_url` field).
    pub fn signed_url(&self, path: &str, file_id: i64) -> String {
        let Some(signer) = &self.signer else {
            return self.url(path);
        };
        let link =
            Link { path, file_id, user_id: signer.user_id, session_id: signer.session_id, expires: signer.expires };
        format!(
            "{}{path}?expires={}&user={}&login={}&sig={}",
            self.base,
            signer.expires,
            signer.user_id,
            signer.session_id.simple(),
            signer.key.sign(&link)
        )
    }
}
