//! One-time codes and access grants: a doctor's code reaches the patient only by SMS (made at
//! send time, never stored or queued in clear), single use, killed by the 5th wrong try, one grant
//! per code under concurrency, 3 codes per patient per 15 minutes across two web processes; the
//! patient's own sharing code; the patient's list of grants and revocation.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use wiremock::{Mock, MockServer, matchers::method};

use crate::{
    helpers::{TestApp, TestDoctor, TestPatient, json_body},
    jobs::{Workers, eventually, namespace, redis, settings, twilio, twilio_created},
};

const GENERATE: &str = "/api/accounts/otp/generate/";
const VERIFY: &str = "/api/accounts/otp/verify/";
const GRANTS: &str = "/api/accounts/access-grants/";

struct Scene {
    app: TestApp,
    patient: TestPatient,
    doctor: TestDoctor,
}

async fn scene(db: &PgPool) -> Scene {
    let app = TestApp::spawn(db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let patient = app.patient("zainab").await;
    Scene { app, patient, doctor }
}

async fn generate(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post(GENERATE, &body, Some(token)).await
}

async fn verify(app: &TestApp, doctor: &TestDoctor, patient: i64, otp: &str) -> (StatusCode, Value) {
    let response = app.post(VERIFY, &json!({ "patient_id": patient, "otp": otp }), Some(&doctor.token)).await;
    (response.status(), json_body(response).await)
}

/// The code in the latest code SMS the Twilio stand-in received (form field `Body`; the
/// hospital's approval SMS goes there too).
async fn code_from_sms(server: &MockServer) -> String {
    let requests = server.received_requests().await.expect("recorded");
    let body = requests
        .iter()
        .rev()
        .filter_map(|r| url::form_urlencoded::parse(&r.body).find(|(k, _)| k == "Body").map(|(_, v)| v.into_owned()))
        .find(|body| body.contains("is your code"))
        .expect("a code SMS was sent");
    body.split(|c: char| !c.is_ascii_digit()).find(|part| part.len() == 6).expect("a six-digit code").to_owned()
}

/// Code SMS the stand-in received.
async fn codes_sent(server: &MockServer) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| String::from_utf8_lossy(&r.body).contains("is+your+code")).count()
}

/// A doctor's code, generated through the API and delivered through the real relay and worker
/// to the Twilio stand-in; the code the patient received.
async fn delivered_code(scene: &Scene, server: &MockServer) -> String {
    let before = codes_sent(server).await;
    let response = generate(&scene.app, &scene.doctor.token, json!({ "patient_id": scene.patient.user.id })).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    let workers = Workers::start(&scene.app.db, settings(&namespace()), twilio(server));
    eventually(10, "the SMS reaches Twilio", || async { codes_sent(server).await > before }).await;
    workers.stop().await;
    code_from_sms(server).await
}

async fn twilio_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM1")).mount(&server).await;
    server
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

