//! The audit trail: who did what to whom, from where, in which request. Append-only (a trigger
//! refuses UPDATE, DELETE and TRUNCATE) and hash-chained: each row's `hash` covers the previous
//! row's hash and the row's own canonical form, so `verify_chain` finds any edited, deleted or
//! reordered row.

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};

use crate::accounts::model::Principal;

/// Serializes appends to the chain across every process (an arbitrary, fixed advisory lock key).
const CHAIN_LOCK_KEY: i64 = 0x000C_A2E4_AB0A_0D17;

/// The hash the first row points back to.
const GENESIS: [u8; 32] = [0; 32];

/// Keyed hashes of values that must not be stored but should still correlate: a username that
/// names no account (a password typed into the username field, as often as not). HMAC-SHA-256
/// with a key derived from the server secret, so the trail cannot be reversed by hashing guesses.
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
        self.hospital_id = principal.hospital_id;
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

/// The fields a row's hash covers, in a fixed order.
#[derive(Serialize)]
struct Canonical<'a> {
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

fn row_hash(prev_hash: &[u8], canonical: &Canonical<'_>) -> anyhow::Result<Vec<u8>> {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(serde_json::to_vec(canonical)?);
    Ok(hasher.finalize().to_vec())
}

fn timestamp_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Appends `event` to the chain inside the caller's transaction (so that the row commits or
/// rolls back with the change it records). Holds the chain lock until that transaction ends.
pub async fn record(conn: &mut PgConnection, meta: &RequestMeta, event: AuditEvent) -> anyhow::Result<()> {
    sqlx::query("select pg_advisory_xact_lock($1)").bind(CHAIN_LOCK_KEY).execute(&mut *conn).await?;
    let prev_hash: Vec<u8> = sqlx::query_scalar("select hash from audit_log order by id desc limit 1")
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_else(|| GENESIS.to_vec());
    let id: i64 =
        sqlx::query_scalar("select nextval(pg_get_serial_sequence('audit_log', 'id'))").fetch_one(&mut *conn).await?;
    // Postgres keeps microseconds: hash exactly what will be read back.
    let occurred_at = Utc::now().trunc_subsecs(6);
    let canonical = Canonical {
        id,
        occurred_at: timestamp_text(occurred_at),
        actor_id: event.actor_id,
        actor_type: event.actor_type,
        hospital_id: event.hospital_id,
        action: event.action,
        target_type: event.target_type,
        target_id: event.target_id.as_deref(),
        ip: meta.ip.as_deref(),
        user_agent: meta.user_agent.as_deref(),
        request_id: meta.request_id.as_deref(),
        details: &event.details,
    };
    let hash = row_hash(&prev_hash, &canonical)?;
    sqlx::query(
        "insert into audit_log (id, occurred_at, actor_id, actor_type, hospital_id, action, target_type, \
         target_id, ip, user_agent, request_id, details, prev_hash, hash) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id)
    .bind(occurred_at)
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
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records `event` in a transaction of its own (for events with no state change, such as a
/// failed login).
pub async fn record_alone(pool: &PgPool, meta: &RequestMeta, event: AuditEvent) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(())
}

/// What `verify_chain` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every row's hash is right and links to the row before it.
    Intact { rows: u64 },
    /// The first row whose link or hash is wrong.
    Broken { row_id: i64, rows_checked: u64, reason: &'static str },
}

/// Recomputes the whole chain, oldest row first, streaming (constant memory).
pub async fn verify_chain(pool: &PgPool) -> anyhow::Result<ChainReport> {
    use futures::TryStreamExt as _;

    let mut rows = sqlx::query(
        "select id, occurred_at, actor_id, actor_type, hospital_id, action, target_type, target_id, ip, \
         user_agent, request_id, details, prev_hash, hash from audit_log order by id",
    )
    .fetch(pool);
    let mut expected_prev = GENESIS.to_vec();
    let mut checked = 0u64;
    while let Some(row) = rows.try_next().await? {
        let id: i64 = row.try_get("id")?;
        let prev_hash: Vec<u8> = row.try_get("prev_hash")?;
        let hash: Vec<u8> = row.try_get("hash")?;
        if prev_hash != expected_prev {
            return Ok(ChainReport::Broken {
                row_id: id,
                rows_checked: checked,
                reason: "prev_hash does not match the previous row (a row was removed or reordered)",
            });
        }
        let details: Value = row.try_get("details")?;
        let actor_type: Option<String> = row.try_get("actor_type")?;
        let action: String = row.try_get("action")?;
        let target_type: Option<String> = row.try_get("target_type")?;
        let target_id: Option<String> = row.try_get("target_id")?;
        let ip: Option<String> = row.try_get("ip")?;
        let user_agent: Option<String> = row.try_get("user_agent")?;
        let request_id: Option<String> = row.try_get("request_id")?;
        let canonical = Canonical {
            id,
            occurred_at: timestamp_text(row.try_get("occurred_at")?),
            actor_id: row.try_get("actor_id")?,
            actor_type: actor_type.as_deref(),
            hospital_id: row.try_get("hospital_id")?,
            action: &action,
            target_type: target_type.as_deref(),
            target_id: target_id.as_deref(),
            ip: ip.as_deref(),
            user_agent: user_agent.as_deref(),
            request_id: request_id.as_deref(),
            details: &details,
        };
        if row_hash(&prev_hash, &canonical)? != hash {
            return Ok(ChainReport::Broken {
                row_id: id,
                rows_checked: checked,
                reason: "the row's content does not match its hash (the row was edited)",
            });
        }
        expected_prev = hash;
        checked += 1;
    }
    Ok(ChainReport::Intact { rows: checked })
}
