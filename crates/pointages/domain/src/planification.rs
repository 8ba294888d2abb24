//! How the planning pre-fills time sheets (FDH-10): what a planned day
//! becomes as a brouillon pointage, and which drafts an affectation's
//! removal takes away. The planning's events are read by the adapter into
//! [`JourPlanifie`], this context's own view of them (no dependency on the
//! planning's crates).

use time::Date;
use uuid::Uuid;

use crate::pointage::{NouveauPointage, Pointage, Statut};
use crate::values::HeuresMinutes;

/// The hours of a planned day without times (the original's default).
pub const HEURES_PAR_DEFAUT: HeuresMinutes = HeuresMinutes::from_hours(8);

/// One planned day of one user on one chantier, as the planning announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourPlanifie {
    pub affectation_id: Uuid,
    pub utilisateur_id: Uuid,
    pub chantier_id: Uuid,
    pub date: Date,
    /// `HH:MM`, when planned with times.
    pub heure_debut: Option<String>,
    pub heure_fin: Option<String>,
}

impl JourPlanifie {
    /// `heure_fin − heure_debut` when both are given and in order, else
    /// [`HEURES_PAR_DEFAUT`].
    pub fn heures_prevues(&self) -> HeuresMinutes {
        let minutes = |time: &Option<String>| -> Option<i64> {
            let (h, m) = time.as_deref()?.trim().split_once(':')?;
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
        };
        match (minutes(&self.heure_debut), minutes(&self.heure_fin)) {
            (Some(debut), Some(fin)) if fin > debut => {
                HeuresMinutes::from_minutes(fin - debut).unwrap_or(HEURES_PAR_DEFAUT)
            }
            _ => HEURES_PAR_DEFAUT,
        }
    }

    /// The brouillon this day pre-fills: planned hours as normal hours, no
    /// overtime, linked to the affectation.
    pub fn nouveau_pointage(&self) -> NouveauPointage {
        NouveauPointage {
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            date: self.date,
            heures_normales: self.heures_prevues(),
            heures_supplementaires: HeuresMinutes::ZERO,
            commentaire: None,
            affectation_id: Some(self.affectation_id),
        }
    }
}

/// Whether removing the affectation takes its pointage away: only a draft
/// nobody has signed (once signed or submitted, the hours are the user's
/// statement and stay).
pub fn retire_avec_affectation(pointage: &Pointage) -> bool {
    pointage.statut() == Statut::Brouillon && !pointage.is_signed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn jour(debut: Option<&str>, fin: Option<&str>) -> JourPlanifie {
        JourPlanifie {
            affectation_id: Uuid::from_u128(1),
            utilisateur_id: Uuid::from_u128(2),
            chantier_id: Uuid::from_u128(3),
            date: date!(2026 - 12 - 07),
            heure_debut: debut.map(str::to_owned),
            heure_fin: fin.map(str::to_owned),
        }
    }

    #[test]
    fn planned_hours_are_the_span_of_the_times_else_eight() {
        assert_eq!(
            jour(Some("07:30"), Some("16:30"))
                .heures_prevues()
                .to_string(),
            "09:00"
        );
        assert_eq!(
            jour(Some("7:00"), Some("12:15")).heures_prevues().minutes(),
            315
        );
        assert_eq!(
            jour(None, Some("16:30")).heures_prevues(),
            HEURES_PAR_DEFAUT
        );
        assert_eq!(
            jour(Some("16:30"), Some("07:30")).heures_prevues(),
            HEURES_PAR_DEFAUT
        );
        assert_eq!(
            jour(Some("x"), Some("16:30")).heures_prevues(),
            HEURES_PAR_DEFAUT
        );
        assert_eq!(HEURES_PAR_DEFAUT.to_string(), "08:00");
        let nouveau = jour(None, None).nouveau_pointage();
        assert_eq!(nouveau.affectation_id, Some(Uuid::from_u128(1)));
        assert_eq!(nouveau.heures_supplementaires, HeuresMinutes::ZERO);
    }

    #[test]
    fn only_an_unsigned_draft_goes_with_its_affectation() {
        let now = datetime!(2026-12-07 08:00 UTC);
        let (mut p, _) = Pointage::create(jour(None, None).nouveau_pointage(), None, now);
        assert!(retire_avec_affectation(&p));
        let mut signed = p.clone();
        signed
            .sign(crate::SignatureTexte::parse("sig").unwrap(), now)
            .unwrap();
        assert!(!retire_avec_affectation(&signed));
        p.submit(now).unwrap();
        assert!(!retire_avec_affectation(&p));
    }
}
