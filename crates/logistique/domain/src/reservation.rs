//! The réservation aggregate: one ressource booked for a chantier on a
//! date and a time slot, and its statut machine.

use hub_kernel::{Actor, Changes};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::events::{
    Jour, ReservationCancelled, ReservationCreated, ReservationRefused, ReservationReminderDue,
    ReservationUpdated, ReservationValidated,
};
use crate::{
    ChantierInfo, Commentaire, Creneau, InvalidTransition, MotifRefus, PlageHoraire, Ressource,
    StatutReservation,
};

/// Rules a booking or a change of one would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReservationError {
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    #[error("Cette ressource n'est pas disponible")]
    RessourceIndisponible,
    #[error("the chantier is closed (ferme): nothing can be booked for it")]
    ChantierFerme,
    #[error("date_reservation must not be before today")]
    DatePassee,
    #[error("Seul le demandeur peut modifier sa réservation")]
    PasLeDemandeur,
    #[error("Seules les réservations en attente peuvent être modifiées")]
    PasEnAttente,
    #[error(
        "only an admin or a conducteur / chef de chantier of its chantier may decide on a réservation"
    )]
    PasValideur,
    #[error("a valideur cannot decide on their own request")]
    PropreDemande,
    #[error("Vous n'êtes pas autorisé à annuler cette réservation")]
    AnnulationInterdite,
}

/// What booking a ressource needs, all validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NouvelleReservation {
    pub ressource_id: Uuid,
    pub chantier_id: Uuid,
    pub creneau: Creneau,
    pub commentaire: Option<Commentaire>,
}

/// A partial update by the demandeur; `None` leaves a field unchanged,
/// `Some(None)` clears the commentaire. Ressource and chantier are fixed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReservationUpdate {
    pub date: Option<Date>,
    pub plage: Option<PlageHoraire>,
    pub commentaire: Option<Option<Commentaire>>,
}

/// Everything a stored réservation holds (repositories only).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReservation {
    pub id: Uuid,
    pub ressource_id: Uuid,
    pub chantier_id: Uuid,
    pub demandeur_id: Uuid,
    pub creneau: Creneau,
    pub statut: StatutReservation,
    pub commentaire: Option<Commentaire>,
    pub motif_refus: Option<MotifRefus>,
    /// Who validated or refused it; `None` for an auto-approval.
    pub valideur_id: Option<Uuid>,
    /// When it was validated or refused (auto-approval included).
    pub validated_at: Option<OffsetDateTime>,
    /// Who cancelled it; `None` when the system did (chantier closed).
    pub cancelled_by: Option<Uuid>,
    pub cancelled_at: Option<OffsetDateTime>,
    pub motif_annulation: Option<String>,
    /// Incremented by every change; repositories use it to refuse lost updates.
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A booking of one ressource for one chantier.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation(StoredReservation);

