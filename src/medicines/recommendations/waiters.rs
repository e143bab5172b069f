//! Waking a web request when its recommendation is answered: one `LISTEN
//! carehub_recommendations` connection per process (started on first use), whose notifications
//! (the row's id, sent by a trigger when its status leaves PENDING) wake the requests waiting for
//! that id. No polling. The same channel carries `clear-cache`, which empties this process's
//! in-memory answers.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::{OnceCell, oneshot};

pub const CHANNEL: &str = "carehub_recommendations";
pub const CLEAR_CACHE: &str = "clear-cache";

type Waiting = Mutex<HashMap<i64, Vec<oneshot::Sender<()>>>>;

/// This process's waiting requests.
pub struct Waiters {
    db: PgPool,
    waiting: Arc<Waiting>,
    listening: OnceCell<()>,
}

impl Waiters {
    pub fn new(db: PgPool) -> Self {
        Self { db, waiting: Arc::default(), listening: OnceCell::new() }
    }

    /// Makes sure this process listens (connecting on first use, waiting up to 2 s for it), so a
    /// notification sent after this returns is not missed.
    pub async fn listen(&self, on_clear: impl Fn() + Send + Sync + 'static) {
        self.listening
            .get_or_init(|| async {
                let (ready_tx, ready_rx) = oneshot::channel();
                tokio::spawn(listen_forever(self.db.clone(), self.waiting.clone(), on_clear, ready_tx));
                let _ = tokio::time::timeout(Duration::from_secs(2), ready_rx).await;
            })
            .await;
    }

    /// A receiver that fires when `id` is answered.
    pub fn register(&self, id: i64) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).entry(id).or_default().push(tx);
        rx
    }

    /// Forgets the waiters of `id` (after a timeout).
    pub fn forget(&self, id: i64) {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }
}

async fn listen_forever(
    db: PgPool,
    waiting: Arc<Waiting>,
    on_clear: impl Fn() + Send + Sync + 'static,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    loop {
        let mut listener = match PgListener::connect_with(&db).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %carehub_workers::redact::Redacted(&anyhow::Error::from(err)), "recommendation listener: cannot connect");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %carehub_workers::redact::Redacted(&anyhow::Error::from(err)), "recommendation listener: LISTEN failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        // After a reconnect, notifications may have been missed: wake every waiter to re-read.
        wake_all(&waiting);
        loop {
            match listener.recv().await {
                Ok(notification) => {
                    let payload = notification.payload();
                    if payload == CLEAR_CACHE {
                        on_clear();
                    } else if let Ok(id) = payload.parse::<i64>() {
                        let senders = waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
                        for sender in senders.into_iter().flatten() {
                            let _ = sender.send(());
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %carehub_workers::redact::Redacted(&anyhow::Error::from(err)), "recommendation listener lost its connection");
                    break;
                }
            }
        }
    }
}

fn wake_all(waiting: &Waiting) {
    let all = std::mem::take(&mut *waiting.lock().unwrap_or_else(PoisonError::into_inner));
    for sender in all.into_values().flatten() {
        let _ = sender.send(());
    }
}
