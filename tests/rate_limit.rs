//! Client-side rate limiting ([`RateLimited`]) against the in-memory backend enforcing KMS's
//! quotas, on Tokio's paused clock: every duration below is exact.

use std::sync::Arc;
use std::time::Duration;

use kms_key::backend::memory::{Call, InMemoryBackend};
use kms_key::backend::rate_limit::{Quotas, RateLimited};
use kms_key::backend::{CreateKeyRequest, ErrorKind, KmsBackend, Operation, Tag};
use tokio::task::JoinSet;
use tokio::time::Instant;

const LATENCY: Duration = Duration::from_millis(20);

fn enforcing() -> InMemoryBackend {
    InMemoryBackend::builder()
        .latency(LATENCY)
        .enforce_quotas(Quotas::kms_defaults())
        .build()
}

fn throttled(kms: &InMemoryBackend) -> usize {
    kms.calls()
        .iter()
        .filter(|c| c.outcome() == Err(ErrorKind::Throttled))
        .count()
}

/// `n` CreateKey calls started at once through `backend`, each in its own task.
async fn creates_at_once(backend: Arc<dyn KmsBackend>, n: usize) -> Vec<Result<(), ErrorKind>> {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let b = backend.clone();
        tasks.spawn(async move {
            b.create_key(CreateKeyRequest::new())
                .await
                .map(|_| ())
                .map_err(|e| e.kind())
        });
    }
    tasks.join_all().await
}

