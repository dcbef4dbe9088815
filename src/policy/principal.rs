//! The shapes of principal values that KMS accepts in a key policy.
//!
//! KMS answers a principal it cannot use with `MalformedPolicyDocumentException` "Policy
//! contains a statement with one or more invalid principals." — the same answer it gives for a
//! well-formed principal that does not exist *yet* (a freshly created IAM role), which the
//! reconciler retries for a while. A value that can never be a principal (a typo such as a
//! missing colon, a short account id, a bare role name) must therefore be caught here, before
//! any call, or it would be retried as if IAM were still propagating it.
//!
//! The accepted `AWS` values follow the IAM User Guide, "AWS JSON policy elements: Principal":
//! - `"*"` (everyone);
//! - an account: its 12-digit id, or `arn:PARTITION:iam::ACCOUNT:root`;
//! - an IAM user or role: `arn:PARTITION:iam::ACCOUNT:user/[PATH/]NAME`,
//!   `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` (service-linked roles have paths such as
//!   `role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`);
//! - a role session: `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE-NAME/SESSION-NAME`;
//! - a federated user session: `arn:PARTITION:sts::ACCOUNT:federated-user/NAME`;
//! - a unique id (`AIDA…` for a user, `AROA…` for a role), which is how KMS shows a principal
//!   that was deleted after the policy named it, so that a policy read back can be written again.
//!
//! Not accepted, as IAM documents: user groups ("You cannot identify a user group as a
//! principal"), wildcards inside an ARN ("You cannot use a wildcard to match part of a principal
//! name or ARN"), and any other IAM or STS resource. Name characters and lengths are IAM's: user
//! and role names `[\w+=,.@-]{1,64}`, role session names `{2,64}`, federated user names
//! `{2,32}`, paths up to 512 characters of U+0021..=U+007E.

use super::normalize::is_account_id;

/// The longest IAM user or role name.
const MAX_NAME: usize = 64;
/// The longest IAM path, including its leading and trailing `/`.
const MAX_PATH: usize = 512;
/// The shortest and longest role session name (`AssumeRole`'s `RoleSessionName`).
const SESSION_NAME: (usize, usize) = (2, 64);
/// The shortest and longest federated user name (`GetFederationToken`'s `Name`).
const FEDERATED_NAME: (usize, usize) = (2, 32);
/// The prefixes of the unique ids of the identities a policy can name: users and roles.
const UNIQUE_ID_PREFIXES: [&str; 2] = ["AIDA", "AROA"];
/// The shortest and longest unique id (IAM API `UserId`/`RoleId`: 16 to 128 characters).
const UNIQUE_ID_LEN: (usize, usize) = (16, 128);

/// What a person should write instead: the accepted shapes, for messages.
const SHAPES: &str = "use \"*\", a 12-digit account id, arn:aws:iam::111122223333:root, \
                      arn:aws:iam::111122223333:role/NAME (or user/NAME), \
                      arn:aws:sts::111122223333:assumed-role/ROLE/SESSION, \
                      arn:aws:sts::111122223333:federated-user/NAME, or a unique id (AROA…/AIDA…)";

/// Why `value` cannot be an `AWS` principal in a key policy, or `None` when it can be one.
pub(crate) fn aws_principal_problem(value: &str) -> Option<String> {
    if value == "*" || is_account_id(value) || is_unique_id(value) {
        return None;
    }
    if value.is_empty() {
        return Some(format!("an AWS principal cannot be empty; {SHAPES}"));
    }
    let Some(rest) = value.strip_prefix("arn:") else {
        if value.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!(
                "{value:?} is not a 12-digit account id (it has {} digits)",
                value.len()
            ));
        }
        return Some(format!("{value:?} is not an AWS principal; {SHAPES}"));
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [partition, service, region, account, resource] = parts[..] else {
        return Some(format!(
            "{value:?} has {} of the 6 colon-separated parts of an ARN; a principal ARN is \
             arn:PARTITION:iam::ACCOUNT:RESOURCE or arn:PARTITION:sts::ACCOUNT:RESOURCE, with \
             an empty Region (note the `::`)",
            parts.len() + 1
        ));
    };
    if !is_partition(partition) {
        return Some(format!(
            "{value:?} has the partition {partition:?}; partitions are aws, aws-cn, aws-us-gov, ..."
        ));
    }
    if service != "iam" && service != "sts" {
        return Some(format!(
            "{value:?} is an ARN of the service {service:?}; a principal ARN is an iam or sts ARN \
             (for an AWS service, use \"Service\": \"SERVICE.amazonaws.com\")"
        ));
    }
    if !region.is_empty() {
        return Some(format!(
            "{value:?} has the Region {region:?}; IAM and STS principal ARNs have none: \
             arn:{partition}:{service}::{account}:{resource}"
        ));
    }
    if !is_account_id(account) {
        return Some(format!(
            "{value:?} has the account {account:?}; an account id is exactly 12 digits"
        ));
    }
    if resource.contains(['*', '?']) {
        return Some(format!(
            "{value:?} has a wildcard: a principal ARN must name one principal exactly \
             (use \"*\" with a Condition such as aws:PrincipalArn to match many)"
        ));
    }
    let problem = if service == "iam" {
        iam_resource_problem(resource)
    } else {
        sts_resource_problem(resource)
    };
    problem.map(|why| format!("{value:?} {why}"))
}

