use serde_json::json;

use super::*;
use crate::validation::{ErrorCode, WarningCode};

const ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

/// A policy of one statement built from `stmt` (a JSON object) with Version 2012-10-17.
fn one(stmt: serde_json::Value) -> String {
    json!({"Version": "2012-10-17", "Statement": [stmt]}).to_string()
}

/// A named policy text and the findings expected for it: (code, field path).
type Case<C> = (&'static str, String, Vec<(C, &'static str)>);

fn findings(text: &str) -> Vec<(ErrorCode, String)> {
    match KeyPolicy::parse(text) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .errors()
            .iter()
            .map(|e| (e.code(), e.field().to_string()))
            .collect(),
    }
}

fn warning_list(text: &str) -> Vec<(WarningCode, String)> {
    KeyPolicy::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .warnings()
        .iter()
        .map(|w| (w.code(), w.field().to_string()))
        .collect()
}

fn policy(text: &str) -> KeyPolicy {
    KeyPolicy::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn accepts_what_aws_accepts() {
    for text in [
        ROOT,
        // Statement as a single object, no Version, Id.
        r#"{"Id":"x","Statement":{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
        r#"{"Version":"2008-10-17","Statement":[]}"#,
        // Every principal type, lists and single values.
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"a b","Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/x"],"Service":"logs.amazonaws.com","Federated":["cognito-identity.amazonaws.com"],"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":["kms:Encrypt"],"Resource":["*"]}]}"#,
        // NotPrincipal, NotAction, NotResource, conditions with any operators and scalar types.
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"NotAction":"kms:Describe*","NotResource":"arn:aws:kms:us-east-1:111122223333:key/x","Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"kms:RecipientAttestation:ImageSha384":[1,2.5]},"ForAnyValue:StringLikeIfExists":{"kms:EncryptionContextKeys":["a*","b"]},"Null":{"kms:GrantConstraintType":"true"}}}]}"#,
        // Whitespace of every allowed kind and Latin-1 characters.
        "{\r\n\t\"Version\": \"2012-10-17\",\n \"Statement\": [{\"Sid\": \"caf\u{e9}\", \"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"kms:Decrypt\", \"Resource\": \"*\", \"Condition\": {\"StringEquals\": {\"kms:CallerAccount\": \"111122223333\"}}}]}\n",
    ] {
        assert_eq!(findings(text), vec![], "{text}");
    }
}

