//! [`Fleet`]: many keys reconciled (or planned) in one run, with bounded concurrency.
//!
//! Each entry gets its own result, and one key's failure never stops the others. Entries that
//! target a logical name are resolved by one scan of the account
//! ([`Reconciler::index_names`]) before any key is touched, so N named keys cost one scan, not
//! N; each is then reconciled against the keys the scan found for its name
//! ([`Reconciler::reconcile_resolved`]). Entries that target a key id are reconciled as
//! [`Reconciler::reconcile_with`] does.
//!
//! Progress is reported as it happens, to a callback ([`FleetEvent`]) and to `tracing` (a
//! `fleet` span, an event per finished key).
//!
//! # Request quotas
//! A fleet sends many calls at once, and KMS allows few writes per second (CreateKey 5/s). Give
//! it a backend wrapped in [`RateLimited`] — [`Fleet::rate_limited`] does — so the calls stay
//! under the quotas instead of being throttled and retried. Share one wrapper between every
//! fleet or reconciler that uses the same account and Region.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kms_key::backend::memory::InMemoryBackend;
//! use kms_key::fleet::{Fleet, FleetEntry, FleetEvent};
//! use kms_key::KmsKeySpec;
//!
//! let fleet = Fleet::rate_limited(InMemoryBackend::new()).concurrency(8);
//! let entries = vec![
//!     FleetEntry::named("logs", KmsKeySpec::builder().enable_key_rotation(true).build()?),
//!     FleetEntry::named("tokens", KmsKeySpec::builder().description("tokens").build()?),
//! ];
//! let report = fleet
//!     .apply(entries, |event| {
//!         if let FleetEvent::Finished { target, done, total, .. } = event {
//!             println!("[{done}/{total}] {target}");
//!         }
//!     })
//!     .await?;
//! assert_eq!(report.succeeded(), 2);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tracing::Instrument;

use crate::backend::KmsBackend;
use crate::backend::rate_limit::RateLimited;
use crate::reconcile::{ApiCall, Planned, ResolvedName, join_failed};
use crate::spec::KmsKeySpec;
use crate::{Outcome, ReconcileError, ReconcileOptions, Reconciler, Target};

/// One key of a fleet: the key it is about and the spec it should match.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FleetEntry {
    /// The key.
    pub target: Target,
    /// What it should be.
    pub spec: KmsKeySpec,
}

impl FleetEntry {
    /// An entry for `target`.
    pub fn new(target: Target, spec: KmsKeySpec) -> Self {
        Self { target, spec }
    }

    /// An entry for the key named `name` (created when there is none).
    pub fn named(name: impl Into<String>, spec: KmsKeySpec) -> Self {
        Self::new(Target::name(name), spec)
    }
}

/// Progress of a fleet run, in the order it happens.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetEvent<'a, T> {
    /// The names were resolved (only when some entry targets a name).
    Indexed {
        /// Keys the scan listed.
        keys_scanned: usize,
        /// Calls the scan made.
        api_calls: usize,
    },
    /// Work on an entry started.
    Started {
        /// The entry's position in the input.
        index: usize,
        /// Its target.
        target: &'a Target,
    },
    /// An entry finished, well or not.
    Finished {
        /// The entry's position in the input.
        index: usize,
        /// Its target.
        target: &'a Target,
        /// What came of it.
        result: Result<&'a T, &'a ReconcileError>,
        /// Entries finished so far, this one included.
        done: usize,
        /// Entries in the run.
        total: usize,
    },
}

/// What came of one entry.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetResult<T> {
    /// The entry's target.
    pub target: Target,
    /// Its outcome (apply) or plan (plan), or why it failed.
    pub result: Result<T, ReconcileError>,
}

/// What a fleet run did: one result per entry, in input order.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetReport<T> {
    /// One result per entry, in the order of the entries.
    pub results: Vec<FleetResult<T>>,
    /// The calls the name scan made (empty when no entry targets a name).
    pub index_calls: Vec<ApiCall>,
    /// How long the run took (Tokio's clock).
    pub elapsed: Duration,
}

impl<T> FleetReport<T> {
    /// Entries that succeeded.
    pub fn succeeded(&self) -> usize {
        self.results.iter().filter(|r| r.result.is_ok()).count()
    }

