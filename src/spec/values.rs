//! Newtypes for the ranged and constrained values of a key spec, with AWS's limits.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// The fewest days a deletion can be scheduled for.
pub const MIN_DELETION_WINDOW_DAYS: u8 = 7;
/// The most days a deletion can be scheduled for.
pub const MAX_DELETION_WINDOW_DAYS: u8 = 30;
/// The shortest automatic rotation period, in days.
pub const MIN_ROTATION_PERIOD_DAYS: u16 = 90;
/// The longest automatic rotation period, in days.
pub const MAX_ROTATION_PERIOD_DAYS: u16 = 2560;
/// The rotation period AWS uses when none is given.
pub const DEFAULT_ROTATION_PERIOD_DAYS: u16 = 365;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 8192;
/// The most tags one key can have.
pub const MAX_TAGS: usize = 50;
/// The longest tag key, in characters.
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// The longest tag value, in characters.
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// The prefix of tag keys that AWS reserves for itself.
pub const RESERVED_TAG_PREFIX: &str = "aws:";

/// Whether `c` may appear in a tag key or value. AWS's pattern (KMS API reference, `Tag`) is
/// `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`: letters, separators, numbers and `_ . : / = + - @`.
///
/// The standard library has no Unicode general categories, so each class is matched as closely
/// as it allows:
/// - `\p{N}` (Nd, Nl, No) exactly: [`char::is_numeric`] is those three categories, so non-ASCII
///   digits (`٣`, `४`), `½` and `Ⅻ` are numbers.
/// - `\p{Z}` (Zs, Zl, Zp) exactly: the `White_Space` characters ([`char::is_whitespace`]) are
///   `\p{Z}` plus U+0009..=U+000D and U+0085, all of them control characters; so space, no-break
///   space, ideographic space and U+2028/U+2029 are allowed, tab, newline, carriage return,
///   vertical tab, form feed and NEL are not.
/// - `\p{L}` nearly: [`char::is_alphabetic`] (the `Alphabetic` property) is `\p{L}` plus `Nl`
///   (numbers, allowed anyway) plus `Other_Alphabetic`, some combining marks such as Devanagari
///   vowel signs (U+093E) and circled letters (U+24B6). Those few are accepted here although AWS
///   refuses them; AWS then answers TagResource/CreateKey with a ValidationException.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
        || matches!(c, '+' | '-' | '=' | '.' | '_' | ':' | '/' | '@')
}

/// A deletion waiting period: 7 to 30 days (default 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DeletionWindow(u8);

impl DeletionWindow {
    /// AWS's default, 30 days.
    pub const DEFAULT: DeletionWindow = DeletionWindow(MAX_DELETION_WINDOW_DAYS);

    /// A window of `days`, or `None` outside 7..=30.
    pub const fn new(days: u8) -> Option<Self> {
        if days >= MIN_DELETION_WINDOW_DAYS && days <= MAX_DELETION_WINDOW_DAYS {
            Some(Self(days))
        } else {
            None
        }
    }

    /// The number of days.
    pub const fn days(self) -> u8 {
        self.0
    }
}

impl Default for DeletionWindow {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for DeletionWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} days", self.0)
    }
}

/// An automatic rotation period: 90 to 2560 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RotationPeriod(u16);

impl RotationPeriod {
    /// AWS's default, 365 days.
    pub const DEFAULT: RotationPeriod = RotationPeriod(DEFAULT_ROTATION_PERIOD_DAYS);

    /// A period of `days`, or `None` outside 90..=2560.
    pub const fn new(days: u16) -> Option<Self> {
        if days >= MIN_ROTATION_PERIOD_DAYS && days <= MAX_ROTATION_PERIOD_DAYS {
            Some(Self(days))
        } else {
            None
        }
    }

    /// The number of days.
    pub const fn days(self) -> u16 {
        self.0
    }
}

impl Default for RotationPeriod {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for RotationPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} days", self.0)
    }
}

/// A validated tag set: at most 50 tags, keys 1–128 and values 0–256 allowed characters, no
/// `aws:` keys. Ordered by key, so it prints and compares the same every time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Tags(BTreeMap<String, String>);

