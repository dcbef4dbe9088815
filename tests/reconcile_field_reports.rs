//! The field reports that concern plan and apply, run end to end on the in-memory KMS, each
//! asserting the exact ordered list of changing calls. Test names carry the case ids.

use std::sync::Arc;

use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::{CreateKeyRequest, ErrorKind, KmsBackend, Operation};
use kms_key::spec::{DeletionWindow, KeySpec, KeyUsage, Origin};
use kms_key::{KmsKeySpec, PlanError, ReconcileError, ReconcileOptions, Reconciler, Target};

use Operation::*;

const ACCT: &str = "111122223333";
const P_ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
const P_ROOT_PRETTY: &str = r#"{
    "Statement": [
        {
            "Resource": "*",
            "Action": "kms:*",
            "Principal": {
                "AWS": "arn:aws:iam::111122223333:root"
            },
            "Effect": "Allow",
            "Sid": "Root"
        }
    ],
    "Version": "2012-10-17"
}
"#;

fn setup(backend: InMemoryBackend) -> (Arc<InMemoryBackend>, Reconciler) {
    let backend = Arc::new(backend);
    (backend.clone(), Reconciler::new(backend))
}

fn spec(b: kms_key::KmsKeySpecBuilder) -> KmsKeySpec {
    b.build().expect("valid spec")
}

/// Creates a key directly on the backend (a key made by someone else) and clears the call log.
async fn existing(backend: &InMemoryBackend, request: CreateKeyRequest) -> String {
    let id = backend.create_key(request).await.unwrap().key_id;
    backend.clear_calls();
    id
}

fn request() -> CreateKeyRequest {
    CreateKeyRequest::new()
}

#[tokio::test]
async fn policy_format_noise_pretty_policy_is_no_change() {
    let (backend, r) = setup(InMemoryBackend::new());
    let mut req = request();
    req.policy = Some(P_ROOT.to_owned());
    let id = existing(&backend, req).await;
    let out = r
        .reconcile(
            &spec(KmsKeySpec::builder().policy(P_ROOT_PRETTY)),
            &Target::key_id(&id),
        )
        .await
        .unwrap();
    assert_eq!(out.writes(), []);
    assert_eq!(
        out.reads(),
        [DescribeKey, GetKeyPolicy, GetKeyRotationStatus]
    );
}

#[tokio::test]
async fn policy_format_noise_control_effect_deny_is_one_put() {
    let (backend, r) = setup(InMemoryBackend::new());
    let mut req = request();
    req.policy = Some(P_ROOT.to_owned());
    let id = existing(&backend, req).await;
    let deny = KmsKeySpec::builder()
        .policy(P_ROOT_PRETTY.replace("\"Allow\"", "\"Deny\""))
        .bypass_policy_lockout_safety_check(true);
    let out = r
        .reconcile(&spec(deny), &Target::key_id(&id))
        .await
        .unwrap();
    assert_eq!(out.writes(), [PutKeyPolicy]);
    assert_eq!(backend.writes(), [PutKeyPolicy]);
}

#[tokio::test]
async fn principal_list_order_a_and_b_are_no_change() {
    let x = "arn:aws:iam::111122223333:role/app";
    let y = "arn:aws:iam::111122223333:role/ops";
    let backend = InMemoryBackend::builder().known_principals([x, y]).build();
    let (backend, r) = setup(backend);
    let live_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{P_ROOT_STMT},{{"Effect":"Allow","Principal":{{"AWS":["{y}","{x}"]}},"Action":["kms:Decrypt"],"Resource":"*"}},{{"Effect":"Allow","Principal":{{"AWS":["{x}"]}},"Action":["kms:Encrypt"],"Resource":"*"}}]}}"#,
        P_ROOT_STMT = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#
    );
    let mut req = request();
    req.policy = Some(live_policy);
    let id = existing(&backend, req).await;
    // (a) [X, Y] vs [Y, X]; (b) a single principal / action vs a one-element list.
    let desired = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{x}"}},"Action":"kms:Encrypt","Resource":"*"}},{{"Effect":"Allow","Principal":{{"AWS":["{x}","{y}"]}},"Action":"kms:Decrypt","Resource":"*"}},{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let out = r
        .reconcile(
            &spec(KmsKeySpec::builder().policy(desired)),
            &Target::key_id(&id),
        )
        .await
        .unwrap();
    assert_eq!(out.writes(), []);
}

