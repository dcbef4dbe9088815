//! The normalized form of a policy document, and the walk from a JSON tree to it.
//!
//! The walk checks the structure (strictly for a desired policy, leniently for one read back
//! from KMS), collects lint warnings with the statement's index as written, and produces a
//! [`Doc`] in which every difference that IAM ignores is gone: single values are one-element
//! sets, sets are sorted and deduplicated, action names and condition keys are lowercased,
//! account principals are reduced to the account id, and statements are sorted and
//! deduplicated. Two policies are equivalent exactly when their `Doc`s are equal, which costs
//! one O(n log n) sort per policy and one linear comparison.

use std::borrow::Cow;

use crate::validation::{ErrorCode, FieldPath, ValidationError, Warning, WarningCode};

use super::json::Json;
use super::principal::aws_principal_problem;

/// The policy language versions KMS accepts.
pub(crate) const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];

/// The principal types a key policy can name.
const PRINCIPAL_TYPES: [&str; 4] = ["AWS", "Service", "Federated", "CanonicalUser"];

/// The principal type of IAM identities (accounts, users, roles, sessions).
pub(crate) const AWS: &str = "AWS";

/// The elements a statement may have.
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// The top-level elements of a policy document.
const DOCUMENT_ELEMENTS: [&str; 3] = ["Version", "Id", "Statement"];

/// A normalized policy document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Doc {
    pub(crate) version: Option<String>,
    pub(crate) id: Option<String>,
    /// Sorted and deduplicated.
    pub(crate) statements: Vec<Stmt>,
    /// Elements a lenient parse kept without understanding them, sorted by name.
    pub(crate) extra: Vec<(String, Canon)>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A normalized statement. Field order is the sort order of statements.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Stmt {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Option<Effect>,
    pub(crate) principal: Option<Principals>,
    pub(crate) not_principal: Option<Principals>,
    /// Lowercased, sorted, deduplicated.
    pub(crate) action: Option<Vec<String>>,
    pub(crate) not_action: Option<Vec<String>>,
    /// Sorted, deduplicated.
    pub(crate) resource: Option<Vec<String>>,
    pub(crate) not_resource: Option<Vec<String>>,
    /// Sorted; empty when the statement has no (or an empty) Condition.
    pub(crate) condition: Vec<CondEntry>,
    /// Elements a lenient parse kept without understanding them, sorted by name.
    pub(crate) extra: Vec<(String, Canon)>,
}

impl Stmt {
    /// Whether the statement has a Condition that constrains anything.
    pub(crate) fn has_condition(&self) -> bool {
        !self.condition.is_empty() || self.extra.iter().any(|(k, _)| k == "Condition")
    }
}

/// Principal values by type (`AWS`, `Service`, ...), types sorted, values sorted and
/// deduplicated. `"*"` is stored as `AWS: ["*"]`; an account root as the bare account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Principals(pub(crate) Vec<(Cow<'static, str>, Vec<String>)>);

impl Principals {
    /// Whether this is the anonymous/everyone principal and nothing else.
    pub(crate) fn is_only_everyone(&self) -> bool {
        matches!(self.0.as_slice(), [(t, v)] if t == AWS && v.len() == 1 && v[0] == "*")
    }

    /// Whether any AWS value is `"*"`.
    pub(crate) fn includes_everyone(&self) -> bool {
        self.0
            .iter()
            .any(|(t, v)| t == AWS && v.iter().any(|p| p == "*"))
    }
}

/// One condition test: operator (case kept, IAM operators are case-sensitive), key
/// (lowercased, IAM condition keys are not) and the set of values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CondEntry {
    pub(crate) operator: String,
    pub(crate) key: String,
    pub(crate) values: Canon,
}

/// A normalized JSON value where lists are sets: condition values and whatever a lenient parse
/// keeps without understanding it. Scalars compare as text, a one-element list is its element.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Canon {
    Null,
    Text(String),
    /// Sorted, deduplicated, never exactly one element.
    Set(Vec<Canon>),
    /// Sorted by key.
    Object(Vec<(String, Canon)>),
}

