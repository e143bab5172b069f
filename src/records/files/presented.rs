//! A signed download link as it comes back ([`super::links`] made it): its query read
//! ([`Presented::of`]), its signature checked over the path and the stored file, and the login it
//! stands for ([`holder`]), which must still be live. Any refusal is the same 403.

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::links::{LINK_REFUSED, Link, LinkKey};
use crate::{
    accounts::model::{Principal, generated_password_expired},
    http::error::ApiError,
    ids::UserId,
    state::AppState,
};

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
    use secrecy::SecretString;

    use super::*;
    use crate::{accounts::model::UserType, records::files::links::FileLinks};

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