fn propagation_spec(role: &str) -> KmsKeySpec {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Effect":"Allow","Principal":{{"AWS":"{role}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    spec(
        KmsKeySpec::builder()
            .description("d")
            .policy(policy)
            .tag("env", "dev"),
    )
}

#[tokio::test(start_paused = true)]
async fn new_principal_propagation_retries_create_key_until_visible() {
    let role = "arn:aws:iam::111122223333:role/new-role";
    let (backend, r) = setup(InMemoryBackend::new());
    backend.principal_visible_after(role, 2);
    let started = tokio::time::Instant::now();
    let out = r
        .reconcile(&propagation_spec(role), &Target::name("a"))
        .await
        .unwrap();
    assert_eq!(backend.writes(), [CreateKey, CreateKey, CreateKey]);
    assert_eq!(out.writes(), [CreateKey, CreateKey, CreateKey]);
    // The attempts of one call, the first two refused as invalid principals.
    let creates: Vec<(u32, Option<ErrorKind>)> = out
        .api_calls
        .iter()
        .filter(|c| c.operation == CreateKey)
        .map(|c| (c.attempt, c.error))
        .collect();
    assert_eq!(
        creates,
        [
            (1, Some(ErrorKind::InvalidPrincipals)),
            (2, Some(ErrorKind::InvalidPrincipals)),
            (3, None)
        ]
    );
    // Backoff between them (paused clock: only the engine's sleeps move it), within the
    // propagation budget's 60 s.
    let waited = started.elapsed();
    assert!(waited > std::time::Duration::ZERO, "no backoff: {waited:?}");
    assert!(waited <= std::time::Duration::from_secs(60), "{waited:?}");
    assert_eq!(backend.key_count(), 1);
    // Description, policy and tags travelled inside CreateKey: no follow-up writes, and the key has them.
    let meta = backend.describe_key(&out.key_id).await.unwrap();
    assert_eq!(meta.description, "d");
    let tags = backend
        .list_resource_tags(&out.key_id, None)
        .await
        .unwrap()
        .tags;
    let keys: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["env", "kms-key:name"]);
    let policy = backend.get_key_policy(&out.key_id).await.unwrap();
    assert!(policy.contains(role), "{policy}");
}

#[tokio::test(start_paused = true)]
async fn new_principal_propagation_gives_up_with_a_typed_error_and_zero_keys() {
    let role = "arn:aws:iam::111122223333:role/never";
    let (backend, r) = setup(InMemoryBackend::new());
    backend.principal_visible_after(role, 1_000);
    let started = tokio::time::Instant::now();
    let err = r
        .reconcile(&propagation_spec(role), &Target::name("a"))
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::InvalidPrincipals));
    // The default propagation budget: 8 attempts within 60 s.
    assert_eq!(backend.writes(), vec![CreateKey; 8]);
    assert!(started.elapsed() <= std::time::Duration::from_secs(60));
    assert_eq!(backend.key_count(), 0);
}

fn lockout_spec(bypass: bool) -> KmsKeySpec {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/key-admin"},"Action":"kms:*","Resource":"*"}]}"#;
    spec(
        KmsKeySpec::builder()
            .policy(policy)
            .bypass_policy_lockout_safety_check(bypass),
    )
}

fn deployer_backend() -> InMemoryBackend {
    InMemoryBackend::builder()
        .caller_principal("arn:aws:iam::111122223333:role/deployer")
        .known_principals(["arn:aws:iam::111122223333:role/key-admin"])
        .build()
}

#[tokio::test(start_paused = true)]
async fn lockout_safety_check_is_a_typed_error_never_retried() {
    let (backend, r) = setup(deployer_backend());
    let err = r
        .reconcile(&lockout_spec(false), &Target::name("a"))
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::PolicyLockout));
    assert_eq!(backend.writes(), [CreateKey]);
    assert_eq!(backend.key_count(), 0);
}

#[tokio::test]
async fn lockout_safety_check_bypass_creates_in_one_call() {
    let (backend, r) = setup(deployer_backend());
    let out = r
        .reconcile(&lockout_spec(true), &Target::name("a"))
        .await
        .unwrap();
    assert!(out.created);
    assert_eq!(backend.writes(), [CreateKey]);
    assert_eq!(backend.key_count(), 1);
    let kms_key::Change::CreateKey(create) = &out.changes[0] else {
        panic!("{:?}", out.changes)
    };
    assert!(create.to_request().bypass_policy_lockout_safety_check);
}

