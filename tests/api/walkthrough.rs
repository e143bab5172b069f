//! docs/walkthrough.md is checked: its ```bash blocks run, in order, in one bash
//! (`set -euo pipefail`), against a real `carehub dev --demo-data` on the test's fresh database,
//! with `BASE` pointing at it and the `carehub` binary on `PATH`. Each block checks its own
//! answers (`jq -e`, `test`), so the test fails at the first command that fails or the first
//! answer that differs, naming the block.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::helpers::database_url;

/// The tour takes seconds; past this it is killed and fails (its polls for a scan and an answer
/// give up after 30 s each).
const TOUR_SECONDS: u64 = 90;

/// The ```bash blocks of a Markdown text, in order, each with the line it starts on.
fn bash_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_end() == "```bash" => current = Some((number + 1, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "a ```bash block is never closed");
    blocks
}

/// One script of every block, each announced on stderr, so a failure names its block.
fn script(blocks: &[(usize, String)]) -> String {
    let mut script = String::from("set -euo pipefail\n");
    for (index, (line, text)) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '--- walkthrough block {} (docs/walkthrough.md line {line})' >&2\n", index + 1));
        script.push_str(text);
    }
    script.push_str("echo '--- walkthrough done' >&2\n");
    script
}

/// A `carehub dev` process, stopped (SIGTERM, then SIGKILL) when dropped, even by a failing
/// assertion.
struct DevServer {
    child: Child,
    log: PathBuf,
}

impl DevServer {
    /// The server's output so far, for a failure message: its last lines.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `command` with the test's database and none of the developer's environment that would change
/// what `carehub` does: the development defaults, as `./scripts/dev` runs them.
fn isolated(mut command: Command, db: &PgPool) -> Command {
    for name in crate::cli::DEVELOPER_ENV {
        command.env_remove(name);
    }
    command.env("CAREHUB_ENV", "test").env("DATABASE_URL", database_url(db));
    command
}

async fn wait_for_health(server: &DevServer, port: u16) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/healthz")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("carehub dev never became healthy on port {port}:\n{}", server.log_tail());
}

/// Runs `script` with bash in `dir` (killed after [`TOUR_SECONDS`]); its status and output.
fn run_bash(mut command: Command, dir: &Path, script: &str) -> (bool, String) {
    let script_path = dir.join("walkthrough.sh");
    std::fs::write(&script_path, script).expect("script written");
    let output_path = dir.join("walkthrough.out");
    let output = std::fs::File::create(&output_path).expect("output file");
    let mut child = command
        .arg(&script_path)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(output.try_clone().expect("output file"))
        .stderr(output)
        .spawn()
        .expect("bash starts");
    let deadline = Instant::now() + Duration::from_secs(TOUR_SECONDS);
    let success = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    std::fs::File::open(&output_path).expect("output").read_to_string(&mut text).expect("output read");
    (success, text)
}

#[test]
fn the_walkthrough_has_bash_blocks_that_check_their_answers() {
    let markdown = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/walkthrough.md"))
        .expect("docs/walkthrough.md");
    let blocks = bash_blocks(&markdown);

    assert!(blocks.len() >= 10, "the tour runs: {} ```bash blocks", blocks.len());
    let checks = blocks.iter().filter(|(_, text)| text.contains("jq -e") || text.contains("test ")).count();
    assert!(checks * 10 >= blocks.len() * 7, "most blocks check their answers: {checks} of {}", blocks.len());
}

#[sqlx::test]
async fn the_walkthrough_runs_against_a_dev_server(db: PgPool) {
    let markdown = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/walkthrough.md"))
        .expect("docs/walkthrough.md");
    let script = script(&bash_blocks(&markdown));
    let name = db.connect_options().get_database().unwrap_or("carehub").to_owned();
    let dir = std::env::temp_dir().join(format!("carehub-walkthrough-{name}"));
    std::fs::create_dir_all(dir.join("uploads")).expect("scratch dir");
    let port = crate::cli::free_port();
    let log = dir.join("dev.log");
    let output = std::fs::File::create(&log).expect("log file");
    let child = isolated(Command::new(env!("CARGO_BIN_EXE_carehub")), &db)
        .args(["dev", "--demo-data"])
        .env("PORT", port.to_string())
        .env("WORKER_PORT", "0")
        .env("RUST_LOG", "info")
        .env("CAREHUB__JOBS__NAMESPACE", format!("test-{}:", uuid::Uuid::new_v4().simple()))
        .env("STORAGE_URL", format!("file://{}", dir.join("uploads").display()))
        .env("CLAMD_ADDR", crate::reports::clamd_addr())
        .stdin(Stdio::null())
        .stdout(output.try_clone().expect("log file"))
        .stderr(output)
        .spawn()
        .expect("carehub dev starts");
    let server = DevServer { child, log };
    wait_for_health(&server, port).await;

    // bash with the same environment, so the tour's `carehub create-admin` reaches this database.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_carehub")).parent().expect("the binary's directory");
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut bash = isolated(Command::new("bash"), &db);
    bash.env("BASE", format!("http://127.0.0.1:{port}")).env("PATH", path).env("RUST_LOG", "warn");
    let started = Instant::now();
    let (success, output) = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || run_bash(bash, &dir, &script)
    })
    .await
    .expect("the tour ran");

    assert!(
        success,
        "the walkthrough failed after {:.1} s (the last block announced is the one that failed):\n{output}\n\
         --- carehub dev's last lines:\n{}",
        started.elapsed().as_secs_f64(),
        server.log_tail()
    );
    assert!(output.contains("--- walkthrough done"), "{output}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
