//! Fleet runs on the in-memory KMS: one result per key, isolated failures, bounded concurrency,
//! one name scan per run, duplicate targets refused before any call, progress events.
//! Timed tests run on Tokio's paused clock, so durations are exact.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::{
    BackendError, CreateKeyRequest, DeletionScheduled, ErrorKind, KeyMetadata, KeyPage, KmsBackend,
    Operation, RotationStatus, Tag, TagPage,
};
use kms_key::fleet::{Fleet, FleetEntry, FleetError, FleetEvent};
use kms_key::spec::OWNERSHIP_TAG_KEY;
use kms_key::{KmsKeySpec, ReconcileError, Reconciler, RetryPolicy, Target};

use Operation::*;

const LATENCY: Duration = Duration::from_millis(20);

/// A backend in front of the in-memory KMS that counts calls in flight and fails every call
/// about the keys it is told to: CreateKey by the ownership tag it carries, and the writes to
/// a key by its id.
#[derive(Debug)]
struct Probe {
    kms: InMemoryBackend,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    failing_names: Mutex<BTreeSet<String>>,
    failing_ids: Mutex<BTreeSet<String>>,
}

impl Probe {
    fn new(kms: InMemoryBackend) -> Arc<Self> {
        Arc::new(Self {
            kms,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            failing_names: Mutex::new(BTreeSet::new()),
            failing_ids: Mutex::new(BTreeSet::new()),
        })
    }

    fn fail_name(&self, name: &str) {
        self.failing_names.lock().unwrap().insert(name.to_owned());
    }

