//! The plan: a pure function of (desired spec, observed key) → an ordered list of [`Change`]s.
//!
//! No I/O happens here. The order is the one in which one apply makes its calls:
//!
//! 1. `CancelKeyDeletion` (only when the caller opted in to restoring a key pending deletion)
//! 2. `PutKeyPolicy` — first, because the new policy can grant what the later calls need
//! 3. `EnableKey` — rotation can only change on an enabled key
//! 4. `UpdateKeyDescription`
//! 5. `UntagResource` (removed keys), then `TagResource` (added and changed values, one call)
//! 6. `EnableKeyRotation` (also when only the period changed) / `DisableKeyRotation`
//! 7. `DisableKey` — last, because a disabled key refuses rotation changes
//!
//! A new key is one `CreateKey` carrying description, policy, tags, spec, usage, origin,
//! multi-Region, custom key store and the bypass flag; only rotation and `is_enabled = false`
//! follow as their own calls.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::backend::{CreateKeyRequest, Operation, Tag};
use crate::observed::{ObservedKey, ObservedRotation, is_unmanaged_tag};
use crate::policy::KeyPolicy;
use crate::spec::{KeySpec, KeyState, KeyUsage, KmsKeySpec, MAX_TAGS, OWNERSHIP_TAG_KEY, Origin};

/// What `CreateKey` will be sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreateKeyChange {
    /// `Description`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Policy` (KMS's default policy when `None`)
    #[serde(
        serialize_with = "ser_opt_policy",
        skip_serializing_if = "Option::is_none"
    )]
    pub policy: Option<KeyPolicy>,
    /// `BypassPolicyLockoutSafetyCheck`
    pub bypass_policy_lockout_safety_check: bool,
    /// `KeySpec`
    pub key_spec: KeySpec,
    /// `KeyUsage`
    pub key_usage: KeyUsage,
    /// `Origin`
    pub origin: Origin,
    /// `CustomKeyStoreId`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    /// `XksKeyId`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xks_key_id: Option<String>,
    /// `MultiRegion`
    pub multi_region: bool,
    /// `Tags`, the ownership tag included.
    pub tags: BTreeMap<String, String>,
}

impl CreateKeyChange {
    /// The backend request. Values equal to AWS's defaults are sent explicitly only when the
    /// spec set them, so the request is what the user wrote.
    pub fn to_request(&self) -> CreateKeyRequest {
        let mut r = CreateKeyRequest::new();
        r.description = self.description.clone();
        r.policy = self.policy.as_ref().map(|p| p.as_str().to_owned());
        r.bypass_policy_lockout_safety_check = self.bypass_policy_lockout_safety_check;
        r.key_spec = Some(self.key_spec);
        r.key_usage = Some(self.key_usage);
        r.origin = Some(self.origin);
        r.custom_key_store_id = self.custom_key_store_id.clone();
        r.xks_key_id = self.xks_key_id.clone();
        r.multi_region = self.multi_region;
        r.tags = self.tags.iter().map(|(k, v)| Tag::new(k, v)).collect();
        r
    }
}

/// One change to a key, named by the KMS API operation that makes it.
///
/// Serialized for machines as `{"op": "<operation>", ...}` with the before and after values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op")]
#[non_exhaustive]
pub enum Change {
    /// Create the key.
    CreateKey(CreateKeyChange),
    /// Cancel a scheduled deletion; the key comes back disabled.
    CancelKeyDeletion {
        /// When the key would have been deleted (RFC 3339).
        deletion_date: Option<String>,
    },
    /// Replace the key policy.
    PutKeyPolicy {
        /// The live policy text, when it was read.
        before: Option<String>,
        /// The desired policy.
        #[serde(serialize_with = "ser_policy")]
        after: KeyPolicy,
        /// Sent as `BypassPolicyLockoutSafetyCheck`.
        bypass_policy_lockout_safety_check: bool,
    },
    /// Enable the key.
    EnableKey,
    /// Change the description.
    UpdateKeyDescription {
        /// The live description.
        before: String,
        /// The desired description.
        after: String,
    },
    /// Remove tags the spec does not have.
    UntagResource {
        /// The keys removed, with the values they had.
        removed: BTreeMap<String, String>,
    },
    /// Add tags, or change their values, in one call.
    TagResource {
        /// The tags sent.
        tags: BTreeMap<String, String>,
        /// The live values of those keys (`None`: the key is new).
        before: BTreeMap<String, Option<String>>,
    },
    /// Turn rotation on, or change its period.
    EnableKeyRotation {
        /// The live rotation settings.
        before: ObservedRotation,
        /// The period sent (`None`: KMS keeps the current one, or uses 365 days).
        rotation_period_in_days: Option<u16>,
    },
    /// Turn rotation off.
    DisableKeyRotation,
    /// Disable the key.
    DisableKey,
}

