//! One-time codes that tell a doctor nothing and cannot be used against a patient: `generate`
//! answers alike, byte for byte, whether or not the patient exists, has a phone or shares it,
//! within the same limits; `verify` has budgets of failed tries of its own (per doctor, per
//! hospital, per client address, counted in Postgres), and no doctor's wrong tries kill a code a
//! patient shared; doctors' requests never spend the patient's own budget; the code SMS carries
//! only a name's letters; the advisory locks each have a key space of their own.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use wiremock::{Mock, MockServer, matchers::method};

use crate::{
    helpers::{TestApp, TestDoctor, TestPatient, json_body},
    jobs::{Workers, eventually, namespace, settings, twilio, twilio_created},
};

const GENERATE: &str = "/api/accounts/otp/generate/";
const VERIFY: &str = "/api/accounts/otp/verify/";

async fn generate(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post(GENERATE, &body, Some(token)).await
}

/// A doctor's try of `otp` for `patient` (an id, or a body naming the patient otherwise).
async fn verify(app: &TestApp, doctor: &TestDoctor, patient: i64, otp: &str) -> reqwest::Response {
    app.post(VERIFY, &json!({ "patient_id": patient, "otp": otp }), Some(&doctor.token)).await
}

async fn status_and_code(response: reqwest::Response) -> (StatusCode, Option<String>) {
    let status = response.status();
    (status, json_body(response).await["code"].as_str().map(str::to_owned))
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds")
}

async fn count(db: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.expect("count")
}

/// A code the patient makes to share, as their dashboard shows it.
async fn shared_code(app: &TestApp, patient: &TestPatient) -> String {
    let response = generate(app, &patient.token, json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    json_body(response).await["otp"].as_str().expect("the patient sees their code").to_owned()
}

/// A wrong code of the same length as `code`.
fn wrong(code: &str, n: u64) -> String {
    let value: u64 = code.parse().expect("digits");
    let modulus = 10_u64.pow(u32::try_from(code.len()).expect("short"));
    format!("{:0width$}", (value + 1 + n) % modulus, width = code.len())
}

// ---- 7. generate tells nothing ----------------------------------------------------------------

/// Before, an unknown id's mask was `*******` and a real patient's `+92*******4321`: the answer
/// told a doctor who is a patient. Now every field has the same shape and byte length, and the
/// same unknown id shows the same mask each time, as a real patient's does.
#[sqlx::test]
async fn an_unknown_patient_is_answered_like_a_real_one_field_by_field_byte_for_byte(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let patient = app.patient("zainab").await;

    let answer = |body: Value| {
        let app = &app;
        let token = doctor.token.clone();
        async move {
            let response = generate(app, &token, body).await;
            assert_eq!(response.status(), StatusCode::OK);
            let length = response.headers()["content-length"].to_str().expect("ascii").to_owned();
            let text = response.text().await.expect("body");
            (length, text.len(), serde_json::from_str::<Value>(&text).expect("json"))
        }
    };
    let (real_length, real_bytes, real) = answer(json!({ "patient_id": patient.user.id })).await;
    let (nobody_length, nobody_bytes, nobody) = answer(json!({ "patient_id": 999_999 })).await;
    let (_, _, again) = answer(json!({ "patient_id": 999_999 })).await;

    let keys = |v: &Value| v.as_object().expect("object").keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&real), keys(&nobody), "the same fields");
    assert_eq!(real["message"], nobody["message"]);
    let field = |v: &Value, name: &str| v[name].as_str().expect("a string").to_owned();
    for name in ["message", "phone_number", "expires_at"] {
        assert_eq!(field(&real, name).len(), field(&nobody, name).len(), "{name}: {real} / {nobody}");
    }
    let (real_phone, nobody_phone) = (field(&real, "phone_number"), field(&nobody, "phone_number"));
    assert_eq!(real_phone, "+92*******4321");
    assert_eq!(&nobody_phone[..10], "+92*******", "{nobody_phone}");
    assert!(nobody_phone[10..].bytes().all(|b| b.is_ascii_digit()), "{nobody_phone}");
    assert_eq!(nobody_phone, field(&again, "phone_number"), "the same unknown id, the same mask");
    for answer in [&real, &nobody] {
        let at: chrono::DateTime<chrono::Utc> = field(answer, "expires_at").parse().expect("rfc 3339");
        assert!((9..=10).contains(&(at - chrono::Utc::now()).num_minutes()), "{answer}");
    }
    assert_eq!((real_length, real_bytes), (nobody_length, nobody_bytes), "the same byte length");

    // An unknown phone typed nationally is masked as a stored (E.164) number is.
    let response = generate(&app, &doctor.token, json!({ "patient_phone": "0333 9998877" })).await;
    assert_eq!(json_body(response).await["phone_number"], "+92*******8877");
    assert_eq!(count(&db, "select count(*) from otp_requests").await, 1, "a code for the patient only");
}

