//! Client-side rate limiting: [`RateLimited`] keeps the calls made through one backend under
//! KMS's request [`Quotas`], so that a fleet run does not provoke `ThrottlingException` storms.
//!
//! KMS counts requests per operation, per account and Region, per second (CreateKey 5/s,
//! PutKeyPolicy 15/s, DescribeKey 2000/s, ...: [`Operation::default_quota_per_second`]).
//! Every task that shares one `RateLimited` (directly, or through an
//! `Arc<dyn KmsBackend>` holding it) shares its budget, so wrap a backend once and hand the
//! wrapper to every [`Reconciler`](crate::Reconciler) and [`Fleet`](crate::fleet::Fleet) that
//! talks to the same account and Region.
//!
//! ```
//! use std::sync::Arc;
//! use kms_key::backend::memory::InMemoryBackend;
//! use kms_key::backend::rate_limit::{Quotas, RateLimited};
//! use kms_key::Reconciler;
//!
//! let limited = RateLimited::new(InMemoryBackend::new(), Quotas::kms_defaults());
//! let reconciler = Reconciler::new(Arc::new(limited));
//! # let _ = reconciler;
//! ```
//!
//! # How calls are spaced
//! Calls of one operation leave the client evenly spaced, one every `1 / quota` seconds plus a
//! headroom (a token bucket holding one token): with the default 5 % headroom, never two
//! CreateKey calls less than 210 ms apart. A burst of `q` calls at once would fit a quota of `q`
//! per second only while the service counts seconds the way the client does; evenly spaced
//! calls stay within the quota whichever one-second window the service looks at.
//!
//! The headroom is there because a call never leaves exactly when its slot comes: timers wake
//! late by up to a millisecond or more, tasks wait for a busy thread, the network delays one
//! request more than the next. Spacing at exactly the quota turns any such delay of one call
//! into a throttle of a later one (measured: 8 throttled calls of 109 in a real-time 50-key
//! fleet create at 0 %, none at 5 %). With a headroom of `h` %, a call may be late by `h` % of
//! a second (50 ms at 5 %) before a later call can exceed the quota in the service's window.
//! The cost is `h` % over the quota bound for a long run.
//!
//! Time is Tokio's clock, so tests with a paused clock are exact and deterministic.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{
    BackendError, CreateKeyRequest, DeletionScheduled, KeyMetadata, KeyPage, KmsBackend, Operation,
    RotationStatus, Tag, TagPage,
};

/// Requests per second allowed for each operation. An operation without a quota is not limited.
///
/// Used by [`RateLimited`] (to stay under the quotas) and by the in-memory backend (to enforce
/// them, see [`InMemoryBackendBuilder::enforce_quotas`](super::memory::InMemoryBackendBuilder::enforce_quotas)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    per_second: BTreeMap<Operation, u32>,
}

impl Default for Quotas {
    fn default() -> Self {
        Self::kms_defaults()
    }
}

impl Quotas {
    /// KMS's published quotas for every operation ([`Operation::default_quota_per_second`]).
    pub fn kms_defaults() -> Self {
        Self {
            per_second: Operation::ALL
                .iter()
                .map(|op| (*op, op.default_quota_per_second()))
                .collect(),
        }
    }

    /// No quota at all.
    pub fn unlimited() -> Self {
        Self {
            per_second: BTreeMap::new(),
        }
    }

    /// The same quotas with `operation` allowed `per_second` requests per second; `0` removes
    /// the operation's quota (it is then not limited). Accounts with raised quotas set them here.
    #[must_use]
    pub fn with(mut self, operation: Operation, per_second: u32) -> Self {
        if per_second == 0 {
            self.per_second.remove(&operation);
        } else {
            self.per_second.insert(operation, per_second);
        }
        self
    }

    /// The quota of `operation` in requests per second, `None` when it is not limited.
    pub fn per_second(&self, operation: Operation) -> Option<u32> {
        self.per_second.get(&operation).copied()
    }

    /// The shortest gap between two calls of `operation` that keeps it under its quota
    /// (`1 s / quota`, rounded up to the nanosecond); `None` when it is not limited.
    pub fn spacing(&self, operation: Operation) -> Option<Duration> {
        self.per_second(operation)
            .map(|q| Duration::from_nanos(1_000_000_000u64.div_ceil(u64::from(q))))
    }
}

