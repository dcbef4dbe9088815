//! Serde for [`KmsKeySpec`]: Terraform's argument names, CDKTF's camelCase names as aliases,
//! unknown fields refused with a "did you mean", and the builder's validation on the way in.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::{Map, Value};

use super::{
    KeySpec, KeyUsage, KmsKeySpec, KmsKeySpecBuilder, MAX_DELETION_WINDOW_DAYS,
    MAX_ROTATION_PERIOD_DAYS, MIN_DELETION_WINDOW_DAYS, MIN_ROTATION_PERIOD_DAYS, Origin,
};
use crate::policy::json::{self, Json};
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
    /// A key given twice in one JSON object is an error, never "the last one wins":
    /// `duplicate_field` at the field (`deletion_window_in_days`) or the tag (`tags["env"]`);
    /// inside a policy given as an object, the policy's own `policy_structure` error at the
    /// element (`policy.Statement[0].Effect`), as for a policy given as a string.
    ///
    /// # Errors
    /// Malformed JSON (with line and column), duplicate keys, unknown fields, wrong types, and
    /// every rule the builder checks, all at once.
    pub fn from_json(text: &str) -> Result<Self, ValidationErrors> {
        let tree = json::parse(text).map_err(|e| ValidationErrors::json_syntax(&e))?;
        Self::from_json_tree(&tree, &FieldPath::new(""))
    }

    /// Builds a spec from a JSON value (an object of arguments). `null` means "unset".
    ///
    /// A `serde_json::Value` has already dropped duplicate object keys (the last one won when
    /// it was parsed), so they cannot be reported here: read text with
    /// [`from_json`](Self::from_json), which reports them.
    ///
    /// # Errors
    /// As [`from_json`](Self::from_json), except duplicate keys.
    pub fn from_json_value(value: &Value) -> Result<Self, ValidationErrors> {
        Self::from_json_value_at(value, &FieldPath::new(""))
    }

    /// A spec from a parsed tree that still holds duplicate keys: they are reported (under
    /// `base`) together with every other problem.
    pub(crate) fn from_json_tree(
        tree: &Json<'_>,
        base: &FieldPath,
    ) -> Result<Self, ValidationErrors> {
        let duplicates = SpecDuplicates::find(tree, base);
        Self::from_json_value_with(&tree.to_value(), base, duplicates)
    }

    /// As [`from_json_value`](Self::from_json_value), with every error path under `base`
    /// (e.g. `resource.aws_kms_key.a`). Validation rule paths stay relative to the spec.
    pub(crate) fn from_json_value_at(
        value: &Value,
        base: &FieldPath,
    ) -> Result<Self, ValidationErrors> {
        Self::from_json_value_with(value, base, SpecDuplicates::default())
    }

    /// The reader behind every JSON entry point: `duplicates` were found in the text `value`
    /// was read from, and come first among the errors.
    pub(crate) fn from_json_value_with(
        value: &Value,
        base: &FieldPath,
        duplicates: SpecDuplicates,
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
        let mut errors = duplicates.errors;
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
        if let Some(text) = duplicates.policy_text {
            // The policy object as written, duplicates kept, for the policy's own parse to
            // report them: the `Value` has dropped them.
            b = b.policy(text);
        } else if let Some(v) = get("policy") {
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
        set!(
            "deletion_window_in_days",
            deletion_window_days,
            deletion_window_in_days
        );
        set!("is_enabled", boolean, is_enabled);
        set!("enable_key_rotation", boolean, enable_key_rotation);
        set!(
            "rotation_period_in_days",
            rotation_period_days,
            rotation_period_in_days
        );
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

/// What a spec object's text says that its `Value` no longer can: keys given twice.
#[derive(Debug, Default)]
pub(crate) struct SpecDuplicates {
    /// `duplicate_field` for each argument or tag key given more than once.
    errors: Vec<ValidationError>,
    /// The inline policy object as compact text with its duplicate keys, when it has any.
    policy_text: Option<String>,
}

impl SpecDuplicates {
    /// Looks for keys given twice in a spec object (`tree`, errors under `base`): arguments
    /// (at `base.NAME`, under the Terraform name whichever spelling was repeated), tag keys (at
    /// `base.tags["KEY"]`), and anywhere inside a policy given as an object. Anything else
    /// with an object value is refused for its type anyway.
    pub(crate) fn find(tree: &Json<'_>, base: &FieldPath) -> Self {
        let mut found = Self::default();
        let Json::Object(members) = tree else {
            return found;
        };
        for key in Json::duplicate_keys(members) {
            // Unknown keys are reported as unknown; once is enough.
            if let Some((name, _)) = FIELDS.iter().find(|(s, c)| key == *s || key == *c) {
                found.errors.push(ValidationError::new(
                    base.field(name),
                    ErrorCode::DuplicateField,
                    format!(
                        "`{key}` is given more than once; JSON does not say which one counts, so give it once"
                    ),
                ));
            }
        }
        for (key, value) in members {
            match (key.as_ref(), value) {
                ("tags", Json::Object(tags)) => {
                    for tag in Json::duplicate_keys(tags) {
                        found.errors.push(ValidationError::new(
                            base.field("tags").key(tag),
                            ErrorCode::DuplicateField,
                            "this tag key is given more than once; a key has one value, so give it once",
                        ));
                    }
                }
                // Only the last `policy` member is the one the `Value` keeps and the builder
                // parses; a repeated `policy` is reported above.
                ("policy", policy @ Json::Object(_)) => {
                    found.policy_text = policy
                        .has_duplicate_keys()
                        .then(|| policy.to_compact_text());
                }
                ("policy", _) => found.policy_text = None,
                _ => {}
            }
        }
        found
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

/// A JSON value read as a whole number.
#[derive(Debug, Clone, PartialEq)]
enum Whole {
    /// A whole number that fits an `i64`.
    Fits(i64),
    /// A whole number beyond the `i64` range, as it reads.
    TooLarge(String),
    /// Not a whole number: a fraction, or not a number at all.
    Not,
}

/// Reads `v` as a whole number. A number counts when it has no fractional part: `7`, and also
/// `7.0` or `1e1`, which Terraform accepts for a whole-number argument too. A number too large
/// for an `i64` (`99999999999999999999`) reaches us as a float, so its size is known even though
/// its digits are not all kept. Terraform converts numeric strings to numbers; so do we, for
/// strings of decimal digits with an optional sign (also beyond the `i64` range).
fn whole(v: &Value) -> Whole {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Whole::Fits(i)
            } else if n.is_u64() {
                // Above i64::MAX but within u64.
                Whole::TooLarge(n.to_string())
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 => {
                        // The f64 range of exact i64 conversion: [-2^63, 2^63).
                        const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
                        if (-TWO_POW_63..TWO_POW_63).contains(&f) {
                            // Whole and in range, so the conversion is exact.
                            Whole::Fits(f as i64)
                        } else {
                            Whole::TooLarge(n.to_string())
                        }
                    }
                    _ => Whole::Not,
                }
            }
        }
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                Whole::Not
            } else {
                match t.parse::<i64>() {
                    Ok(i) => Whole::Fits(i),
                    // Only overflow is left: the text is all digits.
                    Err(_) => Whole::TooLarge(t.to_owned()),
                }
            }
        }
        _ => Whole::Not,
    }
}

