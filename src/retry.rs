//! Typed, bounded retries: exponential backoff with full jitter inside a total time budget.
//!
//! Which errors are retried is decided by the engine per call (see [`crate::reconcile`]): the
//! policy here only says how often and how long.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How the engine retries a failed call.
///
/// Defaults: transient faults and throttling up to 5 attempts within 20 s, backoff from 100 ms
/// doubling to at most 5 s; IAM propagation ("invalid principals") up to 8 attempts within
/// 60 s, backoff from 1 s; eventual consistency right after the engine's own write (NotFound
/// after CreateKey, DisabledException after EnableKey) up to 6 attempts, backoff from 200 ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) transient: Budget,
    pub(crate) propagation: Budget,
    pub(crate) consistency: Budget,
}

/// Attempts and time allowed for one class of retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The most attempts, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The first backoff; each next one doubles, up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest single backoff.
    pub max_backoff: Duration,
    /// The longest a call may take with its retries: no retry starts once this much time has
    /// passed since the first attempt, and no backoff reaches past it.
    pub total: Duration,
}

impl Budget {
    /// A budget of `max_attempts` attempts within `total`, backing off from `initial_backoff`
    /// up to `max_backoff`.
    pub const fn new(
        max_attempts: u32,
        initial_backoff: Duration,
        max_backoff: Duration,
        total: Duration,
    ) -> Self {
        Self {
            max_attempts,
            initial_backoff,
            max_backoff,
            total,
        }
    }

    /// Never retry.
    pub const NONE: Budget = Budget::new(1, Duration::ZERO, Duration::ZERO, Duration::ZERO);

    /// The backoff before attempt `attempt + 1` (attempt counts from 1), with full jitter:
    /// uniformly random in `[0, min(max, initial * 2^(attempt-1))]`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let cap = exp.min(self.max_backoff);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random_u64() % (nanos + 1))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            transient: Budget::new(
                5,
                Duration::from_millis(100),
                Duration::from_secs(5),
                Duration::from_secs(20),
            ),
            propagation: Budget::new(
                8,
                Duration::from_secs(1),
                Duration::from_secs(10),
                Duration::from_secs(60),
            ),
            consistency: Budget::new(
                6,
                Duration::from_millis(200),
                Duration::from_secs(3),
                Duration::from_secs(10),
            ),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (every error is returned at once).
    pub fn never() -> Self {
        Self {
            transient: Budget::NONE,
            propagation: Budget::NONE,
            consistency: Budget::NONE,
        }
    }

    /// The budget for transient faults (KMSInternal, DependencyTimeout, transport) and throttling.
    #[must_use]
    pub fn transient(mut self, budget: Budget) -> Self {
        self.transient = budget;
        self
    }

    /// The budget for IAM propagation: a policy naming a principal KMS cannot see yet.
    #[must_use]
    pub fn propagation(mut self, budget: Budget) -> Self {
        self.propagation = budget;
        self
    }

    /// The budget for eventual consistency right after the engine's own writes.
    #[must_use]
    pub fn consistency(mut self, budget: Budget) -> Self {
        self.consistency = budget;
        self
    }

    /// The transient budget.
    pub fn transient_budget(&self) -> Budget {
        self.transient
    }

    /// The propagation budget.
    pub fn propagation_budget(&self) -> Budget {
        self.propagation
    }

    /// The consistency budget.
    pub fn consistency_budget(&self) -> Budget {
        self.consistency
    }
}

/// Randomness for jitter without a dependency: the standard library's per-instance random
/// hasher keys.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_jittered() {
        let b = Budget::new(
            10,
            Duration::from_millis(100),
            Duration::from_secs(1),
            Duration::from_secs(10),
        );
        for attempt in 1..12 {
            let cap = Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            for _ in 0..50 {
                assert!(b.backoff(attempt) <= cap);
            }
        }
        assert_eq!(Budget::NONE.backoff(1), Duration::ZERO);
    }
}
