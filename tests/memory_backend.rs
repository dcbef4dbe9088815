//! What only the in-memory backend offers or decides: its configuration, the exact messages of
//! rules AWS enforces but the ground truth does not record, the call log, scripted faults, the
//! clock, latency, paging, concurrency, and backend-level reproductions of the field reports
//! (test names carry the case id).

#[allow(dead_code)]
mod conformance;

use std::sync::Arc;
use std::time::Duration;

use kms_key::backend::memory::{
    Call, Clock, CustomKeyStoreKind, Fault, InMemoryBackend, InMemoryBackendBuilder, ManualClock,
    SnapshotError,
};
use kms_key::backend::{
    BackendError, CreateKeyRequest, ErrorKind, KeyMetadata, KmsBackend, Operation, Tag,
};
use kms_key::spec::{KeySpec, KeyState, KeyUsage, Origin};

use conformance::{Location, all_tags, assert_error, json, numbered_tags, spec_request};

const T0: u64 = 1_700_000_000;
const DAY: i64 = 86_400;

async fn create(kms: &InMemoryBackend, request: CreateKeyRequest) -> KeyMetadata {
    conformance::create(kms, request).await
}

async fn create_default(kms: &InMemoryBackend) -> KeyMetadata {
    create(kms, CreateKeyRequest::new()).await
}

fn request_with_policy(policy: &str) -> CreateKeyRequest {
    let mut request = CreateKeyRequest::new();
    request.policy = Some(policy.to_owned());
    request
}

mod config {
    use super::*;

    #[tokio::test]
    async fn defaults_are_the_field_reports_account() {
        let kms = InMemoryBackend::new();
        assert_eq!(kms.account_id(), "111122223333");
        assert_eq!(kms.region(), "us-east-1");
        assert_eq!(kms.partition(), "aws");
        assert_eq!(
            kms.caller_principal(),
            "arn:aws:iam::111122223333:role/admin"
        );
        assert_eq!(
            kms.caller_principal(),
            InMemoryBackend::DEFAULT_CALLER_PRINCIPAL
        );
        let key = create_default(&kms).await;
        assert_eq!(
            key.arn,
            format!("arn:aws:kms:us-east-1:111122223333:key/{}", key.key_id)
        );
        assert_eq!(key.aws_account_id, "111122223333");
    }

    #[tokio::test]
    async fn partition_follows_the_region() {
        for (region, partition) in [
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("eu-west-1", "aws"),
        ] {
            let kms = InMemoryBackend::builder()
                .account_id("444455556666")
                .region(region)
                .build();
            assert_eq!(kms.partition(), partition);
            assert_eq!(
                kms.caller_principal(),
                format!("arn:{partition}:iam::444455556666:role/admin")
            );
            let key = create_default(&kms).await;
            assert_eq!(
                key.arn,
                format!(
                    "arn:{partition}:kms:{region}:444455556666:key/{}",
                    key.key_id
                )
            );
            let policy = kms.get_key_policy(&key.key_id).await.unwrap();
            assert_eq!(json(&policy), Location::of(&key).default_policy());
        }
    }

    #[tokio::test]
    async fn the_seed_fixes_the_key_ids() {
        async fn ids(seed: u64) -> Vec<String> {
            let kms = InMemoryBackend::builder().seed(seed).build();
            let mut ids = Vec::new();
            for multi_region in [false, false, true] {
                let mut request = CreateKeyRequest::new();
                request.multi_region = multi_region;
                ids.push(create(&kms, request).await.key_id);
            }
            ids
        }
        let first = ids(7).await;
        assert_eq!(ids(7).await, first);
        assert_ne!(ids(8).await, first);
        for id in &first[..2] {
            // UUID version 4, RFC 4122 variant.
            assert_eq!(&id[14..15], "4", "{id}");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        }
        assert!(first[2].starts_with("mrk-") && first[2].len() == 36);
    }

    #[tokio::test]
    async fn clones_share_one_store() {
        let kms = InMemoryBackend::new();
        let other = kms.clone();
        let key = create_default(&other).await;
        assert_eq!(kms.describe_key(&key.key_id).await.unwrap(), key);
        assert_eq!(kms.key_count(), 1);
        assert_eq!(kms.calls(), other.calls());
        let shared: Arc<dyn KmsBackend> = Arc::new(kms);
        assert_eq!(shared.list_keys(None).await.unwrap().keys.len(), 1);
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<InMemoryBackend>();
        send_sync::<InMemoryBackendBuilder>();
        send_sync::<Call>();
        send_sync::<Fault>();
        send_sync::<Clock>();
        send_sync::<ManualClock>();
        send_sync::<CustomKeyStoreKind>();
        send_sync::<SnapshotError>();
        send_sync::<BackendError>();
    }

    #[test]
    fn debug_names_the_store_not_its_contents() {
        let text = format!("{:?}", InMemoryBackend::new());
        assert_eq!(
            text,
            r#"InMemoryBackend { account_id: "111122223333", region: "us-east-1", keys: 0, calls: 0, .. }"#
        );
    }
}

mod strict_rules {
    use super::*;

    #[tokio::test]
    async fn sm2_only_in_the_china_regions() {
        let kms = InMemoryBackend::new();
        assert_error(
            kms.create_key(spec_request(KeySpec::Sm2, Some(KeyUsage::SignVerify)))
                .await,
            ErrorKind::UnsupportedOperation,
            "KeySpec SM2 is not supported in Region us-east-1.",
        );
        let china = InMemoryBackend::builder().region("cn-north-1").build();
        for &usage in KeySpec::Sm2.allowed_usages() {
            let key = create(&china, spec_request(KeySpec::Sm2, Some(usage))).await;
            assert_eq!((key.key_spec, key.key_usage), (KeySpec::Sm2, usage));
        }
        let key = create(
            &china,
            spec_request(KeySpec::Sm2, Some(KeyUsage::EncryptDecrypt)),
        )
        .await;
        assert_eq!(key.encryption_algorithms, ["SM2PKE"]);
    }

