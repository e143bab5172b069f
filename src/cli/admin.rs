//! `carehub create-admin` and `carehub audit-verify`.

use serde_json::json;
use sqlx::PgPool;

use crate::{
    accounts::{
        model::{Password, Username, validate_email},
        password::PasswordHasher,
        repo,
    },
    audit::{self, AuditEvent, ChainReport, RequestMeta},
};

/// Metadata of audit rows written from the command line.
pub fn cli_meta(command: &str) -> RequestMeta {
    RequestMeta { ip: None, user_agent: Some(format!("carehub {command}")), request_id: None }
}

/// Creates the admin `username`, or makes the existing account an active admin with `password`.
pub async fn create_admin(db: &PgPool, username: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let username = Username::parse(username).map_err(|m| anyhow::anyhow!("username: {m}"))?;
    let email = validate_email(email).map_err(|m| anyhow::anyhow!("email: {m}"))?;
    let password = Password::parse(password.trim_end_matches(['\r', '\n']), &[username.as_str(), &email])
        .map_err(|problems| anyhow::anyhow!("password: {}", problems.join(" ")))?;
    let hash = PasswordHasher::new()?.hash(&password).await?;
    let mut tx = db.begin().await?;
    let (id, created) = repo::upsert_admin(&mut tx, username.as_str(), &email, &hash).await?;
    if !created {
        repo::revoke_other_families(&mut *tx, id, None, "admin_password_reset").await?;
    }
    let action = if created { "admin_created" } else { "admin_updated" };
    let event = AuditEvent::new(action).target("user", id).details(json!({ "via": "cli" }));
    audit::record(&mut tx, &cli_meta("create-admin"), event).await?;
    tx.commit().await?;
    Ok(format!("{} admin '{}' (id {id})", if created { "created" } else { "updated" }, username.as_str()))
}

/// Verifies the audit chain; `Ok(false)` when it is broken (the report says where).
pub async fn audit_verify(db: &PgPool) -> anyhow::Result<bool> {
    match audit::verify_chain(db).await? {
        ChainReport::Intact { rows } => {
            println!("audit log intact: {rows} rows verified");
            Ok(true)
        }
        ChainReport::Broken { row_id, rows_checked, reason } => {
            println!("audit log BROKEN at row {row_id} (after {rows_checked} good rows): {reason}");
            Ok(false)
        }
    }
}
