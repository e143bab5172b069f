//! Password hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1) on a fixed set
//! of hashing threads, each reusing one memory block, so a login storm costs at most
//! threads × 19 MiB and never grows the process. Verifying against an unknown user still costs
//! one full hash (against a dummy hash made at start-up), so response time does not reveal which
//! usernames exist.
//!
//! Hashing threads run at a lower scheduling priority (`auth.hashing_nice`): a login storm takes
//! whatever CPU the other requests leave, rather than an equal share beside them, so the rest of
//! the API keeps its latency while logins still use every idle cycle.

use std::sync::{
    Arc, Mutex, PoisonError,
    mpsc::{Receiver, SyncSender, TrySendError},
};

use anyhow::{Context, anyhow};
use argon2::{Block, PasswordHash};
use tokio::sync::{Semaphore, oneshot};

use self::argon2id::{hash_into, matches, params};
use super::model::Password;

mod argon2id;

/// A unit of work for a hashing thread, given that thread's reusable memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Hashes and verifies passwords on its own threads, which live as long as the last clone.
/// Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    dummy_hash: Arc<str>,
    /// Two permits per hashing thread: a job holds one from the moment it is queued until its
    /// hash is done, so at most one job per thread waits ready behind the one being hashed (a
    /// thread that finishes starts the next at once, without waiting for a request task to be
    /// scheduled) and a flood of logins waits here (asynchronously, in arrival order) rather than
    /// on an executor thread. Only the threads' own blocks hold argon2 memory.
    permits: Arc<Semaphore>,
    jobs: SyncSender<Job>,
    threads: usize,
}

/// Jobs per hashing thread that may be queued or running at once.
const QUEUED_PER_THREAD: usize = 2;

/// Lowers the calling thread's priority to `nice` (Linux keeps a nice value per thread, set by
/// its thread id). A failure only costs the priority, so it is logged and hashing goes on.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice) {
        tracing::warn!(error = %err, nice, "cannot lower the password hashing thread's priority");
    }
}

/// A hashing thread: takes jobs until every sender is gone, always into the same memory (the
/// block is allocated by the first job and then kept, so no hash allocates).
fn hashing_thread(jobs: &Mutex<Receiver<Job>>, nice: i32) {
    lower_priority(nice);
    let mut memory = Vec::new();
    loop {
        // The lock is held only while waiting for a job, never while hashing.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

/// Hashes `password` once on a blocking thread of the runtime, for a process that keeps no
/// hashing threads of its own (the worker making a temporary password): the same parameters and
/// format as [`PasswordHasher::hash`].
pub async fn hash_once(password: &Password) -> anyhow::Result<String> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || hash_into(&mut Vec::new(), password.as_bytes()))
        .await
        .context("the hashing task ended")?
}

impl PasswordHasher {
    /// A hasher with one hashing thread per core, at normal priority.
    pub fn new() -> anyhow::Result<Self> {
        Self::with_threads(0)
    }

    /// A hasher with `threads` hashing threads (0: one per core), at normal priority.
    pub fn with_threads(threads: usize) -> anyhow::Result<Self> {
        Self::with_threads_at(threads, 0)
    }

