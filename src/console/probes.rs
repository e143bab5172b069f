//! Whether the outside services the workers need answer: clamd (uploads are scanned) and the
//! language model's API (recommendations). Asked at most every 15 seconds per process, however
//! many admins watch the overview, with a 2-second deadline each.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::config::Settings;

/// One service's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Ready,
    Down,
    /// Not an outside service in this configuration (the deterministic mock model).
    Builtin,
}

#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    pub clamd: Probe,
    pub llm: Probe,
}

const DEADLINE: Duration = Duration::from_secs(2);
const KEPT_FOR: Duration = Duration::from_secs(15);

/// The last answer and when it was asked. An async lock: while one request asks, the others
/// wait for its answer instead of asking too.
static LAST: Mutex<Option<(Instant, Readiness)>> = Mutex::const_new(None);

/// clamd's and the model's readiness, from the last 15 seconds or asked now.
pub async fn readiness(settings: &Settings) -> Readiness {
    let mut last = LAST.lock().await;
    if let Some((at, readiness)) = *last
        && at.elapsed() < KEPT_FOR
    {
        return readiness;
    }
    let readiness = ask(settings).await;
    *last = Some((Instant::now(), readiness));
    readiness
}

async fn ask(settings: &Settings) -> Readiness {
    let clamd = if settings.clamd().ping().await { Probe::Ready } else { Probe::Down };
    let llm = match settings.recommendation_provider() {
        crate::medicines::recommendations::jobs::Provider::Mock => Probe::Builtin,
        crate::medicines::recommendations::jobs::Provider::Llm(client) => {
            if client.ready(DEADLINE).await {
                Probe::Ready
            } else {
                Probe::Down
            }
        }
    };
    Readiness { clamd, llm }
}
