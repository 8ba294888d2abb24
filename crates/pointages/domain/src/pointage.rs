//! The pointage aggregate: the hours one user worked on one chantier on one
//! day, and its workflow.
//!
//! | from      | operation | to        |
//! |-----------|-----------|-----------|
//! | brouillon | sign      | brouillon |
//! | brouillon | submit    | soumis    |
//! | soumis    | validate  | valide (final) |
//! | soumis    | reject    | rejete    |
//! | rejete    | correct   | brouillon |
//!
//! Every other pair is refused with [`PointageError::Transition`]. Edit and
//! delete only in brouillon or rejete (editing keeps the statut).

use std::fmt;

use hub_kernel::Changes;
use schemars::JsonSchema;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::events::{
    HeuresCreated, HeuresDeleted, HeuresRejected, HeuresSnapshot, HeuresSubmitted, HeuresUpdated,
    HeuresValidated, Jour,
};
use crate::values::{Commentaire, HeuresMinutes, Motif, SignatureTexte};

/// Where a pointage is in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Statut {
    Brouillon,
    Soumis,
    Valide,
    Rejete,
}

impl Statut {
    pub const ALL: [Self; 4] = [Self::Brouillon, Self::Soumis, Self::Valide, Self::Rejete];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Brouillon => "brouillon",
            Self::Soumis => "soumis",
            Self::Valide => "valide",
            Self::Rejete => "rejete",
        }
    }

    /// Case-insensitive; `None` for an unknown statut.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(input.trim()))
    }

    /// Hours, comment and variables may change, and the row may be deleted.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Brouillon | Self::Rejete)
    }
}

impl fmt::Display for Statut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a change was refused; the aggregate is untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointageError {
    #[error("the pointage cannot be modified (statut: {0})")]
    NonModifiable(Statut),
    #[error("the pointage cannot go from {from} by `{operation}`")]
    Transition {
        from: Statut,
        operation: &'static str,
    },
    #[error("the pointage is already signed")]
    DejaSigne,
}

/// The signature of the pointage's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub texte: SignatureTexte,
    pub le: OffsetDateTime,
}

/// Who validated or rejected the pointage, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validation {
    pub par: Uuid,
    pub le: OffsetDateTime,
}

/// What a creation gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NouveauPointage {
    pub utilisateur_id: Uuid,
    pub chantier_id: Uuid,
    pub date: Date,
    pub heures_normales: HeuresMinutes,
    pub heures_supplementaires: HeuresMinutes,
    pub commentaire: Option<Commentaire>,
    /// The planning affectation that pre-filled the row, if any.
    pub affectation_id: Option<Uuid>,
}

/// An edit: `None` leaves a field as it is; a comment of `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointageUpdate {
    pub heures_normales: Option<HeuresMinutes>,
    pub heures_supplementaires: Option<HeuresMinutes>,
    pub commentaire: Option<Option<Commentaire>>,
}

/// The hours of one user on one chantier on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointage {
    id: Uuid,
    utilisateur_id: Uuid,
    chantier_id: Uuid,
    date: Date,
    heures_normales: HeuresMinutes,
    heures_supplementaires: HeuresMinutes,
    statut: Statut,
    commentaire: Option<Commentaire>,
    signature: Option<Signature>,
    validation: Option<Validation>,
    motif_rejet: Option<Motif>,
    affectation_id: Option<Uuid>,
    created_by: Option<Uuid>,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

