//! What `AwsBackend` puts on the wire and how it reads answers, on canned responses
//! (aws-smithy-mocks): key ARNs sent as key ids, `PolicyName` `default`, CreateKey's fields,
//! paging markers in and out. A request no rule matches fails the test (the mock interceptor
//! panics), so each rule's matcher is an assertion about the request.
#![cfg(feature = "aws")]

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{Credentials, Region};
use aws_sdk_kms::operation::cancel_key_deletion::CancelKeyDeletionOutput;
use aws_sdk_kms::operation::create_key::CreateKeyOutput;
use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
use aws_sdk_kms::operation::disable_key::DisableKeyOutput;
use aws_sdk_kms::operation::disable_key_rotation::DisableKeyRotationOutput;
use aws_sdk_kms::operation::enable_key::EnableKeyOutput;
use aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput;
use aws_sdk_kms::operation::get_key_policy::GetKeyPolicyOutput;
use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;
use aws_sdk_kms::operation::list_keys::ListKeysOutput;
use aws_sdk_kms::operation::list_resource_tags::ListResourceTagsOutput;
use aws_sdk_kms::operation::put_key_policy::PutKeyPolicyOutput;
use aws_sdk_kms::operation::schedule_key_deletion::ScheduleKeyDeletionOutput;
use aws_sdk_kms::operation::tag_resource::TagResourceOutput;
use aws_sdk_kms::operation::untag_resource::UntagResourceOutput;
use aws_sdk_kms::operation::update_key_description::UpdateKeyDescriptionOutput;
use aws_sdk_kms::types as sdk;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::DateTime;
use kms_key::backend::aws::AwsBackend;
use kms_key::backend::{
    CreateKeyRequest, ErrorKind, KeyListEntry, KmsBackend, MultiRegionKeyType, Operation,
    RotationStatus, Tag,
};
use kms_key::spec::{KeySpec, KeyState, KeyUsage, Origin};

const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn backend(rules: &[&Rule]) -> AwsBackend {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_kms::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    AwsBackend::new(Client::from_conf(config))
}

#[tokio::test]
async fn key_arns_are_sent_as_key_ids_to_single_account_operations() {
    let enable = mock!(Client::enable_key)
        .match_requests(|r| r.key_id() == Some(ID))
        .then_output(|| EnableKeyOutput::builder().build());
    let disable = mock!(Client::disable_key)
        .match_requests(|r| r.key_id() == Some(ID))
        .then_output(|| DisableKeyOutput::builder().build());
    let update = mock!(Client::update_key_description)
        .match_requests(|r| r.key_id() == Some(ID) && r.description() == Some("new"))
        .then_output(|| UpdateKeyDescriptionOutput::builder().build());
    let enable_rotation = mock!(Client::enable_key_rotation)
        .match_requests(|r| r.key_id() == Some(ID) && r.rotation_period_in_days() == Some(180))
        .then_output(|| EnableKeyRotationOutput::builder().build());
    let disable_rotation = mock!(Client::disable_key_rotation)
        .match_requests(|r| r.key_id() == Some(ID))
        .then_output(|| DisableKeyRotationOutput::builder().build());
    let tag = mock!(Client::tag_resource)
        .match_requests(|r| {
            r.key_id() == Some(ID)
                && r.tags()
                    == [sdk::Tag::builder()
                        .tag_key("team")
                        .tag_value("a")
                        .build()
                        .unwrap()]
        })
        .then_output(|| TagResourceOutput::builder().build());
    let untag = mock!(Client::untag_resource)
        .match_requests(|r| r.key_id() == Some(ID) && r.tag_keys() == ["team", "gone"])
        .then_output(|| UntagResourceOutput::builder().build());
    let backend = backend(&[
        &enable,
        &disable,
        &update,
        &enable_rotation,
        &disable_rotation,
        &tag,
        &untag,
    ]);

    backend.enable_key(ARN).await.unwrap();
    backend.disable_key(ARN).await.unwrap();
    backend.update_key_description(ARN, "new").await.unwrap();
    backend.enable_key_rotation(ARN, Some(180)).await.unwrap();
    backend.disable_key_rotation(ARN).await.unwrap();
    backend
        .tag_resource(ARN, &[Tag::new("team", "a")])
        .await
        .unwrap();
    backend
        .untag_resource(ARN, &["team".to_owned(), "gone".to_owned()])
        .await
        .unwrap();

    for rule in [
        &enable,
        &disable,
        &update,
        &enable_rotation,
        &disable_rotation,
        &tag,
        &untag,
    ] {
        assert_eq!(rule.num_calls(), 1);
    }
}

