//! The signalement aggregate.

use hub_kernel::Changes;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::events::{
    SignalementClosed, SignalementCreated, SignalementDeleted, SignalementEscalated,
    SignalementReopened, SignalementUpdated,
};
use crate::{
    Commentaire, Description, InvalidTransition, Localisation, Motif, NiveauEscalade, PhotoUrl,
    Priorite, Statut, Titre,
};

/// Rules a change of a signalement would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalementError {
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// A clôturé signalement is final until it is reopened.
    #[error("the signalement is closed (cloture): reopen it first")]
    Cloture,
    #[error("date_resolution_souhaitee must not be in the past")]
    DateSouhaiteePassee,
}

/// What reporting a signalement needs, all validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NouveauSignalement {
    pub chantier_id: Uuid,
    pub titre: Titre,
    pub description: Description,
    pub priorite: Priorite,
    pub assigne_a: Option<Uuid>,
    pub date_resolution_souhaitee: Option<OffsetDateTime>,
    pub photo_url: Option<PhotoUrl>,
    /// An uploaded photo (a document of the same chantier), checked
    /// against what this context knows of documents.
    pub photo_document_id: Option<Uuid>,
    pub localisation: Option<Localisation>,
}

/// A partial update; `None` leaves a field unchanged, `Some(None)` clears
/// an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalementUpdate {
    pub titre: Option<Titre>,
    pub description: Option<Description>,
    pub priorite: Option<Priorite>,
    pub assigne_a: Option<Uuid>,
    pub date_resolution_souhaitee: Option<Option<OffsetDateTime>>,
    pub photo_url: Option<Option<PhotoUrl>>,
    pub photo_document_id: Option<Option<Uuid>>,
    pub localisation: Option<Option<Localisation>>,
}

/// Where a signalement stands against its deadline, at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Echeance {
    pub date_limite: OffsetDateTime,
    /// Still active past its deadline.
    pub est_en_retard: bool,
    /// Time used, in % of the time allowed (not capped); 0 once resolved.
    pub pourcentage_temps: f64,
    /// "En retard de 5h", "2j 3h", "3h 20min"; `None` once resolved.
    pub temps_restant: Option<String>,
    /// The escalation level its elapsed time calls for; `None` once resolved.
    pub niveau_requis: Option<NiveauEscalade>,
}