/// Before, a patient with no phone on file, and a phone several patients share, answered 400
/// before any limit or audit row: a probe that named a patient. Now both are answered as
/// nobody is (200, no code, no SMS), counted against the same 3 per 15 minutes and the doctor's
/// budget, and audited.
#[sqlx::test]
async fn a_patient_without_a_phone_and_a_shared_phone_are_answered_as_nobody_within_the_same_limits(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let phoneless = app.patient("zainab").await;
    sqlx::query("update users set phone_number = null where id = $1")
        .bind(phoneless.user.id)
        .execute(&db)
        .await
        .expect("no phone");
    // Every test patient registers with the same phone: two more make it shared.
    app.patient("twin").await;
    app.patient("other_twin").await;

    let subjects = [
        ("a patient without a phone", json!({ "patient_id": phoneless.user.id })),
        ("a shared phone", json!({ "patient_phone": "0300 7654321" })),
    ];
    for (what, body) in &subjects {
        for n in 1..=3 {
            let response = generate(&app, &doctor.token, body.clone()).await;
            assert_eq!(response.status(), StatusCode::OK, "{what}, request {n}");
            let answer = json_body(response).await;
            let mask = answer["phone_number"].as_str().expect("mask");
            assert!(mask.len() == 14 && mask.starts_with("+92*******"), "{what}: {answer}");
            assert!(answer.get("otp").is_none());
        }
        let response = generate(&app, &doctor.token, body.clone()).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{what}, request 4");
        assert!((1..=900).contains(&retry_after(&response)), "{what}");
    }
    assert_eq!(count(&db, "select count(*) from otp_requests").await, 0, "no code");
    assert_eq!(count(&db, "select count(*) from outbox where job_type = 'SendOtp'").await, 0, "no SMS");
    assert_eq!(count(&db, "select count(*) from otp_unmatched_requests").await, 6, "each counted");
    let audited = app.audit_rows("otp_requested_for_nobody").await;
    assert_eq!(audited.len(), 6, "each answered request audited, the refused ones not");
    assert!(audited.iter().all(|row| row.actor_id == Some(doctor.user.id)));

    // Verifying for a shared phone is a wrong try like any other, not a 400 naming patient_id.
    let response =
        app.post(VERIFY, &json!({ "patient_phone": "0300 7654321", "otp": "123456" }), Some(&doctor.token)).await;
    assert_eq!(status_and_code(response).await, (StatusCode::BAD_REQUEST, Some("otp_invalid".into())));
    assert_eq!(count(&db, "select count(*) from otp_failed_verifications").await, 1);
}

// ---- 8. verify has budgets of its own ---------------------------------------------------------

/// Before, verification had no limit: a doctor could try codes for ever, each try an audit row.
/// Now each doctor has 10 failed tries per hour whatever the patients (a patient or nobody),
/// counted in Postgres so two web processes share them; past it 429 with `Retry-After`, for a
/// patient and for nobody alike, the right code too, with nothing written.
#[sqlx::test]
async fn a_doctors_failed_verifications_are_limited_across_patients_and_processes(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let second = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let (zainab, omar) = (app.patient("zainab").await, app.patient("omar").await);
    let code = shared_code(&app, &zainab).await;

    let targets = [zainab.user.id, omar.user.id, 999_999];
    for n in 0..10 {
        let through = if n % 2 == 0 { &app } else { &second };
        let response = verify(through, &doctor, targets[n % 3], &wrong(&code, n as u64)).await;
        assert_eq!(status_and_code(response).await, (StatusCode::BAD_REQUEST, Some("otp_invalid".into())), "try {n}");
    }
    for (what, through, patient, otp) in [
        ("a patient", &app, omar.user.id, "123456".to_owned()),
        ("nobody", &second, 999_999, "123456".to_owned()),
        ("the right code", &app, zainab.user.id, code.clone()),
    ] {
        let response = verify(through, &doctor, patient, &otp).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
        assert!((3500..=3600).contains(&retry_after(&response)), "{what}: {}", retry_after(&response));
        assert_eq!(json_body(response).await["code"], "throttled");
    }
    assert_eq!(count(&db, "select count(*) from otp_failed_verifications").await, 10);
    assert_eq!(app.audit_rows("otp_refused").await.len(), 10, "no audit row past the budget");
    assert_eq!(count(&db, "select count(*) from access_grants").await, 0);

    // Another doctor's budget is their own: they redeem the code.
    let other_hospital = app.approved_hospital("aga").await;
    let other = app.working_doctor_at(&other_hospital).await;
    assert_eq!(verify(&app, &other, zainab.user.id, &code).await.status(), StatusCode::OK);

    // The budget is a window: once the tries are an hour old, the doctor may try again.
    sqlx::query("update otp_failed_verifications set created_at = created_at - interval '61 minutes'")
        .execute(&db)
        .await
        .expect("age");
    let response = verify(&app, &doctor, omar.user.id, "123456").await;
    assert_eq!(status_and_code(response).await, (StatusCode::BAD_REQUEST, Some("otp_invalid".into())));
}

