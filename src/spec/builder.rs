//! [`KmsKeySpecBuilder`]: the one way into a [`KmsKeySpec`], with all of its validation.

use std::collections::BTreeMap;

use super::values::*;
use super::{KeySpec, KeyUsage, KmsKeySpec, Origin};
use crate::policy::KeyPolicy;
use crate::validation::{
    ErrorCode, FieldPath, ValidationError, ValidationErrors, Warning, WarningCode,
};

/// How the policy was given to the builder: parsed only in [`KmsKeySpecBuilder::build`], so every
/// problem is reported together with the others.
#[derive(Debug, Clone)]
enum PolicyInput {
    Text(String),
    Value(serde_json::Value),
    Parsed(KeyPolicy),
}

/// Builds a [`KmsKeySpec`]; [`build`](Self::build) checks every rule and reports every problem.
///
/// Setters take raw values (days as integers, ids as strings) so that an out-of-range value is
/// reported by `build` with its field and rule, like any other problem.
#[derive(Debug, Clone)]
#[must_use]
pub struct KmsKeySpecBuilder {
    description: Option<String>,
    key_usage: Option<KeyUsage>,
    key_spec: Option<KeySpec>,
    customer_master_key_spec: Option<KeySpec>,
    origin: Option<Origin>,
    custom_key_store_id: Option<String>,
    xks_key_id: Option<String>,
    policy: Option<PolicyInput>,
    bypass_policy_lockout_safety_check: bool,
    deletion_window_in_days: Option<i64>,
    is_enabled: bool,
    enable_key_rotation: bool,
    rotation_period_in_days: Option<i64>,
    multi_region: bool,
    tags: Option<BTreeMap<String, String>>,
}

impl Default for KmsKeySpecBuilder {
    fn default() -> Self {
        Self {
            description: None,
            key_usage: None,
            key_spec: None,
            customer_master_key_spec: None,
            origin: None,
            custom_key_store_id: None,
            xks_key_id: None,
            policy: None,
            bypass_policy_lockout_safety_check: false,
            deletion_window_in_days: None,
            is_enabled: true,
            enable_key_rotation: false,
            rotation_period_in_days: None,
            multi_region: false,
            tags: None,
        }
    }
}

impl KmsKeySpecBuilder {
    pub(super) fn from_spec(spec: &KmsKeySpec) -> Self {
        Self {
            description: spec.description.clone(),
            key_usage: spec.key_usage,
            key_spec: spec.key_spec,
            customer_master_key_spec: None,
            origin: spec.origin,
            custom_key_store_id: spec.custom_key_store_id.clone(),
            xks_key_id: spec.xks_key_id.clone(),
            policy: spec.policy.clone().map(PolicyInput::Parsed),
            bypass_policy_lockout_safety_check: spec.bypass_policy_lockout_safety_check,
            deletion_window_in_days: spec.deletion_window_in_days.map(|d| i64::from(d.days())),
            is_enabled: spec.is_enabled,
            enable_key_rotation: spec.enable_key_rotation,
            rotation_period_in_days: spec.rotation_period_in_days.map(|p| i64::from(p.days())),
            multi_region: spec.multi_region,
            tags: spec.tags.as_ref().map(|t| t.as_map().clone()),
        }
    }

    /// The description (0–8192 characters).
    #[inline]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The key usage. Required for every key spec but SYMMETRIC_DEFAULT.
    #[inline]
    pub fn key_usage(mut self, usage: KeyUsage) -> Self {
        self.key_usage = Some(usage);
        self
    }

    /// The key spec (default SYMMETRIC_DEFAULT).
    #[inline]
    pub fn key_spec(mut self, spec: KeySpec) -> Self {
        self.key_spec = Some(spec);
        self
    }

    /// Terraform's older name of [`key_spec`](Self::key_spec). Setting both to different values
    /// is an error.
    #[inline]
    pub fn customer_master_key_spec(mut self, spec: KeySpec) -> Self {
        self.customer_master_key_spec = Some(spec);
        self
    }

