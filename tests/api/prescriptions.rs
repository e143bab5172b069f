//! Prescriptions: who may write one (a grant, or a confirmed appointment at the doctor's
//! hospital), what a body must hold, who reads what (`access`), and versions (`versions`).

mod access;
mod versions;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, TestDoctor, TestHospital, TestPatient, json_body};

/// A patient, a hospital and one of its working doctors.
pub struct Ward {
    pub app: TestApp,
    pub patient: TestPatient,
    pub hospital: TestHospital,
    pub doctor: TestDoctor,
}

pub async fn ward(db: &PgPool) -> Ward {
    let app = TestApp::spawn(db).await;
    let patient = app.patient("zainab").await;
    let hospital = app.approved_hospital("city").await;
    let doctor = app.working_doctor_at(&hospital).await;
    Ward { app, patient, hospital, doctor }
}

pub fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).date_naive().to_string()
}

pub fn prescription_body(patient: i64) -> Value {
    json!({
        "patient": patient,
        "diagnosis": "Acute bronchitis",
        "investigations": "Chest X-ray",
        "treatment_plan": "Rest and fluids",
        "medicines": [{ "name": "Amoxicillin", "dosage": "500 mg", "frequency": "Three times a day", "duration": "7 days" }],
        "follow_up_date": in_days(7),
    })
}

/// The doctor, given a grant for the occasion, writes the patient a prescription; its body.
pub async fn written(app: &TestApp, doctor: &TestDoctor, patient: i64) -> Value {
    app.grant(doctor.id, patient, 30).await;
    let response =
        app.post("/api/records/prescriptions/create/", &prescription_body(patient), Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    json_body(response).await["prescription"].clone()
}

/// An appointment of `patient` at the hospital in `status` (CONFIRMED ones with `doctor`); its id.
async fn appointment(app: &TestApp, patient: i64, hospital: &TestHospital, doctor: i64, status: &str) -> i64 {
    let department = app.department_at(hospital, &format!("Dept {status}")).await;
    sqlx::query_scalar(
        "insert into appointments (patient_id, hospital_id, department_id, doctor_id, requested_time, confirmed_time, \
                                   duration_minutes, slot, status) \
         select $1, $2, $3, case when $5 = 'REQUESTED' then null else $4 end, now() + interval '1 day', \
                case when $5 = 'REQUESTED' then null else now() + interval '1 day' end, 30, \
                case when $5 = 'REQUESTED' then null else tstzrange(now() + interval '1 day', now() + interval '1 day 30 minutes') end, \
                $5 \
         returning id",
    )
    .bind(patient)
    .bind(hospital.id)
    .bind(department)
    .bind(doctor)
    .bind(status)
    .fetch_one(&app.db)
    .await
    .expect("appointment")
}

async fn prescription_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from prescriptions").fetch_one(&app.db).await.expect("count")
}

