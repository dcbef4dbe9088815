//! Identity and lifecycle: names, keys pending deletion, restore, stale plans, and the writes
//! that must not be retried. Each test asserts the exact ordered writes.

use std::sync::Arc;

use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::{CreateKeyRequest, ErrorKind, KmsBackend, Operation, Tag};
use kms_key::spec::DeletionWindow;
use kms_key::{
    ErrorCode, KmsKeySpec, PlanError, ReconcileError, ReconcileOptions, Reconciler, Target,
};

use Operation::*;

fn setup() -> (Arc<InMemoryBackend>, Reconciler) {
    let backend = Arc::new(InMemoryBackend::new());
    (backend.clone(), Reconciler::new(backend))
}

fn spec(b: kms_key::KmsKeySpecBuilder) -> KmsKeySpec {
    b.build().expect("valid spec")
}

#[tokio::test]
async fn invalid_logical_names_are_refused_before_any_call() {
    let (backend, r) = setup();
    let long = "n".repeat(257);
    for name in ["", "a#b", long.as_str()] {
        let err = r
            .reconcile(&spec(KmsKeySpec::builder()), &Target::name(name))
            .await
            .unwrap_err();
        match err {
            ReconcileError::Invalid(e) => {
                assert_eq!(e.codes(), [ErrorCode::InvalidName], "{name:?}");
                assert_eq!(e.errors()[0].field().as_str(), "name");
            }
            other => panic!("{name:?}: {other:?}"),
        }
        let err = r
            .destroy(&Target::name(name), DeletionWindow::DEFAULT)
            .await
            .unwrap_err();
        assert!(matches!(err, ReconcileError::Invalid(_)), "{err:?}");
    }
    assert_eq!(backend.calls(), []);
}

