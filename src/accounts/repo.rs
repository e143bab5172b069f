//! Every SQL statement of the accounts context.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, PgConnection, PgExecutor};
use uuid::Uuid;

use super::{
    model::{DashboardStats, User, UserId, UserType},
    tokens,
};

/// The `users` column list that `User` reads.
/// (A constant, so the `format!`ed statements below carry no outside input.)
const USER_COLUMNS: &str =
    "id, username, email, first_name, last_name, phone_number, user_type, is_active, must_change_password, date_joined";

/// What a login needs to know about a username.
#[derive(Debug, sqlx::FromRow)]
pub struct LoginCandidate {
    pub id: i64,
    /// As the account spells it (the login may have typed it in another case).
    pub username: String,
    pub password_hash: String,
    pub is_active: bool,
    pub user_type: String,
    /// A generated password, set at `password_changed_at`.
    pub must_change_password: bool,
    pub password_changed_at: DateTime<Utc>,
}

pub async fn find_login_candidate(db: impl PgExecutor<'_>, username: &str) -> sqlx::Result<Option<LoginCandidate>> {
    sqlx::query_as(
        "select id, username, password_hash, is_active, user_type, must_change_password, password_changed_at \
         from users where lower(username) = lower($1)",
    )
    .bind(username)
    .fetch_optional(db)
    .await
}

pub async fn get_user(db: impl PgExecutor<'_>, id: UserId) -> sqlx::Result<Option<User>> {
    let user: Option<User> = sqlx::query_as(AssertSqlSafe(format!("select {USER_COLUMNS} from users where id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(user.map(User::finish))
}

pub async fn password_hash(db: impl PgExecutor<'_>, id: UserId) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select password_hash from users where id = $1").bind(id).fetch_optional(db).await
}

pub async fn username_taken(db: impl PgExecutor<'_>, username: &str, except: Option<UserId>) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists(select 1 from users where lower(username) = lower($1) and id is distinct from $2)",
    )
    .bind(username)
    .bind(except)
    .fetch_one(db)
    .await
}

/// The state of a login, checked on every authenticated request (through
/// [`super::sessions::SessionCache`]).
pub async fn session_state(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    user: UserId,
) -> sqlx::Result<Option<super::sessions::SessionState>> {
    sqlx::query_as(AssertSqlSafe(format!(
        "select u.user_type, case when u.user_type in ('HOSPITAL', 'DOCTOR') then {hospital} end as hospital_id, \
                u.is_active, u.must_change_password, u.password_changed_at, \
                f.revoked_at is not null as revoked, f.expires_at \
         from refresh_token_families f join users u on u.id = f.user_id \
         where f.id = $1 and f.user_id = $2",
        hospital = hospital_of_user_sql("u.id"),
    )))
    .bind(session_id)
    .bind(user)
    .fetch_optional(db)
    .await
}

/// A login opened by [`open_login`].
#[derive(Debug)]
pub struct OpenedLogin {
    pub session_id: Uuid,
    pub refresh: String,
    /// The hospital of a hospital or doctor account.
    pub hospital_id: Option<i64>,
}

/// Opens a login in one statement (one round trip, one implicit transaction): the refresh-token
/// family and its first token, the account's `last_login`, and the `login_succeeded` audit row,
/// which names the account's hospital for hospital and doctor accounts.
pub async fn open_login(
    conn: &mut PgConnection,
    user: UserId,
    user_type: UserType,
    ttl: Duration,
    meta: &crate::audit::RequestMeta,
) -> sqlx::Result<OpenedLogin> {
    let session_id = Uuid::new_v4();
    let (refresh, hash) = tokens::new_refresh_token();
    let hospital_id: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "with family as ( \
             insert into refresh_token_families (id, user_id, expires_at, ip, user_agent) \
             values ($1, $2, $3, $4, $5) returning id), \
         token as (insert into refresh_tokens (token_hash, family_id, expires_at) select $6, id, $3 from family), \
         seen as (update users set last_login = now() where id = $2), \
         place as (select case when $7 in ('HOSPITAL', 'DOCTOR') then {hospital} end as hospital_id), \
         audited as ( \
             insert into audit_log ({columns}) \
             select now(), $2, $7, hospital_id, 'login_succeeded', 'user', $2::text, $4, $5, $8, '{{}}'::jsonb from place) \
         select hospital_id from place",
        columns = crate::audit::COLUMNS,
        hospital = hospital_of_user_sql("$2"),
    )))
    .bind(session_id)
    .bind(user)
    .bind(Utc::now() + ttl)
    .bind(meta.ip.as_deref())
    .bind(meta.user_agent.as_deref())
    .bind(hash)
    .bind(user_type.as_str())
    .bind(meta.request_id.as_deref())
    .fetch_one(conn)
    .await?;
    Ok(OpenedLogin { session_id, refresh, hospital_id })
}

