//! The job platform against real Postgres and Redis (a Redis namespace per test), with wiremock
//! speaking Twilio's Messages API: the outbox, the relay, SMS sending at most once, retries,
//! dead jobs, panics, the clock, the queue statistics, and the job registry that all of them read.

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use carehub::{
    access::jobs::{AccessSweep, SendOtp},
    accounts::jobs::{PurgeExpiredSessions, SendTemporaryPassword},
    appointments::jobs::ReminderSweep,
    audit::jobs::VerifyAuditChain,
    config::Settings,
    medicines::recommendations::jobs::AnswerRecommendation,
    records::files::jobs::{RescanPending, ScanFile},
};
use carehub_workers::{
    Handler as _, JobContext, JobKind, JobResult, Registry, WorkerSettings,
    apalis::prelude::TaskSink as _,
    jobs::{Job, Queue},
    outbox, push, relay,
    sms::{Purpose, SendSms, SmsProvider, TwilioConfig, queue_sms, queue_sms_ctes},
    stats,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, PgPool};
use tokio_util::sync::CancellationToken;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_string_contains, header, method, path},
};

use crate::helpers::{TestApp, database_url, json_body, redis_url};

const TO: &str = "+923001234567";
pub(crate) const TWILIO_PATH: &str = "/2010-04-01/Accounts/AC123/Messages.json";

pub(crate) fn namespace() -> String {
    format!("test-{}:", uuid::Uuid::new_v4().simple())
}

pub(crate) fn settings(namespace: &str) -> WorkerSettings {
    let mut settings = Settings::for_tests().expect("settings").worker_settings().expect("worker settings");
    settings.namespace = namespace.to_owned();
    settings.poll_interval = Duration::from_millis(50);
    settings.backoff_initial = Duration::from_millis(50);
    settings.backoff_max = Duration::from_millis(200);
    settings.max_attempts = 3;
    settings.shutdown_timeout = Duration::from_secs(5);
    settings.relay_idle = Duration::from_millis(200);
    settings
}

/// CareHub's job registry, as the binary builds it, its SMS sent through `sms`.
fn registry_with(sms: &SmsProvider) -> Registry {
    carehub::jobs::registry(&Settings::for_tests().expect("settings"), sms)
}

/// CareHub's job kinds (queues, names, schedules).
fn registry() -> Registry {
    carehub::jobs::kinds(&Settings::for_tests().expect("settings"))
}

pub(crate) fn twilio(server: &MockServer) -> SmsProvider {
    SmsProvider::twilio(TwilioConfig {
        account_sid: "AC123".into(),
        auth_token: "twilio-secret".to_owned().into(),
        from: "+15005550006".into(),
        api_base: server.uri(),
    })
    .expect("twilio client")
}

pub(crate) fn twilio_created(sid: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({ "sid": sid, "status": "queued" }))
}

/// Workers running in this test's runtime until stopped.
pub(crate) struct Workers {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Workers {
    pub(crate) fn start(db: &PgPool, settings: WorkerSettings, sms: SmsProvider) -> Self {
        Self::start_with(db, settings, registry_with(&sms))
    }

    pub(crate) fn start_with(db: &PgPool, settings: WorkerSettings, registry: Registry) -> Self {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(carehub_workers::run_workers(db.clone(), settings, registry, shutdown.clone()));
        Self { shutdown, task }
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("workers stop within 15 s")
            .expect("join")
            .expect("workers ran cleanly");
    }
}

async fn commit_sms(db: &PgPool, body: &str) -> i64 {
    let mut tx = db.begin().await.expect("tx");
    let id = queue_sms(&mut tx, TO, body, Purpose::Test).await.expect("queued");
    tx.commit().await.expect("commit");
    id
}

async fn sms_status(db: &PgPool, id: i64) -> (String, i32, Option<String>) {
    sqlx::query_as("select status, attempts, provider_message_id from sms_messages where id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .expect("message")
}

/// Polls `check` until it holds or `seconds` pass.
pub(crate) async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub(crate) async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url()).expect("client").get_multiplexed_async_connection().await.expect("redis")
}

async fn dead_ids(namespace: &str, queue: Queue) -> Vec<String> {
    redis::cmd("SMEMBERS")
        .arg(format!("{}:dead", queue.key(namespace)))
        .query_async(&mut redis().await)
        .await
        .expect("dead")
}

