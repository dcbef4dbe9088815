//! The conformance cases: each one states what AWS KMS does (`aws-ground-truth.md`), against a
//! fresh backend. Where AWS's exact message is recorded the case asserts it; where only the
//! error kind is known (UnsupportedOperation for rotation, the rotation period's constraint, ...)
//! the case asserts the kind.

use kms_key::backend::{
    CreateKeyRequest, ErrorKind, KmsBackend, MultiRegionKeyType, Operation, Tag,
};
use kms_key::spec::{KeySpec, KeyState, KeyUsage, Origin};

use super::{
    Location, UNKNOWN_KEY_ID, all_keys, all_tags, assert_error, assert_error_kind, call_op, create,
    create_default, json, numbered_tags, spec_request,
};

/// Calls `$m!(case)` for every case; the one list of cases the suite runs.
#[macro_export]
macro_rules! for_each_case {
    ($m:ident) => {
        // create and describe
        $m!(create_key_defaults);
        $m!(create_key_without_description_reads_empty);
        $m!(describe_key_by_id_and_by_arn);
        $m!(create_key_every_allowed_spec_and_usage);
        $m!(describe_algorithm_lists);
        $m!(create_multi_region_key);
        $m!(create_external_origin_key_pending_import);
        $m!(create_key_with_tags_round_trip);
        $m!(create_key_default_policy);
        $m!(create_key_with_policy_round_trips_by_meaning);
        $m!(put_key_policy_round_trips_by_meaning);
        $m!(get_key_policy_is_reformatted);
        // CreateKey and PutKeyPolicy refusals
        $m!(create_key_requires_usage_for_non_symmetric);
        $m!(create_key_refuses_incompatible_usage);
        $m!(create_key_refuses_too_many_tags);
        $m!(create_key_refuses_reserved_tag_prefix);
        $m!(create_key_refuses_long_tag_key_and_value);
        $m!(create_key_refuses_long_description);
        $m!(create_key_refuses_malformed_policy);
        $m!(create_key_refuses_policy_that_locks_out_the_caller);
        $m!(create_key_bypass_skips_lockout_check);
        $m!(create_key_refuses_unknown_principal);
        $m!(put_key_policy_refuses_malformed_policy);
        $m!(put_key_policy_refuses_policy_that_locks_out_the_caller);
        $m!(put_key_policy_bypass_skips_lockout_check);
        $m!(put_key_policy_refuses_unknown_principal);
        // reads
        $m!(describe_unknown_key_id_names_full_arn);
        $m!(describe_unknown_key_arn_names_it);
        $m!(key_of_other_region_or_account_is_not_found);
        $m!(every_key_operation_on_unknown_key_is_not_found);
        $m!(get_key_rotation_status_starts_off);
        $m!(list_keys_includes_created_keys);
        $m!(list_resource_tags_covers_all_tags);
        // state transitions and changes
        $m!(disable_then_enable_key);
        $m!(enable_and_disable_key_are_idempotent);
        $m!(update_key_description_round_trip);
        $m!(tag_resource_adds_and_replaces_in_place);
        $m!(untag_resource_removes_and_ignores_absent_keys);
        $m!(tag_resource_counts_existing_tags);
        $m!(tag_resource_refuses_reserved_prefix);
        $m!(tag_resource_refuses_long_key);
        $m!(enable_key_rotation_default_period);
        $m!(enable_key_rotation_period_changes);
        $m!(disable_key_rotation_turns_it_off);
        $m!(enable_key_rotation_refuses_out_of_range_period);
        $m!(rotation_on_disabled_key_is_refused);
        $m!(disabled_key_keeps_rotation_status);
        $m!(rotation_unsupported_for_asymmetric_and_hmac_keys);
        $m!(rotation_status_of_keys_that_cannot_rotate_reads_off);
        $m!(schedule_key_deletion_default_window);
        $m!(schedule_key_deletion_with_window);
        $m!(schedule_key_deletion_refuses_window_out_of_range);
        $m!(schedule_key_deletion_twice_is_refused);
        $m!(schedule_key_deletion_of_disabled_key);
        $m!(cancel_key_deletion_leaves_key_disabled);
        $m!(cancel_key_deletion_of_key_not_pending_is_refused);
        $m!(pending_deletion_refuses_changes);
        $m!(pending_deletion_allows_reads_and_policy_changes);
        $m!(rotation_reads_off_while_pending_deletion);
        $m!(pending_import_key_refuses_enable_and_disable);
        $m!(operations_accept_key_arn);
    };
}

const DAY: i64 = 86_400;

fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

fn is_ml_kem(spec: KeySpec) -> bool {
    matches!(
        spec,
        KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024
    )
}

fn with_description(text: &str) -> CreateKeyRequest {
    let mut request = CreateKeyRequest::new();
    request.description = Some(text.to_owned());
    request
}

fn with_tags(tags: Vec<Tag>) -> CreateKeyRequest {
    let mut request = CreateKeyRequest::new();
    request.tags = tags;
    request
}

