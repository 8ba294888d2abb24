//! The planning use cases. Each holds its ports and has one `execute`;
//! each either stores its change with exactly its events, or fails and
//! publishes nothing.

use std::sync::Arc;

use hub_kernel::{
    Actor, Clock, CommandContext, EnvelopeError, EventEnvelope, Page, StorageError,
    ValidationErrors, VersionMismatch,
};
use hub_planning_domain::access::{Lecture, may_plan};
use hub_planning_domain::calendrier::{self, CalendrierError, MAX_JOURS};
use hub_planning_domain::{
    Affectation, AffectationBulkCreated, AffectationBulkDeleted, AffectationError, Modele, Raison,
    SourceLot, ValueError,
};
use time::{Date, Duration};
use uuid::Uuid;

use crate::input::{CreateInput, ItemInput, UpdateInput, calendar_error};
use crate::ports::{AffectationRepository, Directory, Noms, PlanningFilter, RepositoryError};

/// The longest period one planning read covers (about a quarter).
pub const MAX_PERIODE_JOURS: i64 = 93;

/// Why a planning command or query failed; the HTTP adapter maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("no affectation with this id")]
    NotFound,
    /// The caller may see it but not plan on that chantier.
    #[error("only an administrator or a conducteur of the chantier may plan on it")]
    Forbidden,
    #[error("user {0} is unknown or inactive")]
    UnknownUser(Uuid),
    #[error("chantier {0} is unknown, deleted, or not open for planning (ouvert or en_cours)")]
    ChantierNotPlannable(Uuid),
    #[error("user {utilisateur_id} already has an affectation on {date}")]
    Conflict { utilisateur_id: Uuid, date: Date },
    #[error("the affectation is cancelled; it can only be deleted")]
    Cancelled,
    #[error("the affectation was changed by someone else meanwhile; reload it and retry")]
    Changed,
    /// The request was conditional (`If-Match`) on another version.
    #[error(transparent)]
    Precondition(#[from] VersionMismatch),
    #[error("the source period holds no affectation of this user")]
    NothingToDuplicate,
    /// Storage failed, or an event could not be built: a 500, logged with its cause.
    #[error("the planning is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RepositoryError> for PlanningError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Conflict {
                utilisateur_id,
                date,
            } => Self::Conflict {
                utilisateur_id,
                date,
            },
            RepositoryError::NotFound => Self::NotFound,
            RepositoryError::Changed => Self::Changed,
            RepositoryError::Storage(error) => Self::Unavailable(error.into()),
        }
    }
}

