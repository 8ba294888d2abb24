//! Value objects of a besoin: each valid by construction.

use std::fmt;

use hub_kernel::{Lines, TextError};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};

/// Why a value was refused; messages are written for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("must be a number of hours ≥ 0")]
    Negative,
    #[error("must be at most {} hours", Heures::MAX_MINUTES / 60)]
    TooLarge,
    #[error("must be a whole number of minutes (e.g. 7.5 or 7.25 hours, not 7.333)")]
    NotWholeMinutes,
}

/// Hours needed, held as whole minutes so that sums are exact; decimal
/// hours on the wire (`7.5`). Bounded only to keep the storage an integer
/// (the original had no upper bound).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Heures(u32);

impl Heures {
    /// One million hours: far beyond any site's needs for a week.
    pub const MAX_MINUTES: u32 = 1_000_000 * 60;
    pub const ZERO: Heures = Heures(0);

    /// Decimal hours, which must be a whole number of minutes.
    pub fn from_decimal(heures: f64) -> Result<Self, ValueError> {
        if heures.is_nan() || heures < 0.0 {
            return Err(ValueError::Negative);
        }
        let minutes = heures * 60.0;
        if !minutes.is_finite() || minutes > f64::from(Self::MAX_MINUTES) {
            return Err(ValueError::TooLarge);
        }
        let rounded = minutes.round();
        // Decimal hours such as 7.35 are not exact in binary: tolerate the
        // representation error, refuse real fractions of a minute.
        if (minutes - rounded).abs() > 1e-6 {
            return Err(ValueError::NotWholeMinutes);
        }
        Ok(Self(rounded as u32))
    }

    /// A stored number of minutes.
    pub fn from_minutes(minutes: u32) -> Result<Self, ValueError> {
        if minutes > Self::MAX_MINUTES {
            return Err(ValueError::TooLarge);
        }
        Ok(Self(minutes))
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    /// Decimal hours.
    pub fn heures(self) -> f64 {
        f64::from(self.0) / 60.0
    }

    /// Man-days of 7 hours (0 when 0), as the original computed them.
    pub fn jours_homme(self) -> f64 {
        self.heures() / 7.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Heures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.heures())
    }
}

impl Serialize for Heures {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.heures())
    }
}

impl JsonSchema for Heures {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Heures".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "minimum": 0,
            "description": "Decimal hours, a whole number of minutes (7.5 = 7 h 30)"
        })
    }
}

/// A free note on a besoin: trimmed, blank is none, at most
/// [`Note::MAX`] characters, several lines allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    pub const MAX: usize = 2000;

    /// `None` for absent or blank input.
    pub fn parse(input: Option<&str>) -> Result<Option<Self>, ValueError> {
        Ok(hub_kernel::optional_text(input, Self::MAX, Lines::Several)?.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hours_are_whole_minutes() {
        assert_eq!(Heures::from_decimal(7.5).unwrap().minutes(), 450);
        assert_eq!(Heures::from_decimal(0.0).unwrap(), Heures::ZERO);
        assert_eq!(Heures::from_decimal(7.35).unwrap().minutes(), 441);
        assert_eq!(Heures::from_decimal(35.0).unwrap().heures(), 35.0);
        assert_eq!(Heures::from_decimal(14.0).unwrap().jours_homme(), 2.0);
        assert_eq!(Heures::from_decimal(-0.5), Err(ValueError::Negative));
        assert_eq!(Heures::from_decimal(f64::NAN), Err(ValueError::Negative));
        assert_eq!(
            Heures::from_decimal(f64::INFINITY),
            Err(ValueError::TooLarge)
        );
        assert_eq!(Heures::from_decimal(1_000_001.0), Err(ValueError::TooLarge));
        assert_eq!(
            Heures::from_decimal(7.333),
            Err(ValueError::NotWholeMinutes)
        );
        assert_eq!(serde_json::to_string(&Heures(450)).unwrap(), "7.5");
    }

    #[test]
    fn notes_are_trimmed_and_blank_is_none() {
        assert_eq!(Note::parse(None), Ok(None));
        assert_eq!(Note::parse(Some("   ")), Ok(None));
        assert_eq!(
            Note::parse(Some("  Coulage dalle \n"))
                .unwrap()
                .unwrap()
                .as_str(),
            "Coulage dalle"
        );
        assert!(Note::parse(Some(&"x".repeat(Note::MAX + 1))).is_err());
    }

    proptest! {
        #[test]
        fn whole_minutes_round_trip_through_decimal_hours(minutes in 0u32..=Heures::MAX_MINUTES) {
            let heures = Heures::from_minutes(minutes).unwrap();
            prop_assert_eq!(Heures::from_decimal(heures.heures()), Ok(heures));
        }
    }
}