fn with_policy(policy: String, bypass: bool) -> CreateKeyRequest {
    let mut request = CreateKeyRequest::new();
    request.policy = Some(policy);
    request.bypass_policy_lockout_safety_check = bypass;
    request
}

/// A policy under which nobody may call PutKeyPolicy: the root may only encrypt.
fn lockout_policy(at: &Location) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"EncryptOnly","Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"kms:Encrypt","Resource":"*"}}]}}"#,
        at.root()
    )
}

/// A policy that keeps the root's access and also names a role that does not exist.
fn missing_principal_policy(at: &Location) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"App","Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#,
        at.root(),
        at.role("kms-key-conformance-role-that-does-not-exist")
    )
}

async fn state_of(kms: &dyn KmsBackend, key_id: &str) -> (bool, KeyState) {
    let key = kms.describe_key(key_id).await.expect("DescribeKey");
    (key.enabled, key.key_state)
}

async fn rotation_of(kms: &dyn KmsBackend, key_id: &str) -> (bool, Option<i32>) {
    let status = kms
        .get_key_rotation_status(key_id)
        .await
        .expect("GetKeyRotationStatus");
    (status.enabled, status.rotation_period_in_days)
}

// ----- create and describe -----

pub async fn create_key_defaults(kms: &dyn KmsBackend) {
    let key = create(kms, with_description("conformance: defaults")).await;
    let at = Location::of(&key);
    assert_eq!(key.arn, at.key_arn(&key.key_id));
    assert!(is_uuid(&key.key_id), "key id {} is not a UUID", key.key_id);
    assert_eq!(key.description, "conformance: defaults");
    assert_eq!(key.key_spec, KeySpec::SymmetricDefault);
    assert_eq!(key.key_usage, KeyUsage::EncryptDecrypt);
    assert_eq!(key.key_state, KeyState::Enabled);
    assert!(key.enabled);
    assert_eq!(key.origin, Origin::AwsKms);
    assert!(!key.multi_region);
    assert_eq!(key.multi_region_key_type, None);
    assert_eq!(key.encryption_algorithms, ["SYMMETRIC_DEFAULT"]);
    assert!(key.signing_algorithms.is_empty());
    assert!(key.mac_algorithms.is_empty());
    assert!(key.creation_date.is_some());
    assert_eq!(key.deletion_date, None);
    assert_eq!(key.pending_deletion_window_in_days, None);
    assert_eq!(key.custom_key_store_id, None);
    assert_eq!(key.xks_key_id, None);
}

pub async fn create_key_without_description_reads_empty(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    assert_eq!(key.description, "");
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(described.description, "");
}

pub async fn describe_key_by_id_and_by_arn(kms: &dyn KmsBackend) {
    let key = create(kms, with_description("by id and by ARN")).await;
    assert_eq!(kms.describe_key(&key.key_id).await.unwrap(), key);
    assert_eq!(kms.describe_key(&key.arn).await.unwrap(), key);
}

pub async fn create_key_every_allowed_spec_and_usage(kms: &dyn KmsBackend) {
    let china = Location::of(&create_default(kms).await).partition == "aws-cn";
    for &spec in KeySpec::ALL {
        // SM2 exists only in the China Regions, ML-KEM everywhere but there.
        if (spec.china_regions_only() && !china) || (is_ml_kem(spec) && china) {
            continue;
        }
        for &usage in spec.allowed_usages() {
            let key = create(kms, spec_request(spec, Some(usage))).await;
            assert_eq!((key.key_spec, key.key_usage), (spec, usage));
            let described = kms.describe_key(&key.key_id).await.unwrap();
            assert_eq!((described.key_spec, described.key_usage), (spec, usage));
            assert_eq!(described.key_state, KeyState::Enabled);
        }
    }
}

pub async fn describe_algorithm_lists(kms: &dyn KmsBackend) {
    type Row = (
        KeySpec,
        KeyUsage,
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    );
    let table: &[Row] = &[
        (
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            &["SYMMETRIC_DEFAULT"],
            &[],
            &[],
        ),
        (
            KeySpec::Rsa2048,
            KeyUsage::EncryptDecrypt,
            &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
            &[],
            &[],
        ),
        (
            KeySpec::Hmac224,
            KeyUsage::GenerateVerifyMac,
            &[],
            &[],
            &["HMAC_SHA_224"],
        ),
        (
            KeySpec::Hmac256,
            KeyUsage::GenerateVerifyMac,
            &[],
            &[],
            &["HMAC_SHA_256"],
        ),
        (
            KeySpec::Hmac384,
            KeyUsage::GenerateVerifyMac,
            &[],
            &[],
            &["HMAC_SHA_384"],
        ),
        (
            KeySpec::Hmac512,
            KeyUsage::GenerateVerifyMac,
            &[],
            &[],
            &["HMAC_SHA_512"],
        ),
        (
            KeySpec::EccNistP256,
            KeyUsage::SignVerify,
            &[],
            &["ECDSA_SHA_256"],
            &[],
        ),
        (
            KeySpec::EccNistP384,
            KeyUsage::SignVerify,
            &[],
            &["ECDSA_SHA_384"],
            &[],
        ),
        (
            KeySpec::EccNistP521,
            KeyUsage::SignVerify,
            &[],
            &["ECDSA_SHA_512"],
            &[],
        ),
        (
            KeySpec::EccSecgP256k1,
            KeyUsage::SignVerify,
            &[],
            &["ECDSA_SHA_256"],
            &[],
        ),
    ];
    for &(spec, usage, encryption, signing, mac) in table {
        let key = create(kms, spec_request(spec, Some(usage))).await;
        let described = kms.describe_key(&key.key_id).await.unwrap();
        assert_eq!(described.encryption_algorithms, encryption, "{spec}");
        assert_eq!(described.signing_algorithms, signing, "{spec}");
        assert_eq!(described.mac_algorithms, mac, "{spec}");
    }
}

