//! An admin's afternoon in the console, in a real headless Chromium: the first login enrols a
//! second factor, a later one uses it; a waiting hospital is approved (and can then log in
//! through the API); its approval SMS dies at a failing provider and is retried from the queue
//! page once the provider is back; the audit trail, filtered, shows the approval. Every page is
//! checked (`pages::inspect`) and screenshotted into `docs/console/` on the way.

use std::collections::BTreeSet;

use carehub_workers::{
    jobs::{Job as _, Queue},
    sms::SendSms,
    stats::queue_stats,
};
use reqwest::StatusCode;
use sqlx::PgPool;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

use super::{
    browser::Browser,
    pages::inspect,
    sign_in::{Authenticator, enter_password, log_in_by_keyboard},
};
use crate::{
    helpers::{TestApp, hospital_registration},
    jobs::{Workers, eventually, namespace, redis, settings, twilio, twilio_created},
};

/// Hooks the design note leaves open, in one place: the queues page's row of a queue
/// (`tr[data-queue="<name>"]`, a link to the queue's page) and its count cells (`td.<column>`).
fn queue_row(queue: Queue) -> String {
    format!("tr[data-queue=\"{}\"]", queue.name())
}

/// A count the queues page shows for `queue` (`done`, `dead`, ...).
async fn shown_count(browser: &Browser, queue: Queue, column: &str) -> u64 {
    let text = browser.text(&format!("{} td.{column}", queue_row(queue))).await;
    text.trim().parse().unwrap_or_else(|_| panic!("{column} of {} is not a number: {text:?}", queue.name()))
}

async fn is_approved(db: &PgPool, hospital: i64) -> bool {
    sqlx::query_scalar("select is_approved from hospitals where id = $1")
        .bind(hospital)
        .fetch_one(db)
        .await
        .expect("hospital")
}

