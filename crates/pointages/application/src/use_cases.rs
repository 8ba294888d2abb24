//! The pointages use cases. Each holds its ports and has one `execute`;
//! each either stores its change with exactly its events, or fails and
//! publishes nothing.

use std::sync::Arc;

use hub_kernel::{
    Actor, Clock, CommandContext, DomainEvent, EnvelopeError, Page, StorageError, ValidationErrors,
    VersionMismatch,
};
use hub_pointages_domain::access::{Lecture, Responsables, may_sign, may_validate, may_write};
use hub_pointages_domain::{Motif, Pointage, PointageError, SignatureTexte};
use time::Date;
use uuid::Uuid;

use crate::input::{CreateInput, UpdateInput};
use crate::ports::{Directory, PointageFilter, PointageRepository, RepositoryError};

/// Why a pointages command or query failed; the HTTP adapter maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum PointagesError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// Unknown, or not visible to the caller (never tell which).
    #[error("no pointage with this id")]
    NotFound,
    /// Another user's feuille asked by a compagnon (never tell whether it
    /// has hours).
    #[error("no feuille d'heures for this user")]
    FeuilleNotFound,
    /// The caller may see it but not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("user {0} is unknown or inactive")]
    UnknownUser(Uuid),
    #[error("chantier {0} is unknown, deleted or closed (ferme)")]
    ChantierClosed(Uuid),
    #[error(
        "a pointage already exists for user {utilisateur_id} on chantier {chantier_id} on {date}"
    )]
    Conflict {
        utilisateur_id: Uuid,
        chantier_id: Uuid,
        date: Date,
    },
    /// A transition or an edit the statut does not allow (409).
    #[error(transparent)]
    Statut(#[from] PointageError),
    #[error("the pointage was changed by someone else meanwhile; reload it and retry")]
    Changed,
    /// The request was conditional (`If-Match`) on another version.
    #[error(transparent)]
    Precondition(#[from] VersionMismatch),
    /// Storage failed, or an event could not be built: a 500, logged with its cause.
    #[error("the time sheets are unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

const WRITE: &str = "only the user, a conducteur or chef de chantier of the chantier, or an administrator may do this";
const SIGN: &str = "only the user whose hours they are may sign them";
const VALIDATE: &str = "only a conducteur or chef de chantier of the chantier, or an administrator, may validate or reject hours, never their own";

impl From<RepositoryError> for PointagesError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Conflict {
                utilisateur_id,
                chantier_id,
                date,
            } => Self::Conflict {
                utilisateur_id,
                chantier_id,
                date,
            },
            RepositoryError::NotFound => Self::NotFound,
            RepositoryError::Changed => Self::Changed,
            RepositoryError::Storage(error) => Self::Unavailable(error.into()),
        }
    }
}