impl From<EnvelopeError> for PlanningError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<StorageError> for PlanningError {
    fn from(error: StorageError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<ValidationErrors> for PlanningError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<AffectationError> for PlanningError {
    fn from(error: AffectationError) -> Self {
        match error {
            AffectationError::Annulee => Self::Cancelled,
            AffectationError::Value(error @ ValueError::FinAvantDebut) => Self::Invalid(
                ValidationErrors::single("heure_fin", "before_heure_debut", error.to_string()),
            ),
            AffectationError::Value(error) => Self::Invalid(ValidationErrors::single(
                "body",
                "invalid",
                error.to_string(),
            )),
        }
    }
}

/// The ports every planning use case is built from.
#[derive(Clone)]
pub struct PlanningPorts {
    pub affectations: Arc<dyn AffectationRepository>,
    pub directory: Arc<dyn Directory>,
    pub clock: Arc<dyn Clock>,
}

impl PlanningPorts {
    /// Refuses a user the read model does not know as active.
    async fn check_user(&self, id: Uuid) -> Result<(), PlanningError> {
        match self.directory.user(id).await? {
            Some(user) if user.is_active => Ok(()),
            _ => Err(PlanningError::UnknownUser(id)),
        }
    }

    /// Refuses a chantier closed to planning, or one the actor does not run.
    async fn check_chantier(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<(), PlanningError> {
        let chantier = self
            .directory
            .chantier(id)
            .await?
            .filter(|chantier| chantier.plannable)
            .ok_or(PlanningError::ChantierNotPlannable(id))?;
        match context.actor {
            Some(actor) if !may_plan(&actor, &chantier.conducteur_ids) => {
                Err(PlanningError::Forbidden)
            }
            _ => Ok(()),
        }
    }

    /// Refuses a change to what is on a chantier the actor does not run
    /// (whatever its statut: cancelling or deleting stays possible).
    async fn check_writer(&self, context: &CommandContext, id: Uuid) -> Result<(), PlanningError> {
        let Some(actor) = context.actor else {
            return Ok(());
        };
        let conducteurs = self
            .directory
            .chantier(id)
            .await?
            .map(|chantier| chantier.conducteur_ids)
            .unwrap_or_default();
        if may_plan(&actor, &conducteurs) {
            Ok(())
        } else {
            Err(PlanningError::Forbidden)
        }
    }

    /// What `actor` may read.
    async fn lecture(&self, actor: &Actor) -> Result<Lecture, PlanningError> {
        let chantiers = if Lecture::needs_chantiers(actor) {
            self.directory.chantiers_run_by(actor.user_id).await?
        } else {
            Vec::new()
        };
        Ok(Lecture::of(actor, chantiers))
    }

    /// The affectation, if it exists and the command's actor may change it.
    async fn load_to_write(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<Affectation, PlanningError> {
        let affectation = self
            .affectations
            .find(id)
            .await?
            .ok_or(PlanningError::NotFound)?;
        if let Some(actor) = context.actor
            && !self.lecture(&actor).await?.allows(&affectation)
        {
            return Err(PlanningError::NotFound);
        }
        self.check_writer(context, affectation.chantier_id())
            .await?;
        // Only once the caller may know the affectation exists.
        context.check_version(affectation.version())?;
        Ok(affectation)
    }

    fn wrap_all<E: hub_kernel::DomainEvent>(
        &self,
        context: &CommandContext,
        events: &[E],
    ) -> Result<Vec<EventEnvelope>, PlanningError> {
        events
            .iter()
            .map(|event| Ok(context.wrap(event, &*self.clock)?))
            .collect()
    }

    /// Every planned affectation of `user` between two days.
    async fn planned_of(
        &self,
        user: Uuid,
        debut: Date,
        fin: Date,
    ) -> Result<Vec<Affectation>, PlanningError> {
        let filter = PlanningFilter {
            date_debut: Some(debut),
            date_fin: Some(fin),
            utilisateur_ids: vec![user],
            planned_only: true,
            ..PlanningFilter::default()
        };
        // One per day at most, so a page of MAX_JOURS holds the whole period.
        let page = Page {
            skip: 0,
            limit: MAX_JOURS as u64 + 1,
        };
        Ok(self.affectations.list(&filter, page).await?.0)
    }
}

hub_kernel::use_cases! {
    PlanningPorts;
    /// Plans a user on a chantier for one day, a day range or a weekly
    /// recurrence; publishes `affectation.created` for one day, else one
    /// `affectation.bulk_created` (`bulk` or `recurrence`).
    CreateAffectations,
    /// Plans any users on any chantiers and days in one transaction; publishes
    /// one `affectation.bulk_created` (`bulk`) per chantier.
    CreateBatch,
    /// Moves or edits an affectation; publishes `affectation.updated`.
    UpdateAffectation,
    /// Deletes an affectation; publishes `affectation.deleted`.
    DeleteAffectation,
    /// Deletes several affectations at once; publishes one
    /// `affectation.bulk_deleted` per chantier.
    DeleteAffectations,
    /// Cancels an affectation with a reason; publishes `affectation.cancelled`.
    CancelAffectation,
    /// Copies a user's affectations of a period to another period; publishes
    /// one `affectation.bulk_created` (`duplicate_week`) per chantier.
    DuplicateAffectations,
    /// Stretches a block over more days; publishes `affectation.bulk_created`
    /// (`bulk`) when it added days.
    ResizeAffectation,
    /// One affectation, if the actor may see it.
    GetAffectation,
    /// The planning of a period, filtered and scoped to the actor.
    ListAffectations,
    /// The active users with nothing planned in a period.
    NonPlanifies,
    /// The names to show next to affectations (users and chantiers the
    /// planning knows; unknown ones are left out).
    DisplayNames,
}

impl CreateAffectations {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: CreateInput,
    ) -> Result<Vec<Affectation>, PlanningError> {
        let planned = input.validate()?;
        self.ports
            .check_chantier(context, planned.modele.chantier_id)
            .await?;
        self.ports.check_user(planned.modele.utilisateur_id).await?;
        let now = self.ports.clock.now();
        let created_by = context.actor.map(|actor| actor.user_id);
        let affectations: Vec<Affectation> = planned
            .dates
            .iter()
            .map(|date| Affectation::plan(&planned.modele, *date, created_by, now))
            .collect();
        let events = match affectations.as_slice() {
            [one] => vec![context.wrap(&one.created(), &*self.ports.clock)?],
            many => self
                .ports
                .wrap_all(context, &AffectationBulkCreated::lots(many, planned.source))?,
        };
        self.ports
            .affectations
            .insert(&affectations, &events)
            .await?;
        Ok(affectations)
    }
}

impl CreateBatch {
    /// Every item is made, or none (an invalid field, a chantier or user
    /// refused, a day taken).
    pub async fn execute(
        &self,
        context: &CommandContext,
        items: &[ItemInput],
    ) -> Result<Vec<Affectation>, PlanningError> {
        let mut errors = ValidationErrors::new();
        if items.is_empty() {
            errors.add(
                "affectations",
                "invalid_count",
                format!("must list 1 to {MAX_JOURS} affectations"),
            );
        } else if items.len() > MAX_JOURS {
            // The cap every creation shares, under the same code as a day
            // range, a recurrence, a copy or a stretch too long.
            calendar_error(&mut errors, CalendrierError::TooMany, "affectations");
        }
        let modeles: Vec<Option<Modele>> = items
            .iter()
            .enumerate()
            .map(|(index, item)| item.validate(index, &mut errors))
            .collect();
        errors.into_result()?;
        let mut chantiers: Vec<Uuid> = items.iter().map(|i| i.chantier_id).collect();
        chantiers.sort_unstable();
        chantiers.dedup();
        for chantier in chantiers {
            self.ports.check_chantier(context, chantier).await?;
        }
        let mut users: Vec<Uuid> = items.iter().map(|i| i.utilisateur_id).collect();
        users.sort_unstable();
        users.dedup();
        for user in users {
            self.ports.check_user(user).await?;
        }
        let now = self.ports.clock.now();
        let created_by = context.actor.map(|actor| actor.user_id);
        let affectations: Vec<Affectation> = items
            .iter()
            .zip(modeles.into_iter().flatten())
            .map(|(item, modele)| Affectation::plan(&modele, item.date, created_by, now))
            .collect();
        let events = self.ports.wrap_all(
            context,
            &AffectationBulkCreated::lots(&affectations, SourceLot::Bulk),
        )?;
        self.ports
            .affectations
            .insert(&affectations, &events)
            .await?;
        Ok(affectations)
    }
}

impl UpdateAffectation {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: UpdateInput,
    ) -> Result<Affectation, PlanningError> {
        let update = input.validate()?;
        let mut affectation = self.ports.load_to_write(context, id).await?;
        // Applied to the loaded copy only: nothing is stored until every
        // check below has passed.
        let Some(updated) = affectation.update(update, self.ports.clock.now())? else {
            return Ok(affectation);
        };
        // A move (day, user, chantier or times) plans again, so the
        // chantier it lands on must be open to planning and run by the
        // actor, like a creation; a note alone may still be edited on a
        // closed chantier (docs/decisions/planning-rules.md).
        if updated.changes.fields().any(|field| field != "note") {
            self.ports
                .check_chantier(context, affectation.chantier_id())
                .await?;
        }
        if updated.changes.contains("utilisateur_id") {
            self.ports.check_user(affectation.utilisateur_id()).await?;
        }
        let events = [context.wrap(&updated, &*self.ports.clock)?];
        self.ports
            .affectations
            .update(&affectation, &events)
            .await?;
        Ok(affectation)
    }
}

impl DeleteAffectation {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<(), PlanningError> {
        let affectation = self.ports.load_to_write(context, id).await?;
        let events = [context.wrap(&affectation.deleted(), &*self.ports.clock)?];
        self.ports
            .affectations
            .delete(std::slice::from_ref(&affectation), &events)
            .await?;
        Ok(())
    }
}

impl DeleteAffectations {
    /// Deletes every one of `ids`, or none: an unknown id is a 404.
    pub async fn execute(
        &self,
        context: &CommandContext,
        ids: &[Uuid],
    ) -> Result<Vec<Uuid>, PlanningError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() || ids.len() > MAX_JOURS {
            return Err(PlanningError::Invalid(ValidationErrors::single(
                "ids",
                "invalid_count",
                format!("must list 1 to {MAX_JOURS} affectations"),
            )));
        }
        let found = self.ports.affectations.find_many(&ids).await?;
        if found.len() != ids.len() {
            return Err(PlanningError::NotFound);
        }
        let mut chantiers: Vec<Uuid> = found.iter().map(Affectation::chantier_id).collect();
        chantiers.sort_unstable();
        chantiers.dedup();
        for chantier in chantiers {
            self.ports.check_writer(context, chantier).await?;
        }
        let events = self.ports.wrap_all(
            context,
            &AffectationBulkDeleted::lots(&found, SourceLot::Bulk),
        )?;
        self.ports.affectations.delete(&found, &events).await?;
        Ok(found.iter().map(Affectation::id).collect())
    }
}

impl CancelAffectation {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        raison: &str,
    ) -> Result<Affectation, PlanningError> {
        let raison = Raison::parse(raison).map_err(|error| {
            PlanningError::Invalid(ValidationErrors::single(
                "raison",
                "invalid",
                error.to_string(),
            ))
        })?;
        let mut affectation = self.ports.load_to_write(context, id).await?;
        let by = context.actor.map(|actor| actor.user_id);
        let cancelled = affectation.cancel(raison, by, self.ports.clock.now())?;
        let events = [context.wrap(&cancelled, &*self.ports.clock)?];
        self.ports
            .affectations
            .update(&affectation, &events)
            .await?;
        Ok(affectation)
    }
}

