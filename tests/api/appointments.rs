//! Appointments: booking, lists, assignment, the status machine, SMS, and no double booking
//! under concurrency, in one process and across two `carehub serve` processes.

use std::time::Duration;

use carehub::accounts::model::UserType;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, TestUser, database_url, json_body, redis_url};

/// An approved hospital with a department and two active doctors, and its token.
struct Clinic {
    id: i64,
    token: String,
    department: i64,
    doctors: [i64; 2],
}

async fn clinic(app: &TestApp, tag: &str) -> Clinic {
    let hospital = app.approved_hospital(tag).await;
    let department = app.department_at(&hospital, "Cardiology").await;
    let doctors = [app.doctor_at(&hospital).await.id, app.doctor_at(&hospital).await.id];
    Clinic { id: hospital.id, token: hospital.token, department, doctors }
}

fn in_days(days: i64) -> DateTime<Utc> {
    let at = Utc::now() + chrono::Duration::days(days);
    at.date_naive().and_hms_opt(10, 0, 0).expect("time").and_utc()
}

async fn book(app: &TestApp, patient: &str, clinic: &Clinic) -> i64 {
    let body = json!({ "hospital": clinic.id, "department": clinic.department, "requested_time": in_days(3), "reason": "Chest pain" });
    let response = app.post("/api/appointments/", &body, Some(patient)).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    json_body(response).await["id"].as_i64().expect("id")
}

async fn setup(db: &PgPool) -> (TestApp, String, Clinic) {
    let app = TestApp::spawn(db).await;
    let admin_token = app.admin().await.token;
    let clinic = clinic(&app, "jinnah").await;
    (app, admin_token, clinic)
}

/// The status and `code` of an error response.
async fn refusal(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    (status, json_body(response).await["code"].as_str().unwrap_or_default().to_owned())
}

fn assign_body(doctor: i64, at: DateTime<Utc>, minutes: i32) -> Value {
    json!({ "doctor_id": doctor, "confirmed_time": at, "duration_minutes": minutes })
}

#[sqlx::test]
async fn a_patient_books_and_every_party_sees_the_appointment_with_names(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;

    let id = book(&app, &patient, &clinic).await;
    let mine = json_body(app.get("/api/appointments/my-appointments/", Some(&patient)).await).await;
    let hospital =
        json_body(app.get("/api/appointments/hospital-appointments/?status=REQUESTED", Some(&clinic.token)).await)
            .await;
    let detail = json_body(app.get(&format!("/api/appointments/{id}/"), Some(&patient)).await).await;

    assert_eq!(mine["count"], 1);
    assert_eq!(hospital["count"], 1);
    assert_eq!(detail["status"], "REQUESTED");
    assert_eq!(detail["patient_name"], "Zainab Ali");
    assert_eq!(detail["hospital_name"], "Jinnah Hospital");
    assert_eq!(detail["department_name"], "Cardiology");
    assert_eq!(detail["patient_phone"], "+923007654321");
    assert_eq!(detail["assigned_doctor"], Value::Null);
    // Written by the booking's own statement: who, what, from where, in which request.
    let booked = app.audit_rows("appointment_booked").await;
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].actor_id, detail["patient"].as_i64());
    assert_eq!(booked[0].target_id, Some(id.to_string()));
    assert_eq!(booked[0].ip.as_deref(), Some("127.0.0.1"));
    assert!(booked[0].request_id.as_deref().is_some_and(|r| !r.is_empty()), "{:?}", booked[0].request_id);
    let (actor_type, hospital): (String, i64) =
        sqlx::query_as("select actor_type, hospital_id from audit_log where action = 'appointment_booked'")
            .fetch_one(&db)
            .await
            .expect("audit row");
    assert_eq!((actor_type.as_str(), hospital), ("PATIENT", clinic.id));
}

