//! What the operations console asks of the accounts and hospitals contexts: an admin deactivates
//! and reactivates accounts (ending their logins, idempotently, never their own, never a hospital
//! past its approval), finds accounts, and rejects a hospital with a reason that reaches the
//! audit trail and the hospital's SMS.
//!
//! The services are called from a state of the test's own (another process, as far as the app
//! under test knows: its cached login states are emptied by the database's notification).

use std::sync::Arc;

use carehub::{
    accounts::{
        model::{Principal, UserType},
        repo,
        service::activation::set_active,
    },
    audit::{RequestMeta, Via},
    config::Settings,
    hospitals::service::registration::approve,
    http::error::ApiError,
    ids::{HospitalId, UserId},
    state::AppState,
};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use wiremock::{Mock, MockServer, matchers::method};

use crate::{
    helpers::{TestApp, TestUser, json_body},
    jobs::{Workers, eventually, namespace, settings, twilio, twilio_created},
};

/// An application state on the test's database, as another web process would hold it.
pub(crate) fn app_state(db: &PgPool) -> AppState {
    let settings = Arc::new(Settings::for_tests().expect("settings"));
    AppState::new(settings, db.clone(), carehub::ops::metrics::handle()).expect("state")
}

/// A caller of the services: account `id` of type `user_type`.
pub(crate) fn caller(id: i64, user_type: UserType) -> Principal {
    Principal { user_id: UserId(id), user_type, hospital_id: None, session_id: uuid::Uuid::new_v4() }
}

fn refused_code(result: Result<impl std::fmt::Debug, ApiError>) -> &'static str {
    match result {
        Err(ApiError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn is_active(db: &PgPool, user: i64) -> bool {
    sqlx::query_scalar("select is_active from users where id = $1").bind(user).fetch_one(db).await.expect("user")
}

async fn refresh(app: &TestApp, refresh: &str) -> StatusCode {
    app.post("/api/token/refresh/", &json!({ "refresh": refresh }), None).await.status()
}

#[sqlx::test]
async fn deactivation_ends_the_accounts_api_logins_and_a_second_one_changes_nothing(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let patient = app.register_patient("zainab").await;
    let tokens = app.login(&patient).await;
    assert_eq!(app.get("/api/accounts/me/", Some(&tokens.access)).await.status(), StatusCode::OK, "cached as live");
    let state = app_state(&db);
    let admin_caller = caller(admin.id, UserType::Admin);
    let meta = RequestMeta::default();

    let summary =
        set_active(&state, &admin_caller, &meta, UserId(patient.id), false, Some("  Reported\n misuse ")).await;

    assert!(!summary.expect("deactivated").is_active);
    assert_eq!(refresh(&app, &tokens.refresh).await, StatusCode::UNAUTHORIZED);
    // The app's cache held the login as live: the notification empties it well within its 10 s.
    eventually(3, "the access token is refused", || async {
        app.get("/api/accounts/me/", Some(&tokens.access)).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(app.login_response(&patient.username, &patient.password).await.status(), StatusCode::UNAUTHORIZED);
    let rows = app.audit_rows("user_deactivated").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].actor_id, rows[0].target_id.as_deref()),
        (Some(admin.id), Some(patient.id.to_string().as_str()))
    );
    assert_eq!(rows[0].details, json!({ "reason": "Reported misuse", "via": "console", "logins_ended": 1 }));
    let revoked_at = |db: PgPool| async move {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
            "select revoked_at from refresh_token_families where user_id = $1",
        )
        .bind(patient.id)
        .fetch_all(&db)
        .await
        .expect("families")
    };
    let first = revoked_at(db.clone()).await;

    let again = set_active(&state, &admin_caller, &meta, UserId(patient.id), false, Some("again")).await;

    assert!(!again.expect("still deactivated").is_active);
    assert_eq!(app.audit_rows("user_deactivated").await.len(), 1, "no second audit row");
    assert_eq!(revoked_at(db.clone()).await, first, "nothing changed");
}

#[sqlx::test]
async fn an_admin_cannot_deactivate_themself_and_nothing_changes(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let state = app_state(&db);

    let result =
        set_active(&state, &caller(admin.id, UserType::Admin), &RequestMeta::default(), UserId(admin.id), false, None)
            .await;

    assert_eq!(refused_code(result), "cannot_deactivate_self");
    assert!(is_active(&db, admin.id).await);
    assert_eq!(app.get("/api/accounts/me/", Some(&admin.token)).await.status(), StatusCode::OK);
    assert!(app.audit_rows("user_deactivated").await.is_empty());
}

