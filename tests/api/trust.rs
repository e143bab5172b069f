//! Who holds access to a patient's records, read the way an attacker reads it: a grant belongs to
//! the login that redeemed the code (not to whoever knows the doctor's password); a reset
//! password goes to the doctor's phone, never to the hospital; writing into a record needs a
//! treating relationship; the role and tenant of a request are the account's, not the token's;
//! a doctor's own prescription list is audited as a records read.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use wiremock::{Mock, MockServer, matchers::method};

use crate::{
    helpers::{TestApp, TestDoctor, TestPatient, TestUser, json_body},
    jobs::{Workers, eventually, namespace, settings, twilio, twilio_created},
    prescriptions::prescription_body,
};

const GENERATE: &str = "/api/accounts/otp/generate/";
const VERIFY: &str = "/api/accounts/otp/verify/";
const GRANTS: &str = "/api/accounts/access-grants/";
const CREATE: &str = "/api/records/prescriptions/create/";

/// The patient makes a code to share and `token`'s login redeems it; the grant's id.
async fn shared_code_redeemed(app: &TestApp, patient: &TestPatient, token: &str) -> i64 {
    let made = app.post(GENERATE, &json!({}), Some(&patient.token)).await;
    assert_eq!(made.status(), StatusCode::OK);
    let code = json_body(made).await["otp"].as_str().expect("the patient's own code").to_owned();
    let verified = app.post(VERIFY, &json!({ "patient_id": patient.user.id, "otp": code }), Some(token)).await;
    assert_eq!(verified.status(), StatusCode::OK, "{:?}", verified.text().await);
    let grants = json_body(app.get(GRANTS, Some(&patient.token)).await).await;
    grants["results"][0]["id"].as_i64().expect("grant id")
}

fn records(patient: i64) -> String {
    format!("/api/records/patients/{patient}/prescriptions/")
}

/// The patient's view of one of their grants.
async fn grant_seen_by_patient(app: &TestApp, patient: &TestPatient, id: i64) -> Value {
    let grants = json_body(app.get(GRANTS, Some(&patient.token)).await).await;
    grants["results"].as_array().expect("list").iter().find(|g| g["id"] == id).cloned().expect("the grant is listed")
}

#[sqlx::test]
async fn a_grant_belongs_to_the_login_that_redeemed_the_code_and_ends_with_it(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let patient = app.patient("zainab").await;
    let grant = shared_code_redeemed(&app, &patient, &doctor.token).await;
    // The same account logged in a second time (another device, or someone who knows the password).
    let elsewhere = app.login(&doctor.user).await;

    let with_the_code = app.get(&records(patient.user.id), Some(&doctor.token)).await;
    let other_login = app.get(&records(patient.user.id), Some(&elsewhere.access)).await;
    let summary =
        app.get(&format!("/api/records/patients/{}/summary/", patient.user.id), Some(&elsewhere.access)).await;
    let write = app.post(CREATE, &prescription_body(patient.user.id), Some(&elsewhere.access)).await;

    assert_eq!(with_the_code.status(), StatusCode::OK);
    assert_eq!(other_login.status(), StatusCode::FORBIDDEN, "a second login holds nothing");
    assert_eq!(summary.status(), StatusCode::FORBIDDEN);
    assert_eq!(write.status(), StatusCode::FORBIDDEN, "nor may it write into the record");
    let stored: Option<uuid::Uuid> = sqlx::query_scalar("select session_id from access_grants where id = $1")
        .bind(grant)
        .fetch_one(&db)
        .await
        .expect("grant");
    assert!(stored.is_some(), "the grant names the login that redeemed the code");
    assert_eq!(grant_seen_by_patient(&app, &patient, grant).await["is_active"], true);

    // Ending that login ends its grant: the patient sees it ended.
    let logout = app.post("/api/token/blacklist/", &json!({ "refresh": doctor.refresh }), None).await;
    assert_eq!(logout.status(), StatusCode::OK);
    let seen = grant_seen_by_patient(&app, &patient, grant).await;
    assert_eq!(seen["is_active"], false);
    assert!(seen["revoked_at"].is_string(), "{seen}");
    let again = app.login(&doctor.user).await;
    let after = app.get(&records(patient.user.id), Some(&again.access)).await;
    assert_eq!(after.status(), StatusCode::FORBIDDEN, "a new login needs a code of its own");
}

