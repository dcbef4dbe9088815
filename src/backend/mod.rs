//! The one door to KMS: the [`KmsBackend`] trait, its requests and answers, and its errors.
//!
//! Requests and answers are this crate's own types, named after the KMS API, so users of the
//! [`InMemoryBackend`](memory::InMemoryBackend) never compile the AWS SDK. Values are passed as
//! KMS receives them (a window of 1 day can be *sent*; the backend refuses it as AWS does):
//! the backend is where AWS's own rules are enforced, the spec is where this crate's are.

use std::fmt;

use async_trait::async_trait;
use aws_smithy_types::DateTime;
use serde::Serialize;

use crate::spec::{KeySpec, KeyState, KeyUsage, Origin};

pub mod memory;
pub mod rate_limit;

#[cfg(feature = "aws")]
pub mod aws;

/// A KMS API operation this crate calls, named as in the KMS API reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum Operation {
    /// `CreateKey`
    CreateKey,
    /// `DescribeKey`
    DescribeKey,
    /// `GetKeyPolicy`
    GetKeyPolicy,
    /// `PutKeyPolicy`
    PutKeyPolicy,
    /// `GetKeyRotationStatus`
    GetKeyRotationStatus,
    /// `EnableKeyRotation`
    EnableKeyRotation,
    /// `DisableKeyRotation`
    DisableKeyRotation,
    /// `EnableKey`
    EnableKey,
    /// `DisableKey`
    DisableKey,
    /// `UpdateKeyDescription`
    UpdateKeyDescription,
    /// `ListResourceTags`
    ListResourceTags,
    /// `TagResource`
    TagResource,
    /// `UntagResource`
    UntagResource,
    /// `ScheduleKeyDeletion`
    ScheduleKeyDeletion,
    /// `CancelKeyDeletion`
    CancelKeyDeletion,
    /// `ListKeys`
    ListKeys,
}

