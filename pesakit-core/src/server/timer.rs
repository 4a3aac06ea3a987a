//! hyper's timer, kept by the connection watchers.
//!
//! hyper's HTTP/1 server sleeps once per request, for the header read
//! timeout. With Tokio's timer each of those sleeps is an entry added to and
//! removed from the runtime's timer wheel. Here a sleep is only a deadline,
//! compared with a clock that every connection's watcher moves forward when
//! it checks its connection; the watcher then wakes its connection task, so
//! a pending sleep is polled again. A request pays one small allocation and
//! an atomic load, and a sleep ends at the first check of its connection at
//! or after its deadline, never before.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};

/// The time of the latest check by any watcher, in nanoseconds from
/// [`origin`].
static CHECKED: AtomicU64 = AtomicU64::new(0);

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn since_origin(instant: Instant) -> u64 {
    u64::try_from(instant.saturating_duration_since(origin()).as_nanos()).unwrap_or(u64::MAX)
}

/// Moves the clock to now; a watcher calls it at each check, before waking
/// its connection task.
pub(super) fn check() {
    CHECKED.fetch_max(since_origin(Instant::now()), Ordering::Release);
}

/// The [`Timer`] handed to hyper for every connection.
#[derive(Debug, Clone, Copy)]
pub(super) struct CheckedTimer;

impl Timer for CheckedTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        let due = since_origin(Instant::now()).saturating_add(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
        Box::pin(CheckedSleep { due })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(CheckedSleep { due: since_origin(deadline) })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<CheckedSleep>() {
            Some(checked) => checked.get_mut().due = since_origin(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A sleep that ends once the clock has been checked past `due`.
struct CheckedSleep {
    /// The deadline, in nanoseconds from [`origin`].
    due: u64,
}

impl Future for CheckedSleep {
    type Output = ();

    /// Registers no waker: the connection's watcher wakes the connection
    /// task, which polls hyper's sleeps, at every check.
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if CHECKED.load(Ordering::Acquire) >= self.due { Poll::Ready(()) } else { Poll::Pending }
    }
}

impl Sleep for CheckedSleep {}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn poll_once(sleep: &mut Pin<Box<dyn Sleep>>) -> Poll<()> {
        sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn a_sleep_ends_at_the_first_check_past_its_deadline() {
        let mut sleep = CheckedTimer.sleep(Duration::from_millis(50));
        assert!(poll_once(&mut sleep).is_pending());
        check();
        assert!(poll_once(&mut sleep).is_pending(), "checked before the deadline");
        std::thread::sleep(Duration::from_millis(60));
        check();
        assert!(poll_once(&mut sleep).is_ready());
    }

    #[test]
    fn reset_moves_the_deadline_of_the_same_sleep() {
        let mut sleep = CheckedTimer.sleep_until(Instant::now());
        check();
        assert!(poll_once(&mut sleep).is_ready());
        CheckedTimer.reset(&mut sleep, Instant::now() + Duration::from_secs(60));
        check();
        assert!(poll_once(&mut sleep).is_pending());
    }
}