pub async fn create_multi_region_key(kms: &dyn KmsBackend) {
    let mut request = CreateKeyRequest::new();
    request.multi_region = true;
    let key = create(kms, request).await;
    let hex = key
        .key_id
        .strip_prefix("mrk-")
        .unwrap_or_else(|| panic!("{} does not start with mrk-", key.key_id));
    assert!(
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{} is not mrk- and 32 hex digits",
        key.key_id
    );
    assert_eq!(key.arn, Location::of(&key).key_arn(&key.key_id));
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert!(described.multi_region);
    assert_eq!(
        described.multi_region_key_type,
        Some(MultiRegionKeyType::Primary)
    );
}

pub async fn create_external_origin_key_pending_import(kms: &dyn KmsBackend) {
    let mut request = CreateKeyRequest::new();
    request.origin = Some(Origin::External);
    let key = create(kms, request).await;
    assert_eq!(
        (key.enabled, key.key_state, key.origin),
        (false, KeyState::PendingImport, Origin::External)
    );
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(
        (described.enabled, described.key_state, described.origin),
        (false, KeyState::PendingImport, Origin::External)
    );
}

pub async fn create_key_with_tags_round_trip(kms: &dyn KmsBackend) {
    let mut tags = vec![
        Tag::new("env", "dev"),
        Tag::new("empty", ""),
        Tag::new("k".repeat(128), "v".repeat(256)),
        Tag::new("team name+-=._:/@", "a b+-=._:/@"),
    ];
    let key = create(kms, with_tags(tags.clone())).await;
    tags.sort();
    assert_eq!(all_tags(kms, &key.key_id).await, tags);
}

pub async fn create_key_default_policy(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let policy = kms.get_key_policy(&key.key_id).await.unwrap();
    assert_eq!(json(&policy), Location::of(&key).default_policy());
}

pub async fn create_key_with_policy_round_trips_by_meaning(kms: &dyn KmsBackend) {
    let at = Location::of(&create_default(kms).await);
    // P_root pretty-printed with its keys in another order.
    let policy = format!(
        "{{\n    \"Statement\": [\n        {{\n            \"Resource\": \"*\",\n            \"Action\": \"kms:*\",\n            \"Principal\": {{ \"AWS\": \"{}\" }},\n            \"Effect\": \"Allow\",\n            \"Sid\": \"Root\"\n        }}\n    ],\n    \"Version\": \"2012-10-17\"\n}}\n",
        at.root()
    );
    let key = create(kms, with_policy(policy.clone(), false)).await;
    let stored = kms.get_key_policy(&key.key_id).await.unwrap();
    assert_eq!(json(&stored), json(&policy));
}

pub async fn put_key_policy_round_trips_by_meaning(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let at = Location::of(&key);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Id":"conformance","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"{root}"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"NoDelete","Effect":"Deny","Principal":{{"AWS":"{root}"}},"Action":["kms:ScheduleKeyDeletion"],"Resource":"*","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"false"}}}}}}]}}"#,
        root = at.root()
    );
    kms.put_key_policy(&key.key_id, &policy, false)
        .await
        .unwrap();
    let stored = kms.get_key_policy(&key.key_id).await.unwrap();
    assert_eq!(json(&stored), json(&policy));
}

pub async fn get_key_policy_is_reformatted(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let policy = Location::of(&key).root_policy();
    kms.put_key_policy(&key.key_id, &policy, false)
        .await
        .unwrap();
    let stored = kms.get_key_policy(&key.key_id).await.unwrap();
    // AWS reformats what it stores: compare policies by meaning, never as text.
    assert_ne!(stored, policy);
    assert_eq!(json(&stored), json(&policy));
}

// ----- CreateKey and PutKeyPolicy refusals -----

pub async fn create_key_requires_usage_for_non_symmetric(kms: &dyn KmsBackend) {
    for spec in [KeySpec::Hmac256, KeySpec::Rsa2048, KeySpec::EccNistP256] {
        assert_error(
            kms.create_key(spec_request(spec, None)).await,
            ErrorKind::Validation,
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
        );
    }
}

