//! Report uploads, prescription attachments and their virus scans, through HTTP against real
//! Postgres, Redis and clamd (`./scripts/clamd`; `CLAMD_ADDR` or 127.0.0.1:3310), with a local
//! object store in a temporary directory per test.

use std::{path::Path, sync::Arc, time::Duration};

use carehub::{
    config::Settings,
    records::files::{
        jobs::{self, RescanPending, ScanFile},
        model::ScanStatus,
        scan::{self, Outcome},
        storage::Storage,
    },
};
use carehub_workers::{jobs::Job as _, scan::Clamd};
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, TestPatient, json_body};

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const LIMIT: usize = 10 * 1024 * 1024;

pub fn clamd_addr() -> String {
    std::env::var("CLAMD_ADDR").unwrap_or_else(|_| "127.0.0.1:3310".to_owned())
}

fn clamd() -> Clamd {
    Clamd::new(clamd_addr(), Duration::from_secs(20))
}

/// A port nothing listens on.
fn dead_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    format!("127.0.0.1:{port}")
}

/// A small valid-looking PDF with `body` inside.
pub fn pdf(body: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {body}\ntrailer << /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

/// A PDF-headed file of exactly `size` bytes.
fn pdf_of_size(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.resize(size, b'a');
    bytes
}

/// The app with its object store in a directory of its own.
pub struct Uploads {
    pub app: TestApp,
    pub dir: tempfile::TempDir,
}

impl Uploads {
    pub async fn spawn(db: &PgPool) -> Self {
        Self::spawn_with(db, |_| {}).await
    }

    /// The app with its own object store and changed settings.
    pub async fn spawn_with(db: &PgPool, tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("file://{}", dir.path().display());
        let app = TestApp::spawn_with(db, |s| {
            s.storage_url = url;
            s.clamd_addr = clamd_addr();
            tweak(s);
        })
        .await;
        Self { app, dir }
    }

    pub fn storage(&self) -> Storage {
        Storage::from_url(&format!("file://{}", self.dir.path().display())).expect("storage")
    }

    /// Every regular file under the store's directory.
    pub fn objects(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).expect("under root").display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }

    pub async fn upload_form(&self, patient: i64, form: Form, token: Option<&str>) -> reqwest::Response {
        let mut request = self
            .app
            .client
            .post(self.app.url(&format!("/api/records/patients/{patient}/reports/upload/")))
            .multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("sent")
    }

    pub async fn upload(&self, patient: i64, name: &str, bytes: Vec<u8>, token: &str) -> reqwest::Response {
        self.upload_form(patient, report_form(name, bytes), Some(token)).await
    }

    /// A report uploaded by the patient: its JSON.
    pub async fn report_of(&self, patient: &TestPatient, bytes: Vec<u8>) -> Value {
        let response = self.upload(patient.user.id, "scan.pdf", bytes, &patient.token).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
        json_body(response).await
    }

    /// Scans file `file_id` with the real handler and clamd.
    pub async fn scan(&self, file_id: i64) -> Outcome {
        scan::scan(&self.app.db, &self.storage(), &clamd(), 5, file_id).await.expect("scanned")
    }
}

pub fn report_form(name: &str, bytes: Vec<u8>) -> Form {
    Form::new()
        .text("title", "Blood count")
        .text("file_type", "LAB")
        .text("description", "Fasting sample")
        .text("report_date", "2026-11-20")
        .part("file", Part::bytes(bytes).file_name(name.to_owned()))
}

pub async fn file_of_report(db: &PgPool, report: i64) -> (i64, String, String, String, i64, Vec<u8>) {
    sqlx::query_as(
        "select f.id, f.storage_key, f.original_name, f.scan_status, f.size_bytes, f.sha256 \
         from patient_reports r join stored_files f on f.id = r.file_id where r.id = $1",
    )
    .bind(report)
    .fetch_one(db)
    .await
    .expect("file row")
}

pub async fn count(db: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}"))).fetch_one(db).await.expect("count")
}

