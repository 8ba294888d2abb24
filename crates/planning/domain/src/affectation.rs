//! The affectation aggregate: one user planned on one chantier on one day.

use hub_kernel::Changes;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::events::{
    AffectationCancelled, AffectationCreated, AffectationDeleted, AffectationSnapshot,
    AffectationUpdated,
};
use crate::values::{Heure, JoursRecurrence, Note, Plage, Raison, TypeAffectation, ValueError};

/// Whether an affectation still holds. A cancelled one stays visible with
/// its reason, and no longer blocks its user's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Statut {
    Planifiee,
    Annulee,
}

impl Statut {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planifiee => "planifiee",
            Self::Annulee => "annulee",
        }
    }
}

/// Who cancelled an affectation, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annulation {
    pub raison: Raison,
    /// `None` when the system cancelled it.
    pub par: Option<Uuid>,
    pub le: OffsetDateTime,
}

/// Why a change to an affectation was refused; the aggregate is untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AffectationError {
    #[error("the affectation is cancelled; it can only be deleted")]
    Annulee,
    #[error(transparent)]
    Value(#[from] ValueError),
}

/// What every affectation of one creation shares (all but the day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modele {
    pub utilisateur_id: Uuid,
    pub chantier_id: Uuid,
    pub plage: Plage,
    pub note: Option<Note>,
    pub type_affectation: TypeAffectation,
    /// Only for [`TypeAffectation::Recurrente`].
    pub jours_recurrence: Option<JoursRecurrence>,
}

/// A move or an edit (drag and drop): `None` leaves a field as it is; a
/// time given replaces the stored one and the pair is checked again; a
/// note of `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AffectationUpdate {
    pub date: Option<Date>,
    pub utilisateur_id: Option<Uuid>,
    pub chantier_id: Option<Uuid>,
    pub heure_debut: Option<Heure>,
    pub heure_fin: Option<Heure>,
    pub note: Option<Option<Note>>,
}

/// One user on one chantier on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affectation {
    id: Uuid,
    modele: Modele,
    date: Date,
    annulation: Option<Annulation>,
    created_by: Option<Uuid>,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

