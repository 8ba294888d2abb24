//! Value objects of a pointage: each valid by construction.

use std::fmt;

use hub_kernel::{Lines, TextError};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};

/// Why a value was refused; messages are written for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("must be a duration such as 7:30 or 08:00 (hours 0-999, minutes 00-59)")]
    InvalidDuree,
}

/// A duration of work in whole minutes, never negative. Entered as `H:MM`,
/// `HH:MM` (or `HHH:MM`, up to 999 h); printed zero-padded `HH:MM`; events
/// carry the integer minutes (catalog rule for durations of work).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeuresMinutes(u32);

impl HeuresMinutes {
    pub const ZERO: Self = Self(0);
    /// The largest duration the domain accepts: 999:59.
    pub const MAX_MINUTES: u32 = 999 * 60 + 59;
    /// What the API documents: every text it matches parses.
    pub const PATTERN: &'static str = "^[0-9]{1,3}:[0-5][0-9]$";

    /// Parses `H:MM`, `HH:MM` or `HHH:MM` (hours 0–999, minutes 00–59).
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let (hours, minutes) = input
            .trim()
            .split_once(':')
            .ok_or(ValueError::InvalidDuree)?;
        let digits = |s: &str, lens: &[usize]| {
            lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(hours, &[1, 2, 3]) || !digits(minutes, &[2]) {
            return Err(ValueError::InvalidDuree);
        }
        let hours: u32 = hours.parse().map_err(|_| ValueError::InvalidDuree)?;
        let minutes: u32 = minutes.parse().map_err(|_| ValueError::InvalidDuree)?;
        if minutes > 59 {
            return Err(ValueError::InvalidDuree);
        }
        Ok(Self(hours * 60 + minutes))
    }

    /// Stored or computed minutes; refused when negative or past 999:59.
    pub fn from_minutes(minutes: i64) -> Result<Self, ValueError> {
        u32::try_from(minutes)
            .ok()
            .filter(|m| *m <= Self::MAX_MINUTES)
            .map(Self)
            .ok_or(ValueError::InvalidDuree)
    }

    /// Whole hours, for constants (at most 999).
    pub const fn from_hours(hours: u16) -> Self {
        let hours = if hours > 999 { 999 } else { hours as u32 };
        Self(hours * 60)
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    /// Hours as a decimal number (7:30 → 7.5), for spreadsheets and ERPs.
    pub fn decimal(self) -> f64 {
        f64::from(self.0) / 60.0
    }

    /// The sum, saturating: totals of a week or an export may pass 999 h.
    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for HeuresMinutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// In events: integer minutes.
impl Serialize for HeuresMinutes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl JsonSchema for HeuresMinutes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HeuresMinutes".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 0,
            "description": "A duration of work in minutes"
        })
    }
}

/// The comment of a pointage: trimmed, 1 to 2000 characters, may span lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Commentaire(String);

impl Commentaire {
    /// The original has no limit; a bound keeps rows and exports sane.
    pub const MAX_LEN: usize = 2000;

    /// Blank input is no comment.
    pub fn parse(input: Option<&str>) -> Result<Option<Self>, ValueError> {
        Ok(hub_kernel::optional_text(input, Self::MAX_LEN, Lines::Several)?.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a pointage was rejected: trimmed, 1 to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Motif(String);

impl Motif {
    pub const MAX_LEN: usize = 500;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        Ok(Self(hub_kernel::bounded_text(
            input,
            Self::MAX_LEN,
            Lines::Several,
        )?))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's signature (free text, e.g. a base64 image): not blank, at most
/// 200 000 characters. Never published in events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureTexte(String);

impl SignatureTexte {
    pub const MAX_LEN: usize = 200_000;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        Ok(Self(hub_kernel::bounded_text(
            input,
            Self::MAX_LEN,
            Lines::Several,
        )?))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_duration_the_document_allows_parses(
            text in proptest::string::string_regex(
                HeuresMinutes::PATTERN.trim_start_matches('^').trim_end_matches('$'),
            ).unwrap(),
        ) {
            prop_assert!(HeuresMinutes::parse(&text).is_ok(), "{text:?}");
        }
    }

    #[test]
    fn durations_accept_h_mm_to_hhh_mm_and_print_zero_padded() {
        assert_eq!(HeuresMinutes::parse("7:30").unwrap().minutes(), 450);
        assert_eq!(HeuresMinutes::parse("07:30").unwrap().to_string(), "07:30");
        assert_eq!(HeuresMinutes::parse(" 0:00 ").unwrap(), HeuresMinutes::ZERO);
        assert_eq!(
            HeuresMinutes::parse("123:45").unwrap().to_string(),
            "123:45"
        );
        assert_eq!(HeuresMinutes::parse("7:30").unwrap().decimal(), 7.5);
        for bad in [
            "", "8", "8:60", "8:5", "1000:00", "ab:cd", "-1:00", "8h00", "8:000", ":30",
        ] {
            assert_eq!(
                HeuresMinutes::parse(bad),
                Err(ValueError::InvalidDuree),
                "{bad}"
            );
        }
    }

    #[test]
    fn stored_minutes_are_never_negative_nor_past_the_maximum() {
        assert!(HeuresMinutes::from_minutes(-1).is_err());
        assert!(HeuresMinutes::from_minutes(i64::from(HeuresMinutes::MAX_MINUTES) + 1).is_err());
        assert_eq!(
            HeuresMinutes::from_minutes(480).unwrap().to_string(),
            "08:00"
        );
    }

    #[test]
    fn events_carry_integer_minutes() {
        let duree = HeuresMinutes::parse("8:15").unwrap();
        assert_eq!(serde_json::to_value(duree).unwrap(), serde_json::json!(495));
    }

    proptest! {
        #[test]
        fn every_valid_duration_round_trips(hours in 0u32..1000, minutes in 0u32..60) {
            let duree = HeuresMinutes::parse(&format!("{hours}:{minutes:02}")).unwrap();
            prop_assert_eq!(duree.minutes(), hours * 60 + minutes);
            prop_assert_eq!(HeuresMinutes::parse(&duree.to_string()).unwrap(), duree);
            prop_assert_eq!(HeuresMinutes::from_minutes(i64::from(duree.minutes())).unwrap(), duree);
        }

        #[test]
        fn minutes_past_59_and_hours_past_999_are_refused(
            hours in 1000u32..100_000,
            minutes in 60u32..1000,
        ) {
            let (long, past) = (format!("{hours}:00"), format!("8:{minutes}"));
            prop_assert!(HeuresMinutes::parse(&long).is_err());
            prop_assert!(HeuresMinutes::parse(&past).is_err());
        }

        #[test]
        fn arbitrary_text_never_panics_and_valid_results_are_in_range(input in "\\PC{0,12}") {
            if let Ok(duree) = HeuresMinutes::parse(&input) {
                prop_assert!(duree.minutes() <= HeuresMinutes::MAX_MINUTES);
            }
        }
    }

    #[test]
    fn motif_and_signature_are_required_and_comment_is_optional() {
        assert!(Motif::parse("  ").is_err());
        assert_eq!(
            Motif::parse(" heures en trop ").unwrap().as_str(),
            "heures en trop"
        );
        assert!(SignatureTexte::parse("").is_err());
        assert_eq!(Commentaire::parse(Some("  ")).unwrap(), None);
        assert!(Commentaire::parse(Some(&"x".repeat(2001))).is_err());
    }
}
