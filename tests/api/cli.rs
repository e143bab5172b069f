//! The process types: each starts, and stops cleanly on SIGTERM (how Heroku-style hosts stop
//! processes).

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine as _;
use carehub::accounts::model::UserType;
use carehub_workers::sms::{Purpose, queue_sms};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::helpers::{PASSWORD, TestApp, database_url};

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// What a developer's environment may hold that changes what `carehub` does: a spawned process
/// drops it and runs on the development defaults, as `./scripts/dev` does.
pub(crate) const DEVELOPER_ENV: [&str; 15] = [
    "CAREHUB_ENV",
    "HOST",
    "JWT_SECRET",
    "OTP_SECRET",
    "AUDIT_KEY",
    "AUDIT_LOOKUP_KEY",
    "CAREHUB__HTTP__METRICS_TOKEN",
    "SMS_PROVIDER",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM",
    "TWILIO_API_BASE",
    "LLM_PROVIDER",
    "CAREHUB_DEMO_PASSWORD",
    "CAREHUB_ADMIN_PASSWORD",
];

/// The `carehub` binary with `args` against the test's database, on its own queues (a test never
/// touches a developer's local ones); output discarded unless the caller pipes it.
pub(crate) fn carehub(args: &[&str], db: &PgPool, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_carehub"));
    command
        .args(args)
        .env("DATABASE_URL", database_url(db))
        .env("PORT", port.to_string())
        .env("WORKER_PORT", "0")
        .env("CAREHUB__JOBS__NAMESPACE", format!("test-{}:", uuid::Uuid::new_v4().simple()))
        .env("RUST_LOG", "info")
        .env("STORAGE_URL", format!("file://{}", storage_dir(db).display()))
        .env("CLAMD_ADDR", crate::reports::clamd_addr())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for name in DEVELOPER_ENV {
        command.env_remove(name);
    }
    // The development defaults are accepted only when asked for: unset, a process is production.
    command.env("CAREHUB_ENV", "test");
    command
}

/// The object store directory of the processes of the test of `db`.
fn storage_dir(db: &PgPool) -> std::path::PathBuf {
    let name = db.connect_options().get_database().unwrap_or("carehub").to_owned();
    std::env::temp_dir().join(format!("carehub-cli-{name}"))
}

/// Every regular file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

fn start(args: &[&str], db: &PgPool, port: u16) -> Child {
    carehub(args, db, port).spawn().expect("carehub starts")
}

/// Runs the command to its end (killed and failed after `seconds`); its status and stderr.
fn run_to_end(command: &mut Command, seconds: u64) -> (std::process::ExitStatus, String) {
    let mut child = command.stderr(Stdio::piped()).spawn().expect("carehub starts");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("carehub {:?} still running after {seconds} s", command.get_args().collect::<Vec<_>>());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
    }
    (status, stderr)
}

/// The environment of a production process that passes every start-up check.
pub(crate) const PRODUCTION: [(&str, &str); 10] = [
    ("CAREHUB_ENV", "production"),
    ("JWT_SECRET", "production-jwt-secret-0123456789abcdef-0123456789"),
    ("OTP_SECRET", "production-otp-secret-0123456789abcdef-0123456789"),
    ("AUDIT_KEY", "production-audit-key-0123456789abcdef-0123456789"),
    ("AUDIT_LOOKUP_KEY", "production-lookup-key-0123456789abcdef-0123456789"),
    ("CAREHUB__HTTP__METRICS_TOKEN", "scrape-token"),
    ("SMS_PROVIDER", "twilio"),
    ("TWILIO_ACCOUNT_SID", "AC0042"),
    ("TWILIO_AUTH_TOKEN", "000123456789"),
    ("TWILIO_FROM", "+15005550006"),
];

pub(crate) fn terminate_and_wait(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "process did not stop within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) async fn wait_for_health(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/healthz")).send().await
            && response.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on port {port} never became healthy");
}

#[sqlx::test]
async fn serve_answers_and_stops_cleanly_on_sigterm(db: PgPool) {
    let port = free_port();
    let server = start(&["serve"], &db, port);

    wait_for_health(port).await;
    let status = terminate_and_wait(server);

    assert!(status.success(), "{status:?}");
}