impl DuplicateAffectations {
    /// Copies `utilisateur_id`'s planned affectations of [`source_debut`,
    /// `source_fin`] to the period starting on `target_debut`.
    pub async fn execute(
        &self,
        context: &CommandContext,
        utilisateur_id: Uuid,
        source: (Date, Date),
        target_debut: Date,
    ) -> Result<Vec<Affectation>, PlanningError> {
        let (source_debut, source_fin) = source;
        let shift =
            calendrier::decalage(source_debut, source_fin, target_debut).map_err(|error| {
                let mut errors = ValidationErrors::new();
                calendar_error(&mut errors, error, "source_date_fin");
                PlanningError::Invalid(errors)
            })?;
        let sources = self
            .ports
            .planned_of(utilisateur_id, source_debut, source_fin)
            .await?;
        if sources.is_empty() {
            return Err(PlanningError::NothingToDuplicate);
        }
        let mut chantiers: Vec<Uuid> = sources.iter().map(Affectation::chantier_id).collect();
        chantiers.sort_unstable();
        chantiers.dedup();
        for chantier in chantiers {
            self.ports.check_chantier(context, chantier).await?;
        }
        self.ports.check_user(utilisateur_id).await?;
        let (target_fin, overflow) = target_end(source_fin, shift);
        if overflow {
            return Err(PlanningError::Invalid(ValidationErrors::single(
                "target_date_debut",
                "out_of_range",
                "the copied period ends beyond the calendar",
            )));
        }
        let taken = self
            .ports
            .planned_of(utilisateur_id, target_debut, target_fin)
            .await?;
        let now = self.ports.clock.now();
        let created_by = context.actor.map(|actor| actor.user_id);
        let copies: Vec<Affectation> = sources
            .iter()
            .map(|source| source.copy_to(source.date() + shift, created_by, now))
            .collect();
        if let Some(clash) = copies
            .iter()
            .find(|copy| taken.iter().any(|t| t.date() == copy.date()))
        {
            return Err(PlanningError::Conflict {
                utilisateur_id,
                date: clash.date(),
            });
        }
        let events = self.ports.wrap_all(
            context,
            &AffectationBulkCreated::lots(&copies, SourceLot::DuplicateWeek),
        )?;
        self.ports.affectations.insert(&copies, &events).await?;
        Ok(copies)
    }
}

