//! How `AwsBackend` turns KMS error answers into `BackendError`s, on canned HTTP responses
//! (aws-smithy-mocks), and the single-retry-layer rule: with the backend's own config the SDK
//! makes exactly one attempt.
#![cfg(feature = "aws")]

use std::error::Error as _;
use std::time::Duration;

use aws_sdk_kms::Client;
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{Credentials, Region};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::body::SdkBody;
use kms_key::backend::aws::AwsBackend;
use kms_key::backend::{BackendError, ErrorKind, KmsBackend, Operation};

const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const LOCKOUT: &str =
    "The new key policy will not allow you to update the key policy in the future.";
const INVALID_PRINCIPALS: &str = "Policy contains a statement with one or more invalid principals.";

/// A KMS (awsJson 1.1) error answer, as AWS sends it.
fn error_response(
    status: u16,
    code: &str,
    message: &str,
    request_id: &'static str,
) -> HttpResponse {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    let mut response = HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body));
    response
        .headers_mut()
        .insert("Content-Type", "application/x-amz-json-1.1");
    response
        .headers_mut()
        .insert("x-amzn-RequestId", request_id);
    response
}

/// A client that answers from `rules` and would retry (standard mode, 3 attempts, tiny
/// backoff so that the control test stays fast) unless told otherwise.
fn mock_client(rules: &[&Rule]) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_kms::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    Client::from_conf(config)
}

fn assert_error(
    err: &BackendError,
    kind: ErrorKind,
    operation: Operation,
    message: &str,
    request_id: Option<&str>,
) {
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(err.operation(), operation, "{err}");
    assert_eq!(err.message(), message, "{err}");
    assert_eq!(err.request_id(), request_id, "{err}");
    assert!(err.source().is_some(), "the SdkError is kept as the source");
}

