//! What the command line prints: people's text, or `--json` for scripts.

use std::process::ExitCode;

use kms_key::reconcile::Planned;
use kms_key::spec::terraform::NamedSpec;
use kms_key::{KmsKeySpec, Outcome, ReconcileError, ValidationErrors, Warning};
use serde_json::{Value, json};

use crate::input::Inputs;

/// Exit status for a failed key: 1 when the input or the plan was refused, 2 for a backend failure.
pub fn exit_for(e: &ReconcileError) -> ExitCode {
    ExitCode::from(severity(e))
}

fn severity(e: &ReconcileError) -> u8 {
    match e {
        ReconcileError::Backend { .. } => 2,
        _ => 1,
    }
}

fn error_json(e: &ReconcileError) -> Value {
    let kind = match e {
        ReconcileError::Plan(_) => "plan_refused".to_owned(),
        ReconcileError::NotFound { .. } => "not_found".to_owned(),
        ReconcileError::AmbiguousName { .. } => "ambiguous_name".to_owned(),
        ReconcileError::Unrepresentable { .. } => "unrepresentable".to_owned(),
        ReconcileError::Backend { source, .. } => source.kind().code().to_owned(),
        _ => "other".to_owned(),
    };
    let mut v = json!({ "kind": kind, "message": e.to_string() });
    if let ReconcileError::Backend { applied, .. } = e {
        v["applied"] = serde_json::to_value(applied).unwrap_or(Value::Null);
    }
    v
}

/// The outcome of `validate` (also printed when plan/apply get invalid input).
pub struct Report {
    errors: Vec<Value>,
    warnings: Vec<Value>,
    text: Vec<String>,
}

impl Report {
    pub fn valid(inputs: &Inputs) -> Self {
        let mut warnings = Vec::new();
        let mut text = Vec::new();
        for NamedSpec { name, spec, .. } in &inputs.keys {
            for w in spec.warnings() {
                warnings.push(warning_json(name, w));
                text.push(format!("warning: {name}: {w}"));
            }
            text.push(format!("{name}: valid"));
        }
        Self {
            errors: Vec::new(),
            warnings,
            text,
        }
    }

    pub fn invalid(errors: &ValidationErrors) -> Self {
        Self {
            errors: errors
                .errors()
                .iter()
                .map(|e| json!({"field": e.field(), "code": e.code(), "message": e.message()}))
                .collect(),
            warnings: Vec::new(),
            text: vec![format!("error: {errors}")],
        }
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn print_validate(&self, json: bool) {
        if json {
            println!(
                "{}",
                json!({"valid": self.ok(), "errors": self.errors, "warnings": self.warnings})
            );
        } else if self.ok() {
            for line in &self.text {
                println!("{line}");
            }
        } else {
            for line in &self.text {
                eprintln!("{line}");
            }
        }
    }
}

fn warning_json(name: &str, w: &Warning) -> Value {
    json!({"name": name, "field": w.field(), "code": w.code(), "message": w.message()})
}

/// Collects per-key results of a plan or apply run.
pub struct Run {
    verb: &'static str,
    json: bool,
    keys: Vec<Value>,
    worst: u8,
    total: usize,
}

impl Run {
    pub fn new(verb: &'static str, json: bool) -> Self {
        Self {
            verb,
            json,
            keys: Vec::new(),
            worst: 0,
            total: 0,
        }
    }

    /// Progress for files with many keys, on stderr so stdout stays clean.
    pub fn progress(&mut self, i: usize, total: usize, name: &str) {
        self.total = total;
        if total > 1 && !self.json {
            eprintln!("[{i}/{total}] {} {name}", self.verb);
        }
    }

    fn fail(&mut self, name: &str, e: &ReconcileError) {
        self.worst = self.worst.max(severity(e));
        if !self.json {
            eprintln!("error: {name}: {e}");
        }
        self.keys
            .push(json!({"name": name, "error": error_json(e)}));
    }

    pub fn planned(&mut self, name: &str, r: Result<Planned, ReconcileError>) {
        match r {
            Ok(p) => {
                if !self.json {
                    print!("{}", p.plan);
                }
                self.keys.push(json!({
                    "name": name,
                    "key_id": p.plan.key_id,
                    "changes": p.plan.changes,
                }));
            }
            Err(e) => self.fail(name, &e),
        }
    }

    pub fn applied(&mut self, name: &str, r: Result<Outcome, ReconcileError>) {
        match r {
            Ok(o) => {
                if !self.json {
                    let writes = o.writes().len();
                    let reads = o.reads().len();
                    if o.changes.is_empty() {
                        println!(
                            "  key \"{name}\" ({}): no changes ({reads} reads, 0 writes)",
                            o.key_id
                        );
                    } else {
                        let ops: Vec<&str> =
                            o.changes.iter().map(|c| c.operation().as_str()).collect();
                        println!(
                            "  key \"{name}\" ({}): {} {} ({reads} reads, {writes} writes): {}",
                            o.key_id,
                            if o.created { "created" } else { "updated" },
                            if o.changes.len() == 1 {
                                "with 1 change".to_owned()
                            } else {
                                format!("with {} changes", o.changes.len())
                            },
                            ops.join(", ")
                        );
                    }
                }
                self.keys.push(json!({
                    "name": name,
                    "key_id": o.key_id,
                    "arn": o.arn,
                    "created": o.created,
                    "changes": o.changes,
                    "api_calls": o.api_calls,
                }));
            }
            Err(e) => self.fail(name, &e),
        }
    }

    pub fn finish(self) -> ExitCode {
        if self.json {
            println!("{}", json!({ "keys": self.keys }));
        } else if self.total > 1 {
            let failed = self
                .keys
                .iter()
                .filter(|k| k.get("error").is_some())
                .count();
            eprintln!(
                "{} keys: {} ok, {failed} failed",
                self.total,
                self.total - failed
            );
        }
        ExitCode::from(self.worst)
    }
}

pub fn print_import(key_id: &str, spec: &KmsKeySpec, json: bool) {
    if json {
        println!("{}", json!({"key_id": key_id, "spec": spec}));
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(spec).expect("a spec serializes")
        );
    }
}