    #[tokio::test]
    async fn ml_kem_everywhere_but_the_china_regions() {
        let request = spec_request(KeySpec::MlKem768, Some(KeyUsage::EncapsulateDecapsulate));
        create(&InMemoryBackend::new(), request.clone()).await;
        let china = InMemoryBackend::builder().region("cn-north-1").build();
        assert_error(
            china.create_key(request).await,
            ErrorKind::UnsupportedOperation,
            "KeySpec ML_KEM_768 is not supported in Region cn-north-1.",
        );
    }

    fn store_backend() -> InMemoryBackend {
        InMemoryBackend::builder()
            .custom_key_store("cks-hsm", CustomKeyStoreKind::CloudHsm, true)
            .custom_key_store("cks-xks", CustomKeyStoreKind::External, true)
            .custom_key_store("cks-off", CustomKeyStoreKind::CloudHsm, false)
            .build()
    }

    fn in_store(origin: Origin, store: &str, xks: Option<&str>) -> CreateKeyRequest {
        let mut request = CreateKeyRequest::new();
        request.origin = Some(origin);
        request.custom_key_store_id = Some(store.to_owned());
        request.xks_key_id = xks.map(str::to_owned);
        request
    }

    #[tokio::test]
    async fn custom_key_stores() {
        let kms = store_backend();
        let hsm = create(&kms, in_store(Origin::AwsCloudhsm, "cks-hsm", None)).await;
        assert_eq!(
            (
                hsm.origin,
                hsm.custom_key_store_id.as_deref(),
                hsm.key_state
            ),
            (Origin::AwsCloudhsm, Some("cks-hsm"), KeyState::Enabled)
        );
        let xks = create(
            &kms,
            in_store(Origin::ExternalKeyStore, "cks-xks", Some("xks-1")),
        )
        .await;
        assert_eq!(
            (xks.origin, xks.xks_key_id.as_deref()),
            (Origin::ExternalKeyStore, Some("xks-1"))
        );

        assert_error(
            kms.create_key(in_store(Origin::AwsCloudhsm, "cks-nope", None))
                .await,
            ErrorKind::CustomKeyStoreNotFound,
            "Custom key store 'cks-nope' does not exist",
        );
        assert_error(
            kms.create_key(in_store(Origin::AwsCloudhsm, "cks-off", None))
                .await,
            ErrorKind::CustomKeyStoreInvalidState,
            "Custom key store 'cks-off' is not connected",
        );
        assert_error(
            kms.create_key(in_store(Origin::ExternalKeyStore, "cks-hsm", Some("x")))
                .await,
            ErrorKind::Validation,
            "Origin EXTERNAL_KEY_STORE does not match custom key store 'cks-hsm', whose keys have origin AWS_CLOUDHSM",
        );
        assert_error(
            kms.create_key(in_store(Origin::ExternalKeyStore, "cks-xks", None))
                .await,
            ErrorKind::Validation,
            "XksKeyId is required when Origin is EXTERNAL_KEY_STORE",
        );
        assert_error(
            kms.create_key(in_store(Origin::AwsKms, "cks-hsm", None))
                .await,
            ErrorKind::Validation,
            "Origin AWS_KMS is not valid with a CustomKeyStoreId; use AWS_CLOUDHSM or EXTERNAL_KEY_STORE",
        );
        let mut no_store = CreateKeyRequest::new();
        no_store.origin = Some(Origin::AwsCloudhsm);
        assert_error(
            kms.create_key(no_store).await,
            ErrorKind::Validation,
            "CustomKeyStoreId is required when Origin is AWS_CLOUDHSM",
        );
        let mut stray_xks = CreateKeyRequest::new();
        stray_xks.xks_key_id = Some("xks-1".into());
        assert_error(
            kms.create_key(stray_xks).await,
            ErrorKind::Validation,
            "XksKeyId is only valid when Origin is EXTERNAL_KEY_STORE",
        );
        assert_eq!(kms.key_count(), 2);
    }

    #[tokio::test]
    async fn mrk_custom_key_store() {
        let kms = store_backend();
        let mut multi = in_store(Origin::AwsCloudhsm, "cks-hsm", None);
        multi.multi_region = true;
        assert_error(
            kms.create_key(multi).await,
            ErrorKind::UnsupportedOperation,
            "Multi-Region keys are not supported in a custom key store.",
        );
        for (spec, usage) in [
            (KeySpec::Rsa2048, KeyUsage::EncryptDecrypt),
            (KeySpec::Hmac256, KeyUsage::GenerateVerifyMac),
        ] {
            let mut request = in_store(Origin::AwsCloudhsm, "cks-hsm", None);
            request.key_spec = Some(spec);
            request.key_usage = Some(usage);
            assert_error(
                kms.create_key(request).await,
                ErrorKind::UnsupportedOperation,
                &format!("KeySpec {spec} is not supported for KMS keys in a custom key store."),
            );
        }
        let hsm = create(&kms, in_store(Origin::AwsCloudhsm, "cks-hsm", None)).await;
        assert_error(
            kms.enable_key_rotation(&hsm.key_id, None).await,
            ErrorKind::UnsupportedOperation,
            &format!(
                "{} origin is AWS_CLOUDHSM which is not valid for this operation.",
                hsm.arn
            ),
        );
        let mut mrk_ecc = spec_request(KeySpec::EccNistP256, Some(KeyUsage::SignVerify));
        mrk_ecc.multi_region = true;
        let key = create(&kms, mrk_ecc).await;
        assert!(key.key_id.starts_with("mrk-") && key.multi_region);
    }