impl Operation {
    /// Every operation.
    pub const ALL: &'static [Operation] = &[
        Operation::CreateKey,
        Operation::DescribeKey,
        Operation::GetKeyPolicy,
        Operation::PutKeyPolicy,
        Operation::GetKeyRotationStatus,
        Operation::EnableKeyRotation,
        Operation::DisableKeyRotation,
        Operation::EnableKey,
        Operation::DisableKey,
        Operation::UpdateKeyDescription,
        Operation::ListResourceTags,
        Operation::TagResource,
        Operation::UntagResource,
        Operation::ScheduleKeyDeletion,
        Operation::CancelKeyDeletion,
        Operation::ListKeys,
    ];

    /// The KMS API name, e.g. `"PutKeyPolicy"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::CreateKey => "CreateKey",
            Operation::DescribeKey => "DescribeKey",
            Operation::GetKeyPolicy => "GetKeyPolicy",
            Operation::PutKeyPolicy => "PutKeyPolicy",
            Operation::GetKeyRotationStatus => "GetKeyRotationStatus",
            Operation::EnableKeyRotation => "EnableKeyRotation",
            Operation::DisableKeyRotation => "DisableKeyRotation",
            Operation::EnableKey => "EnableKey",
            Operation::DisableKey => "DisableKey",
            Operation::UpdateKeyDescription => "UpdateKeyDescription",
            Operation::ListResourceTags => "ListResourceTags",
            Operation::TagResource => "TagResource",
            Operation::UntagResource => "UntagResource",
            Operation::ScheduleKeyDeletion => "ScheduleKeyDeletion",
            Operation::CancelKeyDeletion => "CancelKeyDeletion",
            Operation::ListKeys => "ListKeys",
        }
    }

    /// Whether the operation changes anything (reads are `DescribeKey`, `Get*` and `List*`).
    pub const fn is_write(self) -> bool {
        !matches!(
            self,
            Operation::DescribeKey
                | Operation::GetKeyPolicy
                | Operation::GetKeyRotationStatus
                | Operation::ListResourceTags
                | Operation::ListKeys
        )
    }

    /// KMS's published request quota for the operation, in requests per second per account
    /// and Region (AWS KMS developer guide, "Request quotas").
    pub const fn default_quota_per_second(self) -> u32 {
        match self {
            Operation::CreateKey => 5,
            Operation::DescribeKey => 2000,
            Operation::GetKeyPolicy => 1000,
            Operation::PutKeyPolicy => 15,
            Operation::GetKeyRotationStatus => 1000,
            Operation::EnableKeyRotation => 15,
            Operation::DisableKeyRotation => 5,
            Operation::EnableKey | Operation::DisableKey => 5,
            Operation::UpdateKeyDescription => 5,
            Operation::TagResource => 10,
            Operation::UntagResource => 5,
            Operation::ListResourceTags => 2000,
            Operation::ScheduleKeyDeletion => 15,
            Operation::CancelKeyDeletion => 5,
            Operation::ListKeys => 500,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One resource tag as KMS stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Tag {
    /// `TagKey`
    pub key: String,
    /// `TagValue`
    pub value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The arguments of `CreateKey`. Unset fields are left out of the request, so AWS applies its
/// defaults (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, AWS_KMS, the default key policy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateKeyRequest {
    /// `Description`
    pub description: Option<String>,
    /// `Policy` (JSON text)
    pub policy: Option<String>,
    /// `BypassPolicyLockoutSafetyCheck`
    pub bypass_policy_lockout_safety_check: bool,
    /// `KeySpec`
    pub key_spec: Option<KeySpec>,
    /// `KeyUsage`
    pub key_usage: Option<KeyUsage>,
    /// `Origin`
    pub origin: Option<Origin>,
    /// `CustomKeyStoreId`
    pub custom_key_store_id: Option<String>,
    /// `XksKeyId`
    pub xks_key_id: Option<String>,
    /// `MultiRegion`
    pub multi_region: bool,
    /// `Tags`
    pub tags: Vec<Tag>,
}

impl CreateKeyRequest {
    /// An empty request: a symmetric encryption key with every AWS default.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Whether a multi-Region key is the primary or a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum MultiRegionKeyType {
    /// `PRIMARY`
    Primary,
    /// `REPLICA`
    Replica,
}

/// What `DescribeKey` (and `CreateKey`) answer about a key: `KeyMetadata` in the KMS API.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KeyMetadata {
    /// `KeyId`: the key id (a UUID, or `mrk-` and 32 hex digits for a multi-Region key).
    pub key_id: String,
    /// `Arn`
    pub arn: String,
    /// `AWSAccountId`
    pub aws_account_id: String,
    /// `CreationDate`
    pub creation_date: Option<DateTime>,
    /// `Enabled`
    pub enabled: bool,
    /// `Description` (AWS answers an empty string when none was set).
    pub description: String,
    /// `KeyUsage`
    pub key_usage: KeyUsage,
    /// `KeyState`
    pub key_state: KeyState,
    /// `DeletionDate`: set while the key is pending deletion.
    pub deletion_date: Option<DateTime>,
    /// `Origin`
    pub origin: Origin,
    /// `CustomKeyStoreId`
    pub custom_key_store_id: Option<String>,
    /// `XksKeyConfiguration.Id`
    pub xks_key_id: Option<String>,
    /// `KeySpec`
    pub key_spec: KeySpec,
    /// `EncryptionAlgorithms`
    pub encryption_algorithms: Vec<String>,
    /// `SigningAlgorithms`
    pub signing_algorithms: Vec<String>,
    /// `MacAlgorithms`
    pub mac_algorithms: Vec<String>,
    /// `MultiRegion`
    pub multi_region: bool,
    /// `MultiRegionConfiguration.MultiRegionKeyType`, for multi-Region keys.
    pub multi_region_key_type: Option<MultiRegionKeyType>,
    /// `PendingDeletionWindowInDays`
    pub pending_deletion_window_in_days: Option<i32>,
}

/// What `GetKeyRotationStatus` answers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RotationStatus {
    /// `KeyRotationEnabled`
    pub enabled: bool,
    /// `RotationPeriodInDays`: only present while rotation is on (and missing on some peers).
    pub rotation_period_in_days: Option<i32>,
    /// `NextRotationDate`
    pub next_rotation_date: Option<DateTime>,
}

impl RotationStatus {
    /// A status with the given fields.
    pub fn new(enabled: bool, rotation_period_in_days: Option<i32>) -> Self {
        Self {
            enabled,
            rotation_period_in_days,
            next_rotation_date: None,
        }
    }
}

/// One page of `ListResourceTags`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TagPage {
    /// `Tags`
    pub tags: Vec<Tag>,
    /// `NextMarker`: where the next page starts; `None` on the last page.
    pub next_marker: Option<String>,
}