#[sqlx::test]
async fn a_patient_uploads_a_report_with_its_row_object_audit_row_and_scan_job(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let bytes = pdf("hello");

    let body = up.report_of(&patient, bytes.clone()).await;

    let id = body["id"].as_i64().expect("id");
    assert_eq!(body["message"], "Report uploaded successfully.");
    let report = &body["report"];
    assert_eq!(report["id"], id);
    assert_eq!(report["patient"], patient.user.id);
    assert_eq!(report["patient_name"], "Zainab Ali");
    assert_eq!(report["uploaded_by"], patient.user.id);
    assert_eq!(report["uploaded_by_name"], "Zainab Ali");
    assert_eq!(report["hospital"], Value::Null);
    assert_eq!(report["hospital_name"], "");
    assert_eq!(report["file_type"], "LAB");
    assert_eq!(report["title"], "Blood count");
    assert_eq!(report["report_date"], "2026-11-20");
    assert_eq!(report["file_size"], bytes.len());
    assert_eq!(report["file_extension"], "pdf");
    assert_eq!(report["scan_status"], "PENDING");
    let url = up.app.url(&format!("/api/records/reports/{id}/download/"));
    assert_eq!(report["file"], url);
    let signed = report["file_url"].as_str().expect("file_url");
    assert!(signed.starts_with(&format!("{url}?expires=")) && signed.contains("&sig="), "{signed}");
    let (file_id, key, original, status, size, sha) = file_of_report(&db, id).await;
    assert!(key.starts_with(&format!("patient_reports/{}/", patient.user.id)) && key.ends_with(".pdf"), "{key}");
    assert_eq!((original.as_str(), status.as_str(), size), ("scan.pdf", "PENDING", bytes.len() as i64));
    use sha2::Digest as _;
    assert_eq!(sha, sha2::Sha256::digest(&bytes).to_vec());
    assert_eq!(std::fs::read(up.dir.path().join(&key)).expect("object"), bytes);
    assert_eq!(up.objects(), [key]);
    let audit = up.app.audit_rows("report_uploaded").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor_id, Some(patient.user.id));
    assert_eq!(audit[0].target_id.as_deref(), Some(id.to_string().as_str()));
    let jobs: Vec<(String, String, Value, Option<String>)> =
        sqlx::query_as("select queue, job_type, payload, dedupe_key from outbox").fetch_all(&db).await.expect("outbox");
    assert_eq!(
        jobs,
        [(
            ScanFile::QUEUE.name().to_owned(),
            ScanFile::NAME.to_owned(),
            json!({ "file_id": file_id }),
            Some(format!("scan:{file_id}"))
        )]
    );
}

#[sqlx::test]
async fn only_the_patient_and_a_doctor_with_a_live_grant_upload_for_a_patient(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let other_patient = app.patient("omar").await;
    let hospital = app.approved_hospital("shifa").await;
    let granted = app.working_doctor_at(&hospital).await;
    let no_grant = app.working_doctor_at(&hospital).await;
    let expired = app.working_doctor_at(&hospital).await;
    let revoked = app.working_doctor_at(&hospital).await;
    let elsewhere = app.working_doctor_at(&hospital).await;
    app.grant(granted.id, patient.user.id, 30).await;
    app.grant(expired.id, patient.user.id, -5).await;
    let grant = app.grant(revoked.id, patient.user.id, 30).await;
    sqlx::query("update access_grants set revoked_at = now() where id = $1")
        .bind(grant)
        .execute(&db)
        .await
        .expect("revoke");
    app.grant(elsewhere.id, other_patient.user.id, 30).await;
    let admin = app.admin().await;

    let by_doctor = up.upload(patient.user.id, "scan.pdf", pdf("doc"), &granted.token).await;
    assert_eq!(by_doctor.status(), StatusCode::CREATED);
    let body = json_body(by_doctor).await;
    assert_eq!(body["report"]["uploaded_by"], granted.user.id);
    let audit = app.audit_rows("report_uploaded").await;
    assert!(audit[0].details["grant_id"].is_i64());

    for (who, token) in [
        ("no grant", &no_grant.token),
        ("expired grant", &expired.token),
        ("revoked grant", &revoked.token),
        ("another patient's grant", &elsewhere.token),
        ("another patient", &other_patient.token),
        ("hospital", &hospital.token),
        ("admin", &admin.token),
    ] {
        let response = up.upload(patient.user.id, "scan.pdf", pdf("x"), token).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who}");
    }
    let anonymous = up.upload_form(patient.user.id, report_form("scan.pdf", pdf("x")), None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count(&db, "patient_reports").await, 1);
    assert_eq!(up.objects().len(), 1, "only the granted doctor's upload was stored");
}

