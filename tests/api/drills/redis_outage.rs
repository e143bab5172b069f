//! Drill 4: Redis goes away under load and comes back (a managed Redis failing over). Postgres is
//! the source of truth: bookings keep committing, the SMS they cause wait in the outbox, and once
//! Redis is back every job runs once, without restarting a process.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use carehub_workers::sms::{Purpose, queue_sms};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use super::{Process, report, wait_until};
use crate::{
    cli::{PRODUCTION, carehub, free_port, wait_for_health},
    helpers::TestApp,
};

/// A Redis of the drill's own (the suite's is shared), keeping its data on disk across a kill.
struct PrivateRedis {
    port: u16,
    dir: tempfile::TempDir,
    process: Option<Process>,
}

impl PrivateRedis {
    async fn start() -> Self {
        let mut redis = Self { port: free_port(), dir: tempfile::tempdir().expect("dir"), process: None };
        redis.up().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn up(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.process = Some(Process(Some(child)));
        let url = self.url();
        wait_until("redis answers", Duration::from_secs(10), async || answers(&url).await).await;
    }

    /// SIGKILL: connections drop, new ones are refused.
    fn down(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill();
        }
    }
}

async fn answers(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else { return false };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return false };
    redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
}

fn process(args: &[&str], db: &PgPool, port: u16, redis: &PrivateRedis, namespace: &str, twilio: &str) -> Process {
    let mut command = carehub(args, db, port);
    if let Ok(dir) = std::env::var("DRILL_LOGS") {
        command.stdout(std::fs::File::create(format!("{dir}/drill-{}.log", args[0])).expect("log file"));
    }
    Process(Some(
        command
            .envs(PRODUCTION.iter().filter(|(name, _)| name.starts_with("TWILIO_") || *name == "SMS_PROVIDER").copied())
            .env("TWILIO_API_BASE", twilio)
            .env("REDIS_URL", redis.url())
            .env("WORKER_PORT", port.to_string())
            .env("CAREHUB__JOBS__NAMESPACE", namespace)
            .spawn()
            .expect("carehub starts"),
    ))
}

async fn readyz(port: u16) -> (StatusCode, Value) {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.expect("readyz");
    (response.status(), response.json().await.expect("json"))
}

async fn sent(db: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from sms_messages where status = 'SENT'").fetch_one(db).await.expect("sent")
}

fn running(process: &mut Process) -> bool {
    process.0.as_mut().is_some_and(|child| child.try_wait().expect("status").is_none())
}

#[sqlx::test]
async fn with_redis_gone_bookings_commit_their_sms_wait_and_every_job_runs_once_after_it_returns(db: PgPool) {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC0042/Messages.json"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "sid": "SM1", "status": "queued" })))
        .mount(&twilio)
        .await;
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("drill").await;
    let department = app.department_at(&hospital, "Cardiology").await;
    let patient = app.patient("drillpatient").await.token;

    let mut redis = PrivateRedis::start().await;
    let namespace = format!("drill-{}:", uuid::Uuid::new_v4().simple());
    let web_port = free_port();
    let web = process(&["serve"], &db, web_port, &redis, &namespace, &twilio.uri());
    let worker_port = free_port();
    let mut worker = process(&["work"], &db, worker_port, &redis, &namespace, &twilio.uri());
    let mut clock = process(&["clock"], &db, free_port(), &redis, &namespace, &twilio.uri());
    wait_for_health(web_port).await;
    assert_eq!(readyz(web_port).await.0, StatusCode::OK);
    // The worker is up and has sent what seeding queued (the hospital's approval SMS).
    wait_until("the worker ready", Duration::from_secs(20), async || {
        reqwest::get(format!("http://127.0.0.1:{worker_port}/readyz")).await.is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    wait_until("the seeding's SMS sent", Duration::from_secs(20), async || sent(&db).await == 1).await;

    let client = reqwest::Client::new();
    let book = async |reason: String| {
        let started = Instant::now();
        let response = client
            .post(format!("http://127.0.0.1:{web_port}/api/appointments/"))
            .bearer_auth(&patient)
            .json(&json!({
                "hospital": hospital.id,
                "department": department,
                "requested_time": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339(),
                "reason": reason,
            }))
            .send()
            .await
            .expect("answered");
        (response.status(), started.elapsed())
    };

    redis.down();
    let outage = Instant::now();
    // The API keeps answering: bookings commit, promptly.
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let (status, took) = book(format!("drill-outage-{i}")).await;
        assert_eq!(status, StatusCode::CREATED, "booking {i} during the outage");
        slowest = slowest.max(took);
    }
    assert!(slowest < Duration::from_secs(2), "bookings stay prompt without Redis: {slowest:?}");
    let (status, body) = readyz(web_port).await;
    assert_eq!(
        (status, body["redis"].as_str(), body["postgres"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"), Some("ok"))
    );
    // Changes committed meanwhile queue their SMS in the outbox, in their transaction.
    let mut tx = db.begin().await.expect("tx");
    for i in 0..10 {
        queue_sms(&mut tx, "+923001234567", &format!("Drill outage message {i}"), Purpose::Test).await.expect("queued");
    }
    tx.commit().await.expect("commit");
    // 5 s in the suite; the 30 s with DRILL_REDIS_OUTAGE_SECONDS=30.
    let length = std::env::var("DRILL_REDIS_OUTAGE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    tokio::time::sleep(Duration::from_secs(length).saturating_sub(outage.elapsed())).await;

    redis.up().await;
    let back = Instant::now();
    wait_until("web ready again", Duration::from_secs(5), async || readyz(web_port).await.0 == StatusCode::OK).await;
    let recovered = wait_until("every SMS sent", Duration::from_secs(40), async || sent(&db).await == 11).await;
    eprintln!("drill Redis outage {:.1?}: SMS all sent {recovered:.1?} after Redis returned", back - outage);
    report(&format!("Redis down {:.0?} (20 bookings, 10 SMS)", back - outage), 30, 0, 0, recovered);

    // Each message went out once; no process was restarted to get there.
    let bodies: Vec<String> = twilio
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter_map(|request| {
            url::form_urlencoded::parse(&request.body).find(|(k, _)| k == "Body").map(|(_, v)| v.into_owned())
        })
        .filter(|body| body.starts_with("Drill outage message"))
        .collect();
    let mut unique = bodies.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((bodies.len(), unique.len()), (10, 10), "{bodies:?}");
    assert!(running(&mut worker) && running(&mut clock), "the worker and the clock reconnected by themselves");
    let (status, _) = book("drill-after".into()).await;
    assert_eq!(status, StatusCode::CREATED);
    for process in [web, worker, clock] {
        assert!(process.terminate().success());
    }
}
