//! Health, readiness, metrics, and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, json_body};

#[sqlx::test]
async fn healthz_and_readyz_answer_when_everything_is_up(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let health = app.get("/healthz", None).await;
    let ready = app.get("/readyz", None).await;

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::OK);
    let body = json_body(ready).await;
    assert_eq!((body["postgres"].as_str(), body["redis"].as_str()), (Some("ok"), Some("ok")));
}

#[sqlx::test]
async fn readyz_names_redis_when_redis_is_down(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| s.redis_url = "redis://127.0.0.1:1".to_owned().into()).await;

    let response = app.get("/readyz", None).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json_body(response).await;
    assert_eq!(body["redis"], "unavailable");
    assert_eq!(body["postgres"], "ok");
    assert!(body["detail"].as_str().expect("detail").contains("redis"));
}

#[sqlx::test]
async fn readyz_names_postgres_when_postgres_is_down(db: PgPool) {
    let dead = db.connect_options().as_ref().clone().port(1);
    let app = TestApp::spawn_on(&db, dead, |s| s.database.acquire_timeout_seconds = 1).await;

    let response = app.get("/readyz", None).await;
    let health = app.get("/healthz", None).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json_body(response).await;
    assert_eq!(body["postgres"], "unavailable");
    assert_eq!(body["redis"], "ok");
    assert_eq!(health.status(), StatusCode::OK, "alive even when not ready");
}

#[sqlx::test]
async fn with_postgres_out_of_reach_requests_fail_fast_with_503_and_retry_after_never_500(db: PgPool) {
    let dead = db.connect_options().as_ref().clone().port(1);
    let app = TestApp::spawn_on(&db, dead, |s| s.database.acquire_timeout_seconds = 1).await;

    let login = app.post("/api/token/", &serde_json::json!({ "username": "zainab", "password": "x" }), None);
    answered_unavailable("login", login).await;
    answered_unavailable("directory", app.get("/api/hospitals/", None)).await;
}

/// The request's answer is 503 `service_unavailable` with `Retry-After`, within 3 s.
async fn answered_unavailable(what: &str, request: impl Future<Output = reqwest::Response>) {
    let started = std::time::Instant::now();
    let response = request.await;
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"), "{what}");
    let body = json_body(response).await;
    assert_eq!(body["code"], "service_unavailable", "{what}: {body}");
    assert!(took < std::time::Duration::from_secs(3), "{what} answered in {took:?}, not hung");
}

#[sqlx::test]
async fn metrics_count_requests_by_route_template(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    app.get("/api/accounts/me/", None).await;
    app.get("/api/accounts/me", None).await;

    let response = app.get("/metrics", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("text");
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("method=\"GET\"")
                && l.contains("route=\"/api/accounts/me/\"")
                && l.contains("status=\"401\"")
        })
        .unwrap_or_else(|| panic!("no counter for the route template in:\n{text}"));
    let count: f64 = line.rsplit(' ').next().expect("value").parse().expect("number");
    assert!(count >= 2.0, "{line}");
    assert!(text.contains("http_request_duration_seconds_bucket{"));
}

#[sqlx::test]
async fn metrics_can_require_a_token(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| s.http.metrics_token = "scrape-secret-123".to_owned().into()).await;

    let anonymous = app.get("/metrics", None).await;
    let scraper = app.get("/metrics", Some("scrape-secret-123")).await;

    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(scraper.status(), StatusCode::OK);
}

#[sqlx::test]
async fn the_openapi_document_describes_the_shapes_and_the_docs_page_is_served(db: PgPool) {
    // Which routes it describes is checked against the router itself in `contract.rs`.
    let app = TestApp::spawn(&db).await;

    let schema: Value = json_body(app.get("/api/schema/", None).await).await;
    let docs = app.get("/api/docs/", None).await;

    let user = &schema["components"]["schemas"]["User"]["properties"];
    for field in [
        "id",
        "username",
        "email",
        "first_name",
        "last_name",
        "full_name",
        "phone_number",
        "user_type",
        "is_active",
        "date_joined",
    ] {
        assert!(user.get(field).is_some(), "User.{field} missing");
    }
    assert!(schema["components"]["securitySchemes"]["jwtAuth"].is_object());
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.expect("html").contains("swagger"));
}