impl Change {
    /// The KMS API operation that makes this change.
    pub fn operation(&self) -> Operation {
        match self {
            Change::CreateKey(_) => Operation::CreateKey,
            Change::CancelKeyDeletion { .. } => Operation::CancelKeyDeletion,
            Change::PutKeyPolicy { .. } => Operation::PutKeyPolicy,
            Change::EnableKey => Operation::EnableKey,
            Change::UpdateKeyDescription { .. } => Operation::UpdateKeyDescription,
            Change::UntagResource { .. } => Operation::UntagResource,
            Change::TagResource { .. } => Operation::TagResource,
            Change::EnableKeyRotation { .. } => Operation::EnableKeyRotation,
            Change::DisableKeyRotation => Operation::DisableKeyRotation,
            Change::DisableKey => Operation::DisableKey,
        }
    }
}

fn ser_policy<S: Serializer>(p: &KeyPolicy, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

fn ser_opt_policy<S: Serializer>(p: &Option<KeyPolicy>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_str(p.as_str()),
        None => s.serialize_none(),
    }
}

/// How a plan may treat the live key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// The logical name; written as the ownership tag when the key is created.
    pub name: Option<String>,
    /// Restore a key that is pending deletion (CancelKeyDeletion first) instead of refusing.
    pub restore: bool,
}

impl PlanOptions {
    /// Options for a key known by `name`.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            restore: false,
        }
    }

    /// The same options with restoring of keys pending deletion on or off.
    #[must_use]
    pub fn restore(mut self, restore: bool) -> Self {
        self.restore = restore;
        self
    }
}

/// Why no plan can make the live key match the spec. Nothing has been written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A field that KMS fixes at creation differs. Changing it would mean a new key, and
    /// everything encrypted under the old one would be lost when it is deleted: this crate never
    /// does that on its own.
    #[error(
        "{field} cannot change on an existing key (live: {live}, desired: {desired}); a different {field} needs a new key — create one under another name and migrate to it"
    )]
    Immutable {
        /// The spec field, e.g. `key_spec`.
        field: &'static str,
        /// The live value.
        live: String,
        /// The desired value.
        desired: String,
    },
    /// The key is pending deletion and restoring was not asked for.
    #[error(
        "key {key_id} is pending deletion{}; to keep it, reconcile with restore (CancelKeyDeletion), or choose another key",
        deletion_date.as_deref().map(|d| format!(" (deletion date {d})")).unwrap_or_default()
    )]
    PendingDeletion {
        /// The key.
        key_id: String,
        /// When it will be deleted (RFC 3339).
        deletion_date: Option<String>,
    },
    /// Rotation would have to change on a key that is and stays disabled: KMS refuses rotation
    /// changes on disabled keys, and enabling the key for a moment would break the spec.
    #[error(
        "enable_key_rotation: key {key_id} is disabled and is to stay disabled, and KMS changes rotation only on enabled keys; set is_enabled = true, or leave rotation as it is ({live})"
    )]
    RotationOnDisabledKey {
        /// The key.
        key_id: String,
        /// The live rotation, for the message.
        live: String,
    },
    /// The key is in a state in which it cannot be managed (Creating, Updating, Unavailable,
    /// PendingReplicaDeletion).
    #[error("key {key_id} is in state {state}; try again when it is Enabled or Disabled")]
    UnmanageableState {
        /// The key.
        key_id: String,
        /// Its state.
        state: KeyState,
    },
    /// The spec's tags and the ownership tag kms-key keeps on the key together exceed KMS's 50
    /// tags per key (`aws:` tags do not count).
    #[error(
        "tags: {count} tags plus the {OWNERSHIP_TAG_KEY} ownership tag that kms-key keeps on the key exceed the {MAX_TAGS} tags KMS allows per key; drop {}",
        count + kept - MAX_TAGS
    )]
    TooManyTags {
        /// The number of tags in the spec.
        count: usize,
        /// The tags kms-key keeps and never removes: the ownership tag (1).
        kept: usize,
    },
}