    /// The origin of the key material. Usually implied: AWS_KMS, or AWS_CLOUDHSM /
    /// EXTERNAL_KEY_STORE for a custom key store. Set EXTERNAL for a key whose material you
    /// import yourself.
    #[inline]
    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The custom key store to create the key in (SYMMETRIC_DEFAULT only, never multi-Region).
    #[inline]
    pub fn custom_key_store_id(mut self, id: impl Into<String>) -> Self {
        self.custom_key_store_id = Some(id.into());
        self
    }

    /// The key's id in the external key manager (external key stores only).
    #[inline]
    pub fn xks_key_id(mut self, id: impl Into<String>) -> Self {
        self.xks_key_id = Some(id.into());
        self
    }

    /// The key policy as JSON text.
    #[inline]
    pub fn policy(mut self, json: impl Into<String>) -> Self {
        self.policy = Some(PolicyInput::Text(json.into()));
        self
    }

    /// The key policy as a JSON value (what Terraform's `jsonencode` would take).
    #[inline]
    pub fn policy_value(mut self, value: serde_json::Value) -> Self {
        self.policy = Some(PolicyInput::Value(value));
        self
    }

    /// An already parsed key policy. One that was not parsed with every check
    /// ([`KeyPolicy::parse_observed`], see [`KeyPolicy::is_checked`]) is checked again by
    /// [`build`](Self::build), so a spec never holds a policy KMS would refuse.
    #[inline]
    pub fn key_policy(mut self, policy: KeyPolicy) -> Self {
        self.policy = Some(PolicyInput::Parsed(policy));
        self
    }

    /// Skip KMS's policy lockout safety check (default false). Only for policies that
    /// deliberately leave no principal able to change them.
    #[inline]
    pub fn bypass_policy_lockout_safety_check(mut self, bypass: bool) -> Self {
        self.bypass_policy_lockout_safety_check = bypass;
        self
    }

    /// Days to wait before deleting the key when it is destroyed (7–30, default 30).
    #[inline]
    pub fn deletion_window_in_days(mut self, days: i64) -> Self {
        self.deletion_window_in_days = Some(days);
        self
    }

    /// Whether the key is enabled (default true).
    #[inline]
    pub fn is_enabled(mut self, enabled: bool) -> Self {
        self.is_enabled = enabled;
        self
    }

    /// Whether automatic rotation is on (default false).
    #[inline]
    pub fn enable_key_rotation(mut self, enabled: bool) -> Self {
        self.enable_key_rotation = enabled;
        self
    }

    /// The rotation period in days (90–2560; only with rotation on).
    #[inline]
    pub fn rotation_period_in_days(mut self, days: i64) -> Self {
        self.rotation_period_in_days = Some(days);
        self
    }

    /// Whether the key is a multi-Region primary key (default false).
    #[inline]
    pub fn multi_region(mut self, multi_region: bool) -> Self {
        self.multi_region = multi_region;
        self
    }