#[sqlx::test]
async fn a_doctors_code_reaches_the_patient_by_sms_only_and_never_waits_anywhere_in_clear(db: PgPool) {
    let scene = scene(&db).await;
    let app = &scene.app;
    let response = generate(app, &scene.doctor.token, json!({ "patient_id": scene.patient.user.id })).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["phone_number"], "+92*******4321", "{body}");
    assert!(body.get("otp").is_none(), "no code in a doctor's answer: {body}");
    assert!(body["expires_at"].as_str().is_some());
    // Until it is sent, no code exists: the row holds no hash, the outbox payload the id only.
    let (hmac_set, delivery): (bool, String) =
        sqlx::query_as("select code_hmac is not null, delivery from otp_requests").fetch_one(&db).await.expect("row");
    assert_eq!((hmac_set, delivery.as_str()), (false, "QUEUED"));
    let payload: Value =
        sqlx::query_scalar("select payload from outbox where job_type = 'SendOtp'").fetch_one(&db).await.expect("job");
    assert_eq!(payload, json!({ "otp_request_id": payload["otp_request_id"].as_i64().expect("id") }));

    let server = twilio_server().await;
    let ns = namespace();
    let workers = Workers::start(&db, settings(&ns), twilio(&server));
    eventually(10, "the SMS reaches Twilio", || async { codes_sent(&server).await > 0 }).await;
    let code = code_from_sms(&server).await;
    eventually(5, "the delivery is recorded", || async {
        sqlx::query_scalar::<_, String>("select delivery from otp_requests").fetch_one(&db).await.expect("row")
            == "SENT"
    })
    .await;
    workers.stop().await;

    // The code is nowhere but in the SMS: no table's text, no Redis value of the test's queues.
    let everything: String = sqlx::query_scalar(
        "select coalesce(string_agg(t::text, ' '), '') from ( \
             select to_jsonb(o) as t from otp_requests o union all select to_jsonb(a) from audit_log a \
             union all select to_jsonb(x) from outbox x union all select to_jsonb(s) from sms_messages s) rows",
    )
    .fetch_one(&db)
    .await
    .expect("dump");
    assert!(!everything.contains(&code), "the code is stored in clear somewhere");
    let mut redis = redis().await;
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{ns}*")).query_async(&mut redis).await.expect("keys");
    for key in keys {
        let dump: Vec<u8> = redis::cmd("DUMP").arg(&key).query_async(&mut redis).await.unwrap_or_default();
        assert!(!String::from_utf8_lossy(&dump).contains(&code), "the code is in Redis under {key}");
    }

    let (status, verified) = verify(app, &scene.doctor, scene.patient.user.id, &code).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["patient_id"], scene.patient.user.id);
    let until: chrono::DateTime<chrono::Utc> =
        verified["access_granted_until"].as_str().expect("until").parse().expect("rfc 3339");
    let minutes = (until - chrono::Utc::now()).num_minutes();
    assert!((28..=30).contains(&minutes), "a 30-minute grant, got {minutes}");
    let grants: i64 = sqlx::query_scalar("select count(*) from access_grants where doctor_id = $1 and patient_id = $2")
        .bind(scene.doctor.id)
        .bind(scene.patient.user.id)
        .fetch_one(&db)
        .await
        .expect("grants");
    assert_eq!(grants, 1);
    assert_eq!(app.audit_rows("otp_requested").await.len(), 1);
    assert_eq!(app.audit_rows("access_granted").await.len(), 1);
}

#[sqlx::test]
async fn the_fifth_wrong_try_kills_the_code_and_the_right_one_fails_afterwards(db: PgPool) {
    let scene = scene(&db).await;
    let server = twilio_server().await;
    let code = delivered_code(&scene, &server).await;
    let patient = scene.patient.user.id;
    for attempt in 1..=4 {
        let (status, body) = verify(&scene.app, &scene.doctor, patient, &wrong(&code)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_invalid")), "try {attempt}");
    }
    let (status, body) = verify(&scene.app, &scene.doctor, patient, &wrong(&code)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_locked")), "the 5th try");
    let (status, body) = verify(&scene.app, &scene.doctor, patient, &code).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("otp_locked")),
        "the right code, too late"
    );
    let grants: i64 = sqlx::query_scalar("select count(*) from access_grants").fetch_one(&db).await.expect("count");
    assert_eq!(grants, 0);
}