    fn fail_key(&self, key_id: &str) {
        self.failing_ids.lock().unwrap().insert(key_id.to_owned());
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    async fn track<T>(
        &self,
        op: Operation,
        key_id: Option<&str>,
        call: impl Future<Output = Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let refused =
            op.is_write() && key_id.is_some_and(|k| self.failing_ids.lock().unwrap().contains(k));
        let result = if refused {
            Err(BackendError::new(ErrorKind::AccessDenied, op, "injected"))
        } else {
            call.await
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[async_trait]
impl KmsBackend for Probe {
    async fn create_key(&self, request: CreateKeyRequest) -> Result<KeyMetadata, BackendError> {
        let refused = request.tags.iter().any(|t| {
            t.key == OWNERSHIP_TAG_KEY && self.failing_names.lock().unwrap().contains(&t.value)
        });
        self.track(CreateKey, None, async {
            if refused {
                Err(BackendError::new(
                    ErrorKind::AccessDenied,
                    CreateKey,
                    "injected",
                ))
            } else {
                self.kms.create_key(request).await
            }
        })
        .await
    }
    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata, BackendError> {
        self.track(DescribeKey, Some(key_id), self.kms.describe_key(key_id))
            .await
    }
    async fn get_key_policy(&self, key_id: &str) -> Result<String, BackendError> {
        self.track(GetKeyPolicy, Some(key_id), self.kms.get_key_policy(key_id))
            .await
    }
    async fn put_key_policy(&self, key_id: &str, p: &str, b: bool) -> Result<(), BackendError> {
        self.track(
            PutKeyPolicy,
            Some(key_id),
            self.kms.put_key_policy(key_id, p, b),
        )
        .await
    }
    async fn get_key_rotation_status(&self, key_id: &str) -> Result<RotationStatus, BackendError> {
        self.track(
            GetKeyRotationStatus,
            Some(key_id),
            self.kms.get_key_rotation_status(key_id),
        )
        .await
    }
    async fn enable_key_rotation(&self, key_id: &str, d: Option<i32>) -> Result<(), BackendError> {
        self.track(
            EnableKeyRotation,
            Some(key_id),
            self.kms.enable_key_rotation(key_id, d),
        )
        .await
    }
    async fn disable_key_rotation(&self, key_id: &str) -> Result<(), BackendError> {
        self.track(
            DisableKeyRotation,
            Some(key_id),
            self.kms.disable_key_rotation(key_id),
        )
        .await
    }
    async fn enable_key(&self, key_id: &str) -> Result<(), BackendError> {
        self.track(EnableKey, Some(key_id), self.kms.enable_key(key_id))
            .await
    }
    async fn disable_key(&self, key_id: &str) -> Result<(), BackendError> {
        self.track(DisableKey, Some(key_id), self.kms.disable_key(key_id))
            .await
    }
    async fn update_key_description(&self, key_id: &str, d: &str) -> Result<(), BackendError> {
        self.track(
            UpdateKeyDescription,
            Some(key_id),
            self.kms.update_key_description(key_id, d),
        )
        .await
    }
    async fn list_resource_tags(
        &self,
        key_id: &str,
        marker: Option<&str>,
    ) -> Result<TagPage, BackendError> {
        self.track(
            ListResourceTags,
            Some(key_id),
            self.kms.list_resource_tags(key_id, marker),
        )
        .await
    }
    async fn tag_resource(&self, key_id: &str, tags: &[Tag]) -> Result<(), BackendError> {
        self.track(
            TagResource,
            Some(key_id),
            self.kms.tag_resource(key_id, tags),
        )
        .await
    }
    async fn untag_resource(&self, key_id: &str, keys: &[String]) -> Result<(), BackendError> {
        self.track(
            UntagResource,
            Some(key_id),
            self.kms.untag_resource(key_id, keys),
        )
        .await
    }
    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        days: Option<i32>,
    ) -> Result<DeletionScheduled, BackendError> {
        self.track(
            ScheduleKeyDeletion,
            Some(key_id),
            self.kms.schedule_key_deletion(key_id, days),
        )
        .await
    }
    async fn cancel_key_deletion(&self, key_id: &str) -> Result<String, BackendError> {
        self.track(
            CancelKeyDeletion,
            Some(key_id),
            self.kms.cancel_key_deletion(key_id),
        )
        .await
    }
    async fn list_keys(&self, marker: Option<&str>) -> Result<KeyPage, BackendError> {
        self.track(ListKeys, None, self.kms.list_keys(marker)).await
    }
}

fn spec() -> KmsKeySpec {
    KmsKeySpec::builder()
        .description("fleet key")
        .tag("team", "platform")
        .build()
        .expect("valid")
}

fn named(n: usize) -> Vec<FleetEntry> {
    (0..n)
        .map(|i| FleetEntry::named(format!("k{i:04}"), spec()))
        .collect()
}

fn fleet_over(backend: Arc<dyn KmsBackend>) -> Fleet {
    Fleet::new(Reconciler::new(backend).with_retry_policy(RetryPolicy::never()))
}

#[tokio::test]
async fn every_entry_gets_its_result_in_input_order() {
    let kms = InMemoryBackend::new();
    let fleet = fleet_over(Arc::new(kms.clone())).concurrency(3);
    let report = fleet.apply(named(7), |_| {}).await.unwrap();
    assert_eq!(report.results.len(), 7);
    assert_eq!(report.succeeded(), 7);
    assert!(report.is_success());
    for (i, r) in report.results.iter().enumerate() {
        assert_eq!(r.target, Target::name(format!("k{i:04}")));
        let o = r.result.as_ref().unwrap();
        assert!(o.created);
        assert_eq!(o.writes(), [CreateKey]);
        assert_eq!(
            o.final_state.tags.as_ref().unwrap()[OWNERSHIP_TAG_KEY],
            format!("k{i:04}")
        );
    }
    // Creating 7 keys in an empty account: one ListKeys, then one CreateKey each.
    assert_eq!(kms.count(ListKeys), 1);
    assert_eq!(kms.count(CreateKey), 7);
    assert_eq!(kms.calls().len(), 8);
    assert_eq!(report.api_call_count(), 8);
    assert_eq!(kms.key_count(), 7);
}

#[tokio::test]
async fn one_keys_failure_never_stops_the_others() {
    let kms = InMemoryBackend::new();
    let probe = Probe::new(kms.clone());
    let fleet = fleet_over(probe.clone()).concurrency(4);
    // First run: k0002's CreateKey is refused.
    probe.fail_name("k0002");
    let report = fleet.apply(named(6), |_| {}).await.unwrap();
    assert_eq!((report.succeeded(), report.failed()), (5, 1));
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, &Target::name("k0002"));
    assert_eq!(failures[0].1.backend_kind(), Some(ErrorKind::AccessDenied));
    assert_eq!(kms.key_count(), 5);

    // Second run, with a change for every key: k0004's key refuses writes; k0002 is made.
    probe.failing_names.lock().unwrap().clear();
    let k4 = report.results[4].result.as_ref().unwrap().key_id.clone();
    probe.fail_key(&k4);
    let changed: Vec<FleetEntry> = (0..6)
        .map(|i| {
            FleetEntry::named(
                format!("k{i:04}"),
                spec().to_builder().description("changed").build().unwrap(),
            )
        })
        .collect();
    let report = fleet.apply(changed, |_| {}).await.unwrap();
    assert_eq!((report.succeeded(), report.failed()), (5, 1));
    let writes: Vec<Vec<Operation>> = report
        .results
        .iter()
        .map(|r| r.result.as_ref().map(|o| o.writes()).unwrap_or_default())
        .collect();
    assert_eq!(
        writes,
        [
            vec![UpdateKeyDescription],
            vec![UpdateKeyDescription],
            vec![CreateKey],
            vec![UpdateKeyDescription],
            vec![],
            vec![UpdateKeyDescription],
        ]
    );
    match &report.results[4].result {
        Err(ReconcileError::Backend {
            operation, key_id, ..
        }) => {
            assert_eq!(*operation, UpdateKeyDescription);
            assert_eq!(key_id.as_deref(), Some(k4.as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(kms.key_count(), 6);
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_and_used() {
    let kms = InMemoryBackend::builder().latency(LATENCY).build();
    let probe = Probe::new(kms.clone());
    let t0 = tokio::time::Instant::now();
    let report = fleet_over(probe.clone())
        .concurrency(8)
        .apply(named(40), |_| {})
        .await
        .unwrap();
    assert_eq!(report.succeeded(), 40);
    assert_eq!(probe.max_in_flight(), 8);
    // ListKeys, then 40 CreateKey calls 8 at a time: 1 + 5 round trips.
    assert_eq!(t0.elapsed(), LATENCY * 6);
    assert_eq!(report.elapsed, LATENCY * 6);

    let probe = Probe::new(InMemoryBackend::builder().latency(LATENCY).build());
    let t0 = tokio::time::Instant::now();
    fleet_over(probe.clone())
        .concurrency(1)
        .apply(named(10), |_| {})
        .await
        .unwrap();
    assert_eq!(probe.max_in_flight(), 1);
    assert_eq!(t0.elapsed(), LATENCY * 11);
}

#[tokio::test(start_paused = true)]
async fn the_name_scan_reads_tags_concurrently_too() {
    let kms = InMemoryBackend::builder().latency(LATENCY).build();
    let probe = Probe::new(kms.clone());
    let fleet = fleet_over(probe.clone()).concurrency(10);
    fleet.apply(named(30), |_| {}).await.unwrap();
    let t0 = tokio::time::Instant::now();
    let index = fleet.reconciler().index_names(10).await.unwrap();
    assert_eq!(index.keys_scanned(), 30);
    // One ListKeys page of 30, then 30 tag reads 10 at a time.
    assert_eq!(t0.elapsed(), LATENCY * 4);
    assert_eq!(probe.max_in_flight(), 10);
}

#[tokio::test]
async fn the_name_index_is_built_once_per_run() {
    const N: usize = 250;
    // Pages of 100 (KMS's default page) so that the scan pages.
    let kms = InMemoryBackend::builder().list_keys_page_size(100).build();
    let fleet = fleet_over(Arc::new(kms.clone())).concurrency(16);
    fleet.apply(named(N), |_| {}).await.unwrap();
    kms.clear_calls();

    let report = fleet.apply(named(N), |_| {}).await.unwrap();
    assert_eq!(report.succeeded(), N);
    assert!(
        report
            .results
            .iter()
            .all(|r| r.result.as_ref().unwrap().writes().is_empty())
    );
    // One scan: 3 ListKeys pages of 100 and one ListResourceTags per key; then per key one
    // DescribeKey and one GetKeyRotationStatus (tags come from the scan). 3N + 3 calls, where a
    // look-up per key would make N × (3 + N) for the look-ups alone.
    assert_eq!(kms.count(ListKeys), 3);
    assert_eq!(kms.count(ListResourceTags), N);
    assert_eq!(kms.count(DescribeKey), N);
    assert_eq!(kms.count(GetKeyRotationStatus), N);
    assert_eq!(kms.calls().len(), 3 * N + 3);
    assert_eq!(report.index_calls.len(), N + 3);
    assert_eq!(report.api_call_count(), 3 * N + 3);
}

#[tokio::test]
async fn entries_by_key_id_skip_the_scan() {
    let kms = InMemoryBackend::new();
    let a = kms
        .create_key(CreateKeyRequest::new())
        .await
        .unwrap()
        .key_id;
    let b = kms
        .create_key(CreateKeyRequest::new())
        .await
        .unwrap()
        .key_id;
    kms.clear_calls();
    let fleet = fleet_over(Arc::new(kms.clone()));
    let entries = vec![
        FleetEntry::new(Target::key_id(&a), spec()),
        FleetEntry::new(Target::key_id(&b), spec()),
    ];
    let report = fleet.apply(entries, |_| {}).await.unwrap();
    assert_eq!(report.succeeded(), 2);
    assert!(report.index_calls.is_empty());
    assert_eq!(kms.count(ListKeys), 0);
    // Per key: DescribeKey, GetKeyRotationStatus, ListResourceTags (tags are managed), then
    // UpdateKeyDescription and TagResource.
    assert_eq!(kms.calls().len(), 10);
    // A key id that does not exist fails alone.
    let report = fleet
        .apply(
            vec![
                FleetEntry::new(
                    Target::key_id("11111111-2222-3333-4444-555555555555"),
                    spec(),
                ),
                FleetEntry::new(Target::key_id(&a), spec()),
            ],
            |_| {},
        )
        .await
        .unwrap();
    assert!(matches!(
        report.results[0].result,
        Err(ReconcileError::NotFound { .. })
    ));
    assert!(report.results[1].result.is_ok());
}

#[tokio::test]
async fn a_malformed_target_fails_alone_and_costs_no_call() {
    let kms = InMemoryBackend::new();
    let fleet = fleet_over(Arc::new(kms.clone()));
    // Only malformed targets: no scan at all.
    let report = fleet
        .plan(
            vec![
                FleetEntry::named("a#b", spec()),
                FleetEntry::new(Target::key_id(""), spec()),
            ],
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(kms.calls(), []);
    assert!(report.index_calls.is_empty());
    let codes: Vec<Vec<kms_key::ErrorCode>> = report
        .results
        .iter()
        .map(|r| match &r.result {
            Err(ReconcileError::Invalid(e)) => e.codes(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [
            [kms_key::ErrorCode::InvalidName],
            [kms_key::ErrorCode::InvalidKeyId]
        ]
    );
    // Beside a well-formed name: that one is resolved and created, the other fails alone.
    let report = fleet
        .apply(
            vec![
                FleetEntry::named("a#b", spec()),
                FleetEntry::named("ok", spec()),
            ],
            |_| {},
        )
        .await
        .unwrap();
    assert!(matches!(
        report.results[0].result,
        Err(ReconcileError::Invalid(_))
    ));
    assert!(report.results[1].result.as_ref().unwrap().created);
    assert_eq!(kms.key_count(), 1);
}

#[tokio::test]
async fn two_entries_with_one_name_are_refused_before_any_call() {
    let kms = InMemoryBackend::new();
    let fleet = fleet_over(Arc::new(kms.clone()));
    let mut entries = named(3);
    entries.push(FleetEntry::named(
        "k0001",
        KmsKeySpec::builder().description("other").build().unwrap(),
    ));
    let err = fleet.apply(entries.clone(), |_| {}).await.unwrap_err();
    match &err {
        FleetError::DuplicateTarget {
            target,
            first,
            second,
        } => {
            assert_eq!(target, &Target::name("k0001"));
            assert_eq!((*first, *second), (1, 3));
        }
        other => panic!("{other:?}"),
    }
    let err = fleet.plan(entries, |_| {}).await.unwrap_err();
    assert!(matches!(err, FleetError::DuplicateTarget { .. }));
    assert_eq!(kms.calls(), []);
    assert_eq!(kms.key_count(), 0);
}

#[tokio::test]
async fn an_ambiguous_name_fails_that_key_only() {
    let kms = InMemoryBackend::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut r = CreateKeyRequest::new();
        r.tags = vec![Tag::new(OWNERSHIP_TAG_KEY, "k0001")];
        ids.push(kms.create_key(r).await.unwrap().key_id);
    }
    let fleet = fleet_over(Arc::new(kms.clone()));
    let report = fleet.apply(named(3), |_| {}).await.unwrap();
    assert_eq!((report.succeeded(), report.failed()), (2, 1));
    match &report.results[1].result {
        Err(ReconcileError::AmbiguousName { name, key_ids }) => {
            assert_eq!(name, "k0001");
            assert_eq!(key_ids, &ids);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(kms.key_count(), 4);
}

#[tokio::test]
async fn progress_is_reported_as_it_goes() {
    let kms = InMemoryBackend::new();
    let fleet = fleet_over(Arc::new(kms.clone())).concurrency(1);
    let mut log = Vec::new();
    fleet
        .apply(named(2), |e| {
            log.push(match e {
                FleetEvent::Indexed {
                    keys_scanned,
                    api_calls,
                } => format!("indexed {keys_scanned} keys in {api_calls} calls"),
                FleetEvent::Started { index, target } => format!("start {index} {target}"),
                FleetEvent::Finished {
                    index,
                    result,
                    done,
                    total,
                    ..
                } => format!(
                    "done {index} [{done}/{total}] {}",
                    result.map(|o| o.writes().len()).unwrap_or(99)
                ),
                _ => "other".to_owned(),
            });
        })
        .await
        .unwrap();
    assert_eq!(
        log,
        [
            "indexed 0 keys in 1 calls",
            "start 0 key named \"k0000\"",
            "done 0 [1/2] 1",
            "start 1 key named \"k0001\"",
            "done 1 [2/2] 1",
        ]
    );
}

#[tokio::test]
async fn plan_writes_nothing() {
    let kms = InMemoryBackend::new();
    let fleet = fleet_over(Arc::new(kms.clone()));
    fleet.apply(named(2), |_| {}).await.unwrap();
    kms.clear_calls();
    let mut entries = named(3);
    entries[0].spec = spec().to_builder().is_enabled(false).build().unwrap();
    let report = fleet.plan(entries, |_| {}).await.unwrap();
    let ops: Vec<Vec<Operation>> = report
        .results
        .iter()
        .map(|r| r.result.as_ref().unwrap().plan().operations())
        .collect();
    assert_eq!(ops, [vec![DisableKey], vec![], vec![CreateKey]]);
    assert_eq!(kms.writes(), []);
    assert_eq!(report.api_call_count(), kms.calls().len());
}

#[tokio::test]
async fn a_failed_name_scan_stops_the_run_before_any_write() {
    let kms = InMemoryBackend::new();
    let fleet = fleet_over(Arc::new(kms.clone()));
    kms.fail_next(ListKeys, 1, ErrorKind::Internal);
    let err = fleet.apply(named(3), |_| {}).await.unwrap_err();
    match &err {
        FleetError::Index(e) => assert_eq!(e.backend_kind(), Some(ErrorKind::Internal)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "resolving the fleet's logical names failed; nothing was written: ListKeys failed: KMS internal error (KMSInternalException): KMS internal error"
    );
    assert_eq!(kms.calls().len(), 1);
    assert_eq!(kms.writes(), []);
}
