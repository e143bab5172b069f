//! Signed download links: a report's or attachment's `file_url` opens in a browser tab that
//! sends no `Authorization` header, as the user whose request produced it, audited as their read;
//! a forged, altered, expired link, one whose grant or login ended, or one for a file no longer
//! CLEAN is a 403.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{
    helpers::json_body,
    reports::{Uploads, file_of_report, pdf},
};

/// GET `url` (absolute) with no header at all, as a new browser tab does.
async fn open(up: &Uploads, url: &str) -> reqwest::Response {
    up.app.client.get(url).send().await.expect("sent")
}

/// A CLEAN report of `patient`: `(report id, file id)`.
async fn clean_report(up: &Uploads, patient: &crate::helpers::TestPatient, body: &str) -> (i64, i64) {
    let id = up.report_of(patient, pdf(body)).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&up.app.db, id).await;
    assert_eq!(
        up.scan(file_id).await,
        carehub::records::files::scan::Outcome::Wrote(carehub::records::files::model::ScanStatus::Clean)
    );
    (id, file_id)
}

async fn file_url(up: &Uploads, report: i64, token: &str) -> String {
    let shown: Value = json_body(up.app.get(&format!("/api/records/reports/{report}/"), Some(token)).await).await;
    assert_eq!(shown["file"], up.app.url(&format!("/api/records/reports/{report}/download/")), "file stays plain");
    shown["file_url"].as_str().expect("file_url").to_owned()
}

#[sqlx::test]
async fn a_reports_file_url_opens_without_a_header_as_the_user_who_asked_and_is_audited_as_their_read(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let hospital = app.approved_hospital("shifa").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let grant_id = app.grant(doctor.id, patient.user.id, 30).await;
    let (id, _) = clean_report(&up, &patient, "signed").await;

    let doctors_link = file_url(&up, id, &doctor.token).await;
    let reads_before = app.audit_rows("records_read").await.len();
    let response = open(&up, &doctors_link).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("content-disposition").and_then(|v| v.to_str().ok()),
        Some("attachment; filename=\"scan.pdf\"")
    );
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), pdf("signed"));
    let reads = app.audit_rows("records_read").await;
    assert_eq!(reads.len(), reads_before + 1);
    let read = reads.last().expect("a read");
    assert_eq!(read.actor_id, Some(doctor.user.id));
    assert_eq!(read.details["read"], "report_file");
    assert_eq!(read.details["grant_id"], grant_id);
    assert_eq!(read.details["object"], json!({ "type": "report", "id": id }));

    // The patient's own link, from the list, opens too; their own reads are not audited.
    let listed = json_body(app.get("/api/records/my-reports/", Some(&patient.token)).await).await;
    let own = listed["results"][0]["file_url"].as_str().expect("file_url").to_owned();
    assert_ne!(own, doctors_link, "each user gets a link of their own");
    let response = open(&up, &own).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), pdf("signed"));
    assert_eq!(app.audit_rows("records_read").await.len(), reads_before + 1);

    // The bearer download keeps working, and without a token or link it is still a 401.
    let bearer = app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;
    assert_eq!(bearer.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("/api/records/reports/{id}/download/"), None).await.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn an_altered_link_is_refused_for_another_file_another_user_or_a_changed_signature(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let other = app.patient("omar").await;
    let (id, _) = clean_report(&up, &patient, "mine").await;
    let (other_id, _) = clean_report(&up, &other, "theirs").await;
    let link = file_url(&up, id, &patient.token).await;
    let (_, query) = link.split_once('?').expect("a query");
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).expect(name);
    let sig = param("sig");
    let flipped = {
        let mut chars: Vec<char> = sig.chars().collect();
        chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };

    let altered = [
        ("another report", link.replace(&format!("/reports/{id}/"), &format!("/reports/{other_id}/"))),
        ("another user", link.replace(&format!("user={}", patient.user.id), &format!("user={}", other.user.id))),
        ("a later expiry", link.replace(&format!("expires={}", param("expires")), "expires=4102444800")),
        ("a flipped signature character", link.replace(&sig, &flipped)),
        (
            "a forged link",
            app.url(&format!(
                "/api/records/reports/{id}/download/?expires=4102444800&user=1&login={}&sig=AAAA",
                uuid::Uuid::new_v4()
            )),
        ),
        ("a missing report", link.replace(&format!("/reports/{id}/"), "/reports/999999/")),
    ];
    for (what, url) in altered {
        let response = open(&up, &url).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        let body = json_body(response).await;
        assert_eq!(body["code"], "permission_denied", "{what}");
        assert!(!body.to_string().contains(&sig), "{what}");
    }
    // A link with a part missing or unreadable is no link: a request without credentials (401).
    let incomplete = [
        ("no signature", link.replace(&format!("&sig={sig}"), "&sig=")),
        ("no user", link.replace(&format!("user={}&", patient.user.id), "")),
        ("a login that is no login", link.replace(&format!("login={}", param("login")), "login=x")),
    ];
    for (what, url) in incomplete {
        let response = open(&up, &url).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(!json_body(response).await.to_string().contains(&sig), "{what}");
    }
    assert_eq!(open(&up, &link).await.status(), StatusCode::OK, "the genuine link still opens");
}