#[sqlx::test]
async fn every_reports_route_follows_the_records_access_rule(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let app = &up.app;
    let patient = app.patient("zainab").await;
    let other_patient = app.patient("omar").await;
    let hospital = app.approved_hospital("shifa").await;
    let granted = app.working_doctor_at(&hospital).await;
    let no_grant = app.working_doctor_at(&hospital).await;
    let expired = app.working_doctor_at(&hospital).await;
    let revoked = app.working_doctor_at(&hospital).await;
    let elsewhere = app.working_doctor_at(&hospital).await;
    let grant_id = app.grant(granted.id, patient.user.id, 30).await;
    app.grant(expired.id, patient.user.id, -5).await;
    let grant = app.grant(revoked.id, patient.user.id, 30).await;
    sqlx::query("update access_grants set revoked_at = now() where id = $1")
        .bind(grant)
        .execute(&db)
        .await
        .expect("revoke");
    app.grant(elsewhere.id, other_patient.user.id, 30).await;
    let admin = app.admin().await;
    let id = up.report_of(&patient, pdf("clean")).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;
    assert_eq!(up.scan(file_id).await, Outcome::Wrote(ScanStatus::Clean));
    let list = format!("/api/records/patients/{}/reports/", patient.user.id);
    let detail = format!("/api/records/reports/{id}/");
    let download = format!("/api/records/reports/{id}/download/");

    // Readers: the patient, the granted doctor, the admin.
    for (who, token) in [("patient", &patient.token), ("granted doctor", &granted.token), ("admin", &admin.token)] {
        let listed = json_body(app.get(&list, Some(token)).await).await;
        assert_eq!(listed["count"], 1, "{who}");
        assert_eq!(listed["results"][0]["id"], id, "{who}");
        assert_eq!(app.get(&detail, Some(token)).await.status(), StatusCode::OK, "{who}");
        assert_eq!(app.get(&download, Some(token)).await.status(), StatusCode::OK, "{who}");
    }
    let mine = json_body(app.get("/api/records/my-reports/", Some(&patient.token)).await).await;
    assert_eq!(mine["results"][0]["id"], id);
    assert_eq!(json_body(app.get("/api/records/my-reports/", Some(&other_patient.token)).await).await["count"], 0);
    for token in [&granted.token, &admin.token, &hospital.token] {
        assert_eq!(app.get("/api/records/my-reports/", Some(token)).await.status(), StatusCode::FORBIDDEN);
    }

    // Doctors without a live grant of this patient: 403 everywhere, naming the one-time code.
    for (who, token) in [
        ("no grant", &no_grant.token),
        ("expired grant", &expired.token),
        ("revoked grant", &revoked.token),
        ("another patient's grant", &elsewhere.token),
    ] {
        for path in [&list, &detail, &download] {
            let response = app.get(path, Some(token)).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who} {path}");
        }
    }
    // Another patient and a hospital: 403 on the patient's list, 404 on the objects.
    for (who, token) in [("another patient", &other_patient.token), ("hospital", &hospital.token)] {
        assert_eq!(app.get(&list, Some(token)).await.status(), StatusCode::FORBIDDEN, "{who}");
        assert_eq!(app.get(&detail, Some(token)).await.status(), StatusCode::NOT_FOUND, "{who}");
        assert_eq!(app.get(&download, Some(token)).await.status(), StatusCode::NOT_FOUND, "{who}");
        let delete = app.client.delete(app.url(&detail)).bearer_auth(token).send().await.expect("sent");
        assert_eq!(delete.status(), StatusCode::NOT_FOUND, "{who}");
    }
    for path in [&list, &detail, &download, &"/api/records/my-reports/".to_owned()] {
        assert_eq!(app.get(path, None).await.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Only the patient deletes.
    for token in [&granted.token, &admin.token, &no_grant.token] {
        let delete = app.client.delete(app.url(&detail)).bearer_auth(token).send().await.expect("sent");
        assert_eq!(delete.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(app.get("/api/records/reports/999999/", Some(&admin.token)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(count(&db, "patient_reports").await, 1);

    // Every read by the doctor and the admin wrote a records_read row; the granted doctor's name
    // the grant; the patient's own reads wrote none.
    let reads = app.audit_rows("records_read").await;
    let by = |actor: i64| reads.iter().filter(|r| r.actor_id == Some(actor)).collect::<Vec<_>>();
    assert_eq!(by(granted.user.id).len(), 3);
    assert!(by(granted.user.id).iter().all(|r| r.details["grant_id"] == grant_id));
    assert_eq!(by(granted.user.id)[1].details["object"], json!({ "type": "report", "id": id }));
    assert_eq!(by(admin.user.id).len(), 3);
    assert!(by(patient.user.id).is_empty());
}

#[sqlx::test]
async fn eicar_inside_a_pdf_is_infected_and_never_downloadable(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf(EICAR)).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;
    let download = format!("/api/records/reports/{id}/download/");
    let pending = up.app.get(&download, Some(&patient.token)).await;
    assert_eq!(pending.status(), StatusCode::CONFLICT);
    assert_eq!(json_body(pending).await["code"], "file_not_clean");

    assert_eq!(up.scan(file_id).await, Outcome::Wrote(ScanStatus::Infected));
    assert_eq!(up.scan(file_id).await, Outcome::Nothing, "the verdict is written once");

    let (status, detail): (String, Option<String>) =
        sqlx::query_as("select scan_status, scan_detail from stored_files where id = $1")
            .bind(file_id)
            .fetch_one(&db)
            .await
            .expect("row");
    assert_eq!((status.as_str(), detail.as_deref()), ("INFECTED", Some("CareHub.Test.EICAR.UNOFFICIAL")));
    let response = up.app.get(&download, Some(&patient.token)).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(json_body(response).await["code"], "file_not_clean");
    let shown = json_body(up.app.get(&format!("/api/records/reports/{id}/"), Some(&patient.token)).await).await;
    assert_eq!(shown["scan_status"], "INFECTED");
    let audit = up.app.audit_rows("file_scanned").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].details, json!({ "status": "INFECTED", "signature": "CareHub.Test.EICAR.UNOFFICIAL" }));
}

#[sqlx::test]
async fn a_clean_pdf_is_downloaded_as_an_attachment_with_its_exact_bytes(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let bytes = pdf("clean report");
    let id = up.report_of(&patient, bytes.clone()).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;

    assert_eq!(up.scan(file_id).await, Outcome::Wrote(ScanStatus::Clean));
    let response = up.app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("content-disposition"), "attachment; filename=\"scan.pdf\"");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("content-length"), bytes.len().to_string());
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), bytes);
}