/// The budget holds under truly concurrent tries through two web processes: 20 wrong tries at
/// once for different patients give exactly 10 refusals and 10 429s.
#[sqlx::test]
async fn concurrent_wrong_tries_through_two_processes_never_overshoot_a_doctors_budget(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let second = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let mut patients = Vec::new();
    for n in 0..4 {
        patients.push(app.patient(&format!("patient{n}")).await.user.id);
    }
    patients.push(999_999);
    let tries = (0..20).map(|n| {
        let through = if n % 2 == 0 { &app } else { &second };
        verify(through, &doctor, patients[n % patients.len()], "654321")
    });
    let responses = futures::future::join_all(tries).await;
    let refused = responses.iter().filter(|r| r.status() == StatusCode::BAD_REQUEST).count();
    let throttled = responses.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((refused, throttled), (10, 10));
    assert_eq!(count(&db, "select count(*) from otp_failed_verifications").await, 10);
    assert_eq!(app.audit_rows("otp_refused").await.len(), 10);
}

/// Before, any doctor killed a patient's shared code with 5 wrong tries, for the doctor the
/// patient gave it to as well. Now a doctor's wrong tries never count against a shared code:
/// the code is ten digits and every hospital's budget of failed tries bounds its guessing. A
/// doctor of the same hospital, at the same address, redeems it after another's whole budget.
#[sqlx::test]
async fn no_doctors_wrong_tries_make_another_doctors_redemption_of_a_shared_code_fail(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let (prober, treating) = (app.working_doctor_at(&hospital).await, app.working_doctor_at(&hospital).await);
    let patient = app.patient("zainab").await;
    let code = shared_code(&app, &patient).await;
    assert_eq!(code.len(), 10, "a shared code is ten digits: {code}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    for n in 0..10 {
        let response = verify(&app, &prober, patient.user.id, &wrong(&code, n)).await;
        assert_eq!(status_and_code(response).await, (StatusCode::BAD_REQUEST, Some("otp_invalid".into())), "try {n}");
    }
    let response = verify(&app, &prober, patient.user.id, &wrong(&code, 10)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let (attempts, status): (i32, String) = sqlx::query_as("select failed_attempts, status from otp_requests")
        .fetch_one(&db)
        .await
        .expect("the shared code");
    assert_eq!((attempts, status.as_str()), (0, "PENDING"), "wrong tries never count against a shared code");

    let response = verify(&app, &treating, patient.user.id, &code).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    let holder: i64 = sqlx::query_scalar("select doctor_id from access_grants").fetch_one(&db).await.expect("grant");
    assert_eq!(holder, treating.id);
}

/// All the doctors of a hospital together have a budget of failed tries (what bounds the
/// guessing of shared codes, whatever the number of doctors a hospital makes): once spent, its
/// doctors get 429, even with the right code, and another hospital's doctors are untouched.
#[sqlx::test]
async fn a_hospitals_doctors_share_one_budget_of_failed_verifications(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| s.access.otp_failures_per_hospital = 4).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctors = [
        app.working_doctor_at(&hospital).await,
        app.working_doctor_at(&hospital).await,
        app.working_doctor_at(&hospital).await,
    ];
    let patient = app.patient("zainab").await;
    let code = shared_code(&app, &patient).await;
    for (n, doctor) in [&doctors[0], &doctors[0], &doctors[1], &doctors[1]].into_iter().enumerate() {
        let response = verify(&app, doctor, patient.user.id, &wrong(&code, n as u64)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "try {n}");
    }
    for otp in [wrong(&code, 9), code.clone()] {
        let response = verify(&app, &doctors[2], patient.user.id, &otp).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=3600).contains(&retry_after(&response)));
    }
    let elsewhere = app.approved_hospital("aga").await;
    let other = app.working_doctor_at(&elsewhere).await;
    assert_eq!(verify(&app, &other, patient.user.id, &wrong(&code, 9)).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(verify(&app, &other, patient.user.id, &code).await.status(), StatusCode::OK);
}

