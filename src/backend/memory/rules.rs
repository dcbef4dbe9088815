//! AWS's answers as data: error messages, algorithm lists, partitions, policy formatting.
//!
//! Messages follow answers recorded from real AWS where there are records; the rest follow the AWS API
//! reference's constraint wording (the "N validation errors detected" form).

use serde_json::Value;

use crate::backend::ErrorKind;
use crate::spec::{KeySpec, KeyUsage};

/// A refused call: the kind and AWS's message. Turned into a `BackendError` by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    pub(super) kind: ErrorKind,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub(super) fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    pub(super) fn not_found(arn: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("Key '{arn}' does not exist"))
    }

    pub(super) fn disabled(arn: &str) -> Self {
        Self::new(ErrorKind::Disabled, format!("{arn} is disabled."))
    }

    pub(super) fn pending_deletion(arn: &str) -> Self {
        Self::new(
            ErrorKind::InvalidState,
            format!("{arn} is pending deletion."),
        )
    }

    pub(super) fn not_pending_deletion(arn: &str) -> Self {
        Self::new(
            ErrorKind::InvalidState,
            format!("{arn} is not pending deletion."),
        )
    }

    pub(super) fn pending_import(arn: &str) -> Self {
        Self::new(ErrorKind::InvalidState, format!("{arn} is pending import."))
    }

    pub(super) fn too_many_tags() -> Self {
        Self::new(ErrorKind::Tag, "Too many tags")
    }

    pub(super) fn reserved_tag() -> Self {
        Self::new(ErrorKind::Tag, "Tags beginning with aws: are reserved")
    }

    pub(super) fn lockout() -> Self {
        Self::new(
            ErrorKind::PolicyLockout,
            "The new key policy will not allow you to update the key policy in the future.",
        )
    }

    /// AWS's answer to a statement without a principal, or with `{}` or `{"AWS": []}` (quoted
    /// in public reports of CreateKey failures: terraform-aws-modules/terraform-aws-eks#2163,
    /// aws-samples/data-mesh-datazone-cdk-cloudformation#17).
    pub(super) fn no_principal() -> Self {
        Self::new(
            ErrorKind::MalformedPolicy,
            "Policy contains a statement with no principal.",
        )
    }

    pub(super) fn invalid_principals() -> Self {
        Self::new(
            ErrorKind::InvalidPrincipals,
            "Policy contains a statement with one or more invalid principals.",
        )
    }
}

/// Collects API-level constraint violations, which AWS reports all at once in one
/// ValidationException: "2 validation errors detected: Value 'x' at 'a' failed ...; Value ...".
#[derive(Debug, Default)]
pub(super) struct ShapeErrors(Vec<String>);

