//! The published contract checked against the router itself: every served route is in the
//! OpenAPI document and every documented operation is served; each is refused to an anonymous
//! caller exactly when the document says it needs a token; unserved methods are a 405 naming the
//! served ones; and a NUL character anywhere in a body or query is a 400 naming the field, which
//! changes nothing. No list here is kept by hand, so a new route cannot be forgotten.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, json_body};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn served_and_documented(app: &TestApp) -> (BTreeSet<(String, String)>, Value) {
    // Every worker of the app has mounted its routes once it has answered.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    let served: BTreeSet<(String, String)> =
        carehub::http::routing::served_routes().into_iter().map(|(p, m)| (p.to_owned(), m.to_owned())).collect();
    assert!(served.len() > 40, "the router's table is read: {served:?}");
    let schema = json_body(app.get("/api/schema/", None).await).await;
    (served, schema)
}

fn documented(schema: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in schema["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method.to_lowercase()).is_some() {
                operations.insert((path.clone(), method.to_owned()));
            }
        }
    }
    operations
}

fn operation<'a>(schema: &'a Value, path: &str, method: &str) -> &'a Value {
    &schema["paths"][path][method.to_lowercase()]
}

/// A concrete path for a template: every parameter 1 (the queue one a real queue name).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{queue}" => "carehub:sms",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

enum Access {
    /// A token is required.
    Token,
    /// A token is optional; a bad one is refused.
    OptionalToken,
    /// No token is looked at.
    Public,
}

fn access(op: &Value) -> Access {
    match op["security"].as_array() {
        Some(reqs) if !reqs.is_empty() => {
            if reqs.iter().any(|r| r.as_object().is_some_and(Map::is_empty)) {
                Access::OptionalToken
            } else {
                Access::Token
            }
        }
        _ => Access::Public,
    }
}

fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().expect("a named schema");
            &schema["components"]["schemas"][name]
        }
        None => node,
    }
}

/// The documented JSON fields of an operation's body (empty when it documents none).
fn body_fields(schema: &Value, op: &Value) -> Vec<String> {
    let Some(body) = op["requestBody"]["content"]["application/json"]["schema"].as_object() else {
        return Vec::new();
    };
    let body = resolve(schema, &Value::Object(body.clone())).clone();
    let mut fields: Vec<String> =
        body["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    for part in body["allOf"].as_array().into_iter().flatten() {
        let part = resolve(schema, part);
        fields.extend(part["properties"].as_object().into_iter().flat_map(|p| p.keys().cloned()));
    }
    fields
}

async fn rows_everywhere(db: &PgPool) -> i64 {
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables \
         where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like '\\_sqlx%'",
    )
    .fetch_all(db)
    .await
    .expect("tables");
    let mut total = 0;
    for table in tables {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from \"{table}\"")))
            .fetch_one(db)
            .await
            .expect("count");
        total += count;
    }
    total
}

#[sqlx::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let (served, schema) = served_and_documented(&app).await;
    let documented = documented(&schema);

    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in /api/schema/: {undocumented:?}");
    assert!(unserved.is_empty(), "documented but not served: {unserved:?}");
}

#[sqlx::test]
async fn every_route_refuses_anonymous_callers_exactly_when_documented_to(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let (served, schema) = served_and_documented(&app).await;

    for (path, method) in &served {
        let op = operation(&schema, path, method);
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let anonymous = app.send_json(method.clone(), &concrete(path), &json!({}), None).await;
        let bad_token = app.send_json(method.clone(), &concrete(path), &json!({}), Some("not-a-token")).await;

        assert_ne!(anonymous.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is served");
        match access(op) {
            Access::Token => {
                assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
                assert_eq!(json_body(anonymous).await["code"], "not_authenticated", "{method} {path}");
                assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
            }
            Access::OptionalToken => {
                assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED, "{method} {path}: a bad token");
                assert_eq!(json_body(bad_token).await["code"], "token_not_valid", "{method} {path}");
            }
            Access::Public => {
                assert_ne!(anonymous.status(), StatusCode::UNAUTHORIZED, "{method} {path} is documented as public");
            }
        }
    }
}

