//! What a job kind is to the platform: a payload type with a stable name and a queue. Payloads
//! carry ids only, never codes, phone numbers or patient data: Redis keeps payloads in plain text
//! (`{queue}:data`).
//!
//! The payload types themselves live with the code that handles them (the SMS job in [`sms`],
//! the appointments context's jobs in `carehub::appointments::jobs`, ...), and every kind is
//! registered once in a [`Registry`](crate::registry::Registry): nothing here lists them.
//!
//! [`sms`]: crate::sms

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};

/// A queue. Its name is explicit (apalis would otherwise use the Rust type name) and may be
/// prefixed by a namespace (tests run each in its own). One queue carries one job kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Queue(&'static str);

impl Queue {
    /// A queue named `name` (`carehub:<kind>`; no braces: the name goes inside a hash tag).
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The queue's name without a namespace, as the operations API shows it.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// The Redis queue name within `namespace`, in braces: a Redis Cluster hash tag, so every key
    /// apalis-redis derives from it (`{q}:active`, `{q}:data`, `{q}:meta:<id>`, ...) lives in one
    /// slot and its multi-key Lua scripts (and ours in `stats`) run on a cluster. The namespace
    /// is inside the tag, so different namespaces spread over slots. It must not contain braces
    /// (the configuration refuses them). One key is not ours to tag: apalis-redis 1.0's worker
    /// registration script also writes the global `core:apalis:queues:list`.
    pub fn key(self, namespace: &str) -> String {
        format!("{{{namespace}{}}}", self.0)
    }
}

/// A job kind: its payload, queue and stable name (stored in the outbox, so renaming one strands
/// the rows written under the old name). `Clone` because the in-process retry keeps the payload
/// to run it again.
pub trait Job: Serialize + DeserializeOwned + Clone + Send + Sync + Unpin + 'static {
    const QUEUE: Queue;
    const NAME: &'static str;
}

/// A job the clock makes on each tick of its schedule.
pub trait Scheduled: Job {
    /// The job of the tick at `tick`.
    fn at(tick: DateTime<Utc>) -> Self;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_key_is_a_hash_tag_holding_the_namespace() {
        let sms = Queue::new("carehub:sms");
        assert_eq!(sms.key("t1:"), "{t1:carehub:sms}");
        assert_eq!(sms.key(""), "{carehub:sms}");
        assert_eq!(sms.name(), "carehub:sms");
    }
}
