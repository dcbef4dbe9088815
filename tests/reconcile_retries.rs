//! Which errors the engine retries, how often and for how long: each class of retry with its
//! budget, and the errors that are never retried. Exact ordered write lists throughout.

use std::sync::Arc;
use std::time::Duration;

use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::{CreateKeyRequest, ErrorKind, KmsBackend, Operation};
use kms_key::{Budget, KmsKeySpec, ReconcileError, Reconciler, RetryPolicy, Target};

use Operation::*;

const P_ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

fn setup() -> (Arc<InMemoryBackend>, Reconciler) {
    let backend = Arc::new(InMemoryBackend::new());
    (backend.clone(), Reconciler::new(backend))
}

/// A key made by someone else, with the call log cleared.
async fn existing(backend: &InMemoryBackend) -> String {
    let id = backend
        .create_key(CreateKeyRequest::new())
        .await
        .unwrap()
        .key_id;
    backend.clear_calls();
    id
}

fn description(d: &str) -> KmsKeySpec {
    KmsKeySpec::builder().description(d).build().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_transient_fault_is_retried_within_the_run() {
    for kind in [
        ErrorKind::Internal,
        ErrorKind::DependencyTimeout,
        ErrorKind::Throttled,
    ] {
        let (backend, r) = setup();
        let id = existing(&backend).await;
        backend.fail_next(UpdateKeyDescription, 2, kind);
        let out = r
            .reconcile(&description("d"), &Target::key_id(&id))
            .await
            .unwrap();
        assert_eq!(
            backend.writes(),
            [
                UpdateKeyDescription,
                UpdateKeyDescription,
                UpdateKeyDescription
            ],
            "{kind:?}"
        );
        assert_eq!(out.writes(), [UpdateKeyDescription; 3], "{kind:?}");
        assert_eq!(
            backend.describe_key(&id).await.unwrap().description,
            "d",
            "{kind:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_transient_fault_gives_up_after_the_transient_budget() {
    let (backend, r) = setup();
    let id = existing(&backend).await;
    backend.fail_next(UpdateKeyDescription, 100, ErrorKind::Internal);
    let started = tokio::time::Instant::now();
    let err = r
        .reconcile(&description("d"), &Target::key_id(&id))
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::Internal));
    // The default transient budget: 5 attempts within 20 s.
    assert_eq!(backend.writes(), [UpdateKeyDescription; 5]);
    assert!(started.elapsed() <= Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn the_total_time_budget_ends_retries_before_the_attempt_count() {
    let (backend, r) = setup();
    let r = r.with_retry_policy(RetryPolicy::default().transient(Budget::new(
        1_000,
        Duration::from_secs(1),
        Duration::from_secs(1),
        Duration::from_secs(3),
    )));
    let id = existing(&backend).await;
    backend.fail_next(UpdateKeyDescription, 10_000, ErrorKind::Internal);
    let started = tokio::time::Instant::now();
    let err = r
        .reconcile(&description("d"), &Target::key_id(&id))
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::Internal));
    // Paused clock: only the backoffs move it. They stop with the budget, not past it.
    assert!(
        started.elapsed() <= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let attempts = backend.count(UpdateKeyDescription);
    assert!((2..1_000).contains(&attempts), "{attempts}");
}

#[tokio::test(start_paused = true)]
async fn errors_that_no_wait_can_change_are_never_retried() {
    for kind in [
        ErrorKind::Validation,
        ErrorKind::AccessDenied,
        ErrorKind::InvalidState,
        ErrorKind::LimitExceeded,
        ErrorKind::NotFound,
        ErrorKind::Disabled,
    ] {
        let (backend, r) = setup();
        let id = existing(&backend).await;
        backend.fail_next(UpdateKeyDescription, 1, kind);
        let err = r
            .reconcile(&description("d"), &Target::key_id(&id))
            .await
            .unwrap_err();
        assert_eq!(err.backend_kind(), Some(kind));
        assert_eq!(backend.writes(), [UpdateKeyDescription], "{kind:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_lockout_is_never_retried_on_put_key_policy() {
    let (backend, r) = setup();
    let id = existing(&backend).await;
    backend.fail_next(PutKeyPolicy, 1, ErrorKind::PolicyLockout);
    let spec = KmsKeySpec::builder()
        .policy(P_ROOT.replace("\"Root\"", "\"Root2\""))
        .build()
        .unwrap();
    let err = r.reconcile(&spec, &Target::key_id(&id)).await.unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::PolicyLockout));
    assert_eq!(backend.writes(), [PutKeyPolicy]);
}

#[tokio::test(start_paused = true)]
async fn invalid_principals_on_put_key_policy_are_retried_while_iam_propagates() {
    let role = "arn:aws:iam::111122223333:role/new-role";
    let (backend, r) = setup();
    let id = existing(&backend).await;
    backend.principal_visible_after(role, 2);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"App","Effect":"Allow","Principal":{{"AWS":"{role}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    let spec = KmsKeySpec::builder().policy(policy).build().unwrap();
    r.reconcile(&spec, &Target::key_id(&id)).await.unwrap();
    assert_eq!(backend.writes(), [PutKeyPolicy, PutKeyPolicy, PutKeyPolicy]);
    assert!(backend.get_key_policy(&id).await.unwrap().contains(role));
}

#[tokio::test(start_paused = true)]
async fn not_found_right_after_our_own_create_key_is_retried_on_later_writes() {
    let (backend, r) = setup();
    // KMS is eventually consistent: a write to a key made an instant ago may not find it.
    backend.fail_next(EnableKeyRotation, 2, ErrorKind::NotFound);
    let spec = KmsKeySpec::builder()
        .enable_key_rotation(true)
        .build()
        .unwrap();
    let out = r.reconcile(&spec, &Target::name("a")).await.unwrap();
    assert!(out.created);
    assert_eq!(
        backend.writes(),
        [
            CreateKey,
            EnableKeyRotation,
            EnableKeyRotation,
            EnableKeyRotation
        ]
    );
    assert_eq!(backend.key_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn not_found_on_a_key_we_did_not_just_create_is_not_retried() {
    let (backend, r) = setup();
    let id = existing(&backend).await;
    backend.fail_next(EnableKeyRotation, 1, ErrorKind::NotFound);
    let spec = KmsKeySpec::builder()
        .enable_key_rotation(true)
        .build()
        .unwrap();
    let err = r.reconcile(&spec, &Target::key_id(&id)).await.unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::NotFound));
    assert_eq!(backend.writes(), [EnableKeyRotation]);
}

#[tokio::test(start_paused = true)]
async fn create_key_is_not_retried_on_a_fault_that_may_hide_a_made_key() {
    // An internal error or a lost answer may come after KMS made the key: a blind retry could
    // make a second one. The error is returned; the next run finds the key by its name tag or
    // creates it.
    for kind in [
        ErrorKind::Internal,
        ErrorKind::DependencyTimeout,
        ErrorKind::Transport,
    ] {
        let (backend, r) = setup();
        backend.fail_next(CreateKey, 1, kind);
        let err = r
            .reconcile(&description("d"), &Target::name("a"))
            .await
            .unwrap_err();
        assert_eq!(err.backend_kind(), Some(kind));
        assert!(
            matches!(
                err,
                ReconcileError::Backend {
                    operation: CreateKey,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(backend.writes(), [CreateKey], "{kind:?}");
        let again = r
            .reconcile(&description("d"), &Target::name("a"))
            .await
            .unwrap();
        assert!(again.created);
        assert_eq!(backend.key_count(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn create_key_is_retried_on_throttling_which_proves_nothing_was_made() {
    let (backend, r) = setup();
    backend.fail_next(CreateKey, 2, ErrorKind::Throttled);
    let out = r
        .reconcile(&description("d"), &Target::name("a"))
        .await
        .unwrap();
    assert!(out.created);
    assert_eq!(backend.writes(), [CreateKey, CreateKey, CreateKey]);
    assert_eq!(backend.key_count(), 1);
}
