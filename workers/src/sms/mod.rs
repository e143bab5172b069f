//! SMS: messages stored in Postgres, sent by the `SendSms` job through the configured provider,
//! at most once per message. A job kind of the platform: `sms_messages` is this crate's table.

pub mod provider;
pub mod repo;
pub mod store;
pub mod text;

pub use provider::{CutOff, SEND_DEADLINE, SmsError, SmsProvider, TwilioConfig};
pub use repo::queue_sms_ctes;
pub use store::{Purpose, queue_sms};
pub use text::sms_name;

use std::time::Duration;

use apalis::prelude::{AbortError, BoxDynError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

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
    let Some(message) = claim_or_resolve(sms, &ctx.db, job.message_id).await? else {
        return Ok(());
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

/// Claims the message for this run. One another run claimed is waited for until its outcome is
/// recorded or the provider call's deadline has passed. If it is still not recorded then, that
/// run was cut off (its process died) and the provider is asked what became of it: sent
/// (recorded so, not sent again), not sent (claimed by this run), or unknown (marked `UNKNOWN`
/// for operators: it may have gone out, so it is not sent again). `None`: nothing for this run
/// to send.
async fn claim_or_resolve(sms: &SmsProvider, db: &PgPool, id: i64) -> Result<Option<repo::Claimed>, BoxDynError> {
    let mut claim = store::claim(db, id).await?;
    while let store::Claim::InFlight(sending) = &claim
        && let Some(left) = left_of(sending.age_ms)
    {
        tokio::time::sleep(left.min(ASK_EVERY)).await;
        claim = store::claim(db, id).await?;
    }
    let sending = match claim {
        store::Claim::Mine(message) => return Ok(Some(message)),
        store::Claim::Done => {
            tracing::info!(sms.id = id, "SMS already sent; nothing to do");
            return Ok(None);
        }
        store::Claim::InFlight(sending) => sending,
    };
    match sms.cut_off(&sending.to_number, sending.since, |body| body == sending.body).await {
        CutOff::Sent(provider_id) => {
            repo::mark_sent(db, id, sms.name(), &provider_id).await?;
            tracing::warn!(sms.id = id, "a cut-off send had reached the provider; recorded as sent");
            metrics::counter!("sms_cut_off_total", "outcome" => "sent").increment(1);
            Ok(None)
        }
        CutOff::NotSent => {
            let claimed = repo::take_over(db, id, sending.since).await?;
            tracing::warn!(sms.id = id, "a cut-off send never reached the provider; sending it");
            metrics::counter!("sms_cut_off_total", "outcome" => "resent").increment(1);
            Ok(claimed)
        }
        CutOff::Unknown => {
            repo::mark_unknown(db, id, sms.name(), sending.since).await?;
            tracing::warn!(sms.id = id, "a cut-off send cannot be checked with the provider; marked UNKNOWN");
            metrics::counter!("sms_cut_off_total", "outcome" => "unknown").increment(1);
            Ok(None)
        }
    }
}

/// How often a run waiting for another's send asks whether it has ended.
const ASK_EVERY: Duration = Duration::from_millis(250);

/// How long until a send claimed `age_ms` ago is past [`SEND_DEADLINE`], if it is not yet.
fn left_of(age_ms: i64) -> Option<Duration> {
    let age = Duration::from_millis(u64::try_from(age_ms).unwrap_or_default());
    SEND_DEADLINE.checked_sub(age).filter(|left| !left.is_zero())
}

/// Waits while another run's send may still be waiting for the provider: until `sending_ms`
/// (how long ago the send was claimed, by the database's clock) says it is no longer being sent,
/// or its claim is past [`SEND_DEADLINE`] (its run is gone). Asks every quarter second.
pub async fn wait_out_send<F, Fut>(mut sending_ms: F) -> sqlx::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = sqlx::Result<Option<i64>>>,
{
    while let Some(left) = sending_ms().await?.and_then(left_of) {
        tokio::time::sleep(left.min(ASK_EVERY)).await;
    }
    Ok(())
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
