//! The statistics against a real Redis (`REDIS_URL`, a namespace per test), with jobs run through
//! the standard worker stack: the per-minute counts, the dead jobs listed, retried and discarded.
//! No Postgres: the test handler never touches its pool.

use std::{sync::Arc, time::Duration};

use apalis::prelude::{AbortError, TaskSink as _};
use apalis_redis::ConnectionManager;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{
    context::{JobContext, JobResult},
    jobs::Job,
    kind::KindInfo,
    push,
    worker::{WorkerSettings, supervised_worker},
};

/// What a [`Probe`] does when run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
enum Act {
    Succeed,
    /// Fails for good at once.
    Abort,
    /// Fails every attempt, transiently (dead after `max_attempts`).
    Fail,
    /// Fails for good with a 2 000-character error.
    AbortLong,
}

/// A job of these tests only; `secret` stands for a payload operators must never see.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Probe {
    act: Act,
    secret: String,
}

impl Job for Probe {
    const QUEUE: Queue = Queue::new("carehub:probe");
    const NAME: &'static str = "Probe";
}

const SECRET: &str = "payload-secret-4711";
const MAX_ATTEMPTS: usize = 2;

async fn probe(job: Probe, _: JobContext) -> JobResult {
    match job.act {
        Act::Succeed => Ok(()),
        Act::Abort => Err(AbortError::new("provider said no (21211)").into()),
        Act::Fail => Err("transient failure".into()),
        Act::AbortLong => Err(AbortError::new("x".repeat(2000)).into()),
    }
}

fn namespace() -> String {
    format!("test-{}:", uuid::Uuid::new_v4().simple())
}

async fn redis() -> ConnectionManager {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    redis::Client::open(url).expect("client").get_connection_manager().await.expect("redis")
}

async fn push_all(ns: &str, acts: &[Act]) {
    let mut storage = push::storage::<Probe>(redis().await, ns);
    for &act in acts {
        storage.push(Probe { act, secret: SECRET.into() }).await.expect("push");
    }
}

async fn count(key: String) -> u64 {
    redis::cmd("SCARD").arg(key).query_async(&mut redis().await).await.expect("scard")
}

