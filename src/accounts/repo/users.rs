//! Accounts: reading, creating and changing `users` rows (and a patient's profile at
//! registration), the admin's list, the demo rows.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::super::model::{PhoneText, User, UserType};
use crate::ids::UserId;

/// A `users` row as `User` reads it.
struct UserRow {
    id: UserId,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    phone_number: Option<String>,
    user_type: UserType,
    is_active: bool,
    must_change_password: bool,
    date_joined: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            full_name: String::new(),
            phone_number: PhoneText::from(row.phone_number),
            user_type: row.user_type,
            is_active: row.is_active,
            must_change_password: row.must_change_password,
            date_joined: row.date_joined,
        }
        .finish()
    }
}

pub async fn get_user(db: impl PgExecutor<'_>, id: UserId) -> sqlx::Result<Option<User>> {
    let row = sqlx::query_as!(
        UserRow,
        r#"select id as "id: UserId", username, email, first_name, last_name, phone_number,
                  user_type as "user_type: UserType", is_active, must_change_password, date_joined
           from users where id = $1"#,
        id.get(),
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(User::from))
}

pub async fn username_taken(db: impl PgExecutor<'_>, username: &str, except: Option<UserId>) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from users where lower(username) = lower($1) and id is distinct from $2) as "taken!""#,
        username,
        except.map(UserId::get),
    )
    .fetch_one(db)
    .await
}

/// The fields a user may change on their own account.
#[derive(Debug)]
pub struct ProfileChange {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
}

pub async fn update_profile(db: impl PgExecutor<'_>, user: UserId, change: &ProfileChange) -> sqlx::Result<User> {
    let row = sqlx::query_as!(
        UserRow,
        r#"update users set username = $2, email = $3, first_name = $4, last_name = $5, phone_number = $6
           where id = $1
           returning id as "id: UserId", username, email, first_name, last_name, phone_number,
                     user_type as "user_type: UserType", is_active, must_change_password, date_joined"#,
        user.get(),
        change.username,
        change.email,
        change.first_name,
        change.last_name,
        change.phone_number,
    )
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

/// A new account.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone_number: Option<&'a str>,
    pub user_type: UserType,
    pub password_hash: &'a str,
    pub is_active: bool,
    pub must_change_password: bool,
    pub is_demo: bool,
}

pub async fn insert_user(db: impl PgExecutor<'_>, new: &NewUser<'_>) -> sqlx::Result<User> {
    let row = sqlx::query_as!(
        UserRow,
        r#"insert into users (username, email, first_name, last_name, phone_number, user_type, password_hash,
                              is_active, must_change_password, is_demo)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           returning id as "id: UserId", username, email, first_name, last_name, phone_number,
                     user_type as "user_type: UserType", is_active, must_change_password, date_joined"#,
        new.username,
        new.email,
        new.first_name,
        new.last_name,
        new.phone_number,
        new.user_type.as_str(),
        new.password_hash,
        new.is_active,
        new.must_change_password,
        new.is_demo,
    )
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

/// A patient's clinical profile at registration.
#[derive(Debug, Default)]
pub struct NewPatientProfile {
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub allergies: Vec<String>,
    pub chronic_conditions: Vec<String>,
}

pub async fn insert_patient_profile(
    db: impl PgExecutor<'_>,
    user: UserId,
    profile: &NewPatientProfile,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into patient_profiles (user_id, date_of_birth, gender, allergies, chronic_conditions, consent_given_at) \
         values ($1, $2, $3, $4, $5, now())",
        user.get(),
        profile.date_of_birth,
        profile.gender,
        &profile.allergies,
        &profile.chronic_conditions,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One page of users, optionally of one role, oldest first; and the total.
pub async fn list_users(
    conn: &mut PgConnection,
    user_type: Option<UserType>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<User>, i64)> {
    let role = user_type.map(UserType::as_str);
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from users where ($1::text is null or user_type = $1)"#,
        role,
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as!(
        UserRow,
        r#"select id as "id: UserId", username, email, first_name, last_name, phone_number,
                  user_type as "user_type: UserType", is_active, must_change_password, date_joined
           from users where ($1::text is null or user_type = $1) order by id limit $2 offset $3"#,
        role,
        limit,
        offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows.into_iter().map(User::from).collect(), count))
}

/// Usernames already taken that a generated one built on `base` could collide with.
pub async fn usernames_like(db: impl PgExecutor<'_>, base: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select lower(username) as "username!" from users where lower(username) like $1 || '%'"#,
        base
    )
    .fetch_all(db)
    .await
}

/// Removes the rows `demo-data` made (audit rows stay: the trail is append-only).
pub async fn delete_demo_users(conn: &mut PgConnection) -> sqlx::Result<u64> {
    sqlx::query!("delete from appointments where patient_id in (select id from users where is_demo)")
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query!("delete from users where is_demo").execute(conn).await?;
    Ok(done.rows_affected())
}