#[sqlx::test]
async fn a_job_written_in_a_rolled_back_transaction_is_never_sent(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM1")).expect(1).mount(&twilio_server).await;
    let mut tx = db.begin().await.expect("tx");
    queue_sms(&mut tx, TO, "rolled back", Purpose::Test).await.expect("queued");
    tx.rollback().await.expect("rollback");
    let committed = commit_sms(&db, "committed").await;

    let workers = Workers::start(&db, settings(&namespace()), twilio(&twilio_server));
    eventually(10, "the committed SMS is sent", || async { sms_status(&db, committed).await.0 == "SENT" }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    workers.stop().await;

    let requests = twilio_server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    assert!(String::from_utf8_lossy(&requests[0].body).contains("committed"));
    let messages: i64 = sqlx::query_scalar("select count(*) from sms_messages").fetch_one(&db).await.expect("count");
    assert_eq!(messages, 1);
}

#[sqlx::test]
async fn a_committed_sms_goes_to_twilio_once_with_its_wire_format(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TWILIO_PATH))
        // Basic auth of AC123:twilio-secret.
        .and(header("authorization", "Basic QUMxMjM6dHdpbGlvLXNlY3JldA=="))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("To=%2B923001234567"))
        .and(body_string_contains("From=%2B15005550006"))
        .and(body_string_contains("Body=Your+appointment+is+confirmed"))
        .respond_with(twilio_created("SM0123456789abcdef"))
        .expect(1)
        .mount(&twilio_server)
        .await;
    let id = commit_sms(&db, "Your appointment is confirmed").await;

    let workers = Workers::start(&db, settings(&namespace()), twilio(&twilio_server));
    eventually(10, "the SMS is sent", || async { sms_status(&db, id).await.0 == "SENT" }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    workers.stop().await;

    assert_eq!(sms_status(&db, id).await, ("SENT".into(), 1, Some("SM0123456789abcdef".into())));
    let unsent: i64 =
        sqlx::query_scalar("select count(*) from outbox where sent_at is null").fetch_one(&db).await.expect("count");
    assert_eq!(unsent, 0, "the relay marked the outbox row sent");
}

/// Queues `body` with [`queue_sms_ctes`] in one statement, one message per row of `changed` (a
/// query standing in for a change's updated rows); the message's id, if one was queued.
async fn queue_in_statement(db: &PgPool, changed: &str, body: &str) -> Option<i64> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "with changed as ({changed}), {} select id from sms_stored",
        queue_sms_ctes("changed where $2::text is not null", "$1", "$2", "$3")
    )))
    .bind(TO)
    .bind(body)
    .bind(Purpose::Test.as_str())
    .fetch_optional(db)
    .await
    .expect("statement")
}

#[sqlx::test]
async fn an_sms_queued_inside_a_change_statement_is_the_same_job_and_is_sent(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Body=Queued+by+a+statement"))
        .respond_with(twilio_created("SM2"))
        .expect(1)
        .mount(&twilio_server)
        .await;
    let reference = commit_sms(&db, "Queued by a transaction").await;
    // One statement: a change's rows (here, two candidate rows of which one qualifies) and the
    // message of each, as appointment changes use it.
    let id = queue_in_statement(&db, "select n from (values (1), (2)) v (n) where n = 2", "Queued by a statement")
        .await
        .expect("queued in one statement");

    let rows: Vec<(String, String, Value, Option<String>)> =
        sqlx::query_as("select queue, job_type, payload, dedupe_key from outbox order by id")
            .fetch_all(&db)
            .await
            .expect("outbox");
    let expected = |id: i64| {
        (
            SendSms::QUEUE.name().to_owned(),
            SendSms::NAME.to_owned(),
            serde_json::to_value(SendSms { message_id: id }).expect("json"),
            Some(format!("sms:{id}")),
        )
    };
    assert_eq!(rows, [expected(reference), expected(id)], "the same outbox row as `queue_sms` writes");

    // A statement whose change touched no row queues nothing.
    assert_eq!(queue_in_statement(&db, "select 1 where false", "never").await, None);

    Mock::given(method("POST")).respond_with(twilio_created("SM1")).expect(1).mount(&twilio_server).await;
    let workers = Workers::start(&db, settings(&namespace()), twilio(&twilio_server));
    eventually(10, "the statement's SMS is sent", || async { sms_status(&db, id).await.0 == "SENT" }).await;
    eventually(10, "the transaction's SMS is sent", || async { sms_status(&db, reference).await.0 == "SENT" }).await;
    workers.stop().await;
    let messages: i64 = sqlx::query_scalar("select count(*) from sms_messages").fetch_one(&db).await.expect("count");
    assert_eq!(messages, 2);
}

/// Whether a notification arrives within half a second.
async fn woken(listener: &mut sqlx::postgres::PgListener) -> bool {
    tokio::time::timeout(Duration::from_millis(500), listener.recv()).await.is_ok()
}

#[sqlx::test]
async fn the_relay_is_woken_by_a_statement_that_wrote_outbox_rows_and_by_no_other(db: PgPool) {
    let mut listener = sqlx::postgres::PgListener::connect_with(&db).await.expect("listener");
    listener.listen("carehub_outbox").await.expect("listen");
    let enqueue = |key: &'static str| {
        let db = db.clone();
        async move {
            let mut conn = db.acquire().await.expect("conn");
            outbox::enqueue(&mut conn, &SendSms { message_id: 1 }, Some(key)).await.expect("enqueue")
        }
    };

    assert!(enqueue("once").await);
    assert!(woken(&mut listener).await, "a written row wakes the relay");
    assert!(!enqueue("once").await, "the same key is not written twice");
    assert!(!woken(&mut listener).await, "a statement that wrote nothing wakes no one");
    assert!(enqueue("twice").await);
    assert!(woken(&mut listener).await);
}

#[sqlx::test]
async fn a_worker_polled_faster_than_redis_answers_still_starts_a_new_job_at_once(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM3")).expect(1).mount(&twilio_server).await;
    let mut settings = settings(&namespace());
    // Fetches often take longer than the interval: the case where a lost timer wake-up left an
    // idle worker asleep until its 30 s heartbeat.
    settings.poll_interval = Duration::from_millis(1);
    let workers = Workers::start(&db, settings, twilio(&twilio_server));
    tokio::time::sleep(Duration::from_secs(3)).await;

    let id = commit_sms(&db, "after an idle spell").await;
    let pushed = tokio::time::Instant::now();
    eventually(10, "the SMS is sent", || async { sms_status(&db, id).await.0 == "SENT" }).await;
    let waited = pushed.elapsed();
    workers.stop().await;
    assert!(waited < Duration::from_secs(3), "an idle worker started a new job after {waited:?}");
}