#[test]
fn structural_errors_have_exact_codes_and_paths() {
    use ErrorCode::*;
    let cases: Vec<Case<ErrorCode>> = vec![
        ("not an object", "[]".into(), vec![(PolicyStructure, "policy")]),
        ("a string", "\"x\"".into(), vec![(PolicyStructure, "policy")]),
        (
            "no statement",
            r#"{"Version":"2012-10-17"}"#.into(),
            vec![(PolicyStructure, "policy.Statement")],
        ),
        (
            "statement a string",
            r#"{"Version":"2012-10-17","Statement":"x"}"#.into(),
            vec![(PolicyStructure, "policy.Statement")],
        ),
        (
            "statement list of non-objects",
            r#"{"Version":"2012-10-17","Statement":[1,{"Effect":"Allow","Principal":"*","Action":"a","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},[]]}"#.into(),
            vec![
                (PolicyStructure, "policy.Statement[0]"),
                (PolicyStructure, "policy.Statement[2]"),
            ],
        ),
        (
            "version unknown",
            r#"{"Version":"2012-10-18","Statement":[]}"#.into(),
            vec![(InvalidValue, "policy.Version")],
        ),
        (
            "version a number",
            r#"{"Version":2012,"Statement":[]}"#.into(),
            vec![(PolicyStructure, "policy.Version")],
        ),
        (
            "id a number",
            r#"{"Version":"2012-10-17","Id":1,"Statement":[]}"#.into(),
            vec![(PolicyStructure, "policy.Id")],
        ),
        (
            "unknown top-level element",
            r#"{"Version":"2012-10-17","Statement":[],"statement":[]}"#.into(),
            vec![(PolicyStructure, "policy.statement")],
        ),
        (
            "duplicate top-level element",
            r#"{"Version":"2012-10-17","Statement":[],"Statement":[]}"#.into(),
            vec![(PolicyStructure, "policy.Statement")],
        ),
        (
            "effect missing",
            one(json!({"Principal":"*","Action":"a","Resource":"*"})),
            vec![(PolicyEffectInvalid, "policy.Statement[0].Effect")],
        ),
        (
            "effect lowercase",
            one(json!({"Effect":"allow","Principal":"*","Action":"a","Resource":"*"})),
            vec![(PolicyEffectInvalid, "policy.Statement[0].Effect")],
        ),
        (
            "effect a boolean",
            one(json!({"Effect":true,"Principal":"*","Action":"a","Resource":"*"})),
            vec![(PolicyEffectInvalid, "policy.Statement[0].Effect")],
        ),
        (
            "principal missing",
            one(json!({"Effect":"Allow","Action":"a","Resource":"*"})),
            vec![(PolicyPrincipalMissing, "policy.Statement[0]")],
        ),
        (
            "principal missing in a single-object Statement",
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"a","Resource":"*"}}"#.into(),
            vec![(PolicyPrincipalMissing, "policy.Statement")],
        ),
        (
            "principal and not principal",
            one(json!({"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"a","Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0]")],
        ),
        (
            "principal a non-star string",
            one(json!({"Effect":"Allow","Principal":"arn:aws:iam::111122223333:root","Action":"a","Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0].Principal")],
        ),
        (
            "principal a list",
            one(json!({"Effect":"Allow","Principal":["*"],"Action":"a","Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0].Principal")],
        ),
        (
            "principal unknown type",
            one(json!({"Effect":"Allow","Principal":{"aws":"*"},"Action":"a","Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0].Principal.aws")],
        ),
        (
            "principal value a number",
            one(json!({"Effect":"Allow","Principal":{"AWS":111122223333_u64},"Action":"a","Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0].Principal.AWS")],
        ),
        (
            "principal list item an object",
            one(json!({"Effect":"Allow","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:role/a",{}]},"Action":"a","Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0].NotPrincipal.AWS[1]")],
        ),
        (
            "action a number",
            one(json!({"Effect":"Allow","Principal":"*","Action":1,"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}})),
            vec![(PolicyStructure, "policy.Statement[0].Action")],
        ),
        (
            "not action item null",
            one(json!({"Effect":"Deny","Principal":"*","NotAction":["a",null],"Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0].NotAction[1]")],
        ),
        (
            "action and not action",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","NotAction":"b","Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0]")],
        ),
        (
            "resource an object",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":{"x":"y"}})),
            vec![(PolicyStructure, "policy.Statement[0].Resource")],
        ),
        (
            "resource and not resource",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","NotResource":"x"})),
            vec![(PolicyStructure, "policy.Statement[0]")],
        ),
        (
            "condition a list",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Condition":[]})),
            vec![(PolicyStructure, "policy.Statement[0].Condition")],
        ),
        (
            "condition operator a string",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Condition":{"StringEquals":"x"}})),
            vec![(PolicyStructure, "policy.Statement[0].Condition[\"StringEquals\"]")],
        ),
        (
            "condition value an object",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":{"a":"b"}}}})),
            vec![(PolicyStructure, "policy.Statement[0].Condition[\"StringEquals\"][\"kms:ViaService\"]")],
        ),
        (
            "condition value list with null",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":["a",null]}}})),
            vec![(PolicyStructure, "policy.Statement[0].Condition[\"StringEquals\"][\"kms:ViaService\"]")],
        ),
        (
            "condition key twice in two cases",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"1","KMS:calleraccount":"2"}}})),
            vec![(PolicyStructure, "policy.Statement[0].Condition[\"StringEquals\"][\"KMS:calleraccount\"]")],
        ),
        (
            "sid a number",
            one(json!({"Sid":1,"Effect":"Deny","Principal":"*","Action":"a","Resource":"*"})),
            vec![(PolicyStructure, "policy.Statement[0].Sid")],
        ),
        (
            "unknown element with a dot",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Condition.x":"b"})),
            vec![(PolicyStructure, "policy.Statement[0][\"Condition.x\"]")],
        ),
        (
            "unknown statement element",
            one(json!({"Effect":"Deny","Principal":"*","Action":"a","Resource":"*","Actions":"b"})),
            vec![(PolicyStructure, "policy.Statement[0].Actions")],
        ),
        (
            "principal an empty object",
            one(json!({"Effect":"Allow","Principal":{},"Action":"a","Resource":"*"})),
            vec![(PolicyPrincipalMissing, "policy.Statement[0].Principal")],
        ),
        (
            "principal an empty list",
            one(json!({"Effect":"Allow","Principal":{"AWS":[]},"Action":"a","Resource":"*"})),
            vec![(PolicyPrincipalMissing, "policy.Statement[0].Principal")],
        ),
        (
            "not principal of empty lists",
            one(json!({"Effect":"Deny","NotPrincipal":{"AWS":[],"Service":[]},"Action":"a","Resource":"*"})),
            vec![(PolicyPrincipalMissing, "policy.Statement[0].NotPrincipal")],
        ),
        (
            "an empty list beside a principal",
            one(json!({"Effect":"Allow","Principal":{"AWS":[],"Service":"logs.amazonaws.com"},"Action":"a","Resource":"*"})),
            vec![],
        ),
        (
            "AWS principal empty",
            one(json!({"Effect":"Allow","Principal":{"AWS":""},"Action":"a","Resource":"*"})),
            vec![(PolicyPrincipalInvalid, "policy.Statement[0].Principal.AWS")],
        ),
        (
            "AWS principals malformed in a list",
            one(json!({"Effect":"Allow","Principal":{"AWS":[
                "arn:aws:iam::111122223333:root",
                "deployer",
                "arn:aws:iam:111122223333:role/x",
                "arn:aws:iam::1111:root",
                "arn:aws-cn:iam::111122223333:role/team/x",
            ]},"Action":"a","Resource":"*"})),
            vec![
                (PolicyPrincipalInvalid, "policy.Statement[0].Principal.AWS[1]"),
                (PolicyPrincipalInvalid, "policy.Statement[0].Principal.AWS[2]"),
                (PolicyPrincipalInvalid, "policy.Statement[0].Principal.AWS[3]"),
            ],
        ),
        (
            "not principal malformed",
            one(json!({"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:group/admins"},"Action":"a","Resource":"*"})),
            vec![(PolicyPrincipalInvalid, "policy.Statement[0].NotPrincipal.AWS")],
        ),
        (
            "service, federated and canonical user principals empty",
            one(json!({"Effect":"Allow","Principal":{"Service":"","Federated":[""],"CanonicalUser":"x"},"Action":"a","Resource":"*"})),
            vec![
                (PolicyPrincipalInvalid, "policy.Statement[0].Principal.Service"),
                (PolicyPrincipalInvalid, "policy.Statement[0].Principal.Federated[0]"),
            ],
        ),
    ];
    for (name, text, want) in cases {
        let want: Vec<(ErrorCode, String)> =
            want.into_iter().map(|(c, p)| (c, p.to_owned())).collect();
        assert_eq!(findings(&text), want, "{name}: {text}");
    }
}