impl From<EnvelopeError> for PointagesError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<StorageError> for PointagesError {
    fn from(error: StorageError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<ValidationErrors> for PointagesError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

/// The ports every pointages use case is built from.
#[derive(Clone)]
pub struct PointagesPorts {
    pub pointages: Arc<dyn PointageRepository>,
    pub directory: Arc<dyn Directory>,
    pub clock: Arc<dyn Clock>,
}

impl PointagesPorts {
    async fn responsables(&self, chantier_id: Uuid) -> Result<Responsables, PointagesError> {
        Ok(self
            .directory
            .chantier(chantier_id)
            .await?
            .map(|chantier| chantier.responsables)
            .unwrap_or_default())
    }

    /// What `actor` may read.
    async fn lecture(&self, actor: &Actor) -> Result<Lecture, PointagesError> {
        let chantiers = if Lecture::needs_chantiers(actor) {
            self.directory.chantiers_run_by(actor.user_id).await?
        } else {
            Vec::new()
        };
        Ok(Lecture::of(actor, chantiers))
    }

    /// `filter` narrowed to what `actor` may read.
    pub(crate) async fn scoped(
        &self,
        actor: &Actor,
        mut filter: PointageFilter,
    ) -> Result<PointageFilter, PointagesError> {
        match self.lecture(actor).await? {
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
        Ok(filter)
    }

    /// The pointage, if it exists and the command's actor may see it.
    async fn load_visible(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<Pointage, PointagesError> {
        let pointage = self
            .pointages
            .find(id)
            .await?
            .ok_or(PointagesError::NotFound)?;
        if let Some(actor) = context.actor
            && !self.lecture(&actor).await?.allows(&pointage)
        {
            return Err(PointagesError::NotFound);
        }
        Ok(pointage)
    }

    /// The visible pointage, if the actor may also write it.
    pub(crate) async fn load_to_write(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<Pointage, PointagesError> {
        let pointage = self.load_visible(context, id).await?;
        if let Some(actor) = context.actor {
            let responsables = self.responsables(pointage.chantier_id()).await?;
            if !may_write(&actor, pointage.utilisateur_id(), &responsables) {
                return Err(PointagesError::Forbidden(WRITE));
            }
        }
        // Only once the caller may know the pointage exists and may change it.
        context.check_version(pointage.version())?;
        Ok(pointage)
    }

    /// The visible pointage, if the actor may validate or reject it; the
    /// system never does (a validation is someone's decision).
    async fn load_to_validate(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<(Pointage, Uuid), PointagesError> {
        let pointage = self.load_visible(context, id).await?;
        let actor = context.actor.ok_or(PointagesError::Forbidden(VALIDATE))?;
        let responsables = self.responsables(pointage.chantier_id()).await?;
        if !may_validate(&actor, &pointage, &responsables) {
            return Err(PointagesError::Forbidden(VALIDATE));
        }
        context.check_version(pointage.version())?;
        Ok((pointage, actor.user_id))
    }

    async fn store<E: DomainEvent>(
        &self,
        context: &CommandContext,
        pointage: &Pointage,
        event: &E,
    ) -> Result<(), PointagesError> {
        let envelope = context.wrap(event, &*self.clock)?;
        self.pointages.update(pointage, &[envelope]).await?;
        Ok(())
    }
}

hub_kernel::use_cases! {
    PointagesPorts;
    /// Enters hours: a brouillon for a user, a chantier and a day.
    CreatePointage,
    /// Edits hours or the comment while brouillon or rejete.
    UpdatePointage,
    /// The owner signs his brouillon.
    SignPointage,
    /// brouillon → soumis.
    SubmitPointage,
    /// rejete → brouillon, to correct and submit again.
    CorrectPointage,
    /// soumis → valide (final): publishes `heures.validated`, the payroll trigger.
    ValidatePointage,
    /// soumis → rejete, with a motif.
    RejectPointage,
    /// Deletes a brouillon or rejected pointage.
    DeletePointage,
    /// One pointage the caller may see.
    GetPointage,
    /// A page of the pointages the caller may see, by date descending.
    ListPointages,
}

impl CreatePointage {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: CreateInput,
    ) -> Result<Pointage, PointagesError> {
        let nouveau = input.validate()?;
        let ports = &self.ports;
        match ports.directory.user(nouveau.utilisateur_id).await? {
            Some(user) if user.is_active => {}
            _ => return Err(PointagesError::UnknownUser(nouveau.utilisateur_id)),
        }
        let chantier = ports
            .directory
            .chantier(nouveau.chantier_id)
            .await?
            .filter(|chantier| chantier.open)
            .ok_or(PointagesError::ChantierClosed(nouveau.chantier_id))?;
        if let Some(actor) = context.actor
            && !may_write(&actor, nouveau.utilisateur_id, &chantier.responsables)
        {
            return Err(PointagesError::Forbidden(WRITE));
        }
        let created_by = context.actor.map(|actor| actor.user_id);
        let (pointage, event) = Pointage::create(nouveau, created_by, ports.clock.now());
        let envelope = context.wrap(&event, &*ports.clock)?;
        ports.pointages.insert(&pointage, &[envelope]).await?;
        Ok(pointage)
    }
}

impl UpdatePointage {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: UpdateInput,
    ) -> Result<Pointage, PointagesError> {
        let update = input.validate()?;
        let ports = &self.ports;
        let mut pointage = ports.load_to_write(context, id).await?;
        if let Some(event) = pointage.update(update, ports.clock.now())? {
            ports.store(context, &pointage, &event).await?;
        }
        Ok(pointage)
    }
}

impl SignPointage {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        signature: &str,
    ) -> Result<Pointage, PointagesError> {
        let texte = SignatureTexte::parse(signature)
            .map_err(|error| ValidationErrors::single("signature", "invalid", error.to_string()))?;
        let ports = &self.ports;
        let mut pointage = ports.load_visible(context, id).await?;
        if let Some(actor) = context.actor
            && !may_sign(&actor, &pointage)
        {
            return Err(PointagesError::Forbidden(SIGN));
        }
        context.check_version(pointage.version())?;
        let event = pointage.sign(texte, ports.clock.now())?;
        ports.store(context, &pointage, &event).await?;
        Ok(pointage)
    }
}

impl SubmitPointage {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<Pointage, PointagesError> {
        let ports = &self.ports;
        let mut pointage = ports.load_to_write(context, id).await?;
        let event = pointage.submit(ports.clock.now())?;
        ports.store(context, &pointage, &event).await?;
        Ok(pointage)
    }
}

impl CorrectPointage {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<Pointage, PointagesError> {
        let ports = &self.ports;
        let mut pointage = ports.load_to_write(context, id).await?;
        let event = pointage.correct(ports.clock.now())?;
        ports.store(context, &pointage, &event).await?;
        Ok(pointage)
    }
}

impl ValidatePointage {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<Pointage, PointagesError> {
        let ports = &self.ports;
        let (mut pointage, validateur) = ports.load_to_validate(context, id).await?;
        let event = pointage.validate(validateur, ports.clock.now())?;
        ports.store(context, &pointage, &event).await?;
        Ok(pointage)
    }
}

impl RejectPointage {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        motif: &str,
    ) -> Result<Pointage, PointagesError> {
        let motif = Motif::parse(motif)
            .map_err(|error| ValidationErrors::single("motif", "invalid", error.to_string()))?;
        let ports = &self.ports;
        let (mut pointage, validateur) = ports.load_to_validate(context, id).await?;
        let event = pointage.reject(validateur, motif, ports.clock.now())?;
        ports.store(context, &pointage, &event).await?;
        Ok(pointage)
    }
}

impl DeletePointage {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<(), PointagesError> {
        let ports = &self.ports;
        let pointage = ports.load_to_write(context, id).await?;
        let event = pointage.delete()?;
        let envelope = context.wrap(&event, &*ports.clock)?;
        ports.pointages.delete(&pointage, &[envelope]).await?;
        Ok(())
    }
}

impl GetPointage {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<Pointage, PointagesError> {
        self.ports.load_visible(context, id).await
    }
}

impl ListPointages {
    pub async fn execute(
        &self,
        actor: &Actor,
        filter: PointageFilter,
        page: Page,
    ) -> Result<(Vec<Pointage>, u64), PointagesError> {
        if let (Some(debut), Some(fin)) = (filter.date_debut, filter.date_fin)
            && fin < debut
        {
            return Err(ValidationErrors::single(
                "date_fin",
                "before_date_debut",
                "date_fin must not be before date_debut",
            )
            .into());
        }
        let filter = self.ports.scoped(actor, filter).await?;
        Ok(self.ports.pointages.list(&filter, page).await?)
    }
}

#[cfg(test)]
mod tests;
