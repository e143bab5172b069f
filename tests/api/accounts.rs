//! Registration, the caller's account, password changes (voluntary, and of generated passwords
//! within and after their window), the user list and the dashboard.

use carehub::accounts::model::UserType;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, TestUser, json_body, registration};

#[sqlx::test]
async fn registration_creates_a_patient_with_consent_and_an_e164_phone(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let mut body = registration("zainab");
    body["allergies"] = json!(["Penicillin", " "]);
    body["date_of_birth"] = json!("1991-02-03");

    let response = app.post("/api/accounts/patients/register/", &body, None).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let created = json_body(response).await;
    assert_eq!(created["username"], "zainab");
    assert_eq!(created["phone_number"], "+923007654321");
    assert_eq!(created["user_type"], "PATIENT");
    assert!(created.get("password").is_none() && created.get("password_confirm").is_none());
    let (consent, allergies): (bool, Vec<String>) =
        sqlx::query_as("select consent_given_at is not null, allergies from patient_profiles where user_id = $1")
            .bind(created["id"].as_i64())
            .fetch_one(&db)
            .await
            .expect("profile");
    assert!(consent);
    assert_eq!(allergies, vec!["Penicillin"]);
    let rows = app.audit_rows("patient_registered").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_id, created["id"].as_i64());
    let login = app.login_response("zainab", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[sqlx::test]
async fn registration_without_consent_is_refused_and_creates_nothing(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let mut refused = registration("zainab");
    refused["consent"] = json!(false);
    let mut missing = registration("zainab");
    missing.as_object_mut().expect("object").remove("consent");

    let refused = app.post("/api/accounts/patients/register/", &refused, None).await;
    let missing = app.post("/api/accounts/patients/register/", &missing, None).await;

    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(refused).await["consent"][0].as_str().expect("message").contains("consent"));
    assert_eq!(json_body(missing).await["consent"], json!(["This field is required."]));
    assert_eq!(app.user_count().await, 0);
    assert!(app.audit_rows("patient_registered").await.is_empty());
}

#[sqlx::test]
async fn registration_reports_every_bad_field_at_once(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let body = json!({
        "username": "has space",
        "email": "not-an-email",
        "password": "12345678",
        "password_confirm": "12345679",
        "phone_number": "12",
        "consent": true,
        "gender": "robot",
    });

    let response = app.post("/api/accounts/patients/register/", &body, None).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors = json_body(response).await;
    for field in ["username", "email", "password", "password_confirm", "phone_number", "gender"] {
        assert!(errors[field].is_array(), "{field} missing from {errors}");
    }
    assert!(errors["password"].to_string().contains("entirely numeric"), "{errors}");
    assert_eq!(app.user_count().await, 0);
}

#[sqlx::test]
async fn common_and_short_passwords_are_refused(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    for (password, message) in [("password", "too common"), ("Ab1!", "too short"), ("zainab2024", "similar")] {
        let mut body = registration("zainab");
        body["password"] = json!(password);
        body["password_confirm"] = json!(password);

        let response = app.post("/api/accounts/patients/register/", &body, None).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{password}");
        let errors = json_body(response).await;
        assert!(errors["password"].to_string().contains(message), "{password}: {errors}");
    }
}

#[sqlx::test]
async fn usernames_clash_ignoring_case(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    app.register_patient("Zainab").await;

    let response = app.post("/api/accounts/patients/register/", &registration("zAINAB"), None).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(response).await["username"], json!(["A user with that username already exists."]));
    assert_eq!(app.user_count().await, 1);
}

#[sqlx::test]
async fn concurrent_registrations_of_one_name_create_exactly_one_account(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let names = ["samir", "SAMIR", "Samir", "sAmir", "samiR", "SaMiR"];

    let responses = futures::future::join_all(
        names.iter().map(|name| app.post("/api/accounts/patients/register/", &registration(name), None)),
    )
    .await;

    let statuses: Vec<StatusCode> = responses.iter().map(reqwest::Response::status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count(), names.len() - 1, "{statuses:?}");
    assert_eq!(app.user_count().await, 1);
}

#[sqlx::test]
async fn me_patch_changes_names_and_normalizes_the_phone(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.patient("zainab").await;

    let response = app
        .patch(
            "/api/accounts/me/",
            &json!({ "first_name": "Zara", "phone_number": "+92 301 1112223" }),
            Some(&patient.token),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["first_name"], "Zara");
    assert_eq!(body["last_name"], "Ali", "untouched fields stay");
    assert_eq!(body["full_name"], "Zara Ali");
    assert_eq!(body["phone_number"], "+923011112223");
    let rows = app.audit_rows("profile_updated").await;
    assert_eq!(rows[0].details["fields"], json!(["first_name", "phone_number"]));
}

