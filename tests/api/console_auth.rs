//! The console's login through HTTP, as a browser without script sends it: the password, the
//! TOTP second factor (enrolment, then codes accepted once, recovery codes), the cookie's
//! attributes, CSRF tokens, the session's limits, and who is refused.

use std::collections::BTreeMap;

use carehub::accounts::model::UserType;
use reqwest::{Response, StatusCode, header};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

use crate::helpers::{TestApp, TestUser};

const SESSION: &str = "__Host-carehub_console";
const LOGIN: &str = "__Host-carehub_console_login";

/// A cookie jar and the last page: what a browser keeps between requests.
pub struct Browser<'a> {
    app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, cookies: BTreeMap::new() }
    }

    fn keep_cookies(&mut self, response: &Response) {
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().expect("ascii cookie");
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, String, Option<String>) {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .expect("get");
        self.answer(response).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
        let response = self
            .app
            .client
            .post(self.app.url(path))
            .header(header::COOKIE, self.cookie_header())
            .header(header::ORIGIN, &self.app.address)
            .form(form)
            .send()
            .await
            .expect("post");
        self.answer(response).await
    }

    async fn answer(&mut self, response: Response) -> (StatusCode, String, Option<String>) {
        self.keep_cookies(&response);
        let status = response.status();
        let location = response.headers().get(header::LOCATION).map(|v| v.to_str().expect("ascii").to_owned());
        (status, response.text().await.expect("body"), location)
    }

    /// Logs in with `user`'s password; the answer to the login form.
    async fn password(&mut self, user: &TestUser) -> (StatusCode, String, Option<String>) {
        let (status, page, _) = self.get("/console/login/").await;
        assert_eq!(status, StatusCode::OK);
        let csrf = field(&page, "csrf");
        self.post("/console/login/", &[("csrf", &csrf), ("username", &user.username), ("password", &user.password)])
            .await
    }
}

/// A browser signed in to the console as `user` (an admin), its session made as a finished login
/// leaves it (password and second factor passed); forms post with CSRF token `test-csrf`.
pub async fn signed_in<'a>(app: &'a TestApp, user: &TestUser) -> Browser<'a> {
    let token = format!("test-console-token-{}", user.id);
    sqlx::query(
        "insert into console_sessions (token_hash, user_id, stage, csrf) values ($1, $2, 'ACTIVE', 'test-csrf')",
    )
    .bind(Sha256::digest(token.as_bytes()).to_vec())
    .bind(user.id)
    .execute(&app.db)
    .await
    .expect("console session");
    let mut browser = Browser::new(app);
    browser.cookies.insert(SESSION.to_owned(), token);
    browser
}

/// The value of the first input named `name` in `page`.
pub fn field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no field {name} in {page}")) + marker.len();
    page[start..].split('"').next().expect("value").to_owned()
}

/// The text of the element with id `id` (no nested elements).
fn text_of(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no #{id} in {page}")) + marker.len();
    page[start..].split('<').next().expect("text").to_owned()
}

fn code_at(secret_b32: &str, unix: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).expect("base32");
    let totp = totp_rs::Builder::new().with_secret(secret.as_ref().to_vec()).build().expect("totp");
    totp.generate(unix).to_string()
}

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970")
}

async fn audit_count(db: &PgPool, action: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_log where action = $1")
        .bind(action)
        .fetch_one(db)
        .await
        .expect("count")
}