/// One entry of `ListKeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyListEntry {
    /// `KeyId`
    pub key_id: String,
    /// `KeyArn`
    pub key_arn: String,
}

/// One page of `ListKeys`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct KeyPage {
    /// `Keys`
    pub keys: Vec<KeyListEntry>,
    /// `NextMarker`: where the next page starts; `None` on the last page.
    pub next_marker: Option<String>,
}

/// What `ScheduleKeyDeletion` answers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeletionScheduled {
    /// `KeyId` (the key ARN)
    pub key_id: String,
    /// `DeletionDate`
    pub deletion_date: Option<DateTime>,
    /// `KeyState`
    pub key_state: Option<KeyState>,
    /// `PendingWindowInDays`
    pub pending_window_in_days: Option<i32>,
}

/// The kind of a [`BackendError`]: KMS's exceptions, grouped by what a caller can do about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `NotFoundException`: no such key (or not visible yet).
    NotFound,
    /// `DisabledException`: the key is disabled.
    Disabled,
    /// `KMSInvalidStateException`: the key's state does not allow the operation.
    InvalidState,
    /// `MalformedPolicyDocumentException` because the policy would lock the caller out of
    /// PutKeyPolicy (the policy lockout safety check). Never retried.
    PolicyLockout,
    /// `MalformedPolicyDocumentException` because a principal does not exist (yet): a freshly
    /// created IAM principal can take seconds to become visible to KMS.
    InvalidPrincipals,
    /// `MalformedPolicyDocumentException` for any other reason (syntax, structure).
    MalformedPolicy,
    /// `LimitExceededException`: a resource quota (keys per account, ...).
    LimitExceeded,
    /// `TagException`: tags AWS refuses.
    Tag,
    /// `UnsupportedOperationException`: the operation does not apply to this kind of key.
    UnsupportedOperation,
    /// `ThrottlingException`: a request quota was exceeded.
    Throttled,
    /// `KMSInternalException`: a fault inside KMS.
    Internal,
    /// `DependencyTimeoutException`: KMS timed out on a service it depends on.
    DependencyTimeout,
    /// `AccessDeniedException`: the caller may not make this call.
    AccessDenied,
    /// `ValidationException` (or `InvalidArnException`): a parameter AWS refuses.
    Validation,
    /// `CustomKeyStoreNotFoundException`
    CustomKeyStoreNotFound,
    /// `CustomKeyStoreInvalidStateException`: e.g. the store is not connected.
    CustomKeyStoreInvalidState,
    /// The request never got a service answer (connection refused, timed out, I/O).
    Transport,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The KMS exception name this kind stands for (`"Transport"`/`"Other"` for non-service errors).
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NotFoundException",
            ErrorKind::Disabled => "DisabledException",
            ErrorKind::InvalidState => "KMSInvalidStateException",
            ErrorKind::PolicyLockout
            | ErrorKind::InvalidPrincipals
            | ErrorKind::MalformedPolicy => "MalformedPolicyDocumentException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::Tag => "TagException",
            ErrorKind::UnsupportedOperation => "UnsupportedOperationException",
            ErrorKind::Throttled => "ThrottlingException",
            ErrorKind::Internal => "KMSInternalException",
            ErrorKind::DependencyTimeout => "DependencyTimeoutException",
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::Validation => "ValidationException",
            ErrorKind::CustomKeyStoreNotFound => "CustomKeyStoreNotFoundException",
            ErrorKind::CustomKeyStoreInvalidState => "CustomKeyStoreInvalidStateException",
            ErrorKind::Transport => "Transport",
            ErrorKind::Other => "Other",
        }
    }

    /// Whether the same request may succeed if sent again unchanged, with no other change in
    /// the world: transient service faults, throttling and transport failures. Errors that can
    /// pass only after something else happens (NotFound after a create, InvalidPrincipals after
    /// IAM propagation, Disabled after an EnableKey) are retried by the engine only in those
    /// situations, not here.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::Internal
                | ErrorKind::DependencyTimeout
                | ErrorKind::Transport
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ErrorKind::NotFound => "key not found",
            ErrorKind::Disabled => "key is disabled",
            ErrorKind::InvalidState => "key state does not allow this operation",
            ErrorKind::PolicyLockout => "policy would lock the caller out of the key",
            ErrorKind::InvalidPrincipals => "policy names a principal that does not exist (yet)",
            ErrorKind::MalformedPolicy => "malformed key policy",
            ErrorKind::LimitExceeded => "limit exceeded",
            ErrorKind::Tag => "tags refused",
            ErrorKind::UnsupportedOperation => "operation not supported for this key",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Internal => "KMS internal error",
            ErrorKind::DependencyTimeout => "KMS dependency timeout",
            ErrorKind::AccessDenied => "access denied",
            ErrorKind::Validation => "request refused by validation",
            ErrorKind::CustomKeyStoreNotFound => "custom key store not found",
            ErrorKind::CustomKeyStoreInvalidState => "custom key store state does not allow this",
            ErrorKind::Transport => "no answer from the service",
            ErrorKind::Other => "unexpected error",
        };
        f.write_str(text)
    }
}