#[tokio::test]
async fn policies_are_addressed_by_key_id_and_named_default() {
    let get = mock!(Client::get_key_policy)
        .match_requests(|r| r.key_id() == Some(ID) && r.policy_name() == Some("default"))
        .then_output(|| GetKeyPolicyOutput::builder().policy("{}").build());
    let put = mock!(Client::put_key_policy)
        .match_requests(|r| {
            r.key_id() == Some(ID)
                && r.policy_name() == Some("default")
                && r.policy() == Some("{\"p\":1}")
                && r.bypass_policy_lockout_safety_check() == Some(true)
        })
        .then_output(|| PutKeyPolicyOutput::builder().build());
    let put_checked = mock!(Client::put_key_policy)
        .match_requests(|r| {
            r.key_id() == Some("alias/app")
                && r.policy_name() == Some("default")
                && r.bypass_policy_lockout_safety_check().is_none()
        })
        .then_output(|| PutKeyPolicyOutput::builder().build());
    let backend = backend(&[&get, &put, &put_checked]);

    assert_eq!(backend.get_key_policy(ARN).await.unwrap(), "{}");
    backend
        .put_key_policy(ARN, "{\"p\":1}", true)
        .await
        .unwrap();
    backend
        .put_key_policy("alias/app", "{}", false)
        .await
        .unwrap();

    assert_eq!(get.num_calls(), 1);
    assert_eq!(put.num_calls(), 1);
    assert_eq!(put_checked.num_calls(), 1);
}

#[tokio::test]
async fn cross_account_reads_other_regions_and_aliases_keep_their_arn() {
    const OTHER_REGION: &str =
        "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab";
    const ALIAS_ARN: &str = "arn:aws:kms:us-east-1:123456789012:alias/app";
    let describe = mock!(Client::describe_key)
        .match_requests(|r| r.key_id() == Some(ARN))
        .then_output(|| {
            DescribeKeyOutput::builder()
                .key_metadata(metadata(ID, ARN))
                .build()
        });
    let rotation = mock!(Client::get_key_rotation_status)
        .match_requests(|r| r.key_id() == Some(ARN))
        .then_output(|| {
            GetKeyRotationStatusOutput::builder()
                .key_rotation_enabled(true)
                .rotation_period_in_days(90)
                .next_rotation_date(DateTime::from_secs(1_800_000_000))
                .build()
        });
    let enable_other_region = mock!(Client::enable_key)
        .match_requests(|r| r.key_id() == Some(OTHER_REGION))
        .then_output(|| EnableKeyOutput::builder().build());
    let enable_alias = mock!(Client::enable_key)
        .match_requests(|r| r.key_id() == Some(ALIAS_ARN))
        .then_output(|| EnableKeyOutput::builder().build());
    let backend = backend(&[&describe, &rotation, &enable_other_region, &enable_alias]);

    assert_eq!(backend.describe_key(ARN).await.unwrap().key_id, ID);
    let mut want = RotationStatus::new(true, Some(90));
    want.next_rotation_date = Some(DateTime::from_secs(1_800_000_000));
    assert_eq!(backend.get_key_rotation_status(ARN).await.unwrap(), want);
    backend.enable_key(OTHER_REGION).await.unwrap();
    backend.enable_key(ALIAS_ARN).await.unwrap();

    assert_eq!(describe.num_calls(), 1);
    assert_eq!(rotation.num_calls(), 1);
    assert_eq!(enable_other_region.num_calls(), 1);
    assert_eq!(enable_alias.num_calls(), 1);
}

fn metadata(id: &str, arn: &str) -> sdk::KeyMetadata {
    sdk::KeyMetadata::builder()
        .key_id(id)
        .arn(arn)
        .aws_account_id("123456789012")
        .enabled(true)
        .description("")
        .key_state(sdk::KeyState::Enabled)
        .origin(sdk::OriginType::AwsKms)
        .key_spec(sdk::KeySpec::SymmetricDefault)
        .key_usage(sdk::KeyUsageType::EncryptDecrypt)
        .encryption_algorithms(sdk::EncryptionAlgorithmSpec::SymmetricDefault)
        .build()
        .unwrap()
}