#[sqlx::test]
async fn only_admins_deactivate_or_reactivate_accounts_and_an_unknown_one_is_a_404(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let patient = app.register_patient("zainab").await;
    let other = app.register_patient("bilal").await;
    let state = app_state(&db);
    let meta = RequestMeta::default();

    for user_type in [UserType::Patient, UserType::Doctor, UserType::Hospital] {
        let result = set_active(&state, &caller(other.id, user_type), &meta, UserId(patient.id), false, None).await;
        assert!(matches!(result, Err(ApiError::Forbidden(_))), "{user_type:?}: {result:?}");
    }
    let admin_caller = caller(admin.id, UserType::Admin);
    let missing = set_active(&state, &admin_caller, &meta, UserId(999_999), false, None).await;

    assert!(matches!(missing, Err(ApiError::NotFound)), "{missing:?}");
    assert!(is_active(&db, patient.id).await);
    assert_eq!(app.login_response(&patient.username, &patient.password).await.status(), StatusCode::OK);
    assert!(app.audit_rows("user_deactivated").await.is_empty());
}

#[sqlx::test]
async fn a_reactivated_account_logs_in_again_while_its_ended_logins_stay_ended(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let patient = app.register_patient("zainab").await;
    let old = app.login(&patient).await;
    let state = app_state(&db);
    let (admin_caller, meta) = (caller(admin.id, UserType::Admin), RequestMeta::default());
    set_active(&state, &admin_caller, &meta, UserId(patient.id), false, None).await.expect("deactivated");

    let summary = set_active(&state, &admin_caller, &meta, UserId(patient.id), true, Some("Appeal upheld")).await;

    assert!(summary.expect("reactivated").is_active);
    assert_eq!(app.login_response(&patient.username, &patient.password).await.status(), StatusCode::OK);
    assert_eq!(refresh(&app, &old.refresh).await, StatusCode::UNAUTHORIZED, "a login ended stays ended");
    let rows = app.audit_rows("user_reactivated").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_id, Some(admin.id));
    assert_eq!(rows[0].details, json!({ "reason": "Appeal upheld", "via": "console" }));
    set_active(&state, &admin_caller, &meta, UserId(patient.id), true, None).await.expect("idempotent");
    assert_eq!(app.audit_rows("user_reactivated").await.len(), 1, "no second audit row");
}

async fn account_of(db: &PgPool, hospital: i64) -> i64 {
    sqlx::query_scalar("select user_id from hospitals where id = $1").bind(hospital).fetch_one(db).await.expect("id")
}