/// A failed backend call: its kind, the operation, the service's own message and request id.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {kind} ({}): {message}{}", kind.code(), request_id.as_deref().map(|r| format!(" [request id {r}]")).unwrap_or_default())]
pub struct BackendError {
    kind: ErrorKind,
    operation: Operation,
    message: String,
    request_id: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BackendError {
    /// An error of `kind` from `operation` with the service's message.
    pub fn new(kind: ErrorKind, operation: Operation, message: impl Into<String>) -> Self {
        Self {
            kind,
            operation,
            message: message.into(),
            request_id: None,
            source: None,
        }
    }

    /// The same error with the service's request id.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The same error with its underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The service's message, as it sent it (may be empty: AWS sends none for malformed JSON).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The request id, when the service sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Shorthand for `self.kind().is_retryable()`.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

/// A KMS endpoint: AWS itself (`aws::AwsBackend`, feature `aws`) or the in-memory one
/// ([`memory::InMemoryBackend`]).
///
/// Keys are addressed by key id or key ARN (`key_id` parameters accept both), as in the KMS API.
/// Implementations must be cheap to share (`Arc<dyn KmsBackend>`) and safe to call from many
/// tasks at once.
#[async_trait]
pub trait KmsBackend: Send + Sync + fmt::Debug {
    /// `CreateKey`
    async fn create_key(&self, request: CreateKeyRequest) -> Result<KeyMetadata, BackendError>;
    /// `DescribeKey`
    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata, BackendError>;
    /// `GetKeyPolicy` of the `default` policy: the policy JSON text.
    async fn get_key_policy(&self, key_id: &str) -> Result<String, BackendError>;
    /// `PutKeyPolicy` of the `default` policy.
    async fn put_key_policy(
        &self,
        key_id: &str,
        policy: &str,
        bypass_policy_lockout_safety_check: bool,
    ) -> Result<(), BackendError>;
    /// `GetKeyRotationStatus`
    async fn get_key_rotation_status(&self, key_id: &str) -> Result<RotationStatus, BackendError>;
    /// `EnableKeyRotation`, with `RotationPeriodInDays` when given (AWS's default is 365).
    async fn enable_key_rotation(
        &self,
        key_id: &str,
        rotation_period_in_days: Option<i32>,
    ) -> Result<(), BackendError>;
    /// `DisableKeyRotation`
    async fn disable_key_rotation(&self, key_id: &str) -> Result<(), BackendError>;
    /// `EnableKey`
    async fn enable_key(&self, key_id: &str) -> Result<(), BackendError>;
    /// `DisableKey`
    async fn disable_key(&self, key_id: &str) -> Result<(), BackendError>;
    /// `UpdateKeyDescription`
    async fn update_key_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), BackendError>;
    /// `ListResourceTags`: one page, starting at `marker`.
    async fn list_resource_tags(
        &self,
        key_id: &str,
        marker: Option<&str>,
    ) -> Result<TagPage, BackendError>;
    /// `TagResource`: adds tags, replacing the values of keys that exist.
    async fn tag_resource(&self, key_id: &str, tags: &[Tag]) -> Result<(), BackendError>;
    /// `UntagResource`: removes tag keys; keys that are not there are not an error.
    async fn untag_resource(&self, key_id: &str, tag_keys: &[String]) -> Result<(), BackendError>;
    /// `ScheduleKeyDeletion` with `PendingWindowInDays` when given (AWS's default is 30).
    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        pending_window_in_days: Option<i32>,
    ) -> Result<DeletionScheduled, BackendError>;
    /// `CancelKeyDeletion`: answers the key id (an ARN, as AWS does).
    async fn cancel_key_deletion(&self, key_id: &str) -> Result<String, BackendError>;
    /// `ListKeys`: one page, starting at `marker`. Implementations ask for KMS's largest page
    /// (1000 keys), so that a name scan makes as few calls as the API allows.
    async fn list_keys(&self, marker: Option<&str>) -> Result<KeyPage, BackendError>;
}