async fn key_with(backend: &InMemoryBackend, enabled: bool, rotation: bool) -> String {
    let id = backend.create_key(request()).await.unwrap().key_id;
    if rotation {
        backend.enable_key_rotation(&id, None).await.unwrap();
    }
    if !enabled {
        backend.disable_key(&id).await.unwrap();
    }
    backend.clear_calls();
    id
}

#[tokio::test]
async fn rotation_vs_enabled_ordering_a() {
    let (backend, r) = setup(InMemoryBackend::new());
    let id = key_with(&backend, false, false).await;
    let out = r
        .reconcile(
            &spec(KmsKeySpec::builder().enable_key_rotation(true)),
            &Target::key_id(&id),
        )
        .await
        .unwrap();
    assert_eq!(out.writes(), [EnableKey, EnableKeyRotation]);
    assert_eq!(backend.writes(), [EnableKey, EnableKeyRotation]);
}

#[tokio::test(start_paused = true)]
async fn rotation_vs_enabled_ordering_a_disabled_right_after_enable_is_retried() {
    let (backend, r) = setup(InMemoryBackend::new());
    let id = key_with(&backend, false, false).await;
    backend.fail_next(EnableKeyRotation, 2, ErrorKind::Disabled);
    let out = r
        .reconcile(
            &spec(KmsKeySpec::builder().enable_key_rotation(true)),
            &Target::key_id(&id),
        )
        .await
        .unwrap();
    assert_eq!(
        backend.writes(),
        [
            EnableKey,
            EnableKeyRotation,
            EnableKeyRotation,
            EnableKeyRotation
        ]
    );
    assert_eq!(out.final_state.rotation.map(|r| r.enabled), Some(true));
}

#[tokio::test(start_paused = true)]
async fn rotation_vs_enabled_ordering_a_disabled_after_enable_gives_up_after_the_budget() {
    let (backend, r) = setup(InMemoryBackend::new());
    let id = key_with(&backend, false, false).await;
    backend.fail_next(EnableKeyRotation, 100, ErrorKind::Disabled);
    let err = r
        .reconcile(
            &spec(KmsKeySpec::builder().enable_key_rotation(true)),
            &Target::key_id(&id),
        )
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::Disabled));
    // The default consistency budget: 6 attempts.
    let mut expected = vec![EnableKey];
    expected.extend([EnableKeyRotation; 6]);
    assert_eq!(backend.writes(), expected);
}

#[tokio::test]
async fn rotation_vs_enabled_ordering_disabled_without_our_enable_is_not_retried() {
    let (backend, r) = setup(InMemoryBackend::new());
    let id = key_with(&backend, true, false).await;
    backend.fail_next(EnableKeyRotation, 1, ErrorKind::Disabled);
    let err = r
        .reconcile(
            &spec(KmsKeySpec::builder().enable_key_rotation(true)),
            &Target::key_id(&id),
        )
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::Disabled));
    assert_eq!(backend.writes(), [EnableKeyRotation]);
}

#[tokio::test]
async fn rotation_vs_enabled_ordering_b() {
    let (backend, r) = setup(InMemoryBackend::new());
    let id = key_with(&backend, true, false).await;
    let d = spec(
        KmsKeySpec::builder()
            .is_enabled(false)
            .enable_key_rotation(true),
    );
    let out = r.reconcile(&d, &Target::key_id(&id)).await.unwrap();
    assert_eq!(out.writes(), [EnableKeyRotation, DisableKey]);
    assert_eq!(backend.writes(), [EnableKeyRotation, DisableKey]);
}

#[tokio::test]
async fn rotation_vs_enabled_ordering_c() {
    let (backend, r) = setup(InMemoryBackend::new());
    let id = key_with(&backend, true, true).await;
    let out = r
        .reconcile(
            &spec(KmsKeySpec::builder().is_enabled(false)),
            &Target::key_id(&id),
        )
        .await
        .unwrap();
    assert_eq!(out.writes(), [DisableKeyRotation, DisableKey]);
    assert_eq!(backend.writes(), [DisableKeyRotation, DisableKey]);
}

