//! The AWS backend: [`AwsBackend`], the [`KmsBackend`] trait on [aws-sdk-kms](aws_sdk_kms).
//!
//! # Who retries what
//!
//! Exactly one layer retries a failed call, so that no error is retried by both layers
//! multiplicatively (3 SDK attempts × 5 engine attempts = 15 requests against a throttled
//! quota is how a retry storm starts):
//!
//! - **The reconcile engine owns every retry decision.** Its policy is typed and bounded: it
//!   retries [`ErrorKind::is_retryable`] kinds (throttling, KMS internal faults, dependency
//!   timeouts, transport failures) and situational errors only in their situation (`NotFound`
//!   right after its own `CreateKey`, `InvalidPrincipals` while IAM propagates).
//! - **The SDK does not retry.** Every constructor except [`AwsBackend::with_sdk_retries`]
//!   sets the client's [`RetryConfig`] to [`RetryConfig::disabled`] (one attempt per call),
//!   also on a [`Client`] the caller built: it is rebuilt from `client.config().to_builder()`
//!   with only the retry and timeout settings changed (endpoint, credentials, Region, HTTP
//!   client and interceptors are kept). `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE` and a caller's
//!   own retry config are therefore ignored by these constructors.
//! - **Escape hatch:** [`AwsBackend::with_sdk_retries`] keeps the caller's client exactly as
//!   configured, SDK retries included. Use it only when the engine's retries are off (or when
//!   the backend is used without the engine); otherwise both layers retry.
//!
//! Credential providers (IMDS, STS, SSO) keep their own retries: those are not KMS calls and
//! the engine never sees them.
//!
//! # Timeouts
//!
//! With SDK retries disabled one call is one attempt, so the operation timeout bounds a single
//! request. Where the caller's configuration leaves a timeout unset, these constructors apply
//! [`DEFAULT_CONNECT_TIMEOUT`] and [`DEFAULT_OPERATION_TIMEOUT`]; a timeout the caller set (or
//! explicitly disabled) in the [`SdkConfig`] or client config is kept. To choose your own, set
//! [`TimeoutConfig`] on the `SdkConfig`/client before handing it over. A timeout surfaces as
//! [`ErrorKind::Transport`].
//!
//! # Addressing keys
//!
//! `key_id` arguments accept a key id, a key ARN, an alias name or an alias ARN, as the KMS API
//! does. A key ARN in the client's own Region is sent as its bare key id (the part after
//! `key/`): some KMS peers (moto) fail with HTTP 500 when EnableKey, DisableKey,
//! ScheduleKeyDeletion or CancelKeyDeletion get an ARN, and for an operation that only works
//! on keys of the caller's own account the id names the same key. Two exceptions keep the ARN:
//!
//! - a key ARN of *another* Region is sent unchanged, so that AWS refuses it. Stripping it
//!   would silently address a different key: the replicas of a multi-Region key share one
//!   `mrk-` id in every Region.
//! - `DescribeKey` and `GetKeyRotationStatus` get the ARN unchanged: they are the two calls
//!   here that work across accounts, and only the ARN names the other account.
//!
//! Alias names and ARNs are always passed through unchanged.
//!
//! # Errors
//!
//! SDK errors become [`BackendError`]s by their error code (see [`ErrorKind`]); the service's
//! message and request id are kept and the SDK error is the error's
//! [`source`](std::error::Error::source). The key policy is always the one named `default`,
//! sent explicitly as `PolicyName`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_kms::Client;
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::types as sdk;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use super::{
    BackendError, CreateKeyRequest, DeletionScheduled, ErrorKind, KeyListEntry, KeyMetadata,
    KeyPage, KmsBackend, MultiRegionKeyType, Operation, RotationStatus, Tag, TagPage,
};
use crate::spec::{KeySpec, KeyState, Origin, UnknownValue};

/// The name of the only key policy KMS supports. Sent explicitly because some peers (moto)
/// do not default it.
const POLICY_NAME: &str = "default";

/// Connect timeout applied when the caller's configuration sets none (the SDK's own default
/// for current behavior versions).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(3_100);

/// Timeout of one whole call (one attempt, as the SDK does not retry) applied when the
/// caller's configuration sets none. KMS control-plane calls answer in milliseconds; this
/// bounds a hung connection, not a slow service.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`KmsBackend`] that calls AWS KMS (or any endpoint speaking its protocol) through
/// aws-sdk-kms.
///
/// Cheap to clone (the SDK client is reference-counted) and safe to share between tasks. See
/// the [module documentation](self) for retries, timeouts and key addressing.
#[derive(Clone)]
pub struct AwsBackend {
    client: Client,
    sdk_retries: bool,
}

impl AwsBackend {
    /// A backend on `client`, with the SDK's retries turned off so that the engine is the only
    /// layer that retries; unset timeouts get [`DEFAULT_CONNECT_TIMEOUT`] and
    /// [`DEFAULT_OPERATION_TIMEOUT`]. Everything else of the client's configuration (Region,
    /// endpoint, credentials, HTTP client, interceptors) is kept.
    pub fn new(client: Client) -> Self {
        Self {
            client: Client::from_conf(engine_owned_config(client.config())),
            sdk_retries: false,
        }
    }

