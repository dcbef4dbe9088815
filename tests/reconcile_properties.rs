//! Property tests of the engine on the in-memory KMS: convergence, fault tolerance without
//! second keys or deletions, and crash safety at every call index.

use std::sync::Arc;

use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::{CreateKeyRequest, ErrorKind, KmsBackend, Operation, Tag};
use kms_key::policy::KeyPolicy;
use kms_key::spec::{KeySpec, KeyUsage};
use kms_key::{KmsKeySpec, PlanError, ReconcileError, Reconciler, Target};
use proptest::prelude::*;

const POLICIES: [&str; 2] = [
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":["kms:*"],"Resource":"*"},{"Sid":"Use","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}"#,
];

/// The mutable facets of a key, and the immutable pair it is made with.
#[derive(Debug, Clone)]
struct Facets {
    pair: (KeySpec, KeyUsage),
    description: Option<String>,
    policy: Option<usize>,
    tags: Option<Vec<(String, String)>>,
    enabled: bool,
    rotation: bool,
    period: Option<u16>,
    multi_region: bool,
}

/// Every spec/usage pair AWS allows outside the China Regions, symmetric keys weighted up (only
/// they rotate), and whether the key is multi-Region.
fn pair() -> impl Strategy<Value = (KeySpec, KeyUsage, bool)> {
    let mut pairs: Vec<(KeySpec, KeyUsage)> = KeySpec::ALL
        .iter()
        .filter(|s| **s != KeySpec::Sm2)
        .flat_map(|s| s.allowed_usages().iter().map(move |u| (*s, *u)))
        .collect();
    pairs.extend([(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt); 8]);
    (proptest::sample::select(pairs), any::<bool>()).prop_map(|((s, u), mr)| (s, u, mr))
}

fn facets((spec, usage, multi_region): (KeySpec, KeyUsage, bool)) -> impl Strategy<Value = Facets> {
    let pair = (spec, usage);
    let tags = proptest::option::of(proptest::collection::vec(
        ("[a-c]{1,2}", "[x-z]{0,2}"),
        0..4,
    ));
    (
        proptest::option::of("[a-z ]{0,12}"),
        proptest::option::of(0usize..2),
        tags,
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(proptest::sample::select(vec![90u16, 365, 400])),
    )
        .prop_map(
            move |(description, policy, tags, enabled, rotation, period)| {
                let rotation = rotation && pair.0 == KeySpec::SymmetricDefault;
                Facets {
                    pair,
                    description,
                    policy,
                    tags,
                    enabled,
                    rotation,
                    period: if rotation { period } else { None },
                    multi_region,
                }
            },
        )
}

fn live_and_desired() -> impl Strategy<Value = (Facets, Facets)> {
    pair().prop_flat_map(|p| (facets(p), facets(p)))
}

impl Facets {
    fn spec(&self) -> KmsKeySpec {
        let mut b = KmsKeySpec::builder()
            .key_spec(self.pair.0)
            .key_usage(self.pair.1)
            .multi_region(self.multi_region)
            .is_enabled(self.enabled)
            .enable_key_rotation(self.rotation);
        if let Some(d) = &self.description {
            b = b.description(d.clone());
        }
        if let Some(p) = self.policy {
            b = b.policy(POLICIES[p]);
        }
        if let Some(t) = &self.tags {
            b = b.tags(t.clone());
        }
        if let Some(p) = self.period {
            b = b.rotation_period_in_days(i64::from(p));
        }
        b.build().expect("generated specs are valid")
    }

