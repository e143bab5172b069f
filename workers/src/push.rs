//! How one kind's jobs reach its Redis queue: the apalis-redis storage of a payload type within a
//! namespace, and [`Push`], which the relay calls with an outbox row's payload and task id (a
//! ULID of the row's creation time and id, so a row pushed again after a crash lands on the same
//! task, which Redis keeps only once).

use apalis::prelude::{TaskBuilder, TaskId, TaskSink as _};
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use chrono::{DateTime, Utc};
use futures::{FutureExt as _, future::BoxFuture};
use std::time::Duration;

use crate::jobs::Job;

/// The storage of job type `J` within `namespace`.
pub fn storage<J: Job>(conn: ConnectionManager, namespace: &str) -> RedisStorage<J> {
    RedisStorage::new(conn).with_config(Config::default().queue(J::QUEUE.key(namespace)))
}

/// The storage a worker of `J` fetches from: it beats every quarter of `orphan_after`, and three
/// missed beats (plus the beat of the worker that notices) make it dead, so its fetched jobs run
/// elsewhere within `orphan_after` of its last beat.
pub fn worker_storage<J: Job>(conn: ConnectionManager, namespace: &str, orphan_after: Duration) -> RedisStorage<J> {
    let beat = (orphan_after / 4).max(Duration::from_secs(1));
    RedisStorage::new(conn)
        .with_config(Config::default().queue(J::QUEUE.key(namespace)).heartbeat_interval(beat).missed_heartbeats(3))
}

/// The task id of an outbox row: a ULID made of the row's creation time and its id.
pub fn task_id(outbox_id: i64, created_at: DateTime<Utc>) -> TaskId {
    let millis = u64::try_from(created_at.timestamp_millis()).unwrap_or_default();
    let id = u128::from(outbox_id.unsigned_abs());
    TaskId::from_ulid(ulid::Ulid::from_parts(millis, id))
}

/// Pushes one kind's outbox payloads to its queue.
pub(crate) trait Push: Send + Sync {
    fn push(&self, payload: serde_json::Value, id: TaskId) -> BoxFuture<'static, anyhow::Result<()>>;
}

impl<J: Job> Push for RedisStorage<J> {
    fn push(&self, payload: serde_json::Value, id: TaskId) -> BoxFuture<'static, anyhow::Result<()>> {
        let mut storage = self.clone();
        async move {
            let job: J = serde_json::from_value(payload)?;
            storage.push_task(TaskBuilder::new(job).task_id(id).build()).await?;
            Ok(())
        }
        .boxed()
    }
}
