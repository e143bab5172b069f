//! The console's hospitals and SMS pages through HTTP, with a console session written straight
//! into the database (the login itself is tested elsewhere): the list's search and filters, a
//! hospital's page, approval and rejection through the API's own service (audit row, SMS), forms
//! without the session's CSRF token, non-admin sessions, and what the SMS page never shows.

use carehub::accounts::model::UserType;
use reqwest::{StatusCode, header};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

use crate::helpers::{TestApp, hospital_registration};

const SESSION_COOKIE: &str = "__Host-carehub_console";
const CSRF: &str = "test-csrf";

/// A browser signed in to the console as one user.
struct Console<'a> {
    app: &'a TestApp,
    cookie: String,
}

/// An answer: status, body, `Location`.
type Answer = (StatusCode, String, Option<String>);

impl<'a> Console<'a> {
    /// A signed-in console session of `user_id` (second factor passed), as the login leaves it.
    async fn of(app: &'a TestApp, user_id: i64) -> Self {
        let token = format!("test-token-{}", uuid::Uuid::new_v4().simple());
        sqlx::query("insert into console_sessions (token_hash, user_id, stage, csrf) values ($1, $2, 'ACTIVE', $3)")
            .bind(Sha256::digest(token.as_bytes()).to_vec())
            .bind(user_id)
            .bind(CSRF)
            .execute(&app.db)
            .await
            .expect("console session");
        Self { app, cookie: format!("{SESSION_COOKIE}={token}") }
    }

    async fn admin(app: &'a TestApp) -> Self {
        let admin = app.admin().await;
        Self::of(app, admin.user.id).await
    }

    async fn get(&self, path: &str) -> Answer {
        let response =
            self.app.client.get(self.app.url(path)).header(header::COOKIE, &self.cookie).send().await.expect("get");
        answer(response).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .app
            .client
            .post(self.app.url(path))
            .header(header::COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .expect("post");
        answer(response).await
    }

    /// A page that must answer 200 with the page shell's one `h1`.
    async fn page(&self, path: &str) -> String {
        let (status, body, _) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body.matches("<h1").count(), 1, "{path} has one h1");
        body
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let location = response.headers().get(header::LOCATION).map(|v| v.to_str().expect("ascii").to_owned());
    (status, response.text().await.expect("body"), location)
}

/// Registers a hospital awaiting approval through the API, with `changes` to the usual body.
async fn pending_hospital(app: &TestApp, tag: &str, changes: &[(&str, &str)]) -> i64 {
    let mut body = hospital_registration(tag);
    for (field, value) in changes {
        body[*field] = json!(value);
    }
    app.register_hospital(&body).await.0
}

fn row(id: i64) -> String {
    format!("data-hospital-id=\"{id}\"")
}

async fn is_approved(db: &PgPool, id: i64) -> (bool, bool) {
    sqlx::query_as("select h.is_approved, h.rejected_at is not null from hospitals h where h.id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .expect("hospital")
}

async fn approval_sms(db: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from sms_messages where purpose = 'hospital_approval'")
        .fetch_one(db)
        .await
        .expect("count")
}

#[sqlx::test]
async fn the_hospital_list_marks_pending_hospitals_filters_by_approval_and_searches(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let approved = app.approved_hospital("alpha").await.id;
    let pending = pending_hospital(
        &app,
        "bravo",
        &[("location", "Lahore"), ("hospital_phone", "042 3576 1234"), ("hospital_email", "info@bravo.example")],
    )
    .await;
    let console = Console::admin(&app).await;

    let all = console.page("/console/hospitals/").await;
    assert!(all.contains(&row(approved)) && all.contains(&row(pending)), "{all}");
    assert!(all.contains(&format!("<tr class=\"pending\" {}", row(pending))), "the waiting one is marked: {all}");
    assert!(!all.contains(&format!("<tr class=\"pending\" {}", row(approved))));
    assert!(all.contains(&format!("href=\"/console/hospitals/{pending}/\">Bravo Hospital</a>")), "{all}");
    assert!(all.contains("<label for=\"q\"") && all.contains("<label for=\"approval\""), "labelled filters");

    let waiting = console.page("/console/hospitals/?approval=pending").await;
    assert!(waiting.contains(&row(pending)) && !waiting.contains(&row(approved)), "{waiting}");
    let done = console.page("/console/hospitals/?approval=approved").await;
    assert!(done.contains(&row(approved)) && !done.contains(&row(pending)), "{done}");
    let rejected = console.page("/console/hospitals/?approval=rejected").await;
    assert!(!rejected.contains(&row(approved)) && !rejected.contains(&row(pending)), "{rejected}");

    for search in ["BRAVO", "bravo hosp", "lahore", "042 3576 1234", "+92 42 3576", "INFO@bravo"] {
        let found = console.page(&format!("/console/hospitals/?q={}", urlencode(search))).await;
        assert!(found.contains(&row(pending)), "{search} finds bravo");
        assert!(!found.contains(&row(approved)), "{search} does not find alpha");
    }
    let both = console.page("/console/hospitals/?q=karachi").await;
    assert!(!both.contains(&row(pending)) && both.contains(&row(approved)), "{both}");
    let none = console.page("/console/hospitals/?q=nowhere&approval=pending").await;
    assert!(!none.contains("data-hospital-id"), "{none}");
    let odd = console.page("/console/hospitals/?q=%25_%5C&approval=nonsense&page=abc").await;
    assert!(!odd.contains("data-hospital-id"), "like signs are searched as text: {odd}");
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).expect("encoded").trim_start_matches('=').to_owned()
}

#[sqlx::test]
async fn a_hospital_page_shows_its_departments_doctors_and_counts_and_the_forms_that_change_something(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("alpha").await;
    app.department_at(&hospital, "Cardiac Care").await;
    app.doctor_at(&hospital).await;
    let pending = pending_hospital(&app, "bravo", &[]).await;
    let console = Console::admin(&app).await;

    let page = console.page(&format!("/console/hospitals/{}/", hospital.id)).await;
    for text in ["Alpha Hospital", "LIC-alpha", "Cardiac Care", "Ali Mehmood", "Cardiology", "alpha", "Approved"] {
        assert!(page.contains(text), "{text} in {page}");
    }
    assert!(page.contains("<dt>Doctors, active</dt><dd>1</dd>"), "{page}");
    assert!(!page.contains("+923214567890"), "no doctor's phone");
    assert!(!page.contains("id=\"approve\""), "an approved hospital has nothing to approve");
    assert!(page.contains("id=\"reject\"") && page.contains("<label for=\"reason\""), "{page}");
    assert!(page.contains("<textarea id=\"reason\" name=\"reason\""), "{page}");
    assert!(page.contains(&format!("name=\"csrf\" value=\"{CSRF}\"")), "forms carry the session's token");

    let waiting = console.page(&format!("/console/hospitals/{pending}/")).await;
    assert!(waiting.contains("id=\"approve\"") && waiting.contains("id=\"reject\""), "{waiting}");
    assert!(waiting.contains("Pending"));

    for missing in ["/console/hospitals/999999/", "/console/hospitals/abc/", "/console/hospitals/0/"] {
        let (status, body, _) = console.get(missing).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}: {body}");
    }
}

