//! Value objects of the logistique context, each valid by construction:
//! texts with this context's limits, the ressource code and colour, clock
//! times, the time slot and the booked slot (a date and a time slot).

use std::fmt;

use hub_kernel::{Lines, TextError, bounded_text};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use time::Date;

/// Why a value was refused; messages are written for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("must be 1 to 20 characters among A-Z, 0-9 and -")]
    InvalidCode,
    #[error("must be a colour #RRGGBB")]
    InvalidCouleur,
    #[error("must be a time such as 8:00 or 17:30 (hour 0-23, minute 00-59)")]
    InvalidHeure,
    #[error("heure_fin must be after heure_debut")]
    FinAvantDebut,
    #[error("must be an https:// URL")]
    NotHttps,
    #[error("must be one of: {0}")]
    NotOneOf(&'static str),
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $max:expr, $lines:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            /// Trimmed, not blank, at most [`Self::MAX_LEN`] characters.
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                Ok(Self(bounded_text(input, Self::MAX_LEN, $lines)?))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// The name of a ressource ("Grue mobile 50 t"), one line.
    NomRessource, 200, Lines::One
);
text_value!(
    /// What a ressource is, its constraints of use.
    DescriptionRessource, 2000, Lines::Several
);
text_value!(
    /// The requester's note on a réservation.
    Commentaire, 1000, Lines::Several
);
text_value!(
    /// Why a réservation was refused: required, so the requester knows
    /// what to change.
    MotifRefus, 1000, Lines::Several
);

/// The code of a ressource: 1–20 of `A-Z`, `0-9`, `-`. Lower case input is
/// upper-cased, so `grue-01` and `GRUE-01` cannot both exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct CodeRessource(String);

