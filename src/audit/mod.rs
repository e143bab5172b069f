//! The audit trail: who did what to whom, from where, in which request. Append-only without
//! exception (a trigger refuses every UPDATE, DELETE and TRUNCATE of `audit_log`, and of
//! `audit_seals`) and chained off the hot path: [`record`] inserts a row in the caller's
//! transaction, taking no lock shared with other requests, and the row is never touched again;
//! the sealer ([`seal`], run by the worker process) writes each committed row's position and
//! `hash = HMAC-SHA-256(AUDIT_KEY, previous hash || canonical row)` into `audit_seals` in batches
//! and publishes each chain head; [`verify`] finds an edited, removed or reordered row, a removed
//! seal, rows left unsealed, and whether a head witnessed earlier is still in the chain.
//!
//! Files: `model.rs` (events, rows as read), `details.rs` (an admin's reason and where the
//! decision was taken), `repo/` (all SQL), `chain.rs` (canonical rows and their hashes), `head.rs`
//! (chain heads), `seal.rs`/`floor.rs` (the sealer), `verify.rs`, `verifications.rs` and `jobs.rs`
//! (the console's "verify the chain": a request, then a worker's run of the verifier),
//! `pseudonyms.rs`, `routes.rs` (`GET /api/audit-logs/`).

pub mod chain;
pub mod details;
pub mod floor;
pub mod head;
pub mod jobs;
pub mod model;
pub mod pseudonyms;
pub mod repo;
pub mod routes;
pub mod seal;
pub mod verifications;
pub mod verify;

use sqlx::{PgConnection, PgPool};

pub use self::{
    chain::AuditKey,
    details::Via,
    head::{ChainHead, WitnessedHead},
    model::{AuditEvent, RequestMeta},
    pseudonyms::Pseudonyms,
    seal::{SealerSettings, seal_pending},
    verify::{ChainReport, HeadCheck, check_head, unsealed_older_than, verify_chain},
};

/// The columns of an audit row, in [`record`]'s order, for a statement that writes its audit row
/// beside the change it records (`insert into audit_log ({COLUMNS}) select … from changed` in a
/// data-modifying CTE): one round trip, one implicit transaction, no lock held between them.
pub const COLUMNS: &str = "occurred_at, actor_id, actor_type, hospital_id, action, target_type, target_id, ip, user_agent, request_id, details";

/// Appends `event` to the trail inside the caller's transaction, so that the row commits or rolls
/// back with the change it records. The row is inserted unsealed and takes no lock: the sealer
/// seals it once it has committed (see [`seal`]), beside it, without writing to it.
pub async fn record(conn: &mut PgConnection, meta: &RequestMeta, event: AuditEvent) -> anyhow::Result<()> {
    repo::insert(conn, meta, &event).await?;
    Ok(())
}

/// Records `event` in a transaction of its own (for events with no state change, such as a
/// failed login).
pub async fn record_alone(pool: &PgPool, meta: &RequestMeta, event: AuditEvent) -> anyhow::Result<()> {
    // One INSERT commits on its own: no transaction block needed.
    record(&mut *pool.acquire().await?, meta, event).await
}