#[sqlx::test]
async fn me_put_requires_a_username_and_refuses_a_taken_one(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.patient("zainab").await;
    app.register_patient("omar").await;

    let without = app.put("/api/accounts/me/", &json!({ "first_name": "Z" }), Some(&patient.token)).await;
    let taken = app.put("/api/accounts/me/", &json!({ "username": "OMAR" }), Some(&patient.token)).await;
    let renamed = app.put("/api/accounts/me/", &json!({ "username": "zainab.ali" }), Some(&patient.token)).await;

    assert_eq!(without.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(without).await["username"], json!(["This field is required."]));
    assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(taken).await["username"], json!(["A user with that username already exists."]));
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(json_body(renamed).await["username"], "zainab.ali");
}

#[sqlx::test]
async fn a_user_cannot_change_their_own_active_status(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.patient("zainab").await;

    let response =
        app.patch("/api/accounts/me/", &json!({ "is_active": false, "first_name": "Q" }), Some(&patient.token)).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(response).await["is_active"].is_array());
    let first_name: String = sqlx::query_scalar("select first_name from users where id = $1")
        .bind(patient.user.id)
        .fetch_one(&db)
        .await
        .expect("row");
    assert_eq!(first_name, "Zainab", "a refused request changes nothing");
}

#[sqlx::test]
async fn change_password_revokes_the_other_logins_but_keeps_this_one(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.patient("zainab").await;
    let elsewhere = app.login(&patient.user).await;
    let new_password = "Quiet-Harbor-Violet-77";

    let response = app
        .post(
            "/api/accounts/change-password/",
            &json!({ "old_password": PASSWORD, "new_password": new_password, "new_password_confirm": new_password }),
            Some(&patient.token),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["message"], "Password changed successfully.");
    assert_eq!(app.get("/api/accounts/me/", Some(&patient.token)).await.status(), StatusCode::OK);
    assert_eq!(app.get("/api/accounts/me/", Some(&elsewhere.access)).await.status(), StatusCode::UNAUTHORIZED);
    let refresh = app.post("/api/token/refresh/", &json!({ "refresh": elsewhere.refresh }), None).await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_response("zainab", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_response("zainab", new_password).await.status(), StatusCode::OK);
    let rows = app.audit_rows("password_changed").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].details["other_logins_revoked"], 1);
}

#[sqlx::test]
async fn change_password_checks_the_old_password_and_the_new_rules(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.patient("zainab").await;
    let change = |old: &str, new: &str, confirm: &str| {
        app.post(
            "/api/accounts/change-password/",
            &json!({ "old_password": old, "new_password": new, "new_password_confirm": confirm }),
            Some(&patient.token),
        )
    };

    let wrong_old = change("Wrong-Old-Password-1", "Quiet-Harbor-Violet-77", "Quiet-Harbor-Violet-77").await;
    let mismatch = change(PASSWORD, "Quiet-Harbor-Violet-77", "Quiet-Harbor-Violet-78").await;
    let weak = change(PASSWORD, "123456789", "123456789").await;
    let missing = app.post("/api/accounts/change-password/", &json!({}), Some(&patient.token)).await;

    assert_eq!(wrong_old.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(wrong_old).await["old_password"], json!(["Old password is incorrect."]));
    assert!(json_body(mismatch).await["new_password_confirm"].is_array());
    assert!(json_body(weak).await["new_password"].is_array());
    let missing = json_body(missing).await;
    for field in ["old_password", "new_password", "new_password_confirm"] {
        assert_eq!(missing[field], json!(["This field is required."]));
    }
    assert_eq!(app.login_response("zainab", PASSWORD).await.status(), StatusCode::OK, "password unchanged");
}

const FLAG: &str = "password-change-required";

#[sqlx::test]
async fn a_generated_password_gives_full_access_within_its_window_and_every_answer_says_so(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let doctor = app.user_with(UserType::Doctor, "alimehmood_jinnahhospital", true, true).await;
    let patient = app.patient("zainab").await;
    let tokens = app.login(&doctor).await;

    let me = app.get("/api/accounts/me/", Some(&tokens.access)).await;
    let users = app.get("/api/accounts/users/", Some(&tokens.access)).await;
    let patch = app.patch("/api/accounts/me/", &json!({ "first_name": "Ali" }), Some(&tokens.access)).await;
    let refused = app.get("/api/accounts/dashboard-stats/", Some(&tokens.access)).await;
    let patients_me = app.get("/api/accounts/me/", Some(&patient.token)).await;

    for response in [&me, &users, &patch, &refused] {
        assert_eq!(response.headers()[FLAG], "true", "{}", response.url());
    }
    assert_eq!(json_body(me).await["must_change_password"], true);
    assert_eq!(users.status(), StatusCode::OK);
    assert_eq!(patch.status(), StatusCode::OK);
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_body(refused).await["code"], "permission_denied", "an ordinary refusal, flagged too");
    assert!(patients_me.headers().get(FLAG).is_none(), "a chosen password is not flagged");
}

