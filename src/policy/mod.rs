//! Key policy documents: parse, validate, canonical form, semantic equivalence and lint.
//!
//! STUB: the API below is the contract; the bodies are filled in by the policy work.

use crate::validation::{ValidationErrors, Warning};

/// The most bytes a key policy may have.
pub const MAX_POLICY_BYTES: usize = 32_768;

/// A parsed, structurally valid key policy document.
///
/// Equality (`==`) is *semantic equivalence*: two policies are equal when IAM would evaluate
/// them the same (see [`KeyPolicy::equivalent`]).
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    text: String,
}

impl KeyPolicy {
    /// Parses and validates a policy given as JSON text. Errors carry field paths starting with
    /// `policy` (e.g. `policy.Statement[2].Principal`); malformed JSON reports line and column.
    ///
    /// # Errors
    /// Every problem found, as [`ValidationErrors`].
    pub fn parse(text: &str) -> Result<Self, ValidationErrors> {
        Ok(Self {
            text: text.to_owned(),
        })
    }

    /// Parses a policy read back from KMS: only JSON syntax and a statement list are required.
    ///
    /// # Errors
    /// When the text is not a policy document at all.
    pub fn parse_observed(text: &str) -> Result<Self, ValidationErrors> {
        Ok(Self {
            text: text.to_owned(),
        })
    }

    /// Parses and validates a policy given as a JSON value (a Terraform `jsonencode(...)`).
    ///
    /// # Errors
    /// Every problem found, as [`ValidationErrors`].
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ValidationErrors> {
        Self::parse(&value.to_string())
    }

    /// The default key policy KMS gives a key created without one.
    pub fn default_for_account(partition: &str, account_id: &str) -> Self {
        Self::parse(&format!(
            r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:{partition}:iam::{account_id}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
        ))
        .expect("the default policy is valid")
    }

    /// The policy text that is sent to KMS.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The canonical compact JSON form.
    pub fn canonical(&self) -> String {
        self.text.clone()
    }

    /// The canonical form, pretty-printed (for diffs).
    pub fn canonical_pretty(&self) -> String {
        self.text.clone()
    }

    /// Whether IAM would evaluate both policies the same.
    pub fn equivalent(&self, other: &KeyPolicy) -> bool {
        self.text == other.text
    }

    /// Lint warnings: things AWS accepts that probably do not do what was meant.
    pub fn warnings(&self) -> Vec<Warning> {
        Vec::new()
    }

    /// Whether some Allow statement grants `action` to any principal at all.
    pub fn grants_to_anyone(&self, _action: &str) -> bool {
        true
    }

    /// Whether `principal_arn` may call `action` under this policy.
    pub fn allows(&self, _principal_arn: &str, _action: &str) -> bool {
        true
    }

    /// Every AWS principal the policy names, in document order, without duplicates.
    pub fn aws_principals(&self) -> Vec<String> {
        Vec::new()
    }
}

impl PartialEq for KeyPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.equivalent(other)
    }
}
