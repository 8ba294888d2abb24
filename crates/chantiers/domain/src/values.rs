//! Value objects of a chantier: each valid by construction.

use std::fmt;

use hub_kernel::{Email, Lines, TextError, optional_text};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("is required")]
    Required,
    #[error(
        "must be 2 to 30 characters among A-Z, 0-9 and `-`, starting with a letter or digit (e.g. CH-2026-001)"
    )]
    InvalidCode,
    #[error("must be a hexadecimal colour such as #1E88E5")]
    InvalidColour,
    #[error("latitude must be between -90 and 90")]
    Latitude,
    #[error("longitude must be between -180 and 180")]
    Longitude,
    #[error("must be a number between 0 and {0}")]
    Hours(u32),
    #[error("must be one of {0}")]
    NotOneOf(&'static str),
    #[error("needs at least one of nom, telephone or email")]
    EmptyContact,
}

/// Trimmed text of 1 to `max` characters; addresses and notes may span lines.
fn bounded_text(input: &str, max: usize) -> Result<String, ValueError> {
    Ok(hub_kernel::bounded_text(input, max, Lines::Several)?)
}

/// The business reference of a site, unique, e.g. `CH-2026-001`. Stored in
/// upper case so that `ch-2026-001` is the same code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ChantierCode(String);

