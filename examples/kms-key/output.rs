//! What the command line prints: people's text, or `--json` for scripts.

use std::process::ExitCode;

use kms_key::fleet::{FleetEvent, FleetReport};
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

/// Reports a fleet plan or apply run: progress and per-key lines on the terminal as keys
/// finish, or one JSON document (keys in file order) at the end.
pub struct Run {
    verb: &'static str,
    json: bool,
    names: Vec<String>,
    worst: u8,
}

impl Run {
    pub fn new(verb: &'static str, json: bool, names: Vec<String>) -> Self {
        Self {
            verb,
            json,
            names,
            worst: 0,
        }
    }

    fn total(&self) -> usize {
        self.names.len()
    }

    /// Progress for files with many keys, on stderr so stdout stays clean.
    fn progress(&self, done: usize, name: &str) {
        if self.total() > 1 && !self.json {
            eprintln!("[{done}/{}] {} {name}", self.total(), self.verb);
        }
    }

    fn indexed(&self, keys_scanned: usize, api_calls: usize) {
        if self.total() > 1 && !self.json {
            eprintln!(
                "resolved {} names: scanned {keys_scanned} keys in {api_calls} calls",
                self.total()
            );
        }
    }

    fn fail(&mut self, name: &str, e: &ReconcileError) {
        self.worst = self.worst.max(severity(e));
        if !self.json {
            eprintln!("error: {name}: {e}");
        }
    }

    /// One plan-run event.
    pub fn on_plan(&mut self, event: FleetEvent<'_, Planned>) {
        match event {
            FleetEvent::Indexed {
                keys_scanned,
                api_calls,
            } => self.indexed(keys_scanned, api_calls),
            FleetEvent::Finished {
                index,
                result,
                done,
                ..
            } => {
                let name = self.names[index].clone();
                self.progress(done, &name);
                match result {
                    Ok(p) if !self.json => print!("{}", p.plan),
                    Ok(_) => {}
                    Err(e) => self.fail(&name, e),
                }
            }
            _ => {}
        }
    }

    /// One apply-run event.
    pub fn on_apply(&mut self, event: FleetEvent<'_, Outcome>) {
        match event {
            FleetEvent::Indexed {
                keys_scanned,
                api_calls,
            } => self.indexed(keys_scanned, api_calls),
            FleetEvent::Finished {
                index,
                result,
                done,
                ..
            } => {
                let name = self.names[index].clone();
                self.progress(done, &name);
                match result {
                    Ok(o) if !self.json => print_outcome(&name, o),
                    Ok(_) => {}
                    Err(e) => self.fail(&name, e),
                }
            }
            _ => {}
        }
    }

    pub fn finish_plan(self, report: &FleetReport<Planned>) -> ExitCode {
        let keys = report
            .results
            .iter()
            .zip(&self.names)
            .map(|(r, name)| match &r.result {
                Ok(p) => json!({
                    "name": name,
                    "key_id": p.plan.key_id,
                    "changes": p.plan.changes,
                }),
                Err(e) => json!({"name": name, "error": error_json(e)}),
            })
            .collect();
        self.finish(
            keys,
            report.failed(),
            report.api_call_count(),
            report.elapsed,
        )
    }

    pub fn finish_apply(self, report: &FleetReport<Outcome>) -> ExitCode {
        let keys = report
            .results
            .iter()
            .zip(&self.names)
            .map(|(r, name)| match &r.result {
                Ok(o) => json!({
                    "name": name,
                    "key_id": o.key_id,
                    "arn": o.arn,
                    "created": o.created,
                    "changes": o.changes,
                    "api_calls": o.api_calls,
                }),
                Err(e) => json!({"name": name, "error": error_json(e)}),
            })
            .collect();
        self.finish(
            keys,
            report.failed(),
            report.api_call_count(),
            report.elapsed,
        )
    }

    fn finish(
        self,
        keys: Vec<Value>,
        failed: usize,
        calls: usize,
        elapsed: std::time::Duration,
    ) -> ExitCode {
        if self.json {
            println!("{}", json!({ "keys": keys }));
        } else if self.total() > 1 {
            eprintln!(
                "{} keys: {} ok, {failed} failed ({calls} API calls, {:.2} s)",
                self.total(),
                self.total() - failed,
                elapsed.as_secs_f64()
            );
        }
        ExitCode::from(self.worst)
    }
}

fn print_outcome(name: &str, o: &Outcome) {
    let writes = o.writes().len();
    let reads = o.reads().len();
    if o.changes.is_empty() {
        println!(
            "  key \"{name}\" ({}): no changes ({reads} reads, 0 writes)",
            o.key_id
        );
    } else {
        let ops: Vec<&str> = o.changes.iter().map(|c| c.operation().as_str()).collect();
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
