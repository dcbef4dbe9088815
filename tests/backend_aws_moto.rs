//! The AWS wire path end to end: `AwsBackend` against a real KMS endpoint (moto 5.2.5).
//!
//! moto is lax (no key-state rules, no quotas), so these tests check what goes over the wire
//! and comes back, not AWS's rules: those are the in-memory backend's tests. Every test
//! creates its own keys on the shared server and never assumes an empty account.
#![cfg(feature = "aws")]

mod support;

use std::collections::BTreeSet;

use kms_key::backend::aws::AwsBackend;
use kms_key::backend::{
    CreateKeyRequest, ErrorKind, KeyMetadata, KmsBackend, MultiRegionKeyType, Operation,
    RotationStatus, Tag,
};
use kms_key::spec::{KeySpec, KeyState, KeyUsage, Origin};
use serde_json::{Value, json};
use support::moto::{self, ACCOUNT_ID, MotoServer};

fn key_arn(key_id: &str) -> String {
    format!("arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{key_id}")
}

fn root_policy(sid: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "kms-key-test",
        "Statement": [{
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

fn parse(policy: &str) -> Value {
    serde_json::from_str(policy).expect("the policy is JSON")
}

async fn new_key(backend: &AwsBackend) -> KeyMetadata {
    backend.create_key(CreateKeyRequest::new()).await.unwrap()
}

/// Every tag of a key, following the markers page by page.
async fn all_tags(backend: &AwsBackend, key_id: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = backend
            .list_resource_tags(key_id, marker.as_deref())
            .await
            .unwrap();
        tags.extend(page.tags);
        match page.next_marker {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    tags.sort();
    tags
}

#[tokio::test]
async fn create_with_every_field_then_describe_by_id_and_by_arn() {
    let backend = moto::backend();
    let policy = root_policy("Root");
    let mut request = CreateKeyRequest::new();
    request.description = Some("signing key".into());
    request.policy = Some(policy.clone());
    request.key_spec = Some(KeySpec::Rsa2048);
    request.key_usage = Some(KeyUsage::SignVerify);
    request.multi_region = true;
    request.tags = vec![Tag::new("team", "platform"), Tag::new("env", "")];

    let created = backend.create_key(request).await.unwrap();

    // moto's multi-Region ids are `mrk-` and a hyphenated UUID (AWS: 32 hex digits).
    assert!(created.key_id.starts_with("mrk-"), "{}", created.key_id);
    assert_eq!(created.arn, key_arn(&created.key_id));
    assert_eq!(created.aws_account_id, ACCOUNT_ID);
    assert!(created.creation_date.is_some());
    assert!(created.enabled);
    assert_eq!(created.description, "signing key");
    assert_eq!(created.key_spec, KeySpec::Rsa2048);
    assert_eq!(created.key_usage, KeyUsage::SignVerify);
    assert_eq!(created.key_state, KeyState::Enabled);
    assert_eq!(created.origin, Origin::AwsKms);
    assert_eq!(created.deletion_date, None);
    assert_eq!(created.custom_key_store_id, None);
    assert_eq!(created.xks_key_id, None);
    assert!(created.multi_region);
    assert_eq!(
        created.multi_region_key_type,
        Some(MultiRegionKeyType::Primary)
    );
    assert_eq!(
        created.signing_algorithms,
        [
            "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512",
            "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",
            "RSASSA_PSS_SHA_512",
        ]
    );
    assert!(created.encryption_algorithms.is_empty());
    assert!(created.mac_algorithms.is_empty());

    let by_id = backend.describe_key(&created.key_id).await.unwrap();
    assert_eq!(by_id, created);
    let by_arn = backend.describe_key(&created.arn).await.unwrap();
    assert_eq!(by_arn, created);

    assert_eq!(
        parse(&backend.get_key_policy(&created.key_id).await.unwrap()),
        parse(&policy)
    );
    assert_eq!(
        all_tags(&backend, &created.key_id).await,
        [Tag::new("env", ""), Tag::new("team", "platform")]
    );
}

#[tokio::test]
async fn a_key_with_every_default() {
    let backend = moto::backend();

    let key = new_key(&backend).await;

    assert_eq!(key.key_spec, KeySpec::SymmetricDefault);
    // moto leaves KeyUsage out when CreateKey had none; the backend fills in the default.
    assert_eq!(key.key_usage, KeyUsage::EncryptDecrypt);
    assert_eq!(key.key_state, KeyState::Enabled);
    assert!(key.enabled);
    assert_eq!(key.description, "");
    assert_eq!(key.origin, Origin::AwsKms);
    assert_eq!(key.encryption_algorithms, ["SYMMETRIC_DEFAULT"]);
    assert!(!key.multi_region);
    assert_eq!(key.multi_region_key_type, None);
    assert!(!key.key_id.starts_with("mrk-"));

    let policy = backend.get_key_policy(&key.arn).await.unwrap();
    assert_eq!(
        parse(&policy),
        json!({
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [{
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:root")},
                "Action": "kms:*",
                "Resource": "*"
            }]
        })
    );
}

#[tokio::test]
async fn put_then_get_policy_by_id_and_by_arn() {
    let backend = moto::backend();
    let key = new_key(&backend).await;

    let first = root_policy("First");
    backend
        .put_key_policy(&key.key_id, &first, false)
        .await
        .unwrap();
    assert_eq!(
        parse(&backend.get_key_policy(&key.key_id).await.unwrap()),
        parse(&first)
    );

    let second = root_policy("Second");
    backend
        .put_key_policy(&key.arn, &second, true)
        .await
        .unwrap();
    assert_eq!(
        parse(&backend.get_key_policy(&key.arn).await.unwrap()),
        parse(&second)
    );
}

#[tokio::test]
async fn rotation_enable_with_period_disable_and_status() {
    let backend = moto::backend();
    let key = new_key(&backend).await;

    assert_eq!(
        backend.get_key_rotation_status(&key.key_id).await.unwrap(),
        RotationStatus::new(false, None)
    );

    backend
        .enable_key_rotation(&key.arn, Some(180))
        .await
        .unwrap();
    // moto does not report RotationPeriodInDays (AWS answers 180 here).
    assert_eq!(
        backend.get_key_rotation_status(&key.arn).await.unwrap(),
        RotationStatus::new(true, None)
    );

    // Again without a period: AWS's default (365) applies; still on.
    backend
        .enable_key_rotation(&key.key_id, None)
        .await
        .unwrap();
    assert!(
        backend
            .get_key_rotation_status(&key.key_id)
            .await
            .unwrap()
            .enabled
    );

    backend.disable_key_rotation(&key.arn).await.unwrap();
    assert_eq!(
        backend.get_key_rotation_status(&key.key_id).await.unwrap(),
        RotationStatus::new(false, None)
    );
}

#[tokio::test]
async fn disable_and_enable_by_arn() {
    let backend = moto::backend();
    let key = new_key(&backend).await;

    // By ARN: moto answers HTTP 500 unless the backend sends the bare key id.
    backend.disable_key(&key.arn).await.unwrap();
    let disabled = backend.describe_key(&key.key_id).await.unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.key_state, KeyState::Disabled);

    backend.enable_key(&key.arn).await.unwrap();
    let enabled = backend.describe_key(&key.key_id).await.unwrap();
    assert!(enabled.enabled);
    assert_eq!(enabled.key_state, KeyState::Enabled);
}

#[tokio::test]
async fn update_description() {
    let backend = moto::backend();
    let key = new_key(&backend).await;

    backend
        .update_key_description(&key.arn, "now described")
        .await
        .unwrap();
    assert_eq!(
        backend.describe_key(&key.key_id).await.unwrap().description,
        "now described"
    );

    backend
        .update_key_description(&key.key_id, "")
        .await
        .unwrap();
    assert_eq!(
        backend.describe_key(&key.key_id).await.unwrap().description,
        ""
    );
}

#[tokio::test]
async fn tag_untag_and_list_tags() {
    let backend = moto::backend();
    let mut request = CreateKeyRequest::new();
    request.tags = vec![Tag::new("a", "1"), Tag::new("b", "2")];
    let key = backend.create_key(request).await.unwrap();

    // A new key and a new value for an existing one, in one call.
    backend
        .tag_resource(&key.arn, &[Tag::new("a", "9"), Tag::new("c", "3")])
        .await
        .unwrap();
    assert_eq!(
        all_tags(&backend, &key.arn).await,
        [Tag::new("a", "9"), Tag::new("b", "2"), Tag::new("c", "3")]
    );

    // Removing a key that is not there is not an error.
    backend
        .untag_resource(&key.key_id, &["b".to_owned(), "missing".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        all_tags(&backend, &key.key_id).await,
        [Tag::new("a", "9"), Tag::new("c", "3")]
    );
}

#[tokio::test]
async fn listing_more_tags_than_one_aws_page() {
    // AWS pages ListResourceTags at 50 tags; moto answers everything in one page. Either way
    // following the markers must collect every tag.
    let backend = moto::backend();
    let key = new_key(&backend).await;
    let tags: Vec<Tag> = (0..60)
        .map(|i| Tag::new(format!("k{i:02}"), i.to_string()))
        .collect();

    backend.tag_resource(&key.key_id, &tags).await.unwrap();

    assert_eq!(all_tags(&backend, &key.key_id).await, tags);
}

#[tokio::test]
async fn schedule_and_cancel_deletion_by_arn() {
    let backend = moto::backend();
    let key = new_key(&backend).await;

    let scheduled = backend
        .schedule_key_deletion(&key.arn, Some(7))
        .await
        .unwrap();
    // moto answers the bare key id (AWS: the ARN) and no KeyState/PendingWindowInDays.
    assert_eq!(scheduled.key_id, key.key_id);
    assert!(scheduled.deletion_date.is_some());
    let pending = backend.describe_key(&key.key_id).await.unwrap();
    assert_eq!(pending.key_state, KeyState::PendingDeletion);
    assert!(!pending.enabled);
    assert_eq!(pending.deletion_date, scheduled.deletion_date);

    let cancelled = backend.cancel_key_deletion(&key.arn).await.unwrap();
    assert_eq!(cancelled, key.key_id);
    let restored = backend.describe_key(&key.key_id).await.unwrap();
    assert_eq!(restored.key_state, KeyState::Disabled);
    assert!(!restored.enabled);
    assert_eq!(restored.deletion_date, None);
}

#[tokio::test]
async fn list_keys_pages_include_new_keys() {
    let backend = moto::backend();
    let mine: Vec<KeyMetadata> = vec![
        new_key(&backend).await,
        new_key(&backend).await,
        new_key(&backend).await,
    ];

    let mut listed = BTreeSet::new();
    let mut marker: Option<String> = None;
    loop {
        let page = backend.list_keys(marker.as_deref()).await.unwrap();
        for entry in page.keys {
            assert_eq!(entry.key_arn, key_arn(&entry.key_id));
            listed.insert(entry.key_id);
        }
        match page.next_marker {
            Some(next) => marker = Some(next),
            None => break,
        }
    }

    // Other tests add keys concurrently: ours must be there, others may be too.
    for key in &mine {
        assert!(listed.contains(&key.key_id), "{} not listed", key.key_id);
    }
}

#[tokio::test]
async fn unknown_key_is_not_found_with_moto_s_message_and_request_id() {
    let backend = moto::backend();
    let id = "0badc0de-0000-4000-8000-000000000000";

    let err = backend.describe_key(id).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.operation(), Operation::DescribeKey);
    assert_eq!(
        err.message(),
        format!("Key '{}' does not exist", key_arn(id))
    );
    assert!(err.request_id().is_some_and(|r| !r.is_empty()), "{err}");
}

#[tokio::test]
async fn moto_s_html_500_is_internal() {
    // A key ARN of another Region is sent unchanged (stripping it could address another
    // multi-Region replica); moto fails on ARNs in EnableKey with an HTML 500 page.
    let backend = moto::backend();
    let key = new_key(&backend).await;
    let other_region = format!("arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/{}", key.key_id);

    let err = backend.enable_key(&other_region).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Internal, "{err}");
    assert_eq!(err.operation(), Operation::EnableKey);
    assert_eq!(err.message(), "HTTP 500 without an error code");
}

#[tokio::test]
async fn a_private_server_resets_and_dies_on_drop() {
    let server = MotoServer::start();
    let backend = server.backend();
    new_key(&backend).await;
    assert_eq!(backend.list_keys(None).await.unwrap().keys.len(), 1);

    server.reset();
    assert_eq!(backend.list_keys(None).await.unwrap().keys.len(), 0);

    let port = server.port();
    drop(server);
    let err = backend.list_keys(None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "port {port}: {err}");
}

/// Runs `from_env_child` in a child process of this test binary with `env` set, so that the
/// environment the SDK reads is exactly this one (changing this process's environment would
/// race with the other tests' threads).
fn run_env_child(mode: &str, env: &[(&str, &str)]) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "from_env_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KMS_KEY_ENV_CHILD", mode)
        // Keep the developer's AWS files and the instance metadata service out of it.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        // The engine owns retries: an environment asking for SDK retries is ignored.
        .env("AWS_MAX_ATTEMPTS", "5")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test from_env_child ... ok"),
        "child ({mode}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn from_env_follows_aws_endpoint_url() {
    let endpoint = MotoServer::shared().endpoint();
    run_env_child("env", &[("AWS_ENDPOINT_URL", &endpoint)]);
}

