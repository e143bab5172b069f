//! Drill 1: a web process stopped (SIGTERM, as a deploy or the daily restart does) under a load
//! of reads and bookings, with a second web process beside it to take the streams over.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;
use sqlx::PgPool;

use super::{Process, report};
use crate::{
    cli::{carehub, free_port, wait_for_health},
    helpers::TestApp,
};

const STREAMS: usize = 32;

/// What one request got.
#[derive(Debug)]
enum Outcome {
    Answered {
        status: u16,
        from_first: bool,
    },
    /// No answer: the connection failed after the request was sent (or while it was).
    Failed(String),
}

fn serve(db: &PgPool, port: u16) -> Process {
    Process(Some(carehub(&["serve"], db, port).spawn().expect("serve starts")))
}

struct Load {
    first: u16,
    second: u16,
    hospital: i64,
    department: i64,
    tokens: Vec<String>,
    stop: Arc<AtomicBool>,
}

/// One client stream: its own connection (kept alive), alternating a read and a booking. It
/// starts on the first process or the second; a refused connection (the process has stopped
/// listening, so it never saw the request) moves it to the second, where the same request is
/// sent. Every booking carries a reason unique to the stream and request.
async fn stream(load: Arc<Load>, index: usize) -> Vec<(Outcome, Option<String>)> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
    let token = &load.tokens[index % load.tokens.len()];
    let mut port = if index.is_multiple_of(2) { load.first } else { load.second };
    let mut outcomes = Vec::new();
    let mut n: u64 = 0;
    while !load.stop.load(Ordering::Relaxed) {
        n += 1;
        let reason = n.is_multiple_of(2).then(|| format!("drill-{index}-{n}"));
        loop {
            let request = match &reason {
                Some(reason) => client.post(format!("http://127.0.0.1:{port}/api/appointments/")).json(&json!({
                    "hospital": load.hospital,
                    "department": load.department,
                    "requested_time": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339(),
                    "reason": reason,
                })),
                None => client.get(format!("http://127.0.0.1:{port}/api/hospitals/")),
            };
            match request.bearer_auth(token).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let from_first = port == load.first;
                    outcomes.push((Outcome::Answered { status, from_first }, reason.clone()));
                    // The whole body: an answer cut short is a failure too.
                    if let Err(err) = response.bytes().await {
                        outcomes.push((Outcome::Failed(format!("body: {err:?}")), None));
                    }
                    break;
                }
                Err(err) if err.is_connect() && port == load.first => port = load.second,
                Err(err) => {
                    outcomes.push((Outcome::Failed(format!("{err:?}")), reason.clone()));
                    break;
                }
            }
        }
    }
    outcomes
}

#[sqlx::test]
async fn a_web_process_stopped_under_load_answers_everything_it_accepted_and_its_streams_lose_nothing(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("drill").await;
    let department = app.department_at(&hospital, "Cardiology").await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(app.patient(&format!("drillpatient{i}")).await.token);
    }
    let (first_port, second_port) = (free_port(), free_port());
    let first = serve(&db, first_port);
    let second = serve(&db, second_port);
    wait_for_health(first_port).await;
    wait_for_health(second_port).await;

    let load = Arc::new(Load {
        first: first_port,
        second: second_port,
        hospital: hospital.id,
        department,
        tokens,
        stop: Arc::default(),
    });
    let streams: Vec<_> = (0..STREAMS).map(|i| tokio::spawn(stream(load.clone(), i))).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopping = Instant::now();
    let exit = tokio::task::spawn_blocking(move || first.terminate()).await.expect("stopped");
    let stopped_in = stopping.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    load.stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for stream in streams {
        outcomes.extend(stream.await.expect("stream"));
    }
    assert!(second.terminate().success());

    let failed: Vec<&String> =
        outcomes.iter().filter_map(|(o, _)| if let Outcome::Failed(e) = o { Some(e) } else { None }).collect();
    let mut statuses: BTreeMap<(u16, bool), usize> = BTreeMap::new();
    for (outcome, _) in &outcomes {
        if let Outcome::Answered { status, from_first } = outcome {
            *statuses.entry((*status, *from_first)).or_default() += 1;
        }
    }
    // Every booking answered 201 exists exactly once, and no other.
    let booked: Vec<&String> = outcomes
        .iter()
        .filter_map(|(o, reason)| {
            matches!(o, Outcome::Answered { status: 201, .. }).then_some(reason.as_ref()).flatten()
        })
        .collect();
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("select count(*), count(distinct reason) from appointments where reason like 'drill-%'")
            .fetch_one(&db)
            .await
            .expect("rows");
    let server_errors: usize = statuses.iter().filter(|((status, _), _)| *status >= 500).map(|(_, n)| n).sum();
    report(
        "web process SIGTERM under 32 streams",
        outcomes.len(),
        failed.len() + server_errors,
        booked.len().abs_diff(usize::try_from(distinct).unwrap_or_default()),
        stopped_in,
    );
    eprintln!("drill web SIGTERM: answers by (status, first process) {statuses:?}");
    assert!(exit.success(), "the stopped process exits 0: {exit:?}");
    assert!(stopped_in < Duration::from_secs(25), "within http.shutdown_timeout_seconds: {stopped_in:?}");
    assert_eq!(failed.len(), 0, "requests reset or cut short: {:?}", &failed[..failed.len().min(5)]);
    assert!(statuses.keys().all(|(status, _)| [200, 201].contains(status)), "{statuses:?}");
    assert!(statuses.get(&(201, false)).is_some_and(|&n| n > 0), "the second process took bookings: {statuses:?}");

    assert_eq!((rows, distinct), (booked.len() as i64, booked.len() as i64));
}