async fn wait_for(what: &str, ns: &str, done: u64, dead: u64) {
    let q = Probe::QUEUE.key(ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while count(format!("{q}:done")).await != done || count(format!("{q}:dead")).await != dead {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `acts` as jobs through the standard worker stack until `done` are done and `dead` dead,
/// then stops the worker and the per-minute writer (writing the last counts).
async fn run(ns: &str, acts: &[Act], done: u64, dead: u64) {
    push_all(ns, acts).await;
    let settings = WorkerSettings {
        redis_url: String::new(),
        namespace: ns.to_owned(),
        poll_interval: Duration::from_millis(50),
        max_attempts: MAX_ATTEMPTS,
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(50),
        shutdown_timeout: Duration::from_secs(5),
        orphan_after: Duration::from_secs(30),
        relay_batch: 10,
        relay_idle: Duration::from_millis(200),
    };
    let conn = redis().await;
    let db = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1:1/none").expect("pool");
    let kind = KindInfo { name: Probe::NAME, queue: Probe::QUEUE, concurrency: 2, schedule: None };
    let (outcomes, recorder) = OutcomeRecorder::spawn(conn.clone(), ns.to_owned());
    let shutdown = CancellationToken::new();
    let worker = supervised_worker::<Probe>(&kind, Arc::new(probe), &conn, &settings, &shutdown, &db, &outcomes)
        .expect("worker");
    drop(outcomes);
    let worker = tokio::spawn(worker);
    wait_for("the jobs to end", ns, done, dead).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), worker).await.expect("worker stops").expect("join");
    recorder.finish().await;
}

fn totals(series: &[MinuteCount]) -> (u64, u64) {
    series.iter().fold((0, 0), |(d, f), m| (d + m.done, f + m.failed))
}

#[tokio::test]
async fn each_attempt_is_counted_done_or_failed_in_its_minute() {
    let ns = namespace();
    // Two done; one aborted (1 failed attempt); one failing every attempt (2 failed attempts).
    run(&ns, &[Act::Succeed, Act::Succeed, Act::Abort, Act::Fail], 2, 2).await;

    let series = minute_series(&mut redis().await, &ns, Probe::QUEUE, 3).await.expect("series");

    assert_eq!(series.len(), 3);
    // The jobs ran in the last two minutes (a minute may have turned meanwhile).
    assert_eq!(totals(&series[1..]), (2, 1 + MAX_ATTEMPTS as u64));
    assert_eq!(totals(&series[..1]), (0, 0), "nothing counted before the jobs ran");
    let other = minute_series(&mut redis().await, &ns, Queue::new("carehub:other"), 3).await.expect("series");
    assert_eq!(totals(&other), (0, 0), "counted for the probe's queue only");
}

#[tokio::test]
async fn a_series_has_exactly_the_minutes_asked_oldest_first_with_zeros_where_nothing_ran() {
    let ns = namespace();
    let now = minutes::epoch_minute(Utc::now());
    let counts = minutes::Counts::from([((Probe::QUEUE, now), (3, 1)), ((Probe::QUEUE, now - 2), (0, 4))]);
    minutes::add(&mut redis().await, &ns, &counts).await.expect("add");
    minutes::add(&mut redis().await, &ns, &counts).await.expect("add again");

    let series = minute_series(&mut redis().await, &ns, Probe::QUEUE, 5).await.expect("series");
    let empty = minute_series(&mut redis().await, &ns, Probe::QUEUE, 0).await.expect("series");
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{}:minutes:{now}", Probe::QUEUE.key(&ns)))
        .query_async(&mut redis().await)
        .await
        .expect("ttl");

    // Written in this minute and read in it, unless it turned in between: then shifted by one.
    let shift = usize::from(minutes::epoch_minute(series[4].minute_start) != now);
    let counts: Vec<(u64, u64)> = series.iter().map(|m| (m.done, m.failed)).collect();
    let expected = [(0, 0), (0, 0), (0, 8), (0, 0), (6, 2), (0, 0)];
    assert_eq!(counts, expected[shift..shift + 5]);
    for pair in series.windows(2) {
        assert_eq!(pair[1].minute_start - pair[0].minute_start, chrono::Duration::minutes(1));
    }
    assert_eq!(series[4].minute_start.timestamp() % 60, 0);
    assert!(empty.is_empty());
    assert!(ttl > 0 && ttl <= minutes::RETENTION_SECS, "expires by itself: {ttl}");
}

#[tokio::test]
async fn dead_jobs_are_listed_newest_first_with_attempts_and_error_and_never_their_payload() {
    let ns = namespace();
    run(&ns, &[Act::Abort, Act::Fail, Act::Succeed], 1, 2).await;
    // A later failure, a second on: listed first.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    run(&ns, &[Act::AbortLong], 1, 3).await;

    let (total, jobs) = dead_jobs(&mut redis().await, &ns, Probe::QUEUE, 0, 10).await.expect("dead");
    let (_, second_page) = dead_jobs(&mut redis().await, &ns, Probe::QUEUE, 1, 1).await.expect("dead");
    let (_, past_the_end) = dead_jobs(&mut redis().await, &ns, Probe::QUEUE, 3, 10).await.expect("dead");

    assert_eq!((total, jobs.len()), (3, 3));
    assert_eq!(jobs[0].last_error.as_deref(), Some("x".repeat(dead::MAX_ERROR_CHARS).as_str()));
    let mut rest: Vec<(u32, Option<&str>)> = jobs[1..].iter().map(|j| (j.attempts, j.last_error.as_deref())).collect();
    rest.sort();
    assert_eq!(rest, [(1, Some("provider said no (21211)")), (2, Some("transient failure"))]);
    assert!(jobs[0].failed_at > jobs[2].failed_at, "newest failure first: {jobs:?}");
    let now = Utc::now();
    assert!(jobs.iter().all(|j| j.failed_at.is_some_and(|at| (now - at).num_seconds() < 60)));
    assert_eq!(second_page, jobs[1..2]);
    assert!(past_the_end.is_empty());
    let shown = serde_json::to_string(&jobs).expect("json");
    assert!(!shown.contains(SECRET), "a payload was shown: {shown}");
}

#[tokio::test]
async fn retrying_all_dead_jobs_moves_every_one_back_with_its_attempts_reset() {
    let ns = namespace();
    run(&ns, &[Act::Abort, Act::Fail, Act::Succeed], 1, 2).await;
    let q = Probe::QUEUE.key(&ns);
    let (_, dead) = dead_jobs(&mut redis().await, &ns, Probe::QUEUE, 0, 10).await.expect("dead");

    let moved = retry_all_dead(&mut redis().await, &ns, Probe::QUEUE).await.expect("retry all");
    let again = retry_all_dead(&mut redis().await, &ns, Probe::QUEUE).await.expect("retry all");

    assert_eq!((moved, again), (2, 0));
    assert_eq!(count(format!("{q}:dead")).await, 0);
    let scheduled: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("{q}:scheduled"))
        .arg(0)
        .arg(-1)
        .query_async(&mut redis().await)
        .await
        .expect("z");
    let mut ids: Vec<String> = dead.into_iter().map(|j| j.id).collect();
    ids.sort();
    let mut scheduled_sorted = scheduled.clone();
    scheduled_sorted.sort();
    assert_eq!(scheduled_sorted, ids);
    for id in &scheduled {
        let attempts: Option<String> = redis::cmd("HGET")
            .arg(format!("{q}:meta:{id}"))
            .arg("attempts")
            .query_async(&mut redis().await)
            .await
            .expect("meta");
        assert_eq!(attempts.as_deref(), Some("0"));
    }
    // They run again: the two die again, counted anew.
    run(&ns, &[], 1, 2).await;
}