pub async fn create_key_refuses_incompatible_usage(kms: &dyn KmsBackend) {
    assert_error(
        kms.create_key(spec_request(KeySpec::Rsa2048, Some(KeyUsage::KeyAgreement)))
            .await,
        ErrorKind::Validation,
        "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048",
    );
    let mut sign_without_spec = CreateKeyRequest::new();
    sign_without_spec.key_usage = Some(KeyUsage::SignVerify);
    for request in [
        sign_without_spec,
        spec_request(KeySpec::Hmac256, Some(KeyUsage::EncryptDecrypt)),
        spec_request(KeySpec::SymmetricDefault, Some(KeyUsage::GenerateVerifyMac)),
    ] {
        assert_error_kind(kms.create_key(request).await, ErrorKind::Validation);
    }
}

pub async fn create_key_refuses_too_many_tags(kms: &dyn KmsBackend) {
    assert_error(
        kms.create_key(with_tags(numbered_tags(51, "k"))).await,
        ErrorKind::Tag,
        "Too many tags",
    );
    let key = create(kms, with_tags(numbered_tags(50, "k"))).await;
    assert_eq!(all_tags(kms, &key.key_id).await.len(), 50);
}

pub async fn create_key_refuses_reserved_tag_prefix(kms: &dyn KmsBackend) {
    assert_error(
        kms.create_key(with_tags(vec![Tag::new("aws:owner", "me")]))
            .await,
        ErrorKind::Tag,
        "Tags beginning with aws: are reserved",
    );
}

pub async fn create_key_refuses_long_tag_key_and_value(kms: &dyn KmsBackend) {
    let long_key = "k".repeat(129);
    assert_error(
        kms.create_key(with_tags(vec![Tag::new(long_key.clone(), "v")]))
            .await,
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
        ),
    );
    let long_value = "v".repeat(257);
    assert_error(
        kms.create_key(with_tags(vec![Tag::new("k", long_value.clone())]))
            .await,
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value '{long_value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"
        ),
    );
}

pub async fn create_key_refuses_long_description(kms: &dyn KmsBackend) {
    assert_error_kind(
        kms.create_key(with_description(&"d".repeat(8193))).await,
        ErrorKind::Validation,
    );
    let key = create(kms, with_description(&"d".repeat(8192))).await;
    assert_eq!(key.description.len(), 8192);
}

pub async fn create_key_refuses_malformed_policy(kms: &dyn KmsBackend) {
    assert_error(
        kms.create_key(with_policy("this is not JSON".into(), false))
            .await,
        ErrorKind::MalformedPolicy,
        "",
    );
}

pub async fn create_key_refuses_policy_that_locks_out_the_caller(kms: &dyn KmsBackend) {
    let at = Location::of(&create_default(kms).await);
    assert_error(
        kms.create_key(with_policy(lockout_policy(&at), false))
            .await,
        ErrorKind::PolicyLockout,
        "The new key policy will not allow you to update the key policy in the future.",
    );
}

pub async fn create_key_bypass_skips_lockout_check(kms: &dyn KmsBackend) {
    let at = Location::of(&create_default(kms).await);
    let policy = lockout_policy(&at);
    let key = create(kms, with_policy(policy.clone(), true)).await;
    let stored = kms.get_key_policy(&key.key_id).await.unwrap();
    assert_eq!(json(&stored), json(&policy));
}

pub async fn create_key_refuses_unknown_principal(kms: &dyn KmsBackend) {
    let at = Location::of(&create_default(kms).await);
    assert_error(
        kms.create_key(with_policy(missing_principal_policy(&at), false))
            .await,
        ErrorKind::InvalidPrincipals,
        "Policy contains a statement with one or more invalid principals.",
    );
}

pub async fn put_key_policy_refuses_malformed_policy(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let before = kms.get_key_policy(&key.key_id).await.unwrap();
    assert_error(
        kms.put_key_policy(&key.key_id, "{\"Version\":", false)
            .await,
        ErrorKind::MalformedPolicy,
        "",
    );
    assert_eq!(kms.get_key_policy(&key.key_id).await.unwrap(), before);
}

pub async fn put_key_policy_refuses_policy_that_locks_out_the_caller(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let before = kms.get_key_policy(&key.key_id).await.unwrap();
    assert_error(
        kms.put_key_policy(&key.key_id, &lockout_policy(&Location::of(&key)), false)
            .await,
        ErrorKind::PolicyLockout,
        "The new key policy will not allow you to update the key policy in the future.",
    );
    assert_eq!(kms.get_key_policy(&key.key_id).await.unwrap(), before);
}

pub async fn put_key_policy_bypass_skips_lockout_check(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let policy = lockout_policy(&Location::of(&key));
    kms.put_key_policy(&key.key_id, &policy, true)
        .await
        .unwrap();
    let stored = kms.get_key_policy(&key.key_id).await.unwrap();
    assert_eq!(json(&stored), json(&policy));
}

