//! The console's overview, queues and users pages through HTTP: what they show, what their
//! actions change (through the same services as the API), and what they refuse.

use carehub::accounts::model::UserType;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{
    console_auth::signed_in,
    helpers::{TestApp, hospital_registration},
};

#[sqlx::test]
async fn the_overview_shows_what_waits_and_every_queue(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.user(UserType::Admin, "root").await;
    let (hospital, _) = app.register_hospital(&hospital_registration("waiting")).await;
    let mut browser = signed_in(&app, &admin).await;
    let (status, page, _) = browser.get("/console/").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page.matches("<h1").count(), 1);
    assert!(page.contains(&format!("data-hospital-id=\"{hospital}\"")), "the waiting hospital is listed");
    for queue in ["carehub:sms", "carehub:otp", "carehub:file-scan", "carehub:audit"] {
        assert!(page.contains(&format!("/console/queues/{queue}/")), "{queue} in the overview");
    }
    assert!(page.matches("<svg class=\"chart\"").count() >= 3, "a chart per queue");
    assert!(!page.contains("<script"));
}

#[sqlx::test]
async fn the_queue_pages_refuse_unknown_queues_and_jobs_and_audit_what_they_do(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.user(UserType::Admin, "root").await;
    let mut browser = signed_in(&app, &admin).await;
    let (status, page, _) = browser.get("/console/queues/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-queue=\"carehub:sms\""));
    let (status, page, _) = browser.get("/console/queues/carehub:sms/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No dead jobs."));
    assert_eq!(browser.get("/console/queues/carehub:nothing/").await.0, StatusCode::NOT_FOUND);
    let csrf = [("csrf", "test-csrf")];
    let (status, _, _) = browser.post("/console/queues/carehub:sms/jobs/01JNOTAJOB/retry/", &csrf).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no such dead job");
    let (status, _, _) = browser.post("/console/queues/carehub:sms/jobs/01JNOTAJOB/discard/", &csrf).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, location) = browser.post("/console/queues/carehub:sms/retry-dead/", &csrf).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/queues/carehub:sms/?flash=retried_all"))
    );
    let (actor, details): (Option<i64>, serde_json::Value) =
        sqlx::query_as("select actor_id, details from audit_log where action = 'dead_jobs_retried'")
            .fetch_one(&db)
            .await
            .expect("audited");
    assert_eq!(actor, Some(admin.id));
    assert_eq!(details["jobs"], 0);
    let (status, _, _) = browser.post("/console/queues/carehub:sms/retry-dead/", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
}

#[sqlx::test]
async fn an_admin_finds_an_account_deactivates_it_and_its_logins_end(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.user(UserType::Admin, "root").await;
    let patient = app.register_patient("zainab_q").await;
    let tokens = app.login(&patient).await;
    let mut browser = signed_in(&app, &admin).await;

    let (status, page, _) = browser.get("/console/users/?q=ZAINAB").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("data-user-id=\"{}\"", patient.id)));
    assert!(!page.contains(&format!("data-user-id=\"{}\"", admin.id)), "the search filters");
    let (_, page, _) = browser.get(&format!("/console/users/{}/", patient.id)).await;
    assert!(page.contains("id=\"deactivate\""));
    assert!(!page.contains("argon2") && !page.contains("password_hash"));

    let path = format!("/console/users/{}/active/", patient.id);
    let (status, _, _) = browser.post(&path, &[("active", "false"), ("reason", "spam")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token: nothing changes");
    assert_eq!(
        app.post("/api/token/refresh/", &json!({ "refresh": tokens.refresh }), None).await.status(),
        StatusCode::OK
    );

    let tokens = app.login(&patient).await;
    let (status, _, location) =
        browser.post(&path, &[("csrf", "test-csrf"), ("active", "false"), ("reason", "spam")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(format!("/console/users/{}/?flash=deactivated", patient.id).as_str()));
    let refreshed = app.post("/api/token/refresh/", &json!({ "refresh": tokens.refresh }), None).await;
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED, "its logins ended");
    let rows = app.audit_rows("user_deactivated").await;
    assert_eq!(rows.len(), 1);

    // An admin's own account has no deactivation form, and a forged one is refused.
    let (_, page, _) = browser.get(&format!("/console/users/{}/", admin.id)).await;
    assert!(!page.contains("id=\"deactivate\""));
    let own = format!("/console/users/{}/active/", admin.id);
    let (status, page, _) = browser.post(&own, &[("csrf", "test-csrf"), ("active", "false")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert_eq!(browser.get("/console/").await.0, StatusCode::OK, "still signed in");
}

#[sqlx::test]
async fn a_form_over_64_kib_or_compressed_is_refused_unread_and_changes_nothing(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.user;
    let patient = app.register_patient("zainab").await;
    let mut browser = signed_in(&app, &admin).await;
    let path = format!("/console/users/{}/active/", patient.id);

    let long = "x".repeat(70 * 1024);
    let (status, page, _) = browser.post(&path, &[("csrf", "test-csrf"), ("active", "false"), ("reason", &long)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{page}");
    // A browser never compresses what it posts: a compressed body is not decoded.
    let compressed = app
        .client
        .post(app.url(&path))
        .header(
            reqwest::header::COOKIE,
            browser.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; "),
        )
        .header(reqwest::header::ORIGIN, &app.address)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(reqwest::header::CONTENT_ENCODING, "gzip")
        .body("csrf=test-csrf&active=false")
        .send()
        .await
        .expect("post");
    assert_eq!(compressed.status(), StatusCode::BAD_REQUEST);

    let active: bool = sqlx::query_scalar("select is_active from users where id = $1")
        .bind(patient.id)
        .fetch_one(&db)
        .await
        .expect("user");
    assert!(active, "neither form changed the account");
    assert!(app.audit_rows("user_deactivated").await.is_empty());
}
