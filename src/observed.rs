//! [`ObservedKey`]: what a backend reports about a live key, read by the reconciler.

use std::collections::BTreeMap;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::{Serialize, Serializer};

use crate::backend::KeyMetadata;
use crate::policy::KeyPolicy;
use crate::spec::{KeySpec, KeyState, KeyUsage, OWNERSHIP_TAG_KEY, Origin, RESERVED_TAG_PREFIX};

/// The live rotation settings of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObservedRotation {
    /// Whether automatic rotation is on.
    pub enabled: bool,
    /// The rotation period in days, when rotation is on and the backend reports it.
    pub period_in_days: Option<u16>,
}

/// The live state of one key, as far as it was read.
///
/// Facets the spec does not manage are not read (`None`): the policy is read only when the spec
/// sets one, the tags only when the spec sets them, and rotation only when the key can rotate
/// (keys that cannot rotate observe rotation as off without a call).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ObservedKey {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// The key state.
    pub state: KeyState,
    /// Whether the key is enabled.
    pub enabled: bool,
    /// The key spec.
    pub key_spec: KeySpec,
    /// The key usage.
    pub key_usage: KeyUsage,
    /// The origin of the key material.
    pub origin: Origin,
    /// Whether the key is multi-Region.
    pub multi_region: bool,
    /// The custom key store the key lives in.
    pub custom_key_store_id: Option<String>,
    /// The key's id in an external key manager.
    pub xks_key_id: Option<String>,
    /// The description (empty when none).
    pub description: String,
    /// The key policy, when read.
    pub policy: Option<ObservedPolicy>,
    /// Rotation, when known (read, or off because the key cannot rotate).
    pub rotation: Option<ObservedRotation>,
    /// All tags, when read (including `aws:` tags and the ownership tag).
    pub tags: Option<BTreeMap<String, String>>,
    /// When the key will be deleted, while it is pending deletion.
    #[serde(serialize_with = "ser_date")]
    pub deletion_date: Option<DateTime>,
}

/// A live key policy: its text as KMS returned it and, when it parses, the parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPolicy {
    text: String,
    parsed: Option<KeyPolicy>,
}

impl ObservedPolicy {
    /// Wraps a policy text returned by KMS.
    pub fn new(text: String) -> Self {
        let parsed = KeyPolicy::parse_observed(&text).ok();
        Self { text, parsed }
    }

    /// The text as KMS returned it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed policy (`None` if KMS returned something that does not parse).
    pub fn parsed(&self) -> Option<&KeyPolicy> {
        self.parsed.as_ref()
    }

    /// Whether this live policy means the same as `desired`.
    pub fn matches(&self, desired: &KeyPolicy) -> bool {
        self.parsed.as_ref().is_some_and(|p| p.equivalent(desired))
    }
}

impl Serialize for ObservedPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

fn ser_date<S: Serializer>(d: &Option<DateTime>, s: S) -> Result<S::Ok, S::Error> {
    match d.and_then(|d| d.fmt(Format::DateTime).ok()) {
        Some(text) => s.serialize_str(&text),
        None => s.serialize_none(),
    }
}

/// Whether a tag key is outside this crate's management: AWS's own `aws:` tags and the ownership
/// tag are never set, removed or shown as drift.
pub fn is_unmanaged_tag(key: &str) -> bool {
    key == OWNERSHIP_TAG_KEY
        || key
            .get(..RESERVED_TAG_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_TAG_PREFIX))
}

impl ObservedKey {
    /// An enabled SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT key with origin AWS_KMS, no description,
    /// and nothing else read — a starting point for tests and custom observers.
    pub fn new(key_id: impl Into<String>, arn: impl Into<String>) -> Self {
        Self {
            key_id: key_id.into(),
            arn: arn.into(),
            state: KeyState::Enabled,
            enabled: true,
            key_spec: KeySpec::SymmetricDefault,
            key_usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            multi_region: false,
            custom_key_store_id: None,
            xks_key_id: None,
            description: String::new(),
            policy: None,
            rotation: None,
            tags: None,
            deletion_date: None,
        }
    }

    /// The facets of `DescribeKey`'s answer; policy, rotation and tags unread.
    pub fn from_metadata(m: &KeyMetadata) -> Self {
        Self {
            key_id: m.key_id.clone(),
            arn: m.arn.clone(),
            state: m.key_state,
            enabled: m.enabled,
            key_spec: m.key_spec,
            key_usage: m.key_usage,
            origin: m.origin,
            multi_region: m.multi_region,
            custom_key_store_id: m.custom_key_store_id.clone(),
            xks_key_id: m.xks_key_id.clone(),
            description: m.description.clone(),
            policy: None,
            rotation: None,
            tags: None,
            deletion_date: m.deletion_date,
        }
    }

    /// Whether KMS can rotate this key automatically (SYMMETRIC_DEFAULT, origin AWS_KMS).
    pub fn can_rotate(&self) -> bool {
        self.key_spec.supports_rotation()
            && self.origin == Origin::AwsKms
            && self.custom_key_store_id.is_none()
    }

    /// The value of the ownership tag, when tags were read and it is there.
    pub fn logical_name(&self) -> Option<&str> {
        self.tags
            .as_ref()?
            .get(OWNERSHIP_TAG_KEY)
            .map(String::as_str)
    }
}
