//! An admin's deactivation and reactivation of an account: the account locked, where it stands
//! with its hospital, and the change itself.
//!
//! Like `sessions`, this reads the hospitals context's membership tables (a hospital account's
//! own hospital, a doctor's profile and employer) so that accounts never imports hospitals.

use sqlx::PgConnection;

use super::super::model::UserType;
use crate::ids::UserId;

/// An account, locked for the rest of the transaction.
#[derive(Debug, Clone, Copy)]
pub struct LockedAccount {
    pub user_type: UserType,
    pub is_active: bool,
}

/// Locks account `user` (`None`: no such account).
pub async fn lock_account(conn: &mut PgConnection, user: UserId) -> sqlx::Result<Option<LockedAccount>> {
    sqlx::query_as!(
        LockedAccount,
        r#"select user_type as "user_type: UserType", is_active from users where id = $1 for update"#,
        user.get(),
    )
    .fetch_optional(conn)
    .await
}

/// Where an account stands with its hospital.
#[derive(Debug, Clone, Copy, Default)]
pub struct HospitalStanding {
    /// The account's hospital (its own, or the one it is a doctor at) is approved; `None` when it
    /// has none.
    pub hospital_approved: Option<bool>,
    /// A doctor's profile is active (its hospital has not switched the doctor off); `None` for
    /// anyone else.
    pub doctor_profile_active: Option<bool>,
}

/// Where account `user` stands with its hospital, as committed now. Read after
/// [`lock_account`], in a statement of its own: a rejection that committed while this
/// transaction waited for the account's lock is seen.
pub async fn hospital_standing(conn: &mut PgConnection, user: UserId) -> sqlx::Result<HospitalStanding> {
    sqlx::query_as!(
        HospitalStanding,
        r#"select coalesce((select is_approved from hospitals where user_id = $1),
                           (select h.is_approved from doctor_profiles p join hospitals h on h.id = p.hospital_id
                            where p.user_id = $1)) as hospital_approved,
                  (select is_active from doctor_profiles where user_id = $1) as doctor_profile_active"#,
        user.get(),
    )
    .fetch_one(conn)
    .await
}

/// Deactivates account `user` and ends every login of it (its refresh-token families are
/// revoked, so its refresh tokens and access tokens are refused); the number of logins ended.
/// Whatever else holds a login of the account is ended here too, in the caller's transaction.
pub async fn deactivate(conn: &mut PgConnection, user: UserId) -> sqlx::Result<u64> {
    sqlx::query!("update users set is_active = false where id = $1", user.get()).execute(&mut *conn).await?;
    super::sessions::revoke_other_families(&mut *conn, user, None, "account_deactivated").await
}

/// Reactivates account `user`: it can log in again (its ended logins stay ended).
pub async fn reactivate(conn: &mut PgConnection, user: UserId) -> sqlx::Result<()> {
    sqlx::query!("update users set is_active = true where id = $1", user.get()).execute(conn).await?;
    Ok(())
}