impl Canon {
    pub(crate) fn from_json(value: &Json<'_>) -> Canon {
        match value {
            Json::Null => Canon::Null,
            // A one-element list is its element; skip the intermediate list.
            Json::Array(items) if items.len() == 1 => Canon::from_json(&items[0]),
            Json::Array(items) => Canon::set(items.iter().map(Canon::from_json).collect()),
            Json::Object(members) => Canon::Object(sorted_last_wins(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), Canon::from_json(v)))
                    .collect(),
            )),
            scalar => Canon::Text(scalar.scalar_text().unwrap_or_default().into_owned()),
        }
    }

    fn set(mut items: Vec<Canon>) -> Canon {
        items.sort_unstable();
        items.dedup();
        if items.len() == 1 {
            items.pop().unwrap_or(Canon::Null)
        } else {
            Canon::Set(items)
        }
    }
}

/// Sorts members by key; of members with the same key the last one wins, as in `serde_json`.
fn sorted_last_wins<T>(mut members: Vec<(String, T)>) -> Vec<(String, T)> {
    members.reverse();
    // Stable: after reversing, the last occurrence of a key comes first among its equals.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members.dedup_by(|later, earlier| later.0 == earlier.0);
    members
}

/// Sorts and deduplicates a set of strings.
fn string_set(mut values: Vec<String>) -> Vec<String> {
    values.sort_unstable();
    values.dedup();
    values
}

/// A generic value read as a string or a set of strings, if it is one.
fn canon_strings(canon: &Canon) -> Option<Vec<&str>> {
    match canon {
        Canon::Text(t) => Some(vec![t.as_str()]),
        Canon::Set(items) => items
            .iter()
            .map(|i| match i {
                Canon::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect(),
        Canon::Null | Canon::Object(_) => None,
    }
}

/// A generic value read as a Condition (`{operator: {key: values}}`), if it is one.
fn canon_condition(canon: &Canon) -> Option<Vec<CondEntry>> {
    let Canon::Object(operators) = canon else {
        return None;
    };
    let mut entries = Vec::new();
    for (operator, keys) in operators {
        let Canon::Object(keys) = keys else {
            return None;
        };
        entries.extend(keys.iter().map(|(key, values)| CondEntry {
            operator: operator.clone(),
            key: key.to_lowercase(),
            values: values.clone(),
        }));
    }
    entries.sort_unstable();
    entries.dedup();
    Some(entries)
}

/// A lenient parse's reading of a value that should have been a string: the text, if the value
/// is one once normalized (`["x"]` → `"x"`, `5` → `"5"`), else the normalized value itself.
fn lenient_text(value: &Json<'_>) -> Result<String, Canon> {
    match Canon::from_json(value) {
        Canon::Text(t) => Ok(t),
        other => Err(other),
    }
}

/// Whether `s` is a 12-digit AWS account id.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account id of an account principal: a bare id or `arn:PARTITION:iam::ACCOUNT:root`.
pub(crate) fn account_root(principal: &str) -> Option<&str> {
    if is_account_id(principal) {
        return Some(principal);
    }
    let arn = Arn::parse(principal)?;
    (arn.service == "iam" && arn.region.is_empty() && arn.resource == "root")
        .then_some(arn.account)
        .filter(|a| is_account_id(a))
}

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub(crate) partition: &'a str,
    pub(crate) service: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) resource: &'a str,
}

impl<'a> Arn<'a> {
    pub(crate) fn parse(s: &'a str) -> Option<Self> {
        let mut parts = s.strip_prefix("arn:")?.splitn(5, ':');
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        (!arn.partition.is_empty()).then_some(arn)
    }
}

/// Normalizes one AWS principal value: an account root becomes its bare account id, which is
/// how IAM treats both spellings. The partition is dropped with it: a key policy can only name
/// principals of its own partition, so it never tells two valid principals apart.
fn aws_principal(value: &str) -> String {
    account_root(value).unwrap_or(value).to_owned()
}

/// Whether a principal object names at least one principal: some type has a value other than
/// an empty list. `{}` and `{"AWS": []}` name nobody.
fn names_anyone(types: Members<'_, '_>) -> bool {
    types
        .iter()
        .any(|(_, values)| !matches!(values, Json::Array(items) if items.is_empty()))
}

/// `path.name` for a plain name, `path["name"]` for anything that would make the path ambiguous.
fn member(path: FieldPath, name: &str) -> FieldPath {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        path.field(name)
    } else {
        path.key(name)
    }
}

