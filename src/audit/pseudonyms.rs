//! Keyed pseudonyms for values the trail must not store but should still correlate.

use hmac::Mac as _;

use crate::signing;

/// Keyed hashes of values that must not be stored but should still correlate: a username that
/// names no account (a password typed into the username field, as often as not). HMAC-SHA-256
/// with a key derived from `AUDIT_LOOKUP_KEY`: without the key, the trail cannot be reversed by
/// hashing guesses. Web processes write these, so the key is not `AUDIT_KEY`: a web process
/// holds no key that seals the chain.
pub struct Pseudonyms {
    key: [u8; 32],
}

impl Pseudonyms {
    pub fn new(server_secret: &secrecy::SecretString) -> Self {
        Self { key: signing::derive_key(server_secret, b"carehub audit pseudonym key v1") }
    }

    /// The pseudonym of a typed username (case-insensitive, as usernames are): 32 hex digits.
    pub fn username(&self, typed: &str) -> String {
        let mut mac = signing::mac(&self.key);
        mac.update(typed.trim().to_lowercase().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}
