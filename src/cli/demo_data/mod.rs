//! `carehub demo-data [--clear]`: accounts to try CareHub with. Passwords are generated on each
//! run (or taken from `CAREHUB_DEMO_PASSWORD`) and printed once; nothing secret is in the repo.
//! Every row is marked `is_demo`, so `--clear` removes exactly these rows. The accounts are made
//! in [`accounts`], the hospitals, their doctor and the demo patient's appointments in
//! [`hospitals`], the prescription in [`prescription`].

mod accounts;
mod hospitals;
mod prescription;

use std::fmt::Write as _;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{admin::cli_meta, demo_report, repo};
use crate::{
    accounts::{password::PasswordHasher, repo as accounts_repo},
    audit::{self, AuditEvent},
    ids::UserId,
    records::{files::storage::Storage, prescriptions::repo as prescriptions},
};

/// Refuses to touch an account of the same name that demo-data did not make.
async fn ensure_not_real(conn: &mut PgConnection, username: &str) -> anyhow::Result<Option<UserId>> {
    match repo::account_named(conn, username).await? {
        Some((_, false)) => anyhow::bail!("an account named '{username}' exists and is not demo data; not touching it"),
        Some((id, true)) => Ok(Some(id)),
        None => Ok(None),
    }
}

/// Demo accounts have passwords printed at start (or fixed by an environment variable): never in
/// production, whichever command asks for them (`demo-data`, `dev --demo-data`).
pub fn ensure_allowed(settings: &crate::config::Settings) -> anyhow::Result<()> {
    anyhow::ensure!(!settings.is_production(), "demo-data refuses to run in production");
    Ok(())
}

/// Creates (or refreshes the passwords of) the demo accounts, and the demo patient's report in
/// `storage`; returns the text to print.
pub async fn run(db: &PgPool, storage: &Storage, clear: bool) -> anyhow::Result<String> {
    let mut new_key = None;
    let result = prepare(db, storage, clear, &mut new_key).await;
    match result {
        Ok((out, removed_keys)) => {
            for key in removed_keys {
                storage.delete_quietly(&key).await;
            }
            Ok(out)
        }
        Err(err) => {
            if let Some(key) = new_key {
                storage.delete_quietly(&key).await;
            }
            Err(err)
        }
    }
}

/// Everything of [`run`] in one transaction; the text to print and the keys of the objects whose
/// rows it removed.
async fn prepare(
    db: &PgPool,
    storage: &Storage,
    clear: bool,
    new_key: &mut Option<String>,
) -> anyhow::Result<(String, Vec<String>)> {
    let hasher = PasswordHasher::new()?;
    let fixed = std::env::var("CAREHUB_DEMO_PASSWORD").ok().filter(|p| !p.is_empty());
    let mut tx = db.begin().await?;
    // The demo prescriptions name the demo patient and doctor (on delete restrict): rebuilt on
    // every run, so they go first.
    prescriptions::delete_demo(&mut tx).await?;
    let mut removed_keys = Vec::new();
    if clear {
        removed_keys.extend(crate::records::files::repo::delete_demo(&mut tx).await?);
        let removed = accounts_repo::delete_demo_users(&mut tx).await?;
        audit::record(
            &mut tx,
            &cli_meta("demo-data"),
            AuditEvent::new("demo_data_cleared").details(json!({ "users_removed": removed })),
        )
        .await?;
    }
    // The demo hospitals, their departments and doctor are rebuilt on every run.
    crate::hospitals::repo::delete_demo_hospitals(&mut tx).await?;
    removed_keys.extend(crate::records::reports::repo::delete_demo_reports(&mut tx, demo_report::TITLE).await?);
    let mut out = String::from("Demo accounts (passwords are shown only now):\n");
    let patient_id = accounts::seed_accounts(&mut tx, &hasher, fixed.as_deref(), &mut out).await?;
    hospitals::seed_hospitals(&mut tx, &hasher, fixed.as_deref(), &mut out).await?;
    if let Some(patient_id) = patient_id {
        *new_key = Some(demo_report::seed(&mut tx, storage, patient_id).await?);
        writeln!(out, "  The demo patient has a lab report (virus-scanned by the worker, then downloadable).")?;
    }
    tx.commit().await?;
    Ok((out, removed_keys))
}