    #[tokio::test]
    async fn tag_pattern_refuses_tab_and_newline_accepts_separators() {
        // Tab and newline are white space but not \p{Z}: AWS's pattern refuses them.
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        for value in ["a\tb", "a\nb"] {
            assert_error(
                kms.tag_resource(&key.key_id, &[Tag::new("k", value)]).await,
                ErrorKind::Validation,
                &format!(
                    "1 validation error detected: Value '{value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$"
                ),
            );
        }
        let fine = Tag::new("team\u{3000}名", "a\u{A0}b ٣");
        kms.tag_resource(&key.key_id, std::slice::from_ref(&fine))
            .await
            .unwrap();
        assert_eq!(all_tags(&kms, &key.key_id).await, [fine]);
    }

    #[tokio::test]
    async fn request_shape_messages() {
        let kms = InMemoryBackend::new();
        let long = "d".repeat(8193);
        let mut request = CreateKeyRequest::new();
        request.description = Some(long.clone());
        assert_error(
            kms.create_key(request.clone()).await,
            ErrorKind::Validation,
            &format!(
                "1 validation error detected: Value '{long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"
            ),
        );
        // AWS reports every shape error of a request at once.
        request.tags = vec![Tag::new("", "v"), Tag::new("ok", "bad*value")];
        assert_error(
            kms.create_key(request).await,
            ErrorKind::Validation,
            &format!(
                "3 validation errors detected: Value '{long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192; Value '' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1; Value 'bad*value' at 'tags.2.member.tagValue' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$"
            ),
        );
        let key = create_default(&kms).await;
        assert_error(
            kms.update_key_description(&key.key_id, &long).await,
            ErrorKind::Validation,
            &format!(
                "1 validation error detected: Value '{long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"
            ),
        );
        for (days, bound) in [
            (89, "greater than or equal to 90"),
            (2561, "less than or equal to 2560"),
        ] {
            assert_error(
                kms.enable_key_rotation(&key.key_id, Some(days)).await,
                ErrorKind::Validation,
                &format!(
                    "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value {bound}"
                ),
            );
        }
        assert_error(
            kms.untag_resource(&key.key_id, &["k".repeat(129)]).await,
            ErrorKind::Validation,
            &format!(
                "1 validation error detected: Value '{}' at 'tagKeys.1.member' failed to satisfy constraint: Member must have length less than or equal to 128",
                "k".repeat(129)
            ),
        );
        assert_error(
            kms.untag_resource(&key.key_id, &["aws:created-by".into()])
                .await,
            ErrorKind::Tag,
            "Tags beginning with aws: are reserved",
        );
        // The reserved prefix is matched without regard to case.
        assert_error(
            kms.tag_resource(&key.key_id, &[Tag::new("AWS:x", "y")])
                .await,
            ErrorKind::Tag,
            "Tags beginning with aws: are reserved",
        );
    }

    #[tokio::test]
    async fn policy_shape_messages() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        let at = Location::of(&key);
        let padding = " ".repeat(32_768);
        let too_large = format!("{}{padding}", at.root_policy());
        assert_error(
            kms.put_key_policy(&key.key_id, &too_large, false).await,
            ErrorKind::Validation,
            &format!(
                "1 validation error detected: Value '{too_large}' at 'policy' failed to satisfy constraint: Member must have length less than or equal to 32768"
            ),
        );
        let bad_char = at.root_policy().replace("Root", "Root\u{0100}");
        assert_error(
            kms.put_key_policy(&key.key_id, &bad_char, false).await,
            ErrorKind::Validation,
            &format!(
                "1 validation error detected: Value '{bad_char}' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
            ),
        );
        assert_error(
            kms.create_key(request_with_policy("")).await,
            ErrorKind::Validation,
            "1 validation error detected: Value '' at 'policy' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
        // Latin-1 characters are allowed.
        let latin1 = at.root_policy().replace("Root", "Root\u{00e9}");
        kms.put_key_policy(&key.key_id, &latin1, false)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn policy_without_a_principal_is_malformed() {
        let kms = InMemoryBackend::new();
        let err = kms
            .create_key(request_with_policy(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedPolicy);
        assert_eq!(
            err.message(),
            "Policy contains a statement with no principal."
        );
        assert_eq!(kms.key_count(), 0);
    }

    #[tokio::test]
    async fn policy_with_a_principal_naming_nobody_is_malformed() {
        // `{}` and `{"AWS": []}` name nobody: AWS answers as for a statement without one.
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        for principal in ["{}", r#"{"AWS":[]}"#] {
            let policy = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"kms:*","Resource":"*"}}]}}"#
            );
            assert_error(
                kms.create_key(request_with_policy(&policy)).await,
                ErrorKind::MalformedPolicy,
                "Policy contains a statement with no principal.",
            );
            assert_error(
                kms.put_key_policy(&key.key_id, &policy, false).await,
                ErrorKind::MalformedPolicy,
                "Policy contains a statement with no principal.",
            );
        }
        assert_eq!(kms.key_count(), 1);
    }

    #[tokio::test]
    async fn malformed_principal_is_a_malformed_policy_never_invalid_principals() {
        // A principal that can never exist must not come back as InvalidPrincipals, the answer
        // the reconciler retries while IAM propagates a new role.
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        let before = kms.get_key_policy(&key.key_id).await.unwrap();
        for principal in [
            "",
            "deployer",
            "arn:aws:iam:111122223333:role/x",
            "arn:aws:iam::1111:root",
        ] {
            let policy = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"App","Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
            );
            // The message is the validation message naming the value.
            let message = kms_key::policy::KeyPolicy::parse(&policy)
                .unwrap_err()
                .errors()[0]
                .message()
                .to_owned();
            assert_error(
                kms.create_key(request_with_policy(&policy)).await,
                ErrorKind::MalformedPolicy,
                &message,
            );
            assert_error(
                kms.put_key_policy(&key.key_id, &policy, false).await,
                ErrorKind::MalformedPolicy,
                &message,
            );
        }
        assert_eq!(kms.key_count(), 1);
        assert_eq!(kms.get_key_policy(&key.key_id).await.unwrap(), before);
    }

    #[tokio::test]
    async fn get_key_policy_answers_in_aws_layout() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        let text = kms.get_key_policy(&key.key_id).await.unwrap();
        // Jackson's pretty printer, as AWS answers: `"Key" : value`, two-space indent.
        assert!(text.starts_with("{\n  \""), "{text}");
        assert!(text.contains("\"Version\" : \"2012-10-17\""), "{text}");
        assert!(text.contains("\"Statement\" : [ {\n    \""), "{text}");
        assert!(text.ends_with("\n}"), "{text}");
    }

    #[tokio::test]
    async fn malformed_key_ids() {
        let kms = InMemoryBackend::new();
        create_default(&kms).await;
        assert_error(
            kms.describe_key("not-a-key").await,
            ErrorKind::NotFound,
            "Invalid keyId 'not-a-key'",
        );
        assert_error(
            kms.describe_key("arn:aws:s3:::bucket").await,
            ErrorKind::NotFound,
            "Invalid keyId 'arn:aws:s3:::bucket'",
        );
        assert_error(
            kms.describe_key("alias/app").await,
            ErrorKind::NotFound,
            "Alias arn:aws:kms:us-east-1:111122223333:alias/app is not found.",
        );
        assert_error(
            kms.describe_key("arn:aws:kms:us-east-1:111122223333:alias/app")
                .await,
            ErrorKind::NotFound,
            "Alias arn:aws:kms:us-east-1:111122223333:alias/app is not found.",
        );
        assert_error(
            kms.enable_key("").await,
            ErrorKind::Validation,
            "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
        // A multi-Region id that was never created names the full ARN.
        assert_error(
            kms.describe_key("mrk-1234abcd12ab34cd56ef1234567890ab")
                .await,
            ErrorKind::NotFound,
            "Key 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab' does not exist",
        );
    }

    #[tokio::test]
    async fn refused_creates_create_nothing() {
        let kms = InMemoryBackend::new();
        let before = kms.to_json();
        let mut refused = vec![
            spec_request(KeySpec::Hmac256, None),
            spec_request(KeySpec::Rsa2048, Some(KeyUsage::KeyAgreement)),
            request_with_policy("not JSON"),
        ];
        let mut tags = CreateKeyRequest::new();
        tags.tags = numbered_tags(51, "k");
        refused.push(tags);
        for request in refused {
            assert!(kms.create_key(request).await.is_err());
        }
        assert_eq!(kms.to_json(), before, "ids, keys and tags untouched");
        assert_eq!(kms.key_count(), 0);
        assert_eq!(
            kms.calls(),
            vec![
                Call::new(Operation::CreateKey, None, Err(ErrorKind::Validation)),
                Call::new(Operation::CreateKey, None, Err(ErrorKind::Validation)),
                Call::new(Operation::CreateKey, None, Err(ErrorKind::MalformedPolicy)),
                Call::new(Operation::CreateKey, None, Err(ErrorKind::Tag))
            ]
        );
    }
}