    /// A backend on a client built from a shared AWS configuration (as loaded by
    /// [`aws_config::load_defaults`]), with the SDK's retries turned off as in
    /// [`AwsBackend::new`].
    pub fn from_conf(config: &SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// A backend configured by the standard AWS chain: Region, credentials, and endpoint
    /// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_KMS`, profile files), with the SDK's retries
    /// turned off as in [`AwsBackend::new`].
    ///
    /// Never fails: missing Region or credentials surface as errors of the first call.
    pub async fn from_env() -> Self {
        Self::from_conf(&aws_config::defaults(BehaviorVersion::latest()).load().await)
    }

    /// Like [`AwsBackend::from_env`], but every call goes to `endpoint_url` (for example a
    /// local KMS peer such as `http://127.0.0.1:4566`), whatever the environment says.
    pub async fn from_env_with_endpoint(endpoint_url: impl Into<String>) -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint_url)
            .load()
            .await;
        Self::from_conf(&config)
    }

    /// The Region the client sends requests to; `None` when the configuration has none (every
    /// call would then fail: check it before a run).
    pub fn region(&self) -> Option<&str> {
        self.client.config().region().map(|r| r.as_ref())
    }

    /// A backend on `client` exactly as configured, **SDK retries included**.
    ///
    /// The escape hatch for callers that want the SDK to retry: then don't also use the
    /// engine's retries, or each throttled call is retried by both layers (their attempts
    /// multiply). Timeouts are not changed either.
    pub fn with_sdk_retries(client: Client) -> Self {
        Self {
            client,
            sdk_retries: true,
        }
    }

    /// The SDK client the backend calls, for calls this crate does not make.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether the SDK retries failed calls itself (only after
    /// [`AwsBackend::with_sdk_retries`]).
    pub fn sdk_retries(&self) -> bool {
        self.sdk_retries
    }

    /// The key reference to send for `key` in `operation` (see the module docs, "Addressing
    /// keys").
    fn address<'a>(&self, operation: Operation, key: &'a str) -> &'a str {
        if matches!(
            operation,
            Operation::DescribeKey | Operation::GetKeyRotationStatus
        ) {
            return key;
        }
        key_id_of_arn(key, self.region()).unwrap_or(key)
    }
}

impl fmt::Debug for AwsBackend {
    /// Shows the Region and the retry owner, never the client's configuration (which holds
    /// the credentials provider).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsBackend")
            .field("region", &self.region())
            .field("retries", &if self.sdk_retries { "sdk" } else { "engine" })
            .finish_non_exhaustive()
    }
}

/// `config` with SDK retries disabled and our default timeouts filled into unset ones.
fn engine_owned_config(config: &aws_sdk_kms::Config) -> aws_sdk_kms::Config {
    let defaults = TimeoutConfig::builder()
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .operation_timeout(DEFAULT_OPERATION_TIMEOUT)
        .build();
    let mut timeouts = config
        .timeout_config()
        .cloned()
        .unwrap_or_else(|| TimeoutConfig::builder().build());
    // Fills only what is unset: a timeout the caller set or explicitly disabled stays.
    timeouts.take_defaults_from(&defaults);
    config
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .build()
}

/// The bare key id of `key` when it is a KMS key ARN in `region`
/// (`arn:<partition>:kms:<region>:<account>:key/<id>`); `None` for anything else, which is
/// then sent unchanged.
fn key_id_of_arn<'a>(key: &'a str, region: Option<&str>) -> Option<&'a str> {
    let mut parts = key.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("kms"), Some(arn_region), Some(_account), Some(res)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let id = res.strip_prefix("key/")?;
    let well_formed = !partition.is_empty() && !id.is_empty();
    (well_formed && region == Some(arn_region)).then_some(id)
}