#[sqlx::test]
async fn approving_and_rejecting_in_the_console_goes_through_the_api_s_service(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let (id, account) = app.register_hospital(&hospital_registration("bravo")).await;
    let console = Console::of(&app, admin.user.id).await;
    let action = format!("/console/hospitals/{id}/approval/");

    let (status, _, location) = console.post(&action, &[("csrf", CSRF), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(format!("/console/hospitals/{id}/?flash=approved").as_str()));
    assert_eq!(is_approved(&db, id).await, (true, false));
    let audit = app.audit_rows("hospital_approved").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor_id, Some(admin.user.id), "the admin is the actor");
    assert_eq!(audit[0].target_id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(approval_sms(&db).await, 1, "the hospital is told by SMS");
    app.login(&account).await;

    let shown = console.page(&format!("/console/hospitals/{id}/?flash=approved")).await;
    assert!(shown.contains("id=\"flash\"") && !shown.contains("id=\"approve\""), "{shown}");

    let (status, _, location) = console.post(&action, &[("csrf", CSRF), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(format!("/console/hospitals/{id}/?flash=unchanged").as_str()));
    assert_eq!(approval_sms(&db).await, 1, "a second click sends no second SMS");
    assert_eq!(app.audit_rows("hospital_approved").await.len(), 1);

    let form = [("csrf", CSRF), ("decision", "reject"), ("reason", "The licence has expired.")];
    let (status, _, location) = console.post(&action, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(format!("/console/hospitals/{id}/?flash=rejected").as_str()));
    assert_eq!(is_approved(&db, id).await, (false, true));
    let rejected = app.audit_rows("hospital_rejected").await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].actor_id, Some(admin.user.id));
    assert_eq!(approval_sms(&db).await, 2);
    let refused = app.login_response(&account.username, &account.password).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "a rejected hospital cannot log in");

    let (status, body, _) = console.post(&action, &[("csrf", CSRF), ("decision", "maybe")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("decision"), "{body}");
    let (status, _, _) =
        console.post("/console/hospitals/999999/approval/", &[("csrf", CSRF), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(is_approved(&db, id).await, (false, true), "refused forms changed nothing");
    assert_eq!(approval_sms(&db).await, 2);
}

#[sqlx::test]
async fn an_approval_without_the_session_s_csrf_token_is_refused_and_changes_nothing(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let id = pending_hospital(&app, "bravo", &[]).await;
    let console = Console::admin(&app).await;
    let action = format!("/console/hospitals/{id}/approval/");

    for form in [vec![("decision", "approve")], vec![("csrf", "not-the-token"), ("decision", "approve")]] {
        let (status, body, _) = console.post(&action, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let other_site = app
        .client
        .post(app.url(&action))
        .header(header::COOKIE, &console.cookie)
        .header(header::ORIGIN, "https://evil.example")
        .form(&[("csrf", CSRF), ("decision", "approve")])
        .send()
        .await
        .expect("post");
    assert_eq!(other_site.status(), StatusCode::FORBIDDEN);

    assert_eq!(is_approved(&db, id).await, (false, false));
    assert!(app.audit_rows("hospital_approved").await.is_empty());
    assert_eq!(approval_sms(&db).await, 0);
}

#[sqlx::test]
async fn a_session_of_anyone_but_an_admin_or_none_at_all_is_sent_to_the_login_page(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let id = pending_hospital(&app, "bravo", &[]).await;
    let patient = app.user(UserType::Patient, "zainab").await;
    let as_patient = Console::of(&app, patient.id).await;
    let nobody = Console { app: &app, cookie: format!("{SESSION_COOKIE}=no-such-session") };

    for console in [&as_patient, &nobody] {
        for path in ["/console/hospitals/", &format!("/console/hospitals/{id}/"), "/console/sms/"] {
            let (status, _, location) = console.get(path).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(location.as_deref(), Some("/console/login/"), "{path}");
        }
        let form = [("csrf", CSRF), ("decision", "approve")];
        let (status, _, location) = console.post(&format!("/console/hospitals/{id}/approval/"), &form).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login/")));
    }
    assert_eq!(is_approved(&db, id).await, (false, false));
    assert_eq!(approval_sms(&db).await, 0);
}

async fn sms(db: &PgPool, to: &str, body: &str, purpose: &str, status: &str, error: Option<&str>) -> i64 {
    sqlx::query_scalar(
        "insert into sms_messages (to_number, body, purpose, status, attempts, provider, last_error) \
         values ($1, $2, $3, $4, 1, 'console', $5) returning id",
    )
    .bind(to)
    .bind(body)
    .bind(purpose)
    .bind(status)
    .bind(error)
    .fetch_one(db)
    .await
    .expect("sms row")
}

#[sqlx::test]
async fn the_sms_page_never_shows_a_code_a_password_or_a_whole_number(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let otp = sms(&db, "+923001234567", "Your CareHub code is 482913.", "otp", "QUEUED", None).await;
    let approval =
        sms(&db, "+923007654321", "CareHub: Bravo Hospital has been approved.", "hospital_approval", "SENT", None)
            .await;
    let password =
        sms(&db, "+923005550123", "Temporary password: Xq7-Lantern-91", "temporary_password", "SENT", None).await;
    let error = "twilio HTTP 400 (error 21211): +923009998877 is not a valid number";
    let failed = sms(&db, "+923009998877", "A test message 555000", "test", "FAILED", Some(error)).await;
    let console = Console::admin(&app).await;

    let page = console.page("/console/sms/").await;
    for id in [otp, approval, password, failed] {
        assert!(page.contains(&format!("data-sms-id=\"{id}\"")), "{id} listed");
    }
    assert!(page.contains("CareHub: Bravo Hospital has been approved."), "an approval's text is shown");
    for secret in ["482913", "Xq7-Lantern-91", "555000"] {
        assert!(!page.contains(secret), "{secret} never shown: {page}");
    }
    assert_eq!(page.matches("hidden (carries a code or password)").count(), 3);
    for number in ["+923001234567", "+923007654321", "+923005550123", "+923009998877", "3009998877"] {
        assert!(!page.contains(number), "{number} never shown whole");
    }
    assert!(page.contains("+92*******4567") && page.contains("+92*******8877"), "masked numbers");
    assert!(page.contains("21211"), "the provider's error is shown");
    assert!(page.contains("<div class=\"stat good\">2</div>"), "sent in the last 24 h: {page}");
    assert!(page.contains("<div class=\"stat bad\">1</div>") && page.contains("<div class=\"stat warn\">1</div>"));
    assert!(page.contains("<label for=\"status\"") && page.contains("<label for=\"purpose\""));

    let failures = console.page("/console/sms/?status=failed").await;
    assert!(failures.contains(&format!("data-sms-id=\"{failed}\"")));
    assert_eq!(failures.matches("data-sms-id=").count(), 1, "{failures}");
    let codes = console.page("/console/sms/?purpose=otp&page=1").await;
    assert!(codes.contains(&format!("data-sms-id=\"{otp}\"")) && !codes.contains("482913"));
    assert_eq!(codes.matches("data-sms-id=").count(), 1);
    let unknown = console.page("/console/sms/?status=nonsense&purpose=nonsense").await;
    assert_eq!(unknown.matches("data-sms-id=").count(), 4, "unknown filters keep every message");
}

#[sqlx::test]
async fn the_sms_page_shows_the_approval_the_console_sent_but_not_the_number(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let id = pending_hospital(&app, "bravo", &[]).await;
    let console = Console::admin(&app).await;
    let form = [("csrf", CSRF), ("decision", "approve")];
    let (status, _, _) = console.post(&format!("/console/hospitals/{id}/approval/"), &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let page = console.page("/console/sms/?purpose=hospital_approval").await;
    assert_eq!(page.matches("data-sms-id=").count(), 1, "{page}");
    assert!(page.contains("CareHub: Bravo Hospital has been approved. You can now sign in."), "{page}");
    assert!(!page.contains("+922134567890") && page.contains("+92*******7890"), "{page}");
}
