//! Drill 2: a worker killed (SIGKILL) or stopped (SIGTERM) while SMS are being sent through a
//! slow provider.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use carehub_workers::{
    jobs::Job as _,
    sms::{Purpose, SEND_DEADLINE, SendSms, queue_sms},
};
use serde_json::json;
use sqlx::PgPool;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{method, path},
};

use super::{Process, report, wait_until};
use crate::{
    cli::{PRODUCTION, carehub, free_port},
    jobs::redis,
};

/// The orphan window the drills' workers run with (`jobs.orphan_seconds`).
const ORPHAN_SECONDS: u64 = 6;
const MESSAGES: usize = 30;
const TO: &str = "+923001234567";

/// A Twilio stand-in that takes `delay` to answer a send, and keeps what it was sent (from the
/// moment a request arrives, as Twilio does: a sender killed mid-call still sent it) for its
/// Messages list, which a worker asks about a send that was cut off.
#[derive(Clone)]
struct Twilio {
    sent: Arc<Mutex<Vec<(String, String)>>>,
    delay: Duration,
}

impl Respond for Twilio {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut sent = self.sent.lock().expect("lock");
        if request.method == wiremock::http::Method::POST {
            let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
            sent.push((form.get("To").cloned().unwrap_or_default(), form.get("Body").cloned().unwrap_or_default()));
            let sid = format!("SM{:032}", sent.len());
            return ResponseTemplate::new(201)
                .set_body_json(json!({ "sid": sid, "status": "queued" }))
                .set_delay(self.delay);
        }
        let to = request.url.query_pairs().find(|(k, _)| k == "To").map(|(_, v)| v.into_owned()).unwrap_or_default();
        let created = chrono::Utc::now().to_rfc2822();
        let messages: Vec<_> = sent
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, (number, _))| *number == to)
            .map(|(i, (number, body))| {
                json!({ "sid": format!("SM{:032}", i + 1), "to": number, "body": body, "date_created": created })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "messages": messages }))
    }
}

impl Twilio {
    async fn start(delay: Duration) -> (Self, MockServer) {
        let twilio = Self { sent: Arc::default(), delay };
        let server = MockServer::start().await;
        Mock::given(path("/2010-04-01/Accounts/AC0042/Messages.json"))
            .and(method("POST"))
            .respond_with(twilio.clone())
            .mount(&server)
            .await;
        Mock::given(path("/2010-04-01/Accounts/AC0042/Messages.json"))
            .and(method("GET"))
            .respond_with(twilio.clone())
            .mount(&server)
            .await;
        (twilio, server)
    }

    fn received(&self) -> Vec<(String, String)> {
        self.sent.lock().expect("lock").clone()
    }
}

/// A `carehub work` process sending SMS through the stand-in, on the queues of `namespace`.
fn worker(db: &PgPool, twilio: &MockServer, namespace: &str) -> Process {
    worker_with(db, twilio, namespace, &[])
}

fn worker_with(db: &PgPool, twilio: &MockServer, namespace: &str, env: &[(&str, &str)]) -> Process {
    Process(Some(
        carehub(&["work"], db, free_port())
            .envs(env.iter().copied())
            .envs(PRODUCTION.iter().filter(|(name, _)| name.starts_with("TWILIO_") || *name == "SMS_PROVIDER").copied())
            .env("TWILIO_API_BASE", twilio.uri())
            .env("CAREHUB__JOBS__NAMESPACE", namespace)
            .env("CAREHUB__JOBS__ORPHAN_SECONDS", ORPHAN_SECONDS.to_string())
            .spawn()
            .expect("worker starts"),
    ))
}

async fn queue_messages(db: &PgPool) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut tx = db.begin().await.expect("tx");
    for i in 0..MESSAGES {
        ids.push(queue_sms(&mut tx, TO, &format!("Drill message {i}"), Purpose::Test).await.expect("queued"));
    }
    tx.commit().await.expect("commit");
    ids
}

async fn statuses(db: &PgPool) -> HashMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("select status, count(*) from sms_messages group by status")
        .fetch_all(db)
        .await
        .expect("statuses")
        .into_iter()
        .collect()
}

async fn dead_jobs(namespace: &str) -> i64 {
    redis::cmd("SCARD")
        .arg(format!("{}:dead", SendSms::QUEUE.key(namespace)))
        .query_async(&mut redis().await)
        .await
        .expect("dead")
}

