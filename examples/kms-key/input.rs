//! Reading FILE: a spec JSON (logical name = the file's stem) or a Terraform JSON configuration.

use std::path::Path;

use kms_key::spec::terraform::{NamedSpec, from_terraform_json, is_terraform_json};
use kms_key::{ErrorCode, KmsKeySpec, ValidationErrors};

/// The keys a file describes.
pub struct Inputs {
    pub keys: Vec<NamedSpec>,
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
            format!(
                "{} is not valid JSON at line {} column {}: {e}",
                file.display(),
                e.line(),
                e.column()
            ),
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
        return Ok(Inputs { keys });
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
    })
}
