//! Value objects of an affectation: each valid by construction.

use std::fmt;

use hub_kernel::{Lines, TextError};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use time::Weekday;

/// Why a value was refused; messages are written for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("must be a time such as 8:00 or 17:30 (hour 0-23, minute 00-59)")]
    InvalidHeure,
    #[error("heure_fin must be after heure_debut")]
    FinAvantDebut,
    #[error("must be `unique` or `recurrente`")]
    InvalidType,
    #[error("each day must be 0 (lundi) to 6 (dimanche)")]
    InvalidJour,
    #[error("is required (at least one day) for a recurrence")]
    JoursRequired,
}

/// A clock time of the day, minute precision, `HH:MM` on the wire. The API
/// accepts `H:MM` too; nothing crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Heure(time::Time);

impl Heure {
    /// What the API documents (`H:MM` or `HH:MM`): every text it matches parses.
    pub const PATTERN: &'static str = "^([01]?[0-9]|2[0-3]):[0-5][0-9]$";

    /// Parses `H:MM` or `HH:MM` (hour 0–23, minute 00–59).
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let (hour, minute) = input
            .trim()
            .split_once(':')
            .ok_or(ValueError::InvalidHeure)?;
        let digits = |s: &str, lens: &[usize]| {
            lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(hour, &[1, 2]) || !digits(minute, &[2]) {
            return Err(ValueError::InvalidHeure);
        }
        let hour: u8 = hour.parse().map_err(|_| ValueError::InvalidHeure)?;
        let minute: u8 = minute.parse().map_err(|_| ValueError::InvalidHeure)?;
        Self::from_hm(hour, minute)
    }

    pub fn from_hm(hour: u8, minute: u8) -> Result<Self, ValueError> {
        time::Time::from_hms(hour, minute, 0)
            .map(Self)
            .map_err(|_| ValueError::InvalidHeure)
    }

    /// A stored time; seconds are dropped (the API has minute precision).
    pub fn from_time(time: time::Time) -> Self {
        Self(
            time.replace_second(0)
                .unwrap_or(time)
                .replace_nanosecond(0)
                .unwrap_or(time),
        )
    }

    pub fn time(self) -> time::Time {
        self.0
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        u16::from(self.0.hour()) * 60 + u16::from(self.0.minute())
    }
}

impl fmt::Display for Heure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

impl Serialize for Heure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Heure {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Heure".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
            "description": "A clock time, HH:MM"
        })
    }
}

/// The optional clock times of an affectation: one alone is allowed; when
/// both are set, `heure_fin` is strictly after `heure_debut`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plage {
    debut: Option<Heure>,
    fin: Option<Heure>,
}

impl Plage {
    pub fn new(debut: Option<Heure>, fin: Option<Heure>) -> Result<Self, ValueError> {
        if let (Some(debut), Some(fin)) = (debut, fin)
            && fin <= debut
        {
            return Err(ValueError::FinAvantDebut);
        }
        Ok(Self { debut, fin })
    }

    pub fn debut(self) -> Option<Heure> {
        self.debut
    }

    pub fn fin(self) -> Option<Heure> {
        self.fin
    }

    /// Planned minutes, when both times are set.
    pub fn duree_minutes(self) -> Option<u16> {
        Some(self.fin?.minutes() - self.debut?.minutes())
    }
}

/// The note of an affectation: trimmed, 1 to 500 characters, may span lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    pub const MAX_LEN: usize = 500;

    /// Blank input is no note.
    pub fn parse(input: Option<&str>) -> Result<Option<Self>, ValueError> {
        Ok(hub_kernel::optional_text(input, Self::MAX_LEN, Lines::Several)?.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an affectation was cancelled: 1 to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Raison(String);

impl Raison {
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

/// How an affectation was made: one day (or a day range), or a weekly
/// recurrence. Set at creation, never changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeAffectation {
    Unique,
    Recurrente,
}

impl TypeAffectation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unique => "unique",
            Self::Recurrente => "recurrente",
        }
    }

    /// Case-insensitive, like the original.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "unique" => Ok(Self::Unique),
            "recurrente" => Ok(Self::Recurrente),
            _ => Err(ValueError::InvalidType),
        }
    }
}

/// The weekdays of a recurrence, 0 (lundi) to 6 (dimanche): non-empty,
/// sorted, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct JoursRecurrence(Vec<u8>);

impl JoursRecurrence {
    pub fn new(jours: &[i64]) -> Result<Self, ValueError> {
        let mut days = jours
            .iter()
            .map(|&day| u8::try_from(day).ok().filter(|d| *d <= 6))
            .collect::<Option<Vec<u8>>>()
            .ok_or(ValueError::InvalidJour)?;
        days.sort_unstable();
        days.dedup();
        if days.is_empty() {
            return Err(ValueError::JoursRequired);
        }
        Ok(Self(days))
    }

