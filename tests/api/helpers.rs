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
        TestUser { id: user.id, username: username.to_owned(), password: PASSWORD.to_owned() }
    }

    pub async fn admin(&self) -> TestUser {
        self.user(UserType::Admin, "admin").await
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
    AuditKey::new(&Settings::for_tests().expect("test settings").audit_key)
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

/// The body of a response as JSON.
pub async fn json_body(response: Response) -> Value {
    response.json().await.expect("JSON body")
}
