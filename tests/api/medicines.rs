//! The formulary search and medicine recommendations: the server's own warnings in every mode,
//! answers through the job queue (mock, and an OpenAI-compatible API played by wiremock), the
//! cache, the hourly limit across two web processes, history, statistics, and who may ask.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{TestApp, TestDoctor, json_body},
    jobs::{Workers, namespace, settings},
};

const RECOMMEND: &str = "/api/recommendations/";

async fn loaded(db: &PgPool) {
    carehub::medicines::formulary::load(db).await.expect("formulary loads");
}

async fn doctor(app: &TestApp) -> TestDoctor {
    let hospital = app.approved_hospital("jinnah").await;
    app.working_doctor_at(&hospital).await
}

fn llm_settings(server: &MockServer, s: &mut carehub::config::Settings) {
    s.llm_provider = "openai".into();
    s.llm_api_base = format!("{}/openai/v1", server.uri());
    s.llm_api_key = "gsk_test_key".to_owned().into();
    s.llm_model = "test-model".into();
    s.recommendations.llm_timeout_seconds = 1;
    s.recommendations.llm_attempts = 2;
    s.recommendations.llm_backoff_ms = 50;
    s.recommendations.wait_seconds = 10;
}

/// Workers answering with the configuration `tweak` gives (mock by default).
async fn workers(db: &PgPool, tweak: impl FnOnce(&mut carehub::config::Settings)) -> Workers {
    let mut app_settings = carehub::config::Settings::for_tests().expect("settings");
    tweak(&mut app_settings);
    // The console provider: a wiremock server dropped here would go back to wiremock's pool and
    // receive these workers' SMS while another test holds it.
    let registry = carehub::jobs::registry(&app_settings, &carehub_workers::sms::SmsProvider::Console);
    Workers::start_with(db, settings(&namespace()), registry)
}

fn chat_answer(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_764_000_000, "model": "test-model",
        "choices": [{ "index": 0, "finish_reason": "stop",
                      "message": { "role": "assistant", "content": content } }],
        "usage": { "prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20 }
    }))
}

fn request(medicine: &str) -> Value {
    json!({
        "medicine_name": medicine,
        "patient_info": {
            "age": 45, "gender": "female", "allergies": ["penicillin"],
            "chronic_conditions": ["asthma"], "current_medications": ["warfarin"]
        }
    })
}

