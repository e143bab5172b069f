//! The language-model client: any OpenAI-compatible chat-completions API (Groq by default),
//! through `async-openai` with a custom base URL. One call asks for a JSON object; the caller
//! validates it. Timeouts, 429 and 5xx are transient (retried with backoff, up to the configured
//! attempts); anything else is permanent. Prompts may hold clinical facts (never names): they
//! are never logged, and neither are answers.

use std::time::Duration;

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    types::chat::{
        ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
        CreateChatCompletionRequestArgs, ResponseFormat,
    },
};
use secrecy::{ExposeSecret as _, SecretString};

/// Where and how to call the model.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub api_base: String,
    pub api_key: SecretString,
    pub model: String,
    pub timeout: Duration,
    pub attempts: u32,
    pub backoff: Duration,
}

/// Why a model call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Timeout, 429 or 5xx: worth another try.
    #[error("transient: {0}")]
    Transient(String),
    /// Refused (4xx other than 429), or no answer in the response.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// An OpenAI-compatible chat client.
#[derive(Clone)]
pub struct ChatClient {
    client: Client<OpenAIConfig>,
    config: LlmConfig,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("api_base", &self.config.api_base)
            .field("model", &self.config.model)
            .finish()
    }
}

fn classify(err: OpenAIError) -> LlmError {
    match err {
        OpenAIError::Reqwest(err) if err.is_timeout() || err.is_connect() || err.is_request() => LlmError::Transient(
            format!("the model did not answer ({})", if err.is_timeout() { "timeout" } else { "connection" }),
        ),
        OpenAIError::ApiError(response) => {
            let status = response.status_code;
            if status.as_u16() == 429 || status.is_server_error() {
                LlmError::Transient(format!("the model's API answered {status}"))
            } else {
                LlmError::Permanent(format!("the model's API refused the request ({status})"))
            }
        }
        OpenAIError::JSONDeserialize(..) => LlmError::Permanent("the model's API answered something unreadable".into()),
        OpenAIError::Reqwest(_) => LlmError::Transient("the model's API could not be reached".into()),
        _ => LlmError::Permanent("the model call failed".into()),
    }
}

impl ChatClient {
    pub fn new(config: LlmConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        let openai = OpenAIConfig::new()
            .with_api_base(config.api_base.trim_end_matches('/'))
            .with_api_key(config.api_key.expose_secret());
        Ok(Self { client: Client::with_config(openai).with_http_client(http), config })
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// One answer to `system` + `user`, asked for as a JSON object: the message content, as
    /// text. Transient failures are retried with exponential backoff up to the configured attempts.
    pub async fn complete_json(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let request = CreateChatCompletionRequestArgs::default()
            .model(self.config.model.clone())
            .messages(vec![
                ChatCompletionRequestMessage::from(ChatCompletionRequestSystemMessage::from(system)),
                ChatCompletionRequestMessage::from(ChatCompletionRequestUserMessage::from(user)),
            ])
            .response_format(ResponseFormat::JsonObject)
            .temperature(0.0_f32)
            .build()
            .map_err(|err| LlmError::Permanent(format!("request not built: {err}")))?;
        let attempts = self.config.attempts.max(1);
        let mut delay = self.config.backoff;
        let mut attempt = 1;
        loop {
            match self.client.chat().create(request.clone()).await {
                Ok(response) => {
                    return response
                        .choices
                        .into_iter()
                        .find_map(|choice| choice.message.content)
                        .ok_or_else(|| LlmError::Permanent("the model's answer was empty".into()));
                }
                Err(err) => match classify(err) {
                    LlmError::Transient(reason) if attempt < attempts => {
                        tracing::warn!(attempt, %reason, "model call failed; retrying");
                        tokio::time::sleep(jittered(delay)).await;
                        delay = delay.saturating_mul(2);
                        attempt += 1;
                    }
                    other => return Err(other),
                },
            }
        }
    }
}

/// A retry's pause: between half of `delay` and all of it, at random, so that the calls a
/// provider outage failed together do not all come back at the same instant (a retry storm).
fn jittered(delay: Duration) -> Duration {
    use rand::RngExt as _;
    delay.mul_f64(rand::rng().random_range(0.5..=1.0))
}

impl ChatClient {
    /// The model's API answers its model list within `deadline` (a readiness probe: no tokens
    /// are spent).
    pub async fn ready(&self, deadline: Duration) -> bool {
        matches!(tokio::time::timeout(deadline, self.client.models().list()).await, Ok(Ok(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_pause_is_between_half_the_delay_and_all_of_it_and_not_always_the_same() {
        let delay = Duration::from_millis(800);
        let pauses: Vec<Duration> = (0..200).map(|_| jittered(delay)).collect();
        assert!(pauses.iter().all(|p| *p >= delay / 2 && *p <= delay), "{pauses:?}");
        let distinct: std::collections::BTreeSet<_> = pauses.iter().collect();
        assert!(distinct.len() > 100, "spread, not one instant: {} distinct", distinct.len());
    }
}