    /// A hasher with `threads` hashing threads (0: one per core) at nice value `nice` (0 to 19;
    /// higher yields more readily to the process's other threads).
    pub fn with_threads_at(threads: usize, nice: i32) -> anyhow::Result<Self> {
        let nice = nice.clamp(0, 19);
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            n => n,
        };
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(QUEUED_PER_THREAD * threads);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("carehub-hash-{i}"))
                .spawn(move || hashing_thread(&receiver, nice))
                .context("starting a password hashing thread")?;
        }
        // Made on a hashing thread too, so its memory is the block that thread keeps.
        let (reply, dummy) = std::sync::mpsc::channel();
        jobs.send(Box::new(move |memory| {
            let _ = reply.send(hash_into(memory, b"carehub-dummy-password-for-unknown-users"));
        }))
        .map_err(|_| anyhow!("password hashing threads are gone"))?;
        let dummy = dummy.recv().context("dummy password hash")??;
        Ok(Self {
            dummy_hash: dummy.into(),
            permits: Arc::new(Semaphore::new(QUEUED_PER_THREAD * threads)),
            jobs,
            threads,
        })
    }

    /// Runs `work` on a hashing thread once one is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.context("hashing permits")?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller may have gone (a dropped request); the hash was bounded all the same.
            let _ = reply.send(work(memory));
            drop(permit);
        });
        // Never full: the channel holds as many jobs as there are permits.
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => anyhow!("password hashing queue full"),
            TrySendError::Disconnected(_) => anyhow!("password hashing threads are gone"),
        })?;
        answer.await.context("password hashing thread")
    }

    /// How many hashes these threads do per second with every thread busy: `duration` of
    /// verifications, `threads` times as many in flight as there are threads. The ceiling a
    /// login storm is measured against (`carehub hash-rate`).
    pub async fn rate(&self, duration: std::time::Duration) -> anyhow::Result<f64> {
        let password = Password::unchecked("carehub-hash-rate-password");
        let stored = self.hash(&password).await?;
        let start = std::time::Instant::now();
        let deadline = start + duration;
        let in_flight = QUEUED_PER_THREAD * self.threads;
        let runners = (0..in_flight).map(|_| {
            let (hasher, stored) = (self.clone(), stored.clone());
            tokio::spawn(async move {
                let password = Password::unchecked("carehub-hash-rate-password");
                let mut done = 0u64;
                while std::time::Instant::now() < deadline {
                    hasher.verify(&password, Some(&stored)).await?;
                    done += 1;
                }
                anyhow::Ok(done)
            })
        });
        let mut done = 0;
        for runner in runners.collect::<Vec<_>>() {
            done += runner.await.context("hash-rate task")??;
        }
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        Ok(done as f64 / start.elapsed().as_secs_f64())
    }

    /// What hashes here: the algorithm, its parameters and the number of hashing threads.
    pub fn describe(&self) -> String {
        params().map_or_else(
            |_| format!("argon2id on {} hashing threads", self.threads),
            |p| {
                format!(
                    "argon2id m={} t={} p={} on {} hashing threads",
                    p.m_cost(),
                    p.t_cost(),
                    p.p_cost(),
                    self.threads
                )
            },
        )
    }

    /// The PHC string of `password`.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        self.run(move |memory| hash_into(memory, password.as_bytes())).await?
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown user), or a stored value
    /// that is no hash, the same work is done against the dummy hash and the answer is always no.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> anyhow::Result<bool> {
        // A stored value that is no hash (an account whose reset password is on its way) costs
        // the same work as an unknown user: timing does not tell such accounts apart.
        let stored = stored.filter(|stored| PasswordHash::new(stored).is_ok());
        let known = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.expose().to_owned();
        let matched = self.run(move |memory| matches(memory, password.as_bytes(), &hash)).await?;
        Ok(known && matched)
    }
}

#[cfg(test)]
mod tests {
    use argon2::{Algorithm, Argon2, PasswordHasher as _, Version};

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

    #[tokio::test]
    async fn a_hash_made_by_the_argon2_crate_verifies() {
        let params = params().expect("params");
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"Correct-Horse-7")
            .expect("hash")
            .to_string();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        let hasher = PasswordHasher::with_threads(1).expect("hasher");
        assert!(hasher.verify(&Password::unchecked("Correct-Horse-7"), Some(&stored)).await.expect("verify"));
        assert!(!hasher.verify(&Password::unchecked("Correct-Horse-8"), Some(&stored)).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_matches_nothing() {
        let hasher = PasswordHasher::with_threads(1).expect("hasher");
        let password = Password::unchecked("Correct-Horse-7");
        assert!(!hasher.verify(&password, Some("not a phc string")).await.expect("verify"));
        assert!(!hasher.verify(&password, Some("$argon2id$v=19$m=19456,t=2,p=1")).await.expect("verify"));
    }

    /// Hashing yields to the rest of the process: its threads run at the configured nice value,
    /// and only they do (the caller's thread keeps its own).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_configured_nice_value_and_only_they_do() {
        let own = || rustix::process::getpriority_process(Some(rustix::thread::gettid())).expect("own priority");
        let before = own();
        let hasher = PasswordHasher::with_threads_at(2, 10).expect("hasher");
        for _ in 0..4 {
            let nice = hasher.run(move |_| own()).await.expect("run");
            assert_eq!(nice, 10.max(before), "a hashing thread's nice value");
        }
        assert_eq!(own(), before, "the caller's thread is untouched");
        let normal = PasswordHasher::with_threads(1).expect("hasher");
        assert_eq!(normal.run(move |_| own()).await.expect("run"), before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_hash_rate_counts_completed_verifications() {
        let hasher = PasswordHasher::with_threads(1).expect("hasher");
        let rate = hasher.rate(std::time::Duration::from_millis(600)).await.expect("rate");
        // One thread at 19 MiB and two passes: tens per second on any machine this runs on.
        assert!(rate > 1.0 && rate < 1000.0, "{rate} hashes/s");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn four_times_more_verifications_than_threads_all_complete_correctly() {
        let threads = 2;
        let hasher = PasswordHasher::with_threads(threads).expect("hasher");
        let right = Password::unchecked("Correct-Horse-7");
        let stored = hasher.hash(&right).await.expect("hash");
        let checks = (0..4 * threads).map(|i| {
            let (hasher, stored) = (hasher.clone(), stored.clone());
            tokio::spawn(async move {
                let attempt = if i % 2 == 0 { "Correct-Horse-7" } else { "Wrong-Horse-7" };
                (i, hasher.verify(&Password::unchecked(attempt), Some(&stored)).await.expect("verify"))
            })
        });
        for check in checks.collect::<Vec<_>>() {
            let (i, matched) = check.await.expect("verification task");
            assert_eq!(matched, i % 2 == 0, "verification {i}");
        }
    }
}
