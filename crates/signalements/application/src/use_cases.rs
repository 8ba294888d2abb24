//! The signalements use cases. Each holds its ports and has one `execute`;
//! each either stores its change with exactly its events, or fails and
//! publishes nothing. Access is decided per chantier ([`Portee`]): out of
//! sight is "not found", in sight but not allowed is "forbidden".

use std::collections::HashMap;
use std::sync::Arc;

use hub_kernel::{
    Actor, Clock, CommandContext, EnvelopeError, Page, Role, StorageError, ValidationErrors,
    VersionMismatch,
};
use hub_signalements_domain::{
    ChantierInfo, Portee, Reponse, Signalement, SignalementError, Statut,
};
use time::{Duration, OffsetDateTime, Time};
use uuid::Uuid;

use crate::input::{
    ReponseInput, ReponseUpdateInput, SignalementInput, UpdateInput, commentaire, motif,
};
use crate::ports::{
    Directory, RepositoryError, SignalementFilter, SignalementRepository, Statistiques,
};

/// Why a signalement command or query failed; the HTTP adapter maps each
/// to a status.
#[derive(Debug, thiserror::Error)]
pub enum SignalementCommandError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("no signalement with this id")]
    NotFound,
    #[error("no reply with this id")]
    ReponseNotFound,
    #[error("no chantier with this id")]
    ChantierNotFound,
    /// The caller sees the signalement but may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Rule(#[from] SignalementError),
    #[error("it was changed by someone else meanwhile; reload it and retry")]
    Conflict,
    /// The request was conditional (`If-Match`) on another version.
    #[error(transparent)]
    Precondition(#[from] VersionMismatch),
    /// Storage failed, or an event could not be built: a 500, logged with its cause.
    #[error("signalements are unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RepositoryError> for SignalementCommandError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::NotFound => Self::NotFound,
            RepositoryError::Conflict => Self::Conflict,
            RepositoryError::Storage(error) => Self::Unavailable(error.into()),
        }
    }
}

impl From<EnvelopeError> for SignalementCommandError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<StorageError> for SignalementCommandError {
    fn from(error: StorageError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<ValidationErrors> for SignalementCommandError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

type Result<T> = std::result::Result<T, SignalementCommandError>;

/// A signalement as the reads show it: with its number of replies and the
/// names of its creator and assignee.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalementView {
    pub signalement: Signalement,
    pub nb_reponses: u64,
    pub cree_par_nom: Option<String>,
    pub assigne_a_nom: Option<String>,
}

/// A reply with its author's name.
#[derive(Debug, Clone, PartialEq)]
pub struct ReponseView {
    pub reponse: Reponse,
    pub auteur_nom: Option<String>,
}

/// The ports every signalements use case is built from.
#[derive(Clone)]
pub struct SignalementPorts {
    pub signalements: Arc<dyn SignalementRepository>,
    pub directory: Arc<dyn Directory>,
    pub clock: Arc<dyn Clock>,
}

/// A signalement with what the actor may do with it.
struct Loaded {
    signalement: Signalement,
    portee: Portee,
}

const FORBIDDEN_MODIFY: &str = "Vous n'avez pas les droits pour modifier ce signalement";
const FORBIDDEN_ASSIGN: &str = "Vous n'avez pas les droits pour assigner ce signalement";
const FORBIDDEN_TREAT: &str = "Vous n'avez pas les droits pour traiter ce signalement";
const FORBIDDEN_CLOSE: &str = "Vous n'avez pas les droits pour clôturer ce signalement";
const FORBIDDEN_REOPEN: &str =
    "Seuls les administrateurs et conducteurs peuvent réouvrir des signalements";
const FORBIDDEN_DELETE: &str =
    "Seuls les administrateurs et conducteurs peuvent supprimer des signalements";
const FORBIDDEN_REPONSE_MODIFY: &str = "Vous n'avez pas les droits pour modifier cette réponse";
const FORBIDDEN_REPONSE_DELETE: &str = "Vous n'avez pas les droits pour supprimer cette réponse";

fn actor_of(context: &CommandContext) -> Result<Actor> {
    // Every signalement command is a user's; the system acts only through
    // the escalation job, which has its own path.
    context
        .actor
        .ok_or(SignalementCommandError::Forbidden("a user must act"))
}

fn is_admin_or_conducteur(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::Conducteur)
}

