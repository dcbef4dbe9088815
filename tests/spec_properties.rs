//! Property tests of spec validation: valid specs always build and round-trip (through the
//! builder, the file form, CDKTF's camelCase spelling and Terraform's older
//! `customer_master_key_spec` name); breaking exactly one rule yields exactly that rule's error
//! code.

use kms_key::spec::{KeySpec, KeyUsage, Origin};
use kms_key::{ErrorCode, KmsKeySpec, KmsKeySpecBuilder};
use proptest::prelude::*;
use serde_json::Value;

const P_ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

/// Valid policies of several shapes; the last one grants PutKeyPolicy to nobody, so it is only
/// valid with the lockout bypass.
const POLICIES: [&str; 4] = [
    P_ROOT,
    r#"{"Version":"2012-10-17","Id":"key-policy","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["kms:*"],"Resource":"*"},{"Sid":"App","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/app","arn:aws:iam::111122223333:user/ops"]},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com","aws:PrincipalTag/équipe":"données"},"Bool":{"aws:SecureTransport":true}}}]}"#,
    r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Decrypt","Resource":"*"}]}"#,
];
const LOCKED: usize = 3;

/// The inputs of a valid spec, kept as plain data so a test can mutate one of them.
#[derive(Debug, Clone)]
struct Inputs {
    description: Option<String>,
    key_spec: Option<KeySpec>,
    key_usage: Option<KeyUsage>,
    policy: Option<String>,
    bypass: bool,
    deletion_window: Option<i64>,
    is_enabled: bool,
    rotation: bool,
    period: Option<i64>,
    multi_region: bool,
    cks: bool,
    xks: bool,
    origin: Option<Origin>,
    tags: Option<Vec<(String, String)>>,
}

impl Inputs {
    fn builder(&self) -> KmsKeySpecBuilder {
        let mut b = KmsKeySpec::builder()
            .is_enabled(self.is_enabled)
            .enable_key_rotation(self.rotation)
            .bypass_policy_lockout_safety_check(self.bypass);
        if let Some(d) = &self.description {
            b = b.description(d.clone());
        }
        if let Some(s) = self.key_spec {
            b = b.key_spec(s);
        }
        if let Some(u) = self.key_usage {
            b = b.key_usage(u);
        }
        if let Some(p) = &self.policy {
            b = b.policy(p.clone());
        }
        if let Some(w) = self.deletion_window {
            b = b.deletion_window_in_days(w);
        }
        if let Some(p) = self.period {
            b = b.rotation_period_in_days(p);
        }
        if self.multi_region {
            b = b.multi_region(true);
        }
        if self.cks {
            b = b.custom_key_store_id("cks-1234567890abcdef0");
        }
        if self.xks {
            b = b.xks_key_id("xks-key.1_a");
        }
        if let Some(o) = self.origin {
            b = b.origin(o);
        }
        if let Some(t) = &self.tags {
            b = b.tags(t.clone());
        }
        b
    }

    /// Back to a plain symmetric AWS_KMS key without rotation, keeping everything else.
    fn plain_symmetric(&mut self) {
        self.key_spec = None;
        self.key_usage = None;
        self.rotation = false;
        self.period = None;
        self.cks = false;
        self.xks = false;
        self.origin = None;
    }
}

/// Tag text: letters and numbers of any script, spaces and `+ - = . _ : / @`.
fn tag_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[\\p{{L}}\\p{{N}} +=._:/@-]{{{min},{max}}}")).unwrap()
}

