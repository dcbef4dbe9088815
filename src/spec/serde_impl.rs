//! Serde for [`KmsKeySpec`]: Terraform's argument names, CDKTF's camelCase names as aliases,
//! unknown fields refused with a "did you mean", and the builder's validation on the way in.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::{Map, Value};

use super::{KeySpec, KeyUsage, KmsKeySpec, KmsKeySpecBuilder, Origin};
use crate::validation::{ErrorCode, FieldPath, ValidationError, ValidationErrors};

/// Every field: its Terraform name and its CDKTF camelCase alias.
const FIELDS: &[(&str, &str)] = &[
    ("description", "description"),
    ("key_usage", "keyUsage"),
    ("key_spec", "keySpec"),
    ("customer_master_key_spec", "customerMasterKeySpec"),
    ("origin", "origin"),
    ("custom_key_store_id", "customKeyStoreId"),
    ("xks_key_id", "xksKeyId"),
    ("policy", "policy"),
    (
        "bypass_policy_lockout_safety_check",
        "bypassPolicyLockoutSafetyCheck",
    ),
    ("deletion_window_in_days", "deletionWindowInDays"),
    ("is_enabled", "isEnabled"),
    ("enable_key_rotation", "enableKeyRotation"),
    ("rotation_period_in_days", "rotationPeriodInDays"),
    ("multi_region", "multiRegion"),
    ("tags", "tags"),
];

/// The Terraform name of a field given by either of its names (`deletionWindowInDays` →
/// `deletion_window_in_days`).
pub(crate) fn canonical_name(key: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .find(|(snake, camel)| key == *snake || key == *camel)
        .map(|(snake, _)| *snake)
}

/// The Terraform argument names a spec accepts (CDKTF's camelCase spellings are accepted too).
pub const FIELD_NAMES: &[&str] = &[
    "description",
    "key_usage",
    "key_spec",
    "customer_master_key_spec",
    "origin",
    "custom_key_store_id",
    "xks_key_id",
    "policy",
    "bypass_policy_lockout_safety_check",
    "deletion_window_in_days",
    "is_enabled",
    "enable_key_rotation",
    "rotation_period_in_days",
    "multi_region",
    "tags",
];

impl KmsKeySpec {
    /// Parses a spec from JSON text (Terraform argument names or CDKTF camelCase), with the same
    /// validation as the builder.
    ///
    /// ```
    /// let spec = kms_key::KmsKeySpec::from_json(r#"{"deletionWindowInDays": 10, "description": "KMS key 1"}"#)?;
    /// assert_eq!(spec.deletion_window().days(), 10);
    /// # Ok::<(), kms_key::ValidationErrors>(())
    /// ```
    ///
    /// # Errors
    /// Malformed JSON (with line and column), unknown fields, wrong types, and every rule the
    /// builder checks, all at once.
    pub fn from_json(text: &str) -> Result<Self, ValidationErrors> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ValidationErrors::json_syntax(&e))?;
        Self::from_json_value(&value)
    }

    /// Builds a spec from a JSON value (an object of arguments). `null` means "unset".
    ///
    /// # Errors
    /// As [`from_json`](Self::from_json).
    pub fn from_json_value(value: &Value) -> Result<Self, ValidationErrors> {
        Self::from_json_value_at(value, &FieldPath::new(""))
    }

    /// As [`from_json_value`](Self::from_json_value), with every error path under `base`
    /// (e.g. `resource.aws_kms_key.a`). Validation rule paths stay relative to the spec.
    pub(crate) fn from_json_value_at(
        value: &Value,
        base: &FieldPath,
    ) -> Result<Self, ValidationErrors> {
        let Some(object) = value.as_object() else {
            return Err(ValidationErrors::single(
                base.clone(),
                ErrorCode::InvalidType,
                format!(
                    "a key spec is a JSON object of arguments, got {}",
                    type_name(value)
                ),
            ));
        };
        let mut errors = Vec::new();
        let fields = collect_fields(object, base, &mut errors);
        let mut b = KmsKeySpec::builder();
        let get = |name: &str| fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let path = |name: &str| base.field(name);

        macro_rules! set {
            ($name:literal, $convert:expr, $setter:ident) => {
                if let Some(v) = get($name)
                    && let Some(x) = $convert(v, path($name), &mut errors)
                {
                    b = b.$setter(x);
                }
            };
        }
        set!("description", string, description);
        set!("key_usage", wire::<KeyUsage>, key_usage);
        set!("key_spec", wire::<KeySpec>, key_spec);
        set!(
            "customer_master_key_spec",
            wire::<KeySpec>,
            customer_master_key_spec
        );
        set!("origin", wire::<Origin>, origin);
        set!("custom_key_store_id", string, custom_key_store_id);
        set!("xks_key_id", string, xks_key_id);
        if let Some(v) = get("policy") {
            match v {
                Value::String(s) => b = b.policy(s.clone()),
                Value::Object(_) => b = b.policy_value(v.clone()),
                other => errors.push(ValidationError::new(
                    path("policy"),
                    ErrorCode::InvalidType,
                    format!(
                        "must be a JSON policy document, as a string or an object; got {}",
                        type_name(other)
                    ),
                )),
            }
        }
        set!(
            "bypass_policy_lockout_safety_check",
            boolean,
            bypass_policy_lockout_safety_check
        );
        set!("deletion_window_in_days", integer, deletion_window_in_days);
        set!("is_enabled", boolean, is_enabled);
        set!("enable_key_rotation", boolean, enable_key_rotation);
        set!("rotation_period_in_days", integer, rotation_period_in_days);
        set!("multi_region", boolean, multi_region);
        if let Some(v) = get("tags") {
            b = tags(v, path("tags"), b, &mut errors);
        }

        // Report shape problems and rule problems together; rule paths are placed under `base`.
        match b.build() {
            Ok(spec) if errors.is_empty() => Ok(spec),
            Ok(_) => Err(ValidationErrors::from_vec(errors).expect("non-empty")),
            Err(rule_errors) => {
                errors.extend(rule_errors.into_iter().map(|e| rebase(e, base)));
                Err(ValidationErrors::from_vec(errors).expect("non-empty"))
            }
        }
    }
}

