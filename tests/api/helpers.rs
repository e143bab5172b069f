//! `TestApp`: the real application on port 0, in its own thread under an actix System (actors
//! need one; `#[sqlx::test]` runs on plain tokio), against the test's own database.

use std::{net::TcpListener, sync::Arc, thread::JoinHandle};

use actix_web::dev::ServerHandle;
use carehub::{
    accounts::{
        model::{Password, UserType},
        password::PasswordHasher,
        repo::{self, NewUser},
    },
    audit::{self, AuditKey, ChainHead},
    config::Settings,
    startup::{self, Application},
    telemetry,
};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{PgPool, postgres::PgConnectOptions};

/// A password that passes the rules, for accounts tests create.
pub const PASSWORD: &str = "Tidal-Marsh-Lantern-42";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: PgPool,
    /// The one admin of the app, made by the first `admin()`.
    admin: tokio::sync::OnceCell<TestAdmin>,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

/// An account a test made, with its credentials.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub password: String,
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// The admin account, logged in.
#[derive(Debug, Clone)]
pub struct TestAdmin {
    pub user: TestUser,
    pub token: String,
}

/// Tests written before the builders log the admin in again: `app.login(&admin)`.
impl std::ops::Deref for TestAdmin {
    type Target = TestUser;

    fn deref(&self) -> &TestUser {
        &self.user
    }
}

/// A patient registered through the API, logged in.
#[derive(Debug, Clone)]
pub struct TestPatient {
    pub user: TestUser,
    pub token: String,
}

/// A hospital registered through the API, approved by the admin, its account logged in.
#[derive(Debug, Clone)]
pub struct TestHospital {
    pub id: i64,
    pub user: TestUser,
    pub token: String,
}

/// A doctor created by its hospital through the API: the profile's id, the generated
/// credentials, and the session they opened.
#[derive(Debug, Clone)]
pub struct TestDoctor {
    pub id: i64,
    pub user: TestUser,
    pub token: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn spawn(db: &PgPool) -> Self {
        Self::spawn_with(db, |_| {}).await
    }

    /// Spawns the app with changed settings (throttle budgets, a dead Redis, ...).
    pub async fn spawn_with(db: &PgPool, tweak: impl FnOnce(&mut Settings)) -> Self {
        let options = db.connect_options().as_ref().clone();
        Self::spawn_on(db, options, tweak).await
    }