/// A client address has a budget of failed tries of its own, whoever's accounts it uses.
#[sqlx::test]
async fn a_client_address_has_a_budget_of_failed_verifications_across_accounts(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| {
        s.http.trust_proxy = true;
        s.access.otp_failures_per_address = 3;
    })
    .await;
    let (jinnah, aga) = (app.approved_hospital("jinnah").await, app.approved_hospital("aga").await);
    let doctors = [app.working_doctor_at(&jinnah).await, app.working_doctor_at(&aga).await];
    let patient = app.patient("zainab").await;
    let from = |doctor: &TestDoctor, address: &'static str| {
        app.client
            .post(app.url(VERIFY))
            .bearer_auth(&doctor.token)
            .header("x-forwarded-for", address)
            .json(&json!({ "patient_id": patient.user.id, "otp": "123456" }))
            .send()
    };
    for doctor in [&doctors[0], &doctors[1], &doctors[0]] {
        assert_eq!(from(doctor, "203.0.113.7").await.expect("sent").status(), StatusCode::BAD_REQUEST);
    }
    let response = from(&doctors[1], "203.0.113.7").await.expect("sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "the address spent its budget");
    assert_eq!(from(&doctors[1], "203.0.113.8").await.expect("sent").status(), StatusCode::BAD_REQUEST);
    let addresses: Vec<String> = sqlx::query_scalar("select address from otp_failed_verifications order by id")
        .fetch_all(&db)
        .await
        .expect("rows");
    assert_eq!(addresses, ["203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.8"]);
}

// ---- 9. the patient's own budget --------------------------------------------------------------

/// Before, three requests by one doctor spent the patient's 3 codes per 15 minutes, so the
/// patient could not make a code to share either. Now the patient's own codes have their own
/// budget, which doctors' requests never touch (and theirs none of the doctors').
#[sqlx::test]
async fn doctors_requests_never_use_up_a_patients_own_sharing_codes(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let patient = app.patient("zainab").await;
    for _ in 0..3 {
        assert_eq!(
            generate(&app, &doctor.token, json!({ "patient_id": patient.user.id })).await.status(),
            StatusCode::OK
        );
    }
    let response = generate(&app, &doctor.token, json!({ "patient_id": patient.user.id })).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "the doctors' budget for this patient is spent");

    for n in 1..=3 {
        let response = generate(&app, &patient.token, json!({})).await;
        assert_eq!(response.status(), StatusCode::OK, "the patient's own code {n}");
        assert!(json_body(response).await["otp"].is_string());
    }
    let response = generate(&app, &patient.token, json!({})).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "the patient's own budget: 3 per 15 minutes");
    assert!((1..=900).contains(&retry_after(&response)));
    let by_channel: Vec<(String, i64)> =
        sqlx::query_as("select channel, count(*) from otp_requests group by channel order by channel")
            .fetch_all(&db)
            .await
            .expect("rows");
    assert_eq!(by_channel, [("SHARE".to_owned(), 3), ("SMS".to_owned(), 3)]);
}

// ---- 10. the doctor's name in the SMS ----------------------------------------------------------

