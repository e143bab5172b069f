//! Throttling of *failed* logins, per username and per client address (`governor`, in-process).
//! Only failures draw from the budget, so the staff of a hospital behind one address are never
//! locked out by their own successful logins. Once a budget is spent the key is locked until
//! governor would allow the next attempt, and a locked key is refused before its password is
//! even checked, so a guess that happens to be right is refused too.

use std::{
    num::NonZeroU32,
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use moka::sync::Cache;

use crate::config::AuthSettings;

/// Failed-login budgets and the keys locked for spending theirs.
pub struct LoginThrottle {
    per_username: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<String>,
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
            locked_until: Cache::builder().max_capacity(1_000_000).time_to_live(Duration::from_secs(longest)).build(),
            clock: DefaultClock::default(),
        }
    }

    fn keys(username: &str, ip: &str) -> [String; 2] {
        [format!("u:{}", username.to_lowercase()), format!("ip:{ip}")]
    }

    /// `Err(seconds)` while the username or the address is locked.
    pub fn check(&self, username: &str, ip: &str) -> Result<(), u64> {
        let now = Instant::now();
        let wait = Self::keys(username, ip)
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
    pub fn record_failure(&self, username: &str, ip: &str) -> Result<(), u64> {
        let [user_key, ip_key] = Self::keys(username, ip);
        let now = self.clock.now();
        let wall = Instant::now();
        let mut longest = None;
        for (limiter, key) in [(&self.per_username, user_key), (&self.per_ip, ip_key)] {
            if let Err(not_until) = limiter.check_key(&key) {
                let wait = not_until.wait_time_from(now);
                self.locked_until.insert(key, wall + wait);
                longest = longest.max(Some(wait));
            }
        }
        if self.per_username.len() > 100_000 {
            self.per_username.retain_recent();
            self.per_ip.retain_recent();
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
            generated_password_hours: 72,
        }
    }

    #[test]
    fn a_username_locks_after_its_burst_of_failures() {
        let throttle = LoginThrottle::new(&settings());
        for _ in 0..3 {
            assert!(throttle.record_failure("Alice", "1.1.1.1").is_ok());
        }
        let wait = throttle.record_failure("alice", "2.2.2.2").expect_err("fourth failure locks");
        assert!((50..=61).contains(&wait), "{wait}");
        assert!(throttle.check("ALICE", "3.3.3.3").is_err());
        assert!(throttle.check("bob", "3.3.3.3").is_ok());
    }

    #[test]
    fn an_address_locks_after_its_burst_across_usernames() {
        let throttle = LoginThrottle::new(&settings());
        for n in 0..5 {
            assert!(throttle.record_failure(&format!("user{n}"), "9.9.9.9").is_ok());
        }
        assert!(throttle.record_failure("user9", "9.9.9.9").is_err());
        assert!(throttle.check("someone-else", "9.9.9.9").is_err());
        assert!(throttle.check("someone-else", "8.8.8.8").is_ok());
    }
}
