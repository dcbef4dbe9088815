//! The in-memory KMS: the strict reference implementation of [`KmsBackend`].
//!
//! [`InMemoryBackend`] behaves like AWS KMS, not like a lax emulator: it refuses what AWS
//! refuses, with the same error kinds and messages (as recorded from real AWS answers in the
//! project's design notes), and answers what AWS answers. It enforces:
//!
//! - the key spec / key usage matrix (usage required except for `SYMMETRIC_DEFAULT`), SM2 only
//!   in the China Regions, ML-KEM everywhere else;
//! - request shapes: description ≤ 8192 characters, policy ≤ 32 KiB of allowed characters,
//!   tag keys 1–128 and values 0–256 characters, at most 50 tags per key, `aws:` reserved;
//! - key policies: malformed documents, the lockout safety check against the configured caller
//!   principal (unless bypassed), and principal existence (`*`, account ids, account roots and
//!   configured principals exist; anything else is "invalid principals");
//! - custom key stores (unknown, disconnected, origin mismatch, XKS key id, symmetric only,
//!   never multi-Region);
//! - the key-state table: what `Disabled`, `PendingDeletion` and `PendingImport` keys refuse,
//!   and which keys can rotate at all.
//! - request quotas, when asked to ([`InMemoryBackendBuilder::enforce_quotas`]): requests over
//!   an operation's quota per second are throttled (`Rate exceeded`), in Tokio's clock.
//!
//! It also answers like AWS where a lax peer would not: GetKeyPolicy answers the policy
//! reformatted (compare policies by meaning), a key scheduled for deletion is gone once its
//! deletion date has passed on the backend's [`Clock`], and paged listings really page.
//!
//! # Test hooks
//!
//! Every call is logged ([`InMemoryBackend::calls`], [`InMemoryBackend::writes`],
//! [`InMemoryBackend::count`]), and faults can be scripted deterministically
//! ([`InMemoryBackend::fail_nth`], [`InMemoryBackend::fail_next`],
//! [`InMemoryBackend::fail_after`], [`InMemoryBackend::hide_new_keys_from_reads`],
//! [`InMemoryBackend::principal_visible_after`]). A refused call, injected or not, changes
//! nothing.
//!
//! # Sharing and persistence
//!
//! `InMemoryBackend` is a handle: clones share one store, and it is `Send + Sync`, so one
//! backend can serve many tasks (or be put in an `Arc<dyn KmsBackend>`). The store can be
//! saved to and restored from JSON ([`InMemoryBackend::save`], [`InMemoryBackend::load`]).
//!
//! ```
//! use kms_key::backend::memory::InMemoryBackend;
//! use kms_key::backend::{CreateKeyRequest, ErrorKind, KmsBackend, Operation};
//! use kms_key::spec::KeyState;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let kms = InMemoryBackend::new();
//! let key = kms.create_key(CreateKeyRequest::new()).await?;
//! kms.disable_key(&key.key_id).await?;
//!
//! // AWS refuses rotation changes on a disabled key, and so does this backend.
//! let err = kms.enable_key_rotation(&key.key_id, None).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Disabled);
//! assert_eq!(err.message(), format!("{} is disabled.", key.arn));
//!
//! assert_eq!(kms.describe_key(&key.arn).await?.key_state, KeyState::Disabled);
//! assert_eq!(
//!     kms.writes(),
//!     [Operation::CreateKey, Operation::DisableKey, Operation::EnableKeyRotation]
//! );
//! # Ok::<(), kms_key::backend::BackendError>(())
//! # }).unwrap();
//! ```

mod clock;
mod hooks;
mod quota;
mod rules;
mod snapshot;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::rate_limit::Quotas;
use crate::backend::{
    BackendError, CreateKeyRequest, DeletionScheduled, ErrorKind, KeyMetadata, KeyPage, KmsBackend,
    Operation, RotationStatus, Tag, TagPage,
};
use crate::spec::Origin;

pub use clock::{Clock, ManualClock};
pub use hooks::{Call, Fault};
pub use snapshot::SnapshotError;

use hooks::FaultScript;
use quota::QuotaEnforcer;
use rules::{Failure, partition_of};
use state::{State, StateConfig, StoreKind, StoreRecord};