impl ChantierCode {
    /// What the API documents (ECMA regex): every text it matches parses.
    /// The server also trims and accepts lower case, which it upper-cases.
    pub const PATTERN: &'static str = "^[A-Za-z0-9][A-Za-z0-9-]{1,29}$";

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let code = input.trim().to_uppercase();
        if code.is_empty() {
            return Err(ValueError::Required);
        }
        let valid = (2..=30).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            && code.bytes().next().is_some_and(|b| b != b'-');
        if !valid {
            return Err(ValueError::InvalidCode);
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChantierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a site, 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct NomChantier(String);

impl NomChantier {
    pub const MAX_LEN: usize = 200;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        bounded_text(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The postal address of a site, 1 to 500 characters (may span lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Adresse(String);

impl Adresse {
    pub const MAX_LEN: usize = 500;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        bounded_text(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The colour of a site on planning boards, `#RRGGBB` (upper case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Couleur(String);

impl Couleur {
    pub const DEFAULT: &'static str = "#1E88E5";
    /// What the API documents: every text it matches parses.
    pub const PATTERN: &'static str = "^#[0-9A-Fa-f]{6}$";

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let colour = input.trim();
        let valid = colour.len() == 7
            && colour.starts_with('#')
            && colour[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(ValueError::InvalidColour);
        }
        Ok(Self(colour.to_uppercase()))
    }

    pub fn default_colour() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the site is, in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CoordonneesGps {
    latitude: f64,
    longitude: f64,
}

impl CoordonneesGps {
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, ValueError> {
        if !(-90.0..=90.0).contains(&latitude) {
            return Err(ValueError::Latitude);
        }
        if !(-180.0..=180.0).contains(&longitude) {
            return Err(ValueError::Longitude);
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }

    pub fn latitude(&self) -> f64 {
        self.latitude
    }

    pub fn longitude(&self) -> f64 {
        self.longitude
    }
}

/// Estimated work on the site, in hours (0 to 1 000 000, hundredths kept).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct HeuresEstimees(f64);

impl HeuresEstimees {
    pub const MAX: u32 = 1_000_000;

    pub fn new(hours: f64) -> Result<Self, ValueError> {
        if !hours.is_finite() || !(0.0..=f64::from(Self::MAX)).contains(&hours) {
            return Err(ValueError::Hours(Self::MAX));
        }
        Ok(Self((hours * 100.0).round() / 100.0))
    }

    pub fn hours(&self) -> f64 {
        self.0
    }
}

/// The person to call about the site (client side, site office…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Contact {
    nom: Option<String>,
    telephone: Option<String>,
    email: Option<String>,
}

impl Contact {
    /// At least one field; each bounded (nom 100, téléphone 30, email 254).
    pub fn new(
        nom: Option<&str>,
        telephone: Option<&str>,
        email: Option<&str>,
    ) -> Result<Self, ValueError> {
        let contact = Self {
            nom: optional_text(nom, 100, Lines::One)?,
            telephone: optional_text(telephone, 30, Lines::One)?,
            email: email
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(|e| Email::parse(e).map(String::from))
                .transpose()?,
        };
        if contact.nom.is_none() && contact.telephone.is_none() && contact.email.is_none() {
            return Err(ValueError::EmptyContact);
        }
        Ok(contact)
    }

    pub fn nom(&self) -> Option<&str> {
        self.nom.as_deref()
    }

    pub fn telephone(&self) -> Option<&str> {
        self.telephone.as_deref()
    }

    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
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
        fn every_code_and_colour_the_document_allows_parses(
            code in proptest::string::string_regex(unanchored(ChantierCode::PATTERN)).unwrap(),
            couleur in proptest::string::string_regex(unanchored(Couleur::PATTERN)).unwrap(),
        ) {
            prop_assert!(ChantierCode::parse(&code).is_ok(), "{code:?}");
            prop_assert!(Couleur::parse(&couleur).is_ok(), "{couleur:?}");
        }
    }

    #[test]
    fn codes_are_upper_cased_and_checked() {
        assert_eq!(
            ChantierCode::parse(" ch-2026-001 ").unwrap().as_str(),
            "CH-2026-001"
        );
        for bad in ["", "-CH", "C", "CH 2026", "CH_2026", "É-1", &"A".repeat(31)] {
            assert!(ChantierCode::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ChantierCode::parse(&"A".repeat(30)).is_ok());
    }

    #[test]
    fn names_and_addresses_are_bounded() {
        assert_eq!(
            NomChantier::parse("  Tour Alpha ").unwrap().as_str(),
            "Tour Alpha"
        );
        assert_eq!(
            NomChantier::parse(""),
            Err(ValueError::Text(TextError::Required))
        );
        assert_eq!(
            NomChantier::parse(&"é".repeat(201)),
            Err(ValueError::Text(TextError::TooLong(200)))
        );
        assert!(NomChantier::parse(&"é".repeat(200)).is_ok());
        assert!(Adresse::parse("12 rue des Lilas\n75011 Paris").is_ok());
        assert_eq!(
            Adresse::parse("a\u{0}b"),
            Err(ValueError::Text(TextError::ControlCharacters))
        );
        assert_eq!(
            Adresse::parse(&"a".repeat(501)),
            Err(ValueError::Text(TextError::TooLong(500)))
        );
    }

    #[test]
    fn colours_are_hex_rgb() {
        assert_eq!(Couleur::parse("#1e88e5").unwrap().as_str(), "#1E88E5");
        for bad in ["1E88E5", "#1E88E", "#1E88E5F", "#GGGGGG", "red"] {
            assert_eq!(Couleur::parse(bad), Err(ValueError::InvalidColour), "{bad}");
        }
    }

    #[test]
    fn gps_bounds_are_inclusive() {
        assert!(CoordonneesGps::new(90.0, 180.0).is_ok());
        assert!(CoordonneesGps::new(-90.0, -180.0).is_ok());
        assert_eq!(CoordonneesGps::new(90.0001, 0.0), Err(ValueError::Latitude));
        assert_eq!(CoordonneesGps::new(0.0, -180.5), Err(ValueError::Longitude));
        assert_eq!(
            CoordonneesGps::new(f64::NAN, 0.0),
            Err(ValueError::Latitude)
        );
    }

    #[test]
    fn hours_are_non_negative_and_finite() {
        assert_eq!(HeuresEstimees::new(12.345).unwrap().hours(), 12.35);
        assert!(HeuresEstimees::new(0.0).is_ok());
        for bad in [-0.5, f64::INFINITY, f64::NAN, 1_000_000.5] {
            assert!(HeuresEstimees::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contact_needs_one_valid_field() {
        assert!(Contact::new(Some("M. Leroy"), None, None).is_ok());
        assert_eq!(
            Contact::new(Some(" "), None, Some("")),
            Err(ValueError::EmptyContact)
        );
        assert_eq!(
            Contact::new(None, None, Some("leroy")),
            Err(ValueError::Text(TextError::InvalidEmail))
        );
        assert_eq!(
            Contact::new(None, Some(&"0".repeat(31)), None),
            Err(ValueError::Text(TextError::TooLong(30)))
        );
        let contact =
            Contact::new(None, Some(" 01 23 45 67 89 "), Some("Leroy@Client.fr")).unwrap();
        assert_eq!(contact.telephone(), Some("01 23 45 67 89"));
        assert_eq!(
            contact.email(),
            Some("leroy@client.fr"),
            "one rule for every e-mail address"
        );
    }

    proptest! {
        #[test]
        fn any_in_range_coordinates_are_accepted(lat in -90.0f64..=90.0, lon in -180.0f64..=180.0) {
            let gps = CoordonneesGps::new(lat, lon).unwrap();
            prop_assert_eq!((gps.latitude(), gps.longitude()), (lat, lon));
        }

        #[test]
        fn valid_codes_survive_a_round_trip(code in "[A-Z0-9][A-Z0-9-]{1,29}") {
            let parsed = ChantierCode::parse(&code.to_lowercase()).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
        }
    }
}
