//! The pause after a failed `accept`, doubling while failures continue.

use std::time::Duration;

/// Pauses that start at `initial` and double up to `max`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(super) fn new(initial: Duration, max: Duration) -> Self {
        let max = max.max(initial);
        Self { initial, max, next: initial }
    }

    /// The pause for this failure; the next one is twice as long, up to the
    /// maximum.
    pub(super) fn pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = pause.checked_mul(2).map_or(self.max, |doubled| doubled.min(self.max));
        pause
    }

    /// After a success: the next failure pauses for the initial time again.
    pub(super) fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_maximum_and_reset_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let pauses: Vec<u128> = (0..6).map(|_| backoff.pause().as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.pause(), Duration::from_millis(100));
    }

    #[test]
    fn huge_pauses_do_not_overflow_and_the_maximum_is_never_below_the_initial() {
        let mut backoff = Backoff::new(Duration::MAX, Duration::ZERO);
        assert_eq!(backoff.pause(), Duration::MAX);
        assert_eq!(backoff.pause(), Duration::MAX);
    }
}
