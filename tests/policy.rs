//! Key policy: the field reports about policies (named after their case ids), the benchmark
//! pairs, and property tests of equivalence and the canonical form.

use std::path::Path;

use kms_key::policy::KeyPolicy;
use kms_key::validation::ErrorCode;
use serde_json::{Value, json};

/// `P_root` of the field reports.
const P_ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

fn parse(text: &str) -> KeyPolicy {
    KeyPolicy::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `value` pretty-printed with a 4-space indent.
fn pretty4(value: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value.serialize(&mut ser).expect("serializes");
    String::from_utf8(out).expect("utf-8")
}

// ---- policy-format-noise ----------------------------------------------------------------

/// P_root pretty-printed with a 4-space indent, keys in another order, a trailing newline.
fn p_root_noisy(effect: &str) -> String {
    format!(
        "{{\n    \"Statement\": [\n        {{\n            \"Resource\": \"*\",\n            \"Action\": \"kms:*\",\n            \"Principal\": {{\n                \"AWS\": \"arn:aws:iam::111122223333:root\"\n            }},\n            \"Effect\": \"{effect}\",\n            \"Sid\": \"Root\"\n        }}\n    ],\n    \"Version\": \"2012-10-17\"\n}}\n"
    )
}

#[test]
fn policy_format_noise_pretty_reordered_equals_compact() {
    let desired = parse(&p_root_noisy("Allow"));
    let live = parse(P_ROOT);
    assert!(desired.equivalent(&live));
    assert_eq!(desired, live);
    assert_eq!(desired.canonical(), live.canonical());
    assert_eq!(desired.canonical_pretty(), live.canonical_pretty());
    // The text sent to KMS stays the user's.
    assert_eq!(desired.as_str(), p_root_noisy("Allow"));
}

#[test]
fn policy_format_noise_serde_pretty_4_space_equals_compact() {
    let value: Value = serde_json::from_str(P_ROOT).unwrap();
    let desired = parse(&pretty4(&value));
    assert!(desired.as_str().contains("\n    \"Statement\""));
    assert_eq!(desired, parse(P_ROOT));
}

#[test]
fn policy_format_noise_effect_deny_is_a_change() {
    let desired = parse(&p_root_noisy("Deny"));
    let live = parse(P_ROOT);
    assert!(!desired.equivalent(&live));
    assert_ne!(desired, live);
    assert_ne!(desired.canonical(), live.canonical());
}

// ---- principal-list-order ---------------------------------------------------------------

fn with_statement(stmt: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": [stmt]}).to_string()
}

const X: &str = "arn:aws:iam::111122223333:role/x";
const Y: &str = "arn:aws:iam::111122223333:role/y";
const APP: &str = "arn:aws:iam::111122223333:role/app";

#[test]
fn principal_list_order_a_reversed_principals_are_no_change() {
    let d = parse(&with_statement(
        json!({"Effect":"Allow","Principal":{"AWS":[X, Y]},"Action":"kms:Decrypt","Resource":"*"}),
    ));
    let a = KeyPolicy::parse_observed(&with_statement(
        json!({"Effect":"Allow","Principal":{"AWS":[Y, X]},"Action":"kms:Decrypt","Resource":"*"}),
    ))
    .unwrap();
    assert_eq!(d, a);
    assert_eq!(d.canonical(), a.canonical());
}

#[test]
fn principal_list_order_a_different_principal_is_a_change() {
    let d = parse(&with_statement(
        json!({"Effect":"Allow","Principal":{"AWS":[X, Y]},"Action":"kms:Decrypt","Resource":"*"}),
    ));
    let a = parse(&with_statement(
        json!({"Effect":"Allow","Principal":{"AWS":[X, APP]},"Action":"kms:Decrypt","Resource":"*"}),
    ));
    assert_ne!(d, a);
}

#[test]
fn principal_list_order_b_single_principal_equals_one_element_list() {
    let d = parse(&with_statement(
        json!({"Effect":"Allow","Principal":{"AWS":APP},"Action":"kms:Decrypt","Resource":"*"}),
    ));
    let a = parse(&with_statement(
        json!({"Effect":"Allow","Principal":{"AWS":[APP]},"Action":"kms:Decrypt","Resource":"*"}),
    ));
    assert_eq!(d, a);
    assert_eq!(d.canonical(), a.canonical());
}

#[test]
fn principal_list_order_b_action_string_equals_one_element_list() {
    let d = parse(&with_statement(
        json!({"Effect":"Allow","Principal":{"AWS":APP},"Action":"kms:Decrypt","Resource":"*"}),
    ));
    let a = parse(&with_statement(
        json!({"Effect":"Allow","Principal":{"AWS":[APP]},"Action":["kms:Decrypt"],"Resource":["*"]}),
    ));
    assert_eq!(d, a);
    assert_eq!(d.canonical(), a.canonical());
}

// ---- new-principal-propagation ----------------------------------------------------------

#[test]
fn new_principal_propagation_statement_without_principal_is_rejected_before_any_call() {
    let text =
        with_statement(json!({"Sid":"App","Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}));
    let err = KeyPolicy::parse(&text).unwrap_err();
    assert_eq!(err.len(), 1, "{err}");
    let e = &err.errors()[0];
    assert_eq!(e.code(), ErrorCode::PolicyPrincipalMissing);
    assert_eq!(e.field().as_str(), "policy.Statement[0]");
}

#[test]
fn new_principal_propagation_statement_without_principal_in_second_statement() {
    let text = json!({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"},
    ]})
    .to_string();
    let err = KeyPolicy::parse(&text).unwrap_err();
    assert_eq!(err.codes(), vec![ErrorCode::PolicyPrincipalMissing]);
    assert_eq!(err.errors()[0].field().as_str(), "policy.Statement[1]");
}

#[test]
fn new_principal_propagation_principals_to_check_are_listed() {
    let new_role = "arn:aws:iam::111122223333:role/created-seconds-ago";
    let text = json!({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Allow","Principal":{"AWS":[new_role, "arn:aws:iam::111122223333:root"]},"Action":"kms:Decrypt","Resource":"*"},
    ]})
    .to_string();
    assert_eq!(
        parse(&text).aws_principals(),
        vec!["arn:aws:iam::111122223333:root", new_role]
    );
}

// ---- lockout-safety-check ---------------------------------------------------------------

const DEPLOYER: &str = "arn:aws:iam::111122223333:role/deployer";
const KEY_ADMIN: &str = "arn:aws:iam::111122223333:role/key-admin";

fn key_admin_only() -> KeyPolicy {
    parse(&with_statement(json!({
        "Sid": "KeyAdmin",
        "Effect": "Allow",
        "Principal": {"AWS": KEY_ADMIN},
        "Action": "kms:*",
        "Resource": "*"
    })))
}

#[test]
fn lockout_safety_check_someone_can_still_put_the_policy() {
    // The lint asks "could anyone": key-admin can, so the policy is not a lockout by itself.
    assert!(key_admin_only().grants_to_anyone("kms:PutKeyPolicy"));
}

#[test]
fn lockout_safety_check_deployer_is_locked_out_key_admin_is_not() {
    let p = key_admin_only();
    assert!(!p.allows(DEPLOYER, "kms:PutKeyPolicy"));
    assert!(!p.allows(
        "arn:aws:sts::111122223333:assumed-role/deployer/ci-run",
        "kms:PutKeyPolicy"
    ));
    assert!(p.allows(KEY_ADMIN, "kms:PutKeyPolicy"));
    assert!(p.allows(
        "arn:aws:sts::111122223333:assumed-role/key-admin/alice",
        "kms:PutKeyPolicy"
    ));
}

#[test]
fn lockout_safety_check_root_policy_lets_the_deployer_in() {
    let p = parse(P_ROOT);
    assert!(p.grants_to_anyone("kms:PutKeyPolicy"));
    assert!(p.allows(DEPLOYER, "kms:PutKeyPolicy"));
    assert!(p.allows(DEPLOYER, "KMS:putkeypolicy"));
}

#[test]
fn lockout_safety_check_no_put_key_policy_for_anyone() {
    let p = parse(&with_statement(json!({
        "Effect": "Allow",
        "Principal": {"AWS": KEY_ADMIN},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:Describe*"],
        "Resource": "*"
    })));
    assert!(!p.grants_to_anyone("kms:PutKeyPolicy"));
    assert!(!p.allows(KEY_ADMIN, "kms:PutKeyPolicy"));
}

// ---- benchmark pairs ------------------------------------------------------------------------

fn bench_pair(name: &str) -> (KeyPolicy, KeyPolicy) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/policies");
    let read = |side: &str| {
        let path = dir.join(format!("{name}.{side}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        KeyPolicy::parse_observed(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    (read("a"), read("b"))
}

#[test]
fn benchmark_pairs_have_the_documented_answers() {
    for (name, want) in [
        ("a_1KB_true", true),
        ("b145_true", true),
        ("b145_effectdiff_false", false),
    ] {
        let (a, b) = bench_pair(name);
        assert_eq!(a.equivalent(&b), want, "{name}");
        assert_eq!(a.canonical() == b.canonical(), want, "{name}");
    }
    // The small pair is within KMS's limits, so the strict parse takes it too.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/policies");
    for side in ["a", "b"] {
        let text = std::fs::read_to_string(dir.join(format!("a_1KB_true.{side}.json"))).unwrap();
        assert!(KeyPolicy::parse(&text).is_ok());
    }
    // The large ones are over the 32,768-byte limit: only the lenient parse takes them.
    let text = std::fs::read_to_string(dir.join("b145_true.a.json")).unwrap();
    assert_eq!(
        KeyPolicy::parse(&text).unwrap_err().codes(),
        vec![ErrorCode::PolicyTooLarge]
    );
}

// ---- property tests -------------------------------------------------------------------------

mod props {
    use std::collections::BTreeMap;

    use kms_key::policy::KeyPolicy;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    /// A principal identity; each renders in every spelling IAM treats as the same.
    #[derive(Debug, Clone, PartialEq)]
    enum Who {
        Role(u8),
        Account(&'static str),
        Service(&'static str),
        Fresh(u32),
    }

    #[derive(Debug, Clone)]
    enum Principal {
        Everyone,
        Aws(Vec<Who>),
        Service(Vec<Who>),
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Scalar {
        Text(String),
        Bool(bool),
        Number(u32),
    }

    #[derive(Debug, Clone)]
    struct Statement {
        sid: Option<String>,
        allow: bool,
        not_principal: bool,
        principal: Principal,
        actions: Vec<String>,
        resources: Vec<&'static str>,
        /// (operator, key) → values.
        condition: BTreeMap<(&'static str, &'static str), Vec<Scalar>>,
    }

    #[derive(Debug, Clone)]
    struct Policy {
        version: Option<&'static str>,
        id: Option<String>,
        statements: Vec<Statement>,
    }

    const ACTIONS: [&str; 9] = [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
        "kms:CreateGrant",
        "kms:*",
        "kms:PutKeyPolicy",
        "kms:Get*",
    ];
    const RESOURCES: [&str; 2] = ["*", "arn:aws:kms:us-east-1:111122223333:key/1234abcd"];
    const OPERATORS: [&str; 5] = [
        "StringEquals",
        "StringLike",
        "Bool",
        "NumericLessThan",
        "ForAnyValue:StringEquals",
    ];
    const KEYS: [&str; 5] = [
        "kms:CallerAccount",
        "kms:ViaService",
        "aws:SecureTransport",
        "kms:EncryptionContext:app",
        "aws:PrincipalTag/team",
    ];

    fn who() -> impl Strategy<Value = Who> {
        prop_oneof![
            (0_u8..5).prop_map(Who::Role),
            prop::sample::select(vec!["111122223333", "444455556666"]).prop_map(Who::Account),
        ]
    }

    fn principal() -> impl Strategy<Value = Principal> {
        prop_oneof![
            1 => Just(Principal::Everyone),
            4 => prop::collection::vec(who(), 1..4).prop_map(Principal::Aws),
            1 => prop::collection::vec(
                prop::sample::select(vec!["logs.amazonaws.com", "s3.amazonaws.com"]).prop_map(Who::Service),
                1..3
            )
            .prop_map(Principal::Service),
        ]
    }

    fn scalar() -> impl Strategy<Value = Scalar> {
        prop_oneof![
            "[a-z0-9.]{1,8}".prop_map(Scalar::Text),
            any::<bool>().prop_map(Scalar::Bool),
            (0_u32..1000).prop_map(Scalar::Number),
        ]
    }

    fn statement() -> impl Strategy<Value = Statement> {
        (
            prop::option::of("[A-Za-z0-9]{1,6}"),
            any::<bool>(),
            prop::bool::weighted(0.1),
            principal(),
            prop::sample::subsequence(ACTIONS.to_vec(), 1..4),
            prop::sample::subsequence(RESOURCES.to_vec(), 1..3),
            prop::collection::btree_map(
                (
                    prop::sample::select(OPERATORS.to_vec()),
                    prop::sample::select(KEYS.to_vec()),
                ),
                prop::collection::vec(scalar(), 1..4),
                0..3,
            ),
        )
            .prop_map(
                |(sid, allow, not_principal, principal, actions, resources, condition)| Statement {
                    sid,
                    allow,
                    not_principal,
                    principal,
                    actions: actions.into_iter().map(str::to_owned).collect(),
                    resources,
                    condition,
                },
            )
    }

    fn policy() -> impl Strategy<Value = Policy> {
        (
            prop::option::weighted(0.8, Just("2012-10-17")),
            prop::option::weighted(0.3, "[a-z-]{1,10}"),
            prop::collection::vec(statement(), 1..6),
        )
            .prop_map(|(version, id, statements)| Policy {
                version,
                id,
                statements,
            })
    }

    /// A small deterministic generator for the cosmetic choices of one rendering.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn coin(&mut self) -> bool {
            self.next() & 1 == 1
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn shuffle<T>(&mut self, items: &mut [T]) {
            for i in (1..items.len()).rev() {
                items.swap(i, self.below(i + 1));
            }
        }
    }

    /// How a policy is written down: `None` writes the plain form, `Some` varies every spelling
    /// IAM ignores.
    struct Style(Option<Rng>);

    impl Style {
        fn vary(&mut self) -> Option<&mut Rng> {
            self.0.as_mut()
        }

        /// A list of values: shuffled, maybe with a duplicate, a single one maybe unwrapped.
        fn list(&mut self, mut items: Vec<Value>) -> Value {
            let Some(rng) = self.vary() else {
                return Value::Array(items);
            };
            rng.shuffle(&mut items);
            if !items.is_empty() && rng.below(4) == 0 {
                let i = rng.below(items.len());
                items.push(items[i].clone());
            }
            if items.len() == 1 && rng.coin() {
                items.pop().unwrap_or_default()
            } else {
                Value::Array(items)
            }
        }

        /// Changes the case of an action name or condition key (IAM ignores it).
        fn case(&mut self, s: &str) -> String {
            match self.vary() {
                None => s.to_owned(),
                Some(rng) => s
                    .chars()
                    .map(|c| {
                        if rng.coin() {
                            c.to_ascii_uppercase()
                        } else {
                            c.to_ascii_lowercase()
                        }
                    })
                    .collect(),
            }
        }

        fn who(&mut self, w: &Who) -> Value {
            match w {
                Who::Role(i) => json!(format!("arn:aws:iam::111122223333:role/r{i}")),
                Who::Fresh(i) => json!(format!("arn:aws:iam::999999999999:role/fresh{i}")),
                Who::Service(s) => json!(s),
                Who::Account(a) => {
                    if self.vary().is_some_and(|rng| rng.coin()) {
                        json!(a)
                    } else {
                        json!(format!("arn:aws:iam::{a}:root"))
                    }
                }
            }
        }

        fn principal(&mut self, p: &Principal) -> Value {
            match p {
                Principal::Everyone => match self.vary().map(|r| r.below(3)) {
                    None | Some(0) => json!("*"),
                    Some(1) => json!({"AWS": "*"}),
                    Some(_) => json!({"AWS": ["*"]}),
                },
                Principal::Aws(list) => {
                    let values = list.iter().map(|w| self.who(w)).collect();
                    json!({"AWS": self.list(values)})
                }
                Principal::Service(list) => {
                    let values = list.iter().map(|w| self.who(w)).collect();
                    json!({"Service": self.list(values)})
                }
            }
        }

        fn scalar(&mut self, s: &Scalar) -> Value {
            let as_text = self.vary().is_some_and(Rng::coin);
            match s {
                Scalar::Text(t) => json!(t),
                Scalar::Bool(b) if as_text => json!(b.to_string()),
                Scalar::Bool(b) => json!(b),
                Scalar::Number(n) if as_text => json!(n.to_string()),
                Scalar::Number(n) => json!(n),
            }
        }

        fn statement(&mut self, s: &Statement) -> Value {
            let mut m = Map::new();
            if let Some(sid) = &s.sid {
                m.insert("Sid".into(), json!(sid));
            }
            m.insert(
                "Effect".into(),
                json!(if s.allow { "Allow" } else { "Deny" }),
            );
            let principal = self.principal(&s.principal);
            m.insert(
                if s.not_principal {
                    "NotPrincipal"
                } else {
                    "Principal"
                }
                .into(),
                principal,
            );
            let actions = s.actions.iter().map(|a| json!(self.case(a))).collect();
            m.insert("Action".into(), self.list(actions));
            let resources = s.resources.iter().map(|r| json!(r)).collect();
            m.insert("Resource".into(), self.list(resources));
            if !s.condition.is_empty() {
                let mut ops = Map::new();
                for ((op, key), values) in &s.condition {
                    let values = values.iter().map(|v| self.scalar(v)).collect();
                    let values = self.list(values);
                    let key = self.case(key);
                    let entry = ops.entry(*op).or_insert_with(|| json!({}));
                    entry[key] = values;
                }
                m.insert("Condition".into(), Value::Object(ops));
            }
            Value::Object(m)
        }

        fn policy(&mut self, p: &Policy) -> Value {
            let mut statements: Vec<Value> =
                p.statements.iter().map(|s| self.statement(s)).collect();
            let mut m = Map::new();
            if let Some(v) = p.version {
                m.insert("Version".into(), json!(v));
            }
            if let Some(id) = &p.id {
                m.insert("Id".into(), json!(id));
            }
            let statement = match self.vary() {
                None => Value::Array(statements),
                Some(rng) => {
                    rng.shuffle(&mut statements);
                    if rng.below(5) == 0 {
                        let i = rng.below(statements.len());
                        statements.push(statements[i].clone());
                    }
                    if statements.len() == 1 && rng.coin() {
                        statements.pop().unwrap_or_default()
                    } else {
                        Value::Array(statements)
                    }
                }
            };
            m.insert("Statement".into(), statement);
            Value::Object(m)
        }

        /// JSON text with object members in a varied order, compact or indented.
        fn text(&mut self, value: &Value) -> String {
            let indent = match self.vary() {
                Some(rng) => ["", "  ", "    ", "\t"][rng.below(4)],
                None => "",
            };
            let mut out = String::new();
            self.write(value, indent, 0, &mut out);
            out
        }

        fn write(&mut self, value: &Value, indent: &str, depth: usize, out: &mut String) {
            let newline = |out: &mut String, depth: usize| {
                if !indent.is_empty() {
                    out.push('\n');
                    out.push_str(&indent.repeat(depth));
                }
            };
            match value {
                Value::Object(m) => {
                    let mut members: Vec<(&String, &Value)> = m.iter().collect();
                    match self.vary() {
                        Some(rng) => rng.shuffle(&mut members),
                        None => members.sort_by(|a, b| a.0.cmp(b.0)),
                    }
                    out.push('{');
                    for (i, (k, v)) in members.into_iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        newline(out, depth + 1);
                        out.push_str(&serde_json::to_string(k).unwrap());
                        out.push_str(if indent.is_empty() { ":" } else { ": " });
                        self.write(v, indent, depth + 1, out);
                    }
                    if !m.is_empty() {
                        newline(out, depth);
                    }
                    out.push('}');
                }
                Value::Array(items) => {
                    out.push('[');
                    for (i, v) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        newline(out, depth + 1);
                        self.write(v, indent, depth + 1, out);
                    }
                    if !items.is_empty() {
                        newline(out, depth);
                    }
                    out.push(']');
                }
                scalar => out.push_str(&scalar.to_string()),
            }
        }
    }

    /// The plain rendering of a policy.
    fn plain(p: &Policy) -> String {
        let mut style = Style(None);
        let value = style.policy(p);
        style.text(&value)
    }

    /// A rendering with every cosmetic choice drawn from `seed`.
    fn varied(p: &Policy, seed: u64) -> String {
        let mut style = Style(Some(Rng(seed | 1)));
        let value = style.policy(p);
        style.text(&value)
    }

    fn parse(text: &str) -> KeyPolicy {
        KeyPolicy::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// How many distinct statements the canonical form keeps.
    fn distinct_statements(p: &KeyPolicy) -> usize {
        let v: Value = serde_json::from_str(&p.canonical()).unwrap();
        v["Statement"].as_array().map_or(0, Vec::len)
    }

    #[derive(Debug, Clone, Copy)]
    enum Mutation {
        Effect,
        Sid,
        Action,
        Principal,
    }

    fn mutate(p: &mut Policy, index: usize, mutation: Mutation) {
        let s = &mut p.statements[index];
        match mutation {
            Mutation::Effect => s.allow = !s.allow,
            Mutation::Sid => {
                s.sid = match s.sid.take() {
                    None => Some("Fresh".to_owned()),
                    Some(sid) if sid.len() % 2 == 0 => None,
                    Some(sid) => Some(format!("{sid}x")),
                }
            }
            Mutation::Action => {
                // A name no generated action has, in any case.
                let i = index % s.actions.len();
                s.actions[i] = "kms:FreshAction".to_owned();
            }
            Mutation::Principal => {
                s.principal = match &s.principal {
                    Principal::Everyone => Principal::Aws(vec![Who::Fresh(0)]),
                    Principal::Aws(list) => {
                        let mut list = list.clone();
                        let i = index % list.len();
                        list[i] = Who::Fresh(1);
                        Principal::Aws(list)
                    }
                    Principal::Service(list) => {
                        let mut list = list.clone();
                        list.push(Who::Service("fresh.amazonaws.com"));
                        Principal::Service(list)
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Reformatting, key order, statement and value order, duplicates, single value versus
        /// one-element list, action/condition-key case, condition scalar types and principal
        /// spellings never change the meaning.
        #[test]
        fn rewriting_keeps_equivalence(p in policy(), seed1 in any::<u64>(), seed2 in any::<u64>()) {
            let base = parse(&plain(&p));
            let a = parse(&varied(&p, seed1));
            let b = parse(&varied(&p, seed2));
            prop_assert!(base.equivalent(&a), "{}\n{}", base.as_str(), a.as_str());
            prop_assert!(a.equivalent(&b), "{}\n{}", a.as_str(), b.as_str());
            prop_assert_eq!(base.canonical(), a.canonical());
            prop_assert_eq!(a.canonical_pretty(), b.canonical_pretty());
            // The lenient parse reaches the same normalized form.
            let lenient = KeyPolicy::parse_observed(a.as_str()).unwrap();
            prop_assert!(lenient.equivalent(&base));
        }

        /// A different Effect, Sid, action or principal in one statement is a real change.
        #[test]
        fn changing_one_statement_breaks_equivalence(
            p in policy(),
            pick in any::<prop::sample::Index>(),
            mutation in prop::sample::select(vec![Mutation::Effect, Mutation::Sid, Mutation::Action, Mutation::Principal]),
            seed1 in any::<u64>(),
            seed2 in any::<u64>(),
        ) {
            let original = parse(&plain(&p));
            // With two identical statements, changing one copy leaves the same set.
            prop_assume!(distinct_statements(&original) == p.statements.len());
            let mut changed = p.clone();
            mutate(&mut changed, pick.index(p.statements.len()), mutation);
            let a = parse(&varied(&p, seed1));
            let b = parse(&varied(&changed, seed2));
            prop_assert!(!a.equivalent(&b), "{:?}\n{}\n{}", mutation, a.as_str(), b.as_str());
            prop_assert!(!b.equivalent(&a));
            prop_assert_ne!(a.canonical(), b.canonical());
        }

        /// Reflexive, symmetric, and the same relation as equality of canonical forms.
        #[test]
        fn equivalence_is_reflexive_symmetric_and_canonical(
            p in policy(),
            q in policy(),
            seed in any::<u64>(),
        ) {
            let a = parse(&varied(&p, seed));
            let b = parse(&plain(&q));
            prop_assert!(a.equivalent(&a));
            prop_assert!(a == a.clone());
            prop_assert_eq!(a.equivalent(&b), b.equivalent(&a));
            prop_assert_eq!(a.equivalent(&b), a.canonical() == b.canonical());
            prop_assert_eq!(a.equivalent(&b), a.canonical_pretty() == b.canonical_pretty());
        }

        /// The canonical form is a valid policy, equivalent to the original, and a fixed point.
        #[test]
        fn canonical_form_round_trips(p in policy(), seed in any::<u64>()) {
            let a = parse(&varied(&p, seed));
            let c = parse(&a.canonical());
            prop_assert!(c.equivalent(&a));
            prop_assert_eq!(c.canonical(), a.canonical());
            let pretty = parse(&a.canonical_pretty());
            prop_assert_eq!(pretty.canonical(), a.canonical());
        }

        /// The lint's and the safety check's answers do not depend on the spelling either.
        #[test]
        fn answers_do_not_depend_on_spelling(p in policy(), seed in any::<u64>()) {
            let a = parse(&plain(&p));
            let b = parse(&varied(&p, seed));
            for action in ["kms:PutKeyPolicy", "kms:Decrypt", "kms:ScheduleKeyDeletion"] {
                prop_assert_eq!(a.grants_to_anyone(action), b.grants_to_anyone(action));
                for caller in [
                    "arn:aws:iam::111122223333:role/r0",
                    "arn:aws:sts::111122223333:assumed-role/r1/s",
                    "arn:aws:iam::444455556666:user/u",
                ] {
                    prop_assert_eq!(a.allows(caller, action), b.allows(caller, action));
                }
            }
        }
    }
}