impl PlanError {
    /// A stable snake_case code for scripts: `immutable_field`, `pending_deletion`,
    /// `rotation_on_disabled_key`, `unmanageable_state`, `too_many_tags`.
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::Immutable { .. } => "immutable_field",
            PlanError::PendingDeletion { .. } => "pending_deletion",
            PlanError::RotationOnDisabledKey { .. } => "rotation_on_disabled_key",
            PlanError::UnmanageableState { .. } => "unmanageable_state",
            PlanError::TooManyTags { .. } => "too_many_tags",
        }
    }

    /// The spec field the refusal is about, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PlanError::Immutable { field, .. } => Some(field),
            PlanError::RotationOnDisabledKey { .. } => Some("enable_key_rotation"),
            PlanError::TooManyTags { .. } => Some("tags"),
            PlanError::PendingDeletion { .. } | PlanError::UnmanageableState { .. } => None,
        }
    }
}

/// An ordered list of changes to one key; empty when the key already matches.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    pub(crate) name: Option<String>,
    pub(crate) key_id: Option<String>,
    pub(crate) changes: Vec<Change>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) notes: Vec<String>,
}

// Read-only: `Reconciler::apply` trusts a plan to be what `plan` computed for its key.
impl Plan {
    /// The logical name, when the key is known by one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The key id; `None` when the key is to be created.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The changes, in the order they will be made.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// What a person should know about this plan (shown with it; empty for most plans).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Whether nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The operations the apply will call, in order.
    pub fn operations(&self) -> Vec<Operation> {
        self.changes.iter().map(Change::operation).collect()
    }

    /// Whether the plan creates a key.
    pub fn creates(&self) -> bool {
        matches!(self.changes.first(), Some(Change::CreateKey(_)))
    }
}

/// Computes the changes that make `observed` match `spec` (`observed = None`: the key does not
/// exist yet and is created).
///
/// ```
/// use kms_key::plan::{plan, PlanOptions};
/// use kms_key::KmsKeySpec;
///
/// let spec = KmsKeySpec::builder().description("KMS key 1").enable_key_rotation(true).build()?;
/// let p = plan(&spec, None, &PlanOptions::named("a"))?;
/// let ops: Vec<&str> = p.operations().iter().map(|o| o.as_str()).collect();
/// assert_eq!(ops, ["CreateKey", "EnableKeyRotation"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`PlanError`] when the live key cannot be made to match without replacing it, or is in a
/// state that forbids the changes.
pub fn plan(
    spec: &KmsKeySpec,
    observed: Option<&ObservedKey>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    match observed {
        None => plan_create(spec, options),
        Some(live) => plan_update(spec, live, options),
    }
}

fn plan_create(spec: &KmsKeySpec, options: &PlanOptions) -> Result<Plan, PlanError> {
    let mut tags: BTreeMap<String, String> =
        spec.tags().map(|t| t.as_map().clone()).unwrap_or_default();
    if let Some(name) = &options.name {
        if tags.len() >= MAX_TAGS {
            return Err(PlanError::TooManyTags {
                count: tags.len(),
                kept: 1,
            });
        }
        tags.insert(OWNERSHIP_TAG_KEY.to_owned(), name.clone());
    }
    let mut changes = vec![Change::CreateKey(CreateKeyChange {
        description: spec.description().map(str::to_owned),
        policy: spec.policy().cloned(),
        bypass_policy_lockout_safety_check: spec.bypass_policy_lockout_safety_check(),
        key_spec: spec.key_spec(),
        key_usage: spec.key_usage(),
        origin: spec.origin(),
        custom_key_store_id: spec.custom_key_store_id().map(str::to_owned),
        xks_key_id: spec.xks_key_id().map(str::to_owned),
        multi_region: spec.multi_region(),
        tags,
    })];
    // A new key is enabled with rotation off (an EXTERNAL key waits for its material, and its
    // enabled state cannot be managed until then).
    if spec.enable_key_rotation() {
        changes.push(Change::EnableKeyRotation {
            before: ObservedRotation {
                enabled: false,
                period_in_days: None,
            },
            rotation_period_in_days: spec.rotation_period().map(|p| p.days()),
        });
    }
    if !spec.is_enabled() && spec.origin() != Origin::External {
        changes.push(Change::DisableKey);
    }
    Ok(Plan {
        name: options.name.clone(),
        key_id: None,
        changes,
        notes: Vec::new(),
    })
}