/// The kind of a custom key store, which fixes the origin of its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CustomKeyStoreKind {
    /// An AWS CloudHSM key store: keys have origin `AWS_CLOUDHSM`.
    CloudHsm,
    /// An external key store (XKS): keys have origin `EXTERNAL_KEY_STORE` and an `XksKeyId`.
    External,
}

impl CustomKeyStoreKind {
    /// The origin of keys in a store of this kind.
    pub const fn origin(self) -> Origin {
        match self {
            CustomKeyStoreKind::CloudHsm => Origin::AwsCloudhsm,
            CustomKeyStoreKind::External => Origin::ExternalKeyStore,
        }
    }
}

/// Configures an [`InMemoryBackend`]; made by [`InMemoryBackend::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct InMemoryBackendBuilder {
    account_id: String,
    region: String,
    caller_principal: Option<String>,
    known_principals: BTreeSet<String>,
    custom_key_stores: BTreeMap<String, StoreRecord>,
    seed: u64,
    latency: Option<Duration>,
    clock: Clock,
    list_keys_page_size: usize,
    tags_page_size: usize,
    quotas: Option<Quotas>,
}

impl Default for InMemoryBackendBuilder {
    fn default() -> Self {
        Self {
            account_id: InMemoryBackend::DEFAULT_ACCOUNT_ID.to_owned(),
            region: InMemoryBackend::DEFAULT_REGION.to_owned(),
            caller_principal: None,
            known_principals: BTreeSet::new(),
            custom_key_stores: BTreeMap::new(),
            seed: 0,
            latency: None,
            clock: Clock::system(),
            list_keys_page_size: InMemoryBackend::DEFAULT_LIST_KEYS_PAGE_SIZE,
            tags_page_size: InMemoryBackend::DEFAULT_TAGS_PAGE_SIZE,
            quotas: None,
        }
    }
}

impl InMemoryBackendBuilder {
    /// The AWS account that owns the keys (default `111122223333`). Used as given: it only
    /// appears in ARNs and the default key policy.
    pub fn account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = account_id.into();
        self
    }

    /// The Region (default `us-east-1`). The partition follows from it: `cn-*` is `aws-cn`,
    /// `us-gov-*` is `aws-us-gov`, others `aws`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The principal making the calls, for the policy lockout safety check (default
    /// `arn:<partition>:iam::<account>:role/admin`). It always exists.
    pub fn caller_principal(mut self, arn: impl Into<String>) -> Self {
        self.caller_principal = Some(arn.into());
        self
    }

    /// IAM principals that exist, besides `*`, account ids, account roots and the caller.
    /// A policy naming any other principal is refused with
    /// [`InvalidPrincipals`](crate::backend::ErrorKind::InvalidPrincipals). Adds to earlier calls.
    pub fn known_principals<I, S>(mut self, principals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.known_principals
            .extend(principals.into_iter().map(Into::into));
        self
    }

    /// A custom key store that exists, of `kind`, connected or not.
    pub fn custom_key_store(
        mut self,
        id: impl Into<String>,
        kind: CustomKeyStoreKind,
        connected: bool,
    ) -> Self {
        let kind = match kind {
            CustomKeyStoreKind::CloudHsm => StoreKind::CloudHsm,
            CustomKeyStoreKind::External => StoreKind::External,
        };
        self.custom_key_stores
            .insert(id.into(), StoreRecord { kind, connected });
        self
    }

    /// The seed of the key id generator (default 0): the same seed gives the same key ids.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A delay before every answer (slept on the Tokio timer, holding no lock): for benchmarks
    /// and timeout tests.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Where "now" comes from (default the system clock).
    pub fn clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// Keys per ListKeys page (default 1000, the largest page KMS gives, which the backends ask
    /// for; at least 1).
    pub fn list_keys_page_size(mut self, size: usize) -> Self {
        self.list_keys_page_size = size;
        self
    }

    /// Tags per ListResourceTags page (default 50, AWS's default; at least 1).
    pub fn tags_page_size(mut self, size: usize) -> Self {
        self.tags_page_size = size;
        self
    }

    /// Enforces request quotas as KMS does (off by default): a request of an operation that
    /// already had its quota's worth of requests admitted within the last second (Tokio's
    /// clock, so paused-clock tests are exact) is refused with
    /// [`Throttled`](crate::backend::ErrorKind::Throttled) and AWS's message
    /// `"Rate exceeded"`, changing nothing. A request is judged when it arrives, before the
    /// [latency](Self::latency); refused requests do not count against the quota and do not
    /// consume scripted faults. Pass [`Quotas::kms_defaults`] for KMS's published quotas.
    pub fn enforce_quotas(mut self, quotas: Quotas) -> Self {
        self.quotas = Some(quotas);
        self
    }

    /// The backend, with an empty store.
    pub fn build(self) -> InMemoryBackend {
        let caller_principal = self.caller_principal.unwrap_or_else(|| {
            format!(
                "arn:{}:iam::{}:role/admin",
                partition_of(&self.region),
                self.account_id
            )
        });
        let state = State::new(StateConfig {
            account_id: self.account_id,
            region: self.region,
            caller_principal,
            known_principals: self.known_principals,
            custom_key_stores: self.custom_key_stores,
            list_keys_page_size: self.list_keys_page_size,
            tags_page_size: self.tags_page_size,
            seed: self.seed,
        });
        let backend = InMemoryBackend::from_state(state, self.clock, self.latency);
        backend.set_enforced_quotas(self.quotas);
        backend
    }
}