async fn insert_refresh_token(
    conn: &mut PgConnection,
    family: Uuid,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<String> {
    let (token, hash) = tokens::new_refresh_token();
    sqlx::query("insert into refresh_tokens (token_hash, family_id, expires_at) values ($1, $2, $3)")
        .bind(hash)
        .bind(family)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(token)
}

/// A presented refresh token, locked for the rest of the transaction.
#[derive(Debug, sqlx::FromRow)]
pub struct PresentedRefresh {
    pub family_id: Uuid,
    pub user_id: i64,
    pub user_type: String,
    pub user_active: bool,
    pub spent: bool,
    pub expired: bool,
    pub family_revoked: bool,
    pub family_expires_at: DateTime<Utc>,
}

pub async fn lock_refresh_token(conn: &mut PgConnection, token: &str) -> sqlx::Result<Option<PresentedRefresh>> {
    sqlx::query_as(
        "select t.family_id, f.user_id, u.user_type, u.is_active as user_active, \
                t.used_at is not null as spent, t.expires_at <= now() as expired, \
                f.revoked_at is not null as family_revoked, f.expires_at as family_expires_at \
         from refresh_tokens t \
         join refresh_token_families f on f.id = t.family_id \
         join users u on u.id = f.user_id \
         where t.token_hash = $1 \
         for update of t, f",
    )
    .bind(tokens::hash_refresh_token(token))
    .fetch_optional(conn)
    .await
}

/// Spends `token` and issues the next token of its family (same family expiry: rotation does
/// not extend a login beyond its refresh lifetime).
pub async fn rotate_refresh_token(
    conn: &mut PgConnection,
    token: &str,
    family: Uuid,
    family_expires_at: DateTime<Utc>,
) -> sqlx::Result<String> {
    sqlx::query("update refresh_tokens set used_at = now() where token_hash = $1")
        .bind(tokens::hash_refresh_token(token))
        .execute(&mut *conn)
        .await?;
    insert_refresh_token(conn, family, family_expires_at).await
}

pub async fn revoke_family(db: impl PgExecutor<'_>, family: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update refresh_token_families set revoked_at = now(), revoked_reason = $2 where id = $1 and revoked_at is null",
    )
    .bind(family)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes every live login of `user` except `keep`; returns how many.
pub async fn revoke_other_families(
    db: impl PgExecutor<'_>,
    user: UserId,
    keep: Option<Uuid>,
    reason: &str,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "update refresh_token_families set revoked_at = now(), revoked_reason = $3 \
         where user_id = $1 and revoked_at is null and id is distinct from $2",
    )
    .bind(user)
    .bind(keep)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

pub async fn set_password(db: impl PgExecutor<'_>, user: UserId, hash: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update users set password_hash = $2, must_change_password = false, password_changed_at = now() where id = $1",
    )
    .bind(user)
    .bind(hash)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives `user` a new generated password: it must be changed, and its window starts now.
pub async fn set_generated_password(db: impl PgExecutor<'_>, user: UserId, hash: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update users set password_hash = $2, must_change_password = true, password_changed_at = now() where id = $1",
    )
    .bind(user)
    .bind(hash)
    .execute(db)
    .await?;
    Ok(())
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
    let user: User = sqlx::query_as(AssertSqlSafe(format!(
        "update users set username = $2, email = $3, first_name = $4, last_name = $5, phone_number = $6 \
         where id = $1 returning {USER_COLUMNS}"
    )))
    .bind(user)
    .bind(&change.username)
    .bind(&change.email)
    .bind(&change.first_name)
    .bind(&change.last_name)
    .bind(&change.phone_number)
    .fetch_one(db)
    .await?;
    Ok(user.finish())
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
    let user: User = sqlx::query_as(AssertSqlSafe(format!(
        "insert into users (username, email, first_name, last_name, phone_number, user_type, password_hash, \
                            is_active, must_change_password, is_demo) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning {USER_COLUMNS}"
    )))
    .bind(new.username)
    .bind(new.email)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.phone_number)
    .bind(new.user_type.as_str())
    .bind(new.password_hash)
    .bind(new.is_active)
    .bind(new.must_change_password)
    .bind(new.is_demo)
    .fetch_one(db)
    .await?;
    Ok(user.finish())
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
    sqlx::query(
        "insert into patient_profiles (user_id, date_of_birth, gender, allergies, chronic_conditions, consent_given_at) \
         values ($1, $2, $3, $4, $5, now())",
    )
    .bind(user)
    .bind(profile.date_of_birth)
    .bind(&profile.gender)
    .bind(&profile.allergies)
    .bind(&profile.chronic_conditions)
    .execute(db)
    .await?;
    Ok(())
}

