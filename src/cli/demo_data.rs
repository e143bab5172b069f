//! `carehub demo-data [--clear]`: accounts to try CareHub with. Passwords are generated on each
//! run (or taken from `CAREHUB_DEMO_PASSWORD`) and printed once; nothing secret is in the repo.
//! Every row is marked `is_demo`, so `--clear` removes exactly these rows.

use std::fmt::Write as _;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::admin::cli_meta;
use crate::{
    accounts::{
        model::{Password, UserType, generate_password},
        password::PasswordHasher,
        repo::{self, NewPatientProfile, NewUser},
    },
    audit::{self, AuditEvent},
};

struct DemoUser {
    username: &'static str,
    email: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    phone: Option<&'static str>,
    user_type: UserType,
}

const DEMO_USERS: [DemoUser; 2] = [
    DemoUser {
        username: "demo_admin",
        email: "admin@carehub.example",
        first_name: "Demo",
        last_name: "Admin",
        phone: None,
        user_type: UserType::Admin,
    },
    DemoUser {
        username: "demo_patient",
        email: "patient@carehub.example",
        first_name: "Ayesha",
        last_name: "Khan",
        phone: Some("+923001234567"),
        user_type: UserType::Patient,
    },
];

/// Refuses to touch an account of the same name that demo-data did not make.
async fn ensure_not_real(conn: &mut PgConnection, username: &str) -> anyhow::Result<Option<i64>> {
    let row: Option<(i64, bool)> = sqlx::query_as("select id, is_demo from users where lower(username) = lower($1)")
        .bind(username)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some((_, false)) => anyhow::bail!("an account named '{username}' exists and is not demo data; not touching it"),
        Some((id, true)) => Ok(Some(id)),
        None => Ok(None),
    }
}

/// Creates (or refreshes the passwords of) the demo accounts; returns the text to print.
pub async fn run(db: &PgPool, clear: bool) -> anyhow::Result<String> {
    let hasher = PasswordHasher::new()?;
    let fixed = std::env::var("CAREHUB_DEMO_PASSWORD").ok().filter(|p| !p.is_empty());
    let mut tx = db.begin().await?;
    if clear {
        let removed = repo::delete_demo_users(&mut *tx).await?;
        audit::record(
            &mut tx,
            &cli_meta("demo-data"),
            AuditEvent::new("demo_data_cleared").details(json!({ "users_removed": removed })),
        )
        .await?;
    }
    let mut out = String::from("Demo accounts (passwords are shown only now):\n");
    for demo in &DEMO_USERS {
        let password = fixed.as_deref().map_or_else(|| generate_password(16), Password::unchecked);
        let hash = hasher.hash(&password).await?;
        let id = if let Some(id) = ensure_not_real(&mut tx, demo.username).await? {
            sqlx::query(
                "update users set password_hash = $2, is_active = true, must_change_password = false where id = $1",
            )
            .bind(id)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            id
        } else {
            let user = repo::insert_user(
                &mut *tx,
                &NewUser {
                    username: demo.username,
                    email: demo.email,
                    first_name: demo.first_name,
                    last_name: demo.last_name,
                    phone_number: demo.phone,
                    user_type: demo.user_type,
                    password_hash: &hash,
                    is_active: true,
                    must_change_password: false,
                    is_demo: true,
                },
            )
            .await?;
            if demo.user_type == UserType::Patient {
                let profile = NewPatientProfile {
                    date_of_birth: chrono::NaiveDate::from_ymd_opt(1990, 4, 12),
                    gender: Some("FEMALE".into()),
                    allergies: vec!["Penicillin".into()],
                    chronic_conditions: vec!["Asthma".into()],
                };
                repo::insert_patient_profile(&mut *tx, crate::accounts::model::UserId(user.id), &profile).await?;
            }
            user.id
        };
        writeln!(
            out,
            "  {:<9} username: {:<14} password: {}",
            demo.user_type.as_str(),
            demo.username,
            password.expose()
        )?;
        audit::record(&mut tx, &cli_meta("demo-data"), AuditEvent::new("demo_account_prepared").target("user", id))
            .await?;
    }
    tx.commit().await?;
    Ok(out)
}