#[sqlx::test]
async fn a_hospital_account_is_reactivated_only_while_its_hospital_is_approved(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let (pending, pending_user) = app.register_hospital(&crate::helpers::hospital_registration("jinnah")).await;
    let approved = app.approved_hospital("aga").await;
    let state = app_state(&db);
    let (admin_caller, meta) = (caller(admin.id, UserType::Admin), RequestMeta::default());
    let pending_account = account_of(&db, pending).await;

    let refused = set_active(&state, &admin_caller, &meta, UserId(pending_account), true, None).await;

    assert_eq!(refused_code(refused), "hospital_not_approved");
    assert!(!is_active(&db, pending_account).await);
    assert_eq!(
        app.login_response(&pending_user.username, &pending_user.password).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // An approved hospital's account, deactivated, comes back.
    let account = account_of(&db, approved.id).await;
    set_active(&state, &admin_caller, &meta, UserId(account), false, None).await.expect("deactivated");
    set_active(&state, &admin_caller, &meta, UserId(account), true, None).await.expect("reactivated");
    assert_eq!(app.login_response(&approved.user.username, &approved.user.password).await.status(), StatusCode::OK);
    // Once rejected, not any more.
    let rejected =
        approve(&state, &admin_caller, &meta, HospitalId(approved.id), Some(false), None, Via::Console).await;
    rejected.expect("rejected");
    let refused = set_active(&state, &admin_caller, &meta, UserId(account), true, None).await;
    assert_eq!(refused_code(refused), "hospital_not_approved");
    assert_eq!(app.audit_rows("user_reactivated").await.len(), 1);
}

#[sqlx::test]
async fn a_rejection_with_a_reason_records_it_and_sends_it_to_the_hospital(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM1")).mount(&twilio_server).await;
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let (id, _) = app.register_hospital(&crate::helpers::hospital_registration("jinnah")).await;
    let body = json!({ "is_approved": false, "reason": " The license number\ncould not be verified. " });

    let response = app.patch(&format!("/api/hospitals/{id}/approve/"), &body, Some(&admin.token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["hospital"]["is_approved"], false);
    let rows = app.audit_rows("hospital_rejected").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_id, Some(admin.id));
    let reason = "The license number could not be verified.";
    assert_eq!(rows[0].details, json!({ "is_approved": false, "reason": reason, "via": "api" }));
    let workers = Workers::start(&db, settings(&namespace()), twilio(&twilio_server));
    eventually(10, "the SMS reaches Twilio", || async {
        !twilio_server.received_requests().await.unwrap_or_default().is_empty()
    })
    .await;
    workers.stop().await;
    let requests = twilio_server.received_requests().await.expect("recorded");
    let sent: Vec<String> = requests
        .iter()
        .filter_map(|r| url::form_urlencoded::parse(&r.body).find(|(k, _)| k == "Body").map(|(_, v)| v.into_owned()))
        .collect();
    assert_eq!(
        sent,
        [format!("CareHub: the registration of Jinnah Hospital was not approved. Reason: {reason}")],
        "one SMS, with the reason"
    );
}

#[sqlx::test]
async fn a_decision_from_the_console_says_so_and_an_approval_without_a_reason_records_none(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let (id, user) = app.register_hospital(&crate::helpers::hospital_registration("jinnah")).await;
    let state = app_state(&db);

    let approval = approve(
        &state,
        &caller(admin.id, UserType::Admin),
        &RequestMeta::default(),
        HospitalId(id),
        Some(true),
        Some("   "),
        Via::Console,
    )
    .await;

    assert!(approval.expect("approved").hospital.is_approved);
    let rows = app.audit_rows("hospital_approved").await;
    assert_eq!(rows[0].details, json!({ "is_approved": true, "reason": null, "via": "console" }));
    assert_eq!(app.login_response(&user.username, &user.password).await.status(), StatusCode::OK);
    let text: String = sqlx::query_scalar("select body from sms_messages").fetch_one(&db).await.expect("sms");
    assert!(!text.contains("Reason"), "{text}");
}

async fn found(db: &PgPool, q: Option<&str>, role: Option<UserType>, active: Option<bool>) -> Vec<i64> {
    let mut conn = db.acquire().await.expect("conn");
    let (count, rows) = repo::search_users(&mut conn, q, role, active, 10, 0).await.expect("search");
    assert_eq!(usize::try_from(count).expect("count"), rows.len(), "{q:?}");
    rows.into_iter().map(|u| u.id.get()).collect()
}

#[sqlx::test]
async fn admins_find_accounts_by_username_name_or_phone_newest_first(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await; // Test ADMIN
    let zainab = app.register_patient("zainab").await; // Zainab Ali, +923007654321
    let bilal: TestUser = app.user(UserType::Patient, "bilal_50").await; // Test PATIENT
    let doctor: TestUser = app.user(UserType::Doctor, "drkhan").await; // Test DOCTOR
    let state = app_state(&db);
    let (admin_caller, meta) = (caller(admin.id, UserType::Admin), RequestMeta::default());
    set_active(&state, &admin_caller, &meta, UserId(bilal.id), false, None).await.expect("deactivated");

    assert_eq!(found(&db, Some("ZAIN"), None, None).await, [zainab.id]);
    assert_eq!(found(&db, Some("zainab ali"), None, None).await, [zainab.id], "first and last name");
    assert_eq!(found(&db, Some("7654321"), None, None).await, [zainab.id], "phone");
    assert_eq!(found(&db, Some("test"), None, None).await, [doctor.id, bilal.id, admin.id], "newest first");
    assert_eq!(found(&db, None, Some(UserType::Patient), None).await, [bilal.id, zainab.id]);
    assert_eq!(found(&db, None, Some(UserType::Patient), Some(true)).await, [zainab.id]);
    assert_eq!(found(&db, Some("  "), None, Some(false)).await, [bilal.id], "a blank search is no filter");
    assert_eq!(found(&db, Some("_"), None, None).await, [bilal.id], "wildcards are taken literally");
    assert_eq!(found(&db, Some("%"), None, None).await, Vec::<i64>::new());
    let mut conn = db.acquire().await.expect("conn");
    let (count, page) = repo::search_users(&mut conn, None, None, None, 2, 1).await.expect("page");
    assert_eq!((count, page.len()), (4, 2));
    assert_eq!(page.iter().map(|u| u.id.get()).collect::<Vec<_>>(), [bilal.id, zainab.id]);
    let counts = repo::user_counts_by_role(&db).await.expect("counts");
    let expected = [("ADMIN", 1, 0), ("HOSPITAL", 0, 0), ("DOCTOR", 1, 0), ("PATIENT", 1, 1)];
    assert_eq!(counts, expected.map(|(role, on, off)| (role.to_owned(), on, off)));
}