#[sqlx::test]
async fn exactly_the_limit_is_accepted_and_one_byte_more_is_413_with_nothing_stored(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;

    let at_limit = up.upload(patient.user.id, "big.pdf", pdf_of_size(LIMIT), &patient.token).await;
    assert_eq!(at_limit.status(), StatusCode::CREATED);
    assert_eq!(json_body(at_limit).await["report"]["file_size"], LIMIT);
    let stored = up.objects();

    let over = up.upload(patient.user.id, "bigger.pdf", pdf_of_size(LIMIT + 1), &patient.token).await;
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_body(over).await["code"], "payload_too_large");
    assert_eq!(up.objects(), stored, "no object (nor partial upload) left");
    assert_eq!(count(&db, "stored_files").await, 1);
    assert_eq!(count(&db, "patient_reports").await, 1);
    assert_eq!(up.app.audit_rows("report_uploaded").await.len(), 1);
}

#[sqlx::test]
async fn a_file_whose_bytes_are_not_of_its_extension_is_415_with_nothing_stored(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    exe.resize(20_000, 0);

    for (name, bytes) in [("invoice.pdf", exe), ("scan.png", pdf("not a png")), ("tool.exe", pdf("pdf named exe"))] {
        let response = up.upload(patient.user.id, name, bytes, &patient.token).await;
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}");
        assert_eq!(json_body(response).await["code"], "unsupported_media_type");
    }
    assert!(up.objects().is_empty());
    assert_eq!(count(&db, "stored_files").await, 0);
}