impl Reservation {
    /// Books `ressource` for `chantier`: `en_attente`, or `validee` at once
    /// (no valideur) when the ressource needs no validation. The overlap
    /// rule is the repository's to enforce (a database constraint), since
    /// only the database sees concurrent bookings.
    pub fn create(
        nouvelle: NouvelleReservation,
        ressource: &Ressource,
        chantier: &ChantierInfo,
        demandeur_id: Uuid,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<(Self, ReservationCreated), ReservationError> {
        if !ressource.est_reservable() || ressource.id() != nouvelle.ressource_id {
            return Err(ReservationError::RessourceIndisponible);
        }
        if chantier.ferme || chantier.chantier_id != nouvelle.chantier_id {
            return Err(ReservationError::ChantierFerme);
        }
        if nouvelle.creneau.date < today {
            return Err(ReservationError::DatePassee);
        }
        let auto = !ressource.validation_requise();
        let reservation = Self(StoredReservation {
            id: Uuid::now_v7(),
            ressource_id: nouvelle.ressource_id,
            chantier_id: nouvelle.chantier_id,
            demandeur_id,
            creneau: nouvelle.creneau,
            statut: if auto {
                StatutReservation::Validee
            } else {
                StatutReservation::EnAttente
            },
            commentaire: nouvelle.commentaire,
            motif_refus: None,
            valideur_id: None,
            validated_at: auto.then_some(now),
            cancelled_by: None,
            cancelled_at: None,
            motif_annulation: None,
            version: 1,
            created_at: now,
            updated_at: now,
        });
        let event = reservation.created_event();
        Ok((reservation, event))
    }

    /// Rebuilds a stored réservation (repositories only).
    pub fn restore(stored: StoredReservation) -> Self {
        Self(stored)
    }

    /// Everything it holds, for repositories and answers.
    pub fn stored(&self) -> &StoredReservation {
        &self.0
    }

    pub fn id(&self) -> Uuid {
        self.0.id
    }

    pub fn ressource_id(&self) -> Uuid {
        self.0.ressource_id
    }

    pub fn chantier_id(&self) -> Uuid {
        self.0.chantier_id
    }

    pub fn demandeur_id(&self) -> Uuid {
        self.0.demandeur_id
    }

    pub fn creneau(&self) -> Creneau {
        self.0.creneau
    }

    pub fn statut(&self) -> StatutReservation {
        self.0.statut
    }

    pub fn version(&self) -> i64 {
        self.0.version
    }

    /// Both hold the same ressource at the same time: the rule no two
    /// active bookings may break (touching slots are fine).
    pub fn chevauche(&self, other: &Reservation) -> bool {
        self.0.id != other.0.id
            && self.0.ressource_id == other.0.ressource_id
            && self.0.statut.est_active()
            && other.0.statut.est_active()
            && self.0.creneau.chevauche(other.0.creneau)
    }

    /// Whether `actor` may see it: its demandeur, or a valideur of its
    /// chantier. Others are told it does not exist.
    pub fn visible_par(&self, actor: &Actor, chantier: &ChantierInfo) -> bool {
        actor.user_id == self.0.demandeur_id || chantier.est_valideur(actor)
    }

    /// The demandeur moves or annotates a pending booking; `Ok(None)` when
    /// nothing changed. The new slot must not overlap (the repository's
    /// constraint again).
    pub fn update(
        &mut self,
        update: ReservationUpdate,
        actor_id: Uuid,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<Option<ReservationUpdated>, ReservationError> {
        if actor_id != self.0.demandeur_id {
            return Err(ReservationError::PasLeDemandeur);
        }
        if self.0.statut != StatutReservation::EnAttente {
            return Err(ReservationError::PasEnAttente);
        }
        let mut changes = Changes::new();
        let r = &mut self.0;
        if let Some(date) = update.date {
            if date != r.creneau.date && date < today {
                return Err(ReservationError::DatePassee);
            }
            changes.record("date_reservation", &Jour(r.creneau.date), &Jour(date));
            r.creneau.date = date;
        }
        if let Some(plage) = update.plage {
            changes.record("heure_debut", &r.creneau.plage.debut(), &plage.debut());
            changes.record("heure_fin", &r.creneau.plage.fin(), &plage.fin());
            r.creneau.plage = plage;
        }
        if let Some(commentaire) = update.commentaire {
            let text = |c: &Option<Commentaire>| c.as_ref().map(|c| c.to_string());
            changes.record("commentaire", &text(&r.commentaire), &text(&commentaire));
            r.commentaire = commentaire;
        }
        if changes.is_empty() {
            return Ok(None);
        }
        r.updated_at = now;
        r.version += 1;
        let created = self.created_event();
        Ok(Some(ReservationUpdated {
            reservation_id: created.reservation_id,
            ressource_id: created.ressource_id,
            chantier_id: created.chantier_id,
            date_reservation: created.date_reservation,
            heure_debut: created.heure_debut,
            heure_fin: created.heure_fin,
            demandeur_id: created.demandeur_id,
            statut: created.statut,
            changes,
        }))
    }

    /// A valideur of its chantier approves a pending booking. It already
    /// holds its slot, so no new conflict can arise.
    pub fn valider(
        &mut self,
        actor: &Actor,
        chantier: &ChantierInfo,
        now: OffsetDateTime,
    ) -> Result<ReservationValidated, ReservationError> {
        self.decide(actor, chantier, StatutReservation::Validee, now)?;
        Ok(ReservationValidated {
            reservation_id: self.0.id,
            ressource_id: self.0.ressource_id,
            chantier_id: self.0.chantier_id,
            demandeur_id: self.0.demandeur_id,
            valideur_id: actor.user_id,
        })
    }

    /// A valideur of its chantier refuses a pending booking, saying why;
    /// the slot is freed.
    pub fn refuser(
        &mut self,
        actor: &Actor,
        chantier: &ChantierInfo,
        motif: MotifRefus,
        now: OffsetDateTime,
    ) -> Result<ReservationRefused, ReservationError> {
        self.decide(actor, chantier, StatutReservation::Refusee, now)?;
        let event = ReservationRefused {
            reservation_id: self.0.id,
            ressource_id: self.0.ressource_id,
            chantier_id: self.0.chantier_id,
            demandeur_id: self.0.demandeur_id,
            valideur_id: actor.user_id,
            motif: motif.to_string(),
        };
        self.0.motif_refus = Some(motif);
        Ok(event)
    }

    fn decide(
        &mut self,
        actor: &Actor,
        chantier: &ChantierInfo,
        to: StatutReservation,
        now: OffsetDateTime,
    ) -> Result<(), ReservationError> {
        if !chantier.est_valideur(actor) {
            return Err(ReservationError::PasValideur);
        }
        if actor.user_id == self.0.demandeur_id {
            return Err(ReservationError::PropreDemande);
        }
        self.0.statut = self.0.statut.transition_to(to)?;
        self.0.valideur_id = Some(actor.user_id);
        self.0.validated_at = Some(now);
        self.0.updated_at = now;
        self.0.version += 1;
        Ok(())
    }

    /// Its demandeur or a valideur of its chantier cancels it; the slot is
    /// freed.
    pub fn annuler(
        &mut self,
        actor: &Actor,
        chantier: &ChantierInfo,
        now: OffsetDateTime,
    ) -> Result<ReservationCancelled, ReservationError> {
        if actor.user_id != self.0.demandeur_id && !chantier.est_valideur(actor) {
            return Err(ReservationError::AnnulationInterdite);
        }
        self.cancel(Some(actor.user_id), None, now)
    }

    /// The system cancels it, saying why (its chantier was closed or
    /// deleted).
    pub fn annuler_par_systeme(
        &mut self,
        motif: &str,
        now: OffsetDateTime,
    ) -> Result<ReservationCancelled, ReservationError> {
        self.cancel(None, Some(motif.to_owned()), now)
    }

    fn cancel(
        &mut self,
        by: Option<Uuid>,
        motif: Option<String>,
        now: OffsetDateTime,
    ) -> Result<ReservationCancelled, ReservationError> {
        self.0.statut = self.0.statut.transition_to(StatutReservation::Annulee)?;
        self.0.cancelled_by = by;
        self.0.cancelled_at = Some(now);
        self.0.motif_annulation = motif.clone();
        self.0.updated_at = now;
        self.0.version += 1;
        Ok(ReservationCancelled {
            reservation_id: self.0.id,
            ressource_id: self.0.ressource_id,
            chantier_id: self.0.chantier_id,
            demandeur_id: self.0.demandeur_id,
            cancelled_by: by,
            motif,
        })
    }

    /// The day-before reminder of a validated booking; `None` for any
    /// other statut (nothing to remind of).
    pub fn rappel(&self, ressource: &Ressource) -> Option<ReservationReminderDue> {
        (self.0.statut == StatutReservation::Validee).then(|| ReservationReminderDue {
            reservation_id: self.0.id,
            ressource_id: self.0.ressource_id,
            chantier_id: self.0.chantier_id,
            demandeur_id: self.0.demandeur_id,
            date_reservation: Jour(self.0.creneau.date),
            heure_debut: self.0.creneau.plage.debut(),
            heure_fin: self.0.creneau.plage.fin(),
            ressource_code: ressource.code().to_string(),
            ressource_nom: ressource.nom().to_string(),
        })
    }

    fn created_event(&self) -> ReservationCreated {
        ReservationCreated {
            reservation_id: self.0.id,
            ressource_id: self.0.ressource_id,
            chantier_id: self.0.chantier_id,
            date_reservation: Jour(self.0.creneau.date),
            heure_debut: self.0.creneau.plage.debut(),
            heure_fin: self.0.creneau.plage.fin(),
            demandeur_id: self.0.demandeur_id,
            statut: self.0.statut,
        }
    }
}

#[cfg(test)]
mod tests;