#[sqlx::test]
async fn dev_migrates_serves_and_stops_cleanly_on_sigterm(db: PgPool) {
    let port = free_port();
    let dev = start(&["dev", "--demo-data"], &db, port);

    wait_for_health(port).await;
    let demo: i64 = sqlx::query_scalar("select count(*) from users where is_demo").fetch_one(&db).await.expect("count");
    let departments: Vec<String> = sqlx::query_scalar(
        "select d.name from departments d join hospitals h on h.id = d.hospital_id where h.is_approved order by d.name",
    )
    .fetch_all(&db)
    .await
    .expect("departments");
    let pending: i64 =
        sqlx::query_scalar("select count(*) from hospitals where not is_approved").fetch_one(&db).await.expect("count");
    let appointments: Vec<String> = sqlx::query_scalar("select status from appointments order by status")
        .fetch_all(&db)
        .await
        .expect("appointments");
    let status = terminate_and_wait(dev);

    assert_eq!(departments, ["Cardiology", "General Medicine", "Neurology"]);
    assert_eq!(pending, 1);
    assert_eq!(appointments, ["CONFIRMED", "REQUESTED"]);

    assert_eq!(demo, 5, "demo admin, patient, two hospital accounts and a doctor");
    assert!(status.success(), "{status:?}");
}

#[sqlx::test]
async fn dev_demo_data_gives_the_demo_patient_a_report_that_is_scanned_clean_and_clear_removes_it(db: PgPool) {
    let port = free_port();
    let dev = start(&["dev", "--demo-data"], &db, port);
    wait_for_health(port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status: Option<String> = sqlx::query_scalar(
            "select f.scan_status from patient_reports r join stored_files f on f.id = r.file_id              join users u on u.id = r.patient_id where u.username = 'demo_patient'",
        )
        .fetch_optional(&db)
        .await
        .expect("report");
        if status.as_deref().is_some_and(|s| s != "PENDING") || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(terminate_and_wait(dev).success());
    assert_eq!(status.as_deref(), Some("CLEAN"));
    assert_eq!(files_under(&storage_dir(&db)).len(), 1);

    // A second run replaces the demo report; --clear removes it, rows and object.
    let (again, stderr) = run_to_end(&mut carehub(&["demo-data"], &db, free_port()), 60);
    assert!(again.success(), "{stderr}");
    let reports: i64 = sqlx::query_scalar("select count(*) from patient_reports").fetch_one(&db).await.expect("count");
    assert_eq!((reports, files_under(&storage_dir(&db)).len()), (1, 1));
    let (cleared, stderr) = run_to_end(&mut carehub(&["demo-data", "--clear"], &db, free_port()), 60);
    assert!(cleared.success(), "{stderr}");
    let files: i64 = sqlx::query_scalar("select count(*) from stored_files").fetch_one(&db).await.expect("count");
    assert_eq!(files, 1, "the report made again after the clear");
    assert_eq!(files_under(&storage_dir(&db)).len(), 1, "the old object went with its rows");
    let _ = std::fs::remove_dir_all(storage_dir(&db));
}

#[sqlx::test]
async fn worker_and_clock_stop_cleanly_on_sigterm(db: PgPool) {
    for command in ["work", "clock"] {
        let child = start(&[command], &db, free_port());
        std::thread::sleep(Duration::from_millis(500));

        let status = terminate_and_wait(child);

        assert!(status.success(), "{command}: {status:?}");
    }
}

#[sqlx::test]
async fn the_worker_process_seals_committed_audit_rows_within_a_second_and_stops_on_sigterm(db: PgPool) {
    use carehub::audit::{self, AuditEvent, ChainReport, RequestMeta};

    let worker = start(&["work"], &db, free_port());
    // Rows arrive while the worker runs: each must be sealed about a second after its commit.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        audit::record_alone(&db, &RequestMeta::default(), AuditEvent::new("worker_test")).await.expect("append");
    }
    let committed = Instant::now();
    let mut sealed: i64 = 0;
    while committed.elapsed() < Duration::from_secs(10) {
        sealed = sqlx::query_scalar("select count(*) from audit_seals").fetch_one(&db).await.expect("count");
        if sealed == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = committed.elapsed();
    let status = terminate_and_wait(worker);

    assert_eq!(sealed, 3, "every committed row sealed");
    assert!(took < Duration::from_millis(2500), "sealed {took:?} after commit");
    let report = audit::verify_chain(&db, &crate::helpers::audit_key()).await.expect("verify");
    assert!(matches!(report, ChainReport::Intact { rows: 3, .. }), "{report:?}");
    assert!(status.success(), "{status:?}");
}

#[sqlx::test]
async fn the_worker_sends_sms_through_twilio_configured_by_the_documented_variables(db: PgPool) {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC0042/Messages.json"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "sid": "SM42", "status": "queued" })))
        .expect(1)
        .mount(&twilio)
        .await;
    let mut tx = db.begin().await.expect("tx");
    let id = queue_sms(&mut tx, "+923001234567", "Your appointment is confirmed", Purpose::Test).await.expect("queued");
    tx.commit().await.expect("commit");

    let worker = carehub(&["work"], &db, free_port())
        .envs(PRODUCTION.iter().filter(|(name, _)| name.starts_with("TWILIO_") || *name == "SMS_PROVIDER").copied())
        .env("TWILIO_API_BASE", twilio.uri())
        .spawn()
        .expect("worker starts");
    let mut status = String::new();
    for _ in 0..200 {
        status = sqlx::query_scalar("select status from sms_messages where id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .expect("status");
        if status == "SENT" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exit = terminate_and_wait(worker);

    assert_eq!(status, "SENT");
    assert!(exit.success(), "{exit:?}");
    let requests = twilio.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&requests[0].body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(field("From"), Some("+15005550006"), "TWILIO_FROM as written");
    assert_eq!(field("To"), Some("+923001234567"));
    assert_eq!(field("Body"), Some("Your appointment is confirmed"));
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("AC0042:000123456789"));
    assert_eq!(requests[0].headers.get("authorization").and_then(|v| v.to_str().ok()), Some(expected.as_str()));
}

#[sqlx::test]
async fn a_worker_with_a_half_configured_twilio_refuses_to_start_and_names_what_is_missing(db: PgPool) {
    let (status, stderr) = run_to_end(
        carehub(&["work"], &db, free_port())
            .env("SMS_PROVIDER", "twilio")
            .env("TWILIO_ACCOUNT_SID", "AC0042")
            .env("TWILIO_FROM", "+15005550006"),
        20,
    );

    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("TWILIO_AUTH_TOKEN"), "{stderr}");
    assert!(!stderr.contains("TWILIO_FROM"), "only the missing variable is named: {stderr}");
}

#[sqlx::test]
async fn dev_with_demo_data_refuses_to_run_in_production(db: PgPool) {
    let (status, stderr) = run_to_end(carehub(&["dev", "--demo-data"], &db, free_port()).envs(PRODUCTION), 30);

    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("demo-data refuses to run in production"), "{stderr}");
    let users: i64 = sqlx::query_scalar("select count(*) from users").fetch_one(&db).await.expect("count");
    assert_eq!(users, 0, "no demo account was created");
}