/// Error codes that mean "slow down" across AWS services. KMS itself answers
/// `ThrottlingException`; the others come from proxies and KMS-compatible peers.
/// `LimitExceededException` is deliberately absent: in KMS it is a resource quota
/// (keys, aliases, grants), which waiting does not fix.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// The [`ErrorKind`] of a service answer, from its error code, its message and its HTTP
/// status. Pure, so that the mapping is testable without a client.
///
/// A known code decides; without one, HTTP 429 is throttling and 5xx an internal fault.
fn classify(code: Option<&str>, message: &str, http_status: Option<u16>) -> ErrorKind {
    let kind = match code {
        Some("NotFoundException") => Some(ErrorKind::NotFound),
        Some("DisabledException") => Some(ErrorKind::Disabled),
        Some("KMSInvalidStateException") => Some(ErrorKind::InvalidState),
        Some("MalformedPolicyDocumentException") => Some(malformed_policy_kind(message)),
        Some("LimitExceededException") => Some(ErrorKind::LimitExceeded),
        Some("TagException") => Some(ErrorKind::Tag),
        Some("UnsupportedOperationException") => Some(ErrorKind::UnsupportedOperation),
        Some("KMSInternalException") => Some(ErrorKind::Internal),
        Some("DependencyTimeoutException") => Some(ErrorKind::DependencyTimeout),
        Some("AccessDeniedException") => Some(ErrorKind::AccessDenied),
        // InvalidMarkerException: a paging marker KMS refuses, i.e. a bad parameter.
        Some("ValidationException" | "InvalidArnException" | "InvalidMarkerException") => {
            Some(ErrorKind::Validation)
        }
        Some("CustomKeyStoreNotFoundException") => Some(ErrorKind::CustomKeyStoreNotFound),
        Some("CustomKeyStoreInvalidStateException") => Some(ErrorKind::CustomKeyStoreInvalidState),
        Some(code) if THROTTLING_CODES.contains(&code) => Some(ErrorKind::Throttled),
        _ => None,
    };
    kind.unwrap_or(match http_status {
        Some(429) => ErrorKind::Throttled,
        Some(500..=599) => ErrorKind::Internal,
        _ => ErrorKind::Other,
    })
}

/// Tells the three causes of `MalformedPolicyDocumentException` apart by AWS's message:
/// "The new key policy will not allow you to update the key policy in the future." (the
/// lockout safety check, never worth retrying) and "Policy contains a statement with one or
/// more invalid principals." (possibly IAM propagation, worth a bounded retry).
fn malformed_policy_kind(message: &str) -> ErrorKind {
    let message = message.to_ascii_lowercase();
    if message.contains("will not allow you to update the key policy") {
        ErrorKind::PolicyLockout
    } else if message.contains("invalid principal") {
        ErrorKind::InvalidPrincipals
    } else {
        ErrorKind::MalformedPolicy
    }
}

/// Turns an SDK error of `operation` into a [`BackendError`], keeping the service's message,
/// the request id and the SDK error itself as the source.
fn backend_error<E>(operation: Operation, err: SdkError<E, HttpResponse>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code();
            let message = service.err().message().unwrap_or_default();
            let message = match (code, message.is_empty()) {
                // Nothing to show otherwise (e.g. an HTML error page): say what we got.
                (None, true) => format!("HTTP {status} without an error code"),
                _ => message.to_owned(),
            };
            (classify(code, &message, Some(status)), message)
        }
        // The service answered, but with something the SDK could not parse.
        SdkError::ResponseError(response) => (
            classify(None, "", Some(response.raw().status().as_u16())),
            error_chain(&err),
        ),
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            (ErrorKind::Transport, error_chain(&err))
        }
        _ => (ErrorKind::Other, error_chain(&err)),
    };
    let request_id = err.request_id().map(str::to_owned);
    let error = BackendError::new(kind, operation, message);
    let error = match request_id {
        Some(id) => error.with_request_id(id),
        None => error,
    };
    error.with_source(err)
}

/// `err` and its sources, joined by `: ` (for errors without a service message, such as
/// "dispatch failure: io error: ... Connection refused").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The error for an answer that lacks a field KMS always sends.
fn missing(operation: Operation, field: &str) -> BackendError {
    BackendError::new(
        ErrorKind::Other,
        operation,
        format!("the {operation} answer has no {field}"),
    )
}

/// Parses a KMS enum value into this crate's type; a value a newer KMS added is an
/// [`ErrorKind::Other`] error naming it, not a panic.
fn parse_wire<T>(operation: Operation, field: &str, value: &str) -> Result<T, BackendError>
where
    T: FromStr<Err = UnknownValue>,
{
    value.parse().map_err(|e: UnknownValue| {
        BackendError::new(
            ErrorKind::Other,
            operation,
            format!("KMS answered {field} `{value}`, which this version of kms-key does not know"),
        )
        .with_source(e)
    })
}

