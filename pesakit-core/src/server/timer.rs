//! hyper's timer for one connection, kept by the connection's watcher.
//!
//! hyper's HTTP/1 server sleeps once per request, for the header read
//! timeout. With Tokio's timer each of those sleeps is an entry added to and
//! removed from the runtime's timer wheel. Here a sleep is a deadline
//! compared with a clock that the watcher sets at each of its checks, waking
//! the connection task, so a request pays one small allocation and an atomic
//! load, and a sleep ends at the first check at or after its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};

/// Time as of the watcher's last check.
#[derive(Debug)]
pub(super) struct Clock {
    origin: Instant,
    /// Nanoseconds from `origin` to the last check.
    checked: AtomicU64,
    /// The connection task. hyper polls its sleeps from the connection
    /// future, so waking this task at each check is all a sleep needs, and
    /// polling one registers nothing.
    connection_task: Waker,
}

impl Clock {
    pub(super) fn new(connection_task: Waker) -> Self {
        Self { origin: Instant::now(), checked: AtomicU64::new(0), connection_task }
    }

    /// Moves the clock to now and wakes the connection task, whose pending
    /// sleeps then compare their deadlines with it.
    pub(super) fn check(&self) {
        self.checked.store(self.since_origin(Instant::now()), Ordering::Release);
        self.connection_task.wake_by_ref();
    }

    fn since_origin(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The [`Timer`] handed to hyper for one connection.
#[derive(Debug, Clone)]
pub(super) struct ConnectionTimer(pub(super) Arc<Clock>);

impl Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        let due =
            self.0.since_origin(Instant::now()).saturating_add(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
        Box::pin(CheckedSleep { clock: Arc::clone(&self.0), due })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(CheckedSleep { clock: Arc::clone(&self.0), due: self.0.since_origin(deadline) })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<CheckedSleep>() {
            Some(checked) => checked.get_mut().due = self.0.since_origin(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A sleep that ends once the clock has been checked past `due`.
struct CheckedSleep {
    clock: Arc<Clock>,
    /// The deadline, in nanoseconds from the clock's origin.
    due: u64,
}

impl Future for CheckedSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.clock.checked.load(Ordering::Acquire) >= self.due { Poll::Ready(()) } else { Poll::Pending }
    }
}

impl Sleep for CheckedSleep {}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    /// Counts how often the "connection task" is woken.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn timer() -> (ConnectionTimer, Arc<Wakes>) {
        let wakes = Arc::new(Wakes::default());
        (ConnectionTimer(Arc::new(Clock::new(Waker::from(Arc::clone(&wakes))))), wakes)
    }

    fn poll_once(sleep: &mut Pin<Box<dyn Sleep>>) -> Poll<()> {
        sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn a_sleep_ends_at_the_first_check_past_its_deadline() {
        let (timer, _) = timer();
        let mut sleep = timer.sleep(Duration::from_millis(20));
        assert!(poll_once(&mut sleep).is_pending());
        timer.0.check();
        assert!(poll_once(&mut sleep).is_pending(), "checked before the deadline");
        std::thread::sleep(Duration::from_millis(25));
        assert!(poll_once(&mut sleep).is_pending(), "the deadline passed but no check has seen it");
        timer.0.check();
        assert!(poll_once(&mut sleep).is_ready());
    }

    #[test]
    fn reset_moves_the_deadline_of_the_same_sleep() {
        let (timer, _) = timer();
        let mut sleep = timer.sleep_until(Instant::now());
        timer.0.check();
        assert!(poll_once(&mut sleep).is_ready());
        timer.reset(&mut sleep, Instant::now() + Duration::from_secs(60));
        timer.0.check();
        assert!(poll_once(&mut sleep).is_pending());
    }

    #[test]
    fn every_check_wakes_the_connection_task() {
        let (timer, wakes) = timer();
        timer.0.check();
        timer.0.check();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
    }
}
