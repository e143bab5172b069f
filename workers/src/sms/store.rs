//! The `sms_messages` rows: created with their job in the caller's transaction, claimed by a
//! handler before the provider is called (so a message is sent at most once), then marked (the
//! statements are in [`repo`](super::repo)).

use sqlx::{PgConnection, PgPool};

use super::{
    SendSms,
    repo::{self, Claimed, Sending},
};
use crate::outbox;

/// Why a message is sent (stored, shown to operators; decides redaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A one-time code: the body is redacted once sent.
    Otp,
    AppointmentConfirmation,
    AppointmentCancellation,
    AppointmentReminder,
    HospitalApproval,
    Test,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::AppointmentConfirmation => "appointment_confirmation",
            Self::AppointmentCancellation => "appointment_cancellation",
            Self::AppointmentReminder => "appointment_reminder",
            Self::HospitalApproval => "hospital_approval",
            Self::Test => "test",
        }
    }
}

/// Stores a message to `to` (E.164) and enqueues its `SendSms` job, in the caller's transaction.
pub async fn queue_sms(conn: &mut PgConnection, to: &str, body: &str, purpose: Purpose) -> sqlx::Result<i64> {
    let message_id = repo::insert(&mut *conn, to, body, purpose.as_str()).await?;
    outbox::enqueue(conn, &SendSms { message_id }, Some(&format!("sms:{message_id}"))).await?;
    Ok(message_id)
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// This run sends the message.
    Mine(Claimed),
    /// Already sent (or nothing left to send): the job is done.
    Done,
    /// Another run claimed it and has not recorded the outcome: it is still waiting for the
    /// provider, or it died mid-send.
    InFlight(Sending),
}

/// Claims the message for this attempt. A failed message can be claimed again (an operator
/// re-queued its dead job), unless it is a redacted one-time code.
pub async fn claim(db: &PgPool, message_id: i64) -> sqlx::Result<Claim> {
    if let Some(claimed) = repo::claim(db, message_id).await? {
        return Ok(Claim::Mine(claimed));
    }
    Ok(repo::sending(db, message_id).await?.map_or(Claim::Done, Claim::InFlight))
}