impl SignalementPorts {
    /// What `actor` may do on `chantier_id` (a chantier no longer known
    /// counts as one without responsables).
    async fn portee(&self, actor: &Actor, chantier_id: Uuid) -> Result<Portee> {
        let chantier = self
            .directory
            .chantier(chantier_id)
            .await?
            .unwrap_or(ChantierInfo {
                chantier_id,
                ferme: true,
                conducteur_ids: Vec::new(),
                chef_chantier_ids: Vec::new(),
            });
        self.portee_on(actor, &chantier).await
    }

    async fn portee_on(&self, actor: &Actor, chantier: &ChantierInfo) -> Result<Portee> {
        let portee = chantier.portee(actor, false);
        if portee == Portee::Aucune
            && self
                .directory
                .is_assigned(actor.user_id, chantier.chantier_id)
                .await?
        {
            return Ok(chantier.portee(actor, true));
        }
        Ok(portee)
    }

    /// The signalement, if the actor sees it.
    async fn load(&self, actor: &Actor, id: Uuid) -> Result<Loaded> {
        let signalement = self
            .signalements
            .find(id)
            .await?
            .ok_or(SignalementCommandError::NotFound)?;
        let portee = self.portee(actor, signalement.chantier_id()).await?;
        if portee == Portee::Aucune {
            return Err(SignalementCommandError::NotFound);
        }
        Ok(Loaded {
            signalement,
            portee,
        })
    }

    /// [`Self::load`] for a command, which applies only to the version the
    /// request expects (`If-Match`), if it says one.
    async fn load_to_change(
        &self,
        context: &CommandContext,
        actor: &Actor,
        id: Uuid,
    ) -> Result<Loaded> {
        let loaded = self.load(actor, id).await?;
        // Only once the caller is known to see it.
        context.check_version(loaded.signalement.version())?;
        Ok(loaded)
    }

    /// Checks that `user_id` may be given a signalement of `chantier_id`.
    async fn check_assignee(&self, user_id: Uuid, chantier_id: Uuid) -> Result<()> {
        let invalid = || {
            SignalementCommandError::Invalid(ValidationErrors::single(
                "assigne_a",
                "invalid_assignee",
                "must be an active user who has access to the chantier",
            ))
        };
        let (Some(user), Some(chantier)) = (
            self.directory.user(user_id).await?,
            self.directory.chantier(chantier_id).await?,
        ) else {
            return Err(invalid());
        };
        let assigned = self.directory.is_assigned(user_id, chantier_id).await?;
        if chantier.may_be_assigned(&user, assigned) {
            Ok(())
        } else {
            Err(invalid())
        }
    }

    /// Checks that `document_id` is a live image uploaded on `chantier_id`
    /// (from the documents context's events). Who may download it stays the
    /// documents context's decision.
    async fn check_photo(&self, document_id: Uuid, chantier_id: Uuid) -> Result<()> {
        let invalid = |code, message| {
            SignalementCommandError::Invalid(ValidationErrors::single(
                "photo_document_id",
                code,
                message,
            ))
        };
        match self.directory.document(document_id).await? {
            Some(document) if document.chantier_id == chantier_id => {
                if document.image {
                    Ok(())
                } else {
                    Err(invalid("not_a_photo", "the document is not an image"))
                }
            }
            _ => Err(invalid(
                "unknown_document",
                "no document with this id on the signalement's chantier",
            )),
        }
    }