struct Inner {
    state: State,
    script: FaultScript,
    calls: Vec<Call>,
    clock: Clock,
    latency: Option<Duration>,
    quotas: Option<QuotaEnforcer>,
}

/// What an operation sees while it runs (under the lock).
struct Ctx<'a> {
    state: &'a mut State,
    script: &'a mut FaultScript,
    now: i64,
    /// The id of a key the call created, for the call log.
    created: Option<String>,
}

/// The in-memory KMS backend: strict, deterministic, inspectable. See the [module
/// documentation](self) for what it enforces.
///
/// Cloning gives another handle to the same store; it is `Send + Sync`.
#[derive(Clone)]
pub struct InMemoryBackend {
    inner: Arc<Mutex<Inner>>,
}

impl fmt::Debug for InMemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("InMemoryBackend")
            .field("account_id", &inner.state.account_id)
            .field("region", &inner.state.region)
            .field("keys", &inner.state.key_count())
            .field("calls", &inner.calls.len())
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryBackend {
    /// The account of [`InMemoryBackend::new`].
    pub const DEFAULT_ACCOUNT_ID: &'static str = "111122223333";
    /// The Region of [`InMemoryBackend::new`].
    pub const DEFAULT_REGION: &'static str = "us-east-1";
    /// The caller principal of [`InMemoryBackend::new`].
    pub const DEFAULT_CALLER_PRINCIPAL: &'static str = "arn:aws:iam::111122223333:role/admin";
    /// Keys per ListKeys page unless configured: KMS's largest page, which the backends ask for.
    pub const DEFAULT_LIST_KEYS_PAGE_SIZE: usize = 1000;
    /// Tags per ListResourceTags page unless configured.
    pub const DEFAULT_TAGS_PAGE_SIZE: usize = 50;

    /// An empty backend: account `111122223333`, Region `us-east-1`, caller
    /// `arn:aws:iam::111122223333:role/admin`, the system clock, no latency.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to configure the account, Region, caller, principals, key stores, clock, ...
    pub fn builder() -> InMemoryBackendBuilder {
        InMemoryBackendBuilder::default()
    }

    fn from_state(state: State, clock: Clock, latency: Option<Duration>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                state,
                script: FaultScript::default(),
                calls: Vec::new(),
                clock,
                latency,
                quotas: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere never leaves the store half-changed (operations check before they
        // change), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ----- configuration -----

    /// The account that owns the keys.
    pub fn account_id(&self) -> String {
        self.lock().state.account_id.clone()
    }

    /// The Region.
    pub fn region(&self) -> String {
        self.lock().state.region.clone()
    }

    /// The partition (`aws`, `aws-cn`, `aws-us-gov`, ...), from the Region.
    pub fn partition(&self) -> &'static str {
        self.lock().state.partition()
    }

    /// The principal the lockout safety check is made for.
    pub fn caller_principal(&self) -> String {
        self.lock().state.caller_principal.clone()
    }

    /// The number of keys in the store (keys pending deletion included).
    pub fn key_count(&self) -> usize {
        self.lock().state.key_count()
    }

    /// Replaces the clock (e.g. after [`InMemoryBackend::load`]).
    pub fn set_clock(&self, clock: impl Into<Clock>) {
        self.lock().clock = clock.into();
    }

    /// Makes principals known from now on (CreateKey/PutKeyPolicy may name them), as if they
    /// had been created in IAM. Kept in snapshots.
    pub fn add_known_principals<I, S>(&self, principals: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock()
            .state
            .known_principals
            .extend(principals.into_iter().map(Into::into));
    }

    /// Sets or clears the delay before every answer.
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.lock().latency = latency;
    }

    /// Starts enforcing `quotas` (see [`InMemoryBackendBuilder::enforce_quotas`]) with an empty
    /// history, or stops enforcing with `None`.
    pub fn set_enforced_quotas(&self, quotas: Option<Quotas>) {
        self.lock().quotas = quotas.map(QuotaEnforcer::new);
    }

    // ----- call log -----

    /// Every call received since creation or [`InMemoryBackend::clear_calls`], in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Forgets the logged calls.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// How many calls of `operation` were logged (successful or not).
    pub fn count(&self, operation: Operation) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    /// The write calls logged (successful or failed), in order: for exact-order assertions.
    pub fn writes(&self) -> Vec<Operation> {
        self.lock()
            .calls
            .iter()
            .map(|c| c.operation)
            .filter(|op| op.is_write())
            .collect()
    }

    // ----- fault injection -----

    /// Fails the `n`th call of `operation` (1-based, counted from now) with `fault`.
    /// `n = 0` scripts nothing.
    pub fn fail_nth(&self, operation: Operation, n: usize, fault: impl Into<Fault>) {
        self.lock().script.fail_nth(operation, n, fault.into());
    }

    /// Fails the next `k` calls of `operation` with `fault`.
    pub fn fail_next(&self, operation: Operation, k: usize, fault: impl Into<Fault>) {
        self.lock().script.fail_next(operation, k, fault.into());
    }

    /// Lets the next `n` calls (of any operation) through, then fails every later call with
    /// `fault`: a process interrupted after call `n`. Undone by
    /// [`InMemoryBackend::clear_faults`].
    pub fn fail_after(&self, n: usize, fault: impl Into<Fault>) {
        self.lock().script.fail_after(n, fault.into());
    }

    /// Makes every key created from now on invisible to its first `reads` read calls
    /// (DescribeKey, GetKeyPolicy, ListResourceTags, GetKeyRotationStatus answer NotFound), as
    /// KMS's eventual consistency can right after CreateKey. `0` turns this off for later keys.
    pub fn hide_new_keys_from_reads(&self, reads: usize) {
        self.lock().script.hide_new_keys(reads);
    }

    /// Makes `principal` exist only after `attempts` calls that name it: until then CreateKey
    /// and PutKeyPolicy with a policy naming it fail with
    /// [`InvalidPrincipals`](crate::backend::ErrorKind::InvalidPrincipals), as a freshly
    /// created IAM role does while it propagates. The call after those becomes the first to
    /// see it, and from then on it is a known principal.
    pub fn principal_visible_after(&self, principal: impl Into<String>, attempts: usize) {
        self.lock()
            .script
            .delay_principal(principal.into(), attempts);
    }

    /// Removes every scripted fault, hidden key and pending principal.
    pub fn clear_faults(&self) {
        self.lock().script.clear();
    }

    // ----- snapshots -----

    /// The whole store as JSON: configuration that shapes answers (account, Region, caller,
    /// known principals, custom key stores, page sizes), every key with its tags, policy,
    /// rotation and deletion date, and the id generator's state. Timestamps are epoch seconds.
    /// Not included: the clock, latency, call log and scripted faults.
    pub fn to_json(&self) -> String {
        snapshot::to_json(&self.lock().state)
    }

    /// A backend holding the store of a [`InMemoryBackend::to_json`] text, with the system
    /// clock and no latency.
    ///
    /// # Errors
    /// [`SnapshotError::Corrupt`] for text that is not a snapshot,
    /// [`SnapshotError::UnsupportedVersion`] for another snapshot format,
    /// [`SnapshotError::Inconsistent`] for keys that contradict each other.
    pub fn from_json(text: &str) -> Result<Self, SnapshotError> {
        let state = snapshot::from_json(text)?;
        Ok(Self::from_state(state, Clock::system(), None))
    }

    /// Saves the store to `path` atomically (a temporary file in the same directory, synced,
    /// then renamed). Blocking file I/O: from async code, consider `spawn_blocking`.
    ///
    /// # Errors
    /// [`SnapshotError::Write`] when the file cannot be written; the old file is then intact.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), SnapshotError> {
        let text = self.to_json();
        snapshot::write_atomic(path.as_ref(), &text)
    }

    /// A backend holding the store saved at `path`.
    ///
    /// # Errors
    /// [`SnapshotError::Read`] when the file cannot be read (a missing file included), and the
    /// errors of [`InMemoryBackend::from_json`], naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        let path = path.as_ref();
        match snapshot::read(path)? {
            Some(state) => Ok(Self::from_state(state, Clock::system(), None)),
            None => Err(SnapshotError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            }),
        }
    }

    /// Like [`InMemoryBackend::load`], but a file that does not exist gives a fresh
    /// [`InMemoryBackend::new`]. Any other problem is an error, never an empty store.
    ///
    /// # Errors
    /// As [`InMemoryBackend::load`], except for a missing file.
    pub fn load_or_new(path: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        Ok(match snapshot::read(path.as_ref())? {
            Some(state) => Self::from_state(state, Clock::system(), None),
            None => Self::new(),
        })
    }

    // ----- the call path -----

    /// Runs one operation: the quota check (on arrival), latency, purge of expired keys,
    /// scripted faults, hidden reads, the operation itself, then the call log.
    async fn run<T>(
        &self,
        operation: Operation,
        key: Option<&str>,
        op: impl FnOnce(&mut Ctx<'_>) -> Result<T, Failure>,
    ) -> Result<T, BackendError> {
        let (latency, throttled) = {
            let mut inner = self.lock();
            let admitted = match inner.quotas.as_mut() {
                Some(q) => q.admit(operation, tokio::time::Instant::now()),
                None => true,
            };
            (inner.latency, !admitted)
        };
        if let Some(delay) = latency.filter(|d| !d.is_zero()) {
            tokio::time::sleep(delay).await;
        }
        if throttled {
            // Answered like any refusal, after the round trip, and logged; nothing else runs.
            let fault = Fault::new(ErrorKind::Throttled);
            let mut guard = self.lock();
            let logged_key = key.map(|k| guard.state.resolve_for_log(k));
            tracing::debug!(operation = %operation, "in-memory KMS call throttled");
            guard.calls.push(Call::new(
                operation,
                logged_key.as_deref(),
                Err(fault.kind()),
            ));
            return Err(BackendError::new(fault.kind(), operation, fault.message()));
        }

        let mut guard = self.lock();
        let Inner {
            state,
            script,
            calls,
            clock,
            ..
        } = &mut *guard;
        let now = clock.now_secs();
        state.purge_expired(now, script);
        let logged_key = key.map(|k| state.resolve_for_log(k));
        let mut created = None;

        let result = if let Some(fault) = script.on_call(operation) {
            Err(fault.to_failure())
        } else if let Some(hidden) = key
            .filter(|_| is_read_of_one_key(operation))
            .and_then(|k| state.resolve(k))
            .filter(|id| script.read_hidden(id))
        {
            Err(state.not_found_for(&hidden))
        } else {
            let mut ctx = Ctx {
                state,
                script,
                now,
                created: None,
            };
            let result = op(&mut ctx);
            created = ctx.created;
            result
        };

        let call = Call {
            operation,
            key_id: created.or(logged_key),
            outcome: result.as_ref().map(|_| ()).map_err(|f| f.kind),
        };
        tracing::debug!(
            operation = %operation,
            key_id = call.key_id.as_deref().unwrap_or(""),
            outcome = ?call.outcome,
            "in-memory KMS call"
        );
        calls.push(call);
        drop(guard);
        result.map_err(|f| BackendError::new(f.kind, operation, f.message))
    }
}