fn rebase(e: ValidationError, base: &FieldPath) -> ValidationError {
    if base.as_str().is_empty() {
        return e;
    }
    let joined = FieldPath::new(format!("{}.{}", base, e.field()));
    ValidationError::new(joined, e.code(), e.message().to_owned())
}

/// Maps each given key to its Terraform name; reports unknown and duplicate fields.
fn collect_fields<'v>(
    object: &'v Map<String, Value>,
    base: &FieldPath,
    errors: &mut Vec<ValidationError>,
) -> Vec<(&'static str, &'v Value)> {
    let mut out: Vec<(&'static str, &'v Value)> = Vec::new();
    for (key, value) in object {
        let Some((name, _)) = FIELDS
            .iter()
            .find(|(snake, camel)| key == snake || key == camel)
        else {
            let hint = match suggest(key) {
                Some(s) => format!("; did you mean `{s}`?"),
                None => format!("; known fields: {}", FIELD_NAMES.join(", ")),
            };
            errors.push(ValidationError::new(
                base.field(key),
                ErrorCode::UnknownField,
                format!("`{key}` is not an argument of aws_kms_key{hint}"),
            ));
            continue;
        };
        if value.is_null() {
            continue; // null = unset, as in Terraform
        }
        if out.iter().any(|(n, _)| n == name) {
            errors.push(ValidationError::new(
                base.field(name),
                ErrorCode::DuplicateField,
                format!("`{key}` sets {name} a second time (snake_case and camelCase names are the same field)"),
            ));
            continue;
        }
        out.push((name, value));
    }
    out
}

/// The closest known field name, when one is close enough to be a likely typo.
fn suggest(given: &str) -> Option<&'static str> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let g = norm(given);
    // Close enough to be a typo: a third of the name may differ, at least one character.
    let allowed = (g.chars().count() / 3).max(1);
    FIELDS
        .iter()
        .map(|(snake, camel)| (snake, edit_distance(&g, &norm(camel))))
        .filter(|(_, d)| *d <= allowed)
        .min_by_key(|(_, d)| *d)
        .map(|(snake, _)| *snake)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn type_error(path: FieldPath, want: &str, v: &Value, errors: &mut Vec<ValidationError>) {
    errors.push(ValidationError::new(
        path,
        ErrorCode::InvalidType,
        format!("must be {want}, got {}", type_name(v)),
    ));
}

