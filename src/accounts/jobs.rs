//! The accounts' jobs: sending the temporary password of a doctor's password reset, and purging
//! expired logins ([`PurgeExpiredSessions`], one per clock tick).
//!
//! The hospital's request (`service::password_reset::request`) ends every login of the account
//! (and so every grant those logins held), makes the old password unusable and queues
//! [`SendTemporaryPassword`] through the outbox, in one transaction. The job makes the temporary
//! password when it sends the SMS, hashes it into the account in the statement that claims the
//! reset, and hands it to the SMS provider: it is never in clear in a row, the outbox, Redis or a
//! log, and the hospital never sees it (it learns the masked phone it went to). Only an account's
//! latest reset is sent; an earlier one still queued is superseded. A send that fails leaves a
//! password nobody knows; a retry makes and stores a new one.

use carehub_workers::apalis::prelude::AbortError;
use carehub_workers::{
    Handler, JobContext, JobResult,
    jobs::{Job, Queue, Scheduled},
    sms::{SEND_DEADLINE, SmsError, SmsProvider, wait_out_send},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    model::generate_password,
    password::hash_once,
    repo::password_resets::{self, claim, delivery_of, mark, withdraw},
};

/// Send the temporary password of one reset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendTemporaryPassword {
    pub reset_id: i64,
}

impl Job for SendTemporaryPassword {
    const QUEUE: Queue = Queue::new("carehub:password-reset");
    const NAME: &'static str = "SendTemporaryPassword";
}

fn text(username: &str, password: &str, hours: i64) -> String {
    format!(
        "CareHub: your hospital reset the password of {username}. Temporary password: {password} \
         It works for {hours} hours; change it when you log in."
    )
}

/// The handler of [`SendTemporaryPassword`]; the password works for `hours` (the generated
/// password window, `auth.generated_password_hours`).
/// SMS go through `sms`.
pub fn send_temporary_password(hours: i64, sms: SmsProvider) -> impl Handler<SendTemporaryPassword> {
    move |job: SendTemporaryPassword, ctx: JobContext| {
        let sms = sms.clone();
        async move { send(&sms, job.reset_id, hours, &ctx).await }
    }
}

async fn send(sms: &SmsProvider, reset_id: i64, hours: i64, ctx: &JobContext) -> JobResult {
    let password = generate_password(16);
    let hash = hash_once(&password).await?;
    let Some(claimed) = claim(&ctx.db, reset_id, &hash).await? else {
        let delivery = delivery_of(&ctx.db, reset_id).await?;
        if delivery.as_deref() == Some("SENDING") {
            // As for a code (`access::jobs`): a send past its deadline with no outcome recorded
            // was cut off; it is marked UNKNOWN (the hospital can reset again), never sent twice.
            wait_out_send(|| password_resets::sending_ms(&ctx.db, reset_id)).await?;
            if password_resets::mark_cut_off(&ctx.db, reset_id, SEND_DEADLINE.as_secs_f64()).await? {
                tracing::warn!(password_reset.id = reset_id, "a cut-off send of a temporary password; marked UNKNOWN");
                return Ok(());
            }
            return Err(SmsError::Transient("another run of this job is sending the password".into()).into());
        }
        tracing::info!(password_reset.id = reset_id, delivery = ?delivery, "temporary password not sent: nothing to send");
        return Ok(());
    };
    let Some(phone) = claimed.phone_number.as_deref() else {
        withdraw(&ctx.db, claimed.user_id, &hash).await?;
        mark(&ctx.db, reset_id, "FAILED", None, Some("the account has no phone number")).await?;
        return Err(AbortError::new(SmsError::Permanent("no phone number".into())).into());
    };
    let provider = sms.name();
    match sms.send(reset_id, phone, &text(&claimed.username, password.expose(), hours)).await {
        Ok(provider_id) => {
            mark(&ctx.db, reset_id, "SENT", Some(&provider_id), None).await?;
            tracing::info!(password_reset.id = reset_id, provider, "temporary password sent");
            Ok(())
        }
        Err(SmsError::Permanent(reason)) => {
            withdraw(&ctx.db, claimed.user_id, &hash).await?;
            mark(&ctx.db, reset_id, "FAILED", None, Some(&reason)).await?;
            tracing::warn!(password_reset.id = reset_id, %reason, "temporary password refused by the SMS provider");
            Err(AbortError::new(SmsError::Permanent(reason)).into())
        }
        Err(SmsError::Transient(reason)) => {
            withdraw(&ctx.db, claimed.user_id, &hash).await?;
            let delivery = if ctx.is_last_attempt() { "FAILED" } else { "RETRY" };
            mark(&ctx.db, reset_id, delivery, None, Some(&reason)).await?;
            tracing::warn!(password_reset.id = reset_id, %reason, attempt = ctx.attempt(), "temporary password send failed");
            Err(SmsError::Transient(reason).into())
        }
    }
}

/// Remove expired login (refresh-token) families; one per clock tick.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PurgeExpiredSessions {
    pub tick: String,
}

impl Job for PurgeExpiredSessions {
    const QUEUE: Queue = Queue::new("carehub:maintenance");
    const NAME: &'static str = "PurgeExpiredSessions";
}

impl Scheduled for PurgeExpiredSessions {
    fn at(tick: DateTime<Utc>) -> Self {
        Self { tick: tick.to_rfc3339() }
    }
}

/// Removes login families that expired more than a day ago (kept a day for forensics).
pub async fn purge_expired_sessions(job: PurgeExpiredSessions, ctx: JobContext) -> JobResult {
    let removed = super::repo::purge_expired_sessions(&ctx.db).await?;
    tracing::info!(tick = %job.tick, removed, "expired logins purged");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_holds_the_reset_id_only() {
        let json = serde_json::to_string(&SendTemporaryPassword { reset_id: 9 }).expect("json");
        assert_eq!(json, r#"{"reset_id":9}"#);
    }

    #[test]
    fn the_unusable_password_is_no_hash() {
        assert!(argon2::PasswordHash::new(super::super::repo::password_resets::UNUSABLE_PASSWORD).is_err());
    }
}
