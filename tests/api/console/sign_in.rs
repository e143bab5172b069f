//! Signing in to the console as a person does: username and password, then the second factor,
//! its codes computed from the secret the enrolment page shows (the authenticator app's side of
//! RFC 6238, by `totp-rs`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fantoccini::key::Key;
use totp_rs::{Builder, Secret, Totp};

use super::browser::Browser;
use crate::helpers::TestUser;

/// An authenticator app holding one console admin's secret.
pub struct Authenticator {
    totp: Totp,
    /// The last time step whose code was sent: the console refuses a code used before.
    last_step: Option<u64>,
}

impl Authenticator {
    /// The app after scanning `secret` (base32, as `#totp-secret` shows it: spaces, grouping and
    /// padding allowed).
    pub fn new(secret: &str) -> Self {
        let base32: String = secret.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_uppercase();
        let secret = Secret::try_from_base32(&base32).unwrap_or_else(|e| panic!("#totp-secret is not base32 ({e:?})"));
        let totp = Builder::new().with_secret(secret).build().expect("an RFC 6238 secret (at least 128 bits)");
        Self { totp, last_step: None }
    }

    /// The current code, after waiting for the next 30 s step when this step's code was already
    /// used (a replay is refused, as it must be) or when the step ends within 3 s (the code then
    /// reaches the server in the step it was made for).
    pub async fn fresh_code(&mut self) -> String {
        if self.last_step == Some(step_now()) || self.totp.ttl() < 3 {
            let wait = self.totp.ttl() + 1;
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
        let now = now();
        self.last_step = Some(now / 30);
        self.totp.generate(now).to_string()
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

fn step_now() -> u64 {
    now() / 30
}

/// Types the username and password into the console's login page and submits it.
pub async fn enter_password(browser: &Browser, user: &TestUser) {
    browser.goto("/console/login/").await;
    browser.fill("#username", &user.username).await;
    browser.fill("#password", &user.password).await;
    browser.submit("form:has(#password)").await;
}

/// The first login of `admin`: the password, then the enrolment (the secret read from the page,
/// a code confirmed), past the recovery codes, on the overview. The admin's authenticator.
pub async fn enrol(browser: &Browser, admin: &TestUser) -> Authenticator {
    enter_password(browser, admin).await;
    assert_eq!(browser.path().await, "/console/mfa/", "{}", browser.visible_text().await);
    let mut authenticator = Authenticator::new(&browser.text("#totp-secret").await);
    let code = authenticator.fresh_code().await;
    browser.fill("#code", &code).await;
    browser.submit("form:has(#code)").await;
    browser.click("a#continue").await;
    assert_eq!(browser.path().await, "/console/", "{}", browser.visible_text().await);
    authenticator
}

/// A later login, by keyboard alone: the username, Tab, the password, Enter; then a fresh code
/// and Enter. Ends on the overview.
pub async fn log_in_by_keyboard(browser: &Browser, admin: &TestUser, authenticator: &mut Authenticator) {
    browser.goto("/console/login/").await;
    let tab = char::from(Key::Tab);
    let enter = char::from(Key::Enter);
    let field = browser.find("#username").await;
    field.send_keys(&format!("{}{tab}{}{enter}", admin.username, admin.password)).await.expect("typed");
    browser.find("#code").await;
    assert_eq!(browser.path().await, "/console/mfa/");
    assert!(!browser.exists("#totp-secret").await, "an enrolled admin is never shown the secret again");
    let code = authenticator.fresh_code().await;
    browser.find("#code").await.send_keys(&format!("{code}{enter}")).await.expect("typed");
    // Enter submits and navigates: wait for the overview (the code's page has an h1 too).
    for _ in 0..100 {
        if browser.path().await == "/console/" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(browser.path().await, "/console/", "{}", browser.visible_text().await);
}
