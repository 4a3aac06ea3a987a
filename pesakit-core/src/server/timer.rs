//! hyper's timer for one connection, kept by the connection's watcher.
//!
//! hyper's HTTP/1 server sleeps once per request, for the header read
//! timeout. With Tokio's timer each of those sleeps is an entry added to and
//! removed from the runtime's timer wheel. Here a sleep is a deadline
//! compared with a clock that the watcher sets at each of its checks, so a
//! request pays one small allocation and two atomic loads, and a sleep ends
//! at the first check at or after its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use hyper::rt::{Sleep, Timer};

/// Time as of the watcher's last check, and the task waiting on it.
#[derive(Debug)]
pub(super) struct Clock {
    origin: Instant,
    /// Nanoseconds from `origin` to the last check.
    checked: AtomicU64,
    /// The connection task, when one of its sleeps is pending. hyper polls
    /// every sleep of a connection from that connection's task.
    waiting: AtomicWaker,
}

impl Clock {
    pub(super) fn new() -> Self {
        Self { origin: Instant::now(), checked: AtomicU64::new(0), waiting: AtomicWaker::new() }
    }

    /// Moves the clock to now and wakes a waiting task, whose sleeps then
    /// compare their deadlines with it.
    pub(super) fn check(&self) {
        self.checked.store(self.since_origin(Instant::now()), Ordering::SeqCst);
        self.waiting.wake();
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let clock = &self.clock;
        if clock.checked.load(Ordering::SeqCst) >= self.due {
            return Poll::Ready(());
        }
        clock.waiting.register(cx.waker());
        // Checked between the first load and the registration: do not sleep.
        if clock.checked.load(Ordering::SeqCst) >= self.due { Poll::Ready(()) } else { Poll::Pending }
    }
}

impl Sleep for CheckedSleep {}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll_once(sleep: &mut Pin<Box<dyn Sleep>>) -> Poll<()> {
        sleep.as_mut().poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn a_sleep_ends_at_the_first_check_past_its_deadline() {
        let timer = ConnectionTimer(Arc::new(Clock::new()));
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
        let timer = ConnectionTimer(Arc::new(Clock::new()));
        let mut sleep = timer.sleep_until(Instant::now());
        timer.0.check();
        assert!(poll_once(&mut sleep).is_ready());
        timer.reset(&mut sleep, Instant::now() + Duration::from_secs(60));
        timer.0.check();
        assert!(poll_once(&mut sleep).is_pending());
    }

    #[test]
    fn a_check_wakes_the_waiting_task() {
        use std::sync::atomic::AtomicBool;
        use std::task::Wake;

        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = std::task::Waker::from(Arc::clone(&flag));
        let timer = ConnectionTimer(Arc::new(Clock::new()));
        let mut sleep = timer.sleep(Duration::from_secs(60));
        assert!(sleep.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        timer.0.check();
        assert!(flag.0.load(Ordering::SeqCst));
    }
}
