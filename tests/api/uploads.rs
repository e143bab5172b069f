//! The upload mechanism reports and attachments share: one file per request, the whole body
//! capped, the uploader's access decided again when the row is written; and the hospital a
//! report may name.

use std::time::Duration;

use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::Value;
use sqlx::PgPool;

use crate::{
    helpers::json_body,
    reports::{Uploads, count, pdf, report_form},
};

const LIMIT: usize = 10 * 1024 * 1024;

#[sqlx::test]
async fn a_second_file_part_is_a_400_naming_file_and_nothing_is_stored(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let hospital = app.approved_hospital("shifa").await;
    let author = app.working_doctor_at(&hospital).await;
    let (prescription, _) = crate::attachments::prescription(&db, patient.user.id, author.id, None).await;

    let two_files = report_form("one.pdf", pdf("one")).part("file", Part::bytes(pdf("two")).file_name("two.pdf"));
    let report = up.upload_form(patient.user.id, two_files, Some(&patient.token)).await;
    let attachment = app
        .client
        .post(app.url(&format!("/api/records/prescriptions/{prescription}/attachments/")))
        .bearer_auth(&author.token)
        .multipart(
            Form::new()
                .part("file", Part::bytes(pdf("one")).file_name("one.pdf"))
                .part("file", Part::bytes(pdf("two")).file_name("two.pdf")),
        )
        .send()
        .await
        .expect("sent");

    for response in [report, attachment] {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = json_body(response).await;
        assert_eq!(body["file"][0], "Send one file per upload.", "{body}");
    }
    assert!(up.objects().is_empty(), "{:?}", up.objects());
    assert_eq!(count(&db, "stored_files").await, 0);
    let scans: i64 = sqlx::query_scalar("select count(*) from outbox where job_type = 'ScanFile'")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(scans, 0);
}

#[sqlx::test]
async fn a_body_past_the_file_limit_plus_64_kib_of_fields_is_413_with_nothing_stored(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let mut file = b"%PDF-1.4\n".to_vec();
    file.resize(LIMIT, b'a');
    // Each text part is within its own 64 KiB; together with a full-size file they are not.
    let form =
        report_form("big.pdf", file).text("notes", "n".repeat(60 * 1024)).text("more_notes", "m".repeat(60 * 1024));

    let response = up.upload_form(patient.user.id, form, Some(&patient.token)).await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_body(response).await["code"], "payload_too_large");
    assert!(up.objects().is_empty(), "{:?}", up.objects());
    assert_eq!(count(&db, "stored_files").await, 0);
    assert_eq!(count(&db, "patient_reports").await, 0);
    // A full-size file with ordinary fields still fits.
    let mut file = b"%PDF-1.4\n".to_vec();
    file.resize(LIMIT, b'a');
    let fits = up.upload(patient.user.id, "big.pdf", file, &patient.token).await;
    assert_eq!(fits.status(), StatusCode::CREATED);
}

#[sqlx::test]
async fn a_doctor_whose_grant_is_revoked_while_the_file_streams_in_gets_403_and_no_row(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let hospital = app.approved_hospital("shifa").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let grant = app.grant(doctor.id, patient.user.id, 30).await;
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    let mut head = b"%PDF-1.4\n".to_vec();
    // More than the store writer's 5 MiB buffer, so a first part reaches the store.
    head.resize(6 * 1024 * 1024, b'a');
    tx.unbounded_send(Ok(head)).expect("first chunk");
    let form = Form::new()
        .text("title", "Blood count")
        .text("file_type", "LAB")
        .part("file", Part::stream(reqwest::Body::wrap_stream(rx)).file_name("scan.pdf"));
    let upload = tokio::spawn(
        app.client
            .post(app.url(&format!("/api/records/patients/{}/reports/upload/", patient.user.id)))
            .bearer_auth(doctor.token.clone())
            .multipart(form)
            .send(),
    );

    // The first bytes are in the store; the patient revokes the grant; the rest arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while up.objects().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the upload started streaming to the store");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let revoked =
        app.client.delete(app.url(&format!("/api/accounts/access-grants/{grant}/"))).bearer_auth(&patient.token);
    assert_eq!(revoked.send().await.expect("sent").status(), StatusCode::NO_CONTENT);
    tx.unbounded_send(Ok(b"the rest of the file".to_vec())).expect("last chunk");
    drop(tx);
    let response = upload.await.expect("join").expect("sent");

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_body(response).await["code"], "permission_denied");
    assert_eq!(count(&db, "stored_files").await, 0);
    assert_eq!(count(&db, "patient_reports").await, 0);
    assert!(app.audit_rows("report_uploaded").await.is_empty());
    assert!(up.objects().is_empty(), "the stored object is removed: {:?}", up.objects());
}

