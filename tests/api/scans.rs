//! Files clamd cannot scan: a refusal or error answer ends FAILED after `scan.max_attempts`, a
//! reached limit (`Heuristics.Limits.Exceeded.*`, `AlertExceedsMax yes`) is FAILED at once, and
//! neither is ever CLEAN or rescanned; the worker checks at start that clamd takes a file of the
//! upload limit.

use std::time::Duration;

use carehub::records::files::{
    jobs,
    model::ScanStatus,
    scan::{self, Outcome},
};
use carehub_workers::scan::Clamd;
use reqwest::StatusCode;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::reports::{Uploads, clamd_addr, file_of_report, pdf};

/// A clamd stand-in on a port of its own that reads each INSTREAM request to its end and answers
/// `answer` (as the real one does to a stream past its limits); its address.
async fn fake_clamd(answer: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut command = [0_u8; 10];
                if socket.read_exact(&mut command).await.is_err() {
                    return;
                }
                loop {
                    let mut length = [0_u8; 4];
                    if socket.read_exact(&mut length).await.is_err() {
                        return;
                    }
                    let length = u32::from_be_bytes(length) as usize;
                    if length == 0 {
                        break;
                    }
                    let mut chunk = vec![0_u8; length];
                    if socket.read_exact(&mut chunk).await.is_err() {
                        return;
                    }
                }
                let _ = socket.write_all(answer).await;
            });
        }
    });
    addr
}

async fn file_row(db: &PgPool, file_id: i64) -> (String, Option<String>, i32) {
    sqlx::query_as("select scan_status, scan_detail, scan_refusals from stored_files where id = $1")
        .bind(file_id)
        .fetch_one(db)
        .await
        .expect("row")
}

#[sqlx::test]
async fn a_file_clamd_refuses_is_failed_at_the_last_attempt_and_never_rescanned_or_served(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf("too big for clamd")).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;
    let refusing = Clamd::new(fake_clamd(b"INSTREAM size limit exceeded. ERROR\0").await, Duration::from_secs(5));

    for attempt in 1..5 {
        let result = scan::scan(&db, &up.storage(), &refusing, 5, file_id).await;
        assert!(result.is_err(), "attempt {attempt} is retried");
        assert_eq!(file_row(&db, file_id).await.0, "PENDING", "attempt {attempt}");
    }
    let last = scan::scan(&db, &up.storage(), &refusing, 5, file_id).await.expect("the fifth attempt");

    assert_eq!(last, Outcome::Wrote(ScanStatus::Failed));
    let (status, detail, refusals) = file_row(&db, file_id).await;
    assert_eq!((status.as_str(), refusals), ("FAILED", 5));
    assert!(detail.as_deref().unwrap_or_default().contains("INSTREAM size limit exceeded"), "{detail:?}");
    // Never rescanned, never scanned again, never served.
    sqlx::query("update stored_files set created_at = now() - interval '2 minutes'").execute(&db).await.expect("age");
    assert_eq!(jobs::rescan(&db, "2026-12-07T10:00:30Z").await.expect("rescan"), 0);
    assert_eq!(up.scan(file_id).await, Outcome::Nothing, "a real clamd cannot make it CLEAN now");
    let download = up.app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;
    assert_eq!(download.status(), StatusCode::CONFLICT);
    let shown =
        crate::helpers::json_body(up.app.get(&format!("/api/records/reports/{id}/"), Some(&patient.token)).await).await;
    assert_eq!(shown["scan_status"], "FAILED");
    let audit = up.app.audit_rows("file_scanned").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].details["status"], "FAILED");
}

/// A clamd stand-in that accepts a scan and closes the connection after the command, before
/// any answer (as clamd does when a file makes it crash); its address.
async fn clamd_that_breaks_off() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut command = [0_u8; 10];
            let _ = socket.read_exact(&mut command).await;
            drop(socket);
        }
    });
    addr
}

#[sqlx::test]
async fn a_file_whose_scan_breaks_off_is_counted_and_failed_at_the_last_attempt_never_pending_forever(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf("a file clamd chokes on")).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;
    let breaking = Clamd::new(clamd_that_breaks_off().await, Duration::from_secs(5));

    for attempt in 1..3 {
        assert!(scan::scan(&db, &up.storage(), &breaking, 3, file_id).await.is_err(), "attempt {attempt} is retried");
        assert_eq!(file_row(&db, file_id).await.2, attempt, "attempt {attempt} is counted");
    }
    let last = scan::scan(&db, &up.storage(), &breaking, 3, file_id).await.expect("the third attempt");

    assert_eq!(last, Outcome::Wrote(ScanStatus::Failed));
    assert_eq!(file_row(&db, file_id).await.0, "FAILED");
    // clamd not listening at all is no verdict on the file: retried, never counted.
    let down = Clamd::new("127.0.0.1:1", Duration::from_secs(5));
    let other = up.report_of(&patient, pdf("while clamd is down")).await["id"].as_i64().expect("id");
    let (other_file, ..) = file_of_report(&db, other).await;
    assert!(scan::scan(&db, &up.storage(), &down, 3, other_file).await.is_err());
    assert_eq!(file_row(&db, other_file).await, ("PENDING".to_owned(), None, 0));
}