#[sqlx::test]
async fn a_doctor_with_a_grant_writes_a_prescription_that_is_stored_and_audited(db: PgPool) {
    let Ward { app, patient, hospital, doctor } = ward(&db).await;
    let grant = app.grant(doctor.id, patient.user.id, 30).await;

    let response =
        app.post("/api/records/prescriptions/create/", &prescription_body(patient.user.id), Some(&doctor.token)).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json_body(response).await;
    let id = body["id"].as_i64().expect("id");
    assert_eq!(body["message"], "Prescription created successfully.");
    let p = &body["prescription"];
    assert_eq!(p["id"], id);
    assert_eq!((p["patient"].as_i64(), p["doctor"].as_i64()), (Some(patient.user.id), Some(doctor.id)));
    assert_eq!((p["version"].as_i64(), p["previous_version"].clone()), (Some(1), Value::Null));
    assert_eq!(p["patient_name"], "Zainab Ali");
    assert_eq!(p["doctor_name"], "Ali Mehmood");
    assert!(p["doctor_specialization"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(p["hospital"], hospital.id);
    assert!(p["hospital_name"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(p["appointment"], Value::Null);
    assert_eq!(p["medicines"][0]["name"], "Amoxicillin");
    assert_eq!(p["medicines"][0]["instructions"], "");
    assert_eq!(p["follow_up_date"], in_days(7));
    let row: (i64, i64, i32, String) =
        sqlx::query_as("select patient_id, hospital_id, version, diagnosis from prescriptions where id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .expect("row");
    assert_eq!(row, (patient.user.id, hospital.id, 1, "Acute bronchitis".to_owned()));
    let audit = app.audit_rows("prescription_created").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor_id, Some(doctor.user.id));
    assert_eq!(audit[0].target_id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(audit[0].details["patient_id"], patient.user.id);
    assert_eq!(audit[0].details["version"], 1);
    assert_eq!(audit[0].details["grant_id"], grant);
    assert!(!audit[0].details.to_string().contains("bronchitis"), "no clinical text in the audit trail");
}

#[sqlx::test]
async fn a_doctor_writes_without_a_grant_at_a_confirmed_appointment_of_the_patient_at_their_hospital(db: PgPool) {
    let Ward { app, patient, hospital, doctor } = ward(&db).await;
    let confirmed = appointment(&app, patient.user.id, &hospital, doctor.id, "CONFIRMED").await;
    let mut body = prescription_body(patient.user.id);
    body["appointment"] = json!(confirmed);

    let response = app.post("/api/records/prescriptions/create/", &body, Some(&doctor.token)).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let p = json_body(response).await["prescription"].clone();
    assert_eq!((p["appointment"].as_i64(), p["appointment_id"].as_i64()), (Some(confirmed), Some(confirmed)));
    assert_eq!(app.audit_rows("prescription_created").await[0].details["grant_id"], Value::Null);
}

#[sqlx::test]
async fn a_requested_appointment_or_one_at_another_hospital_gives_no_right_to_write(db: PgPool) {
    let Ward { app, patient, hospital, doctor } = ward(&db).await;
    let requested = appointment(&app, patient.user.id, &hospital, doctor.id, "REQUESTED").await;
    let elsewhere = app.approved_hospital("elsewhere").await;
    let other_doctor = app.working_doctor_at(&elsewhere).await;
    let theirs = appointment(&app, patient.user.id, &elsewhere, other_doctor.id, "CONFIRMED").await;

    for appointment in [requested, theirs] {
        let mut body = prescription_body(patient.user.id);
        body["appointment"] = json!(appointment);
        let response = app.post("/api/records/prescriptions/create/", &body, Some(&doctor.token)).await;

        assert_eq!(response.status(), StatusCode::FORBIDDEN, "appointment {appointment}");
    }
    assert_eq!(prescription_count(&app).await, 0);
}

#[sqlx::test]
async fn a_doctor_without_a_live_grant_is_refused_alike_for_a_known_and_an_unknown_patient(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    let path = "/api/records/prescriptions/create/";

    let known = app.post(path, &prescription_body(patient.user.id), Some(&doctor.token)).await;
    let unknown = app.post(path, &prescription_body(999_999), Some(&doctor.token)).await;
    let expired_grant = app.grant(doctor.id, patient.user.id, -5).await;
    let expired = app.post(path, &prescription_body(patient.user.id), Some(&doctor.token)).await;
    let revoked_grant = app.grant(doctor.id, patient.user.id, 30).await;
    sqlx::query("update access_grants set revoked_at = now() where id = $1")
        .bind(revoked_grant)
        .execute(&db)
        .await
        .expect("revoke");
    let revoked = app.post(path, &prescription_body(patient.user.id), Some(&doctor.token)).await;
    let ticked =
        app.post(&format!("{path}?otp_verified=true"), &prescription_body(patient.user.id), Some(&doctor.token)).await;

    let known_status = known.status();
    let known_body = json_body(known).await;
    assert_eq!(known_status, StatusCode::FORBIDDEN);
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_body(unknown).await, known_body, "an unknown patient looks the same");
    assert!(expired_grant > 0);
    for response in [expired, revoked, ticked] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(prescription_count(&app).await, 0);
}

#[sqlx::test]
async fn bad_fields_and_medicines_are_a_400_naming_the_field_and_the_item(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    app.grant(doctor.id, patient.user.id, 30).await;
    let path = "/api/records/prescriptions/create/";
    let with = |key: &str, value: Value| {
        let mut body = prescription_body(patient.user.id);
        body[key] = value;
        body
    };
    let cases = [
        (with("medicines", json!([{ "name": "A" }, { "dosage": "5 mg" }])), "medicines", "Item 2: name is required."),
        (with("medicines", json!([{ "name": "A", "route": "oral" }])), "medicines", "Item 1: unknown field \"route\"."),
        (with("medicines", json!("Amoxicillin")), "medicines", "Expected a list of items but got type \"str\"."),
        (
            with("medicines", Value::Array(vec![json!({ "name": "A" }); 51])),
            "medicines",
            "Ensure this field has no more than 50 elements.",
        ),
        (with("diagnosis", json!("  ")), "diagnosis", "This field may not be blank."),
        (with("follow_up_date", json!("2020-01-01")), "follow_up_date", "The follow-up date may not be in the past."),
        (json!({ "diagnosis": "Flu" }), "patient", "This field is required."),
    ];
    for (body, field, message) in cases {
        let response = app.post(path, &body, Some(&doctor.token)).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(json_body(response).await[field], json!([message]));
    }
    assert_eq!(prescription_count(&app).await, 0);
}

#[sqlx::test]
async fn patients_hospitals_and_admins_do_not_write_prescriptions(db: PgPool) {
    let Ward { app, patient, hospital, .. } = ward(&db).await;
    let admin = app.admin().await;

    for token in [&patient.token, &hospital.token, &admin.token] {
        let response =
            app.post("/api/records/prescriptions/create/", &prescription_body(patient.user.id), Some(token)).await;

        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let anonymous = app.post("/api/records/prescriptions/create/", &prescription_body(patient.user.id), None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(prescription_count(&app).await, 0);
}

#[sqlx::test]
async fn ids_are_read_as_drf_reads_integers_and_a_body_of_blanks_is_not_json(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    app.grant(doctor.id, patient.user.id, 30).await;
    let mut body = prescription_body(patient.user.id);
    body["patient"] = json!(f64::from(i32::try_from(patient.user.id).expect("small id")));

    let integral = app.post("/api/records/prescriptions/create/", &body, Some(&doctor.token)).await;
    body["patient"] = json!(1.5);
    let fraction = app.post("/api/records/prescriptions/create/", &body, Some(&doctor.token)).await;
    let blanks = app
        .client
        .post(app.url("/api/records/prescriptions/create/"))
        .bearer_auth(&doctor.token)
        .header("content-type", "application/json")
        .body("\n")
        .send()
        .await
        .expect("sent");

    assert_eq!(integral.status(), StatusCode::CREATED);
    assert_eq!(fraction.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(fraction).await["patient"], json!(["A valid integer is required."]));
    assert_eq!(blanks.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(blanks).await["code"], "parse_error");
    assert_eq!(prescription_count(&app).await, 1);
}
