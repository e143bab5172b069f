//! `GET /api/audit-logs/`: admins read every row, a hospital only its own, with filters; nobody
//! else reads the trail.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, json_body};

async fn page(app: &TestApp, query: &str, token: &str) -> Value {
    let response = app.get(&format!("/api/audit-logs/{query}"), Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    json_body(response).await
}

fn actions(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["action"].as_str().expect("action").to_owned())
        .collect()
}

#[sqlx::test]
async fn an_admin_reads_every_row_with_filters_and_a_hospital_only_its_own(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let jinnah = app.approved_hospital("jinnah").await;
    let aga = app.approved_hospital("aga").await;
    app.department_at(&jinnah, "Cardiology").await;
    app.department_at(&aga, "Neurology").await;
    let patient = app.patient("zainab").await;

    let all = page(&app, "", &admin.token).await;
    let total: i64 = sqlx::query_scalar("select count(*) from audit_log").fetch_one(&db).await.expect("count");
    assert_eq!(all["count"], total);
    let first = &all["results"][0];
    for field in [
        "id",
        "occurred_at",
        "action",
        "actor",
        "actor_username",
        "actor_type",
        "hospital",
        "target_type",
        "target_id",
        "ip",
        "request_id",
        "details",
    ] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    let ids: Vec<i64> =
        all["results"].as_array().expect("rows").iter().map(|r| r["id"].as_i64().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");

    let user_of = |hospital: i64| {
        sqlx::query_scalar::<_, i64>("select user_id from hospitals where id = $1").bind(hospital).fetch_one(&db)
    };
    let (jinnah_user, aga_user) = (user_of(jinnah.id).await.expect("user"), user_of(aga.id).await.expect("user"));
    let created = page(&app, "?action=department_created", &admin.token).await;
    assert_eq!(created["count"], 2, "{created}");
    let by_jinnah = page(&app, &format!("?actor={jinnah_user}"), &admin.token).await;
    assert!(by_jinnah["results"].as_array().expect("rows").iter().all(|r| r["actor"] == jinnah_user));
    assert_eq!(by_jinnah["results"][0]["actor_username"], jinnah.user.username.as_str());
    let future = page(&app, "?since=2999-01-01T00:00:00Z", &admin.token).await;
    assert_eq!(future["count"], 0);
    let past = page(&app, "?until=2000-01-01T00:00:00Z", &admin.token).await;
    assert_eq!(past["count"], 0);

    let own = page(&app, "", &jinnah.token).await;
    assert!(own["count"].as_i64().expect("count") > 0);
    assert!(own["results"].as_array().expect("rows").iter().all(|r| r["hospital"] == jinnah.id), "{own}");
    assert!(actions(&own).contains(&"department_created".to_owned()));
    let theirs = page(&app, &format!("?actor={aga_user}"), &jinnah.token).await;
    assert_eq!(theirs["count"], 0, "never another hospital's rows");

    let response = app.get("/api/audit-logs/?since=yesterday", Some(&admin.token)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let empty = page(&app, "?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z", &admin.token).await;
    assert_eq!(empty["count"], 0, "an empty window is an empty page");
    assert_eq!(app.get("/api/audit-logs/", Some(&patient.token)).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/audit-logs/", None).await.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn a_doctor_cannot_read_the_trail(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&hospital).await;
    assert_eq!(app.get("/api/audit-logs/", Some(&doctor.token)).await.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn a_hospital_cannot_tell_from_the_trail_whether_its_doctors_code_requests_named_a_patient(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let jinnah = app.approved_hospital("jinnah").await;
    let doctor = app.working_doctor_at(&jinnah).await;
    let patient = app.patient("zainab").await;
    let generate = "/api/accounts/otp/generate/";
    for patient_id in [patient.user.id, 999_999] {
        let response = app.post(generate, &serde_json::json!({ "patient_id": patient_id }), Some(&doctor.token)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    for patient_id in [patient.user.id, 999_999] {
        let body = serde_json::json!({ "patient_id": patient_id, "otp": "000000" });
        app.post("/api/accounts/otp/verify/", &body, Some(&doctor.token)).await;
    }

    let requested = page(&app, "?action=otp_requested", &jinnah.token).await;
    let nobody = page(&app, "?action=otp_requested_for_nobody", &jinnah.token).await;
    let refused = page(&app, "?action=otp_refused", &jinnah.token).await;
    let everything = page(&app, "", &jinnah.token).await;

    assert_eq!(requested["count"], 2, "both requests read alike: {requested}");
    assert_eq!(nobody["count"], 0);
    let shown = |row: &Value| {
        let mut row = row.clone();
        for varying in ["id", "occurred_at", "request_id"] {
            row[varying] = Value::Null;
        }
        row
    };
    let rows = requested["results"].as_array().expect("rows");
    assert_eq!(shown(&rows[0]), shown(&rows[1]), "field by field");
    assert_eq!(rows[0]["target_id"], Value::Null);
    assert_eq!(rows[0]["details"], serde_json::json!({}));
    for row in refused["results"].as_array().expect("rows") {
        assert_eq!((row["target_id"].clone(), row["details"].clone()), (Value::Null, serde_json::json!({})));
    }
    assert!(!actions(&everything).iter().any(|a| a == "otp_requested_for_nobody"));
    // The admin reads the trail as written.
    let admin_view = page(&app, "?action=otp_requested_for_nobody", &admin.token).await;
    assert_eq!(admin_view["count"], 1);
    let admin_requested = page(&app, "?action=otp_requested", &admin.token).await;
    assert_eq!(admin_requested["results"][0]["target_id"], patient.user.id.to_string());
}