#[tokio::test(start_paused = true)]
async fn limited_creates_are_never_throttled_and_take_the_quota_bound() {
    const N: usize = 50;
    let kms = enforcing();
    let limited: Arc<dyn KmsBackend> = Arc::new(RateLimited::kms_defaults(kms.clone()));
    let t0 = Instant::now();
    let results = creates_at_once(limited, N).await;
    let elapsed = t0.elapsed();
    assert_eq!(results, vec![Ok(()); N]);
    assert_eq!(throttled(&kms), 0);
    assert_eq!(kms.count(Operation::CreateKey), N);
    assert_eq!(kms.key_count(), N);
    // One CreateKey every 210 ms (200 ms + 5 % headroom): the last leaves at 49 × 210 ms and
    // answers 20 ms later.
    assert_eq!(elapsed, Duration::from_millis(49 * 210 + 20));
    let bound = Duration::from_secs_f64(N as f64 / 5.0);
    assert!(
        elapsed.abs_diff(bound) <= bound / 10,
        "{elapsed:?} vs {bound:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_the_limiter_the_backend_throttles_what_exceeds_the_quota() {
    const N: usize = 50;
    let kms = enforcing();
    let results = creates_at_once(Arc::new(kms.clone()), N).await;
    // All arrive at the same instant: 5 fit in the second, 45 are refused and change nothing.
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| **r == Err(ErrorKind::Throttled))
        .count();
    assert_eq!((ok, refused), (5, 45));
    assert_eq!(throttled(&kms), 45);
    assert_eq!(kms.key_count(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_call_answers_rate_exceeded_after_the_latency() {
    let kms = InMemoryBackend::builder()
        .latency(LATENCY)
        .enforce_quotas(Quotas::unlimited().with(Operation::CreateKey, 1))
        .build();
    kms.create_key(CreateKeyRequest::new()).await.unwrap();
    let t0 = Instant::now();
    let err = kms.create_key(CreateKeyRequest::new()).await.unwrap_err();
    assert_eq!(t0.elapsed(), LATENCY);
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.message(), "Rate exceeded");
    assert_eq!(
        err.to_string(),
        "CreateKey: throttled (ThrottlingException): Rate exceeded"
    );
    assert_eq!(kms.key_count(), 1);
    assert_eq!(
        kms.calls()[1],
        Call::new(Operation::CreateKey, None, Err(ErrorKind::Throttled))
    );
    // The window slides: 999 ms after the first admission (at 0 ms) a request is still refused;
    // one that arrives 1 s after it or later passes.
    tokio::time::sleep(Duration::from_millis(999) - 2 * LATENCY).await;
    assert_eq!(
        kms.create_key(CreateKeyRequest::new())
            .await
            .map(|_| ())
            .map_err(|e| e.kind()),
        Err(ErrorKind::Throttled)
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
    kms.create_key(CreateKeyRequest::new()).await.unwrap();
    assert_eq!(kms.key_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn quotas_are_per_operation_and_can_be_switched_on_later() {
    let kms = InMemoryBackend::builder().latency(LATENCY).build();
    let id = kms
        .create_key(CreateKeyRequest::new())
        .await
        .unwrap()
        .key_id;
    kms.set_enforced_quotas(Some(Quotas::kms_defaults()));
    // Without headroom here, so the spacing is exactly the quota's.
    let limited = Arc::new(RateLimited::kms_defaults(kms.clone()).with_headroom_percent(0));
    // TagResource (10/s) and UntagResource (5/s) at once: each is spaced on its own quota.
    let t0 = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..10 {
        let (b, key) = (limited.clone(), id.clone());
        tasks.spawn(async move {
            b.tag_resource(&key, &[Tag::new(format!("k{i}"), "v")])
                .await
                .map_err(|e| e.kind())
        });
        if i < 5 {
            let (b, key) = (limited.clone(), id.clone());
            tasks.spawn(async move {
                b.untag_resource(&key, &[format!("gone{i}")])
                    .await
                    .map_err(|e| e.kind())
            });
        }
    }
    assert_eq!(tasks.join_all().await, vec![Ok(()); 15]);
    // TagResource: 9 × 100 ms; UntagResource: 4 × 200 ms; both + latency.
    assert_eq!(t0.elapsed(), Duration::from_millis(900 + 20));
    assert_eq!(throttled(&kms), 0);
    assert_eq!(kms.count(Operation::TagResource), 10);
    assert_eq!(kms.count(Operation::UntagResource), 5);
}

#[tokio::test(start_paused = true)]
async fn clones_of_the_limiter_share_one_budget() {
    let kms = enforcing();
    let a = RateLimited::kms_defaults(kms.clone());
    let b = a.clone();
    let t0 = Instant::now();
    let (x, y) = tokio::join!(
        a.create_key(CreateKeyRequest::new()),
        b.create_key(CreateKeyRequest::new())
    );
    x.unwrap();
    y.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_millis(210 + 20));
    assert_eq!(throttled(&kms), 0);
    // Raised quotas are kept as configured.
    let fast = RateLimited::new(
        kms.clone(),
        Quotas::kms_defaults().with(Operation::CreateKey, 50),
    );
    assert_eq!(fast.quotas().per_second(Operation::CreateKey), Some(50));
    assert_eq!(fast.inner().key_count(), 2);
}

mod fleet {
    use super::*;
    use kms_key::fleet::{Fleet, FleetEntry};
    use kms_key::{KmsKeySpec, Reconciler, RetryPolicy};

    fn entries(n: usize) -> Vec<FleetEntry> {
        (0..n)
            .map(|i| {
                FleetEntry::named(
                    format!("k{i}"),
                    KmsKeySpec::builder().description("d").build().unwrap(),
                )
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limited_fleet_creates_at_the_quota_without_a_throttle() {
        const N: usize = 50;
        let kms = enforcing();
        let fleet = Fleet::rate_limited(kms.clone()).concurrency(16);
        let report = fleet.apply(entries(N), |_| {}).await.unwrap();
        assert_eq!(report.succeeded(), N);
        assert_eq!(throttled(&kms), 0);
        assert!(
            report
                .results
                .iter()
                .all(|r| r.result.as_ref().unwrap().api_calls.len() == 1)
        );
        // ListKeys answers at 20 ms; CreateKey calls leave from then on every 210 ms; the last
        // answers 20 ms after it leaves: 20 + 49 × 210 + 20 ms.
        assert_eq!(report.elapsed, Duration::from_millis(20 + 49 * 210 + 20));
        let bound = Duration::from_secs_f64(N as f64 / 5.0);
        assert!(
            report.elapsed.abs_diff(bound) <= bound / 10,
            "{:?}",
            report.elapsed
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_the_limiter_a_fleet_is_throttled() {
        const N: usize = 50;
        let kms = enforcing();
        let fleet = Fleet::new(
            Reconciler::new(Arc::new(kms.clone())).with_retry_policy(RetryPolicy::never()),
        )
        .concurrency(16);
        let report = fleet.apply(entries(N), |_| {}).await.unwrap();
        // 16 creates arrive at 20 ms: 5 fit the second. The next 34 arrive within the same
        // second and are all refused.
        assert_eq!((report.succeeded(), report.failed()), (5, 45));
        assert!(
            report
                .failures()
                .all(|(_, e)| e.backend_kind() == Some(ErrorKind::Throttled))
        );
        assert_eq!(throttled(&kms), 45);
    }
}