fn kinds(body: &Value) -> Vec<String> {
    body["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["type"].as_str().expect("type").to_owned())
        .collect()
}

#[sqlx::test]
async fn the_formulary_is_searched_by_name_brand_and_class_with_typos(db: PgPool) {
    loaded(&db).await;
    let app = TestApp::spawn(&db).await;
    let patient = app.patient("zainab").await;
    let response = app.get("/api/medicines/?q=amoxycilin", Some(&patient.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["results"][0]["generic_name"], "amoxicillin", "{body}");
    for field in ["id", "generic_name", "brand_names", "atc_code", "drug_class", "forms"] {
        assert!(body["results"][0].get(field).is_some(), "{field}");
    }
    let brand = json_body(app.get("/api/medicines/?q=Amoxil", Some(&patient.token)).await).await;
    assert_eq!(brand["results"][0]["generic_name"], "amoxicillin");
    let alias = json_body(app.get("/api/medicines/?q=acetaminophen", Some(&patient.token)).await).await;
    assert_eq!(alias["results"][0]["generic_name"], "paracetamol", "aliases are searched");
    let all = json_body(app.get("/api/medicines/?page_size=5", Some(&patient.token)).await).await;
    assert!(all["count"].as_i64().expect("count") >= 150);
    assert_eq!(all["results"].as_array().expect("page").len(), 5);
    assert!(all["next"].is_string());
    assert_eq!(app.get("/api/medicines/?q=x", None).await.status(), StatusCode::UNAUTHORIZED);
    // Loading twice changes nothing.
    let before: i64 = sqlx::query_scalar("select count(*) from medicines").fetch_one(&db).await.expect("count");
    loaded(&db).await;
    let after: i64 = sqlx::query_scalar("select count(*) from medicines").fetch_one(&db).await.expect("count");
    assert_eq!(before, after);
}

#[sqlx::test]
async fn a_mock_answer_carries_the_servers_warnings_and_a_repeat_comes_from_the_cache(db: PgPool) {
    loaded(&db).await;
    let app = TestApp::spawn(&db).await;
    let doctor = doctor(&app).await;
    let workers = workers(&db, |_| {}).await;
    let response = app.post(RECOMMEND, &request("Aspirin"), Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["source"], "mock");
    assert_eq!(body["cached"], false);
    assert!(body["id"].is_i64() && body["suggestion"].is_string() && body["response_time_ms"].is_i64());
    let kinds = kinds(&body);
    assert!(kinds.contains(&"interaction".to_owned()), "warfarin + aspirin: {body}");
    let alternatives = body["alternatives"].as_array().expect("alternatives");
    assert!(alternatives.iter().all(|a| a["name"].is_string() && a["name"] != "aspirin"));

    let jobs_before: i64 = sqlx::query_scalar("select count(*) from outbox where job_type = 'AnswerRecommendation'")
        .fetch_one(&db)
        .await
        .expect("count");
    let again = json_body(app.post(RECOMMEND, &request("aspirin "), Some(&doctor.token)).await).await;
    assert_eq!(again["cached"], true, "{again}");
    assert_eq!(again["alternatives"], body["alternatives"]);
    assert_eq!(again["warnings"], body["warnings"]);
    let jobs_after: i64 = sqlx::query_scalar("select count(*) from outbox where job_type = 'AnswerRecommendation'")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(jobs_before, jobs_after, "a cached answer queues no job");

    // Penicillin allergy: amoxicillin gets an allergy warning.
    let amoxicillin = json_body(app.post(RECOMMEND, &request("amoxicillin"), Some(&doctor.token)).await).await;
    assert!(self::kinds(&amoxicillin).contains(&"allergy".to_owned()), "{amoxicillin}");
    workers.stop().await;

    // The payload in the outbox holds the id only; no patient data in the cache or the trail.
    let payloads: Vec<Value> = sqlx::query_scalar("select payload from outbox where job_type = 'AnswerRecommendation'")
        .fetch_all(&db)
        .await
        .expect("payloads");
    for payload in payloads {
        assert_eq!(
            payload.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["recommendation_id".to_owned()])
        );
    }
    let leaked: i64 = sqlx::query_scalar(
        "select (select count(*) from recommendation_cache where answer::text like '%warfarin%' or answer::text like '%asthma%') \
              + (select count(*) from audit_log where details::text like '%warfarin%' or details::text like '%penicillin%')",
    )
    .fetch_one(&db)
    .await
    .expect("count");
    assert_eq!(leaked, 0);
}

#[sqlx::test]
async fn an_unknown_medicine_is_a_400_with_suggestions_and_only_doctors_ask(db: PgPool) {
    loaded(&db).await;
    let app = TestApp::spawn(&db).await;
    let doctor = doctor(&app).await;
    let response = app.post(RECOMMEND, &json!({ "medicine_name": "amoxycilin" }), Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json_body(response).await;
    assert!(body["medicine_name"][0].as_str().expect("message").contains("amoxicillin"), "{body}");
    let response = app
        .post(RECOMMEND, &json!({ "medicine_name": "aspirin", "patient_info": { "age": "old" } }), Some(&doctor.token))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(response).await["patient_info.age"].is_array());
    let patient = app.patient("zainab").await;
    let hospital = app.approved_hospital("aga").await;
    for token in [&patient.token, &hospital.token] {
        assert_eq!(app.post(RECOMMEND, &request("aspirin"), Some(token)).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.get("/api/recommendations/history/", Some(token)).await.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(app.post(RECOMMEND, &request("aspirin"), None).await.status(), StatusCode::UNAUTHORIZED);
    let rows: i64 = sqlx::query_scalar("select count(*) from recommendations").fetch_one(&db).await.expect("count");
    assert_eq!(rows, 0);
}

#[sqlx::test]
async fn the_model_answers_through_the_queue_and_invented_medicines_are_dropped(db: PgPool) {
    loaded(&db).await;
    let server = MockServer::start().await;
    let answer = json!({
        "alternatives": [{ "name": "Clopidogrel", "reason": "Another antiplatelet." }, { "name": "Miraclumab", "reason": "Invented." }],
        "suggestion": "Consider the bleeding risk with warfarin.", "notes": "Check INR."
    });
    Mock::given(method("POST"))
        .and(path("/openai/v1/chat/completions"))
        .respond_with(chat_answer(&answer.to_string()))
        .expect(1)
        .mount(&server)
        .await;
    let app = TestApp::spawn_with(&db, |s| llm_settings(&server, s)).await;
    let doctor = doctor(&app).await;
    let workers = workers(&db, |s| llm_settings(&server, s)).await;
    let response = app.post(RECOMMEND, &request("aspirin"), Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["source"], "llm");
    let names: Vec<&str> =
        body["alternatives"].as_array().expect("list").iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["clopidogrel"], "the invented one is dropped: {body}");
    assert!(kinds(&body).contains(&"interaction".to_owned()), "the server's warnings, whatever the model says");
    let dropped: i32 =
        sqlx::query_scalar("select dropped_alternatives from recommendations").fetch_one(&db).await.expect("row");
    assert_eq!(dropped, 1);
    // The same input again: from the cache, no second call (the mock server expects exactly one).
    let again = json_body(app.post(RECOMMEND, &request("aspirin"), Some(&doctor.token)).await).await;
    assert_eq!(again["cached"], true);
    workers.stop().await;
    let requests = server.received_requests().await.expect("recorded");
    let request = requests.iter().find(|r| r.url.path().ends_with("/chat/completions")).expect("the model was asked");
    assert_eq!(request.headers["authorization"], "Bearer gsk_test_key");
    let sent: Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(sent["model"], "test-model");
    assert_eq!(sent["response_format"]["type"], "json_object");
    assert!(!sent.to_string().contains("zainab"));
}

#[sqlx::test]
async fn malformed_output_and_a_timeout_fail_honestly_and_a_500_is_retried(db: PgPool) {
    loaded(&db).await;
    let server = MockServer::start().await;
    // aspirin: malformed; paracetamol: 500 then an answer; ibuprofen: too slow every time.
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains("Medicine: aspirin"))
        .respond_with(chat_answer("this is not json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains("Medicine: paracetamol"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let good = json!({ "alternatives": [], "suggestion": "Fine at the usual dose.", "notes": "" });
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains("Medicine: paracetamol"))
        .respond_with(chat_answer(&good.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains("Medicine: ibuprofen"))
        .respond_with(chat_answer(&good.to_string()).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let app = TestApp::spawn_with(&db, |s| llm_settings(&server, s)).await;
    let doctor = doctor(&app).await;
    let workers = workers(&db, |s| llm_settings(&server, s)).await;

    let response = app.post(RECOMMEND, &request("aspirin"), Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body = json_body(response).await;
    assert_eq!(body["code"], "llm_failed");
    let id = body["id"].as_i64().expect("id");
    let detail = json_body(app.get(&format!("{RECOMMEND}{id}/"), Some(&doctor.token)).await).await;
    assert_eq!(detail["status"], "FAILED");
    assert!(detail["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(detail["alternatives"], json!([]), "never a made-up answer");

    let response = app.post(RECOMMEND, &request("paracetamol"), Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::OK, "a 500 is retried");

    let response = app.post(RECOMMEND, &request("ibuprofen"), Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "timeouts, retried, then failed");
    workers.stop().await;
    let failed: i64 =
        sqlx::query_scalar("select count(*) from recommendation_cache").fetch_one(&db).await.expect("count");
    assert_eq!(failed, 1, "only the good answer is cached");
}

#[sqlx::test]
async fn the_hourly_limit_holds_across_two_web_processes_and_cached_answers_do_not_count(db: PgPool) {
    loaded(&db).await;
    let tweak = |s: &mut carehub::config::Settings| {
        s.recommendations.per_hour = 3;
        s.recommendations.wait_seconds = 0;
    };
    let first = TestApp::spawn_with(&db, tweak).await;
    let second = TestApp::spawn_with(&db, tweak).await;
    let doctor = doctor(&first).await;
    let medicines = ["aspirin", "paracetamol", "ibuprofen", "amoxicillin", "metformin", "atorvastatin"];
    let requests = medicines.iter().enumerate().map(|(i, m)| {
        let app = if i % 2 == 0 { &first } else { &second };
        app.post(RECOMMEND, &json!({ "medicine_name": m }), Some(&doctor.token))
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(requests).await.iter().map(|r| r.status()).collect();
    let accepted = statuses.iter().filter(|s| **s == StatusCode::ACCEPTED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((accepted, throttled), (3, 3), "{statuses:?}");
    let response = first.post(RECOMMEND, &json!({ "medicine_name": "warfarin" }), Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[sqlx::test]
async fn history_stats_and_clearing_the_cache(db: PgPool) {
    loaded(&db).await;
    let app = TestApp::spawn(&db).await;
    let doctor = doctor(&app).await;
    let admin = app.admin().await;
    let workers = workers(&db, |_| {}).await;
    for _ in 0..2 {
        let response = app.post(RECOMMEND, &request("aspirin"), Some(&doctor.token)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let history = json_body(app.get("/api/recommendations/history/", Some(&doctor.token)).await).await;
    assert_eq!(history["count"], 2);
    assert_eq!(history["results"][0]["requested_by_username"], doctor.user.username.as_str());
    let stats = json_body(app.get("/api/recommendations/stats/", Some(&admin.token)).await).await;
    assert_eq!(stats["total_recommendations"], 2);
    assert_eq!(stats["unique_medicines"], 1);
    assert_eq!(stats["cache_hit_rate"], 0.5);
    assert_eq!(stats["top_medicines"][0]["medicine"], "aspirin");
    assert_eq!(app.get("/api/recommendations/stats/", Some(&doctor.token)).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.post("/api/recommendations/clear-cache/", &json!({}), Some(&doctor.token)).await.status(),
        StatusCode::FORBIDDEN
    );
    let cleared = app.post("/api/recommendations/clear-cache/", &json!({}), Some(&admin.token)).await;
    assert_eq!(cleared.status(), StatusCode::OK);
    let count = |table: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(&db)
                .await
                .expect("count")
        }
    };
    assert_eq!(count("recommendation_cache").await, 0, "the cache is empty");
    assert_eq!(count("recommendations").await, 2, "the history stays");
    assert!(count("medicines").await >= 150, "the formulary stays");
    let after = json_body(app.post(RECOMMEND, &request("aspirin"), Some(&doctor.token)).await).await;
    assert_eq!(after["cached"], false, "answered afresh after clearing");
    workers.stop().await;
    let other = app.working_doctor_at(&app.approved_hospital("aga").await).await;
    let id = history["results"][0]["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("{RECOMMEND}{id}/"), Some(&other.token)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("{RECOMMEND}{id}/"), Some(&admin.token)).await.status(), StatusCode::OK);
}

#[sqlx::test]
async fn a_condition_warning_comes_from_the_formulary(db: PgPool) {
    loaded(&db).await;
    let app = TestApp::spawn(&db).await;
    let doctor = doctor(&app).await;
    let workers = workers(&db, |_| {}).await;
    let body = json!({ "medicine_name": "propranolol", "patient_info": { "conditions": ["Asthma"], "age": 30 } });
    let answer = json_body(app.post(RECOMMEND, &body, Some(&doctor.token)).await).await;
    workers.stop().await;
    assert!(kinds(&answer).contains(&"condition".to_owned()), "{answer}");
    assert_eq!(answer["source"], "mock");
}

/// The worker is where patient facts meet the model (the prompt): none of them may reach a log
/// line, whatever the model answers. Run at TRACE with every target on, the HTTP client's too.
#[sqlx::test]
async fn no_patient_fact_reaches_a_log_line_of_the_worker(db: PgPool) {
    use carehub_workers::Handler as _;
    loaded(&db).await;
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(chat_answer("{\"not\": \"the shape asked for\"}")).mount(&server).await;
    let app = TestApp::spawn_with(&db, |s| {
        llm_settings(&server, s);
        s.recommendations.wait_seconds = 0;
    })
    .await;
    let doctor = doctor(&app).await;
    let secret_facts = json!({
        "medicine_name": "aspirin",
        "patient_info": { "allergies": ["zzallergen"], "conditions": ["zzcondition"], "current_medications": ["zzmedication"] }
    });
    let response = app.post(RECOMMEND, &secret_facts, Some(&doctor.token)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let id = json_body(response).await["id"].as_i64().expect("id");

    let mut settings = carehub::config::Settings::for_tests().expect("settings");
    llm_settings(&server, &mut settings);
    let handler = carehub::medicines::recommendations::jobs::answer_recommendation(std::sync::Arc::new(
        settings.recommendation_provider(),
    ));
    let ctx = carehub_workers::JobContext::new(db.clone(), 3);
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || LogWriter(logs.clone())
    };
    let subscriber =
        tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(writer).finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let job = carehub::medicines::recommendations::jobs::AnswerRecommendation { recommendation_id: id };
    handler.call(job, ctx).await.expect("handled");
    drop(guard);
    let logs = String::from_utf8(logs.lock().expect("logs").clone()).expect("utf-8");
    assert!(logs.contains("recommendation failed"), "the failure is logged: {logs}");
    for fact in ["zzallergen", "zzcondition", "zzmedication"] {
        assert!(!logs.contains(fact), "{fact} in the logs: {logs}");
    }
    let requests = server.received_requests().await.expect("recorded");
    let sent = requests.iter().find(|r| r.url.path().ends_with("/chat/completions")).expect("the model was asked");
    let sent_body = String::from_utf8_lossy(&sent.body).into_owned();
    assert!(sent_body.contains("zzallergen"), "the model did get the facts: {sent_body}");
    let status: String = sqlx::query_scalar("select status from recommendations where id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("row");
    assert_eq!(status, "FAILED");
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
