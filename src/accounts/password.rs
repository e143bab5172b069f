//! Password hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1), run off the
//! async executor. Verifying against an unknown user still costs one full hash (against a dummy
//! hash made at start-up), so response time does not reveal which usernames exist.

use std::sync::Arc;

use anyhow::Context;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

use super::model::Password;

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    dummy_hash: Arc<str>,
    /// At most this many hashes at once (each takes 19 MiB): a flood of logins queues here
    /// instead of exhausting memory.
    permits: Arc<tokio::sync::Semaphore>,
}

fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let hash = argon2()?.hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))?;
    Ok(hash.to_string())
}

impl PasswordHasher {
    pub fn new() -> anyhow::Result<Self> {
        let dummy = hash_blocking("carehub-dummy-password-for-unknown-users")?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Ok(Self { dummy_hash: dummy.into(), permits: Arc::new(tokio::sync::Semaphore::new(cores * 2)) })
    }

    /// The PHC string of `password`.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        let _permit = self.permits.acquire().await.context("hashing permits")?;
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await.context("password hashing task")?
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown user) the same work is
    /// done against the dummy hash and the answer is always no.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.expose().to_owned();
        let _permit = self.permits.acquire().await.context("hashing permits")?;
        let matches = tokio::task::spawn_blocking(move || {
            argon2().map(|a| a.verify_password(password.as_bytes(), hash.as_str()).is_ok())
        })
        .await
        .context("password verification task")??;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let hasher = PasswordHasher::new().expect("hasher");
        let password = Password::unchecked("Correct-Horse-7");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify(&password, Some(&hash)).await.expect("verify"));
        assert!(!hasher.verify(&Password::unchecked("wrong"), Some(&hash)).await.expect("verify"));
        let dummy = hasher.dummy_hash.to_string();
        let dummy_password = Password::unchecked("carehub-dummy-password-for-unknown-users");
        assert!(!hasher.verify(&dummy_password, None).await.expect("verify"));
        assert!(hasher.verify(&dummy_password, Some(&dummy)).await.expect("verify"));
    }
}
