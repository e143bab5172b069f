//! The demo patient's prescription from the demo doctor, in two versions.

use sqlx::PgConnection;

use crate::{
    audit::{self, AuditEvent},
    cli::{admin::cli_meta, repo},
    ids::{DoctorId, HospitalId},
    records::prescriptions::{
        model::{Content, Medicine},
        repo::{self as prescriptions, Authorship},
    },
};

/// The demo patient's prescription from the demo doctor, at the confirmed appointment, in two
/// versions (the second adjusts the dose), written as the API writes them.
pub(super) async fn seed_prescription(
    conn: &mut PgConnection,
    doctor_id: DoctorId,
    hospital_id: HospitalId,
) -> anyhow::Result<()> {
    let (patient_id, appointment_id) = repo::confirmed_demo_appointment(&mut *conn, doctor_id).await?;
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
    let who = Authorship { patient_id, doctor_id, hospital_id, appointment_id: Some(appointment_id) };
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