/// An incident or safety report on one chantier.
#[derive(Debug, Clone, PartialEq)]
pub struct Signalement {
    id: Uuid,
    chantier_id: Uuid,
    titre: Titre,
    description: Description,
    priorite: Priorite,
    statut: Statut,
    cree_par: Uuid,
    assigne_a: Option<Uuid>,
    date_resolution_souhaitee: Option<OffsetDateTime>,
    date_traitement: Option<OffsetDateTime>,
    commentaire_traitement: Option<Commentaire>,
    date_cloture: Option<OffsetDateTime>,
    photo_url: Option<PhotoUrl>,
    photo_document_id: Option<Uuid>,
    localisation: Option<Localisation>,
    /// When the deadline clock started: the creation, or the last reopening.
    debut_delai: OffsetDateTime,
    /// The highest escalation level already published since `debut_delai`.
    niveau_escalade: Option<NiveauEscalade>,
    derniere_escalade_at: Option<OffsetDateTime>,
    /// Incremented by every change; repositories use it to refuse lost updates.
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

/// Everything a stored signalement holds (repositories only).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSignalement {
    pub id: Uuid,
    pub chantier_id: Uuid,
    pub titre: Titre,
    pub description: Description,
    pub priorite: Priorite,
    pub statut: Statut,
    pub cree_par: Uuid,
    pub assigne_a: Option<Uuid>,
    pub date_resolution_souhaitee: Option<OffsetDateTime>,
    pub date_traitement: Option<OffsetDateTime>,
    pub commentaire_traitement: Option<Commentaire>,
    pub date_cloture: Option<OffsetDateTime>,
    pub photo_url: Option<PhotoUrl>,
    pub photo_document_id: Option<Uuid>,
    pub localisation: Option<Localisation>,
    pub debut_delai: OffsetDateTime,
    pub niveau_escalade: Option<NiveauEscalade>,
    pub derniere_escalade_at: Option<OffsetDateTime>,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Signalement {
    /// Reports a signalement: `ouvert`, or `en_cours` when it is assigned
    /// at once (as assigning an open one does).
    pub fn create(
        nouveau: NouveauSignalement,
        cree_par: Uuid,
        now: OffsetDateTime,
    ) -> Result<(Self, SignalementCreated), SignalementError> {
        if nouveau.date_resolution_souhaitee.is_some_and(|d| d < now) {
            return Err(SignalementError::DateSouhaiteePassee);
        }
        let statut = if nouveau.assigne_a.is_some() {
            Statut::EnCours
        } else {
            Statut::Ouvert
        };
        let signalement = Self {
            id: Uuid::now_v7(),
            chantier_id: nouveau.chantier_id,
            titre: nouveau.titre,
            description: nouveau.description,
            priorite: nouveau.priorite,
            statut,
            cree_par,
            assigne_a: nouveau.assigne_a,
            date_resolution_souhaitee: nouveau.date_resolution_souhaitee,
            date_traitement: None,
            commentaire_traitement: None,
            date_cloture: None,
            photo_url: nouveau.photo_url,
            photo_document_id: nouveau.photo_document_id,
            localisation: nouveau.localisation,
            debut_delai: now,
            niveau_escalade: None,
            derniere_escalade_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let event = SignalementCreated {
            signalement_id: signalement.id,
            chantier_id: signalement.chantier_id,
            titre: signalement.titre.to_string(),
            priorite: signalement.priorite,
            statut: signalement.statut,
            created_by: cree_par,
            assigne_a: signalement.assigne_a,
            photo_document_id: signalement.photo_document_id,
            date_limite: signalement.date_limite(),
        };
        Ok((signalement, event))
    }

    /// Rebuilds a stored signalement (repositories only).
    pub fn restore(stored: StoredSignalement) -> Self {
        Self {
            id: stored.id,
            chantier_id: stored.chantier_id,
            titre: stored.titre,
            description: stored.description,
            priorite: stored.priorite,
            statut: stored.statut,
            cree_par: stored.cree_par,
            assigne_a: stored.assigne_a,
            date_resolution_souhaitee: stored.date_resolution_souhaitee,
            date_traitement: stored.date_traitement,
            commentaire_traitement: stored.commentaire_traitement,
            date_cloture: stored.date_cloture,
            photo_url: stored.photo_url,
            photo_document_id: stored.photo_document_id,
            localisation: stored.localisation,
            debut_delai: stored.debut_delai,
            niveau_escalade: stored.niveau_escalade,
            derniere_escalade_at: stored.derniere_escalade_at,
            version: stored.version,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        }
    }

    /// Applies `update`; `None` when nothing actually changed. Assigning
    /// through an update has the effect of [`Signalement::assigner`].
    pub fn update(
        &mut self,
        update: SignalementUpdate,
        now: OffsetDateTime,
    ) -> Result<Option<SignalementUpdated>, SignalementError> {
        self.ensure_not_closed()?;
        if update
            .date_resolution_souhaitee
            .flatten()
            .is_some_and(|d| d < now && Some(d) != self.date_resolution_souhaitee)
        {
            return Err(SignalementError::DateSouhaiteePassee);
        }
        let mut next = self.clone();
        let mut changes = Changes::new();
        let text = |v: &dyn std::fmt::Display| v.to_string();
        if let Some(titre) = update.titre {
            changes.record("titre", &text(&next.titre), &text(&titre));
            next.titre = titre;
        }
        if let Some(description) = update.description {
            changes.record("description", &text(&next.description), &text(&description));
            next.description = description;
        }
        if let Some(priorite) = update.priorite {
            changes.record("priorite", &next.priorite, &priorite);
            next.priorite = priorite;
        }
        if let Some(date) = update.date_resolution_souhaitee {
            changes.record(
                "date_resolution_souhaitee",
                &next.date_resolution_souhaitee.map(rfc3339),
                &date.map(rfc3339),
            );
            next.date_resolution_souhaitee = date;
        }
        if let Some(photo) = update.photo_url {
            changes.record(
                "photo_url",
                &next.photo_url.as_ref().map(|p| p.as_str().to_owned()),
                &photo.as_ref().map(|p| p.as_str().to_owned()),
            );
            next.photo_url = photo;
        }
        if let Some(document) = update.photo_document_id {
            changes.record("photo_document_id", &next.photo_document_id, &document);
            next.photo_document_id = document;
        }
        if let Some(localisation) = update.localisation {
            changes.record(
                "localisation",
                &next.localisation.as_ref().map(|l| l.to_string()),
                &localisation.as_ref().map(|l| l.to_string()),
            );
            next.localisation = localisation;
        }
        if let Some(user) = update.assigne_a {
            next.assign_to(user, &mut changes);
        }
        if changes.is_empty() {
            return Ok(None);
        }
        *self = next;
        self.touch(now);
        Ok(Some(self.updated(changes)))
    }

    /// Gives it to `user`; an open signalement moves to `en_cours`. `None`
    /// when it already was theirs.
    pub fn assigner(
        &mut self,
        user: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<SignalementUpdated>, SignalementError> {
        self.ensure_not_closed()?;
        let mut changes = Changes::new();
        self.assign_to(user, &mut changes);
        if changes.is_empty() {
            return Ok(None);
        }
        self.touch(now);
        Ok(Some(self.updated(changes)))
    }

    fn assign_to(&mut self, user: Uuid, changes: &mut Changes) {
        changes.record("assigne_a", &self.assigne_a, &Some(user));
        self.assigne_a = Some(user);
        if self.statut == Statut::Ouvert {
            changes.record("statut", &Statut::Ouvert, &Statut::EnCours);
            self.statut = Statut::EnCours;
        }
    }

    /// Marks it dealt with, saying how (ouvert or en_cours → traite).
    pub fn traiter(
        &mut self,
        commentaire: Commentaire,
        now: OffsetDateTime,
    ) -> Result<SignalementUpdated, SignalementError> {
        let from = self.statut;
        self.statut = from.transition_to(Statut::Traite)?;
        let mut changes = Changes::new();
        changes.record("statut", &from, &Statut::Traite);
        changes.record(
            "commentaire_traitement",
            &None::<String>,
            &Some(commentaire.to_string()),
        );
        changes.record("date_traitement", &None::<String>, &Some(rfc3339(now)));
        self.commentaire_traitement = Some(commentaire);
        self.date_traitement = Some(now);
        self.touch(now);
        Ok(self.updated(changes))
    }

    /// Closes it (traite → cloture only).
    pub fn cloturer(
        &mut self,
        closed_by: Uuid,
        now: OffsetDateTime,
    ) -> Result<SignalementClosed, SignalementError> {
        self.statut = self.statut.transition_to(Statut::Cloture)?;
        self.date_cloture = Some(now);
        self.touch(now);
        Ok(SignalementClosed {
            signalement_id: self.id,
            chantier_id: self.chantier_id,
            titre: self.titre.to_string(),
            priorite: self.priorite,
            closed_by,
            resolution: self.commentaire_traitement.as_ref().map(|c| c.to_string()),
        })
    }

    /// Reopens it (en_cours, traite or cloture → ouvert). The treatment and
    /// closure are cleared, and the deadline clock restarts now: the
    /// priority's delay counts from the reopening, a desired date is
    /// dropped, and escalation starts again from its first level.
    pub fn reouvrir(
        &mut self,
        reopened_by: Uuid,
        motif: Motif,
        now: OffsetDateTime,
    ) -> Result<SignalementReopened, SignalementError> {
        self.statut = self.statut.transition_to(Statut::Ouvert)?;
        self.date_traitement = None;
        self.commentaire_traitement = None;
        self.date_cloture = None;
        self.date_resolution_souhaitee = None;
        self.debut_delai = now;
        self.niveau_escalade = None;
        self.touch(now);
        Ok(SignalementReopened {
            signalement_id: self.id,
            chantier_id: self.chantier_id,
            titre: self.titre.to_string(),
            priorite: self.priorite,
            reopened_by,
            motif: motif.to_string(),
            date_limite: self.date_limite(),
        })
    }

    /// The event of its deletion (the repository removes it and its replies).
    pub fn delete(&self, deleted_by: Uuid) -> SignalementDeleted {
        SignalementDeleted {
            signalement_id: self.id,
            chantier_id: self.chantier_id,
            titre: self.titre.to_string(),
            priorite: self.priorite,
            statut: self.statut,
            deleted_by,
        }
    }

    /// The next escalation level due at `now` and not yet published, if
    /// any. Levels come one at a time and in order, even when several
    /// thresholds were passed at once (after downtime, a priority raised, a
    /// desired date moved earlier): an integrator paging by
    /// `notified_role` gets the chef de chantier's page before the
    /// conducteur's.
    pub fn escalade_due(&self, now: OffsetDateTime) -> Option<NiveauEscalade> {
        let requis = self.echeance(now).niveau_requis?;
        let suivant = NiveauEscalade::ALL
            .into_iter()
            .find(|n| Some(*n) > self.niveau_escalade)?;
        (suivant <= requis).then_some(suivant)
    }

    /// Records that `niveau` was reached and who is to be alerted. Only
    /// what [`Signalement::escalade_due`] returns is accepted: a level is
    /// published once, in order, and never a lower one after a higher.
    pub fn escalader(
        &mut self,
        niveau: NiveauEscalade,
        destinataire_ids: Vec<Uuid>,
        now: OffsetDateTime,
    ) -> Option<SignalementEscalated> {
        if self.escalade_due(now)? != niveau {
            return None;
        }
        let echeance = self.echeance(now);
        self.niveau_escalade = Some(niveau);
        self.derniere_escalade_at = Some(now);
        self.version += 1;
        self.updated_at = now;
        Some(SignalementEscalated {
            signalement_id: self.id,
            chantier_id: self.chantier_id,
            titre: self.titre.to_string(),
            priorite: self.priorite,
            niveau: niveau.rang(),
            notified_role: niveau,
            pourcentage_temps: echeance.pourcentage_temps.floor(),
            date_limite: echeance.date_limite,
            destinataire_ids,
        })
    }

    /// The deadline: the desired date if set, else the start of the clock
    /// plus the priority's delay.
    pub fn date_limite(&self) -> OffsetDateTime {
        self.date_resolution_souhaitee
            .unwrap_or(self.debut_delai + self.priorite.delai())
    }

    /// Where it stands against its deadline at `now`.
    pub fn echeance(&self, now: OffsetDateTime) -> Echeance {
        let date_limite = self.date_limite();
        if !self.statut.est_actif() {
            return Echeance {
                date_limite,
                est_en_retard: false,
                pourcentage_temps: 0.0,
                temps_restant: None,
                niveau_requis: None,
            };
        }
        let allowed = date_limite - self.debut_delai;
        let pourcentage_temps = if allowed <= Duration::ZERO {
            100.0
        } else {
            (now - self.debut_delai).as_seconds_f64() / allowed.as_seconds_f64() * 100.0
        };
        let est_en_retard = now > date_limite;
        Echeance {
            date_limite,
            est_en_retard,
            pourcentage_temps,
            temps_restant: Some(temps_restant(date_limite - now)),
            niveau_requis: NiveauEscalade::atteint(pourcentage_temps),
        }
    }

    /// When the next escalation level falls due; `None` once resolved or
    /// when every level was published. Stored, so that the escalation job
    /// finds what is due with an index.
    pub fn prochaine_escalade(&self) -> Option<OffsetDateTime> {
        if !self.statut.est_actif() {
            return None;
        }
        let next = NiveauEscalade::ALL
            .into_iter()
            .find(|n| Some(*n) > self.niveau_escalade)?;
        let allowed = self.date_limite() - self.debut_delai;
        if allowed <= Duration::ZERO {
            // Counted as 100 % at once, never more.
            return (next <= NiveauEscalade::Conducteur).then_some(self.debut_delai);
        }
        let offset = allowed * (next.seuil_pourcentage() as f64 / 100.0);
        Some(self.debut_delai + offset)
    }

    fn updated(&self, changes: Changes) -> SignalementUpdated {
        SignalementUpdated {
            signalement_id: self.id,
            chantier_id: self.chantier_id,
            titre: self.titre.to_string(),
            priorite: self.priorite,
            statut: self.statut,
            created_by: self.cree_par,
            assigne_a: self.assigne_a,
            date_limite: self.date_limite(),
            changes,
        }
    }

    fn ensure_not_closed(&self) -> Result<(), SignalementError> {
        if self.statut == Statut::Cloture {
            return Err(SignalementError::Cloture);
        }
        Ok(())
    }

    fn touch(&mut self, now: OffsetDateTime) {
        self.version += 1;
        self.updated_at = now;
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn chantier_id(&self) -> Uuid {
        self.chantier_id
    }
    pub fn titre(&self) -> &Titre {
        &self.titre
    }
    pub fn description(&self) -> &Description {
        &self.description
    }
    pub fn priorite(&self) -> Priorite {
        self.priorite
    }
    pub fn statut(&self) -> Statut {
        self.statut
    }
    pub fn cree_par(&self) -> Uuid {
        self.cree_par
    }
    pub fn assigne_a(&self) -> Option<Uuid> {
        self.assigne_a
    }
    pub fn date_resolution_souhaitee(&self) -> Option<OffsetDateTime> {
        self.date_resolution_souhaitee
    }
    pub fn date_traitement(&self) -> Option<OffsetDateTime> {
        self.date_traitement
    }
    pub fn commentaire_traitement(&self) -> Option<&Commentaire> {
        self.commentaire_traitement.as_ref()
    }
    pub fn date_cloture(&self) -> Option<OffsetDateTime> {
        self.date_cloture
    }
    pub fn photo_url(&self) -> Option<&PhotoUrl> {
        self.photo_url.as_ref()
    }
    pub fn photo_document_id(&self) -> Option<Uuid> {
        self.photo_document_id
    }
    pub fn localisation(&self) -> Option<&Localisation> {
        self.localisation.as_ref()
    }
    pub fn debut_delai(&self) -> OffsetDateTime {
        self.debut_delai
    }
    pub fn niveau_escalade(&self) -> Option<NiveauEscalade> {
        self.niveau_escalade
    }
    /// How many levels were published since the clock started (0 to 3).
    pub fn nb_escalades(&self) -> u8 {
        self.niveau_escalade.map_or(0, NiveauEscalade::rang)
    }
    pub fn derniere_escalade_at(&self) -> Option<OffsetDateTime> {
        self.derniere_escalade_at
    }
    pub fn version(&self) -> i64 {
        self.version
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// "En retard de {H}h" when late; "{J}j {H}h" with more than 24 whole hours
/// left; otherwise "{H}h {M}min".
fn temps_restant(left: Duration) -> String {
    if left < Duration::ZERO {
        return format!("En retard de {}h", (-left).whole_hours());
    }
    let hours = left.whole_hours();
    if hours > 24 {
        format!("{}j {}h", hours / 24, hours % 24)
    } else {
        format!("{}h {}min", hours, left.whole_minutes() % 60)
    }
}

#[cfg(test)]
mod tests;
