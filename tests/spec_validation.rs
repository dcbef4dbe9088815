//! Validation of `KmsKeySpec`: every rule, with exact codes and field paths, and the field
//! reports that concern validation (named after their case ids).

use kms_key::spec::{KeySpec, KeyUsage, Origin};
use kms_key::{ErrorCode, KmsKeySpec, KmsKeySpecBuilder, ValidationErrors};

fn b() -> KmsKeySpecBuilder {
    KmsKeySpec::builder()
}

/// The (field, code) pairs of a failed build, in order.
fn failures(r: Result<KmsKeySpec, ValidationErrors>) -> Vec<(String, ErrorCode)> {
    match r {
        Ok(spec) => panic!("expected validation errors, got a valid spec: {spec:?}"),
        Err(e) => e
            .errors()
            .iter()
            .map(|e| (e.field().to_string(), e.code()))
            .collect(),
    }
}

fn one(field: &str, code: ErrorCode) -> Vec<(String, ErrorCode)> {
    vec![(field.to_owned(), code)]
}

const P_ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

#[test]
fn keyspec_usage_matrix_rejects_what_aws_rejects() {
    let cases: Vec<(&str, KmsKeySpecBuilder, ErrorCode)> = vec![
        (
            "usage SIGN_VERIFY, spec omitted",
            b().key_usage(KeyUsage::SignVerify),
            ErrorCode::KeyUsageIncompatible,
        ),
        (
            "ECC_NIST_P256, usage omitted",
            b().key_spec(KeySpec::EccNistP256),
            ErrorCode::KeyUsageRequired,
        ),
        (
            "HMAC_256 + ENCRYPT_DECRYPT",
            b().key_spec(KeySpec::Hmac256)
                .key_usage(KeyUsage::EncryptDecrypt),
            ErrorCode::KeyUsageIncompatible,
        ),
        (
            "SYMMETRIC_DEFAULT + GENERATE_VERIFY_MAC",
            b().key_spec(KeySpec::SymmetricDefault)
                .key_usage(KeyUsage::GenerateVerifyMac),
            ErrorCode::KeyUsageIncompatible,
        ),
    ];
    for (name, builder, code) in cases {
        assert_eq!(failures(builder.build()), one("key_usage", code), "{name}");
    }
}

#[test]
fn keyspec_usage_matrix_accepts_what_aws_accepts() {
    let cases = [
        (KeySpec::EccNistP256, KeyUsage::KeyAgreement),
        (KeySpec::Rsa2048, KeyUsage::EncryptDecrypt),
        (KeySpec::Rsa2048, KeyUsage::SignVerify),
        (KeySpec::Hmac512, KeyUsage::GenerateVerifyMac),
    ];
    for (spec, usage) in cases {
        let built = b().key_spec(spec).key_usage(usage).build().unwrap();
        assert_eq!((built.key_spec(), built.key_usage()), (spec, usage));
    }
}

#[test]
fn keyspec_usage_matrix_full_table_matches_design() {
    // Every pair: valid exactly when the README's key spec → key usage table allows it.
    for spec in KeySpec::ALL {
        for usage in KeyUsage::ALL {
            let ok = b().key_spec(*spec).key_usage(*usage).build().is_ok();
            assert_eq!(
                ok,
                spec.allowed_usages().contains(usage),
                "{spec} + {usage}"
            );
        }
        let needs_usage = *spec != KeySpec::SymmetricDefault;
        assert_eq!(
            b().key_spec(*spec).build().is_err(),
            needs_usage,
            "{spec} without usage"
        );
    }
}

#[test]
fn rotation_unsupported_key_validation() {
    let ecc = b()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsage::SignVerify)
        .enable_key_rotation(true);
    assert_eq!(
        failures(ecc.build()),
        one("enable_key_rotation", ErrorCode::RotationUnsupported)
    );
    let hmac = b()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsage::GenerateVerifyMac)
        .enable_key_rotation(true);
    assert_eq!(
        failures(hmac.build()),
        one("enable_key_rotation", ErrorCode::RotationUnsupported)
    );
    let imported = b().origin(Origin::External).enable_key_rotation(true);
    assert_eq!(
        failures(imported.build()),
        one("enable_key_rotation", ErrorCode::RotationUnsupported)
    );
    // The same keys without rotation are fine.
    assert!(
        b().key_spec(KeySpec::Rsa2048)
            .key_usage(KeyUsage::EncryptDecrypt)
            .build()
            .is_ok()
    );
    assert!(b().origin(Origin::External).build().is_ok());
}

#[test]
fn deletion_window_validation() {
    for days in [6, 31, 0, -1, 1000] {
        assert_eq!(
            failures(b().deletion_window_in_days(days).build()),
            one(
                "deletion_window_in_days",
                ErrorCode::DeletionWindowOutOfRange
            ),
            "{days}"
        );
    }
    for days in [7, 30] {
        let spec = b().deletion_window_in_days(days).build().unwrap();
        assert_eq!(i64::from(spec.deletion_window().days()), days);
    }
    assert_eq!(b().build().unwrap().deletion_window().days(), 30);
}

