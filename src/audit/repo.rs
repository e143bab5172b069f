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
     and ($3::text[] is null or a.action = any($3)) and ($4::timestamptz is null or a.occurred_at >= $4) \
     and ($5::timestamptz is null or a.occurred_at < $5)";

/// What a doctor's one-time-code requests and tries wrote: whether they named a patient shows in
/// the action (`otp_requested_for_nobody`), the target and the details. A hospital reading its
/// own rows sees them all as `otp_requested` or `otp_refused` with no target or details, so it
/// cannot learn through its doctors (or a doctor account it logs in as) who is a patient;
/// admins see them as written.
const CODE_ACTIONS: [&str; 3] = ["otp_requested", "otp_requested_for_nobody", "otp_refused"];

/// The actions a filter on `action` matches, as the reader sees actions.
fn actions(filter: &LogFilter<'_>) -> Option<Vec<String>> {
    let action = filter.action?;
    Some(match (filter.hospital, action) {
        (Some(_), "otp_requested") => vec!["otp_requested".to_owned(), "otp_requested_for_nobody".to_owned()],
        (Some(_), "otp_requested_for_nobody") => Vec::new(),
        _ => vec![action.to_owned()],
    })
}

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
        .bind(actions(filter))
        .bind(filter.since)
        .bind(filter.until)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select a.id, a.occurred_at, \
                case when masked then replace(a.action, 'otp_requested_for_nobody', 'otp_requested') else a.action end \
                    as action, \
                a.actor_id as actor, u.username as actor_username, a.actor_type, a.hospital_id as hospital, \
                case when masked then null else a.target_type end as target_type, \
                case when masked then null else a.target_id end as target_id, a.ip, a.request_id, \
                case when masked then '{{}}'::jsonb else a.details end as details \
         from audit_log a left join users u on u.id = a.actor_id, \
              lateral (select $1::bigint is not null and a.action = any($8) as masked) m \
         where {WHERE} order by a.id desc limit $6 offset $7"
    )))
    .bind(filter.hospital)
    .bind(filter.actor)
    .bind(actions(filter))
    .bind(filter.since)
    .bind(filter.until)
    .bind(limit)
    .bind(offset)
    .bind(CODE_ACTIONS)
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}
