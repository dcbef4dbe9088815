//! Test hooks: the call log and scripted, deterministic fault injection.

use std::collections::{BTreeMap, HashMap};

use crate::backend::{ErrorKind, Operation};

use super::rules::Failure;

/// One call the backend received, in the order received: what [`InMemoryBackend::calls`]
/// returns.
///
/// [`InMemoryBackend::calls`]: super::InMemoryBackend::calls
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Call {
    /// The operation.
    pub operation: Operation,
    /// The key the call addressed: its key id when the backend knew it (even when it was given
    /// as an ARN), otherwise the text as given; for `CreateKey` the new key's id (`None` when
    /// the create failed); `None` for `ListKeys`.
    pub key_id: Option<String>,
    /// `Ok` or the kind of the error it answered (injected faults included).
    pub outcome: Result<(), ErrorKind>,
}

impl Call {
    /// A call record, for comparing with [`InMemoryBackend::calls`](super::InMemoryBackend::calls).
    pub fn new(operation: Operation, key_id: Option<&str>, outcome: Result<(), ErrorKind>) -> Self {
        Self {
            operation,
            key_id: key_id.map(str::to_owned),
            outcome,
        }
    }

    /// A successful call on `key_id`.
    pub fn ok(operation: Operation, key_id: &str) -> Self {
        Self::new(operation, Some(key_id), Ok(()))
    }

    /// A call on `key_id` that failed with `kind`.
    pub fn failed(operation: Operation, key_id: &str, kind: ErrorKind) -> Self {
        Self::new(operation, Some(key_id), Err(kind))
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The key id the call addressed (see the field's documentation).
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// `Ok` or the kind of the error the call answered.
    pub fn outcome(&self) -> Result<(), ErrorKind> {
        self.outcome
    }
}

/// An error to inject: a kind and the message the backend answers with.
///
/// `Fault::from(kind)` uses a default message: `"Rate exceeded"` for
/// [`ErrorKind::Throttled`] (what AWS says), the kind's description otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    kind: ErrorKind,
    message: String,
}

impl Fault {
    /// A fault of `kind` with the default message.
    pub fn new(kind: ErrorKind) -> Self {
        let message = match kind {
            ErrorKind::Throttled => "Rate exceeded".to_owned(),
            other => other.to_string(),
        };
        Self { kind, message }
    }

    /// The same fault with `message` instead.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The kind of error injected.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message injected.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(super) fn to_failure(&self) -> Failure {
        Failure::new(self.kind, self.message.clone())
    }
}

impl From<ErrorKind> for Fault {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

#[derive(Debug)]
enum Rule {
    /// Fail the `n`th call of `op` counted from when the rule was scripted.
    Nth {
        op: Operation,
        n: usize,
        seen: usize,
        fault: Fault,
    },
    /// Fail the next `remaining` calls of `op`.
    Next {
        op: Operation,
        remaining: usize,
        fault: Fault,
    },
    /// Let `n` calls (of any operation) through, then fail every one.
    After { n: usize, seen: usize, fault: Fault },
}

impl Rule {
    fn finished(&self) -> bool {
        match self {
            Rule::Nth { n, seen, .. } => seen >= n,
            Rule::Next { remaining, .. } => *remaining == 0,
            Rule::After { .. } => false,
        }
    }
}

/// The scripted faults of one backend. Not part of the snapshot: scripts belong to a test run.
#[derive(Debug, Default)]
pub(super) struct FaultScript {
    rules: Vec<Rule>,
    /// Reads a key created from now on stays invisible to (0: off).
    hide_new_keys_for: usize,
    /// Keys still invisible to reads, with the reads left.
    hidden: HashMap<String, usize>,
    /// Principals not yet visible, with the attempts naming them still to fail.
    pending_principals: BTreeMap<String, usize>,
}

impl FaultScript {
    pub(super) fn fail_nth(&mut self, op: Operation, n: usize, fault: Fault) {
        if n > 0 {
            self.rules.push(Rule::Nth {
                op,
                n,
                seen: 0,
                fault,
            });
        }
    }

    pub(super) fn fail_next(&mut self, op: Operation, k: usize, fault: Fault) {
        if k > 0 {
            self.rules.push(Rule::Next {
                op,
                remaining: k,
                fault,
            });
        }
    }

