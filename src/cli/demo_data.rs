//! `carehub demo-data [--clear]`: accounts to try CareHub with. Passwords are generated on each
//! run (or taken from `CAREHUB_DEMO_PASSWORD`) and printed once; nothing secret is in the repo.
//! Every row is marked `is_demo`, so `--clear` removes exactly these rows.

use std::fmt::Write as _;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::admin::cli_meta;
use crate::records::files::storage::Storage;
use crate::{
    accounts::{
        model::{Password, UserType, generate_password},
        password::PasswordHasher,
        repo::{self, NewPatientProfile, NewUser},
    },
    audit::{self, AuditEvent},
    hospitals::{
        model::{DoctorFields, HospitalFields, doctor_username_base},
        repo as hospitals,
    },
    records::prescriptions::{
        model::{Content, Medicine},
        repo::{self as prescriptions, Authorship},
    },
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
        let removed = repo::delete_demo_users(&mut tx).await?;
        audit::record(
            &mut tx,
            &cli_meta("demo-data"),
            AuditEvent::new("demo_data_cleared").details(json!({ "users_removed": removed })),
        )
        .await?;
    }
    // The demo hospitals, their departments and doctor are rebuilt on every run.
    crate::hospitals::repo::delete_demo_hospitals(&mut tx).await?;
    removed_keys.extend(crate::records::reports::repo::delete_demo_reports(&mut tx, super::demo_report::TITLE).await?);
    let mut patient_id = None;
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
                repo::insert_patient_profile(&mut *tx, user.id, &profile).await?;
            }
            user.id.get()
        };
        if demo.user_type == UserType::Patient {
            patient_id = Some(id);
        }
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
    seed_hospitals(&mut tx, &hasher, fixed.as_deref(), &mut out).await?;
    if let Some(patient_id) = patient_id {
        *new_key = Some(super::demo_report::seed(&mut tx, storage, crate::ids::PatientId(patient_id)).await?);
        writeln!(out, "  The demo patient has a lab report (virus-scanned by the worker, then downloadable).")?;
    }
    tx.commit().await?;
    Ok((out, removed_keys))
}

