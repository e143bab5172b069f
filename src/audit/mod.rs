//! The audit trail: who did what to whom, from where, in which request. Append-only (a trigger
//! refuses UPDATE, DELETE and TRUNCATE, except the one-time sealing of a row) and chained off the
//! hot path: [`record`] inserts a row unsealed in the caller's transaction, taking no lock shared
//! with other requests; the sealer ([`seal`], run by the worker process) gives committed rows
//! their position and `hash = HMAC-SHA-256(AUDIT_KEY, previous hash || canonical row)` in
//! batches and publishes each chain head; [`verify`] finds an edited, removed or reordered row,
//! rows left unsealed, and whether a head witnessed earlier is still in the chain.

pub mod chain;
pub mod repo;
pub mod routes;
pub mod seal;
pub mod verify;

use chrono::Utc;
use serde_json::Value;
use sha2::Sha256;
use sqlx::{PgConnection, PgPool};

pub use self::{
    chain::{AuditKey, ChainHead, WitnessedHead},
    seal::{SealerSettings, seal_pending},
    verify::{ChainReport, HeadCheck, check_head, unsealed_older_than, verify_chain},
};
use crate::accounts::model::Principal;

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
        use hmac::{KeyInit as _, Mac as _};
        use secrecy::ExposeSecret as _;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(server_secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"carehub audit pseudonym key v1");
        Self { key: mac.finalize().into_bytes().into() }
    }

    /// The pseudonym of a typed username (case-insensitive, as usernames are): 32 hex digits.
    pub fn username(&self, typed: &str) -> String {
        use hmac::{KeyInit as _, Mac as _};
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(typed.trim().to_lowercase().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// Where a request came from, for the audit row.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// One thing worth recording.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: &'static str,
    pub actor_id: Option<i64>,
    pub actor_type: Option<&'static str>,
    pub hospital_id: Option<i64>,
    pub target_type: Option<&'static str>,
    pub target_id: Option<String>,
    pub details: Value,
}

impl AuditEvent {
    pub fn new(action: &'static str) -> Self {
        Self {
            action,
            actor_id: None,
            actor_type: None,
            hospital_id: None,
            target_type: None,
            target_id: None,
            details: Value::Object(serde_json::Map::new()),
        }
    }

    #[must_use]
    pub fn by(mut self, principal: &Principal) -> Self {
        self.actor_id = Some(principal.user_id.0);
        self.actor_type = Some(principal.user_type.as_str());
        self.hospital_id = principal.hospital_id.map(crate::ids::HospitalId::get);
        self
    }

    #[must_use]
    pub fn target(mut self, target_type: &'static str, target_id: impl ToString) -> Self {
        self.target_type = Some(target_type);
        self.target_id = Some(target_id.to_string());
        self
    }

    #[must_use]
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// The columns of an audit row, in [`record`]'s order, for a statement that writes its audit row
/// beside the change it records (`insert into audit_log ({COLUMNS}) select … from changed` in a
/// data-modifying CTE): one round trip, one implicit transaction, no lock held between them.
pub const COLUMNS: &str = "occurred_at, actor_id, actor_type, hospital_id, action, target_type, target_id, ip, user_agent, request_id, details";

/// Appends `event` to the trail inside the caller's transaction, so that the row commits or rolls
/// back with the change it records. The row is inserted unsealed and takes no lock: the sealer
/// chains it once it has committed (see [`seal`]).
pub async fn record(conn: &mut PgConnection, meta: &RequestMeta, event: AuditEvent) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into audit_log ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )))
    .bind(Utc::now())
    .bind(event.actor_id)
    .bind(event.actor_type)
    .bind(event.hospital_id)
    .bind(event.action)
    .bind(event.target_type)
    .bind(event.target_id.as_deref())
    .bind(meta.ip.as_deref())
    .bind(meta.user_agent.as_deref())
    .bind(meta.request_id.as_deref())
    .bind(&event.details)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records `event` in a transaction of its own (for events with no state change, such as a
/// failed login).
pub async fn record_alone(pool: &PgPool, meta: &RequestMeta, event: AuditEvent) -> anyhow::Result<()> {
    // One INSERT commits on its own: no transaction block needed.
    record(&mut *pool.acquire().await?, meta, event).await
}
