//! Prescription attachments: added by the prescribing doctor only, listed with every version of
//! the chain, scanned and served once clean to the parties of the prescription.

use carehub::records::{
    attachments::service as attachments,
    files::{links::FileLinks, model::ScanStatus, scan::Outcome},
};
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use sqlx::PgPool;

use crate::{
    helpers::json_body,
    reports::{Uploads, count, pdf},
};

/// A prescription written straight into the table (the prescriptions routes are another
/// context's), its doctor treating the patient (a live grant of the doctor's latest login, as
/// writing into a record needs): `(id, chain_id)`.
pub async fn prescription(db: &PgPool, patient: i64, doctor: i64, previous: Option<(i64, i64)>) -> (i64, i64) {
    crate::helpers::grant(db, doctor, patient, 30).await;
    sqlx::query_as(
        "insert into prescriptions (chain_id, version, previous_version, patient_id, doctor_id, hospital_id, diagnosis) \
         select $4, coalesce((select version + 1 from prescriptions where id = $3), 1), $3, $1, d.id, d.hospital_id, 'Flu' \
         from doctor_profiles d where d.id = $2 returning id, chain_id",
    )
    .bind(patient)
    .bind(doctor)
    .bind(previous.map(|p| p.0))
    .bind(previous.map(|p| p.1))
    .fetch_one(db)
    .await
    .expect("prescription")
}

#[sqlx::test]
async fn the_prescribing_doctor_attaches_a_file_that_every_version_lists_and_its_parties_download(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let other_patient = app.patient("omar").await;
    let hospital = app.approved_hospital("shifa").await;
    let author = app.working_doctor_at(&hospital).await;
    let granted = app.working_doctor_at(&hospital).await;
    let stranger = app.working_doctor_at(&hospital).await;
    let grant_id = app.grant(granted.id, patient.user.id, 30).await;
    let admin = app.admin().await;
    let first = prescription(&db, patient.user.id, author.id, None).await;
    let second = prescription(&db, patient.user.id, author.id, Some(first)).await;
    let path = format!("/api/records/prescriptions/{}/attachments/", first.0);
    let send = |token: Option<&str>, form: Form| {
        let mut request = app.client.post(app.url(&path)).multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token.to_owned());
        }
        request.send()
    };
    let form = || Form::new().text("description", "X-ray").part("file", Part::bytes(pdf("xray")).file_name("xray.pdf"));

    let created = send(Some(&author.token), form()).await.expect("sent");
    assert_eq!(created.status(), StatusCode::CREATED, "{:?}", created.text().await);
    let body = json_body(send(Some(&author.token), form()).await.expect("sent")).await;
    let id = body["id"].as_i64().expect("id");
    assert_eq!(body["prescription"], first.0);
    assert_eq!(body["file_name"], "xray.pdf");
    assert_eq!(body["description"], "X-ray");
    assert_eq!(body["scan_status"], "PENDING");
    assert_eq!(body["file"], app.url(&format!("/api/records/attachments/{id}/download/")));
    let signed = body["file_url"].as_str().expect("file_url");
    assert!(signed.starts_with(&app.url(&format!("/api/records/attachments/{id}/download/?expires="))), "{signed}");
    for (who, token, status) in [
        ("granted doctor", Some(granted.token.as_str()), StatusCode::FORBIDDEN),
        ("doctor without grant", Some(stranger.token.as_str()), StatusCode::FORBIDDEN),
        ("the patient", Some(patient.token.as_str()), StatusCode::FORBIDDEN),
        ("another patient", Some(other_patient.token.as_str()), StatusCode::NOT_FOUND),
        ("hospital", Some(hospital.token.as_str()), StatusCode::NOT_FOUND),
        ("admin", Some(admin.token.as_str()), StatusCode::FORBIDDEN),
        ("anonymous", None, StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(send(token, form()).await.expect("sent").status(), status, "{who}");
    }
    let missing = app.client.post(app.url("/api/records/prescriptions/999999/attachments/")).multipart(form());
    assert_eq!(missing.bearer_auth(&author.token).send().await.expect("sent").status(), StatusCode::NOT_FOUND);
    assert_eq!(count(&db, "prescription_attachments").await, 2);
    assert_eq!(up.objects().len(), 2);
    let audit = app.audit_rows("prescription_attachment_added").await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1].details["chain_id"], first.1);

    // Listed with every version of the chain.
    let mut conn = db.acquire().await.expect("conn");
    let listed = attachments::for_chain(&mut conn, second.1, &FileLinks::plain("http://x")).await.expect("listed");
    assert_eq!(listed.iter().map(|a| a.id).collect::<Vec<_>>()[1], id);
    assert_eq!(listed[1].file_url, format!("http://x/api/records/attachments/{id}/download/"));
    drop(conn);

    let download = format!("/api/records/attachments/{id}/download/");
    assert_eq!(app.get(&download, Some(&patient.token)).await.status(), StatusCode::CONFLICT);
    let (file_id,): (i64,) = sqlx::query_as("select file_id from prescription_attachments where id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("file");
    assert_eq!(up.scan(file_id).await, Outcome::Wrote(ScanStatus::Clean));
    for (who, token, status) in [
        ("patient", &patient.token, StatusCode::OK),
        ("author", &author.token, StatusCode::OK),
        ("granted doctor", &granted.token, StatusCode::OK),
        ("admin", &admin.token, StatusCode::OK),
        ("doctor without grant", &stranger.token, StatusCode::FORBIDDEN),
        ("another patient", &other_patient.token, StatusCode::NOT_FOUND),
        ("hospital", &hospital.token, StatusCode::NOT_FOUND),
    ] {
        let response = app.get(&download, Some(token)).await;
        assert_eq!(response.status(), status, "{who}");
        if status == StatusCode::OK {
            assert_eq!(response.bytes().await.expect("bytes").to_vec(), pdf("xray"), "{who}");
        }
    }
    let reads = app.audit_rows("records_read").await;
    assert!(reads.iter().any(|r| r.actor_id == Some(granted.user.id) && r.details["grant_id"] == grant_id));
}