/// An appointment of `patient` at `hospital` (any status), straight in the database.
async fn appointment(db: &PgPool, patient: i64, hospital: i64, department: i64) {
    sqlx::query(
        "insert into appointments (patient_id, hospital_id, department_id, requested_time, status) \
         values ($1, $2, $3, now() + interval '1 day', 'CANCELLED')",
    )
    .bind(patient)
    .bind(hospital)
    .bind(department)
    .execute(db)
    .await
    .expect("appointment");
}

#[sqlx::test]
async fn a_report_names_only_a_hospital_where_the_patient_has_an_appointment(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let visited = app.approved_hospital("shifa").await;
    let never = app.approved_hospital("aga").await;
    let department = app.department_at(&visited, "Cardiology").await;
    appointment(&db, patient.user.id, visited.id, department).await;
    let naming = |hospital: i64| report_form("scan.pdf", pdf("x")).text("hospital", hospital.to_string());

    let refused = up.upload_form(patient.user.id, naming(never.id), Some(&patient.token)).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body = json_body(refused).await;
    assert_eq!(body["hospital"][0], "Name a hospital where the patient has an appointment.", "{body}");
    assert!(up.objects().is_empty());
    assert_eq!(count(&db, "stored_files").await, 0);

    let taken = up.upload_form(patient.user.id, naming(visited.id), Some(&patient.token)).await;
    assert_eq!(taken.status(), StatusCode::CREATED);
    let body: Value = json_body(taken).await;
    assert_eq!(body["report"]["hospital"], visited.id);

    // A doctor holding a grant may name their own hospital.
    let doctor = app.working_doctor_at(&never).await;
    app.grant(doctor.id, patient.user.id, 30).await;
    let by_doctor = up.upload_form(patient.user.id, naming(never.id), Some(&doctor.token)).await;
    assert_eq!(by_doctor.status(), StatusCode::CREATED);
    assert_eq!(count(&db, "patient_reports").await, 2);
}

#[sqlx::test]
async fn an_attachment_whose_author_is_deactivated_while_the_file_streams_in_gets_403_and_no_row(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let hospital = app.approved_hospital("shifa").await;
    let author = app.working_doctor_at(&hospital).await;
    let (prescription, _) = crate::attachments::prescription(&db, patient.user.id, author.id, None).await;
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    let mut head = b"%PDF-1.4\n".to_vec();
    head.resize(6 * 1024 * 1024, b'a');
    tx.unbounded_send(Ok(head)).expect("first chunk");
    let form = Form::new().part("file", Part::stream(reqwest::Body::wrap_stream(rx)).file_name("xray.pdf"));
    let upload = tokio::spawn(
        app.client
            .post(app.url(&format!("/api/records/prescriptions/{prescription}/attachments/")))
            .bearer_auth(author.token.clone())
            .multipart(form)
            .send(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while up.objects().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the upload started streaming to the store");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The hospital deactivates the doctor while the rest of the file is on its way.
    sqlx::query("update doctor_profiles set is_active = false where id = $1")
        .bind(author.id)
        .execute(&db)
        .await
        .expect("deactivate");
    tx.unbounded_send(Ok(b"the rest".to_vec())).expect("last chunk");
    drop(tx);
    let response = upload.await.expect("join").expect("sent");

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&db, "prescription_attachments").await, 0);
    assert_eq!(count(&db, "stored_files").await, 0);
    assert!(up.objects().is_empty(), "the stored object is removed: {:?}", up.objects());
}
