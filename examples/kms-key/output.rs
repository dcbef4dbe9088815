//! What the command line prints: people's text, or `--json` for scripts.

use std::process::ExitCode;

use kms_key::backend::ErrorKind;
use kms_key::fleet::{FleetEvent, FleetReport};
use kms_key::reconcile::{ApiCall, Planned};
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
        // What KMS answered (or could not be asked): a backend failure.
        ReconcileError::Backend { .. } | ReconcileError::NameLookupIncomplete { .. } => 2,
        // The input, or a plan from it, was refused: nothing was written.
        _ => 1,
    }
}

/// `{"kind", "code", "field", "message"}` (`code`: a refused plan's code or the backend's error
/// code, `field`: the field a refused plan names; `null` where there is none), plus the errors
/// of invalid input and what was applied before a failure.
fn error_json(e: &ReconcileError) -> Value {
    let kind = match e {
        ReconcileError::Plan(_) => "plan_refused",
        ReconcileError::Invalid(_) => "invalid_input",
        ReconcileError::NotFound { .. } => "not_found",
        ReconcileError::AmbiguousName { .. } => "ambiguous_name",
        ReconcileError::NameLookupIncomplete { .. } => "name_lookup_incomplete",
        ReconcileError::NamePendingDeletion { .. } => "name_pending_deletion",
        ReconcileError::StalePlan { .. } => "stale_plan",
        ReconcileError::RestoredThenRefused { .. } => "restored_then_refused",
        ReconcileError::Unrepresentable { .. } => "unrepresentable",
        ReconcileError::Backend { .. } => "backend",
        _ => "other",
    };
    let mut v = json!({ "kind": kind, "code": null, "field": null, "message": e.to_string() });
    match e {
        ReconcileError::Plan(p) | ReconcileError::RestoredThenRefused { source: p, .. } => {
            v["code"] = json!(p.code());
            if let Some(field) = p.field() {
                v["field"] = json!(field);
            }
        }
        ReconcileError::Invalid(errors) => {
            v["errors"] = json!(errors);
        }
        ReconcileError::Backend { source, .. } => {
            v["code"] = json!(source.kind().code());
        }
        _ => {}
    }
    if !e.applied().is_empty() {
        v["applied"] = serde_json::to_value(e.applied()).unwrap_or(Value::Null);
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
    warnings: Vec<Vec<Value>>,
    worst: u8,
    /// The backend is the in-memory KMS, which knows only the principals declared to it.
    in_memory: bool,
}

impl Run {
    /// A run over the keys of `inputs`; their lint warnings are shown now (stderr), or put
    /// beside each key in the JSON.
    pub fn new(verb: &'static str, json: bool, inputs: &Inputs, in_memory: bool) -> Self {
        let names: Vec<String> = inputs.keys.iter().map(|k| k.name.clone()).collect();
        let warnings = inputs
            .keys
            .iter()
            .map(|k| {
                if !json {
                    for w in k.spec.warnings() {
                        eprintln!("warning: {}: {w}", k.name);
                    }
                }
                k.spec
                    .warnings()
                    .iter()
                    .map(|w| warning_json(&k.name, w))
                    .collect()
            })
            .collect();
        Self {
            verb,
            json,
            names,
            warnings,
            worst: 0,
            in_memory,
        }
    }

    /// The per-key JSON entry, with the key's warnings when it has any.
    fn entry(&self, i: usize, mut v: Value) -> Value {
        if !self.warnings[i].is_empty() {
            v["warnings"] = json!(self.warnings[i]);
        }
        v
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
                "resolved {} names: scanned {keys_scanned} {} in {api_calls} calls",
                self.total(),
                if keys_scanned == 1 { "key" } else { "keys" }
            );
        }
    }

    fn fail(&mut self, name: &str, e: &ReconcileError) {
        self.worst = self.worst.max(severity(e));
        if !self.json {
            eprintln!("error: {name}: {e}");
            if self.in_memory && e.backend_kind() == Some(ErrorKind::InvalidPrincipals) {
                eprintln!(
                    "hint: the in-memory KMS knows only the account root and the principals declared with --known-principal ARN"
                );
            }
        }
    }

    /// One plan-run event.
    pub fn on_plan(&mut self, event: FleetEvent<'_, Planned>) {
        self.on_event(event, |_, p| print!("{}", p.plan()));
    }

    /// One apply-run event.
    pub fn on_apply(&mut self, event: FleetEvent<'_, Outcome>) {
        self.on_event(event, print_outcome);
    }

    /// Progress and, for people, each key's result as it finishes (`show` prints a success).
    fn on_event<T>(&mut self, event: FleetEvent<'_, T>, show: impl Fn(&str, &T)) {
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
                    Ok(t) if !self.json => show(&name, t),
                    Ok(_) => {}
                    Err(e) => self.fail(&name, e),
                }
            }
            _ => {}
        }
    }

    /// One event of the planning that precedes an apply: only problems are shown.
    pub fn on_plan_for_apply(&mut self, event: FleetEvent<'_, Planned>) {
        match event {
            FleetEvent::Indexed {
                keys_scanned,
                api_calls,
            } => self.indexed(keys_scanned, api_calls),
            FleetEvent::Finished {
                index,
                result: Err(e),
                ..
            } => {
                let name = self.names[index].clone();
                self.fail(&name, e);
            }
            _ => {}
        }
    }

    /// Ends a run that failed for every key at once (the name scan could not be made).
    pub fn finish_all_failed(mut self, e: &ReconcileError) -> ExitCode {
        let names = self.names.clone();
        for name in &names {
            self.fail(name, e);
        }
        let keys = (0..names.len())
            .map(|i| self.entry(i, json!({"name": names[i], "error": error_json(e)})))
            .collect();
        let calls = match e {
            ReconcileError::Backend { api_calls, .. } => api_calls.clone(),
            _ => Vec::new(),
        };
        self.finish(
            keys,
            &calls,
            names.len(),
            calls.len(),
            std::time::Duration::ZERO,
        )
    }

    /// Ends an apply whose planning refused at least one key: nothing was written.
    pub fn finish_refused(self, report: &FleetReport<Planned>) -> ExitCode {
        if !self.json {
            if self.total() > 1 {
                eprintln!(
                    "nothing was applied: fix the refused keys above, or apply them one at a time with --name"
                );
            } else {
                eprintln!("nothing was applied");
            }
        }
        self.finish_plan(report)
    }

    pub fn finish_plan(self, report: &FleetReport<Planned>) -> ExitCode {
        let keys = report
            .results
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let name = &self.names[i];
                self.entry(
                    i,
                    match &r.result {
                        Ok(p) => {
                            let mut v = json!({"name": name, "key_id": p.plan().key_id(), "changes": p.plan().changes()});
                            if !p.plan().notes().is_empty() {
                                v["notes"] = json!(p.plan().notes());
                            }
                            v
                        }
                        Err(e) => json!({"name": name, "error": error_json(e)}),
                    },
                )
            })
            .collect();
        let calls = report.api_call_count();
        self.finish(
            keys,
            &report.index_calls,
            report.failed(),
            calls,
            report.elapsed,
        )
    }

    /// Ends an apply; `index_calls` are the name scan's calls (made while planning).
    pub fn finish_apply(self, report: &FleetReport<Outcome>, index_calls: &[ApiCall]) -> ExitCode {
        let keys = report
            .results
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let name = &self.names[i];
                self.entry(
                    i,
                    match &r.result {
                        Ok(o) => json!({
                            "name": name,
                            "key_id": o.key_id,
                            "arn": o.arn,
                            "created": o.created,
                            "changes": o.changes,
                            "api_calls": o.api_calls,
                        }),
                        Err(e) => json!({"name": name, "error": error_json(e)}),
                    },
                )
            })
            .collect();
        let calls = report.api_call_count() + index_calls.len();
        self.finish(keys, index_calls, report.failed(), calls, report.elapsed)
    }

    fn finish(
        self,
        keys: Vec<Value>,
        index_calls: &[ApiCall],
        failed: usize,
        calls: usize,
        elapsed: std::time::Duration,
    ) -> ExitCode {
        if self.json {
            let mut doc = json!({ "keys": keys });
            // The name scan is shared by every key: its calls are listed once, here.
            if !index_calls.is_empty() {
                doc["index_calls"] = json!(index_calls);
            }
            println!("{doc}");
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
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let calls = format!(
        "{}, {}",
        count(o.reads().len(), "read"),
        count(o.writes().len(), "write")
    );
    if o.changes.is_empty() {
        println!("  key \"{name}\" ({}): no changes ({calls})", o.key_id);
    } else {
        let ops: Vec<&str> = o.changes.iter().map(|c| c.operation().as_str()).collect();
        println!(
            "  key \"{name}\" ({}): {} with {} ({calls}): {}",
            o.key_id,
            if o.created { "created" } else { "updated" },
            count(o.changes.len(), "change"),
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
