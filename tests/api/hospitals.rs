//! Hospitals: registration and approval, the directory and nearby search, departments and
//! doctors, and tenant isolation (another hospital's data answers 404).

use carehub::accounts::model::UserType;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{
    PASSWORD, TestApp, TestDoctor, TestUser, doctor_body, hospital_registration, json_body, unnotified,
};

fn registration(username: &str, name: &str, license: &str, lat: &str, lng: &str) -> Value {
    let mut body = hospital_registration(username);
    for (field, value) in [("hospital_name", name), ("license_number", license), ("latitude", lat), ("longitude", lng)]
    {
        body[field] = json!(value);
    }
    body
}

async fn register(app: &TestApp, username: &str, name: &str, license: &str, lat: &str, lng: &str) -> (i64, TestUser) {
    app.register_hospital(&registration(username, name, license, lat, lng)).await
}

async fn approve(app: &TestApp, admin: &str, id: i64, approved: bool) -> reqwest::Response {
    app.patch(&format!("/api/hospitals/{id}/approve/"), &json!({ "is_approved": approved }), Some(admin)).await
}

fn claims(access: &str) -> Value {
    use base64::Engine as _;
    let payload = access.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"))
        .expect("json")
}

#[sqlx::test]
async fn a_registered_hospital_logs_in_only_once_approved_and_is_told_by_sms(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    let (id, user) = register(&app, "jinnah", "Jinnah Hospital", "LIC-1", "24.86", "67.00").await;

    let pending_login = app.login_response(&user.username, &user.password).await;
    let approval = approve(&app, &admin, id, true).await;
    let login = app.login_response(&user.username, &user.password).await;

    assert_eq!(pending_login.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(approval.status(), StatusCode::OK);
    let body = json_body(approval).await;
    assert_eq!(body["hospital"]["is_approved"], true);
    assert!(body["hospital"]["approved_by"].is_i64());
    assert_eq!(body["hospital"]["latitude"], "24.860000");
    assert_eq!(login.status(), StatusCode::OK);
    let access = json_body(login).await["access"].as_str().expect("access").to_owned();
    assert_eq!(claims(&access)["hospital_id"], id, "the token names the hospital");
    let (to, purpose): (String, String) =
        sqlx::query_as("select to_number, purpose from sms_messages").fetch_one(&db).await.expect("one SMS queued");
    assert_eq!((to.as_str(), purpose.as_str()), ("+922134567890", "hospital_approval"));
    let queued: i64 =
        sqlx::query_scalar("select count(*) from outbox where job_type = 'SendSms'").fetch_one(&db).await.expect("n");
    assert_eq!(queued, 1, "the SMS job is in the outbox with the approval");
    assert_eq!(app.audit_rows("hospital_registered").await.len(), 1);
    assert_eq!(app.audit_rows("hospital_approved").await.len(), 1);
}

#[sqlx::test]
async fn rejection_deactivates_the_account_and_ends_its_logins(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    let hospital = app.approved_hospital("jinnah").await;

    let rejected = approve(&app, &admin, hospital.id, false).await;

    assert_eq!(rejected.status(), StatusCode::OK);
    assert_eq!(app.get("/api/accounts/me/", Some(&hospital.token)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_response(&hospital.user.username, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let anonymous = json_body(app.get("/api/hospitals/", None).await).await;
    assert_eq!(anonymous["count"], 0, "a rejected hospital leaves the directory");
}

#[sqlx::test]
async fn approval_is_for_admins_and_names_its_field(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    let (id, _) = register(&app, "jinnah", "Jinnah Hospital", "LIC-1", "24.86", "67.00").await;
    let patient_token = app.patient("zainab").await.token;

    assert_eq!(approve(&app, &patient_token, id, true).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.patch(&format!("/api/hospitals/{id}/approve/"), &json!({ "is_approved": true }), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(approve(&app, &admin, 9999, true).await.status(), StatusCode::NOT_FOUND);
    let missing = app.patch(&format!("/api/hospitals/{id}/approve/"), &json!({}), Some(&admin)).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(missing).await["is_approved"].is_array());
    let approved: bool = sqlx::query_scalar("select is_approved from hospitals").fetch_one(&db).await.expect("row");
    assert!(!approved);
}

#[sqlx::test]
async fn registration_names_bad_fields_and_license_numbers_are_unique(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    register(&app, "jinnah", "Jinnah Hospital", "LIC-1", "24.86", "67.00").await;
    let mut bad = registration("other", "", "lic-1", "91", "67.00");
    bad.as_object_mut().expect("object").remove("hospital_email");

    let response = app.post("/api/hospitals/register/", &bad, None).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors = json_body(response).await;
    for field in ["hospital_name", "hospital_email", "latitude"] {
        assert!(errors[field].is_array(), "{field} missing from {errors}");
    }
    let clash = app.post("/api/hospitals/register/", &registration("other", "Other", "lic-1", "24", "67"), None).await;
    assert_eq!(clash.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(clash).await["license_number"].is_array(), "license numbers clash ignoring case");
    let hospitals: i64 = sqlx::query_scalar("select count(*) from hospitals").fetch_one(&db).await.expect("count");
    assert_eq!(hospitals, 1);
}

#[sqlx::test]
async fn the_directory_shows_approved_hospitals_and_admins_see_all(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    app.approved_hospital("jinnah").await;
    let (pending, _) = register(&app, "civil", "Civil Hospital", "LIC-2", "24.90", "67.10").await;

    let anonymous = json_body(app.get("/api/hospitals/", None).await).await;
    let admin_pending = json_body(app.get("/api/hospitals/?is_approved=false", Some(&admin)).await).await;
    let search = json_body(app.get("/api/hospitals/?search=jinn", None).await).await;
    let pending_detail = app.get(&format!("/api/hospitals/{pending}/"), None).await;
    let admin_detail = app.get(&format!("/api/hospitals/{pending}/"), Some(&admin)).await;

    assert_eq!(anonymous["count"], 1);
    assert_eq!(anonymous["results"][0]["name"], "Jinnah Hospital");
    assert_eq!(anonymous["results"][0]["user_username"], "", "the login name is the owner's and admins' only");
    let expired = app.get("/api/hospitals/", Some("not-a-valid-token")).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED, "a bad token is refused, not read as anonymous");
    assert_eq!(admin_pending["count"], 1);
    assert_eq!(admin_pending["results"][0]["id"], pending);
    assert_eq!(search["count"], 1);
    assert_eq!(pending_detail.status(), StatusCode::NOT_FOUND);
    assert_eq!(admin_detail.status(), StatusCode::OK);
}

/// The directory's count comes from `hospital_counts` (kept by triggers), not from a count of
/// every approved hospital: it must follow approvals, rejections, edits, bulk statements and
/// deletions exactly, page after page, and agree with a real count.
#[sqlx::test]
async fn the_directory_count_follows_approvals_edits_and_deletions_without_counting_rows(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    let count = |path: &'static str, token: Option<String>| {
        let request = app.get(path, token.as_deref());
        async move { json_body(request.await).await["count"].as_i64().expect("count") }
    };
    let real = |approved: bool| {
        sqlx::query_scalar::<_, i64>("select count(*) from hospitals where is_approved = $1")
            .bind(approved)
            .fetch_one(&db)
    };
    let mut pending = Vec::new();
    for n in 0..3 {
        let (id, _) =
            register(&app, &format!("h{n}"), &format!("Hospital {n}"), &format!("LIC-{n}"), "24.9", "67.1").await;
        pending.push(id);
    }
    assert_eq!(count("/api/hospitals/", None).await, 0);
    assert_eq!(count("/api/hospitals/", Some(admin.clone())).await, 3);

    for id in &pending {
        assert_eq!(approve(&app, &admin, *id, true).await.status(), StatusCode::OK);
    }
    assert_eq!(approve(&app, &admin, pending[0], false).await.status(), StatusCode::OK);
    // An edit that leaves approval alone changes no count.
    let edit =
        app.patch(&format!("/api/hospitals/{}/", pending[1]), &json!({ "address": "1 Road" }), Some(&admin)).await;
    assert_eq!(edit.status(), StatusCode::OK);
    assert_eq!(count("/api/hospitals/", None).await, 2);
    assert_eq!(count("/api/hospitals/?is_approved=false", Some(admin.clone())).await, 1);
    assert_eq!(count("/api/hospitals/?is_approved=true", Some(admin.clone())).await, 2);
    assert_eq!(count("/api/hospitals/?search=hospital%201", None).await, 1, "a search counts its matches");

    // Bulk statements and a deletion cascading from the account, made outside the app: the
    // process hears of them by notification, so its cached public pages follow within moments.
    let public_count_becomes = |expected: i64| {
        let count = &count;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            loop {
                let now = count("/api/hospitals/", None).await;
                if now == expected {
                    return;
                }
                assert!(std::time::Instant::now() < deadline, "the public count stayed at {now}, not {expected}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    sqlx::query("update hospitals set is_approved = not is_approved").execute(&db).await.expect("flip");
    public_count_becomes(1).await;
    sqlx::query("delete from users where id = (select user_id from hospitals where id = $1)")
        .bind(pending[0])
        .execute(&db)
        .await
        .expect("delete");
    public_count_becomes(0).await;
    assert_eq!(count("/api/hospitals/", Some(admin.clone())).await, 2);
    assert_eq!(real(true).await.expect("count"), 0);
    assert_eq!(real(false).await.expect("count"), 2);

    // A page past the end has no row to carry the count: still a 404, as before.
    let past = app.get("/api/hospitals/?page=2", Some(&admin)).await;
    assert_eq!(past.status(), StatusCode::NOT_FOUND);
}

/// The public directory's pages are kept per process (`hospitals::directory::DirectoryCache`):
/// this process's own changes show in the very next request, changes made elsewhere within
/// moments (the `hospitals` triggers notify every process), and only the public view is shared:
/// the owner still sees its account's fields and admins the unapproved hospitals. Without the
/// notification the cached page would be served: the test shows the cache is real.
#[sqlx::test]
async fn the_public_directory_is_cached_and_every_change_shows(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    let jinnah = app.approved_hospital("jinnah").await;
    let patient = app.user(UserType::Patient, "amina").await;
    let patient = app.login(&patient).await.access;
    let public = |app: &TestApp, token: Option<&str>, query: &str| {
        let request = app.get(&format!("/api/hospitals/{query}"), token);
        async move {
            let response = request.await;
            assert_eq!(response.status(), StatusCode::OK);
            json_body(response).await
        }
    };
    let names = |page: &Value| -> Vec<String> {
        page["results"].as_array().expect("results").iter().map(|h| h["name"].as_str().expect("name").into()).collect()
    };

    // The owner's edits, each read back at once by anyone, page by page.
    for round in 0..10 {
        let name = format!("Jinnah {round}");
        let path = format!("/api/hospitals/{}/", jinnah.id);
        let edit = app.patch(&path, &json!({ "name": name }), Some(&jinnah.token)).await;
        assert_eq!(edit.status(), StatusCode::OK);
        assert_eq!(names(&public(&app, None, "").await), [name.as_str()], "round {round}");
        assert_eq!(names(&public(&app, Some(&patient), "").await), [name.as_str()], "round {round}, a patient");
    }

    // Approvals and rejections by this process: at once, and each page keeps its own rows.
    let (civil, _) = register(&app, "civil", "Civil Hospital", "LIC-2", "24.90", "67.10").await;
    assert_eq!(public(&app, None, "").await["count"], 1);
    assert_eq!(approve(&app, &admin, civil, true).await.status(), StatusCode::OK);
    let first = public(&app, None, "?page_size=1").await;
    let second = public(&app, None, "?page=2&page_size=1").await;
    assert_eq!((first["count"].as_i64(), second["count"].as_i64()), (Some(2), Some(2)));
    assert_eq!(names(&first), ["Civil Hospital"], "newest first");
    assert_eq!(names(&second), ["Jinnah 9"]);
    assert_eq!(approve(&app, &admin, civil, false).await.status(), StatusCode::OK);
    assert_eq!(names(&public(&app, None, "?page_size=1").await), ["Jinnah 9"]);
    let past = app.get("/api/hospitals/?page=2&page_size=1", None).await;
    assert_eq!(past.status(), StatusCode::NOT_FOUND, "the cached second page went with the rejection");

    // Only the public view is shared: the owner sees its login name, admins the rejected one.
    let own = public(&app, Some(&jinnah.token), "").await;
    assert_eq!(own["results"][0]["user_username"], jinnah.user.username.as_str());
    assert_eq!(public(&app, None, "").await["results"][0]["user_username"], "");
    assert_eq!(public(&app, Some(&admin), "").await["count"], 2);

    // Renamed with the triggers off for that transaction: no notification, so once the process
    // listens the cached page is served. Tried until the listening connection is up.
    let silently =
        |name: String| unnotified(&db, [format!("update hospitals set name = '{name}' where id = {}", jinnah.id)]);
    let mut served_from_cache = false;
    for attempt in 0..50 {
        let cached = names(&public(&app, None, "").await);
        silently(format!("Silent {attempt}")).await;
        if names(&public(&app, None, "").await) == cached {
            served_from_cache = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(served_from_cache, "unnotified, the cached page is what the process knows");
    // Operators see it: hits counted, and a listening connection (other tests' apps in this
    // process add theirs).
    let metrics = app.get("/metrics", None).await.text().await.expect("metrics");
    let value = |series: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("{series} in {metrics}"));
        line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a number")
    };
    assert!(value("cache_reads_total{cache=\"carehub_directory\",result=\"hit\"}") >= 1.0);
    assert!(value("cache_listeners{cache=\"carehub_directory\"}") >= 1.0);
    let searched = names(&public(&app, None, "?search=silent").await);
    assert!(searched.len() == 1 && searched[0].starts_with("Silent"), "a search is never cached: {searched:?}");

    // A page past the end is not kept (any number of them could be asked for): approved
    // silently, the rejected hospital fills the second page at once.
    let silent_approval = |approved: bool| {
        unnotified(
            &db,
            [
                format!("update hospitals set is_approved = {approved} where id = {civil}"),
                format!("update hospital_counts set n = n + case when is_approved = {approved} then 1 else -1 end"),
            ],
        )
    };
    let past = app.get("/api/hospitals/?page=2&page_size=1", None).await;
    assert_eq!(past.status(), StatusCode::NOT_FOUND);
    silent_approval(true).await;
    let second = public(&app, None, "?page=2&page_size=1").await;
    assert_eq!((second["count"].as_i64(), second["results"].as_array().map(Vec::len)), (Some(2), Some(1)));
    silent_approval(false).await;

    // A change made elsewhere, notified as usual, shows within moments.
    sqlx::query("update hospitals set name = 'Elsewhere' where id = $1")
        .bind(jinnah.id)
        .execute(&db)
        .await
        .expect("rename elsewhere");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while names(&public(&app, None, "").await) != ["Elsewhere"] {
        assert!(std::time::Instant::now() < deadline, "the notified change never showed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[sqlx::test]
async fn only_the_owner_or_an_admin_changes_a_hospital_and_never_its_approval(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let a = app.approved_hospital("jinnah").await;
    let b = app.approved_hospital("civil").await;
    let path = format!("/api/hospitals/{}/", a.id);

    let own = app.patch(&path, &json!({ "name": "Jinnah Postgraduate Medical Centre" }), Some(&a.token)).await;
    let other = app.patch(&path, &json!({ "name": "Taken over" }), Some(&b.token)).await;
    let approval = app.patch(&path, &json!({ "is_approved": false }), Some(&a.token)).await;

    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(json_body(own).await["name"], "Jinnah Postgraduate Medical Centre");
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    assert_eq!(approval.status(), StatusCode::BAD_REQUEST);
    let (name, approved): (String, bool) = sqlx::query_as("select name, is_approved from hospitals where id = $1")
        .bind(a.id)
        .fetch_one(&db)
        .await
        .expect("row");
    assert_eq!((name.as_str(), approved), ("Jinnah Postgraduate Medical Centre", true));
}

#[sqlx::test]
async fn nearby_orders_by_distance_within_the_radius(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    // Karachi centre, ~5.5 km north-east, ~50 km away; and a pending one right at the centre.
    for (user, name, license, lat, lng) in [
        ("far", "Far Hospital", "L3", "25.300000", "67.150000"),
        ("near", "Near Hospital", "L1", "24.860800", "67.001200"),
        ("mid", "Mid Hospital", "L2", "24.900000", "67.040000"),
    ] {
        let (id, _) = register(&app, user, name, license, lat, lng).await;
        approve(&app, &admin, id, true).await;
    }
    register(&app, "pending", "Pending Hospital", "L4", "24.860700", "67.001100").await;

    let within_10 = json_body(app.get("/api/hospitals/nearby/?lat=24.8607&lng=67.0011&radius_km=10", None).await).await;
    let default_radius = json_body(app.get("/api/hospitals/nearby/?lat=24.8607&lng=67.0011", None).await).await;
    let within_100 =
        json_body(app.get("/api/hospitals/nearby/?lat=24.8607&lng=67.0011&radius_km=100", None).await).await;

    let names = |body: &Value| -> Vec<String> {
        body["hospitals"]
            .as_array()
            .expect("list")
            .iter()
            .map(|h| h["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(names(&within_10), ["Near Hospital", "Mid Hospital"]);
    assert_eq!(within_10["count"], 2);
    assert_eq!(within_10["radius_km"], 10.0);
    assert_eq!(default_radius["radius_km"], 10.0);
    assert_eq!(names(&within_100), ["Near Hospital", "Mid Hospital", "Far Hospital"]);
    let far_km: f64 = within_100["hospitals"][2]["distance_km"].as_str().expect("string").parse().expect("number");
    assert!((48.0..53.0).contains(&far_km), "{far_km}");
    assert_eq!(within_10["hospitals"][0]["distance_km"], "0.02", "about 15 m, 2 decimals");
}

#[sqlx::test]
async fn nearby_refuses_missing_or_out_of_range_input(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    for (query, field) in [
        ("lng=67", "lat"),
        ("lat=24.8", "lng"),
        ("lat=95&lng=67", "lat"),
        ("lat=24&lng=181", "lng"),
        ("lat=24&lng=67&radius_km=0", "radius_km"),
        // A subnormal radius once underflowed Postgres float arithmetic: a 500.
        ("lat=-90&lng=179&radius_km=5e-324", "radius_km"),
        ("lat=24&lng=67&radius_km=5000", "radius_km"),
        ("lat=abc&lng=67", "lat"),
    ] {
        let response = app.get(&format!("/api/hospitals/nearby/?{query}"), None).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(json_body(response).await[field].is_array(), "{query} names {field}");
    }
}

#[sqlx::test]
async fn nearby_takes_subnormal_coordinates_as_zero_instead_of_failing(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    // 5e-324 is finite and in range; multiplied in Postgres it underflowed: a 500.
    for query in ["lat=5e-324&lng=67", "lat=24&lng=5e-324", "lat=-5e-324&lng=-5e-324&radius_km=1"] {
        let response = app.get(&format!("/api/hospitals/nearby/?{query}"), None).await;

        assert_eq!(response.status(), StatusCode::OK, "{query}");
    }
}

#[sqlx::test]
async fn departments_belong_to_their_hospital_and_names_are_unique_per_hospital(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let a = app.approved_hospital("jinnah").await;
    let b = app.approved_hospital("civil").await;
    let cardiology = app.department_at(&a, "Cardiology").await;
    app.department_at(&b, "Cardiology").await;

    let clash = app.post("/api/hospitals/departments/", &json!({ "name": "CARDIOLOGY" }), Some(&a.token)).await;
    let own = json_body(app.get("/api/hospitals/departments/", Some(&a.token)).await).await;

    assert_eq!(clash.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(clash).await["name"].is_array());
    assert_eq!(own["count"], 1);
    assert_eq!(own["results"][0]["id"], cardiology);
    assert_eq!(own["results"][0]["hospital"], a.id);
}

#[sqlx::test]
async fn another_hospitals_department_is_not_found_to_read_change_or_delete(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let a = app.approved_hospital("jinnah").await;
    let b = app.approved_hospital("civil").await;
    let cardiology = app.department_at(&a, "Cardiology").await;
    let path = format!("/api/hospitals/departments/{cardiology}/");

    let read = app.get(&path, Some(&b.token)).await;
    let change = app.patch(&path, &json!({ "name": "Mine now" }), Some(&b.token)).await;
    let replace = app.put(&path, &json!({ "name": "Mine now" }), Some(&b.token)).await;
    let delete = app.send_json(Method::DELETE, &path, &json!({}), Some(&b.token)).await;

    for response in [read, change, replace, delete] {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let name: String = sqlx::query_scalar("select name from departments where id = $1")
        .bind(cardiology)
        .fetch_one(&db)
        .await
        .expect("row");
    assert_eq!(name, "Cardiology", "nothing changed");
    let deleted = app.send_json(Method::DELETE, &path, &json!({}), Some(&a.token)).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.audit_rows("department_deleted").await.len(), 1);
}

#[sqlx::test]
async fn patients_read_departments_of_approved_hospitals_but_cannot_change_them(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    let a = app.approved_hospital("jinnah").await;
    let b = app.approved_hospital("civil").await;
    let cardiology = app.department_at(&a, "Cardiology").await;
    app.department_at(&b, "Neurology").await;
    let closed = app.department_at(&a, "Closed Ward").await;
    app.patch(&format!("/api/hospitals/departments/{closed}/"), &json!({ "is_active": false }), Some(&a.token)).await;
    approve(&app, &admin, b.id, false).await;
    let token = app.patient("zainab").await.token;

    let all = json_body(app.get("/api/hospitals/departments/", Some(&token)).await).await;
    let of_a =
        json_body(app.get(&format!("/api/hospitals/departments/?hospital_id={}", a.id), Some(&token)).await).await;
    let nested = json_body(app.get(&format!("/api/hospitals/{}/departments/", a.id), Some(&token)).await).await;
    let create = app.post("/api/hospitals/departments/", &json!({ "name": "Mine" }), Some(&token)).await;
    let change =
        app.patch(&format!("/api/hospitals/departments/{cardiology}/"), &json!({ "name": "X" }), Some(&token)).await;
    let anonymous = app.get("/api/hospitals/departments/", None).await;

    assert_eq!(all["count"], 1, "only the approved hospital's active department: {all}");
    assert_eq!(of_a["results"][0]["name"], "Cardiology");
    assert_eq!(nested["count"], 1);
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
    assert_eq!(change.status(), StatusCode::FORBIDDEN);
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn a_created_doctor_gets_the_original_username_and_a_strong_one_time_password(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;

    let first = app.create_doctor(&hospital).await;
    let second = app.create_doctor(&hospital).await;

    assert_eq!(first["username"], "alimehmood_jinnahhospital");
    assert_eq!(second["username"], "alimehmood_jinnahhospital1");
    assert_eq!(first["credentials"]["username"], first["username"]);
    assert_eq!(first["credentials"]["password"], first["password"]);
    assert_eq!(first["doctor"]["hospital"], hospital.id);
    assert_eq!(first["doctor"]["available_timings"], json!({ "monday": ["09:00-13:00"] }));
    let password = first["password"].as_str().expect("password");
    assert!(password.len() >= 12);
    assert!(password.chars().any(|c| c.is_ascii_uppercase()) && password.chars().any(|c| c.is_ascii_lowercase()));
    assert!(password.chars().any(|c| c.is_ascii_digit()) && password.chars().any(|c| "!@#$%^&*".contains(c)));
    let stored: String =
        sqlx::query_scalar("select password_hash from users where username = 'alimehmood_jinnahhospital'")
            .fetch_one(&db)
            .await
            .expect("row");
    assert!(stored.starts_with("$argon2id$") && !stored.contains(password));
    let audit: i64 = sqlx::query_scalar("select count(*) from audit_log where details::text like '%' || $1 || '%'")
        .bind(password)
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(audit, 0, "the password is in no audit row");

    let doctor = TestUser { id: 0, username: "alimehmood_jinnahhospital".into(), password: password.into() };
    let tokens = app.login(&doctor).await;
    assert_eq!(claims(&tokens.access)["hospital_id"], hospital.id);
    let working = app.get("/api/accounts/users/", Some(&tokens.access)).await;
    assert_eq!(working.status(), StatusCode::OK, "a generated password works within its window");
    assert_eq!(working.headers()["password-change-required"], "true");
}

#[sqlx::test]
async fn concurrent_doctor_creations_with_one_name_get_distinct_usernames(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;

    let responses =
        futures::future::join_all((0..20).map(|_| {
            app.post("/api/hospitals/doctors/create/", &doctor_body("Ali", "Mehmood"), Some(&hospital.token))
        }))
        .await;

    let mut usernames = Vec::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::CREATED);
        usernames.push(json_body(response).await["username"].as_str().expect("username").to_owned());
    }
    usernames.sort();
    usernames.dedup();
    assert_eq!(usernames.len(), 20, "{usernames:?}");
    assert!(usernames.contains(&"alimehmood_jinnahhospital".to_owned()));
    assert!(usernames.contains(&"alimehmood_jinnahhospital19".to_owned()));
}

#[sqlx::test]
async fn doctor_input_is_validated_and_departments_must_be_the_hospitals_own(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let a = app.approved_hospital("jinnah").await;
    let b = app.approved_hospital("civil").await;
    let foreign = app.department_at(&b, "Neurology").await;
    let mut body = doctor_body("Ali", "Mehmood");
    body["available_timings"] = json!({ "funday": ["25:00-26:00"] });
    body["department"] = json!(foreign);
    body.as_object_mut().expect("object").remove("specialization");

    let response = app.post("/api/hospitals/doctors/create/", &body, Some(&a.token)).await;
    let patient_token = app.patient("zainab").await.token;
    let by_patient =
        app.post("/api/hospitals/doctors/create/", &doctor_body("Ali", "Mehmood"), Some(&patient_token)).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors = json_body(response).await;
    for field in ["available_timings", "department", "specialization"] {
        assert!(errors[field].is_array(), "{field} missing from {errors}");
    }
    assert_eq!(by_patient.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.user_count().await, 4, "admin, two hospitals, the patient: no doctor");
}

#[sqlx::test]
async fn another_hospitals_doctor_is_not_found_and_lists_are_scoped(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let a = app.approved_hospital("jinnah").await;
    let b = app.approved_hospital("civil").await;
    let cardiology = app.department_at(&a, "Cardiology").await;
    let ali_id = app.doctor_at(&a).await.id;
    let sara_id = app.doctor_at(&a).await.id;
    app.doctor_at(&b).await;
    let path = format!("/api/hospitals/doctors/{ali_id}/");

    let read = app.get(&path, Some(&b.token)).await;
    let change = app.patch(&path, &json!({ "is_active": false }), Some(&b.token)).await;
    let moved = app
        .patch(&path, &json!({ "department": cardiology, "specialization": "Interventional" }), Some(&a.token))
        .await;
    app.patch(&format!("/api/hospitals/doctors/{sara_id}/"), &json!({ "is_active": false }), Some(&a.token)).await;
    let own = json_body(app.get("/api/hospitals/doctors/", Some(&a.token)).await).await;
    let by_department =
        json_body(app.get(&format!("/api/hospitals/doctors/?department={cardiology}"), Some(&a.token)).await).await;
    let patient_token = app.patient("zainab").await.token;
    let public = json_body(app.get(&format!("/api/hospitals/{}/doctors/", a.id), Some(&patient_token)).await).await;
    let owner_view = json_body(app.get(&format!("/api/hospitals/{}/doctors/", a.id), Some(&a.token)).await).await;

    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    assert_eq!(change.status(), StatusCode::NOT_FOUND);
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(json_body(moved).await["department_name"], "Cardiology");
    assert_eq!(own["count"], 2, "the hospital's own doctors only");
    assert_eq!(by_department["count"], 1);
    assert_eq!(public["count"], 1, "active doctors only for others");
    assert_eq!(public["results"][0]["id"], ali_id);
    for private in ["cnic", "address", "phone_number", "doctor_email", "doctor_username", "user"] {
        assert!(public["results"][0].get(private).is_none(), "{private} shown to a patient");
    }
    assert!(owner_view["results"][0].get("cnic").is_some(), "the owner sees the full record");
    assert_eq!(owner_view["count"], 2);
    let active: bool = sqlx::query_scalar("select is_active from doctor_profiles where id = $1")
        .bind(ali_id)
        .fetch_one(&db)
        .await
        .expect("row");
    assert!(active, "hospital B changed nothing");
}

#[sqlx::test]
async fn dashboard_stats_count_hospitals_from_their_table(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    let hospital = app.approved_hospital("jinnah").await;
    register(&app, "civil", "Civil Hospital", "LIC-2", "24.9", "67.1").await;
    let (rejected, _) = register(&app, "shady", "Shady Clinic", "LIC-3", "24.9", "67.1").await;
    approve(&app, &admin, rejected, false).await;
    app.doctor_at(&hospital).await;
    app.user(UserType::Patient, "patient1").await;

    let stats = json_body(app.get("/api/accounts/dashboard-stats/", Some(&admin)).await).await;

    assert_eq!(stats["total_hospitals"], 3);
    assert_eq!(stats["approved_hospitals"], 1);
    assert_eq!(stats["pending_hospitals"], 1);
    assert_eq!(stats["total_doctors"], 1);
    assert_eq!(stats["total_patients"], 1);
}

#[sqlx::test]
async fn a_deactivated_doctor_and_the_doctors_of_a_rejected_hospital_lose_access(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await.token;
    let hospital = app.approved_hospital("jinnah").await;
    let TestDoctor { id, user: doctor, token: session, .. } = app.doctor_at(&hospital).await;
    let path = format!("/api/hospitals/doctors/{id}/");

    let off = app.patch(&path, &json!({ "is_active": false }), Some(&hospital.token)).await;
    assert_eq!(off.status(), StatusCode::OK);
    assert_eq!(app.get("/api/accounts/me/", Some(&session)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_response(&doctor.username, &doctor.password).await.status(), StatusCode::UNAUTHORIZED);

    app.patch(&path, &json!({ "is_active": true }), Some(&hospital.token)).await;
    let again = app.login(&doctor).await;
    assert_eq!(app.get("/api/accounts/me/", Some(&again.access)).await.status(), StatusCode::OK);

    approve(&app, &admin, hospital.id, false).await;
    assert_eq!(app.get("/api/accounts/me/", Some(&again.access)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_response(&doctor.username, &doctor.password).await.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn racing_doctor_updates_keep_the_profile_and_its_login_in_step(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let id = app.doctor_at(&hospital).await.id;
    let path = format!("/api/hospitals/doctors/{id}/");

    for round in 0..3 {
        // 20 PATCHes at once, each toggling is_active and changing other fields.
        let responses = futures::future::join_all((0..20).map(|n| {
            let body = json!({
                "is_active": (n + round) % 3 != 0,
                "specialization": format!("Specialty {n}"),
                "address": format!("{n} Road"),
            });
            app.patch(&path, &body, Some(&hospital.token))
        }))
        .await;

        for response in responses {
            assert_eq!(response.status(), StatusCode::OK);
        }
        let (profile, login, specialization, address): (bool, bool, String, String) = sqlx::query_as(
            "select p.is_active, u.is_active, p.specialization, p.address \
             from doctor_profiles p join users u on u.id = p.user_id where p.id = $1",
        )
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("row");
        assert_eq!(profile, login, "round {round}: profile active = {profile}, login active = {login}");
        let n: i64 = specialization.trim_start_matches("Specialty ").parse().expect("n");
        assert_eq!(address, format!("{n} Road"), "one request's fields, not a mix");
        assert_eq!(profile, (n + round) % 3 != 0, "the state the last request asked for");
    }
}

#[sqlx::test]
async fn racing_patches_of_different_hospital_fields_all_survive(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let path = format!("/api/hospitals/{}/", hospital.id);
    let changes = [
        json!({ "name": "Jinnah Renamed" }),
        json!({ "email": "new-desk@example.com" }),
        json!({ "address": "2 New Road" }),
        json!({ "location": "Lahore" }),
        json!({ "license_number": "LIC-9" }),
        json!({ "phone": "+922134567891" }),
    ];

    let responses =
        futures::future::join_all(changes.iter().map(|change| app.patch(&path, change, Some(&hospital.token)))).await;

    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let after = json_body(app.get(&path, Some(&hospital.token)).await).await;
    for change in &changes {
        for (field, value) in change.as_object().expect("object") {
            assert_eq!(&after[field], value, "the change of {field} was lost");
        }
    }
}

#[sqlx::test]
async fn racing_patches_of_different_department_fields_all_survive(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let hospital = app.approved_hospital("jinnah").await;
    let id = app.department_at(&hospital, "Cardiology").await;
    let path = format!("/api/hospitals/departments/{id}/");
    let changes = [
        json!({ "name": "Heart Centre" }),
        json!({ "description": "Heart and vessels" }),
        json!({ "is_active": false }),
    ];

    let responses =
        futures::future::join_all(changes.iter().map(|change| app.patch(&path, change, Some(&hospital.token)))).await;

    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let after = json_body(app.get(&path, Some(&hospital.token)).await).await;
    for change in &changes {
        for (field, value) in change.as_object().expect("object") {
            assert_eq!(&after[field], value, "the change of {field} was lost");
        }
    }
}

#[sqlx::test]
async fn a_hospital_resets_only_its_own_doctors_password_and_ends_the_old_logins_without_seeing_it(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let jinnah = app.approved_hospital("jinnah").await;
    let civil = app.approved_hospital("civil").await;
    let TestDoctor { id, user: doctor, token, refresh } = app.doctor_at(&jinnah).await;
    let patient_token = app.patient("zainab").await.token;
    let path = format!("/api/hospitals/doctors/{id}/reset-password/");

    let foreign = app.post(&path, &json!({}), Some(&civil.token)).await;
    let by_patient = app.post(&path, &json!({}), Some(&patient_token)).await;
    let anonymous = app.post(&path, &json!({}), None).await;
    let missing = app.post("/api/hospitals/doctors/999999/reset-password/", &json!({}), Some(&jinnah.token)).await;
    let reset = app.post(&path, &json!({}), Some(&jinnah.token)).await;

    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(by_patient.status(), StatusCode::FORBIDDEN);
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(reset.status(), StatusCode::OK);
    let body = json_body(reset).await;
    assert!(body["message"].is_string());
    assert_eq!(body["phone_number"], "+92*******7890");
    assert!(body.get("password").is_none() && body.get("credentials").is_none(), "{body}");

    assert_eq!(app.get("/api/accounts/me/", Some(&token)).await.status(), StatusCode::UNAUTHORIZED);
    let refresh = app.post("/api/token/refresh/", &json!({ "refresh": refresh }), None).await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED, "the old login is ended");
    assert_eq!(app.login_response(&doctor.username, &doctor.password).await.status(), StatusCode::UNAUTHORIZED);

    let rows = app.audit_rows("doctor_password_reset").await;
    assert_eq!(rows.len(), 1, "only the hospital's own reset happened");
    assert_eq!(rows[0].target_id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(rows[0].details["logins_revoked"], 1);
    let queued: i64 = sqlx::query_scalar("select count(*) from outbox where job_type = 'SendTemporaryPassword'")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(queued, 1, "the temporary password is made and sent by the worker");
}

#[sqlx::test]
async fn the_openapi_document_describes_the_doctor_password_reset(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let schema = json_body(app.get("/api/schema/", None).await).await;

    let operation = &schema["paths"]["/api/hospitals/doctors/{id}/reset-password/"]["post"];
    assert!(operation.is_object(), "reset-password is documented");
    assert_eq!(
        operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PasswordResetResponse"
    );
}