#[sqlx::test]
async fn a_link_is_refused_once_it_has_expired(db: PgPool) {
    let up = Uploads::spawn_with(&db, |s| s.records.download_link_seconds = 1).await;
    let patient = up.app.patient("zainab").await;
    let (id, _) = clean_report(&up, &patient, "short-lived").await;
    let link = file_url(&up, id, &patient.token).await;

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let response = open(&up, &link).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_body(response).await["code"], "permission_denied");
    assert!(up.app.audit_rows("records_read").await.is_empty());
}

#[sqlx::test]
async fn a_link_is_refused_once_the_grant_or_login_ended_or_the_file_is_no_longer_clean(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let hospital = app.approved_hospital("shifa").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let grant_id = app.grant(doctor.id, patient.user.id, 30).await;
    let (id, file_id) = clean_report(&up, &patient, "revocable").await;

    // A grant revoked after the link was made: the doctor's access is decided again.
    let doctors_link = file_url(&up, id, &doctor.token).await;
    let reads_before = app.audit_rows("records_read").await.len();
    sqlx::query("update access_grants set revoked_at = now() where id = $1")
        .bind(grant_id)
        .execute(&db)
        .await
        .expect("revoke");
    assert_eq!(open(&up, &doctors_link).await.status(), StatusCode::FORBIDDEN, "revoked grant");
    assert_eq!(app.audit_rows("records_read").await.len(), reads_before, "no read audited");

    // The login that asked has ended (logout): its links end with it.
    let tokens = app.login(&patient.user).await;
    let link = file_url(&up, id, &tokens.access).await;
    assert_eq!(open(&up, &link).await.status(), StatusCode::OK);
    let logout = app.post("/api/token/blacklist/", &json!({ "refresh": tokens.refresh }), Some(&tokens.access)).await;
    assert!(logout.status().is_success(), "{:?}", logout.text().await);
    assert_eq!(open(&up, &link).await.status(), StatusCode::FORBIDDEN, "login ended");

    // A file no longer CLEAN: 403 through the link (a bearer download keeps its 409).
    let link = file_url(&up, id, &patient.token).await;
    sqlx::query("update stored_files set scan_status = 'INFECTED' where id = $1")
        .bind(file_id)
        .execute(&db)
        .await
        .expect("infected");
    assert_eq!(open(&up, &link).await.status(), StatusCode::FORBIDDEN, "not clean");
    let bearer = app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;
    assert_eq!(bearer.status(), StatusCode::CONFLICT);
}

#[sqlx::test]
async fn an_attachments_file_url_opens_without_a_header_for_the_prescriptions_parties(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let hospital = app.approved_hospital("shifa").await;
    let author = app.working_doctor_at(&hospital).await;
    let (prescription, _) = crate::attachments::prescription(&db, patient.user.id, author.id, None).await;
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(pdf("xray")).file_name("xray.pdf"));
    let created = app
        .client
        .post(app.url(&format!("/api/records/prescriptions/{prescription}/attachments/")))
        .bearer_auth(&author.token)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), StatusCode::CREATED);
    let body = json_body(created).await;
    let (file_id,): (i64,) = sqlx::query_as("select file_id from prescription_attachments where id = $1")
        .bind(body["id"].as_i64().expect("id"))
        .fetch_one(&db)
        .await
        .expect("file");
    let link = body["file_url"].as_str().expect("file_url").to_owned();
    assert_eq!(open(&up, &link).await.status(), StatusCode::FORBIDDEN, "pending: not clean");
    assert_eq!(
        up.scan(file_id).await,
        carehub::records::files::scan::Outcome::Wrote(carehub::records::files::model::ScanStatus::Clean)
    );

    let response = open(&up, &link).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), pdf("xray"));
    let reads = app.audit_rows("records_read").await;
    assert_eq!(reads.last().expect("read").actor_id, Some(author.user.id));
    assert_eq!(reads.last().expect("read").details["read"], "prescription_attachment_file");
}
