//! The rows a doctor asks for and reads: one, the history, the hourly limit, and the inserts.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use super::join_notes;
use crate::{
    ids::UserId,
    locks::{self, Key, LockSpace},
    medicines::recommendations::model::{Answer, Stored},
};

/// `sqlx::query_as!(Stored, …)` over a recommendation's columns with its doctor's username, then
/// `$tail` and the binds: the one column list both reads share.
macro_rules! select_stored {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Stored,
            r#"select r.id, r.requested_by as "requested_by: UserId", u.username as requested_by_username,
                      r.medicine_id, r.medicine_name, r.patient_info, r.status, r.source, r.cached, r.alternatives,
                      r.warnings, r.suggestion, r.notes, r.error, r.response_time_ms, r.created_at
               from recommendations r join users u on u.id = r.requested_by "#
                + $tail
            $(, $arg)*
        )
    };
}

pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Stored>> {
    select_stored!("where r.id = $1", id).fetch_optional(conn).await
}

/// A doctor's requests (or everyone's: `None`), newest first, and their count.
pub async fn history(
    conn: &mut PgConnection,
    user: Option<UserId>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<Stored>)> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from recommendations where ($1::bigint is null or requested_by = $1)"#,
        user as Option<UserId>,
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = select_stored!(
        "where ($1::bigint is null or r.requested_by = $1) order by r.id desc limit $2 offset $3",
        user as Option<UserId>,
        limit,
        offset,
    )
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}

/// Serializes one doctor's requests across processes until the transaction ends
/// ([`LockSpace::RecommendationsDoctor`]).
pub async fn lock_doctor(conn: &mut PgConnection, user_id: UserId) -> sqlx::Result<()> {
    locks::xact_lock(conn, LockSpace::RecommendationsDoctor, Key::Id(user_id.get())).await
}

/// A doctor's uncached requests in the last hour, and when the oldest leaves the hour.
pub async fn recent(conn: &mut PgConnection, user_id: UserId) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let row = sqlx::query!(
        r#"select count(*) as "count!", min(created_at) + interval '1 hour' as until from recommendations
           where requested_by = $1 and not cached and created_at > now() - interval '1 hour'"#,
        user_id as UserId,
    )
    .fetch_one(conn)
    .await?;
    Ok((row.count, row.until))
}

/// What a new row records.
pub struct NewRecommendation<'a> {
    pub user_id: UserId,
    pub medicine_id: i64,
    pub medicine_name: &'a str,
    pub patient_info: &'a Value,
    pub cache_key: &'a [u8],
    pub warnings: &'a Value,
    pub notes: &'a str,
}

/// `sqlx::query_scalar!` of an insert whose first six parameters are a [`NewRecommendation`]'s
/// (requested_by, medicine_id, medicine_name, patient_info, cache_key, warnings), then `$more`.
macro_rules! insert_recommendation {
    ($sql:literal, $new:expr $(, $more:expr)* $(,)?) => {
        sqlx::query_scalar!(
            $sql,
            $new.user_id as UserId,
            $new.medicine_id,
            $new.medicine_name,
            $new.patient_info,
            $new.cache_key,
            $new.warnings
            $(, $more)*
        )
    };
}

/// A PENDING row for the model to answer.
pub async fn insert_pending(conn: &mut PgConnection, new: &NewRecommendation<'_>) -> sqlx::Result<i64> {
    insert_recommendation!(
        "insert into recommendations (requested_by, medicine_id, medicine_name, patient_info, cache_key, warnings, notes) \
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
        new,
        new.notes,
    )
    .fetch_one(conn)
    .await
}

/// A row answered from the cache, DONE at once.
pub async fn insert_cached(
    conn: &mut PgConnection,
    new: &NewRecommendation<'_>,
    answer: &Answer,
    elapsed_ms: i32,
) -> sqlx::Result<i64> {
    insert_recommendation!(
        "insert into recommendations (requested_by, medicine_id, medicine_name, patient_info, cache_key, warnings, \
                                      status, source, cached, alternatives, suggestion, notes, dropped_alternatives, \
                                      response_time_ms, completed_at) \
         values ($1, $2, $3, $4, $5, $6, 'DONE', $7, true, $8, $9, $10, $11, $12, now()) returning id",
        new,
        answer.source,
        serde_json::to_value(&answer.alternatives).unwrap_or_default(),
        answer.suggestion,
        join_notes(new.notes, &answer.notes),
        answer.dropped,
        elapsed_ms,
    )
    .fetch_one(conn)
    .await
}
