//! The audit trail's types: what a request tells the trail ([`RequestMeta`]), one thing worth
//! recording ([`AuditEvent`]), a row as operators read it ([`AuditLogEntry`]) and which rows a
//! reader asks for ([`LogFilter`]); how the sealer runs and what a round did.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{chain::AuditKey, head::ChainHead};
use crate::{
    accounts::model::Principal,
    ids::{HospitalId, UserId},
};

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
    pub actor_id: Option<UserId>,
    pub actor_type: Option<&'static str>,
    pub hospital_id: Option<HospitalId>,
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
        self.actor_id = Some(principal.user_id);
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

/// One audit row as operators read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    /// The acting user's id (null: nobody signed in, e.g. a failed login).
    #[schema(value_type = Option<i64>)]
    pub actor: Option<UserId>,
    pub actor_username: Option<String>,
    pub actor_type: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub hospital: Option<HospitalId>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
}

/// Which rows to list; `hospital` scopes a hospital's reading to its own rows.
pub struct LogFilter<'a> {
    pub hospital: Option<HospitalId>,
    pub actor: Option<UserId>,
    pub action: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Rows about this kind of object (`hospital`, `user`, ...); with `target_id`, about that
    /// one. A hospital's reading never matches the rows whose target it is not shown.
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
}

/// How the sealer runs (built by the `carehub` binary from its configuration).
#[derive(Debug, Clone)]
pub struct SealerSettings {
    pub key: AuditKey,
    /// Pause between rounds that found nothing more to seal.
    pub interval: Duration,
    /// Most rows sealed per transaction.
    pub batch: i64,
}

/// What one sealing round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// Another sealer holds the lock.
    Busy,
    /// Nothing committed is waiting.
    Idle,
    /// Sealed `rows` rows; `head` is the new last one.
    Sealed { rows: usize, head: ChainHead },
}
