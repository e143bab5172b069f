//! The console's audit and recommendations pages over HTTP, with a console session inserted
//! straight into `console_sessions` (the login and its second factor are tested elsewhere): the
//! trail filtered and paged, a row's details escaped, meaningless filters refused with a 400
//! page, the chain's state; the recommendations' statistics, and the cache cleared only by a
//! form carrying the session's CSRF token.

use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{
    helpers::{TestApp, TestDoctor, json_body},
    jobs::{Workers, namespace, settings},
};

const CSRF: &str = "test-csrf";

/// A signed-in console admin: its user id and the session cookie's token.
struct Console {
    admin_id: i64,
    cookie: String,
}

async fn console(app: &TestApp) -> Console {
    let admin = app.admin().await;
    let token = carehub::console::session::random_token();
    sqlx::query("insert into console_sessions (token_hash, user_id, stage, csrf) values ($1, $2, 'ACTIVE', $3)")
        .bind(carehub::console::session::token_hash(&token))
        .bind(admin.user.id)
        .bind(CSRF)
        .execute(&app.db)
        .await
        .expect("console session");
    Console { admin_id: admin.user.id, cookie: format!("__Host-carehub_console={token}") }
}

async fn get(app: &TestApp, console: &Console, path: &str) -> Response {
    app.client.get(app.url(path)).header(header::COOKIE, &console.cookie).send().await.expect("request")
}

async fn post(app: &TestApp, console: &Console, path: &str, form: &[(&str, &str)]) -> Response {
    app.client.post(app.url(path)).header(header::COOKIE, &console.cookie).form(form).send().await.expect("request")
}

/// The page's HTML, after checking its status and that it has exactly one `h1`.
async fn html(response: Response, status: StatusCode) -> String {
    let actual = response.status();
    let kind = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "{body}");
    assert!(kind.starts_with("text/html"), "{kind}");
    assert_eq!(body.matches("<h1").count(), 1, "{body}");
    body
}