#[sqlx::test]
async fn booking_refuses_bad_input_by_field_and_other_roles(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let other = self::clinic(&app, "civil").await;
    let patient = app.patient("zainab").await.token;

    let past = app.post("/api/appointments/", &json!({ "hospital": clinic.id, "department": clinic.department, "requested_time": "2020-01-01T10:00:00Z" }), Some(&patient)).await;
    let foreign = app
        .post(
            "/api/appointments/",
            &json!({ "hospital": clinic.id, "department": other.department, "requested_time": in_days(2) }),
            Some(&patient),
        )
        .await;
    let missing = app.post("/api/appointments/", &json!({}), Some(&patient)).await;
    let by_hospital = app
        .post(
            "/api/appointments/",
            &json!({ "hospital": clinic.id, "department": clinic.department, "requested_time": in_days(2) }),
            Some(&clinic.token),
        )
        .await;

    assert_eq!(past.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(past).await["requested_time"].is_array());
    assert!(json_body(foreign).await["department"].is_array());
    let missing = json_body(missing).await;
    for field in ["hospital", "department", "requested_time"] {
        assert!(missing[field].is_array(), "{field}");
    }
    assert_eq!(by_hospital.status(), StatusCode::FORBIDDEN);
    let count: i64 = sqlx::query_scalar("select count(*) from appointments").fetch_one(&db).await.expect("count");
    assert_eq!(count, 0);
}

#[sqlx::test]
async fn the_same_idempotency_key_books_once(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let body = json!({ "hospital": clinic.id, "department": clinic.department, "requested_time": in_days(3) });
    let send = || {
        app.client
            .post(app.url("/api/appointments/"))
            .bearer_auth(&patient)
            .header("idempotency-key", "booking-123")
            .json(&body)
            .send()
    };

    // Eight at once, then one more: one booking, one audit row, every answer naming it.
    let racing = futures::future::join_all((0..8).map(|_| send())).await;
    let mut ids = Vec::new();
    for response in racing {
        let response = response.expect("sent");
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(json_body(response).await["id"].clone());
    }
    let later = json_body(send().await.expect("sent")).await;

    assert!(ids.iter().all(|id| *id == later["id"]), "{ids:?} vs {}", later["id"]);
    let count: i64 = sqlx::query_scalar("select count(*) from appointments").fetch_one(&db).await.expect("count");
    assert_eq!(count, 1);
    assert_eq!(app.audit_rows("appointment_booked").await.len(), 1);
}

#[sqlx::test]
async fn strangers_get_404_and_lists_are_scoped(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let other = self::clinic(&app, "civil").await;
    let patient = app.patient("zainab").await.token;
    let stranger = app.patient("omar").await.token;
    let id = book(&app, &patient, &clinic).await;
    let path = format!("/api/appointments/{id}/");

    assert_eq!(app.get(&path, Some(&stranger)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&path, Some(&other.token)).await.status(), StatusCode::NOT_FOUND);
    let steal = app
        .post(&format!("{path}assign-doctor/"), &assign_body(other.doctors[0], in_days(3), 30), Some(&other.token))
        .await;
    assert_eq!(steal.status(), StatusCode::NOT_FOUND);
    let cancel = app.post(&format!("{path}cancel/"), &json!({}), Some(&stranger)).await;
    assert_eq!(cancel.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        json_body(app.get("/api/appointments/hospital-appointments/", Some(&other.token)).await).await["count"],
        0
    );
    assert_eq!(json_body(app.get("/api/appointments/my-appointments/", Some(&stranger)).await).await["count"], 0);
    assert_eq!(
        app.get("/api/appointments/my-appointments/", Some(&clinic.token)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get("/api/appointments/my-appointments/", None).await.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn assignment_confirms_the_slot_and_texts_the_patient_in_local_time(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    let at = in_days(3);

    let response = app
        .post(
            &format!("/api/appointments/{id}/assign-doctor/"),
            &assign_body(clinic.doctors[0], at, 45),
            Some(&clinic.token),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["appointment"]["status"], "CONFIRMED");
    assert_eq!(body["appointment"]["assigned_doctor"], clinic.doctors[0]);
    assert_eq!(body["appointment"]["doctor_name"], "Ali Mehmood");
    assert_eq!(body["appointment"]["assigned_by_name"], "Sana Iqbal");
    let (to, text): (String, String) =
        sqlx::query_as("select to_number, body from sms_messages where purpose = 'appointment_confirmation'")
            .fetch_one(&db)
            .await
            .expect("one confirmation");
    assert_eq!(to, "+923007654321");
    assert!(text.contains("15:00 PKT"), "10:00 UTC is 15:00 in Karachi: {text}");
    let rows = app.audit_rows("appointment_assigned").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].details["from"].as_str(), rows[0].details["to"].as_str(), rows[0].details["doctor_id"].as_i64()),
        (Some("REQUESTED"), Some("CONFIRMED"), Some(clinic.doctors[0]))
    );
    assert_eq!(rows[0].target_id, body["appointment"]["id"].as_i64().map(|id| id.to_string()));
    let doctor_list =
        sqlx::query_scalar::<_, i64>("select count(*) from appointments where doctor_id = $1 and status = 'CONFIRMED'")
            .bind(clinic.doctors[0])
            .fetch_one(&db)
            .await
            .expect("count");
    assert_eq!(doctor_list, 1);
}