#[test]
fn malformed_principals_are_kept_by_a_lenient_parse() {
    // What KMS returned was accepted by KMS: never refuse it, and compare it as written.
    for principal in [json!({"AWS": "deployer"}), json!({"AWS": []}), json!({})] {
        let text =
            one(json!({"Effect":"Allow","Principal":principal,"Action":"kms:*","Resource":"*"}));
        assert!(KeyPolicy::parse(&text).is_err(), "{text}");
        let observed = KeyPolicy::parse_observed(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(observed.as_str(), text);
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    // Three statements, each broken differently, plus a bad Version and an invalid character.
    let text = "{\"Version\":\"1\",\"Statement\":[\
        {\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"},\
        {\"Sid\":\"ok\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":true}}},\
        {\"Sid\":\"\u{2713}\",\"Effect\":\"Permit\",\"Principal\":{\"AWS\":[1]},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
    use ErrorCode::*;
    assert_eq!(
        findings(text),
        vec![
            (PolicyInvalidCharacter, "policy".to_owned()),
            (InvalidValue, "policy.Version".to_owned()),
            (PolicyPrincipalMissing, "policy.Statement[0]".to_owned()),
            (PolicyEffectInvalid, "policy.Statement[2].Effect".to_owned()),
            (
                PolicyStructure,
                "policy.Statement[2].Principal.AWS[0]".to_owned()
            ),
        ]
    );
}

#[test]
fn text_errors_come_with_structure_errors_but_syntax_stops_there() {
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{}","Effect":"Allow","Action":"a","Resource":"*"}}]}}"#,
        "x".repeat(MAX_POLICY_BYTES)
    );
    assert_eq!(
        findings(&big),
        vec![
            (ErrorCode::PolicyTooLarge, "policy".to_owned()),
            (
                ErrorCode::PolicyPrincipalMissing,
                "policy.Statement[0]".to_owned()
            ),
        ]
    );
    let err =
        KeyPolicy::parse("{\"Version\": \"2012-10-17\",\n\"Statement\": [\u{201c}x\u{201d}]}")
            .unwrap_err();
    let got: Vec<_> = err
        .errors()
        .iter()
        .map(|e| (e.code(), e.message().to_owned()))
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, ErrorCode::PolicyInvalidCharacter);
    assert!(
        got[0].1.contains("U+201C") && got[0].1.contains("line 2, column 15"),
        "{}",
        got[0].1
    );
    assert_eq!(got[2].0, ErrorCode::PolicyJsonSyntax);
    assert!(got[2].1.ends_with("at line 2, column 15"), "{}", got[2].1);
}

#[test]
fn json_syntax_errors_report_line_and_column() {
    for (text, at) in [
        ("", "line 1, column 0"),
        ("{", "line 1, column 1"),
        ("{\"Statement\": [}\n", "line 1, column 16"),
        (
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}\n,",
            "line 5, column 1",
        ),
        ("{\"a\":1,}", "line 1, column 8"),
    ] {
        let err = KeyPolicy::parse(text).unwrap_err();
        assert_eq!(err.codes(), vec![ErrorCode::PolicyJsonSyntax], "{text:?}");
        assert_eq!(err.errors()[0].field().as_str(), "policy");
        let msg = err.errors()[0].message();
        assert!(msg.ends_with(at), "{text:?}: {msg}");
    }
}

