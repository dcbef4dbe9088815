//! Validation findings shared by the spec and the policy: errors that make an input invalid and
//! warnings that are returned beside a valid one.
//!
//! Every finding names the field it is about (a [`FieldPath`] such as `tags["aws:x"]` or
//! `policy.Statement[2].Principal`), carries a stable snake_case code that scripts can match on,
//! and a message a person can act on.

use std::fmt;

use serde::Serialize;

/// Where in a spec a finding points, written the way a person would address it:
/// `deletion_window_in_days`, `tags["env"]`, `policy.Statement[2].Principal`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FieldPath(String);

impl FieldPath {
    /// A path made of one top-level field name.
    pub fn new(field: impl Into<String>) -> Self {
        Self(field.into())
    }

    /// This path extended with `.name`.
    #[must_use]
    pub fn field(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    /// This path extended with `[index]`.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// This path extended with `["key"]` (the key JSON-quoted, so any key can be written).
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""));
        Self(format!("{}[{quoted}]", self.0))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for FieldPath {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for FieldPath {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

macro_rules! codes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every code, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The stable snake_case name of this code.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

codes! {
    /// The stable code of a [`ValidationError`]: what rule an input broke.
    pub enum ErrorCode {
        /// A field name that `aws_kms_key` does not have.
        UnknownField => "unknown_field",
        /// A field given twice, or under two names that mean the same field.
        DuplicateField => "duplicate_field",
        /// A spec file that is not valid JSON.
        JsonSyntax => "json_syntax",
        /// A value of the wrong JSON type (a string where a number belongs, ...).
        InvalidType => "invalid_type",
        /// A value outside a closed set (key spec, key usage, ...).
        InvalidValue => "invalid_value",
        /// `key_spec` and `customer_master_key_spec` both set, to different values.
        ConflictingFields => "conflicting_fields",
        /// A key spec other than SYMMETRIC_DEFAULT without a key usage.
        KeyUsageRequired => "key_usage_required",
        /// A key usage that the key spec does not allow.
        KeyUsageIncompatible => "key_usage_incompatible",
        /// `deletion_window_in_days` outside 7..=30.
        DeletionWindowOutOfRange => "deletion_window_out_of_range",
        /// `rotation_period_in_days` outside 90..=2560.
        RotationPeriodOutOfRange => "rotation_period_out_of_range",
        /// `rotation_period_in_days` set while `enable_key_rotation` is false.
        RotationPeriodWithoutRotation => "rotation_period_without_rotation",
        /// Rotation asked for on a key that cannot rotate (not SYMMETRIC_DEFAULT, or in a custom key store).
        RotationUnsupported => "rotation_unsupported",
        /// A custom key store together with `multi_region = true`.
        CustomKeyStoreMultiRegion => "custom_key_store_multi_region",
        /// A custom key store with a key spec other than SYMMETRIC_DEFAULT.
        CustomKeyStoreKeySpec => "custom_key_store_key_spec",
        /// A custom key store id that is empty or longer than 64 characters.
        CustomKeyStoreIdInvalid => "custom_key_store_id_invalid",
        /// An `origin` that contradicts the custom key store settings.
        OriginConflict => "origin_conflict",
        /// `xks_key_id` without `custom_key_store_id`.
        XksKeyIdWithoutCustomKeyStore => "xks_key_id_without_custom_key_store",
        /// An `xks_key_id` that is empty, too long or has characters AWS refuses.
        XksKeyIdInvalid => "xks_key_id_invalid",
        /// A description longer than 8192 characters.
        DescriptionTooLong => "description_too_long",
        /// More than 50 tags.
        TooManyTags => "too_many_tags",
        /// A tag key that is empty or longer than 128 characters.
        TagKeyLength => "tag_key_length",
        /// A tag value longer than 256 characters.
        TagValueLength => "tag_value_length",
        /// A tag key that starts with `aws:` or is this crate's ownership tag.
        TagKeyReserved => "tag_key_reserved",
        /// A tag key or value with a character AWS does not allow.
        TagCharacters => "tag_characters",
        /// A policy that is not valid JSON.
        PolicyJsonSyntax => "policy_json_syntax",
        /// A policy larger than 32,768 bytes.
        PolicyTooLarge => "policy_too_large",
        /// A policy with a character outside tab, newline, carriage return and U+0020..=U+00FF.
        PolicyInvalidCharacter => "policy_invalid_character",
        /// A policy whose shape is not a policy document (not an object, no Statement, wrong types).
        PolicyStructure => "policy_structure",
        /// A statement whose Effect is missing or is not Allow or Deny.
        PolicyEffectInvalid => "policy_effect_invalid",
        /// A statement with neither Principal nor NotPrincipal, or one whose Principal /
        /// NotPrincipal names nobody (`{}`, or only empty lists such as `{"AWS": []}`).
        PolicyPrincipalMissing => "policy_principal_missing",
        /// A principal value KMS cannot accept: an `AWS` value that is not `"*"`, a 12-digit
        /// account id, an IAM/STS principal ARN or a unique id (`AIDA…`, `AROA…`); or an empty
        /// `Service`, `Federated` or `CanonicalUser` value.
        PolicyPrincipalInvalid => "policy_principal_invalid",
        /// A policy that would lock every principal out of PutKeyPolicy, without the bypass flag.
        PolicyLockout => "policy_lockout",
        /// A logical name that cannot be written as the ownership tag's value.
        InvalidName => "invalid_name",
        /// A key id that is none of the forms KMS takes (key id, multi-Region key id, key ARN,
        /// alias name, alias ARN).
        InvalidKeyId => "invalid_key_id",
    }
}

codes! {
    /// The stable code of a [`Warning`]: something AWS accepts but that is probably a mistake.
    pub enum WarningCode {
        /// A policy without `Version` (AWS then evaluates it as version 2008-10-17).
        PolicyVersionMissing => "policy_version_missing",
        /// A statement without Action or NotAction: it grants or denies nothing.
        PolicyStatementNoAction => "policy_statement_no_action",
        /// A statement without Resource or NotResource: it grants or denies nothing.
        PolicyStatementNoResource => "policy_statement_no_resource",
        /// An Allow to every principal (`"*"`) without a Condition.
        PolicyPublicAllow => "policy_public_allow",
        /// A key spec that exists only in the China Regions (SM2): the spec cannot know the
        /// Region, so it is valid, but CreateKey fails anywhere else.
        KeySpecChinaRegionsOnly => "key_spec_china_regions_only",
    }
}

/// One broken rule: the field, the rule's code and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}{message} [{code}]", if field.as_str().is_empty() { String::new() } else { format!("{field}: ") })]
pub struct ValidationError {
    field: FieldPath,
    code: ErrorCode,
    message: String,
}

impl ValidationError {
    /// A finding about `field`.
    pub fn new(field: impl Into<FieldPath>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &FieldPath {
        &self.field
    }

    /// The rule that was broken.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// What is wrong and how to fix it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Something AWS accepts but that probably does not do what was meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    field: FieldPath,
    code: WarningCode,
    message: String,
}

impl Warning {
    /// A warning about `field`.
    pub fn new(field: impl Into<FieldPath>, code: WarningCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The field the warning is about.
    pub fn field(&self) -> &FieldPath {
        &self.field
    }

    /// What kind of warning this is.
    pub fn code(&self) -> WarningCode {
        self.code
    }

    /// What looks wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.field, self.message, self.code)
    }
}

/// Every problem found in one input, in the order the fields were checked. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<ValidationError>);

impl ValidationErrors {
    /// Wraps a non-empty list; `None` when `errors` is empty.
    pub fn from_vec(errors: Vec<ValidationError>) -> Option<Self> {
        if errors.is_empty() {
            None
        } else {
            Some(Self(errors))
        }
    }

    /// The errors, in order.
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// The codes of the errors, in order: handy in tests and scripts.
    pub fn codes(&self) -> Vec<ErrorCode> {
        self.0.iter().map(ValidationError::code).collect()
    }

    /// The number of errors (at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a `ValidationErrors` holds at least one error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors, by value.
    pub fn into_vec(self) -> Vec<ValidationError> {
        self.0
    }
}

impl ValidationErrors {
    /// One error.
    pub fn single(
        field: impl Into<FieldPath>,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self(vec![ValidationError::new(field, code, message)])
    }

    /// A JSON text that does not parse, with its line and column.
    pub(crate) fn json_syntax(e: &serde_json::Error) -> Self {
        Self::single(
            "",
            ErrorCode::JsonSyntax,
            format!(
                "not valid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} validation error{}", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compose() {
        let p = FieldPath::new("policy")
            .field("Statement")
            .index(2)
            .field("Principal");
        assert_eq!(p.as_str(), "policy.Statement[2].Principal");
        assert_eq!(
            FieldPath::new("tags").key("aws:x").as_str(),
            r#"tags["aws:x"]"#
        );
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
        }
        let mut seen = std::collections::HashSet::new();
        for c in WarningCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
        }
    }
}