#[test]
fn rotation_period_rules() {
    assert_eq!(
        failures(
            b().enable_key_rotation(true)
                .rotation_period_in_days(89)
                .build()
        ),
        one(
            "rotation_period_in_days",
            ErrorCode::RotationPeriodOutOfRange
        )
    );
    assert_eq!(
        failures(
            b().enable_key_rotation(true)
                .rotation_period_in_days(2561)
                .build()
        ),
        one(
            "rotation_period_in_days",
            ErrorCode::RotationPeriodOutOfRange
        )
    );
    assert_eq!(
        failures(b().rotation_period_in_days(180).build()),
        one(
            "rotation_period_in_days",
            ErrorCode::RotationPeriodWithoutRotation
        )
    );
    for d in [90, 2560] {
        let s = b()
            .enable_key_rotation(true)
            .rotation_period_in_days(d)
            .build()
            .unwrap();
        assert_eq!(s.rotation_period().map(|p| i64::from(p.days())), Some(d));
    }
}

#[test]
fn tags_validation() {
    let k128 = "k".repeat(128);
    let v256 = "v".repeat(256);
    let ok = b()
        .tag(k128.clone(), v256)
        .tag("empty", "")
        .build()
        .unwrap();
    assert_eq!(ok.tags().unwrap().len(), 2);

    let k129 = "k".repeat(129);
    assert_eq!(
        failures(b().tag(k129.clone(), "x").build()),
        one(&format!("tags[\"{k129}\"]"), ErrorCode::TagKeyLength)
    );
    assert_eq!(
        failures(b().tag("env", "v".repeat(257)).build()),
        one("tags[\"env\"]", ErrorCode::TagValueLength)
    );
    assert_eq!(
        failures(b().tag("aws:x", "1").build()),
        one("tags[\"aws:x\"]", ErrorCode::TagKeyReserved)
    );
    assert_eq!(
        failures(b().tag("AWS:x", "1").build()),
        one("tags[\"AWS:x\"]", ErrorCode::TagKeyReserved)
    );
    assert_eq!(
        failures(b().tag("kms-key:name", "a").build()),
        one("tags[\"kms-key:name\"]", ErrorCode::TagKeyReserved)
    );
    assert_eq!(
        failures(b().tag("", "x").build()),
        one("tags[\"\"]", ErrorCode::TagKeyLength)
    );
    assert_eq!(
        failures(b().tag("a#b", "x").build()),
        one("tags[\"a#b\"]", ErrorCode::TagCharacters)
    );
    let fifty_one = (0..51).map(|i| (format!("k{i}"), "v".to_owned()));
    assert_eq!(
        failures(b().tags(fifty_one).build()),
        one("tags", ErrorCode::TooManyTags)
    );
    let fifty = (0..50).map(|i| (format!("k{i}"), "v".to_owned()));
    assert!(b().tags(fifty).build().is_ok());
    // An empty map manages "no tags"; no map leaves tags alone.
    assert!(
        b().tags(Vec::<(String, String)>::new())
            .build()
            .unwrap()
            .tags()
            .unwrap()
            .is_empty()
    );
    assert!(b().build().unwrap().tags().is_none());
}

#[test]
fn mrk_custom_key_store() {
    assert_eq!(
        failures(
            b().multi_region(true)
                .custom_key_store_id("cks-1234567890abcdef0")
                .build()
        ),
        one("multi_region", ErrorCode::CustomKeyStoreMultiRegion)
    );
    assert_eq!(
        failures(
            b().custom_key_store_id("cks-1234567890abcdef0")
                .key_spec(KeySpec::Rsa2048)
                .key_usage(KeyUsage::EncryptDecrypt)
                .build()
        ),
        one("key_spec", ErrorCode::CustomKeyStoreKeySpec)
    );
    assert_eq!(
        failures(
            b().custom_key_store_id("cks-1234567890abcdef0")
                .key_spec(KeySpec::Hmac256)
                .key_usage(KeyUsage::GenerateVerifyMac)
                .build()
        ),
        one("key_spec", ErrorCode::CustomKeyStoreKeySpec)
    );
    assert_eq!(
        failures(
            b().custom_key_store_id("cks-1234567890abcdef0")
                .enable_key_rotation(true)
                .build()
        ),
        one("enable_key_rotation", ErrorCode::RotationUnsupported)
    );
    let mrk = b()
        .multi_region(true)
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsage::SignVerify)
        .build()
        .unwrap();
    assert!(mrk.multi_region());
    let cks = b()
        .custom_key_store_id("cks-1234567890abcdef0")
        .build()
        .unwrap();
    assert_eq!(cks.origin(), Origin::AwsCloudhsm);
    let xks = b()
        .custom_key_store_id("cks-1234567890abcdef0")
        .xks_key_id("ext-key-1")
        .build()
        .unwrap();
    assert_eq!(xks.origin(), Origin::ExternalKeyStore);
}

