//! A borrowed JSON tree and the checks on the raw policy text.
//!
//! `serde_json::Value` owns every string and keeps objects in a map that drops duplicate keys.
//! Policies are normalized right after parsing, so a tree that borrows its strings from the
//! text (escape-free strings are the rule) and keeps object members as a plain list (so that
//! duplicate keys can be reported) is both cheaper and more useful here. The spec readers
//! (`KmsKeySpec::from_json`, `from_terraform_json`) read their files with it for the same
//! reason, then convert to a `Value` ([`Json::to_value`]).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::validation::{ErrorCode, FieldPath, ValidationError};

use super::MAX_POLICY_BYTES;

/// One JSON value, borrowing strings from the parsed text where it can.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in document order, duplicates kept.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// The JSON type's name, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }

    /// The text of a scalar, the way condition values compare (`true` = `"true"`, `1` = `"1"`).
    pub(crate) fn scalar_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Json::String(s) => Some(Cow::Borrowed(s.as_ref())),
            Json::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Json::Number(n) => Some(Cow::Owned(n.to_string())),
            Json::Null | Json::Array(_) | Json::Object(_) => None,
        }
    }
}

impl Json<'_> {
    /// The same value as a `serde_json::Value`: of members with the same key the last one
    /// wins, as when `serde_json` parses the text itself.
    pub(crate) fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// Compact JSON text of the tree, members in document order and duplicates kept, so that
    /// a parse of the text sees exactly what this tree holds.
    pub(crate) fn to_compact_text(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    fn write_compact(&self, out: &mut String) {
        let quoted = |s: &str| serde_json::to_string(s).expect("a string always serializes");
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&n.to_string()),
            Json::String(s) => out.push_str(&quoted(s)),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quoted(k));
                    out.push(':');
                    v.write_compact(out);
                }
                out.push('}');
            }
        }
    }

    /// The keys that occur more than once among `members`, each once, in the order of their
    /// second occurrence.
    pub(crate) fn duplicate_keys<'j>(members: &'j [(Cow<'_, str>, Json<'_>)]) -> Vec<&'j str> {
        let mut seen = std::collections::HashSet::with_capacity(members.len());
        let mut duplicates: Vec<&str> = Vec::new();
        for (key, _) in members {
            if !seen.insert(key.as_ref()) && !duplicates.contains(&key.as_ref()) {
                duplicates.push(key);
            }
        }
        duplicates
    }

    /// Whether any object in the tree has a key more than once.
    pub(crate) fn has_duplicate_keys(&self) -> bool {
        match self {
            Json::Array(items) => items.iter().any(Json::has_duplicate_keys),
            Json::Object(members) => {
                !Json::duplicate_keys(members).is_empty()
                    || members.iter().any(|(_, v)| v.has_duplicate_keys())
            }
            Json::Null | Json::Bool(_) | Json::Number(_) | Json::String(_) => false,
        }
    }
}

/// Parses `text` into a borrowed tree. Rejects trailing characters, like `serde_json::from_str`.
pub(crate) fn parse(text: &str) -> Result<Json<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Json::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // JSON text cannot spell NaN or infinity, so this only fails on overflow like `1e999`,
        // which serde_json already rejects; keep an error rather than a panic all the same.
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // serde_json gives no size hint; a statement has up to 9 members, so start there rather
        // than growing 4 → 8 → 16.
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            members.push((key, map.next_value()?));
        }
        Ok(Json::Object(members))
    }
}

/// Deserializes an object key as a borrowed string when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// How many invalid characters are reported one by one before the rest are summed up.
const MAX_CHARACTER_ERRORS: usize = 10;

/// The checks KMS makes on the raw text: size and character set.
pub(crate) fn check_text(text: &str, errors: &mut Vec<ValidationError>) {
    let path = || FieldPath::new("policy");
    if text.len() > MAX_POLICY_BYTES {
        errors.push(ValidationError::new(
            path(),
            ErrorCode::PolicyTooLarge,
            format!(
                "the policy is {} bytes; KMS accepts at most {MAX_POLICY_BYTES} bytes",
                text.len()
            ),
        ));
    }
    let (mut line, mut column) = (1_usize, 1_usize);
    let mut bad = 0_usize;
    for c in text.chars() {
        if !is_allowed_char(c) {
            bad += 1;
            if bad <= MAX_CHARACTER_ERRORS {
                errors.push(ValidationError::new(
                    path(),
                    ErrorCode::PolicyInvalidCharacter,
                    format!(
                        "character {} (U+{:04X}) at line {line}, column {column} is not allowed: \
                         KMS accepts only tab, newline, carriage return and U+0020 to U+00FF",
                        describe_char(c),
                        u32::from(c)
                    ),
                ));
            }
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    if bad > MAX_CHARACTER_ERRORS {
        errors.push(ValidationError::new(
            path(),
            ErrorCode::PolicyInvalidCharacter,
            format!(
                "{} more characters outside tab, newline, carriage return and U+0020 to U+00FF",
                bad - MAX_CHARACTER_ERRORS
            ),
        ));
    }
}

/// Whether KMS accepts `c` in a policy: tab, newline, carriage return and U+0020..=U+00FF.
pub(crate) fn is_allowed_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}')
}