    async fn views(&self, signalements: Vec<Signalement>) -> Result<Vec<SignalementView>> {
        let ids: Vec<Uuid> = signalements.iter().map(Signalement::id).collect();
        let counts = self.signalements.count_reponses(&ids).await?;
        let mut users: Vec<Uuid> = signalements
            .iter()
            .flat_map(|s| [Some(s.cree_par()), s.assigne_a()])
            .flatten()
            .collect();
        users.sort_unstable();
        users.dedup();
        let names = self.directory.names(&users).await?;
        let name = |id: Option<Uuid>| id.and_then(|id| names.get(&id).cloned());
        Ok(signalements
            .into_iter()
            .map(|signalement| SignalementView {
                nb_reponses: counts.get(&signalement.id()).copied().unwrap_or(0),
                cree_par_nom: name(Some(signalement.cree_par())),
                assigne_a_nom: name(signalement.assigne_a()),
                signalement,
            })
            .collect())
    }

    async fn view(&self, signalement: Signalement) -> Result<SignalementView> {
        let mut views = self.views(vec![signalement]).await?;
        views.pop().ok_or(SignalementCommandError::NotFound)
    }

    async fn save(
        &self,
        context: &CommandContext,
        signalement: &Signalement,
        event: &impl hub_kernel::DomainEvent,
    ) -> Result<()> {
        let events = [context.wrap(event, &*self.clock)?];
        self.signalements.update(signalement, &events).await?;
        Ok(())
    }
}

hub_kernel::use_cases! {
    SignalementPorts;
    /// Reports a signalement; publishes `signalement.created`.
    CreateSignalement,
    /// One signalement, if the actor sees its chantier.
    GetSignalement,
    /// A filtered page of the signalements the actor sees.
    ListSignalements,
    /// Counts over the signalements the actor sees.
    StatistiquesQuery,
    /// Edits a signalement; publishes `signalement.updated`.
    UpdateSignalement,
    /// Deletes a signalement and its replies; publishes `signalement.deleted`.
    DeleteSignalement,
    /// Assigns a signalement; publishes `signalement.updated`.
    AssignerSignalement,
    /// Marks a signalement treated; publishes `signalement.updated`.
    TraiterSignalement,
    /// Closes a treated signalement; publishes `signalement.closed`.
    CloturerSignalement,
    /// Reopens a signalement; publishes `signalement.reopened`.
    ReouvrirSignalement,
    /// Replies to a signalement; publishes `signalement_reponse.created`.
    CreateReponse,
    /// The replies of a signalement, oldest first.
    ListReponses,
    /// Edits a reply; publishes `signalement_reponse.updated`.
    UpdateReponse,
    /// Deletes a reply; publishes `signalement_reponse.deleted`.
    DeleteReponse,
}

impl CreateSignalement {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: SignalementInput,
    ) -> Result<Signalement> {
        let actor = actor_of(context)?;
        let nouveau = input.validate()?;
        let unknown = || {
            SignalementCommandError::Invalid(ValidationErrors::single(
                "chantier_id",
                "unknown_chantier",
                "no chantier with this id",
            ))
        };
        let chantier = self
            .ports
            .directory
            .chantier(nouveau.chantier_id)
            .await?
            .ok_or_else(unknown)?;
        if self.ports.portee_on(&actor, &chantier).await? == Portee::Aucune {
            return Err(unknown());
        }
        if chantier.ferme {
            return Err(SignalementCommandError::Invalid(ValidationErrors::single(
                "chantier_id",
                "chantier_closed",
                "the chantier is closed (ferme): nothing more can be reported there",
            )));
        }
        if let Some(user) = nouveau.assigne_a {
            if actor.role == Role::Compagnon {
                return Err(SignalementCommandError::Forbidden(FORBIDDEN_ASSIGN));
            }
            self.ports
                .check_assignee(user, chantier.chantier_id)
                .await?;
        }
        if let Some(document) = nouveau.photo_document_id {
            self.ports
                .check_photo(document, chantier.chantier_id)
                .await?;
        }
        let (signalement, created) =
            Signalement::create(nouveau, actor.user_id, self.ports.clock.now())?;
        let events = [context.wrap(&created, &*self.ports.clock)?];
        self.ports
            .signalements
            .insert(&signalement, &events)
            .await?;
        Ok(signalement)
    }
}

