//! The console's second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step
//! of clock drift either way) and ten one-time recovery codes.
//!
//! A secret is stored sealed (AES-256-GCM, the user's id as associated data, so a sealed secret
//! copied to another account does not open) under a key derived from `OTP_SECRET`; a recovery
//! code only as an HMAC under another derived key. Replays of a code are refused by the caller
//! storing the step each accepted code belonged to (`repo::factors::accept_step`).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::SecretString;
use totp_rs::{Builder, Totp};

use crate::{ids::UserId, signing};

/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
const SECRET_LEN: usize = 20;
/// Recovery codes given at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (base32, without look-alikes being a problem: case-insensitive).
const RECOVERY_LEN: usize = 10;
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The keys of the console's second factor, derived from `OTP_SECRET`.
pub struct FactorKeys {
    sealing: LessSafeKey,
    recovery: [u8; 32],
}

impl FactorKeys {
    pub fn new(secret: &SecretString) -> anyhow::Result<Self> {
        let sealing = signing::derive_key(secret, b"carehub console totp sealing v1");
        let key = UnboundKey::new(&AES_256_GCM, &sealing).map_err(|_| anyhow::anyhow!("AES-256-GCM key"))?;
        Ok(Self {
            sealing: LessSafeKey::new(key),
            recovery: signing::derive_key(secret, b"carehub console recovery codes v1"),
        })
    }

    /// `nonce || ciphertext || tag` of `secret`, bound to `user`.
    pub fn seal(&self, user: UserId, secret: &[u8]) -> anyhow::Result<Vec<u8>> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut sealed = secret.to_vec();
        self.sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(user.get().to_be_bytes()),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("sealing a TOTP secret failed"))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The secret `sealed` holds for `user`; `None` when it was sealed for someone else, under
    /// another key, or altered.
    pub fn open(&self, user: UserId, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self.sealing.open_in_place(nonce, Aad::from(user.get().to_be_bytes()), &mut buffer).ok()?;
        Some(plain.to_vec())
    }

    /// The stored form of a recovery code (as typed: case, spaces and dashes do not matter).
    pub fn recovery_hash(&self, code: &str) -> Vec<u8> {
        use hmac::Mac as _;
        let mut mac = signing::mac(&self.recovery);
        mac.update(normalize_recovery(code).as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    rand::random::<[u8; SECRET_LEN]>().to_vec()
}

fn totp(secret: Vec<u8>) -> Option<Totp> {
    Builder::new().with_secret(secret).build().ok()
}

/// The secret as people type it into an authenticator app (base32, no padding).
pub fn secret_base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// The step (30-second window since the epoch) whose code `code` is, if it is one of the current
/// step or the step on either side; `None` for anything else (wrong, malformed, too old).
pub fn matching_step(secret: &[u8], code: &str, now_unix: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret.to_vec())?.check(&code, now_unix)
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_uri(username: &str, secret: &[u8]) -> String {
    let label = format!("CareHub console:{username}");
    let mut uri = String::from("otpauth://totp/");
    uri.push_str(&url::form_urlencoded::byte_serialize(label.as_bytes()).collect::<String>().replace('+', "%20"));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("secret", &secret_base32(secret))
        .append_pair("issuer", "CareHub console")
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", "6")
        .append_pair("period", "30")
        .finish();
    format!("{uri}?{query}")
}

/// The QR code of `uri` as an inline SVG element (no XML prolog), labelled for screen readers.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build();
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen("<svg ", "<svg role=\"img\" aria-label=\"QR code of the authenticator secret\" ", 1))
}

/// Ten new recovery codes, as shown once (`abcde-23456`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_LEN)
                .map(|_| RECOVERY_ALPHABET[rand::random_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &raw[..RECOVERY_LEN / 2], &raw[RECOVERY_LEN / 2..])
        })
        .collect()
}

fn normalize_recovery(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Whether `typed` looks like a recovery code rather than a TOTP code.
pub fn is_recovery_code(typed: &str) -> bool {
    normalize_recovery(typed).len() == RECOVERY_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> FactorKeys {
        FactorKeys::new(&SecretString::from("k".repeat(40))).expect("keys")
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_user_and_key() {
        let secret = new_secret();
        let sealed = keys().seal(UserId::from(7), &secret).expect("seal");
        assert_eq!(keys().open(UserId::from(7), &sealed), Some(secret.clone()));
        assert_eq!(keys().open(UserId::from(8), &sealed), None);
        let other = FactorKeys::new(&SecretString::from("j".repeat(40))).expect("keys");
        assert_eq!(other.open(UserId::from(7), &sealed), None);
        let mut altered = sealed.clone();
        altered[20] ^= 1;
        assert_eq!(keys().open(UserId::from(7), &altered), None);
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()));
    }

    #[test]
    fn codes_match_their_step_and_its_neighbours_only() {
        // RFC 6238 appendix B, SHA-1: secret "12345678901234567890", T = 59 s gives 94287082
        // (8 digits); its 6-digit form is 287082.
        let secret = b"12345678901234567890".to_vec();
        assert_eq!(matching_step(&secret, "287082", 59), Some(1));
        assert_eq!(matching_step(&secret, "287 082", 59 + 30), Some(1));
        assert_eq!(matching_step(&secret, "287082", 59 + 90), None);
        assert_eq!(matching_step(&secret, "28708", 59), None);
        assert_eq!(matching_step(&secret, "abcdef", 59), None);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_hash_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<std::collections::BTreeSet<_>>().len(), 10);
        let keys = keys();
        assert_eq!(keys.recovery_hash(&codes[0]), keys.recovery_hash(&codes[0].to_uppercase().replace('-', " ")));
        assert_ne!(keys.recovery_hash(&codes[0]), keys.recovery_hash(&codes[1]));
        assert!(is_recovery_code(&codes[0]));
        assert!(!is_recovery_code("123456"));
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_of_the_otpauth_address() {
        let uri = otpauth_uri("root admin", &new_secret());
        assert!(uri.starts_with("otpauth://totp/CareHub%20console%3Aroot%20admin?secret="), "{uri}");
        let svg = qr_svg(&uri).expect("svg");
        assert!(svg.starts_with("<svg role=\"img\""));
        assert!(!svg.contains("<?xml"));
    }
}