#[sqlx::test]
async fn get_routes_answer_head_without_a_body(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let head = app.client.head(app.url("/healthz")).send().await.expect("sent");

    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.expect("body").is_empty());
}

#[sqlx::test]
async fn unserved_methods_are_a_405_that_names_the_served_ones(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let (served, _) = served_and_documented(&app).await;
    let paths: BTreeSet<&String> = served.iter().map(|(p, _)| p).collect();

    for path in paths {
        let allowed: Vec<&str> = served.iter().filter(|(p, _)| p == path).map(|(_, m)| m.as_str()).collect();
        let Some(unserved) = METHODS.iter().find(|m| !allowed.contains(m)) else { continue };
        let method = Method::from_bytes(unserved.as_bytes()).expect("method");
        let response = app.send_json(method.clone(), &concrete(path), &json!({}), None).await;

        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let allow = response.headers().get("allow").unwrap_or_else(|| panic!("{method} {path}: no Allow header"));
        let mut named: Vec<&str> = allow.to_str().expect("ascii").split(", ").collect();
        named.sort_unstable();
        let mut expected = allowed.clone();
        if expected.contains(&"GET") {
            expected.push("HEAD");
        }
        expected.sort_unstable();
        assert_eq!(named, expected, "{method} {path}");
    }
}

#[sqlx::test]
async fn a_nul_character_in_any_write_body_is_a_400_naming_the_field_and_changes_nothing(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let token = app.admin().await.token;
    let (served, schema) = served_and_documented(&app).await;
    let before = rows_everywhere(&db).await;
    let mut checked = 0;

    for (path, method) in served.iter().filter(|(_, m)| matches!(m.as_str(), "POST" | "PUT" | "PATCH")) {
        let mut fields = body_fields(&schema, operation(&schema, path, method));
        if fields.is_empty() {
            fields.push("reason".into());
        }
        let body: Map<String, Value> = fields.iter().map(|f| (f.clone(), json!("before\u{0}after"))).collect();
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        for token in [None, Some(token.as_str())] {
            let response = app.send_json(method.clone(), &concrete(path), &Value::Object(body.clone()), token).await;

            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{method} {path}");
            let errors = json_body(response).await;
            let named: Vec<&String> = errors.as_object().expect("field errors").keys().collect();
            assert_eq!(named.len(), 1, "{method} {path}: {errors}");
            assert!(fields.contains(named[0]), "{method} {path} names a field it was sent: {errors}");
            assert_eq!(errors[named[0]][0], "Null characters are not allowed.");
        }
        checked += 1;
    }

    assert!(checked >= 15, "every write route was tried ({checked})");
    let login = app.post("/api/token/", &json!({ "username": "ad\u{0}min", "password": "x" }), None).await;
    assert_eq!(login.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(login).await["username"].is_array());
    // A NUL beside something a whole-body parse refuses but a typed parse would skip.
    let deep = format!(r#"{{"username": "a\u0000", "password": "x", "z": {}{}}}"#, "[".repeat(200), "]".repeat(200));
    for body in [
        r#"{"username": "a\u0000", "password": "x", "z": "\udc00"}"#.to_owned(),
        r#"{"username": "a\u0000", "password": "x", "z": 1e999}"#.to_owned(),
        deep,
    ] {
        let response = app
            .client
            .post(app.url("/api/token/"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(rows_everywhere(&db).await, before, "nothing was written, not even an audit row");
}

#[sqlx::test]
async fn a_nul_character_in_a_query_or_form_is_a_400_naming_the_parameter(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let query = app.get("/api/hospitals/nearby/?lat=31.5&lng=74.3%00", None).await;
    let form = app
        .client
        .post(app.url("/api/token/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=ad%00min&password=x")
        .send()
        .await
        .expect("sent");

    assert_eq!(query.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(query).await["lng"][0], "Null characters are not allowed.");
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(form).await["username"][0], "Null characters are not allowed.");
}