#[tokio::test]
async fn rotation_unsupported_key_rsa_and_external_read_rotation_as_off_without_a_call() {
    let (backend, r) = setup(InMemoryBackend::new());
    let mut rsa = request();
    rsa.key_spec = Some(KeySpec::Rsa2048);
    rsa.key_usage = Some(KeyUsage::EncryptDecrypt);
    let rsa_id = existing(&backend, rsa).await;
    let d = spec(
        KmsKeySpec::builder()
            .key_spec(KeySpec::Rsa2048)
            .key_usage(KeyUsage::EncryptDecrypt),
    );
    let out = r.reconcile(&d, &Target::key_id(&rsa_id)).await.unwrap();
    assert_eq!(
        out.api_calls
            .iter()
            .map(|c| c.operation)
            .collect::<Vec<_>>(),
        [DescribeKey]
    );

    let mut ext = request();
    ext.origin = Some(Origin::External);
    let ext_id = existing(&backend, ext).await;
    let d = spec(
        KmsKeySpec::builder()
            .origin(Origin::External)
            .is_enabled(false),
    );
    let out = r.reconcile(&d, &Target::key_id(&ext_id)).await.unwrap();
    assert_eq!(
        out.api_calls
            .iter()
            .map(|c| c.operation)
            .collect::<Vec<_>>(),
        [DescribeKey]
    );
    assert_eq!(backend.writes(), []);
}

#[tokio::test]
async fn deletion_window_create_never_schedules_and_window_changes_are_no_change() {
    let (backend, r) = setup(InMemoryBackend::new());
    let d = spec(KmsKeySpec::builder().deletion_window_in_days(10));
    let out = r.reconcile(&d, &Target::name("a")).await.unwrap();
    assert_eq!(backend.writes(), [CreateKey]);
    backend.clear_calls();
    let d7 = spec(KmsKeySpec::builder().deletion_window_in_days(7));
    let again = r.reconcile(&d7, &Target::name("a")).await.unwrap();
    assert_eq!(again.writes(), []);
    assert_eq!(again.key_id, out.key_id);
    // Destroy uses the spec's window.
    let gone = r
        .destroy(&Target::name("a"), d7.deletion_window())
        .await
        .unwrap();
    assert!(gone.scheduled);
    assert_eq!(backend.writes(), [ScheduleKeyDeletion]);
    let meta = backend.describe_key(&out.key_id).await.unwrap();
    assert_eq!(meta.pending_deletion_window_in_days, Some(7));
    // Destroying again by name: already pending, found so by the look-up, no call to change it.
    backend.clear_calls();
    let again = r
        .destroy(&Target::name("a"), DeletionWindow::DEFAULT)
        .await
        .unwrap();
    assert!(!again.scheduled);
    assert_eq!(backend.writes(), []);
    // By key id: one ScheduleKeyDeletion, which KMS refuses (already pending) and which changes
    // nothing; a DescribeKey confirms it. Success, the first window kept.
    backend.clear_calls();
    let again = r
        .destroy(&Target::key_id(&out.key_id), DeletionWindow::DEFAULT)
        .await
        .unwrap();
    assert!(!again.scheduled);
    let calls: Vec<_> = backend
        .calls()
        .iter()
        .map(|c| (c.operation(), c.outcome()))
        .collect();
    assert_eq!(
        calls,
        [
            (ScheduleKeyDeletion, Err(ErrorKind::InvalidState)),
            (DescribeKey, Ok(()))
        ]
    );
    let meta = backend.describe_key(&out.key_id).await.unwrap();
    assert_eq!(meta.pending_deletion_window_in_days, Some(7));
}

#[tokio::test]
async fn destroy_by_key_id_is_one_call() {
    let (backend, r) = setup(InMemoryBackend::new());
    let out = r
        .reconcile(&spec(KmsKeySpec::builder()), &Target::name("a"))
        .await
        .unwrap();
    backend.clear_calls();
    let d = r
        .destroy(&Target::key_id(&out.arn), DeletionWindow::new(7).unwrap())
        .await
        .unwrap();
    assert!(d.scheduled);
    assert_eq!(d.key_id, out.key_id);
    assert_eq!(
        backend
            .calls()
            .iter()
            .map(|c| c.operation())
            .collect::<Vec<_>>(),
        [ScheduleKeyDeletion]
    );
}