#[sqlx::test]
async fn a_file_name_with_path_parts_is_cleaned_and_never_used_as_a_path(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;

    let response = up.upload(patient.user.id, "../../etc/passwd.pdf", pdf("x"), &patient.token).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let id = json_body(response).await["id"].as_i64().expect("id");
    let (_, key, original, ..) = file_of_report(&db, id).await;
    assert_eq!(original, "passwd.pdf");
    assert!(!key.contains("..") && !key.contains("passwd"), "{key}");
    assert_eq!(up.objects(), [key]);
}

#[sqlx::test]
async fn broken_fields_are_a_400_naming_them_and_nothing_is_stored(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let file = || Part::bytes(pdf("x")).file_name("scan.pdf");
    let cases = [
        (Form::new().text("file_type", "LAB").part("file", file()), "title"),
        (Form::new().text("title", "t".repeat(256)).text("file_type", "LAB").part("file", file()), "title"),
        (Form::new().text("title", "CBC").text("file_type", "SELFIE").part("file", file()), "file_type"),
        (
            Form::new()
                .text("title", "CBC")
                .text("file_type", "LAB")
                .text("report_date", "yesterday")
                .part("file", file()),
            "report_date",
        ),
        (
            Form::new().text("title", "CBC").text("file_type", "LAB").text("hospital", "999999").part("file", file()),
            "hospital",
        ),
        (Form::new().text("title", "CBC").text("file_type", "LAB"), "file"),
        (Form::new().part("file", file()).text("title", "C\0BC").text("file_type", "LAB"), "title"),
        (
            Form::new()
                .text("title", "CBC")
                .text("file_type", "LAB")
                .part("file", Part::bytes(Vec::new()).file_name("e.pdf")),
            "file",
        ),
    ];
    for (form, field) in cases {
        let response = up.upload_form(patient.user.id, form, Some(&patient.token)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        let body = json_body(response).await;
        assert!(body[field].is_array(), "{field}: {body}");
    }
    let nul = up
        .upload_form(
            patient.user.id,
            Form::new().part("file", file()).text("title", "C\0BC").text("file_type", "LAB"),
            Some(&patient.token),
        )
        .await;
    assert_eq!(json_body(nul).await["title"][0], "Null characters are not allowed.");
    let missing = up
        .upload_form(patient.user.id, Form::new().text("title", "x").text("file_type", "LAB"), Some(&patient.token))
        .await;
    assert_eq!(json_body(missing).await["file"][0], "No file was submitted.");
    let json = up
        .app
        .post(
            &format!("/api/records/patients/{}/reports/upload/", patient.user.id),
            &json!({ "title": "x" }),
            Some(&patient.token),
        )
        .await;
    assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(up.objects().is_empty(), "{:?}", up.objects());
    assert_eq!(count(&db, "stored_files").await, 0);
    assert_eq!(count(&db, "outbox").await, 0);
}

#[sqlx::test]
async fn with_clamd_down_a_report_stays_pending_and_is_clean_once_clamd_answers(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf("waiting")).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;
    let down = Clamd::new(dead_addr(), Duration::from_secs(2));

    // clamd unreachable is not the file's fault: not counted against `scan.max_attempts` (2 here).
    for _ in 0..3 {
        assert!(scan::scan(&db, &up.storage(), &down, 2, file_id).await.is_err(), "a retryable error");
    }
    let (_, _, _, status, ..) = file_of_report(&db, id).await;
    assert_eq!(status, "PENDING");
    let download = up.app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;
    assert_eq!(download.status(), StatusCode::CONFLICT);

    // Its jobs went dead: a minute later the rescan schedule queues it again, once per tick.
    sqlx::query("update stored_files set created_at = now() - interval '2 minutes'").execute(&db).await.expect("age");
    assert_eq!(jobs::rescan(&db, "2026-11-25T10:00:30Z").await.expect("rescan"), 1);
    assert_eq!(jobs::rescan(&db, "2026-11-25T10:00:30Z").await.expect("rescan"), 0, "same tick: nothing more");
    let queued: i64 = sqlx::query_scalar("select count(*) from outbox where job_type = 'ScanFile' and payload = $1")
        .bind(json!({ "file_id": file_id }))
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(queued, 2, "the upload's job and the rescan's");

    assert_eq!(up.scan(file_id).await, Outcome::Wrote(ScanStatus::Clean));
    assert_eq!(jobs::rescan(&db, "2026-11-25T10:01:30Z").await.expect("rescan"), 0, "clean files are not rescanned");
    let attempts: i32 = sqlx::query_scalar("select scan_attempts from stored_files where id = $1")
        .bind(file_id)
        .fetch_one(&db)
        .await
        .expect("attempts");
    assert_eq!(attempts, 4);
    let download = up.app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;
    assert_eq!(download.status(), StatusCode::OK);
}

