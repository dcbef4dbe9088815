//! The backend conformance suite: what AWS KMS does, written once, run on every backend.
//!
//! Each case in [`cases`] is an `async fn(&dyn KmsBackend)` that states one fact about KMS
//! (a round trip, a state transition, an error kind and message) against a *fresh* backend.
//! Cases never assume an account id, Region or partition: they read them from the ARN of a key
//! they created. They clean nothing up: every case gets its own backend.
//!
//! # Plugging in a backend
//!
//! In a test file (one per backend), declare this module and invoke the macro with a name for
//! the generated test module and an `async` expression that makes a fresh backend (anything
//! that implements `KmsBackend`):
//!
//! ```ignore
//! #[macro_use]
//! mod conformance;
//!
//! conformance_suite!(memory, async { kms_key::backend::memory::InMemoryBackend::new() });
//! ```
//!
//! This expands to `mod memory { ... }` with one `#[tokio::test]` per case, named after the
//! case (`cargo test --test backend_memory memory::tag_resource_adds_and_replaces_in_place`).
//!
//! A lax peer (an emulator that skips some of AWS's checks) lists the cases it cannot pass,
//! each with the reason; those tests are generated with `#[ignore = "reason"]`, never left out,
//! so `cargo test -- --ignored` shows exactly where the peer differs from AWS:
//!
//! ```ignore
//! conformance_suite!(moto, async { support::moto::backend() }, lax: [
//!     rotation_on_disabled_key_is_refused => "moto 5.2.5 accepts EnableKeyRotation on a disabled key",
//! ]);
//! ```
//!
//! A case name in a `lax` list that does not exist is a compile error. A new case is added by
//! writing its function in `cases.rs` and naming it in `for_each_case!` there (an unlisted case
//! is dead code, which `clippy -D warnings` refuses).
//!
//! The moto 5.2.5 instantiation, with the lax list a real run produced, is
//! `tests/backend_aws_conformance.rs`.

#[macro_use]
pub mod cases;

use kms_key::backend::{
    BackendError, CreateKeyRequest, ErrorKind, KeyListEntry, KeyMetadata, KmsBackend, Operation,
    Tag,
};
use kms_key::spec::{KeySpec, KeyUsage};

/// Expands the suite for one backend; see the module documentation.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ident, $make:expr $(,)?) => {
        $crate::conformance_suite!($backend, $make, lax: []);
    };
    ($backend:ident, $make:expr, lax: [ $( $case:ident => $reason:literal ),* $(,)? ] $(,)?) => {
        $crate::__conformance_suite_expand! { ($) $backend, $make, [ $( $case => $reason ),* ] }
    };
}

/// Implementation detail of `conformance_suite!`: `$d` is a literal `$`, so the expansion can
/// define a helper macro of its own (one arm per lax case, then the default arm).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_suite_expand {
    (($d:tt) $backend:ident, $make:expr, [ $( $lax:ident => $reason:literal ),* ]) => {
        mod $backend {
            // The constructor expression is written in the parent module's scope.
            #[allow(unused_imports)]
            use super::*;

            // A lax entry must name a real case.
            #[allow(dead_code, path_statements)]
            fn lax_cases_exist() {
                $( let _ = $crate::conformance::cases::$lax; )*
            }

            macro_rules! conformance_case {
                $(
                    ($lax) => {
                        #[tokio::test]
                        #[ignore = $reason]
                        async fn $lax() {
                            let backend = $make.await;
                            $crate::conformance::cases::$lax(&backend).await;
                        }
                    };
                )*
                ($d case:ident) => {
                    #[tokio::test]
                    async fn $d case() {
                        let backend = $make.await;
                        $crate::conformance::cases::$d case(&backend).await;
                    }
                };
            }

            $crate::for_each_case!(conformance_case);
        }
    };
}

// ----- helpers for the cases -----

/// Where a key lives, read from its ARN: `arn:<partition>:kms:<region>:<account>:key/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Location {
    pub fn of(key: &KeyMetadata) -> Self {
        let parts: Vec<&str> = key.arn.splitn(6, ':').collect();
        assert_eq!(parts.len(), 6, "not an ARN: {}", key.arn);
        assert_eq!(parts[0], "arn");
        assert_eq!(parts[2], "kms");
        assert_eq!(parts[4], key.aws_account_id, "ARN account = AWSAccountId");
        Self {
            partition: parts[1].to_owned(),
            region: parts[3].to_owned(),
            account: parts[4].to_owned(),
        }
    }

    pub fn key_arn(&self, key_id: &str) -> String {
        format!(
            "arn:{}:kms:{}:{}:key/{key_id}",
            self.partition, self.region, self.account
        )
    }

    pub fn root(&self) -> String {
        format!("arn:{}:iam::{}:root", self.partition, self.account)
    }

    pub fn role(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:role/{name}", self.partition, self.account)
    }

    /// A policy granting `kms:*` to the account root, as the field reports' `P_root`.
    pub fn root_policy(&self) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"kms:*","Resource":"*"}}]}}"#,
            self.root()
        )
    }

    /// The policy KMS gives a key created without one (recorded ground truth).
    pub fn default_policy(&self) -> serde_json::Value {
        json(&format!(
            r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"kms:*","Resource":"*"}}]}}"#,
            self.root()
        ))
    }
}

