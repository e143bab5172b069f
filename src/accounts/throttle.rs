//! Throttling of *failed* logins, per username and per client address (`governor`, in-process).
//! Only failures draw from the budget, so the staff of a hospital behind one address are never
//! locked out by their own successful logins. Once a budget is spent the key is locked until
//! governor would allow the next attempt, and a locked key is refused before its password is
//! even checked, so a guess that happens to be right is refused too.
//!
//! A client presenting a device cookie of the account it logs in to (see `device`) has logged in
//! to it before: it is exempt from the address budget (which an outsider behind the same NAT
//! could otherwise hold spent) and draws from a budget of its own device instead, as large as an
//! account's. The account's budget applies to every client.

use std::{
    num::NonZeroU32,
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use moka::sync::Cache;

use super::device::TrustedDevice;
use crate::config::AuthSettings;

/// Who is trying to log in, as far as throttling is concerned.
#[derive(Debug, Clone, Copy)]
pub enum Client<'a> {
    /// Nothing known but the address.
    Address(&'a str),
    /// A device that logged in to this account before.
    Device(&'a TrustedDevice),
    /// A caller already signed in to the account (a password change): only the account's
    /// budget applies, so a locked address never keeps a user from changing their password.
    SignedIn,
}

/// Failed-login budgets and the keys locked for spending theirs.
pub struct LoginThrottle {
    per_username: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<String>,
    per_device: DefaultKeyedRateLimiter<String>,
    locked_until: Cache<String, Instant>,
    clock: DefaultClock,
}

fn quota(burst: u32, replenish_seconds: u64) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_secs(replenish_seconds.max(1)))
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl LoginThrottle {
    pub fn new(settings: &AuthSettings) -> Self {
        let longest = settings
            .failed_login_replenish_seconds_per_username
            .max(settings.failed_login_replenish_seconds_per_ip)
            .max(1);
        Self {
            per_username: RateLimiter::keyed(quota(
                settings.failed_login_burst_per_username,
                settings.failed_login_replenish_seconds_per_username,
            )),
            per_ip: RateLimiter::keyed(quota(
                settings.failed_login_burst_per_ip,
                settings.failed_login_replenish_seconds_per_ip,
            )),
            per_device: RateLimiter::keyed(quota(
                settings.failed_login_burst_per_username,
                settings.failed_login_replenish_seconds_per_username,
            )),
            locked_until: Cache::builder().max_capacity(1_000_000).time_to_live(Duration::from_secs(longest)).build(),
            clock: DefaultClock::default(),
        }
    }

    /// The keys a login attempt is counted under. The typed username is hashed (usernames
    /// compare case-insensitively): a key has a fixed size whatever a client sends.
    fn keys(username: &str, client: Client<'_>) -> Vec<String> {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::digest(username.trim().to_lowercase().as_bytes());
        let mut keys = vec![format!("u:{}", hex::encode(&digest[..16]))];
        match client {
            Client::Address(ip) => keys.push(format!("ip:{ip}")),
            Client::Device(device) => keys.push(format!("dev:{}", device.0)),
            Client::SignedIn => {}
        }
        keys
    }

    /// `Err(seconds)` while the username or the client (address or device) is locked.
    pub fn check(&self, username: &str, client: Client<'_>) -> Result<(), u64> {
        let now = Instant::now();
        let wait = Self::keys(username, client)
            .iter()
            .filter_map(|key| self.locked_until.get(key))
            .filter(|until| *until > now)
            .map(|until| until.duration_since(now))
            .max();
        match wait {
            Some(wait) => Err(wait.as_secs() + 1),
            None => Ok(()),
        }
    }

    /// Counts a failed login; `Err(seconds)` when it spent a budget, locking that key.
    pub fn record_failure(&self, username: &str, client: Client<'_>) -> Result<(), u64> {
        let now = self.clock.now();
        let wall = Instant::now();
        let mut longest = None;
        for key in Self::keys(username, client) {
            let limiter = match key.split_once(':').map(|(kind, _)| kind) {
                Some("ip") => &self.per_ip,
                Some("dev") => &self.per_device,
                _ => &self.per_username,
            };
            if let Err(not_until) = limiter.check_key(&key) {
                let wait = not_until.wait_time_from(now);
                self.locked_until.insert(key, wall + wait);
                longest = longest.max(Some(wait));
            }
        }
        // Keys whose budget has refilled carry no state: drop them once a map grows large.
        for limiter in [&self.per_username, &self.per_ip, &self.per_device] {
            if limiter.len() > 100_000 {
                limiter.retain_recent();
            }
        }
        match longest {
            Some(wait) => Err(wait.as_secs() + 1),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        AuthSettings {
            access_ttl_minutes: 60,
            refresh_ttl_days: 7,
            failed_login_burst_per_username: 3,
            failed_login_replenish_seconds_per_username: 60,
            failed_login_burst_per_ip: 5,
            failed_login_replenish_seconds_per_ip: 60,
            device_cookie_days: 30,
            generated_password_hours: 72,
            hashing_threads: 1,
            hashing_nice: 0,
            session_cache_seconds: 0,
        }
    }

    #[test]
    fn a_username_locks_after_its_burst_of_failures() {
        let throttle = LoginThrottle::new(&settings());
        for _ in 0..3 {
            assert!(throttle.record_failure("Alice", Client::Address("1.1.1.1")).is_ok());
        }
        let wait = throttle.record_failure("alice", Client::Address("2.2.2.2")).expect_err("fourth failure locks");
        assert!((50..=61).contains(&wait), "{wait}");
        assert!(throttle.check("ALICE", Client::Address("3.3.3.3")).is_err());
        assert!(
            throttle.check("alice", Client::Device(&TrustedDevice("d1".into()))).is_err(),
            "the account's lock holds for devices"
        );
        assert!(throttle.check("bob", Client::Address("3.3.3.3")).is_ok());
    }

    #[test]
    fn an_address_locks_after_its_burst_across_usernames() {
        let throttle = LoginThrottle::new(&settings());
        for n in 0..5 {
            assert!(throttle.record_failure(&format!("user{n}"), Client::Address("9.9.9.9")).is_ok());
        }
        assert!(throttle.record_failure("user9", Client::Address("9.9.9.9")).is_err());
        assert!(throttle.check("someone-else", Client::Address("9.9.9.9")).is_err());
        assert!(throttle.check("someone-else", Client::Address("8.8.8.8")).is_ok());
    }

    #[test]
    fn a_signed_in_caller_counts_only_against_the_account() {
        let throttle = LoginThrottle::new(&settings());
        for n in 0..6 {
            let _ = throttle.record_failure(&format!("guess{n}"), Client::Address("9.9.9.9"));
        }
        assert!(throttle.check("amina", Client::SignedIn).is_ok(), "a locked address does not matter");
        for _ in 0..3 {
            assert!(throttle.record_failure("amina", Client::SignedIn).is_ok());
        }
        assert!(throttle.record_failure("amina", Client::SignedIn).is_err());
        assert!(throttle.check("AMINA", Client::Address("1.1.1.1")).is_err(), "the account's lock is shared");
    }

    #[test]
    fn a_trusted_device_is_exempt_from_its_address_lock_but_has_a_budget_of_its_own() {
        let throttle = LoginThrottle::new(&settings());
        for n in 0..6 {
            let _ = throttle.record_failure(&format!("guess{n}"), Client::Address("9.9.9.9"));
        }
        let device = TrustedDevice("d1".into());
        assert!(throttle.check("colleague", Client::Address("9.9.9.9")).is_err());
        assert!(throttle.check("colleague", Client::Device(&device)).is_ok());

        for _ in 0..3 {
            assert!(throttle.record_failure("colleague", Client::Device(&device)).is_ok());
        }
        assert!(throttle.record_failure("colleague", Client::Device(&device)).is_err(), "the device's own budget");
        assert!(throttle.check("colleague", Client::Device(&device)).is_err());
    }
}