fn is_read_of_one_key(operation: Operation) -> bool {
    matches!(
        operation,
        Operation::DescribeKey
            | Operation::GetKeyPolicy
            | Operation::ListResourceTags
            | Operation::GetKeyRotationStatus
    )
}

#[async_trait]
impl KmsBackend for InMemoryBackend {
    async fn create_key(&self, request: CreateKeyRequest) -> Result<KeyMetadata, BackendError> {
        self.run(Operation::CreateKey, None, |ctx| {
            let metadata = ctx.state.create_key(request, ctx.now, ctx.script)?;
            ctx.script.on_key_created(&metadata.key_id);
            ctx.created = Some(metadata.key_id.clone());
            Ok(metadata)
        })
        .await
    }

    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata, BackendError> {
        self.run(Operation::DescribeKey, Some(key_id), |ctx| {
            ctx.state.describe_key(key_id)
        })
        .await
    }

    async fn get_key_policy(&self, key_id: &str) -> Result<String, BackendError> {
        self.run(Operation::GetKeyPolicy, Some(key_id), |ctx| {
            ctx.state.get_key_policy(key_id)
        })
        .await
    }

    async fn put_key_policy(
        &self,
        key_id: &str,
        policy: &str,
        bypass_policy_lockout_safety_check: bool,
    ) -> Result<(), BackendError> {
        self.run(Operation::PutKeyPolicy, Some(key_id), |ctx| {
            ctx.state.put_key_policy(
                key_id,
                policy,
                bypass_policy_lockout_safety_check,
                ctx.script,
            )
        })
        .await
    }