impl CodeRessource {
    pub const MAX_LEN: usize = 20;
    /// What the API documents: every text it matches parses (a proptest
    /// checks it); surrounding spaces are trimmed on top.
    pub const PATTERN: &'static str = "^[A-Za-z0-9-]{1,20}$";

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let code = input.trim().to_ascii_uppercase();
        let valid = !code.is_empty()
            && code.len() <= Self::MAX_LEN
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(code))
        } else {
            Err(ValueError::InvalidCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CodeRessource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The display colour of a ressource, `#RRGGBB`, kept upper case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Couleur(String);

impl Couleur {
    pub const DEFAULT: &'static str = "#3B82F6";
    /// What the API documents (a proptest checks every match parses).
    pub const PATTERN: &'static str = "^#[0-9A-Fa-f]{6}$";

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let input = input.trim();
        match input.strip_prefix('#') {
            Some(hex) if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Self(input.to_ascii_uppercase()))
            }
            _ => Err(ValueError::InvalidCouleur),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Couleur {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

/// A photo of a ressource, by URL; only `https:` (shown as a link or image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoUrl(String);

impl PhotoUrl {
    pub const MAX_LEN: usize = 500;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let url = bounded_text(input, Self::MAX_LEN, Lines::One)?;
        let host = url
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
            .map(|_| &url[8..])
            .ok_or(ValueError::NotHttps)?
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        if host.is_empty() || url.chars().any(char::is_whitespace) {
            return Err(ValueError::NotHttps);
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A clock time of the day, minute precision, `HH:MM` on the wire (the
/// original's `HH:MM:SS` is accepted on input, seconds must be 00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Heure(time::Time);

impl Heure {
    /// What the API documents (a proptest checks every match parses).
    pub const PATTERN: &'static str =
        "^(([01]?[0-9]|2[0-3]):[0-5][0-9]|([01][0-9]|2[0-3]):[0-5][0-9]:00)$";

    /// Parses `H:MM`, `HH:MM` or `HH:MM:00`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let input = input.trim();
        let input = match input.len() {
            8 => input.strip_suffix(":00").ok_or(ValueError::InvalidHeure)?,
            _ => input,
        };
        let (hour, minute) = input.split_once(':').ok_or(ValueError::InvalidHeure)?;
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

/// A time slot within one day: `fin` strictly after `debut`. Slots are
/// half-open, `[debut, fin)`, so 08:00–10:00 and 10:00–12:00 only touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlageHoraire {
    debut: Heure,
    fin: Heure,
}

impl PlageHoraire {
    pub fn new(debut: Heure, fin: Heure) -> Result<Self, ValueError> {
        if fin <= debut {
            return Err(ValueError::FinAvantDebut);
        }
        Ok(Self { debut, fin })
    }

    /// 08:00–18:00, a ressource's default display slot.
    pub fn journee() -> Self {
        Self {
            debut: Heure(time::macros::time!(08:00)),
            fin: Heure(time::macros::time!(18:00)),
        }
    }

    pub fn debut(self) -> Heure {
        self.debut
    }

    pub fn fin(self) -> Heure {
        self.fin
    }

    /// A and B overlap ⇔ A.debut < B.fin and A.fin > B.debut.
    pub fn chevauche(self, other: PlageHoraire) -> bool {
        self.debut < other.fin && self.fin > other.debut
    }
}

impl fmt::Display for PlageHoraire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} - {}", self.debut, self.fin)
    }
}

/// What a réservation occupies: one date and a time slot on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creneau {
    pub date: Date,
    pub plage: PlageHoraire,
}

impl Creneau {
    /// Same date and overlapping slots; touching slots do not overlap.
    pub fn chevauche(self, other: Creneau) -> bool {
        self.date == other.date && self.plage.chevauche(other.plage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    /// The regex of a documented pattern, for proptest's generator.
    fn unanchored(pattern: &str) -> &str {
        pattern.trim_start_matches('^').trim_end_matches('$')
    }

    fn plage(debut: u16, fin: u16) -> Result<PlageHoraire, ValueError> {
        let heure = |m: u16| Heure::from_hm((m / 60) as u8, (m % 60) as u8);
        PlageHoraire::new(heure(debut)?, heure(fin)?)
    }

    #[test]
    fn codes_are_upper_cased_and_restricted() {
        assert_eq!(
            CodeRessource::parse(" grue-01 ").unwrap().as_str(),
            "GRUE-01"
        );
        for bad in ["", "   ", "GRUE 01", "GRUE_01", "É1", &"A".repeat(21)] {
            assert_eq!(
                CodeRessource::parse(bad),
                Err(ValueError::InvalidCode),
                "{bad}"
            );
        }
        assert!(CodeRessource::parse(&"A".repeat(20)).is_ok());
    }

    #[test]
    fn colours_are_hex_triplets() {
        assert_eq!(Couleur::parse("#3b82f6").unwrap().as_str(), "#3B82F6");
        assert_eq!(Couleur::default().as_str(), Couleur::DEFAULT);
        for bad in ["3B82F6", "#3B82F", "#3B82F6A", "#GGGGGG", ""] {
            assert_eq!(
                Couleur::parse(bad),
                Err(ValueError::InvalidCouleur),
                "{bad}"
            );
        }
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(NomRessource::parse(" Grue ").unwrap().as_str(), "Grue");
        assert!(NomRessource::parse("a\nb").is_err());
        assert!(NomRessource::parse(&"é".repeat(201)).is_err());
        assert!(MotifRefus::parse("  ").is_err());
        assert!(Commentaire::parse(&"x".repeat(1000)).is_ok());
        assert!(Commentaire::parse(&"x".repeat(1001)).is_err());
    }

    #[test]
    fn photos_are_https_urls() {
        assert!(PhotoUrl::parse("https://cdn.example.com/grue.jpg").is_ok());
        for bad in [
            "http://x.fr/a.jpg",
            "javascript:alert(1)",
            "https://",
            "https://a b",
        ] {
            assert!(PhotoUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_parse_with_or_without_zero_seconds() {
        assert_eq!(Heure::parse("8:00").unwrap().to_string(), "08:00");
        assert_eq!(Heure::parse("17:30:00").unwrap().to_string(), "17:30");
        for bad in ["17:30:15", "24:00", "8h", "08:60", "", "08:0"] {
            assert!(Heure::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_slot_ends_after_it_starts() {
        assert_eq!(plage(600, 600), Err(ValueError::FinAvantDebut));
        assert_eq!(plage(600, 540), Err(ValueError::FinAvantDebut));
        assert!(plage(480, 600).is_ok());
        assert_eq!(PlageHoraire::journee().to_string(), "08:00 - 18:00");
    }

    #[test]
    fn touching_slots_do_not_overlap_and_other_dates_never_do() {
        let (a, b) = (plage(480, 600).unwrap(), plage(600, 720).unwrap());
        assert!(!a.chevauche(b) && !b.chevauche(a));
        let c = plage(599, 601).unwrap();
        assert!(a.chevauche(c) && b.chevauche(c));
        let lundi = Creneau {
            date: date!(2026 - 12 - 07),
            plage: a,
        };
        let mardi = Creneau {
            date: date!(2026 - 12 - 08),
            plage: a,
        };
        assert!(lundi.chevauche(lundi));
        assert!(!lundi.chevauche(mardi));
    }

    fn any_plage() -> impl Strategy<Value = PlageHoraire> {
        (0u16..1439, 1u16..1440).prop_filter_map("fin > debut", |(d, len)| {
            plage(d, d.saturating_add(len).min(1439)).ok()
        })
    }

    proptest! {
        /// The rule matches minute-by-minute occupation: two slots overlap
        /// exactly when some minute lies in both half-open ranges.
        #[test]
        fn overlap_means_a_shared_minute(a in any_plage(), b in any_plage()) {
            let shares_a_minute = (0u16..1440).any(|m| {
                let inside = |p: PlageHoraire| p.debut().minutes() <= m && m < p.fin().minutes();
                inside(a) && inside(b)
            });
            prop_assert_eq!(a.chevauche(b), shares_a_minute);
            prop_assert_eq!(a.chevauche(b), b.chevauche(a));
            prop_assert!(a.chevauche(a));
        }

        /// A slot ending where another starts never overlaps it.
        #[test]
        fn adjacent_slots_never_overlap(d in 0u16..1400, l1 in 1u16..20, l2 in 1u16..20) {
            let first = plage(d, d + l1).unwrap();
            let second = plage(d + l1, d + l1 + l2).unwrap();
            prop_assert!(!first.chevauche(second));
            prop_assert!(!second.chevauche(first));
        }

        /// The document can never be looser than the server: whatever
        /// the documented patterns allow parses.
        #[test]
        fn every_text_the_document_allows_parses(
            code in proptest::string::string_regex(unanchored(CodeRessource::PATTERN)).unwrap(),
            couleur in proptest::string::string_regex(unanchored(Couleur::PATTERN)).unwrap(),
            heure in proptest::string::string_regex(unanchored(Heure::PATTERN)).unwrap(),
        ) {
            prop_assert!(CodeRessource::parse(&code).is_ok(), "{code:?}");
            prop_assert!(Couleur::parse(&couleur).is_ok(), "{couleur:?}");
            prop_assert!(Heure::parse(&heure).is_ok(), "{heure:?}");
        }

        #[test]
        fn a_parsed_name_is_trimmed_and_bounded(input in "\\PC{0,250}") {
            if let Ok(nom) = NomRessource::parse(&input) {
                prop_assert_eq!(nom.as_str(), input.trim());
                prop_assert!(nom.as_str().chars().count() <= NomRessource::MAX_LEN);
            }
        }
    }
}
