//! Key policy documents: parse, validate, canonical form, semantic equivalence and lint.
//!
//! A [`KeyPolicy`] is parsed once into a normalized form in which everything IAM ignores is gone
//! (formatting, key order, statement order, value order, duplicates, single value versus
//! one-element list, the case of action names and condition keys, the spelling of account
//! principals). Equivalence is then equality of normalized forms: O(n log n) in the number of
//! statements, never all-against-all.
//!
//! There are two ways in:
//! - [`KeyPolicy::parse`] (and [`KeyPolicy::from_value`]) for a policy someone *wants*: every
//!   rule KMS enforces is checked (size, character set, JSON, the policy grammar) and every
//!   problem is reported at once, each with a field path under `policy`.
//! - [`KeyPolicy::parse_observed`] for a policy KMS *returned*: KMS already accepted it, so only
//!   "a JSON object with a list of statement objects" is required. Anything else unexpected is
//!   kept and still takes part in comparisons.
//!
//! ```
//! use kms_key::policy::KeyPolicy;
//!
//! # fn main() -> Result<(), kms_key::validation::ValidationErrors> {
//! let desired = KeyPolicy::parse(
//!     r#"{
//!         "Version": "2012-10-17",
//!         "Statement": [{
//!             "Effect": "Allow",
//!             "Principal": {"AWS": ["arn:aws:iam::111122223333:role/b", "arn:aws:iam::111122223333:role/a"]},
//!             "Action": "kms:Decrypt",
//!             "Resource": "*"
//!         }]
//!     }"#,
//! )?;
//! // What KMS might hand back: compact, other order, lists where there were strings.
//! let live = KeyPolicy::parse_observed(
//!     r#"{"Statement":[{"Resource":["*"],"Action":["KMS:decrypt"],"Effect":"Allow",
//!        "Principal":{"AWS":["arn:aws:iam::111122223333:role/a","arn:aws:iam::111122223333:role/b"]}}],
//!        "Version":"2012-10-17"}"#,
//! )?;
//! assert_eq!(desired, live);
//! assert_eq!(desired.canonical(), live.canonical());
//! assert!(desired.warnings().is_empty());
//! # Ok(())
//! # }
//! ```

mod eval;
// Shared with the spec readers, which need to see duplicate object keys too.
pub(crate) mod json;
mod normalize;
mod principal;
mod render;

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::Serialize;

use crate::validation::{ValidationError, ValidationErrors, Warning};

use normalize::{AWS, Doc};

/// The most bytes a key policy may have.
pub const MAX_POLICY_BYTES: usize = 32_768;

/// A parsed, structurally valid key policy document.
///
/// Equality (`==`) is *semantic equivalence*: two policies are equal when IAM would evaluate
/// them the same (see [`KeyPolicy::equivalent`]). `Hash` agrees with it.
///
/// Serializes as its text (a JSON string, [`KeyPolicy::as_str`]).
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    /// What is sent to KMS, as given.
    text: String,
    /// The normalized form that comparisons and rendering use.
    doc: Doc,
    /// Lint findings, computed during the parse (they need the statement indices as written).
    warnings: Vec<Warning>,
    /// Whether every check KMS makes on a policy it is sent passed ([`KeyPolicy::parse`]), as
    /// opposed to the lenient [`KeyPolicy::parse_observed`]. A spec only holds checked policies.
    checked: bool,
}