#[sqlx::test]
async fn a_stopped_worker_is_no_longer_listed_as_registered(db: PgPool) {
    let ns = namespace();
    let workers_set = format!("{}:workers", SendSms::QUEUE.key(&ns));
    let listed = || {
        let key = workers_set.clone();
        async move {
            let names: Vec<String> =
                redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query_async(&mut redis().await).await.expect("workers");
            names
        }
    };
    let workers = Workers::start(&db, settings(&ns), SmsProvider::Console);
    eventually(10, "the SMS worker registers", || async { listed().await.len() == 1 }).await;

    workers.stop().await;

    assert_eq!(listed().await, Vec::<String>::new(), "deregistered at once, not after the 5-minute stale window");
}

#[sqlx::test]
async fn otp_bodies_are_redacted_once_sent(db: PgPool) {
    let mut tx = db.begin().await.expect("tx");
    let id = queue_sms(&mut tx, TO, "Your CareHub code is 493817", Purpose::Otp).await.expect("queued");
    tx.commit().await.expect("commit");

    let workers = Workers::start(&db, settings(&namespace()), SmsProvider::Console);
    eventually(10, "the SMS is sent", || async { sms_status(&db, id).await.0 == "SENT" }).await;
    workers.stop().await;

    let body: String =
        sqlx::query_scalar("select body from sms_messages where id = $1").bind(id).fetch_one(&db).await.expect("body");
    assert_eq!(body, "[redacted]");
}

#[sqlx::test]
async fn with_redis_down_the_change_commits_and_the_sms_goes_out_once_redis_is_back(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM2")).expect(1).mount(&twilio_server).await;
    let ns = namespace();
    let mut down = settings(&ns);
    down.redis_url = "redis://127.0.0.1:1".into();

    let outage = Workers::start(&db, down, twilio(&twilio_server));
    let id = commit_sms(&db, "sent after the outage").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sms_status(&db, id).await.0, "QUEUED", "nothing is sent while Redis is down");
    outage.stop().await;

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    eventually(10, "the SMS is sent once Redis is back", || async { sms_status(&db, id).await.0 == "SENT" }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    workers.stop().await;
}

#[sqlx::test]
async fn a_job_delivered_several_times_sends_one_sms(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM3")).expect(1).mount(&twilio_server).await;
    let ns = namespace();
    let id = commit_sms(&db, "only once").await;
    // The same job pushed twice more beside the outbox's own push (a relay crash after pushing,
    // an operator's retry): three deliveries of one message.
    let conn = redis::Client::open(redis_url()).expect("client").get_connection_manager().await.expect("redis");
    let mut sms_queue = push::storage::<SendSms>(conn, &ns);
    sms_queue.push(SendSms { message_id: id }).await.expect("push");
    sms_queue.push(SendSms { message_id: id }).await.expect("push");

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    eventually(10, "three deliveries done", || async {
        let done: u64 = redis::cmd("SCARD")
            .arg(format!("{}:done", SendSms::QUEUE.key(&ns)))
            .query_async(&mut redis().await)
            .await
            .expect("scard");
        done == 3
    })
    .await;
    workers.stop().await;

    assert_eq!(sms_status(&db, id).await.0, "SENT");
    assert_eq!(twilio_server.received_requests().await.expect("recorded").len(), 1);
}

