//! The job registry: where a job kind is declared, once. A [`JobKind`] names the payload type
//! (whose [`Job`] impl gives its queue and stable name), its handler, its concurrency and, for a
//! kind the clock makes, its schedule. Everything that needs to know the kinds reads them from
//! the [`Registry`]: the relay (which queue an outbox row goes to), the worker runtime (one
//! supervised worker per kind), the clock (one cron schedule per scheduled kind) and the queue
//! statistics of the operations API. Adding a job kind is its payload type, its handler, and one
//! `.register(...)` in the application's registry (`carehub::jobs::registry`).
//!
//! Handlers live with the data they need: a kind of the platform (sending an SMS) here, a kind of
//! a domain context in that context (the reminder sweep in `carehub::appointments::jobs`), which
//! reaches its data through its own repository. This crate cannot name those handlers (it is a
//! dependency of `carehub`, not the reverse), so the `carehub` package builds the registry and
//! hands it to [`run_workers`](crate::run_workers) and [`run_clock`](crate::run_clock).
//!
//! Every kind runs on the same stack (concurrency limit, retries with backoff, panics caught,
//! metrics, and the dead set after `max_attempts`): see [`runtime`](crate::runtime).

use std::{collections::BTreeSet, fmt, sync::Arc};

use crate::{
    jobs::{Job, Queue},
    kind::{JobKind, KindInfo, Schedule},
    registered::Kind,
};

/// Every job kind of an application, each declared once.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: Vec<Arc<dyn Kind>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.kinds()).finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a kind.
    ///
    /// # Panics
    /// When its name, its queue or its schedule's name is already registered: two kinds on one
    /// queue would read each other's payloads, and the declaration is a programming error that
    /// the registry's test and every process start catch at once.
    #[must_use]
    pub fn register<J: Job>(mut self, kind: JobKind<J>) -> Self {
        let new = &kind.info;
        for old in self.kinds() {
            assert_ne!(old.name, new.name, "job kind {} registered twice", new.name);
            assert_ne!(old.queue, new.queue, "queue {} registered for {} and {}", new.queue.name(), old.name, new.name);
            if let (Some(a), Some(b)) = (&old.schedule, &new.schedule) {
                assert_ne!(a.name, b.name, "schedule {} registered for {} and {}", a.name, old.name, new.name);
            }
        }
        self.kinds.push(Arc::new(kind));
        self
    }

    /// The kinds, in registration order.
    pub fn kinds(&self) -> impl Iterator<Item = &KindInfo> {
        self.kinds.iter().map(|kind| kind.info())
    }

    /// The kinds' stable names.
    pub fn names(&self) -> BTreeSet<&'static str> {
        self.kinds().map(|kind| kind.name).collect()
    }

    /// The queues, one per kind, in registration order.
    pub fn queues(&self) -> Vec<Queue> {
        self.kinds().map(|kind| kind.queue).collect()
    }

    /// The registered queue called `name` (without namespace).
    pub fn queue(&self, name: &str) -> Option<Queue> {
        self.kinds().map(|kind| kind.queue).find(|queue| queue.name() == name)
    }

    /// The clock's schedules.
    pub fn schedules(&self) -> impl Iterator<Item = &Schedule> {
        self.kinds().filter_map(|kind| kind.schedule.as_ref())
    }

    pub(crate) fn entries(&self) -> &[Arc<dyn Kind>] {
        &self.kinds
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::{
        context::{JobContext, JobResult},
        jobs::Scheduled,
    };

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Ping;
    impl Job for Ping {
        const QUEUE: Queue = Queue::new("carehub:ping");
        const NAME: &'static str = "Ping";
    }
    impl Scheduled for Ping {
        fn at(_: DateTime<Utc>) -> Self {
            Self
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Pong;
    impl Job for Pong {
        const QUEUE: Queue = Queue::new("carehub:pong");
        const NAME: &'static str = "Pong";
    }

    /// Another kind that claims Ping's queue.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Squatter;
    impl Job for Squatter {
        const QUEUE: Queue = Queue::new("carehub:ping");
        const NAME: &'static str = "Squatter";
    }

    async fn nothing<J>(_: J, _: JobContext) -> JobResult {
        Ok(())
    }

    #[test]
    fn the_registry_lists_each_kind_with_its_queue_concurrency_and_schedule() {
        let registry = Registry::new()
            .register(JobKind::<Ping>::new(nothing::<Ping>).every("ping", "0 * * * * *"))
            .register(JobKind::<Pong>::new(nothing::<Pong>).concurrency(4));

        assert_eq!(registry.names(), BTreeSet::from(["Ping", "Pong"]));
        assert_eq!(registry.queues(), [Ping::QUEUE, Pong::QUEUE]);
        assert_eq!(registry.queue("carehub:pong"), Some(Pong::QUEUE));
        assert_eq!(registry.queue("carehub:nope"), None);
        let concurrency: Vec<usize> = registry.kinds().map(|k| k.concurrency).collect();
        assert_eq!(concurrency, [1, 4]);
        let schedules: Vec<&Schedule> = registry.schedules().collect();
        assert_eq!(schedules, [&Schedule { name: "ping", cron: "0 * * * * *".into() }]);
    }

    #[test]
    #[should_panic(expected = "queue carehub:ping registered for Ping and Squatter")]
    fn two_kinds_on_one_queue_are_refused() {
        let _ = Registry::new()
            .register(JobKind::<Ping>::new(nothing::<Ping>))
            .register(JobKind::<Squatter>::new(nothing::<Squatter>));
    }

    #[test]
    #[should_panic(expected = "job kind Pong registered twice")]
    fn a_kind_registered_twice_is_refused() {
        let _ = Registry::new()
            .register(JobKind::<Pong>::new(nothing::<Pong>))
            .register(JobKind::<Pong>::new(nothing::<Pong>));
    }
}
