//! Login, refresh rotation and reuse detection, logout, bearer authentication, throttling.

use carehub::accounts::model::UserType;
use futures::FutureExt as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, json_body, unnotified};

#[sqlx::test]
async fn login_returns_a_token_pair_that_opens_the_account(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let user = app.user(UserType::Patient, "amina").await;

    let tokens = app.login(&user).await;
    let me = app.get("/api/accounts/me/", Some(&tokens.access)).await;

    assert_eq!(me.status(), StatusCode::OK);
    let body = json_body(me).await;
    assert_eq!(body["id"], user.id);
    assert_eq!(body["username"], "amina");
    assert_eq!(body["user_type"], "PATIENT");
    assert!(body.get("password_hash").is_none() && body.get("password").is_none());
    let rows = app.audit_rows("login_succeeded").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_id, Some(user.id));
}

#[sqlx::test]
async fn login_ignores_the_case_of_the_username(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    app.user(UserType::Patient, "Amina.K").await;

    let response = app.login_response("aMINA.k", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[sqlx::test]
async fn wrong_password_and_unknown_user_get_the_same_401(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    app.user(UserType::Patient, "amina").await;

    let wrong = app.login_response("amina", "Not-The-Password-1").await;
    let unknown = app.login_response("nobody", "Not-The-Password-1").await;

    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let (wrong, unknown) = (json_body(wrong).await, json_body(unknown).await);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["detail"], "No active account found with the given credentials");
    let failures = app.audit_rows("login_failed").await;
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].details["reason"], "wrong_password");
    assert_eq!(failures[1].details["reason"], "unknown_user");
}

#[sqlx::test]
async fn an_inactive_account_cannot_log_in_even_with_its_password(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let pending = app.user_with(UserType::Hospital, "pending_hospital", false, false).await;

    let response = app.login_response(&pending.username, &pending.password).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let families: i64 =
        sqlx::query_scalar("select count(*) from refresh_token_families").fetch_one(&db).await.expect("count");
    assert_eq!(families, 0, "no login may be opened");
}

#[sqlx::test]
async fn login_names_each_missing_field(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let response = app.post("/api/token/", &json!({ "username": "" }), None).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json_body(response).await;
    assert_eq!(body["username"], json!(["This field may not be blank."]));
    assert_eq!(body["password"], json!(["This field is required."]));
}

#[sqlx::test]
async fn login_accepts_a_form_encoded_body(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    app.user(UserType::Patient, "amina").await;

    let response = app
        .client
        .post(app.url("/api/token/"))
        .form(&[("username", "amina"), ("password", PASSWORD)])
        .send()
        .await
        .expect("sent");

    assert_eq!(response.status(), StatusCode::OK);
}

#[sqlx::test]
async fn refresh_rotates_and_spends_the_presented_token(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let user = app.user(UserType::Patient, "amina").await;
    let first = app.login(&user).await;

    let response = app.post("/api/token/refresh/", &json!({ "refresh": first.refresh }), None).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    let (access, refresh) = (body["access"].as_str().expect("access"), body["refresh"].as_str().expect("refresh"));
    assert_ne!(refresh, first.refresh);
    assert_eq!(app.get("/api/accounts/me/", Some(access)).await.status(), StatusCode::OK);
    let next = app.post("/api/token/refresh/", &json!({ "refresh": refresh }), None).await;
    assert_eq!(next.status(), StatusCode::OK, "the new refresh token works");
}

#[sqlx::test]
async fn a_spent_refresh_token_presented_again_revokes_the_whole_login(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let user = app.user(UserType::Patient, "amina").await;
    let first = app.login(&user).await;
    let rotated = json_body(app.post("/api/token/refresh/", &json!({ "refresh": first.refresh }), None).await).await;
    let other_login = app.login(&user).await;

    let replay = app.post("/api/token/refresh/", &json!({ "refresh": first.refresh }), None).await;

    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(replay).await["code"], "token_not_valid");
    let successor = app.post("/api/token/refresh/", &json!({ "refresh": rotated["refresh"] }), None).await;
    assert_eq!(successor.status(), StatusCode::UNAUTHORIZED, "the rotated token dies with its family");
    let access = rotated["access"].as_str().expect("access");
    assert_eq!(app.get("/api/accounts/me/", Some(access)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/accounts/me/", Some(&first.access)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/accounts/me/", Some(&other_login.access)).await.status(),
        StatusCode::OK,
        "another login of the same user is untouched"
    );
    let rows = app.audit_rows("refresh_token_reused").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_id.as_deref(), Some(user.id.to_string().as_str()));
}

