//! The demo accounts: an administrator and a patient (with a profile), made or, when a previous
//! run made them, given a new password.

use std::fmt::Write as _;

use sqlx::PgConnection;

use super::ensure_not_real;
use crate::{
    accounts::{
        model::{Password, UserType, generate_password},
        password::PasswordHasher,
        repo::{self as accounts_repo, NewPatientProfile, NewUser},
    },
    audit::{self, AuditEvent},
    cli::{admin::cli_meta, repo},
    ids::PatientId,
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

/// Makes (or refreshes) the demo accounts, writing their passwords to `out`; the demo patient.
pub(super) async fn seed_accounts(
    conn: &mut PgConnection,
    hasher: &PasswordHasher,
    fixed: Option<&str>,
    out: &mut String,
) -> anyhow::Result<Option<PatientId>> {
    let mut patient_id = None;
    for demo in &DEMO_USERS {
        let password = fixed.map_or_else(|| generate_password(16), Password::unchecked);
        let hash = hasher.hash(&password).await?;
        let id = if let Some(id) = ensure_not_real(&mut *conn, demo.username).await? {
            repo::refresh_demo_account(&mut *conn, id, &hash).await?;
            id
        } else {
            let user = accounts_repo::insert_user(
                &mut *conn,
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
                accounts_repo::insert_patient_profile(&mut *conn, user.id, &profile).await?;
            }
            user.id
        };
        if demo.user_type == UserType::Patient {
            patient_id = Some(PatientId(id.get()));
        }
        writeln!(
            out,
            "  {:<9} username: {:<14} password: {}",
            demo.user_type.as_str(),
            demo.username,
            password.expose()
        )?;
        audit::record(
            &mut *conn,
            &cli_meta("demo-data"),
            AuditEvent::new("demo_account_prepared").target("user", id.get()),
        )
        .await?;
    }
    Ok(patient_id)
}