#[sqlx::test]
async fn a_4xx_from_twilio_is_permanent_and_the_job_goes_dead_without_retries(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "code": 21211, "message": "Invalid 'To'" })))
        .expect(1)
        .mount(&twilio_server)
        .await;
    let ns = namespace();
    let id = commit_sms(&db, "to a bad number").await;

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    eventually(10, "the job is dead", || async { dead_ids(&ns, SendSms::QUEUE).await.len() == 1 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    workers.stop().await;

    let (status, attempts, _) = sms_status(&db, id).await;
    assert_eq!((status.as_str(), attempts), ("FAILED", 1));
    let error: String = sqlx::query_scalar("select last_error from sms_messages where id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("error");
    assert!(error.contains("21211"), "{error}");
    assert!(!error.contains("bad number"), "the body is never in an error");
}

#[sqlx::test]
async fn a_5xx_from_twilio_is_retried_with_backoff_until_it_succeeds(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&twilio_server)
        .await;
    Mock::given(method("POST")).respond_with(twilio_created("SM4")).with_priority(2).mount(&twilio_server).await;
    let id = commit_sms(&db, "third time lucky").await;

    let workers = Workers::start(&db, settings(&namespace()), twilio(&twilio_server));
    eventually(10, "the SMS is sent", || async { sms_status(&db, id).await.0 == "SENT" }).await;
    workers.stop().await;

    assert_eq!(sms_status(&db, id).await, ("SENT".into(), 3, Some("SM4".into())));
    assert_eq!(twilio_server.received_requests().await.expect("recorded").len(), 3);
}

#[sqlx::test]
async fn attempts_are_bounded_then_the_job_is_dead(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).mount(&twilio_server).await;
    let ns = namespace();
    let id = commit_sms(&db, "never delivered").await;

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    eventually(10, "the job is dead", || async { dead_ids(&ns, SendSms::QUEUE).await.len() == 1 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    workers.stop().await;

    assert_eq!(sms_status(&db, id).await.0, "FAILED");
    assert_eq!(twilio_server.received_requests().await.expect("recorded").len(), 3, "max_attempts = 3");
}

/// A job type of this test only, run by the standard worker stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flaky {
    n: u32,
}

impl Job for Flaky {
    const QUEUE: Queue = Queue::new("carehub:flaky");
    const NAME: &'static str = "Flaky";
}

static FLAKY_DONE: AtomicUsize = AtomicUsize::new(0);

async fn flaky(job: Flaky, _: JobContext) -> JobResult {
    assert!(job.n != 1, "job 1 panics");
    FLAKY_DONE.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

async fn run_flaky_worker(db: &PgPool, ns: &str, shutdown: CancellationToken) -> anyhow::Result<()> {
    let registry = Registry::new().register(JobKind::<Flaky>::new(flaky).concurrency(2));
    carehub_workers::run_workers(db.clone(), settings(ns), registry, shutdown).await
}

#[sqlx::test]
async fn a_panicking_job_goes_dead_and_the_worker_keeps_working(db: PgPool) {
    let ns = namespace();
    let conn = redis::Client::open(redis_url()).expect("client").get_connection_manager().await.expect("redis");
    let mut queue = push::storage::<Flaky>(conn, &ns);
    for n in [1, 2, 3] {
        queue.push(Flaky { n }).await.expect("push");
    }
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn({
        let (db, ns, shutdown) = (db.clone(), ns.clone(), shutdown.clone());
        async move { run_flaky_worker(&db, &ns, shutdown).await }
    });

    eventually(10, "jobs 2 and 3 done after job 1 panicked", || async { FLAKY_DONE.load(Ordering::SeqCst) >= 2 }).await;
    eventually(10, "the panicked job is dead", || async { dead_ids(&ns, Flaky::QUEUE).await.len() == 1 }).await;
    shutdown.cancel();
    worker.await.expect("join").expect("worker ran");

    let meta: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(format!("{}:meta:{}", Flaky::QUEUE.key(&ns), dead_ids(&ns, Flaky::QUEUE).await[0]))
        .query_async(&mut redis().await)
        .await
        .expect("meta");
    let attempts = meta.iter().find(|(k, _)| k == "attempts").map(|(_, v)| v.as_str());
    assert_eq!(attempts, Some("1"), "a panic is not retried: {meta:?}");
    let series = stats::minute_series(&mut redis().await, &ns, Flaky::QUEUE, 2).await.expect("series");
    assert_eq!(minute_totals(&series), (2, 1), "the panicked attempt is counted failed");
}

/// Done and failed attempts of a series, summed.
fn minute_totals(series: &[stats::MinuteCount]) -> (u64, u64) {
    series.iter().fold((0, 0), |(done, failed), m| (done + m.done, failed + m.failed))
}

#[sqlx::test]
async fn the_worker_counts_attempts_per_minute_and_operators_list_discard_and_retry_dead_jobs(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("doomed"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "code": 21211, "message": "Invalid 'To'" })))
        .mount(&twilio_server)
        .await;
    Mock::given(method("POST")).respond_with(twilio_created("SM8")).mount(&twilio_server).await;
    let ns = namespace();
    commit_sms(&db, "delivered").await;
    commit_sms(&db, "doomed one").await;
    commit_sms(&db, "doomed two").await;

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    eventually(10, "one done, two dead", || async { dead_ids(&ns, SendSms::QUEUE).await.len() == 2 }).await;
    workers.stop().await;
    let mut conn = redis().await;

    let series = stats::minute_series(&mut conn, &ns, SendSms::QUEUE, 3).await.expect("series");
    assert_eq!(series.len(), 3);
    assert_eq!(minute_totals(&series), (1, 2), "one done, two failed for good, none retried");
    let (total, dead) = stats::dead_jobs(&mut conn, &ns, SendSms::QUEUE, 0, 50).await.expect("dead");
    assert_eq!((total, dead.len()), (2, 2));
    for job in &dead {
        assert_eq!(job.attempts, 1, "a 4xx is not retried");
        assert!(job.last_error.as_deref().is_some_and(|e| e.contains("21211")), "{job:?}");
        assert!(job.failed_at.is_some());
    }
    let shown = serde_json::to_string(&dead).expect("json");
    for never in ["message_id", "doomed", TO] {
        assert!(!shown.contains(never), "{never} shown: {shown}");
    }

    let unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    assert!(stats::discard_dead(&mut conn, &ns, SendSms::QUEUE, &dead[0].id).await.expect("discard"));
    assert!(!stats::discard_dead(&mut conn, &ns, SendSms::QUEUE, unknown).await.expect("discard unknown"));
    assert!(!stats::retry_dead(&mut conn, &ns, SendSms::QUEUE, &dead[0].id).await.expect("retry discarded"));
    assert!(!stats::retry_dead(&mut conn, &ns, SendSms::QUEUE, unknown).await.expect("retry unknown"));
    assert_eq!(dead_ids(&ns, SendSms::QUEUE).await, [dead[1].id.clone()], "exactly the one discarded");
    assert_eq!(stats::retry_all_dead(&mut conn, &ns, SendSms::QUEUE).await.expect("retry all"), 1);
    assert!(dead_ids(&ns, SendSms::QUEUE).await.is_empty());

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    eventually(10, "the retried job died again", || async { dead_ids(&ns, SendSms::QUEUE).await.len() == 1 }).await;
    workers.stop().await;
    let series = stats::minute_series(&mut conn, &ns, SendSms::QUEUE, 3).await.expect("series");
    assert_eq!(minute_totals(&series), (1, 3), "the retry's attempt is counted too");
}