fn valid_inputs() -> impl Strategy<Value = Inputs> {
    let pair = proptest::sample::select(
        KeySpec::ALL
            .iter()
            .filter(|s| **s != KeySpec::Sm2)
            .flat_map(|s| s.allowed_usages().iter().map(move |u| (*s, *u)))
            .collect::<Vec<_>>(),
    );
    let tags = proptest::option::of(proptest::collection::btree_map(
        tag_text(1, 20).prop_filter("not reserved", |k| {
            !k.to_lowercase().starts_with("aws:") && k != "kms-key:name"
        }),
        tag_text(0, 30),
        0..8,
    ));
    (
        proptest::option::of("\\PC{0,60}"),
        pair,
        any::<(bool, bool, bool, bool, bool)>(),
        (
            proptest::option::of(0..POLICIES.len()),
            any::<bool>(),
            0u8..4,
        ),
        proptest::option::of(7i64..=30),
        proptest::option::of(90i64..=2560),
        tags,
    )
        .prop_map(
            |(
                description,
                (spec, usage),
                (explicit, enabled, rotation, mr_or_cks, external),
                (policy, bypass, store),
                window,
                period,
                tags,
            )| {
                let symmetric = spec == KeySpec::SymmetricDefault;
                // Symmetric keys may leave spec/usage unset; others must give the usage.
                let (key_spec, key_usage) = if symmetric && !explicit {
                    (None, None)
                } else {
                    (Some(spec), Some(usage))
                };
                let cks = symmetric && mr_or_cks && !rotation;
                // In a store: 0 CloudHSM implied, 1 CloudHSM explicit, 2 external store
                // implied, 3 external store explicit.
                let xks = cks && store >= 2;
                let origin = match (cks, store, external && !rotation) {
                    (true, 1, _) => Some(Origin::AwsCloudhsm),
                    (true, 3, _) => Some(Origin::ExternalKeyStore),
                    (true, _, _) => None,
                    (false, _, true) => Some(Origin::External),
                    (false, _, false) => None,
                };
                let rotation = symmetric && rotation;
                Inputs {
                    description,
                    key_spec,
                    key_usage,
                    policy: policy.map(|i| POLICIES[i].to_owned()),
                    bypass: bypass || policy == Some(LOCKED),
                    deletion_window: window,
                    is_enabled: enabled,
                    rotation,
                    period: if rotation { period } else { None },
                    multi_region: mr_or_cks && !cks,
                    cks,
                    xks,
                    origin,
                    tags: tags.map(|t| t.into_iter().collect()),
                }
            },
        )
}

/// One rule to break, and the code that must come back.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    WindowLow,
    WindowHigh,
    DescriptionLong,
    ReservedTag,
    ReservedTagUpperCase,
    LongTagKey,
    EmptyTagKey,
    LongTagValue,
    BadTagChar,
    TooManyTags,
    PeriodOutOfRange,
    PeriodWithoutRotation,
    IncompatibleUsage,
    UsageMissing,
    RotationUnsupported,
    StoreMultiRegion,
    StoreKeySpec,
    XksWithoutStore,
    OriginWithoutStore,
    PolicyLockout,
    PolicyTooLarge,
    PolicyCharacter,
    PolicyJson,
    PolicyEffect,
    PolicyNoPrincipal,
    PolicyBadPrincipal,
}

