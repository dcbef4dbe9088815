//! The store of the in-memory KMS and the rules of each operation.
//!
//! Every operation checks everything before it changes anything, so a refused call leaves the
//! store as it was. Checks run in AWS's order: request shape (ValidationException), then the
//! key (NotFoundException), then the key's state, then the operation's own rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backend::{
    CreateKeyRequest, DeletionScheduled, ErrorKind, KeyListEntry, KeyMetadata, KeyPage,
    MultiRegionKeyType, RotationStatus, Tag, TagPage,
};
use crate::policy::{KeyPolicy, MAX_POLICY_BYTES};
use crate::spec::{
    DEFAULT_ROTATION_PERIOD_DAYS, KeySpec, KeyState, KeyUsage, MAX_DELETION_WINDOW_DAYS,
    MAX_DESCRIPTION_CHARS, MAX_ROTATION_PERIOD_DAYS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS,
    MAX_TAGS, MIN_DELETION_WINDOW_DAYS, MIN_ROTATION_PERIOD_DAYS, Origin, RESERVED_TAG_PREFIX,
    is_tag_char,
};
use crate::validation::ErrorCode;

use super::hooks::FaultScript;
use super::rules::{
    Failure, POLICY_PATTERN, ShapeErrors, TAG_PATTERN, algorithms, aws_pretty, is_key_id,
    partition_of, policy_chars_ok,
};

/// The snapshot format this code writes and reads.
pub(super) const SNAPSHOT_VERSION: u32 = 1;
const DAY_SECS: i64 = 86_400;
const INVALID_MARKER: &str = "The request was rejected because the marker that specifies where pagination should next begin is not valid.";

/// The kind of a custom key store (private mirror of the public enum, for the snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum StoreKind {
    CloudHsm,
    External,
}