#[sqlx::test]
async fn create_admin_promotes_an_existing_account_only_with_promote_and_audits_it(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.user(UserType::Patient, "zainab").await;
    let create_admin = |promote: bool| {
        let mut command = carehub(&["create-admin", "--username", "Zainab", "--email", "z@example.com"], &db, 0);
        if promote {
            command.arg("--promote");
        }
        command.env("CAREHUB_ADMIN_PASSWORD", PASSWORD);
        command
    };
    let user_type = || async {
        sqlx::query_scalar::<_, String>("select user_type from users where id = $1")
            .bind(patient.id)
            .fetch_one(&db)
            .await
            .expect("user")
    };

    let (refused, stderr) = run_to_end(&mut create_admin(false), 60);
    assert!(!refused.success(), "{refused:?}");
    assert!(stderr.contains("--promote") && stderr.contains("PATIENT"), "{stderr}");
    assert_eq!(user_type().await, "PATIENT");
    assert!(app.audit_rows("admin_promoted").await.is_empty());

    let (promoted, stderr) = run_to_end(&mut create_admin(true), 60);
    assert!(promoted.success(), "{promoted:?}: {stderr}");
    assert_eq!(user_type().await, "ADMIN");
    let rows = app.audit_rows("admin_promoted").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_id.as_deref(), Some(patient.id.to_string().as_str()));
    assert_eq!(rows[0].details["previous_type"], "PATIENT");

    let (updated, stderr) = run_to_end(&mut create_admin(false), 60);
    assert!(updated.success(), "an existing admin is updated without --promote: {stderr}");
    assert_eq!(app.audit_rows("admin_updated").await.len(), 1);
}