#[sqlx::test]
async fn two_clocks_write_each_tick_once_and_its_job_runs_once(db: PgPool) {
    let ns = namespace();
    let mut app_settings = Settings::for_tests().expect("settings");
    app_settings.jobs.purge_sessions_schedule = "* * * * * *".into();
    // Every other schedule far away: the counts below are the purge's alone.
    app_settings.jobs.reminder_sweep_schedule = "0 0 0 1 1 *".into();
    app_settings.jobs.access_sweep_schedule = "0 0 0 1 1 *".into();
    app_settings.jobs.rescan_pending_schedule = "0 0 0 1 1 *".into();
    let (clock_settings, registry) = (app_settings.clock_settings(), carehub::jobs::kinds(&app_settings));
    let shutdown = CancellationToken::new();
    let clocks: Vec<_> = (0..2)
        .map(|_| {
            let clock =
                carehub_workers::run_clock(db.clone(), clock_settings.clone(), registry.clone(), shutdown.clone());
            tokio::spawn(clock)
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(3300)).await;
    shutdown.cancel();
    let mut reports = Vec::new();
    for clock in clocks {
        reports.push(clock.await.expect("join").expect("clock ran"));
    }

    let (rows, distinct): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct dedupe_key) from outbox where dedupe_key like 'clock:purge-expired-sessions:%'",
    )
    .fetch_one(&db)
    .await
    .expect("rows");
    let ticks: u64 = reports.iter().map(|r| r.ticks).sum();
    let enqueued: u64 = reports.iter().map(|r| r.enqueued).sum();
    assert!(rows >= 2, "{rows} ticks in 3.3 s");
    assert_eq!(rows, distinct);
    assert_eq!(enqueued, rows as u64, "exactly one clock wrote each tick");
    assert!(ticks >= 2 * rows as u64 - 1, "both clocks saw the ticks: {reports:?}");

    let workers = Workers::start(&db, settings(&ns), SmsProvider::Console);
    eventually(10, "each tick's job ran", || async {
        let done: u64 = redis::cmd("SCARD")
            .arg(format!("{}:done", PurgeExpiredSessions::QUEUE.key(&ns)))
            .query_async(&mut redis().await)
            .await
            .expect("scard");
        done == rows as u64
    })
    .await;
    workers.stop().await;
}

#[sqlx::test]
async fn the_queue_endpoint_reports_real_counts_and_retries_dead_jobs(db: PgPool) {
    let ns = namespace();
    let app = TestApp::spawn_with(&db, |s| s.jobs.namespace = ns.clone()).await;
    let admin = app.admin().await;
    let token = app.login(&admin).await.access;
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("doomed"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "code": 21211 })))
        .mount(&twilio_server)
        .await;
    Mock::given(method("POST")).respond_with(twilio_created("SM5")).mount(&twilio_server).await;
    for body in ["one", "two", "doomed"] {
        commit_sms(&db, body).await;
    }
    let conn = redis::Client::open(redis_url()).expect("client").get_connection_manager().await.expect("redis");
    relay::relay_once(&db, &relay::Pushers::new(&registry(), &conn, &ns), 100).await.expect("relayed");

    let before = json_body(app.get("/api/ops/queues/", Some(&token)).await).await;
    let sms = |body: &Value| {
        body["queues"]
            .as_array()
            .expect("queues")
            .iter()
            .find(|q| q["queue"] == "carehub:sms")
            .cloned()
            .expect("sms queue")
    };
    let pending = sms(&before);
    assert_eq!(pending["pending"], 3);
    assert_eq!((pending["done"].as_u64(), pending["dead"].as_u64()), (Some(0), Some(0)));
    assert!(pending["oldest_pending_age_seconds"].as_f64().expect("age") >= 0.0);
    assert_eq!(before["outbox"]["pending"], 0);
    // Gauges are process-wide and other tests' apps scrape too: look until ours is the last word.
    eventually(5, "the queue depth on /metrics", || async {
        let metrics = app.get("/metrics", None).await.text().await.expect("metrics");
        metrics.contains("job_queue_depth{queue=\"carehub:sms\",state=\"pending\"} 3")
    })
    .await;

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    eventually(10, "all three handled", || async {
        let body = json_body(app.get("/api/ops/queues/", Some(&token)).await).await;
        let q = sms(&body);
        q["done"] == 2 && q["dead"] == 1
    })
    .await;
    let during = sms(&json_body(app.get("/api/ops/queues/", Some(&token)).await).await);
    assert_eq!(during["workers"].as_array().expect("workers").len(), 1, "one live SMS worker");
    let dead = dead_ids(&ns, SendSms::QUEUE).await;

    let retried =
        app.post(&format!("/api/ops/queues/carehub:sms/jobs/{}/retry/", dead[0]), &json!({}), Some(&token)).await;
    assert_eq!(retried.status(), StatusCode::OK);
    eventually(10, "the retried job ran again and died again", || async {
        twilio_server.received_requests().await.expect("recorded").len() == 4
            && dead_ids(&ns, SendSms::QUEUE).await.len() == 1
    })
    .await;
    workers.stop().await;

    let missing =
        app.post("/api/ops/queues/carehub:sms/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry/", &json!({}), Some(&token)).await;
    let unknown_queue = app.post("/api/ops/queues/nope/jobs/x/retry/", &json!({}), Some(&token)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown_queue.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_rows("job_retried").await.len(), 1);
}

