//! A real headless Chromium driven over WebDriver (fantoccini → chromedriver), for the console's
//! tests: `Browser::start(&app.address)` starts `chromedriver` on a free port as a child process
//! in its own process group (Chromium runs inside it), opens a session with a fresh profile, and
//! gives a person's verbs: go to a path, fill a field, click, read a text, take a screenshot.
//! Dropping the `Browser` kills the whole group, so a failing test leaves no browser behind.
//!
//! Chromium and chromedriver are Debian's (`./scripts/browser` installs them; `CHROMIUM_BIN` and
//! `CHROMEDRIVER_BIN` point elsewhere). When they are missing the test fails and says so: the
//! browser test is never skipped.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};
use sqlx::PgPool;
use tempfile::TempDir;

use crate::{cli::free_port, helpers::TestApp};

/// The viewport every page is first drawn in (the desktop screenshots' size).
pub const DESKTOP: (u32, u32) = (1280, 800);
/// A phone's viewport: every page must fit it without scrolling sideways.
pub const PHONE: (u32, u32) = (390, 844);

/// How long chromedriver may take to answer.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long an element may take to appear. The console has no script: once a page has loaded
/// (WebDriver waits for that), an element is there or never will be.
const ELEMENT_WAIT: Duration = Duration::from_secs(5);

const CHROMIUM_ARGS: [&str; 10] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
];