    /// Entries that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.succeeded()
    }

    /// Whether every entry succeeded.
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }

    /// The failed entries with their errors, in input order.
    pub fn failures(&self) -> impl Iterator<Item = (&Target, &ReconcileError)> {
        self.results
            .iter()
            .filter_map(|r| r.result.as_ref().err().map(|e| (&r.target, e)))
    }
}

impl FleetReport<Outcome> {
    /// Every call attempt of the run: the scan's and each entry's (failed entries included).
    pub fn api_call_count(&self) -> usize {
        self.index_calls.len()
            + self
                .results
                .iter()
                .map(|r| match &r.result {
                    Ok(o) => o.api_calls.len(),
                    Err(e) => error_calls(e),
                })
                .sum::<usize>()
    }
}

impl FleetReport<Planned> {
    /// Every call attempt of the run: the scan's and each entry's (failed entries included).
    pub fn api_call_count(&self) -> usize {
        self.index_calls.len()
            + self
                .results
                .iter()
                .map(|r| match &r.result {
                    Ok(p) => p.api_calls.len(),
                    Err(e) => error_calls(e),
                })
                .sum::<usize>()
    }
}

fn error_calls(e: &ReconcileError) -> usize {
    match e {
        ReconcileError::Backend { api_calls, .. } => api_calls.len(),
        _ => 0,
    }
}

/// Why a fleet run could not start. Per-entry failures are not errors of the run: they are in
/// the [`FleetReport`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// Two entries target the same key: one run cannot make one key match two specs, and two
    /// entries creating one name at once could make two keys. Refused before any call.
    #[error(
        "entries {first} and {second} both target {target}: each key may appear once in a fleet; merge the two entries or rename one"
    )]
    DuplicateTarget {
        /// The target.
        target: Target,
        /// The first entry's position.
        first: usize,
        /// The second entry's position.
        second: usize,
    },
    /// The scan that resolves logical names failed. Nothing was written.
    #[error("resolving the fleet's logical names failed; nothing was written: {0}")]
    Index(#[source] Box<ReconcileError>),
}

/// Reconciles or plans many keys at once; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Fleet {
    reconciler: Reconciler,
    concurrency: usize,
    options: ReconcileOptions,
}

/// How one entry's key is identified once names are resolved.
enum Identity {
    Target(Target),
    Resolved(ResolvedName),
}

impl Fleet {
    /// Entries worked on at once unless set: enough to keep KMS's write quotas (5–15/s) busy
    /// at usual latencies, few enough not to flood reads.
    pub const DEFAULT_CONCURRENCY: usize = 16;

    /// A fleet using `reconciler` (its backend and retry policy) as it is. Wrap the backend in
    /// [`RateLimited`] first to keep under KMS's quotas, or use [`Fleet::rate_limited`].
    pub fn new(reconciler: Reconciler) -> Self {
        Self {
            reconciler,
            concurrency: Self::DEFAULT_CONCURRENCY,
            options: ReconcileOptions::default(),
        }
    }

    /// A fleet over `backend` wrapped in [`RateLimited`] with KMS's published quotas, and the
    /// default retry policy.
    pub fn rate_limited(backend: impl KmsBackend + 'static) -> Self {
        Self::new(Reconciler::new(Arc::new(RateLimited::kms_defaults(
            backend,
        ))))
    }

    /// The same fleet working on up to `concurrency` entries at once (at least 1). The name
    /// scan reads up to that many keys' tags at once too.
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The same fleet with `options` for every entry (such as restoring keys pending deletion).
    #[must_use]
    pub fn options(mut self, options: ReconcileOptions) -> Self {
        self.options = options;
        self
    }

    /// The reconciler each entry goes through.
    pub fn reconciler(&self) -> &Reconciler {
        &self.reconciler
    }

    /// Entries worked on at once.
    pub fn max_concurrency(&self) -> usize {
        self.concurrency
    }