pub async fn put_key_policy_refuses_unknown_principal(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let before = kms.get_key_policy(&key.key_id).await.unwrap();
    assert_error(
        kms.put_key_policy(
            &key.key_id,
            &missing_principal_policy(&Location::of(&key)),
            false,
        )
        .await,
        ErrorKind::InvalidPrincipals,
        "Policy contains a statement with one or more invalid principals.",
    );
    assert_eq!(kms.get_key_policy(&key.key_id).await.unwrap(), before);
}

// ----- reads -----

pub async fn describe_unknown_key_id_names_full_arn(kms: &dyn KmsBackend) {
    let at = Location::of(&create_default(kms).await);
    assert_error(
        kms.describe_key(UNKNOWN_KEY_ID).await,
        ErrorKind::NotFound,
        &format!("Key '{}' does not exist", at.key_arn(UNKNOWN_KEY_ID)),
    );
}

pub async fn describe_unknown_key_arn_names_it(kms: &dyn KmsBackend) {
    let arn = Location::of(&create_default(kms).await).key_arn(UNKNOWN_KEY_ID);
    assert_error(
        kms.describe_key(&arn).await,
        ErrorKind::NotFound,
        &format!("Key '{arn}' does not exist"),
    );
}

pub async fn key_of_other_region_or_account_is_not_found(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let at = Location::of(&key);
    let other_region = Location {
        region: if at.region == "eu-west-1" {
            "eu-west-2".into()
        } else {
            "eu-west-1".into()
        },
        ..at.clone()
    };
    let other_account = Location {
        account: if at.account == "999999999999" {
            "888888888888".into()
        } else {
            "999999999999".into()
        },
        ..at.clone()
    };
    // The message names the ARN built with the caller's Region (recorded AWS answers).
    for elsewhere in [other_region, other_account.clone()] {
        let arn = elsewhere.key_arn(&key.key_id);
        let named = Location {
            region: at.region.clone(),
            ..elsewhere
        }
        .key_arn(&key.key_id);
        assert_error(
            kms.describe_key(&arn).await,
            ErrorKind::NotFound,
            &format!("Key '{named}' does not exist"),
        );
    }
}

pub async fn every_key_operation_on_unknown_key_is_not_found(kms: &dyn KmsBackend) {
    let at = Location::of(&create_default(kms).await);
    let message = format!("Key '{}' does not exist", at.key_arn(UNKNOWN_KEY_ID));
    for &op in Operation::ALL {
        if matches!(op, Operation::CreateKey | Operation::ListKeys) {
            continue;
        }
        let result = call_op(kms, op, UNKNOWN_KEY_ID, &at.root_policy()).await;
        match result {
            Err(e) => assert_eq!(
                (e.kind(), e.message()),
                (ErrorKind::NotFound, message.as_str()),
                "{op}: {e}"
            ),
            Ok(()) => panic!("{op} on an unknown key succeeded"),
        }
    }
}

pub async fn get_key_rotation_status_starts_off(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
    assert!(!status.enabled);
    assert_eq!(status.rotation_period_in_days, None);
    assert_eq!(status.next_rotation_date, None);
}

pub async fn list_keys_includes_created_keys(kms: &dyn KmsBackend) {
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(create_default(kms).await);
    }
    let listed = all_keys(kms).await;
    for key in created {
        assert!(
            listed
                .iter()
                .any(|e| e.key_id == key.key_id && e.key_arn == key.arn),
            "{} not listed",
            key.key_id
        );
    }
}

pub async fn list_resource_tags_covers_all_tags(kms: &dyn KmsBackend) {
    let mut tags = numbered_tags(50, "tag-");
    let key = create(kms, with_tags(tags.clone())).await;
    tags.sort();
    assert_eq!(all_tags(kms, &key.key_id).await, tags);
    assert_eq!(all_tags(kms, &key.arn).await, tags);
}

// ----- state transitions and changes -----

pub async fn disable_then_enable_key(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.disable_key(&key.key_id).await.unwrap();
    assert_eq!(
        state_of(kms, &key.key_id).await,
        (false, KeyState::Disabled)
    );
    kms.enable_key(&key.key_id).await.unwrap();
    assert_eq!(state_of(kms, &key.key_id).await, (true, KeyState::Enabled));
}

pub async fn enable_and_disable_key_are_idempotent(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.enable_key(&key.key_id).await.unwrap();
    assert_eq!(state_of(kms, &key.key_id).await, (true, KeyState::Enabled));
    kms.disable_key(&key.key_id).await.unwrap();
    kms.disable_key(&key.key_id).await.unwrap();
    assert_eq!(
        state_of(kms, &key.key_id).await,
        (false, KeyState::Disabled)
    );
}