#[test]
fn xks_and_origin_rules() {
    assert_eq!(
        failures(b().xks_key_id("k1").build()),
        one("xks_key_id", ErrorCode::XksKeyIdWithoutCustomKeyStore)
    );
    assert_eq!(
        failures(
            b().custom_key_store_id("cks-1")
                .xks_key_id("bad id")
                .build()
        ),
        one("xks_key_id", ErrorCode::XksKeyIdInvalid)
    );
    assert_eq!(
        failures(b().origin(Origin::AwsCloudhsm).build()),
        one("origin", ErrorCode::OriginConflict)
    );
    assert_eq!(
        failures(
            b().origin(Origin::External)
                .custom_key_store_id("cks-1")
                .build()
        ),
        one("origin", ErrorCode::OriginConflict)
    );
    assert_eq!(
        failures(b().custom_key_store_id("").build()),
        one("custom_key_store_id", ErrorCode::CustomKeyStoreIdInvalid)
    );
}

#[test]
fn description_length() {
    assert!(b().description("d".repeat(8192)).build().is_ok());
    assert!(b().description("").build().is_ok());
    assert_eq!(
        failures(b().description("d".repeat(8193)).build()),
        one("description", ErrorCode::DescriptionTooLong)
    );
}

#[test]
fn key_spec_and_its_old_name() {
    let s = b()
        .customer_master_key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsage::SignVerify)
        .build()
        .unwrap();
    assert_eq!(s.key_spec(), KeySpec::Rsa2048);
    assert_eq!(
        failures(
            b().key_spec(KeySpec::Rsa2048)
                .customer_master_key_spec(KeySpec::Rsa4096)
                .key_usage(KeyUsage::SignVerify)
                .build()
        ),
        one("customer_master_key_spec", ErrorCode::ConflictingFields)
    );
}

#[test]
fn all_problems_are_reported_at_once_in_field_order() {
    let r = b()
        .description("d".repeat(9000))
        .key_spec(KeySpec::Hmac256)
        .deletion_window_in_days(3)
        .enable_key_rotation(true)
        .tag("aws:x", "1")
        .build();
    assert_eq!(
        failures(r),
        vec![
            ("description".to_owned(), ErrorCode::DescriptionTooLong),
            ("key_usage".to_owned(), ErrorCode::KeyUsageRequired),
            (
                "deletion_window_in_days".to_owned(),
                ErrorCode::DeletionWindowOutOfRange
            ),
            (
                "enable_key_rotation".to_owned(),
                ErrorCode::RotationUnsupported
            ),
            ("tags[\"aws:x\"]".to_owned(), ErrorCode::TagKeyReserved),
        ]
    );
}

#[test]
fn messages_say_what_to_do() {
    let e = b().key_usage(KeyUsage::SignVerify).build().unwrap_err();
    assert_eq!(
        e.errors()[0].message(),
        "SIGN_VERIFY is not allowed with key spec SYMMETRIC_DEFAULT (the default when key_spec is unset); allowed: ENCRYPT_DECRYPT; key specs that allow SIGN_VERIFY include RSA_2048, RSA_3072, RSA_4096"
    );
    assert_eq!(
        e.to_string(),
        "1 validation error\n  - key_usage: SIGN_VERIFY is not allowed with key spec SYMMETRIC_DEFAULT (the default when key_spec is unset); allowed: ENCRYPT_DECRYPT; key specs that allow SIGN_VERIFY include RSA_2048, RSA_3072, RSA_4096 [key_usage_incompatible]"
    );
}

#[test]
fn new_principal_propagation_statement_without_principal_is_a_validation_error() {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
    let r = b().policy(policy).build();
    assert_eq!(
        failures(r),
        one("policy.Statement[0]", ErrorCode::PolicyPrincipalMissing)
    );
}

#[test]
fn lockout_lint_is_an_error_unless_bypassed() {
    // Only Deny statements and an Allow without PutKeyPolicy: nobody could change the policy.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}"#;
    assert_eq!(
        failures(b().policy(policy).build()),
        one("policy", ErrorCode::PolicyLockout)
    );
    assert!(
        b().policy(policy)
            .bypass_policy_lockout_safety_check(true)
            .build()
            .is_ok()
    );
    for action in ["kms:PutKeyPolicy", "kms:*", "kms:Put*", "*"] {
        let p = policy.replace(r#"["kms:Encrypt","kms:Decrypt"]"#, &format!("\"{action}\""));
        assert!(b().policy(p).build().is_ok(), "{action}");
    }
}

/// P_root plus `deny` (a statement as JSON text).
fn root_and(deny: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{deny}]}}"#
    )
}