mod call_log {
    use super::*;

    #[tokio::test]
    async fn calls_are_logged_in_order_with_resolved_key_ids() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        let id = key.key_id.as_str();
        kms.describe_key(&key.arn).await.unwrap();
        kms.describe_key(conformance::UNKNOWN_KEY_ID)
            .await
            .unwrap_err();
        kms.disable_key(id).await.unwrap();
        kms.enable_key_rotation(&key.arn, None).await.unwrap_err();
        kms.list_keys(None).await.unwrap();
        kms.create_key(spec_request(KeySpec::Hmac256, None))
            .await
            .unwrap_err();
        assert_eq!(
            kms.calls(),
            vec![
                Call::ok(Operation::CreateKey, id),
                Call::ok(Operation::DescribeKey, id),
                Call::failed(
                    Operation::DescribeKey,
                    conformance::UNKNOWN_KEY_ID,
                    ErrorKind::NotFound
                ),
                Call::ok(Operation::DisableKey, id),
                Call::failed(Operation::EnableKeyRotation, id, ErrorKind::Disabled),
                Call::new(Operation::ListKeys, None, Ok(())),
                Call::new(Operation::CreateKey, None, Err(ErrorKind::Validation)),
            ]
        );
        assert_eq!(
            kms.writes(),
            [
                Operation::CreateKey,
                Operation::DisableKey,
                Operation::EnableKeyRotation,
                Operation::CreateKey
            ]
        );
        assert_eq!(kms.count(Operation::DescribeKey), 2);
        assert_eq!(kms.count(Operation::CreateKey), 2);
        assert_eq!(kms.count(Operation::PutKeyPolicy), 0);
        let call = &kms.calls()[4];
        assert_eq!(
            (call.operation(), call.key_id(), call.outcome()),
            (
                Operation::EnableKeyRotation,
                Some(id),
                Err(ErrorKind::Disabled)
            )
        );
        kms.clear_calls();
        assert_eq!(kms.calls(), []);
        assert_eq!(kms.writes(), []);
    }
}

mod faults {
    use super::*;

