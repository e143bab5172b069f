//! Fault drills: real `carehub` processes meet the faults a Heroku-style host deals them (a
//! process stopped or killed under load), and what users and operators see is checked.

mod redis_outage;
mod web;
mod worker;

use std::{
    process::Child,
    time::{Duration, Instant},
};

use crate::cli::terminate_and_wait;

/// A process of the drill, killed if the drill fails before it stops it (a process left running
/// would hold the test's database).
struct Process(Option<Child>);

impl Process {
    /// SIGKILL, as a host or the kernel's OOM killer does it.
    fn kill(mut self) {
        if let Some(mut child) = self.0.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }

    /// SIGTERM and the exit status; failed if it is still running 15 s later.
    fn terminate(mut self) -> std::process::ExitStatus {
        terminate_and_wait(self.0.take().expect("running"))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn wait_until(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// One drill's figures, as a line `scripts/drill` collects into its table (shown by the test
/// runner with `--nocapture`): requests made, requests failed (reset, cut short, 5xx, or a job
/// never run), work lost (a booking answered 201 but not stored, a message never sent), and the
/// time to recover.
fn report(drill: &str, requests: usize, failed: usize, lost: usize, recovery: Duration) {
    eprintln!("\nDRILL\t{drill}\t{requests}\t{failed}\t{lost}\t{:.1}", recovery.as_secs_f64());
}