/// A shared backend is a backend: `Arc<dyn KmsBackend>` (or `Arc<InMemoryBackend>`) can be
/// wrapped, e.g. in [`RateLimited`](rate_limit::RateLimited), like the backend it holds.
#[async_trait]
impl<T: KmsBackend + ?Sized> KmsBackend for std::sync::Arc<T> {
    async fn create_key(&self, request: CreateKeyRequest) -> Result<KeyMetadata, BackendError> {
        (**self).create_key(request).await
    }
    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata, BackendError> {
        (**self).describe_key(key_id).await
    }
    async fn get_key_policy(&self, key_id: &str) -> Result<String, BackendError> {
        (**self).get_key_policy(key_id).await
    }
    async fn put_key_policy(
        &self,
        key_id: &str,
        policy: &str,
        bypass_policy_lockout_safety_check: bool,
    ) -> Result<(), BackendError> {
        (**self)
            .put_key_policy(key_id, policy, bypass_policy_lockout_safety_check)
            .await
    }
    async fn get_key_rotation_status(&self, key_id: &str) -> Result<RotationStatus, BackendError> {
        (**self).get_key_rotation_status(key_id).await
    }
    async fn enable_key_rotation(
        &self,
        key_id: &str,
        rotation_period_in_days: Option<i32>,
    ) -> Result<(), BackendError> {
        (**self)
            .enable_key_rotation(key_id, rotation_period_in_days)
            .await
    }
    async fn disable_key_rotation(&self, key_id: &str) -> Result<(), BackendError> {
        (**self).disable_key_rotation(key_id).await
    }
    async fn enable_key(&self, key_id: &str) -> Result<(), BackendError> {
        (**self).enable_key(key_id).await
    }
    async fn disable_key(&self, key_id: &str) -> Result<(), BackendError> {
        (**self).disable_key(key_id).await
    }
    async fn update_key_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), BackendError> {
        (**self).update_key_description(key_id, description).await
    }
    async fn list_resource_tags(
        &self,
        key_id: &str,
        marker: Option<&str>,
    ) -> Result<TagPage, BackendError> {
        (**self).list_resource_tags(key_id, marker).await
    }
    async fn tag_resource(&self, key_id: &str, tags: &[Tag]) -> Result<(), BackendError> {
        (**self).tag_resource(key_id, tags).await
    }
    async fn untag_resource(&self, key_id: &str, tag_keys: &[String]) -> Result<(), BackendError> {
        (**self).untag_resource(key_id, tag_keys).await
    }
    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        pending_window_in_days: Option<i32>,
    ) -> Result<DeletionScheduled, BackendError> {
        (**self)
            .schedule_key_deletion(key_id, pending_window_in_days)
            .await
    }
    async fn cancel_key_deletion(&self, key_id: &str) -> Result<String, BackendError> {
        (**self).cancel_key_deletion(key_id).await
    }
    async fn list_keys(&self, marker: Option<&str>) -> Result<KeyPage, BackendError> {
        (**self).list_keys(marker).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds() {
        let retryable: Vec<_> = [
            ErrorKind::NotFound,
            ErrorKind::Disabled,
            ErrorKind::PolicyLockout,
            ErrorKind::InvalidPrincipals,
            ErrorKind::Throttled,
            ErrorKind::Internal,
            ErrorKind::DependencyTimeout,
            ErrorKind::AccessDenied,
            ErrorKind::Validation,
            ErrorKind::Transport,
        ]
        .into_iter()
        .filter(|k| k.is_retryable())
        .collect();
        assert_eq!(
            retryable,
            [
                ErrorKind::Throttled,
                ErrorKind::Internal,
                ErrorKind::DependencyTimeout,
                ErrorKind::Transport
            ]
        );
    }

    #[test]
    fn error_display_names_operation_code_and_request_id() {
        let e = BackendError::new(
            ErrorKind::Disabled,
            Operation::EnableKeyRotation,
            "arn:x is disabled.",
        )
        .with_request_id("r-1");
        assert_eq!(
            e.to_string(),
            "EnableKeyRotation: key is disabled (DisabledException): arn:x is disabled. [request id r-1]"
        );
    }
}