    #[tokio::test]
    async fn fail_nth_fails_exactly_that_call() {
        let kms = InMemoryBackend::new();
        kms.fail_nth(Operation::CreateKey, 2, ErrorKind::Throttled);
        let first = create_default(&kms).await;
        let err = kms.create_key(CreateKeyRequest::new()).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.operation(), err.message()),
            (ErrorKind::Throttled, Operation::CreateKey, "Rate exceeded")
        );
        assert!(err.is_retryable());
        let third = create_default(&kms).await;
        assert_eq!(kms.key_count(), 2);
        assert_eq!(
            kms.calls(),
            vec![
                Call::ok(Operation::CreateKey, &first.key_id),
                Call::new(Operation::CreateKey, None, Err(ErrorKind::Throttled)),
                Call::ok(Operation::CreateKey, &third.key_id),
            ]
        );
    }

    #[tokio::test]
    async fn fail_next_fails_k_calls_with_the_given_message() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        kms.fail_next(
            Operation::TagResource,
            2,
            Fault::new(ErrorKind::Internal).with_message("injected"),
        );
        for _ in 0..2 {
            assert_error(
                kms.tag_resource(&key.key_id, &[Tag::new("a", "1")]).await,
                ErrorKind::Internal,
                "injected",
            );
        }
        assert_eq!(
            all_tags(&kms, &key.key_id).await,
            [],
            "a failed call changes nothing"
        );
        kms.tag_resource(&key.key_id, &[Tag::new("a", "1")])
            .await
            .unwrap();
        assert_eq!(all_tags(&kms, &key.key_id).await, [Tag::new("a", "1")]);
    }

    #[tokio::test]
    async fn fail_after_simulates_an_interrupted_process() {
        let kms = InMemoryBackend::new();
        kms.fail_after(
            2,
            Fault::new(ErrorKind::Transport).with_message("connection reset"),
        );
        let key = create_default(&kms).await;
        kms.update_key_description(&key.key_id, "set")
            .await
            .unwrap();
        let frozen = kms.to_json();
        for op in [
            Operation::DescribeKey,
            Operation::EnableKeyRotation,
            Operation::TagResource,
            Operation::CreateKey,
        ] {
            let result = conformance::call_op(&kms, op, &key.key_id, "{}").await;
            assert_error(result, ErrorKind::Transport, "connection reset");
        }
        assert_eq!(kms.to_json(), frozen);
        assert_eq!(
            kms.writes(),
            [
                Operation::CreateKey,
                Operation::UpdateKeyDescription,
                Operation::EnableKeyRotation,
                Operation::TagResource,
                Operation::CreateKey
            ]
        );
        kms.clear_faults();
        assert_eq!(
            kms.describe_key(&key.key_id).await.unwrap().description,
            "set"
        );
    }

    #[tokio::test]
    async fn new_keys_can_be_invisible_to_their_first_reads() {
        let kms = InMemoryBackend::new();
        let old = create_default(&kms).await;
        kms.hide_new_keys_from_reads(2);
        let key = create_default(&kms).await;
        let not_found = format!("Key '{}' does not exist", key.arn);
        assert_error(
            kms.describe_key(&key.key_id).await,
            ErrorKind::NotFound,
            &not_found,
        );
        assert_error(
            kms.get_key_policy(&key.arn).await,
            ErrorKind::NotFound,
            &not_found,
        );
        kms.describe_key(&key.key_id).await.unwrap();
        // Keys from before the script, and writes, are not affected.
        kms.describe_key(&old.key_id).await.unwrap();
        kms.hide_new_keys_from_reads(1);
        let next = create_default(&kms).await;
        kms.update_key_description(&next.key_id, "written")
            .await
            .unwrap();
        assert_error(
            kms.get_key_rotation_status(&next.key_id).await,
            ErrorKind::NotFound,
            &format!("Key '{}' does not exist", next.arn),
        );
        assert_eq!(
            kms.describe_key(&next.key_id).await.unwrap().description,
            "written"
        );
        assert_eq!(
            kms.calls()
                .iter()
                .filter(|c| c.outcome == Err(ErrorKind::NotFound))
                .count(),
            3
        );
    }

    #[tokio::test]
    async fn new_principal_propagation_backend_refuses_the_first_two_creates() {
        // The field report's backend: two InvalidPrincipals answers, then CreateKey succeeds,
        // and description, policy and tags all travel inside that one CreateKey.
        let kms = InMemoryBackend::new();
        kms.fail_next(
            Operation::CreateKey,
            2,
            Fault::new(ErrorKind::InvalidPrincipals)
                .with_message("Policy contains a statement with one or more invalid principals."),
        );
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
        let mut request = request_with_policy(policy);
        request.description = Some("app key".into());
        request.tags = vec![Tag::new("env", "dev")];
        for _ in 0..2 {
            assert_error(
                kms.create_key(request.clone()).await,
                ErrorKind::InvalidPrincipals,
                "Policy contains a statement with one or more invalid principals.",
            );
        }
        let key = create(&kms, request).await;
        assert_eq!(
            kms.writes(),
            [
                Operation::CreateKey,
                Operation::CreateKey,
                Operation::CreateKey
            ]
        );
        assert_eq!(kms.key_count(), 1);
        assert_eq!(key.description, "app key");
        assert_eq!(
            json(&kms.get_key_policy(&key.key_id).await.unwrap()),
            json(policy)
        );
        assert_eq!(all_tags(&kms, &key.key_id).await, [Tag::new("env", "dev")]);
    }

    #[tokio::test]
    async fn new_principal_propagation_principal_visible_after_two_attempts() {
        let role = "arn:aws:iam::111122223333:role/new-app";
        let kms = InMemoryBackend::new();
        kms.principal_visible_after(role, 2);
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"App","Effect":"Allow","Principal":{{"AWS":"{role}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
        );
        for _ in 0..2 {
            assert_error(
                kms.create_key(request_with_policy(&policy)).await,
                ErrorKind::InvalidPrincipals,
                "Policy contains a statement with one or more invalid principals.",
            );
        }
        let key = create(&kms, request_with_policy(&policy)).await;
        // From then on the role exists.
        kms.put_key_policy(&key.key_id, &policy, false)
            .await
            .unwrap();
        assert_eq!(kms.key_count(), 1);
    }

    #[tokio::test]
    async fn new_principal_propagation_principal_that_never_appears() {
        let kms = InMemoryBackend::new();
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Sid":"Ghost","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ghost"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
        for _ in 0..5 {
            assert_error(
                kms.create_key(request_with_policy(policy)).await,
                ErrorKind::InvalidPrincipals,
                "Policy contains a statement with one or more invalid principals.",
            );
        }
        assert_eq!(kms.key_count(), 0);
        // A configured principal exists.
        let known = InMemoryBackend::builder()
            .known_principals(["arn:aws:iam::111122223333:role/ghost"])
            .build();
        create(&known, request_with_policy(policy)).await;
    }

    #[tokio::test]
    async fn lockout_safety_check_deploy_role_locked_out() {
        let kms = InMemoryBackend::builder()
            .caller_principal("arn:aws:iam::111122223333:role/deployer")
            .known_principals(["arn:aws:iam::111122223333:role/key-admin"])
            .build();
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/key-admin"},"Action":"kms:*","Resource":"*"}]}"#;
        assert_error(
            kms.create_key(request_with_policy(policy)).await,
            ErrorKind::PolicyLockout,
            "The new key policy will not allow you to update the key policy in the future.",
        );
        assert_eq!(kms.key_count(), 0);
        let mut bypass = request_with_policy(policy);
        bypass.bypass_policy_lockout_safety_check = true;
        create(&kms, bypass).await;
        assert_eq!(kms.writes(), [Operation::CreateKey, Operation::CreateKey]);
    }

    #[tokio::test]
    async fn lockout_safety_check_bypass_creates_the_key() {
        // The half of the field report the stub policy module can already show.
        let kms = InMemoryBackend::builder()
            .caller_principal("arn:aws:iam::111122223333:role/deployer")
            .known_principals(["arn:aws:iam::111122223333:role/key-admin"])
            .build();
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/key-admin"},"Action":"kms:*","Resource":"*"}]}"#;
        let mut bypass = request_with_policy(policy);
        bypass.bypass_policy_lockout_safety_check = true;
        let key = create(&kms, bypass).await;
        assert_eq!(kms.writes(), [Operation::CreateKey]);
        assert_eq!(
            json(&kms.get_key_policy(&key.key_id).await.unwrap()),
            json(policy)
        );
    }
}

