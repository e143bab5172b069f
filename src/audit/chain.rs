//! The chain's arithmetic, shared by the sealer and the verifier: a row as stored, its canonical
//! form, the keyed hash that seals it (and the plain SHA-256 of rows chained before sealing
//! existed), and the chain head that the sealer publishes.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use hmac::{KeyInit as _, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The hash the first row points back to.
pub const GENESIS: [u8; 32] = [0; 32];

/// `AUDIT_KEY`, ready to seal with. Only the sealer (`work`, `dev`) and `audit-verify` load it
/// (see [`crate::config::AuditKeyUse`]).
#[derive(Clone)]
pub struct AuditKey {
    mac: hmac::Hmac<Sha256>,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn new(secret: &SecretString) -> Self {
        let mac = hmac::Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        Self { mac }
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

/// The columns of [`StoredRow`], in a `select`.
macro_rules! row_columns {
    () => {
        "id, occurred_at, actor_id, actor_type, hospital_id, action, target_type, target_id, ip, user_agent, \
         request_id, details, seq, prev_hash, hash, legacy_prev_hash, legacy_hash"
    };
}
pub(crate) use row_columns;

/// An audit row as read back from the database: what the sealer hashes and the verifier
/// recomputes, so both see the same bytes.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_type: Option<String>,
    pub hospital_id: Option<i64>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: Value,
    pub seq: Option<i64>,
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Option<Vec<u8>>,
    pub legacy_prev_hash: Option<Vec<u8>>,
    pub legacy_hash: Option<Vec<u8>>,
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
            actor_id: self.actor_id,
            actor_type: self.actor_type.as_deref(),
            hospital_id: self.hospital_id,
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

/// The last sealed row: its position and hash. Published after each sealed batch so that a
/// system outside the database can witness it, and checked later with `audit-verify --head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub position: i64,
    pub hash: Vec<u8>,
}

impl ChainHead {
    pub fn hash_hex(&self) -> String {
        hex::encode(&self.hash)
    }

    /// The hash's first 48 bits as a number: what fits a metric (an f64 holds it exactly).
    pub fn hash_prefix(&self) -> u64 {
        self.hash.iter().take(6).fold(0, |acc, byte| (acc << 8) | u64::from(*byte))
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.position, self.hash_hex())
    }
}

/// A head as a witness wrote it down: `POSITION:HASH`, the hash in hex, whole (64 digits, from
/// the log line) or its first 12 digits or more (the metric's 48 bits, `%012x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedHead {
    pub position: i64,
    pub hash_hex: String,
}

impl FromStr for WitnessedHead {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (position, hash) =
            text.trim().split_once(':').ok_or_else(|| "expected POSITION:HASH, e.g. 42:9f86d081884c".to_owned())?;
        let position: i64 = position.parse().map_err(|_| format!("position \"{position}\" is not a number"))?;
        if position < 1 {
            return Err("positions start at 1".into());
        }
        let hash_hex = hash.to_ascii_lowercase();
        if !(12..=64).contains(&hash_hex.len()) || !hash_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the hash must be 12 to 64 hex digits".into());
        }
        Ok(Self { position, hash_hex })
    }
}

impl fmt::Display for WitnessedHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.position, self.hash_hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witnessed_head_parses_whole_or_as_the_metric_prefix() {
        let head = ChainHead { position: 7, hash: (0u8..32).collect() };
        let whole: WitnessedHead = head.to_string().parse().expect("whole hash");
        assert_eq!(whole.position, 7);
        assert_eq!(whole.hash_hex, head.hash_hex());
        let prefix: WitnessedHead = format!("7:{:012x}", head.hash_prefix()).parse().expect("prefix");
        assert!(head.hash_hex().starts_with(&prefix.hash_hex));

        for bad in ["7", "x:00112233aabb", "0:00112233aabb", "7:0011", "7:zz112233aabbcc"] {
            assert!(bad.parse::<WitnessedHead>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_keyed_hash_depends_on_the_key_and_the_legacy_one_does_not() {
        let a = AuditKey::new(&SecretString::from("a".repeat(32)));
        let b = AuditKey::new(&SecretString::from("b".repeat(32)));
        assert_ne!(a.seal(&GENESIS, b"row"), b.seal(&GENESIS, b"row"));
        assert_eq!(a.seal(&GENESIS, b"row"), a.seal(&GENESIS, b"row"));
        assert_eq!(legacy_hash(&GENESIS, b"row").len(), 32);
    }
}
