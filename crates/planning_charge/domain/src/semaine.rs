//! The ISO 8601 week a besoin is for, `YYYY-Www` on the wire (`2026-W05`).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use time::{Date, Duration, Weekday};

/// At most this many weeks in one grid (two years), so one request cannot
/// ask for an unbounded computation.
pub const MAX_SEMAINES: usize = 104;

const ANNEE_MIN: i32 = 2020;
const ANNEE_MAX: i32 = 2100;

/// Why a week was refused; messages are written for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SemaineError {
    #[error("must be an ISO week such as 2026-W05")]
    Format,
    #[error("the year must be between {ANNEE_MIN} and {ANNEE_MAX}")]
    Annee,
    #[error("week {numero} does not exist in {annee} (it has {semaines} ISO weeks)")]
    Numero {
        annee: i32,
        numero: u8,
        semaines: u8,
    },
    #[error("semaine_fin must not be before semaine_debut")]
    Inverted,
    #[error("a range may span at most {MAX_SEMAINES} weeks")]
    TooMany,
}

/// An ISO week: its week-based year and its number (1 to 52, or 53 in the
/// years that have one). Ordered in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Semaine {
    annee: i32,
    numero: u8,
}

impl Semaine {
    /// What the API documents: the ISO week format within the accepted
    /// years. Every text it matches parses, except week 53 of a year that
    /// has 52 ISO weeks, which a pattern cannot tell.
    pub const PATTERN: &'static str = "^(20[2-9][0-9]|2100)-W(0[1-9]|[1-4][0-9]|5[0-3])$";

    /// The week `numero` of the ISO year `annee`; week 53 only in the years
    /// that have 53 weeks (the original accepted it everywhere and gave it
    /// the dates of the next year's week 1).
    pub fn new(annee: i32, numero: u8) -> Result<Self, SemaineError> {
        if !(ANNEE_MIN..=ANNEE_MAX).contains(&annee) {
            return Err(SemaineError::Annee);
        }
        let semaines = time::util::weeks_in_year(annee);
        if numero == 0 || numero > semaines {
            return Err(SemaineError::Numero {
                annee,
                numero,
                semaines,
            });
        }
        Ok(Self { annee, numero })
    }

    /// Parses `YYYY-Www` (`2026-W05`; a lower-case `w` and surrounding
    /// spaces are accepted).
    pub fn parse(input: &str) -> Result<Self, SemaineError> {
        let text = input.trim();
        let (annee, numero) = text.split_once(['W', 'w']).ok_or(SemaineError::Format)?;
        let annee = annee.strip_suffix('-').ok_or(SemaineError::Format)?;
        let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(annee, 4) || !digits(numero, 2) {
            return Err(SemaineError::Format);
        }
        let annee: i32 = annee.parse().map_err(|_| SemaineError::Format)?;
        let numero: u8 = numero.parse().map_err(|_| SemaineError::Format)?;
        Self::new(annee, numero)
    }

    /// The ISO week `date` falls in.
    pub fn of(date: Date) -> Result<Self, SemaineError> {
        let (annee, numero, _) = date.to_iso_week_date();
        Self::new(annee, numero)
    }

    pub fn annee(self) -> i32 {
        self.annee
    }

    pub fn numero(self) -> u8 {
        self.numero
    }

    /// The week as one ordered number, `annee × 100 + numero` (`202605`):
    /// how the database stores and ranges weeks.
    pub fn cle(self) -> i32 {
        self.annee * 100 + i32::from(self.numero)
    }

    /// The week of a number made by [`Semaine::cle`].
    pub fn from_cle(cle: i32) -> Result<Self, SemaineError> {
        let numero = u8::try_from(cle.rem_euclid(100)).map_err(|_| SemaineError::Format)?;
        Self::new(cle.div_euclid(100), numero)
    }

    /// Its Monday.
    pub fn lundi(self) -> Date {
        // `new` checked that the week exists, so this cannot fail; the
        // fallback keeps the function total.
        Date::from_iso_week_date(self.annee, self.numero, Weekday::Monday).unwrap_or(Date::MIN)
    }

    /// Its Sunday.
    pub fn dimanche(self) -> Date {
        self.lundi() + Duration::days(6)
    }

    /// The week after, if still within the supported years.
    pub fn suivante(self) -> Option<Self> {
        Self::of(self.lundi() + Duration::weeks(1)).ok()
    }

    /// Every week from `debut` to `fin` inclusive, at most [`MAX_SEMAINES`];
    /// a reversed range is an error (the original silently returned none).
    pub fn plage(debut: Self, fin: Self) -> Result<Vec<Self>, SemaineError> {
        if fin < debut {
            return Err(SemaineError::Inverted);
        }
        let count = (fin.lundi() - debut.lundi()).whole_weeks() + 1;
        if count > MAX_SEMAINES as i64 {
            return Err(SemaineError::TooMany);
        }
        let mut semaines = Vec::with_capacity(count as usize);
        let mut current = Some(debut);
        while let Some(semaine) = current.filter(|s| *s <= fin) {
            semaines.push(semaine);
            current = semaine.suivante();
        }
        Ok(semaines)
    }
}

