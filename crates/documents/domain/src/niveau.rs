//! The two ladders of rights: the minimum role a dossier or document asks
//! for ([`NiveauAcces`]) and the named rights an autorisation grants
//! ([`TypeAutorisation`]), both folded into what a user may do ([`Droit`]).

use std::fmt;
use std::str::FromStr;

use hub_kernel::Role;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The minimum role needed to see a dossier or a document.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NiveauAcces {
    Compagnon,
    ChefChantier,
    Conducteur,
    Admin,
}

/// A text that is not one of the four levels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown access level `{0}` (expected compagnon, chef_chantier, conducteur or admin)")]
pub struct UnknownNiveauAcces(pub String);

impl NiveauAcces {
    pub const ALL: [NiveauAcces; 4] = [
        NiveauAcces::Compagnon,
        NiveauAcces::ChefChantier,
        NiveauAcces::Conducteur,
        NiveauAcces::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NiveauAcces::Compagnon => "compagnon",
            NiveauAcces::ChefChantier => "chef_chantier",
            NiveauAcces::Conducteur => "conducteur",
            NiveauAcces::Admin => "admin",
        }
    }

    /// 1 (compagnon) to 4 (admin), as the spec ranks them.
    pub fn rank(self) -> u8 {
        match self {
            NiveauAcces::Compagnon => 1,
            NiveauAcces::ChefChantier => 2,
            NiveauAcces::Conducteur => 3,
            NiveauAcces::Admin => 4,
        }
    }

    /// A role's own rank on the same scale.
    pub fn rank_of(role: Role) -> u8 {
        match role {
            Role::Admin => 4,
            Role::Conducteur => 3,
            Role::ChefChantier => 2,
            Role::Compagnon => 1,
        }
    }

    /// Whether `role` reaches this level (its rank is at least the level's).
    pub fn reached_by(self, role: Role) -> bool {
        Self::rank_of(role) >= self.rank()
    }
}

impl fmt::Display for NiveauAcces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NiveauAcces {
    type Err = UnknownNiveauAcces;

    /// Case is ignored, as in the original; anything else is an error
    /// (the original answered 500).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|niveau| niveau.as_str() == wanted)
            .ok_or_else(|| UnknownNiveauAcces(s.to_owned()))
    }
}

/// What a named autorisation grants; levels nest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TypeAutorisation {
    /// See and download.
    Lecture,
    /// Also upload, rename, move, describe.
    Ecriture,
    /// Everything, including delete and grant.
    Admin,
}

/// A text that is not one of the three autorisation types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown autorisation type `{0}` (expected lecture, ecriture or admin)")]
pub struct UnknownTypeAutorisation(pub String);

impl TypeAutorisation {
    pub const ALL: [TypeAutorisation; 3] = [
        TypeAutorisation::Lecture,
        TypeAutorisation::Ecriture,
        TypeAutorisation::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TypeAutorisation::Lecture => "lecture",
            TypeAutorisation::Ecriture => "ecriture",
            TypeAutorisation::Admin => "admin",
        }
    }

    /// The right it gives on its target.
    pub fn droit(self) -> Droit {
        match self {
            TypeAutorisation::Lecture => Droit::Lecture,
            TypeAutorisation::Ecriture => Droit::Ecriture,
            TypeAutorisation::Admin => Droit::Admin,
        }
    }
}

impl fmt::Display for TypeAutorisation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TypeAutorisation {
    type Err = UnknownTypeAutorisation;

    /// Case-sensitive, as in the original.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownTypeAutorisation(s.to_owned()))
    }
}

/// What a user may do with one dossier or document, all rules combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Droit {
    /// Not even its existence is revealed (answered as "not found").
    Aucun,
    /// See it, list it, download it.
    Lecture,
    /// Also upload into it, rename, move, describe, change its level.
    Ecriture,
    /// Also delete it and manage its autorisations.
    Admin,
}

impl Droit {
    pub fn peut_lire(self) -> bool {
        self >= Droit::Lecture
    }

    pub fn peut_ecrire(self) -> bool {
        self >= Droit::Ecriture
    }

    pub fn peut_administrer(self) -> bool {
        self >= Droit::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_reaches_the_levels_at_or_below_its_rank() {
        use NiveauAcces::*;
        let reached = |role| {
            NiveauAcces::ALL
                .into_iter()
                .filter(|niveau| niveau.reached_by(role))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            reached(Role::Admin),
            [Compagnon, ChefChantier, Conducteur, Admin]
        );
        assert_eq!(
            reached(Role::Conducteur),
            [Compagnon, ChefChantier, Conducteur]
        );
        assert_eq!(reached(Role::ChefChantier), [Compagnon, ChefChantier]);
        assert_eq!(reached(Role::Compagnon), [Compagnon]);
    }

    #[test]
    fn levels_parse_ignoring_case_and_refuse_anything_else() {
        assert_eq!("Chef_Chantier".parse(), Ok(NiveauAcces::ChefChantier));
        assert_eq!(" ADMIN ".parse(), Ok(NiveauAcces::Admin));
        for niveau in NiveauAcces::ALL {
            assert_eq!(niveau.as_str().parse(), Ok(niveau));
        }
        assert!("chef".parse::<NiveauAcces>().is_err());
        assert!("".parse::<NiveauAcces>().is_err());
    }

    #[test]
    fn autorisation_types_are_case_sensitive_and_nest() {
        assert_eq!("ecriture".parse(), Ok(TypeAutorisation::Ecriture));
        assert!("Lecture".parse::<TypeAutorisation>().is_err());
        assert!(TypeAutorisation::Lecture.droit() < TypeAutorisation::Ecriture.droit());
        assert!(TypeAutorisation::Ecriture.droit() < TypeAutorisation::Admin.droit());
        assert!(Droit::Admin.peut_ecrire() && Droit::Admin.peut_lire());
        assert!(!Droit::Lecture.peut_ecrire() && !Droit::Aucun.peut_lire());
    }
}
