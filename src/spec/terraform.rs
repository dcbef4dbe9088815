//! Key specs from files: a single spec JSON, or a Terraform JSON configuration (`*.tf.json`)
//! holding `aws_kms_key` resources.

use std::borrow::Cow;

use serde_json::Value;

use super::KmsKeySpec;
use super::serde_impl::SpecDuplicates;
use crate::policy::json::{self, Json};
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
/// A key given twice in one JSON object is an error, never "the last one wins": `resource` or
/// `aws_kms_key` given twice in one object, a resource name given twice (also across the
/// blocks of a `resource` list: Terraform refuses duplicate resources), and every duplicate
/// [`KmsKeySpec::from_json`] reports inside a resource's arguments, each as `duplicate_field`
/// at its path (`resource.aws_kms_key.a`, `resource.aws_kms_key.a.tags["env"]`).
///
/// # Errors
/// Every problem of every key, with paths such as `resource.aws_kms_key.a.key_usage`.
pub fn from_terraform_json(text: &str) -> Result<Vec<NamedSpec>, ValidationErrors> {
    let root = json::parse(text).map_err(|e| ValidationErrors::json_syntax(&e))?;
    let resource_path = FieldPath::new("resource");
    let kms_path = resource_path.field("aws_kms_key");
    let mut errors = Vec::new();
    let root_members = match &root {
        Json::Object(members) => members.as_slice(),
        _ => &[],
    };
    if Json::duplicate_keys(root_members).contains(&"resource") {
        errors.push(duplicate(resource_path.clone(), "resource"));
    }
    let blocks: Vec<&Json<'_>> = match last(root_members, "resource") {
        None => {
            return Err(ValidationErrors::single(
                resource_path,
                ErrorCode::InvalidType,
                "a Terraform JSON configuration needs a `resource` object holding `aws_kms_key` resources",
            ));
        }
        Some(Json::Array(list)) => list.iter().collect(),
        Some(v) => vec![v],
    };
    let mut out = Vec::new();
    let mut seen_names: Vec<String> = Vec::new();
    for block in blocks {
        let block_members = match block {
            Json::Object(members) => members.as_slice(),
            _ => &[],
        };
        if Json::duplicate_keys(block_members).contains(&"aws_kms_key") {
            errors.push(duplicate(kms_path.clone(), "aws_kms_key"));
        }
        let Some(keys) = last(block_members, "aws_kms_key") else {
            continue;
        };
        let Json::Object(keys) = keys else {
            errors.push(ValidationError::new(
                kms_path.clone(),
                ErrorCode::InvalidType,
                "must be an object of resource names to arguments",
            ));
            continue;
        };
        for (name, body) in keys {
            if name == "//" {
                continue; // a Terraform JSON comment
            }
            let path = kms_path.field(name);
            if seen_names.iter().any(|n| n == name) {
                errors.push(duplicate(path, name));
                continue;
            }
            seen_names.push(name.to_string());
            let duplicates = SpecDuplicates::find(body, &path);
            match resource(name, &body.to_value(), &path, duplicates) {
                Ok(spec) => out.push(spec),
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

/// The value of the last member named `name`: the one a `Value` would keep (earlier ones are
/// reported as duplicates).
fn last<'j, 'a>(members: &'j [(Cow<'a, str>, Json<'a>)], name: &str) -> Option<&'j Json<'a>> {
    members
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `duplicate_field` for `name`, given more than once at `path`.
fn duplicate(path: FieldPath, name: &str) -> ValidationError {
    ValidationError::new(
        path,
        ErrorCode::DuplicateField,
        format!(
            "`{name}` is given more than once; JSON does not say which one counts, so give it once"
        ),
    )
}

/// Terraform meta-arguments that do not describe the key and are ignored here.
const IGNORED_META_ARGUMENTS: &[&str] = &[
    "//",
    "depends_on",
    "provider",
    "lifecycle",
    "provisioner",
    "connection",
];
/// Meta-arguments that would make one block many keys: they need Terraform to evaluate them.
const EXPANDING_META_ARGUMENTS: &[&str] = &["count", "for_each"];

/// Reads one `aws_kms_key` block, reporting every problem: interpolations, expanding
/// meta-arguments and every rule the remaining arguments break.
fn resource(
    name: &str,
    body: &Value,
    path: &FieldPath,
    duplicates: SpecDuplicates,
) -> Result<NamedSpec, ValidationErrors> {
    let mut errors = Vec::new();
    let Some(object) = body.as_object() else {
        return Err(ValidationErrors::single(
            path.clone(),
            ErrorCode::InvalidType,
            "a resource block is a JSON object of arguments",
        ));
    };
    let mut arguments = serde_json::Map::new();
    let mut unknown_fields: Vec<String> = Vec::new();
    for (key, value) in object {
        if IGNORED_META_ARGUMENTS.contains(&key.as_str()) {
            continue;
        }
        if EXPANDING_META_ARGUMENTS.contains(&key.as_str()) {
            errors.push(ValidationError::new(
                path.field(key),
                ErrorCode::InvalidValue,
                format!("`{key}` makes one block many keys and needs Terraform to evaluate it: write one aws_kms_key block per key"),
            ));
            continue;
        }
        let mut value = value.clone();
        let before = errors.len();
        unescape_interpolations(&mut value, &path.field(key), &mut errors);
        if errors.len() > before {
            // Validate the rest without it; rules that read it are skipped below.
            unknown_fields.push(key.clone());
            continue;
        }
        arguments.insert(key.clone(), value);
    }
    let interpolated: Vec<&str> = unknown_fields.iter().map(|k| canonical_field(k)).collect();
    match KmsKeySpec::from_json_value_with(&Value::Object(arguments), path, duplicates) {
        Ok(spec) if errors.is_empty() => {
            return Ok(NamedSpec {
                name: name.to_owned(),
                spec,
            });
        }
        Ok(_) => {}
        Err(rule_errors) => errors.extend(rule_errors.into_iter().filter(|e| {
            // A rule that reads an argument whose value is unknown could report a false problem.
            !reads_any(e, path, &interpolated)
        })),
    }
    Err(ValidationErrors::from_vec(errors).expect("non-empty: an interpolation or a rule error"))
}

/// The Terraform name of a field given under either spelling.
fn canonical_field(key: &str) -> &str {
    super::serde_impl::canonical_name(key).unwrap_or(key)
}

/// Whether the rule behind `e` depends on one of `fields`.
fn reads_any(e: &ValidationError, base: &FieldPath, fields: &[&str]) -> bool {
    if fields.is_empty() {
        return false;
    }
    let field = e.field().as_str();
    let local = field
        .strip_prefix(base.as_str())
        .map_or(field, |f| f.trim_start_matches('.'));
    let top = local.split(['.', '[']).next().unwrap_or(local);
    let reads: &[&str] = match e.code() {
        ErrorCode::KeyUsageRequired
        | ErrorCode::KeyUsageIncompatible
        | ErrorCode::ConflictingFields => &["key_spec", "customer_master_key_spec", "key_usage"],
        ErrorCode::CustomKeyStoreMultiRegion => &["custom_key_store_id", "multi_region"],
        ErrorCode::CustomKeyStoreKeySpec => &[
            "custom_key_store_id",
            "key_spec",
            "customer_master_key_spec",
        ],
        ErrorCode::XksKeyIdWithoutCustomKeyStore => &["xks_key_id", "custom_key_store_id"],
        ErrorCode::OriginConflict => &["origin", "custom_key_store_id", "xks_key_id"],
        ErrorCode::RotationUnsupported => &[
            "enable_key_rotation",
            "key_spec",
            "customer_master_key_spec",
            "origin",
            "custom_key_store_id",
            "xks_key_id",
        ],
        ErrorCode::RotationPeriodWithoutRotation => {
            &["rotation_period_in_days", "enable_key_rotation"]
        }
        ErrorCode::PolicyLockout => &["policy", "bypass_policy_lockout_safety_check"],
        _ => &[],
    };
    fields.iter().any(|f| *f == top || reads.contains(f))
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
            } else if let Some(expr) = find_directive(s) {
                errors.push(ValidationError::new(
                    path.clone(),
                    ErrorCode::InvalidValue,
                    format!(
                        "the template directive `{expr}` cannot be evaluated here: give the literal value (write `%%{{` for a literal `%{{`)"
                    ),
                ));
            } else if s.contains("$${") || s.contains("%%{") {
                *s = s.replace("$${", "${").replace("%%{", "%{");
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                unescape_interpolations(item, &path.index(i), errors);
            }
        }
        Value::Object(map) => {
            // Member names are templates too (Terraform's JSON syntax); a tag is addressed as
            // `tags["KEY"]`, as in every other tag error.
            let tags = path.as_str() == "tags" || path.as_str().ends_with(".tags");
            let members = std::mem::take(map);
            for (k, mut item) in members {
                let member = if tags { path.key(&k) } else { path.field(&k) };
                let mut name = Value::String(k);
                unescape_interpolations(&mut name, &member, errors);
                unescape_interpolations(&mut item, &member, errors);
                let Value::String(name) = name else {
                    unreachable!("a string stays a string")
                };
                map.insert(name, item);
            }
        }
        _ => {}
    }
}

/// The first `%{...}` template directive not escaped as `%%{...}`.
fn find_directive(s: &str) -> Option<&str> {
    find_unescaped(s, b'%')
}

/// The first `${...}` not escaped as `$${...}`.
fn find_interpolation(s: &str) -> Option<&str> {
    find_unescaped(s, b'$')
}

/// The first `<sigil>{...}` not escaped by doubling the sigil.
fn find_unescaped(s: &str, sigil: u8) -> Option<&str> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == sigil && bytes[i + 1] == sigil && bytes.get(i + 2) == Some(&b'{') {
            i += 3;
            continue;
        }
        if bytes[i] == sigil && bytes[i + 1] == b'{' {
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
    fn member_names_are_templates_too() {
        // In a policy object and in tags: an interpolation in a name is refused where it is.
        assert_eq!(
            failures(
                r#"{"resource": {"aws_kms_key": {"a": {"tags": {"${var.k}": "x", "e": "${var.e}"}, "policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"${var.condkey}": "x"}}}]}}}}}"#
            ),
            [
                (
                    "resource.aws_kms_key.a.tags[\"${var.k}\"]".to_owned(),
                    ErrorCode::InvalidValue
                ),
                (
                    "resource.aws_kms_key.a.tags[\"e\"]".to_owned(),
                    ErrorCode::InvalidValue
                ),
                (
                    "resource.aws_kms_key.a.policy.Statement[0].Condition.StringEquals.${var.condkey}"
                        .to_owned(),
                    ErrorCode::InvalidValue
                ),
            ]
        );
        // `$${` in a name is a literal `${`.
        let keys = from_terraform_json(
            r#"{"resource": {"aws_kms_key": {"a": {"policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/$${team}": "x"}}}]}}}}}"#,
        )
        .unwrap();
        let policy = keys[0].spec.policy().unwrap().as_str();
        assert!(
            policy.contains(r#""aws:PrincipalTag/${team}":"x""#),
            "{policy}"
        );
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

    fn failures(text: &str) -> Vec<(String, ErrorCode)> {
        from_terraform_json(text)
            .unwrap_err()
            .errors()
            .iter()
            .map(|e| (e.field().to_string(), e.code()))
            .collect()
    }

    #[test]
    fn an_interpolation_does_not_hide_the_other_problems() {
        assert_eq!(
            failures(
                r#"{"resource": {"aws_kms_key": {"a": {"description": "${var.d}", "deletion_window_in_days": 3, "key_spec": "HMAC_256"}}}}"#
            ),
            [
                (
                    "resource.aws_kms_key.a.description".to_owned(),
                    ErrorCode::InvalidValue
                ),
                (
                    "resource.aws_kms_key.a.key_usage".to_owned(),
                    ErrorCode::KeyUsageRequired
                ),
                (
                    "resource.aws_kms_key.a.deletion_window_in_days".to_owned(),
                    ErrorCode::DeletionWindowOutOfRange
                ),
            ]
        );
    }

    #[test]
    fn rules_that_read_an_interpolated_argument_are_not_guessed() {
        // key_spec unknown: whether SIGN_VERIFY fits cannot be told, so only the interpolation.
        assert_eq!(
            failures(
                r#"{"resource": {"aws_kms_key": {"a": {"key_spec": "${var.spec}", "key_usage": "SIGN_VERIFY"}}}}"#
            ),
            [(
                "resource.aws_kms_key.a.key_spec".to_owned(),
                ErrorCode::InvalidValue
            )]
        );
    }

    #[test]
    fn comments_and_meta_arguments() {
        let keys = from_terraform_json(
            r#"{"//": "synthesized", "resource": {"aws_kms_key": {"//": "c", "a": {"//": {"metadata": {"path": "x"}}, "description": "A", "depends_on": ["aws_iam_role.x"], "provider": "aws.west", "lifecycle": {"prevent_destroy": true}}}}}"#,
        )
        .unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].spec.description(), Some("A"));
        assert_eq!(
            failures(r#"{"resource": {"aws_kms_key": {"a": {"count": 2}}}}"#),
            [(
                "resource.aws_kms_key.a.count".to_owned(),
                ErrorCode::InvalidValue
            )]
        );
    }

    #[test]
    fn template_directives_are_refused_and_escapes_unescaped() {
        assert_eq!(
            failures(
                r#"{"resource": {"aws_kms_key": {"a": {"description": "%{ if true }x%{ endif }"}}}}"#
            ),
            [(
                "resource.aws_kms_key.a.description".to_owned(),
                ErrorCode::InvalidValue
            )]
        );
        let keys = from_terraform_json(
            r#"{"resource": {"aws_kms_key": {"a": {"description": "100%%{x}"}}}}"#,
        )
        .unwrap();
        assert_eq!(keys[0].spec.description(), Some("100%{x}"));
    }
}