/// Serves with log format `format`, sends two requests (one with a caller-chosen id); the ids
/// echoed in `X-Request-Id` and the process's log.
async fn two_requests_logged(db: &PgPool, format: &str) -> ([String; 2], String) {
    let port = free_port();
    let mut server = carehub(&["serve"], db, port)
        .env("CAREHUB__LOG__FORMAT", format)
        .stdout(Stdio::piped())
        .spawn()
        .expect("carehub starts");
    wait_for_health(port).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/hospitals/");
    let generated = client.get(&url).send().await.expect("request");
    let chosen = client.get(&url).header("x-request-id", "caller-chosen-42").send().await.expect("request");
    let header = |response: &reqwest::Response| {
        response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("X-Request-Id").to_owned()
    };
    let ids = [header(&generated), header(&chosen)];
    let mut stdout = server.stdout.take().expect("stdout");
    let status = terminate_and_wait(server);
    assert!(status.success(), "{status:?}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut logs).expect("logs");
    (ids, logs)
}

#[sqlx::test]
async fn a_request_log_line_carries_one_request_id_the_one_echoed_to_the_caller(db: PgPool) {
    for format in ["json", "pretty"] {
        let (ids, logs) = two_requests_logged(&db, format).await;

        assert_eq!(ids[1], "caller-chosen-42");
        for id in &ids {
            let lines: Vec<&str> =
                logs.lines().filter(|line| line.contains("request completed") && line.contains(id.as_str())).collect();
            assert_eq!(lines.len(), 1, "{format}: one access-log line for {id}:\n{logs}");
            assert_eq!(lines[0].matches("request_id").count(), 1, "{format}: {}", lines[0]);
        }
        let access_lines = logs.lines().filter(|line| line.contains("request completed")).count();
        assert_eq!(
            access_lines,
            logs.lines().filter(|l| l.contains("request completed") && l.contains("request_id")).count()
        );
    }
}

/// `PRODUCTION` without the named variables.
fn production_without(names: &[&str]) -> Vec<(&'static str, &'static str)> {
    PRODUCTION.into_iter().filter(|(name, _)| !names.contains(name)).collect()
}

#[sqlx::test]
async fn without_carehub_env_every_process_refuses_to_start_naming_every_variable_to_set(db: PgPool) {
    for command in ["serve", "work", "dev", "migrate"] {
        let port = free_port();
        let mut process = carehub(&[command], &db, port);
        process.env_remove("CAREHUB_ENV");

        let (status, stderr) = run_to_end(&mut process, 30);

        assert_eq!(status.code(), Some(2), "{command}: {stderr}");
        for name in [
            "CAREHUB_ENV",
            "JWT_SECRET",
            "OTP_SECRET",
            "AUDIT_LOOKUP_KEY",
            "CAREHUB__HTTP__METRICS_TOKEN",
            "SMS_PROVIDER=twilio",
            "TWILIO_ACCOUNT_SID",
        ] {
            assert!(stderr.contains(name), "{command} names {name}: {stderr}");
        }
        let seals = matches!(command, "work" | "dev");
        assert_eq!(
            stderr.contains("AUDIT_KEY"),
            seals,
            "{command}: only the sealing processes need AUDIT_KEY: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{command}: one message naming them all: {stderr}");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "{command}: nothing listens");
    }
}

#[sqlx::test]
async fn a_production_serve_process_starts_without_audit_key_and_refuses_without_the_lookup_key(db: PgPool) {
    let port = free_port();
    let server = carehub(&["serve"], &db, port).envs(production_without(&["AUDIT_KEY"])).spawn().expect("serve");
    wait_for_health(port).await;
    assert!(terminate_and_wait(server).success());

    let (status, stderr) =
        run_to_end(carehub(&["serve"], &db, free_port()).envs(production_without(&["AUDIT_LOOKUP_KEY"])), 30);
    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("Set: AUDIT_LOOKUP_KEY (each a secret of at least 32 characters"), "{stderr}");
    assert!(!stderr.contains("JWT_SECRET") && !stderr.contains("AUDIT_KEY"), "only what is missing: {stderr}");

    // The sealer's process is the one that needs AUDIT_KEY.
    let (status, stderr) =
        run_to_end(carehub(&["work"], &db, free_port()).envs(production_without(&["AUDIT_KEY"])), 30);
    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("Set: AUDIT_KEY (each a secret"), "{stderr}");
}