/// A [`KmsBackend`] that delays each call until its operation's quota allows it, then makes
/// the call on the wrapped backend. See the [module documentation](self).
///
/// Clones share the same budget.
#[derive(Clone)]
pub struct RateLimited<B> {
    inner: B,
    quotas: Quotas,
    headroom_percent: u32,
    /// When the next call of each operation may leave. Locked only to reserve a slot, never
    /// across a wait or a call.
    next_slot: Arc<Mutex<BTreeMap<Operation, Instant>>>,
}

impl<B: fmt::Debug> fmt::Debug for RateLimited<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("inner", &self.inner)
            .field("quotas", &self.quotas)
            .field("headroom_percent", &self.headroom_percent)
            .finish_non_exhaustive()
    }
}

impl<B> RateLimited<B> {
    /// The headroom kept under each quota unless set: calls are spaced 5 % wider than the
    /// quota allows (see the [module documentation](self)).
    pub const DEFAULT_HEADROOM_PERCENT: u32 = 5;

    /// Wraps `inner`, keeping its calls under `quotas` with the default headroom.
    pub fn new(inner: B, quotas: Quotas) -> Self {
        Self {
            inner,
            quotas,
            headroom_percent: Self::DEFAULT_HEADROOM_PERCENT,
            next_slot: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// The same limiter spacing calls `percent` % wider than the quotas allow (0: exactly at
    /// the quotas, which any delay on the way can turn into throttles).
    #[must_use]
    pub fn with_headroom_percent(mut self, percent: u32) -> Self {
        self.headroom_percent = percent;
        self
    }

    /// The headroom kept under each quota, in percent.
    pub fn headroom_percent(&self) -> u32 {
        self.headroom_percent
    }

    /// The gap kept between two calls of `operation`: the quota's spacing plus the headroom
    /// (rounded up to the nanosecond); `None` when the operation is not limited.
    pub fn spacing(&self, operation: Operation) -> Option<Duration> {
        self.quotas.spacing(operation).map(|s| {
            let nanos = u64::try_from(s.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(
                nanos
                    .saturating_mul(100 + u64::from(self.headroom_percent))
                    .div_ceil(100),
            )
        })
    }

    /// Wraps `inner` with KMS's published quotas.
    pub fn kms_defaults(inner: B) -> Self {
        Self::new(inner, Quotas::kms_defaults())
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The quotas kept.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Waits until a call of `operation` may leave, and books that moment for it.
    async fn acquire(&self, operation: Operation) {
        let Some(spacing) = self.spacing(operation) else {
            return;
        };
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let entry = next.entry(operation).or_insert(now);
            let slot = (*entry).max(now);
            *entry = slot + spacing;
            slot
        };
        if slot > Instant::now() {
            tracing::trace!(operation = operation.as_str(), wait = ?(slot - Instant::now()), "rate limited");
            tokio::time::sleep_until(slot).await;
        }
    }
}

#[async_trait]
impl<B: KmsBackend> KmsBackend for RateLimited<B> {
    async fn create_key(&self, request: CreateKeyRequest) -> Result<KeyMetadata, BackendError> {
        self.acquire(Operation::CreateKey).await;
        self.inner.create_key(request).await
    }

    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata, BackendError> {
        self.acquire(Operation::DescribeKey).await;
        self.inner.describe_key(key_id).await
    }

    async fn get_key_policy(&self, key_id: &str) -> Result<String, BackendError> {
        self.acquire(Operation::GetKeyPolicy).await;
        self.inner.get_key_policy(key_id).await
    }

    async fn put_key_policy(
        &self,
        key_id: &str,
        policy: &str,
        bypass_policy_lockout_safety_check: bool,
    ) -> Result<(), BackendError> {
        self.acquire(Operation::PutKeyPolicy).await;
        self.inner
            .put_key_policy(key_id, policy, bypass_policy_lockout_safety_check)
            .await
    }

    async fn get_key_rotation_status(&self, key_id: &str) -> Result<RotationStatus, BackendError> {
        self.acquire(Operation::GetKeyRotationStatus).await;
        self.inner.get_key_rotation_status(key_id).await
    }

    async fn enable_key_rotation(
        &self,
        key_id: &str,
        rotation_period_in_days: Option<i32>,
    ) -> Result<(), BackendError> {
        self.acquire(Operation::EnableKeyRotation).await;
        self.inner
            .enable_key_rotation(key_id, rotation_period_in_days)
            .await
    }

    async fn disable_key_rotation(&self, key_id: &str) -> Result<(), BackendError> {
        self.acquire(Operation::DisableKeyRotation).await;
        self.inner.disable_key_rotation(key_id).await
    }

    async fn enable_key(&self, key_id: &str) -> Result<(), BackendError> {
        self.acquire(Operation::EnableKey).await;
        self.inner.enable_key(key_id).await
    }

    async fn disable_key(&self, key_id: &str) -> Result<(), BackendError> {
        self.acquire(Operation::DisableKey).await;
        self.inner.disable_key(key_id).await
    }

    async fn update_key_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), BackendError> {
        self.acquire(Operation::UpdateKeyDescription).await;
        self.inner.update_key_description(key_id, description).await
    }

    async fn list_resource_tags(
        &self,
        key_id: &str,
        marker: Option<&str>,
    ) -> Result<TagPage, BackendError> {
        self.acquire(Operation::ListResourceTags).await;
        self.inner.list_resource_tags(key_id, marker).await
    }

    async fn tag_resource(&self, key_id: &str, tags: &[Tag]) -> Result<(), BackendError> {
        self.acquire(Operation::TagResource).await;
        self.inner.tag_resource(key_id, tags).await
    }

    async fn untag_resource(&self, key_id: &str, tag_keys: &[String]) -> Result<(), BackendError> {
        self.acquire(Operation::UntagResource).await;
        self.inner.untag_resource(key_id, tag_keys).await
    }

    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        pending_window_in_days: Option<i32>,
    ) -> Result<DeletionScheduled, BackendError> {
        self.acquire(Operation::ScheduleKeyDeletion).await;
        self.inner
            .schedule_key_deletion(key_id, pending_window_in_days)
            .await
    }

    async fn cancel_key_deletion(&self, key_id: &str) -> Result<String, BackendError> {
        self.acquire(Operation::CancelKeyDeletion).await;
        self.inner.cancel_key_deletion(key_id).await
    }

    async fn list_keys(&self, marker: Option<&str>) -> Result<KeyPage, BackendError> {
        self.acquire(Operation::ListKeys).await;
        self.inner.list_keys(marker).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_published_quotas() {
        let q = Quotas::kms_defaults();
        for op in Operation::ALL {
            assert_eq!(q.per_second(*op), Some(op.default_quota_per_second()));
        }
        assert_eq!(
            q.spacing(Operation::CreateKey),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            q.spacing(Operation::DescribeKey),
            Some(Duration::from_micros(500))
        );
    }

    #[test]
    fn headroom_widens_the_spacing() {
        let limited = RateLimited::kms_defaults(());
        assert_eq!(limited.headroom_percent(), 5);
        assert_eq!(
            limited.spacing(Operation::CreateKey),
            Some(Duration::from_millis(210))
        );
        // 1 s / 15 rounded up (66,666,667 ns), plus 5 %, rounded up: never under the quota.
        assert_eq!(
            limited.spacing(Operation::PutKeyPolicy),
            Some(Duration::from_nanos(70_000_001))
        );
        let exact = limited.with_headroom_percent(0);
        assert_eq!(
            exact.spacing(Operation::CreateKey),
            Some(Duration::from_millis(200))
        );
        let none = RateLimited::new((), Quotas::unlimited());
        assert_eq!(none.spacing(Operation::CreateKey), None);
    }

    #[test]
    fn with_sets_and_zero_removes() {
        let q = Quotas::unlimited().with(Operation::TagResource, 3);
        assert_eq!(q.per_second(Operation::TagResource), Some(3));
        // 1 s / 3 rounded up: never faster than the quota.
        assert_eq!(
            q.spacing(Operation::TagResource),
            Some(Duration::from_nanos(333_333_334))
        );
        assert_eq!(q.per_second(Operation::CreateKey), None);
        let q = q.with(Operation::TagResource, 0);
        assert_eq!(q, Quotas::unlimited());
    }
}