/// The ids of the audit rows a page lists, in its order.
fn audit_ids(body: &str) -> Vec<i64> {
    body.split("data-audit-id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("quote")].parse().expect("id"))
        .collect()
}

/// Appends an audit row as a service would (unsealed); its id.
async fn audit_row(db: &PgPool, action: &str, actor: Option<i64>, target: (&str, &str), details: Value) -> i64 {
    sqlx::query_scalar(
        "insert into audit_log (occurred_at, actor_id, actor_type, action, target_type, target_id, ip, user_agent, details) \
         values (now(), $1, 'ADMIN', $2, $3, $4, '203.0.113.7', 'Mozilla/5.0 (test)', $5) returning id",
    )
    .bind(actor)
    .bind(action)
    .bind(target.0)
    .bind(target.1)
    .bind(details)
    .fetch_one(db)
    .await
    .expect("audit row")
}

#[sqlx::test]
async fn the_audit_page_filters_by_action_actor_and_target_and_pages_through_the_rows(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let console = console(&app).await;
    let mut approved = Vec::new();
    for hospital in 1..=27 {
        let id =
            audit_row(&db, "hospital_approved", Some(console.admin_id), ("hospital", &hospital.to_string()), json!({}))
                .await;
        approved.push(id);
    }
    let deactivated = audit_row(&db, "user_deactivated", None, ("user", "5"), json!({})).await;

    let only = html(get(&app, &console, "/console/audit/?action=user_deactivated").await, StatusCode::OK).await;
    assert_eq!(audit_ids(&only), vec![deactivated], "only the rows of that action");
    assert!(only.contains("form") && only.contains("id=\"verify-chain\"") && only.contains("id=\"verification\""));
    for field in ["actor", "action", "target", "since", "until"] {
        assert!(only.contains(&format!("<label for=\"{field}\"")), "{field} is labelled");
    }

    let first = html(get(&app, &console, "/console/audit/?action=hospital_approved").await, StatusCode::OK).await;
    let newest: Vec<i64> = approved.iter().rev().take(25).copied().collect();
    assert_eq!(audit_ids(&first), newest, "newest first, 25 a page");
    assert!(first.contains("Page 1 of 2"), "{first}");
    assert!(
        first.contains("href=\"/console/audit/?action=hospital_approved&amp;page=2\""),
        "the next page keeps the filter"
    );
    let second =
        html(get(&app, &console, "/console/audit/?action=hospital_approved&page=2").await, StatusCode::OK).await;
    assert_eq!(audit_ids(&second), vec![approved[1], approved[0]]);

    let one = html(get(&app, &console, "/console/audit/?target=hospital:12").await, StatusCode::OK).await;
    assert_eq!(audit_ids(&one), vec![approved[11]], "a type and an id: that one object");
    let kind = html(get(&app, &console, "/console/audit/?target=user").await, StatusCode::OK).await;
    let kind = audit_ids(&kind);
    assert!(kind.contains(&deactivated), "a type alone: every object of it");
    assert!(!kind.iter().any(|id| approved.contains(id)), "and nothing of another type");

    let by_name =
        html(get(&app, &console, "/console/audit/?actor=ADMIN&action=hospital_approved").await, StatusCode::OK).await;
    assert_eq!(audit_ids(&by_name).len(), 25, "a username, in any case");
    let nobody = html(get(&app, &console, "/console/audit/?actor=nobody-here").await, StatusCode::OK).await;
    assert!(audit_ids(&nobody).is_empty(), "an unknown username matches no row, not every row");
    let later = html(get(&app, &console, "/console/audit/?since=2999-01-01T00:00").await, StatusCode::OK).await;
    assert!(audit_ids(&later).is_empty());
    let earlier =
        html(get(&app, &console, "/console/audit/?until=2999-01-01&action=user_deactivated").await, StatusCode::OK)
            .await;
    assert_eq!(audit_ids(&earlier), vec![deactivated]);
}

#[sqlx::test]
async fn meaningless_filters_are_a_400_page_naming_the_field_and_no_session_is_sent_to_the_login(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let console = console(&app).await;
    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=2026-13-40", "until"),
        ("target=:12", "target"),
        ("actor=99999999999999999999", "actor"),
    ] {
        let body = html(get(&app, &console, &format!("/console/audit/?{query}")).await, StatusCode::BAD_REQUEST).await;
        assert!(body.contains(&format!("{field}: ")), "{query}: {body}");
        assert!(!body.contains("data-audit-id"), "{query}: no rows on a refused filter");
    }
    let anonymous = app.client.get(app.url("/console/audit/")).send().await.expect("request");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[header::LOCATION], "/console/login/");
    for path in ["/console/audit/999999/", "/console/audit/abc/"] {
        assert_eq!(get(&app, &console, path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[sqlx::test]
async fn a_rows_page_shows_every_field_its_details_escaped_and_its_seal(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let console = console(&app).await;
    let details = json!({ "username": "<script>alert(1)</script>", "reason": "a & b" });
    let id = audit_row(&db, "console_login_failed", None, ("user", "7"), details).await;

    let body = html(get(&app, &console, &format!("/console/audit/{id}/")).await, StatusCode::OK).await;
    assert!(!body.contains("<script>"), "no markup from the row reaches the page: {body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{body}");
    assert!(body.contains("a &amp; b"));
    for shown in ["console_login_failed", "203.0.113.7", "Mozilla/5.0 (test)", "nobody signed in", "Not sealed yet"] {
        assert!(body.contains(shown), "{shown}");
    }
    let list = html(get(&app, &console, "/console/audit/").await, StatusCode::OK).await;
    assert!(list.contains(&format!("href=\"/console/audit/{id}/\"")), "the list links the row");
    assert!(list.contains("Nothing sealed yet"));

    let head = app.seal_audit().await.expect("a head");
    let sealed = html(get(&app, &console, &format!("/console/audit/{id}/")).await, StatusCode::OK).await;
    let prefix = &head.hash_hex()[..12];
    assert!(!sealed.contains("Not sealed yet"));
    let list = html(get(&app, &console, "/console/audit/").await, StatusCode::OK).await;
    assert!(list.contains(&format!("position {}, hash", head.position)), "{list}");
    assert!(list.contains(prefix), "the head's hash prefix");
    assert!(list.contains("No row"), "nothing waits for the sealer");
    assert!(sealed.contains(prefix), "the row written last is the head");
}

#[sqlx::test]
async fn verifying_the_chain_takes_the_sessions_csrf_token(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let console = console(&app).await;
    let queued = post(&app, &console, "/console/audit/verify/", &[("csrf", CSRF)]).await;
    assert_eq!(queued.status(), StatusCode::SEE_OTHER);
    assert_eq!(queued.headers()[header::LOCATION], "/console/audit/?flash=verification_queued");
    let refused = post(&app, &console, "/console/audit/verify/", &[("csrf", "forged")]).await;
    html(refused, StatusCode::FORBIDDEN).await;
    let page = html(get(&app, &console, "/console/audit/?flash=verification_queued").await, StatusCode::OK).await;
    assert!(page.contains("id=\"flash\""));
}

async fn doctor(app: &TestApp) -> TestDoctor {
    let hospital = app.approved_hospital("jinnah").await;
    app.working_doctor_at(&hospital).await
}

async fn cached_answers(db: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from recommendation_cache").fetch_one(db).await.expect("count")
}

#[sqlx::test]
async fn the_recommendations_page_shows_the_stats_and_clears_the_cache_only_with_the_csrf_token(db: PgPool) {
    carehub::medicines::formulary::load(&db).await.expect("formulary loads");
    let app = TestApp::spawn(&db).await;
    let console = console(&app).await;
    let empty = html(get(&app, &console, "/console/recommendations/").await, StatusCode::OK).await;
    assert!(empty.contains("No recommendation has been asked for yet."));

    let doctor = doctor(&app).await;
    let registry = carehub::jobs::registry(
        &carehub::config::Settings::for_tests().expect("settings"),
        &carehub_workers::sms::SmsProvider::Console,
    );
    let workers = Workers::start_with(&db, settings(&namespace()), registry);
    let ask = json!({
        "medicine_name": "aspirin",
        "patient_info": { "age": 45, "gender": "female", "allergies": [], "chronic_conditions": [], "current_medications": [] }
    });
    for _ in 0..2 {
        let response = app.post("/api/recommendations/", &ask, Some(&doctor.token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", json_body(response).await);
    }
    workers.stop().await;

    let body = html(get(&app, &console, "/console/recommendations/").await, StatusCode::OK).await;
    assert!(body.contains("50.0 %"), "one of two answered from the cache: {body}");
    assert!(body.contains("aspirin") && body.contains("<svg"), "the top medicine, charted");
    assert!(body.contains("id=\"clear-cache\"") && body.contains("name=\"csrf\""));
    assert!(!body.contains("style="), "no inline styles");
    assert_eq!(cached_answers(&db).await, 1);

    let refused = post(&app, &console, "/console/recommendations/cache/clear/", &[]).await;
    html(refused, StatusCode::FORBIDDEN).await;
    let forged = post(&app, &console, "/console/recommendations/cache/clear/", &[("csrf", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(cached_answers(&db).await, 1, "a refused form leaves the cache");
    assert!(app.audit_rows("recommendation_cache_cleared").await.is_empty());

    let cleared = post(&app, &console, "/console/recommendations/cache/clear/", &[("csrf", CSRF)]).await;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    assert_eq!(cleared.headers()[header::LOCATION], "/console/recommendations/?flash=cache_cleared");
    assert_eq!(cached_answers(&db).await, 0);
    let rows = app.audit_rows("recommendation_cache_cleared").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_id, Some(console.admin_id), "the admin is the actor");
    assert_eq!(rows[0].details["removed"], 1);
    let after = html(get(&app, &console, "/console/recommendations/?flash=cache_cleared").await, StatusCode::OK).await;
    assert!(after.contains("id=\"flash\"") && after.contains("The recommendation cache was cleared."));
    let recommendations: i64 =
        sqlx::query_scalar("select count(*) from recommendations").fetch_one(&db).await.expect("count");
    assert_eq!(recommendations, 2, "the history stays");
}

#[sqlx::test]
async fn a_target_filter_never_finds_a_row_whose_target_a_hospital_is_not_shown(db: PgPool) {
    use carehub::{audit::model::LogFilter, ids::HospitalId};
    sqlx::query(
        "insert into audit_log (occurred_at, hospital_id, action, target_type, target_id) \
         values (now(), 7, 'otp_requested', 'patient', '5'), (now(), 7, 'department_created', 'department', '3')",
    )
    .execute(&db)
    .await
    .expect("rows");
    let mut conn = db.acquire().await.expect("connection");
    let mut count = async |hospital: Option<i64>, target_type: &str| {
        let filter = LogFilter {
            hospital: hospital.map(HospitalId),
            actor: None,
            action: None,
            since: None,
            until: None,
            target_type: Some(target_type),
            target_id: None,
        };
        let (count, rows) = carehub::audit::repo::list(&mut conn, &filter, 25, 0).await.expect("list");
        assert_eq!(count, rows.len() as i64);
        count
    };
    assert_eq!(count(None, "patient").await, 1, "an admin finds it");
    assert_eq!(count(Some(7), "patient").await, 0, "its hospital does not, neither in the rows nor the count");
    assert_eq!(count(Some(7), "department").await, 1, "other targets it does");
}
