//! Account types and the rules on them: roles, the authenticated principal, and the value types
//! that parse untrusted input (usernames, passwords, phone numbers, e-mail addresses).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A user's id. A newtype so that a user id cannot be passed where another id is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

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

/// Who is calling: read from a verified access token and checked against the live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub user_type: UserType,
    pub hospital_id: Option<i64>,
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

/// A user as the API shows it (the reference's `User`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[sqlx(skip)]
    pub full_name: String,
    /// E.164, or empty.
    #[sqlx(try_from = "Option<String>")]
    pub phone_number: PhoneText,
    #[sqlx(try_from = "String")]
    pub user_type: UserType,
    pub is_active: bool,
    pub must_change_password: bool,
    pub date_joined: DateTime<Utc>,
}

impl User {
    /// Fills the derived fields after a database read.
    pub fn finish(mut self) -> Self {
        self.full_name = format!("{} {}", self.first_name, self.last_name).trim().to_owned();
        self
    }
}

/// A stored phone number shown as a string, empty when there is none (as Django shows a blank
/// `CharField`).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(transparent)]
pub struct PhoneText(pub String);

impl From<Option<String>> for PhoneText {
    fn from(value: Option<String>) -> Self {
        Self(value.unwrap_or_default())
    }
}

/// Admin dashboard counts (the reference's `DashboardStats`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct DashboardStats {
    pub total_users: i64,
    pub total_patients: i64,
    pub total_doctors: i64,
    pub total_hospitals: i64,
    pub approved_hospitals: i64,
    pub pending_hospitals: i64,
    pub total_appointments: i64,
    pub pending_appointments: i64,
}

