//! [`Reconciler`]: observe → plan → apply, through any [`KmsBackend`].
//!
//! # Identity
//! A [`Target`] is an existing key (id or ARN) or a logical name. A name is written on the key
//! as the ownership tag [`OWNERSHIP_TAG_KEY`] inside `CreateKey` itself, so from the moment the
//! key exists it can be found again: an interruption after any call never yields a second key.
//!
//! Finding a key by name costs, on AWS, one `ListKeys` call per 1000 keys in the account and
//! Region, one `ListResourceTags` call per key (more for keys with over 50 tags) and one
//! `DescribeKey` per key that carries the name. Pass a key id when you know it: that skips the
//! look-up entirely.
//!
//! For many named keys, scan once: [`Reconciler::index_names`] reads every key's tags one time
//! and answers a [`NameIndex`]; [`Reconciler::reconcile_resolved`] then reconciles one name
//! against the keys the index found for it ([`NameIndex::resolve`]), with no further look-up —
//! one `DescribeKey` per key carrying the name, as above. This is what
//! [`Fleet`](crate::fleet::Fleet) does: N named keys cost one scan, not N. The ownership tag is
//! still written inside `CreateKey`, and two live keys carrying one name are still an
//! [`AmbiguousName`](ReconcileError::AmbiguousName) error for that name. A key created under
//! the name by someone else after the scan is not seen: scan again for each run.
//!
//! # Retries
//! Every call goes through one bounded retry loop ([`RetryPolicy`]); which errors it retries
//! depends on the situation, never on the error alone:
//! - throttling and transient faults (KMSInternal, DependencyTimeout, transport): every call
//!   except `CreateKey`, which is retried only on errors that prove no key was made (throttling,
//!   invalid principals) — a lost answer could otherwise mean a second key;
//! - `MalformedPolicyDocumentException` naming invalid principals (IAM propagation): `CreateKey`
//!   and `PutKeyPolicy`, within the propagation budget;
//! - `NotFoundException` right after this apply's own `CreateKey`, and `DisabledException` right
//!   after its own `EnableKey`, within the consistency budget.
//!
//! Lockout, validation and access-denied errors are never retried. There is no sleeping or
//! polling after a successful write: the write's answer is the new state.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::Instrument;

use crate::backend::{BackendError, ErrorKind, KeyMetadata, KmsBackend, Operation};
use crate::observed::{ObservedKey, ObservedPolicy, ObservedRotation, is_unmanaged_tag};
use crate::plan::{Change, Plan, PlanError, PlanOptions, apply_to, plan};
use crate::policy::KeyPolicy;
use crate::retry::{Budget, RetryPolicy};
use crate::spec::{DeletionWindow, KeyState, KmsKeySpec, OWNERSHIP_TAG_KEY, Origin};
use crate::validation::ValidationErrors;

/// Which key a reconcile is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Target {
    /// An existing key, by key id or key ARN. Never created.
    KeyId(String),
    /// The key carrying this logical name in its ownership tag; created when there is none.
    Name(String),
}

impl Target {
    /// An existing key by id or ARN.
    pub fn key_id(id: impl Into<String>) -> Self {
        Target::KeyId(id.into())
    }

    /// A key by logical name.
    pub fn name(name: impl Into<String>) -> Self {
        Target::Name(name.into())
    }

    /// Checks the target's form before any call: a key id as
    /// [`validate_key_id`](crate::spec::validate_key_id), a name as
    /// [`validate_name`](crate::spec::validate_name).
    ///
    /// # Errors
    /// One validation error at `key_id` (`invalid_key_id`) or `name` (`invalid_name`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        match self {
            Target::KeyId(id) => crate::spec::validate_key_id(id),
            Target::Name(name) => crate::spec::validate_name(name),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::KeyId(id) => write!(f, "key {id}"),
            Target::Name(n) => write!(f, "key named {n:?}"),
        }
    }
}

/// Per-reconcile choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileOptions {
    /// Restore a key that is pending deletion (CancelKeyDeletion, then the rest) instead of
    /// refusing with [`PlanError::PendingDeletion`]. By name, this restores the one key pending
    /// deletion that carries the name when no live key does.
    pub restore: bool,
    /// By name: create a new key even though a key carrying the name is pending deletion (it
    /// stays scheduled for deletion). Without this, that is refused with
    /// [`ReconcileError::NamePendingDeletion`], because the old key's data would be lost with it.
    pub new_key_while_pending: bool,
}

impl ReconcileOptions {
    /// Options with restoring of keys pending deletion on or off.
    pub fn restore(restore: bool) -> Self {
        Self {
            restore,
            ..Self::default()
        }
    }

    /// The same options with restoring on or off.
    #[must_use]
    pub fn with_restore(mut self, restore: bool) -> Self {
        self.restore = restore;
        self
    }

    /// The same options, allowing (or not) a new key beside a namesake pending deletion.
    #[must_use]
    pub fn with_new_key_while_pending(mut self, allow: bool) -> Self {
        self.new_key_while_pending = allow;
        self
    }
}

/// A key pending deletion, as named in an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PendingKey {
    /// The key id.
    pub key_id: String,
    /// When KMS will delete it (RFC 3339).
    pub deletion_date: Option<String>,
}

impl std::fmt::Display for PendingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.deletion_date {
            Some(d) => write!(f, "{} (deleted on {d})", self.key_id),
            None => f.write_str(&self.key_id),
        }
    }
}

/// One API call attempt the engine made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ApiCall {
    /// The KMS operation.
    pub operation: Operation,
    /// The key it addressed, when it addressed one.
    pub key_id: Option<String>,
    /// 1 for the first attempt of a call, 2 for its first retry, ...
    pub attempt: u32,
    /// `None` when it succeeded, else the error kind.
    pub error: Option<ErrorKind>,
    /// How long the attempt took.
    #[serde(serialize_with = "ser_duration_ms", rename = "duration_ms")]
    pub duration: Duration,
}

fn ser_duration_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    // Microsecond precision: finer digits are noise.
    s.serialize_f64((d.as_secs_f64() * 1_000_000.0).round() / 1000.0)
}

/// What a plan against a live key found: the observation and the plan, ready to apply.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Planned {
    pub(crate) target: Target,
    pub(crate) spec: KmsKeySpec,
    pub(crate) observed: Option<ObservedKey>,
    pub(crate) plan: Plan,
    pub(crate) api_calls: Vec<ApiCall>,
    /// Made right before its own apply (by `reconcile`, or a fleet that just planned): no
    /// stale-create check is needed.
    pub(crate) fresh: bool,
}

// Read-only: `apply` writes to the observed key what the plan says, so neither can be changed
// between `plan` and `apply`.
impl Planned {
    /// The target as given.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The spec planned for.
    pub fn spec(&self) -> &KmsKeySpec {
        &self.spec
    }

    /// The live key; `None` when it is to be created.
    pub fn observed(&self) -> Option<&ObservedKey> {
        self.observed.as_ref()
    }

    /// The changes.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The read calls made to observe.
    pub fn api_calls(&self) -> &[ApiCall] {
        &self.api_calls
    }
}

/// A key carrying a logical name in its ownership tag, with every tag it had when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NamedKey {
    /// The key id.
    pub key_id: String,
    /// All of its tags, the ownership tag and `aws:` tags included.
    pub tags: BTreeMap<String, String>,
}

impl NamedKey {
    /// A key and its tags.
    pub fn new(key_id: impl Into<String>, tags: BTreeMap<String, String>) -> Self {
        Self {
            key_id: key_id.into(),
            tags,
        }
    }
}

/// A logical name and the keys known to carry it: what [`Reconciler::reconcile_resolved`] works
/// from instead of looking the name up.
///
/// Made by [`NameIndex::resolve`], by [`ResolvedName::absent`] for a name known to be on no key,
/// or by [`ResolvedName::new`] from an index a caller keeps itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedName {
    name: String,
    keys: Vec<NamedKey>,
    /// Keys whose tags the scan could not read: one of them may carry the name.
    unreadable: Vec<(String, ErrorKind)>,
}