impl Tags {
    /// No tags.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn from_map_unchecked(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The tags in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tags as a map.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// The tag key under which a logical name is written on the keys this crate creates for a name.
/// Reserved: a spec cannot set it, and it is never shown as drift.
pub const OWNERSHIP_TAG_KEY: &str = "kms-key:name";

/// Checks a logical name: it is written as the value of the [`OWNERSHIP_TAG_KEY`] tag, so it must
/// be a valid, non-empty tag value (1–256 letters, numbers, spaces and `+ - = . _ : / @`).
///
/// ```
/// assert!(kms_key::spec::validate_name("orders-db").is_ok());
/// assert!(kms_key::spec::validate_name("a#b").is_err());
/// ```
///
/// # Errors
/// One [`ValidationErrors`](crate::ValidationErrors) entry at field `name`, code `invalid_name`.
pub fn validate_name(name: &str) -> Result<(), crate::ValidationErrors> {
    let n = name.chars().count();
    let problem = if n == 0 {
        Some("is empty; a logical name needs at least one character".to_owned())
    } else if n > MAX_TAG_VALUE_CHARS {
        Some(format!(
            "is {n} characters long; it is stored as a tag value, which KMS limits to {MAX_TAG_VALUE_CHARS}"
        ))
    } else {
        name.chars().find(|c| !is_tag_char(*c)).map(|c| {
            format!("has the character {c:?}; it is stored as a tag value, which allows letters, numbers, spaces and + - = . _ : / @")
        })
    };
    match problem {
        Some(message) => Err(crate::ValidationErrors::single(
            "name",
            crate::ErrorCode::InvalidName,
            format!("logical name {name:?} {message}"),
        )),
        None => Ok(()),
    }
}

/// Checks that `id` is one of the forms KMS takes for a `KeyId`: a key id
/// (`1234abcd-12ab-34cd-56ef-1234567890ab`), a multi-Region key id (`mrk-` and 32 hex digits), a
/// key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`), an alias name (`alias/NAME`) or an alias
/// ARN. The engine checks a target before any call, so a mistyped id costs no request.
///
/// ```
/// use kms_key::spec::validate_key_id;
/// assert!(validate_key_id("1234abcd-12ab-34cd-56ef-1234567890ab").is_ok());
/// assert!(validate_key_id("arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab").is_ok());
/// assert!(validate_key_id("alias/orders").is_ok());
/// assert!(validate_key_id("").is_err());
/// assert!(validate_key_id("orders").is_err());
/// ```
///
/// # Errors
/// One [`ValidationErrors`](crate::ValidationErrors) entry at field `key_id`, code
/// `invalid_key_id`.
pub fn validate_key_id(id: &str) -> Result<(), crate::ValidationErrors> {
    fn hex(s: &str, n: usize) -> bool {
        s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit())
    }
    fn bare_id(s: &str) -> bool {
        if let Some(h) = s.strip_prefix("mrk-") {
            return hex(h, 32);
        }
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() == 5 && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| hex(p, n))
    }
    fn alias(s: &str) -> bool {
        // The API's pattern (`[a-zA-Z0-9:/_-]`, 1-256 characters with the prefix).
        s.strip_prefix("alias/").is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 250
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b':'))
        })
    }
    fn arn(s: &str) -> bool {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [scheme, partition, service, region, account, resource] = parts[..] else {
            return false;
        };
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        scheme == "arn"
            && word(partition)
            && service == "kms"
            && word(region)
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && (resource.strip_prefix("key/").is_some_and(bare_id) || alias(resource))
    }
    if id.len() <= 2048 && (bare_id(id) || alias(id) || arn(id)) {
        return Ok(());
    }
    let shown = if id.is_empty() {
        "an empty string".to_owned()
    } else {
        format!("{id:?}")
    };
    Err(crate::ValidationErrors::single(
        "key_id",
        crate::ErrorCode::InvalidKeyId,
        format!(
            "{shown} is not a KMS key id: give a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a multi-Region key id (mrk-…), a key ARN, or an alias (alias/NAME or its ARN)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_characters_follow_the_aws_pattern() {
        for (c, allowed, what) in [
            // \p{L}: letters of several scripts.
            ('a', true, "Latin"),
            ('Z', true, "Latin capital"),
            ('é', true, "Latin with accent"),
            ('ß', true, "Latin sharp s"),
            ('Ж', true, "Cyrillic"),
            ('Ω', true, "Greek"),
            ('א', true, "Hebrew"),
            ('ع', true, "Arabic"),
            ('字', true, "Han"),
            ('あ', true, "Hiragana"),
            ('カ', true, "Katakana"),
            ('한', true, "Hangul"),
            ('ǅ', true, "titlecase letter (Lt)"),
            ('ʰ', true, "modifier letter (Lm)"),
            // \p{N}: digits and other numbers, ASCII or not.
            ('0', true, "ASCII digit"),
            ('9', true, "ASCII digit"),
            ('٣', true, "Arabic-Indic digit (Nd)"),
            ('४', true, "Devanagari digit (Nd)"),
            ('３', true, "fullwidth digit (Nd)"),
            ('Ⅻ', true, "Roman numeral (Nl)"),
            ('½', true, "vulgar fraction (No)"),
            ('²', true, "superscript two (No)"),
            // \p{Z}: separators.
            (' ', true, "space"),
            ('\u{A0}', true, "no-break space"),
            ('\u{2003}', true, "em space"),
            ('\u{202F}', true, "narrow no-break space"),
            ('\u{3000}', true, "ideographic space"),
            ('\u{2028}', true, "line separator (Zl)"),
            ('\u{2029}', true, "paragraph separator (Zp)"),
            // White space that is not \p{Z}: control characters.
            ('\t', false, "tab"),
            ('\n', false, "newline"),
            ('\r', false, "carriage return"),
            ('\u{B}', false, "vertical tab"),
            ('\u{C}', false, "form feed"),
            ('\u{85}', false, "next line (NEL)"),
            // Not white space at all.
            ('\u{200B}', false, "zero width space (Cf)"),
            ('\u{FEFF}', false, "byte order mark (Cf)"),
            ('\u{0}', false, "NUL"),
            // The listed punctuation, and no other.
            ('_', true, "underscore"),
            ('.', true, "full stop"),
            (':', true, "colon"),
            ('/', true, "slash"),
            ('=', true, "equals"),
            ('+', true, "plus"),
            ('-', true, "hyphen-minus"),
            ('@', true, "at"),
            (',', false, "comma"),
            ('*', false, "asterisk"),
            ('#', false, "number sign"),
            ('"', false, "quotation mark"),
            ('\\', false, "backslash"),
            ('€', false, "currency symbol (Sc)"),
            ('😀', false, "emoji (So)"),
            (
                '\u{0301}',
                false,
                "combining acute accent (Mn, not Alphabetic)",
            ),
            // The known gap: Other_Alphabetic is Alphabetic but not \p{L}. AWS refuses these.
            (
                '\u{093E}',
                true,
                "Devanagari vowel sign AA (Mc): accepted here, refused by AWS",
            ),
            (
                'Ⓐ',
                true,
                "circled letter (So): accepted here, refused by AWS",
            ),
        ] {
            assert_eq!(is_tag_char(c), allowed, "{what} {c:?}");
        }
    }
}
