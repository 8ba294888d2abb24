//! Value objects of the identity domain: valid by construction.

use std::fmt;
use std::str::FromStr;

use hub_kernel::{Lines, TextError, bounded_text, optional_text};
use serde::{Deserialize, Serialize};

/// The sign-in address of a user: the kernel's [`hub_kernel::Email`]
/// (trimmed and lower-cased, so two spellings of one address are the same
/// user). Re-exported so that identity code names one type.
pub use hub_kernel::Email;

/// A nom or prénom: trimmed, 1 to 100 characters, on one line, printable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded_text(input, Self::MAX_LEN, Lines::One).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's trade as the company names it ("Maçon", "Chef d'équipe
/// coffreur"…): free text, trimmed, 1 to 100 characters, on one line. Other
/// contexts interpret it (the planning de charge maps it onto its trades);
/// identity only keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Metier(String);

impl Metier {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded_text(input, Self::MAX_LEN, Lines::One).map(Self)
    }

    /// A blank text means "no trade" (how a form clears the field).
    pub fn parse_optional(input: &str) -> Result<Option<Self>, TextError> {
        optional_text(Some(input), Self::MAX_LEN, Lines::One).map(|text| text.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The employment relation of a user with the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeUtilisateur {
    Employe,
    Interimaire,
    SousTraitant,
}

impl TypeUtilisateur {
    pub fn as_str(self) -> &'static str {
        match self {
            TypeUtilisateur::Employe => "employe",
            TypeUtilisateur::Interimaire => "interimaire",
            TypeUtilisateur::SousTraitant => "sous_traitant",
        }
    }
}

/// A text that names no [`TypeUtilisateur`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of employe, interimaire, sous_traitant")]
pub struct UnknownTypeUtilisateur;

impl FromStr for TypeUtilisateur {
    type Err = UnknownTypeUtilisateur;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "employe" => Ok(Self::Employe),
            "interimaire" => Ok(Self::Interimaire),
            "sous_traitant" => Ok(Self::SousTraitant),
            _ => Err(UnknownTypeUtilisateur),
        }
    }
}

/// A password as typed, before hashing. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainPassword(String);

impl PlainPassword {
    pub const MIN_LEN: usize = 12;
    /// Long passphrases are welcome; the bound keeps hashing cost bounded.
    pub const MAX_LEN: usize = 256;

    /// Taken as typed (no trimming: spaces may be part of a passphrase).
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let length = input.chars().count();
        if length < Self::MIN_LEN {
            return Err(TextError::TooShort(Self::MIN_LEN));
        }
        if length > Self::MAX_LEN {
            return Err(TextError::TooLong(Self::MAX_LEN));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainPassword(***)")
    }
}

/// A password hash in PHC string format (argon2id). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Jean.Dupont@Example.FR ").unwrap().as_str(),
            "jean.dupont@example.fr"
        );
        for bad in [
            "",
            "   ",
            "jean",
            "jean@",
            "@example.fr",
            "jean@example",
            "jean@.fr",
            "jean@example.",
            "je an@example.fr",
            "a@b@c.fr",
            "jean@exa..mple.fr",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.fr", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(TextError::TooLong(254)));
    }

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(PersonName::parse("  Élodie ").unwrap().as_str(), "Élodie");
        assert_eq!(PersonName::parse(" "), Err(TextError::Required));
        assert_eq!(
            PersonName::parse(&"é".repeat(101)),
            Err(TextError::TooLong(100))
        );
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            PersonName::parse("a\u{7}b"),
            Err(TextError::ControlCharacters)
        );
    }

    #[test]
    fn passwords_need_twelve_characters_and_are_never_printed() {
        assert_eq!(
            PlainPassword::parse("elevenchars"),
            Err(TextError::TooShort(12))
        );
        let password = PlainPassword::parse("douze-carac!").unwrap();
        assert_eq!(format!("{password:?}"), "PlainPassword(***)");
        assert!(PlainPassword::parse(&"x".repeat(257)).is_err());
        let hash = PasswordHash::from_phc("$argon2id$secret".into());
        assert!(!format!("{hash:?}").contains("argon2"));
    }

    #[test]
    fn type_utilisateur_round_trips() {
        for t in [
            TypeUtilisateur::Employe,
            TypeUtilisateur::Interimaire,
            TypeUtilisateur::SousTraitant,
        ] {
            assert_eq!(t.as_str().parse::<TypeUtilisateur>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!("stagiaire".parse::<TypeUtilisateur>().is_err());
    }
}