#[test]
fn lockout_lint_unconditional_deny_to_everyone_is_a_lockout() {
    // A Deny wins over every Allow: the root's kms:* no longer lets anyone change the policy.
    for deny in [
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"}"#,
        r#"{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"kms:PutKeyPolicy","Resource":"*"}"#,
        r#"{"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::111122223333:role/x","*"]},"Action":"kms:PutKeyPolicy","Resource":"*"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":["kms:Encrypt","kms:Put*"],"Resource":"*"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"KMS:PUTKEYPOLICY","Resource":["*"]}"#,
        r#"{"Effect":"Deny","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"}"#,
        // An empty Condition constrains nothing.
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*","Condition":{}}"#,
    ] {
        let policy = root_and(deny);
        assert_eq!(
            failures(b().policy(policy.as_str()).build()),
            one("policy", ErrorCode::PolicyLockout),
            "{deny}"
        );
        assert!(
            b().policy(policy)
                .bypass_policy_lockout_safety_check(true)
                .build()
                .is_ok(),
            "{deny}"
        );
    }
}

#[test]
fn lockout_lint_deny_that_spares_someone_is_allowed() {
    for deny in [
        // A Condition may not hold.
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/key-admin"}}}"#,
        // Named principals, not everyone.
        r#"{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:PutKeyPolicy","Resource":"*"}"#,
        // Everyone but the key admin.
        r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/key-admin"},"Action":"kms:PutKeyPolicy","Resource":"*"}"#,
        // Other actions only.
        r#"{"Effect":"Deny","Principal":"*","Action":["kms:ScheduleKeyDeletion","kms:Disable*"],"Resource":"*"}"#,
        r#"{"Effect":"Deny","Principal":"*","NotAction":"kms:Put*","Resource":"*"}"#,
        // Not certainly this key.
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","NotResource":"*"}"#,
    ] {
        let built = b().policy(root_and(deny)).build();
        assert!(built.is_ok(), "{deny}: {built:?}");
    }
}