    pub(super) fn fail_after(&mut self, n: usize, fault: Fault) {
        self.rules.push(Rule::After { n, seen: 0, fault });
    }

    pub(super) fn hide_new_keys(&mut self, reads: usize) {
        self.hide_new_keys_for = reads;
    }

    pub(super) fn delay_principal(&mut self, principal: String, attempts: usize) {
        self.pending_principals.insert(principal, attempts);
    }

    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Counts the call against every rule and answers the fault of the first rule that fires.
    pub(super) fn on_call(&mut self, op: Operation) -> Option<Fault> {
        let mut hit = None;
        for rule in &mut self.rules {
            match rule {
                Rule::Nth {
                    op: o,
                    n,
                    seen,
                    fault,
                } if *o == op => {
                    *seen += 1;
                    if *seen == *n && hit.is_none() {
                        hit = Some(fault.clone());
                    }
                }
                Rule::Next {
                    op: o,
                    remaining,
                    fault,
                    // Only a call this rule fails uses up one of its k failures.
                } if *o == op && hit.is_none() && *remaining > 0 => {
                    *remaining -= 1;
                    hit = Some(fault.clone());
                }
                Rule::After { n, seen, fault } => {
                    *seen += 1;
                    if *seen > *n && hit.is_none() {
                        hit = Some(fault.clone());
                    }
                }
                _ => {}
            }
        }
        self.rules.retain(|r| !r.finished());
        hit
    }

    /// Called when a key was created: it becomes invisible to reads if so scripted.
    pub(super) fn on_key_created(&mut self, key_id: &str) {
        if self.hide_new_keys_for > 0 {
            self.hidden
                .insert(key_id.to_owned(), self.hide_new_keys_for);
        }
    }

    /// Whether this read of `key_id` must answer NotFound (and uses up one hidden read).
    pub(super) fn read_hidden(&mut self, key_id: &str) -> bool {
        match self.hidden.get_mut(key_id) {
            Some(left) if *left > 0 => {
                *left -= 1;
                if *left == 0 {
                    self.hidden.remove(key_id);
                }
                true
            }
            _ => false,
        }
    }

    /// One attempt names `principal`: `Some(true)` when it is still invisible (the attempt
    /// fails), `Some(false)` when this attempt makes it visible, `None` when it is not scripted.
    pub(super) fn principal_attempt(&mut self, principal: &str) -> Option<bool> {
        let left = self.pending_principals.get_mut(principal)?;
        if *left > 0 {
            *left -= 1;
            Some(true)
        } else {
            self.pending_principals.remove(principal);
            Some(false)
        }
    }

    pub(super) fn forget_key(&mut self, key_id: &str) {
        self.hidden.remove(key_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_next_after_count_from_scripting() {
        let mut s = FaultScript::default();
        s.fail_nth(Operation::DescribeKey, 2, ErrorKind::Throttled.into());
        assert_eq!(s.on_call(Operation::DescribeKey), None);
        assert_eq!(s.on_call(Operation::CreateKey), None);
        assert_eq!(
            s.on_call(Operation::DescribeKey).map(|f| f.kind()),
            Some(ErrorKind::Throttled)
        );
        assert_eq!(s.on_call(Operation::DescribeKey), None);

        s.fail_next(Operation::EnableKey, 2, ErrorKind::Internal.into());
        assert!(s.on_call(Operation::EnableKey).is_some());
        assert!(s.on_call(Operation::EnableKey).is_some());
        assert!(s.on_call(Operation::EnableKey).is_none());

        s.fail_after(1, Fault::new(ErrorKind::Transport).with_message("cut"));
        assert!(s.on_call(Operation::ListKeys).is_none());
        let f = s.on_call(Operation::ListKeys).unwrap();
        assert_eq!((f.kind(), f.message()), (ErrorKind::Transport, "cut"));
        assert!(s.on_call(Operation::CreateKey).is_some());
    }

    #[test]
    fn principal_becomes_visible_after_k_attempts() {
        let mut s = FaultScript::default();
        s.delay_principal("p".into(), 2);
        assert_eq!(s.principal_attempt("p"), Some(true));
        assert_eq!(s.principal_attempt("p"), Some(true));
        assert_eq!(s.principal_attempt("p"), Some(false));
        assert_eq!(s.principal_attempt("p"), None);
    }
}