#[tokio::test]
async fn create_key_sends_every_field_and_reads_the_metadata() {
    const MRK: &str = "mrk-1234abcd12ab34cd56ef1234567890ab";
    let create = mock!(Client::create_key)
        .match_requests(|r| {
            r.description() == Some("signing")
                && r.policy() == Some("{}")
                && r.bypass_policy_lockout_safety_check() == Some(true)
                && r.key_spec() == Some(&sdk::KeySpec::Rsa2048)
                && r.key_usage() == Some(&sdk::KeyUsageType::SignVerify)
                && r.origin() == Some(&sdk::OriginType::AwsKms)
                && r.multi_region() == Some(true)
                && r.custom_key_store_id().is_none()
                && r.xks_key_id().is_none()
                && r.tags()
                    == [
                        sdk::Tag::builder()
                            .tag_key("a")
                            .tag_value("1")
                            .build()
                            .unwrap(),
                        sdk::Tag::builder()
                            .tag_key("b")
                            .tag_value("")
                            .build()
                            .unwrap(),
                    ]
        })
        .then_output(|| {
            CreateKeyOutput::builder()
                .key_metadata(
                    sdk::KeyMetadata::builder()
                        .key_id(MRK)
                        .arn(format!("arn:aws:kms:us-east-1:123456789012:key/{MRK}"))
                        .aws_account_id("123456789012")
                        .creation_date(DateTime::from_secs(1_700_000_000))
                        .enabled(true)
                        .description("signing")
                        .key_state(sdk::KeyState::Enabled)
                        .origin(sdk::OriginType::AwsKms)
                        .key_spec(sdk::KeySpec::Rsa2048)
                        .key_usage(sdk::KeyUsageType::SignVerify)
                        .signing_algorithms(sdk::SigningAlgorithmSpec::RsassaPssSha256)
                        .multi_region(true)
                        .multi_region_configuration(
                            sdk::MultiRegionConfiguration::builder()
                                .multi_region_key_type(sdk::MultiRegionKeyType::Primary)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let create_default = mock!(Client::create_key)
        .match_requests(|r| {
            r.description().is_none()
                && r.policy().is_none()
                && r.bypass_policy_lockout_safety_check().is_none()
                && r.key_spec().is_none()
                && r.key_usage().is_none()
                && r.origin().is_none()
                && r.multi_region().is_none()
                && r.tags().is_empty()
        })
        .then_output(|| {
            CreateKeyOutput::builder()
                .key_metadata(metadata(ID, ARN))
                .build()
        });
    let backend = backend(&[&create, &create_default]);

    let mut request = CreateKeyRequest::new();
    request.description = Some("signing".into());
    request.policy = Some("{}".into());
    request.bypass_policy_lockout_safety_check = true;
    request.key_spec = Some(KeySpec::Rsa2048);
    request.key_usage = Some(KeyUsage::SignVerify);
    request.origin = Some(Origin::AwsKms);
    request.multi_region = true;
    request.tags = vec![Tag::new("a", "1"), Tag::new("b", "")];
    let key = backend.create_key(request).await.unwrap();

    assert_eq!(key.key_id, MRK);
    assert_eq!(
        key.arn,
        format!("arn:aws:kms:us-east-1:123456789012:key/{MRK}")
    );
    assert_eq!(key.aws_account_id, "123456789012");
    assert_eq!(key.creation_date, Some(DateTime::from_secs(1_700_000_000)));
    assert_eq!(key.key_spec, KeySpec::Rsa2048);
    assert_eq!(key.key_usage, KeyUsage::SignVerify);
    assert_eq!(key.key_state, KeyState::Enabled);
    assert_eq!(key.signing_algorithms, ["RSASSA_PSS_SHA_256"]);
    assert!(key.multi_region);
    assert_eq!(key.multi_region_key_type, Some(MultiRegionKeyType::Primary));

    let key = backend.create_key(CreateKeyRequest::new()).await.unwrap();
    assert_eq!(key.key_id, ID);
    assert_eq!(key.encryption_algorithms, ["SYMMETRIC_DEFAULT"]);
    assert!(!key.multi_region);
    assert_eq!(key.multi_region_key_type, None);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(create_default.num_calls(), 1);
}

#[tokio::test]
async fn list_keys_passes_markers_through() {
    let first = mock!(Client::list_keys)
        .match_requests(|r| r.marker().is_none() && r.limit() == Some(1000))
        .then_output(|| {
            ListKeysOutput::builder()
                .keys(
                    sdk::KeyListEntry::builder()
                        .key_id("k1")
                        .key_arn("a1")
                        .build(),
                )
                .truncated(true)
                .next_marker("page-2")
                .build()
        });
    let second = mock!(Client::list_keys)
        .match_requests(|r| r.marker() == Some("page-2") && r.limit() == Some(1000))
        .then_output(|| {
            ListKeysOutput::builder()
                .keys(
                    sdk::KeyListEntry::builder()
                        .key_id("k2")
                        .key_arn("a2")
                        .build(),
                )
                .truncated(false)
                .build()
        });
    let backend = backend(&[&first, &second]);

    let page = backend.list_keys(None).await.unwrap();
    assert_eq!(page.next_marker.as_deref(), Some("page-2"));
    assert_eq!(
        page.keys
            .iter()
            .map(|k| (&*k.key_id, &*k.key_arn))
            .collect::<Vec<_>>(),
        [("k1", "a1")]
    );
    let page = backend.list_keys(Some("page-2")).await.unwrap();
    assert_eq!(page.next_marker, None);
    assert_eq!(page.keys.len(), 1);
    let KeyListEntry { key_id, .. } = &page.keys[0];
    assert_eq!(key_id, "k2");
}

#[tokio::test]
async fn list_resource_tags_passes_markers_through() {
    let first = mock!(Client::list_resource_tags)
        .match_requests(|r| r.key_id() == Some(ID) && r.marker().is_none())
        .then_output(|| {
            ListResourceTagsOutput::builder()
                .tags(
                    sdk::Tag::builder()
                        .tag_key("a")
                        .tag_value("1")
                        .build()
                        .unwrap(),
                )
                .truncated(true)
                .next_marker("m2")
                .build()
        });
    let second = mock!(Client::list_resource_tags)
        .match_requests(|r| r.key_id() == Some(ID) && r.marker() == Some("m2"))
        .then_output(|| {
            ListResourceTagsOutput::builder()
                .tags(
                    sdk::Tag::builder()
                        .tag_key("b")
                        .tag_value("2")
                        .build()
                        .unwrap(),
                )
                .truncated(false)
                .build()
        });
    let backend = backend(&[&first, &second]);

    let page = backend.list_resource_tags(ARN, None).await.unwrap();
    assert_eq!(page.tags, [Tag::new("a", "1")]);
    assert_eq!(page.next_marker.as_deref(), Some("m2"));
    let page = backend.list_resource_tags(ARN, Some("m2")).await.unwrap();
    assert_eq!(page.tags, [Tag::new("b", "2")]);
    assert_eq!(page.next_marker, None);
}

#[tokio::test]
async fn a_truncated_page_without_a_marker_is_an_error() {
    let rule = mock!(Client::list_keys).then_output(|| {
        ListKeysOutput::builder()
            .keys(
                sdk::KeyListEntry::builder()
                    .key_id("k1")
                    .key_arn("a1")
                    .build(),
            )
            .truncated(true)
            .build()
    });
    let backend = backend(&[&rule]);

    let err = backend.list_keys(None).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(err.operation(), Operation::ListKeys);
    assert_eq!(
        err.message(),
        "the ListKeys answer has no NextMarker on a truncated page"
    );
}

#[tokio::test]
async fn deletion_answers_are_read() {
    let schedule = mock!(Client::schedule_key_deletion)
        .match_requests(|r| r.key_id() == Some(ID) && r.pending_window_in_days() == Some(7))
        .then_output(|| {
            ScheduleKeyDeletionOutput::builder()
                .key_id(ARN)
                .deletion_date(DateTime::from_secs(1_800_000_000))
                .key_state(sdk::KeyState::PendingDeletion)
                .pending_window_in_days(7)
                .build()
        });
    // A peer that leaves KeyId out (a success all the same): the key we sent stands in.
    let cancel = mock!(Client::cancel_key_deletion)
        .match_requests(|r| r.key_id() == Some(ID))
        .then_output(|| CancelKeyDeletionOutput::builder().build());
    let backend = backend(&[&schedule, &cancel]);

    let scheduled = backend.schedule_key_deletion(ARN, Some(7)).await.unwrap();
    assert_eq!(scheduled.key_id, ARN);
    assert_eq!(
        scheduled.deletion_date,
        Some(DateTime::from_secs(1_800_000_000))
    );
    assert_eq!(scheduled.key_state, Some(KeyState::PendingDeletion));
    assert_eq!(scheduled.pending_window_in_days, Some(7));
    assert_eq!(backend.cancel_key_deletion(ARN).await.unwrap(), ID);
}
