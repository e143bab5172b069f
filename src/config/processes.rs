//! What each process builds from its settings: the workers' and the clock's settings, the SMS
//! provider, the LLM client, the clamd client and the audit sealer.

use secrecy::ExposeSecret;

use super::Settings;

impl Settings {
    /// The audit chain's key, in a process that loaded it ([`AuditKeyUse::Seals`]).
    pub fn sealing_key(&self) -> anyhow::Result<crate::audit::AuditKey> {
        self.audit_key
            .as_ref()
            .map(crate::audit::AuditKey::new)
            .ok_or_else(|| anyhow::anyhow!("this process does not load AUDIT_KEY (only work, dev and audit-verify do)"))
    }

    /// How the job workers run, from this configuration (which kinds run, and how many at a
    /// time, is the job registry's: [`crate::jobs::registry`]).
    pub fn worker_settings(&self) -> anyhow::Result<carehub_workers::WorkerSettings> {
        use std::time::Duration;
        let jobs = &self.jobs;
        Ok(carehub_workers::WorkerSettings {
            redis_url: self.redis_url.expose_secret().to_owned(),
            namespace: jobs.namespace.clone(),
            poll_interval: Duration::from_millis(jobs.poll_interval_ms),
            max_attempts: jobs.max_attempts.max(1),
            backoff_initial: Duration::from_millis(jobs.backoff_initial_ms),
            backoff_max: Duration::from_millis(jobs.backoff_max_ms.max(jobs.backoff_initial_ms)),
            shutdown_timeout: Duration::from_secs(jobs.shutdown_timeout_seconds),
            orphan_after: Duration::from_secs(jobs.orphan_seconds.max(4)),
            relay_batch: jobs.relay_batch_size.max(1),
            relay_idle: Duration::from_millis(jobs.relay_idle_ms),
        })
    }

    /// The SMS provider the job handlers that send SMS are registered with
    /// ([`crate::jobs::registry`]).
    pub fn sms_provider(&self) -> anyhow::Result<carehub_workers::sms::SmsProvider> {
        Ok(if self.sms_provider == "twilio" {
            carehub_workers::sms::SmsProvider::twilio(carehub_workers::sms::TwilioConfig {
                account_sid: self.twilio_account_sid.clone(),
                auth_token: self.twilio_auth_token.clone(),
                from: self.twilio_from.clone(),
                api_base: self.twilio_api_base.clone(),
            })?
        } else {
            carehub_workers::sms::SmsProvider::Console
        })
    }

    /// Who answers recommendations: the mock, or the OpenAI-compatible API configured here.
    pub fn recommendation_provider(&self) -> crate::medicines::recommendations::jobs::Provider {
        use crate::medicines::recommendations::jobs::Provider;
        if self.llm_provider != "openai" {
            return Provider::Mock;
        }
        let config = carehub_workers::llm::LlmConfig {
            api_base: self.llm_api_base.clone(),
            api_key: self.llm_api_key.clone(),
            model: self.llm_model.clone(),
            timeout: std::time::Duration::from_secs(self.recommendations.llm_timeout_seconds.max(1)),
            attempts: self.recommendations.llm_attempts.max(1),
            backoff: std::time::Duration::from_millis(self.recommendations.llm_backoff_ms),
        };
        match carehub_workers::llm::ChatClient::new(config) {
            Ok(client) => Provider::Llm(Box::new(client)),
            Err(err) => {
                // Building a reqwest client fails only without a TLS backend: a broken build.
                tracing::error!(error = %err, "the LLM client could not be built; answering with the mock");
                Provider::Mock
            }
        }
    }

    /// The clamd client of the file-scan jobs and of the worker's readiness check.
    pub fn clamd(&self) -> carehub_workers::scan::Clamd {
        carehub_workers::scan::Clamd::new(
            self.clamd_addr.clone(),
            std::time::Duration::from_secs(self.records.scan_timeout_seconds.max(1)),
        )
    }

    /// How the clock runs, from this configuration (its schedules are the job registry's:
    /// [`crate::jobs::registry`]).
    pub fn clock_settings(&self) -> carehub_workers::ClockSettings {
        carehub_workers::ClockSettings {
            shutdown_timeout: std::time::Duration::from_secs(self.jobs.shutdown_timeout_seconds),
        }
    }

    /// How the audit sealer runs, from this configuration.
    pub fn sealer_settings(&self) -> anyhow::Result<crate::audit::SealerSettings> {
        Ok(crate::audit::SealerSettings {
            key: self.sealing_key()?,
            interval: std::time::Duration::from_millis(self.audit.seal_interval_ms.max(10)),
            batch: self.audit.seal_batch_size.max(1),
        })
    }
}
