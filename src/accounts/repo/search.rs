//! The admins' search of accounts (the console's user list) and the accounts by role and state.
//! Nothing here reads a password hash.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::super::model::UserType;
use crate::ids::UserId;

/// An account as an admin's list shows it: no password, no code, no record.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// E.164.
    pub phone_number: Option<String>,
    pub user_type: UserType,
    pub is_active: bool,
    pub must_change_password: bool,
    pub date_joined: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
}

/// `q` as an `ilike` pattern's middle: its wildcards taken literally.
fn literal(q: &str) -> String {
    q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Accounts whose username, first and last name or phone contain `q` (case-insensitively; "Ali
/// Raza" matches a first and last name), of role `role`, active or not as `active` says (each
/// filter `None`: any); the count of all matches and the page `limit`/`offset` of them, newest
/// first. The match is the expression `users_search_trgm_idx` indexes (trigrams), word for word.
pub async fn search_users(
    conn: &mut PgConnection,
    q: Option<&str>,
    role: Option<UserType>,
    active: Option<bool>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<UserSummary>)> {
    let pattern = q.map(str::trim).filter(|q| !q.is_empty()).map(literal);
    let role = role.map(UserType::as_str);
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from users
           where ($1::text is null
                  or (username || ' ' || first_name || ' ' || last_name || ' ' || coalesce(phone_number, ''))
                     ilike '%' || $1 || '%')
             and ($2::text is null or user_type = $2) and ($3::bool is null or is_active = $3)"#,
        pattern,
        role,
        active,
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as!(
        UserSummary,
        r#"select id as "id: UserId", username, email, first_name, last_name, phone_number,
                  user_type as "user_type: UserType", is_active, must_change_password, date_joined, last_login
           from users
           where ($1::text is null
                  or (username || ' ' || first_name || ' ' || last_name || ' ' || coalesce(phone_number, ''))
                     ilike '%' || $1 || '%')
             and ($2::text is null or user_type = $2) and ($3::bool is null or is_active = $3)
           order by id desc limit $4 offset $5"#,
        pattern,
        role,
        active,
        limit,
        offset,
    )
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}

/// One account as an admin's list shows it.
pub async fn user_summary(db: impl PgExecutor<'_>, id: UserId) -> sqlx::Result<Option<UserSummary>> {
    sqlx::query_as!(
        UserSummary,
        r#"select id as "id: UserId", username, email, first_name, last_name, phone_number,
                  user_type as "user_type: UserType", is_active, must_change_password, date_joined, last_login
           from users where id = $1"#,
        id.get(),
    )
    .fetch_optional(db)
    .await
}

/// For each of the four roles (ADMIN, HOSPITAL, DOCTOR, PATIENT, in that order, also when it has
/// no account): its active and inactive accounts.
pub async fn user_counts_by_role(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query!(
        r#"select r.role as "role!",
                  count(u.id) filter (where u.is_active) as "active!",
                  count(u.id) filter (where not u.is_active) as "inactive!"
           from unnest(array['ADMIN', 'HOSPITAL', 'DOCTOR', 'PATIENT']) with ordinality as r (role, n)
           left join users u on u.user_type = r.role
           group by r.role, r.n order by r.n"#,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| (row.role, row.active, row.inactive)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_takes_wildcards_literally() {
        assert_eq!(literal("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(literal("Ali Raza"), "Ali Raza");
    }
}