mod field_reports {
    use super::*;

    async fn rotation(kms: &InMemoryBackend, key_id: &str) -> (bool, Option<i32>) {
        let status = kms.get_key_rotation_status(key_id).await.unwrap();
        (status.enabled, status.rotation_period_in_days)
    }

    #[tokio::test]
    async fn rotation_vs_enabled_ordering_disabled_key_refuses_rotation_until_enabled() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        kms.disable_key(&key.key_id).await.unwrap();
        kms.clear_calls();
        assert_error(
            kms.enable_key_rotation(&key.key_id, None).await,
            ErrorKind::Disabled,
            &format!("{} is disabled.", key.arn),
        );
        kms.enable_key(&key.key_id).await.unwrap();
        kms.enable_key_rotation(&key.key_id, None).await.unwrap();
        assert_eq!(rotation(&kms, &key.key_id).await, (true, Some(365)));
        assert_eq!(
            kms.calls(),
            vec![
                Call::failed(
                    Operation::EnableKeyRotation,
                    &key.key_id,
                    ErrorKind::Disabled
                ),
                Call::ok(Operation::EnableKey, &key.key_id),
                Call::ok(Operation::EnableKeyRotation, &key.key_id),
                Call::ok(Operation::GetKeyRotationStatus, &key.key_id),
            ]
        );
    }

    #[tokio::test]
    async fn rotation_vs_enabled_ordering_a_enable_key_then_rotation() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        kms.disable_key(&key.key_id).await.unwrap();
        kms.clear_calls();
        kms.enable_key(&key.key_id).await.unwrap();
        kms.enable_key_rotation(&key.key_id, None).await.unwrap();
        assert_eq!(
            kms.writes(),
            [Operation::EnableKey, Operation::EnableKeyRotation]
        );
        assert!(kms.describe_key(&key.key_id).await.unwrap().enabled);
        assert_eq!(rotation(&kms, &key.key_id).await, (true, Some(365)));
    }

    #[tokio::test]
    async fn rotation_vs_enabled_ordering_b_rotation_then_disable() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        kms.clear_calls();
        kms.enable_key_rotation(&key.key_id, None).await.unwrap();
        kms.disable_key(&key.key_id).await.unwrap();
        assert_eq!(
            kms.writes(),
            [Operation::EnableKeyRotation, Operation::DisableKey]
        );
        assert_eq!(rotation(&kms, &key.key_id).await, (true, Some(365)));
        // The other order is the bug: the disabled key refuses the rotation change.
        let other = create_default(&kms).await;
        kms.disable_key(&other.key_id).await.unwrap();
        assert_error(
            kms.enable_key_rotation(&other.key_id, None).await,
            ErrorKind::Disabled,
            &format!("{} is disabled.", other.arn),
        );
    }

    #[tokio::test]
    async fn rotation_vs_enabled_ordering_c_disable_rotation_then_key() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        kms.enable_key_rotation(&key.key_id, None).await.unwrap();
        kms.clear_calls();
        kms.disable_key_rotation(&key.key_id).await.unwrap();
        kms.disable_key(&key.key_id).await.unwrap();
        assert_eq!(
            kms.writes(),
            [Operation::DisableKeyRotation, Operation::DisableKey]
        );
        assert_eq!(rotation(&kms, &key.key_id).await, (false, None));
        let other = create_default(&kms).await;
        kms.enable_key_rotation(&other.key_id, None).await.unwrap();
        kms.disable_key(&other.key_id).await.unwrap();
        assert_error(
            kms.disable_key_rotation(&other.key_id).await,
            ErrorKind::Disabled,
            &format!("{} is disabled.", other.arn),
        );
    }

    #[tokio::test]
    async fn rotation_unsupported_key_enable_rotation_refused() {
        let kms = InMemoryBackend::new();
        let mut external = CreateKeyRequest::new();
        external.origin = Some(Origin::External);
        for (request, reason) in [
            (
                spec_request(KeySpec::EccNistP256, Some(KeyUsage::SignVerify)),
                "KeySpec is ECC_NIST_P256",
            ),
            (
                spec_request(KeySpec::Hmac256, Some(KeyUsage::GenerateVerifyMac)),
                "KeySpec is HMAC_256",
            ),
            (external, "origin is EXTERNAL"),
        ] {
            let key = create(&kms, request).await;
            assert_error(
                kms.enable_key_rotation(&key.key_id, None).await,
                ErrorKind::UnsupportedOperation,
                &format!(
                    "{} {reason} which is not valid for this operation.",
                    key.arn
                ),
            );
        }
    }

    #[tokio::test]
    async fn rotation_unsupported_key_status_reads_false() {
        let kms = InMemoryBackend::new();
        let mut external = CreateKeyRequest::new();
        external.origin = Some(Origin::External);
        for request in [
            spec_request(KeySpec::Rsa2048, Some(KeyUsage::EncryptDecrypt)),
            external,
        ] {
            let key = create(&kms, request).await;
            let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
            assert_eq!(
                (
                    status.enabled,
                    status.rotation_period_in_days,
                    status.next_rotation_date
                ),
                (false, None, None)
            );
        }
    }

    #[tokio::test]
    async fn deletion_window_bounds() {
        let kms = InMemoryBackend::builder()
            .clock(ManualClock::at_epoch_secs(T0))
            .build();
        let key = create_default(&kms).await;
        for days in [6, 31] {
            assert_error(
                kms.schedule_key_deletion(&key.key_id, Some(days)).await,
                ErrorKind::Validation,
                "PendingWindowInDays must be between 7 and 30",
            );
        }
        for days in [7, 30] {
            let key = create_default(&kms).await;
            let scheduled = kms
                .schedule_key_deletion(&key.key_id, Some(days))
                .await
                .unwrap();
            assert_eq!(
                scheduled.deletion_date.map(|d| d.secs()),
                Some(T0 as i64 + i64::from(days) * DAY)
            );
        }
        // Creating a key never schedules a deletion.
        let fresh = InMemoryBackend::new();
        create_default(&fresh).await;
        assert_eq!(fresh.writes(), [Operation::CreateKey]);
    }

    #[tokio::test]
    async fn tags_travel_inside_create_key() {
        let kms = InMemoryBackend::new();
        let mut request = CreateKeyRequest::new();
        request.tags = vec![
            Tag::new("env", "dev"),
            Tag::new("k".repeat(128), "v".repeat(256)),
            Tag::new("empty", ""),
        ];
        let key = create(&kms, request).await;
        assert_eq!(kms.writes(), [Operation::CreateKey]);
        assert_eq!(all_tags(&kms, &key.key_id).await.len(), 3);
        kms.untag_resource(&key.key_id, &["empty".into()])
            .await
            .unwrap();
        kms.tag_resource(
            &key.key_id,
            &[Tag::new("env", "prod"), Tag::new("team", "a")],
        )
        .await
        .unwrap();
        let tags = all_tags(&kms, &key.key_id).await;
        assert_eq!(tags.len(), 3);
        assert!(tags.contains(&Tag::new("env", "prod")) && tags.contains(&Tag::new("team", "a")));
    }

    #[tokio::test]
    async fn keyspec_usage_matrix() {
        let kms = InMemoryBackend::new();
        let mut sign_no_spec = CreateKeyRequest::new();
        sign_no_spec.key_usage = Some(KeyUsage::SignVerify);
        let refused = [
            (
                sign_no_spec,
                "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT",
            ),
            (
                spec_request(KeySpec::EccNistP256, None),
                "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
            ),
            (
                spec_request(KeySpec::Hmac256, Some(KeyUsage::EncryptDecrypt)),
                "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256",
            ),
            (
                spec_request(KeySpec::SymmetricDefault, Some(KeyUsage::GenerateVerifyMac)),
                "KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec SYMMETRIC_DEFAULT",
            ),
        ];
        for (request, message) in refused {
            assert_error(
                kms.create_key(request).await,
                ErrorKind::Validation,
                message,
            );
        }
        for (spec, usage) in [
            (KeySpec::EccNistP256, KeyUsage::KeyAgreement),
            (KeySpec::Rsa2048, KeyUsage::EncryptDecrypt),
            (KeySpec::Rsa2048, KeyUsage::SignVerify),
            (KeySpec::Hmac512, KeyUsage::GenerateVerifyMac),
        ] {
            create(&kms, spec_request(spec, Some(usage))).await;
        }
        assert_eq!(kms.key_count(), 4);
    }
}

