//! A one-time code itself: its two lengths, how it is made (the OS's CSPRNG), stored (a keyed
//! hash only, [`OtpKey`]), compared (constant time) and refused ([`OtpRefusal`]), and the bound
//! on guessing a shared one ([`share_guess_bound`]).

use hmac::Mac as _;
use secrecy::SecretString;

use crate::{config::AccessSettings, signing};

/// Digits of a code a doctor asks for, sent to the patient by SMS: only that doctor may try it,
/// and the 5th wrong try kills it (5 in 10^6).
pub const SMS_CODE_DIGITS: u32 = 6;

/// Digits of a code a patient makes to share: any doctor may try it, and no doctor's wrong tries
/// kill it (that would let any doctor kill it), so it is long enough to hold against every
/// hospital's whole budget of wrong tries over its life ([`share_guess_bound`], README).
pub const SHARE_CODE_DIGITS: u32 = 10;

/// A code as typed by a doctor: six digits (SMS) or ten (shared). Never `Debug`-printed.
pub struct OtpCode(String);

impl OtpCode {
    /// Six or ten ASCII digits (surrounding spaces ignored), or nothing.
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        let digits = u32::try_from(trimmed.len()).unwrap_or(0);
        ((digits == SMS_CODE_DIGITS || digits == SHARE_CODE_DIGITS) && trimmed.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(trimmed.to_owned()))
    }

    /// A fresh SMS code from the operating system's CSPRNG, uniform over 000000..=999999.
    pub fn generate() -> Self {
        Self::random(SMS_CODE_DIGITS)
    }

    /// A fresh code for a patient to share, uniform over ten digits.
    pub fn generate_shared() -> Self {
        Self::random(SHARE_CODE_DIGITS)
    }

    fn random(digits: u32) -> Self {
        use rand::RngExt as _;
        let n: u64 = rand::rng().random_range(0..10_u64.pow(digits));
        Self(format!("{n:0width$}", width = digits as usize))
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

    /// The MAC over `code` of request `request_id`, before its result is taken or compared.
    fn mac_of_code(&self, request_id: i64, code: &OtpCode) -> signing::HmacSha256 {
        let mut mac = signing::mac_of(&self.0);
        mac.update(&request_id.to_be_bytes());
        mac.update(code.0.as_bytes());
        mac
    }

    /// What is stored for `code` of request `request_id`.
    pub fn seal(&self, request_id: i64, code: &OtpCode) -> Vec<u8> {
        self.mac_of_code(request_id, code).finalize().into_bytes().to_vec()
    }

    /// The stored stand-in for what a code request typed to name a patient (`id:42`,
    /// `phone:+923001234567`) when no patient has it: a keyed hash, so the table of such requests
    /// holds no phone number. (Its own prefix keeps it apart from [`Self::seal`]'s inputs.)
    pub fn subject(&self, typed: &str) -> [u8; 32] {
        let mut mac = signing::mac_of(&self.0);
        mac.update(b"carehub otp subject v1:");
        mac.update(typed.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `code` is the one stored as `sealed` for `request_id` (constant time).
    pub fn matches(&self, request_id: i64, code: &OtpCode, sealed: &[u8]) -> bool {
        self.mac_of_code(request_id, code).verify_slice(sealed).is_ok()
    }
}

/// The largest chance that wrong tries find a patient's shared code over its whole life, whatever
/// the number of doctors, if there are at most `hospitals` approved hospitals: each hospital's
/// doctors together fail at most `otp_failures_per_hospital` times per
/// `otp_failure_window_minutes` (a sliding window, so at most that many, times the windows the
/// code's life can touch, within its `otp_ttl_minutes`), all of them spend it all on this one
/// patient, and each wrong try is compared with every shared code of the patient live at once
/// (at most `otp_share_per_patient` per `otp_share_window_minutes`). A union bound over
/// `10^SHARE_CODE_DIGITS` equally likely codes; the README states the arithmetic.
#[allow(clippy::cast_precision_loss)] // small counts, exact in an f64
pub fn share_guess_bound(settings: &AccessSettings, hospitals: u64) -> f64 {
    let windows = |length: i64, window: i64| (length / window.max(1) + 1) as f64;
    let tries_per_hospital = settings.otp_failures_per_hospital as f64
        * windows(settings.otp_ttl_minutes, settings.otp_failure_window_minutes);
    let live_shared_codes =
        settings.otp_share_per_patient as f64 * windows(settings.otp_ttl_minutes, settings.otp_share_window_minutes);
    hospitals as f64 * tries_per_hospital * live_shared_codes / 10_f64.powi(SHARE_CODE_DIGITS as i32)
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
    fn sms_codes_are_six_digits_and_shared_codes_ten() {
        assert!(OtpCode::parse(" 012345 ").is_some());
        assert!(OtpCode::parse("0123456789").is_some());
        for bad in ["12345", "1234567", "123456789", "12345678901", "12a456", "１２３４５６", ""] {
            assert!(OtpCode::parse(bad).is_none(), "{bad}");
        }
        for _ in 0..100 {
            let code = OtpCode::generate();
            assert_eq!(code.reveal().len(), 6);
            assert!(OtpCode::parse(code.reveal()).is_some());
            let shared = OtpCode::generate_shared();
            assert_eq!(shared.reveal().len(), 10);
            assert!(OtpCode::parse(shared.reveal()).is_some());
        }
        assert_eq!(format!("{:?}", OtpCode::generate()), "OtpCode(******)");
    }

    #[test]
    fn guessing_any_shared_code_over_its_life_stays_below_one_in_ten_thousand() {
        // The default settings (the tests' configuration does not change them).
        let settings = crate::config::Settings::for_tests().expect("settings").access;
        // 10 000 hospitals × 30 wrong tries each within a code's 10 minutes × 3 live shared codes
        // / 10^10 codes = 9 × 10^-5.
        let bound = share_guess_bound(&settings, 10_000);
        assert!((bound - 9e-5).abs() < 1e-12, "{bound}");
        assert!(bound < 1e-4);
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