#[sqlx::test]
async fn a_file_clamd_stopped_reading_at_a_limit_is_failed_at_once_not_clean_nor_infected(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let id = up.report_of(&patient, pdf("an archive past MaxScanSize")).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;
    let limited =
        Clamd::new(fake_clamd(b"stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND\0").await, Duration::from_secs(5));

    let outcome = scan::scan(&db, &up.storage(), &limited, 5, file_id).await.expect("scanned");

    assert_eq!(outcome, Outcome::Wrote(ScanStatus::Failed));
    let (status, detail, _) = file_row(&db, file_id).await;
    assert_eq!(status, "FAILED");
    assert!(detail.as_deref().unwrap_or_default().contains("Heuristics.Limits.Exceeded.MaxScanSize"), "{detail:?}");
    let download = up.app.get(&format!("/api/records/reports/{id}/download/"), Some(&patient.token)).await;
    assert_eq!(download.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_worker_start_check_refuses_a_clamd_that_takes_less_than_the_upload_limit() {
    let limit = 10 * 1024 * 1024;
    let small = Clamd::new(fake_clamd(b"INSTREAM size limit exceeded. ERROR\0").await, Duration::from_secs(10));
    let err = scan::check_clamd_takes(&small, limit).await.expect_err("refused").to_string();
    assert!(err.contains("records.upload_limit_bytes") && err.contains("StreamMaxLength"), "{err}");

    let stops = Clamd::new(
        fake_clamd(b"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND\0").await,
        Duration::from_secs(10),
    );
    let err = scan::check_clamd_takes(&stops, limit).await.expect_err("refused").to_string();
    assert!(err.contains("MaxFileSize"), "{err}");

    // The real clamd of ./scripts/clamd (StreamMaxLength 12M) takes the default 10 MiB limit.
    let real = Clamd::new(clamd_addr(), Duration::from_secs(30));
    scan::check_clamd_takes(&real, limit).await.expect("clamd takes 10 MiB");
    // And refuses 13 MiB, which the check reports.
    let err = scan::check_clamd_takes(&real, 13 * 1024 * 1024).await.expect_err("over StreamMaxLength").to_string();
    assert!(err.contains("StreamMaxLength"), "{err}");
}

#[test]
fn scripts_clamd_reports_files_past_its_limits_instead_of_passing_them() {
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/clamd")).expect("script");
    assert!(script.lines().any(|line| line.trim() == "AlertExceedsMax yes"), "AlertExceedsMax is set");
}

/// A 20 KB .docx (a zip) holding 20 MiB of zeros: past clamd's `MaxScanSize` (12M) once
/// unpacked. Without `AlertExceedsMax` clamd answers OK for it.
const ARCHIVE_PAST_MAX_SCAN_SIZE: &[u8] = include_bytes!("../fixtures/archive-past-max-scan-size.docx");

#[sqlx::test]
async fn an_archive_past_clamds_max_scan_size_is_failed_by_the_real_clamd_never_clean(db: PgPool) {
    let up = Uploads::spawn(&db).await;
    let patient = up.app.patient("zainab").await;
    let response = up.upload(patient.user.id, "report.docx", ARCHIVE_PAST_MAX_SCAN_SIZE.to_vec(), &patient.token).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let id = crate::helpers::json_body(response).await["id"].as_i64().expect("id");
    let (file_id, ..) = file_of_report(&db, id).await;

    let outcome = up.scan(file_id).await;

    assert_eq!(
        outcome,
        Outcome::Wrote(ScanStatus::Failed),
        "clamd at {} passed an archive it did not read whole: it runs without `AlertExceedsMax yes` \
         (./scripts/clamd restarts a clamd it started with an older configuration)",
        clamd_addr()
    );
    let (_, detail, _) = file_row(&db, file_id).await;
    assert!(detail.as_deref().unwrap_or_default().contains("Heuristics.Limits.Exceeded"), "{detail:?}");
}
