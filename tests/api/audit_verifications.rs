//! "Verify the chain" from the console: a request queues one job through the outbox, a worker
//! holding `AUDIT_KEY` runs the verifier and writes its verdict (intact with the head, broken
//! naming the row), repeated requests while one is open queue nothing more, and a worker without
//! the key fails the verification at once, saying why.

use carehub::{
    accounts::model::UserType,
    audit::{
        RequestMeta,
        repo::verifications::{Outcome, Verification},
        verifications::{latest_verifications, request_verification},
    },
    config::Settings,
    http::error::ApiError,
};
use carehub_workers::{Registry, sms::SmsProvider};
use sqlx::PgPool;

use crate::{
    activation::{app_state, caller},
    audit::{some_activity, tamper},
    helpers::TestApp,
    jobs::{Workers, eventually, namespace, settings},
};

async fn verification(db: &PgPool, id: i64) -> Verification {
    let latest = latest_verifications(db, 10).await.expect("verifications");
    latest.into_iter().find(|v| v.id == id).expect("the verification is listed")
}

/// Runs the queued jobs on workers built from `registry` until verification `id` has a verdict.
async fn run_until_done(db: &PgPool, registry: Registry, id: i64) -> Verification {
    let workers = Workers::start_with(db, settings(&namespace()), registry);
    eventually(15, "the verification has its verdict", || async { !verification(db, id).await.outcome.is_open() })
        .await;
    workers.stop().await;
    verification(db, id).await
}

/// The workers as `carehub work` builds them: the test settings hold AUDIT_KEY.
fn worker_registry() -> Registry {
    carehub::jobs::registry(&Settings::for_tests().expect("settings"), &SmsProvider::Console)
}

async fn queued_jobs(db: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from outbox where job_type = 'VerifyAuditChain'")
        .fetch_one(db)
        .await
        .expect("count")
}

#[sqlx::test]
async fn a_requested_verification_runs_in_a_worker_holding_the_key_and_finds_the_chain_intact(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    some_activity(&app).await;
    let head = app.seal_audit().await.expect("head");
    let state = app_state(&db);

    let id = request_verification(&state, &caller(admin.id, UserType::Admin), &RequestMeta::default()).await;

    let id = id.expect("queued");
    let pending = verification(&db, id).await;
    assert_eq!(pending.outcome, Outcome::Pending);
    assert_eq!(
        (pending.requested_by.map(|u| u.get()), pending.requested_by_username.as_deref()),
        (Some(admin.id), Some("admin"))
    );
    let rows = app.audit_rows("audit_chain_verification_requested").await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].actor_id, rows[0].target_id.as_deref()), (Some(admin.id), Some(id.to_string().as_str())));
    let done = run_until_done(&db, worker_registry(), id).await;
    assert_eq!(done.outcome, Outcome::Intact, "{done:?}");
    assert_eq!(done.rows_checked, Some(head.position), "every sealed row");
    assert_eq!((done.head_position, done.head_hash.clone()), (Some(head.position), Some(head.hash_hex())));
    assert_eq!((done.broken_row_id, done.reason.as_deref()), (None, None));
    assert!(done.started_at.is_some() && done.finished_at.is_some());
    // Finished, it no longer stands in the way of the next one.
    let next = request_verification(&state, &caller(admin.id, UserType::Admin), &RequestMeta::default()).await;
    assert_ne!(next.expect("queued"), id);
    assert_eq!(queued_jobs(&db).await, 2);
}

#[sqlx::test]
async fn a_tampered_row_is_named_by_the_verdict(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    some_activity(&app).await;
    app.seal_audit().await.expect("head");
    tamper(
        &db,
        &["update audit_log set details = '{\"username\": \"someone-else\"}' \
           where id = (select audit_id from audit_seals where seq = 2)"],
    )
    .await;
    let edited: i64 =
        sqlx::query_scalar("select audit_id from audit_seals where seq = 2").fetch_one(&db).await.expect("row");
    let state = app_state(&db);
    let id = request_verification(&state, &caller(admin.id, UserType::Admin), &RequestMeta::default())
        .await
        .expect("queued");

    let done = run_until_done(&db, worker_registry(), id).await;

    assert_eq!(done.outcome, Outcome::Broken, "{done:?}");
    assert_eq!((done.broken_row_id, done.broken_position, done.rows_checked), (Some(edited), Some(2), Some(1)));
    assert!(done.reason.as_deref().is_some_and(|r| r.contains("content")), "{:?}", done.reason);
    assert_eq!(done.head_hash, None);
}

#[sqlx::test]
async fn requests_while_one_is_pending_queue_one_job(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let state = app_state(&db);
    let admin_caller = caller(admin.id, UserType::Admin);
    let meta = RequestMeta::default();

    let at_once = futures::future::join_all((0..4).map(|_| request_verification(&state, &admin_caller, &meta))).await;
    let later = request_verification(&state, &admin_caller, &meta).await.expect("answered");

    let ids: Vec<i64> = at_once.into_iter().map(|r| r.expect("answered")).collect();
    assert!(ids.iter().all(|id| *id == later), "one verification: {ids:?} and {later}");
    assert_eq!(queued_jobs(&db).await, 1, "one job");
    assert_eq!(app.audit_rows("audit_chain_verification_requested").await.len(), 1);
    assert_eq!(latest_verifications(&db, 10).await.expect("list").len(), 1);
}

#[sqlx::test]
async fn only_admins_request_a_verification(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.register_patient("zainab").await;
    let state = app_state(&db);

    for user_type in [UserType::Patient, UserType::Doctor, UserType::Hospital] {
        let result = request_verification(&state, &caller(patient.id, user_type), &RequestMeta::default()).await;
        assert!(matches!(result, Err(ApiError::Forbidden(_))), "{user_type:?}: {result:?}");
    }
    assert_eq!(queued_jobs(&db).await, 0);
    assert!(latest_verifications(&db, 10).await.expect("list").is_empty());
}

#[sqlx::test]
async fn a_worker_without_the_key_fails_the_verification_at_once_saying_why(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    some_activity(&app).await;
    app.seal_audit().await;
    let state = app_state(&db);
    let id = request_verification(&state, &caller(admin.id, UserType::Admin), &RequestMeta::default())
        .await
        .expect("queued");
    let mut keyless = Settings::for_tests().expect("settings");
    // What a process that did not load AUDIT_KEY holds.
    keyless.audit_key = None;

    let done = run_until_done(&db, carehub::jobs::registry(&keyless, &SmsProvider::Console), id).await;

    assert_eq!(done.outcome, Outcome::Failed, "{done:?}");
    assert!(done.reason.as_deref().is_some_and(|r| r.contains("AUDIT_KEY")), "{:?}", done.reason);
    assert_eq!((done.rows_checked, done.head_hash), (None, None), "no verdict on the chain");
}