    async fn get_key_rotation_status(&self, key_id: &str) -> Result<RotationStatus, BackendError> {
        self.run(Operation::GetKeyRotationStatus, Some(key_id), |ctx| {
            ctx.state.get_key_rotation_status(key_id, ctx.now)
        })
        .await
    }

    async fn enable_key_rotation(
        &self,
        key_id: &str,
        rotation_period_in_days: Option<i32>,
    ) -> Result<(), BackendError> {
        self.run(Operation::EnableKeyRotation, Some(key_id), |ctx| {
            ctx.state
                .enable_key_rotation(key_id, rotation_period_in_days, ctx.now)
        })
        .await
    }

    async fn disable_key_rotation(&self, key_id: &str) -> Result<(), BackendError> {
        self.run(Operation::DisableKeyRotation, Some(key_id), |ctx| {
            ctx.state.disable_key_rotation(key_id)
        })
        .await
    }

    async fn enable_key(&self, key_id: &str) -> Result<(), BackendError> {
        self.run(Operation::EnableKey, Some(key_id), |ctx| {
            ctx.state.set_enabled(key_id, true)
        })
        .await
    }

    async fn disable_key(&self, key_id: &str) -> Result<(), BackendError> {
        self.run(Operation::DisableKey, Some(key_id), |ctx| {
            ctx.state.set_enabled(key_id, false)
        })
        .await
    }