pub async fn update_key_description_round_trip(kms: &dyn KmsBackend) {
    let key = create(kms, with_description("before")).await;
    kms.update_key_description(&key.key_id, "after")
        .await
        .unwrap();
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(described.description, "after");
    kms.update_key_description(&key.key_id, "").await.unwrap();
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(described.description, "");
}

pub async fn tag_resource_adds_and_replaces_in_place(kms: &dyn KmsBackend) {
    let key = create(
        kms,
        with_tags(vec![Tag::new("env", "dev"), Tag::new("old", "x")]),
    )
    .await;
    kms.tag_resource(
        &key.key_id,
        &[Tag::new("env", "prod"), Tag::new("team", "a")],
    )
    .await
    .unwrap();
    assert_eq!(
        all_tags(kms, &key.key_id).await,
        [
            Tag::new("env", "prod"),
            Tag::new("old", "x"),
            Tag::new("team", "a")
        ]
    );
}

pub async fn untag_resource_removes_and_ignores_absent_keys(kms: &dyn KmsBackend) {
    let key = create(
        kms,
        with_tags(vec![Tag::new("env", "dev"), Tag::new("old", "x")]),
    )
    .await;
    kms.untag_resource(&key.key_id, &["old".into(), "never-there".into()])
        .await
        .unwrap();
    assert_eq!(all_tags(kms, &key.key_id).await, [Tag::new("env", "dev")]);
}

pub async fn tag_resource_counts_existing_tags(kms: &dyn KmsBackend) {
    let existing = numbered_tags(45, "old-");
    let key = create(kms, with_tags(existing.clone())).await;
    assert_error(
        kms.tag_resource(&key.key_id, &numbered_tags(6, "new-"))
            .await,
        ErrorKind::Tag,
        "Too many tags",
    );
    assert_eq!(all_tags(kms, &key.key_id).await.len(), 45);
    // Replacing values does not add tags: 45 + 5 new = 50 is allowed.
    let mut change = numbered_tags(5, "new-");
    change.extend(
        existing
            .iter()
            .take(3)
            .map(|t| Tag::new(t.key.clone(), "changed")),
    );
    kms.tag_resource(&key.key_id, &change).await.unwrap();
    let tags = all_tags(kms, &key.key_id).await;
    assert_eq!(tags.len(), 50);
    assert_eq!(tags.iter().filter(|t| t.value == "changed").count(), 3);
}

pub async fn tag_resource_refuses_reserved_prefix(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    assert_error(
        kms.tag_resource(
            &key.key_id,
            &[Tag::new("aws:cloudformation:stack-name", "s")],
        )
        .await,
        ErrorKind::Tag,
        "Tags beginning with aws: are reserved",
    );
    assert_eq!(all_tags(kms, &key.key_id).await, []);
}

pub async fn tag_resource_refuses_long_key(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let long_key = "k".repeat(129);
    assert_error(
        kms.tag_resource(&key.key_id, &[Tag::new(long_key.clone(), "v")])
            .await,
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
        ),
    );
}

pub async fn enable_key_rotation_default_period(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.enable_key_rotation(&key.key_id, None).await.unwrap();
    let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
    assert!(status.enabled);
    assert_eq!(status.rotation_period_in_days, Some(365));
    assert!(status.next_rotation_date.is_some());
}

pub async fn enable_key_rotation_period_changes(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.enable_key_rotation(&key.key_id, Some(90))
        .await
        .unwrap();
    assert_eq!(rotation_of(kms, &key.key_id).await, (true, Some(90)));
    // Calling it again with another period changes the period.
    kms.enable_key_rotation(&key.key_id, Some(180))
        .await
        .unwrap();
    assert_eq!(rotation_of(kms, &key.key_id).await, (true, Some(180)));
}

pub async fn disable_key_rotation_turns_it_off(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.enable_key_rotation(&key.key_id, None).await.unwrap();
    kms.disable_key_rotation(&key.key_id).await.unwrap();
    let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
    assert!(!status.enabled);
    assert_eq!(status.rotation_period_in_days, None);
    assert_eq!(status.next_rotation_date, None);
}

pub async fn enable_key_rotation_refuses_out_of_range_period(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    for days in [89, 2561] {
        assert_error_kind(
            kms.enable_key_rotation(&key.key_id, Some(days)).await,
            ErrorKind::Validation,
        );
    }
    assert_eq!(rotation_of(kms, &key.key_id).await, (false, None));
}

pub async fn rotation_on_disabled_key_is_refused(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.disable_key(&key.key_id).await.unwrap();
    let disabled = format!("{} is disabled.", key.arn);
    assert_error(
        kms.enable_key_rotation(&key.key_id, None).await,
        ErrorKind::Disabled,
        &disabled,
    );
    assert_error(
        kms.disable_key_rotation(&key.key_id).await,
        ErrorKind::Disabled,
        &disabled,
    );
    kms.enable_key(&key.key_id).await.unwrap();
    kms.enable_key_rotation(&key.key_id, None).await.unwrap();
    assert!(rotation_of(kms, &key.key_id).await.0);
}