#[tokio::test]
async fn orphan_after_partial_create_name_scan_never_skips_a_key_it_cannot_read() {
    // The key exists but its tags cannot be read: absence is not proven, so no CreateKey.
    let (backend, r) = setup();
    let d = spec(KmsKeySpec::builder().description("d"));
    r.reconcile(&d, &Target::name("a")).await.unwrap();
    backend.clear_calls();
    backend.fail_next(ListResourceTags, 1, ErrorKind::AccessDenied);
    let err = r.reconcile(&d, &Target::name("a")).await.unwrap_err();
    match &err {
        ReconcileError::NameLookupIncomplete { name, unreadable } => {
            assert_eq!(name, "a");
            assert_eq!(
                unreadable.iter().map(|(_, k)| *k).collect::<Vec<_>>(),
                [ErrorKind::AccessDenied]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(backend.writes(), []);
    assert_eq!(backend.key_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn orphan_after_partial_create_rerun_while_new_key_is_invisible_to_reads() {
    // Right after CreateKey, reads of the new key may answer NotFound for a while (eventual
    // consistency); ListKeys already lists it. The re-run waits for it instead of creating.
    let (backend, r) = setup();
    let d = spec(KmsKeySpec::builder().description("d"));
    backend.hide_new_keys_from_reads(2);
    r.reconcile(&d, &Target::name("a")).await.unwrap();
    let again = r.reconcile(&d, &Target::name("a")).await.unwrap();
    assert_eq!(again.writes(), []);
    assert_eq!(backend.writes(), [CreateKey]);
    assert_eq!(backend.key_count(), 1);
}

#[tokio::test]
async fn named_key_pending_deletion_is_not_silently_replaced() {
    let (backend, r) = setup();
    let d = spec(KmsKeySpec::builder().description("d"));
    let first = r.reconcile(&d, &Target::name("a")).await.unwrap();
    r.destroy(&Target::name("a"), DeletionWindow::new(7).unwrap())
        .await
        .unwrap();
    backend.clear_calls();

    let err = r.reconcile(&d, &Target::name("a")).await.unwrap_err();
    match &err {
        ReconcileError::NamePendingDeletion { name, keys } => {
            assert_eq!(name, "a");
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].key_id, first.key_id);
            assert!(keys[0].deletion_date.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(backend.writes(), []);

    // Asked for explicitly: a new key beside the one pending deletion.
    let fresh = r
        .reconcile_with(
            &d,
            &Target::name("a"),
            &ReconcileOptions::default().with_new_key_while_pending(true),
        )
        .await
        .unwrap();
    assert!(fresh.created);
    assert_ne!(fresh.key_id, first.key_id);
    assert_eq!(backend.writes(), [CreateKey]);
    // From then on the live key is the name's key.
    assert_eq!(
        r.reconcile(&d, &Target::name("a")).await.unwrap().key_id,
        fresh.key_id
    );
}

async fn rotating_key_pending_deletion(r: &Reconciler, backend: &InMemoryBackend) -> String {
    let d = spec(
        KmsKeySpec::builder()
            .enable_key_rotation(true)
            .rotation_period_in_days(180),
    );
    let out = r.reconcile(&d, &Target::name("a")).await.unwrap();
    backend
        .schedule_key_deletion(&out.key_id, None)
        .await
        .unwrap();
    backend.clear_calls();
    out.key_id
}

#[tokio::test]
async fn restore_reads_rotation_after_cancel_and_makes_no_unneeded_rotation_write() {
    let (backend, r) = setup();
    let id = rotating_key_pending_deletion(&r, &backend).await;
    let d = spec(
        KmsKeySpec::builder()
            .enable_key_rotation(true)
            .rotation_period_in_days(180),
    );
    let planned = r
        .plan_with(&d, &Target::name("a"), &ReconcileOptions::restore(true))
        .await
        .unwrap();
    assert_eq!(planned.plan().operations(), [CancelKeyDeletion, EnableKey]);
    assert_eq!(planned.plan().notes().len(), 1);
    // No GetKeyRotationStatus while the key is pending deletion: KMS would say "off".
    assert!(
        !planned
            .api_calls()
            .iter()
            .any(|c| c.operation == GetKeyRotationStatus)
    );
    let out = r.apply(planned).await.unwrap();
    assert_eq!(out.key_id, id);
    assert_eq!(backend.writes(), [CancelKeyDeletion, EnableKey]);
    let status = backend.get_key_rotation_status(&id).await.unwrap();
    assert_eq!(
        (status.enabled, status.rotation_period_in_days),
        (true, Some(180))
    );
    assert!(
        r.plan(&d, &Target::key_id(&id))
            .await
            .unwrap()
            .plan()
            .is_empty()
    );
}

#[tokio::test]
async fn restore_turns_rotation_off_when_the_spec_says_so() {
    let (backend, r) = setup();
    let id = rotating_key_pending_deletion(&r, &backend).await;
    let d = spec(KmsKeySpec::builder());
    let out = r
        .reconcile_with(&d, &Target::key_id(&id), &ReconcileOptions::restore(true))
        .await
        .unwrap();
    assert_eq!(
        backend.writes(),
        [CancelKeyDeletion, EnableKey, DisableKeyRotation]
    );
    assert_eq!(out.final_state.rotation.map(|r| r.enabled), Some(false));
    let again = r.reconcile(&d, &Target::key_id(&id)).await.unwrap();
    assert_eq!(again.writes(), []);
}

#[tokio::test]
async fn restore_of_a_key_meant_to_stay_disabled_with_matching_rotation_is_no_refusal() {
    let (backend, r) = setup();
    let id = rotating_key_pending_deletion(&r, &backend).await;
    let d = spec(
        KmsKeySpec::builder()
            .is_enabled(false)
            .enable_key_rotation(true)
            .rotation_period_in_days(180),
    );
    r.reconcile_with(&d, &Target::key_id(&id), &ReconcileOptions::restore(true))
        .await
        .unwrap();
    assert_eq!(backend.writes(), [CancelKeyDeletion]);
}

#[tokio::test]
async fn restore_then_a_rotation_change_on_a_key_staying_disabled_is_refused_after_the_restore() {
    let (backend, r) = setup();
    let id = rotating_key_pending_deletion(&r, &backend).await;
    let d = spec(KmsKeySpec::builder().is_enabled(false));
    let err = r
        .reconcile_with(&d, &Target::key_id(&id), &ReconcileOptions::restore(true))
        .await
        .unwrap_err();
    match &err {
        ReconcileError::RestoredThenRefused {
            key_id,
            source: PlanError::RotationOnDisabledKey { .. },
        } => {
            assert_eq!(key_id, &id)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.applied()
            .iter()
            .map(|c| c.operation())
            .collect::<Vec<_>>(),
        [CancelKeyDeletion]
    );
    assert_eq!(backend.writes(), [CancelKeyDeletion]);
}

#[tokio::test]
async fn a_stale_create_plan_is_refused_instead_of_making_a_second_key() {
    let (backend, r) = setup();
    let d = spec(KmsKeySpec::builder());
    let p1 = r.plan(&d, &Target::name("db")).await.unwrap();
    let p2 = r.plan(&d, &Target::name("db")).await.unwrap();
    r.apply(p1).await.unwrap();
    let err = r.apply(p2).await.unwrap_err();
    assert!(matches!(err, ReconcileError::StalePlan { .. }), "{err:?}");
    assert_eq!(backend.writes(), [CreateKey]);
    assert_eq!(backend.key_count(), 1);
}

#[tokio::test]
async fn tags_update_over_the_limit_with_the_ownership_tag_is_refused_before_any_write() {
    let (backend, r) = setup();
    let tags49: Vec<(String, String)> =
        (0..49).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    r.reconcile(
        &spec(KmsKeySpec::builder().tags(tags49.clone())),
        &Target::name("a"),
    )
    .await
    .unwrap();
    backend.clear_calls();
    let mut tags50 = tags49;
    tags50.push(("k49".into(), "v".into()));
    let d = spec(KmsKeySpec::builder().description("new").tags(tags50));
    let err = r.reconcile(&d, &Target::name("a")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ReconcileError::Plan(PlanError::TooManyTags { count: 50, kept: 1 })
        ),
        "{err:?}"
    );
    assert_eq!(backend.writes(), []);
}

#[tokio::test]
async fn schedule_and_cancel_deletion_are_not_retried_after_an_ambiguous_fault() {
    let (backend, r) = setup();
    let out = r
        .reconcile(&spec(KmsKeySpec::builder()), &Target::name("a"))
        .await
        .unwrap();
    backend.clear_calls();
    backend.fail_next(ScheduleKeyDeletion, 1, ErrorKind::Internal);
    let err = r
        .destroy(&Target::key_id(&out.key_id), DeletionWindow::DEFAULT)
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::Internal));
    assert_eq!(backend.writes(), [ScheduleKeyDeletion]);
    // The re-run reads what happened and schedules (or finds it scheduled).
    let again = r
        .destroy(&Target::key_id(&out.key_id), DeletionWindow::DEFAULT)
        .await
        .unwrap();
    assert!(again.scheduled);

    backend.clear_calls();
    backend.fail_next(CancelKeyDeletion, 1, ErrorKind::Transport);
    let d = spec(KmsKeySpec::builder());
    let err = r
        .reconcile_with(
            &d,
            &Target::key_id(&out.key_id),
            &ReconcileOptions::restore(true),
        )
        .await
        .unwrap_err();
    assert_eq!(err.backend_kind(), Some(ErrorKind::Transport));
    assert_eq!(backend.writes(), [CancelKeyDeletion]);
}

#[tokio::test(start_paused = true)]
async fn throttled_deletion_is_retried() {
    let (backend, r) = setup();
    let out = r
        .reconcile(&spec(KmsKeySpec::builder()), &Target::name("a"))
        .await
        .unwrap();
    backend.clear_calls();
    backend.fail_next(ScheduleKeyDeletion, 1, ErrorKind::Throttled);
    let d = r
        .destroy(&Target::key_id(&out.key_id), DeletionWindow::DEFAULT)
        .await
        .unwrap();
    assert!(d.scheduled);
    assert_eq!(backend.writes(), [ScheduleKeyDeletion, ScheduleKeyDeletion]);
}

#[tokio::test]
async fn destroy_by_name_of_a_key_already_pending_writes_nothing() {
    let (backend, r) = setup();
    let mut req = CreateKeyRequest::new();
    req.tags = vec![Tag::new("kms-key:name", "a")];
    let id = backend.create_key(req).await.unwrap().key_id;
    backend.schedule_key_deletion(&id, Some(7)).await.unwrap();
    backend.clear_calls();
    let d = r
        .destroy(&Target::name("a"), DeletionWindow::DEFAULT)
        .await
        .unwrap();
    assert!(!d.scheduled);
    assert_eq!(d.key_id, id);
    assert_eq!(backend.writes(), []);
}

#[tokio::test]
async fn a_malformed_key_id_is_a_typed_error_with_zero_calls() {
    let backend = Arc::new(InMemoryBackend::new());
    let r = Reconciler::new(backend.clone());
    let spec = KmsKeySpec::builder().build().unwrap();
    for bad in [
        "",
        "orders",
        "1234abcd-12ab-34cd-56ef-1234567890a",
        "mrk-1234",
        "arn:aws:kms:us-east-1:111122223333:key/",
        "arn:aws:s3:::bucket",
        "alias/",
        "arn:*:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms: :111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ] {
        let errors = [
            r.reconcile(&spec, &Target::key_id(bad)).await.unwrap_err(),
            r.plan(&spec, &Target::key_id(bad)).await.unwrap_err(),
            r.destroy(&Target::key_id(bad), DeletionWindow::default())
                .await
                .unwrap_err(),
            r.import(bad).await.unwrap_err(),
        ];
        for err in errors {
            let ReconcileError::Invalid(e) = err else {
                panic!("{bad:?}: {err:?}")
            };
            let found: Vec<(String, ErrorCode)> = e
                .errors()
                .iter()
                .map(|e| (e.field().to_string(), e.code()))
                .collect();
            assert_eq!(
                found,
                [("key_id".to_owned(), ErrorCode::InvalidKeyId)],
                "{bad:?}"
            );
        }
    }
    assert_eq!(backend.calls(), []);
    // Every form KMS takes passes the check (and is then looked up).
    for good in [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "alias/orders-db",
        "arn:aws:kms:us-east-1:111122223333:alias/orders/db",
        "arn:aws-iso-b:kms:us-isob-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "alias/team:orders",
    ] {
        let err = r.plan(&spec, &Target::key_id(good)).await.unwrap_err();
        assert!(
            matches!(err, ReconcileError::NotFound { .. }),
            "{good}: {err:?}"
        );
    }
}