#[test]
fn from_env_with_endpoint_overrides_the_environment() {
    let endpoint = MotoServer::shared().endpoint();
    // AWS_ENDPOINT_URL points at a closed port: only the explicit endpoint can work.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{closed}");
    run_env_child(
        "explicit",
        &[
            ("AWS_ENDPOINT_URL", &closed),
            ("KMS_KEY_ENV_CHILD_ENDPOINT", &endpoint),
        ],
    );
}

/// The child half of the two tests above. Run on its own (`--include-ignored`) it has
/// nothing to check and returns: the parent tests are the ones that assert.
#[tokio::test]
#[ignore = "run in a child process by the from_env_* tests"]
async fn from_env_child() {
    let backend = match std::env::var("KMS_KEY_ENV_CHILD").as_deref() {
        Ok("env") => AwsBackend::from_env().await,
        Ok("explicit") => {
            let endpoint = std::env::var("KMS_KEY_ENV_CHILD_ENDPOINT").unwrap();
            AwsBackend::from_env_with_endpoint(endpoint).await
        }
        _ => {
            eprintln!("from_env_child: not started by a from_env_* test, nothing to check");
            return;
        }
    };
    assert_eq!(
        backend
            .client()
            .config()
            .retry_config()
            .unwrap()
            .max_attempts(),
        1
    );
    let key = backend.create_key(CreateKeyRequest::new()).await.unwrap();
    assert_eq!(backend.describe_key(&key.arn).await.unwrap(), key);
}