#[sqlx::test]
async fn a_code_works_once_and_concurrent_right_answers_give_exactly_one_grant(db: PgPool) {
    let scene = scene(&db).await;
    let server = twilio_server().await;
    let code = delivered_code(&scene, &server).await;
    let patient = scene.patient.user.id;
    let attempts = (0..8).map(|_| verify(&scene.app, &scene.doctor, patient, &code));
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    assert_eq!(ok, 1, "{results:?}");
    for (status, body) in results.iter().filter(|(status, _)| *status != StatusCode::OK) {
        assert_eq!((*status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_used")));
    }
    let grants: i64 = sqlx::query_scalar("select count(*) from access_grants").fetch_one(&db).await.expect("count");
    assert_eq!(grants, 1);
}

#[sqlx::test]
async fn an_expired_code_is_told_apart_and_another_doctors_tries_do_not_count(db: PgPool) {
    let scene = scene(&db).await;
    let server = twilio_server().await;
    let code = delivered_code(&scene, &server).await;
    let patient = scene.patient.user.id;
    let hospital = scene.app.approved_hospital("aga").await;
    let other = scene.app.working_doctor_at(&hospital).await;
    for _ in 0..6 {
        let (status, body) = verify(&scene.app, &other, patient, &code).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_invalid")), "not theirs");
    }
    let attempts: i32 =
        sqlx::query_scalar("select failed_attempts from otp_requests").fetch_one(&db).await.expect("row");
    assert_eq!(attempts, 0, "another doctor's tries do not count against the code");
    sqlx::query(
        "update otp_requests set created_at = now() - interval '11 minutes', expires_at = now() - interval '1 minute'",
    )
    .execute(&db)
    .await
    .expect("age the code");
    let (status, body) = verify(&scene.app, &scene.doctor, patient, &code).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_expired")));
}

#[sqlx::test]
async fn ten_concurrent_codes_for_one_patient_over_two_web_processes_give_exactly_three(db: PgPool) {
    let scene = scene(&db).await;
    let second = TestApp::spawn(&db).await;
    let patient = scene.patient.user.id;
    let requests = (0..10).map(|i| {
        let app = if i % 2 == 0 { &scene.app } else { &second };
        generate(app, &scene.doctor.token, json!({ "patient_id": patient }))
    });
    let responses = futures::future::join_all(requests).await;
    let ok = responses.iter().filter(|r| r.status() == StatusCode::OK).count();
    let throttled: Vec<_> = responses.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!((ok, throttled.len()), (3, 7));
    for response in throttled {
        let retry: u64 = response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=900).contains(&retry), "{retry}");
    }
    let rows: i64 = sqlx::query_scalar("select count(*) from otp_requests").fetch_one(&db).await.expect("count");
    assert_eq!(rows, 3);
}

#[sqlx::test]
async fn a_patients_own_code_is_shown_to_them_and_any_one_doctor_redeems_it_once(db: PgPool) {
    let scene = scene(&db).await;
    let app = &scene.app;
    let response = generate(app, &scene.patient.token, json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    let code = body["otp"].as_str().expect("the patient sees their code").to_owned();
    assert_eq!(code.len(), 10);
    let jobs: i64 = sqlx::query_scalar("select count(*) from outbox where job_type = 'SendOtp'")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(jobs, 0, "no SMS for a code the patient shares themselves");
    let stored: String =
        sqlx::query_scalar("select to_jsonb(o)::text from otp_requests o").fetch_one(&db).await.expect("row");
    assert!(!stored.contains(&code));

    let hospital = app.approved_hospital("aga").await;
    let other = app.working_doctor_at(&hospital).await;
    let (status, _) = verify(app, &other, scene.patient.user.id, &code).await;
    assert_eq!(status, StatusCode::OK, "any doctor may redeem it");
    let (status, body) = verify(app, &scene.doctor, scene.patient.user.id, &code).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_used")), "once");

    // A patient cannot make a code for someone else.
    let someone = app.patient("someone").await;
    let response = generate(app, &scene.patient.token, json!({ "patient_id": someone.user.id })).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn an_unknown_patient_gets_the_same_answer_without_an_sms_and_so_does_a_shared_phone(db: PgPool) {
    let scene = scene(&db).await;
    let app = &scene.app;
    let response = generate(app, &scene.doctor.token, json!({ "patient_id": 999_999 })).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert!(body["message"].is_string() && body["expires_at"].is_string() && body["phone_number"].is_string());
    let response = generate(app, &scene.doctor.token, json!({ "patient_phone": "+923339998877" })).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["phone_number"], "+92*******8877");
    let rows: i64 = sqlx::query_scalar("select count(*) from otp_requests").fetch_one(&db).await.expect("count");
    assert_eq!(rows, 0, "no code and no SMS for nobody");

    // Every test patient registers with the same phone: two of them make it ambiguous, which is
    // answered as nobody is (telling it would tell that several patients have the number).
    let response = generate(app, &scene.doctor.token, json!({ "patient_phone": "0300 7654321" })).await;
    assert_eq!(response.status(), StatusCode::OK, "one patient with this phone");
    app.patient("twin").await;
    let response = generate(app, &scene.doctor.token, json!({ "patient_phone": "0300 7654321" })).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["phone_number"], "+92*******4321");
    let rows: i64 = sqlx::query_scalar("select count(*) from otp_requests").fetch_one(&db).await.expect("count");
    assert_eq!(rows, 1, "a code for the one patient only, none for a shared phone");
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds")
}

