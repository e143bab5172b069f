//! `SendOtp`: the job that makes a doctor-requested code and sends it to the patient by SMS. The
//! code is generated here, at send time, sealed into its request row (the keyed hash only) in the
//! same statement that claims the row, and handed to the SMS provider: it never waits anywhere
//! in clear (not in the row, the outbox, the Redis payload or an SMS row). A send that fails
//! drops the code; the retry makes a new one.

use carehub_workers::apalis::prelude::AbortError;
use carehub_workers::{
    Handler, JobContext, JobResult,
    jobs::{Job, Queue},
    sms::{SEND_DEADLINE, SmsError, SmsProvider, sms_name, wait_out_send},
};
use serde::{Deserialize, Serialize};

use super::{
    otp::code::{OtpCode, OtpKey},
    repo::{
        delivery::{self, Claimed, claim, delivery_of, mark},
        failures, unmatched,
    },
};

/// Send the code of one doctor-requested code request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendOtp {
    pub otp_request_id: i64,
}

impl Job for SendOtp {
    const QUEUE: Queue = Queue::new("carehub:otp");
    const NAME: &'static str = "SendOtp";
}

/// The SMS. The doctor's name is one they edit themselves: only what [`sms_name`] keeps of it
/// reaches the patient (letters, spaces, `.'-`, 40 characters), never a number or a link.
fn text(code: &OtpCode, claimed: &Claimed) -> String {
    let name = sms_name(&claimed.doctor_name);
    let doctor = if name.is_empty() { "your doctor".to_owned() } else { format!("Dr {name}") };
    format!(
        "CareHub: {} is your code to let {doctor} read your medical records. It expires in {} minutes. \
         Share it only with that doctor.",
        code.reveal(),
        claimed.ttl_minutes
    )
}

/// The handler of [`SendOtp`], sealing codes with `key` and sending them through `sms`.
pub fn send_otp(key: OtpKey, sms: SmsProvider) -> impl Handler<SendOtp> {
    move |job: SendOtp, ctx: JobContext| {
        let (key, sms) = (key.clone(), sms.clone());
        async move { send(&key, &sms, job.otp_request_id, &ctx).await }
    }
}

async fn send(key: &OtpKey, sms: &SmsProvider, request_id: i64, ctx: &JobContext) -> JobResult {
    let code = OtpCode::generate();
    let Some(claimed) = claim(&ctx.db, request_id, &key.seal(request_id, &code)).await? else {
        let delivery = delivery_of(&ctx.db, request_id).await?;
        if delivery.as_deref() == Some("SENDING") {
            // Another run is sending it, or died mid-send: never sent twice. Once its deadline
            // has passed with no outcome recorded, its process is gone, and the code may or may
            // not have reached the phone (the doctor can ask for another).
            wait_out_send(|| delivery::sending_ms(&ctx.db, request_id)).await?;
            if delivery::mark_cut_off(&ctx.db, request_id, SEND_DEADLINE.as_secs_f64()).await? {
                tracing::warn!(otp_request.id = request_id, "a cut-off send of a code; marked UNKNOWN");
                return Ok(());
            }
            return Err(SmsError::Transient("another run of this job is sending the code".into()).into());
        }
        tracing::info!(otp_request.id = request_id, delivery = ?delivery, "code not sent: nothing to send");
        return Ok(());
    };
    let Some(phone) = claimed.phone_number.as_deref() else {
        mark(&ctx.db, request_id, "FAILED", None, Some("the patient has no phone number")).await?;
        return Err(AbortError::new(SmsError::Permanent("no phone number".into())).into());
    };
    let provider = sms.name();
    match sms.send(request_id, phone, &text(&code, &claimed)).await {
        Ok(provider_id) => {
            mark(&ctx.db, request_id, "SENT", Some(&provider_id), None).await?;
            tracing::info!(otp_request.id = request_id, provider, "code sent");
            Ok(())
        }
        Err(SmsError::Permanent(reason)) => {
            mark(&ctx.db, request_id, "FAILED", None, Some(&reason)).await?;
            tracing::warn!(otp_request.id = request_id, %reason, "code refused by the SMS provider");
            Err(AbortError::new(SmsError::Permanent(reason)).into())
        }
        Err(SmsError::Transient(reason)) => {
            let delivery = if ctx.is_last_attempt() { "FAILED" } else { "RETRY" };
            mark(&ctx.db, request_id, delivery, None, Some(&reason)).await?;
            tracing::warn!(otp_request.id = request_id, %reason, attempt = ctx.attempt(), "code send failed");
            Err(SmsError::Transient(reason).into())
        }
    }
}

/// The access sweep of one clock tick: codes that can no longer be redeemed lose their hash a day
/// after they were made (verification no longer looks at them), SMS codes whose delivery
/// never happened before they expired are marked so, and the counted requests for nobody and
/// failed verifications are deleted once past every window (a day).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessSweep {
    pub tick: String,
}

impl Job for AccessSweep {
    const QUEUE: Queue = Queue::new("carehub:access-sweep");
    const NAME: &'static str = "AccessSweep";
}

impl carehub_workers::jobs::Scheduled for AccessSweep {
    fn at(tick: chrono::DateTime<chrono::Utc>) -> Self {
        Self { tick: tick.to_rfc3339() }
    }
}

/// Handles [`AccessSweep`].
pub async fn access_sweep(job: AccessSweep, ctx: JobContext) -> JobResult {
    let forgotten = delivery::forget_old_codes(&ctx.db).await?;
    let undelivered = delivery::expire_undelivered(&ctx.db).await?;
    // Requests that named nobody count only within the limits' windows (minutes to an hour).
    let unmatched = unmatched::delete_old(&ctx.db).await?;
    let failed_tries = failures::delete_old(&ctx.db).await?;
    tracing::info!(tick = %job.tick, forgotten, undelivered, unmatched, failed_tries, "access sweep");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(doctor_name: &str) -> String {
        let code = OtpCode::parse("123456").expect("code");
        text(&code, &Claimed { phone_number: None, doctor_name: doctor_name.to_owned(), ttl_minutes: 10 })
    }

    #[test]
    fn the_code_sms_names_the_doctor_by_what_may_reach_an_sms_only() {
        assert!(body("Ali Mehmood").contains("let Dr Ali Mehmood read"));
        let nasty = body("Ali\nURGENT: call 0300-9999999 or visit https://evil.example now to keep your records safe");
        assert!(nasty.contains("let Dr Ali URGENT call - or visit httpsevilexam read"), "{nasty}");
        assert!(!nasty.contains("9999999") && !nasty.contains("https:") && !nasty.contains('\n'), "{nasty}");
        assert!(body("0300 1234567").contains("let your doctor read"), "nothing left of the name");
    }
}