/// A character as a person can recognize it in a message; control characters are escaped.
fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("{:?}", c.escape_unicode().to_string())
    } else {
        format!("'{c}'")
    }
}

/// A `PolicyJsonSyntax` error with line and column.
pub(crate) fn syntax_error(err: &serde_json::Error) -> ValidationError {
    // serde_json's message already ends in "at line L column C"; say it the same way everywhere.
    let full = err.to_string();
    let what = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(head, _)| head);
    ValidationError::new(
        FieldPath::new("policy"),
        ErrorCode::PolicyJsonSyntax,
        format!(
            "the policy is not valid JSON: {what} at line {}, column {}",
            err.line(),
            err.column()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_keeps_duplicates() {
        let v = parse(r#"{"a":"x","a":["y\n",1,true,null,1.5]}"#).unwrap();
        let Json::Object(members) = v else {
            panic!("not an object")
        };
        assert_eq!(members.len(), 2);
        assert!(matches!(&members[0].0, Cow::Borrowed("a")));
        assert!(matches!(&members[0].1, Json::String(Cow::Borrowed("x"))));
        let Json::Array(items) = &members[1].1 else {
            panic!("not a list")
        };
        assert!(matches!(&items[0], Json::String(Cow::Owned(s)) if s == "y\n"));
        let texts: Vec<_> = items.iter().map(|i| i.scalar_text()).collect();
        assert_eq!(
            texts,
            vec![
                Some("y\n".into()),
                Some("1".into()),
                Some("true".into()),
                None,
                Some("1.5".into())
            ]
        );
    }

    #[test]
    fn converts_to_value_and_back_to_text() {
        let text = r#"{"b":[1,-2,1.5,true,null,"q\"\u00e9"],"a":{},"b":2}"#;
        let tree = parse(text).unwrap();
        // Document order and the duplicate kept; the same numbers and strings.
        assert_eq!(
            tree.to_compact_text(),
            r#"{"b":[1,-2,1.5,true,null,"q\"é"],"a":{},"b":2}"#
        );
        assert_eq!(parse(&tree.to_compact_text()).unwrap(), tree);
        // The last duplicate wins, as in serde_json.
        assert_eq!(
            tree.to_value(),
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn finds_duplicate_keys_at_any_depth() {
        let Json::Object(members) = parse(r#"{"a":1,"b":2,"a":3,"b":4,"a":5,"c":6}"#).unwrap()
        else {
            panic!("not an object")
        };
        assert_eq!(Json::duplicate_keys(&members), ["a", "b"]);
        assert!(
            parse(r#"[{"x":{"y":1,"y":2}}]"#)
                .unwrap()
                .has_duplicate_keys()
        );
        assert!(
            !parse(r#"[{"x":{"y":1,"z":{"y":2}}},{"x":1}]"#)
                .unwrap()
                .has_duplicate_keys()
        );
    }

    #[test]
    fn rejects_trailing_text() {
        assert!(parse("{} x").is_err());
        assert!(parse("{}\n").is_ok());
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse("{\n  \"a\": ,\n}").unwrap_err();
        let e = syntax_error(&err);
        assert_eq!(e.code(), ErrorCode::PolicyJsonSyntax);
        assert_eq!(e.field().as_str(), "policy");
        assert!(
            e.message().ends_with("at line 2, column 8"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn character_set_table() {
        for (c, ok) in [
            ('\t', true),
            ('\n', true),
            ('\r', true),
            (' ', true),
            ('~', true),
            ('\u{7F}', true),
            ('\u{FF}', true),
            ('é', true),
            ('\u{0}', false),
            ('\u{1F}', false),
            ('\u{100}', false),
            ('\u{2019}', false),
            ('\u{FEFF}', false),
        ] {
            assert_eq!(is_allowed_char(c), ok, "{c:?}");
        }
    }

    #[test]
    fn invalid_characters_are_located_and_capped() {
        let mut errors = Vec::new();
        check_text("{\n  \"Sid\": \"it\u{2019}s\"}", &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code(), ErrorCode::PolicyInvalidCharacter);
        assert!(
            errors[0]
                .message()
                .contains("'\u{2019}' (U+2019) at line 2, column 13"),
            "{}",
            errors[0].message()
        );

        let mut errors = Vec::new();
        check_text(&"\u{2603}".repeat(12), &mut errors);
        assert_eq!(errors.len(), MAX_CHARACTER_ERRORS + 1);
        assert!(errors[10].message().starts_with("2 more characters"));
    }

    #[test]
    fn size_limit_is_in_bytes() {
        let mut errors = Vec::new();
        check_text(&" ".repeat(MAX_POLICY_BYTES), &mut errors);
        assert!(errors.is_empty());
        check_text(&" ".repeat(MAX_POLICY_BYTES + 1), &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code(), ErrorCode::PolicyTooLarge);
        // U+00E9 is one allowed character but two bytes in UTF-8.
        let mut errors = Vec::new();
        check_text(&"é".repeat(MAX_POLICY_BYTES / 2 + 1), &mut errors);
        assert_eq!(errors[0].code(), ErrorCode::PolicyTooLarge);
    }
}
