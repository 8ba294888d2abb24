//! The besoin: the hours one chantier needs in one ISO week for one trade.
//!
//! Its chantier and week never change; its hours, note and trade may.
//! Deleting it is soft and final: the row stays for history, and the cell
//! (chantier, week, trade) is free for a new besoin.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::events::{BesoinChargeCreated, BesoinChargeDeleted, BesoinChargeUpdated};
use crate::{Heures, Note, Semaine, TypeMetier};
use hub_kernel::Changes;

/// Why a change to a besoin was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BesoinError {
    #[error("the besoin was deleted")]
    Deleted,
}

/// What a new besoin is made of, already valid.
#[derive(Debug, Clone, PartialEq)]
pub struct NouveauBesoin {
    pub chantier_id: Uuid,
    pub semaine: Semaine,
    pub type_metier: TypeMetier,
    pub heures: Heures,
    pub note: Option<Note>,
}

/// The fields an update may change; `None` keeps the current value
/// (`note: Some(None)` clears the note).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BesoinUpdate {
    pub heures: Option<Heures>,
    pub note: Option<Option<Note>>,
    pub type_metier: Option<TypeMetier>,
}

/// A besoin as stored, to rebuild the aggregate (the repository's job).
#[derive(Debug, Clone, PartialEq)]
pub struct Besoin {
    id: Uuid,
    chantier_id: Uuid,
    semaine: Semaine,
    type_metier: TypeMetier,
    heures: Heures,
    note: Option<Note>,
    created_by: Option<Uuid>,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    deleted_at: Option<OffsetDateTime>,
    deleted_by: Option<Uuid>,
}

/// Every field of a stored besoin (see [`Besoin::restore`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BesoinRecord {
    pub id: Uuid,
    pub chantier_id: Uuid,
    pub semaine: Semaine,
    pub type_metier: TypeMetier,
    pub heures: Heures,
    pub note: Option<Note>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
    pub deleted_by: Option<Uuid>,
}

impl Besoin {
    /// A new besoin by `created_by`, with its `besoin_charge.created`.
    pub fn create(
        nouveau: NouveauBesoin,
        created_by: Uuid,
        now: OffsetDateTime,
    ) -> (Self, BesoinChargeCreated) {
        let besoin = Self {
            id: Uuid::now_v7(),
            chantier_id: nouveau.chantier_id,
            semaine: nouveau.semaine,
            type_metier: nouveau.type_metier,
            heures: nouveau.heures,
            note: nouveau.note,
            created_by: Some(created_by),
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
        };
        let event = BesoinChargeCreated {
            besoin_id: besoin.id,
            chantier_id: besoin.chantier_id,
            semaine: besoin.semaine,
            type_metier: besoin.type_metier,
            besoin_heures: besoin.heures,
            note: besoin.note.clone(),
        };
        (besoin, event)
    }

    /// Rebuilds a stored besoin (its creator may be unknown: the original
    /// could no longer load such a row).
    pub fn restore(record: BesoinRecord) -> Self {
        Self {
            id: record.id,
            chantier_id: record.chantier_id,
            semaine: record.semaine,
            type_metier: record.type_metier,
            heures: record.heures,
            note: record.note,
            created_by: record.created_by,
            version: record.version,
            created_at: record.created_at,
            updated_at: record.updated_at,
            deleted_at: record.deleted_at,
            deleted_by: record.deleted_by,
        }
    }

    /// Applies `update`; `None` when nothing really changed (nothing to
    /// store or publish). A deleted besoin cannot change.
    pub fn update(
        &mut self,
        update: BesoinUpdate,
        now: OffsetDateTime,
    ) -> Result<Option<BesoinChargeUpdated>, BesoinError> {
        if self.is_deleted() {
            return Err(BesoinError::Deleted);
        }
        let heures = update.heures.unwrap_or(self.heures);
        let note = update.note.unwrap_or_else(|| self.note.clone());
        let type_metier = update.type_metier.unwrap_or(self.type_metier);
        let mut changes = Changes::new();
        changes.record("besoin_heures", &self.heures, &heures);
        changes.record("type_metier", &self.type_metier, &type_metier);
        changes.record("note", &self.note, &note);
        if changes.is_empty() {
            return Ok(None);
        }
        self.heures = heures;
        self.note = note;
        self.type_metier = type_metier;
        self.updated_at = now;
        self.version += 1;
        Ok(Some(BesoinChargeUpdated {
            besoin_id: self.id,
            chantier_id: self.chantier_id,
            semaine: self.semaine,
            type_metier: self.type_metier,
            besoin_heures: self.heures,
            note: self.note.clone(),
            changes,
        }))
    }

