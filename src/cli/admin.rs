//! `carehub create-admin` and `carehub audit-verify`.

use serde_json::json;
use sqlx::PgPool;

use crate::{
    accounts::{
        model::{Password, UserType, Username, validate_email},
        password::PasswordHasher,
        repo,
    },
    audit::{self, AuditEvent, AuditKey, ChainReport, HeadCheck, RequestMeta, WitnessedHead},
};

/// What `audit-verify` says when no witnessed head is given: the chain alone cannot show that
/// its newest rows were removed (the chain up to them is still intact), nor a rewrite by someone
/// holding `AUDIT_KEY`.
pub const NO_WITNESSED_HEAD: &str = "warning: no --head given: a removed tail (the newest rows deleted) cannot be detected \
without a witnessed head, nor a chain re-sealed by someone holding AUDIT_KEY. Record the `audit.head` \
(POSITION:HASH) of the sealer's \"audit chain head\" log lines outside the database and pass the latest \
with --head POSITION:HASH";

/// Unsealed rows older than this mean the sealer is not doing its work.
const UNSEALED_FAULT_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Metadata of audit rows written from the command line.
pub fn cli_meta(command: &str) -> RequestMeta {
    RequestMeta { ip: None, user_agent: Some(format!("carehub {command}")), request_id: None }
}

/// Creates the admin `username`, or resets an existing admin's password. An existing account of
/// another type becomes an admin only with `promote` (an operator typing a patient's username by
/// mistake must not hand out the keys silently), and the promotion is audited as such.
pub async fn create_admin(
    db: &PgPool,
    username: &str,
    email: &str,
    password: &str,
    promote: bool,
) -> anyhow::Result<String> {
    let username = Username::parse(username).map_err(|m| anyhow::anyhow!("username: {m}"))?;
    let email = validate_email(email).map_err(|m| anyhow::anyhow!("email: {m}"))?;
    let password = Password::parse(password.trim_end_matches(['\r', '\n']), &[username.as_str(), &email])
        .map_err(|problems| anyhow::anyhow!("password: {}", problems.join(" ")))?;
    let hash = PasswordHasher::new()?.hash(&password).await?;
    let mut tx = db.begin().await?;
    let previous = repo::lock_user_type(&mut tx, username.as_str()).await?;
    if let Some(user_type) = previous.filter(|t| *t != UserType::Admin)
        && !promote
    {
        anyhow::bail!(
            "'{}' is an existing {} account, not an admin; pass --promote to make it an admin",
            username.as_str(),
            user_type.as_str()
        );
    }
    let (id, created) = repo::upsert_admin(&mut tx, username.as_str(), &email, &hash).await?;
    if !created {
        repo::revoke_other_families(&mut *tx, id, None, "admin_password_reset").await?;
    }
    let (action, done, details) = match previous {
        None => ("admin_created", "created", json!({ "via": "cli" })),
        Some(UserType::Admin) => ("admin_updated", "updated", json!({ "via": "cli" })),
        Some(from) => ("admin_promoted", "promoted to", json!({ "via": "cli", "previous_type": from.as_str() })),
    };
    audit::record(&mut tx, &cli_meta("create-admin"), AuditEvent::new(action).target("user", id).details(details))
        .await?;
    tx.commit().await?;
    Ok(format!("{done} admin '{}' (id {id})", username.as_str()))
}

/// Forgets the console second factor of admin `username` (an admin who lost both the
/// authenticator and the recovery codes): the next console login enrols again. Audited.
pub async fn reset_console_factor(db: &PgPool, username: &str) -> anyhow::Result<String> {
    let mut tx = db.begin().await?;
    let Some(id) = crate::console::repo::factors::reset(&mut tx, username).await? else {
        anyhow::bail!("no admin named '{username}'");
    };
    let event = AuditEvent::new("console_mfa_reset").target("user", id).details(json!({ "via": "cli" }));
    audit::record(&mut tx, &cli_meta("console-reset-factor"), event).await?;
    tx.commit().await?;
    Ok(format!("the console second factor of '{username}' (id {id}) is reset: the next console login enrols again"))
}

/// Verifies the audit trail: the sealed chain, rows left unsealed for over a minute, and (if
/// given) a head witnessed earlier. `Ok(false)` on any fault; the printed report says which.
pub async fn audit_verify(db: &PgPool, key: &AuditKey, witnessed: Option<&WitnessedHead>) -> anyhow::Result<bool> {
    let mut ok = true;
    match audit::verify_chain(db, key).await? {
        ChainReport::Intact { rows, head } => {
            let head = head.map_or_else(|| "none".to_owned(), |head| head.to_string());
            println!("audit log intact: {rows} sealed rows verified; head {head}");
        }
        ChainReport::Broken { row_id, position, rows_checked, reason } => {
            println!(
                "audit log BROKEN at row {row_id} (position {position}, after {rows_checked} good rows): {reason}"
            );
            ok = false;
        }
    }
    let stale = audit::unsealed_older_than(db, UNSEALED_FAULT_AFTER).await?;
    if stale.rows > 0 {
        println!(
            "audit log FAULT: {} rows unsealed for over a minute (oldest row {}, from {}); is the sealer (carehub work) running?",
            stale.rows,
            stale.oldest_id.unwrap_or_default(),
            stale.oldest_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
        );
        ok = false;
    }
    let Some(witnessed) = witnessed else {
        println!("{NO_WITNESSED_HEAD}");
        return Ok(ok);
    };
    match audit::check_head(db, witnessed).await? {
        HeadCheck::InChain => println!("witnessed head {witnessed} is in the chain"),
        HeadCheck::Differs { actual } => {
            println!("witnessed head {witnessed} is NOT in the chain: position {} now holds {actual}", actual.position);
            ok = false;
        }
        HeadCheck::Missing => {
            println!("witnessed head {witnessed} is NOT in the chain: no sealed row at that position");
            ok = false;
        }
    }
    Ok(ok)
}
