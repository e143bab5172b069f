//! SMS: messages stored in Postgres, sent by the `SendSms` job through the configured provider,
//! at most once per message. A job kind of the platform: `sms_messages` is this crate's table.

pub mod provider;
pub mod repo;
pub mod store;
pub mod text;

pub use provider::{SmsError, SmsProvider, TwilioConfig};
pub use repo::queue_sms_ctes;
pub use store::{Purpose, queue_sms};
pub use text::sms_name;

use apalis::prelude::AbortError;
use serde::{Deserialize, Serialize};

use crate::{
    context::{Handler, JobContext, JobResult},
    jobs::{Job, Queue},
};

/// Send one stored SMS message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendSms {
    pub message_id: i64,
}

impl Job for SendSms {
    const QUEUE: Queue = Queue::new("carehub:sms");
    const NAME: &'static str = "SendSms";
}

/// The handler of `SendSms`, sending through `provider`.
pub fn send_sms(provider: SmsProvider) -> impl Handler<SendSms> {
    move |job: SendSms, ctx: JobContext| {
        let sms = provider.clone();
        async move { send(&sms, job, &ctx).await }
    }
}

/// Handles `SendSms`: claims the message (so a job run twice sends once), sends it, records the
/// outcome. Permanent failures go straight to the dead set; transient ones are retried until the
/// attempt budget is spent.
async fn send(sms: &SmsProvider, job: SendSms, ctx: &JobContext) -> JobResult {
    let message = match store::claim(&ctx.db, job.message_id).await? {
        store::Claim::Mine(message) => message,
        store::Claim::Done => {
            tracing::info!(sms.id = job.message_id, "SMS already sent; nothing to do");
            return Ok(());
        }
        // Never sent twice: retried, and if the other run never finishes (it died mid-send),
        // the job ends dead where operators see it, instead of silently done.
        store::Claim::InFlight => {
            return Err(SmsError::Transient("another run of this job is sending the message".into()).into());
        }
    };
    let provider = sms.name();
    match sms.send(job.message_id, &message.to_number, &message.body).await {
        Ok(provider_id) => {
            repo::mark_sent(&ctx.db, job.message_id, provider, &provider_id).await?;
            tracing::info!(sms.id = job.message_id, sms.purpose = %message.purpose, provider, "SMS sent");
            Ok(())
        }
        Err(SmsError::Permanent(reason)) => {
            repo::mark_unsent(&ctx.db, job.message_id, provider, &reason, false).await?;
            tracing::warn!(sms.id = job.message_id, %reason, "SMS refused by the provider; not retried");
            Err(AbortError::new(SmsError::Permanent(reason)).into())
        }
        Err(SmsError::Transient(reason)) => {
            // On the last attempt the job service moves the job to the dead set.
            let last = ctx.is_last_attempt();
            repo::mark_unsent(&ctx.db, job.message_id, provider, &reason, !last).await?;
            tracing::warn!(sms.id = job.message_id, %reason, attempt = ctx.attempt(), last, "SMS send failed");
            Err(SmsError::Transient(reason).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_holds_the_message_id_only() {
        let json = serde_json::to_string(&SendSms { message_id: 42 }).expect("json");
        assert_eq!(json, r#"{"message_id":42}"#);
    }
}