/// The last day of a copied period, and whether it overflowed the calendar.
fn target_end(source_fin: Date, shift: Duration) -> (Date, bool) {
    match source_fin.checked_add(shift) {
        Some(fin) => (fin, false),
        None => (source_fin, true),
    }
}

impl ResizeAffectation {
    /// Extends the block of affectation `id` to [`debut`, `fin`]; returns
    /// the user's affectations on that chantier within the range, by date.
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        debut: Date,
        fin: Date,
    ) -> Result<Vec<Affectation>, PlanningError> {
        let reference = self.ports.load_to_write(context, id).await?;
        let days = calendrier::etirement(reference.date(), debut, fin).map_err(|error| {
            let mut errors = ValidationErrors::new();
            calendar_error(&mut errors, error, "date_fin");
            PlanningError::Invalid(errors)
        })?;
        if reference.annulation().is_some() {
            return Err(PlanningError::Cancelled);
        }
        self.ports
            .check_chantier(context, reference.chantier_id())
            .await?;
        let user = reference.utilisateur_id();
        let existing = self.ports.planned_of(user, debut, fin).await?;
        let mut block: Vec<Affectation> = existing
            .iter()
            .filter(|a| a.chantier_id() == reference.chantier_id())
            .cloned()
            .collect();
        let now = self.ports.clock.now();
        let created_by = context.actor.map(|actor| actor.user_id);
        let mut added = Vec::new();
        for day in days {
            match existing.iter().find(|a| a.date() == day) {
                Some(same) if same.chantier_id() == reference.chantier_id() => {}
                Some(_) => {
                    return Err(PlanningError::Conflict {
                        utilisateur_id: user,
                        date: day,
                    });
                }
                None => added.push(reference.copy_to(day, created_by, now)),
            }
        }
        if !added.is_empty() {
            self.ports.check_user(user).await?;
            let events = self.ports.wrap_all(
                context,
                &AffectationBulkCreated::lots(&added, SourceLot::Bulk),
            )?;
            self.ports.affectations.insert(&added, &events).await?;
        }
        block.extend(added);
        block.sort_by_key(Affectation::date);
        Ok(block)
    }
}