/// Asking for nobody (an id or a phone no patient has) answers as asking for a patient does, the
/// 4th time within 15 minutes too: before, only a real patient's requests were limited, so a
/// 429 told a doctor that somebody had the id or phone. Nothing is made or sent for nobody, and
/// what is counted holds no typed phone number.
#[sqlx::test]
async fn asking_for_nobody_is_limited_as_asking_for_a_patient_and_sends_nothing(db: PgPool) {
    let scene = scene(&db).await;
    let app = &scene.app;
    let subjects = [
        ("a patient", json!({ "patient_id": scene.patient.user.id })),
        ("an unknown id", json!({ "patient_id": 999_999 })),
        ("an unknown phone", json!({ "patient_phone": "+923339998877" })),
    ];
    for (what, body) in &subjects {
        for n in 1..=3 {
            let response = generate(app, &scene.doctor.token, body.clone()).await;
            assert_eq!(response.status(), StatusCode::OK, "{what}, request {n}");
        }
        let response = generate(app, &scene.doctor.token, body.clone()).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{what}, request 4");
        assert!((1..=900).contains(&retry_after(&response)), "{what}");
        assert_eq!(json_body(response).await["code"], "throttled", "{what}");
    }

    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&db);
    assert_eq!(count("select count(*) from otp_requests").await.expect("count"), 3, "codes for the patient only");
    assert_eq!(count("select count(*) from outbox where job_type = 'SendOtp'").await.expect("count"), 3);
    assert_eq!(count("select count(*) from otp_unmatched_requests").await.expect("count"), 6);
    let stored: String = sqlx::query_scalar(
        "select string_agg(to_jsonb(u)::text || encode(subject, 'escape'), ' ') from otp_unmatched_requests u",
    )
    .fetch_one(&db)
    .await
    .expect("rows");
    assert!(!stored.contains("3339998877") && !stored.contains("999999"), "no typed identifier is kept: {stored}");
    let audited =
        count("select count(*) from audit_log where action = 'otp_requested_for_nobody'").await.expect("count");
    assert_eq!(audited, 6, "each request for nobody is audited, the refused ones not");

    // The access sweep forgets them once past every window (a day), and not before.
    sqlx::query("update otp_unmatched_requests set created_at = now() - interval '25 hours' where id % 2 = 0")
        .execute(&db)
        .await
        .expect("age");
    let ctx = carehub_workers::JobContext::new(db.clone(), 3);
    let sweep = carehub::access::jobs::AccessSweep { tick: "2026-11-26T00:00:00Z".into() };
    carehub::access::jobs::access_sweep(sweep, ctx).await.expect("sweep");
    assert_eq!(count("select count(*) from otp_unmatched_requests").await.expect("count"), 3);
}