mod clock {
    use super::*;

    #[tokio::test]
    async fn dates_come_from_the_clock() {
        let clock = ManualClock::at_epoch_secs(T0);
        let kms = InMemoryBackend::builder().clock(clock.clone()).build();
        let t0 = T0 as i64;
        let key = create_default(&kms).await;
        assert_eq!(key.creation_date.map(|d| d.secs()), Some(t0));

        kms.enable_key_rotation(&key.key_id, None).await.unwrap();
        let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
        assert_eq!(
            status.next_rotation_date.map(|d| d.secs()),
            Some(t0 + 365 * DAY)
        );

        // A new period counts from when rotation was turned on.
        clock.advance(Duration::from_secs(10 * 86_400));
        kms.enable_key_rotation(&key.key_id, Some(90))
            .await
            .unwrap();
        let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
        assert_eq!(
            status.next_rotation_date.map(|d| d.secs()),
            Some(t0 + 90 * DAY)
        );
        // Without a period the period stays.
        kms.enable_key_rotation(&key.key_id, None).await.unwrap();
        let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
        assert_eq!(status.rotation_period_in_days, Some(90));

        // Rotations happen: past a rotation date, the next one is a period later.
        clock.advance(Duration::from_secs(90 * 86_400));
        let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
        assert_eq!(
            status.next_rotation_date.map(|d| d.secs()),
            Some(t0 + 180 * DAY)
        );

        let scheduled = kms
            .schedule_key_deletion(&key.key_id, Some(7))
            .await
            .unwrap();
        assert_eq!(
            scheduled.deletion_date.map(|d| d.secs()),
            Some(t0 + 100 * DAY + 7 * DAY)
        );
    }

