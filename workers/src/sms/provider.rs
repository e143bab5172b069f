//! SMS providers: `console` (development: prints to stdout, marked as such) and `twilio`
//! (Twilio's Messages API). A provider reports whether a failure is worth retrying.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// The longest a provider call can take (the client's timeout, with a margin): a send claimed
/// longer ago than this belongs to a run that is gone.
pub const SEND_DEADLINE: Duration = Duration::from_secs(15);

/// How a send failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SmsError {
    /// The provider refused the message itself (bad number, unverified sender): never retried.
    #[error("permanent: {0}")]
    Permanent(String),
    /// The provider or the network failed (5xx, timeout, 429): retried with backoff.
    #[error("transient: {0}")]
    Transient(String),
}

/// Twilio credentials and endpoint.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub from: String,
    /// `https://api.twilio.com`, or a stand-in's address in tests.
    pub api_base: String,
}

/// The configured provider.
#[derive(Debug, Clone)]
pub enum SmsProvider {
    Console,
    Twilio { config: TwilioConfig, client: reqwest::Client },
}

#[derive(Deserialize)]
struct TwilioMessage {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioListed {
    sid: String,
    #[serde(default)]
    body: String,
    /// RFC 2822, as Twilio writes dates.
    #[serde(default)]
    date_created: String,
}

#[derive(Deserialize)]
struct TwilioList {
    #[serde(default)]
    messages: Vec<TwilioListed>,
}

/// What the provider says of a send that was cut off before its answer was recorded.
#[derive(Debug, PartialEq, Eq)]
pub enum CutOff {
    /// The provider has the message: its id. It went out; it must not be sent again.
    Sent(String),
    /// The provider has no such message: it never arrived, and can be sent.
    NotSent,
    /// The provider cannot be asked (or did not answer): it may or may not have gone out.
    Unknown,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
}

impl SmsProvider {
    pub fn twilio(config: TwilioConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self::Twilio { config, client })
    }

    /// The provider's name, stored with each message.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Twilio { .. } => "twilio",
        }
    }

    /// Sends `body` to `to` (E.164); returns the provider's message id.
    pub async fn send(&self, message_id: i64, to: &str, body: &str) -> Result<String, SmsError> {
        match self {
            Self::Console => {
                // Development only (refused in production): the point is to see the text.
                println!("[DEVELOPMENT SMS, not sent] message {message_id} to {to}: {body}");
                Ok(format!("console-{message_id}"))
            }
            Self::Twilio { config, client } => send_twilio(config, client, to, body).await,
        }
    }

    /// Asks the provider whether it took a message to `to` created since `since` whose text
    /// `matches`: what became of a send cut off between the call and the record of its answer.
    /// Twilio lists an account's messages by recipient, newest first; the console provider
    /// cannot be asked.
    pub async fn cut_off(&self, to: &str, since: DateTime<Utc>, matches: impl Fn(&str) -> bool) -> CutOff {
        let Self::Twilio { config, client } = self else {
            return CutOff::Unknown;
        };
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            config.api_base.trim_end_matches('/'),
            config.account_sid
        );
        let listed = client
            .get(url)
            .basic_auth(&config.account_sid, Some(config.auth_token.expose_secret()))
            .query(&[("To", to), ("From", config.from.as_str()), ("PageSize", "50")])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        let Ok(list) = (match listed {
            Ok(response) => response.json::<TwilioList>().await,
            Err(err) => Err(err),
        }) else {
            return CutOff::Unknown;
        };
        // The provider's clock and ours may differ by a little.
        let since = since - chrono::Duration::seconds(60);
        list.messages
            .into_iter()
            .find(|message| {
                DateTime::parse_from_rfc2822(&message.date_created).is_ok_and(|created| created >= since)
                    && matches(&message.body)
            })
            .map_or(CutOff::NotSent, |message| CutOff::Sent(message.sid))
    }
}

async fn send_twilio(
    config: &TwilioConfig,
    client: &reqwest::Client,
    to: &str,
    body: &str,
) -> Result<String, SmsError> {
    let url =
        format!("{}/2010-04-01/Accounts/{}/Messages.json", config.api_base.trim_end_matches('/'), config.account_sid);
    let response = client
        .post(url)
        .basic_auth(&config.account_sid, Some(config.auth_token.expose_secret()))
        .form(&[("To", to), ("From", config.from.as_str()), ("Body", body)])
        .send()
        .await
        // Never the body in an error: it may hold a code.
        .map_err(|err| SmsError::Transient(format!("twilio unreachable: {}", err.without_url())))?;
    let status = response.status();
    if status.is_success() {
        let message: TwilioMessage =
            response.json().await.map_err(|_| SmsError::Transient("twilio answered without a message sid".into()))?;
        return Ok(message.sid);
    }
    let code = response.json::<TwilioError>().await.ok().and_then(|e| e.code);
    let reason =
        format!("twilio HTTP {}{}", status.as_u16(), code.map(|c| format!(" (error {c})")).unwrap_or_default());
    if status.is_client_error()
        && status != reqwest::StatusCode::TOO_MANY_REQUESTS
        && status != reqwest::StatusCode::REQUEST_TIMEOUT
    {
        Err(SmsError::Permanent(reason))
    } else {
        Err(SmsError::Transient(reason))
    }
}
