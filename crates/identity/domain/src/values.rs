//! Value objects of the identity domain: valid by construction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("is required")]
    Required,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must be at least {0} characters")]
    TooShort(usize),
    #[error("is not a valid email address")]
    InvalidEmail,
    #[error("must not contain control characters")]
    ControlCharacters,
    #[error("must be one of {0}")]
    NotOneOf(&'static str),
}

/// An email address, trimmed and lower-cased: two spellings of one address
/// are the same user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err(ValueError::Required);
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(ValueError::TooLong(Self::MAX_LEN));
        }
        let (local, domain) = email.split_once('@').ok_or(ValueError::InvalidEmail)?;
        let plausible = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err(ValueError::InvalidEmail);
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

/// A nom or prénom: trimmed, 1 to 100 characters, printable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(ValueError::Required);
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(ValueError::TooLong(Self::MAX_LEN));
        }
        if name.chars().any(char::is_control) {
            return Err(ValueError::ControlCharacters);
        }
        Ok(Self(name.to_owned()))
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

impl FromStr for TypeUtilisateur {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "employe" => Ok(Self::Employe),
            "interimaire" => Ok(Self::Interimaire),
            "sous_traitant" => Ok(Self::SousTraitant),
            _ => Err(ValueError::NotOneOf("employe, interimaire, sous_traitant")),
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

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let length = input.chars().count();
        if length < Self::MIN_LEN {
            return Err(ValueError::TooShort(Self::MIN_LEN));
        }
        if length > Self::MAX_LEN {
            return Err(ValueError::TooLong(Self::MAX_LEN));
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
        assert_eq!(Email::parse(&long), Err(ValueError::TooLong(254)));
    }

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(PersonName::parse("  Élodie ").unwrap().as_str(), "Élodie");
        assert_eq!(PersonName::parse(" "), Err(ValueError::Required));
        assert_eq!(
            PersonName::parse(&"é".repeat(101)),
            Err(ValueError::TooLong(100))
        );
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            PersonName::parse("a\u{7}b"),
            Err(ValueError::ControlCharacters)
        );
    }

    #[test]
    fn passwords_need_twelve_characters_and_are_never_printed() {
        assert_eq!(
            PlainPassword::parse("elevenchars"),
            Err(ValueError::TooShort(12))
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