async fn twilio_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM1")).mount(&server).await;
    server
}

/// The bodies of the SMS the Twilio stand-in received, with their recipients.
async fn sms_sent(server: &MockServer) -> Vec<(String, String)> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|r| {
            let field = |name: &str| {
                url::form_urlencoded::parse(&r.body)
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (field("To"), field("Body"))
        })
        .collect()
}

/// The temporary password in a reset SMS.
fn password_in(body: &str) -> String {
    body.split("Temporary password: ").nth(1).and_then(|rest| rest.split(' ').next()).expect("a password").to_owned()
}

#[sqlx::test]
async fn a_reset_password_goes_to_the_doctors_phone_and_the_hospital_learns_nothing_that_opens_records(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let jinnah = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&jinnah).await;
    let patient = app.patient("zainab").await;
    let grant = shared_code_redeemed(&app, &patient, &doctor.token).await;
    let path = format!("/api/hospitals/doctors/{}/reset-password/", doctor.id);

    let reset = app.post(&path, &json!({}), Some(&jinnah.token)).await;

    assert_eq!(reset.status(), StatusCode::OK);
    let body = json_body(reset).await;
    assert!(body["message"].is_string());
    assert_eq!(body["phone_number"], "+92*******7890", "the doctor's phone, masked");
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["message", "phone_number"], "no password, no credentials");
    // Every login of the doctor ends, with its grants; the old password no longer works.
    assert_eq!(app.get("/api/accounts/me/", Some(&doctor.token)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(grant_seen_by_patient(&app, &patient, grant).await["is_active"], false);
    let old = app.login_response(&doctor.user.username, &doctor.user.password).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);

    let server = twilio_server().await;
    let workers = Workers::start(&db, settings(&namespace()), twilio(&server));
    eventually(15, "the temporary password reaches Twilio", || async {
        sms_sent(&server).await.iter().any(|(_, body)| body.contains("Temporary password"))
    })
    .await;
    workers.stop().await;

    let sent = sms_sent(&server).await;
    let (to, text) = sent.iter().find(|(_, body)| body.contains("Temporary password")).expect("the reset SMS");
    assert_eq!(to, "+923214567890", "to the doctor's own phone");
    let password = password_in(text);
    assert!(password.len() >= 12);
    // The password is nowhere at rest: not in a row, the outbox or the audit trail.
    for table in ["password_resets", "outbox", "sms_messages", "audit_log"] {
        let leaked: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} t where t::text like '%' || $1 || '%'"
        )))
        .bind(&password)
        .fetch_one(&db)
        .await
        .expect("count");
        assert_eq!(leaked, 0, "the password is in no {table} row");
    }
    let delivery: String =
        sqlx::query_scalar("select delivery from password_resets").fetch_one(&db).await.expect("reset row");
    assert_eq!(delivery, "SENT");
    // The doctor logs in with it, must change it, and holds no grant until a patient gives one.
    let fresh = app.login(&TestUser { password: password.clone(), ..doctor.user.clone() }).await;
    let me = app.get("/api/accounts/me/", Some(&fresh.access)).await;
    assert_eq!(json_body(me).await["must_change_password"], true);
    let read = app.get(&records(patient.user.id), Some(&fresh.access)).await;
    assert_eq!(read.status(), StatusCode::FORBIDDEN);
    let rows = app.audit_rows("doctor_password_reset").await;
    assert_eq!(rows.len(), 1);
    let hospital_account: i64 = sqlx::query_scalar("select user_id from hospitals where id = $1")
        .bind(jinnah.id)
        .fetch_one(&db)
        .await
        .expect("hospital account");
    assert_eq!(rows[0].actor_id, Some(hospital_account));
}

