//! Request quotas enforced by the in-memory backend, the way KMS throttles: per operation, at
//! most `q` requests in any one second.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use crate::backend::Operation;
use crate::backend::rate_limit::Quotas;

const WINDOW: Duration = Duration::from_secs(1);

/// A sliding one-second window per operation: a request at `t` is admitted when fewer than `q`
/// requests of its operation were admitted in `(t - 1 s, t]`. Sliding (not calendar seconds)
/// because that is the strictest reading of "q per second": a client that passes it passes any
/// per-second counting the service may do. Refused requests do not count.
#[derive(Debug)]
pub(super) struct QuotaEnforcer {
    quotas: Quotas,
    /// The admission times of the last `q` admitted requests of each operation, oldest first.
    admitted: BTreeMap<Operation, VecDeque<Instant>>,
}

impl QuotaEnforcer {
    pub(super) fn new(quotas: Quotas) -> Self {
        Self {
            quotas,
            admitted: BTreeMap::new(),
        }
    }

    /// Whether a request of `operation` arriving `now` is within its quota (and counts it if so).
    pub(super) fn admit(&mut self, operation: Operation, now: Instant) -> bool {
        let Some(quota) = self.quotas.per_second(operation) else {
            return true;
        };
        let quota = quota as usize;
        let log = self.admitted.entry(operation).or_default();
        if log.len() >= quota {
            // The oldest of the last `quota` admissions; it must lie outside (now - 1 s, now].
            let oldest = log[log.len() - quota];
            if now.saturating_duration_since(oldest) < WINDOW {
                return false;
            }
        }
        log.push_back(now);
        while log.len() > quota {
            log.pop_front();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_q_in_any_one_second_window() {
        let mut e = QuotaEnforcer::new(Quotas::unlimited().with(Operation::CreateKey, 2));
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        assert!(e.admit(Operation::CreateKey, ms(0)));
        assert!(e.admit(Operation::CreateKey, ms(100)));
        assert!(!e.admit(Operation::CreateKey, ms(999)));
        // Refused requests do not count: the window is (0 ms, 1000 ms] now.
        assert!(e.admit(Operation::CreateKey, ms(1000)));
        assert!(!e.admit(Operation::CreateKey, ms(1099)));
        assert!(e.admit(Operation::CreateKey, ms(1100)));
        // Other operations have their own quota, or none.
        assert!(e.admit(Operation::DescribeKey, ms(1100)));
        assert!(e.admit(Operation::DescribeKey, ms(1100)));
        assert!(e.admit(Operation::DescribeKey, ms(1100)));
    }

    #[test]
    fn evenly_spaced_requests_at_the_quota_always_pass() {
        let quotas = Quotas::kms_defaults();
        let mut e = QuotaEnforcer::new(quotas.clone());
        let spacing = quotas.spacing(Operation::CreateKey).unwrap();
        let t0 = Instant::now();
        for i in 0..100u32 {
            assert!(
                e.admit(Operation::CreateKey, t0 + spacing * i),
                "request {i}"
            );
        }
    }
}
