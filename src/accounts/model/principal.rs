//! Roles and the authenticated caller: `UserType`, `Principal` (and its pending and optional
//! forms), and the rule on when a generated password has expired.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{
    Decode, Encode, Postgres, Type,
    encode::IsNull,
    error::BoxDynError,
    postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef},
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ids::{HospitalId, UserId};

/// The four roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum UserType {
    Admin,
    Hospital,
    Doctor,
    Patient,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Hospital => "HOSPITAL",
            Self::Doctor => "DOCTOR",
            Self::Patient => "PATIENT",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ADMIN" => Some(Self::Admin),
            "HOSPITAL" => Some(Self::Hospital),
            "DOCTOR" => Some(Self::Doctor),
            "PATIENT" => Some(Self::Patient),
            _ => None,
        }
    }
}

impl TryFrom<String> for UserType {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw).ok_or(raw)
    }
}

/// Stored as the text `users.user_type` holds (read with the column override `"user_type: UserType"` in a checked statement); a
/// value outside the four is a decoding error.
impl Type<Postgres> for UserType {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for UserType {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <&str as Decode<Postgres>>::decode(value)?;
        Self::parse(raw).ok_or_else(|| format!("unknown user_type {raw:?}").into())
    }
}

impl Encode<'_, Postgres> for UserType {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

/// Who is calling: read from a verified access token and checked against the live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub user_type: UserType,
    pub hospital_id: Option<HospitalId>,
    pub session_id: Uuid,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.user_type == UserType::Admin
    }
}

/// Any authenticated caller, also one whose generated password has expired: accepted only by
/// the endpoints that let them change it (`GET /api/accounts/me/`,
/// `POST /api/accounts/change-password/`).
#[derive(Debug, Clone, Copy)]
pub struct PendingPrincipal {
    pub principal: Principal,
    /// The password was generated for the user (by their hospital) and is still theirs.
    pub must_change_password: bool,
    /// ... and its window has ended (`generated_password_expired`).
    pub password_expired: bool,
}

/// ASVS 2.3.1: a system-generated password (a doctor's, made by the hospital) works with full
/// access for `window_hours` after it was issued; after that it opens nothing but a password
/// change.
pub fn generated_password_expired(
    must_change_password: bool,
    issued_at: DateTime<Utc>,
    window_hours: i64,
    now: DateTime<Utc>,
) -> bool {
    let deadline = chrono::TimeDelta::try_hours(window_hours).and_then(|window| issued_at.checked_add_signed(window));
    must_change_password && deadline.is_some_and(|deadline| now >= deadline)
}

/// The caller of an endpoint that anonymous callers may use too: `None` only without an
/// `Authorization` header. A bad token is still a 401 (the client should refresh it), and an
/// expired generated password still a 403: never a silent downgrade to the anonymous view.
#[derive(Debug, Clone, Copy)]
pub struct MaybePrincipal(pub Option<Principal>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_password_expires_after_its_window_and_a_chosen_one_never() {
        let issued = Utc::now();
        let hours = |h| issued + chrono::Duration::hours(h);
        assert!(!generated_password_expired(true, issued, 72, hours(71)));
        assert!(generated_password_expired(true, issued, 72, hours(72)));
        assert!(generated_password_expired(true, issued, 0, issued));
        assert!(!generated_password_expired(false, issued, 72, hours(10_000)));
        assert!(!generated_password_expired(true, issued, i64::MAX, hours(10_000)), "no overflow");
    }
}