/// How many times the provider received each message: (sent once, sent twice, more).
fn deliveries(twilio: &Twilio) -> (usize, usize, usize) {
    let mut times: HashMap<String, usize> = HashMap::new();
    for (_, body) in twilio.received() {
        *times.entry(body).or_default() += 1;
    }
    assert_eq!(times.len(), MESSAGES, "every message reached the provider: {times:?}");
    let count = |n: usize| times.values().filter(|&&t| t == n).count();
    (count(1), count(2), times.values().filter(|&&t| t > 2).count())
}

#[sqlx::test]
async fn a_worker_killed_mid_send_leaves_every_sms_sent_once_none_sending_or_dead_within_the_orphan_window(db: PgPool) {
    let (twilio, server) = Twilio::start(Duration::from_secs(2)).await;
    let namespace = format!("drill-{}:", uuid::Uuid::new_v4().simple());
    queue_messages(&db).await;
    let first = worker(&db, &server, &namespace);
    // Some sent, the next ones in flight (8 at a time, 2 s each).
    wait_until("the first sends", Duration::from_secs(20), async || twilio.received().len() >= 12).await;
    first.kill();
    let killed = Instant::now();
    let in_flight = statuses(&db).await.get("SENDING").copied().unwrap_or_default();
    assert!(in_flight > 0, "the kill cut sends off: {:?}", statuses(&db).await);

    let second = worker(&db, &server, &namespace);
    let bound = Duration::from_secs(ORPHAN_SECONDS) + SEND_DEADLINE + Duration::from_secs(10);
    wait_until("every message sent", bound, async || {
        statuses(&db).await.get("SENT").copied().unwrap_or_default() == MESSAGES as i64
    })
    .await;
    let recovered = killed.elapsed();
    assert!(second.terminate().success());
    // The drill's figures (shown with --nocapture).
    let twice = twilio.received().len().saturating_sub(MESSAGES);
    report("worker SIGKILL mid-send (30 SMS)", MESSAGES, twice, 0, recovered);
    eprintln!("drill worker SIGKILL: {in_flight} sends cut off; all {MESSAGES} SENT {recovered:.1?} after the kill");

    assert_eq!(statuses(&db).await, HashMap::from([("SENT".to_owned(), MESSAGES as i64)]));
    // The sends cut off had reached the provider: asked, it said so, and none went twice.
    let (once, twice, more) = deliveries(&twilio);
    assert_eq!((once, twice, more), (MESSAGES, 0, 0), "{in_flight} cut off; recovered in {recovered:?}");
    assert_eq!(dead_jobs(&namespace).await, 0, "no dead job for a message that went out");
    // Every row is marked with the provider's id of the message it sent.
    let without_id: i64 = sqlx::query_scalar("select count(*) from sms_messages where provider_message_id is null")
        .fetch_one(&db)
        .await
        .expect("ids");
    assert_eq!(without_id, 0);
}

#[sqlx::test]
async fn a_cut_off_send_is_sent_again_if_it_never_reached_the_provider_and_recorded_sent_if_it_did(db: PgPool) {
    let (twilio, server) = Twilio::start(Duration::ZERO).await;
    let namespace = format!("drill-{}:", uuid::Uuid::new_v4().simple());
    let ids = queue_messages(&db).await;
    // Two messages whose claim is past the deadline with no outcome: the process that claimed
    // them died before (the first) or after (the second) its call reached the provider.
    sqlx::query(
        "update sms_messages set status = 'SENDING', attempts = 1, started_at = now() - interval '1 minute',
                sending_since = now() - interval '1 minute' where id = any($1)",
    )
    .bind(&ids[..2])
    .execute(&db)
    .await
    .expect("cut off");
    twilio.sent.lock().expect("lock").push((TO.to_owned(), "Drill message 1".to_owned()));

    let worker = worker(&db, &server, &namespace);
    wait_until("every message sent", Duration::from_secs(30), async || {
        statuses(&db).await.get("SENT").copied().unwrap_or_default() == MESSAGES as i64
    })
    .await;
    assert!(worker.terminate().success());
    assert_eq!(deliveries(&twilio), (MESSAGES, 0, 0));
    let attempts: Vec<i32> = sqlx::query_scalar("select attempts from sms_messages where id = any($1) order by id")
        .bind(&ids[..2])
        .fetch_all(&db)
        .await
        .expect("attempts");
    assert_eq!(attempts, [2, 1], "the first sent again by the new worker; the second found at the provider");
}

