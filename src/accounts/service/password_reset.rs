//! A doctor's password reset, asked for by their hospital and delivered to the doctor alone (the
//! delivery is [`super::super::jobs::SendTemporaryPassword`]).

use carehub_workers::outbox;
use sqlx::PgConnection;

use super::super::{
    jobs::SendTemporaryPassword,
    repo::{password_resets, revoke_other_families},
};
use crate::ids::UserId;

/// The most resets of one account per hour.
pub const RESETS_PER_HOUR: i64 = 3;

/// Resets of one account within the last hour: at most [`RESETS_PER_HOUR`], so that a hospital
/// cannot flood its doctor's phone; with when the oldest leaves the window. Read under the
/// caller's lock on the doctor, so concurrent resets count each other.
pub async fn recent(
    conn: &mut PgConnection,
    user: UserId,
) -> sqlx::Result<(i64, Option<chrono::DateTime<chrono::Utc>>)> {
    password_resets::recent(conn, user).await
}

/// Queues a reset of `user`'s password, asked for by `requested_by`, inside the caller's
/// transaction: the old password stops working now, the logins end (with the grants they held:
/// a trigger ends them), the temporary password is made and sent by the job. The reset's id
/// and the number of logins ended.
pub async fn request(conn: &mut PgConnection, user: UserId, requested_by: UserId) -> sqlx::Result<(i64, u64)> {
    password_resets::make_password_unusable(&mut *conn, user).await?;
    let revoked = revoke_other_families(&mut *conn, user, None, "password_reset").await?;
    let reset_id = password_resets::insert(&mut *conn, user, requested_by).await?;
    outbox::enqueue(conn, &SendTemporaryPassword { reset_id }, Some(&format!("password-reset:{reset_id}"))).await?;
    Ok((reset_id, revoked))
}
