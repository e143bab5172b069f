//! What the console refuses, in a real browser: a form posted without its CSRF token (or with a
//! wrong one), a session idle for longer than the timeout, and the credentials of every account
//! that is not an admin.

use reqwest::StatusCode;
use sqlx::PgPool;

use super::{
    browser::Browser,
    pages::check_page,
    sign_in::{enrol, enter_password},
};
use crate::helpers::{PASSWORD, TestApp, TestUser, hospital_registration};

/// Removes (`None`) or replaces the hidden `csrf` field of every form on the page. No script
/// runs in the console's pages; WebDriver's does, as a forger's page would post a form.
async fn tamper_csrf(browser: &Browser, value: Option<&str>) {
    let js = match value {
        None => "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())".to_owned(),
        Some(value) => format!("document.querySelectorAll('input[name=csrf]').forEach(e => e.value = '{value}')"),
    };
    browser.script(&js).await;
}

async fn is_approved(db: &PgPool, hospital: i64) -> bool {
    sqlx::query_scalar("select is_approved from hospitals where id = $1")
        .bind(hospital)
        .fetch_one(db)
        .await
        .expect("hospital")
}

#[sqlx::test]
async fn a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.user;
    let (hospital, owner) = app.register_hospital(&hospital_registration("jinnah")).await;
    let browser = Browser::start(&app.address).await;
    enrol(&browser, &admin).await;
    let page = format!("/console/hospitals/{hospital}/");

    let mut refusals = Vec::new();
    for forged in [None, Some("forged-token")] {
        browser.goto(&page).await;
        tamper_csrf(&browser, forged).await;
        browser.submit("form#approve").await;
        refusals.push((browser.status().await, is_approved(&db, hospital).await));
        check_page(&browser).await;
    }
    let audited = app.audit_rows("hospital_approved").await.len();
    let refused_login = app.login_response(&owner.username, &owner.password).await.status();
    // The same form with its token goes through: the refusals were the token's doing.
    browser.goto(&page).await;
    browser.submit("form#approve").await;
    let approved = is_approved(&db, hospital).await;
    browser.close().await;

    assert_eq!(refusals, [(403, false), (403, false)], "without the token, and with a forged one");
    assert_eq!(audited, 0, "a refused form leaves no trace of an approval");
    assert_eq!(refused_login, StatusCode::UNAUTHORIZED);
    assert!(approved, "the untouched form approves");
}

#[sqlx::test]
async fn a_session_idle_past_the_timeout_lands_on_the_login_page(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.user;
    let browser = Browser::start(&app.address).await;
    enrol(&browser, &admin).await;
    let idle_for = |minutes: i32| {
        let db = db.clone();
        async move {
            sqlx::query("update console_sessions set last_seen_at = now() - make_interval(mins => $1)")
                .bind(minutes)
                .execute(&db)
                .await
                .expect("sessions aged")
                .rows_affected()
        }
    };

    assert!(idle_for(29).await >= 1, "the admin's console session is in console_sessions");
    browser.goto("/console/users/").await;
    let within = browser.path().await;
    idle_for(31).await;
    browser.goto("/console/users/").await;
    let after = browser.path().await;
    browser.goto("/console/").await;
    let again = browser.path().await;
    browser.close().await;

    assert_eq!(within, "/console/users/", "29 idle minutes are within the timeout");
    assert!(after.starts_with("/console/login/"), "after 31 idle minutes: {after}");
    assert!(again.starts_with("/console/login/"), "the idle session stays ended: {again}");
}

#[sqlx::test]
async fn patients_doctors_and_hospitals_are_refused_at_the_console_login(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    let patient = app.patient("amina").await;
    let admin = app.admin().await.user;
    let wrong_password = TestUser { password: format!("{PASSWORD}-wrong"), ..admin.clone() };
    let browser = Browser::start(&app.address).await;

    let mut answers = Vec::new();
    for user in [&patient.user, &doctor.user, &hospital.user, &wrong_password] {
        enter_password(&browser, user).await;
        let error = browser.text("p#error").await;
        answers.push((user.username.clone(), browser.path().await, error));
        check_page(&browser).await;
    }
    let sessions: i64 =
        sqlx::query_scalar("select count(*) from console_sessions").fetch_one(&db).await.expect("sessions");
    enter_password(&browser, &admin).await;
    let admin_lands_on = browser.path().await;
    browser.close().await;

    let wrong_password_error = answers[3].2.clone();
    for (username, path, error) in &answers {
        assert!(path.starts_with("/console/login/"), "{username} stays on the login page: {path}");
        assert!(!error.trim().is_empty(), "{username} is told why");
        assert_eq!(error, &wrong_password_error, "{username}'s refusal reads like a wrong password");
    }
    assert_eq!(admin_lands_on, "/console/mfa/", "the admin's password leads to the second factor");
    assert_eq!(sessions, 0, "a refused login opens no console session");
}