#[sqlx::test]
async fn an_admin_enrols_a_second_factor_approves_a_hospital_and_retries_its_failed_sms(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).mount(&twilio_server).await;
    let ns = namespace();
    let app = TestApp::spawn_with(&db, |s| s.jobs.namespace = ns.clone()).await;
    let mut worker_settings = settings(&ns);
    worker_settings.max_attempts = 2;
    let workers = Workers::start(&db, worker_settings, twilio(&twilio_server));
    let admin = app.admin().await.user;
    let (hospital, owner) = app.register_hospital(&hospital_registration("jinnah")).await;
    assert_eq!(app.login_response(&owner.username, &owner.password).await.status(), StatusCode::UNAUTHORIZED);
    let browser = Browser::start(&app.address).await;

    // The first login: the password, then the enrolment of a second factor.
    browser.goto("/console/login/").await;
    inspect(&browser, "login").await;
    enter_password(&browser, &admin).await;
    assert_eq!(browser.path().await, "/console/mfa/");
    assert!(browser.exists("svg").await, "the QR code is drawn on the page");
    inspect(&browser, "mfa-enrolment").await;
    let mut authenticator = Authenticator::new(&browser.text("#totp-secret").await);
    let code = authenticator.fresh_code().await;
    browser.fill("#code", &code).await;
    browser.submit("form:has(#code)").await;
    browser.find("ul#recovery-codes").await;
    let codes = browser.texts("ul#recovery-codes li").await;
    assert_eq!(codes.len(), 10, "{codes:?} {}", browser.visible_text().await);
    assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), 10, "recovery codes are distinct");
    inspect(&browser, "recovery-codes").await;
    browser.click("a#continue").await;
    assert_eq!(browser.path().await, "/console/");
    assert!(browser.text("section#pending-hospitals").await.contains("Jinnah Hospital"));
    assert!(browser.exists("section#queues svg").await, "a chart per queue");
    inspect(&browser, "overview").await;
    let overview = browser.visible_text().await;
    assert!(codes.iter().all(|code| !overview.contains(code.as_str())), "recovery codes are shown once");

    // Logged out, the console is closed; logged in again with a fresh code.
    browser.submit("form#logout").await;
    assert!(browser.path().await.starts_with("/console/login/"));
    browser.goto("/console/").await;
    assert!(browser.path().await.starts_with("/console/login/"), "the session ended at logout");
    log_in_by_keyboard(&browser, &admin, &mut authenticator).await;

    // A waiting hospital, found by its approval filter, approved.
    browser.goto("/console/hospitals/?approval=pending").await;
    inspect(&browser, "hospitals").await;
    browser.click(&format!("tr[data-hospital-id=\"{hospital}\"] a")).await;
    assert_eq!(browser.path().await, format!("/console/hospitals/{hospital}/"));
    inspect(&browser, "hospital").await;
    browser.submit("form#approve").await;
    assert!(browser.exists("p#flash").await, "the approval is confirmed on the page");
    assert!(is_approved(&db, hospital).await);
    let login = app.login_response(&owner.username, &owner.password).await;
    assert_eq!(login.status(), StatusCode::OK, "the approved hospital logs in through the API");

    // Its approval SMS dies at the failing provider.
    eventually(20, "the approval SMS is dead", || async {
        queue_stats(&mut redis().await, &ns, SendSms::QUEUE).await.expect("stats").dead == 1
    })
    .await;
    browser.goto("/console/queues/").await;
    assert_eq!(shown_count(&browser, SendSms::QUEUE, "dead").await, 1);
    let done_before = shown_count(&browser, SendSms::QUEUE, "done").await;
    inspect(&browser, "queues").await;
    browser.click(&format!("{} a", queue_row(SendSms::QUEUE))).await;
    assert_eq!(browser.count("tr[data-job-id]").await, 1);
    let page = browser.visible_text().await;
    assert!(!page.contains("has been approved") && !page.contains("34567890"), "payloads are shown as ids only");
    inspect(&browser, "queue").await;

    // The provider is back: the dead job, retried, is sent.
    twilio_server.reset().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM1")).mount(&twilio_server).await;
    browser.submit("tr[data-job-id] form.retry").await;
    assert!(browser.exists("p#flash").await, "the retry is confirmed on the page");
    let mut reloads = 0;
    loop {
        browser.goto("/console/queues/").await;
        let dead = shown_count(&browser, SendSms::QUEUE, "dead").await;
        if dead == 0 && shown_count(&browser, SendSms::QUEUE, "done").await > done_before {
            break;
        }
        reloads += 1;
        assert!(reloads < 100, "the retried job is not done after {reloads} reloads");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let status: String = sqlx::query_scalar("select status from sms_messages").fetch_one(&db).await.expect("sms");
    assert_eq!(status, "SENT");

    // The outgoing SMS, numbers masked.
    browser.goto("/console/sms/").await;
    assert_eq!(browser.count("tr[data-sms-id]").await, 1);
    assert!(!browser.visible_text().await.contains("34567890"), "phone numbers are masked");
    inspect(&browser, "sms").await;

    // The audit trail, filtered to approvals, shows this one; its row in full.
    browser.goto("/console/audit/").await;
    browser.fill("#action", "hospital_approved").await;
    browser.submit("form:has(#action)").await;
    assert!(browser.path().await.contains("action=hospital_approved"), "{}", browser.path().await);
    let rows = browser.texts("tr[data-audit-id]").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("hospital_approved"), "{rows:?}");
    let approvals = app.audit_rows("hospital_approved").await;
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].actor_id, Some(admin.id), "the admin is the approval's actor");
    inspect(&browser, "audit").await;
    browser.click("tr[data-audit-id] a").await;
    assert!(browser.visible_text().await.contains("hospital_approved"));
    inspect(&browser, "audit-row").await;

    // The other pages.
    let owner_id: i64 = sqlx::query_scalar("select id from users where username = $1")
        .bind(&owner.username)
        .fetch_one(&db)
        .await
        .expect("owner");
    browser.goto("/console/users/").await;
    inspect(&browser, "users").await;
    browser.click(&format!("tr[data-user-id=\"{owner_id}\"] a")).await;
    assert_eq!(browser.path().await, format!("/console/users/{owner_id}/"));
    assert!(browser.exists("form#deactivate").await);
    inspect(&browser, "user").await;
    browser.goto("/console/recommendations/").await;
    assert!(browser.exists("form#clear-cache").await);
    inspect(&browser, "recommendations").await;

    browser.close().await;
    workers.stop().await;
}