#[sqlx::test]
async fn concurrent_refreshes_of_one_token_yield_exactly_one_new_pair(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let user = app.user(UserType::Patient, "amina").await;
    let tokens = app.login(&user).await;

    let body = json!({ "refresh": tokens.refresh });
    let attempts = (0..8).map(|_| app.post("/api/token/refresh/", &body, None));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts).await.iter().map(|r| r.status()).collect();

    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "the first refresh wins, every other is a replay: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    let live: i64 = sqlx::query_scalar("select count(*) from refresh_token_families where revoked_at is null")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(live, 0, "a replay among concurrent refreshes revokes the login");
}

#[sqlx::test]
async fn refresh_refuses_garbage_and_names_a_missing_field(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let garbage = app.post("/api/token/refresh/", &json!({ "refresh": "not-a-token" }), None).await;
    let missing = app.post("/api/token/refresh/", &json!({}), None).await;

    assert_eq!(garbage.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(missing).await["refresh"], json!(["This field is required."]));
}

#[sqlx::test]
async fn blacklist_logs_out_refresh_and_access_alike(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let user = app.user(UserType::Patient, "amina").await;
    let tokens = app.login(&user).await;

    let response = app.post("/api/token/blacklist/", &json!({ "refresh": tokens.refresh }), None).await;

    assert_eq!(response.status(), StatusCode::OK);
    let refresh = app.post("/api/token/refresh/", &json!({ "refresh": tokens.refresh }), None).await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/accounts/me/", Some(&tokens.access)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.audit_rows("logout").await.len(), 1);
    let again = app.post("/api/token/blacklist/", &json!({ "refresh": tokens.refresh }), None).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn requests_without_or_with_bad_tokens_get_drf_401s(db: PgPool) {
    let app = TestApp::spawn(&db).await;

    let none = app.get("/api/accounts/me/", None).await;
    let bad = app.get("/api/accounts/me/", Some("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl")).await;

    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(none).await["detail"], "Authentication credentials were not provided.");
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(bad).await["detail"], "Given token not valid for any token type");
}

#[sqlx::test]
async fn a_token_signed_with_another_secret_is_refused(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.admin().await;
    let forger = carehub::accounts::tokens::TokenKeys::new(&secrecy::SecretString::from("f".repeat(48)), 60);
    let claims_part = admin.token.split('.').nth(1).expect("payload");
    let claims: carehub::accounts::tokens::AccessClaims = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims_part).expect("b64"),
    )
    .expect("claims");
    let forged = forger.issue_access(&claims.principal()).expect("forged");

    let response = app.get("/api/accounts/me/", Some(&forged)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn failed_logins_lock_a_username_with_retry_after(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| {
        s.auth.failed_login_burst_per_username = 3;
        s.auth.failed_login_replenish_seconds_per_username = 120;
    })
    .await;
    let user = app.user(UserType::Patient, "amina").await;

    for _ in 0..3 {
        assert_eq!(app.login_response("amina", "Wrong-Guess-123").await.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = app.login_response("AMINA", "Wrong-Guess-123").await;

    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = locked.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((100..=121).contains(&retry_after), "{retry_after}");
    assert!(json_body(locked).await["detail"].as_str().expect("detail").contains("throttled"));
    let right_password = app.login_response(&user.username, &user.password).await;
    assert_eq!(
        right_password.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a locked username is refused before its password is checked"
    );
    let other = app.user(UserType::Patient, "bilal").await;
    assert_eq!(app.login_response(&other.username, &other.password).await.status(), StatusCode::OK);
}

#[sqlx::test]
async fn failed_logins_lock_a_client_address_across_usernames(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| {
        s.http.trust_proxy = true;
        s.auth.failed_login_burst_per_ip = 4;
    })
    .await;
    let user = app.user(UserType::Patient, "amina").await;
    let from = |ip: &'static str, username: &str, password: &str| {
        // The client's own hops come first; the router appends the real address last.
        let forged = format!("10.{}.0.1, {ip}", username.len());
        app.client
            .post(app.url("/api/token/"))
            .header("x-forwarded-for", forged)
            .json(&json!({ "username": username, "password": password }))
            .send()
    };

    for n in 0..4 {
        let response = from("203.0.113.9", &format!("guess{n}"), "Wrong-Guess-123").await.expect("sent");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = from("203.0.113.9", "guess9", "Wrong-Guess-123").await.expect("sent");
    let elsewhere = from("198.51.100.7", &user.username, &user.password).await.expect("sent");

    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(elsewhere.status(), StatusCode::OK, "other addresses are not affected");
}

#[sqlx::test]
async fn successful_logins_from_one_address_are_never_throttled(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| {
        s.auth.failed_login_burst_per_ip = 2;
        s.auth.failed_login_burst_per_username = 2;
    })
    .await;
    let mut staff = Vec::new();
    for n in 0..6 {
        staff.push(app.user(UserType::Doctor, &format!("doctor{n}")).await);
    }

    for round in 0..3 {
        for user in &staff {
            let response = app.login_response(&user.username, &user.password).await;
            assert_eq!(response.status(), StatusCode::OK, "round {round}, {}", user.username);
        }
    }
    let body: Value = json_body(app.login_response(&staff[0].username, &staff[0].password).await).await;
    assert!(body["access"].is_string());
}