/// A whole number of days for a ranged field: not a whole number is a type error; too large
/// for an `i64` is out of the field's range (`code`, `min..=max`), said the way the builder says
/// it for any other out-of-range value.
fn days(
    v: &Value,
    path: FieldPath,
    errors: &mut Vec<ValidationError>,
    code: ErrorCode,
    (min, max): (u16, u16),
) -> Option<i64> {
    match whole(v) {
        Whole::Fits(d) => Some(d),
        Whole::TooLarge(text) => {
            errors.push(ValidationError::new(
                path,
                code,
                format!("is {text}; KMS allows {min} to {max} days"),
            ));
            None
        }
        Whole::Not => {
            type_error(path, "a whole number of days", v, errors);
            None
        }
    }
}

fn deletion_window_days(
    v: &Value,
    path: FieldPath,
    errors: &mut Vec<ValidationError>,
) -> Option<i64> {
    let range = (
        u16::from(MIN_DELETION_WINDOW_DAYS),
        u16::from(MAX_DELETION_WINDOW_DAYS),
    );
    days(v, path, errors, ErrorCode::DeletionWindowOutOfRange, range)
}

fn rotation_period_days(
    v: &Value,
    path: FieldPath,
    errors: &mut Vec<ValidationError>,
) -> Option<i64> {
    let range = (MIN_ROTATION_PERIOD_DAYS, MAX_ROTATION_PERIOD_DAYS);
    days(v, path, errors, ErrorCode::RotationPeriodOutOfRange, range)
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
    /// Keys given twice are reported as by [`KmsKeySpec::from_json`] when the deserializer
    /// hands them over (`serde_json` does; a `Value` has already dropped them).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tree = Json::deserialize(d)?;
        KmsKeySpec::from_json_tree(&tree, &FieldPath::new("")).map_err(serde::de::Error::custom)
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
    fn whole_numbers_table() {
        use serde_json::json;
        for (v, want) in [
            (json!(7), Whole::Fits(7)),
            (json!(-7), Whole::Fits(-7)),
            (json!(7.0), Whole::Fits(7)),
            (json!(1e1), Whole::Fits(10)),
            (json!(i64::MAX), Whole::Fits(i64::MAX)),
            (json!(i64::MIN), Whole::Fits(i64::MIN)),
            (json!(u64::MAX), Whole::TooLarge(u64::MAX.to_string())),
            (json!(1e20), Whole::TooLarge("1e+20".into())),
            (json!(-1e20), Whole::TooLarge("-1e+20".into())),
            (
                json!(9_223_372_036_854_775_808.0),
                Whole::TooLarge("9.223372036854776e+18".into()),
            ),
            (json!(7.5), Whole::Not),
            (json!(-0.5), Whole::Not),
            (json!("30"), Whole::Fits(30)),
            (json!(" +30 "), Whole::Fits(30)),
            (json!("-3"), Whole::Fits(-3)),
            (
                json!("99999999999999999999"),
                Whole::TooLarge("99999999999999999999".into()),
            ),
            (
                json!("-99999999999999999999"),
                Whole::TooLarge("-99999999999999999999".into()),
            ),
            (json!("7.5"), Whole::Not),
            (json!("7.0"), Whole::Not),
            (json!("seven"), Whole::Not),
            (json!(""), Whole::Not),
            (json!("-"), Whole::Not),
            (json!(true), Whole::Not),
            (json!(null), Whole::Not),
        ] {
            assert_eq!(whole(&v), want, "{v}");
        }
        // As serde_json reads a literal too large for u64.
        let big: Value = serde_json::from_str("99999999999999999999").unwrap();
        assert_eq!(whole(&big), Whole::TooLarge("1e+20".into()));
    }

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