#[test]
fn lint_warnings_table() {
    use WarningCode::*;
    let cases: Vec<Case<WarningCode>> = vec![
        ("clean", ROOT.to_owned(), vec![]),
        (
            "no version",
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}]}"#.to_owned(),
            vec![(PolicyVersionMissing, "policy.Version")],
        ),
        (
            "no action, no resource",
            one(json!({"Effect":"Allow","Principal":{"AWS":"111122223333"}})),
            vec![
                (PolicyStatementNoAction, "policy.Statement[0]"),
                (PolicyStatementNoResource, "policy.Statement[0]"),
            ],
        ),
        (
            "not action and not resource count",
            one(json!({"Effect":"Deny","Principal":"*","NotAction":"kms:Describe*","NotResource":"x"})),
            vec![],
        ),
        (
            "public allow, star",
            one(json!({"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"})),
            vec![(PolicyPublicAllow, "policy.Statement[0]")],
        ),
        (
            "public allow, AWS star in a list",
            one(json!({"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"kms:Decrypt","Resource":"*"})),
            vec![(PolicyPublicAllow, "policy.Statement[0]")],
        ),
        (
            "public allow with an empty condition",
            one(json!({"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*","Condition":{}})),
            vec![(PolicyPublicAllow, "policy.Statement[0]")],
        ),
        (
            "allow with not principal",
            one(json!({"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/x"},"Action":"kms:Decrypt","Resource":"*"})),
            vec![(PolicyPublicAllow, "policy.Statement[0]")],
        ),
        (
            "star with a condition",
            one(json!({"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}})),
            vec![],
        ),
        (
            "deny to star",
            one(json!({"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"})),
            vec![],
        ),
        (
            "service star is not public AWS",
            one(json!({"Effect":"Allow","Principal":{"Service":"*"},"Action":"kms:Decrypt","Resource":"*"})),
            vec![],
        ),
        (
            "single statement object path",
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"a"}}"#.to_owned(),
            vec![
                (PolicyStatementNoResource, "policy.Statement"),
                (PolicyPublicAllow, "policy.Statement"),
            ],
        ),
        (
            "indices as written, not sorted",
            json!({"Version":"2012-10-17","Statement":[
                {"Sid":"z","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
                {"Sid":"a","Effect":"Allow","Principal":{"AWS":"111122223333"},"Resource":"*"},
            ]}).to_string(),
            vec![(PolicyStatementNoAction, "policy.Statement[1]")],
        ),
    ];
    for (name, text, want) in cases {
        let want: Vec<(WarningCode, String)> =
            want.into_iter().map(|(c, p)| (c, p.to_owned())).collect();
        assert_eq!(warning_list(&text), want, "{name}: {text}");
    }
}

/// Pairs of policies and whether they are equivalent.
fn equivalence_cases() -> Vec<(&'static str, String, String, bool)> {
    let s = |v: serde_json::Value| one(v);
    let base = json!({"Sid":"S","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/a"},"Action":"kms:Decrypt","Resource":"*"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        one(b)
    };
    vec![
        ("identical", s(base.clone()), s(base.clone()), true),
        (
            "format and key order",
            s(base.clone()),
            "{\n    \"Statement\": [ {\"Resource\": \"*\", \"Action\": \"kms:Decrypt\",\n \"Principal\": {\"AWS\": \"arn:aws:iam::111122223333:role/a\"}, \"Effect\": \"Allow\", \"Sid\": \"S\"} ],\n    \"Version\": \"2012-10-17\"\n}\n".to_owned(),
            true,
        ),
        ("action one-element list", s(base.clone()), with("Action", json!(["kms:Decrypt"])), true),
        ("action case", s(base.clone()), with("Action", json!("KMS:decrypt")), true),
        ("action duplicates", s(base.clone()), with("Action", json!(["kms:Decrypt", "kms:decrypt"])), true),
        ("action differs", s(base.clone()), with("Action", json!("kms:Encrypt")), false),
        ("action extra", s(base.clone()), with("Action", json!(["kms:Decrypt", "kms:Encrypt"])), false),
        ("action vs not action", s(base.clone()), {
            let mut b = base.clone();
            b.as_object_mut().unwrap().remove("Action");
            b["NotAction"] = json!("kms:Decrypt");
            one(b)
        }, false),
        ("resource list", s(base.clone()), with("Resource", json!(["*"])), true),
        ("resource case matters", with("Resource", json!("arn:aws:kms:x")), with("Resource", json!("arn:aws:KMS:x")), false),
        ("principal list", s(base.clone()), with("Principal", json!({"AWS": ["arn:aws:iam::111122223333:role/a"]})), true),
        (
            "principal order",
            with("Principal", json!({"AWS": ["arn:aws:iam::111122223333:role/a", "arn:aws:iam::111122223333:role/b"]})),
            with("Principal", json!({"AWS": ["arn:aws:iam::111122223333:role/b", "arn:aws:iam::111122223333:role/a"]})),
            true,
        ),
        ("principal case matters", s(base.clone()), with("Principal", json!({"AWS": "arn:aws:iam::111122223333:role/A"})), false),
        ("account id vs root arn", with("Principal", json!({"AWS": "111122223333"})), with("Principal", json!({"AWS": "arn:aws:iam::111122223333:root"})), true),
        ("root arn other account", with("Principal", json!({"AWS": "111122223333"})), with("Principal", json!({"AWS": "arn:aws:iam::444455556666:root"})), false),
        ("star vs AWS star", with("Principal", json!("*")), with("Principal", json!({"AWS": "*"})), true),
        ("star vs AWS star list", with("Principal", json!("*")), with("Principal", json!({"AWS": ["*"]})), true),
        ("star vs service star", with("Principal", json!("*")), with("Principal", json!({"Service": "*"})), false),
        ("unique id vs arn", with("Principal", json!({"AWS": "AROAEXAMPLEROLEID1234"})), s(base.clone()), false),
        ("principal vs not principal", s(base.clone()), {
            let mut b = base.clone();
            let p = b.as_object_mut().unwrap().remove("Principal").unwrap();
            b["NotPrincipal"] = p;
            one(b)
        }, false),
        ("principal types are separate", with("Principal", json!({"AWS": "111122223333"})), with("Principal", json!({"Service": "111122223333"})), false),
        ("sid differs", s(base.clone()), with("Sid", json!("T")), false),
        ("sid missing", s(base.clone()), {
            let mut b = base.clone();
            b.as_object_mut().unwrap().remove("Sid");
            one(b)
        }, false),
        ("effect differs", s(base.clone()), with("Effect", json!("Deny")), false),
        (
            "condition values as strings",
            with("Condition", json!({"Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"x:n": 1}})),
            with("Condition", json!({"Bool": {"aws:SecureTransport": ["true"]}, "NumericLessThan": {"x:n": "1"}})),
            true,
        ),
        (
            "condition key case",
            with("Condition", json!({"StringEquals": {"kms:CallerAccount": "111122223333"}})),
            with("Condition", json!({"StringEquals": {"KMS:calleraccount": "111122223333"}})),
            true,
        ),
        (
            "condition operator case matters",
            with("Condition", json!({"StringEquals": {"kms:CallerAccount": "111122223333"}})),
            with("Condition", json!({"stringequals": {"kms:CallerAccount": "111122223333"}})),
            false,
        ),
        (
            "condition value case matters",
            with("Condition", json!({"StringEquals": {"kms:ViaService": "s3.amazonaws.com"}})),
            with("Condition", json!({"StringEquals": {"kms:ViaService": "S3.amazonaws.com"}})),
            false,
        ),
        (
            "condition value order and duplicates",
            with("Condition", json!({"StringEquals": {"kms:ViaService": ["a", "b", "a"]}})),
            with("Condition", json!({"StringEquals": {"kms:ViaService": ["b", "a"]}})),
            true,
        ),
        (
            "condition value differs",
            with("Condition", json!({"StringEquals": {"kms:ViaService": ["a", "b"]}})),
            with("Condition", json!({"StringEquals": {"kms:ViaService": ["a", "c"]}})),
            false,
        ),
        (
            "condition moved to another operator",
            with("Condition", json!({"StringEquals": {"k": "a"}, "StringLike": {"l": "b"}})),
            with("Condition", json!({"StringEquals": {"l": "b"}, "StringLike": {"k": "a"}})),
            false,
        ),
        ("empty condition", s(base.clone()), with("Condition", json!({})), true),
        ("empty operator", s(base.clone()), with("Condition", json!({"StringEquals": {}})), true),
        (
            "statement order and single object",
            json!({"Version":"2012-10-17","Statement":[base.clone(), {"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}).to_string(),
            json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}, base.clone()]}).to_string(),
            true,
        ),
        (
            "single object vs list",
            json!({"Version":"2012-10-17","Statement":base.clone()}).to_string(),
            s(base.clone()),
            true,
        ),
        (
            "duplicate statement",
            json!({"Version":"2012-10-17","Statement":[base.clone(), base.clone()]}).to_string(),
            s(base.clone()),
            true,
        ),
        (
            "version missing is not 2012-10-17",
            json!({"Statement":[base.clone()]}).to_string(),
            s(base.clone()),
            false,
        ),
        (
            "version differs",
            json!({"Version":"2008-10-17","Statement":[base.clone()]}).to_string(),
            s(base.clone()),
            false,
        ),
        (
            "id differs",
            json!({"Version":"2012-10-17","Id":"a","Statement":[base.clone()]}).to_string(),
            json!({"Version":"2012-10-17","Id":"b","Statement":[base.clone()]}).to_string(),
            false,
        ),
        (
            "id missing",
            json!({"Version":"2012-10-17","Id":"a","Statement":[base.clone()]}).to_string(),
            s(base.clone()),
            false,
        ),
        (
            "escapes do not matter",
            s(base.clone()),
            s(base.clone()).replace("\"S\"", "\"\\u0053\""),
            true,
        ),
    ]
}

#[test]
fn equivalence_table() {
    for (name, a, b, want) in equivalence_cases() {
        let (pa, pb) = (policy(&a), policy(&b));
        assert_eq!(pa.equivalent(&pb), want, "{name}:\n{a}\n{b}");
        assert_eq!(pb.equivalent(&pa), want, "{name} (reversed)");
        assert_eq!(pa == pb, want, "{name} (==)");
        assert_eq!(
            pa.canonical() == pb.canonical(),
            want,
            "{name}: canonical\n{}\n{}",
            pa.canonical(),
            pb.canonical()
        );
        assert_eq!(
            pa.canonical_pretty() == pb.canonical_pretty(),
            want,
            "{name}: canonical_pretty"
        );
    }
}

#[test]
fn canonical_form_is_documented_shape() {
    let p = policy(
        r#"{"Version":"2012-10-17","Id":"k","Statement":[
            {"Sid":"b","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:role/Z","arn:aws:iam::111122223333:role/A"]},
             "Action":["kms:Encrypt","KMS:Decrypt"],"Resource":["*"],
             "Condition":{"StringEquals":{"kms:ViaService":["s3.x","ec2.x"],"KMS:CallerAccount":111122223333},"Bool":{"aws:SecureTransport":true}}},
            {"Sid":"a","Effect":"Deny","Principal":{"AWS":"*"},"NotAction":"kms:Describe*","Resource":"*"}]}"#,
    );
    assert_eq!(
        p.canonical(),
        r#"{"Id":"k","Statement":[{"Effect":"Deny","NotAction":"kms:describe*","Principal":"*","Resource":"*","Sid":"a"},{"Action":["kms:decrypt","kms:encrypt"],"Condition":{"Bool":{"aws:securetransport":"true"},"StringEquals":{"kms:calleraccount":"111122223333","kms:viaservice":["ec2.x","s3.x"]}},"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/A","arn:aws:iam::111122223333:role/Z"]},"Resource":"*","Sid":"b"}],"Version":"2012-10-17"}"#
    );
    let pretty = p.canonical_pretty();
    assert!(
        pretty.starts_with(
            "{\n  \"Id\": \"k\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Deny\","
        ),
        "{pretty}"
    );
    // The canonical form is a valid policy, equivalent to the original, and a fixed point.
    let again = policy(&p.canonical());
    assert_eq!(again, p);
    assert_eq!(again.canonical(), p.canonical());
    assert_eq!(policy(&pretty).canonical(), p.canonical());
}

#[test]
fn as_str_is_the_text_as_given() {
    let text = "{ \"Version\":\"2012-10-17\",\n \"Statement\": {\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"true\"}}}}\n";
    let p = policy(text);
    assert_eq!(p.as_str(), text);
    assert_eq!(p.to_string(), text);
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        serde_json::to_string(text).unwrap()
    );
}

