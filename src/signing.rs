//! Keyed hashes (HMAC-SHA-256), the one place a key becomes a MAC. Download links, device
//! cookies, one-time codes, audit pseudonyms and the audit chain each sign under a key of their
//! own, derived from a server secret and a label, so that no signature made for one purpose is
//! valid for another.

use hmac::{KeyInit as _, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

pub type HmacSha256 = hmac::Hmac<Sha256>;

/// A MAC keyed by `key`, ready for `update`.
pub fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts a key of any length (longer ones are hashed first): this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes a key of any length"),
    }
}

/// `HMAC-SHA-256(secret, label)`: a key of its own for one purpose.
pub fn derive_key(secret: &SecretString, label: &[u8]) -> [u8; 32] {
    let mut mac = mac(secret.expose_secret().as_bytes());
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// A MAC keyed directly by a secret (for keys that are not derived: the audit key, the OTP key).
pub fn mac_of(secret: &SecretString) -> HmacSha256 {
    mac(secret.expose_secret().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_label_and_match_a_plain_hmac() {
        let secret = SecretString::from("s3cret".to_owned());
        let a = derive_key(&secret, b"a");
        assert_ne!(a, derive_key(&secret, b"b"));
        let mut plain = mac(b"s3cret");
        plain.update(b"a");
        assert_eq!(a.to_vec(), plain.finalize().into_bytes().to_vec());
    }
}