impl KeyPolicy {
    /// Parses and validates a policy given as JSON text. Errors carry field paths starting with
    /// `policy` (e.g. `policy.Statement[2].Principal`); malformed JSON reports line and column.
    ///
    /// Accepts everything KMS accepts: `Statement` as one object or a list; `Principal` /
    /// `NotPrincipal` as `"*"` or an object of `AWS`, `Service`, `Federated` or `CanonicalUser`
    /// values (a string or a list of strings); `Action`/`NotAction`, `Resource`/`NotResource` as
    /// a string or a list of strings; `Condition` with any operators and keys, values being
    /// strings, numbers or booleans or lists of them; `Id`, `Sid`; `Version` `2012-10-17`,
    /// `2008-10-17` or none.
    ///
    /// A statement is addressed as `policy.Statement[i]` (its index as written), or as
    /// `policy.Statement` when `Statement` is a single object. A missing element is reported at
    /// the path it would have (`policy.Statement[0].Effect`), except a missing principal, which
    /// can be either of two elements and is reported at the statement (`policy.Statement[0]`).
    ///
    /// # Errors
    /// Every problem found, as [`ValidationErrors`]:
    /// - `policy_too_large`: more than [`MAX_POLICY_BYTES`] bytes (UTF-8);
    /// - `policy_invalid_character`: a character other than tab, newline, carriage return and
    ///   U+0020..=U+00FF, with the character, its line and its column (the first ten, then a count);
    /// - `policy_json_syntax`: not JSON, with line and column (the structure is then not checked);
    /// - `policy_structure`: not an object; `Statement` missing or not an object or a list of
    ///   objects; a value of the wrong type; an unknown element (element names are
    ///   case-sensitive); an element given twice; both `Principal` and `NotPrincipal` (or
    ///   `Action` and `NotAction`, `Resource` and `NotResource`) in one statement; an unknown
    ///   principal type; a condition key given twice under one operator (keys are
    ///   case-insensitive);
    /// - `policy_effect_invalid`: `Effect` missing, or not exactly `Allow` or `Deny`;
    /// - `policy_principal_missing`: a statement with neither `Principal` nor `NotPrincipal`
    ///   (at the statement), or one whose `Principal`/`NotPrincipal` names nobody: `{}` or only
    ///   empty lists such as `{"AWS": []}` (at the element);
    /// - `policy_principal_invalid`: a principal value KMS cannot accept, at the value
    ///   (`policy.Statement[1].Principal.AWS[0]`, or `...Principal.AWS` for a single value). An
    ///   `AWS` value must be `"*"`, a 12-digit account id, `arn:PARTITION:iam::ACCOUNT:root`,
    ///   `arn:PARTITION:iam::ACCOUNT:user/[PATH/]NAME` or `role/[PATH/]NAME`,
    ///   `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION` or `federated-user/NAME`, or a
    ///   unique id (`AIDA…`, `AROA…`, as KMS shows a deleted principal); no user groups, no
    ///   wildcards inside an ARN. `Service`, `Federated` and `CanonicalUser` values must not be
    ///   empty. KMS would answer such a value with "invalid principals", the same answer as for
    ///   a principal IAM has not propagated yet, so catching it here keeps it from being retried;
    /// - `invalid_value` at `policy.Version`: a version other than the two above.
    pub fn parse(text: &str) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        json::check_text(text, &mut errors);
        Self::build(text, true, errors)
    }

    /// Parses a policy read back from KMS (`GetKeyPolicy`), leniently: KMS accepted it, so no
    /// size, character set or grammar checks are made, and only a JSON object whose `Statement`
    /// is an object or a list of objects is required. Elements that do not have the expected
    /// shape are kept as they are (normalized as generic JSON) and still count in comparisons.
    /// Lint warnings are computed as for [`KeyPolicy::parse`].
    ///
    /// Use it for both sides when a comparison must not fail on limits, e.g. policies larger
    /// than [`MAX_POLICY_BYTES`].
    ///
    /// # Errors
    /// `policy_json_syntax` for text that is not JSON; `policy_structure` when the text is not
    /// an object, has no `Statement`, or a statement is not an object.
    pub fn parse_observed(text: &str) -> Result<Self, ValidationErrors> {
        Self::build(text, false, Vec::new())
    }

    fn build(
        text: &str,
        strict: bool,
        mut errors: Vec<ValidationError>,
    ) -> Result<Self, ValidationErrors> {
        match json::parse(text) {
            Err(e) => errors.push(json::syntax_error(&e)),
            Ok(tree) => {
                let n = normalize::normalize(&tree, strict);
                errors.extend(n.errors);
                if errors.is_empty() {
                    return Ok(Self {
                        text: text.to_owned(),
                        doc: n.doc,
                        warnings: n.warnings,
                        checked: strict,
                    });
                }
            }
        }
        Err(ValidationErrors::from_vec(errors).expect("at least one error was pushed"))
    }

    /// Parses and validates a policy given as a JSON value (a Terraform `jsonencode(...)`): the
    /// same checks as [`KeyPolicy::parse`], made on the value's compact serialization, which
    /// becomes the text sent to KMS.
    ///
    /// # Errors
    /// Every problem found, as [`ValidationErrors`] (see [`KeyPolicy::parse`]).
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ValidationErrors> {
        Self::parse(&value.to_string())
    }

    /// The default key policy KMS gives a key created without one: `kms:*` for the account
    /// (`arn:PARTITION:iam::ACCOUNT:root`), with KMS's own Id and Sid, text for text.
    pub fn default_for_account(partition: &str, account_id: &str) -> Self {
        // Escaped so that odd input still makes JSON (for ordinary input this changes nothing).
        let partition = json_string_body(partition);
        let account_id = json_string_body(account_id);
        Self::parse_observed(&format!(
            r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:{partition}:iam::{account_id}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
        ))
        .expect("the default policy is a JSON object with a statement list")
    }

    /// Whether this policy passed every check of [`KeyPolicy::parse`] (size, characters,
    /// grammar, principals); `false` for one from [`KeyPolicy::parse_observed`] or
    /// [`KeyPolicy::default_for_account`], which the spec builder checks again before use.
    pub fn is_checked(&self) -> bool {
        self.checked
    }

    /// The policy text that is sent to KMS: the text as given ([`KeyPolicy::from_value`]: the
    /// value's compact serialization).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The canonical compact JSON form: equivalent policies, and only those, print the same.
    ///
    /// Keys are sorted; `Statement` is always a list, sorted; every other list of values
    /// (Action, NotAction, Resource, NotResource, principal values, condition values) is written
    /// as a plain value when it has one element and as a sorted, duplicate-free list otherwise;
    /// action names and condition keys are lowercase (IAM ignores their case); an account
    /// principal (`arn:PARTITION:iam::ACCOUNT:root` or the bare id) is written as the 12-digit
    /// account id; the everyone principal (`"*"` or `{"AWS": "*"}`) as `"*"`; identical
    /// statements once. The result is itself a valid policy equivalent to this one.
    pub fn canonical(&self) -> String {
        serde_json::to_string(&self.doc).expect("a normalized policy always serializes")
    }

    /// The canonical form ([`KeyPolicy::canonical`]) pretty-printed with a 2-space indent, for
    /// line diffs in plans.
    pub fn canonical_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.doc).expect("a normalized policy always serializes")
    }

    /// Whether IAM would evaluate both policies the same.
    ///
    /// Ignored: formatting, key order, statement order, the order of values, duplicate values and
    /// duplicate statements, a single value versus a one-element list (Action, NotAction,
    /// Resource, NotResource, principal values, condition values), scalar types of condition
    /// values (`true` = `"true"`, `1` = `"1"`), the case of action names and condition keys, an
    /// empty Condition, and the spelling of a principal (`"*"` = `{"AWS": "*"}`,
    /// `"111122223333"` = `"arn:aws:iam::111122223333:root"`).
    ///
    /// Real changes: Version (a missing Version is not `2012-10-17`), Id, Sid, Effect, condition
    /// operators (case-sensitive in IAM), resources and principal ARNs (case-sensitive), a unique
    /// id (`AROA…`, `AIDA…`, shown for a deleted principal) versus an ARN, and any difference in
    /// the sets of values. Wildcard coverage is not reasoned about: `["kms:*", "kms:Encrypt"]`
    /// differs from `"kms:*"`.
    pub fn equivalent(&self, other: &KeyPolicy) -> bool {
        self.doc == other.doc
    }

    /// Lint warnings: things AWS accepts that probably do not do what was meant, each with a
    /// field path (`policy.Version`, `policy.Statement[1]`): `policy_version_missing`,
    /// `policy_statement_no_action`, `policy_statement_no_resource`, `policy_public_allow` (an
    /// Allow to `"*"`/`{"AWS": "*"}`, or with `NotPrincipal`, without a Condition).
    pub fn warnings(&self) -> Vec<Warning> {
        self.warnings.clone()
    }

    /// Whether some Allow statement grants `action` (e.g. `kms:PutKeyPolicy`) to some principal:
    /// "could anyone", the question of the policy lockout lint.
    ///
    /// Action patterns match case-insensitively with IAM wildcards (`*`, `?`); an Allow with
    /// `NotAction` grants every action it does not list. Conditions are ignored (a conditional
    /// Allow counts), Deny statements are ignored, and so are resources beyond requiring a
    /// `Resource`/`NotResource` element (a key policy's resource is the key itself).
    pub fn grants_to_anyone(&self, action: &str) -> bool {
        eval::grants_to_anyone(&self.doc, action)
    }

    /// Whether some Deny statement without a Condition denies `action` to every principal
    /// (`"*"` or `{"AWS": "*"}` among its principals) on every resource (`"Resource": "*"`).
    /// Such a Deny wins over every Allow, so nobody may call `action` whatever else the policy
    /// says.
    ///
    /// Action patterns match as for [`KeyPolicy::grants_to_anyone`] (wildcards, `NotAction`).
    /// Only certain denials count: a Deny with a Condition, a `NotPrincipal`, a narrower
    /// `Resource` or a `NotResource` might spare someone or this key, so it does not.
    pub fn denies_to_everyone(&self, action: &str) -> bool {
        eval::denies_to_everyone(&self.doc, action)
    }

    /// Whether an Allow would grant `action` but has no `Resource` (and so grants nothing).
    pub(crate) fn grants_without_resource(&self, action: &str) -> bool {
        eval::grants_without_resource(&self.doc, action)
    }

    /// Whether every principal some Allow grants `action` to is refused it by a Deny statement
    /// that certainly applies (no Condition; its principal covers the grantee, an account
    /// covering every identity of the account; its resource covers any key ARN of the
    /// partition the policy's principals are in, or its `NotResource` names no KMS key). False
    /// when no Allow grants `action` at all. Uncertain cases count as not denied, so that the
    /// lockout lint never refuses a policy KMS would accept.
    pub fn denies_every_grantee(&self, action: &str) -> bool {
        eval::denies_every_grantee(&self.doc, action, &|| self.aws_principals())
    }

    /// Whether nobody could ever change this policy again: no Allow statement lets any
    /// principal call `kms:PutKeyPolicy` ([`KeyPolicy::grants_to_anyone`]), or unconditional
    /// Deny statements refuse it to everyone it is granted to
    /// ([`KeyPolicy::denies_to_everyone`], [`KeyPolicy::denies_every_grantee`]). The question
    /// of the policy lockout lint, which refuses such a policy unless
    /// `bypass_policy_lockout_safety_check` is set.
    pub fn locks_out_everyone(&self) -> bool {
        const PUT_KEY_POLICY: &str = "kms:PutKeyPolicy";
        !self.grants_to_anyone(PUT_KEY_POLICY)
            || self.denies_to_everyone(PUT_KEY_POLICY)
            || self.denies_every_grantee(PUT_KEY_POLICY)
    }

    /// Whether `principal_arn` may call `action` under this policy, as KMS's lockout safety
    /// check would see it: some Allow statement matches both the action and the principal, and
    /// no Deny statement without a Condition matches both.
    ///
    /// Principal matching: `"*"` and `{"AWS": "*"}` match anyone; an account principal
    /// (`arn:PARTITION:iam::ACCOUNT:root` or the bare 12-digit id) matches every principal of
    /// that account, because KMS then delegates to the account's IAM policies (which this
    /// answer assumes allow it); otherwise the ARN must match exactly, except that an
    /// assumed-role session `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION` also matches its
    /// role `arn:aws:iam::ACCOUNT:role/NAME` (with any path). `NotPrincipal` applies to every
    /// principal the same matching does not name. `Service`, `Federated` and `CanonicalUser`
    /// values match only the identical string.
    ///
    /// Simplifications: Conditions are assumed to hold for an Allow and not to hold for a Deny
    /// (the answer is "may", not "will"); resources are not evaluated beyond requiring a
    /// `Resource`/`NotResource` element; IAM identity policies, grants, SCPs and permission
    /// boundaries are not seen.
    pub fn allows(&self, principal_arn: &str, action: &str) -> bool {
        eval::allows(&self.doc, principal_arn, action)
    }

    /// Every AWS principal the policy names: the `AWS` values of `Principal` and
    /// `NotPrincipal`, and `"*"` for a bare `"*"`, as written, in document order, without
    /// duplicates. These are what KMS checks exist.
    pub fn aws_principals(&self) -> Vec<String> {
        // Rarely needed, so read from the text on demand rather than kept from the parse.
        let Ok(tree) = json::parse(&self.text) else {
            return Vec::new();
        };
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut add = |p: &str| {
            if seen.insert(p.to_owned()) {
                out.push(p.to_owned());
            }
        };
        let statements: &[json::Json<'_>] = match &tree {
            json::Json::Object(members) => {
                match members.iter().rev().find(|(k, _)| k == "Statement") {
                    Some((_, json::Json::Array(items))) => items,
                    Some((_, one @ json::Json::Object(_))) => std::slice::from_ref(one),
                    _ => &[],
                }
            }
            _ => &[],
        };
        for stmt in statements {
            let json::Json::Object(members) = stmt else {
                continue;
            };
            for (key, value) in members {
                if key != "Principal" && key != "NotPrincipal" {
                    continue;
                }
                match value {
                    json::Json::String(s) if s == "*" => add("*"),
                    json::Json::Object(types) => {
                        for (kind, values) in types {
                            if kind != AWS {
                                continue;
                            }
                            match values {
                                json::Json::String(s) => add(s),
                                json::Json::Array(items) => {
                                    for item in items {
                                        if let json::Json::String(s) = item {
                                            add(s);
                                        }
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// `s` escaped as the inside of a JSON string.
fn json_string_body(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

/// `text` as compact JSON, members in their order, with every character a policy may not hold
/// as such written as a `\uXXXX` escape (`None` when it is not JSON). KMS may answer with such
/// a character unescaped although the policy it was sent escaped it.
pub(crate) fn compact_text(text: &str) -> Option<String> {
    let compact = json::parse(text).ok()?.to_compact_text();
    if compact.chars().all(json::is_allowed_char) {
        return Some(compact);
    }
    // Outside tab, LF, CR and U+0020..=U+00FF every character is inside a string (JSON's own
    // characters are ASCII), where an escape means the same.
    let mut out = String::with_capacity(compact.len() + 16);
    for c in compact.chars() {
        if json::is_allowed_char(c) {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    Some(out)
}

impl PartialEq for KeyPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.equivalent(other)
    }
}

impl Eq for KeyPolicy {}

impl Hash for KeyPolicy {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.doc.hash(state);
    }
}

impl fmt::Display for KeyPolicy {
    /// The policy text, as [`KeyPolicy::as_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for KeyPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests;