impl StoreKind {
    fn origin(self) -> Origin {
        match self {
            StoreKind::CloudHsm => Origin::AwsCloudhsm,
            StoreKind::External => Origin::ExternalKeyStore,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoreRecord {
    pub(super) kind: StoreKind,
    pub(super) connected: bool,
}

/// A deterministic id source (SplitMix64): the same seed gives the same key ids, and its
/// state is saved with the snapshot so a restored store does not hand out ids again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    pub(super) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random (version 4) UUID, as KMS key ids are.
    fn uuid(&mut self) -> String {
        let hi = (self.next_u64() & !0xF000) | 0x4000;
        let lo = (self.next_u64() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }

    /// A multi-Region key id: `mrk-` and 32 lowercase hex digits.
    fn mrk(&mut self) -> String {
        format!("mrk-{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct RotationRecord {
    period_days: i32,
    /// When rotation was turned on (epoch seconds): rotations fall every period after it.
    since: i64,
}

impl RotationRecord {
    fn next_rotation(&self, now: i64) -> i64 {
        let period = i64::from(self.period_days) * DAY_SECS;
        if now < self.since + period {
            self.since + period
        } else {
            self.since + ((now - self.since) / period + 1) * period
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRecord {
    /// Creation order; ListKeys pages in this order.
    seq: u64,
    key_id: String,
    creation_date: i64,
    description: String,
    /// The policy as GetKeyPolicy answers it (already reformatted).
    policy: String,
    key_spec: KeySpec,
    key_usage: KeyUsage,
    origin: Origin,
    custom_key_store_id: Option<String>,
    xks_key_id: Option<String>,
    multi_region: bool,
    key_state: KeyState,
    deletion_date: Option<i64>,
    pending_window_in_days: Option<i32>,
    rotation: Option<RotationRecord>,
    tags: BTreeMap<String, String>,
}

impl KeyRecord {
    fn rotation_unsupported(&self, arn: &str) -> Option<Failure> {
        if self.origin != Origin::AwsKms {
            Some(Failure::new(
                ErrorKind::UnsupportedOperation,
                format!(
                    "{arn} origin is {} which is not valid for this operation.",
                    self.origin
                ),
            ))
        } else if !self.key_spec.supports_rotation() || self.custom_key_store_id.is_some() {
            Some(Failure::new(
                ErrorKind::UnsupportedOperation,
                format!(
                    "{arn} KeySpec is {} which is not valid for this operation.",
                    self.key_spec
                ),
            ))
        } else {
            None
        }
    }
}

/// Everything the snapshot holds: configuration that shapes answers, the keys and the id source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct State {
    pub(super) version: u32,
    pub(super) account_id: String,
    pub(super) region: String,
    pub(super) caller_principal: String,
    pub(super) known_principals: BTreeSet<String>,
    pub(super) custom_key_stores: BTreeMap<String, StoreRecord>,
    pub(super) list_keys_page_size: usize,
    pub(super) tags_page_size: usize,
    ids: IdGenerator,
    next_seq: u64,
    keys: Vec<KeyRecord>,
    /// key id → position in `keys`; rebuilt after loading and after a purge.
    #[serde(skip)]
    index: HashMap<String, usize>,
    /// No key's deletion date is earlier than this (`None`: no key is pending deletion), so
    /// that the purge run before every call does not walk every key. May be earlier than the
    /// real earliest date (after a cancel), never later.
    #[serde(skip)]
    earliest_deletion: Option<i64>,
}

/// The settings a fresh store starts from.
#[derive(Debug, Clone)]
pub(super) struct StateConfig {
    pub(super) account_id: String,
    pub(super) region: String,
    pub(super) caller_principal: String,
    pub(super) known_principals: BTreeSet<String>,
    pub(super) custom_key_stores: BTreeMap<String, StoreRecord>,
    pub(super) list_keys_page_size: usize,
    pub(super) tags_page_size: usize,
    pub(super) seed: u64,
}

impl State {
    pub(super) fn new(config: StateConfig) -> Self {
        Self {
            version: SNAPSHOT_VERSION,
            account_id: config.account_id,
            region: config.region,
            caller_principal: config.caller_principal,
            known_principals: config.known_principals,
            custom_key_stores: config.custom_key_stores,
            list_keys_page_size: config.list_keys_page_size.max(1),
            tags_page_size: config.tags_page_size.max(1),
            ids: IdGenerator::new(config.seed),
            next_seq: 0,
            keys: Vec::new(),
            index: HashMap::new(),
            earliest_deletion: None,
        }
    }

    /// Rebuilds the id index; `Err` names the problem when the keys are not consistent.
    pub(super) fn rebuild_index(&mut self) -> Result<(), String> {
        self.index.clear();
        let mut last_seq = None;
        for (i, key) in self.keys.iter().enumerate() {
            if self.index.insert(key.key_id.clone(), i).is_some() {
                return Err(format!("key id {} appears twice", key.key_id));
            }
            if last_seq.is_some_and(|s| s >= key.seq) || key.seq >= self.next_seq {
                return Err(format!("key {} is out of creation order", key.key_id));
            }
            last_seq = Some(key.seq);
        }
        self.list_keys_page_size = self.list_keys_page_size.max(1);
        self.tags_page_size = self.tags_page_size.max(1);
        self.earliest_deletion = self.keys.iter().filter_map(|k| k.deletion_date).min();
        Ok(())
    }

    pub(super) fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }

    pub(super) fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn arn(&self, key_id: &str) -> String {
        format!(
            "arn:{}:kms:{}:{}:key/{key_id}",
            self.partition(),
            self.region,
            self.account_id
        )
    }

    /// Finds a key given as a key id or a key ARN, answering AWS's NotFound otherwise.
    fn lookup(&self, given: &str) -> Result<usize, Failure> {
        if given.is_empty() {
            let mut shape = ShapeErrors::default();
            shape.min_len(given, "keyId", 1);
            shape.into_result()?;
        }
        let invalid = || Failure::new(ErrorKind::NotFound, format!("Invalid keyId '{given}'"));
        if given.starts_with("arn:") {
            let parts: Vec<&str> = given.splitn(6, ':').collect();
            if parts.len() != 6 || parts[2] != "kms" {
                return Err(invalid());
            }
            if parts[5].starts_with("alias/") {
                return Err(Failure::new(
                    ErrorKind::NotFound,
                    format!("Alias {given} is not found."),
                ));
            }
            let Some(id) = parts[5].strip_prefix("key/").filter(|id| is_key_id(id)) else {
                return Err(invalid());
            };
            let ours = parts[1] == self.partition()
                && parts[3] == self.region
                && parts[4] == self.account_id;
            return match self.index.get(id) {
                Some(&i) if ours => Ok(i),
                // A key of another account or Region is not visible here. KMS answers from the
                // caller's Region, and its message names the ARN built with that Region.
                _ => Err(Failure::not_found(&format!(
                    "arn:{}:kms:{}:{}:key/{id}",
                    parts[1], self.region, parts[4]
                ))),
            };
        }
        if given.starts_with("alias/") {
            return Err(Failure::new(
                ErrorKind::NotFound,
                format!(
                    "Alias arn:{}:kms:{}:{}:{given} is not found.",
                    self.partition(),
                    self.region,
                    self.account_id
                ),
            ));
        }
        if !is_key_id(given) {
            return Err(invalid());
        }
        self.index
            .get(given)
            .copied()
            .ok_or_else(|| Failure::not_found(&self.arn(given)))
    }

    /// The key id a call log records for `given`: the key's id if known, else `given`.
    pub(super) fn resolve_for_log(&self, given: &str) -> String {
        match self.lookup(given) {
            Ok(i) => self.keys[i].key_id.clone(),
            Err(_) => given.to_owned(),
        }
    }

    /// The key's id when `given` names a known key.
    pub(super) fn resolve(&self, given: &str) -> Option<String> {
        self.lookup(given).ok().map(|i| self.keys[i].key_id.clone())
    }

    /// The NotFound answer for a known key (used when a key is hidden from reads).
    pub(super) fn not_found_for(&self, key_id: &str) -> Failure {
        Failure::not_found(&self.arn(key_id))
    }

    /// Removes keys whose deletion date has passed: KMS deletes them then.
    pub(super) fn purge_expired(&mut self, now: i64, script: &mut FaultScript) {
        if self.earliest_deletion.is_none_or(|d| d > now) {
            return;
        }
        let before = self.keys.len();
        self.keys.retain(|k| {
            let gone = k.deletion_date.is_some_and(|d| d <= now);
            if gone {
                script.forget_key(&k.key_id);
            }
            !gone
        });
        if self.keys.len() != before {
            // Positions moved; the keys themselves stay consistent.
            let _ = self.rebuild_index();
        } else {
            self.earliest_deletion = self.keys.iter().filter_map(|k| k.deletion_date).min();
        }
    }

    fn metadata(&self, key: &KeyRecord) -> KeyMetadata {
        let (encryption_algorithms, signing_algorithms, mac_algorithms) =
            algorithms(key.key_spec, key.key_usage);
        KeyMetadata {
            key_id: key.key_id.clone(),
            arn: self.arn(&key.key_id),
            aws_account_id: self.account_id.clone(),
            creation_date: Some(DateTime::from_secs(key.creation_date)),
            enabled: key.key_state == KeyState::Enabled,
            description: key.description.clone(),
            key_usage: key.key_usage,
            key_state: key.key_state,
            deletion_date: key.deletion_date.map(DateTime::from_secs),
            origin: key.origin,
            custom_key_store_id: key.custom_key_store_id.clone(),
            xks_key_id: key.xks_key_id.clone(),
            key_spec: key.key_spec,
            encryption_algorithms,
            signing_algorithms,
            mac_algorithms,
            multi_region: key.multi_region,
            multi_region_key_type: key.multi_region.then_some(MultiRegionKeyType::Primary),
            pending_deletion_window_in_days: key.pending_window_in_days,
        }
    }

    // ----- policy -----

    fn policy_shape(text: &str, shape: &mut ShapeErrors) {
        shape.min_len(text, "policy", 1);
        shape.max_bytes(text, "policy", MAX_POLICY_BYTES);
        shape.pattern(text, "policy", policy_chars_ok(text), POLICY_PATTERN);
    }

    /// Checks a policy as KMS does after its shape: syntax and structure, the lockout safety
    /// check, then whether every principal exists. Answers the text GetKeyPolicy will return.
    fn policy_rules(
        &mut self,
        text: &str,
        bypass_lockout_check: bool,
        script: &mut FaultScript,
    ) -> Result<String, Failure> {
        // AWS answers malformed JSON with an empty message.
        let value: Value =
            serde_json::from_str(text).map_err(|_| Failure::new(ErrorKind::MalformedPolicy, ""))?;
        // A principal that can never exist (`deployer`, a short account id, a missing colon)
        // is refused here as MalformedPolicy with this crate's message, never as
        // InvalidPrincipals: real AWS may well answer it with the same "invalid principals"
        // message as a principal IAM has not propagated yet, but no recorded answer shows it,
        // and InvalidPrincipals is what the reconciler retries.
        let policy = KeyPolicy::parse(text).map_err(|errors| {
            let codes = errors.codes();
            if codes.contains(&ErrorCode::PolicyJsonSyntax) {
                Failure::new(ErrorKind::MalformedPolicy, "")
            } else if codes.contains(&ErrorCode::PolicyPrincipalMissing) {
                Failure::no_principal()
            } else {
                let messages: Vec<&str> = errors.errors().iter().map(|e| e.message()).collect();
                Failure::new(ErrorKind::MalformedPolicy, messages.join("; "))
            }
        })?;
        if !bypass_lockout_check && !policy.allows(&self.caller_principal, "kms:PutKeyPolicy") {
            return Err(Failure::lockout());
        }
        let mut all_exist = true;
        // No short cut: every scripted principal named counts this attempt.
        for principal in policy.aws_principals() {
            all_exist &= self.principal_exists(&principal, script);
        }
        if !all_exist {
            return Err(Failure::invalid_principals());
        }
        Ok(aws_pretty(&value))
    }

    fn principal_exists(&mut self, principal: &str, script: &mut FaultScript) -> bool {
        match script.principal_attempt(principal) {
            Some(true) => return false,
            Some(false) => {
                self.known_principals.insert(principal.to_owned());
                return true;
            }
            None => {}
        }
        let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
        let is_root = principal
            .strip_prefix(&format!("arn:{}:iam::", self.partition()))
            .and_then(|rest| rest.strip_suffix(":root"))
            .is_some_and(is_account);
        principal == "*"
            || is_account(principal)
            || is_root
            || principal == self.caller_principal
            || self.known_principals.contains(principal)
    }

    fn default_policy(&self) -> String {
        let policy = KeyPolicy::default_for_account(self.partition(), &self.account_id);
        match serde_json::from_str::<Value>(policy.as_str()) {
            Ok(value) => aws_pretty(&value),
            Err(_) => policy.as_str().to_owned(),
        }
    }

    // ----- tags -----

    fn tags_shape(tags: &[Tag], shape: &mut ShapeErrors) {
        for (i, tag) in tags.iter().enumerate() {
            let at_key = format!("tags.{}.member.tagKey", i + 1);
            let at_value = format!("tags.{}.member.tagValue", i + 1);
            shape.min_len(&tag.key, &at_key, 1);
            shape.max_len(&tag.key, &at_key, MAX_TAG_KEY_CHARS);
            shape.pattern(
                &tag.key,
                &at_key,
                tag.key.chars().all(is_tag_char),
                TAG_PATTERN,
            );
            shape.max_len(&tag.value, &at_value, MAX_TAG_VALUE_CHARS);
            shape.pattern(
                &tag.value,
                &at_value,
                tag.value.chars().all(is_tag_char),
                TAG_PATTERN,
            );
        }
    }

    fn is_reserved(key: &str) -> bool {
        key.get(..RESERVED_TAG_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_TAG_PREFIX))
    }

    /// The tag set after adding `tags` to `existing` (values of present keys replaced).
    fn merged_tags(
        existing: &BTreeMap<String, String>,
        tags: &[Tag],
    ) -> Result<BTreeMap<String, String>, Failure> {
        if tags.iter().any(|t| Self::is_reserved(&t.key)) {
            return Err(Failure::reserved_tag());
        }
        let mut merged = existing.clone();
        for tag in tags {
            merged.insert(tag.key.clone(), tag.value.clone());
        }
        // Tags AWS puts on a key (`aws:`) do not count against the limit.
        if merged.keys().filter(|k| !Self::is_reserved(k)).count() > MAX_TAGS {
            return Err(Failure::too_many_tags());
        }
        Ok(merged)
    }

    // ----- operations -----

    pub(super) fn create_key(
        &mut self,
        request: CreateKeyRequest,
        now: i64,
        script: &mut FaultScript,
    ) -> Result<KeyMetadata, Failure> {
        let mut shape = ShapeErrors::default();
        if let Some(description) = &request.description {
            shape.max_len(description, "description", MAX_DESCRIPTION_CHARS);
        }
        if let Some(policy) = &request.policy {
            Self::policy_shape(policy, &mut shape);
        }
        Self::tags_shape(&request.tags, &mut shape);
        if let Some(id) = &request.custom_key_store_id {
            shape.min_len(id, "customKeyStoreId", 1);
            shape.max_len(id, "customKeyStoreId", 64);
        }
        if let Some(id) = &request.xks_key_id {
            shape.min_len(id, "xksKeyId", 1);
            shape.max_len(id, "xksKeyId", 128);
        }
        shape.into_result()?;

        let spec = request.key_spec.unwrap_or_default();
        let usage = request
            .key_usage
            .or(spec.default_usage())
            .ok_or_else(|| {
                Failure::validation(
                    "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
                )
            })?;
        if !spec.allows(usage) {
            return Err(Failure::validation(format!(
                "KeyUsage {usage} is not compatible with KeySpec {spec}"
            )));
        }
        let china = self.partition() == "aws-cn";
        let ml_kem = matches!(
            spec,
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024
        );
        if (spec.china_regions_only() && !china) || (ml_kem && china) {
            return Err(Failure::new(
                ErrorKind::UnsupportedOperation,
                format!("KeySpec {spec} is not supported in Region {}.", self.region),
            ));
        }

        let origin = request.origin.unwrap_or_default();
        self.check_key_store(&request, origin, spec)?;

        let tags = Self::merged_tags(&BTreeMap::new(), &request.tags)?;
        let policy = match &request.policy {
            Some(text) => {
                self.policy_rules(text, request.bypass_policy_lockout_safety_check, script)?
            }
            None => self.default_policy(),
        };

        let key_id = loop {
            let id = if request.multi_region {
                self.ids.mrk()
            } else {
                self.ids.uuid()
            };
            if !self.index.contains_key(&id) {
                break id;
            }
        };
        let record = KeyRecord {
            seq: self.next_seq,
            key_id: key_id.clone(),
            creation_date: now,
            description: request.description.unwrap_or_default(),
            policy,
            key_spec: spec,
            key_usage: usage,
            origin,
            custom_key_store_id: request.custom_key_store_id,
            xks_key_id: request.xks_key_id,
            multi_region: request.multi_region,
            // Imported key material arrives later (ImportKeyMaterial), so the key waits for it.
            key_state: if origin == Origin::External {
                KeyState::PendingImport
            } else {
                KeyState::Enabled
            },
            deletion_date: None,
            pending_window_in_days: None,
            rotation: None,
            tags,
        };
        self.next_seq += 1;
        self.index.insert(key_id, self.keys.len());
        self.keys.push(record);
        Ok(self.metadata(self.keys.last().expect("just pushed")))
    }

    fn check_key_store(
        &self,
        request: &CreateKeyRequest,
        origin: Origin,
        spec: KeySpec,
    ) -> Result<(), Failure> {
        if request.xks_key_id.is_some() && origin != Origin::ExternalKeyStore {
            return Err(Failure::validation(
                "XksKeyId is only valid when Origin is EXTERNAL_KEY_STORE",
            ));
        }
        let Some(store_id) = &request.custom_key_store_id else {
            if origin.is_custom_key_store() {
                return Err(Failure::validation(format!(
                    "CustomKeyStoreId is required when Origin is {origin}"
                )));
            }
            return Ok(());
        };
        if !origin.is_custom_key_store() {
            return Err(Failure::validation(format!(
                "Origin {origin} is not valid with a CustomKeyStoreId; use AWS_CLOUDHSM or EXTERNAL_KEY_STORE"
            )));
        }
        if origin == Origin::ExternalKeyStore && request.xks_key_id.is_none() {
            return Err(Failure::validation(
                "XksKeyId is required when Origin is EXTERNAL_KEY_STORE",
            ));
        }
        if spec != KeySpec::SymmetricDefault {
            return Err(Failure::new(
                ErrorKind::UnsupportedOperation,
                format!("KeySpec {spec} is not supported for KMS keys in a custom key store."),
            ));
        }
        if request.multi_region {
            return Err(Failure::new(
                ErrorKind::UnsupportedOperation,
                "Multi-Region keys are not supported in a custom key store.",
            ));
        }
        let store = self.custom_key_stores.get(store_id).ok_or_else(|| {
            Failure::new(
                ErrorKind::CustomKeyStoreNotFound,
                format!("Custom key store '{store_id}' does not exist"),
            )
        })?;
        if store.kind.origin() != origin {
            return Err(Failure::validation(format!(
                "Origin {origin} does not match custom key store '{store_id}', whose keys have origin {}",
                store.kind.origin()
            )));
        }
        if !store.connected {
            return Err(Failure::new(
                ErrorKind::CustomKeyStoreInvalidState,
                format!("Custom key store '{store_id}' is not connected"),
            ));
        }
        Ok(())
    }

    pub(super) fn describe_key(&self, given: &str) -> Result<KeyMetadata, Failure> {
        let i = self.lookup(given)?;
        Ok(self.metadata(&self.keys[i]))
    }

    pub(super) fn get_key_policy(&self, given: &str) -> Result<String, Failure> {
        let i = self.lookup(given)?;
        Ok(self.keys[i].policy.clone())
    }

    pub(super) fn put_key_policy(
        &mut self,
        given: &str,
        policy: &str,
        bypass_lockout_check: bool,
        script: &mut FaultScript,
    ) -> Result<(), Failure> {
        let mut shape = ShapeErrors::default();
        Self::policy_shape(policy, &mut shape);
        shape.into_result()?;
        let i = self.lookup(given)?;
        // Every key state accepts a new policy, including PendingDeletion and PendingImport.
        let text = self.policy_rules(policy, bypass_lockout_check, script)?;
        self.keys[i].policy = text;
        Ok(())
    }

    pub(super) fn get_key_rotation_status(
        &self,
        given: &str,
        now: i64,
    ) -> Result<RotationStatus, Failure> {
        let key = &self.keys[self.lookup(given)?];
        // A key pending deletion reads as not rotating; its setting returns on cancel.
        let rotation = match key.key_state {
            KeyState::PendingDeletion => None,
            _ => key.rotation,
        };
        Ok(match rotation {
            Some(r) => RotationStatus {
                enabled: true,
                rotation_period_in_days: Some(r.period_days),
                next_rotation_date: Some(DateTime::from_secs(r.next_rotation(now))),
            },
            None => RotationStatus::new(false, None),
        })
    }

    /// The key at `given` for a rotation change, after the key-state checks.
    fn rotation_target(&mut self, given: &str) -> Result<&mut KeyRecord, Failure> {
        let i = self.lookup(given)?;
        let arn = self.arn(&self.keys[i].key_id);
        let key = &mut self.keys[i];
        if key.key_state == KeyState::PendingDeletion {
            return Err(Failure::pending_deletion(&arn));
        }
        if let Some(failure) = key.rotation_unsupported(&arn) {
            return Err(failure);
        }
        match key.key_state {
            KeyState::Disabled => Err(Failure::disabled(&arn)),
            KeyState::PendingImport => Err(Failure::pending_import(&arn)),
            _ => Ok(key),
        }
    }

    pub(super) fn enable_key_rotation(
        &mut self,
        given: &str,
        period: Option<i32>,
        now: i64,
    ) -> Result<(), Failure> {
        if let Some(days) = period {
            let mut shape = ShapeErrors::default();
            shape.range(
                i64::from(days),
                "rotationPeriodInDays",
                i64::from(MIN_ROTATION_PERIOD_DAYS),
                i64::from(MAX_ROTATION_PERIOD_DAYS),
            );
            shape.into_result()?;
        }
        let key = self.rotation_target(given)?;
        key.rotation = Some(match key.rotation {
            // Already on: a new period applies from the same start; no period keeps the old one.
            Some(r) => RotationRecord {
                period_days: period.unwrap_or(r.period_days),
                since: r.since,
            },
            None => RotationRecord {
                period_days: period.unwrap_or(i32::from(DEFAULT_ROTATION_PERIOD_DAYS)),
                since: now,
            },
        });
        Ok(())
    }

    pub(super) fn disable_key_rotation(&mut self, given: &str) -> Result<(), Failure> {
        self.rotation_target(given)?.rotation = None;
        Ok(())
    }

    /// The key at `given` for EnableKey/DisableKey, which a key pending deletion or import refuses.
    fn toggle_target(&mut self, given: &str) -> Result<&mut KeyRecord, Failure> {
        let i = self.lookup(given)?;
        let arn = self.arn(&self.keys[i].key_id);
        let key = &mut self.keys[i];
        match key.key_state {
            KeyState::PendingDeletion => Err(Failure::pending_deletion(&arn)),
            KeyState::PendingImport => Err(Failure::pending_import(&arn)),
            _ => Ok(key),
        }
    }

    pub(super) fn set_enabled(&mut self, given: &str, enabled: bool) -> Result<(), Failure> {
        self.toggle_target(given)?.key_state = if enabled {
            KeyState::Enabled
        } else {
            KeyState::Disabled
        };
        Ok(())
    }

    /// The key at `given` for a change that a key pending deletion refuses.
    fn live_target(&mut self, given: &str) -> Result<&mut KeyRecord, Failure> {
        let i = self.lookup(given)?;
        if self.keys[i].key_state == KeyState::PendingDeletion {
            return Err(Failure::pending_deletion(&self.arn(&self.keys[i].key_id)));
        }
        Ok(&mut self.keys[i])
    }

    pub(super) fn update_key_description(
        &mut self,
        given: &str,
        description: &str,
    ) -> Result<(), Failure> {
        let mut shape = ShapeErrors::default();
        shape.max_len(description, "description", MAX_DESCRIPTION_CHARS);
        shape.into_result()?;
        self.live_target(given)?.description = description.to_owned();
        Ok(())
    }

    pub(super) fn list_resource_tags(
        &self,
        given: &str,
        marker: Option<&str>,
    ) -> Result<TagPage, Failure> {
        let key = &self.keys[self.lookup(given)?];
        let start = match marker {
            None => None,
            Some(m) => {
                Some(decode_tag_marker(m).ok_or_else(|| Failure::validation(INVALID_MARKER))?)
            }
        };
        let mut rest = match &start {
            Some(from) => key.tags.range(from.clone()..),
            None => key.tags.range::<String, _>(..),
        };
        let tags: Vec<Tag> = rest
            .by_ref()
            .take(self.tags_page_size)
            .map(|(k, v)| Tag::new(k, v))
            .collect();
        let next_marker = rest.next().map(|(k, _)| encode_tag_marker(k));
        Ok(TagPage { tags, next_marker })
    }

    pub(super) fn tag_resource(&mut self, given: &str, tags: &[Tag]) -> Result<(), Failure> {
        let mut shape = ShapeErrors::default();
        Self::tags_shape(tags, &mut shape);
        shape.into_result()?;
        let key = self.live_target(given)?;
        key.tags = Self::merged_tags(&key.tags, tags)?;
        Ok(())
    }

    pub(super) fn untag_resource(
        &mut self,
        given: &str,
        tag_keys: &[String],
    ) -> Result<(), Failure> {
        let mut shape = ShapeErrors::default();
        for (i, key) in tag_keys.iter().enumerate() {
            let at = format!("tagKeys.{}.member", i + 1);
            shape.min_len(key, &at, 1);
            shape.max_len(key, &at, MAX_TAG_KEY_CHARS);
        }
        shape.into_result()?;
        let key = self.live_target(given)?;
        if tag_keys.iter().any(|k| Self::is_reserved(k)) {
            return Err(Failure::reserved_tag());
        }
        for tag_key in tag_keys {
            key.tags.remove(tag_key);
        }
        Ok(())
    }

    pub(super) fn schedule_key_deletion(
        &mut self,
        given: &str,
        window: Option<i32>,
        now: i64,
    ) -> Result<DeletionScheduled, Failure> {
        let range = i32::from(MIN_DELETION_WINDOW_DAYS)..=i32::from(MAX_DELETION_WINDOW_DAYS);
        if window.is_some_and(|w| !range.contains(&w)) {
            return Err(Failure::validation(format!(
                "PendingWindowInDays must be between {} and {}",
                range.start(),
                range.end()
            )));
        }
        let days = window.unwrap_or(*range.end());
        let i = self.lookup(given)?;
        let arn = self.arn(&self.keys[i].key_id);
        let key = &mut self.keys[i];
        if key.key_state == KeyState::PendingDeletion {
            return Err(Failure::pending_deletion(&arn));
        }
        let deletion_date = now + i64::from(days) * DAY_SECS;
        key.key_state = KeyState::PendingDeletion;
        key.deletion_date = Some(deletion_date);
        self.earliest_deletion = Some(
            self.earliest_deletion
                .map_or(deletion_date, |d| d.min(deletion_date)),
        );
        key.pending_window_in_days = Some(days);
        Ok(DeletionScheduled {
            key_id: arn,
            deletion_date: Some(DateTime::from_secs(deletion_date)),
            key_state: Some(KeyState::PendingDeletion),
            pending_window_in_days: Some(days),
        })
    }

    pub(super) fn cancel_key_deletion(&mut self, given: &str) -> Result<String, Failure> {
        let i = self.lookup(given)?;
        let arn = self.arn(&self.keys[i].key_id);
        let key = &mut self.keys[i];
        if key.key_state != KeyState::PendingDeletion {
            return Err(Failure::not_pending_deletion(&arn));
        }
        // A cancelled key comes back disabled; one still waiting for its key material, pending import.
        key.key_state = if key.origin == Origin::External {
            KeyState::PendingImport
        } else {
            KeyState::Disabled
        };
        key.deletion_date = None;
        key.pending_window_in_days = None;
        Ok(arn)
    }

    pub(super) fn list_keys(&self, marker: Option<&str>) -> Result<KeyPage, Failure> {
        let start = match marker {
            None => 0,
            Some(m) => {
                let seq = m
                    .strip_prefix("k")
                    .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| Failure::validation(INVALID_MARKER))?;
                self.keys.partition_point(|k| k.seq < seq)
            }
        };
        let end = (start + self.list_keys_page_size).min(self.keys.len());
        let keys = self.keys[start..end]
            .iter()
            .map(|k| KeyListEntry {
                key_id: k.key_id.clone(),
                key_arn: self.arn(&k.key_id),
            })
            .collect();
        let next_marker = self.keys.get(end).map(|k| format!("k{:x}", k.seq));
        Ok(KeyPage { keys, next_marker })
    }
}

/// Tag markers hold the next tag key, hex-encoded so any key survives as an opaque token.
fn encode_tag_marker(key: &str) -> String {
    let mut out = String::from("t");
    for b in key.bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn decode_tag_marker(marker: &str) -> Option<String> {
    let hex = marker.strip_prefix('t')?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_v4_and_mrk() {
        let mut g = IdGenerator::new(7);
        let id = g.uuid();
        assert!(is_key_id(&id), "{id}");
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        let mrk = g.mrk();
        assert!(is_key_id(&mrk), "{mrk}");
        assert_eq!(IdGenerator::new(7).uuid(), id, "same seed, same ids");
    }

    #[test]
    fn tag_markers_round_trip() {
        for key in ["env", "a b/c:d@e", "ünï"] {
            assert_eq!(
                decode_tag_marker(&encode_tag_marker(key)).as_deref(),
                Some(key)
            );
        }
        assert_eq!(decode_tag_marker("zz"), None);
        assert_eq!(decode_tag_marker("t0"), None);
    }

    #[test]
    fn purge_waits_for_the_earliest_deletion_date() {
        let mut state = State::new(StateConfig {
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            caller_principal: "arn:aws:iam::111122223333:role/admin".into(),
            known_principals: BTreeSet::new(),
            custom_key_stores: BTreeMap::new(),
            list_keys_page_size: 100,
            tags_page_size: 50,
            seed: 0,
        });
        let mut script = FaultScript::default();
        let mut create = || {
            state
                .create_key(CreateKeyRequest::new(), 0, &mut script)
                .unwrap()
                .key_id
        };
        let (a, b, c) = (create(), create(), create());
        assert_eq!(state.earliest_deletion, None);
        state.schedule_key_deletion(&b, Some(20), 0).unwrap();
        state.schedule_key_deletion(&a, Some(7), 0).unwrap();
        assert_eq!(state.earliest_deletion, Some(7 * DAY_SECS));
        // A cancelled key leaves the bound early (never late); the next purge tightens it.
        state.cancel_key_deletion(&a).unwrap();
        state.purge_expired(10 * DAY_SECS, &mut script);
        assert_eq!(state.earliest_deletion, Some(20 * DAY_SECS));
        assert_eq!(state.key_count(), 3);
        state.purge_expired(20 * DAY_SECS, &mut script);
        assert_eq!(state.key_count(), 2);
        assert_eq!(state.earliest_deletion, None);
        assert!(state.lookup(&b).is_err());
        assert!(state.lookup(&c).is_ok());
    }

    #[test]
    fn next_rotation_rolls_forward() {
        let r = RotationRecord {
            period_days: 90,
            since: 0,
        };
        assert_eq!(r.next_rotation(0), 90 * DAY_SECS);
        assert_eq!(r.next_rotation(90 * DAY_SECS), 180 * DAY_SECS);
        assert_eq!(r.next_rotation(100 * DAY_SECS), 180 * DAY_SECS);
    }
}
