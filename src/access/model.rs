//! One-time codes: how they are made, stored (a keyed hash only), compared and shown.

use chrono::{DateTime, Utc};
use hmac::{KeyInit as _, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

/// A six-digit code as typed by a doctor. Never `Debug`-printed.
pub struct OtpCode(String);

impl OtpCode {
    /// Six ASCII digits (surrounding spaces ignored), or nothing.
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        (trimmed.len() == 6 && trimmed.bytes().all(|b| b.is_ascii_digit())).then(|| Self(trimmed.to_owned()))
    }

    /// A fresh code from the operating system's CSPRNG, uniform over 000000..=999999.
    pub fn generate() -> Self {
        use rand::RngExt as _;
        let n: u32 = rand::rng().random_range(0..1_000_000);
        Self(format!("{n:06}"))
    }

    /// The code, for the one place it goes: the SMS to the patient, or the patient's own screen.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

/// The key codes are stored under: HMAC-SHA-256 keyed by `OTP_SECRET` over the request id and the
/// code, so a stolen table cannot be reversed by hashing the 10^6 possible codes.
#[derive(Clone)]
pub struct OtpKey(SecretString);

impl OtpKey {
    pub fn new(secret: &SecretString) -> Self {
        Self(secret.clone())
    }

    fn mac(&self) -> hmac::Hmac<Sha256> {
        hmac::Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()).expect("HMAC takes a key of any length")
    }

    /// What is stored for `code` of request `request_id`.
    pub fn seal(&self, request_id: i64, code: &OtpCode) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(&request_id.to_be_bytes());
        mac.update(code.0.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The stored stand-in for what a code request typed to name a patient (`id:42`,
    /// `phone:+923001234567`) when no patient has it: a keyed hash, so the table of such requests
    /// holds no phone number. (Its own prefix keeps it apart from [`Self::seal`]'s inputs.)
    pub fn subject(&self, typed: &str) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(b"carehub otp subject v1:");
        mac.update(typed.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `code` is the one stored as `sealed` for `request_id` (constant time).
    pub fn matches(&self, request_id: i64, code: &OtpCode, sealed: &[u8]) -> bool {
        let mut mac = self.mac();
        mac.update(&request_id.to_be_bytes());
        mac.update(code.0.as_bytes());
        mac.verify_slice(sealed).is_ok()
    }
}

/// A phone number with all but its country code and last four digits hidden, behind a fixed
/// run of stars that does not tell the number's length: `+92*******4567`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(7);
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}*******{tail}")
}

/// One access grant, as its patient sees it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Grant {
    pub id: i64,
    /// The doctor's profile id.
    pub doctor: i64,
    pub doctor_name: String,
    pub hospital: i64,
    pub hospital_name: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Not revoked and not expired: the doctor can read the records now.
    pub is_active: bool,
}

/// Why a code was not accepted (each a 400 with its own `code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpRefusal {
    /// `otp_invalid`: wrong code (or none was asked for by this doctor).
    Invalid,
    /// `otp_expired`: the right code, too late.
    Expired,
    /// `otp_used`: the right code, already redeemed.
    Used,
    /// `otp_locked`: too many wrong tries killed the code.
    Locked,
}

impl OtpRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "otp_invalid",
            Self::Expired => "otp_expired",
            Self::Used => "otp_used",
            Self::Locked => "otp_locked",
        }
    }

    pub fn detail(self) -> &'static str {
        match self {
            Self::Invalid => "Invalid code.",
            Self::Expired => "This code has expired; ask for a new one.",
            Self::Used => "This code has already been used; ask for a new one.",
            Self::Locked => "Too many wrong tries: this code no longer works; ask for a new one.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked_but_for_the_country_code_and_last_four_digits() {
        assert_eq!(mask_phone("+923001234567"), "+92*******4567");
        assert_eq!(mask_phone("+15005550006"), "+15*******0006");
        assert_eq!(mask_phone("123"), "*******");
        assert_eq!(mask_phone(""), "*******");
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(OtpCode::parse(" 012345 ").is_some());
        for bad in ["12345", "1234567", "12a456", "１２３４５６", ""] {
            assert!(OtpCode::parse(bad).is_none(), "{bad}");
        }
        for _ in 0..100 {
            let code = OtpCode::generate();
            assert!(OtpCode::parse(code.reveal()).is_some());
        }
        assert_eq!(format!("{:?}", OtpCode::generate()), "OtpCode(******)");
    }

    #[test]
    fn a_sealed_code_matches_only_itself_under_its_request_and_key() {
        let key = OtpKey::new(&SecretString::from("k".repeat(40)));
        let code = OtpCode::parse("424242").expect("code");
        let sealed = key.seal(7, &code);
        assert_eq!(sealed.len(), 32);
        assert!(key.matches(7, &code, &sealed));
        assert!(!key.matches(8, &code, &sealed), "bound to its request");
        assert!(!key.matches(7, &OtpCode::parse("424243").expect("code"), &sealed));
        let other = OtpKey::new(&SecretString::from("x".repeat(40)));
        assert!(!other.matches(7, &code, &sealed), "bound to the key");
    }
}