    /// Adds one tag (and manages tags from now on).
    #[inline]
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Sets the whole tag set; an empty set manages "no tags".
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.tags = Some(
            tags.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Stops managing tags (the default).
    #[inline]
    pub fn unmanaged_tags(mut self) -> Self {
        self.tags = None;
        self
    }

    /// Checks every rule and returns the spec, or every problem found.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing each broken rule with its field path and code, in field order.
    pub fn build(self) -> Result<KmsKeySpec, ValidationErrors> {
        let mut errors = Vec::new();
        let mut err = |field: FieldPath, code: ErrorCode, message: String| {
            errors.push(ValidationError::new(field, code, message));
        };

        // description
        // Byte length bounds the character count: count characters only when it could matter.
        if let Some(d) = &self.description
            && d.len() > MAX_DESCRIPTION_CHARS
        {
            let n = d.chars().count();
            if n > MAX_DESCRIPTION_CHARS {
                err(
                    "description".into(),
                    ErrorCode::DescriptionTooLong,
                    format!("is {n} characters long; KMS allows at most {MAX_DESCRIPTION_CHARS}"),
                );
            }
        }

        // key_spec / customer_master_key_spec
        let key_spec = match (self.key_spec, self.customer_master_key_spec) {
            (Some(a), Some(b)) if a != b => {
                err(
                    "customer_master_key_spec".into(),
                    ErrorCode::ConflictingFields,
                    format!(
                        "is {b} but key_spec is {a}; customer_master_key_spec is the old name of key_spec: set only one"
                    ),
                );
                Some(a)
            }
            (a, b) => a.or(b),
        };
        let effective_spec = key_spec.unwrap_or_default();
        let mut warnings = Vec::new();
        if effective_spec.china_regions_only() {
            // Valid as a spec (it cannot know the Region), but only aws-cn has the key spec.
            let field = if self.key_spec.is_some() {
                "key_spec"
            } else {
                "customer_master_key_spec"
            };
            warnings.push(Warning::new(
                field,
                WarningCode::KeySpecChinaRegionsOnly,
                format!(
                    "{effective_spec} keys exist only in the China Regions (cn-north-1, cn-northwest-1); CreateKey fails in any other Region"
                ),
            ));
        }

        // key_usage against the spec/usage matrix
        match self.key_usage {
            None if effective_spec.default_usage().is_none() => err(
                "key_usage".into(),
                ErrorCode::KeyUsageRequired,
                format!(
                    "is required for key spec {effective_spec}; allowed: {}",
                    join(effective_spec.allowed_usages())
                ),
            ),
            Some(u) if !effective_spec.allows(u) => {
                let implied = if key_spec.is_none() {
                    " (the default when key_spec is unset)"
                } else {
                    ""
                };
                let fits: Vec<&str> = KeySpec::ALL
                    .iter()
                    .filter(|s| s.allows(u))
                    .take(3)
                    .map(|s| s.as_str())
                    .collect();
                err(
                    "key_usage".into(),
                    ErrorCode::KeyUsageIncompatible,
                    format!(
                        "{u} is not allowed with key spec {effective_spec}{implied}; allowed: {}; key specs that allow {u} include {}",
                        join(effective_spec.allowed_usages()),
                        fits.join(", ")
                    ),
                );
            }
            _ => {}
        }

        // custom key store and origin
        if let Some(id) = &self.custom_key_store_id {
            let n = id.chars().count();
            if n == 0 || n > 64 {
                err(
                    "custom_key_store_id".into(),
                    ErrorCode::CustomKeyStoreIdInvalid,
                    format!(
                        "must be 1 to 64 characters long (like cks-1234567890abcdef0), got {n}"
                    ),
                );
            }
            if self.multi_region {
                err(
                    "multi_region".into(),
                    ErrorCode::CustomKeyStoreMultiRegion,
                    "a key in a custom key store cannot be multi-Region: drop custom_key_store_id or set multi_region = false".into(),
                );
            }
            if effective_spec != KeySpec::SymmetricDefault {
                err(
                    "key_spec".into(),
                    ErrorCode::CustomKeyStoreKeySpec,
                    format!(
                        "{effective_spec} is not available in a custom key store: only SYMMETRIC_DEFAULT is"
                    ),
                );
            }
        }
        if let Some(x) = &self.xks_key_id {
            if self.custom_key_store_id.is_none() {
                err(
                    "xks_key_id".into(),
                    ErrorCode::XksKeyIdWithoutCustomKeyStore,
                    "needs custom_key_store_id naming the external key store the key lives in"
                        .into(),
                );
            }
            let n = x.chars().count();
            let bad = x
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
            if n == 0 || n > 128 || bad.is_some() {
                err(
                    "xks_key_id".into(),
                    ErrorCode::XksKeyIdInvalid,
                    match bad {
                        Some(c) => format!(
                            "has the character {c:?}; allowed are letters, digits, '-', '_' and '.'"
                        ),
                        None => format!("must be 1 to 128 characters long, got {n}"),
                    },
                );
            }
        }
        if let Some(origin) = self.origin {
            let conflict = match (origin, &self.custom_key_store_id, &self.xks_key_id) {
                (Origin::AwsKms | Origin::External, Some(_), _) => Some(format!(
                    "{origin} cannot be used with custom_key_store_id; use AWS_CLOUDHSM or EXTERNAL_KEY_STORE, or leave origin unset"
                )),
                (Origin::AwsCloudhsm | Origin::ExternalKeyStore, None, _) => {
                    Some(format!("{origin} needs custom_key_store_id"))
                }
                (Origin::AwsCloudhsm, Some(_), Some(_)) => {
                    Some("AWS_CLOUDHSM keys have no xks_key_id; use EXTERNAL_KEY_STORE".to_owned())
                }
                (Origin::ExternalKeyStore, Some(_), None) => {
                    Some("EXTERNAL_KEY_STORE needs xks_key_id".to_owned())
                }
                _ => None,
            };
            if let Some(m) = conflict {
                err("origin".into(), ErrorCode::OriginConflict, m);
            }
        }
        let origin = self
            .origin
            .unwrap_or(match (&self.custom_key_store_id, &self.xks_key_id) {
                (Some(_), Some(_)) => Origin::ExternalKeyStore,
                (Some(_), None) => Origin::AwsCloudhsm,
                _ => Origin::AwsKms,
            });

        // deletion window
        let deletion_window = self.deletion_window_in_days.and_then(|d| {
            let w = u8::try_from(d).ok().and_then(DeletionWindow::new);
            if w.is_none() {
                err(
                    "deletion_window_in_days".into(),
                    ErrorCode::DeletionWindowOutOfRange,
                    format!("is {d}; KMS allows {MIN_DELETION_WINDOW_DAYS} to {MAX_DELETION_WINDOW_DAYS} days"),
                );
            }
            w
        });

        // rotation
        if self.enable_key_rotation {
            let why = if self.custom_key_store_id.is_some() {
                Some("keys in a custom key store cannot rotate automatically".to_owned())
            } else if !effective_spec.supports_rotation() {
                Some(format!(
                    "{effective_spec} keys cannot rotate automatically; only SYMMETRIC_DEFAULT keys can"
                ))
            } else if origin != Origin::AwsKms {
                Some(format!(
                    "keys with origin {origin} (imported key material) cannot rotate automatically"
                ))
            } else {
                None
            };
            if let Some(why) = why {
                err(
                    "enable_key_rotation".into(),
                    ErrorCode::RotationUnsupported,
                    format!("{why}: set enable_key_rotation = false"),
                );
            }
        }
        let rotation_period = self.rotation_period_in_days.and_then(|d| {
            let p = u16::try_from(d).ok().and_then(RotationPeriod::new);
            if p.is_none() {
                err(
                    "rotation_period_in_days".into(),
                    ErrorCode::RotationPeriodOutOfRange,
                    format!("is {d}; KMS allows {MIN_ROTATION_PERIOD_DAYS} to {MAX_ROTATION_PERIOD_DAYS} days"),
                );
            } else if !self.enable_key_rotation {
                err(
                    "rotation_period_in_days".into(),
                    ErrorCode::RotationPeriodWithoutRotation,
                    "only applies with enable_key_rotation = true: turn rotation on or drop the period".into(),
                );
            }
            p
        });

        // tags
        let tags = self.tags.map(|map| {
            if map.len() > MAX_TAGS {
                err(
                    "tags".into(),
                    ErrorCode::TooManyTags,
                    format!("has {} tags; KMS allows at most {MAX_TAGS} per key", map.len()),
                );
            }
            for (k, v) in &map {
                // Built only for a tag that has a problem: most have none, and the path
                // (JSON-quoted key) costs more than the checks themselves.
                let path = || FieldPath::new("tags").key(k);
                // The exact count is only needed (and only shown) when the bytes allow too
                // many characters; otherwise 0 or "some, few enough" (1) decides.
                let kn = if k.len() > MAX_TAG_KEY_CHARS {
                    k.chars().count()
                } else {
                    k.len().min(1)
                };
                if kn == 0 || kn > MAX_TAG_KEY_CHARS {
                    err(
                        path(),
                        ErrorCode::TagKeyLength,
                        format!("tag key is {kn} characters long; KMS allows 1 to {MAX_TAG_KEY_CHARS}"),
                    );
                }
                if k.len() >= RESERVED_TAG_PREFIX.len()
                    && k.is_char_boundary(RESERVED_TAG_PREFIX.len())
                    && k[..RESERVED_TAG_PREFIX.len()].eq_ignore_ascii_case(RESERVED_TAG_PREFIX)
                {
                    err(
                        path(),
                        ErrorCode::TagKeyReserved,
                        "tag keys starting with aws: are reserved for AWS; choose another key".into(),
                    );
                } else if k == OWNERSHIP_TAG_KEY {
                    err(
                        path(),
                        ErrorCode::TagKeyReserved,
                        format!("{OWNERSHIP_TAG_KEY} is written by kms-key to record a key's logical name; choose another key"),
                    );
                }
                if let Some(c) = k.chars().chain(v.chars()).find(|c| !is_tag_char(*c)) {
                    err(
                        path(),
                        ErrorCode::TagCharacters,
                        format!("has the character {c:?}; allowed are letters, numbers, spaces (not tabs, line feeds or other control characters) and + - = . _ : / @"),
                    );
                }
                let vn = if v.len() > MAX_TAG_VALUE_CHARS {
                    v.chars().count()
                } else {
                    0
                };
                if vn > MAX_TAG_VALUE_CHARS {
                    err(
                        path(),
                        ErrorCode::TagValueLength,
                        format!("tag value is {vn} characters long; KMS allows at most {MAX_TAG_VALUE_CHARS}"),
                    );
                }
            }
            Tags::from_map_unchecked(map)
        });

        // policy (parsed last so its many possible findings follow the scalar fields)
        let policy = match self.policy {
            None => None,
            Some(input) => {
                let parsed = match input {
                    PolicyInput::Text(t) => KeyPolicy::parse(&t),
                    PolicyInput::Value(v) => KeyPolicy::from_value(&v),
                    PolicyInput::Parsed(p) if p.is_checked() => Ok(p),
                    PolicyInput::Parsed(p) => KeyPolicy::parse(p.as_str()),
                };
                match parsed {
                    Ok(p) => {
                        if !self.bypass_policy_lockout_safety_check {
                            if !p.grants_to_anyone("kms:PutKeyPolicy") {
                                let hint = if p.grants_without_resource("kms:PutKeyPolicy") {
                                    " (an Allow statement names it but has no Resource, so it grants nothing: add \"Resource\": \"*\")"
                                } else {
                                    ""
                                };
                                err(
                                    "policy".into(),
                                    ErrorCode::PolicyLockout,
                                    format!(
                                        "no Allow statement lets any principal call kms:PutKeyPolicy{hint}, so nobody could change this policy again; grant it (e.g. kms:* to the account root) or set bypass_policy_lockout_safety_check = true"
                                    ),
                                );
                            } else if p.denies_to_everyone("kms:PutKeyPolicy") {
                                // A Deny wins over every Allow: the grant above is void.
                                err(
                                    "policy".into(),
                                    ErrorCode::PolicyLockout,
                                    "a Deny statement without a Condition denies kms:PutKeyPolicy to every principal (\"*\"), so nobody could change this policy again; narrow its Principal or Action, add a Condition, or set bypass_policy_lockout_safety_check = true".into(),
                                );
                            } else if p.denies_every_grantee("kms:PutKeyPolicy") {
                                err(
                                    "policy".into(),
                                    ErrorCode::PolicyLockout,
                                    "Deny statements without a Condition refuse kms:PutKeyPolicy to every principal an Allow grants it to (a Deny to an account covers every identity in it), so nobody could change this policy again; narrow a Deny's Principal, Action or Resource, add a Condition, or set bypass_policy_lockout_safety_check = true".into(),
                                );
                            }
                        }
                        warnings.extend(p.warnings());
                        Some(p)
                    }
                    Err(policy_errors) => {
                        errors.extend(policy_errors);
                        None
                    }
                }
            }
        };

        if let Some(errors) = ValidationErrors::from_vec(errors) {
            return Err(errors);
        }
        Ok(KmsKeySpec {
            description: self.description,
            key_usage: self.key_usage,
            key_spec,
            origin: self.origin,
            custom_key_store_id: self.custom_key_store_id,
            xks_key_id: self.xks_key_id,
            policy,
            bypass_policy_lockout_safety_check: self.bypass_policy_lockout_safety_check,
            deletion_window_in_days: deletion_window,
            is_enabled: self.is_enabled,
            enable_key_rotation: self.enable_key_rotation,
            rotation_period_in_days: rotation_period,
            multi_region: self.multi_region,
            tags,
            warnings,
        })
    }
}

fn join(usages: &[KeyUsage]) -> String {
    usages
        .iter()
        .map(|u| u.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
