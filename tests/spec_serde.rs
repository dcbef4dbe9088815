//! Spec files: Terraform argument names, CDKTF camelCase aliases, unknown fields, round trips.

use kms_key::spec::{KeySpec, KeyUsage};
use kms_key::{ErrorCode, KmsKeySpec};
use serde_json::json;

fn failures(text: &str) -> Vec<(String, ErrorCode)> {
    KmsKeySpec::from_json(text)
        .unwrap_err()
        .errors()
        .iter()
        .map(|e| (e.field().to_string(), e.code()))
        .collect()
}

#[test]
fn seed_example_parses_as_is() {
    let spec = KmsKeySpec::from_json(r#"{"deletionWindowInDays": 10, "description": "KMS key 1"}"#)
        .unwrap();
    assert_eq!(spec.deletion_window().days(), 10);
    assert_eq!(spec.description(), Some("KMS key 1"));
    assert!(spec.is_enabled());
    assert!(!spec.enable_key_rotation());
    assert_eq!(spec.key_spec(), KeySpec::SymmetricDefault);
    assert_eq!(spec.key_usage(), KeyUsage::EncryptDecrypt);
    assert_eq!(spec.key_spec_explicit(), None);
}

#[test]
fn terraform_and_cdktf_spellings_mean_the_same() {
    let tf = KmsKeySpec::from_json(
        r#"{"key_spec":"ECC_NIST_P256","key_usage":"SIGN_VERIFY","multi_region":true,"tags":{"env":"dev"}}"#,
    )
    .unwrap();
    let cdktf = KmsKeySpec::from_json(
        r#"{"customerMasterKeySpec":"eccNistP256","keyUsage":"signVerify","multiRegion":true,"tags":{"env":"dev"}}"#,
    )
    .unwrap();
    assert_eq!(tf, cdktf);
    // Values always print as wire names.
    assert_eq!(
        serde_json::to_value(&cdktf).unwrap(),
        json!({"key_usage":"SIGN_VERIFY","key_spec":"ECC_NIST_P256","multi_region":true,"tags":{"env":"dev"}})
    );
}

#[test]
fn unknown_fields_get_a_suggestion() {
    let e = KmsKeySpec::from_json(r#"{"deletion_window_days": 10}"#).unwrap_err();
    assert_eq!(e.errors()[0].field().as_str(), "deletion_window_days");
    assert_eq!(e.errors()[0].code(), ErrorCode::UnknownField);
    assert_eq!(
        e.errors()[0].message(),
        "`deletion_window_days` is not an argument of aws_kms_key; did you mean `deletion_window_in_days`?"
    );
}

#[test]
fn unknown_enum_value_lists_valid_ones() {
    let e = KmsKeySpec::from_json(r#"{"key_usage": "SIGN"}"#).unwrap_err();
    assert_eq!(e.errors()[0].field().as_str(), "key_usage");
    assert_eq!(e.errors()[0].code(), ErrorCode::InvalidValue);
    assert_eq!(
        e.errors()[0].message(),
        "unknown key usage `SIGN`; expected one of: ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT, ENCAPSULATE_DECAPSULATE"
    );
}

#[test]
fn shape_and_rule_errors_come_together() {
    assert_eq!(
        failures(
            r#"{"is_enabled": "yes", "deletion_window_in_days": 3, "tags": {"a": 1}, "key_spec": "HMAC_256"}"#
        ),
        vec![
            ("is_enabled".to_owned(), ErrorCode::InvalidType),
            ("tags[\"a\"]".to_owned(), ErrorCode::InvalidType),
            ("key_usage".to_owned(), ErrorCode::KeyUsageRequired),
            (
                "deletion_window_in_days".to_owned(),
                ErrorCode::DeletionWindowOutOfRange
            ),
        ]
    );
}

#[test]
fn duplicate_names_and_malformed_json() {
    assert_eq!(
        failures(
            r#"{"description": "a", "deletionWindowInDays": 7, "deletion_window_in_days": 8}"#
        ),
        vec![(
            "deletion_window_in_days".to_owned(),
            ErrorCode::DuplicateField
        )]
    );
    let e = KmsKeySpec::from_json("{\n  \"description\": \n}").unwrap_err();
    assert_eq!(e.errors()[0].code(), ErrorCode::JsonSyntax);
    assert!(
        e.errors()[0]
            .message()
            .starts_with("not valid JSON at line 3 column 1"),
        "{}",
        e.errors()[0].message()
    );
}

#[test]
fn terraform_style_conversions_and_null() {
    let s = KmsKeySpec::from_json(
        r#"{"deletion_window_in_days": "7", "is_enabled": "false", "description": null}"#,
    )
    .unwrap();
    assert_eq!(s.deletion_window().days(), 7);
    assert!(!s.is_enabled());
    assert_eq!(s.description(), None);
    assert_eq!(
        failures(r#"{"deletion_window_in_days": 7.5}"#),
        vec![("deletion_window_in_days".to_owned(), ErrorCode::InvalidType)]
    );
}

#[test]
fn policy_as_string_or_object() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]});
    let as_object = KmsKeySpec::from_json_value(&json!({ "policy": policy })).unwrap();
    let as_string = KmsKeySpec::from_json_value(&json!({ "policy": policy.to_string() })).unwrap();
    assert_eq!(as_object, as_string);
    assert_eq!(
        failures(r#"{"policy": 5}"#),
        vec![("policy".to_owned(), ErrorCode::InvalidType)]
    );
}

#[test]
fn deserialize_runs_validation() {
    let r: Result<KmsKeySpec, _> = serde_json::from_str(r#"{"deletion_window_in_days": 31}"#);
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.starts_with(
            "1 validation error\n  - deletion_window_in_days: is 31; KMS allows 7 to 30 days"
        ),
        "{msg}"
    );
}

#[test]
fn round_trip_keeps_explicit_defaults_explicit() {
    let s =
        KmsKeySpec::from_json(r#"{"key_spec":"SYMMETRIC_DEFAULT","key_usage":"ENCRYPT_DECRYPT"}"#)
            .unwrap();
    let text = serde_json::to_string(&s).unwrap();
    assert_eq!(
        text,
        r#"{"key_usage":"ENCRYPT_DECRYPT","key_spec":"SYMMETRIC_DEFAULT"}"#
    );
    assert_eq!(KmsKeySpec::from_json(&text).unwrap(), s);
}