    async fn create_live(&self, backend: &InMemoryBackend) -> String {
        let mut req = CreateKeyRequest::new();
        req.key_spec = Some(self.pair.0);
        req.key_usage = Some(self.pair.1);
        req.multi_region = self.multi_region;
        req.description = self.description.clone();
        req.policy = self.policy.map(|p| POLICIES[p].to_owned());
        let unique: std::collections::BTreeMap<_, _> =
            self.tags.iter().flatten().cloned().collect();
        req.tags = unique.iter().map(|(k, v)| Tag::new(k, v)).collect();
        let id = backend.create_key(req).await.unwrap().key_id;
        if self.rotation {
            backend
                .enable_key_rotation(&id, self.period.map(i32::from))
                .await
                .unwrap();
        }
        if !self.enabled {
            backend.disable_key(&id).await.unwrap();
        }
        backend.clear_calls();
        id
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (1) One reconcile converges (the next plan is empty) and a second makes zero writes —
    /// or the plan is refused before any write because rotation would change on a key that
    /// stays disabled.
    #[test]
    fn one_reconcile_converges((live, desired) in live_and_desired()) {
        runtime().block_on(async {
            let backend = Arc::new(InMemoryBackend::new());
            let r = Reconciler::new(backend.clone());
            let id = live.create_live(&backend).await;
            let spec = desired.spec();
            match r.reconcile(&spec, &Target::key_id(&id)).await {
                Ok(out) => {
                    let again = r.plan(&spec, &Target::key_id(&id)).await.unwrap();
                    prop_assert!(again.plan().is_empty(), "not converged: {}", again.plan());
                    let second = r.reconcile(&spec, &Target::key_id(&id)).await.unwrap();
                    prop_assert_eq!(second.writes(), vec![]);
                    // The final state derived from the plan and the write answers agrees with a
                    // fresh observation, facet by facet.
                    let seen = again.observed().expect("the key exists");
                    let derived = &out.final_state;
                    prop_assert_eq!(derived.state, seen.state);
                    prop_assert_eq!(derived.enabled, desired.enabled);
                    prop_assert_eq!(derived.enabled, seen.enabled);
                    prop_assert_eq!(&derived.description, &seen.description);
                    prop_assert_eq!(
                        derived.rotation.map(|r| r.enabled),
                        seen.rotation.map(|r| r.enabled)
                    );
                    if desired.period.is_some() {
                        prop_assert_eq!(
                            derived.rotation.and_then(|r| r.period_in_days),
                            seen.rotation.and_then(|r| r.period_in_days)
                        );
                    }
                    if desired.tags.is_some() {
                        prop_assert_eq!(&derived.tags, &seen.tags);
                    }
                    if let Some(p) = desired.policy {
                        let desired_policy = KeyPolicy::parse(POLICIES[p]).unwrap();
                        prop_assert!(derived.policy.as_ref().is_some_and(|d| d.matches(&desired_policy)));
                        prop_assert!(seen.policy.as_ref().is_some_and(|d| d.matches(&desired_policy)));
                    }
                }
                Err(ReconcileError::Plan(PlanError::RotationOnDisabledKey { .. })) => {
                    let live_period = live.period.unwrap_or(365);
                    let period_differs = desired.rotation && live.rotation && desired.period.is_some_and(|p| p != live_period);
                    prop_assert!(!live.enabled && !desired.enabled && (live.rotation != desired.rotation || period_differs));
                    prop_assert_eq!(backend.writes(), vec![]);
                }
                Err(e) => prop_assert!(false, "unexpected error: {e}"),
            }
            Ok(())
        })?;
    }

    /// (2) With random transient faults injected: converges or returns a typed error; never two
    /// keys, never a scheduled deletion.
    #[test]
    fn transient_faults_never_make_two_keys_or_delete(
        desired in pair().prop_flat_map(facets),
        faults in proptest::collection::vec((0usize..6, 1usize..4, 0usize..4), 0..6),
    ) {
        runtime().block_on(async {
            let backend = Arc::new(InMemoryBackend::new());
            let r = Reconciler::new(backend.clone());
            let ops = [Operation::ListKeys, Operation::CreateKey, Operation::EnableKeyRotation, Operation::DisableKey, Operation::DescribeKey, Operation::ListResourceTags];
            let kinds = [ErrorKind::Internal, ErrorKind::Throttled, ErrorKind::Transport, ErrorKind::DependencyTimeout];
            for (op, n, kind) in faults {
                backend.fail_nth(ops[op], n, kinds[kind]);
            }
            let spec = desired.spec();
            for _ in 0..3 {
                match r.reconcile(&spec, &Target::name("k")).await {
                    Ok(_) | Err(ReconcileError::Backend { .. }) => {}
                    Err(e) => prop_assert!(false, "untyped failure: {e}"),
                }
                prop_assert!(backend.key_count() <= 1);
                prop_assert!(!backend.writes().contains(&Operation::ScheduleKeyDeletion));
            }
            backend.clear_faults();
            r.reconcile(&spec, &Target::name("k")).await.unwrap();
            prop_assert_eq!(backend.key_count(), 1);
            prop_assert!(r.plan(&spec, &Target::name("k")).await.unwrap().plan().is_empty());
            Ok(())
        })?;
    }

    /// (2b) The same on the update path: faults on every read and write an update of an
    /// existing key can make. Converges or returns a typed error; the key is never deleted or
    /// replaced.
    #[test]
    fn transient_faults_on_updates_never_replace_or_delete(
        (live, desired) in live_and_desired(),
        faults in proptest::collection::vec((0usize..12, 1usize..4, 0usize..4), 0..8),
    ) {
        runtime().block_on(async {
            let backend = Arc::new(InMemoryBackend::new());
            let r = Reconciler::new(backend.clone());
            let id = live.create_live(&backend).await;
            let ops = [
                Operation::DescribeKey, Operation::GetKeyPolicy, Operation::GetKeyRotationStatus,
                Operation::ListResourceTags, Operation::PutKeyPolicy, Operation::EnableKey,
                Operation::UpdateKeyDescription, Operation::UntagResource, Operation::TagResource,
                Operation::EnableKeyRotation, Operation::DisableKeyRotation, Operation::DisableKey,
            ];
            let kinds = [ErrorKind::Internal, ErrorKind::Throttled, ErrorKind::Transport, ErrorKind::DependencyTimeout];
            for (op, n, kind) in faults {
                backend.fail_nth(ops[op], n, kinds[kind]);
            }
            let spec = desired.spec();
            for _ in 0..3 {
                match r.reconcile(&spec, &Target::key_id(&id)).await {
                    Ok(_)
                    | Err(ReconcileError::Backend { .. })
                    | Err(ReconcileError::Plan(PlanError::RotationOnDisabledKey { .. })) => {}
                    Err(e) => prop_assert!(false, "untyped failure: {e}"),
                }
                prop_assert_eq!(backend.key_count(), 1);
                prop_assert!(!backend.writes().contains(&Operation::CreateKey));
                prop_assert!(!backend.writes().contains(&Operation::ScheduleKeyDeletion));
            }
            backend.clear_faults();
            match r.reconcile(&spec, &Target::key_id(&id)).await {
                Ok(_) => {
                    prop_assert!(r.plan(&spec, &Target::key_id(&id)).await.unwrap().plan().is_empty());
                }
                Err(ReconcileError::Plan(PlanError::RotationOnDisabledKey { .. })) => {}
                Err(e) => prop_assert!(false, "after the faults: {e}"),
            }
            Ok(())
        })?;
    }

    /// (3) Interrupt a create-and-configure after each call index k in turn and re-run:
    /// exactly one key, converged.
    #[test]
    fn interrupted_create_reruns_to_one_key(desired in pair().prop_flat_map(facets)) {
        runtime().block_on(async {
            let spec = desired.spec();
            // How many calls a clean run makes.
            let clean = Arc::new(InMemoryBackend::new());
            Reconciler::new(clean.clone()).reconcile(&spec, &Target::name("k")).await.unwrap();
            let total = clean.calls().len();
            for k in 0..total {
                let backend = Arc::new(InMemoryBackend::new());
                let r = Reconciler::new(backend.clone());
                backend.fail_after(k, ErrorKind::AccessDenied);
                let _ = r.reconcile(&spec, &Target::name("k")).await;
                backend.clear_faults();
                r.reconcile(&spec, &Target::name("k")).await.unwrap();
                prop_assert_eq!(backend.key_count(), 1, "k={}", k);
                prop_assert!(r.plan(&spec, &Target::name("k")).await.unwrap().plan().is_empty(), "k={}", k);
            }
            Ok(())
        })?;
    }
}