impl GetSignalement {
    pub async fn execute(&self, actor: &Actor, id: Uuid) -> Result<SignalementView> {
        let loaded = self.ports.load(actor, id).await?;
        self.ports.view(loaded.signalement).await
    }
}

/// Roles that see every chantier; the others see only theirs.
fn scoped(actor: &Actor, filter: &SignalementFilter) -> SignalementFilter {
    SignalementFilter {
        visible_to: (!is_admin_or_conducteur(actor)).then_some(actor.user_id),
        ..filter.clone()
    }
}

fn check_query(filter: &SignalementFilter) -> Result<SignalementFilter> {
    let query = filter
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    if query.is_some_and(|q| q.chars().count() > 100) {
        return Err(SignalementCommandError::Invalid(ValidationErrors::single(
            "query",
            "too_long",
            "must be at most 100 characters",
        )));
    }
    if let (Some(debut), Some(fin)) = (filter.date_debut, filter.date_fin)
        && fin < debut
    {
        return Err(SignalementCommandError::Invalid(ValidationErrors::single(
            "date_fin",
            "before_date_debut",
            "must not be before date_debut",
        )));
    }
    Ok(SignalementFilter {
        query: query.map(str::to_owned),
        ..filter.clone()
    })
}

impl ListSignalements {
    /// With `filter.chantier_id`, a chantier the actor does not see is
    /// "not found" (the list of one chantier); otherwise lists are scoped.
    pub async fn execute(
        &self,
        actor: &Actor,
        filter: &SignalementFilter,
        page: Page,
    ) -> Result<(Vec<SignalementView>, u64)> {
        let filter = scoped(actor, &check_query(filter)?);
        if let Some(chantier_id) = filter.chantier_id
            && self.ports.portee(actor, chantier_id).await? == Portee::Aucune
        {
            return Err(SignalementCommandError::ChantierNotFound);
        }
        let (signalements, total) = self
            .ports
            .signalements
            .list(&filter, page, self.ports.clock.now())
            .await?;
        Ok((self.ports.views(signalements).await?, total))
    }
}

/// Monday 00:00 UTC of the week of `now`.
pub(crate) fn semaine_debut(now: OffsetDateTime) -> OffsetDateTime {
    let days = i64::from(now.weekday().number_days_from_monday());
    (now - Duration::days(days)).replace_time(Time::MIDNIGHT)
}

impl StatistiquesQuery {
    pub async fn execute(&self, actor: &Actor, filter: &SignalementFilter) -> Result<Statistiques> {
        let filter = scoped(actor, &check_query(filter)?);
        if let Some(chantier_id) = filter.chantier_id
            && self.ports.portee(actor, chantier_id).await? == Portee::Aucune
        {
            return Err(SignalementCommandError::ChantierNotFound);
        }
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .signalements
            .statistiques(&filter, now, semaine_debut(now))
            .await?)
    }
}

impl UpdateSignalement {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: UpdateInput,
    ) -> Result<Signalement> {
        let actor = actor_of(context)?;
        let Loaded {
            mut signalement,
            portee,
        } = self.ports.load_to_change(context, &actor, id).await?;
        if portee != Portee::Gestion {
            // Reporters edit their own, but assigning is for those who manage.
            if signalement.cree_par() != actor.user_id || input.assigne_a.is_some() {
                return Err(SignalementCommandError::Forbidden(FORBIDDEN_MODIFY));
            }
        }
        let update = input.validate()?;
        if let Some(user) = update.assigne_a
            && Some(user) != signalement.assigne_a()
        {
            self.ports
                .check_assignee(user, signalement.chantier_id())
                .await?;
        }
        if let Some(Some(document)) = update.photo_document_id
            && Some(document) != signalement.photo_document_id()
        {
            self.ports
                .check_photo(document, signalement.chantier_id())
                .await?;
        }
        if let Some(updated) = signalement.update(update, self.ports.clock.now())? {
            self.ports.save(context, &signalement, &updated).await?;
        }
        Ok(signalement)
    }
}

