//! The categories of ressources and whether their bookings need approval
//! by default.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ValueError;

/// What kind of equipment a ressource is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CategorieRessource {
    /// Cranes, lifts: bookings need approval.
    EnginLevage,
    /// Excavators, loaders: bookings need approval.
    EnginTerrassement,
    /// Vans, trucks: booked freely.
    Vehicule,
    /// Heavy tools: booked freely.
    GrosOutillage,
    /// Other equipment: bookings need approval.
    Equipement,
}

impl CategorieRessource {
    pub const ALL: [CategorieRessource; 5] = [
        CategorieRessource::EnginLevage,
        CategorieRessource::EnginTerrassement,
        CategorieRessource::Vehicule,
        CategorieRessource::GrosOutillage,
        CategorieRessource::Equipement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnginLevage => "engin_levage",
            Self::EnginTerrassement => "engin_terrassement",
            Self::Vehicule => "vehicule",
            Self::GrosOutillage => "gros_outillage",
            Self::Equipement => "equipement",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::EnginLevage => "Engin de levage",
            Self::EnginTerrassement => "Engin de terrassement",
            Self::Vehicule => "Véhicule",
            Self::GrosOutillage => "Gros outillage",
            Self::Equipement => "Équipement",
        }
    }

    /// Whether a new ressource of this category needs bookings approved
    /// when its creator does not say.
    pub fn validation_requise_par_defaut(self) -> bool {
        matches!(
            self,
            Self::EnginLevage | Self::EnginTerrassement | Self::Equipement
        )
    }
}

impl fmt::Display for CategorieRessource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CategorieRessource {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or(ValueError::NotOneOf(
                "engin_levage, engin_terrassement, vehicule, gros_outillage, equipement",
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let needs: Vec<_> = CategorieRessource::ALL
            .into_iter()
            .filter(|c| c.validation_requise_par_defaut())
            .collect();
        assert_eq!(
            needs,
            [
                CategorieRessource::EnginLevage,
                CategorieRessource::EnginTerrassement,
                CategorieRessource::Equipement
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for c in CategorieRessource::ALL {
            assert_eq!(c.as_str().parse::<CategorieRessource>().unwrap(), c);
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert!("grue".parse::<CategorieRessource>().is_err());
        assert_eq!(CategorieRessource::Vehicule.label(), "Véhicule");
    }
}