pub async fn disabled_key_keeps_rotation_status(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.enable_key_rotation(&key.key_id, Some(180))
        .await
        .unwrap();
    kms.disable_key(&key.key_id).await.unwrap();
    assert_eq!(rotation_of(kms, &key.key_id).await, (true, Some(180)));
}

pub async fn rotation_unsupported_for_asymmetric_and_hmac_keys(kms: &dyn KmsBackend) {
    for (spec, usage) in [
        (KeySpec::EccNistP256, KeyUsage::SignVerify),
        (KeySpec::Hmac256, KeyUsage::GenerateVerifyMac),
        (KeySpec::Rsa2048, KeyUsage::EncryptDecrypt),
    ] {
        let key = create(kms, spec_request(spec, Some(usage))).await;
        assert_error_kind(
            kms.enable_key_rotation(&key.key_id, None).await,
            ErrorKind::UnsupportedOperation,
        );
        assert_error_kind(
            kms.disable_key_rotation(&key.key_id).await,
            ErrorKind::UnsupportedOperation,
        );
    }
}

pub async fn rotation_status_of_keys_that_cannot_rotate_reads_off(kms: &dyn KmsBackend) {
    let mut external = CreateKeyRequest::new();
    external.origin = Some(Origin::External);
    for request in [
        spec_request(KeySpec::Rsa2048, Some(KeyUsage::EncryptDecrypt)),
        spec_request(KeySpec::EccNistP256, Some(KeyUsage::SignVerify)),
        spec_request(KeySpec::Hmac256, Some(KeyUsage::GenerateVerifyMac)),
        external,
    ] {
        let key = create(kms, request).await;
        assert_eq!(
            rotation_of(kms, &key.key_id).await,
            (false, None),
            "{:?}",
            key.key_spec
        );
    }
}

pub async fn schedule_key_deletion_default_window(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let created = key.creation_date.expect("CreationDate").secs();
    let scheduled = kms.schedule_key_deletion(&key.key_id, None).await.unwrap();
    assert_eq!(scheduled.key_id, key.arn);
    assert_eq!(scheduled.key_state, Some(KeyState::PendingDeletion));
    assert_eq!(scheduled.pending_window_in_days, Some(30));
    let date = scheduled.deletion_date.expect("DeletionDate").secs();
    assert!(
        (created + 30 * DAY..created + 30 * DAY + 3600).contains(&date),
        "deletion {date} is not 30 days after creation {created}"
    );
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(
        (described.enabled, described.key_state),
        (false, KeyState::PendingDeletion)
    );
    assert_eq!(described.deletion_date.map(|d| d.secs()), Some(date));
    assert_eq!(described.pending_deletion_window_in_days, Some(30));
}

pub async fn schedule_key_deletion_with_window(kms: &dyn KmsBackend) {
    for days in [7, 30] {
        let key = create_default(kms).await;
        let created = key.creation_date.expect("CreationDate").secs();
        let scheduled = kms
            .schedule_key_deletion(&key.key_id, Some(days))
            .await
            .unwrap();
        assert_eq!(scheduled.pending_window_in_days, Some(days));
        let date = scheduled.deletion_date.expect("DeletionDate").secs();
        let window = i64::from(days) * DAY;
        assert!((created + window..created + window + 3600).contains(&date));
    }
}

pub async fn schedule_key_deletion_refuses_window_out_of_range(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    for days in [1, 6, 31] {
        assert_error(
            kms.schedule_key_deletion(&key.key_id, Some(days)).await,
            ErrorKind::Validation,
            "PendingWindowInDays must be between 7 and 30",
        );
    }
    assert_eq!(state_of(kms, &key.key_id).await, (true, KeyState::Enabled));
}

pub async fn schedule_key_deletion_twice_is_refused(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    let first = kms
        .schedule_key_deletion(&key.key_id, Some(7))
        .await
        .unwrap();
    assert_error(
        kms.schedule_key_deletion(&key.key_id, Some(30)).await,
        ErrorKind::InvalidState,
        &format!("{} is pending deletion.", key.arn),
    );
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(described.deletion_date, first.deletion_date);
}

pub async fn schedule_key_deletion_of_disabled_key(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.disable_key(&key.key_id).await.unwrap();
    kms.schedule_key_deletion(&key.key_id, None).await.unwrap();
    assert_eq!(
        state_of(kms, &key.key_id).await,
        (false, KeyState::PendingDeletion)
    );
}

pub async fn cancel_key_deletion_leaves_key_disabled(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.schedule_key_deletion(&key.key_id, None).await.unwrap();
    assert_eq!(kms.cancel_key_deletion(&key.key_id).await.unwrap(), key.arn);
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(
        (
            described.enabled,
            described.key_state,
            described.deletion_date
        ),
        (false, KeyState::Disabled, None)
    );
}

