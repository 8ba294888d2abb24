//! Text values every context checks the same way: names, addresses, notes,
//! e-mail addresses. Contexts wrap these in their own newtypes
//! (`NomChantier`, `PersonName`, …); the rules live here once.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a text value was refused; messages are written for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("is required")]
    Required,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must be at least {0} characters")]
    TooShort(usize),
    #[error("must not contain control characters")]
    ControlCharacters,
    #[error("is not a valid email address")]
    InvalidEmail,
}

/// Whether a text may span several lines (an address, a note) or not (a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    /// `\n` allowed; other control characters refused.
    Several,
}

/// Trimmed text of 1 to `max` characters (not bytes), without control
/// characters (but `\n` when `lines` is [`Lines::Several`]).
pub fn bounded_text(input: &str, max: usize, lines: Lines) -> Result<String, TextError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(TextError::Required);
    }
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    let allowed = |c: char| lines == Lines::Several && c == '\n';
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(TextError::ControlCharacters);
    }
    Ok(text.to_owned())
}

/// Like [`bounded_text`], but blank input is no value rather than an error
/// (an optional note cleared by sending `""`).
pub fn optional_text(
    input: Option<&str>,
    max: usize,
    lines: Lines,
) -> Result<Option<String>, TextError> {
    match input.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => bounded_text(text, max, lines).map(Some),
    }
}

/// An e-mail address, trimmed and lower-cased (two spellings of one address
/// are one address). The check is deliberately plausible, not RFC 5322:
/// one `@`, a non-empty local part of at most 64 bytes, a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl schemars::JsonSchema for Email {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Email".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "email", "maxLength": Self::MAX_LEN})
    }
}

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err(TextError::Required);
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(TextError::TooLong(Self::MAX_LEN));
        }
        let (local, domain) = email.split_once('@').ok_or(TextError::InvalidEmail)?;
        let plausible = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err(TextError::InvalidEmail);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = TextError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounded_text_trims_counts_characters_and_refuses_controls() {
        assert_eq!(bounded_text("  Tour  ", 10, Lines::One).unwrap(), "Tour");
        assert_eq!(bounded_text(" ", 10, Lines::One), Err(TextError::Required));
        assert_eq!(
            bounded_text(&"é".repeat(10), 10, Lines::One)
                .unwrap()
                .chars()
                .count(),
            10
        );
        assert_eq!(
            bounded_text(&"é".repeat(11), 10, Lines::One),
            Err(TextError::TooLong(10))
        );
        assert_eq!(
            bounded_text("a\nb", 10, Lines::One),
            Err(TextError::ControlCharacters)
        );
        assert_eq!(bounded_text("a\nb", 10, Lines::Several).unwrap(), "a\nb");
        assert_eq!(
            bounded_text("a\tb", 10, Lines::Several),
            Err(TextError::ControlCharacters)
        );
        assert_eq!(optional_text(Some("  "), 10, Lines::One), Ok(None));
        assert_eq!(optional_text(None, 10, Lines::One), Ok(None));
        assert_eq!(
            optional_text(Some(" x "), 10, Lines::One),
            Ok(Some("x".into()))
        );
    }

    #[test]
    fn emails_are_normalised_and_plausible() {
        assert_eq!(
            Email::parse(" Lea.Durand@Example.FR ").unwrap().as_str(),
            "lea.durand@example.fr"
        );
        for bad in [
            "",
            "lea",
            "@example.fr",
            "lea@example",
            "lea@.fr",
            "lea@fr.",
            "lea@a..fr",
            "le a@example.fr",
            "lea@ex@ample.fr",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.fr", "a".repeat(65))).is_err());
        let json = serde_json::to_string(&Email::parse("a@b.fr").unwrap()).unwrap();
        assert_eq!(json, "\"a@b.fr\"");
        assert!(serde_json::from_str::<Email>("\"pas-un-email\"").is_err());
    }

    proptest! {
        #[test]
        fn accepted_text_is_trimmed_bounded_and_printable(input in "\\PC{0,40}", max in 1usize..30) {
            if let Ok(text) = bounded_text(&input, max, Lines::One) {
                prop_assert_eq!(text.trim(), text.as_str());
                prop_assert!(!text.is_empty() && text.chars().count() <= max);
                prop_assert!(!text.chars().any(char::is_control));
            }
        }
    }
}
