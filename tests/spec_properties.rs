//! Property tests of spec validation: valid specs always build and round-trip; breaking exactly
//! one rule yields exactly that rule's error code.

use kms_key::spec::{KeySpec, KeyUsage};
use kms_key::{ErrorCode, KmsKeySpec, KmsKeySpecBuilder};
use proptest::prelude::*;

const P_ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

/// The inputs of a valid spec, kept as plain data so a test can mutate one of them.
#[derive(Debug, Clone)]
struct Inputs {
    description: Option<String>,
    key_spec: Option<KeySpec>,
    key_usage: Option<KeyUsage>,
    policy: bool,
    deletion_window: Option<i64>,
    is_enabled: bool,
    rotation: bool,
    period: Option<i64>,
    multi_region: bool,
    cks: bool,
    tags: Option<Vec<(String, String)>>,
}

impl Inputs {
    fn builder(&self) -> KmsKeySpecBuilder {
        let mut b = KmsKeySpec::builder()
            .is_enabled(self.is_enabled)
            .enable_key_rotation(self.rotation);
        if let Some(d) = &self.description {
            b = b.description(d.clone());
        }
        if let Some(s) = self.key_spec {
            b = b.key_spec(s);
        }
        if let Some(u) = self.key_usage {
            b = b.key_usage(u);
        }
        if self.policy {
            b = b.policy(P_ROOT);
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
        if let Some(t) = &self.tags {
            b = b.tags(t.clone());
        }
        b
    }
}

fn tag_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9 +=._:/@-]{{0,{max}}}")).unwrap()
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
        tag_text(20).prop_filter("key 1+ chars, not reserved", |k| {
            !k.is_empty() && !k.to_ascii_lowercase().starts_with("aws:") && k != "kms-key:name"
        }),
        tag_text(30),
        0..8,
    ));
    (
        proptest::option::of("[ -~]{0,60}"),
        pair,
        any::<(bool, bool, bool, bool, bool)>(),
        proptest::option::of(7i64..=30),
        proptest::option::of(90i64..=2560),
        tags,
    )
        .prop_map(
            |(
                description,
                (spec, usage),
                (explicit, policy, enabled, rotation, mr_or_cks),
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
                let rotation = symmetric && rotation;
                Inputs {
                    description,
                    key_spec,
                    key_usage,
                    policy,
                    deletion_window: window,
                    is_enabled: enabled,
                    rotation,
                    period: if rotation { period } else { None },
                    multi_region: mr_or_cks && !cks,
                    cks,
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
    LongTagKey,
    LongTagValue,
    BadTagChar,
    PeriodOutOfRange,
    PeriodWithoutRotation,
    IncompatibleUsage,
}

fn mutate(mut i: Inputs, m: Mutation) -> (Inputs, ErrorCode) {
    let add_tag = |i: &mut Inputs, k: String, v: String| {
        let t = i.tags.get_or_insert_with(Vec::new);
        t.truncate(10);
        t.retain(|(key, _)| key != &k);
        t.push((k, v));
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
            i.description = Some("x".repeat(8193));
            ErrorCode::DescriptionTooLong
        }
        Mutation::ReservedTag => {
            add_tag(&mut i, "aws:owner".into(), "x".into());
            ErrorCode::TagKeyReserved
        }
        Mutation::LongTagKey => {
            add_tag(&mut i, "k".repeat(129), "x".into());
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
    };
    (i, code)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    proptest::sample::select(vec![
        Mutation::WindowLow,
        Mutation::WindowHigh,
        Mutation::DescriptionLong,
        Mutation::ReservedTag,
        Mutation::LongTagKey,
        Mutation::LongTagValue,
        Mutation::BadTagChar,
        Mutation::PeriodOutOfRange,
        Mutation::PeriodWithoutRotation,
        Mutation::IncompatibleUsage,
    ])
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
    }

    #[test]
    fn breaking_one_rule_yields_exactly_that_code(inputs in valid_inputs(), m in mutation()) {
        let (broken, code) = mutate(inputs, m);
        let errors = broken.builder().build().expect_err("a broken rule must fail");
        prop_assert_eq!(errors.codes(), vec![code]);
    }
}