    /// Spawns the app with its pool on `options` (a dead database, for readiness tests).
    pub async fn spawn_on(db: &PgPool, options: PgConnectOptions, tweak: impl FnOnce(&mut Settings)) -> Self {
        telemetry::init_for_tests();
        let mut settings = Settings::for_tests().expect("test settings");
        settings.http.workers = 2;
        settings.http.shutdown_timeout_seconds = 1;
        // Queues of its own, so tests never see each other's (or a developer's) jobs.
        settings.jobs.namespace = format!("test-{}:", uuid::Uuid::new_v4().simple());
        tweak(&mut settings);
        let settings = Arc::new(settings);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let pool = startup::pool_options(&settings).connect_lazy_with(options);
                let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
                let app = Application::with_listener(settings, pool.clone(), listener).expect("build app");
                ready_tx.send((app.port(), app.handle())).expect("report port");
                app.run_until_stopped().await.expect("server ran");
                pool.close().await;
            });
        });
        let (port, handle) = ready_rx.recv().expect("app started");
        Self {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client"),
            db: db.clone(),
            admin: tokio::sync::OnceCell::new(),
            handle,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    // The request helpers build the request before returning, so their futures borrow nothing
    // and can be collected and run concurrently.
    pub fn get(&self, path: &str, token: Option<&str>) -> impl Future<Output = Response> + use<> {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.expect("request sent") }
    }

    pub fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> impl Future<Output = Response> + use<> {
        let mut request = self.client.request(method, self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.expect("request sent") }
    }

    pub fn post(&self, path: &str, body: &Value, token: Option<&str>) -> impl Future<Output = Response> + use<> {
        self.send_json(reqwest::Method::POST, path, body, token)
    }

    pub fn patch(&self, path: &str, body: &Value, token: Option<&str>) -> impl Future<Output = Response> + use<> {
        self.send_json(reqwest::Method::PATCH, path, body, token)
    }

    pub fn put(&self, path: &str, body: &Value, token: Option<&str>) -> impl Future<Output = Response> + use<> {
        self.send_json(reqwest::Method::PUT, path, body, token)
    }

    /// Inserts an account directly (as the hospitals context or the CLI would).
    pub async fn user(&self, user_type: UserType, username: &str) -> TestUser {
        self.user_with(user_type, username, true, false).await
    }

    pub async fn user_with(&self, user_type: UserType, username: &str, active: bool, must_change: bool) -> TestUser {
        let hash = PasswordHasher::new().expect("hasher").hash(&Password::unchecked(PASSWORD)).await.expect("hash");
        let user = repo::insert_user(
            &self.db,
            &NewUser {
                username,
                email: "someone@example.com",
                first_name: "Test",
                last_name: user_type.as_str(),
                phone_number: None,
                user_type,
                password_hash: &hash,
                is_active: active,
                must_change_password: must_change,
                is_demo: false,
            },
        )
        .await
        .expect("insert user");
        TestUser { id: user.id.get(), username: username.to_owned(), password: PASSWORD.to_owned() }
    }

    /// The app's admin (inserted, as the CLI would, then logged in through the API); the same
    /// one on every call.
    pub async fn admin(&self) -> TestAdmin {
        let admin = self.admin.get_or_init(|| async {
            let user = self.user(UserType::Admin, "admin").await;
            let token = self.login(&user).await.access;
            TestAdmin { user, token }
        });
        admin.await.clone()
    }

    /// A patient registered and logged in through the API.
    pub async fn patient(&self, username: &str) -> TestPatient {
        let user = self.register_patient(username).await;
        let token = self.login(&user).await.access;
        TestPatient { user, token }
    }

    /// Registers a hospital through the API: its id and account, awaiting approval.
    pub async fn register_hospital(&self, body: &Value) -> (i64, TestUser) {
        let response = self.post("/api/hospitals/register/", body, None).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
        let id = json_body(response).await["id"].as_i64().expect("hospital id");
        let username = body["username"].as_str().expect("username").to_owned();
        (id, TestUser { id: 0, username, password: PASSWORD.to_owned() })
    }

    /// A hospital registered from `hospital_registration(tag)`, approved by the admin, logged in.
    pub async fn approved_hospital(&self, tag: &str) -> TestHospital {
        let (id, user) = self.register_hospital(&hospital_registration(tag)).await;
        let admin = self.admin().await;
        let approval = json!({ "is_approved": true });
        let approved = self.patch(&format!("/api/hospitals/{id}/approve/"), &approval, Some(&admin.token)).await;
        assert_eq!(approved.status(), StatusCode::OK, "{:?}", approved.text().await);
        let token = self.login(&user).await.access;
        TestHospital { id, user, token }
    }

    /// A department the hospital creates; its id.
    pub async fn department_at(&self, hospital: &TestHospital, name: &str) -> i64 {
        let response = self.post("/api/hospitals/departments/", &json!({ "name": name }), Some(&hospital.token)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
        json_body(response).await["id"].as_i64().expect("department id")
    }

    /// The hospital creates Dr Ali Mehmood through the API; the response, with the generated
    /// credentials.
    pub async fn create_doctor(&self, hospital: &TestHospital) -> Value {
        let body = doctor_body("Ali", "Mehmood");
        let response = self.post("/api/hospitals/doctors/create/", &body, Some(&hospital.token)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
        json_body(response).await
    }

    /// Dr Ali Mehmood, created by the hospital, logged in with the generated password.
    pub async fn doctor_at(&self, hospital: &TestHospital) -> TestDoctor {
        let created = self.create_doctor(hospital).await;
        let user = TestUser {
            id: created["doctor"]["user"].as_i64().expect("user id"),
            username: created["username"].as_str().expect("username").to_owned(),
            password: created["password"].as_str().expect("password").to_owned(),
        };
        let tokens = self.login(&user).await;
        let id = created["doctor"]["id"].as_i64().expect("doctor id");
        TestDoctor { id, user, token: tokens.access, refresh: tokens.refresh }
    }

    /// A doctor of `hospital` who has changed the generated password (as the API requires before
    /// any other call), logged in again with the new one.
    pub async fn working_doctor_at(&self, hospital: &TestHospital) -> TestDoctor {
        let doctor = self.doctor_at(hospital).await;
        let body = json!({
            "old_password": doctor.user.password,
            "new_password": PASSWORD,
            "new_password_confirm": PASSWORD,
        });
        let changed = self.post("/api/accounts/change-password/", &body, Some(&doctor.token)).await;
        assert_eq!(changed.status(), StatusCode::OK, "{:?}", changed.text().await);
        let user = TestUser { password: PASSWORD.to_owned(), ..doctor.user };
        let tokens = self.login(&user).await;
        TestDoctor { id: doctor.id, user, token: tokens.access, refresh: tokens.refresh }
    }

    /// Gives `doctor` (a doctor profile id) access to `patient`'s records for `minutes` (negative:
    /// a grant that has already expired), as a verified one-time code would, straight in the
    /// database, held by the doctor's latest live login (the token the test holds); the grant's id.
    pub async fn grant(&self, doctor: i64, patient: i64, minutes: i64) -> i64 {
        grant(&self.db, doctor, patient, minutes).await
    }

    /// Registers a patient through the API.
    pub async fn register_patient(&self, username: &str) -> TestUser {
        let response = self.post("/api/accounts/patients/register/", &registration(username), None).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
        let body: Value = response.json().await.expect("json");
        TestUser { id: body["id"].as_i64().expect("id"), username: username.to_owned(), password: PASSWORD.to_owned() }
    }

    pub fn login_response(&self, username: &str, password: &str) -> impl Future<Output = Response> + use<> {
        self.post("/api/token/", &json!({ "username": username, "password": password }), None)
    }

    pub async fn login(&self, user: &TestUser) -> Tokens {
        let response = self.login_response(&user.username, &user.password).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {}", user.username);
        let body: Value = response.json().await.expect("json");
        Tokens {
            access: body["access"].as_str().expect("access").to_owned(),
            refresh: body["refresh"].as_str().expect("refresh").to_owned(),
        }
    }

    /// Audit rows with this action, oldest first: (actor_id, target_id, ip, user_agent, request_id).
    pub async fn audit_rows(&self, action: &str) -> Vec<AuditRow> {
        sqlx::query_as(
            "select actor_id, target_id, ip, user_agent, request_id, details from audit_log where action = $1 order by id",
        )
        .bind(action)
        .fetch_all(&self.db)
        .await
        .expect("audit rows")
    }

    /// Seals every committed audit row, as the worker process's sealer would; the new head.
    pub async fn seal_audit(&self) -> Option<ChainHead> {
        audit::seal_pending(&self.db, &audit_key()).await.expect("audit rows sealed")
    }

    pub async fn user_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from users").fetch_one(&self.db).await.expect("count")
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub actor_id: Option<i64>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: Value,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command at once; the server thread then closes its pool and ends.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The audit chain's key in tests (the development value, as the `carehub` binary sees it too).
pub fn audit_key() -> AuditKey {
    Settings::for_tests().expect("test settings").sealing_key().expect("the test settings hold AUDIT_KEY")
}

/// The URL of the test's own database, for the `carehub` binary run as a child process.
pub fn database_url(db: &PgPool) -> String {
    let options = db.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().expect("database name")
    )
}

/// A valid registration body.
pub fn registration(username: &str) -> Value {
    json!({
        "username": username,
        "email": "patient@example.com",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "first_name": "Zainab",
        "last_name": "Ali",
        "phone_number": "0300 7654321",
        "consent": true,
    })
}

/// A valid hospital registration body: account `tag`, hospital "Tag Hospital", license `LIC-tag`.
pub fn hospital_registration(tag: &str) -> Value {
    let mut name: String = tag.chars().take(1).flat_map(char::to_uppercase).collect();
    name.push_str(&tag[name.len()..]);
    json!({
        "username": tag,
        "email": format!("{tag}@example.com"),
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "first_name": "Sana",
        "last_name": "Iqbal",
        "phone_number": "+923001112233",
        "hospital_name": format!("{name} Hospital"),
        "license_number": format!("LIC-{tag}"),
        "hospital_email": "desk@example.com",
        "hospital_phone": "021 3456 7890",
        "address": "1 Main Road",
        "location": "Karachi",
        "latitude": "24.860700",
        "longitude": "67.001100",
    })
}

/// A valid body for a hospital creating a doctor.
pub fn doctor_body(first: &str, last: &str) -> Value {
    json!({
        "first_name": first,
        "last_name": last,
        "email": "doctor@example.com",
        "phone_number": "+923214567890",
        "license_number": "PMDC-1",
        "specialization": "Cardiology",
        "available_timings": { "Monday": ["09:00-13:00"] },
    })
}

/// The Redis the tests use: `REDIS_URL`, or the local default.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The body of a response as JSON.
/// Runs `statements` in one transaction with every trigger off (`session_replication_role =
/// replica`): a change no process is told of, as a cache's test needs to show that the cache is
/// real. (Test values only: the statements carry them inline.)
pub async fn unnotified(db: &PgPool, statements: impl IntoIterator<Item = String>) {
    let mut tx = db.begin().await.expect("tx");
    sqlx::query("set local session_replication_role = replica").execute(&mut *tx).await.expect("replica");
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement.clone())).execute(&mut *tx).await.expect(&statement);
    }
    tx.commit().await.expect("commit");
}

pub async fn json_body(response: Response) -> Value {
    response.json().await.expect("JSON body")
}

/// [`TestApp::grant`], for a test that holds only the database.
pub async fn grant(db: &PgPool, doctor: i64, patient: i64, minutes: i64) -> i64 {
    sqlx::query_scalar(
        "with code as ( \
             insert into otp_requests (patient_id, channel, status, delivery, created_at, expires_at, used_at, used_by) \
             values ($2, 'SHARE', 'USED', 'NONE', now() - interval '1 hour', now() + interval '1 minute', now(), $1) \
             returning id) \
         insert into access_grants (patient_id, doctor_id, hospital_id, otp_request_id, session_id, granted_at, expires_at) \
         select $2, $1, d.hospital_id, code.id, \
                (select f.id from refresh_token_families f where f.user_id = d.user_id and f.revoked_at is null \
                 order by f.created_at desc limit 1), \
                now() - interval '1 hour', now() + make_interval(mins => $3::int) \
         from code, doctor_profiles d where d.id = $1 \
         returning id",
    )
    .bind(doctor)
    .bind(patient)
    .bind(i32::try_from(minutes).expect("minutes"))
    .fetch_one(db)
    .await
    .expect("grant")
}