#[sqlx::test]
async fn only_the_documented_moves_are_allowed_and_by_the_right_party(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    let status = |to: &str, token: &str| {
        app.patch(&format!("/api/appointments/{id}/status/"), &json!({ "status": to, "notes": "n" }), Some(token))
    };

    let premature = status("COMPLETED", &clinic.token).await;
    let unassigned_confirm = status("CONFIRMED", &clinic.token).await;
    let patient_completes = status("COMPLETED", &patient).await;
    app.post(
        &format!("/api/appointments/{id}/assign-doctor/"),
        &assign_body(clinic.doctors[0], in_days(3), 30),
        Some(&clinic.token),
    )
    .await;
    let completed = status("COMPLETED", &clinic.token).await;
    let reopen = status("CONFIRMED", &clinic.token).await;
    let cancel_done = app.post(&format!("/api/appointments/{id}/cancel/"), &json!({}), Some(&patient)).await;
    let bad = status("LOST", &clinic.token).await;

    assert_eq!(refusal(premature).await, (StatusCode::CONFLICT, "invalid_transition".into()));
    assert_eq!(refusal(unassigned_confirm).await, (StatusCode::CONFLICT, "doctor_not_assigned".into()));
    assert_eq!(patient_completes.status(), StatusCode::FORBIDDEN);
    assert_eq!(completed.status(), StatusCode::OK);
    assert_eq!(json_body(completed).await["appointment"]["notes"], "n");
    assert_eq!(refusal(reopen).await, (StatusCode::CONFLICT, "invalid_transition".into()));
    assert_eq!(refusal(cancel_done).await, (StatusCode::CONFLICT, "invalid_transition".into()));
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn a_patient_cancels_their_own_and_the_freed_slot_can_be_booked_again(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let zainab = app.patient("zainab").await.token;
    let omar = app.patient("omar").await.token;
    let first = book(&app, &zainab, &clinic).await;
    let second = book(&app, &omar, &clinic).await;
    let at = in_days(4);
    let assign = |id: i64| {
        app.post(
            &format!("/api/appointments/{id}/assign-doctor/"),
            &assign_body(clinic.doctors[0], at, 30),
            Some(&clinic.token),
        )
    };

    assert_eq!(assign(first).await.status(), StatusCode::OK);
    let taken = assign(second).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let taken = json_body(taken).await;
    assert!(taken["detail"].as_str().expect("detail").contains("doctor"));
    assert_eq!(taken["code"], "doctor_slot_taken");
    let cancelled =
        app.post(&format!("/api/appointments/{first}/cancel/"), &json!({ "notes": "travelling" }), Some(&zainab)).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert_eq!(assign(second).await.status(), StatusCode::OK, "the cancelled slot is free again");
    let sms: Vec<String> =
        sqlx::query_scalar("select purpose from sms_messages where purpose like 'appointment%' order by id")
            .fetch_all(&db)
            .await
            .expect("sms");
    assert_eq!(sms, ["appointment_confirmation", "appointment_cancellation", "appointment_confirmation"]);
}

#[sqlx::test]
async fn the_assigned_doctor_lists_and_completes_their_appointments(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    let created: Vec<(String,)> = sqlx::query_as("select username from users where user_type = 'DOCTOR' order by id")
        .fetch_all(&db)
        .await
        .expect("doctors");
    // The first doctor's account, as if its generated password had been changed to PASSWORD.
    sqlx::query("update users set must_change_password = false, password_hash = (select password_hash from users where username = 'zainab') where username = $1")
        .bind(&created[0].0)
        .execute(&db)
        .await
        .expect("reset");
    let doctor = app.login(&TestUser { id: 0, username: created[0].0.clone(), password: PASSWORD.into() }).await.access;
    app.post(
        &format!("/api/appointments/{id}/assign-doctor/"),
        &assign_body(clinic.doctors[0], in_days(3), 30),
        Some(&clinic.token),
    )
    .await;

    let list = json_body(app.get("/api/appointments/doctor-appointments/", Some(&doctor)).await).await;
    let cancel = app.post(&format!("/api/appointments/{id}/cancel/"), &json!({}), Some(&doctor)).await;
    let complete =
        app.patch(&format!("/api/appointments/{id}/status/"), &json!({ "status": "COMPLETED" }), Some(&doctor)).await;

    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["patient_email"], "patient@example.com");
    assert_eq!(cancel.status(), StatusCode::FORBIDDEN);
    assert_eq!(complete.status(), StatusCode::OK);
}