/// Every stored field, to rebuild an affectation read from storage.
#[derive(Debug, Clone)]
pub struct Restored {
    pub id: Uuid,
    pub modele: Modele,
    pub date: Date,
    pub annulation: Option<Annulation>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Affectation {
    /// A new affectation of `modele` on `date`, made by `created_by`.
    /// Its event is [`Affectation::created`] for one, or a bulk event for a
    /// series (`AffectationBulkCreated::lots`).
    pub fn plan(
        modele: &Modele,
        date: Date,
        created_by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            modele: modele.clone(),
            date,
            annulation: None,
            created_by,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// A copy of this one on `date` (duplicate, stretch): same user,
    /// chantier, times and note, made once (`unique`).
    pub fn copy_to(&self, date: Date, created_by: Option<Uuid>, now: OffsetDateTime) -> Self {
        let modele = Modele {
            type_affectation: TypeAffectation::Unique,
            jours_recurrence: None,
            ..self.modele.clone()
        };
        Self::plan(&modele, date, created_by, now)
    }

    pub fn restore(restored: Restored) -> Self {
        Self {
            id: restored.id,
            modele: restored.modele,
            date: restored.date,
            annulation: restored.annulation,
            created_by: restored.created_by,
            version: restored.version,
            created_at: restored.created_at,
            updated_at: restored.updated_at,
        }
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn utilisateur_id(&self) -> Uuid {
        self.modele.utilisateur_id
    }
    pub fn chantier_id(&self) -> Uuid {
        self.modele.chantier_id
    }
    pub fn date(&self) -> Date {
        self.date
    }
    pub fn plage(&self) -> Plage {
        self.modele.plage
    }
    pub fn note(&self) -> Option<&Note> {
        self.modele.note.as_ref()
    }
    pub fn type_affectation(&self) -> TypeAffectation {
        self.modele.type_affectation
    }
    pub fn jours_recurrence(&self) -> Option<&JoursRecurrence> {
        self.modele.jours_recurrence.as_ref()
    }
    pub fn statut(&self) -> Statut {
        if self.annulation.is_some() {
            Statut::Annulee
        } else {
            Statut::Planifiee
        }
    }
    pub fn annulation(&self) -> Option<&Annulation> {
        self.annulation.as_ref()
    }
    pub fn created_by(&self) -> Option<Uuid> {
        self.created_by
    }
    /// Incremented by every change (optimistic locking).
    pub fn version(&self) -> i64 {
        self.version
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }

    pub(crate) fn snapshot(&self) -> AffectationSnapshot {
        AffectationSnapshot {
            affectation_id: self.id,
            utilisateur_id: self.modele.utilisateur_id,
            chantier_id: self.modele.chantier_id,
            date: crate::events::Jour(self.date),
            heure_debut: self.modele.plage.debut(),
            heure_fin: self.modele.plage.fin(),
            note: self.modele.note.clone(),
            type_affectation: self.modele.type_affectation,
        }
    }

    /// `affectation.created` for this one.
    pub fn created(&self) -> AffectationCreated {
        AffectationCreated {
            affectation: self.snapshot(),
        }
    }

    /// `affectation.deleted` for this one.
    pub fn deleted(&self) -> AffectationDeleted {
        AffectationDeleted {
            affectation_id: self.id,
            utilisateur_id: self.modele.utilisateur_id,
            chantier_id: self.modele.chantier_id,
            date: crate::events::Jour(self.date),
        }
    }

    /// Applies `update`; `None` when nothing really changed (nothing to
    /// publish). A cancelled affectation cannot change.
    pub fn update(
        &mut self,
        update: AffectationUpdate,
        now: OffsetDateTime,
    ) -> Result<Option<AffectationUpdated>, AffectationError> {
        if self.annulation.is_some() {
            return Err(AffectationError::Annulee);
        }
        let old = self.snapshot();
        let plage = Plage::new(
            update.heure_debut.or(self.modele.plage.debut()),
            update.heure_fin.or(self.modele.plage.fin()),
        )?;
        let mut next = self.modele.clone();
        next.plage = plage;
        if let Some(user) = update.utilisateur_id {
            next.utilisateur_id = user;
        }
        if let Some(chantier) = update.chantier_id {
            next.chantier_id = chantier;
        }
        if let Some(note) = update.note {
            next.note = note;
        }
        let date = update.date.unwrap_or(self.date);
        let mut changes = Changes::new();
        changes.record("date", &old.date, &crate::events::Jour(date));
        changes.record("utilisateur_id", &old.utilisateur_id, &next.utilisateur_id);
        changes.record("chantier_id", &old.chantier_id, &next.chantier_id);
        changes.record("heure_debut", &old.heure_debut, &plage.debut());
        changes.record("heure_fin", &old.heure_fin, &plage.fin());
        changes.record("note", &old.note, &next.note);
        if changes.is_empty() {
            return Ok(None);
        }
        self.modele = next;
        self.date = date;
        self.version += 1;
        self.updated_at = now;
        Ok(Some(AffectationUpdated {
            affectation: self.snapshot(),
            changes,
            previous_chantier_id: (old.chantier_id != self.modele.chantier_id)
                .then_some(old.chantier_id),
        }))
    }

    /// Cancels it for `raison`; it stays, visible, with its reason.
    pub fn cancel(
        &mut self,
        raison: Raison,
        par: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<AffectationCancelled, AffectationError> {
        if self.annulation.is_some() {
            return Err(AffectationError::Annulee);
        }
        self.annulation = Some(Annulation {
            raison: raison.clone(),
            par,
            le: now,
        });
        self.version += 1;
        self.updated_at = now;
        Ok(AffectationCancelled {
            affectation_id: self.id,
            utilisateur_id: self.modele.utilisateur_id,
            chantier_id: self.modele.chantier_id,
            date: crate::events::Jour(self.date),
            cancelled_by: par,
            raison,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);

    fn modele() -> Modele {
        Modele {
            utilisateur_id: Uuid::from_u128(1),
            chantier_id: Uuid::from_u128(2),
            plage: Plage::new(Heure::parse("8:00").ok(), Heure::parse("17:00").ok()).unwrap(),
            note: Note::parse(Some("grue")).unwrap(),
            type_affectation: TypeAffectation::Unique,
            jours_recurrence: None,
        }
    }

    fn planned() -> Affectation {
        Affectation::plan(
            &modele(),
            date!(2026 - 12 - 07),
            Some(Uuid::from_u128(9)),
            NOW,
        )
    }

    #[test]
    fn a_move_records_only_what_changed() {
        let mut affectation = planned();
        let later = datetime!(2026-12-02 09:00 UTC);
        let updated = affectation
            .update(
                AffectationUpdate {
                    date: Some(date!(2026 - 12 - 08)),
                    heure_fin: Heure::parse("16:00").ok(),
                    chantier_id: Some(Uuid::from_u128(2)),
                    ..AffectationUpdate::default()
                },
                later,
            )
            .unwrap()
            .unwrap();
        let fields: Vec<&str> = updated.changes.fields().collect();
        assert_eq!(fields, ["date", "heure_fin"]);
        // The same chantier given again is no move.
        assert_eq!(updated.previous_chantier_id, None);
        assert_eq!(affectation.version(), 2);
        assert_eq!(affectation.updated_at(), later);
        assert_eq!(affectation.date(), date!(2026 - 12 - 08));
    }

    #[test]
    fn a_move_to_another_chantier_names_the_site_it_left() {
        let mut affectation = planned();
        let updated = affectation
            .update(
                AffectationUpdate {
                    chantier_id: Some(Uuid::from_u128(3)),
                    ..AffectationUpdate::default()
                },
                NOW,
            )
            .unwrap()
            .unwrap();
        assert_eq!(updated.previous_chantier_id, Some(Uuid::from_u128(2)));
        assert_eq!(updated.affectation.chantier_id, Uuid::from_u128(3));
    }

    #[test]
    fn a_no_op_publishes_nothing_and_a_bad_pair_changes_nothing() {
        let mut affectation = planned();
        assert_eq!(
            affectation.update(AffectationUpdate::default(), NOW),
            Ok(None)
        );
        let before = affectation.clone();
        assert_eq!(
            affectation.update(
                AffectationUpdate {
                    heure_debut: Heure::parse("18:00").ok(),
                    ..AffectationUpdate::default()
                },
                NOW
            ),
            Err(AffectationError::Value(ValueError::FinAvantDebut))
        );
        assert_eq!(affectation, before);
    }

    #[test]
    fn the_note_can_be_cleared() {
        let mut affectation = planned();
        let updated = affectation
            .update(
                AffectationUpdate {
                    note: Some(None),
                    ..AffectationUpdate::default()
                },
                NOW,
            )
            .unwrap()
            .unwrap();
        assert!(updated.changes.contains("note"));
        assert_eq!(affectation.note(), None);
    }

    #[test]
    fn a_cancelled_affectation_keeps_its_reason_and_cannot_change() {
        let mut affectation = planned();
        let raison = Raison::parse("intempéries").unwrap();
        let cancelled = affectation
            .cancel(raison.clone(), Some(Uuid::from_u128(9)), NOW)
            .unwrap();
        assert_eq!(cancelled.raison, raison);
        assert_eq!(affectation.statut(), Statut::Annulee);
        assert_eq!(affectation.annulation().unwrap().raison, raison);
        assert_eq!(
            affectation.cancel(raison, None, NOW),
            Err(AffectationError::Annulee)
        );
        assert_eq!(
            affectation.update(AffectationUpdate::default(), NOW),
            Err(AffectationError::Annulee)
        );
    }

    #[test]
    fn a_copy_is_unique_and_keeps_times_and_note() {
        let recurrent = Affectation::plan(
            &Modele {
                type_affectation: TypeAffectation::Recurrente,
                jours_recurrence: JoursRecurrence::new(&[0]).ok(),
                ..modele()
            },
            date!(2026 - 12 - 07),
            None,
            NOW,
        );
        let copy = recurrent.copy_to(date!(2026 - 12 - 14), Some(Uuid::from_u128(3)), NOW);
        assert_ne!(copy.id(), recurrent.id());
        assert_eq!(copy.type_affectation(), TypeAffectation::Unique);
        assert_eq!(copy.jours_recurrence(), None);
        assert_eq!(copy.plage(), recurrent.plage());
        assert_eq!(copy.note(), recurrent.note());
        assert_eq!(copy.created_by(), Some(Uuid::from_u128(3)));
    }
}