#[sqlx::test]
async fn a_doctor_without_a_phone_is_not_reset_and_keeps_their_password(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let jinnah = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&jinnah).await;
    sqlx::query("update users set phone_number = null where id = $1")
        .bind(doctor.user.id)
        .execute(&db)
        .await
        .expect("no phone");

    let reset = app
        .post(&format!("/api/hospitals/doctors/{}/reset-password/", doctor.id), &json!({}), Some(&jinnah.token))
        .await;

    assert_eq!(reset.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(reset).await["phone_number"].is_array(), "the field is named");
    assert_eq!(app.login_response(&doctor.user.username, &doctor.user.password).await.status(), StatusCode::OK);
    let resets: i64 = sqlx::query_scalar("select count(*) from password_resets").fetch_one(&db).await.expect("count");
    assert_eq!(resets, 0);
    assert!(app.audit_rows("doctor_password_reset").await.is_empty());
}

/// A confirmed appointment of `patient` at the hospital assigned to `doctor`, `days` from now; its id.
async fn assigned(app: &TestApp, patient: i64, hospital: i64, department: i64, doctor: i64, days: i64) -> i64 {
    sqlx::query_scalar(
        "insert into appointments (patient_id, hospital_id, department_id, doctor_id, requested_time, confirmed_time, \
                                   duration_minutes, slot, status) \
         values ($1, $2, $3, $4, now() + make_interval(days => $5::int), now() + make_interval(days => $5::int), 30, \
                 tstzrange(now() + make_interval(days => $5::int), now() + make_interval(days => $5::int, mins => 30)), \
                 'COMPLETED') \
         returning id",
    )
    .bind(patient)
    .bind(hospital)
    .bind(department)
    .bind(doctor)
    .bind(i32::try_from(days).expect("days"))
    .fetch_one(&app.db)
    .await
    .expect("appointment")
}

async fn prescriptions(db: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from prescriptions").fetch_one(db).await.expect("count")
}

#[sqlx::test]
async fn only_the_doctor_assigned_to_a_recent_appointment_or_holding_a_grant_writes_a_prescription(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let department = app.department_at(&hospital, "Medicine").await;
    let treating = app.working_doctor_at(&hospital).await;
    let colleague: TestDoctor = app.working_doctor_at(&hospital).await;
    let patient = app.patient("zainab").await;
    let recent = assigned(&app, patient.user.id, hospital.id, department, treating.id, -2).await;
    let old = assigned(&app, patient.user.id, hospital.id, department, treating.id, -45).await;
    let with = |appointment: i64| {
        let mut body = prescription_body(patient.user.id);
        body["appointment"] = json!(appointment);
        body
    };

    let by_colleague = app.post(CREATE, &with(recent), Some(&colleague.token)).await;
    let too_late = app.post(CREATE, &with(old), Some(&treating.token)).await;
    assert_eq!(by_colleague.status(), StatusCode::FORBIDDEN, "another doctor of the same hospital");
    assert_eq!(too_late.status(), StatusCode::FORBIDDEN, "45 days after the appointment");
    assert_eq!(prescriptions(&db).await, 0, "nothing written");

    let by_treating = app.post(CREATE, &with(recent), Some(&treating.token)).await;
    assert_eq!(by_treating.status(), StatusCode::CREATED);
    let id = json_body(by_treating).await["id"].as_i64().expect("id");

    // Once the window has passed, the author's edit is a write like any other.
    sqlx::query("update appointments set confirmed_time = now() - interval '31 days' where id = $1")
        .bind(recent)
        .execute(&db)
        .await
        .expect("time passes");
    let path = format!("/api/records/prescriptions/{id}/");
    let late_edit = app.patch(&path, &json!({ "diagnosis": "Pneumonia" }), Some(&treating.token)).await;
    assert_eq!(late_edit.status(), StatusCode::FORBIDDEN);
    assert_eq!(prescriptions(&db).await, 1, "no new version");
    // Adding a file to it is a write too.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(crate::reports::pdf("late")).file_name("late.pdf"));
    let late_file = app
        .client
        .post(app.url(&format!("/api/records/prescriptions/{id}/attachments/")))
        .bearer_auth(&treating.token)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(late_file.status(), StatusCode::FORBIDDEN);
    let attached: i64 =
        sqlx::query_scalar("select count(*) from prescription_attachments").fetch_one(&db).await.expect("count");
    assert_eq!(attached, 0, "no file attached");

    // The colleague with a code from the patient may write; so may the author with one.
    shared_code_redeemed(&app, &patient, &colleague.token).await;
    let granted = app.post(CREATE, &prescription_body(patient.user.id), Some(&colleague.token)).await;
    assert_eq!(granted.status(), StatusCode::CREATED);
    shared_code_redeemed(&app, &patient, &treating.token).await;
    let edit = app.patch(&path, &json!({ "diagnosis": "Pneumonia" }), Some(&treating.token)).await;
    assert_eq!(edit.status(), StatusCode::OK);
    assert_eq!(prescriptions(&db).await, 3);
}