#[tokio::test]
async fn discarding_removes_exactly_that_dead_job_its_meta_and_its_payload() {
    let ns = namespace();
    run(&ns, &[Act::Abort, Act::Abort, Act::Succeed], 1, 2).await;
    let q = Probe::QUEUE.key(&ns);
    let (_, dead) = dead_jobs(&mut redis().await, &ns, Probe::QUEUE, 0, 10).await.expect("dead");
    let done: Vec<String> =
        redis::cmd("SMEMBERS").arg(format!("{q}:done")).query_async(&mut redis().await).await.expect("done");
    let (gone, kept) = (&dead[0].id, &dead[1].id);
    let mut conn = redis().await;

    assert!(discard_dead(&mut conn, &ns, Probe::QUEUE, gone).await.expect("discard"));
    assert!(!discard_dead(&mut conn, &ns, Probe::QUEUE, gone).await.expect("twice"), "already gone");
    assert!(!discard_dead(&mut conn, &ns, Probe::QUEUE, "01ARZ3NDEKTSV4RRFFQ69G5FAV").await.expect("unknown"));
    assert!(
        !discard_dead(&mut conn, &ns, Probe::QUEUE, &done[0]).await.expect("done job"),
        "a done job is no dead job"
    );
    assert!(!discard_dead(&mut conn, &ns, Queue::new("carehub:other"), kept).await.expect("other queue"));
    assert!(!retry_dead(&mut conn, &ns, Probe::QUEUE, gone).await.expect("retry discarded"));
    assert!(!retry_dead(&mut conn, &ns, Probe::QUEUE, "01ARZ3NDEKTSV4RRFFQ69G5FAV").await.expect("retry unknown"));

    let (total, listed) = dead_jobs(&mut conn, &ns, Probe::QUEUE, 0, 10).await.expect("dead");
    assert_eq!((total, listed.iter().map(|j| j.id.as_str()).collect::<Vec<_>>()), (1, vec![kept.as_str()]));
    let (gone_meta, kept_meta, gone_data, kept_data, done_data): (bool, bool, bool, bool, bool) = redis::pipe()
        .exists(format!("{q}:meta:{gone}"))
        .exists(format!("{q}:meta:{kept}"))
        .hexists(format!("{q}:data"), gone)
        .hexists(format!("{q}:data"), kept)
        .hexists(format!("{q}:data"), &done[0])
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert_eq!((gone_meta, gone_data), (false, false), "the discarded job's meta and payload are gone");
    assert_eq!((kept_meta, kept_data, done_data), (true, true, true), "nothing else is touched");
}

#[tokio::test]
async fn recording_never_waits_even_when_the_writer_is_behind_or_gone() {
    let ns = namespace();
    let (outcomes, recorder) = OutcomeRecorder::spawn(redis().await, ns.clone());
    let started = std::time::Instant::now();
    // Far more than the channel holds, without a single await.
    for _ in 0..20_000 {
        outcomes.record(Probe::QUEUE, Outcome::Done);
    }
    let elapsed = started.elapsed();
    recorder.finish().await;
    outcomes.record(Probe::QUEUE, Outcome::Failed);
    OutcomeRecorder::disabled().record(Probe::QUEUE, Outcome::Failed);

    assert!(elapsed < Duration::from_secs(1), "recording took {elapsed:?}");
    let (done, failed) = totals(&minute_series(&mut redis().await, &ns, Probe::QUEUE, 2).await.expect("series"));
    assert!(done > 0 && done <= 20_000, "what the writer took was written: {done}");
    assert_eq!(failed, 0, "nothing is written once the writer has finished");
}
