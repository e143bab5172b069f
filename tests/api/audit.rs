//! The audit trail: rows carry who/what/where, the sealed chain verifies, and tampering is
//! caught. (Sealing itself, late commits, witnessed heads: `audit_chain.rs`.)

use carehub::audit::{ChainReport, verify_chain};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{TestApp, audit_key, database_url, json_body};

/// Runs `statements` on one connection the way a superuser going around the trigger would.
pub async fn tamper(db: &PgPool, statements: &[&'static str]) {
    let mut conn = db.acquire().await.expect("conn");
    sqlx::query("set session_replication_role = replica").execute(&mut *conn).await.expect("bypass");
    for statement in statements {
        sqlx::query(*statement).execute(&mut *conn).await.expect("tamper");
    }
    sqlx::query("set session_replication_role = origin").execute(&mut *conn).await.expect("restore");
}

pub async fn some_activity(app: &TestApp) {
    app.patient("zainab").await;
    app.login_response("zainab", "Wrong-Password-9").await;
    app.login_response("ghost", "Wrong-Password-9").await;
}

#[sqlx::test]
async fn audit_rows_carry_the_request_origin_and_id(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let user = app.register_patient("zainab").await;

    let response = app
        .client
        .post(app.url("/api/token/"))
        .header("x-request-id", "trace-abc-123")
        .header("user-agent", "carehub-tests/1.0")
        .json(&serde_json::json!({ "username": user.username, "password": "Wrong-Password-9" }))
        .send()
        .await
        .expect("sent");

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
    let rows = app.audit_rows("login_failed").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].request_id.as_deref(), Some("trace-abc-123"));
    assert_eq!(rows[0].user_agent.as_deref(), Some("carehub-tests/1.0"));
    assert_eq!(rows[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(rows[0].target_id.as_deref(), Some(user.id.to_string().as_str()));
    assert!(rows[0].details.get("password").is_none(), "no password in the trail");
}

#[sqlx::test]
async fn a_password_typed_into_the_username_field_never_reaches_the_trail(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let user = app.register_patient("zainab").await;
    let typed_password = "Correct-Horse-Battery-71";

    // Typed into the username field, twice (once in another case); then a known account.
    let first = app.login_response(typed_password, "anything").await;
    let second = app.login_response(&typed_password.to_uppercase(), "anything").await;
    let known = app.login_response("ZAINAB", typed_password).await;

    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(second.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(known.status(), StatusCode::UNAUTHORIZED);
    let everything: Vec<String> =
        sqlx::query_scalar("select concat_ws(' ', action, target_id, details::text) from audit_log")
            .fetch_all(&db)
            .await
            .expect("rows");
    for row in &everything {
        assert!(!row.to_lowercase().contains(&typed_password.to_lowercase()), "typed secret in the trail: {row}");
    }
    let rows = app.audit_rows("login_failed").await;
    assert_eq!(rows.len(), 3);
    let pseudonym = rows[0].details["username_hmac"].as_str().expect("a keyed hash for an unknown username");
    assert_eq!(pseudonym.len(), 32);
    assert_eq!(rows[1].details["username_hmac"], pseudonym, "repeated attempts correlate");
    assert!(rows[0].details.get("username").is_none());
    assert_eq!(rows[2].details["username"], user.username, "a real account is named as it is spelled");
    assert_eq!(rows[2].target_id.as_deref(), Some(user.id.to_string().as_str()));
}

#[sqlx::test]
async fn the_chain_of_a_busy_log_verifies(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    // Concurrent writers must still produce one unbroken chain.
    futures::future::join_all((0..10).map(|n| app.login_response(&format!("ghost{n}"), "Wrong-Password-9"))).await;
    let head = app.seal_audit().await.expect("a head");

    let report = verify_chain(&db, &audit_key()).await.expect("verify");

    assert_eq!(report, ChainReport::Intact { rows: 14, head: Some(head.clone()) });
    assert_eq!(head.position, 14);
}

#[sqlx::test]
async fn the_application_cannot_update_delete_or_truncate_sealed_audit_rows_or_their_seals(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    app.seal_audit().await;

    let update = sqlx::query("update audit_log set action = 'nothing_happened'").execute(&db).await;
    let delete = sqlx::query("delete from audit_log").execute(&db).await;
    let truncate = sqlx::query("truncate audit_log").execute(&db).await;
    let reseal =
        sqlx::query("update audit_seals set seq = seq + 100, prev_hash = hash, hash = prev_hash").execute(&db).await;
    let rehash = sqlx::query("update audit_seals set hash = sha256(hash) where seq = 1").execute(&db).await;
    let unseal = sqlx::query("delete from audit_seals where seq = 2").execute(&db).await;
    let truncate_seals = sqlx::query("truncate audit_seals").execute(&db).await;

    for result in [update, delete, truncate, reseal, rehash, unseal, truncate_seals] {
        let err = result.expect_err("refused");
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert!(matches!(verify_chain(&db, &audit_key()).await.expect("verify"), ChainReport::Intact { rows: 4, .. }));
}

/// Each audit row's version: `xmin` changes with any UPDATE, even one a trigger let through.
async fn row_versions(db: &PgPool) -> Vec<(i64, String)> {
    sqlx::query_as("select id, xmin::text from audit_log order by id").fetch_all(db).await.expect("versions")
}

#[sqlx::test]
async fn an_audit_row_is_written_once_and_sealing_never_touches_it(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    let before = row_versions(&db).await;

    let edit = sqlx::query("update audit_log set action = 'nothing_happened'").execute(&db).await;
    let delete = sqlx::query("delete from audit_log").execute(&db).await;
    let born_with_a_legacy_hash =
        sqlx::query("insert into audit_log (occurred_at, action, legacy_hash) values (now(), 'forged', '\\x02')")
            .execute(&db)
            .await;
    for result in [edit, delete, born_with_a_legacy_hash] {
        let err = result.expect_err("refused");
        assert!(err.to_string().contains("audit_log"), "{err}");
    }

    let head = app.seal_audit().await.expect("sealed");
    let again = sqlx::query("insert into audit_seals select audit_id, seq + 100, prev_hash, hash from audit_seals")
        .execute(&db)
        .await;

    assert_eq!(row_versions(&db).await, before, "sealing wrote beside the rows, not to them");
    assert!(again.expect_err("a second seal of a row is refused").to_string().contains("audit_seals"));
    assert_eq!(head.position, 4);
    assert!(matches!(verify_chain(&db, &audit_key()).await.expect("verify"), ChainReport::Intact { rows: 4, .. }));
}

#[sqlx::test]
async fn an_edited_audit_row_is_detected_at_that_row(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    app.seal_audit().await;
    let target: i64 = sqlx::query_scalar("select id from audit_log where action = 'login_failed' order by id limit 1")
        .fetch_one(&db)
        .await
        .expect("row");

    // Someone with superuser rights goes around the trigger.
    let mut conn = db.acquire().await.expect("conn");
    sqlx::query("set session_replication_role = replica").execute(&mut *conn).await.expect("bypass");
    sqlx::query("update audit_log set details = '{\"username\": \"someone-else\"}' where id = $1")
        .bind(target)
        .execute(&mut *conn)
        .await
        .expect("tamper");
    sqlx::query("set session_replication_role = origin").execute(&mut *conn).await.expect("restore");
    drop(conn);

    let report = verify_chain(&db, &audit_key()).await.expect("verify");

    assert!(matches!(report, ChainReport::Broken { row_id, .. } if row_id == target), "{report:?}");
}

#[sqlx::test]
async fn a_deleted_audit_row_is_detected_at_its_successor(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    app.seal_audit().await;
    let ids: Vec<i64> =
        sqlx::query_scalar("select audit_id from audit_seals order by seq").fetch_all(&db).await.expect("ids");

    let mut conn = db.acquire().await.expect("conn");
    sqlx::query("set session_replication_role = replica").execute(&mut *conn).await.expect("bypass");
    sqlx::query("delete from audit_log where id = $1").bind(ids[1]).execute(&mut *conn).await.expect("tamper");
    sqlx::query("set session_replication_role = origin").execute(&mut *conn).await.expect("restore");
    drop(conn);

    let report = verify_chain(&db, &audit_key()).await.expect("verify");

    assert!(
        matches!(report, ChainReport::Broken { row_id, position: 3, rows_checked: 1, .. } if row_id == ids[2]),
        "{report:?}"
    );
}

#[sqlx::test]
async fn a_reordered_audit_row_is_detected_at_the_first_moved_position(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    app.seal_audit().await;
    let ids: Vec<i64> =
        sqlx::query_scalar("select audit_id from audit_seals order by seq").fetch_all(&db).await.expect("ids");

    // The second and third rows trade places (their seals trade positions).
    tamper(
        &db,
        &[
            "update audit_seals set seq = 1000 where seq = 2",
            "update audit_seals set seq = 2 where seq = 3",
            "update audit_seals set seq = 3 where seq = 1000",
        ],
    )
    .await;

    let report = verify_chain(&db, &audit_key()).await.expect("verify");

    assert!(
        matches!(report, ChainReport::Broken { row_id, position: 2, rows_checked: 1, .. } if row_id == ids[2]),
        "{report:?}"
    );
}

#[sqlx::test]
async fn the_cli_creates_an_admin_and_verifies_the_chain(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let url = database_url(&db);
    let carehub = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_carehub"))
            .args(args)
            .env("CAREHUB_ENV", "test")
            .env("DATABASE_URL", &url)
            .env("CAREHUB_ADMIN_PASSWORD", "Granite-Falcon-Meadow-58")
            .env("RUST_LOG", "error")
            .output()
            .expect("carehub runs")
    };

    let created = carehub(&["create-admin", "--username", "chief", "--email", "chief@example.com"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).contains("created admin 'chief'"));
    let login = app.login_response("chief", "Granite-Falcon-Meadow-58").await;
    assert_eq!(login.status(), StatusCode::OK);
    let token = json_body(login).await["access"].as_str().expect("access").to_owned();
    let me = json_body(app.get("/api/accounts/me/", Some(&token)).await).await;
    assert_eq!(me["user_type"], "ADMIN");
    assert_eq!(app.audit_rows("admin_created").await.len(), 1);
    app.seal_audit().await;

    let verified = carehub(&["audit-verify"]);
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stdout).contains("intact"));

    let mut conn = db.acquire().await.expect("conn");
    sqlx::query("set session_replication_role = replica").execute(&mut *conn).await.expect("bypass");
    sqlx::query("update audit_log set actor_id = 999").execute(&mut *conn).await.expect("tamper");
    drop(conn);
    let broken = carehub(&["audit-verify"]);
    assert!(!broken.status.success());
    assert!(String::from_utf8_lossy(&broken.stdout).contains("BROKEN"));
}

#[sqlx::test]
async fn a_removed_seal_is_detected_at_the_next_position(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    app.seal_audit().await;
    let ids: Vec<i64> =
        sqlx::query_scalar("select audit_id from audit_seals order by seq").fetch_all(&db).await.expect("ids");

    tamper(&db, &["delete from audit_seals where seq = 2"]).await;

    let report = verify_chain(&db, &audit_key()).await.expect("verify");
    assert!(
        matches!(report, ChainReport::Broken { row_id, position: 3, rows_checked: 1, .. } if row_id == ids[2]),
        "{report:?}"
    );
}