/// Converts the SDK's `KeyMetadata` into this crate's.
fn key_metadata(operation: Operation, m: &sdk::KeyMetadata) -> Result<KeyMetadata, BackendError> {
    if m.key_id().is_empty() {
        return Err(missing(operation, "KeyMetadata.KeyId"));
    }
    // KeySpec replaced CustomerMasterKeySpec (same values); an answer with only the old
    // field is still a complete answer.
    #[allow(deprecated)]
    let legacy_spec = m.customer_master_key_spec().map(|s| s.as_str());
    let key_spec_text = m
        .key_spec()
        .map(|s| s.as_str())
        .or(legacy_spec)
        .ok_or_else(|| missing(operation, "KeyMetadata.KeySpec"))?;
    let key_spec: KeySpec = parse_wire(operation, "KeySpec", key_spec_text)?;
    // Some peers (moto) leave KeyUsage out when CreateKey had none: that is the spec's
    // default usage, which exists only for SYMMETRIC_DEFAULT.
    let key_usage = match m.key_usage() {
        Some(usage) => parse_wire(operation, "KeyUsage", usage.as_str())?,
        None => key_spec
            .default_usage()
            .ok_or_else(|| missing(operation, "KeyMetadata.KeyUsage"))?,
    };
    let key_state: KeyState = parse_wire(
        operation,
        "KeyState",
        m.key_state()
            .ok_or_else(|| missing(operation, "KeyMetadata.KeyState"))?
            .as_str(),
    )?;
    let origin: Origin = parse_wire(
        operation,
        "Origin",
        m.origin()
            .ok_or_else(|| missing(operation, "KeyMetadata.Origin"))?
            .as_str(),
    )?;
    let multi_region_key_type = match m
        .multi_region_configuration()
        .and_then(|c| c.multi_region_key_type())
    {
        None => None,
        Some(sdk::MultiRegionKeyType::Primary) => Some(MultiRegionKeyType::Primary),
        Some(sdk::MultiRegionKeyType::Replica) => Some(MultiRegionKeyType::Replica),
        Some(other) => {
            return Err(BackendError::new(
                ErrorKind::Other,
                operation,
                format!(
                    "KMS answered MultiRegionKeyType `{}`, which this version of kms-key does not know",
                    other.as_str()
                ),
            ));
        }
    };
    Ok(KeyMetadata {
        key_id: m.key_id().to_owned(),
        arn: m
            .arn()
            .ok_or_else(|| missing(operation, "KeyMetadata.Arn"))?
            .to_owned(),
        aws_account_id: m
            .aws_account_id()
            .ok_or_else(|| missing(operation, "KeyMetadata.AWSAccountId"))?
            .to_owned(),
        creation_date: m.creation_date().copied(),
        enabled: m.enabled(),
        description: m.description().unwrap_or_default().to_owned(),
        key_usage,
        key_state,
        deletion_date: m.deletion_date().copied(),
        origin,
        custom_key_store_id: m.custom_key_store_id().map(str::to_owned),
        xks_key_id: m
            .xks_key_configuration()
            .and_then(|x| x.id())
            .map(str::to_owned),
        key_spec,
        encryption_algorithms: m
            .encryption_algorithms()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        signing_algorithms: m
            .signing_algorithms()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        mac_algorithms: m
            .mac_algorithms()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        multi_region: m.multi_region().unwrap_or(false),
        multi_region_key_type,
        pending_deletion_window_in_days: m.pending_deletion_window_in_days(),
    })
}

/// This crate's tags as SDK tags.
fn sdk_tags(operation: Operation, tags: &[Tag]) -> Result<Vec<sdk::Tag>, BackendError> {
    tags.iter()
        .map(|t| {
            sdk::Tag::builder()
                .tag_key(&t.key)
                .tag_value(&t.value)
                .build()
                .map_err(|e| {
                    BackendError::new(ErrorKind::Other, operation, "could not build a Tag")
                        .with_source(e)
                })
        })
        .collect()
}

/// The marker of the next page, following the `Truncated` flag as AWS's paginators do. A
/// truncated page without a marker is an error: ending the listing there would silently
/// drop the rest.
fn next_marker(
    operation: Operation,
    truncated: bool,
    marker: Option<&str>,
) -> Result<Option<String>, BackendError> {
    match (truncated, marker) {
        (false, _) => Ok(None),
        (true, Some(m)) => Ok(Some(m.to_owned())),
        (true, None) => Err(missing(operation, "NextMarker on a truncated page")),
    }
}

/// The most keys one `ListKeys` page may hold (the API's `Limit` range is 1–1000).
const LIST_KEYS_PAGE_LIMIT: i32 = 1000;

#[async_trait]
impl KmsBackend for AwsBackend {
    async fn create_key(&self, request: CreateKeyRequest) -> Result<KeyMetadata, BackendError> {
        const OP: Operation = Operation::CreateKey;
        let mut call = self
            .client
            .create_key()
            .set_description(request.description)
            .set_policy(request.policy)
            .set_key_spec(request.key_spec.map(|s| sdk::KeySpec::from(s.as_str())))
            .set_key_usage(
                request
                    .key_usage
                    .map(|u| sdk::KeyUsageType::from(u.as_str())),
            )
            .set_origin(request.origin.map(|o| sdk::OriginType::from(o.as_str())))
            .set_custom_key_store_id(request.custom_key_store_id)
            .set_xks_key_id(request.xks_key_id);
        // Flags are sent only when set, so AWS's defaults apply otherwise.
        if request.bypass_policy_lockout_safety_check {
            call = call.bypass_policy_lockout_safety_check(true);
        }
        if request.multi_region {
            call = call.multi_region(true);
        }
        if !request.tags.is_empty() {
            call = call.set_tags(Some(sdk_tags(OP, &request.tags)?));
        }
        let out = call.send().await.map_err(|e| backend_error(OP, e))?;
        let metadata = out
            .key_metadata()
            .ok_or_else(|| missing(OP, "KeyMetadata"))?;
        key_metadata(OP, metadata)
    }

    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata, BackendError> {
        const OP: Operation = Operation::DescribeKey;
        let out = self
            .client
            .describe_key()
            .key_id(self.address(OP, key_id))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        let metadata = out
            .key_metadata()
            .ok_or_else(|| missing(OP, "KeyMetadata"))?;
        key_metadata(OP, metadata)
    }