#[sqlx::test]
async fn queue_operations_are_for_admins_only(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.register_patient("zainab").await;
    let token = app.login(&patient).await.access;

    let stats = app.get("/api/ops/queues/", Some(&token)).await;
    let retry = app.post("/api/ops/queues/carehub:sms/jobs/x/retry/", &json!({}), Some(&token)).await;
    let anonymous = app.get("/api/ops/queues/", None).await;

    assert_eq!(stats.status(), StatusCode::FORBIDDEN);
    assert_eq!(retry.status(), StatusCode::FORBIDDEN);
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn readyz_reports_the_outbox_backlog(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    commit_sms(&db, "waiting").await;

    let body = json_body(app.get("/readyz", None).await).await;

    assert_eq!(body["outbox_pending"], 1);
    assert!(body["outbox_oldest_age_seconds"].as_f64().expect("age") >= 0.0);
}

#[sqlx::test]
async fn the_worker_serves_health_and_job_metrics(db: PgPool) {
    let id = commit_sms(&db, "counted").await;
    let workers = Workers::start(&db, settings(&namespace()), SmsProvider::Console);
    eventually(10, "sent", || async { sms_status(&db, id).await.0 == "SENT" }).await;
    workers.stop().await;
    let mut app_settings = Settings::for_tests().expect("settings");
    app_settings.database_url = database_url(&db).into();
    let probe = carehub::startup::OpsServer::start(std::sync::Arc::new(app_settings), 0).expect("ops server");
    let base = format!("http://127.0.0.1:{}", probe.port());

    let health = reqwest::get(format!("{base}/healthz")).await.expect("health");
    let metrics = reqwest::get(format!("{base}/metrics")).await.expect("metrics").text().await.expect("text");
    probe.stop();

    assert_eq!(health.status(), StatusCode::OK);
    assert!(metrics.contains("jobs_started_total{queue=\"carehub:sms\"}"), "{metrics}");
    assert!(metrics.contains("jobs_succeeded_total{queue=\"carehub:sms\"}"));
    assert!(metrics.contains("job_duration_seconds_bucket{queue=\"carehub:sms\""));
}

/// Attempts of [`always_fails`], by job name.
static FAILED_ATTEMPTS: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());

/// A handler of any job kind that fails every time, transiently (it never aborts by itself).
async fn always_fails<J: Job>(_job: J, _: JobContext) -> JobResult {
    *FAILED_ATTEMPTS.lock().expect("lock").entry(J::NAME).or_default() += 1;
    Err("transient failure".into())
}

/// The workers of one kind, `J`, whose handler always fails, on the stack every kind runs on.
async fn run_failing_worker<J: Job>(db: &PgPool, ns: &str, shutdown: CancellationToken) -> anyhow::Result<()> {
    let registry = Registry::new().register(JobKind::<J>::new(always_fails::<J>));
    carehub_workers::run_workers(db.clone(), settings(ns), registry, shutdown).await
}

/// Enqueues `job` through the outbox and the relay, runs it on the standard worker stack with a
/// handler that always fails, and checks it ends dead after exactly `max_attempts` (3) attempts.
async fn a_failing_job_ends_dead_after_max_attempts<J: Job>(db: &PgPool, job: J) {
    let ns = namespace();
    let mut tx = db.begin().await.expect("tx");
    outbox::enqueue(&mut tx, &job, None).await.expect("enqueued");
    tx.commit().await.expect("commit");
    let conn = redis::Client::open(redis_url()).expect("client").get_connection_manager().await.expect("redis");
    assert_eq!(relay::relay_once(db, &relay::Pushers::new(&registry(), &conn, &ns), 10).await.expect("relayed"), 1);
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn({
        let (db, ns, shutdown) = (db.clone(), ns.clone(), shutdown.clone());
        async move { run_failing_worker::<J>(&db, &ns, shutdown).await }
    });

    eventually(15, "the job is dead", || async { dead_ids(&ns, J::QUEUE).await.len() == 1 }).await;
    // Long enough for an in-process retry (backoff <= 200 ms) or apalis-redis's own re-queue
    // (scheduled `attempt` seconds later) to show up.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    shutdown.cancel();
    worker.await.expect("join").expect("worker ran");

    assert_eq!(FAILED_ATTEMPTS.lock().expect("lock").get(J::NAME).copied(), Some(3), "{}: max_attempts = 3", J::NAME);
    let q = J::QUEUE.key(&ns);
    let (scheduled, active, attempts): (u64, u64, Option<String>) = redis::pipe()
        .zcard(format!("{q}:scheduled"))
        .llen(format!("{q}:active"))
        .hget(format!("{q}:meta:{}", dead_ids(&ns, J::QUEUE).await[0]), "attempts")
        .query_async(&mut redis().await)
        .await
        .expect("queue state");
    assert_eq!((scheduled, active), (0, 0), "{}: nothing re-queued", J::NAME);
    assert_eq!(attempts.as_deref(), Some("3"));
}