#[sqlx::test]
async fn a_token_whose_role_or_hospital_no_longer_matches_the_account_is_refused(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let jinnah = app.approved_hospital("jinnah").await;
    let civil = app.approved_hospital("civil").await;
    let doctor = app.working_doctor_at(&jinnah).await;
    let patient = app.patient("zainab").await;
    assert_eq!(app.get("/api/accounts/me/", Some(&patient.token)).await.status(), StatusCode::OK);
    assert_eq!(app.get("/api/accounts/me/", Some(&doctor.token)).await.status(), StatusCode::OK);

    sqlx::query("update users set user_type = 'ADMIN' where id = $1")
        .bind(patient.user.id)
        .execute(&db)
        .await
        .expect("role changed");
    sqlx::query("update doctor_profiles set hospital_id = $2 where id = $1")
        .bind(doctor.id)
        .bind(civil.id)
        .execute(&db)
        .await
        .expect("moved");

    eventually(5, "the patient's token no longer acts as the account", || async {
        app.get("/api/accounts/me/", Some(&patient.token)).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    eventually(5, "the doctor's token no longer acts for the old hospital", || async {
        app.get("/api/accounts/me/", Some(&doctor.token)).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    // A new login carries the account's role and hospital as they are now.
    let moved = app.login(&doctor.user).await;
    assert_eq!(app.get("/api/accounts/me/", Some(&moved.access)).await.status(), StatusCode::OK);
}

#[sqlx::test]
async fn a_doctors_own_prescription_list_is_audited_as_a_records_read(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let patient = app.patient("zainab").await;
    app.grant(doctor.id, patient.user.id, 30).await;
    let written = app.post(CREATE, &prescription_body(patient.user.id), Some(&doctor.token)).await;
    assert_eq!(written.status(), StatusCode::CREATED);

    let list = app.get("/api/records/prescriptions/", Some(&doctor.token)).await;
    let own = app.get("/api/records/prescriptions/", Some(&patient.token)).await;

    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(json_body(list).await["count"], 1);
    assert_eq!(own.status(), StatusCode::OK);
    let rows = app.audit_rows("records_read").await;
    assert_eq!(rows.len(), 1, "the doctor's read, not the patient's own");
    assert_eq!(rows[0].actor_id, Some(doctor.user.id));
    assert_eq!(rows[0].details["read"], "prescriptions");
    assert_eq!(rows[0].details["patient_ids"], json!([patient.user.id]));
}

#[sqlx::test]
async fn a_hospital_cannot_flood_its_doctors_phone_with_resets(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let jinnah = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&jinnah).await;
    let path = format!("/api/hospitals/doctors/{}/reset-password/", doctor.id);

    let answers = futures::future::join_all((0..5).map(|_| app.post(&path, &json!({}), Some(&jinnah.token)))).await;

    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 2, "{statuses:?}");
    let throttled = answers.iter().find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).expect("a 429");
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((3000..=3600).contains(&retry_after), "{retry_after}");
    let resets: i64 = sqlx::query_scalar("select count(*) from password_resets").fetch_one(&db).await.expect("count");
    assert_eq!(resets, 3, "concurrent resets count each other");
}
