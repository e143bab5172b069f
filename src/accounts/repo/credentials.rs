//! Passwords: what a login reads about a username, storing a chosen or generated password, and
//! the `create-admin` command's upsert.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::{
    super::model::UserType,
    users::{NewUser, insert_user},
};
use crate::ids::UserId;

/// What a login needs to know about a username.
#[derive(Debug)]
pub struct LoginCandidate {
    pub id: UserId,
    /// As the account spells it (the login may have typed it in another case).
    pub username: String,
    pub password_hash: String,
    pub is_active: bool,
    pub user_type: UserType,
    /// A generated password, set at `password_changed_at`.
    pub must_change_password: bool,
    pub password_changed_at: DateTime<Utc>,
}

pub async fn find_login_candidate(db: impl PgExecutor<'_>, username: &str) -> sqlx::Result<Option<LoginCandidate>> {
    sqlx::query_as!(
        LoginCandidate,
        r#"select id as "id: UserId", username, password_hash, is_active, user_type as "user_type: UserType",
                  must_change_password, password_changed_at
           from users where lower(username) = lower($1)"#,
        username,
    )
    .fetch_optional(db)
    .await
}

pub async fn password_hash(db: impl PgExecutor<'_>, id: UserId) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("select password_hash from users where id = $1", id.get()).fetch_optional(db).await
}

pub async fn set_password(db: impl PgExecutor<'_>, user: UserId, hash: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set password_hash = $2, must_change_password = false, password_changed_at = now() where id = $1",
        user.get(),
        hash,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Gives `user` a new generated password: it must be changed, and its window starts now.
pub async fn set_generated_password(db: impl PgExecutor<'_>, user: UserId, hash: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set password_hash = $2, must_change_password = true, password_changed_at = now() where id = $1",
        user.get(),
        hash,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The type of the account named `username` (case-insensitively), locked for the transaction.
pub async fn lock_user_type(conn: &mut PgConnection, username: &str) -> sqlx::Result<Option<UserType>> {
    let raw: Option<String> =
        sqlx::query_scalar!("select user_type from users where lower(username) = lower($1) for update", username)
            .fetch_optional(conn)
            .await?;
    Ok(raw.and_then(|raw| UserType::parse(&raw)))
}

/// Creates the admin `username` or, if it exists, makes it an active admin with this password.
/// Returns the id and whether it was created.
pub async fn upsert_admin(
    conn: &mut PgConnection,
    username: &str,
    email: &str,
    password_hash: &str,
) -> sqlx::Result<(UserId, bool)> {
    let existing = sqlx::query_scalar!(
        r#"select id as "id: UserId" from users where lower(username) = lower($1) for update"#,
        username,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = existing {
        sqlx::query!(
            "update users set user_type = 'ADMIN', email = $2, password_hash = $3, is_active = true, \
             must_change_password = false, password_changed_at = now() where id = $1",
            id.get(),
            email,
            password_hash,
        )
        .execute(&mut *conn)
        .await?;
        return Ok((id, false));
    }
    let user = insert_user(
        &mut *conn,
        &NewUser {
            username,
            email,
            first_name: "",
            last_name: "",
            phone_number: None,
            user_type: UserType::Admin,
            password_hash,
            is_active: true,
            must_change_password: false,
            is_demo: false,
        },
    )
    .await?;
    Ok((user.id, true))
}