async fn race(
    app: &TestApp,
    addresses: &[String],
    clinic: &Clinic,
    ids: &[i64],
    times: &[DateTime<Utc>],
) -> Vec<StatusCode> {
    let requests = ids.iter().enumerate().map(|(n, id)| {
        let url = format!("{}/api/appointments/{id}/assign-doctor/", addresses[n % addresses.len()]);
        app.client
            .post(url)
            .bearer_auth(&clinic.token)
            .json(&assign_body(clinic.doctors[0], times[n % times.len()], 30))
            .send()
    });
    futures::future::join_all(requests).await.into_iter().map(|r| r.expect("sent").status()).collect()
}

async fn twenty_bookings(app: &TestApp, clinic: &Clinic, tag: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 0..20 {
        let patient = app.user(UserType::Patient, &format!("racer{tag}{n}")).await;
        let token = app.login(&patient).await.access;
        ids.push(book(app, &token, clinic).await);
    }
    ids
}

#[sqlx::test]
async fn twenty_concurrent_assignments_of_one_doctor_to_one_time_confirm_exactly_one(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let ids = twenty_bookings(&app, &clinic, "").await;

    let statuses = race(&app, std::slice::from_ref(&app.address), &clinic, &ids, &[in_days(5)]).await;

    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 19, "{statuses:?}");
    let confirmed: i64 = sqlx::query_scalar("select count(*) from appointments where status = 'CONFIRMED'")
        .fetch_one(&db)
        .await
        .expect("n");
    assert_eq!(confirmed, 1);
}

/// Two `carehub serve` processes on the test's database; their base URLs. Killed on drop.
struct Servers(Vec<std::process::Child>, Vec<String>);