fn string(v: &Value, path: FieldPath, errors: &mut Vec<ValidationError>) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        _ => {
            type_error(path, "a string", v, errors);
            None
        }
    }
}

/// Terraform converts `"true"`/`"false"` to booleans; so do we.
fn boolean(v: &Value, path: FieldPath, errors: &mut Vec<ValidationError>) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => {
            type_error(path, "a boolean", v, errors);
            None
        }
    }
}

/// Terraform converts numeric strings to numbers; so do we. Fractions are refused.
fn integer(v: &Value, path: FieldPath, errors: &mut Vec<ValidationError>) -> Option<i64> {
    let parsed = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    if parsed.is_none() {
        type_error(path, "a whole number of days", v, errors);
    }
    parsed
}

fn wire<T: std::str::FromStr<Err = super::UnknownValue>>(
    v: &Value,
    path: FieldPath,
    errors: &mut Vec<ValidationError>,
) -> Option<T> {
    let s = string(v, path.clone(), errors)?;
    match s.parse() {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(ValidationError::new(
                path,
                ErrorCode::InvalidValue,
                e.to_string(),
            ));
            None
        }
    }
}

fn tags(
    v: &Value,
    path: FieldPath,
    mut b: KmsKeySpecBuilder,
    errors: &mut Vec<ValidationError>,
) -> KmsKeySpecBuilder {
    let Value::Object(map) = v else {
        type_error(path, "an object of tag keys to string values", v, errors);
        return b;
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, val) in map {
        match val {
            Value::String(s) => out.push((k.clone(), s.clone())),
            other => type_error(path.key(k), "a string tag value", other, errors),
        }
    }
    b = b.tags(out);
    b
}

impl<'de> Deserialize<'de> for KmsKeySpec {
    /// Deserializes and validates; the error text lists every problem with its field path.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        KmsKeySpec::from_json_value(&value).map_err(serde::de::Error::custom)
    }
}

/// Writes the set fields under their Terraform names; defaults that were never set are left out,
/// so a spec round-trips unchanged.
pub(super) fn serialize<S: Serializer>(spec: &KmsKeySpec, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(None)?;
    if let Some(d) = &spec.description {
        m.serialize_entry("description", d)?;
    }
    if let Some(u) = spec.key_usage {
        m.serialize_entry("key_usage", &u)?;
    }
    if let Some(k) = spec.key_spec {
        m.serialize_entry("key_spec", &k)?;
    }
    if let Some(o) = spec.origin {
        m.serialize_entry("origin", &o)?;
    }
    if let Some(c) = &spec.custom_key_store_id {
        m.serialize_entry("custom_key_store_id", c)?;
    }
    if let Some(x) = &spec.xks_key_id {
        m.serialize_entry("xks_key_id", x)?;
    }
    if let Some(p) = &spec.policy {
        m.serialize_entry("policy", p.as_str())?;
    }
    if spec.bypass_policy_lockout_safety_check {
        m.serialize_entry("bypass_policy_lockout_safety_check", &true)?;
    }
    if let Some(w) = spec.deletion_window_in_days {
        m.serialize_entry("deletion_window_in_days", &w.days())?;
    }
    if !spec.is_enabled {
        m.serialize_entry("is_enabled", &false)?;
    }
    if spec.enable_key_rotation {
        m.serialize_entry("enable_key_rotation", &true)?;
    }
    if let Some(p) = spec.rotation_period_in_days {
        m.serialize_entry("rotation_period_in_days", &p.days())?;
    }
    if spec.multi_region {
        m.serialize_entry("multi_region", &true)?;
    }
    if let Some(t) = &spec.tags {
        m.serialize_entry("tags", t)?;
    }
    m.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("deletion_window_days"),
            Some("deletion_window_in_days")
        );
        assert_eq!(suggest("enableKeyRotaton"), Some("enable_key_rotation"));
        assert_eq!(suggest("tag"), Some("tags"));
        assert_eq!(suggest("completely_unrelated_thing"), None);
        assert_eq!(suggest("arn"), None);
        assert_eq!(suggest("key_id"), None);
        assert_eq!(suggest("multiregion"), Some("multi_region"));
    }
}
