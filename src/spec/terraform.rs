//! Key specs from files: a single spec JSON, or a Terraform JSON configuration (`*.tf.json`)
//! holding `aws_kms_key` resources.

use serde_json::Value;

use super::KmsKeySpec;
use crate::validation::{ErrorCode, FieldPath, ValidationError, ValidationErrors};

/// One key described by a file: its logical name and its spec.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NamedSpec {
    /// The logical name (the resource name in a Terraform configuration).
    pub name: String,
    /// The spec.
    pub spec: KmsKeySpec,
}

impl NamedSpec {
    /// A spec with its logical name.
    pub fn new(name: impl Into<String>, spec: KmsKeySpec) -> Self {
        Self {
            name: name.into(),
            spec,
        }
    }
}

/// Reads every `aws_kms_key` resource of a Terraform JSON configuration
/// (`{"resource": {"aws_kms_key": {"NAME": {...}}}}`, or `resource` as a list of such objects).
/// Other resource types are ignored. Terraform's escape `$${` stands for a literal `${`; an
/// interpolation `${...}` cannot be evaluated here and is an error naming the attribute.
///
/// ```
/// let keys = kms_key::spec::terraform::from_terraform_json(
///     r#"{"resource": {"aws_kms_key": {"a": {"description": "KMS key 1", "deletion_window_in_days": 10}}}}"#,
/// )?;
/// assert_eq!(keys[0].name, "a");
/// # Ok::<(), kms_key::ValidationErrors>(())
/// ```
///
/// # Errors
/// Every problem of every key, with paths such as `resource.aws_kms_key.a.key_usage`.
pub fn from_terraform_json(text: &str) -> Result<Vec<NamedSpec>, ValidationErrors> {
    let root: Value = serde_json::from_str(text).map_err(|e| ValidationErrors::json_syntax(&e))?;
    let resource_path = FieldPath::new("resource");
    let blocks: Vec<&Value> = match root.get("resource") {
        None => {
            return Err(ValidationErrors::single(
                resource_path,
                ErrorCode::InvalidType,
                "a Terraform JSON configuration needs a `resource` object holding `aws_kms_key` resources",
            ));
        }
        Some(Value::Array(list)) => list.iter().collect(),
        Some(v) => vec![v],
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for block in blocks {
        let Some(keys) = block.get("aws_kms_key") else {
            continue;
        };
        let Some(keys) = keys.as_object() else {
            errors.push(ValidationError::new(
                resource_path.field("aws_kms_key"),
                ErrorCode::InvalidType,
                "must be an object of resource names to arguments",
            ));
            continue;
        };
        for (name, body) in keys {
            let path = resource_path.field("aws_kms_key").field(name);
            let mut body = body.clone();
            let before = errors.len();
            unescape_interpolations(&mut body, &path, &mut errors);
            if errors.len() > before {
                continue;
            }
            match KmsKeySpec::from_json_value_at(&body, &path) {
                Ok(spec) => out.push(NamedSpec {
                    name: name.clone(),
                    spec,
                }),
                Err(e) => errors.extend(e),
            }
        }
    }
    if let Some(e) = ValidationErrors::from_vec(errors) {
        return Err(e);
    }
    if out.is_empty() {
        return Err(ValidationErrors::single(
            resource_path.field("aws_kms_key"),
            ErrorCode::InvalidType,
            "the configuration has no aws_kms_key resource",
        ));
    }
    Ok(out)
}

/// Whether a JSON document looks like a Terraform configuration rather than a single spec.
pub fn is_terraform_json(value: &Value) -> bool {
    value.get("resource").is_some()
}

/// Replaces `$${` by `${` in every string; reports every real `${...}` interpolation.
fn unescape_interpolations(v: &mut Value, path: &FieldPath, errors: &mut Vec<ValidationError>) {
    match v {
        Value::String(s) => {
            if let Some(expr) = find_interpolation(s) {
                errors.push(ValidationError::new(
                    path.clone(),
                    ErrorCode::InvalidValue,
                    format!(
                        "the interpolation `{expr}` cannot be evaluated here: give the literal value (write `$${{` for a literal `${{`)"
                    ),
                ));
            } else if s.contains("$${") {
                *s = s.replace("$${", "${");
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                unescape_interpolations(item, &path.index(i), errors);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                unescape_interpolations(item, &path.field(k), errors);
            }
        }
        _ => {}
    }
}

/// The first `${...}` not escaped as `$${...}`.
fn find_interpolation(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'$' && bytes[i + 1] == b'$' && bytes.get(i + 2) == Some(&b'{') {
            i += 3;
            continue;
        }
        if bytes[i] == b'$' && bytes[i + 1] == b'{' {
            let end = s[i..].find('}').map_or(s.len(), |e| i + e + 1);
            return Some(&s[i..end]);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kms_key_and_ignores_other_resources() {
        let keys = from_terraform_json(
            r#"{"resource": {
                "aws_kms_key": {"a": {"description": "A"}, "b": {"key_spec": "HMAC_256", "key_usage": "GENERATE_VERIFY_MAC"}},
                "aws_s3_bucket": {"x": {"bucket": "${var.name}"}}
            }}"#,
        )
        .unwrap();
        let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn interpolation_is_an_error_naming_the_attribute() {
        let e = from_terraform_json(
            r#"{"resource": {"aws_kms_key": {"a": {"description": "${var.d}"}}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.errors()[0].field().as_str(),
            "resource.aws_kms_key.a.description"
        );
        assert_eq!(e.errors()[0].code(), ErrorCode::InvalidValue);
        assert!(
            e.errors()[0]
                .message()
                .starts_with("the interpolation `${var.d}` cannot be evaluated here")
        );
    }

    #[test]
    fn escaped_dollar_brace_is_literal() {
        let keys = from_terraform_json(
            r#"{"resource": {"aws_kms_key": {"a": {"description": "user $${aws:username}"}}}}"#,
        )
        .unwrap();
        assert_eq!(keys[0].spec.description(), Some("user ${aws:username}"));
    }

    #[test]
    fn rule_errors_carry_the_resource_path() {
        let e = from_terraform_json(
            r#"{"resource": [{"aws_kms_key": {"k": {"deletion_window_in_days": 3}}}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.errors()[0].field().as_str(),
            "resource.aws_kms_key.k.deletion_window_in_days"
        );
        assert_eq!(e.errors()[0].code(), ErrorCode::DeletionWindowOutOfRange);
    }

    #[test]
    fn no_kms_key_is_an_error() {
        let e = from_terraform_json(r#"{"resource": {"aws_s3_bucket": {"x": {}}}}"#).unwrap_err();
        assert_eq!(e.errors()[0].field().as_str(), "resource.aws_kms_key");
    }
}