    async fn get_key_policy(&self, key_id: &str) -> Result<String, BackendError> {
        const OP: Operation = Operation::GetKeyPolicy;
        let out = self
            .client
            .get_key_policy()
            .key_id(self.address(OP, key_id))
            .policy_name(POLICY_NAME)
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        out.policy()
            .map(str::to_owned)
            .ok_or_else(|| missing(OP, "Policy"))
    }

    async fn put_key_policy(
        &self,
        key_id: &str,
        policy: &str,
        bypass_policy_lockout_safety_check: bool,
    ) -> Result<(), BackendError> {
        const OP: Operation = Operation::PutKeyPolicy;
        let mut call = self
            .client
            .put_key_policy()
            .key_id(self.address(OP, key_id))
            .policy_name(POLICY_NAME)
            .policy(policy);
        if bypass_policy_lockout_safety_check {
            call = call.bypass_policy_lockout_safety_check(true);
        }
        call.send().await.map_err(|e| backend_error(OP, e))?;
        Ok(())
    }

    async fn get_key_rotation_status(&self, key_id: &str) -> Result<RotationStatus, BackendError> {
        const OP: Operation = Operation::GetKeyRotationStatus;
        let out = self
            .client
            .get_key_rotation_status()
            .key_id(self.address(OP, key_id))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(RotationStatus {
            enabled: out.key_rotation_enabled(),
            rotation_period_in_days: out.rotation_period_in_days(),
            next_rotation_date: out.next_rotation_date().copied(),
        })
    }

    async fn enable_key_rotation(
        &self,
        key_id: &str,
        rotation_period_in_days: Option<i32>,
    ) -> Result<(), BackendError> {
        const OP: Operation = Operation::EnableKeyRotation;
        self.client
            .enable_key_rotation()
            .key_id(self.address(OP, key_id))
            .set_rotation_period_in_days(rotation_period_in_days)
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(())
    }

    async fn disable_key_rotation(&self, key_id: &str) -> Result<(), BackendError> {
        const OP: Operation = Operation::DisableKeyRotation;
        self.client
            .disable_key_rotation()
            .key_id(self.address(OP, key_id))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(())
    }

    async fn enable_key(&self, key_id: &str) -> Result<(), BackendError> {
        const OP: Operation = Operation::EnableKey;
        self.client
            .enable_key()
            .key_id(self.address(OP, key_id))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(())
    }

    async fn disable_key(&self, key_id: &str) -> Result<(), BackendError> {
        const OP: Operation = Operation::DisableKey;
        self.client
            .disable_key()
            .key_id(self.address(OP, key_id))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(())
    }