/// Enrols `admin` through the pages; the browser signed in, the secret and the recovery codes.
async fn enrolled<'a>(app: &'a TestApp, admin: &TestUser) -> (Browser<'a>, String, Vec<String>) {
    let mut browser = Browser::new(app);
    let (status, _, location) = browser.password(admin).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/mfa/")));
    let (status, page, _) = browser.get("/console/mfa/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<svg role=\"img\""), "a QR code: {page}");
    let secret = text_of(&page, "totp-secret");
    let code = code_at(&secret, now());
    let (status, page, _) = browser.post("/console/mfa/", &[("csrf", &field(&page, "csrf")), ("code", &code)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let codes: Vec<String> =
        page.split("<li><code>").skip(1).map(|rest| rest.split('<').next().expect("code").to_owned()).collect();
    assert_eq!(codes.len(), 10, "{page}");
    (browser, secret, codes)
}

#[sqlx::test]
async fn an_admin_enrols_a_second_factor_and_each_code_opens_one_login_only(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.user(UserType::Admin, "root").await;
    let (mut browser, secret, recovery) = enrolled(&app, &admin).await;

    let (status, page, _) = browser.get("/console/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("<h1").count(), 1);
    assert!(page.contains("root"));
    assert_eq!(audit_count(&db, "console_mfa_enrolled").await, 1);
    assert_eq!(audit_count(&db, "console_login").await, 1);
    // The secret is stored sealed, the recovery codes only as hashes.
    let raw = totp_rs::Secret::try_from_base32(&secret).expect("base32").as_ref().to_vec();
    let sealed: Vec<u8> =
        sqlx::query_scalar("select secret_sealed from console_totp").fetch_one(&db).await.expect("row");
    assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()));
    let stored: i64 = sqlx::query_scalar("select count(*) from console_recovery_codes where used_at is null")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(stored, 10);
    let trail: String =
        sqlx::query_scalar("select string_agg(details::text, ' ') from audit_log").fetch_one(&db).await.expect("trail");
    assert!(!trail.contains(&secret) && !trail.contains(&recovery[0]));

    // Log out: the cookie opens nothing any more.
    let (_, page, _) = browser.get("/console/").await;
    let old = browser.cookies.clone();
    let (status, _, location) = browser.post("/console/logout/", &[("csrf", &field(&page, "csrf"))]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login/")));
    browser.cookies = old;
    let (status, _, location) = browser.get("/console/").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login/")));

    // The code that enrolled (same 30-second step) is not accepted again.
    let mut again = Browser::new(&app);
    again.password(&admin).await;
    let (_, page, _) = again.get("/console/mfa/").await;
    assert!(!page.contains("totp-secret"), "an enrolled admin is asked for a code, not shown a secret");
    let used = sqlx::query_scalar::<_, i64>("select last_step from console_totp").fetch_one(&db).await.expect("step");
    let replay = code_at(&secret, u64::try_from(used).expect("step") * 30);
    let (status, page, _) = again.post("/console/mfa/", &[("csrf", &field(&page, "csrf")), ("code", &replay)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a replayed code is refused");
    assert_eq!(audit_count(&db, "console_mfa_failed").await, 1);

    // A recovery code opens one login, once.
    let (status, _, location) =
        again.post("/console/mfa/", &[("csrf", &field(&page, "csrf")), ("code", &recovery[3])]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/")));
    assert_eq!(again.get("/console/").await.0, StatusCode::OK);
    let mut third = Browser::new(&app);
    third.password(&admin).await;
    let (_, page, _) = third.get("/console/mfa/").await;
    let (status, _, _) = third.post("/console/mfa/", &[("csrf", &field(&page, "csrf")), ("code", &recovery[3])]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a recovery code works once");

    // Lost both: the command line forgets the factor and ends the console sessions.
    let said = carehub::cli::admin::reset_console_factor(&db, "root").await.expect("reset");
    assert!(said.contains("reset"), "{said}");
    assert_eq!(again.get("/console/").await.0, StatusCode::SEE_OTHER, "its sessions ended");
    let mut fourth = Browser::new(&app);
    fourth.password(&admin).await;
    let (_, page, _) = fourth.get("/console/mfa/").await;
    assert!(page.contains("totp-secret"), "the next login enrols again");
    assert_eq!(audit_count(&db, "console_mfa_reset").await, 1);
    assert!(carehub::cli::admin::reset_console_factor(&db, "nobody").await.is_err());
}

#[sqlx::test]
async fn the_session_cookie_is_host_only_secure_http_only_and_strict(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let response = app.client.get(app.url("/console/login/")).send().await.expect("get");
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("csp").to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("script-src")
    );
    assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");
    let cookie = response.headers()[header::SET_COOKIE].to_str().expect("cookie").to_owned();
    for attribute in [LOGIN, "HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Domain="), "{cookie}");
    let page = response.text().await.expect("page");
    // The stylesheet is served under its content hash, cached for a year.
    let href = page.split("rel=\"stylesheet\" href=\"").nth(1).expect("stylesheet").split('"').next().expect("href");
    assert!(href.starts_with("/console/assets/console-") && href.ends_with(".css"), "{href}");
    let css = app.client.get(app.url(href)).send().await.expect("css");
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()[header::CACHE_CONTROL].to_str().expect("cc").contains("immutable"));
    let stale = app.client.get(app.url("/console/assets/console-0000000000000000.css")).send().await.expect("css");
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    assert!(!page.contains("<script") && !page.contains("style=\""));

    let admin = app.user(UserType::Admin, "root").await;
    let mut browser = Browser::new(&app);
    let response = {
        let (_, page, _) = browser.get("/console/login/").await;
        app.client
            .post(app.url("/console/login/"))
            .header(header::COOKIE, browser.cookie_header())
            .form(&[("csrf", field(&page, "csrf").as_str()), ("username", "root"), ("password", &admin.password)])
            .send()
            .await
            .expect("post")
    };
    let session = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with(&format!("{SESSION}=")))
        .expect("session cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    // Only the token's digest is stored.
    let token = session.split(';').next().expect("pair").split_once('=').expect("=").1.to_owned();
    let digest = Sha256::digest(token.as_bytes()).to_vec();
    let stored: i64 = sqlx::query_scalar("select count(*) from console_sessions where token_hash = $1")
        .bind(&digest)
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(stored, 1);
}

#[sqlx::test]
async fn patients_doctors_and_hospitals_are_refused_at_the_console_login(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let patient = app.register_patient("pat").await;
    let hospital = app.approved_hospital("cityhosp").await;
    let doctor = app.working_doctor_at(&hospital).await;
    for user in [&patient, &hospital.user, &doctor.user] {
        let mut browser = Browser::new(&app);
        let (status, page, _) = browser.password(user).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", user.username);
        assert!(page.contains("id=\"error\""), "{page}");
        assert!(!browser.cookies.contains_key(SESSION));
    }
    let sessions: i64 =
        sqlx::query_scalar("select count(*) from console_sessions").fetch_one(&db).await.expect("count");
    assert_eq!(sessions, 0);
    let reasons: Vec<String> = sqlx::query_scalar(
        "select details->>'reason' from audit_log where action = 'console_login_failed' order by id",
    )
    .fetch_all(&db)
    .await
    .expect("rows");
    assert_eq!(reasons, ["not_an_admin"; 3]);
    // A wrong password for an admin gets the same page.
    let admin = app.user(UserType::Admin, "root").await;
    let wrong = TestUser { password: "not-it-at-all".into(), ..admin };
    let (status, page, _) = Browser::new(&app).password(&wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("These credentials do not open the console."));
}

#[sqlx::test]
async fn forms_without_their_token_or_from_another_site_change_nothing(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.user(UserType::Admin, "root").await;
    let mut browser = Browser::new(&app);
    browser.get("/console/login/").await;
    let (status, page, _) =
        browser.post("/console/login/", &[("username", "root"), ("password", &admin.password)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a login form without its token");
    assert!(page.contains("Nothing was changed"));
    let sessions: i64 =
        sqlx::query_scalar("select count(*) from console_sessions").fetch_one(&db).await.expect("count");
    assert_eq!(sessions, 0);

    let (mut browser, _, _) = enrolled(&app, &admin).await;
    let (_, page, _) = browser.get("/console/").await;
    let csrf = field(&page, "csrf");
    let (status, _, _) = browser.post("/console/logout/", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "logout without the token");
    let (status, _, _) = browser.post("/console/logout/", &[("csrf", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "logout with a wrong token");
    let cross = app
        .client
        .post(app.url("/console/logout/"))
        .header(header::COOKIE, browser.cookie_header())
        .header(header::ORIGIN, "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN, "a form from another origin, even with the token");
    assert_eq!(browser.get("/console/").await.0, StatusCode::OK, "the session still stands");
}

#[sqlx::test]
async fn a_session_ends_when_idle_too_old_or_its_account_is_deactivated(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.user(UserType::Admin, "root").await;
    let (mut browser, _, _) = enrolled(&app, &admin).await;
    assert_eq!(browser.get("/console/").await.0, StatusCode::OK);
    sqlx::query("update console_sessions set last_seen_at = now() - interval '29 minutes'")
        .execute(&db)
        .await
        .expect("age");
    assert_eq!(browser.get("/console/").await.0, StatusCode::OK, "29 idle minutes keep it");
    sqlx::query("update console_sessions set last_seen_at = now() - interval '31 minutes'")
        .execute(&db)
        .await
        .expect("age");
    let (status, _, location) = browser.get("/console/").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login/")), "idle for 31 minutes");

    let mut browser = Browser::new(&app);
    browser.password(&admin).await;
    // Still awaiting the second factor: no page of the console opens.
    let (status, _, location) = browser.get("/console/").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login/")));

    let mut browser = enrolled_again(&app, &admin).await;
    sqlx::query("update console_sessions set created_at = now() - interval '12 hours 1 minute' where stage = 'ACTIVE'")
        .execute(&db)
        .await
        .expect("age");
    assert_eq!(browser.get("/console/").await.0, StatusCode::SEE_OTHER, "12 hours after its login, however busy");

    let mut browser = enrolled_again(&app, &admin).await;
    sqlx::query("update users set is_active = false where username = 'root'").execute(&db).await.expect("deactivate");
    assert_eq!(browser.get("/console/").await.0, StatusCode::SEE_OTHER, "a deactivated admin is signed out");
    let left: i64 = sqlx::query_scalar("select count(*) from console_sessions").fetch_one(&db).await.expect("count");
    assert_eq!(left, 0, "deactivation ends every console session of the account");
}

/// A second login of an enrolled admin, with a recovery code (a TOTP code of the same step was
/// spent by the enrolment).
async fn enrolled_again<'a>(app: &'a TestApp, admin: &TestUser) -> Browser<'a> {
    // A recovery code of its own: a TOTP code of the enrolment's step was spent already.
    let code: String = {
        let keys = carehub::console::totp::FactorKeys::new(
            &carehub::config::Settings::for_tests().expect("settings").otp_secret,
        )
        .expect("keys");
        let code = "abcde-fghjk".to_owned();
        sqlx::query("insert into console_recovery_codes (user_id, code_hash) values ($1, $2)")
            .bind(admin.id)
            .bind(keys.recovery_hash(&code))
            .execute(&app.db)
            .await
            .expect("code");
        code
    };
    let mut browser = Browser::new(app);
    browser.password(admin).await;
    let (_, page, _) = browser.get("/console/mfa/").await;
    let (status, _, _) = browser.post("/console/mfa/", &[("csrf", &field(&page, "csrf")), ("code", &code)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    browser
}

#[sqlx::test]
async fn the_fifth_wrong_code_ends_the_login(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let admin = app.user(UserType::Admin, "root").await;
    let (_, _, _) = enrolled(&app, &admin).await;
    let mut browser = Browser::new(&app);
    browser.password(&admin).await;
    for attempt in 1..=5 {
        let (_, page, _) = browser.get("/console/mfa/").await;
        let (status, _, location) =
            browser.post("/console/mfa/", &[("csrf", &field(&page, "csrf")), ("code", "000000")]).await;
        if attempt < 5 {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        } else {
            assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login/")));
        }
    }
    assert_eq!(audit_count(&db, "console_mfa_failed").await, 5);
    let (status, _, location) = browser.get("/console/mfa/").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login/")));
}