/// Whether something accepts connections on `ip:port` (127.0.0.2 is loopback on Linux too, but
/// a server bound to 127.0.0.1 alone does not answer there, while one bound to every interface does).
fn answers(ip: &str, port: u16) -> bool {
    let address = std::net::SocketAddr::new(ip.parse().expect("ip"), port);
    std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
}

#[sqlx::test]
async fn dev_listens_on_loopback_only_unless_host_says_otherwise(db: PgPool) {
    let port = free_port();
    let dev = start(&["dev"], &db, port);
    wait_for_health(port).await;
    let other_address = answers("127.0.0.2", port);
    assert!(terminate_and_wait(dev).success());
    assert!(!other_address, "dev listens on 127.0.0.1 only");

    let port = free_port();
    let dev = carehub(&["dev"], &db, port).env("HOST", "0.0.0.0").spawn().expect("dev");
    wait_for_health(port).await;
    let other_address = answers("127.0.0.2", port);
    assert!(terminate_and_wait(dev).success());
    assert!(other_address, "HOST=0.0.0.0: every interface");

    let port = free_port();
    let server = start(&["serve"], &db, port);
    wait_for_health(port).await;
    let other_address = answers("127.0.0.2", port);
    assert!(terminate_and_wait(server).success());
    assert!(other_address, "serve listens on every interface (behind the platform's router)");
}

#[sqlx::test]
async fn the_sealers_log_line_carries_the_whole_head_that_audit_verify_confirms_and_a_removed_tail_needs_it(
    db: PgPool,
) {
    use carehub::audit::{self, AuditEvent, RequestMeta};

    let mut worker = carehub(&["work"], &db, free_port())
        .env("CAREHUB__LOG__FORMAT", "json")
        .stdout(Stdio::piped())
        .spawn()
        .expect("worker starts");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        audit::record_alone(&db, &RequestMeta::default(), AuditEvent::new("witness_test")).await.expect("append");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let head = loop {
        let head = audit::seal::head(&db).await.expect("head");
        if head.as_ref().is_some_and(|h| h.position == 3) || Instant::now() > deadline {
            break head.expect("sealed");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stdout = worker.stdout.take().expect("stdout");
    assert!(terminate_and_wait(worker).success());
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut logs).expect("logs");
    let published: Vec<String> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "audit chain head")
        .filter_map(|line| line["audit.head"].as_str().map(str::to_owned))
        .collect();
    let witnessed = published.last().expect("a head published in the log").clone();

    assert_eq!(witnessed, format!("3:{}", head.hash_hex()), "position and the whole hash: {logs}");
    assert_eq!(witnessed.len(), 2 + 64);
    let verify = |args: &[&str]| {
        let output = carehub(&["audit-verify"], &db, 0).args(args).stdout(Stdio::piped()).output().expect("runs");
        (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (ok, out) = verify(&["--head", &witnessed]);
    assert!(ok && out.contains("is in the chain"), "{out}");
    assert!(!out.contains("without a witnessed head"), "{out}");
    let (ok, out) = verify(&[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("a removed tail (the newest rows deleted) cannot be detected without a witnessed head"),
        "{out}"
    );

    // The newest row removed: the chain alone still verifies; the witnessed head does not.
    let mut conn = db.acquire().await.expect("conn");
    sqlx::query("set session_replication_role = replica").execute(&mut *conn).await.expect("bypass");
    sqlx::query("delete from audit_log where id = (select audit_id from audit_seals where seq = 3)")
        .execute(&mut *conn)
        .await
        .expect("remove the tail");
    drop(conn);
    let (ok, out) = verify(&[]);
    assert!(ok, "a removed tail leaves an intact chain: {out}");
    let (ok, out) = verify(&["--head", &witnessed]);
    assert!(!ok && out.contains("NOT in the chain"), "{out}");
}
