//! The poll strategy of every worker: [`Tick`] wakes an idle worker on a fixed period, so it
//! fetches again (apalis-redis otherwise promotes new jobs only on its 30 s heartbeat).

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use apalis::prelude::{PollSnapshot, PollStrategy};

/// Wakes an idle worker every `period`, so it fetches again. apalis-core 1.0.0's
/// `IntervalStrategy` (`poll_with_interval`) re-arms its timer without polling it: when a fetch
/// takes longer than the interval, the new timer has already expired unseen when it is next
/// looked at, it is replaced by another unpolled one, and the worker, its fetch empty, sleeps with
/// nothing to wake it until its 30 s heartbeat (jobs pushed in the first half minute after a
/// start, on a busy machine, waited about 30 s). This one polls the re-armed timer, so a wake-up
/// is always registered.
#[derive(Debug)]
pub struct Tick {
    period: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Tick {
    pub fn new(period: Duration) -> Self {
        Self { period: period.max(Duration::from_millis(1)), sleep: None }
    }
}

impl Clone for Tick {
    fn clone(&self) -> Self {
        Self::new(self.period)
    }
}

impl PollStrategy for Tick {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let period = self.period;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(period)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        sleep.as_mut().reset(tokio::time::Instant::now() + period);
        // Registers this task's waker with the next tick (a `Sleep` only wakes whoever polled it).
        let _next = sleep.as_mut().poll(cx);
        Poll::Ready(Some(()))
    }
}
