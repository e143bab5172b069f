//! Sealing the audit trail off the hot path: concurrent appenders and sealers leave one chain,
//! a late commit is sealed at a later position, witnessed heads catch a rewrite by someone with
//! the key, rows left unsealed are reported, and rows chained before sealing are re-sealed.

use std::{borrow::Cow, time::Duration};

use carehub::audit::{
    self, AuditEvent, ChainReport, HeadCheck, RequestMeta, SealerSettings, WitnessedHead, check_head,
    unsealed_older_than, verify_chain,
};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio_util::sync::CancellationToken;

use crate::{
    audit::{some_activity, tamper},
    helpers::{TestApp, audit_key, database_url},
};

/// Another connection pool on the test's database: another process, as far as Postgres knows.
async fn another_pool(db: &PgPool) -> PgPool {
    PgPoolOptions::new().max_connections(3).connect_with(db.connect_options().as_ref().clone()).await.expect("pool")
}

async fn unsealed(db: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from audit_log a where not exists (select 1 from audit_seals s where s.audit_id = a.id)",
    )
    .fetch_one(db)
    .await
    .expect("count")
}

#[sqlx::test]
async fn two_processes_appending_while_two_sealers_run_leave_one_chain_sealed_within_a_second(db: PgPool) {
    let first = TestApp::spawn(&db).await;
    let second = TestApp::spawn(&db).await;
    let shutdown = CancellationToken::new();
    let mut sealers = Vec::new();
    for _ in 0..2 {
        let settings = SealerSettings { key: audit_key(), interval: Duration::from_millis(100), batch: 7 };
        sealers.push(tokio::spawn(audit::seal::run(another_pool(&db).await, settings, shutdown.clone())));
    }

    // Failed logins are audited in transactions of their own: 24 appends, half through each app.
    let attempts = (0..24).map(|n| {
        let app = if n % 2 == 0 { &first } else { &second };
        app.login_response(&format!("ghost{n}"), "Wrong-Password-9")
    });
    futures::future::join_all(attempts).await;
    let committed = std::time::Instant::now();
    while unsealed(&db).await > 0 {
        assert!(committed.elapsed() < Duration::from_secs(3), "rows still unsealed after 3 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = committed.elapsed();
    shutdown.cancel();
    for sealer in sealers {
        sealer.await.expect("sealer stopped");
    }

    assert!(took < Duration::from_millis(1500), "sealed {took:?} after the last commit");
    let report = verify_chain(&db, &audit_key()).await.expect("verify");
    assert!(
        matches!(report, ChainReport::Intact { rows: 24, head: Some(ref head) } if head.position == 24),
        "{report:?}"
    );
    let positions: Vec<i64> =
        sqlx::query_scalar("select seq from audit_seals order by seq").fetch_all(&db).await.expect("positions");
    assert_eq!(positions, (1..=24).collect::<Vec<_>>(), "one gapless chain");
}

#[sqlx::test]
async fn a_row_committed_late_with_a_lower_id_is_sealed_at_a_later_position(db: PgPool) {
    let other = another_pool(&db).await;
    let meta = RequestMeta::default();
    let key = audit_key();

    // A long transaction appends first (the lowest id) and commits last.
    let mut late = other.begin().await.expect("begin");
    audit::record(&mut late, &meta, AuditEvent::new("late_commit")).await.expect("append");
    // Meanwhile other appends neither wait for it (no lock is shared) nor wait to be sealed.
    let others = async {
        for _ in 0..3 {
            audit::record_alone(&db, &meta, AuditEvent::new("early_commit")).await.expect("append");
        }
    };
    tokio::time::timeout(Duration::from_secs(5), others).await.expect("appends do not wait for each other");
    let head = audit::seal_pending(&db, &key).await.expect("seal").expect("head");
    assert_eq!(head.position, 3, "only committed rows are sealed");
    late.commit().await.expect("commit");
    let head = audit::seal_pending(&db, &key).await.expect("seal").expect("head");

    assert_eq!(head.position, 4);
    let (late_id, late_seq): (i64, i64) = sqlx::query_as(
        "select a.id, s.seq from audit_log a join audit_seals s on s.audit_id = a.id where a.action = 'late_commit'",
    )
    .fetch_one(&db)
    .await
    .expect("row");
    let min_id: i64 = sqlx::query_scalar("select min(id) from audit_log").fetch_one(&db).await.expect("min");
    assert_eq!((late_id, late_seq), (min_id, 4), "lowest id, last position");
    assert_eq!(verify_chain(&db, &key).await.expect("verify"), ChainReport::Intact { rows: 4, head: Some(head) });
}

#[sqlx::test]
async fn a_head_witnessed_before_a_rewrite_no_longer_verifies_after_it(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let key = audit_key();
    some_activity(&app).await;
    let head = app.seal_audit().await.expect("head");
    let witnessed: WitnessedHead = head.to_string().parse().expect("head");
    let from_metric: WitnessedHead = format!("{}:{:012x}", head.position, head.hash_prefix()).parse().expect("head");
    app.login_response("ghost", "Wrong-Password-9").await;
    app.seal_audit().await;
    assert_eq!(check_head(&db, &witnessed).await.expect("check"), HeadCheck::InChain, "the chain grew past it");
    assert_eq!(check_head(&db, &from_metric).await.expect("check"), HeadCheck::InChain);

    // Someone with the table and AUDIT_KEY rewrites row 2 and re-chains everything after it.
    tamper(
        &db,
        &[
            "update audit_log set details = '{\"username\": \"someone-else\"}' \
             where id = (select audit_id from audit_seals where seq = 2)",
            "delete from audit_seals where seq >= 2",
        ],
    )
    .await;
    audit::seal_pending(&db, &key).await.expect("re-sealed");

    assert!(matches!(verify_chain(&db, &key).await.expect("verify"), ChainReport::Intact { rows: 5, .. }));
    for head in [&witnessed, &from_metric] {
        let check = check_head(&db, head).await.expect("check");
        assert!(matches!(check, HeadCheck::Differs { ref actual } if actual.position == 4), "{check:?}");
    }
    let beyond = WitnessedHead { position: 99, hash_hex: head.hash_hex() };
    assert_eq!(check_head(&db, &beyond).await.expect("check"), HeadCheck::Missing);
}

#[sqlx::test]
async fn rows_unsealed_for_over_a_minute_are_reported(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    let stale_id: i64 = sqlx::query_scalar(
        "insert into audit_log (occurred_at, action) values (now() - interval '2 minutes', 'stale') returning id",
    )
    .fetch_one(&db)
    .await
    .expect("row");

    let stale = unsealed_older_than(&db, Duration::from_secs(60)).await.expect("stale");

    assert_eq!((stale.rows, stale.oldest_id), (1, Some(stale_id)), "fresh unsealed rows are no fault");
    app.seal_audit().await;
    assert_eq!(unsealed_older_than(&db, Duration::from_secs(60)).await.expect("stale").rows, 0);
}

#[sqlx::test]
async fn the_cli_confirms_a_witnessed_head_and_reports_a_rewrite_and_unsealed_rows(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let url = database_url(&db);
    let verify = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_carehub"))
            .arg("audit-verify")
            .args(args)
            .env("CAREHUB_ENV", "test")
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "error")
            .output()
            .expect("carehub runs");
        (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    some_activity(&app).await;
    let head = app.seal_audit().await.expect("head").to_string();

    let (ok, out) = verify(&["--head", &head]);
    assert!(ok, "{out}");
    assert!(out.contains("intact") && out.contains("is in the chain"), "{out}");

    tamper(
        &db,
        &[
            "update audit_log set actor_id = 999 where id = (select audit_id from audit_seals where seq = 1)",
            "delete from audit_seals",
        ],
    )
    .await;
    app.seal_audit().await;
    let (ok, out) = verify(&[]);
    assert!(ok, "a rewrite with the key leaves a chain that verifies on its own: {out}");
    let (ok, out) = verify(&["--head", &head]);
    assert!(!ok, "{out}");
    assert!(out.contains("NOT in the chain"), "{out}");

    sqlx::query("insert into audit_log (occurred_at, action) values (now() - interval '5 minutes', 'stale')")
        .execute(&db)
        .await
        .expect("row");
    let (ok, out) = verify(&[]);
    assert!(!ok, "{out}");
    assert!(out.contains("FAULT") && out.contains("1 rows unsealed"), "{out}");
}

/// The canonical form of the chain before sealing existed (no position).
#[derive(Serialize)]
struct LegacyCanonical<'a> {
    id: i64,
    occurred_at: String,
    actor_id: Option<i64>,
    actor_type: Option<&'a str>,
    hospital_id: Option<i64>,
    action: &'a str,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    request_id: Option<&'a str>,
    details: &'a serde_json::Value,
}

/// Writes `n` rows chained the old way (SHA-256, under the old chain lock's rules).
async fn legacy_rows(db: &PgPool, n: i64) {
    let mut prev = vec![0u8; 32];
    for id in 1..=n {
        let occurred_at = chrono::DateTime::from_timestamp(1_760_000_000 + id, 0).expect("time");
        let details = serde_json::json!({ "n": id });
        let canonical = LegacyCanonical {
            id,
            occurred_at: occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            actor_id: Some(7),
            actor_type: Some("PATIENT"),
            hospital_id: None,
            action: "login_succeeded",
            target_type: Some("user"),
            target_id: Some("7"),
            ip: Some("127.0.0.1"),
            user_agent: None,
            request_id: None,
            details: &details,
        };
        let mut hasher = Sha256::new();
        hasher.update(&prev);
        hasher.update(serde_json::to_vec(&canonical).expect("json"));
        let hash = hasher.finalize().to_vec();
        sqlx::query(
            "insert into audit_log (id, occurred_at, actor_id, actor_type, action, target_type, target_id, ip, \
             details, prev_hash, hash) values ($1, $2, 7, 'PATIENT', 'login_succeeded', 'user', '7', '127.0.0.1', $3, $4, $5)",
        )
        .bind(id)
        .bind(occurred_at)
        .bind(&details)
        .bind(&prev)
        .bind(&hash)
        .execute(db)
        .await
        .expect("legacy row");
        prev = hash;
    }
}

#[sqlx::test(migrations = false)]
async fn rows_chained_before_sealing_are_resealed_and_still_checked_against_their_old_links(db: PgPool) {
    let mut before = sqlx::migrate!("./migrations");
    before.migrations = Cow::Owned(before.migrations.iter().filter(|m| m.version < 20261125000300).cloned().collect());
    before.run(&db).await.expect("migrations before sealing");
    legacy_rows(&db, 5).await;
    // An edit made back then, without recomputing the old chain.
    sqlx::query("alter table audit_log disable trigger audit_log_no_update_delete").execute(&db).await.expect("off");
    sqlx::query("update audit_log set ip = '10.0.0.9' where id = 4").execute(&db).await.expect("edit");
    sqlx::query("alter table audit_log enable trigger audit_log_no_update_delete").execute(&db).await.expect("on");
    sqlx::migrate!("./migrations").run(&db).await.expect("the sealing migration");
    let key = audit_key();

    assert_eq!(unsealed(&db).await, 5, "old rows await the sealer");
    // The identity continues after the old rows; new rows follow them in the chain.
    sqlx::query("select setval(pg_get_serial_sequence('audit_log', 'id'), 5)").execute(&db).await.expect("setval");
    audit::record_alone(&db, &RequestMeta::default(), AuditEvent::new("after_sealing")).await.expect("append");
    let head = audit::seal_pending(&db, &key).await.expect("seal").expect("head");
    assert_eq!(head.position, 6);
    let order: Vec<i64> =
        sqlx::query_scalar("select audit_id from audit_seals order by seq").fetch_all(&db).await.expect("ids");
    assert_eq!(order, [1, 2, 3, 4, 5, 6], "old rows first, in id order");

    let report = verify_chain(&db, &key).await.expect("verify");

    assert!(matches!(report, ChainReport::Broken { row_id: 4, position: 4, rows_checked: 3, .. }), "{report:?}");

    // Without the old edit, the same history verifies.
    tamper(&db, &["update audit_log set ip = '127.0.0.1' where id = 4"]).await;
    // (The edit undone changes the row the HMAC covers too: re-seal from there, as a test only can.)
    tamper(&db, &["delete from audit_seals where seq >= 4"]).await;
    audit::seal_pending(&db, &key).await.expect("seal");
    assert!(matches!(verify_chain(&db, &key).await.expect("verify"), ChainReport::Intact { rows: 6, .. }));
}

#[sqlx::test]
async fn each_sealed_batch_publishes_the_chain_head_on_metrics(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    some_activity(&app).await;
    app.seal_audit().await.expect("head");

    let body = app.get("/metrics", None).await.text().await.expect("body");

    // The recorder is shared by every test in this process, so only the names are certain here.
    for name in [
        "audit_chain_head_position ",
        "audit_chain_head_hash_prefix ",
        "audit_unsealed_rows ",
        "audit_rows_sealed_total ",
    ] {
        assert!(body.lines().any(|line| line.starts_with(name)), "{name} missing from\n{body}");
    }
}

#[sqlx::test]
async fn a_web_process_without_the_audit_key_hashes_unknown_usernames_under_the_lookup_key_alone(db: PgPool) {
    use carehub::{audit::Pseudonyms, config::Settings};
    use secrecy::SecretString;

    let lookup = SecretString::from("a-lookup-key-of-this-test-only-0123456789abcdef");
    let app = TestApp::spawn_with(&db, |settings| {
        // What `carehub serve` loads: no sealing key at all.
        settings.audit_key = None;
        settings.audit_lookup_key = lookup.clone();
    })
    .await;

    let response = app.login_response("Correct-Horse-Typed-Here", "anything").await;

    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    let rows = app.audit_rows("login_failed").await;
    assert_eq!(rows.len(), 1);
    let typed = "Correct-Horse-Typed-Here";
    assert_eq!(rows[0].details["username_hmac"], Pseudonyms::new(&lookup).username(typed));
    let sealing = Settings::for_tests().expect("settings").audit_key.expect("the development AUDIT_KEY");
    assert_ne!(
        rows[0].details["username_hmac"],
        Pseudonyms::new(&sealing).username(typed),
        "the sealing key plays no part in it"
    );
}
