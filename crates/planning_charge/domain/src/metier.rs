//! The trades a besoin is expressed in, in display order.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

/// An unknown trade.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be one of employe, sous_traitant, charpentier, couvreur, electricien, macon, coffreur, ferrailleur, grutier"
)]
pub struct MetierError;

/// The type de métier of a besoin; the order of [`TypeMetier::ALL`] is the
/// display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeMetier {
    Employe,
    SousTraitant,
    Charpentier,
    Couvreur,
    Electricien,
    Macon,
    Coffreur,
    Ferrailleur,
    Grutier,
}

impl TypeMetier {
    pub const ALL: [TypeMetier; 9] = [
        Self::Employe,
        Self::SousTraitant,
        Self::Charpentier,
        Self::Couvreur,
        Self::Electricien,
        Self::Macon,
        Self::Coffreur,
        Self::Ferrailleur,
        Self::Grutier,
    ];

    /// The stored and wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employe => "employe",
            Self::SousTraitant => "sous_traitant",
            Self::Charpentier => "charpentier",
            Self::Couvreur => "couvreur",
            Self::Electricien => "electricien",
            Self::Macon => "macon",
            Self::Coffreur => "coffreur",
            Self::Ferrailleur => "ferrailleur",
            Self::Grutier => "grutier",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Employe => "Employe",
            Self::SousTraitant => "Sous-traitant",
            Self::Charpentier => "Charpentier",
            Self::Couvreur => "Couvreur",
            Self::Electricien => "Electricien",
            Self::Macon => "Macon",
            Self::Coffreur => "Coffreur",
            Self::Ferrailleur => "Ferrailleur",
            Self::Grutier => "Grutier",
        }
    }

    pub fn couleur(self) -> &'static str {
        match self {
            Self::Employe => "#2C3E50",
            Self::SousTraitant => "#E74C3C",
            Self::Charpentier => "#27AE60",
            Self::Couvreur => "#E67E22",
            Self::Electricien => "#EC407A",
            Self::Macon => "#795548",
            Self::Coffreur => "#F1C40F",
            Self::Ferrailleur => "#607D8B",
            Self::Grutier => "#1ABC9C",
        }
    }

    /// Parses a trade as the original did: lower-cased, `-` and spaces
    /// become `_` (`Sous-traitant` → `sous_traitant`).
    pub fn parse(input: &str) -> Result<Self, MetierError> {
        let normalised: String = input
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Self::ALL
            .into_iter()
            .find(|metier| metier.as_str() == normalised)
            .ok_or(MetierError)
    }
}

/// The words that make a user's free-text métier one of the trades, tried
/// in this order (the spec's): the first whose word occurs in the métier,
/// lower-cased, wins.
const MOTS_DES_METIERS: [(&str, TypeMetier); 11] = [
    ("macon", TypeMetier::Macon),
    ("maçon", TypeMetier::Macon),
    ("coffreur", TypeMetier::Coffreur),
    ("ferrailleur", TypeMetier::Ferrailleur),
    ("grutier", TypeMetier::Grutier),
    ("charpentier", TypeMetier::Charpentier),
    ("couvreur", TypeMetier::Couvreur),
    ("electricien", TypeMetier::Electricien),
    ("électricien", TypeMetier::Electricien),
    ("sous-traitant", TypeMetier::SousTraitant),
    ("sous traitant", TypeMetier::SousTraitant),
];

impl TypeMetier {
    /// The trade of a person from their métier as identity keeps it (free
    /// text such as "Maçon coffreur" or "Électricienne"): the first of the
    /// spec's words found in it, `prestataire` counting as sous-traitant;
    /// no métier, or none of the words, is `employe`. Planned hours and
    /// capacity use this one mapping (the original mapped them differently,
    /// so sub-contractors' planned hours fell under `employe`).
    pub fn du_metier(metier: Option<&str>) -> Self {
        let Some(metier) = metier.map(str::to_lowercase) else {
            return Self::Employe;
        };
        MOTS_DES_METIERS
            .into_iter()
            .find(|(mot, _)| metier.contains(mot))
            .map(|(_, trade)| trade)
            .or_else(|| metier.contains("prestataire").then_some(Self::SousTraitant))
            .unwrap_or(Self::Employe)
    }
}

impl fmt::Display for TypeMetier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trade_round_trips_and_serialises_as_stored() {
        for metier in TypeMetier::ALL {
            assert_eq!(TypeMetier::parse(metier.as_str()), Ok(metier));
            assert_eq!(
                serde_json::to_value(metier).unwrap(),
                serde_json::json!(metier.as_str())
            );
            assert!(metier.couleur().starts_with('#') && metier.couleur().len() == 7);
        }
    }

    #[test]
    fn input_is_normalised_like_the_original() {
        assert_eq!(
            TypeMetier::parse("Sous-traitant"),
            Ok(TypeMetier::SousTraitant)
        );
        assert_eq!(
            TypeMetier::parse("sous traitant"),
            Ok(TypeMetier::SousTraitant)
        );
        assert_eq!(TypeMetier::parse(" MACON "), Ok(TypeMetier::Macon));
        assert_eq!(TypeMetier::parse("maçon"), Err(MetierError));
        assert_eq!(TypeMetier::parse("plombier"), Err(MetierError));
        assert_eq!(TypeMetier::parse(""), Err(MetierError));
    }

    #[test]
    fn a_users_metier_maps_to_the_first_trade_word_it_contains() {
        let cases = [
            (Some("Maçon"), TypeMetier::Macon),
            (Some("MAÇON coffreur"), TypeMetier::Macon),
            (Some("Chef d'équipe coffreur"), TypeMetier::Coffreur),
            (Some("ferrailleur"), TypeMetier::Ferrailleur),
            (Some("Grutier à tour"), TypeMetier::Grutier),
            (Some("Charpentier couvreur"), TypeMetier::Charpentier),
            (Some("Couvreur-zingueur"), TypeMetier::Couvreur),
            (Some("Électricienne"), TypeMetier::Electricien),
            (Some("electricien"), TypeMetier::Electricien),
            (Some("Sous-traitant gros oeuvre"), TypeMetier::SousTraitant),
            (Some("sous traitant"), TypeMetier::SousTraitant),
            (Some("Prestataire"), TypeMetier::SousTraitant),
            (Some("Maçon prestataire"), TypeMetier::Macon),
            (Some("Plombier"), TypeMetier::Employe),
            (Some(""), TypeMetier::Employe),
            (None, TypeMetier::Employe),
        ];
        for (metier, expected) in cases {
            assert_eq!(TypeMetier::du_metier(metier), expected, "{metier:?}");
        }
    }

    #[test]
    fn display_order_is_the_specs() {
        let mut sorted = TypeMetier::ALL;
        sorted.sort();
        assert_eq!(sorted, TypeMetier::ALL);
        assert_eq!(TypeMetier::ALL[0], TypeMetier::Employe);
        assert_eq!(TypeMetier::ALL[8], TypeMetier::Grutier);
    }
}