/// Moves the user's generated password past a 72-hour window.
async fn expire_generated_password(db: &PgPool, user_id: i64) {
    sqlx::query("update users set password_changed_at = now() - interval '73 hours' where id = $1")
        .bind(user_id)
        .execute(db)
        .await
        .expect("backdate");
}

#[sqlx::test]
async fn when_the_window_ends_an_issued_token_opens_only_me_and_change_password(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let doctor = app.user_with(UserType::Doctor, "alimehmood_jinnahhospital", true, true).await;
    let tokens = app.login(&doctor).await;
    assert_eq!(app.get("/api/accounts/users/", Some(&tokens.access)).await.status(), StatusCode::OK);

    expire_generated_password(&db, doctor.id).await;
    let users = app.get("/api/accounts/users/", Some(&tokens.access)).await;
    let patch = app.patch("/api/accounts/me/", &json!({ "first_name": "Ali" }), Some(&tokens.access)).await;
    let me = app.get("/api/accounts/me/", Some(&tokens.access)).await;
    let login = app.login_response(&doctor.username, PASSWORD).await;

    for blocked in [users, patch] {
        assert_eq!(blocked.status(), StatusCode::FORBIDDEN);
        assert_eq!(blocked.headers()[FLAG], "true");
        assert_eq!(json_body(blocked).await["code"], "password_change_required");
    }
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(json_body(me).await["must_change_password"], true);
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    let login = json_body(login).await;
    assert_eq!(login["code"], "password_expired");
    assert!(login["detail"].as_str().expect("detail").contains("expired"));
    assert_eq!(app.audit_rows("login_refused").await[0].details["reason"], "password_expired");

    let new_password = "Steady-Cedar-Orbit-31";
    let changed = app
        .post(
            "/api/accounts/change-password/",
            &json!({ "old_password": PASSWORD, "new_password": new_password, "new_password_confirm": new_password }),
            Some(&tokens.access),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let users = app.get("/api/accounts/users/", Some(&tokens.access)).await;
    assert_eq!(users.status(), StatusCode::OK, "the same login works once the password is changed");
    assert!(users.headers().get(FLAG).is_none());
    assert_eq!(app.login_response(&doctor.username, new_password).await.status(), StatusCode::OK);
}

#[sqlx::test]
async fn after_the_configured_window_only_change_password_takes_the_generated_password(db: PgPool) {
    let app = TestApp::spawn_with(&db, |settings| settings.auth.generated_password_hours = 0).await;
    let doctor = app.user_with(UserType::Doctor, "alimehmood_jinnahhospital", true, true).await;
    let new_password = "Steady-Cedar-Orbit-31";

    let login = app.login_response(&doctor.username, PASSWORD).await;
    let changed = app
        .post(
            "/api/accounts/change-password/",
            &json!({ "username": doctor.username, "old_password": PASSWORD, "new_password": new_password,
                     "new_password_confirm": new_password }),
            None,
        )
        .await;

    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(login).await["code"], "password_expired");
    assert_eq!(changed.status(), StatusCode::OK, "{:?}", changed.text().await);
    assert_eq!(app.login_response(&doctor.username, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let tokens = app.login(&TestUser { password: new_password.into(), ..doctor.clone() }).await;
    let me = app.get("/api/accounts/me/", Some(&tokens.access)).await;
    assert!(me.headers().get(FLAG).is_none());
    assert_eq!(json_body(me).await["must_change_password"], false);
    let rows = app.audit_rows("password_changed").await;
    assert_eq!((rows[0].actor_id, &rows[0].details["signed_in"]), (Some(doctor.id), &json!(false)));
}

#[sqlx::test]
async fn changing_a_password_without_a_login_takes_only_the_right_generated_one(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let doctor = app.user_with(UserType::Doctor, "alimehmood_jinnahhospital", true, true).await;
    expire_generated_password(&db, doctor.id).await;
    let patient = app.register_patient("zainab").await;
    let change = |username: &str, old: &str, new: &str| {
        app.post(
            "/api/accounts/change-password/",
            &json!({ "username": username, "old_password": old, "new_password": new, "new_password_confirm": new }),
            None,
        )
    };

    let nobody = app.post("/api/accounts/change-password/", &json!({ "old_password": PASSWORD }), None).await;
    let wrong = change(&doctor.username, "Wrong-Old-Password-1", "Quiet-Harbor-Violet-77").await;
    let unknown = change("nobody", PASSWORD, "Quiet-Harbor-Violet-77").await;
    let chosen = change(&patient.username, PASSWORD, "Quiet-Harbor-Violet-77").await;
    let weak = change(&doctor.username, PASSWORD, "123456789").await;
    let bad_token = app
        .post(
            "/api/accounts/change-password/",
            &json!({ "username": doctor.username, "old_password": PASSWORD, "new_password": "Quiet-Harbor-Violet-77",
                     "new_password_confirm": "Quiet-Harbor-Violet-77" }),
            Some("not-a-token"),
        )
        .await;

    assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(nobody).await["code"], "not_authenticated");
    for refused in [wrong, unknown] {
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json_body(refused).await["code"], "no_active_account");
    }
    assert_eq!(chosen.status(), StatusCode::FORBIDDEN, "a chosen password is changed signed in");
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(weak).await["new_password"].is_array());
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(bad_token).await["code"], "token_not_valid");
    assert_eq!(app.login_response(&patient.username, PASSWORD).await.status(), StatusCode::OK, "unchanged");
    assert_eq!(json_body(app.login_response(&doctor.username, PASSWORD).await).await["code"], "password_expired");
}