    pub fn jours(&self) -> &[u8] {
        &self.0
    }

    /// Whether `weekday` is one of the days.
    pub fn contains(&self, weekday: Weekday) -> bool {
        self.0.contains(&weekday.number_days_from_monday())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The documented pattern without its anchors, as proptest generates from it.
    fn unanchored(pattern: &str) -> &str {
        pattern.trim_start_matches('^').trim_end_matches('$')
    }

    proptest! {
        #[test]
        fn every_time_the_document_allows_parses(
            heure in proptest::string::string_regex(unanchored(Heure::PATTERN)).unwrap(),
        ) {
            prop_assert!(Heure::parse(&heure).is_ok(), "{heure:?}");
        }
    }

    #[test]
    fn heure_accepts_h_mm_and_hh_mm_and_prints_zero_padded() {
        assert_eq!(Heure::parse("8:00").unwrap().to_string(), "08:00");
        assert_eq!(Heure::parse("17:30").unwrap().to_string(), "17:30");
        assert_eq!(Heure::parse(" 0:05 ").unwrap().to_string(), "00:05");
        for bad in [
            "", "8", "24:00", "12:60", "12:5", "123:00", "ab:cd", "-1:00", "8h00",
        ] {
            assert_eq!(Heure::parse(bad), Err(ValueError::InvalidHeure), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_valid_clock_time_round_trips(hour in 0u8..24, minute in 0u8..60) {
            let heure = Heure::parse(&format!("{hour}:{minute:02}")).unwrap();
            prop_assert_eq!(Heure::parse(&heure.to_string()).unwrap(), heure);
            prop_assert_eq!(heure.minutes(), u16::from(hour) * 60 + u16::from(minute));
        }

        #[test]
        fn out_of_range_clock_times_are_refused(hour in 24u8..100, minute in 60u8..100) {
            let (late, past) = (format!("{hour}:00"), format!("10:{minute}"));
            prop_assert!(Heure::parse(&late).is_err());
            prop_assert!(Heure::parse(&past).is_err());
        }

        #[test]
        fn a_plage_needs_fin_strictly_after_debut(a in 0u16..1440, b in 0u16..1440) {
            let at = |m: u16| Heure::from_hm((m / 60) as u8, (m % 60) as u8).unwrap();
            let plage = Plage::new(Some(at(a)), Some(at(b)));
            prop_assert_eq!(plage.is_ok(), b > a);
            if let Ok(plage) = plage {
                prop_assert_eq!(plage.duree_minutes(), Some(b - a));
            }
        }

        #[test]
        fn weekdays_outside_0_to_6_are_refused(day in 7i64..1000) {
            prop_assert_eq!(JoursRecurrence::new(&[0, day]), Err(ValueError::InvalidJour));
            prop_assert_eq!(JoursRecurrence::new(&[-day]), Err(ValueError::InvalidJour));
        }
    }

    #[test]
    fn one_time_alone_is_allowed() {
        let eight = Heure::parse("8:00").unwrap();
        assert!(Plage::new(Some(eight), None).is_ok());
        assert!(Plage::new(None, Some(eight)).is_ok());
        assert_eq!(
            Plage::new(Some(eight), Some(eight)),
            Err(ValueError::FinAvantDebut)
        );
    }

    #[test]
    fn notes_are_trimmed_and_blank_is_none() {
        assert_eq!(Note::parse(Some("   ")).unwrap(), None);
        assert_eq!(Note::parse(None).unwrap(), None);
        assert_eq!(
            Note::parse(Some(" grue ")).unwrap().unwrap().as_str(),
            "grue"
        );
        assert!(Note::parse(Some(&"x".repeat(501))).is_err());
        assert!(Raison::parse(" ").is_err());
    }

    #[test]
    fn recurrence_days_are_sorted_and_deduplicated() {
        let jours = JoursRecurrence::new(&[4, 0, 4, 2]).unwrap();
        assert_eq!(jours.jours(), [0, 2, 4]);
        assert!(jours.contains(Weekday::Monday));
        assert!(!jours.contains(Weekday::Tuesday));
        assert_eq!(JoursRecurrence::new(&[]), Err(ValueError::JoursRequired));
        assert_eq!(
            TypeAffectation::parse("RECURRENTE"),
            Ok(TypeAffectation::Recurrente)
        );
        assert!(TypeAffectation::parse("souvent").is_err());
    }
}