fn device_cookie(response: &reqwest::Response) -> String {
    let set_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("carehub_device="))
        .expect("a device cookie is set at login")
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/api/token"), "{set_cookie}");
    set_cookie.split(';').next().expect("name=value").to_owned()
}

fn login_with_cookie(
    app: &TestApp,
    username: &str,
    password: &str,
    cookie: &str,
) -> impl Future<Output = reqwest::Response> + use<> {
    app.client
        .post(app.url("/api/token/"))
        .header("cookie", cookie.to_owned())
        .json(&json!({ "username": username, "password": password }))
        .send()
        .map(|r| r.expect("sent"))
}

#[sqlx::test]
async fn a_colleague_with_a_device_cookie_logs_in_while_the_shared_address_is_throttled(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| {
        s.auth.failed_login_burst_per_ip = 5;
        s.auth.failed_login_replenish_seconds_per_ip = 600;
    })
    .await;
    let colleague = app.user(UserType::Doctor, "dr_amina").await;
    let other = app.user(UserType::Doctor, "dr_bilal").await;
    let first = app.login_response(&colleague.username, &colleague.password).await;
    assert_eq!(first.status(), StatusCode::OK);
    let cookie = device_cookie(&first);
    let body = json_body(first).await;
    assert_eq!(format!("carehub_device={}", body["device_token"].as_str().expect("device_token")), cookie);

    // Someone behind the same address guesses at accounts that do not exist.
    let mut last = StatusCode::OK;
    for n in 0..8 {
        last = app.login_response(&format!("nobody{n}"), "Wrong-Guess-123").await.status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "the address is throttled");

    let with_cookie = login_with_cookie(&app, &colleague.username, &colleague.password, &cookie).await;
    let without_cookie = app.login_response(&other.username, &other.password).await;
    let cookie_of_another_account = login_with_cookie(&app, &other.username, &other.password, &cookie).await;
    let forged = login_with_cookie(&app, &colleague.username, &colleague.password, "carehub_device=v1.x.y.z").await;
    let token = cookie.trim_start_matches("carehub_device=");
    let in_header = app
        .client
        .post(app.url("/api/token/"))
        .header("x-device-token", token)
        .json(&json!({ "username": colleague.username, "password": colleague.password }))
        .send()
        .await
        .expect("sent");

    assert_eq!(with_cookie.status(), StatusCode::OK, "a known client gets through");
    assert_eq!(without_cookie.status(), StatusCode::TOO_MANY_REQUESTS, "an unknown client does not");
    assert_eq!(cookie_of_another_account.status(), StatusCode::TOO_MANY_REQUESTS, "a cookie is per account");
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(in_header.status(), StatusCode::OK, "a frontend on another site sends it in a header");
}

