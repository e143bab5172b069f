//! The audit page's own reads: one row with everything it holds and its seal, the time of the
//! chain head's row, and the account an actor filter names. The list itself is the audit
//! context's (`audit::repo::list`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{HospitalId, UserId};

/// One audit row, every column, with its seal when it has one.
#[derive(Debug, Clone)]
pub struct FullRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    pub actor: Option<UserId>,
    pub actor_username: Option<String>,
    pub actor_type: Option<String>,
    pub hospital: Option<HospitalId>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
    /// The row's position in the chain and its hash (none until the sealer reached it).
    pub seal_position: Option<i64>,
    pub seal_hash: Option<Vec<u8>>,
}

pub async fn row(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<FullRow>> {
    sqlx::query_as!(
        FullRow,
        r#"select a.id, a.occurred_at, a.action, a.actor_id as "actor: UserId", u.username as "actor_username?",
                a.actor_type, a.hospital_id as "hospital: HospitalId", a.target_type, a.target_id, a.ip,
                a.user_agent, a.request_id, a.details, s.seq as "seal_position?", s.hash as "seal_hash?"
           from audit_log a
           left join users u on u.id = a.actor_id
           left join audit_seals s on s.audit_id = a.id
           where a.id = $1"#,
        id,
    )
    .fetch_optional(db)
    .await
}

/// When the row sealed at `position` was written (the chain head's row: sealed about a second
/// later while the sealer runs); `None` when no row holds that position.
pub async fn sealed_row_time(db: impl PgExecutor<'_>, position: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar!(
        "select a.occurred_at from audit_seals s join audit_log a on a.id = s.audit_id where s.seq = $1",
        position
    )
    .fetch_optional(db)
    .await
}

/// The account named `username` (any case), for the actor filter.
pub async fn user_named(db: impl PgExecutor<'_>, username: &str) -> sqlx::Result<Option<UserId>> {
    sqlx::query_scalar!(r#"select id as "id: UserId" from users where lower(username) = lower($1)"#, username)
        .fetch_optional(db)
        .await
}
