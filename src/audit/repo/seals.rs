//! The chain's SQL: what the sealer reads and appends to `audit_seals`, and what the verifier
//! reads back. Audit rows are only read here, never written.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{Stream, TryStreamExt as _};
use sqlx::{PgConnection, PgPool};

use crate::{
    audit::{
        chain::{SealedRow, StoredRow},
        head::ChainHead,
    },
    ids::{HospitalId, UserId},
};

/// The last seal, if any: the chain's head.
pub async fn head(conn: &mut PgConnection) -> sqlx::Result<Option<ChainHead>> {
    let row = sqlx::query!("select seq, hash from audit_seals order by seq desc limit 1").fetch_optional(conn).await?;
    Ok(row.map(|row| ChainHead { position: row.seq, hash: row.hash }))
}

/// The oldest transaction still running (`xmin`) and the next one to start (`xmax`), as of now.
pub async fn transaction_horizon(conn: &mut PgConnection) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"select pg_snapshot_xmin(s)::text::bigint as "xmin!", pg_snapshot_xmax(s)::text::bigint as "xmax!"
           from pg_current_snapshot() s"#
    )
    .fetch_one(conn)
    .await?;
    Ok((row.xmin, row.xmax))
}

/// The last audit row id handed out by the identity (0 before the first).
pub async fn last_issued_id(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select coalesce(pg_sequence_last_value(pg_get_serial_sequence('audit_log', 'id')::regclass), 0) as "id!""#
    )
    .fetch_one(conn)
    .await
}

/// Up to `limit` committed rows above `floor` that have no seal, oldest id first.
pub(crate) async fn unsealed(conn: &mut PgConnection, floor: i64, limit: i64) -> sqlx::Result<Vec<StoredRow>> {
    sqlx::query_as!(
        StoredRow,
        r#"select a.id, a.occurred_at, a.actor_id as "actor_id: UserId", a.actor_type,
                a.hospital_id as "hospital_id: HospitalId", a.action, a.target_type, a.target_id, a.ip,
                a.user_agent, a.request_id, a.details, a.legacy_prev_hash, a.legacy_hash
           from audit_log a
           where a.id > $1 and not exists (select 1 from audit_seals s where s.audit_id = a.id)
           order by a.id limit $2"#,
        floor,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Appends the seals of one batch (one statement); the number written.
pub async fn append(
    conn: &mut PgConnection,
    ids: &[i64],
    positions: &[i64],
    prevs: &[Vec<u8>],
    hashes: &[Vec<u8>],
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "insert into audit_seals (audit_id, seq, prev_hash, hash) \
         select * from unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[])",
        ids,
        positions,
        prevs,
        hashes,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Every sealed row with its seal, position 1 first, streamed. A seal whose row is gone (or a
/// row whose seal is gone) leaves a gap in the positions.
pub(crate) fn sealed_rows(db: &PgPool) -> impl Stream<Item = sqlx::Result<SealedRow>> + '_ {
    sqlx::query!(
        r#"select s.seq, s.prev_hash, s.hash, a.id, a.occurred_at, a.actor_id as "actor_id: UserId", a.actor_type,
                a.hospital_id as "hospital_id: HospitalId", a.action, a.target_type, a.target_id, a.ip,
                a.user_agent, a.request_id, a.details, a.legacy_prev_hash, a.legacy_hash
           from audit_seals s join audit_log a on a.id = s.audit_id
           order by s.seq"#
    )
    .fetch(db)
    .map_ok(|r| SealedRow {
        seq: r.seq,
        prev_hash: r.prev_hash,
        hash: r.hash,
        row: StoredRow {
            id: r.id,
            occurred_at: r.occurred_at,
            actor_id: r.actor_id,
            actor_type: r.actor_type,
            hospital_id: r.hospital_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            details: r.details,
            legacy_prev_hash: r.legacy_prev_hash,
            legacy_hash: r.legacy_hash,
        },
    })
}

/// How many rows older than `age` have no seal, the oldest one's id and time (a full scan:
/// `audit-verify` reads the whole trail anyway).
pub async fn unsealed_older_than(
    db: &PgPool,
    age: Duration,
) -> sqlx::Result<(i64, Option<i64>, Option<DateTime<Utc>>)> {
    let row = sqlx::query!(
        r#"select count(*) as "rows!", min(a.id) as oldest_id, min(a.occurred_at) as oldest_at from audit_log a
           where a.occurred_at < now() - make_interval(secs => $1)
             and not exists (select 1 from audit_seals s where s.audit_id = a.id)"#,
        age.as_secs_f64(),
    )
    .fetch_one(db)
    .await?;
    Ok((row.rows, row.oldest_id, row.oldest_at))
}

/// How many rows follow the newest sealed one and the oldest one's age in seconds: the backlog a
/// stopped sealer leaves (read at every scrape, so it reads the tail of the id index only; a late
/// commit below the newest seal is sealed in the sealer's next round and counted by `audit-verify`).
pub async fn backlog(db: &PgPool) -> sqlx::Result<(i64, f64)> {
    let row = sqlx::query!(
        r#"select count(*) as "rows!", coalesce(extract(epoch from now() - min(occurred_at))::float8, 0) as "age!"
           from audit_log where id > (select coalesce(max(audit_id), 0) from audit_seals)"#
    )
    .fetch_one(db)
    .await?;
    Ok((row.rows, row.age))
}

/// The hash sealed at `position`, if a seal holds it and the row it seals is still there.
pub async fn hash_at(db: &PgPool, position: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!(
        "select s.hash from audit_seals s join audit_log a on a.id = s.audit_id where s.seq = $1",
        position
    )
    .fetch_optional(db)
    .await
}
