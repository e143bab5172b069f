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
//! log carry the path and the query's parameter names only (`http::middleware`).

use actix_web::{HttpMessage as _, HttpRequest, web};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::Mac as _;
use secrecy::SecretString;
use uuid::Uuid;

use crate::{
    accounts::model::{PendingPrincipal, Principal, UserId, generated_password_expired},
    http::error::ApiError,
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
    fn verify(&self, link: &Link<'_>, signature: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.mac(link).verify_slice(&bytes).is_ok()
    }
}

/// What a link's signature covers.
#[derive(Debug, Clone, Copy)]
struct Link<'a> {
    path: &'a str,
    file_id: i64,
    user_id: i64,
    session_id: Uuid,
    expires: i64,
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

/// A link's query, as presented (not yet checked).
#[derive(Debug, Clone)]
pub struct Presented {
    expires: Option<i64>,
    user_id: Option<i64>,
    session_id: Option<Uuid>,
    signature: String,
}

impl Presented {
    /// The link's query when the request is one (a `sig` parameter and no `Authorization`
    /// header: a bearer request is the bearer's, whatever its query says).
    pub fn of(req: &HttpRequest) -> Option<Self> {
        if req.headers().contains_key(actix_web::http::header::AUTHORIZATION) {
            return None;
        }
        let mut presented = Self { expires: None, user_id: None, session_id: None, signature: String::new() };
        let mut signed = false;
        for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            match name.as_ref() {
                "expires" => presented.expires = value.parse().ok(),
                "user" => presented.user_id = value.parse().ok(),
                "login" => presented.session_id = Uuid::parse_str(&value).ok(),
                "sig" => {
                    signed = true;
                    presented.signature = value.into_owned();
                }
                _ => {}
            }
        }
        // A link with a part missing or unreadable is no link: the request is judged as one
        // without credentials (401), as any other.
        let complete = signed
            && !presented.signature.is_empty()
            && presented.expires.is_some()
            && presented.user_id.is_some()
            && presented.session_id.is_some();
        complete.then_some(presented)
    }

    /// Whether the link may still be good at `now` (not expired). Checked before any database
    /// work, so a stale link costs nothing but this.
    pub fn plausible(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|e| e > now.timestamp())
    }

    /// The user and login the link was signed for, when its signature over `path` and
    /// `file_id` is genuine and it has not expired at `now`.
    pub fn check(
        &self,
        key: &LinkKey,
        path: &str,
        file_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(UserId, Uuid), ApiError> {
        let (Some(expires), Some(user_id), Some(session_id)) = (self.expires, self.user_id, self.session_id) else {
            return Err(ApiError::Forbidden(LINK_REFUSED));
        };
        let link = Link { path, file_id, user_id, session_id, expires };
        if !key.verify(&link, &self.signature) || expires <= now.timestamp() {
            return Err(ApiError::Forbidden(LINK_REFUSED));
        }
        Ok((UserId(user_id), session_id))
    }
}

/// The principal a checked link stands for: its login must still be live (not ended, not
/// expired, the account active, no expired generated password), and the role and hospital are
/// the account's now. Any refusal is the link's 403.
pub async fn holder(state: &AppState, user: UserId, session_id: Uuid) -> Result<Principal, ApiError> {
    let now = Utc::now();
    let session = state.sessions.state(&state.db, session_id, user).await?.ok_or(ApiError::Forbidden(LINK_REFUSED))?;
    if !session.live(now)
        || generated_password_expired(
            session.must_change_password,
            session.password_changed_at,
            state.settings.auth.generated_password_hours,
            now,
        )
    {
        return Err(ApiError::Forbidden(LINK_REFUSED));
    }
    // The role and hospital are the account's as the login state reads them now.
    tracing::Span::current().record("user.id", user.0);
    Ok(Principal { user_id: user, user_type: session.user_type, hospital_id: session.hospital_id, session_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::model::UserType;

    fn principal() -> Principal {
        Principal { user_id: UserId(7), user_type: UserType::Patient, hospital_id: None, session_id: Uuid::new_v4() }
    }

    fn presented(url: &str) -> Presented {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let req = actix_web::test::TestRequest::get().uri(&format!("/x?{query}")).to_http_request();
        Presented::of(&req).expect("a signed link")
    }

    #[test]
    fn a_link_is_good_for_its_file_path_and_time_only() {
        let key = LinkKey::new(&SecretString::from("k".repeat(40)));
        let now = Utc::now();
        let caller = principal();
        let links = FileLinks::signed("http://h", key.clone(), &caller, now, 300);
        let path = "/api/records/reports/3/download/";
        let url = links.signed_url(path, 11);
        assert!(url.starts_with("http://h/api/records/reports/3/download/?expires="), "{url}");
        let link = presented(&url);
        assert_eq!(link.check(&key, path, 11, now).ok(), Some((UserId(7), caller.session_id)));
        assert!(link.check(&key, path, 12, now).is_err(), "another file");
        assert!(link.check(&key, "/api/records/reports/4/download/", 11, now).is_err(), "another path");
        assert!(link.check(&key, path, 11, now + chrono::Duration::seconds(300)).is_err(), "expired");
        let other_key = LinkKey::new(&SecretString::from("j".repeat(40)));
        assert!(link.check(&other_key, path, 11, now).is_err(), "another key");
        assert!(presented(&url.replace("user=7", "user=8")).check(&key, path, 11, now).is_err(), "another user");
        assert_eq!(FileLinks::plain("http://h").signed_url(path, 11), format!("http://h{path}"));
    }
}