#[sqlx::test]
async fn an_admin_lists_every_user_page_by_page_and_by_role(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    for n in 0..4 {
        app.user(UserType::Patient, &format!("patient{n}")).await;
    }
    app.user(UserType::Doctor, "doctor0").await;

    let first = json_body(app.get("/api/accounts/users/?page_size=2", Some(&admin.token)).await).await;
    let patients = json_body(app.get("/api/accounts/users/?user_type=PATIENT", Some(&admin.token)).await).await;
    let bad_filter = app.get("/api/accounts/users/?user_type=ROBOT", Some(&admin.token)).await;
    let past_end = app.get("/api/accounts/users/?page=9", Some(&admin.token)).await;

    assert_eq!(first["count"], 6);
    assert_eq!(first["results"].as_array().expect("results").len(), 2);
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().expect("next link");
    assert!(next.starts_with(&app.address) && next.contains("page=2") && next.contains("page_size=2"), "{next}");
    let second = json_body(app.client.get(next).bearer_auth(&admin.token).send().await.expect("sent")).await;
    assert_eq!(second["results"].as_array().expect("results").len(), 2);
    assert_ne!(second["results"][0]["id"], first["results"][0]["id"]);
    assert_eq!(patients["count"], 4);
    assert!(patients["results"].as_array().expect("results").iter().all(|u| u["user_type"] == "PATIENT"));
    assert_eq!(bad_filter.status(), StatusCode::BAD_REQUEST);
    assert!(json_body(bad_filter).await["user_type"].is_array());
    assert_eq!(past_end.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_body(past_end).await["detail"], "Invalid page.");
    assert!(!app.audit_rows("users_listed").await.is_empty(), "an admin reading users is audited");
}

#[sqlx::test]
async fn anyone_else_listing_users_sees_only_themselves(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    app.admin().await;
    app.register_patient("omar").await;
    let patient = app.patient("zainab").await;

    let response = app.get("/api/accounts/users/?user_type=ADMIN", Some(&patient.token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["count"], 1);
    assert_eq!(body["results"][0]["id"], patient.user.id);
    assert_eq!(app.get("/api/accounts/users/", None).await.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn dashboard_stats_count_real_rows_for_admins_only(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let patient = app.patient("zainab").await;
    app.register_patient("omar").await;
    app.user(UserType::Doctor, "doctor0").await;
    app.user(UserType::Hospital, "approved_hospital").await;
    app.user_with(UserType::Hospital, "pending_hospital", false, false).await;

    let stats = json_body(app.get("/api/accounts/dashboard-stats/", Some(&admin.token)).await).await;
    let forbidden = app.get("/api/accounts/dashboard-stats/", Some(&patient.token)).await;
    let anonymous = app.get("/api/accounts/dashboard-stats/", None).await;

    assert_eq!(
        stats,
        json!({
            "total_users": 6, "total_patients": 2, "total_doctors": 1,
            // hospital accounts without a hospital row are not hospitals (see the hospitals tests)
            "total_hospitals": 0, "approved_hospitals": 0, "pending_hospitals": 0, "total_appointments": 0, "pending_appointments": 0,
        })
    );
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_body(forbidden).await["code"], "permission_denied");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
