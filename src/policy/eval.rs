//! A deliberately small evaluator: enough of IAM's statement matching to answer the policy
//! lockout questions ("can anyone call PutKeyPolicy", "can this caller"). Simplifications are
//! listed on the public methods that use it.

use super::normalize::{AWS, Arn, Doc, Effect, Principals, Stmt, account_root, is_account_id};

/// Whether `action` (any case) matches an IAM action pattern (already lowercase), with `*` for
/// any run of characters and `?` for exactly one.
pub(crate) fn action_matches(pattern: &str, action_lower: &str) -> bool {
    // ASCII is the rule for action names; fall back to chars so `?` means one character.
    if pattern.is_ascii() && action_lower.is_ascii() {
        glob(pattern.as_bytes(), action_lower.as_bytes())
    } else {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = action_lower.chars().collect();
        glob(&p, &t)
    }
}

/// Wildcard matching in O(len(p) * len(t)) worst case without recursion: on a mismatch, let the
/// last `*` swallow one more character and retry from there.
fn glob<T: PartialEq + Copy + Into<u32>>(p: &[T], t: &[T]) -> bool {
    let star = |c: T| c.into() == u32::from('*');
    let any = |c: T| c.into() == u32::from('?');
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && star(p[pi]) {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (any(p[pi]) || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = backtrack {
            pi = sp + 1;
            ti = st + 1;
            backtrack = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| star(c))
}

/// Whether the statement's Action/NotAction covers `action_lower`. No action element: nothing.
pub(crate) fn statement_covers_action(stmt: &Stmt, action_lower: &str) -> bool {
    if let Some(actions) = &stmt.action {
        actions.iter().any(|p| action_matches(p, action_lower))
    } else if let Some(not_actions) = &stmt.not_action {
        !not_actions.iter().any(|p| action_matches(p, action_lower))
    } else {
        false
    }
}

/// Whether the statement applies to any resource at all (a key policy's resource is the key
/// itself, which the policy does not know; only a missing Resource/NotResource rules it out).
fn has_resource(stmt: &Stmt) -> bool {
    stmt.resource.is_some() || stmt.not_resource.is_some()
}

/// The caller of a request, taken apart once.
pub(crate) struct Caller<'a> {
    raw: &'a str,
    /// The caller's account, when it can be told from the ARN (or a bare account id).
    account: Option<&'a str>,
    /// For `arn:P:sts::ACCOUNT:assumed-role/NAME/SESSION`: `NAME`.
    assumed_role: Option<&'a str>,
}

impl<'a> Caller<'a> {
    pub(crate) fn new(raw: &'a str) -> Self {
        if is_account_id(raw) {
            return Caller {
                raw,
                account: Some(raw),
                assumed_role: None,
            };
        }
        let arn = Arn::parse(raw);
        let assumed_role = arn.filter(|a| a.service == "sts").and_then(|a| {
            let rest = a.resource.strip_prefix("assumed-role/")?;
            let (name, _session) = rest.split_once('/')?;
            Some(name)
        });
        Caller {
            raw,
            account: arn.map(|a| a.account).filter(|a| is_account_id(a)),
            assumed_role,
        }
    }

    /// Whether one principal value of type `kind` (normalized) names this caller.
    fn matches_value(&self, kind: &str, value: &str) -> bool {
        if kind != AWS {
            // Service, Federated and CanonicalUser principals are never IAM ARNs.
            return value == self.raw;
        }
        if value == "*" || value == self.raw {
            return true;
        }
        if let Some(account) = account_root(value) {
            // An account principal delegates to IAM: every identity of the account may be
            // allowed by its own IAM policies.
            return self.account == Some(account);
        }
        // A role session is the role: `role/NAME` (any path) in the same account.
        if let (Some(name), Some(account), Some(arn)) =
            (self.assumed_role, self.account, Arn::parse(value))
        {
            return arn.service == "iam"
                && arn.account == account
                && arn
                    .resource
                    .strip_prefix("role/")
                    .is_some_and(|r| r.rsplit('/').next() == Some(name));
        }
        false
    }

    fn matches(&self, principals: &Principals) -> bool {
        principals
            .0
            .iter()
            .any(|(kind, values)| values.iter().any(|v| self.matches_value(kind, v)))
    }

    /// Whether the statement's Principal names the caller, or its NotPrincipal does not.
    fn in_statement(&self, stmt: &Stmt) -> bool {
        match (&stmt.principal, &stmt.not_principal) {
            (Some(p), _) => self.matches(p),
            (None, Some(np)) => !self.matches(np),
            (None, None) => false,
        }
    }
}

/// Whether some Allow statement with some principal covers `action`.
pub(crate) fn grants_to_anyone(doc: &Doc, action: &str) -> bool {
    some_allow(doc, action, true)
}

/// Whether some Allow would grant `action` to someone but for a missing `Resource`.
pub(crate) fn grants_without_resource(doc: &Doc, action: &str) -> bool {
    some_allow(doc, action, false)
}

/// Whether some Allow names someone, covers `action`, and has a resource element or not.
fn some_allow(doc: &Doc, action: &str, with_resource: bool) -> bool {
    let action = action.to_lowercase();
    doc.statements.iter().any(|s| {
        s.effect == Some(Effect::Allow)
            && has_resource(s) == with_resource
            && names_someone(s)
            && statement_covers_action(s, &action)
    })
}

/// Whether some Deny statement without a Condition covers `action` for every principal and
/// certainly for this key. Every principal: `"*"` or `{"AWS": "*"}` among its principals (a
/// `NotPrincipal` spares someone). This key: `Resource` includes `"*"`; the key's ARN is not
/// known before it exists, so a narrower Resource or a NotResource might spare it and does not
/// count. Erring this way keeps the lint from refusing a policy KMS would accept.
pub(crate) fn denies_to_everyone(doc: &Doc, action: &str) -> bool {
    let action = action.to_lowercase();
    doc.statements.iter().any(|s| {
        s.effect == Some(Effect::Deny)
            && !s.has_condition()
            && s.resource
                .as_ref()
                .is_some_and(|r| r.iter().any(|p| p == "*"))
            && s.principal
                .as_ref()
                .is_some_and(Principals::includes_everyone)
            && statement_covers_action(s, &action)
    })
}

/// Whether every principal that some Allow grants `action` to is refused it by a Deny that
/// certainly applies: no Condition, a principal that certainly covers the grantee, and a
/// resource that certainly covers this key (see [`certainly_this_key`]). False when nothing
/// grants the action (that is [`grants_to_anyone`]'s question).
///
/// Coverage: a Deny to `"*"` covers everyone; a Deny to an account (`arn:P:iam::A:root` or `A`)
/// covers every identity of account A (KMS delegates the account to its IAM policies); any
/// other value covers itself. A `NotPrincipal` Deny covers a grantee unless it lists an
/// identity the grantee stands for (the grantee, its account, an identity of the account the
/// grantee is, a session of the role the grantee is). Only AWS principals are grantees (others
/// do not call KMS as themselves). An Allow with `NotPrincipal` grants nearly everyone: only a
/// Deny to `"*"` covers it. Erring towards "not covered" keeps the lint from refusing a policy
/// KMS would accept.
pub(crate) fn denies_every_grantee(
    doc: &Doc,
    action: &str,
    principal_arns: &dyn Fn() -> Vec<String>,
) -> bool {
    let action = action.to_lowercase();
    // Read only for a Deny on a narrower Resource than "*".
    let partitions = std::cell::OnceCell::new();
    let partitions = || partitions.get_or_init(|| principal_partitions(&principal_arns()));
    let denies: Vec<&Stmt> = doc
        .statements
        .iter()
        .filter(|s| {
            s.effect == Some(Effect::Deny)
                && !s.has_condition()
                && statement_covers_action(s, &action)
                && certainly_this_key(s, &partitions)
        })
        .collect();
    if denies.is_empty() {
        return false;
    }
    let mut granted = false;
    for s in doc.statements.iter().filter(|s| {
        s.effect == Some(Effect::Allow)
            && has_resource(s)
            && names_someone(s)
            && statement_covers_action(s, &action)
    }) {
        granted = true;
        let spared = match (&s.principal, &s.not_principal) {
            (Some(p), _) => {
                p.0.iter()
                    .filter(|(kind, _)| kind == AWS)
                    .any(|(kind, values)| {
                        values
                            .iter()
                            .any(|v| !denies.iter().any(|d| denies_principal(d, kind, v)))
                    })
            }
            (None, Some(_)) => !denies.iter().any(|d| {
                d.principal
                    .as_ref()
                    .is_some_and(Principals::includes_everyone)
            }),
            (None, None) => false,
        };
        if spared {
            return false;
        }
    }
    granted
}

/// Whether the Deny `d` certainly refuses the principal `grantee` of type `kind`.
fn denies_principal(d: &Stmt, kind: &str, grantee: &str) -> bool {
    match (&d.principal, &d.not_principal) {
        (Some(p), _) => {
            p.includes_everyone()
                || p.0
                    .iter()
                    .any(|(k, values)| k == kind && values.iter().any(|v| covers(kind, v, grantee)))
        }
        (None, Some(np)) => {
            // Spared when an identity the grantee stands for is among those the NotPrincipal
            // lists (an account and its identities, a role and its sessions).
            let overlaps = |listed: &str| {
                listed == "*"
                    || Caller::new(listed).matches_value(kind, grantee)
                    || Caller::new(grantee).matches_value(kind, listed)
                    || account_root(grantee)
                        .is_some_and(|account| account_of(listed) == Some(account))
            };
            grantee != "*"
                && !np
                    .0
                    .iter()
                    .any(|(k, values)| k == kind && values.iter().any(|v| overlaps(v)))
        }
        (None, None) => false,
    }
}

/// Whether a principal value `denied` stands for `grantee` (both of type `kind`): the same
/// value, or the account of an AWS identity.
fn covers(kind: &str, denied: &str, grantee: &str) -> bool {
    if denied == grantee {
        return true;
    }
    if kind != AWS || grantee == "*" {
        return false;
    }
    account_root(denied).is_some_and(|account| account_of(grantee) == Some(account))
}

/// The account of an AWS principal value (an account, or an IAM/STS ARN).
fn account_of(principal: &str) -> Option<&str> {
    account_root(principal).or_else(|| {
        Arn::parse(principal)
            .map(|a| a.account)
            .filter(|a| is_account_id(a))
    })
}

/// The partitions of the principals' ARNs (as written: the parsed policy keeps only the account
/// of a root ARN); all of AWS's public ones when there are none (a key lives in the partition of
/// the principals its policy names).
fn principal_partitions(principal_arns: &[String]) -> Vec<String> {
    let mut found: Vec<String> = principal_arns
        .iter()
        .filter_map(|v| Arn::parse(v).map(|a| a.partition.to_owned()))
        .collect();
    found.sort_unstable();
    found.dedup();
    if found.is_empty() {
        ["aws", "aws-cn", "aws-us-gov"].map(str::to_owned).to_vec()
    } else {
        found
    }
}

/// Whether a statement's resource certainly includes this key, whose ARN is not known before
/// it exists: a `Resource` pattern that matches every key ARN in the policy's partitions, or a
/// `NotResource` none of whose patterns could name a KMS key.
fn certainly_this_key<'p>(s: &Stmt, partitions: &impl Fn() -> &'p Vec<String>) -> bool {
    if let Some(resources) = &s.resource {
        return resources.iter().any(|p| {
            p == "*"
                || partitions().iter().all(|partition| {
                    KEY_SAMPLES.iter().all(|(region, account, id)| {
                        let key = format!("arn:{partition}:kms:{region}:{account}:key/{id}");
                        glob(p.as_bytes(), key.as_bytes())
                    })
                })
        });
    }
    if let Some(not_resources) = &s.not_resource {
        return !not_resources.iter().any(|p| could_name_a_key(p));
    }
    false
}