    async fn update_key_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), BackendError> {
        const OP: Operation = Operation::UpdateKeyDescription;
        self.client
            .update_key_description()
            .key_id(self.address(OP, key_id))
            .description(description)
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(())
    }

    async fn list_resource_tags(
        &self,
        key_id: &str,
        marker: Option<&str>,
    ) -> Result<TagPage, BackendError> {
        const OP: Operation = Operation::ListResourceTags;
        let out = self
            .client
            .list_resource_tags()
            .key_id(self.address(OP, key_id))
            .set_marker(marker.map(str::to_owned))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(TagPage {
            tags: out
                .tags()
                .iter()
                .map(|t| Tag::new(t.tag_key(), t.tag_value()))
                .collect(),
            next_marker: next_marker(OP, out.truncated(), out.next_marker())?,
        })
    }

    async fn tag_resource(&self, key_id: &str, tags: &[Tag]) -> Result<(), BackendError> {
        const OP: Operation = Operation::TagResource;
        self.client
            .tag_resource()
            .key_id(self.address(OP, key_id))
            .set_tags(Some(sdk_tags(OP, tags)?))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(())
    }

    async fn untag_resource(&self, key_id: &str, tag_keys: &[String]) -> Result<(), BackendError> {
        const OP: Operation = Operation::UntagResource;
        self.client
            .untag_resource()
            .key_id(self.address(OP, key_id))
            .set_tag_keys(Some(tag_keys.to_vec()))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok(())
    }

    async fn schedule_key_deletion(
        &self,
        key_id: &str,
        pending_window_in_days: Option<i32>,
    ) -> Result<DeletionScheduled, BackendError> {
        const OP: Operation = Operation::ScheduleKeyDeletion;
        let sent = self.address(OP, key_id);
        let out = self
            .client
            .schedule_key_deletion()
            .key_id(sent)
            .set_pending_window_in_days(pending_window_in_days)
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        let key_state = out
            .key_state()
            .map(|s| parse_wire(OP, "KeyState", s.as_str()))
            .transpose()?;
        Ok(DeletionScheduled {
            // The deletion is scheduled at this point: a missing KeyId in the answer must not
            // turn that success into an error, so the key reference we sent stands in.
            key_id: out.key_id().unwrap_or(sent).to_owned(),
            deletion_date: out.deletion_date().copied(),
            key_state,
            pending_window_in_days: out.pending_window_in_days(),
        })
    }

    async fn cancel_key_deletion(&self, key_id: &str) -> Result<String, BackendError> {
        const OP: Operation = Operation::CancelKeyDeletion;
        let sent = self.address(OP, key_id);
        let out = self
            .client
            .cancel_key_deletion()
            .key_id(sent)
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        // As for ScheduleKeyDeletion: the call succeeded, so a missing KeyId is not an error.
        Ok(out.key_id().unwrap_or(sent).to_owned())
    }

    async fn list_keys(&self, marker: Option<&str>) -> Result<KeyPage, BackendError> {
        const OP: Operation = Operation::ListKeys;
        let out = self
            .client
            .list_keys()
            // KMS's largest page (its default is 100): a name scan of a large account makes a
            // tenth of the calls.
            .limit(LIST_KEYS_PAGE_LIMIT)
            .set_marker(marker.map(str::to_owned))
            .send()
            .await
            .map_err(|e| backend_error(OP, e))?;
        let keys = out
            .keys()
            .iter()
            .map(|k| {
                Ok(KeyListEntry {
                    key_id: k
                        .key_id()
                        .ok_or_else(|| missing(OP, "KeyId in a Keys entry"))?
                        .to_owned(),
                    key_arn: k
                        .key_arn()
                        .ok_or_else(|| missing(OP, "KeyArn in a Keys entry"))?
                        .to_owned(),
                })
            })
            .collect::<Result<_, BackendError>>()?;
        Ok(KeyPage {
            keys,
            next_marker: next_marker(OP, out.truncated(), out.next_marker())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::config::{Credentials, Region};

    const LOCKOUT: &str =
        "The new key policy will not allow you to update the key policy in the future.";
    const INVALID_PRINCIPALS: &str =
        "Policy contains a statement with one or more invalid principals.";

    #[test]
    fn classify_known_codes() {
        let table: &[(&str, ErrorKind)] = &[
            ("NotFoundException", ErrorKind::NotFound),
            ("DisabledException", ErrorKind::Disabled),
            ("KMSInvalidStateException", ErrorKind::InvalidState),
            ("LimitExceededException", ErrorKind::LimitExceeded),
            ("TagException", ErrorKind::Tag),
            (
                "UnsupportedOperationException",
                ErrorKind::UnsupportedOperation,
            ),
            ("ThrottlingException", ErrorKind::Throttled),
            ("Throttling", ErrorKind::Throttled),
            ("TooManyRequestsException", ErrorKind::Throttled),
            ("RequestLimitExceeded", ErrorKind::Throttled),
            ("KMSInternalException", ErrorKind::Internal),
            ("DependencyTimeoutException", ErrorKind::DependencyTimeout),
            ("AccessDeniedException", ErrorKind::AccessDenied),
            ("ValidationException", ErrorKind::Validation),
            ("InvalidArnException", ErrorKind::Validation),
            ("InvalidMarkerException", ErrorKind::Validation),
            (
                "CustomKeyStoreNotFoundException",
                ErrorKind::CustomKeyStoreNotFound,
            ),
            (
                "CustomKeyStoreInvalidStateException",
                ErrorKind::CustomKeyStoreInvalidState,
            ),
            ("AlreadyExistsException", ErrorKind::Other),
            ("UnrecognizedClientException", ErrorKind::Other),
        ];
        for (code, want) in table {
            assert_eq!(classify(Some(code), "m", Some(400)), *want, "{code}");
        }
    }

    #[test]
    fn every_service_kind_maps_back_from_its_code() {
        // code() and classify() must agree, or a kind could not survive a round trip.
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::Disabled,
            ErrorKind::InvalidState,
            ErrorKind::MalformedPolicy,
            ErrorKind::LimitExceeded,
            ErrorKind::Tag,
            ErrorKind::UnsupportedOperation,
            ErrorKind::Throttled,
            ErrorKind::Internal,
            ErrorKind::DependencyTimeout,
            ErrorKind::AccessDenied,
            ErrorKind::Validation,
            ErrorKind::CustomKeyStoreNotFound,
            ErrorKind::CustomKeyStoreInvalidState,
        ] {
            assert_eq!(classify(Some(kind.code()), "", Some(400)), kind);
        }
    }

    #[test]
    fn classify_malformed_policy_by_message() {
        let code = Some("MalformedPolicyDocumentException");
        assert_eq!(classify(code, LOCKOUT, Some(400)), ErrorKind::PolicyLockout);
        assert_eq!(
            classify(code, INVALID_PRINCIPALS, Some(400)),
            ErrorKind::InvalidPrincipals
        );
        // AWS sends no message at all for a policy that is not JSON.
        assert_eq!(classify(code, "", Some(400)), ErrorKind::MalformedPolicy);
        assert_eq!(
            classify(code, "Statement is missing Effect", Some(400)),
            ErrorKind::MalformedPolicy
        );
    }

    #[test]
    fn classify_without_a_known_code_uses_the_status() {
        assert_eq!(classify(None, "", Some(500)), ErrorKind::Internal);
        assert_eq!(classify(None, "", Some(503)), ErrorKind::Internal);
        assert_eq!(
            classify(Some("InternalFailure"), "", Some(500)),
            ErrorKind::Internal
        );
        assert_eq!(classify(None, "", Some(429)), ErrorKind::Throttled);
        assert_eq!(classify(None, "", Some(400)), ErrorKind::Other);
        assert_eq!(classify(None, "", Some(404)), ErrorKind::Other);
        assert_eq!(classify(None, "", None), ErrorKind::Other);
        // A known code wins over the status.
        assert_eq!(
            classify(Some("NotFoundException"), "", Some(500)),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn key_arns_in_the_clients_region_become_key_ids() {
        let region = Some("us-east-1");
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let arn = format!("arn:aws:kms:us-east-1:123456789012:key/{id}");
        assert_eq!(key_id_of_arn(&arn, region), Some(id));
        let mrk = "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab";
        assert_eq!(
            key_id_of_arn(mrk, region),
            Some("mrk-1234abcd12ab34cd56ef1234567890ab")
        );
        let china = "arn:aws-cn:kms:cn-north-1:123456789012:key/k1";
        assert_eq!(key_id_of_arn(china, Some("cn-north-1")), Some("k1"));
    }

    #[test]
    fn everything_else_is_sent_unchanged() {
        let region = Some("us-east-1");
        for key in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/my-key",
            "arn:aws:kms:us-east-1:123456789012:alias/my-key",
            // Another Region: a multi-Region replica there shares the id.
            "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws:kms:us-east-1:123456789012:key/",
            "arn::kms:us-east-1:123456789012:key/k1",
            "arn:aws:iam::123456789012:key/k1",
            "arn:aws:kms:us-east-1",
            "",
        ] {
            assert_eq!(key_id_of_arn(key, region), None, "{key}");
        }
        let arn = "arn:aws:kms:us-east-1:123456789012:key/k1";
        assert_eq!(key_id_of_arn(arn, None), None);
    }

    fn test_client(retry: Option<RetryConfig>, timeouts: Option<TimeoutConfig>) -> Client {
        let mut conf = aws_sdk_kms::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "AKIDSECRETACCESSKEYID",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET",
                Some("SESSIONTOKENSECRET".into()),
                None,
                "test",
            ));
        if let Some(retry) = retry {
            conf = conf.retry_config(retry);
        }
        if let Some(timeouts) = timeouts {
            conf = conf.timeout_config(timeouts);
        }
        Client::from_conf(conf.build())
    }

    #[test]
    fn new_disables_sdk_retries_and_fills_unset_timeouts() {
        let backend = AwsBackend::new(test_client(
            Some(RetryConfig::standard().with_max_attempts(5)),
            None,
        ));
        let config = backend.client().config();
        assert_eq!(config.retry_config().unwrap().max_attempts(), 1);
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(
            timeouts.operation_timeout(),
            Some(DEFAULT_OPERATION_TIMEOUT)
        );
        assert!(!backend.sdk_retries());
        assert_eq!(config.region().unwrap().as_ref(), "us-east-1");
    }

    #[test]
    fn new_keeps_the_callers_timeouts() {
        let theirs = TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(250))
            .disable_operation_timeout()
            .build();
        let backend = AwsBackend::new(test_client(None, Some(theirs)));
        let timeouts = backend.client().config().timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_millis(250)));
        assert_eq!(timeouts.operation_timeout(), None);
    }

    #[test]
    fn with_sdk_retries_keeps_the_client_as_is() {
        let backend = AwsBackend::with_sdk_retries(test_client(
            Some(RetryConfig::standard().with_max_attempts(5)),
            None,
        ));
        let config = backend.client().config();
        assert_eq!(config.retry_config().unwrap().max_attempts(), 5);
        assert!(config.timeout_config().is_none_or(|t| !t.has_timeouts()));
        assert!(backend.sdk_retries());
    }

    #[test]
    fn from_conf_disables_sdk_retries() {
        let shared = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .retry_config(RetryConfig::standard().with_max_attempts(4))
            .build();
        let backend = AwsBackend::from_conf(&shared);
        let config = backend.client().config();
        assert_eq!(config.retry_config().unwrap().max_attempts(), 1);
        assert_eq!(config.region().unwrap().as_ref(), "eu-west-1");
    }

    #[test]
    fn debug_shows_no_credentials() {
        let backend = AwsBackend::new(test_client(None, None));
        let text = format!("{backend:?}");
        assert_eq!(
            text,
            r#"AwsBackend { region: Some("us-east-1"), retries: "engine", .. }"#
        );
        let text = format!(
            "{:?}",
            AwsBackend::with_sdk_retries(test_client(None, None))
        );
        assert_eq!(
            text,
            r#"AwsBackend { region: Some("us-east-1"), retries: "sdk", .. }"#
        );
    }

    fn sdk_metadata() -> aws_sdk_kms::types::builders::KeyMetadataBuilder {
        sdk::KeyMetadata::builder()
            .key_id("k1")
            .arn("arn:aws:kms:us-east-1:123456789012:key/k1")
            .aws_account_id("123456789012")
            .enabled(true)
            .key_state(sdk::KeyState::Enabled)
            .origin(sdk::OriginType::AwsKms)
            .key_spec(sdk::KeySpec::SymmetricDefault)
            .key_usage(sdk::KeyUsageType::EncryptDecrypt)
    }

    #[test]
    fn key_metadata_converts_every_field() {
        let m = sdk_metadata()
            .description("d")
            .key_spec(sdk::KeySpec::Rsa2048)
            .key_usage(sdk::KeyUsageType::SignVerify)
            .key_state(sdk::KeyState::PendingDeletion)
            .deletion_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .creation_date(aws_smithy_types::DateTime::from_secs(1_600_000_000))
            .pending_deletion_window_in_days(7)
            .signing_algorithms(sdk::SigningAlgorithmSpec::RsassaPssSha256)
            .multi_region(true)
            .multi_region_configuration(
                sdk::MultiRegionConfiguration::builder()
                    .multi_region_key_type(sdk::MultiRegionKeyType::Primary)
                    .build(),
            )
            .build()
            .unwrap();
        let got = key_metadata(Operation::DescribeKey, &m).unwrap();
        assert_eq!(
            got,
            KeyMetadata {
                key_id: "k1".into(),
                arn: "arn:aws:kms:us-east-1:123456789012:key/k1".into(),
                aws_account_id: "123456789012".into(),
                creation_date: Some(aws_smithy_types::DateTime::from_secs(1_600_000_000)),
                enabled: true,
                description: "d".into(),
                key_usage: crate::spec::KeyUsage::SignVerify,
                key_state: KeyState::PendingDeletion,
                deletion_date: Some(aws_smithy_types::DateTime::from_secs(1_700_000_000)),
                origin: Origin::AwsKms,
                custom_key_store_id: None,
                xks_key_id: None,
                key_spec: KeySpec::Rsa2048,
                encryption_algorithms: vec![],
                signing_algorithms: vec!["RSASSA_PSS_SHA_256".into()],
                mac_algorithms: vec![],
                multi_region: true,
                multi_region_key_type: Some(MultiRegionKeyType::Primary),
                pending_deletion_window_in_days: Some(7),
            }
        );
    }

    #[test]
    fn missing_key_usage_is_the_specs_default_or_an_error() {
        let mut m = sdk_metadata().build().unwrap();
        m.key_usage = None;
        let got = key_metadata(Operation::CreateKey, &m).unwrap();
        assert_eq!(got.key_usage, crate::spec::KeyUsage::EncryptDecrypt);
        assert_eq!(got.description, "");
        assert!(!got.multi_region);

        m.key_spec = Some(sdk::KeySpec::Rsa2048);
        let err = key_metadata(Operation::CreateKey, &m).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Other);
        assert_eq!(err.operation(), Operation::CreateKey);
        assert_eq!(
            err.message(),
            "the CreateKey answer has no KeyMetadata.KeyUsage"
        );
    }

    #[test]
    fn unknown_wire_values_are_errors_not_panics() {
        let m = sdk_metadata()
            .key_spec(sdk::KeySpec::from("QUANTUM_9000"))
            .build()
            .unwrap();
        let err = key_metadata(Operation::DescribeKey, &m).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Other);
        assert_eq!(
            err.message(),
            "KMS answered KeySpec `QUANTUM_9000`, which this version of kms-key does not know"
        );
        assert!(std::error::Error::source(&err).is_some());

        let m = sdk_metadata()
            .key_state(sdk::KeyState::from("Hibernating"))
            .build()
            .unwrap();
        let err = key_metadata(Operation::DescribeKey, &m).unwrap_err();
        assert_eq!(
            err.message(),
            "KMS answered KeyState `Hibernating`, which this version of kms-key does not know"
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        let mut m = sdk_metadata().build().unwrap();
        m.arn = None;
        let err = key_metadata(Operation::DescribeKey, &m).unwrap_err();
        assert_eq!(
            err.message(),
            "the DescribeKey answer has no KeyMetadata.Arn"
        );
    }

    #[test]
    fn paging_follows_the_truncated_flag() {
        let op = Operation::ListKeys;
        assert_eq!(next_marker(op, false, None).unwrap(), None);
        assert_eq!(next_marker(op, false, Some("m")).unwrap(), None);
        assert_eq!(next_marker(op, true, Some("m")).unwrap(), Some("m".into()));
        let err = next_marker(op, true, None).unwrap_err();
        assert_eq!(
            err.message(),
            "the ListKeys answer has no NextMarker on a truncated page"
        );
    }
}
