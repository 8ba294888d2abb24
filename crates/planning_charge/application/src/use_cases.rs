//! The planning de charge use cases. Each holds its ports and has one
//! `execute`; each command either stores its change with exactly its
//! events, or fails and publishes nothing. Writes are for administrators
//! and conducteurs; reads for them and, on their own chantiers, chefs de
//! chantier ([`access`]): out of sight is "not found", a role without the
//! right is "forbidden".

use std::sync::Arc;

use hub_kernel::{
    Actor, Clock, CommandContext, EnvelopeError, Page, StorageError, ValidationErrors,
};
use hub_planning_charge_domain::access::{self, Lecture};
use hub_planning_charge_domain::{Besoin, BesoinError};
use uuid::Uuid;

use crate::grille::Grille;
use crate::input::{BesoinInput, GrilleInput, UpdateInput, semaine_of};
use crate::occupation::OccupationSemaine;
use crate::ports::{Affectations, BesoinRepository, Chantiers, Effectif, RepositoryError};

/// Why a planning de charge command or query failed; the HTTP adapter maps
/// each to a status.
#[derive(Debug, thiserror::Error)]
pub enum PlanningChargeError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("no besoin with this id")]
    NotFound,
    #[error("no chantier with this id")]
    ChantierNotFound,
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A live besoin already holds the (chantier, week, trade).
    #[error("a besoin already exists for this chantier, week and trade")]
    Duplicate,
    #[error("it was changed by someone else meanwhile; reload it and retry")]
    Conflict,
    /// Storage failed, or an event could not be built: a 500, logged with its cause.
    #[error("the planning de charge is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RepositoryError> for PlanningChargeError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::NotFound => Self::NotFound,
            RepositoryError::Conflict => Self::Conflict,
            RepositoryError::Duplicate => Self::Duplicate,
            RepositoryError::Storage(error) => Self::Unavailable(error.into()),
        }
    }
}