    /// Soft-deletes it, recording who did it (the original stored 0).
    pub fn delete(
        &mut self,
        deleted_by: Uuid,
        now: OffsetDateTime,
    ) -> Result<BesoinChargeDeleted, BesoinError> {
        if self.is_deleted() {
            return Err(BesoinError::Deleted);
        }
        self.deleted_at = Some(now);
        self.deleted_by = Some(deleted_by);
        self.updated_at = now;
        self.version += 1;
        Ok(BesoinChargeDeleted {
            besoin_id: self.id,
            chantier_id: self.chantier_id,
            semaine: self.semaine,
            type_metier: self.type_metier,
        })
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn chantier_id(&self) -> Uuid {
        self.chantier_id
    }
    pub fn semaine(&self) -> Semaine {
        self.semaine
    }
    pub fn type_metier(&self) -> TypeMetier {
        self.type_metier
    }
    pub fn heures(&self) -> Heures {
        self.heures
    }
    pub fn note(&self) -> Option<&Note> {
        self.note.as_ref()
    }
    pub fn created_by(&self) -> Option<Uuid> {
        self.created_by
    }
    /// Incremented by every change, for optimistic locking.
    pub fn version(&self) -> i64 {
        self.version
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }
    pub fn deleted_at(&self) -> Option<OffsetDateTime> {
        self.deleted_at
    }
    pub fn deleted_by(&self) -> Option<Uuid> {
        self.deleted_by
    }
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);
    const LATER: OffsetDateTime = datetime!(2026-12-02 09:00 UTC);
    const CONDUCTEUR: Uuid = Uuid::from_u128(7);

    fn nouveau() -> NouveauBesoin {
        NouveauBesoin {
            chantier_id: Uuid::from_u128(1),
            semaine: Semaine::parse("2026-W50").unwrap(),
            type_metier: TypeMetier::Macon,
            heures: Heures::from_decimal(70.0).unwrap(),
            note: Note::parse(Some("Voiles R+1")).unwrap(),
        }
    }

    #[test]
    fn creation_gives_the_besoin_and_its_event() {
        let (besoin, event) = Besoin::create(nouveau(), CONDUCTEUR, NOW);
        assert_eq!(besoin.version(), 1);
        assert_eq!(besoin.created_by(), Some(CONDUCTEUR));
        assert!(!besoin.is_deleted());
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "besoin_id": besoin.id(),
                "chantier_id": besoin.chantier_id(),
                "semaine": "2026-W50",
                "type_metier": "macon",
                "besoin_heures": 70.0,
                "note": "Voiles R+1",
            })
        );
    }

    #[test]
    fn an_update_publishes_only_what_changed() {
        let (mut besoin, _) = Besoin::create(nouveau(), CONDUCTEUR, NOW);
        let event = besoin
            .update(
                BesoinUpdate {
                    heures: Some(Heures::from_decimal(77.5).unwrap()),
                    note: Some(None),
                    type_metier: Some(TypeMetier::Macon),
                },
                LATER,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&event.changes).unwrap(),
            json!({
                "besoin_heures": {"old": 70.0, "new": 77.5},
                "note": {"old": "Voiles R+1", "new": null},
            })
        );
        assert_eq!(besoin.version(), 2);
        assert_eq!(besoin.updated_at(), LATER);
        assert_eq!(besoin.note(), None);
    }

    #[test]
    fn changing_the_trade_is_an_update() {
        let (mut besoin, _) = Besoin::create(nouveau(), CONDUCTEUR, NOW);
        let event = besoin
            .update(
                BesoinUpdate {
                    type_metier: Some(TypeMetier::Coffreur),
                    ..BesoinUpdate::default()
                },
                LATER,
            )
            .unwrap()
            .unwrap();
        assert_eq!(event.type_metier, TypeMetier::Coffreur);
        assert_eq!(
            serde_json::to_value(&event.changes).unwrap(),
            json!({"type_metier": {"old": "macon", "new": "coffreur"}})
        );
    }

    #[test]
    fn an_update_changing_nothing_publishes_nothing() {
        let (mut besoin, _) = Besoin::create(nouveau(), CONDUCTEUR, NOW);
        let same = BesoinUpdate {
            heures: Some(besoin.heures()),
            note: Some(besoin.note().cloned()),
            type_metier: Some(besoin.type_metier()),
        };
        assert_eq!(besoin.update(same, LATER), Ok(None));
        assert_eq!(besoin.version(), 1);
        assert_eq!(besoin.updated_at(), NOW);
    }

    #[test]
    fn deletion_is_soft_final_and_records_who() {
        let (mut besoin, _) = Besoin::create(nouveau(), CONDUCTEUR, NOW);
        let event = besoin.delete(CONDUCTEUR, LATER).unwrap();
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "besoin_id": besoin.id(),
                "chantier_id": besoin.chantier_id(),
                "semaine": "2026-W50",
                "type_metier": "macon",
            })
        );
        assert_eq!(besoin.deleted_by(), Some(CONDUCTEUR));
        assert_eq!(besoin.version(), 2);
        let before = besoin.clone();
        assert_eq!(besoin.delete(CONDUCTEUR, LATER), Err(BesoinError::Deleted));
        assert_eq!(
            besoin.update(BesoinUpdate::default(), LATER),
            Err(BesoinError::Deleted)
        );
        assert_eq!(besoin, before);
    }
}
