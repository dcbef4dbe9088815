//! The public types can cross threads and live in `Arc`s and error chains.

use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::{
    BackendError, CreateKeyRequest, ErrorKind, KeyMetadata, KmsBackend, Operation,
};
use kms_key::observed::ObservedKey;
use kms_key::plan::{Change, Plan, PlanError};
use kms_key::policy::KeyPolicy;
use kms_key::reconcile::{
    ApiCall, DestroyOutcome, Outcome, Planned, ReconcileError, Reconciler, Target,
};
use kms_key::spec::{KmsKeySpec, KmsKeySpecBuilder};
use kms_key::{RetryPolicy, ValidationError, ValidationErrors, Warning};

fn send_sync_static<T: Send + Sync + 'static>() {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn public_types_are_send_sync_static() {
    send_sync_static::<KmsKeySpec>();
    send_sync_static::<KmsKeySpecBuilder>();
    send_sync_static::<KeyPolicy>();
    send_sync_static::<Warning>();
    send_sync_static::<ObservedKey>();
    send_sync_static::<Plan>();
    send_sync_static::<Change>();
    send_sync_static::<Planned>();
    send_sync_static::<Outcome>();
    send_sync_static::<DestroyOutcome>();
    send_sync_static::<ApiCall>();
    send_sync_static::<Target>();
    send_sync_static::<Reconciler>();
    send_sync_static::<RetryPolicy>();
    send_sync_static::<CreateKeyRequest>();
    send_sync_static::<KeyMetadata>();
    send_sync_static::<Operation>();
    send_sync_static::<ErrorKind>();
    send_sync_static::<InMemoryBackend>();
    send_sync_static::<std::sync::Arc<dyn KmsBackend>>();
    #[cfg(feature = "aws")]
    send_sync_static::<kms_key::backend::aws::AwsBackend>();
}

#[test]
fn errors_are_std_errors_that_cross_threads() {
    error::<ValidationError>();
    error::<ValidationErrors>();
    error::<PlanError>();
    error::<ReconcileError>();
    error::<BackendError>();
    error::<kms_key::backend::memory::SnapshotError>();
    error::<kms_key::spec::UnknownValue>();
}

#[test]
fn reconcile_errors_keep_their_cause() {
    use std::error::Error as _;
    let source = BackendError::new(ErrorKind::AccessDenied, Operation::CreateKey, "no");
    let e = ReconcileError::Backend {
        operation: Operation::CreateKey,
        key_id: None,
        applied: Vec::new(),
        api_calls: Vec::new(),
        source: Box::new(source),
    };
    let cause = e.source().expect("the backend error is the source");
    assert_eq!(
        cause.to_string(),
        "CreateKey: access denied (AccessDeniedException): no"
    );
}
