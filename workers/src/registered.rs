//! A registered kind with its payload type erased ([`Kind`]), and what each reader of the
//! [`Registry`](crate::registry::Registry) does with it: the relay's producer, the worker, the
//! clock's write of a tick. The registry stores kinds as `Arc<dyn Kind>`.

use std::sync::Arc;

use apalis_redis::ConnectionManager;
use chrono::{DateTime, Utc};
use futures::{FutureExt as _, future::BoxFuture};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    jobs::Job,
    kind::{JobKind, KindInfo},
    outbox,
    push::{self, Push},
    stats::recorder::OutcomeRecorder,
    worker::{self, WorkerSettings},
};

/// A registered kind, its payload type erased, with what each reader does with it.
pub(crate) trait Kind: Send + Sync {
    fn info(&self) -> &KindInfo;
    /// The producer the relay pushes this kind's outbox rows with.
    fn pusher(&self, conn: ConnectionManager, namespace: &str) -> Arc<dyn Push>;
    /// This kind's worker, supervised until `shutdown`, reporting its attempts to `outcomes`.
    fn worker(
        &self,
        conn: &ConnectionManager,
        settings: &WorkerSettings,
        shutdown: &CancellationToken,
        db: &PgPool,
        outcomes: &OutcomeRecorder,
    ) -> anyhow::Result<BoxFuture<'static, ()>>;
    /// Writes the job of the tick at `tick` to the outbox unless some clock has; `true` when this
    /// call wrote it. `false` for a kind without a schedule.
    fn enqueue_tick(&self, db: PgPool, tick: DateTime<Utc>) -> BoxFuture<'static, sqlx::Result<bool>>;
}

impl<J: Job> Kind for JobKind<J> {
    fn info(&self) -> &KindInfo {
        &self.info
    }

    fn pusher(&self, conn: ConnectionManager, namespace: &str) -> Arc<dyn Push> {
        Arc::new(push::storage::<J>(conn, namespace))
    }

    fn worker(
        &self,
        conn: &ConnectionManager,
        settings: &WorkerSettings,
        shutdown: &CancellationToken,
        db: &PgPool,
        outcomes: &OutcomeRecorder,
    ) -> anyhow::Result<BoxFuture<'static, ()>> {
        worker::supervised_worker::<J>(&self.info, self.handler.clone(), conn, settings, shutdown, db, outcomes)
    }

    fn enqueue_tick(&self, db: PgPool, tick: DateTime<Utc>) -> BoxFuture<'static, sqlx::Result<bool>> {
        let (Some(at), Some(schedule)) = (self.at, self.info.schedule.as_ref()) else {
            return async { Ok(false) }.boxed();
        };
        let name = schedule.name;
        async move { outbox::enqueue_tick(&db, name, tick, &at(tick)).await }.boxed()
    }
}