fn check_immutable(spec: &KmsKeySpec, live: &ObservedKey) -> Result<(), PlanError> {
    fn differs<T: PartialEq + fmt::Display>(
        field: &'static str,
        live: T,
        desired: T,
    ) -> Result<(), PlanError> {
        if live == desired {
            Ok(())
        } else {
            Err(PlanError::Immutable {
                field,
                live: live.to_string(),
                desired: desired.to_string(),
            })
        }
    }
    // Shown as "none" when unset; compared without allocating (this runs for every key).
    #[derive(PartialEq)]
    struct Shown<'a>(Option<&'a str>);
    impl fmt::Display for Shown<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0.unwrap_or("none"))
        }
    }
    let show = Shown;
    // The fields a user writes come first, so the error names the one they changed (a custom
    // key store implies an origin: report the store, not the origin).
    differs("key_spec", live.key_spec, spec.key_spec())?;
    differs("key_usage", live.key_usage, spec.key_usage())?;
    differs(
        "custom_key_store_id",
        show(live.custom_key_store_id.as_deref()),
        show(spec.custom_key_store_id()),
    )?;
    differs(
        "xks_key_id",
        show(live.xks_key_id.as_deref()),
        show(spec.xks_key_id()),
    )?;
    differs("origin", live.origin, spec.origin())?;
    differs("multi_region", live.multi_region, spec.multi_region())?;
    Ok(())
}

/// The refusals that need nothing but what `DescribeKey` tells (immutable fields, key state).
/// The engine checks them before it reads a key's other facets, so that a refused plan costs
/// one read.
pub(crate) fn refuse_early(
    spec: &KmsKeySpec,
    live: &ObservedKey,
    restore: bool,
) -> Result<(), PlanError> {
    check_immutable(spec, live)?;
    match live.state {
        KeyState::Enabled | KeyState::Disabled | KeyState::PendingImport => Ok(()),
        KeyState::PendingDeletion if restore => Ok(()),
        KeyState::PendingDeletion => Err(PlanError::PendingDeletion {
            key_id: live.key_id.clone(),
            deletion_date: fmt_date(live.deletion_date),
        }),
        state => Err(PlanError::UnmanageableState {
            key_id: live.key_id.clone(),
            state,
        }),
    }
}

