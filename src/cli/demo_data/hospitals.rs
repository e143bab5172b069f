//! The demo hospitals: an approved one with three departments and a doctor (and the demo
//! patient's appointments there), and one awaiting approval.

use std::fmt::Write as _;

use serde_json::json;
use sqlx::PgConnection;

use super::ensure_not_real;
use crate::{
    accounts::{
        model::{Password, UserType, generate_password},
        password::PasswordHasher,
        repo::{self as accounts_repo, NewUser},
    },
    audit::{self, AuditEvent},
    cli::{admin::cli_meta, repo},
    hospitals::{
        model::doctor_username_base,
        model::{DoctorFields, HospitalFields},
        repo as hospitals,
    },
    ids::HospitalId,
};

/// One demo hospital account and its hospital; returns the hospital's id.
async fn demo_hospital(
    conn: &mut PgConnection,
    hash: &str,
    username: &str,
    approved: bool,
    fields: &HospitalFields,
) -> anyhow::Result<HospitalId> {
    ensure_not_real(conn, username).await?;
    let user = accounts_repo::insert_user(
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
    let id = hospitals::insert_hospital(&mut *conn, user.id, fields, true).await?;
    if approved {
        repo::approve_demo_hospital(&mut *conn, id).await?;
    }
    Ok(id)
}

/// An approved hospital with three departments and a doctor, and a hospital awaiting approval.
pub(super) async fn seed_hospitals(
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
        let id = hospitals::insert_department(&mut *conn, hospital_id, name, description).await?;
        if name == "Cardiology" {
            cardiology = id;
        }
    }

    let doctor_password = generate_password(16);
    let doctor_hash = hasher.hash(&doctor_password).await?;
    let username = doctor_username_base("Ali", "Mehmood", &approved.name);
    ensure_not_real(conn, &username).await?;
    let user = accounts_repo::insert_user(
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
    let doctor_id = hospitals::insert_doctor_profile(&mut *conn, user.id, hospital_id, &fields).await?;
    // The demo patient's appointments: one requested, one confirmed with the demo doctor.
    repo::insert_demo_appointments(&mut *conn, hospital_id, cardiology, doctor_id).await?;
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
        AuditEvent::new("demo_hospitals_prepared").target("hospital", hospital_id.get()),
    )
    .await?;
    super::prescription::seed_prescription(conn, doctor_id, hospital_id).await
}