#[test]
fn lockout_lint_deny_to_the_account_or_to_any_key_is_a_lockout_as_kms_says() {
    use kms_key::backend::memory::InMemoryBackend;
    use kms_key::backend::{CreateKeyRequest, ErrorKind, KmsBackend};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for deny in [
        // The account stands for every identity in it, the root's grantees included.
        r#"{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:PutKeyPolicy","Resource":"*"}"#,
        r#"{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}"#,
        // Any key ARN of the policy's partition.
        r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:aws:kms:*"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"arn:aws:kms:*:*:key/*"}"#,
        // Excepting only resources that are no KMS key.
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","NotResource":"arn:aws:s3:::x"}"#,
    ] {
        let policy = root_and(deny);
        assert_eq!(
            failures(b().policy(policy.as_str()).build()),
            one("policy", ErrorCode::PolicyLockout),
            "{deny}"
        );
        // KMS's own check (the in-memory KMS, caller role/admin of the account) agrees.
        let kms = InMemoryBackend::new();
        let mut request = CreateKeyRequest::new();
        request.policy = Some(policy);
        let refused = rt.block_on(kms.create_key(request)).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::PolicyLockout, "{deny}");
    }
    // A role granted PutKeyPolicy beside the root is in the denied account too.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/key-admin"},"Action":"kms:PutKeyPolicy","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kms:PutKeyPolicy","Resource":"*"}]}"#;
    let e = b().policy(policy).build().unwrap_err();
    assert_eq!(e.codes(), [ErrorCode::PolicyLockout]);
    assert_eq!(
        e.errors()[0].message(),
        "Deny statements without a Condition refuse kms:PutKeyPolicy to every principal an Allow grants it to (a Deny to an account covers every identity in it), so nobody could change this policy again; narrow a Deny's Principal, Action or Resource, add a Condition, or set bypass_policy_lockout_safety_check = true"
    );
}

#[test]
fn lockout_lint_deny_that_may_spare_someone_or_this_key_is_allowed() {
    for deny in [
        // Another account.
        r#"{"Effect":"Deny","Principal":{"AWS":"444455556666"},"Action":"kms:PutKeyPolicy","Resource":"*"}"#,
        // Another key, or keys of one Region and account only: maybe not this one.
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"arn:aws:kms:us-east-1:111122223333:key/*"}"#,
        // Excepting KMS resources: this key may be among them.
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","NotResource":"arn:aws:kms:*:*:key/abc"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","NotResource":"arn:aws:*"}"#,
        // Everyone but one identity of the account: that one may still be allowed.
        r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/nobody"},"Action":"*","Resource":"*"}"#,
        // An account's conditional Deny.
        r#"{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kms:PutKeyPolicy","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}"#,
        // Patterns that fix part of the key's Region, account or id: a real key may not match.
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"arn:aws:kms:*:*:key/0*"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"arn:aws:kms:*:000000000000:*"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"arn:aws:kms:z*"}"#,
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"arn:aws:kms:*:*:key/????????-????-????-????-????????????"}"#,
    ] {
        let built = b().policy(root_and(deny)).build();
        assert!(built.is_ok(), "{deny}: {built:?}");
    }
    // Everyone but a session of the role that is granted: that session may still change it.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:sts::111122223333:assumed-role/admin/ci"},"Action":"kms:PutKeyPolicy","Resource":"*"}]}"#;
    let built = b().policy(policy).build();
    assert!(built.is_ok(), "{built:?}");
}

#[test]
fn lockout_lint_counts_only_principals_that_can_call_kms() {
    for policy in [
        // Everyone but everyone.
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}"#,
        // A service principal does not call PutKeyPolicy as itself.
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:*","Resource":"*"}]}"#,
    ] {
        assert_eq!(
            failures(b().policy(policy).build()),
            one("policy", ErrorCode::PolicyLockout),
            "{policy}"
        );
    }
}

#[test]
fn lockout_lint_names_an_allow_without_resource() {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}"#;
    let e = b().policy(policy).build().unwrap_err();
    assert_eq!(e.codes(), [ErrorCode::PolicyLockout]);
    assert_eq!(
        e.errors()[0].message(),
        "no Allow statement lets any principal call kms:PutKeyPolicy (an Allow statement names it but has no Resource, so it grants nothing: add \"Resource\": \"*\"), so nobody could change this policy again; grant it (e.g. kms:* to the account root) or set bypass_policy_lockout_safety_check = true"
    );
}

#[test]
fn lockout_lint_deny_message_says_what_to_do() {
    let deny = r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#;
    let e = b().policy(root_and(deny)).build().unwrap_err();
    assert_eq!(
        e.errors()[0].message(),
        "a Deny statement without a Condition denies kms:PutKeyPolicy to every principal (\"*\"), so nobody could change this policy again; narrow its Principal or Action, add a Condition, or set bypass_policy_lockout_safety_check = true"
    );
}

#[test]
fn public_allow_is_a_warning_beside_a_valid_spec() {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#;
    let spec = b().policy(policy).build().unwrap();
    let codes: Vec<_> = spec.warnings().iter().map(|w| w.code()).collect();
    assert_eq!(codes, [kms_key::WarningCode::PolicyPublicAllow]);
    assert!(b().policy(P_ROOT).build().unwrap().warnings().is_empty());
}

// ---- principals ---------------------------------------------------------------------------

/// P_root plus a second statement granting kms:Decrypt to `principal` (a JSON value).
fn policy_with_principal(principal: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"App","Effect":"Allow","Principal":{principal},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    )
}

#[test]
fn malformed_aws_principal_is_a_validation_error_naming_the_value() {
    // KMS would answer these with "invalid principals", which is retried as IAM propagation;
    // they can never exist, so they are refused before any call.
    for principal in [
        "",
        "deployer",
        "arn:aws:iam:111122223333:role/x",
        "arn:aws:iam::1111:root",
        "arn:aws:iam::111122223333:role/*",
        "arn:aws:iam::111122223333:group/admins",
    ] {
        let policy = policy_with_principal(&format!(r#"{{"AWS":["{principal}"]}}"#));
        assert_eq!(
            failures(b().policy(policy).build()),
            one(
                "policy.Statement[1].Principal.AWS[0]",
                ErrorCode::PolicyPrincipalInvalid
            ),
            "{principal:?}"
        );
    }
    // A single value is addressed without an index.
    let policy = policy_with_principal(r#"{"AWS":"deployer"}"#);
    assert_eq!(
        failures(b().policy(policy).build()),
        one(
            "policy.Statement[1].Principal.AWS",
            ErrorCode::PolicyPrincipalInvalid
        )
    );
}

#[test]
fn malformed_aws_principal_message_says_what_is_wrong() {
    let policy = policy_with_principal(r#"{"AWS":"arn:aws:iam::1111:root"}"#);
    let e = b().policy(policy).build().unwrap_err();
    assert_eq!(
        e.errors()[0].message(),
        r#""arn:aws:iam::1111:root" has the account "1111"; an account id is exactly 12 digits"#
    );
}

#[test]
fn every_documented_aws_principal_shape_is_accepted() {
    for principal in [
        "*",
        "111122223333",
        "arn:aws:iam::111122223333:root",
        "arn:aws-cn:iam::111122223333:root",
        "arn:aws-us-gov:iam::111122223333:role/deployer",
        "arn:aws:iam::111122223333:role/team/ci/deployer",
        "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:user/division/alice",
        "arn:aws:sts::111122223333:assumed-role/deployer/ci-42",
        "arn:aws:sts::111122223333:federated-user/bob",
        // A deleted role, as KMS shows it in a policy read back.
        "AROAJQABLZS4A3QDU576Q",
        "AIDAJQABLZS4A3QDU576Q",
    ] {
        let policy = policy_with_principal(&format!(r#"{{"AWS":"{principal}"}}"#));
        let built = b().policy(policy).build();
        assert!(built.is_ok(), "{principal}: {built:?}");
    }
}

#[test]
fn service_principal_must_not_be_empty() {
    let policy = policy_with_principal(r#"{"Service":""}"#);
    assert_eq!(
        failures(b().policy(policy).build()),
        one(
            "policy.Statement[1].Principal.Service",
            ErrorCode::PolicyPrincipalInvalid
        )
    );
    let policy = policy_with_principal(r#"{"Service":["logs.amazonaws.com",""]}"#);
    assert_eq!(
        failures(b().policy(policy).build()),
        one(
            "policy.Statement[1].Principal.Service[1]",
            ErrorCode::PolicyPrincipalInvalid
        )
    );
    assert!(
        b().policy(policy_with_principal(r#"{"Service":"logs.amazonaws.com"}"#))
            .build()
            .is_ok()
    );
}

#[test]
fn principal_naming_nobody_is_a_missing_principal() {
    for principal in ["{}", r#"{"AWS":[]}"#, r#"{"AWS":[],"Service":[]}"#] {
        let policy = policy_with_principal(principal);
        assert_eq!(
            failures(b().policy(policy).build()),
            one(
                "policy.Statement[1].Principal",
                ErrorCode::PolicyPrincipalMissing
            ),
            "{principal}"
        );
    }
}

#[test]
fn malformed_principal_in_a_spec_file_names_the_full_path() {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": ["deployer"]}, "Action": "kms:Decrypt", "Resource": "*"}
        ]
    });
    let tf = serde_json::json!({"resource": {"aws_kms_key": {"app": {"policy": policy}}}});
    let e = kms_key::spec::terraform::from_terraform_json(&tf.to_string()).unwrap_err();
    let got: Vec<_> = e
        .errors()
        .iter()
        .map(|e| (e.field().to_string(), e.code()))
        .collect();
    assert_eq!(
        got,
        one(
            "resource.aws_kms_key.app.policy.Statement[1].Principal.AWS[0]",
            ErrorCode::PolicyPrincipalInvalid
        )
    );
}

// ---- duplicate keys in spec files -------------------------------------------------------------

fn file_failures(text: &str) -> Vec<(String, ErrorCode)> {
    failures(KmsKeySpec::from_json(text))
}

fn tf_failures(text: &str) -> Vec<(String, ErrorCode)> {
    match kms_key::spec::terraform::from_terraform_json(text) {
        Ok(keys) => panic!("expected validation errors, got {} keys", keys.len()),
        Err(e) => e
            .errors()
            .iter()
            .map(|e| (e.field().to_string(), e.code()))
            .collect(),
    }
}

#[test]
fn duplicate_argument_is_an_error_not_last_one_wins() {
    assert_eq!(
        file_failures(r#"{"deletion_window_in_days": 6, "deletion_window_in_days": 7}"#),
        one("deletion_window_in_days", ErrorCode::DuplicateField)
    );
    // The camelCase spelling repeated is the same field, named by its Terraform name.
    assert_eq!(
        file_failures(r#"{"deletionWindowInDays": 7, "deletionWindowInDays": 7}"#),
        one("deletion_window_in_days", ErrorCode::DuplicateField)
    );
    // Both spellings: reported as before.
    assert_eq!(
        file_failures(r#"{"deletion_window_in_days": 7, "deletionWindowInDays": 8}"#),
        one("deletion_window_in_days", ErrorCode::DuplicateField)
    );
    // An unknown key given twice is unknown, once.
    assert_eq!(
        file_failures(r#"{"colour": 1, "colour": 2}"#),
        one("colour", ErrorCode::UnknownField)
    );
    let e = KmsKeySpec::from_json(r#"{"description": "a", "description": "b"}"#).unwrap_err();
    assert_eq!(
        e.errors()[0].message(),
        "`description` is given more than once; JSON does not say which one counts, so give it once"
    );
}

#[test]
fn duplicate_tag_key_is_an_error() {
    assert_eq!(
        file_failures(r#"{"tags": {"env": "dev", "env": "prod"}}"#),
        one("tags[\"env\"]", ErrorCode::DuplicateField)
    );
    // Reported beside every other problem.
    assert_eq!(
        file_failures(
            r#"{"tags": {"env": "dev", "env": "prod", "aws:x": "y"}, "deletion_window_in_days": 3}"#
        ),
        vec![
            ("tags[\"env\"]".to_owned(), ErrorCode::DuplicateField),
            (
                "deletion_window_in_days".to_owned(),
                ErrorCode::DeletionWindowOutOfRange
            ),
            ("tags[\"aws:x\"]".to_owned(), ErrorCode::TagKeyReserved),
        ]
    );
}

#[test]
fn duplicate_key_inside_a_policy_object_is_reported_as_in_a_policy_string() {
    let stmt = r#"{"Effect":"Allow","Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#;
    let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{stmt}]}}"#);
    let want = one("policy.Statement[0].Effect", ErrorCode::PolicyStructure);
    let as_object = format!(r#"{{"policy": {policy}}}"#);
    assert_eq!(file_failures(&as_object), want);
    let as_string = serde_json::json!({ "policy": policy }).to_string();
    assert_eq!(file_failures(&as_string), want);
}

#[test]
fn duplicate_keys_in_a_terraform_configuration() {
    assert_eq!(
        tf_failures(
            r#"{"resource": {"aws_kms_key": {"a": {"deletion_window_in_days": 6, "deletion_window_in_days": 7}}}}"#
        ),
        one(
            "resource.aws_kms_key.a.deletion_window_in_days",
            ErrorCode::DuplicateField
        )
    );
    assert_eq!(
        tf_failures(
            r#"{"resource": {"aws_kms_key": {"a": {"tags": {"env": "dev", "env": "prod"}}}}}"#
        ),
        one(
            "resource.aws_kms_key.a.tags[\"env\"]",
            ErrorCode::DuplicateField
        )
    );
    // The same resource name twice, in one object or across the blocks of a list.
    assert_eq!(
        tf_failures(r#"{"resource": {"aws_kms_key": {"a": {}, "a": {"description": "x"}}}}"#),
        one("resource.aws_kms_key.a", ErrorCode::DuplicateField)
    );
    assert_eq!(
        tf_failures(r#"{"resource": [{"aws_kms_key": {"a": {}}}, {"aws_kms_key": {"a": {}}}]}"#),
        one("resource.aws_kms_key.a", ErrorCode::DuplicateField)
    );
    // `aws_kms_key` or `resource` twice would silently drop the first set of keys.
    assert_eq!(
        tf_failures(r#"{"resource": {"aws_kms_key": {"a": {}}, "aws_kms_key": {"b": {}}}}"#),
        one("resource.aws_kms_key", ErrorCode::DuplicateField)
    );
    assert_eq!(
        tf_failures(
            r#"{"resource": {"aws_kms_key": {"a": {}}}, "resource": {"aws_kms_key": {"b": {}}}}"#
        ),
        one("resource", ErrorCode::DuplicateField)
    );
}

#[test]
fn duplicate_keys_seen_by_serde_but_not_in_a_value() {
    let text = r#"{"deletion_window_in_days": 6, "deletion_window_in_days": 7}"#;
    // Deserialize reads the text, so it sees them.
    let e = serde_json::from_str::<KmsKeySpec>(text).unwrap_err();
    assert!(
        e.to_string()
            .contains("deletion_window_in_days: `deletion_window_in_days` is given more than once"),
        "{e}"
    );
    // A Value has already dropped the first one (documented on from_json_value).
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let spec = KmsKeySpec::from_json_value(&value).unwrap();
    assert_eq!(spec.deletion_window().days(), 7);
}

// ---- numbers too large for i64 ----------------------------------------------------------------

#[test]
fn whole_number_too_large_is_out_of_range_not_a_type_error() {
    for days in [
        "99999999999999999999",
        "-99999999999999999999",
        "9223372036854775808",
        "1e300",
        r#""99999999999999999999""#,
    ] {
        assert_eq!(
            file_failures(&format!(r#"{{"deletion_window_in_days": {days}}}"#)),
            one(
                "deletion_window_in_days",
                ErrorCode::DeletionWindowOutOfRange
            ),
            "{days}"
        );
        assert_eq!(
            file_failures(&format!(
                r#"{{"enable_key_rotation": true, "rotation_period_in_days": {days}}}"#
            )),
            one(
                "rotation_period_in_days",
                ErrorCode::RotationPeriodOutOfRange
            ),
            "{days}"
        );
    }
    let e =
        KmsKeySpec::from_json(r#"{"deletion_window_in_days": 99999999999999999999}"#).unwrap_err();
    assert_eq!(e.errors()[0].message(), "is 1e+20; KMS allows 7 to 30 days");
    let e = KmsKeySpec::from_json(r#"{"deletion_window_in_days": "99999999999999999999"}"#)
        .unwrap_err();
    assert_eq!(
        e.errors()[0].message(),
        "is 99999999999999999999; KMS allows 7 to 30 days"
    );
}

#[test]
fn fraction_is_a_type_error_whole_float_is_a_number() {
    for days in ["7.5", "-0.5", r#""7.5""#] {
        assert_eq!(
            file_failures(&format!(r#"{{"deletion_window_in_days": {days}}}"#)),
            one("deletion_window_in_days", ErrorCode::InvalidType),
            "{days}"
        );
    }
    // A number without a fractional part is a whole number, however it is written.
    for days in ["10", "10.0", "1e1"] {
        let spec = KmsKeySpec::from_json(&format!(r#"{{"deletion_window_in_days": {days}}}"#))
            .unwrap_or_else(|e| panic!("{days}: {e}"));
        assert_eq!(spec.deletion_window().days(), 10, "{days}");
    }
}

// ---- tag characters ---------------------------------------------------------------------------

#[test]
fn tag_characters_tab_and_newline_are_refused_separators_are_not() {
    // AWS: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$. Tab and newline are white space but not \p{Z}.
    for (key, value) in [
        ("a\tb", "v"),
        ("k", "a\tb"),
        ("k", "line\nbreak"),
        ("k", "cr\r"),
        ("k", "nel\u{85}"),
    ] {
        assert_eq!(
            failures(b().tag(key, value).build()),
            vec![(format!("tags[{key:?}]"), ErrorCode::TagCharacters)],
            "{key:?} = {value:?}"
        );
    }
    for (key, value) in [
        ("team name", "no\u{A0}break"),
        ("ideographic", "東京\u{3000}大阪"),
        ("Ж-ω-ع-한", "א:字/カ=あ+@_."),
        ("digits", "٣४３½Ⅻ²"),
        ("separators", "\u{2028}\u{2029}\u{202F}"),
    ] {
        let built = b().tag(key, value).build();
        assert!(built.is_ok(), "{key:?} = {value:?}: {built:?}");
    }
    let e = b().tag("k", "a\tb").build().unwrap_err();
    assert_eq!(
        e.errors()[0].message(),
        "has the character '\\t'; allowed are letters, numbers, spaces (not tabs, line feeds or other control characters) and + - = . _ : / @"
    );
}

// ---- SM2 outside China ------------------------------------------------------------------------

#[test]
fn sm2_is_valid_with_a_china_regions_warning() {
    let spec = b()
        .key_spec(KeySpec::Sm2)
        .key_usage(KeyUsage::SignVerify)
        .build()
        .unwrap();
    let warnings: Vec<_> = spec
        .warnings()
        .iter()
        .map(|w| (w.field().to_string(), w.code()))
        .collect();
    assert_eq!(
        warnings,
        [(
            "key_spec".to_owned(),
            kms_key::WarningCode::KeySpecChinaRegionsOnly
        )]
    );
    assert_eq!(
        spec.warnings()[0].message(),
        "SM2 keys exist only in the China Regions (cn-north-1, cn-northwest-1); CreateKey fails in any other Region"
    );
    assert_eq!(
        kms_key::WarningCode::KeySpecChinaRegionsOnly.as_str(),
        "key_spec_china_regions_only"
    );
    // Under Terraform's older name, the warning names that field; policy warnings follow.
    let policy = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}]}"#;
    let spec = KmsKeySpec::from_json(
        &serde_json::json!({"customer_master_key_spec": "SM2", "key_usage": "ENCRYPT_DECRYPT", "policy": policy})
            .to_string(),
    )
    .unwrap();
    let warnings: Vec<_> = spec
        .warnings()
        .iter()
        .map(|w| (w.field().to_string(), w.code()))
        .collect();
    assert_eq!(
        warnings,
        [
            (
                "customer_master_key_spec".to_owned(),
                kms_key::WarningCode::KeySpecChinaRegionsOnly
            ),
            (
                "policy.Version".to_owned(),
                kms_key::WarningCode::PolicyVersionMissing
            ),
        ]
    );
    // Other key specs get no such warning.
    for spec in KeySpec::ALL.iter().filter(|s| **s != KeySpec::Sm2) {
        let usage = spec.allowed_usages()[0];
        let built = b().key_spec(*spec).key_usage(usage).build().unwrap();
        assert!(built.warnings().is_empty(), "{spec}");
    }
}

#[test]
fn a_leniently_parsed_policy_is_checked_again_by_the_builder() {
    use kms_key::policy::KeyPolicy;
    // parse_observed takes what KMS returns without its input checks; a spec must not.
    let no_effect = KeyPolicy::parse_observed(r#"{"Statement":{"Principal":"*"}}"#).unwrap();
    assert!(!no_effect.is_checked());
    assert_eq!(
        failures(
            b().key_policy(no_effect)
                .bypass_policy_lockout_safety_check(true)
                .build()
        ),
        one("policy.Statement.Effect", ErrorCode::PolicyEffectInvalid)
    );
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{}","Effect":"Allow","Principal":{{"AWS":"111122223333"}},"Action":"kms:*","Resource":"*"}}]}}"#,
        "a".repeat(kms_key::policy::MAX_POLICY_BYTES)
    );
    assert_eq!(
        failures(
            b().key_policy(KeyPolicy::parse_observed(&big).unwrap())
                .build()
        ),
        one("policy", ErrorCode::PolicyTooLarge)
    );
    // A checked policy goes in as it is.
    let checked = KeyPolicy::parse(P_ROOT).unwrap();
    assert!(checked.is_checked());
    assert!(b().key_policy(checked).build().is_ok());
}