impl DeleteSignalement {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<()> {
        let actor = actor_of(context)?;
        let loaded = self.ports.load_to_change(context, &actor, id).await?;
        if loaded.portee != Portee::Gestion || !is_admin_or_conducteur(&actor) {
            return Err(SignalementCommandError::Forbidden(FORBIDDEN_DELETE));
        }
        let deleted = loaded.signalement.delete(actor.user_id);
        let events = [context.wrap(&deleted, &*self.ports.clock)?];
        self.ports
            .signalements
            .delete(&loaded.signalement, &events)
            .await?;
        Ok(())
    }
}

impl AssignerSignalement {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        user: Uuid,
    ) -> Result<Signalement> {
        let actor = actor_of(context)?;
        let Loaded {
            mut signalement,
            portee,
        } = self.ports.load_to_change(context, &actor, id).await?;
        if portee != Portee::Gestion {
            return Err(SignalementCommandError::Forbidden(FORBIDDEN_ASSIGN));
        }
        if signalement.statut() == Statut::Cloture {
            return Err(SignalementError::Cloture.into());
        }
        self.ports
            .check_assignee(user, signalement.chantier_id())
            .await?;
        if let Some(updated) = signalement.assigner(user, self.ports.clock.now())? {
            self.ports.save(context, &signalement, &updated).await?;
        }
        Ok(signalement)
    }
}

impl TraiterSignalement {
    /// Those who manage the chantier, or the assignee.
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        comment: &str,
    ) -> Result<Signalement> {
        let actor = actor_of(context)?;
        let Loaded {
            mut signalement,
            portee,
        } = self.ports.load_to_change(context, &actor, id).await?;
        if portee != Portee::Gestion && signalement.assigne_a() != Some(actor.user_id) {
            return Err(SignalementCommandError::Forbidden(FORBIDDEN_TREAT));
        }
        let commentaire = commentaire(comment)?;
        let updated = signalement.traiter(commentaire, self.ports.clock.now())?;
        self.ports.save(context, &signalement, &updated).await?;
        Ok(signalement)
    }
}

impl CloturerSignalement {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<Signalement> {
        let actor = actor_of(context)?;
        let Loaded {
            mut signalement,
            portee,
        } = self.ports.load_to_change(context, &actor, id).await?;
        if portee != Portee::Gestion {
            return Err(SignalementCommandError::Forbidden(FORBIDDEN_CLOSE));
        }
        let closed = signalement.cloturer(actor.user_id, self.ports.clock.now())?;
        self.ports.save(context, &signalement, &closed).await?;
        Ok(signalement)
    }
}

impl ReouvrirSignalement {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        reason: Option<&str>,
    ) -> Result<Signalement> {
        let actor = actor_of(context)?;
        let Loaded {
            mut signalement,
            portee,
        } = self.ports.load_to_change(context, &actor, id).await?;
        if portee != Portee::Gestion || !is_admin_or_conducteur(&actor) {
            return Err(SignalementCommandError::Forbidden(FORBIDDEN_REOPEN));
        }
        let motif = motif(reason)?;
        let reopened = signalement.reouvrir(actor.user_id, motif, self.ports.clock.now())?;
        self.ports.save(context, &signalement, &reopened).await?;
        Ok(signalement)
    }
}