/// A well-formed key id that no backend has (the AWS documentation's example id).
pub const UNKNOWN_KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// Parses JSON text; policies are compared by meaning (as values), never as text.
#[track_caller]
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A CreateKey request with the given spec and usage.
pub fn spec_request(spec: KeySpec, usage: Option<KeyUsage>) -> CreateKeyRequest {
    let mut request = CreateKeyRequest::new();
    request.key_spec = Some(spec);
    request.key_usage = usage;
    request
}

/// Creates a key or fails the test.
pub async fn create(kms: &dyn KmsBackend, request: CreateKeyRequest) -> KeyMetadata {
    match kms.create_key(request.clone()).await {
        Ok(key) => key,
        Err(e) => panic!("CreateKey {request:?} failed: {e}"),
    }
}

/// Creates a default key (symmetric, enabled).
pub async fn create_default(kms: &dyn KmsBackend) -> KeyMetadata {
    create(kms, CreateKeyRequest::new()).await
}

/// Every tag of a key, following NextMarker, sorted by key.
pub async fn all_tags(kms: &dyn KmsBackend, key_id: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..1000 {
        let page = kms
            .list_resource_tags(key_id, marker.as_deref())
            .await
            .expect("ListResourceTags");
        tags.extend(page.tags);
        match page.next_marker {
            Some(next) => marker = Some(next),
            None => {
                tags.sort();
                return tags;
            }
        }
    }
    panic!("ListResourceTags never ended");
}

/// Every key listed, following NextMarker.
pub async fn all_keys(kms: &dyn KmsBackend) -> Vec<KeyListEntry> {
    let mut keys = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..10_000 {
        let page = kms.list_keys(marker.as_deref()).await.expect("ListKeys");
        keys.extend(page.keys);
        match page.next_marker {
            Some(next) => marker = Some(next),
            None => return keys,
        }
    }
    panic!("ListKeys never ended");
}

/// Asserts an error of exactly `kind` with exactly `message`.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(
    result: Result<T, BackendError>,
    kind: ErrorKind,
    message: &str,
) {
    match result {
        Ok(v) => panic!("expected {kind:?} \"{message}\", got Ok({v:?})"),
        Err(e) => {
            assert_eq!((e.kind(), e.message()), (kind, message), "wrong error: {e}");
        }
    }
}

/// Asserts an error of exactly `kind` (for errors whose AWS message is not recorded).
#[track_caller]
pub fn assert_error_kind<T: std::fmt::Debug>(result: Result<T, BackendError>, kind: ErrorKind) {
    match result {
        Ok(v) => panic!("expected {kind:?}, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "wrong error: {e}"),
    }
}

/// `n` distinct tags `k00 = v00`, ...
pub fn numbered_tags(n: usize, prefix: &str) -> Vec<Tag> {
    (0..n)
        .map(|i| Tag::new(format!("{prefix}{i:02}"), format!("v{i:02}")))
        .collect()
}

/// Makes one call of `operation` on `key_id` with canned arguments (`policy` for PutKeyPolicy,
/// defaults elsewhere; TagResource adds `added = 1`, UntagResource removes `env`). CreateKey and
/// ListKeys ignore `key_id`.
pub async fn call_op(
    kms: &dyn KmsBackend,
    operation: Operation,
    key_id: &str,
    policy: &str,
) -> Result<(), BackendError> {
    match operation {
        Operation::CreateKey => kms.create_key(CreateKeyRequest::new()).await.map(drop),
        Operation::DescribeKey => kms.describe_key(key_id).await.map(drop),
        Operation::GetKeyPolicy => kms.get_key_policy(key_id).await.map(drop),
        Operation::PutKeyPolicy => kms.put_key_policy(key_id, policy, false).await,
        Operation::GetKeyRotationStatus => kms.get_key_rotation_status(key_id).await.map(drop),
        Operation::EnableKeyRotation => kms.enable_key_rotation(key_id, None).await,
        Operation::DisableKeyRotation => kms.disable_key_rotation(key_id).await,
        Operation::EnableKey => kms.enable_key(key_id).await,
        Operation::DisableKey => kms.disable_key(key_id).await,
        Operation::UpdateKeyDescription => kms.update_key_description(key_id, "changed").await,
        Operation::ListResourceTags => kms.list_resource_tags(key_id, None).await.map(drop),
        Operation::TagResource => kms.tag_resource(key_id, &[Tag::new("added", "1")]).await,
        Operation::UntagResource => kms.untag_resource(key_id, &["env".to_owned()]).await,
        Operation::ScheduleKeyDeletion => kms.schedule_key_deletion(key_id, None).await.map(drop),
        Operation::CancelKeyDeletion => kms.cancel_key_deletion(key_id).await.map(drop),
        Operation::ListKeys => kms.list_keys(None).await.map(drop),
        other => panic!("no canned call for {other}: add it to call_op"),
    }
}