/// Worker settings for this test: its own queues, quick polls and retries, `attempts` attempts.
fn worker_settings(up: &Uploads, clamd_addr: String, attempts: usize) -> (Settings, carehub_workers::WorkerSettings) {
    let mut settings = Settings::for_tests().expect("settings");
    settings.storage_url = format!("file://{}", up.dir.path().display());
    settings.clamd_addr = clamd_addr;
    settings.records.scan_timeout_seconds = 2;
    let mut workers = settings.worker_settings().expect("worker settings");
    workers.namespace = format!("test-{}:", uuid::Uuid::new_v4().simple());
    workers.poll_interval = Duration::from_millis(50);
    workers.relay_idle = Duration::from_millis(100);
    workers.backoff_initial = Duration::from_millis(50);
    workers.backoff_max = Duration::from_millis(200);
    workers.max_attempts = attempts;
    workers.shutdown_timeout = Duration::from_secs(5);
    (settings, workers)
}

async fn scan_status(db: &PgPool, report: i64) -> String {
    file_of_report(db, report).await.3
}

#[sqlx::test]
async fn a_scan_job_that_goes_dead_while_clamd_is_stopped_is_rescanned_clean_once_clamd_is_back(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf("clamd was down")).await["id"].as_i64().expect("id");

    // The real worker with clamd stopped: every attempt fails, the job ends dead, the file PENDING.
    let (settings, workers) = worker_settings(&up, dead_addr(), 2);
    let dead_set = format!("{}:dead", ScanFile::QUEUE.key(&workers.namespace));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(carehub_workers::run_workers(
        db.clone(),
        workers,
        carehub::jobs::registry(&settings, &settings.sms_provider().expect("sms")),
        shutdown.clone(),
    ));
    let mut redis = redis::Client::open(crate::helpers::redis_url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let dead: u64 = redis::cmd("SCARD").arg(&dead_set).query_async(&mut redis).await.expect("scard");
        if dead == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the scan job went dead");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    task.await.expect("join").expect("workers ran");
    assert_eq!(scan_status(&db, id).await, "PENDING");

    // clamd is back; the clock's rescan queues the file again and the worker scans it.
    sqlx::query("update stored_files set created_at = now() - interval '2 minutes'").execute(&db).await.expect("age");
    assert_eq!(jobs::rescan(&db, "2026-11-25T10:00:30Z").await.expect("rescan"), 1);
    let (settings, workers) = worker_settings(&up, clamd_addr(), 2);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(carehub_workers::run_workers(
        db.clone(),
        workers,
        carehub::jobs::registry(&settings, &settings.sms_provider().expect("sms")),
        shutdown.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while scan_status(&db, id).await == "PENDING" && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    task.await.expect("join").expect("workers ran");

    assert_eq!(scan_status(&db, id).await, "CLEAN");
    let download = up.app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;
    assert_eq!(download.status(), StatusCode::OK);
}

#[sqlx::test]
async fn a_missing_object_is_failed_not_retried_forever(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf("vanishing")).await["id"].as_i64().expect("id");
    let (file_id, key, ..) = file_of_report(&db, id).await;
    std::fs::remove_file(up.dir.path().join(&key)).expect("removed");

    assert_eq!(up.scan(file_id).await, Outcome::Wrote(ScanStatus::Failed));
    let download = up.app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;
    assert_eq!(download.status(), StatusCode::CONFLICT);
}

#[sqlx::test]
async fn deleting_a_report_removes_its_rows_and_object_and_keeps_its_audit_rows(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf("to delete")).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;
    assert_eq!(up.objects().len(), 1);

    let response = up
        .app
        .client
        .delete(up.app.url(&format!("/api/records/reports/{id}/")))
        .bearer_auth(&patient.token)
        .send()
        .await;

    assert_eq!(response.expect("sent").status(), StatusCode::NO_CONTENT);
    assert!(up.objects().is_empty());
    assert_eq!(count(&db, "patient_reports").await, 0);
    assert_eq!(count(&db, "stored_files").await, 0);
    assert_eq!(up.app.audit_rows("report_uploaded").await.len(), 1);
    let deleted = up.app.audit_rows("report_deleted").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].details["file_id"], file_id);
    assert_eq!(
        up.app.get(&format!("/api/records/reports/{id}/"), Some(&patient.token)).await.status(),
        StatusCode::NOT_FOUND
    );
    // The scan job queued with the upload finds nothing to do.
    assert_eq!(up.scan(file_id).await, Outcome::Nothing);
}