/// Whether `s` is a unique id of a user or role, as KMS shows a deleted principal.
fn is_unique_id(s: &str) -> bool {
    UNIQUE_ID_PREFIXES.iter().any(|p| s.starts_with(p))
        && (UNIQUE_ID_LEN.0..=UNIQUE_ID_LEN.1).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `aws`, or `aws-` and lowercase words joined by `-` (`aws-cn`, `aws-us-gov`, `aws-iso-b`).
fn is_partition(s: &str) -> bool {
    s.strip_prefix("aws").is_some_and(|rest| {
        rest.is_empty()
            || rest.strip_prefix('-').is_some_and(|words| {
                words.split('-').all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
            })
    })
}

/// Whether `s` is an IAM name of `min..=max` characters from `[\w+=,.@-]`.
fn is_name(s: &str, (min, max): (usize, usize)) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// `NAME` or `PATH/NAME` of a user or role: the name checked, the path within IAM's limits.
fn path_and_name_problem(kind: &str, path_and_name: &str) -> Option<String> {
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (Some(path), name),
        None => (None, path_and_name),
    };
    if !is_name(name, (1, MAX_NAME)) {
        return Some(format!(
            "has the {kind} name {name:?}; {kind} names are 1 to {MAX_NAME} letters, digits \
             and + = , . @ _ -"
        ));
    }
    if let Some(path) = path {
        // The path as IAM stores it, with its leading and trailing `/`.
        let full = path.len() + 2;
        if full > MAX_PATH || !path.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
            return Some(format!(
                "has the path \"/{path}/\"; IAM paths are up to {MAX_PATH} printable ASCII \
                 characters"
            ));
        }
    }
    None
}

/// What is wrong with the part after `arn:P:iam::ACCOUNT:`, if anything.
fn iam_resource_problem(resource: &str) -> Option<String> {
    if resource == "root" {
        return None;
    }
    match resource.split_once('/') {
        Some(("user", rest)) => path_and_name_problem("user", rest),
        Some(("role", rest)) => path_and_name_problem("role", rest),
        Some(("group", _)) => Some(
            "names a user group, and IAM does not accept groups as principals; name the users, \
             a role, or the account"
                .to_owned(),
        ),
        Some(("saml-provider" | "oidc-provider", _)) => {
            Some("is an identity provider; name it under \"Federated\", not \"AWS\"".to_owned())
        }
        _ => Some(format!(
            "is not an IAM principal; after the account an IAM principal ARN has root, \
             user/NAME or role/NAME, not {resource:?}"
        )),
    }
}

