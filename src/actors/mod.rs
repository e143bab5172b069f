//! Desks: one actor per key (a hospital, a patient) that serializes, inside this process, the
//! changes that must not interleave for that key. [`Desks`] is the registry every kind of desk
//! shares: it starts a desk on first use, replaces one that stopped, and each desk stops itself
//! after it has been idle for a while ([`IdleWatch`]). Desks are an optimisation, never the
//! guarantee: each message is one database transaction that locks what it changes, which also
//! covers other web processes.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

use actix::{Actor, Addr, AsyncContext as _, Context, Handler, MailboxError, Message};
use sqlx::PgPool;

/// A desk with no message for this long stops; the next message starts a fresh one.
pub const IDLE: Duration = Duration::from_secs(300);

/// An actor kind that can serve as a desk.
pub trait Desk: Actor<Context = Context<Self>> {
    /// A fresh desk for one key.
    fn open(db: PgPool) -> Self;
    /// The desk's idle watch (touched by every message).
    fn idle(&mut self) -> &mut IdleWatch;
}

/// When a desk last served a message.
#[derive(Debug)]
pub struct IdleWatch(Instant);

impl Default for IdleWatch {
    fn default() -> Self {
        Self(Instant::now())
    }
}

impl IdleWatch {
    pub fn touch(&mut self) {
        self.0 = Instant::now();
    }

    /// Stops `desk`'s actor once it has been idle for [`IDLE`]; call from `Actor::started`.
    pub fn watch<D: Desk>(ctx: &mut Context<D>) {
        ctx.run_interval(Duration::from_secs(30), |desk, ctx| {
            if desk.idle().0.elapsed() > IDLE {
                actix::ActorContext::stop(ctx);
            }
        });
    }
}

/// The desks of one kind in this process, by key (an id: `PatientId`, `HospitalId`, ...).
pub struct Desks<D: Desk, K = i64> {
    db: PgPool,
    desks: Mutex<HashMap<K, Addr<D>>>,
}

impl<D: Desk, K: Copy + Eq + Hash + Into<i64>> Desks<D, K> {
    pub fn new(db: PgPool) -> Self {
        Self { db, desks: Mutex::new(HashMap::new()) }
    }

    fn desk(&self, key: K) -> Addr<D> {
        let mut desks = self.desks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        desks.retain(|_, addr| addr.connected());
        desks.entry(key).or_insert_with(|| D::open(self.db.clone()).start()).clone()
    }

    /// Sends the message `make()` builds to `key`'s desk; a desk that died meanwhile is replaced
    /// once (hence a builder: the message is built again for the second desk).
    pub async fn send<M>(&self, key: K, make: impl Fn() -> M) -> Result<M::Result, MailboxError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        D: Handler<M>,
    {
        match self.desk(key).send(make()).await {
            Ok(result) => Ok(result),
            Err(err) => {
                tracing::warn!(desk.key = key.into(), error = %err, "desk unavailable; replacing it");
                self.desk(key).send(make()).await
            }
        }
    }
}