#[sqlx::test]
async fn an_sms_job_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, SendSms { message_id: 1 }).await;
}

#[sqlx::test]
async fn a_reminder_sweep_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, ReminderSweep { tick: "2026-11-25T00:00:00Z".into() }).await;
}

#[sqlx::test]
async fn a_session_purge_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, PurgeExpiredSessions { tick: "2026-11-25T00:00:00Z".into() }).await;
}

#[sqlx::test]
async fn a_file_scan_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, ScanFile { file_id: 1 }).await;
}

#[sqlx::test]
async fn a_pending_files_rescan_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, RescanPending { tick: "2026-11-25T00:00:00Z".into() }).await;
}

#[sqlx::test]
async fn an_otp_send_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, SendOtp { otp_request_id: 1 }).await;
}

#[sqlx::test]
async fn a_recommendation_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, AnswerRecommendation { recommendation_id: 1 }).await;
}

#[sqlx::test]
async fn an_access_sweep_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, AccessSweep { tick: "2026-11-25T00:00:00Z".into() }).await;
}

#[sqlx::test]
async fn a_temporary_password_send_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, SendTemporaryPassword { reset_id: 1 }).await;
}

#[sqlx::test]
async fn a_chain_verification_that_always_fails_is_dead_after_max_attempts(db: PgPool) {
    a_failing_job_ends_dead_after_max_attempts(&db, VerifyAuditChain { verification_id: 1 }).await;
}

#[sqlx::test]
async fn an_outbox_row_pushed_twice_is_one_task_in_redis(db: PgPool) {
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(twilio_created("SM6")).expect(1).mount(&twilio_server).await;
    let ns = namespace();
    let id = commit_sms(&db, "pushed twice").await;
    let conn = redis::Client::open(redis_url()).expect("client").get_connection_manager().await.expect("redis");
    let pushers = relay::Pushers::new(&registry(), &conn, &ns);

    assert_eq!(relay::relay_once(&db, &pushers, 10).await.expect("first push"), 1);
    // A relay that crashed after pushing, before its mark committed: the row is pushed again.
    sqlx::query("update outbox set sent_at = null").execute(&db).await.expect("unmark");
    assert_eq!(relay::relay_once(&db, &pushers, 10).await.expect("second push"), 1);

    let q = SendSms::QUEUE.key(&ns);
    let (stored, scheduled, active): (u64, u64, u64) = redis::pipe()
        .hlen(format!("{q}:data"))
        .zcard(format!("{q}:scheduled"))
        .llen(format!("{q}:active"))
        .query_async(&mut redis().await)
        .await
        .expect("queue state");
    assert_eq!((stored, scheduled + active), (1, 1), "one task, queued once");

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    eventually(10, "the SMS is sent", || async { sms_status(&db, id).await.0 == "SENT" }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    workers.stop().await;
    let done: u64 = redis::cmd("SCARD").arg(format!("{q}:done")).query_async(&mut redis().await).await.expect("scard");
    assert_eq!(done, 1, "the task ran once");
}

#[test]
fn every_registered_kind_has_its_dead_after_max_attempts_test() {
    // The three tests above, one per kind: a kind added to the registry needs its own.
    let covered = std::collections::BTreeSet::from([
        SendSms::NAME,
        ReminderSweep::NAME,
        PurgeExpiredSessions::NAME,
        ScanFile::NAME,
        RescanPending::NAME,
        SendOtp::NAME,
        AnswerRecommendation::NAME,
        AccessSweep::NAME,
        SendTemporaryPassword::NAME,
        VerifyAuditChain::NAME,
    ]);
    assert_eq!(registry().names(), covered);
}

#[sqlx::test]
async fn the_relay_pushes_exactly_the_registered_kinds_and_parks_any_other(db: PgPool) {
    let ns = namespace();
    let registry = registry();
    let conn = redis::Client::open(redis_url()).expect("client").get_connection_manager().await.expect("redis");
    let pushers = relay::Pushers::new(&registry, &conn, &ns);
    assert_eq!(pushers.job_types().collect::<std::collections::BTreeSet<_>>(), registry.names());
    // A job of a kind this build has not registered (a newer build's, say) beside a registered one.
    let mut tx = db.begin().await.expect("tx");
    outbox::enqueue(&mut tx, &Flaky { n: 9 }, None).await.expect("enqueued");
    tx.commit().await.expect("commit");
    commit_sms(&db, "registered").await;

    assert_eq!(relay::relay_once(&db, &pushers, 10).await.expect("relayed"), 1);

    let parked: Vec<(String, Option<String>)> =
        sqlx::query_as("select job_type, last_error from outbox where sent_at is null")
            .fetch_all(&db)
            .await
            .expect("rows");
    assert_eq!(parked, [("Flaky".to_owned(), Some("unknown job type".to_owned()))]);
}

#[sqlx::test]
async fn the_queue_endpoint_lists_the_registered_queues_each_with_its_running_worker(db: PgPool) {
    let ns = namespace();
    let app = TestApp::spawn_with(&db, |s| s.jobs.namespace = ns.clone()).await;
    let admin = app.admin().await;
    let token = app.login(&admin).await.access;
    let registered: std::collections::BTreeSet<String> =
        registry().queues().into_iter().map(|q| q.name().to_owned()).collect();

    let workers = Workers::start(&db, settings(&ns), SmsProvider::Console);
    eventually(10, "one live worker on every listed queue", || async {
        let body = json_body(app.get("/api/ops/queues/", Some(&token)).await).await;
        body["queues"].as_array().expect("queues").iter().all(|q| q["workers"].as_array().is_some_and(|w| w.len() == 1))
    })
    .await;
    let listed = json_body(app.get("/api/ops/queues/", Some(&token)).await).await;
    workers.stop().await;

    let queues: std::collections::BTreeSet<String> = listed["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .map(|q| q["queue"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(queues, registered, "the endpoint lists the registry's queues, and the runtime ran a worker on each");
}

/// CRC16/XMODEM, the checksum of Redis Cluster's key slots.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 == 0 { crc << 1 } else { (crc << 1) ^ 0x1021 };
        }
    }
    crc
}