fn mutate(mut i: Inputs, m: Mutation) -> (Inputs, ErrorCode) {
    let add_tag = |i: &mut Inputs, k: String, v: String| {
        let t = i.tags.get_or_insert_with(Vec::new);
        t.truncate(10);
        t.retain(|(key, _)| key != &k);
        t.push((k, v));
    };
    let policy = |i: &mut Inputs, text: String| {
        i.policy = Some(text);
        i.bypass = false;
    };
    let code = match m {
        Mutation::WindowLow => {
            i.deletion_window = Some(6);
            ErrorCode::DeletionWindowOutOfRange
        }
        Mutation::WindowHigh => {
            i.deletion_window = Some(31);
            ErrorCode::DeletionWindowOutOfRange
        }
        Mutation::DescriptionLong => {
            i.description = Some("é".repeat(8193));
            ErrorCode::DescriptionTooLong
        }
        Mutation::ReservedTag => {
            add_tag(&mut i, "aws:owner".into(), "x".into());
            ErrorCode::TagKeyReserved
        }
        Mutation::ReservedTagUpperCase => {
            add_tag(&mut i, "AWS:owner".into(), "x".into());
            ErrorCode::TagKeyReserved
        }
        Mutation::LongTagKey => {
            add_tag(&mut i, "k".repeat(129), "x".into());
            ErrorCode::TagKeyLength
        }
        Mutation::EmptyTagKey => {
            add_tag(&mut i, String::new(), "x".into());
            ErrorCode::TagKeyLength
        }
        Mutation::LongTagValue => {
            add_tag(&mut i, "long".into(), "v".repeat(257));
            ErrorCode::TagValueLength
        }
        Mutation::BadTagChar => {
            add_tag(&mut i, "bad".into(), "a#b".into());
            ErrorCode::TagCharacters
        }
        Mutation::TooManyTags => {
            i.tags = Some((0..51).map(|n| (format!("k{n}"), String::new())).collect());
            ErrorCode::TooManyTags
        }
        Mutation::PeriodOutOfRange if i.rotation => {
            i.period = Some(89);
            ErrorCode::RotationPeriodOutOfRange
        }
        Mutation::PeriodOutOfRange | Mutation::PeriodWithoutRotation => {
            i.rotation = false;
            i.period = Some(180);
            ErrorCode::RotationPeriodWithoutRotation
        }
        Mutation::IncompatibleUsage => {
            let spec = i.key_spec.unwrap_or_default();
            let bad = KeyUsage::ALL
                .iter()
                .find(|u| !spec.allows(**u))
                .copied()
                .expect("no spec allows every usage");
            i.key_usage = Some(bad);
            ErrorCode::KeyUsageIncompatible
        }
        Mutation::UsageMissing => {
            if i.key_spec.is_none_or(|s| s == KeySpec::SymmetricDefault) {
                i.plain_symmetric();
                i.key_spec = Some(KeySpec::Rsa2048);
            }
            i.key_usage = None;
            ErrorCode::KeyUsageRequired
        }
        Mutation::RotationUnsupported => {
            i.plain_symmetric();
            i.key_spec = Some(KeySpec::EccNistP256);
            i.key_usage = Some(KeyUsage::SignVerify);
            i.rotation = true;
            ErrorCode::RotationUnsupported
        }
        Mutation::StoreMultiRegion => {
            i.plain_symmetric();
            i.cks = true;
            i.multi_region = true;
            ErrorCode::CustomKeyStoreMultiRegion
        }
        Mutation::StoreKeySpec => {
            i.plain_symmetric();
            i.multi_region = false;
            i.cks = true;
            i.key_spec = Some(KeySpec::Hmac256);
            i.key_usage = Some(KeyUsage::GenerateVerifyMac);
            ErrorCode::CustomKeyStoreKeySpec
        }
        Mutation::XksWithoutStore => {
            i.plain_symmetric();
            i.xks = true;
            ErrorCode::XksKeyIdWithoutCustomKeyStore
        }
        Mutation::OriginWithoutStore => {
            i.plain_symmetric();
            i.origin = Some(Origin::AwsCloudhsm);
            ErrorCode::OriginConflict
        }
        Mutation::PolicyLockout => {
            policy(&mut i, POLICIES[LOCKED].to_owned());
            ErrorCode::PolicyLockout
        }
        Mutation::PolicyTooLarge => {
            policy(
                &mut i,
                P_ROOT.replace("\"Root\"", &format!("\"{}\"", "a".repeat(32_768))),
            );
            ErrorCode::PolicyTooLarge
        }
        Mutation::PolicyCharacter => {
            policy(&mut i, P_ROOT.replace("\"Root\"", "\"Root€\""));
            ErrorCode::PolicyInvalidCharacter
        }
        Mutation::PolicyJson => {
            policy(&mut i, P_ROOT[..P_ROOT.len() - 1].to_owned());
            ErrorCode::PolicyJsonSyntax
        }
        Mutation::PolicyEffect => {
            policy(&mut i, P_ROOT.replace("\"Allow\"", "\"allow\""));
            ErrorCode::PolicyEffectInvalid
        }
        Mutation::PolicyNoPrincipal => {
            policy(
                &mut i,
                P_ROOT.replace(
                    r#","Resource":"*"}]"#,
                    r#","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]"#,
                ),
            );
            ErrorCode::PolicyPrincipalMissing
        }
        Mutation::PolicyBadPrincipal => {
            policy(
                &mut i,
                P_ROOT.replace(
                    r#","Resource":"*"}]"#,
                    r#","Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:group/ops"},"Action":"kms:Decrypt","Resource":"*"}]"#,
                ),
            );
            ErrorCode::PolicyPrincipalInvalid
        }
    };
    (i, code)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    use Mutation::*;
    proptest::sample::select(vec![
        WindowLow,
        WindowHigh,
        DescriptionLong,
        ReservedTag,
        ReservedTagUpperCase,
        LongTagKey,
        EmptyTagKey,
        LongTagValue,
        BadTagChar,
        TooManyTags,
        PeriodOutOfRange,
        PeriodWithoutRotation,
        IncompatibleUsage,
        UsageMissing,
        RotationUnsupported,
        StoreMultiRegion,
        StoreKeySpec,
        XksWithoutStore,
        OriginWithoutStore,
        PolicyLockout,
        PolicyTooLarge,
        PolicyCharacter,
        PolicyJson,
        PolicyEffect,
        PolicyNoPrincipal,
        PolicyBadPrincipal,
    ])
}

