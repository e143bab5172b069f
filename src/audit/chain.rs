//! The chain's arithmetic, shared by the sealer and the verifier: an audit row as stored, its
//! canonical form, the keyed hash that seals it, and the plain SHA-256 of rows chained before
//! sealing existed.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::Mac as _;
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::{
    ids::{HospitalId, UserId},
    signing::{self, HmacSha256},
};

/// The hash the first row points back to.
pub const GENESIS: [u8; 32] = [0; 32];

/// `AUDIT_KEY`, ready to seal with. Only the sealer (`work`, `dev`) and `audit-verify` load it
/// (see [`crate::config::AuditKeyUse`]).
#[derive(Clone)]
pub struct AuditKey {
    mac: HmacSha256,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn new(secret: &SecretString) -> Self {
        Self { mac: signing::mac_of(secret) }
    }

    /// HMAC-SHA-256(AUDIT_KEY, prev_hash || canonical row).
    pub(crate) fn seal(&self, prev_hash: &[u8], canonical: &[u8]) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(prev_hash);
        mac.update(canonical);
        mac.finalize().into_bytes().to_vec()
    }
}

/// SHA-256(prev_hash || canonical row): how rows were chained before sealing existed.
pub(crate) fn legacy_hash(prev_hash: &[u8], canonical: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical);
    hasher.finalize().to_vec()
}

/// An audit row as read back from the database: what the sealer hashes and the verifier
/// recomputes, so both see the same bytes.
#[derive(Debug)]
pub(crate) struct StoredRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    pub actor_type: Option<String>,
    pub hospital_id: Option<HospitalId>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: Value,
    pub legacy_prev_hash: Option<Vec<u8>>,
    pub legacy_hash: Option<Vec<u8>>,
}

/// A sealed row with its seal (from `audit_seals`), in the chain's order.
#[derive(Debug)]
pub(crate) struct SealedRow {
    pub seq: i64,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub row: StoredRow,
}

/// The fields a row's hash covers, in a fixed order. `seq` is covered by the keyed hash (a row
/// moved to another position no longer matches); the legacy form had no position and omits it.
#[derive(Serialize)]
struct Canonical<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<i64>,
    id: i64,
    occurred_at: String,
    actor_id: Option<i64>,
    actor_type: Option<&'a str>,
    hospital_id: Option<i64>,
    action: &'a str,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    request_id: Option<&'a str>,
    details: &'a Value,
}

impl StoredRow {
    /// The canonical JSON of the row at position `seq` (`None`: the legacy form).
    pub fn canonical(&self, seq: Option<i64>) -> anyhow::Result<Vec<u8>> {
        Ok(serde_json::to_vec(&Canonical {
            seq,
            id: self.id,
            occurred_at: self.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            actor_id: self.actor_id.map(UserId::get),
            actor_type: self.actor_type.as_deref(),
            hospital_id: self.hospital_id.map(HospitalId::get),
            action: &self.action,
            target_type: self.target_type.as_deref(),
            target_id: self.target_id.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            request_id: self.request_id.as_deref(),
            details: &self.details,
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyed_hash_depends_on_the_key_and_the_legacy_one_does_not() {
        let a = AuditKey::new(&SecretString::from("a".repeat(32)));
        let b = AuditKey::new(&SecretString::from("b".repeat(32)));
        assert_ne!(a.seal(&GENESIS, b"row"), b.seal(&GENESIS, b"row"));
        assert_eq!(a.seal(&GENESIS, b"row"), a.seal(&GENESIS, b"row"));
        assert_eq!(legacy_hash(&GENESIS, b"row").len(), 32);
    }
}