#[sqlx::test]
async fn a_device_cookie_does_not_lift_the_account_limit(db: PgPool) {
    let app = TestApp::spawn_with(&db, |s| {
        s.auth.failed_login_burst_per_username = 3;
        s.auth.failed_login_replenish_seconds_per_username = 600;
    })
    .await;
    let user = app.user(UserType::Patient, "amina").await;
    let cookie = device_cookie(&app.login_response(&user.username, &user.password).await);

    for _ in 0..3 {
        let wrong = login_with_cookie(&app, &user.username, "Wrong-Guess-123", &cookie).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = login_with_cookie(&app, &user.username, "Wrong-Guess-123", &cookie).await;
    let right_but_locked = login_with_cookie(&app, &user.username, &user.password, &cookie).await;

    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right_but_locked.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Asks for `me` until the answer is `want`, for at most two seconds; the status seen last.
async fn me_until(app: &TestApp, access: &str, want: StatusCode) -> StatusCode {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let status = app.get("/api/accounts/me/", Some(access)).await.status();
        if status == want || std::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The web process keeps a login's state in memory (one round trip less per request), and
/// changes made anywhere, by another process or straight in the database, still take effect
/// at once: the database notifies every process when a login is revoked or an account is
/// deactivated, and each empties its cache. Without that notification (triggers bypassed, as
/// only a superuser can) the cached state would be served: the test shows the cache is real and
/// that the notification is what ends it.
#[sqlx::test]
async fn a_login_revoked_or_an_account_deactivated_elsewhere_ends_cached_access_at_once(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let amina = app.user(UserType::Patient, "amina").await;
    let omar = app.user(UserType::Patient, "omar").await;
    let (first, second) = (app.login(&amina).await, app.login(&omar).await);
    assert_eq!(me_until(&app, &first.access, StatusCode::OK).await, StatusCode::OK);
    assert_eq!(me_until(&app, &second.access, StatusCode::OK).await, StatusCode::OK);
    // Revoked with the triggers switched off for that transaction: no notification. Until the
    // process's listening connection is up nothing is cached, so this is tried until it is.
    let silently = |revoked: bool| {
        let revoked_at = if revoked { "now()" } else { "null" };
        unnotified(
            &db,
            [format!(
                "update refresh_token_families set revoked_at = {revoked_at}, revoked_reason = 'test' where user_id = {}",
                amina.id
            )],
        )
    };
    let mut served_from_cache = false;
    for _ in 0..50 {
        assert_eq!(app.get("/api/accounts/me/", Some(&first.access)).await.status(), StatusCode::OK);
        silently(true).await;
        if app.get("/api/accounts/me/", Some(&first.access)).await.status() == StatusCode::OK {
            served_from_cache = true;
            break;
        }
        // Not cached yet (or the revoked state was): undo, and empty the cache with a notified
        // statement that changes nothing (a statement trigger fires for zero rows too).
        silently(false).await;
        sqlx::query("update refresh_token_families set revoked_at = null where false")
            .execute(&db)
            .await
            .expect("notify");
        assert_eq!(me_until(&app, &first.access, StatusCode::OK).await, StatusCode::OK);
    }
    assert!(served_from_cache, "unnotified, the cached state is what the process knows");

    // Any notified change empties the cache: the silent revocation shows too.
    sqlx::query("update users set is_active = false where id = $1")
        .bind(omar.id)
        .execute(&db)
        .await
        .expect("deactivate");
    assert_eq!(me_until(&app, &second.access, StatusCode::UNAUTHORIZED).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/accounts/me/", Some(&first.access)).await.status(), StatusCode::UNAUTHORIZED);

    // A revocation in another process, notified as usual.
    let third = app.login(&amina).await;
    assert_eq!(me_until(&app, &third.access, StatusCode::OK).await, StatusCode::OK);
    sqlx::query("update refresh_token_families set revoked_at = now(), revoked_reason = 'elsewhere' where user_id = $1 and revoked_at is null")
        .bind(amina.id)
        .execute(&db)
        .await
        .expect("revoke");
    assert_eq!(me_until(&app, &third.access, StatusCode::UNAUTHORIZED).await, StatusCode::UNAUTHORIZED);
}

/// A logout answered by this process ends the access token for the very next request: the
/// process empties its own cache before it answers, whatever the notification's timing.
#[sqlx::test]
async fn the_request_after_a_logout_is_refused_without_waiting_for_a_notification(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let user = app.user(UserType::Patient, "amina").await;
    for _ in 0..20 {
        let tokens = app.login(&user).await;
        assert_eq!(app.get("/api/accounts/me/", Some(&tokens.access)).await.status(), StatusCode::OK);
        let out = app.post("/api/token/blacklist/", &json!({ "refresh": tokens.refresh }), None).await;
        assert_eq!(out.status(), StatusCode::OK);
        assert_eq!(app.get("/api/accounts/me/", Some(&tokens.access)).await.status(), StatusCode::UNAUTHORIZED);
    }
}

/// Two web processes: a logout answered by one ends access through the other as well, however
/// warm the other's cache is: the notification empties it within moments, long before its time
/// limit (10 s) would.
#[sqlx::test]
async fn a_logout_in_one_web_process_ends_access_through_another(db: PgPool) {
    let one = TestApp::spawn(&db).await;
    let other = TestApp::spawn(&db).await;
    let user = one.user(UserType::Patient, "amina").await;
    for round in 0..3 {
        let tokens = one.login(&user).await;
        // Warm in the other process: its listener started by the first request, then cached.
        assert_eq!(me_until(&other, &tokens.access, StatusCode::OK).await, StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(other.get("/api/accounts/me/", Some(&tokens.access)).await.status(), StatusCode::OK);

        let out = one.post("/api/token/blacklist/", &json!({ "refresh": tokens.refresh }), None).await;
        assert_eq!(out.status(), StatusCode::OK, "round {round}");
        let started = std::time::Instant::now();
        assert_eq!(me_until(&other, &tokens.access, StatusCode::UNAUTHORIZED).await, StatusCode::UNAUTHORIZED);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "round {round}: {:?}", started.elapsed());
    }
}

/// `me` is answered from the process's cache, and a profile change shows at once: the caller's
/// own (the process empties its cache before answering) and one made anywhere else (the
/// database notifies every process). Without the notification the cached profile would be
/// served: the test shows the cache is real.
#[sqlx::test]
async fn me_shows_a_profile_change_at_once_wherever_it_was_made(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let amina = app.user(UserType::Patient, "amina").await;
    let access = app.login(&amina).await.access;
    let first_name = |app: &TestApp, access: &str| {
        let request = app.get("/api/accounts/me/", Some(access));
        async move {
            let response = request.await;
            assert_eq!(response.status(), StatusCode::OK);
            json_body(response).await["first_name"].as_str().expect("first_name").to_owned()
        }
    };

    // The caller's own changes, each read back at once.
    for round in 0..10 {
        let name = format!("Amina{round}");
        let response = app
            .client
            .patch(format!("{}/api/accounts/me/", app.address))
            .bearer_auth(&access)
            .json(&json!({ "first_name": name }))
            .send()
            .await
            .expect("patch");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(first_name(&app, &access).await, name, "round {round}");
    }

    // Renamed with the triggers off for that transaction: no notification, so once the process
    // listens the cached profile is served. Tried until the listening connection is up.
    let silently =
        |name: String| unnotified(&db, [format!("update users set first_name = '{name}' where id = {}", amina.id)]);
    let mut served_from_cache = false;
    for attempt in 0..50 {
        let cached = first_name(&app, &access).await;
        silently(format!("Silent {attempt}")).await;
        if first_name(&app, &access).await == cached {
            served_from_cache = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(served_from_cache, "unnotified, the cached profile is what the process knows");

    // A change made elsewhere, notified as usual, shows within moments.
    sqlx::query("update users set first_name = 'Elsewhere' where id = $1")
        .bind(amina.id)
        .execute(&db)
        .await
        .expect("rename elsewhere");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while first_name(&app, &access).await != "Elsewhere" {
        assert!(std::time::Instant::now() < deadline, "the notified change never showed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
