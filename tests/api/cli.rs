//! The process types: each starts, and stops cleanly on SIGTERM (how Heroku-style hosts stop
//! processes).

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::database_url;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn start(args: &[&str], db: &PgPool, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_carehub"))
        .args(args)
        .env("DATABASE_URL", database_url(db))
        .env("PORT", port.to_string())
        .env("WORKER_PORT", "0")
        // Its own queues, so a test never touches a developer's local ones.
        .env("CAREHUB__JOBS__NAMESPACE", format!("test-{}:", uuid::Uuid::new_v4().simple()))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("carehub starts")
}

fn terminate_and_wait(mut child: Child) -> std::process::ExitStatus {
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

async fn wait_for_health(port: u16) {
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
async fn worker_and_clock_stop_cleanly_on_sigterm(db: PgPool) {
    for command in ["work", "clock"] {
        let child = start(&[command], &db, free_port());
        std::thread::sleep(Duration::from_millis(500));

        let status = terminate_and_wait(child);

        assert!(status.success(), "{command}: {status:?}");
    }
}