/// Before, the code SMS carried the doctor's self-edited name as typed: a number to call, a link,
/// line breaks, in a message from CareHub. Now only its letters, spaces and `.'-`, 40 at most.
#[sqlx::test]
async fn the_code_sms_carries_only_the_letters_of_the_doctors_self_edited_name(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let patient = app.patient("zainab").await;
    let name = "Ali\nURGENT: call 0300-9999999 or visit https://evil.example now to keep your records";
    let response = app
        .client
        .patch(app.url("/api/accounts/me/"))
        .bearer_auth(&doctor.token)
        .json(&json!({ "first_name": name, "last_name": "Khan" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    assert_eq!(generate(&app, &doctor.token, json!({ "patient_id": patient.user.id })).await.status(), StatusCode::OK);

    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM1")).mount(&server).await;
    let workers = Workers::start(&db, settings(&namespace()), twilio(&server));
    let code_sms = || async {
        server.received_requests().await.unwrap_or_default().iter().find_map(|r| {
            url::form_urlencoded::parse(&r.body)
                .find(|(k, v)| k == "Body" && v.contains("is your code"))
                .map(|(_, v)| v.into_owned())
        })
    };
    eventually(10, "the code SMS reaches Twilio", || async { code_sms().await.is_some() }).await;
    workers.stop().await;
    let body = code_sms().await.expect("the code SMS");
    assert!(body.contains("to let Dr Ali URGENT call - or visit httpsevilexam read your medical records"), "{body}");
    for never in ["9999999", "https:", "\n", "evil.example now"] {
        assert!(!body.contains(never), "{never:?} reached the SMS: {body}");
    }
}

// ---- 15. advisory locks -----------------------------------------------------------------------

/// Before, the recommendations' hourly limit and the codes' doctor budget both locked
/// `(2, doctor)`: each waited on the other's transactions. Now every kind of lock has its own
/// space (src/locks.rs): holding one never blocks another, and Postgres lists them apart.
#[sqlx::test]
async fn every_kind_of_advisory_lock_has_a_key_space_of_its_own(db: PgPool) {
    use carehub::locks::{self, Form, Key, LockSpace};

    let mut holder = db.begin().await.expect("tx");
    carehub::medicines::recommendations::repo::lock_doctor(&mut holder, carehub::ids::UserId(7))
        .await
        .expect("recommendations lock");
    let mut other = db.begin().await.expect("tx");
    sqlx::query("set local lock_timeout = '300ms'").execute(&mut *other).await.expect("timeout");
    carehub::access::repo::lock_doctor(&mut other, carehub::ids::DoctorId(7))
        .await
        .expect("the codes' doctor lock does not wait");
    other.rollback().await.expect("rollback");

    // One lock of every space on the same key, listed by Postgres under distinct spaces.
    for space in LockSpace::ALL {
        if space != LockSpace::RecommendationsDoctor {
            locks::xact_lock(&mut holder, space, Key::Id(7)).await.expect("lock");
        }
    }
    let held: Vec<(i64, i16)> = sqlx::query_as(
        "select classid::bigint, objsubid from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() \
         order by objsubid, classid",
    )
    .fetch_all(&mut *holder)
    .await
    .expect("pg_locks");
    let pairs: Vec<i64> = held.iter().filter(|(_, form)| *form == 2).map(|(space, _)| *space).collect();
    let expected: Vec<i64> = LockSpace::ALL
        .iter()
        .filter_map(|space| if let Form::Pair(n) = space.form() { Some(i64::from(n)) } else { None })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(pairs, expected, "one space each: {held:?}");
    assert_eq!(held.iter().filter(|(_, form)| *form == 1).count(), 1, "the sealer's one-bigint lock");
    holder.rollback().await.expect("rollback");
}

/// Before, five wrong tries at a real patient's SMS code answered `otp_locked` the fifth time,
/// and at a code asked for nobody `otp_invalid` for ever: the answers told who is a patient.
#[sqlx::test]
async fn wrong_tries_are_answered_alike_for_a_patient_one_without_a_phone_and_nobody(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| s.access.otp_failures_per_doctor = 100).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let with_phone = app.patient("zainab").await;
    let without_phone = app.patient("omar").await;
    sqlx::query("update users set phone_number = null where id = $1")
        .bind(without_phone.user.id)
        .execute(&db)
        .await
        .expect("no phone");
    let subjects = [with_phone.user.id, without_phone.user.id, 999_999];

    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM1")).mount(&server).await;
    let workers = Workers::start(&db, settings(&namespace()), twilio(&server));
    for patient in subjects {
        let asked = generate(&app, &doctor.token, json!({ "patient_id": patient })).await;
        assert_eq!(asked.status(), StatusCode::OK);
    }
    eventually(10, "the real patient's code is sent", || async {
        count(&db, "select count(*) from otp_requests where delivery = 'SENT'").await == 1
    })
    .await;
    workers.stop().await;

    let mut answers = Vec::new();
    for patient in subjects {
        let mut codes = Vec::new();
        for n in 0..6 {
            // Wrong but for the real code's one chance in a million per try of being one of these.
            let code = format!("{:06}", 100_000 + n);
            codes.push(status_and_code(verify(&app, &doctor, patient, &code).await).await);
        }
        answers.push(codes);
    }

    let expected: Vec<(StatusCode, Option<String>)> =
        ["otp_invalid", "otp_invalid", "otp_invalid", "otp_invalid", "otp_locked", "otp_invalid"]
            .iter()
            .map(|code| (StatusCode::BAD_REQUEST, Some((*code).to_owned())))
            .collect();
    assert_eq!(answers[0], expected, "a patient with a phone");
    assert_eq!(answers[1], expected, "a patient without one");
    assert_eq!(answers[2], expected, "nobody");
}