#[sqlx::test]
async fn a_cut_off_send_the_provider_cannot_be_asked_about_is_unknown_to_operators_not_a_dead_job(db: PgPool) {
    let namespace = format!("drill-{}:", uuid::Uuid::new_v4().simple());
    let ids = queue_messages(&db).await;
    sqlx::query(
        "update sms_messages set status = 'SENDING', attempts = 1, sending_since = now() - interval '1 minute'
         where id = $1",
    )
    .bind(ids[0])
    .execute(&db)
    .await
    .expect("cut off");
    // The development provider prints messages and keeps no list: it cannot be asked.
    let worker = Process(Some(
        carehub(&["work"], &db, free_port())
            .env("CAREHUB__JOBS__NAMESPACE", &namespace)
            .spawn()
            .expect("worker starts"),
    ));
    wait_until("every message resolved", Duration::from_secs(30), async || {
        statuses(&db).await.get("SENT").copied().unwrap_or_default() == MESSAGES as i64 - 1
    })
    .await;
    wait_until("the cut-off one marked", Duration::from_secs(10), async || {
        statuses(&db).await.get("UNKNOWN").copied().unwrap_or_default() == 1
    })
    .await;
    assert!(worker.terminate().success());
    let (status, error): (String, Option<String>) =
        sqlx::query_as("select status, last_error from sms_messages where id = $1")
            .bind(ids[0])
            .fetch_one(&db)
            .await
            .expect("row");
    assert_eq!(status, "UNKNOWN");
    assert!(error.is_some_and(|e| e.contains("stopped before the provider answered")));
    assert_eq!(dead_jobs(&namespace).await, 0);
}

#[sqlx::test]
async fn a_worker_stopped_by_sigterm_mid_send_finishes_what_it_runs_and_none_is_sent_twice_or_retried(db: PgPool) {
    let (twilio, server) = Twilio::start(Duration::from_secs(2)).await;
    let namespace = format!("drill-{}:", uuid::Uuid::new_v4().simple());
    queue_messages(&db).await;
    let first = worker(&db, &server, &namespace);
    wait_until("the first sends", Duration::from_secs(20), async || twilio.received().len() >= 12).await;
    let stopping = Instant::now();
    assert!(first.terminate().success(), "exit 0 after SIGTERM");
    let stopped_in = stopping.elapsed();
    assert!(stopped_in < Duration::from_secs(5), "running sends finish (2 s each): {stopped_in:?}");
    assert_eq!(statuses(&db).await.get("SENDING"), None, "nothing left mid-send: {:?}", statuses(&db).await);

    let second = worker(&db, &server, &namespace);
    wait_until("every message sent", Duration::from_secs(30), async || {
        statuses(&db).await.get("SENT").copied().unwrap_or_default() == MESSAGES as i64
    })
    .await;
    assert!(second.terminate().success());
    assert_eq!(deliveries(&twilio), (MESSAGES, 0, 0));
    let retried: i64 = sqlx::query_scalar("select count(*) from sms_messages where attempts <> 1")
        .fetch_one(&db)
        .await
        .expect("attempts");
    assert_eq!(retried, 0, "no message was tried twice");
    assert_eq!(dead_jobs(&namespace).await, 0);
}

#[sqlx::test]
async fn a_worker_stopped_before_its_sends_finish_hands_them_back_and_the_next_worker_resolves_them_once(db: PgPool) {
    let (twilio, server) = Twilio::start(Duration::from_secs(4)).await;
    let namespace = format!("drill-{}:", uuid::Uuid::new_v4().simple());
    queue_messages(&db).await;
    // Sends take 4 s; the worker is given 1 s to finish after SIGTERM.
    let first = worker_with(&db, &server, &namespace, &[("CAREHUB__JOBS__SHUTDOWN_TIMEOUT_SECONDS", "1")]);
    wait_until("the first sends", Duration::from_secs(20), async || twilio.received().len() >= 4).await;
    assert!(first.terminate().success(), "exit 0 after SIGTERM, its sends handed back");
    let cut_off = statuses(&db).await.get("SENDING").copied().unwrap_or_default();
    assert!(cut_off > 0, "sends were cut off by the stop: {:?}", statuses(&db).await);

    let second = worker(&db, &server, &namespace);
    wait_until("every message sent", SEND_DEADLINE + Duration::from_secs(20), async || {
        statuses(&db).await.get("SENT").copied().unwrap_or_default() == MESSAGES as i64
    })
    .await;
    assert!(second.terminate().success());
    assert_eq!(deliveries(&twilio), (MESSAGES, 0, 0), "{cut_off} cut off, none sent twice");
    assert_eq!(dead_jobs(&namespace).await, 0);
}