impl ResolvedName {
    /// `name`, carried by `keys` (keys pending deletion included: the reconcile reads each
    /// key's state).
    pub fn new(name: impl Into<String>, keys: Vec<NamedKey>) -> Self {
        Self {
            name: name.into(),
            keys,
            unreadable: Vec::new(),
        }
    }

    /// `name`, carried by no key: reconciling creates the key (after no look-up at all).
    pub fn absent(name: impl Into<String>) -> Self {
        Self::new(name, Vec::new())
    }

    /// The logical name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The keys carrying it, in the order they were found.
    pub fn keys(&self) -> &[NamedKey] {
        &self.keys
    }
}

/// Which keys carry which logical name, from one scan of the account and Region
/// ([`Reconciler::index_names`]).
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    by_name: HashMap<String, Vec<NamedKey>>,
    keys_scanned: usize,
    /// Keys whose tags could not be read (after retries), with the error kind.
    unreadable: Vec<(String, ErrorKind)>,
    api_calls: Vec<ApiCall>,
}

impl NameIndex {
    /// The keys that carried `name` ([`ResolvedName::absent`] when none did).
    pub fn resolve(&self, name: &str) -> ResolvedName {
        let mut resolved =
            ResolvedName::new(name, self.by_name.get(name).cloned().unwrap_or_default());
        // Only a name no readable key carries can be on an unreadable one.
        if resolved.keys.is_empty() {
            resolved.unreadable = self.unreadable.clone();
        }
        resolved
    }

    /// The keys whose tags could not be read (`AccessDenied`, or `NotFound` after the
    /// consistency retries): a name found on no other key cannot be created while any are
    /// left, because one of them may carry it.
    pub fn unreadable(&self) -> &[(String, ErrorKind)] {
        &self.unreadable
    }

    /// How many keys the scan listed (keys whose tags could not be read included).
    pub fn keys_scanned(&self) -> usize {
        self.keys_scanned
    }

    /// How many distinct logical names were found.
    pub fn name_count(&self) -> usize {
        self.by_name.len()
    }

    /// The calls the scan made (ListKeys, ListResourceTags), attempts included, in key order.
    pub fn api_calls(&self) -> &[ApiCall] {
        &self.api_calls
    }
}

/// The result of a successful apply.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Outcome {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// Whether the key was created by this apply.
    pub created: bool,
    /// The changes made, in order.
    pub changes: Vec<Change>,
    /// Every call attempt, reads and writes, in order.
    pub api_calls: Vec<ApiCall>,
    /// The key as it now is, derived from the observation, the plan and the write answers
    /// (no extra read).
    pub final_state: ObservedKey,
}

impl Outcome {
    /// The write calls made (attempts included), in order.
    pub fn writes(&self) -> Vec<Operation> {
        self.api_calls
            .iter()
            .filter(|c| c.operation.is_write())
            .map(|c| c.operation)
            .collect()
    }

    /// The read calls made (attempts included), in order.
    pub fn reads(&self) -> Vec<Operation> {
        self.api_calls
            .iter()
            .filter(|c| !c.operation.is_write())
            .map(|c| c.operation)
            .collect()
    }
}

/// What `destroy` did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DestroyOutcome {
    /// The key id.
    pub key_id: String,
    /// False when the key was already pending deletion (nothing was written).
    pub scheduled: bool,
    /// When the key will be deleted (RFC 3339), when known.
    pub deletion_date: Option<String>,
    /// Every call attempt, in order.
    pub api_calls: Vec<ApiCall>,
}

/// Why a reconcile, destroy or import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// No plan can make the key match the spec; nothing was written.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The target key does not exist.
    #[error("{target} does not exist (or is not visible to this caller)")]
    NotFound {
        /// The target.
        target: Target,
    },
    /// More than one live key carries the logical name; nothing was written.
    #[error(
        "{} keys carry the name {name:?} in their {OWNERSHIP_TAG_KEY} tag: {}; keep one (remove the tag from, or destroy, the others) or target a key id",
        key_ids.len(),
        key_ids.join(", ")
    )]
    AmbiguousName {
        /// The name.
        name: String,
        /// The keys that carry it.
        key_ids: Vec<String>,
    },
    /// The input is invalid (a logical name that cannot be a tag value, a malformed key id);
    /// nothing was called.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// No live key carries the name, but some keys' tags could not be read, so it cannot be
    /// ruled out that one of them is this name's key. Nothing was written: creating a key now
    /// could make a second one.
    #[error(
        "cannot tell whether a key named {name:?} exists: the tags of {} could not be read ({}); grant kms:ListResourceTags on them, or target the key by id",
        unreadable.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "),
        unreadable.iter().map(|(_, e)| e.code()).collect::<Vec<_>>().join(", ")
    )]
    NameLookupIncomplete {
        /// The name.
        name: String,
        /// The keys whose tags could not be read, with the error kind.
        unreadable: Vec<(String, ErrorKind)>,
    },
    /// No live key carries the name, but a key pending deletion does. Nothing was written.
    #[error(
        "the key named {name:?} is pending deletion: {}; restore it (ReconcileOptions::restore, CLI --restore), or create a new key beside it (ReconcileOptions::with_new_key_while_pending, CLI --new-key) and let the old one be deleted",
        keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    NamePendingDeletion {
        /// The name.
        name: String,
        /// The keys pending deletion that carry it.
        keys: Vec<PendingKey>,
    },
    /// The plan creates a key, but a key with its name exists now (made by another run, or
    /// this plan was applied already). Nothing was written.
    #[error("{target} exists now, though it did not when this plan was made; plan again")]
    StalePlan {
        /// The target.
        target: Target,
    },
    /// The key was restored (CancelKeyDeletion was applied), and then the rest of the plan,
    /// made from the restored key's rotation settings, was refused.
    #[error("key {key_id} was restored (CancelKeyDeletion), then: {source}")]
    RestoredThenRefused {
        /// The key.
        key_id: String,
        /// Why the rest was refused.
        #[source]
        source: PlanError,
    },
    /// The live key holds something no valid spec can express (e.g. a policy KMS returned
    /// that does not parse).
    #[error("key {key_id} cannot be imported: {reason}")]
    Unrepresentable {
        /// The key.
        key_id: String,
        /// What could not be expressed.
        reason: String,
    },
    /// A backend call failed (after the retries its situation allows). `applied` lists the
    /// changes made before it; reconciling again picks up from there.
    #[error("{operation} failed{}: {}", key_id.as_deref().map(|k| format!(" for key {k}")).unwrap_or_default(), backend_detail(source))]
    Backend {
        /// The operation that failed.
        operation: Operation,
        /// The key, when known.
        key_id: Option<String>,
        /// The changes applied before the failure, in order.
        applied: Vec<Change>,
        /// Every call attempt, in order.
        api_calls: Vec<ApiCall>,
        /// The backend's error.
        #[source]
        source: Box<BackendError>,
    },
}

