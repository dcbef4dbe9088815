//! The desired state of one KMS key: [`KmsKeySpec`], its builder and its validation.
//!
//! A `KmsKeySpec` holds the arguments of Terraform's `aws_kms_key` resource. It can only be made
//! by [`KmsKeySpecBuilder::build`] or by deserializing (which runs the same validation), so a
//! value of this type is always a key AWS would accept.
//!
//! An unset optional field means "not managed": the live value is left alone. An empty tag map
//! means "manage: no tags".

mod builder;
mod enums;
mod serde_impl;
pub mod terraform;
mod values;

use serde::Serialize;

pub use builder::KmsKeySpecBuilder;
pub use enums::{KeySpec, KeyState, KeyUsage, Origin, UnknownValue};
pub use serde_impl::FIELD_NAMES;
pub use values::*;

use crate::policy::KeyPolicy;
use crate::validation::Warning;

/// The desired state of one KMS key, validated.
///
/// # Example
/// ```
/// use kms_key::spec::{KeySpec, KeyUsage, KmsKeySpec};
///
/// let spec = KmsKeySpec::builder()
///     .description("signs release artifacts")
///     .key_spec(KeySpec::EccNistP256)
///     .key_usage(KeyUsage::SignVerify)
///     .tag("team", "release")
///     .build()?;
/// assert_eq!(spec.key_usage(), KeyUsage::SignVerify);
/// assert!(!spec.enable_key_rotation());
/// # Ok::<(), kms_key::ValidationErrors>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KmsKeySpec {
    pub(crate) description: Option<String>,
    pub(crate) key_usage: Option<KeyUsage>,
    pub(crate) key_spec: Option<KeySpec>,
    pub(crate) origin: Option<Origin>,
    pub(crate) custom_key_store_id: Option<String>,
    pub(crate) xks_key_id: Option<String>,
    pub(crate) policy: Option<KeyPolicy>,
    pub(crate) bypass_policy_lockout_safety_check: bool,
    pub(crate) deletion_window_in_days: Option<DeletionWindow>,
    pub(crate) is_enabled: bool,
    pub(crate) enable_key_rotation: bool,
    pub(crate) rotation_period_in_days: Option<RotationPeriod>,
    pub(crate) multi_region: bool,
    pub(crate) tags: Option<Tags>,
    pub(crate) warnings: Vec<Warning>,
}

impl KmsKeySpec {
    /// A builder with every field unset (Terraform's defaults).
    #[inline]
    pub fn builder() -> KmsKeySpecBuilder {
        KmsKeySpecBuilder::default()
    }

    /// A builder holding this spec's values, to make a changed copy.
    pub fn to_builder(&self) -> KmsKeySpecBuilder {
        KmsKeySpecBuilder::from_spec(self)
    }

    /// The description, when managed.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The key usage: the one given, or the key spec's default (ENCRYPT_DECRYPT for
    /// SYMMETRIC_DEFAULT, the only spec that has one).
    pub fn key_usage(&self) -> KeyUsage {
        self.key_usage
            .or_else(|| self.key_spec().default_usage())
            .expect("validated: usage is given for every spec without a default")
    }

    /// The key usage as given, `None` when left to the default.
    pub fn key_usage_explicit(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// The key spec: the one given, or SYMMETRIC_DEFAULT.
    pub fn key_spec(&self) -> KeySpec {
        self.key_spec.unwrap_or_default()
    }

    /// The key spec as given, `None` when left to the default.
    pub fn key_spec_explicit(&self) -> Option<KeySpec> {
        self.key_spec
    }

    /// Where the key material comes from: the one given, or what the custom key store settings
    /// imply (AWS_CLOUDHSM, or EXTERNAL_KEY_STORE with an `xks_key_id`), else AWS_KMS.
    pub fn origin(&self) -> Origin {
        self.origin
            .unwrap_or(match (&self.custom_key_store_id, &self.xks_key_id) {
                (Some(_), Some(_)) => Origin::ExternalKeyStore,
                (Some(_), None) => Origin::AwsCloudhsm,
                _ => Origin::AwsKms,
            })
    }

    /// The origin as given, `None` when implied.
    pub fn origin_explicit(&self) -> Option<Origin> {
        self.origin
    }

    /// The custom key store the key lives in, if any.
    pub fn custom_key_store_id(&self) -> Option<&str> {
        self.custom_key_store_id.as_deref()
    }

    /// The id of the key in the external key manager (external key stores only).
    pub fn xks_key_id(&self) -> Option<&str> {
        self.xks_key_id.as_deref()
    }

    /// The key policy, when managed. Unset on create means KMS's default policy.
    pub fn policy(&self) -> Option<&KeyPolicy> {
        self.policy.as_ref()
    }

    /// Whether to skip KMS's policy lockout safety check. Sent with CreateKey/PutKeyPolicy;
    /// never a change by itself.
    pub fn bypass_policy_lockout_safety_check(&self) -> bool {
        self.bypass_policy_lockout_safety_check
    }

    /// The waiting period used when the key is destroyed (default 30 days). KMS does not store
    /// it, so changing it is never drift.
    pub fn deletion_window(&self) -> DeletionWindow {
        self.deletion_window_in_days.unwrap_or_default()
    }

    /// The deletion window as given, `None` when left to the default.
    pub fn deletion_window_explicit(&self) -> Option<DeletionWindow> {
        self.deletion_window_in_days
    }

    /// Whether the key should be enabled (default true).
    pub fn is_enabled(&self) -> bool {
        self.is_enabled
    }

    /// Whether automatic rotation should be on (default false).
    pub fn enable_key_rotation(&self) -> bool {
        self.enable_key_rotation
    }

    /// The rotation period, when managed (only with rotation on; KMS's default is 365 days).
    pub fn rotation_period(&self) -> Option<RotationPeriod> {
        self.rotation_period_in_days
    }

    /// Whether the key is a multi-Region primary key (default false).
    pub fn multi_region(&self) -> bool {
        self.multi_region
    }

    /// The tags, when managed (`Some` of an empty set manages "no tags").
    pub fn tags(&self) -> Option<&Tags> {
        self.tags.as_ref()
    }

    /// Whether a key of this spec can have automatic rotation (SYMMETRIC_DEFAULT, origin AWS_KMS).
    pub fn can_rotate(&self) -> bool {
        self.key_spec().supports_rotation() && self.origin() == Origin::AwsKms
    }

    /// Lint warnings found while validating: things AWS accepts that are probably mistakes, or
    /// that only some Regions accept (`key_spec_china_regions_only` for SM2, at `key_spec`),
    /// then the policy's (see [`KeyPolicy::warnings`]).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}

impl Serialize for KmsKeySpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_impl::serialize(self, s)
    }
}