impl ShapeErrors {
    pub(super) fn max_len(&mut self, value: &str, at: &str, max: usize) {
        if value.chars().count() > max {
            self.0.push(format!(
                "Value '{value}' at '{at}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ));
        }
    }

    pub(super) fn min_len(&mut self, value: &str, at: &str, min: usize) {
        if value.chars().count() < min {
            self.0.push(format!(
                "Value '{value}' at '{at}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
            ));
        }
    }

    pub(super) fn max_bytes(&mut self, value: &str, at: &str, max: usize) {
        if value.len() > max {
            self.0.push(format!(
                "Value '{value}' at '{at}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ));
        }
    }

    pub(super) fn pattern(&mut self, value: &str, at: &str, ok: bool, pattern: &str) {
        if !ok {
            self.0.push(format!(
                "Value '{value}' at '{at}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
            ));
        }
    }

    pub(super) fn range(&mut self, value: i64, at: &str, min: i64, max: i64) {
        if value < min {
            self.0.push(format!(
                "Value '{value}' at '{at}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
            ));
        } else if value > max {
            self.0.push(format!(
                "Value '{value}' at '{at}' failed to satisfy constraint: Member must have value less than or equal to {max}"
            ));
        }
    }

    pub(super) fn into_result(self) -> Result<(), Failure> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(Failure::validation(format!(
                "{n} validation error{} detected: {}",
                if n == 1 { "" } else { "s" },
                self.0.join("; ")
            ))),
        }
    }
}

/// The pattern AWS's `Policy` parameter must match (KMS API reference).
pub(super) const POLICY_PATTERN: &str = r"[\u0009\u000A\u000D\u0020-\u00FF]+";
/// The pattern tag keys and values are checked against (AWS tagging's character set).
pub(super) const TAG_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";

/// Whether every character is one the `Policy` parameter allows.
pub(super) fn policy_chars_ok(text: &str) -> bool {
    text.chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
}

/// The partition of a Region: `cn-*` is `aws-cn`, `us-gov-*` is `aws-us-gov`, the isolated
/// Regions have their own, everything else is `aws`.
pub(super) fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// The algorithm lists DescribeKey reports: (encryption, signing, MAC).
pub(super) fn algorithms(
    spec: KeySpec,
    usage: KeyUsage,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let list = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let none = Vec::new;
    match (spec, usage) {
        (KeySpec::SymmetricDefault, _) => (list(&["SYMMETRIC_DEFAULT"]), none(), none()),
        (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, KeyUsage::EncryptDecrypt) => (
            list(&["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
            none(),
            none(),
        ),
        (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, KeyUsage::SignVerify) => (
            none(),
            list(&[
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
            ]),
            none(),
        ),
        (KeySpec::EccNistP256 | KeySpec::EccSecgP256k1, KeyUsage::SignVerify) => {
            (none(), list(&["ECDSA_SHA_256"]), none())
        }
        (KeySpec::EccNistP384, KeyUsage::SignVerify) => (none(), list(&["ECDSA_SHA_384"]), none()),
        (KeySpec::EccNistP521, KeyUsage::SignVerify) => (none(), list(&["ECDSA_SHA_512"]), none()),
        (KeySpec::EccNistEdwards25519, KeyUsage::SignVerify) => (
            none(),
            list(&["ED25519_SHA_512", "ED25519_PH_SHA_512"]),
            none(),
        ),
        (KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87, KeyUsage::SignVerify) => {
            (none(), list(&["ML_DSA_SHAKE_256"]), none())
        }
        (KeySpec::Hmac224, _) => (none(), none(), list(&["HMAC_SHA_224"])),
        (KeySpec::Hmac256, _) => (none(), none(), list(&["HMAC_SHA_256"])),
        (KeySpec::Hmac384, _) => (none(), none(), list(&["HMAC_SHA_384"])),
        (KeySpec::Hmac512, _) => (none(), none(), list(&["HMAC_SHA_512"])),
        (KeySpec::Sm2, KeyUsage::EncryptDecrypt) => (list(&["SM2PKE"]), none(), none()),
        (KeySpec::Sm2, KeyUsage::SignVerify) => (none(), list(&["SM2DSA"]), none()),
        // KEY_AGREEMENT (ECDH) and ML-KEM keys have algorithm lists KeyMetadata does not carry here.
        _ => (none(), none(), none()),
    }
}

/// Formats a policy the way KMS answers GetKeyPolicy: Jackson's default pretty printer
/// (`"Key" : value`, two-space indent per object level, arrays inline as `[ a, b ]`). Real AWS
/// never hands back the submitted bytes, so neither does this backend.
pub(super) fn aws_pretty(value: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, value, 0);
    out
}

fn write_pretty(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if map.is_empty() => out.push_str("{ }"),
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('\n');
                push_indent(out, level + 1);
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(" : ");
                write_pretty(out, item, level + 1);
            }
            out.push('\n');
            push_indent(out, level);
            out.push('}');
        }
        Value::Array(items) if items.is_empty() => out.push_str("[ ]"),
        Value::Array(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_pretty(out, item, level);
            }
            out.push_str(" ]");
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn push_indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Whether `text` is a well-formed KMS key id: a lowercase UUID, or `mrk-` and 32 hex digits.
pub(super) fn is_key_id(text: &str) -> bool {
    if let Some(hex) = text.strip_prefix("mrk-") {
        return hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_matches_jackson_layout() {
        let v: Value = serde_json::from_str(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["kms:*"],"Resource":"*"}],"Empty":{},"None":[]}"#,
        )
        .unwrap();
        let text = aws_pretty(&v);
        let reparsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(reparsed, v);
        assert!(text.contains("\"Statement\" : [ {\n    \""), "{text}");
        assert!(text.contains("\"Action\" : [ \"kms:*\" ]"), "{text}");
        assert!(text.contains("\"Empty\" : { }"), "{text}");
        assert!(text.contains("\"None\" : [ ]"), "{text}");
        assert!(text.ends_with("\n}"), "{text}");
    }

    #[test]
    fn shape_errors_count_and_join() {
        let mut e = ShapeErrors::default();
        e.max_len("abc", "tags.1.member.tagKey", 2);
        e.min_len("", "tags.2.member.tagKey", 1);
        let f = e.into_result().unwrap_err();
        assert_eq!(f.kind, ErrorKind::Validation);
        assert_eq!(
            f.message,
            "2 validation errors detected: Value 'abc' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 2; Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn key_id_forms() {
        assert!(is_key_id("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(is_key_id("mrk-1234abcd12ab34cd56ef1234567890ab"));
        assert!(!is_key_id("mrk-1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(!is_key_id("not-a-key"));
        assert!(!is_key_id(""));
    }
}