/// A username: 1–150 characters of letters, digits and `@ . + - _` (Django's rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("This field may not be blank.");
        }
        if trimmed.chars().count() > 150 {
            return Err("Ensure this field has no more than 150 characters.");
        }
        if !trimmed.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
            return Err(
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
            );
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password a user chose, never printed: `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Applies the password rules (API.md): at least 8 characters, not entirely numeric, not a
    /// common password, not close to the user's own names. Returns every broken rule.
    pub fn parse(raw: &str, user_inputs: &[&str]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let length = raw.chars().count();
        if length < 8 {
            problems.push("This password is too short. It must contain at least 8 characters.".to_owned());
        }
        if length > 128 {
            problems.push("Ensure this field has no more than 128 characters.".to_owned());
        }
        if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()) {
            problems.push("This password is entirely numeric.".to_owned());
        }
        let lowered = raw.to_lowercase();
        let similar = user_inputs
            .iter()
            .map(|input| input.trim().to_lowercase())
            .any(|input| input.chars().count() >= 3 && (lowered.contains(&input) || input.contains(&lowered)));
        if similar {
            problems.push("The password is too similar to your personal information.".to_owned());
        }
        if problems.is_empty() && length <= 128 {
            // zxcvbn knows the common-password lists and keyboard patterns; score 0 means
            // "guessable in under a thousand tries".
            let estimate = zxcvbn::zxcvbn(raw, user_inputs);
            if estimate.score() == zxcvbn::Score::Zero {
                problems.push("This password is too common.".to_owned());
            }
        }
        if problems.is_empty() { Ok(Self(raw.to_owned())) } else { Err(problems) }
    }

    /// A password that was not chosen under the rules (a login attempt, a generated password).
    pub fn unchecked(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+923001234567`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number written internationally (`+92 300 1234567`) or nationally in the
    /// configured default region, and normalizes it to E.164.
    pub fn parse(raw: &str, default_region: &str) -> Result<Self, &'static str> {
        const INVALID: &str = "Enter a valid phone number (international format, e.g. +923001234567).";
        let trimmed = raw.trim();
        if trimmed.len() > 32 {
            return Err(INVALID);
        }
        let region = default_region.parse::<phonenumber::country::Id>().ok();
        let parsed = phonenumber::parse(region, trimmed).map_err(|_| INVALID)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(INVALID);
        }
        Ok(Self(parsed.format().mode(phonenumber::Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Checks an e-mail address (empty is allowed: e-mail is optional).
pub fn validate_email(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.len() > 255 || !email_address::EmailAddress::is_valid(trimmed) {
        return Err("Enter a valid email address.");
    }
    Ok(trimmed.to_owned())
}

/// A generated password: `length` (at least 12) characters with at least one of each class
/// (upper, lower, digit, `!@#$%^&*`), from the thread's CSPRNG.
pub fn generate_password(length: usize) -> Password {
    use rand::{RngExt as _, seq::SliceRandom as _};
    const CLASSES: [&[u8]; 4] = [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnpqrstuvwxyz", b"23456789", b"!@#$%^&*"];
    let mut rng = rand::rng();
    let all: Vec<u8> = CLASSES.concat();
    let mut chars: Vec<u8> = CLASSES.iter().map(|class| class[rng.random_range(0..class.len())]).collect();
    while chars.len() < length.max(12) {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    Password(chars.into_iter().map(char::from).collect())
}

/// Who may do what with accounts: the one place these rules live.
pub mod policy {
    use super::Principal;

    /// A refusal, with the reason shown to the caller (403).
    #[derive(Debug, Clone, Copy)]
    pub struct Denied(pub &'static str);

    /// Admins list every user; anyone else sees only themselves.
    pub fn may_list_all_users(principal: &Principal) -> bool {
        principal.is_admin()
    }

    pub fn may_view_dashboard(principal: &Principal) -> bool {
        principal.is_admin()
    }

    /// Queue operations (statistics, re-queueing dead jobs) are the admins'.
    pub fn may_operate(principal: &Principal) -> bool {
        principal.is_admin()
    }

    pub fn require(allowed: bool, reason: &'static str) -> Result<(), Denied> {
        if allowed { Ok(()) } else { Err(Denied(reason)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_allow_django_characters_only() {
        assert!(Username::parse("ali.mehmood+1@x_y-z").is_ok());
        assert!(Username::parse("bad name").is_err());
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
    }

    #[test]
    fn password_rules_report_each_problem() {
        let problems = Password::parse("1234567", &[]).expect_err("short numeric");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(Password::parse("password", &[]).is_err());
        assert!(Password::parse("qwertyuiop", &[]).is_err());
        assert!(Password::parse("zainab1990x", &["zainab1990"]).is_err());
        assert!(Password::parse("Blue-Heron-Canal-42", &["patient1"]).is_ok());
    }

    #[test]
    fn password_debug_hides_the_secret() {
        let password = Password::unchecked("S3cret!pass");
        assert!(!format!("{password:?}").contains("S3cret"));
    }

    #[test]
    fn generated_passwords_hold_every_class_and_pass_the_rules() {
        for _ in 0..50 {
            let password = generate_password(16);
            let text = password.expose();
            assert_eq!(text.chars().count(), 16);
            assert!(text.chars().any(|c| c.is_ascii_uppercase()));
            assert!(text.chars().any(|c| c.is_ascii_lowercase()));
            assert!(text.chars().any(|c| c.is_ascii_digit()));
            assert!(text.chars().any(|c| "!@#$%^&*".contains(c)));
            assert!(Password::parse(text, &[]).is_ok(), "{text}");
        }
        assert_ne!(generate_password(16).expose(), generate_password(16).expose());
    }

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

    #[test]
    fn phone_numbers_normalize_to_e164() {
        assert_eq!(PhoneNumber::parse("+92 300 1234567", "PK").expect("valid").as_str(), "+923001234567");
        assert_eq!(PhoneNumber::parse("0300-1234567", "PK").expect("valid").as_str(), "+923001234567");
        assert_eq!(PhoneNumber::parse("+1 (415) 555-2671", "PK").expect("valid").as_str(), "+14155552671");
        assert!(PhoneNumber::parse("12", "PK").is_err());
        assert!(PhoneNumber::parse("not a number", "PK").is_err());
    }

    #[test]
    fn emails_are_optional_but_checked() {
        assert_eq!(validate_email("").expect("blank ok"), "");
        assert!(validate_email("someone@example.com").is_ok());
        assert!(validate_email("nope").is_err());
    }
}