/// The Redis Cluster slot of `key`: only its hash tag counts, the part between the first `{` and
/// the next `}`, when that part is not empty.
fn hash_slot(key: &str) -> u16 {
    let tag = key.find('{').and_then(|open| {
        let rest = &key[open + 1..];
        rest.find('}').filter(|&close| close > 0).map(|close| &rest[..close])
    });
    crc16(tag.unwrap_or(key).as_bytes()) % 16384
}

#[sqlx::test]
async fn every_redis_key_of_a_queue_is_in_the_queues_hash_slot(db: PgPool) {
    assert_eq!(hash_slot("foo"), 12182, "CLUSTER KEYSLOT foo");
    assert_eq!(hash_slot("{user1000}.following"), hash_slot("{user1000}.followers"));
    assert_ne!(hash_slot("a{}b"), hash_slot("a{}c"), "an empty tag is no tag");
    let twilio_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("doomed"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "code": 21211 })))
        .mount(&twilio_server)
        .await;
    Mock::given(method("POST")).respond_with(twilio_created("SM7")).mount(&twilio_server).await;
    let ns = namespace();
    commit_sms(&db, "delivered").await;
    commit_sms(&db, "doomed").await;
    let now = chrono::Utc::now();
    outbox::enqueue_tick(&db, "reminder-sweep", now, &ReminderSweep { tick: now.to_rfc3339() }).await.expect("tick");
    outbox::enqueue_tick(&db, "purge-expired-sessions", now, &PurgeExpiredSessions { tick: now.to_rfc3339() })
        .await
        .expect("tick");

    let workers = Workers::start(&db, settings(&ns), twilio(&twilio_server));
    let count = |set: String| async move {
        redis::cmd("SCARD").arg(set).query_async::<u64>(&mut redis().await).await.expect("scard")
    };
    eventually(10, "every job handled", || async {
        count(format!("{}:done", SendSms::QUEUE.key(&ns))).await == 1
            && count(format!("{}:dead", SendSms::QUEUE.key(&ns))).await == 1
            && count(format!("{}:done", ReminderSweep::QUEUE.key(&ns))).await == 1
            && count(format!("{}:done", PurgeExpiredSessions::QUEUE.key(&ns))).await == 1
    })
    .await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{}*", ns.trim_end_matches(':')))
        .query_async(&mut redis().await)
        .await
        .expect("keys");
    workers.stop().await;

    for key in &keys {
        let queue = registry().queues().into_iter().find(|q| key.starts_with(&q.key(&ns))).unwrap_or_else(|| {
            panic!("{key} belongs to no queue of the namespace");
        });
        assert_eq!(hash_slot(key), hash_slot(&queue.key(&ns)), "{key}");
    }
    let sms = SendSms::QUEUE.key(&ns);
    for suffix in [":data", ":meta:", ":done", ":dead", ":workers"] {
        assert!(keys.iter().any(|k| k.starts_with(&format!("{sms}{suffix}"))), "{suffix} among {keys:?}");
    }
    let slots: std::collections::BTreeSet<u16> =
        registry().queues().into_iter().map(|q| hash_slot(&q.key(&ns))).collect();
    assert_eq!(slots.len(), registry().queues().len(), "each queue has a slot of its own");
}

/// A log writer into memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[sqlx::test]
async fn an_idle_reminder_sweep_logs_at_debug_not_info(db: PgPool) {
    use tracing_subscriber::prelude::*;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(move || writer.clone())
            .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG),
    );
    let ctx = JobContext::new(db.clone(), 3);
    let job = ReminderSweep { tick: "2026-11-25T00:00:00Z".into() };

    // The handler runs on this thread (awaited here), where the subscriber is the default.
    let guard = tracing::subscriber::set_default(subscriber);
    carehub::appointments::jobs::reminder_sweep(1440).call(job, ctx).await.expect("sweep ran");
    drop(guard);

    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let sweep: Vec<&str> = logs.lines().filter(|line| line.contains("\"reminder sweep\"")).collect();
    assert_eq!(sweep.len(), 1, "{logs}");
    assert!(sweep[0].contains("\"level\":\"DEBUG\""), "{}", sweep[0]);
}