impl Drop for Servers {
    fn drop(&mut self) {
        for server in &mut self.0 {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

async fn two_servers(app: &TestApp, db: &PgPool) -> Servers {
    let mut servers = Servers(Vec::new(), Vec::new());
    for _ in 0..2 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        servers.0.push(
            std::process::Command::new(env!("CARGO_BIN_EXE_carehub"))
                .arg("serve")
                .env("CAREHUB_ENV", "test")
                .env("DATABASE_URL", database_url(db))
                .env("PORT", port.to_string())
                .env("RUST_LOG", "error")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("carehub serve"),
        );
        servers.1.push(format!("http://127.0.0.1:{port}"));
    }
    for address in &servers.1 {
        let mut up = false;
        for _ in 0..100 {
            if app.client.get(format!("{address}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "{address} never came up");
    }
    servers
}

#[sqlx::test]
async fn two_serve_processes_racing_identical_and_overlapping_slots_confirm_exactly_one(db: PgPool) {
    let (app, _, mut clinic) = setup(&db).await;
    let identical = twenty_bookings(&app, &clinic, "a").await;
    let overlapping = twenty_bookings(&app, &clinic, "b").await;
    let servers = two_servers(&app, &db).await;
    let base = in_days(6);

    // Identical: 20 assignments of doctor 0 at the same time, half to each process.
    let same = race(&app, &servers.1, &clinic, &identical, &[base]).await;
    // Overlapping, not identical: doctor 1, starts 0, 10 and 20 minutes apart, 30-minute slots.
    clinic.doctors.swap(0, 1);
    let times: Vec<DateTime<Utc>> = (0..3).map(|n| base + chrono::Duration::minutes(10 * n)).collect();
    let shifted = race(&app, &servers.1, &clinic, &overlapping, &times).await;
    drop(servers);

    for statuses in [&same, &shifted] {
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 19, "no 500s: {statuses:?}");
    }
    let per_doctor: Vec<i64> = sqlx::query_scalar(
        "select count(*) from appointments where status = 'CONFIRMED' group by doctor_id order by doctor_id",
    )
    .fetch_all(&db)
    .await
    .expect("counts");
    assert_eq!(per_doctor, [1, 1]);
}

#[sqlx::test]
async fn an_assignment_racing_a_cancellation_in_another_process_is_decided_on_what_the_appointment_became(db: PgPool) {
    const PAIRS: i64 = 40;
    let (app, _, clinic) = setup(&db).await;
    let mut booked = Vec::new();
    for n in 0..PAIRS {
        let patient = app.patient(&format!("canceller{n}")).await.token;
        booked.push((book(&app, &patient, &clinic).await, patient));
    }
    let servers = two_servers(&app, &db).await;
    let base = in_days(7);

    // Each appointment: the hospital assigns it through one process while its patient cancels it
    // through the other; distinct slots, so only the race decides.
    let pairs = booked.iter().enumerate().map(|(n, (id, patient))| {
        let assign = app
            .client
            .post(format!("{}/api/appointments/{id}/assign-doctor/", servers.1[n % 2]))
            .bearer_auth(&clinic.token)
            .json(&assign_body(clinic.doctors[n % 2], base + chrono::Duration::hours(n as i64), 30))
            .send();
        let cancel = app
            .client
            .post(format!("{}/api/appointments/{id}/cancel/", servers.1[(n + 1) % 2]))
            .bearer_auth(patient)
            .json(&json!({ "notes": "changed my mind" }))
            .send();
        async move {
            let (assigned, cancelled) = futures::join!(assign, cancel);
            (assigned.expect("sent").status(), cancelled.expect("sent").status())
        }
    });
    let outcomes = futures::future::join_all(pairs).await;
    drop(servers);

    let mut confirmations = 0;
    for ((id, _), (assigned, cancelled)) in booked.iter().zip(&outcomes) {
        assert_eq!(*cancelled, StatusCode::OK, "a patient may always cancel: {outcomes:?}");
        assert!(matches!(*assigned, StatusCode::OK | StatusCode::CONFLICT), "no 500s: {outcomes:?}");
        let status: String = sqlx::query_scalar("select status from appointments where id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .expect("status");
        assert_eq!(status, "CANCELLED", "an assignment decided on a stale read never undoes the cancellation");
        // The audit rows tell one consistent story: each change starts where the last one ended.
        let moves: Vec<(String, String)> = sqlx::query_as(
            "select details->>'from', details->>'to' from audit_log \
             where target_type = 'appointment' and target_id = $1::text \
               and action in ('appointment_assigned', 'appointment_status_changed') order by id",
        )
        .bind(id)
        .fetch_all(&db)
        .await
        .expect("moves");
        let expected: &[(&str, &str)] = if *assigned == StatusCode::OK {
            confirmations += 1;
            &[("REQUESTED", "CONFIRMED"), ("CONFIRMED", "CANCELLED")]
        } else {
            &[("REQUESTED", "CANCELLED")]
        };
        let moves: Vec<(&str, &str)> = moves.iter().map(|(from, to)| (from.as_str(), to.as_str())).collect();
        assert_eq!(moves, expected, "appointment {id}: {outcomes:?}");
    }
    let sms: Vec<(String, i64)> = sqlx::query_as(
        "select purpose, count(*) from sms_messages where purpose like 'appointment%' group by 1 order by 1",
    )
    .fetch_all(&db)
    .await
    .expect("sms");
    let mut expected = vec![("appointment_cancellation".to_owned(), PAIRS)];
    if confirmations > 0 {
        expected.push(("appointment_confirmation".to_owned(), confirmations));
    }
    assert_eq!(sms, expected, "one SMS per change that happened, none for a refused one");
    let jobs: i64 = sqlx::query_scalar(
        "select count(*) from outbox o join sms_messages m on m.id = (o.payload->>'message_id')::bigint \
         where o.job_type = 'SendSms' and m.purpose like 'appointment%'",
    )
    .fetch_one(&db)
    .await
    .expect("jobs");
    assert_eq!(jobs, PAIRS + confirmations, "each SMS has its job");
}

#[sqlx::test]
async fn dashboard_stats_count_appointments(db: PgPool) {
    let (app, admin, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    book(&app, &patient, &clinic).await;
    app.post(
        &format!("/api/appointments/{id}/assign-doctor/"),
        &assign_body(clinic.doctors[0], in_days(3), 30),
        Some(&clinic.token),
    )
    .await;

    let stats = json_body(app.get("/api/accounts/dashboard-stats/", Some(&admin)).await).await;

    assert_eq!((stats["total_appointments"].as_i64(), stats["pending_appointments"].as_i64()), (Some(2), Some(1)));
}

/// Runs two reminder sweeps through the real workers and waits until both ran.
async fn run_two_reminder_sweeps(db: &PgPool) {
    use carehub::appointments::jobs::ReminderSweep;
    use carehub_workers::jobs::Job as _;
    let namespace = format!("test-{}:", uuid::Uuid::new_v4().simple());
    let app_settings = carehub::config::Settings::for_tests().expect("settings");
    let mut settings = app_settings.worker_settings().expect("workers");
    settings.namespace = namespace.clone();
    settings.poll_interval = Duration::from_millis(50);
    let shutdown = tokio_util::sync::CancellationToken::new();
    // The registry the binary runs: the sweep is the appointments context's handler.
    let registry = carehub::jobs::registry(&app_settings, &app_settings.sms_provider().expect("sms"));
    let workers = tokio::spawn(carehub_workers::run_workers(db.clone(), settings, registry, shutdown.clone()));
    for minute in 0..2 {
        let tick = Utc::now() + chrono::Duration::minutes(minute);
        let job = ReminderSweep { tick: tick.to_rfc3339() };
        carehub_workers::outbox::enqueue_tick(db, "reminder-sweep", tick, &job).await.expect("tick");
    }
    let mut conn =
        redis::Client::open(redis_url()).expect("client").get_multiplexed_async_connection().await.expect("redis");
    let mut done: u64 = 0;
    for _ in 0..200 {
        done = redis::cmd("SCARD")
            .arg(format!("{}:done", ReminderSweep::QUEUE.key(&namespace)))
            .query_async(&mut conn)
            .await
            .expect("scard");
        if done == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    workers.await.expect("join").expect("workers ran");
    assert_eq!(done, 2, "both sweeps ran to completion (a second sweep must not remind again)");
}

#[sqlx::test]
async fn a_reminder_goes_out_once_per_slot_and_never_for_a_cancelled_appointment(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let zainab = app.patient("zainab").await.token;
    let omar = app.patient("omar").await.token;
    let kept = book(&app, &zainab, &clinic).await;
    let cancelled = book(&app, &omar, &clinic).await;
    let soon = Utc::now() + chrono::Duration::hours(3);
    for (id, doctor) in [(kept, clinic.doctors[0]), (cancelled, clinic.doctors[1])] {
        let response = app
            .post(
                &format!("/api/appointments/{id}/assign-doctor/"),
                &assign_body(doctor, soon, 30),
                Some(&clinic.token),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    app.post(&format!("/api/appointments/{cancelled}/cancel/"), &json!({}), Some(&omar)).await;

    run_two_reminder_sweeps(&db).await;

    let reminders: Vec<(String, String)> =
        sqlx::query_as("select to_number, body from sms_messages where purpose = 'appointment_reminder'")
            .fetch_all(&db)
            .await
            .expect("rows");
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert!(reminders[0].1.contains("Jinnah Hospital"));
    let reminded: Vec<i64> =
        sqlx::query_scalar("select appointment_id from appointment_reminders").fetch_all(&db).await.expect("rows");
    assert_eq!(reminded, [kept], "the kept appointment's, not the cancelled one's");
}

async fn counts(db: &PgPool) -> (i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from audit_log), (select count(*) from outbox), (select count(*) from sms_messages)",
    )
    .fetch_one(db)
    .await
    .expect("counts")
}

#[sqlx::test]
async fn setting_the_status_an_appointment_already_has_is_a_200_that_changes_nothing(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    let assigned = app
        .post(
            &format!("/api/appointments/{id}/assign-doctor/"),
            &assign_body(clinic.doctors[0], in_days(3), 30),
            Some(&clinic.token),
        )
        .await;
    let before = json_body(assigned).await["appointment"].clone();
    let counted = counts(&db).await;

    // What the existing frontend sends after every assignment.
    let confirm = app
        .patch(&format!("/api/appointments/{id}/status/"), &json!({ "status": "CONFIRMED" }), Some(&clinic.token))
        .await;

    assert_eq!(confirm.status(), StatusCode::OK);
    let after = json_body(confirm).await["appointment"].clone();
    assert_eq!(after, before, "nothing changed, updated_at included");
    assert_eq!(counts(&db).await, counted, "no audit row, no outbox row, no SMS");
    assert!(app.audit_rows("appointment_status_changed").await.is_empty());

    // The same for a patient cancelling twice; the real move is made once.
    let cancel = || app.post(&format!("/api/appointments/{id}/cancel/"), &json!({}), Some(&patient));
    assert_eq!(cancel().await.status(), StatusCode::OK);
    let counted = counts(&db).await;
    assert_eq!(cancel().await.status(), StatusCode::OK);
    assert_eq!(counts(&db).await, counted);
    assert_eq!(app.audit_rows("appointment_status_changed").await.len(), 1);
    let reopen = app
        .patch(&format!("/api/appointments/{id}/status/"), &json!({ "status": "CONFIRMED" }), Some(&clinic.token))
        .await;
    assert_eq!(reopen.status(), StatusCode::CONFLICT, "real moves keep their rules");
}

#[sqlx::test]
async fn confirming_rechecks_that_the_assigned_doctor_is_still_active(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    let doctor_path = format!("/api/hospitals/doctors/{}/", clinic.doctors[0]);
    let confirm = || {
        app.patch(&format!("/api/appointments/{id}/status/"), &json!({ "status": "CONFIRMED" }), Some(&clinic.token))
    };
    // Assigned without a time: still REQUESTED, to be confirmed later.
    let assigned = app
        .post(
            &format!("/api/appointments/{id}/assign-doctor/"),
            &json!({ "doctor_id": clinic.doctors[0] }),
            Some(&clinic.token),
        )
        .await;
    assert_eq!(json_body(assigned).await["appointment"]["status"], "REQUESTED");
    let off = app.patch(&doctor_path, &json!({ "is_active": false }), Some(&clinic.token)).await;
    assert_eq!(off.status(), StatusCode::OK);

    let refused = confirm().await;

    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let refused = json_body(refused).await;
    assert!(refused["detail"].as_str().expect("detail").contains("no longer active"));
    assert_eq!(refused["code"], "doctor_inactive");
    let status: String =
        sqlx::query_scalar("select status from appointments where id = $1").bind(id).fetch_one(&db).await.expect("row");
    assert_eq!(status, "REQUESTED");
    let confirmations: i64 =
        sqlx::query_scalar("select count(*) from sms_messages where purpose = 'appointment_confirmation'")
            .fetch_one(&db)
            .await
            .expect("count");
    assert_eq!(confirmations, 0);

    app.patch(&doctor_path, &json!({ "is_active": true }), Some(&clinic.token)).await;
    let confirmed = confirm().await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(json_body(confirmed).await["appointment"]["status"], "CONFIRMED");
}

/// The doctor check rides in the assignment's own statement: another hospital's doctor and a
/// deactivated one are a 400 on `doctor_id` that changes nothing (no row change, no audit row,
/// no SMS); with a bad time as well, both fields are named.
#[sqlx::test]
async fn assigning_an_inactive_or_another_hospitals_doctor_is_refused_and_changes_nothing(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let other = self::clinic(&app, "civil").await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    let path = format!("/api/appointments/{id}/assign-doctor/");
    let off = app
        .patch(
            &format!("/api/hospitals/doctors/{}/", clinic.doctors[1]),
            &json!({ "is_active": false }),
            Some(&clinic.token),
        )
        .await;
    assert_eq!(off.status(), StatusCode::OK);

    for doctor in [other.doctors[0], clinic.doctors[1], i64::MAX] {
        let refused = app.post(&path, &assign_body(doctor, in_days(3), 30), Some(&clinic.token)).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "doctor {doctor}");
        let body = json_body(refused).await;
        assert!(body.to_string().contains("No active doctor with this id at this hospital."), "{body}");
    }
    let both = app
        .post(&path, &assign_body(clinic.doctors[1], Utc::now() - chrono::Duration::hours(1), 30), Some(&clinic.token))
        .await;
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    let both = json_body(both).await.to_string();
    assert!(both.contains("doctor_id") && both.contains("confirmed_time"), "{both}");

    let (status, doctor): (String, Option<i64>) =
        sqlx::query_as("select status, doctor_id from appointments where id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .expect("row");
    assert_eq!((status.as_str(), doctor), ("REQUESTED", None));
    assert!(app.audit_rows("appointment_assigned").await.is_empty());
    let sms: i64 = sqlx::query_scalar("select count(*) from sms_messages where purpose = 'appointment_confirmation'")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(sms, 0);
    let assigned = app.post(&path, &assign_body(clinic.doctors[0], in_days(3), 30), Some(&clinic.token)).await;
    assert_eq!(assigned.status(), StatusCode::OK);
}

#[sqlx::test]
async fn a_patient_cancelling_gives_a_reason_and_never_overwrites_the_hospitals_notes(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let first = book(&app, &patient, &clinic).await;
    let second = book(&app, &patient, &clinic).await;
    for (id, doctor, days) in [(first, clinic.doctors[0], 3), (second, clinic.doctors[1], 4)] {
        let body = json!({ "doctor_id": doctor, "confirmed_time": in_days(days), "notes": "Bring the ECG" });
        let response = app.post(&format!("/api/appointments/{id}/assign-doctor/"), &body, Some(&clinic.token)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    let cancelled = app
        .post(&format!("/api/appointments/{first}/cancel/"), &json!({ "notes": "travelling" }), Some(&patient))
        .await;
    let by_status = app
        .patch(
            &format!("/api/appointments/{second}/status/"),
            &json!({ "status": "CANCELLED", "notes": "ignored", "cancellation_reason": "feeling better" }),
            Some(&patient),
        )
        .await;

    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled = json_body(cancelled).await;
    assert_eq!(cancelled["appointment"]["notes"], "Bring the ECG");
    assert_eq!(cancelled["appointment"]["cancellation_reason"], "travelling");
    assert_eq!(by_status.status(), StatusCode::OK);
    let stored: Vec<(String, String)> =
        sqlx::query_as("select notes, cancellation_reason from appointments where id = any($1) order by id")
            .bind(vec![first, second])
            .fetch_all(&db)
            .await
            .expect("rows");
    let expected = [("Bring the ECG", "travelling"), ("Bring the ECG", "feeling better")];
    assert_eq!(stored, expected.map(|(notes, reason)| (String::from(notes), String::from(reason))));
    let detail = json_body(app.get(&format!("/api/appointments/{second}/"), Some(&clinic.token)).await).await;
    assert_eq!(detail["cancellation_reason"], "feeling better", "the hospital reads the reason");
}

#[sqlx::test]
async fn a_patient_is_never_confirmed_twice_at_once_even_with_two_doctors(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let first = book(&app, &patient, &clinic).await;
    let second = book(&app, &patient, &clinic).await;
    let at = in_days(5);
    let assign = |id: i64, doctor: i64| {
        app.post(&format!("/api/appointments/{id}/assign-doctor/"), &assign_body(doctor, at, 30), Some(&clinic.token))
    };

    assert_eq!(assign(first, clinic.doctors[0]).await.status(), StatusCode::OK);
    let clash = json_body(assign(second, clinic.doctors[1]).await).await;

    assert_eq!(clash["code"], "patient_slot_taken");
    assert_eq!(clash["detail"], "The patient already has a confirmed appointment overlapping this time.");
}

#[sqlx::test]
async fn only_a_requested_appointment_is_assigned_a_doctor(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    app.post(&format!("/api/appointments/{id}/cancel/"), &json!({}), Some(&patient)).await;

    let late = app
        .post(
            &format!("/api/appointments/{id}/assign-doctor/"),
            &assign_body(clinic.doctors[0], in_days(3), 30),
            Some(&clinic.token),
        )
        .await;

    assert_eq!(refusal(late).await, (StatusCode::CONFLICT, "invalid_transition".into()));
}

#[sqlx::test]
async fn confirming_a_request_whose_time_has_passed_is_refused(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    let id = book(&app, &patient, &clinic).await;
    let assigned = app
        .post(
            &format!("/api/appointments/{id}/assign-doctor/"),
            &json!({ "doctor_id": clinic.doctors[0] }),
            Some(&clinic.token),
        )
        .await;
    assert_eq!(assigned.status(), StatusCode::OK);
    sqlx::query("update appointments set requested_time = now() - interval '1 hour' where id = $1")
        .bind(id)
        .execute(&db)
        .await
        .expect("backdate");

    let confirm = app
        .patch(&format!("/api/appointments/{id}/status/"), &json!({ "status": "CONFIRMED" }), Some(&clinic.token))
        .await;

    assert_eq!(refusal(confirm).await, (StatusCode::CONFLICT, "requested_time_passed".into()));
}

#[sqlx::test]
async fn a_department_with_appointments_cannot_be_deleted(db: PgPool) {
    let (app, _, clinic) = setup(&db).await;
    let patient = app.patient("zainab").await.token;
    book(&app, &patient, &clinic).await;
    let path = format!("/api/hospitals/departments/{}/", clinic.department);

    let refused = app.send_json(reqwest::Method::DELETE, &path, &json!({}), Some(&clinic.token)).await;

    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body = json_body(refused).await;
    assert_eq!(body["code"], "department_in_use");
    assert_eq!(
        body["detail"],
        "This department has appointments and cannot be deleted; set is_active to false instead."
    );
    assert_eq!(app.get(&path, Some(&clinic.token)).await.status(), StatusCode::OK, "still there");
}