impl fmt::Display for Semaine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.annee, self.numero)
    }
}

impl FromStr for Semaine {
    type Err = SemaineError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Semaine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Semaine {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Semaine".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-W[0-9]{2}$",
            "description": "An ISO 8601 week, e.g. 2026-W05"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    /// The documented pattern without its anchors, as proptest generates from it.
    fn unanchored(pattern: &str) -> &str {
        pattern.trim_start_matches('^').trim_end_matches('$')
    }

    proptest! {
        #[test]
        fn every_week_the_document_allows_parses_but_a_missing_week_53(
            code in proptest::string::string_regex(unanchored(Semaine::PATTERN)).unwrap(),
        ) {
            match Semaine::parse(&code) {
                Ok(_) => {}
                Err(SemaineError::Numero { numero: 53, .. }) => prop_assert!(code.ends_with("W53"), "{code:?}"),
                Err(other) => prop_assert!(false, "{code:?}: {other}"),
            }
        }
    }

    #[test]
    fn parses_and_prints_iso_weeks() {
        let semaine = Semaine::parse("2026-W05").unwrap();
        assert_eq!((semaine.annee(), semaine.numero()), (2026, 5));
        assert_eq!(semaine.to_string(), "2026-W05");
        assert_eq!(Semaine::parse(" 2026-w05 ").unwrap(), semaine);
        assert_eq!(semaine.lundi(), date!(2026 - 01 - 26));
        assert_eq!(semaine.dimanche(), date!(2026 - 02 - 01));
        assert_eq!(serde_json::to_string(&semaine).unwrap(), "\"2026-W05\"");
        assert_eq!(semaine.cle(), 202605);
        assert_eq!(Semaine::from_cle(202605), Ok(semaine));
        assert!(Semaine::from_cle(202553).is_err());
    }

    #[test]
    fn refuses_malformed_codes() {
        for bad in [
            "",
            "2026W05",
            "2026-5",
            "2026-W5",
            "26-W05",
            "S05-2026",
            "2026-W005",
            "2026-X05",
            "２０２６-W05",
            "2026-W0a",
        ] {
            assert_eq!(Semaine::parse(bad), Err(SemaineError::Format), "{bad}");
        }
        assert_eq!(Semaine::parse("2019-W10"), Err(SemaineError::Annee));
        assert_eq!(Semaine::parse("2101-W01"), Err(SemaineError::Annee));
        assert!(matches!(
            Semaine::parse("2026-W00"),
            Err(SemaineError::Numero { .. })
        ));
    }

    #[test]
    fn week_53_only_in_long_years() {
        // 2026 starts on a Thursday: it has 53 weeks; 2025 and 2027 have 52.
        assert_eq!(
            Semaine::parse("2026-W53").unwrap().lundi(),
            date!(2026 - 12 - 28)
        );
        assert_eq!(
            Semaine::parse("2025-W53"),
            Err(SemaineError::Numero {
                annee: 2025,
                numero: 53,
                semaines: 52
            })
        );
        assert!(Semaine::parse("2027-W53").is_err());
        assert!(Semaine::parse("2020-W53").is_ok());
    }

    #[test]
    fn weeks_follow_each_other_across_years() {
        let last = Semaine::parse("2026-W53").unwrap();
        assert_eq!(last.suivante(), Some(Semaine::parse("2027-W01").unwrap()));
        assert_eq!(
            Semaine::of(date!(2027 - 01 - 01)).unwrap(),
            last,
            "1 January 2027 is a Friday of 2026's week 53"
        );
        let plage = Semaine::plage(
            Semaine::parse("2026-W52").unwrap(),
            Semaine::parse("2027-W02").unwrap(),
        )
        .unwrap();
        let codes: Vec<String> = plage.iter().map(ToString::to_string).collect();
        assert_eq!(codes, ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]);
    }

    #[test]
    fn ranges_are_ordered_and_capped() {
        let debut = Semaine::parse("2026-W01").unwrap();
        assert_eq!(
            Semaine::plage(debut, Semaine::parse("2025-W52").unwrap()),
            Err(SemaineError::Inverted)
        );
        // 2026 has 53 weeks: W01 2026 to W51 2027 is 104 weeks, one more is too many.
        assert_eq!(
            Semaine::plage(debut, Semaine::parse("2027-W51").unwrap())
                .unwrap()
                .len(),
            MAX_SEMAINES
        );
        assert_eq!(
            Semaine::plage(debut, Semaine::parse("2027-W52").unwrap()),
            Err(SemaineError::TooMany)
        );
        assert_eq!(Semaine::plage(debut, debut).unwrap(), vec![debut]);
    }

    proptest! {
        #[test]
        fn every_day_round_trips_through_its_week(days in 0i64..29_000) {
            let day = date!(2020 - 01 - 06) + Duration::days(days);
            if let Ok(semaine) = Semaine::of(day) {
                prop_assert!(semaine.lundi() <= day && day <= semaine.dimanche());
                prop_assert_eq!(Semaine::parse(&semaine.to_string()), Ok(semaine));
            }
        }
    }
}