    /// Makes every entry's key match its spec, calling `progress` as the run goes.
    ///
    /// # Errors
    /// [`FleetError::DuplicateTarget`] before any call; [`FleetError::Index`] when the name scan
    /// fails, before any write. Failures of single entries are in the report.
    pub async fn apply(
        &self,
        entries: Vec<FleetEntry>,
        progress: impl FnMut(FleetEvent<'_, Outcome>),
    ) -> Result<FleetReport<Outcome>, FleetError> {
        self.run(
            "apply",
            entries,
            progress,
            |r, spec, identity, options| async move {
                match identity {
                    Identity::Target(t) => r.reconcile_with(&spec, &t, &options).await,
                    Identity::Resolved(n) => r.reconcile_resolved(&spec, &n, &options).await,
                }
            },
        )
        .await
    }

    /// Plans every entry without writing, calling `progress` as the run goes.
    ///
    /// # Errors
    /// As [`apply`](Self::apply).
    pub async fn plan(
        &self,
        entries: Vec<FleetEntry>,
        progress: impl FnMut(FleetEvent<'_, Planned>),
    ) -> Result<FleetReport<Planned>, FleetError> {
        self.run(
            "plan",
            entries,
            progress,
            |r, spec, identity, options| async move {
                match identity {
                    Identity::Target(t) => r.plan_with(&spec, &t, &options).await,
                    Identity::Resolved(n) => r.plan_resolved(&spec, &n, &options).await,
                }
            },
        )
        .await
    }

    async fn run<T, F, Fut>(
        &self,
        verb: &'static str,
        entries: Vec<FleetEntry>,
        mut progress: impl FnMut(FleetEvent<'_, T>),
        work: F,
    ) -> Result<FleetReport<T>, FleetError>
    where
        T: Send + 'static,
        F: Fn(Reconciler, KmsKeySpec, Identity, ReconcileOptions) -> Fut,
        Fut: Future<Output = Result<T, ReconcileError>> + Send + 'static,
    {
        check_duplicates(&entries)?;
        let started = tokio::time::Instant::now();
        let total = entries.len();
        let span = tracing::info_span!("fleet", verb, keys = total);
        // A malformed target fails on its own, before any call; only well-formed names need
        // the scan (and none at all when there are none).
        let resolvable = |t: &Target| matches!(t, Target::Name(_)) && t.validate().is_ok();
        let named = entries.iter().any(|e| resolvable(&e.target));
        let index = if named {
            let index = self
                .reconciler
                .index_names(self.concurrency)
                .instrument(span.clone())
                .await
                .map_err(|e| FleetError::Index(Box::new(e)))?;
            progress(FleetEvent::Indexed {
                keys_scanned: index.keys_scanned(),
                api_calls: index.api_calls().len(),
            });
            Some(index)
        } else {
            None
        };

        let options = self.options.clone();
        let reconciler = self.reconciler.clone();
        let items: Vec<(Target, (KmsKeySpec, Identity))> = entries
            .into_iter()
            .map(|entry| {
                let identity = match (&entry.target, &index) {
                    (Target::Name(n), Some(index)) if resolvable(&entry.target) => {
                        Identity::Resolved(index.resolve(n))
                    }
                    (t, _) => Identity::Target(t.clone()),
                };
                (entry.target, (entry.spec, identity))
            })
            .collect();
        let index_calls = index.map(|i| i.api_calls().to_vec()).unwrap_or_default();
        let report = self
            .drive(
                span,
                started,
                items,
                index_calls,
                progress,
                |(spec, identity)| work(reconciler.clone(), spec, identity, options.clone()),
            )
            .await;
        Ok(report)
    }

    /// Applies plans made by [`plan`](Self::plan) in this same run, with bounded concurrency:
    /// the way to refuse a whole run before any write when one key's plan is refused (plan
    /// everything, check, then apply). The plans are trusted as they are (no second name scan):
    /// apply them right after planning, with nothing else creating keys under these names.
    pub async fn apply_plans(
        &self,
        plans: Vec<Planned>,
        progress: impl FnMut(FleetEvent<'_, Outcome>),
    ) -> FleetReport<Outcome> {
        let started = tokio::time::Instant::now();
        let span = tracing::info_span!("fleet", verb = "apply", keys = plans.len());
        let reconciler = self.reconciler.clone();
        let items = plans
            .into_iter()
            .map(|mut p| {
                p.fresh = true;
                (p.target.clone(), p)
            })
            .collect();
        self.drive(span, started, items, Vec::new(), progress, |planned| {
            let r = reconciler.clone();
            async move { r.apply(planned).await }
        })
        .await
    }

    /// Runs `work` for every item with at most `concurrency` in flight, reporting progress as
    /// items finish, and collects the results in input order.
    async fn drive<I, T, F, Fut>(
        &self,
        span: tracing::Span,
        started: tokio::time::Instant,
        items: Vec<(Target, I)>,
        index_calls: Vec<ApiCall>,
        mut progress: impl FnMut(FleetEvent<'_, T>),
        work: F,
    ) -> FleetReport<T>
    where
        T: Send + 'static,
        F: Fn(I) -> Fut,
        Fut: Future<Output = Result<T, ReconcileError>> + Send + 'static,
    {
        let total = items.len();
        let targets: Vec<Target> = items.iter().map(|(t, _)| t.clone()).collect();
        let mut results: Vec<Option<Result<T, ReconcileError>>> =
            (0..total).map(|_| None).collect();
        let mut pending = items.into_iter().enumerate();
        let mut tasks = JoinSet::new();
        let mut done = 0;
        loop {
            while tasks.len() < self.concurrency {
                let Some((i, (_, item))) = pending.next() else {
                    break;
                };
                progress(FleetEvent::Started {
                    index: i,
                    target: &targets[i],
                });
                let key_span = tracing::info_span!(parent: &span, "fleet_key", index = i, target = %targets[i]);
                let fut = work(item);
                tasks.spawn(async move { (i, fut.await) }.instrument(key_span));
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let (i, result) = joined.unwrap_or_else(|e| join_failed(e));
            done += 1;
            span.in_scope(|| match &result {
                Ok(_) => tracing::info!(index = i, target = %targets[i], done, total, "key done"),
                Err(e) => {
                    tracing::warn!(index = i, target = %targets[i], done, total, error = %e, "key failed");
                }
            });
            let slot = results[i].insert(result);
            progress(FleetEvent::Finished {
                index: i,
                target: &targets[i],
                result: slot.as_ref(),
                done,
                total,
            });
        }
        let results: Vec<FleetResult<T>> = targets
            .into_iter()
            .zip(results)
            .map(|(target, result)| FleetResult {
                target,
                result: result.expect("every entry ran"),
            })
            .collect();
        let report = FleetReport {
            index_calls,
            results,
            elapsed: started.elapsed(),
        };
        span.in_scope(|| {
            tracing::info!(
                succeeded = report.succeeded(),
                failed = report.failed(),
                elapsed = ?report.elapsed,
                "fleet run finished"
            );
        });
        report
    }
}

/// Refuses two entries with one target (see [`FleetError::DuplicateTarget`]).
fn check_duplicates(entries: &[FleetEntry]) -> Result<(), FleetError> {
    let mut seen: HashMap<&Target, usize> = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if let Some(first) = seen.insert(&e.target, i) {
            return Err(FleetError::DuplicateTarget {
                target: e.target.clone(),
                first,
                second: i,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> KmsKeySpec {
        KmsKeySpec::builder().build().expect("valid")
    }

    #[test]
    fn duplicate_targets_name_both_positions() {
        let entries = vec![
            FleetEntry::named("a", spec()),
            FleetEntry::new(Target::key_id("a"), spec()),
            FleetEntry::named("b", spec()),
            FleetEntry::named("a", spec()),
        ];
        let err = check_duplicates(&entries).unwrap_err();
        assert_eq!(
            err.to_string(),
            "entries 0 and 3 both target key named \"a\": each key may appear once in a fleet; merge the two entries or rename one"
        );
        assert!(check_duplicates(&entries[..3]).is_ok());
    }

    #[test]
    fn concurrency_is_at_least_one() {
        let fleet = Fleet::rate_limited(crate::backend::memory::InMemoryBackend::new());
        assert_eq!(fleet.max_concurrency(), Fleet::DEFAULT_CONCURRENCY);
        assert_eq!(fleet.concurrency(0).max_concurrency(), 1);
    }
}