/// `snake_case` → `camelCase`, as CDKTF spells arguments; `SIGN_VERIFY` → `signVerify`, as
/// its documentation spells values.
fn camel(s: &str) -> String {
    let mut out = String::new();
    for (n, part) in s.split('_').enumerate() {
        let lower = part.to_ascii_lowercase();
        if n == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(c) = chars.next() {
                out.push(c.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

/// The spec file with CDKTF's names and values.
fn cdktf_spelling(file: &Value) -> Value {
    let Value::Object(map) = file else {
        panic!("a spec file is an object")
    };
    Value::Object(
        map.iter()
            .map(|(k, v)| {
                let v = match (k.as_str(), v) {
                    ("key_spec" | "key_usage" | "origin", Value::String(s)) => {
                        Value::String(camel(s))
                    }
                    _ => v.clone(),
                };
                (camel(k), v)
            })
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_specs_build_and_round_trip(inputs in valid_inputs()) {
        let spec = inputs.builder().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = serde_json::to_string(&spec).unwrap();
        let back = KmsKeySpec::from_json(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &spec);
        // And through the builder again.
        prop_assert_eq!(&spec.to_builder().build().unwrap(), &spec);
        // CDKTF's spelling of names and values reads as the same spec.
        let file: Value = serde_json::from_str(&text).unwrap();
        let cdktf = cdktf_spelling(&file).to_string();
        let back = KmsKeySpec::from_json(&cdktf).map_err(|e| TestCaseError::fail(format!("{cdktf}: {e}")))?;
        prop_assert_eq!(&back, &spec);
        // And so does Terraform's older name of key_spec.
        if let Value::Object(mut map) = file {
            if let Some(v) = map.remove("key_spec") {
                map.insert("customer_master_key_spec".into(), v);
            }
            let old = Value::Object(map).to_string();
            let back = KmsKeySpec::from_json(&old).map_err(|e| TestCaseError::fail(format!("{old}: {e}")))?;
            prop_assert_eq!(&back, &spec);
        }
    }

    #[test]
    fn breaking_one_rule_yields_exactly_that_code(inputs in valid_inputs(), m in mutation()) {
        let (broken, code) = mutate(inputs, m);
        let errors = broken.builder().build().expect_err("a broken rule must fail");
        prop_assert_eq!(errors.codes(), vec![code]);
    }
}
