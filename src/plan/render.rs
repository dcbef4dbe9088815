//! Rendering a [`Plan`] for people, in the style of `terraform plan`.

use std::fmt::{self, Write as _};

use super::{Change, Plan};
use crate::policy::KeyPolicy;

impl fmt::Display for Plan {
    /// A readable diff. A changed policy is shown as a line diff of the canonical pretty JSON
    /// of both sides, so reformatting never shows up as a change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match (&self.name, &self.key_id) {
            (Some(n), Some(id)) => format!("key \"{n}\" ({id})"),
            (Some(n), None) => format!("key \"{n}\""),
            (None, Some(id)) => format!("key {id}"),
            (None, None) => "key".to_owned(),
        };
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        if self.changes.is_empty() {
            return writeln!(f, "  {who}: no changes");
        }
        if self.creates() {
            writeln!(f, "  + {who} will be created")?;
        } else {
            writeln!(f, "  ~ {who} will be updated in place")?;
        }
        for change in &self.changes {
            render_change(f, change)?;
        }
        let n = self.changes.len();
        writeln!(
            f,
            "  {n} call{} to make: {}",
            if n == 1 { "" } else { "s" },
            ops(self)
        )
    }
}

fn ops(plan: &Plan) -> String {
    plan.operations()
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn render_change(f: &mut fmt::Formatter<'_>, change: &Change) -> fmt::Result {
    match change {
        Change::CreateKey(c) => {
            writeln!(f, "      + key_spec     = {}", c.key_spec)?;
            writeln!(f, "      + key_usage    = {}", c.key_usage)?;
            if c.origin != crate::spec::Origin::AwsKms {
                writeln!(f, "      + origin       = {}", c.origin)?;
            }
            if let Some(d) = &c.description {
                writeln!(f, "      + description  = {d:?}")?;
            }
            if c.multi_region {
                writeln!(f, "      + multi_region = true")?;
            }
            if let Some(id) = &c.custom_key_store_id {
                writeln!(f, "      + custom_key_store_id = {id:?}")?;
            }
            match &c.policy {
                Some(p) => {
                    writeln!(f, "      + policy       =")?;
                    // A new key gets the text as written: shown indented, its case and order
                    // kept (the canonical form is for comparing two policies).
                    for line in indented(p.as_str()).lines() {
                        writeln!(f, "          + {line}")?;
                    }
                }
                None => writeln!(
                    f,
                    "      + policy       = (KMS default: the account may use and manage the key)"
                )?,
            }
            for (k, v) in &c.tags {
                writeln!(f, "      + tags[{k:?}] = {v:?}")?;
            }
            Ok(())
        }
        Change::CancelKeyDeletion { deletion_date } => writeln!(
            f,
            "      ~ deletion scheduled{} -> cancelled (the key comes back disabled)",
            deletion_date
                .as_deref()
                .map(|d| format!(" for {d}"))
                .unwrap_or_default()
        ),
        Change::PutKeyPolicy { before, after, .. } => {
            writeln!(f, "      ~ policy:")?;
            let old = before
                .as_deref()
                .map(|t| {
                    KeyPolicy::parse_observed(t)
                        .map(|p| p.canonical_pretty())
                        .unwrap_or_else(|_| t.to_owned())
                })
                .unwrap_or_default();
            let new = after.canonical_pretty();
            let mut out = String::new();
            line_diff(&old, &new, &mut out);
            f.write_str(&out)
        }
        Change::EnableKey => writeln!(f, "      ~ is_enabled   = false -> true"),
        Change::DisableKey => writeln!(f, "      ~ is_enabled   = true -> false"),
        Change::UpdateKeyDescription { before, after } => {
            writeln!(f, "      ~ description  = {before:?} -> {after:?}")
        }
        Change::UntagResource { removed } => {
            for (k, v) in removed {
                writeln!(f, "      - tags[{k:?}] = {v:?}")?;
            }
            Ok(())
        }
        Change::TagResource { tags, before } => {
            for (k, v) in tags {
                match before.get(k).cloned().flatten() {
                    Some(old) => writeln!(f, "      ~ tags[{k:?}] = {old:?} -> {v:?}")?,
                    None => writeln!(f, "      + tags[{k:?}] = {v:?}")?,
                }
            }
            Ok(())
        }
        Change::EnableKeyRotation {
            before,
            rotation_period_in_days,
        } => {
            let period = rotation_period_in_days
                .map(|p| format!(", every {p} days"))
                .unwrap_or_default();
            if before.enabled {
                writeln!(
                    f,
                    "      ~ rotation_period_in_days = {} -> {}",
                    before
                        .period_in_days
                        .map_or_else(|| "?".to_owned(), |p| p.to_string()),
                    rotation_period_in_days.map_or_else(|| "?".to_owned(), |p| p.to_string())
                )
            } else {
                writeln!(f, "      ~ enable_key_rotation = false -> true{period}")
            }
        }
        Change::DisableKeyRotation => writeln!(f, "      ~ enable_key_rotation = true -> false"),
    }
}

/// A line diff (longest common subsequence) of two texts, as `-`/`+`/` ` prefixed lines.
fn line_diff(old: &str, new: &str, out: &mut String) {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "            {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "          - {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "          + {}", b[j]);
            j += 1;
        }
    }
}

/// JSON text indented for people, members in their order (the text itself if it is not JSON).
fn indented(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::line_diff;
    use crate::KmsKeySpec;
    use crate::plan::{PlanOptions, plan};

    #[test]
    fn a_new_keys_policy_is_shown_as_written() {
        let spec = KmsKeySpec::builder()
            .policy(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["kms:Decrypt"],"Resource":"*"},{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#)
            .build()
            .unwrap();
        let shown = plan(&spec, None, &PlanOptions::named("a"))
            .unwrap()
            .to_string();
        let policy: Vec<&str> = shown
            .lines()
            .skip_while(|l| !l.contains("+ policy"))
            .skip(1)
            .take_while(|l| !l.contains("tags["))
            .collect();
        assert_eq!(
            policy,
            [
                "          + {",
                "          +   \"Version\": \"2012-10-17\",",
                "          +   \"Statement\": [",
                "          +     {",
                "          +       \"Sid\": \"Root\",",
                "          +       \"Effect\": \"Allow\",",
                "          +       \"Principal\": {",
                "          +         \"AWS\": \"111122223333\"",
                "          +       },",
                "          +       \"Action\": [",
                "          +         \"kms:Decrypt\"",
                "          +       ],",
                "          +       \"Resource\": \"*\"",
                "          +     },",
                "          +     {",
                "          +       \"Sid\": \"Admin\",",
                "          +       \"Effect\": \"Allow\",",
                "          +       \"Principal\": {",
                "          +         \"AWS\": \"arn:aws:iam::111122223333:root\"",
                "          +       },",
                "          +       \"Action\": \"kms:*\",",
                "          +       \"Resource\": \"*\"",
                "          +     }",
                "          +   ]",
                "          + }",
            ]
        );
    }

    #[test]
    fn line_diff_marks_changed_lines() {
        let mut out = String::new();
        line_diff("a\nb\nc", "a\nx\nc", &mut out);
        assert_eq!(
            out,
            "            a\n          - b\n          + x\n            c\n"
        );
    }
}