/// Two key ARNs (Region, account, key id) that differ in every character that can differ: a
/// Resource pattern matching both leaves those parts to wildcards, so it matches any key.
const KEY_SAMPLES: [(&str, &str, &str); 2] = [
    (
        "zz-unknown-9",
        "000000000000",
        "11111111-1111-1111-1111-111111111111",
    ),
    (
        "qq-other-1",
        "987654321098",
        "mrk-abcdefabcdefabcdefabcdefabcdefab",
    ),
];

/// Whether a resource pattern could match some KMS key ARN: anything but an ARN pattern whose
/// service is spelled out and is not `kms`.
fn could_name_a_key(pattern: &str) -> bool {
    match pattern.splitn(4, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, service, ..] if !service.contains(['*', '?']) => *service == "kms",
        _ => true,
    }
}

/// Whether the statement applies to at least one principal that can call KMS: an AWS
/// principal (`Service`, `Federated` and `CanonicalUser` principals do not sign KMS requests as
/// themselves).
fn names_someone(stmt: &Stmt) -> bool {
    match (&stmt.principal, &stmt.not_principal) {
        (Some(p), _) => {
            p.0.iter()
                .any(|(kind, values)| kind == AWS && !values.is_empty())
        }
        // Excluding some principals leaves (nearly) everyone else, unless it excludes everyone.
        (None, Some(np)) => !np.includes_everyone(),
        (None, None) => false,
    }
}