impl CreateReponse {
    pub async fn execute(
        &self,
        context: &CommandContext,
        signalement_id: Uuid,
        input: ReponseInput,
    ) -> Result<ReponseView> {
        let actor = actor_of(context)?;
        let loaded = self.ports.load(&actor, signalement_id).await?;
        let (contenu, photo_url) = input.validate()?;
        let (reponse, created) = Reponse::create(
            &loaded.signalement,
            contenu,
            photo_url,
            input.est_resolution,
            actor.user_id,
            self.ports.clock.now(),
        )?;
        let events = [context.wrap(&created, &*self.ports.clock)?];
        self.ports
            .signalements
            .insert_reponse(&reponse, &events)
            .await?;
        let names = self.ports.directory.names(&[actor.user_id]).await?;
        Ok(ReponseView {
            auteur_nom: names.get(&actor.user_id).cloned(),
            reponse,
        })
    }
}

impl ListReponses {
    /// An empty list (not "not found") when the signalement is missing or
    /// out of sight, as the original answers.
    pub async fn execute(
        &self,
        actor: &Actor,
        signalement_id: Uuid,
        page: Page,
    ) -> Result<(Vec<ReponseView>, u64)> {
        match self.ports.load(actor, signalement_id).await {
            Err(SignalementCommandError::NotFound) => return Ok((Vec::new(), 0)),
            Err(error) => return Err(error),
            Ok(_) => {}
        }
        let (reponses, total) = self
            .ports
            .signalements
            .list_reponses(signalement_id, page)
            .await?;
        let mut authors: Vec<Uuid> = reponses.iter().map(Reponse::auteur_id).collect();
        authors.sort_unstable();
        authors.dedup();
        let names: HashMap<Uuid, String> = self.ports.directory.names(&authors).await?;
        Ok((
            reponses
                .into_iter()
                .map(|reponse| ReponseView {
                    auteur_nom: names.get(&reponse.auteur_id()).cloned(),
                    reponse,
                })
                .collect(),
            total,
        ))
    }
}

/// A reply and its signalement, if the actor sees them.
async fn load_reponse(
    ports: &SignalementPorts,
    actor: &Actor,
    id: Uuid,
) -> Result<(Reponse, Loaded)> {
    let reponse = ports
        .signalements
        .find_reponse(id)
        .await?
        .ok_or(SignalementCommandError::ReponseNotFound)?;
    let loaded = match ports.load(actor, reponse.signalement_id()).await {
        Err(SignalementCommandError::NotFound) => {
            return Err(SignalementCommandError::ReponseNotFound);
        }
        other => other?,
    };
    Ok((reponse, loaded))
}

impl UpdateReponse {
    /// The author, or an administrator or conducteur who manages the chantier.
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: ReponseUpdateInput,
    ) -> Result<ReponseView> {
        let actor = actor_of(context)?;
        let (mut reponse, loaded) = load_reponse(&self.ports, &actor, id).await?;
        let manages = loaded.portee == Portee::Gestion && is_admin_or_conducteur(&actor);
        if reponse.auteur_id() != actor.user_id && !manages {
            return Err(SignalementCommandError::Forbidden(FORBIDDEN_REPONSE_MODIFY));
        }
        let update = input.validate()?;
        if let Some(updated) =
            reponse.update(&loaded.signalement, update, self.ports.clock.now())?
        {
            let events = [context.wrap(&updated, &*self.ports.clock)?];
            self.ports
                .signalements
                .update_reponse(&reponse, &events)
                .await?;
        }
        let names = self.ports.directory.names(&[reponse.auteur_id()]).await?;
        Ok(ReponseView {
            auteur_nom: names.get(&reponse.auteur_id()).cloned(),
            reponse,
        })
    }
}

impl DeleteReponse {
    /// The author, or whoever manages the chantier.
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<()> {
        let actor = actor_of(context)?;
        let (reponse, loaded) = load_reponse(&self.ports, &actor, id).await?;
        if reponse.auteur_id() != actor.user_id && loaded.portee != Portee::Gestion {
            return Err(SignalementCommandError::Forbidden(FORBIDDEN_REPONSE_DELETE));
        }
        let deleted = reponse.delete(&loaded.signalement, actor.user_id);
        let events = [context.wrap(&deleted, &*self.ports.clock)?];
        self.ports
            .signalements
            .delete_reponse(&reponse, &events)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