#[sqlx::test]
async fn the_scan_job_runs_on_the_real_worker_from_the_outbox_to_clean(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf("through the queue")).await["id"].as_i64().expect("id");
    let mut settings = Settings::for_tests().expect("settings");
    settings.storage_url = format!("file://{}", up.dir.path().display());
    settings.clamd_addr = clamd_addr();
    let mut workers = settings.worker_settings().expect("worker settings");
    workers.namespace = format!("test-{}:", uuid::Uuid::new_v4().simple());
    workers.poll_interval = Duration::from_millis(50);
    workers.relay_idle = Duration::from_millis(100);
    workers.shutdown_timeout = Duration::from_secs(5);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(carehub_workers::run_workers(
        db.clone(),
        workers,
        carehub::jobs::registry(&settings, &settings.sms_provider().expect("sms")),
        shutdown.clone(),
    ));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        let (_, _, _, status, ..) = file_of_report(&db, id).await;
        if status != "PENDING" || tokio::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    shutdown.cancel();
    task.await.expect("join").expect("workers ran");

    assert_eq!(status, "CLEAN");
    let (created, scanned): (chrono::DateTime<chrono::Utc>, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "select f.created_at, f.scanned_at from stored_files f join patient_reports r on r.file_id = f.id where r.id = $1",
    )
    .bind(id)
    .fetch_one(&db)
    .await
    .expect("times");
    assert!(scanned.expect("scanned_at") >= created);
}

#[sqlx::test]
async fn the_workers_readiness_names_clamd_when_it_does_not_answer(db: PgPool) {
    let mut settings = Settings::for_tests().expect("settings");
    settings.database_url = crate::helpers::database_url(&db).into();
    let dir = tempfile::tempdir().expect("dir");
    settings.storage_url = format!("file://{}", dir.path().display());
    settings.clamd_addr = dead_addr();
    let down = carehub::startup::OpsServer::start(Arc::new(settings.clone()), 0).expect("ops server");
    settings.clamd_addr = clamd_addr();
    let up = carehub::startup::OpsServer::start(Arc::new(settings), 0).expect("ops server");

    let not_ready = reqwest::get(format!("http://127.0.0.1:{}/readyz", down.port())).await.expect("readyz");
    let ready = reqwest::get(format!("http://127.0.0.1:{}/readyz", up.port())).await.expect("readyz");
    down.stop();
    up.stop();

    assert_eq!(not_ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json_body(not_ready).await;
    assert_eq!(body["clamd"], "unavailable");
    assert!(body["detail"].as_str().expect("detail").contains("clamd"), "{body}");
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(json_body(ready).await["clamd"], "ok");
}

#[test]
fn the_scan_kinds_have_their_queues() {
    assert_eq!(ScanFile::QUEUE.name(), "carehub:file-scan");
    assert_eq!(RescanPending::QUEUE.name(), "carehub:file-rescan");
}