impl ReconcileError {
    /// The backend error kind, when a backend call failed.
    pub fn backend_kind(&self) -> Option<ErrorKind> {
        match self {
            ReconcileError::Backend { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// The changes made before the failure (empty except for `Backend`, and the
    /// CancelKeyDeletion of `RestoredThenRefused`).
    pub fn applied(&self) -> &[Change] {
        match self {
            ReconcileError::Backend { applied, .. } => applied,
            ReconcileError::RestoredThenRefused { .. } => RESTORED,
            _ => &[],
        }
    }
}

const RESTORED: &[Change] = &[Change::CancelKeyDeletion {
    deletion_date: None,
}];

/// Makes live keys match [`KmsKeySpec`]s.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use kms_key::backend::memory::InMemoryBackend;
/// use kms_key::{KmsKeySpec, Reconciler, Target};
///
/// let reconciler = Reconciler::new(Arc::new(InMemoryBackend::new()));
/// let spec = KmsKeySpec::builder().description("KMS key 1").deletion_window_in_days(10).build()?;
/// let first = reconciler.reconcile(&spec, &Target::name("a")).await?;
/// assert!(first.created);
/// let second = reconciler.reconcile(&spec, &Target::name("a")).await?;
/// assert!(second.writes().is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Reconciler {
    backend: Arc<dyn KmsBackend>,
    retry: RetryPolicy,
}

/// The calls made so far in one reconcile, and the situational retry state.
#[derive(Debug, Default)]
struct Ctx {
    calls: Vec<ApiCall>,
    created: bool,
    enabled_by_us: bool,
}

/// Which situational retries a call allows, beyond none.
#[derive(Debug, Clone, Copy)]
struct RetryOn {
    transient: bool,
    throttled: bool,
    principals: bool,
    not_found: bool,
    disabled: bool,
}

impl RetryOn {
    /// For writes that are not idempotent (CreateKey, ScheduleKeyDeletion, CancelKeyDeletion):
    /// retried only on throttling, which proves the request was not carried out. After a lost
    /// answer the next reconcile reads what happened instead.
    const DEFINITE: RetryOn = RetryOn {
        transient: false,
        throttled: true,
        principals: false,
        not_found: false,
        disabled: false,
    };

    const READ: RetryOn = RetryOn {
        transient: true,
        throttled: true,
        principals: false,
        not_found: false,
        disabled: false,
    };
}

impl Reconciler {
    /// A reconciler over `backend` with the default [`RetryPolicy`].
    pub fn new(backend: Arc<dyn KmsBackend>) -> Self {
        Self {
            backend,
            retry: RetryPolicy::default(),
        }
    }

    /// The same reconciler with another retry policy.
    #[must_use]
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn KmsBackend> {
        &self.backend
    }

    /// Observes the target, plans, and applies: the key matches `spec` afterwards.
    ///
    /// # Errors
    /// [`ReconcileError`]: a malformed target (nothing called), a plan error (nothing
    /// written), an unknown target, an ambiguous name, or a backend failure after the changes
    /// listed in it.
    pub async fn reconcile(
        &self,
        spec: &KmsKeySpec,
        target: &Target,
    ) -> Result<Outcome, ReconcileError> {
        self.reconcile_with(spec, target, &ReconcileOptions::default())
            .await
    }

    /// [`reconcile`](Self::reconcile) with options (such as restoring a key pending deletion).
    ///
    /// # Errors
    /// As [`reconcile`](Self::reconcile).
    pub async fn reconcile_with(
        &self,
        spec: &KmsKeySpec,
        target: &Target,
        options: &ReconcileOptions,
    ) -> Result<Outcome, ReconcileError> {
        let span = tracing::info_span!("reconcile", target = %target);
        async {
            let mut planned = self.plan_with(spec, target, options).await?;
            planned.fresh = true;
            self.apply(planned).await
        }
        .instrument(span)
        .await
    }

    /// Observes the target and plans, without writing anything.
    ///
    /// # Errors
    /// As [`reconcile`](Self::reconcile), without backend write failures.
    pub async fn plan(
        &self,
        spec: &KmsKeySpec,
        target: &Target,
    ) -> Result<Planned, ReconcileError> {
        self.plan_with(spec, target, &ReconcileOptions::default())
            .await
    }

    /// [`plan`](Self::plan) with options.
    ///
    /// # Errors
    /// As [`plan`](Self::plan).
    pub async fn plan_with(
        &self,
        spec: &KmsKeySpec,
        target: &Target,
        options: &ReconcileOptions,
    ) -> Result<Planned, ReconcileError> {
        target.validate()?;
        let mut ctx = Ctx::default();
        let observed = match self.observe_in(&mut ctx, spec, target, options).await {
            Ok(o) => o,
            Err(e) => return Err(e.with_calls(ctx.calls)),
        };
        if observed.is_none() && matches!(target, Target::KeyId(_)) {
            return Err(ReconcileError::NotFound {
                target: target.clone(),
            });
        }
        let plan = plan(
            spec,
            observed.as_ref(),
            &plan_options(target, options.restore),
        )?;
        Ok(Planned {
            target: target.clone(),
            spec: spec.clone(),
            observed,
            plan,
            api_calls: ctx.calls,
            fresh: false,
        })
    }

    /// Scans the account once and indexes its keys by logical name: `ListKeys` (one call per
    /// 1000 keys, KMS's largest page) and `ListResourceTags` for every key listed, with up to
    /// `concurrency` (at least 1) tag reads in flight at once. Keys whose tags this caller may
    /// not read (other teams', AWS managed) are skipped, as in a look-up by name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use kms_key::backend::memory::InMemoryBackend;
    /// use kms_key::{KmsKeySpec, ReconcileOptions, Reconciler, Target};
    ///
    /// let r = Reconciler::new(Arc::new(InMemoryBackend::new()));
    /// let spec = KmsKeySpec::builder().description("logs").build()?;
    /// let created = r.reconcile(&spec, &Target::name("logs")).await?;
    ///
    /// let index = r.index_names(8).await?;
    /// let logs = index.resolve("logs");
    /// assert_eq!(logs.keys()[0].key_id, created.key_id);
    /// let again = r.reconcile_resolved(&spec, &logs, &ReconcileOptions::default()).await?;
    /// assert!(again.writes().is_empty());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ReconcileError::Backend`] when a `ListKeys` or `ListResourceTags` call fails after its
    /// retries (with the calls made so far).
    pub async fn index_names(&self, concurrency: usize) -> Result<NameIndex, ReconcileError> {
        let span = tracing::info_span!("index_names");
        async {
            let mut index = NameIndex::default();
            match self.scan_into(&mut index, concurrency.max(1)).await {
                Ok(()) => {
                    tracing::info!(
                        keys_scanned = index.keys_scanned,
                        names = index.by_name.len(),
                        calls = index.api_calls.len(),
                        "name index built"
                    );
                    Ok(index)
                }
                Err(e) => Err(e.with_calls(index.api_calls)),
            }
        }
        .instrument(span)
        .await
    }

    async fn scan_into(
        &self,
        index: &mut NameIndex,
        concurrency: usize,
    ) -> Result<(), ReconcileError> {
        let mut marker: Option<String> = None;
        loop {
            let mut ctx = Ctx::default();
            let m = marker.clone();
            let backend = &self.backend;
            let page = self
                .call(&mut ctx, Operation::ListKeys, None, RetryOn::READ, || {
                    backend.list_keys(m.as_deref())
                })
                .await;
            index.api_calls.append(&mut ctx.calls);
            let page = page.map_err(|e| backend_error(Operation::ListKeys, None, e))?;
            index.keys_scanned += page.keys.len();
            let ids: Vec<String> = page.keys.into_iter().map(|k| k.key_id).collect();
            let reads = match self.tags_of(ids, concurrency).await {
                Ok(reads) => reads,
                Err(mut e) => {
                    if let ReconcileError::Backend { api_calls, .. } = &mut e {
                        index.api_calls.append(api_calls);
                    }
                    return Err(e);
                }
            };
            for (key_id, tags, mut calls) in reads {
                index.api_calls.append(&mut calls);
                let tags = match tags {
                    Ok(t) => t,
                    Err(kind) => {
                        index.unreadable.push((key_id, kind));
                        continue;
                    }
                };
                if let Some(name) = tags.get(OWNERSHIP_TAG_KEY).cloned() {
                    index
                        .by_name
                        .entry(name)
                        .or_default()
                        .push(NamedKey::new(key_id, tags));
                }
            }
            match page.next_marker {
                Some(next) if Some(&next) != marker.as_ref() => marker = Some(next),
                _ => return Ok(()),
            }
        }
    }

    /// The tags of `key_ids`, read with up to `concurrency` calls in flight, answered in the
    /// order of `key_ids` with each key's calls; `None` for keys this caller may not read.
    async fn tags_of(
        &self,
        key_ids: Vec<String>,
        concurrency: usize,
    ) -> Result<Vec<TagsRead>, ReconcileError> {
        let mut out: Vec<Option<TagsRead>> = (0..key_ids.len()).map(|_| None).collect();
        let mut tasks = tokio::task::JoinSet::new();
        let mut pending = key_ids.into_iter().enumerate();
        loop {
            while tasks.len() < concurrency {
                let Some((i, key_id)) = pending.next() else {
                    break;
                };
                let r = self.clone();
                tasks.spawn(
                    async move {
                        let mut ctx = Ctx::default();
                        // ListKeys just listed it: NotFound is eventual consistency, retried.
                        let on = RetryOn {
                            not_found: true,
                            ..RetryOn::READ
                        };
                        let tags = r.list_tags_with(&mut ctx, &key_id, on).await;
                        (i, key_id, tags, ctx.calls)
                    }
                    .in_current_span(),
                );
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let (i, key_id, tags, calls) = joined.unwrap_or_else(|e| join_failed(e));
            let tags = match tags {
                Ok(t) => Ok(t),
                // Recorded, not skipped: such a key may carry a name we look for.
                Err(e) if matches!(e.kind(), ErrorKind::AccessDenied | ErrorKind::NotFound) => {
                    Err(e.kind())
                }
                Err(e) => {
                    // Dropping the set aborts the reads still in flight. The error carries the
                    // calls of the reads that finished, in key order, then the failed one's.
                    let mut api_calls: Vec<ApiCall> =
                        out.into_iter().flatten().flat_map(|(_, _, c)| c).collect();
                    api_calls.extend(calls);
                    return Err(ReconcileError::Backend {
                        operation: Operation::ListResourceTags,
                        key_id: Some(key_id),
                        applied: Vec::new(),
                        api_calls,
                        source: Box::new(e),
                    });
                }
            };
            out[i] = Some((key_id, tags, calls));
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// [`reconcile_with`](Self::reconcile_with) for a logical name already resolved (by
    /// [`index_names`](Self::index_names), or known to be absent): no look-up is made.
    ///
    /// Each key the resolution lists is described (`DescribeKey`); keys gone since are skipped,
    /// keys pending deletion count only when restoring and no live key carries the name. None
    /// left: the key is created, its ownership tag inside `CreateKey`. More than one live key:
    /// [`ReconcileError::AmbiguousName`], nothing written. Tags come from the resolution
    /// (not read again).
    ///
    /// # Errors
    /// As [`reconcile`](Self::reconcile).
    pub async fn reconcile_resolved(
        &self,
        spec: &KmsKeySpec,
        resolved: &ResolvedName,
        options: &ReconcileOptions,
    ) -> Result<Outcome, ReconcileError> {
        let span = tracing::info_span!("reconcile", target = %Target::Name(resolved.name.clone()), resolved = resolved.keys.len());
        async {
            let mut planned = self.plan_resolved(spec, resolved, options).await?;
            // The resolution is the caller's look-up: no second one before a create.
            planned.fresh = true;
            self.apply(planned).await
        }
        .instrument(span)
        .await
    }

    /// [`plan_with`](Self::plan_with) for a logical name already resolved: as
    /// [`reconcile_resolved`](Self::reconcile_resolved), without writing anything.
    ///
    /// # Errors
    /// As [`plan`](Self::plan).
    pub async fn plan_resolved(
        &self,
        spec: &KmsKeySpec,
        resolved: &ResolvedName,
        options: &ReconcileOptions,
    ) -> Result<Planned, ReconcileError> {
        crate::spec::validate_name(&resolved.name)?;
        let mut ctx = Ctx::default();
        let found = match self.pick_resolved(&mut ctx, resolved, options).await {
            Ok(f) => f,
            Err(e) => return Err(e.with_calls(ctx.calls)),
        };
        let observed = match found {
            Some((meta, tags)) => {
                match self
                    .observe_found(&mut ctx, spec, meta, Some(tags), options.restore)
                    .await
                {
                    Ok(o) => Some(o),
                    Err(e) => return Err(e.with_calls(ctx.calls)),
                }
            }
            None => None,
        };
        let target = Target::Name(resolved.name.clone());
        let plan = plan(
            spec,
            observed.as_ref(),
            &plan_options(&target, options.restore),
        )?;
        Ok(Planned {
            target,
            spec: spec.clone(),
            observed,
            plan,
            api_calls: ctx.calls,
            fresh: false,
        })
    }

    /// The one key of a resolution that is to be reconciled, with its tags (see
    /// [`reconcile_resolved`](Self::reconcile_resolved)); the same rules as a look-up by name.
    async fn pick_resolved(
        &self,
        ctx: &mut Ctx,
        resolved: &ResolvedName,
        options: &ReconcileOptions,
    ) -> Result<Option<Found>, ReconcileError> {
        let mut lookup = NameLookup {
            unreadable: resolved.unreadable.clone(),
            ..NameLookup::default()
        };
        for key in &resolved.keys {
            let Some(meta) = self.describe(ctx, &key.key_id).await? else {
                continue; // gone since the scan
            };
            if meta.key_state == KeyState::PendingDeletion {
                lookup.pending.push((meta, key.tags.clone()));
            } else {
                lookup.active.push((meta, key.tags.clone()));
            }
        }
        lookup.resolve(&resolved.name, options)
    }

    /// Applies a plan made by [`plan`](Self::plan).
    ///
    /// A plan that creates a key by name is checked first: if a key with that name exists by
    /// now (another run made it, or this plan was applied already), nothing is written and
    /// [`ReconcileError::StalePlan`] is returned. That check costs one name look-up; `reconcile`
    /// applies its own fresh plan without it.
    ///
    /// A plan that restores a key applies `CancelKeyDeletion`, reads the restored key's rotation
    /// (KMS reports it off while the key is pending deletion), and plans the rest from that.
    ///
    /// # Errors
    /// [`ReconcileError::Backend`] when a call fails after its retries, listing what was applied;
    /// [`ReconcileError::StalePlan`]; [`ReconcileError::RestoredThenRefused`].
    pub async fn apply(&self, planned: Planned) -> Result<Outcome, ReconcileError> {
        let Planned {
            target,
            spec,
            observed,
            plan: planned_changes,
            api_calls,
            fresh,
        } = planned;
        let mut ctx = Ctx {
            calls: api_calls,
            ..Ctx::default()
        };
        if !fresh
            && planned_changes.creates()
            && let Target::Name(name) = &target
        {
            let lookup = match self.find_by_name(&mut ctx, name).await {
                Ok(l) => l,
                Err(e) => return Err(e.with_calls(ctx.calls)),
            };
            if !lookup.active.is_empty() {
                return Err(ReconcileError::StalePlan { target });
            }
        }
        let mut applied: Vec<Change> = Vec::new();
        let mut state = observed;
        let mut queue: std::collections::VecDeque<Change> = planned_changes.changes.into();

        while let Some(change) = queue.pop_front() {
            let key_id = state.as_ref().map(|s| s.key_id.clone());
            let result = self
                .apply_change(&mut ctx, key_id.as_deref(), &change)
                .await;
            match result {
                Ok(Some(created)) => state = Some(created),
                Ok(None) => {}
                Err(source) => {
                    return Err(ReconcileError::Backend {
                        operation: change.operation(),
                        key_id,
                        applied,
                        api_calls: ctx.calls,
                        source: Box::new(source),
                    });
                }
            }
            if let Some(s) = state.as_mut() {
                apply_to(s, &change);
            }
            let restored = matches!(change, Change::CancelKeyDeletion { .. });
            applied.push(change);
            if restored {
                // The rest was planned without the rotation KMS hides while a key is pending
                // deletion: read it now and plan the rest again from the restored key.
                let live = state.as_mut().expect("a restore starts from a live key");
                if let Err(e) = self.read_rotation(&mut ctx, live).await {
                    let ReconcileError::Backend {
                        operation,
                        key_id,
                        source,
                        ..
                    } = e
                    else {
                        return Err(e);
                    };
                    return Err(ReconcileError::Backend {
                        operation,
                        key_id,
                        applied,
                        api_calls: ctx.calls,
                        source,
                    });
                }
                let rest =
                    plan(&spec, Some(live), &plan_options(&target, false)).map_err(|source| {
                        ReconcileError::RestoredThenRefused {
                            key_id: live.key_id.clone(),
                            source,
                        }
                    })?;
                queue = rest.changes.into();
            }
        }
        let final_state = state.expect("a plan either starts from a live key or creates one");
        Ok(Outcome {
            key_id: final_state.key_id.clone(),
            arn: final_state.arn.clone(),
            created: ctx.created,
            changes: applied,
            api_calls: ctx.calls,
            final_state,
        })
    }

    /// Schedules the target key's deletion after `window` (the spec's deletion window). A key
    /// already pending deletion is left as it is (success, nothing changed).
    ///
    /// By key id this is one call, `ScheduleKeyDeletion`; only when KMS refuses it with
    /// `KMSInvalidStateException` does a `DescribeKey` tell an already pending key (success)
    /// from a state that forbids deletion (the error). By name, the name look-up finds the key
    /// and its state first, and a key already pending gets no call at all.
    ///
    /// # Errors
    /// [`ReconcileError::Invalid`] for a malformed target (nothing called);
    /// [`ReconcileError::NotFound`] for an unknown key; backend failures.
    pub async fn destroy(
        &self,
        target: &Target,
        window: DeletionWindow,
    ) -> Result<DestroyOutcome, ReconcileError> {
        let mut ctx = Ctx::default();
        target.validate()?;
        let span = tracing::info_span!("destroy", target = %target);
        async {
            let key = match target {
                // One call: ScheduleKeyDeletion at once. Only if KMS refuses it as
                // KMSInvalidState does a DescribeKey tell whether the key was already pending.
                Target::KeyId(id) => id.clone(),
                Target::Name(name) => {
                    let found = match self
                        .find_by_name(&mut ctx, name)
                        .await
                        .and_then(|l| l.for_destroy(name))
                    {
                        Ok(found) => found,
                        Err(e) => return Err(e.with_calls(ctx.calls)),
                    };
                    let Some(meta) = found else {
                        return Err(ReconcileError::NotFound {
                            target: target.clone(),
                        });
                    };
                    if meta.key_state == KeyState::PendingDeletion {
                        return Ok(DestroyOutcome {
                            key_id: meta.key_id,
                            scheduled: false,
                            deletion_date: crate::plan::fmt_date(meta.deletion_date),
                            api_calls: ctx.calls,
                        });
                    }
                    meta.key_id
                }
            };
            let days = i32::from(window.days());
            let backend = &self.backend;
            let r = self
                .call(
                    &mut ctx,
                    Operation::ScheduleKeyDeletion,
                    Some(&key),
                    RetryOn::DEFINITE,
                    || backend.schedule_key_deletion(&key, Some(days)),
                )
                .await;
            let source = match r {
                Ok(d) => {
                    return Ok(DestroyOutcome {
                        key_id: bare_key_id(&d.key_id).unwrap_or(&key).to_owned(),
                        scheduled: true,
                        deletion_date: crate::plan::fmt_date(d.deletion_date),
                        api_calls: ctx.calls,
                    });
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Err(ReconcileError::NotFound {
                        target: target.clone(),
                    });
                }
                Err(e) if e.kind() == ErrorKind::InvalidState => {
                    // Refused, nothing changed: already pending deletion (success), or a state
                    // that forbids deletion (the error).
                    match self.describe(&mut ctx, &key).await {
                        Ok(Some(meta)) if meta.key_state == KeyState::PendingDeletion => {
                            return Ok(DestroyOutcome {
                                key_id: meta.key_id,
                                scheduled: false,
                                deletion_date: crate::plan::fmt_date(meta.deletion_date),
                                api_calls: ctx.calls,
                            });
                        }
                        _ => e,
                    }
                }
                Err(e) => e,
            };
            Err(ReconcileError::Backend {
                operation: Operation::ScheduleKeyDeletion,
                key_id: Some(key),
                applied: Vec::new(),
                api_calls: ctx.calls,
                source: Box::new(source),
            })
        }
        .instrument(span)
        .await
    }

    /// Reads a live key and returns the spec that matches it exactly: reconciling that spec
    /// against the key plans no change. Tags are managed as they are (without `aws:` tags and the
    /// ownership tag); the lockout bypass is set when the live policy would otherwise fail the
    /// lockout lint.
    ///
    /// # Errors
    /// [`ReconcileError::Invalid`] for a malformed key id (nothing called);
    /// [`ReconcileError::NotFound`] for an unknown key; backend failures;
    /// [`ReconcileError::Unrepresentable`] if KMS answered something no spec can hold.
    pub async fn import(&self, key_id: &str) -> Result<KmsKeySpec, ReconcileError> {
        crate::spec::validate_key_id(key_id)?;
        let mut ctx = Ctx::default();
        let span = tracing::info_span!("import", key_id);
        async {
            let Some(meta) = self.describe(&mut ctx, key_id).await? else {
                return Err(ReconcileError::NotFound {
                    target: Target::key_id(key_id),
                });
            };
            let mut live = ObservedKey::from_metadata(&meta);
            self.read_policy(&mut ctx, &mut live).await?;
            self.read_rotation(&mut ctx, &mut live).await?;
            self.read_tags(&mut ctx, &mut live).await?;
            spec_of(&live).map_err(|reason| ReconcileError::Unrepresentable {
                key_id: live.key_id.clone(),
                reason,
            })
        }
        .instrument(span)
        .await
    }

    // ---- observe -------------------------------------------------------------------------

    async fn observe_in(
        &self,
        ctx: &mut Ctx,
        spec: &KmsKeySpec,
        target: &Target,
        options: &ReconcileOptions,
    ) -> Result<Option<ObservedKey>, ReconcileError> {
        let (meta, tags) = match target {
            Target::KeyId(id) => match self.describe(ctx, id).await? {
                Some(m) => (m, None),
                None => return Ok(None),
            },
            Target::Name(name) => {
                match self.find_by_name(ctx, name).await?.resolve(name, options)? {
                    Some((m, tags)) => (m, Some(tags)),
                    None => return Ok(None),
                }
            }
        };
        self.observe_found(ctx, spec, meta, tags, options.restore)
            .await
            .map(Some)
    }

    /// Reads the facets of a found key that `spec` manages (`tags`: already read, or not),
    /// unless what `DescribeKey` told already refuses the plan (an immutable field that
    /// differs, a key pending deletion without `restore`).
    async fn observe_found(
        &self,
        ctx: &mut Ctx,
        spec: &KmsKeySpec,
        meta: KeyMetadata,
        tags: Option<BTreeMap<String, String>>,
        restore: bool,
    ) -> Result<ObservedKey, ReconcileError> {
        let mut live = ObservedKey::from_metadata(&meta);
        crate::plan::refuse_early(spec, &live, restore)?;
        if spec.policy().is_some() {
            self.read_policy(ctx, &mut live).await?;
        }
        // While a key is pending deletion KMS reports rotation as off whatever it is: leave it
        // unknown (a restore reads it once the key is back).
        if live.state != KeyState::PendingDeletion {
            self.read_rotation(ctx, &mut live).await?;
        }
        match tags {
            Some(t) => live.tags = Some(t),
            None if spec.tags().is_some() => self.read_tags(ctx, &mut live).await?,
            None => {}
        }
        Ok(live)
    }

    async fn describe(
        &self,
        ctx: &mut Ctx,
        key_id: &str,
    ) -> Result<Option<KeyMetadata>, ReconcileError> {
        let backend = &self.backend;
        match self
            .call(
                ctx,
                Operation::DescribeKey,
                Some(key_id),
                RetryOn::READ,
                || backend.describe_key(key_id),
            )
            .await
        {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(backend_error(Operation::DescribeKey, Some(key_id), e)),
        }
    }

    async fn read_policy(
        &self,
        ctx: &mut Ctx,
        live: &mut ObservedKey,
    ) -> Result<(), ReconcileError> {
        let id = live.key_id.clone();
        let backend = &self.backend;
        let text = self
            .call(
                ctx,
                Operation::GetKeyPolicy,
                Some(&id),
                RetryOn::READ,
                || backend.get_key_policy(&id),
            )
            .await
            .map_err(|e| backend_error(Operation::GetKeyPolicy, Some(&id), e))?;
        live.policy = Some(ObservedPolicy::new(text));
        Ok(())
    }

    /// Keys that cannot rotate read as "off" without a call.
    async fn read_rotation(
        &self,
        ctx: &mut Ctx,
        live: &mut ObservedKey,
    ) -> Result<(), ReconcileError> {
        if !live.can_rotate() {
            live.rotation = Some(ObservedRotation {
                enabled: false,
                period_in_days: None,
            });
            return Ok(());
        }
        let id = live.key_id.clone();
        let backend = &self.backend;
        let status = self
            .call(
                ctx,
                Operation::GetKeyRotationStatus,
                Some(&id),
                RetryOn::READ,
                || backend.get_key_rotation_status(&id),
            )
            .await
            .map_err(|e| backend_error(Operation::GetKeyRotationStatus, Some(&id), e))?;
        live.rotation = Some(ObservedRotation {
            enabled: status.enabled,
            period_in_days: status
                .rotation_period_in_days
                .and_then(|p| u16::try_from(p).ok()),
        });
        Ok(())
    }

    async fn read_tags(&self, ctx: &mut Ctx, live: &mut ObservedKey) -> Result<(), ReconcileError> {
        let id = live.key_id.clone();
        let tags = self
            .list_tags(ctx, &id)
            .await
            .map_err(|e| backend_error(Operation::ListResourceTags, Some(&id), e))?;
        live.tags = Some(tags);
        Ok(())
    }

    async fn list_tags(
        &self,
        ctx: &mut Ctx,
        key_id: &str,
    ) -> Result<BTreeMap<String, String>, BackendError> {
        self.list_tags_with(ctx, key_id, RetryOn::READ).await
    }

    async fn list_tags_with(
        &self,
        ctx: &mut Ctx,
        key_id: &str,
        on: RetryOn,
    ) -> Result<BTreeMap<String, String>, BackendError> {
        let backend = &self.backend;
        let mut tags = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let m = marker.clone();
            let page = self
                .call(ctx, Operation::ListResourceTags, Some(key_id), on, || {
                    backend.list_resource_tags(key_id, m.as_deref())
                })
                .await?;
            tags.extend(page.tags.into_iter().map(|t| (t.key, t.value)));
            match page.next_marker {
                Some(next) if Some(&next) != marker.as_ref() => marker = Some(next),
                _ => return Ok(tags),
            }
        }
    }

    /// Every key carrying `name` in its ownership tag, by state, and the keys whose tags could
    /// not be read (which might carry it). A listed key whose tags answer NotFound is retried
    /// within the consistency budget: ListKeys just said it exists.
    async fn find_by_name(&self, ctx: &mut Ctx, name: &str) -> Result<NameLookup, ReconcileError> {
        let backend = &self.backend;
        let mut lookup = NameLookup::default();
        let mut marker: Option<String> = None;
        let on = RetryOn {
            not_found: true,
            ..RetryOn::READ
        };
        loop {
            let m = marker.clone();
            let page = self
                .call(ctx, Operation::ListKeys, None, RetryOn::READ, || {
                    backend.list_keys(m.as_deref())
                })
                .await
                .map_err(|e| backend_error(Operation::ListKeys, None, e))?;
            for entry in page.keys {
                let tags = match self.list_tags_with(ctx, &entry.key_id, on).await {
                    Ok(t) => t,
                    Err(e) if matches!(e.kind(), ErrorKind::AccessDenied | ErrorKind::NotFound) => {
                        lookup.unreadable.push((entry.key_id, e.kind()));
                        continue;
                    }
                    Err(e) => {
                        return Err(backend_error(
                            Operation::ListResourceTags,
                            Some(&entry.key_id),
                            e,
                        ));
                    }
                };
                if tags.get(OWNERSHIP_TAG_KEY).map(String::as_str) != Some(name) {
                    continue;
                }
                let Some(meta) = self.describe(ctx, &entry.key_id).await? else {
                    lookup.unreadable.push((entry.key_id, ErrorKind::NotFound));
                    continue;
                };
                if meta.key_state == KeyState::PendingDeletion {
                    lookup.pending.push((meta, tags));
                } else {
                    lookup.active.push((meta, tags));
                }
            }
            match page.next_marker {
                Some(next) if Some(&next) != marker.as_ref() => marker = Some(next),
                _ => break,
            }
        }
        Ok(lookup)
    }

    // ---- apply ---------------------------------------------------------------------------

    /// Makes one change; answers the new key's state for `CreateKey`.
    async fn apply_change(
        &self,
        ctx: &mut Ctx,
        key_id: Option<&str>,
        change: &Change,
    ) -> Result<Option<ObservedKey>, BackendError> {
        let backend = &self.backend;
        let op = change.operation();
        let after_create = ctx.created;
        let base = RetryOn {
            not_found: after_create,
            ..RetryOn::READ
        };
        if let Change::CreateKey(c) = change {
            // Retried only on errors that prove no key was made.
            let on = RetryOn {
                principals: true,
                ..RetryOn::DEFINITE
            };
            let request = c.to_request();
            let meta = self
                .call(ctx, op, None, on, || backend.create_key(request.clone()))
                .await?;
            ctx.created = true;
            let mut live = ObservedKey::from_metadata(&meta);
            live.policy = c
                .policy
                .as_ref()
                .map(|p| ObservedPolicy::new(p.as_str().to_owned()));
            live.rotation = Some(ObservedRotation {
                enabled: false,
                period_in_days: None,
            });
            live.tags = Some(c.tags.clone());
            return Ok(Some(live));
        }
        let key = key_id.expect("every change but CreateKey has a key");
        match change {
            Change::CreateKey(_) => unreachable!("handled above"),
            Change::CancelKeyDeletion { .. } => {
                self.call(ctx, op, Some(key), RetryOn::DEFINITE, || {
                    backend.cancel_key_deletion(key)
                })
                .await?;
            }
            Change::PutKeyPolicy {
                after,
                bypass_policy_lockout_safety_check,
                ..
            } => {
                let on = RetryOn {
                    principals: true,
                    ..base
                };
                let text = after.as_str();
                let bypass = *bypass_policy_lockout_safety_check;
                self.call(ctx, op, Some(key), on, || {
                    backend.put_key_policy(key, text, bypass)
                })
                .await?;
            }
            Change::EnableKey => {
                self.call(ctx, op, Some(key), base, || backend.enable_key(key))
                    .await?;
                ctx.enabled_by_us = true;
            }
            Change::UpdateKeyDescription { after, .. } => {
                self.call(ctx, op, Some(key), base, || {
                    backend.update_key_description(key, after)
                })
                .await?;
            }
            Change::UntagResource { removed } => {
                let keys: Vec<String> = removed.keys().cloned().collect();
                self.call(ctx, op, Some(key), base, || {
                    backend.untag_resource(key, &keys)
                })
                .await?;
            }
            Change::TagResource { tags, .. } => {
                let tags: Vec<crate::backend::Tag> = tags
                    .iter()
                    .map(|(k, v)| crate::backend::Tag::new(k, v))
                    .collect();
                self.call(ctx, op, Some(key), base, || {
                    backend.tag_resource(key, &tags)
                })
                .await?;
            }
            Change::EnableKeyRotation {
                rotation_period_in_days,
                ..
            } => {
                let on = RetryOn {
                    disabled: ctx.enabled_by_us,
                    ..base
                };
                let period = rotation_period_in_days.map(i32::from);
                self.call(ctx, op, Some(key), on, || {
                    backend.enable_key_rotation(key, period)
                })
                .await?;
            }
            Change::DisableKeyRotation => {
                let on = RetryOn {
                    disabled: ctx.enabled_by_us,
                    ..base
                };
                self.call(ctx, op, Some(key), on, || backend.disable_key_rotation(key))
                    .await?;
            }
            Change::DisableKey => {
                self.call(ctx, op, Some(key), base, || backend.disable_key(key))
                    .await?;
            }
        }
        Ok(None)
    }

    /// One logical call: attempts with backoff while the error's situation allows a retry.
    async fn call<T, F, Fut>(
        &self,
        ctx: &mut Ctx,
        operation: Operation,
        key_id: Option<&str>,
        on: RetryOn,
        mut f: F,
    ) -> Result<T, BackendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, BackendError>>,
    {
        let started = tokio::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let span =
                tracing::debug_span!("kms_call", operation = operation.as_str(), key_id, attempt);
            let t0 = Instant::now();
            let result = f().instrument(span.clone()).await;
            let duration = t0.elapsed();
            ctx.calls.push(ApiCall {
                operation,
                key_id: key_id.map(str::to_owned),
                attempt,
                error: result.as_ref().err().map(BackendError::kind),
                duration,
            });
            let err = match result {
                Ok(v) => {
                    span.in_scope(|| tracing::debug!(?duration, "ok"));
                    return Ok(v);
                }
                Err(e) => e,
            };
            span.in_scope(|| tracing::debug!(?duration, error = %err, "failed"));
            let budget = match err.kind() {
                ErrorKind::Throttled if on.throttled => self.retry.transient,
                k if k.is_retryable() && on.transient => self.retry.transient,
                ErrorKind::InvalidPrincipals if on.principals => self.retry.propagation,
                ErrorKind::NotFound if on.not_found => self.retry.consistency,
                ErrorKind::Disabled if on.disabled => self.retry.consistency,
                _ => Budget::NONE,
            };
            let elapsed = started.elapsed();
            if attempt >= budget.max_attempts || elapsed >= budget.total {
                return Err(err);
            }
            // The last wait ends with the budget: the total is a bound on the whole call.
            let wait = budget.backoff(attempt).min(budget.total - elapsed);
            tracing::debug!(operation = operation.as_str(), attempt, ?wait, kind = ?err.kind(), "retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// A backend error without its operation, which the reconcile error already names.
fn backend_detail(e: &BackendError) -> String {
    let request = e
        .request_id()
        .map(|r| format!(" [request id {r}]"))
        .unwrap_or_default();
    format!(
        "{} ({}): {}{request}",
        e.kind(),
        e.kind().code(),
        e.message()
    )
}

impl ReconcileError {
    fn with_calls(self, calls: Vec<ApiCall>) -> Self {
        match self {
            ReconcileError::Backend {
                operation,
                key_id,
                applied,
                source,
                ..
            } => ReconcileError::Backend {
                operation,
                key_id,
                applied,
                api_calls: calls,
                source,
            },
            other => other,
        }
    }
}

/// One key's tags as the scan read them, or why they could not be read.
type TagsRead = (
    String,
    Result<BTreeMap<String, String>, ErrorKind>,
    Vec<ApiCall>,
);

/// A key found by name, with its tags.
type Found = (KeyMetadata, BTreeMap<String, String>);

/// A spawned task that did not finish: its panic goes on in the caller.
pub(crate) fn join_failed(e: tokio::task::JoinError) -> ! {
    match e.try_into_panic() {
        Ok(payload) => std::panic::resume_unwind(payload),
        Err(e) => panic!("a reconcile task was cancelled: {e}"),
    }
}

/// The key id inside a key ARN (`arn:...:key/ID`), or the text itself when it is a bare id.
fn bare_key_id(id: &str) -> Option<&str> {
    if id.is_empty() {
        return None;
    }
    Some(id.rsplit_once(":key/").map_or(id, |(_, k)| k))
}

fn backend_error(
    operation: Operation,
    key_id: Option<&str>,
    source: BackendError,
) -> ReconcileError {
    ReconcileError::Backend {
        operation,
        key_id: key_id.map(str::to_owned),
        applied: Vec::new(),
        api_calls: Vec::new(),
        source: Box::new(source),
    }
}

/// The spec that matches a fully observed key.
fn spec_of(live: &ObservedKey) -> Result<KmsKeySpec, String> {
    let mut b = KmsKeySpec::builder()
        .description(live.description.clone())
        .key_spec(live.key_spec)
        .key_usage(live.key_usage)
        .multi_region(live.multi_region)
        .is_enabled(live.enabled);
    if live.origin != Origin::AwsKms && live.custom_key_store_id.is_none() {
        b = b.origin(live.origin);
    }
    if let Some(id) = &live.custom_key_store_id {
        b = b.custom_key_store_id(id.clone());
    }
    if let Some(x) = &live.xks_key_id {
        b = b.xks_key_id(x.clone());
    }
    if let Some(policy) = &live.policy {
        // KMS answers the policy indented: the spec holds it compact, as a spec file would,
        // and so within KMS's size limit whenever the policy KMS accepted was.
        let compact = crate::policy::compact_text(policy.text())
            .ok_or_else(|| format!("the live key policy does not parse: {}", policy.text()))?;
        let parsed = KeyPolicy::parse(&compact)
            .map_err(|e| format!("the live key policy cannot be expressed in a spec: {e}"))?;
        // The lint refuses a policy no one could change; the live key has one, so say so.
        if parsed.locks_out_everyone() {
            b = b.bypass_policy_lockout_safety_check(true);
        }
        b = b.key_policy(parsed);
    }
    if let Some(rotation) = live.rotation
        && rotation.enabled
    {
        b = b.enable_key_rotation(true);
        if let Some(p) = rotation.period_in_days {
            b = b.rotation_period_in_days(i64::from(p));
        }
    }
    if let Some(tags) = &live.tags {
        b = b.tags(
            tags.iter()
                .filter(|(k, _)| !is_unmanaged_tag(k))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
    }
    b.build()
        .map_err(|e| format!("the live key cannot be expressed as a valid spec: {e}"))
}

/// What a name look-up found.
#[derive(Debug, Default)]
struct NameLookup {
    active: Vec<Found>,
    pending: Vec<Found>,
    unreadable: Vec<(String, ErrorKind)>,
}

impl NameLookup {
    /// The key a reconcile by name works on; `None` means "create it".
    fn resolve(
        self,
        name: &str,
        options: &ReconcileOptions,
    ) -> Result<Option<Found>, ReconcileError> {
        let ambiguous =
            |found: Vec<(KeyMetadata, BTreeMap<String, String>)>| ReconcileError::AmbiguousName {
                name: name.to_owned(),
                key_ids: found.into_iter().map(|(m, _)| m.key_id).collect(),
            };
        let NameLookup {
            mut active,
            mut pending,
            unreadable,
        } = self;
        match active.len() {
            0 => {}
            1 => return Ok(active.pop()),
            _ => return Err(ambiguous(active)),
        }
        if options.restore {
            match pending.len() {
                0 => {}
                1 => return Ok(pending.pop()),
                _ => return Err(ambiguous(pending)),
            }
        }
        // Absence must be proven before a create: a key we could not read may be this one.
        if !unreadable.is_empty() {
            return Err(ReconcileError::NameLookupIncomplete {
                name: name.to_owned(),
                unreadable,
            });
        }
        if !pending.is_empty() && !options.new_key_while_pending {
            return Err(ReconcileError::NamePendingDeletion {
                name: name.to_owned(),
                keys: pending
                    .into_iter()
                    .map(|(m, _)| PendingKey {
                        key_id: m.key_id,
                        deletion_date: crate::plan::fmt_date(m.deletion_date),
                    })
                    .collect(),
            });
        }
        Ok(None)
    }

    /// The key a destroy by name works on: the live one, else the one already pending deletion.
    fn for_destroy(self, name: &str) -> Result<Option<KeyMetadata>, ReconcileError> {
        let NameLookup {
            mut active,
            mut pending,
            unreadable,
        } = self;
        if active.len() > 1 {
            return Err(ReconcileError::AmbiguousName {
                name: name.to_owned(),
                key_ids: active.into_iter().map(|(m, _)| m.key_id).collect(),
            });
        }
        if let Some((m, _)) = active.pop() {
            return Ok(Some(m));
        }
        if let Some((m, _)) = pending.pop() {
            return Ok(Some(m));
        }
        if !unreadable.is_empty() {
            return Err(ReconcileError::NameLookupIncomplete {
                name: name.to_owned(),
                unreadable,
            });
        }
        Ok(None)
    }
}

fn plan_options(target: &Target, restore: bool) -> PlanOptions {
    PlanOptions {
        name: match target {
            Target::Name(n) => Some(n.clone()),
            Target::KeyId(_) => None,
        },
        restore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CreateKeyRequest;
    use crate::backend::memory::InMemoryBackend;
    use Operation::*;

    fn setup() -> (Arc<InMemoryBackend>, Reconciler) {
        let backend = Arc::new(InMemoryBackend::builder().list_keys_page_size(2).build());
        (backend.clone(), Reconciler::new(backend))
    }

    fn spec() -> KmsKeySpec {
        KmsKeySpec::builder()
            .description("d")
            .build()
            .expect("valid")
    }

    fn ops(calls: &[ApiCall]) -> Vec<Operation> {
        calls.iter().map(|c| c.operation).collect()
    }

    #[tokio::test]
    async fn index_reads_every_key_once_and_keeps_named_ones() {
        let (backend, r) = setup();
        let a = r.reconcile(&spec(), &Target::name("a")).await.unwrap();
        let b = r.reconcile(&spec(), &Target::name("b")).await.unwrap();
        backend.create_key(CreateKeyRequest::new()).await.unwrap();
        backend.clear_calls();

        let index = r.index_names(2).await.unwrap();
        // 3 keys, 2 per page: 2 ListKeys, 3 ListResourceTags, nothing else.
        assert_eq!(backend.count(ListKeys), 2);
        assert_eq!(backend.count(ListResourceTags), 3);
        assert_eq!(backend.calls().len(), 5);
        assert_eq!(
            ops(index.api_calls()),
            [
                ListKeys,
                ListResourceTags,
                ListResourceTags,
                ListKeys,
                ListResourceTags
            ]
        );
        assert_eq!((index.keys_scanned(), index.name_count()), (3, 2));
        let resolved = index.resolve("a");
        assert_eq!(resolved.name(), "a");
        assert_eq!(resolved.keys().len(), 1);
        assert_eq!(resolved.keys()[0].key_id, a.key_id);
        assert_eq!(
            resolved.keys()[0]
                .tags
                .get(OWNERSHIP_TAG_KEY)
                .map(String::as_str),
            Some("a")
        );
        assert_eq!(index.resolve("b").keys()[0].key_id, b.key_id);
        assert_eq!(index.resolve("c"), ResolvedName::absent("c"));
    }

    #[tokio::test]
    async fn resolved_reconcile_makes_no_look_up() {
        let (backend, r) = setup();
        let opts = ReconcileOptions::default();
        // Known absent: CreateKey alone, carrying the ownership tag.
        let created = r
            .reconcile_resolved(&spec(), &ResolvedName::absent("a"), &opts)
            .await
            .unwrap();
        assert!(created.created);
        assert_eq!(ops(&created.api_calls), [CreateKey]);
        let tags = backend
            .list_resource_tags(&created.key_id, None)
            .await
            .unwrap();
        assert_eq!(
            tags.tags,
            [crate::backend::Tag::new(OWNERSHIP_TAG_KEY, "a")]
        );

        let index = r.index_names(4).await.unwrap();
        backend.clear_calls();
        let again = r
            .reconcile_resolved(&spec(), &index.resolve("a"), &opts)
            .await
            .unwrap();
        assert_eq!(again.key_id, created.key_id);
        assert_eq!(ops(&again.api_calls), [DescribeKey, GetKeyRotationStatus]);
        assert_eq!(backend.calls().len(), 2);
        // Managed tags come from the index: no ListResourceTags either.
        let tagged = spec().to_builder().tag("env", "dev").build().unwrap();
        let out = r
            .reconcile_resolved(&tagged, &index.resolve("a"), &opts)
            .await
            .unwrap();
        assert_eq!(
            ops(&out.api_calls),
            [DescribeKey, GetKeyRotationStatus, TagResource]
        );
    }

    #[tokio::test]
    async fn resolved_name_on_two_live_keys_is_ambiguous_with_no_write() {
        let (backend, r) = setup();
        let opts = ReconcileOptions::default();
        let one = r.reconcile(&spec(), &Target::name("a")).await.unwrap();
        let mut request = CreateKeyRequest::new();
        request.tags = vec![crate::backend::Tag::new(OWNERSHIP_TAG_KEY, "a")];
        let two = backend.create_key(request).await.unwrap();
        let index = r.index_names(1).await.unwrap();
        backend.clear_calls();
        let err = r
            .reconcile_resolved(&spec(), &index.resolve("a"), &opts)
            .await
            .unwrap_err();
        match err {
            ReconcileError::AmbiguousName { name, key_ids } => {
                assert_eq!(name, "a");
                assert_eq!(key_ids, [one.key_id.clone(), two.key_id.clone()]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(backend.writes(), []);
        assert_eq!(backend.calls().len(), 2);

        // One of them pending deletion: the live one is the key; restoring does not change that.
        backend
            .schedule_key_deletion(&two.key_id, None)
            .await
            .unwrap();
        let out = r
            .reconcile_resolved(
                &spec(),
                &index.resolve("a"),
                &ReconcileOptions::restore(true),
            )
            .await
            .unwrap();
        assert_eq!(out.key_id, one.key_id);
        assert_eq!(out.writes(), []);
    }

    #[tokio::test]
    async fn resolved_key_pending_deletion_or_gone() {
        let (backend, r) = setup();
        let one = r.reconcile(&spec(), &Target::name("a")).await.unwrap();
        backend
            .schedule_key_deletion(&one.key_id, None)
            .await
            .unwrap();
        let resolved = r.index_names(1).await.unwrap().resolve("a");
        // Restoring: the one key carrying the name, pending deletion, is restored.
        backend.clear_calls();
        let restored = r
            .reconcile_resolved(&spec(), &resolved, &ReconcileOptions::restore(true))
            .await
            .unwrap();
        assert_eq!(restored.key_id, one.key_id);
        assert_eq!(restored.writes(), [CancelKeyDeletion, EnableKey]);

        // A key listed in the resolution but gone since is skipped.
        let stale = ResolvedName::new(
            "b",
            vec![NamedKey::new(
                "00000000-0000-0000-0000-000000000000",
                BTreeMap::new(),
            )],
        );
        let made = r
            .reconcile_resolved(&spec(), &stale, &ReconcileOptions::default())
            .await
            .unwrap();
        assert!(made.created);
        assert_eq!(ops(&made.api_calls), [DescribeKey, CreateKey]);
    }

    #[tokio::test]
    async fn index_failure_carries_its_calls() {
        let (backend, r) = setup();
        r.reconcile(&spec(), &Target::name("a")).await.unwrap();
        backend.fail_next(ListResourceTags, 1, ErrorKind::AccessDenied);
        // Unreadable tags: recorded, and a name on no readable key cannot be created then.
        let index = r.index_names(1).await.unwrap();
        assert_eq!(index.name_count(), 0);
        assert_eq!(index.unreadable().len(), 1);
        assert_eq!(index.unreadable()[0].1, ErrorKind::AccessDenied);
        backend.clear_calls();
        let err = r
            .reconcile_resolved(&spec(), &index.resolve("a"), &ReconcileOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ReconcileError::NameLookupIncomplete { .. }),
            "{err:?}"
        );
        assert_eq!(backend.writes(), []);
        backend.fail_next(ListResourceTags, 1, ErrorKind::Validation);
        let err = r.index_names(1).await.unwrap_err();
        assert_eq!(err.backend_kind(), Some(ErrorKind::Validation));
        match err {
            ReconcileError::Backend {
                operation,
                api_calls,
                ..
            } => {
                assert_eq!(operation, ListResourceTags);
                assert_eq!(ops(&api_calls), [ListKeys, ListResourceTags]);
            }
            other => panic!("{other:?}"),
        }
    }
}