impl GetAffectation {
    pub async fn execute(&self, actor: &Actor, id: Uuid) -> Result<Affectation, PlanningError> {
        let affectation = self
            .ports
            .affectations
            .find(id)
            .await?
            .ok_or(PlanningError::NotFound)?;
        if self.ports.lecture(actor).await?.allows(&affectation) {
            Ok(affectation)
        } else {
            Err(PlanningError::NotFound)
        }
    }
}

/// Refuses a read period that is inverted or longer than [`MAX_PERIODE_JOURS`].
fn check_period(debut: Date, fin: Date) -> Result<(), PlanningError> {
    if fin < debut {
        return Err(PlanningError::Invalid(ValidationErrors::single(
            "date_fin",
            "before_start",
            "date_fin must be on or after date_debut",
        )));
    }
    if (fin - debut).whole_days() >= MAX_PERIODE_JOURS {
        return Err(PlanningError::Invalid(ValidationErrors::single(
            "date_fin",
            "period_too_long",
            format!("a planning read covers at most {MAX_PERIODE_JOURS} days"),
        )));
    }
    Ok(())
}

impl ListAffectations {
    /// The page of `filter` (whose two dates are required) the actor may see.
    pub async fn execute(
        &self,
        actor: &Actor,
        filter: &PlanningFilter,
        page: Page,
    ) -> Result<(Vec<Affectation>, u64), PlanningError> {
        let (Some(debut), Some(fin)) = (filter.date_debut, filter.date_fin) else {
            return Err(PlanningError::Invalid(ValidationErrors::single(
                "date_debut",
                "required",
                "date_debut and date_fin are required",
            )));
        };
        check_period(debut, fin)?;
        let mut filter = filter.clone();
        match self.ports.lecture(actor).await? {
            Lecture::Tout => {
                filter.visible_user = None;
                filter.visible_chantiers = Vec::new();
            }
            Lecture::Chantiers { chantier_ids, soi } => {
                filter.visible_user = Some(soi);
                filter.visible_chantiers = chantier_ids;
            }
            Lecture::Soi(user) => {
                filter.visible_user = Some(user);
                filter.visible_chantiers = Vec::new();
            }
        }
        Ok(self.ports.affectations.list(&filter, page).await?)
    }
}

impl NonPlanifies {
    /// The active users (any role) with no planned affectation in the period.
    pub async fn execute(&self, debut: Date, fin: Date) -> Result<Vec<Uuid>, PlanningError> {
        check_period(debut, fin)?;
        let planned = self.ports.affectations.planned_users(debut, fin).await?;
        let mut free: Vec<Uuid> = self
            .ports
            .directory
            .active_users()
            .await?
            .into_iter()
            .filter(|user| !planned.contains(user))
            .collect();
        free.sort_unstable();
        Ok(free)
    }
}

impl DisplayNames {
    pub async fn execute(&self, affectations: &[Affectation]) -> Result<Noms, PlanningError> {
        let mut users: Vec<Uuid> = affectations
            .iter()
            .map(Affectation::utilisateur_id)
            .collect();
        let mut chantiers: Vec<Uuid> = affectations.iter().map(Affectation::chantier_id).collect();
        for ids in [&mut users, &mut chantiers] {
            ids.sort_unstable();
            ids.dedup();
        }
        if affectations.is_empty() {
            return Ok(Noms::default());
        }
        Ok(self.ports.directory.names(&users, &chantiers).await?)
    }
}

#[cfg(test)]
mod tests;