    async fn update_key_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), BackendError> {
        self.run(Operation::UpdateKeyDescription, Some(key_id), |ctx| {
            ctx.state.update_key_description(key_id, description)
        })
        .await
    }

    async fn list_resource_tags(
        &self,
        key_id: &str,
        marker: Option<&str>,
    ) -> Result<TagPage, BackendError> {
        self.run(Operation::ListResourceTags, Some(key_id), |ctx| {
            ctx.state.list_resource_tags(key_id, marker)
        })
        .await
    }

    async fn tag_resource(&self, key_id: &str, tags: &[Tag]) -> Result<(), BackendError> {
        self.run(Operation::TagResource, Some(key_id), |ctx| {
            ctx.state.tag_resource(key_id, tags)
        })
        .await
    }

    async fn untag_resource(&self, key_id: &str, tag_keys: &[String]) -> Result<(), BackendError> {
        self.run(Operation::UntagResource, Some(key_id), |ctx| {
            ctx.state.untag_resource(key_id, tag_keys)
        })
        .await
    }

    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        pending_window_in_days: Option<i32>,
    ) -> Result<DeletionScheduled, BackendError> {
        self.run(Operation::ScheduleKeyDeletion, Some(key_id), |ctx| {
            ctx.state
                .schedule_key_deletion(key_id, pending_window_in_days, ctx.now)
        })
        .await
    }

    async fn cancel_key_deletion(&self, key_id: &str) -> Result<String, BackendError> {
        self.run(Operation::CancelKeyDeletion, Some(key_id), |ctx| {
            ctx.state.cancel_key_deletion(key_id)
        })
        .await
    }

    async fn list_keys(&self, marker: Option<&str>) -> Result<KeyPage, BackendError> {
        self.run(Operation::ListKeys, None, |ctx| ctx.state.list_keys(marker))
            .await
    }
}
