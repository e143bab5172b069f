//! All of the audit context's SQL. Here: appending a row and the operators' reads; the sealer's
//! and the verifier's statements over `audit_seals` are in [`seals`], the console's chain
//! verifications (`audit_verifications`) in [`verifications`].

pub mod seals;
pub mod verifications;

use chrono::Utc;
use sqlx::PgConnection;

use super::model::{AuditEvent, AuditLogEntry, LogFilter, RequestMeta};
use crate::ids::{HospitalId, UserId};

/// Inserts one audit row, unsealed (the columns of [`super::COLUMNS`]).
pub async fn insert(conn: &mut PgConnection, meta: &RequestMeta, event: &AuditEvent) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into audit_log (occurred_at, actor_id, actor_type, hospital_id, action, target_type, target_id, ip, \
         user_agent, request_id, details) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        Utc::now(),
        event.actor_id as Option<UserId>,
        event.actor_type,
        event.hospital_id as Option<HospitalId>,
        event.action,
        event.target_type,
        event.target_id.as_deref(),
        meta.ip.as_deref(),
        meta.user_agent.as_deref(),
        meta.request_id.as_deref(),
        &event.details,
    )
    .execute(conn)
    .await?;
    Ok(())
}

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

/// The matching rows, newest first, and their count. Each filter is "null or matches", so one
/// statement serves every combination; the planner picks the index of the filter given (actor,
/// hospital, action, occurred_at; a target alone has none: the console's filter, read by admins
/// now and then). A hospital filtering by target never matches a row whose target it is not
/// shown (the last condition), so a target filter cannot tell it what the masking hides.
pub async fn list(
    conn: &mut PgConnection,
    filter: &LogFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<AuditLogEntry>)> {
    let actions = actions(filter);
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from audit_log a
           where ($1::bigint is null or a.hospital_id = $1) and ($2::bigint is null or a.actor_id = $2)
             and ($3::text[] is null or a.action = any($3)) and ($4::timestamptz is null or a.occurred_at >= $4)
             and ($5::timestamptz is null or a.occurred_at < $5)
             and ($6::text is null or a.target_type = $6) and ($7::text is null or a.target_id = $7)
             and ($1::bigint is null or num_nonnulls($6::text, $7::text) = 0 or a.action <> all($8))"#,
        filter.hospital as Option<HospitalId>,
        filter.actor as Option<UserId>,
        actions.as_deref(),
        filter.since,
        filter.until,
        filter.target_type,
        filter.target_id,
        &CODE_ACTIONS[..] as &[&str],
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as!(
        AuditLogEntry,
        r#"select a.id as "id!", a.occurred_at as "occurred_at!",
                case when masked then replace(a.action, 'otp_requested_for_nobody', 'otp_requested') else a.action end
                    as "action!",
                a.actor_id as "actor: UserId", u.username as "actor_username?", a.actor_type,
                a.hospital_id as "hospital: HospitalId",
                case when masked then null else a.target_type end as target_type,
                case when masked then null else a.target_id end as target_id, a.ip, a.request_id,
                case when masked then '{}'::jsonb else a.details end as "details!"
           from audit_log a left join users u on u.id = a.actor_id,
                lateral (select $1::bigint is not null and a.action = any($8) as masked) m
           where ($1::bigint is null or a.hospital_id = $1) and ($2::bigint is null or a.actor_id = $2)
             and ($3::text[] is null or a.action = any($3)) and ($4::timestamptz is null or a.occurred_at >= $4)
             and ($5::timestamptz is null or a.occurred_at < $5)
             and ($9::text is null or a.target_type = $9) and ($10::text is null or a.target_id = $10)
             and (num_nonnulls($9::text, $10::text) = 0 or not masked)
           order by a.id desc limit $6 offset $7"#,
        filter.hospital as Option<HospitalId>,
        filter.actor as Option<UserId>,
        actions.as_deref(),
        filter.since,
        filter.until,
        limit,
        offset,
        &CODE_ACTIONS[..] as &[&str],
        filter.target_type,
        filter.target_id,
    )
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}