/// What is wrong with the part after `arn:P:sts::ACCOUNT:`, if anything.
fn sts_resource_problem(resource: &str) -> Option<String> {
    match resource.split_once('/') {
        Some(("assumed-role", rest)) => {
            let Some((role, session)) = rest.split_once('/') else {
                return Some(
                    "is a role session ARN without a session name: \
                     assumed-role/ROLE-NAME/SESSION-NAME (for the role itself use \
                     arn:PARTITION:iam::ACCOUNT:role/ROLE-NAME)"
                        .to_owned(),
                );
            };
            if !is_name(role, (1, MAX_NAME)) {
                Some(format!(
                    "has the role name {role:?}; role names are 1 to {MAX_NAME} letters, digits \
                     and + = , . @ _ - (a session ARN has the role's name without its path)"
                ))
            } else if !is_name(session, SESSION_NAME) {
                Some(format!(
                    "has the session name {session:?}; session names are {} to {} letters, \
                     digits and + = , . @ _ -",
                    SESSION_NAME.0, SESSION_NAME.1
                ))
            } else {
                None
            }
        }
        Some(("federated-user", name)) => (!is_name(name, FEDERATED_NAME)).then(|| {
            format!(
                "has the federated user name {name:?}; those are {} to {} letters, digits and \
                 + = , . @ _ -",
                FEDERATED_NAME.0, FEDERATED_NAME.1
            )
        }),
        _ => Some(format!(
            "is not an STS principal; after the account an STS principal ARN has \
             assumed-role/ROLE/SESSION or federated-user/NAME, not {resource:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_aws_principals() {
        for p in [
            "*",
            "111122223333",
            "arn:aws:iam::111122223333:root",
            "arn:aws-cn:iam::111122223333:root",
            "arn:aws-us-gov:iam::111122223333:root",
            "arn:aws-iso-b:iam::111122223333:root",
            "arn:aws:iam::111122223333:role/deployer",
            "arn:aws:iam::111122223333:role/team/ci/deployer",
            "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef",
            "arn:aws:iam::111122223333:role/a+b=c,d.e@f_g-h",
            "arn:aws-cn:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:user/division/team/alice",
            "arn:aws:sts::111122223333:assumed-role/deployer/ci-42",
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com",
            "arn:aws-us-gov:sts::111122223333:federated-user/bob",
            "AIDAJQABLZS4A3QDU576Q",
            "AROAEXAMPLEID0123456",
        ] {
            assert_eq!(aws_principal_problem(p), None, "{p}");
        }
        // The longest names IAM allows.
        let role = format!("arn:aws:iam::111122223333:role/{}", "r".repeat(64));
        assert_eq!(aws_principal_problem(&role), None);
        let session = format!(
            "arn:aws:sts::111122223333:assumed-role/r/{}",
            "s".repeat(64)
        );
        assert_eq!(aws_principal_problem(&session), None);
    }

    #[test]
    fn refused_aws_principals_say_why() {
        for (p, why) in [
            ("", "an AWS principal cannot be empty"),
            ("deployer", "\"deployer\" is not an AWS principal"),
            (
                "1111",
                "\"1111\" is not a 12-digit account id (it has 4 digits)",
            ),
            (
                "arn:aws:iam:111122223333:role/x",
                "has 5 of the 6 colon-separated parts",
            ),
            ("arn:aws:iam::1111:root", "has the account \"1111\""),
            ("arn:aws:iam::11112222333a:root", "has the account"),
            // A doubled colon in the wrong place shifts every part.
            ("arn:aws::iam::111122223333:root", "of the service \"\""),
            ("arn::iam::111122223333:root", "has the partition \"\""),
            ("arn:aws-:iam::111122223333:root", "has the partition"),
            ("arn:AWS:iam::111122223333:root", "has the partition"),
            ("arn:aws:s3:::bucket", "of the service \"s3\""),
            ("arn:aws:iam:us-east-1:111122223333:root", "has the Region"),
            ("arn:aws:iam::111122223333:ROOT", "is not an IAM principal"),
            (
                "arn:aws:iam::111122223333:root:x",
                "is not an IAM principal",
            ),
            ("arn:aws:iam::111122223333:role", "is not an IAM principal"),
            ("arn:aws:iam::111122223333:role/", "has the role name \"\""),
            (
                "arn:aws:iam::111122223333:role/team/",
                "has the role name \"\"",
            ),
            ("arn:aws:iam::111122223333:role/*", "has a wildcard"),
            ("arn:aws:iam::111122223333:role/team/*/x", "has a wildcard"),
            (
                "arn:aws:iam::111122223333:role/a b",
                "has the role name \"a b\"",
            ),
            ("arn:aws:iam::111122223333:user/al:ice", "has the user name"),
            (
                "arn:aws:iam::111122223333:group/admins",
                "names a user group",
            ),
            (
                "arn:aws:iam::111122223333:saml-provider/idp",
                "is an identity provider",
            ),
            (
                "arn:aws:iam::111122223333:policy/p",
                "is not an IAM principal",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/deployer",
                "without a session name",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/deployer/x",
                "has the session name \"x\"",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/team/deployer/s1",
                "has the session name \"deployer/s1\"",
            ),
            (
                "arn:aws:sts::111122223333:federated-user/b",
                "has the federated user name \"b\"",
            ),
            ("arn:aws:sts::111122223333:root", "is not an STS principal"),
            ("AIDA", "is not an AWS principal"),
            ("AROAexample0123456789", "is not an AWS principal"),
            ("AGPAEXAMPLEID0123456", "is not an AWS principal"),
        ] {
            let got = aws_principal_problem(p).unwrap_or_else(|| panic!("{p:?} accepted"));
            assert!(got.contains(why), "{p:?}: {got}");
        }
        let long = format!("arn:aws:iam::111122223333:role/{}", "r".repeat(65));
        assert!(aws_principal_problem(&long).is_some());
        let long_path = format!("arn:aws:iam::111122223333:role/{}/r", "p".repeat(511));
        assert!(
            aws_principal_problem(&long_path)
                .unwrap()
                .contains("has the path")
        );
    }
}