impl From<EnvelopeError> for PlanningChargeError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<StorageError> for PlanningChargeError {
    fn from(error: StorageError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<ValidationErrors> for PlanningChargeError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<BesoinError> for PlanningChargeError {
    fn from(error: BesoinError) -> Self {
        match error {
            // A deleted besoin is gone for its users.
            BesoinError::Deleted => Self::NotFound,
        }
    }
}

type Result<T> = std::result::Result<T, PlanningChargeError>;

/// The ports every planning de charge use case is built from.
#[derive(Clone)]
pub struct PlanningChargePorts {
    pub besoins: Arc<dyn BesoinRepository>,
    pub chantiers: Arc<dyn Chantiers>,
    pub effectif: Arc<dyn Effectif>,
    pub affectations: Arc<dyn Affectations>,
    pub clock: Arc<dyn Clock>,
}

/// The writer of a command: a user allowed to write besoins.
fn writer(context: &CommandContext) -> Result<Actor> {
    let actor = context
        .actor
        .ok_or(PlanningChargeError::Forbidden(access::FORBIDDEN_WRITE))?;
    if access::may_write(&actor) {
        Ok(actor)
    } else {
        Err(PlanningChargeError::Forbidden(access::FORBIDDEN_WRITE))
    }
}

impl PlanningChargePorts {
    /// What `actor` reads; forbidden to a compagnon.
    async fn lecture(&self, actor: &Actor) -> Result<Lecture> {
        let responsable_of = if Lecture::needs_chantiers(actor) {
            self.chantiers.run_by(actor.user_id).await?
        } else {
            Vec::new()
        };
        Lecture::of(actor, responsable_of)
            .ok_or(PlanningChargeError::Forbidden(access::FORBIDDEN_READ))
    }

    async fn find(&self, id: Uuid) -> Result<Besoin> {
        self.besoins
            .find(id)
            .await?
            .ok_or(PlanningChargeError::NotFound)
    }
}

hub_kernel::use_cases! {
    PlanningChargePorts;
    /// Enters a besoin; publishes `besoin_charge.created`.
    CreateBesoin,
    /// Changes a besoin's hours, note or trade; publishes `besoin_charge.updated`.
    UpdateBesoin,
    /// Soft-deletes a besoin; publishes `besoin_charge.deleted`.
    DeleteBesoin,
    /// One live besoin, if the actor sees its chantier.
    GetBesoin,
    /// A page of a chantier's besoins over a range of weeks.
    ListBesoins,
    /// The workload grid of a range of weeks.
    GrilleQuery,
    /// One week's occupation per trade.
    OccupationQuery,
}

impl CreateBesoin {
    /// The chantier must be known, not deleted, and `ouvert` or `en_cours`.
    pub async fn execute(&self, context: &CommandContext, input: BesoinInput) -> Result<Besoin> {
        let actor = writer(context)?;
        let nouveau = input.validate()?;
        let chantier = self
            .ports
            .chantiers
            .chantier(nouveau.chantier_id)
            .await?
            .ok_or_else(|| {
                ValidationErrors::single(
                    "chantier_id",
                    "unknown_chantier",
                    "no chantier with this id",
                )
            })?;
        if !chantier.ouvert {
            return Err(PlanningChargeError::Invalid(ValidationErrors::single(
                "chantier_id",
                "chantier_not_open",
                "the chantier is not open (ouvert or en_cours): no besoin can be entered",
            )));
        }
        let (besoin, created) = Besoin::create(nouveau, actor.user_id, self.ports.clock.now());
        let events = [context.wrap(&created, &*self.ports.clock)?];
        self.ports.besoins.insert(&besoin, &events).await?;
        Ok(besoin)
    }
}

impl UpdateBesoin {
    /// A change that changes nothing is stored and published not at all.
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: UpdateInput,
    ) -> Result<Besoin> {
        writer(context)?;
        let update = input.validate()?;
        let mut besoin = self.ports.find(id).await?;
        let Some(updated) = besoin.update(update, self.ports.clock.now())? else {
            return Ok(besoin);
        };
        let events = [context.wrap(&updated, &*self.ports.clock)?];
        self.ports.besoins.update(&besoin, &events).await?;
        Ok(besoin)
    }
}

impl DeleteBesoin {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<()> {
        let actor = writer(context)?;
        let mut besoin = self.ports.find(id).await?;
        let deleted = besoin.delete(actor.user_id, self.ports.clock.now())?;
        let events = [context.wrap(&deleted, &*self.ports.clock)?];
        self.ports.besoins.update(&besoin, &events).await?;
        Ok(())
    }
}

impl GetBesoin {
    pub async fn execute(&self, actor: &Actor, id: Uuid) -> Result<Besoin> {
        let lecture = self.ports.lecture(actor).await?;
        let besoin = self.ports.find(id).await?;
        if lecture.allows(besoin.chantier_id()) {
            Ok(besoin)
        } else {
            Err(PlanningChargeError::NotFound)
        }
    }
}

impl ListBesoins {
    /// A chantier out of the actor's sight is "not found"; an unknown one
    /// simply has no besoins.
    pub async fn execute(
        &self,
        actor: &Actor,
        chantier_id: Uuid,
        range: &GrilleInput,
        page: Page,
    ) -> Result<(Vec<Besoin>, u64)> {
        let lecture = self.ports.lecture(actor).await?;
        let (debut, fin) = range.bornes()?;
        if !lecture.allows(chantier_id) {
            return Err(PlanningChargeError::ChantierNotFound);
        }
        Ok(self
            .ports
            .besoins
            .list(chantier_id, debut, fin, page)
            .await?)
    }
}

impl GrilleQuery {
    /// Rows: the open chantiers the actor sees (a chef de chantier, his
    /// own), by code, filtered by the search; the footer and totals add up
    /// those rows.
    pub async fn execute(&self, actor: &Actor, input: &GrilleInput) -> Result<Grille> {
        let lecture = self.ports.lecture(actor).await?;
        let semaines = input.semaines()?;
        let (Some(&debut), Some(&fin)) = (semaines.first(), semaines.last()) else {
            // `semaines` never returns an empty range; an empty grid is still right.
            return Ok(Grille::assembler(semaines, Vec::new(), &[], &[], 0, &[]));
        };
        let chantiers: Vec<_> = self
            .ports
            .chantiers
            .ouverts(input.recherche())
            .await?
            .into_iter()
            .filter(|chantier| lecture.allows(chantier.chantier_id))
            .collect();
        let ids: Vec<Uuid> = chantiers.iter().map(|c| c.chantier_id).collect();
        let besoins = self.ports.besoins.totaux(&ids, debut, fin).await?;
        let planifie = self.ports.affectations.planifie(&ids, debut, fin).await?;
        let effectif = self.ports.effectif.effectif().await?;
        let occupes = self.ports.affectations.occupes(debut, fin).await?;
        Ok(Grille::assembler(
            semaines, chantiers, &besoins, &planifie, effectif, &occupes,
        ))
    }
}

impl OccupationQuery {
    /// The figures of `semaine` (`YYYY-Www`) per trade, over the open
    /// chantiers the actor sees — the grid's rows without search, so the
    /// totals equal the grid's footer for that week.
    pub async fn execute(&self, actor: &Actor, semaine: &str) -> Result<OccupationSemaine> {
        let lecture = self.ports.lecture(actor).await?;
        let semaine = semaine_of("semaine", semaine)?;
        let ids: Vec<Uuid> = self
            .ports
            .chantiers
            .ouverts(None)
            .await?
            .into_iter()
            .map(|chantier| chantier.chantier_id)
            .filter(|&id| lecture.allows(id))
            .collect();
        let besoins = self.ports.besoins.par_metier(&ids, semaine).await?;
        let planifie = self
            .ports
            .affectations
            .planifie_par_metier(&ids, semaine)
            .await?;
        let effectif = self.ports.effectif.par_metier().await?;
        let occupes = self.ports.affectations.occupes_par_metier(semaine).await?;
        Ok(OccupationSemaine::assembler(
            semaine, &besoins, &planifie, &effectif, &occupes,
        ))
    }
}

#[cfg(test)]
mod tests;