/// Once a doctor's budget is spent (requests for nobody count towards it), a request for a
/// patient and one for nobody get the same 429: before, requests for nobody were never counted
/// nor refused, so past the budget 429 meant somebody and 200 nobody.
#[sqlx::test]
async fn past_a_doctors_budget_a_patient_and_nobody_get_the_same_answer(db: PgPool) {
    let app = TestApp::spawn_with(&db, |settings| settings.access.otp_per_doctor = 4).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let (zainab, omar) = (app.patient("zainab").await, app.patient("omar").await);
    for body in [
        json!({ "patient_id": 999_001 }),
        json!({ "patient_id": zainab.user.id }),
        json!({ "patient_id": 999_002 }),
        json!({ "patient_id": zainab.user.id }),
    ] {
        let response = generate(&app, &doctor.token, body.clone()).await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
    }
    for body in [json!({ "patient_id": omar.user.id }), json!({ "patient_id": 999_003 })] {
        let response = generate(&app, &doctor.token, body.clone()).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!((1..=3600).contains(&retry_after(&response)), "{body}");
    }
    let rows: i64 = sqlx::query_scalar("select count(*) from otp_requests").fetch_one(&db).await.expect("count");
    assert_eq!(rows, 2);
}

/// A doctor's budget holds when its requests name different patients (and nobody) at once,
/// through two web processes: the doctor's count is taken under the doctor's lock. Three doctors,
/// 20 requests each, all at once.
#[sqlx::test]
async fn a_doctors_budget_holds_under_concurrent_requests_for_different_patients(db: PgPool) {
    let app = TestApp::spawn_with(&db, |settings| settings.access.otp_per_doctor = 5).await;
    let second = TestApp::spawn_with(&db, |settings| settings.access.otp_per_doctor = 5).await;
    let hospital = app.approved_hospital("jinnah").await;
    let mut doctors = Vec::new();
    for _ in 0..3 {
        doctors.push(app.working_doctor_at(&hospital).await);
    }
    let mut requests = Vec::new();
    for (d, doctor) in (0_i64..).zip(&doctors) {
        // The first doctor names four patients who exist, then nobody; the others nobody.
        let known = if d == 0 { 4 } else { 0 };
        for n in 0..20 {
            let patient =
                if n < known { app.patient(&format!("patient{n}")).await.user.id } else { 990_000 + 100 * d + n };
            requests.push((doctor.token.clone(), json!({ "patient_id": patient })));
        }
    }
    let responses = futures::future::join_all(requests.iter().enumerate().map(|(i, (token, body))| {
        let app = if i % 2 == 0 { &app } else { &second };
        generate(app, token, body.clone())
    }))
    .await;
    let ok = responses.iter().filter(|r| r.status() == StatusCode::OK).count();
    let throttled = responses.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((ok, throttled), (15, 45));
    let counted: Vec<i64> = sqlx::query_scalar(
        "select count(*) from (select doctor_id from otp_requests union all select doctor_id from otp_unmatched_requests) r \
         group by doctor_id order by doctor_id",
    )
    .fetch_all(&db)
    .await
    .expect("count");
    assert_eq!(counted, [5, 5, 5], "each doctor's requests within its budget");
}