/// Creates the admin `username` or, if it exists, makes it an active admin with this password.
/// Returns the id and whether it was created.
/// The type of the account named `username` (case-insensitively), locked for the transaction.
pub async fn lock_user_type(conn: &mut PgConnection, username: &str) -> sqlx::Result<Option<UserType>> {
    let raw: Option<String> =
        sqlx::query_scalar("select user_type from users where lower(username) = lower($1) for update")
            .bind(username)
            .fetch_optional(conn)
            .await?;
    Ok(raw.and_then(|raw| UserType::parse(&raw)))
}

pub async fn upsert_admin(
    conn: &mut PgConnection,
    username: &str,
    email: &str,
    password_hash: &str,
) -> sqlx::Result<(UserId, bool)> {
    let existing: Option<i64> = sqlx::query_scalar("select id from users where lower(username) = lower($1) for update")
        .bind(username)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = existing {
        sqlx::query(
            "update users set user_type = 'ADMIN', email = $2, password_hash = $3, is_active = true, \
             must_change_password = false, password_changed_at = now() where id = $1",
        )
        .bind(id)
        .bind(email)
        .bind(password_hash)
        .execute(&mut *conn)
        .await?;
        return Ok((UserId(id), false));
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
    Ok((UserId(user.id), true))
}

/// One page of users, optionally of one role, oldest first; and the total.
pub async fn list_users(
    conn: &mut PgConnection,
    user_type: Option<UserType>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<User>, i64)> {
    let role = user_type.map(UserType::as_str);
    let count: i64 = sqlx::query_scalar("select count(*) from users where ($1::text is null or user_type = $1)")
        .bind(role)
        .fetch_one(&mut *conn)
        .await?;
    let users: Vec<User> = sqlx::query_as(AssertSqlSafe(format!(
        "select {USER_COLUMNS} from users where ($1::text is null or user_type = $1) order by id limit $2 offset $3"
    )))
    .bind(role)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    Ok((users.into_iter().map(User::finish).collect(), count))
}

/// The admin dashboard's counts, in one statement.
pub async fn dashboard_stats(db: impl PgExecutor<'_>) -> sqlx::Result<DashboardStats> {
    sqlx::query_as(
        "select count(*) as total_users, \
                count(*) filter (where user_type = 'PATIENT') as total_patients, \
                count(*) filter (where user_type = 'DOCTOR') as total_doctors, \
                (select count(*) from hospitals) as total_hospitals, \
                (select count(*) from hospitals where is_approved) as approved_hospitals, \
                (select count(*) from hospitals where not is_approved and rejected_at is null) as pending_hospitals, \
                (select count(*) from appointments) as total_appointments, \
                (select count(*) from appointments where status = 'REQUESTED') as pending_appointments \
         from users",
    )
    .fetch_one(db)
    .await
}

/// Removes the rows `demo-data` made (audit rows stay: the trail is append-only).
pub async fn delete_demo_users(conn: &mut PgConnection) -> sqlx::Result<u64> {
    sqlx::query("delete from appointments where patient_id in (select id from users where is_demo)")
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("delete from users where is_demo").execute(conn).await?;
    Ok(done.rows_affected())
}

/// The hospital a user account belongs to (its own, or the one a doctor works at): what a login
/// puts in the principal. It reads the hospitals context's membership tables, but lives here so
/// that accounts never imports hospitals (hospitals imports accounts: one way).
pub async fn hospital_of_user(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(AssertSqlSafe(format!("select {}", hospital_of_user_sql("$1"))))
        .bind(user_id)
        .fetch_one(db)
        .await
}

/// The hospital of the account `user` (a parameter): the one it owns, or the one it is a
/// doctor at; null for anyone else.
fn hospital_of_user_sql(user: &str) -> String {
    format!(
        "coalesce((select id from hospitals where user_id = {user}), \
                  (select hospital_id from doctor_profiles where user_id = {user}))"
    )
}

/// Usernames already taken that a generated one built on `base` could collide with.
pub async fn usernames_like(db: impl PgExecutor<'_>, base: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select lower(username) from users where lower(username) like $1 || '%'")
        .bind(base)
        .fetch_all(db)
        .await
}

/// Removes login families that expired more than a day ago (kept a day for forensics); the
/// number removed.
pub async fn purge_expired_sessions(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query("delete from refresh_token_families where expires_at < now() - interval '1 day'")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