    #[tokio::test]
    async fn clock_can_be_fixed_or_replaced() {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(T0);
        let kms = InMemoryBackend::builder().clock(Clock::fixed(at)).build();
        assert_eq!(
            create_default(&kms).await.creation_date.map(|d| d.secs()),
            Some(T0 as i64)
        );
        kms.set_clock(Clock::from_fn(move || at + Duration::from_secs(5)));
        assert_eq!(
            create_default(&kms).await.creation_date.map(|d| d.secs()),
            Some(T0 as i64 + 5)
        );
    }
}

mod latency {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn latency_delays_each_answer_without_holding_the_store() {
        let kms = InMemoryBackend::builder()
            .latency(Duration::from_secs(2))
            .build();
        let start = tokio::time::Instant::now();
        let key = create_default(&kms).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // Two calls at once take one latency, not two: nothing is locked while waiting.
        let start = tokio::time::Instant::now();
        let (a, b) = tokio::join!(kms.describe_key(&key.key_id), kms.list_keys(None));
        a.unwrap();
        b.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        kms.set_latency(None);
        let start = tokio::time::Instant::now();
        kms.describe_key(&key.key_id).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

mod paging {
    use super::*;

    #[tokio::test]
    async fn list_keys_pages_hold_1000_keys_by_default() {
        // KMS's largest page, which the backends ask for.
        let kms = InMemoryBackend::new();
        for _ in 0..1001 {
            create_default(&kms).await;
        }
        let first = kms.list_keys(None).await.unwrap();
        assert_eq!(first.keys.len(), 1000);
        let second = kms.list_keys(first.next_marker.as_deref()).await.unwrap();
        assert_eq!(second.keys.len(), 1);
        assert_eq!(second.next_marker, None);
    }

    #[tokio::test]
    async fn list_keys_pages_in_creation_order() {
        let kms = InMemoryBackend::builder().list_keys_page_size(2).build();
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(create_default(&kms).await.key_id);
        }
        let mut pages = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = kms.list_keys(marker.as_deref()).await.unwrap();
            pages.push(
                page.keys
                    .iter()
                    .map(|e| e.key_id.clone())
                    .collect::<Vec<_>>(),
            );
            match page.next_marker {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        assert_eq!(
            pages,
            [ids[0..2].to_vec(), ids[2..4].to_vec(), ids[4..5].to_vec()]
        );
        assert_error(
            kms.list_keys(Some("bogus")).await,
            ErrorKind::Validation,
            "The request was rejected because the marker that specifies where pagination should next begin is not valid.",
        );
    }

    #[tokio::test]
    async fn tag_pages_follow_key_order_and_survive_changes() {
        let kms = InMemoryBackend::builder().tags_page_size(3).build();
        let mut request = CreateKeyRequest::new();
        request.tags = ["a", "b", "c", "d", "e", "f", "g"]
            .map(|k| Tag::new(k, "v"))
            .to_vec();
        let key = create(&kms, request).await;
        let first = kms.list_resource_tags(&key.key_id, None).await.unwrap();
        let keys = |tags: &[Tag]| tags.iter().map(|t| t.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&first.tags), ["a", "b", "c"]);
        // Changes behind and ahead of the marker: the listing goes on from where it was.
        kms.untag_resource(&key.key_id, &["b".into()])
            .await
            .unwrap();
        kms.tag_resource(&key.key_id, &[Tag::new("zz", "v")])
            .await
            .unwrap();
        let second = kms
            .list_resource_tags(&key.key_id, first.next_marker.as_deref())
            .await
            .unwrap();
        assert_eq!(keys(&second.tags), ["d", "e", "f"]);
        let third = kms
            .list_resource_tags(&key.key_id, second.next_marker.as_deref())
            .await
            .unwrap();
        assert_eq!(keys(&third.tags), ["g", "zz"]);
        assert_eq!(third.next_marker, None);
        assert_error(
            kms.list_resource_tags(&key.key_id, Some("not-a-marker"))
                .await,
            ErrorKind::Validation,
            "The request was rejected because the marker that specifies where pagination should next begin is not valid.",
        );
    }
}

mod concurrency {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_tasks_creating_and_tagging_keys() {
        let kms = InMemoryBackend::new();
        let mut tasks = Vec::new();
        for task in 0..32 {
            let kms = kms.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..5 {
                    let key = kms.create_key(CreateKeyRequest::new()).await.unwrap();
                    kms.tag_resource(
                        &key.key_id,
                        &[
                            Tag::new("task", task.to_string()),
                            Tag::new("n", n.to_string()),
                        ],
                    )
                    .await
                    .unwrap();
                    ids.push((key.key_id, task, n));
                }
                ids
            }));
        }
        let mut created = Vec::new();
        for task in tasks {
            created.extend(task.await.unwrap());
        }
        assert_eq!(created.len(), 160);
        assert_eq!(kms.key_count(), 160);
        let mut ids: Vec<&str> = created.iter().map(|(id, _, _)| id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 160, "key ids are unique");
        for (id, task, n) in &created {
            assert_eq!(
                all_tags(&kms, id).await,
                [
                    Tag::new("n", n.to_string()),
                    Tag::new("task", task.to_string())
                ]
            );
        }
        assert_eq!(kms.count(Operation::CreateKey), 160);
        assert_eq!(kms.count(Operation::TagResource), 160);
        assert_eq!(conformance::all_keys(&kms).await.len(), 160);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_tagging_respects_the_tag_limit() {
        let kms = InMemoryBackend::new();
        let key = create_default(&kms).await;
        let mut tasks = Vec::new();
        for i in 0..60 {
            let kms = kms.clone();
            let id = key.key_id.clone();
            tasks.push(tokio::spawn(async move {
                kms.tag_resource(&id, &[Tag::new(format!("t{i:02}"), "v")])
                    .await
            }));
        }
        let mut refused = 0;
        for task in tasks {
            if let Err(e) = task.await.unwrap() {
                assert_eq!((e.kind(), e.message()), (ErrorKind::Tag, "Too many tags"));
                refused += 1;
            }
        }
        assert_eq!(refused, 10);
        assert_eq!(all_tags(&kms, &key.key_id).await.len(), 50);
    }
}