#[test]
fn from_value_checks_its_compact_serialization() {
    let v = json!({"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]});
    let p = KeyPolicy::from_value(&v).unwrap();
    assert_eq!(p.as_str(), v.to_string());
    assert_eq!(p, policy(ROOT));

    let bad = json!({"Version":"2012-10-17","Statement":[{"Effect":"Alow","Action":"kms:*","Resource":"*"}]});
    let err = KeyPolicy::from_value(&bad).unwrap_err();
    assert_eq!(
        err.codes(),
        vec![
            ErrorCode::PolicyEffectInvalid,
            ErrorCode::PolicyPrincipalMissing
        ]
    );
    let big = json!({"Version":"2012-10-17","Id":"x".repeat(MAX_POLICY_BYTES),"Statement":[]});
    assert_eq!(
        KeyPolicy::from_value(&big).unwrap_err().codes(),
        vec![ErrorCode::PolicyTooLarge]
    );
    assert_eq!(
        KeyPolicy::from_value(&json!("{}")).unwrap_err().codes(),
        vec![ErrorCode::PolicyStructure]
    );
}

#[test]
fn default_policy_is_aws_text() {
    let p = KeyPolicy::default_for_account("aws", "111122223333");
    assert_eq!(
        p.as_str(),
        r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#
    );
    assert!(KeyPolicy::parse(p.as_str()).is_ok());
    assert!(p.warnings().is_empty());
    assert!(p.grants_to_anyone("kms:PutKeyPolicy"));
    assert!(p.allows(
        "arn:aws:iam::111122223333:role/anything",
        "kms:PutKeyPolicy"
    ));
    assert!(!p.allows(
        "arn:aws:iam::444455556666:role/anything",
        "kms:PutKeyPolicy"
    ));
    let cn = KeyPolicy::default_for_account("aws-cn", "111122223333");
    assert!(cn.as_str().contains("arn:aws-cn:iam::111122223333:root"));
    assert_eq!(
        cn.aws_principals(),
        vec!["arn:aws-cn:iam::111122223333:root"]
    );
    // Odd input still makes a policy rather than a panic.
    let odd = KeyPolicy::default_for_account("a\"b", "1\\2");
    assert_eq!(odd.aws_principals(), vec!["arn:a\"b:iam::1\\2:root"]);
}

#[test]
fn observed_parse_is_lenient_but_still_compares_everything() {
    // Over the size limit, odd characters, no Effect: KMS returned it, so take it.
    let big = format!(
        r#"{{"Statement":[{{"Sid":"{}\u2713","Principal":"*","Action":"kms:*","Resource":"*"}}]}}"#,
        "x".repeat(MAX_POLICY_BYTES)
    );
    assert!(KeyPolicy::parse(&big).is_err());
    assert!(KeyPolicy::parse_observed(&big).is_ok());

    // Oddly shaped elements are kept and compared.
    let odd = |action: &str| {
        KeyPolicy::parse_observed(&format!(
            r#"{{"Version":"2012-10-17","Extra":{{"b":1,"a":[2,1]}},"Statement":[{{"Effect":"Maybe","Principal":{{"AWS":{{"x":1}}}},"Action":{action},"Resource":5,"Condition":{{"StringEquals":"x"}},"Unknown":null}}]}}"#
        ))
        .unwrap()
    };
    assert_eq!(odd("[\"kms:A\",\"kms:b\"]"), odd("[\"KMS:b\",\"kms:a\"]"));
    assert_ne!(odd("[\"kms:A\"]"), odd("[\"kms:B\"]"));
    assert_ne!(odd("{\"a\":1}"), odd("{\"a\":2}"));
    assert_eq!(odd("{\"a\":1}"), odd("{\"a\":\"1\"}"));
    let p = odd("1");
    assert_eq!(
        p.canonical(),
        r#"{"Extra":{"a":["1","2"],"b":"1"},"Statement":[{"Action":"1","Condition":{"StringEquals":"x"},"Effect":"Maybe","Principal":{"AWS":{"x":"1"}},"Resource":"5","Unknown":null}],"Version":"2012-10-17"}"#
    );

    // Only the bare minimum is required.
    for (text, path) in [
        ("x", "policy"),
        ("[]", "policy"),
        ("{}", "policy.Statement"),
        (r#"{"Statement":1}"#, "policy.Statement"),
        (r#"{"Statement":[{},1]}"#, "policy.Statement[1]"),
    ] {
        let err = KeyPolicy::parse_observed(text).unwrap_err();
        assert_eq!(err.len(), 1, "{text}");
        assert_eq!(err.errors()[0].field().as_str(), path, "{text}");
    }
}

#[test]
fn grants_to_anyone_table() {
    let stmt = |effect: &str, action: serde_json::Value, not: bool| {
        let key = if not { "NotAction" } else { "Action" };
        one(
            json!({"Effect": effect, "Principal": {"AWS": "arn:aws:iam::111122223333:role/key-admin"}, key: action, "Resource": "*"}),
        )
    };
    for (name, text, action, want) in [
        (
            "kms:*",
            stmt("Allow", json!("kms:*"), false),
            "kms:PutKeyPolicy",
            true,
        ),
        (
            "star",
            stmt("Allow", json!("*"), false),
            "kms:PutKeyPolicy",
            true,
        ),
        (
            "prefix",
            stmt("Allow", json!("kms:Put*"), false),
            "kms:PutKeyPolicy",
            true,
        ),
        (
            "exact other case",
            stmt("Allow", json!("KMS:PUTKEYPOLICY"), false),
            "kms:PutKeyPolicy",
            true,
        ),
        (
            "question mark",
            stmt("Allow", json!("kms:PutKeyPolic?"), false),
            "kms:PutKeyPolicy",
            true,
        ),
        (
            "other action",
            stmt("Allow", json!(["kms:Encrypt", "kms:Decrypt"]), false),
            "kms:PutKeyPolicy",
            false,
        ),
        (
            "deny",
            stmt("Deny", json!("kms:*"), false),
            "kms:PutKeyPolicy",
            false,
        ),
        (
            "not action excludes it",
            stmt("Allow", json!("kms:Put*"), true),
            "kms:PutKeyPolicy",
            false,
        ),
        (
            "not action includes it",
            stmt("Allow", json!("kms:Encrypt"), true),
            "kms:PutKeyPolicy",
            true,
        ),
        (
            "no action",
            one(json!({"Effect":"Allow","Principal":"*","Resource":"*"})),
            "kms:PutKeyPolicy",
            false,
        ),
        (
            "no resource",
            one(json!({"Effect":"Allow","Principal":"*","Action":"kms:*"})),
            "kms:PutKeyPolicy",
            false,
        ),
        (
            "conditions are ignored",
            one(
                json!({"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}),
            ),
            "kms:PutKeyPolicy",
            true,
        ),
        (
            "no statements",
            r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(),
            "kms:PutKeyPolicy",
            false,
        ),
    ] {
        assert_eq!(policy(&text).grants_to_anyone(action), want, "{name}");
    }
    // A principal that names nobody is refused by a strict parse; read leniently (as from
    // KMS), it grants nothing.
    let empty =
        one(json!({"Effect":"Allow","Principal":{"AWS":[]},"Action":"kms:*","Resource":"*"}));
    assert_eq!(
        KeyPolicy::parse(&empty).unwrap_err().codes(),
        [ErrorCode::PolicyPrincipalMissing]
    );
    let lenient = KeyPolicy::parse_observed(&empty).unwrap();
    assert!(!lenient.grants_to_anyone("kms:PutKeyPolicy"));
}

#[test]
fn denies_to_everyone_and_lockout_table() {
    let root = json!({"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"});
    let deny = |extra: serde_json::Value| {
        let mut d =
            json!({"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                d.as_object_mut().unwrap().remove(k);
            } else {
                d[k] = v.clone();
            }
        }
        d
    };
    let doc = |stmts: Vec<serde_json::Value>| {
        json!({"Version":"2012-10-17","Statement":stmts}).to_string()
    };
    // (name, policy, denies kms:PutKeyPolicy to everyone, locks everyone out)
    for (name, text, denies, locked) in [
        ("root only", doc(vec![root.clone()]), false, false),
        (
            "nothing granted",
            doc(vec![deny(json!({"Effect":"Allow","Action":"kms:Decrypt"}))]),
            false,
            true,
        ),
        (
            "deny to star",
            doc(vec![root.clone(), deny(json!({}))]),
            true,
            true,
        ),
        (
            "deny to AWS star",
            doc(vec![root.clone(), deny(json!({"Principal":{"AWS":"*"}}))]),
            true,
            true,
        ),
        (
            "deny via wildcard",
            doc(vec![root.clone(), deny(json!({"Action":"kms:Put*"}))]),
            true,
            true,
        ),
        (
            "deny via NotAction",
            doc(vec![
                root.clone(),
                deny(json!({"Action":null,"NotAction":"kms:Encrypt"})),
            ]),
            true,
            true,
        ),
        (
            "deny NotAction sparing it",
            doc(vec![
                root.clone(),
                deny(json!({"Action":null,"NotAction":"kms:*"})),
            ]),
            false,
            false,
        ),
        (
            "conditional deny",
            doc(vec![
                root.clone(),
                deny(json!({"Condition":{"Bool":{"aws:SecureTransport":"false"}}})),
            ]),
            false,
            false,
        ),
        (
            "deny to one role",
            doc(vec![
                root.clone(),
                deny(json!({"Principal":{"AWS":"arn:aws:iam::111122223333:role/app"}})),
            ]),
            false,
            false,
        ),
        (
            "deny with NotPrincipal",
            doc(vec![
                root.clone(),
                deny(json!({"Principal":null,"NotPrincipal":{"AWS":"111122223333"}})),
            ]),
            false,
            false,
        ),
        (
            "deny on another resource",
            doc(vec![
                root.clone(),
                deny(json!({"Resource":"arn:aws:kms:us-east-1:111122223333:key/other"})),
            ]),
            false,
            false,
        ),
        (
            "deny with NotResource",
            doc(vec![
                root.clone(),
                deny(
                    json!({"Resource":null,"NotResource":"arn:aws:kms:us-east-1:111122223333:key/other"}),
                ),
            ]),
            false,
            false,
        ),
        (
            "deny other action",
            doc(vec![
                root.clone(),
                deny(json!({"Action":"kms:ScheduleKeyDeletion"})),
            ]),
            false,
            false,
        ),
    ] {
        let p = policy(&text);
        assert_eq!(p.denies_to_everyone("kms:PutKeyPolicy"), denies, "{name}");
        assert_eq!(p.locks_out_everyone(), locked, "{name}");
    }
}

#[test]
fn allows_table() {
    const DEPLOYER: &str = "arn:aws:iam::111122223333:role/deployer";
    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/deployer/ci";
    let allow = |principal: serde_json::Value| json!({"Effect":"Allow","Principal":principal,"Action":"kms:*","Resource":"*"});
    let deny = |extra: serde_json::Value| {
        let mut d =
            json!({"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"});
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    };
    let doc = |stmts: Vec<serde_json::Value>| {
        json!({"Version":"2012-10-17","Statement":stmts}).to_string()
    };
    for (name, text, caller, want) in [
        ("root allows the account", ROOT.to_owned(), DEPLOYER, true),
        ("root allows a session", ROOT.to_owned(), SESSION, true),
        (
            "root, other account",
            ROOT.to_owned(),
            "arn:aws:iam::444455556666:role/deployer",
            false,
        ),
        (
            "bare account id",
            doc(vec![allow(json!({"AWS":"111122223333"}))]),
            DEPLOYER,
            true,
        ),
        ("star", doc(vec![allow(json!("*"))]), DEPLOYER, true),
        (
            "exact role",
            doc(vec![allow(json!({"AWS":DEPLOYER}))]),
            DEPLOYER,
            true,
        ),
        (
            "other role",
            doc(vec![allow(
                json!({"AWS":"arn:aws:iam::111122223333:role/key-admin"}),
            )]),
            DEPLOYER,
            false,
        ),
        (
            "session of the role",
            doc(vec![allow(json!({"AWS":DEPLOYER}))]),
            SESSION,
            true,
        ),
        (
            "session of a role with a path",
            doc(vec![allow(
                json!({"AWS":"arn:aws:iam::111122223333:role/ci/deployer"}),
            )]),
            SESSION,
            true,
        ),
        (
            "unconditional deny wins",
            doc(vec![allow(json!("*")), deny(json!({}))]),
            DEPLOYER,
            false,
        ),
        (
            "conditional deny is assumed not to hold",
            doc(vec![
                allow(json!("*")),
                deny(json!({"Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}})),
            ]),
            DEPLOYER,
            true,
        ),
        (
            "conditional allow is assumed to hold",
            doc(vec![{
                let mut a = allow(json!({"AWS":DEPLOYER}));
                a["Condition"] = json!({"StringEquals":{"aws:PrincipalTag/team":"platform"}});
                a
            }]),
            DEPLOYER,
            true,
        ),
        (
            "deny of another action",
            doc(vec![
                allow(json!("*")),
                deny(json!({"Action":"kms:Decrypt"})),
            ]),
            DEPLOYER,
            true,
        ),
        (
            "deny with not principal excluding the caller",
            doc(vec![allow(json!("*")), {
                let mut d = deny(json!({}));
                d.as_object_mut().unwrap().remove("Principal");
                d["NotPrincipal"] = json!({"AWS": DEPLOYER});
                d
            }]),
            DEPLOYER,
            true,
        ),
        (
            "deny with not principal not excluding the caller",
            doc(vec![allow(json!("*")), {
                let mut d = deny(json!({}));
                d.as_object_mut().unwrap().remove("Principal");
                d["NotPrincipal"] = json!({"AWS": "arn:aws:iam::111122223333:role/key-admin"});
                d
            }]),
            DEPLOYER,
            false,
        ),
        (
            "allow with not principal",
            doc(vec![{
                let mut a = allow(json!("*"));
                a.as_object_mut().unwrap().remove("Principal");
                a["NotPrincipal"] = json!({"AWS": "arn:aws:iam::111122223333:role/other"});
                a
            }]),
            DEPLOYER,
            true,
        ),
        (
            "deny with not action",
            doc(vec![allow(json!("*")), {
                let mut d = deny(json!({}));
                d.as_object_mut().unwrap().remove("Action");
                d["NotAction"] = json!("kms:Describe*");
                d
            }]),
            DEPLOYER,
            false,
        ),
        (
            "service principal does not cover a role",
            doc(vec![allow(json!({"Service":"logs.amazonaws.com"}))]),
            DEPLOYER,
            false,
        ),
    ] {
        assert_eq!(
            policy(&text).allows(caller, "kms:PutKeyPolicy"),
            want,
            "{name}"
        );
    }
}

#[test]
fn aws_principals_in_document_order_without_duplicates() {
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com","AWS":["arn:aws:iam::111122223333:role/b","111122223333"]},"Action":"kms:*","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/b"},"Action":"kms:*","Resource":"*"},
            {"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
            {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/a","*"]},"Action":"kms:Decrypt","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}
        ]}"#,
    );
    assert_eq!(
        p.aws_principals(),
        vec![
            "arn:aws:iam::111122223333:role/b",
            "111122223333",
            "*",
            "arn:aws:iam::111122223333:role/a"
        ]
    );
}

#[test]
fn hash_agrees_with_equality() {
    use std::collections::HashSet;
    let mut set = HashSet::new();
    for (_, a, b, eq) in equivalence_cases() {
        set.clear();
        set.insert(policy(&a));
        assert_eq!(set.contains(&policy(&b)), eq);
    }
}

#[test]
fn lenient_odd_spellings_normalize_like_plain_ones() {
    // Whatever the lenient parse accepts must normalize (and print) like its plain spelling,
    // so that `equivalent` and `canonical` keep agreeing.
    let base = |effect: &str, principal: &str, action: &str, condition: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S","Effect":{effect},"Principal":{principal},"Action":{action},"Resource":"*","Condition":{condition}}}]}}"#
        )
    };
    let plain = base(
        r#""Allow""#,
        r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
        r#""kms:Decrypt""#,
        r#"{"StringEquals":{"kms:CallerAccount":"111122223333"}}"#,
    );
    for odd in [
        base(
            r#"["Allow"]"#,
            r#"{"AWS":"111122223333"}"#,
            r#""kms:Decrypt""#,
            r#"{"StringEquals":{"kms:CallerAccount":111122223333}}"#,
        ),
        base(
            r#""Allow""#,
            r#"[{"AWS":["111122223333"]}]"#,
            r#"[["kms:decrypt"]]"#,
            r#"[{"StringEquals":{"kms:CallerAccount":"111122223333"}}]"#,
        ),
        base(
            r#""Allow""#,
            r#"{"AWS":[["arn:aws:iam::111122223333:root"]]}"#,
            r#""kms:Decrypt""#,
            r#"{"StringEquals":[{"kms:CallerAccount":["111122223333"]}]}"#,
        ),
    ] {
        let a = KeyPolicy::parse_observed(&plain).unwrap();
        let b = KeyPolicy::parse_observed(&odd).unwrap();
        assert_eq!(a, b, "{odd}");
        assert_eq!(a.canonical(), b.canonical(), "{odd}");
    }
    let a = KeyPolicy::parse_observed(&base(r#""Allow""#, r#"["*"]"#, "1", "{}")).unwrap();
    let b = KeyPolicy::parse_observed(&base(r#""Allow""#, r#""*""#, r#""1""#, "{}")).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.canonical(), b.canonical());
}
