//! Job payloads and the queues they travel on. Payloads carry ids only, never codes, phone
//! numbers or patient data: Redis keeps payloads in plain text (`{queue}:data`).

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The queues. Names are explicit (apalis would otherwise use the Rust type name) and may be
/// prefixed by a namespace (tests run each in its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    Sms,
    FileScan,
    Recommendation,
    Reminder,
    Maintenance,
}

impl Queue {
    pub const ALL: [Self; 5] = [Self::Sms, Self::FileScan, Self::Recommendation, Self::Reminder, Self::Maintenance];

    /// The queue's name without a namespace, as the operations API shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sms => "carehub:sms",
            Self::FileScan => "carehub:file-scan",
            Self::Recommendation => "carehub:recommendation",
            Self::Reminder => "carehub:reminder",
            Self::Maintenance => "carehub:maintenance",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.name() == name)
    }

    /// The Redis queue name within `namespace`, in braces: a Redis Cluster hash tag, so every key
    /// apalis-redis derives from it (`{q}:active`, `{q}:data`, `{q}:meta:<id>`, ...) lives in one
    /// slot and its multi-key Lua scripts (and ours in `stats`) run on a cluster. The namespace
    /// is inside the tag, so different namespaces spread over slots. It must not contain braces
    /// (the configuration refuses them). One key is not ours to tag: apalis-redis 1.0's worker
    /// registration script also writes the global `core:apalis:queues:list`.
    pub fn key(self, namespace: &str) -> String {
        format!("{{{namespace}{}}}", self.name())
    }
}

/// A job type: its payload, queue and stable name (stored in the outbox).
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    const QUEUE: Queue;
    const NAME: &'static str;
}

/// Send one stored SMS message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendSms {
    pub message_id: i64,
}

impl Job for SendSms {
    const QUEUE: Queue = Queue::Sms;
    const NAME: &'static str = "SendSms";
}

/// The reminder sweep of one clock tick (the appointments context fills in the work).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReminderSweep {
    /// The tick, RFC 3339.
    pub tick: String,
}

impl Job for ReminderSweep {
    const QUEUE: Queue = Queue::Reminder;
    const NAME: &'static str = "ReminderSweep";
}

/// Remove expired login (refresh-token) families; one per clock tick.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PurgeExpiredSessions {
    pub tick: String,
}

impl Job for PurgeExpiredSessions {
    const QUEUE: Queue = Queue::Maintenance;
    const NAME: &'static str = "PurgeExpiredSessions";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_are_explicit_and_round_trip() {
        for queue in Queue::ALL {
            assert!(queue.name().starts_with("carehub:"));
            assert_eq!(Queue::parse(queue.name()), Some(queue));
        }
        assert_eq!(Queue::Sms.key("t1:"), "{t1:carehub:sms}");
        assert_eq!(Queue::Sms.key(""), "{carehub:sms}");
    }

    #[test]
    fn payloads_hold_ids_only() {
        let json = serde_json::to_string(&SendSms { message_id: 42 }).expect("json");
        assert_eq!(json, r#"{"message_id":42}"#);
    }
}