fn plan_update(
    spec: &KmsKeySpec,
    live: &ObservedKey,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    refuse_early(spec, live, options.restore)?;
    let mut changes = Vec::new();

    // Where the key stands once the earlier changes are made.
    let mut enabled = live.enabled;
    if live.state == KeyState::PendingDeletion {
        // Refused above unless restoring.
        changes.push(Change::CancelKeyDeletion {
            deletion_date: fmt_date(live.deletion_date),
        });
        enabled = false; // CancelKeyDeletion leaves the key Disabled.
    }
    // Until its material is imported, an EXTERNAL key refuses EnableKey and DisableKey.
    let manage_enabled = live.state != KeyState::PendingImport;

    if let Some(desired) = spec.policy()
        && let Some(observed) = &live.policy
        && !observed.matches(desired)
    {
        changes.push(Change::PutKeyPolicy {
            before: Some(observed.text().to_owned()),
            after: desired.clone(),
            bypass_policy_lockout_safety_check: spec.bypass_policy_lockout_safety_check(),
        });
    }

    if manage_enabled && spec.is_enabled() && !enabled {
        changes.push(Change::EnableKey);
        enabled = true;
    }

    if let Some(desired) = spec.description()
        && desired != live.description
    {
        changes.push(Change::UpdateKeyDescription {
            before: live.description.clone(),
            after: desired.to_owned(),
        });
    }

    if let (Some(desired), Some(observed)) = (spec.tags(), &live.tags) {
        // The ownership tag, which kms-key never removes, counts against KMS's limit: refuse
        // before any write rather than fail halfway at TagResource. `aws:` tags do not count
        // (AWS's tagging rules).
        let kept = usize::from(observed.contains_key(OWNERSHIP_TAG_KEY));
        if desired.len() + kept > MAX_TAGS {
            return Err(PlanError::TooManyTags {
                count: desired.len(),
                kept,
            });
        }
        let removed: BTreeMap<String, String> = observed
            .iter()
            .filter(|(k, _)| !is_unmanaged_tag(k) && desired.get(k).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut set = BTreeMap::new();
        let mut before = BTreeMap::new();
        for (k, v) in desired.iter() {
            let old = observed.get(k);
            if old.map(String::as_str) != Some(v) {
                set.insert(k.to_owned(), v.to_owned());
                before.insert(k.to_owned(), old.cloned());
            }
        }
        if !removed.is_empty() {
            changes.push(Change::UntagResource { removed });
        }
        if !set.is_empty() {
            changes.push(Change::TagResource { tags: set, before });
        }
    }

    // Rotation is unknown only while a key is pending deletion (KMS reports it off then); a
    // restore reads it again once the key is back, and changes it then.
    if live.can_rotate()
        && let Some(observed) = live.rotation
    {
        let want_period = spec.rotation_period().map(|p| p.days());
        let rotation_change = match (spec.enable_key_rotation(), observed.enabled) {
            (true, false) => Some(Change::EnableKeyRotation {
                before: observed,
                rotation_period_in_days: want_period,
            }),
            // A backend that does not report the period (moto) cannot show drift in it.
            (true, true)
                if want_period.is_some()
                    && observed.period_in_days.is_some()
                    && want_period != observed.period_in_days =>
            {
                Some(Change::EnableKeyRotation {
                    before: observed,
                    rotation_period_in_days: want_period,
                })
            }
            (false, true) => Some(Change::DisableKeyRotation),
            _ => None,
        };
        if let Some(change) = rotation_change {
            if !enabled {
                return Err(PlanError::RotationOnDisabledKey {
                    key_id: live.key_id.clone(),
                    live: describe_rotation(observed),
                });
            }
            changes.push(change);
        }
    }

    if manage_enabled && !spec.is_enabled() && enabled {
        changes.push(Change::DisableKey);
    }

    let mut notes = Vec::new();
    if live.state == KeyState::PendingDeletion && live.can_rotate() && live.rotation.is_none() {
        notes.push(
            "KMS reports rotation as off while a key is pending deletion: rotation is read again once the key is restored, and changed then if it differs".to_owned(),
        );
    }
    Ok(Plan {
        name: options.name.clone(),
        key_id: Some(live.key_id.clone()),
        changes,
        notes,
    })
}

fn describe_rotation(r: ObservedRotation) -> String {
    match (r.enabled, r.period_in_days) {
        (false, _) => "off".to_owned(),
        (true, Some(p)) => format!("on, every {p} days"),
        (true, None) => "on".to_owned(),
    }
}

pub(crate) fn fmt_date(d: Option<aws_smithy_types::DateTime>) -> Option<String> {
    d.and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

/// What the key looks like after `changes` were made to `live` (for an outcome's final state,
/// without another read).
pub(crate) fn apply_to(live: &mut ObservedKey, change: &Change) {
    match change {
        Change::CreateKey(_) => {}
        Change::CancelKeyDeletion { .. } => {
            live.state = KeyState::Disabled;
            live.enabled = false;
            live.deletion_date = None;
        }
        Change::PutKeyPolicy { after, .. } => {
            live.policy = Some(crate::observed::ObservedPolicy::new(
                after.as_str().to_owned(),
            ));
        }
        Change::EnableKey => {
            live.state = KeyState::Enabled;
            live.enabled = true;
        }
        Change::UpdateKeyDescription { after, .. } => live.description = after.clone(),
        Change::UntagResource { removed } => {
            if let Some(tags) = &mut live.tags {
                tags.retain(|k, _| !removed.contains_key(k));
            }
        }
        Change::TagResource { tags, .. } => {
            let live_tags = live.tags.get_or_insert_with(BTreeMap::new);
            live_tags.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Change::EnableKeyRotation {
            before,
            rotation_period_in_days,
        } => {
            let period = rotation_period_in_days.or(if before.enabled {
                before.period_in_days
            } else {
                Some(365)
            });
            live.rotation = Some(ObservedRotation {
                enabled: true,
                period_in_days: period,
            });
        }
        Change::DisableKeyRotation => {
            live.rotation = Some(ObservedRotation {
                enabled: false,
                period_in_days: None,
            })
        }
        Change::DisableKey => {
            live.state = KeyState::Disabled;
            live.enabled = false;
        }
    }
}

mod render;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::ObservedPolicy;

    const P_ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

    fn live() -> ObservedKey {
        let mut k = ObservedKey::new("k1", "arn:aws:kms:us-east-1:111122223333:key/k1");
        k.rotation = Some(ObservedRotation {
            enabled: false,
            period_in_days: None,
        });
        k
    }

    fn ops(spec: &KmsKeySpec, live: &ObservedKey) -> Vec<Operation> {
        plan(spec, Some(live), &PlanOptions::default())
            .unwrap()
            .operations()
    }

    #[test]
    fn deletion_window_change_is_never_drift() {
        let spec = KmsKeySpec::builder()
            .deletion_window_in_days(7)
            .build()
            .unwrap();
        assert_eq!(ops(&spec, &live()), []);
    }

    #[test]
    fn create_puts_everything_in_one_call() {
        let spec = KmsKeySpec::builder()
            .description("d")
            .policy(P_ROOT)
            .tag("env", "dev")
            .build()
            .unwrap();
        let p = plan(&spec, None, &PlanOptions::named("a")).unwrap();
        assert_eq!(p.operations(), [Operation::CreateKey]);
        let Change::CreateKey(c) = &p.changes[0] else {
            panic!()
        };
        let r = c.to_request();
        assert_eq!(r.description.as_deref(), Some("d"));
        assert_eq!(r.policy.as_deref(), Some(P_ROOT));
        assert_eq!(
            r.tags,
            [Tag::new("env", "dev"), Tag::new(OWNERSHIP_TAG_KEY, "a")]
        );
    }

    #[test]
    fn create_with_rotation_and_disabled() {
        let spec = KmsKeySpec::builder()
            .enable_key_rotation(true)
            .rotation_period_in_days(180)
            .is_enabled(false)
            .build()
            .unwrap();
        let p = plan(&spec, None, &PlanOptions::named("a")).unwrap();
        assert_eq!(
            p.operations(),
            [
                Operation::CreateKey,
                Operation::EnableKeyRotation,
                Operation::DisableKey
            ]
        );
    }

    #[test]
    fn rotation_vs_enabled_ordering_a_enable_then_rotate() {
        let mut k = live();
        k.enabled = false;
        k.state = KeyState::Disabled;
        let spec = KmsKeySpec::builder()
            .enable_key_rotation(true)
            .build()
            .unwrap();
        assert_eq!(
            ops(&spec, &k),
            [Operation::EnableKey, Operation::EnableKeyRotation]
        );
    }

    #[test]
    fn rotation_vs_enabled_ordering_b_rotate_then_disable() {
        let spec = KmsKeySpec::builder()
            .is_enabled(false)
            .enable_key_rotation(true)
            .build()
            .unwrap();
        assert_eq!(
            ops(&spec, &live()),
            [Operation::EnableKeyRotation, Operation::DisableKey]
        );
    }

    #[test]
    fn rotation_vs_enabled_ordering_c_disable_rotation_then_key() {
        let mut k = live();
        k.rotation = Some(ObservedRotation {
            enabled: true,
            period_in_days: Some(365),
        });
        let spec = KmsKeySpec::builder().is_enabled(false).build().unwrap();
        assert_eq!(
            ops(&spec, &k),
            [Operation::DisableKeyRotation, Operation::DisableKey]
        );
    }

    #[test]
    fn rotation_change_on_a_key_that_stays_disabled_is_refused() {
        let mut k = live();
        k.enabled = false;
        k.state = KeyState::Disabled;
        let spec = KmsKeySpec::builder()
            .is_enabled(false)
            .enable_key_rotation(true)
            .build()
            .unwrap();
        let err = plan(&spec, Some(&k), &PlanOptions::default()).unwrap_err();
        assert_eq!(
            err,
            PlanError::RotationOnDisabledKey {
                key_id: "k1".into(),
                live: "off".into()
            }
        );
        // Nothing to change about rotation: a disabled key stays disabled, no error.
        let spec = KmsKeySpec::builder().is_enabled(false).build().unwrap();
        assert_eq!(ops(&spec, &k), []);
    }

    #[test]
    fn rotation_period_change_alone_is_one_enable_call() {
        let mut k = live();
        k.rotation = Some(ObservedRotation {
            enabled: true,
            period_in_days: Some(365),
        });
        let spec = KmsKeySpec::builder()
            .enable_key_rotation(true)
            .rotation_period_in_days(90)
            .build()
            .unwrap();
        let p = plan(&spec, Some(&k), &PlanOptions::default()).unwrap();
        assert_eq!(
            p.changes,
            [Change::EnableKeyRotation {
                before: ObservedRotation {
                    enabled: true,
                    period_in_days: Some(365)
                },
                rotation_period_in_days: Some(90)
            }]
        );
        // Rotation on without a managed period: no change, whatever the live period.
        let spec = KmsKeySpec::builder()
            .enable_key_rotation(true)
            .build()
            .unwrap();
        assert_eq!(ops(&spec, &k), []);
    }

    #[test]
    fn immutable_fields_and_defaults_explicit_defaults_are_no_change() {
        let k = live();
        let unset = KmsKeySpec::builder().build().unwrap();
        let explicit = KmsKeySpec::builder()
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsage::EncryptDecrypt)
            .multi_region(false)
            .build()
            .unwrap();
        assert_eq!(ops(&unset, &k), []);
        assert_eq!(ops(&explicit, &k), []);
    }

    #[test]
    fn immutable_fields_and_defaults_differences_are_typed_errors() {
        let k = live();
        let cases = [
            (
                KmsKeySpec::builder()
                    .key_spec(KeySpec::Rsa2048)
                    .key_usage(KeyUsage::EncryptDecrypt),
                "key_spec",
                "SYMMETRIC_DEFAULT",
                "RSA_2048",
            ),
            (
                KmsKeySpec::builder().multi_region(true),
                "multi_region",
                "false",
                "true",
            ),
            (
                KmsKeySpec::builder().custom_key_store_id("cks-1234567890abcdef0"),
                "custom_key_store_id",
                "none",
                "cks-1234567890abcdef0",
            ),
        ];
        for (b, field, live_v, desired) in cases {
            let err = plan(&b.build().unwrap(), Some(&k), &PlanOptions::default()).unwrap_err();
            assert_eq!(
                err,
                PlanError::Immutable {
                    field,
                    live: live_v.to_owned(),
                    desired: desired.to_owned()
                },
                "{field}"
            );
        }
    }

    #[test]
    fn aws_tags_do_not_count_against_the_tag_limit_but_the_ownership_tag_does() {
        let user: Vec<(String, String)> =
            (0..48).map(|i| (format!("k{i}"), String::new())).collect();
        let mut k = live();
        let mut tags: BTreeMap<String, String> = user.iter().cloned().collect();
        for stack in ["stack-name", "stack-id", "logical-id"] {
            tags.insert(format!("aws:cloudformation:{stack}"), "s".to_owned());
        }
        k.tags = Some(tags.clone());
        // 48 + 3 aws: tags: nothing to change.
        let spec = KmsKeySpec::builder().tags(user.clone()).build().unwrap();
        assert_eq!(ops(&spec, &k), []);
        // 50 of the spec's own plus the ownership tag: one too many.
        tags.insert(OWNERSHIP_TAG_KEY.to_owned(), "a".to_owned());
        k.tags = Some(tags);
        let fifty: Vec<(String, String)> =
            (0..50).map(|i| (format!("k{i}"), String::new())).collect();
        let spec = KmsKeySpec::builder().tags(fifty).build().unwrap();
        assert_eq!(
            plan(&spec, Some(&k), &PlanOptions::default()),
            Err(PlanError::TooManyTags { count: 50, kept: 1 })
        );
    }

    #[test]
    fn tags_diff_untag_then_tag_ignoring_aws_and_ownership_tags() {
        let mut k = live();
        k.tags = Some(
            [
                ("env", "dev"),
                ("old", "x"),
                ("aws:cloudformation:stack-name", "s"),
                (OWNERSHIP_TAG_KEY, "a"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
        );
        let spec = KmsKeySpec::builder()
            .tag("env", "prod")
            .tag("team", "a")
            .build()
            .unwrap();
        let p = plan(&spec, Some(&k), &PlanOptions::default()).unwrap();
        assert_eq!(
            p.changes,
            [
                Change::UntagResource {
                    removed: [("old".to_owned(), "x".to_owned())].into()
                },
                Change::TagResource {
                    tags: [
                        ("env".to_owned(), "prod".to_owned()),
                        ("team".to_owned(), "a".to_owned())
                    ]
                    .into(),
                    before: [
                        ("env".to_owned(), Some("dev".to_owned())),
                        ("team".to_owned(), None)
                    ]
                    .into(),
                },
            ]
        );
    }

    #[test]
    fn policy_format_noise_is_no_change() {
        let mut k = live();
        let pretty = r#"{
    "Statement": [
        {
            "Resource": "*",
            "Action": "kms:*",
            "Principal": { "AWS": "arn:aws:iam::111122223333:root" },
            "Effect": "Allow",
            "Sid": "Root"
        }
    ],
    "Version": "2012-10-17"
}
"#;
        k.policy = Some(ObservedPolicy::new(P_ROOT.to_owned()));
        let spec = KmsKeySpec::builder().policy(pretty).build().unwrap();
        assert_eq!(ops(&spec, &k), []);
        let deny = KmsKeySpec::builder()
            .policy(pretty.replace("\"Allow\"", "\"Deny\""))
            .bypass_policy_lockout_safety_check(true)
            .build()
            .unwrap();
        assert_eq!(ops(&deny, &k), [Operation::PutKeyPolicy]);
    }

    #[test]
    fn pending_deletion_is_refused_unless_restoring() {
        let mut k = live();
        k.state = KeyState::PendingDeletion;
        k.enabled = false;
        let spec = KmsKeySpec::builder().build().unwrap();
        let err = plan(&spec, Some(&k), &PlanOptions::default()).unwrap_err();
        assert_eq!(
            err,
            PlanError::PendingDeletion {
                key_id: "k1".into(),
                deletion_date: None
            }
        );
        let p = plan(&spec, Some(&k), &PlanOptions::default().restore(true)).unwrap();
        assert_eq!(
            p.operations(),
            [Operation::CancelKeyDeletion, Operation::EnableKey]
        );
    }

    #[test]
    fn plan_order_is_design_order() {
        let mut k = live();
        k.enabled = false;
        k.state = KeyState::Disabled;
        k.description = "old".into();
        k.policy = Some(ObservedPolicy::new(P_ROOT.replace("Root", "Old")));
        k.tags = Some([("gone".to_owned(), "1".to_owned())].into());
        let spec = KmsKeySpec::builder()
            .description("new")
            .policy(P_ROOT)
            .tag("env", "dev")
            .enable_key_rotation(true)
            .build()
            .unwrap();
        assert_eq!(
            ops(&spec, &k),
            [
                Operation::PutKeyPolicy,
                Operation::EnableKey,
                Operation::UpdateKeyDescription,
                Operation::UntagResource,
                Operation::TagResource,
                Operation::EnableKeyRotation,
            ]
        );
    }

    #[test]
    fn serializes_each_change_with_its_op() {
        let spec = KmsKeySpec::builder()
            .description("new")
            .is_enabled(false)
            .build()
            .unwrap();
        let p = plan(&spec, Some(&live()), &PlanOptions::default()).unwrap();
        assert_eq!(
            serde_json::to_value(&p.changes).unwrap(),
            serde_json::json!([
                {"op": "UpdateKeyDescription", "before": "", "after": "new"},
                {"op": "DisableKey"}
            ])
        );
    }

    #[test]
    fn renders_a_readable_diff() {
        let spec = KmsKeySpec::builder()
            .description("new")
            .tag("env", "prod")
            .build()
            .unwrap();
        let mut k = live();
        k.tags = Some([("env".to_owned(), "dev".to_owned())].into());
        let p = plan(&spec, Some(&k), &PlanOptions::named("a")).unwrap();
        assert_eq!(
            p.to_string(),
            "  ~ key \"a\" (k1) will be updated in place\n      ~ description  = \"\" -> \"new\"\n      ~ tags[\"env\"] = \"dev\" -> \"prod\"\n  2 calls to make: UpdateKeyDescription, TagResource\n"
        );
    }
}