#[sqlx::test]
async fn only_doctors_and_patients_ask_for_codes_and_only_doctors_verify(db: PgPool) {
    let scene = scene(&db).await;
    let app = &scene.app;
    let admin = app.admin().await;
    let hospital = app.approved_hospital("aga").await;
    for token in [&admin.token, &hospital.token] {
        let response = generate(app, token, json!({ "patient_id": scene.patient.user.id })).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let response = app
        .post(VERIFY, &json!({ "patient_id": scene.patient.user.id, "otp": "123456" }), Some(&scene.patient.token))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app.post(GENERATE, &json!({ "patient_id": scene.patient.user.id }), None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.post(VERIFY, &json!({ "patient_id": scene.patient.user.id }), Some(&scene.doctor.token)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(response).await["otp"].is_array());
}

#[sqlx::test]
async fn a_patient_lists_their_grants_and_a_revoked_one_ends_at_once(db: PgPool) {
    let scene = scene(&db).await;
    let app = &scene.app;
    let live = app.grant(scene.doctor.id, scene.patient.user.id, 30).await;
    let expired = app.grant(scene.doctor.id, scene.patient.user.id, -5).await;
    let someone = app.patient("someone").await;
    let theirs = app.grant(scene.doctor.id, someone.user.id, 30).await;

    let response = app.get(GRANTS, Some(&scene.patient.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["count"], 2, "{body}");
    let by_id = |id: i64| body["results"].as_array().expect("list").iter().find(|g| g["id"] == id).cloned();
    let live_row = by_id(live).expect("live grant listed");
    assert_eq!(live_row["is_active"], true);
    assert_eq!(live_row["doctor"], scene.doctor.id);
    assert_eq!(live_row["doctor_name"], "Ali Mehmood");
    assert!(live_row["hospital_name"].is_string());
    assert_eq!(by_id(expired).expect("ended grant listed")["is_active"], false);
    assert!(by_id(theirs).is_none(), "never another patient's grant");

    let response = app
        .client
        .delete(app.url(&format!("{GRANTS}{theirs}/")))
        .bearer_auth(&scene.patient.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "another patient's grant");
    for id in [live, expired] {
        let response = app
            .client
            .delete(app.url(&format!("{GRANTS}{id}/")))
            .bearer_auth(&scene.patient.token)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let live_now: i64 = sqlx::query_scalar(
        "select count(*) from access_grants where patient_id = $1 and revoked_at is null and expires_at > now()",
    )
    .bind(scene.patient.user.id)
    .fetch_one(&db)
    .await
    .expect("count");
    assert_eq!(live_now, 0);
    let expired_revoked: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select revoked_at from access_grants where id = $1")
            .bind(expired)
            .fetch_one(&db)
            .await
            .expect("row");
    assert!(expired_revoked.is_none(), "a grant that had ended is left as it was");
    assert_eq!(app.audit_rows("access_revoked").await.len(), 1);
    let response = app.get(GRANTS, Some(&scene.doctor.token)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn a_verified_code_opens_the_summary_until_the_patient_revokes_the_grant(db: PgPool) {
    let scene = scene(&db).await;
    let app = &scene.app;
    let patient = scene.patient.user.id;
    let summary = format!("/api/records/patients/{patient}/summary/");
    assert_eq!(app.get(&summary, Some(&scene.doctor.token)).await.status(), StatusCode::FORBIDDEN, "no grant yet");
    let forged = format!("{summary}?otp_verified=true");
    assert_eq!(
        app.get(&forged, Some(&scene.doctor.token)).await.status(),
        StatusCode::FORBIDDEN,
        "a claim grants nothing"
    );

    let shared = json_body(generate(app, &scene.patient.token, json!({})).await).await;
    let code = shared["otp"].as_str().expect("code").to_owned();
    let (status, _) = verify(app, &scene.doctor, patient, &code).await;
    assert_eq!(status, StatusCode::OK);
    let response = app.get(&summary, Some(&scene.doctor.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["patient_id"], patient);
    for field in ["patient_name", "total_prescriptions", "total_reports", "recent_prescriptions", "recent_reports"] {
        assert!(body.get(field).is_some(), "{field} in {body}");
    }
    let grant: i64 = sqlx::query_scalar("select id from access_grants").fetch_one(&db).await.expect("grant");
    let reads = app.audit_rows("records_read").await;
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].details["grant_id"], grant);
    assert_eq!(reads[0].details["read"], "summary");

    // The patient's own read is not audited as another person's; others see nothing.
    assert_eq!(app.get(&summary, Some(&scene.patient.token)).await.status(), StatusCode::OK);
    assert_eq!(app.audit_rows("records_read").await.len(), 1);
    let hospital = app.approved_hospital("aga").await;
    let someone = app.patient("someone").await;
    for token in [&hospital.token, &someone.token] {
        assert_eq!(app.get(&summary, Some(token)).await.status(), StatusCode::FORBIDDEN);
    }
    let admin = app.admin().await;
    assert_eq!(app.get(&summary, Some(&admin.token)).await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/records/patients/999999/summary/", Some(&admin.token)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&summary, None).await.status(), StatusCode::UNAUTHORIZED);

    let revoked = app
        .client
        .delete(app.url(&format!("{GRANTS}{grant}/")))
        .bearer_auth(&scene.patient.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&summary, Some(&scene.doctor.token)).await.status(),
        StatusCode::FORBIDDEN,
        "access ends at once"
    );
}
