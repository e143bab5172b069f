//! The HTTP conventions: DRF error shapes, trailing slashes, limits, headers, CORS.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{TestApp, json_body, registration};

#[sqlx::test]
async fn paths_work_with_and_without_the_trailing_slash(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let with = app.post("/api/accounts/patients/register/", &registration("zainab"), None).await;
    let without = app.post("/api/accounts/patients/register", &registration("omar"), None).await;

    assert_eq!(with.status(), StatusCode::CREATED);
    assert_eq!(without.status(), StatusCode::CREATED);
}

#[sqlx::test]
async fn unknown_paths_and_wrong_methods_answer_json(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let missing = app.get("/api/nothing-here/", None).await;
    let wrong_method = app.send_json(Method::DELETE, "/api/token/", &json!({}), None).await;

    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_body(missing).await["detail"], "Not found.");
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json_body(wrong_method).await["detail"], "Method \"DELETE\" not allowed.");
}

#[sqlx::test]
async fn malformed_oversized_and_foreign_bodies_are_refused_cleanly(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let send = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/api/accounts/patients/register/"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let malformed = send(b"{\"username\": ".to_vec(), "application/json").await.expect("sent");
    let wrong_type = send(br#"{"username": 42, "consent": true}"#.to_vec(), "application/json").await.expect("sent");
    let huge = send(vec![b' '; 200 * 1024], "application/json").await.expect("sent");
    let xml = send(b"<user/>".to_vec(), "application/xml").await.expect("sent");

    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(malformed).await["detail"].as_str().expect("detail").contains("JSON parse error"));
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(wrong_type).await["username"].is_array(), "the bad field is named");
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(xml.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.user_count().await, 0);
}

#[sqlx::test]
async fn responses_carry_security_headers_and_a_request_id(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let response = app.get("/api/accounts/me/", None).await;
    let bogus_id =
        app.client.get(app.url("/healthz")).header("x-request-id", "bad id with spaces").send().await.expect("sent");

    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["content-security-policy"].to_str().expect("ascii").contains("default-src 'none'"));
    assert_eq!(headers["x-request-id"].to_str().expect("ascii").len(), 36);
    let replaced = bogus_id.headers()["x-request-id"].to_str().expect("ascii");
    assert_ne!(replaced, "bad id with spaces");
}

#[sqlx::test]
async fn cors_preflights_from_the_frontend_are_answered_and_others_are_not(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/token/"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };

    let allowed = preflight("http://localhost:3000").await.expect("sent");
    let foreign = preflight("https://evil.example").await.expect("sent");

    assert!(allowed.status().is_success());
    assert_eq!(allowed.headers()["access-control-allow-origin"], "http://localhost:3000");
    let allowed_headers = allowed.headers()["access-control-allow-headers"].to_str().expect("ascii").to_lowercase();
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("content-type"));
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
}

/// Collects what `tracing` writes while the closure runs.
fn logs_of(work: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
    tracing::subscriber::with_default(subscriber, work);
    let bytes = buffer.0.lock().expect("buffer").clone();
    String::from_utf8(bytes).expect("utf-8 logs")
}

#[sqlx::test]
async fn database_error_details_never_reach_a_log_line(db: PgPool) {
    use actix_web::ResponseError as _;
    // A real constraint violation whose detail quotes the row ("Failing row contains (...)").
    let err = sqlx::query(
        "insert into users (username, user_type, password_hash, first_name, phone_number) \
         values ('zainab', 'PATIENT', 'x', 'Zainab Diabetic-Since-2019', '0300 patient phone')",
    )
    .execute(&db)
    .await
    .expect_err("the phone check refuses the row");
    let detail = err
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
        .and_then(|e| e.detail())
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("Diabetic-Since-2019"), "the database did quote the row: {detail}");
    let error = carehub::http::error::ApiError::from(err);

    let logs = logs_of(|| {
        let response = error.error_response();
        assert_eq!(response.status().as_u16(), 500);
        tracing::error!(debug = ?error, display = %error, "printed by someone else");
    });

    assert!(!logs.contains("Diabetic-Since-2019") && !logs.contains("patient phone"), "{logs}");
    assert!(!logs.contains("Failing row"), "{logs}");
    assert!(logs.contains("users_phone_number_check") && logs.contains("23514"), "constraint and SQLSTATE: {logs}");
}