/// Whether some Allow names the caller and the action, and no unconditional Deny does.
pub(crate) fn allows(doc: &Doc, principal: &str, action: &str) -> bool {
    let action = action.to_lowercase();
    let caller = Caller::new(principal);
    let applies = |s: &&Stmt| {
        has_resource(s) && statement_covers_action(s, &action) && caller.in_statement(s)
    };
    let mut allowed = false;
    for s in doc.statements.iter().filter(applies) {
        match s.effect {
            Some(Effect::Deny) if !s.has_condition() => return false,
            Some(Effect::Allow) => allowed = true,
            _ => {}
        }
    }
    allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_table() {
        for (pattern, action, want) in [
            ("kms:*", "kms:putkeypolicy", true),
            ("*", "kms:putkeypolicy", true),
            ("kms:put*", "kms:putkeypolicy", true),
            ("kms:put*", "kms:encrypt", false),
            ("kms:putkeypolicy", "kms:putkeypolicy", true),
            ("kms:putkeypolic", "kms:putkeypolicy", false),
            ("kms:putkeypolicy*", "kms:putkeypolicy", true),
            ("kms:?ncrypt", "kms:encrypt", true),
            ("kms:?ncrypt", "kms:ncrypt", false),
            ("kms:*key*", "kms:putkeypolicy", true),
            ("kms:*e*y", "kms:putkeypolicy", true),
            ("kms:*x*", "kms:putkeypolicy", false),
            ("s3:*", "kms:putkeypolicy", false),
            ("**", "", true),
            ("?", "", false),
            ("kms:é*", "kms:éx", true),
            ("kms:?x", "kms:éx", true),
        ] {
            assert_eq!(
                action_matches(pattern, action),
                want,
                "{pattern} vs {action}"
            );
        }
    }

    #[test]
    fn principal_value_table() {
        let deployer = "arn:aws:iam::111122223333:role/deployer";
        let session = "arn:aws:sts::111122223333:assumed-role/deployer/ci-42";
        for (caller, value, want) in [
            (deployer, "*", true),
            (deployer, "111122223333", true),
            (deployer, "444455556666", false),
            (deployer, deployer, true),
            (deployer, "arn:aws:iam::111122223333:role/key-admin", false),
            (session, "arn:aws:iam::111122223333:role/deployer", true),
            (
                session,
                "arn:aws:iam::111122223333:role/team/ci/deployer",
                true,
            ),
            (session, "arn:aws:iam::111122223333:role/deployer-2", false),
            (session, "arn:aws:iam::444455556666:role/deployer", false),
            (session, "arn:aws:iam::111122223333:user/deployer", false),
            (session, session, true),
            (session, "111122223333", true),
            ("111122223333", "111122223333", true),
            ("arn:aws:iam::111122223333:root", "111122223333", true),
            ("arn:aws:iam::111122223333:root", deployer, false),
            ("AROAEXAMPLEID", "AROAEXAMPLEID", true),
        ] {
            assert_eq!(
                Caller::new(caller).matches_value(AWS, value),
                want,
                "{caller} vs {value}"
            );
        }
        assert!(Caller::new("logs.amazonaws.com").matches_value("Service", "logs.amazonaws.com"));
        assert!(!Caller::new(deployer).matches_value("Service", "*"));
    }
}
