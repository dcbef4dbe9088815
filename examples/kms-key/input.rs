//! Reading FILE: a spec JSON (logical name = the file's stem) or a Terraform JSON configuration.

use std::path::Path;

use kms_key::plan::{PlanOptions, plan};
use kms_key::spec::terraform::{NamedSpec, from_terraform_json, is_terraform_json};
use kms_key::{ErrorCode, KmsKeySpec, PlanError, ValidationError, ValidationErrors};

/// The keys a file describes.
pub struct Inputs {
    pub keys: Vec<NamedSpec>,
    /// From a Terraform configuration (field paths start at the resource).
    terraform: bool,
}

impl Inputs {
    /// What a key known by its logical name also needs, checked before any call: a name that
    /// can be the ownership tag's value, and room for that tag beside the spec's own tags.
    pub fn check_names(&self) -> Result<(), ValidationErrors> {
        let mut errors = Vec::new();
        for k in &self.keys {
            let at = |field: &str| {
                if self.terraform {
                    format!("resource.aws_kms_key.{}.{field}", k.name)
                } else {
                    field.to_owned()
                }
            };
            if let Err(e) = kms_key::spec::validate_name(&k.name) {
                errors.extend(e);
                continue;
            }
            // The library's own rule: planning the create (pure, no call) refuses a spec that
            // leaves no room for the ownership tag.
            if let Err(refusal @ PlanError::TooManyTags { .. }) =
                plan(&k.spec, None, &PlanOptions::named(k.name.as_str()))
            {
                let field = refusal.field().unwrap_or("tags");
                // The refusal names its field first; the error carries it as its path.
                let text = refusal.to_string();
                let text = text.strip_prefix(&format!("{field}: ")).unwrap_or(&text);
                errors.push(ValidationError::new(
                    at(field),
                    ErrorCode::TooManyTags,
                    format!("{text}, or target the key with --key-id"),
                ));
            }
        }
        ValidationErrors::from_vec(errors).map_or(Ok(()), Err)
    }
}

fn one(field: &str, code: ErrorCode, message: String) -> ValidationErrors {
    ValidationErrors::single(field, code, message)
}

/// Loads `file`; `name` overrides the logical name of a single spec, or picks one resource of a
/// Terraform configuration.
pub fn load(file: &Path, name: Option<&str>) -> Result<Inputs, ValidationErrors> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        one(
            "",
            ErrorCode::InvalidType,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        one(
            "",
            ErrorCode::JsonSyntax,
            // serde_json's message ends with the line and column.
            format!("{} is not valid JSON: {e}", file.display()),
        )
    })?;
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if file_name.ends_with(".tf.json") || is_terraform_json(&value) {
        let mut keys = from_terraform_json(&text)?;
        if let Some(n) = name {
            keys.retain(|k| k.name == n);
            if keys.is_empty() {
                return Err(one(
                    "resource.aws_kms_key",
                    ErrorCode::InvalidValue,
                    format!(
                        "--name {n}: the configuration has no aws_kms_key resource of that name"
                    ),
                ));
            }
        }
        return Ok(Inputs {
            keys,
            terraform: true,
        });
    }
    // From the text, not the `Value`: only the text still shows keys given twice.
    let spec = KmsKeySpec::from_json(&text)?;
    let stem = file_name.strip_suffix(".json").unwrap_or(file_name);
    let name = name.unwrap_or(stem).to_owned();
    if name.is_empty() {
        return Err(one(
            "",
            ErrorCode::InvalidValue,
            "the logical name is empty: pass --name".into(),
        ));
    }
    Ok(Inputs {
        keys: vec![kms_key::spec::terraform::NamedSpec::new(name, spec)],
        terraform: false,
    })
}