#[tokio::test]
async fn throttling_maps_to_throttled_and_is_not_retried_by_the_sdk() {
    let rule = mock!(Client::describe_key).then_http_response(|| {
        error_response(400, "ThrottlingException", "Rate exceeded", "req-throttle")
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend.describe_key(KEY_ARN).await.unwrap_err();

    assert_error(
        &err,
        ErrorKind::Throttled,
        Operation::DescribeKey,
        "Rate exceeded",
        Some("req-throttle"),
    );
    assert!(err.is_retryable());
    // One HTTP attempt: retrying is the engine's decision alone.
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn with_sdk_retries_the_same_client_retries_throttling() {
    // The control for the test above: the client *would* retry, so the single attempt
    // there is AwsBackend::new's doing.
    let rule = mock!(Client::describe_key).then_http_response(|| {
        error_response(400, "ThrottlingException", "Rate exceeded", "req-throttle")
    });
    let backend = AwsBackend::with_sdk_retries(mock_client(&[&rule]));

    let err = backend.describe_key(KEY_ARN).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn internal_error_500_maps_to_internal_and_is_not_retried() {
    let rule = mock!(Client::enable_key).then_http_response(|| {
        error_response(
            500,
            "KMSInternalException",
            "An internal error occurred",
            "req-500",
        )
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend.enable_key(KEY_ARN).await.unwrap_err();

    assert_error(
        &err,
        ErrorKind::Internal,
        Operation::EnableKey,
        "An internal error occurred",
        Some("req-500"),
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_5xx_without_a_code_is_internal() {
    let rule = mock!(Client::disable_key).then_http_response(|| {
        let mut response = HttpResponse::new(
            500.try_into().unwrap(),
            SdkBody::from("<!doctype html><title>500 Internal Server Error</title>"),
        );
        response
            .headers_mut()
            .insert("x-amzn-RequestId", "req-html");
        response
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend.disable_key(KEY_ARN).await.unwrap_err();

    assert_error(
        &err,
        ErrorKind::Internal,
        Operation::DisableKey,
        "HTTP 500 without an error code",
        Some("req-html"),
    );
}

#[tokio::test]
async fn disabled_key() {
    let message = format!("{KEY_ARN} is disabled.");
    let body = message.clone();
    let rule = mock!(Client::enable_key_rotation).then_http_response(move || {
        error_response(400, "DisabledException", &body, "req-disabled")
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend
        .enable_key_rotation(KEY_ARN, Some(90))
        .await
        .unwrap_err();

    assert_error(
        &err,
        ErrorKind::Disabled,
        Operation::EnableKeyRotation,
        &message,
        Some("req-disabled"),
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn invalid_state() {
    let message = format!("{KEY_ARN} is pending deletion.");
    let body = message.clone();
    let rule = mock!(Client::schedule_key_deletion).then_http_response(move || {
        error_response(400, "KMSInvalidStateException", &body, "req-state")
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend
        .schedule_key_deletion(KEY_ARN, Some(7))
        .await
        .unwrap_err();

    assert_error(
        &err,
        ErrorKind::InvalidState,
        Operation::ScheduleKeyDeletion,
        &message,
        Some("req-state"),
    );
}

#[tokio::test]
async fn malformed_policy_lockout() {
    let rule = mock!(Client::put_key_policy).then_http_response(|| {
        error_response(
            400,
            "MalformedPolicyDocumentException",
            LOCKOUT,
            "req-lockout",
        )
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend
        .put_key_policy(KEY_ARN, r#"{"Version":"2012-10-17","Statement":[]}"#, false)
        .await
        .unwrap_err();

    assert_error(
        &err,
        ErrorKind::PolicyLockout,
        Operation::PutKeyPolicy,
        LOCKOUT,
        Some("req-lockout"),
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn malformed_policy_invalid_principals() {
    let rule = mock!(Client::create_key).then_http_response(|| {
        error_response(
            400,
            "MalformedPolicyDocumentException",
            INVALID_PRINCIPALS,
            "req-principals",
        )
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let mut request = kms_key::backend::CreateKeyRequest::new();
    request.policy = Some("{}".into());
    let err = backend.create_key(request).await.unwrap_err();

    assert_error(
        &err,
        ErrorKind::InvalidPrincipals,
        Operation::CreateKey,
        INVALID_PRINCIPALS,
        Some("req-principals"),
    );
}

#[tokio::test]
async fn malformed_policy_without_a_message() {
    // What AWS answers for a policy that is not JSON.
    let rule = mock!(Client::put_key_policy).then_http_response(|| {
        error_response(400, "MalformedPolicyDocumentException", "", "req-json")
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend
        .put_key_policy(KEY_ARN, "not json", false)
        .await
        .unwrap_err();

    assert_error(
        &err,
        ErrorKind::MalformedPolicy,
        Operation::PutKeyPolicy,
        "",
        Some("req-json"),
    );
}

#[tokio::test]
async fn not_found() {
    let message = format!("Key '{KEY_ARN}' does not exist");
    let body = message.clone();
    let rule = mock!(Client::get_key_policy)
        .then_http_response(move || error_response(400, "NotFoundException", &body, "req-404"));
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend.get_key_policy(KEY_ARN).await.unwrap_err();

    assert_error(
        &err,
        ErrorKind::NotFound,
        Operation::GetKeyPolicy,
        &message,
        Some("req-404"),
    );
    assert_eq!(
        err.to_string(),
        format!("GetKeyPolicy: key not found (NotFoundException): {message} [request id req-404]")
    );
}

#[tokio::test]
async fn access_denied() {
    let message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: \
                   kms:TagResource on resource: "
        .to_owned()
        + KEY_ARN;
    let body = message.clone();
    let rule = mock!(Client::tag_resource).then_http_response(move || {
        error_response(400, "AccessDeniedException", &body, "req-denied")
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend
        .tag_resource(KEY_ARN, &[kms_key::backend::Tag::new("team", "a")])
        .await
        .unwrap_err();

    assert_error(
        &err,
        ErrorKind::AccessDenied,
        Operation::TagResource,
        &message,
        Some("req-denied"),
    );
}

#[tokio::test]
async fn an_unknown_code_is_other() {
    let rule = mock!(Client::list_keys).then_http_response(|| {
        error_response(400, "BrandNewException", "something new", "req-new")
    });
    let backend = AwsBackend::new(mock_client(&[&rule]));

    let err = backend.list_keys(None).await.unwrap_err();

    assert_error(
        &err,
        ErrorKind::Other,
        Operation::ListKeys,
        "something new",
        Some("req-new"),
    );
}

/// A client for `endpoint` with real networking, static credentials and short timeouts.
fn network_client(endpoint: &str) -> Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .endpoint_url(endpoint)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_millis(300))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn connection_refused_is_transport() {
    // Bind and drop a listener: its port is then (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let backend = AwsBackend::new(network_client(&format!("http://127.0.0.1:{port}")));

    let err = backend.describe_key(KEY_ARN).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(err.operation(), Operation::DescribeKey);
    assert_eq!(err.request_id(), None);
    assert!(
        err.message()
            .starts_with("dispatch failure: io error: client error (Connect): tcp connect error: "),
        "{err}"
    );
    assert!(err.message().contains("Connection refused"), "{err}");
    assert!(err.source().is_some());
}

#[tokio::test]
async fn a_timeout_is_transport() {
    // A listener that accepts connections (the kernel does) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let backend = AwsBackend::new(network_client(&format!("http://127.0.0.1:{port}")));

    let err = backend.describe_key(KEY_ARN).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(err.operation(), Operation::DescribeKey);
    assert_eq!(
        err.message(),
        "request has timed out: operation timeout (all attempts including retries) occurred \
         after 300ms"
    );
    assert_eq!(err.request_id(), None);
    drop(silent);
}