#[tokio::test]
async fn destroy_of_an_unknown_key_is_not_found() {
    let (_backend, r) = setup(InMemoryBackend::new());
    let err = r
        .destroy(
            &Target::key_id("1234abcd-12ab-34cd-56ef-1234567890ab"),
            DeletionWindow::DEFAULT,
        )
        .await;
    assert!(
        matches!(err, Err(ReconcileError::NotFound { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn tags_create_carries_tags_in_create_key() {
    let (backend, r) = setup(InMemoryBackend::new());
    let out = r
        .reconcile(
            &spec(KmsKeySpec::builder().tag("env", "dev")),
            &Target::name("a"),
        )
        .await
        .unwrap();
    assert_eq!(backend.writes(), [CreateKey]);
    // Read back from the backend, not from the outcome (which is derived from the request).
    let tags = backend
        .list_resource_tags(&out.key_id, None)
        .await
        .unwrap()
        .tags;
    assert_eq!(
        tags,
        [
            kms_key::backend::Tag::new("env", "dev"),
            kms_key::backend::Tag::new("kms-key:name", "a")
        ]
    );
    // The drift the report describes: a second run must find nothing to write.
    backend.clear_calls();
    let again = r
        .reconcile(
            &spec(KmsKeySpec::builder().tag("env", "dev")),
            &Target::name("a"),
        )
        .await
        .unwrap();
    assert_eq!(again.writes(), []);
    assert_eq!(backend.writes(), []);
}

#[tokio::test]
async fn tags_update_untags_then_tags_in_one_call_each() {
    let (backend, r) = setup(InMemoryBackend::new());
    let mut req = request();
    req.tags = vec![
        kms_key::backend::Tag::new("env", "dev"),
        kms_key::backend::Tag::new("old", "x"),
    ];
    let id = existing(&backend, req).await;
    let d = spec(KmsKeySpec::builder().tag("env", "prod").tag("team", "a"));
    let out = r.reconcile(&d, &Target::key_id(&id)).await.unwrap();
    assert_eq!(backend.writes(), [UntagResource, TagResource]);
    let live = backend.list_resource_tags(&id, None).await.unwrap().tags;
    let pairs: Vec<(&str, &str)> = live
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    assert_eq!(pairs, [("env", "prod"), ("team", "a")]);
    assert_eq!(
        out.final_state
            .tags
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [
            ("env".to_owned(), "prod".to_owned()),
            ("team".to_owned(), "a".to_owned())
        ]
    );
}

#[tokio::test]
async fn immutable_fields_and_defaults_explicit_defaults_no_change() {
    let (backend, r) = setup(InMemoryBackend::new());
    let id = existing(&backend, request()).await;
    for d in [
        KmsKeySpec::builder(),
        KmsKeySpec::builder()
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsage::EncryptDecrypt)
            .multi_region(false),
    ] {
        let out = r.reconcile(&spec(d), &Target::key_id(&id)).await.unwrap();
        assert_eq!(out.writes(), []);
    }
    assert_eq!(backend.writes(), []);
}

#[tokio::test]
async fn immutable_fields_and_defaults_changes_are_typed_errors_with_zero_writes() {
    let (backend, r) = setup(InMemoryBackend::new());
    let id = existing(&backend, request()).await;
    let cases = [
        (
            KmsKeySpec::builder()
                .key_spec(KeySpec::Rsa2048)
                .key_usage(KeyUsage::EncryptDecrypt),
            "key_spec",
        ),
        (KmsKeySpec::builder().multi_region(true), "multi_region"),
        (
            KmsKeySpec::builder().custom_key_store_id("cks-1234567890abcdef0"),
            "custom_key_store_id",
        ),
    ];
    for (d, field) in cases {
        let err = r
            .reconcile(&spec(d), &Target::key_id(&id))
            .await
            .unwrap_err();
        match err {
            ReconcileError::Plan(PlanError::Immutable { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(backend.writes(), []);
    assert_eq!(backend.key_count(), 1);
}

#[tokio::test]
async fn immutable_fields_and_defaults_refusal_reads_nothing_but_describe_key() {
    // DescribeKey alone decides the refusal: the policy, rotation and tags the spec also
    // manages are not read for a plan that cannot be made.
    let (backend, r) = setup(InMemoryBackend::new());
    let id = existing(&backend, request()).await;
    let d = spec(
        KmsKeySpec::builder()
            .multi_region(true)
            .policy(P_ROOT)
            .tag("env", "dev")
            .enable_key_rotation(true),
    );
    let err = r.reconcile(&d, &Target::key_id(&id)).await.unwrap_err();
    assert!(
        matches!(
            err,
            ReconcileError::Plan(PlanError::Immutable {
                field: "multi_region",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        backend.calls(),
        [kms_key::backend::memory::Call::ok(DescribeKey, &id)]
    );
    // The same for a key pending deletion.
    backend.schedule_key_deletion(&id, None).await.unwrap();
    backend.clear_calls();
    let d = spec(
        KmsKeySpec::builder()
            .policy(P_ROOT)
            .tag("env", "dev")
            .enable_key_rotation(true),
    );
    let err = r.reconcile(&d, &Target::key_id(&id)).await.unwrap_err();
    assert!(
        matches!(err, ReconcileError::Plan(PlanError::PendingDeletion { .. })),
        "{err:?}"
    );
    assert_eq!(
        backend.calls(),
        [kms_key::backend::memory::Call::ok(DescribeKey, &id)]
    );
}

#[tokio::test]
async fn orphan_after_partial_create_rerun_finds_the_key_after_any_call() {
    let d = spec(
        KmsKeySpec::builder()
            .description("d")
            .policy(P_ROOT)
            .tag("env", "dev")
            .enable_key_rotation(true)
            .is_enabled(false),
    );
    // A clean run calls ListKeys, CreateKey, EnableKeyRotation, DisableKey. Interrupt it after
    // each call k; the re-run makes exactly the remaining writes and never a second CreateKey.
    let remaining: [&[Operation]; 4] = [
        &[CreateKey, EnableKeyRotation, DisableKey],
        &[EnableKeyRotation, DisableKey],
        &[DisableKey],
        &[],
    ];
    for (k, expected) in (1..=4).zip(remaining) {
        let (backend, r) = setup(InMemoryBackend::new());
        backend.fail_after(k, ErrorKind::AccessDenied);
        let first = r.reconcile(&d, &Target::name("a")).await;
        assert_eq!(first.is_ok(), k == 4, "k={k}");
        backend.clear_faults();
        let second = r
            .reconcile(&d, &Target::name("a"))
            .await
            .unwrap_or_else(|e| panic!("k={k}: {e}"));
        assert_eq!(second.writes(), expected, "k={k}");
        assert_eq!(backend.key_count(), 1, "k={k}");
        let third = r.reconcile(&d, &Target::name("a")).await.unwrap();
        assert_eq!(third.writes(), [], "k={k}: converged");
    }
}

#[tokio::test]
async fn pending_deletion_is_refused_unless_restoring() {
    let (backend, r) = setup(InMemoryBackend::new());
    let d = spec(KmsKeySpec::builder().description("d"));
    let out = r.reconcile(&d, &Target::name("a")).await.unwrap();
    backend
        .schedule_key_deletion(&out.key_id, None)
        .await
        .unwrap();
    backend.clear_calls();
    let err = r
        .reconcile(&d, &Target::key_id(&out.key_id))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ReconcileError::Plan(PlanError::PendingDeletion { .. })),
        "{err:?}"
    );
    assert_eq!(backend.writes(), []);
    let restored = r
        .reconcile_with(
            &d,
            &Target::key_id(&out.key_id),
            &ReconcileOptions::restore(true),
        )
        .await
        .unwrap();
    assert_eq!(restored.writes(), [CancelKeyDeletion, EnableKey]);
    assert!(restored.final_state.enabled);
    // By name, a key pending deletion is ignored unless restoring: restore finds it again.
    backend
        .schedule_key_deletion(&out.key_id, None)
        .await
        .unwrap();
    let again = r
        .reconcile_with(&d, &Target::name("a"), &ReconcileOptions::restore(true))
        .await
        .unwrap();
    assert_eq!(again.key_id, out.key_id);
    assert_eq!(backend.key_count(), 1);
}

#[tokio::test]
async fn exact_call_counts() {
    let (backend, r) = setup(InMemoryBackend::new());
    let plain = r
        .reconcile(&spec(KmsKeySpec::builder()), &Target::name("plain"))
        .await
        .unwrap();
    assert_eq!(plain.writes(), [CreateKey]);
    let rot = r
        .reconcile(
            &spec(KmsKeySpec::builder().enable_key_rotation(true)),
            &Target::name("rot"),
        )
        .await
        .unwrap();
    assert_eq!(rot.writes(), [CreateKey, EnableKeyRotation]);
    let off = r
        .reconcile(
            &spec(KmsKeySpec::builder().is_enabled(false)),
            &Target::name("off"),
        )
        .await
        .unwrap();
    assert_eq!(off.writes(), [CreateKey, DisableKey]);

    // No-op by key id: DescribeKey, plus GetKeyRotationStatus (the key can rotate), and the
    // facets the spec manages.
    let noop = r
        .reconcile(&spec(KmsKeySpec::builder()), &Target::key_id(&plain.key_id))
        .await
        .unwrap();
    assert_eq!(
        noop.api_calls
            .iter()
            .map(|c| c.operation)
            .collect::<Vec<_>>(),
        [DescribeKey, GetKeyRotationStatus]
    );
    let managed = spec(KmsKeySpec::builder().policy(P_ROOT).tags([("a", "b")]));
    let id = rot.key_id.clone();
    r.reconcile(&managed, &Target::key_id(&id)).await.unwrap();
    let noop = r.reconcile(&managed, &Target::key_id(&id)).await.unwrap();
    assert_eq!(
        noop.api_calls
            .iter()
            .map(|c| c.operation)
            .collect::<Vec<_>>(),
        [
            DescribeKey,
            GetKeyPolicy,
            GetKeyRotationStatus,
            ListResourceTags
        ]
    );

    // Each single-attribute change is one write.
    let base = KmsKeySpec::builder().policy(P_ROOT).tags([("a", "b")]);
    let singles = [
        (base.clone().description("x"), UpdateKeyDescription),
        (
            base.clone().policy(P_ROOT.replace("Root", "Root2")),
            PutKeyPolicy,
        ),
        (base.clone().tags([("a", "c")]), TagResource),
        (
            base.clone().tags(Vec::<(String, String)>::new()),
            UntagResource,
        ),
        (base.clone().is_enabled(false), DisableKey),
    ];
    for (d, op) in singles {
        let (_b, r) = setup(InMemoryBackend::new());
        r.reconcile(&spec(base.clone()), &Target::name("k"))
            .await
            .unwrap();
        let out = r.reconcile(&spec(d), &Target::name("k")).await.unwrap();
        assert_eq!(out.writes(), [op]);
    }
    // And the changes that need another starting point: (from, to, the one write).
    let rotating = base.clone().enable_key_rotation(true);
    let from_to = [
        (base.clone().is_enabled(false), base.clone(), EnableKey),
        (base.clone(), rotating.clone(), EnableKeyRotation),
        (
            rotating.clone(),
            rotating.clone().rotation_period_in_days(180),
            EnableKeyRotation,
        ),
        (rotating.clone(), base.clone(), DisableKeyRotation),
    ];
    for (from, to, op) in from_to {
        let (_b, r) = setup(InMemoryBackend::new());
        r.reconcile(&spec(from), &Target::name("k")).await.unwrap();
        let out = r.reconcile(&spec(to), &Target::name("k")).await.unwrap();
        assert_eq!(out.writes(), [op]);
    }
    let _ = backend;
}

#[tokio::test]
async fn import_matches_the_live_key_exactly() {
    let (backend, r) = setup(InMemoryBackend::new());
    let mut hmac = request();
    hmac.key_spec = Some(KeySpec::Hmac256);
    hmac.key_usage = Some(KeyUsage::GenerateVerifyMac);
    hmac.tags = vec![kms_key::backend::Tag::new("team", "payments")];
    let mut rsa = request();
    rsa.key_spec = Some(KeySpec::Rsa4096);
    rsa.key_usage = Some(KeyUsage::SignVerify);
    rsa.description = Some("signer".into());
    let mut ext = request();
    ext.origin = Some(Origin::External);
    let mut mrk = request();
    mrk.multi_region = true;
    let rotating = key_with(&backend, true, true).await;
    let disabled = key_with(&backend, false, false).await;
    let mut ids = vec![rotating, disabled];
    for req in [hmac, rsa, ext, mrk] {
        ids.push(existing(&backend, req).await);
    }
    for id in ids {
        let imported = r.import(&id).await.unwrap();
        backend.clear_calls();
        let planned = r.plan(&imported, &Target::key_id(&id)).await.unwrap();
        assert!(planned.plan().is_empty(), "{id}: {}", planned.plan());
        // The imported spec round-trips through its file form.
        let text = serde_json::to_string(&imported).unwrap();
        assert_eq!(KmsKeySpec::from_json(&text).unwrap(), imported);
    }
    let _ = ACCT;
}

#[tokio::test]
async fn import_of_a_locked_policy_sets_the_bypass() {
    let (backend, r) = setup(deployer_backend());
    let mut req = request();
    req.policy = Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/key-admin"},"Action":"kms:Decrypt","Resource":"*"}]}"#.into());
    req.bypass_policy_lockout_safety_check = true;
    let id = existing(&backend, req).await;
    let imported = r.import(&id).await.unwrap();
    assert!(imported.bypass_policy_lockout_safety_check());
    assert!(
        r.plan(&imported, &Target::key_id(&id))
            .await
            .unwrap()
            .plan()
            .is_empty()
    );
}

#[tokio::test]
async fn import_of_a_policy_denying_put_key_policy_to_everyone_sets_the_bypass() {
    // An Allow of kms:* to the root, voided by an unconditional Deny to "*": the lockout lint
    // refuses such a policy, so the imported spec must carry the bypass to be valid.
    let (backend, r) = setup(deployer_backend());
    let mut req = request();
    req.policy = Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"}]}"#.into());
    req.bypass_policy_lockout_safety_check = true;
    let id = existing(&backend, req).await;
    let imported = r.import(&id).await.unwrap();
    assert!(imported.bypass_policy_lockout_safety_check());
}

#[tokio::test]
async fn import_of_a_policy_near_the_size_limit_gives_a_valid_spec_file() {
    // KMS answers GetKeyPolicy indented, which makes a policy accepted at nearly 32 KB longer
    // than 32 KB: the imported spec holds it compact, so it stays valid and round-trips.
    let (backend, r) = setup(InMemoryBackend::new());
    let mut statements = vec![r#"{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#.to_owned()];
    let with = |statements: &[String]| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            statements.join(",")
        )
    };
    // As many statements as fit in 32 KB.
    loop {
        let i = statements.len();
        statements.push(format!(r#"{{"Sid":"S{i:03}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*"}}"#));
        if with(&statements).len() > kms_key::policy::MAX_POLICY_BYTES {
            statements.pop();
            break;
        }
    }
    let policy = with(&statements);
    let mut req = request();
    req.policy = Some(policy);
    let id = existing(&backend, req).await;
    let live = backend.get_key_policy(&id).await.unwrap();
    assert!(
        live.len() > kms_key::policy::MAX_POLICY_BYTES,
        "{}",
        live.len()
    );

    let imported = r.import(&id).await.unwrap();
    let text = serde_json::to_string(&imported).unwrap();
    assert_eq!(KmsKeySpec::from_json(&text).unwrap(), imported);
    backend.clear_calls();
    let planned = r.plan(&imported, &Target::key_id(&id)).await.unwrap();
    assert!(planned.plan().is_empty(), "{}", planned.plan());
}

#[tokio::test]
async fn import_of_a_policy_with_escaped_characters_beyond_latin_1_round_trips() {
    // Sent escaped (the text is ASCII); the key's policy holds the characters themselves, which a
    // policy may not hold as such: the imported spec escapes them again.
    let (backend, r) = setup(InMemoryBackend::new());
    let mut req = request();
    req.policy = Some(P_ROOT.replace("\"Root\"", r#""R\u2028\u4e2d\ud83d\ude00t""#));
    let id = existing(&backend, req).await;
    let imported = r.import(&id).await.unwrap();
    let policy = imported.policy().unwrap().as_str();
    assert!(
        policy.contains(r#""Sid":"R\u2028\u4e2d\ud83d\ude00t""#),
        "{policy}"
    );
    let text = serde_json::to_string(&imported).unwrap();
    assert_eq!(KmsKeySpec::from_json(&text).unwrap(), imported);
    assert!(
        r.plan(&imported, &Target::key_id(&id))
            .await
            .unwrap()
            .plan()
            .is_empty()
    );
}
