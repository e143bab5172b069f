//! The audit trail's reads (writes are [`super::record`]; sealing is [`super::seal`]).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::routes::AuditLogEntry;

/// Which rows to list; `hospital` scopes a hospital's reading to its own rows.
pub struct LogFilter<'a> {
    pub hospital: Option<i64>,
    pub actor: Option<i64>,
    pub action: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

// Each filter is "null or matches", so one statement serves every combination; the planner
// picks the index of the filter given (actor, hospital, action, occurred_at).
const WHERE: &str = "($1::bigint is null or a.hospital_id = $1) and ($2::bigint is null or a.actor_id = $2) \
     and ($3::text is null or a.action = $3) and ($4::timestamptz is null or a.occurred_at >= $4) \
     and ($5::timestamptz is null or a.occurred_at < $5)";

/// The matching rows, newest first, and their count.
pub async fn list(
    conn: &mut PgConnection,
    filter: &LogFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<AuditLogEntry>)> {
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from audit_log a where {WHERE}")))
        .bind(filter.hospital)
        .bind(filter.actor)
        .bind(filter.action)
        .bind(filter.since)
        .bind(filter.until)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select a.id, a.occurred_at, a.action, a.actor_id as actor, u.username as actor_username, a.actor_type, \
                a.hospital_id as hospital, a.target_type, a.target_id, a.ip, a.request_id, a.details \
         from audit_log a left join users u on u.id = a.actor_id \
         where {WHERE} order by a.id desc limit $6 offset $7"
    )))
    .bind(filter.hospital)
    .bind(filter.actor)
    .bind(filter.action)
    .bind(filter.since)
    .bind(filter.until)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}