pub async fn cancel_key_deletion_of_key_not_pending_is_refused(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    assert_error(
        kms.cancel_key_deletion(&key.key_id).await,
        ErrorKind::InvalidState,
        &format!("{} is not pending deletion.", key.arn),
    );
}

pub async fn pending_deletion_refuses_changes(kms: &dyn KmsBackend) {
    let key = create(kms, with_tags(vec![Tag::new("env", "dev")])).await;
    kms.schedule_key_deletion(&key.key_id, None).await.unwrap();
    let pending = format!("{} is pending deletion.", key.arn);
    let id = key.key_id.as_str();
    assert_error(
        kms.tag_resource(id, &[Tag::new("a", "b")]).await,
        ErrorKind::InvalidState,
        &pending,
    );
    assert_error(
        kms.untag_resource(id, &["env".into()]).await,
        ErrorKind::InvalidState,
        &pending,
    );
    assert_error(
        kms.update_key_description(id, "x").await,
        ErrorKind::InvalidState,
        &pending,
    );
    assert_error(kms.enable_key(id).await, ErrorKind::InvalidState, &pending);
    assert_error(kms.disable_key(id).await, ErrorKind::InvalidState, &pending);
    assert_error(
        kms.enable_key_rotation(id, None).await,
        ErrorKind::InvalidState,
        &pending,
    );
    assert_error(
        kms.disable_key_rotation(id).await,
        ErrorKind::InvalidState,
        &pending,
    );
    assert_eq!(all_tags(kms, id).await, [Tag::new("env", "dev")]);
}

pub async fn pending_deletion_allows_reads_and_policy_changes(kms: &dyn KmsBackend) {
    let key = create(kms, with_tags(vec![Tag::new("env", "dev")])).await;
    kms.schedule_key_deletion(&key.key_id, None).await.unwrap();
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(described.key_state, KeyState::PendingDeletion);
    kms.get_key_policy(&key.key_id).await.unwrap();
    let policy = Location::of(&key).root_policy();
    kms.put_key_policy(&key.key_id, &policy, false)
        .await
        .unwrap();
    assert_eq!(
        json(&kms.get_key_policy(&key.key_id).await.unwrap()),
        json(&policy)
    );
    assert_eq!(all_tags(kms, &key.key_id).await, [Tag::new("env", "dev")]);
    assert!(!rotation_of(kms, &key.key_id).await.0);
}

pub async fn rotation_reads_off_while_pending_deletion(kms: &dyn KmsBackend) {
    let key = create_default(kms).await;
    kms.enable_key_rotation(&key.key_id, Some(180))
        .await
        .unwrap();
    kms.schedule_key_deletion(&key.key_id, None).await.unwrap();
    assert_eq!(rotation_of(kms, &key.key_id).await, (false, None));
    // The setting itself survives: it reads again once the deletion is cancelled.
    kms.cancel_key_deletion(&key.key_id).await.unwrap();
    assert_eq!(rotation_of(kms, &key.key_id).await, (true, Some(180)));
}

pub async fn pending_import_key_refuses_enable_and_disable(kms: &dyn KmsBackend) {
    let mut request = CreateKeyRequest::new();
    request.origin = Some(Origin::External);
    let key = create(kms, request).await;
    assert_error_kind(kms.enable_key(&key.key_id).await, ErrorKind::InvalidState);
    assert_error_kind(kms.disable_key(&key.key_id).await, ErrorKind::InvalidState);
    assert_eq!(
        state_of(kms, &key.key_id).await,
        (false, KeyState::PendingImport)
    );
}

pub async fn operations_accept_key_arn(kms: &dyn KmsBackend) {
    let key = create(kms, with_tags(vec![Tag::new("env", "dev")])).await;
    let arn = key.arn.as_str();
    assert_eq!(kms.describe_key(arn).await.unwrap().key_id, key.key_id);
    let policy = Location::of(&key).root_policy();
    kms.put_key_policy(arn, &policy, false).await.unwrap();
    assert_eq!(json(&kms.get_key_policy(arn).await.unwrap()), json(&policy));
    kms.update_key_description(arn, "by ARN").await.unwrap();
    kms.tag_resource(arn, &[Tag::new("team", "a")])
        .await
        .unwrap();
    kms.untag_resource(arn, &["env".into()]).await.unwrap();
    assert_eq!(all_tags(kms, arn).await, [Tag::new("team", "a")]);
    kms.enable_key_rotation(arn, Some(90)).await.unwrap();
    assert_eq!(rotation_of(kms, arn).await, (true, Some(90)));
    kms.disable_key_rotation(arn).await.unwrap();
    kms.disable_key(arn).await.unwrap();
    kms.enable_key(arn).await.unwrap();
    kms.schedule_key_deletion(arn, None).await.unwrap();
    assert_eq!(kms.cancel_key_deletion(arn).await.unwrap(), key.arn);
    let described = kms.describe_key(&key.key_id).await.unwrap();
    assert_eq!(
        (described.description.as_str(), described.key_state),
        ("by ARN", KeyState::Disabled)
    );
}
