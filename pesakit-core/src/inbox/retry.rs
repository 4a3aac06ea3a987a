//! When a failed handler runs again.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, SystemTime};

/// How failed handlers are retried: up to `max_attempts` runs in all, the
/// pause doubling from `initial_backoff` up to `max_backoff`, each pause
/// with up to a quarter more at random so that retries spread out.
///
/// ```
/// use std::time::Duration;
/// use pesakit::inbox::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_attempts, 8);
/// let pause = policy.pause_after(1).expect("a second attempt");
/// assert!(pause >= Duration::from_secs(1) && pause <= Duration::from_millis(1250));
/// assert_eq!(policy.pause_after(8), None); // the eighth failure is the last
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Runs in all, the first included.
    pub max_attempts: u32,
    /// The pause after the first failure.
    pub initial_backoff: Duration,
    /// The longest pause.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: super::DEFAULT_MAX_ATTEMPTS,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10 * 60),
        }
    }
}

impl RetryPolicy {
    /// The pause before the next run after the handler failed for the
    /// `failures`-th time, or `None` when that was the last attempt.
    pub fn pause_after(&self, failures: u32) -> Option<Duration> {
        if failures >= self.max_attempts {
            return None;
        }
        let doublings = failures.saturating_sub(1).min(31);
        let base = self.initial_backoff.saturating_mul(1 << doublings).min(self.max_backoff);
        Some(base.saturating_add(jitter(base / 4)))
    }

    /// When to run again after the `failures`-th failure at `now`.
    pub(crate) fn next_attempt(&self, failures: u32, now: SystemTime) -> Option<SystemTime> {
        self.pause_after(failures).map(|pause| now.checked_add(pause).unwrap_or(now))
    }
}

/// A random duration up to `most`, from the standard library's per-map
/// random keys: good enough to spread retries, no generator to keep.
fn jitter(most: Duration) -> Duration {
    let nanos = u64::try_from(most.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    let random = RandomState::new().hash_one(SystemTime::now());
    Duration::from_nanos(nanos.checked_add(1).map_or(random, |bound| random % bound))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 5, initial_backoff: Duration::from_secs(2), max_backoff: Duration::from_secs(10) }
    }

    #[test]
    fn pauses_double_up_to_the_maximum_with_at_most_a_quarter_more() {
        for (failures, base) in [(1, 2), (2, 4), (3, 8), (4, 10)] {
            let pause = policy().pause_after(failures).expect("more attempts");
            let base = Duration::from_secs(base);
            assert!(pause >= base && pause <= base + base / 4, "{failures}: {pause:?}");
        }
    }

    #[test]
    fn the_last_attempt_has_no_pause_after_it() {
        assert_eq!(policy().pause_after(5), None);
        assert_eq!(policy().pause_after(6), None);
        let once = RetryPolicy { max_attempts: 1, ..policy() };
        assert_eq!(once.pause_after(1), None);
    }

    #[test]
    fn huge_settings_do_not_overflow() {
        let huge = RetryPolicy { max_attempts: u32::MAX, initial_backoff: Duration::MAX, max_backoff: Duration::MAX };
        assert!(huge.pause_after(40).is_some());
        assert!(huge.next_attempt(40, SystemTime::now()).is_some());
    }

    #[test]
    fn jitter_spreads_retries() {
        let pauses: std::collections::HashSet<_> = (0..20).map(|_| jitter(Duration::from_secs(1))).collect();
        assert!(pauses.len() > 1);
        assert!(pauses.iter().all(|pause| *pause <= Duration::from_secs(1)));
    }
}