/// One demo hospital account and its hospital; returns the hospital's id.
async fn demo_hospital(
    conn: &mut PgConnection,
    hash: &str,
    username: &str,
    approved: bool,
    fields: &HospitalFields,
) -> anyhow::Result<i64> {
    ensure_not_real(conn, username).await?;
    let user = repo::insert_user(
        &mut *conn,
        &NewUser {
            username,
            email: &fields.email,
            first_name: "Hospital",
            last_name: "Administrator",
            phone_number: Some(&fields.phone),
            user_type: UserType::Hospital,
            password_hash: hash,
            is_active: approved,
            must_change_password: false,
            is_demo: true,
        },
    )
    .await?;
    let id = hospitals::insert_hospital(&mut *conn, user.id.into(), fields, true).await?;
    if approved {
        sqlx::query("update hospitals set is_approved = true, approved_at = now() where id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id.get())
}

/// An approved hospital with three departments and a doctor, and a hospital awaiting approval.
async fn seed_hospitals(
    conn: &mut PgConnection,
    hasher: &PasswordHasher,
    fixed: Option<&str>,
    out: &mut String,
) -> anyhow::Result<()> {
    let password = fixed.map_or_else(|| generate_password(16), Password::unchecked);
    let hash = hasher.hash(&password).await?;
    let approved = HospitalFields {
        name: "CareHub Demo Hospital".into(),
        license_number: "DEMO-LIC-0001".into(),
        email: "hospital@carehub.example".into(),
        phone: "+922134567890".into(),
        address: "Shahrah-e-Faisal, Karachi".into(),
        location: "Karachi".into(),
        latitude: Some("24.860700".parse()?),
        longitude: Some("67.001100".parse()?),
        time_zone: "Asia/Karachi".into(),
    };
    let hospital_id = demo_hospital(conn, &hash, "demo_hospital", true, &approved).await?;
    let pending = HospitalFields {
        name: "Pending Demo Clinic".into(),
        license_number: "DEMO-LIC-0002".into(),
        email: "clinic@carehub.example".into(),
        phone: "+924235761234".into(),
        address: "Mall Road, Lahore".into(),
        location: "Lahore".into(),
        latitude: Some("31.549700".parse()?),
        longitude: Some("74.343600".parse()?),
        time_zone: "Asia/Karachi".into(),
    };
    demo_hospital(conn, &hash, "demo_pending_hospital", false, &pending).await?;
    writeln!(out, "  {:<9} username: {:<14} password: {}", "HOSPITAL", "demo_hospital", password.expose())?;
    writeln!(out, "  {:<9} username: {:<14} (awaiting approval; same password)", "HOSPITAL", "demo_pending_hospital")?;

    let mut cardiology = 0;
    for (name, description) in [
        ("Cardiology", "Heart and blood vessels"),
        ("Neurology", "Brain, spine and nerves"),
        ("General Medicine", "Diagnosis and treatment of adult illnesses"),
    ] {
        let id = hospitals::insert_department(&mut *conn, hospital_id.into(), name, description).await?;
        if name == "Cardiology" {
            cardiology = id;
        }
    }

    let doctor_password = generate_password(16);
    let doctor_hash = hasher.hash(&doctor_password).await?;
    let username = doctor_username_base("Ali", "Mehmood", &approved.name);
    ensure_not_real(conn, &username).await?;
    let user = repo::insert_user(
        &mut *conn,
        &NewUser {
            username: &username,
            email: "ali.mehmood@carehub.example",
            first_name: "Ali",
            last_name: "Mehmood",
            phone_number: Some("+923331234567"),
            user_type: UserType::Doctor,
            password_hash: &doctor_hash,
            is_active: true,
            must_change_password: true,
            is_demo: true,
        },
    )
    .await?;
    let fields = DoctorFields {
        department_id: Some(cardiology),
        cnic: "42101-1234567-1".into(),
        address: "Karachi".into(),
        license_number: "PMDC-12345".into(),
        specialization: "Cardiologist".into(),
        phone_number: "+923331234567".into(),
        available_timings: json!({ "monday": ["09:00-13:00"], "wednesday": ["14:00-18:00"] }),
        is_active: true,
    };
    let doctor_id = hospitals::insert_doctor_profile(&mut *conn, user.id.into(), hospital_id.into(), &fields).await?;
    // The demo patient's appointments: one requested, one confirmed with the demo doctor.
    sqlx::query(
        "with patient as (select id from users where username = 'demo_patient') \
         insert into appointments (patient_id, hospital_id, department_id, doctor_id, requested_time, confirmed_time, \
                                   duration_minutes, slot, status, reason, assigned_at) \
         select patient.id, $1, $2, null, date_trunc('hour', now()) + interval '3 days', null, null, null, \
                'REQUESTED', 'Follow-up on blood pressure', null from patient \
         union all \
         select patient.id, $1, $2, $3, date_trunc('hour', now()) + interval '2 days', \
                date_trunc('hour', now()) + interval '2 days', 30, \
                tstzrange(date_trunc('hour', now()) + interval '2 days', date_trunc('hour', now()) + interval '2 days 30 minutes', '[)'), \
                'CONFIRMED', 'Chest pain when climbing stairs', now() from patient",
    )
    .bind(hospital_id)
    .bind(cardiology)
    .bind(doctor_id)
    .execute(&mut *conn)
    .await?;
    writeln!(
        out,
        "  {:<9} username: {} password: {} (generated: change it before it expires)",
        "DOCTOR",
        username,
        doctor_password.expose()
    )?;
    audit::record(
        &mut *conn,
        &cli_meta("demo-data"),
        AuditEvent::new("demo_hospitals_prepared").target("hospital", hospital_id),
    )
    .await?;
    seed_prescription(conn, doctor_id.into(), hospital_id).await
}

/// The demo patient's prescription from the demo doctor, at the confirmed appointment, in two
/// versions (the second adjusts the dose), written as the API writes them.
async fn seed_prescription(conn: &mut PgConnection, doctor_id: i64, hospital_id: i64) -> anyhow::Result<()> {
    let (patient_id, appointment_id): (i64, i64) = sqlx::query_as(
        "select a.patient_id, a.id from appointments a join users u on u.id = a.patient_id \
         where u.username = 'demo_patient' and a.doctor_id = $1 and a.status = 'CONFIRMED'",
    )
    .bind(doctor_id)
    .fetch_one(&mut *conn)
    .await?;
    let medicine = |dosage: &str| Medicine {
        name: "Amlodipine".into(),
        dosage: dosage.into(),
        frequency: "Once daily".into(),
        duration: "30 days".into(),
        instructions: "Take in the morning".into(),
    };
    let first = Content {
        diagnosis: "Stage 1 hypertension".into(),
        investigations: "Lipid profile, ECG".into(),
        treatment_plan: "Low-salt diet, 30 minutes of walking daily".into(),
        medicines: vec![medicine("5 mg")],
        follow_up_date: Some(chrono::Utc::now().date_naive() + chrono::Days::new(30)),
        ..Content::default()
    };
    let who = Authorship {
        patient_id: crate::ids::PatientId(patient_id),
        doctor_id: crate::ids::DoctorId(doctor_id),
        hospital_id: crate::ids::HospitalId(hospital_id),
        appointment_id: Some(crate::ids::AppointmentId(appointment_id)),
    };
    let id = prescriptions::insert_first(&mut *conn, who, &first).await?;
    let version_1 = prescriptions::get(&mut *conn, id).await?.ok_or_else(|| anyhow::anyhow!("prescription {id}"))?;
    let second = Content {
        medicines: vec![medicine("10 mg")],
        doctor_notes: "Dose raised after a home blood pressure log".into(),
        ..first
    };
    let id = prescriptions::insert_next(&mut *conn, &version_1, &second).await?;
    audit::record(
        conn,
        &cli_meta("demo-data"),
        AuditEvent::new("demo_prescription_prepared").target("prescription", id),
    )
    .await?;
    Ok(())
}