/// Where a statement sits in the document as written.
#[derive(Debug, Clone, Copy)]
struct Loc(Option<usize>);

impl Loc {
    /// `policy.Statement[i]`, or `policy.Statement` when Statement is a single object.
    fn path(self) -> FieldPath {
        let p = FieldPath::new("policy").field("Statement");
        match self.0 {
            Some(i) => p.index(i),
            None => p,
        }
    }
}

/// The outcome of normalizing a tree.
pub(crate) struct Normalized {
    pub(crate) doc: Doc,
    pub(crate) errors: Vec<ValidationError>,
    pub(crate) warnings: Vec<Warning>,
}

/// Walks a policy tree into a [`Doc`]. `strict`: report every deviation from the policy
/// grammar as an error; otherwise only a missing object/Statement is an error and anything
/// else unexpected is kept as-is (in `extra`) so that it still takes part in comparisons.
pub(crate) fn normalize(root: &Json<'_>, strict: bool) -> Normalized {
    let mut n = Walker {
        strict,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let doc = n.document(root);
    Normalized {
        doc,
        errors: n.errors,
        warnings: n.warnings,
    }
}

struct Walker {
    strict: bool,
    errors: Vec<ValidationError>,
    warnings: Vec<Warning>,
}

type Members<'j, 'a> = &'j [(Cow<'a, str>, Json<'a>)];

impl Walker {
    /// An error that only a strict parse reports.
    fn strict_error(&mut self, path: FieldPath, code: ErrorCode, message: String) {
        if self.strict {
            self.errors.push(ValidationError::new(path, code, message));
        }
    }

    fn structure(&mut self, path: FieldPath, message: String) {
        self.strict_error(path, ErrorCode::PolicyStructure, message);
    }

    fn warn(&mut self, path: FieldPath, code: WarningCode, message: &str) {
        self.warnings.push(Warning::new(path, code, message));
    }

    /// Sorts members into the slots of `names`; unknown members go to `unknown`. A strict parse
    /// reports duplicates (JSON leaves their meaning open); a lenient one keeps the last.
    fn slots<'j, 'a, const N: usize>(
        &mut self,
        members: Members<'j, 'a>,
        names: &[&str; N],
        path: &dyn Fn() -> FieldPath,
        unknown: &mut Vec<(&'j str, &'j Json<'a>)>,
    ) -> [Option<&'j Json<'a>>; N] {
        let mut slots = [None; N];
        for (key, value) in members {
            match names.iter().position(|n| n == key) {
                Some(i) => {
                    if slots[i].is_some() {
                        self.structure(
                            member(path(), key),
                            format!("{key} is given more than once"),
                        );
                    }
                    slots[i] = Some(value);
                }
                None => unknown.push((key.as_ref(), value)),
            }
        }
        slots
    }

    /// Reports unknown elements (strict) or keeps them, normalized, in `extra` (lenient).
    fn unknown_elements(
        &mut self,
        unknown: Vec<(&str, &Json<'_>)>,
        names: &[&str],
        path: &dyn Fn() -> FieldPath,
        extra: &mut Vec<(String, Canon)>,
    ) {
        for (key, value) in unknown {
            if self.strict {
                let hint = names
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(key))
                    .map(|n| format!(" (element names are case-sensitive: did you mean {n}?)"))
                    .unwrap_or_default();
                let expected = names.join(", ");
                self.structure(
                    member(path(), key),
                    format!("unknown element {key:?}{hint}; expected one of {expected}"),
                );
            } else {
                extra.push((key.to_owned(), Canon::from_json(value)));
            }
        }
    }

    fn document(&mut self, root: &Json<'_>) -> Doc {
        let mut doc = Doc {
            version: None,
            id: None,
            statements: Vec::new(),
            extra: Vec::new(),
        };
        let policy = || FieldPath::new("policy");
        let Json::Object(members) = root else {
            self.errors.push(ValidationError::new(
                policy(),
                ErrorCode::PolicyStructure,
                format!(
                    "a policy must be a JSON object with a Statement, not {}",
                    root.kind()
                ),
            ));
            return doc;
        };
        let mut unknown = Vec::new();
        let [version, id, statement] =
            self.slots(members, &DOCUMENT_ELEMENTS, &policy, &mut unknown);

        match version {
            None => self.warn(
                policy().field("Version"),
                WarningCode::PolicyVersionMissing,
                "the policy has no Version, so IAM evaluates it as version 2008-10-17, \
                 without policy variables; add \"Version\": \"2012-10-17\"",
            ),
            Some(Json::String(v)) => {
                if !VERSIONS.contains(&v.as_ref()) {
                    self.strict_error(
                        policy().field("Version"),
                        ErrorCode::InvalidValue,
                        format!("Version {v:?} is not a policy language version; use \"2012-10-17\" (or \"2008-10-17\")"),
                    );
                }
                doc.version = Some(v.to_string());
            }
            Some(other) => {
                self.structure(
                    policy().field("Version"),
                    format!(
                        "Version must be a string such as \"2012-10-17\", not {}",
                        other.kind()
                    ),
                );
                match lenient_text(other) {
                    Ok(t) => doc.version = Some(t),
                    Err(c) => doc.extra.push(("Version".to_owned(), c)),
                }
            }
        }

        match id {
            None => {}
            Some(Json::String(v)) => doc.id = Some(v.to_string()),
            Some(other) => {
                self.structure(
                    policy().field("Id"),
                    format!("Id must be a string, not {}", other.kind()),
                );
                match lenient_text(other) {
                    Ok(t) => doc.id = Some(t),
                    Err(c) => doc.extra.push(("Id".to_owned(), c)),
                }
            }
        }

        let statement_path = || policy().field("Statement");
        match statement {
            None => self.errors.push(ValidationError::new(
                statement_path(),
                ErrorCode::PolicyStructure,
                "the policy has no Statement; give a list of statements",
            )),
            Some(Json::Object(members)) => {
                let stmt = self.statement(Loc(None), members);
                doc.statements.push(stmt);
            }
            Some(Json::Array(items)) => {
                doc.statements.reserve_exact(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Json::Object(members) = item {
                        let stmt = self.statement(Loc(Some(i)), members);
                        doc.statements.push(stmt);
                    } else {
                        // Even a lenient parse needs statements it can compare.
                        self.errors.push(ValidationError::new(
                            statement_path().index(i),
                            ErrorCode::PolicyStructure,
                            format!("a statement must be a JSON object, not {}", item.kind()),
                        ));
                    }
                }
            }
            Some(other) => self.errors.push(ValidationError::new(
                statement_path(),
                ErrorCode::PolicyStructure,
                format!(
                    "Statement must be a list of statement objects (or one object), not {}",
                    other.kind()
                ),
            )),
        }

        self.unknown_elements(unknown, &DOCUMENT_ELEMENTS, &policy, &mut doc.extra);
        doc.extra = sorted_last_wins(std::mem::take(&mut doc.extra));
        doc.statements.sort_unstable();
        // Two identical statements evaluate as one.
        doc.statements.dedup();
        doc
    }

    fn statement(&mut self, loc: Loc, members: Members<'_, '_>) -> Stmt {
        let path = move || loc.path();
        let mut unknown = Vec::new();
        let [
            sid,
            effect,
            principal,
            not_principal,
            action,
            not_action,
            resource,
            not_resource,
            condition,
        ] = self.slots(members, &STATEMENT_ELEMENTS, &path, &mut unknown);
        let mut stmt = Stmt {
            sid: None,
            effect: None,
            principal: None,
            not_principal: None,
            action: None,
            not_action: None,
            resource: None,
            not_resource: None,
            condition: Vec::new(),
            extra: Vec::new(),
        };

        match sid {
            None => {}
            Some(Json::String(s)) => stmt.sid = Some(s.to_string()),
            Some(other) => {
                self.structure(
                    path().field("Sid"),
                    format!("Sid must be a string, not {}", other.kind()),
                );
                match lenient_text(other) {
                    Ok(t) => stmt.sid = Some(t),
                    Err(c) => stmt.extra.push(("Sid".to_owned(), c)),
                }
            }
        }

        match effect {
            Some(Json::String(e)) if e == "Allow" => stmt.effect = Some(Effect::Allow),
            Some(Json::String(e)) if e == "Deny" => stmt.effect = Some(Effect::Deny),
            None => self.strict_error(
                path().field("Effect"),
                ErrorCode::PolicyEffectInvalid,
                "the statement has no Effect; use \"Allow\" or \"Deny\"".to_owned(),
            ),
            Some(other) => {
                let got = match other {
                    Json::String(s) => format!("{s:?}"),
                    _ => other.kind().to_owned(),
                };
                self.strict_error(
                    path().field("Effect"),
                    ErrorCode::PolicyEffectInvalid,
                    format!("Effect must be \"Allow\" or \"Deny\" (case-sensitive), not {got}"),
                );
                match lenient_text(other).as_deref() {
                    Ok("Allow") => stmt.effect = Some(Effect::Allow),
                    Ok("Deny") => stmt.effect = Some(Effect::Deny),
                    _ => stmt
                        .extra
                        .push(("Effect".to_owned(), Canon::from_json(other))),
                }
            }
        }

        match (principal, not_principal) {
            (None, None) => self.strict_error(
                path(),
                ErrorCode::PolicyPrincipalMissing,
                "the statement has neither Principal nor NotPrincipal; a key policy statement \
                 must say whom it applies to, e.g. \"Principal\": {\"AWS\": \"arn:aws:iam::111122223333:root\"}"
                    .to_owned(),
            ),
            (Some(_), Some(_)) => self.structure(
                path(),
                "the statement has both Principal and NotPrincipal; use one".to_owned(),
            ),
            _ => {}
        }
        if let Some(p) = principal {
            stmt.principal = self.principals(p, "Principal", &path, &mut stmt.extra);
        }
        if let Some(p) = not_principal {
            stmt.not_principal = self.principals(p, "NotPrincipal", &path, &mut stmt.extra);
        }

        if action.is_some() && not_action.is_some() {
            self.structure(
                path(),
                "the statement has both Action and NotAction; use one".to_owned(),
            );
        }
        if let Some(a) = action {
            stmt.action = self.string_list(a, "Action", true, &path, &mut stmt.extra);
        }
        if let Some(a) = not_action {
            stmt.not_action = self.string_list(a, "NotAction", true, &path, &mut stmt.extra);
        }
        if resource.is_some() && not_resource.is_some() {
            self.structure(
                path(),
                "the statement has both Resource and NotResource; use one".to_owned(),
            );
        }
        if let Some(r) = resource {
            stmt.resource = self.string_list(r, "Resource", false, &path, &mut stmt.extra);
        }
        if let Some(r) = not_resource {
            stmt.not_resource = self.string_list(r, "NotResource", false, &path, &mut stmt.extra);
        }

        if let Some(c) = condition {
            match self.condition(c, &path) {
                Some(entries) => stmt.condition = entries,
                None => {
                    // Lenient: read it as generic JSON, as for the other elements.
                    let canon = Canon::from_json(c);
                    match canon_condition(&canon) {
                        Some(entries) => stmt.condition = entries,
                        None => stmt.extra.push(("Condition".to_owned(), canon)),
                    }
                }
            }
        }

        self.unknown_elements(unknown, &STATEMENT_ELEMENTS, &path, &mut stmt.extra);
        stmt.extra = sorted_last_wins(std::mem::take(&mut stmt.extra));
        self.lint_statement(&stmt, &path);
        stmt
    }

    fn lint_statement(&mut self, stmt: &Stmt, path: &dyn Fn() -> FieldPath) {
        if stmt.action.is_none() && stmt.not_action.is_none() {
            self.warn(
                path(),
                WarningCode::PolicyStatementNoAction,
                "the statement has no Action or NotAction, so it allows or denies nothing",
            );
        }
        if stmt.resource.is_none() && stmt.not_resource.is_none() {
            self.warn(
                path(),
                WarningCode::PolicyStatementNoResource,
                "the statement has no Resource or NotResource, so it allows or denies nothing; \
                 in a key policy use \"Resource\": \"*\" (this key)",
            );
        }
        if stmt.effect == Some(Effect::Allow) && !stmt.has_condition() {
            if stmt
                .principal
                .as_ref()
                .is_some_and(Principals::includes_everyone)
            {
                self.warn(
                    path(),
                    WarningCode::PolicyPublicAllow,
                    "the statement allows every principal (\"*\") without a Condition: anyone \
                     in any AWS account can use this key; name principals or add a Condition",
                );
            } else if stmt.not_principal.is_some() {
                self.warn(
                    path(),
                    WarningCode::PolicyPublicAllow,
                    "an Allow with NotPrincipal and no Condition allows every principal not \
                     listed, in any AWS account; use Principal instead",
                );
            }
        }
    }

    /// `"*"` or an object of principal type → value or list of values.
    fn principals(
        &mut self,
        value: &Json<'_>,
        element: &'static str,
        stmt_path: &dyn Fn() -> FieldPath,
        extra: &mut Vec<(String, Canon)>,
    ) -> Option<Principals> {
        let path = || stmt_path().field(element);
        match value {
            Json::String(s) if s == "*" => {
                Some(Principals(vec![(Cow::Borrowed(AWS), vec!["*".to_owned()])]))
            }
            Json::Object(members) => {
                let mut types: Vec<(Cow<'static, str>, Vec<String>)> =
                    Vec::with_capacity(members.len());
                let mut ok = true;
                if self.strict && !names_anyone(members) {
                    // KMS refuses it: "Policy contains a statement with no principal."
                    self.errors.push(ValidationError::new(
                        path(),
                        ErrorCode::PolicyPrincipalMissing,
                        format!(
                            "{element} names no principal (an empty object or only empty lists); \
                             name at least one, e.g. {{\"AWS\": \"arn:aws:iam::111122223333:root\"}}"
                        ),
                    ));
                }
                for (kind, values) in members {
                    let kind_path = || member(path(), kind);
                    if !PRINCIPAL_TYPES.contains(&kind.as_ref()) {
                        self.structure(
                            kind_path(),
                            format!(
                                "unknown principal type {kind:?}; use AWS, Service, Federated or CanonicalUser"
                            ),
                        );
                    } else if self.strict {
                        self.check_principal_values(kind, values, &kind_path);
                    }
                    if types.iter().any(|(k, _)| k == kind) {
                        self.structure(kind_path(), format!("{kind} is given more than once"));
                        types.retain(|(k, _)| k != kind);
                    }
                    let is_aws = kind == AWS;
                    let Some(list) = self.strings(values, &kind_path, |s| {
                        if is_aws {
                            aws_principal(s)
                        } else {
                            s.to_owned()
                        }
                    }) else {
                        ok = false;
                        continue;
                    };
                    // The known types are static strings: no allocation for them.
                    let kind = match PRINCIPAL_TYPES.iter().find(|t| **t == kind.as_ref()) {
                        Some(t) => Cow::Borrowed(*t),
                        None => Cow::Owned(kind.to_string()),
                    };
                    types.push((kind, string_set(list)));
                }
                if !ok && !self.strict {
                    extra.push((element.to_owned(), Canon::from_json(value)));
                    return None;
                }
                types.sort_unstable();
                Some(Principals(types))
            }
            other => {
                let got = match other {
                    Json::String(s) => format!("the string {s:?}"),
                    _ => other.kind().to_owned(),
                };
                self.structure(
                    path(),
                    format!(
                        "{element} must be \"*\" or an object such as {{\"AWS\": \"arn:aws:iam::111122223333:root\"}}, not {got}"
                    ),
                );
                // Lenient: read it as generic JSON (`["*"]` is `"*"`, `[{"AWS": "x"}]` is
                // `{"AWS": "x"}`), so that it normalizes like its plain spelling.
                let canon = Canon::from_json(value);
                let principals = match &canon {
                    Canon::Text(t) if t == "*" => {
                        Some(Principals(vec![(Cow::Borrowed(AWS), vec!["*".to_owned()])]))
                    }
                    Canon::Object(types) => types
                        .iter()
                        .map(|(kind, values)| {
                            let list = canon_strings(values)?;
                            let list = if kind == AWS {
                                list.into_iter().map(aws_principal).collect()
                            } else {
                                list.into_iter().map(str::to_owned).collect()
                            };
                            Some((Cow::Owned(kind.clone()), string_set(list)))
                        })
                        .collect::<Option<Vec<_>>>()
                        .map(Principals),
                    _ => None,
                };
                if principals.is_none() {
                    extra.push((element.to_owned(), canon));
                }
                principals
            }
        }
    }

    /// Reports every value of a known principal type that KMS cannot accept (strict parse
    /// only), at `...Principal.AWS` for a single value and `...Principal.AWS[i]` in a list.
    /// Values of the wrong JSON type are left to [`Walker::strings`], which reports them.
    fn check_principal_values(
        &mut self,
        kind: &str,
        values: &Json<'_>,
        kind_path: &dyn Fn() -> FieldPath,
    ) {
        let mut check = |value: &str, at: FieldPath| {
            let problem = if kind == AWS {
                aws_principal_problem(value)
            } else if value.is_empty() {
                let example = match kind {
                    "Service" => "logs.amazonaws.com",
                    "Federated" => "cognito-identity.amazonaws.com",
                    _ => "the canonical user id of an AWS account",
                };
                Some(format!(
                    "a {kind} principal cannot be empty; e.g. {example}"
                ))
            } else {
                None
            };
            if let Some(message) = problem {
                self.errors.push(ValidationError::new(
                    at,
                    ErrorCode::PolicyPrincipalInvalid,
                    message,
                ));
            }
        };
        match values {
            Json::String(s) => check(s, kind_path()),
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Json::String(s) = item {
                        check(s, kind_path().index(i));
                    }
                }
            }
            _ => {}
        }
    }

    /// Action/NotAction/Resource/NotResource: a string or a list of strings, as a sorted set.
    fn string_list(
        &mut self,
        value: &Json<'_>,
        element: &'static str,
        lowercase: bool,
        stmt_path: &dyn Fn() -> FieldPath,
        extra: &mut Vec<(String, Canon)>,
    ) -> Option<Vec<String>> {
        let path = || stmt_path().field(element);
        // IAM matches action names case-insensitively; resources (ARNs) are case-sensitive.
        let list = if lowercase {
            self.strings(value, &path, str::to_lowercase)
        } else {
            self.strings(value, &path, str::to_owned)
        };
        match list {
            Some(list) => Some(string_set(list)),
            None => {
                extra.push((element.to_owned(), Canon::from_json(value)));
                None
            }
        }
    }

    /// A string or a list of strings, each mapped through `f`. `None` when the shape is wrong
    /// (a strict parse also reports it). A lenient parse reads the value as generic JSON first
    /// (`5` is `"5"`, `[["a"]]` is `"a"`), so that whatever it accepts normalizes the same way
    /// as the plain spelling would.
    fn strings(
        &mut self,
        value: &Json<'_>,
        path: &dyn Fn() -> FieldPath,
        f: impl Fn(&str) -> String,
    ) -> Option<Vec<String>> {
        match value {
            Json::String(s) => return Some(vec![f(s)]),
            Json::Array(items) if items.iter().all(|i| matches!(i, Json::String(_))) => {
                return Some(
                    items
                        .iter()
                        .filter_map(|i| match i {
                            Json::String(s) => Some(f(s)),
                            _ => None,
                        })
                        .collect(),
                );
            }
            _ => {}
        }
        if !self.strict {
            return canon_strings(&Canon::from_json(value)).map(|v| v.into_iter().map(f).collect());
        }
        match value {
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !matches!(item, Json::String(_)) {
                        self.structure(
                            path().index(i),
                            format!("expected a string, not {}", item.kind()),
                        );
                    }
                }
            }
            item => self.structure(
                path(),
                format!(
                    "expected a string or a list of strings, not {}",
                    item.kind()
                ),
            ),
        }
        None
    }

    /// `{operator: {key: value or list of values}}` as sorted entries. `None` when the shape is
    /// wrong (a strict parse also reports it).
    fn condition(
        &mut self,
        value: &Json<'_>,
        stmt_path: &dyn Fn() -> FieldPath,
    ) -> Option<Vec<CondEntry>> {
        let path = || stmt_path().field("Condition");
        let Json::Object(operators) = value else {
            self.structure(
                path(),
                format!(
                    "Condition must be an object such as {{\"StringEquals\": {{\"kms:CallerAccount\": \"111122223333\"}}}}, not {}",
                    value.kind()
                ),
            );
            return None;
        };
        let mut entries = Vec::new();
        let mut ok = true;
        for (oi, (operator, keys)) in operators.iter().enumerate() {
            let op_path = || path().key(operator);
            if operators[..oi].iter().any(|(o, _)| o == operator) {
                self.structure(op_path(), format!("{operator} is given more than once"));
            }
            let Json::Object(keys) = keys else {
                self.structure(
                    op_path(),
                    format!(
                        "a condition operator takes an object of condition keys, not {}",
                        keys.kind()
                    ),
                );
                ok = false;
                continue;
            };
            let first = entries.len();
            for (key, values) in keys {
                let key_path = || op_path().key(key);
                if self.strict && !Self::condition_values_ok(values) {
                    self.structure(
                        key_path(),
                        format!(
                            "a condition value must be a string, number or boolean, or a list of them, not {}",
                            values.kind()
                        ),
                    );
                }
                entries.push(CondEntry {
                    operator: operator.to_string(),
                    key: key.to_lowercase(),
                    values: Canon::from_json(values),
                });
            }
            if self.strict {
                // Condition keys are case-insensitive: two spellings name the same key twice.
                // Sorted, so that many keys do not cost a comparison of every pair.
                let mut order: Vec<usize> = (first..entries.len()).collect();
                order.sort_by(|&a, &b| entries[a].key.cmp(&entries[b].key).then(a.cmp(&b)));
                for pair in order.windows(2) {
                    if entries[pair[0]].key == entries[pair[1]].key {
                        let written = &keys[pair[1] - first].0;
                        self.structure(
                            op_path().key(written),
                            "this condition key is given more than once under the operator \
                             (condition keys are case-insensitive)"
                                .to_owned(),
                        );
                    }
                }
            }
        }
        if !ok {
            return None;
        }
        entries.sort_unstable();
        entries.dedup();
        Some(entries)
    }

    fn condition_values_ok(values: &Json<'_>) -> bool {
        let scalar = |v: &Json<'_>| matches!(v, Json::String(_) | Json::Number(_) | Json::Bool(_));
        match values {
            Json::Array(items) => items.iter().all(scalar),
            v => scalar(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_roots() {
        for (p, want) in [
            ("111122223333", Some("111122223333")),
            ("arn:aws:iam::111122223333:root", Some("111122223333")),
            ("arn:aws-cn:iam::111122223333:root", Some("111122223333")),
            (
                "arn:aws-us-gov:iam::111122223333:root",
                Some("111122223333"),
            ),
            ("arn:aws:iam::111122223333:role/root", None),
            ("arn:aws:iam::11112222333:root", None),
            ("arn:aws:sts::111122223333:root", None),
            ("arn:aws:iam:us-east-1:111122223333:root", None),
            ("AIDAJQABLZS4A3QDU576Q", None),
            ("*", None),
            ("1111222233334", None),
        ] {
            assert_eq!(account_root(p), want, "{p}");
        }
    }

    #[test]
    fn arn_parts() {
        let a = Arn::parse("arn:aws:sts::111122223333:assumed-role/r/s:x").unwrap();
        assert_eq!(
            (a.partition, a.service, a.region, a.account, a.resource),
            ("aws", "sts", "", "111122223333", "assumed-role/r/s:x")
        );
        assert!(Arn::parse("arn::iam::1:root").is_none());
        assert!(Arn::parse("arn:aws:iam::1").is_none());
        assert!(Arn::parse("aws:iam::1:root").is_none());
    }

    #[test]
    fn canon_sets_collapse_and_sort() {
        let j = super::super::json::parse(r#"[["b","a","b"],["x"],true,1,"true",null]"#).unwrap();
        let c = Canon::from_json(&j);
        assert_eq!(
            c,
            Canon::Set(vec![
                Canon::Null,
                Canon::Text("1".into()),
                Canon::Text("true".into()),
                Canon::Text("x".into()),
                Canon::Set(vec![Canon::Text("a".into()), Canon::Text("b".into())]),
            ])
        );
    }

    #[test]
    fn last_duplicate_key_wins() {
        let members = vec![
            ("b".to_owned(), 1),
            ("a".to_owned(), 2),
            ("b".to_owned(), 3),
        ];
        assert_eq!(
            sorted_last_wins(members),
            vec![("a".to_owned(), 2), ("b".to_owned(), 3)]
        );
    }
}