/// Every stored field, to rebuild a pointage read from storage.
#[derive(Debug, Clone)]
pub struct Restored {
    pub id: Uuid,
    pub utilisateur_id: Uuid,
    pub chantier_id: Uuid,
    pub date: Date,
    pub heures_normales: HeuresMinutes,
    pub heures_supplementaires: HeuresMinutes,
    pub statut: Statut,
    pub commentaire: Option<Commentaire>,
    pub signature: Option<Signature>,
    pub validation: Option<Validation>,
    pub motif_rejet: Option<Motif>,
    pub affectation_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Pointage {
    /// A new brouillon, made by `created_by` (`None`: the system, from the
    /// planning), and its `heures.created`.
    pub fn create(
        nouveau: NouveauPointage,
        created_by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> (Self, HeuresCreated) {
        let pointage = Self {
            id: Uuid::now_v7(),
            utilisateur_id: nouveau.utilisateur_id,
            chantier_id: nouveau.chantier_id,
            date: nouveau.date,
            heures_normales: nouveau.heures_normales,
            heures_supplementaires: nouveau.heures_supplementaires,
            statut: Statut::Brouillon,
            commentaire: nouveau.commentaire,
            signature: None,
            validation: None,
            motif_rejet: None,
            affectation_id: nouveau.affectation_id,
            created_by,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let event = HeuresCreated {
            heures: pointage.snapshot(),
        };
        (pointage, event)
    }

    pub fn restore(r: Restored) -> Self {
        Self {
            id: r.id,
            utilisateur_id: r.utilisateur_id,
            chantier_id: r.chantier_id,
            date: r.date,
            heures_normales: r.heures_normales,
            heures_supplementaires: r.heures_supplementaires,
            statut: r.statut,
            commentaire: r.commentaire,
            signature: r.signature,
            validation: r.validation,
            motif_rejet: r.motif_rejet,
            affectation_id: r.affectation_id,
            created_by: r.created_by,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn utilisateur_id(&self) -> Uuid {
        self.utilisateur_id
    }
    pub fn chantier_id(&self) -> Uuid {
        self.chantier_id
    }
    pub fn date(&self) -> Date {
        self.date
    }
    pub fn heures_normales(&self) -> HeuresMinutes {
        self.heures_normales
    }
    pub fn heures_supplementaires(&self) -> HeuresMinutes {
        self.heures_supplementaires
    }
    pub fn total(&self) -> HeuresMinutes {
        self.heures_normales
            .saturating_add(self.heures_supplementaires)
    }
    pub fn statut(&self) -> Statut {
        self.statut
    }
    pub fn is_editable(&self) -> bool {
        self.statut.is_editable()
    }
    pub fn commentaire(&self) -> Option<&Commentaire> {
        self.commentaire.as_ref()
    }
    pub fn signature(&self) -> Option<&Signature> {
        self.signature.as_ref()
    }
    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }
    /// Set on validation and on rejection.
    pub fn validation(&self) -> Option<Validation> {
        self.validation
    }
    pub fn motif_rejet(&self) -> Option<&Motif> {
        self.motif_rejet.as_ref()
    }
    pub fn affectation_id(&self) -> Option<Uuid> {
        self.affectation_id
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

    pub(crate) fn snapshot(&self) -> HeuresSnapshot {
        HeuresSnapshot {
            heures_id: self.id,
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            date: Jour(self.date),
            heures_normales: self.heures_normales,
            heures_supplementaires: self.heures_supplementaires,
            statut: self.statut,
        }
    }

    fn touch(&mut self, now: OffsetDateTime) {
        self.version += 1;
        self.updated_at = now;
    }

    fn refuse(&self, operation: &'static str) -> PointageError {
        PointageError::Transition {
            from: self.statut,
            operation,
        }
    }

    /// Applies `update` while editable; `None` when nothing really changed.
    pub fn update(
        &mut self,
        update: PointageUpdate,
        now: OffsetDateTime,
    ) -> Result<Option<HeuresUpdated>, PointageError> {
        if !self.is_editable() {
            return Err(PointageError::NonModifiable(self.statut));
        }
        let normales = update.heures_normales.unwrap_or(self.heures_normales);
        let sup = update
            .heures_supplementaires
            .unwrap_or(self.heures_supplementaires);
        let commentaire = update
            .commentaire
            .unwrap_or_else(|| self.commentaire.clone());
        let mut changes = Changes::new();
        changes.record("heures_normales", &self.heures_normales, &normales);
        changes.record("heures_supplementaires", &self.heures_supplementaires, &sup);
        changes.record("commentaire", &self.commentaire, &commentaire);
        if changes.is_empty() {
            return Ok(None);
        }
        self.heures_normales = normales;
        self.heures_supplementaires = sup;
        self.commentaire = commentaire;
        self.touch(now);
        Ok(Some(HeuresUpdated {
            heures: self.snapshot(),
            changes,
        }))
    }

    /// The owner signs his brouillon; published as `heures.updated` with
    /// `changes.signature_date` (never the signature itself).
    pub fn sign(
        &mut self,
        texte: SignatureTexte,
        now: OffsetDateTime,
    ) -> Result<HeuresUpdated, PointageError> {
        if self.statut != Statut::Brouillon {
            return Err(self.refuse("sign"));
        }
        if self.signature.is_some() {
            return Err(PointageError::DejaSigne);
        }
        let mut changes = Changes::new();
        changes.record("signature_date", &None::<String>, &Some(rfc3339(now)));
        self.signature = Some(Signature { texte, le: now });
        self.touch(now);
        Ok(HeuresUpdated {
            heures: self.snapshot(),
            changes,
        })
    }

    /// brouillon → soumis; a signature is not required.
    pub fn submit(&mut self, now: OffsetDateTime) -> Result<HeuresSubmitted, PointageError> {
        if self.statut != Statut::Brouillon {
            return Err(self.refuse("submit"));
        }
        self.statut = Statut::Soumis;
        self.touch(now);
        Ok(HeuresSubmitted {
            heures_id: self.id,
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            date: Jour(self.date),
        })
    }

    /// soumis → valide (final), by `par`.
    pub fn validate(
        &mut self,
        par: Uuid,
        now: OffsetDateTime,
    ) -> Result<HeuresValidated, PointageError> {
        if self.statut != Statut::Soumis {
            return Err(self.refuse("validate"));
        }
        self.statut = Statut::Valide;
        self.validation = Some(Validation { par, le: now });
        self.motif_rejet = None;
        self.touch(now);
        Ok(HeuresValidated {
            heures_id: self.id,
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            date: Jour(self.date),
            heures_normales: self.heures_normales,
            heures_supplementaires: self.heures_supplementaires,
            validated_by: par,
            validated_at: rfc3339(now),
        })
    }

    /// soumis → rejete, by `par`, for `motif` (required by its type).
    pub fn reject(
        &mut self,
        par: Uuid,
        motif: Motif,
        now: OffsetDateTime,
    ) -> Result<HeuresRejected, PointageError> {
        if self.statut != Statut::Soumis {
            return Err(self.refuse("reject"));
        }
        self.statut = Statut::Rejete;
        self.validation = Some(Validation { par, le: now });
        self.motif_rejet = Some(motif.clone());
        self.touch(now);
        Ok(HeuresRejected {
            heures_id: self.id,
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            date: Jour(self.date),
            rejected_by: par,
            motif,
        })
    }

    /// rejete → brouillon so it can be corrected and submitted again; the
    /// signature is cleared (the owner signs again).
    pub fn correct(&mut self, now: OffsetDateTime) -> Result<HeuresUpdated, PointageError> {
        if self.statut != Statut::Rejete {
            return Err(self.refuse("correct"));
        }
        let mut changes = Changes::new();
        changes.record("statut", &self.statut, &Statut::Brouillon);
        if let Some(signature) = &self.signature {
            changes.record(
                "signature_date",
                &Some(rfc3339(signature.le)),
                &None::<String>,
            );
        }
        self.statut = Statut::Brouillon;
        self.signature = None;
        self.touch(now);
        Ok(HeuresUpdated {
            heures: self.snapshot(),
            changes,
        })
    }

    /// The event of deleting it, while editable (the caller removes the row).
    pub fn delete(&self) -> Result<HeuresDeleted, PointageError> {
        if !self.is_editable() {
            return Err(PointageError::NonModifiable(self.statut));
        }
        Ok(HeuresDeleted {
            heures_id: self.id,
            utilisateur_id: self.utilisateur_id,
            chantier_id: self.chantier_id,
            date: Jour(self.date),
        })
    }
}

/// RFC 3339 UTC, the catalog's form of an instant.
fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-12-07 18:00 UTC);
    const CHEF: Uuid = Uuid::from_u128(9);

    fn h(text: &str) -> HeuresMinutes {
        HeuresMinutes::parse(text).unwrap()
    }

    fn brouillon() -> Pointage {
        Pointage::create(
            NouveauPointage {
                utilisateur_id: Uuid::from_u128(1),
                chantier_id: Uuid::from_u128(2),
                date: date!(2026 - 12 - 07),
                heures_normales: h("7:30"),
                heures_supplementaires: HeuresMinutes::ZERO,
                commentaire: None,
                affectation_id: None,
            },
            Some(Uuid::from_u128(1)),
            NOW,
        )
        .0
    }

    fn in_statut(statut: Statut) -> Pointage {
        let mut p = brouillon();
        match statut {
            Statut::Brouillon => {}
            Statut::Soumis => {
                p.submit(NOW).unwrap();
            }
            Statut::Valide => {
                p.submit(NOW).unwrap();
                p.validate(CHEF, NOW).unwrap();
            }
            Statut::Rejete => {
                p.submit(NOW).unwrap();
                p.reject(CHEF, Motif::parse("trop").unwrap(), NOW).unwrap();
            }
        }
        assert_eq!(p.statut(), statut);
        p
    }

    /// Applies one operation; `Some(new statut)` when allowed.
    fn apply(p: &mut Pointage, operation: &str) -> Option<Statut> {
        let ok = match operation {
            "submit" => p.submit(NOW).is_ok(),
            "validate" => p.validate(CHEF, NOW).is_ok(),
            "reject" => p.reject(CHEF, Motif::parse("non").unwrap(), NOW).is_ok(),
            "correct" => p.correct(NOW).is_ok(),
            "sign" => p.sign(SignatureTexte::parse("sig").unwrap(), NOW).is_ok(),
            "update" => p
                .update(
                    PointageUpdate {
                        heures_normales: Some(h("6:00")),
                        ..PointageUpdate::default()
                    },
                    NOW,
                )
                .is_ok(),
            "delete" => p.delete().is_ok(),
            _ => unreachable!(),
        };
        ok.then_some(p.statut())
    }

    #[test]
    fn every_statut_and_operation_pair_is_decided() {
        use Statut::*;
        let expected: [(Statut, &str, Option<Statut>); 28] = [
            (Brouillon, "submit", Some(Soumis)),
            (Brouillon, "validate", None),
            (Brouillon, "reject", None),
            (Brouillon, "correct", None),
            (Brouillon, "sign", Some(Brouillon)),
            (Brouillon, "update", Some(Brouillon)),
            (Brouillon, "delete", Some(Brouillon)),
            (Soumis, "submit", None),
            (Soumis, "validate", Some(Valide)),
            (Soumis, "reject", Some(Rejete)),
            (Soumis, "correct", None),
            (Soumis, "sign", None),
            (Soumis, "update", None),
            (Soumis, "delete", None),
            (Valide, "submit", None),
            (Valide, "validate", None),
            (Valide, "reject", None),
            (Valide, "correct", None),
            (Valide, "sign", None),
            (Valide, "update", None),
            (Valide, "delete", None),
            (Rejete, "submit", None),
            (Rejete, "validate", None),
            (Rejete, "reject", None),
            (Rejete, "correct", Some(Brouillon)),
            (Rejete, "sign", None),
            (Rejete, "update", Some(Rejete)),
            (Rejete, "delete", Some(Rejete)),
        ];
        for (from, operation, to) in expected {
            let mut p = in_statut(from);
            let before = p.clone();
            assert_eq!(apply(&mut p, operation), to, "{from} {operation}");
            if to.is_none() {
                assert_eq!(p, before, "a refused {operation} changes nothing");
            }
        }
    }

    #[test]
    fn a_rejected_pointage_can_be_corrected_and_submitted_again() {
        let mut p = in_statut(Statut::Rejete);
        assert_eq!(p.motif_rejet().unwrap().as_str(), "trop");
        assert_eq!(p.validation().unwrap().par, CHEF);
        let corrected = p.correct(NOW).unwrap();
        assert!(corrected.changes.contains("statut"));
        p.submit(NOW).unwrap();
        let validated = p.validate(CHEF, NOW).unwrap();
        assert_eq!(p.motif_rejet(), None);
        assert_eq!(validated.heures_normales.minutes(), 450);
        assert_eq!(validated.validated_at, "2026-12-07T18:00:00Z");
    }

    #[test]
    fn signing_is_once_and_correcting_clears_it() {
        let mut p = brouillon();
        let signed = p.sign(SignatureTexte::parse("sig").unwrap(), NOW).unwrap();
        assert!(signed.changes.contains("signature_date"));
        assert!(p.is_signed());
        assert_eq!(
            p.sign(SignatureTexte::parse("sig").unwrap(), NOW),
            Err(PointageError::DejaSigne)
        );
        p.submit(NOW).unwrap();
        p.reject(CHEF, Motif::parse("non").unwrap(), NOW).unwrap();
        let corrected = p.correct(NOW).unwrap();
        assert!(corrected.changes.contains("signature_date"));
        assert!(!p.is_signed());
    }

    #[test]
    fn an_edit_records_only_what_changed_and_a_no_op_publishes_nothing() {
        let mut p = brouillon();
        assert_eq!(p.update(PointageUpdate::default(), NOW), Ok(None));
        let updated = p
            .update(
                PointageUpdate {
                    heures_normales: Some(h("7:30")),
                    heures_supplementaires: Some(h("1:15")),
                    commentaire: Some(Commentaire::parse(Some("béton")).unwrap()),
                },
                NOW,
            )
            .unwrap()
            .unwrap();
        let fields: Vec<&str> = updated.changes.fields().collect();
        assert_eq!(fields, ["commentaire", "heures_supplementaires"]);
        assert_eq!(p.total().to_string(), "08:45");
        assert_eq!(p.version(), 2);
        assert_eq!(
            in_statut(Statut::Valide).update(PointageUpdate::default(), NOW),
            Err(PointageError::NonModifiable(Statut::Valide))
        );
    }

    #[test]
    fn statut_parses_case_insensitively() {
        assert_eq!(Statut::parse("VALIDE"), Some(Statut::Valide));
        assert_eq!(Statut::parse("fini"), None);
        assert!(Statut::Rejete.is_editable() && !Statut::Soumis.is_editable());
    }
}