/// `chromedriver` running as a child process in its own process group; the group (chromedriver
/// and every Chromium process it started) is killed on drop.
struct Chromedriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it reports itself ready.
    async fn start(bin: &Path, log: PathBuf) -> Self {
        // A port found free can be taken by another test before chromedriver binds it: try again.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            match Self::start_on(bin, port, log.clone()).await {
                Ok(driver) => return driver,
                Err(why) => failures.push(why),
            }
        }
        panic!("chromedriver ({}) did not start:\n{}", bin.display(), failures.join("\n"));
    }

    async fn start_on(bin: &Path, port: u16, log: PathBuf) -> Result<Self, String> {
        use std::os::unix::process::CommandExt as _;
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let mut driver = Self { child, port, log };
        let status = format!("http://127.0.0.1:{port}/status");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Ok(Some(exit)) = driver.child.try_wait() {
                return Err(format!("exited with {exit} on port {port}: {}", driver.log_tail()));
            }
            if let Ok(response) = http.get(&status).send().await
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == json!(true)
            {
                return Ok(driver);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("not ready on port {port} after {PATIENCE:?}: {}", driver.log_tail()))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The end of chromedriver's log, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (process_group(0)); Chromium's processes share it.
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary named by `var`, else `default`; a clear failure when it is not there.
fn binary(var: &str, default: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    assert!(
        path.is_file(),
        "the console's browser test needs Chromium and chromedriver, and {} is missing: run \
         ./scripts/browser (installs Debian's chromium and chromium-driver), or set {var}",
        path.display()
    );
    path
}

/// One headless Chromium session against the app at `base` (its `address`).
pub struct Browser {
    client: Client,
    base: String,
    // Dropped after the client: the session's processes die with chromedriver's group.
    driver: Chromedriver,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and Chromium (a fresh profile: no cookies, no cache) for the app at
    /// `base` (`http://127.0.0.1:<port>`).
    pub async fn start(base: &str) -> Self {
        let chromium = binary("CHROMIUM_BIN", "/usr/bin/chromium");
        let chromedriver = binary("CHROMEDRIVER_BIN", "/usr/bin/chromedriver");
        let profile = tempfile::tempdir().expect("profile directory");
        let driver = Chromedriver::start(&chromedriver, profile.path().join("chromedriver.log")).await;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().join("chromium").display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("a JSON object") };
        let client = ClientBuilder::rustls()
            .expect("rustls for the WebDriver client")
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| panic!("no Chromium session ({}): {e}\n{}", chromium.display(), driver.log_tail()));
        let browser = Self { client, base: base.trim_end_matches('/').to_owned(), driver, _profile: profile };
        browser.resize(DESKTOP.0, DESKTOP.1).await;
        browser
    }

    /// Opens `path` (`/console/`) of the app and waits for the page to load.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client.goto(&url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The current page's path and query (`/console/hospitals/?approval=pending`).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The HTTP status of the current page's document (Navigation Timing's `responseStatus`).
    pub async fn status(&self) -> u16 {
        let status = self.script("return performance.getEntriesByType('navigation')[0].responseStatus").await;
        status.as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or_else(|| panic!("no status: {status}"))
    }

    /// The element `css` selects, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let found = self.client.wait().at_most(ELEMENT_WAIT).for_element(Locator::Css(css)).await;
        match found {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {} ({e}):\n{}", self.path().await, self.visible_text().await),
        }
    }

    /// Every element `css` selects now (no waiting).
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find `{css}`: {e}"))
    }

    /// How many elements `css` selects now.
    pub async fn count(&self, css: &str) -> usize {
        self.all(css).await.len()
    }

    /// Whether `css` selects anything now.
    pub async fn exists(&self, css: &str) -> bool {
        self.count(css).await > 0
    }

    /// Types `text` into the field `css` (emptied first), as a person does.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
        field.send_keys(text).await.unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Clicks `css` (a link or a button); a page it opens has loaded when this returns.
    /// Clicks `css` (a link or a submit button: every click in these tests navigates) and waits
    /// until the next document has loaded, so what follows reads the new page, not the old one.
    pub async fn click(&self, css: &str) {
        self.script("window.__carehubOldDocument = true; return null;").await;
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click `{css}`: {e}"));
        for _ in 0..100 {
            let loaded = self
                .script("return window.__carehubOldDocument === undefined && document.readyState === 'complete';")
                .await;
            if loaded == serde_json::Value::Bool(true) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("clicking `{css}` loaded no new page within 5 s");
    }

    /// Submits the form `css` with its submit button, as a person does.
    pub async fn submit(&self, form: &str) {
        self.click(&format!("{form} button[type=submit], {form} input[type=submit]")).await;
    }

    /// The visible text of `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(|e| panic!("text of `{css}`: {e}"))
    }

    /// The visible texts of every element `css` selects now.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.all(css).await {
            texts.push(element.text().await.unwrap_or_else(|e| panic!("text of `{css}`: {e}")));
        }
        texts
    }

    /// The whole page's visible text.
    pub async fn visible_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Runs `js` in the page (WebDriver's Execute Script, which the page's CSP does not govern);
    /// what it `return`s.
    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, Vec::new()).await.unwrap_or_else(|e| panic!("script `{js}`: {e}"))
    }

    /// The viewport's size (what a screenshot holds).
    pub async fn viewport(&self) -> (u32, u32) {
        let size = self.script("return [window.innerWidth, window.innerHeight]").await;
        let side = |i: usize| size[i].as_u64().and_then(|v| u32::try_from(v).ok()).expect("viewport side");
        (side(0), side(1))
    }

    /// Sizes the viewport to `width`×`height`. New headless Chromium draws a window frame
    /// (1280×800 leaves a 1280×657 viewport), so the window is set, the viewport measured, and
    /// the window corrected by the difference until they agree (a loaded machine may apply a
    /// resize late).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("window size");
        let mut viewport = self.viewport().await;
        for _ in 0..20 {
            if viewport == (width, height) {
                return;
            }
            let (outer_width, outer_height) = self.client.get_window_size().await.expect("window size");
            let corrected = |outer: u64, inner: u32, target: u32| {
                u32::try_from((i64::try_from(outer).unwrap_or(0) + i64::from(target) - i64::from(inner)).max(1))
                    .unwrap_or(target)
            };
            self.client
                .set_window_size(corrected(outer_width, viewport.0, width), corrected(outer_height, viewport.1, height))
                .await
                .expect("window size");
            tokio::time::sleep(Duration::from_millis(100)).await;
            viewport = self.viewport().await;
        }
        assert_eq!(viewport, (width, height), "the viewport could not be sized");
    }

    /// A PNG of the viewport at `width`×`height`, the viewport's size restored afterwards.
    pub async fn png(&self, width: u32, height: u32) -> Vec<u8> {
        let before = self.viewport().await;
        self.resize(width, height).await;
        let png = self.client.screenshot().await.expect("screenshot");
        self.resize(before.0, before.1).await;
        png
    }

    /// Writes the current page at `width`×`height` to `docs/console/<name>-<w>x<h>.png` (the
    /// screenshots the README links); its path.
    pub async fn screenshot(&self, name: &str, width: u32, height: u32) -> PathBuf {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join("console");
        self.screenshot_to(&docs, name, width, height).await
    }

    /// Writes the current page at `width`×`height` to `<dir>/<name>-<w>x<h>.png`; its path.
    pub async fn screenshot_to(&self, dir: &Path, name: &str, width: u32, height: u32) -> PathBuf {
        let png = self.png(width, height).await;
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let path = dir.join(format!("{name}-{width}x{height}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Ends the session (Chromium quits), then chromedriver.
    pub async fn close(self) {
        let Self { client, driver, .. } = self;
        let _ = client.close().await;
        drop(driver);
    }
}

/// The width and height a PNG's header gives.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 24, "not a PNG");
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (word(16), word(20))
}

/// The harness itself: Chromium starts, renders one of the app's pages, reports its status,
/// and screenshots it at a phone's size.
#[sqlx::test]
async fn chromium_starts_and_renders_a_page(db: PgPool) {
    let app = TestApp::spawn(&db).await;
    let browser = Browser::start(&app.address).await;
    let shots = tempfile::tempdir().expect("screenshot directory");

    browser.goto("/healthz").await;
    let health = browser.visible_text().await;
    let status = browser.status().await;
    let path = browser.path().await;
    let shot = browser.screenshot_to(shots.path(), "healthz", PHONE.0, PHONE.1).await;
    let viewport = browser.viewport().await;
    browser.goto("/no/such/page/").await;
    let missing = browser.status().await;
    browser.close().await;

    assert_eq!(path, "/healthz");
    assert_eq!(status, 200);
    assert!(health.contains("ok"), "{health}");
    assert_eq!(missing, 404);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(png_size(&png), PHONE, "the screenshot is the phone's viewport");
    assert_eq!(viewport, DESKTOP, "the viewport is restored");
}
